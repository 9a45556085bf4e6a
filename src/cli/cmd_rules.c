/*
 * cmd_rules.c - `vigil rules list|validate|test|reload`: the detection rules
 * as the daemon sees them.  The set is built by config_build_rules() (src/
 * config), the same function vigild uses, from the same vigil.yaml, so what
 * these commands show is what the daemon runs.  `test` evaluates rules over
 * recorded events (normalized events, or raw hook payloads that go through
 * the normalizer first through norm_hook_event(), the function vigild
 * calls, so both see the same event for every payload, an unparseable one
 * included) or runs the test cases the rules carry; `reload` asks the
 * running daemon to load its rules again.
 */
#include "options.h"
#include "config.h"
#include "pipeline.h"
#include "rules.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdlib.h>
#include <unistd.h>

#define RULES_CLI_MAX_PATHS    256
/* A line holds one payload: as much as vigil-hook sends vigild. */
#define RULES_CLI_MAX_LINE     NORM_DEFAULT_MAX_INPUT
#define RULES_CLI_TARGET_SHOWN 100 /* characters of an event's target in the text output */

struct rules_paths {
	const char *v[RULES_CLI_MAX_PATHS];
	size_t n;
};

struct rcmd {
	struct cli *c;
	const char *sub;
	struct rules_paths paths;
	int pack; /* CONFIG_PACK_* */
	bool no_overrides, json;
	const char *agent;
	/* loaded */
	struct config *conf;
	struct rules_set *set;
	struct config_diags cdiags;
	size_t errors; /* config + rules errors */
};

static int opt_rules(const struct cli_optarg *p, const char *arg);

#define RC struct rcmd
static const struct cli_option rules_options[] = {
	CLI_GROUP("Set options:"),
	CLI_OPT_CONFIG("the config file (default: $VIGIL_CONFIG, else\n"
		       "$XDG_CONFIG_HOME/vigil/vigil.yaml, else\n"
		       "/etc/vigil/vigil.yaml)"),
	CLI_CALLBACK("rules", 0, RC, paths, CLI_ARG_REQUIRED, opt_rules, "PATH",
		     "load this rule file or directory instead of rules.paths\n"
		     "(repeatable); the default pack is then left out unless\n"
		     "--default-pack is given"),
	CLI_SET_INT("default-pack", RC, pack, CONFIG_PACK_YES, "include the default pack"),
	CLI_SET_INT("no-default-pack", RC, pack, CONFIG_PACK_NO, "leave the default pack out"),
	CLI_FLAG("no-overrides", 0, RC, no_overrides, "ignore rules.overrides"),
	CLI_OPT_AGENT(RC, agent, "test: the agent of raw hook payloads (default claude-code)"),
	CLI_OPT_JSON("machine-readable output"),
	CLI_OPT_STATE_DIR_HELP("state directory (reload: of the daemon to ask)"),
	CLI_END,
};
#undef RC

static const struct cli_cmd rules_cmd = {
	.name = "rules",
	.usage = "usage: vigil rules list [--json] [SET OPTIONS]\n"
		 "       vigil rules validate [--json] [SET OPTIONS] [PATH...]\n"
		 "       vigil rules test [--json] [SET OPTIONS] [EVENTS...|-]\n"
		 "       vigil rules reload [--json]\n"
		 "\n"
		 "The Sigma detection rules, as the daemon loads them: the default pack built\n"
		 "into vigil, the files and directories of rules.paths in vigil.yaml, and the\n"
		 "overrides of rules.overrides (docs/config.md, docs/rules.md).\n"
		 "\n"
		 "  list       every rule: id, name, level, action, kind, source file:line, title\n"
		 "  validate   load the rules (and the config) and report every problem as\n"
		 "             FILE:LINE:COL: reason; with PATHs, check those files or directories\n"
		 "             instead of the configured ones\n"
		 "  test       with EVENTS (files of JSON lines, or - for stdin): run the rules\n"
		 "             over them in order, correlation windows included, and show which\n"
		 "             rules fire and why.  A line is a vigil event (\"schema\":\n"
		 "             \"vigil.event.v1\", as `vigil events --json` prints) or a raw hook\n"
		 "             payload, which is normalized first as `vigil import` does.  Without\n"
		 "             EVENTS: run the test cases embedded in the rules (tests:\n"
		 "             true_positives / false_positives) and show each result\n"
		 "  reload     ask the running daemon to load its config and rules again (it\n"
		 "             keeps the old set when the new one has errors)\n",
	.options = rules_options,
	.footer = "Exit status: 0 OK (test with EVENTS: the events were evaluated, whether or not\n"
		  "rules fired); 1 the rules or the config have errors, a test case failed, an\n"
		  "input line was bad, or the daemon refused the reload; 2 usage error; 3 could\n"
		  "not do the job (no daemon running for reload, unreadable input).\n",
	.max_args = -1,
};

