/*
 * alerts.c - the rules engine's output in the index: the detections of an
 * event (event_detections), alert records folded into one alerts row per
 * alert id plus alert_events, the version 3 backfill of an older index, and
 * the read side of `vigil alerts` (listing, lookup by id or unique prefix,
 * an alert's events, statistics).
 *
 * An alert lives in the ledger as a series of event records of event_type
 * "alert" (docs/alerts.md): "open", then "match" records as more events
 * match, then "acknowledge" and "resolve".  Each record carries the whole
 * alert object as it stands, so the index keeps only the newest one (by
 * seq): an older record that arrives late (the daemon filling a gap) never
 * overwrites a newer one.  Only the first acknowledge / resolve times and
 * the first seq are merged across records, and alert_events gathers every
 * event id any record named (a record lists the latest 50 only).
 */
#include "idx_int.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

#define NS_PER_DAY (86400ull * 1000000000ull)
#define ALERT_MAX_TAGS_JSON (16u * 1024) /* bytes of tags kept per alert */

static const char *const level_names[IDX_LEVEL__COUNT] = { "informational", "low", "medium",
							   "high", "critical" };

const char *idx_level_name(int level)
{
	if (level < 0 || level >= IDX_LEVEL__COUNT)
		return "informational";
	return level_names[level];
}

int idx_level_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcasecmp(s, "info"))
		return IDX_LEVEL_INFORMATIONAL;
	for (int i = 0; i < IDX_LEVEL__COUNT; i++)
		if (!strcasecmp(s, level_names[i]))
			return i;
	return -EINVAL;
}

int idx_alert_state_parse(const char *s)
{
	if (!s)
		return -EINVAL;
	if (!strcmp(s, "open"))
		return IDX_ALERT_OPEN;
	if (!strcmp(s, "acknowledged"))
		return IDX_ALERT_ACKNOWLEDGED;
	if (!strcmp(s, "resolved"))
		return IDX_ALERT_RESOLVED;
	return -EINVAL;
}

/* ---- ingest ------------------------------------------------------------------- */

/* Columns whose value comes from the newest record (highest seq). */
#define NEWER(c) " " c " = CASE WHEN excluded.last_seq > last_seq THEN excluded." c " ELSE " c " END,"

/*
 * One alert record into its row.  In an upsert's SET every expression reads
 * the row as it was, so last_seq in the conditions is the old one even
 * though last_seq itself is set.  SQLite's min() of a NULL is NULL, hence
 * the coalesce around the merged times.
 */
const char idx_sql_alert_upsert[] =
	"INSERT INTO alerts (alert_id, rule_id, rule_title, rule_kind, level, level_num, action,"
	" decision, state, session_id, agent, project, first_seen, last_seen, first_ns, last_ns,"
	" count, reason, tags, event_ids, first_seq, last_seq, updated_by, note,"
	" acknowledged_ns, resolved_ns, rule_name)"
	" VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
	" ?18, ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27)"
	" ON CONFLICT (alert_id) DO UPDATE SET"
	NEWER("rule_id") NEWER("rule_name") NEWER("rule_title") NEWER("rule_kind") NEWER("level")
	NEWER("level_num") NEWER("action") NEWER("decision") NEWER("state")
	NEWER("session_id") NEWER("agent") NEWER("project") NEWER("first_seen")
	NEWER("last_seen") NEWER("first_ns") NEWER("last_ns") NEWER("count") NEWER("reason")
	NEWER("tags") NEWER("event_ids") NEWER("updated_by") NEWER("note")
	" first_seq = min(first_seq, excluded.first_seq),"
	" acknowledged_ns = coalesce(min(acknowledged_ns, excluded.acknowledged_ns),"
	"  acknowledged_ns, excluded.acknowledged_ns),"
	" resolved_ns = coalesce(min(resolved_ns, excluded.resolved_ns), resolved_ns,"
	"  excluded.resolved_ns),"
	" last_seq = max(last_seq, excluded.last_seq)";
const char idx_sql_alert_event[] =
	"INSERT OR IGNORE INTO alert_events (alert_id, event_id) VALUES (?1, ?2)";
const char idx_sql_detection[] =
	"INSERT OR IGNORE INTO event_detections (event_seq, rule_id, level, action, alert_id,"
	" rule_name) VALUES (?1, ?2, ?3, ?4, ?5, ?6)";

