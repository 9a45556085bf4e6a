/*
 * test_rules_corr.c - correlation windows (event_count, value_count,
 * temporal, temporal_ordered), group-by isolation, expiry, globs over rule
 * names, chained correlations, bounded groups; overrides; the regex limit
 * that bounds a catastrophic pattern; rules_selftest's reports; concurrent
 * evaluation from several threads.
 */
#include "rtest.h"

#include <pthread.h>

#define S 1000000000ull

static const char *base_rules =
	"title: sensitive read\nid: read-1\nname: vigil-sensitive-read\nlevel: medium\n"
	"detection: {s: {tool: Read, target|endswith: .pem}, condition: s}\n"
	"---\ntitle: egress\nid: net-1\nname: vigil-egress\nlevel: low\n"
	"detection: {s: {tool: Bash, target|startswith: 'curl '}, condition: s}\n"
	"---\ntitle: quiet tool call\nid: tool-1\nname: any-tool\ngenerate: false\n"
	"detection: {s: {tool|exists: true}, condition: s}\n";

static char *ev(const char *session, const char *tool, const char *target, int n)
{
	static char buf[4][512];
	static int k;
	char *b = buf[k++ % 4];

	snprintf(b, 512,
		 "{\"id\":\"ev-%d\",\"session_id\":\"%s\",\"tool\":\"%s\",\"target\":\"%s\",\"hook\":\"PreToolUse\"}",
		 n, session, tool, target);
	return b;
}

static const struct rules_hit *find_hit(const struct rules_result *r, const char *id)
{
	for (size_t i = 0; i < r->nhits; i++)
		if (!strcmp(r->hits[i].rule_id, id))
			return &r->hits[i];
	return NULL;
}

static struct rules_set *load_with(const char *corr, const json_t *ov)
{
	char yaml[8192];

	snprintf(yaml, sizeof(yaml), "%s---\n%s", base_rules, corr);
	return rt_load(yaml, ov);
}