/* Adds a rule path (--rules, and validate's operands). */
static int add_path(struct rules_paths *paths, const char *path)
{
	if (paths->n == RULES_CLI_MAX_PATHS)
		return cli_usage_error("rules", "at most %d rule paths", RULES_CLI_MAX_PATHS);
	paths->v[paths->n++] = path;
	return 0;
}

static int opt_rules(const struct cli_optarg *p, const char *arg)
{
	return add_path(p->value, arg);
}

/* ---- loading the set -------------------------------------------------------------- */

static json_t *rules_diag_json(const struct rules_diag *d)
{
	return json_pack("{s:s, s:i, s:i, s:s, s:s?, s:s}", "file", d->file, "line", d->line,
			 "column", d->col, "severity",
			 d->severity == RULES_ERROR ? "error" : "warning", "rule", d->rule,
			 "message", d->msg);
}

/* Every diagnostic of the config and the rules as a JSON array. */
static json_t *all_diags_json(const struct rcmd *r)
{
	json_t *a = config_diags_json(&r->cdiags);

	for (size_t i = 0; a && r->set && i < rules_diag_count(r->set); i++)
		if (json_array_append_new(a, rules_diag_json(rules_diag_get(r->set, i))) < 0) {
			json_decref(a);
			return NULL;
		}
	return a;
}

static void print_diags(const struct rcmd *r)
{
	char line[8192];

	config_diags_print(&r->cdiags, stderr, "");
	for (size_t i = 0; r->set && i < rules_diag_count(r->set); i++) {
		rules_diag_format(rules_diag_get(r->set, i), line, sizeof(line));
		fprintf(stderr, "%s\n", line);
	}
}

/*
 * Loads the config and builds the set.  0 (errors counted in r->errors, the
 * set holding the valid rules), or CLI_ERROR when nothing could be built
 * (printed).  A config with errors leaves r->set NULL.
 */
static int load_set(struct rcmd *r)
{
	struct config_rules_opts o = {
		.paths = r->paths.v,
		.npaths = r->paths.n,
		.default_pack = r->pack,
		.no_overrides = r->no_overrides,
	};
	int rc;

	rc = config_load(r->c->config, &r->conf, &r->cdiags);
	r->errors += r->cdiags.errors;
	if (rc == -ENOMEM) {
		cli_error("out of memory");
		return CLI_ERROR;
	}
	if (rc < 0)
		return 0; /* reported with the diagnostics */
	rc = config_build_rules(NULL, r->conf, &o, &r->set);
	if (rc < 0) {
		cli_error("cannot build the rule set: %s", strerror(-rc));
		return CLI_ERROR;
	}
	r->errors += rules_error_count(r->set);
	return 0;
}

static void rcmd_release(struct rcmd *r)
{
	rules_set_free(r->set);
	config_free(r->conf);
	config_diags_release(&r->cdiags);
}

static int print_json(json_t *j)
{
	int rc;

	if (!j) {
		cli_error("out of memory");
		return -ENOMEM;
	}
	rc = json_dumpf(j, stdout, JSON_INDENT(2) | JSON_ENSURE_ASCII);
	fputc('\n', stdout);
	json_decref(j);
	return rc < 0 ? -EIO : 0;
}

/* `test` without a set to run (the config has errors): the diagnostics,
 * as text or as {"ok": false, "diagnostics": [...]}, and CLI_FAIL. */
static int no_set(const struct rcmd *r)
{
	if (r->json)
		print_json(json_pack("{s:b, s:o}", "ok", 0, "diagnostics", all_diags_json(r)));
	else
		print_diags(r);
	return CLI_FAIL;
}

static size_t count_kind(const struct rules_set *set, enum rules_kind kind)
{
	struct rules_info ri;
	size_t n = 0;

	for (size_t i = 0; set && i < rules_count(set); i++)
		if (rules_get(set, i, &ri) == 0 && ri.kind == kind)
			n++;
	return n;
}

/* ---- list ------------------------------------------------------------------------------ */

