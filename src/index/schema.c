/*
 * schema.c - opening the index: the schema (version 3, in PRAGMA
 * user_version), WAL mode, transactions, the cached statements of the ingest
 * path and small helpers shared by the other files.
 *
 * The index is derived data.  When the schema changes, a migration step is
 * added to migrate() below; when that is not worth it, the version is bumped
 * and old indexes are refused with "run vigil reindex", which rebuilds from
 * the ledger.  Readers never migrate: a read-only connection on another
 * version is refused (-EPROTO).
 */
#include "idx_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

/* How long a connection waits for a lock held by another one (the daemon's
 * write transactions are short; a reindex holds none of the live file). */
#define IDX_BUSY_TIMEOUT_MS 5000

/*
 * The tables.  Every secondary index costs a B-tree insert per event, so
 * there is one per filter of `vigil events` (query.c) and no more:
 *   id                 idx_has_event (the daemon's spool dedup)
 *   (session_id, seq)  --session, replay
 *   time_ns            --since / --until
 *   (tool, seq)        --tool; partial: most events are not tool calls
 *   (event_type, seq)  --type
 *   (hook, seq)        --hook
 *   (risk_rank, seq)   --risk; partial over low and above: nearly every event
 *                      carries an "info" risk, which no filter asks for alone
 *                      (query.c repeats the partial condition literally, so
 *                      SQLite can prove the index applies)
 *   seq                --outside-scope; partial
 *   (agent_id, seq)    --agent-id; partial: main-agent events have none
 *   (decision, seq)    --decision; partial over deny and ask (version 3):
 *                      every blocking event is decided, nearly all "allow"
 */
static const char schema_tables[] =
	"CREATE TABLE IF NOT EXISTS events ("
	" seq INTEGER PRIMARY KEY,"   /* the ledger record's sequence number */
	" id TEXT,"		      /* the event's UUIDv7 (not unique: the ledger may hold a
					 duplicate, and the index mirrors the ledger) */
	" time_ns INTEGER NOT NULL,"  /* the event's time, else the record's */
	" rec_time_ns INTEGER,"	      /* the ledger record's time */
	" session_id TEXT, agent_id TEXT, parent_agent_id TEXT,"
	" hook TEXT, event_type TEXT, tool TEXT, target TEXT,"
	" outcome TEXT, error TEXT, duration_ms INTEGER,"
	" risk TEXT, risk_rank INTEGER NOT NULL DEFAULT 0,"
	" outside_scope INTEGER,"     /* 1 outside, 0 inside, NULL not checkable */
	" project_root TEXT, cwd TEXT, prompt_id TEXT, tool_use_id TEXT,"
	" json TEXT NOT NULL,"
	/* Version 3, last so that a version 2 table gets them by ALTER TABLE:
	 * the event's decision.action (allow, deny, ask) and decision.rule_id. */
	" decision TEXT, decision_rule TEXT);"
	"CREATE INDEX IF NOT EXISTS events_id ON events(id);"
	"CREATE INDEX IF NOT EXISTS events_session ON events(session_id, seq);"
	"CREATE INDEX IF NOT EXISTS events_time ON events(time_ns);"
	"CREATE INDEX IF NOT EXISTS events_type ON events(event_type, seq);"
	"CREATE INDEX IF NOT EXISTS events_hook ON events(hook, seq);"
	"CREATE INDEX IF NOT EXISTS events_outside ON events(seq) WHERE outside_scope = 1;"
	"CREATE INDEX IF NOT EXISTS events_agent ON events(agent_id, seq) WHERE agent_id IS NOT NULL;"
	"CREATE TABLE IF NOT EXISTS tool_calls ("
	" id INTEGER PRIMARY KEY,"
	" session_id TEXT NOT NULL,"  /* '' when the events carry none */
	" agent_id TEXT NOT NULL,"    /* '' for the main agent */
	" tool_use_id TEXT NOT NULL,"
	" tool TEXT, target TEXT,"
	" pre_seq INTEGER, post_seq INTEGER, start_ns INTEGER, end_ns INTEGER,"
	" duration_ms INTEGER,"
	" outcome TEXT NOT NULL DEFAULT 'pending'," /* pending success failure abandoned */
	" error TEXT,"
	" UNIQUE (session_id, agent_id, tool_use_id));"
	"CREATE TABLE IF NOT EXISTS sessions ("
	" session_id TEXT PRIMARY KEY,"
	" first_ns INTEGER, last_ns INTEGER, first_seq INTEGER, last_seq INTEGER,"
	" project_root TEXT, cwd TEXT, model TEXT, agent TEXT, agent_version TEXT,"
	" events INTEGER NOT NULL DEFAULT 0, tool_calls INTEGER NOT NULL DEFAULT 0,"
	" failures INTEGER NOT NULL DEFAULT 0, abandoned INTEGER NOT NULL DEFAULT 0,"
	" prompts INTEGER NOT NULL DEFAULT 0, subagents INTEGER NOT NULL DEFAULT 0,"
	" risk TEXT, risk_rank INTEGER NOT NULL DEFAULT 0,"
	" ended INTEGER NOT NULL DEFAULT 0, end_reason TEXT,"
	" input_tokens INTEGER, output_tokens INTEGER, cache_read_tokens INTEGER,"
	" cache_creation_tokens INTEGER, total_tokens INTEGER, cost_usd REAL);"
	"CREATE INDEX IF NOT EXISTS sessions_last ON sessions(last_ns);"
	"CREATE TABLE IF NOT EXISTS file_changes ("
	" seq INTEGER PRIMARY KEY,"   /* the event that reported the change */
	" session_id TEXT, agent_id TEXT, tool_use_id TEXT, tool TEXT, path TEXT NOT NULL,"
	" before_sha256 TEXT, after_sha256 TEXT,"
	" lines_added INTEGER, lines_removed INTEGER, created INTEGER);"
	"CREATE INDEX IF NOT EXISTS file_changes_session ON file_changes(session_id, path);"
	"CREATE TABLE IF NOT EXISTS agents ("
	" session_id TEXT NOT NULL, agent_id TEXT NOT NULL, agent_type TEXT,"
	" parent_agent_id TEXT,"      /* NULL: spawned by the main agent */
	" parent_tool_use_id TEXT,"   /* the Agent/Task call that spawned it */
	" start_ns INTEGER, end_ns INTEGER, start_seq INTEGER, end_seq INTEGER,"
	" tool_calls INTEGER NOT NULL DEFAULT 0,"
	" PRIMARY KEY (session_id, agent_id));";

