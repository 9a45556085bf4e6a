/*
 * param.c - parameter expansion: $x, ${x}, the positional and special
 * parameters, arrays, and the operators ${x:-w} ${x:=w} ${x:+w} ${x:?w}
 * ${#x} ${x#p} ${x%p} ${x/p/r} ${x:o:l} ${x^^} ${x,,} ${!x}, evaluated
 * when the value is known, else left as spelled and unresolved.
 */
#include "expand_int.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

/* The value of a parameter: one string, or a list for $@, $*, ${a[@]}. */
struct pv {
	uint8_t state;
	unsigned unres;
	bool decoded;
	const char *s;
	size_t len;
	bool list; /* $@ $* ${a[@]} ${a[*]} */
	bool star; /* joined with $IFS's first character when quoted */
	const char *const *elems;
	size_t nelems;
	const struct sh_word *words; /* positional parameters */
};

static bool is_digits(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i] < '0' || s[i] > '9')
			return false;
	return n > 0;
}

static void positional(struct xp *xp, long k, struct pv *v)
{
	const struct shx_pos *pos = &xp->c->pos;

	if (k == 0) {
		if (xp->c->sh->arg0) {
			v->state = VAL_SET;
			v->s = xp->c->sh->arg0;
			v->len = strlen(v->s);
		} else {
			v->state = VAL_UNKNOWN;
			v->unres = SH_U_POSITIONAL;
		}
		return;
	}
	if (!pos->known) {
		v->state = VAL_UNKNOWN;
		v->unres = SH_U_POSITIONAL;
		return;
	}
	if (k > pos->n) {
		v->state = VAL_UNSET;
		return;
	}
	v->state = pos->v[k - 1].unres ? VAL_UNKNOWN : VAL_SET;
	v->unres = pos->v[k - 1].unres;
	v->s = pos->v[k - 1].s;
	v->len = pos->v[k - 1].len;
	v->decoded = pos->v[k - 1].flags & SH_W_DECODED;
}

static void param_get(struct xp *xp, const struct shx_param *pm, struct pv *v)
{
	struct shx_ctx *c = xp->c;
	const char *name = pm->name;
	size_t n = pm->nlen;
	char num[32];

	memset(v, 0, sizeof(*v));
	if (is_digits(name, n)) {
		positional(xp, atol(name), v);
		return;
	}
	if (n == 1 && (name[0] == '@' || name[0] == '*')) {
		v->list = true;
		v->star = name[0] == '*';
		if (!c->pos.known) {
			v->state = VAL_UNKNOWN;
			v->unres = SH_U_POSITIONAL;
			return;
		}
		v->state = VAL_SET;
		v->words = c->pos.v;
		v->nelems = (size_t)c->pos.n;
		for (int i = 0; i < c->pos.n; i++)
			v->unres |= c->pos.v[i].unres;
		if (v->unres)
			v->state = VAL_UNKNOWN;
		return;
	}
	if (n == 1 && name[0] == '#') {
		if (!c->pos.known) {
			v->state = VAL_UNKNOWN;
			v->unres = SH_U_POSITIONAL;
			return;
		}
		snprintf(num, sizeof(num), "%d", c->pos.n);
		v->state = VAL_SET;
		v->s = shx_strndup(xp->x, num, strlen(num));
		v->len = strlen(num);
		return;
	}
	if (n == 1 && !((name[0] >= 'a' && name[0] <= 'z') || (name[0] >= 'A' && name[0] <= 'Z') ||
			name[0] == '_')) {
		v->state = VAL_UNKNOWN; /* $? $$ $! $- */
		v->unres = SH_U_DYNAMIC;
		return;
	}
	{
		struct shx_val sv;

		shx_get(c, name, n, &sv);
		v->state = sv.state;
		v->unres = sv.unres;
		v->decoded = sv.decoded;
		if (pm->subscript == SUB_AT || pm->subscript == SUB_STAR) {
			v->list = true;
			v->star = pm->subscript == SUB_STAR;
			if (sv.array) {
				v->elems = sv.elems;
				v->nelems = sv.nelems;
			} else if (sv.state == VAL_SET) {
				const char **one = shx_alloc(xp->x, sizeof(*one));

				one[0] = sv.s;
				v->elems = one;
				v->nelems = 1;
			}
			if (sv.state == VAL_UNSET)
				v->state = VAL_SET; /* no elements */
			return;
		}
		if (pm->subscript == SUB_EXPR) {
			long long k;
			unsigned u = 0;

			if (!shx_arith(c, pm->sub->raw, pm->sub->rawlen, &k, &u)) {
				v->state = VAL_UNKNOWN;
				v->unres |= u ? u : SH_U_ARITH;
				return;
			}
			if (sv.array) {
				if (k < 0)
					k += sv.nelems;
				if (k < 0 || k >= (long long)sv.nelems) {
					v->state = sv.state == VAL_UNKNOWN ? VAL_UNKNOWN
									   : VAL_UNSET;
					return;
				}
				v->s = sv.elems[k];
				v->len = strlen(v->s);
				return;
			}
			if (k != 0 && sv.state == VAL_SET)
				v->state = VAL_UNSET;
		}
		v->s = sv.s;
		v->len = sv.len;
	}
}

