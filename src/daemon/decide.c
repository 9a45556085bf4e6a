/*
 * decide.c - the daemon's rules: the rule set it runs (loaded at start,
 * swapped on reload only when the new one is valid), the evaluation of each
 * event, the decision for blocking hooks and the answer in the agent's own
 * hook protocol.
 *
 * The decision is written into the event itself ("decision"), so it is in
 * the ledger before the hook hears it: the hook's reply waits until the
 * event is durable.  A blocking hook's payload that cannot be parsed is
 * decided by the policy decisions.unparseable (mode "policy") and raises
 * the built-in alert vigil-unparseable-payload.
 */
#include "config.h"
#include "daemon.h"
#include "notify.h"
#include "rules.h"

#include <errno.h>
#include <string.h>

/* Room for a systemMessage: a reason and the session's pending alert lines. */
#define VD_REASON_MAX 2000

struct vd_ruleset {
	struct rules_set *set;
	struct rules_state *state;
};

static void ruleset_free(struct vd_ruleset *rs)
{
	if (!rs)
		return;
	rules_state_free(rs->state);
	rules_set_free(rs->set);
	vg_free(rs);
}

/* Every diagnostic of a set as JSON strings ("file:line:col: error: msg"). */
static json_t *diags_json(const struct rules_set *set, bool errors_only)
{
	json_t *a = json_array();
	char line[1024];

	for (size_t i = 0; a && i < rules_diag_count(set); i++) {
		const struct rules_diag *g = rules_diag_get(set, i);

		if (errors_only && g->severity != RULES_ERROR)
			continue;
		rules_diag_format(g, line, sizeof(line));
		json_array_append_new(a, json_string(line));
	}
	return a;
}

/* Builds the configured set.  conf may be NULL (defaults). */
static int ruleset_build(const json_t *conf, struct vd_ruleset **out)
{
	struct vd_ruleset *rs = vg_calloc(1, sizeof(*rs));
	int rc;

	*out = NULL;
	if (!rs)
		return -ENOMEM;
	rc = config_build_rules(conf, NULL, NULL, &rs->set);
	if (rc == 0)
		rc = rules_state_new(rs->set, NULL, &rs->state);
	if (rc < 0) {
		ruleset_free(rs);
		return rc;
	}
	*out = rs;
	return 0;
}

static void count_rules(const struct rules_set *set, size_t *n, size_t *corr)
{
	struct rules_info ri;

	*n = rules_count(set);
	*corr = 0;
	for (size_t i = 0; i < *n; i++)
		if (rules_get(set, i, &ri) == 0 && ri.kind == RULES_KIND_CORRELATION)
			(*corr)++;
}

int vd_rules_init(struct vd *d)
{
	struct vd_ruleset *rs;
	size_t n, corr, errs;
	int rc;

	rc = ruleset_build(d->cfg.conf, &rs);
	if (rc < 0)
		return rc;
	/* At start a bad rule does not keep the monitor down: the valid rules
	 * run, every problem is logged and `vigil status` counts them. */
	errs = rules_error_count(rs->set);
	for (size_t i = 0; i < rules_diag_count(rs->set); i++) {
		const struct rules_diag *g = rules_diag_get(rs->set, i);
		char line[1024];

		rules_diag_format(g, line, sizeof(line));
		if (g->severity == RULES_ERROR)
			vg_err("rules: %s", line);
		else
			vg_warn("rules: %s", line);
	}
	count_rules(rs->set, &n, &corr);
	vg_info("rules: %zu loaded (%zu correlation)%s", n, corr,
		errs ? "; rules with errors were left out" : "");
	d->rules = rs;
	d->rules_errors = errs;
	d->rules_loaded_ns = vg_now_ns();
	return 0;
}

void vd_rules_free(struct vd *d)
{
	ruleset_free(d->rules);
	d->rules = NULL;
}

