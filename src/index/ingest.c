/*
 * ingest.c - indexing ledger events: one row in events (and the full-text
 * table) per EVENT record, plus the derived tables kept current as events
 * arrive: tool_calls (PreToolUse and PostToolUse/PostToolUseFailure paired
 * by (session_id, agent_id, tool_use_id), since a subagent reuses its
 * parent's tool_use_ids), agents (the subagent tree), file_changes and the
 * per-session aggregates (sessions.c keeps them); and, for the events that
 * carry them, the rules engine's detections and alert records (alerts.c).
 *
 * Events may come out of order (a spool drained late): a Post before its
 * Pre still makes a tool call, and the Pre fills in its start later.
 * Every field is optional; nothing in a payload can make idx_add fail, only
 * SQLite can.  A payload that is not a JSON object becomes an "invalid" row
 * that keeps (a bounded, UTF-8-safe copy of) the bytes and the reason.
 */
#include "idx_int.h"
#include "schema.h"
#include "ledger.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>

/* The fields of one event that the index uses; pointers into the json_t. */
struct ev {
	uint64_t seq, time_ns, rec_time_ns;
	const char *id, *session_id, *agent_id, *parent_agent_id, *hook, *event_type, *tool,
		*target, *outcome, *error, *risk, *project_root, *cwd, *prompt_id, *tool_use_id,
		*agent_type, *model, *agent, *agent_version, *parent_tool_use_id, *end_reason,
		*decision, *decision_rule;
	int risk_rank;
	int outside;	     /* -1 unknown */
	int64_t duration_ms; /* -1 unknown */
	json_t *root, *payload, *usage, *file_change;
	bool alert_rows; /* detections or an alert record: alerts.c has rows to write */
	bool merged; /* its session aggregates went into ix->sc */
};

/* What one event changes in its session's row. */
struct deltas {
	int tool_calls, failures, abandoned, prompts, subagents, ended;
};

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

/* A JSON integer or a real with an integral value; -1 otherwise. */
static int64_t jint(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e18)
		return (int64_t)json_real_value(v);
	return -1;
}

/* Replaces bytes that are not UTF-8 with U+FFFD, so the text can go into a
 * JSON string; keeps at most max input bytes. */
static int utf8_clean(const char *s, size_t len, size_t max, struct vbuf *out)
{
	size_t i = 0;
	int rc = 0;

	if (len > max)
		len = max;
	while (i < len && rc == 0) {
		unsigned char c = (unsigned char)s[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 : (c & 0xf0) == 0xe0 ? 3
				  : (c & 0xf8) == 0xf0 ? 4 : 0;
		bool good = n > 0 && i + n <= len && c != 0;

		for (size_t k = 1; good && k < n; k++)
			good = ((unsigned char)s[i + k] & 0xc0) == 0x80;
		/* Overlong forms and surrogates are not UTF-8 either. */
		if (good && n == 2 && c < 0xc2)
			good = false;
		if (good && n == 3 &&
		    ((c == 0xe0 && (unsigned char)s[i + 1] < 0xa0) ||
		     (c == 0xed && (unsigned char)s[i + 1] >= 0xa0)))
			good = false;
		if (good && n == 4 &&
		    ((c == 0xf0 && (unsigned char)s[i + 1] < 0x90) || c > 0xf4 ||
		     (c == 0xf4 && (unsigned char)s[i + 1] >= 0x90)))
			good = false;
		if (good) {
			rc = vbuf_append(out, s + i, n);
			i += n;
		} else {
			rc = vbuf_append(out, "\xef\xbf\xbd", 3);
			i++;
		}
	}
	return rc;
}

/* The row kept for a payload that is not a JSON object. */
static json_t *invalid_event(const char *json, size_t len, const char *why)
{
	struct vbuf raw;
	json_t *o = NULL;

	vbuf_init(&raw, IDX_MAX_RAW_KEPT * 3 + 16);
	if (utf8_clean(json, len, IDX_MAX_RAW_KEPT, &raw) < 0)
		goto out;
	o = json_pack("{s:s, s:s, s:s, s:s%, s:I}", "hook", "unknown", "event_type", "invalid",
		      "error", why, "raw", raw.data ? (const char *)raw.data : "", raw.len,
		      "raw_bytes", (json_int_t)len);
out:
	vbuf_release(&raw);
	return o;
}

/* The row's fields, from the typed view of the event (schema.h). */
static void fields_of(struct ev *e)
{
	struct ev_view v;

	ev_view_fill(e->root, &v);
	e->payload = v.payload;
	e->id = v.id;
	e->time_ns = e->rec_time_ns;
	if (v.time) /* on failure the record's time stays */
		vg_parse_time(v.time, VG_TIME_DATE, &e->time_ns);
	e->session_id = v.session_id;
	e->agent_id = v.agent_id && *v.agent_id ? v.agent_id : NULL;
	e->parent_agent_id = v.parent_agent_id;
	e->parent_tool_use_id = v.parent_tool_use_id;
	e->hook = v.hook;
	e->event_type = v.event_type;
	e->tool = v.tool;
	e->target = v.target;
	e->outcome = v.outcome;
	e->error = v.error;
	e->duration_ms = v.duration_ms;
	e->risk = v.risk_level;
	e->risk_rank = v.risk_level ? idx_risk_parse(v.risk_level) : 0;
	if (e->risk_rank < 0)
		e->risk_rank = 0;
	e->outside = v.outside_scope;
	e->project_root = v.project_root;
	e->cwd = v.cwd;
	e->prompt_id = v.prompt_id;
	e->tool_use_id = v.tool_use_id;
	e->agent_type = v.agent_type;
	e->agent = v.agent;
	e->agent_version = v.agent_version;
	/* SessionStart carries the model in its payload. */
	e->model = v.model;
	if (!e->model && e->payload)
		e->model = jstr(e->payload, EVF_MODEL);
	if (streq(e->event_type, "session_end") && e->payload)
		e->end_reason = jstr(e->payload, "reason");
	e->usage = v.usage;
	e->file_change = v.file_change;
	e->decision = v.decision_action;
	e->decision_rule = v.decision_rule;
	e->alert_rows = (v.detections && json_array_size(v.detections) > 0) ||
			streq(e->event_type, "alert");
}

/* Appends one string and a line break, cut at the buffer's limit. */
static void fts_append(struct vbuf *out, const char *s, size_t n)
{
	size_t room;

	if (out->len + 1 >= out->limit)
		return;
	room = out->limit - out->len - 1;
	if (n > room)
		n = room; /* FTS5 copes with a cut character: it is a word boundary */
	vbuf_append(out, s, n);
	vbuf_append(out, "\n", 1);
}

/* The payload fields whose text people search for, besides the target, the
 * error and the prompt, which have their own columns: what the agent and
 * the client said.  (docs/index.md lists them.) */
static const char *const fts_payload_fields[] = {
	"last_assistant_message", "message",	      "title",	     "session_title",
	"error_details",	  "compact_summary", "custom_instructions",
};

/* The "message" column of the full-text table (IDX_TUNE_FTS). */
static void fts_message(struct ev *e, struct vbuf *out)
{
	json_t *v;

	if (!e->payload) {
		/* An invalid record: its raw bytes are all there is to search. */
		v = json_object_get(e->root, "raw");
		if (json_is_string(v))
			fts_append(out, json_string_value(v), json_string_length(v));
		return;
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(fts_payload_fields); i++) {
		v = json_object_get(e->payload, fts_payload_fields[i]);
		if (json_is_string(v))
			fts_append(out, json_string_value(v), json_string_length(v));
	}
	v = json_object_get(e->payload, "tool_input");
	v = json_is_object(v) ? json_object_get(v, "description") : NULL;
	if (json_is_string(v))
		fts_append(out, json_string_value(v), json_string_length(v));
}

/* Every string of the payload, as schema version 1 fed it to full-text
 * search (what bench/index_bench.c measures against). */
static void fts_text(json_t *j, struct vbuf *out, int depth)
{
	const char *key;
	json_t *v;
	size_t i;

	if (depth > 32 || out->len >= out->limit)
		return;
	if (json_is_string(j)) {
		fts_append(out, json_string_value(j), json_string_length(j));
	} else if (json_is_object(j)) {
		json_object_foreach(j, key, v)
			fts_text(v, out, depth + 1);
	} else if (json_is_array(j)) {
		json_array_foreach(j, i, v)
			fts_text(v, out, depth + 1);
	}
}

int idx_step_done(struct idx *ix, sqlite3_stmt *st, const char *what, char *err, size_t errcap)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return idx_sqlerr(ix, rc, what, err, errcap);
	return 0;
}

