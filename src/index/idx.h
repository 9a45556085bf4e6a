/*
 * idx.h - vigil's SQLite index: a derived, rebuildable view of the ledger's
 * events for fast queries (events, paired tool calls, sessions, the subagent
 * tree, full-text search).  The ledger stays the single source of truth; the
 * index can be deleted and rebuilt at any time (`vigil reindex`).  The
 * schema is documented in docs/index.md.
 *
 * Threads: a struct idx is one SQLite connection and must be used by one
 * thread at a time.  Writers (the daemon, reindex) open it read-write; the
 * query commands open it read-only and read through WAL while a writer runs.
 *
 * Errors: functions return 0 on success or a negative errno (-EIO for an
 * SQLite failure, -EBUSY when the database stayed locked past the busy
 * timeout, -EPROTO for a schema this build does not know, -ENOENT for a
 * missing index).  Functions that take (char *err, size_t errcap) also write
 * a one-line reason there.
 */
#ifndef VIGIL_IDX_H
#define VIGIL_IDX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The schema version stored in PRAGMA user_version. */
#define IDX_SCHEMA_VERSION 2
/* Risk severities, as stored in events.risk_rank / sessions.risk_rank. */
enum idx_risk { IDX_RISK_NONE = 0, IDX_RISK_INFO, IDX_RISK_LOW, IDX_RISK_MEDIUM,
		IDX_RISK_HIGH, IDX_RISK_CRITICAL };

struct idx;
enum { IDX_RDONLY = 1, IDX_CREATE = 2 };

/**
 * Opens the index at path.  IDX_CREATE creates the file and the schema when
 * missing (and migrates an older schema); IDX_RDONLY opens an existing index
 * read-only (SQLITE_OPEN_READONLY and PRAGMA query_only): -ENOENT when the
 * file does not exist, -EPROTO when its schema version is not this build's.
 * Write-mode connections use WAL.  *out must be released with idx_close().
 */
int idx_open(const char *path, unsigned flags, struct idx **out, char *err, size_t errcap);
/** Closes the connection (rolling back an unfinished idx_begin). NULL is ok. */
void idx_close(struct idx *ix);

/**
 * Batching: everything between idx_begin() and idx_commit() is one
 * transaction.  Without idx_begin, each idx_add is its own transaction.
 * Nesting is not supported (-EALREADY).  Inside a transaction the totals of
 * the sessions (the sessions table) are merged in memory and written by
 * idx_commit, so a query on the same connection before it sees the old
 * totals; idx_rollback forgets them.  An idx_commit that fails leaves the
 * transaction open: call idx_rollback.
 */
int idx_begin(struct idx *ix);
int idx_commit(struct idx *ix);
/** Abandons the open transaction, if any. */
void idx_rollback(struct idx *ix);

/**
 * Indexes one ledger EVENT record: its seq, the record's time (ns) and its
 * payload (len bytes of JSON, need not be NUL-terminated).  A seq already
 * indexed is skipped (returns 0).  A payload that is not a JSON object is
 * indexed as an event of event_type "invalid" with the reason in `error`
 * (never lost) and returns 0.  -errno on an SQLite failure (err says why).
 */
int idx_add(struct idx *ix, uint64_t seq, uint64_t rec_time_ns, const char *json, size_t len,
	    char *err, size_t errcap);
/**
 * idx_add() for a caller that has the payload parsed already (the daemon,
 * which built the event): event must be the JSON object that json (len
 * bytes, stored as the row's json) was serialized from.  It is only read,
 * and its reference count is taken and given back, so no other thread may
 * use it meanwhile.  Saves the parse, the largest single cost of idx_add.
 * -EINVAL when event is not an object.
 */
struct json_t;
int idx_add_event(struct idx *ix, uint64_t seq, uint64_t rec_time_ns, struct json_t *event,
		  const char *json, size_t len, char *err, size_t errcap);
/** The highest indexed seq, 0 when the index is empty. */
int idx_last_seq(struct idx *ix, uint64_t *seq);
/** 1 when an event with this id is indexed, 0 when not, -errno on failure. */
int idx_has_event(struct idx *ix, const char *id);

