/*
 * parse.c - the grammar of bash's command language, into struct shx_node:
 * lists, and-or lists, pipelines, simple commands with assignments and
 * redirections, ( ) and { } groups, if, while, until, for (both forms),
 * select, case, [[ ]], (( )), function definitions (both forms), time and !.
 *
 * A syntax error stops the parse where it happens: the tree keeps what was
 * complete before it and the caller reports SH_U_SYNTAX with the offset.
 * Nesting is bounded by SH_MAX_NEST (the recursion of this file and of the
 * lexer's substitutions together).
 */
#include "parse_int.h"

static struct shx_node *parse_command(struct shx_p *p);
static struct shx_node *parse_and_or(struct shx_p *p);

static struct shx_node *node(struct shx_p *p, int kind, size_t off)
{
	struct shx_node *n = shx_alloc(p->x, sizeof(*n));

	n->kind = (uint8_t)kind;
	n->off = (uint32_t)off;
	return n;
}

static bool nest_in(struct shx_p *p)
{
	if (++p->nest >= (int)SH_MAX_NEST) {
		p->x->unres |= SH_U_LIMIT;
		shx_p_error(p, shx_peek(p)->off);
		return false;
	}
	return true;
}

static void skip_newlines(struct shx_p *p)
{
	while (!p->error && shx_peek(p)->type == T_NEWLINE)
		shx_consume(p);
}

/* A reserved word that ends a list where it stands in command position. */
static bool is_terminator(const struct shx_tok *t)
{
	static const char *const kw[] = { "}", "then", "else", "elif", "fi", "do", "done", "esac" };

	if (t->type == T_EOF || t->type == T_RPAREN || t->type == T_DSEMI || t->type == T_SEMIAMP ||
	    t->type == T_DSEMIAMP)
		return true;
	for (size_t i = 0; i < SHX_LEN(kw); i++)
		if (shx_tok_is(t, kw[i]))
			return true;
	return false;
}

static bool expect_word(struct shx_p *p, const char *kw)
{
	struct shx_tok *t;

	skip_newlines(p);
	t = shx_peek(p);
	if (p->error)
		return false;
	if (!shx_tok_is(t, kw)) {
		shx_p_error(p, t->off);
		return false;
	}
	shx_consume(p);
	return true;
}

/* A list up to a terminator (left for the caller): items with ; & or newlines. */
struct shx_node *shx_parse_list(struct shx_p *p)
{
	struct shx_node *list = node(p, N_LIST, p->pos), **tail = &list->u.first;

	for (;;) {
		struct shx_tok *t;
		struct shx_node *item;

		skip_newlines(p);
		t = shx_peek(p);
		if (p->error || is_terminator(t))
			break;
		item = parse_and_or(p);
		if (!item)
			break;
		*tail = item;
		tail = &item->next;
		t = shx_peek(p);
		if (p->error)
			break;
		if (t->type == T_SEMI || t->type == T_AMP) {
			item->bg = item->bg || t->type == T_AMP;
			shx_consume(p);
		} else if (t->type == T_NEWLINE) {
			shx_consume(p);
		} else if (!is_terminator(t)) {
			shx_p_error(p, t->off);
			break;
		}
	}
	list->end = (uint32_t)p->pos;
	return list;
}

static struct shx_node *parse_pipeline(struct shx_p *p)
{
	struct shx_node *pipe = node(p, N_PIPE, shx_peek(p)->off), **tail = &pipe->u.first;
	struct shx_tok *t = shx_peek(p);
	bool bang = false;

	/* time [-p] and ! before the pipeline: time is not a command, ! inverts. */
	if (shx_tok_is(t, "time")) {
		shx_consume(p);
		t = shx_peek(p);
		if (shx_tok_is(t, "-p"))
			shx_consume(p);
		t = shx_peek(p);
	}
	while (shx_tok_is(t, "!")) {
		bang = !bang;
		shx_consume(p);
		t = shx_peek(p);
	}
	for (;;) {
		struct shx_node *c = parse_command(p);

		if (!c)
			return pipe->u.first ? pipe : NULL;
		*tail = c;
		tail = &c->next;
		t = shx_peek(p);
		if (p->error || (t->type != T_PIPE && t->type != T_PIPEAMP))
			break;
		c->pipe_err = t->type == T_PIPEAMP;
		shx_consume(p);
		skip_newlines(p);
	}
	pipe->bang = bang;
	pipe->end = (uint32_t)p->pos;
	if (!pipe->u.first->next && !bang) {
		struct shx_node *only = pipe->u.first;

		return only;
	}
	return pipe;
}