/*
 * Version 3: the rules engine's output.  alerts holds one row per alert id
 * (the record with the highest seq wins; alerts.c), alert_events every event
 * id its records named, event_detections one row per rule that matched an
 * event (written only for events that have detections, so the ingest of
 * the others costs nothing more).  Alerts are few: an index per listing
 * filter of `vigil alerts show` is cheap.
 */
static const char schema_alerts[] =
	"CREATE INDEX IF NOT EXISTS events_decision ON events(decision, seq)"
	" WHERE decision <> 'allow';"
	"CREATE TABLE IF NOT EXISTS alerts ("
	" alert_id TEXT PRIMARY KEY,"
	" rule_id TEXT, rule_title TEXT, rule_kind TEXT,"
	" level TEXT, level_num INTEGER NOT NULL DEFAULT 0," /* 0 informational .. 4 critical */
	" action TEXT, decision TEXT, state TEXT NOT NULL,"
	" session_id TEXT, agent TEXT, project TEXT,"
	" first_seen TEXT, last_seen TEXT, first_ns INTEGER, last_ns INTEGER,"
	" count INTEGER NOT NULL DEFAULT 0, reason TEXT,"
	" tags TEXT, event_ids TEXT,"			 /* JSON arrays as in the record */
	" first_seq INTEGER NOT NULL, last_seq INTEGER NOT NULL," /* its first and newest record */
	" updated_by TEXT, note TEXT,"
	" acknowledged_ns INTEGER, resolved_ns INTEGER," /* its first acknowledge / resolve */
	" rule_name TEXT);"	/* last: an early version 3 table gets it by ALTER TABLE */
	"CREATE INDEX IF NOT EXISTS alerts_state ON alerts(state, last_ns);"
	"CREATE INDEX IF NOT EXISTS alerts_level ON alerts(level_num, last_ns);"
	"CREATE INDEX IF NOT EXISTS alerts_session ON alerts(session_id, last_ns);"
	"CREATE INDEX IF NOT EXISTS alerts_rule ON alerts(rule_id, last_ns);"
	"CREATE INDEX IF NOT EXISTS alerts_rule_name ON alerts(rule_name, last_ns);"
	"CREATE INDEX IF NOT EXISTS alerts_last ON alerts(last_ns);"
	"CREATE INDEX IF NOT EXISTS alerts_first ON alerts(first_ns);"
	"CREATE TABLE IF NOT EXISTS alert_events ("
	" alert_id TEXT NOT NULL, event_id TEXT NOT NULL,"
	" PRIMARY KEY (alert_id, event_id)) WITHOUT ROWID;"
	"CREATE TABLE IF NOT EXISTS event_detections ("
	" event_seq INTEGER NOT NULL, rule_id TEXT NOT NULL, level TEXT, action TEXT,"
	" alert_id TEXT, rule_name TEXT, PRIMARY KEY (event_seq, rule_id)) WITHOUT ROWID;"
	"CREATE INDEX IF NOT EXISTS event_detections_rule ON event_detections(rule_id, event_seq);"
	"CREATE INDEX IF NOT EXISTS event_detections_name ON event_detections(rule_name, event_seq)"
	" WHERE rule_name IS NOT NULL;";