/* Appends a list value (for "$@" one field per element). */
static void add_list(struct xp *xp, const struct pv *v, bool quoted)
{
	size_t n = v->nelems;

	for (size_t i = 0; i < n; i++) {
		const char *s = v->words ? v->words[i].s : v->elems ? v->elems[i] : "";
		size_t len = v->words ? v->words[i].len : strlen(s);

		if (i > 0) {
			if (!shx_split_mode(xp))
				shx_fb_add(xp, v->star && xp->ifslen ? xp->ifs : " ",
					   v->star && !xp->ifslen ? 0 : 1, true);
			else if (quoted && !v->star)
				shx_fb_finish(xp, true);
			else if (quoted)
				shx_fb_add(xp, xp->ifs, xp->ifslen ? 1 : 0, true);
			else
				shx_fb_finish(xp, false);
		}
		if (v->words && v->words[i].unres)
			shx_fb_unres(xp, s, len, v->words[i].unres);
		else
			shx_fb_expansion(xp, s, len, quoted,
					 v->words && (v->words[i].flags & SH_W_DECODED));
	}
}

/* A word of a ${...} form expanded to one string (pattern or not). */
static bool sub_string(struct xp *xp, const struct shx_word *w, enum shx_xmode mode, const char **s,
		       size_t *n, unsigned *unres)
{
	struct sh_word r;

	if (!w) {
		*s = "";
		*n = 0;
		return true;
	}
	r = shx_expand_one(xp->c, w, mode, xp->cmd);
	*s = r.s;
	*n = r.len;
	*unres |= r.unres;
	return r.unres == 0;
}

/*
 * Pattern matching of ${x#p} and ${x/p/r}.  A pattern without glob
 * characters is compared as text; one with them goes through fnmatch(3) on
 * each candidate substring, which is quadratic (trims) or cubic (replace)
 * in the value's length, so values over these lengths are left unresolved.
 */
#define TRIM_GLOB_MAX 1024u
#define REPL_GLOB_MAX 128u

/* The pattern as plain text when it has no active glob character. */
static bool pattern_literal(struct shx *x, const char *pat, const char **lit, size_t *n)
{
	size_t len = strlen(pat), k = 0;
	char *out = shx_alloc(x, len + 1);

	for (size_t i = 0; i < len; i++) {
		if (pat[i] == '\\' && i + 1 < len) {
			out[k++] = pat[++i];
			continue;
		}
		if (pat[i] == '*' || pat[i] == '?' || pat[i] == '[')
			return false;
		out[k++] = pat[i];
	}
	out[k] = '\0';
	*lit = out;
	*n = k;
	return true;
}

static bool match_at(struct shx *x, const char *pat, const char *lit, size_t litn, const char *s,
		     size_t from, size_t to)
{
	char stack[512];
	char *tmp;

	if (lit)
		return to - from == litn && !memcmp(s + from, lit, litn);
	tmp = to - from < sizeof(stack) ? stack : shx_alloc(x, to - from + 1);
	memcpy(tmp, s + from, to - from);
	tmp[to - from] = '\0';
	return fnmatch(pat, tmp, 0) == 0;
}

