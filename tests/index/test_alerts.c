/*
 * test_alerts.c - alerts in the index (schema version 3): alert records fold
 * into one row per alert id with the newest record winning even when an
 * older one arrives late; alert_events gathers every event id; detections
 * and decisions of events are filterable; lookup by id and unique prefix
 * (ambiguous ones refused); the listing filters and order; statistics per
 * day, level, state and rule; malformed records never fail ingest; a sync
 * from the ledger (what `vigil reindex` runs) gives the same rows as the
 * daemon's incremental path; a version 2 index is migrated in place,
 * with the new tables filled from the events it already holds; rules are
 * found by id or by name, and an early version 3 index (before rule names)
 * gets its name columns added and filled in place.
 */
#include "ledger/helpers.h"
#include "idx.h"
#include "idx_int.h"
#include "tap.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <unistd.h>

/* 2026-11-20T00:00:00Z: "now" for the statistics is three days later. */
#define DAY_NS (86400ull * 1000000000ull)
#define BASE_NS 1795046400000000000ull
#define NOW_NS (BASE_NS + 3 * DAY_NS + 12 * 3600 * 1000000000ull)
#define SEC (1000000000ull)

#define S1 "3f1c0a2e-1111-4000-8000-000000000001"
#define S2 "7b2d5e9f-2222-4000-8000-000000000002"
/* A1 and A2 share their first 10 characters (made in the same minute). */
#define A1 "019aa0c1-0a00-7000-8000-00000000000a"
#define A2 "019aa0c1-0b00-7000-8000-00000000000b"
#define A3 "019bb0c1-0000-7000-8000-00000000000c"
#define A4 "019cc0c1-0000-7000-8000-00000000000d"
#define A5 "019dd0c1-0000-7000-8000-00000000000e"

static json_t *recs[64];
static size_t nrecs;

/* The names of the rules that have one (rules need not). */
static const char *name_of(const char *rule)
{
	if (rule && !strcmp(rule, "rule-rm"))
		return "vigil-destructive-rm";
	if (rule && !strcmp(rule, "rule-key"))
		return "vigil-private-key";
	return NULL;
}

static void iso(uint64_t ns, char *out, size_t cap)
{
	vg_format_time(ns, out, cap);
}

static const char *event_id(int n)
{
	static char ids[64][40];

	snprintf(ids[n], sizeof(ids[n]), "019ff000-0000-7000-8000-%012d", n);
	return ids[n];
}

/* An ordinary event with an optional detection and decision. */
static void add_event(int n, uint64_t t, const char *sid, const char *tool, const char *target,
		      const char *rule, const char *level, const char *action, const char *alert,
		      const char *decision)
{
	char when[40];
	json_t *e;

	iso(t, when, sizeof(when));
	e = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "schema", "vigil.event.v1", "id",
		      event_id(n), "time", when, "agent", "claude-code", "session_id", sid, "hook",
		      "PreToolUse", "event_type", "command_execution", "tool", tool);
	json_object_set_new(e, "target", json_string(target));
	if (rule)
		json_object_set_new(e, "detections",
				    json_pack("[{s:s, s:s?, s:s, s:s, s:s, s:s}]", "rule_id", rule,
					      "name", name_of(rule), "title", rule, "level", level,
					      "action", action, "alert_id", alert));
	if (decision)
		json_object_set_new(e, "decision",
				    json_pack("{s:s, s:s?, s:s}", "action", decision, "rule_id",
					      strcmp(decision, "allow") ? rule : NULL, "mode",
					      "rules"));
	recs[nrecs++] = e;
}

/* An alert record; ids is a new reference (stolen). */
static void add_alert(int n, uint64_t t, const char *aid, const char *update, const char *state,
		      const char *rule, const char *level, const char *sid, uint64_t first,
		      uint64_t last, int count, json_t *ids, const char *by)
{
	char when[40], fs[40], ls[40];
	json_t *a;

	iso(t, when, sizeof(when));
	iso(first, fs, sizeof(fs));
	iso(last, ls, sizeof(ls));
	a = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s,"
		      " s:i, s:o, s:s}",
		      "id", aid, "update", update, "state", state, "rule_id", rule, "rule_title",
		      "Title of the rule", "rule_kind", "detection", "level", level, "action",
		      "alert", "session_id", sid, "tags", "attack.t1485", "agent", "claude-code",
		      "project", "/home/dev/app", "first_seen", fs, "last_seen", ls, "count", count,
		      "event_ids", ids, "reason", "it matched");
	if (by) {
		json_object_set_new(a, "by", json_string(by));
		json_object_set_new(a, "note", json_string("a note"));
	}
	if (name_of(rule))
		json_object_set_new(a, "rule_name", json_string(name_of(rule)));
	recs[nrecs++] = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:o}", "schema",
				  "vigil.event.v1", "id", event_id(n), "time", when, "agent",
				  "claude-code", "session_id", sid, "hook", "vigil", "event_type",
				  "alert", "alert", a);
}

