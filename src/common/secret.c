/*
 * secret.c - loads key material from a file, an environment variable or a
 * command (for secrets managers), and finds the spec of the ledger's keys.
 * Error messages name the source, never the secret.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static void strip_trailing_space(char *s, size_t *len)
{
	while (*len && (s[*len - 1] == '\n' || s[*len - 1] == '\r' || s[*len - 1] == ' ' ||
			s[*len - 1] == '\t'))
		s[--*len] = 0;
}

static int load_file(const char *path, char **out, size_t *len, char *err, size_t errcap)
{
	struct stat st;
	int rc;

	if (stat(path, &st) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot read key file '%s': %s", path, strerror(errno));
		return rc;
	}
	if (st.st_mode & 077) {
		snprintf(err, errcap,
			 "key file '%s' is readable by group or others (mode %o); run chmod 600",
			 path, (unsigned)(st.st_mode & 0777));
		return -EPERM;
	}
	rc = vg_read_file(path, VG_SECRET_MAX, out, len);
	if (rc < 0)
		snprintf(err, errcap, "cannot read key file '%s': %s", path,
			 rc == -EFBIG ? "file too large" : strerror(-rc));
	return rc;
}

static int load_env(const char *name, char **out, size_t *len, char *err, size_t errcap)
{
	const char *v = getenv(name);
	size_t n;

	if (!v || !*v) {
		snprintf(err, errcap, "environment variable '%s' is not set", name);
		return -ENOENT;
	}
	n = strlen(v);
	if (n > VG_SECRET_MAX) {
		snprintf(err, errcap, "environment variable '%s' is too long", name);
		return -E2BIG;
	}
	*out = vg_strdup(v);
	if (!*out)
		return -ENOMEM;
	*len = n;
	return 0;
}

static int load_cmd(const char *cmd, char **out, size_t *len, char *err, size_t errcap)
{
	struct vbuf b;
	char chunk[4096];
	FILE *f;
	int status, rc = 0;

	vbuf_init(&b, VG_SECRET_MAX);
	f = popen(cmd, "re");
	if (!f) {
		rc = -errno;
		snprintf(err, errcap, "cannot run key command: %s", strerror(errno));
		return rc;
	}
	for (;;) {
		size_t r = fread(chunk, 1, sizeof(chunk), f);

		if (r == 0)
			break;
		if (rc == 0 && vbuf_append(&b, chunk, r) < 0)
			rc = -E2BIG; /* keep reading so the child is not killed by SIGPIPE */
	}
	vg_wipe(chunk, sizeof(chunk));
	status = pclose(f);
	if (rc == 0 && (status == -1 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)) {
		snprintf(err, errcap, "key command failed (exit status %d)",
			 status == -1 ? -1 : WIFEXITED(status) ? WEXITSTATUS(status) : 128);
		rc = -EIO;
	} else if (rc == -E2BIG) {
		snprintf(err, errcap, "key command printed more than %d bytes", VG_SECRET_MAX);
	} else if (rc == 0 && b.len == 0) {
		snprintf(err, errcap, "key command printed nothing");
		rc = -ENOENT;
	}
	if (rc < 0) {
		if (b.data)
			vg_wipe(b.data, b.len);
		vbuf_release(&b);
		return rc;
	}
	*out = (char *)b.data;
	*len = b.len;
	return 0;
}

int vg_secret_load(const char *spec, char **out, size_t *len, char *err, size_t errcap)
{
	int rc;

	*out = NULL;
	*len = 0;
	if (!spec || !*spec) {
		snprintf(err, errcap, "no key source given");
		return -EINVAL;
	}
	if (!strncmp(spec, "env:", 4))
		rc = load_env(spec + 4, out, len, err, errcap);
	else if (!strncmp(spec, "cmd:", 4))
		rc = load_cmd(spec + 4, out, len, err, errcap);
	else if (!strncmp(spec, "file:", 5))
		rc = load_file(spec + 5, out, len, err, errcap);
	else
		rc = load_file(spec, out, len, err, errcap);
	if (rc < 0)
		return rc;
	strip_trailing_space(*out, len);
	return 0;
}

void vg_secret_free(char *s, size_t len)
{
	if (!s)
		return;
	vg_wipe(s, len);
	vg_free(s);
}

int vg_key_spec(const char *given, const char *env, const char *state_dir, const char *file,
		char *out, size_t cap)
{
	const char *v = getenv(env);

	if (given)
		return vg_path(out, cap, "%s", given);
	if (v && *v)
		return vg_path(out, cap, "%s", v);
	if (vg_path(out, cap, "file:%s/keys/%s", state_dir, file) < 0)
		return -ENAMETOOLONG;
	return 1;
}
