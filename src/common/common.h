/*
 * common.h - the small utilities every vigil subsystem shares: diagnostic
 * logging, allocation with failure injection, bounded growable buffers,
 * hex/base64 and little-endian encoding, time, UUIDv7, file helpers, state
 * directory resolution and secret loading.
 *
 * Contracts: functions return 0 (or a length) on success and a negative errno
 * on failure unless stated otherwise.  Nothing here keeps global state except
 * the diagnostic logger's level and the allocation-failure counter used by
 * tests.  Everything is thread-safe except vg_log_set_level() and
 * vg_alloc_fail_after(), which are meant to be called at start-up.
 */
#ifndef VIGIL_COMMON_H
#define VIGIL_COMMON_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <sys/types.h>

#include "base.h" /* the libc-only facts: state directory, ids, hex, FNV, agents */

#define VG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A data file embedded at build time by scripts/embed-rules (the rule pack,
 * the secret catalogue): its file name, its bytes (NUL-terminated) and
 * their count. */
struct vg_embedded_file {
	const char *name;
	const char *text;
	size_t len;
};

/* ---- diagnostic log (stderr); never the audit stream ---------------------- */

enum vg_log_level { VG_LOG_ERR = 0, VG_LOG_WARN, VG_LOG_INFO, VG_LOG_DEBUG };

void vg_log_set_level(enum vg_log_level level);
void vg_log_set_prefix(const char *prefix); /* e.g. "vigil"; not copied */
void vg_log(enum vg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define vg_err(...) vg_log(VG_LOG_ERR, __VA_ARGS__)
#define vg_warn(...) vg_log(VG_LOG_WARN, __VA_ARGS__)
#define vg_info(...) vg_log(VG_LOG_INFO, __VA_ARGS__)
#define vg_debug(...) vg_log(VG_LOG_DEBUG, __VA_ARGS__)

/* ---- memory --------------------------------------------------------------- */

/*
 * All allocations go through these so tests can make the Nth allocation fail
 * (vg_alloc_fail_after(n): the n+1-th call from now returns NULL; -1 disables).
 * They return NULL on failure and never abort.
 */
void *vg_malloc(size_t n);
void *vg_calloc(size_t count, size_t size);
void *vg_realloc(void *p, size_t n);
char *vg_strdup(const char *s);
void vg_free(void *p);
void vg_alloc_fail_after(long n);

/* Overwrite memory holding key material in a way the compiler keeps. */
void vg_wipe(void *p, size_t n);

/*
 * struct vbuf: a growable byte buffer with a hard limit fixed at init (curl's
 * dynbuf).  Appending past the limit fails with -E2BIG and leaves the buffer
 * unchanged.  The data is always NUL-terminated (not counted in len).
 */
struct vbuf {
	uint8_t *data;
	size_t len;
	size_t cap;
	size_t limit;
};

void vbuf_init(struct vbuf *b, size_t limit);
int vbuf_append(struct vbuf *b, const void *p, size_t n);
int vbuf_appendf(struct vbuf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int vbuf_reserve(struct vbuf *b, size_t extra);
void vbuf_reset(struct vbuf *b);
void vbuf_release(struct vbuf *b);

/* ---- encoding ------------------------------------------------------------- */

static inline void vg_put_le16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)v;
	p[1] = (uint8_t)(v >> 8);
}
static inline void vg_put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline void vg_put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}
static inline uint16_t vg_get_le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | (p[1] << 8));
}
static inline uint32_t vg_get_le32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}
static inline uint64_t vg_get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = (v << 8) | p[i];
	return v;
}

/* Standard base64 with padding; out must hold 4*ceil(n/3)+1 bytes. */
void vg_base64_encode(const uint8_t *in, size_t n, char *out);
/* Strict base64 decode; returns decoded length or -EINVAL / -E2BIG. */
int vg_base64_decode(const char *in, size_t inlen, uint8_t *out, size_t cap);

/* ---- digests ---------------------------------------------------------------- */

/* SHA-256 of n bytes at p; -EIO when OpenSSL fails. */
int vg_sha256(const void *p, size_t n, uint8_t out[32]);
/* The same as 64 lowercase hex digits and a NUL. */
int vg_sha256_hex(const void *p, size_t n, char out[65]);

/* ---- time and ids ----------------------------------------------------------- */

uint64_t vg_now_ns(void);  /* CLOCK_REALTIME, ns since the Unix epoch */
uint64_t vg_mono_ns(void); /* CLOCK_MONOTONIC */
/* RFC 3339 UTC with milliseconds, "2026-11-23T12:00:00.123Z"; out >= 32 bytes. */
void vg_format_time(uint64_t ns, char *out, size_t cap);
/*
 * Parses an RFC 3339 date-time with a zone into ns since the Unix epoch:
 * "2025-11-23T12:07:00.123Z", "2025-11-23T14:07:00+02:00" ('t' or a space for
 * 'T', 'z' for 'Z'; fractional seconds of any length, cut to ns).  With
 * VG_TIME_DATE a bare date "2025-11-23" is accepted too, as its UTC midnight.
 * -EINVAL for NULL, anything else, a time without a zone (it is ambiguous),
 * a day the month does not have, a time before 1970 or one past what
 * uint64_t ns holds (2554).  The one parser of event times, rule test cases
 * and --since/--until.
 */
