/*
 * cmd_query.c - the commands that list what the index holds: `vigil events`
 * (filtered listings), `vigil tail` (the last events, and with -f the new
 * ones as they are indexed) and `vigil sessions`; plus the helpers the other
 * index commands share (query.h).  They open STATE/index.db read-only, so
 * they run beside the daemon, which writes it.
 */
#include "query.h"
#include "short_ids.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define EVENTS_DEFAULT_LIMIT 100
#define TAIL_DEFAULT_LINES 10
#define SESSIONS_DEFAULT_LIMIT 50
#define CLIQ_MAX_LIMIT 10000000ull
#define TAIL_POLL_NS 200000000L /* how often tail -f looks for new events */

/* ---- vigil events ------------------------------------------------------------- */

struct events_opts {
	struct idx_filter f;
};

static const struct cli_option events_options[] = {
	CLIQ_FILTER_OPTIONS(struct events_opts, f),
	CLI_UINT("limit", 0, struct events_opts, f.limit, 0, CLIQ_MAX_LIMIT, "N",
		 "the newest N matching events (default 100; 0: all)"),
	CLI_END,
};

static const struct cli_cmd events_cmd = {
	.name = "events",
	.usage = "usage: vigil events [OPTIONS]\n"
		 "\n"
		 "Lists indexed events, oldest first (the newest --limit of those that match).\n"
		 "Times are UTC.  Reads STATE/index.db; works while the daemon runs.\n",
	.options = events_options,
	.footer = "Exit status: 0 listed (maybe nothing); 2 usage error; 3 no index or it cannot\n"
		  "be read.\n",
	.max_args = 0,
};

struct lister {
	const struct cli *c;
	bool json, header_done;
	uint64_t rows, last_seq;
	int out_err; /* -EPIPE when stdout went away */
};

static int list_event(void *arg, const struct idx_event *ev)
{
	struct lister *l = arg;

	l->rows++;
	l->last_seq = ev->seq;
	if (l->json) {
		json_t *j = cliq_event_json(ev);
		int rc = cliq_print_json_line(j);

		json_decref(j);
		if (rc < 0)
			return l->out_err = rc;
	} else {
		if (!l->header_done) {
			cliq_print_event_header(l->c);
			l->header_done = true;
		}
		cliq_print_event(l->c, ev);
		if (ferror(stdout))
			return l->out_err = -EPIPE;
	}
	return 0;
}

/* Exit code after a listing; stdout closed early (| head) is not an error. */
static int list_status(int rc, const struct lister *l, const char *err)
{
	if (l->out_err == -EPIPE || (rc == -EPIPE))
		return CLI_OK;
	if (rc < 0) {
		cli_error("%s", *err ? err : strerror(-rc));
		return CLI_ERROR;
	}
	if (fflush(stdout) == EOF && errno != EPIPE) {
		cli_error("cannot write the output: %s", strerror(errno));
		return CLI_ERROR;
	}
	return CLI_OK;
}

