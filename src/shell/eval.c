/*
 * eval.c - walks the syntax tree as bash would run it, without running
 * anything: every simple command is emitted as a struct sh_cmd (reserved
 * first, so that what its words' substitutions run can name it as parent),
 * with the state of the modelled shell at that point (directory, variables,
 * stdin, whether it may not run).
 *
 * Branches are not decided (except case on a known word): every command of
 * every branch is reported, flagged SH_C_CONDITIONAL when it may not run.
 * for loops over a literal list are unrolled (SH_MAX_UNROLL); other loops
 * are walked once with what they change marked SH_U_LOOP.
 */
#include "shell_int.h"

#include <fnmatch.h>
#include <stdlib.h>

struct sh_cmd *shx_cmd(struct shx *x, int i)
{
	return &x->chunks[(size_t)i / SHX_CHUNK][(size_t)i % SHX_CHUNK];
}

int shx_emit(struct shx_ctx *c)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd;
	unsigned u = 0;

	if (x->ncmds >= SH_MAX_CMDS)
		shx_limit(x);
	if (x->ncmds % SHX_CHUNK == 0)
		x->chunks[x->ncmds / SHX_CHUNK] = shx_alloc(x, SHX_CHUNK * sizeof(struct sh_cmd));
	cmd = shx_cmd(x, (int)x->ncmds);
	memset(cmd, 0, sizeof(*cmd));
	cmd->name = "";
	cmd->parent = c->parent;
	cmd->via = c->via;
	cmd->depth = c->depth;
	cmd->pipe_from = c->in_from;
	cmd->stdin_text = c->in_text;
	cmd->stdin_len = c->in_len;
	cmd->flags = c->flags | (c->exited ? SH_C_CONDITIONAL : 0);
	cmd->unres = c->unres;
	cmd->user = c->user;
	cmd->host = c->host;
	cmd->container = c->container;
	cmd->root = c->root;
	cmd->mounts = c->mounts;
	cmd->nmounts = c->nmounts;
	if (c->cwd_set) {
		cmd->cwd = c->cwd;
	} else if (!c->sh->remote) {
		cmd->cwd = shx_cwd(c, &u);
		if (!cmd->cwd)
			cmd->unres |= u & SH_U_CWD;
	}
	return (int)x->ncmds++;
}

static void out_unknown(struct shx_ctx *c)
{
	if (c->out)
		c->out->known = false;
}

/* The context for what command i runs: a child of i, inheriting its flags,
 * user, host, container, stdin and stdout. */
void shx_child_ctx(struct shx_ctx *c, int i, enum sh_via via, struct shx_ctx *out)
{
	const struct sh_cmd *cmd = shx_cmd(c->x, i);

	*out = *c;
	out->parent = i;
	out->via = via;
	out->depth = cmd->depth + 1;
	out->flags = cmd->flags & (SH_C_BACKGROUND | SH_C_SUBSHELL | SH_C_CONDITIONAL |
				   SH_C_REMOTE | SH_C_CONTAINER | SH_C_DECODED | SH_C_PRIV);
	out->unres = cmd->unres & SH_U_REMOTE;
	out->user = cmd->user;
	out->host = cmd->host;
	out->container = cmd->container;
	out->root = cmd->root;
	out->mounts = cmd->mounts;
	out->nmounts = cmd->nmounts;
	out->in_from = cmd->pipe_from;
	out->in_text = cmd->stdin_text;
	out->in_len = cmd->stdin_len;
	out->exited = false;
	out->no_function = false;
	out->redirs = NULL;
	out->nredirs = 0;
	out->env = NULL;
	out->nenv = 0;
	out->cwd = cmd->cwd;
	out->cwd_set = true;
	out->unset = NULL;
	out->nunset = 0;
}

void shx_spawn_apply(const struct shx_spawn *sp, struct shx_ctx *cc)
{
	cc->flags |= sp->flags;
	cc->unres |= sp->unres;
	if (sp->user) {
		cc->user = sp->user;
		cc->flags |= SH_C_PRIV;
	}
	if (sp->host)
		cc->host = sp->host;
	if (sp->container)
		cc->container = sp->container;
	if (sp->nmounts) {
		cc->mounts = sp->mounts;
		cc->nmounts = sp->nmounts;
	}
	if (sp->stdin_none) {
		cc->in_from = -1;
		cc->in_text = NULL;
		cc->in_len = 0;
	}
}