static json_t *rule_json(const struct rules_info *ri)
{
	json_t *o, *tags = json_array();

	for (size_t t = 0; tags && t < ri->ntags; t++)
		json_array_append_new(tags, json_string(ri->tags[t]));
	o = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s?, s:s, s:i, s:o, s:s?, s:s?, s:b, s:b, "
		      "s:I}",
		      "id", ri->id, "name", ri->name, "title", ri->title, "level",
		      rules_level_name(ri->level), "action", rules_action_name(ri->action), "kind",
		      rules_kind_name(ri->kind), "correlation_type",
		      rules_corr_type_name(ri->corr_type), "file", ri->file, "line", ri->line,
		      "tags", tags ? tags : json_array(), "status", ri->status, "description",
		      ri->description, "disabled", ri->disabled, "generate", ri->generate, "tests",
		      (json_int_t)ri->ntests);
	return o;
}

static int do_list(struct rcmd *r)
{
	size_t n = r->set ? rules_count(r->set) : 0, wid = 2, wname = 4, wsrc = 6;
	struct rules_info ri;
	char src[4200];

	print_diags(r);
	if (r->json) {
		json_t *a = json_array();

		for (size_t i = 0; a && i < n; i++)
			if (rules_get(r->set, i, &ri) == 0)
				json_array_append_new(a, rule_json(&ri));
		if (print_json(a) < 0)
			return CLI_ERROR;
		return r->errors ? CLI_FAIL : CLI_OK;
	}
	for (size_t i = 0; i < n; i++) {
		if (rules_get(r->set, i, &ri) < 0)
			continue;
		snprintf(src, sizeof(src), "%s:%d", ri.file, ri.line);
		wid = strlen(ri.id) > wid ? strlen(ri.id) : wid;
		wname = ri.name && strlen(ri.name) > wname ? strlen(ri.name) : wname;
		wsrc = strlen(src) > wsrc ? strlen(src) : wsrc;
	}
	wid = wid > 40 ? 40 : wid;
	wname = wname > 32 ? 32 : wname;
	wsrc = wsrc > 48 ? 48 : wsrc;
	if (n)
		printf("%s%-*s  %-*s  %-13s  %-6s  %-11s  %-*s  TITLE%s\n", cli_c(r->c, CLI_BOLD),
		       (int)wid, "ID", (int)wname, "NAME", "LEVEL", "ACTION", "KIND", (int)wsrc,
		       "SOURCE", cli_c(r->c, CLI_RESET));
	for (size_t i = 0; i < n; i++) {
		if (rules_get(r->set, i, &ri) < 0)
			continue;
		snprintf(src, sizeof(src), "%s:%d", ri.file, ri.line);
		printf("%-*s  %-*s  %-13s  %-6s  %-11s  %-*s  %s%s\n", (int)wid, ri.id, (int)wname,
		       ri.name ? ri.name : "-", rules_level_name(ri.level),
		       rules_action_name(ri.action), rules_kind_name(ri.kind), (int)wsrc, src,
		       ri.title, ri.disabled ? " (disabled)" : "");
	}
	if (!r->json && isatty(STDOUT_FILENO))
		printf("%zu rules (%zu correlation)\n", n,
		       count_kind(r->set, RULES_KIND_CORRELATION));
	return r->errors ? CLI_FAIL : CLI_OK;
}

/* ---- validate --------------------------------------------------------------------------- */

static int do_validate(struct rcmd *r)
{
	size_t n = r->set ? rules_count(r->set) : 0;
	size_t warnings =
		r->cdiags.n - (r->cdiags.errors < r->cdiags.n ? r->cdiags.errors : r->cdiags.n);
	size_t ncorr = count_kind(r->set, RULES_KIND_CORRELATION);

	if (r->set)
		warnings += rules_diag_count(r->set) - rules_error_count(r->set);
	if (r->json) {
		json_t *j = json_pack(
			"{s:b, s:s, s:I, s:I, s:I, s:I, s:o}", "ok", r->errors == 0, "config",
			r->conf && config_path(r->conf)[0] ? config_path(r->conf) : r->cdiags.file,
			"rules", (json_int_t)n, "correlation", (json_int_t)ncorr, "errors",
			(json_int_t)r->errors, "warnings", (json_int_t)warnings, "diagnostics",
			all_diags_json(r));

		if (print_json(j) < 0)
			return CLI_ERROR;
		return r->errors ? CLI_FAIL : CLI_OK;
	}
	print_diags(r);
	if (r->errors)
		printf("%s%zu error%s%s, %zu warning%s%s\n", cli_c(r->c, CLI_RED), r->errors,
		       r->errors == 1 ? "" : "s", r->set ? "" : " in the config", warnings,
		       warnings == 1 ? "" : "s", cli_c(r->c, CLI_RESET));
	else
		printf("%sOK%s: %zu rules (%zu correlation), %zu warning%s\n",
		       cli_c(r->c, CLI_GREEN), cli_c(r->c, CLI_RESET), n, ncorr, warnings,
		       warnings == 1 ? "" : "s");
	return r->errors ? CLI_FAIL : CLI_OK;
}