/*
 * Binds a possibly-NULL string for one step.  With IDX_TUNE_BINDS SQLite
 * does not copy it (SQLITE_STATIC): every string bound here (the event's,
 * a row read back, a pending session's) outlives the sqlite3_step that
 * reads it, and each statement is reset and its bindings cleared before
 * its next use (idx_stmt), so no stale pointer is ever read.
 */
void idx_bind_str(struct idx *ix, sqlite3_stmt *st, int i, const char *s)
{
	if (!s)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_text(st, i, s, -1,
				  (ix->tune & IDX_TUNE_BINDS) ? SQLITE_STATIC : SQLITE_TRANSIENT);
}

void idx_bind_opt_int(sqlite3_stmt *st, int i, int64_t v)
{
	if (v < 0)
		sqlite3_bind_null(st, i);
	else
		sqlite3_bind_int64(st, i, v);
}

static int insert_event(struct idx *ix, struct ev *e, const char *json, size_t len, char *err,
			size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_INS_EVENT, err, errcap);

	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)e->seq);
	idx_bind_str(ix, st, 2, e->id);
	sqlite3_bind_int64(st, 3, (int64_t)e->time_ns);
	sqlite3_bind_int64(st, 4, (int64_t)e->rec_time_ns);
	idx_bind_str(ix, st, 5, e->session_id);
	idx_bind_str(ix, st, 6, e->agent_id);
	idx_bind_str(ix, st, 7, e->parent_agent_id);
	idx_bind_str(ix, st, 8, e->hook);
	idx_bind_str(ix, st, 9, e->event_type);
	idx_bind_str(ix, st, 10, e->tool);
	idx_bind_str(ix, st, 11, e->target);
	idx_bind_str(ix, st, 12, e->outcome);
	idx_bind_str(ix, st, 13, e->error);
	idx_bind_opt_int(st, 14, e->duration_ms);
	idx_bind_str(ix, st, 15, e->risk);
	sqlite3_bind_int(st, 16, e->risk_rank);
	idx_bind_opt_int(st, 17, e->outside);
	idx_bind_str(ix, st, 18, e->project_root);
	idx_bind_str(ix, st, 19, e->cwd);
	idx_bind_str(ix, st, 20, e->prompt_id);
	idx_bind_str(ix, st, 21, e->tool_use_id);
	sqlite3_bind_text(st, 22, json, (int)len, SQLITE_STATIC);
	idx_bind_str(ix, st, 23, e->decision);
	idx_bind_str(ix, st, 24, e->decision_rule);
	return idx_step_done(ix, st, "index: insert event", err, errcap);
}