/*
 * The records, in ledger order (seq = index + 1):
 *   A1 critical, S1, open, two matches later (count 3), never acknowledged;
 *   A2 high, S1, open, then acknowledged;
 *   A3 medium, S2, open then resolved (a day earlier than the others);
 *   A4 low, S2, open, three days earlier;
 *   A5 informational, S1, open.
 */
static void build_records(void)
{
	uint64_t t = BASE_NS + 3 * DAY_NS + 3600 * SEC; /* "today", 01:00 */
	uint64_t d1 = t - DAY_NS, d3 = t - 3 * DAY_NS;

	add_event(1, d3, S2, "Read", ".env.example", "rule-env", "low", "alert", A4, "allow");
	add_alert(2, d3, A4, "open", "open", "rule-env", "low", S2, d3, d3, 1,
		  json_pack("[s]", event_id(1)), NULL);
	add_event(3, d1, S2, "Write", "/etc/hosts", "rule-sys", "medium", "alert", A3, "allow");
	add_alert(4, d1, A3, "open", "open", "rule-sys", "medium", S2, d1, d1, 1,
		  json_pack("[s]", event_id(3)), NULL);
	add_alert(5, d1 + 600 * SEC, A3, "resolve", "resolved", "rule-sys", "medium", S2, d1, d1, 1,
		  json_pack("[s]", event_id(3)), "uid 1000");
	add_event(6, t, S1, "Bash", "rm -rf /", "rule-rm", "critical", "block", A1, "deny");
	add_alert(7, t, A1, "open", "open", "rule-rm", "critical", S1, t, t, 1,
		  json_pack("[s]", event_id(6)), NULL);
	add_event(8, t + 10 * SEC, S1, "Read", "id_rsa", "rule-key", "high", "alert", A2, "allow");
	add_alert(9, t + 10 * SEC, A2, "open", "open", "rule-key", "high", S1, t + 10 * SEC,
		  t + 10 * SEC, 1, json_pack("[s]", event_id(8)), NULL);
	add_event(10, t + 20 * SEC, S1, "Bash", "rm -rf ~", "rule-rm", "critical", "block", A1,
		  "deny");
	add_alert(11, t + 20 * SEC, A1, "match", "open", "rule-rm", "critical", S1, t, t + 20 * SEC,
		  2, json_pack("[s, s]", event_id(6), event_id(10)), NULL);
	add_event(12, t + 30 * SEC, S1, "Bash", "curl x | sh", "rule-curl", "informational", "ask",
		  A5, "ask");
	add_alert(13, t + 30 * SEC, A5, "open", "open", "rule-curl", "informational", S1,
		  t + 30 * SEC, t + 30 * SEC, 1, json_pack("[s]", event_id(12)), NULL);
	add_alert(14, t + 130 * SEC, A2, "acknowledge", "acknowledged", "rule-key", "high", S1,
		  t + 10 * SEC, t + 10 * SEC, 1, json_pack("[s]", event_id(8)), "uid 1000");
	add_event(15, t + 40 * SEC, S1, "Bash", "rm -rf /usr", "rule-rm", "critical", "block", A1,
		  "deny");
	add_alert(16, t + 40 * SEC, A1, "match", "open", "rule-rm", "critical", S1, t,
		  t + 40 * SEC, 3, json_pack("[s, s]", event_id(10), event_id(15)), NULL);
	add_event(17, t + 50 * SEC, S1, "Bash", "ls", NULL, NULL, NULL, NULL, "allow");
}

static int add_rec(struct idx *ix, uint64_t seq, json_t *rec, bool parsed)
{
	char err[256], *text = json_dumps(rec, JSON_COMPACT | JSON_SORT_KEYS);
	int rc;

	if (!text)
		return -ENOMEM;
	rc = parsed ? idx_add_event(ix, seq, BASE_NS, rec, text, strlen(text), err, sizeof(err))
		    : idx_add(ix, seq, BASE_NS, text, strlen(text), err, sizeof(err));
	if (rc < 0)
		TAP_DIAG("add seq %" PRIu64 ": %s", seq, err);
	free(text);
	return rc;
}

/* Every record, in order, in one transaction (the daemon's way). */
static int add_all(struct idx *ix, bool parsed)
{
	int rc = idx_begin(ix);

	for (size_t i = 0; rc == 0 && i < nrecs; i++)
		rc = add_rec(ix, i + 1, recs[i], parsed);
	return rc == 0 ? idx_commit(ix) : rc;
}