int shx_spawn(struct shx_ctx *c, int parent, const struct sh_word *argv, int argc, enum sh_via via,
	      const struct shx_spawn *sp)
{
	static const struct shx_spawn none;
	struct shx_ctx cc;
	struct sh_cmd *cmd;
	int i;

	if (argc <= 0)
		return -1;
	if (!sp)
		sp = &none;
	if (argc > (int)SH_MAX_WORDS) {
		/* (xargs fed many items, env -S with a long string) */
		argc = (int)SH_MAX_WORDS;
		c->x->unres |= SH_U_LIMIT;
		shx_cmd(c->x, parent)->unres |= SH_U_LIMIT;
	}
	if ((unsigned)shx_cmd(c->x, parent)->depth + 1 > SH_MAX_DEPTH) {
		shx_cmd(c->x, parent)->unres |= SH_U_LIMIT;
		c->x->unres |= SH_U_LIMIT;
		if (c->out)
			c->out->known = false;
		return -1;
	}
	shx_child_ctx(c, parent, via, &cc);
	shx_spawn_apply(sp, &cc);
	if (sp->cwd_set)
		cc.cwd = sp->cwd;
	if (sp->root)
		cc.root = sp->root;
	i = shx_emit(&cc);
	cmd = shx_cmd(c->x, i);
	cmd->argv = argv;
	cmd->argc = argc;
	for (int k = 0; k < argc; k++)
		cmd->unres |= argv[k].unres;
	{
		const char *slash = strrchr(argv[0].s, '/');

		cmd->name = slash ? slash + 1 : argv[0].s;
	}
	if (argv[0].unres)
		cmd->unres |= SH_U_NAME;
	if (sp->clear_env)
		cmd->flags |= SH_C_ENV_CLEARED;
	cmd->env = sp->env;
	cmd->nenv = sp->nenv;
	cc.cwd_set = false;
	cc.no_function = sp->no_function;
	cc.last_out = -1;
	cc.unset = sp->unset;
	cc.nunset = sp->nunset;
	shx_run(&cc, i);
	c->last_out = cc.last_out;
	return i;
}

/* ---- process substitutions and command substitutions ---------------------------------------- */

void shx_note_procsub(struct shx *x, int owner, int first, const char *text, size_t len,
		      bool decoded)
{
	struct shx_procsub *p;

	if (x->nprocsubs >= SHX_LEN(x->procsubs))
		return;
	p = &x->procsubs[x->nprocsubs++];
	p->owner = owner;
	p->first = first;
	p->text = text ? shx_strndup(x, text, len) : NULL;
	p->len = len;
	p->decoded = decoded;
}

const struct shx_procsub *shx_find_procsub(struct shx *x, int first)
{
	for (size_t i = 0; i < x->nprocsubs; i++)
		if (x->procsubs[i].first == first && first >= 0)
			return &x->procsubs[i];
	return NULL;
}

bool shx_cmdsub(struct shx_ctx *c, struct shx_node *ast, int cmd, enum sh_via via, bool in,
		struct shx_buf *out, bool *decoded, int *first)
{
	struct shx *x = c->x;
	struct shx_ctx cc = *c;
	struct shx_out o = { .known = true };
	size_t mark = x->nbinds, floor = x->mark_floor, before = x->ncmds;

	*first = -1;
	if (!ast)
		return true;
	if (cmd >= 0) {
		cc.parent = cmd;
		cc.depth = shx_cmd(x, cmd)->depth + 1;
	} else {
		cc.depth = c->depth; /* in an assignment: beside the commands around it */
	}
	if ((unsigned)cc.depth > SH_MAX_DEPTH) {
		x->unres |= SH_U_LIMIT;
		return false;
	}
	cc.via = via;
	cc.flags = (c->flags & ~SH_C_FUNCTION) | SH_C_SUBSHELL;
	cc.redirs = NULL;
	cc.nredirs = 0;
	cc.env = NULL;
	cc.nenv = 0;
	cc.cwd_set = false;
	cc.last_out = -1;
	shx_buf_init(&o.b, out->p, out->cap);
	if (in) {
		cc.out = &o;
	} else {
		/* >(...) reads what the command writes: its stdin is the command. */
		cc.out = NULL;
		cc.in_from = cmd;
		cc.in_text = NULL;
		cc.in_len = 0;
	}
	x->mark_floor = mark;
	shx_eval_node(&cc, ast);
	x->nbinds = mark;
	x->mark_floor = floor;
	if (x->ncmds > before)
		*first = (int)before;
	*out = o.b;
	*decoded = o.decoded;
	return in && o.known;
}

