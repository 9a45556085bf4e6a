/*
 * query.c - the index's read side: event listings with filters and full-text
 * search, sessions, a session's tool calls, subagents and file changes, and
 * the guarded ad-hoc SQL of `vigil sql`.  Everything here works on a
 * read-only connection; rows are handed to callbacks one at a time, so no
 * listing is held in memory.
 */
#include "idx_int.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

/* `vigil sql` interrupts a statement that runs longer than this. */
#define IDX_SQL_TIMEOUT_NS (30ull * 1000000000ull)
#define IDX_SQL_MAX_BLOB_HEX 4096 /* blob bytes shown per cell */
#define IDX_FTS_MAX_QUERY 4096

static int step_err(struct idx *ix, int rc, const char *what, char *err, size_t errcap)
{
	if (rc == SQLITE_DONE)
		return 0;
	return idx_sqlerr(ix, rc, what, err, errcap);
}

int idx_fts_query(const char *words, struct vbuf *out)
{
	const char *p = words;
	int terms = 0;

	/* Each blank-separated word becomes a quoted FTS5 string, so no input
	 * can be FTS5 syntax (NEAR, column filters, *, ^, AND/OR/NOT). */
	while (p && *p) {
		const char *w;

		while (*p == ' ' || *p == '\t' || *p == '\n')
			p++;
		if (!*p)
			break;
		w = p;
		while (*p && *p != ' ' && *p != '\t' && *p != '\n')
			p++;
		if (vbuf_appendf(out, "%s\"", terms ? " " : "") < 0)
			return -E2BIG;
		for (const char *c = w; c < p; c++)
			if (vbuf_append(out, c, 1) < 0 || (*c == '"' && vbuf_append(out, "\"", 1) < 0))
				return -E2BIG;
		if (vbuf_append(out, "\"", 1) < 0)
			return -E2BIG;
		terms++;
	}
	return terms ? 0 : -EINVAL;
}

int idx_text_check(const char *words)
{
	struct vbuf q;
	int rc;

	vbuf_init(&q, IDX_FTS_MAX_QUERY);
	rc = idx_fts_query(words, &q);
	vbuf_release(&q);
	return rc;
}

const char idx_event_cols[] =
	"seq, time_ns, id, session_id, agent_id, parent_agent_id, hook, event_type, tool,"
	" target, outcome, error, risk, project_root, cwd, prompt_id, tool_use_id, duration_ms,"
	" outside_scope, json, decision, decision_rule";

void idx_event_row(sqlite3_stmt *st, struct idx_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	ev->seq = (uint64_t)sqlite3_column_int64(st, 0);
	ev->time_ns = (uint64_t)sqlite3_column_int64(st, 1);
	ev->id = idx_col_text(st, 2);
	ev->session_id = idx_col_text(st, 3);
	ev->agent_id = idx_col_text(st, 4);
	ev->parent_agent_id = idx_col_text(st, 5);
	ev->hook = idx_col_text(st, 6);
	ev->event_type = idx_col_text(st, 7);
	ev->tool = idx_col_text(st, 8);
	ev->target = idx_col_text(st, 9);
	ev->outcome = idx_col_text(st, 10);
	ev->error = idx_col_text(st, 11);
	ev->risk = idx_col_text(st, 12);
	ev->project_root = idx_col_text(st, 13);
	ev->cwd = idx_col_text(st, 14);
	ev->prompt_id = idx_col_text(st, 15);
	ev->tool_use_id = idx_col_text(st, 16);
	ev->duration_ms = idx_col_int(st, 17, -1);
	ev->outside_scope = (int)idx_col_int(st, 18, -1);
	ev->json = (const char *)sqlite3_column_text(st, 19);
	ev->json_len = (size_t)sqlite3_column_bytes(st, 19);
	ev->decision = idx_col_text(st, 20);
	ev->decision_rule = idx_col_text(st, 21);
}

/*
 * The events query for filter f: one condition per filter field, each bound
 * by name (events_bind), so no value is ever spliced into the SQL.  Non-zero
 * when the text did not fit.
 */
