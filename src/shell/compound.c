/*
 * compound.c - lists, and-or lists, pipelines, ( ) and { }, if, while,
 * until, for, case, function definitions, and the text a shell or eval runs:
 * the control flow of eval.c's walk.  A branch that may not run is a region
 * (its commands are conditional, what it binds is uncertain afterwards);
 * pipeline elements, ( ), & and substitutions are subshells (what they bind
 * is undone at their end).
 */
#include "shell_int.h"

#include <fnmatch.h>

/* Evaluator recursion in all (every level of interpretation adds to it): bounds
 * the C stack together with the parser's SH_MAX_NEST. */
#define EVAL_NEST (2u * SH_MAX_NEST)

/* A region that may not run: its commands are conditional and what it binds is
 * uncertain afterwards. */
struct region {
	size_t mark, floor;
	bool exited;
};

static void region_begin(struct shx_ctx *c, struct region *r)
{
	r->mark = c->x->nbinds;
	r->floor = c->x->mark_floor;
	r->exited = c->exited;
	c->x->mark_floor = r->mark;
}

static void region_end(struct shx_ctx *c, struct region *r, unsigned reason)
{
	shx_uncertain_since(c, r->mark, reason);
	c->x->mark_floor = r->floor;
	c->exited = r->exited;
}

/* A subshell: everything it binds is undone at its end. */
static void in_subshell(struct shx_ctx *c, struct shx_node *n, unsigned flags)
{
	struct shx *x = c->x;
	struct shx_ctx cc = *c;
	size_t mark = x->nbinds, floor = x->mark_floor;

	cc.flags |= flags;
	x->mark_floor = mark;
	shx_eval_node(&cc, n);
	x->nbinds = mark;
	x->mark_floor = floor;
	c->last_out = cc.last_out;
}

static void eval_pipe(struct shx_ctx *c, struct shx_node *n)
{
	struct shx_out buf[2];
	int k = 0, from = c->in_from, cur = 0;
	const char *text = c->in_text;
	size_t tlen = c->in_len;
	bool tdec = c->in_decoded;

	for (struct shx_node *e = n->u.first; e; e = e->next, k++) {
		struct shx_ctx cc = *c;
		bool last = !e->next;
		char stack[256];

		cc.in_from = from;
		cc.in_text = text;
		cc.in_len = tlen;
		cc.in_decoded = tdec;
		cc.last_out = -1;
		if (!last) {
			memset(&buf[cur], 0, sizeof(buf[cur]));
			buf[cur].known = true;
			shx_buf_init(&buf[cur].b, stack, sizeof(stack));
			cc.out = &buf[cur];
		}
		/* Each element of a pipeline of several runs in a subshell. */
		if (n->u.first->next) {
			struct shx *x = c->x;
			size_t mark = x->nbinds, floor = x->mark_floor;

			x->mark_floor = mark;
			shx_eval_node(&cc, e);
			x->nbinds = mark;
			x->mark_floor = floor;
		} else {
			shx_eval_node(&cc, e);
			c->exited = cc.exited;
		}
		if (last) {
			c->last_out = cc.last_out;
			break;
		}
		from = cc.last_out;
		if (buf[cur].known) {
			/* The buffer lives on this frame: copy it for the next element. */
			text = shx_strndup(c->x, buf[cur].b.p ? buf[cur].b.p : "", buf[cur].b.len);
			tlen = buf[cur].b.len;
			tdec = buf[cur].decoded;
		} else {
			text = NULL;
			tlen = 0;
			tdec = false;
		}
		cur ^= 1;
	}
}

static void eval_andor(struct shx_ctx *c, struct shx_node *n)
{
	struct region r;
	struct shx_ctx cc;
	bool started = false;

	for (struct shx_node *e = n->u.first; e; e = e->next) {
		if (e->op == AO_FIRST) {
			shx_eval_node(c, e);
			continue;
		}
		if (!started) {
			region_begin(c, &r);
			cc = *c;
			cc.flags |= SH_C_CONDITIONAL;
			started = true;
		}
		cc.last_out = -1;
		shx_eval_node(&cc, e);
		if (cc.last_out >= 0)
			c->last_out = cc.last_out;
	}
	if (started) {
		region_end(c, &r, SH_U_COND);
		/* `|| exit`: what follows runs only if the branch did not exit. */
		if (cc.exited)
			c->exited = true;
	}
}

static void eval_list(struct shx_ctx *c, struct shx_node *n)
{
	for (struct shx_node *e = n->u.first; e; e = e->next) {
		if (e->bg) {
			in_subshell(c, e, SH_C_BACKGROUND);
			continue;
		}
		shx_eval_node(c, e);
	}
}

/* The body of a branch, loop or case arm that may not run. */
static void conditional(struct shx_ctx *c, struct shx_node *n, unsigned reason)
{
	struct region r;
	struct shx_ctx cc;

	if (!n)
		return;
	region_begin(c, &r);
	cc = *c;
	cc.flags |= SH_C_CONDITIONAL;
	shx_eval_node(&cc, n);
	region_end(c, &r, reason);
	if (cc.last_out >= 0)
		c->last_out = cc.last_out;
	if (cc.exited)
		c->exited = true; /* the branch may exit: what follows may not run */
}

