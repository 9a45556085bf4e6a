/*
 * shape.c - the types a hook payload's fields must have before an event is
 * derived from them.
 *
 * Why: the normalizer reads the fields it classifies by (hook_event_name,
 * tool_name, tool_input and the tool's target: command, file_path, url, ...)
 * as strings.  A field of another type used to be skipped as if it were
 * absent, so `"tool_input": {"command": ["curl x | sh"]}` became a Bash
 * call with no target that no rule could match, and a blocking hook let it
 * through.  The agent may read such a payload differently from vigil (it
 * may coerce the array, or run what it has), so vigil does not guess: a
 * field it derives the event from must have its documented type, or the
 * payload is unparseable for its event type (the caller then records it as
 * such and a blocking hook applies decisions.unparseable).
 *
 * The same holds for a NUL byte (JSON "\u0000", which the parser accepts)
 * in a field that is used as a C string: the target, the scope path, the
 * names and ids.  Everything after the NUL would be invisible to the rules
 * and the scope check, so such a field makes the payload unparseable too.
 * A NUL elsewhere (a Write's content, a tool_response) is kept: those
 * strings are handled with their length everywhere (redaction, rules,
 * storage).
 *
 * Only fields that are present are checked: a missing field leaves the
 * event field out, as before.  JSON null is a value of the wrong type, not
 * an absent field.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

enum shape_type { SHAPE_STRING, SHAPE_OBJECT, SHAPE_ARRAY };

struct shape_field {
	const char *name;
	enum shape_type type;
	bool c_string; /* read up to its first NUL somewhere: a NUL is refused */
};

/* The top-level fields the event is built from (normalize.c's classify and copies). */
static const struct shape_field top_fields[] = {
	{ "hook_event_name", SHAPE_STRING, true },
	{ "tool_name", SHAPE_STRING, true },
	{ "session_id", SHAPE_STRING, true },
	{ "agent_id", SHAPE_STRING, true },
	{ "agent_type", SHAPE_STRING, true },
	{ "prompt_id", SHAPE_STRING, true },
	{ "tool_use_id", SHAPE_STRING, true },
	{ "cwd", SHAPE_STRING, true },
	{ "permission_mode", SHAPE_STRING, true },
	{ "transcript_path", SHAPE_STRING, true },
	{ "prompt", SHAPE_STRING, true },
};

/* Per tool: the tool_input fields the target, the scope or file_change come from. */
static const struct {
	const char *tool;
	struct shape_field f[4];
} tool_fields[] = {
	{ "Bash", { { "command", SHAPE_STRING, true } } },
	{ "Read", { { "file_path", SHAPE_STRING, true } } },
	{ "Write",
	  { { "file_path", SHAPE_STRING, true }, { "content", SHAPE_STRING, false } } },
	{ "Edit",
	  { { "file_path", SHAPE_STRING, true },
	    { "old_string", SHAPE_STRING, false },
	    { "new_string", SHAPE_STRING, false } } },
	{ "MultiEdit", { { "file_path", SHAPE_STRING, true }, { "edits", SHAPE_ARRAY, false } } },
	{ "NotebookEdit", { { "notebook_path", SHAPE_STRING, true } } },
	{ "NotebookRead", { { "notebook_path", SHAPE_STRING, true } } },
	{ "Grep", { { "pattern", SHAPE_STRING, true }, { "path", SHAPE_STRING, true } } },
	{ "Glob", { { "pattern", SHAPE_STRING, true }, { "path", SHAPE_STRING, true } } },
	{ "LS", { { "path", SHAPE_STRING, true } } },
	{ "WebFetch", { { "url", SHAPE_STRING, true }, { "prompt", SHAPE_STRING, false } } },
	{ "WebSearch", { { "query", SHAPE_STRING, true } } },
	{ "Agent",
	  { { "description", SHAPE_STRING, true },
	    { "prompt", SHAPE_STRING, true },
	    { "subagent_type", SHAPE_STRING, true } } },
	{ "Task",
	  { { "description", SHAPE_STRING, true },
	    { "prompt", SHAPE_STRING, true },
	    { "subagent_type", SHAPE_STRING, true } } },
};

/* Hooks whose payload describes one tool call (tool_input must be an object). */
static bool tool_hook(const char *hook)
{
	static const char *const h[] = { "PreToolUse", "PostToolUse", "PostToolUseFailure",
					 "PermissionRequest", "PermissionDenied" };

	for (size_t i = 0; hook && i < VG_ARRAY_LEN(h); i++)
		if (strcmp(hook, h[i]) == 0)
			return true;
	return false;
}

static const char *type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "an array";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
	default:
		return "null";
	}
}

static bool has_type(const json_t *v, enum shape_type t)
{
	switch (t) {
	case SHAPE_STRING:
		return json_is_string(v);
	case SHAPE_OBJECT:
		return json_is_object(v);
	case SHAPE_ARRAY:
	default:
		return json_is_array(v);
	}
}

static const char *const want_name[] = { "a string", "an object", "an array" };

/* One field of o (prefix "" or "tool_input."); 0 or -EINVAL with the reason in err. */
static int check_field(const json_t *o, const char *prefix, const struct shape_field *f, char *err,
		       size_t errcap)
{
	const json_t *v = json_object_get(o, f->name);

	if (!v)
		return 0;
	if (!has_type(v, f->type)) {
		snprintf(err, errcap, "%s%s is %s, not %s", prefix, f->name, type_name(v),
			 want_name[f->type]);
		return -EINVAL;
	}
	if (f->c_string && f->type == SHAPE_STRING &&
	    memchr(json_string_value(v), '\0', json_string_length(v))) {
		snprintf(err, errcap, "%s%s holds a NUL character (\\u0000)", prefix, f->name);
		return -EINVAL;
	}
	return 0;
}

int norm_check_shape(const json_t *in, char *err, size_t errcap)
{
	const json_t *ti;
	const char *hook, *tool;
	int rc;

	for (size_t i = 0; i < VG_ARRAY_LEN(top_fields); i++)
		if ((rc = check_field(in, "", &top_fields[i], err, errcap)) < 0)
			return rc;
	hook = json_string_value(json_object_get(in, "hook_event_name"));
	tool = json_string_value(json_object_get(in, "tool_name"));
	ti = json_object_get(in, "tool_input");
	if (!tool_hook(hook) || !ti)
		return 0;
	if (!json_is_object(ti)) {
		snprintf(err, errcap, "tool_input is %s, not an object", type_name(ti));
		return -EINVAL;
	}
	for (size_t i = 0; tool && i < VG_ARRAY_LEN(tool_fields); i++) {
		if (strcmp(tool, tool_fields[i].tool) != 0)
			continue;
		for (size_t k = 0; k < VG_ARRAY_LEN(tool_fields[i].f) && tool_fields[i].f[k].name;
		     k++)
			if ((rc = check_field(ti, "tool_input.", &tool_fields[i].f[k], err,
					      errcap)) < 0)
				return rc;
	}
	return 0;
}
