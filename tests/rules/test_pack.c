/*
 * test_pack.c - the default rule pack (the .yml files of rules/, embedded into
 * libvigil_rules at build time).
 *
 * 1. The pack loads with no diagnostic at all (errors or warnings).
 * 2. Every rule's own test cases pass: one TAP line per case, naming the
 *    rule, whether it is a true or false positive, and where the case is
 *    written (file:line), so a failure points at the YAML to fix.
 * 3. Every rule is complete: at least 3 true and 3 false positives, a
 *    MITRE ATT&CK tag (or the tag vigil.unmapped with the reason in its
 *    description), a UUID id and a vigil-* name that are unique, author
 *    vigil, a status and a real description.
 * 4. The rules other parts of vigil and the documentation rely on exist
 *    with the documented kind, level and action.
 * 5. vigil-repeated-violations lists exactly the pack's alerting detection
 *    rules of level medium or higher (the list is written out in
 *    rules/rates.yml; this catches a new rule that was not added).
 * 6. docs/rules.md's catalogue names every rule.
 * 7. The real Claude Code capture (tests/data/claude-code-2.1.197), run
 *    through the normalizer as the daemon does, gets the decisions the pack
 *    documents: curl | sh blocked on PreToolUse and not on PostToolUse,
 *    nothing else of that ordinary session asked or blocked, and the
 *    exfiltration sequence once a private key is read before the download.
 */
#include "common.h"
#include "pipeline.h"
#include "rules.h"
#include "tap.h"
#include "yj.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#ifndef FIXTURE
#error "FIXTURE must name the Claude Code hooks capture"
#endif
#ifndef RULES_DOC
#error "RULES_DOC must name docs/rules.md"
#endif

#define FIXTURE_PROJECT "/home/dev/acme-app"
#define MAX_RULES 1024

struct tally {
	const struct rules_set *set;
	size_t tp[MAX_RULES], fp[MAX_RULES];
	size_t cases, failed;
};

static void on_case(void *arg, const struct rules_test_report *r)
{
	struct tally *t = arg;
	struct rules_info info;
	const char *name = r->rule_id;

	if (rules_get(t->set, r->rule, &info) == 0 && info.name)
		name = info.name;
	if (r->rule < MAX_RULES) {
		if (r->true_positive)
			t->tp[r->rule]++;
		else
			t->fp[r->rule]++;
	}
	t->cases++;
	if (!r->passed)
		t->failed++;
	TAP_OK(r->passed, "%s: %s %zu (%s:%d)%s%s", name,
	       r->true_positive ? "true positive" : "false positive", r->index, r->file, r->line,
	       r->passed ? "" : ": ", r->passed ? "" : r->msg);
}

static bool has_tag(const struct rules_info *in, const char *prefix)
{
	size_t n = strlen(prefix);

	for (size_t i = 0; i < in->ntags; i++)
		if (strncmp(in->tags[i], prefix, n) == 0)
			return true;
	return false;
}

