/*
 * test_index.c - the SQLite index over the real Claude Code capture: every
 * payload of session-rich.hooks.jsonl goes through the normalizer and into
 * the index; then rows, Pre/Post pairing (including the tool_use_ids a
 * subagent reuses from its parent), session aggregates, the subagent tree,
 * idempotent re-adds, unparsable payloads, out-of-order and abandoned tool
 * calls, filters and full-text search, sync from a real ledger, and the
 * read-only connection that `vigil sql` uses.  The ingest optimizations
 * (enum idx_tune: sessions merged per transaction, agent rows written only
 * when they change, events handed over parsed) must give the very rows the
 * plain code path gives; the full-text table covers the searched fields
 * only; a version 1 index is rebuilt.
 */
#include "ledger/helpers.h"
#include "idx.h"
#include "idx_int.h"
#include "pipeline.h"
#include "tap.h"

#include <errno.h>
#include <jansson.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

#define SID "a6554db9-c2ac-471e-ad30-60bbd41b856a"
#define SUB "ab76a09d7c5f5acde"
#define BASE_NS 1763899620000000000ull /* 2025-11-23T12:07:00Z */

static char *events[64]; /* the normalized fixture events, compact JSON */
static size_t nevents;
static char first_id[64];

static int load_fixture(void)
{
	struct norm_ctx *ctx = NULL;
	struct norm_options o = { .host = "testhost", .user = "tester" };
	char line[1 << 16], err[256];
	FILE *f = fopen(FIXTURE, "r");
	int rc = 0;

	if (!f || norm_ctx_new(&o, &ctx) < 0)
		return -1;
	while (fgets(line, sizeof(line), f) && nevents < VG_ARRAY_LEN(events)) {
		/* One second apart, so paired durations are visible. */
		struct norm_envelope env = { .recv_ns = BASE_NS + nevents * 1000000000ull,
					     .pid = -1, .ppid = -1, .uid = -1 };
		json_t *ev = NULL;

		if (norm_event(ctx, &env, line, strlen(line), &ev, err, sizeof(err)) < 0) {
			TAP_DIAG("norm_event: %s", err);
			rc = -1;
			break;
		}
		if (!nevents)
			snprintf(first_id, sizeof(first_id), "%s",
				 json_string_value(json_object_get(ev, "id")));
		events[nevents++] = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
		json_decref(ev);
	}
	fclose(f);
	norm_ctx_free(ctx);
	return rc;
}

static int add_all(struct idx *ix, uint64_t first_seq)
{
	char err[256];
	int rc = idx_begin(ix);

	for (size_t i = 0; rc == 0 && i < nevents; i++) {
		rc = idx_add(ix, first_seq + i, BASE_NS + i, events[i], strlen(events[i]), err,
			     sizeof(err));
		if (rc < 0)
			TAP_DIAG("idx_add %zu: %s", i, err);
	}
	if (rc == 0)
		rc = idx_commit(ix);
	return rc;
}

/* ---- collectors ------------------------------------------------------------- */

struct evs {
	size_t n;
	uint64_t seq[256];
	char type[256][32];
	bool all_have; /* every row's json holds `needle` */
	const char *needle;
};

static int collect_ev(void *arg, const struct idx_event *ev)
{
	struct evs *c = arg;

	if (c->n < VG_ARRAY_LEN(c->seq)) {
		c->seq[c->n] = ev->seq;
		snprintf(c->type[c->n], sizeof(c->type[0]), "%s",
			 ev->event_type ? ev->event_type : "");
	}
	if (c->needle && !strstr(ev->json, c->needle))
		c->all_have = false;
	c->n++;
	return 0;
}

static size_t count_events(struct idx *ix, const struct idx_filter *f, struct evs *c)
{
	char err[256];

	memset(c, 0, sizeof(*c));
	c->all_have = true;
	if (idx_query_events(ix, f, collect_ev, c, err, sizeof(err)) < 0) {
		TAP_DIAG("query: %s", err);
		return (size_t)-1;
	}
	return c->n;
}

struct sess {
	int n;
	char id[128], end_reason[64], project[256];
	uint64_t events, tool_calls, failures, abandoned, prompts, subagents, files_changed;
	uint64_t first_ns, last_ns;
	int ended;
	int64_t input_tokens, output_tokens, total_tokens;
	double cost;
};

static int collect_sess(void *arg, const struct idx_session *s)
{
	struct sess *c = arg;

	c->n++;
	snprintf(c->id, sizeof(c->id), "%s", s->session_id);
	snprintf(c->end_reason, sizeof(c->end_reason), "%s", s->end_reason ? s->end_reason : "");
	snprintf(c->project, sizeof(c->project), "%s", s->project_root ? s->project_root : "");
	c->events = s->events;
	c->tool_calls = s->tool_calls;
	c->failures = s->failures;
	c->abandoned = s->abandoned;
	c->prompts = s->prompts;
	c->subagents = s->subagents;
	c->files_changed = s->files_changed;
	c->ended = s->ended;
	c->first_ns = s->first_ns;
	c->last_ns = s->last_ns;
	c->input_tokens = s->input_tokens;
	c->output_tokens = s->output_tokens;
	c->total_tokens = s->total_tokens;
	c->cost = s->cost_usd;
	return 0;
}

struct tcs {
	int n;
	struct {
		char agent[64], tu[64], tool[32], outcome[16];
		uint64_t pre, post;
		int64_t dur;
	} t[32];
};

static int collect_tc(void *arg, const struct idx_tool_call *t)
{
	struct tcs *c = arg;

	if (c->n < (int)VG_ARRAY_LEN(c->t)) {
		snprintf(c->t[c->n].agent, 64, "%s", t->agent_id ? t->agent_id : "");
		snprintf(c->t[c->n].tu, 64, "%s", t->tool_use_id);
		snprintf(c->t[c->n].tool, 32, "%s", t->tool ? t->tool : "");
		snprintf(c->t[c->n].outcome, 16, "%s", t->outcome);
		c->t[c->n].pre = t->pre_seq;
		c->t[c->n].post = t->post_seq;
		c->t[c->n].dur = t->duration_ms;
	}
	c->n++;
	return 0;
}

static int find_tc(const struct tcs *c, const char *agent, const char *tu)
{
	for (int i = 0; i < c->n && i < (int)VG_ARRAY_LEN(c->t); i++)
		if (!strcmp(c->t[i].agent, agent) && !strcmp(c->t[i].tu, tu))
			return i;
	return -1;
}

struct ags {
	int n;
	char id[64], type[64], parent_tu[64], parent_agent[64];
	uint64_t tool_calls, start_ns, end_ns;
};

