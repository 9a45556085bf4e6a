/*
 * view.c - struct ev_view from an event object: one pass of lookups, each
 * field read by the name schema.h gives it.
 */
#include "schema.h"

#include <string.h>

static const char *str_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static json_t *obj_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_object(v) ? v : NULL;
}

static json_t *arr_of(const json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);

	return json_is_array(v) ? v : NULL;
}

/* A JSON integer, or a real with a sane non-negative value; -1 otherwise. */
static int64_t int_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	if (json_is_integer(v))
		return json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9e18)
		return (int64_t)json_real_value(v);
	return -1;
}

static int bool_of(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_boolean(v) ? json_is_true(v) : -1;
}

static void identity(const json_t *ev, struct ev_view *v)
{
	v->id = str_of(ev, EVF_ID);
	v->time = str_of(ev, EVF_TIME);
	v->host = str_of(ev, EVF_HOST);
	v->user = str_of(ev, EVF_USER);
	v->agent = str_of(ev, EVF_AGENT);
	v->agent_version = str_of(ev, EVF_AGENT_VERSION);
	v->session_id = str_of(ev, EVF_SESSION_ID);
	v->agent_id = str_of(ev, EVF_AGENT_ID);
	v->parent_agent_id = str_of(ev, EVF_PARENT_AGENT_ID);
	v->parent_tool_use_id = str_of(ev, EVF_PARENT_TOOL_USE_ID);
	v->agent_type = str_of(ev, EVF_AGENT_TYPE);
	v->prompt_id = str_of(ev, EVF_PROMPT_ID);
	v->tool_use_id = str_of(ev, EVF_TOOL_USE_ID);
	v->payload_sha256 = str_of(ev, EVF_PAYLOAD_SHA256);
	v->schema = str_of(ev, EVF_SCHEMA);
}

static void action(const json_t *ev, struct ev_view *v)
{
	v->hook = str_of(ev, EVF_HOOK);
	v->event_type = str_of(ev, EVF_EVENT_TYPE);
	v->tool = str_of(ev, EVF_TOOL);
	v->mcp_server = str_of(ev, EVF_MCP_SERVER);
	v->mcp_tool = str_of(ev, EVF_MCP_TOOL);
	v->target = str_of(ev, EVF_TARGET);
	v->cwd = str_of(ev, EVF_CWD);
	v->permission_mode = str_of(ev, EVF_PERMISSION_MODE);
	v->outcome = str_of(ev, EVF_OUTCOME);
	v->error = str_of(ev, EVF_ERROR);
	v->pre_id = str_of(ev, EVF_PRE_ID);
	v->model = str_of(ev, EVF_MODEL);
	v->duration_ms = int_of(ev, EVF_DURATION_MS);
	v->outside_scope = bool_of(ev, EVF_OUTSIDE_SCOPE);
	v->spooled = bool_of(ev, EVF_SPOOLED) == 1;
	v->unpaired = bool_of(ev, EVF_UNPAIRED) == 1;
}

static void parts(const json_t *ev, struct ev_view *v)
{
	json_t *risk = json_object_get(ev, EVF_RISK);

	v->project = obj_of(ev, EVF_PROJECT);
	v->project_root = str_of(v->project, EVF_PROJECT_ROOT);
	v->project_name = str_of(v->project, EVF_PROJECT_NAME);
	v->payload = obj_of(ev, EVF_PAYLOAD);
	v->usage = obj_of(ev, EVF_USAGE);
	v->file_change = obj_of(ev, EVF_FILE_CHANGE);
	v->process = obj_of(ev, EVF_PROCESS);
	v->peer = obj_of(ev, EVF_PEER);
	/* Older records carry the risk as a bare level. */
	v->risk = json_is_object(risk) ? risk : NULL;
	v->risk_level = json_is_string(risk) ? json_string_value(risk)
					      : str_of(v->risk, EVF_RISK_LEVEL);
	if (!v->risk_level)
		v->risk_level = str_of(v->risk, EVF_RISK_SEVERITY);
	v->decision = obj_of(ev, EVF_DECISION);
	if (json_is_string(json_object_get(ev, EVF_DECISION))) /* a bare "deny" reads the same */
		v->decision_action = json_string_value(json_object_get(ev, EVF_DECISION));
	if (v->decision)
		v->decision_action = str_of(v->decision, EVF_DECISION_ACTION);
	v->decision_mode = str_of(v->decision, EVF_DECISION_MODE);
	v->decision_rule = str_of(v->decision, EVF_DECISION_RULE_NAME);
	if (!v->decision_rule)
		v->decision_rule = str_of(v->decision, EVF_DECISION_RULE_ID);
	v->detections = arr_of(ev, EVF_DETECTIONS);
}

static void alert(const json_t *ev, struct ev_alert_view *a)
{
	const json_t *o = a->obj = obj_of(ev, EVF_ALERT);

	if (!o)
		return;
	a->id = str_of(o, EVF_ALERT_ID);
	a->update = str_of(o, EVF_ALERT_UPDATE);
	a->state = str_of(o, EVF_ALERT_STATE);
	a->rule_id = str_of(o, EVF_ALERT_RULE_ID);
	a->rule_name = str_of(o, EVF_ALERT_RULE_NAME);
	a->rule_title = str_of(o, EVF_ALERT_RULE_TITLE);
	a->rule_kind = str_of(o, EVF_ALERT_RULE_KIND);
	a->level = str_of(o, EVF_ALERT_LEVEL);
	a->action = str_of(o, EVF_ALERT_ACTION);
	a->decision = str_of(o, EVF_ALERT_DECISION);
	a->session_id = str_of(o, EVF_ALERT_SESSION_ID);
	a->agent = str_of(o, EVF_ALERT_AGENT);
	a->project = str_of(o, EVF_ALERT_PROJECT);
	a->first_seen = str_of(o, EVF_ALERT_FIRST_SEEN);
	a->last_seen = str_of(o, EVF_ALERT_LAST_SEEN);
	a->reason = str_of(o, EVF_ALERT_REASON);
	a->by = str_of(o, EVF_ALERT_BY);
	a->note = str_of(o, EVF_ALERT_NOTE);
	a->tags = arr_of(o, EVF_ALERT_TAGS);
	a->event_ids = arr_of(o, EVF_ALERT_EVENT_IDS);
	a->count = int_of(o, EVF_ALERT_COUNT);
}

void ev_view_fill(const json_t *ev, struct ev_view *v)
{
	memset(v, 0, sizeof(*v));
	v->duration_ms = -1;
	v->outside_scope = -1;
	v->alert.count = -1;
	if (!json_is_object(ev))
		return;
	v->root = ev;
	identity(ev, v);
	action(ev, v);
	parts(ev, v);
	alert(ev, &v->alert);
}