/* ---- test: embedded cases ---------------------------------------------------------------- */

struct selftest {
	struct rcmd *r;
	json_t *results; /* --json */
};

static void selftest_case(void *arg, const struct rules_test_report *t)
{
	struct selftest *st = arg;
	const char *list = t->true_positive ? "true_positives" : "false_positives";
	struct rules_info ri;
	const char *name = rules_get(st->r->set, t->rule, &ri) == 0 && ri.name && *ri.name
				   ? ri.name
				   : NULL;

	if (st->results) {
		json_array_append_new(
			st->results,
			json_pack("{s:s, s:s?, s:s, s:I, s:s, s:i, s:i, s:b, s:s}", "rule_id",
				  t->rule_id, "name", name, "case", t->true_positive ? "true_positive" : "false_positive",
				  "index", (json_int_t)t->index, "file", t->file, "line", t->line,
				  "column", t->col, "passed", t->passed, "message",
				  t->msg ? t->msg : ""));
		return;
	}
	if (t->passed)
		printf("%sok%s    %s %s[%zu]  %s:%d\n", cli_c(st->r->c, CLI_GREEN),
		       cli_c(st->r->c, CLI_RESET), name ? name : t->rule_id, list, t->index, t->file,
		       t->line);
	else
		printf("%sFAIL%s  %s %s[%zu]  %s:%d:%d: %s\n", cli_c(st->r->c, CLI_RED),
		       cli_c(st->r->c, CLI_RESET), name ? name : t->rule_id, list, t->index, t->file,
		       t->line, t->col, t->msg ? t->msg : "");
}

static int do_selftest(struct rcmd *r)
{
	struct selftest st = { .r = r };
	size_t ncases = 0;
	long failed;

	if (!r->set)
		return no_set(r);
	if (!r->json && r->errors)
		print_diags(r);
	if (r->json && !(st.results = json_array())) {
		cli_error("out of memory");
		return CLI_ERROR;
	}
	failed = rules_selftest(r->set, selftest_case, &st, &ncases);
	if (failed < 0) {
		json_decref(st.results);
		cli_error("cannot run the test cases: %s", strerror((int)-failed));
		return CLI_ERROR;
	}
	if (r->json) {
		json_t *j = json_pack("{s:b, s:I, s:I, s:I, s:o, s:o}", "ok",
				      failed == 0 && r->errors == 0, "cases", (json_int_t)ncases,
				      "failed", (json_int_t)failed, "errors", (json_int_t)r->errors,
				      "results", st.results, "diagnostics", all_diags_json(r));

		if (print_json(j) < 0)
			return CLI_ERROR;
	} else {
		printf("%zu test case%s, %ld failed%s\n", ncases, ncases == 1 ? "" : "s", failed,
		       r->errors ? " (and the rules have errors)" : "");
	}
	return failed || r->errors ? CLI_FAIL : CLI_OK;
}

/* ---- test: over events ------------------------------------------------------------------- */

struct evrun {
	struct rcmd *r;
	struct norm_ctx *norm;
	struct pair *corr;
	struct rules_state *state;
	struct rules_result res;
	json_t *results; /* --json: the events that fired */
	uint64_t events, fired, hits, bad, asks, blocks;
	uint64_t last_ns;
	bool fatal;
	const char *file; /* the input being read, for messages */
	/* The line's payload could not be parsed: the policy decides, as in vigild. */
	bool unparseable;
	char policy[8];	   /* decisions.unparseable */
	char why[1024];	   /* the built-in alert's why */
	char reason[2048]; /* the reason the agent would read */
};

