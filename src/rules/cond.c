/*
 * cond.c - Sigma's condition language:
 *
 *   expr    := and ('or' and)*
 *   and     := unary ('and' unary)*
 *   unary   := 'not' unary | '(' expr ')' | ('1' | 'all') 'of' (pattern | 'them') | name
 *
 * so not binds tighter than and, and tighter than or.  Keywords are
 * case-insensitive.  A pattern is a selection name with `*` wildcards; `them`
 * is every selection whose name does not start with `_`.  Errors name the
 * character offset in the condition.  The tree is n-ary (a and b and c is one
 * node) and its depth is bounded by RULES_MAX_COND_DEPTH.
 */
#include "rules_int.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <strings.h>

struct cparse {
	struct rule *r;
	const char *s;
	size_t pos, len;
	unsigned depth;
	char *err;
	size_t errcap;
	size_t errpos;
	uint64_t used;
	/* the current token */
	size_t tpos, tlen;
	int tkind; /* 0 end, '(' ')', 'w' word, '?' bad character */
};

static bool is_word_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '*' || c == '.' || c == '-';
}

static void next(struct cparse *p)
{
	while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
				   p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
		p->pos++;
	p->tpos = p->pos;
	p->tlen = 0;
	if (p->pos >= p->len) {
		p->tkind = 0;
		return;
	}
	if (p->s[p->pos] == '(' || p->s[p->pos] == ')') {
		p->tkind = p->s[p->pos++];
		p->tlen = 1;
		return;
	}
	if (!is_word_char(p->s[p->pos])) {
		p->tkind = '?';
		p->tlen = 1;
		return;
	}
	while (p->pos < p->len && is_word_char(p->s[p->pos]))
		p->pos++;
	p->tkind = 'w';
	p->tlen = p->pos - p->tpos;
}

static bool tok_is(const struct cparse *p, const char *kw)
{
	return p->tkind == 'w' && p->tlen == strlen(kw) && !strncasecmp(p->s + p->tpos, kw, p->tlen);
}

static int perr(struct cparse *p, size_t pos, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static int perr(struct cparse *p, size_t pos, const char *fmt, ...)
{
	va_list ap;

	if (p->err[0])
		return -EINVAL;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errcap, fmt, ap);
	va_end(ap);
	p->errpos = pos;
	return -EINVAL;
}

static struct cnode *node_new(enum cnode_type t)
{
	struct cnode *n = vg_calloc(1, sizeof(*n));

	if (n)
		n->type = t;
	return n;
}

void rint_cond_free(struct cnode *n)
{
	if (!n)
		return;
	for (size_t i = 0; i < n->nkids; i++)
		rint_cond_free(n->kids[i]);
	vg_free(n->kids);
	vg_free(n);
}

static int add_kid(struct cnode *n, struct cnode *k)
{
	struct cnode **nk = vg_realloc(n->kids, (n->nkids + 1) * sizeof(*nk));

	if (!nk)
		return -ENOMEM;
	n->kids = nk;
	n->kids[n->nkids++] = k;
	return 0;
}

/* `*` glob over a selection name. */
static bool name_glob(const char *pat, size_t pn, const char *s)
{
	size_t pi = 0, si = 0, star = SIZE_MAX, mark = 0, sn = strlen(s);

	while (si < sn) {
		if (pi < pn && pat[pi] == '*') {
			star = pi++;
			mark = si;
		} else if (pi < pn && pat[pi] == s[si]) {
			pi++;
			si++;
		} else if (star != SIZE_MAX) {
			pi = star + 1;
			si = ++mark;
		} else {
			return false;
		}
	}
	while (pi < pn && pat[pi] == '*')
		pi++;
	return pi == pn;
}

static int parse_or(struct cparse *p, struct cnode **out);

static int parse_unary(struct cparse *p, struct cnode **out);

/* The token cannot start an operand: say why. */
static int bad_start(struct cparse *p)
{
	if (p->tkind == 0)
		return perr(p, p->tpos, "unexpected end of condition");
	if (p->tkind == '?' && p->s[p->tpos] == '|')
		return perr(p, p->tpos, "aggregation expressions ('| count() ...') are not "
				      "supported: write a correlation rule");
	if (p->tkind == '?')
		return perr(p, p->tpos, "unexpected character '%c'", p->s[p->tpos]);
	if (p->tkind == ')')
		return perr(p, p->tpos, "unexpected ')'");
	return perr(p, p->tpos, "unexpected '%.*s'", (int)p->tlen, p->s + p->tpos);
}

static bool bad_start_token(struct cparse *p)
{
	return p->tkind == 0 || p->tkind == '?' || p->tkind == ')' || tok_is(p, "and") ||
	       tok_is(p, "or") || tok_is(p, "of") || tok_is(p, "them");
}