/* Version 2 -> 3 in place: the new columns of events (the new tables come
 * from schema_alerts, the rows from idx_alerts_backfill). */
static const char alter_v2[] =
	"ALTER TABLE events ADD COLUMN decision TEXT;"
	"ALTER TABLE events ADD COLUMN decision_rule TEXT;";

/*
 * The rules' names came to version 3 after its first build: an index that
 * build made has no rule_name columns.  They are added in place and filled
 * from the stored records (the alert record an alerts row comes from, and
 * the detections of the event a detection row comes from), as ingest would
 * have; names longer than an id may be (IDX_ALERT_MAX_ID) are left out as
 * ingest leaves them out.  The partial index comes from schema_alerts.
 */
#define ALERT_MAX_ID_SQL "128"
_Static_assert(IDX_ALERT_MAX_ID == 128, "ALERT_MAX_ID_SQL is IDX_ALERT_MAX_ID as SQL text");
static const char alter_v3_names[] =
	"ALTER TABLE alerts ADD COLUMN rule_name TEXT;"
	"ALTER TABLE event_detections ADD COLUMN rule_name TEXT;"
	"UPDATE alerts SET rule_name = (SELECT json_extract(e.json, '$.alert.rule_name')"
	" FROM events e WHERE e.seq = alerts.last_seq"
	" AND json_type(e.json, '$.alert.rule_name') = 'text'"
	" AND length(CAST(json_extract(e.json, '$.alert.rule_name') AS BLOB))"
	" BETWEEN 1 AND " ALERT_MAX_ID_SQL ");"
	"UPDATE event_detections SET rule_name = (SELECT json_extract(d.value, '$.name')"
	" FROM events e, json_each(e.json, '$.detections') d"
	" WHERE e.seq = event_detections.event_seq AND d.type = 'object'"
	" AND json_extract(d.value, '$.rule_id') = event_detections.rule_id"
	" AND json_type(d.value, '$.name') = 'text'"
	" AND length(CAST(json_extract(d.value, '$.name') AS BLOB))"
	" BETWEEN 1 AND " ALERT_MAX_ID_SQL " LIMIT 1);";

static const char schema_lean_indexes[] =
	"CREATE INDEX IF NOT EXISTS events_tool ON events(tool, seq) WHERE tool IS NOT NULL;"
	"CREATE INDEX IF NOT EXISTS events_risk ON events(risk_rank, seq) WHERE risk_rank >= 2;";
/* Schema version 1's: measured against by bench/index_bench.c only. */
static const char schema_v1_indexes[] =
	"CREATE INDEX IF NOT EXISTS events_tool ON events(tool, seq);"
	"CREATE INDEX IF NOT EXISTS events_risk ON events(risk_rank, seq) WHERE risk_rank > 0;";

/*
 * Full-text search: contentless (the text is in events.json; rowid =
 * events.seq), and fed only the text people search for (ingest.c,
 * fts_message): the target, the error, the prompt, and the messages of the
 * agent (last_assistant_message, notification message, a tool call's
 * description).  Feeding it every string of the payload (file contents,
 * command output, transcript paths, ids) made it the most expensive part
 * of indexing.  columnsize=0: no per-row size table (only bm25 ranking uses
 * it, and vigil does not rank).
 */
static const char schema_fts[] =
	"CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5("
	" target, error, prompt, message, content='', columnsize=0, tokenize='unicode61');";
static const char schema_v1_fts[] =
	"CREATE VIRTUAL TABLE IF NOT EXISTS events_fts USING fts5("
	" target, error, prompt, message, content='', tokenize='unicode61');";

/* What version 1 had that version 2 replaces (dropped by migrate()). */
static const char drop_v1[] =
	"DROP TABLE IF EXISTS events_fts; DROP TABLE IF EXISTS events;"
	" DROP TABLE IF EXISTS tool_calls; DROP TABLE IF EXISTS sessions;"
	" DROP TABLE IF EXISTS file_changes; DROP TABLE IF EXISTS agents;";

