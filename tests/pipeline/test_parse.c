/*
 * test_parse.c - the payload fast parser (parse.c, norm_parse_fast) builds
 * exactly what json_loadb(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) builds,
 * member order and number types included, for every line of the real
 * Claude Code capture and for each escape and number form; and it gives up
 * (so jansson decides, error message included) on every input it does not
 * handle or that jansson refuses.
 */
#include "common.h"
#include "pipeline.h"
#include "pipeline_int.h"
#include "tap.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

enum want { TAKES, GIVES_UP };

/* 1: fast parse equals jansson's; 0: the fast parser gave up; -1: they differ. */
static int compare(const char *s, size_t n)
{
	struct vbuf t;
	json_t *fast, *slow;
	int r = 0;

	vbuf_init(&t, 1u << 20);
	fast = norm_parse_fast(s, n, &t);
	slow = json_loadb(s, n, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, NULL);
	if (fast) {
		/* Insertion order and the exact numbers: dumps must match too. */
		char *x = json_dumps(fast, JSON_COMPACT | JSON_ENCODE_ANY);
		char *y = slow ? json_dumps(slow, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;

		r = slow && x && y && strcmp(x, y) == 0 && json_equal(fast, slow) ? 1 : -1;
		if (r < 0)
			TAP_DIAG("fast %s\n#  jansson %s", x ? x : "(null)", y ? y : "(null)");
		free(x);
		free(y);
	}
	json_decref(fast);
	json_decref(slow);
	vbuf_release(&t);
	return r;
}

static void test_fixture(void)
{
	FILE *f = fopen(FIXTURE, "r");
	char *line = NULL;
	size_t cap = 0, n = 0, good = 0;
	ssize_t got;

	while (f && (got = getline(&line, &cap, f)) > 1) {
		n++;
		if (compare(line, (size_t)got) == 1)
			good++;
	}
	TAP_OK(n == 24 && good == n,
	       "every fixture payload takes the fast path and equals jansson's (%zu/%zu)", good, n);
	free(line);
	if (f)
		fclose(f);
}

static void test_cases(void)
{
	static const struct {
		const char *in;
		enum want want;
		const char *what;
	} cases[] = {
		{ "{}", TAKES, "empty object" },
		{ " \t\r\n{ \"a\" : [ 1 , { } , [ ] ] }\n ", TAKES, "whitespace everywhere" },
		{ "{\"s\":\"\\\"\\\\\\/\\b\\f\\n\\r\\t\"}", TAKES, "short escapes" },
		{ "{\"s\":\"\\u0041\\u00e9\\u20AC\\ud83d\\ude00\"}", TAKES, "\\u escapes, a pair" },
		{ "{\"s\":\"a\\u0000b\"}", TAKES, "\\u0000 (JSON_ALLOW_NUL)" },
		{ "{\"s\":\"caf\xc3\xa9 \xf0\x9f\x98\x80\"}", TAKES, "raw UTF-8" },
		{ "{\"s\":\"x\\ny\xc3\xa9\"}", TAKES, "escape then UTF-8" },
		{ "{\"i\":[0,-0,-1,9223372036854775807,-9223372036854775808]}", TAKES,
		  "integers to the extremes" },
		{ "{\"r\":[1.5,-2e10,1E+2,0.000001,1e-400,-0.0,123456789012345678901234]}", GIVES_UP,
		  "a too big integer" },
		{ "{\"r\":[1.5,-2e10,1E+2,0.000001,1e-400,-0.0,1.7976931348623157e308]}", TAKES,
		  "reals (underflow, negative zero, the largest)" },
		{ "{\"t\":true,\"f\":false,\"n\":null}", TAKES, "literals" },
		{ "{\"\":1}", TAKES, "empty key" },
		{ "[1]", GIVES_UP, "a top-level array" },
		{ "{\"a\\u0062\":1}", GIVES_UP, "an escape in a key" },
		{ "{\"\xc3\xa9\":1}", GIVES_UP, "a non-ASCII key" },
		{ "{\"a\":1,\"a\":2}", GIVES_UP, "a duplicate key" },
		{ "{\"a\":9223372036854775808}", GIVES_UP, "an integer too big" },
		{ "{\"a\":-9223372036854775809}", GIVES_UP, "an integer too small" },
		{ "{\"a\":1e400}", GIVES_UP, "a real too big" },
		{ "{\"a\":01}", GIVES_UP, "a leading zero" },
		{ "{\"a\":1.}", GIVES_UP, "a bare decimal point" },
		{ "{\"a\":-}", GIVES_UP, "a bare minus" },
		{ "{\"a\":1,}", GIVES_UP, "a trailing comma" },
		{ "{\"a\":[1,]}", GIVES_UP, "a trailing comma in an array" },
		{ "{\"a\":truex}", GIVES_UP, "a word that is not a literal" },
		{ "{\"a\":\"\xff\"}", GIVES_UP, "invalid UTF-8" },
		{ "{\"a\":\"\xc0\xaf\"}", GIVES_UP, "an overlong UTF-8 form" },
		{ "{\"a\":\"\\udc00\"}", GIVES_UP, "a lone low surrogate" },
		{ "{\"a\":\"\\ud800x\"}", GIVES_UP, "a high surrogate alone" },
		{ "{\"a\":\"\\ud800\\u0041\"}", GIVES_UP, "a high surrogate and no low one" },
		{ "{\"a\":\"\\x\"}", GIVES_UP, "an unknown escape" },
		{ "{\"a\":\"\\u12G4\"}", GIVES_UP, "a bad \\u escape" },
		{ "{\"a\":\"tab\there\"}", GIVES_UP, "a raw control character" },
		{ "{\"a\":1} x", GIVES_UP, "text after the object" },
		{ "{\"a\":1", GIVES_UP, "the end too early" },
		{ "{\"a\" 1}", GIVES_UP, "no colon" },
		{ "", GIVES_UP, "nothing" },
		/* The malformed payloads of issue 9 and their neighbours. */
		{ "{\"a\":{\"b\":1,\"b\":2}}", GIVES_UP, "a duplicate key one level down" },
		{ "{\"a\":[{\"c\":1,\"c\":[2]}]}", GIVES_UP, "a duplicate key in an array's object" },
		{ "{\"a\\u0000\":1}", GIVES_UP, "a \\u0000 in a key" },
		{ "{\"a\":\"x\\u0000\"}", TAKES, "\\u0000 at a string's end" },
		{ "{\"a\":\"\\u0000\"}", TAKES, "a string that is only \\u0000" },
		{ "{\"a\":\"\\uDBFF\\uDFFF\"}", TAKES, "the last surrogate pair, upper case" },
		{ "{\"a\":\"\\ud800\\ud800\"}", GIVES_UP, "two high surrogates" },
		{ "{\"a\":\"\\udbff\"}", GIVES_UP, "a high surrogate at a string's end" },
		{ "{\"a\":\"\\ud800\\\"}", GIVES_UP, "a high surrogate before another escape" },
		{ "{\"a\":\"\xed\xa0\x80\"}", GIVES_UP, "a surrogate in raw UTF-8" },
		{ "\xef\xbb\xbf{}", GIVES_UP, "a byte order mark" },
		{ "{\"tool_input\":{\"command\":[\"x\"]},\"tool_name\":null}", TAKES,
		  "wrong types are the normalizer's business, not the parser's" },
	};
	int bad = 0;

	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++) {
		int r = compare(cases[i].in, strlen(cases[i].in));

		TAP_OK(r >= 0 && (r == 1) == (cases[i].want == TAKES), "%s: %s", cases[i].what,
		       r < 0 ? "DIFFERS" : r ? "fast path, same value" : "left to jansson");
		if (r < 0)
			bad++;
	}
	TAP_OK(bad == 0, "no case where the two disagree");
}

