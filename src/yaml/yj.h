/*
 * yj.h - YAML text to jansson values, with line numbers.
 *
 * yj_parse() reads a YAML stream (every document of it) with libyaml's event
 * API and builds one jansson value per document.  Next to the values it keeps
 * a location side table so that error messages of the layers above (rules,
 * config) can say `file:line:column: reason` about any value they reject.
 *
 * Scalars are resolved with the YAML 1.2 core schema, which is what people
 * expect from a config file (no "Norway problem"):
 *   - plain true/True/TRUE, false/False/FALSE      -> boolean
 *   - plain null/Null/NULL/~ and the empty plain   -> null
 *   - plain decimal, 0o octal and 0x hex integers   -> integer (if it fits)
 *   - plain decimal floats, .inf, -.inf, .nan       -> real
 *   - everything else, and every quoted scalar      -> string
 * yes/no/on/off stay strings.  The explicit tags !!str, !!int, !!float,
 * !!bool and !!null are honoured; other tags are errors.  The original text
 * of every scalar stays available (yj_scalar_text, struct yj_loc.text): a
 * Sigma value such as 0777 is the integer 777 to jansson but "0777" to a rule
 * that compares strings.
 *
 * Refused (with a located error): aliases (they are how "billion laughs"
 * bombs expand; anchors alone are accepted and ignored), complex (non-scalar)
 * mapping keys, duplicate keys in one mapping, NUL characters in scalars, and
 * anything over the limits (input size, nesting depth, node count, scalar
 * length).
 *
 * Locations are 1-based lines and columns (libyaml's marks are 0-based).
 * Values of the same content may share one jansson singleton (true, false and
 * null always do): ask where such a value came from through its container
 * (yj_member, yj_element), never yj_where.
 *
 * Ownership: the yj_doc holds a reference to each document's root; yj_root
 * returns a borrowed reference (json_incref it to keep it beyond yj_free).
 * Location lookups need the doc alive and the tree unmodified where asked.
 * A yj_doc is immutable after yj_parse and may be read by several threads.
 */
#ifndef VIGIL_YJ_H
#define VIGIL_YJ_H

#include <jansson.h>
#include <stddef.h>

#define YJ_DEFAULT_MAX_INPUT (1024u * 1024u)
#define YJ_DEFAULT_MAX_DEPTH 64u
#define YJ_DEFAULT_MAX_NODES 250000u
#define YJ_DEFAULT_MAX_SCALAR (256u * 1024u)

/** Limits; a zero field means its default. */
struct yj_limits {
	size_t max_input;   /* bytes of YAML text; 1 MiB */
	unsigned max_depth; /* nesting of sequences and mappings; 64 */
	size_t max_nodes;   /* scalars + sequences + mappings, all documents; 250,000 */
	size_t max_scalar;  /* bytes of one scalar (keys included); 256 KiB */
};

struct yj_doc;

/** Where a value (and, for a mapping member, its key) was written. */
struct yj_loc {
	int line, col;		/* the value */
	int key_line, key_col;	/* the key (yj_member only; else 0) */
	const char *text;	/* a scalar's original text; NULL for collections */
};

/**
 * Parses len bytes of YAML (need not be NUL-terminated).  file names the
 * source in messages ("<string>" when NULL); lim may be NULL.  On success
 * *out is a new doc (free with yj_free).  Errors: -EINVAL (syntax, or one of
 * the refusals above), -E2BIG (a limit), -ENOMEM; err gets one line
 * "file:line:column: reason" (no newline).
 */
int yj_parse(const char *text, size_t len, const char *file, const struct yj_limits *lim,
	     struct yj_doc **out, char *err, size_t errcap);

/** Reads and parses a file (max_input bounds the read); errors as yj_parse
 * plus the file's own -errno with "file: reason". */
int yj_parse_file(const char *path, const struct yj_limits *lim, struct yj_doc **out,
		  char *err, size_t errcap);

void yj_free(struct yj_doc *doc);

/** The file name given to yj_parse. */
const char *yj_file(const struct yj_doc *doc);
/** Number of documents in the stream (0 for an empty stream). */
size_t yj_count(const struct yj_doc *doc);
/** The root of document i (borrowed), or NULL past the end. */
json_t *yj_root(const struct yj_doc *doc, size_t i);
/** Line and column where document i starts (its "---" or first content). */
int yj_doc_where(const struct yj_doc *doc, size_t i, int *line, int *col);

/**
 * Line and column of a value this doc produced: any object, array, string or
 * number.  -ENOENT for values it did not produce and for the shared
 * singletons true/false/null.
 */
int yj_where(const struct yj_doc *doc, const json_t *v, int *line, int *col);

/** Location of member key of object obj: value and key.  -ENOENT if unknown. */
int yj_member(const struct yj_doc *doc, const json_t *obj, const char *key,
	      struct yj_loc *out);

/** Location of element i of array arr.  -ENOENT if unknown. */
int yj_element(const struct yj_doc *doc, const json_t *arr, size_t i, struct yj_loc *out);

/** The original text of a string or number scalar, or NULL. */
const char *yj_scalar_text(const struct yj_doc *doc, const json_t *v);

#endif /* VIGIL_YJ_H */