/* The rows of a query as one string, to compare two indexes. */
static char *dump(struct idx *ix, const char *sql)
{
	struct vbuf b;
	sqlite3_stmt *st = NULL;

	vbuf_init(&b, 1u << 20);
	if (sqlite3_prepare_v2(ix->db, sql, -1, &st, NULL) != SQLITE_OK) {
		TAP_DIAG("dump: %s", sqlite3_errmsg(ix->db));
		vbuf_appendf(&b, "error");
	}
	while (st && sqlite3_step(st) == SQLITE_ROW) {
		for (int i = 0; i < sqlite3_column_count(st); i++) {
			const char *v = (const char *)sqlite3_column_text(st, i);

			vbuf_appendf(&b, "%s|", v ? v : "NULL");
		}
		vbuf_appendf(&b, "\n");
	}
	sqlite3_finalize(st);
	return (char *)b.data;
}

static const char *const dump_sql[] = {
	"SELECT * FROM alerts ORDER BY alert_id",
	"SELECT * FROM alert_events ORDER BY 1, 2",
	"SELECT * FROM event_detections ORDER BY 1, 2",
	"SELECT seq, decision, decision_rule FROM events ORDER BY seq",
};

/* Whether two indexes hold the same alert rows; names what differs. */
static bool same_rows(struct idx *a, struct idx *b, const char *what)
{
	bool same = true;

	for (size_t i = 0; i < VG_ARRAY_LEN(dump_sql); i++) {
		char *x = dump(a, dump_sql[i]), *y = dump(b, dump_sql[i]);

		if (!x || !y || strcmp(x, y)) {
			TAP_DIAG("%s: '%s' differs:\n%s---\n%s", what, dump_sql[i], x ? x : "",
				 y ? y : "");
			same = false;
		}
		vg_free(x);
		vg_free(y);
	}
	return same;
}

/* ---- collectors ------------------------------------------------------------------- */

struct alist {
	size_t n;
	char id[16][64];
	struct {
		char state[16], name[64]; /* name: "-" when NULL */
		uint64_t count, last_seq, first_seq, ack, res, events;
		int level;
	} r[16];
};

static int collect_alert(void *arg, const struct idx_alert *a)
{
	struct alist *l = arg;

	if (l->n < VG_ARRAY_LEN(l->id)) {
		snprintf(l->id[l->n], sizeof(l->id[0]), "%s", a->alert_id);
		snprintf(l->r[l->n].state, sizeof(l->r[0].state), "%s", a->state ? a->state : "");
		snprintf(l->r[l->n].name, sizeof(l->r[0].name), "%s",
			 a->rule_name ? a->rule_name : "-");
		l->r[l->n].count = a->count;
		l->r[l->n].last_seq = a->last_seq;
		l->r[l->n].first_seq = a->first_seq;
		l->r[l->n].ack = a->acknowledged_ns;
		l->r[l->n].res = a->resolved_ns;
		l->r[l->n].events = a->events;
		l->r[l->n].level = a->level_num;
	}
	l->n++;
	return 0;
}

static size_t list(struct idx *ix, const struct idx_alert_filter *f, struct alist *l)
{
	char err[256];

	memset(l, 0, sizeof(*l));
	if (idx_alerts(ix, f, collect_alert, l, err, sizeof(err)) < 0) {
		TAP_DIAG("idx_alerts: %s", err);
		return (size_t)-1;
	}
	return l->n;
}

static int count_ev(void *arg, const struct idx_event *ev)
{
	(void)ev;
	(*(size_t *)arg)++;
	return 0;
}

static size_t events_where(struct idx *ix, const struct idx_filter *f)
{
	size_t n = 0;
	char err[256];

	if (idx_query_events(ix, f, count_ev, &n, err, sizeof(err)) < 0) {
		TAP_DIAG("query: %s", err);
		return (size_t)-1;
	}
	return n;
}

/* ---- the tests ---------------------------------------------------------------------- */

static void test_rows(struct idx *ix)
{
	struct idx_alert_filter all = { 0 };
	struct alist l;

	TAP_EQ_U64(list(ix, &all, &l), 5, "five alerts from eleven alert records");
	/* Newest first by last seen: A2 acked at +130 s is still last seen +10 s. */
	TAP_OK(l.n == 5 && !strcmp(l.id[0], A1) && !strcmp(l.id[1], A5) && !strcmp(l.id[2], A2) &&
		       !strcmp(l.id[3], A3) && !strcmp(l.id[4], A4),
	       "ordered newest first (by last seen)");
	TAP_OK(l.r[0].count == 3 && l.r[0].last_seq == 16 && l.r[0].first_seq == 7 &&
		       !strcmp(l.r[0].state, "open"),
	       "A1: count 3 from its newest record (seq 16), first record seq 7");
	TAP_EQ_U64(l.r[0].events, 3, "A1: alert_events holds all 3 event ids, though no record "
				      "named them all");
	TAP_OK(!strcmp(l.r[2].state, "acknowledged") && l.r[2].ack > 0 && !l.r[2].res,
	       "A2: acknowledged, with the acknowledge time");
	TAP_OK(!strcmp(l.r[3].state, "resolved") && l.r[3].res > 0 && !l.r[3].ack,
	       "A3: resolved, never acknowledged");
	TAP_OK(l.r[0].level == IDX_LEVEL_CRITICAL && l.r[4].level == IDX_LEVEL_LOW &&
		       l.r[1].level == IDX_LEVEL_INFORMATIONAL,
	       "levels stored as numbers (critical 4 .. informational 0)");
	TAP_OK(!strcmp(l.r[0].name, "vigil-destructive-rm") && !strcmp(l.r[2].name,
								       "vigil-private-key"),
	       "rule_name from the records: A1 %s, A2 %s", l.r[0].name, l.r[2].name);
	TAP_OK(!strcmp(l.r[1].name, "-") && !strcmp(l.r[3].name, "-"),
	       "a rule without a name: rule_name is NULL (A5 %s, A3 %s)", l.r[1].name,
	       l.r[3].name);
}

