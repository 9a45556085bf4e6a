/*
 * test_correlate.c - the correlator: the real Claude Code capture in order
 * (every Post paired with its Pre, the subagent under toolu_04, the
 * subagent's reused tool_use_ids), abandoned Pres (timeout, SessionEnd,
 * eviction), the bounds in count and in bytes, subagent parent matching,
 * agent_version, and bad input.
 */
#include "common.h"
#include "pipeline.h"
#include "tap.h"

#include <errno.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

#define SEC 1000000000ull
#define T0 (1763899620ull * SEC)

static struct norm_ctx *ctx;
static char *lines[64];
static size_t nlines;

static bool streq(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

static const char *sget(const json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "(absent)";
}

static long iget(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long)json_integer_value(v) : -1;
}

static void load_fixture(void)
{
	FILE *f = fopen(FIXTURE, "re");
	char *line = NULL;
	size_t cap = 0;
	ssize_t len;

	if (!f)
		return;
	while (nlines < VG_ARRAY_LEN(lines) && (len = getline(&line, &cap, f)) > 0) {
		if (line[len - 1] == '\n')
			line[len - 1] = 0;
		lines[nlines++] = strdup(line);
	}
	free(line);
	fclose(f);
}

/* Fixture line k (1-based) normalized with id "id-k". */
static json_t *fixture_event(size_t k, const char *agent_version)
{
	char id[16], err[256] = "";
	struct norm_envelope env = { .id = id, .recv_ns = T0 + k * SEC, .pid = -1, .ppid = -1,
				     .uid = -1, .agent_version = agent_version };
	json_t *ev = NULL;

	snprintf(id, sizeof(id), "id-%02zu", k);
	if (k == 0 || k > nlines ||
	    norm_event(ctx, &env, lines[k - 1], strlen(lines[k - 1]), &ev, err, sizeof(err)) < 0)
		TAP_DIAG("fixture line %zu: %s", k, err);
	return ev;
}

static void test_fixture(void)
{
	/* For each line: the line of the Pre it pairs with (0: not a Post). */
	static const int pre_of[] = { 0, 0, 0, 3, 0, 5, 0, 7, 0, 9, 0, 0,
				      0, 13, 0, 15, 0, 11, 0, 19, 0, 21, 0, 0 };
	struct pair *c;
	json_t *out[8];
	size_t n = 99;

	TAP_OK(pair_new(NULL, &c) == 0, "pair_new with defaults");
	TAP_EQ_U64(nlines, VG_ARRAY_LEN(pre_of), "the fixture has %zu lines", VG_ARRAY_LEN(pre_of));
	for (size_t k = 1; k <= nlines && k <= VG_ARRAY_LEN(pre_of); k++) {
		json_t *ev = fixture_event(k, k == 1 ? "2.1.197" : NULL);
		int rc = pair_apply(c, ev, T0 + k * SEC);
		const char *hook = sget(ev, "hook");

		TAP_OK(rc == 0, "line %zu applies", k);
		if (pre_of[k - 1]) {
			char want[16];

			snprintf(want, sizeof(want), "id-%02d", pre_of[k - 1]);
			TAP_OK(streq(sget(ev, "pre_id"), want) && !json_object_get(ev, "unpaired"),
			       "line %zu (%s %s) pairs with the Pre on line %d (got %s)", k, hook,
			       sget(ev, "tool"), pre_of[k - 1], sget(ev, "pre_id"));
			TAP_OK(iget(ev, "duration_ms") > 0, "line %zu keeps its duration_ms %ld", k,
			       iget(ev, "duration_ms"));
		} else {
			TAP_OK(!json_object_get(ev, "pre_id") && !json_object_get(ev, "unpaired"),
			       "line %zu (%s) is not paired", k, hook);
		}
		TAP_OK(streq(sget(ev, "agent_version"), "2.1.197"),
		       "line %zu carries the session's agent_version", k);
		if (k >= 12 && k <= 17)
			TAP_OK(streq(sget(ev, "parent_tool_use_id"), "toolu_04_15293") &&
				       !json_object_get(ev, "parent_agent_id"),
			       "line %zu (subagent %s) has parent_tool_use_id toolu_04_15293 and the "
			       "main agent as parent",
			       k, hook);
		else
			TAP_OK(!json_object_get(ev, "parent_tool_use_id") &&
				       !json_object_get(ev, "parent_agent_id"),
			       "line %zu (main agent) has no parent fields", k);
		json_decref(ev);
	}
	TAP_OK(pair_expire(c, T0 + 3600 * SEC, out, VG_ARRAY_LEN(out), &n) == 0 && n == 0,
	       "after SessionEnd nothing is left to abandon (%zu)", n);
	pair_free(c);
}

