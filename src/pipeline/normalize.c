/*
 * normalize.c - one hook payload in, one schema v1 event out
 * (docs/event-schema.md).
 *
 * Order of work: refuse oversized input, hash the raw bytes, parse (parse.c's
 * fast path, else jansson), read the facts the event needs from the
 * untouched object (so the scope check sees whole paths), then copy the
 * fields into the event through the redact-and-truncate step, and finally
 * redact and truncate every string of the payload in place, so no secret
 * reaches the event by any field.
 *
 * Cost: this runs for every hook call, so the common case is kept cheap.
 * A string that redaction's pre-pass (redact_needed) calls clean and that
 * needs no truncation is not copied: the payload keeps it and a field taken
 * from it shares the same JSON string.  Only strings that change are
 * rebuilt, through one scratch buffer per call (struct norm_work).
 *
 * From the untouched payload it also derives file_change (filechange.c),
 * usage (an Agent/Task result's tokens) and the baseline risk (risk.c).
 *
 * What is left for the daemon (it has the filesystem and the history): the
 * project root lookup (project.c, passed in as envelope.project_dir; here
 * the fallback is the payload's cwd), the agent version from the transcript,
 * and everything across events (correlate.c: pairing, parents, abandoned).
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"
#include "redact.h"

#include <errno.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <pwd.h>
#include <stdbool.h>
#include <stdio.h>
#include <unistd.h>

#define NORM_PATH_MAX 4096

int norm_ctx_new(const struct norm_options *o, struct norm_ctx **out)
{
	struct norm_options d = { 0 };
	struct norm_ctx *c;
	char host[256] = "", pwbuf[4096];
	struct passwd pw, *pwp = NULL;
	const char *home;

	*out = NULL;
	if (!o)
		o = &d;
	if (o->max_string && o->max_string < 16)
		return -EINVAL;
	c = vg_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->max_string = o->max_string ? o->max_string : NORM_DEFAULT_MAX_STRING;
	c->max_input = o->max_input ? o->max_input : NORM_DEFAULT_MAX_INPUT;
	if (!o->host && gethostname(host, sizeof(host) - 1) < 0)
		host[0] = 0;
	if (!o->user && getpwuid_r(geteuid(), &pw, pwbuf, sizeof(pwbuf), &pwp) != 0)
		pwp = NULL;
	c->host = vg_strdup(o->host ? o->host : host);
	c->user = vg_strdup(o->user ? o->user : pwp ? pw.pw_name : "");
	/* The session user's home, for ~ and $HOME in paths (the scope check). */
	home = o->home;
	if (!home) {
		if (o->user && getpwnam_r(o->user, &pw, pwbuf, sizeof(pwbuf), &pwp) != 0)
			pwp = NULL;
		home = pwp && pwp->pw_dir && pwp->pw_dir[0] == '/' ? pwp->pw_dir : NULL;
	}
	if (home)
		c->home = vg_strdup(home);
	if (!c->host || !c->user || (home && !c->home)) {
		norm_ctx_free(c);
		return -ENOMEM;
	}
	/* The embedded catalogue; it fails only in a broken build, which its
	 * own tests catch first, so the message goes to the log. */
	{
		char err[256];
		int rc = rd_catalog_default(&c->rd, err, sizeof(err));

		if (rc < 0) {
			if (rc != -ENOMEM)
				vg_err("secret catalogue: %s", err);
			norm_ctx_free(c);
			return rc;
		}
	}
	*out = c;
	return 0;
}

void norm_ctx_free(struct norm_ctx *c)
{
	if (!c)
		return;
	vg_free(c->host);
	vg_free(c->user);
	vg_free(c->home);
	rd_catalog_free(c->rd);
	vg_free(c);
}

int norm_redact(const struct norm_ctx *c, const char *s, size_t len, struct vbuf *out)
{
	int rc;

	if (rd_needed(c->rd, s, len)) {
		return rd_scan(c->rd, s, len, out);
	}
	vbuf_reset(out);
	if ((rc = vbuf_reserve(out, len + 1)) < 0 || (rc = vbuf_append(out, s, len)) < 0)
		return rc;
	return 0;
}

/* ---- classification ------------------------------------------------------- */

static const struct {
	const char *name, *type;
} tool_types[] = {
	{ "Read", "file_read" },
	{ "Write", "file_write" },
	{ "Edit", "file_edit" },
	{ "MultiEdit", "file_edit" },
	{ "NotebookEdit", "notebook_operation" },
	{ "NotebookRead", "notebook_operation" },
	{ "Bash", "command_execution" },
	{ "BashOutput", "command_execution" },
	{ "KillShell", "command_execution" },
	{ "KillBash", "command_execution" },
	{ "Grep", "code_search" },
	{ "Glob", "file_search" },
	{ "LS", "file_search" },
	{ "WebFetch", "web_fetch" },
	{ "WebSearch", "web_search" },
	{ "Agent", "sub_agent_delegation" },
	{ "Task", "sub_agent_delegation" },
	{ "TodoWrite", "task_management" },
	{ "TodoRead", "task_management" },
	{ "TaskCreate", "task_management" },
	{ "TaskUpdate", "task_management" },
	{ "TaskList", "task_management" },
	{ "TaskGet", "task_management" },
	{ "TaskOutput", "task_management" },
	{ "TaskStop", "task_management" },
};

