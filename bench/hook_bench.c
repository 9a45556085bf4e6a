/*
 * hook_bench.c - wall time per invocation of hook commands, side by side.
 *
 *   hook_bench [-n RUNS] [-w WARMUP] [-p PAYLOAD_FILE] [--json] ROW...
 *
 * A ROW is "NAME|ENV|ARGV": NAME a label, ENV space-separated VAR=value
 * settings added to the environment (may be empty), ARGV the command split
 * on spaces (no quoting: the driver script bench/hook_bench keeps its paths
 * free of spaces).  Each run spawns the command the way an agent does: the
 * payload in a pipe on stdin (written and closed before the spawn; it must
 * fit the 64 KiB pipe buffer), stdout and stderr to /dev/null; the time is
 * from just before posix_spawn() to waitpid() returning.  Rows are run
 * round-robin, so drift in machine load hits every row alike.  The first
 * row is the baseline of the ratio column.  A run that exits non-zero is
 * counted and reported, and its time still counts.
 *
 * Exit status: 0 when every row ran, 1 on a usage error or a row whose
 * command could not be spawned.  Whether a figure meets its target is for
 * the reader of the output, never the exit status.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define MAX_ROWS 16
#define MAX_ARGS 32
#define MAX_ENV 512
#define MAX_PAYLOAD 65536

struct row {
	char *name;
	char *argv[MAX_ARGS + 1];
	char *envp[MAX_ENV + 1];
	double *ms;
	int failures;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
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

/* Splits "NAME|ENV|ARGV" in place.  0 or -EINVAL. */
static int parse_row(char *spec, struct row *r)
{
	char *env = strchr(spec, '|'), *cmd, *save = NULL, *tok;
	int ne = 0, na = 0;

	if (!env)
		return -EINVAL;
	*env++ = 0;
	cmd = strchr(env, '|');
	if (!cmd)
		return -EINVAL;
	*cmd++ = 0;
	r->name = spec;
	/* The row's settings first, so they win over inherited ones. */
	for (tok = strtok_r(env, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (!strchr(tok, '=') || ne >= MAX_ENV)
			return -EINVAL;
		r->envp[ne++] = tok;
	}
	for (char **e = environ; *e && ne < MAX_ENV; e++) {
		size_t klen = strcspn(*e, "=");
		int dup = 0;

		for (int i = 0; i < ne && !dup; i++)
			dup = strncmp(r->envp[i], *e, klen + 1) == 0;
		if (!dup)
			r->envp[ne++] = *e;
	}
	r->envp[ne] = NULL;
	save = NULL;
	for (tok = strtok_r(cmd, " ", &save); tok; tok = strtok_r(NULL, " ", &save)) {
		if (na >= MAX_ARGS)
			return -EINVAL;
		r->argv[na++] = tok;
	}
	r->argv[na] = NULL;
	return na > 0 ? 0 : -EINVAL;
}

/* One invocation: milliseconds, or a negative value when it cannot spawn. */
static double run_once(struct row *r, const char *payload, size_t plen, int devnull)
{
	posix_spawn_file_actions_t fa;
	int pfd[2], st;
	uint64_t t0;
	pid_t pid;
	int rc;

	if (pipe2(pfd, O_CLOEXEC) < 0)
		return -1;
	if (plen && write(pfd[1], payload, plen) != (ssize_t)plen) {
		close(pfd[0]);
		close(pfd[1]);
		return -1;
	}
	close(pfd[1]);
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, pfd[0], 0);
	posix_spawn_file_actions_adddup2(&fa, devnull, 1);
	posix_spawn_file_actions_adddup2(&fa, devnull, 2);
	t0 = now_ns();
	rc = posix_spawn(&pid, r->argv[0], &fa, NULL, r->argv, r->envp);
	posix_spawn_file_actions_destroy(&fa);
	close(pfd[0]);
	if (rc != 0) {
		fprintf(stderr, "hook_bench: %s: cannot run %s: %s\n", r->name, r->argv[0],
			strerror(rc));
		return -1;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
		r->failures++;
	return (double)(now_ns() - t0) / 1e6;
}

static void usage(FILE *f)
{
	fprintf(f, "usage: hook_bench [-n RUNS] [-w WARMUP] [-p PAYLOAD_FILE] [--json] "
		   "NAME|ENV|ARGV...\n");
}

int main(int argc, char **argv)
{
	static struct row rows[MAX_ROWS];
	static char payload[MAX_PAYLOAD];
	size_t plen = 0;
	int nrows = 0, runs = 200, warmup = 10, json = 0, devnull, rc = 0;
	double base = 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];

		if ((strcmp(a, "-n") == 0 || strcmp(a, "-w") == 0) && i + 1 < argc) {
			int v = atoi(argv[++i]);

			if (v < (a[1] == 'n' ? 1 : 0) || v > 1000000) {
				fprintf(stderr, "hook_bench: bad count '%s'\n", argv[i]);
				return 1;
			}
			if (a[1] == 'n')
				runs = v;
			else
				warmup = v;
		} else if (strcmp(a, "-p") == 0 && i + 1 < argc) {
			FILE *f = fopen(argv[++i], "rb");

			if (!f) {
				fprintf(stderr, "hook_bench: %s: %s\n", argv[i], strerror(errno));
				return 1;
			}
			plen = fread(payload, 1, sizeof(payload), f);
			if (!feof(f)) {
				fprintf(stderr, "hook_bench: payload over %d bytes\n", MAX_PAYLOAD);
				fclose(f);
				return 1;
			}
			fclose(f);
		} else if (strcmp(a, "--json") == 0) {
			json = 1;
		} else if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage(stdout);
			return 0;
		} else if (a[0] == '-') {
			usage(stderr);
			return 1;
		} else {
			if (nrows >= MAX_ROWS || parse_row(argv[i], &rows[nrows]) < 0) {
				fprintf(stderr, "hook_bench: bad row '%s' (NAME|ENV|ARGV)\n", a);
				return 1;
			}
			rows[nrows].ms = calloc((size_t)runs, sizeof(double));
			if (!rows[nrows].ms)
				return 1;
			nrows++;
		}
	}
	if (nrows == 0) {
		usage(stderr);
		return 1;
	}
	devnull = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (devnull < 0)
		return 1;
	for (int w = 0; w < warmup; w++)
		for (int r = 0; r < nrows; r++)
			if (run_once(&rows[r], payload, plen, devnull) < 0)
				return 1;
	for (int r = 0; r < nrows; r++)
		rows[r].failures = 0;
	for (int i = 0; i < runs; i++)
		for (int r = 0; r < nrows; r++) {
			double ms = run_once(&rows[r], payload, plen, devnull);

			if (ms < 0)
				return 1;
			rows[r].ms[i] = ms;
		}

	if (json)
		printf("{\"runs\":%d,\"payload_bytes\":%zu,\"rows\":[", runs, plen);
	else
		printf("%-34s %6s %10s %10s %10s %8s %6s\n", "hook", "runs", "median ms", "p90 ms",
		       "mean ms", "x no-op", "fails");
	for (int r = 0; r < nrows; r++) {
		struct row *w = &rows[r];
		double sum = 0, med, p90;

		for (int i = 0; i < runs; i++)
			sum += w->ms[i];
		qsort(w->ms, (size_t)runs, sizeof(double), cmp_double);
		med = pct(w->ms, runs, 50);
		p90 = pct(w->ms, runs, 90);
		if (r == 0)
			base = med;
		if (json)
			printf("%s{\"name\":\"%s\",\"median_ms\":%.4f,\"p90_ms\":%.4f,"
			       "\"mean_ms\":%.4f,\"ratio\":%.3f,\"failures\":%d}",
			       r ? "," : "", w->name, med, p90, sum / runs, med / base, w->failures);
		else
			printf("%-34s %6d %10.3f %10.3f %10.3f %8.2f %6d\n", w->name, runs, med, p90,
			       sum / runs, med / base, w->failures);
		free(w->ms);
	}
	if (json)
		printf("]}\n");
	close(devnull);
	return rc;
}
