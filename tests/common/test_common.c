/*
 * test_common.c - the shared utilities: bounded buffers, hex and base64
 * (round trips and strict rejection), little-endian helpers, duration and
 * size parsing, time formatting, UUIDv7, file helpers, the state directory,
 * secrets, and allocation-failure injection.
 */
#include "common.h"
#include "tap.h"

#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static uint64_t rs = 0x0123456789abcdefull;

static uint64_t rnd(void)
{
	rs ^= rs >> 12;
	rs ^= rs << 25;
	rs ^= rs >> 27;
	return rs * 0x2545f4914f6cdd1dull;
}

static char tmpdir[256];

static void test_vbuf(void)
{
	struct vbuf b;
	uint8_t big[300];
	int rc;

	memset(big, 'a', sizeof(big));
	vbuf_init(&b, 10);
	TAP_OK(vbuf_append(&b, "0123456789", 10) == 0 && b.len == 10 && b.data[10] == 0,
	       "append up to the limit, NUL-terminated");
	rc = vbuf_append(&b, "x", 1);
	TAP_OK(rc == -E2BIG && b.len == 10 && !memcmp(b.data, "0123456789", 10) && b.data[10] == 0,
	       "one byte past the limit -> -E2BIG, buffer unchanged");
	TAP_OK(vbuf_append(&b, "", 0) == 0 && b.len == 10, "appending nothing at the limit is fine");
	TAP_OK(vbuf_appendf(&b, "%d", 1) == -E2BIG && b.len == 10, "appendf past the limit -> -E2BIG");
	TAP_OK(vbuf_reserve(&b, SIZE_MAX) == -E2BIG, "reserve(SIZE_MAX) -> -E2BIG, no overflow");
	vbuf_reset(&b);
	TAP_OK(b.len == 0 && b.data[0] == 0, "reset empties it");
	TAP_OK(vbuf_appendf(&b, "%s-%d", "ab", 42) == 0 && b.len == 5 && !strcmp((char *)b.data, "ab-42"),
	       "appendf formats");
	vbuf_release(&b);
	TAP_OK(b.data == NULL && b.len == 0, "release frees");

	vbuf_init(&b, 0);
	TAP_OK(vbuf_append(&b, "", 0) == 0 && vbuf_append(&b, "x", 1) == -E2BIG,
	       "a zero limit takes nothing");
	vbuf_release(&b);

	vbuf_init(&b, 1000);
	for (int i = 0; i < 3; i++)
		rc = vbuf_append(&b, big, sizeof(big));
	TAP_OK(rc == 0 && b.len == 900 && b.cap <= 1001, "growth stops at the limit (cap %zu)", b.cap);
	TAP_OK(vbuf_append(&b, big, 101) == -E2BIG && vbuf_append(&b, big, 100) == 0 && b.len == 1000,
	       "exactly the limit fits, one more does not");
	vbuf_release(&b);
}

static void test_hex(void)
{
	uint8_t in[64], out[64];
	char hex[129];
	unsigned bad = 0;

	for (int n = 0; n <= 64; n++) {
		for (int i = 0; i < n; i++)
			in[i] = (uint8_t)rnd();
		base_hex_encode(in, (size_t)n, hex);
		if (strlen(hex) != (size_t)n * 2 || base_hex_decode(hex, (size_t)n * 2, out, (size_t)n) ||
		    memcmp(in, out, (size_t)n))
			bad++;
		for (int i = 0; i < 2 * n; i++)
			if (!((hex[i] >= '0' && hex[i] <= '9') || (hex[i] >= 'a' && hex[i] <= 'f')))
				bad++;
	}
	TAP_EQ_U64(bad, 0, "hex round trips, lowercase, lengths 0..64");
	base_hex_encode((const uint8_t *)"\x01\xab\xff", 3, hex);
	TAP_OK(!strcmp(hex, "01abff"), "hex known answer");
	TAP_OK(base_hex_decode("01ABfF", 6, out, 3) == 0 && out[1] == 0xab && out[2] == 0xff,
	       "decode is case-insensitive");
	TAP_OK(base_hex_decode("01ab", 4, out, 3) == -EINVAL, "too short -> -EINVAL");
	TAP_OK(base_hex_decode("01abff00", 8, out, 3) == -EINVAL, "too long -> -EINVAL");
	TAP_OK(base_hex_decode("01ag", 4, out, 2) == -EINVAL, "non-hex -> -EINVAL");
	TAP_OK(base_hex_decode("01 a", 4, out, 2) == -EINVAL, "space -> -EINVAL");
	TAP_OK(base_hex_decode("0x01", 4, out, 2) == -EINVAL, "0x prefix -> -EINVAL");
}

