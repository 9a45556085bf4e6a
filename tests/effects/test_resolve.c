/*
 * test_resolve.c - src/effects resolving paths against a real file system: a
 * fake $HOME with a private key and a project inside a temporary directory,
 * a symlink in the project pointing at the key, and a glob.
 */
#include "effects.h"
#include "tap.h"

#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char top[4096], home[4200], proj[4300];

static void touch(const char *dir, const char *name)
{
	char p[4500];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", dir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd >= 0)
		close(fd);
}

static struct fx_result *shell(const char *cmd, bool resolve)
{
	struct sh_opts so = { .cwd = proj, .home = home, .user = "u" };
	struct fx_opts fo = { .project = proj, .home = home, .resolve = resolve };
	struct sh_result *r = NULL;
	struct fx_result *fx = NULL;

	if (sh_parse(cmd, strlen(cmd), &so, &r) < 0)
		return NULL;
	if (fx_from_shell(r, &fo, &fx) < 0)
		fx = NULL;
	sh_result_free(r);
	return fx;
}

/* The effects of kind k whose resolved path ends with suffix. */
static size_t count(const struct fx_result *fx, enum fx_kind k, const char *suffix, unsigned flags)
{
	size_t n = 0;

	for (size_t i = 0; fx && i < fx->n; i++) {
		const char *r = fx->v[i].resolved;
		size_t rl = r ? strlen(r) : 0, sl = strlen(suffix);

		if (fx->v[i].kind == k && r && rl >= sl && !strcmp(r + rl - sl, suffix) &&
		    (fx->v[i].flags & flags) == flags)
			n++;
	}
	return n;
}

int main(void)
{
	char p[4500], real[4500];
	const char *tmp = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	struct fx_opts fo;
	struct fx_result *fx;

	snprintf(top, sizeof(top), "%s/fxtest.XXXXXX", tmp);
	if (!mkdtemp(top)) {
		TAP_OK(0, "mkdtemp");
		return tap_done();
	}
	snprintf(home, sizeof(home), "%s/home", top);
	snprintf(proj, sizeof(proj), "%s/proj", home);
	mkdir(home, 0700);
	mkdir(proj, 0700);
	snprintf(p, sizeof(p), "%s/.ssh", home);
	mkdir(p, 0700);
	touch(p, "id_rsa");
	snprintf(real, sizeof(real), "%s/.ssh/id_rsa", home);
	snprintf(p, sizeof(p), "%s/notes.txt", proj);
	TAP_OK(symlink(real, p) == 0, "a symlink in the project to the key");
	touch(proj, "a.log");
	touch(proj, "b.log");
	touch(proj, "c.log");

	/* Read notes.txt: the tool reaches the key through the link */
	fo = (struct fx_opts){ .project = proj, .home = home, .resolve = true };
	TAP_OK(fx_from_tool("Read", "notes.txt", NULL, &fo, &fx) == 0 && fx->n == 1,
	       "Read: one effect");
	TAP_OK(fx && count(fx, FX_READ, "/.ssh/id_rsa", FX_F_SENSITIVE | FX_F_SYMLINK) == 1,
	       "Read notes.txt resolves to the key, sensitive, through a symlink");
	TAP_OK(fx && fx->n && !strcmp(fx->v[0].spelled, "notes.txt"), "the spelled form is kept");
	fx_result_free(fx);

	fx = shell("cat notes.txt", true);
	TAP_OK(count(fx, FX_READ, "/.ssh/id_rsa", FX_F_SENSITIVE | FX_F_SYMLINK) == 1,
	       "cat notes.txt: reads the key");
	fx_result_free(fx);

	fx = shell("cat notes.txt", false);
	TAP_OK(count(fx, FX_READ, "/proj/notes.txt", 0) == 1 &&
		       count(fx, FX_READ, "/id_rsa", 0) == 0,
	       "without resolution the path stays as normalized");
	fx_result_free(fx);

	fx = shell("rm notes.txt", true);
	TAP_OK(count(fx, FX_DELETE, "/proj/notes.txt", 0) == 1 &&
		       count(fx, FX_DELETE, "/id_rsa", 0) == 0,
	       "rm removes the link, not its target");
	fx_result_free(fx);

	fx = shell("rm -f *.log", true);
	TAP_OK(count(fx, FX_DELETE, ".log", 0) == 4, "a glob: the pattern and its 3 matches");
	TAP_OK(count(fx, FX_DELETE, "/proj/*.log", FX_F_GLOB) == 1, "the pattern is flagged");
	fx_result_free(fx);

	fx = shell("cat ../.ssh/id_*", true);
	TAP_OK(count(fx, FX_READ, "/.ssh/id_rsa", FX_F_SENSITIVE) == 1,
	       "a glob over ~/.ssh: the key it matches, sensitive");
	fx_result_free(fx);

	fx = shell("echo x > new/dir/file", true);
	TAP_OK(count(fx, FX_WRITE, "/proj/new/dir/file", 0) == 1,
	       "a file under a missing directory keeps its normalized form");
	fx_result_free(fx);

	snprintf(p, sizeof(p), "rm -rf '%s'/../*", proj);
	fx = shell(p, false);
	TAP_OK(count(fx, FX_DELETE, "/home/*",
		     FX_F_COVERS_HOME | FX_F_COVERS_PROJECT | FX_F_RECURSIVE | FX_F_GLOB) == 1,
	       "rm -rf PROJECT/../*: a glob that covers home");
	fx_result_free(fx);

	snprintf(p, sizeof(p), "rm -rf '%s'", top);
	if (system(p) != 0)
		TAP_DIAG("could not remove %s", top);
	return tap_done();
}
