/*
 * decide_bench.c - issue 4's latencies, from outside the daemon:
 *
 *  1. the decision round trip: wall time from starting a blocking hook
 *     (`vigil-hook --decide`, posix_spawn, a Claude Code PreToolUse payload
 *     on stdin) to the hook's exit with its decision read from its stdout,
 *     with no rules, with the default pack and with 1,000 rules, for a
 *     payload the pack denies (`rm -rf /`) and one it allows; next to the
 *     floor, a static no-op hook that reads stdin and prints a fixed deny
 *     (bench/decide_bench_noop.c), and next to the same request sent on
 *     the socket by this process (no process start: what the daemon
 *     itself costs).  Target: p99 at most 5 ms over the floor's p99.
 *  2. the detection latency: an event that opens an alert, sent on the
 *     socket; from the ack (the event is durable, the alert record was
 *     appended right after it) to the alert's notification arriving at a
 *     `webhook` channel (an HTTP server inside this program) and at a
 *     `file` channel (a line in alerts.jsonl, watched with inotify).
 *     Every sample uses a new session, so every one opens a new alert and
 *     is notified at once (alerts and notifications are deduplicated per
 *     rule and session).  Target: p99 at most 10 ms.
 *
 *   decide_bench --vigild PATH --vigil PATH --hook PATH --noop PATH --dir DIR
 *                [--runs N] [--samples N] [--reps N] [--rules N] [--gap MS]
 *                [--quick] [--only roundtrip|detect] [--keep]
 *
 * The program starts its own daemons (one per configuration, each on a
 * fresh state directory under DIR, keys made with `vigil keys init`),
 * writes their vigil.yaml, generates the extra rules into a rules
 * directory the config names (`rules: {paths: [...]}`) and checks it with
 * `vigild --check-config`, and removes everything at the end (unless
 * --keep).  Rows are run round-robin, so a slow moment of a shared machine
 * hits every row alike, with a pause after each run (--gap, 5 ms) so the
 * work a daemon does after answering (indexing, notifying) is not charged
 * to the next run; each repetition prints its table, and the last table is
 * the median over repetitions of each figure.
 *
 * Benchmarks are not tests: the exit status says whether the benchmark
 * ran (0), or not (1: a daemon did not start, a wrong decision, a missing
 * notification; 2: usage), never whether a figure met its target.
 */
#include "common.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_REPS 15
#define MAX_ROWS 16
#define MAX_DAEMONS 4
#define OUT_MAX 65536	      /* a hook's stdout, or an ack's body */
#define HTTP_HEAD_MAX 16384   /* the receiver's limits on what vigild sends */
#define HTTP_BODY_MAX (1u << 20)
#define NOTE_WAIT_MS 5000     /* a notification later than this counts as missing */

static const char deny_cmd[] = "rm -rf /";
static const char allow_cmd[] = "git status --short";

/* A real Claude Code PreToolUse (2.1.197), with a new session per run. */
static const char payload_fmt[] =
	"{\"session_id\":\"%s\",\"transcript_path\":\"/home/dev/.claude/projects/-home-dev-app/"
	"%s.jsonl\",\"cwd\":\"/home/dev/app\",\"permission_mode\":\"default\","
	"\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":"
	"\"%s\",\"description\":\"Run a command\"},\"tool_use_id\":\"toolu_bench_%s\"}";

struct opts {
	char *vigild, *vigil, *hook, *noop, *dir; /* argv strings */
	int runs, samples, reps, warmup, nrules, gap_ms;
	bool roundtrip, detect, keep;
};

/* ---- process-wide cleanup ----------------------------------------------------------
 * The only globals: what must be undone when the benchmark stops early (die()
 * exits from anywhere): the daemons it started and its temporary directory. */

static pid_t g_children[MAX_DAEMONS];
static char g_tmp[1024];
static bool g_keep;

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path) < 0 && errno != ENOENT ? -1 : 0;
}