static void test_sha256(void)
{
	char hex[65];
	uint8_t raw[32];

	TAP_OK(vg_sha256_hex("", 0, hex) == 0 &&
		       strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855") ==
			       0,
	       "sha256 of nothing (FIPS 180 vector)");
	TAP_OK(vg_sha256_hex("abc", 3, hex) == 0 &&
		       strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad") ==
			       0,
	       "sha256 of \"abc\"");
	TAP_OK(vg_sha256("abc", 3, raw) == 0 && raw[0] == 0xba && raw[31] == 0xad,
	       "the raw digest agrees");
}

static void test_base64(void)
{
	static const char *const kat[][2] = {
		{ "", "" },	    { "f", "Zg==" },	    { "fo", "Zm8=" },	      { "foo", "Zm9v" },
		{ "foob", "Zm9vYg==" }, { "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	static const char *const bad[] = {
		"Zg=",	    "Zg",	 "Z===",     "Zh==",	 /* stray bits under the padding */
		"Zm9=",	    "Zm9v\n",	 " Zm9v",    "Zm9v Zm9v", "Zm-v", "Zm_v", "Zg==Zg==",
		"=Zg=",	    "Zm9vYmFy=", "Zm9vY===", "Zm8=Zm8=", "\0Zg=",
	};
	uint8_t in[200], out[200];
	char enc[300];
	unsigned fails = 0;

	for (size_t i = 0; i < VG_ARRAY_LEN(kat); i++) {
		size_t n = strlen(kat[i][0]);
		int d;

		vg_base64_encode((const uint8_t *)kat[i][0], n, enc);
		d = vg_base64_decode(kat[i][1], strlen(kat[i][1]), out, sizeof(out));
		if (strcmp(enc, kat[i][1]) || d != (int)n || memcmp(out, kat[i][0], n))
			fails++;
	}
	TAP_EQ_U64(fails, 0, "RFC 4648 base64 test vectors");
	for (int n = 0; n <= 150; n++) {
		int d;

		for (int i = 0; i < n; i++)
			in[i] = (uint8_t)rnd();
		vg_base64_encode(in, (size_t)n, enc);
		d = vg_base64_decode(enc, strlen(enc), out, sizeof(out));
		if (d != n || memcmp(in, out, (size_t)n))
			fails++;
	}
	TAP_EQ_U64(fails, 0, "base64 round trips, lengths 0..150");
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		size_t len = bad[i][0] ? strlen(bad[i]) : 4;

		if (vg_base64_decode(bad[i], len, out, sizeof(out)) != -EINVAL) {
			fails++;
			printf("# accepted '%s'\n", bad[i]);
		}
	}
	TAP_EQ_U64(fails, 0, "%zu malformed or non-canonical base64 strings rejected",
		   VG_ARRAY_LEN(bad));
	TAP_OK(vg_base64_decode("Zm9vYmFy", 8, out, 5) == -E2BIG, "output larger than cap -> -E2BIG");
	TAP_OK(vg_base64_decode("Zm9vYmFy", 8, out, 6) == 6, "exactly cap fits");
	/* Every single-character change of a canonical encoding either fails or
	 * decodes to different bytes: one encoding per value. */
	{
		const char *s = "Zm9vYmE=";
		unsigned same = 0;

		for (int i = 0; i < 8; i++)
			for (int c = 1; c < 256; c++) {
				char m[9];
				int d;

				memcpy(m, s, 9);
				if ((uint8_t)m[i] == c)
					continue;
				m[i] = (char)c;
				d = vg_base64_decode(m, 8, out, sizeof(out));
				if (d == 5 && !memcmp(out, "fooba", 5))
					same++;
			}
		TAP_EQ_U64(same, 0, "no other 8-character string decodes to the same bytes");
	}
}

