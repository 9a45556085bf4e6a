/*
 * test_serialize.c - norm_serialize gives exactly json_dumps(COMPACT |
 * SORT_KEYS)'s bytes: for every event of the real Claude Code capture (after
 * the correlator), for each escape and number edge, for key orders jansson
 * sorts (prefixes, non-ASCII, hundreds of keys), for objects nested inside
 * objects with many keys; and it fails cleanly (buffer untouched) past the
 * depth limit, past the buffer's limit and without memory.
 */
#include "common.h"
#include "pipeline.h"
#include "tap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

/* Does norm_serialize(v) equal json_dumps(v, COMPACT | SORT_KEYS)? */
static bool same(const json_t *v)
{
	struct vbuf b;
	char *want = json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS | JSON_ENCODE_ANY);
	bool ok;

	vbuf_init(&b, 1u << 26);
	ok = want && norm_serialize(v, &b) == 0 && b.len == strlen(want) &&
	     memcmp(b.data, want, b.len) == 0 && b.data[b.len] == 0;
	if (!ok)
		TAP_DIAG("want %s\n#  got %s", want ? want : "(null)",
			 b.data ? (const char *)b.data : "(null)");
	free(want);
	vbuf_release(&b);
	return ok;
}

static void test_fixture(void)
{
	struct norm_options o = { .host = "h", .user = "u" };
	struct norm_ctx *ctx = NULL;
	struct pair *corr = NULL;
	char *line = NULL, err[256];
	size_t cap = 0, n = 0, good = 0;
	FILE *f = fopen(FIXTURE, "r");
	ssize_t got;

	TAP_OK(f != NULL, "the fixture opens");
	if (!f || norm_ctx_new(&o, &ctx) < 0 || pair_new(NULL, &corr) < 0)
		return;
	while ((got = getline(&line, &cap, f)) > 1) {
		struct norm_envelope env = { .id = "0190c7c0-0000-7000-8000-000000000001",
					     .recv_ns = 1763899620000000000ull + n, .pid = 7,
					     .ppid = 6, .uid = 1000 };
		json_t *ev = NULL;

		n++;
		if (norm_event(ctx, &env, line, (size_t)got - 1, &ev, err, sizeof(err)) == 0 &&
		    pair_apply(corr, ev, env.recv_ns) == 0 && same(ev))
			good++;
		json_decref(ev);
	}
	TAP_OK(n == 24 && good == n, "every fixture event serializes as json_dumps does (%zu/%zu)",
	       good, n);
	free(line);
	fclose(f);
	pair_free(corr);
	norm_ctx_free(ctx);
}

static void test_strings(void)
{
	char all[128];
	json_t *a = json_array();
	bool ok = true;

	/* Every ASCII byte but NUL, then NUL itself (JSON_ALLOW_NUL payloads have it). */
	for (int i = 1; i < 128; i++)
		all[i - 1] = (char)i;
	json_array_append_new(a, json_stringn(all, 127));
	json_array_append_new(a, json_stringn("a\0b", 3));
	json_array_append_new(a, json_string(""));
	json_array_append_new(a, json_string("quote \" backslash \\ slash / tab \t"));
	json_array_append_new(a, json_string("caf\xc3\xa9 \xe2\x80\xa8 \xf0\x9f\x98\x80"));
	TAP_OK(same(a), "strings: every control byte, NUL, quotes, '/', UTF-8 as jansson writes them");
	json_decref(a);

	a = json_object();
	json_object_set_new(a, "k\"\n\x01", json_string("key escapes"));
	ok = same(a);
	json_decref(a);
	TAP_OK(ok, "keys are escaped like strings");
}

static void test_numbers(void)
{
	json_t *a = json_pack("[I,I,I,I,I,I,i,f,f,f,f,f,f,b,b,n]", (json_int_t)0,
			      (json_int_t)-1, (json_int_t)INT64_MAX, (json_int_t)INT64_MIN,
			      (json_int_t)1234567890123ll, (json_int_t)-987654321ll, 42, 1.0, 0.1,
			      -2.5e-300, 1e300, -0.0, 123456789.125, 1, 0);

	TAP_OK(a && same(a), "integers (0, -1, the extremes), reals, true, false, null");
	json_decref(a);
}