static const char *jstr(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

void idx_decision_of(json_t *root, const char **action, const char **rule)
{
	json_t *d = json_object_get(root, "decision");

	*action = *rule = NULL;
	if (json_is_object(d)) {
		*action = jstr(d, "action");
		/* The rule's name when it has one: what people search and read. */
		*rule = jstr(d, "rule_name");
		if (!*rule)
			*rule = jstr(d, "rule_id");
	} else if (json_is_string(d)) {
		*action = json_string_value(d); /* a bare "deny" is read the same way */
	}
}

/* Strings of the index's rows are copied by SQLite: the event outlives the
 * step, but these statements are few per event and copies keep it simple. */
static void bind_s(sqlite3_stmt *st, int i, const char *s)
{
	idx_bind_text(st, i, s);
}

static void bind_ns(sqlite3_stmt *st, int i, uint64_t ns)
{
	if (ns)
		sqlite3_bind_int64(st, i, (int64_t)ns);
	else
		sqlite3_bind_null(st, i);
}

static int step(struct idx *ix, sqlite3_stmt *st, const char *what, char *err, size_t errcap)
{
	int rc = sqlite3_step(st);

	sqlite3_reset(st);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return idx_sqlerr(ix, rc, what, err, errcap);
	return 0;
}

/* A string usable as an id: non-empty and of bounded length. */
static bool id_ok(const char *s)
{
	return s && *s && strlen(s) <= IDX_ALERT_MAX_ID;
}

/* A rule's name, bounded like an id (a longer one is left out: the rule is
 * still found by its id, and the record keeps the name). */
static const char *name_of(json_t *o, const char *key)
{
	const char *s = jstr(o, key);

	return id_ok(s) ? s : NULL;
}

static int detections(struct idx *ix, uint64_t seq, json_t *list, char *err, size_t errcap)
{
	size_t i;
	json_t *d;
	int rc = 0;

	json_array_foreach(list, i, d) {
		sqlite3_stmt *st;
		const char *rule = json_is_object(d) ? jstr(d, "rule_id") : NULL;

		if (!id_ok(rule))
			continue;
		st = idx_stmt(ix, ST_DETECTION, err, errcap);
		if (!st)
			return -EIO;
		sqlite3_bind_int64(st, 1, (int64_t)seq);
		bind_s(st, 2, rule);
		bind_s(st, 3, jstr(d, "level"));
		bind_s(st, 4, jstr(d, "action"));
		bind_s(st, 5, jstr(d, "alert_id"));
		bind_s(st, 6, name_of(d, "name"));
		rc = step(ix, st, "index: write detection", err, errcap);
		if (rc < 0)
			break;
	}
	return rc;
}

/* A JSON array as compact text: the string members only, at most max of
 * them; NULL when v is not an array (or on allocation failure). */
static char *strings_json(json_t *v, size_t max, size_t max_bytes)
{
	json_t *out, *m;
	char *text = NULL;
	size_t i;

	if (!json_is_array(v))
		return NULL;
	out = json_array();
	if (!out)
		return NULL;
	json_array_foreach(v, i, m) {
		if (json_array_size(out) >= max)
			break;
		if (json_is_string(m) && json_string_length(m) <= max_bytes)
			json_array_append(out, m);
	}
	text = json_dumps(out, JSON_COMPACT);
	json_decref(out);
	return text;
}

/* Time of a record's string field, else the fallback. */
static uint64_t time_of(json_t *o, const char *key, uint64_t fallback)
{
	uint64_t ns;
	const char *s = jstr(o, key);

	return s && vg_parse_time(s, VG_TIME_DATE, &ns) == 0 ? ns : fallback;
}

static int alert_record(struct idx *ix, uint64_t seq, uint64_t time_ns, json_t *root, char *err,
			size_t errcap)
{
	json_t *a = json_object_get(root, "alert"), *ids, *cnt;
	const char *id, *state, *update, *level, *sid;
	char *tags = NULL, *event_ids = NULL;
	int64_t count = 1;
	int level_num, rc;
	sqlite3_stmt *st;
	size_t i;
	json_t *m;

	if (!json_is_object(a))
		return 0;
	id = jstr(a, "id");
	if (!id_ok(id))
		return 0; /* nothing to key it by: the event row is all there is */
	update = jstr(a, "update");
	state = jstr(a, "state");
	if (idx_alert_state_parse(state) < 0)
		state = "open";
	level = jstr(a, "level");
	level_num = idx_level_parse(level);
	if (level_num < 0)
		level_num = IDX_LEVEL_INFORMATIONAL;
	cnt = json_object_get(a, "count");
	if (json_is_integer(cnt) && json_integer_value(cnt) >= 0)
		count = json_integer_value(cnt);
	sid = jstr(a, "session_id") ? jstr(a, "session_id") : jstr(root, "session_id");
	ids = json_object_get(a, "event_ids");
	tags = strings_json(json_object_get(a, "tags"), 256, ALERT_MAX_TAGS_JSON);
	event_ids = strings_json(ids, IDX_ALERT_MAX_EVENT_IDS, IDX_ALERT_MAX_ID);

	st = idx_stmt(ix, ST_ALERT_UPSERT, err, errcap);
	if (!st) {
		rc = -EIO;
		goto out;
	}
	bind_s(st, 1, id);
	bind_s(st, 2, jstr(a, "rule_id"));
	bind_s(st, 3, jstr(a, "rule_title"));
	bind_s(st, 4, jstr(a, "rule_kind"));
	bind_s(st, 5, level);
	sqlite3_bind_int(st, 6, level_num);
	bind_s(st, 7, jstr(a, "action"));
	bind_s(st, 8, jstr(a, "decision"));
	bind_s(st, 9, state);
	bind_s(st, 10, sid);
	bind_s(st, 11, jstr(a, "agent") ? jstr(a, "agent") : jstr(root, "agent"));
	bind_s(st, 12, jstr(a, "project"));
	bind_s(st, 13, jstr(a, "first_seen"));
	bind_s(st, 14, jstr(a, "last_seen"));
	sqlite3_bind_int64(st, 15, (int64_t)time_of(a, "first_seen", time_ns));
	sqlite3_bind_int64(st, 16, (int64_t)time_of(a, "last_seen", time_ns));
	sqlite3_bind_int64(st, 17, count);
	bind_s(st, 18, jstr(a, "reason"));
	bind_s(st, 19, tags);
	bind_s(st, 20, event_ids);
	sqlite3_bind_int64(st, 21, (int64_t)seq);
	sqlite3_bind_int64(st, 22, (int64_t)seq);
	bind_s(st, 23, jstr(a, "by"));
	bind_s(st, 24, jstr(a, "note"));
	/* The record's own time is when it was acknowledged or resolved. */
	bind_ns(st, 25, update && !strcmp(update, "acknowledge") ? time_ns : 0);
	bind_ns(st, 26, update && !strcmp(update, "resolve") ? time_ns : 0);
	bind_s(st, 27, name_of(a, "rule_name"));
	rc = step(ix, st, "index: write alert", err, errcap);
	if (rc < 0 || !json_is_array(ids))
		goto out;
	json_array_foreach(ids, i, m) {
		if (i >= IDX_ALERT_MAX_EVENT_IDS)
			break;
		if (!json_is_string(m) || !id_ok(json_string_value(m)))
			continue;
		st = idx_stmt(ix, ST_ALERT_EVENT, err, errcap);
		if (!st) {
			rc = -EIO;
			goto out;
		}
		bind_s(st, 1, id);
		bind_s(st, 2, json_string_value(m));
		rc = step(ix, st, "index: write alert event", err, errcap);
		if (rc < 0)
			goto out;
	}
out:
	vg_free(tags); /* json_dumps allocates through vg_malloc (as ingest.c) */
	vg_free(event_ids);
	return rc;
}

int idx_alert_rows(struct idx *ix, uint64_t seq, uint64_t time_ns, json_t *root, char *err,
		   size_t errcap)
{
	json_t *d = json_object_get(root, "detections");
	const char *type = jstr(root, "event_type");
	int rc = 0;

	if (json_is_array(d) && json_array_size(d))
		rc = detections(ix, seq, d, err, errcap);
	if (rc == 0 && type && !strcmp(type, "alert"))
		rc = alert_record(ix, seq, time_ns, root, err, errcap);
	return rc;
}

int idx_alerts_backfill(struct idx *ix, char *err, size_t errcap)
{
	/* instr() finds the candidates without parsing every row; the parse
	 * then decides (a "decision" key inside a payload is not the event's). */
	static const char sql[] =
		"SELECT seq, time_ns, json FROM events WHERE event_type = 'alert'"
		" OR instr(json, '\"decision\"') > 0 OR instr(json, '\"detections\"') > 0"
		" ORDER BY seq";
	sqlite3_stmt *st = NULL, *upd = NULL;
	int rc;

	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(ix->db,
					"UPDATE events SET decision = ?2, decision_rule = ?3"
					" WHERE seq = ?1",
					-1, &upd, NULL);
	if (rc != SQLITE_OK) {
		rc = idx_sqlerr(ix, rc, "index: backfill", err, errcap);
		goto out;
	}
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint64_t seq = (uint64_t)sqlite3_column_int64(st, 0);
		json_t *root = json_loadb((const char *)sqlite3_column_text(st, 2),
					  (size_t)sqlite3_column_bytes(st, 2), 0, NULL);
		const char *action, *rule;
		int r = 0;

		if (!json_is_object(root)) {
			json_decref(root);
			continue;
		}
		idx_decision_of(root, &action, &rule);
		if (action || rule) {
			sqlite3_bind_int64(upd, 1, (int64_t)seq);
			idx_bind_text(upd, 2, action);
			idx_bind_text(upd, 3, rule);
			r = step(ix, upd, "index: backfill decision", err, errcap);
		}
		if (r == 0)
			r = idx_alert_rows(ix, seq, (uint64_t)sqlite3_column_int64(st, 1), root, err,
					   errcap);
		json_decref(root);
		if (r < 0) {
			rc = r;
			goto out;
		}
	}
	rc = rc == SQLITE_DONE ? 0 : idx_sqlerr(ix, rc, "index: backfill", err, errcap);
out:
	sqlite3_finalize(st);
	sqlite3_finalize(upd);
	return rc;
}