/* The ingest statements (enum idx_stmt order). */
static const char *const stmt_sql[ST__COUNT] = {
	[ST_HAS_SEQ] = "SELECT 1 FROM events WHERE seq = ?1",
	[ST_INS_EVENT] =
		"INSERT INTO events (seq, id, time_ns, rec_time_ns, session_id, agent_id,"
		" parent_agent_id, hook, event_type, tool, target, outcome, error, duration_ms,"
		" risk, risk_rank, outside_scope, project_root, cwd, prompt_id, tool_use_id, json,"
		" decision, decision_rule)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16,"
		" ?17, ?18, ?19, ?20, ?21, ?22, ?23, ?24)",
	[ST_INS_FTS] = "INSERT INTO events_fts (rowid, target, error, prompt, message)"
		       " VALUES (?1, ?2, ?3, ?4, ?5)",
	/* Adds one event's (or, with IDX_TUNE_SESSIONS, one transaction's
	 * merged) aggregates to its session; ingest.c works out the deltas
	 * (?11..) and the event count (?24) before it runs. */
	[ST_SESSION_UPSERT] =
		"INSERT INTO sessions (session_id, first_ns, last_ns, first_seq, last_seq,"
		" project_root, cwd, model, agent, agent_version, risk, risk_rank, events,"
		" tool_calls, failures, abandoned, prompts, subagents, ended,"
		" end_reason, input_tokens, output_tokens, cache_read_tokens,"
		" cache_creation_tokens, total_tokens, cost_usd)"
		" VALUES (?1, ?2, ?25, ?3, ?26, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?24, ?11, ?12, ?13,"
		" ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23)"
		" ON CONFLICT (session_id) DO UPDATE SET"
		" first_ns = min(first_ns, excluded.first_ns),"
		" last_ns = max(last_ns, excluded.last_ns),"
		" first_seq = min(first_seq, excluded.first_seq),"
		" last_seq = max(last_seq, excluded.last_seq),"
		" project_root = coalesce(project_root, excluded.project_root),"
		" cwd = coalesce(cwd, excluded.cwd),"
		" model = coalesce(excluded.model, model),"
		" agent = coalesce(agent, excluded.agent),"
		" agent_version = coalesce(excluded.agent_version, agent_version),"
		" risk = CASE WHEN excluded.risk_rank > risk_rank THEN excluded.risk ELSE risk END,"
		" risk_rank = max(risk_rank, excluded.risk_rank),"
		" events = events + excluded.events,"
		" tool_calls = tool_calls + excluded.tool_calls,"
		" failures = failures + excluded.failures,"
		" abandoned = abandoned + excluded.abandoned,"
		" prompts = prompts + excluded.prompts,"
		" subagents = subagents + excluded.subagents,"
		" ended = max(ended, excluded.ended),"
		" end_reason = coalesce(excluded.end_reason, end_reason),"
		" input_tokens = CASE WHEN excluded.input_tokens IS NULL THEN input_tokens"
		"  ELSE coalesce(input_tokens, 0) + excluded.input_tokens END,"
		" output_tokens = CASE WHEN excluded.output_tokens IS NULL THEN output_tokens"
		"  ELSE coalesce(output_tokens, 0) + excluded.output_tokens END,"
		" cache_read_tokens = CASE WHEN excluded.cache_read_tokens IS NULL"
		"  THEN cache_read_tokens ELSE coalesce(cache_read_tokens, 0)"
		"  + excluded.cache_read_tokens END,"
		" cache_creation_tokens = CASE WHEN excluded.cache_creation_tokens IS NULL"
		"  THEN cache_creation_tokens ELSE coalesce(cache_creation_tokens, 0)"
		"  + excluded.cache_creation_tokens END,"
		" total_tokens = CASE WHEN excluded.total_tokens IS NULL THEN total_tokens"
		"  ELSE coalesce(total_tokens, 0) + excluded.total_tokens END,"
		" cost_usd = CASE WHEN excluded.cost_usd IS NULL THEN cost_usd"
		"  ELSE coalesce(cost_usd, 0) + excluded.cost_usd END",
	[ST_TC_GET] = "SELECT id, tool, target, pre_seq, post_seq, start_ns, end_ns, duration_ms,"
		      " outcome, error FROM tool_calls"
		      " WHERE session_id = ?1 AND agent_id = ?2 AND tool_use_id = ?3",
	[ST_TC_INS] = "INSERT INTO tool_calls (session_id, agent_id, tool_use_id, tool, target,"
		      " pre_seq, post_seq, start_ns, end_ns, duration_ms, outcome, error)"
		      " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
	[ST_TC_UPD] = "UPDATE tool_calls SET tool = ?2, target = ?3, pre_seq = ?4, post_seq = ?5,"
		      " start_ns = ?6, end_ns = ?7, duration_ms = ?8, outcome = ?9, error = ?10"
		      " WHERE id = ?1",
	[ST_AGENT_UPSERT] =
		"INSERT INTO agents (session_id, agent_id, agent_type, parent_agent_id,"
		" parent_tool_use_id, start_ns, start_seq, tool_calls)"
		" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
		" ON CONFLICT (session_id, agent_id) DO UPDATE SET"
		" agent_type = coalesce(agent_type, excluded.agent_type),"
		" parent_agent_id = CASE WHEN excluded.parent_tool_use_id IS NOT NULL"
		"  THEN excluded.parent_agent_id ELSE parent_agent_id END,"
		" parent_tool_use_id = coalesce(excluded.parent_tool_use_id, parent_tool_use_id),"
		" start_ns = coalesce(min(start_ns, excluded.start_ns), start_ns, excluded.start_ns),"
		" start_seq = coalesce(min(start_seq, excluded.start_seq), start_seq,"
		"  excluded.start_seq),"
		" tool_calls = tool_calls + excluded.tool_calls",
	[ST_AGENT_GET] = "SELECT parent_tool_use_id, parent_agent_id, agent_type, start_ns,"
			 " start_seq FROM agents WHERE session_id = ?1 AND agent_id = ?2",
	/* The PostToolUse of Agent/Task names the subagent it ran
	 * (tool_response.agentId): that settles the parent for good. */
	[ST_AGENT_PARENT] = "UPDATE agents SET parent_agent_id = ?3, parent_tool_use_id = ?4"
			    " WHERE session_id = ?1 AND agent_id = ?2",
	/* A SubagentStart that does not name its parent: the oldest pending
	 * Agent/Task call of the session that no subagent claimed yet. */
	[ST_AGENT_GUESS] =
		"SELECT tc.tool_use_id, tc.agent_id FROM tool_calls tc"
		" WHERE tc.session_id = ?1 AND tc.tool IN ('Agent', 'Task')"
		" AND tc.outcome = 'pending' AND tc.pre_seq IS NOT NULL"
		" AND NOT EXISTS (SELECT 1 FROM agents a WHERE a.session_id = ?1"
		"  AND a.parent_tool_use_id = tc.tool_use_id"
		"  AND coalesce(a.parent_agent_id, '') = tc.agent_id)"
		" ORDER BY tc.pre_seq LIMIT 1",
	[ST_AGENT_END] = "UPDATE agents SET end_ns = max(coalesce(end_ns, 0), ?3), end_seq = ?4"
			 " WHERE session_id = ?1 AND agent_id = ?2",
	[ST_FILE_CHANGE] = "INSERT OR IGNORE INTO file_changes (seq, session_id, agent_id,"
			    " tool_use_id, tool, path, before_sha256, after_sha256, lines_added,"
			    " lines_removed, created)"
			    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
	[ST_LAST_SEQ] = "SELECT max(seq) FROM events",
	[ST_HAS_ID] = "SELECT 1 FROM events WHERE id = ?1 LIMIT 1",
	[ST_SAVEPOINT] = "SAVEPOINT idx_add",
	[ST_RELEASE] = "RELEASE idx_add",
	[ST_ROLLBACK_TO] = "ROLLBACK TO idx_add",
	[ST_ALERT_UPSERT] = idx_sql_alert_upsert,
	[ST_ALERT_EVENT] = idx_sql_alert_event,
	[ST_DETECTION] = idx_sql_detection,
};

