/*
 * brace.c - brace expansion ({a,b}, {1..9}, {a..z..2}, nested), done first,
 * on the unquoted text of a word, each result then expanded as a word.
 */
#include "expand_int.h"

#include <stdio.h>
#include <stdlib.h>

/* {a..b[..s]} as numbers or letters: the alternatives, or false. */
static bool brace_seq(struct xp *xp, const char *s, size_t n, const char ***alts, size_t *nalts,
		      bool *too_many)
{
	char a[32], b[32], st[32];
	long long x0, x1, step = 1;
	int w = 0;
	const char *dd = NULL, *dd2 = NULL;

	for (size_t i = 0; i + 1 < n; i++)
		if (s[i] == '.' && s[i + 1] == '.') {
			if (!dd)
				dd = s + i;
			else if (!dd2)
				dd2 = s + i;
			i++;
		}
	if (!dd || (size_t)(dd - s) >= sizeof(a))
		return false;
	{
		size_t la = (size_t)(dd - s), lb = (size_t)((dd2 ? dd2 : s + n) - (dd + 2));

		if (lb >= sizeof(b) || la == 0 || lb == 0)
			return false;
		memcpy(a, s, la);
		a[la] = '\0';
		memcpy(b, dd + 2, lb);
		b[lb] = '\0';
		if (dd2) {
			size_t ls = n - (size_t)(dd2 + 2 - s);

			if (ls == 0 || ls >= sizeof(st))
				return false;
			memcpy(st, dd2 + 2, ls);
			st[ls] = '\0';
		}
	}
	if (dd2) {
		char *e;

		step = strtoll(st, &e, 10);
		if (*e || !step)
			return false;
		if (step < 0)
			step = -step;
	}
	{
		char *e1, *e2;
		bool num;

		x0 = strtoll(a, &e1, 10);
		x1 = strtoll(b, &e2, 10);
		num = !*e1 && !*e2 && a[0] != '+' && b[0] != '+';
		if (!num) {
			if (a[1] || b[1])
				return false;
			x0 = (unsigned char)a[0];
			x1 = (unsigned char)b[0];
		} else if ((a[0] == '0' && a[1]) || (a[0] == '-' && a[1] == '0' && a[2]) ||
			   (b[0] == '0' && b[1]) || (b[0] == '-' && b[1] == '0' && b[2])) {
			w = (int)(strlen(a) > strlen(b) ? strlen(a) : strlen(b));
		}
		if ((x1 > x0 ? x1 - x0 : x0 - x1) / step + 1 > (long long)SH_MAX_BRACE) {
			*too_many = true;
			return false;
		}
		*nalts = (size_t)((x1 > x0 ? x1 - x0 : x0 - x1) / step + 1);
		*alts = shx_alloc(xp->x, *nalts * sizeof(**alts));
		for (size_t k = 0; k < *nalts; k++) {
			long long v = x1 >= x0 ? x0 + (long long)k * step
					       : x0 - (long long)k * step;
			char buf[48];

			if (num)
				snprintf(buf, sizeof(buf), "%0*lld", w, v);
			else
				snprintf(buf, sizeof(buf), "%c", (char)v);
			(*alts)[k] = shx_strndup(xp->x, buf, strlen(buf));
		}
	}
	return true;
}

/*
 * Brace expansion works on atoms: each character of unquoted literal text is
 * one, every other segment (quoted text, $x, $(...)) is one, so that the
 * braces and commas that count are exactly the unquoted ones.  Each level
 * of recursion expands the first brace pair; bounded by SH_MAX_BRACE results
 * and BRACE_DEPTH levels (beyond 8 levels of two alternatives the results
 * are over SH_MAX_BRACE anyway).
 */
#define BRACE_DEPTH 32

struct atom {
	const struct shx_seg *seg; /* NULL: the character ch of unquoted text */
	char ch;
};

static bool is_ch(const struct atom *a, char ch)
{
	return !a->seg && a->ch == ch;
}

/* Atoms back to segments: runs of characters become literal segments. */
static void atoms_emit(struct xp *xp, const struct atom *at, size_t n, size_t *count)
{
	struct shx_seg *segs = shx_alloc(xp->x, (n ? n : 1) * sizeof(*segs));
	size_t k = 0;

	if (++*count > SH_MAX_BRACE) {
		xp->x->unres |= SH_U_LIMIT;
		return;
	}
	for (size_t i = 0; i < n;) {
		if (at[i].seg) {
			segs[k++] = *at[i].seg;
			i++;
			continue;
		}
		{
			size_t j = i;
			char *t;

			while (j < n && !at[j].seg)
				j++;
			t = shx_alloc(xp->x, j - i + 1);
			for (size_t q = i; q < j; q++)
				t[q - i] = at[q].ch;
			segs[k++] = (struct shx_seg){ .kind = SEG_LIT,
						      .s = t,
						      .len = (uint32_t)(j - i) };
			i = j;
		}
	}
	shx_fb_reset(xp);
	xp->f.unres = xp->brace_unres;
	shx_expand_segs(xp, segs, k);
	shx_fb_finish(xp, false);
}