static void cleanup(void)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(g_children); i++)
		if (g_children[i] > 0) {
			kill(g_children[i], SIGKILL);
			waitpid(g_children[i], NULL, 0);
			g_children[i] = 0;
		}
	if (g_tmp[0] && !g_keep)
		nftw(g_tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	else if (g_tmp[0])
		fprintf(stderr, "decide_bench: kept %s\n", g_tmp);
	g_tmp[0] = '\0';
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("decide_bench: error: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- figures ------------------------------------------------------------------------ */

static double ms_between(uint64_t a, uint64_t b)
{
	return ((double)b - (double)a) / 1e6;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Nearest-rank percentile of a sorted array. */
static double pct(const double *v, int n, double p)
{
	int k = (int)(p / 100.0 * n + 0.999999) - 1;

	if (k < 0)
		k = 0;
	if (k >= n)
		k = n - 1;
	return v[k];
}

static double median_of(const double *v, int n)
{
	double tmp[MAX_REPS];

	memcpy(tmp, v, (size_t)n * sizeof(*v));
	qsort(tmp, (size_t)n, sizeof(*tmp), cmp_double);
	return n % 2 ? tmp[n / 2] : (tmp[n / 2 - 1] + tmp[n / 2]) / 2;
}

/* p50, p90, p99 and max of one repetition's samples (sorted in place). */
struct dist {
	double p50, p90, p99, max;
};

static struct dist dist_of(double *v, int n)
{
	struct dist d;

	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	d.p50 = pct(v, n, 50);
	d.p90 = pct(v, n, 90);
	d.p99 = pct(v, n, 99);
	d.max = v[n - 1];
	return d;
}

static struct dist dist_median(const struct dist *reps, int n)
{
	double a[MAX_REPS], b[MAX_REPS], c[MAX_REPS], e[MAX_REPS];
	struct dist d;

	for (int i = 0; i < n; i++) {
		a[i] = reps[i].p50;
		b[i] = reps[i].p90;
		c[i] = reps[i].p99;
		e[i] = reps[i].max;
	}
	d.p50 = median_of(a, n);
	d.p90 = median_of(b, n);
	d.p99 = median_of(c, n);
	d.max = median_of(e, n);
	return d;
}

/* ---- files and child processes -------------------------------------------------------- */

static void write_text(const char *path, const char *text)
{
	int rc = vg_write_file_atomic(path, text, strlen(text), 0600);

	if (rc < 0)
		die("cannot write %s: %s", path, strerror(-rc));
}

/*
 * Runs argv to completion with stdin from /dev/null, stdout captured into
 * out (at most cap-1 bytes, NUL-terminated) and stderr appended to
 * err_path.  Returns the exit status, or -1 when it died of a signal.
 */
static int run_capture(char *const argv[], const char *err_path, char *out, size_t cap)
{
	posix_spawn_file_actions_t fa;
	int p[2], st, efd;
	size_t len = 0;
	pid_t pid;
	int rc;

	if (pipe2(p, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	efd = open(err_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	if (efd < 0)
		die("%s: %s", err_path, strerror(errno));
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_adddup2(&fa, p[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, efd, STDERR_FILENO);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[1]);
	close(efd);
	if (rc != 0)
		die("cannot run %s: %s", argv[0], strerror(rc));
	for (;;) {
		char junk[4096];
		ssize_t n = len + 1 < cap ? read(p[0], out + len, cap - 1 - len)
					  : read(p[0], junk, sizeof(junk));

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		if (len + 1 < cap)
			len += (size_t)n;
	}
	close(p[0]);
	if (cap)
		out[len] = '\0';
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static int connect_unix(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

/* ---- the daemons ----------------------------------------------------------------------- */

struct daemon {
	const char *name;
	char state[1024], config[1100], sock[sizeof(((struct sockaddr_un *)0)->sun_path)];
	char log[1100];
	pid_t pid;
	int slot;
};

/* Makes the daemon's state directory, keys and config (text: the YAML). */
static void daemon_prepare(const struct opts *o, struct daemon *d, const char *name,
			   const char *yaml)
{
	char out[4096];

	d->name = name;
	if (vg_path(d->state, sizeof(d->state), "%s/%s", g_tmp, name) < 0 ||
	    vg_path(d->config, sizeof(d->config), "%s/vigil.yaml", d->state) < 0 ||
	    vg_path(d->log, sizeof(d->log), "%s/vigild.log", d->state) < 0 ||
	    vg_path(d->sock, sizeof(d->sock), "%s/vigild.sock", d->state) < 0)
		die("%s/%s: path too long for a unix socket (use a shorter --dir)", g_tmp, name);
	if (base_mkdir_p(d->state, 0700, NULL) < 0)
		die("cannot create %s: %s", d->state, strerror(errno));
	write_text(d->config, yaml);
	{
		char *argv[] = { o->vigil, (char *)"--state-dir", d->state, (char *)"keys",
				 (char *)"init", NULL };

		if (run_capture(argv, d->log, out, sizeof(out)) != 0)
			die("%s: vigil keys init failed (see %s)", name, d->log);
	}
	{
		char *argv[] = { o->vigild, (char *)"--check-config", (char *)"--config",
				 d->config, NULL };

		if (run_capture(argv, d->log, out, sizeof(out)) != 0)
			die("%s: vigild --check-config refused the config: %s (see %s)", name, out,
			    d->log);
	}
}

/* The rule count `vigild --check-config` reports for the daemon's config. */
static long daemon_rule_count(const struct opts *o, struct daemon *d)
{
	char *argv[] = { o->vigild, (char *)"--check-config", (char *)"--config",
			 d->config, NULL };
	char out[4096];
	const char *p;

	if (run_capture(argv, d->log, out, sizeof(out)) != 0 || !(p = strstr(out, "config OK: ")))
		die("%s: vigild --check-config failed: %s", d->name, out);
	return strtol(p + strlen("config OK: "), NULL, 10);
}

static void daemon_start(const struct opts *o, struct daemon *d, int slot)
{
	char *argv[] = { o->vigild, (char *)"--foreground", (char *)"--config", d->config,
			 (char *)"--state-dir", d->state, (char *)"--socket", d->sock, NULL };
	posix_spawn_file_actions_t fa;
	int rc, st;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
	posix_spawn_file_actions_addopen(&fa, STDOUT_FILENO, d->log,
					 O_WRONLY | O_CREAT | O_APPEND, 0600);
	posix_spawn_file_actions_adddup2(&fa, STDOUT_FILENO, STDERR_FILENO);
	rc = posix_spawn(&d->pid, argv[0], &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	if (rc != 0)
		die("cannot run %s: %s", argv[0], strerror(rc));
	d->slot = slot;
	g_children[slot] = d->pid;
	for (int i = 0; i < 300; i++) {
		int fd = connect_unix(d->sock);

		if (fd >= 0) {
			close(fd);
			return;
		}
		if (waitpid(d->pid, &st, WNOHANG) == d->pid) {
			g_children[slot] = 0;
			die("%s: vigild exited at start (see %s)", d->name, d->log);
		}
		usleep(50000);
	}
	die("%s: vigild did not listen on %s within 15 s (see %s)", d->name, d->sock, d->log);
}

static void daemon_stop(struct daemon *d)
{
	int st;

	if (d->pid <= 0)
		return;
	kill(d->pid, SIGTERM);
	for (int i = 0; i < 200; i++) {
		if (waitpid(d->pid, &st, WNOHANG) == d->pid)
			goto done;
		usleep(50000);
	}
	fprintf(stderr, "decide_bench: %s: vigild did not stop in 10 s; killing it\n", d->name);
	kill(d->pid, SIGKILL);
	waitpid(d->pid, &st, 0);
done:
	g_children[d->slot] = 0;
	d->pid = 0;
}

/* ---- generated rules ------------------------------------------------------------------- */

/*
 * n rules of the kind an organisation adds to the pack: internal tools and
 * hosts, secret and deployment paths, MCP servers, URLs, prompt phrases,
 * with the modifiers real rule sets use (contains, startswith, endswith,
 * lists, wildcards, case-insensitive regular expressions, windash, cidr,
 * keyword searches, filters, "1 of"), mostly on a logsource category, a few
 * correlations.  Every value carries the rule's number, so they do not
 * match the benchmark's payloads: the figures are the cost of looking, as
 * with a real set, where most rules do not fire on most events.  Written as
 * files of 100 rules in dir.
 */
static void generate_rules(const char *dir, long n)
{
	static const char *const levels[] = { "low", "medium", "medium", "high", "low", "medium" };
	struct vbuf b;
	char path[1200];
	long i;

	if (base_mkdir_p(dir, 0700, NULL) < 0)
		die("cannot create %s: %s", dir, strerror(errno));
	vbuf_init(&b, 16u << 20);
	for (i = 0; i < n; i++) {
		const char *lv = levels[i % VG_ARRAY_LEN(levels)];
		const char *action = i % 97 == 5 ? "block" : i % 53 == 7 ? "ask" : "alert";
		int rc = 0;

		rc |= vbuf_appendf(&b,
				   "---\ntitle: Site rule %ld\nid: site-%ld\nname: site-rule-%ld\n"
				   "status: stable\nauthor: security team\n"
				   "description: generated by bench/decide_bench\ntags: [attack.t%ld]\n",
				   i, i, i, 1000 + i % 600);
		switch (i % 12) {
		case 0: /* an internal tool nobody may run */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: command_execution}\n"
					   "detection:\n  sel:\n    target|re|i: '(?:^|[;&|]\\s*)(?:sudo\\s+)?"
					   "prodctl-%ld\\s+(?:drop|purge|wipe)'\n  condition: sel\n",
					   i);
			break;
		case 1: /* an internal host */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: command_execution}\n"
					   "detection:\n  sel:\n    target|contains:\n"
					   "      - db-%ld.internal.example.com\n      - 'vault-%ld.corp:8200'\n"
					   "  condition: sel\n",
					   i, i);
			break;
		case 2: /* a secret file read */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: file_read}\n"
					   "detection:\n  sel:\n    target|endswith:\n"
					   "      - /secrets/team-%ld.yaml\n      - /.config/tool%ld/credentials\n"
					   "  filter:\n    project.root|startswith: /srv/ops-%ld\n"
					   "  condition: sel and not filter\n",
					   i, i, i);
			break;
		case 3: /* writes under a deployment tree */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: file_write}\n"
					   "detection:\n  sel:\n    target|startswith: [/srv/deploy-%ld/, "
					   "/etc/site-%ld/]\n  condition: sel\n",
					   i, i);
			break;
		case 4: /* edits of a protected file, by wildcard */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: file_edit}\n"
					   "detection:\n  sel:\n    target: '*/billing-%ld/*.sql'\n"
					   "  condition: sel\n",
					   i);
			break;
		case 5: /* a URL */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: web_fetch}\n"
					   "detection:\n  sel:\n    payload.tool_input.url|contains: "
					   "paste-%ld.example.net\n  condition: sel\n",
					   i);
			break;
		case 6: /* an MCP server's tools */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: mcp_tool_call}\n"
					   "detection:\n  sel:\n    tool|startswith: mcp__prod%ld__\n"
					   "  condition: sel\n",
					   i);
			break;
		case 7: /* a flag, any dash */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: command_execution}\n"
					   "detection:\n  tool:\n    tool: Bash\n  flag:\n"
					   "    target|windash|contains: ' -unsafe-mode-%ld'\n"
					   "  condition: tool and flag\n",
					   i);
			break;
		case 8: /* a network range */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: web_fetch}\n"
					   "detection:\n  sel:\n    payload.tool_input.url|cidr: 10.%ld.0.0/16\n"
					   "  condition: sel\n",
					   i % 250);
			break;
		case 9: /* keywords anywhere in the payload */
			rc |= vbuf_appendf(&b,
					   "detection:\n  words:\n    - 'ACME-INTERNAL-%ld'\n"
					   "    - 'project-codename-%ld'\n  condition: words\n",
					   i, i);
			break;
		case 10: /* a prompt phrase */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: user_prompt}\n"
					   "detection:\n  sel:\n    target|contains|all: [customer, 'export-%ld']\n"
					   "  condition: sel\n",
					   i);
			break;
		default: /* several selections, "1 of" */
			rc |= vbuf_appendf(&b,
					   "logsource: {product: vigil, category: command_execution}\n"
					   "detection:\n  sel_a:\n    target|startswith: 'deploy-%ld '\n"
					   "  sel_b:\n    target|endswith: ' --env=prod-%ld'\n"
					   "  condition: 1 of sel_*\n",
					   i, i);
			break;
		}
		rc |= vbuf_appendf(&b, "level: %s\naction: %s\n", lv, action);
		/* A correlation now and then: the same rule five times in a session. */
		if (i % 100 == 42 && i + 1 < n) {
			i++;
			rc |= vbuf_appendf(&b,
					   "---\ntitle: Site rule %ld repeated\nid: site-%ld\n"
					   "correlation:\n  type: event_count\n  rules: [site-rule-%ld]\n"
					   "  group-by: [session_id]\n  timespan: 10m\n"
					   "  condition: {gte: 5}\nlevel: high\n",
					   i - 1, i, i - 1);
		}
		if (rc < 0)
			die("out of memory generating rules");
		if ((i + 1) % 100 == 0 || i + 1 >= n) {
			if (vg_path(path, sizeof(path), "%s/site-%03ld.yml", dir, i / 100) < 0)
				die("%s: path too long", dir);
			write_text(path, (const char *)b.data);
			vbuf_reset(&b);
		}
	}
	vbuf_release(&b);
}