static const struct {
	const char *hook, *type;
} hook_types[] = {
	{ "UserPromptSubmit", "user_prompt" },
	{ "SessionStart", "session_start" },
	{ "SessionEnd", "session_end" },
	{ "Stop", "stop" },
	{ "SubagentStart", "subagent_start" },
	{ "SubagentStop", "subagent_stop" },
	{ "Notification", "notification" },
	{ "PreCompact", "compact" },
	{ "PostCompact", "compact" },
	{ "PermissionRequest", "permission_request" },
};

/* Hooks whose payload describes one tool call. */
static bool is_tool_hook(const char *hook)
{
	static const char *const h[] = { "PreToolUse", "PostToolUse", "PostToolUseFailure",
					 "PermissionRequest", "PermissionDenied" };

	for (size_t i = 0; i < VG_ARRAY_LEN(h); i++)
		if (strcmp(hook, h[i]) == 0)
			return true;
	return false;
}

static const char *tool_event_type(const char *tool)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(tool_types); i++)
		if (strcmp(tool, tool_types[i].name) == 0)
			return tool_types[i].type;
	if (strncmp(tool, "mcp__", 5) == 0)
		return "mcp_tool_call";
	return "tool_use";
}

/* ---- strings ---------------------------------------------------------------- */

static const char *get_str(const json_t *o, const char *key)
{
	const json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? json_string_value(v) : NULL;
}

/* The JSON string under key, or NULL. */
static json_t *get_jstr(const json_t *o, const char *key)
{
	json_t *v = json_is_object(o) ? json_object_get(o, key) : NULL;

	return json_is_string(v) ? v : NULL;
}

/*
 * One norm_event call's working state: the context and one scratch buffer
 * that every string's redaction reuses (instead of a buffer per string),
 * released when the call ends.  Each call has its own, so calls on several
 * threads share nothing but the immutable context.
 */
struct norm_work {
	const struct norm_ctx *c;
	struct vbuf buf;
	bool raw; /* NORM_RAW: strings as the agent sent them (cleaned later) */
};

/*
 * s (len bytes) redacted and truncated to max_string bytes (on a UTF-8
 * boundary) with a "…[truncated N bytes]" suffix.  Returns a new reference:
 * to orig (the JSON string holding s, when there is one) if nothing had to
 * change, which is the usual case and costs no copy; otherwise to a new
 * string.  NULL: -ENOMEM (or s is not UTF-8, which a JSON string never is).
 */
static json_t *clean_string(struct norm_work *w, const char *s, size_t len, json_t *orig,
			    int *hits)
{
	struct vbuf *b = &w->buf;
	bool cut_short = false;
	int rc;

	/* orig stands for s only when it holds exactly s (no NUL byte cut it short). */
	if (orig && json_string_length(orig) != len)
		orig = NULL;
	if (w->raw) {
		/* Unredacted and cut only at NORM_RAW_MAX_STRING: the rules read
		 * this event, then norm_clean_event() makes it the one that is
		 * stored.  The secrets are still counted (the risk reads how
		 * many). */
		if (hits && rd_needed(w->c->rd, s, len)) {
			b->limit = len * 8 + 4096;
			if ((rc = rd_scan(w->c->rd, s, len, b)) < 0)
				return NULL;
			*hits += rc;
		}
		if (len > NORM_RAW_MAX_STRING) {
			size_t keep = NORM_RAW_MAX_STRING;

			while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
				keep--;
			return json_stringn(s, keep);
		}
		return orig ? json_incref(orig) : json_stringn(s, len);
	}
	if (len <= w->c->max_string && !rd_needed(w->c->rd, s, len))
		return orig ? json_incref(orig) : json_stringn(s, len);
	/* The limit of the old per-string buffer: redaction may lengthen a string. */
	b->limit = len * 8 + 4096;
	rc = norm_redact(w->c, s, len, b);
	if (rc < 0)
		return NULL;
	if (hits)
		*hits += rc;
	if (b->len > w->c->max_string) {
		size_t keep = w->c->max_string, cut;
		char tail[64];
		int tn;

		while (keep > 0 && (b->data[keep] & 0xc0) == 0x80)
			keep--;
		cut = b->len - keep;
		b->len = keep;
		cut_short = true;
		tn = snprintf(tail, sizeof(tail), "\xe2\x80\xa6[truncated %zu bytes]", cut);
		if (tn < 0 || (size_t)tn >= sizeof(tail) || vbuf_append(b, tail, (size_t)tn) < 0)
			return NULL;
	}
	if (rc == 0 && !cut_short && orig)
		return json_incref(orig);
	return json_stringn((const char *)b->data, b->len);
}

/* Sets key to the cleaned s (NULL: nothing to set). */
static int set_clean(struct norm_work *w, json_t *o, const char *key, const char *s)
{
	json_t *j;

	if (!s)
		return 0;
	j = clean_string(w, s, strlen(s), NULL, NULL);
	if (!j || json_object_set_new(o, key, j) < 0)
		return -ENOMEM;
	return 0;
}

/* Sets key to the cleaned JSON string v (NULL: nothing to set). */
static int set_clean_json(struct norm_work *w, json_t *o, const char *key, json_t *v)
{
	json_t *j;

	if (!v)
		return 0;
	/* Up to a NUL byte, as for every copied field (JSON_ALLOW_NUL lets one in). */
	j = clean_string(w, json_string_value(v), strlen(json_string_value(v)), v, NULL);
	if (!j || json_object_set_new(o, key, j) < 0)
		return -ENOMEM;
	return 0;
}

