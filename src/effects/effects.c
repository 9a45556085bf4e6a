/*
 * effects.c - the result, its arena, and the walk over a parsed command line:
 * per command, its program's effects (programs.c), an interpreter's program
 * text (interp.c), its redirections, the execution of files and of what a
 * download fed it; and the effects of the agent's file tools.
 */
#include "fx_int.h"

#include <errno.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- the arena: every string of a result, freed at once ------------------------------- */

struct fx_arena {
	struct fx_arena *next;
	size_t used, cap;
	char data[];
};

#define FX_CHUNK 16384u

char *fx_strdup(struct fx_result *res, const char *s, size_t len)
{
	struct fx_arena *a = res->arena;
	char *d;

	if (!a || a->cap - a->used < len + 1) {
		size_t cap = len + 1 > FX_CHUNK ? len + 1 : FX_CHUNK;

		a = malloc(sizeof(*a) + cap);
		if (!a)
			return NULL;
		a->next = res->arena;
		a->used = 0;
		a->cap = cap;
		res->arena = a;
	}
	d = a->data + a->used;
	memcpy(d, s, len);
	d[len] = '\0';
	a->used += len + 1;
	return d;
}

static char *dup0(struct fx_result *res, const char *s)
{
	return s ? fx_strdup(res, s, strlen(s)) : NULL;
}

void fx_result_free(struct fx_result *res)
{
	struct fx_arena *a, *n;

	if (!res)
		return;
	for (a = res->arena; a; a = n) {
		n = a->next;
		free(a);
	}
	free(res->v);
	free(res);
}

struct fx_effect *fx_add(struct fx_call *k, enum fx_kind kind, const char *what)
{
	struct fx_result *res = k->x->res;
	struct fx_effect *e;