static int collect_agent(void *arg, const struct idx_agent *a)
{
	struct ags *c = arg;

	c->n++;
	snprintf(c->id, 64, "%s", a->agent_id);
	snprintf(c->type, 64, "%s", a->agent_type ? a->agent_type : "");
	snprintf(c->parent_tu, 64, "%s", a->parent_tool_use_id ? a->parent_tool_use_id : "");
	snprintf(c->parent_agent, 64, "%s", a->parent_agent_id ? a->parent_agent_id : "(main)");
	c->tool_calls = a->tool_calls;
	c->start_ns = a->start_ns;
	c->end_ns = a->end_ns;
	return 0;
}

static int count_fc(void *arg, const struct idx_file_change *f)
{
	(*(int *)arg)++;
	return 0;
}

struct sqlres {
	int rows;
	char first[256];
};

static int collect_sql(void *arg, const struct idx_sql_row *r)
{
	struct sqlres *c = arg;

	if (!c->rows++ && r->n > 0)
		snprintf(c->first, sizeof(c->first), "%s", r->values[0] ? r->values[0] : "NULL");
	return 0;
}

/* ---- the tests ------------------------------------------------------------------ */

static void test_fixture(struct idx *ix)
{
	struct idx_counts n;
	struct sess s = { 0 };
	struct tcs t = { 0 };
	struct ags a = { 0 };
	int i, j, fc = 0;

	TAP_OK(add_all(ix, 1) == 0, "the %zu fixture events are indexed in one batch", nevents);
	TAP_OK(idx_counts(ix, &n) == 0, "counts");
	TAP_EQ_U64(n.events, 24, "24 event rows");
	TAP_EQ_U64(n.sessions, 1, "one session");
	TAP_EQ_U64(n.tool_calls, 9, "9 tool calls (7 main, 2 in the subagent)");
	TAP_EQ_U64(n.agents, 1, "one subagent");
	TAP_EQ_U64(n.last_seq, 24, "last seq");

	TAP_OK(idx_session_get(ix, SID, collect_sess, &s) == 0 && s.n == 1, "session found");
	TAP_EQ_U64(s.events, 24, "session: events");
	TAP_EQ_U64(s.tool_calls, 9, "session: tool calls");
	TAP_EQ_U64(s.failures, 2, "session: failures (the failing Bash and WebFetch)");
	TAP_EQ_U64(s.prompts, 1, "session: prompts");
	TAP_EQ_U64(s.subagents, 1, "session: subagents");
	TAP_EQ_U64(s.files_changed, 1, "session: 1 file changed (Write and Edit of app.py)");
	TAP_OK(s.ended == 1 && !strcmp(s.end_reason, "other"), "session: ended, reason '%s'",
	       s.end_reason);
	TAP_OK(!strcmp(s.project, "/home/dev/acme-app"), "session: project root '%s'", s.project);
	TAP_EQ_U64(s.first_ns, BASE_NS, "session: first event time from the event");
	TAP_EQ_U64(s.last_ns, BASE_NS + 23 * 1000000000ull, "session: last event time");

	TAP_OK(idx_tool_calls(ix, SID, collect_tc, &t) == 0 && t.n == 9, "tool calls listed (%d)",
	       t.n);
	i = find_tc(&t, "", "toolu_00_15293");
	j = find_tc(&t, SUB, "toolu_00_15293");
	TAP_OK(i >= 0 && j >= 0 && i != j, "toolu_00_15293 is two calls: main and subagent");
	TAP_OK(i >= 0 && !strcmp(t.t[i].tool, "Bash") && !strcmp(t.t[i].outcome, "failure") &&
		       t.t[i].pre == 3 && t.t[i].post == 4,
	       "main toolu_00: Bash, failure, seq 3 -> 4");
	TAP_OK(j >= 0 && !strcmp(t.t[j].tool, "Grep") && !strcmp(t.t[j].outcome, "success") &&
		       t.t[j].pre == 13 && t.t[j].post == 14,
	       "subagent toolu_00: Grep, success, seq 13 -> 14");
	i = find_tc(&t, "", "toolu_04_15293");
	TAP_OK(i >= 0 && !strcmp(t.t[i].tool, "Agent") && t.t[i].pre == 11 && t.t[i].post == 18 &&
		       t.t[i].dur >= 0,
	       "Agent call paired across the subagent's events (duration %" PRId64 " ms)",
	       i >= 0 ? t.t[i].dur : -1);
	for (i = 0, j = 0; i < t.n; i++)
		j += t.t[i].pre && t.t[i].post && strcmp(t.t[i].outcome, "pending");
	TAP_OK(j == 9, "every call has its Pre and Post and an outcome (%d)", j);

	TAP_OK(idx_agents(ix, SID, collect_agent, &a) == 0 && a.n == 1, "agent listed");
	TAP_OK(!strcmp(a.id, SUB) && !strcmp(a.type, "general-purpose"), "agent id and type");
	TAP_OK(!strcmp(a.parent_tu, "toolu_04_15293") && !strcmp(a.parent_agent, "(main)"),
	       "subagent spawned by the main agent's Agent call toolu_04 (%s, %s)", a.parent_tu,
	       a.parent_agent);
	TAP_EQ_U64(a.tool_calls, 2, "subagent made 2 tool calls");
	TAP_OK(a.start_ns && a.end_ns > a.start_ns, "subagent start and end times");

	TAP_OK(idx_file_changes(ix, SID, count_fc, &fc) == 0 && fc == 2, "2 file change rows (%d)",
	       fc);
	TAP_OK(idx_has_event(ix, first_id) == 1, "idx_has_event finds an indexed id");
	TAP_OK(idx_has_event(ix, "0190aaaa-0000-7000-8000-000000000000") == 0,
	       "idx_has_event: unknown id");
}

static void test_idempotent(struct idx *ix)
{
	struct idx_counts n;
	struct sess s = { 0 };

	TAP_OK(add_all(ix, 1) == 0, "re-adding the same seqs succeeds");
	idx_counts(ix, &n);
	TAP_EQ_U64(n.events, 24, "re-add: still 24 events");
	TAP_EQ_U64(n.tool_calls, 9, "re-add: still 9 tool calls");
	idx_session_get(ix, SID, collect_sess, &s);
	TAP_EQ_U64(s.events, 24, "re-add: session aggregates not doubled");
	TAP_EQ_U64(s.failures, 2, "re-add: failures not doubled");
}