static int insert_fts(struct idx *ix, struct ev *e, char *err, size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_INS_FTS, err, errcap);
	const char *prompt = NULL;
	struct vbuf text, *tb = &text;
	int rc;

	if (!st)
		return -EIO;
	if (e->payload) {
		json_t *ti = json_object_get(e->payload, "tool_input");

		prompt = jstr(e->payload, "prompt");
		if (!prompt && json_is_object(ti))
			prompt = jstr(ti, "prompt");
	}
	vbuf_init(&text, IDX_MAX_FTS_TEXT);
	if (ix->tune & IDX_TUNE_BINDS) {
		/* One buffer for the life of the connection: no allocation per event. */
		tb = &ix->fts;
		if (!tb->limit)
			vbuf_init(tb, IDX_MAX_FTS_TEXT);
		vbuf_reset(tb);
	}
	if (ix->tune & IDX_TUNE_FTS)
		fts_message(e, tb);
	else
		fts_text(e->payload ? e->payload : json_object_get(e->root, "raw"), tb, 0);
	sqlite3_bind_int64(st, 1, (int64_t)e->seq);
	idx_bind_str(ix, st, 2, e->target);
	idx_bind_str(ix, st, 3, e->error);
	idx_bind_str(ix, st, 4, prompt);
	if (tb->len)
		sqlite3_bind_text(st, 5, (const char *)tb->data, (int)tb->len, SQLITE_STATIC);
	rc = idx_step_done(ix, st, "index: insert text", err, errcap);
	vbuf_release(&text);
	return rc;
}

enum tc_kind { TC_NONE, TC_PRE, TC_POST, TC_ABANDONED };

static enum tc_kind tc_kind_of(const struct ev *e)
{
	if (!e->tool_use_id)
		return TC_NONE;
	if (streq(e->hook, "PreToolUse"))
		return TC_PRE;
	if (streq(e->hook, "PostToolUse") || streq(e->hook, "PostToolUseFailure"))
		return TC_POST;
	if (streq(e->event_type, "tool_abandoned"))
		return TC_ABANDONED;
	return TC_NONE;
}

/* The paired row of a tool call, as read, changed in C and written back. */
struct tc_row {
	int64_t id; /* 0: new */
	char *tool, *target, *outcome, *error;
	int64_t pre_seq, post_seq, start_ns, end_ns, duration_ms; /* -1: NULL */
};

static char *dup_or_null(const char *s)
{
	return s ? vg_strdup(s) : NULL;
}

static void tc_row_release(struct tc_row *r)
{
	vg_free(r->tool);
	vg_free(r->target);
	vg_free(r->outcome);
	vg_free(r->error);
}

/* Replaces *slot with a copy of s (when s is set).  -ENOMEM. */
static int set_str(char **slot, const char *s)
{
	char *c;

	if (!s)
		return 0;
	c = vg_strdup(s);
	if (!c)
		return -ENOMEM;
	vg_free(*slot);
	*slot = c;
	return 0;
}

/* The tool call's row as it stands, into *r (left as it is when there is
 * none yet).  0, or -errno from SQLite. */
static int tc_read(struct idx *ix, const struct ev *e, struct tc_row *r, char *err, size_t errcap)
{
	const char *sid = e->session_id ? e->session_id : "", *aid = e->agent_id ? e->agent_id : "";
	sqlite3_stmt *st = idx_stmt(ix, ST_TC_GET, err, errcap);
	int rc;

	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, sid);
	idx_bind_str(ix, st, 2, aid);
	idx_bind_str(ix, st, 3, e->tool_use_id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		r->id = sqlite3_column_int64(st, 0);
		r->tool = dup_or_null(idx_col_text(st, 1));
		r->target = dup_or_null(idx_col_text(st, 2));
		r->pre_seq = idx_col_int(st, 3, -1);
		r->post_seq = idx_col_int(st, 4, -1);
		r->start_ns = idx_col_int(st, 5, -1);
		r->end_ns = idx_col_int(st, 6, -1);
		r->duration_ms = idx_col_int(st, 7, -1);
		r->outcome = dup_or_null(idx_col_text(st, 8));
		r->error = dup_or_null(idx_col_text(st, 9));
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_OK)
		return idx_sqlerr(ix, rc, "index: read tool call", err, errcap);
	return 0;
}

/* The steps below apply one event to the row: 0 when changed, 1 when the
 * row stays as it is, -ENOMEM. */

static int tc_pre(struct tc_row *r, const struct ev *e)
{
	if (r->pre_seq >= 0)
		return 1; /* the same Pre twice: the first one stands */
	r->pre_seq = (int64_t)e->seq;
	r->start_ns = (int64_t)e->time_ns;
	if (!r->outcome && set_str(&r->outcome, "pending") < 0)
		return -ENOMEM;
	if (r->duration_ms < 0 && r->end_ns >= r->start_ns && r->end_ns >= 0)
		r->duration_ms = (r->end_ns - r->start_ns) / 1000000;
	return 0;
}