static void brace_atoms(struct xp *xp, const struct atom *at, size_t n, size_t *count, int depth)
{
	if (depth > BRACE_DEPTH) {
		xp->x->unres |= SH_U_LIMIT;
		return;
	}
	for (size_t i = 0; i < n; i++) {
		size_t close = 0, ncomma = 0, d = 0, *commas;
		bool found = false;
		char seq[64];
		size_t seqn = 0;
		bool seq_ok = true;

		if (!is_ch(&at[i], '{') || (i > 0 && is_ch(&at[i - 1], '$')))
			continue;
		commas = shx_alloc(xp->x, n * sizeof(*commas));
		for (size_t j = i + 1; j < n; j++) {
			if (is_ch(&at[j], '{'))
				d++;
			else if (is_ch(&at[j], '}') && d)
				d--;
			else if (is_ch(&at[j], '}')) {
				close = j;
				found = true;
				break;
			} else if (is_ch(&at[j], ',') && !d)
				commas[ncomma++] = j;
			if (at[j].seg || seqn + 1 >= sizeof(seq))
				seq_ok = false;
			else
				seq[seqn++] = at[j].ch;
		}
		if (!found)
			break;
		if (ncomma == 0) {
			const char **alts = NULL;
			size_t nalts = 0;
			bool too_many = false;

			seq[seqn] = '\0';
			if (!seq_ok || !brace_seq(xp, seq, seqn, &alts, &nalts, &too_many)) {
				if (too_many) {
					/* {1..100000}: not expanded, and said so */
					xp->x->unres |= SH_U_LIMIT;
					xp->brace_unres |= SH_U_LIMIT;
				}
				continue; /* {x} is literal: look further */
			}
			for (size_t a = 0; a < nalts && *count <= SH_MAX_BRACE; a++) {
				size_t la = strlen(alts[a]), k = 0;
				struct atom *w = shx_alloc(xp->x, (n + la) * sizeof(*w));

				memcpy(w, at, i * sizeof(*w));
				k = i;
				for (size_t q = 0; q < la; q++)
					w[k++] = (struct atom){ .ch = alts[a][q] };
				memcpy(w + k, at + close + 1, (n - close - 1) * sizeof(*w));
				k += n - close - 1;
				brace_atoms(xp, w, k, count, depth + 1);
			}
			return;
		}
		for (size_t a = 0; a <= ncomma && *count <= SH_MAX_BRACE; a++) {
			size_t from = a == 0 ? i + 1 : commas[a - 1] + 1;
			size_t to = a == ncomma ? close : commas[a];
			size_t k = 0;
			struct atom *w = shx_alloc(xp->x, n * sizeof(*w));

			memcpy(w, at, i * sizeof(*w));
			k = i;
			memcpy(w + k, at + from, (to - from) * sizeof(*w));
			k += to - from;
			memcpy(w + k, at + close + 1, (n - close - 1) * sizeof(*w));
			k += n - close - 1;
			brace_atoms(xp, w, k, count, depth + 1);
		}
		return;
	}
	atoms_emit(xp, at, n, count);
}

void shx_brace(struct xp *xp, const struct shx_seg *segs, size_t n)
{
	size_t na = 0, count = 0;
	struct atom *at;

	for (size_t i = 0; i < n; i++)
		na += segs[i].kind == SEG_LIT && !segs[i].quoted ? segs[i].len : 1;
	at = shx_alloc(xp->x, (na ? na : 1) * sizeof(*at));
	na = 0;
	for (size_t i = 0; i < n; i++) {
		if (segs[i].kind == SEG_LIT && !segs[i].quoted) {
			for (size_t j = 0; j < segs[i].len; j++)
				at[na++] = (struct atom){ .ch = segs[i].s[j] };
		} else {
			at[na++] = (struct atom){ .seg = &segs[i] };
		}
	}
	brace_atoms(xp, at, na, &count, 0);
}

bool shx_has_brace(const struct shx_word *w)
{
	for (uint32_t i = 0; i < w->nsegs; i++)
		if (w->segs[i].kind == SEG_LIT && !w->segs[i].quoted &&
		    memchr(w->segs[i].s, '{', w->segs[i].len))
			return true;
	return false;
}
