/*
 * cmd_install.c - `vigil install` and `vigil uninstall`: puts vigil-hook into
 * (or takes it out of) an agent's hook settings, Claude Code's settings.json
 * first, Codex CLI's hooks.json and Gemini CLI's settings.json too.
 *
 * The settings file belongs to the user, so the command is careful with it:
 * it refuses a file it cannot parse (and says where), changes nothing but
 * vigil's own entries (install_merge.c), writes only when something changed,
 * atomically, keeping the file's mode, a symlink's target and, the first time,
 * a copy of the previous content (FILE.vigil-bak); and it rereads the file
 * just before replacing it so that an edit made meanwhile (the agent itself
 * writes settings.local.json) is merged again rather than lost.
 */
#include "options.h"
#include "config.h"
#include "install.h"

#include <errno.h>
#include <jansson.h>
#include <libgen.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#define INSTALL_MAX_FILE (4u * 1024 * 1024) /* settings files are a few KiB */
#define INSTALL_MAX_CMD 16384
#define INSTALL_DEFAULT_TIMEOUT 10 /* seconds; vigil-hook bounds itself at ~2 s */
#define INSTALL_MAX_TIMEOUT 3600
#define INSTALL_ATTEMPTS 3 /* rereads when the file changes under us */
#define INSTALL_BACKUP_SUFFIX ".vigil-bak"

/* SCOPE_UNSET: no scope option given yet (then the project). */
enum install_scope { SCOPE_UNSET = -1, SCOPE_PROJECT, SCOPE_LOCAL, SCOPE_USER };
static const char *const scope_names[] = { "project", "local", "user" };

struct install {
	struct cli *c;
	const char *cmd; /* "install" or "uninstall", for messages */
	const struct install_agent *agent;
	enum install_scope scope;
	const char *dir, *hook;
	bool remove, dry_run, json;
	uint64_t timeout_s; /* --timeout; 0: not given */
	char path[PATH_MAX];   /* the settings file, as named */
	char target[PATH_MAX]; /* the file written: path, or a symlink's target */
	char hook_path[PATH_MAX];
	struct vbuf command, command_decide, command_closed, marker;
	char fail_closed[1024]; /* ",Ev1,Ev2," or "*"; "" when not asked */
	struct install_changes ch;
	json_t *warnings;
	char *raw; /* the file's content as read; NULL when it does not exist */
	size_t raw_len;
	mode_t mode;
	uid_t uid; /* the owner of the existing file, kept when root rewrites it */
	gid_t gid;
	bool owned; /* uid and gid are known */
	bool backup_written;
	char backup[PATH_MAX + 16];
};

