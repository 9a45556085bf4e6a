/*
 * test_yaml.c - src/yaml: scalar resolution, locations of every kind of
 * value, multi-document streams, and the refusals (duplicate keys, aliases,
 * complex keys, tags, limits) with their file:line:column messages.
 */
#include "common.h"
#include "tap.h"
#include "yj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

static struct yj_doc *parse(const char *text, const struct yj_limits *lim, char *err,
			    size_t errcap, int *rc)
{
	struct yj_doc *d = NULL;

	*rc = yj_parse(text, strlen(text), "t.yml", lim, &d, err, errcap);
	return d;
}

/* Parses text expecting an error; checks the code and the message. */
static void expect_error(const char *text, const struct yj_limits *lim, int want_rc,
			 const char *want_msg, const char *name)
{
	char err[256] = "";
	int rc;
	struct yj_doc *d = parse(text, lim, err, sizeof(err), &rc);

	TAP_OK(rc == want_rc && !d && strstr(err, want_msg), "%s: %s", name, err);
	if (rc != want_rc || !strstr(err, want_msg))
		TAP_DIAG("got rc %d, err '%s', want '%s'", rc, err, want_msg);
	yj_free(d);
}

static void test_scalars(void)
{
	const char *text = "a: true\n"
			   "b: False\n"
			   "c: null\n"
			   "d: ~\n"
			   "e:\n"
			   "f: 42\n"
			   "g: -7\n"
			   "h: 0777\n"
			   "i: 0x1F\n"
			   "j: 0o17\n"
			   "k: 1.5\n"
			   "l: 1e3\n"
			   "m: yes\n"
			   "n: '42'\n"
			   "o: \"true\"\n"
			   "p: !!str 12\n"
			   "q: .inf\n"
			   "r: 99999999999999999999\n"
			   "s: plain text\n";
	char err[256];
	int rc;
	struct yj_doc *d = parse(text, NULL, err, sizeof(err), &rc);
	json_t *r = d ? yj_root(d, 0) : NULL;

	TAP_OK(rc == 0 && d && json_is_object(r), "scalars parse (%s)", rc ? err : "ok");
	if (!r)
		return;
	TAP_OK(json_is_true(json_object_get(r, "a")), "plain true is a boolean");
	TAP_OK(json_is_false(json_object_get(r, "b")), "plain False is a boolean");
	TAP_OK(json_is_null(json_object_get(r, "c")) && json_is_null(json_object_get(r, "d")) &&
		       json_is_null(json_object_get(r, "e")),
	       "null, ~ and empty are null");
	TAP_OK(json_integer_value(json_object_get(r, "f")) == 42 &&
		       json_integer_value(json_object_get(r, "g")) == -7,
	       "decimal integers");
	TAP_OK(json_integer_value(json_object_get(r, "h")) == 777, "0777 is decimal 777 (core schema)");
	TAP_OK(!strcmp(yj_scalar_text(d, json_object_get(r, "h")), "0777"),
	       "0777 keeps its original text");
	TAP_OK(json_integer_value(json_object_get(r, "i")) == 31 &&
		       json_integer_value(json_object_get(r, "j")) == 15,
	       "hex and 0o octal integers");
	TAP_OK(json_real_value(json_object_get(r, "k")) == 1.5 &&
		       json_real_value(json_object_get(r, "l")) == 1000.0,
	       "floats");
	TAP_OK(!strcmp(json_string_value(json_object_get(r, "m")), "yes"), "yes stays a string");
	TAP_OK(!strcmp(json_string_value(json_object_get(r, "n")), "42") &&
		       !strcmp(json_string_value(json_object_get(r, "o")), "true"),
	       "quoted scalars are strings");
	TAP_OK(!strcmp(json_string_value(json_object_get(r, "p")), "12"), "!!str forces a string");
	TAP_OK(json_is_string(json_object_get(r, "q")), ".inf stays a string (JSON has no inf)");
	TAP_OK(json_is_real(json_object_get(r, "r")), "an integer too large for int64 is a real");
	TAP_OK(!strcmp(json_string_value(json_object_get(r, "s")), "plain text"), "plain string");
	yj_free(d);
}

