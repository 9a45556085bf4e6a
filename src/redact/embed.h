/*
 * embed.h - the secret catalogue as embedded at build time by
 * scripts/embed-rules --symbol rd_embedded (the .yml files of secrets/, in
 * name order: one today).  Internal to src/redact.
 */
#ifndef VIGIL_REDACT_EMBED_H
#define VIGIL_REDACT_EMBED_H

#include <stddef.h>

struct rd_embedded_entry {
	const char *name; /* file name, e.g. "catalog.yml" */
	const char *text; /* the file's bytes (NUL-terminated) */
	size_t len;
};

extern const struct rd_embedded_entry rd_embedded[];
extern const size_t rd_embedded_n;

#endif /* VIGIL_REDACT_EMBED_H */
