/*
 * load_int.h - what the rule loader's files share (load.c: rules, selections,
 * tests; load_corr.c: correlation rules).  Internal to src/rules.
 *
 * Every check reports a diagnostic with the file, line and column of the
 * offending key or value through rint_err_at / the location helpers, and
 * returns -EINVAL (reported) or -ENOMEM (stop).
 */
#ifndef VIGIL_RULES_LOAD_INT_H
#define VIGIL_RULES_LOAD_INT_H

#include "rules_int.h"

#define MAX_TITLE 256u
#define MAX_TEXT 65536u

struct loader {
	struct rules_set *set;
	const struct yj_doc *doc;
	const char *file;
	const char *label; /* rule id or title for diagnostics */
	int dline, dcol;   /* the document's start */
};

struct where {
	int line, col;
};

/* Where a value, an object's member (its value), a key, an array element
 * was written. */
struct where rint_at_value(const struct loader *L, const json_t *v);
struct where rint_at_member(const struct loader *L, const json_t *obj, const char *key);
struct where rint_at_key(const struct loader *L, const json_t *obj, const char *key);
struct where rint_at_elem(const struct loader *L, const json_t *arr, size_t i);
/* Reports an error at w; returns -EINVAL. */
int rint_err_at(const struct loader *L, struct where w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* The source text of parent[key] (or of v), for messages. */
const char *rint_text_of(const struct loader *L, const json_t *parent, const char *key,
			 size_t idx, const json_t *v);
/* obj[key]: a string or a list of strings, at most max of them. */
int rint_string_list(const struct loader *L, const json_t *obj, const char *key, size_t max,
		     char ***out, size_t *n);
void rint_free_strings(char **s, size_t n);

/* load_corr.c: the "correlation" map of root into r->corr. */
int rint_parse_correlation(const struct loader *L, struct rule *r, const json_t *root);
void rint_corr_free(struct corr_def *c);

#endif /* VIGIL_RULES_LOAD_INT_H */
