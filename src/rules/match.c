/*
 * match.c - compiled rule values and field matching: the hot path of
 * rules_eval.  Everything that can be done once is done at load (literals
 * lowercased, wildcards turned into tokens and the common shapes into
 * equals / starts with / ends with / contains, regexes compiled with JIT,
 * CIDR blocks parsed, field paths split); matching allocates nothing.
 *
 * Case-insensitive matching folds ASCII only (A-Z): it is about command
 * names and paths, where Unicode case folding would only cost time.
 */
#include "rules_int.h"

#include "common.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

static inline uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c | 0x20) : c;
}

/* ---- field paths ------------------------------------------------------------------- */

int rint_fpath_init(struct fpath *p, const char *s)
{
	size_t len = strlen(s), n = 1;

	memset(p, 0, sizeof(*p));
	if (!len || len > RULES_MAX_FIELD)
		return -EINVAL;
	for (size_t i = 0; i < len; i++)
		n += s[i] == '.';
	if (n > RULES_MAX_PATH)
		return -EINVAL;
	p->buf = vg_malloc(len + 1);
	p->c = vg_calloc(n, sizeof(*p->c));
	if (!p->buf || !p->c) {
		rint_fpath_release(p);
		return -ENOMEM;
	}
	memcpy(p->buf, s, len + 1);
	p->c[p->n++] = p->buf;
	for (size_t i = 0; i < len; i++) {
		if (p->buf[i] != '.')
			continue;
		p->buf[i] = '\0';
		p->c[p->n++] = p->buf + i + 1;
	}
	for (size_t i = 0; i < p->n; i++) {
		if (!p->c[i][0]) {
			rint_fpath_release(p);
			return -EINVAL;
		}
	}
	return 0;
}

void rint_fpath_release(struct fpath *p)
{
	vg_free(p->buf);
	vg_free(p->c);
	memset(p, 0, sizeof(*p));
}

/* The first value along the path (arrays on the way: their first match). */
static const json_t *get_from(const json_t *v, const struct fpath *p, size_t i)
{
	for (; v && i < p->n; i++) {
		if (json_is_array(v)) {
			size_t k;
			const json_t *e;

			json_array_foreach(v, k, e) {
				const json_t *r = get_from(e, p, i);

				if (r)
					return r;
			}
			return NULL;
		}
		v = json_object_get(v, p->c[i]);
	}
	return v;
}

const json_t *rint_fpath_get(const json_t *ev, const struct fpath *p)
{
	return get_from(ev, p, 0);
}

/* ---- compiling --------------------------------------------------------------------- */

void rint_pat_release(struct pat *p)
{
	vg_free(p->lit);
	vg_free(p->tok);
	if (p->re)
		pcre2_code_free(p->re);
	memset(p, 0, sizeof(*p));
}

void rint_val_release(struct val *v)
{
	for (size_t i = 0; i < v->np; i++)
		rint_pat_release(&v->p[i]);
	vg_free(v->p);
	vg_free(v->display);
	memset(v, 0, sizeof(*v));
}

/*
 * Sigma string value -> tokens: `*` any run, `?` one character, `\` escapes
 * `*`, `?` and `\` (before anything else it is a plain backslash).
 */
static size_t tokenize(const char *s, size_t n, bool cased, unsigned mods, uint16_t *tok)
{
	size_t nt = 0;

	if ((mods & (MOD_CONTAINS | MOD_ENDS | MOD_KEYWORD)))
		tok[nt++] = TOK_STAR;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = (uint8_t)s[i];

		if (c == '\\' && i + 1 < n && (s[i + 1] == '*' || s[i + 1] == '?' || s[i + 1] == '\\')) {
			c = (uint8_t)s[++i];
			tok[nt++] = cased ? c : lower(c);
			continue;
		}
		if (c == '*') {
			if (!nt || tok[nt - 1] != TOK_STAR)
				tok[nt++] = TOK_STAR;
			continue;
		}
		if (c == '?') {
			tok[nt++] = TOK_ANY;
			continue;
		}
		if ((mods & MOD_WINDASH) && (c == '-' || c == '/') &&
		    (i == 0 || s[i - 1] == ' ' || s[i - 1] == '\t')) {
			tok[nt++] = TOK_DASH;
			continue;
		}
		tok[nt++] = cased ? c : lower(c);
	}
	if ((mods & (MOD_CONTAINS | MOD_STARTS | MOD_KEYWORD)) && (!nt || tok[nt - 1] != TOK_STAR))
		tok[nt++] = TOK_STAR;
	return nt;
}

