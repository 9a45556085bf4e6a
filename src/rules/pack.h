/*
 * pack.h - the default rule pack as embedded at build time by
 * scripts/embed-rules (the .yml files of rules/, in name order).  Internal to src/rules.
 */
#ifndef VIGIL_RULES_PACK_H
#define VIGIL_RULES_PACK_H

#include "common.h" /* struct vg_embedded_file */

extern const struct vg_embedded_file rules_pack[];
extern const size_t rules_pack_n;

#endif /* VIGIL_RULES_PACK_H */
