/*
 * effects_bench.c - how fast commands are understood with their effects:
 * sh_parse alone, sh_parse + fx_from_shell (paths normalized, no file
 * system), and sh_parse + fx_from_shell resolving against the file system,
 * over the command lines of tests/shell/corpus.txt (here-documents joined).
 *
 * Each mode goes through --commands command lines (the corpus's in turn);
 * figures are the median over --runs runs of the thread's CPU time: ns per
 * command line and command lines/s on one core.  Benchmarks are not tests:
 * the exit status only says whether it ran.
 *
 *   effects_bench [--commands N] [--runs R] [--quick]
 */
#include "effects.h"

#include <getopt.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#ifndef CORPUS
#error "CORPUS must name tests/shell/corpus.txt"
#endif

#define MAX_RUNS 15
#define MAX_CASES 4096

struct line {
	char *s;
	size_t len;
};

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static size_t load(struct line *v)
{
	FILE *f = fopen(CORPUS, "r");
	char *l = NULL;
	size_t cap = 0, n = 0;
	ssize_t got;

	if (!f)
		return 0;
	while ((got = getline(&l, &cap, f)) >= 0) {
		if (got && l[got - 1] == '\n')
			l[--got] = '\0';
		if (l[0] == '$' && l[1] == ' ' && n < MAX_CASES) {
			v[n].s = strdup(l + 2);
			v[n].len = strlen(l + 2);
			n++;
		} else if (n && l[0] == '>' && (l[1] == ' ' || !l[1])) {
			size_t add = l[1] ? strlen(l + 2) : 0;
			char *c = realloc(v[n - 1].s, v[n - 1].len + add + 2);

			if (!c)
				exit(2);
			c[v[n - 1].len] = '\n';
			memcpy(c + v[n - 1].len + 1, l[1] ? l + 2 : "", add + 1);
			v[n - 1].s = c;
			v[n - 1].len += add + 1;
		}
	}
	free(l);
	fclose(f);
	return n;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* mode 0: sh_parse; 1: + effects; 2: + effects resolved.  ns per command. */
static double one_run(const struct line *v, size_t n, size_t total, int mode, size_t *effects)
{
	struct sh_opts so = { .cwd = "/tmp", .home = getenv("HOME"), .user = "u" };
	struct fx_opts fo = { .project = "/tmp", .home = getenv("HOME"), .resolve = mode == 2 };
	uint64_t t0 = cpu_ns();

	for (size_t i = 0; i < total; i++) {
		const struct line *l = &v[i % n];
		struct sh_result *r = NULL;
		struct fx_result *fx = NULL;

		if (sh_parse(l->s, l->len, &so, &r) < 0)
			continue;
		if (mode && fx_from_shell(r, &fo, &fx) == 0) {
			*effects += fx->n;
			fx_result_free(fx);
		}
		sh_result_free(r);
	}
	return (double)(cpu_ns() - t0) / (double)total;
}

int main(int argc, char **argv)
{
	static struct line v[MAX_CASES];
	size_t n = load(v), total = 100000, runs = 5;
	static const char *const names[] = { "sh_parse", "sh_parse + effects",
					     "sh_parse + effects, resolved" };
	int c;

	while ((c = getopt_long(argc, argv, "",
				(const struct option[]){ { "commands", 1, NULL, 'c' },
							 { "runs", 1, NULL, 'r' },
							 { "quick", 0, NULL, 'q' },
							 { NULL, 0, NULL, 0 } },
				NULL)) != -1) {
		if (c == 'c')
			total = strtoul(optarg, NULL, 10);
		else if (c == 'r')
			runs = strtoul(optarg, NULL, 10);
		else if (c == 'q')
			total = 5000, runs = 1;
		else
			return 2;
	}
	if (!n || !total || !runs || runs > MAX_RUNS)
		return 2;
	printf("# %zu command lines of %s, %zu per run, median of %zu runs, one core\n", n, CORPUS,
	       total, runs);
	for (int mode = 0; mode < 3; mode++) {
		uint64_t ns[MAX_RUNS];
		size_t effects = 0;

		for (size_t r = 0; r < runs; r++)
			ns[r] = (uint64_t)(one_run(v, n, total, mode, &effects) * 1000.0);
		qsort(ns, runs, sizeof(*ns), cmp_u64);
		printf("%-30s %8.2f us/command  %9.0f commands/s  (%zu effects/run)\n", names[mode],
		       (double)ns[runs / 2] / 1e6, 1e9 / ((double)ns[runs / 2] / 1000.0),
		       effects / runs);
	}
	for (size_t i = 0; i < n; i++)
		free(v[i].s);
	return 0;
}