static int tc_post(struct tc_row *r, const struct ev *e, bool was_abandoned, struct deltas *d)
{
	const char *oc = e->outcome;

	if (r->post_seq >= 0)
		return 1; /* a second Post: the first one stands */
	if (!oc || (strcmp(oc, "success") && strcmp(oc, "failure")))
		oc = streq(e->hook, "PostToolUseFailure") ? "failure" : "success";
	r->post_seq = (int64_t)e->seq;
	r->end_ns = (int64_t)e->time_ns;
	if (set_str(&r->outcome, oc) < 0 || set_str(&r->error, e->error) < 0)
		return -ENOMEM;
	/* The agent's own figure is exact; the hook times include IPC. */
	if (e->duration_ms >= 0)
		r->duration_ms = e->duration_ms;
	else if (r->start_ns >= 0 && r->end_ns >= r->start_ns)
		r->duration_ms = (r->end_ns - r->start_ns) / 1000000;
	if (!strcmp(oc, "failure"))
		d->failures++;
	if (was_abandoned)
		d->abandoned--; /* it finished after all */
	return 0;
}

static int tc_abandoned(struct tc_row *r, const struct ev *e, bool was_pending, struct deltas *d)
{
	if (!was_pending)
		return 1; /* finished (or already abandoned) meanwhile */
	if (set_str(&r->outcome, "abandoned") < 0)
		return -ENOMEM;
	if (e->error && set_str(&r->error, e->error) < 0)
		return -ENOMEM;
	/* The time it was pending, as the tool_abandoned event says. */
	if (e->duration_ms >= 0)
		r->duration_ms = e->duration_ms;
	else if (r->start_ns >= 0 && (int64_t)e->time_ns >= r->start_ns)
		r->duration_ms = ((int64_t)e->time_ns - r->start_ns) / 1000000;
	d->abandoned++;
	return 0;
}

static int tc_apply(struct tc_row *r, const struct ev *e, enum tc_kind kind, struct deltas *d)
{
	bool was_pending = !r->outcome || !strcmp(r->outcome, "pending");
	bool was_abandoned = r->outcome && !strcmp(r->outcome, "abandoned");
	int rc = 0;

	if (!r->tool && set_str(&r->tool, e->tool) < 0)
		return -ENOMEM;
	/* The Pre's target is what the agent asked for; a Post only fills a gap. */
	if ((kind == TC_PRE || !r->target) && set_str(&r->target, e->target) < 0)
		return -ENOMEM;
	if (kind == TC_PRE)
		rc = tc_pre(r, e);
	else if (kind == TC_POST)
		rc = tc_post(r, e, was_abandoned, d);
	else if (kind == TC_ABANDONED)
		rc = tc_abandoned(r, e, was_pending, d);
	if (rc == 0 && !r->outcome && set_str(&r->outcome, "pending") < 0)
		return -ENOMEM;
	return rc;
}

/* Writes the row back: an update, or the insert of a new tool call. */
static int tc_write(struct idx *ix, const struct ev *e, const struct tc_row *r, struct deltas *d,
		    bool *new_call, char *err, size_t errcap)
{
	const char *sid = e->session_id ? e->session_id : "", *aid = e->agent_id ? e->agent_id : "";
	sqlite3_stmt *st = idx_stmt(ix, r->id ? ST_TC_UPD : ST_TC_INS, err, errcap);
	int i = 1;

	if (!st)
		return -EIO;
	if (r->id) {
		sqlite3_bind_int64(st, i++, r->id);
	} else {
		idx_bind_str(ix, st, i++, sid);
		idx_bind_str(ix, st, i++, aid);
		idx_bind_str(ix, st, i++, e->tool_use_id);
		d->tool_calls++;
		*new_call = true;
	}
	idx_bind_str(ix, st, i++, r->tool);
	idx_bind_str(ix, st, i++, r->target);
	idx_bind_opt_int(st, i++, r->pre_seq);
	idx_bind_opt_int(st, i++, r->post_seq);
	idx_bind_opt_int(st, i++, r->start_ns);
	idx_bind_opt_int(st, i++, r->end_ns);
	idx_bind_opt_int(st, i++, r->duration_ms);
	idx_bind_str(ix, st, i++, r->outcome);
	idx_bind_str(ix, st, i, r->error);
	return idx_step_done(ix, st, "index: write tool call", err, errcap);
}

/* Pairs a Pre, Post or abandonment with its tool call: read the row, apply
 * the event, write the row back. */
static int tool_call(struct idx *ix, struct ev *e, struct deltas *d, bool *new_call, char *err,
		     size_t errcap)
{
	enum tc_kind kind = tc_kind_of(e);
	struct tc_row r = {
		.pre_seq = -1, .post_seq = -1, .start_ns = -1, .end_ns = -1, .duration_ms = -1
	};
	int rc;

	*new_call = false;
	if (kind == TC_NONE)
		return 0;
	rc = tc_read(ix, e, &r, err, errcap);
	if (rc < 0)
		goto out;
	rc = tc_apply(&r, e, kind, d);
	if (rc == 0) {
		rc = tc_write(ix, e, &r, d, new_call, err, errcap);
	} else if (rc == 1) {
		rc = 0;
	} else {
		snprintf(err, errcap, "index: out of memory");
	}
out:
	tc_row_release(&r);
	return rc;
}

/* What an agent row holds that an event's upsert could change. */
struct agent_row {
	bool has_parent, has_type;
	char ptu[128], pagent[128]; /* "" for NULL; a longer value never compares equal */
	bool ptu_fits, pagent_fits, pagent_null;
	int64_t start_ns, start_seq; /* -1: NULL */
};

/* Copies a column into a fixed buffer; false when it does not fit. */
static bool col_copy(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	const char *v = idx_col_text(st, i);
	size_t n = v ? strlen(v) : 0;

	out[0] = '\0';
	if (n >= cap)
		return false;
	memcpy(out, v ? v : "", n + 1);
	return true;
}