/* ---- one request ------------------------------------------------------------------------ */

static void new_payload(char *buf, size_t cap, size_t *len, bool deny, char sid[37])
{
	int n;

	if (base_uuid7(sid) < 0)
		die("base_uuid7 failed");
	n = snprintf(buf, cap, payload_fmt, sid, sid, deny ? deny_cmd : allow_cmd, sid);
	if (n < 0 || (size_t)n >= cap)
		die("payload too long");
	*len = (size_t)n;
}

static bool says_deny(const char *out)
{
	return strstr(out, "\"permissionDecision\":\"deny\"") != NULL;
}

/*
 * One hook process: the payload in a pipe on stdin (written and closed
 * before the spawn, as an agent hands it over), stdout read to EOF, stderr
 * to /dev/null.  Time from just before posix_spawn() to waitpid().  *exit
 * is the exit status (-1: killed).  Returns milliseconds.
 */
static double run_hook(char *const argv[], char *const envp[], const char *payload, size_t plen,
		       int devnull, char *out, size_t cap, int *exit_code)
{
	posix_spawn_file_actions_t fa;
	int in[2], op[2], st, rc;
	size_t len = 0;
	uint64_t t0;
	pid_t pid;

	if (pipe2(in, O_CLOEXEC) < 0 || pipe2(op, O_CLOEXEC) < 0)
		die("pipe: %s", strerror(errno));
	if (write(in[1], payload, plen) != (ssize_t)plen)
		die("cannot write the payload to a pipe");
	close(in[1]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, in[0], STDIN_FILENO);
	posix_spawn_file_actions_adddup2(&fa, op[1], STDOUT_FILENO);
	posix_spawn_file_actions_adddup2(&fa, devnull, STDERR_FILENO);
	t0 = vg_mono_ns();
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	close(in[0]);
	close(op[1]);
	if (rc != 0)
		die("cannot run %s: %s", argv[0], strerror(rc));
	for (;;) {
		ssize_t n = read(op[0], out + len, cap - 1 - len);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0 || (len += (size_t)n) + 1 >= cap)
			break;
	}
	out[len] = '\0';
	close(op[0]);
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			die("waitpid: %s", strerror(errno));
	*exit_code = WIFEXITED(st) ? WEXITSTATUS(st) : -1;
	return ms_between(t0, vg_mono_ns());
}

