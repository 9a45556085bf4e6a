/*
 * driver.c - runs a libFuzzer-style target (LLVMFuzzerTestOneInput) without
 * libFuzzer, so the normal test suite (gcc, ASan, UBSan) exercises every
 * fuzz target briefly: first over the corpus files, then over a number of
 * deterministic, seeded mutations of them.  It speaks TAP.  A crash or a
 * sanitizer report aborts the run, which fails the test; the input that
 * caused it is written to CRASH_DIR/crash-driver-<n> first.
 *
 *   driver [-n MUTATIONS] [-s SEED] [-o CRASH_DIR] CORPUS_DIR_OR_FILE...
 *
 * scripts/fuzz does the real, coverage-guided libFuzzer runs with clang.
 */
#include "tap.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define DRIVER_MAX_INPUT (1u << 20)

struct input {
	uint8_t *data;
	size_t len;
	char *name;
};

static struct input *inputs;
static size_t ninputs;
static uint64_t rng;

static uint64_t rnd(void)
{
	/* xorshift64*: deterministic for a given seed, on every platform. */
	rng ^= rng >> 12;
	rng ^= rng << 25;
	rng ^= rng >> 27;
	return rng * 0x2545f4914f6cdd1dull;
}

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void add_file(const char *path)
{
	FILE *f = fopen(path, "rbe");
	struct input *ni;
	uint8_t *buf;
	long n;

	if (!f)
		return;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || n > (long)DRIVER_MAX_INPUT ||
	    fseek(f, 0, SEEK_SET) != 0) {
		fclose(f);
		return;
	}
	buf = malloc((size_t)n + 1);
	if (!buf || fread(buf, 1, (size_t)n, f) != (size_t)n) {
		free(buf);
		fclose(f);
		return;
	}
	fclose(f);
	ni = realloc(inputs, (ninputs + 1) * sizeof(*ni));
	if (!ni) {
		free(buf);
		return;
	}
	inputs = ni;
	inputs[ninputs].data = buf;
	inputs[ninputs].len = (size_t)n;
	inputs[ninputs].name = strdup(path);
	ninputs++;
}

/* Files of a directory in name order (readdir order is not deterministic). */
static void add_path(const char *path)
{
	struct stat st;
	DIR *d;
	struct dirent *de;
	char **names = NULL;
	size_t n = 0;

	if (stat(path, &st) < 0)
		return;
	if (!S_ISDIR(st.st_mode)) {
		add_file(path);
		return;
	}
	d = opendir(path);
	if (!d)
		return;
	while ((de = readdir(d))) {
		char **nn;

		if (de->d_name[0] == '.')
			continue;
		nn = realloc(names, (n + 1) * sizeof(*nn));
		if (!nn)
			break;
		names = nn;
		names[n] = malloc(strlen(path) + strlen(de->d_name) + 2);
		if (!names[n])
			break;
		sprintf(names[n], "%s/%s", path, de->d_name);
		n++;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_names);
	for (size_t i = 0; i < n; i++) {
		add_file(names[i]);
		free(names[i]);
	}
	free(names);
}

/* One random edit of buf (len bytes, capacity cap); returns the new length. */
static size_t mutate_once(uint8_t *buf, size_t len, size_t cap)
{
	static const uint32_t interesting[] = { 0, 1, 0x7f, 0x80, 0xff, 0xffff, 0x7fffffff,
						0xffffffff, 60, 96, 59, 61 };
	size_t pos = len ? (size_t)(rnd() % len) : 0;

	switch (rnd() % 10) {
	case 0: /* flip a bit */
		if (len)
			buf[pos] ^= (uint8_t)(1u << (rnd() % 8));
		break;
	case 1: /* a random byte */
		if (len)
			buf[pos] = (uint8_t)rnd();
		break;
	case 2: { /* an interesting little-endian value */
		uint32_t v = interesting[rnd() % (sizeof(interesting) / sizeof(interesting[0]))];
		size_t w = (size_t)1 << (rnd() % 3); /* 1, 2 or 4 bytes */

		for (size_t i = 0; i < w && pos + i < len; i++)
			buf[pos + i] = (uint8_t)(v >> (8 * i));
		break;
	}
	case 3: { /* insert random bytes */
		size_t k = 1 + (size_t)(rnd() % 16);

		if (len + k > cap)
			break;
		memmove(buf + pos + k, buf + pos, len - pos);
		for (size_t i = 0; i < k; i++)
			buf[pos + i] = (uint8_t)rnd();
		len += k;
		break;
	}
	case 4: { /* delete a range */
		size_t k = len ? 1 + (size_t)(rnd() % (len - pos < 64 ? len - pos : 64)) : 0;

		memmove(buf + pos, buf + pos + k, len - pos - k);
		len -= k;
		break;
	}
	case 5: { /* duplicate a range */
		size_t k = len ? 1 + (size_t)(rnd() % (len - pos < 256 ? len - pos : 256)) : 0;

		if (!k || len + k > cap)
			break;
		memmove(buf + pos + k, buf + pos, len - pos);
		len += k;
		break;
	}
	case 6: { /* copy a range over another place */
		size_t from = len ? (size_t)(rnd() % len) : 0;
		size_t k = len ? (size_t)(rnd() % 64) : 0;

		if (from + k > len)
			k = len - from;
		if (pos + k > len)
			k = len - pos;
		memmove(buf + pos, buf + from, k);
		break;
	}
	case 7: /* truncate */
		len = pos;
		break;
	case 8: { /* splice in part of another input */
		const struct input *o = &inputs[rnd() % ninputs];
		size_t from = o->len ? (size_t)(rnd() % o->len) : 0;
		size_t k = o->len - from;

		if (k > 512)
			k = 512;
		if (pos + k > cap)
			k = cap - pos;
		memcpy(buf + pos, o->data + from, k);
		if (pos + k > len)
			len = pos + k;
		break;
	}
	default: /* add or subtract a small number from a byte */
		if (len)
			buf[pos] = (uint8_t)(buf[pos] + (rnd() % 2 ? 1 : -1) * (int)(1 + rnd() % 8));
		break;
	}
	return len;
}

