/*
 * short_ids.h - short, unique ids to show and to accept for alerts and
 * sessions (short_ids.c).  Internal to src/cli/.
 */
#ifndef VIGIL_CLI_SHORT_IDS_H
#define VIGIL_CLI_SHORT_IDS_H

#include "query.h"

#define CLI_SHORT_ID_MIN 8 /* characters of a short id, at the least */

/* The ids known to the index, reversed and sorted.  Owned by the struct. */
struct cli_short_ids {
	char **rev;
	size_t n;
};

/*
 * Loads the ids the one-column query sql returns (e.g. "SELECT alert_id
 * FROM alerts").  0, -E2BIG past a million ids, -ENOMEM, or idx_sql's
 * error.  On error s is empty (and may be released).
 */
int cli_short_ids_load(struct cli_short_ids *s, struct idx *ix, const char *sql);
void cli_short_ids_release(struct cli_short_ids *s);

/* The length of id's short id: its shortest suffix of at least
 * CLI_SHORT_ID_MIN characters that no other known id ends with (the whole id
 * when it is that short, or when no suffix is unique). */
size_t cli_short_id_len(const struct cli_short_ids *s, const char *id);
/* id's short id: a pointer into id. */
const char *cli_short_id(const struct cli_short_ids *s, const char *id);

/*
 * The full id that arg names: a whole id, the end of exactly one id (its
 * short id, or more of it), or, when no id ends so, the start of exactly
 * one (a unique prefix).
 * 0 with out set; -ENOENT when none matches; -ENOTUNIQ when several do
 * (printed, with up to 8 of them, `what` naming the kind: "alert");
 * -ENAMETOOLONG, -ENOMEM.
 */
int cli_short_id_resolve(const struct cli_short_ids *s, const char *arg, const char *what,
			 char *out, size_t cap);

/* The query of every session id, for cli_short_ids_load. */
#define CLI_SESSION_IDS_SQL "SELECT session_id FROM sessions"

/*
 * A --session filter value: kept as it is when some session id starts with
 * it (a prefix, as before); replaced by the full id (copied to buf) when it
 * is the end of exactly one session id (its short id).  0, -ENOTUNIQ
 * (printed), or the error of loading the ids.
 */
int cli_session_filter(struct idx *ix, const char **session, char *buf, size_t cap);

#endif