int rint_pat_compile_string(const char *s, size_t n, unsigned mods, struct pat *out, char *err,
		       size_t errcap)
{
	uint16_t *tok = vg_malloc((n + 2) * sizeof(*tok));
	size_t nt, lo, hi;
	bool special = false;

	memset(out, 0, sizeof(*out));
	if (!tok)
		return -ENOMEM;
	out->cased = (mods & MOD_CASED) != 0;
	nt = tokenize(s, n, out->cased, mods, tok);
	lo = nt && tok[0] == TOK_STAR;
	hi = nt > lo && tok[nt - 1] == TOK_STAR ? nt - 1 : nt;
	for (size_t i = lo; i < hi; i++)
		special |= tok[i] >= 256;
	if (!special) {
		/* The common shapes need no glob. */
		out->op = lo && hi < nt ? P_CONTAINS : lo ? P_ENDS : hi < nt ? P_STARTS : P_EQ;
		if (nt == 1 && tok[0] == TOK_STAR) {
			out->op = P_STARTS; /* "*": anything, i.e. starts with "" */
			lo = hi = 1;
		}
		out->litlen = hi - lo;
		out->lit = vg_malloc(out->litlen + 1);
		if (!out->lit) {
			vg_free(tok);
			return -ENOMEM;
		}
		for (size_t i = lo; i < hi; i++)
			out->lit[i - lo] = (char)tok[i];
		out->lit[out->litlen] = '\0';
		vg_free(tok);
		return 0;
	}
	out->op = P_GLOB;
	out->tok = tok;
	out->ntok = nt;
	(void)err;
	(void)errcap;
	return 0;
}

int rint_pat_compile_re(const struct rules_set *set, const char *s, size_t n, unsigned mods,
		   struct pat *out, char *err, size_t errcap)
{
	uint32_t opts = PCRE2_UTF | PCRE2_NEVER_BACKSLASH_C;
	PCRE2_UCHAR msg[160];
	PCRE2_SIZE off;
	int code;

	(void)set;
	memset(out, 0, sizeof(*out));
	if (n > RULES_MAX_REGEX) {
		snprintf(err, errcap, "regular expression of %zu bytes (limit %u)", n,
			 RULES_MAX_REGEX);
		return -EINVAL;
	}
	if (mods & MOD_RE_I)
		opts |= PCRE2_CASELESS;
	if (mods & MOD_RE_M)
		opts |= PCRE2_MULTILINE;
	if (mods & MOD_RE_S)
		opts |= PCRE2_DOTALL;
	out->op = P_RE;
	out->re = pcre2_compile((PCRE2_SPTR)s, n, opts, &code, &off, NULL);
	if (!out->re) {
		pcre2_get_error_message(code, msg, sizeof(msg));
		snprintf(err, errcap, "bad regular expression at offset %zu: %s", (size_t)off,
			 (const char *)msg);
		return -EINVAL;
	}
	/* JIT when the platform has it; the interpreter otherwise. */
	(void)pcre2_jit_compile(out->re, PCRE2_JIT_COMPLETE);
	return 0;
}