static void install_warn(struct install *in, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void install_warn(struct install *in, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil: warning: %s\n", msg);
	json_array_append_new(in->warnings, json_string(msg));
}

/* ---- paths ------------------------------------------------------------------- */

static int settings_path(struct install *in)
{
	const struct install_agent *a = in->agent;
	char base[PATH_MAX];
	struct stat st;
	int rc;

	if (in->scope == SCOPE_USER) {
		const char *v = a->home_env ? getenv(a->home_env) : NULL;
		const char *home = getenv("HOME");

		if (v && *v)
			rc = install_absolutize(v, base, sizeof(base));
		else if (home && *home == '/')
			rc = vg_path(base, sizeof(base), "%s/%s", home, a->dir);
		else {
			cli_error("--user needs HOME (an absolute path) to find ~/%s", a->dir);
			return -ENOENT;
		}
		if (rc == 0)
			rc = vg_path(in->path, sizeof(in->path), "%s/%s", base, a->file);
	} else {
		if (in->dir) {
			rc = install_absolutize(in->dir, base, sizeof(base));
			if (rc == 0 && (stat(base, &st) < 0 || !S_ISDIR(st.st_mode))) {
				cli_error("--dir '%s' is not a directory", in->dir);
				return -ENOTDIR;
			}
		} else {
			rc = install_project_root(base, sizeof(base));
		}
		if (rc == 0)
			rc = vg_path(in->path, sizeof(in->path), "%s/%s/%s",
				     strcmp(base, "/") ? base : "", a->dir,
				     in->scope == SCOPE_LOCAL ? a->local_file : a->file);
	}
	if (rc < 0)
		cli_error("cannot name the settings file: %s", strerror(-rc));
	return rc;
}

/*
 * --hook, else vigil-hook where cli_find_program() finds it: next to this
 * binary, where a build tree puts it, or on PATH.
 */
static int find_hook(struct install *in)
{
	char self[PATH_MAX];

	if (in->hook) {
		struct stat given, named;

		if (!install_is_executable(in->hook) || stat(in->hook, &given) < 0) {
			cli_error("--hook '%s' is not an executable file", in->hook);
			return -ENOENT;
		}
		/* Folding ".." past a symlink can name another file: then resolve fully. */
		if (install_absolutize(in->hook, in->hook_path, sizeof(in->hook_path)) < 0 ||
		    stat(in->hook_path, &named) < 0 || named.st_ino != given.st_ino ||
		    named.st_dev != given.st_dev) {
			if (!realpath(in->hook, self) ||
			    vg_path(in->hook_path, sizeof(in->hook_path), "%s", self) < 0) {
				cli_error("--hook '%s': cannot make the path absolute", in->hook);
				return -ENOENT;
			}
		}
		return 0;
	}
	if (cli_find_program("vigil-hook", "hook", in->hook_path, sizeof(in->hook_path)) == 0)
		return 0;
	in->hook_path[0] = 0;
	cli_error("cannot find vigil-hook: it is neither next to this vigil nor on PATH; "
		  "install it, or give its path with --hook PATH");
	return -ENOENT;
}

/* ---- the hook command ------------------------------------------------------------ */

/* Appends NAME=VALUE (the value made absolute and quoted) and a space. */
static int env_prefix(struct vbuf *b, const char *name, const char *value)
{
	char abs[PATH_MAX];
	int rc;

	if ((rc = install_absolutize(value, abs, sizeof(abs))) < 0)
		return rc;
	if (install_has_control(abs))
		return -EINVAL;
	if ((rc = vbuf_appendf(b, "%s=", name)) < 0 || (rc = install_shell_quote(b, abs)) < 0)
		return rc;
	return vbuf_append(b, " ", 1);
}

/*
 * decisions.timeout_ms of vigil.yaml bounds how long a blocking hook waits
 * for vigild.  The hook reads no config (it links only libc and must start
 * fast), so the value travels in its command line as --timeout-ms.  A
 * config that cannot be read is left out with a warning: installing hooks
 * must not depend on it.
 */
static int decide_timeout(struct vbuf *b)
{
	struct config *cfg = NULL;
	struct config_diags d;
	uint32_t ms;
	int rc;

	memset(&d, 0, sizeof(d));
	rc = config_load(NULL, &cfg, &d);
	if (rc < 0 || !cfg) {
		fprintf(stderr, "vigil install: warning: the config file has errors; blocking hooks "
				"keep the default decision timeout\n");
		config_diags_print(&d, stderr, "  ");
		config_diags_release(&d);
		return 0;
	}
	ms = config_decisions_timeout_ms(config_tree(cfg));
	config_free(cfg);
	config_diags_release(&d);
	if (ms == 2000) /* vigil-hook's own default */
		return 0;
	return vbuf_appendf(b, " --timeout-ms %u", (unsigned)ms);
}

static int build_commands(struct install *in)
{
	const char *state = in->c->state_override[0] ? in->c->state_override
						     : getenv("VIGIL_STATE_DIR");
	const char *sock = getenv("VIGIL_SOCKET");
	const char *base = strrchr(in->hook_path, '/');
	struct vbuf *b = &in->command;
	json_t *utf8;
	int rc;

	if (install_has_control(in->hook_path)) {
		cli_error("the path of vigil-hook holds control characters; move it");
		return -EINVAL;
	}
	/* The hook finds its daemon through the state directory, so a non-default
	 * one has to travel with the command: the agent's environment lacks it. */
	if (state && *state && (rc = env_prefix(b, "VIGIL_STATE_DIR", state)) < 0)
		goto fail;
	if (sock && *sock && (rc = env_prefix(b, "VIGIL_SOCKET", sock)) < 0)
		goto fail;
	if ((rc = install_shell_quote(b, in->hook_path)) < 0 ||
	    (rc = vbuf_appendf(b, " --agent %s", in->agent->kind)) < 0)
		goto fail;
	if ((rc = vbuf_append(&in->command_decide, b->data, b->len)) < 0 ||
	    (rc = vbuf_append(&in->command_decide, " --decide", 9)) < 0 ||
	    (rc = decide_timeout(&in->command_decide)) < 0 ||
	    (rc = vbuf_append(&in->command_closed, in->command_decide.data,
			      in->command_decide.len)) < 0 ||
	    (rc = vbuf_append(&in->command_closed, " --fail-closed", 14)) < 0)
		goto fail;
	/* A hook under another name is recognised by its path. */
	if (base && !strstr(base, INSTALL_MARK) &&
	    (rc = install_shell_quote(&in->marker, in->hook_path)) < 0)
		goto fail;
	/* JSON strings are UTF-8; jansson refuses anything else. */
	utf8 = json_string((const char *)b->data);
	if (!utf8) {
		cli_error("the hook command is not valid UTF-8 (a path in another encoding?): %s",
			  (const char *)b->data);
		return -EINVAL;
	}
	json_decref(utf8);
	return 0;
fail:
	cli_error("cannot build the hook command: %s",
		  rc == -EINVAL ? "the state directory or socket path holds control characters"
				: strerror(-rc));
	return rc;
}

/* ---- reading, checking, writing ------------------------------------------------- */

static bool blank(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(" \t\r\n", s[i]))
			return false;
	return true;
}