static void bad_event(struct evrun *ev, const char *file, uint64_t line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void bad_event(struct evrun *ev, const char *file, uint64_t line, const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	ev->bad++;
	fprintf(stderr, "vigil rules: %s:%" PRIu64 ": %s; skipped\n", file, line, msg);
}

/* A vigil event already (schema, or the fields of one and no hook payload's). */
static bool is_event(const json_t *j)
{
	const char *schema = json_string_value(json_object_get(j, EVF_SCHEMA));

	if (schema)
		return !strcmp(schema, EV_SCHEMA_V1);
	/* hook_event_name: a field of Claude Code's payload, not of an event. */
	return json_is_string(json_object_get(j, EVF_EVENT_TYPE)) &&
	       !json_object_get(j, "hook_event_name");
}

/* People know rules by name (docs/cli.md); a rule without one by its id. */
static const char *hit_name(const struct rules_hit *h)
{
	return h->name && *h->name ? h->name : h->rule_id;
}

static json_t *hit_json(const struct rules_hit *h)
{
	json_t *o = json_pack("{s:s, s:s?, s:s, s:s, s:s, s:s, s:s}", "rule_id", h->rule_id,
			      "name", h->name && *h->name ? h->name : NULL, "title", h->title,
			      "level", rules_level_name(h->level), "action",
			      rules_action_name(h->action), "kind", rules_kind_name(h->kind), "why",
			      h->why);

	if (o && h->kind == RULES_KIND_CORRELATION) {
		json_t *ids = json_array();
		char t0[40], t1[40];

		for (size_t i = 0; ids && i < h->nevent_ids; i++)
			json_array_append_new(ids, json_string(h->event_ids[i]));
		vg_format_time(h->first_ns, t0, sizeof(t0));
		vg_format_time(h->last_ns, t1, sizeof(t1));
		json_object_set_new(o, "group", json_string(h->group ? h->group : ""));
		json_object_set_new(o, "count", json_integer((json_int_t)h->count));
		json_object_set_new(o, "first_seen", json_string(t0));
		json_object_set_new(o, "last_seen", json_string(t1));
		json_object_set_new(o, "event_ids", ids ? ids : json_array());
	}
	return o;
}

/* decisions.unparseable as a rule action ("allow" is an alert that lets it run). */
static enum rules_action policy_action(const char *policy)
{
	return !strcmp(policy, "allow") ? RULES_ACTION_ALERT
	       : !strcmp(policy, "ask") ? RULES_ACTION_ASK
					: RULES_ACTION_BLOCK;
}

/* The built-in alert vigild raises for a blocking hook's unparseable payload. */
static json_t *unparseable_hit_json(const struct evrun *ev)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "rule_id", NORM_UNPARSEABLE_RULE,
			 "name", NORM_UNPARSEABLE_RULE, "title", NORM_UNPARSEABLE_TITLE, "level",
			 "high", "action", rules_action_name(policy_action(ev->policy)), "kind",
			 "detection", "why", ev->why);
}

/*
 * Would vigild raise vigil-unparseable-payload for this line?  For a
 * blocking hook's unparseable payload; one whose hook vigil could not read
 * counts as blocking (a hook installed with --decide is, and vigild cannot
 * tell more).
 */
static bool unparseable_blocking(const struct evrun *ev, const struct ev_view *e)
{
	const char *hook = e->hook;

	return ev->unparseable && hook && (!strcmp(hook, "unknown") || rules_hook_blocking(hook));
}