static int recv_all(int fd, void *p, size_t n)
{
	size_t got = 0;

	while (got < n) {
		ssize_t r = recv(fd, (char *)p + got, n - got, 0);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r < 0 ? -errno : -ECONNRESET;
		got += (size_t)r;
	}
	return 0;
}

/*
 * The hook's request, sent by this process: connect, one WIRE_DECIDE
 * frame, the ack read whole (its stdout into out).  *t_send and *t_ack are
 * CLOCK_MONOTONIC ns just before connect() and just after the ack.  0, or
 * a negative errno (-EPROTO: a bad or failed ack).
 */
static int socket_decide(const char *sock, const char *payload, size_t plen, char *out,
			 size_t cap, uint64_t *t_send, uint64_t *t_ack)
{
	struct wire_envelope env = { .pid = getpid(), .ppid = getppid(), .uid = getuid() };
	static __thread uint8_t frame[WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + 8192];
	uint8_t hdr[WIRE_HDR_LEN];
	unsigned st, ex;
	uint32_t ol, el;
	int elen, fd, rc;
	size_t flen;

	if (base_uuid7(env.id) < 0)
		return -EIO;
	env.time_ns = vg_now_ns();
	env.stdin_len = plen;
	snprintf(env.agent, sizeof(env.agent), "claude-code");
	snprintf(env.cwd, sizeof(env.cwd), "/home/dev/app");
	elen = wire_env_format(&env, (char *)frame + WIRE_HDR_LEN, WIRE_MAX_ENVELOPE);
	if (elen < 0 || plen > 8192)
		return -E2BIG;
	wire_req_hdr_put(frame, WIRE_DECIDE, 0, (uint32_t)elen, (uint32_t)plen);
	memcpy(frame + WIRE_HDR_LEN + elen, payload, plen);
	flen = WIRE_HDR_LEN + (size_t)elen + plen;
	*t_send = vg_mono_ns();
	fd = connect_unix(sock);
	if (fd < 0)
		return fd;
	if (send(fd, frame, flen, MSG_NOSIGNAL) != (ssize_t)flen) {
		rc = -EIO;
		goto out;
	}
	rc = recv_all(fd, hdr, sizeof(hdr));
	if (rc < 0)
		goto out;
	if (wire_ack_hdr_get(hdr, &st, &ex, &ol, &el) < 0 || st != WIRE_OK || ol + el >= cap) {
		rc = -EPROTO;
		goto out;
	}
	rc = recv_all(fd, out, (size_t)ol + el);
	*t_ack = vg_mono_ns();
	out[ol] = '\0';
out:
	close(fd);
	return rc;
}

/* ---- 1. the decision round trip ----------------------------------------------------------- */

enum row_kind { ROW_SPAWN, ROW_SOCKET };

struct row {
	char name[80];
	enum row_kind kind;
	char *argv[8];
	char **envp;
	const char *sock;
	bool deny_payload, expect_deny;
	double *ms;
	struct dist rep[MAX_REPS];
	int wrong;
	char wrong_out[200];
};

/* The environment of a hook: ours without VIGIL_* and CLAUDE_* settings,
 * plus the daemon's state directory and socket. */
static char **hook_env(const struct daemon *d)
{
	size_t n = 0, k = 0;
	char **envp;

	while (environ[n])
		n++;
	envp = calloc(n + 3, sizeof(*envp));
	if (!envp)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "VIGIL_", 6) && strncmp(environ[i], "CLAUDE_", 7))
			envp[k++] = environ[i];
	if (d) {
		size_t a = strlen(d->state) + 32, b = strlen(d->sock) + 32;

		envp[k] = malloc(a);
		envp[k + 1] = malloc(b);
		if (!envp[k] || !envp[k + 1])
			die("out of memory");
		snprintf(envp[k], a, "VIGIL_STATE_DIR=%s", d->state);
		snprintf(envp[k + 1], b, "VIGIL_SOCKET=%s", d->sock);
		k += 2;
	}
	envp[k] = NULL;
	return envp;
}

static void add_row(struct row *rows, int *nrows, const char *name, enum row_kind kind,
		    char *prog, const struct daemon *d, bool deny_payload, bool expect_deny,
		    int runs)
{
	struct row *r = &rows[*nrows];

	if (*nrows >= MAX_ROWS)
		die("too many rows");
	memset(r, 0, sizeof(*r));
	snprintf(r->name, sizeof(r->name), "%s", name);
	r->kind = kind;
	r->argv[0] = prog;
	if (kind == ROW_SPAWN && d) {
		r->argv[1] = (char *)"--agent";
		r->argv[2] = (char *)"claude-code";
		r->argv[3] = (char *)"--decide";
	}
	r->envp = hook_env(d);
	r->sock = d ? d->sock : NULL;
	r->deny_payload = deny_payload;
	r->expect_deny = expect_deny;
	r->ms = calloc((size_t)runs, sizeof(double));
	if (!r->ms)
		die("out of memory");
	(*nrows)++;
}

/* One run of a row: its time in ms; a wrong answer is counted (the first is kept). */
static double run_row(struct row *r, int devnull)
{
	static char out[OUT_MAX];
	char payload[2048], sid[37];
	size_t plen;
	int code = 0;
	double ms;

	new_payload(payload, sizeof(payload), &plen, r->deny_payload, sid);
	if (r->kind == ROW_SPAWN) {
		ms = run_hook(r->argv, r->envp, payload, plen, devnull, out, sizeof(out), &code);
	} else {
		uint64_t t0 = 0, t1 = 0;
		int rc = socket_decide(r->sock, payload, plen, out, sizeof(out), &t0, &t1);

		if (rc < 0)
			die("%s: the daemon did not answer: %s", r->name, strerror(-rc));
		ms = ms_between(t0, t1);
	}
	if (code != 0 || says_deny(out) != r->expect_deny || (!r->expect_deny && out[0])) {
		if (!r->wrong++)
			snprintf(r->wrong_out, sizeof(r->wrong_out), "exit %d, stdout '%.150s'", code,
				 out);
	}
	return ms;
}