#define VG_TIME_DATE 0x1u
int vg_parse_time(const char *s, unsigned flags, uint64_t *ns);
/* Parses a duration like "900", "15m", "2h", "1d" into seconds; -EINVAL. */
int vg_parse_duration(const char *s, uint64_t *seconds);
/* Parses a size like "64M", "1G", "4096" into bytes; -EINVAL. */
int vg_parse_size(const char *s, uint64_t *bytes);
/* Fills buf with cryptographically secure random bytes; -errno on failure. */
int vg_random(void *buf, size_t n);

/* ---- files and directories ------------------------------------------------ */

/* snprintf into a fixed buffer; -ENAMETOOLONG when it does not fit. */
int vg_path(char *out, size_t cap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/*
 * Checks that the state directory dir, and what vigil opens in it, belong to
 * the effective user and that no one else can change them (statedir.c has
 * the rules).  0, or -EPERM (or -errno) with a message in err that names the
 * path and the fix.  For writers: vigild, vigil import, vigil keys init.
 */
int vg_state_dir_check(const char *dir, char *err, size_t errcap);
/* Removes the unix socket at path if there is one of ours: 0 (also when
 * nothing is there), -EEXIST when path is not a socket, -EPERM when another
 * user owns it, or -errno.  Never removes anything else. */
int vg_unlink_socket(const char *path);
/*
 * Reads a whole file of at most max bytes into a new NUL-terminated buffer
 * (*out, caller frees with vg_free).  -EFBIG when the file is larger.
 */
int vg_read_file(const char *path, size_t max, char **out, size_t *len);
/*
 * Replaces path atomically and durably: writes a temporary file with the
 * given mode, fsyncs it, renames it over path and fsyncs the directory.
 */
int vg_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode);

/* ---- diagnostics -------------------------------------------------------------- */

/*
 * What a validator found wrong, as data rather than English: callers locate
 * it (a YAML file's line and column) from index and key, and decide by code,
 * never by parsing msg.  msg is the one line shown to people.
 */
enum vg_diag_code {
	VG_DIAG_NONE = 0,
	VG_DIAG_INVALID,     /* the value is malformed or out of range */
	VG_DIAG_UNKNOWN_KEY, /* key is not a key here (the diagnostic is about the key) */
	VG_DIAG_REQUIRED,    /* key is missing */
	VG_DIAG_NOT_HERE,    /* key exists but does not apply here */
	VG_DIAG_DUPLICATE,   /* a value that must be unique is not */
	VG_DIAG_TOO_MANY,    /* more entries than the limit */
	VG_DIAG_NOMEM,
};

struct vg_diag {
	const char *file;	/* filled by whoever knows the source; NULL: none */
	int line, col;		/* 1-based; 0: unknown */
	long index;		/* the list element it is about (a channel); -1: none */
	char section[32];	/* the configuration section ("alerts"); "" : none */
	char key[64];		/* the key inside the element or section; "": none */
	enum vg_diag_code code;
	char msg[512];
};

/* Resets d to "nothing found" (index -1, empty strings). */
void vg_diag_clear(struct vg_diag *d);
/* Sets d's code, index, section, key and its message from fmt. */
void vg_diag_set(struct vg_diag *d, enum vg_diag_code code, long index, const char *section,
		 const char *key, const char *fmt, ...) __attribute__((format(printf, 6, 7)));

/* ---- secrets --------------------------------------------------------------- */

#define VG_SECRET_MAX 65536

/*
 * Loads secret material named by spec:
 *   "file:PATH" or a plain path  the file's contents (must not be readable by
 *                                group or others);
 *   "env:NAME"                   the value of environment variable NAME;
 *   "cmd:COMMAND"                what COMMAND (run by /bin/sh) prints, e.g. a
 *                                secrets manager's CLI; it must exit 0.
 * Trailing whitespace is stripped.  *out is NUL-terminated, at most
 * VG_SECRET_MAX bytes, and must be released with vg_secret_free().  On error a
 * one-line reason is written to err (never the secret itself).
 */
int vg_secret_load(const char *spec, char **out, size_t *len, char *err, size_t errcap);
void vg_secret_free(char *s, size_t len);

/* The environment variables that name the ledger's keys (vg_key_spec). */
#define VG_SIGNING_KEY_ENV "VIGIL_SIGNING_KEY"
#define VG_MAC_KEY_ENV "VIGIL_MAC_KEY"

/*
 * The spec (vg_secret_load's form) of one of the ledger's keys, as every
 * writer (vigild, vigil import) finds it: given (an option or a setting)
 * when not NULL; else the environment variable env (VG_*_KEY_ENV) when set
 * and not empty; else "file:STATE_DIR/keys/FILE" (file: the ledger's
 * LEDGER_*_KEY_FILE).  Returns 1 when it is that default (the caller can
 * say "run vigil keys init" when the file is missing), 0 otherwise, or
 * -ENAMETOOLONG when the spec does not fit in cap.
 */
int vg_key_spec(const char *given, const char *env, const char *state_dir, const char *file,
		char *out, size_t cap);

/* Sources under src/ are built with VIGIL_SRC defined: no unbounded string
 * functions there. */
#ifdef VIGIL_SRC
#include "banned.h"
#endif

#endif /* VIGIL_COMMON_H */
