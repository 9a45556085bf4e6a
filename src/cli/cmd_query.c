/*
 * cmd_query.c - the commands that list what the index holds: `vigil events`
 * (filtered listings), `vigil tail` (the last events, and with -f the new
 * ones as they are indexed) and `vigil sessions`; plus the helpers the other
 * index commands share (query.h).  They open STATE/index.db read-only, so
 * they run beside the daemon, which writes it.
 */
#include "query.h"

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
#define TARGET_WIDTH 100	/* characters of a target shown on an event line */

/* ---- shared helpers (query.h) ------------------------------------------------ */

int cliq_open(struct cli *c, struct idx **ix)
{
	char path[4200], ledger[4200], err[512];
	int rc;

	*ix = NULL;
	if (cli_state(c) < 0)
		return CLI_ERROR;
	if (cli_state_path(c, path, sizeof(path), CLIQ_INDEX_FILE) < 0 ||
	    cli_state_path(c, ledger, sizeof(ledger), "ledger") < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	rc = idx_open(path, IDX_RDONLY, ix, err, sizeof(err));
	if (rc == -ENOENT) {
		if (access(ledger, F_OK) == 0)
			cli_error("no index at '%s' yet: run 'vigil reindex' to build it from the "
				  "ledger (the daemon builds it when it starts)",
				  path);
		else
			cli_error("no index at '%s': nothing recorded in %s yet", path, c->state_dir);
		return CLI_ERROR;
	}
	if (rc < 0) {
		cli_error("%s", err);
		return CLI_ERROR;
	}
	return 0;
}

int cliq_parse_when(const char *v, uint64_t *ns)
{
	uint64_t secs, now = vg_now_ns();

	if (!v || !*v)
		return -EINVAL;
	if (idx_parse_time(v, ns) == 0)
		return 0;
	if (vg_parse_duration(v, &secs) < 0 || secs > now / 1000000000ull)
		return -EINVAL;
	*ns = now - secs * 1000000000ull;
	return 0;
}

void cliq_time(uint64_t ns, char *out, size_t cap)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&secs, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, cap, "-");
}

void cliq_duration_ms(int64_t ms, char *out, size_t cap)
{
	if (ms < 0)
		snprintf(out, cap, "-");
	else if (ms < 1000)
		snprintf(out, cap, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, cap, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
	else
		snprintf(out, cap, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
}

void cliq_clean(const char *s, size_t max, char *out, size_t cap)
{
	size_t o = 0, chars = 0;

	if (!cap)
		return;
	for (; s && *s && o + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch & 0xc0) != 0x80 && ++chars > max) {
			/* "…" when something was cut. */
			if (o + 4 <= cap) {
				memcpy(out + o, "\xe2\x80\xa6", 3);
				o += 3;
			}
			break;
		}
		if (ch == '\n' || ch == '\t' || ch == '\r')
			out[o++] = ' ';
		else if (ch < 0x20 || ch == 0x7f)
			out[o++] = '?';
		else if (ch == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] < 0xa0) {
			out[o++] = '?'; /* C1 controls (U+0080..U+009F) act like ESC */
			s++;
		} else
			out[o++] = (char)ch;
	}
	out[o] = 0;
}

json_t *cliq_event_json(const struct idx_event *ev)
{
	json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);

	if (!json_is_object(j)) {
		json_decref(j);
		j = json_pack("{s:s}", "error", "stored event is not a JSON object");
	}
	if (j)
		json_object_set_new(j, "seq", json_integer((json_int_t)ev->seq));
	return j;
}