/* "[REDACTED:<kind>]" as a new JSON string. */
static json_t *redacted(const char *kind)
{
	char tmp[64];
	size_t n = strlen(kind);

	if (n > sizeof(tmp) - 12)
		return NULL;
	memcpy(tmp, "[REDACTED:", 10);
	memcpy(tmp + 10, kind, n);
	tmp[10 + n] = ']';
	return json_stringn_nocheck(tmp, n + 11);
}

/*
 * The member of v whose key holds a secret ({"ghp_...": 1}) is moved to the
 * redacted key.  Keys are rare carriers, so this is the slow path: only
 * when the pre-pass calls a key suspect.  1: renamed, 0: nothing to do.
 */
static int clean_key(struct norm_work *w, json_t *v, const char *key, size_t klen, int *hits)
{
	const struct rd_catalog *rd = w->c->rd;
	struct vbuf *b = &w->buf;
	json_t *val;
	int rc;

	if (!rd_needed(rd, key, klen))
		return 0;
	b->limit = klen * 8 + 4096;
	if ((rc = rd_scan(rd, key, klen, b)) <= 0)
		return rc;
	*hits += rc;
	/* Another member may already have that name: keep both, numbered. */
	for (int i = 2; json_object_getn(v, (const char *)b->data, b->len) && i < 1000; i++)
		if ((rc = vbuf_appendf(b, "#%d", i)) < 0)
			return rc;
	val = json_incref(json_object_getn(v, key, klen));
	if (json_object_deln(v, key, klen) < 0 ||
	    json_object_setn_new(v, (const char *)b->data, b->len, val) < 0)
		return -ENOMEM;
	return 1;
}

/* Keys of v that hold secrets: renamed after the walk (renaming while
 * iterating would disturb it).  Bounded by the object's size. */
static int clean_keys(struct norm_work *w, json_t *v, int *hits)
{
	char **suspect = NULL;
	size_t *lens = NULL, n = 0, cap = json_object_size(v);
	void *it;
	int rc = 0;

	for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
		const char *k = json_object_iter_key(it);
		size_t kl = json_object_iter_key_len(it);

		if (!rd_needed(w->c->rd, k, kl))
			continue;
		if (!suspect && (!(suspect = vg_calloc(cap, sizeof(*suspect))) ||
				 !(lens = vg_calloc(cap, sizeof(*lens))))) {
			rc = -ENOMEM;
			goto out;
		}
		/* A copy: the key's storage goes with its member when renamed. */
		if (!(suspect[n] = vg_malloc(kl + 1))) {
			rc = -ENOMEM;
			goto out;
		}
		memcpy(suspect[n], k, kl);
		suspect[n][kl] = '\0';
		lens[n++] = kl;
	}
	for (size_t i = 0; i < n && rc >= 0; i++)
		rc = clean_key(w, v, suspect[i], lens[i], hits);
out:
	for (size_t i = 0; i < n; i++)
		vg_free(suspect[i]);
	vg_free(suspect);
	vg_free(lens);
	return rc < 0 ? rc : 0;
}

/*
 * Redacts and truncates every string of v in place, object keys included; a
 * value under a key that names a secret ("password": "...") is replaced
 * wholesale when it is a literal (not "${DB_PASSWORD}", not "none").  A
 * string that needs no change is left where it is.  Depth is bounded by
 * jansson's parser (2048).
 */
static int clean_tree(struct norm_work *w, json_t *v, int *hits)
{
	if (json_is_object(v)) {
		json_t *x;
		void *it;

		for (it = json_object_iter(v); it; it = json_object_iter_next(v, it)) {
			x = json_object_iter_value(it);
			if (json_is_string(x)) {
				const char *kind = NULL;
				enum rd_key cls = rd_key_class(w->c->rd, json_object_iter_key(it),
							       json_object_iter_key_len(it), &kind);
				json_t *n;

				if (cls != RD_KEY_NONE &&
				    !rd_value_secret(cls, json_string_value(x),
						     json_string_length(x)))
					kind = NULL;
				if (kind) {
					n = redacted(kind);
					(*hits)++;
				} else {
					n = clean_string(w, json_string_value(x), json_string_length(x),
							 x, hits);
				}
				if (!n)
					return -ENOMEM;
				if (n == x) {
					json_decref(n);
					continue;
				}
				if (json_object_iter_set_new(v, it, n) < 0)
					return -ENOMEM;
			} else if (clean_tree(w, x, hits) < 0) {
				return -ENOMEM;
			}
		}
		if (clean_keys(w, v, hits) < 0)
			return -ENOMEM;
	} else if (json_is_array(v)) {
		for (size_t i = 0; i < json_array_size(v); i++) {
			json_t *x = json_array_get(v, i);

			if (json_is_string(x)) {
				json_t *n = clean_string(w, json_string_value(x), json_string_length(x),
							 x, hits);

				if (!n)
					return -ENOMEM;
				if (n == x) {
					json_decref(n);
					continue;
				}
				if (json_array_set_new(v, i, n) < 0)
					return -ENOMEM;
			} else if (clean_tree(w, x, hits) < 0) {
				return -ENOMEM;
			}
		}
	}
	return 0;
}