static void show_hits(struct evrun *ev, const char *file, uint64_t line, const struct ev_view *e)
{
	const struct rules_result *res = &ev->res;
	const char *hook = e->hook, *type = e->event_type, *target = e->target;
	const char *decision = NULL, *by = NULL;
	struct cli *c = ev->r->c;
	bool blocking = res->blocking || unparseable_blocking(ev, e);
	enum rules_action act = res->action_hit >= 0 ? res->action : RULES_ACTION_ALERT;

	if (res->action_hit >= 0)
		by = hit_name(&res->hits[res->action_hit]);
	if (ev->unparseable && blocking && policy_action(ev->policy) >= act) {
		/* As vigild's vd_decide: the policy unless a rule decided more. */
		act = policy_action(ev->policy);
		by = NORM_UNPARSEABLE_RULE;
	}
	if (blocking && act == RULES_ACTION_BLOCK)
		decision = "deny";
	else if (blocking && act == RULES_ACTION_ASK)
		decision = "ask";
	ev->blocks += decision && !strcmp(decision, "deny");
	ev->asks += decision && !strcmp(decision, "ask");
	if (ev->results) {
		json_t *hits = json_array(), *o;

		for (size_t i = 0; hits && i < res->nhits; i++)
			json_array_append_new(hits, hit_json(&res->hits[i]));
		if (hits && ev->unparseable && blocking)
			json_array_append_new(hits, unparseable_hit_json(ev));
		o = json_pack("{s:s, s:I, s:s?, s:s?, s:s?, s:s?, s:s?, s:o}", "file", file, "line",
			      (json_int_t)line, "id", e->id, "hook", hook, "event_type", type,
			      "target", target, "decision", decision, "hits",
			      hits ? hits : json_array());
		if (!o || json_array_append_new(ev->results, o) < 0)
			ev->fatal = true;
		return;
	}
	printf("%s%s:%" PRIu64 "%s  %s %s  %.*s%s\n", cli_c(c, CLI_BOLD), file, line,
	       cli_c(c, CLI_RESET), hook ? hook : "-", type ? type : "-", RULES_CLI_TARGET_SHOWN,
	       target ? target : "",
	       target && strlen(target) > RULES_CLI_TARGET_SHOWN ? "..." : "");
	for (size_t i = 0; i < res->nhits; i++) {
		const struct rules_hit *h = &res->hits[i];
		bool strong = h->level >= RULES_LEVEL_HIGH;

		printf("  %s%-13s%s %-6s %s  %s\n", strong ? cli_c(c, CLI_RED) : "",
		       rules_level_name(h->level), strong ? cli_c(c, CLI_RESET) : "",
		       rules_action_name(h->action), hit_name(h), h->title);
		printf("      why: %s\n", h->why);
		if (h->kind == RULES_KIND_CORRELATION)
			printf("      correlation: %s%s%" PRIu64 " in the window, %zu event id%s\n",
			       h->group && *h->group ? h->group : "",
			       h->group && *h->group ? ": " : "", h->count, h->nevent_ids,
			       h->nevent_ids == 1 ? "" : "s");
	}
	if (ev->unparseable && blocking) {
		printf("  %s%-13s%s %-6s %s  %s\n", cli_c(c, CLI_RED), "high", cli_c(c, CLI_RESET),
		       rules_action_name(policy_action(ev->policy)), NORM_UNPARSEABLE_RULE,
		       NORM_UNPARSEABLE_TITLE);
		printf("      why: %s\n", ev->why);
		if (by && !strcmp(by, NORM_UNPARSEABLE_RULE))
			printf("      reason: %s\n", ev->reason);
	}
	if (decision)
		printf("  %s=> %s%s by %s\n", cli_c(c, CLI_RED), decision, cli_c(c, CLI_RESET),
		       by ? by : "?");
}

static void run_line(struct evrun *ev, const char *file, uint64_t lineno, const char *p, size_t len)
{
	json_error_t jerr;
	struct ev_view v;
	json_t *e;
	uint64_t t = 0;
	int rc;

	ev->unparseable = false;
	/* Parsed here only to tell a vigil event from a hook payload; a
	 * payload goes through norm_hook_event() whole, as in vigild. */
	e = json_loadb(p, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &jerr);
	if (!json_is_object(e) || !is_event(e)) {
		/* Raw, as vigild evaluates it: the rules see what the agent sent.
		 * What this prints is what the rules saw (nothing is stored). */
		struct norm_envelope env = {
			.agent = ev->r->agent, .pid = -1, .ppid = -1, .uid = -1, .flags = NORM_RAW
		};
		char nerr[512];

		json_decref(e);
		e = NULL;
		rc = norm_hook_event(ev->norm, &env, p, len, &e, nerr, sizeof(nerr));
		if (rc < 0) {
			bad_event(ev, file, lineno, "cannot normalize: %s", strerror(-rc));
			ev->fatal = rc == -ENOMEM;
			goto out;
		}
		if (rc == NORM_UNPARSEABLE) {
			/* Still a bad line for a test run, but evaluated as vigild does. */
			ev->bad++;
			fprintf(stderr,
				"vigil rules: %s:%" PRIu64 ": %s; unparseable: evaluated as vigild "
				"decides it\n",
				file, lineno, nerr);
			ev->unparseable = true;
			snprintf(ev->why, sizeof(ev->why),
				 "the payload could not be parsed (%.400s); %s is %s", nerr,
				 NORM_UNPARSEABLE_POLICY_KEY, ev->policy);
			norm_unparseable_reason(e, ev->policy, ev->reason, sizeof(ev->reason));
		} else {
			pair_apply(ev->corr, e, vg_now_ns());
		}
	}
	ev_view_fill(e, &v);
	/* The event's own time drives the correlation windows; without one, a
	 * second after the previous event. */
	if (vg_parse_time(v.time, 0, &t) < 0)
		t = ev->last_ns ? ev->last_ns + 1000000000ull : vg_now_ns();
	ev->last_ns = t;
	rc = rules_eval(ev->r->set, ev->state, e, t, &ev->res);
	if (rc < 0) {
		bad_event(ev, file, lineno, "cannot evaluate: %s", strerror(-rc));
		if (rc == -ENOMEM)
			ev->fatal = true;
		goto out;
	}
	ev->events++;
	if (ev->res.nhits || ev->unparseable) {
		bool builtin = unparseable_blocking(ev, &v);

		ev->fired += ev->res.nhits || builtin;
		ev->hits += ev->res.nhits + builtin;
		show_hits(ev, file, lineno, &v);
	}
out:
	json_decref(e);
}