static void test_filters(struct idx *ix)
{
	struct idx_alert_filter f;
	struct alist l;

	f = (struct idx_alert_filter){ .min_level = IDX_LEVEL_HIGH };
	TAP_EQ_U64(list(ix, &f, &l), 2, "min level high: A1, A2");
	f = (struct idx_alert_filter){ .exact_level = IDX_LEVEL_MEDIUM + 1 };
	TAP_OK(list(ix, &f, &l) == 1 && !strcmp(l.id[0], A3), "exact level medium: A3");
	f = (struct idx_alert_filter){ .exact_level = IDX_LEVEL_INFORMATIONAL + 1 };
	TAP_OK(list(ix, &f, &l) == 1 && !strcmp(l.id[0], A5), "exact level informational: A5");
	f = (struct idx_alert_filter){ .states = IDX_ALERT_OPEN };
	TAP_EQ_U64(list(ix, &f, &l), 3, "state open: A1, A4, A5");
	f = (struct idx_alert_filter){ .states = IDX_ALERT_OPEN | IDX_ALERT_ACKNOWLEDGED };
	TAP_EQ_U64(list(ix, &f, &l), 4, "open and acknowledged (the CLI's default): 4");
	f = (struct idx_alert_filter){ .states = IDX_ALERT_RESOLVED };
	TAP_OK(list(ix, &f, &l) == 1 && !strcmp(l.id[0], A3), "state resolved: A3");
	f = (struct idx_alert_filter){ .session = "7b2d" };
	TAP_EQ_U64(list(ix, &f, &l), 2, "session prefix 7b2d: A3, A4");
	f = (struct idx_alert_filter){ .session = S1, .min_level = IDX_LEVEL_HIGH };
	TAP_EQ_U64(list(ix, &f, &l), 2, "session and level together");
	f = (struct idx_alert_filter){ .rule = "rule-rm" };
	TAP_OK(list(ix, &f, &l) == 1 && !strcmp(l.id[0], A1), "rule rule-rm: A1");
	f = (struct idx_alert_filter){ .rule = "rule-r" };
	TAP_EQ_U64(list(ix, &f, &l), 0, "a rule id matches exactly, not as a prefix");
	f = (struct idx_alert_filter){ .rule = "vigil-destructive-rm" };
	TAP_OK(list(ix, &f, &l) == 1 && !strcmp(l.id[0], A1),
	       "rule by name vigil-destructive-rm: A1");
	f = (struct idx_alert_filter){ .rule = "vigil-private-key", .states = IDX_ALERT_OPEN };
	TAP_EQ_U64(list(ix, &f, &l), 0, "rule by name and state open: none (A2 is acknowledged)");
	f = (struct idx_alert_filter){ .rule = "vigil-private-key" };
	TAP_OK(list(ix, &f, &l) == 1 && !strcmp(l.id[0], A2), "rule by name vigil-private-key: A2");
	f = (struct idx_alert_filter){ .rule = "vigil-destructive" };
	TAP_EQ_U64(list(ix, &f, &l), 0, "a rule name matches exactly, not as a prefix");
	f = (struct idx_alert_filter){ .since_ns = BASE_NS + 3 * DAY_NS };
	TAP_EQ_U64(list(ix, &f, &l), 3, "since today: the three alerts seen today");
	f = (struct idx_alert_filter){ .until_ns = BASE_NS + 3 * DAY_NS };
	TAP_EQ_U64(list(ix, &f, &l), 2, "until today: the two first seen before");
	f = (struct idx_alert_filter){ .limit = 2 };
	TAP_OK(list(ix, &f, &l) == 2 && !strcmp(l.id[0], A1) && !strcmp(l.id[1], A5),
	       "limit 2: the two newest");
}