/* 1 when the agent row exists (with *row filled), 0 when not. */
static int agent_lookup(struct idx *ix, const char *sid, const char *aid, struct agent_row *row,
			char *err, size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_AGENT_GET, err, errcap);
	int rc;

	memset(row, 0, sizeof(*row));
	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, sid);
	idx_bind_str(ix, st, 2, aid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		row->has_parent = sqlite3_column_type(st, 0) != SQLITE_NULL;
		row->ptu_fits = col_copy(st, 0, row->ptu, sizeof(row->ptu));
		row->pagent_null = sqlite3_column_type(st, 1) == SQLITE_NULL;
		row->pagent_fits = col_copy(st, 1, row->pagent, sizeof(row->pagent));
		row->has_type = sqlite3_column_type(st, 2) != SQLITE_NULL;
		row->start_ns = idx_col_int(st, 3, -1);
		row->start_seq = idx_col_int(st, 4, -1);
	}
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return idx_sqlerr(ix, rc, "index: read agent", err, errcap);
}

/*
 * Whether ST_AGENT_UPSERT would leave an existing row as it is (then
 * IDX_TUNE_AGENTS skips it): no new call to count, no type to fill in, the
 * same parent, and no earlier start.  Mirrors the upsert's SET clauses.
 */
static bool agent_unchanged(const struct agent_row *row, const struct ev *e, const char *ptu,
			    const char *pagent, bool new_call)
{
	if (new_call || (!row->has_type && e->agent_type))
		return false;
	if (row->start_ns < 0 || row->start_seq < 0 || (uint64_t)row->start_ns > e->time_ns ||
	    (uint64_t)row->start_seq > e->seq)
		return false;
	if (!ptu)
		return true; /* the parent is left alone */
	if (!row->has_parent || !row->ptu_fits || strcmp(row->ptu, ptu))
		return false;
	if (!pagent)
		return row->pagent_null;
	return !row->pagent_null && row->pagent_fits && !strcmp(row->pagent, pagent);
}

/* The parent of a new agent, guessed from the session's pending Agent/Task
 * calls: *tu and *parent are copies, or NULL when there is no guess. */
static int agent_guess_parent(struct idx *ix, const char *sid, char **tu, char **parent, char *err,
			      size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_AGENT_GUESS, err, errcap);
	int rc;

	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, sid);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const char *pa = idx_col_text(st, 1);

		*tu = dup_or_null(idx_col_text(st, 0));
		*parent = pa && *pa ? vg_strdup(pa) : NULL;
		rc = SQLITE_OK;
	} else if (rc == SQLITE_DONE) {
		rc = SQLITE_OK;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_OK)
		return idx_sqlerr(ix, rc, "index: find parent", err, errcap);
	return 0;
}

/* The event's agent seen (ST_AGENT_UPSERT): parent (ptu NULL: unknown),
 * type, earliest start, and one more call when new_call. */
static int agent_upsert(struct idx *ix, const struct ev *e, const char *ptu, const char *pagent,
			bool new_call, char *err, size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_AGENT_UPSERT, err, errcap);

	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, e->session_id);
	idx_bind_str(ix, st, 2, e->agent_id);
	idx_bind_str(ix, st, 3, e->agent_type);
	idx_bind_str(ix, st, 4, ptu ? pagent : NULL);
	idx_bind_str(ix, st, 5, ptu);
	sqlite3_bind_int64(st, 6, (int64_t)e->time_ns);
	sqlite3_bind_int64(st, 7, (int64_t)e->seq);
	sqlite3_bind_int(st, 8, new_call ? 1 : 0);
	return idx_step_done(ix, st, "index: write agent", err, errcap);
}

/* SubagentStop: the agent's end. */
static int agent_end(struct idx *ix, const struct ev *e, char *err, size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_AGENT_END, err, errcap);

	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, e->session_id);
	idx_bind_str(ix, st, 2, e->agent_id);
	sqlite3_bind_int64(st, 3, (int64_t)e->time_ns);
	sqlite3_bind_int64(st, 4, (int64_t)e->seq);
	return idx_step_done(ix, st, "index: end agent", err, errcap);
}

/* The row of the event's own agent (e->agent_id set). */
static int own_agent(struct idx *ix, struct ev *e, bool new_call, struct deltas *d, char *err,
		     size_t errcap)
{
	char *guess_tu = NULL, *guess_parent = NULL;
	const char *ptu = e->parent_tool_use_id, *pagent = e->parent_agent_id;
	struct agent_row row;
	int rc = 0, exists;

	exists = agent_lookup(ix, e->session_id, e->agent_id, &row, err, errcap);
	if (exists < 0)
		return exists;
	if (!exists)
		d->subagents++;
	/* Parent unknown: guess from the pending Agent/Task calls. */
	if (!ptu && !row.has_parent && (!exists || streq(e->hook, "SubagentStart"))) {
		rc = agent_guess_parent(ix, e->session_id, &guess_tu, &guess_parent, err, errcap);
		if (rc < 0)
			goto out;
		if (guess_tu) {
			ptu = guess_tu;
			pagent = guess_parent;
		}
	}
	if (!exists || !(ix->tune & IDX_TUNE_AGENTS) ||
	    !agent_unchanged(&row, e, ptu, ptu ? pagent : NULL, new_call))
		rc = agent_upsert(ix, e, ptu, pagent, new_call, err, errcap);
	if (rc == 0 && streq(e->hook, "SubagentStop"))
		rc = agent_end(ix, e, err, errcap);
out:
	vg_free(guess_tu);
	vg_free(guess_parent);
	return rc;
}