static void test_le(void)
{
	uint8_t b[8];

	vg_put_le16(b, 0x1234);
	TAP_OK(b[0] == 0x34 && b[1] == 0x12 && vg_get_le16(b) == 0x1234, "le16");
	vg_put_le32(b, 0xdeadbeef);
	TAP_OK(b[0] == 0xef && b[3] == 0xde && vg_get_le32(b) == 0xdeadbeef, "le32");
	vg_put_le64(b, 0x0102030405060708ull);
	TAP_OK(b[0] == 8 && b[7] == 1 && vg_get_le64(b) == 0x0102030405060708ull, "le64");
	vg_put_le64(b, UINT64_MAX);
	TAP_OK(vg_get_le64(b) == UINT64_MAX && vg_get_le32(b) == UINT32_MAX, "le all ones");
}

static void test_parse(void)
{
	static const struct {
		const char *s;
		uint64_t v;
	} dur[] = {
		{ "0", 0 },	   { "900", 900 },     { "10s", 10 },		  { "15m", 900 },
		{ "2h", 7200 },	   { "1d", 86400 },    { "366d", 366 * 86400ull }, { "007", 7 },
		{ "18446744073709551615", UINT64_MAX },
	};
	static const char *const bad_dur[] = {
		"",	 "-1",	 "+1",	"1x", "1mm", "m",  " 1",  "1 ",	 " -1", "\t5",
		"1.5h", "0x10", "1e3", "1M", "99999999999999999999", "213503982334602d",
		"18446744073709551616",
	};
	static const struct {
		const char *s;
		uint64_t v;
	} sz[] = {
		{ "4096", 4096 },   { "4k", 4096 },	  { "4K", 4096 },
		{ "64M", 64ull << 20 }, { "1G", 1ull << 30 }, { "1g", 1ull << 30 },
	};
	static const char *const bad_sz[] = { "", "1T", "1.5M", "M", "-1", "+1", " 1", "1MB", "1 M",
					       "17179869184G" };
	unsigned fails = 0;
	uint64_t v;

	for (size_t i = 0; i < VG_ARRAY_LEN(dur); i++)
		if (vg_parse_duration(dur[i].s, &v) != 0 || v != dur[i].v) {
			fails++;
			printf("# duration '%s' failed\n", dur[i].s);
		}
	TAP_EQ_U64(fails, 0, "%zu valid durations", VG_ARRAY_LEN(dur));
	fails = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad_dur); i++)
		if (vg_parse_duration(bad_dur[i], &v) != -EINVAL) {
			fails++;
			printf("# duration '%s' accepted as %llu\n", bad_dur[i], (unsigned long long)v);
		}
	TAP_EQ_U64(fails, 0, "%zu invalid durations rejected", VG_ARRAY_LEN(bad_dur));
	fails = 0;
	TAP_OK(vg_parse_duration(NULL, &v) == -EINVAL, "NULL duration rejected");
	TAP_OK(vg_parse_duration("213503982334601d", &v) == 0 && v == 213503982334601ull * 86400,
	       "the largest whole number of days that fits");
	for (size_t i = 0; i < VG_ARRAY_LEN(sz); i++)
		if (vg_parse_size(sz[i].s, &v) != 0 || v != sz[i].v) {
			fails++;
			printf("# size '%s' failed\n", sz[i].s);
		}
	TAP_EQ_U64(fails, 0, "%zu valid sizes", VG_ARRAY_LEN(sz));
	fails = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad_sz); i++)
		if (vg_parse_size(bad_sz[i], &v) != -EINVAL) {
			fails++;
			printf("# size '%s' accepted as %llu\n", bad_sz[i], (unsigned long long)v);
		}
	TAP_EQ_U64(fails, 0, "%zu invalid sizes rejected", VG_ARRAY_LEN(bad_sz));
}