/* ---- paths and scope ---------------------------------------------------------- */

int norm_path(const char *base, const char *path, char *out, size_t cap)
{
	const char *parts[2] = { NULL, path };
	size_t o = 0;

	if (!path || cap < 2)
		return -EINVAL;
	if (path[0] != '/') {
		if (!base || base[0] != '/')
			return -EINVAL;
		parts[0] = base;
	}
	for (int k = 0; k < 2; k++) {
		const char *s = parts[k];

		while (s && *s) {
			const char *e;
			size_t n;

			while (*s == '/')
				s++;
			e = s;
			while (*e && *e != '/')
				e++;
			n = (size_t)(e - s);
			if (n == 0 || (n == 1 && s[0] == '.')) {
				/* nothing */
			} else if (n == 2 && s[0] == '.' && s[1] == '.') {
				while (o > 0 && out[o - 1] != '/')
					o--;
				if (o > 0)
					o--;
			} else {
				if (o + 1 + n + 1 > cap)
					return -ENAMETOOLONG;
				out[o++] = '/';
				memcpy(out + o, s, n);
				o += n;
			}
			s = e;
		}
	}
	if (o == 0)
		out[o++] = '/';
	out[o] = 0;
	return 0;
}

bool norm_under(const char *r, const char *p)
{
	size_t n = strlen(r);

	if (strcmp(r, "/") == 0)
		return true;
	return strncmp(p, r, n) == 0 && (p[n] == 0 || p[n] == '/');
}

/*
 * A path as the shell (and the agent's file tools) would read its start:
 * "~", "~/...", "$HOME", "${HOME}" and "~USER" for the session's own user
 * become the session user's home.  Returns path itself when it starts with
 * none of them, buf when it was expanded, or NULL when it names another
 * user's home ("~root/...": *other is set) or the home is unknown.
 */
static const char *expand_home(const struct norm_ctx *c, const char *path, char *buf, size_t cap,
			       bool *other)
{
	static const char *const vars[] = { "${HOME}", "$HOME" };
	const char *rest = NULL;

	*other = false;
	if (path[0] == '~') {
		size_t n = strcspn(path + 1, "/");

		if (n && (!c->user[0] || strlen(c->user) != n || strncmp(path + 1, c->user, n))) {
			*other = true;
			return NULL;
		}
		rest = path + 1 + n;
	}
	for (size_t i = 0; !rest && i < VG_ARRAY_LEN(vars); i++) {
		size_t n = strlen(vars[i]);

		if (!strncmp(path, vars[i], n) && (path[n] == '/' || path[n] == '\0'))
			rest = path + n;
	}
	if (!rest)
		return path;
	if (!c->home || c->home[0] != '/' ||
	    (size_t)snprintf(buf, cap, "%s%s", c->home, rest) >= cap)
		return NULL;
	return buf;
}

/* 1 outside, 0 inside, negative: cannot tell. */
static int path_outside(const struct norm_ctx *c, const char *root, const char *cwd,
			const char *path)
{
	char p[NORM_PATH_MAX], h[NORM_PATH_MAX];
	bool other;

	if (!root || !path || !*path)
		return -EINVAL;
	path = expand_home(c, path, h, sizeof(h), &other);
	if (!path)
		return other ? 1 : -EINVAL;
	if (norm_path(cwd, path, p, sizeof(p)) < 0)
		return -EINVAL;
	return norm_under(root, p) ? 0 : 1;
}

/*
 * A Bash command reaches outside the project when one of its words is an
 * absolute path (or a ../ path, or one starting at a home: ~, ~user, $HOME,
 * ${HOME}) outside the root.  Words split on whitespace,
 * quotes and shell operators; "--opt=/path" counts through the '='.
 */
static int command_outside(const struct norm_ctx *c, const char *root, const char *cwd,
			   const char *cmd)
{
	static const char *const harmless[] = { "/dev/null", "/dev/stdin", "/dev/stdout",
						 "/dev/stderr" };
	const char *s = cmd;
	char word[NORM_PATH_MAX];

	if (!root || !cmd)
		return -EINVAL;
	while (*s) {
		size_t n = 0;
		bool skip = false;

		while (*s && strchr(" \t\r\n'\"`;|&<>()=", *s))
			s++;
		while (s[n] && !strchr(" \t\r\n'\"`;|&<>()=", s[n]))
			n++;
		if (n == 0)
			break;
		if ((s[0] == '/' || s[0] == '~' || (n >= 3 && memcmp(s, "../", 3) == 0) ||
		     (n >= 5 && memcmp(s, "$HOME", 5) == 0) ||
		     (n >= 7 && memcmp(s, "${HOME}", 7) == 0)) &&
		    n < sizeof(word)) {
			memcpy(word, s, n);
			word[n] = 0;
			for (size_t i = 0; i < VG_ARRAY_LEN(harmless); i++)
				if (strcmp(word, harmless[i]) == 0)
					skip = true;
			if (!skip && path_outside(c, root, cwd, word) == 1)
				return 1;
		}
		s += n;
	}
	return 0;
}

/* ---- the event ------------------------------------------------------------------ */

static void set_err(char *err, size_t errcap, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void set_err(char *err, size_t errcap, const char *fmt, ...)
{
	va_list ap;

	if (!err || !errcap)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errcap, fmt, ap);
	va_end(ap);
}