static void test_invalid(struct idx *ix)
{
	size_t k;
	static const char bad[] = "{\"hook\": \"PreToolUse\", \xff\xfe not json";
	struct idx_filter f = { .event_type = "invalid" };
	struct evs c;
	char err[256];

	TAP_OK(idx_add(ix, 100, BASE_NS, bad, sizeof(bad) - 1, err, sizeof(err)) == 0,
	       "unparsable payload: idx_add returns 0");
	TAP_OK(idx_add(ix, 101, BASE_NS, "[1,2]", 5, err, sizeof(err)) == 0,
	       "non-object JSON: idx_add returns 0");
	k = count_events(ix, &f, &c);
	TAP_OK(k == 2 && c.seq[0] == 100 && c.seq[1] == 101,
	       "both kept as 'invalid' rows");
	f.text = "PreToolUse";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 1, "the raw text of an invalid payload is searchable");
}

struct json_check {
	int n, parsed, raw_ok;
};

static int check_invalid_json(void *arg, const struct idx_event *ev)
{
	struct json_check *c = arg;
	json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);

	c->n++;
	if (j) {
		const char *raw = json_string_value(json_object_get(j, "raw"));

		c->parsed++;
		if (raw && json_string_value(json_object_get(j, "error")))
			c->raw_ok++;
		json_decref(j);
	}
	return 0;
}

static void test_invalid_json_rows(struct idx *ix)
{
	struct idx_filter f = { .event_type = "invalid" };
	struct json_check c = { 0 };
	char err[256];

	idx_query_events(ix, &f, check_invalid_json, &c, err, sizeof(err));
	TAP_OK(c.n == 2 && c.parsed == 2 && c.raw_ok == 2,
	       "invalid rows store valid JSON with 'error' and 'raw' (%d/%d/%d)", c.n, c.parsed,
	       c.raw_ok);
}

static void test_filters(struct idx *ix)
{
	size_t k;
	struct idx_filter f = { 0 };
	struct evs c;
	char err[256];

	f.tool = "Bash";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 4, "--tool Bash: 4 events (%zu)", k);
	memset(&f, 0, sizeof(f));
	f.session = "a6554";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 24, "session prefix: 24 events");
	f.session = "a6554db9";
	f.session_exact = true;
	k = count_events(ix, &f, &c);
	TAP_OK(k == 0, "exact session id needs the whole id");
	memset(&f, 0, sizeof(f));
	f.hook = "PostToolUseFailure";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 2, "--hook PostToolUseFailure: 2");
	memset(&f, 0, sizeof(f));
	f.event_type = "subagent_start";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 1, "--type subagent_start: 1");
	memset(&f, 0, sizeof(f));
	f.agent_id = SUB;
	k = count_events(ix, &f, &c);
	TAP_OK(k == 6, "--agent-id: the subagent's 6 events (%zu)", k);
	memset(&f, 0, sizeof(f));
	f.session = "a6554";
	f.limit = 3;
	k = count_events(ix, &f, &c);
	TAP_OK(k == 3 && c.seq[0] == 22 && c.seq[2] == 24,
	       "--limit 3: the newest three, oldest first");
	memset(&f, 0, sizeof(f));
	f.since_ns = BASE_NS + 20 * 1000000000ull;
	f.until_ns = BASE_NS + 22 * 1000000000ull;
	k = count_events(ix, &f, &c);
	TAP_OK(k == 2 && c.seq[0] == 21, "time range [since, until)");
	memset(&f, 0, sizeof(f));
	f.after_seq = 20;
	f.session = "a6554";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 4, "after_seq (tail -f)");
	memset(&f, 0, sizeof(f));
	f.text = "alarming";
	f.session = "a6554";
	c.needle = NULL;
	k = count_events(ix, &f, &c);
	TAP_OK(k >= 1, "--text alarming finds the subagent's answer (%zu)",
	       k);
	memset(&f, 0, sizeof(f));
	f.text = "no-such-word-anywhere";
	k = count_events(ix, &f, &c);
	TAP_OK(k == 0, "--text with no hit: 0 rows");
	memset(&f, 0, sizeof(f));
	f.text = "\"NEAR( col:* ^";
	k = count_events(ix, &f, &c);
	TAP_OK(k != (size_t)-1, "FTS5 syntax in --text is quoted, no error");
	memset(&f, 0, sizeof(f));
	f.text = "   ";
	TAP_OK(idx_query_events(ix, &f, collect_ev, &c, err, sizeof(err)) == -EINVAL,
	       "--text with no words: -EINVAL (%s)", err);
	memset(&f, 0, sizeof(f));
	f.outside_scope = true;
	k = count_events(ix, &f, &c);
	TAP_OK(k != (size_t)-1, "--outside-scope runs (%zu rows)", k);
}

