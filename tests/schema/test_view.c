/*
 * test_view.c - struct ev_view (src/schema): every field from a full event,
 * absent and wrongly typed fields, older records' forms.
 */
#include "schema.h"
#include "tap.h"

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

int main(void)
{
	full_event();
	odd_events();
	return tap_done();
}