/* ---- simple commands ---------------------------------------------------------------------------- */

bool shx_stdout_redirected(const struct sh_redir *r, int n)
{
	for (int i = 0; i < n; i++) {
		if (r[i].fd != 1 && r[i].op != SH_R_ALL && r[i].op != SH_R_ALL_APPEND)
			continue;
		if (r[i].op == SH_R_OUT || r[i].op == SH_R_APPEND || r[i].op == SH_R_CLOBBER ||
		    r[i].op == SH_R_ALL || r[i].op == SH_R_ALL_APPEND || r[i].op == SH_R_RW)
			return true;
		if (r[i].op == SH_R_DUP_OUT && strcmp(r[i].target.s, "1") != 0)
			return true;
	}
	return false;
}

/* Redirections of a command, expanded; inherited ones (of enclosing compounds)
 * first.  Also sets what stdin becomes. */
void shx_redirs(struct shx_ctx *c, const struct shx_redir_node *rn, int cmd, struct shx_ctx *rc,
		struct sh_redir **out, int *nout)
{
	struct shx *x = c->x;
	int n = c->nredirs;
	struct sh_redir *v;

	for (const struct shx_redir_node *r = rn; r; r = r->next)
		n++;
	*out = NULL;
	*nout = 0;
	if (!n)
		return;
	v = shx_alloc(x, (size_t)n * sizeof(*v));
	if (c->nredirs)
		memcpy(v, c->redirs, (size_t)c->nredirs * sizeof(*v));
	n = c->nredirs;
	for (const struct shx_redir_node *r = rn; r; r = r->next) {
		struct sh_redir *d = &v[n++];

		d->op = (enum sh_redir_op)r->op;
		d->fd = r->fd;
		if (r->op == ROP_HEREDOC)
			d->target = shx_expand_one(c, r->target, r->quoted ? XM_STRING : XM_HEREDOC,
						   cmd);
		else
			d->target = shx_expand_one(c, r->target, XM_STRING, cmd);
		if (d->op == SH_R_DUP_OUT && d->target.len &&
		    !(d->target.s[0] >= '0' && d->target.s[0] <= '9') &&
		    strcmp(d->target.s, "-") != 0 && d->fd == 1)
			d->op = SH_R_ALL; /* >&file is &>file */
		if ((d->op == SH_R_IN || d->op == SH_R_OUT || d->op == SH_R_APPEND ||
		     d->op == SH_R_RW || d->op == SH_R_ALL || d->op == SH_R_CLOBBER) &&
		    (!strncmp(d->target.s, "/dev/tcp/", 9) ||
		     !strncmp(d->target.s, "/dev/udp/", 9)))
			d->target.flags |= SH_W_NET;
		if (d->fd == 0 && (d->op == SH_R_IN || d->op == SH_R_RW || d->op == SH_R_DUP_IN)) {
			rc->in_from = -1;
			rc->in_text = NULL;
			rc->in_len = 0;
			if (d->op == SH_R_IN && d->target.flags & SH_W_PROCSUB) {
				const struct shx_procsub *ps = shx_find_procsub(x, d->target.sub);

				/* < <(cmd): stdin is that command's output. */
				rc->in_from = d->target.sub;
				if (ps && ps->text) {
					rc->in_text = ps->text;
					rc->in_len = ps->len;
					rc->in_decoded = ps->decoded;
				}
			}
		} else if (d->op == SH_R_HEREDOC || d->op == SH_R_HERESTR) {
			rc->in_from = -1;
			rc->in_text = NULL;
			rc->in_len = 0;
			if (!d->target.unres && d->fd == 0) {
				if (d->op == SH_R_HERESTR) {
					char *t = shx_alloc(x, d->target.len + 2);

					memcpy(t, d->target.s, d->target.len);
					t[d->target.len] = '\n';
					rc->in_text = t;
					rc->in_len = d->target.len + 1;
				} else {
					rc->in_text = d->target.s;
					rc->in_len = d->target.len;
				}
				rc->in_decoded = (d->target.flags & SH_W_DECODED) != 0;
			}
		}
	}
	*out = v;
	*nout = n;
}