/*
 * The subagent reuses the main agent's tool_use_id toolu_00_15293: with the
 * main agent's Pre still pending, each Post must find its own agent's Pre.
 */
static void test_reused_ids(void)
{
	static const size_t order[] = { 1, 11, 12, 3, 13, 14, 4 };
	struct pair *c;
	json_t *ev[VG_ARRAY_LEN(order)];

	pair_new(NULL, &c);
	for (size_t i = 0; i < VG_ARRAY_LEN(order); i++) {
		ev[i] = fixture_event(order[i], NULL);
		pair_apply(c, ev[i], T0 + i * SEC);
	}
	TAP_OK(streq(sget(ev[5], "pre_id"), "id-13"),
	       "the subagent's Grep Post pairs with the subagent's Pre (got %s), not the main "
	       "agent's toolu_00",
	       sget(ev[5], "pre_id"));
	TAP_OK(streq(sget(ev[6], "pre_id"), "id-03"),
	       "the main agent's Bash failure then pairs with its own Pre (got %s)",
	       sget(ev[6], "pre_id"));
	for (size_t i = 0; i < VG_ARRAY_LEN(order); i++)
		json_decref(ev[i]);
	pair_free(c);
}

static json_t *mk(const char *hook, const char *sid, const char *aid, const char *tuid,
		  const char *tool)
{
	static int seq;
	char id[32];
	json_t *ev = json_object();

	snprintf(id, sizeof(id), "ev-%d", ++seq);
	json_object_set_new(ev, "id", json_string(id));
	json_object_set_new(ev, "time", json_string("2025-11-23T12:07:00.123Z"));
	json_object_set_new(ev, "host", json_string("h1"));
	json_object_set_new(ev, "user", json_string("u1"));
	json_object_set_new(ev, "agent", json_string("claude-code"));
	json_object_set_new(ev, "hook", json_string(hook));
	json_object_set_new(ev, "event_type", json_string("tool_use"));
	json_object_set_new(ev, "schema", json_string(EV_SCHEMA_V1));
	json_object_set_new(ev, "payload", json_object());
	if (sid)
		json_object_set_new(ev, "session_id", json_string(sid));
	if (aid)
		json_object_set_new(ev, "agent_id", json_string(aid));
	if (tuid)
		json_object_set_new(ev, "tool_use_id", json_string(tuid));
	if (tool) {
		json_object_set_new(ev, "tool", json_string(tool));
		json_object_set_new(ev, "target", json_string("make test"));
	}
	return ev;
}

/* Applies and drops an event; returns pair_apply's result. */
static int apply(struct pair *c, json_t *ev, uint64_t t)
{
	int rc = pair_apply(c, ev, t);

	json_decref(ev);
	return rc;
}

static void free_out(json_t **out, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_decref(out[i]);
}

