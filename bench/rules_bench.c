/*
 * rules_bench.c - rule evaluation throughput: rules_eval (detection rules,
 * correlation windows, why texts, the action) over the real Claude Code
 * capture (session-rich.hooks.jsonl, normalized once, not timed), with
 *
 *   pack          the embedded default pack (the .yml files of rules/);
 *   1000 rules    the pack plus generated rules up to 1,000 in all: a mix of
 *                 contains / startswith / endswith / wildcard / regex / list
 *                 conditions on target, tool and payload fields, with and
 *                 without a logsource category, some keyword searches, a
 *                 few event_count correlations per session.
 *
 * The generated rules are built to rarely match (like a real set, where
 * most rules do not fire on most events), so the figures are the cost of
 * looking.  Each run evaluates --events events (the capture's events in
 * turn) with one correlation state; figures
 * are the median over --runs runs of the thread's CPU time: ns/event,
 * events/s on one core, and the p50/p99 of single rules_eval calls.
 * Benchmarks are not tests: the exit status only says whether it ran.
 */
#include "common.h"
#include "pipeline.h"
#include "rules.h"

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

#define MAX_RUNS 15
#define MAX_FIXTURE_LINES 256
#define BASE_NS 1763899620000000000ull

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("rules_bench: ", stderr);
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

/* The capture's payloads, normalized (one session per replay is set at eval time). */
static size_t load_events(json_t *ev[MAX_FIXTURE_LINES])
{
	struct norm_options o = { .host = "bench", .user = "bench" };
	struct norm_ctx *ctx = NULL;
	FILE *f = fopen(FIXTURE, "r");
	char *line = NULL, err[256];
	size_t cap = 0, n = 0;
	ssize_t got;

	if (!f)
		die("cannot open %s: %s", FIXTURE, strerror(errno));
	if (norm_ctx_new(&o, &ctx) < 0)
		die("norm_ctx_new failed");
	while ((got = getline(&line, &cap, f)) > 0 && n < MAX_FIXTURE_LINES) {
		struct norm_envelope env = { .recv_ns = BASE_NS + n * 1000000ull, .pid = -1, .ppid = -1,
					     .uid = -1 };

		if (got > 1 && norm_event(ctx, &env, line, (size_t)got, &ev[n], err, sizeof(err)) == 0)
			n++;
	}
	free(line);
	fclose(f);
	norm_ctx_free(ctx);
	if (!n)
		die("%s gave no events", FIXTURE);
	return n;
}

/* n generated rules as one YAML stream. */
static char *generate(size_t n)
{
	static const char *const cats[] = { "command_execution", "file_read", "file_write", "file_edit",
					    "web_fetch", "code_search", NULL };
	static const char *const fields[] = { "target", "payload.tool_input.command",
					      "payload.tool_input.file_path", "cwd", "tool" };
	struct vbuf b;

	vbuf_init(&b, 64u << 20);
	for (size_t i = 0; i < n; i++) {
		const char *cat = cats[i % VG_ARRAY_LEN(cats)];
		const char *field = fields[(i / 7) % VG_ARRAY_LEN(fields)];

		vbuf_appendf(&b, "---\ntitle: generated %zu\nid: gen-%zu\nname: gen-%zu\nlevel: low\n", i, i, i);
		if (cat)
			vbuf_appendf(&b, "logsource: {product: vigil, category: %s}\n", cat);
		vbuf_appendf(&b, "detection:\n  route: {hook: [PreToolUse, PostToolUse]}\n");
		switch (i % 10) {
		case 0:
		case 1:
		case 2:
			vbuf_appendf(&b, "  sel: {%s|contains: 'needle-%zu'}\n", field, i);
			break;
		case 3:
			vbuf_appendf(&b, "  sel: {%s|startswith: ['/opt/gen%zu', 'gen%zu ']}\n", field, i, i);
			break;
		case 4:
			vbuf_appendf(&b, "  sel: {%s|endswith: '.gen%zu'}\n", field, i);
			break;
		case 5:
			vbuf_appendf(&b, "  sel: {%s: '*gen%zu*x?y*'}\n", field, i);
			break;
		case 6:
			vbuf_appendf(&b, "  sel: {%s|re: 'gen%zu\\s+--[a-z]+'}\n", field, i);
			break;
		case 7:
			vbuf_appendf(&b, "  sel: {tool: [Bash, Read, Write], %s|contains|all: [gen, 'x%zu']}\n",
				     field, i);
			break;
		case 8:
			vbuf_appendf(&b, "  sel: {%s|windash|contains: '-gen%zu'}\n", field, i);
			break;
		default:
			if (i % 50 == 9)
				vbuf_appendf(&b, "  sel: ['keyword-%zu', 'other-%zu']\n", i, i);
			else
				vbuf_appendf(&b, "  sel: {outside_project_scope: true, %s|contains: 'gen%zu'}\n",
					     field, i);
			break;
		}
		vbuf_appendf(&b, "  filter: {%s|endswith: '.md'}\n  condition: route and sel and not filter\n",
			     field);
		if (i % 100 == 99)
			vbuf_appendf(&b, "---\ntitle: generated count %zu\nid: genc-%zu\ncorrelation: {type: event_count, "
					 "rules: [gen-%zu], group-by: [session_id], timespan: 5m, condition: {gte: 5}}\n",
				     i, i, i);
	}
	if (b.len == 0)
		vbuf_appendf(&b, "# none\n");
	return (char *)b.data; /* the caller frees it with vg_free */
}

