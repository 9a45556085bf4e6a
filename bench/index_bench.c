/*
 * index_bench.c - how fast the SQLite index takes events, with each of its
 * ingest optimizations added one at a time, side by side in one run.
 * docs/benchmarks.md ("Index") explains the figures; bench/meson.build
 * builds it.
 *
 * The events: the real Claude Code capture (session-rich.hooks.jsonl, 24
 * hook payloads) replayed as many sessions as it takes to reach --events,
 * each with its own session id and tool_use_ids, through the normalizer
 * (norm_event) and the correlator (pair_apply), serialized as the daemon
 * does (json_dumps COMPACT | SORT_KEYS).  Building them is not timed.
 *
 * What it times (median of --runs runs, each into a fresh index file under
 * --dir, which should be a real disk; the runs of all rows are interleaved,
 * so a load that drifts during the run touches every row alike):
 *
 *   idx_add       every event through idx_add, in transactions of --batch
 *                 records (idx_begin .. idx_commit), for each variant: the
 *                 schema version 1 code path (no optimization), then the
 *                 optimizations added one by one (enum idx_tune).  events/s
 *                 is wall time; CPU us/event is the process's user+system
 *                 time, which a loaded machine distorts less.
 *   sync          idx_sync_ledger into a fresh index from a ledger holding
 *                 the same events (the daemon's catch-up, `vigil reindex`).
 *   re-sync       idx_sync_ledger when the index is already current: it
 *                 used to read the whole ledger (timed as a full reader
 *                 walk); ledger_reader_open_at now starts at the end.
 *
 * Benchmarks are not tests: the exit status never depends on the figures.
 */
#include "idx.h"
#include "idx_int.h"
#include "ledger.h"
#include "pipeline.h"

#include <errno.h>
#include <ftw.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#ifndef FIXTURE
#error "FIXTURE must name the session-rich.hooks.jsonl capture"
#endif

#define MAX_RUNS 15
#define MAX_BATCHES 4
#define MAX_FIXTURE_LINES 256
#define BASE_NS 1763899620000000000ull /* 2025-11-23T12:07:00Z */

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("index_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static uint64_t cpu_ns(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ((uint64_t)ru.ru_utime.tv_sec + (uint64_t)ru.ru_stime.tv_sec) * 1000000000ull +
	       ((uint64_t)ru.ru_utime.tv_usec + (uint64_t)ru.ru_stime.tv_usec) * 1000ull;
}

/* ---- the events ------------------------------------------------------------------ */

struct events {
	char **json;
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
		if (got > 1)
			lines[n++] = strdup(line);
	}
	free(line);
	fclose(f);
	if (!n)
		die("%s holds no payloads", FIXTURE);
	return n;
}

/* Gives a fixture payload the ids of replayed session k. */
static char *vary(const char *line, size_t k)
{
	json_t *p = json_loads(line, 0, NULL);
	json_t *v;
	char buf[128], *out;

	if (!json_is_object(p))
		die("a fixture line is not a JSON object");
	snprintf(buf, sizeof(buf), "%08zx-5e55-4000-8000-%012zx", k, k * 2654435761u);
	json_object_set_new(p, "session_id", json_string(buf));
	v = json_object_get(p, "tool_use_id");
	if (json_is_string(v)) {
		snprintf(buf, sizeof(buf), "%s_%zu", json_string_value(v), k);
		json_object_set_new(p, "tool_use_id", json_string(buf));
	}
	out = json_dumps(p, JSON_COMPACT);
	json_decref(p);
	return out;
}