static int events_sql(const struct idx_filter *f, struct vbuf *sql)
{
	int rc = vbuf_appendf(sql, "SELECT %s FROM events WHERE seq > :after", idx_event_cols);

	if (f->session && f->session_exact)
		rc |= vbuf_appendf(sql, " AND session_id = :sess");
	else if (f->session)
		/* A prefix as a range, so the session index serves it; U+10FFFF
		 * sorts after every character that can follow. */
		rc |= vbuf_appendf(sql, " AND session_id >= :sess"
					" AND session_id < :sess || char(1114111)");
	if (f->tool)
		rc |= vbuf_appendf(sql, " AND tool = :tool");
	if (f->hook)
		rc |= vbuf_appendf(sql, " AND hook = :hook");
	if (f->event_type)
		rc |= vbuf_appendf(sql, " AND event_type = :type");
	if (f->agent_id)
		rc |= vbuf_appendf(sql, " AND agent_id = :agent");
	if (f->min_risk > 0)
		rc |= vbuf_appendf(sql, " AND risk_rank >= :risk");
	/* The partial index events_risk covers risk_rank >= 2; SQLite uses it
	 * only when the query states its condition word for word. */
	if (f->min_risk >= IDX_RISK_LOW)
		rc |= vbuf_appendf(sql, " AND risk_rank >= 2");
	if (f->outside_scope)
		rc |= vbuf_appendf(sql, " AND outside_scope = 1");
	if (f->decision)
		rc |= vbuf_appendf(sql, " AND decision = :decision");
	/* The partial index events_decision covers deny and ask (the literal
	 * condition again, so SQLite can prove it applies). */
	if (f->decision && strcmp(f->decision, "allow"))
		rc |= vbuf_appendf(sql, " AND decision <> 'allow'");
	if (f->rule)
		/* The rule's id or its name (each has an index on event_detections). */
		rc |= vbuf_appendf(sql, " AND seq IN (SELECT event_seq FROM event_detections"
					" WHERE rule_id = :rule UNION SELECT event_seq"
					" FROM event_detections WHERE rule_name = :rule)");
	if (f->since_ns)
		rc |= vbuf_appendf(sql, " AND time_ns >= :since");
	if (f->until_ns)
		rc |= vbuf_appendf(sql, " AND time_ns < :until");
	if (f->text)
		rc |= vbuf_appendf(sql, " AND seq IN (SELECT rowid FROM events_fts"
					" WHERE events_fts MATCH :text)");
	if (f->limit)
		/* The newest N, shown oldest first. */
		rc |= vbuf_appendf(sql, " ORDER BY seq DESC LIMIT :limit");
	else
		rc |= vbuf_appendf(sql, " ORDER BY seq");
	return rc;
}

/* Binds the values of f to the names events_sql used (unused names stay NULL). */
static void events_bind(sqlite3_stmt *st, const struct idx_filter *f, const char *fts)
{
	idx_bind_named_int(st, ":after", idx_clamp_i64(f->after_seq));
	if (f->session)
		idx_bind_named_text(st, ":sess", f->session);
	if (f->tool)
		idx_bind_named_text(st, ":tool", f->tool);
	if (f->hook)
		idx_bind_named_text(st, ":hook", f->hook);
	if (f->event_type)
		idx_bind_named_text(st, ":type", f->event_type);
	if (f->agent_id)
		idx_bind_named_text(st, ":agent", f->agent_id);
	if (f->decision)
		idx_bind_named_text(st, ":decision", f->decision);
	if (f->rule)
		idx_bind_named_text(st, ":rule", f->rule);
	idx_bind_named_int(st, ":risk", f->min_risk);
	idx_bind_named_int(st, ":since", (int64_t)f->since_ns);
	idx_bind_named_int(st, ":until", (int64_t)f->until_ns);
	if (f->text)
		idx_bind_named_text(st, ":text", fts);
	idx_bind_named_int(st, ":limit", idx_clamp_i64(f->limit));
}