static struct shx_node *parse_and_or(struct shx_p *p)
{
	struct shx_node *ao = node(p, N_ANDOR, shx_peek(p)->off), **tail = &ao->u.first;
	int op = AO_FIRST;

	for (;;) {
		struct shx_node *pl = parse_pipeline(p);
		struct shx_tok *t;

		if (!pl) {
			if (op != AO_FIRST && !p->error)
				shx_p_error(p, shx_peek(p)->off);
			break;
		}
		pl->op = (uint8_t)op;
		*tail = pl;
		tail = &pl->next;
		t = shx_peek(p);
		if (p->error || (t->type != T_AND && t->type != T_OR))
			break;
		op = t->type == T_AND ? AO_AND : AO_OR;
		shx_consume(p);
		skip_newlines(p);
	}
	if (!ao->u.first)
		return NULL;
	ao->end = (uint32_t)p->pos;
	if (!ao->u.first->next)
		return ao->u.first;
	return ao;
}

/* Redirection operator and target; here-documents wait for their body. */
static struct shx_redir_node *parse_redir(struct shx_p *p)
{
	struct shx_tok *t = shx_peek(p);
	struct shx_redir_node *r = shx_alloc(p->x, sizeof(*r));
	size_t off = t->off;

	r->op = (uint8_t)t->op;
	r->fd = t->fd & ~(1 << 30);
	r->strip_tabs = (t->fd & (1 << 30)) != 0;
	shx_consume(p);
	t = shx_peek(p);
	if (p->error)
		return NULL;
	if (t->type != T_WORD) {
		shx_p_error(p, off);
		return NULL;
	}
	r->target = t->w;
	shx_consume(p);
	if (r->op == ROP_HEREDOC)
		shx_heredoc_pending(p, r);
	return r;
}

static void parse_redirs(struct shx_p *p, struct shx_node *n)
{
	struct shx_redir_node **tail = &n->redirs;

	while (*tail)
		tail = &(*tail)->next;
	while (!p->error && shx_peek(p)->type == T_REDIR) {
		struct shx_redir_node *r = parse_redir(p);

		if (!r)
			return;
		*tail = r;
		tail = &r->next;
	}
}

static struct shx_node *parse_compound_body(struct shx_p *p);

/* name ( ) compound-command, after name and ( ) were read. */
static struct shx_node *parse_funcdef(struct shx_p *p, const char *name, size_t nlen, size_t off)
{
	struct shx_node *f = node(p, N_FUNCDEF, off);

	skip_newlines(p);
	f->u.func.name = name;
	f->u.func.nlen = (uint32_t)nlen;
	f->u.func.body = parse_compound_body(p);
	if (!f->u.func.body && !p->error)
		shx_p_error(p, shx_peek(p)->off);
	f->end = (uint32_t)p->pos;
	return f;
}

static struct shx_node *parse_simple(struct shx_p *p)
{
	struct shx_node *n = node(p, N_SIMPLE, shx_peek(p)->off);
	struct shx_assign **atail = &n->u.simple.assigns;
	struct shx_word **wtail = &n->u.simple.words;
	struct shx_redir_node **rtail = &n->redirs;
	size_t nwords = 0;