static void build_events(struct events *ev, size_t n)
{
	char *lines[MAX_FIXTURE_LINES];
	size_t nl = load_fixture(lines);
	struct norm_options no = { .host = "benchhost", .user = "bench" };
	struct norm_ctx *ctx = NULL;
	struct pair *corr = NULL;
	char err[256];

	if (norm_ctx_new(&no, &ctx) < 0 || pair_new(NULL, &corr) < 0)
		die("cannot set up the normalizer");
	ev->json = calloc(n, sizeof(*ev->json));
	ev->len = calloc(n, sizeof(*ev->len));
	if (!ev->json || !ev->len)
		die("out of memory");
	for (size_t i = 0; i < n; i++) {
		uint64_t now = BASE_NS + (uint64_t)i * 1000000ull; /* 1 ms apart */
		struct norm_envelope env = { .recv_ns = now, .pid = -1, .ppid = -1, .uid = -1,
					     .agent_version = "2.1.197" };
		char *payload = vary(lines[i % nl], i / nl);
		json_t *e = NULL;

		if (norm_event(ctx, &env, payload, strlen(payload), &e, err, sizeof(err)) < 0)
			die("norm_event: %s", err);
		if (pair_apply(corr, e, now) < 0)
			die("pair_apply failed");
		ev->json[i] = json_dumps(e, JSON_COMPACT | JSON_SORT_KEYS);
		if (!ev->json[i])
			die("out of memory");
		ev->len[i] = strlen(ev->json[i]);
		ev->bytes += ev->len[i];
		json_decref(e);
		vg_free(payload);
	}
	ev->n = n;
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
	pair_free(corr);
	norm_ctx_free(ctx);
}

/* ---- idx_add ----------------------------------------------------------------------- */

struct variant {
	const char *name;
	unsigned tune;
	bool parsed; /* the events are handed over parsed (idx_add_event) */
};

/* Cumulative: each row adds one optimization to the row above. */
enum {
	T1 = IDX_TUNE_STMTS,
	T2 = T1 | IDX_TUNE_BINDS,
	T3 = T2 | IDX_TUNE_PRAGMAS,
	T4 = T3 | IDX_TUNE_INDEXES,
	T5 = T4 | IDX_TUNE_FTS,
	T6 = T5 | IDX_TUNE_AGENTS,
	T7 = T6 | IDX_TUNE_SESSIONS,
};
_Static_assert((unsigned)T7 == (unsigned)IDX_TUNE_ALL, "a tuning bit is missing from the table");

static const struct variant variants[] = {
	{ .name = "schema v1 code path (before)", .tune = 0 },
	{ .name = "+ prepared savepoints, seq probe per tx", .tune = T1 },
	{ .name = "+ strings bound without copies", .tune = T2 },
	{ .name = "+ 64 MiB cache, WAL size limit", .tune = T3 },
	{ .name = "+ lean/partial indexes", .tune = T4 },
	{ .name = "+ FTS: searched text only", .tune = T5 },
	{ .name = "+ agent rows only when changed", .tune = T6 },
	{ .name = "+ sessions merged per tx (= idx_add now)", .tune = T7 },
	{ .name = "+ handed over parsed (idx_add_event)", .tune = T7, .parsed = true },
	{ .name = "+ synchronous=OFF (not used)", .tune = T7 | IDX_TUNE_SYNC_OFF, .parsed = true },
};

struct result {
	double rate, cpu_us; /* events/s, CPU us per event */
};

static void remove_index(const char *path)
{
	char p[4300];

	unlink(path);
	snprintf(p, sizeof(p), "%s-wal", path);
	unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	unlink(p);
}