static void test_abandoned(void)
{
	struct pair_options o = { .abandon_ns = 30 * SEC };
	struct pair *c;
	json_t *out[4], *pre, *post, *proj;
	size_t n = 0;
	char hex[65], *dump;

	TAP_OK(pair_new(&o, &c) == 0, "pair_new with abandon 30 s");
	pre = mk("PreToolUse", "s1", NULL, "tu1", "Bash");
	proj = json_pack("{s:s, s:s, s:s}", "root", "/p", "name", "p", "source", "git");
	json_object_set_new(pre, "project", proj);
	json_object_set_new(pre, "prompt_id", json_string("pr1"));
	json_object_set_new(pre, "agent_version", json_string("2.1.197"));
	TAP_OK(pair_apply(c, pre, T0) == 0, "a Pre that gets no Post");
	TAP_OK(pair_expire(c, T0 + 30 * SEC - 1, out, 4, &n) == 0 && n == 0,
	       "not abandoned before abandon_ns");
	TAP_OK(pair_expire(c, T0 + 30 * SEC, out, 4, &n) == 0 && n == 1, "abandoned at abandon_ns");
	if (n == 1) {
		const json_t *a = out[0], *payload = json_object_get(a, "payload");
		const json_t *risk = json_object_get(a, "risk");
		uint8_t md[32];
		unsigned l = 0;

		TAP_OK(streq(sget(a, "hook"), "vigil") &&
			       streq(sget(a, "event_type"), "tool_abandoned") &&
			       streq(sget(a, "outcome"), "abandoned"),
		       "synthetic: hook vigil, event_type tool_abandoned, outcome abandoned");
		TAP_OK(streq(sget(a, "pre_id"), sget(pre, "id")) && iget(a, "duration_ms") == 30000,
		       "synthetic: pre_id %s, duration_ms %ld", sget(a, "pre_id"),
		       iget(a, "duration_ms"));
		TAP_OK(streq(sget(a, "session_id"), "s1") && streq(sget(a, "tool_use_id"), "tu1") &&
			       streq(sget(a, "tool"), "Bash") && streq(sget(a, "target"), "make test") &&
			       streq(sget(a, "host"), "h1") && streq(sget(a, "user"), "u1") &&
			       streq(sget(a, "agent"), "claude-code") &&
			       streq(sget(a, "prompt_id"), "pr1") &&
			       streq(sget(a, "agent_version"), "2.1.197") &&
			       !json_object_get(a, "agent_id"),
		       "synthetic: the Pre's session, tool_use_id, tool, target, host, user copied");
		TAP_OK(json_equal(json_object_get(a, "project"), proj), "synthetic: project copied");
		TAP_OK(strlen(sget(a, "id")) == 36 && sget(a, "id")[14] == '7' &&
			       !streq(sget(a, "id"), sget(pre, "id")),
		       "synthetic: a new UUIDv7 id %s", sget(a, "id"));
		TAP_OK(streq(sget(a, "time"), "2025-11-23T12:07:30.000Z"),
		       "synthetic: time is now (%s)", sget(a, "time"));
		TAP_OK(streq(sget(a, "schema"), EV_SCHEMA_V1) &&
			       streq(sget(payload, "reason"), "timeout") &&
			       streq(sget(risk, "level"), "low"),
		       "synthetic: schema, payload.reason timeout, risk low");
		dump = json_dumps(payload, JSON_COMPACT | JSON_SORT_KEYS);
		EVP_Digest(dump, strlen(dump), md, &l, EVP_sha256(), NULL);
		base_hex_encode(md, 32, hex);
		TAP_OK(streq(sget(a, "payload_sha256"), hex), "synthetic: payload_sha256 over payload");
		free(dump);
	}
	free_out(out, n);
	TAP_OK(pair_expire(c, T0 + 3600 * SEC, out, 4, &n) == 0 && n == 0, "reported only once");
	post = mk("PostToolUse", "s1", NULL, "tu1", "Bash");
	json_object_set_new(post, "outcome", json_string("success"));
	pair_apply(c, post, T0 + 40 * SEC);
	TAP_OK(json_is_true(json_object_get(post, "unpaired")) &&
		       streq(sget(post, "outcome"), "success") && !json_object_get(post, "pre_id"),
	       "a Post after its Pre was abandoned: unpaired, outcome kept");
	json_decref(post);
	json_decref(pre);

	/* A Post without a duration gets one from the clock. */
	apply(c, mk("PreToolUse", "s1", NULL, "tu2", "Bash"), T0 + 100 * SEC);
	post = mk("PostToolUseFailure", "s1", NULL, "tu2", "Bash");
	json_object_set_new(post, "outcome", json_string("failure"));
	pair_apply(c, post, T0 + 100 * SEC + 1234567890ull);
	TAP_OK(iget(post, "duration_ms") == 1234 && streq(sget(post, "outcome"), "failure") &&
		       json_object_get(post, "pre_id"),
	       "Post without duration_ms: 1234 ms from the Pre (got %ld)", iget(post, "duration_ms"));
	json_decref(post);

	/* SessionEnd abandons the session's pending Pres at once. */
	apply(c, mk("PreToolUse", "s2", NULL, "a", "Read"), T0 + 200 * SEC);
	apply(c, mk("PreToolUse", "s2", "sub", "b", "Grep"), T0 + 200 * SEC);
	apply(c, mk("PreToolUse", "s3", NULL, "c", "Read"), T0 + 200 * SEC);
	apply(c, mk("SessionEnd", "s2", NULL, NULL, NULL), T0 + 201 * SEC);
	TAP_OK(pair_expire(c, T0 + 201 * SEC, out, 4, &n) == 0 && n == 2 &&
		       streq(sget(json_object_get(out[0], "payload"), "reason"), "session_end") &&
		       streq(sget(out[0], "tool_use_id"), "a") && streq(sget(out[1], "tool_use_id"), "b") &&
		       streq(sget(out[1], "agent_id"), "sub") && iget(out[0], "duration_ms") == 1000,
	       "SessionEnd: its 2 pending Pres are abandoned at the next expire (%zu)", n);
	free_out(out, n);
	post = mk("PostToolUse", "s2", NULL, "a", "Read");
	pair_apply(c, post, T0 + 202 * SEC);
	TAP_OK(json_is_true(json_object_get(post, "unpaired")), "the session's state is gone");
	json_decref(post);
	post = mk("PostToolUse", "s3", NULL, "c", "Read");
	pair_apply(c, post, T0 + 202 * SEC);
	TAP_OK(json_object_get(post, "pre_id") && !json_object_get(post, "unpaired"),
	       "another session's Pre is untouched by that SessionEnd");
	json_decref(post);
	pair_free(c);
}

