/*
 * pipeline_bench.c - what the per-event pipeline of vigild costs: the
 * normalizer (norm_event), the correlator (pair_apply) and the
 * serialization of the event for the ledger, next to the floor jansson
 * itself sets (parsing the payload and dumping it again).
 * docs/benchmarks.md ("Pipeline") explains the figures; bench/meson.build
 * builds it.
 *
 * The events: the real Claude Code capture (session-rich.hooks.jsonl, 24
 * hook payloads) replayed as many sessions as it takes to reach --events,
 * each with its own session id and tool_use_ids.  Building them is not
 * timed.  Each run goes through all of them in batches of 256, stage by
 * stage, with a fresh correlator (as a new daemon has):
 *
 *   floor: parse       json_loadb of the raw payload
 *   floor: dump        json_dumps (COMPACT | SORT_KEYS) of that parse
 *   norm_event         the payload to a schema-v1 event
 *   pair_apply         pairing, subagent parents, agent_version
 *   serialize          the event to the ledger's bytes, three ways:
 *                      json_dumps COMPACT | SORT_KEYS (what the daemon did),
 *                      json_dumps COMPACT (insertion order), and
 *                      norm_serialize (the same bytes as the first)
 *   free               json_decref of the event
 *
 * Figures are ns/event, the median over --runs runs; "whole" adds
 * norm_event, pair_apply, norm_serialize and free, and its events/s is one
 * core's rate.  Benchmarks are not tests: the exit status never depends on
 * the figures, only on whether the outputs agreed (norm_serialize must give
 * json_dumps' bytes, or the comparison is void).
 */
#include "common.h"
#include "pipeline.h"

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
#define BATCH 256
#define BASE_NS 1763899620000000000ull /* 2025-11-23T12:07:00Z */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("pipeline_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

/*
 * The thread's CPU time, not the wall clock: the machines this runs on are
 * often shared, and time spent descheduled is not the pipeline's cost.
 */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* ---- the payloads ------------------------------------------------------------------ */

struct payloads {
	char **p;
	size_t *len;
	size_t n;
	uint64_t bytes;
};

static size_t load_fixture(char *lines[MAX_FIXTURE_LINES])
{
	FILE *f = fopen(FIXTURE, "r");
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;

	if (!f)
		die("cannot open %s: %s", FIXTURE, strerror(errno));
	while ((got = getline(&line, &cap, f)) > 0 && n < MAX_FIXTURE_LINES) {
		if (got > 1 && !(lines[n++] = strdup(line)))
			die("out of memory");
	}
	free(line);
	fclose(f);
	if (!n)
		die("%s holds no payloads", FIXTURE);
	return n;
}

/* A fixture payload with the session id and tool_use_id of replayed session k. */
static char *vary(const char *line, size_t k)
{
	json_t *p = json_loads(line, 0, NULL), *v;
	char buf[160], *out;

	if (!json_is_object(p))
		die("a fixture line is not a JSON object");
	snprintf(buf, sizeof(buf), "%08zx-be4c-4000-8000-%012zx", k, k * 2654435761u);
	json_object_set_new(p, "session_id", json_string(buf));
	v = json_object_get(p, "tool_use_id");
	if (json_is_string(v)) {
		snprintf(buf, sizeof(buf), "%s_%zu", json_string_value(v), k);
		json_object_set_new(p, "tool_use_id", json_string(buf));
	}
	out = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	if (!out)
		die("out of memory");
	return out;
}

static void build_payloads(struct payloads *pl, size_t n)
{
	char *lines[MAX_FIXTURE_LINES];
	size_t nl = load_fixture(lines);

	pl->p = calloc(n, sizeof(*pl->p));
	pl->len = calloc(n, sizeof(*pl->len));
	if (!pl->p || !pl->len)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		pl->p[i] = vary(lines[i % nl], i / nl);
		pl->len[i] = strlen(pl->p[i]);
		pl->bytes += pl->len[i];
	}
	pl->n = n;
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
}

/* ---- the stages ---------------------------------------------------------------------- */

enum stage {
	S_PARSE,
	S_DUMP,
	S_NORM,
	S_CORR,
	S_SER_SORTED,
	S_SER_ORDER,
	S_SER_NORM,
	S_FREE,
	S_COUNT
};

static const char *const stage_name[S_COUNT] = {
	[S_PARSE] = "floor: json_loadb (payload)",
	[S_DUMP] = "floor: json_dumps sorted (payload)",
	[S_NORM] = "norm_event",
	[S_CORR] = "pair_apply",
	[S_SER_SORTED] = "serialize: json_dumps SORT_KEYS",
	[S_SER_ORDER] = "serialize: json_dumps insertion order",
	[S_SER_NORM] = "serialize: norm_serialize",
	[S_FREE] = "json_decref (event)",
};