/* ---- queries -------------------------------------------------------------------- */

static const char alert_cols[] =
	"a.alert_id, a.rule_id, a.rule_title, a.rule_kind, a.level, a.action, a.decision,"
	" a.state, a.session_id, a.agent, a.project, a.first_seen, a.last_seen, a.reason,"
	" a.updated_by, a.note, a.tags, a.event_ids, a.level_num, a.first_ns, a.last_ns,"
	" a.count, a.first_seq, a.last_seq, a.acknowledged_ns, a.resolved_ns,"
	" (SELECT count(*) FROM alert_events ae WHERE ae.alert_id = a.alert_id), a.rule_name";

static uint64_t col_u64(sqlite3_stmt *st, int i)
{
	int64_t v = idx_col_int(st, i, 0);

	return v > 0 ? (uint64_t)v : 0;
}

static void alert_row(sqlite3_stmt *st, struct idx_alert *a)
{
	memset(a, 0, sizeof(*a));
	a->alert_id = idx_col_text(st, 0);
	a->rule_id = idx_col_text(st, 1);
	a->rule_title = idx_col_text(st, 2);
	a->rule_kind = idx_col_text(st, 3);
	a->level = idx_col_text(st, 4);
	a->action = idx_col_text(st, 5);
	a->decision = idx_col_text(st, 6);
	a->state = idx_col_text(st, 7);
	a->session_id = idx_col_text(st, 8);
	a->agent = idx_col_text(st, 9);
	a->project = idx_col_text(st, 10);
	a->first_seen = idx_col_text(st, 11);
	a->last_seen = idx_col_text(st, 12);
	a->reason = idx_col_text(st, 13);
	a->updated_by = idx_col_text(st, 14);
	a->note = idx_col_text(st, 15);
	a->tags_json = idx_col_text(st, 16);
	a->event_ids_json = idx_col_text(st, 17);
	a->level_num = (int)idx_col_int(st, 18, 0);
	a->first_ns = col_u64(st, 19);
	a->last_ns = col_u64(st, 20);
	a->count = col_u64(st, 21);
	a->first_seq = col_u64(st, 22);
	a->last_seq = col_u64(st, 23);
	a->acknowledged_ns = col_u64(st, 24);
	a->resolved_ns = col_u64(st, 25);
	a->events = col_u64(st, 26);
	a->rule_name = idx_col_text(st, 27);
}