static const char *crash_dir = ".";
static const uint8_t *current;
static size_t current_len;
static unsigned long current_no;

/* On a crash (an oracle's abort(), a sanitizer report with abort_on_error,
 * as meson test sets it, or a fault) save the input that caused it, so it
 * can be replayed: driver CRASH_FILE, or the libFuzzer build. */
static void on_crash(int sig)
{
	char path[600];
	int fd, n;

	n = snprintf(path, sizeof(path), "%s/crash-driver-%lu", crash_dir, current_no);
	if (n > 0 && (fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
		if (current_len && write(fd, current, current_len) < 0)
			n = -1;
		close(fd);
		n = snprintf(path, sizeof(path), "# input saved to %s/crash-driver-%lu\n",
			     crash_dir, current_no);
		if (n > 0 && write(1, path, (size_t)n) < 0)
			n = -1;
	}
	signal(sig, SIG_DFL);
	raise(sig);
}

static void run(const uint8_t *data, size_t len)
{
	/* An exact-size heap copy: ASan sees any read past the end. */
	uint8_t *copy = malloc(len ? len : 1);

	if (!copy)
		return;
	memcpy(copy, data, len);
	current = copy;
	current_len = len;
	LLVMFuzzerTestOneInput(copy, len);
	current = NULL;
	current_len = 0;
	free(copy);
	current_no++;
}

int main(int argc, char **argv)
{
	unsigned long mutations = 1000, done = 0;
	uint64_t seed = 1;
	struct timespec t0, t1;
	int opt;

	while ((opt = getopt(argc, argv, "n:s:o:")) != -1) {
		switch (opt) {
		case 'n':
			mutations = strtoul(optarg, NULL, 0);
			break;
		case 's':
			seed = strtoull(optarg, NULL, 0);
			break;
		case 'o':
			crash_dir = optarg;
			break;
		default:
			fprintf(stderr, "usage: %s [-n MUTATIONS] [-s SEED] [-o CRASH_DIR] CORPUS...\n",
				argv[0]);
			return 2;
		}
	}
	for (int i = optind; i < argc; i++)
		add_path(argv[i]);
	signal(SIGABRT, on_crash);
	signal(SIGSEGV, on_crash);
	signal(SIGBUS, on_crash);
	signal(SIGFPE, on_crash);
	signal(SIGILL, on_crash);
	LLVMFuzzerInitialize(&argc, &argv);
	clock_gettime(CLOCK_MONOTONIC, &t0);

	TAP_OK(ninputs > 0, "corpus: %zu inputs", ninputs);
	for (size_t i = 0; i < ninputs; i++)
		run(inputs[i].data, inputs[i].len);
	TAP_EQ_U64(current_no, ninputs, "every corpus input ran");
	/* Also the empty input and a few degenerate ones. */
	run((const uint8_t *)"", 0);
	run((const uint8_t *)"\xff", 1);
	run((const uint8_t *)"\x0b\xff\xff", 3);

	rng = seed ? seed : 1;
	if (ninputs) {
		uint8_t *buf = malloc(DRIVER_MAX_INPUT);

		for (done = 0; buf && done < mutations; done++) {
			const struct input *in = &inputs[rnd() % ninputs];
			size_t len = in->len < DRIVER_MAX_INPUT ? in->len : DRIVER_MAX_INPUT;
			unsigned edits = 1 + (unsigned)(rnd() % 8);

			memcpy(buf, in->data, len);
			for (unsigned e = 0; e < edits; e++)
				len = mutate_once(buf, len, DRIVER_MAX_INPUT);
			run(buf, len);
		}
		free(buf);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	TAP_EQ_U64(done, mutations, "%lu mutated inputs ran (seed %llu)", done,
		   (unsigned long long)seed);
	TAP_DIAG("%.1f s", (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
	for (size_t i = 0; i < ninputs; i++) {
		free(inputs[i].data);
		free(inputs[i].name);
	}
	free(inputs);
	return tap_done();
}