/*
 * Reads the file (following a symlink to where it points).  Returns 0 with
 * in->raw NULL when there is no file, CLI_* on failure (message printed).
 */
static int load(struct install *in)
{
	struct stat st;
	int rc;

	vg_free(in->raw);
	in->raw = NULL;
	in->raw_len = 0;
	in->owned = false;
	if (vg_path(in->target, sizeof(in->target), "%s", in->path) < 0)
		return CLI_ERROR;
	if (lstat(in->path, &st) == 0 && S_ISLNK(st.st_mode)) {
		char real[PATH_MAX];

		/* Writing through the link keeps it (dotfile managers rely on that). */
		if (!realpath(in->path, real)) {
			cli_error("'%s' is a symlink to a missing file; not changed", in->path);
			return CLI_FAIL;
		}
		if (vg_path(in->target, sizeof(in->target), "%s", real) < 0)
			return CLI_ERROR;
	}
	if (stat(in->target, &st) == 0 && !S_ISREG(st.st_mode)) {
		cli_error("'%s' is not a regular file; not changed", in->path);
		return CLI_FAIL;
	}
	rc = vg_read_file(in->target, INSTALL_MAX_FILE, &in->raw, &in->raw_len);
	if (rc == -ENOENT) {
		mode_t mask = umask(0);

		umask(mask);
		in->mode = 0666 & ~mask;
		return 0;
	}
	if (rc == -EFBIG) {
		cli_error("'%s' is larger than %u MiB, not a settings file vigil will edit", in->path,
			  INSTALL_MAX_FILE >> 20);
		return CLI_FAIL;
	}
	if (rc < 0) {
		cli_error("cannot read '%s': %s", in->path, strerror(-rc));
		return CLI_ERROR;
	}
	in->owned = stat(in->target, &st) == 0;
	in->mode = in->owned ? (st.st_mode & 07777) : 0644;
	in->uid = in->owned ? st.st_uid : 0;
	in->gid = in->owned ? st.st_gid : 0;
	return 0;
}

/* Parses in->raw (an absent or blank file is an empty object). */
static int parse(struct install *in, json_t **out)
{
	json_error_t jerr;
	char why[512];

	if (!in->raw || blank(in->raw, in->raw_len)) {
		*out = json_object();
		return *out ? 0 : CLI_ERROR;
	}
	/* Duplicate keys would silently lose one of the values when rewritten. */
	*out = json_loadb(in->raw, in->raw_len, JSON_REJECT_DUPLICATES, &jerr);
	if (!*out) {
		cli_error("%s:%d:%d: %s; vigil cannot parse the file and did not change it",
			  in->path, jerr.line, jerr.column, jerr.text);
		return CLI_FAIL;
	}
	if (install_check(in->agent, *out, why, sizeof(why)) < 0) {
		cli_error("%s: %s; vigil does not know how to merge into it and did not change it",
			  in->path, why);
		json_decref(*out);
		*out = NULL;
		return CLI_FAIL;
	}
	return 0;
}

