/*
 * pipeline_int.h - internal interfaces between the pipeline's files.
 */
#ifndef VIGIL_PIPELINE_INT_H
#define VIGIL_PIPELINE_INT_H

#include <stddef.h>

/*
 * The redaction kind ("password", "token", ...) when the key name k (n bytes)
 * looks like it names a secret, else NULL.
 */
const char *redact_key_kind(const char *k, size_t n);

#endif
