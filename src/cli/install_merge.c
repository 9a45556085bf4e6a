/*
 * install_merge.c - the hooks vigil installs for each agent and the merge of
 * them into an agent's settings document (see install.h for the contract).
 *
 * All three agents share one layout, Claude Code's:
 *
 *   {"hooks": {"EVENT": [{"matcher": "...", "hooks": [{"type": "command",
 *                                                       "command": "...",
 *                                                       "timeout": N}]}]}}
 *
 * A user's own matcher groups may hold vigil's handler next to theirs (when
 * they moved it there by hand); the merge then updates the handler in place
 * and never rewrites the group.  Only groups that hold nothing but vigil's
 * handlers are vigil's to shape (their matcher) or drop.
 */
#include "cli.h"
#include "install.h"

#include <errno.h>
#include <stdio.h>

/*
 * Claude Code: every event the pinned client (2.1.197) knows, except five.
 * PostToolBatch only repeats, once per batch of parallel tool calls, what
 * each call's PostToolUse already carried; a hook there costs the agent one
 * more process per batch (9 of 33 hook runs in the end-to-end session) and
 * records nothing new.  The other four are not notifications:
 *   WorktreeCreate, WorktreeRemove  a hook there REPLACES the client's own
 *                                   git worktree handling;
 *   FileChanged                     its matcher is the list of files to watch,
 *                                   and installing it starts a file watcher;
 *   MessageDisplay                  undocumented, fires per displayed message.
 * Blocking (--decide) are the events where vigil's rules can say no before
 * anything happens: tool use, a prompt, a permission dialog.
 */
static const struct install_event claude_events[] = {
	{ "SessionStart", false, false },
	{ "Setup", false, false },
	{ "InstructionsLoaded", false, false },
	{ "UserPromptSubmit", false, true },
	{ "UserPromptExpansion", false, false },
	{ "PreToolUse", true, true },
	{ "PermissionRequest", true, true },
	{ "PermissionDenied", true, false },
	{ "PostToolUse", true, false },
	{ "PostToolUseFailure", true, false },
	{ "Notification", false, false },
	{ "SubagentStart", false, false },
	{ "SubagentStop", false, false },
	{ "Stop", false, false },
	{ "StopFailure", false, false },
	{ "TeammateIdle", false, false },
	{ "TaskCreated", false, false },
	{ "TaskCompleted", false, false },
	{ "ConfigChange", false, false },
	{ "CwdChanged", false, false },
	{ "PreCompact", false, false },
	{ "PostCompact", false, false },
	{ "Elicitation", false, false },
	{ "ElicitationResult", false, false },
	{ "SessionEnd", false, false },
};

/*
 * Codex CLI (.codex/hooks.json): the events of its hooks documentation.  Its
 * matchers are regular expressions, where "*" is invalid, so tool events get
 * no matcher (which matches every tool).
 */
static const struct install_event codex_events[] = {
	{ "SessionStart", false, false },   { "UserPromptSubmit", false, true },
	{ "PreToolUse", true, true },	    { "PermissionRequest", true, true },
	{ "PostToolUse", true, false },	    { "PreCompact", false, false },
	{ "PostCompact", false, false },    { "Stop", false, false },
};

/* Gemini CLI (settings.json "hooks"): timeouts are milliseconds there. */
static const struct install_event gemini_events[] = {
	{ "SessionStart", false, false }, { "BeforeAgent", false, false },
	{ "BeforeTool", true, true },	  { "AfterTool", true, false },
	{ "AfterAgent", false, false },	  { "Notification", false, false },
	{ "PreCompress", false, false },  { "SessionEnd", false, false },
};

/* Older Gemini CLI releases kept these switches inside "hooks". */
static const char *const gemini_config_keys[] = { "enabled", "disabled", "notifications", NULL };

static const struct install_agent agents[] = {
	{ "claude", "claude-code", "Claude Code", ".claude", "settings.json", "settings.local.json",
	  "CLAUDE_CONFIG_DIR", "*", 1, claude_events, VG_ARRAY_LEN(claude_events), NULL },
	{ "codex", "codex", "Codex CLI", ".codex", "hooks.json", NULL, "CODEX_HOME", NULL, 1,
	  codex_events, VG_ARRAY_LEN(codex_events), NULL },
	{ "gemini", "gemini", "Gemini CLI", ".gemini", "settings.json", NULL, NULL, NULL, 1000,
	  gemini_events, VG_ARRAY_LEN(gemini_events), gemini_config_keys },
};

const struct install_agent *install_agent_find(const char *name)
{
	if (!strcmp(name, "claude-code"))
		name = "claude";
	for (size_t i = 0; i < VG_ARRAY_LEN(agents); i++)
		if (!strcmp(agents[i].name, name))
			return &agents[i];
	return NULL;
}

int install_changes_init(struct install_changes *ch)
{
	ch->added = json_array();
	ch->updated = json_array();
	ch->removed = json_array();
	if (!ch->added || !ch->updated || !ch->removed) {
		install_changes_release(ch);
		return -ENOMEM;
	}
	return 0;
}

