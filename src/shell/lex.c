/*
 * lex.c - tokens and the parts of words, as bash's reader sees them.
 *
 * A word is kept as segments: literal text (quoted or not: quote removal
 * is done here, but the quoting is remembered for field splitting, globs,
 * tilde and brace expansion), parameters, command and arithmetic
 * substitutions and process substitutions.  $(...), <(...) and `...` are
 * parsed by the grammar right here, in place (a `case` inside $( ) has
 * parentheses of its own that only the grammar can match).
 * Here-document bodies are read when the newline that ends their command
 * line is read.  Segments are built on a scratch stack (x->segstack) and
 * copied into the arena when a word is complete, so nested words (a word
 * inside ${x:-...} inside a word) need no allocation of their own.
 */
#include "parse_int.h"

enum lmode {
	LM_WORD,     /* an unquoted word: ends at a metacharacter */
	LM_DQ,	     /* inside "...": ends at the closing quote */
	LM_PARAM,    /* the word of ${x:-...}: ends at the closing brace */
	LM_PARAM_DQ, /* the same inside double quotes */
	LM_HEREDOC,  /* a here-document body: only $, ` and \ are special */
	LM_ARITH,    /* $((...)): like a here-document, double quotes ignored */
};

void shx_p_error(struct shx_p *p, size_t off)
{
	if (!p->error) {
		p->error = true;
		p->err_off = off;
	}
}

static bool is_meta(char c)
{
	return c == ' ' || c == '\t' || c == '\n' || c == ';' || c == '&' || c == '|' || c == '<' ||
	       c == '>' || c == '(' || c == ')';
}

static bool is_name_start(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}

static bool is_name_char(char c)
{
	return is_name_start(c) || (c >= '0' && c <= '9');
}

bool shx_valid_name(const char *s, size_t n)
{
	if (n == 0 || !is_name_start(s[0]))
		return false;
	for (size_t i = 1; i < n; i++)
		if (!is_name_char(s[i]))
			return false;
	return true;
}

/* ---- the segment stack ------------------------------------------------------------------------ */

static void seg_push(struct shx *x, const struct shx_seg *sg)
{
	if (x->nsegstack == x->capsegstack) {
		size_t cap = x->capsegstack ? x->capsegstack * 2 : 64;
		struct shx_seg *n = shx_alloc(x, cap * sizeof(*n));

		if (x->nsegstack)
			memcpy(n, x->segstack, x->nsegstack * sizeof(*n));
		x->segstack = n;
		x->capsegstack = cap;
	}
	x->segstack[x->nsegstack++] = *sg;
}

static void push_lit(struct shx *x, const char *s, size_t n, bool quoted)
{
	struct shx_seg sg = { .kind = SEG_LIT, .quoted = quoted, .s = s, .len = (uint32_t)n };

	if (n == 0 && !quoted)
		return;
	seg_push(x, &sg);
}

/* The segments from base up as a word (the stack is popped back to base). */
static struct shx_word *make_word(struct shx *x, size_t base, const char *raw, size_t rawlen)
{
	struct shx_word *w = shx_alloc(x, sizeof(*w));
	size_t n = x->nsegstack - base;

	w->nsegs = (uint32_t)n;
	if (n) {
		w->segs = shx_alloc(x, n * sizeof(*w->segs));
		memcpy(w->segs, x->segstack + base, n * sizeof(*w->segs));
	}
	w->raw = raw;
	w->rawlen = (uint32_t)rawlen;
	x->nsegstack = base;
	return w;
}

struct shx_word *shx_word_lit(struct shx *x, const char *s, size_t n, bool quoted)
{
	struct shx_word *w = shx_alloc(x, sizeof(*w));

	w->segs = shx_alloc(x, sizeof(*w->segs));
	w->segs[0].kind = SEG_LIT;
	w->segs[0].quoted = quoted;
	w->segs[0].s = s;
	w->segs[0].len = (uint32_t)n;
	w->nsegs = 1;
	w->raw = s;
	w->rawlen = (uint32_t)n;
	return w;
}

const char *shx_word_plain(const struct shx_word *w, size_t *len)
{
	if (!w || w->nsegs != 1 || w->segs[0].kind != SEG_LIT || w->segs[0].quoted)
		return NULL;
	*len = w->segs[0].len;
	return w->segs[0].s;
}

