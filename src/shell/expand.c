/*
 * expand.c - a word's expansions in bash's order: brace expansion, tilde,
 * parameters, command and arithmetic substitution, process substitution,
 * field splitting on $IFS and quote removal.  Pathname expansion is not
 * done (the file system is the caller's): a field with unquoted glob
 * characters is flagged SH_W_GLOB and also given as a glob(3) pattern.
 *
 * What cannot be known is kept as it was spelled ($X, $(cmd)) in the field,
 * with the reason in the field's unres: an unknown unquoted expansion may
 * have split into any number of fields, so the field stands for all of them.
 */
#include "expand_int.h"

#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>

void shx_wvec_push(struct shx *x, struct shx_wvec *wv, const struct sh_word *w)
{
	if (wv->n == wv->cap) {
		size_t cap = wv->cap ? wv->cap * 2 : 8;
		struct sh_word *nv;

		if (wv->n >= SH_MAX_WORDS) {
			x->unres |= SH_U_LIMIT;
			if (wv->n)
				wv->v[wv->n - 1].unres |= SH_U_LIMIT;
			return;
		}
		nv = shx_alloc(x, cap * sizeof(*nv));
		if (wv->n)
			memcpy(nv, wv->v, wv->n * sizeof(*nv));
		wv->v = nv;
		wv->cap = cap;
	}
	wv->v[wv->n++] = *w;
}

void shx_fb_reset(struct xp *xp)
{
	struct fb *f = &xp->f;

	shx_buf_init(&f->s, xp->sstack, sizeof(xp->sstack));
	shx_buf_init(&f->pat, xp->pstack, sizeof(xp->pstack));
	f->pat_on = f->glob = f->bracket = f->active = f->decoded = false;
	f->unres = f->flags = 0;
	f->sub = -1;
}

static bool is_glob_char(char ch)
{
	return ch == '*' || ch == '?' || ch == '[' || ch == ']' || ch == '\\';
}

/* One character into the field: quoted characters are literal, unquoted glob
 * characters are active (and make the pattern). */
static void fb_addc(struct xp *xp, char ch, bool quoted)
{
	struct fb *f = &xp->f;
	struct shx *x = xp->x;

	f->active = true;
	if (xp->mode == XM_PATTERN) {
		if (quoted && is_glob_char(ch))
			shx_buf_addc(x, &f->s, '\\');
		shx_buf_addc(x, &f->s, ch);
		return;
	}
	if (!quoted && (ch == '*' || ch == '?' || ch == '[') && xp->mode == XM_ARGV && !f->pat_on) {
		/* Start the pattern: what came before was all literal. */
		for (size_t i = 0; i < f->s.len; i++) {
			if (is_glob_char(f->s.p[i]))
				shx_buf_addc(x, &f->pat, '\\');
			shx_buf_addc(x, &f->pat, f->s.p[i]);
		}
		f->pat_on = true;
	}
	if (f->pat_on) {
		if (quoted && is_glob_char(ch))
			shx_buf_addc(x, &f->pat, '\\');
		shx_buf_addc(x, &f->pat, ch);
	}
	if (!quoted && (ch == '*' || ch == '?'))
		f->glob = true;
	if (!quoted && ch == '[')
		f->bracket = true;
	if (!quoted && ch == ']' && f->bracket)
		f->glob = true;
	shx_buf_addc(x, &f->s, ch);
}

void shx_fb_add(struct xp *xp, const char *s, size_t n, bool quoted)
{
	struct fb *f = &xp->f;

	if (xp->mode != XM_PATTERN && (quoted || xp->mode != XM_ARGV) && !f->pat_on) {
		f->active = true;
		shx_buf_add(xp->x, &f->s, s, n);
		return;
	}
	for (size_t i = 0; i < n; i++)
		fb_addc(xp, s[i], quoted);
	if (!n && quoted)
		f->active = true;
}

void shx_fb_finish(struct xp *xp, bool force)
{
	struct fb *f = &xp->f;
	struct sh_word w = { .sub = f->sub };

	if (!f->active && !force)
		return;
	w.s = shx_buf_done(xp->x, &f->s);
	w.len = f->s.len;
	w.unres = f->unres;
	w.flags = f->flags | (f->decoded ? SH_W_DECODED : 0);
	if (f->glob && !f->unres) {
		w.flags |= SH_W_GLOB;
		w.pattern = shx_buf_done(xp->x, &f->pat);
	} else if (f->glob) {
		/* Unknown text with a glob: still a glob, the pattern as far as known. */
		w.flags |= SH_W_GLOB;
		w.pattern = shx_buf_done(xp->x, f->pat_on ? &f->pat : &f->s);
	}
	shx_wvec_push(xp->x, xp->out, &w);
	shx_fb_reset(xp);
}

