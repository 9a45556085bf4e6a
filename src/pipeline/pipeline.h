/*
 * pipeline.h - vigil's capture pipeline.  For now: the event normalizer,
 * which turns one agent hook's stdin payload (raw JSON bytes) plus the facts
 * the hook adds (the envelope) into one event object of schema v1
 * (docs/event-schema.md): classified (event_type), with the project scope
 * checked, secrets redacted and long strings truncated.
 *
 * The normalizer is pure: no I/O, no filesystem access (paths are resolved
 * lexically), and no global state but the SHA-256 implementation OpenSSL
 * hands out once per process.  A struct norm_ctx is immutable after
 * norm_ctx_new(), so several threads may call norm_event() at once with one
 * shared context: each call keeps its working memory to itself.  Besides the
 * classification it computes, from the payload alone, file_change (SHA-256
 * before/after and lines added/removed for Write, Edit and MultiEdit),
 * usage (subagent tokens) and a baseline risk (risk.c), so re-normalizing a
 * stored payload (`vigil reindex`) gives the same event.
 *
 * Two helpers below touch the filesystem and are NOT pure: the daemon calls
 * them and hands the results in through the envelope (norm_project_root,
 * norm_transcript_version).  The pairer (struct pair) is the daemon's
 * state across events: Pre/Post pairing, the subagent tree, abandoned calls.
 *
 * Errors: functions return 0 on success or a negative errno.  Functions that
 * take (char *err, size_t errcap) also write a one-line reason there.
 */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include "schema.h" /* the event it makes: EV_SCHEMA_V1, the EVF_ field names */

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#define NORM_DEFAULT_MAX_STRING 2000u
/* vigil-hook's own limit on stdin (WIRE_MAX_PAYLOAD): a payload the hook
 * accepted is never refused for its size (large Write contents are normal). */
#define NORM_DEFAULT_MAX_INPUT (8u * 1024u * 1024u)

/** Options; zero values mean the defaults. */
struct norm_options {
	size_t max_string; /* longer payload strings are truncated (bytes); 2000 */
	size_t max_input;  /* larger payloads are refused with -E2BIG; 8 MiB */
	const char *host;  /* NULL: gethostname() at norm_ctx_new() */
	const char *user;  /* NULL: the effective user's name at norm_ctx_new() */
	const char *home;  /* the user's home, for ~ and $HOME in the scope check;
			      NULL: from the user's passwd entry (none: unknown) */
};

struct norm_ctx;

/**
 * Creates a context (copies the options and strings).  -ENOMEM, -EINVAL
 * (max_string below 16).
 */
int norm_ctx_new(const struct norm_options *o, struct norm_ctx **out);
void norm_ctx_free(struct norm_ctx *c);

/** Where the project root came from (project.source in the event). */
enum norm_project_source {
	NORM_PROJECT_DEFAULT = 0, /* envelope: "env" when project_dir is set, else "cwd" */
	NORM_PROJECT_ENV = 1,	  /* the hook's CLAUDE_PROJECT_DIR */
	NORM_PROJECT_GIT = 2,	  /* the git work tree around cwd */
	NORM_PROJECT_CWD = 3,	  /* the payload's cwd */
};

/** What the hook adds around the payload; every field is optional. */
struct norm_envelope {
	const char *id;		 /* event id (UUIDv7); NULL: a new one is made */
	uint64_t recv_ns;	 /* receive time; 0: now */
	const char *agent;	 /* one of base_agents; NULL: BASE_AGENT_DEFAULT */
	const char *project_dir; /* project root (norm_project_root()); NULL: the payload's cwd */
	int64_t pid, ppid, uid;	 /* of the hook process; negative: unknown */
	const char *agent_version;	       /* e.g. "2.1.197"; NULL: absent */
	enum norm_project_source project_source; /* how project_dir was found */
	/* For the record of an unparseable payload (norm_hook_event) only: */
	const char *hook_event; /* the hook's --event argument; NULL: none */
	const char *hook_cwd;	/* the hook process's cwd; NULL: unknown */
	unsigned flags;		/* NORM_RAW */
};