int idx_query_events(struct idx *ix, const struct idx_filter *f, idx_event_fn fn, void *arg,
		     char *err, size_t errcap)
{
	struct vbuf sql, fts;
	sqlite3_stmt *st = NULL;
	int rc;

	vbuf_init(&sql, 8192);
	vbuf_init(&fts, IDX_FTS_MAX_QUERY);
	if (f->text) {
		rc = idx_fts_query(f->text, &fts);
		if (rc < 0) {
			snprintf(err, errcap,
				 rc == -E2BIG ? "search text too long"
					      : "search text has no words");
			goto out;
		}
	}
	if (events_sql(f, &sql)) {
		snprintf(err, errcap, "query too long");
		rc = -E2BIG;
		goto out;
	}
	if (f->limit) {
		struct vbuf outer;

		vbuf_init(&outer, 9000);
		rc = vbuf_appendf(&outer, "SELECT * FROM (%s) ORDER BY seq", (char *)sql.data);
		vbuf_release(&sql);
		sql = outer;
		if (rc < 0) {
			snprintf(err, errcap, "query too long");
			goto out;
		}
	}
	rc = sqlite3_prepare_v2(ix->db, (const char *)sql.data, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = idx_sqlerr(ix, rc, "index query", err, errcap);
		goto out;
	}
	events_bind(st, f, f->text ? (const char *)fts.data : NULL);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_event ev;

		idx_event_row(st, &ev);
		rc = fn(arg, &ev);
		if (rc)
			goto out;
	}
	rc = step_err(ix, rc, "index query", err, errcap);
out:
	sqlite3_finalize(st);
	vbuf_release(&sql);
	vbuf_release(&fts);
	return rc;
}

/* How a row loop ended: the callback's stop value, else the step's error. */
static int rows_end(int rc, int cb)
{
	if (cb)
		return cb;
	if (rc == SQLITE_DONE || rc == SQLITE_ROW)
		return 0;
	return idx_errno(rc) ? idx_errno(rc) : -EIO;
}

/* ---- sessions -------------------------------------------------------------- */

static const char session_cols[] =
	"s.session_id, s.project_root, s.cwd, s.model, s.agent, s.agent_version, s.risk,"
	" s.end_reason, s.first_ns, s.last_ns, s.events, s.tool_calls, s.failures, s.abandoned,"
	" s.prompts, s.subagents, s.ended, s.input_tokens, s.output_tokens, s.cache_read_tokens,"
	" s.cache_creation_tokens, s.total_tokens, s.cost_usd,"
	" (SELECT count(DISTINCT path) FROM file_changes f WHERE f.session_id = s.session_id)";

static void session_row(sqlite3_stmt *st, struct idx_session *s)
{
	memset(s, 0, sizeof(*s));
	s->session_id = idx_col_text(st, 0);
	s->project_root = idx_col_text(st, 1);
	s->cwd = idx_col_text(st, 2);
	s->model = idx_col_text(st, 3);
	s->agent = idx_col_text(st, 4);
	s->agent_version = idx_col_text(st, 5);
	s->risk = idx_col_text(st, 6);
	s->end_reason = idx_col_text(st, 7);
	s->first_ns = (uint64_t)idx_col_int(st, 8, 0);
	s->last_ns = (uint64_t)idx_col_int(st, 9, 0);
	s->events = (uint64_t)idx_col_int(st, 10, 0);
	s->tool_calls = (uint64_t)idx_col_int(st, 11, 0);
	s->failures = (uint64_t)idx_col_int(st, 12, 0);
	s->abandoned = (uint64_t)idx_col_int(st, 13, 0);
	s->prompts = (uint64_t)idx_col_int(st, 14, 0);
	s->subagents = (uint64_t)idx_col_int(st, 15, 0);
	s->ended = (int)idx_col_int(st, 16, 0);
	s->input_tokens = idx_col_int(st, 17, -1);
	s->output_tokens = idx_col_int(st, 18, -1);
	s->cache_read_tokens = idx_col_int(st, 19, -1);
	s->cache_creation_tokens = idx_col_int(st, 20, -1);
	s->total_tokens = idx_col_int(st, 21, -1);
	s->cost_usd = sqlite3_column_type(st, 22) == SQLITE_NULL ? -1
								 : sqlite3_column_double(st, 22);
	s->files_changed = (uint64_t)idx_col_int(st, 23, 0);
}