static void add_json(struct idx *ix, uint64_t seq, uint64_t t, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void add_json(struct idx *ix, uint64_t seq, uint64_t t, const char *fmt, ...)
{
	char buf[2048], err[256];
	va_list ap;
	int rc;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	rc = idx_add(ix, seq, t, buf, strlen(buf), err, sizeof(err));
	if (rc < 0)
		TAP_DIAG("idx_add %" PRIu64 ": %s", seq, err);
}

static void test_pairing_edge_cases(struct idx *ix)
{
	size_t k;
	struct tcs t = { 0 };
	struct sess s = { 0 };
	struct idx_filter f = { .min_risk = IDX_RISK_HIGH, .session = "s2" };
	struct evs c;
	int i;

	/* A Post that arrives before its Pre (a late spool). */
	add_json(ix, 200, 0,
		 "{\"id\":\"e200\",\"time\":\"2025-11-23T13:00:05.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"PostToolUse\",\"event_type\":\"command_execution\",\"tool\":\"Bash\","
		 "\"tool_use_id\":\"t1\",\"outcome\":\"success\"}");
	add_json(ix, 201, 0,
		 "{\"id\":\"e201\",\"time\":\"2025-11-23T13:00:02.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"PreToolUse\",\"event_type\":\"command_execution\",\"tool\":\"Bash\","
		 "\"target\":\"ls\",\"tool_use_id\":\"t1\",\"risk\":\"high\"}");
	/* A Pre that never finishes: abandoned by the daemon, then finished after all. */
	add_json(ix, 202, 0,
		 "{\"id\":\"e202\",\"time\":\"2025-11-23T13:00:06.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"PreToolUse\",\"event_type\":\"command_execution\",\"tool\":\"Bash\","
		 "\"tool_use_id\":\"t2\",\"risk\":{\"level\":\"critical\",\"score\":90}}");
	add_json(ix, 203, 0,
		 "{\"id\":\"e203\",\"time\":\"2025-11-23T13:10:06.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"vigil\",\"event_type\":\"tool_abandoned\",\"tool_use_id\":\"t2\","
		 "\"outcome\":\"abandoned\"}");
	/* A third call abandoned for good. */
	add_json(ix, 204, 0,
		 "{\"id\":\"e204\",\"time\":\"2025-11-23T13:00:07.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"PreToolUse\",\"tool\":\"Read\",\"tool_use_id\":\"t3\"}");
	add_json(ix, 205, 0,
		 "{\"id\":\"e205\",\"time\":\"2025-11-23T13:10:07.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"vigil\",\"event_type\":\"tool_abandoned\",\"tool_use_id\":\"t3\","
		 "\"duration_ms\":600123}");
	idx_session_get(ix, "s2", collect_sess, &s);
	TAP_EQ_U64(s.abandoned, 2, "two calls abandoned");
	idx_tool_calls(ix, "s2", collect_tc, &t);
	i = find_tc(&t, "", "t2");
	TAP_OK(i >= 0 && t.t[i].dur == 600000,
	       "abandoned without a duration_ms: the time from the Pre to the event (%" PRId64 ")",
	       i >= 0 ? t.t[i].dur : -1);
	memset(&t, 0, sizeof(t));
	add_json(ix, 206, 0,
		 "{\"id\":\"e206\",\"time\":\"2025-11-23T13:11:00.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"PostToolUseFailure\",\"tool\":\"Bash\",\"tool_use_id\":\"t2\","
		 "\"error\":\"killed\",\"duration_ms\":654000,"
		 "\"usage\":{\"input_tokens\":10,\"output_tokens\":5,\"cost_usd\":0.25}}");
	idx_tool_calls(ix, "s2", collect_tc, &t);
	TAP_OK(t.n == 3, "3 tool calls in s2 (%d)", t.n);
	i = find_tc(&t, "", "t1");
	TAP_OK(i >= 0 && t.t[i].pre == 201 && t.t[i].post == 200 && !strcmp(t.t[i].outcome, "success"),
	       "Post before Pre: one call with both");
	TAP_OK(i >= 0 && t.t[i].dur == 3000, "Post before Pre: duration from the times (%" PRId64
					       ")", i >= 0 ? t.t[i].dur : -1);
	i = find_tc(&t, "", "t2");
	TAP_OK(i >= 0 && !strcmp(t.t[i].outcome, "failure") && t.t[i].dur == 654000,
	       "abandoned then finished: the Post's outcome and duration win");
	i = find_tc(&t, "", "t3");
	TAP_OK(i >= 0 && !strcmp(t.t[i].outcome, "abandoned") && t.t[i].post == 0,
	       "abandoned for good");
	TAP_OK(i >= 0 && t.t[i].dur == 600123,
	       "abandoned: the row has the tool_abandoned event's duration_ms (%" PRId64 ")",
	       i >= 0 ? t.t[i].dur : -1);
	memset(&s, 0, sizeof(s));
	idx_session_get(ix, "s2", collect_sess, &s);
	TAP_EQ_U64(s.abandoned, 1, "abandoned count back to 1");
	TAP_EQ_U64(s.failures, 1, "failure counted once");
	k = count_events(ix, &f, &c);
	TAP_OK(k == 2, "--risk high: the high and the critical event (%zu)",
	       k);
	f.min_risk = IDX_RISK_CRITICAL;
	k = count_events(ix, &f, &c);
	TAP_OK(k == 1 && c.seq[0] == 202, "--risk critical: 1");
}

/* usage of the events is summed per session. */
static void test_tokens(struct idx *ix)
{
	struct sess s = { 0 };

	add_json(ix, 207, 0,
		 "{\"id\":\"e207\",\"time\":\"2025-11-23T13:12:00.000Z\",\"session_id\":\"s2\","
		 "\"hook\":\"Stop\",\"event_type\":\"stop\","
		 "\"usage\":{\"input_tokens\":100,\"cost_usd\":0.5}}");
	idx_session_get(ix, "s2", collect_sess, &s);
	TAP_OK(s.input_tokens == 110 && s.output_tokens == 5 && s.total_tokens == -1,
	       "tokens summed over the session's events, unknown stays unknown (%" PRId64 ")",
	       s.input_tokens);
	TAP_OK(s.cost > 0.749 && s.cost < 0.751, "cost summed (%.3f)", s.cost);
	memset(&s, 0, sizeof(s));
	idx_session_get(ix, SID, collect_sess, &s);
	TAP_OK(s.cost < 0, "a session without usage has unknown cost");
}

static void test_readonly(const char *path)
{
	struct idx *ro = NULL;
	struct sqlres r;
	bool trunc;
	char err[256];
	static const char *const writes[] = {
		"DELETE FROM events",
		"INSERT INTO sessions (session_id) VALUES ('x')",
		"UPDATE events SET tool = 'x'",
		"DROP TABLE events",
		"CREATE TABLE t (x)",
		"ATTACH DATABASE '/tmp/x.db' AS x",
		"PRAGMA user_version = 5",
		"PRAGMA schema_version = 5",
		"CREATE TEMP TABLE t (x)",
		"PRAGMA journal_mode = DELETE",
		"VACUUM",
		"REINDEX",
	};

	TAP_OK(idx_open(path, IDX_RDONLY, &ro, err, sizeof(err)) == 0, "read-only open");
	if (!ro)
		return;
	TAP_OK(idx_add(ro, 999, 0, "{}", 2, err, sizeof(err)) == -EPERM,
	       "idx_add on a read-only connection: -EPERM");
	for (size_t i = 0; i < VG_ARRAY_LEN(writes); i++) {
		int rc = idx_sql(ro, writes[i], 10, collect_sql, &r, &trunc, err, sizeof(err));

		TAP_OK(rc == -EPERM, "sql refuses '%s' (%d: %s)", writes[i], rc, err);
	}
	memset(&r, 0, sizeof(r));
	TAP_OK(idx_sql(ro, "SELECT count(*) FROM events WHERE session_id = '" SID "'", 10,
		       collect_sql, &r, &trunc, err, sizeof(err)) == 0 &&
		       r.rows == 1 && !strcmp(r.first, "24"),
	       "sql: count(*) = %s", r.first);
	memset(&r, 0, sizeof(r));
	TAP_OK(idx_sql(ro, "SELECT seq FROM events ORDER BY seq", 5, collect_sql, &r, &trunc,
		       err, sizeof(err)) == 0 &&
		       r.rows == 5 && trunc,
	       "sql: bounded to max_rows, truncated flagged");
	memset(&r, 0, sizeof(r));
	TAP_OK(idx_sql(ro, "SELECT rowid FROM events_fts WHERE events_fts MATCH 'alarming'", 10,
		       collect_sql, &r, &trunc, err, sizeof(err)) == 0 &&
		       r.rows >= 1,
	       "sql: full-text search works through the authorizer (%s)", err);
	memset(&r, 0, sizeof(r));
	TAP_OK(idx_sql(ro, "WITH RECURSIVE n(x) AS (SELECT 1 UNION ALL SELECT x + 1 FROM n"
			   " WHERE x < 3) SELECT x FROM n",
		       10, collect_sql, &r, &trunc, err, sizeof(err)) == 0 &&
		       r.rows == 3,
	       "sql: recursive CTE");
	memset(&r, 0, sizeof(r));
	TAP_OK(idx_sql(ro, "SELECT name FROM pragma_table_info('events')", 100, collect_sql, &r,
		       &trunc, err, sizeof(err)) == 0 &&
		       r.rows > 10,
	       "sql: pragma_table_info reads the schema (%d columns)", r.rows);
	TAP_OK(idx_sql(ro, "SELECT 1; DELETE FROM events", 10, collect_sql, &r, &trunc, err,
		       sizeof(err)) == -EINVAL,
	       "sql: two statements refused (%s)", err);
	TAP_OK(idx_sql(ro, "SELEKT 1", 10, collect_sql, &r, &trunc, err, sizeof(err)) == -EINVAL,
	       "sql: a syntax error is -EINVAL (%s)", err);
	TAP_OK(idx_sql(ro, "", 10, collect_sql, &r, &trunc, err, sizeof(err)) == -EINVAL,
	       "sql: empty statement refused");
	idx_close(ro);
}

static void test_open_errors(const char *dir)
{
	struct idx *ix = NULL;
	char path[4200], err[256];
	sqlite3 *db;

	snprintf(path, sizeof(path), "%s/missing.db", dir);
	TAP_OK(idx_open(path, IDX_RDONLY, &ix, err, sizeof(err)) == -ENOENT && !ix,
	       "read-only open of a missing index: -ENOENT (%s)", err);
	TAP_OK(access(path, F_OK) < 0, "and nothing was created");
	snprintf(path, sizeof(path), "%s/future.db", dir);
	if (sqlite3_open(path, &db) == SQLITE_OK) {
		sqlite3_exec(db, "PRAGMA user_version = 99; CREATE TABLE x (y)", NULL, NULL, NULL);
		sqlite3_close(db);
	}
	TAP_OK(idx_open(path, IDX_RDONLY, &ix, err, sizeof(err)) == -EPROTO,
	       "read-only open of another schema version: -EPROTO (%s)", err);
	TAP_OK(idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) == -EPROTO,
	       "writable open of a newer schema: -EPROTO");
	snprintf(path, sizeof(path), "%s/garbage.db", dir);
	tfile_write(path, "this is not a database, just text that is long enough to matter.....",
		    69, 0600);
	TAP_OK(idx_open(path, IDX_RDONLY, &ix, err, sizeof(err)) < 0 && !ix,
	       "a file that is not a database is refused (%s)", err);
}