/*
 * NORM_RAW: the event keeps every string as the agent sent it, neither
 * redacted nor cut, so the rules judge what the agent really sent (a
 * secret in a command is evidence; a command's 2,001st byte may be the
 * dangerous one).  Such an event must go through norm_clean_event() before
 * it is stored, logged, answered or sent anywhere: vigild does that right
 * after the rules ran.  The record of an unparseable payload is always
 * clean (its text is cut and redacted from the start).
 */
#define NORM_RAW 1u
/* The longest string a NORM_RAW event keeps: the rules' regexes run over
 * every string, and a megabyte of padding must not make them take seconds.
 * A longer command is judged by its first 64 KiB (docs/rules.md). */
#define NORM_RAW_MAX_STRING (64u * 1024u)

/**
 * Normalizes one hook payload (len bytes, need not be NUL-terminated).
 * env may be NULL.  On success *out is a new JSON object (the caller owns
 * the reference).  Errors: -E2BIG (payload over max_input), -EINVAL (empty,
 * not JSON or UTF-8, a duplicate key, a lone surrogate, nesting deeper than
 * 2048, not a JSON object, or a field the event is derived from of the
 * wrong type or holding a NUL character: shape.c lists them), -ENOMEM; err
 * gets a one-line reason.  Unknown or missing hook names are not errors:
 * they give event_type "other"; missing fields leave event fields out.
 * A string that needed no redaction is shared, not copied, between the
 * payload and the fields taken from it (session_id and payload.session_id
 * are one JSON string): treat the event's strings as immutable (never
 * json_string_set() them); add or replace members instead.
 */
int norm_event(const struct norm_ctx *c, const struct norm_envelope *env, const char *payload,
	       size_t len, json_t **out, char *err, size_t errcap);

/** norm_hook_event()'s result for a payload norm_event() refuses. */
#define NORM_UNPARSEABLE 1

/**
 * One hook payload to the one event vigild records and `vigil rules test`
 * evaluates (both call this, so they cannot disagree about a payload):
 * norm_event()'s event, returning 0; or, when norm_event() refuses the
 * payload as unparseable (-EINVAL, -E2BIG), the record of an unparseable
 * payload, returning NORM_UNPARSEABLE with the reason in err: event_type
 * "invalid", "error" (the reason), "hook" (the payload's hook_event_name
 * when the JSON parsed and has a clean one, else env->hook_event, else
 * "unknown"), "tool" and "session_id" likewise, "payload_len",
 * "payload_sha256" of the bytes, their first max_string bytes redacted in
 * "payload_text" (or, not UTF-8, the first 256 bytes in "payload_hex"), and
 * id, time, host, user, agent, cwd and process from the context and env.
 * Other errors: -ENOMEM, -EIO (no hash or id).  *out is the caller's.
 */
int norm_hook_event(const struct norm_ctx *c, const struct norm_envelope *env,
		    const char *payload, size_t len, json_t **out, char *err, size_t errcap);

/*
 * A blocking hook's payload that cannot be parsed is decided by the policy
 * decisions.unparseable ("deny", "ask" or "allow"; docs/config.md) and
 * raises the built-in alert NORM_UNPARSEABLE_RULE (high).  vigild and
 * `vigil rules test` name it and word the reason the same way.
 */
#define NORM_UNPARSEABLE_RULE "vigil-unparseable-payload"
#define NORM_UNPARSEABLE_TITLE "vigil could not parse a blocking hook's payload"
#define NORM_UNPARSEABLE_POLICY_KEY "decisions.unparseable"

/**
 * The reason the agent reads for the record ev of an unparseable payload
 * (its "error") decided by policy ("deny", "ask", "allow"), e.g. "vigil
 * could not parse this tool call (duplicate key \"command\"); denied by
 * policy decisions.unparseable. ...".  Always NUL-terminates out.
 */
void norm_unparseable_reason(const json_t *ev, const char *policy, char *out, size_t cap);

/**
 * Redacts secrets in s (len bytes) into out (which is reset first), as
 * norm_event does for every payload string.  Returns the number of
 * redactions (0: out holds a copy of s) or -ENOMEM / -E2BIG.  Runs in time
 * linear in len.
 */
struct vbuf;
int norm_redact(const struct norm_ctx *c, const char *s, size_t len, struct vbuf *out);