/*
 * jansson's parse error as one line.  A duplicate key is named plainly: it
 * is the ambiguity an agent and a naive reader resolve differently (the
 * last value or the first), so the reason must say which key.
 */
static void json_error_msg(const json_error_t *je, char *err, size_t errcap)
{
	static const char dup[] = "duplicate object key near '";
	size_t n = strlen(je->text);

	if (!strncmp(je->text, dup, sizeof(dup) - 1) && n > sizeof(dup) && je->text[n - 1] == '\'')
		set_err(err, errcap, "duplicate key %.*s (line %d column %d)",
			(int)(n - sizeof(dup)), je->text + sizeof(dup) - 1, je->line, je->column);
	else
		set_err(err, errcap, "invalid JSON at line %d column %d: %s", je->line, je->column,
			je->text);
}

struct facts {
	const char *hook, *tool, *event_type, *target, *scope_path, *command;
	json_t *hook_j, *tool_j, *target_j; /* the JSON strings of hook, tool and target */
	bool is_tool;
};

/* The string of v (NULL: none), remembered as the target's JSON string. */
static const char *take_target(struct facts *f, json_t *v)
{
	f->target_j = v;
	return v ? json_string_value(v) : NULL;
}

static void classify(const json_t *in, struct facts *f)
{
	const json_t *ti = json_object_get(in, "tool_input");

	f->hook_j = get_jstr(in, "hook_event_name");
	f->hook = f->hook_j ? json_string_value(f->hook_j) : NULL;
	if (!f->hook || !*f->hook) {
		f->hook = "unknown";
		f->hook_j = NULL;
	}
	f->tool_j = get_jstr(in, "tool_name");
	f->tool = f->tool_j ? json_string_value(f->tool_j) : NULL;
	f->is_tool = is_tool_hook(f->hook) && f->tool;
	if (f->is_tool) {
		f->event_type = tool_event_type(f->tool);
	} else {
		f->event_type = "other";
		for (size_t i = 0; i < VG_ARRAY_LEN(hook_types); i++)
			if (strcmp(f->hook, hook_types[i].hook) == 0)
				f->event_type = hook_types[i].type;
	}
	if (strcmp(f->hook, "UserPromptSubmit") == 0) {
		f->target = take_target(f, get_jstr(in, "prompt"));
		return;
	}
	if (!f->is_tool || !json_is_object(ti))
		return;
	if (!strcmp(f->event_type, "file_read") || !strcmp(f->event_type, "file_write") ||
	    !strcmp(f->event_type, "file_edit")) {
		f->target = f->scope_path = take_target(f, get_jstr(ti, "file_path"));
	} else if (!strcmp(f->event_type, "notebook_operation")) {
		f->target = f->scope_path = take_target(f, get_jstr(ti, "notebook_path"));
	} else if (!strcmp(f->tool, "Bash")) {
		f->target = f->command = take_target(f, get_jstr(ti, "command"));
	} else if (!strcmp(f->tool, "Grep") || !strcmp(f->tool, "Glob")) {
		f->target = take_target(f, get_jstr(ti, "pattern"));
		f->scope_path = get_str(ti, "path");
	} else if (!strcmp(f->tool, "LS")) {
		f->target = f->scope_path = take_target(f, get_jstr(ti, "path"));
	} else if (!strcmp(f->tool, "WebFetch")) {
		f->target = take_target(f, get_jstr(ti, "url"));
	} else if (!strcmp(f->tool, "WebSearch")) {
		f->target = take_target(f, get_jstr(ti, "query"));
	} else if (!strcmp(f->event_type, "sub_agent_delegation")) {
		f->target = take_target(f, get_jstr(ti, "description"));
		if (!f->target)
			f->target = take_target(f, get_jstr(ti, "prompt"));
	}
}

/*
 * The SHA-256 implementation, fetched once per process.  EVP_sha256() alone
 * makes OpenSSL 3 look the algorithm up again (under a lock) on every
 * digest, which cost more than hashing a typical payload.  A fetched
 * EVP_MD is immutable and may be shared by threads; this pointer is the
 * pipeline's one global, written once under pthread_once and kept until
 * exit.
 */
/* file_change, from fc_compute()'s result; path: the tool's file_path. */
static int add_file_change(struct norm_work *w, json_t *ev, const struct fc_result *r,
			   const char *path, const char *cwd)
{
	json_t *o = json_object();
	char p[NORM_PATH_MAX];

	if (!o || json_object_set_new(ev, "file_change", o) < 0)
		return -ENOMEM;
	if (path && set_clean(w, o, "path", norm_path(cwd, path, p, sizeof(p)) == 0 ? p : path) < 0)
		return -ENOMEM;
	if (json_object_set_new(o, "created", json_boolean(r->created)) < 0)
		return -ENOMEM;
	if (r->before_known) {
		if (json_object_set_new(o, "before_sha256", json_string(r->before)) < 0)
			return -ENOMEM;
	} else if (!r->created && json_object_set_new(o, "before_unknown", json_true()) < 0) {
		return -ENOMEM;
	}
	if (r->after_known) {
		if (json_object_set_new(o, "after_sha256", json_string(r->after)) < 0)
			return -ENOMEM;
	} else if (json_object_set_new(o, "after_unknown", json_true()) < 0) {
		return -ENOMEM;
	}
	if (r->lines_known &&
	    (json_object_set_new(o, "lines_added", json_integer((json_int_t)r->added)) < 0 ||
	     json_object_set_new(o, "lines_removed", json_integer((json_int_t)r->removed)) < 0))
		return -ENOMEM;
	return 0;
}