static void eval_if(struct shx_ctx *c, struct shx_node *n)
{
	shx_eval_node(c, n->u.if_.cond);
	conditional(c, n->u.if_.then, SH_U_COND);
	if (n->u.if_.els) {
		if (n->u.if_.els->kind == N_IF) {
			struct region r;
			struct shx_ctx cc;

			region_begin(c, &r);
			cc = *c;
			cc.flags |= SH_C_CONDITIONAL;
			eval_if(&cc, n->u.if_.els);
			region_end(c, &r, SH_U_COND);
		} else {
			conditional(c, n->u.if_.els, SH_U_COND);
		}
	}
}

static void eval_loop(struct shx_ctx *c, struct shx_node *n)
{
	/* What the loop changes differs from one iteration to the next. */
	struct region r;
	struct shx_ctx cc;

	region_begin(c, &r);
	shx_loop_vars(c, n, SH_U_LOOP, 0);
	shx_eval_node(c, n->u.loop.cond);
	cc = *c;
	cc.flags |= SH_C_CONDITIONAL;
	shx_eval_node(&cc, n->u.loop.body);
	region_end(c, &r, SH_U_LOOP);
}

static void eval_for(struct shx_ctx *c, struct shx_node *n)
{
	struct shx_wvec items = { 0 };
	const struct sh_word *iv = NULL;
	size_t in = 0;
	bool literal = true;
	struct region r;
	struct shx_ctx cc;

	if (!n->u.for_.var)
		return; /* cut short by a syntax error */
	if (n->u.for_.has_in) {
		for (struct shx_word *w = n->u.for_.words; w; w = w->next)
			shx_expand(c, w, XM_ARGV, -1, &items);
		iv = items.v;
		in = items.n;
	} else if (c->pos.known) {
		iv = c->pos.v;
		in = (size_t)c->pos.n;
	} else {
		literal = false;
	}
	for (size_t i = 0; i < in && literal; i++)
		if (iv[i].unres || (iv[i].flags & SH_W_GLOB))
			literal = false;
	if (n->u.for_.select)
		literal = false; /* select: what the user picks, or nothing */
	if (literal && in <= SH_MAX_UNROLL) {
		for (size_t i = 0; i < in; i++) {
			shx_set(c, n->u.for_.var, n->u.for_.vlen, iv[i].s, iv[i].len, VAL_SET, 0);
			shx_eval_node(c, n->u.for_.body);
		}
		return;
	}
	region_begin(c, &r);
	shx_loop_vars(c, n->u.for_.body, SH_U_LOOP, 0);
	shx_set(c, n->u.for_.var, n->u.for_.vlen, NULL, 0, VAL_UNKNOWN,
		n->u.for_.select ? SH_U_STDIN
		: literal	 ? SH_U_LOOP | SH_U_LIMIT
				 : SH_U_LOOP);
	cc = *c;
	cc.flags |= SH_C_CONDITIONAL;
	shx_eval_node(&cc, n->u.for_.body);
	region_end(c, &r, SH_U_LOOP);
}

static void eval_arithfor(struct shx_ctx *c, struct shx_node *n)
{
	long long v;
	unsigned u = 0;
	struct region r;
	struct shx_ctx cc;

	if (n->u.afor.init)
		shx_arith(c, n->u.afor.init->raw, n->u.afor.init->rawlen, &v, &u);
	region_begin(c, &r);
	shx_loop_vars(c, n, SH_U_LOOP, 0);
	cc = *c;
	cc.flags |= SH_C_CONDITIONAL;
	shx_eval_node(&cc, n->u.afor.body);
	region_end(c, &r, SH_U_LOOP);
}

static void eval_case(struct shx_ctx *c, struct shx_node *n)
{
	struct sh_word subj = shx_expand_one(c, n->u.case_.subject, XM_STRING, -1);
	bool decided = !subj.unres, fall = false;

	/* With a known word the arm is decided, unless a pattern before it is not known. */
	if (decided) {
		for (struct shx_arm *a = n->u.case_.arms; a; a = a->next) {
			bool match = fall;

			for (struct shx_word *p = a->patterns; p && !match; p = p->next) {
				struct sh_word pw = shx_expand_one(c, p, XM_PATTERN, -1);

				if (pw.unres) {
					decided = false;
					break;
				}
				match = fnmatch(pw.s, subj.s, 0) == 0;
			}
			if (!decided)
				break;
			if (!match)
				continue;
			shx_eval_node(c, a->body);
			fall = a->term == 1;
			if (a->term == 0)
				return;
		}
		if (decided)
			return;
	}
	for (struct shx_arm *a = n->u.case_.arms; a; a = a->next)
		conditional(c, a->body, SH_U_COND);
}

