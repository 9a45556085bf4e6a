/*
 * test_base.c - src/base, the libc-only facts every part of vigil shares:
 * the state directory, directories made and synced, UUIDv7, hex, FNV-1a
 * and the agent list.  Links libvigil_base alone, as vigil-hook does.
 */
#include "base.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static void test_state_dir(void)
{
	char out[4096];

	setenv("VIGIL_STATE_DIR", "/srv/vigil-state", 1);
	setenv("XDG_STATE_HOME", "/xdg", 1);
	setenv("HOME", "/home/u", 1);
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == 0 && strcmp(out, "/srv/vigil-state") == 0,
	       "VIGIL_STATE_DIR wins");
	unsetenv("VIGIL_STATE_DIR");
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == 0 && strcmp(out, "/xdg/vigil") == 0,
	       "then XDG_STATE_HOME/vigil");
	setenv("XDG_STATE_HOME", "relative", 1);
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == 0 && strcmp(out, "/home/u/.local/state/vigil") == 0,
	       "a relative XDG_STATE_HOME is ignored (XDG spec)");
	unsetenv("XDG_STATE_HOME");
	TAP_OK(base_state_dir(NULL, out, sizeof(out)) == 0 && strcmp(out, "/home/u/.local/state/vigil") == 0,
	       "then HOME/.local/state/vigil");
	unsetenv("HOME");
	TAP_EQ_U64(base_state_dir(NULL, out, sizeof(out)), -ENOENT, "no HOME: ENOENT");
	setenv("HOME", "/home/u", 1);
	TAP_EQ_U64(base_state_dir(NULL, out, 5), -ENAMETOOLONG, "state dir does not fit");
	TAP_OK(base_state_dir("/given", out, sizeof(out)) == 0 && strcmp(out, "/given") == 0,
	       "an override wins over everything");
	TAP_OK(base_state_dir("", out, sizeof(out)) == 0 &&
		       strcmp(out, "/home/u/.local/state/vigil") == 0,
	       "an empty override is no override");
}

static void test_dirs(void)
{
	char dir[256], nested[300];
	struct stat st;
	bool created = true;

	snprintf(dir, sizeof(dir), "%s/vigil-base-XXXXXX", getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	TAP_OK(mkdtemp(dir) != NULL, "a temporary directory");
	snprintf(nested, sizeof(nested), "%s/a/b/c", dir);
	TAP_OK(base_mkdir_p(nested, 0700, &created) == 0 && created && stat(nested, &st) == 0 &&
		       S_ISDIR(st.st_mode) && (st.st_mode & 0777) == 0700,
	       "mkdir -p makes every component, mode 0700, and says the last was made");
	TAP_OK(base_mkdir_p(nested, 0700, &created) == 0 && !created,
	       "again: nothing made, no error");
	TAP_OK(base_mkdir_p(nested, 0700, NULL) == 0, "created may be NULL");
	TAP_OK(base_mkdir_p("", 0700, NULL) == -ENAMETOOLONG, "an empty path is refused");
	TAP_OK(base_fsync_dir(nested) == 0, "fsync of a directory");
	TAP_OK(base_fsync_dir("/nonexistent/vigil-base") == -ENOENT, "fsync of a missing one: -ENOENT");
	snprintf(nested, sizeof(nested), "rm -rf '%s'", dir);
	TAP_OK(system(nested) == 0, "cleaned up");
}

static bool uuid_shape(const char *u)
{
	if (strlen(u) != BASE_UUID_LEN || u[8] != '-' || u[13] != '-' || u[18] != '-' ||
	    u[23] != '-' || u[14] != '7' || !strchr("89ab", u[19]))
		return false;
	for (int i = 0; i < BASE_UUID_LEN; i++)
		if (u[i] != '-' && !strchr("0123456789abcdef", u[i]))
			return false;
	return true;
}

static void test_uuid7(void)
{
	uint8_t rnd[16];
	char a[BASE_UUID_LEN + 1], b[BASE_UUID_LEN + 1];

	memset(rnd, 0xff, sizeof(rnd));
	base_uuid7_from(a, 0x0123456789abull, rnd);
	TAP_OK(strcmp(a, "01234567-89ab-7fff-bfff-ffffffffffff") == 0,
	       "time in the first 48 bits, version 7, variant 10 (%s)", a);
	memset(rnd, 0, sizeof(rnd));
	base_uuid7_from(a, 1, rnd);
	TAP_OK(strcmp(a, "00000000-0001-7000-8000-000000000000") == 0, "all-zero random (%s)", a);
	TAP_OK(base_uuid7(a) == 0 && base_uuid7(b) == 0 && uuid_shape(a) && uuid_shape(b) &&
		       strcmp(a, b) != 0,
	       "two fresh ids: well formed and distinct (%s, %s)", a, b);
	TAP_OK(strncmp(a, b, 8) <= 0, "and ordered by time");
}

static void test_hex(void)
{
	const uint8_t in[] = { 0x00, 0x7f, 0x80, 0xff, 0xa5 };
	uint8_t out[5];
	char hex[11];

	base_hex_encode(in, sizeof(in), hex);
	TAP_OK(strcmp(hex, "007f80ffa5") == 0, "hex encode, lowercase (%s)", hex);
	TAP_OK(base_hex_decode("007F80FFa5", 10, out, 5) == 0 && memcmp(out, in, 5) == 0,
	       "hex decode, either case");
	TAP_OK(base_hex_decode("007f80ffa", 9, out, 5) == -EINVAL, "an odd length is refused");
	TAP_OK(base_hex_decode("007f80ffg5", 10, out, 5) == -EINVAL, "a non-digit is refused");
	TAP_OK(base_hexval('0') == 0 && base_hexval('9') == 9 && base_hexval('a') == 10 &&
		       base_hexval('F') == 15 && base_hexval('g') == -1 && base_hexval('\0') == -1,
	       "hexval of digits and non-digits");
}

static void test_fnv(void)
{
	/* The FNV-1a 64 test vectors of the reference (isthe.com/chongo/tech/comp/fnv). */
	TAP_OK(base_fnv1a("", 0) == 0xcbf29ce484222325ull, "fnv1a(\"\")");
	TAP_OK(base_fnv1a("a", 1) == 0xaf63dc4c8601ec8cull, "fnv1a(\"a\")");
	TAP_OK(base_fnv1a("foobar", 6) == 0x85944171f73967e8ull, "fnv1a(\"foobar\")");
	TAP_OK(base_fnv1a_str("foobar") == base_fnv1a("foobar", 6), "the string form agrees");
}

static void test_agents(void)
{
	char list[128];

	TAP_OK(base_agent_known("claude-code") && base_agent_known("other") &&
		       !base_agent_known("Claude") && !base_agent_known(NULL),
	       "known agents, exactly");
	TAP_OK(strcmp(BASE_AGENT_DEFAULT, base_agents[0]) == 0, "the default is listed first");
	base_agent_list(list, sizeof(list));
	TAP_OK(strcmp(list, "claude-code, codex, gemini, cursor, copilot or other") == 0,
	       "the list for messages (%s)", list);
	base_agent_list(list, 10);
	TAP_OK(strlen(list) < 10, "a short buffer is not overrun");
}

int main(void)
{
	test_state_dir();
	test_dirs();
	test_uuid7();
	test_hex();
	test_fnv();
	test_agents();
	return tap_done();
}