static int run_sessions(struct idx *ix, const char *sql, const char *id, uint64_t since_ns,
			uint64_t limit, idx_session_fn fn, void *arg, uint64_t *rows)
{
	sqlite3_stmt *st = NULL;
	int rc, cb = 0;

	*rows = 0;
	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	if (id)
		idx_bind_named_text(st, ":id", id);
	idx_bind_named_int(st, ":since", (int64_t)since_ns);
	idx_bind_named_int(st, ":limit", limit ? idx_clamp_i64(limit) : -1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_session s;

		session_row(st, &s);
		(*rows)++;
		cb = fn(arg, &s);
		if (cb)
			break;
	}
	sqlite3_finalize(st);
	return rows_end(rc, cb);
}

int idx_sessions(struct idx *ix, uint64_t since_ns, uint64_t limit, idx_session_fn fn,
		 void *arg)
{
	char sql[1536];
	uint64_t rows;

	snprintf(sql, sizeof(sql),
		 "SELECT * FROM (SELECT %s FROM sessions s WHERE s.last_ns >= :since"
		 " ORDER BY s.last_ns DESC LIMIT :limit) ORDER BY 9, 1",
		 session_cols);
	return run_sessions(ix, sql, NULL, since_ns, limit, fn, arg, &rows);
}

int idx_session_get(struct idx *ix, const char *session_id, idx_session_fn fn, void *arg)
{
	char sql[1536];
	uint64_t rows;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT %s FROM sessions s WHERE s.session_id = :id",
		 session_cols);
	rc = run_sessions(ix, sql, session_id, 0, 0, fn, arg, &rows);
	return rc ? rc : rows ? 0 : -ENOENT;
}