/* ns per stage over all events of one run. */
static void run_once(const struct payloads *pl, const struct norm_ctx *ctx, uint64_t ns[S_COUNT],
		     size_t *bytes_out)
{
	json_t *ev[BATCH];
	struct pair *corr = NULL;
	struct vbuf out;
	char err[256];
	size_t bytes = 0;

	if (pair_new(NULL, &corr) < 0)
		die("cannot make a correlator");
	vbuf_init(&out, 64u * 1024u * 1024u);
	memset(ns, 0, S_COUNT * sizeof(ns[0]));
	for (size_t b = 0; b < pl->n; b += BATCH) {
		size_t m = pl->n - b < BATCH ? pl->n - b : BATCH;
		uint64_t t0, t1, t2;

		/* The floor: what jansson costs for the payload alone. */
		t0 = cpu_ns();
		for (size_t i = 0; i < m; i++)
			if (!(ev[i] = json_loadb(pl->p[b + i], pl->len[b + i], 0, NULL)))
				die("json_loadb failed");
		t1 = cpu_ns();
		for (size_t i = 0; i < m; i++) {
			char *s = json_dumps(ev[i], JSON_COMPACT | JSON_SORT_KEYS);

			if (!s)
				die("out of memory");
			vg_free(s);
		}
		t2 = cpu_ns();
		ns[S_PARSE] += t1 - t0;
		ns[S_DUMP] += t2 - t1;
		for (size_t i = 0; i < m; i++)
			json_decref(ev[i]);

		/* The pipeline. */
		t0 = cpu_ns();
		for (size_t i = 0; i < m; i++) {
			uint64_t now = BASE_NS + (uint64_t)(b + i) * 1000000ull;
			struct norm_envelope env = { .recv_ns = now, .pid = 4242, .ppid = 4241,
						     .uid = 1000, .agent_version = "2.1.197",
						     .id = "019ab000-0000-7000-8000-000000000000" };

			if (norm_event(ctx, &env, pl->p[b + i], pl->len[b + i], &ev[i], err,
				       sizeof(err)) < 0)
				die("norm_event: %s", err);
		}
		t1 = cpu_ns();
		ns[S_NORM] += t1 - t0;
		for (size_t i = 0; i < m; i++)
			if (pair_apply(corr, ev[i], BASE_NS + (uint64_t)(b + i) * 1000000ull) < 0)
				die("pair_apply failed");
		t2 = cpu_ns();
		ns[S_CORR] += t2 - t1;

		t0 = cpu_ns();
		for (size_t i = 0; i < m; i++) {
			char *s = json_dumps(ev[i], JSON_COMPACT | JSON_SORT_KEYS);

			if (!s)
				die("out of memory");
			bytes += strlen(s);
			vg_free(s);
		}
		t1 = cpu_ns();
		ns[S_SER_SORTED] += t1 - t0;
		for (size_t i = 0; i < m; i++) {
			char *s = json_dumps(ev[i], JSON_COMPACT);

			if (!s)
				die("out of memory");
			vg_free(s);
		}
		t2 = cpu_ns();
		ns[S_SER_ORDER] += t2 - t1;
		t0 = cpu_ns();
		for (size_t i = 0; i < m; i++) {
			vbuf_reset(&out);
			if (norm_serialize(ev[i], &out) < 0)
				die("norm_serialize failed");
		}
		t1 = cpu_ns();
		ns[S_SER_NORM] += t1 - t0;
		t0 = cpu_ns();
		for (size_t i = 0; i < m; i++)
			json_decref(ev[i]);
		ns[S_FREE] += cpu_ns() - t0;

		/* Abandoned calls are collected by a timer in the daemon: not timed. */
		{
			json_t *ab[64];
			size_t k = 0;

			do {
				if (pair_expire(corr, BASE_NS + (uint64_t)(b + m) * 1000000ull, ab,
						VG_ARRAY_LEN(ab), &k) < 0)
					die("pair_expire failed");
				for (size_t i = 0; i < k; i++)
					json_decref(ab[i]);
			} while (k == VG_ARRAY_LEN(ab));
		}
	}
	vbuf_release(&out);
	pair_free(corr);
	*bytes_out = bytes;
}