struct prog {
	int calls;
	uint64_t last;
};

static void on_progress(void *arg, uint64_t records)
{
	struct prog *p = arg;

	p->calls++;
	p->last = records;
}

/* A frame still being written at the end is where the ledger ends for now;
 * a damaged record in the middle stops the sync, keeping what came before. */
static void test_sync_damage(const char *dir, const struct tledger *t)
{
	struct timage im = { 0 };
	struct idx *ix = NULL;
	struct idx_counts n;
	char path[4200], seg[4300], err[512];
	uint8_t partial[12] = { 200, 0, 0, 0, LEDGER_REC_EVENT };
	FILE *f;
	int rc;

	tseg_path(seg, t->dir, (uint64_t)tseg_count(t->dir));
	f = fopen(seg, "ab");
	TAP_OK(f && fwrite(partial, 1, sizeof(partial), f) == sizeof(partial),
	       "append half a frame to the last segment");
	if (f)
		fclose(f);
	snprintf(path, sizeof(path), "%s/tail.db", dir);
	if (idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) < 0)
		return;
	rc = idx_sync_ledger(ix, t->dir, NULL, NULL, err, sizeof(err));
	idx_counts(ix, &n);
	TAP_OK(rc == 0 && n.events == nevents + 1,
	       "an incomplete frame at the end is the end, not damage (%d, %" PRIu64 ")", rc,
	       n.events);
	idx_close(ix);

	/* Flip a byte inside the 10th record's payload: its CRC no longer matches. */
	if (timage_load(t->dir, &im) == 0 && im.n > 0) {
		size_t segi, off;

		if (timage_find_seq(&im, 10, &segi, &off) == 0) {
			im.s[segi].buf[off + 60] ^= 0x20;
			timage_save(t->dir, &im);
		}
	}
	timage_free(&im);
	snprintf(path, sizeof(path), "%s/damaged.db", dir);
	if (idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) < 0)
		return;
	rc = idx_sync_ledger(ix, t->dir, NULL, NULL, err, sizeof(err));
	idx_counts(ix, &n);
	TAP_OK(rc < 0, "damage in the middle stops the sync with an error (%s)", err);
	TAP_EQ_U64(n.events, 9, "the 9 events before the damage are indexed and kept");
	idx_close(ix);
}

static void test_sync_from(const char *dir, const char *ledger_dir);
static void test_migrate_v1(const char *dir, const char *ledger_dir);

static void test_sync(const char *dir)
{
	struct tledger t;
	struct ledger_options lo;
	struct ledger *l = NULL;
	struct idx *ix = NULL;
	struct idx_counts n;
	struct prog p = { 0 };
	char path[4200], err[512];
	uint64_t seq, last = 0;
	size_t half = nevents / 2;
	int rc;

	if (tledger_init(&t, 900) < 0) {
		TAP_OK(0, "ledger for the sync test");
		return;
	}
	tledger_options(&t, &lo);
	rc = ledger_open(&lo, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "ledger opened (%s)", rc ? err : "");
	if (rc)
		goto out;
	for (size_t i = 0; i < half; i++)
		ledger_append(l, LEDGER_REC_EVENT, events[i], strlen(events[i]), &seq);
	ledger_seal(l, NULL);
	ledger_close(l);
	l = NULL;

	snprintf(path, sizeof(path), "%s/sync.db", dir);
	TAP_OK(idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) == 0, "index for sync");
	if (!ix)
		goto out;
	rc = idx_sync_ledger(ix, t.dir, on_progress, &p, err, sizeof(err));
	TAP_OK(rc == 0, "sync the first half (%s)", rc ? err : "");
	idx_counts(ix, &n);
	TAP_EQ_U64(n.events, half, "first sync: half the events");
	TAP_OK(p.calls >= 1 && p.last == half, "progress reported (%d calls, %" PRIu64 ")",
	       p.calls, p.last);

	rc = ledger_open(&lo, &l, NULL, err, sizeof(err));
	for (size_t i = half; rc == 0 && i < nevents; i++)
		ledger_append(l, LEDGER_REC_EVENT, events[i], strlen(events[i]), &seq);
	ledger_append(l, LEDGER_REC_EVENT, "not json", 8, &last);
	if (l) {
		ledger_seal(l, NULL);
		ledger_close(l);
	}
	rc = idx_sync_ledger(ix, t.dir, NULL, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "sync the rest (%s)", rc ? err : "");
	idx_counts(ix, &n);
	TAP_EQ_U64(n.events, nevents + 1, "second sync adds only the new events");
	TAP_EQ_U64(n.invalid, 1, "the unparsable record is an 'invalid' row");
	TAP_EQ_U64(n.last_seq, last, "last seq = the ledger's last event");
	TAP_EQ_U64(n.tool_calls, 9, "pairing across the two syncs: 9 calls");
	rc = idx_sync_ledger(ix, t.dir, NULL, NULL, err, sizeof(err));
	idx_counts(ix, &n);
	TAP_OK(rc == 0 && n.events == nevents + 1, "a third sync adds nothing");
	test_sync_from(dir, t.dir);
	test_migrate_v1(dir, t.dir);
	TAP_OK(idx_sync_ledger(ix, "/nonexistent/vigil-ledger", NULL, NULL, err, sizeof(err)) < 0,
	       "sync from a missing ledger fails (%s)", err);
	test_sync_damage(dir, &t);
