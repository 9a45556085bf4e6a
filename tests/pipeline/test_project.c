/*
 * test_project.c - the pipeline's filesystem helpers: the project root
 * (CLAUDE_PROJECT_DIR, git work tree, cwd) in temporary directories, and the
 * Claude Code version from a transcript (the real one, and bad, empty, huge,
 * cut and non-regular files).
 */
#include "common.h"
#include "pipeline.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef TRANSCRIPT
#error "TRANSCRIPT must name the session-rich.transcript.jsonl capture"
#endif

static char tmp[256];

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static void put(const char *name, const char *data)
{
	size_t n = strlen(data);
	char p[512];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", tmp, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0 || write(fd, data, n) != (ssize_t)n)
		TAP_DIAG("cannot write %s", p);
	if (fd >= 0)
		close(fd);
}

static void test_root(void)
{
	char out[512], dir[512], want[512];
	int rc;

	snprintf(dir, sizeof(dir), "%s/repo/src/deep", tmp);
	TAP_OK(base_mkdir_p(dir, 0700, NULL) == 0, "made %s", dir);

	rc = norm_project_root(dir, "/somewhere/else", out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_ENV && streq(out, "/somewhere/else"),
	       "CLAUDE_PROJECT_DIR wins: %d %s", rc, out);
	rc = norm_project_root("/a/b", "../c/./d/", out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_ENV && streq(out, "/a/c/d"),
	       "a relative CLAUDE_PROJECT_DIR resolves against cwd: %s", out);

	rc = norm_project_root(dir, NULL, out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_CWD && streq(out, dir), "no .git anywhere: cwd (%d %s)", rc, out);
	rc = norm_project_root(dir, "", out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_CWD, "an empty CLAUDE_PROJECT_DIR is ignored");

	snprintf(want, sizeof(want), "%s/repo/.git", tmp);
	TAP_OK(mkdir(want, 0700) == 0, "made repo/.git");
	snprintf(want, sizeof(want), "%s/repo", tmp);
	rc = norm_project_root(dir, NULL, out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_GIT && streq(out, want), "a .git directory above: git (%d %s)",
	       rc, out);
	{
		char messy[600];

		snprintf(messy, sizeof(messy), "%s/repo//src/./deep/", tmp);
		rc = norm_project_root(messy, NULL, out, sizeof(out));
		TAP_OK(rc == NORM_PROJECT_GIT && streq(out, want), "cwd is normalized first: %s", out);
	}
	rc = norm_project_root(want, NULL, out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_GIT && streq(out, want), "cwd at the root of the work tree");

	/* A worktree or submodule: ".git" is a file. */
	snprintf(dir, sizeof(dir), "%s/repo/src/sub", tmp);
	TAP_OK(base_mkdir_p(dir, 0700, NULL) == 0, "made repo/src/sub");
	put("repo/src/sub/.git", "gitdir: ../../.git/modules/sub\n");
	rc = norm_project_root(dir, NULL, out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_GIT && streq(out, dir),
	       "a .git file (submodule) marks the nearest root: %s", out);

	rc = norm_project_root("/nonexistent-vigil-dir/x", NULL, out, sizeof(out));
	TAP_OK(rc == NORM_PROJECT_CWD && streq(out, "/nonexistent-vigil-dir/x"),
	       "a cwd that does not exist: cwd");
	TAP_OK(norm_project_root("relative/dir", NULL, out, sizeof(out)) == -EINVAL,
	       "a relative cwd without a project dir: -EINVAL");
	TAP_OK(norm_project_root(NULL, NULL, out, sizeof(out)) == -EINVAL, "no cwd: -EINVAL");
	TAP_OK(norm_project_root(want, NULL, out, 4) == -ENAMETOOLONG, "a small buffer: -ENAMETOOLONG");
	TAP_OK(norm_project_root("/", NULL, out, sizeof(out)) > 0 && out[0] == '/',
	       "cwd / terminates: %s", out);
}