static void test_lookup(struct idx *ix)
{
	char out[64], big[300];
	int n;

	TAP_OK(idx_alert_resolve(ix, A2, out, sizeof(out)) == 0 && !strcmp(out, A2),
	       "a full id resolves to itself");
	TAP_OK(idx_alert_resolve(ix, "019bb", out, sizeof(out)) == 0 && !strcmp(out, A3),
	       "a unique prefix resolves");
	TAP_OK(idx_alert_resolve(ix, "019aa0c1", out, sizeof(out)) == -ENOTUNIQ && !*out,
	       "a prefix two ids share is ambiguous: -ENOTUNIQ");
	TAP_OK(idx_alert_resolve(ix, "019aa0c1-0b", out, sizeof(out)) == 0 && !strcmp(out, A2),
	       "one more character settles it");
	TAP_OK(idx_alert_resolve(ix, "0200", out, sizeof(out)) == -ENOENT, "no match: -ENOENT");
	TAP_OK(idx_alert_resolve(ix, "", out, sizeof(out)) == -ENOENT, "empty prefix: -ENOENT");
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	TAP_OK(idx_alert_resolve(ix, big, out, sizeof(out)) == -ENAMETOOLONG,
	       "an over-long id: -ENAMETOOLONG");
	TAP_OK(idx_alert_resolve(ix, "019bb", out, 8) == -ENAMETOOLONG,
	       "an output buffer too small: -ENAMETOOLONG");
	n = idx_alert_abbrev(ix, A1, 8);
	TAP_OK(n == 11, "abbrev of A1 is 11 characters (A2 shares 10): %d", n);
	n = idx_alert_abbrev(ix, A4, 8);
	TAP_OK(n == 8, "abbrev of a lone id is the minimum, 8: %d", n);
	TAP_OK(idx_alert_get(ix, "019bb", collect_alert, &(struct alist){ 0 }) == -ENOENT,
	       "idx_alert_get takes exact ids only");
}

static int collect_seq(void *arg, const struct idx_event *ev)
{
	struct alist *l = arg;

	if (l->n < VG_ARRAY_LEN(l->r))
		l->r[l->n].last_seq = ev->seq;
	l->n++;
	return 0;
}

static void test_events(struct idx *ix)
{
	struct idx_filter f;
	struct alist l = { 0 };

	f = (struct idx_filter){ .decision = "deny" };
	TAP_EQ_U64(events_where(ix, &f), 3, "events --decision deny: the three rm -rf");
	f = (struct idx_filter){ .decision = "ask" };
	TAP_EQ_U64(events_where(ix, &f), 1, "--decision ask: 1");
	f = (struct idx_filter){ .decision = "allow" };
	TAP_EQ_U64(events_where(ix, &f), 4, "--decision allow: 4");
	f = (struct idx_filter){ .rule = "rule-rm" };
	TAP_EQ_U64(events_where(ix, &f), 3, "--rule rule-rm: its 3 detections");
	f = (struct idx_filter){ .rule = "rule-rm", .session = "7b2d" };
	TAP_EQ_U64(events_where(ix, &f), 0, "--rule with another session: none");
	f = (struct idx_filter){ .rule = "no-such-rule" };
	TAP_EQ_U64(events_where(ix, &f), 0, "--rule unknown: none");
	f = (struct idx_filter){ .rule = "vigil-destructive-rm" };
	TAP_EQ_U64(events_where(ix, &f), 3, "--rule by name: the same 3 detections");
	f = (struct idx_filter){ .rule = "vigil-private-key", .limit = 10 };
	TAP_EQ_U64(events_where(ix, &f), 1, "--rule vigil-private-key (with a limit): 1");
	f = (struct idx_filter){ .rule = "vigil-destructive-rm", .decision = "allow" };
	TAP_EQ_U64(events_where(ix, &f), 0, "--rule by name and --decision allow: none");
	TAP_OK(idx_alert_events(ix, A1, collect_seq, &l) == 0 && l.n == 3 &&
		       l.r[0].last_seq == 6 && l.r[1].last_seq == 10 && l.r[2].last_seq == 15,
	       "idx_alert_events: A1's events in seq order (6, 10, 15)");
}

