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

enum { OPT_JSON = 256, OPT_STATE, OPT_LIMIT, OPT_QUIET };

/* ---- vigil reindex -------------------------------------------------------------- */

static const char reindex_usage[] =
	"usage: vigil reindex [OPTIONS]\n"
	"\n"
	"Rebuilds the index (STATE/index.db) from the ledger (STATE/ledger): every event\n"
	"record, with tool calls paired, sessions, subagents and full-text search.  The\n"
	"new index is built in a temporary file and renamed over the old one when\n"
	"complete.  The daemon must be stopped ('vigil down'); reindex refuses to run\n"
	"while it runs.  Prints the counts; progress goes to stderr on a terminal.\n"
	"\n"
	"Options:\n"
	"  --json              print the counts as JSON\n"
	"  --quiet             print nothing but errors\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 rebuilt; 1 the ledger is damaged (the index holds everything\n"
	"before the damage; run 'vigil verify'); 2 usage error; 3 could not rebuild\n"
	"(no ledger, the daemon runs, I/O error).\n";

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

int cmd_reindex(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "quiet", no_argument, NULL, OPT_QUIET },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char ledger[4200], path[4200], tmp[4300], err[512] = "", pid_text[64] = "";
	struct reindex_progress prog = { 0 };
	struct idx *ix = NULL;
	struct idx_counts n = { 0 };
	bool json = false, quiet = false, damaged = false;
	uint64_t t0 = vg_mono_ns();
	int o, rc, lock_fd = -1, status = CLI_OK;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(reindex_usage, stdout);
			return CLI_OK;
		case OPT_JSON:
			json = true;
			break;
		case OPT_QUIET:
			quiet = true;
			break;
		case OPT_STATE:
			if (cli_set_state_dir(c, optarg) < 0)
				return CLI_USAGE;
			break;
		default:
			return cli_usage_error("reindex", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("reindex", "unexpected argument '%s'", argv[optind]);
	if (cli_state(c) < 0)
		return CLI_ERROR;
	if (cli_state_path(c, ledger, sizeof(ledger), "ledger") < 0 ||
	    cli_state_path(c, path, sizeof(path), CLIQ_INDEX_FILE) < 0 ||
	    vg_path(tmp, sizeof(tmp), "%s.reindex-%ld", path, (long)getpid()) < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	if (access(ledger, F_OK) < 0) {
		cli_error("no ledger at '%s': nothing to index", ledger);
		return CLI_ERROR;
	}
	lock_fd = lock_out_daemon(c, pid_text, sizeof(pid_text));
	if (lock_fd == -EBUSY) {
		cli_error("vigild is running%s%s%s: stop it first ('vigil down'), then reindex; "
			  "the daemon keeps the index open for writing",
			  *pid_text ? " (pid " : "", pid_text, *pid_text ? ")" : "");
		return CLI_ERROR;
	}
	if (lock_fd < -1) {
		cli_error("cannot check for a running daemon: %s", strerror(-lock_fd));
		return CLI_ERROR;
	}
	prog.show = c->progress && !json && !quiet;
	remove_db_files(tmp);
	rc = idx_open(tmp, IDX_CREATE, &ix, err, sizeof(err));
	if (rc == 0)
		rc = idx_sync_ledger(ix, ledger, reindex_progress, &prog, err, sizeof(err));
	if (prog.show)
		fputc('\n', stderr);
	if (rc < 0 && ix && rc != -ENOMEM && rc != -EIO && rc != -ENOSPC && rc != -EBUSY &&
	    rc != -EPERM) {
		/* Damage in the ledger: what came before it is indexed and kept. */
		damaged = true;
		fprintf(stderr, "vigil reindex: the ledger is damaged: %s; the index holds the "
				"events before it (run 'vigil verify')\n",
			err);
		rc = 0;
	}
	if (rc == 0)
		rc = idx_counts(ix, &n);
	idx_close(ix); /* the last connection: checkpoints and removes the WAL */
	ix = NULL;
	if (rc < 0) {
		cli_error("reindex failed: %s", *err ? err : strerror(-rc));
		remove_db_files(tmp);
		status = CLI_ERROR;
		goto out;
	}
	/* The old index's WAL must not be applied to the new file. */
	remove_db_files(path);
	if (rename(tmp, path) < 0) {
		cli_error("cannot move the new index to '%s': %s", path, strerror(errno));
		remove_db_files(tmp);
		status = CLI_ERROR;
		goto out;
	}
	vg_fsync_dir(c->state_dir);
	if (damaged)
		status = CLI_FAIL;
	if (json) {
		json_t *j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:s, s:s, s:f, s:b}", "events",
				      (json_int_t)n.events, "sessions", (json_int_t)n.sessions,
				      "tool_calls", (json_int_t)n.tool_calls, "subagents",
				      (json_int_t)n.agents, "invalid", (json_int_t)n.invalid,
				      "last_seq", (json_int_t)n.last_seq, "index", path, "ledger",
				      ledger, "seconds", (double)(vg_mono_ns() - t0) / 1e9,
				      "ledger_damaged", damaged);

		cliq_print_json_line(j);
		json_decref(j);
	} else if (!quiet) {
		printf("Indexed %" PRIu64 " event%s (%" PRIu64 " session%s, %" PRIu64
		       " tool call%s, %" PRIu64 " subagent%s, %" PRIu64 " invalid) into %s in %.2fs\n",
		       n.events, n.events == 1 ? "" : "s", n.sessions, n.sessions == 1 ? "" : "s",
		       n.tool_calls, n.tool_calls == 1 ? "" : "s", n.agents,
		       n.agents == 1 ? "" : "s", n.invalid, path, (double)(vg_mono_ns() - t0) / 1e9);
	}