/* The Agent/Task result names its subagent: that settles the parent. */
static int link_subagent(struct idx *ix, struct ev *e, struct deltas *d, char *err, size_t errcap)
{
	const char *sid = e->session_id, *child;
	struct agent_row row;
	sqlite3_stmt *st;
	json_t *resp;
	int exists;

	if (!streq(e->hook, "PostToolUse") || !e->payload || !e->tool_use_id ||
	    !(streq(e->tool, "Agent") || streq(e->tool, "Task")))
		return 0;
	resp = json_object_get(e->payload, "tool_response");
	child = json_is_object(resp) ? jstr(resp, "agentId") : NULL;
	if (!child || !*child)
		return 0;
	exists = agent_lookup(ix, sid, child, &row, err, errcap);
	if (exists < 0)
		return exists;
	st = idx_stmt(ix, exists ? ST_AGENT_PARENT : ST_AGENT_UPSERT, err, errcap);
	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, sid);
	idx_bind_str(ix, st, 2, child);
	if (exists) {
		idx_bind_str(ix, st, 3, e->agent_id);
		idx_bind_str(ix, st, 4, e->tool_use_id);
	} else {
		/* The subagent's own events were lost or are still to come. */
		json_t *ty = json_object_get(resp, "agentType");

		idx_bind_str(ix, st, 3, json_is_string(ty) ? json_string_value(ty) : NULL);
		idx_bind_str(ix, st, 4, e->agent_id);
		idx_bind_str(ix, st, 5, e->tool_use_id);
		sqlite3_bind_null(st, 6);
		sqlite3_bind_null(st, 7);
		sqlite3_bind_int(st, 8, 0);
		d->subagents++;
	}
	return idx_step_done(ix, st, "index: link agent", err, errcap);
}

/* Keeps the agents table current: the event's own agent, and the subagent an
 * Agent/Task PostToolUse names in tool_response.agentId. */
static int agents(struct idx *ix, struct ev *e, bool new_call, struct deltas *d, char *err,
		  size_t errcap)
{
	int rc;

	if (!e->session_id)
		return 0;
	if (e->agent_id && (rc = own_agent(ix, e, new_call, d, err, errcap)) < 0)
		return rc;
	return link_subagent(ix, e, d, err, errcap);
}

static int file_change(struct idx *ix, struct ev *e, char *err, size_t errcap)
{
	json_t *fc = e->file_change;
	const char *path = e->target;
	sqlite3_stmt *st;
	json_t *cr;

	/* A successful write or edit changed its file, whether or not the
	 * pipeline could measure the change. */
	if (!fc && !(streq(e->hook, "PostToolUse") && !streq(e->outcome, "failure") &&
		     (streq(e->event_type, "file_write") || streq(e->event_type, "file_edit") ||
		      streq(e->event_type, "notebook_operation"))))
		return 0;
	if (fc && streq(e->hook, "PreToolUse"))
		return 0; /* only a finished call changed anything */
	if (fc && jstr(fc, "path"))
		path = jstr(fc, "path");
	if (!path)
		return 0;
	st = idx_stmt(ix, ST_FILE_CHANGE, err, errcap);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)e->seq);
	idx_bind_str(ix, st, 2, e->session_id);
	idx_bind_str(ix, st, 3, e->agent_id);
	idx_bind_str(ix, st, 4, e->tool_use_id);
	idx_bind_str(ix, st, 5, e->tool);
	idx_bind_str(ix, st, 6, path);
	idx_bind_str(ix, st, 7, fc ? jstr(fc, "before_sha256") : NULL);
	idx_bind_str(ix, st, 8, fc ? jstr(fc, "after_sha256") : NULL);
	idx_bind_opt_int(st, 9, fc ? jint(fc, "lines_added") : -1);
	idx_bind_opt_int(st, 10, fc ? jint(fc, "lines_removed") : -1);
	cr = fc ? json_object_get(fc, "created") : NULL;
	idx_bind_opt_int(st, 11, json_is_boolean(cr) ? json_is_true(cr) : -1);
	return idx_step_done(ix, st, "index: write file change", err, errcap);
}

/* ---- sessions (the aggregates are kept and written by sessions.c) -------------- */

static const char *const usage_keys[5] = {
	"input_tokens", "output_tokens", "cache_read_input_tokens", "cache_creation_input_tokens",
	"total_tokens",
};

/* One event's contribution to its session (strings borrowed from the event). */
static void sess_of_event(const struct ev *e, const struct deltas *d, struct sess_acc *a)
{
	json_t *cost = e->usage ? json_object_get(e->usage, "cost_usd") : NULL;

	memset(a, 0, sizeof(*a));
	a->id = e->session_id;
	a->first_ns = a->last_ns = e->time_ns;
	a->first_seq = a->last_seq = e->seq;
	a->events = 1;
	a->project_root = e->project_root;
	a->cwd = e->cwd;
	a->agent = e->agent;
	a->model = e->model;
	a->agent_version = e->agent_version;
	a->end_reason = e->end_reason;
	a->risk = e->risk_rank ? e->risk : NULL;
	a->risk_rank = e->risk_rank;
	a->ended = d->ended;
	a->tool_calls = d->tool_calls;
	a->failures = d->failures;
	a->abandoned = d->abandoned;
	a->prompts = d->prompts;
	a->subagents = d->subagents;
	for (size_t i = 0; i < VG_ARRAY_LEN(a->tokens); i++)
		a->tokens[i] = e->usage ? jint(e->usage, usage_keys[i]) : -1;
	a->cost_usd = json_is_number(cost) && json_number_value(cost) >= 0 ? json_number_value(cost)
									    : -1;
}