static void test_stats(struct idx *ix)
{
	struct idx_alert_stats *s = vg_calloc(1, sizeof(*s));
	char err[256];

	if (!s)
		return;
	TAP_OK(idx_alert_stats(ix, 7, NOW_NS, s, err, sizeof(err)) == 0, "stats over 7 days (%s)",
	       err);
	TAP_EQ_U64(s->total, 5, "stats: 5 alerts in 7 days");
	TAP_OK(s->ndays == 7 && s->day[6].day_ns == BASE_NS + 3 * DAY_NS &&
		       s->since_ns == BASE_NS - 3 * DAY_NS,
	       "stats: 7 days ending today, at UTC midnights");
	TAP_OK(s->day[6].total == 3 && s->day[5].total == 1 && s->day[3].total == 1 &&
		       s->day[4].total == 0,
	       "per day: 3 today, 1 yesterday, 1 three days ago");
	TAP_OK(s->day[6].by_level[IDX_LEVEL_CRITICAL] == 1 &&
		       s->day[3].by_level[IDX_LEVEL_LOW] == 1,
	       "per day and level");
	TAP_OK(s->by_level[IDX_LEVEL_CRITICAL] == 1 && s->by_level[IDX_LEVEL_HIGH] == 1 &&
		       s->by_level[IDX_LEVEL_MEDIUM] == 1 && s->by_level[IDX_LEVEL_LOW] == 1 &&
		       s->by_level[IDX_LEVEL_INFORMATIONAL] == 1,
	       "by level: one of each");
	TAP_OK(s->open == 3 && s->acknowledged == 1 && s->resolved == 1 && s->open_now == 3,
	       "by state: 3 open, 1 acknowledged, 1 resolved");
	TAP_OK(s->acked_n == 1 && s->mtta_s > 119.9 && s->mtta_s < 120.1,
	       "mean time to acknowledge: 120 s (%.1f)", s->mtta_s);
	TAP_OK(s->resolved_n == 1 && s->mttr_s > 599.9 && s->mttr_s < 600.1,
	       "mean time to resolve: 600 s (%.1f)", s->mttr_s);
	TAP_OK(s->nrules == 5 && !s->rules_truncated, "by rule: 5 rules");
	{
		int named = 0, unnamed = 0;

		for (size_t i = 0; i < s->nrules && i < 5; i++) {
			const char *want = name_of(s->rule[i].rule_id);

			if (want && !strcmp(s->rule[i].rule_name, want))
				named++;
			else if (!want && !*s->rule[i].rule_name)
				unnamed++;
		}
		TAP_OK(named == 2 && unnamed == 3,
		       "by rule: the two named rules carry their names, the others none");
	}
	TAP_OK(idx_alert_stats(ix, 1, NOW_NS, s, err, sizeof(err)) == 0 && s->total == 3 &&
		       s->open_now == 3 && s->resolved == 0,
	       "stats over 1 day: today's 3 (open now still counts every open alert)");
	TAP_OK(idx_alert_stats(ix, 0, NOW_NS, s, err, sizeof(err)) == -EINVAL &&
		       idx_alert_stats(ix, IDX_ALERT_STATS_MAX_DAYS + 1, NOW_NS, s, err,
				       sizeof(err)) == -EINVAL,
	       "0 days or too many: -EINVAL (%s)", err);
	vg_free(s);
}

/* A late, older record never overwrites a newer one; times merge. */
static void test_out_of_order(const char *dir)
{
	struct idx *ix = NULL;
	struct alist l;
	char path[4200], err[256];
	struct idx_alert_filter all = { 0 };
	size_t keep = nrecs;
	uint64_t t = BASE_NS + 3 * DAY_NS;

	snprintf(path, sizeof(path), "%s/order.db", dir);
	if (idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) < 0) {
		TAP_OK(0, "open %s", err);
		return;
	}
	/* seq 1 open, seq 5 resolve, seq 3 acknowledge (late), seq 2 match (late). */
	add_alert(40, t, A1, "open", "open", "r", "high", S1, t, t, 1, json_pack("[s]", "e1"), NULL);
	add_alert(41, t + 50 * SEC, A1, "resolve", "resolved", "r", "high", S1, t, t + 20 * SEC, 2,
		  json_pack("[s]", "e2"), "uid 7");
	add_alert(42, t + 30 * SEC, A1, "acknowledge", "acknowledged", "r", "critical", S1, t,
		  t + 20 * SEC, 2, json_pack("[]"), "uid 8");
	add_alert(43, t + 20 * SEC, A1, "match", "open", "r", "critical", S1, t, t + 20 * SEC, 2,
		  json_pack("[s, s]", "e1", "e3"), NULL);
	TAP_OK(add_rec(ix, 1, recs[keep], false) == 0 && add_rec(ix, 5, recs[keep + 1], false) == 0 &&
		       add_rec(ix, 3, recs[keep + 2], false) == 0 &&
		       add_rec(ix, 2, recs[keep + 3], true) == 0,
	       "records added out of seq order");
	list(ix, &all, &l);
	TAP_OK(l.n == 1 && !strcmp(l.r[0].state, "resolved") && l.r[0].last_seq == 5 &&
		       l.r[0].first_seq == 1 && l.r[0].level == IDX_LEVEL_HIGH,
	       "the newest record (seq 5, resolved, high) stands: %s seq %" PRIu64,
	       l.r[0].state, l.r[0].last_seq);
	TAP_OK(l.r[0].ack == t + 30 * SEC && l.r[0].res == t + 50 * SEC,
	       "the late acknowledge still gives the acknowledge time");
	TAP_EQ_U64(l.r[0].events, 3, "alert_events: e1, e2, e3 from all the records");
	/* Malformed alert records: indexed as events, no alert row, no error. */
	{
		static const char *const bad[] = {
			"{\"event_type\":\"alert\"}",
			"{\"event_type\":\"alert\",\"alert\":[1,2]}",
			"{\"event_type\":\"alert\",\"alert\":{\"state\":\"open\"}}",
			"{\"event_type\":\"alert\",\"alert\":{\"id\":\"\"}}",
			"{\"event_type\":\"alert\",\"alert\":{\"id\":7}}",
			"{\"event_type\":\"alert\",\"alert\":{\"id\":\"x1\",\"event_ids\":[1,null,"
			"{}],\"tags\":\"no\",\"count\":-4,\"level\":\"extreme\",\"state\":\"odd\","
			"\"first_seen\":\"yesterday\"}}",
			"{\"detections\":[1,{\"rule_id\":5},{\"level\":\"high\"}],"
			"\"decision\":[\"deny\"]}",
			"{\"detections\":{},\"decision\":\"deny\"}",
		};
		bool ok = true;
		struct idx_counts n;

		for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++)
			ok &= idx_add(ix, 10 + i, t, bad[i], strlen(bad[i]), err, sizeof(err)) == 0;
		TAP_OK(ok, "malformed alert records and detections are indexed without error");
		idx_counts(ix, &n);
		TAP_EQ_U64(n.events, 4 + VG_ARRAY_LEN(bad), "every one is an event row");
		TAP_OK(list(ix, &all, &l) == 2 && l.r[1].level == IDX_LEVEL_INFORMATIONAL &&
			       !strcmp(l.r[1].state, "open") && l.r[1].count == 1 &&
			       l.r[1].events == 0,
		       "only the one with a usable id makes an alert (unknown level and state "
		       "read as informational and open)");
		struct idx_filter f = { .decision = "deny" };
		TAP_EQ_U64(events_where(ix, &f), 1, "a bare \"decision\":\"deny\" string counts");
	}
	idx_close(ix);
	for (size_t i = keep; i < nrecs; i++)
		json_decref(recs[i]);
	nrecs = keep;
}