/* Settings that keep the agent from running any hook, vigil's included. */
static void check_disabled(struct install *in, const json_t *root)
{
	const json_t *hooks = json_object_get(root, "hooks");
	const json_t *hc = json_object_get(root, "hooksConfig");

	if (json_is_true(json_object_get(root, "disableAllHooks")))
		install_warn(in,
			     "%s sets \"disableAllHooks\": true, so %s runs no hooks (vigil's "
			     "included) until that is removed",
			     in->path, in->agent->title);
	if (!strcmp(in->agent->name, "gemini") &&
	    (json_is_false(json_object_get(hooks, "enabled")) ||
	     json_is_false(json_object_get(hc, "enabled"))))
		install_warn(in, "%s turns hooks off (\"enabled\": false), so %s will not run them",
			     in->path, in->agent->title);
}

/* True when the file still holds what load() read. */
static bool unchanged_since_load(struct install *in)
{
	char *now = NULL;
	size_t len = 0;
	int rc = vg_read_file(in->target, INSTALL_MAX_FILE, &now, &len);
	bool same;

	if (rc == -ENOENT)
		return !in->raw;
	same = rc == 0 && in->raw && len == in->raw_len && !memcmp(now, in->raw, len);
	vg_free(now);
	return same;
}

static int save(struct install *in, const char *text, size_t len)
{
	char dir[PATH_MAX];
	int rc;

	if (vg_path(dir, sizeof(dir), "%s", in->target) < 0)
		return -ENAMETOOLONG;
	/* .claude/ and the like; the umask decides their mode, as for any directory. */
	if ((rc = base_mkdir_p(dirname(dir), 0777, NULL)) < 0) {
		cli_error("cannot create '%s': %s", dir, strerror(-rc));
		return rc;
	}
	/* Next to the name the agent reads (a symlink's target may be a dotfiles repo). */
	if (in->raw && vg_path(in->backup, sizeof(in->backup), "%s" INSTALL_BACKUP_SUFFIX,
			       in->path) == 0 &&
	    access(in->backup, F_OK) < 0) {
		rc = vg_write_file_atomic(in->backup, in->raw, in->raw_len, in->mode);
		if (rc < 0) {
			cli_error("cannot keep a copy of '%s' in '%s': %s; not changed", in->path,
				  in->backup, strerror(-rc));
			return rc;
		}
		in->backup_written = true;
		if (in->owned && geteuid() == 0 && chown(in->backup, in->uid, in->gid) < 0)
			install_warn(in, "cannot give '%s' to uid %ld: %s", in->backup,
				     (long)in->uid, strerror(errno));
	}
	rc = vg_write_file_atomic(in->target, text, len, in->mode);
	if (rc < 0) {
		cli_error("cannot write '%s': %s", in->path, strerror(-rc));
		return rc;
	}
	/* The rename leaves a file owned by whoever ran vigil: under sudo, give a
	 * user's file back to its owner. */
	if (in->owned && geteuid() == 0 && chown(in->target, in->uid, in->gid) < 0)
		install_warn(in, "cannot give '%s' back to uid %ld: %s", in->path, (long)in->uid,
			     strerror(errno));
	return 0;
}

/* ---- output ------------------------------------------------------------------------ */

static void print_list(const char *what, const json_t *list)
{
	size_t i;
	json_t *v;

	if (!json_array_size(list))
		return;
	printf("  %-8s %zu:", what, json_array_size(list));
	json_array_foreach(list, i, v)
		printf("%s %s", i ? "," : "", json_string_value(v));
	putchar('\n');
}