static void print_rt_table(const char *title, struct row *rows, int nrows, const struct dist *ds)
{
	const struct dist *floor = &ds[0];

	printf("%s\n", title);
	printf("%-44s %8s %8s %8s %8s %9s %9s %6s\n", "row", "p50 ms", "p90 ms", "p99 ms",
	       "max ms", "p50-floor", "p99-floor", "wrong");
	for (int i = 0; i < nrows; i++)
		printf("%-44s %8.3f %8.3f %8.3f %8.3f %+9.3f %+9.3f %6d\n", rows[i].name, ds[i].p50,
		       ds[i].p90, ds[i].p99, ds[i].max, ds[i].p50 - floor->p50,
		       ds[i].p99 - floor->p99, rows[i].wrong);
	printf("\n");
}

static int bench_roundtrip(const struct opts *o, struct daemon *none, struct daemon *pack,
			   struct daemon *big, long big_rules)
{
	static struct row rows[MAX_ROWS];
	struct dist ds[MAX_ROWS];
	char name[80];
	int nrows = 0, devnull, wrong = 0;

	add_row(rows, &nrows, "no-op floor (static, prints a deny)", ROW_SPAWN, o->noop, NULL,
		true, true, o->runs);
	add_row(rows, &nrows, "vigil-hook, no rules, rm -rf /", ROW_SPAWN, o->hook, none, true,
		false, o->runs);
	add_row(rows, &nrows, "vigil-hook, pack, rm -rf / (deny)", ROW_SPAWN, o->hook, pack,
		true, true, o->runs);
	add_row(rows, &nrows, "vigil-hook, pack, git status (allow)", ROW_SPAWN, o->hook, pack,
		false, false, o->runs);
	snprintf(name, sizeof(name), "vigil-hook, %ld rules, rm -rf / (deny)", big_rules);
	add_row(rows, &nrows, name, ROW_SPAWN, o->hook, big, true, true, o->runs);
	snprintf(name, sizeof(name), "vigil-hook, %ld rules, git status (allow)", big_rules);
	add_row(rows, &nrows, name, ROW_SPAWN, o->hook, big, false, false, o->runs);
	add_row(rows, &nrows, "socket only, no rules, rm -rf /", ROW_SOCKET, NULL, none, true,
		false, o->runs);
	add_row(rows, &nrows, "socket only, pack, rm -rf / (deny)", ROW_SOCKET, NULL, pack, true,
		true, o->runs);
	add_row(rows, &nrows, "socket only, pack, git status (allow)", ROW_SOCKET, NULL, pack,
		false, false, o->runs);
	snprintf(name, sizeof(name), "socket only, %ld rules, rm -rf / (deny)", big_rules);
	add_row(rows, &nrows, name, ROW_SOCKET, NULL, big, true, true, o->runs);

	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		die("/dev/null: %s", strerror(errno));
	for (int rep = 0; rep < o->reps; rep++) {
		char title[200];

		/* A pause after each run lets the daemon finish what follows an
		 * answer (indexing, notifications) before the next run starts, as
		 * between an agent's tool calls; without it that work lands in the
		 * next row's time, the floor's included. */
		for (int w = 0; w < o->warmup; w++)
			for (int r = 0; r < nrows; r++) {
				run_row(&rows[r], devnull);
				usleep((useconds_t)o->gap_ms * 1000);
			}
		for (int i = 0; i < o->runs; i++)
			for (int r = 0; r < nrows; r++) {
				rows[r].ms[i] = run_row(&rows[r], devnull);
				usleep((useconds_t)o->gap_ms * 1000);
			}
		for (int r = 0; r < nrows; r++) {
			rows[r].rep[rep] = dist_of(rows[r].ms, o->runs);
			ds[r] = rows[r].rep[rep];
		}
		{
			char load[64] = "?";
			FILE *f = fopen("/proc/loadavg", "r");

			if (f) {
				if (!fgets(load, sizeof(load), f))
					snprintf(load, sizeof(load), "?");
				fclose(f);
				load[strcspn(load, "\n")] = '\0';
			}
			snprintf(title, sizeof(title),
				 "== decision round trip, repetition %d of %d (%d runs per row, "
				 "interleaved; loadavg %.14s)",
				 rep + 1, o->reps, o->runs, load);
		}
		print_rt_table(title, rows, nrows, ds);
		fflush(stdout);
	}
	for (int r = 0; r < nrows; r++)
		ds[r] = dist_median(rows[r].rep, o->reps);
	{
		char title[200];

		snprintf(title, sizeof(title), "== decision round trip, median of %d repetitions",
			 o->reps);
		print_rt_table(title, rows, nrows, ds);
	}
	printf("target: p99 <= 5 ms over the no-op floor's p99 (%.3f ms)\n", ds[0].p99);
	for (int r = 1; r < nrows; r++)
		if (rows[r].kind == ROW_SPAWN)
			printf("  %-44s %+8.3f ms  %s\n", rows[r].name, ds[r].p99 - ds[0].p99,
			       ds[r].p99 - ds[0].p99 <= 5.0 ? "met" : "NOT met");
	printf("\n");
	for (int r = 0; r < nrows; r++) {
		if (rows[r].wrong) {
			fprintf(stderr, "decide_bench: %s: %d wrong answers (first: %s)\n",
				rows[r].name, rows[r].wrong, rows[r].wrong_out);
			wrong = 1;
		}
		free(rows[r].ms);
		if (rows[r].envp && rows[r].sock) {
			for (char **e = rows[r].envp; *e; e++)
				if (!strncmp(*e, "VIGIL_", 6))
					free(*e);
		}
		free(rows[r].envp);
	}
	close(devnull);
	return wrong ? -EPROTO : 0;
}

/* ---- 2. detection latency: the receivers ---------------------------------------------------- */

/* What the receivers saw of the session the main thread waits for. */
struct recv_state {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	char want[37];		 /* the current sample's session */
	uint64_t t_hook, t_file; /* when its first notification arrived (mono ns) */
	uint64_t requests, lines, bad;
	int stop;
	int listen_fd;
	char file[1100];
};

/* Takes the session id out of a notification body (top level, else in alert). */
static void note_arrived(struct recv_state *rs, const char *body, size_t len, bool web,
			 uint64_t t)
{
	json_t *j = json_loadb(body, len, 0, NULL);
	const char *sid = json_string_value(json_object_get(j, "session_id"));

	if (!sid)
		sid = json_string_value(json_object_get(json_object_get(j, "alert"), "session_id"));
	pthread_mutex_lock(&rs->mu);
	if (web)
		rs->requests++;
	else
		rs->lines++;
	if (!j)
		rs->bad++;
	if (sid && !strcmp(sid, rs->want)) {
		uint64_t *slot = web ? &rs->t_hook : &rs->t_file;

		if (!*slot) {
			*slot = t;
			pthread_cond_broadcast(&rs->cv);
		}
	}
	pthread_mutex_unlock(&rs->mu);
	json_decref(j);
}