/* Runs an alert query and hands each row to fn; *rows counts them. */
static int run_alerts(struct idx *ix, sqlite3_stmt *st, idx_alert_fn fn, void *arg,
		      uint64_t *rows, char *err, size_t errcap)
{
	int rc, cb = 0;

	*rows = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_alert a;

		alert_row(st, &a);
		(*rows)++;
		cb = fn(arg, &a);
		if (cb)
			return cb;
	}
	return rc == SQLITE_DONE ? 0 : idx_sqlerr(ix, rc, "index: read alerts", err, errcap);
}

int idx_alerts(struct idx *ix, const struct idx_alert_filter *f, idx_alert_fn fn, void *arg,
	       char *err, size_t errcap)
{
	struct vbuf sql;
	sqlite3_stmt *st = NULL;
	uint64_t rows;
	int rc;

	vbuf_init(&sql, 4096);
	rc = vbuf_appendf(&sql, "SELECT %s FROM alerts a WHERE 1", alert_cols);
	if (f->min_level > 0)
		rc |= vbuf_appendf(&sql, " AND a.level_num >= :minl");
	if (f->exact_level > 0)
		rc |= vbuf_appendf(&sql, " AND a.level_num = :exl");
	if (f->states && f->states != (IDX_ALERT_OPEN | IDX_ALERT_ACKNOWLEDGED | IDX_ALERT_RESOLVED))
		/* Literal states (no input goes into the SQL text). */
		rc |= vbuf_appendf(&sql, " AND a.state IN ('%s', '%s', '%s')",
				   (f->states & IDX_ALERT_OPEN) ? "open" : "",
				   (f->states & IDX_ALERT_ACKNOWLEDGED) ? "acknowledged" : "",
				   (f->states & IDX_ALERT_RESOLVED) ? "resolved" : "");
	if (f->session)
		rc |= vbuf_appendf(&sql, " AND a.session_id >= :sess"
					 " AND a.session_id < :sess || char(1114111)");
	if (f->rule)
		/* Ids are UUIDs and names are words: one rule matches either way. */
		rc |= vbuf_appendf(&sql, " AND (a.rule_id = :rule OR a.rule_name = :rule)");
	if (f->since_ns)
		rc |= vbuf_appendf(&sql, " AND a.last_ns >= :since");
	if (f->until_ns)
		rc |= vbuf_appendf(&sql, " AND a.first_ns < :until");
	rc |= vbuf_appendf(&sql, " ORDER BY a.last_ns DESC, a.alert_id DESC LIMIT :limit");
	if (rc) {
		snprintf(err, errcap, "query too long");
		rc = -E2BIG;
		goto out;
	}
	rc = sqlite3_prepare_v2(ix->db, (const char *)sql.data, -1, &st, NULL);
	if (rc != SQLITE_OK) {
		rc = idx_sqlerr(ix, rc, "index: alerts query", err, errcap);
		goto out;
	}
	idx_bind_named_int(st, ":minl", f->min_level);
	idx_bind_named_int(st, ":exl", f->exact_level - 1);
	if (f->session)
		idx_bind_named_text(st, ":sess", f->session);
	if (f->rule)
		idx_bind_named_text(st, ":rule", f->rule);
	idx_bind_named_int(st, ":since", idx_clamp_i64(f->since_ns));
	idx_bind_named_int(st, ":until", idx_clamp_i64(f->until_ns));
	idx_bind_named_int(st, ":limit", f->limit ? idx_clamp_i64(f->limit) : -1);
	rc = run_alerts(ix, st, fn, arg, &rows, err, errcap);
out:
	sqlite3_finalize(st);
	vbuf_release(&sql);
	return rc;
}