static void test_bounds(void)
{
	struct pair_options o = { .max_pending = 3, .max_sessions = 2 };
	struct pair *c;
	json_t *out[16], *post;
	size_t n = 0;
	char tu[8];

	pair_new(&o, &c);
	for (int i = 0; i < 5; i++) {
		snprintf(tu, sizeof(tu), "t%d", i);
		apply(c, mk("PreToolUse", "s", NULL, tu, "Bash"), T0 + (uint64_t)i * SEC);
	}
	TAP_OK(pair_expire(c, T0 + 5 * SEC, out, 16, &n) == 0 && n == 2 &&
		       streq(sget(out[0], "tool_use_id"), "t0") &&
		       streq(sget(out[1], "tool_use_id"), "t1") &&
		       streq(sget(json_object_get(out[0], "payload"), "reason"), "evicted"),
	       "max_pending 3: the 2 oldest of 5 Pres are evicted and reported (%zu)", n);
	free_out(out, n);
	post = mk("PostToolUse", "s", NULL, "t0", "Bash");
	pair_apply(c, post, T0 + 6 * SEC);
	TAP_OK(json_is_true(json_object_get(post, "unpaired")), "an evicted Pre no longer pairs");
	json_decref(post);
	post = mk("PostToolUse", "s", NULL, "t4", "Bash");
	pair_apply(c, post, T0 + 6 * SEC);
	TAP_OK(json_object_get(post, "pre_id") && !json_object_get(post, "unpaired"),
	       "a kept Pre still pairs");
	json_decref(post);

	/* Sessions: the least recently seen goes first. */
	apply(c, mk("PreToolUse", "A", NULL, "x", "Bash"), T0 + 10 * SEC);
	apply(c, mk("Stop", "s", NULL, NULL, NULL), T0 + 11 * SEC);
	apply(c, mk("PreToolUse", "B", NULL, "y", "Bash"), T0 + 12 * SEC);
	TAP_OK(pair_expire(c, T0 + 12 * SEC, out, 16, &n) == 0 && n == 1,
	       "max_sessions 2: a third session evicts the least recently seen one (%zu)", n);
	{
		bool a = false;

		for (size_t i = 0; i < n; i++)
			if (streq(sget(out[i], "session_id"), "A") &&
			    streq(sget(json_object_get(out[i], "payload"), "reason"), "evicted"))
				a = true;
		TAP_OK(a, "session A's Pre is reported as evicted");
	}
	free_out(out, n);

	/* max limits what one call returns; the rest waits. */
	for (int i = 0; i < 3; i++) {
		snprintf(tu, sizeof(tu), "m%d", i);
		apply(c, mk("PreToolUse", "B", NULL, tu, "Bash"), T0 + 20 * SEC);
	}
	apply(c, mk("SessionEnd", "B", NULL, NULL, NULL), T0 + 21 * SEC);
	TAP_OK(pair_expire(c, T0 + 21 * SEC, out, 1, &n) == 0 && n == 1, "max 1: one event");
	free_out(out, n);
	TAP_OK(pair_expire(c, T0 + 21 * SEC, out, 16, &n) == 0 && n == 2, "then the other two");
	free_out(out, n);
	TAP_OK(pair_expire(c, T0 + 21 * SEC, NULL, 0, &n) == 0 && n == 0, "max 0 is a no-op");
	pair_free(c);

	/* Nobody collects: the abandoned list stays bounded too. */
	o.max_pending = 2;
	o.max_sessions = 100;
	pair_new(&o, &c);
	for (int i = 0; i < 50; i++) {
		char sid[8];

		snprintf(sid, sizeof(sid), "S%d", i);
		apply(c, mk("PreToolUse", sid, NULL, "t", "Bash"), T0);
		apply(c, mk("SessionEnd", sid, NULL, NULL, NULL), T0);
	}
	TAP_OK(pair_expire(c, T0, out, 16, &n) == 0 && n == 2 &&
		       streq(sget(out[1], "session_id"), "S49"),
	       "50 abandoned, never collected: only the newest max_pending are kept (%zu)", n);
	free_out(out, n);
	pair_free(c);
}