int cmd_events(struct cli *c, int argc, char **argv)
{
	struct events_opts o = { .f.limit = EVENTS_DEFAULT_LIMIT };
	struct lister l = { .c = c };
	struct idx *ix = NULL;
	char err[512] = "", sid[300];
	int rc;

	if ((rc = cli_parse(c, &events_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	rc = cli_session_filter(ix, &o.f.session, sid, sizeof(sid));
	if (rc < 0) {
		if (rc != -ENOTUNIQ)
			cli_error("cannot look up session '%s': %s", o.f.session, strerror(-rc));
		idx_close(ix);
		return rc == -ENOTUNIQ ? CLI_FAIL : CLI_ERROR;
	}
	l.json = c->json;
	signal(SIGPIPE, SIG_IGN);
	rc = idx_query_events(ix, &o.f, list_event, &l, err, sizeof(err));
	idx_close(ix);
	if (rc == 0 && !l.rows && !l.json && isatty(STDERR_FILENO))
		fprintf(stderr, "no matching events\n");
	return list_status(rc, &l, err);
}

/* ---- vigil tail ------------------------------------------------------------------- */

struct tail_opts {
	bool follow;
	uint64_t lines;
	struct idx_filter f;
};

static const struct cli_option tail_options[] = {
	CLI_FLAG("follow", 'f', struct tail_opts, follow, "keep showing new events"),
	CLI_UINT("lines", 'n', struct tail_opts, lines, 0, CLIQ_MAX_LIMIT, "N",
		 "how many of the latest events to show first (default 10)"),
	CLIQ_FILTER_OPTIONS(struct tail_opts, f),
	CLI_END,
};

static const struct cli_cmd tail_cmd = {
	.name = "tail",
	.usage = "usage: vigil tail [-f] [-n N] [OPTIONS]\n"
		 "\n"
		 "Shows the last N events (default 10), oldest first; with -f keeps running and\n"
		 "shows new events as the daemon indexes them (it looks every 200 ms), until\n"
		 "interrupted (Ctrl-C).  With -f and no index yet, waits for one.\n",
	.options = tail_options,
	.footer = "Exit status: 0 done or interrupted; 2 usage error; 3 no index (without -f).\n",
	.max_args = 0,
};

static volatile sig_atomic_t tail_stop;

static void on_stop_signal(int sig)
{
	(void)sig;
	tail_stop = 1;
}

static void sleep_poll(void)
{
	struct timespec ts = { 0, TAIL_POLL_NS };

	nanosleep(&ts, NULL); /* a signal cuts it short, which is what we want */
}

/* Identity of the index file, to notice `vigil reindex` replacing it. */
static bool same_file(const char *path, dev_t dev, ino_t ino)
{
	struct stat st;

	return stat(path, &st) == 0 && st.st_dev == dev && st.st_ino == ino;
}

/* A tail in progress: the index, where it is, and what was shown. */
struct tail {
	struct cli *c;
	struct idx *ix;
	char path[4200];
	struct stat st; /* of the index file: a reindex replaces it */
	struct lister l;
	uint64_t last; /* the newest seq shown or known */
};

static void tail_signals(void)
{
	struct sigaction sa = { 0 };

	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
}

/* With -f, a missing index is waited for (until interrupted). */
static void tail_wait_index(const struct tail *t)
{
	bool waited = false;

	while (!tail_stop && access(t->path, F_OK) < 0) {
		if (!waited && isatty(STDERR_FILENO))
			fprintf(stderr, "waiting for the index at %s ...\n", t->path);
		waited = true;
		sleep_poll();
	}
}

/* Events after t->last that match f; 0 or -errno (err). */
static int tail_query(struct tail *t, struct idx_filter *f, char *err, size_t cap)
{
	int rc = idx_query_events(t->ix, f, list_event, &t->l, err, cap);

	if (t->l.last_seq > t->last)
		t->last = t->l.last_seq;
	if (fflush(stdout) == EOF)
		t->l.out_err = -EPIPE;
	return rc;
}

/* Reopens the index when a reindex replaced the file: seqs are the
 * ledger's, so the position carries over to the new file. */
static void tail_reopen(struct tail *t)
{
	struct idx *nix = NULL;

	if (same_file(t->path, t->st.st_dev, t->st.st_ino))
		return;
	if (idx_open(t->path, IDX_RDONLY, &nix, NULL, 0) < 0)
		return; /* being renamed; try again next time */
	idx_close(t->ix);
	t->ix = nix;
	if (stat(t->path, &t->st) < 0)
		memset(&t->st, 0, sizeof(t->st));
}

/* -f: new events as they are indexed, until interrupted or stdout goes. */
static int tail_follow(struct tail *t, struct idx_filter *f, char *err, size_t cap)
{
	int rc = 0;

	f->limit = 0;
	while (rc == 0 && !t->l.out_err && !tail_stop) {
		sleep_poll();
		if (tail_stop)
			break;
		tail_reopen(t);
		f->after_seq = t->last;
		rc = tail_query(t, f, err, cap);
		if (rc == -EBUSY)
			rc = 0; /* a long write transaction: next time */
	}
	return rc;
}

int cmd_tail(struct cli *c, int argc, char **argv)
{
	struct tail_opts o = { .lines = TAIL_DEFAULT_LINES };
	struct tail t = { .c = c, .l = { .c = c } };
	char err[512] = "";
	int rc;

	if ((rc = cli_parse(c, &tail_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if (cli_state(c) < 0)
		return CLI_ERROR;
	if (cli_state_path(c, t.path, sizeof(t.path), CLIQ_INDEX_FILE) < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	t.l.json = c->json;
	tail_signals();
	/* Without -f a missing index is an error; with -f we wait for it. */
	if (o.follow)
		tail_wait_index(&t);
	if (tail_stop)
		return CLI_OK;
	rc = cliq_open(c, &t.ix);
	if (rc)
		return rc;
	if (stat(t.path, &t.st) < 0)
		memset(&t.st, 0, sizeof(t.st));
	idx_last_seq(t.ix, &t.last);
	o.f.limit = o.lines;
	rc = o.lines ? tail_query(&t, &o.f, err, sizeof(err)) : 0;
	if (o.follow && rc == 0 && !t.l.out_err)
		rc = tail_follow(&t, &o.f, err, sizeof(err));
	idx_close(t.ix);
	return list_status(rc, &t.l, err);
}

/* ---- vigil sessions ---------------------------------------------------------------- */

struct sessions_opts {
	uint64_t since, limit;
};

static const struct cli_option sessions_options[] = {
	CLI_OPT_WHEN("since", struct sessions_opts, since,
		     "sessions active since WHEN (30m, 2h, 7d, or a time)"),
	CLI_UINT("limit", 0, struct sessions_opts, limit, 0, CLIQ_MAX_LIMIT, "N",
		 "at most N sessions (default 50; 0: all)"),
	CLI_OPT_JSON("one JSON object per line (fields in docs/cli.md)"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd sessions_cmd = {
	.name = "sessions",
	.usage = "usage: vigil sessions [OPTIONS]\n"
		 "\n"
		 "Lists agent sessions with their duration, event and tool-call counts, failed\n"
		 "and abandoned calls, subagents, highest risk and project; the most recently\n"
		 "active --limit of them, by start time.  Times are UTC.\n",
	.options = sessions_options,
	.footer = "Exit status: 0 listed; 2 usage error; 3 no index or it cannot be read.\n",
	.max_args = 0,
};

struct sess_lister {
	const struct cli *c;
	bool json;
	uint64_t rows;
	int out_err;
};

static int list_session(void *arg, const struct idx_session *s)
{
	struct sess_lister *l = arg;
	char started[32], dur[32], sess[48], project[256], risk[24];
	int rc = 0;

	if (l->json) {
		json_t *j = cliq_session_json(s);

		rc = cliq_print_json_line(j);
		json_decref(j);
		l->rows++;
		return rc < 0 ? (l->out_err = rc) : 0;
	}
	if (!l->rows++)
		printf("%s%-36s  %-19s  %8s  %6s  %5s  %6s  %9s  %-8s  %s%s\n", cli_c(l->c, CLI_BOLD),
		       "SESSION", "STARTED (UTC)", "DURATION", "EVENTS", "TOOLS", "FAILED",
		       "SUBAGENTS", "RISK", "PROJECT", cli_c(l->c, CLI_RESET));
	cliq_time(s->first_ns, started, sizeof(started));
	cliq_duration_ms((int64_t)((s->last_ns - s->first_ns) / 1000000), dur, sizeof(dur));
	cliq_clean(s->session_id, 36, sess, sizeof(sess));
	cliq_clean(s->project_root ? s->project_root : s->cwd ? s->cwd : "-", 80, project,
		   sizeof(project));
	cliq_clean(s->risk ? s->risk : "-", 8, risk, sizeof(risk));
	printf("%-36s  %-19s  %8s  %6" PRIu64 "  %5" PRIu64 "  %s%6" PRIu64 "%s  %9" PRIu64
	       "  %-8s  %s%s\n",
	       sess, started, dur, s->events, s->tool_calls,
	       s->failures ? cli_c(l->c, CLI_RED) : "", s->failures, cli_c(l->c, CLI_RESET),
	       s->subagents, risk, project, s->ended ? "" : "  (open)");
	return ferror(stdout) ? (l->out_err = -EPIPE) : 0;
}

int cmd_sessions(struct cli *c, int argc, char **argv)
{
	struct sessions_opts o = { .limit = SESSIONS_DEFAULT_LIMIT };
	struct sess_lister l = { .c = c };
	struct idx *ix = NULL;
	int rc;

	if ((rc = cli_parse(c, &sessions_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	l.json = c->json;
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	rc = idx_sessions(ix, o.since, o.limit, list_session, &l);
	idx_close(ix);
	if (l.out_err)
		return CLI_OK;
	if (rc < 0) {
		cli_error("cannot list sessions: %s", strerror(-rc));
		return CLI_ERROR;
	}
	if (!l.rows && !l.json && isatty(STDERR_FILENO))
		fprintf(stderr, "no sessions\n");
	return CLI_OK;
}