json_t *vd_rules_reload(struct vd *d)
{
	struct config *cfg = NULL;
	struct config_diags cd;
	struct vd_ruleset *rs = NULL, *old;
	const json_t *conf = d->cfg.conf;
	json_t *reply = NULL;
	size_t n, corr;
	int rc;

	memset(&cd, 0, sizeof(cd));
	/* The config file is read again: overrides and rule paths live there. */
	if (d->cfg.config_path[0]) {
		rc = config_load(d->cfg.config_path, &cfg, &cd);
		if (rc < 0 || !cfg) {
			reply = json_pack("{s:b, s:s, s:o}", "ok", 0, "error",
					  "the config file has errors; the running rules stay",
					  "errors", config_diags_json(&cd));
			goto out;
		}
		conf = config_tree(cfg);
	}
	rc = ruleset_build(conf, &rs);
	if (rc < 0) {
		reply = json_pack("{s:b, s:s}", "ok", 0, "error", strerror(-rc));
		goto out;
	}
	if (rules_error_count(rs->set)) {
		reply = json_pack("{s:b, s:s, s:o}", "ok", 0, "error",
				  "the new rules have errors; the running rules stay", "errors",
				  diags_json(rs->set, false));
		vg_warn("rules reload refused: %zu errors", rules_error_count(rs->set));
		ruleset_free(rs);
		goto out;
	}
	count_rules(rs->set, &n, &corr);
	pthread_rwlock_wrlock(&d->rules_lock);
	old = d->rules;
	d->rules = rs;
	d->rules_errors = 0;
	d->rules_loaded_ns = vg_now_ns();
	d->rules_reloads++;
	if (cfg) {
		json_decref(d->cfg.conf);
		d->cfg.conf = config_tree_ref(cfg);
	}
	pthread_rwlock_unlock(&d->rules_lock);
	ruleset_free(old);
	vg_info("rules reloaded: %zu rules (%zu correlation); correlation windows start over",
		n, corr);
	reply = json_pack("{s:b, s:I, s:I, s:o}", "ok", 1, "rules", (json_int_t)n, "correlation",
			  (json_int_t)corr, "warnings", diags_json(rs->set, false));
out:
	config_free(cfg);
	config_diags_release(&cd);
	return reply;
}

json_t *vd_rules_status(struct vd *d)
{
	uint64_t events = 0, hits = 0, limits = 0;
	size_t n = 0, corr = 0, groups = 0;
	uint64_t evicted = 0;
	char when[40];
	json_t *j;

	pthread_rwlock_rdlock(&d->rules_lock);
	if (d->rules) {
		count_rules(d->rules->set, &n, &corr);
		rules_total_stats(d->rules->set, &events, &hits, &limits);
		rules_state_stats(d->rules->state, &groups, &evicted);
	}
	vg_format_time(d->rules_loaded_ns, when, sizeof(when));
	j = json_pack("{s:I, s:I, s:I, s:s, s:I, s:I, s:I, s:I, s:I, s:I}", "rules", (json_int_t)n,
		      "correlation", (json_int_t)corr, "errors", (json_int_t)d->rules_errors,
		      "loaded", when, "reloads", (json_int_t)d->rules_reloads, "events_evaluated",
		      (json_int_t)events, "hits", (json_int_t)hits, "regex_limit_hits",
		      (json_int_t)limits, "correlation_groups", (json_int_t)groups,
		      "correlation_groups_evicted", (json_int_t)evicted);
	pthread_rwlock_unlock(&d->rules_lock);
	return j;
}

/* ---- evaluation ------------------------------------------------------------------ */

static const char *const risk_names[] = { "info", "low", "medium", "high", "critical" };
static const int risk_scores[] = { 0, 25, 50, 75, 95 };

static int risk_index(const char *name)
{
	for (int i = 0; i < 5; i++)
		if (name && !strcmp(name, risk_names[i]))
			return i;
	return 0;
}