/* Text from an expansion: split on $IFS when unquoted in argv words. */
void shx_fb_expansion(struct xp *xp, const char *s, size_t n, bool quoted, bool decoded)
{
	if (decoded)
		xp->f.decoded = true;
	if (quoted || !shx_split_mode(xp)) {
		shx_fb_add(xp, s, n, quoted);
		if (quoted)
			xp->f.active = true;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = s[i];

		if (xp->ifslen && memchr(xp->ifs, ch, xp->ifslen)) {
			bool ws = ch == ' ' || ch == '\t' || ch == '\n';

			shx_fb_finish(xp, !ws);
			continue;
		}
		fb_addc(xp, ch, false);
	}
}

/* What cannot be expanded: its spelling, and why. */
void shx_fb_unres(struct xp *xp, const char *raw, size_t n, unsigned why)
{
	struct fb *f = &xp->f;

	f->unres |= why;
	f->active = true;
	shx_buf_add(xp->x, &f->s, raw, n);
	if (f->pat_on)
		for (size_t i = 0; i < n; i++) {
			if (is_glob_char(raw[i]))
				shx_buf_addc(xp->x, &f->pat, '\\');
			shx_buf_addc(xp->x, &f->pat, raw[i]);
		}
}

/* ---- tilde ---------------------------------------------------------------------------------------- */

/* ~, ~user, ~+, ~- at s (n bytes of the prefix after ~). */
static void tilde(struct xp *xp, const char *s, size_t n)
{
	struct shx_ctx *c = xp->c;
	unsigned unres = 0;
	const char *home = NULL;

	if (n == 0) {
		home = shx_home(c, &unres);
		if (!home)
			unres |= SH_U_VAR;
	} else if (n == 1 && (s[0] == '+' || s[0] == '-')) {
		struct shx_val v;

		if (s[0] == '+') {
			home = shx_cwd(c, &unres);
			if (!home)
				unres |= SH_U_CWD;
		} else {
			shx_get(c, "OLDPWD", 6, &v);
			if (v.state == VAL_SET)
				home = shx_strndup(xp->x, v.s, v.len);
			else
				unres |= v.unres ? v.unres : SH_U_VAR;
		}
	} else {
		home = shx_home_of(c, s, n);
		if (!home)
			unres |= c->sh->remote ? SH_U_USER | SH_U_REMOTE : SH_U_USER;
	}
	if (home) {
		/* The result of ~ is not split or globbed. */
		shx_fb_add(xp, home, strlen(home), true);
		xp->f.unres |= unres & (SH_U_COND | SH_U_LOOP);
	} else {
		shx_fb_unres(xp, s - 1, n + 1, unres);
	}
}

/* A literal segment, with ~ where the mode allows it: at the start of a word,
 * and in assignments (and argv words that look like one) after the = and
 * after each :.  The tilde-prefix runs to the first / (or :); when it runs
 * into another segment (~"x", ~$u) bash does not expand it. */
static void lit(struct xp *xp, const struct shx_seg *sg, bool first, bool last)
{
	const char *s = sg->s;
	size_t n = sg->len, i = 0, run = 0;
	bool assign = xp->mode == XM_ASSIGN || xp->assign_like;

	if (sg->decoded)
		xp->f.decoded = true;
	if (sg->quoted || xp->mode == XM_HEREDOC || xp->mode == XM_PATTERN) {
		shx_fb_add(xp, s, n, sg->quoted);
		return;
	}
	while (i < n) {
		bool at = s[i] == '~' && ((i == 0 && first && !xp->assign_like) ||
					  (assign && i > 0 && s[i - 1] == ':') ||
					  (xp->assign_like && first && i == xp->eq_off + 1));
		size_t e;

		if (!at) {
			i++;
			continue;
		}
		e = i + 1;
		while (e < n && s[e] != '/' && !(assign && s[e] == ':'))
			e++;
		if (e == n && !last) {
			i++;
			continue;
		}
		shx_fb_add(xp, s + run, i - run, false);
		tilde(xp, s + i + 1, e - i - 1);
		run = i = e;
	}
	shx_fb_add(xp, s + run, n - run, false);
}

/* ---- substitutions -------------------------------------------------------------------------------- */

static void cmdsub(struct xp *xp, const struct shx_seg *sg)
{
	char stack[512];
	struct shx_buf out;
	bool decoded = false, known;
	int first = -1;

	shx_buf_init(&out, stack, sizeof(stack));
	known = shx_cmdsub(xp->c, sg->u.ast, xp->cmd, SH_VIA_CMDSUB, true, &out, &decoded, &first);
	if (first >= 0 && xp->f.sub < 0) {
		xp->f.sub = first;
		xp->f.flags |= SH_W_CMDSUB;
	}
	if (!known) {
		shx_fb_unres(xp, sg->s, sg->len, SH_U_CMDSUB);
		return;
	}
	{
		/* bash drops NUL bytes from the output (with a warning), and the
		 * trailing newlines */
		size_t k = 0;

		for (size_t i = 0; i < out.len; i++)
			if (out.p[i])
				out.p[k++] = out.p[i];
		out.len = k;
	}
	while (out.len && out.p[out.len - 1] == '\n')
		out.len--;
	shx_fb_expansion(xp, out.p ? out.p : "", out.len, sg->quoted, decoded);
	if (sg->quoted)
		xp->f.active = true;
}

