/*
 * embed.h - the secret catalogue as embedded at build time by
 * scripts/embed-rules --symbol rdx_embedded (the .yml files of secrets/, in
 * name order: one today).  Internal to src/redact.
 */
#ifndef VIGIL_REDACT_EMBED_H
#define VIGIL_REDACT_EMBED_H

#include "common.h" /* struct vg_embedded_file */

extern const struct vg_embedded_file rdx_embedded[];
extern const size_t rdx_embedded_n;

#endif /* VIGIL_REDACT_EMBED_H */