void install_changes_release(struct install_changes *ch)
{
	json_decref(ch->added);
	json_decref(ch->updated);
	json_decref(ch->removed);
	ch->added = ch->updated = ch->removed = NULL;
}

size_t install_changes_count(const struct install_changes *ch)
{
	return json_array_size(ch->added) + json_array_size(ch->updated) +
	       json_array_size(ch->removed);
}

static int note(json_t *list, const char *event)
{
	return json_array_append_new(list, json_string(event)) < 0 ? -ENOMEM : 0;
}

static const char *type_name(const json_t *j)
{
	switch (json_typeof(j)) {
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
		return "true";
	case JSON_FALSE:
		return "false";
	default:
		return "null";
	}
}

static bool is_config_key(const struct install_agent *a, const char *key)
{
	for (const char *const *k = a->config_keys; k && *k; k++)
		if (!strcmp(*k, key))
			return true;
	return false;
}

static const struct install_event *find_event(const struct install_agent *a, const char *name)
{
	for (size_t i = 0; i < a->nevents; i++)
		if (!strcmp(a->events[i].name, name))
			return &a->events[i];
	return NULL;
}

int install_check(const struct install_agent *a, json_t *root, char *err, size_t cap)
{
	json_t *hooks, *arr;
	const char *ev;

	if (!json_is_object(root)) {
		snprintf(err, cap, "the top level is %s, not an object", type_name(root));
		return -EINVAL;
	}
	hooks = json_object_get(root, "hooks");
	if (!hooks)
		return 0;
	if (!json_is_object(hooks)) {
		snprintf(err, cap, "\"hooks\" is %s, not an object", type_name(hooks));
		return -EINVAL;
	}
	json_object_foreach(hooks, ev, arr) {
		if (is_config_key(a, ev))
			continue;
		if (!json_is_array(arr)) {
			snprintf(err, cap, "hooks.%s is %s, not an array", ev, type_name(arr));
			return -EINVAL;
		}
		for (size_t i = 0; i < json_array_size(arr); i++) {
			json_t *g = json_array_get(arr, i), *gh;

			if (!json_is_object(g)) {
				snprintf(err, cap, "hooks.%s[%zu] is %s, not an object", ev, i,
					 type_name(g));
				return -EINVAL;
			}
			gh = json_object_get(g, "hooks");
			if (gh && !json_is_array(gh)) {
				snprintf(err, cap, "hooks.%s[%zu].hooks is %s, not an array", ev, i,
					 type_name(gh));
				return -EINVAL;
			}
			for (size_t k = 0; k < json_array_size(gh); k++) {
				json_t *h = json_array_get(gh, k);

				if (!json_is_object(h)) {
					snprintf(err, cap, "hooks.%s[%zu].hooks[%zu] is %s, not an object",
						 ev, i, k, type_name(h));
					return -EINVAL;
				}
			}
		}
	}
	return 0;
}

bool install_is_ours(const json_t *handler, const char *marker)
{
	const char *cmd = json_string_value(json_object_get(handler, "command"));

	if (!cmd)
		return false;
	return strstr(cmd, INSTALL_MARK) || (marker && *marker && strstr(cmd, marker));
}

/* True when every handler of the group is vigil's (and there is at least one). */
static bool group_only_ours(const json_t *g, const char *marker)
{
	const json_t *gh = json_object_get(g, "hooks");

	if (!json_array_size(gh))
		return false;
	for (size_t i = 0; i < json_array_size(gh); i++)
		if (!install_is_ours(json_array_get(gh, i), marker))
			return false;
	return true;
}

/*
 * Removes vigil's handlers from an event's array, except `keep` (NULL: all),
 * and the groups that this leaves empty.  Returns how many were removed.
 */
static size_t remove_ours(json_t *arr, const json_t *keep, const char *marker)
{
	size_t removed = 0;

	for (size_t i = 0; i < json_array_size(arr);) {
		json_t *gh = json_object_get(json_array_get(arr, i), "hooks");
		size_t here = 0;

		for (size_t k = 0; k < json_array_size(gh);) {
			json_t *h = json_array_get(gh, k);

			if (h != keep && install_is_ours(h, marker)) {
				json_array_remove(gh, k);
				here++;
				continue;
			}
			k++;
		}
		removed += here;
		/* A group the user left empty stays; one vigil emptied goes. */
		if (here && json_array_size(gh) == 0) {
			json_array_remove(arr, i);
			continue;
		}
		i++;
	}
	return removed;
}

static json_t *new_handler(const char *cmd, long long timeout)
{
	return json_pack("{s:s, s:s, s:I}", "type", "command", "command", cmd, "timeout",
			 (json_int_t)timeout);
}

static bool string_is(const json_t *j, const char *s)
{
	return json_is_string(j) && !strcmp(json_string_value(j), s);
}

const char *install_command_for(const struct install_event *e, const struct install_want *w)
{
	char key[80];

	if (!e->decide)
		return w->command;
	if (w->fail_closed && w->command_closed) {
		if (!strcmp(w->fail_closed, "*"))
			return w->command_closed;
		snprintf(key, sizeof(key), ",%s,", e->name);
		if (strstr(w->fail_closed, key))
			return w->command_closed;
	}
	return w->command_decide;
}