/* An Agent call that ran subagent sub in session sid (an Agent Pre and its
 * Post naming the subagent). */
static void run_subagent(struct pair *c, const char *sid, const char *sub, uint64_t t)
{
	json_t *post = mk("PostToolUse", sid, NULL, "ta", "Agent");

	apply(c, mk("PreToolUse", sid, NULL, "ta", "Agent"), t);
	json_object_set_new(post, "payload",
			    json_pack("{s:{s:s}}", "tool_response", "agentId", sub));
	apply(c, post, t);
}

/* The byte limits hold whatever comes, and evicting loses no record. */
static void test_byte_bounds(void)
{
	struct pair_options o = { .max_pending_bytes = 64 * 1024, .max_session_bytes = 16 * 1024 };
	struct pair_stats ps;
	struct pair *c;
	json_t *out[64], *ev;
	char tu[32], sid[32], target[1001], sub[600];
	size_t n = 0, reported = 0, max_bytes = 0, max_sbytes = 0, max_agents_bytes = 0;
	const size_t pres = 2000;

	/* What an ordinary Pre costs as counted (pipeline.h quotes it). */
	pair_new(NULL, &c);
	ev = fixture_event(3, NULL);
	pair_apply(c, ev, T0);
	json_decref(ev);
	pair_stats(c, &ps);
	TAP_OK(ps.pending == 1 && ps.pending_bytes >= 1024 && ps.pending_bytes <= 4096,
	       "a Pre of the capture is counted as %zu bytes", ps.pending_bytes);
	pair_free(c);

	/* 2,000 Pres of about 1 KiB each against a 64 KiB limit, collected as
	 * vigild does: every one is reported, the newest still pair. */
	memset(target, 'x', sizeof(target) - 1);
	target[sizeof(target) - 1] = 0;
	pair_new(&o, &c);
	for (size_t i = 0; i < pres; i++) {
		snprintf(tu, sizeof(tu), "t%zu", i);
		ev = mk("PreToolUse", "s", NULL, tu, "Bash");
		json_object_set_new(ev, "target", json_string(target));
		apply(c, ev, T0 + i);
		pair_stats(c, &ps);
		max_bytes = ps.pending_bytes > max_bytes ? ps.pending_bytes : max_bytes;
		if (ps.doomed >= 32) {
			pair_expire(c, T0 + i, out, VG_ARRAY_LEN(out), &n);
			reported += n;
			free_out(out, n);
		}
	}
	pair_stats(c, &ps);
	TAP_OK(max_bytes <= o.max_pending_bytes && ps.pending_bytes > o.max_pending_bytes / 2,
	       "%zu Pres of 1 KiB: the pending ones never held over %zu bytes (at most %zu)", pres,
	       o.max_pending_bytes, max_bytes);
	TAP_OK(ps.evicted_pres == pres - ps.pending && ps.pending > 20 && ps.pending < 100,
	       "the oldest were evicted: %" PRIu64 ", %zu still pending", ps.evicted_pres,
	       ps.pending);
	do {
		pair_expire(c, T0 + pres, out, VG_ARRAY_LEN(out), &n);
		reported += n;
		free_out(out, n);
	} while (n);
	TAP_OK(reported == pres - ps.pending && ps.dropped == 0,
	       "every evicted Pre was reported as abandoned (%zu), none dropped", reported);
	ev = mk("PostToolUse", "s", NULL, "t0", "Bash");
	pair_apply(c, ev, T0 + pres);
	TAP_OK(json_is_true(json_object_get(ev, "unpaired")), "an evicted Pre's Post is unpaired");
	json_decref(ev);
	snprintf(tu, sizeof(tu), "t%zu", pres - 1);
	ev = mk("PostToolUse", "s", NULL, tu, "Bash");
	pair_apply(c, ev, T0 + pres);
	TAP_OK(json_object_get(ev, "pre_id") && !json_object_get(ev, "unpaired"),
	       "the newest Pre still pairs");
	json_decref(ev);
	pair_free(c);

	/* Nobody collects: the abandoned ones stay within the limit too. */
	pair_new(&o, &c);
	for (size_t i = 0; i < pres; i++) {
		snprintf(tu, sizeof(tu), "t%zu", i);
		ev = mk("PreToolUse", "s", NULL, tu, "Bash");
		json_object_set_new(ev, "target", json_string(target));
		apply(c, ev, T0 + i);
	}
	pair_stats(c, &ps);
	TAP_OK(ps.doomed_bytes <= o.max_pending_bytes && ps.dropped > 0,
	       "uncollected: %zu abandoned Pres hold %zu bytes, %" PRIu64 " dropped", ps.doomed,
	       ps.doomed_bytes, ps.dropped);
	pair_free(c);

	/* 1,000 sessions, each with its agent_version and a subagent, against a
	 * 16 KiB limit: the least recently seen go. */
	pair_new(&o, &c);
	for (int i = 0; i < 1000; i++) {
		snprintf(sid, sizeof(sid), "S%d", i);
		snprintf(sub, sizeof(sub), "sub-%d", i);
		ev = mk("SessionStart", sid, NULL, NULL, NULL);
		json_object_set_new(ev, "agent_version", json_string("2.1.197"));
		apply(c, ev, T0);
		run_subagent(c, sid, sub, T0);
		pair_stats(c, &ps);
		max_sbytes = ps.session_bytes > max_sbytes ? ps.session_bytes : max_sbytes;
	}
	pair_stats(c, &ps);
	TAP_OK(max_sbytes <= o.max_session_bytes && ps.sessions < 1000 && ps.sessions > 10 &&
		       ps.evicted_sessions == 1000 - ps.sessions,
	       "1,000 sessions: %zu kept in at most %zu bytes, %" PRIu64 " evicted", ps.sessions,
	       max_sbytes, ps.evicted_sessions);
	ev = mk("PreToolUse", "S999", "sub-999", "x", "Bash");
	pair_apply(c, ev, T0);
	TAP_OK(streq(sget(ev, "parent_tool_use_id"), "ta") &&
		       streq(sget(ev, "agent_version"), "2.1.197"),
	       "the newest session still knows its subagent and agent_version");
	json_decref(ev);
	pair_free(c);

	/* One session with 1,000 subagents of long ids: its oldest go. */
	pair_new(&o, &c);
	memset(sub, 'a', sizeof(sub) - 1);
	sub[sizeof(sub) - 1] = 0;
	for (int i = 0; i < 1000; i++) {
		snprintf(sub, sizeof(sub), "%d", i);
		sub[strlen(sub)] = 'a';
		run_subagent(c, "S", sub, T0);
		pair_stats(c, &ps);
		max_agents_bytes = ps.session_bytes > max_agents_bytes ? ps.session_bytes
								       : max_agents_bytes;
	}
	TAP_OK(max_agents_bytes <= o.max_session_bytes && ps.sessions == 1,
	       "one session with 1,000 subagents of 600 bytes: at most %zu bytes",
	       max_agents_bytes);
	pair_free(c);
}

