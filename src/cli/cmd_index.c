/*
 * cmd_index.c - `vigil reindex` (rebuild STATE/index.db from the ledger) and
 * `vigil sql` (read-only ad-hoc SQL over the index).
 *
 * reindex builds the new index in a temporary file beside the old one and
 * renames it over, so readers see the old index or the new one, never half
 * of one.  It refuses to run while vigild runs: the daemon keeps its index
 * open for writing, and a file renamed under it would stop receiving events.
 * vigild holds an flock on STATE/vigild.pid while it runs; reindex takes the
 * same lock for its whole run, so a daemon cannot start in the middle.
 */
#include "options.h"
#include "query.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sqlite3.h>
#include <sys/file.h>
#include <unistd.h>

#define SQL_DEFAULT_LIMIT 1000
#define SQL_MAX_LIMIT 1000000ull
#define SQL_MAX_QUERY (64u * 1024)
#define SQL_CELL_WIDTH 60 /* characters of a value shown in a table cell */

/* ---- vigil reindex -------------------------------------------------------------- */

static const struct cli_option reindex_options[] = {
	CLI_OPT_JSON("print the counts as JSON"),
	CLI_OPT_QUIET,
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd reindex_cmd = {
	.name = "reindex",
	.usage = "usage: vigil reindex [OPTIONS]\n"
		 "\n"
		 "Rebuilds the index (STATE/index.db) from the ledger (STATE/ledger): every event\n"
		 "record, with tool calls paired, sessions, subagents and full-text search.  The\n"
		 "new index is built in a temporary file and renamed over the old one when\n"
		 "complete.  The daemon must be stopped ('vigil down'); reindex refuses to run\n"
		 "while it runs.  Prints the counts; progress goes to stderr on a terminal.\n",
	.options = reindex_options,
	.footer = "Exit status: 0 rebuilt; 1 the ledger is damaged (the index holds everything\n"
		  "before the damage; run 'vigil verify'); 2 usage error; 3 could not rebuild\n"
		  "(no ledger, the daemon runs, I/O error).\n",
	.max_args = 0,
};

struct reindex_progress {
	bool show;
};

static void reindex_progress(void *arg, uint64_t records)
{
	struct reindex_progress *p = arg;

	if (p->show)
		fprintf(stderr, "\rindexing: %" PRIu64 " events", records);
}

/*
 * Takes the daemon's lock so no vigild runs (or starts) while we rebuild.
 * Returns the fd holding the lock (or -1 when there is no pid file, i.e. no
 * daemon ever ran here), or -EBUSY when a daemon holds it.
 */
static int lock_out_daemon(struct cli *c, char *pid_text, size_t cap)
{
	char path[4200];
	ssize_t n;
	int fd;

	if (cli_state_path(c, path, sizeof(path), "vigild.pid") < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return errno == ENOENT ? -1 : -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) == 0)
		return fd;
	n = read(fd, pid_text, cap - 1);
	pid_text[n > 0 ? n : 0] = 0;
	pid_text[strcspn(pid_text, "\n")] = 0;
	close(fd);
	return -EBUSY;
}

static void remove_db_files(const char *path)
{
	char p[4300];

	unlink(path);
	if (vg_path(p, sizeof(p), "%s-wal", path) == 0)
		unlink(p);
	if (vg_path(p, sizeof(p), "%s-shm", path) == 0)
		unlink(p);
	if (vg_path(p, sizeof(p), "%s-journal", path) == 0)
		unlink(p);
}

/* The paths reindex works with. */
struct reindex {
	struct cli *c;
	char ledger[4200], path[4200], tmp[4300];
	struct idx_counts n;
	bool damaged;
	uint64_t t0;
};