	for (;;) {
		struct shx_tok *t = shx_peek(p);

		if (p->error)
			break;
		if (t->type == T_REDIR) {
			struct shx_redir_node *r = parse_redir(p);

			if (!r)
				break;
			*rtail = r;
			rtail = &r->next;
			continue;
		}
		if (t->type == T_LPAREN && nwords == 1 && !n->u.simple.assigns) {
			/* name ( ) { ...; }: a function definition. */
			size_t nlen;
			const char *name = shx_word_plain(n->u.simple.words, &nlen);

			shx_consume(p);
			t = shx_peek(p);
			if (!name || t->type != T_RPAREN) {
				shx_p_error(p, t->off);
				break;
			}
			shx_consume(p);
			return parse_funcdef(p, name, nlen, n->off);
		}
		if (t->type != T_WORD)
			break;
		if (nwords == 0) {
			struct shx_assign a;

			if (shx_word_assign(p->x, t->w, &a)) {
				struct shx_assign *na = shx_alloc(p->x, sizeof(*na));

				*na = a;
				*atail = na;
				atail = &na->next;
				shx_consume(p);
				continue;
			}
		}
		*wtail = t->w;
		wtail = &t->w->next;
		nwords++;
		shx_consume(p);
	}
	n->end = (uint32_t)p->pos;
	if (!nwords && !n->u.simple.assigns && !n->redirs)
		return NULL;
	return n;
}

static struct shx_node *parse_if(struct shx_p *p, size_t off)
{
	struct shx_node *n = node(p, N_IF, off);

	n->u.if_.cond = shx_parse_list(p);
	if (!expect_word(p, "then"))
		return n;
	n->u.if_.then = shx_parse_list(p);
	skip_newlines(p);
	if (shx_tok_is(shx_peek(p), "elif")) {
		size_t eo = shx_peek(p)->off;

		shx_consume(p);
		if (!nest_in(p))
			return n;
		n->u.if_.els = parse_if(p, eo);
		p->nest--;
		return n;
	}
	if (shx_tok_is(shx_peek(p), "else")) {
		shx_consume(p);
		n->u.if_.els = shx_parse_list(p);
	}
	expect_word(p, "fi");
	return n;
}

static struct shx_node *parse_do_body(struct shx_p *p)
{
	struct shx_node *body;

	skip_newlines(p);
	if (shx_tok_is(shx_peek(p), "{")) { /* for x in ...; { ...; } */
		shx_consume(p);
		body = shx_parse_list(p);
		expect_word(p, "}");
		return body;
	}
	if (!expect_word(p, "do"))
		return NULL;
	body = shx_parse_list(p);
	expect_word(p, "done");
	return body;
}

/* for ((init; cond; step)): the three expressions as arithmetic words. */
static struct shx_node *parse_arith_for(struct shx_p *p, size_t off)
{
	struct shx_node *n = node(p, N_ARITHFOR, off);
	struct shx_word *w, **parts[3] = { &n->u.afor.init, &n->u.afor.cond, &n->u.afor.step };
	size_t from = 0;
	int k = 0;

	p->pos = shx_peek(p)->off + 2; /* after (( */
	shx_consume(p);
	w = shx_lex_arith(p, 2);
	if (!w) {
		shx_p_error(p, off);
		return n;
	}
	for (size_t i = 0; i <= w->rawlen && k < 3; i++) {
		if (i == w->rawlen || w->raw[i] == ';') {
			*parts[k++] = shx_word_lit(p->x, w->raw + from, i - from, false);
			from = i + 1;
		}
	}
	if (shx_peek(p)->type == T_SEMI)
		shx_consume(p);
	n->u.afor.body = parse_do_body(p);
	return n;
}

static struct shx_node *parse_for(struct shx_p *p, size_t off)
{
	struct shx_node *n = node(p, N_FOR, off);
	struct shx_tok *t = shx_peek(p);
	struct shx_word **tail = &n->u.for_.words;
	const char *name;
	size_t nlen;

	if (t->type == T_LPAREN && t->off + 1 < p->len && p->s[t->off + 1] == '(')
		return parse_arith_for(p, off);
	if (t->type != T_WORD || !(name = shx_word_plain(t->w, &nlen)) ||
	    !shx_valid_name(name, nlen)) {
		shx_p_error(p, t->off);
		return n;
	}
	n->u.for_.var = name;
	n->u.for_.vlen = (uint32_t)nlen;
	shx_consume(p);
	skip_newlines(p);
	t = shx_peek(p);
	if (shx_tok_is(t, "in")) {
		n->u.for_.has_in = true;
		shx_consume(p);
		while ((t = shx_peek(p))->type == T_WORD && !p->error) {
			*tail = t->w;
			tail = &t->w->next;
			shx_consume(p);
		}
		if (t->type != T_SEMI && t->type != T_NEWLINE) {
			shx_p_error(p, t->off);
			return n;
		}
		shx_consume(p);
	} else if (t->type == T_SEMI) {
		shx_consume(p);
	}
	n->u.for_.body = parse_do_body(p);
	return n;
}

