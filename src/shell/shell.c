/*
 * shell.c - sh_parse (the entry point: state set up from what the caller
 * knows, parse, evaluate, the result) and the one-line presentation of a
 * command that tests and diagnostics use.
 */
#include "shell_int.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>

struct result {
	struct sh_result pub;
	struct shx x;
};

static void seed(struct shx_ctx *c, const struct sh_opts *o)
{
	struct shx *x = c->x;

	if (o->home)
		shx_set(c, "HOME", 4, shx_strndup(x, o->home, strlen(o->home)), strlen(o->home),
			VAL_SET, 0)
			->exported = 1;
	if (o->user) {
		shx_set(c, "USER", 4, shx_strndup(x, o->user, strlen(o->user)), strlen(o->user),
			VAL_SET, 0)
			->exported = 1;
		shx_set(c, "LOGNAME", 7, shx_strndup(x, o->user, strlen(o->user)), strlen(o->user),
			VAL_SET, 0)
			->exported = 1;
	}
	for (const char *const *e = o->env; e && *e; e++) {
		const char *eq = strchr(*e, '=');

		if (!eq || !shx_valid_name(*e, (size_t)(eq - *e)))
			continue;
		shx_set(c, shx_strndup(x, *e, (size_t)(eq - *e)), (size_t)(eq - *e),
			shx_strndup(x, eq + 1, strlen(eq + 1)), strlen(eq + 1), VAL_SET, 0)
			->exported = 1;
	}
	if (o->cwd && o->cwd[0] == '/') {
		const char *d = shx_path_join(x, NULL, o->cwd, strlen(o->cwd));

		shx_set_cwd(c, d, 0);
		shx_set(c, "PWD", 3, d, strlen(d), VAL_SET, 0)->exported = 1;
	}
}

int sh_parse(const char *cmd, size_t len, const struct sh_opts *o, struct sh_result **out)
{
	struct result *r;
	struct shx *x;
	struct shx_shell sh = { 0 };
	struct shx_ctx c;

	if (!out || (!cmd && len))
		return -EINVAL;
	*out = NULL;
	if (len > SH_MAX_INPUT)
		return -E2BIG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	x = &r->x;
	x->o = o ? o : &x->none;
	if (setjmp(x->fail) == 0) {
		const char *text = shx_strndup(x, cmd ? cmd : "", len);
		size_t err = 0;
		bool error = false;
		struct shx_node *ast;

		sh.unknown_default = !x->o->env_complete;
		memset(&c, 0, sizeof(c));
		c.x = x;
		c.sh = &sh;
		c.parent = -1;
		c.via = SH_VIA_TOP;
		c.in_from = -1;
		c.last_out = -1;
		seed(&c, x->o);
		ast = shx_parse_text(x, text, len, 0, &err, &error);
		if (error) {
			x->unres |= SH_U_SYNTAX;
			x->error_off = err;
		}
		shx_eval_top(&c, ast);
	}
	free(x->binds);
	x->binds = NULL;
	if (x->ncmds) {
		/* One array for the caller (outside the arena, whose bound may be reached). */
		struct sh_cmd *all = malloc(x->ncmds * sizeof(*all));

		if (!all) {
			shx_arena_free(&x->arena);
			free(r);
			return -ENOMEM;
		}
		for (size_t i = 0; i < x->ncmds; i++)
			all[i] = *shx_cmd(x, (int)i);
		r->pub.cmds = all;
	}
	r->pub.ncmds = x->ncmds;
	r->pub.unres = x->unres;
	r->pub.error_off = x->error_off;
	r->pub.steps = x->steps;
	*out = &r->pub;
	return 0;
}

void sh_result_free(struct sh_result *res)
{
	struct result *r;

	if (!res)
		return;
	r = (struct result *)((char *)res - offsetof(struct result, pub));
	free((void *)(uintptr_t)r->pub.cmds);
	shx_arena_free(&r->x.arena);
	free(r);
}

/* ---- presentation ------------------------------------------------------------------------------ */

const char *sh_unres_names(unsigned unres, char *buf, size_t cap)
{
	static const char *const names[] = { "var",	"cmdsub", "arith", "param",  "positional",
					     "cond",	"loop",	  "stdin", "find",   "script",
					     "name",	"syntax", "limit", "option", "user",
					     "dynamic", "cwd",	  "remote" };
	size_t n = 0;

	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < SHX_LEN(names); i++) {
		int k;

		if (!(unres & (1u << i)))
			continue;
		k = snprintf(buf + n, cap > n ? cap - n : 0, "%s%s", n ? "," : "", names[i]);
		if (k > 0)
			n += (size_t)k;
		if (n >= cap)
			break;
	}
	return buf;
}

const char *sh_via_name(enum sh_via via)
{
	static const char *const names[] = { "top",	 "wrapper", "shell",	"eval",
					     "xargs",	 "find",    "cmdsub",	"procsub",
					     "function", "remote",  "container" };

	return (unsigned)via < SHX_LEN(names) ? names[via] : "?";
}

struct out {
	char *buf;
	size_t cap, n;
};

static void put(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(struct out *o, const char *fmt, ...)
{
	static char none[1];
	size_t at = o->n < o->cap ? o->n : o->cap;
	char *dst = o->cap ? o->buf + at : none;
	size_t room = o->cap ? o->cap - at : 0;
	va_list ap;
	int k;

	va_start(ap, fmt);
	k = vsnprintf(dst, room, fmt, ap);
	va_end(ap);
	if (k > 0)
		o->n += (size_t)k;
}

static bool safe_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch && strchr("_@%+=:,./-", ch));
}