static void test_keys(void)
{
	json_t *o = json_object(), *big = json_object(), *nest = json_object();
	char k[32];
	bool ok;

	/* Prefixes, empty key, non-ASCII, upper before lower: byte order. */
	static const char *const keys[] = { "b", "a", "ab", "", "aa", "\xc3\xa9", "z", "Z",
					    "a\x7f", "_", "0", "a b" };

	for (size_t i = 0; i < VG_ARRAY_LEN(keys); i++)
		json_object_set_new(o, keys[i], json_integer((json_int_t)i));
	TAP_OK(same(o), "keys sort by bytes: prefixes first, empty, non-ASCII last");

	/* More keys than the stack holds and than insertion sort handles. */
	for (int i = 0; i < 700; i++) {
		snprintf(k, sizeof(k), "key%05d", (i * 7919) % 700);
		json_object_set_new(big, k, json_integer(i));
	}
	TAP_OK(same(big), "an object of 700 keys (heap key stack, qsort)");

	/* An object with many keys inside an object with many keys: the key
	 * stack grows (and moves) while the parent's keys are on it. */
	for (int i = 0; i < 100; i++) {
		snprintf(k, sizeof(k), "p%03d", 99 - i);
		json_object_set_new(nest, k, i == 50 ? json_incref(big) : json_integer(i));
	}
	json_object_set_new(o, "nested", nest);
	ok = same(o);
	TAP_OK(ok, "nested objects while the key stack grows");
	json_decref(big);
	json_decref(o);

	o = json_pack("{s:{}, s:[], s:[{}, []]}", "e", "f", "g");
	TAP_OK(o && same(o), "empty objects and arrays");
	json_decref(o);
}

/* An array nested n deep. */
static json_t *deep(int n)
{
	json_t *v = json_integer(1);

	for (int i = 0; i < n; i++) {
		json_t *a = json_array();

		json_array_append_new(a, v);
		v = a;
	}
	return v;
}

static void test_errors(void)
{
	struct vbuf b;
	json_t *v = deep(NORM_SERIALIZE_MAX_DEPTH), *w = deep(NORM_SERIALIZE_MAX_DEPTH + 1);
	json_t *o = json_pack("{s:s}", "key", "a value of some length");
	int rc;

	TAP_OK(same(v), "nesting at the depth limit serializes");
	vbuf_init(&b, 1u << 20);
	vbuf_append(&b, "prefix", 6);
	rc = norm_serialize(w, &b);
	TAP_EQ_U64(rc, -ELOOP, "nesting past the limit is refused");
	TAP_OK(b.len == 6 && strcmp((const char *)b.data, "prefix") == 0,
	       "and the buffer is left as it was");
	rc = norm_serialize(o, &b);
	TAP_OK(rc == 0 && strcmp((const char *)b.data, "prefix{\"key\":\"a value of some length\"}") == 0,
	       "it appends to what the buffer holds");
	vbuf_release(&b);

	vbuf_init(&b, 10);
	vbuf_append(&b, "ab", 2);
	rc = norm_serialize(o, &b);
	TAP_EQ_U64(rc, -E2BIG, "past the buffer's limit: -E2BIG");
	TAP_OK(b.len == 2 && strcmp((const char *)b.data, "ab") == 0, "and the buffer is unchanged");
	vbuf_release(&b);

	vbuf_init(&b, 1u << 20);
	vg_alloc_fail_after(0);
	rc = norm_serialize(o, &b);
	vg_alloc_fail_after(-1);
	TAP_EQ_U64(rc, -ENOMEM, "no memory: -ENOMEM");
	TAP_OK(b.len == 0, "and nothing is left in the buffer");
	TAP_EQ_U64(norm_serialize(NULL, &b), -EINVAL, "NULL: -EINVAL");
	vbuf_release(&b);

	/* The heap key stack's allocation failing, mid-way. */
	{
		json_t *big = json_object();
		char k[16];

		for (int i = 0; i < 300; i++) {
			snprintf(k, sizeof(k), "k%d", i);
			json_object_set_new(big, k, json_integer(i));
		}
		vbuf_init(&b, 1u << 20);
		vbuf_reserve(&b, 65536);
		vg_alloc_fail_after(0);
		rc = norm_serialize(big, &b);
		vg_alloc_fail_after(-1);
		TAP_EQ_U64(rc, -ENOMEM, "no memory for 300 keys: -ENOMEM");
		TAP_OK(b.len == 0 && b.data[0] == 0, "and the buffer is empty again");
		vbuf_release(&b);
		json_decref(big);
	}
	json_decref(v);
	json_decref(w);
	json_decref(o);
}

int main(void)
{
	test_fixture();
	test_strings();
	test_numbers();
	test_keys();
	test_errors();
	return tap_done();
}