/* ${x#p} ${x##p} ${x%p} ${x%%p} */
static bool trim(struct xp *xp, int op, const char *pat, const char *s, size_t n, const char **rs,
		 size_t *rn)
{
	const char *lit = NULL;
	size_t litn = 0;

	if (!pattern_literal(xp->x, pat, &lit, &litn)) {
		lit = NULL;
		if (n > TRIM_GLOB_MAX)
			return false;
	}
	*rs = s;
	*rn = n;
	for (size_t k = 0; k <= n; k++) {
		if (op == PARAM_TRIM_SL || op == PARAM_TRIM_LL) {
			size_t e = op == PARAM_TRIM_SL ? k : n - k;

			if (match_at(xp->x, pat, lit, litn, s, 0, e)) {
				*rs = s + e;
				*rn = n - e;
				return true;
			}
		} else {
			size_t b = op == PARAM_TRIM_SR ? n - k : k;

			if (match_at(xp->x, pat, lit, litn, s, b, n)) {
				*rn = b;
				return true;
			}
		}
	}
	return true;
}

/* The end of the longest match starting at i, or (size_t)-1. */
static size_t longest(struct xp *xp, const char *pat, const char *lit, size_t litn, const char *s,
		      size_t n, size_t i, bool empty_ok)
{
	if (lit) {
		if ((litn || empty_ok) && n - i >= litn && !memcmp(s + i, lit, litn))
			return i + litn;
		return (size_t)-1;
	}
	for (size_t e = n + 1; e-- > i;) {
		if (e == i && !empty_ok)
			break;
		if (match_at(xp->x, pat, NULL, 0, s, i, e))
			return e;
	}
	return (size_t)-1;
}

/* ${x/p/r} ${x//p/r} ${x/#p/r} ${x/%p/r} */
static bool replace(struct xp *xp, int op, const char *pat, const char *rep, size_t replen,
		    const char *s, size_t n, struct shx_buf *out)
{
	struct shx *x = xp->x;
	const char *lit = NULL;
	size_t litn = 0, i = 0;

	if (!pattern_literal(x, pat, &lit, &litn)) {
		lit = NULL;
		if (n > REPL_GLOB_MAX)
			return false;
	}
	if (op == PARAM_REPL_PRE) {
		size_t e = longest(xp, pat, lit, litn, s, n, 0, true);

		if (e != (size_t)-1) {
			shx_buf_add(x, out, rep, replen);
			i = e;
		}
		shx_buf_add(x, out, s + i, n - i);
		return true;
	}
	if (op == PARAM_REPL_SUF) {
		for (size_t b = 0; b <= n; b++)
			if (match_at(x, pat, lit, litn, s, b, n)) {
				shx_buf_add(x, out, s, b);
				shx_buf_add(x, out, rep, replen);
				return true;
			}
		shx_buf_add(x, out, s, n);
		return true;
	}
	if (!*pat || (lit && !litn)) {
		shx_buf_add(x, out, s, n);
		return true;
	}
	while (i < n) {
		size_t e = longest(xp, pat, lit, litn, s, n, i, false);

		if (e == (size_t)-1) {
			shx_buf_addc(x, out, s[i++]);
			continue;
		}
		shx_buf_add(x, out, rep, replen);
		i = e;
		if (op != PARAM_REPL_ALL) {
			shx_buf_add(x, out, s + i, n - i);
			return true;
		}
	}
	return true;
}

static size_t utf8_len(const char *s, size_t n)
{
	size_t k = 0;

	for (size_t i = 0; i < n; i++)
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			k++;
	return k;
}

/* ${x:offset:length} and ${@:o:l}, ${a[@]:o:l}. */
static bool substr(struct xp *xp, const struct shx_param *pm, struct pv *v, bool quoted,
		   struct shx_buf *out, unsigned *unres)
{
	struct shx *x = xp->x;
	long long off, len;
	const char *os, *ls;
	size_t on, lnn;
	size_t total = v->list ? v->nelems : v->len;

	if (!sub_string(xp, pm->arg, XM_STRING, &os, &on, unres) ||
	    !shx_arith(xp->c, os, on, &off, unres))
		return false;
	len = (long long)total;
	if (pm->has_arg2 && (!sub_string(xp, pm->arg2, XM_STRING, &ls, &lnn, unres) ||
			     !shx_arith(xp->c, ls, lnn, &len, unres)))
		return false;
	if (v->list && !v->elems && v->words) {
		/* ${@:o:l}: $0 is element 0 */
		off -= 1;
		if (off < 0) {
			*unres |= SH_U_POSITIONAL;
			return false;
		}
	}
	if (off < 0)
		off += (long long)total;
	if (off < 0 || off > (long long)total)
		off = (long long)total;
	if (len < 0)
		len = (long long)total - off + len;
	if (len < 0) {
		*unres |= SH_U_ARITH;
		return false;
	}
	if (off + len > (long long)total)
		len = (long long)total - off;
	if (v->list) {
		struct pv sl = *v;

		if (sl.words)
			sl.words += off;
		else
			sl.elems += off;
		sl.nelems = (size_t)len;
		add_list(xp, &sl, quoted);
		return true;
	}
	shx_buf_add(x, out, (v->s ? v->s : "") + off, (size_t)len);
	return true;
}