out:
	idx_close(ix);
	tledger_cleanup(&t);
}

/* ---- the optimizations give the same rows ------------------------------------------ */

/* Every row of the derived tables as text, in a fixed order. */
static int dump_db(const char *path, struct vbuf *out)
{
	static const char *const q[] = {
		"SELECT * FROM events ORDER BY seq",
		"SELECT session_id, agent_id, tool_use_id, tool, target, pre_seq, post_seq, start_ns,"
		" end_ns, duration_ms, outcome, error FROM tool_calls"
		" ORDER BY session_id, agent_id, tool_use_id",
		"SELECT * FROM sessions ORDER BY session_id",
		"SELECT * FROM agents ORDER BY session_id, agent_id",
		"SELECT * FROM file_changes ORDER BY seq",
	};
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);

	for (size_t i = 0; rc == SQLITE_OK && i < VG_ARRAY_LEN(q); i++) {
		sqlite3_stmt *st = NULL;

		rc = sqlite3_prepare_v2(db, q[i], -1, &st, NULL);
		while (rc == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(st); c++) {
				const unsigned char *v = sqlite3_column_text(st, c);

				vbuf_appendf(out, "%s|", v ? (const char *)v : "NULL");
			}
			vbuf_append(out, "\n", 1);
		}
		sqlite3_finalize(st);
		vbuf_append(out, "--\n", 3);
	}
	sqlite3_close(db);
	return rc == SQLITE_OK ? 0 : -1;
}

/* The fixture as three interleaved sessions, with the edge cases of
 * test_pairing_edge_cases and test_tokens in between: what the variants
 * below index. */
#define MIX_SESSIONS 3
static char *mix[MIX_SESSIONS * 64 + 16];
static size_t nmix;

static char *replace_all(const char *s, const char *from, const char *to)
{
	struct vbuf b;
	size_t fl = strlen(from);
	const char *p;

	vbuf_init(&b, 1 << 20);
	while ((p = strstr(s, from))) {
		vbuf_append(&b, s, (size_t)(p - s));
		vbuf_append(&b, to, strlen(to));
		s = p + fl;
	}
	vbuf_append(&b, s, strlen(s));
	return (char *)b.data;
}

static const char *const edge_events[] = {
	"{\"id\":\"e200\",\"time\":\"2025-11-23T13:00:05.000Z\",\"session_id\":\"s2\","
	"\"hook\":\"PostToolUse\",\"event_type\":\"command_execution\",\"tool\":\"Bash\","
	"\"tool_use_id\":\"t1\",\"outcome\":\"success\"}",
	"{\"id\":\"e201\",\"time\":\"2025-11-23T13:00:02.000Z\",\"session_id\":\"s2\","
	"\"hook\":\"PreToolUse\",\"event_type\":\"command_execution\",\"tool\":\"Bash\","
	"\"target\":\"ls\",\"tool_use_id\":\"t1\",\"risk\":\"high\",\"model\":\"m1\"}",
	"{\"id\":\"e202\",\"time\":\"2025-11-23T13:00:06.000Z\",\"session_id\":\"s2\","
	"\"hook\":\"PreToolUse\",\"tool\":\"Bash\",\"tool_use_id\":\"t2\","
	"\"risk\":{\"level\":\"critical\"},\"agent_version\":\"1.0\"}",
	"{\"id\":\"e203\",\"time\":\"2025-11-23T13:10:06.000Z\",\"session_id\":\"s2\","
	"\"hook\":\"vigil\",\"event_type\":\"tool_abandoned\",\"tool_use_id\":\"t2\"}",
	"{\"id\":\"e204\",\"time\":\"2025-11-23T12:00:00.000Z\",\"session_id\":\"s2\","
	"\"hook\":\"PostToolUseFailure\",\"tool\":\"Bash\",\"tool_use_id\":\"t2\",\"error\":\"x\","
	"\"usage\":{\"input_tokens\":10,\"cost_usd\":0.25},\"risk\":\"critical\",\"model\":\"m2\"}",
	"{\"id\":\"e205\",\"session_id\":\"s2\",\"hook\":\"Stop\",\"event_type\":\"stop\","
	"\"usage\":{\"input_tokens\":5,\"output_tokens\":7},\"agent_version\":\"1.1\"}",
	"{\"id\":\"e206\",\"session_id\":\"s2\",\"agent_id\":\"sub9\",\"hook\":\"PreToolUse\","
	"\"tool\":\"Read\",\"tool_use_id\":\"t9\",\"parent_tool_use_id\":\"t2\"}",
	/* The type comes later, then another parent: the agent row must change. */
	"{\"id\":\"e207\",\"session_id\":\"s2\",\"agent_id\":\"sub9\",\"hook\":\"PostToolUse\","
	"\"tool\":\"Read\",\"tool_use_id\":\"t9\",\"parent_tool_use_id\":\"t2\","
	"\"agent_type\":\"Explore\"}",
	"{\"id\":\"e209\",\"session_id\":\"s2\",\"agent_id\":\"sub9\",\"hook\":\"Stop\","
	"\"parent_tool_use_id\":\"t1\",\"parent_agent_id\":\"main2\"}",
	"{\"id\":\"e210\",\"session_id\":\"s2\",\"agent_id\":\"sub9\",\"hook\":\"Stop\","
	"\"parent_tool_use_id\":\"t1\"}",
	"{\"id\":\"e208\",\"session_id\":\"s2\",\"hook\":\"SessionEnd\",\"event_type\":\"session_end\","
	"\"payload\":{\"reason\":\"logout\"}}",
	"not json at all",
};