/**
 * Indexes every EVENT record of the ledger in ledger_dir whose seq is above
 * idx_last_seq(), committing in batches of IDX_SYNC_BATCH records.  The
 * ledger is read from that seq on (ledger_reader_open_at), so a sync that
 * finds little to do reads little.
 * progress(arg, records_done) is called after each batch (may be NULL).
 * Must not be called between idx_begin and idx_commit.  Damage in the
 * ledger stops the sync at the last good record (-EBADMSG, err says where);
 * what was indexed before it stays committed.
 */
#define IDX_SYNC_BATCH 5000u
int idx_sync_ledger(struct idx *ix, const char *ledger_dir,
		    void (*progress)(void *arg, uint64_t records), void *arg, char *err,
		    size_t errcap);
/**
 * idx_sync_ledger() from the record with seq from_seq on, adding the EVENT
 * records not yet indexed (seqs already there are skipped): for a writer
 * that knows it left a gap below idx_last_seq() (records it dropped while
 * later ones were indexed).  The ledger is read from from_seq only.
 */
int idx_sync_ledger_from(struct idx *ix, const char *ledger_dir, uint64_t from_seq,
			 void (*progress)(void *arg, uint64_t records), void *arg, char *err,
			 size_t errcap);

/* ---- queries (read-only connections are enough) --------------------------- */

/** Filters of `vigil events` / `vigil tail`; zero values mean "any". */
struct idx_filter {
	const char *session;	/* session id or prefix of one */
	bool session_exact;	/* session must match exactly */
	const char *tool, *hook, *event_type, *agent_id;
	int min_risk;		/* enum idx_risk; 0: any */
	bool outside_scope;	/* only events outside the project scope */
	uint64_t since_ns, until_ns; /* [since, until); 0: unbounded */
	const char *text;	/* words, all of which must occur (FTS5) */
	uint64_t after_seq;	/* only seq > after_seq */
	uint64_t limit;		/* the newest `limit` rows; 0: no limit */
};

/** One indexed event; every pointer is NULL when absent and valid only
 * during the callback. */
struct idx_event {
	uint64_t seq;
	uint64_t time_ns;
	const char *id, *session_id, *agent_id, *parent_agent_id, *hook, *event_type, *tool,
		*target, *outcome, *error, *risk, *project_root, *cwd, *prompt_id,
		*tool_use_id;
	int64_t duration_ms; /* -1: unknown */
	int outside_scope;   /* -1 unknown, 0 inside, 1 outside */
	const char *json;    /* the ledger payload as stored */
	size_t json_len;
};

/** Row callbacks return 0 to go on, anything else to stop (returned). */
typedef int (*idx_event_fn)(void *arg, const struct idx_event *ev);

/**
 * Calls fn for each event matching f, in seq order (when f->limit is set:
 * the newest f->limit matches, still oldest first).  -EINVAL (err says why)
 * for text that gives no searchable word.
 */
int idx_query_events(struct idx *ix, const struct idx_filter *f, idx_event_fn fn, void *arg,
		     char *err, size_t errcap);

struct idx_session {
	const char *session_id, *project_root, *cwd, *model, *agent, *agent_version, *risk,
		*end_reason;
	uint64_t first_ns, last_ns;
	uint64_t events, tool_calls, failures, abandoned, prompts, subagents;
	uint64_t files_changed; /* distinct paths written or edited */
	int ended; /* SessionEnd seen */
	int64_t input_tokens, output_tokens, cache_read_tokens, cache_creation_tokens,
		total_tokens; /* -1: unknown */
	double cost_usd;      /* < 0: unknown */
};
typedef int (*idx_session_fn)(void *arg, const struct idx_session *s);

/** Sessions active since since_ns (0: all), the newest `limit` (0: all) by
 * last activity, returned oldest first. */
int idx_sessions(struct idx *ix, uint64_t since_ns, uint64_t limit, idx_session_fn fn,
		 void *arg);
/**
 * Resolves a session id or unique prefix to the full id in out (cap bytes).
 * -ENOENT none matches, -ENOTUNIQ more than one does, -ENAMETOOLONG.
 */