static void report_text(struct install *in, bool changed, const char *text)
{
	const char *title = in->agent->title, *scope = scope_names[in->scope];
	const struct install_changes *ch = &in->ch;

	if (in->dry_run) {
		if (!changed) {
			printf("Dry run: nothing would change in %s (%s scope).\n", in->path, scope);
			return;
		}
		printf("Dry run: would add %zu, update %zu and remove %zu events in %s (%s "
		       "scope); nothing written.\n",
		       json_array_size(ch->added), json_array_size(ch->updated),
		       json_array_size(ch->removed), in->path, scope);
		print_list("add", ch->added);
		print_list("update", ch->updated);
		print_list("remove", ch->removed);
		printf("The file would read:\n%s", text);
		return;
	}
	if (in->remove) {
		if (!changed && !in->raw)
			printf("%s does not exist; nothing to remove.\n", in->path);
		else if (!changed)
			printf("No vigil hooks in %s (%s scope); nothing changed.\n", in->path, scope);
		else {
			printf("Removed vigil's %s hooks from %s (%s scope).\n", title, in->path,
			       scope);
			print_list("removed", ch->removed);
		}
	} else if (!changed) {
		printf("vigil's %s hooks are already installed in %s (%s scope); nothing "
		       "changed.\n",
		       title, in->path, scope);
	} else {
		printf("Installed vigil's %s hooks in %s (%s scope).\n", title, in->path, scope);
		print_list("added", ch->added);
		print_list("updated", ch->updated);
		print_list("removed", ch->removed);
		printf("  command  %s\n", (const char *)in->command.data);
	}
	if (in->backup_written)
		printf("  The previous file is kept as %s\n", in->backup);
}

static int report_json(struct install *in, bool changed, json_t *root)
{
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b, s:O, s:O, s:O, s:s?, s:s?, s:s?, s:O}",
			      "action", in->remove ? "uninstall" : "install", "agent",
			      in->agent->kind, "scope", scope_names[in->scope], "file", in->path,
			      "dry_run", in->dry_run, "changed", changed, "added", in->ch.added,
			      "updated", in->ch.updated, "removed", in->ch.removed, "backup",
			      in->backup_written ? in->backup : NULL, "hook",
			      in->hook_path[0] ? in->hook_path : NULL, "command",
			      in->command.data ? (const char *)in->command.data : NULL,
			      "warnings", in->warnings);

	if (!j) {
		cli_error("cannot format the JSON output (a path that is not UTF-8?)");
		return CLI_ERROR;
	}
	if (in->dry_run && json_object_set(j, "content", root) < 0) {
		json_decref(j);
		return CLI_ERROR;
	}
	json_dumpf(j, stdout, install_dump_flags(j));
	fputc('\n', stdout);
	json_decref(j);
	return CLI_OK;
}

/* ---- the command ------------------------------------------------------------------- */

static int install_once(struct install *in, bool *retry)
{
	json_t *root = NULL;
	struct vbuf text;
	char *dump = NULL;
	bool changed;
	int rc;

	*retry = false;
	vbuf_init(&text, INSTALL_MAX_FILE * 2);
	if ((rc = load(in)) != 0)
		return rc;
	if ((rc = parse(in, &root)) != 0)
		return rc;
	install_changes_release(&in->ch);
	if (install_changes_init(&in->ch) < 0) {
		rc = CLI_ERROR;
		goto out;
	}
	if (!in->remove)
		check_disabled(in, root);
	rc = in->remove ? install_remove(in->agent, root, (const char *)in->marker.data, &in->ch)
			: install_merge(in->agent, root,
					&(struct install_want){
						.command = (const char *)in->command.data,
						.command_decide = (const char *)in->command_decide.data,
						.command_closed = (const char *)in->command_closed.data,
						.fail_closed = in->fail_closed[0] ? in->fail_closed : NULL,
						.timeout = in->timeout_s * in->agent->timeout_scale,
						.marker = (const char *)in->marker.data,
					},
					&in->ch);
	if (rc < 0) {
		cli_error("out of memory");
		rc = CLI_ERROR;
		goto out;
	}
	changed = install_changes_count(&in->ch) > 0;
	if (changed || in->dry_run) {
		/* Two-space indent and a final newline, as people write these files. */
		dump = json_dumps(root, install_dump_flags(root));
		if (!dump || vbuf_append(&text, dump, strlen(dump)) < 0 ||
		    vbuf_append(&text, "\n", 1) < 0) {
			cli_error("cannot format the resulting file (out of memory or too large)");
			rc = CLI_ERROR;
			goto out;
		}
	}
	if (changed && !in->dry_run) {
		if (!unchanged_since_load(in)) {
			*retry = true;
			rc = CLI_OK;
			goto out;
		}
		if (save(in, (const char *)text.data, text.len) < 0) {
			rc = CLI_ERROR;
			goto out;
		}
	}
	if (in->json) {
		rc = report_json(in, changed, root);
	} else {
		report_text(in, changed, text.data ? (const char *)text.data : "");
		rc = CLI_OK;
	}
out:
	vbuf_release(&text);
	vg_free(dump);
	json_decref(root);
	return rc;
}