/**
 * Redacts and cuts every string of ev in place (object keys too), as
 * norm_event() does for the payload: what a NORM_RAW event, an alert record
 * or any record built from one needs before it is stored or sent.  Returns
 * the number of redactions, or -ENOMEM.  Clean each record once: a cut
 * string would be cut again.
 */
int norm_clean_event(const struct norm_ctx *c, json_t *ev);

/** Deeper values are refused by norm_serialize (parsed payloads stop at 2048). */
#define NORM_SERIALIZE_MAX_DEPTH 4096

/**
 * Appends v's canonical JSON to out: exactly the bytes of jansson's
 * json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS) (object keys in ascending
 * byte order, no whitespace; serialize.c documents the form), which is what
 * the ledger stores, at a fraction of the cost: out is the caller's and may
 * be reused from event to event (vbuf_reset), so a warm buffer allocates
 * nothing.  Returns 0, -E2BIG (past out's limit), -ENOMEM, -ELOOP (nested
 * deeper than NORM_SERIALIZE_MAX_DEPTH) or -EINVAL (v is NULL); on error out
 * is left as it was.  Thread-safe for distinct buffers; v is only read.
 */
int norm_serialize(const json_t *v, struct vbuf *out);

/**
 * Resolves path against base lexically (".", ".." and duplicate slashes;
 * no filesystem access) into out (an absolute path).  -EINVAL when neither
 * is absolute, -ENAMETOOLONG when it does not fit in cap.
 */
int norm_path(const char *base, const char *path, char *out, size_t cap);

/* ---- filesystem helpers for the daemon (project.c; NOT pure) -------------- */

/**
 * Finds the project root for a hook call: project_dir (CLAUDE_PROJECT_DIR,
 * resolved against cwd when relative) when non-empty, else the nearest
 * directory at or above cwd holding a ".git" directory or file (at most 64
 * levels, not crossing a mount point: git's own rule), else cwd.  Writes the
 * lexically normalized absolute path to out.  Returns the source
 * (NORM_PROJECT_ENV, _GIT or _CWD, all positive) or -EINVAL (no usable
 * absolute path), -ENAMETOOLONG.  Costs a few stat() calls per level, so the
 * daemon may cache the answer per cwd.
 */
int norm_project_root(const char *cwd, const char *project_dir, char *out, size_t cap);

#define NORM_TRANSCRIPT_SCAN (64u * 1024u)

/**
 * Reads at most the first NORM_TRANSCRIPT_SCAN bytes of a Claude Code
 * transcript (JSONL) and copies the first top-level "version" string of a
 * complete line (e.g. "2.1.197") to out.  Only a regular file whose name
 * ends in ".jsonl" is read (never a FIFO or device: the path comes from a
 * payload); nothing the file names is followed.  A version must be 1-64
 * characters of [A-Za-z0-9.+_-].  Returns 0, -ENOENT (no version in the
 * scanned part), -EINVAL (not such a file), -ERANGE (out too small) or the
 * open()/read() error.
 */
int norm_transcript_version(const char *transcript_path, char *out, size_t cap);

/* ---- tool-call pairing (correlate.c) ------------------------------------------ */

/*
 * Options; zero values mean the defaults.  The limits bound the pairer's
 * memory whatever the events; why these defaults:
 *  - Pres wait for their Post only while the tool runs (seconds, a few at
 *    once per agent), but a Pre that was denied, or whose agent died, waits
 *    abandon_ns: 16 MiB hold about 8,000 Pres of Claude Code (about 2 KiB
 *    each as counted), 13 denied calls a second for the whole 10 minutes;
 *    20,000 keeps the hash map small should the Pres be tiny.
 *  - Sessions hold their agent_version and subagents for the session's
 *    life: 10,000 sessions, 8 MiB (a session costs about 200 bytes, a
 *    subagent about 150).
 * Past a limit the oldest Pre, or least recently seen session, is evicted
 * and reported as abandoned (reason "evicted"): no record is lost, a Post
 * that still comes is recorded unpaired.
 */
struct pair_options {
	uint64_t abandon_ns;	  /* a Pre with no Post after this is abandoned; 0: 10 minutes */
	size_t max_pending;	  /* Pres remembered; 0: 20,000 */
	size_t max_pending_bytes; /* bytes they may hold (as counted); 0: 16 MiB */
	size_t max_sessions;	  /* sessions remembered; 0: 10,000 */
	size_t max_session_bytes; /* bytes they may hold, subagents included; 0: 8 MiB */
};