/* NAME=value and NAME=(...) of a simple command, expanded. */
static struct sh_assign *assigns(struct shx_ctx *c, const struct shx_assign *a, int cmd, int *n,
				 struct shx_word ***arrays)
{
	int k = 0;
	struct sh_assign *v;

	for (const struct shx_assign *p = a; p; p = p->next)
		k++;
	*n = k;
	if (!k)
		return NULL;
	v = shx_alloc(c->x, (size_t)k * sizeof(*v));
	*arrays = shx_alloc(c->x, (size_t)k * sizeof(**arrays));
	k = 0;
	for (const struct shx_assign *p = a; p; p = p->next, k++) {
		v[k].name = shx_strndup(c->x, p->name, p->nlen);
		if (p->value->array) {
			(*arrays)[k] = p->value;
			v[k].value = (struct sh_word){ .s = "", .sub = -1 };
			continue;
		}
		v[k].value = shx_expand_one(c, p->value, XM_ASSIGN, cmd);
		if (p->append) {
			struct shx_val old;

			shx_get(c, p->name, p->nlen, &old);
			if (old.state == VAL_UNKNOWN) {
				v[k].value.unres |= old.unres;
			} else if (old.state == VAL_SET) {
				char *t = shx_alloc(c->x, old.len + v[k].value.len + 1);

				memcpy(t, old.s, old.len);
				memcpy(t + old.len, v[k].value.s, v[k].value.len);
				v[k].value.s = t;
				v[k].value.len += old.len;
			}
		}
		if (p->index) {
			/* a[i]=x: an element; the array as a whole is then not known exactly */
			v[k].value.unres |= 0;
		}
	}
	return v;
}

/* An array's elements expanded (NAME=(...)). */
static void set_array(struct shx_ctx *c, const char *name, size_t nlen, const struct shx_word *w,
		      bool append, int cmd)
{
	struct shx_wvec out = { 0 };
	unsigned unres = 0;
	const char **elems;

	for (const struct shx_word *e = w->elems; e; e = e->next) {
		struct shx_assign a;

		if (shx_word_assign(c->x, e, &a)) {
			/* [k]=v elements: not modelled */
			unres |= SH_U_PARAM;
			continue;
		}
		shx_expand(c, e, XM_ARGV, cmd, &out);
	}
	elems = shx_alloc(c->x, (out.n ? out.n : 1) * sizeof(*elems));
	for (size_t i = 0; i < out.n; i++) {
		elems[i] = out.v[i].s;
		unres |= out.v[i].unres;
		if (out.v[i].flags & SH_W_GLOB)
			unres |= SH_U_VAR; /* the files a glob names are not known here */
	}
	shx_set_array(c, name, nlen, elems, (uint32_t)out.n, append, unres);
}

static void apply_assigns(struct shx_ctx *c, const struct shx_assign *a, const struct sh_assign *v,
			  struct shx_word **arrays, bool exported, int cmd)
{
	int k = 0;

	for (const struct shx_assign *p = a; p; p = p->next, k++) {
		struct shx_bind *b;

		if (arrays && arrays[k]) {
			set_array(c, p->name, p->nlen, arrays[k], p->append, cmd);
			continue;
		}
		if (p->index) {
			/* a[i]=v: the array changes in a way not modelled exactly */
			shx_set(c, p->name, p->nlen, NULL, 0, VAL_UNKNOWN, SH_U_PARAM);
			continue;
		}
		b = shx_set(c, p->name, p->nlen, v[k].value.s, v[k].value.len,
			    v[k].value.unres ? VAL_UNKNOWN : VAL_SET, v[k].value.unres);
		b->decoded = (v[k].value.flags & SH_W_DECODED) != 0;
		if (exported)
			b->exported = 1;
		if (b->state == VAL_UNKNOWN && b->vlen == 0 && v[k].value.unres) {
			b->value = v[k].value.s;
			b->vlen = (uint32_t)v[k].value.len;
		}
	}
}

/* ---- files written with known content ----------------------------------------------------------- */

struct file_out {
	struct shx_out o;
	const char *path;
	bool append;
	char stack[256];
};