static void test_locations(void)
{
	const char *text = "# comment\n"
			   "title: x\n"
			   "detection:\n"
			   "  sel:\n"
			   "    - a\n"
			   "    - true\n"
			   "  flag: false\n"
			   "list: [1, {k: v}]\n";
	struct yj_loc loc;
	char err[256];
	int rc, line = 0, col = 0;
	struct yj_doc *d = parse(text, NULL, err, sizeof(err), &rc);
	json_t *r = d ? yj_root(d, 0) : NULL;
	json_t *det, *sel, *list;

	TAP_OK(rc == 0 && r, "location doc parses");
	if (!r)
		return;
	det = json_object_get(r, "detection");
	sel = json_object_get(det, "sel");
	list = json_object_get(r, "list");
	TAP_OK(yj_where(d, r, &line, &col) == 0 && line == 2 && col == 1, "root at 2:1 (%d:%d)",
	       line, col);
	TAP_OK(yj_where(d, json_object_get(r, "title"), &line, &col) == 0 && line == 2 &&
		       col == 8,
	       "string value at 2:8 (%d:%d)", line, col);
	TAP_OK(yj_where(d, det, &line, &col) == 0 && line == 4 && col == 3,
	       "nested mapping at 4:3 (%d:%d)", line, col);
	TAP_OK(yj_member(d, r, "detection", &loc) == 0 && loc.key_line == 3 && loc.key_col == 1,
	       "key of detection at 3:1");
	TAP_OK(yj_where(d, sel, &line, &col) == 0 && line == 5 && col == 5,
	       "sequence at 5:5 (%d:%d)", line, col);
	TAP_OK(yj_element(d, sel, 1, &loc) == 0 && loc.line == 6 && loc.col == 7 &&
		       !strcmp(loc.text, "true"),
	       "boolean element located through its array at 6:7");
	TAP_OK(yj_where(d, json_true(), &line, &col) == -ENOENT,
	       "singletons are not located by pointer");
	TAP_OK(yj_member(d, det, "flag", &loc) == 0 && loc.line == 7 && loc.key_line == 7 &&
		       loc.key_col == 3 && !strcmp(loc.text, "false"),
	       "boolean member located through its object");
	TAP_OK(yj_element(d, list, 1, &loc) == 0 && loc.line == 8 && loc.col == 11 && !loc.text,
	       "flow mapping inside a flow sequence at 8:11 (%d:%d)", loc.line, loc.col);
	TAP_OK(yj_member(d, r, "nope", &loc) == -ENOENT, "unknown member: -ENOENT");
	{
		json_t *other = json_string("x");

		TAP_OK(yj_where(d, other, &line, &col) == -ENOENT,
		       "a value from elsewhere: -ENOENT");
		json_decref(other);
	}
	yj_free(d);
}

static void test_stream(void)
{
	const char *text = "a: 1\n---\nb: 2\n---\n- x\n";
	char err[256];
	int rc, line, col;
	struct yj_doc *d = parse(text, NULL, err, sizeof(err), &rc);

	TAP_OK(rc == 0 && d && yj_count(d) == 3, "three documents");
	if (!d)
		return;
	TAP_OK(json_is_array(yj_root(d, 2)) && !yj_root(d, 3), "third is a sequence; no fourth");
	TAP_OK(yj_doc_where(d, 1, &line, &col) == 0 && line == 2, "second document starts at line 2");
	TAP_OK(!strcmp(yj_file(d), "t.yml"), "file name kept");
	yj_free(d);

	d = parse("", NULL, err, sizeof(err), &rc);
	TAP_OK(rc == 0 && d && yj_count(d) == 0, "empty stream: no documents");
	yj_free(d);
	d = parse("# only a comment\n", NULL, err, sizeof(err), &rc);
	TAP_OK(rc == 0 && d && yj_count(d) == 0, "comment only: no documents");
	yj_free(d);
}