static void test_time(void)
{
	char out[40];
	uint64_t a, b;

	vg_format_time(0, out, sizeof(out));
	TAP_OK(!strcmp(out, "1970-01-01T00:00:00.000Z"), "format epoch (%s)", out);
	vg_format_time(1700000000123456789ull, out, sizeof(out));
	TAP_OK(!strcmp(out, "2023-11-14T22:13:20.123Z"), "format a known time (%s)", out);
	vg_format_time(951782400999999999ull, out, sizeof(out));
	TAP_OK(!strcmp(out, "2000-02-29T00:00:00.999Z"), "leap day, ms truncated (%s)", out);
	a = vg_mono_ns();
	b = vg_mono_ns();
	TAP_OK(b >= a, "monotonic clock does not go back");
	TAP_OK(vg_now_ns() > 1700000000000000000ull, "wall clock is after 2023");
}

/* vg_parse_time: the one RFC 3339 parser (event times, rule cases, --since). */
static void test_parse_time(void)
{
	static const char *const bad[] = {
		"",
		"yesterday",
		"2025-11-23T12:07:00",	     /* no zone */
		"2025-11-23T12:07:00.123",   /* no zone */
		"2025-11-23T12:07Z",	     /* no seconds */
		"2025-11-23T12:07:00.Z",     /* a dot without digits */
		"2025-11-23T12:07:00+0200",  /* offset without its colon */
		"2025-11-23T12:07:00+02",    /* offset without minutes */
		"2025-11-23T12:07:00+24:00", /* offset hour 24 */
		"2025-11-23T12:07:00+02:60", /* offset minute 60 */
		"2025-11-23T12:07:00Z ",     /* trailing blank */
		"2025-11-23T12:07:00Zjunk",  /* trailing text */
		"2025-11-23T24:00:00Z",	     /* hour 24 */
		"2025-11-23T12:60:00Z",	     /* minute 60 */
		"2025-11-23T12:07:61Z",	     /* second 61 */
		"2025-13-01T00:00:00Z",	     /* month 13 */
		"2025-00-01T00:00:00Z",	     /* month 0 */
		"2025-11-00T00:00:00Z",	     /* day 0 */
		"2025-02-29T00:00:00Z",	     /* not a leap year */
		"2100-02-29T00:00:00Z",	     /* not a leap year either */
		"2025-04-31T00:00:00Z",	     /* April has 30 days */
		"1969-12-31T23:59:59Z",	     /* before the epoch */
		"1970-01-01T00:30:00+01:00", /* before the epoch by its offset */
		"2554-07-21T23:34:33Z",	     /* its fraction could overflow 64-bit ns */
		"2555-01-01T00:00:00Z",	     /* past 64-bit ns */
		"9999-12-31T23:59:59Z",	     /* far past 64-bit ns */
		"+2025-11-23T12:07:00Z",     /* a sign */
		"2025-1-23T12:07:00Z",	     /* one-digit month */
		"2025-11-23X12:07:00Z",	     /* another separator */
		"2025-11-23T1:07:00Z",	     /* one-digit hour */
		"ï¼ï¼ï¼ï¼-11-23T12:07:00Z", /* wide digits */
	};
	static const struct {
		const char *s;
		uint64_t ns;
		const char *what;
	} good[] = {
		{ "2025-11-23T12:07:00.123Z", 1763899620123000000ull, "milliseconds" },
		{ "2025-11-23T12:07:00Z", 1763899620000000000ull, "no fraction" },
		{ "2025-11-23T12:07:00.1Z", 1763899620100000000ull,
		  "one fractional digit is tenths" },
		{ "2025-11-23T12:07:00.123456789Z", 1763899620123456789ull, "nanoseconds" },
		{ "2025-11-23T12:07:00.1234567891999Z", 1763899620123456789ull,
		  "digits past nanoseconds are cut, not rounded" },
		{ "2025-11-23T14:07:00+02:00", 1763899620000000000ull,
		  "a positive offset is taken off" },
		{ "2025-11-23T06:37:00.5-05:30", 1763899620500000000ull,
		  "a negative offset with minutes is added" },
		{ "2025-11-23t12:07:00z", 1763899620000000000ull, "lowercase t and z" },
		{ "2025-11-23 12:07:00Z", 1763899620000000000ull,
		  "a space for T (RFC 3339 allows it)" },
		{ "2025-11-24T00:30:00+00:30", 1763942400000000000ull,
		  "an offset across midnight" },
		{ "2016-12-31T23:59:60Z", 1483228800000000000ull,
		  "a leap second is the next minute's 0" },
		{ "2024-02-29T00:00:00Z", 1709164800000000000ull, "a leap day" },
		{ "2000-02-29T00:00:00Z", 951782400000000000ull, "2000 is a leap year" },
		{ "1970-01-01T00:00:00Z", 0, "the epoch" },
		{ "2554-07-21T23:34:32Z", 18446744072000000000ull,
		  "the last second 64-bit ns hold whole" },
	};
	uint64_t ns = 0;
	size_t fails = 0;

	for (size_t i = 0; i < VG_ARRAY_LEN(good); i++) {
		int rc = vg_parse_time(good[i].s, 0, &ns);

		TAP_OK(rc == 0 && ns == good[i].ns, "%s: %s (rc %d, %" PRIu64 ")", good[i].what,
		       good[i].s, rc, ns);
	}
	TAP_OK(vg_parse_time("2025-11-23", 0, &ns) == -EINVAL, "a bare date needs VG_TIME_DATE");
	TAP_OK(vg_parse_time("2025-11-23", VG_TIME_DATE, &ns) == 0 && ns == 1763856000000000000ull,
	       "with VG_TIME_DATE a date is its UTC midnight");
	TAP_OK(vg_parse_time("2025-11-23T12:07:00Z", VG_TIME_DATE, &ns) == 0 &&
		       ns == 1763899620000000000ull,
	       "with VG_TIME_DATE a full time still parses");
	TAP_OK(vg_parse_time("2025-11-23T", VG_TIME_DATE, &ns) == -EINVAL &&
		       vg_parse_time("2025-11-23Z", VG_TIME_DATE, &ns) == -EINVAL &&
		       vg_parse_time("2025-02-30", VG_TIME_DATE, &ns) == -EINVAL,
	       "with VG_TIME_DATE a date must be complete and real");
	TAP_OK(vg_parse_time(NULL, VG_TIME_DATE, &ns) == -EINVAL, "NULL refused");
	ns = 42;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++)
		if (vg_parse_time(bad[i], VG_TIME_DATE, &ns) != -EINVAL) {
			fails++;
			printf("# time '%s' accepted\n", bad[i]);
		}
	TAP_EQ_U64(fails, 0, "%zu invalid times refused", VG_ARRAY_LEN(bad));
	TAP_EQ_U64(ns, 42, "a refused time leaves the output alone");
}