/* norm_serialize must give json_dumps' bytes for every event, or the figures lie. */
static void check_same(const struct payloads *pl, const struct norm_ctx *ctx)
{
	struct pair *corr = NULL;
	struct vbuf out;
	char err[256];

	if (pair_new(NULL, &corr) < 0)
		die("cannot make a correlator");
	vbuf_init(&out, 64u * 1024u * 1024u);
	for (size_t i = 0; i < pl->n && i < 10000; i++) {
		json_t *ev = NULL;
		char *s;

		if (norm_event(ctx, NULL, pl->p[i], pl->len[i], &ev, err, sizeof(err)) < 0)
			die("norm_event: %s", err);
		if (pair_apply(corr, ev, BASE_NS + i) < 0)
			die("pair_apply failed");
		s = json_dumps(ev, JSON_COMPACT | JSON_SORT_KEYS);
		vbuf_reset(&out);
		if (!s || norm_serialize(ev, &out) < 0)
			die("serialization failed");
		if (strlen(s) != out.len || memcmp(s, out.data, out.len) != 0)
			die("norm_serialize differs from json_dumps for event %zu", i);
		vg_free(s);
		json_decref(ev);
	}
	vbuf_release(&out);
	pair_free(corr);
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static double median_per_event(uint64_t v[MAX_RUNS], int runs, size_t n)
{
	uint64_t s[MAX_RUNS];

	memcpy(s, v, (size_t)runs * sizeof(s[0]));
	qsort(s, (size_t)runs, sizeof(s[0]), cmp_u64);
	return (double)s[runs / 2] / (double)n;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: pipeline_bench [--events N] [--runs N] [--quick]\n"
		   "  --events N   events per run (default 200000)\n"
		   "  --runs N     runs; figures are medians (default 5, at most %d)\n"
		   "  --quick      20000 events, 1 run (a smoke run)\n",
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
	struct norm_options no = { .host = "benchhost", .user = "bench" };
	struct norm_ctx *ctx = NULL;
	struct payloads pl = { 0 };
	uint64_t ns[S_COUNT][MAX_RUNS], one[S_COUNT], whole[MAX_RUNS], whole_old[MAX_RUNS];
	size_t events = 200000, bytes = 0;
	int runs = 5, c;
	double w, wo;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'e':
			events = strtoul(optarg, NULL, 10);
			if (events == 0 || events > 10000000)
				die("--events must be 1-10000000");
			break;
		case 'r':
			runs = atoi(optarg);
			if (runs < 1 || runs > MAX_RUNS)
				die("--runs must be 1-%d", MAX_RUNS);
			break;
		case 'q':
			events = 20000;
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
	if (optind < argc) {
		usage(stderr);
		return 2;
	}
	/* As vigild does: jansson allocates through vigil's wrapper. */
	json_set_alloc_funcs(vg_malloc, vg_free);
	if (norm_ctx_new(&no, &ctx) < 0)
		die("cannot set up the normalizer");
	build_payloads(&pl, events);
	check_same(&pl, ctx);

	for (int r = 0; r < runs; r++) {
		run_once(&pl, ctx, one, &bytes);
		for (int s = 0; s < S_COUNT; s++)
			ns[s][r] = one[s];
		whole[r] = one[S_NORM] + one[S_CORR] + one[S_SER_NORM] + one[S_FREE];
		whole_old[r] = one[S_NORM] + one[S_CORR] + one[S_SER_SORTED] + one[S_FREE];
	}

	printf("pipeline_bench: %zu events (%.0f payload bytes and %.0f event bytes on "
	       "average), median of %d run%s\n",
	       pl.n, (double)pl.bytes / (double)pl.n, (double)bytes / (double)pl.n, runs,
	       runs == 1 ? "" : "s");
	printf("%-40s %10s\n", "stage", "ns/event");
	for (int s = 0; s < S_COUNT; s++) {
		printf("%-40s %10.0f\n", stage_name[s], median_per_event(ns[s], runs, pl.n));
	}
	w = median_per_event(whole, runs, pl.n);
	printf("%-40s %10.0f   %9.0f events/s\n", "whole (norm_serialize)", w, 1e9 / w);
	wo = median_per_event(whole_old, runs, pl.n);
	printf("%-40s %10.0f   %9.0f events/s\n", "whole (json_dumps SORT_KEYS)", wo, 1e9 / wo);
	{
		double f = median_per_event(ns[S_PARSE], runs, pl.n) +
			   median_per_event(ns[S_DUMP], runs, pl.n);

		printf("%-40s %10.0f   %9.0f events/s\n", "floor (parse + dump the payload)", f,
		       1e9 / f);
	}
	for (size_t i = 0; i < pl.n; i++)
		vg_free(pl.p[i]);
	free(pl.p);
	free(pl.len);
	norm_ctx_free(ctx);
	return 0;
}