bool shx_word_assign(struct shx *x, const struct shx_word *w, struct shx_assign *a)
{
	const struct shx_seg *s0;
	size_t n = 0, eq;
	struct shx_word *v;

	if (!w->nsegs || w->segs[0].kind != SEG_LIT || w->segs[0].quoted)
		return false;
	s0 = &w->segs[0];
	while (n < s0->len && (n ? is_name_char(s0->s[n]) : is_name_start(s0->s[n])))
		n++;
	if (n == 0 || n == s0->len)
		return false;
	memset(a, 0, sizeof(*a));
	eq = n;
	if (s0->s[eq] == '[') {
		/* NAME[index]=: the index is text up to the matching bracket. */
		size_t e = eq + 1;
		int depth = 1;

		while (e < s0->len && depth) {
			if (s0->s[e] == '[')
				depth++;
			else if (s0->s[e] == ']')
				depth--;
			e++;
		}
		if (depth)
			return false;
		a->index = shx_word_lit(x, s0->s + eq + 1, e - eq - 2, false);
		eq = e;
	}
	if (eq < s0->len && s0->s[eq] == '+') {
		a->append = true;
		eq++;
	}
	if (eq >= s0->len || s0->s[eq] != '=')
		return false;
	a->name = s0->s;
	a->nlen = (uint32_t)n;
	v = shx_alloc(x, sizeof(*v));
	v->nsegs = w->nsegs;
	v->segs = shx_alloc(x, w->nsegs * sizeof(*v->segs));
	memcpy(v->segs, w->segs, w->nsegs * sizeof(*v->segs));
	v->segs[0].s += eq + 1;
	v->segs[0].len -= (uint32_t)(eq + 1);
	v->raw = w->raw + (eq + 1 <= w->rawlen ? eq + 1 : 0);
	v->rawlen = w->rawlen > eq + 1 ? (uint32_t)(w->rawlen - eq - 1) : 0;
	v->elems = w->elems;
	v->array = w->array;
	a->value = v;
	return true;
}

/* ---- parts of words ------------------------------------------------------------------------------ */

static void lex_parts(struct shx_p *p, enum lmode mode, char stop);

/* A sub-parser over s[from, to) of the same text (or of another string). */
static void sub_init(struct shx_p *sub, const struct shx_p *p, const char *s, size_t from,
		     size_t to)
{
	memset(sub, 0, sizeof(*sub));
	sub->x = p->x;
	sub->s = s;
	sub->pos = from;
	sub->len = to;
	sub->nest = p->nest + 1;
}

/* `...`: the text between the backquotes with \$, \`, \\ (and \" in double
 * quotes) unescaped, parsed as a script of its own. */
static void lex_backtick(struct shx_p *p, bool dq)
{
	struct shx *x = p->x;
	size_t start = p->pos, i = p->pos + 1;
	char stack[256];
	struct shx_buf b;
	struct shx_seg sg = { .kind = SEG_CMDSUB, .quoted = dq };
	size_t err = 0;
	bool error = false;

	shx_buf_init(&b, stack, sizeof(stack));
	while (i < p->len && p->s[i] != '`') {
		if (p->s[i] == '\\' && i + 1 < p->len) {
			char n = p->s[i + 1];

			if (n == '$' || n == '`' || n == '\\' || (dq && n == '"')) {
				shx_buf_addc(x, &b, n);
				i += 2;
				continue;
			}
		}
		shx_buf_addc(x, &b, p->s[i]);
		i++;
	}
	if (i >= p->len) {
		shx_p_error(p, start);
		p->pos = p->len;
		return;
	}
	p->pos = i + 1;
	if (p->nest + 1 >= (int)SH_MAX_NEST) {
		x->unres |= SH_U_LIMIT;
		shx_p_error(p, start);
		return;
	}
	sg.u.ast = shx_parse_text(x, shx_buf_done(x, &b), b.len, p->nest + 1, &err, &error);
	if (error)
		shx_p_error(p, start);
	sg.s = p->s + start;
	sg.len = (uint32_t)(p->pos - start);
	seg_push(x, &sg);
}

/* $'...': ANSI-C escapes, a quoted literal of its own. */
static void lex_ansic(struct shx_p *p)
{
	struct shx *x = p->x;
	size_t start = p->pos, i = p->pos + 2;
	char stack[256];
	struct shx_buf b;
	struct shx_seg sg = { .kind = SEG_LIT, .quoted = 1 };
	bool decoded = false, stop = false;

	while (i < p->len && p->s[i] != '\'')
		i += (p->s[i] == '\\' && i + 1 < p->len) ? 2 : 1;
	if (i >= p->len) {
		shx_p_error(p, start);
		p->pos = p->len;
		return;
	}
	shx_buf_init(&b, stack, sizeof(stack));
	shx_unescape_c(x, p->s + start + 2, i - start - 2, &b, SHX_ESC_DOLLAR, &decoded, &stop);
	/* bash cuts $'...' at a NUL byte */
	{
		const char *nul = memchr(b.p ? b.p : "", '\0', b.len);

		if (nul)
			b.len = (size_t)(nul - b.p);
	}
	sg.s = shx_buf_done(x, &b);
	sg.len = (uint32_t)b.len;
	sg.decoded = decoded;
	p->pos = i + 1;
	seg_push(x, &sg);
}