bool shx_text_parsable(unsigned unres)
{
	return !(unres & (SH_U_CMDSUB | SH_U_ARITH | SH_U_PARAM | SH_U_STDIN | SH_U_SCRIPT |
			  SH_U_LIMIT | SH_U_SYNTAX | SH_U_FIND));
}

const struct shx_file *shx_file_get(struct shx *x, const char *path)
{
	for (size_t i = x->nfiles; i > 0; i--)
		if (!strcmp(x->files[i - 1].path, path))
			return &x->files[i - 1];
	return NULL;
}

/* A command whose stdout goes to one file (> f, >> f, &> f): its output is
 * captured so that the file's content is known if the output is. */
static bool file_out(struct shx_ctx *c, const struct sh_redir *r, int n, struct shx_ctx *rc,
		     struct file_out *fo)
{
	const struct sh_redir *last = NULL;
	unsigned u = 0;

	for (int i = c->nredirs; i < n; i++) {
		if (r[i].fd == 1 || r[i].op == SH_R_ALL || r[i].op == SH_R_ALL_APPEND)
			last = &r[i];
	}
	if (!last || last->target.unres ||
	    (last->op != SH_R_OUT && last->op != SH_R_APPEND && last->op != SH_R_CLOBBER &&
	     last->op != SH_R_ALL && last->op != SH_R_ALL_APPEND))
		return false;
	if (!strncmp(last->target.s, "/dev/", 5) || !last->target.len)
		return false;
	fo->path = shx_path_join(c->x, shx_cwd(rc, &u), last->target.s, last->target.len);
	if (!fo->path)
		return false;
	fo->append = last->op == SH_R_APPEND || last->op == SH_R_ALL_APPEND;
	fo->o.known = true;
	shx_buf_init(&fo->o.b, fo->stack, sizeof(fo->stack));
	return true;
}

static void file_note(struct shx *x, const struct file_out *fo)
{
	struct shx_file *f = NULL;
	const struct shx_file *old = shx_file_get(x, fo->path);
	const char *text = fo->o.known ? shx_strndup(x, fo->o.b.p ? fo->o.b.p : "", fo->o.b.len)
				       : NULL;
	size_t len = fo->o.b.len;

	if (fo->append && text) {
		if (old && old->text) {
			char *t = shx_alloc(x, old->len + len + 1);

			memcpy(t, old->text, old->len);
			memcpy(t + old->len, text, len);
			text = t;
			len += old->len;
		} else {
			text = NULL; /* appended to a file whose content is not known */
		}
	}
	if (x->nfiles < SHX_LEN(x->files))
		f = &x->files[x->nfiles++];
	else
		f = &x->files[SHX_LEN(x->files) - 1];
	f->path = fo->path;
	f->text = len > SH_MAX_INPUT ? NULL : text;
	f->len = len;
	f->decoded = fo->o.decoded;
}

/* A command named like an alias defined earlier: what the alias would run,
 * reported as conditional (bash expands aliases only with expand_aliases set
 * and only on a line read after the definition). */
static void alias_child(struct shx_ctx *c, const struct shx_node *n, int i)
{
	struct shx *x = c->x;
	size_t len;
	const char *w0 = shx_word_plain(n->u.simple.words, &len);
	struct shx_ctx cc = *c;
	char stack[256];
	struct shx_buf b;

	if (!w0)
		return;
	for (size_t a = x->naliases; a > 0; a--) {
		if (strlen(x->aliases[a - 1].name) != len ||
		    memcmp(x->aliases[a - 1].name, w0, len))
			continue;
		shx_buf_init(&b, stack, sizeof(stack));
		shx_buf_add(x, &b, x->aliases[a - 1].value, strlen(x->aliases[a - 1].value));
		for (const struct shx_word *w = n->u.simple.words->next; w; w = w->next) {
			shx_buf_addc(x, &b, ' ');
			shx_buf_add(x, &b, w->raw, w->rawlen);
		}
		cc.flags |= SH_C_CONDITIONAL;
		shx_eval_text(&cc, i, shx_buf_done(x, &b), b.len, SH_VIA_EVAL, false);
		return;
	}
}

static bool first_word_is_decl(const struct shx_word *w)
{
	size_t n;
	const char *s = shx_word_plain(w, &n);

	if (!s && w && w->nsegs == 1 && w->segs[0].kind == SEG_LIT) {
		s = w->segs[0].s;
		n = w->segs[0].len;
	}
	return s && shx_is_decl(s, n);
}

