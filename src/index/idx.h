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
#define IDX_SCHEMA_VERSION 3
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
/* SQLite's quick_check over the whole file: 0 when it is sound, -EBADMSG
 * when it is damaged (err says how), another -errno when it could not run. */
int idx_quick_check(struct idx *ix, char *err, size_t errcap);
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
	const char *decision;	/* the event's decision.action: allow, deny or ask */
	const char *rule;	/* events a rule matched (their detections): the rule's
				   id or its name, exactly */
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
	const char *decision, *decision_rule; /* the event's decision.action and .rule_id */
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

/* ---- alerts (alerts.c) ------------------------------------------------------- */

/*
 * Alerts are ledger events of event_type "alert" whose "alert" object
 * (docs/alerts.md) describes one alert: a stable id, its rule, level, state,
 * session, first/last seen, count and the events that matched.  Every record
 * of an alert (open, match, acknowledge, resolve) is an event row as well;
 * the alerts table keeps one row per alert id, from the record with the
 * highest seq (an older record never overwrites a newer one), and
 * alert_events every event id any of its records named.
 */

/* Alert levels (Sigma's), as stored in alerts.level_num. */
enum idx_level { IDX_LEVEL_INFORMATIONAL = 0, IDX_LEVEL_LOW, IDX_LEVEL_MEDIUM, IDX_LEVEL_HIGH,
		 IDX_LEVEL_CRITICAL, IDX_LEVEL__COUNT };
/* Alert states, as bits for struct idx_alert_filter.states. */
enum idx_alert_state { IDX_ALERT_OPEN = 1, IDX_ALERT_ACKNOWLEDGED = 2, IDX_ALERT_RESOLVED = 4 };
/* Limits on what one alert record may put into the index. */
#define IDX_ALERT_MAX_EVENT_IDS 1000u /* event ids taken from one record */
#define IDX_ALERT_MAX_ID 128u	      /* bytes of an alert id */

/** "informational", "low", "medium", "high", "critical" <-> enum idx_level;
 * idx_level_parse also takes "info" and returns -EINVAL for another word. */
const char *idx_level_name(int level);
int idx_level_parse(const char *s);
/** "open" / "acknowledged" / "resolved" -> enum idx_alert_state bit;
 * -EINVAL for another word. */
int idx_alert_state_parse(const char *s);

/** Filters of `vigil alerts show`; zero values mean "any". */
struct idx_alert_filter {
	int min_level;		 /* enum idx_level; applies when > 0 */
	int exact_level;	 /* enum idx_level + 1; 0: any */
	unsigned states;	 /* enum idx_alert_state bits; 0: every state */
	const char *session;	 /* session id or prefix of one */
	const char *rule;	 /* the rule's id or its name, exactly */
	uint64_t since_ns, until_ns; /* alerts seen in [since, until): last >= since,
					first < until; 0: unbounded */
	uint64_t limit;		 /* at most this many; 0: no limit */
};

/** One alert as indexed; strings are NULL when absent and valid only
 * during the callback. */
struct idx_alert {
	const char *alert_id, *rule_id, *rule_title, *rule_kind, *level, *action, *decision,
		*state, *session_id, *agent, *project, *first_seen, *last_seen, *reason,
		*updated_by, *note;
	const char *rule_name; /* the rule's name (vigil-exfil-sequence); NULL: it has none */
	const char *tags_json, *event_ids_json; /* JSON arrays of strings, or NULL */
	int level_num;				/* enum idx_level */
	uint64_t first_ns, last_ns, count;
	uint64_t first_seq, last_seq; /* the first and the newest record of the alert */
	uint64_t acknowledged_ns, resolved_ns; /* first acknowledge / resolve; 0: none */
	uint64_t events;		       /* rows in alert_events */
};
typedef int (*idx_alert_fn)(void *arg, const struct idx_alert *a);

/**
 * Calls fn for each alert matching f, newest first (by last seen, then id).
 * -errno (err says why) on failure, or fn's non-zero return.
 */
int idx_alerts(struct idx *ix, const struct idx_alert_filter *f, idx_alert_fn fn, void *arg,
	       char *err, size_t errcap);
/**
 * Resolves an alert id or a unique prefix of one (like git's short hashes)
 * into out (cap bytes): -ENOENT none matches, -ENOTUNIQ more than one does,
 * -ENAMETOOLONG, -errno on an SQLite failure.
 */
int idx_alert_resolve(struct idx *ix, const char *prefix, char *out, size_t cap);
/** Calls fn once for the alert with this exact id; -ENOENT when unknown. */
int idx_alert_get(struct idx *ix, const char *alert_id, idx_alert_fn fn, void *arg);
/**
 * The shortest prefix of alert_id, at least min_len characters, that no
 * other indexed alert id starts with (UUIDv7s made in the same minute share
 * their first 8 characters).  Returns the length; the whole id's when it
 * is unknown; -errno on failure.
 */
int idx_alert_abbrev(struct idx *ix, const char *alert_id, size_t min_len);
/**
 * The indexed events an alert's records named, in seq order (event ids not
 * in the index, e.g. not indexed yet, are left out).
 */
int idx_alert_events(struct idx *ix, const char *alert_id, idx_event_fn fn, void *arg);

#define IDX_ALERT_STATS_MAX_DAYS 366u
#define IDX_ALERT_STATS_MAX_RULES 100u
/** Alert counts over the last `days` UTC days (today included), by the
 * day an alert was first seen. */
struct idx_alert_stats {
	uint64_t since_ns;	   /* the first day's midnight (UTC) */
	uint64_t total;		   /* alerts first seen since since_ns */
	uint64_t by_level[IDX_LEVEL__COUNT];
	uint64_t open, acknowledged, resolved; /* of total, by current state */
	uint64_t open_now;		       /* open alerts, whenever first seen */
	uint64_t acked_n, resolved_n;	       /* of total: ever acknowledged / resolved */
	double mtta_s, mttr_s; /* mean seconds from first seen to the first acknowledge /
				  resolve over those; < 0 when none */
	size_t ndays;	       /* days, oldest first */
	struct idx_alert_day {
		uint64_t day_ns; /* midnight UTC */
		uint64_t total, by_level[IDX_LEVEL__COUNT];
	} day[IDX_ALERT_STATS_MAX_DAYS];
	size_t nrules; /* rules by number of alerts, most first */
	bool rules_truncated;
	struct idx_alert_rule_count {
		char rule_id[128], rule_title[160];
		char rule_name[IDX_ALERT_MAX_ID + 1]; /* "" when the rule has no name */
		int level_num; /* the highest level of its alerts */
		uint64_t total, open;
	} rule[IDX_ALERT_STATS_MAX_RULES];
};
/**
 * Fills *out (about 40 KiB: allocate it) for `days` days (1 to
 * IDX_ALERT_STATS_MAX_DAYS) ending with the day of now_ns.  -EINVAL for a
 * bad day count; -errno (err says why) on failure.
 */
int idx_alert_stats(struct idx *ix, unsigned days, uint64_t now_ns, struct idx_alert_stats *out,
		    char *err, size_t errcap);

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

#endif /* VIGIL_IDX_H */
