/*
 * schema.h - the event of schema v1 (docs/event-schema.md): its field names,
 * and one typed view of an event that the daemon's consumers read.
 *
 * The names are the only spelling of each field in the code: a consumer
 * reads struct ev_view's members (or, for a field the view does not carry,
 * the EVF_ name), so renaming a field is a compile error wherever it is used.
 * The view points into the event (no copies): it is valid while the event is.
 */
#ifndef VIGIL_SCHEMA_H
#define VIGIL_SCHEMA_H

#include <jansson.h>
#include <stdint.h>

#define EV_SCHEMA_V1 "vigil.event.v1"

/* Top-level fields. */
#define EVF_ID "id"
#define EVF_TIME "time"
#define EVF_HOST "host"
#define EVF_USER "user"
#define EVF_AGENT "agent"
#define EVF_AGENT_VERSION "agent_version"
#define EVF_SESSION_ID "session_id"
#define EVF_AGENT_ID "agent_id"
#define EVF_PARENT_AGENT_ID "parent_agent_id"
#define EVF_PARENT_TOOL_USE_ID "parent_tool_use_id"
#define EVF_AGENT_TYPE "agent_type"
#define EVF_PROMPT_ID "prompt_id"
#define EVF_TOOL_USE_ID "tool_use_id"
#define EVF_HOOK "hook"
#define EVF_EVENT_TYPE "event_type"
#define EVF_TOOL "tool"
#define EVF_MCP_SERVER "mcp_server"
#define EVF_MCP_TOOL "mcp_tool"
#define EVF_TARGET "target"
#define EVF_PROJECT "project"
#define EVF_OUTSIDE_SCOPE "outside_project_scope"
#define EVF_CWD "cwd"
#define EVF_PERMISSION_MODE "permission_mode"
#define EVF_OUTCOME "outcome"
#define EVF_ERROR "error"
#define EVF_DURATION_MS "duration_ms"
#define EVF_PRE_ID "pre_id"
#define EVF_UNPAIRED "unpaired"
#define EVF_FILE_CHANGE "file_change"
#define EVF_USAGE "usage"
#define EVF_RISK "risk"
#define EVF_DETECTIONS "detections"
#define EVF_DECISION "decision"
#define EVF_PROCESS "process"
#define EVF_PEER "peer"
#define EVF_SPOOLED "spooled"
#define EVF_PAYLOAD "payload"
#define EVF_PAYLOAD_SHA256 "payload_sha256"
#define EVF_SCHEMA "schema"
#define EVF_MODEL "model"
#define EVF_ALERT "alert"

/* Inside project, risk, decision. */
#define EVF_PROJECT_ROOT "root"
#define EVF_PROJECT_NAME "name"
#define EVF_PROJECT_SOURCE "source"
#define EVF_RISK_LEVEL "level"
#define EVF_RISK_SEVERITY "severity" /* older records */
#define EVF_RISK_SCORE "score"
#define EVF_RISK_REASONS "reasons"
#define EVF_DECISION_ACTION "action"
#define EVF_DECISION_MODE "mode"
#define EVF_DECISION_RULE_ID "rule_id"
#define EVF_DECISION_RULE_NAME "rule_name"
#define EVF_DECISION_RULE_TITLE "rule_title"
#define EVF_DECISION_REASON "reason"
#define EVF_DECISION_DELIVERED "delivered"

/* Inside each element of detections. */
#define EVF_DETECTION_RULE_ID "rule_id"
#define EVF_DETECTION_NAME "name"
#define EVF_DETECTION_TITLE "title"
#define EVF_DETECTION_LEVEL "level"
#define EVF_DETECTION_ACTION "action"
#define EVF_DETECTION_KIND "kind"
#define EVF_DETECTION_WHY "why"
#define EVF_DETECTION_ALERT_ID "alert_id"
#define EVF_DETECTION_GROUP "group" /* correlation hits */
#define EVF_DETECTION_COUNT "count" /* correlation hits */

/* Inside file_change. */
#define EVF_FILE_CHANGE_PATH "path"
#define EVF_FILE_CHANGE_CREATED "created"
#define EVF_FILE_CHANGE_BEFORE_SHA256 "before_sha256"
#define EVF_FILE_CHANGE_BEFORE_UNKNOWN "before_unknown"
#define EVF_FILE_CHANGE_AFTER_SHA256 "after_sha256"
#define EVF_FILE_CHANGE_AFTER_UNKNOWN "after_unknown"
#define EVF_FILE_CHANGE_LINES_ADDED "lines_added"
#define EVF_FILE_CHANGE_LINES_REMOVED "lines_removed"