struct http_conn {
	struct recv_state *rs;
	int fd;
};

static int stopping(struct recv_state *rs)
{
	return __atomic_load_n(&rs->stop, __ATOMIC_ACQUIRE);
}

/* Reads into buf until want bytes or a stop; 0, -1 on EOF/error/stop. */
static int http_fill(struct http_conn *c, char *buf, size_t *len, size_t want)
{
	while (*len < want) {
		struct pollfd p = { .fd = c->fd, .events = POLLIN };
		ssize_t n;

		if (stopping(c->rs))
			return -1;
		if (poll(&p, 1, 100) <= 0)
			continue;
		n = recv(c->fd, buf + *len, want - *len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		*len += (size_t)n;
	}
	return 0;
}

/*
 * One connection from the webhook channel, kept alive: each request is
 * read to the end of its body (Content-Length; "Expect: 100-continue" is
 * answered), its arrival time taken, and answered 200.
 */
static void *http_conn_main(void *arg)
{
	struct http_conn *c = arg;
	char *buf = malloc(HTTP_HEAD_MAX + HTTP_BODY_MAX);
	size_t len = 0;

	while (buf && !stopping(c->rs)) {
		char *end = NULL, *cl;
		size_t head, body = 0, want;

		/* The head: byte by byte is fine at these sizes, and it never
		 * reads past the request. */
		while (!(end = len >= 4 ? memmem(buf, len, "\r\n\r\n", 4) : NULL)) {
			if (len >= HTTP_HEAD_MAX || http_fill(c, buf, &len, len + 1) < 0)
				goto out;
		}
		head = (size_t)(end - buf) + 4;
		buf[head - 1] = '\0';
		for (char *p = buf; *p; p++)
			if (*p >= 'A' && *p <= 'Z')
				*p = (char)(*p - 'A' + 'a');
		cl = strstr(buf, "\ncontent-length:");
		if (cl)
			body = strtoul(cl + 16, NULL, 10);
		if (body > HTTP_BODY_MAX)
			goto out;
		if (strstr(buf, "\nexpect: 100-continue")) {
			static const char cont[] = "HTTP/1.1 100 Continue\r\n\r\n";

			if (send(c->fd, cont, sizeof(cont) - 1, MSG_NOSIGNAL) < 0)
				goto out;
		}
		want = head + body;
		if (http_fill(c, buf, &len, want) < 0)
			goto out;
		note_arrived(c->rs, buf + head, body, true, vg_mono_ns());
		{
			static const char ok[] = "HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n";

			if (send(c->fd, ok, sizeof(ok) - 1, MSG_NOSIGNAL) < 0)
				goto out;
		}
		memmove(buf, buf + want, len - want);
		len -= want;
	}
out:
	free(buf);
	close(c->fd);
	free(c);
	return NULL;
}

static void *http_accept_main(void *arg)
{
	struct recv_state *rs = arg;

	while (!stopping(rs)) {
		struct pollfd p = { .fd = rs->listen_fd, .events = POLLIN };
		struct http_conn *c;
		pthread_t th;
		int fd;

		if (poll(&p, 1, 100) <= 0)
			continue;
		fd = accept4(rs->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		c = malloc(sizeof(*c));
		if (!c) {
			close(fd);
			continue;
		}
		c->rs = rs;
		c->fd = fd;
		if (pthread_create(&th, NULL, http_conn_main, c) != 0) {
			close(fd);
			free(c);
			continue;
		}
		pthread_detach(th);
	}
	return NULL;
}

/* Follows the file channel's alerts.jsonl: every complete new line is a notification. */
static void *file_watch_main(void *arg)
{
	struct recv_state *rs = arg;
	char dir[1100], *slash, *buf = malloc(HTTP_BODY_MAX);
	size_t have = 0;
	off_t off = 0;
	int in = inotify_init1(IN_CLOEXEC | IN_NONBLOCK);

	snprintf(dir, sizeof(dir), "%s", rs->file);
	slash = strrchr(dir, '/');
	if (slash)
		*slash = '\0';
	if (in < 0 || !buf || inotify_add_watch(in, dir, IN_MODIFY | IN_CREATE | IN_CLOSE_WRITE) < 0)
		die("inotify on %s: %s", dir, strerror(errno));
	while (!stopping(rs)) {
		struct pollfd p = { .fd = in, .events = POLLIN };
		char ev[4096];
		int fd;

		poll(&p, 1, 100);
		while (read(in, ev, sizeof(ev)) > 0)
			;
		fd = open(rs->file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			continue;
		for (;;) {
			ssize_t n = pread(fd, buf + have, HTTP_BODY_MAX - have, off);
			uint64_t t = vg_mono_ns();
			char *nl;

			if (n <= 0)
				break;
			off += n;
			have += (size_t)n;
			while ((nl = memchr(buf, '\n', have))) {
				size_t l = (size_t)(nl - buf) + 1;

				note_arrived(rs, buf, l - 1, false, t);
				memmove(buf, buf + l, have - l);
				have -= l;
			}
			if (have == HTTP_BODY_MAX)
				have = 0; /* a line over 1 MiB: not ours */
		}
		close(fd);
	}
	close(in);
	free(buf);
	return NULL;
}

/* ---- 2. detection latency: the samples -------------------------------------------------------- */

struct detect_figs {
	struct dist commit, file, hook, send_hook;
	int missing;
};

static int bench_detect(const struct opts *o, struct daemon *d, struct recv_state *rs)
{
	struct detect_figs reps[MAX_REPS];
	double *commit = calloc((size_t)o->samples, sizeof(double));
	double *file = calloc((size_t)o->samples, sizeof(double));
	double *hook = calloc((size_t)o->samples, sizeof(double));
	double *send_hook = calloc((size_t)o->samples, sizeof(double));
	static char out[OUT_MAX];
	int missing_total = 0;

	if (!commit || !file || !hook || !send_hook)
		die("out of memory");
	for (int rep = 0; rep < o->reps; rep++) {
		int n = 0, missing = 0;

		for (int i = 0; i < o->warmup + o->samples; i++) {
			char payload[2048], sid[37];
			uint64_t t0 = 0, t1 = 0, th, tf;
			struct timespec until;
			size_t plen;
			int rc;

			new_payload(payload, sizeof(payload), &plen, true, sid);
			pthread_mutex_lock(&rs->mu);
			memcpy(rs->want, sid, sizeof(rs->want));
			rs->t_hook = rs->t_file = 0;
			pthread_mutex_unlock(&rs->mu);
			rc = socket_decide(d->sock, payload, plen, out, sizeof(out), &t0, &t1);
			if (rc < 0)
				die("detect: the daemon did not answer: %s", strerror(-rc));
			if (!says_deny(out))
				die("detect: rm -rf / was not denied: '%.200s'", out);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += NOTE_WAIT_MS / 1000;
			pthread_mutex_lock(&rs->mu);
			while (!(rs->t_hook && rs->t_file) &&
			       pthread_cond_timedwait(&rs->cv, &rs->mu, &until) == 0)
				;
			th = rs->t_hook;
			tf = rs->t_file;
			rs->want[0] = '\0';
			pthread_mutex_unlock(&rs->mu);
			if (!th || !tf) {
				missing++;
				fprintf(stderr, "decide_bench: session %s: no %s notification within %d ms\n",
					sid, !th ? "webhook" : "file", NOTE_WAIT_MS);
				continue;
			}
			if (i < o->warmup)
				continue;
			commit[n] = ms_between(t0, t1);
			file[n] = ms_between(t1, tf);
			hook[n] = ms_between(t1, th);
			send_hook[n] = ms_between(t0, th);
			n++;
			/* Independent alerts: the notifier is idle when the next comes. */
			usleep((useconds_t)o->gap_ms * 1000);
		}
		if (n == 0)
			die("detect: no sample got its notifications");
		reps[rep].commit = dist_of(commit, n);
		reps[rep].file = dist_of(file, n);
		reps[rep].hook = dist_of(hook, n);
		reps[rep].send_hook = dist_of(send_hook, n);
		reps[rep].missing = missing;
		missing_total += missing;
		printf("== detection latency, repetition %d of %d (%d alerts)\n", rep + 1, o->reps, n);
		printf("%-44s %8s %8s %8s %8s\n", "interval", "p50 ms", "p90 ms", "p99 ms", "max ms");
		{
			const struct {
				const char *name;
				struct dist *d;
			} t[] = {
				{ "send -> ack (event + alert committed)", &reps[rep].commit },
				{ "ack -> file channel line", &reps[rep].file },
				{ "ack -> webhook request received", &reps[rep].hook },
				{ "send -> webhook request received", &reps[rep].send_hook },
			};

			for (size_t k = 0; k < VG_ARRAY_LEN(t); k++)
				printf("%-44s %8.3f %8.3f %8.3f %8.3f\n", t[k].name, t[k].d->p50,
				       t[k].d->p90, t[k].d->p99, t[k].d->max);
		}
		printf("missing notifications: %d\n\n", missing);
		fflush(stdout);
	}
	{
		struct dist a[MAX_REPS], b[MAX_REPS], c[MAX_REPS], e[MAX_REPS];
		struct dist mc, mf, mh, ms;

		for (int r = 0; r < o->reps; r++) {
			a[r] = reps[r].commit;
			b[r] = reps[r].file;
			c[r] = reps[r].hook;
			e[r] = reps[r].send_hook;
		}
		mc = dist_median(a, o->reps);
		mf = dist_median(b, o->reps);
		mh = dist_median(c, o->reps);
		ms = dist_median(e, o->reps);
		printf("== detection latency, median of %d repetitions\n", o->reps);
		printf("%-44s %8s %8s %8s %8s\n", "interval", "p50 ms", "p90 ms", "p99 ms", "max ms");
		printf("%-44s %8.3f %8.3f %8.3f %8.3f\n", "send -> ack (event + alert committed)",
		       mc.p50, mc.p90, mc.p99, mc.max);
		printf("%-44s %8.3f %8.3f %8.3f %8.3f\n", "ack -> file channel line", mf.p50, mf.p90,
		       mf.p99, mf.max);
		printf("%-44s %8.3f %8.3f %8.3f %8.3f\n", "ack -> webhook request received", mh.p50,
		       mh.p90, mh.p99, mh.max);
		printf("%-44s %8.3f %8.3f %8.3f %8.3f\n", "send -> webhook request received", ms.p50,
		       ms.p90, ms.p99, ms.max);
		printf("target: p99 <= 10 ms from commit to notification: file %.3f ms %s, webhook "
		       "%.3f ms %s\n",
		       mf.p99, mf.p99 <= 10.0 ? "met" : "NOT met", mh.p99,
		       mh.p99 <= 10.0 ? "met" : "NOT met");
		pthread_mutex_lock(&rs->mu);
		printf("receivers: %llu webhook requests, %llu file lines, %llu unreadable, %d "
		       "missing\n\n",
		       (unsigned long long)rs->requests, (unsigned long long)rs->lines,
		       (unsigned long long)rs->bad, missing_total);
		pthread_mutex_unlock(&rs->mu);
	}
	free(commit);
	free(file);
	free(hook);
	free(send_hook);
	return missing_total ? -ETIMEDOUT : 0;
}

/* The HTTP receiver's socket on 127.0.0.1, any free port. */
static int listen_local(int *port)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 64) < 0 ||
	    getsockname(fd, (struct sockaddr *)&sa, &sl) < 0)
		die("cannot listen on 127.0.0.1: %s", strerror(errno));
	*port = ntohs(sa.sin_port);
	return fd;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: decide_bench --vigild PATH --vigil PATH --hook PATH --noop PATH --dir DIR\n"
		"                    [--runs N] [--samples N] [--reps N] [--rules N] [--gap MS]\n"
		"                    [--quick] [--only roundtrip|detect] [--keep]\n"
		"  --runs N      hook runs per round-trip row and repetition (default 300)\n"
		"  --samples N   alerts per detection repetition (default 200)\n"
		"  --reps N      repetitions; the last table is their median (default 3, at most %d)\n"
		"  --rules N     rules in the big set: the default pack plus generated ones (1000)\n"
		"  --gap MS      pause after each run and alert (default 5; 0 for none)\n"
		"  --quick       20 runs, 20 samples, 1 repetition (a smoke run)\n"
		"  --only WHAT   only the round trip or only the detection latency\n"
		"  --keep        keep the temporary directory (state, configs, rules, logs)\n"
		"The bench directory DIR should be on a real disk: the ledger fsyncs.\n",
		MAX_REPS);
}