/* `vigil reindex`: the ledger synced into a fresh index gives the same rows. */
static void test_reindex(const char *dir, struct idx *live)
{
	struct tledger t;
	struct ledger_options lo;
	struct ledger *l = NULL;
	struct idx *ix = NULL;
	char path[4200], err[256];
	uint64_t seq;
	int rc;

	if (tledger_init(&t, 900) < 0) {
		TAP_OK(0, "ledger for the reindex test");
		return;
	}
	tledger_options(&t, &lo);
	rc = ledger_open(&lo, &l, NULL, err, sizeof(err));
	for (size_t i = 0; rc == 0 && i < nrecs; i++) {
		char *text = json_dumps(recs[i], JSON_COMPACT | JSON_SORT_KEYS);

		rc = text ? ledger_append(l, LEDGER_REC_EVENT, text, strlen(text), &seq) : -ENOMEM;
		free(text);
	}
	if (l) {
		ledger_seal(l, NULL);
		ledger_close(l);
	}
	TAP_OK(rc == 0, "the records written to a ledger (%s)", rc ? err : "");
	snprintf(path, sizeof(path), "%s/reindex.db", dir);
	rc = idx_open(path, IDX_CREATE, &ix, err, sizeof(err));
	if (rc == 0)
		rc = idx_sync_ledger(ix, t.dir, NULL, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "sync the ledger into a new index (%s)", rc ? err : "");
	TAP_OK(ix && same_rows(live, ix, "reindex"),
	       "reindex gives the same alerts, alert_events, detections and decisions");
	idx_close(ix);
	tledger_cleanup(&t);
}

/* A version 2 index: the new columns and tables are added, and filled from
 * the events it holds. */