static void test_version(void)
{
	char out[80], p[512];
	struct vbuf b;
	int rc;

	rc = norm_transcript_version(TRANSCRIPT, out, sizeof(out));
	TAP_OK(rc == 0 && streq(out, "2.1.197"), "the real transcript: version %s (%d)",
	       rc == 0 ? out : "-", rc);
	TAP_OK(norm_transcript_version(TRANSCRIPT, out, 4) == -ERANGE, "a small buffer: -ERANGE");

	put("empty.jsonl", "");
	snprintf(p, sizeof(p), "%s/empty.jsonl", tmp);
	TAP_OK(norm_transcript_version(p, out, sizeof(out)) == -ENOENT, "an empty file: -ENOENT");

	put("bad.jsonl", "not json\n{\"type\":\"user\"\n[1,2]\n{\"version\":5}\n");
	snprintf(p, sizeof(p), "%s/bad.jsonl", tmp);
	TAP_OK(norm_transcript_version(p, out, sizeof(out)) == -ENOENT,
	       "bad lines and a non-string version: -ENOENT");

	put("nested.jsonl", "{\"message\":{\"version\":\"9.9\"}}\n{\"version\":\"1.2.3\"}");
	snprintf(p, sizeof(p), "%s/nested.jsonl", tmp);
	rc = norm_transcript_version(p, out, sizeof(out));
	TAP_OK(rc == 0 && streq(out, "1.2.3"),
	       "only a top-level version counts; a last line without a newline is read: %s",
	       rc == 0 ? out : "-");

	put("evil.jsonl", "{\"version\":\"1.0\\n; rm -rf /\"}\n{\"version\":\"2.0.0-beta+x\"}\n");
	snprintf(p, sizeof(p), "%s/evil.jsonl", tmp);
	rc = norm_transcript_version(p, out, sizeof(out));
	TAP_OK(rc == 0 && streq(out, "2.0.0-beta+x"), "a version with odd characters is skipped: %s",
	       rc == 0 ? out : "-");

	/* Huge: the version sits past the first 64 KiB, and one line spans the limit. */
	vbuf_init(&b, 1 << 22);
	for (int i = 0; i < 2000; i++)
		vbuf_appendf(&b, "{\"type\":\"x\",\"pad\":\"%050d\"}\n", i);
	vbuf_appendf(&b, "{\"version\":\"3.0.0\"}\n");
	put("huge.jsonl", (const char *)b.data);
	snprintf(p, sizeof(p), "%s/huge.jsonl", tmp);
	TAP_OK(b.len > NORM_TRANSCRIPT_SCAN &&
		       norm_transcript_version(p, out, sizeof(out)) == -ENOENT,
	       "a version past the first %u bytes is not read (file of %zu bytes)",
	       NORM_TRANSCRIPT_SCAN, b.len);
	vbuf_reset(&b);
	vbuf_appendf(&b, "{\"pad\":\"");
	for (int i = 0; i < 70000; i++)
		vbuf_append(&b, "x", 1);
	vbuf_appendf(&b, "\",\"version\":\"4.0\"}\n");
	put("longline.jsonl", (const char *)b.data);
	snprintf(p, sizeof(p), "%s/longline.jsonl", tmp);
	TAP_OK(norm_transcript_version(p, out, sizeof(out)) == -ENOENT,
	       "a first line longer than the scan limit is not half-parsed");
	vbuf_release(&b);

	snprintf(p, sizeof(p), "%s/missing.jsonl", tmp);
	TAP_OK(norm_transcript_version(p, out, sizeof(out)) == -ENOENT, "a missing file: -ENOENT");
	put("version.json", "{\"version\":\"1.0\"}\n");
	snprintf(p, sizeof(p), "%s/version.json", tmp);
	TAP_OK(norm_transcript_version(p, out, sizeof(out)) == -EINVAL,
	       "a name not ending in .jsonl: -EINVAL");
	snprintf(p, sizeof(p), "%s/dir.jsonl", tmp);
	mkdir(p, 0700);
	TAP_OK(norm_transcript_version(p, out, sizeof(out)) == -EINVAL, "a directory: -EINVAL");
	snprintf(p, sizeof(p), "%s/fifo.jsonl", tmp);
	TAP_OK(mkfifo(p, 0600) == 0 && norm_transcript_version(p, out, sizeof(out)) == -EINVAL,
	       "a FIFO (no writer): -EINVAL at once, no hang");
	TAP_OK(norm_transcript_version(NULL, out, sizeof(out)) == -EINVAL, "NULL path: -EINVAL");
}

int main(void)
{
	const char *base = getenv("TMPDIR");
	char cmd[512];

	snprintf(tmp, sizeof(tmp), "%s/vigil-project-XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmp)) {
		printf("Bail out! mkdtemp\n");
		return 1;
	}
	test_root();
	test_version();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		TAP_DIAG("could not remove %s", tmp);
	return tap_done();
}