/* The event's session: written now (one event per transaction, or without
 * IDX_TUNE_SESSIONS), else merged until idx_commit. */
static int session(struct idx *ix, struct ev *e, const struct deltas *d, char *err,
		   size_t errcap)
{
	struct sess_acc a;
	int rc;

	/* Alert records name the session they are about, but are vigil's, not
	 * the agent's: they do not count as the session's events. */
	if (!e->session_id || streq(e->event_type, "alert"))
		return 0;
	sess_of_event(e, d, &a);
	if (!ix->in_tx || !(ix->tune & IDX_TUNE_SESSIONS))
		return idx_session_write(ix, &a, err, errcap);
	rc = idx_session_merge(ix, &a, err, errcap);
	e->merged = true; /* even half-merged on failure */
	return rc;
}

/* Everything one event writes; runs inside a transaction or savepoint. */
static int add_rows(struct idx *ix, struct ev *e, const char *json, size_t len, char *err,
		    size_t errcap)
{
	struct deltas d = { 0 };
	bool new_call = false;
	int rc;

	rc = insert_event(ix, e, json, len, err, errcap);
	if (rc == 0)
		rc = insert_fts(ix, e, err, errcap);
	if (rc == 0)
		rc = tool_call(ix, e, &d, &new_call, err, errcap);
	if (rc == 0)
		rc = agents(ix, e, new_call, &d, err, errcap);
	if (rc == 0)
		rc = file_change(ix, e, err, errcap);
	if (rc == 0 && e->alert_rows)
		rc = idx_alert_rows(ix, e->seq, e->time_ns, e->root, err, errcap);
	if (rc == 0) {
		d.prompts = streq(e->event_type, "user_prompt");
		d.ended = streq(e->event_type, "session_end");
		rc = session(ix, e, &d, err, errcap);
	}
	return rc;
}

static int has_seq(struct idx *ix, uint64_t seq, char *err, size_t errcap)
{
	sqlite3_stmt *st;
	int rc;

	if (ix->tune & IDX_TUNE_STMTS) {
		/* Events come in seq order: one look at max(seq) per transaction
		 * (under its write lock, so no other writer moves it) spares a
		 * lookup per event. */
		if (!ix->max_seq_known) {
			rc = idx_last_seq(ix, &ix->max_seq);
			if (rc < 0)
				return idx_sqlerr(ix, SQLITE_ERROR, "index: read the last seq", err,
						  errcap);
			ix->max_seq_known = true;
		}
		if (seq > ix->max_seq)
			return 0;
	}
	st = idx_stmt(ix, ST_HAS_SEQ, err, errcap);
	if (!st)
		return -EIO;
	sqlite3_bind_int64(st, 1, (int64_t)seq);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return idx_sqlerr(ix, rc, "index: look up seq", err, errcap);
}

/* Runs a transaction-control statement: prepared once (IDX_TUNE_STMTS), or
 * compiled on each call by sqlite3_exec. */
static int tx_stmt(struct idx *ix, enum idx_stmt which, const char *sql, char *err,
		   size_t errcap)
{
	sqlite3_stmt *st;

	if (!(ix->tune & IDX_TUNE_STMTS))
		return idx_exec(ix, sql, err, errcap);
	st = idx_stmt(ix, which, err, errcap);
	if (!st)
		return -EIO;
	return idx_step_done(ix, st, "index: savepoint", err, errcap);
}

static int add_one(struct idx *ix, uint64_t seq, uint64_t rec_time_ns, const char *json,
		   size_t len, json_t *parsed, char *err, size_t errcap);

int idx_add(struct idx *ix, uint64_t seq, uint64_t rec_time_ns, const char *json, size_t len,
	    char *err, size_t errcap)
{
	return add_one(ix, seq, rec_time_ns, json, len, NULL, err, errcap);
}

int idx_add_event(struct idx *ix, uint64_t seq, uint64_t rec_time_ns, json_t *event,
		  const char *json, size_t len, char *err, size_t errcap)
{
	if (!json_is_object(event)) {
		snprintf(err, errcap, "index: the parsed event is not a JSON object");
		return -EINVAL;
	}
	return add_one(ix, seq, rec_time_ns, json, len, event, err, errcap);
}