/*
 * The pairer (struct pair): daemon-side state that enriches normalized events in
 * arrival order.  Not thread-safe: a correlator used from more than one
 * thread needs the caller's lock around every call (pair_apply,
 * pair_expire, pair_free); in vigild it has one owner, the event loop.  It
 * keeps references to the strings of the PreToolUse events it remembers
 * (no copies), which is safe because strings are never changed in place
 * (see norm_event) and jansson's reference counts are atomic.
 * Memory is bounded by the options, in count and in bytes: the oldest Pre
 * or the least recently seen session is evicted first, and an evicted Pre
 * is reported as abandoned.  Each session also remembers at most 1024
 * subagents.  Abandoned Pres wait for pair_expire() within the same limits
 * (past them the oldest is dropped unreported): call it as soon as
 * pair_stats() shows some waiting, not only from a timer.
 */
struct pair;

/** -ENOMEM, -EIO (no randomness for the hash seed). */
int pair_new(const struct pair_options *o, struct pair **out);
void pair_free(struct pair *c);

/**
 * Enriches a normalized event (norm_event()'s output) in place:
 *  - PreToolUse with a tool_use_id: remembered under (session_id, agent_id
 *    or "", tool_use_id) with its time (now_ns), tool and id.  Subagents
 *    reuse the main agent's tool_use_ids, hence the agent_id in the key.
 *  - PostToolUse / PostToolUseFailure (and PermissionDenied) with a
 *    remembered Pre: "pre_id" (the Pre's id) and "duration_ms" from now_ns
 *    when the payload gave none; outcome is kept.  Without one: "unpaired":
 *    true.
 *  - SubagentStart: "parent_tool_use_id" = the session's pending Agent/Task
 *    Pre not yet claimed by another subagent (the one whose subagent_type
 *    equals agent_type first, then the main agent's, then the oldest), and
 *    "parent_agent_id" = that Pre's agent_id (absent: the main agent).
 *    Every later event with that agent_id gets the same two fields; an
 *    Agent/Task PostToolUse with tool_response.agentId sets the mapping.
 *  - agent_version: remembered per session from the first event carrying
 *    it and copied to the session's later events that lack it.
 *  - SessionEnd: the session's state is dropped after enriching; its
 *    pending Pres are reported by the next pair_expire().
 * Returns 0, -EINVAL (ev is not an object) or -ENOMEM (ev may then be
 * partly enriched).  Events without a session_id are left alone, except
 * that a Post is marked unpaired; so are hook "vigil" events (the
 * correlator's own tool_abandoned events).
 */
int pair_apply(struct pair *c, json_t *ev, uint64_t now_ns);

/** What the pairer holds (bytes as counted: each allocation with its
 * overhead), and what its limits evicted. */
struct pair_stats {
	size_t pending, pending_bytes; /* Pres waiting for their Post */
	size_t doomed, doomed_bytes;   /* abandoned Pres pair_expire() has not reported yet */
	size_t sessions, session_bytes;
	uint64_t evicted_pres, evicted_sessions; /* by the limits, since pair_new() */
	uint64_t dropped; /* abandoned Pres dropped unreported (pair_expire() not called) */
};
void pair_stats(const struct pair *c, struct pair_stats *out);

/**
 * Reports abandoned Pres (older than abandon_ns at now_ns, or of ended or
 * evicted sessions, or evicted themselves): up to max new events, each a
 * complete schema-v1 object with hook "vigil", event_type
 * "tool_abandoned", outcome "abandoned", a new UUIDv7 id, time now_ns,
 * pre_id, duration_ms (now - the Pre's time) and the Pre's host, user,
 * agent, session, agent, tool_use_id, tool and target.  *n = how many were
 * written to out; the caller owns those references.  Returns 0, or -ENOMEM
 * / -EIO (*n still counts what was written; the rest stay for a later
 * call).  Call it from a timer (e.g. every few seconds) and after
 * SessionEnd.
 */
int pair_expire(struct pair *c, uint64_t now_ns, json_t **out, size_t max, size_t *n);

#endif /* VIGIL_PIPELINE_H */