/* A non-negative whole number, or -1. */
static json_int_t count_of(const json_t *v)
{
	if (json_is_integer(v))
		return json_integer_value(v) >= 0 ? json_integer_value(v) : -1;
	if (json_is_real(v) && json_real_value(v) >= 0 && json_real_value(v) < 9.0e15)
		return (json_int_t)json_real_value(v);
	return -1;
}

/* usage: the tokens an Agent/Task call's subagent spent (its PostToolUse). */
static int add_usage(json_t *ev, const json_t *in, const struct facts *f)
{
	const json_t *tr = json_object_get(in, "tool_response"), *u;
	static const struct {
		bool inner; /* in tool_response.usage, else in tool_response */
		const char *from, *to;
	} map[] = {
		{ true, "input_tokens", "input_tokens" },
		{ true, "output_tokens", "output_tokens" },
		{ true, "cache_read_input_tokens", "cache_read_input_tokens" },
		{ true, "cache_creation_input_tokens", "cache_creation_input_tokens" },
		{ false, "totalTokens", "total_tokens" },
		{ false, "totalToolUseCount", "tool_use_count" },
		{ false, "totalDurationMs", "duration_ms" },
	};
	json_t *o = NULL;

	if (!f->is_tool || strcmp(f->hook, "PostToolUse") != 0 ||
	    strcmp(f->event_type, "sub_agent_delegation") != 0 || !json_is_object(tr))
		return 0;
	u = json_object_get(tr, "usage");
	for (size_t i = 0; i < VG_ARRAY_LEN(map); i++) {
		json_int_t n = count_of(json_object_get(map[i].inner ? u : tr, map[i].from));

		if (n < 0)
			continue;
		if (!o && (!(o = json_object()) || json_object_set_new(ev, "usage", o) < 0))
			return -ENOMEM;
		if (json_object_set_new(o, map[i].to, json_integer(n)) < 0)
			return -ENOMEM;
	}
	return 0;
}

static int add_risk(json_t *ev, const struct risk_input *ri)
{
	struct risk_result rr;
	json_t *o = json_object(), *reasons = json_array();

	if (!o || !reasons || json_object_set_new(ev, "risk", o) < 0) {
		json_decref(reasons);
		return -ENOMEM;
	}
	if (json_object_set_new(o, "reasons", reasons) < 0)
		return -ENOMEM;
	risk_assess(ri, &rr);
	if (json_object_set_new(o, "level", json_string(rr.level)) < 0 ||
	    json_object_set_new(o, "score", json_integer(rr.score)) < 0)
		return -ENOMEM;
	for (size_t i = 0; i < rr.n; i++)
		if (json_array_append_new(reasons, json_string(rr.reasons[i])) < 0)
			return -ENOMEM;
	return 0;
}

static const char *source_name(const struct norm_envelope *env, bool from_env)
{
	switch (env->project_source) {
	case NORM_PROJECT_ENV:
		return "env";
	case NORM_PROJECT_GIT:
		return "git";
	case NORM_PROJECT_CWD:
		return "cwd";
	case NORM_PROJECT_DEFAULT:
	default:
		return from_env ? "env" : "cwd";
	}
}

/* Where the event happens: the project root and whether the action leaves it. */
struct scope {
	char root[NORM_PATH_MAX];
	const char *cwd;
	bool have_root, root_from_env;
	int outside; /* 1, 0, -1 unknown */
};

/*
 * Step 1: the payload, checked and parsed.  hex gets the SHA-256 of the raw
 * bytes; *in the object, whose fields have the types the event expects.
 */
static int parse_payload(const struct norm_ctx *c, struct norm_work *w, const char *payload,
			 size_t len, char hex[65], json_t **in, char *err, size_t errcap)
{
	json_error_t je;
	int rc;

	if (len > c->max_input) {
		set_err(err, errcap, "payload of %zu bytes exceeds the limit of %zu", len,
			c->max_input);
		return -E2BIG;
	}
	if (len == 0 || !payload) {
		set_err(err, errcap, "empty payload");
		return -EINVAL;
	}
	if ((rc = vg_sha256_hex(payload, len, hex)) < 0) {
		set_err(err, errcap, "cannot hash the payload");
		return rc;
	}
	/* The fast parser's answer is jansson's; when it gives up, jansson decides. */
	*in = norm_parse_fast(payload, len, &w->buf);
	if (!*in)
		*in = json_loadb(payload, len, JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL, &je);
	if (!*in) {
		json_error_msg(&je, err, errcap);
		return -EINVAL;
	}
	if (!json_is_object(*in)) {
		set_err(err, errcap, "expected a JSON object");
		return -EINVAL;
	}
	/* A field the event comes from with another type, or cut by a NUL,
	 * would make the event describe something else than the agent does. */
	return norm_check_shape(*in, err, errcap);
}

/* Step 2: the project root (the envelope's, else the cwd) and the scope check,
 * on the untouched payload so it sees whole paths. */