/* Redirections of a compound command apply to every command in it. */
static void compound_redirs(struct shx_ctx *c, struct shx_node *n, struct shx_ctx *cc)
{
	struct sh_redir *rv;
	int nr;

	*cc = *c;
	if (!n->redirs)
		return;
	shx_redirs(c, n->redirs, -1, cc, &rv, &nr);
	cc->redirs = rv;
	cc->nredirs = nr;
	if (shx_stdout_redirected(rv, nr))
		cc->out = NULL;
}

static void define_function(struct shx_ctx *c, struct shx_node *n)
{
	struct shx *x = c->x;
	struct shx_funcdef *f = shx_alloc(x, sizeof(*f));

	shx_set_func(c, n->u.func.name, n->u.func.nlen, n->u.func.body);
	f->name = shx_strndup(x, n->u.func.name, n->u.func.nlen);
	f->body = n->u.func.body;
	f->b = NULL;
	f->shell = c->sh->id;
	f->next = x->funcs;
	x->funcs = f;
}

void shx_eval_node(struct shx_ctx *c, struct shx_node *n)
{
	struct shx_ctx cc;

	if (!n)
		return;
	if ((unsigned)++c->nest > EVAL_NEST) {
		c->x->unres |= SH_U_LIMIT;
		c->nest--;
		return;
	}
	switch (n->kind) {
	case N_SIMPLE:
		shx_eval_simple(c, n);
		break;
	case N_PIPE:
		eval_pipe(c, n);
		break;
	case N_ANDOR:
		eval_andor(c, n);
		break;
	case N_LIST:
		eval_list(c, n);
		break;
	case N_FUNCDEF:
		define_function(c, n);
		break;
	default:
		compound_redirs(c, n, &cc);
		switch (n->kind) {
		case N_SUBSHELL:
			in_subshell(&cc, n->u.first, SH_C_SUBSHELL);
			break;
		case N_GROUP:
			shx_eval_node(&cc, n->u.first);
			break;
		case N_IF:
			eval_if(&cc, n);
			break;
		case N_WHILE:
		case N_UNTIL:
			eval_loop(&cc, n);
			break;
		case N_FOR:
			eval_for(&cc, n);
			break;
		case N_ARITHFOR:
			eval_arithfor(&cc, n);
			break;
		case N_CASE:
			eval_case(&cc, n);
			break;
		case N_DBRACK:
			for (struct shx_word *w = n->u.words; w; w = w->next)
				shx_expand_one(&cc, w, XM_STRING, -1);
			break;
		case N_ARITH: {
			struct sh_word w = shx_expand_one(&cc, n->u.words, XM_HEREDOC, -1);
			long long v;
			unsigned u = 0;

			if (!w.unres)
				shx_arith(&cc, w.s, w.len, &v, &u);
			break;
		}
		default:
			break;
		}
		c->last_out = cc.last_out;
		c->exited = c->exited || (n->kind == N_GROUP && cc.exited);
		break;
	}
	c->nest--;
}

/* Functions defined in shell sh and never called: their bodies are reported as
 * conditional, so that what they would run is not hidden. */
static void uncalled_functions(struct shx_ctx *c)
{
	for (struct shx_funcdef *f = c->x->funcs; f; f = f->next) {
		struct shx_ctx cc = *c;

		if (f->called || f->shell != c->sh->id)
			continue;
		f->called = true;
		cc.flags |= SH_C_CONDITIONAL;
		cc.via = SH_VIA_FUNCTION;
		cc.pos.known = false;
		cc.exited = false;
		cc.last_out = -1;
		{
			size_t mark = c->x->nbinds, floor = c->x->mark_floor;

			c->x->mark_floor = mark;
			shx_eval_node(&cc, f->body);
			c->x->nbinds = mark;
			c->x->mark_floor = floor;
		}
	}
}

void shx_eval_text(struct shx_ctx *c, int cmd, const char *text, size_t len, enum sh_via via,
		   bool decoded)
{
	struct shx *x = c->x;
	size_t err = 0;
	bool error = false;
	struct shx_node *ast;
	struct shx_ctx cc = *c;

	if (len > SH_MAX_INPUT) {
		if (cmd >= 0)
			shx_cmd(x, cmd)->unres |= SH_U_LIMIT;
		if (c->out)
			c->out->known = false;
		return;
	}
	ast = shx_parse_text(x, text, len, 0, &err, &error);
	if (error && cmd >= 0)
		shx_cmd(x, cmd)->unres |= SH_U_SYNTAX;
	if (cmd >= 0) {
		cc.parent = cmd;
		cc.depth = shx_cmd(x, cmd)->depth + 1;
	}
	cc.via = via;
	if (decoded)
		cc.flags |= SH_C_DECODED;
	cc.last_out = -1;
	shx_eval_node(&cc, ast);
	c->last_out = cc.last_out;
	if (cc.exited && via == SH_VIA_EVAL)
		c->exited = true;
	/* eval and source share the shell: its functions may be called later. */
	if (via != SH_VIA_EVAL)
		uncalled_functions(&cc);
}

void shx_eval_top(struct shx_ctx *c, struct shx_node *n)
{
	shx_eval_node(c, n);
	uncalled_functions(c);
}