static bool is_hex(char c)
{
	return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

static void test_uuid7(void)
{
	char ids[200][37];
	unsigned bad = 0, dups = 0;
	uint64_t before = vg_now_ns() / 1000000, after;

	for (int i = 0; i < 200; i++) {
		const char *u = ids[i];

		if (base_uuid7(ids[i]) != 0 || strlen(u) != 36) {
			bad++;
			continue;
		}
		for (int j = 0; j < 36; j++) {
			bool dash = j == 8 || j == 13 || j == 18 || j == 23;

			if (dash ? u[j] != '-' : !is_hex(u[j]))
				bad++;
		}
		if (u[14] != '7')
			bad++; /* version 7 */
		if (!strchr("89ab", u[19]))
			bad++; /* RFC 9562 variant 10xx */
	}
	after = vg_now_ns() / 1000000;
	TAP_EQ_U64(bad, 0, "200 UUIDv7: 8-4-4-4-12 lowercase hex, version 7, variant 10");
	for (int i = 0; i < 200; i++)
		for (int j = 0; j < i; j++)
			if (!strcmp(ids[i], ids[j]))
				dups++;
	TAP_EQ_U64(dups, 0, "all distinct");
	{
		/* The first 48 bits are the Unix time in ms when it was made. */
		char hex[13];
		uint64_t ms;

		memcpy(hex, ids[0], 8);
		memcpy(hex + 8, ids[0] + 9, 4);
		hex[12] = 0;
		ms = strtoull(hex, NULL, 16);
		TAP_OK(ms >= before && ms <= after, "timestamp field is the creation time in ms");
	}
}

static void test_files(void)
{
	char path[512], nested[512], *data = NULL, long_path[5000];
	size_t len;
	struct stat st;
	int rc;

	snprintf(nested, sizeof(nested), "%s/a/b/c", tmpdir);
	TAP_OK(base_mkdir_p(nested, 0700, NULL) == 0 && stat(nested, &st) == 0 && S_ISDIR(st.st_mode),
	       "mkdir -p creates nested directories");
	TAP_OK(base_mkdir_p(nested, 0700, NULL) == 0, "and is idempotent");
	snprintf(path, sizeof(path), "%s/a/file", tmpdir);
	rc = vg_write_file_atomic(path, "hello\n", 6, 0640);
	TAP_OK(rc == 0 && stat(path, &st) == 0 && (st.st_mode & 0777) == 0640 && st.st_size == 6,
	       "atomic write with an explicit mode");
	rc = vg_write_file_atomic(path, "bye", 3, 0600);
	TAP_OK(rc == 0 && vg_read_file(path, 100, &data, &len) == 0 && len == 3 &&
		       !strcmp(data, "bye"),
	       "atomic replace, read back NUL-terminated");
	vg_free(data);
	data = NULL;
	TAP_OK(vg_read_file(path, 2, &data, &len) == -EFBIG && data == NULL,
	       "reading more than max -> -EFBIG");
	snprintf(path, sizeof(path), "%s/a/empty", tmpdir);
	vg_write_file_atomic(path, "", 0, 0600);
	TAP_OK(vg_read_file(path, 100, &data, &len) == 0 && len == 0 && data && data[0] == 0,
	       "an empty file reads as an empty string");
	vg_free(data);
	snprintf(path, sizeof(path), "%s/missing", tmpdir);
	TAP_OK(vg_read_file(path, 100, &data, &len) == -ENOENT, "missing file -> -ENOENT");
	memset(long_path, 'a', sizeof(long_path) - 1);
	long_path[sizeof(long_path) - 1] = 0;
	TAP_OK(vg_path(path, sizeof(path), "%s", long_path) == -ENAMETOOLONG,
	       "vg_path too long -> -ENAMETOOLONG");
	TAP_OK(vg_path(path, 4, "%s", "abc") == 0 && vg_path(path, 4, "%s", "abcd") == -ENAMETOOLONG,
	       "vg_path boundary");
	TAP_OK(base_mkdir_p(long_path, 0700, NULL) == -ENAMETOOLONG, "mkdir -p of a too long path");
	TAP_OK(base_fsync_dir(tmpdir) == 0, "fsync a directory");
}

static void test_state_dir(void)
{
	char out[512];

	setenv("VIGIL_STATE_DIR", "/env/state", 1);
	setenv("XDG_STATE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	TAP_OK(base_state_dir("/override", out, sizeof(out)) == 0 && !strcmp(out, "/override"),
	       "override first");
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == 0 && !strcmp(out, "/env/state"),
	       "then $VIGIL_STATE_DIR");
	unsetenv("VIGIL_STATE_DIR");
	TAP_OK(base_state_dir("", out, sizeof(out)) == 0 && !strcmp(out, "/xdg/vigil"),
	       "then $XDG_STATE_HOME/vigil");
	setenv("XDG_STATE_HOME", "relative", 1);
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == 0 && !strcmp(out, "/home/u/.local/state/vigil"),
	       "a relative XDG_STATE_HOME is ignored: $HOME/.local/state/vigil");
	unsetenv("XDG_STATE_HOME");
	unsetenv("HOME");
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == -ENOENT, "nothing set -> -ENOENT");
	TAP_OK(base_state_dir("/x", out, 2) == -ENAMETOOLONG, "too long -> -ENAMETOOLONG");
}