/* The event's risk becomes at least the level of the rules that matched. */
static void raise_risk(json_t *ev, const struct rules_hit *h)
{
	json_t *risk = json_object_get(ev, "risk"), *reasons;
	int have, want = (int)h->level;
	char tag[300];

	if (!json_is_object(risk)) {
		risk = json_pack("{s:s, s:i, s:[]}", "level", "info", "score", 0, "reasons");
		if (!risk || json_object_set_new(ev, "risk", risk) < 0)
			return;
	}
	have = risk_index(json_string_value(json_object_get(risk, "level")));
	if (want > have) {
		json_object_set_new(risk, "level", json_string(risk_names[want]));
		if (json_integer_value(json_object_get(risk, "score")) < risk_scores[want])
			json_object_set_new(risk, "score", json_integer(risk_scores[want]));
	}
	reasons = json_object_get(risk, "reasons");
	snprintf(tag, sizeof(tag), "rule:%s", h->name ? h->name : h->rule_id);
	if (json_is_array(reasons))
		json_array_append_new(reasons, json_string(tag));
}

static const char *decision_name(enum rules_action a)
{
	return a == RULES_ACTION_BLOCK ? "deny" : a == RULES_ACTION_ASK ? "ask" : "allow";
}

/*
 * The reason an agent and its user read: which rule, what matched, and what
 * to do.  Claude Code shows it in the transcript and feeds it to the model.
 * The rule's full explanation (selections, patterns) stays in the event's
 * detections; here only the first matched value is quoted.
 */
static void format_reason(const struct rules_hit *h, enum rules_action a, char *out, size_t cap)
{
	const char *m = strstr(h->why, "matched \"");
	char what[300] = "";

	if (m) {
		const char *v = m + 9, *e = v;

		/* The value ends at the first unescaped quote. */
		while (*e && *e != '"')
			e += (*e == '\\' && e[1]) ? 2 : 1;
		snprintf(what, sizeof(what), " It matched \"%.*s\".", (int)(e - v > 200 ? 200 : e - v),
			 v);
	}
	snprintf(out, cap, "%s by vigil: %s (rule %s, %s).%s %s",
		 a == RULES_ACTION_BLOCK ? "Blocked" : "Needs confirmation", h->title,
		 h->name ? h->name : h->rule_id, rules_level_name(h->level), what,
		 a == RULES_ACTION_BLOCK
			 ? "Do not try to work around this; ask the user if it is really needed."
			 : "The user must confirm it.");
}

/*
 * Records a detection of one of vigild's built-in rules (not in the rule
 * set: h->rule is SIZE_MAX) on ev: its alert, the detection entry and the
 * risk.  The rules lock is not needed (no rule index is looked up).
 */
static void builtin_alert(struct vd *d, json_t *ev, const struct rules_hit *h,
			  struct vd_verdict *v)
{
	char alert_id[37] = "";
	json_t *dets = json_object_get(ev, "detections"), *o;

	vd_alerts_match(d, h, ev, alert_id, v);
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "rule_id", h->rule_id, "name", h->name,
		      "title", h->title, "level", rules_level_name(h->level), "action",
		      rules_action_name(h->action), "kind", "detection", "why", h->why);
	if (o && alert_id[0])
		json_object_set_new(o, "alert_id", json_string(alert_id));
	if (!o)
		return;
	if (!json_is_array(dets)) {
		dets = json_array();
		if (!dets || json_object_set_new(ev, "detections", dets) < 0) {
			json_decref(dets);
			json_decref(o);
			return;
		}
	}
	json_array_append_new(dets, o);
	raise_risk(ev, h);
}

/* A hit of a built-in rule: level high, a detection. */
static void builtin_hit(struct rules_hit *h, const char *id, const char *title,
			enum rules_action a)
{
	memset(h, 0, sizeof(*h));
	h->rule = SIZE_MAX;
	h->rule_id = h->name = id;
	h->title = title;
	h->level = RULES_LEVEL_HIGH;
	h->action = a;
	h->kind = RULES_KIND_DETECTION;
}