static void test_errors(void)
{
	struct yj_limits small = { .max_depth = 3, .max_nodes = 10, .max_scalar = 8,
				   .max_input = 200 };
	char big[300];

	expect_error("a: 1\nb: [\n", NULL, -EINVAL, "t.yml:3:1: ", "unterminated flow sequence");
	expect_error("a: 1\n  b: 2\n", NULL, -EINVAL, "t.yml:2:4: mapping values are not allowed",
		     "bad indentation");
	expect_error("a: 1\nb: 2\na: 3\n", NULL, -EINVAL, "t.yml:3:1: duplicate key 'a'",
		     "duplicate key");
	expect_error("x:\n  k: 1\n  k: 2\n", NULL, -EINVAL, "t.yml:3:3: duplicate key 'k'",
		     "nested duplicate key");
	expect_error("a: &x [1, 2]\nb: *x\n", NULL, -EINVAL,
		     "t.yml:2:4: aliases (*x) are not supported", "alias refused");
	expect_error("? [a, b]\n: 1\n", NULL, -EINVAL, "t.yml:1:3: a mapping key must be a scalar",
		     "complex key");
	expect_error("a: !custom 1\n", NULL, -EINVAL, "t.yml:1:4: unsupported tag", "unknown tag");
	expect_error("a: !!int abc\n", NULL, -EINVAL, "t.yml:1:4: not a valid !!int", "bad !!int");
	expect_error("a: \"x\\0y\"\n", NULL, -EINVAL, "t.yml:1:4: NUL character", "NUL in a scalar");
	expect_error("a: [[[[1]]]]\n", &small, -E2BIG, "t.yml:1:6: nesting deeper than 3",
		     "depth limit");
	expect_error("[1,2,3,4,5,6,7,8,9,10,11]\n", &small, -E2BIG, "more than 10 nodes",
		     "node limit");
	expect_error("a: 123456789\n", &small, -E2BIG, "t.yml:1:4: scalar of 9 bytes (limit 8)",
		     "scalar limit");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	expect_error(big, &small, -E2BIG, "t.yml:1:1: 299 bytes of YAML (limit 200)", "input limit");
	expect_error("a: \"\xff\"\n", NULL, -EINVAL, "t.yml:1:", "invalid UTF-8");
	expect_error("a: b\n\tc: d\n", NULL, -EINVAL, "t.yml:2:", "tab indentation");
	{
		/* A billion-laughs bomb dies at its first alias. */
		const char *bomb = "a: &a [x, x, x, x, x, x, x, x, x]\n"
				   "b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
				   "c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b]\n";

		expect_error(bomb, NULL, -EINVAL, "t.yml:2:8: aliases (*a)", "alias bomb refused");
	}
}

static void test_file(void)
{
	const char *tmp = getenv("TMPDIR");
	char path[512], err[256];
	struct yj_doc *d = NULL;
	int fd, rc;
	FILE *f;

	snprintf(path, sizeof(path), "%s/vigil-yj-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	fd = mkstemp(path);
	f = fd >= 0 ? fdopen(fd, "w") : NULL;

	TAP_OK(f != NULL, "temp file");
	if (!f)
		return;
	fputs("k: [1, 2]\nk2: v\n", f);
	fclose(f);
	rc = yj_parse_file(path, NULL, &d, err, sizeof(err));
	TAP_OK(rc == 0 && d && json_array_size(json_object_get(yj_root(d, 0), "k")) == 2,
	       "yj_parse_file reads a file");
	yj_free(d);
	d = NULL;
	rc = yj_parse_file(path, &(struct yj_limits){ .max_input = 4 }, &d, err, sizeof(err));
	TAP_OK(rc == -E2BIG && !d && strstr(err, "larger than 4 bytes"), "file size limit: %s", err);
	unlink(path);
	rc = yj_parse_file(path, NULL, &d, err, sizeof(err));
	TAP_OK(rc == -ENOENT && !d && strstr(err, path), "missing file: %s", err);
}

static void test_oom(void)
{
	const char *text = "a: [1, {b: c, d: [e, f]}]\n---\nx: y\n";
	int ok = 1, n;

	/* Every allocation failure gives -ENOMEM and no leak (ASan checks). */
	for (n = 0; n < 200; n++) {
		struct yj_doc *d = NULL;
		char err[256];
		int rc;

		vg_alloc_fail_after(n);
		rc = yj_parse(text, strlen(text), "t.yml", NULL, &d, err, sizeof(err));
		vg_alloc_fail_after(-1);
		if (rc == 0) {
			yj_free(d);
			break;
		}
		if (rc != -ENOMEM || d)
			ok = 0;
	}
	TAP_OK(ok && n < 200, "allocation failures give -ENOMEM (%d injected)", n);
}

int main(void)
{
	test_scalars();
	test_locations();
	test_stream();
	test_errors();
	test_file();
	test_oom();
	return tap_done();
}
