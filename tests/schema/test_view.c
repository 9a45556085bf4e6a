/*
 * test_view.c - struct ev_view (src/schema): every field from a full event,
 * absent and wrongly typed fields, older records' forms, and every member
 * checked against the real events of the recorded session.
 *
 * The real events (FIXTURE, tests/data/claude-code-2.1.197/
 * session-rich.events.jsonl) are what vigild recorded for the session's hook
 * payloads (session-rich.hooks.jsonl) with the default rules: decisions,
 * detections, alert records (one acknowledged with a note, one resolved),
 * file changes, subagents and one event drained from the spool; exported
 * with `vigil events --json` without "seq", host and user renamed.
 *
 * The members are checked against a second reading of the event written
 * here with the names spelled out, not with schema.h's EVF_ names, so a
 * misspelt name in schema.h fails here.
 */
#include "schema.h"
#include "tap.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>

static int same(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void full_event(void)
{
	json_error_t jerr;
	json_t *ev = json_loads(
		"{\"id\":\"0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b\",\"time\":\"2026-12-07T12:00:00.000Z\","
		"\"host\":\"h\",\"user\":\"u\",\"agent\":\"claude-code\",\"agent_version\":\"2.1.197\","
		"\"session_id\":\"s1\",\"agent_id\":\"a1\",\"parent_agent_id\":\"a0\","
		"\"parent_tool_use_id\":\"tu0\",\"agent_type\":\"general-purpose\",\"prompt_id\":\"p1\","
		"\"tool_use_id\":\"tu1\",\"hook\":\"PreToolUse\",\"event_type\":\"command_execution\","
		"\"tool\":\"Bash\",\"target\":\"ls\",\"cwd\":\"/w\",\"permission_mode\":\"default\","
		"\"outcome\":\"success\",\"error\":\"e\",\"pre_id\":\"pid\",\"duration_ms\":42,"
		"\"outside_project_scope\":false,\"spooled\":true,\"unpaired\":true,"
		"\"project\":{\"root\":\"/w\",\"name\":\"w\"},\"risk\":{\"level\":\"high\"},"
		"\"decision\":{\"action\":\"deny\",\"mode\":\"rules\",\"rule_id\":\"r-id\",\"rule_name\":\"r\"},"
		"\"detections\":[{}],\"payload\":{\"model\":\"m\"},\"payload_sha256\":\"ab\","
		"\"schema\":\"vigil.event.v1\",\"usage\":{},\"file_change\":{},\"process\":{},\"peer\":{}}",
		0, &jerr);
	struct ev_view v;

	TAP_OK(ev != NULL, "the test event parses");
	ev_view_fill(ev, &v);
	TAP_OK(v.root == ev && same(v.id, "0190a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b") &&
		       same(v.time, "2026-12-07T12:00:00.000Z") && same(v.host, "h") &&
		       same(v.user, "u") && same(v.agent, "claude-code") &&
		       same(v.agent_version, "2.1.197"),
	       "identity fields");
	TAP_OK(same(v.session_id, "s1") && same(v.agent_id, "a1") && same(v.parent_agent_id, "a0") &&
		       same(v.parent_tool_use_id, "tu0") && same(v.agent_type, "general-purpose") &&
		       same(v.prompt_id, "p1") && same(v.tool_use_id, "tu1"),
	       "session and agent tree");
	TAP_OK(same(v.hook, "PreToolUse") && same(v.event_type, "command_execution") &&
		       same(v.tool, "Bash") && same(v.target, "ls") && same(v.cwd, "/w") &&
		       same(v.permission_mode, "default") && same(v.outcome, "success") &&
		       same(v.error, "e") && same(v.pre_id, "pid") && v.duration_ms == 42,
	       "what happened");
	TAP_OK(v.outside_scope == 0 && v.spooled == 1 && v.unpaired == 1, "booleans");
	TAP_OK(same(v.project_root, "/w") && same(v.project_name, "w") &&
		       same(v.risk_level, "high"),
	       "project and risk");
	TAP_OK(same(v.decision_action, "deny") && same(v.decision_mode, "rules") &&
		       same(v.decision_rule, "r"),
	       "the decision, named by the rule's name");
	TAP_OK(v.detections && v.payload && v.usage && v.file_change && v.process && v.peer &&
		       same(v.payload_sha256, "ab") && same(v.schema, EV_SCHEMA_V1) && !v.model,
	       "parts; the model of the payload is not the event's");
	json_decref(ev);
}

static void odd_events(void)
{
	struct ev_view v;
	json_t *ev;

	ev_view_fill(NULL, &v);
	TAP_OK(!v.root && !v.id && v.duration_ms == -1 && v.outside_scope == -1,
	       "NULL gives an empty view");
	ev = json_string("x");
	ev_view_fill(ev, &v);
	TAP_OK(!v.root && !v.hook, "a non-object gives an empty view");
	json_decref(ev);

	ev = json_pack("{s:i, s:[], s:s, s:s, s:{s:s}, s:f, s:s, s:{s:s}}", "id", 7, "hook",
		       "risk", "critical", "decision", "deny", "project", "root", "/p", "duration_ms",
		       12.0, "detections", "not-a-list", "decision_x", "y", "z");
	ev_view_fill(ev, &v);
	TAP_OK(!v.id && !v.hook, "fields of the wrong type read as absent");
	TAP_OK(same(v.risk_level, "critical") && !v.risk, "a bare risk level (older records)");
	TAP_OK(same(v.decision_action, "deny") && !v.decision && !v.decision_rule,
	       "a bare decision (older records)");
	TAP_OK(v.duration_ms == 12 && !v.detections && same(v.project_root, "/p"),
	       "a real duration; detections that are not a list are absent");
	json_decref(ev);

	ev = json_pack("{s:{s:s}, s:f}", "risk", "severity", "low", "duration_ms", -3.0);
	ev_view_fill(ev, &v);
	TAP_OK(same(v.risk_level, "low") && v.duration_ms == -1,
	       "risk.severity of older records; a negative real duration is unknown");
	json_decref(ev);
}

/* ---- every member against a second reading ------------------------------------- */

enum mkind {
	MK_STR,	  /* const char *: the string, else NULL */
	MK_OBJ,	  /* json_t *: the object, else NULL */
	MK_ARR,	  /* json_t *: the array, else NULL */
	MK_INT,	  /* int64_t: an integer or a sane real, else -1 */
	MK_BOOL3, /* int: 1, 0, else -1 */
	MK_TRUE,  /* int: 1 when true, else 0 */
};

struct member {
	const char *parent; /* the object the field is in; NULL: the event */
	const char *name;
	enum mkind kind;
	size_t off;
	const char *label;
};

#define M(par, name, kind, field)                                        \
	{                                                                \
		par, name, kind, offsetof(struct ev_view, field), #field \
	}
static const struct member members[] = {
	M(NULL, "id", MK_STR, id),
	M(NULL, "time", MK_STR, time),
	M(NULL, "host", MK_STR, host),
	M(NULL, "user", MK_STR, user),
	M(NULL, "agent", MK_STR, agent),
	M(NULL, "agent_version", MK_STR, agent_version),
	M(NULL, "session_id", MK_STR, session_id),
	M(NULL, "agent_id", MK_STR, agent_id),
	M(NULL, "parent_agent_id", MK_STR, parent_agent_id),
	M(NULL, "parent_tool_use_id", MK_STR, parent_tool_use_id),
	M(NULL, "agent_type", MK_STR, agent_type),
	M(NULL, "prompt_id", MK_STR, prompt_id),
	M(NULL, "tool_use_id", MK_STR, tool_use_id),
	M(NULL, "hook", MK_STR, hook),
	M(NULL, "event_type", MK_STR, event_type),
	M(NULL, "tool", MK_STR, tool),
	M(NULL, "mcp_server", MK_STR, mcp_server),
	M(NULL, "mcp_tool", MK_STR, mcp_tool),
	M(NULL, "target", MK_STR, target),
	M(NULL, "cwd", MK_STR, cwd),
	M(NULL, "permission_mode", MK_STR, permission_mode),
	M(NULL, "outcome", MK_STR, outcome),
	M(NULL, "error", MK_STR, error),
	M(NULL, "pre_id", MK_STR, pre_id),
	M(NULL, "model", MK_STR, model),
	M(NULL, "payload_sha256", MK_STR, payload_sha256),
	M(NULL, "schema", MK_STR, schema),
	M(NULL, "duration_ms", MK_INT, duration_ms),
	M(NULL, "outside_project_scope", MK_BOOL3, outside_scope),
	M(NULL, "spooled", MK_TRUE, spooled),
	M(NULL, "unpaired", MK_TRUE, unpaired),
	M(NULL, "project", MK_OBJ, project),
	M(NULL, "payload", MK_OBJ, payload),
	M(NULL, "usage", MK_OBJ, usage),
	M(NULL, "file_change", MK_OBJ, file_change),
	M(NULL, "risk", MK_OBJ, risk),
	M(NULL, "decision", MK_OBJ, decision),
	M(NULL, "detections", MK_ARR, detections),
	M(NULL, "process", MK_OBJ, process),
	M(NULL, "peer", MK_OBJ, peer),
	M(NULL, "alert", MK_OBJ, alert.obj),
	M("project", "root", MK_STR, project_root),
	M("project", "name", MK_STR, project_name),
	M("decision", "mode", MK_STR, decision_mode),
	M("alert", "id", MK_STR, alert.id),
	M("alert", "update", MK_STR, alert.update),
	M("alert", "state", MK_STR, alert.state),
	M("alert", "rule_id", MK_STR, alert.rule_id),
	M("alert", "rule_name", MK_STR, alert.rule_name),
	M("alert", "rule_title", MK_STR, alert.rule_title),
	M("alert", "rule_kind", MK_STR, alert.rule_kind),
	M("alert", "level", MK_STR, alert.level),
	M("alert", "action", MK_STR, alert.action),
	M("alert", "decision", MK_STR, alert.decision),
	M("alert", "session_id", MK_STR, alert.session_id),
	M("alert", "agent", MK_STR, alert.agent),
	M("alert", "project", MK_STR, alert.project),
	M("alert", "first_seen", MK_STR, alert.first_seen),
	M("alert", "last_seen", MK_STR, alert.last_seen),
	M("alert", "reason", MK_STR, alert.reason),
	M("alert", "by", MK_STR, alert.by),
	M("alert", "note", MK_STR, alert.note),
	M("alert", "tags", MK_ARR, alert.tags),
	M("alert", "event_ids", MK_ARR, alert.event_ids),
	M("alert", "count", MK_INT, alert.count),
};
#undef M
#define NMEMBERS (sizeof(members) / sizeof(members[0]))

/* The members read from two fields, by the rules schema.h states for them. */
#define NDERIVED 3

static const json_t *field_of(const json_t *ev, const struct member *m)
{
	const json_t *o = m->parent ? json_object_get(ev, m->parent) : ev;

	return json_is_object(o) ? json_object_get(o, m->name) : NULL;
}

/* What the member must hold for ev, as a pointer or a number. */
static void expected(const json_t *ev, const struct member *m, const void **p, int64_t *n)
{
	const json_t *x = field_of(ev, m);

	*p = NULL;
	*n = -1;
	switch (m->kind) {
	case MK_STR:
		*p = json_is_string(x) ? json_string_value(x) : NULL;
		break;
	case MK_OBJ:
		*p = json_is_object(x) ? x : NULL;
		break;
	case MK_ARR:
		*p = json_is_array(x) ? x : NULL;
		break;
	case MK_INT:
		if (json_is_integer(x))
			*n = json_integer_value(x);
		else if (json_is_real(x) && json_real_value(x) >= 0 && json_real_value(x) < 9e18)
			*n = (int64_t)json_real_value(x);
		break;
	case MK_BOOL3:
		*n = json_is_boolean(x) ? json_is_true(x) : -1;
		break;
	case MK_TRUE:
		*n = json_is_true(x);
		break;
	}
}

static bool member_ok(const struct ev_view *v, const json_t *ev, const struct member *m)
{
	const char *at = (const char *)v + m->off;
	const void *p;
	int64_t n;

	expected(ev, m, &p, &n);
	switch (m->kind) {
	case MK_STR:
		return *(const char *const *)(const void *)at == p;
	case MK_OBJ:
	case MK_ARR:
		return *(json_t *const *)(const void *)at == p;
	case MK_INT:
		return *(const int64_t *)(const void *)at == n;
	default:
		return *(const int *)(const void *)at == n;
	}
}

/* Whether ev holds the member's field in a form the view reads. */
static bool present(const json_t *ev, const struct member *m)
{
	const void *p;
	int64_t n;

	expected(ev, m, &p, &n);
	return m->kind <= MK_ARR ? p != NULL : m->kind == MK_TRUE ? n == 1 : n >= 0;
}

static const char *sget(const json_t *o, const char *k)
{
	const json_t *x = json_object_get(o, k);

	return json_is_string(x) ? json_string_value(x) : NULL;
}

/* risk_level, decision_action, decision_rule; bit i set: derived member i held. */
static bool derived_ok(const struct ev_view *v, const json_t *ev, unsigned *held)
{
	const json_t *risk = json_object_get(ev, "risk"), *dec = json_object_get(ev, "decision");
	const char *level = json_is_string(risk) ? json_string_value(risk) : sget(risk, "level");
	const char *action = json_is_object(dec) ? sget(dec, "action") : sget(ev, "decision");
	const char *rule = sget(dec, "rule_name");

	if (!level && json_is_object(risk))
		level = sget(risk, "severity");
	if (!rule)
		rule = sget(dec, "rule_id");
	*held |= (level ? 1u : 0) | (action ? 2u : 0) | (rule ? 4u : 0);
	return v->risk_level == level && v->decision_action == action && v->decision_rule == rule;
}

/* Fills a view of ev and checks every member; counts those present. */
static size_t check_all(const json_t *ev, size_t *seen, unsigned *held, const char **bad)
{
	struct ev_view v;
	size_t wrong = 0;

	ev_view_fill(ev, &v);
	for (size_t i = 0; i < NMEMBERS; i++) {
		if (!member_ok(&v, ev, &members[i])) {
			wrong++;
			*bad = members[i].label;
		}
		if (seen && present(ev, &members[i]))
			seen[i]++;
	}
	if (!derived_ok(&v, ev, held)) {
		wrong++;
		*bad = "risk_level, decision_action or decision_rule";
	}
	if (v.root != ev) {
		wrong++;
		*bad = "root";
	}
	return wrong;
}

/* A value of another type than the field's. */
static json_t *wrong_type(enum mkind k)
{
	switch (k) {
	case MK_STR:
		return json_integer(7);
	case MK_OBJ:
		return json_array();
	case MK_ARR:
		return json_object();
	case MK_INT:
		return json_string("12");
	case MK_BOOL3:
		return json_string("true");
	default:
		return json_integer(1);
	}
}

/* Each member's field removed, then of the wrong type, in a copy of ev: the
 * member reads as absent and the other members are still read right. */
static size_t mutate_all(const json_t *ev, size_t *tried, const char **bad)
{
	size_t wrong = 0;
	unsigned held = 0;

	for (size_t i = 0; i < NMEMBERS; i++) {
		const struct member *m = &members[i];

		if (!field_of(ev, m))
			continue;
		for (int round = 0; round < 2; round++) {
			json_t *c = json_deep_copy(ev);
			json_t *o = m->parent ? json_object_get(c, m->parent) : c;

			if (round == 0)
				json_object_del(o, m->name);
			else
				json_object_set_new(o, m->name, wrong_type(m->kind));
			if (present(c, m) || check_all(c, NULL, &held, bad)) {
				wrong++;
				*bad = m->label;
			}
			(*tried)++;
			json_decref(c);
		}
	}
	return wrong;
}

static void real_events(const char *path)
{
	size_t seen[NMEMBERS] = { 0 }, nev = 0, wrong = 0, mwrong = 0, tried = 0, missing = 0;
	const char *bad = "", *mbad = "";
	unsigned held = 0;
	char line[65536];
	FILE *f = fopen(path, "r");

	TAP_OK(f != NULL, "the real events open (%s)", path);
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		json_error_t jerr;
		json_t *ev = json_loads(line, 0, &jerr);

		if (!json_is_object(ev)) {
			printf("# line %zu: %s\n", nev + 1, jerr.text);
			wrong++;
			json_decref(ev);
			continue;
		}
		nev++;
		wrong += check_all(ev, seen, &held, &bad);
		mwrong += mutate_all(ev, &tried, &mbad);
		json_decref(ev);
	}
	fclose(f);
	TAP_OK(nev >= 30 && wrong == 0,
	       "%zu real events: every member reads its field (%zu wrong, last: %s)", nev, wrong,
	       bad);
	TAP_OK(tried > 1000 && mwrong == 0,
	       "%zu copies with one field removed or of another type: that member is absent, "
	       "the others still right (%zu wrong, last: %s)",
	       tried, mwrong, mbad);
	for (size_t i = 0; i < NMEMBERS; i++)
		if (!seen[i]) {
			missing++;
			printf("# not in the recorded session: %s\n", members[i].label);
		}
	/* What a recorded Claude Code session has no use for (MCP tools, nested
	 * subagents, a transcript on this machine for the version, a top-level
	 * model) the full event above covers. */
	TAP_OK(missing <= 5 && held == 7,
	       "the real events exercise %zu of %zu members and the three derived ones",
	       NMEMBERS - missing, NMEMBERS);
}

/* The synthetic event of full_event() with what a real session lacks, checked
 * the same way: together with the real events every member is exercised. */
static void rare_fields(void)
{
	size_t seen[NMEMBERS] = { 0 }, missing = 0, tried = 0;
	const char *bad = "";
	unsigned held = 0;
	json_t *ev = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s}}", "agent_version",
			       "2.1.197", "parent_agent_id", "a0", "mcp_server", "github",
			       "mcp_tool", "create_issue", "model", "m", "alert", "id", "x", "by",
			       "dev");

	TAP_OK(check_all(ev, seen, &held, &bad) == 0 && mutate_all(ev, &tried, &bad) == 0 &&
		       tried == 16,
	       "agent_version, parent_agent_id, mcp_server, mcp_tool, model read and refused "
	       "the same way (%s)",
	       bad);
	for (size_t i = 0; i < NMEMBERS; i++)
		missing += seen[i] == 0;
	TAP_OK(missing == NMEMBERS - 8, "the synthetic event adds the members it names");
	json_decref(ev);
}

int main(void)
{
	full_event();
	odd_events();
	real_events(FIXTURE);
	rare_fields();
	return tap_done();
}