static int reindex_paths(struct reindex *r)
{
	if (cli_state(r->c) < 0)
		return CLI_ERROR;
	if (cli_state_path(r->c, r->ledger, sizeof(r->ledger), "ledger") < 0 ||
	    cli_state_path(r->c, r->path, sizeof(r->path), CLIQ_INDEX_FILE) < 0 ||
	    vg_path(r->tmp, sizeof(r->tmp), "%s.reindex-%ld", r->path, (long)getpid()) < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	if (access(r->ledger, F_OK) < 0) {
		cli_error("no ledger at '%s': nothing to index", r->ledger);
		return CLI_ERROR;
	}
	return 0;
}

/* 0 with *fd holding the daemon's lock (-1: no daemon ever ran here), or
 * CLI_ERROR (printed). */
static int reindex_lock(struct reindex *r, int *fd)
{
	char pid_text[64] = "";

	*fd = lock_out_daemon(r->c, pid_text, sizeof(pid_text));
	if (*fd == -EBUSY) {
		cli_error("vigild is running%s%s%s: stop it first ('vigil down'), then reindex; "
			  "the daemon keeps the index open for writing",
			  *pid_text ? " (pid " : "", pid_text, *pid_text ? ")" : "");
		return CLI_ERROR;
	}
	if (*fd < -1) {
		cli_error("cannot check for a running daemon: %s", strerror(-*fd));
		return CLI_ERROR;
	}
	return 0;
}

/* Builds the new index in r->tmp; 0 or -errno (with err). */
static int reindex_build(struct reindex *r, char *err, size_t cap)
{
	struct reindex_progress prog = { .show = r->c->progress && !r->c->json && !r->c->quiet };
	struct idx *ix = NULL;
	int rc;

	remove_db_files(r->tmp);
	rc = idx_open(r->tmp, IDX_CREATE, &ix, err, cap);
	if (rc == 0)
		rc = idx_sync_ledger(ix, r->ledger, reindex_progress, &prog, err, cap);
	if (prog.show)
		fputc('\n', stderr);
	if (rc < 0 && ix && rc != -ENOMEM && rc != -EIO && rc != -ENOSPC && rc != -EBUSY &&
	    rc != -EPERM) {
		/* Damage in the ledger: what came before it is indexed and kept. */
		r->damaged = true;
		fprintf(stderr, "vigil reindex: the ledger is damaged: %s; the index holds the "
				"events before it (run 'vigil verify')\n",
			err);
		rc = 0;
	}
	if (rc == 0)
		rc = idx_counts(ix, &r->n);
	idx_close(ix); /* the last connection: checkpoints and removes the WAL */
	return rc;
}

static void reindex_report(const struct reindex *r)
{
	const struct idx_counts *n = &r->n;
	double secs = (double)(vg_mono_ns() - r->t0) / 1e9;

	if (r->c->json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:f, s:b}", "events",
				      (json_int_t)n->events, "sessions", (json_int_t)n->sessions,
				      "tool_calls", (json_int_t)n->tool_calls, "subagents",
				      (json_int_t)n->agents, "invalid", (json_int_t)n->invalid,
				      "last_seq", (json_int_t)n->last_seq, "index", r->path, "ledger",
				      r->ledger, "seconds", secs, "ledger_damaged", r->damaged);

		cliq_print_json_line(j);
		json_decref(j);
	} else if (!r->c->quiet) {
		printf("Indexed %" PRIu64 " event%s (%" PRIu64 " session%s, %" PRIu64
		       " tool call%s, %" PRIu64 " subagent%s, %" PRIu64 " invalid) into %s in %.2fs\n",
		       n->events, n->events == 1 ? "" : "s", n->sessions, n->sessions == 1 ? "" : "s",
		       n->tool_calls, n->tool_calls == 1 ? "" : "s", n->agents,
		       n->agents == 1 ? "" : "s", n->invalid, r->path, secs);
	}
}