/*
 * A blocking hook that did not get vigild's answer in time applied its
 * failure mode, or got the answer but could not see it made durable: either
 * way vigild was not there for it, and that is an alert of its own (one per
 * session while open), raised once the daemon hears of it.  why says which.
 */
static void outage_alert(struct vd *d, json_t *ev, struct vd_verdict *v, const char *why)
{
	struct rules_hit h;

	builtin_hit(&h, "vigil-daemon-unavailable", "vigild was not there for a blocking hook",
		    RULES_ACTION_ALERT);
	snprintf(h.why, sizeof(h.why), "%.*s", (int)sizeof(h.why) - 1, why);
	builtin_alert(d, ev, &h, v);
}

/*
 * A blocking hook's payload vigil could not parse (norm_hook_event's
 * "invalid" record): no rule can judge what the agent is about to do, so
 * the policy decisions.unparseable decides (deny by default) unless a rule
 * decided something stronger, and the built-in alert is raised whatever
 * the policy.  (A spooled event's decision is then replaced by what the
 * hook applied: vd_decision_spooled.)
 */
static void unparseable_decide(struct vd *d, json_t *ev, const char *policy, struct vd_verdict *v)
{
	enum rules_action a = !strcmp(policy, "allow") ? RULES_ACTION_ALERT
			      : !strcmp(policy, "ask") ? RULES_ACTION_ASK
						       : RULES_ACTION_BLOCK;
	const char *err = json_string_value(json_object_get(ev, "error"));
	struct rules_hit h;

	builtin_hit(&h, NORM_UNPARSEABLE_RULE, NORM_UNPARSEABLE_TITLE, a);
	snprintf(h.why, sizeof(h.why), "the payload could not be parsed (%.400s); %s is %s",
		 err ? err : "no reason given", NORM_UNPARSEABLE_POLICY_KEY, policy);
	if (a >= v->action) {
		v->action = a;
		v->mode = "policy";
		snprintf(v->rule_id, sizeof(v->rule_id), "%s", h.rule_id);
		snprintf(v->rule_name, sizeof(v->rule_name), "%s", h.name);
		snprintf(v->rule_title, sizeof(v->rule_title), "%s", h.title);
		snprintf(v->decision, sizeof(v->decision), "%s", decision_name(a));
		norm_unparseable_reason(ev, policy, v->reason, sizeof(v->reason));
	}
	builtin_alert(d, ev, &h, v);
}

static enum rules_action action_of(const char *name)
{
	if (!strcmp(name, "deny"))
		return RULES_ACTION_BLOCK;
	if (!strcmp(name, "ask"))
		return RULES_ACTION_ASK;
	return RULES_ACTION_ALERT;
}

/* The "decision" object of a blocking event, from v (replacing one set
 * before).  delivered: false when the agent did not get vigild's answer. */
static int decision_set(json_t *ev, struct vd_verdict *v)
{
	json_t *o;

	snprintf(v->decision, sizeof(v->decision), "%s", decision_name(v->action));
	o = json_pack("{s:s, s:s}", "action", v->decision, "mode", v->mode);
	if (!o)
		return -ENOMEM;
	if (v->rule_id[0]) {
		json_object_set_new(o, "rule_id", json_string(v->rule_id));
		if (v->rule_name[0])
			json_object_set_new(o, "rule_name", json_string(v->rule_name));
		json_object_set_new(o, "rule_title", json_string(v->rule_title));
	}
	if (v->reason[0])
		json_object_set_new(o, "reason", json_string(v->reason));
	if (v->outage)
		json_object_set_new(o, "delivered", json_boolean(!strcmp(v->mode, "rules")));
	return json_object_set_new(ev, "decision", o) < 0 ? -ENOMEM : 0;
}