int cliq_print_json_line(json_t *j)
{
	if (!j || json_dumpf(j, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF)
		return errno == EPIPE ? -EPIPE : -EIO;
	return 0;
}

int cliq_filter_opt(struct cli *c, const char *cmd, int opt, const char *arg,
		    struct cliq_filter_opts *o)
{
	struct idx_filter *f = &o->f;
	int r;

	switch (opt) {
	case CLIQ_OPT_SESSION:
		f->session = arg;
		break;
	case CLIQ_OPT_TOOL:
		f->tool = arg;
		break;
	case CLIQ_OPT_HOOK:
		f->hook = arg;
		break;
	case CLIQ_OPT_TYPE:
		f->event_type = arg;
		break;
	case CLIQ_OPT_AGENT:
		f->agent_id = arg;
		break;
	case CLIQ_OPT_RISK:
		r = idx_risk_parse(arg);
		if (r < 0)
			return cli_usage_error(cmd, "--risk: '%s' is not one of info, low, medium, "
						    "high, critical", arg);
		f->min_risk = r;
		break;
	case CLIQ_OPT_OUTSIDE:
		f->outside_scope = true;
		break;
	case CLIQ_OPT_SINCE:
		if (cliq_parse_when(arg, &f->since_ns) < 0)
			return cli_usage_error(cmd, "--since: '%s' is neither a duration (30m, 2h, "
						    "7d) nor a time (2025-11-23T12:00:00Z)", arg);
		break;
	case CLIQ_OPT_UNTIL:
		if (cliq_parse_when(arg, &f->until_ns) < 0)
			return cli_usage_error(cmd, "--until: '%s' is neither a duration (30m, 2h, "
						    "7d) nor a time (2025-11-23T12:00:00Z)", arg);
		break;
	case CLIQ_OPT_TEXT:
		if (idx_text_check(arg) < 0)
			return cli_usage_error(cmd, "--text: give one or more words (at most 4 KiB)");
		f->text = arg;
		break;
	case CLIQ_OPT_DECISION:
		if (strcmp(arg, "allow") && strcmp(arg, "deny") && strcmp(arg, "ask"))
			return cli_usage_error(cmd, "--decision: '%s' is not one of allow, deny, ask",
					       arg);
		f->decision = arg;
		break;
	case CLIQ_OPT_RULE:
		if (!*arg)
			return cli_usage_error(cmd, "--rule: give a rule id or name");
		f->rule = arg;
		break;
	case CLIQ_OPT_JSON:
		o->json = true;
		break;
	case CLIQ_OPT_STATE:
		if (cli_set_state_dir(c, arg) < 0)
			return CLI_USAGE;
		break;
	default:
		return -1;
	}
	return 0;
}

void cliq_print_event_header(const struct cli *c)
{
	printf("%s%6s  %-19s  %-8s  %-8s  %-18s  %-12s  %-8s  %-7s  %s%s\n", cli_c(c, CLI_BOLD),
	       "SEQ", "TIME (UTC)", "SESSION", "AGENT", "EVENT", "TOOL", "OUTCOME", "TIME",
	       "TARGET", cli_c(c, CLI_RESET));
}

static const char *outcome_color(const struct cli *c, const char *outcome)
{
	if (!outcome)
		return "";
	if (!strcmp(outcome, "failure") || !strcmp(outcome, "abandoned"))
		return cli_c(c, CLI_RED);
	if (!strcmp(outcome, "success"))
		return cli_c(c, CLI_GREEN);
	return cli_c(c, CLI_YELLOW);
}

void cliq_print_event(const struct cli *c, const struct idx_event *ev)
{
	char when[32], sess[16], agent[16], hook[64], tool[64], target[TARGET_WIDTH * 4 + 8],
		dur[32], risk[32] = "", decision[200] = "";
	const char *what = ev->target;

	cliq_time(ev->time_ns, when, sizeof(when));
	cliq_clean(ev->session_id ? ev->session_id : "-", 8, sess, sizeof(sess));
	/* Strip the "…" cliq_clean adds: an 8-character id prefix is the form
	 * the other commands accept. */
	if (strlen(sess) > 8)
		sess[8] = 0;
	cliq_clean(ev->agent_id ? ev->agent_id : "-", 8, agent, sizeof(agent));
	if (strlen(agent) > 8)
		agent[8] = 0;
	cliq_clean(ev->hook ? ev->hook : ev->event_type ? ev->event_type : "-", 18, hook,
		   sizeof(hook));
	cliq_clean(ev->tool ? ev->tool : "-", 12, tool, sizeof(tool));
	if (!what && ev->error)
		what = ev->error;
	cliq_clean(what ? what : "", TARGET_WIDTH, target, sizeof(target));
	cliq_duration_ms(ev->duration_ms, dur, sizeof(dur));
	if (ev->risk && idx_risk_parse(ev->risk) >= IDX_RISK_MEDIUM)
		snprintf(risk, sizeof(risk), " %s[risk %s]%s",
			 cli_c(c, idx_risk_parse(ev->risk) >= IDX_RISK_HIGH ? CLI_RED : CLI_YELLOW),
			 idx_risk_parse(ev->risk) >= 0 ? idx_risk_name(idx_risk_parse(ev->risk)) : "",
			 cli_c(c, CLI_RESET));
	/* A deny or ask decided by a rule: which one (an allow is the norm). */
	if (ev->decision && strcmp(ev->decision, "allow")) {
		char act[40], rule[140];

		cliq_clean(ev->decision, 10, act, sizeof(act));
		cliq_clean(ev->decision_rule ? ev->decision_rule : "", 40, rule, sizeof(rule));
		snprintf(decision, sizeof(decision), " %s[%s%s%s]%s",
			 cli_c(c, strcmp(ev->decision, "deny") ? CLI_YELLOW : CLI_RED), act,
			 *rule ? ": " : "", rule, cli_c(c, CLI_RESET));
	}
	printf("%6" PRIu64 "  %-19s  %-8s  %-8s  %-18s  %-12s  %s%-8s%s  %-7s  %s%s%s%s\n",
	       ev->seq, when, sess, agent, hook, tool, outcome_color(c, ev->outcome),
	       ev->outcome ? ev->outcome : "-", cli_c(c, CLI_RESET), dur,
	       ev->outside_scope == 1 ? "[outside] " : "", target, risk, decision);
}

/* ---- vigil events ------------------------------------------------------------- */

static const char events_usage[] =
	"usage: vigil events [OPTIONS]\n"
	"\n"
	"Lists indexed events, oldest first (the newest --limit of those that match).\n"
	"Times are UTC.  Reads STATE/index.db; works while the daemon runs.\n"
	"\n"
	"Options:\n" CLIQ_FILTER_HELP
	"  --limit N           the newest N matching events (default 100; 0: all)\n"
	"\n"
	"Exit status: 0 listed (maybe nothing); 2 usage error; 3 no index or it cannot\n"
	"be read.\n";

enum { OPT_LIMIT = 400, OPT_FOLLOW, OPT_LINES };

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

static int parse_limit(const char *cmd, const char *opt, const char *v, uint64_t *out)
{
	char *end;
	unsigned long long n;

	errno = 0;
	n = strtoull(v, &end, 10);
	if (!*v || *v == '-' || *end || errno || n > CLIQ_MAX_LIMIT)
		return cli_usage_error(cmd, "%s: '%s' is not a number from 0 to %llu", opt, v,
				       CLIQ_MAX_LIMIT);
	*out = n;
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
	static const struct option opts[] = {
		CLIQ_FILTER_OPTIONS,
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cliq_filter_opts fo = { .f.limit = EVENTS_DEFAULT_LIMIT };
	struct lister l = { .c = c };
	struct idx *ix = NULL;
	char err[512] = "";
	int o, rc;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(events_usage, stdout);
			return CLI_OK;
		}
		if (o == OPT_LIMIT) {
			if (parse_limit("events", "--limit", optarg, &fo.f.limit))
				return CLI_USAGE;
			continue;
		}
		rc = cliq_filter_opt(c, "events", o, optarg, &fo);
		if (rc > 0)
			return rc;
		if (rc < 0)
			return cli_usage_error("events", "unknown option");
	}
	if (optind < argc)
		return cli_usage_error("events", "unexpected argument '%s'", argv[optind]);
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	l.json = fo.json;
	signal(SIGPIPE, SIG_IGN);
	rc = idx_query_events(ix, &fo.f, list_event, &l, err, sizeof(err));
	idx_close(ix);
	if (rc == 0 && !l.rows && !l.json && isatty(STDERR_FILENO))
		fprintf(stderr, "no matching events\n");
	return list_status(rc, &l, err);
}