struct shx_word *shx_lex_arith(struct shx_p *p, int close)
{
	struct shx_p sub;
	size_t i = p->pos, base = p->x->nsegstack;
	int depth = 0;
	struct shx_word *w;

	while (i < p->len) {
		char c = p->s[i];

		if (c == '\'' || c == '"') {
			const char *q = memchr(p->s + i + 1, c, p->len - i - 1);

			if (!q)
				return NULL;
			i = (size_t)(q - p->s) + 1;
			continue;
		}
		if (c == '\\') {
			i += 2;
			continue;
		}
		if (c == '(' || (close == 1 && c == '['))
			depth++;
		else if (close == 2 && c == ')') {
			if (depth == 0)
				break;
			depth--;
		} else if (close == 1 && c == ']') {
			if (depth == 0)
				break;
			depth--;
		}
		i++;
	}
	if (i >= p->len || (close == 2 && (i + 1 >= p->len || p->s[i + 1] != ')')))
		return NULL;
	sub_init(&sub, p, p->s, p->pos, i);
	lex_parts(&sub, LM_ARITH, 0);
	if (sub.error)
		shx_p_error(p, sub.err_off);
	w = make_word(p->x, base, p->s + p->pos, i - p->pos);
	p->pos = i + (size_t)close;
	return w;
}

/* A word of a ${...} form up to the closing brace (or stop at depth 0). */
static struct shx_word *param_word(struct shx_p *p, bool dq, char stop)
{
	size_t base = p->x->nsegstack, start = p->pos;

	lex_parts(p, dq ? LM_PARAM_DQ : LM_PARAM, stop);
	return make_word(p->x, base, p->s + start, p->pos - start);
}

static bool is_special_param(char c)
{
	return c == '@' || c == '*' || c == '#' || c == '?' || c == '-' || c == '$' || c == '!' ||
	       (c >= '0' && c <= '9');
}

/* Skips to the brace closing a ${...} form, for the forms not evaluated. */
static void skip_brace(struct shx_p *p)
{
	int depth = 0;

	while (p->pos < p->len) {
		char c = p->s[p->pos];

		if (c == '\\') {
			p->pos += 2;
			continue;
		}
		if (c == '{')
			depth++;
		else if (c == '}') {
			if (depth == 0)
				return;
			depth--;
		}
		p->pos++;
	}
}

static void param_op(struct shx_p *p, struct shx_param *pm, bool dq)
{
	const char *s = p->s;
	char c = p->pos < p->len ? s[p->pos] : '\0';
	char c2 = p->pos + 1 < p->len ? s[p->pos + 1] : '\0';

	switch (c) {
	case '}':
		return;
	case ':':
		if (c2 == '-' || c2 == '=' || c2 == '+' || c2 == '?') {
			pm->colon = 1;
			p->pos++;
			param_op(p, pm, dq);
			return;
		}
		p->pos++;
		pm->op = PARAM_SUBSTR;
		pm->arg = param_word(p, dq, ':');
		if (p->pos < p->len && s[p->pos] == ':') {
			p->pos++;
			pm->arg2 = param_word(p, dq, 0);
			pm->has_arg2 = true;
		}
		return;
	case '-':
	case '=':
	case '+':
	case '?':
		pm->op = c == '-'   ? PARAM_DEFAULT
			 : c == '=' ? PARAM_ASSIGN
			 : c == '+' ? PARAM_ALT
				    : PARAM_ERROR;
		p->pos++;
		pm->arg = param_word(p, dq, 0);
		return;
	case '#':
	case '%':
		pm->op = c == '#' ? (c2 == '#' ? PARAM_TRIM_LL : PARAM_TRIM_SL)
				  : (c2 == '%' ? PARAM_TRIM_LR : PARAM_TRIM_SR);
		p->pos += c2 == c ? 2 : 1;
		pm->arg = param_word(p, dq, 0);
		return;
	case '/':
		pm->op = c2 == '/'   ? PARAM_REPL_ALL
			 : c2 == '#' ? PARAM_REPL_PRE
			 : c2 == '%' ? PARAM_REPL_SUF
				     : PARAM_REPL;
		p->pos += pm->op == PARAM_REPL ? 1 : 2;
		pm->arg = param_word(p, dq, '/');
		if (p->pos < p->len && s[p->pos] == '/') {
			p->pos++;
			pm->arg2 = param_word(p, dq, 0);
			pm->has_arg2 = true;
		}
		return;
	case '^':
	case ',':
		pm->op = c == '^' ? (c2 == '^' ? PARAM_UPPER : PARAM_UPPER1)
				  : (c2 == ',' ? PARAM_LOWER : PARAM_LOWER1);
		p->pos += c2 == c ? 2 : 1;
		if (p->pos < p->len && s[p->pos] != '}') {
			/* A pattern limiting the characters changed: not evaluated. */
			pm->op = PARAM_UNSUPPORTED;
			skip_brace(p);
		}
		return;
	default:
		pm->op = PARAM_UNSUPPORTED;
		skip_brace(p);
		return;
	}
}