int idx_alert_resolve(struct idx *ix, const char *prefix, char *out, size_t cap)
{
	sqlite3_stmt *st = NULL;
	int rc, n = 0;

	if (!prefix || !*prefix)
		return -ENOENT;
	if (strlen(prefix) > IDX_ALERT_MAX_ID)
		return -ENAMETOOLONG;
	/* The exact id first: a full id is never ambiguous. */
	rc = sqlite3_prepare_v2(ix->db,
				"SELECT alert_id FROM alerts WHERE alert_id = ?1 UNION ALL"
				" SELECT * FROM (SELECT alert_id FROM alerts WHERE alert_id > ?1"
				" AND alert_id < ?1 || char(1114111) ORDER BY alert_id LIMIT 2)",
				-1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, prefix, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *id = (const char *)sqlite3_column_text(st, 0);

		if (n == 0 && id && vg_path(out, cap, "%s", id) < 0) {
			rc = -ENAMETOOLONG;
			goto out;
		}
		if (n == 0 && id && !strcmp(id, prefix)) {
			n = 1;
			rc = SQLITE_DONE;
			break;
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		rc = idx_errno(rc) ? idx_errno(rc) : -EIO;
		goto out;
	}
	rc = n == 0 ? -ENOENT : n > 1 ? -ENOTUNIQ : 0;
out:
	sqlite3_finalize(st);
	if (rc < 0 && cap)
		out[0] = '\0';
	return rc;
}

int idx_alert_get(struct idx *ix, const char *alert_id, idx_alert_fn fn, void *arg)
{
	char sql[1024];
	sqlite3_stmt *st = NULL;
	uint64_t rows = 0;
	int rc;

	snprintf(sql, sizeof(sql), "SELECT %s FROM alerts a WHERE a.alert_id = ?1", alert_cols);
	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
	rc = run_alerts(ix, st, fn, arg, &rows, NULL, 0);
	sqlite3_finalize(st);
	return rc ? rc : rows ? 0 : -ENOENT;
}

/* Characters two strings have in common at their start. */
static size_t common_prefix(const char *a, const char *b)
{
	size_t n = 0;

	while (a[n] && a[n] == b[n])
		n++;
	return n;
}

int idx_alert_abbrev(struct idx *ix, const char *alert_id, size_t min_len)
{
	static const char sql[] =
		"SELECT (SELECT max(alert_id) FROM alerts WHERE alert_id < ?1),"
		" (SELECT min(alert_id) FROM alerts WHERE alert_id > ?1)";
	sqlite3_stmt *st = NULL;
	size_t len = strlen(alert_id), need = min_len;
	int rc;

	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		/* The neighbours in sorted order share the longest prefixes. */
		for (int i = 0; i < 2; i++) {
			const char *nb = idx_col_text(st, i);
			size_t c = nb ? common_prefix(alert_id, nb) + 1 : 0;

			if (c > need)
				need = c;
		}
		rc = SQLITE_OK;
	}
	sqlite3_finalize(st);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	return (int)(need < len ? need : len);
}

