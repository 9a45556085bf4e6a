/*
 * paths.c - where things are: the state directory and the paths in it,
 * absolute paths for what outlives the current directory (the daemon runs
 * from "/"), and vigil's own programs.
 */
#include "cli.h"

#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

int cli_absolutize(const char *in, char *out, size_t cap)
{
	char cwd[PATH_MAX];

	if (in[0] == '/')
		return vg_path(out, cap, "%s", in);
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	return vg_path(out, cap, "%s/%s", strcmp(cwd, "/") ? cwd : "", in);
}

bool cli_denied(int err, const char *what, const char *path)
{
	if (err < 0)
		err = -err;
	if (err != EACCES && err != EPERM)
		return false;
	cli_error("permission denied: cannot %s '%s'", what, path);
	return true;
}

int cli_set_state_dir(struct cli *c, const char *v)
{
	if (!v || !*v || vg_path(c->state_override, sizeof(c->state_override), "%s", v) < 0) {
		cli_error("--state-dir needs a directory path of at most %zu bytes",
			  sizeof(c->state_override) - 1);
		return -EINVAL;
	}
	return 0;
}

int cli_state(struct cli *c)
{
	char dir[sizeof(c->state_dir)];
	int rc = base_state_dir(c->state_override, dir, sizeof(dir));

	if (rc < 0) {
		cli_error("cannot find a state directory: set --state-dir, VIGIL_STATE_DIR or HOME");
		return rc;
	}
	/* The daemon works from "/" and hook commands run in other directories:
	 * a relative state directory is the one under the current directory. */
	rc = cli_absolutize(dir, c->state_dir, sizeof(c->state_dir));
	if (rc < 0) {
		cli_error("cannot use the state directory '%s': %s", dir,
			  rc == -ENAMETOOLONG ? "path too long" : strerror(-rc));
		return rc;
	}
	/* A directory that exists but keeps us out would otherwise look empty
	 * ("not running", "nothing recorded yet"). */
	if (access(c->state_dir, X_OK) < 0 && cli_denied(errno, "enter the state directory",
							  c->state_dir))
		return -EACCES;
	return 0;
}

int cli_state_path(struct cli *c, char *out, size_t cap, const char *rel)
{
	return vg_path(out, cap, "%s/%s", c->state_dir, rel);
}

static bool is_program(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int cli_find_program(const char *name, const char *subdir, char *out, size_t cap)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *path = getenv("PATH");

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (vg_path(out, cap, "%s/%s", self, name) == 0 && is_program(out))
				return 0;
			slash = strrchr(self, '/');
			if (slash) {
				*slash = '\0';
				if (vg_path(out, cap, "%s/%s/%s", self, subdir, name) == 0 &&
				    is_program(out))
					return 0;
			}
		}
	}
	/* Only absolute entries: agents run hooks from other directories. */
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		if (len && path[0] == '/' &&
		    vg_path(out, cap, "%.*s/%s", (int)len, path, name) == 0 && is_program(out))
			return 0;
		path = end ? end + 1 : NULL;
	}
	if (cap)
		out[0] = '\0';
	return -ENOENT;
}
