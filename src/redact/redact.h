/*
 * redact.h - finds secrets in text and replaces each with "[REDACTED:<kind>]".
 *
 * What counts as a secret is data: the catalogue (secrets/catalog.yml,
 * embedded at build time; docs/redaction.md) lists token formats (a prefix,
 * then parts of given characters and lengths) and the
 * contexts that mark a value as a credential whatever its shape: key words
 * of KEY=value and "key": "value", HTTP headers, URL user-info and query
 * parameters, the password options of common command-line programs, webhook
 * URLs, PEM and PGP private-key blocks (also base64-encoded) and JWTs.
 *
 * A catalogue is compiled once (rd_catalog_default or rd_catalog_new) and is
 * then immutable: any number of threads may scan with it at once.
 *
 * Scanning is bounded: one pass over the text, each detector's look-ahead
 * capped (RD_MAX_LOOKAHEAD), at most RD_MAX_RANGES secrets per text (past
 * that the rest of the text is redacted whole: too many secrets is itself a
 * reason not to keep the text).  Redacting redacted text changes nothing.
 */
#ifndef VIGIL_REDACT_H
#define VIGIL_REDACT_H

#include "common.h"

#include <stdbool.h>
#include <stddef.h>

#define RD_MAX_RANGES 1024u	  /* secrets in one text; more: the rest is cut */
#define RD_MAX_LOOKAHEAD 4096u	  /* bytes a context detector reads ahead */
#define RD_MAX_CATALOG (1u << 20) /* bytes of catalogue text */

struct rd_catalog;

/** Compiles the embedded catalogue.  -ENOMEM, or -EINVAL with err set (a
 * build that embedded a broken catalogue: its tests fail first). */
int rd_catalog_default(struct rd_catalog **out, char *err, size_t errcap);

/**
 * Compiles a catalogue from YAML text (file names it in messages).  Errors:
 * -EINVAL with "file:line:col: reason" in err, -E2BIG over RD_MAX_CATALOG,
 * -ENOMEM.
 */
int rd_catalog_new(const char *text, size_t len, const char *file, struct rd_catalog **out,
		   char *err, size_t errcap);
void rd_catalog_free(struct rd_catalog *c);

/** The token formats, for listings: kind and title of format i (i < count). */
size_t rd_format_count(const struct rd_catalog *c);
void rd_format_info(const struct rd_catalog *c, size_t i, const char **kind, const char **title);

/**
 * Could rd_scan find anything in s?  A cheap pre-pass: false only when no
 * detector can match, so a false answer lets the caller keep s as it is.
 */
bool rd_needed(const struct rd_catalog *c, const char *s, size_t n);

/**
 * Writes s with every secret replaced to out (reset first; out->data is
 * NUL-terminated).  Returns the number of secrets replaced, or -ENOMEM /
 * -E2BIG (out's limit).
 */
int rd_scan(const struct rd_catalog *c, const char *s, size_t n, struct vbuf *out);

/** How strongly a key name says its value is a secret. */
enum rd_key {
	RD_KEY_NONE = 0,
	RD_KEY_WEAK,   /* token, key, auth...: only a random-looking value is one */
	RD_KEY_STRONG, /* password, secret, credential...: any literal value is one */
};

/**
 * The class of key name k (n bytes): its words (split at _ - . and
 * camelCase) name a secret, and the word is its last or followed only by a
 * suffix word (password_data yes, password_length no).  *kind gets the
 * redaction kind (may be NULL).
 */
enum rd_key rd_key_class(const struct rd_catalog *c, const char *k, size_t n, const char **kind);

/**
 * Is v (n bytes, a string value stored under a key of class cls, e.g. a JSON
 * member) a secret?  Strong: any literal that is not empty, a placeholder, a
 * number, a boolean, a path or a reference ($VAR, {{x}}, <x>).  Weak: only
 * when it also looks random (length, character classes, entropy).
 */
bool rd_value_secret(enum rd_key cls, const char *v, size_t n);

#endif /* VIGIL_REDACT_H */