/* "( expr )", the '(' being the current token. */
static int parse_group(struct cparse *p, struct cnode **out)
{
	size_t open = p->tpos;
	int rc;

	next(p);
	if ((rc = parse_or(p, out)) < 0)
		return rc;
	if (p->tkind != ')')
		return perr(p, p->tkind ? p->tpos : open,
			    p->tkind ? "expected ')'" : "unbalanced '(': no matching ')'");
	next(p);
	return 0;
}

/* "not X", the "not" being the current token. */
static int parse_not(struct cparse *p, struct cnode **out)
{
	struct cnode *k = NULL, *n;
	int rc;

	next(p);
	if ((rc = parse_unary(p, &k)) < 0)
		return rc;
	n = node_new(CN_NOT);
	if (!n || add_kid(n, k) < 0) {
		rint_cond_free(n);
		rint_cond_free(k);
		return -ENOMEM;
	}
	*out = n;
	return 0;
}

/* "1 of PATTERN" / "all of PATTERN" / "... of them", the quantifier (at
 * wpos, wlen) already consumed. */
static int parse_quantified(struct cparse *p, size_t wpos, size_t wlen, bool all, bool any,
			    struct cnode **out)
{
	uint64_t mask = 0;
	size_t ppos;
	struct cnode *n;

	if (!tok_is(p, "of"))
		return perr(p, p->tpos, "expected 'of' after '%.*s'", (int)wlen, p->s + wpos);
	if (any)
		return perr(p, wpos, "'any of' is not Sigma: use '1 of'");
	if (!all && !(wlen == 1 && p->s[wpos] == '1'))
		return perr(p, wpos, "'%.*s of' is not supported: use '1 of' or 'all of'", (int)wlen,
			    p->s + wpos);
	next(p);
	ppos = p->tpos;
	if (p->tkind != 'w')
		return perr(p, p->tpos, "expected a selection pattern or 'them' after 'of'");
	for (size_t i = 0; i < p->r->nsels; i++) {
		const char *nm = p->r->sels[i].name;

		if (tok_is(p, "them") ? nm[0] != '_' : name_glob(p->s + ppos, p->tlen, nm))
			mask |= 1ull << i;
	}
	if (!mask)
		return perr(p, ppos, "'%.*s' matches no selection", (int)p->tlen, p->s + ppos);
	next(p);
	n = node_new(all ? CN_ALL_OF : CN_ONE_OF);
	if (!n)
		return -ENOMEM;
	n->mask = mask;
	p->used |= mask;
	*out = n;
	return 0;
}

/* A plain selection name (at wpos, wlen, already consumed). */
static int parse_selection(struct cparse *p, size_t wpos, size_t wlen, struct cnode **out)
{
	for (size_t i = 0; i < p->r->nsels; i++) {
		const char *nm = p->r->sels[i].name;

		if (strlen(nm) == wlen && !memcmp(nm, p->s + wpos, wlen)) {
			struct cnode *n = node_new(CN_SEL);

			if (!n)
				return -ENOMEM;
			n->sel = (int)i;
			p->used |= 1ull << i;
			*out = n;
			return 0;
		}
	}
	if (memchr(p->s + wpos, '*', wlen))
		return perr(p, wpos, "a pattern ('%.*s') needs '1 of' or 'all of'", (int)wlen,
			    p->s + wpos);
	return perr(p, wpos, "unknown selection '%.*s'", (int)wlen, p->s + wpos);
}

/* A word: a quantifier ("1 of", "all of") or a selection name. */
static int parse_word(struct cparse *p, struct cnode **out)
{
	size_t wpos = p->tpos, wlen = p->tlen;
	bool all = tok_is(p, "all"), any = tok_is(p, "any");
	bool digits = true;

	for (size_t i = 0; i < wlen; i++)
		digits &= p->s[wpos + i] >= '0' && p->s[wpos + i] <= '9';
	next(p);
	if (tok_is(p, "of") || all || any || digits)
		return parse_quantified(p, wpos, wlen, all, any, out);
	return parse_selection(p, wpos, wlen, out);
}

static int parse_unary(struct cparse *p, struct cnode **out)
{
	int rc;

	*out = NULL;
	if (++p->depth > RULES_MAX_COND_DEPTH)
		rc = perr(p, p->tpos, "nested deeper than %u", RULES_MAX_COND_DEPTH);
	else if (p->tkind == '(')
		rc = parse_group(p, out);
	else if (tok_is(p, "not"))
		rc = parse_not(p, out);
	else if (bad_start_token(p))
		rc = bad_start(p);
	else
		rc = parse_word(p, out);
	p->depth--;
	if (rc < 0) {
		rint_cond_free(*out);
		*out = NULL;
	}
	return rc;
}