static void build_mix(void)
{
	static const char *const sids[MIX_SESSIONS] = { SID, "b6554db9-c2ac-471e-ad30-60bbd41b856b",
							"c6554db9-c2ac-471e-ad30-60bbd41b856c" };
	size_t e = 0;

	for (size_t i = 0; i < nevents; i++) {
		for (size_t k = 0; k < MIX_SESSIONS; k++)
			mix[nmix++] = replace_all(events[i], SID, sids[k]);
		if (i % 3 == 0 && e < VG_ARRAY_LEN(edge_events))
			mix[nmix++] = vg_strdup(edge_events[e++]);
	}
	while (e < VG_ARRAY_LEN(edge_events))
		mix[nmix++] = vg_strdup(edge_events[e++]);
}

/* Indexes the mix into path: tune bits, records per transaction (0: each
 * its own), handed over parsed or not. */
static int index_mix(const char *path, unsigned tune, size_t batch, bool parsed)
{
	struct idx *ix = NULL;
	char err[256];
	int rc = idx_open_tuned(path, IDX_CREATE, tune, &ix, err, sizeof(err));

	for (size_t i = 0; rc == 0 && i < nmix; i++) {
		json_t *ev = parsed ? json_loads(mix[i], 0, NULL) : NULL;

		if (batch && i % batch == 0)
			rc = idx_begin(ix);
		if (rc == 0 && json_is_object(ev))
			rc = idx_add_event(ix, i + 1, BASE_NS + i, ev, mix[i], strlen(mix[i]), err,
					   sizeof(err));
		else if (rc == 0)
			rc = idx_add(ix, i + 1, BASE_NS + i, mix[i], strlen(mix[i]), err, sizeof(err));
		json_decref(ev);
		if (rc == 0 && batch && (i % batch == batch - 1 || i == nmix - 1))
			rc = idx_commit(ix);
	}
	if (rc < 0)
		TAP_DIAG("index_mix: %d %s", rc, err);
	idx_close(ix);
	return rc;
}

static void test_tune_equivalence(const char *dir)
{
	static const struct {
		const char *what;
		unsigned tune;
		size_t batch;
		bool parsed;
	} v[] = {
		{ "all optimizations, batches of 7", IDX_TUNE_ALL, 7, false },
		{ "all optimizations, one batch", IDX_TUNE_ALL, 1000, false },
		{ "all optimizations, handed over parsed", IDX_TUNE_ALL, 5, true },
		{ "all optimizations, a transaction per event", IDX_TUNE_ALL, 0, false },
		{ "sessions merged only", IDX_TUNE_SESSIONS, 4, false },
		{ "agents skipped only", IDX_TUNE_AGENTS, 4, false },
	};
	struct vbuf ref, got;
	char path[4200];

	build_mix();
	snprintf(path, sizeof(path), "%s/mix-ref.db", dir);
	vbuf_init(&ref, 64u << 20);
	TAP_OK(index_mix(path, 0, 0, false) == 0 && dump_db(path, &ref) == 0 && ref.len > 1000,
	       "the mix (%zu events) indexed by the plain code path, one event per transaction",
	       nmix);
	for (size_t i = 0; i < VG_ARRAY_LEN(v); i++) {
		snprintf(path, sizeof(path), "%s/mix-%zu.db", dir, i);
		vbuf_init(&got, 64u << 20);
		TAP_OK(index_mix(path, v[i].tune, v[i].batch, v[i].parsed) == 0 &&
			       dump_db(path, &got) == 0 && got.len == ref.len &&
			       !memcmp(got.data, ref.data, ref.len),
		       "%s: the same rows in every table", v[i].what);
		vbuf_release(&got);
	}
	vbuf_release(&ref);
}

struct one_sess {
	uint64_t events;
	int n;
};

static int collect_one(void *arg, const struct idx_session *s)
{
	struct one_sess *o = arg;

	o->events = s->events;
	o->n++;
	return 0;
}

/* More sessions than the merge table holds in one transaction, and a
 * rollback that must take the merged sessions with it. */
static void test_session_cache(const char *dir)
{
	struct idx *ix = NULL;
	struct idx_counts n;
	struct one_sess o = { 0 };
	char path[4200], err[256], ev[256];
	size_t many = IDX_MAX_PENDING_SESSIONS + 100;
	int rc;

	snprintf(path, sizeof(path), "%s/sessions.db", dir);
	if (idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) < 0) {
		TAP_OK(0, "open (%s)", err);
		return;
	}
	rc = idx_begin(ix);
	for (size_t i = 0; rc == 0 && i <= many; i++) {
		int len = snprintf(ev, sizeof(ev), "{\"session_id\":\"s-%zu\",\"hook\":\"Stop\"}",
				   i == many ? (size_t)0 : i);

		rc = idx_add(ix, i + 1, BASE_NS + i, ev, (size_t)len, err, sizeof(err));
	}
	if (rc == 0)
		rc = idx_commit(ix);
	idx_counts(ix, &n);
	TAP_OK(rc == 0 && n.sessions == many, "%zu sessions in one transaction (%" PRIu64 ")",
	       many, n.sessions);
	idx_session_get(ix, "s-0", collect_one, &o);
	TAP_OK(o.n == 1 && o.events == 2,
	       "a session merged both before and after the table was written out: 2 events "
	       "(%" PRIu64 ")",
	       o.events);

	rc = idx_begin(ix);
	for (size_t i = 0; rc == 0 && i < 3; i++) {
		int len = snprintf(ev, sizeof(ev), "{\"session_id\":\"rb\",\"hook\":\"Stop\"}");

		rc = idx_add(ix, 100000 + i, BASE_NS, ev, (size_t)len, err, sizeof(err));
	}
	idx_rollback(ix);
	TAP_OK(rc == 0 && idx_session_get(ix, "rb", collect_one, &o) == -ENOENT,
	       "rolled back: the merged session is gone");
	rc = idx_begin(ix);
	for (size_t i = 0; rc == 0 && i < 3; i++) {
		int len = snprintf(ev, sizeof(ev), "{\"session_id\":\"rb\",\"hook\":\"Stop\"}");

		rc = idx_add(ix, 100000 + i, BASE_NS, ev, (size_t)len, err, sizeof(err));
	}
	if (rc == 0)
		rc = idx_commit(ix);
	memset(&o, 0, sizeof(o));
	idx_session_get(ix, "rb", collect_one, &o);
	TAP_OK(rc == 0 && o.events == 3, "added again after the rollback: 3 events, not 6 (%" PRIu64
					 ")",
	       o.events);
	TAP_OK(idx_add_event(ix, 200000, 0, NULL, "{}", 2, err, sizeof(err)) == -EINVAL,
	       "idx_add_event without an object: -EINVAL (%s)", err);
	idx_close(ix);
}