static int set_str(json_t *obj, const char *key, const char *v)
{
	return json_object_set_new(obj, key, json_string(v)) < 0 ? -ENOMEM : 0;
}

/* Brings the handler vigil kept (and its group, when vigil's alone) up to date. */
static int update_kept(const struct install_event *e, const char *matcher, json_t *h,
		       json_t *group, const struct install_want *w, bool *changed)
{
	const char *cmd = install_command_for(e, w);
	json_t *t = json_object_get(h, "timeout");
	int rc;

	if (!string_is(json_object_get(h, "type"), "command")) {
		if ((rc = set_str(h, "type", "command")) < 0)
			return rc;
		*changed = true;
	}
	if (!string_is(json_object_get(h, "command"), cmd)) {
		if ((rc = set_str(h, "command", cmd)) < 0)
			return rc;
		*changed = true;
	}
	if (!json_is_integer(t) || json_integer_value(t) != w->timeout) {
		if (json_object_set_new(h, "timeout", json_integer(w->timeout)) < 0)
			return -ENOMEM;
		*changed = true;
	}
	if (!group_only_ours(group, w->marker))
		return 0;
	if (matcher && !string_is(json_object_get(group, "matcher"), matcher)) {
		if ((rc = set_str(group, "matcher", matcher)) < 0)
			return rc;
		*changed = true;
	} else if (!matcher && json_object_get(group, "matcher")) {
		/* No matcher means every occurrence of the event, which is what vigil records. */
		json_object_del(group, "matcher");
		*changed = true;
	}
	return 0;
}

static int merge_event(const struct install_agent *a, json_t *hooks, const struct install_event *e,
		       const struct install_want *w, struct install_changes *ch)
{
	const char *matcher = e->tool ? a->tool_matcher : NULL;
	json_t *arr = json_object_get(hooks, e->name), *keep = NULL, *keep_group = NULL, *g, *h;
	bool changed = false;
	int rc;

	for (size_t i = 0; !keep && i < json_array_size(arr); i++) {
		json_t *gh = json_object_get(json_array_get(arr, i), "hooks");

		for (size_t k = 0; !keep && k < json_array_size(gh); k++)
			if (install_is_ours(json_array_get(gh, k), w->marker)) {
				keep = json_array_get(gh, k);
				keep_group = json_array_get(arr, i);
			}
	}
	if (keep) {
		/* Duplicates (a second install by hand, an older copy) go. */
		if (remove_ours(arr, keep, w->marker))
			changed = true;
		if ((rc = update_kept(e, matcher, keep, keep_group, w, &changed)) < 0)
			return rc;
		return changed ? note(ch->updated, e->name) : 0;
	}
	h = new_handler(install_command_for(e, w), w->timeout);
	g = matcher ? json_pack("{s:s, s:[o]}", "matcher", matcher, "hooks", h)
		    : json_pack("{s:[o]}", "hooks", h);
	if (!g)
		return -ENOMEM;
	if (!arr) {
		arr = json_array();
		if (!arr || json_object_set_new(hooks, e->name, arr) < 0) {
			json_decref(g);
			return -ENOMEM;
		}
	}
	if (json_array_append_new(arr, g) < 0)
		return -ENOMEM;
	return note(ch->added, e->name);
}

int install_merge(const struct install_agent *a, json_t *root, const struct install_want *w,
		  struct install_changes *ch)
{
	json_t *hooks = json_object_get(root, "hooks"), *arr, *tmp;
	const char *ev;
	int rc;

	if (!hooks) {
		hooks = json_object();
		if (!hooks || json_object_set_new(root, "hooks", hooks) < 0)
			return -ENOMEM;
	}
	for (size_t i = 0; i < a->nevents; i++)
		if ((rc = merge_event(a, hooks, &a->events[i], w, ch)) < 0)
			return rc;
	/* vigil's handlers on events this version no longer installs. */
	json_object_foreach_safe(hooks, tmp, ev, arr) {
		if (is_config_key(a, ev) || find_event(a, ev))
			continue;
		if (!remove_ours(arr, NULL, w->marker))
			continue;
		if ((rc = note(ch->removed, ev)) < 0)
			return rc;
		if (json_array_size(arr) == 0)
			json_object_del(hooks, ev);
	}
	return 0;
}

int install_remove(const struct install_agent *a, json_t *root, const char *marker,
		   struct install_changes *ch)
{
	json_t *hooks = json_object_get(root, "hooks"), *arr, *tmp;
	const char *ev;
	bool any = false;
	int rc;

	if (!hooks)
		return 0;
	json_object_foreach_safe(hooks, tmp, ev, arr) {
		if (is_config_key(a, ev))
			continue;
		if (!remove_ours(arr, NULL, marker))
			continue;
		any = true;
		if ((rc = note(ch->removed, ev)) < 0)
			return rc;
		if (json_array_size(arr) == 0)
			json_object_del(hooks, ev);
	}
	if (any && json_object_size(hooks) == 0)
		json_object_del(root, "hooks");
	return 0;
}
