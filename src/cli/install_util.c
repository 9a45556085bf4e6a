/*
 * install_util.c - the small helpers of `vigil install`: lexical path
 * handling, finding the project root, quoting for `sh -c`, and the JSON
 * output format of a rewritten settings file.
 */
#include "cli.h"
#include "install.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

/* Control characters in a path would end up in a shell command and a JSON file. */
bool install_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

/*
 * Drops "." and empty components and folds "dir/.." in place.  Lexical, so a
 * symlink followed by ".." could name another directory: callers that need
 * the same file check it (find_hook) or only name a directory to create.
 */
void install_fold_dots(char *p)
{
	char *out = p, *s = p;

	while (*s) {
		char *e;
		size_t n;

		while (*s == '/')
			s++;
		e = strchr(s, '/');
		n = e ? (size_t)(e - s) : strlen(s);
		if (n == 0 || (n == 1 && s[0] == '.')) {
			/* nothing */
		} else if (n == 2 && s[0] == '.' && s[1] == '.') {
			while (out > p && *--out != '/')
				;
		} else {
			*out++ = '/';
			memmove(out, s, n);
			out += n;
		}
		s += n;
	}
	if (out == p)
		*out++ = '/';
	*out = 0;
}

/* out = in, made absolute against the current directory, dots folded. */
int install_absolutize(const char *in, char *out, size_t cap)
{
	int rc = cli_absolutize(in, out, cap);

	if (rc == 0)
		install_fold_dots(out);
	return rc;
}

/* The closest directory from the current one up that holds .git, else the current one. */
int install_project_root(char *out, size_t cap)
{
	char dir[PATH_MAX], probe[PATH_MAX + 8];
	struct stat st;

	if (!getcwd(dir, sizeof(dir)))
		return -errno;
	for (;;) {
		char *slash;

		if (vg_path(probe, sizeof(probe), "%s/.git", strcmp(dir, "/") ? dir : "") == 0 &&
		    lstat(probe, &st) == 0)
			return vg_path(out, cap, "%s", dir);
		slash = strrchr(dir, '/');
		if (!slash || slash == dir)
			break;
		*slash = 0;
	}
	if (!getcwd(out, cap))
		return -errno;
	return 0;
}

bool install_is_executable(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

/* Appends s quoted for `sh -c` (left bare when it is plainly safe). */
int install_shell_quote(struct vbuf *b, const char *s)
{
	static const char safe[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
				   "0123456789/._-+,:@%";
	int rc;

	if (*s && strspn(s, safe) == strlen(s))
		return vbuf_append(b, s, strlen(s));
	if ((rc = vbuf_append(b, "'", 1)) < 0)
		return rc;
	for (const char *p = s; *p; p++) {
		rc = *p == '\'' ? vbuf_append(b, "'\\''", 4) : vbuf_append(b, p, 1);
		if (rc < 0)
			return rc;
	}
	return vbuf_append(b, "'", 1);
}

/*
 * jansson prints every real with one precision, 17 digits by default, which
 * turns a user's 0.1 into 0.10000000000000001.  The smallest precision at
 * which every real of the document reads back unchanged prints them as the
 * user wrote them (in the usual case) and stays exact.
 */
static bool reals_fit(json_t *j, int prec)
{
	char buf[64];
	const char *key;
	json_t *v;
	size_t i;

	switch (json_typeof(j)) {
	case JSON_REAL:
		snprintf(buf, sizeof(buf), "%.*g", prec, json_real_value(j));
		return strtod(buf, NULL) == json_real_value(j);
	case JSON_OBJECT:
		json_object_foreach(j, key, v)
			if (!reals_fit(v, prec))
				return false;
		return true;
	case JSON_ARRAY:
		json_array_foreach(j, i, v)
			if (!reals_fit(v, prec))
				return false;
		return true;
	default:
		return true;
	}
}

size_t install_dump_flags(json_t *root)
{
	int prec = 1;

	while (prec < 17 && !reals_fit(root, prec))
		prec++;
	return JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(prec);
}