/* export a=$b: one word, ~ expanded as in an assignment, not split. */
static struct sh_word decl_word(struct shx_ctx *c, const struct shx_word *w,
				const struct shx_assign *a, int i)
{
	struct shx *x = c->x;
	struct sh_word one = { .sub = -1 }, v;
	size_t pre;
	char *t;

	if (w->array) {
		set_array(c, a->name, a->nlen, a->value, a->append, i);
		one.s = shx_strndup(x, w->raw, w->rawlen);
		one.len = w->rawlen;
		return one;
	}
	v = shx_expand_one(c, a->value, XM_ASSIGN, i);
	pre = (size_t)(a->value->segs[0].s - w->segs[0].s);
	one = v;
	t = shx_alloc(x, pre + v.len + 1);
	memcpy(t, w->segs[0].s, pre);
	memcpy(t + pre, v.s, v.len);
	one.s = t;
	one.len = pre + v.len;
	one.pattern = NULL;
	one.flags &= ~SH_W_GLOB;
	return one;
}

static void expand_words(struct shx_ctx *c, const struct shx_node *n, int i, struct shx_wvec *argv)
{
	bool decl = first_word_is_decl(n->u.simple.words);

	for (const struct shx_word *w = n->u.simple.words; w; w = w->next) {
		struct shx_assign a;

		if (decl && w != n->u.simple.words && shx_word_assign(c->x, w, &a)) {
			struct sh_word one = decl_word(c, w, &a, i);

			shx_wvec_push(c->x, argv, &one);
			continue;
		}
		shx_expand(c, w, XM_ARGV, i, argv);
	}
}

/* Runs command i (argv, redirections and assignments expanded) in rc. */
static void run_simple(struct shx_ctx *c, const struct shx_node *n, int i, struct shx_ctx *rc)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	const struct sh_redir *rv = cmd->redirs;
	int nr = cmd->nredirs, nenv = cmd->nenv;
	bool redirected = shx_stdout_redirected(rv, nr);
	struct file_out fo = { 0 };
	size_t mark = x->nbinds;

	if (redirected)
		rc->out = NULL;
	/* Prefix assignments are in the command's environment (and visible to a
	 * function or builtin it runs) for its duration only. */
	for (int k = 0; k < nenv; k++)
		shx_push_temp(rc, cmd->env[k].name, strlen(cmd->env[k].name), &cmd->env[k].value);
	rc->last_out = -1;
	rc->redirs = rv;
	rc->nredirs = nr;
	if (file_out(c, rv, nr, rc, &fo))
		rc->out = &fo.o;
	shx_run(rc, i);
	for (size_t k = mark; k < mark + (size_t)nenv && k < x->nbinds; k++)
		x->binds[k].dead = 1;
	if (fo.path)
		file_note(x, &fo);
	if (rc->exited)
		c->exited = true;
	c->pos = rc->pos; /* set -- and shift */
	if (x->naliases)
		alias_child(c, n, i);
	cmd = shx_cmd(x, i);
	if (cmd->argc == 1 && !strcmp(cmd->name, "exec") && nr) {
		/* exec > file: the shell's own descriptors change for what follows. */
		c->redirs = rv;
		c->nredirs = nr;
		if (redirected)
			c->out = NULL;
	}
	if (!redirected && c->out)
		c->last_out = rc->last_out >= 0 ? rc->last_out : i;
}

