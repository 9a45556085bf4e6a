/*
 * shell_bench.c - how fast commands are understood: sh_parse (src/shell:
 * parse, expand, follow wrappers, then sh_result_free) over the command lines
 * of tests/shell/corpus.txt (everyday agent commands, scripts with
 * here-documents and loops, and the attacker forms of issue 11, mixed), next
 * to what does the job today: rules_eval with the embedded default pack (the
 * rules' regular expressions over the raw command) on the same commands as
 * PreToolUse Bash events, normalized once beforehand (not timed).
 *
 * Each run goes through --commands command lines (the corpus's in turn), once
 * for the throughput and once timing each call; figures are the median over
 * --runs runs of the thread's CPU time: ns per command line, command lines/s
 * on one core, and the p50/p99 of single calls.
 * Benchmarks are not tests: the exit status only says whether it ran.
 */
#include "pipeline.h"
#include "rules.h"
#include "shell.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CORPUS
#error "CORPUS must name tests/shell/corpus.txt"
#endif

#define MAX_RUNS 15
#define MAX_CASES 4096
#define BASE_NS 1763899620000000000ull

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("shell_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

struct line {
	char *s;
	size_t len;
};

/* The corpus's command lines ("$ " and its "> " continuations). */
static size_t load(struct line *v)
{
	FILE *f = fopen(CORPUS, "r");
	char *l = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;

	if (!f)
		die("cannot open %s: %s", CORPUS, strerror(errno));
	while ((got = getline(&l, &cap, f)) >= 0) {
		if (got && l[got - 1] == '\n')
			l[--got] = '\0';
		if (l[0] == '$' && (l[1] == ' ' || !l[1]) && n < MAX_CASES) {
			v[n].s = strdup(l[1] ? l + 2 : "");
			if (!v[n].s)
				die("out of memory");
			v[n].len = strlen(v[n].s);
			n++;
		} else if (n && l[0] == '>' && (l[1] == ' ' || !l[1])) {
			size_t add = l[1] ? strlen(l + 2) : 0;
			char *s = realloc(v[n - 1].s, v[n - 1].len + add + 2);

			if (!s)
				die("out of memory");
			s[v[n - 1].len] = '\n';
			memcpy(s + v[n - 1].len + 1, l[1] ? l + 2 : "", add + 1);
			v[n - 1].s = s;
			v[n - 1].len += add + 1;
		}
	}
	free(l);
	fclose(f);
	if (!n)
		die("%s has no command lines", CORPUS);
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	for (int i = 1; i < n; i++)
		for (int j = i; j > 0 && v[j - 1] > v[j]; j--) {
			double t = v[j];

			v[j] = v[j - 1];
			v[j - 1] = t;
		}
	return v[n / 2];
}

struct figures {
	double ns[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS];
};

static void report(const char *name, struct figures *f, int runs, const char *extra)
{
	double ns = median(f->ns, runs);

	printf("%-22s %9.0f ns/command %11.0f commands/s   p50 %7.2f us  p99 %7.2f us  %s\n", name,
	       ns, 1e9 / ns, median(f->p50, runs) / 1000.0, median(f->p99, runs) / 1000.0, extra);
}

static void bench_parser(const struct line *v, size_t n, size_t total, int runs, uint64_t *lat)
{
	struct sh_opts o = { .cwd = "/home/u/proj", .home = "/home/u", .user = "u" };
	struct figures f;
	size_t cmds = 0, unres = 0;
	char extra[128];

	for (int r = 0; r < runs; r++) {
		uint64_t t0 = cpu_ns();

		/* Throughput first, with no clock read per call; then the latencies. */
		cmds = unres = 0;
		for (size_t i = 0; i < total; i++) {
			struct sh_result *res;

			if (sh_parse(v[i % n].s, v[i % n].len, &o, &res) < 0)
				die("sh_parse failed");
			cmds += res->ncmds;
			for (size_t k = 0; k < res->ncmds; k++)
				unres += res->cmds[k].unres != 0;
			sh_result_free(res);
		}
		f.ns[r] = (double)(cpu_ns() - t0) / (double)total;
		for (size_t i = 0; i < total; i++) {
			struct sh_result *res;
			uint64_t a = cpu_ns();

			if (sh_parse(v[i % n].s, v[i % n].len, &o, &res) < 0)
				die("sh_parse failed");
			sh_result_free(res);
			lat[i] = cpu_ns() - a;
		}
		qsort(lat, total, sizeof(*lat), cmp_u64);
		f.p50[r] = (double)lat[total / 2];
		f.p99[r] = (double)lat[total * 99 / 100];
	}
	snprintf(extra, sizeof(extra),
		 "%.2f commands found per line, %.1f%% with something unresolved",
		 (double)cmds / (double)total, cmds ? 100.0 * (double)unres / (double)cmds : 0.0);
	report("sh_parse", &f, runs, extra);
}

/* Each command line as the PreToolUse Bash event vigild would judge. */
static size_t events(const struct line *v, size_t n, json_t **ev)
{
	struct norm_options o = { .host = "bench", .user = "u" };
	struct norm_ctx *ctx = NULL;
	char err[256];
	size_t k = 0;

	if (norm_ctx_new(&o, &ctx) < 0)
		die("norm_ctx_new failed");
	for (size_t i = 0; i < n; i++) {
		struct norm_envelope env = {
			.recv_ns = BASE_NS + i * 1000000ull, .pid = -1, .ppid = -1, .uid = -1
		};
		json_t *p = json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s}, s:s}", "session_id",
				      "0196f0e0-0000-7000-8000-000000000001", "cwd", "/home/u/proj",
				      "permission_mode", "default", "hook_event_name", "PreToolUse",
				      "tool_name", "Bash", "tool_input", "command", v[i].s,
				      "tool_use_id", "toolu_bench");
		char *text = p ? json_dumps(p, JSON_COMPACT) : NULL;

		if (text &&
		    norm_event(ctx, &env, text, strlen(text), &ev[k], err, sizeof(err)) == 0)
			k++;
		free(text);
		json_decref(p);
	}
	norm_ctx_free(ctx);
	return k;
}

