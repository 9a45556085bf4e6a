/*
 * expand_int.h - the field builder that expand.c, param.c and brace.c share:
 * a word's expansion appends text to the current field (quoted or not: glob
 * characters are active only unquoted), splits it on $IFS, and pushes the
 * finished fields.
 */
#ifndef VIGIL_SHELL_EXPAND_INT_H
#define VIGIL_SHELL_EXPAND_INT_H

#include "shell_int.h"

struct fb {
	struct shx_buf s, pat;
	bool pat_on;  /* an unquoted glob character was seen: pat is being built */
	bool glob;    /* an active *, ? or [...] */
	bool bracket; /* an active [ waiting for its ] */
	bool active;  /* the field exists, even empty ("") */
	bool decoded;
	unsigned unres, flags;
	int sub;
};

struct xp {
	struct shx_ctx *c;
	struct shx *x;
	enum shx_xmode mode;
	int cmd;
	struct shx_wvec *out;
	struct fb f;
	char sstack[256], pstack[256];
	const char *ifs;
	size_t ifslen;
	bool assign_like;     /* an argv word NAME=...: ~ after = and : as in an assignment */
	size_t eq_off;	      /* assign_like: the offset of its = in the first segment */
	unsigned brace_unres; /* a brace expansion over the bounds: left as it was */
};

void shx_fb_reset(struct xp *xp);
/* Literal text into the field: quoted characters are literal, unquoted glob
 * characters active. */
void shx_fb_add(struct xp *xp, const char *s, size_t n, bool quoted);
/* The field is complete: pushed if it exists (or force). */
void shx_fb_finish(struct xp *xp, bool force);
/* Text from an expansion: split on $IFS when unquoted in argv words. */
void shx_fb_expansion(struct xp *xp, const char *s, size_t n, bool quoted, bool decoded);
/* What cannot be expanded: its spelling, and why. */
void shx_fb_unres(struct xp *xp, const char *raw, size_t n, unsigned why);
static inline bool shx_split_mode(const struct xp *xp)
{
	return xp->mode == XM_ARGV;
}
void shx_expand_segs(struct xp *xp, const struct shx_seg *segs, size_t n);
/* A ${...} segment (param.c). */
void shx_param(struct xp *xp, const struct shx_seg *sg);
/* Brace expansion of a word's segments, each result expanded (brace.c). */
void shx_brace(struct xp *xp, const struct shx_seg *segs, size_t n);
bool shx_has_brace(const struct shx_word *w);

#endif /* VIGIL_SHELL_EXPAND_INT_H */