static void arith(struct xp *xp, const struct shx_seg *sg)
{
	struct sh_word w = shx_expand_one(xp->c, sg->u.arith, XM_HEREDOC, xp->cmd);
	unsigned unres = w.unres;
	long long v;
	char num[32];

	if (unres || !shx_arith(xp->c, w.s, w.len, &v, &unres)) {
		shx_fb_unres(xp, sg->s, sg->len, unres ? unres : SH_U_ARITH);
		return;
	}
	snprintf(num, sizeof(num), "%lld", v);
	shx_fb_expansion(xp, num, strlen(num), sg->quoted, false);
}

static void procsub(struct xp *xp, const struct shx_seg *sg)
{
	struct shx *x = xp->x;
	char stack[512], path[32];
	struct shx_buf out;
	bool decoded = false, known;
	int first = -1;
	struct sh_cmd *cmd = xp->cmd >= 0 ? shx_cmd(x, xp->cmd) : NULL;
	int fd = 63;

	/* bash hands out descriptors from 63 down, one per substitution of a command. */
	if (cmd)
		for (int i = 0; i < (int)x->nprocsubs; i++)
			if (x->procsubs[i].owner == xp->cmd)
				fd--;
	shx_buf_init(&out, stack, sizeof(stack));
	known = shx_cmdsub(xp->c, sg->u.ast, xp->cmd, SH_VIA_PROCSUB, sg->kind == SEG_PROCIN, &out,
			   &decoded, &first);
	shx_note_procsub(x, xp->cmd, first, known && sg->kind == SEG_PROCIN ? out.p : NULL, out.len,
			 decoded);
	snprintf(path, sizeof(path), "/dev/fd/%d", fd);
	shx_fb_add(xp, path, strlen(path), true);
	xp->f.flags |= SH_W_PROCSUB;
	if (xp->f.sub < 0)
		xp->f.sub = first;
}

void shx_expand_segs(struct xp *xp, const struct shx_seg *segs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		const struct shx_seg *sg = &segs[i];

		switch (sg->kind) {
		case SEG_LIT: {
			/* The tilde-prefix ends with this segment when nothing follows or
			 * what follows starts with the / (or :) that ends it anyway. */
			const struct shx_seg *nx = i + 1 < n ? &segs[i + 1] : NULL;
			bool last = !nx || (nx->kind == SEG_LIT && !nx->quoted && nx->len &&
					    (nx->s[0] == '/' || nx->s[0] == ':'));

			lit(xp, sg, i == 0, last);
			break;
		}
		case SEG_PARAM:
			shx_param(xp, sg);
			break;
		case SEG_CMDSUB:
			cmdsub(xp, sg);
			break;
		case SEG_ARITH:
			arith(xp, sg);
			break;
		default:
			procsub(xp, sg);
			break;
		}
	}
}

/* ---- entry points -------------------------------------------------------------------------------- */

static void xp_init(struct xp *xp, struct shx_ctx *c, enum shx_xmode mode, int cmd,
		    struct shx_wvec *out)
{
	struct shx_val v;

	xp->c = c;
	xp->x = c->x;
	xp->mode = mode;
	xp->cmd = cmd;
	xp->out = out;
	xp->assign_like = false;
	xp->brace_unres = 0;
	shx_get(c, "IFS", 3, &v);
	if (v.state == VAL_SET) {
		xp->ifs = v.s;
		xp->ifslen = v.len;
	} else if (v.state == VAL_UNSET) {
		xp->ifs = " \t\n";
		xp->ifslen = 3;
	} else {
		xp->ifs = " \t\n"; /* unknown $IFS: the default, as almost always */
		xp->ifslen = 3;
	}
	shx_fb_reset(xp);
}

void shx_expand(struct shx_ctx *c, const struct shx_word *w, enum shx_xmode mode, int cmd,
		struct shx_wvec *out)
{
	struct xp xp;

	xp_init(&xp, c, mode, cmd, out);
	if (mode == XM_ARGV && w->nsegs && w->segs[0].kind == SEG_LIT && !w->segs[0].quoted) {
		/* bash expands ~ after = in an argument that looks like an assignment. */
		const char *eq = memchr(w->segs[0].s, '=', w->segs[0].len);

		if (eq && shx_valid_name(w->segs[0].s, (size_t)(eq - w->segs[0].s))) {
			xp.assign_like = true;
			xp.eq_off = (size_t)(eq - w->segs[0].s);
		}
	}
	if (mode == XM_ARGV && shx_has_brace(w)) {
		shx_brace(&xp, w->segs, w->nsegs);
		return;
	}
	shx_expand_segs(&xp, w->segs, w->nsegs);
	shx_fb_finish(&xp, mode != XM_ARGV);
}

struct sh_word shx_expand_one(struct shx_ctx *c, const struct shx_word *w, enum shx_xmode mode,
			      int cmd)
{
	struct shx_wvec out = { 0 };
	struct sh_word r = { .s = "", .sub = -1 };

	if (!w)
		return r;
	shx_expand(c, w, mode == XM_ARGV ? XM_STRING : mode, cmd, &out);
	if (out.n)
		r = out.v[0];
	return r;
}