/* ${...} from p->pos at the '$'. */
static void lex_brace_param(struct shx_p *p, bool dq)
{
	struct shx *x = p->x;
	struct shx_param *pm = shx_alloc(x, sizeof(*pm));
	struct shx_seg sg = { .kind = SEG_PARAM, .quoted = dq };
	size_t start = p->pos;
	const char *s = p->s;
	bool len_op = false, indirect = false;

	p->pos += 2;
	if (p->pos + 1 < p->len && s[p->pos] == '#' && s[p->pos + 1] != '}') {
		len_op = true;
		p->pos++;
	} else if (p->pos + 1 < p->len && s[p->pos] == '!' && s[p->pos + 1] != '}') {
		indirect = true;
		p->pos++;
	}
	if (p->pos < p->len && is_name_start(s[p->pos])) {
		size_t b = p->pos;

		while (p->pos < p->len && is_name_char(s[p->pos]))
			p->pos++;
		pm->name = s + b;
		pm->nlen = (uint8_t)(p->pos - b > 255 ? 255 : p->pos - b);
		if (p->pos - b > 255)
			pm->op = PARAM_UNSUPPORTED;
	} else if (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9') {
		size_t b = p->pos;

		while (p->pos < p->len && s[p->pos] >= '0' && s[p->pos] <= '9' && p->pos - b < 8)
			p->pos++;
		pm->name = s + b;
		pm->nlen = (uint8_t)(p->pos - b);
	} else if (p->pos < p->len && is_special_param(s[p->pos])) {
		pm->name = s + p->pos;
		pm->nlen = 1;
		p->pos++;
	} else {
		pm->op = PARAM_UNSUPPORTED;
	}
	if (pm->op != PARAM_UNSUPPORTED && p->pos < p->len && s[p->pos] == '[') {
		size_t b = ++p->pos;
		int depth = 1;

		while (p->pos < p->len && depth) {
			if (s[p->pos] == '[')
				depth++;
			else if (s[p->pos] == ']')
				depth--;
			p->pos++;
		}
		if (depth) {
			shx_p_error(p, start);
			return;
		}
		if (p->pos - b == 2 && s[b] == '@')
			pm->subscript = SUB_AT;
		else if (p->pos - b == 2 && s[b] == '*')
			pm->subscript = SUB_STAR;
		else {
			pm->subscript = SUB_EXPR;
			pm->sub = shx_word_lit(x, s + b, p->pos - b - 1, false);
		}
	}
	if (pm->op != PARAM_UNSUPPORTED) {
		if (len_op)
			pm->op = PARAM_LEN;
		else if (indirect)
			pm->op = PARAM_INDIRECT;
		if ((len_op || indirect) && p->pos < p->len && s[p->pos] != '}') {
			pm->op = PARAM_UNSUPPORTED; /* ${!prefix*}, ${!a[@]}, ... */
			skip_brace(p);
		} else if (!len_op && !indirect)
			param_op(p, pm, dq);
	} else
		skip_brace(p);
	if (p->pos >= p->len || s[p->pos] != '}') {
		shx_p_error(p, start);
		p->pos = p->len;
		return;
	}
	p->pos++;
	sg.u.param = pm;
	sg.s = s + start;
	sg.len = (uint32_t)(p->pos - start);
	seg_push(x, &sg);
}

