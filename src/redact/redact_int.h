/*
 * redact_int.h - the compiled catalogue, shared by the files of src/redact
 * (nothing outside includes it).
 */
#ifndef VIGIL_REDACT_INT_H
#define VIGIL_REDACT_INT_H

#include "redact.h"

#include <stdint.h>

struct yj_doc;

/* A set of bytes, as a regex class compiles to. */
struct rdx_set {
	uint8_t bits[32];
};

static inline bool rdx_in(const struct rdx_set *s, unsigned char c)
{
	return (s->bits[c >> 3] >> (c & 7)) & 1u;
}

struct rdx_part {
	const char *lit; /* literal text, or NULL: a run of set */
	size_t lit_len;
	struct rdx_set set;
	unsigned min, max;
};

#define RD_MAX_PREFIXES 16u
#define RD_MAX_PARTS 8u

struct rdx_format {
	const char *kind, *title;
	const char *prefix[RD_MAX_PREFIXES];
	size_t prefix_len[RD_MAX_PREFIXES];
	size_t nprefix;
	bool ci;
	struct rdx_part part[RD_MAX_PARTS];
	size_t nparts;
	size_t min_len; /* shortest whole token */
};

struct rdx_word {
	const char *word, *kind;
	size_t len;
};

enum rdx_form { RD_ATTACHED = 1, RD_EQUALS = 2, RD_SEPARATE = 4 };

struct rdx_cli_opt {
	const char *flag;
	size_t flag_len;
	unsigned forms; /* enum rdx_form bits */
	char after;	/* only what follows this byte is secret; 0: all */
};

#define RD_MAX_CLI_PROGRAMS 16u
#define RD_MAX_CLI_OPTIONS 8u

struct rdx_cli {
	const char *program[RD_MAX_CLI_PROGRAMS];
	size_t nprogram;
	struct rdx_cli_opt opt[RD_MAX_CLI_OPTIONS];
	size_t nopt;
};

struct rdx_webhook {
	const char *kind, *prefix, *host_suffix, *path;
};

struct rdx_list {
	const char **v;
	size_t n;
};

struct rd_catalog {
	struct yj_doc *doc; /* owns every string below */
	struct rdx_format *formats;
	size_t nformats;
	/* Formats to try at a byte: by the first byte of a prefix (both cases
	 * when ci), or of the first part for formats without a prefix. */
	uint16_t *by_byte[256];
	uint16_t nby_byte[256];
	struct rdx_word *strong, *weak;
	size_t nstrong, nweak;
	struct rdx_list suffix, headers, schemes, query;
	struct rdx_cli *cli;
	size_t ncli;
	struct rdx_webhook *hooks;
	size_t nhooks;
	/* Pre-pass: bytes at which a token that may need a closer look starts. */
	struct rdx_set token_start;
	size_t min_token; /* shortest format token */
};

/* scan.c: one candidate range, to be merged and written out. */
struct rdx_range {
	size_t start, end;
	const char *kind;
};

struct rdx_ranges {
	struct rdx_range r[RD_MAX_RANGES];
	size_t n;
	bool full; /* RD_MAX_RANGES reached: redact from the last start to the end */
	/* Bytes the detectors may still read ahead.  Ordinary text never
	 * spends it; a text built to make look-aheads overlap (a key word
	 * every few bytes, each followed by a long value) does, and then the
	 * rest of it is redacted unread: the scan stays linear in the text. */
	size_t budget;
	size_t stop;	  /* where the budget ran out (valid when exhausted) */
	size_t cli_until; /* the command rdx_match_cli read ends here */
	bool exhausted;
};

void rdx_add(struct rdx_ranges *rs, size_t start, size_t end, const char *kind);

/* Charges n bytes of look-ahead from position at; false once exhausted. */
static inline bool rdx_spend(struct rdx_ranges *rs, size_t at, size_t n)
{
	if (rs->exhausted)
		return false;
	if (n > rs->budget) {
		rs->exhausted = true;
		rs->stop = at;
		return false;
	}
	rs->budget -= n;
	return true;
}

/* context.c: the detectors that read what surrounds a value. */
size_t rdx_match_assign(const struct rd_catalog *c, const char *s, size_t n, size_t i,
			struct rdx_ranges *rs);
size_t rdx_match_header(const struct rd_catalog *c, const char *s, size_t n, size_t i,
			struct rdx_ranges *rs);
size_t rdx_match_cli(const struct rd_catalog *c, const char *s, size_t n, size_t i,
		     struct rdx_ranges *rs);
bool rdx_is_program(const struct rd_catalog *c, const char *w, size_t n);
bool rdx_is_header(const struct rd_catalog *c, const char *w, size_t n);

/* Byte classes shared by the detectors. */
static inline bool rdx_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static inline bool rdx_word_byte(unsigned char c)
{
	return rdx_alnum(c) || c == '_';
}

static inline unsigned char rdx_lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

bool rdx_ieq(const char *a, size_t n, const char *b); /* a (n bytes) == b, ASCII case-folded */
bool rdx_starts_redacted(const char *s, size_t n);
bool rdx_placeholder(const char *v, size_t n); /* context.c: "password", "xxxx", "<...>" */

#endif /* VIGIL_REDACT_INT_H */