static void test_secret(void)
{
	char path[512], err[256], *s = NULL;
	size_t len;
	int rc;

	snprintf(path, sizeof(path), "%s/secret", tmpdir);
	vg_write_file_atomic(path, "s3cret \t\r\n\n", 11, 0600);
	rc = vg_secret_load(path, &s, &len, err, sizeof(err));
	TAP_OK(rc == 0 && len == 6 && !strcmp(s, "s3cret"), "file secret, trailing whitespace stripped");
	vg_secret_free(s, len);
	chmod(path, 0604);
	rc = vg_secret_load(path, &s, &len, err, sizeof(err));
	TAP_OK(rc == -EPERM && !strstr(err, "s3cret"), "world-readable secret file refused (%s)", err);
	setenv("VG_TEST_SECRET", "from-env\n", 1);
	rc = vg_secret_load("env:VG_TEST_SECRET", &s, &len, err, sizeof(err));
	TAP_OK(rc == 0 && !strcmp(s, "from-env"), "env: secret");
	vg_secret_free(s, len);
	setenv("VG_TEST_SECRET", "", 1);
	TAP_OK(vg_secret_load("env:VG_TEST_SECRET", &s, &len, err, sizeof(err)) == -ENOENT,
	       "an empty variable counts as unset");
	rc = vg_secret_load("cmd:printf 'abc\\n'", &s, &len, err, sizeof(err));
	TAP_OK(rc == 0 && !strcmp(s, "abc") && len == 3, "cmd: secret");
	vg_secret_free(s, len);
	rc = vg_secret_load("cmd:echo leaked; exit 2", &s, &len, err, sizeof(err));
	TAP_OK(rc == -EIO && !strstr(err, "leaked"), "failing command, output not echoed (%s)", err);
	vg_secret_free(NULL, 0); /* harmless */
	{
		uint8_t k[16];

		memset(k, 0x55, sizeof(k));
		vg_wipe(k, sizeof(k));
		TAP_OK(k[0] == 0 && k[15] == 0, "vg_wipe zeroes");
		vg_wipe(NULL, 5);
	}
}

