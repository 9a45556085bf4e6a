/*
 * test_overredact.c - how much ordinary source code the redactor alters.
 *
 *   test_overredact [--list] DIR:EXT[,EXT...] ...
 *
 * Scans every file under each DIR whose name ends in one of the EXTs, whole
 * (as a Write of that file would be), and counts the lines that come out
 * different.  The target (issue 11): at most 1 altered line per 10,000.  The
 * suite runs it over what Debian ships on every build machine: the C headers
 * of /usr/include, Python's standard library and Perl's modules.  A DIR that
 * does not exist is skipped (TAP SKIP).  --list prints every altered line.
 */
#include "redact.h"
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define MAX_FILE (2u * 1024u * 1024u) /* larger files are generated data, not code */
#define MAX_DEPTH 12
#define SHOWN 40

struct tally {
	const struct rd_catalog *cat;
	const char *exts;
	unsigned long long files, lines, altered;
	bool list;
	int shown;
};

static bool wanted(const char *name, const char *exts)
{
	size_t nl = strlen(name);

	for (const char *e = exts; *e;) {
		const char *c = strchr(e, ',');
		size_t el = c ? (size_t)(c - e) : strlen(e);

		if (nl > el && name[nl - el - 1] == '.' && !strncmp(name + nl - el, e, el))
			return true;
		e += el + (c ? 1 : 0);
	}
	return false;
}

static size_t count_lines(const char *s, size_t n)
{
	size_t k = n && s[n - 1] != '\n';

	for (size_t i = 0; i < n; i++)
		k += s[i] == '\n';
	return k;
}

static void show(struct tally *t, const char *path, const char *a, size_t al, const char *b,
		 size_t bl)
{
	if (t->list || t->shown < SHOWN) {
		printf("# %s:\n#   in:  %.*s\n#   out: %.*s\n", path, (int)(al > 200 ? 200 : al), a,
		       (int)(bl > 200 ? 200 : bl), b);
		t->shown++;
	}
}

/* Lines that differ; when a redaction joined lines (a key block), its hits. */
static void compare(struct tally *t, const char *path, const char *in, size_t n, const char *out,
		    size_t m, int hits)
{
	size_t li = count_lines(in, n), lo = count_lines(out, m);

	t->lines += li;
	if (li != lo) {
		t->altered += (unsigned long long)hits;
		show(t, path, in, n, out, m);
		return;
	}
	for (size_t i = 0, j = 0; i < n || j < m;) {
		const char *ei = memchr(in + i, '\n', n - i), *eo = memchr(out + j, '\n', m - j);
		size_t a = ei ? (size_t)(ei - in) - i : n - i,
		       b = eo ? (size_t)(eo - out) - j : m - j;

		if (a != b || memcmp(in + i, out + j, a)) {
			t->altered++;
			show(t, path, in + i, a, out + j, b);
		}
		i += a + 1;
		j += b + 1;
	}
}

static void scan_file(struct tally *t, const char *path)
{
	struct vbuf out;
	char *buf = NULL;
	size_t n;
	int hits;

	if (vg_read_file(path, MAX_FILE, &buf, &n) < 0)
		return;
	vbuf_init(&out, 8u * MAX_FILE);
	if (memchr(buf, '\0', n) == NULL) {
		hits = rd_scan(t->cat, buf, n, &out);
		if (hits > 0)
			compare(t, path, buf, n, (const char *)out.data, out.len, hits);
		else
			t->lines += count_lines(buf, n);
		t->files++;
	}
	vbuf_release(&out);
	vg_free(buf);
}

static void walk(struct tally *t, const char *dir, int depth)
{
	DIR *d = opendir(dir);
	struct dirent *e;

	if (!d || depth > MAX_DEPTH) {
		if (d)
			closedir(d);
		return;
	}
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (snprintf(path, sizeof(path), "%s/%s", dir, e->d_name) >= (int)sizeof(path) ||
		    lstat(path, &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode))
			walk(t, path, depth + 1);
		else if (S_ISREG(st.st_mode) && wanted(e->d_name, t->exts))
			scan_file(t, path);
	}
	closedir(d);
}

int main(int argc, char **argv)
{
	struct rd_catalog *cat = NULL;
	char err[256];
	bool list = argc > 1 && !strcmp(argv[1], "--list");

	TAP_OK(rd_catalog_default(&cat, err, sizeof(err)) == 0, "catalogue: %s", cat ? "ok" : err);
	for (int i = list ? 2 : 1; cat && i < argc; i++) {
		char dir[4096];
		const char *colon = strchr(argv[i], ':');
		struct tally t = { .cat = cat, .list = list };
		struct stat st;

		if (!colon || (size_t)(colon - argv[i]) >= sizeof(dir)) {
			TAP_OK(0, "argument %s: DIR:EXT[,EXT]", argv[i]);
			continue;
		}
		memcpy(dir, argv[i], (size_t)(colon - argv[i]));
		dir[colon - argv[i]] = '\0';
		t.exts = colon + 1;
		if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode)) {
			TAP_SKIP("%s: not on this machine", dir);
			continue;
		}
		walk(&t, dir, 0);
		printf("# %s (%s): %llu files, %llu lines, %llu altered (%.2f per 10,000)\n", dir,
		       t.exts, t.files, t.lines, t.altered,
		       t.lines ? 10000.0 * (double)t.altered / (double)t.lines : 0.0);
		TAP_OK(t.lines >= 10000, "%s: at least 10,000 lines to judge by", dir);
		TAP_OK(t.altered * 10000 <= t.lines,
		       "%s: at most 1 altered line per 10,000 (%llu of %llu)", dir, t.altered,
		       t.lines);
	}
	rd_catalog_free(cat);
	return tap_done();
}