int idx_errno(int rc)
{
	switch (rc & 0xff) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return 0;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_READONLY:
	case SQLITE_AUTH:
	case SQLITE_PERM:
		return -EPERM;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	case SQLITE_ERROR:
		return -EINVAL;
	default:
		return -EIO;
	}
}

int idx_sqlerr(struct idx *ix, int rc, const char *what, char *err, size_t errcap)
{
	if (err && errcap)
		snprintf(err, errcap, "%s: %s", what,
			 ix && ix->db ? sqlite3_errmsg(ix->db) : sqlite3_errstr(rc));
	return idx_errno(rc) ? idx_errno(rc) : -EIO;
}

int idx_exec(struct idx *ix, const char *sql, char *err, size_t errcap)
{
	char *msg = NULL;
	int rc = sqlite3_exec(ix->db, sql, NULL, NULL, &msg);

	if (rc != SQLITE_OK) {
		if (err && errcap)
			snprintf(err, errcap, "index: %s", msg ? msg : sqlite3_errstr(rc));
		sqlite3_free(msg);
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	}
	return 0;
}

sqlite3_stmt *idx_stmt(struct idx *ix, enum idx_stmt which, char *err, size_t errcap)
{
	sqlite3_stmt *st = ix->st[which];
	int rc;

	if (st) {
		sqlite3_reset(st);
		sqlite3_clear_bindings(st);
		return st;
	}
	rc = sqlite3_prepare_v3(ix->db, stmt_sql[which], -1, SQLITE_PREPARE_PERSISTENT, &st,
				NULL);
	if (rc != SQLITE_OK) {
		idx_sqlerr(ix, rc, "index: prepare", err, errcap);
		return NULL;
	}
	ix->st[which] = st;
	return st;
}

int idx_bind_text(sqlite3_stmt *st, int i, const char *s)
{
	return s ? sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(st, i);
}

void idx_bind_named_text(sqlite3_stmt *st, const char *name, const char *v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_text(st, i, v, -1, SQLITE_TRANSIENT);
}

void idx_bind_named_int(sqlite3_stmt *st, const char *name, int64_t v)
{
	int i = sqlite3_bind_parameter_index(st, name);

	if (i > 0)
		sqlite3_bind_int64(st, i, v);
}

const char *idx_col_text(sqlite3_stmt *st, int i)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? NULL
							  : (const char *)sqlite3_column_text(st, i);
}

int64_t idx_col_int(sqlite3_stmt *st, int i, int64_t dflt)
{
	return sqlite3_column_type(st, i) == SQLITE_NULL ? dflt : sqlite3_column_int64(st, i);
}