void shx_eval_simple(struct shx_ctx *c, struct shx_node *n)
{
	struct shx *x = c->x;
	struct shx_wvec argv = { 0 };
	struct shx_ctx rc;
	struct sh_assign *env;
	struct shx_word **arrays = NULL;
	struct sh_redir *rv;
	int nenv, nr, i;
	struct sh_cmd *cmd;

	if (++x->steps > SH_MAX_STEPS)
		shx_limit(x);
	if (!n->u.simple.words && !n->redirs && !c->nredirs) {
		env = assigns(c, n->u.simple.assigns, -1, &nenv, &arrays);
		apply_assigns(c, n->u.simple.assigns, env, arrays, false, -1);
		return;
	}
	i = shx_emit(c);
	expand_words(c, n, i, &argv);
	env = assigns(c, n->u.simple.assigns, i, &nenv, &arrays);
	rc = *c;
	shx_redirs(c, n->redirs, i, &rc, &rv, &nr);
	cmd = shx_cmd(x, i);
	cmd->argv = argv.v;
	cmd->argc = (int)argv.n;
	cmd->env = env;
	cmd->nenv = nenv;
	cmd->redirs = rv;
	cmd->nredirs = nr;
	cmd->pipe_from = rc.in_from;
	cmd->stdin_text = rc.in_text;
	cmd->stdin_len = rc.in_len;
	for (int k = 0; k < cmd->argc; k++)
		cmd->unres |= cmd->argv[k].unres;
	for (int k = 0; k < nr; k++)
		cmd->unres |= rv[k].target.unres;
	for (int k = 0; k < nenv; k++)
		cmd->unres |= env[k].value.unres;
	if (!cmd->argc) {
		/* Redirections only (> file, < file): the assignments stay in the shell.
		 * $(< file) is the file's content: not known. */
		apply_assigns(c, n->u.simple.assigns, env, arrays, false, i);
		if (c->out && !shx_stdout_redirected(rv, nr)) {
			c->last_out = i;
			for (int k = 0; k < nr; k++)
				if (rv[k].op == SH_R_IN && rv[k].fd == 0)
					c->out->known = false;
		}
		return;
	}
	cmd->name = strrchr(cmd->argv[0].s, '/') ? strrchr(cmd->argv[0].s, '/') + 1
						 : cmd->argv[0].s;
	if (cmd->argv[0].unres)
		cmd->unres |= SH_U_NAME;
	run_simple(c, n, i, &rc);
}

/* ---- running a command ------------------------------------------------------------------------ */

static struct shx_funcdef *find_func(struct shx_ctx *c, const char *name)
{
	size_t n = strlen(name);
	struct shx_bind *b = shx_lookup(c, name, n, BIND_FUNC);

	if (!b || b->dead)
		return NULL;
	for (struct shx_funcdef *f = c->x->funcs; f; f = f->next)
		if (f->b == b || (f->body == b->body && f->name && !strcmp(f->name, name)))
			return f;
	return NULL;
}

static void call_function(struct shx_ctx *c, int i, struct shx_funcdef *f)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct shx_ctx cc;

	f->called = true;
	cmd->flags |= SH_C_FUNCTION;
	if (f->active || (unsigned)cmd->depth + 1 > SH_MAX_DEPTH) {
		/* Recursion is not followed: its commands were reported by the first call. */
		cmd->unres |= SH_U_LIMIT;
		x->unres |= SH_U_LIMIT;
		out_unknown(c);
		return;
	}
	shx_child_ctx(c, i, SH_VIA_FUNCTION, &cc);
	cc.cwd_set = false;
	cc.redirs = c->redirs;
	cc.nredirs = c->nredirs;
	cc.pos.v = cmd->argv + 1;
	cc.pos.n = cmd->argc - 1;
	cc.pos.known = true;
	cc.in_func = true;
	cc.func_mark = x->nbinds;
	cc.last_out = -1;
	f->active++;
	shx_eval_node(&cc, f->body);
	f->active--;
	for (size_t k = cc.func_mark; k < x->nbinds; k++)
		if (x->binds[k].local)
			x->binds[k].dead = 1;
	c->last_out = cc.last_out;
}

void shx_run(struct shx_ctx *c, int i)
{
	struct shx *x = c->x;
	struct sh_cmd *cmd = shx_cmd(x, i);
	struct shx_funcdef *f;
	bool decoded = false;

	if (!cmd->argc)
		return;
	c->last_out = i;
	if (cmd->argv[0].unres) {
		out_unknown(c);
		return;
	}
	if (!c->no_function && !strchr(cmd->argv[0].s, '/') && (f = find_func(c, cmd->argv[0].s))) {
		call_function(c, i, f);
		return;
	}
	if (!strchr(cmd->argv[0].s, '/') && shx_is_builtin(cmd->argv[0].s))
		cmd->flags |= SH_C_BUILTIN;
	if (!strchr(cmd->argv[0].s, '/') && shx_builtin(c, i, c))
		return;
	if (shx_wrap(c, i))
		return;
	if (!c->out)
		return;
	if (!shx_literal(c, i, &c->out->b, &decoded))
		c->out->known = false;
	else if (decoded)
		c->out->decoded = true;
	c->out->used = true;
}