/* Full-text search covers the target, error, prompt and messages; not the
 * rest of the payload (tool output, file contents). */
static void test_fts_fields(struct idx *ix)
{
	static const struct {
		const char *words;
		size_t min, max;
		const char *what;
	} q[] = {
		{ "passwd", 1, 99, "a target (/etc/passwd)" },
		{ "enterprise security", 1, 99, "an error" },
		{ "Investigate", 1, 99, "a prompt (tool_input.prompt of the Agent call)" },
		{ "alarming", 1, 99, "a subagent's last_assistant_message" },
		{ "look around", 1, 99, "a tool call's description" },
		{ "nologin", 0, 0, "not a file's contents in tool_response" },
		{ "jsonl", 0, 0, "not the transcript paths" },
	};
	struct idx_filter f = { .session = SID, .session_exact = true };
	struct evs c;

	for (size_t i = 0; i < VG_ARRAY_LEN(q); i++) {
		size_t k;

		f.text = q[i].words;
		k = count_events(ix, &f, &c);
		TAP_OK(k >= q[i].min && k <= q[i].max, "--text '%s': %s (%zu)", q[i].words,
		       q[i].what, k);
	}
}

/* An index of schema version 1 is emptied and rebuilt at the next sync. */
static void test_migrate_v1(const char *dir, const char *ledger_dir)
{
	struct idx *ix = NULL;
	struct idx_counts n;
	char path[4200], err[256];
	sqlite3 *db = NULL;
	int rc;

	snprintf(path, sizeof(path), "%s/v1.db", dir);
	rc = sqlite3_open(path, &db);
	if (rc == SQLITE_OK)
		rc = sqlite3_exec(db,
				  "CREATE TABLE events (seq INTEGER PRIMARY KEY, json TEXT);"
				  "INSERT INTO events VALUES (1, '{}'), (999, '{}');"
				  "CREATE VIRTUAL TABLE events_fts USING fts5(target, error, prompt,"
				  " payload, content='');"
				  "PRAGMA user_version = 1;",
				  NULL, NULL, NULL);
	sqlite3_close(db);
	TAP_OK(rc == SQLITE_OK, "a version 1 index");
	TAP_OK(idx_open(path, IDX_RDONLY, &ix, err, sizeof(err)) == -EPROTO,
	       "read-only: refused with -EPROTO (%s)", err);
	rc = idx_open(path, IDX_CREATE, &ix, err, sizeof(err));
	TAP_OK(rc == 0, "writable open migrates it (%s)", rc ? err : "ok");
	if (rc)
		return;
	idx_counts(ix, &n);
	TAP_OK(n.events == 0 && n.last_seq == 0, "its old rows are gone");
	rc = idx_sync_ledger(ix, ledger_dir, NULL, NULL, err, sizeof(err));
	idx_counts(ix, &n);
	TAP_OK(rc == 0 && n.events == nevents + 1 && n.tool_calls == 9,
	       "and the sync rebuilds it from the ledger (%" PRIu64 " events)", n.events);
	idx_close(ix);
	TAP_OK(idx_open(path, IDX_RDONLY, &ix, err, sizeof(err)) == 0, "now readable (%s)", err);
	idx_close(ix);
}

/* A gap below the last indexed seq: idx_sync_ledger leaves it,
 * idx_sync_ledger_from fills it. */
static void test_sync_from(const char *dir, const char *ledger_dir)
{
	struct ledger_reader *r = NULL;
	struct ledger_record rec;
	struct idx *ix = NULL;
	struct idx_counts n;
	char path[4200], err[256];
	uint64_t skipped = 0, all = 0;
	int rc;

	snprintf(path, sizeof(path), "%s/gap.db", dir);
	if (idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) < 0 ||
	    ledger_reader_open(ledger_dir, &r, err, sizeof(err)) < 0) {
		TAP_OK(0, "setup (%s)", err);
		idx_close(ix);
		return;
	}
	idx_begin(ix);
	while (ledger_reader_next(r, &rec, err, sizeof(err)) > 0) {
		if (rec.type != LEDGER_REC_EVENT)
			continue;
		all++;
		if (all == 5) {
			skipped = rec.seq; /* as if the daemon had dropped it */
			continue;
		}
		idx_add(ix, rec.seq, rec.time_ns, (const char *)rec.payload, rec.payload_len, err,
			sizeof(err));
	}
	idx_commit(ix);
	ledger_reader_free(r);
	rc = idx_sync_ledger(ix, ledger_dir, NULL, NULL, err, sizeof(err));
	idx_counts(ix, &n);
	TAP_OK(rc == 0 && n.events == all - 1, "a gap at seq %" PRIu64 ": idx_sync_ledger starts "
					       "past the last seq and leaves it",
	       skipped);
	rc = idx_sync_ledger_from(ix, ledger_dir, 1, NULL, NULL, err, sizeof(err));
	idx_counts(ix, &n);
	TAP_OK(rc == 0 && n.events == all, "idx_sync_ledger_from(1) fills it (%" PRIu64 "/%" PRIu64
					   ")",
	       n.events, all);
	idx_close(ix);
}

static void test_risk_names(void)
{
	TAP_OK(idx_risk_parse("HIGH") == IDX_RISK_HIGH && idx_risk_parse("bad") == -EINVAL,
	       "risk names");
}

int main(void)
{
	char dir[] = "/tmp/vigil-idx-XXXXXX", path[4200], err[256];
	struct idx *ix = NULL;

	json_set_alloc_funcs(vg_malloc, vg_free);
	if (!mkdtemp(dir) || load_fixture() < 0 || nevents != 24) {
		TAP_OK(0, "setup: temp dir and the 24 fixture events (%zu)", nevents);
		return tap_done();
	}
	snprintf(path, sizeof(path), "%s/index.db", dir);
	TAP_OK(idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) == 0, "create the index (%s)",
	       err);
	{
		struct stat st;

		TAP_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
		       "the index file is mode 0600 (%o)", (unsigned)(st.st_mode & 0777));
	}
	if (ix) {
		test_fixture(ix);
		test_idempotent(ix);
		test_invalid(ix);
		test_invalid_json_rows(ix);
		test_filters(ix);
		test_fts_fields(ix);
		test_pairing_edge_cases(ix);
		test_tokens(ix);
		idx_close(ix);
		test_readonly(path);
	}
	test_open_errors(dir);
	test_sync(dir);
	test_tune_equivalence(dir);
	test_session_cache(dir);
	test_risk_names();
	for (size_t i = 0; i < nevents; i++)
		vg_free(events[i]);
	for (size_t i = 0; i < nmix; i++)
		vg_free(mix[i]);
	if (!getenv("VIGIL_KEEP_TMP"))
		tdir_remove(dir);
	return tap_done();
}