/* Whether the alerts table has the rule_name column (alter_v3_names). */
static int has_rule_names(struct idx *ix, bool *yes, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	*yes = false;
	rc = sqlite3_prepare_v2(ix->db,
				"SELECT count(*) FROM pragma_table_info('alerts')"
				" WHERE name = 'rule_name'",
				-1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		*yes = sqlite3_column_int(st, 0) > 0;
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : idx_sqlerr(ix, rc, "index: read the schema", err, errcap);
}

/* Brings a writable index to IDX_SCHEMA_VERSION.  Version 0 is a new file. */
static int migrate(struct idx *ix, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	bool names = false;
	int version = 0, rc;

	rc = sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		version = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return idx_sqlerr(ix, rc, "index: read schema version", err, errcap);
	if (version == IDX_SCHEMA_VERSION) {
		rc = has_rule_names(ix, &names, err, errcap);
		if (rc < 0 || names)
			return rc;
	}
	if (version > IDX_SCHEMA_VERSION) {
		snprintf(err, errcap,
			 "index schema version %d is newer than this vigil's (%d): "
			 "run 'vigil reindex' or upgrade vigil",
			 version, IDX_SCHEMA_VERSION);
		return -EPROTO;
	}
	/* Version 0 is a new file: create everything.  Version 1 fed the whole
	 * payload to full-text search and had heavier indexes: its tables are
	 * dropped and recreated empty, and the next idx_sync_ledger (the
	 * daemon's catch-up at start, or `vigil reindex`) rebuilds them from
	 * the ledger.  Version 2 lacks the decision columns and the alert
	 * tables: they are added in place and filled from the stored events
	 * (rebuilding a large index from the ledger would take minutes, the
	 * backfill reads only the events that mention a decision, detections or
	 * an alert).  An early version 3 lacks the rule names: alter_v3_names.
	 * All in the same transaction as the version bump. */
	rc = idx_exec(ix, "BEGIN IMMEDIATE", err, errcap);
	if (rc < 0)
		return rc;
	/* An early version 3 (no rule names): another writer may have added
	 * them while this one waited for the lock. */
	if (version == IDX_SCHEMA_VERSION) {
		rc = has_rule_names(ix, &names, err, errcap);
		if (rc == 0 && names)
			return idx_exec(ix, "COMMIT", err, errcap);
		if (rc == 0)
			rc = idx_exec(ix, alter_v3_names, err, errcap);
	}
	if (rc == 0 && version == 1)
		rc = idx_exec(ix, drop_v1, err, errcap);
	if (rc == 0 && version == 2)
		rc = idx_exec(ix, alter_v2, err, errcap);
	if (rc == 0)
		rc = idx_exec(ix, schema_tables, err, errcap);
	if (rc == 0)
		rc = idx_exec(ix, (ix->tune & IDX_TUNE_INDEXES) ? schema_lean_indexes
							       : schema_v1_indexes,
			      err, errcap);
	if (rc == 0)
		rc = idx_exec(ix, (ix->tune & IDX_TUNE_FTS) ? schema_fts : schema_v1_fts, err,
			      errcap);
	if (rc == 0)
		rc = idx_exec(ix, schema_alerts, err, errcap);
	if (rc == 0 && version == 2)
		rc = idx_alerts_backfill(ix, err, errcap);
	if (rc == 0) {
		char bump[64];

		snprintf(bump, sizeof(bump), "PRAGMA user_version = %d", IDX_SCHEMA_VERSION);
		rc = idx_exec(ix, bump, err, errcap);
	}
	if (rc < 0) {
		idx_exec(ix, "ROLLBACK", NULL, 0);
		return rc;
	}
	return idx_exec(ix, "COMMIT", err, errcap);
}

static int check_version(struct idx *ix, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	bool names = false;
	int version = -1, rc;

	rc = sqlite3_prepare_v2(ix->db, "PRAGMA user_version", -1, &st, NULL);
	if (rc == SQLITE_OK) {
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW) {
			version = sqlite3_column_int(st, 0);
			rc = SQLITE_OK;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return idx_sqlerr(ix, rc, "index: read schema version", err, errcap);
	if (version != IDX_SCHEMA_VERSION) {
		snprintf(err, errcap,
			 "index schema version %d, this vigil reads version %d: "
			 "run 'vigil reindex'",
			 version, IDX_SCHEMA_VERSION);
		return -EPROTO;
	}
	/* A reader cannot add the rule names an early version 3 lacks; the
	 * next writer (vigild at start, vigil reindex) does. */
	rc = has_rule_names(ix, &names, err, errcap);
	if (rc == 0 && !names) {
		snprintf(err, errcap,
			 "the index predates rule names: restart vigild (which adds them) or "
			 "run 'vigil reindex'");
		return -EPROTO;
	}
	return rc;
}

int idx_open(const char *path, unsigned flags, struct idx **out, char *err, size_t errcap)
{
	return idx_open_tuned(path, flags, IDX_TUNE_ALL, out, err, errcap);
}

/*
 * The writer's pragmas.  WAL: readers never block the writer and see only
 * committed data.  synchronous=NORMAL: in WAL mode that syncs the WAL only
 * at checkpoints (every ~4 MiB written), not at each commit, and a power
 * cut can lose the last transactions but not damage the file; the daemon's
 * catch-up then re-adds them from the ledger (the index is derived data).
 * synchronous=OFF (IDX_TUNE_SYNC_OFF) saves the waits for those syncs
 * (bench/index_bench.c: up to a quarter more events/s at the same CPU), but
 * then a power cut can leave the file damaged, which nothing would notice
 * until a query failed: not worth it until idx_open can detect an unclean
 * shutdown and rebuild from the ledger (docs/index.md).  A 64 MiB page cache keeps the B-tree pages
 * every event touches (the tails of the indexes, the FTS segments) in
 * memory; temp_store=MEMORY keeps FTS5's merge buffers off the disk;
 * journal_size_limit truncates the WAL back to 64 MiB after a checkpoint,
 * so a burst does not leave a huge file behind.
 */
static int writer_pragmas(struct idx *ix, char *err, size_t errcap)
{
	int rc = idx_exec(ix, "PRAGMA journal_mode = WAL", err, errcap);

	if (rc == 0)
		rc = idx_exec(ix, (ix->tune & IDX_TUNE_SYNC_OFF) ? "PRAGMA synchronous = OFF"
								 : "PRAGMA synchronous = NORMAL",
			      err, errcap);
	if (rc == 0 && (ix->tune & IDX_TUNE_PRAGMAS))
		rc = idx_exec(ix, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -65536;"
				  " PRAGMA journal_size_limit = 67108864;",
			      err, errcap);
	else if (rc == 0)
		rc = idx_exec(ix, "PRAGMA temp_store = MEMORY; PRAGMA cache_size = -32768;", err,
			      errcap);
	return rc;
}

int idx_open_tuned(const char *path, unsigned flags, unsigned tune, struct idx **out,
		   char *err, size_t errcap)
{
	struct idx *ix;
	int oflags, rc;

	*out = NULL;
	if (!path || !*path || ((flags & IDX_RDONLY) && (flags & IDX_CREATE))) {
		snprintf(err, errcap, "index: bad open arguments");
		return -EINVAL;
	}
	if ((flags & IDX_RDONLY) && access(path, F_OK) < 0) {
		snprintf(err, errcap, "no index at '%s'", path);
		return -ENOENT;
	}
	ix = vg_calloc(1, sizeof(*ix));
	if (!ix) {
		snprintf(err, errcap, "out of memory");
		return -ENOMEM;
	}
	ix->rdonly = flags & IDX_RDONLY;
	ix->tune = tune;
	if (vg_path(ix->path, sizeof(ix->path), "%s", path) < 0) {
		snprintf(err, errcap, "index path too long");
		rc = -ENAMETOOLONG;
		goto fail;
	}
	if (flags & IDX_CREATE) {
		/* The index holds event payloads: 0600 like the ledger (SQLite
		 * would create it 0644, and its -wal and -shm files after it). */
		int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);

		if (fd < 0) {
			rc = -errno;
			snprintf(err, errcap, "cannot create the index '%s': %s", path,
				 strerror(errno));
			goto fail;
		}
		close(fd);
	}
	oflags = SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE |
		 (ix->rdonly ? SQLITE_OPEN_READONLY
			     : SQLITE_OPEN_READWRITE | ((flags & IDX_CREATE) ? SQLITE_OPEN_CREATE : 0));
	rc = sqlite3_open_v2(path, &ix->db, oflags, NULL);
	if (rc != SQLITE_OK) {
		rc = idx_sqlerr(ix, rc, "cannot open the index", err, errcap);
		goto fail;
	}
	sqlite3_busy_timeout(ix->db, IDX_BUSY_TIMEOUT_MS);
	sqlite3_extended_result_codes(ix->db, 1);
	if (ix->rdonly) {
		rc = idx_exec(ix, "PRAGMA query_only = 1", err, errcap);
		if (rc == 0)
			rc = check_version(ix, err, errcap);
	} else {
		rc = writer_pragmas(ix, err, errcap);
		if (rc == 0)
			rc = migrate(ix, err, errcap);
	}
	if (rc < 0)
		goto fail;
	*out = ix;
	return 0;
fail:
	idx_close(ix);
	return rc;
}

void idx_close(struct idx *ix)
{
	if (!ix)
		return;
	if (ix->in_tx)
		idx_rollback(ix);
	idx_sessions_drop(ix);
	vg_free(ix->sc.slots);
	vbuf_release(&ix->fts);
	for (size_t i = 0; i < ST__COUNT; i++)
		sqlite3_finalize(ix->st[i]);
	/* The writer folds the WAL into the database before it goes, even
	 * when a reader still has the file open (SQLite's own checkpoint on
	 * close needs the last connection): index.db alone is then the whole
	 * index, for a copy, a check or the next start-up's quick_check.
	 * Busy readers only make it partial; the WAL stays valid either way. */
	if (!ix->rdonly)
		sqlite3_wal_checkpoint_v2(ix->db, NULL, SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	sqlite3_close(ix->db);
	vg_free(ix);
}

int idx_begin(struct idx *ix)
{
	int rc;

	if (ix->in_tx)
		return -EALREADY;
	rc = idx_exec(ix, "BEGIN IMMEDIATE", NULL, 0);
	if (rc == 0) {
		ix->in_tx = true;
		ix->max_seq_known = false; /* read again under this write lock */
	}
	return rc;
}

int idx_commit(struct idx *ix)
{
	int rc;

	if (!ix->in_tx)
		return -EINVAL;
	/* The sessions merged over the transaction go in with it. */
	rc = idx_sessions_flush(ix, NULL, 0);
	if (rc == 0)
		rc = idx_exec(ix, "COMMIT", NULL, 0);
	if (rc == 0)
		ix->in_tx = false;
	return rc;
}

void idx_rollback(struct idx *ix)
{
	idx_sessions_drop(ix);
	ix->max_seq_known = false;
	if (!ix->in_tx)
		return;
	idx_exec(ix, "ROLLBACK", NULL, 0);
	ix->in_tx = false;
}

int idx_last_seq(struct idx *ix, uint64_t *seq)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_LAST_SEQ, NULL, 0);
	int rc;

	*seq = 0;
	if (!st)
		return -EIO;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*seq = (uint64_t)idx_col_int(st, 0, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : idx_errno(rc) ? idx_errno(rc) : -EIO;
}

int idx_quick_check(struct idx *ix, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	const char *res;
	int rc;

	/* quick_check(1): the first problem is enough to know the file is
	 * damaged; it skips the index-content cross-check of integrity_check,
	 * which costs as much as a rebuild. */
	rc = sqlite3_prepare_v2(ix->db, "PRAGMA quick_check(1)", -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_step(st);
	if (rc != SQLITE_ROW) {
		snprintf(err, errcap, "%s", sqlite3_errmsg(ix->db));
		sqlite3_finalize(st);
		return rc == SQLITE_CORRUPT || rc == SQLITE_NOTADB ? -EBADMSG
		       : idx_errno(rc)				    ? idx_errno(rc)
								    : -EIO;
	}
	res = (const char *)sqlite3_column_text(st, 0);
	rc = res && !strcmp(res, "ok") ? 0 : -EBADMSG;
	if (rc < 0)
		snprintf(err, errcap, "%s", res ? res : "quick_check gave no answer");
	sqlite3_finalize(st);
	return rc;
}

int idx_has_event(struct idx *ix, const char *id)
{
	sqlite3_stmt *st;
	int rc;

	if (!id)
		return -EINVAL;
	st = idx_stmt(ix, ST_HAS_ID, NULL, 0);
	if (!st)
		return -EIO;
	idx_bind_text(st, 1, id);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return idx_errno(rc) ? idx_errno(rc) : -EIO;
}

int idx_counts(struct idx *ix, struct idx_counts *out)
{
	static const char sql[] =
		"SELECT (SELECT count(*) FROM events), (SELECT count(*) FROM tool_calls),"
		" (SELECT count(*) FROM sessions), (SELECT count(*) FROM agents),"
		" (SELECT count(*) FROM events WHERE event_type = 'invalid'),"
		" (SELECT coalesce(max(seq), 0) FROM events)";
	sqlite3_stmt *st = NULL;
	int rc;

	memset(out, 0, sizeof(*out));
	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		out->events = (uint64_t)sqlite3_column_int64(st, 0);
		out->tool_calls = (uint64_t)sqlite3_column_int64(st, 1);
		out->sessions = (uint64_t)sqlite3_column_int64(st, 2);
		out->agents = (uint64_t)sqlite3_column_int64(st, 3);
		out->invalid = (uint64_t)sqlite3_column_int64(st, 4);
		out->last_seq = (uint64_t)sqlite3_column_int64(st, 5);
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_OK ? 0 : idx_errno(rc) ? idx_errno(rc) : -EIO;
}

/* ---- helpers ---------------------------------------------------------------- */

static const char *const risk_names[] = { "none", "info", "low", "medium", "high", "critical" };

const char *idx_risk_name(int rank)
{
	if (rank < 0 || (size_t)rank >= VG_ARRAY_LEN(risk_names))
		return "none";
	return risk_names[rank];
}

int idx_risk_parse(const char *s)
{
	for (size_t i = 0; s && i < VG_ARRAY_LEN(risk_names); i++)
		if (!strcasecmp(s, risk_names[i]))
			return (int)i;
	return -EINVAL;
}