static void test_subagents(void)
{
	struct pair *c;
	json_t *pre, *ev;

	pair_new(NULL, &c);
	/* Two pending Agent calls of different types: matched by type, not age. */
	pre = mk("PreToolUse", "s", NULL, "ta", "Agent");
	json_object_set_new(pre, "payload", json_pack("{s:{s:s}}", "tool_input", "subagent_type",
						       "general-purpose"));
	apply(c, pre, T0);
	pre = mk("PreToolUse", "s", NULL, "tb", "Task");
	json_object_set_new(pre, "payload",
			   json_pack("{s:{s:s}}", "tool_input", "subagent_type", "Explore"));
	apply(c, pre, T0 + 1);
	ev = mk("SubagentStart", "s", "X", NULL, NULL);
	json_object_set_new(ev, "agent_type", json_string("Explore"));
	pair_apply(c, ev, T0 + 2);
	TAP_OK(streq(sget(ev, "parent_tool_use_id"), "tb") && !json_object_get(ev, "parent_agent_id"),
	       "SubagentStart Explore takes the Explore call, though younger (got %s)",
	       sget(ev, "parent_tool_use_id"));
	json_decref(ev);
	ev = mk("SubagentStart", "s", "Y", NULL, NULL);
	json_object_set_new(ev, "agent_type", json_string("general-purpose"));
	pair_apply(c, ev, T0 + 3);
	TAP_OK(streq(sget(ev, "parent_tool_use_id"), "ta"), "the next one takes the other call");
	json_decref(ev);
	apply(c, mk("PreToolUse", "s", NULL, "tc", "Agent"), T0 + 3);
	ev = mk("SubagentStart", "s", "X", NULL, NULL);
	json_object_set_new(ev, "agent_type", json_string("Explore"));
	pair_apply(c, ev, T0 + 3);
	TAP_OK(streq(sget(ev, "parent_tool_use_id"), "tb"),
	       "a repeated SubagentStart keeps its parent and claims nothing new");
	json_decref(ev);
	ev = mk("PostToolUse", "s", NULL, "tc", "Agent");
	pair_apply(c, ev, T0 + 3);
	TAP_OK(json_object_get(ev, "pre_id"), "(that Agent call then completes unclaimed)");
	json_decref(ev);
	ev = mk("SubagentStart", "s", "Z", NULL, NULL);
	pair_apply(c, ev, T0 + 4);
	TAP_OK(!json_object_get(ev, "parent_tool_use_id"),
	       "no unclaimed Agent call left: no parent fields");
	json_decref(ev);

	/* Nested: subagent X starts an Agent call of its own. */
	apply(c, mk("PreToolUse", "s", "X", "tn", "Agent"), T0 + 5);
	ev = mk("SubagentStart", "s", "W", NULL, NULL);
	json_object_set_new(ev, "agent_type", json_string("general-purpose"));
	pair_apply(c, ev, T0 + 6);
	TAP_OK(streq(sget(ev, "parent_tool_use_id"), "tn") && streq(sget(ev, "parent_agent_id"), "X"),
	       "a subagent's subagent: parent_agent_id X, parent_tool_use_id tn");
	json_decref(ev);
	ev = mk("PreToolUse", "s", "W", "tw", "Read");
	pair_apply(c, ev, T0 + 7);
	TAP_OK(streq(sget(ev, "parent_agent_id"), "X") && streq(sget(ev, "parent_tool_use_id"), "tn"),
	       "the nested subagent's later events carry its parents");
	json_decref(ev);

	/* The Agent result names a subagent that had no SubagentStart. */
	apply(c, mk("PreToolUse", "s", NULL, "tq", "Agent"), T0 + 8);
	ev = mk("PostToolUse", "s", NULL, "tq", "Agent");
	json_object_set_new(ev, "payload", json_pack("{s:{s:s}}", "tool_response", "agentId", "Q"));
	pair_apply(c, ev, T0 + 9);
	json_decref(ev);
	ev = mk("SubagentStop", "s", "Q", NULL, NULL);
	pair_apply(c, ev, T0 + 10);
	TAP_OK(streq(sget(ev, "parent_tool_use_id"), "tq"),
	       "tool_response.agentId sets the mapping for later events");
	json_decref(ev);

	/* agent_version: remembered per session. */
	ev = mk("SessionStart", "v", NULL, NULL, NULL);
	json_object_set_new(ev, "agent_version", json_string("9.9.9"));
	apply(c, ev, T0);
	ev = mk("Stop", "v", NULL, NULL, NULL);
	pair_apply(c, ev, T0);
	TAP_OK(streq(sget(ev, "agent_version"), "9.9.9"), "agent_version copied to later events");
	json_decref(ev);
	ev = mk("Stop", "other", NULL, NULL, NULL);
	pair_apply(c, ev, T0);
	TAP_OK(!json_object_get(ev, "agent_version"), "not to another session's");
	json_decref(ev);
	pair_free(c);
}

