/*
 * idx_int.h - internals shared by the index's source files: the connection
 * struct with its cached prepared statements, and small SQLite helpers.
 */
#ifndef VIGIL_IDX_INT_H
#define VIGIL_IDX_INT_H

#include "common.h"
#include "idx.h"

#include <sqlite3.h>

/* Prepared statements of the ingest path, prepared on first use and kept
 * for the life of the connection (idx_add runs them for every event). */
enum idx_stmt {
	ST_HAS_SEQ,
	ST_INS_EVENT,
	ST_INS_FTS,
	ST_SESSION_UPSERT,
	ST_TC_GET,
	ST_TC_INS,
	ST_TC_UPD,
	ST_AGENT_UPSERT,
	ST_AGENT_GET,
	ST_AGENT_PARENT,
	ST_AGENT_GUESS,
	ST_AGENT_END,
	ST_FILE_CHANGE,
	ST_LAST_SEQ,
	ST_HAS_ID,
	ST_SAVEPOINT,
	ST_RELEASE,
	ST_ROLLBACK_TO,
	ST_ALERT_UPSERT, /* alerts.c: one alert record into its alerts row */
	ST_ALERT_EVENT,	 /* alerts.c: an (alert, event id) pair */
	ST_DETECTION,	 /* alerts.c: one detection of an event */
	ST__COUNT
};

/*
 * The ingest optimizations, each a bit so that bench/index_bench.c can turn
 * them off one by one and print what each is worth side by side.  idx_open()
 * always uses IDX_TUNE_ALL; nothing but the benchmark and the tests passes
 * anything else (idx_open_tuned).  The two schema bits only matter when the
 * schema is created.  IDX_TUNE_SYNC_OFF is measured but not used (see
 * writer_pragmas in schema.c).
 */
enum idx_tune {
	IDX_TUNE_PRAGMAS = 1u << 0,  /* bigger cache, temp_store, WAL limits (schema.c) */
	IDX_TUNE_STMTS = 1u << 1,    /* prepared savepoints; no seq probe past the max */
	IDX_TUNE_INDEXES = 1u << 2,  /* schema: the lean secondary index set */
	IDX_TUNE_FTS = 1u << 3,	     /* schema + ingest: FTS gets only the searched text */
	IDX_TUNE_SESSIONS = 1u << 4, /* session aggregates merged per transaction */
	IDX_TUNE_AGENTS = 1u << 5,   /* agent rows written only when they change */
	IDX_TUNE_SYNC_OFF = 1u << 6, /* synchronous=OFF instead of NORMAL (bench only) */
	IDX_TUNE_BINDS = 1u << 7,    /* strings bound without copies; one reused text buffer */
	IDX_TUNE_ALL = ((1u << 8) - 1) & ~IDX_TUNE_SYNC_OFF,
};

/* One session's aggregates, merged in memory over a transaction's events
 * and written with one upsert at idx_commit (IDX_TUNE_SESSIONS).  Strings
 * are owned copies; counts are deltas (abandoned may go down). */
struct sess_acc {
	const char *id;
	uint64_t first_ns, last_ns, first_seq, last_seq, events;
	const char *project_root, *cwd, *agent;	      /* the first one seen wins */
	const char *model, *agent_version, *end_reason; /* the last one seen wins */
	const char *risk;
	int risk_rank, ended;
	int64_t tool_calls, failures, abandoned, prompts, subagents;
	int64_t tokens[5]; /* input, output, cache read, cache creation, total; -1 unknown */
	double cost_usd;   /* < 0: unknown */
};

/* Sessions pending in the open transaction: an open-addressing table. */
struct sess_cache {
	struct sess_acc *slots; /* cap entries, id NULL when free */
	size_t cap, n;
	bool broken; /* an allocation failed mid-merge: the commit must fail */
};

struct idx {
	sqlite3 *db;
	bool rdonly;
	bool in_tx; /* inside idx_begin .. idx_commit */
	unsigned tune; /* enum idx_tune bits */
	/* The highest seq in events as far as this connection knows (valid when
	 * max_seq_known): a seq above it cannot be indexed yet, so idx_add skips
	 * the lookup.  Forgotten on rollback. */
	uint64_t max_seq;
	bool max_seq_known;
	struct sess_cache sc;
	struct vbuf fts; /* the full-text of the event being added (IDX_TUNE_BINDS) */
	sqlite3_stmt *st[ST__COUNT];
	char path[4096];
};

/* Limits on what one event may put into the index. */
#define IDX_MAX_FTS_TEXT (32u * 1024) /* message text fed to full-text search */
/* Sessions merged in memory before the transaction writes them out early. */
#define IDX_MAX_PENDING_SESSIONS 4096u
#define IDX_MAX_RAW_KEPT (64u * 1024) /* bytes of an unparsable payload kept */