	if (res->n >= FX_MAX_EFFECTS) {
		res->truncated++;
		return NULL;
	}
	if (!(res->n & (res->n + 1)) || !res->v) {
		/* grow at 0, 1, 3, 7, ...: capacity doubles */
		struct fx_effect *v = realloc(res->v, (res->n * 2 + 2) * sizeof(*v));

		if (!v) {
			res->truncated++;
			return NULL;
		}
		res->v = v;
	}
	e = &res->v[res->n++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	e->cmd = k->cmd;
	e->flags = k->base;
	e->what = dup0(res, what);
	return e;
}

/* ---- paths ------------------------------------------------------------------------------- */

static const char *dir_of(struct fx_call *k)
{
	if (k->c)
		return k->c->cwd;
	return k->x->o->cwd ? k->x->o->cwd : k->x->o->project;
}

/* One effect on one (spelled, normalized) path, plus a persistence effect when
 * a write reaches a persistence location. */
static void one_path(struct fx_call *k, enum fx_kind kind, const char *what, const char *spelled,
		     const char *norm, unsigned flags, unsigned unres)
{
	const struct fx_opts *o = k->x->o;
	char real[FX_PATH_MAX];
	const char *res = norm;
	struct fx_effect *e;
	const char *pk;

	if (o->resolve && !(flags & (FX_F_GLOB | FX_F_REMOTE)) &&
	    fx_realpath(norm, kind == FX_DELETE, real, sizeof(real))) {
		if (strcmp(real, norm))
			flags |= FX_F_SYMLINK;
		res = real;
	}
	e = fx_add(k, kind, what);
	if (!e)
		return;
	e->flags |= flags;
	if (unres) {
		e->flags |= FX_F_UNRESOLVED;
		e->unres = unres;
	}
	/* An unresolved path ("$X/") could be anything: no classification of
	 * its spelling; FX_F_UNRESOLVED says it. */
	if (!(e->flags & FX_F_REMOTE) && !unres)
		e->flags |= fx_classify(o, res, (flags & FX_F_GLOB) != 0,
					(flags & FX_F_RECURSIVE) != 0);
	e->spelled = dup0(k->x->res, spelled);
	e->resolved = dup0(k->x->res, res);
	if (kind != FX_WRITE || (e->flags & FX_F_REMOTE))
		return;
	pk = fx_persist_kind(o, res);
	if (!pk)
		return;
	e = fx_add(k, FX_PERSIST, what);
	if (!e)
		return;
	e->flags |= flags | (unres ? FX_F_UNRESOLVED
				   : fx_classify(o, res, (flags & FX_F_GLOB) != 0,
						 (flags & FX_F_RECURSIVE) != 0));
	e->unres = unres;
	e->spelled = dup0(k->x->res, spelled);
	e->resolved = dup0(k->x->res, res);
	e->detail = pk;
}

/* A path: normalized against the command's directory; a glob expanded with
 * glob(3) when resolving (each match an effect, the pattern one more). */
static void path_any(struct fx_call *k, enum fx_kind kind, const char *what, const char *s,
		     const char *pattern, unsigned flags, unsigned unres)
{
	char norm[FX_PATH_MAX];
	const char *dir = dir_of(k);

	if (k->base & FX_F_REMOTE)
		dir = NULL;
	if (!s || !s[0])
		return;
	if (!fx_normalize(dir, s, norm, sizeof(norm))) {
		one_path(k, kind, what, s, s, flags, unres | SH_U_LIMIT);
		return;
	}
	if (!dir && norm[0] != '/' && !(k->base & FX_F_REMOTE))
		unres |= SH_U_CWD;
	one_path(k, kind, what, s, norm, flags, unres);
	if (pattern && k->x->o->resolve && !(k->base & FX_F_REMOTE)) {
		char pat[FX_PATH_MAX];
		glob_t g;

		if (!fx_normalize(dir, pattern, pat, sizeof(pat)))
			return;
		memset(&g, 0, sizeof(g));
		if (glob(pat, GLOB_NOSORT, NULL, &g) == 0) {
			for (size_t i = 0; i < g.gl_pathc; i++) {
				if (i >= FX_MAX_GLOB) {
					k->x->res->truncated += g.gl_pathc - i;
					break;
				}
				one_path(k, kind, what, s, g.gl_pathv[i],
					 flags & ~(unsigned)FX_F_GLOB, unres);
			}
		}
		globfree(&g);
	}
}

/* find has a test (-name '*.pyc', -newer F, ...): the files found are some of
 * the tree, not all of it.  -type is not one: -type f is nearly everything. */
static bool find_filtered(const struct sh_cmd *f)
{
	static const char *const tests = "|-name|-iname|-path|-ipath|-wholename|-regex|-iregex|"
					 "-newer|-mtime|-mmin|-atime|-ctime|-size|-user|"
					 "-group|-perm|-empty|-links|-inum|-samefile|";

	for (int j = 1; j < f->argc; j++) {
		char t[40];

		if (f->argv[j].len + 3 <= sizeof(t)) {
			snprintf(t, sizeof(t), "|%s|", f->argv[j].s);
			if (strstr(tests, t))
				return true;
		}
	}
	return false;
}

/* Effects from index before on are about some files of find's tree: still
 * "the files found" (unresolved), and they do not cover the tree's root. */
static void find_narrow(struct fx_result *res, size_t before)
{
	for (size_t i = before; i < res->n; i++) {
		res->v[i].flags |= FX_F_UNRESOLVED;
		res->v[i].flags &= ~(unsigned)(FX_F_COVERS_ROOT | FX_F_COVERS_HOME |
					       FX_F_COVERS_PROJECT);
		res->v[i].unres |= SH_U_FIND;
	}
}

/* {} of find -exec: the files found, that is everything below find's starting
 * points; each becomes a recursive effect spelled "{}". */
static bool find_operand(struct fx_call *k, enum fx_kind kind, const char *what,
			 const struct sh_word *w, unsigned flags)
{
	const struct sh_cmd *f;
	size_t before = k->x->res->n;

	if (!(w->unres & SH_U_FIND) || !k->c || k->c->via != SH_VIA_FIND || k->c->parent < 0 ||
	    (size_t)k->c->parent >= k->x->sh->ncmds)
		return false;
	f = &k->x->sh->cmds[k->c->parent];
	for (int j = 1; j < f->argc; j++) {
		const struct sh_word *sp = &f->argv[j];

		if (sp->s[0] == '-' || sp->s[0] == '(' || sp->s[0] == '!')
			break;
		path_any(k, kind, what, sp->s, (sp->flags & SH_W_GLOB) ? sp->pattern : NULL,
			 flags | FX_F_RECURSIVE | ((sp->flags & SH_W_GLOB) ? FX_F_GLOB : 0),
			 (w->unres & ~(unsigned)SH_U_FIND) | sp->unres);
	}
	if (k->x->res->n == before)
		return false; /* find without a starting point: "." is not assumed */
	for (size_t i = before; i < k->x->res->n; i++)
		k->x->res->v[i].spelled = w->s[0] ? fx_strdup(k->x->res, w->s, w->len) : NULL;
	if (find_filtered(f))
		find_narrow(k->x->res, before);
	return true;
}

void fx_path(struct fx_call *k, enum fx_kind kind, const char *what, const struct sh_word *w,
	     unsigned flags)
{
	if (w->flags & SH_W_NET)
		return;
	if (find_operand(k, kind, what, w, flags))
		return;
	if (w->flags & SH_W_GLOB)
		flags |= FX_F_GLOB;
	path_any(k, kind, what, w->s, (w->flags & SH_W_GLOB) ? w->pattern : NULL, flags, w->unres);
}

void fx_path_str(struct fx_call *k, enum fx_kind kind, const char *what, const char *s,
		 unsigned flags)
{
	path_any(k, kind, what, s, strpbrk(s, "*?[") ? s : NULL,
		 flags | (strpbrk(s, "*?[") ? FX_F_GLOB : 0), 0);
}

/* ---- network ----------------------------------------------------------------------------- */

/* Default ports of the schemes agents use. */
static const struct {
	const char *scheme;
	unsigned port;
} schemes[] = {
	{ "http", 80 },	 { "https", 443 }, { "ftp", 21 },  { "ssh", 22 },
	{ "git", 9418 }, { "ws", 80 },	   { "wss", 443 }, { "sftp", 22 },
};

void fx_net(struct fx_call *k, const char *what, const char *s, unsigned port, enum fx_dir dir,
	    unsigned unres)
{
	struct fx_effect *e = fx_add(k, FX_NET, what);
	const char *h = s, *sep = s ? strstr(s, "://") : NULL;
	size_t hl;

	if (!e)
		return;
	e->dir = dir;
	e->port = port;
	e->spelled = dup0(k->x->res, s);
	if (unres) {
		e->flags |= FX_F_UNRESOLVED;
		e->unres = unres;
	}
	if (!s)
		return;
	if (sep) {
		for (size_t i = 0; i < sizeof(schemes) / sizeof(*schemes); i++) {
			if ((size_t)(sep - s) == strlen(schemes[i].scheme) &&
			    !strncmp(s, schemes[i].scheme, (size_t)(sep - s)))
				port = port ? port : schemes[i].port;
		}
		h = sep + 3;
	}
	/* user@host, then host[:port], [v6]:port; stop at the path */
	hl = strcspn(h, "/?#");
	for (const char *at = memchr(h, '@', hl); at; at = memchr(h, '@', hl)) {
		hl -= (size_t)(at + 1 - h);
		h = at + 1;
	}
	if (h[0] == '[') {
		const char *rb = memchr(h, ']', hl);

		if (rb) {
			e->host = fx_strdup(k->x->res, h + 1, (size_t)(rb - h - 1));
			if (rb[1] == ':')
				port = (unsigned)strtoul(rb + 2, NULL, 10);
		}
	} else {
		const char *colon = memchr(h, ':', hl);

		e->host = fx_strdup(k->x->res, h, colon ? (size_t)(colon - h) : hl);
		if (colon && colon[1] >= '0' && colon[1] <= '9')
			port = (unsigned)strtoul(colon + 1, NULL, 10);
	}
	e->port = port;
}

/* ---- commands ---------------------------------------------------------------------------- */

static bool is_shell(const char *n)
{
	static const char *const shells[] = { "sh",  "bash", "dash", "zsh",    "ksh",
					      "ash", "mksh", "fish", "busybox" };

	for (size_t i = 0; i < sizeof(shells) / sizeof(*shells); i++) {
		if (!strcmp(n, shells[i]))
			return true;
	}
	return false;
}

/* The program downloads: curl or wget writing to stdout, and what else the
 * table marks as a download (the network effects found so far for it). */
static bool downloads(struct fx_ctx *x, int i)
{
	const struct sh_cmd *c = &x->sh->cmds[i];

	return !strcmp(c->name, "curl") || !strcmp(c->name, "wget") || !strcmp(c->name, "fetch") ||
	       !strcmp(c->name, "aria2c") ||
	       ((c->flags & SH_C_DECODED) == 0 && !strcmp(c->name, "nc"));
}

/* A download somewhere up the pipe that feeds command i (bounded walk). */
static int fed_by_download(struct fx_ctx *x, int i)
{
	for (int n = 0, p = x->sh->cmds[i].pipe_from; p >= 0 && n < 64;
	     n++, p = x->sh->cmds[p].pipe_from) {
		if (downloads(x, p))
			return p;
	}
	return -1;
}

static void exec_effect(struct fx_call *k, const char *detail, const struct sh_word *w,
			unsigned flags)
{
	size_t before = k->x->res->n;

	if (w)
		fx_path(k, FX_EXEC, k->c->name, w, flags);
	else if (fx_add(k, FX_EXEC, k->c->name))
		k->x->res->v[k->x->res->n - 1].flags |= flags;
	for (size_t i = before; i < k->x->res->n; i++) {
		if (k->x->res->v[i].kind == FX_EXEC)
			k->x->res->v[i].detail = detail;
	}
}

/* What runs a file or downloaded text: a program spelled as a path, a shell
 * or source reading a script, a shell fed by a download (curl | sh, sh
 * <(curl ...), bash -c "$(curl ...)"). */
static void execs(struct fx_call *k)
{
	const struct sh_cmd *c = k->c;
	struct fx_ctx *x = k->x;

	if (c->argc && (c->unres & SH_U_NAME))
		exec_effect(k, "unknown", &c->argv[0], 0);
	else if (c->argc && strchr(c->argv[0].s, '/') && !(c->flags & SH_C_BUILTIN))
		exec_effect(k, "path", &c->argv[0], 0);
	if (c->flags & SH_C_SCRIPT) {
		for (int i = 1; i < c->argc; i++) {
			if (c->argv[i].flags & SH_W_PROCSUB)
				break; /* bash <(curl ...): the download, below */
			if (c->argv[i].s[0] != '-' || !c->argv[i].s[1]) {
				exec_effect(k, "script", &c->argv[i], 0);
				break;
			}
		}
	}
	if ((c->flags & SH_C_EXEC_STDIN) && fed_by_download(x, k->at) >= 0)
		exec_effect(k, "downloaded", NULL, FX_F_DOWNLOADED);
	if (!is_shell(c->name) && strcmp(c->name, "eval") && strcmp(c->name, "source") &&
	    strcmp(c->name, "."))
		return;
	for (int i = 1; i < c->argc; i++) {
		const struct sh_word *w = &c->argv[i];

		if ((w->flags & (SH_W_PROCSUB | SH_W_CMDSUB)) && w->sub >= 0 &&
		    (size_t)w->sub < x->sh->ncmds && downloads(x, w->sub)) {
			exec_effect(k, "downloaded", NULL, FX_F_DOWNLOADED);
			break;
		}
	}
}

/* Redirections: > and >> write, < reads, /dev/tcp/HOST/PORT connects. */
static void redirs(struct fx_call *k)
{
	for (int i = 0; i < k->c->nredirs; i++) {
		const struct sh_redir *r = &k->c->redirs[i];
		const struct sh_word *t = &r->target;
		bool in = r->op == SH_R_IN;
		bool out = r->op == SH_R_OUT || r->op == SH_R_APPEND || r->op == SH_R_CLOBBER ||
			   r->op == SH_R_ALL || r->op == SH_R_ALL_APPEND || r->op == SH_R_RW;

		if (!in && !out)
			continue;
		if (t->flags & SH_W_PROCSUB)
			continue;
		if (t->flags & SH_W_NET) {
			/* /dev/tcp/HOST/PORT */
			const char *h = t->s + strlen("/dev/tcp/");
			const char *sl = strchr(h, '/');
			char host[256];
			size_t hl = sl ? (size_t)(sl - h) : strlen(h);

			if (hl >= sizeof(host))
				hl = sizeof(host) - 1;
			memcpy(host, h, hl);
			host[hl] = '\0';
			fx_net(k, "/dev/tcp", host, sl ? (unsigned)strtoul(sl + 1, NULL, 10) : 0,
			       in ? FX_D_DOWNLOAD : (r->op == SH_R_RW ? FX_D_CONNECT : FX_D_UPLOAD),
			       t->unres);
			continue;
		}
		if (!strcmp(t->s, "/dev/null") || !strncmp(t->s, "/dev/std", 8) ||
		    !strncmp(t->s, "/dev/fd/", 8))
			continue;
		fx_path(k, in ? FX_READ : FX_WRITE, r->op == SH_R_IN ? "<" : ">", t, 0);
		if (r->op == SH_R_RW)
			fx_path(k, FX_READ, "<>", t, 0);
	}
}

static void one_cmd(struct fx_ctx *x, int i, int report)
{
	const struct sh_cmd *c = &x->sh->cmds[i];
	struct fx_call k = { .x = x, .c = c, .cmd = report, .at = i };

	if (c->flags & SH_C_CONDITIONAL)
		k.base |= FX_F_COND;
	if (c->flags & (SH_C_REMOTE | SH_C_CONTAINER))
		k.base |= FX_F_REMOTE;
	redirs(&k);
	if (!c->argc)
		return;
	execs(&k);
	if (c->flags & SH_C_DELETE) {
		size_t before = x->res->n;

		/* find -delete: the starting points, recursively */
		for (int j = 1; j < c->argc && c->argv[j].s[0] != '-'; j++)
			fx_path(&k, FX_DELETE, "find", &c->argv[j], FX_F_RECURSIVE);
		if (c->argc < 2 || c->argv[1].s[0] == '-') {
			static const struct sh_word dot = { .s = ".", .len = 1, .sub = -1 };

			fx_path(&k, FX_DELETE, "find", &dot, FX_F_RECURSIVE);
		}
		if (find_filtered(c))
			find_narrow(x->res, before);
	}
	if (!fx_interp(&k))
		fx_program(&k);
}

static int walk(struct fx_ctx *x, int report)
{
	for (size_t i = 0; i < x->sh->ncmds; i++)
		one_cmd(x, (int)i, report < 0 ? (int)i : report);
	return 0;
}

void fx_nested_shell(struct fx_call *k, const char *text, size_t len)
{
	struct sh_opts so = { .cwd = dir_of(k), .home = k->x->o->home };
	struct sh_result *r = NULL;
	struct fx_ctx nx = *k->x;

	if (k->x->nest >= (int)FX_MAX_NEST || len > FX_MAX_SCRIPT) {
		struct fx_effect *e = fx_add(k, FX_EXEC, "sh");

		if (e) {
			e->flags |= FX_F_UNRESOLVED;
			e->unres = SH_U_LIMIT;
		}
		return;
	}
	if (sh_parse(text, len, &so, &r) < 0)
		return;
	nx.sh = r;
	nx.nest++;
	walk(&nx, k->cmd);
	sh_result_free(r);
}

static int new_result(struct fx_result **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

int fx_from_shell(const struct sh_result *r, const struct fx_opts *o, struct fx_result **out)
{
	struct fx_ctx x = { .o = o, .sh = r };
	int rc;

	if (!r || !o || !out)
		return -EINVAL;
	rc = new_result(&x.res);
	if (rc < 0)
		return rc;
	walk(&x, -1);
	*out = x.res;
	return 0;
}

/* ---- the agent's file tools -------------------------------------------------------------- */

int fx_from_tool(const char *tool, const char *path, const char *pattern, const struct fx_opts *o,
		 struct fx_result **out)
{
	struct fx_ctx x = { .o = o };
	struct fx_call k = { .x = &x, .cmd = -1 };
	const char *p = path && path[0] ? path : (o && o->cwd ? o->cwd : o ? o->project : NULL);
	int rc;

	if (!tool || !o || !out)
		return -EINVAL;
	rc = new_result(&x.res);
	if (rc < 0)
		return rc;
	*out = x.res;
	if (!p)
		return 0;
	if (!strcmp(tool, "Read") || !strcmp(tool, "LS")) {
		fx_path_str(&k, FX_READ, tool, p, 0);
	} else if (!strcmp(tool, "Grep")) {
		fx_path_str(&k, FX_READ, tool, p, FX_F_RECURSIVE);
	} else if (!strcmp(tool, "Glob")) {
		char buf[FX_PATH_MAX];

		if (pattern && snprintf(buf, sizeof(buf), "%s/%s", p, pattern) < (int)sizeof(buf))
			fx_path_str(&k, FX_READ, tool, buf, 0);
		else
			fx_path_str(&k, FX_READ, tool, p, FX_F_RECURSIVE);
	} else if (!strcmp(tool, "Write") || !strcmp(tool, "Edit") || !strcmp(tool, "MultiEdit") ||
		   !strcmp(tool, "NotebookEdit")) {
		fx_path_str(&k, FX_WRITE, tool, p, 0);
	}
	return 0;
}

/* ---- presentation ------------------------------------------------------------------------ */

const char *fx_kind_name(enum fx_kind k)
{
	static const char *const names[] = { "read",	"write",  "delete",    "exec",
					     "network", "signal", "privilege", "persist" };

	return (unsigned)k < sizeof(names) / sizeof(*names) ? names[k] : "?";
}

const char *fx_dir_name(enum fx_dir d)
{
	static const char *const names[] = { "none",	"download", "upload",
					     "connect", "listen",   "dns" };

	return (unsigned)d < sizeof(names) / sizeof(*names) ? names[d] : "?";
}

const char *fx_flag_names(unsigned flags, char *buf, size_t cap)
{
	static const char *const names[] = {
		"unresolved",	  "recursive",	"glob",	   "covers-root", "covers-home",
		"covers-project", "outside",	"in-home", "sensitive",	  "system",
		"symlink",	  "downloaded", "literal", "remote",	  "cond",
	};
	size_t o = 0;

	if (cap)
		buf[0] = '\0';
	for (size_t i = 0; i < sizeof(names) / sizeof(*names); i++) {
		int n;

		if (!(flags & (1u << i)) || o >= cap)
			continue;
		n = snprintf(buf + o, cap - o, "%s%s", o ? "," : "", names[i]);
		o += n > 0 ? (size_t)n : 0;
	}
	return buf;
}

size_t fx_format(const struct fx_effect *e, char *buf, size_t cap)
{
	char fl[256], un[256];
	int n;

	fx_flag_names(e->flags, fl, sizeof(fl));
	sh_unres_names(e->unres, un, sizeof(un));
	n = snprintf(buf, cap, "%s %s%s%s #%d %s%s%s", fx_kind_name(e->kind),
		     e->resolved  ? e->resolved
		     : e->host	  ? e->host
		     : e->spelled ? e->spelled
				  : "-",
		     e->resolved && e->spelled && strcmp(e->resolved, e->spelled) ? " <- " : "",
		     e->resolved && e->spelled && strcmp(e->resolved, e->spelled) ? e->spelled : "",
		     e->cmd, e->what ? e->what : "-", e->detail ? " " : "",
		     e->detail ? e->detail : "");
	if (n < 0)
		return 0;
	if (e->kind == FX_NET) {
		size_t o = (size_t)n < cap ? (size_t)n : cap;
		int m = snprintf(buf + o, cap - o, " port=%u dir=%s", e->port, fx_dir_name(e->dir));

		n += m > 0 ? m : 0;
	}
	if (e->kind == FX_SIGNAL) {
		size_t o = (size_t)n < cap ? (size_t)n : cap;
		int m = snprintf(buf + o, cap - o, " sig=%s target=%c",
				 e->signal ? e->signal : "TERM", e->target ? e->target : '?');

		n += m > 0 ? m : 0;
	}
	if (fl[0] || un[0]) {
		size_t o = (size_t)n < cap ? (size_t)n : cap;
		int m = snprintf(buf + o, cap - o, " [%s%s%s]", fl, un[0] ? " " : "", un);

		n += m > 0 ? m : 0;
	}
	return (size_t)n;
}