out:
	if (lock_fd >= 0)
		close(lock_fd);
	return status;
}

/* ---- vigil sql ------------------------------------------------------------------------ */

static const char sql_usage[] =
	"usage: vigil sql [OPTIONS] QUERY\n"
	"\n"
	"Runs one read-only SQL statement (SQLite) on the index and prints the rows as\n"
	"a table.  Statements that would write, attach a database, set a pragma or load\n"
	"an extension are refused.  A query is stopped after 30 seconds.  The tables\n"
	"(events, tool_calls, sessions, agents, file_changes, events_fts) are described\n"
	"in docs/index.md.  Table cells are cut at 60 characters; --json is not cut.\n"
	"\n"
	"Example:\n"
	"  vigil sql \"SELECT tool, count(*) FROM events GROUP BY tool ORDER BY 2 DESC\"\n"
	"\n"
	"Options:\n"
	"  --limit N           print at most N rows (default 1000, at most 1000000)\n"
	"  --json              one JSON object per row and line, keyed by column name\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 ran; 1 refused (the statement would write); 2 usage error or\n"
	"invalid SQL; 3 no index or it cannot be read.\n";

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

int cmd_sql(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, OPT_JSON },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "state-dir", required_argument, NULL, OPT_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sql_out out = { .c = c };
	struct vbuf q;
	struct idx *ix = NULL;
	uint64_t limit = SQL_DEFAULT_LIMIT;
	bool truncated = false;
	char err[1024] = "", *end;
	int o, rc, status = CLI_OK;
	int *numeric = NULL;

	optind = 0;
	/* "+": the query may start with a word like "-" in a comment; options
	 * come first. */
	while ((o = getopt_long(argc, argv, "+h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(sql_usage, stdout);
			return CLI_OK;
		case OPT_JSON:
			out.json = true;
			break;
		case OPT_LIMIT:
			errno = 0;
			limit = strtoull(optarg, &end, 10);
			if (!*optarg || *optarg == '-' || *end || errno || limit == 0 ||
			    limit > SQL_MAX_LIMIT)
				return cli_usage_error("sql", "--limit: '%s' is not a number from 1 to "
							      "%llu",
						       optarg, SQL_MAX_LIMIT);
			break;
		case OPT_STATE:
			if (cli_set_state_dir(c, optarg) < 0)
				return CLI_USAGE;
			break;
		default:
			return cli_usage_error("sql", "unknown option");
		}
	}
	if (optind >= argc)
		return cli_usage_error("sql", "give a query, e.g. vigil sql \"SELECT count(*) FROM "
					      "events\"");
	/* The words of the query, joined: `vigil sql SELECT 1` works too.  A
	 * --json or --limit after the query is an option, not SQL (where "--"
	 * would silently start a comment). */
	vbuf_init(&q, SQL_MAX_QUERY);
	for (int i = optind, words = 0; i < argc; i++) {
		const char *lim = NULL;

		if (!strcmp(argv[i], "--json")) {
			out.json = true;
			continue;
		}
		if (!strcmp(argv[i], "--limit") && i + 1 < argc)
			lim = argv[++i];
		else if (!strncmp(argv[i], "--limit=", 8))
			lim = argv[i] + 8;
		if (lim) {
			errno = 0;
			limit = strtoull(lim, &end, 10);
			if (!*lim || *lim == '-' || *end || errno || limit == 0 ||
			    limit > SQL_MAX_LIMIT) {
				vbuf_release(&q);
				return cli_usage_error("sql", "--limit: '%s' is not a number from 1 "
							      "to %llu",
						       lim, SQL_MAX_LIMIT);
			}
			continue;
		}
		if ((words++ && vbuf_append(&q, " ", 1) < 0) ||
		    vbuf_append(&q, argv[i], strlen(argv[i])) < 0) {
			vbuf_release(&q);
			return cli_usage_error("sql", "the query is longer than %u bytes",
					       SQL_MAX_QUERY);
		}
	}
	if (!q.len) {
		vbuf_release(&q);
		return cli_usage_error("sql", "give a query, e.g. vigil sql \"SELECT count(*) FROM "
					      "events\"");
	}
	rc = cliq_open(c, &ix);
	if (rc) {
		vbuf_release(&q);
		return rc;
	}
	out.rows = json_array();
	signal(SIGPIPE, SIG_IGN);
	rc = idx_sql(ix, (const char *)q.data, limit, sql_row, &out, &truncated, err, sizeof(err));
	if (out.out_err) {
		status = CLI_OK; /* stdout closed early (| head) */
		goto out;
	}
	if (rc == -EPERM) {
		cli_error("%s", err);
		status = CLI_FAIL;
		goto out;
	}
	if (rc == -EINVAL) {
		cli_error("sql: %s", err);
		status = CLI_USAGE;
		goto out;
	}
	if (rc < 0) {
		cli_error("sql: %s", *err ? err : strerror(-rc));
		status = CLI_ERROR;
		goto out;
	}
	if (!out.json && out.names) {
		/* Numbers right-aligned: a column whose values are all numbers. */
		numeric = vg_calloc((size_t)out.ncols + 1, sizeof(*numeric));
		for (int k = 0; numeric && k < out.ncols; k++) {
			size_t i;
			json_t *r;

			numeric[k] = json_array_size(out.rows) > 0;
			json_array_foreach(out.rows, i, r) {
				const char *s = json_string_value(json_array_get(r, (size_t)k));

				if (s && (strtod(s, &end), *end || end == s))
					numeric[k] = 0;
			}
		}
		if (numeric)
			sql_print_table(&out, numeric);
	}
	if (!out.json)
		printf("(%" PRIu64 " row%s)\n", out.count, out.count == 1 ? "" : "s");
	if (truncated)
		fprintf(stderr, "vigil sql: stopped after %" PRIu64 " rows (--limit)\n", limit);
	if (fflush(stdout) == EOF && errno != EPIPE) {
		cli_error("cannot write the output: %s", strerror(errno));
		status = CLI_ERROR;
	}
out:
	for (int i = 0; out.names && i < out.ncols; i++)
		vg_free(out.names[i]);
	vg_free(out.names);
	vg_free(out.width);
	vg_free(numeric);
	json_decref(out.rows);
	idx_close(ix);
	vbuf_release(&q);
	return status;
}