/* vg_key_spec: where vigild and vigil import find the ledger's keys. */
static void test_key_spec(void)
{
	char out[64], big[128];
	int rc;

	unsetenv(VG_SIGNING_KEY_ENV);
	rc = vg_key_spec(NULL, VG_SIGNING_KEY_ENV, "/st", "signing.key", out, sizeof(out));
	TAP_OK(rc == 1 && !strcmp(out, "file:/st/keys/signing.key"),
	       "nothing given: the state directory's key file, said to be the default (%s)", out);
	setenv(VG_SIGNING_KEY_ENV, "env:OTHER", 1);
	rc = vg_key_spec(NULL, VG_SIGNING_KEY_ENV, "/st", "signing.key", out, sizeof(out));
	TAP_OK(rc == 0 && !strcmp(out, "env:OTHER"), "the environment variable next (%s)", out);
	rc = vg_key_spec("cmd:pass key", VG_SIGNING_KEY_ENV, "/st", "signing.key", out,
			 sizeof(out));
	TAP_OK(rc == 0 && !strcmp(out, "cmd:pass key"), "an option or setting first (%s)", out);
	setenv(VG_SIGNING_KEY_ENV, "", 1);
	rc = vg_key_spec(NULL, VG_SIGNING_KEY_ENV, "/st", "signing.key", out, sizeof(out));
	TAP_OK(rc == 1 && !strcmp(out, "file:/st/keys/signing.key"),
	       "an empty variable counts as unset");
	unsetenv(VG_SIGNING_KEY_ENV);
	rc = vg_key_spec(NULL, VG_MAC_KEY_ENV, "/st", "mac.key", out, sizeof(out));
	TAP_OK(rc == 1 && !strcmp(out, "file:/st/keys/mac.key"), "the MAC key the same way");
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	TAP_OK(vg_key_spec(NULL, VG_MAC_KEY_ENV, big, "mac.key", out, sizeof(out)) ==
			       -ENAMETOOLONG &&
		       vg_key_spec(big, VG_MAC_KEY_ENV, "/st", "mac.key", out, sizeof(out)) ==
			       -ENAMETOOLONG,
	       "a spec too long for the buffer is refused");
}