/* Every name of --fail-closed=EVENTS must be a blocking event of the agent. */
static int check_fail_closed(struct install *in)
{
	char list[1024], *save = NULL;

	if (!in->fail_closed[0] || !strcmp(in->fail_closed, "*"))
		return 0;
	snprintf(list, sizeof(list), "%s", in->fail_closed);
	for (char *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		size_t i;

		for (i = 0; i < in->agent->nevents; i++)
			if (!strcmp(in->agent->events[i].name, t))
				break;
		if (i == in->agent->nevents || !in->agent->events[i].decide) {
			char known[512] = "";
			size_t k = 0;

			for (i = 0; i < in->agent->nevents; i++)
				if (in->agent->events[i].decide)
					k += (size_t)snprintf(known + k, k < sizeof(known) ? sizeof(known) - k : 0,
							      "%s%s", k ? ", " : "",
							      in->agent->events[i].name);
			return cli_usage_error(in->cmd,
					       "--fail-closed: '%s' is not a blocking event of %s "
					       "(blocking events: %s)",
					       t, in->agent->title, known);
		}
	}
	return 0;
}

static int opt_scope(const struct cli_optarg *p, const char *arg);
static int opt_agent(const struct cli_optarg *p, const char *arg);
static int opt_fail_closed(const struct cli_optarg *p, const char *arg);
static int opt_timeout(const struct cli_optarg *p, const char *arg);

#define IN struct install
static const struct cli_option install_options[] = {
	CLI_GROUP("Where (Claude Code; PROJECT is --dir, else the git root of the current\n"
		  "directory, else the current directory):"),
	CLI_CALLBACK("project", 0, IN, scope, CLI_ARG_NONE, opt_scope, NULL,
		     "PROJECT/.claude/settings.json (default; shared with the team)"),
	CLI_CALLBACK("local", 0, IN, scope, CLI_ARG_NONE, opt_scope, NULL,
		     "PROJECT/.claude/settings.local.json (this checkout only)"),
	CLI_CALLBACK("user", 0, IN, scope, CLI_ARG_NONE, opt_scope, NULL,
		     "~/.claude/settings.json ($CLAUDE_CONFIG_DIR if set)"),
	CLI_CALLBACK("agent", 0, IN, agent, CLI_ARG_REQUIRED, opt_agent, "AGENT",
		     "claude (default), codex (PROJECT/.codex/hooks.json or\n"
		     "~/.codex/hooks.json) or gemini (PROJECT/.gemini/settings.json\n"
		     "or ~/.gemini/settings.json); codex and gemini have no --local"),
	CLI_GROUP("Options:"),
	CLI_STRING("dir", 0, IN, dir, "PROJECT", "the project directory"),
	CLI_STRING("hook", 0, IN, hook, "PATH",
		   "the vigil-hook to run (default: the one next to this vigil,\n"
		   "else vigil-hook on PATH); uninstall also recognises\n"
		   "commands running PATH"),
	CLI_CALLBACK("timeout", 0, IN, timeout_s, CLI_ARG_REQUIRED, opt_timeout, "SECONDS",
		     "the agent's time limit for one hook run (default 10)"),
	CLI_CALLBACK("fail-closed", 0, IN, fail_closed, CLI_ARG_OPTIONAL, opt_fail_closed,
		     "[=EVENTS]",
		     "blocking events whose action is refused when vigild\n"
		     "cannot decide (down, late, failing); EVENTS is a comma\n"
		     "list (e.g. PreToolUse), all blocking events without it.\n"
		     "Default: fail open (the action runs, the event is\n"
		     "spooled and an alert is raised once vigild is back)"),
	CLI_FLAG("dry-run", 0, IN, dry_run, "show what would change and the resulting file; write nothing"),
	CLI_OPT_JSON("print {action, agent, scope, file, changed, added, updated,\n"
		     "removed, ...} as JSON"),
	CLI_OPT_STATE_DIR_HELP("state directory of the vigild to report to"),
	CLI_END,
};
#undef IN