static struct rules_set *build(size_t total)
{
	struct rules_set *s = NULL;
	char buf[512];
	char *gen;
	size_t have;

	if (rules_set_new(NULL, &s) < 0 || rules_add_default_pack(s) < 0)
		die("cannot load the default pack");
	/* Count the pack's rules through a throwaway finish. */
	{
		struct rules_set *t = NULL;

		if (rules_set_new(NULL, &t) < 0 || rules_add_default_pack(t) < 0 || rules_finish(t) < 0)
			die("cannot load the default pack");
		have = rules_count(t);
		rules_set_free(t);
	}
	gen = generate(total > have ? total - have : 0);
	if (rules_add_text(s, "generated.yml", gen, strlen(gen)) < 0 || rules_finish(s) < 0)
		die("cannot load the generated rules");
	vg_free(gen);
	for (size_t i = 0; i < rules_diag_count(s); i++) {
		const struct rules_diag *d = rules_diag_get(s, i);

		if (d->severity == RULES_ERROR) {
			rules_diag_format(d, buf, sizeof(buf));
			die("rule error: %s", buf);
		}
	}
	return s;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

struct figures {
	double ns_per_event, p50, p99, hits_per_event;
};

static void bench(const char *name, struct rules_set *s, json_t **ev, size_t nev, size_t events,
		  int runs)
{
	struct figures f[MAX_RUNS];
	uint64_t *lat = malloc(events * sizeof(*lat));
	double ns[MAX_RUNS], p50[MAX_RUNS], p99[MAX_RUNS];

	if (!lat)
		die("out of memory");
	for (int r = 0; r < runs; r++) {
		struct rules_state *st = NULL;
		struct rules_result res;
		uint64_t t0, hits = 0;

		if (rules_state_new(s, NULL, &st) < 0)
			die("rules_state_new failed");
		rules_result_init(&res);
		t0 = cpu_ns();
		for (size_t i = 0; i < events; i++) {
			json_t *e = ev[i % nev];
			uint64_t a = cpu_ns();

			if (rules_eval(s, st, e, BASE_NS + i * 1000000ull, &res) < 0)
				die("rules_eval failed");
			lat[i] = cpu_ns() - a;
			hits += res.nhits;
		}
		f[r].ns_per_event = (double)(cpu_ns() - t0) / (double)events;
		qsort(lat, events, sizeof(*lat), cmp_u64);
		f[r].p50 = (double)lat[events / 2];
		f[r].p99 = (double)lat[events * 99 / 100];
		f[r].hits_per_event = (double)hits / (double)events;
		rules_result_release(&res);
		rules_state_free(st);
	}
	for (int r = 0; r < runs; r++) {
		ns[r] = f[r].ns_per_event;
		p50[r] = f[r].p50;
		p99[r] = f[r].p99;
	}
	{
		/* medians (insertion sort: at most MAX_RUNS values) */
		double *v[3] = { ns, p50, p99 };

		for (int k = 0; k < 3; k++)
			for (int i = 1; i < runs; i++)
				for (int j = i; j > 0 && v[k][j - 1] > v[k][j]; j--) {
					double t = v[k][j];

					v[k][j] = v[k][j - 1];
					v[k][j - 1] = t;
				}
	}
	printf("%-12s %6zu rules %10.0f ns/event %12.0f events/s   p50 %7.1f us  p99 %7.1f us  %.2f hits/event\n",
	       name, rules_count(s), ns[runs / 2], 1e9 / ns[runs / 2], p50[runs / 2] / 1000.0,
	       p99[runs / 2] / 1000.0, f[0].hits_per_event);
	free(lat);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: rules_bench [--events N] [--runs N] [--quick]\n"
		   "  --events N   events per run (default 200000)\n"
		   "  --runs N     runs; figures are medians (default 5, at most %d)\n"
		   "  --quick      5000 events, 1 run (a smoke run)\n",
		MAX_RUNS);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'e' },
		{ "runs", required_argument, NULL, 'r' },
		{ "quick", no_argument, NULL, 'q' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	json_t *ev[MAX_FIXTURE_LINES];
	size_t events = 200000, nev;
	int runs = 5, c;
	struct rules_set *pack, *big;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			events = strtoul(optarg, NULL, 10);
			break;
		case 'r':
			runs = atoi(optarg);
			break;
		case 'q':
			events = 5000;
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
	if (!events || runs < 1 || runs > MAX_RUNS) {
		usage(stderr);
		return 2;
	}
	nev = load_events(ev);
	pack = build(0);
	big = build(1000);
	printf("rules_eval over %zu fixture events (%zu distinct), CPU time, median of %d run%s\n",
	       events, nev, runs, runs == 1 ? "" : "s");
	bench("pack", pack, ev, nev, events, runs);
	bench("1000 rules", big, ev, nev, events, runs);
	for (size_t i = 0; i < nev; i++)
		json_decref(ev[i]);
	rules_set_free(pack);
	rules_set_free(big);
	return 0;
}