static void test_alloc_failures(void)
{
	void *a, *b, *c, *d;
	struct vbuf v;
	unsigned unclean = 0, failed = 0;
	char path[512], err[256];

	vg_alloc_fail_after(2);
	a = vg_malloc(8);
	b = vg_calloc(2, 4);
	c = vg_realloc(NULL, 8);
	d = vg_strdup("x");
	vg_alloc_fail_after(-1);
	TAP_OK(a && b && !c && d, "fail_after(2): the 3rd allocation fails, the next succeeds again");
	vg_free(a);
	vg_free(b);
	vg_free(d);

	vg_alloc_fail_after(0);
	TAP_OK(vg_strdup("abc") == NULL, "vg_strdup fails cleanly");
	vg_alloc_fail_after(0);
	vbuf_init(&v, 100);
	TAP_OK(vbuf_append(&v, "abc", 3) == -ENOMEM && v.len == 0 && v.data == NULL,
	       "vbuf_append -> -ENOMEM, buffer unchanged");
	TAP_OK(vbuf_append(&v, "abc", 3) == 0 && v.len == 3, "and works once allocations succeed");
	vbuf_release(&v);
	vg_alloc_fail_after(-1);

	/* Every allocation of a few helpers fails in turn: each returns an
	 * error or succeeds, and nothing leaks (LeakSanitizer checks at exit). */
	snprintf(path, sizeof(path), "%s/alloc", tmpdir);
	vg_write_file_atomic(path, "abcdef", 6, 0600);
	for (long n = 0; n < 8; n++) {
		char *s = NULL;
		size_t len = 0;
		int rc;

		vg_alloc_fail_after(n);
		rc = vg_read_file(path, 1000, &s, &len);
		vg_alloc_fail_after(-1);
		if (rc == 0 ? !s || strcmp(s, "abcdef") : rc != -ENOMEM)
			unclean++;
		failed += rc != 0;
		vg_free(s);

		vg_alloc_fail_after(n);
		rc = vg_secret_load("cmd:echo key", &s, &len, err, sizeof(err));
		vg_alloc_fail_after(-1);
		if (rc == 0 ? !s || strcmp(s, "key") : rc != -ENOMEM && rc != -E2BIG)
			unclean++;
		failed += rc != 0;
		if (rc == 0)
			vg_secret_free(s, len);

		vg_alloc_fail_after(n);
		vbuf_init(&v, 1 << 20);
		for (int i = 0; i < 100 && (rc = vbuf_appendf(&v, "%0100d", i)) == 0; i++)
			;
		vg_alloc_fail_after(-1);
		if (rc != 0 && rc != -ENOMEM)
			unclean++;
		failed += rc != 0;
		vbuf_release(&v);
	}
	TAP_EQ_U64(unclean, 0, "injected allocation failures give -ENOMEM or success (%u failed)",
		   failed);
	TAP_OK(failed > 0, "some of them did fail");
}

int main(void)
{
	const char *t = getenv("TMPDIR");

	snprintf(tmpdir, sizeof(tmpdir), "%s/vigil-common-XXXXXX", t && *t ? t : "/tmp");
	if (!mkdtemp(tmpdir)) {
		TAP_OK(0, "temporary directory");
		return tap_done();
	}
	test_vbuf();
	test_hex();
	test_sha256();
	test_base64();
	test_le();
	test_parse();
	test_time();
	test_parse_time();
	test_uuid7();
	test_files();
	test_secret();
	test_key_spec();
	test_alloc_failures();
	test_state_dir(); /* last: it changes HOME */
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			printf("# cannot remove %s\n", tmpdir);
	}
	return tap_done();
}