static bool run_one(void *arg, uint64_t lineno, const char *p, size_t len, bool too_long)
{
	struct evrun *ev = arg;

	if (too_long)
		bad_event(ev, ev->file, lineno, "line longer than %u bytes", RULES_CLI_MAX_LINE);
	else
		run_line(ev, ev->file, lineno, p, len);
	return !ev->fatal;
}

/* Reads lines of at most RULES_CLI_MAX_LINE bytes. */
static int run_stream(struct evrun *ev, const char *name, FILE *f)
{
	ev->file = name;
	return cli_read_lines(f, RULES_CLI_MAX_LINE, run_one, ev);
}

static int do_test_events(struct rcmd *r, int nfiles, char **files)
{
	struct norm_options no = { 0 };
	struct evrun ev = { .r = r };
	int rc, status = CLI_OK;

	if (!r->set)
		return no_set(r);
	if (r->errors && !r->json)
		print_diags(r);
	/* Every file must be readable before anything runs. */
	for (int i = 0; i < nfiles; i++)
		if (strcmp(files[i], "-") && access(files[i], R_OK) < 0) {
			cli_error("cannot read '%s': %s", files[i], strerror(errno));
			return CLI_ERROR;
		}
	rules_result_init(&ev.res);
	snprintf(ev.policy, sizeof(ev.policy), "%s",
		 config_decisions_unparseable(r->conf ? config_tree(r->conf) : NULL));
	if ((rc = norm_ctx_new(&no, &ev.norm)) < 0 || (rc = pair_new(NULL, &ev.corr)) < 0 ||
	    (rc = rules_state_new(r->set, NULL, &ev.state)) < 0 ||
	    (r->json && !(ev.results = json_array()))) {
		cli_error("cannot set up: %s", strerror(rc < 0 ? -rc : ENOMEM));
		status = CLI_ERROR;
		goto out;
	}
	for (int i = 0; i < nfiles && !ev.fatal; i++) {
		bool is_stdin = !strcmp(files[i], "-");
		FILE *f = is_stdin ? stdin : fopen(files[i], "re");

		if (!f) {
			cli_error("cannot open '%s': %s", files[i], strerror(errno));
			status = CLI_ERROR;
			goto out;
		}
		rc = run_stream(&ev, is_stdin ? "<stdin>" : files[i], f);
		if (!is_stdin)
			fclose(f);
		if (rc < 0) {
			cli_error("cannot read '%s': %s", files[i], strerror(-rc));
			status = CLI_ERROR;
			goto out;
		}
	}
	if (ev.fatal) {
		cli_error("out of memory");
		status = CLI_ERROR;
		goto out;
	}
	if (r->json) {
		json_t *j =
			json_pack("{s:b, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:O, s:o}", "ok",
				  ev.bad == 0 && r->errors == 0, "events", (json_int_t)ev.events,
				  "fired", (json_int_t)ev.fired, "hits", (json_int_t)ev.hits,
				  "denied", (json_int_t)ev.blocks, "asked", (json_int_t)ev.asks,
				  "bad_lines", (json_int_t)ev.bad, "errors", (json_int_t)r->errors,
				  "results", ev.results, "diagnostics", all_diags_json(r));

		if (print_json(j) < 0)
			status = CLI_ERROR;
	} else {
		printf("%" PRIu64 " event%s, %" PRIu64 " fired %" PRIu64 " hit%s (%" PRIu64
		       " denied, %" PRIu64 " asked)%s\n",
		       ev.events, ev.events == 1 ? "" : "s", ev.fired, ev.hits,
		       ev.hits == 1 ? "" : "s", ev.blocks, ev.asks,
		       ev.bad ? ", bad lines skipped" : "");
	}
	if (status == CLI_OK && (ev.bad || r->errors))
		status = CLI_FAIL;
out:
	json_decref(ev.results);
	rules_result_release(&ev.res);
	rules_state_free(ev.state);
	pair_free(ev.corr);
	norm_ctx_free(ev.norm);
	return status;
}

/* ---- reload ------------------------------------------------------------------------------- */

/* The daemon's diagnostics: strings ("file:line:col: ...") or objects
 * {file, line, column, severity, message} (config problems). */