/* Nesting n deep: jansson allows 2048. */
static void test_depth(void)
{
	size_t n = 2048, len = 2 * n + 8;
	char *s = malloc(len), *t;
	size_t o = 0;

	if (!s)
		return;
	s[o++] = '{';
	s[o++] = '"';
	s[o++] = 'a';
	s[o++] = '"';
	s[o++] = ':';
	for (size_t i = 1; i < n; i++)
		s[o++] = '[';
	for (size_t i = 1; i < n; i++)
		s[o++] = ']';
	s[o++] = '}';
	TAP_OK(compare(s, o) == 1, "nesting 2048 deep (jansson's limit) takes the fast path");
	t = malloc(o + 2);
	if (t) {
		/* One level more: jansson refuses it, so must the fast path. */
		memcpy(t, s, 5);
		t[5] = '[';
		memcpy(t + 6, s + 5, o - 6);
		t[o] = ']';
		t[o + 1] = '}';
		TAP_OK(compare(t, o + 2) == 0, "nesting 2049 deep is left to jansson");
		free(t);
	}
	free(s);
}

/* A 7 MiB string with an escape every 1000 bytes (a large Write's content). */
static void test_large(void)
{
	static const char esc[] = "\\n\\u00e9\\ud83d\\ude00";
	char plain[990];
	struct vbuf b;

	memset(plain, 'x', sizeof(plain));
	vbuf_init(&b, 16u << 20);
	vbuf_append(&b, "{\"content\":\"", 12);
	while (b.len < (7u << 20)) {
		vbuf_append(&b, plain, sizeof(plain));
		vbuf_append(&b, esc, sizeof(esc) - 1);
	}
	vbuf_append(&b, "\",\"k\":1}", 8);
	TAP_OK(compare((const char *)b.data, b.len) == 1,
	       "a 7 MiB string full of escapes takes the fast path, same value");
	vbuf_release(&b);
}

int main(void)
{
	test_fixture();
	test_cases();
	test_depth();
	test_large();
	return tap_done();
}