/* The hook applied its failure mode (flags say which): the record says so,
 * and keeps what the rules would have decided in the reason. */
static void apply_failure_mode(struct vd_verdict *v, unsigned flags, const char *by,
			       const char *what)
{
	char had[600] = "";

	if (v->action != RULES_ACTION_ALERT && v->rule_id[0])
		snprintf(had, sizeof(had), "; the rules would have answered %s (rule %s)",
			 decision_name(v->action), v->rule_name[0] ? v->rule_name : v->rule_id);
	v->mode = by ? by : (flags & WIRE_F_FAIL_CLOSED) ? "fail-closed" : "fail-open";
	v->action = !strcmp(v->mode, "fail-closed") ? RULES_ACTION_BLOCK : RULES_ACTION_ALERT;
	snprintf(v->reason, sizeof(v->reason), "%s; the hook applied its %s mode%s", what,
		 v->mode, had);
	v->rule_id[0] = v->rule_name[0] = v->rule_title[0] = '\0';
	v->outage = true;
}

int vd_decision_undelivered(struct vd *d, json_t *ev, unsigned flags, struct vd_verdict *v)
{
	char why[sizeof(v->reason)];

	if (!v->blocking)
		return 0;
	apply_failure_mode(v, flags, NULL, "vigild's answer reached the hook after its deadline");
	memcpy(why, v->reason, sizeof(why));
	outage_alert(d, ev, v, why);
	return decision_set(ev, v);
}

void vd_decision_ledger_failing(struct vd *d, json_t *ev, int err, struct vd_verdict *v)
{
	char why[400];

	if (!v->blocking)
		return;
	snprintf(why, sizeof(why),
		 "vigild cannot write its ledger (%s): its answers still apply, the events wait "
		 "in memory and in the hooks' spool until it can",
		 strerror(-err));
	outage_alert(d, ev, v, why);
}

int vd_decision_spooled(struct vd *d, json_t *ev, const struct wire_envelope *env, unsigned flags,
			struct vd_verdict *v)
{
	const char *reason = env->spool_reason[0] ? env->spool_reason : "unknown";
	char what[200], why[900];

	if (!v->blocking)
		return 0;
	snprintf(what, sizeof(what), "the event reached vigild through the spool (%s)", reason);
	if (!strcmp(env->applied_by, "rules") && env->applied[0]) {
		/* The agent got vigild's answer; only its durability failed.
		 * The rules ran again now: their details stand when they agree
		 * with what was applied, else only the applied action is known. */
		enum rules_action a = action_of(env->applied);

		if (a != v->action || (a != RULES_ACTION_ALERT && !v->rule_id[0])) {
			v->action = a;
			v->rule_id[0] = v->rule_name[0] = v->rule_title[0] = '\0';
			snprintf(v->reason, sizeof(v->reason),
				 "vigild answered %s before the event was durable; %s",
				 decision_name(a), what);
		}
		v->mode = "rules";
		v->outage = true;
		snprintf(why, sizeof(why),
			 "vigild answered %s but did not make the event durable in time (%s)",
			 decision_name(a), reason);
	} else {
		/* applied_by fail-open / fail-closed, or an older hook that
		 * does not say: then the flags tell its failure mode. */
		apply_failure_mode(v, flags, env->applied_by[0] ? env->applied_by : NULL, what);
		snprintf(why, sizeof(why),
			 "vigild was %s; the hook let the action %s (%s) without vigild's answer",
			 !strcmp(reason, "unreachable") ? "unreachable"
			 : !strcmp(reason, "failed")	  ? "unable to record events"
							  : "late",
			 !strcmp(v->mode, "fail-closed") ? "be blocked" : "run", v->mode);
	}
	outage_alert(d, ev, v, why);
	return decision_set(ev, v);
}

int vd_rules_info(struct vd *d, size_t i, struct rules_info *out)
{
	return d->rules ? rules_get(d->rules->set, i, out) : -ENOENT;
}