/*
 * One level of the binary operators: operands parsed by `operand`, joined by
 * the keyword `kw` into a node of type `t`. A lone operand is returned as is,
 * so "a" does not become a one-child AND node.
 */
static int parse_chain(struct cparse *p, struct cnode **out, enum cnode_type t, const char *kw,
		       int (*operand)(struct cparse *, struct cnode **))
{
	struct cnode *n = NULL, *k = NULL;
	int rc;

	if ((rc = operand(p, &k)) < 0)
		return rc;
	while (tok_is(p, kw)) {
		if (!n) {
			n = node_new(t);
			if (!n || add_kid(n, k) < 0) {
				rc = -ENOMEM;
				goto out;
			}
			k = NULL;
		}
		next(p);
		if ((rc = operand(p, &k)) < 0)
			goto out;
		if (add_kid(n, k) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		k = NULL;
	}
	*out = n ? n : k;
	return 0;
out:
	rint_cond_free(n);
	rint_cond_free(k);
	return rc;
}

/* "and" binds tighter than "or". */
static int parse_and(struct cparse *p, struct cnode **out)
{
	return parse_chain(p, out, CN_AND, "and", parse_unary);
}

static int parse_or(struct cparse *p, struct cnode **out)
{
	return parse_chain(p, out, CN_OR, "or", parse_and);
}

int rint_cond_parse(struct rule *r, const char *text, struct cnode **out, char *err, size_t errcap,
	       size_t *errpos, uint64_t *used)
{
	struct cparse p = { .r = r, .s = text, .len = strlen(text), .err = err, .errcap = errcap };
	struct cnode *n = NULL;
	int rc;

	*out = NULL;
	err[0] = '\0';
	*errpos = 0;
	if (p.len > RULES_MAX_CONDITION) {
		snprintf(err, errcap, "condition of %zu bytes (limit %u)", p.len, RULES_MAX_CONDITION);
		return -EINVAL;
	}
	next(&p);
	if (p.tkind == 0) {
		snprintf(err, errcap, "empty condition");
		return -EINVAL;
	}
	rc = parse_or(&p, &n);
	if (rc == 0 && p.tkind != 0) {
		if (p.tkind == ')')
			rc = perr(&p, p.tpos, "unbalanced ')': no matching '('");
		else if (p.tkind == '?' && p.s[p.tpos] == '|')
			rc = perr(&p, p.tpos, "aggregation expressions ('| count() ...') are not "
					      "supported: write a correlation rule");
		else
			rc = perr(&p, p.tpos, "expected 'and', 'or' or the end, found '%.*s'",
				  (int)(p.tlen ? p.tlen : 1), p.s + p.tpos);
	}
	if (rc < 0) {
		rint_cond_free(n);
		if (rc == -ENOMEM)
			snprintf(err, errcap, "out of memory");
		*errpos = p.errpos;
		return rc;
	}
	*out = n;
	*used |= p.used;
	return 0;
}

/* Selection i, evaluated at most once per event. */
static bool sel_value(struct mctx *m, int i, const json_t *ev, uint64_t *done, uint64_t *val)
{
	uint64_t bit = 1ull << i;

	if (!(*done & bit)) {
		*done |= bit;
		if (rint_sel_match(m, &m->rule->sels[i], ev))
			*val |= bit;
	}
	return (*val & bit) != 0;
}

bool rint_cond_eval(struct mctx *m, const struct cnode *n, const json_t *ev, uint64_t *done,
	       uint64_t *val)
{
	switch (n->type) {
	case CN_SEL:
		return sel_value(m, n->sel, ev, done, val);
	case CN_NOT:
		return !rint_cond_eval(m, n->kids[0], ev, done, val);
	case CN_AND:
		for (size_t i = 0; i < n->nkids; i++)
			if (!rint_cond_eval(m, n->kids[i], ev, done, val))
				return false;
		return true;
	case CN_OR:
		for (size_t i = 0; i < n->nkids; i++)
			if (rint_cond_eval(m, n->kids[i], ev, done, val))
				return true;
		return false;
	case CN_ONE_OF:
	case CN_ALL_OF:
		for (int i = 0; i < 64; i++) {
			bool v;

			if (!(n->mask & (1ull << i)))
				continue;
			v = sel_value(m, i, ev, done, val);
			if (n->type == CN_ONE_OF && v)
				return true;
			if (n->type == CN_ALL_OF && !v)
				return false;
		}
		return n->type == CN_ALL_OF;
	}
	return false;
}