/* Evaluates the operator of a ${...} whose value is known (state SET or UNSET).
 * Returns false when the result is not known (*unres says why). */
static bool param_apply(struct xp *xp, const struct shx_param *pm, struct pv *v, bool quoted,
			struct shx_buf *out, unsigned *unres)
{
	struct shx *x = xp->x;
	const char *pat, *r;
	size_t pn, rn;

	switch (pm->op) {
	case PARAM_LEN: {
		char num[32];

		if (v->list)
			snprintf(num, sizeof(num), "%zu", v->nelems);
		else
			snprintf(num, sizeof(num), "%zu",
				 v->state == VAL_SET ? utf8_len(v->s, v->len) : 0);
		shx_buf_add(x, out, num, strlen(num));
		return true;
	}
	case PARAM_TRIM_SL:
	case PARAM_TRIM_LL:
	case PARAM_TRIM_SR:
	case PARAM_TRIM_LR:
		if (!sub_string(xp, pm->arg, XM_PATTERN, &pat, &pn, unres))
			return false;
		if (!trim(xp, pm->op, pat, v->s ? v->s : "", v->len, &r, &rn)) {
			*unres |= SH_U_LIMIT;
			return false;
		}
		shx_buf_add(x, out, r, rn);
		return true;
	case PARAM_REPL:
	case PARAM_REPL_ALL:
	case PARAM_REPL_PRE:
	case PARAM_REPL_SUF: {
		const char *rep;
		size_t replen;

		if (!sub_string(xp, pm->arg, XM_PATTERN, &pat, &pn, unres) ||
		    !sub_string(xp, pm->arg2, XM_STRING, &rep, &replen, unres))
			return false;
		/* bash 5.2 replaces an unquoted & with the match: not modelled. */
		if (pm->arg2 && pm->arg2->rawlen && memchr(pm->arg2->raw, '&', pm->arg2->rawlen)) {
			*unres |= SH_U_PARAM;
			return false;
		}
		if (!replace(xp, pm->op, pat, rep, replen, v->s ? v->s : "", v->len, out)) {
			*unres |= SH_U_LIMIT;
			return false;
		}
		return true;
	}
	case PARAM_SUBSTR:
		return substr(xp, pm, v, quoted, out, unres);
	case PARAM_UPPER:
	case PARAM_UPPER1:
	case PARAM_LOWER:
	case PARAM_LOWER1:
		for (size_t i = 0; i < v->len; i++) {
			char ch = v->s[i];
			bool all = pm->op == PARAM_UPPER || pm->op == PARAM_LOWER;

			if (i == 0 || all) {
				if ((pm->op == PARAM_UPPER || pm->op == PARAM_UPPER1) &&
				    ch >= 'a' && ch <= 'z')
					ch = (char)(ch - 32);
				else if ((pm->op == PARAM_LOWER || pm->op == PARAM_LOWER1) &&
					 ch >= 'A' && ch <= 'Z')
					ch = (char)(ch + 32);
			}
			shx_buf_addc(x, out, ch);
		}
		return true;
	default:
		*unres |= SH_U_PARAM;
		return false;
	}
}

/* The value as it expands (after the operators that keep it). */
static void plain(struct xp *xp, struct pv *v, bool quoted)
{
	xp->f.unres |= v->unres & (SH_U_COND | SH_U_LOOP);
	if (v->list) {
		add_list(xp, v, quoted);
		return;
	}
	if (v->state == VAL_SET)
		shx_fb_expansion(xp, v->s, v->len, quoted, v->decoded);
	else if (quoted)
		xp->f.active = true;
}