/* idx_open() with a chosen set of enum idx_tune bits (the benchmark). */
int idx_open_tuned(const char *path, unsigned flags, unsigned tune, struct idx **out,
		   char *err, size_t errcap);

/* Adds one session's aggregates to its row (sessions.c).  -errno. */
int idx_session_write(struct idx *ix, const struct sess_acc *a, char *err, size_t errcap);
/* Merges one event's aggregates into the pending row of its session until
 * idx_commit (sessions.c).  -ENOMEM leaves the pending rows broken: the
 * transaction cannot commit. */
int idx_session_merge(struct idx *ix, const struct sess_acc *ev, char *err, size_t errcap);
/* Writes the pending session aggregates (sessions.c); idx_commit calls it.
 * Drops them either way.  -errno with err filled on failure. */
int idx_sessions_flush(struct idx *ix, char *err, size_t errcap);
/* Forgets the pending session aggregates (rollback, close). */
void idx_sessions_drop(struct idx *ix);

/* Writes "what: sqlite message" into err and maps the SQLite code to -errno. */
int idx_sqlerr(struct idx *ix, int rc, const char *what, char *err, size_t errcap);
/* Maps an SQLite result code to a negative errno. */
int idx_errno(int rc);
/* The cached statement, prepared on first use (reset, bindings cleared). */
sqlite3_stmt *idx_stmt(struct idx *ix, enum idx_stmt which, char *err, size_t errcap);
/* Runs SQL without results (schema, pragmas, transactions). */
int idx_exec(struct idx *ix, const char *sql, char *err, size_t errcap);

/* Steps a statement that returns nothing of use and resets it (ingest.c).
 * -errno with err filled ("what: sqlite message") on failure. */
int idx_step_done(struct idx *ix, sqlite3_stmt *st, const char *what, char *err, size_t errcap);
/* Binds a possibly-NULL string for one step of an ingest statement, without
 * a copy under IDX_TUNE_BINDS (ingest.c says why that is safe). */
void idx_bind_str(struct idx *ix, sqlite3_stmt *st, int i, const char *s);
/* Binds v, or NULL when v < 0 (unknown). */
void idx_bind_opt_int(sqlite3_stmt *st, int i, int64_t v);
/* Binds a possibly-NULL string; binding NULL when s is NULL. */
int idx_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Bind by parameter name (":sess"); a name the SQL does not use is skipped,
 * so the filter queries can build their WHERE clause piece by piece and
 * bind every value unconditionally. */
void idx_bind_named_text(sqlite3_stmt *st, const char *name, const char *v);
void idx_bind_named_int(sqlite3_stmt *st, const char *name, int64_t v);
/* An unsigned count or time as an SQLite integer, saturating at INT64_MAX. */
static inline int64_t idx_clamp_i64(uint64_t v)
{
	return v > INT64_MAX ? INT64_MAX : (int64_t)v;
}
/* Column text or NULL. */
const char *idx_col_text(sqlite3_stmt *st, int i);
/* Column integer, or dflt when NULL. */
int64_t idx_col_int(sqlite3_stmt *st, int i, int64_t dflt);

/* The columns query.c reads into a struct idx_event, and the reader. */
extern const char idx_event_cols[];
void idx_event_row(sqlite3_stmt *st, struct idx_event *ev);

/* The SQL of the alert statements (alerts.c), for idx_stmt's table. */
extern const char idx_sql_alert_upsert[], idx_sql_alert_event[], idx_sql_detection[];

/*
 * The detections of an event (event_detections), and for an alert record
 * (event_type "alert") its alerts row and alert_events pairs (alerts.c).
 * root is the event; seq and time_ns its row's.  Ingest calls it only for
 * events that carry either, so other events cost nothing.  Malformed
 * entries are skipped (the event row keeps them); -errno only on an SQLite
 * failure (err says why).
 */
int idx_alert_rows(struct idx *ix, uint64_t seq, uint64_t time_ns, struct json_t *root,
		   char *err, size_t errcap);
/* The event's decision: its decision.action and decision.rule_id (pointers
 * into root, NULL when absent). */
void idx_decision_of(struct json_t *root, const char **action, const char **rule);
/* Migration to schema version 3 (schema.c): fills the decision columns,
 * event_detections, alerts and alert_events from the events already in the
 * index, as ingest would have.  Runs inside migrate()'s transaction. */
int idx_alerts_backfill(struct idx *ix, char *err, size_t errcap);

/* Wraps a --text phrase into a safe FTS5 query of quoted terms (all must
 * match).  -EINVAL when no word is left. */
int idx_fts_query(const char *words, struct vbuf *out);

#endif /* VIGIL_IDX_INT_H */