/* $ in any mode, at p->pos; returns false when it is a literal '$'. */
static bool lex_dollar(struct shx_p *p, enum lmode mode, bool dq)
{
	struct shx *x = p->x;
	const char *s = p->s;
	size_t start = p->pos;
	char c = p->pos + 1 < p->len ? s[p->pos + 1] : '\0';
	struct shx_seg sg = { .quoted = dq };

	if (c == '\'' && (mode == LM_WORD || mode == LM_PARAM)) {
		lex_ansic(p);
		return true;
	}
	if (c == '{') {
		lex_brace_param(p, dq);
		return true;
	}
	if (c == '(' || c == '[') {
		if (c == '[' || (p->pos + 2 < p->len && s[p->pos + 2] == '(')) {
			p->pos += c == '[' ? 2 : 3;
			sg.u.arith = shx_lex_arith(p, c == '[' ? 1 : 2);
			if (sg.u.arith) {
				sg.kind = SEG_ARITH;
				sg.s = s + start;
				sg.len = (uint32_t)(p->pos - start);
				seg_push(x, &sg);
				return true;
			}
			if (c == '[') {
				p->pos = start + 1;
				return false;
			}
			p->pos = start; /* $( (...) ): a command substitution after all */
		}
		p->pos += 2;
		sg.kind = SEG_CMDSUB;
		sg.u.ast = shx_parse_sub(p);
		sg.s = s + start;
		sg.len = (uint32_t)(p->pos - start);
		seg_push(x, &sg);
		return true;
	}
	if (is_name_start(c)) {
		struct shx_param *pm = shx_alloc(x, sizeof(*pm));
		size_t b = ++p->pos;

		while (p->pos < p->len && is_name_char(s[p->pos]))
			p->pos++;
		pm->name = s + b;
		pm->nlen = (uint8_t)(p->pos - b > 255 ? 255 : p->pos - b);
		if (p->pos - b > 255)
			pm->op = PARAM_UNSUPPORTED;
		sg.kind = SEG_PARAM;
		sg.u.param = pm;
		sg.s = s + start;
		sg.len = (uint32_t)(p->pos - start);
		seg_push(x, &sg);
		return true;
	}
	if (c && is_special_param(c)) {
		struct shx_param *pm = shx_alloc(x, sizeof(*pm));

		pm->name = s + p->pos + 1;
		pm->nlen = 1;
		p->pos += 2;
		sg.kind = SEG_PARAM;
		sg.u.param = pm;
		sg.s = s + start;
		sg.len = 2;
		seg_push(x, &sg);
		return true;
	}
	if (c == '"' && (mode == LM_WORD || mode == LM_PARAM)) {
		p->pos++; /* $"...": a translated string, read as "..." */
		return true;
	}
	return false;
}

/* A here-document delimiter's text after quote removal; *quoted if any quoting. */
static const char *delim_text(struct shx *x, const struct shx_word *w, uint32_t *len, bool *quoted)
{
	char stack[128];
	struct shx_buf b;

	shx_buf_init(&b, stack, sizeof(stack));
	*quoted = false;
	for (uint32_t i = 0; i < w->nsegs; i++) {
		if (w->segs[i].quoted || w->segs[i].kind != SEG_LIT)
			*quoted = *quoted || w->segs[i].quoted;
		shx_buf_add(x, &b, w->segs[i].s, w->segs[i].len);
	}
	/* A quoted empty string ("") leaves no segment text but is quoting. */
	if (!*quoted && w->rawlen && memchr(w->raw, '\\', w->rawlen))
		*quoted = true;
	*len = (uint32_t)b.len;
	return shx_buf_done(x, &b);
}

void shx_heredoc_pending(struct shx_p *p, struct shx_redir_node *r)
{
	bool quoted;

	r->delim = delim_text(p->x, r->target, &r->dlen, &quoted);
	r->quoted = quoted;
	r->target = NULL;
	if (p->pending_tail)
		p->pending_tail->next_pending = r;
	else
		p->pending = r;
	p->pending_tail = r;
}

/* One here-document's body from p->pos: lines up to the delimiter line. */
static void read_heredoc(struct shx_p *p, struct shx_redir_node *r)
{
	struct shx *x = p->x;
	size_t start = p->pos, body_end = p->pos;
	char stack[512];
	struct shx_buf b;
	const char *body;
	size_t blen;

	shx_buf_init(&b, stack, sizeof(stack));
	while (p->pos < p->len) {
		size_t ls = p->pos, eol;
		const char *nl = memchr(p->s + ls, '\n', p->len - ls);

		eol = nl ? (size_t)(nl - p->s) : p->len;
		if (r->strip_tabs)
			while (ls < eol && p->s[ls] == '\t')
				ls++;
		if (eol - ls == r->dlen && !memcmp(p->s + ls, r->delim, r->dlen)) {
			p->pos = nl ? eol + 1 : eol;
			break;
		}
		if (r->strip_tabs)
			shx_buf_add(x, &b, p->s + ls, (nl ? eol + 1 : eol) - ls);
		p->pos = nl ? eol + 1 : eol;
		body_end = p->pos;
	}
	if (r->strip_tabs) {
		body = shx_buf_done(x, &b);
		blen = b.len;
	} else {
		body = p->s + start;
		blen = body_end - start;
	}
	if (r->quoted) {
		r->target = shx_word_lit(x, body, blen, true);
	} else {
		struct shx_p sub;
		size_t base = x->nsegstack;

		sub_init(&sub, p, body, 0, blen);
		lex_parts(&sub, LM_HEREDOC, 0);
		if (sub.error)
			shx_p_error(p, start);
		r->target = make_word(x, base, body, blen);
	}
}