int rint_pat_compile_cidr(const char *s, struct pat *out, char *err, size_t errcap)
{
	char buf[64];
	const char *slash = strchr(s, '/');
	size_t alen = slash ? (size_t)(slash - s) : strlen(s);
	unsigned long prefix;
	char *end;

	memset(out, 0, sizeof(*out));
	out->op = P_CIDR;
	if (alen >= sizeof(buf))
		goto bad;
	memcpy(buf, s, alen);
	buf[alen] = '\0';
	if (inet_pton(AF_INET, buf, out->addr) == 1)
		out->family = AF_INET;
	else if (inet_pton(AF_INET6, buf, out->addr) == 1)
		out->family = AF_INET6;
	else
		goto bad;
	if (!slash) {
		out->prefix = out->family == AF_INET ? 32 : 128;
		return 0;
	}
	if (!slash[1] || slash[1] < '0' || slash[1] > '9')
		goto bad;
	prefix = strtoul(slash + 1, &end, 10);
	if (*end || prefix > (out->family == AF_INET ? 32u : 128u))
		goto bad;
	out->prefix = (unsigned)prefix;
	return 0;
bad:
	snprintf(err, errcap, "bad CIDR block '%.80s' (want e.g. 10.0.0.0/8 or fd00::/8)", s);
	return -EINVAL;
}

/* ---- matching ---------------------------------------------------------------------- */

static bool eq_bytes(const uint8_t *a, const uint8_t *lit, size_t n, bool cased)
{
	if (cased)
		return memcmp(a, lit, n) == 0;
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lit[i])
			return false;
	return true;
}

static bool find_bytes(const uint8_t *h, size_t hn, const uint8_t *lit, size_t n, bool cased)
{
	uint8_t c0, c1;

	if (!n)
		return true;
	if (n > hn)
		return false;
	c0 = lit[0];
	c1 = cased ? c0 : (c0 >= 'a' && c0 <= 'z' ? (uint8_t)(c0 - 32) : c0);
	for (size_t i = 0; i + n <= hn; i++) {
		const uint8_t *p;

		/* Jump to the next possible first byte. */
		if (h[i] != c0 && h[i] != c1) {
			const uint8_t *a = memchr(h + i, c0, hn - n + 1 - i);
			const uint8_t *b = c1 != c0 ? memchr(h + i, c1, hn - n + 1 - i) : NULL;

			p = !a ? b : !b ? a : (a < b ? a : b);
			if (!p)
				return false;
			i = (size_t)(p - h);
		}
		if (eq_bytes(h + i + 1, lit + 1, n - 1, cased))
			return true;
	}
	return false;
}

/* Length of one UTF-8 character at s (1 for a stray byte). */
static size_t utf8_len(const uint8_t *s, size_t n)
{
	size_t k = s[0] < 0x80 ? 1 : s[0] >= 0xf0 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc0 ? 2 : 1;

	return k <= n ? k : 1;
}

/* Bytes of s that token t matches at its start, or 0. */
static size_t tok_match(uint16_t t, const uint8_t *s, size_t n, bool cased)
{
	if (t == TOK_ANY)
		return utf8_len(s, n);
	if (t == TOK_DASH) {
		if (s[0] == '-' || s[0] == '/')
			return 1;
		/* U+2013 en dash, U+2014 em dash, U+2015 horizontal bar */
		if (n >= 3 && s[0] == 0xe2 && s[1] == 0x80 && s[2] >= 0x93 && s[2] <= 0x95)
			return 3;
		return 0;
	}
	return (cased ? s[0] : lower(s[0])) == t ? 1 : 0;
}

static bool glob_match(const uint16_t *tok, size_t nt, const uint8_t *s, size_t n, bool cased)
{
	size_t ti = 0, si = 0, star = SIZE_MAX, mark = 0, k;

	while (si < n) {
		if (ti < nt && tok[ti] == TOK_STAR) {
			star = ti++;
			mark = si;
			continue;
		}
		if (ti < nt && (k = tok_match(tok[ti], s + si, n - si, cased)) > 0) {
			ti++;
			si += k;
			continue;
		}
		if (star == SIZE_MAX)
			return false;
		ti = star + 1;
		si = ++mark;
	}
	while (ti < nt && tok[ti] == TOK_STAR)
		ti++;
	return ti == nt;
}