static struct shx_node *parse_case(struct shx_p *p, size_t off)
{
	struct shx_node *n = node(p, N_CASE, off);
	struct shx_tok *t = shx_peek(p);
	struct shx_arm **tail = &n->u.case_.arms;

	if (t->type != T_WORD) {
		shx_p_error(p, t->off);
		return n;
	}
	n->u.case_.subject = t->w;
	shx_consume(p);
	if (!expect_word(p, "in"))
		return n;
	for (;;) {
		struct shx_arm *arm;
		struct shx_word **ptail;

		skip_newlines(p);
		t = shx_peek(p);
		if (p->error)
			return n;
		if (shx_tok_is(t, "esac")) {
			shx_consume(p);
			return n;
		}
		arm = shx_alloc(p->x, sizeof(*arm));
		ptail = &arm->patterns;
		if (t->type == T_LPAREN) {
			shx_consume(p);
			t = shx_peek(p);
		}
		for (;;) {
			if (t->type != T_WORD) {
				shx_p_error(p, t->off);
				return n;
			}
			*ptail = t->w;
			ptail = &t->w->next;
			shx_consume(p);
			t = shx_peek(p);
			if (t->type == T_PIPE) {
				shx_consume(p);
				t = shx_peek(p);
				continue;
			}
			break;
		}
		if (t->type != T_RPAREN) {
			shx_p_error(p, t->off);
			return n;
		}
		shx_consume(p);
		arm->body = shx_parse_list(p);
		*tail = arm;
		tail = &arm->next;
		t = shx_peek(p);
		if (t->type == T_DSEMI || t->type == T_SEMIAMP || t->type == T_DSEMIAMP) {
			arm->term = t->type == T_DSEMI ? 0 : t->type == T_SEMIAMP ? 1 : 2;
			shx_consume(p);
		} else if (!shx_tok_is(t, "esac")) {
			shx_p_error(p, t->off);
			return n;
		}
	}
}

/* [[ ... ]]: the words are kept for their substitutions; operators are skipped. */
static struct shx_node *parse_dbrack(struct shx_p *p, size_t off)
{
	struct shx_node *n = node(p, N_DBRACK, off);
	struct shx_word **tail = &n->u.words;

	for (;;) {
		struct shx_tok *t = shx_peek(p);

		if (p->error)
			return n;
		if (t->type == T_EOF) {
			shx_p_error(p, off);
			return n;
		}
		if (shx_tok_is(t, "]]")) {
			shx_consume(p);
			return n;
		}
		if (t->type == T_WORD) {
			*tail = t->w;
			tail = &t->w->next;
		}
		shx_consume(p);
	}
}

static struct shx_node *parse_compound_body(struct shx_p *p)
{
	struct shx_tok *t = shx_peek(p);
	size_t off = t->off;
	struct shx_node *n = NULL;