int cmd_reindex(struct cli *c, int argc, char **argv)
{
	struct reindex r = { .c = c, .t0 = vg_mono_ns() };
	char err[512] = "";
	int rc, lock_fd = -1, status = CLI_OK;

	if ((rc = cli_parse(c, &reindex_cmd, NULL, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if ((rc = reindex_paths(&r)) != 0 || (rc = reindex_lock(&r, &lock_fd)) != 0)
		return rc;
	rc = reindex_build(&r, err, sizeof(err));
	if (rc < 0) {
		cli_error("reindex failed: %s", *err ? err : strerror(-rc));
		remove_db_files(r.tmp);
		status = CLI_ERROR;
		goto out;
	}
	/* The old index's WAL must not be applied to the new file. */
	remove_db_files(r.path);
	if (rename(r.tmp, r.path) < 0) {
		cli_error("cannot move the new index to '%s': %s", r.path, strerror(errno));
		remove_db_files(r.tmp);
		status = CLI_ERROR;
		goto out;
	}
	base_fsync_dir(c->state_dir);
	reindex_report(&r);
	if (r.damaged)
		status = CLI_FAIL;
out:
	if (lock_fd >= 0)
		close(lock_fd);
	return status;
}

/* ---- vigil sql ------------------------------------------------------------------------ */

struct sql_opts {
	uint64_t limit;
};

static const struct cli_option sql_options[] = {
	CLI_UINT("limit", 0, struct sql_opts, limit, 1, SQL_MAX_LIMIT, "N",
		 "print at most N rows (default 1000, at most 1000000)"),
	CLI_OPT_JSON("one JSON object per row and line, keyed by column name"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd sql_cmd = {
	.name = "sql",
	.usage = "usage: vigil sql [OPTIONS] QUERY\n"
		 "\n"
		 "Runs one read-only SQL statement (SQLite) on the index and prints the rows as\n"
		 "a table.  Statements that would write, attach a database, set a pragma or load\n"
		 "an extension are refused.  A query is stopped after 30 seconds.  The tables\n"
		 "(events, tool_calls, sessions, agents, file_changes, events_fts) are described\n"
		 "in docs/index.md.  Table cells are cut at 60 characters; --json is not cut.\n"
		 "\n"
		 "Example:\n"
		 "  vigil sql \"SELECT tool, count(*) FROM events GROUP BY tool ORDER BY 2 DESC\"\n",
	.options = sql_options,
	.footer = "Exit status: 0 ran; 1 refused (the statement would write); 2 usage error or\n"
		  "invalid SQL; 3 no index or it cannot be read.\n",
	/* The query may start with a word like "-" in a comment: options come
	 * first. */
	.flags = CLI_CMD_OPERANDS_END,
	.max_args = -1,
};

struct sql_out {
	const struct cli *c;
	bool json;
	int ncols;
	char **names;  /* column names, owned */
	size_t *width; /* display widths */
	json_t *rows;  /* table mode: buffered rows (arrays of strings or null) */
	uint64_t count;
	int out_err;
};

static size_t display_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		n += ((unsigned char)*s & 0xc0) != 0x80;
	return n;
}

static int sql_row(void *arg, const struct idx_sql_row *row)
{
	struct sql_out *o = arg;
	json_t *r;

	if (!o->names) {
		o->ncols = row->n;
		o->names = vg_calloc((size_t)row->n + 1, sizeof(*o->names));
		o->width = vg_calloc((size_t)row->n + 1, sizeof(*o->width));
		if (!o->names || !o->width)
			return -ENOMEM;
		for (int i = 0; i < row->n; i++) {
			o->names[i] = vg_strdup(row->names[i] ? row->names[i] : "?");
			if (!o->names[i])
				return -ENOMEM;
			o->width[i] = display_len(o->names[i]);
		}
	}
	o->count++;
	if (o->json) {
		int rc;

		r = json_object();
		for (int i = 0; r && i < row->n; i++) {
			json_t *v;

			if (!row->values[i])
				v = json_null();
			else if (row->types[i] == SQLITE_INTEGER)
				v = json_integer((json_int_t)strtoll(row->values[i], NULL, 10));
			else if (row->types[i] == SQLITE_FLOAT)
				v = json_real(strtod(row->values[i], NULL));
			else
				v = json_stringn(row->values[i], row->lens[i]);
			/* Text that is not UTF-8 cannot be a JSON string: say so. */
			json_object_set_new(r, o->names[i],
					    v ? v : json_string("(not UTF-8 text)"));
		}
		rc = cliq_print_json_line(r);
		json_decref(r);
		return rc < 0 ? (o->out_err = rc) : 0;
	}
	r = json_array();
	for (int i = 0; r && i < row->n; i++) {
		char cell[SQL_CELL_WIDTH * 4 + 8];
		json_t *v;

		if (!row->values[i]) {
			json_array_append_new(r, json_null());
			if (o->width[i] < 4)
				o->width[i] = 4; /* "NULL" */
			continue;
		}
		cliq_clean(row->values[i], SQL_CELL_WIDTH, cell, sizeof(cell));
		if (display_len(cell) > o->width[i])
			o->width[i] = display_len(cell);
		v = json_string(cell);
		json_array_append_new(r, v ? v : json_string("(not UTF-8 text)"));
	}
	return r && json_array_append_new(o->rows, r) == 0 ? 0 : -ENOMEM;
}

static void pad(const char *s, size_t width, bool right)
{
	size_t n = display_len(s);

	if (right)
		for (size_t i = n; i < width; i++)
			fputc(' ', stdout);
	fputs(s, stdout);
	if (!right)
		for (size_t i = n; i < width; i++)
			fputc(' ', stdout);
}

static void sql_print_table(struct sql_out *o, const int *numeric)
{
	size_t i;
	json_t *r;

	printf("%s", cli_c(o->c, CLI_BOLD));
	for (int k = 0; k < o->ncols; k++) {
		pad(o->names[k], k == o->ncols - 1 ? 0 : o->width[k], false);
		if (k < o->ncols - 1)
			fputs("  ", stdout);
	}
	printf("%s\n", cli_c(o->c, CLI_RESET));
	json_array_foreach(o->rows, i, r) {
		for (int k = 0; k < o->ncols; k++) {
			json_t *v = json_array_get(r, (size_t)k);
			const char *s = json_is_null(v) ? "NULL" : json_string_value(v);
			bool last = k == o->ncols - 1;

			pad(s ? s : "", last && !numeric[k] ? 0 : o->width[k], numeric[k]);
			if (!last)
				fputs("  ", stdout);
		}
		fputc('\n', stdout);
	}
}

/*
 * The words of the query, joined: `vigil sql SELECT 1` works too.  A --json
 * or --limit after the query is an option, not SQL (where "--" would
 * silently start a comment).  0, or the exit status of a usage error.
 */
static int sql_query_words(struct cli *c, struct sql_opts *o, int argc, char **argv,
			   struct vbuf *q)
{
	int rc;

	for (int i = 0, words = 0; i < argc; i++) {
		const char *lim = NULL;

		if (!strcmp(argv[i], "--json")) {
			c->json = true;
			continue;
		}
		if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			lim = argv[++i];
		else if (!strncmp(argv[i], "--limit=", 8))
			lim = argv[i] + 8;
		if (lim) {
			if ((rc = cli_apply_option(c, &sql_cmd, o, "limit", lim)) != 0)
				return rc;
			continue;
		}
		if ((words++ && vbuf_append(q, " ", 1) < 0) ||
		    vbuf_append(q, argv[i], strlen(argv[i])) < 0)
			return cli_usage_error("sql", "the query is longer than %u bytes",
					       SQL_MAX_QUERY);
	}
	if (!q->len)
		return cli_usage_error("sql", "give a query, e.g. vigil sql \"SELECT count(*) FROM "
					      "events\"");
	return 0;
}

/* The exit status after idx_sql returned rc. */
static int sql_status(int rc, const struct sql_out *out, const char *err)
{
	if (out->out_err)
		return CLI_OK; /* stdout closed early (| head) */
	if (rc == -EPERM) {
		cli_error("%s", err);
		return CLI_FAIL;
	}
	if (rc == -EINVAL) {
		cli_error("sql: %s", err);
		return CLI_USAGE;
	}
	if (rc < 0) {
		cli_error("sql: %s", *err ? err : strerror(-rc));
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* Prints the buffered rows as a table, numbers right-aligned: a column
 * whose values are all numbers.  -ENOMEM when it cannot. */
static int sql_table(struct sql_out *out)
{
	int *numeric = vg_calloc((size_t)out->ncols + 1, sizeof(*numeric));
	char *end;

	if (!numeric)
		return -ENOMEM;
	for (int k = 0; k < out->ncols; k++) {
		size_t i;
		json_t *r;

		numeric[k] = json_array_size(out->rows) > 0;
		json_array_foreach(out->rows, i, r) {
			const char *s = json_string_value(json_array_get(r, (size_t)k));

			if (s && (strtod(s, &end), *end || end == s))
				numeric[k] = 0;
		}
	}
	sql_print_table(out, numeric);
	vg_free(numeric);
	return 0;
}

static void sql_out_release(struct sql_out *out)
{
	for (int i = 0; out->names && i < out->ncols; i++)
		vg_free(out->names[i]);
	vg_free(out->names);
	vg_free(out->width);
	json_decref(out->rows);
}

int cmd_sql(struct cli *c, int argc, char **argv)
{
	struct sql_opts o = { .limit = SQL_DEFAULT_LIMIT };
	struct sql_out out = { .c = c };
	struct vbuf q;
	struct idx *ix = NULL;
	bool truncated = false;
	char err[1024] = "";
	int rc, status;

	if ((rc = cli_parse(c, &sql_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	vbuf_init(&q, SQL_MAX_QUERY);
	status = sql_query_words(c, &o, argc, argv, &q);
	if (status == 0)
		status = cliq_open(c, &ix);
	if (status)
		goto out;
	out.json = c->json;
	out.rows = json_array();
	signal(SIGPIPE, SIG_IGN);
	rc = idx_sql(ix, (const char *)q.data, o.limit, sql_row, &out, &truncated, err,
		     sizeof(err));
	status = sql_status(rc, &out, err);
	if (status != CLI_OK || out.out_err)
		goto out;
	if (!out.json && out.names && sql_table(&out) < 0)
		cli_error("out of memory");
	if (!out.json)
		printf("(%" PRIu64 " row%s)\n", out.count, out.count == 1 ? "" : "s");
	if (truncated)
		fprintf(stderr, "vigil sql: stopped after %" PRIu64 " rows (--limit)\n", o.limit);
	if (fflush(stdout) == EOF && errno != EPIPE) {
		cli_error("cannot write the output: %s", strerror(errno));
		status = CLI_ERROR;
	}
out:
	sql_out_release(&out);
	idx_close(ix);
	vbuf_release(&q);
	return status;
}