int idx_session_resolve(struct idx *ix, const char *prefix, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (!prefix || !*prefix)
		return -ENOENT;
	rc = sqlite3_prepare_v2(ix->db,
				"SELECT session_id FROM sessions WHERE session_id = ?1"
				" UNION ALL SELECT * FROM (SELECT session_id FROM sessions"
				" WHERE session_id > ?1 AND session_id < ?1 || char(1114111)"
				" LIMIT 2)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		/* An exact match wins over longer ids it is a prefix of. */
		if (n == 0 && !strcmp(id, prefix)) {
			rc = vg_path(out, cap, "%s", id);
			sqlite3_finalize(st);
			return rc;
		}
		if (n++ == 0 && vg_path(out, cap, "%s", id) < 0) {
			sqlite3_finalize(st);
			return -ENAMETOOLONG;
		}
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	return n == 0 ? -ENOENT : n > 1 ? -ENOTUNIQ : 0;
}

/* ---- a session's tool calls, agents and file changes ------------------------ */

int idx_tool_calls(struct idx *ix, const char *session_id, idx_tool_call_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, cb = 0;

	rc = sqlite3_prepare_v2(ix->db,
				"SELECT session_id, agent_id, tool_use_id, tool, target, outcome,"
				" error, pre_seq, post_seq, start_ns, end_ns, duration_ms"
				" FROM tool_calls WHERE session_id = ?1"
				" ORDER BY min(coalesce(pre_seq, post_seq), coalesce(post_seq, pre_seq))",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_tool_call t = {
			.session_id = idx_col_text(st, 0),
			.agent_id = idx_col_text(st, 1),
			.tool_use_id = idx_col_text(st, 2),
			.tool = idx_col_text(st, 3),
			.target = idx_col_text(st, 4),
			.outcome = idx_col_text(st, 5),
			.error = idx_col_text(st, 6),
			.pre_seq = (uint64_t)idx_col_int(st, 7, 0),
			.post_seq = (uint64_t)idx_col_int(st, 8, 0),
			.start_ns = (uint64_t)idx_col_int(st, 9, 0),
			.end_ns = (uint64_t)idx_col_int(st, 10, 0),
			.duration_ms = idx_col_int(st, 11, -1),
		};

		if (t.agent_id && !*t.agent_id)
			t.agent_id = NULL; /* the main agent */
		cb = fn(arg, &t);
		if (cb)
			break;
	}
	sqlite3_finalize(st);
	return rows_end(rc, cb);
}

int idx_agents(struct idx *ix, const char *session_id, idx_agent_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, cb = 0;

	rc = sqlite3_prepare_v2(ix->db,
				"SELECT session_id, agent_id, agent_type, parent_agent_id,"
				" parent_tool_use_id, start_ns, end_ns, start_seq, tool_calls"
				" FROM agents WHERE session_id = ?1 ORDER BY start_seq, agent_id",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_agent a = {
			.session_id = idx_col_text(st, 0),
			.agent_id = idx_col_text(st, 1),
			.agent_type = idx_col_text(st, 2),
			.parent_agent_id = idx_col_text(st, 3),
			.parent_tool_use_id = idx_col_text(st, 4),
			.start_ns = (uint64_t)idx_col_int(st, 5, 0),
			.end_ns = (uint64_t)idx_col_int(st, 6, 0),
			.start_seq = (uint64_t)idx_col_int(st, 7, 0),
			.tool_calls = (uint64_t)idx_col_int(st, 8, 0),
		};

		cb = fn(arg, &a);
		if (cb)
			break;
	}
	sqlite3_finalize(st);
	return rows_end(rc, cb);
}

int idx_file_changes(struct idx *ix, const char *session_id, idx_file_change_fn fn, void *arg)
{
	sqlite3_stmt *st = NULL;
	int rc, cb = 0;

	rc = sqlite3_prepare_v2(ix->db,
				"SELECT seq, session_id, agent_id, tool_use_id, tool, path,"
				" before_sha256, after_sha256, lines_added, lines_removed, created"
				" FROM file_changes WHERE session_id = ?1 ORDER BY seq",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, session_id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_file_change c = {
			.seq = (uint64_t)sqlite3_column_int64(st, 0),
			.session_id = idx_col_text(st, 1),
			.agent_id = idx_col_text(st, 2),
			.tool_use_id = idx_col_text(st, 3),
			.tool = idx_col_text(st, 4),
			.path = idx_col_text(st, 5),
			.before_sha256 = idx_col_text(st, 6),
			.after_sha256 = idx_col_text(st, 7),
			.lines_added = idx_col_int(st, 8, -1),
			.lines_removed = idx_col_int(st, 9, -1),
			.created = (int)idx_col_int(st, 10, -1),
		};

		cb = fn(arg, &c);
		if (cb)
			break;
	}
	sqlite3_finalize(st);
	return rows_end(rc, cb);
}

/* ---- vigil sql ---------------------------------------------------------------- */

/* Pragmas that only read.  The first kind takes a table or index name as
 * its argument; the second is allowed only without one (with one, some of
 * them would set a value). */
static const char *const read_pragmas_arg[] = {
	"table_info", "table_xinfo", "table_list", "index_list", "index_info", "index_xinfo",
	"foreign_key_list",
};
static const char *const read_pragmas_noarg[] = {
	"user_version", "schema_version", "compile_options", "database_list", "function_list",
	"pragma_list", "data_version", /* FTS5 asks data_version on every query */
};

/* The authorizer: reading is allowed, everything else is refused before the
 * statement can run (the connection is also read-only and query_only). */
static int sql_authorize(int action, const char *a, const char *b, const char *trigger)
{
	switch (action) {
	case SQLITE_SELECT:
	case SQLITE_READ:
	case SQLITE_FUNCTION:
	case SQLITE_RECURSIVE:
		return SQLITE_OK;
	case SQLITE_UPDATE:
		/* SQLite itself asks this for sqlite_master while it declares a
		 * virtual table (FTS5, table-valued pragmas) on first use.  A user's
		 * UPDATE of it cannot run anyway: the connection is read-only and
		 * the statement would not be sqlite3_stmt_readonly(). */
		return a && (!strcmp(a, "sqlite_master") || !strcmp(a, "sqlite_schema")) && !trigger
			       ? SQLITE_OK
			       : SQLITE_DENY;
	case SQLITE_PRAGMA:
		for (size_t i = 0; a && i < VG_ARRAY_LEN(read_pragmas_arg); i++)
			if (!strcasecmp(a, read_pragmas_arg[i]))
				return SQLITE_OK;
		for (size_t i = 0; a && !b && i < VG_ARRAY_LEN(read_pragmas_noarg); i++)
			if (!strcasecmp(a, read_pragmas_noarg[i]))
				return SQLITE_OK;
		return SQLITE_DENY;
	default:
		return SQLITE_DENY;
	}
}

static int sql_authorizer(void *arg, int action, const char *a, const char *b, const char *db,
			  const char *trigger)
{
	int rc = sql_authorize(action, a, b, trigger);

	if (rc != SQLITE_OK)
		*(bool *)arg = true; /* remembered: the statement was refused */
	return rc;
}

struct sql_deadline {
	uint64_t until;
};

static int sql_progress(void *arg)
{
	struct sql_deadline *d = arg;

	return vg_mono_ns() > d->until; /* non-zero interrupts */
}

static bool only_blanks(const char *s)
{
	for (; s && *s; s++)
		if (*s != ' ' && *s != '\t' && *s != '\n' && *s != '\r' && *s != ';')
			return false;
	return true;
}

/*
 * Step 1: compile the user's one statement, refused unless it only reads
 * (the authorizer, sqlite3_stmt_readonly) and nothing follows it.
 */
static int sql_prepare(struct idx *ix, const char *sql, bool *denied, sqlite3_stmt **st, char *err,
		       size_t errcap)
{
	const char *tail = NULL;
	int rc = sqlite3_prepare_v2(ix->db, sql, -1, st, &tail);

	if (rc != SQLITE_OK) {
		int ec = *denied ? SQLITE_AUTH : rc & 0xff;

		snprintf(err, errcap, "%s%s",
			 ec == SQLITE_AUTH ? "refused: vigil sql is read-only and this statement "
					     "would change something (" : "",
			 sqlite3_errmsg(ix->db));
		if (ec == SQLITE_AUTH && strlen(err) + 2 < errcap)
			memcpy(err + strlen(err), ")", 2);
		return ec == SQLITE_AUTH ? -EPERM : -EINVAL;
	}
	if (!*st) {
		snprintf(err, errcap, "no SQL statement given");
		return -EINVAL;
	}
	if (!only_blanks(tail)) {
		snprintf(err, errcap, "one statement at a time, please");
		return -EINVAL;
	}
	if (!sqlite3_stmt_readonly(*st)) {
		snprintf(err, errcap, "refused: vigil sql only reads, this statement writes");
		return -EPERM;
	}
	return 0;
}

/* One result row as idx_sql hands it out; blobs are shown as hex, cut at
 * IDX_SQL_MAX_BLOB_HEX bytes. */
struct sql_cols {
	int n;
	const char **names, **values;
	int *types;
	size_t *lens;
	struct vbuf *blobs;
};

static void sql_cols_free(struct sql_cols *c)
{
	for (int i = 0; c->blobs && i < c->n; i++)
		vbuf_release(&c->blobs[i]);
	vg_free(c->blobs);
	vg_free(c->names);
	vg_free(c->values);
	vg_free(c->types);
	vg_free(c->lens);
}

static int sql_cols_alloc(sqlite3_stmt *st, struct sql_cols *c)
{
	size_t n;

	c->n = sqlite3_column_count(st);
	n = (size_t)c->n + 1;
	c->names = vg_calloc(n, sizeof(*c->names));
	c->values = vg_calloc(n, sizeof(*c->values));
	c->types = vg_calloc(n, sizeof(*c->types));
	c->lens = vg_calloc(n, sizeof(*c->lens));
	c->blobs = vg_calloc(n, sizeof(*c->blobs));
	if (!c->names || !c->values || !c->types || !c->lens || !c->blobs)
		return -ENOMEM;
	for (int i = 0; i < c->n; i++) {
		c->names[i] = sqlite3_column_name(st, i);
		vbuf_init(&c->blobs[i], IDX_SQL_MAX_BLOB_HEX * 2 + 8);
	}
	return 0;
}

/* Points c's values at the current row of st (valid until the next step). */
static void sql_cols_fill(sqlite3_stmt *st, struct sql_cols *c)
{
	for (int i = 0; i < c->n; i++) {
		c->types[i] = sqlite3_column_type(st, i);
		if (c->types[i] == SQLITE_BLOB) {
			const uint8_t *b = sqlite3_column_blob(st, i);
			size_t bl = (size_t)sqlite3_column_bytes(st, i);
			char hex[3];

			vbuf_reset(&c->blobs[i]);
			for (size_t k = 0; k < bl && k < IDX_SQL_MAX_BLOB_HEX; k++) {
				base_hex_encode(b + k, 1, hex);
				vbuf_append(&c->blobs[i], hex, 2);
			}
			c->values[i] = c->blobs[i].data ? (const char *)c->blobs[i].data : "";
			c->lens[i] = c->blobs[i].len;
		} else if (c->types[i] == SQLITE_NULL) {
			c->values[i] = NULL;
			c->lens[i] = 0;
		} else {
			c->values[i] = (const char *)sqlite3_column_text(st, i);
			c->lens[i] = (size_t)sqlite3_column_bytes(st, i);
		}
	}
}

/* How the row loop ended: done, the deadline, or SQLite's error. */
static int sql_end(struct idx *ix, int rc, char *err, size_t errcap)
{
	if (rc == SQLITE_DONE)
		return 0;
	if ((rc & 0xff) == SQLITE_INTERRUPT) {
		snprintf(err, errcap, "query interrupted after %llu s",
			 (unsigned long long)(IDX_SQL_TIMEOUT_NS / 1000000000ull));
		return -ETIMEDOUT;
	}
	snprintf(err, errcap, "%s", sqlite3_errmsg(ix->db));
	return (rc & 0xff) == SQLITE_AUTH || (rc & 0xff) == SQLITE_READONLY ? -EPERM : -EINVAL;
}

int idx_sql(struct idx *ix, const char *sql, uint64_t max_rows, idx_sql_fn fn, void *arg,
	    bool *truncated, char *err, size_t errcap)
{
	struct sql_deadline dl = { vg_mono_ns() + IDX_SQL_TIMEOUT_NS };
	struct sql_cols c = { 0 };
	sqlite3_stmt *st = NULL;
	bool denied = false;
	uint64_t rows = 0;
	int rc;

	*truncated = false;
	if (!ix->rdonly) {
		snprintf(err, errcap, "ad-hoc SQL needs a read-only connection");
		return -EPERM;
	}
	sqlite3_set_authorizer(ix->db, sql_authorizer, &denied);
	sqlite3_progress_handler(ix->db, 10000, sql_progress, &dl);
	if ((rc = sql_prepare(ix, sql, &denied, &st, err, errcap)) < 0)
		goto out;
	if ((rc = sql_cols_alloc(st, &c)) < 0) {
		snprintf(err, errcap, "out of memory");
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_sql_row row = { c.n, c.names, c.values, c.types, c.lens };

		if (rows >= max_rows) {
			*truncated = true;
			rc = SQLITE_DONE;
			break;
		}
		sql_cols_fill(st, &c);
		rows++;
		if ((rc = fn(arg, &row)))
			goto out;
	}
	rc = sql_end(ix, rc, err, errcap);
out:
	sqlite3_finalize(st);
	sqlite3_progress_handler(ix->db, 0, NULL, NULL);
	sqlite3_set_authorizer(ix->db, NULL, NULL);
	sql_cols_free(&c);
	return rc;
}