int idx_session_resolve(struct idx *ix, const char *prefix, char *out, size_t cap);
/** Calls fn once for session id (exact); -ENOENT when unknown. */
int idx_session_get(struct idx *ix, const char *session_id, idx_session_fn fn, void *arg);

/** A Pre/Post pair (or a lone Post, or a Pre still pending). */
struct idx_tool_call {
	const char *session_id, *agent_id, *tool_use_id, *tool, *target, *outcome, *error;
	uint64_t pre_seq, post_seq; /* 0: not seen */
	uint64_t start_ns, end_ns;  /* 0: unknown */
	int64_t duration_ms;	    /* -1: unknown */
};
typedef int (*idx_tool_call_fn)(void *arg, const struct idx_tool_call *t);
/** The tool calls of a session, by first seq. */
int idx_tool_calls(struct idx *ix, const char *session_id, idx_tool_call_fn fn, void *arg);

struct idx_agent {
	const char *session_id, *agent_id, *agent_type, *parent_agent_id, *parent_tool_use_id;
	uint64_t start_ns, end_ns; /* 0: unknown */
	uint64_t start_seq, tool_calls;
};
typedef int (*idx_agent_fn)(void *arg, const struct idx_agent *a);
/** The subagents of a session, by first seq. */
int idx_agents(struct idx *ix, const char *session_id, idx_agent_fn fn, void *arg);

/** A file a tool call wrote or edited (from the event's file_change, else
 * the target of a successful Write/Edit/NotebookEdit). */
struct idx_file_change {
	uint64_t seq;
	const char *session_id, *agent_id, *tool_use_id, *tool, *path, *before_sha256,
		*after_sha256;
	int64_t lines_added, lines_removed; /* -1: unknown */
	int created;			    /* -1 unknown, 0 existed, 1 created */
};
typedef int (*idx_file_change_fn)(void *arg, const struct idx_file_change *f);
/** The file changes of a session, in seq order. */
int idx_file_changes(struct idx *ix, const char *session_id, idx_file_change_fn fn, void *arg);

/** Counts of the main tables, for `vigil reindex` and status output. */
struct idx_counts {
	uint64_t events, tool_calls, sessions, agents, invalid, last_seq;
};
int idx_counts(struct idx *ix, struct idx_counts *out);

/* ---- ad-hoc SQL (vigil sql) ------------------------------------------------ */

/** One result row: n columns; values[i] is NULL for SQL NULL; types[i] is
 * the SQLite type (SQLITE_INTEGER, ...).  Valid only during the callback. */
struct idx_sql_row {
	int n;
	const char *const *names;
	const char *const *values;
	const int *types;
	const size_t *lens;
};
typedef int (*idx_sql_fn)(void *arg, const struct idx_sql_row *row);

/**
 * Runs one read-only SQL statement on a connection opened with IDX_RDONLY:
 * statements that would write, attach, detach, change pragmas or load
 * extensions are refused with -EPERM before running; more than one statement
 * with -EINVAL; SQL errors with -EINVAL (err has SQLite's message).  At most
 * max_rows rows are passed to fn; *truncated says whether more existed.
 */
int idx_sql(struct idx *ix, const char *sql, uint64_t max_rows, idx_sql_fn fn, void *arg,
	    bool *truncated, char *err, size_t errcap);

/* ---- helpers ---------------------------------------------------------------- */

/** Checks --text words: 0, -EINVAL (no word), -E2BIG (query too long). */
int idx_text_check(const char *words);

/** "none", "info", "low", "medium", "high", "critical" <-> enum idx_risk;
 * idx_risk_parse returns -EINVAL for another word. */
const char *idx_risk_name(int rank);
int idx_risk_parse(const char *s);
/**
 * Parses an RFC 3339 time ("2025-11-23T12:07:00.123Z", "...+02:00", or a
 * date "2025-11-23" meaning its UTC midnight) into ns since the epoch.
 * -EINVAL otherwise.
 */
int idx_parse_time(const char *s, uint64_t *ns);

#endif /* VIGIL_IDX_H */