static void bench_rules(const struct line *v, size_t n, size_t total, int runs, uint64_t *lat)
{
	static json_t *ev[MAX_CASES];
	struct rules_set *s = NULL;
	struct figures f;
	size_t nev = events(v, n, ev), hits = 0;
	char extra[128];

	if (!nev)
		die("no command normalized");
	if (rules_set_new(NULL, &s) < 0 || rules_add_default_pack(s) < 0 || rules_finish(s) < 0)
		die("cannot load the default pack");
	for (int r = 0; r < runs; r++) {
		struct rules_state *st = NULL;
		struct rules_result res;
		uint64_t t0;

		if (rules_state_new(s, NULL, &st) < 0)
			die("rules_state_new failed");
		rules_result_init(&res);
		hits = 0;
		t0 = cpu_ns();
		for (size_t i = 0; i < total; i++) {
			if (rules_eval(s, st, ev[i % nev], BASE_NS + i * 1000000ull, &res) < 0)
				die("rules_eval failed");
			hits += res.nhits;
		}
		f.ns[r] = (double)(cpu_ns() - t0) / (double)total;
		for (size_t i = 0; i < total; i++) {
			uint64_t a = cpu_ns();

			if (rules_eval(s, st, ev[i % nev], BASE_NS + (total + i) * 1000000ull,
				       &res) < 0)
				die("rules_eval failed");
			lat[i] = cpu_ns() - a;
		}
		qsort(lat, total, sizeof(*lat), cmp_u64);
		f.p50[r] = (double)lat[total / 2];
		f.p99[r] = (double)lat[total * 99 / 100];
		rules_result_release(&res);
		rules_state_free(st);
	}
	snprintf(extra, sizeof(extra), "%zu rules, %.2f hits per line", rules_count(s),
		 (double)hits / (double)total);
	report("rules_eval (today)", &f, runs, extra);
	for (size_t i = 0; i < nev; i++)
		json_decref(ev[i]);
	rules_set_free(s);
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: shell_bench [--commands N] [--runs N] [--quick]\n"
		"  --commands N  command lines per run (default 200000)\n"
		"  --runs N      runs; figures are medians (default 5, at most %d)\n"
		"  --quick       5000 command lines, 1 run (a smoke run)\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "commands", required_argument, NULL, 'c' },
		{ "runs", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct line v[MAX_CASES];
	size_t total = 200000, n, bytes = 0;
	int runs = 5, c;
	uint64_t *lat;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			total = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'q':
			total = 5000;
			runs = 1;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!total || runs < 1 || runs > MAX_RUNS) {
		usage(stderr);
		return 2;
	}
	n = load(v);
	for (size_t i = 0; i < n; i++)
		bytes += v[i].len;
	lat = malloc(total * sizeof(*lat));
	if (!lat)
		die("out of memory");
	printf("%zu command lines per run over the %zu of %s (%.0f bytes on average), CPU time, "
	       "median of %d run%s\n",
	       total, n, "tests/shell/corpus.txt", (double)bytes / (double)n, runs,
	       runs == 1 ? "" : "s");
	bench_parser(v, n, total, runs, lat);
	bench_rules(v, n, total, runs, lat);
	free(lat);
	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	return 0;
}