int vd_decide(struct vd *d, json_t *ev, unsigned kind, unsigned flags, bool from_spool,
	      struct rules_result *rr, struct vd_verdict *v)
{
	const char *hook = json_string_value(json_object_get(ev, "hook"));
	const char *type = json_string_value(json_object_get(ev, "event_type"));
	bool unparseable = type && !strcmp(type, "invalid");
	uint64_t t = vg_now_ns();
	json_t *dets = NULL;
	char policy[8] = "deny";
	int rc = 0;

	v->blocking = kind == WIRE_DECIDE || rules_hook_blocking(hook);
	v->action = RULES_ACTION_ALERT;
	v->mode = "rules";

	pthread_rwlock_rdlock(&d->rules_lock);
	/* The config is swapped under this lock (vd_rules_reload). */
	snprintf(policy, sizeof(policy), "%s", config_decisions_unparseable(d->cfg.conf));
	if (d->rules) {
		rc = rules_eval(d->rules->set, d->rules->state, ev, t, rr);
		if (rc < 0)
			vg_warn("rules: cannot evaluate an event: %s", strerror(-rc));
	}
	if (rc == 0 && d->rules && rr->nhits && v->blocking && !rr->blocking) {
		/* A hook installed with --decide whose name the engine does not
		 * know as blocking (Gemini CLI's BeforeTool, Codex's): the
		 * strongest action decides, the highest level breaking ties, as
		 * rules_eval does for Claude Code's hook names. */
		rr->action = RULES_ACTION_ALERT;
		rr->action_hit = -1;
		for (size_t k = 0; k < rr->nhits; k++) {
			const struct rules_hit *h = &rr->hits[k];

			if (h->action == RULES_ACTION_ALERT)
				continue;
			if (rr->action_hit < 0 || h->action > rr->action ||
			    (h->action == rr->action && h->level > rr->hits[rr->action_hit].level)) {
				rr->action = h->action;
				rr->action_hit = (long)k;
			}
		}
	}
	if (rc == 0 && d->rules && rr->nhits) {
		/* The decision first: the alert of the deciding rule records it. */
		if (v->blocking && rr->action_hit >= 0 && rr->action != RULES_ACTION_ALERT) {
			const struct rules_hit *h = &rr->hits[rr->action_hit];

			v->action = rr->action;
			snprintf(v->rule_id, sizeof(v->rule_id), "%s", h->rule_id);
			snprintf(v->rule_name, sizeof(v->rule_name), "%s", h->name ? h->name : "");
			snprintf(v->rule_title, sizeof(v->rule_title), "%s", h->title);
			snprintf(v->decision, sizeof(v->decision), "%s", decision_name(v->action));
			format_reason(h, rr->action, v->reason, sizeof(v->reason));
		}
		dets = json_array();
		for (size_t i = 0; dets && i < rr->nhits; i++) {
			const struct rules_hit *h = &rr->hits[i];
			char alert_id[37] = "";
			json_t *o;

			vd_alerts_match(d, h, ev, alert_id, v);
			o = json_pack("{s:s, s:s, s:s, s:s, s:s}", "rule_id", h->rule_id, "title",
				      h->title, "level", rules_level_name(h->level), "action",
				      rules_action_name(h->action), "kind", rules_kind_name(h->kind));
			if (!o)
				continue;
			if (h->name)
				json_object_set_new(o, "name", json_string(h->name));
			if (alert_id[0])
				json_object_set_new(o, "alert_id", json_string(alert_id));
			if (h->kind == RULES_KIND_CORRELATION) {
				json_object_set_new(o, "group", json_string(h->group));
				json_object_set_new(o, "count", json_integer((json_int_t)h->count));
			}
			json_object_set_new(o, "why", json_string(h->why));
			json_array_append_new(dets, o);
			raise_risk(ev, h);
		}
	}
	pthread_rwlock_unlock(&d->rules_lock);
	if (dets && json_object_set_new(ev, "detections", dets) < 0)
		return -ENOMEM;