static void test_event_count(void)
{
	struct rules_set *s = load_with("title: busy\nid: c-ec\ncorrelation: {type: event_count, rules: [any-tool],"
					" group-by: [session_id], timespan: 1m, condition: {gte: 3}}\n", NULL);
	struct rules_state *st = NULL;
	struct rules_result res;
	const struct rules_hit *h = NULL;
	int fired_at = -1;

	rules_result_init(&res);
	TAP_OK(s && rules_error_count(s) == 0 && rules_state_new(s, NULL, &st) == 0, "event_count loads");
	if (!st)
		goto out;
	for (int i = 0; i < 3; i++) {
		rt_eval(s, st, ev("s1", "Bash", "ls", i), (uint64_t)(100 + i * 10) * S, &res);
		TAP_OK(!find_hit(&res, "tool-1"), "generate: false base rule gives no hit (event %d)", i);
		if ((h = find_hit(&res, "c-ec")) && fired_at < 0)
			fired_at = i;
	}
	TAP_OK(fired_at == 2, "event_count fires at the third event in the window (%d)", fired_at);
	if (h) {
		TAP_OK(h->kind == RULES_KIND_CORRELATION && h->count == 3 && h->first_ns == 100 * S &&
			       h->last_ns == 120 * S,
		       "the hit carries count and first/last time");
		TAP_OK(!strcmp(h->group, "session_id=s1"), "the group key (%s)", h->group);
		TAP_OK(h->nevent_ids == 3 && !strcmp(h->event_ids[0], "ev-0") && !strcmp(h->event_ids[2], "ev-2"),
		       "the matched event ids, oldest first");
		TAP_OK(strstr(h->why, "busy: 3 matching events within 1m for session_id=s1") != NULL, "why: %s",
		       h->why);
	}
	rt_eval(s, st, ev("s2", "Bash", "ls", 9), 125 * S, &res);
	TAP_OK(!find_hit(&res, "c-ec"), "group-by isolates sessions");
	rt_eval(s, st, ev("s1", "Bash", "ls", 10), 175 * S, &res);
	TAP_OK(!find_hit(&res, "c-ec"), "events older than the timespan expire (2 left in the window)");
	rt_eval(s, st, ev("s1", "Bash", "ls", 11), 176 * S, &res);
	TAP_OK(find_hit(&res, "c-ec") != NULL, "three in the window again: fires");
	{
		size_t groups;
		uint64_t evicted;

		rules_state_stats(st, &groups, &evicted);
		TAP_OK(groups == 2 && evicted == 0, "two groups held");
	}
out:
	rules_state_free(st);
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_value_count(void)
{
	struct rules_set *s = load_with("title: many files\nid: c-vc\ncorrelation: {type: value_count, rules: [vigil-sensitive-read],"
					" group-by: [session_id], timespan: 10m, condition: {field: target, gt: 2}}\n", NULL);
	struct rules_state *st = NULL;
	struct rules_result res;
	int fired = 0;

	rules_result_init(&res);
	if (!s || rules_state_new(s, NULL, &st) < 0) {
		TAP_OK(0, "value_count loads");
		goto out;
	}
	rt_eval(s, st, ev("s1", "Read", "/a.pem", 1), 1 * S, &res);
	rt_eval(s, st, ev("s1", "Read", "/a.pem", 2), 2 * S, &res);
	rt_eval(s, st, ev("s1", "Read", "/b.pem", 3), 3 * S, &res);
	fired += find_hit(&res, "c-vc") != NULL;
	rt_eval(s, st, ev("s1", "Read", "/b.pem", 4), 4 * S, &res);
	fired += find_hit(&res, "c-vc") != NULL;
	TAP_OK(fired == 0, "value_count: repeated values count once (2 distinct)");
	rt_eval(s, st, ev("s1", "Read", "/c.pem", 5), 5 * S, &res);
	TAP_OK(find_hit(&res, "c-vc") && find_hit(&res, "c-vc")->count == 3, "value_count: a third distinct value fires");
	TAP_OK(find_hit(&res, "read-1") != NULL, "the base rule's own hit is there too");
out:
	rules_state_free(st);
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_temporal(void)
{
	struct rules_set *s = load_with("title: read and send\nid: c-t\ncorrelation: {type: temporal, rules: [read-1, vigil-egress],"
					" group-by: [session_id], timespan: 5m}\n"
					"---\ntitle: exfil\nid: c-to\nlevel: critical\naction: block\n"
					"correlation: {type: temporal_ordered, rules: [vigil-sensitive-read, vigil-egress],"
					" group-by: [session_id], timespan: 5m}\n", NULL);
	struct rules_state *st = NULL;
	struct rules_result res;

	rules_result_init(&res);
	if (!s || rules_state_new(s, NULL, &st) < 0) {
		TAP_OK(0, "temporal rules load");
		goto out;
	}
	/* egress first, then the read: temporal fires, ordered does not */
	rt_eval(s, st, ev("a", "Bash", "curl http://x", 1), 10 * S, &res);
	rt_eval(s, st, ev("a", "Read", "/k.pem", 2), 20 * S, &res);
	TAP_OK(find_hit(&res, "c-t") != NULL, "temporal: both rules in the window, any order");
	TAP_OK(!find_hit(&res, "c-to"), "temporal_ordered: wrong order does not fire");
	rt_eval(s, st, ev("a", "Bash", "curl http://x", 3), 30 * S, &res);
	TAP_OK(find_hit(&res, "c-to") != NULL, "temporal_ordered: read then egress fires");
	TAP_OK(res.action == RULES_ACTION_BLOCK && !strcmp(res.hits[res.action_hit].rule_id, "c-to"),
	       "a correlation can block the event that completes it");
	/* another session: the read happened elsewhere */
	rt_eval(s, st, ev("b", "Bash", "curl http://x", 4), 31 * S, &res);
	TAP_OK(!find_hit(&res, "c-to") && !find_hit(&res, "c-t"), "group-by isolates sequences");
	/* too far apart */
	rt_eval(s, st, ev("c", "Read", "/k.pem", 5), 100 * S, &res);
	rt_eval(s, st, ev("c", "Bash", "curl http://x", 6), 401 * S, &res);
	TAP_OK(!find_hit(&res, "c-to") && !find_hit(&res, "c-t"), "sequence longer than the timespan: no hit");
	/* A, B(other), A, B: the chain restarts from the latest A */
	rt_eval(s, st, ev("d", "Read", "/k.pem", 7), 1000 * S, &res);
	rt_eval(s, st, ev("d", "Read", "/k.pem", 8), 1290 * S, &res);
	rt_eval(s, st, ev("d", "Bash", "curl http://x", 9), 1310 * S, &res);
	TAP_OK(find_hit(&res, "c-to") != NULL, "temporal_ordered keeps the latest start inside the window");
out:
	rules_state_free(st);
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_glob_chain_and_bounds(void)
{
	/* The Sigma spec's chaining: temporal_ordered over an event_count. */
	struct rules_set *s = load_with(
		"title: repeated violations\nid: c-glob\nname: many-violations\ncorrelation: {type: event_count, rules: ['vigil-*'],"
		" group-by: [session_id], timespan: 10m, condition: {gte: 3}}\n"
		"---\ntitle: violations then egress\nid: c-chain\ncorrelation: {type: temporal_ordered, rules: [many-violations, net-1],"
		" group-by: [session_id], timespan: 10m}\n", NULL);
	struct rules_state *st = NULL;
	struct rules_state_options o = { .max_groups = 4 };
	struct rules_result res;
	bool fired = false;

	rules_result_init(&res);
	if (!s || rules_state_new(s, &o, &st) < 0) {
		TAP_OK(0, "glob rules load");
		goto out;
	}
	rt_eval(s, st, ev("g", "Read", "/k.pem", 1), 1 * S, &res);
	rt_eval(s, st, ev("g", "Bash", "curl x", 2), 2 * S, &res);
	TAP_OK(!find_hit(&res, "c-glob"), "glob over names: two matches, not yet");
	rt_eval(s, st, ev("g", "Read", "/j.pem", 3), 3 * S, &res);
	TAP_OK(find_hit(&res, "c-glob") != NULL, "'vigil-*' counts matches of every vigil- rule");
	rt_eval(s, st, ev("g", "Bash", "curl y", 4), 4 * S, &res);
	fired = find_hit(&res, "c-chain") != NULL;
	TAP_OK(fired, "a correlation over a correlation (chaining) fires");
	for (int i = 0; i < 10; i++) {
		char sess[16];

		snprintf(sess, sizeof(sess), "x%d", i);
		rt_eval(s, st, ev(sess, "Read", "/k.pem", 100 + i), (uint64_t)(10 + i) * S, &res);
	}
	{
		size_t groups;
		uint64_t evicted;

		rules_state_stats(st, &groups, &evicted);
		TAP_OK(groups <= 4 * 2 && evicted > 0, "groups per rule are capped (LRU): %zu held, %" PRIu64 " evicted",
		       groups, evicted);
	}
out:
	rules_state_free(st);
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_overrides(void)
{
	json_t *ov = json_pack("{s:{s:b}, s:{s:s, s:s}, s:{s:i, s:s}, s:{s:b}, s:{s:i}}",
			       "read-1", "disabled", 1,
			       "vigil-egress", "level", "critical", "action", "block",
			       "c-ec", "threshold", 2, "timespan", "10s",
			       "no-such-rule", "disabled", 1,
			       "net-1", "threshold", 5);
	struct rules_set *s = load_with("title: busy\nid: c-ec\ncorrelation: {type: event_count, rules: [any-tool],"
					" group-by: [session_id], timespan: 1m, condition: {gte: 3}}\n", ov);
	struct rules_state *st = NULL;
	struct rules_result res;
	struct rules_info info;
	bool warned = false, threshold_err = false;
	char buf[512];

	rules_result_init(&res);
	if (!s || rules_state_new(s, NULL, &st) < 0) {
		TAP_OK(0, "overrides load");
		goto out;
	}
	for (size_t i = 0; i < rules_diag_count(s); i++) {
		const struct rules_diag *d = rules_diag_get(s, i);

		rules_diag_format(d, buf, sizeof(buf));
		warned |= d->severity == RULES_WARNING && strstr(buf, "override for unknown rule 'no-such-rule'");
		threshold_err |= d->severity == RULES_ERROR && strstr(buf, "only apply to correlation rules");
	}
	TAP_OK(warned, "an override for an unknown rule is a warning");
	TAP_OK(threshold_err, "threshold on a detection rule is an error");
	TAP_OK(rules_get(s, (size_t)rules_find(s, "read-1"), &info) == 0 && info.disabled, "disabled: reported by rules_get");
	rt_eval(s, st, ev("s", "Read", "/k.pem", 1), 1 * S, &res);
	TAP_OK(!find_hit(&res, "read-1"), "a disabled rule does not hit");
	rt_eval(s, st, ev("s", "Bash", "curl x", 2), 2 * S, &res);
	TAP_OK(find_hit(&res, "net-1") && find_hit(&res, "net-1")->level == RULES_LEVEL_CRITICAL &&
		       res.action == RULES_ACTION_BLOCK,
	       "level and action overridden (by name)");
	TAP_OK(find_hit(&res, "c-ec") != NULL, "threshold 2 overrides gte 3");
	rt_eval(s, st, ev("s", "Bash", "ls", 3), 20 * S, &res);
	TAP_OK(!find_hit(&res, "c-ec"), "timespan 10s overrides 1m");
	{
		json_t *bad = json_pack("{s:{s:s}, s:{s:s}, s:s}", "x", "level", "loud", "y", "colour", "red", "z", "oops");
		struct rules_set *b = NULL;

		rules_set_new(NULL, &b);
		rules_set_overrides(b, bad, NULL, "cfg.yml");
		TAP_OK(rules_error_count(b) == 3, "bad override values are errors (%zu)", rules_error_count(b));
		rules_set_free(b);
		json_decref(bad);
	}
out:
	json_decref(ov);
	rules_state_free(st);
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_regex_limit(void)
{
	const char *yaml = "title: catastrophic\nid: cat-1\ndetection: {s: {target|re: '^(a+)+$'}, condition: s}\n"
			   "---\ntitle: fine\nid: fine-1\ndetection: {s: {target|contains: aaaa}, condition: s}\n";
	struct rules_set *s = rt_load(yaml, NULL);
	struct rules_result res;
	struct rules_stats st = { 0 };
	json_t *ev = NULL;
	char *big = malloc(100 * 1024 + 2);
	uint64_t events, hits, relimit;
	int rc;

	rules_result_init(&res);
	memset(big, 'a', 100 * 1024);
	big[100 * 1024] = 'b'; /* no match: forces the backtracking */
	big[100 * 1024 + 1] = '\0';
	ev = json_pack("{s:s}", "target", big);
	rc = s ? rules_eval(s, NULL, ev, 1, &res) : -1;
	TAP_OK(rc == 0, "a catastrophic regex over 100 KB returns");
	TAP_OK(res.nhits == 1 && !strcmp(res.hits[0].rule_id, "fine-1"), "the limit hit is no match; other rules run");
	if (s)
		rules_get_stats(s, 0, &st);
	TAP_OK(st.regex_limit_hits == 1, "the rule is flagged (regex_limit_hits %" PRIu64 ")", st.regex_limit_hits);
	if (s)
		rules_total_stats(s, &events, &hits, &relimit);
	TAP_OK(s && events == 1 && hits == 1 && relimit == 1, "totals count it");
	{
		char pat[5000];
		char yaml2[6000];
		struct rules_set *s2;

		memset(pat, 'x', sizeof(pat) - 1);
		pat[sizeof(pat) - 1] = '\0';
		snprintf(yaml2, sizeof(yaml2), "title: t\nid: long\ndetection: {s: {a|re: '%s'}, condition: s}\n", pat);
		s2 = rt_load(yaml2, NULL);
		TAP_OK(s2 && rules_error_count(s2) == 1 && rules_count(s2) == 0 &&
			       strstr(rules_diag_get(s2, 0)->msg, "regular expression of 4999 bytes (limit 4096)"),
		       "a pattern over 4 KiB is refused at load");
		rules_set_free(s2);
	}
	json_decref(ev);
	free(big);
	rules_result_release(&res);
	rules_set_free(s);
}

static void report(void *arg, const struct rules_test_report *r)
{
	char *out = arg;
	size_t n = strlen(out);

	snprintf(out + n, 4096 - n, "%s:%d %s %s #%zu %s|", r->file, r->line, r->rule_id,
		 r->true_positive ? "tp" : "fp", r->index, r->passed ? "pass" : "FAIL");
}

static void test_selftest(void)
{
	const char *yaml =
		"title: rm\nid: st-1\nname: rm-rule\ndetection: {s: {target|contains: 'rm -rf'}, condition: s}\n"
		"tests:\n"
		"  true_positives:\n"
		"    - {target: 'rm -rf /'}\n"
		"    - {target: 'ls'}\n"
		"  false_positives:\n"
		"    - {target: 'rm -r x'}\n"
		"---\ntitle: twice\nid: st-2\ncorrelation: {type: event_count, rules: [rm-rule], group-by: [session_id], timespan: 1m,"
		" condition: {gte: 2}}\n"
		"tests:\n"
		"  true_positives:\n"
		"    - [{session_id: a, target: rm -rf a}, {session_id: a, target: rm -rf b, dt: 30}]\n"
		"  false_positives:\n"
		"    - [{session_id: a, target: rm -rf a}, {session_id: a, target: rm -rf b, dt: 61}]\n"
		"    - [{session_id: a, target: rm -rf a, time: '2026-01-01T00:00:00Z'}, {session_id: b, target: rm -rf b, time: '2026-01-01T00:00:05.5+00:00'}]\n";
	struct rules_set *s = rt_load(yaml, NULL);
	char out[4096] = "";
	size_t n = 0;
	long failed = s ? rules_selftest(s, report, out, &n) : -1;

	TAP_DIAG("%s", out);
	TAP_OK(n == 6 && failed == 1, "selftest: 6 cases, 1 failure (%zu, %ld)", n, failed);
	TAP_OK(strstr(out, "t.yml:8 st-1 tp #1 FAIL|") != NULL, "the failing case is reported with its file:line");
	TAP_OK(strstr(out, "t.yml:7 st-1 tp #0 pass|") && strstr(out, "t.yml:10 st-1 fp #0 pass|"),
	       "passing detection cases");
	TAP_OK(strstr(out, "t.yml:17 st-2 tp #0 pass|") && strstr(out, "t.yml:19 st-2 fp #0 pass|") &&
		       strstr(out, "t.yml:20 st-2 fp #1 pass|"),
	       "correlation cases: dt inside/outside the window, time and group-by");
	rules_set_free(s);
}

struct thr {
	const struct rules_set *s;
	struct rules_state *st;
	int hits;
};

static void *worker(void *arg)
{
	struct thr *t = arg;
	struct rules_result res;

	rules_result_init(&res);
	for (int i = 0; i < 500; i++) {
		char e[256]; /* ev() is not thread-safe */

		snprintf(e, sizeof(e), "{\"id\":\"ev-%d\",\"session_id\":\"t\",\"tool\":\"%s\",\"target\":\"%s\"}",
			 i, i % 2 ? "Read" : "Bash", i % 2 ? "/k.pem" : "curl x");
		rt_eval(t->s, t->st, e, (uint64_t)i * S, &res);
		t->hits += (int)res.nhits;
	}
	rules_result_release(&res);
	return NULL;
}

static void test_threads(void)
{
	struct rules_set *s = load_with("title: busy\nid: c-ec\ncorrelation: {type: event_count, rules: [any-tool],"
					" group-by: [session_id], timespan: 1m, condition: {gte: 3}}\n", NULL);
	struct rules_state *st = NULL;
	struct thr t[4];
	pthread_t th[4];
	int total = 0;

	if (!s || rules_state_new(s, NULL, &st) < 0) {
		TAP_OK(0, "threads: load");
		return;
	}
	for (int i = 0; i < 4; i++) {
		t[i] = (struct thr){ .s = s, .st = st };
		pthread_create(&th[i], NULL, worker, &t[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		total += t[i].hits;
	}
	/* each event: its detection hit; the counter fires from the third event on */
	TAP_OK(total > 4 * 500 && total <= 4 * 500 * 2, "four threads share a set and a state (%d hits)", total);
	rules_state_free(st);
	rules_set_free(s);
}

int main(void)
{
	test_event_count();
	test_value_count();
	test_temporal();
	test_glob_chain_and_bounds();
	test_overrides();
	test_regex_limit();
	test_selftest();
	test_threads();
	return tap_done();
}