int idx_alert_events(struct idx *ix, const char *alert_id, idx_event_fn fn, void *arg)
{
	char sql[1024];
	sqlite3_stmt *st = NULL;
	int rc, cb = 0;

	snprintf(sql, sizeof(sql),
		 "SELECT %s FROM events WHERE id IN"
		 " (SELECT event_id FROM alert_events WHERE alert_id = ?1) ORDER BY seq",
		 idx_event_cols);
	rc = sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return idx_errno(rc) ? idx_errno(rc) : -EIO;
	sqlite3_bind_text(st, 1, alert_id, -1, SQLITE_TRANSIENT);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_event ev;

		idx_event_row(st, &ev);
		cb = fn(arg, &ev);
		if (cb)
			break;
	}
	sqlite3_finalize(st);
	if (cb)
		return cb;
	return rc == SQLITE_DONE ? 0 : idx_errno(rc) ? idx_errno(rc) : -EIO;
}

/* ---- statistics --------------------------------------------------------------------- */

static int prepare(struct idx *ix, const char *sql, sqlite3_stmt **st, uint64_t since,
		   char *err, size_t errcap)
{
	int rc = sqlite3_prepare_v2(ix->db, sql, -1, st, NULL);

	if (rc != SQLITE_OK)
		return idx_sqlerr(ix, rc, "index: alert stats", err, errcap);
	idx_bind_named_int(*st, ":since", idx_clamp_i64(since));
	return 0;
}

static int stats_levels(struct idx *ix, struct idx_alert_stats *o, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	rc = prepare(ix,
		     "SELECT (first_ns - :since) / 86400000000000, level_num, state, count(*)"
		     " FROM alerts WHERE first_ns >= :since GROUP BY 1, 2, 3",
		     &st, o->since_ns, err, errcap);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		int64_t day = sqlite3_column_int64(st, 0);
		int level = sqlite3_column_int(st, 1);
		const char *state = idx_col_text(st, 2);
		uint64_t n = col_u64(st, 3);

		if (level < 0 || level >= IDX_LEVEL__COUNT)
			level = IDX_LEVEL_INFORMATIONAL;
		/* An alert stamped in the future (a skewed clock) counts today. */
		if (day < 0 || (uint64_t)day >= o->ndays)
			day = (int64_t)o->ndays - 1;
		o->total += n;
		o->by_level[level] += n;
		o->day[day].total += n;
		o->day[day].by_level[level] += n;
		switch (idx_alert_state_parse(state)) {
		case IDX_ALERT_ACKNOWLEDGED:
			o->acknowledged += n;
			break;
		case IDX_ALERT_RESOLVED:
			o->resolved += n;
			break;
		default:
			o->open += n;
			break;
		}
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : idx_sqlerr(ix, rc, "index: alert stats", err, errcap);
}