static void find_scope(const struct norm_ctx *c, const struct norm_envelope *env, const json_t *in,
		       const struct facts *f, struct scope *s)
{
	s->cwd = get_str(in, "cwd");
	s->outside = -1;
	if (env->project_dir && norm_path(s->cwd, env->project_dir, s->root, sizeof(s->root)) == 0)
		s->have_root = s->root_from_env = true;
	else if (s->cwd && norm_path(NULL, s->cwd, s->root, sizeof(s->root)) == 0)
		s->have_root = true;
	if (!s->have_root)
		return;
	if (f->scope_path)
		s->outside = path_outside(c, s->root, s->cwd, f->scope_path);
	else if (f->command)
		s->outside = command_outside(c, s->root, s->cwd, f->command);
}

/* Step 3: who and when: id (the envelope's, else a new UUIDv7), time, host,
 * user, agent, and the session's identifiers copied from the payload. */
static int add_identity(struct norm_work *w, json_t *ev, const struct norm_envelope *env,
			const json_t *in, char *err, size_t errcap)
{
	static const char *const copy[] = { EVF_SESSION_ID, EVF_AGENT_ID, EVF_AGENT_TYPE,
					    EVF_PROMPT_ID, EVF_TOOL_USE_ID };
	const struct norm_ctx *c = w->c;
	char id[37], when[40];
	int rc;

	if (env->id) {
		if (set_clean(w, ev, EVF_ID, env->id) < 0)
			return -ENOMEM;
	} else {
		if ((rc = base_uuid7(id)) < 0) {
			set_err(err, errcap, "cannot make an event id");
			return rc;
		}
		if (json_object_set_new(ev, EVF_ID, json_string(id)) < 0)
			return -ENOMEM;
	}
	vg_format_time(env->recv_ns ? env->recv_ns : vg_now_ns(), when, sizeof(when));
	if (json_object_set_new(ev, EVF_TIME, json_string(when)) < 0 ||
	    set_clean(w, ev, EVF_HOST, c->host) < 0 || set_clean(w, ev, EVF_USER, c->user) < 0 ||
	    set_clean(w, ev, EVF_AGENT, env->agent ? env->agent : BASE_AGENT_DEFAULT) < 0 ||
	    set_clean(w, ev, EVF_AGENT_VERSION, env->agent_version) < 0)
		return -ENOMEM;
	/* The payload's own keys are the agent's wire format; the event's names
	 * happen to be the same for these. */
	for (size_t i = 0; i < VG_ARRAY_LEN(copy); i++)
		if (set_clean_json(w, ev, copy[i], get_jstr(in, copy[i])) < 0)
			return -ENOMEM;
	return 0;
}

/* Step 4: what the agent did: hook, event type, tool (MCP server and tool
 * split out) and the target, redacted; *secrets counts the target's hits. */
static int add_action(struct norm_work *w, json_t *ev, const struct facts *f, int *secrets)
{
	if ((f->hook_j ? set_clean_json(w, ev, EVF_HOOK, f->hook_j)
		       : set_clean(w, ev, EVF_HOOK, f->hook)) < 0 ||
	    json_object_set_new(ev, EVF_EVENT_TYPE, json_string(f->event_type)) < 0 ||
	    set_clean_json(w, ev, EVF_TOOL, f->tool_j) < 0)
		return -ENOMEM;
	if (f->is_tool && !strcmp(f->event_type, "mcp_tool_call")) {
		const char *srv = f->tool + 5, *sep = strstr(srv, "__");

		if (sep && sep > srv && sep[2]) {
			json_t *s = json_stringn(srv, (size_t)(sep - srv));

			if (!s || json_object_set_new(ev, EVF_MCP_SERVER, s) < 0 ||
			    set_clean(w, ev, EVF_MCP_TOOL, sep + 2) < 0)
				return -ENOMEM;
		}
	}
	if (f->target) {
		json_t *t = clean_string(w, f->target, strlen(f->target), f->target_j, secrets);

		if (!t || json_object_set_new(ev, EVF_TARGET, t) < 0)
			return -ENOMEM;
	}
	return 0;
}

/* Step 5: where: project (root, name, source), the scope verdict, cwd and
 * the permission mode. */
static int add_place(struct norm_work *w, json_t *ev, const struct norm_envelope *env,
		     const json_t *in, const struct scope *s)
{
	if (s->have_root) {
		const char *name = strrchr(s->root, '/');
		json_t *proj = json_object();

		name = name && name[1] ? name + 1 : s->root;
		if (!proj || json_object_set_new(ev, EVF_PROJECT, proj) < 0 ||
		    set_clean(w, proj, EVF_PROJECT_ROOT, s->root) < 0 ||
		    set_clean(w, proj, EVF_PROJECT_NAME, name) < 0 ||
		    json_object_set_new(proj, EVF_PROJECT_SOURCE,
					json_string(source_name(env, s->root_from_env))) < 0)
			return -ENOMEM;
	}
	if (s->outside >= 0 &&
	    json_object_set_new(ev, EVF_OUTSIDE_SCOPE, json_boolean(s->outside == 1)) < 0)
		return -ENOMEM;
	if (set_clean_json(w, ev, EVF_CWD, get_jstr(in, "cwd")) < 0 ||
	    set_clean_json(w, ev, EVF_PERMISSION_MODE, get_jstr(in, "permission_mode")) < 0)
		return -ENOMEM;
	return 0;
}