/* The host part of an IP, host:port, [v6]:port or URL, into buf. */
static bool host_of(const char *s, size_t n, char *buf, size_t cap)
{
	const char *p = s, *end = s + n, *q;
	size_t colons = 0;

	for (q = s; q + 2 < end; q++) {
		if (q[0] == ':' && q[1] == '/' && q[2] == '/') {
			p = q + 3;
			break;
		}
		if (q[0] == '/')
			break;
	}
	for (q = p; q < end && *q != '/' && *q != '?' && *q != '#'; q++)
		;
	end = q;
	for (q = p; q < end; q++)
		if (*q == '@')
			p = q + 1;
	if (p < end && *p == '[') {
		q = memchr(p, ']', (size_t)(end - p));
		if (!q)
			return false;
		p++;
		end = q;
	} else {
		for (q = p; q < end; q++)
			colons += *q == ':';
		if (colons == 1)
			end = memchr(p, ':', (size_t)(end - p));
	}
	if ((size_t)(end - p) >= cap || end == p)
		return false;
	memcpy(buf, p, (size_t)(end - p));
	buf[end - p] = '\0';
	return true;
}

static bool cidr_match(const struct pat *p, const char *s, size_t n)
{
	uint8_t a[16];
	char host[64];
	unsigned bits = p->prefix, full = bits / 8, rest = bits % 8;

	if (!host_of(s, n, host, sizeof(host)) || inet_pton(p->family, host, a) != 1)
		return false;
	if (memcmp(a, p->addr, full) != 0)
		return false;
	if (rest) {
		uint8_t m = (uint8_t)(0xff << (8 - rest));

		if ((a[full] & m) != (p->addr[full] & m))
			return false;
	}
	return true;
}