static int stats_times(struct idx *ix, struct idx_alert_stats *o, char *err, size_t errcap)
{
	sqlite3_stmt *st = NULL;
	int rc;

	/* max(0, ...): an acknowledge stamped before the first match (clocks)
	 * counts as immediate. */
	rc = prepare(ix,
		     "SELECT count(acknowledged_ns), avg(max(0, acknowledged_ns - first_ns)),"
		     " count(resolved_ns), avg(max(0, resolved_ns - first_ns)),"
		     " (SELECT count(*) FROM alerts WHERE state = 'open')"
		     " FROM alerts WHERE first_ns >= :since",
		     &st, o->since_ns, err, errcap);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		o->acked_n = col_u64(st, 0);
		o->mtta_s = o->acked_n ? sqlite3_column_double(st, 1) / 1e9 : -1;
		o->resolved_n = col_u64(st, 2);
		o->mttr_s = o->resolved_n ? sqlite3_column_double(st, 3) / 1e9 : -1;
		o->open_now = col_u64(st, 4);
		rc = SQLITE_DONE;
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : idx_sqlerr(ix, rc, "index: alert stats", err, errcap);
}

static int stats_rules(struct idx *ix, struct idx_alert_stats *o, char *err, size_t errcap)
{
	char sql[512];
	sqlite3_stmt *st = NULL;
	int rc;

	snprintf(sql, sizeof(sql),
		 "SELECT coalesce(rule_id, ''), max(rule_title), max(level_num), count(*),"
		 " sum(state = 'open'), max(rule_name) FROM alerts WHERE first_ns >= :since"
		 " GROUP BY rule_id ORDER BY 4 DESC, 1 LIMIT %u",
		 IDX_ALERT_STATS_MAX_RULES + 1);
	rc = prepare(ix, sql, &st, o->since_ns, err, errcap);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		struct idx_alert_rule_count *r;
		const char *title = idx_col_text(st, 1), *name = idx_col_text(st, 5);

		if (o->nrules >= IDX_ALERT_STATS_MAX_RULES) {
			o->rules_truncated = true;
			continue;
		}
		r = &o->rule[o->nrules++];
		snprintf(r->rule_id, sizeof(r->rule_id), "%s", idx_col_text(st, 0));
		snprintf(r->rule_title, sizeof(r->rule_title), "%s", title ? title : "");
		snprintf(r->rule_name, sizeof(r->rule_name), "%s", name ? name : "");
		r->level_num = sqlite3_column_int(st, 2);
		r->total = col_u64(st, 3);
		r->open = col_u64(st, 4);
	}
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? 0 : idx_sqlerr(ix, rc, "index: alert stats", err, errcap);
}

int idx_alert_stats(struct idx *ix, unsigned days, uint64_t now_ns, struct idx_alert_stats *out,
		    char *err, size_t errcap)
{
	uint64_t today;
	int rc;

	memset(out, 0, sizeof(*out));
	if (days < 1 || days > IDX_ALERT_STATS_MAX_DAYS) {
		snprintf(err, errcap, "days must be from 1 to %u", IDX_ALERT_STATS_MAX_DAYS);
		return -EINVAL;
	}
	today = now_ns / NS_PER_DAY * NS_PER_DAY;
	out->since_ns = today >= (days - 1) * NS_PER_DAY ? today - (days - 1) * NS_PER_DAY : 0;
	out->ndays = days;
	for (unsigned i = 0; i < days; i++)
		out->day[i].day_ns = out->since_ns + i * NS_PER_DAY;
	out->mtta_s = out->mttr_s = -1;
	rc = stats_levels(ix, out, err, errcap);
	if (rc == 0)
		rc = stats_times(ix, out, err, errcap);
	if (rc == 0)
		rc = stats_rules(ix, out, err, errcap);
	return rc;
}