/* Inside usage. */
#define EVF_USAGE_INPUT_TOKENS "input_tokens"
#define EVF_USAGE_OUTPUT_TOKENS "output_tokens"
#define EVF_USAGE_CACHE_READ_TOKENS "cache_read_input_tokens"
#define EVF_USAGE_CACHE_CREATION_TOKENS "cache_creation_input_tokens"
#define EVF_USAGE_TOTAL_TOKENS "total_tokens"
#define EVF_USAGE_TOOL_USE_COUNT "tool_use_count"
#define EVF_USAGE_DURATION_MS "duration_ms"

/* Inside process (what the hook says of itself) and peer (what the kernel says). */
#define EVF_PROCESS_PID "pid"
#define EVF_PROCESS_PPID "ppid"
#define EVF_PROCESS_UID "uid"
#define EVF_PEER_PID "pid"
#define EVF_PEER_UID "uid"
#define EVF_PEER_GID "gid"

/* Inside alert (alert records: event_type "alert", docs/alerts.md). */
#define EVF_ALERT_ID "id"
#define EVF_ALERT_UPDATE "update"
#define EVF_ALERT_STATE "state"
#define EVF_ALERT_RULE_ID "rule_id"
#define EVF_ALERT_RULE_NAME "rule_name"
#define EVF_ALERT_RULE_TITLE "rule_title"
#define EVF_ALERT_RULE_KIND "rule_kind"
#define EVF_ALERT_LEVEL "level"
#define EVF_ALERT_ACTION "action"
#define EVF_ALERT_DECISION "decision"
#define EVF_ALERT_TAGS "tags"
#define EVF_ALERT_SESSION_ID "session_id"
#define EVF_ALERT_AGENT "agent"
#define EVF_ALERT_PROJECT "project"
#define EVF_ALERT_FIRST_SEEN "first_seen"
#define EVF_ALERT_LAST_SEEN "last_seen"
#define EVF_ALERT_COUNT "count"
#define EVF_ALERT_EVENT_IDS "event_ids"
#define EVF_ALERT_REASON "reason"
#define EVF_ALERT_BY "by"
#define EVF_ALERT_NOTE "note"

/* The alert object of an alert record, as the view carries it. */
struct ev_alert_view {
	json_t *obj; /* the object itself; NULL when absent or not an object */
	const char *id, *update, *state, *rule_id, *rule_name, *rule_title, *rule_kind;
	const char *level, *action, *decision, *session_id, *agent, *project;
	const char *first_seen, *last_seen, *reason, *by, *note;
	json_t *tags, *event_ids; /* arrays, or NULL */
	int64_t count;		  /* -1 unknown */
};

/* An event as its consumers read it.  Strings are NULL when the field is
 * absent or not a string; objects NULL when absent or not objects. */
struct ev_view {
	const json_t *root;
	const char *id, *time, *host, *user, *agent, *agent_version;
	const char *session_id, *agent_id, *parent_agent_id, *parent_tool_use_id, *agent_type;
	const char *prompt_id, *tool_use_id, *hook, *event_type, *tool, *mcp_server, *mcp_tool;
	const char *target, *cwd, *permission_mode, *outcome, *error, *pre_id, *model;
	const char *payload_sha256, *schema;
	const char *project_root, *project_name;
	const char *risk_level;					   /* from risk.level (or a string risk) */
	const char *decision_action, *decision_mode, *decision_rule; /* rule_name, else rule_id */
	/* Parts of the event (jansson's getters take them non-const). */
	json_t *project, *payload, *usage, *file_change, *risk, *decision, *detections;
	json_t *process, *peer;
	struct ev_alert_view alert; /* alert records */
	int64_t duration_ms; /* -1 unknown */
	int outside_scope;   /* 1, 0, -1 unknown */
	int spooled, unpaired; /* 1 when true */
};

/* Fills v from the event object ev (NULL or not an object: an empty view). */
void ev_view_fill(const json_t *ev, struct ev_view *v);

#endif /* VIGIL_SCHEMA_H */
