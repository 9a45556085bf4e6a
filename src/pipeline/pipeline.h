/*
 * pipeline.h - vigil's capture pipeline.  For now: the event normalizer,
 * which turns one agent hook's stdin payload (raw JSON bytes) plus the facts
 * the hook adds (the envelope) into one event object of schema v1
 * (docs/event-schema.md): classified (event_type), with the project scope
 * checked, secrets redacted and long strings truncated.
 *
 * The normalizer is pure: no I/O, no global state, no filesystem access
 * (paths are resolved lexically).  A struct norm_ctx is immutable after
 * norm_ctx_new(), so one context may be shared by threads.
 *
 * Errors: functions return 0 on success or a negative errno.  Functions that
 * take (char *err, size_t errcap) also write a one-line reason there.
 */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NORM_SCHEMA "vigil.event.v1"
#define NORM_DEFAULT_MAX_STRING 2000u
#define NORM_DEFAULT_MAX_INPUT (1024u * 1024u)

/** Options; zero values mean the defaults. */
struct norm_options {
	size_t max_string; /* longer payload strings are truncated (bytes); 2000 */
	size_t max_input;  /* larger payloads are refused with -E2BIG; 1 MiB */
	const char *host;  /* NULL: gethostname() at norm_ctx_new() */
	const char *user;  /* NULL: the effective user's name at norm_ctx_new() */
};

struct norm_ctx;

/**
 * Creates a context (copies the options and strings).  -ENOMEM, -EINVAL
 * (max_string below 16).
 */
int norm_ctx_new(const struct norm_options *o, struct norm_ctx **out);
void norm_ctx_free(struct norm_ctx *c);

/** What the hook adds around the payload; every field is optional. */
struct norm_envelope {
	const char *id;		 /* event id (UUIDv7); NULL: a new one is made */
	uint64_t recv_ns;	 /* receive time; 0: now */
	const char *agent;	 /* "claude-code", "codex", ...; NULL: "claude-code" */
	const char *project_dir; /* CLAUDE_PROJECT_DIR; NULL: the payload's cwd */
	int64_t pid, ppid, uid;	 /* of the hook process; negative: unknown */
};

/**
 * Normalizes one hook payload (len bytes, need not be NUL-terminated).
 * env may be NULL.  On success *out is a new JSON object (the caller owns
 * the reference).  Errors: -E2BIG (payload over max_input), -EINVAL (empty,
 * not JSON, not a JSON object), -ENOMEM; err gets a one-line reason.
 * Unknown or missing hook names are not errors: they give event_type "other".
 */
int norm_event(const struct norm_ctx *c, const struct norm_envelope *env, const char *payload,
	       size_t len, json_t **out, char *err, size_t errcap);

/**
 * Redacts secrets in s (len bytes) into out (which is reset first), as
 * norm_event does for every payload string.  Returns the number of
 * redactions (0: out holds a copy of s) or -ENOMEM / -E2BIG.  Runs in time
 * linear in len.
 */
struct vbuf;
int norm_redact(const char *s, size_t len, struct vbuf *out);

/**
 * Resolves path against base lexically (".", ".." and duplicate slashes;
 * no filesystem access) into out (an absolute path).  -EINVAL when neither
 * is absolute, -ENAMETOOLONG when it does not fit in cap.
 */
int norm_path(const char *base, const char *path, char *out, size_t cap);

#endif /* VIGIL_PIPELINE_H */
