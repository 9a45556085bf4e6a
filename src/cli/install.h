/*
 * install.h - `vigil install` / `vigil uninstall`: which hooks each agent gets
 * and the JSON merge that adds or removes them.  Internal to src/cli/.
 *
 * The merge works on a settings document already parsed by jansson and only
 * ever touches vigil's own handler objects (a "command" that contains
 * "vigil-hook", or the marker given by the caller), the matcher groups that
 * hold nothing else, and containers that become empty because a vigil entry
 * left them.  Everything else in the document is left as it was.
 */
#ifndef VIGIL_CLI_INSTALL_H
#define VIGIL_CLI_INSTALL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

/* The substring that marks a hook command as vigil's. */
#define INSTALL_MARK "vigil-hook"

struct install_event {
	const char *name;
	bool tool;   /* matched on the tool name: gets the agent's tool matcher */
	bool decide; /* blocking: the hook waits for the daemon's decision */
};

struct install_agent {
	const char *name;	  /* --agent value: claude, codex, gemini */
	const char *kind;	  /* vigil-hook's --agent value (the event's "agent") */
	const char *title;	  /* human name, for messages */
	const char *dir;	  /* directory under the project or home, ".claude" */
	const char *file;	  /* project and user scope file name */
	const char *local_file;	  /* local scope file name; NULL: no local scope */
	const char *home_env;	  /* variable naming the user directory instead of ~/DIR */
	const char *tool_matcher; /* matcher of tool events; NULL: no matcher (all) */
	unsigned timeout_scale;	  /* the "timeout" unit: 1 seconds, 1000 milliseconds */
	const struct install_event *events;
	size_t nevents;
	/* Keys of the "hooks" object that are settings, not events (NULL-terminated). */
	const char *const *config_keys;
};

/* Returns the agent named by an --agent value (claude, claude-code, codex, gemini). */
const struct install_agent *install_agent_find(const char *name);

/* What to install: the shell commands for plain and blocking events. */
struct install_want {
	const char *command;	    /* e.g. "/usr/bin/vigil-hook --agent claude-code" */
	const char *command_decide; /* the same with --decide */
	const char *command_closed; /* the same with --decide --fail-closed */
	const char *fail_closed;    /* ",Ev1,Ev2," blocking events that fail closed,
				       "*" all of them, NULL none */
	long long timeout;	    /* already in the agent's unit */
	const char *marker;	    /* also recognise commands containing this; may be NULL */
};

/* The command an event's handler runs. */
const char *install_command_for(const struct install_event *e, const struct install_want *w);

/* Event names, one list per kind of change; owned by the struct. */
struct install_changes {
	json_t *added, *updated, *removed;
};

int install_changes_init(struct install_changes *ch);
void install_changes_release(struct install_changes *ch);
size_t install_changes_count(const struct install_changes *ch);

/*
 * Checks that the document has the shape the merge relies on: an object whose
 * "hooks", when present, is an object of arrays of matcher-group objects whose
 * "hooks" are arrays of objects.  On failure writes a one-line reason naming
 * the JSON path to err and returns -EINVAL; the document is not changed.
 */
int install_check(const struct install_agent *a, json_t *root, char *err, size_t cap);

/* True when a handler object is one of vigil's. */
bool install_is_ours(const json_t *handler, const char *marker);

/*
 * Adds vigil's handler to every event of the agent, updates an existing one
 * (command, timeout, the matcher of a group that holds only vigil's handlers),
 * removes duplicates, and removes vigil's handlers from events the agent no
 * longer gets.  The document must have passed install_check().  Returns 0 or
 * -ENOMEM (the document may then be partly changed: throw it away).
 */
int install_merge(const struct install_agent *a, json_t *root, const struct install_want *w,
		  struct install_changes *ch);

/*
 * Removes every vigil handler, the matcher groups and event arrays left empty
 * by that, and "hooks" itself when vigil's removal emptied it.  Same return
 * contract as install_merge().
 */
int install_remove(const struct install_agent *a, json_t *root, const char *marker,
		   struct install_changes *ch);

/* ---- helpers (install_util.c) ---------------------------------------------- */

struct vbuf;

/* True when s holds a control character (which has no place in a hook command). */
bool install_has_control(const char *s);
/* Drops "." and empty components of an absolute path and folds "dir/..", in
 * place, lexically (a symlink followed by ".." may then name another place). */
void install_fold_dots(char *p);
/* out = in made absolute against the current directory, dots folded. */
int install_absolutize(const char *in, char *out, size_t cap);
/* The nearest directory from the current one up holding .git, else the current one. */
int install_project_root(char *out, size_t cap);
/* A regular file this process may execute. */
bool install_is_executable(const char *path);
/* Appends s quoted for `sh -c` (bare when it is plainly safe); vbuf errors. */
int install_shell_quote(struct vbuf *b, const char *s);
/* jansson dump flags for a settings file: 2-space indent, key order kept, and
 * the fewest real digits that read back exactly (not 0.10000000000000001). */
size_t install_dump_flags(json_t *root);

#endif