static bool is_uuid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;

		if (dash ? s[i] != '-' : !((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return false;
	}
	return true;
}

/* Appends " text;" to why (cap bytes) when cond holds. */
static void lack(char *why, size_t cap, bool cond, const char *text)
{
	size_t w = strlen(why);

	if (cond && w + 1 < cap)
		snprintf(why + w, cap - w, " %s;", text);
}

/* 3: one line per rule listing whatever it lacks. */
static void check_complete(const struct rules_set *set, const struct tally *t)
{
	size_t n = rules_count(set);

	for (size_t i = 0; i < n; i++) {
		struct rules_info a, b;
		char why[512] = "";

		if (rules_get(set, i, &a) < 0) {
			TAP_OK(0, "rule %zu readable", i);
			continue;
		}
		lack(why, sizeof(why), !a.name || strncmp(a.name, "vigil-", 6) != 0, "name is not vigil-*");
		lack(why, sizeof(why), !is_uuid(a.id), "id is not a lower-case UUID");
		lack(why, sizeof(why), !a.author || strcmp(a.author, "vigil") != 0, "author is not vigil");
		lack(why, sizeof(why), !a.status, "no status");
		lack(why, sizeof(why), !a.description || strlen(a.description) < 60, "description missing or too short");
		lack(why, sizeof(why), i >= MAX_RULES || t->tp[i] < 3, "fewer than 3 true positives");
		lack(why, sizeof(why), i >= MAX_RULES || t->fp[i] < 3, "fewer than 3 false positives");
		lack(why, sizeof(why), !has_tag(&a, "attack.t") &&
			     !(has_tag(&a, "vigil.unmapped") && a.description &&
			       strstr(a.description, "ATT&CK")),
		     "no attack.tNNNN tag and no vigil.unmapped reason");
		for (size_t k = 0; k < i; k++) {
			if (rules_get(set, k, &b) < 0)
				continue;
			lack(why, sizeof(why), strcmp(a.id, b.id) == 0, "id not unique");
			lack(why, sizeof(why), a.name && b.name && strcmp(a.name, b.name) == 0, "name not unique");
		}
		TAP_OK(why[0] == 0, "%s is complete (%s:%d)%s", a.name ? a.name : a.id, a.file, a.line, why);
	}
}

/* 4: what the documentation, the daemon and the end-to-end test rely on. */
static void check_contracts(const struct rules_set *set)
{
	static const struct {
		const char *name;
		enum rules_kind kind;
		enum rules_level level;
		enum rules_action action;
	} want[] = {
		{ "vigil-destructive-rm-root-home", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
		{ "vigil-download-pipe-shell", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
		{ "vigil-sensitive-private-key", RULES_KIND_DETECTION, RULES_LEVEL_HIGH, RULES_ACTION_ALERT },
		{ "vigil-egress-http-client", RULES_KIND_DETECTION, RULES_LEVEL_LOW, RULES_ACTION_ALERT },
		{ "vigil-exfil-sequence", RULES_KIND_CORRELATION, RULES_LEVEL_CRITICAL, RULES_ACTION_ALERT },
		{ "vigil-high-frequency", RULES_KIND_CORRELATION, RULES_LEVEL_MEDIUM, RULES_ACTION_ALERT },
		{ "vigil-repeated-violations", RULES_KIND_CORRELATION, RULES_LEVEL_HIGH, RULES_ACTION_ALERT },
		{ "vigil-privilege-sudo", RULES_KIND_DETECTION, RULES_LEVEL_HIGH, RULES_ACTION_ASK },
		{ "vigil-tamper-hook-settings", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
		{ "vigil-tamper-disable-hooks", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
		{ "vigil-tamper-state-dir", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
		{ "vigil-tamper-stop-daemon", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
		{ "vigil-tamper-uninstall", RULES_KIND_DETECTION, RULES_LEVEL_CRITICAL, RULES_ACTION_BLOCK },
	};
	size_t n = rules_count(set), tamper = 0;

	TAP_OK(n >= 40 && n <= 100, "the pack has %zu rules (40-100 expected)", n);
	TAP_OK(rules_pack_count() >= 8, "the pack has %zu files", rules_pack_count());
	for (size_t i = 0; i < VG_ARRAY_LEN(want); i++) {
		long k = rules_find(set, want[i].name);
		struct rules_info in = { 0 };

		if (k >= 0)
			rules_get(set, (size_t)k, &in);
		TAP_OK(k >= 0 && in.kind == want[i].kind && in.level == want[i].level &&
			       in.action == want[i].action && in.generate,
		       "%s: %s, %s, %s", want[i].name, rules_kind_name(want[i].kind),
		       rules_level_name(want[i].level), rules_action_name(want[i].action));
	}
	/* Every monitor-tampering rule is critical and blocks. */
	for (size_t i = 0; i < n; i++) {
		struct rules_info in;

		if (rules_get(set, i, &in) < 0 || !in.name || strncmp(in.name, "vigil-tamper-", 13))
			continue;
		tamper++;
		TAP_OK(in.level == RULES_LEVEL_CRITICAL && in.action == RULES_ACTION_BLOCK,
		       "%s is critical and blocks", in.name);
	}
	TAP_OK(tamper >= 5, "%zu monitor-tampering rules", tamper);
}

/* The rules: list of vigil-repeated-violations, read from the pack's YAML. */
static json_t *violation_list(void)
{
	for (size_t f = 0; f < rules_pack_count(); f++) {
		const char *name, *text;
		size_t len;
		struct yj_doc *doc = NULL;
		char err[256];

		if (rules_pack_file(f, &name, &text, &len) < 0 ||
		    yj_parse(text, len, name, NULL, &doc, err, sizeof(err)) < 0)
			continue;
		for (size_t d = 0; d < yj_count(doc); d++) {
			json_t *root = yj_root(doc, d);
			const char *rn = json_string_value(json_object_get(root, "name"));
			json_t *refs = json_object_get(json_object_get(root, "correlation"), "rules");

			if (rn && strcmp(rn, "vigil-repeated-violations") == 0 && json_is_array(refs)) {
				json_t *copy = json_deep_copy(refs);

				yj_free(doc);
				return copy;
			}
		}
		yj_free(doc);
	}
	return NULL;
}

static bool in_list(const json_t *list, const char *s)
{
	size_t i;
	json_t *v;

	json_array_foreach(list, i, v)
		if (json_is_string(v) && strcmp(json_string_value(v), s) == 0)
			return true;
	return false;
}

/* 5 */
static void check_violation_list(const struct rules_set *set)
{
	json_t *list = violation_list(), *v;
	size_t n = rules_count(set), i, missing = 0, extra = 0;

	TAP_OK(list != NULL, "vigil-repeated-violations found in the pack's YAML");
	if (!list)
		return;
	for (i = 0; i < n; i++) {
		struct rules_info in;
		bool want;

		if (rules_get(set, i, &in) < 0 || !in.name)
			continue;
		want = in.kind == RULES_KIND_DETECTION && in.generate &&
		       in.level >= RULES_LEVEL_MEDIUM;
		if (want != in_list(list, in.name)) {
			TAP_DIAG("%s: %s", in.name,
				 want ? "medium+ alerting rule missing from vigil-repeated-violations"
				      : "listed in vigil-repeated-violations but not a medium+ alerting rule");
			if (want)
				missing++;
			else
				extra++;
		}
	}
	json_array_foreach(list, i, v) {
		if (rules_find(set, json_string_value(v)) < 0) {
			TAP_DIAG("vigil-repeated-violations lists unknown rule %s", json_string_value(v));
			extra++;
		}
	}
	TAP_OK(missing == 0 && extra == 0,
	       "vigil-repeated-violations lists every medium+ alerting rule (%zu listed)",
	       json_array_size(list));
	json_decref(list);
}

/* 6: every rule is in the catalogue, as `name` in a table row. */
static void check_doc(const struct rules_set *set)
{
	char *doc = NULL, needle[192];
	size_t len = 0, missing = 0;

	if (vg_read_file(RULES_DOC, 4u << 20, &doc, &len) < 0) {
		TAP_OK(0, "%s readable", RULES_DOC);
		return;
	}
	for (size_t i = 0; i < rules_count(set); i++) {
		struct rules_info in;

		if (rules_get(set, i, &in) < 0 || !in.name)
			continue;
		snprintf(needle, sizeof(needle), "| `%s` |", in.name);
		if (!strstr(doc, needle)) {
			TAP_DIAG("%s is not in the catalogue of docs/rules.md", in.name);
			missing++;
		}
	}
	TAP_OK(missing == 0, "docs/rules.md catalogues every rule (%zu missing)", missing);
	vg_free(doc);
}

/* ---- 7: the real capture ------------------------------------------------------------ */

static bool hit(const struct rules_result *r, const char *name)
{
	for (size_t i = 0; i < r->nhits; i++)
		if (r->hits[i].name && strcmp(r->hits[i].name, name) == 0)
			return true;
	return false;
}

static const char *decided_by(const struct rules_result *r)
{
	return r->action_hit >= 0 && r->hits[r->action_hit].name ? r->hits[r->action_hit].name : "-";
}

static json_t *normalize(const struct norm_ctx *nc, const char *line, size_t len)
{
	struct norm_envelope env = { .project_dir = FIXTURE_PROJECT, .pid = -1, .ppid = -1,
				     .uid = -1 };
	json_t *ev = NULL;
	char err[256];

	if (norm_event(nc, &env, line, len, &ev, err, sizeof(err)) < 0) {
		TAP_DIAG("normalize: %s", err);
		return NULL;
	}
	return ev;
}

static const char *sfield(const json_t *ev, const char *k)
{
	const char *s = json_string_value(json_object_get(ev, k));

	return s ? s : "";
}

static void check_capture(const struct rules_set *set)
{
	struct norm_ctx *nc = NULL;
	struct rules_state *st = NULL;
	struct rules_result res;
	char *text = NULL, *p, *nl;
	size_t len = 0, events = 0, quiet = 0, quiet_ok = 0;
	bool pre_blocked = false, post_quiet = false, passwd = false, fetch = false, seq = false;
	json_t *curl_pre = NULL;
	uint64_t t = 1700000000ull * 1000000000ull;

	rules_result_init(&res);
	if (vg_read_file(FIXTURE, 16u << 20, &text, &len) < 0 ||
	    norm_ctx_new(&(struct norm_options){ .host = "vm", .user = "dev" }, &nc) < 0 ||
	    rules_state_new(set, NULL, &st) < 0) {
		TAP_OK(0, "capture %s readable and engine state made", FIXTURE);
		goto out;
	}
	for (p = text; p < text + len; p = nl + 1) {
		json_t *ev;
		const char *hook, *tool, *target;

		nl = memchr(p, '\n', (size_t)(text + len - p));
		if (!nl)
			nl = text + len;
		if (nl == p)
			continue;
		ev = normalize(nc, p, (size_t)(nl - p));
		if (!ev)
			continue;
		t += 1000000000ull;
		if (rules_eval(set, st, ev, t, &res) < 0) {
			json_decref(ev);
			continue;
		}
		events++;
		hook = sfield(ev, "hook");
		tool = sfield(ev, "tool");
		target = sfield(ev, "target");
		if (strstr(target, "| sh") && strcmp(hook, "PreToolUse") == 0) {
			pre_blocked = res.action == RULES_ACTION_BLOCK &&
				      hit(&res, "vigil-download-pipe-shell") &&
				      strcmp(decided_by(&res), "vigil-download-pipe-shell") == 0;
			curl_pre = json_incref(ev);
		} else if (strstr(target, "| sh")) {
			post_quiet = !hit(&res, "vigil-download-pipe-shell") &&
				     res.action == RULES_ACTION_ALERT;
		} else if (strcmp(hook, "PreToolUse") == 0) {
			quiet++;
			quiet_ok += res.action == RULES_ACTION_ALERT;
			if (res.action != RULES_ACTION_ALERT)
				TAP_DIAG("%s %s decided %s by %s", tool, target,
					 rules_action_name(res.action), decided_by(&res));
			if (strcmp(tool, "Read") == 0 && strcmp(target, "/etc/passwd") == 0)
				passwd = hit(&res, "vigil-scope-read-outside") &&
					 !hit(&res, "vigil-sensitive-system-secrets");
			if (strcmp(tool, "WebFetch") == 0)
				fetch = hit(&res, "vigil-egress-webfetch-unlisted");
		}
		seq |= hit(&res, "vigil-exfil-sequence");
		json_decref(ev);
	}
	TAP_OK(events >= 20, "the capture's %zu events normalized and evaluated", events);
	TAP_OK(pre_blocked, "capture: PreToolUse curl | sh is blocked by vigil-download-pipe-shell");
	TAP_OK(post_quiet, "capture: its PostToolUse is not reported again by the block rule");
	TAP_OK(quiet > 5 && quiet_ok == quiet,
	       "capture: the session's other %zu tool calls are neither asked nor blocked", quiet);
	TAP_OK(passwd, "capture: Read /etc/passwd is outside the project, not a secret");
	TAP_OK(fetch, "capture: WebFetch https://example.com is egress to an unlisted host");
	TAP_OK(!seq, "capture: no exfiltration sequence without a sensitive read");

	/* The same download after reading a private key, in a fresh state. */
	rules_state_free(st);
	st = NULL;
	if (curl_pre && rules_state_new(set, NULL, &st) == 0) {
		static const char key_read[] =
			"{\"session_id\":\"a6554db9-c2ac-471e-ad30-60bbd41b856a\","
			"\"cwd\":\"/home/dev/acme-app\",\"permission_mode\":\"default\","
			"\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Read\","
			"\"tool_input\":{\"file_path\":\"/home/dev/.ssh/id_ed25519\"},"
			"\"tool_use_id\":\"toolu_99_15293\"}";
		json_t *ev = normalize(nc, key_read, sizeof(key_read) - 1);
		bool key = false, exfil = false;

		if (ev && rules_eval(set, st, ev, t, &res) == 0)
			key = hit(&res, "vigil-sensitive-private-key") &&
			      !hit(&res, "vigil-exfil-sequence");
		json_decref(ev);
		if (rules_eval(set, st, curl_pre, t + 90ull * 1000000000ull, &res) == 0) {
			for (size_t i = 0; i < res.nhits; i++)
				if (res.hits[i].name &&
				    strcmp(res.hits[i].name, "vigil-exfil-sequence") == 0)
					exfil = res.hits[i].kind == RULES_KIND_CORRELATION &&
						res.hits[i].level == RULES_LEVEL_CRITICAL &&
						strstr(res.hits[i].group, "a6554db9") != NULL;
		}
		TAP_OK(key, "capture + key read: vigil-sensitive-private-key alerts on the Read");
		TAP_OK(exfil, "capture + key read: the download 90 s later completes vigil-exfil-sequence");
	} else {
		TAP_OK(0, "capture holds the curl | sh PreToolUse");
	}
out:
	json_decref(curl_pre);
	rules_state_free(st);
	norm_ctx_free(nc);
	vg_free(text);
	rules_result_release(&res);
}

int main(void)
{
	struct rules_set *set = NULL;
	static struct tally t;
	size_t ndiag, ncases = 0;
	long failed;
	char buf[1024];

	if (rules_set_new(NULL, &set) < 0 || rules_add_default_pack(set) < 0 ||
	    rules_finish(set) < 0) {
		TAP_OK(0, "default pack loads");
		return tap_done();
	}
	ndiag = rules_diag_count(set);
	for (size_t i = 0; i < ndiag; i++) {
		rules_diag_format(rules_diag_get(set, i), buf, sizeof(buf));
		TAP_DIAG("%s", buf);
	}
	TAP_OK(ndiag == 0, "default pack loads with no diagnostic (%zu)", ndiag);
	TAP_OK(rules_count(set) <= MAX_RULES, "pack fits the test's tally (%zu rules)",
	       rules_count(set));

	t.set = set;
	failed = rules_selftest(set, on_case, &t, &ncases);
	TAP_OK(failed == 0 && (size_t)failed == t.failed && ncases == t.cases && ncases > 0,
	       "selftest: %zu cases, %ld failed", ncases, failed);
	TAP_DIAG("pack: %zu rules, %zu test cases, %zu files", rules_count(set), ncases,
		 rules_pack_count());

	check_complete(set, &t);
	check_contracts(set);
	check_violation_list(set);
	check_doc(set);
	check_capture(set);
	rules_set_free(set);
	return tap_done();
}