static void test_migrate_v2(const char *dir, struct idx *live)
{
	static const char downgrade[] =
		"DROP INDEX events_decision; DROP TABLE alerts; DROP TABLE alert_events;"
		" DROP TABLE event_detections;"
		" ALTER TABLE events DROP COLUMN decision;"
		" ALTER TABLE events DROP COLUMN decision_rule; PRAGMA user_version = 2;";
	struct idx *ix = NULL, *ro = NULL;
	char path[4200], err[256];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/v2.db", dir);
	rc = idx_open(path, IDX_CREATE, &ix, err, sizeof(err));
	if (rc == 0)
		rc = add_all(ix, false);
	idx_close(ix);
	ix = NULL;
	/* What a version 2 build made: this build's schema without version 3's
	 * additions (they were added at the ends, so the rest is identical). */
	if (rc == 0 && sqlite3_open(path, &db) == SQLITE_OK)
		rc = sqlite3_exec(db, downgrade, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
	if (db && rc < 0)
		TAP_DIAG("downgrade: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	TAP_OK(rc == 0, "a version 2 index with alert records in it");
	TAP_OK(idx_open(path, IDX_RDONLY, &ro, err, sizeof(err)) == -EPROTO,
	       "a reader refuses it: run vigil reindex (%s)", err);
	rc = idx_open(path, IDX_CREATE, &ix, err, sizeof(err));
	TAP_OK(rc == 0, "a writer migrates it in place (%s)", rc ? err : "");
	if (rc < 0)
		return;
	TAP_OK(same_rows(live, ix, "migration"),
	       "the migrated index has the same alerts, detections and decisions");
	idx_close(ix);
	TAP_OK(idx_open(path, IDX_RDONLY, &ro, err, sizeof(err)) == 0,
	       "and readers accept it now (%s)", err);
	idx_close(ro);
}

/* An index made by the first version 3 build, before rule names: a reader
 * refuses it, a writer adds the columns and fills them from the records. */
static void test_migrate_v3_names(const char *dir, struct idx *live)
{
	static const char downgrade[] =
		"DROP INDEX alerts_rule_name; DROP INDEX event_detections_name;"
		" ALTER TABLE alerts DROP COLUMN rule_name;"
		" ALTER TABLE event_detections DROP COLUMN rule_name;";
	struct idx *ix = NULL, *ro = NULL;
	char path[4200], err[256] = "", *idx_rows;
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/v3early.db", dir);
	rc = idx_open(path, IDX_CREATE, &ix, err, sizeof(err));
	if (rc == 0)
		rc = add_all(ix, false);
	idx_close(ix);
	ix = NULL;
	if (rc == 0 && sqlite3_open(path, &db) == SQLITE_OK)
		rc = sqlite3_exec(db, downgrade, NULL, NULL, NULL) == SQLITE_OK ? 0 : -EIO;
	if (db && rc < 0)
		TAP_DIAG("downgrade: %s", sqlite3_errmsg(db));
	sqlite3_close(db);
	TAP_OK(rc == 0, "an early version 3 index (no rule_name columns) with alerts in it");
	rc = idx_open(path, IDX_RDONLY, &ro, err, sizeof(err));
	TAP_OK(rc == -EPROTO && strstr(err, "rule names") && strstr(err, "vigil reindex"),
	       "a reader refuses it and says what to do (%s)", err);
	idx_close(ro);
	ro = NULL;
	rc = idx_open(path, IDX_CREATE, &ix, err, sizeof(err));
	TAP_OK(rc == 0, "a writer adds the columns in place (%s)", rc ? err : "");
	if (rc < 0)
		return;
	TAP_OK(same_rows(live, ix, "names"),
	       "the names are filled from the stored records: same rows as a new index");
	idx_rows = dump(ix, "SELECT name FROM sqlite_master WHERE name IN"
			    " ('alerts_rule_name', 'event_detections_name') ORDER BY 1");
	TAP_OK(idx_rows && !strcmp(idx_rows, "alerts_rule_name|\nevent_detections_name|\n"),
	       "and the name indexes exist");
	vg_free(idx_rows);
	idx_close(ix);
	ix = NULL;
	TAP_OK(idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) == 0,
	       "opening it again for writing is a no-op (%s)", err);
	idx_close(ix);
	TAP_OK(idx_open(path, IDX_RDONLY, &ro, err, sizeof(err)) == 0,
	       "and readers accept it now (%s)", err);
	idx_close(ro);
}

int main(void)
{
	char dir[] = "/tmp/vigil-test-alerts-XXXXXX", path[4200], err[256];
	struct idx *ix = NULL, *ix2 = NULL;

	if (!mkdtemp(dir))
		return 1;
	build_records();
	snprintf(path, sizeof(path), "%s/live.db", dir);
	TAP_OK(idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) == 0, "open (%s)", err);
	TAP_OK(ix && add_all(ix, true) == 0, "index the records as the daemon does (parsed)");
	if (ix) {
		test_rows(ix);
		test_filters(ix);
		test_lookup(ix);
		test_events(ix);
		test_stats(ix);
		snprintf(path, sizeof(path), "%s/plain.db", dir);
		TAP_OK(idx_open(path, IDX_CREATE, &ix2, err, sizeof(err)) == 0 &&
			       add_all(ix2, false) == 0 && same_rows(ix, ix2, "plain"),
		       "idx_add (unparsed) gives the same rows as idx_add_event");
		idx_close(ix2);
		test_out_of_order(dir);
		test_reindex(dir, ix);
		test_migrate_v2(dir, ix);
		test_migrate_v3_names(dir, ix);
	}
	idx_close(ix);
	for (size_t i = 0; i < nrecs; i++)
		json_decref(recs[i]);
	tdir_remove(dir);
	return tap_done();
}