/* A string as a shell word: bare, '...', or $'...' when it has control bytes. */
static void quote(struct out *o, const char *s, size_t n)
{
	bool bare = n > 0, plain = true;

	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (!safe_char((char)ch))
			bare = false;
		if (ch < 0x20 || ch == 0x7f || ch == '\'' || ch >= 0x80)
			plain = false;
	}
	if (bare) {
		put(o, "%.*s", (int)n, s);
		return;
	}
	if (plain) {
		put(o, "'%.*s'", (int)n, s);
		return;
	}
	put(o, "$'");
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch == '\n')
			put(o, "\\n");
		else if (ch == '\t')
			put(o, "\\t");
		else if (ch == '\\' || ch == '\'')
			put(o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			put(o, "\\x%02x", ch);
		else
			put(o, "%c", ch);
	}
	put(o, "'");
}

static void word(struct out *o, const struct sh_word *w)
{
	char names[160];
	bool any = false;

	quote(o, w->s, w->len);
	if (!(w->flags & (SH_W_GLOB | SH_W_PROCSUB | SH_W_NET | SH_W_DECODED | SH_W_CMDSUB)) &&
	    !w->unres)
		return;
	put(o, "<");
#define TAG(cond, ...)                       \
	do {                                 \
		if (cond) {                  \
			if (any)             \
				put(o, ","); \
			put(o, __VA_ARGS__); \
			any = true;          \
		}                            \
	} while (0)
	TAG(w->flags & SH_W_GLOB, "glob");
	TAG(w->flags & SH_W_PROCSUB, "procsub=%d", w->sub);
	TAG(w->flags & SH_W_CMDSUB, "cmdsub=%d", w->sub);
	TAG(w->flags & SH_W_NET, "net");
	TAG(w->flags & SH_W_DECODED, "decoded");
	TAG(w->unres, "%s", sh_unres_names(w->unres, names, sizeof(names)));
#undef TAG
	put(o, ">");
}

static const char *redir_op(enum sh_redir_op op)
{
	static const char *const ops[] = { "<",	 ">",  ">>",  ">|", "<>", "<&",
					   ">&", "&>", "&>>", "<<", "<<<" };

	return (unsigned)op < SHX_LEN(ops) ? ops[op] : "?";
}

size_t sh_format_cmd(const struct sh_result *res, size_t i, const struct sh_opts *opts, char *buf,
		     size_t cap)
{
	const struct sh_cmd *c;
	struct out o = { .buf = buf, .cap = cap };
	char names[200];
	bool own_stdin = false;

	if (cap)
		buf[0] = '\0';
	if (!res || i >= res->ncmds)
		return 0;
	c = &res->cmds[i];
	for (int k = 0; k < c->argc; k++) {
		if (k)
			put(&o, " ");
		word(&o, &c->argv[k]);
	}
	put(&o, " #");
	if (c->parent >= 0 || c->via != SH_VIA_TOP)
		put(&o, " parent=%d via=%s", c->parent, sh_via_name(c->via));
	if (c->pipe_from >= 0)
		put(&o, " pipe=%d", c->pipe_from);
	if (c->cwd && (!opts || !opts->cwd || strcmp(c->cwd, opts->cwd) != 0))
		put(&o, " cwd=%s", c->cwd);
	else if (!c->cwd && opts && opts->cwd)
		put(&o, " cwd=?");
	if (c->user)
		put(&o, " user=%s", c->user);
	if (c->host)
		put(&o, " host=%s", c->host);
	if (c->container)
		put(&o, " container=%s", c->container);
	if (c->root)
		put(&o, " root=%s", c->root);
	for (int k = 0; k < c->nmounts; k++) {
		put(&o, " mount=");
		word(&o, &c->mounts[k]);
	}
	for (int k = 0; k < c->nenv; k++) {
		put(&o, " env:%s=", c->env[k].name);
		word(&o, &c->env[k].value);
	}
	for (int k = 0; k < c->nredirs; k++) {
		const struct sh_redir *r = &c->redirs[k];

		put(&o, " ");
		if (r->op != SH_R_ALL && r->op != SH_R_ALL_APPEND)
			put(&o, "%d", r->fd);
		put(&o, "%s", redir_op(r->op));
		word(&o, &r->target);
		if ((r->op == SH_R_HEREDOC || r->op == SH_R_HERESTR) && r->fd == 0)
			own_stdin = true;
	}
	if (c->stdin_text && !own_stdin) {
		put(&o, " stdin=");
		quote(&o, c->stdin_text, c->stdin_len);
	}
#define FLAG(f, s)                         \
	do {                               \
		if (c->flags & (f))        \
			put(&o, " %s", s); \
	} while (0)
	FLAG(SH_C_BACKGROUND, "bg");
	FLAG(SH_C_SUBSHELL, "subshell");
	FLAG(SH_C_CONDITIONAL, "cond");
	FLAG(SH_C_REMOTE, "remote");
	FLAG(SH_C_CONTAINER, "container");
	FLAG(SH_C_EXEC_STDIN, "exec-stdin");
	FLAG(SH_C_DELETE, "delete");
	FLAG(SH_C_DECODED, "decoded");
	FLAG(SH_C_BUILTIN, "builtin");
	FLAG(SH_C_FUNCTION, "function");
	FLAG(SH_C_PRIV, "priv");
	FLAG(SH_C_ENV_CLEARED, "env-cleared");
	FLAG(SH_C_SCRIPT, "script");
#undef FLAG
	if (c->unres)
		put(&o, " unres=%s", sh_unres_names(c->unres, names, sizeof(names)));
	return o.n;
}