/* ${x-w} ${x=w} ${x+w} ${x?w} and their : forms: what depends on whether x is set. */
static void param_test(struct xp *xp, const struct shx_seg *sg, struct pv *v)
{
	const struct shx_param *pm = sg->u.param;
	bool quoted = sg->quoted, set;

	if (v->state == VAL_UNKNOWN) {
		shx_fb_unres(xp, sg->s, sg->len, v->unres ? v->unres : SH_U_VAR);
		return;
	}
	set = v->state == VAL_SET && (!pm->colon || (v->list ? v->nelems > 0 : v->len > 0));
	if (pm->op == PARAM_ALT) {
		if (set && pm->arg)
			shx_expand_segs(xp, pm->arg->segs, pm->arg->nsegs);
		if (quoted)
			xp->f.active = true;
		return;
	}
	if (set) {
		plain(xp, v, quoted);
		return;
	}
	if (pm->op == PARAM_ERROR) {
		/* bash stops the script here: what follows does not run. */
		shx_fb_unres(xp, sg->s, sg->len, SH_U_VAR);
		return;
	}
	if (pm->op == PARAM_ASSIGN) {
		struct sh_word w = shx_expand_one(xp->c, pm->arg, XM_ASSIGN, xp->cmd);

		if (!is_digits(pm->name, pm->nlen) && shx_valid_name(pm->name, pm->nlen))
			shx_set(xp->c, pm->name, pm->nlen, w.s, w.len,
				w.unres ? VAL_UNKNOWN : VAL_SET, w.unres);
		if (w.unres)
			shx_fb_unres(xp, w.s, w.len, w.unres);
		else
			shx_fb_expansion(xp, w.s, w.len, quoted, false);
		return;
	}
	if (pm->arg)
		shx_expand_segs(xp, pm->arg->segs, pm->arg->nsegs);
	if (quoted)
		xp->f.active = true;
}

void shx_param(struct xp *xp, const struct shx_seg *sg)
{
	const struct shx_param *pm = sg->u.param;
	bool quoted = sg->quoted;
	struct pv v;
	unsigned unres = 0;
	char stack[256];
	struct shx_buf out;

	if (pm->op == PARAM_UNSUPPORTED) {
		shx_fb_unres(xp, sg->s, sg->len, SH_U_PARAM);
		return;
	}
	param_get(xp, pm, &v);
	if (pm->op == PARAM_INDIRECT) {
		struct shx_param ind = { 0 };

		if (v.state != VAL_SET || !(shx_valid_name(v.s, v.len) || is_digits(v.s, v.len)) ||
		    v.len > 255) {
			shx_fb_unres(xp, sg->s, sg->len, v.unres ? v.unres : SH_U_PARAM);
			return;
		}
		ind.name = v.s;
		ind.nlen = (uint8_t)v.len;
		param_get(xp, &ind, &v);
	}
	if (pm->op == PARAM_DEFAULT || pm->op == PARAM_ASSIGN || pm->op == PARAM_ALT ||
	    pm->op == PARAM_ERROR) {
		param_test(xp, sg, &v);
		return;
	}
	if (v.state == VAL_UNKNOWN) {
		/* A variable assigned a value partly known ($X/sub) reads as that value. */
		if (pm->op == PARAM_PLAIN && v.s && !v.list && !(v.unres & (SH_U_LOOP | SH_U_COND)))
			shx_fb_unres(xp, v.s, v.len, v.unres ? v.unres : SH_U_VAR);
		else
			shx_fb_unres(xp, sg->s, sg->len, v.unres ? v.unres : SH_U_VAR);
		return;
	}
	if (pm->op == PARAM_PLAIN || pm->op == PARAM_INDIRECT) {
		plain(xp, &v, quoted);
		return;
	}
	shx_buf_init(&out, stack, sizeof(stack));
	if (pm->op == PARAM_LEN && v.list && v.state != VAL_SET)
		v.nelems = 0;
	if (v.list && pm->op != PARAM_LEN && pm->op != PARAM_SUBSTR) {
		/* Operators applied to each element: not modelled. */
		shx_fb_unres(xp, sg->s, sg->len, SH_U_PARAM);
		return;
	}
	if (!param_apply(xp, pm, &v, quoted, &out, &unres)) {
		shx_fb_unres(xp, sg->s, sg->len, unres ? unres : SH_U_PARAM);
		return;
	}
	if (pm->op == PARAM_SUBSTR && v.list)
		return;
	shx_fb_expansion(xp, out.p ? out.p : "", out.len, quoted, v.decoded);
	xp->f.unres |= v.unres & (SH_U_COND | SH_U_LOOP);
}