	if (!v->blocking)
		return 0;
	if (unparseable)
		unparseable_decide(d, ev, policy, v);
	return decision_set(ev, v);
}

/* ---- the answer in the agent's protocol ----------------------------------------- */

/*
 * Claude Code reads JSON on stdout (exit 0): PreToolUse takes
 * hookSpecificOutput.permissionDecision deny|ask with a reason,
 * UserPromptSubmit a top-level decision "block", PermissionRequest
 * hookSpecificOutput.decision.behavior "deny".  Agents without that
 * protocol (and the cases it cannot express) get exit 2 with the reason on
 * stderr, which Claude Code, Codex and Gemini CLI all read as "blocked".
 * An "ask" the agent cannot ask becomes a deny that says confirmation is
 * needed: refusing is the safe reading of "not without the user".
 */
void vd_answer(struct vd *d, const json_t *ev, const struct vd_verdict *v, struct vd_answer *ans)
{
	const char *agent = json_string_value(json_object_get(ev, "agent"));
	const char *hook = json_string_value(json_object_get(ev, "hook"));
	const char *sid = json_string_value(json_object_get(ev, "session_id"));
	bool claude = agent && !strcmp(agent, "claude-code");
	char *msg = NULL;
	json_t *o = NULL;

	memset(ans, 0, sizeof(*ans));
	if (v->blocking)
		ans->decision = v->action == RULES_ACTION_BLOCK ? WIRE_DEC_DENY
				: v->action == RULES_ACTION_ASK ? WIRE_DEC_ASK
								: WIRE_DEC_ALLOW;
	if (d->notify && sid && claude)
		msg = notify_session_take(d->notify, sid);
	if (!hook)
		hook = "";
	if (v->blocking && v->action != RULES_ACTION_ALERT && !v->outage) {
		bool deny = v->action == RULES_ACTION_BLOCK;

		if (claude && !strcmp(hook, "PreToolUse")) {
			o = json_pack("{s:{s:s, s:s, s:s}}", "hookSpecificOutput", "hookEventName",
				      "PreToolUse", "permissionDecision", deny ? "deny" : "ask",
				      "permissionDecisionReason", v->reason);
		} else if (claude && !strcmp(hook, "PermissionRequest")) {
			/* "ask" is what a permission request already does. */
			if (deny)
				o = json_pack("{s:{s:s, s:{s:s, s:s}}}", "hookSpecificOutput",
					      "hookEventName", "PermissionRequest", "decision",
					      "behavior", "deny", "message", v->reason);
		} else if (claude && !strcmp(hook, "UserPromptSubmit")) {
			/* A prompt cannot be "asked" about: the user just typed it;
			 * an ask rule shows its reason instead. */
			if (deny)
				o = json_pack("{s:s, s:s}", "decision", "block", "reason", v->reason);
			else
				o = json_pack("{s:s}", "systemMessage", v->reason);
		} else {
			size_t n = strlen(v->reason);

			ans->exit_code = 2;
			ans->err = vg_malloc(n + 2);
			if (ans->err) {
				memcpy(ans->err, v->reason, n);
				ans->err[n] = '\n';
				ans->err_len = n + 1;
			}
		}
	}
	if (msg) {
		/* Alerts routed to the session reach its user on the next answer. */
		if (!o)
			o = json_object();
		if (o) {
			const char *had = json_string_value(json_object_get(o, "systemMessage"));
			char buf[VD_REASON_MAX * 2];

			if (had)
				snprintf(buf, sizeof(buf), "%s\n%s", had, msg);
			else
				snprintf(buf, sizeof(buf), "%s", msg);
			json_object_set_new(o, "systemMessage", json_string(buf));
		}
		vg_free(msg);
	}
	if (o)
		ans->out = vd_json_take(o, JSON_COMPACT, &ans->out_len);
}