static void test_bad_input(void)
{
	static const char *const bad[] = {
		"{}",
		"{\"hook\":5,\"session_id\":[],\"tool_use_id\":{}}",
		"{\"hook\":\"PostToolUse\"}",
		"{\"hook\":\"PreToolUse\",\"session_id\":\"s\"}",
		"{\"hook\":\"PreToolUse\",\"session_id\":\"s\",\"tool_use_id\":7,\"agent_id\":[1]}",
		"{\"hook\":\"PostToolUse\",\"session_id\":\"s\",\"tool_use_id\":\"t\",\"tool\":\"Agent\","
		"\"payload\":{\"tool_response\":{\"agentId\":12}}}",
		"{\"hook\":\"PostToolUse\",\"session_id\":\"s\",\"tool_use_id\":\"t\",\"tool\":\"Task\","
		"\"payload\":\"x\"}",
		"{\"hook\":\"SubagentStart\",\"session_id\":\"s\",\"agent_id\":\"a\",\"agent_type\":3}",
		"{\"hook\":\"PreToolUse\",\"session_id\":\"s\",\"tool_use_id\":\"t\",\"tool\":\"Agent\","
		"\"payload\":{\"tool_input\":[]},\"project\":\"x\"}",
		"{\"hook\":\"SessionEnd\",\"session_id\":\"\"}",
		"{\"hook\":\"SessionEnd\",\"session_id\":\"s\"}",
		"{\"hook\":\"PostToolUse\",\"session_id\":\"s\",\"tool_use_id\":\"t\"}",
	};
	struct pair *c;
	json_t *out[8], *ev;
	size_t n = 0;
	struct vbuf big;

	pair_new(NULL, &c);
	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		ev = json_loads(bad[i], 0, NULL);
		TAP_OK(ev && pair_apply(c, ev, T0) == 0, "odd event %zu: no error, no crash", i);
		if (i == 2)
			TAP_OK(json_is_true(json_object_get(ev, "unpaired")),
			       "a Post without a session is unpaired");
		json_decref(ev);
	}
	ev = json_array();
	TAP_OK(pair_apply(c, ev, T0) == -EINVAL, "an array: -EINVAL");
	json_decref(ev);
	TAP_OK(pair_apply(c, NULL, T0) == -EINVAL, "NULL: -EINVAL");
	TAP_OK(pair_expire(c, T0, NULL, 3, &n) == -EINVAL, "expire without out: -EINVAL");
	TAP_OK(pair_expire(c, T0, out, 3, NULL) == -EINVAL, "expire without n: -EINVAL");

	/* Ids over the bound are not tracked: the Post is unpaired, nothing leaks. */
	vbuf_init(&big, 1 << 20);
	for (int i = 0; i < 5000; i++)
		vbuf_append(&big, "x", 1);
	apply(c, mk("PreToolUse", "s", NULL, (const char *)big.data, "Bash"), T0);
	ev = mk("PostToolUse", "s", NULL, (const char *)big.data, "Bash");
	pair_apply(c, ev, T0);
	TAP_OK(json_is_true(json_object_get(ev, "unpaired")), "a 5000-byte tool_use_id is not tracked");
	json_decref(ev);
	vbuf_release(&big);

	/* Synthetic events fed back in are harmless. */
	apply(c, mk("PreToolUse", "s", NULL, "t9", "Bash"), T0);
	TAP_OK(pair_expire(c, T0 + 700 * SEC, out, 8, &n) == 0 && n >= 1,
	       "default abandon_ns is 10 minutes (%zu abandoned)", n);
	for (size_t i = 0; i < n; i++)
		TAP_OK(pair_apply(c, out[i], T0 + 700 * SEC) == 0 &&
			       !json_object_get(out[i], "unpaired"),
		       "a tool_abandoned event re-applied is left alone");
	free_out(out, n);
	pair_free(c);
	pair_free(NULL);
}

int main(void)
{
	struct norm_options o = { .host = "testhost", .user = "tester" };

	TAP_OK(norm_ctx_new(&o, &ctx) == 0, "norm_ctx_new");
	load_fixture();
	test_fixture();
	test_reused_ids();
	test_abandoned();
	test_bounds();
	test_byte_bounds();
	test_subagents();
	test_bad_input();
	for (size_t i = 0; i < nlines; i++)
		free(lines[i]);
	norm_ctx_free(ctx);
	return tap_done();
}