#define INSTALL_USAGE                                                                      \
	"usage: vigil install   [--project|--local|--user] [--agent AGENT] [--dir PROJECT]\n" \
	"                       [--hook PATH] [--timeout SECONDS] [--fail-closed[=EVENTS]]\n" \
	"                       [--dry-run] [--json]\n"                                        \
	"       vigil uninstall [--project|--local|--user] [--agent AGENT] [--dir PROJECT]\n" \
	"                       [--hook PATH] [--dry-run] [--json]\n"                          \
	"\n"                                                                                    \
	"install adds vigil's hook (vigil-hook) to every hook event of a coding agent, so\n"   \
	"that each prompt, tool call, result, subagent and stop reaches vigild.  It merges\n"  \
	"into the settings file: the user's own hooks and every other setting stay as\n"       \
	"they are, vigil's entries are added once and updated in place (a second run\n"        \
	"changes nothing).  A file that is not valid JSON or not shaped like hook\n"           \
	"settings is left untouched, with the reason.  uninstall removes exactly vigil's\n"    \
	"entries.  The first change to an existing file keeps a copy of it as\n"               \
	"FILE" INSTALL_BACKUP_SUFFIX ".\n"
#define INSTALL_FOOTER                                                                     \
	"When the state directory is not the default one (--state-dir or\n"                    \
	"$VIGIL_STATE_DIR is set), the hook command starts with VIGIL_STATE_DIR=DIR so\n"      \
	"that the hook reaches that daemon; $VIGIL_SOCKET is carried the same way.\n"          \
	"\n"                                                                                    \
	"Exit status: 0 done (or nothing to do); 1 the settings file cannot be used\n"         \
	"(invalid JSON, wrong shape, too large); 2 usage error; 3 vigil-hook not found\n"      \
	"or the file could not be read or written.\n"

static const struct cli_cmd install_cmd = {
	.name = "install",
	.usage = INSTALL_USAGE,
	.options = install_options,
	.footer = INSTALL_FOOTER,
	.max_args = 0,
};

static const struct cli_cmd uninstall_cmd = {
	.name = "uninstall",
	.usage = INSTALL_USAGE,
	.options = install_options,
	.footer = INSTALL_FOOTER,
	.max_args = 0,
};

/* --project, --local, --user: one of them. */
static int opt_scope(const struct cli_optarg *p, const char *arg)
{
	const char *name = p->opt->long_name;
	enum install_scope *scope = p->value;
	enum install_scope s = !strcmp(name, "project") ? SCOPE_PROJECT
			       : !strcmp(name, "local") ? SCOPE_LOCAL
							: SCOPE_USER;

	(void)arg;
	if (*scope != SCOPE_UNSET && s != *scope)
		return cli_usage_error(p->cmd, "give one of --project, --local, --user");
	*scope = s;
	return 0;
}

static int opt_agent(const struct cli_optarg *p, const char *arg)
{
	const struct install_agent *a = install_agent_find(arg);

	if (!a)
		return cli_usage_error(p->cmd, "--agent '%s': not one of claude, codex, gemini", arg);
	*(const struct install_agent **)p->value = a;
	return 0;
}

static int opt_timeout(const struct cli_optarg *p, const char *arg)
{
	unsigned long long v;
	char *end;

	errno = 0;
	v = strtoull(arg, &end, 10);
	if (errno || end == arg || *end || *arg == '-' || v < 1 || v > INSTALL_MAX_TIMEOUT)
		return cli_usage_error(p->cmd, "--timeout '%s': give whole seconds, 1 to %d", arg,
				       INSTALL_MAX_TIMEOUT);
	*(uint64_t *)p->value = v;
	return 0;
}