static void read_heredocs(struct shx_p *p)
{
	struct shx_redir_node *r = p->pending;

	p->pending = p->pending_tail = NULL;
	for (; r; r = r->next_pending)
		read_heredoc(p, r);
}

/* NAME=( elements ): the words up to the closing parenthesis. */
static void lex_array(struct shx_p *p, struct shx_word **elems)
{
	struct shx_word **tail = elems;
	size_t start = p->pos;

	p->pos++; /* ( */
	for (;;) {
		size_t base = p->x->nsegstack, ws;

		while (p->pos < p->len &&
		       (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' || p->s[p->pos] == '\n'))
			p->pos++;
		if (p->pos < p->len && p->s[p->pos] == '#') {
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
			continue;
		}
		if (p->pos >= p->len) {
			shx_p_error(p, start);
			return;
		}
		if (p->s[p->pos] == ')') {
			p->pos++;
			return;
		}
		ws = p->pos;
		lex_parts(p, LM_WORD, 0);
		if (p->error)
			return;
		if (p->pos == ws) { /* a metacharacter other than ) */
			shx_p_error(p, p->pos);
			return;
		}
		*tail = make_word(p->x, base, p->s + ws, p->pos - ws);
		tail = &(*tail)->next;
	}
}

/* Whether the segments from base form NAME= or NAME+= (an array may follow). */
static bool at_array_assign(struct shx *x, size_t base)
{
	const struct shx_seg *sg;
	size_t n;

	if (x->nsegstack != base + 1)
		return false;
	sg = &x->segstack[base];
	if (sg->kind != SEG_LIT || sg->quoted || sg->len < 2 || sg->s[sg->len - 1] != '=')
		return false;
	n = sg->len - 1;
	if (n && sg->s[n - 1] == '+')
		n--;
	return shx_valid_name(sg->s, n);
}

/* The literal text from *run to p->pos as a segment; the next run starts at end. */
static void flush(struct shx_p *p, size_t *run, bool quoted, size_t end)
{
	if (p->pos > *run)
		push_lit(p->x, p->s + *run, p->pos - *run, quoted);
	*run = end;
}

/* A backslash at p->pos: what it quotes, or (in double quotes and bodies) a
 * literal backslash unless it escapes $ ` \ " or a newline. */
static void lex_backslash(struct shx_p *p, enum lmode mode, bool quoted, size_t *run)
{
	char n = p->pos + 1 < p->len ? p->s[p->pos + 1] : '\0';

	if (mode == LM_WORD || mode == LM_PARAM) {
		flush(p, run, quoted, p->pos);
		if (n == '\n') {
			p->pos += 2;
		} else if (p->pos + 1 < p->len) {
			push_lit(p->x, p->s + p->pos + 1, 1, true);
			p->pos += 2;
		} else {
			push_lit(p->x, p->s + p->pos, 1, false);
			p->pos++;
		}
		*run = p->pos;
		return;
	}
	if (n == '$' || n == '`' || n == '\\' || n == '\n' ||
	    (n == '"' && (mode == LM_DQ || mode == LM_PARAM_DQ))) {
		flush(p, run, quoted, p->pos);
		if (n != '\n')
			push_lit(p->x, p->s + p->pos + 1, 1, true);
		p->pos += 2;
		*run = p->pos;
		return;
	}
	p->pos += p->pos + 1 < p->len ? 2 : 1; /* part of the literal run */
}

/* '...' in a word: quoted text up to the next quote. */
static void lex_squote(struct shx_p *p, bool quoted, size_t *run)
{
	const char *q = memchr(p->s + p->pos + 1, '\'', p->len - p->pos - 1);

	flush(p, run, quoted, p->pos);
	if (!q) {
		shx_p_error(p, p->pos);
		p->pos = p->len;
		return;
	}
	push_lit(p->x, p->s + p->pos + 1, (size_t)(q - p->s) - p->pos - 1, true);
	p->pos = (size_t)(q - p->s) + 1;
	*run = p->pos;
}

/* "..." in a word or a ${...} word. */
static void lex_dquote(struct shx_p *p, bool quoted, size_t *run)
{
	struct shx *x = p->x;
	size_t open = p->pos, base = x->nsegstack;

	flush(p, run, quoted, p->pos);
	p->pos++;
	p->nest++;
	lex_parts(p, LM_DQ, 0);
	p->nest--;
	if (p->pos >= p->len || p->s[p->pos] != '"') {
		shx_p_error(p, open);
		return;
	}
	if (x->nsegstack == base) /* "" is an empty quoted word */
		push_lit(x, p->s + p->pos, 0, true);
	p->pos++;
	*run = p->pos;
}

/* Whether the character ends the text lexed in mode (at brace depth 0 for ${...}). */
static bool ends(enum lmode mode, char c, char stop, int depth)
{
	if (mode == LM_WORD)
		return is_meta(c);
	if (mode == LM_DQ)
		return c == '"';
	if (mode == LM_PARAM || mode == LM_PARAM_DQ)
		return depth == 0 && (c == '}' || (stop && c == stop));
	return false;
}

static void lex_parts(struct shx_p *p, enum lmode mode, char stop)
{
	bool quoted = mode != LM_WORD && mode != LM_PARAM;
	bool word = mode == LM_WORD || mode == LM_PARAM;
	size_t run = p->pos;
	int depth = 0;

	if (p->nest >= (int)SH_MAX_NEST) {
		p->x->unres |= SH_U_LIMIT;
		shx_p_error(p, p->pos);
		return;
	}
	while (p->pos < p->len && !p->error) {
		char c = p->s[p->pos];

		if (ends(mode, c, stop, depth))
			break;
		if ((mode == LM_PARAM || mode == LM_PARAM_DQ) && (c == '{' || c == '}'))
			depth += c == '{' ? 1 : -1;
		if (c == '\\') {
			lex_backslash(p, mode, quoted, &run);
		} else if (c == '\'' && word) {
			lex_squote(p, quoted, &run);
		} else if (c == '"' && (word || mode == LM_PARAM_DQ)) {
			lex_dquote(p, quoted, &run);
		} else if (c == '"' && mode == LM_ARITH) {
			flush(p, &run, quoted, p->pos + 1); /* quotes in $((...)) are dropped */
			p->pos++;
		} else if (c == '$') {
			flush(p, &run, quoted, p->pos);
			p->nest++;
			if (lex_dollar(p, mode, quoted || mode == LM_PARAM_DQ))
				run = p->pos;
			else
				p->pos++; /* a literal $: the next run starts with it */
			p->nest--;
		} else if (c == '`') {
			flush(p, &run, quoted, p->pos);
			p->nest++;
			lex_backtick(p, quoted);
			p->nest--;
			run = p->pos;
		} else {
			p->pos++;
		}
	}
	flush(p, &run, quoted, p->pos);
}

/* ---- tokens -------------------------------------------------------------------------------------- */

static struct shx_word *lex_word(struct shx_p *p)
{
	struct shx *x = p->x;
	size_t base = x->nsegstack, start = p->pos;
	struct shx_word *w, *elems = NULL;
	bool array = false;

	if (p->pos + 1 < p->len && (p->s[p->pos] == '<' || p->s[p->pos] == '>') &&
	    p->s[p->pos + 1] == '(') {
		struct shx_seg sg = { .kind = p->s[p->pos] == '<' ? SEG_PROCIN : SEG_PROCOUT };

		p->pos += 2;
		sg.u.ast = shx_parse_sub(p);
		sg.s = p->s + start;
		sg.len = (uint32_t)(p->pos - start);
		seg_push(x, &sg);
	}
	if (!p->error)
		lex_parts(p, LM_WORD, 0);
	if (!p->error && p->pos < p->len && p->s[p->pos] == '(' && at_array_assign(x, base)) {
		lex_array(p, &elems);
		array = true;
	}
	w = make_word(x, base, p->s + start, p->pos - start);
	w->elems = elems;
	w->array = array;
	return w;
}

static void set_redir(struct shx_tok *t, int op, int fd, size_t adv, struct shx_p *p)
{
	t->type = T_REDIR;
	t->op = op;
	t->fd = fd;
	p->pos += adv;
}

/* < and > operators (fd is the io number, -1 for the default); false for <( and >(,
 * which start a word. */
static bool lex_redir(struct shx_p *p, struct shx_tok *t, int fd)
{
	const char *s = p->s + p->pos;
	size_t left = p->len - p->pos;
	char c = s[0], n = left > 1 ? s[1] : '\0', n2 = left > 2 ? s[2] : '\0';

	if (n == '(' && fd < 0)
		return false;
	if (c == '<') {
		if (n == '<' && n2 == '<')
			set_redir(t, ROP_HERESTR, fd < 0 ? 0 : fd, 3, p);
		else if (n == '<')
			set_redir(t, ROP_HEREDOC, fd < 0 ? 0 : fd, n2 == '-' ? 3 : 2, p);
		else if (n == '&')
			set_redir(t, ROP_DUP_IN, fd < 0 ? 0 : fd, 2, p);
		else if (n == '>')
			set_redir(t, ROP_RW, fd < 0 ? 0 : fd, 2, p);
		else
			set_redir(t, ROP_IN, fd < 0 ? 0 : fd, 1, p);
		if (t->op == ROP_HEREDOC && n2 == '-')
			t->fd |= 1 << 30; /* <<-: the grammar takes the flag off */
		return true;
	}
	if (n == '>')
		set_redir(t, ROP_APPEND, fd < 0 ? 1 : fd, 2, p);
	else if (n == '&')
		set_redir(t, ROP_DUP_OUT, fd < 0 ? 1 : fd, 2, p);
	else if (n == '|')
		set_redir(t, ROP_CLOBBER, fd < 0 ? 1 : fd, 2, p);
	else
		set_redir(t, ROP_OUT, fd < 0 ? 1 : fd, 1, p);
	return true;
}

/* ; & | ( ) and newline; false for anything else. */
static bool lex_op(struct shx_p *p, struct shx_tok *t)
{
	const char *s = p->s + p->pos;
	size_t left = p->len - p->pos;
	char c = s[0], n = left > 1 ? s[1] : '\0', n2 = left > 2 ? s[2] : '\0';

	switch (c) {
	case '\n':
		p->pos++;
		t->type = T_NEWLINE;
		if (p->pending)
			read_heredocs(p);
		return true;
	case ';':
		if (n == ';')
			t->type = n2 == '&' ? T_DSEMIAMP : T_DSEMI;
		else
			t->type = n == '&' ? T_SEMIAMP : T_SEMI;
		p->pos += t->type == T_DSEMIAMP ? 3 : t->type == T_SEMI ? 1 : 2;
		return true;
	case '&':
		if (n == '&') {
			t->type = T_AND;
			p->pos += 2;
		} else if (n == '>') {
			set_redir(t, n2 == '>' ? ROP_ALL_APPEND : ROP_ALL, 1, n2 == '>' ? 3 : 2, p);
		} else {
			t->type = T_AMP;
			p->pos++;
		}
		return true;
	case '|':
		t->type = n == '|' ? T_OR : n == '&' ? T_PIPEAMP : T_PIPE;
		p->pos += t->type == T_PIPE ? 1 : 2;
		return true;
	case '(':
	case ')':
		t->type = c == '(' ? T_LPAREN : T_RPAREN;
		p->pos++;
		return true;
	default:
		return false;
	}
}

/* An io number: digits right before < or > (not <( or >(); -1 if none. */
static int io_number(struct shx_p *p)
{
	size_t i = p->pos;
	long v = 0;

	while (i < p->len && p->s[i] >= '0' && p->s[i] <= '9' && v < 100000)
		v = v * 10 + (p->s[i++] - '0');
	if (i == p->pos || i >= p->len || (p->s[i] != '<' && p->s[i] != '>') ||
	    (i + 1 < p->len && p->s[i + 1] == '(') || v >= 100000)
		return -1;
	p->pos = i;
	return (int)v;
}

static void lex_token(struct shx_p *p, struct shx_tok *t)
{
	int fd;

	for (;;) {
		while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t'))
			p->pos++;
		if (p->pos + 1 < p->len && p->s[p->pos] == '\\' && p->s[p->pos + 1] == '\n') {
			p->pos += 2;
			continue;
		}
		if (p->pos < p->len && p->s[p->pos] == '#') {
			while (p->pos < p->len && p->s[p->pos] != '\n')
				p->pos++;
			continue;
		}
		break;
	}
	memset(t, 0, sizeof(*t));
	t->off = p->pos;
	if (p->pos >= p->len) {
		if (p->pending)
			read_heredocs(p);
		t->type = T_EOF;
		t->end = p->pos;
		return;
	}
	fd = io_number(p);
	if (fd >= 0 || p->s[p->pos] == '<' || p->s[p->pos] == '>') {
		if (lex_redir(p, t, fd)) {
			t->end = p->pos;
			return;
		}
	} else if (lex_op(p, t)) {
		t->end = p->pos;
		return;
	}
	t->type = T_WORD;
	t->w = lex_word(p);
	if (p->pos == t->off && !p->error) {
		/* Nothing was read (cannot happen for a non-metacharacter). */
		shx_p_error(p, p->pos);
		p->pos++;
	}
	t->end = p->pos;
}

struct shx_tok *shx_peek(struct shx_p *p)
{
	if (!p->have) {
		lex_token(p, &p->tok);
		p->have = true;
	}
	return &p->tok;
}

void shx_consume(struct shx_p *p)
{
	p->have = false;
}

bool shx_tok_is(const struct shx_tok *t, const char *kw)
{
	size_t n;
	const char *s;

	if (t->type != T_WORD || !(s = shx_word_plain(t->w, &n)))
		return false;
	return strlen(kw) == n && !memcmp(s, kw, n);
}