/* idx_add with the payload already parsed (parsed != NULL) or not. */
static int add_one(struct idx *ix, uint64_t seq, uint64_t rec_time_ns, const char *json,
		   size_t len, json_t *parsed, char *err, size_t errcap)
{
	struct ev e = { .seq = seq, .rec_time_ns = rec_time_ns };
	json_error_t jerr;
	char *dump = NULL;
	const char *row_json = json;
	size_t row_len = len;
	bool own_tx = !ix->in_tx;
	int rc;

	if (ix->rdonly) {
		snprintf(err, errcap, "index opened read-only");
		return -EPERM;
	}
	if (seq == 0 || seq > INT64_MAX || !json) {
		snprintf(err, errcap, "index: bad event record (seq %" PRIu64 ")", seq);
		return -EINVAL;
	}
	/* Too many sessions pending: write them out now, outside any event's
	 * savepoint (so a failure cannot take them back with one event). */
	if (!own_tx && ix->sc.n >= IDX_MAX_PENDING_SESSIONS &&
	    (rc = idx_sessions_flush(ix, err, errcap)) < 0)
		return rc;
	/* One savepoint per event: an SQLite failure half-way leaves nothing of
	 * the event behind, even inside the daemon's batch. */
	if (own_tx) {
		ix->max_seq_known = false;
		rc = idx_exec(ix, "BEGIN IMMEDIATE", err, errcap);
	} else {
		rc = tx_stmt(ix, ST_SAVEPOINT, "SAVEPOINT idx_add", err, errcap);
	}
	if (rc < 0)
		return rc;
	rc = has_seq(ix, seq, err, errcap);
	if (rc != 0)
		goto done; /* already indexed (1 -> 0 below), or an error */

	/* Parsing is the largest part of indexing an event; the daemon, which
	 * has the object already, hands it over (idx_add_event). */
	if (parsed)
		e.root = json_incref(parsed);
	else
		e.root = json_loadb(json, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!e.root || !json_is_object(e.root)) {
		char why[256];

		if (!e.root)
			snprintf(why, sizeof(why), "unparsable event JSON at column %d: %s",
				 jerr.column, jerr.text);
		else
			snprintf(why, sizeof(why), "event JSON is not an object");
		json_decref(e.root);
		e.root = invalid_event(json, len, why);
		dump = e.root ? json_dumps(e.root, JSON_COMPACT) : NULL;
		if (!dump) {
			snprintf(err, errcap, "index: out of memory");
			rc = -ENOMEM;
			goto done;
		}
		row_json = dump;
		row_len = strlen(dump);
	}
	fields_of(&e);
	rc = add_rows(ix, &e, row_json, row_len, err, errcap);
done:
	if (rc < 0) {
		if (own_tx) {
			idx_exec(ix, "ROLLBACK", NULL, 0);
		} else {
			tx_stmt(ix, ST_ROLLBACK_TO, "ROLLBACK TO idx_add", NULL, 0);
			tx_stmt(ix, ST_RELEASE, "RELEASE idx_add", NULL, 0);
		}
	} else {
		rc = own_tx ? idx_exec(ix, "COMMIT", err, errcap)
			    : tx_stmt(ix, ST_RELEASE, "RELEASE idx_add", err, errcap);
		if (rc < 0 && own_tx)
			idx_exec(ix, "ROLLBACK", NULL, 0);
	}
	if (rc < 0 && e.merged)
		ix->sc.broken = true; /* the rows are gone, the merged aggregates are not */
	else if (rc == 0 && !own_tx && seq > ix->max_seq)
		ix->max_seq = seq;
	json_decref(e.root);
	vg_free(dump);
	return rc < 0 ? rc : 0;
}

int idx_sync_ledger(struct idx *ix, const char *ledger_dir,
		    void (*progress)(void *arg, uint64_t records), void *arg, char *err,
		    size_t errcap)
{
	return idx_sync_ledger_from(ix, ledger_dir, 0, progress, arg, err, errcap);
}

int idx_sync_ledger_from(struct idx *ix, const char *ledger_dir, uint64_t from_seq,
			 void (*progress)(void *arg, uint64_t records), void *arg, char *err,
			 size_t errcap)
{
	struct ledger_reader *r = NULL;
	struct ledger_record rec;
	uint64_t last = 0, done = 0, in_batch = 0;
	char rerr[256] = "";
	bool damaged = false;
	int rc;

	if (ix->in_tx) {
		snprintf(err, errcap, "index: sync inside a transaction");
		return -EINVAL;
	}
	rc = idx_last_seq(ix, &last);
	if (rc < 0)
		return idx_sqlerr(ix, SQLITE_ERROR, "index: read the last indexed seq", err, errcap);
	/* From a given seq, idx_add skips what is there; otherwise everything
	 * up to last is. */
	if (from_seq)
		last = from_seq - 1;
	/* Start past what is indexed: the reader skips whole segments by their
	 * headers, so a sync that finds little to do costs little. */
	rc = ledger_reader_open_at(ledger_dir, last + 1, &r, err, errcap);
	if (rc < 0)
		return rc;
	for (;;) {
		rc = ledger_reader_next(r, &rec, rerr, sizeof(rerr));
		/* A frame still being written by the live writer reads as an
		 * incomplete record at the end: that is where the ledger ends for
		 * now, not damage (a real torn tail is cut and recorded by the
		 * writer's recovery, and reported by vigil verify). */
		if (rc == LEDGER_E_SHORT_TAIL)
			rc = 0;
		if (rc <= 0) {
			damaged = rc < 0;
			if (damaged)
				snprintf(err, errcap, "%s", rerr);
			break;
		}
		if (rec.type != LEDGER_REC_EVENT || rec.seq <= last)
			continue;
		if (!ix->in_tx && (rc = idx_begin(ix)) < 0) {
			idx_sqlerr(ix, SQLITE_ERROR, "index: begin", err, errcap);
			break;
		}
		rc = idx_add(ix, rec.seq, rec.time_ns, (const char *)rec.payload, rec.payload_len,
			     err, errcap);
		if (rc < 0)
			break;
		done++;
		if (++in_batch >= IDX_SYNC_BATCH) {
			if ((rc = idx_commit(ix)) < 0) {
				idx_sqlerr(ix, SQLITE_ERROR, "index: commit", err, errcap);
				break;
			}
			in_batch = 0;
			if (progress)
				progress(arg, done);
		}
	}
	/* At the end, or at damage in the ledger: keep everything read before
	 * it.  An SQLite failure: drop the unfinished batch. */
	if ((rc == 0 || damaged) && ix->in_tx) {
		int crc = idx_commit(ix);

		if (crc < 0) {
			idx_sqlerr(ix, SQLITE_ERROR, "index: commit", err, errcap);
			rc = crc;
		}
	}
	idx_rollback(ix);
	if (rc == 0 && progress)
		progress(arg, done);
	ledger_reader_free(r);
	return rc;
}