/* --fail-closed[=EVENTS]: "*" for all, else ",Ev1,Ev2," (checked later,
 * when the agent is known). */
static int opt_fail_closed(const struct cli_optarg *p, const char *arg)
{
	char *fc = p->value;
	size_t cap = sizeof(((struct install *)0)->fail_closed);

	if (!arg || !*arg || !strcmp(arg, "all"))
		snprintf(fc, cap, "*");
	else if (snprintf(fc, cap, ",%s,", arg) >= (int)cap)
		return cli_usage_error(p->cmd, "--fail-closed: list too long");
	return 0;
}

/* CLI_CONTINUE, or the exit status (--help, usage errors). */
static int parse_args(struct install *in, int argc, char **argv)
{
	int rc = cli_parse(in->c, in->remove ? &uninstall_cmd : &install_cmd, in, &argc, &argv);

	if (rc != CLI_CONTINUE)
		return rc;
	in->json = in->c->json;
	if (in->scope == SCOPE_UNSET)
		in->scope = SCOPE_PROJECT;
	if (in->scope == SCOPE_LOCAL && !in->agent->local_file)
		return cli_usage_error(in->cmd, "%s has no local scope; use --project or --user",
				       in->agent->title);
	if (in->scope == SCOPE_USER && in->dir)
		return cli_usage_error(in->cmd, "--dir applies to --project and --local");
	if (in->remove && in->timeout_s)
		return cli_usage_error(in->cmd, "--timeout applies to install");
	if (in->remove && in->fail_closed[0])
		return cli_usage_error(in->cmd, "--fail-closed applies to install");
	if (!in->timeout_s)
		in->timeout_s = INSTALL_DEFAULT_TIMEOUT;
	rc = check_fail_closed(in);
	return rc ? rc : CLI_CONTINUE;
}

static int install_main(struct cli *c, int argc, char **argv, bool remove)
{
	struct install in = {
		.c = c,
		.cmd = remove ? "uninstall" : "install",
		.agent = install_agent_find("claude"),
		.remove = remove,
		.scope = SCOPE_UNSET,
	};
	bool retry = false;
	int rc;

	vbuf_init(&in.command, INSTALL_MAX_CMD);
	vbuf_init(&in.command_decide, INSTALL_MAX_CMD);
	vbuf_init(&in.command_closed, INSTALL_MAX_CMD);
	vbuf_init(&in.marker, INSTALL_MAX_CMD);
	in.warnings = json_array();
	if (!in.warnings) {
		rc = CLI_ERROR;
		goto out;
	}
	rc = parse_args(&in, argc, argv);
	if (rc != CLI_CONTINUE)
		goto out;
	if (settings_path(&in) < 0) {
		rc = CLI_ERROR;
		goto out;
	}
	if (remove) {
		if (in.hook && (install_absolutize(in.hook, in.hook_path, sizeof(in.hook_path)) < 0 ||
				install_shell_quote(&in.marker, in.hook_path) < 0)) {
			cli_error("--hook '%s': path too long", in.hook);
			rc = CLI_USAGE;
			goto out;
		}
	} else if (find_hook(&in) < 0 || build_commands(&in) < 0) {
		rc = CLI_ERROR;
		goto out;
	}
	for (int attempt = 0; attempt < INSTALL_ATTEMPTS; attempt++) {
		rc = install_once(&in, &retry);
		if (!retry)
			goto out;
		/* Someone wrote the file between our read and our write: start over. */
		json_array_clear(in.warnings);
	}
	cli_error("'%s' keeps changing while vigil edits it; try again", in.path);
	rc = CLI_ERROR;
out:
	install_changes_release(&in.ch);
	json_decref(in.warnings);
	vbuf_release(&in.command);
	vbuf_release(&in.command_decide);
	vbuf_release(&in.command_closed);
	vbuf_release(&in.marker);
	vg_free(in.raw);
	return rc;
}

int cmd_install(struct cli *c, int argc, char **argv)
{
	return install_main(c, argc, argv, false);
}

int cmd_uninstall(struct cli *c, int argc, char **argv)
{
	return install_main(c, argc, argv, true);
}
