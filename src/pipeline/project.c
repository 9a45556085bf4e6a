/*
 * project.c - the two pipeline helpers that touch the filesystem, kept
 * apart from the pure normalizer: the daemon calls them and passes the
 * answers in through struct norm_envelope, so a stored event never depends
 * on the disk of the machine that re-reads it.
 *
 *   norm_project_root        CLAUDE_PROJECT_DIR, else the git work tree
 *                            around cwd, else cwd
 *   norm_transcript_version  the Claude Code version from the head of a
 *                            session transcript
 */
#include "pipeline.h"

#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <sys/stat.h>
#include <unistd.h>

/* Directory levels searched for ".git"; deeper trees fall back to cwd. */
#define PROJECT_MAX_DEPTH 64
#define VERSION_MAX 64

static int copy_out(const char *s, char *out, size_t cap)
{
	size_t n = strlen(s);

	if (n + 1 > cap)
		return -ENAMETOOLONG;
	memcpy(out, s, n + 1);
	return 0;
}

int norm_project_root(const char *cwd, const char *project_dir, char *out, size_t cap)
{
	char dir[4096], probe[4096 + 8];
	struct stat st, up;
	int rc;

	if (!out || cap == 0)
		return -EINVAL;
	if (project_dir && *project_dir) {
		rc = norm_path(cwd && cwd[0] == '/' ? cwd : NULL, project_dir, dir, sizeof(dir));
		if (rc == 0)
			return copy_out(dir, out, cap) < 0 ? -ENAMETOOLONG : NORM_PROJECT_ENV;
		if (rc == -ENAMETOOLONG)
			return rc;
		/* A relative CLAUDE_PROJECT_DIR without an absolute cwd: use cwd below. */
	}
	if (!cwd || cwd[0] != '/')
		return -EINVAL;
	if ((rc = norm_path(NULL, cwd, dir, sizeof(dir))) < 0)
		return rc;
	if (stat(dir, &st) == 0 && S_ISDIR(st.st_mode)) {
		char cur[4096];

		memcpy(cur, dir, strlen(dir) + 1);
		for (int depth = 0; depth < PROJECT_MAX_DEPTH; depth++) {
			char *slash;

			/* A ".git" directory, or a file ("gitdir: ...") in worktrees and submodules. */
			if (vg_path(probe, sizeof(probe), "%s/.git", strcmp(cur, "/") ? cur : "") == 0 &&
			    lstat(probe, &up) == 0 && (S_ISDIR(up.st_mode) || S_ISREG(up.st_mode)))
				return copy_out(cur, out, cap) < 0 ? -ENAMETOOLONG : NORM_PROJECT_GIT;
			if (strcmp(cur, "/") == 0)
				break;
			slash = strrchr(cur, '/');
			if (slash == cur)
				slash[1] = 0;
			else
				*slash = 0;
			/* Like git, do not cross into another filesystem. */
			if (stat(cur, &up) < 0 || up.st_dev != st.st_dev)
				break;
		}
	}
	return copy_out(dir, out, cap) < 0 ? -ENAMETOOLONG : NORM_PROJECT_CWD;
}

static bool version_ok(const char *v, size_t n)
{
	if (n == 0 || n > VERSION_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '+' || c == '-' || c == '_'))
			return false;
	}
	return true;
}

int norm_transcript_version(const char *transcript_path, char *out, size_t cap)
{
	static const char ext[] = ".jsonl";
	char *buf = NULL;
	size_t len = 0, n, start;
	struct stat st;
	bool eof = false;
	int fd = -1, rc;

	if (!transcript_path || !out || cap == 0)
		return -EINVAL;
	n = strlen(transcript_path);
	if (n < sizeof(ext) || strcmp(transcript_path + n - (sizeof(ext) - 1), ext) != 0)
		return -EINVAL;
	/* O_NONBLOCK: opening a FIFO must not hang the daemon; fstat refuses it. */
	fd = open(transcript_path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	buf = vg_malloc(NORM_TRANSCRIPT_SCAN + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	while (len < NORM_TRANSCRIPT_SCAN) {
		ssize_t r = read(fd, buf + len, NORM_TRANSCRIPT_SCAN - len);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			rc = -errno;
			goto out;
		}
		if (r == 0) {
			eof = true;
			break;
		}
		len += (size_t)r;
	}
	buf[len] = 0;
	rc = -ENOENT;
	for (start = 0; start < len;) {
		const char *nl = memchr(buf + start, '\n', len - start);
		size_t end = nl ? (size_t)(nl - buf) : len;
		json_t *line, *v;

		/* A line cut by the scan limit is not parsed: it may be half an object. */
		if (!nl && !eof)
			break;
		line = end > start ? json_loadb(buf + start, end - start, 0, NULL) : NULL;
		v = json_object_get(line, "version");
		if (json_is_string(v) && version_ok(json_string_value(v), json_string_length(v))) {
			if (json_string_length(v) + 1 > cap) {
				rc = -ERANGE;
			} else {
				memcpy(out, json_string_value(v), json_string_length(v) + 1);
				rc = 0;
			}
			json_decref(line);
			break;
		}
		json_decref(line);
		start = end + 1;
	}
out:
	vg_free(buf);
	if (fd >= 0)
		close(fd);
	return rc;
}
