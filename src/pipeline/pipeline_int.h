/*
 * pipeline_int.h - internal interfaces between the pipeline's files.
 */
#ifndef VIGIL_PIPELINE_INT_H
#define VIGIL_PIPELINE_INT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* The context (normalize.c; immutable after norm_ctx_new). */
struct norm_ctx {
	size_t max_string;
	size_t max_input;
	char *host;
	char *user;
	char *home; /* the user's home directory; NULL: unknown */
	struct rd_catalog *rd; /* the secret catalogue (src/redact) */
};

/*
 * parse.c: the payload object json_loadb(JSON_REJECT_DUPLICATES |
 * JSON_ALLOW_NUL) would return for s (n bytes), built faster; or NULL when
 * this parser gives up (bad or unusual input, no memory), and then jansson
 * must be asked.  tmp is scratch space for unescaping (reset, reused).
 */
json_t *norm_parse_fast(const char *s, size_t n, struct vbuf *tmp);

/*
 * shape.c: 0 when every field of the payload object in that the event is
 * derived from has its type and no NUL where one would cut it; else -EINVAL
 * and a one-line reason in err ("tool_input.command is an array, not a
 * string").
 */
int norm_check_shape(const json_t *in, char *err, size_t errcap);

/* Is the normalized absolute path p the normalized root r or under it? */
bool norm_under(const char *r, const char *p);

/* ---- file_change (filechange.c) -------------------------------------------- */

/* Edits replay into at most this many bytes; past it the "after" is unknown. */
#define FC_MAX_RESULT (16u * 1024u * 1024u)
/* Total bytes a MultiEdit replay may scan, over all its edits. */
#define FC_MAX_WORK (64u * 1024u * 1024u)

struct fc_result {
	bool created;	   /* the tool made the file */
	bool before_known; /* before holds the hash of the old contents */
	bool after_known;  /* after holds the hash of the new contents */
	bool lines_known;  /* added / removed are meaningful */
	char before[65], after[65];
	uint64_t added, removed;
};

/*
 * Computes the file change of a PostToolUse of Write, Edit or MultiEdit from
 * the untouched payload in.  Returns 1 when r was filled, 0 when the event
 * has none (another tool or hook), -ENOMEM or -EIO.
 */
int fc_compute(const json_t *in, const char *hook, const char *tool, struct fc_result *r);

/* ---- baseline risk (risk.c) -------------------------------------------------- */

#define RISK_MAX_REASONS 16

struct risk_input {
	const char *hook, *event_type, *tool;
	const char *root, *cwd; /* normalized project root, the payload's cwd; may be NULL */
	const char *path;	/* a file tool's path as given (unredacted) */
	const char *command;	/* a Bash command (unredacted) */
	int outside;		/* outside_project_scope: 1, 0, or -1 unknown */
	int secrets;		/* redactions made in the target (command, prompt, url) */
};

struct risk_result {
	const char *level; /* "info", "low", "medium", "high", "critical" */
	int score;	   /* 0-100 */
	const char *reasons[RISK_MAX_REASONS]; /* static strings, in table order */
	size_t n;
};

/* Deterministic: the same input gives the same result. */
void risk_assess(const struct risk_input *in, struct risk_result *out);

#endif