/* A string form of a scalar: strings as they are, numbers and booleans printed. */
int rint_scalar_text(const json_t *v, char *buf, size_t cap, const char **s, size_t *n)
{
	switch (json_typeof(v)) {
	case JSON_STRING:
		*s = json_string_value(v);
		*n = json_string_length(v);
		return 0;
	case JSON_INTEGER:
		*n = (size_t)snprintf(buf, cap, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
		*s = buf;
		return 0;
	case JSON_REAL:
		*n = (size_t)snprintf(buf, cap, "%.17g", json_real_value(v));
		*s = buf;
		return 0;
	case JSON_TRUE:
		*s = "true";
		*n = 4;
		return 0;
	case JSON_FALSE:
		*s = "false";
		*n = 5;
		return 0;
	default:
		return -EINVAL;
	}
}

static bool num_of(const json_t *v, double *out)
{
	const char *s;
	char *end;

	if (json_is_number(v)) {
		*out = json_number_value(v);
		return true;
	}
	s = json_string_value(v);
	if (!s || !*s || json_string_length(v) > 64)
		return false;
	*out = strtod(s, &end);
	return *end == '\0' && *out - *out == 0;
}

static bool cmp_num(enum num_cmp c, double a, double b)
{
	switch (c) {
	case CMP_GT:
		return a > b;
	case CMP_GTE:
		return a >= b;
	case CMP_LT:
		return a < b;
	case CMP_LTE:
		return a <= b;
	default:
		return a == b;
	}
}

/* Does pattern p match the present, non-null scalar leaf v? */
static bool pat_match(struct mctx *m, const struct pat *p, const json_t *v, char *buf,
		      size_t cap, const char **ms, size_t *mn)
{
	const char *s;
	size_t n;
	double d;
	int rc;

	switch (p->op) {
	case P_NULL:
		return false;
	case P_EXISTS:
		return p->flag;
	case P_BOOL:
		if (json_is_boolean(v))
			return json_is_true(v) == p->flag;
		if (!json_is_string(v))
			return false;
		s = json_string_value(v);
		n = json_string_length(v);
		return p->flag ? n == 4 && eq_bytes((const uint8_t *)s, (const uint8_t *)"true", 4, false)
			       : n == 5 && eq_bytes((const uint8_t *)s, (const uint8_t *)"false", 5, false);
	case P_NUM_CMP:
		return num_of(v, &d) && cmp_num(p->cmp, d, p->num);
	case P_NUM_EQ:
		if (json_is_number(v))
			return json_number_value(v) == p->num;
		break;
	default:
		break;
	}
	if (rint_scalar_text(v, buf, cap, &s, &n) < 0)
		return false;
	*ms = s;
	*mn = n;
	switch (p->op) {
	case P_NUM_EQ:
	case P_EQ:
		return n == p->litlen &&
		       eq_bytes((const uint8_t *)s, (const uint8_t *)p->lit, n, p->cased);
	case P_STARTS:
		return n >= p->litlen &&
		       eq_bytes((const uint8_t *)s, (const uint8_t *)p->lit, p->litlen, p->cased);
	case P_ENDS:
		return n >= p->litlen && eq_bytes((const uint8_t *)s + n - p->litlen,
						  (const uint8_t *)p->lit, p->litlen, p->cased);
	case P_CONTAINS:
		return find_bytes((const uint8_t *)s, n, (const uint8_t *)p->lit, p->litlen,
				  p->cased);
	case P_GLOB:
		return glob_match(p->tok, p->ntok, (const uint8_t *)s, n, p->cased);
	case P_CIDR:
		return json_is_string(v) && cidr_match(p, s, n);
	case P_RE:
		rc = pcre2_match(p->re, (PCRE2_SPTR)s, n, 0, 0, m->scratch->md, m->set->mctx);
		if (rc >= 0)
			return true;
		if (rc == PCRE2_ERROR_MATCHLIMIT || rc == PCRE2_ERROR_DEPTHLIMIT ||
		    rc == PCRE2_ERROR_HEAPLIMIT || rc == PCRE2_ERROR_JIT_STACKLIMIT)
			atomic_fetch_add_explicit(&m->rule->relimit, 1, memory_order_relaxed);
		return false;
	default:
		return false;
	}
}

/*
 * Matches one leaf (a present value, or NULL for an absent field) against the value
 * groups; hit[] collects which groups matched (for |all).  Returns true as
 * soon as the condition is settled true (any value, without |all).
 */
static bool leaf_match(struct mctx *m, const struct fcond *fc, const json_t *v, uint8_t *hit)
{
	char buf[48];

	for (size_t i = 0; i < fc->nv; i++) {
		const struct val *val = &fc->v[i];

		if (fc->all && hit[i])
			continue;
		for (size_t j = 0; j < val->np; j++) {
			const struct pat *p = &val->p[j];
			const char *ms = NULL;
			size_t mn = 0;
			bool ok;

			if (!v) /* absent */
				ok = p->op == P_NULL || (p->op == P_EXISTS && !p->flag);
			else if (json_is_null(v)) /* present: exists, whatever its value */
				ok = p->op == P_NULL || (p->op == P_EXISTS && p->flag);
			else if (json_is_object(v))
				ok = p->op == P_EXISTS && p->flag;
			else
				ok = pat_match(m, p, v, buf, sizeof(buf), &ms, &mn);
			if (!ok)
				continue;
			hit[i] = 1;
			if (m->ex && !m->ex->fc) {
				m->ex->fc = fc;
				m->ex->v = val;
				if (ms == buf) {
					size_t k = mn < sizeof(m->ex->num) - 1 ? mn : sizeof(m->ex->num) - 1;

					memcpy(m->ex->num, buf, k);
					m->ex->num[k] = '\0';
					ms = m->ex->num;
					mn = k;
				}
				m->ex->s = ms;
				m->ex->slen = mn;
			}
			if (!fc->all)
				return true;
			break;
		}
	}
	return false;
}

/* Walks the path; returns true when settled; *found tells whether any leaf existed. */
static bool walk(struct mctx *m, const struct fcond *fc, const json_t *v, size_t i,
		 uint8_t *hit, bool *found)
{
	if (!v)
		return false;
	if (json_is_array(v)) {
		size_t k;
		const json_t *e;

		json_array_foreach(v, k, e) {
			if (walk(m, fc, e, i, hit, found))
				return true;
		}
		return false;
	}
	if (i == fc->path.n) {
		*found = true;
		return leaf_match(m, fc, v, hit);
	}
	return walk(m, fc, json_object_get(v, fc->path.c[i]), i + 1, hit, found);
}

/* Keyword search: target and every string of payload. */
static bool walk_strings(struct mctx *m, const struct fcond *fc, const json_t *v, unsigned depth,
			 uint8_t *hit)
{
	if (depth > RULES_WALK_DEPTH)
		return false;
	if (json_is_string(v))
		return leaf_match(m, fc, v, hit);
	if (json_is_array(v)) {
		size_t k;
		const json_t *e;

		json_array_foreach(v, k, e) {
			if (walk_strings(m, fc, e, depth + 1, hit))
				return true;
		}
	} else if (json_is_object(v)) {
		const char *k;
		const json_t *e;

		json_object_foreach(rint_jro(v), k, e) {
			if (walk_strings(m, fc, e, depth + 1, hit))
				return true;
		}
	}
	return false;
}

static bool all_hit(const struct fcond *fc, const uint8_t *hit)
{
	for (size_t i = 0; i < fc->nv; i++)
		if (!hit[i])
			return false;
	return true;
}

bool rint_fcond_match(struct mctx *m, const struct fcond *fc, const json_t *ev)
{
	uint8_t hit[RULES_MAX_VALUES];
	bool found = false;

	memset(hit, 0, fc->nv);
	if (fc->keyword) {
		if (walk_strings(m, fc, json_object_get(ev, EVF_TARGET), 0, hit) ||
		    walk_strings(m, fc, json_object_get(ev, EVF_PAYLOAD), 0, hit))
			return true;
		return fc->all && all_hit(fc, hit);
	}
	if (m->scratch && fc->pid < m->set->npaths) {
		struct rules_scratch *sc = m->scratch;
		uint8_t *state = &sc->pc_state[fc->pid];

		if (*state == 0) {
			/* First lookup of this path for the event: follow it without arrays. */
			const json_t *v = ev;

			*state = 1;
			for (size_t i = 0; v && i < fc->path.n; i++) {
				if (json_is_array(v)) {
					*state = 2;
					break;
				}
				v = json_object_get(v, fc->path.c[i]);
			}
			sc->pc_val[fc->pid] = v;
		}
		if (*state == 1) {
			const json_t *v = sc->pc_val[fc->pid];

			if (v && walk(m, fc, v, fc->path.n, hit, &found))
				return true;
			goto absent;
		}
	}
	if (walk(m, fc, ev, 0, hit, &found))
		return true;
absent:
	if (!found) {
		/* Absent: only null and exists: false can match. */
		return leaf_match(m, fc, NULL, hit) || (fc->all && all_hit(fc, hit));
	}
	return fc->all && all_hit(fc, hit);
}

bool rint_selmap_match(struct mctx *m, const struct selmap *sm, const json_t *ev)
{
	for (size_t i = 0; i < sm->nf; i++)
		if (!rint_fcond_match(m, &sm->f[i], ev))
			return false;
	return true;
}

bool rint_sel_match(struct mctx *m, const struct sel *s, const json_t *ev)
{
	for (size_t i = 0; i < s->nalt; i++)
		if (rint_selmap_match(m, &s->alt[i], ev))
			return true;
	return false;
}
