/*
 * base.h - the facts every part of vigil must agree on, in C and libc only:
 * vigil-hook links nothing else, and the daemon, the CLI and the hook must
 * never disagree on where the state directory is, what an event id looks
 * like or which agents exist.  Each fact has this one home; src/common
 * builds on it for what needs more than libc.
 *
 * Contracts: functions return 0 on success and a negative errno on failure
 * unless stated otherwise; none keeps state; all are thread-safe.
 */
#ifndef VIGIL_BASE_H
#define VIGIL_BASE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

/* ---- the state directory ---------------------------------------------------- */

/*
 * Resolves the state directory: override (--state-dir) if given and not
 * empty, else $VIGIL_STATE_DIR, else $XDG_STATE_HOME/vigil (when absolute),
 * else $HOME/.local/state/vigil.  -ENOENT when none is set, -ENAMETOOLONG
 * when it does not fit in cap.
 */
int base_state_dir(const char *override, char *out, size_t cap);

/* ---- directories ---------------------------------------------------------------- */

/*
 * mkdir -p with mode for every component made; an existing directory is
 * fine.  *created (may be NULL) says whether the last component was made
 * by this call (the caller then fsyncs its parent).  -ENAMETOOLONG beyond
 * 4095 bytes, -errno of mkdir otherwise.
 */
int base_mkdir_p(const char *path, mode_t mode, bool *created);
/* fsync of a directory, so that entries made in it survive a crash. */
int base_fsync_dir(const char *dir);

/* ---- event ids ---------------------------------------------------------------------- */

#define BASE_UUID_LEN 36 /* characters, without the NUL */

/*
 * A UUIDv7 (RFC 9562) from ms since the Unix epoch and 16 random bytes (the
 * first 6 and the version and variant bits are overwritten), as 36
 * lowercase characters and a NUL.
 */
void base_uuid7_from(char out[BASE_UUID_LEN + 1], uint64_t ms, const uint8_t rnd[16]);
/* The same with the real-time clock and getrandom(); -errno without entropy. */
int base_uuid7(char out[BASE_UUID_LEN + 1]);

/* ---- hex ------------------------------------------------------------------------------ */

/* The value of one hex digit (either case), or -1. */
static inline int base_hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}
/* Lowercase hex; out must hold 2*n+1 bytes. */
void base_hex_encode(const uint8_t *in, size_t n, char *out);
/* Decodes exactly 2*n hex digits from in (either case); -EINVAL otherwise. */
int base_hex_decode(const char *in, size_t inlen, uint8_t *out, size_t n);

/* ---- FNV-1a (64 bits) ------------------------------------------------------------------ */

/*
 * For hash tables private to a process, never for anything an attacker
 * must not collide (it is not keyed).  Inline: tables hash on hot paths.
 */
#define BASE_FNV_OFFSET 0xcbf29ce484222325ull
#define BASE_FNV_PRIME 0x100000001b3ull

static inline uint64_t base_fnv1a_step(uint64_t h, uint8_t c)
{
	return (h ^ c) * BASE_FNV_PRIME;
}
static inline uint64_t base_fnv1a(const void *p, size_t n)
{
	const uint8_t *b = p;
	uint64_t h = BASE_FNV_OFFSET;

	for (size_t i = 0; i < n; i++)
		h = base_fnv1a_step(h, b[i]);
	return h;
}
static inline uint64_t base_fnv1a_str(const char *s)
{
	uint64_t h = BASE_FNV_OFFSET;

	for (; *s; s++)
		h = base_fnv1a_step(h, (uint8_t)*s);
	return h;
}

/* ---- agents ------------------------------------------------------------------------------ */

/* The agent an event comes from when nothing says otherwise. */
#define BASE_AGENT_DEFAULT "claude-code"

/* The agents vigil knows, NULL-terminated, in the order help texts list them. */
extern const char *const base_agents[];
/* Whether name is one of base_agents. */
bool base_agent_known(const char *name);
/* "claude-code, codex, gemini, cursor, copilot or other" into buf (cut to cap). */
void base_agent_list(char *buf, size_t cap);

#endif /* VIGIL_BASE_H */