/* ---- vigil tail ------------------------------------------------------------------- */

static const char tail_usage[] =
	"usage: vigil tail [-f] [-n N] [OPTIONS]\n"
	"\n"
	"Shows the last N events (default 10), oldest first; with -f keeps running and\n"
	"shows new events as the daemon indexes them (it looks every 200 ms), until\n"
	"interrupted (Ctrl-C).  With -f and no index yet, waits for one.\n"
	"\n"
	"Options:\n"
	"  -f, --follow        keep showing new events\n"
	"  -n, --lines N       how many of the latest events to show first (default 10)\n" CLIQ_FILTER_HELP
	"\n"
	"Exit status: 0 done or interrupted; 2 usage error; 3 no index (without -f).\n";

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

int cmd_tail(struct cli *c, int argc, char **argv)
{
	static const struct option opts[] = {
		CLIQ_FILTER_OPTIONS,
		{ "follow", no_argument, NULL, 'f' },
		{ "lines", required_argument, NULL, 'n' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct cliq_filter_opts fo = { 0 };
	struct lister l = { .c = c };
	struct idx *ix = NULL;
	struct sigaction sa = { 0 };
	uint64_t lines = TAIL_DEFAULT_LINES, last = 0;
	char err[512] = "", path[4200];
	bool follow = false, waited = false;
	struct stat st;
	int o, rc;

	optind = 0;
	while ((o = getopt_long(argc, argv, "hfn:", opts, NULL)) != -1) {
		if (o == 'h') {
			fputs(tail_usage, stdout);
			return CLI_OK;
		}
		if (o == 'f') {
			follow = true;
			continue;
		}
		if (o == 'n') {
			if (parse_limit("tail", "-n", optarg, &lines))
				return CLI_USAGE;
			continue;
		}
		rc = cliq_filter_opt(c, "tail", o, optarg, &fo);
		if (rc > 0)
			return rc;
		if (rc < 0)
			return cli_usage_error("tail", "unknown option");
	}
	if (optind < argc)
		return cli_usage_error("tail", "unexpected argument '%s'", argv[optind]);
	if (cli_state(c) < 0)
		return CLI_ERROR;
	if (cli_state_path(c, path, sizeof(path), CLIQ_INDEX_FILE) < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	l.json = fo.json;
	signal(SIGPIPE, SIG_IGN);
	sa.sa_handler = on_stop_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	/* Without -f a missing index is an error; with -f we wait for it. */
	while (follow && !tail_stop && access(path, F_OK) < 0) {
		if (!waited && isatty(STDERR_FILENO))
			fprintf(stderr, "waiting for the index at %s ...\n", path);
		waited = true;
		sleep_poll();
	}
	if (tail_stop)
		return CLI_OK;
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	if (stat(path, &st) < 0)
		memset(&st, 0, sizeof(st));
	idx_last_seq(ix, &last);
	fo.f.limit = lines;
	rc = lines ? idx_query_events(ix, &fo.f, list_event, &l, err, sizeof(err)) : 0;
	if (l.last_seq > last)
		last = l.last_seq;
	if (fflush(stdout) == EOF)
		l.out_err = -EPIPE;
	fo.f.limit = 0;
	while (follow && rc == 0 && !l.out_err && !tail_stop) {
		sleep_poll();
		if (tail_stop)
			break;
		if (!same_file(path, st.st_dev, st.st_ino)) {
			/* Replaced by a reindex: seqs are the ledger's, so the
			 * position carries over to the new file. */
			struct idx *nix = NULL;

			if (idx_open(path, IDX_RDONLY, &nix, err, sizeof(err)) < 0)
				continue; /* being renamed; try again next time */
			idx_close(ix);
			ix = nix;
			if (stat(path, &st) < 0)
				memset(&st, 0, sizeof(st));
		}
		fo.f.after_seq = last;
		rc = idx_query_events(ix, &fo.f, list_event, &l, err, sizeof(err));
		if (rc == -EBUSY)
			rc = 0; /* a long write transaction: next time */
		if (l.last_seq > last)
			last = l.last_seq;
		if (fflush(stdout) == EOF)
			l.out_err = -EPIPE;
	}
	idx_close(ix);
	return list_status(rc, &l, err);
}

/* ---- vigil sessions ---------------------------------------------------------------- */

static const char sessions_usage[] =
	"usage: vigil sessions [OPTIONS]\n"
	"\n"
	"Lists agent sessions with their duration, event and tool-call counts, failed\n"
	"and abandoned calls, subagents, highest risk and project; the most recently\n"
	"active --limit of them, by start time.  Times are UTC.\n"
	"\n"
	"Options:\n"
	"  --since WHEN        sessions active since WHEN (30m, 2h, 7d, or a time)\n"
	"  --limit N           at most N sessions (default 50; 0: all)\n"
	"  --json              one JSON object per line (fields in docs/cli.md)\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 listed; 2 usage error; 3 no index or it cannot be read.\n";

struct sess_lister {
	const struct cli *c;
	bool json;
	uint64_t rows;
	int out_err;
};

static json_t *opt_int(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

static json_t *opt_str(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *cliq_session_json(const struct idx_session *s)
{
	char first[40], last[40];
	json_t *j;

	vg_format_time(s->first_ns, first, sizeof(first));
	vg_format_time(s->last_ns, last, sizeof(last));
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
		      "session_id", s->session_id, "started", first, "last_event", last,
		      "duration_ms", (json_int_t)((s->last_ns - s->first_ns) / 1000000),
		      "events", (json_int_t)s->events, "tool_calls", (json_int_t)s->tool_calls,
		      "failures", (json_int_t)s->failures, "abandoned", (json_int_t)s->abandoned,
		      "prompts", (json_int_t)s->prompts, "subagents", (json_int_t)s->subagents,
		      "files_changed", (json_int_t)s->files_changed, "risk_rank",
		      (json_int_t)(s->risk ? idx_risk_parse(s->risk) : 0), "ended", s->ended != 0);
	if (!j)
		return NULL;
	json_object_set_new(j, "risk", opt_str(s->risk));
	json_object_set_new(j, "project", opt_str(s->project_root));
	json_object_set_new(j, "cwd", opt_str(s->cwd));
	json_object_set_new(j, "model", opt_str(s->model));
	json_object_set_new(j, "agent", opt_str(s->agent));
	json_object_set_new(j, "agent_version", opt_str(s->agent_version));
	json_object_set_new(j, "end_reason", opt_str(s->end_reason));
	json_object_set_new(j, "input_tokens", opt_int(s->input_tokens));
	json_object_set_new(j, "output_tokens", opt_int(s->output_tokens));
	json_object_set_new(j, "cache_read_tokens", opt_int(s->cache_read_tokens));
	json_object_set_new(j, "cache_creation_tokens", opt_int(s->cache_creation_tokens));
	json_object_set_new(j, "total_tokens", opt_int(s->total_tokens));
	json_object_set_new(j, "cost_usd", s->cost_usd < 0 ? json_null() : json_real(s->cost_usd));
	return j;
}

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
	static const struct option opts[] = {
		{ "since", required_argument, NULL, CLIQ_OPT_SINCE },
		{ "limit", required_argument, NULL, OPT_LIMIT },
		{ "json", no_argument, NULL, CLIQ_OPT_JSON },
		{ "state-dir", required_argument, NULL, CLIQ_OPT_STATE },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct sess_lister l = { .c = c };
	uint64_t since = 0, limit = SESSIONS_DEFAULT_LIMIT;
	struct idx *ix = NULL;
	int o, rc;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
		switch (o) {
		case 'h':
			fputs(sessions_usage, stdout);
			return CLI_OK;
		case CLIQ_OPT_SINCE:
			if (cliq_parse_when(optarg, &since) < 0)
				return cli_usage_error("sessions",
						       "--since: '%s' is neither a duration (30m, 2h, "
						       "7d) nor a time (2025-11-23T12:00:00Z)",
						       optarg);
			break;
		case OPT_LIMIT:
			if (parse_limit("sessions", "--limit", optarg, &limit))
				return CLI_USAGE;
			break;
		case CLIQ_OPT_JSON:
			l.json = true;
			break;
		case CLIQ_OPT_STATE:
			if (cli_set_state_dir(c, optarg) < 0)
				return CLI_USAGE;
			break;
		default:
			return cli_usage_error("sessions", "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error("sessions", "unexpected argument '%s'", argv[optind]);
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	rc = idx_sessions(ix, since, limit, list_session, &l);
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