	if (p->error)
		return NULL;
	if (!nest_in(p))
		return NULL;
	if (t->type == T_LPAREN) {
		if (off + 1 < p->len && p->s[off + 1] == '(') {
			/* (( expression )) */
			shx_consume(p);
			p->pos = off + 2;
			n = node(p, N_ARITH, off);
			n->u.words = shx_lex_arith(p, 2);
			if (!n->u.words) {
				/* ( (subshell) ): a subshell after all, whose list starts
				 * with another subshell. */
				p->pos = off + 1;
				n->kind = N_SUBSHELL;
				n->u.first = shx_parse_list(p);
				if (shx_peek(p)->type != T_RPAREN)
					shx_p_error(p, off);
				else
					shx_consume(p);
			}
		} else {
			shx_consume(p);
			n = node(p, N_SUBSHELL, off);
			n->u.first = shx_parse_list(p);
			if (shx_peek(p)->type != T_RPAREN)
				shx_p_error(p, shx_peek(p)->off);
			else
				shx_consume(p);
		}
	} else if (shx_tok_is(t, "{")) {
		shx_consume(p);
		n = node(p, N_GROUP, off);
		n->u.first = shx_parse_list(p);
		expect_word(p, "}");
	} else if (shx_tok_is(t, "if")) {
		shx_consume(p);
		n = parse_if(p, off);
	} else if (shx_tok_is(t, "while") || shx_tok_is(t, "until")) {
		n = node(p, shx_tok_is(t, "while") ? N_WHILE : N_UNTIL, off);
		shx_consume(p);
		n->u.loop.cond = shx_parse_list(p);
		n->u.loop.body = parse_do_body(p);
	} else if (shx_tok_is(t, "for") || shx_tok_is(t, "select")) {
		bool sel = shx_tok_is(t, "select");

		shx_consume(p);
		n = parse_for(p, off);
		if (n->kind == N_FOR)
			n->u.for_.select = sel;
	} else if (shx_tok_is(t, "case")) {
		shx_consume(p);
		n = parse_case(p, off);
	} else if (shx_tok_is(t, "[[")) {
		shx_consume(p);
		n = parse_dbrack(p, off);
	}
	p->nest--;
	if (n) {
		n->end = (uint32_t)p->pos;
		parse_redirs(p, n);
	}
	return n;
}

static struct shx_node *parse_command(struct shx_p *p)
{
	struct shx_tok *t = shx_peek(p);
	struct shx_node *n;

	if (p->error)
		return NULL;
	if (shx_tok_is(t, "function")) {
		const char *name;
		size_t nlen, off = t->off;

		shx_consume(p);
		t = shx_peek(p);
		if (t->type != T_WORD || !(name = shx_word_plain(t->w, &nlen))) {
			shx_p_error(p, t->off);
			return NULL;
		}
		shx_consume(p);
		t = shx_peek(p);
		if (t->type == T_LPAREN) {
			shx_consume(p);
			if (shx_peek(p)->type != T_RPAREN) {
				shx_p_error(p, shx_peek(p)->off);
				return NULL;
			}
			shx_consume(p);
		}
		return parse_funcdef(p, name, nlen, off);
	}
	if (shx_tok_is(t, "coproc")) {
		/* coproc [NAME] command: the command runs in the background. */
		shx_consume(p);
		n = parse_command(p);
		if (n)
			n->bg = 1;
		return n;
	}
	n = parse_compound_body(p);
	if (n || p->error)
		return n;
	t = shx_peek(p);
	if (t->type == T_WORD || t->type == T_REDIR)
		return parse_simple(p);
	return NULL;
}

struct shx_node *shx_parse_sub(struct shx_p *p)
{
	bool had = p->have;
	struct shx_tok saved = p->tok;
	size_t open = p->pos;
	struct shx_node *n;

	p->have = false;
	if (!nest_in(p)) {
		p->pos = p->len;
		return NULL;
	}
	n = shx_parse_list(p);
	if (!p->error) {
		struct shx_tok *t = shx_peek(p);

		if (t->type != T_RPAREN)
			shx_p_error(p, open);
		else
			shx_consume(p);
	}
	p->nest--;
	p->have = had;
	p->tok = saved;
	return n;
}

struct shx_node *shx_parse_text(struct shx *x, const char *text, size_t len, int nest,
				size_t *err_off, bool *error)
{
	struct shx_p p = { .x = x, .s = text, .len = len, .nest = nest };
	struct shx_node *n;

	if (memchr(text, '\0', len)) {
		/* bash reads past NUL bytes as if they were not there (and a command
		 * line cannot carry one): they go, so that words never hold one. */
		char *t = shx_alloc(x, len + 1);
		size_t k = 0;

		for (size_t i = 0; i < len; i++)
			if (text[i])
				t[k++] = text[i];
		p.s = t;
		p.len = k;
	}
	n = shx_parse_list(&p);

	if (!p.error && shx_peek(&p)->type != T_EOF)
		shx_p_error(&p, shx_peek(&p)->off);
	if (p.error) {
		*error = true;
		*err_off = p.err_off;
	}
	return n;
}
