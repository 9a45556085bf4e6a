/*
 * pack.h - the default rule pack as embedded at build time by
 * scripts/embed-rules (the .yml files of rules/, in name order).  Internal to src/rules.
 */
#ifndef VIGIL_RULES_PACK_H
#define VIGIL_RULES_PACK_H

#include <stddef.h>

struct rules_pack_entry {
	const char *name; /* file name, e.g. "destructive.yml" */
	const char *text; /* the file's bytes (NUL-terminated) */
	size_t len;
};

extern const struct rules_pack_entry rules_pack[];
extern const size_t rules_pack_n;

#endif /* VIGIL_RULES_PACK_H */