/* Step 6: how it ended: outcome and error of a Post hook, its duration. */
static int add_outcome(struct norm_work *w, json_t *ev, const json_t *in, const struct facts *f)
{
	const json_t *d = json_object_get(in, "duration_ms");

	if (!strcmp(f->hook, "PostToolUse")) {
		if (json_object_set_new(ev, EVF_OUTCOME, json_string("success")) < 0)
			return -ENOMEM;
	} else if (!strcmp(f->hook, "PostToolUseFailure")) {
		if (json_object_set_new(ev, EVF_OUTCOME, json_string("failure")) < 0 ||
		    set_clean_json(w, ev, EVF_ERROR, get_jstr(in, "error")) < 0)
			return -ENOMEM;
	}
	if (json_is_number(d) && json_number_value(d) >= 0 &&
	    json_object_set_new(ev, EVF_DURATION_MS,
				json_integer((json_int_t)json_number_value(d))) < 0)
		return -ENOMEM;
	return 0;
}

/* Step 8: the hook process the envelope names (pid, ppid, uid), when known. */
static int add_process(json_t *ev, const struct norm_envelope *env)
{
	json_t *proc;

	if (env->pid < 0 && env->ppid < 0 && env->uid < 0)
		return 0;
	proc = json_object();
	if (!proc || json_object_set_new(ev, EVF_PROCESS, proc) < 0)
		return -ENOMEM;
	if ((env->pid >= 0 && json_object_set_new(proc, "pid", json_integer(env->pid)) < 0) ||
	    (env->ppid >= 0 && json_object_set_new(proc, "ppid", json_integer(env->ppid)) < 0) ||
	    (env->uid >= 0 && json_object_set_new(proc, "uid", json_integer(env->uid)) < 0))
		return -ENOMEM;
	return 0;
}

/* Step 9: the payload itself, every string redacted and truncated in place
 * (nothing read from it before is used after this), its digest, the schema. */
static int add_payload(struct norm_work *w, json_t *ev, json_t *in, const char *hex)
{
	int hits = 0;

	if ((!w->raw && clean_tree(w, in, &hits) < 0) || json_object_set(ev, EVF_PAYLOAD, in) < 0 ||
	    json_object_set_new(ev, EVF_PAYLOAD_SHA256, json_string(hex)) < 0 ||
	    json_object_set_new(ev, EVF_SCHEMA, json_string(EV_SCHEMA_V1)) < 0)
		return -ENOMEM;
	return 0;
}

int norm_clean_event(const struct norm_ctx *c, json_t *ev)
{
	struct norm_work w = { .c = c };
	int hits = 0, rc;

	vbuf_init(&w.buf, 4096);
	rc = clean_tree(&w, ev, &hits);
	vbuf_release(&w.buf);
	return rc < 0 ? rc : hits;
}

int norm_event(const struct norm_ctx *c, const struct norm_envelope *env, const char *payload,
	       size_t len, json_t **out, char *err, size_t errcap)
{
	struct norm_envelope none = { .pid = -1, .ppid = -1, .uid = -1 };
	struct norm_work w = { .c = c, .raw = env && (env->flags & NORM_RAW) };
	json_t *in = NULL, *ev = NULL;
	struct facts f = { 0 };
	struct scope s = { 0 };
	struct fc_result fc;
	char hex[65];
	int target_hits = 0, has_fc, rc;

	*out = NULL;
	if (!env)
		env = &none;
	if ((rc = parse_payload(c, &w, payload, len, hex, &in, err, errcap)) < 0)
		goto out;
	classify(in, &f);
	find_scope(c, env, in, &f, &s);
	if ((has_fc = fc_compute(in, f.hook, f.tool, &fc)) < 0) {
		rc = has_fc;
		if (rc != -ENOMEM)
			set_err(err, errcap, "cannot hash the file change");
		goto out;
	}
	rc = -ENOMEM;
	if (!(ev = json_object()))
		goto out;
	if ((rc = add_identity(&w, ev, env, in, err, errcap)) < 0 ||
	    (rc = add_action(&w, ev, &f, &target_hits)) < 0 ||
	    (rc = add_place(&w, ev, env, in, &s)) < 0 || (rc = add_outcome(&w, ev, in, &f)) < 0)
		goto out;
	/* Step 7: what the tool changed or spent, and the baseline risk. */
	rc = -ENOMEM;
	if ((has_fc && add_file_change(&w, ev, &fc, f.scope_path, s.cwd) < 0) ||
	    add_usage(ev, in, &f) < 0)
		goto out;
	{
		struct risk_input ri = { .hook = f.hook,
					 .event_type = f.event_type,
					 .tool = f.tool,
					 .root = s.have_root ? s.root : NULL,
					 .cwd = s.cwd,
					 .path = f.scope_path,
					 .command = f.command,
					 .outside = s.outside,
					 .secrets = target_hits };

		if (add_risk(ev, &ri) < 0)
			goto out;
	}
	if ((rc = add_process(ev, env)) < 0 || (rc = add_payload(&w, ev, in, hex)) < 0)
		goto out;
	*out = ev;
	ev = NULL;
	rc = 0;
out:
	if (rc == -ENOMEM)
		set_err(err, errcap, "out of memory");
	json_decref(ev);
	json_decref(in);
	vbuf_release(&w.buf);
	return rc;
}