static int positive(const char *s, int max)
{
	char *end;
	long v = strtol(s, &end, 10);

	return *s && !*end && v >= 1 && v <= max ? (int)v : -1;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "vigild", required_argument, NULL, 'D' }, { "vigil", required_argument, NULL, 'V' },
		{ "hook", required_argument, NULL, 'H' },   { "noop", required_argument, NULL, 'N' },
		{ "dir", required_argument, NULL, 'd' },    { "runs", required_argument, NULL, 'r' },
		{ "samples", required_argument, NULL, 's' }, { "reps", required_argument, NULL, 'R' },
		{ "rules", required_argument, NULL, 'n' },  { "quick", no_argument, NULL, 'q' },
		{ "only", required_argument, NULL, 'o' },   { "keep", no_argument, NULL, 'k' },
		{ "gap", required_argument, NULL, 'g' },    { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .runs = 300, .samples = 200, .reps = 3, .warmup = 10, .nrules = 1000,
			  .gap_ms = 5, .roundtrip = true, .detect = true };
	struct daemon none = { 0 }, pack = { 0 }, big = { 0 }, det = { 0 };
	struct recv_state rs = { .listen_fd = -1 };
	char yaml[4096], rules_dir[1100], abs_dir[PATH_MAX];
	pthread_t acc_th, file_th;
	long npack = 0, nbig = 0;
	int c, rc = 0, port = 0;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'D': o.vigild = optarg; break;
		case 'V': o.vigil = optarg; break;
		case 'H': o.hook = optarg; break;
		case 'N': o.noop = optarg; break;
		case 'd': o.dir = optarg; break;
		case 'r': o.runs = positive(optarg, 1000000); break;
		case 's': o.samples = positive(optarg, 1000000); break;
		case 'R': o.reps = positive(optarg, MAX_REPS); break;
		case 'n': o.nrules = positive(optarg, 100000); break;
		case 'g':
			o.gap_ms = !strcmp(optarg, "0") ? 0 : positive(optarg, 10000);
			if (o.gap_ms < 0) {
				fprintf(stderr, "decide_bench: --gap takes 0 to 10000 ms\n");
				return 2;
			}
			break;
		case 'q':
			o.runs = o.samples = 20;
			o.reps = 1;
			o.warmup = 3;
			break;
		case 'o':
			if (strcmp(optarg, "roundtrip") && strcmp(optarg, "detect")) {
				fprintf(stderr, "decide_bench: --only takes roundtrip or detect\n");
				return 2;
			}
			o.roundtrip = !strcmp(optarg, "roundtrip");
			o.detect = !o.roundtrip;
			break;
		case 'k': o.keep = true; break;
		case 'h': usage(stdout); return 0;
		default: usage(stderr); return 2;
		}
	}
	if (optind < argc || !o.vigild || !o.vigil || !o.hook || !o.noop || !o.dir || o.runs < 1 ||
	    o.samples < 1 || o.reps < 1 || o.nrules < 1) {
		fprintf(stderr, "decide_bench: every path option is required and counts are "
				"positive numbers\n");
		usage(stderr);
		return 2;
	}
	g_keep = o.keep;
	signal(SIGPIPE, SIG_IGN);
	/* Absolute: the configs name paths in it, and config paths are relative
	 * to the config file's directory. */
	if (!realpath(o.dir, abs_dir)) {
		fprintf(stderr, "decide_bench: --dir %s: %s\n", o.dir, strerror(errno));
		return 1;
	}
	if (vg_path(g_tmp, sizeof(g_tmp), "%s/decide-XXXXXX", abs_dir) < 0 || !mkdtemp(g_tmp)) {
		fprintf(stderr, "decide_bench: cannot create a directory in %s: %s\n", o.dir,
			strerror(errno));
		g_tmp[0] = '\0';
		return 1;
	}
	atexit(cleanup);

	if (o.roundtrip) {
		daemon_prepare(&o, &none, "none", "rules: {default_pack: false}\n");
		daemon_prepare(&o, &pack, "pack", "rules: {default_pack: true}\n");
		npack = daemon_rule_count(&o, &pack);
		if (vg_path(rules_dir, sizeof(rules_dir), "%s/rules", g_tmp) < 0)
			die("path too long");
		generate_rules(rules_dir, o.nrules > npack ? o.nrules - npack : 0);
		snprintf(yaml, sizeof(yaml), "rules:\n  default_pack: true\n  paths: ['%s']\n",
			 rules_dir);
		daemon_prepare(&o, &big, "big", yaml);
		nbig = daemon_rule_count(&o, &big);
		printf("rules: the default pack has %ld; the big set %ld (the pack and %ld "
		       "generated)\n\n",
		       npack, nbig, nbig - npack);
		daemon_start(&o, &none, 0);
		daemon_start(&o, &pack, 1);
		daemon_start(&o, &big, 2);
		rc = bench_roundtrip(&o, &none, &pack, &big, nbig);
		daemon_stop(&none);
		daemon_stop(&pack);
		daemon_stop(&big);
		if (rc < 0)
			die("the round trip got wrong answers (above)");
	}
	if (o.detect) {
		pthread_mutex_init(&rs.mu, NULL);
		pthread_cond_init(&rs.cv, NULL);
		rs.listen_fd = listen_local(&port);
		if (vg_path(rs.file, sizeof(rs.file), "%s/detect/alerts.jsonl", g_tmp) < 0)
			die("path too long");
		/* The webhook without its default 60/min cap, so every alert goes out. */
		snprintf(yaml, sizeof(yaml),
			 "rules: {default_pack: true}\n"
			 "alerts:\n  window: 5m\n  channels:\n"
			 "    - {type: file, path: '%s'}\n"
			 "    - {type: webhook, url: 'http://127.0.0.1:%d/hook', min_severity: low, "
			 "rate_limit: 0, queue: 4096}\n",
			 rs.file, port);
		daemon_prepare(&o, &det, "detect", yaml);
		if (pthread_create(&acc_th, NULL, http_accept_main, &rs) != 0 ||
		    pthread_create(&file_th, NULL, file_watch_main, &rs) != 0)
			die("cannot start the receivers");
		daemon_start(&o, &det, 3);
		printf("detection: the default pack, rm -rf / in a new session per alert; channels: "
		       "file, webhook to 127.0.0.1:%d\n\n",
		       port);
		rc = bench_detect(&o, &det, &rs);
		daemon_stop(&det);
		__atomic_store_n(&rs.stop, 1, __ATOMIC_RELEASE);
		pthread_join(acc_th, NULL);
		pthread_join(file_th, NULL);
		close(rs.listen_fd);
		if (rc < 0)
			die("some alerts were not notified (above)");
	}
	return 0;
}