static struct result run_add(const char *path, const struct variant *v,
			     const struct events *ev, size_t batch)
{
	struct idx *ix = NULL;
	json_t **parsed = NULL;
	char err[512];
	uint64_t wall = 0, cpu = 0;
	int rc;

	remove_index(path);
	if (idx_open_tuned(path, IDX_CREATE, v->tune, &ix, err, sizeof(err)) < 0)
		die("idx_open: %s", err);
	if (v->parsed && !(parsed = calloc(batch, sizeof(*parsed))))
		die("out of memory");
	for (size_t i = 0; i < ev->n; i += batch) {
		size_t end = i + batch < ev->n ? i + batch : ev->n;
		uint64_t t0, c0;

		/* The daemon has the objects already: parsing them is not timed. */
		for (size_t k = i; parsed && k < end; k++)
			if (!(parsed[k - i] = json_loadb(ev->json[k], ev->len[k], 0, NULL)))
				die("cannot parse event %zu", k);
		t0 = mono_ns();
		c0 = cpu_ns();
		if ((rc = idx_begin(ix)) < 0)
			die("idx_begin: %s", strerror(-rc));
		for (size_t k = i; k < end; k++) {
			uint64_t seq = k + 1, t = BASE_NS + k * 1000000ull;

			rc = parsed ? idx_add_event(ix, seq, t, parsed[k - i], ev->json[k], ev->len[k],
						    err, sizeof(err))
				    : idx_add(ix, seq, t, ev->json[k], ev->len[k], err, sizeof(err));
			if (rc < 0)
				die("idx_add %zu: %s", k + 1, err);
		}
		if ((rc = idx_commit(ix)) < 0)
			die("idx_commit: %s", strerror(-rc));
		wall += mono_ns() - t0;
		cpu += cpu_ns() - c0;
		for (size_t k = i; parsed && k < end; k++)
			json_decref(parsed[k - i]);
	}
	free(parsed);
	idx_close(ix);
	return (struct result){ ev->n / ((double)wall / 1e9), (double)cpu / 1e3 / (double)ev->n };
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- the ledger -------------------------------------------------------------------- */

static void write_ledger(const char *root, const char *dir, const struct events *ev)
{
	struct ledger_keys_created kc;
	struct ledger_options o = { .dir = dir, .heartbeat_ms = -1 };
	struct ledger *l = NULL;
	char keys[4200], signing[4300], mac[4300], err[512];
	uint64_t seq;
	int rc;

	snprintf(keys, sizeof(keys), "%s/keys", root);
	if (ledger_keys_create(keys, 86400, false, &kc, err, sizeof(err)) < 0)
		die("keys: %s", err);
	snprintf(signing, sizeof(signing), "file:%s", kc.signing_path);
	snprintf(mac, sizeof(mac), "file:%s", kc.mac_path);
	o.signing_key = signing;
	o.mac_key = mac;
	if (ledger_open(&o, &l, NULL, err, sizeof(err)) < 0)
		die("ledger_open: %s", err);
	for (size_t i = 0; i < ev->n; i++)
		if ((rc = ledger_append(l, LEDGER_REC_EVENT, ev->json[i], ev->len[i], &seq)) < 0)
			die("ledger_append: %s", strerror(-rc));
	if ((rc = ledger_close(l)) < 0)
		die("ledger_close: %s", strerror(-rc));
}

/* Reads every record, as each idx_sync_ledger call did before it could seek. */
static uint64_t read_all(const char *dir, uint64_t from, uint64_t *records)
{
	struct ledger_reader *r = NULL;
	struct ledger_record rec;
	char err[512];
	uint64_t t0 = mono_ns();
	int rc;

	*records = 0;
	if (ledger_reader_open_at(dir, from, &r, err, sizeof(err)) < 0)
		die("ledger_reader_open_at: %s", err);
	while ((rc = ledger_reader_next(r, &rec, err, sizeof(err))) > 0)
		(*records)++;
	if (rc < 0)
		die("reader: %s", err);
	ledger_reader_free(r);
	return mono_ns() - t0;
}

static void bench_sync(const char *root, const struct events *ev, int runs)
{
	char ledger[4200], path[4200], err[512];
	double rate[MAX_RUNS], resync[MAX_RUNS], walk[MAX_RUNS], seek[MAX_RUNS];
	uint64_t records = 0, tail = 0;

	snprintf(ledger, sizeof(ledger), "%s/ledger", root);
	snprintf(path, sizeof(path), "%s/sync.db", root);
	write_ledger(root, ledger, ev);
	for (int r = 0; r < runs; r++) {
		struct idx *ix = NULL;
		uint64_t t0;

		remove_index(path);
		if (idx_open(path, IDX_CREATE, &ix, err, sizeof(err)) < 0)
			die("idx_open: %s", err);
		t0 = mono_ns();
		if (idx_sync_ledger(ix, ledger, NULL, NULL, err, sizeof(err)) < 0)
			die("idx_sync_ledger: %s", err);
		rate[r] = ev->n / ((double)(mono_ns() - t0) / 1e9);
		t0 = mono_ns();
		if (idx_sync_ledger(ix, ledger, NULL, NULL, err, sizeof(err)) < 0)
			die("idx_sync_ledger: %s", err);
		resync[r] = (double)(mono_ns() - t0) / 1e6;
		idx_close(ix);
		walk[r] = (double)read_all(ledger, 0, &records) / 1e6;
		seek[r] = (double)read_all(ledger, ev->n + 1, &tail) / 1e6;
	}
	printf("\nidx_sync_ledger from a ledger of the same %zu events (%" PRIu64
	       " records with seals), fresh index, batches of %u:\n",
	       ev->n, records, IDX_SYNC_BATCH);
	printf("  %-44s %10.0f events/s\n", "sync", median(rate, runs));
	printf("  %-44s %10.2f ms\n", "re-sync with nothing new (now: seeks)", median(resync, runs));
	printf("  %-44s %10.2f ms (%" PRIu64 " records)\n",
	       "reading the whole ledger (every sync before)", median(walk, runs), records);
	printf("  %-44s %10.2f ms (%" PRIu64 " records)\n", "ledger_reader_open_at(last event + 1)",
	       median(seek, runs), tail);
	remove_index(path);
}

/* ---- main ---------------------------------------------------------------------------- */

static int remove_entry(const char *p, const struct stat *st, int type, struct FTW *ftw)
{
	return remove(p);
}

static void usage(FILE *f)
{
	fprintf(f, "usage: index_bench [--events N] [--runs N] [--batch N[,N...]] [--dir DIR]\n"
		   "                   [--quick] [--no-sync]\n"
		   "  --events N   events to index (default 100000)\n"
		   "  --runs N     runs per figure, the median is printed (default 3, at most %d)\n"
		   "  --batch LIST records per transaction (default 1000,5000)\n"
		   "  --dir DIR    where the index files go: a real disk (default $TMPDIR or\n"
		   "               /var/tmp)\n"
		   "  --variants LIST  only these rows of the table (0: before, %zu: now)\n"
		   "  --quick      5000 events, 1 run (a smoke run)\n"
		   "  --no-sync    skip the idx_sync_ledger figures\n",
		MAX_RUNS, VG_ARRAY_LEN(variants) - 1);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "events", required_argument, NULL, 'n' }, { "runs", required_argument, NULL, 'r' },
		{ "batch", required_argument, NULL, 'b' },  { "dir", required_argument, NULL, 'd' },
		{ "quick", no_argument, NULL, 'q' },	    { "no-sync", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },	    { "variants", required_argument, NULL, 'v' },
		{ 0 }
	};
	bool only[VG_ARRAY_LEN(variants)] = { 0 }, some = false;
	size_t n = 100000, batches[MAX_BATCHES] = { 1000, 5000 }, nb = 2;
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/var/tmp";
	char root[4096], path[4200];
	static double rate[VG_ARRAY_LEN(variants)][MAX_BATCHES][MAX_RUNS],
		cpu[VG_ARRAY_LEN(variants)][MAX_BATCHES][MAX_RUNS];
	struct events ev = { 0 };
	bool sync = true;
	int runs = 3, c;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;

		switch (c) {
		case 'n':
			n = strtoul(optarg, &end, 10);
			if (*end || n < 1 || n > 10000000)
				die("--events: 1 to 10000000");
			break;
		case 'r':
			runs = (int)strtol(optarg, &end, 10);
			if (*end || runs < 1 || runs > MAX_RUNS)
				die("--runs: 1 to %d", MAX_RUNS);
			break;
		case 'b': {
			char *p = optarg;

			for (nb = 0; *p && nb < MAX_BATCHES; nb++) {
				batches[nb] = strtoul(p, &end, 10);
				if (end == p || batches[nb] < 1 || batches[nb] > 1000000 ||
				    (*end && *end != ','))
					die("--batch: numbers from 1 to 1000000, comma-separated");
				p = *end ? end + 1 : end;
			}
			if (*p)
				die("--batch: at most %d sizes", MAX_BATCHES);
			break;
		}
		case 'd':
			base = optarg;
			break;
		case 'v':
			for (char *p = optarg; *p;) {
				unsigned long k = strtoul(p, &end, 10);

				if (end == p || k >= VG_ARRAY_LEN(variants) || (*end && *end != ','))
					die("--variants: row numbers from 0 to %zu, comma-separated",
					    VG_ARRAY_LEN(variants) - 1);
				only[k] = some = true;
				p = *end ? end + 1 : end;
			}
			break;
		case 'q':
			n = 5000;
			runs = 1;
			break;
		case 's':
			sync = false;
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
	json_set_alloc_funcs(vg_malloc, vg_free);
	snprintf(root, sizeof(root), "%s/vigil-index-bench-XXXXXX", base);
	if (!mkdtemp(root))
		die("cannot create a directory in '%s': %s", base, strerror(errno));
	snprintf(path, sizeof(path), "%s/index.db", root);

	{
		uint64_t t0 = mono_ns();

		build_events(&ev, n);
		fprintf(stderr, "index_bench: built %zu events in %.1f s\n", n,
			(double)(mono_ns() - t0) / 1e9);
	}
	printf("index_bench: %zu events (the %s fixture replayed as %zu sessions), %.0f B of JSON"
	       " per event on average; median of %d run%s; index files in %s\n",
	       ev.n, "claude-code-2.1.197", (ev.n + 23) / 24, (double)ev.bytes / (double)ev.n,
	       runs, runs > 1 ? "s" : "", root);
	printf("\n%-42s", "idx_add, records per transaction:");
	for (size_t b = 0; b < nb; b++)
		printf(" %9zu %11s", batches[b], "");
	printf("\n%-42s", "variant (each adds one optimization)");
	for (size_t b = 0; b < nb; b++)
		printf(" %9s %11s", "events/s", "CPU us/ev");
	printf("\n");
	/* Run r of every variant and batch size, then run r + 1 of all: on a
	 * shared machine the load drifts, and interleaving spreads the drift
	 * over every row instead of favouring the rows that ran in a quiet
	 * minute. */
	for (int r = 0; r < runs; r++) {
		for (size_t v = 0; v < VG_ARRAY_LEN(variants); v++) {
			if (some && !only[v])
				continue;
			for (size_t b = 0; b < nb; b++) {
				struct result res = run_add(path, &variants[v], &ev, batches[b]);

				rate[v][b][r] = res.rate;
				cpu[v][b][r] = res.cpu_us;
			}
		}
		fprintf(stderr, "index_bench: round %d of %d done\n", r + 1, runs);
	}
	for (size_t v = 0; v < VG_ARRAY_LEN(variants); v++) {
		if (some && !only[v])
			continue;
		printf("%-42s", variants[v].name);
		for (size_t b = 0; b < nb; b++)
			printf(" %9.0f %11.1f", median(rate[v][b], runs), median(cpu[v][b], runs));
		printf("\n");
	}
	remove_index(path);
	if (sync)
		bench_sync(root, &ev, runs);
	for (size_t i = 0; i < ev.n; i++)
		vg_free(ev.json[i]);
	free(ev.json);
	free(ev.len);
	if (nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS) < 0)
		fprintf(stderr, "index_bench: could not remove %s\n", root);
	return 0;
}
