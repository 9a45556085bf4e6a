/*
 * idx_int.h - internals shared by the index's source files: the connection
 * struct with its cached prepared statements, and small SQLite helpers.
 */
#ifndef VIGIL_IDX_INT_H
#define VIGIL_IDX_INT_H

#include "common.h"
#include "idx.h"

#include <sqlite3.h>

/* Prepared statements of the ingest path, prepared on first use and kept
 * for the life of the connection (idx_add runs them for every event). */
enum idx_stmt {
	ST_HAS_SEQ,
	ST_INS_EVENT,
	ST_INS_FTS,
	ST_SESSION_UPSERT,
	ST_TC_GET,
	ST_TC_INS,
	ST_TC_UPD,
	ST_AGENT_UPSERT,
	ST_AGENT_GET,
	ST_AGENT_PARENT,
	ST_AGENT_GUESS,
	ST_AGENT_END,
	ST_FILE_CHANGE,
	ST_LAST_SEQ,
	ST_HAS_ID,
	ST__COUNT
};

struct idx {
	sqlite3 *db;
	bool rdonly;
	bool in_tx; /* inside idx_begin .. idx_commit */
	sqlite3_stmt *st[ST__COUNT];
	char path[4096];
};

/* Limits on what one event may put into the index. */
#define IDX_MAX_FTS_TEXT (32u * 1024) /* payload text fed to full-text search */
#define IDX_MAX_RAW_KEPT (64u * 1024) /* bytes of an unparsable payload kept */

/* Writes "what: sqlite message" into err and maps the SQLite code to -errno. */
int idx_sqlerr(struct idx *ix, int rc, const char *what, char *err, size_t errcap);
/* Maps an SQLite result code to a negative errno. */
int idx_errno(int rc);
/* The cached statement, prepared on first use (reset, bindings cleared). */
sqlite3_stmt *idx_stmt(struct idx *ix, enum idx_stmt which, char *err, size_t errcap);
/* Runs SQL without results (schema, pragmas, transactions). */
int idx_exec(struct idx *ix, const char *sql, char *err, size_t errcap);

/* Binds a possibly-NULL string; binding NULL when s is NULL. */
int idx_bind_text(sqlite3_stmt *st, int i, const char *s);
/* Column text or NULL. */
const char *idx_col_text(sqlite3_stmt *st, int i);
/* Column integer, or dflt when NULL. */
int64_t idx_col_int(sqlite3_stmt *st, int i, int64_t dflt);

/* Wraps a --text phrase into a safe FTS5 query of quoted terms (all must
 * match).  -EINVAL when no word is left. */
int idx_fts_query(const char *words, struct vbuf *out);

#endif /* VIGIL_IDX_INT_H */