static void print_reply_diags(const json_t *a)
{
	const json_t *e;
	size_t i;

	json_array_foreach (a, i, e) {
		const char *file = json_string_value(json_object_get(e, "file"));
		const char *msg = json_string_value(json_object_get(e, "message"));

		if (json_is_string(e))
			fprintf(stderr, "%s\n", json_string_value(e));
		else if (file && msg && json_integer_value(json_object_get(e, "line")) > 0)
			fprintf(stderr,
				"%s:%" JSON_INTEGER_FORMAT ":%" JSON_INTEGER_FORMAT ": %s\n", file,
				json_integer_value(json_object_get(e, "line")),
				json_integer_value(json_object_get(e, "column")), msg);
		else if (msg)
			fprintf(stderr, "%s%s%s\n", file ? file : "", file ? ": " : "", msg);
	}
}

static int do_reload(struct rcmd *r)
{
	json_t *reply = NULL;
	const char *err;
	bool ok;
	int rc;

	if (cli_state(r->c) < 0)
		return CLI_ERROR;
	rc = cli_control_json(r->c, "{\"op\":\"rules.reload\"}", &reply);
	if (cli_control_denied(r->c, rc))
		return CLI_ERROR;
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		cli_error("vigild is not running for %s (start it with 'vigil up')",
			  r->c->state_dir);
		return CLI_ERROR;
	}
	if (rc < 0) {
		cli_error("the reload request failed: %s", strerror(-rc));
		return CLI_ERROR;
	}
	ok = json_is_true(json_object_get(reply, "ok"));
	if (r->json) {
		if (print_json(reply) < 0)
			return CLI_ERROR;
		return ok ? CLI_OK : CLI_FAIL;
	}
	print_reply_diags(json_object_get(reply, "errors"));
	print_reply_diags(json_object_get(reply, "warnings"));
	if (!ok) {
		err = json_string_value(json_object_get(reply, "error"));
		cli_error("%s", err ? err : "the reload failed; the running rules stay");
		json_decref(reply);
		return CLI_FAIL;
	}
	printf("rules reloaded: %" JSON_INTEGER_FORMAT " rules (%" JSON_INTEGER_FORMAT
	       " correlation)\n",
	       json_integer_value(json_object_get(reply, "rules")),
	       json_integer_value(json_object_get(reply, "correlation")));
	json_decref(reply);
	return CLI_OK;
}

/* ---- dispatch ------------------------------------------------------------------------------ */

/* Runs the subcommand on the loaded set; the exit status. */
static int run_sub(struct rcmd *r, int nargs, char **args)
{
	int rc = load_set(r);

	if (rc != 0) {
		if (r->json)
			print_json(json_pack("{s:b, s:o}", "ok", 0, "diagnostics",
					     all_diags_json(r)));
		return rc;
	}
	if (!strcmp(r->sub, "list"))
		return do_list(r);
	if (!strcmp(r->sub, "validate"))
		return do_validate(r);
	if (nargs)
		return do_test_events(r, nargs, args);
	return do_selftest(r);
}

int cmd_rules(struct cli *c, int argc, char **argv)
{
	struct rcmd r = { .c = c, .pack = CONFIG_PACK_AS_CONFIGURED, .agent = BASE_AGENT_DEFAULT };
	int rc;

	if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help")) {
		cli_help(&rules_cmd, argc < 2 ? stderr : stdout);
		return argc < 2 ? CLI_USAGE : CLI_OK;
	}
	r.sub = argv[1];
	if (strcmp(r.sub, "list") && strcmp(r.sub, "validate") && strcmp(r.sub, "test") &&
	    strcmp(r.sub, "reload"))
		return cli_usage_error("rules",
				       "unknown subcommand '%s' (list, validate, test, "
				       "reload)",
				       r.sub);
	argc--;
	argv++;
	if ((rc = cli_parse(c, &rules_cmd, &r, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if (c->config && !*c->config)
		return cli_usage_error("rules", "--config needs a file name");
	r.json = c->json;
	if (!strcmp(r.sub, "reload")) {
		if (argc > 0)
			return cli_usage_error("rules", "unexpected argument '%s'", argv[0]);
		return do_reload(&r);
	}
	if (!strcmp(r.sub, "validate")) {
		for (int i = 0; i < argc; i++)
			if ((rc = add_path(&r.paths, argv[i])) != 0)
				return rc;
		argc = 0;
	}
	if (argc > 0 && strcmp(r.sub, "test"))
		return cli_usage_error("rules", "unexpected argument '%s'", argv[0]);
	rc = run_sub(&r, argc, argv);
	rcmd_release(&r);
	return rc;
}
