/*
 * ledger_bench.c - throughput and latency of the ledger, next to the limits
 * of the machine it runs on.  bench/run builds and runs it; docs/benchmarks.md
 * explains every figure.
 *
 * What it measures (each repeated --runs times; medians are printed):
 *
 *   append, saturated   K producer threads append N records of 256 B or
 *                       2 KiB JSON-like text as fast as they can, through the
 *                       public API with the default options (group commit,
 *                       checkpoints every 10,000 records or 1 s, 64 MiB
 *                       segments).  records/s = N / (time from the start to
 *                       the moment the last record is durable).
 *   append, paced       the same at a fixed offered rate (default 200,000/s,
 *                       the target), where time to durable is meaningful:
 *                       under saturation it mostly measures the queue.
 *   disk floor          the paced load with no ledger: an ideal group-commit
 *                       loop (write what has arrived, fdatasync, repeat).
 *   append+wait         closed loop: each producer appends one record and
 *                       waits for it to be durable (what a hook that must not
 *                       return early sees); next to it write+fdatasync per
 *                       316-byte record with no ledger (no group commit).
 *   verify              ledger_verify (signatures and MACs) over the ledger
 *                       each saturated run just wrote.
 *   baselines           over the SAME bytes (the segment files of that run):
 *                       reading them (into new buffers, as verify does, and
 *                       through one reused buffer), SHA-256 per frame and in
 *                       one buffer, CRC-32, SHA-256+CRC-32 per frame, copying
 *                       them in process with one fdatasync, and literally
 *                       `cat segs > out && sync out`.
 *
 * Time to durable is taken three ways:
 *   durable  from ledger_append returning to the end of the fdatasync that
 *            covered the record.  The bench passes counting wrappers as
 *            ledger_options.io: the write wrapper reads the seq of the last
 *            frame in each buffer, the fdatasync wrapper timestamps its
 *            return (and gives the batch count and fdatasync durations).
 *   seen     from ledger_append returning to the moment an observer thread,
 *            blocked in ledger_wait_durable, saw durable_seq cover it: what
 *            a waiter experiences, wake-up and scheduling included.
 *   due      (paced runs) from the time the record was due, so a producer
 *            running late cannot hide latency (coordinated omission).
 *
 * Benchmarks are not tests: the figures are printed with the targets next to
 * them and the exit status never depends on them.
 */
#include "ledger.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <math.h>
#include <openssl/evp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/utsname.h>
#include <time.h>
#include <unistd.h>
#include <zlib.h>

#define FRAME_OVERHEAD_B 60 /* frame head (56) + CRC (4); see format.c */
#define SEG_HEADER_B 96
#define NVARIANTS 64
#define TARGET_APPENDS 200000.0
#define TARGET_P99_MS 10.0
#define TARGET_VERIFY_MBS 500.0

/* ---- small utilities --------------------------------------------------------- */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void sleep_until(uint64_t t)
{
	struct timespec ts = { .tv_sec = (time_t)(t / 1000000000ull),
			       .tv_nsec = (long)(t % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	fputs("ledger_bench: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(2);
}

static void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static void *xcalloc(size_t n, size_t s)
{
	void *p = calloc(n ? n : 1, s ? s : 1);

	if (!p)
		die("out of memory");
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		die("out of memory (%zu bytes)", n);
	return p;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Percentile (0..100) of a sorted array, nearest rank. */
static uint64_t pct_u64(const uint64_t *v, size_t n, double p)
{
	size_t i;

	if (!n)
		return 0;
	i = (size_t)ceil(p / 100.0 * (double)n);
	if (i > 0)
		i--;
	return v[i < n ? i : n - 1];
}

static double median(double *v, size_t n)
{
	double tmp[256];
	size_t m = 0;

	for (size_t i = 0; i < n && m < sizeof(tmp) / sizeof(tmp[0]); i++)
		if (!isnan(v[i]))
			tmp[m++] = v[i];
	if (!m)
		return NAN;
	qsort(tmp, m, sizeof(double), cmp_double);
	return m % 2 ? tmp[m / 2] : (tmp[m / 2 - 1] + tmp[m / 2]) / 2;
}

/* CPU time used by this process so far (all threads), ns. */
static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static double ms(uint64_t ns)
{
	return (double)ns / 1e6;
}

static double mbps(double bytes, uint64_t ns)
{
	return ns ? bytes / 1e6 / ((double)ns / 1e9) : NAN;
}

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static int rm_rf(const char *path)
{
	char cmd[8400];

	snprintf(cmd, sizeof(cmd), "rm -rf -- '%s'", path);
	return system(cmd);
}

/* ---- options ------------------------------------------------------------------- */

struct opts {
	const char *dir;
	int runs;
	int producers[8];
	int nproducers;
	uint64_t n256, n2k;
	double paced_rate;
	int paced_producers;
	double paced_seconds;
	int closed[8];
	int nclosed;
	double closed_seconds;
	int fsync_records;
	bool json, keep, no_cat;
};

static struct opts O = {
	.runs = 5,
	.producers = { 1, 2, 4 },
	.nproducers = 3,
	.n256 = 300000,
	.n2k = 60000,
	.paced_rate = 200000,
	.paced_producers = 2,
	.paced_seconds = 2.0,
	.closed = { 1, 8 },
	.nclosed = 2,
	.closed_seconds = 1.0,
	.fsync_records = 2000,
};

static int parse_list(const char *s, int *out, int cap)
{
	int n = 0;
	char *end;

	if (!strcmp(s, "") || !strcmp(s, "0") || !strcmp(s, "none"))
		return 0;
	while (*s && n < cap) {
		long v = strtol(s, &end, 10);

		if (end == s || v <= 0 || v > 1024)
			die("bad list '%s'", s);
		out[n++] = (int)v;
		s = *end == ',' ? end + 1 : end;
		if (*end && *end != ',')
			die("bad list near '%s'", end);
	}
	return n;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ledger_bench [options]\n"
		"  --dir DIR            where to create the temporary ledgers (default: .);\n"
		"                       must be a real disk for fdatasync to mean anything\n"
		"  --runs N             repetitions of every measurement (default 5)\n"
		"  --producers LIST     producer threads for saturated appends (default 1,2,4)\n"
		"  --n256 N             records per run with 256 B payloads (default 300000)\n"
		"  --n2k N              records per run with 2 KiB payloads (default 60000)\n"
		"  --paced-rate R       offered rate of the paced run, records/s (default\n"
		"                       200000; 0 skips it)\n"
		"  --paced-producers K  producers of the paced run (default 2)\n"
		"  --paced-seconds S    length of the paced run (default 2)\n"
		"  --closed LIST        producers for append+wait runs (default 1,8; 0 skips)\n"
		"  --closed-seconds S   length of each append+wait run (default 1)\n"
		"  --fsync-records N    records of the fdatasync-per-record baseline (default\n"
		"                       2000; 0 skips it)\n"
		"  --no-cat             skip the `cat` and write+fdatasync baselines\n"
		"  --quick              a smoke run: 1 run, small counts (options after it\n"
		"                       override it)\n"
		"  --json               print one JSON document instead of tables\n"
		"  --keep               keep the temporary directory\n"
		"A LIST is comma-separated (1,2,4); 0 skips those runs.\n"
		"VIGIL_BENCH_DEBUG=1 prints the slow batches (fdatasync or gap > 3 ms) of each\n"
		"append run to stderr.\n");
}

static void parse_opts(int argc, char **argv)
{
	enum {
		OPT_DIR = 256, OPT_RUNS, OPT_PROD, OPT_N256, OPT_N2K, OPT_PRATE, OPT_PPROD,
		OPT_PSEC, OPT_CLOSED, OPT_CSEC, OPT_FSYNC, OPT_NOCAT, OPT_QUICK, OPT_JSON,
		OPT_KEEP, OPT_HELP,
	};
	static const struct option lo[] = {
		{ "dir", required_argument, NULL, OPT_DIR },
		{ "runs", required_argument, NULL, OPT_RUNS },
		{ "producers", required_argument, NULL, OPT_PROD },
		{ "n256", required_argument, NULL, OPT_N256 },
		{ "n2k", required_argument, NULL, OPT_N2K },
		{ "paced-rate", required_argument, NULL, OPT_PRATE },
		{ "paced-producers", required_argument, NULL, OPT_PPROD },
		{ "paced-seconds", required_argument, NULL, OPT_PSEC },
		{ "closed", required_argument, NULL, OPT_CLOSED },
		{ "closed-seconds", required_argument, NULL, OPT_CSEC },
		{ "fsync-records", required_argument, NULL, OPT_FSYNC },
		{ "no-cat", no_argument, NULL, OPT_NOCAT },
		{ "quick", no_argument, NULL, OPT_QUICK },
		{ "json", no_argument, NULL, OPT_JSON },
		{ "keep", no_argument, NULL, OPT_KEEP },
		{ "help", no_argument, NULL, OPT_HELP },
		{ NULL, 0, NULL, 0 },
	};
	int c;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case OPT_DIR: O.dir = optarg; break;
		case OPT_RUNS: O.runs = atoi(optarg); break;
		case OPT_PROD: O.nproducers = parse_list(optarg, O.producers, 8); break;
		case OPT_N256: O.n256 = strtoull(optarg, NULL, 10); break;
		case OPT_N2K: O.n2k = strtoull(optarg, NULL, 10); break;
		case OPT_PRATE: O.paced_rate = atof(optarg); break;
		case OPT_PPROD: O.paced_producers = atoi(optarg); break;
		case OPT_PSEC: O.paced_seconds = atof(optarg); break;
		case OPT_CLOSED: O.nclosed = parse_list(optarg, O.closed, 8); break;
		case OPT_CSEC: O.closed_seconds = atof(optarg); break;
		case OPT_FSYNC: O.fsync_records = atoi(optarg); break;
		case OPT_NOCAT: O.no_cat = true; break;
		case OPT_QUICK:
			O.runs = 1;
			O.n256 = 50000;
			O.n2k = 10000;
			O.paced_seconds = 0.5;
			O.closed_seconds = 0.3;
			O.fsync_records = 300;
			break;
		case OPT_JSON: O.json = true; break;
		case OPT_KEEP: O.keep = true; break;
		case OPT_HELP:
		case 'h': usage(stdout); exit(0);
		default: usage(stderr); exit(2);
		}
	}
	if (optind < argc)
		die("unexpected argument '%s'", argv[optind]);
	if (O.runs < 1 || O.runs > 100)
		die("--runs must be 1..100");
	if (O.paced_producers < 1 || O.paced_producers > 64)
		die("--paced-producers must be 1..64");
	for (int i = 0; i < O.nproducers; i++)
		if (O.producers[i] > 64)
			die("at most 64 producers");
	for (int i = 0; i < O.nclosed; i++)
		if (O.closed[i] > 64)
			die("at most 64 producers");
	if (O.n256 < 100 || O.n2k < 100)
		die("--n256 and --n2k must be at least 100");
}

/* Status messages go to stderr so --json output stays clean. */
static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fflush(stderr);
}

/* ---- machine ------------------------------------------------------------------- */

struct machine {
	long ncpu;
	char cpu[128];
	char kernel[256];
	char fstype[64];
	char device[256];
	char mountpoint[512];
	char dir[4096];
	bool tmpfs;
	char load_start[64], load_end[64];
};

static void loadavg(char *out, size_t cap)
{
	FILE *f = fopen("/proc/loadavg", "r");

	snprintf(out, cap, "?");
	if (f) {
		double a, b, c;

		if (fscanf(f, "%lf %lf %lf", &a, &b, &c) == 3)
			snprintf(out, cap, "%.2f %.2f %.2f", a, b, c);
		fclose(f);
	}
}

static void machine_info(const char *dir, struct machine *m)
{
	struct utsname u;
	struct statfs sf;
	struct stat st;
	char line[1024];
	FILE *f;

	memset(m, 0, sizeof(*m));
	loadavg(m->load_start, sizeof(m->load_start));
	m->ncpu = sysconf(_SC_NPROCESSORS_ONLN);
	snprintf(m->cpu, sizeof(m->cpu), "unknown");
	if ((f = fopen("/proc/cpuinfo", "r"))) {
		while (fgets(line, sizeof(line), f))
			if (!strncmp(line, "model name", 10)) {
				char *p = strchr(line, ':');

				if (p) {
					p += 1 + strspn(p + 1, " \t");
					p[strcspn(p, "\n")] = 0;
					snprintf(m->cpu, sizeof(m->cpu), "%s", p);
				}
				break;
			}
		fclose(f);
	}
	if (uname(&u) == 0)
		snprintf(m->kernel, sizeof(m->kernel), "%s %s %s", u.sysname, u.release, u.machine);
	if (!realpath(dir, m->dir))
		snprintf(m->dir, sizeof(m->dir), "%s", dir);
	snprintf(m->fstype, sizeof(m->fstype), "unknown");
	if (statfs(dir, &sf) == 0) {
		m->tmpfs = sf.f_type == 0x01021994 || sf.f_type == 0x858458f6; /* tmpfs, ramfs */
		snprintf(m->fstype, sizeof(m->fstype), "0x%lx", (unsigned long)sf.f_type);
	}
	/* Name, device and mount point from mountinfo, matched on st_dev. */
	if (stat(dir, &st) == 0 && (f = fopen("/proc/self/mountinfo", "r"))) {
		while (fgets(line, sizeof(line), f)) {
			unsigned maj, min;
			char mp[512], rest[512], type[64], src[256];
			char *dash;

			if (sscanf(line, "%*s %*s %u:%u %*s %511s", &maj, &min, mp) != 3)
				continue;
			if (makedev(maj, min) != st.st_dev)
				continue;
			dash = strstr(line, " - ");
			if (!dash || sscanf(dash + 3, "%63s %255s %511s", type, src, rest) < 2)
				continue;
			snprintf(m->fstype, sizeof(m->fstype), "%s", type);
			snprintf(m->device, sizeof(m->device), "%s", src);
			snprintf(m->mountpoint, sizeof(m->mountpoint), "%s", mp);
			m->tmpfs = !strcmp(type, "tmpfs") || !strcmp(type, "ramfs");
		}
		fclose(f);
	}
}

/* ---- payloads ------------------------------------------------------------------ */

/* JSON-like text of exactly `size` bytes, different for each variant. */
static void make_payload(char *out, size_t size, unsigned variant)
{
	static const char words[] =
		"git status && git diff --stat && meson test -C build --print-errorlogs "
		"&& grep -rn TODO src/ && sed -n 1,80p src/ledger/writer.c ";
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "{\"v\":1,\"id\":\"0193a6f2-7c1e-7b3a-9d4e-%012x\",\"ts\":"
			 "\"2026-03-01T12:00:%02u.%03uZ\",\"agent\":\"bench\",\"kind\":\"tool_call\","
			 "\"tool\":\"Bash\",\"input\":{\"command\":\"",
			 variant * 2654435761u, variant % 60, variant % 1000);
	size_t tail = 3; /* "}} */
	size_t i = 0;

	if ((size_t)n + tail > size)
		die("payload size %zu too small", size);
	memcpy(out, head, (size_t)n);
	for (i = (size_t)n; i < size - tail; i++)
		out[i] = words[(i + variant * 7) % (sizeof(words) - 1)];
	memcpy(out + size - tail, "\"}}", tail);
}

/* ---- counting I/O for the ledger ------------------------------------------------- */

struct sync_event {
	uint64_t seq; /* highest seq written before this fdatasync returned */
	uint64_t t_end, dur;
	uint64_t bytes; /* bytes written since the previous fdatasync */
};

/* Touched by the writer thread during a run and by the main thread around it
 * (open, close); never both at once. */
static struct {
	uint64_t written_seq, unsynced_bytes, bytes, writes, fsyncs;
	struct sync_event *ev;
	size_t nev, capev;
} io_st;

static void io_reset(void)
{
	free(io_st.ev);
	memset(&io_st, 0, sizeof(io_st));
}

static int bio_open(const char *path, int flags, unsigned mode)
{
	int fd = open(path, flags | O_CLOEXEC, (mode_t)mode);

	return fd < 0 ? -errno : fd;
}

static long bio_write(int fd, const void *buf, size_t n)
{
	const uint8_t *p = buf;
	ssize_t w = write(fd, buf, n);

	if (w < 0)
		return -errno;
	io_st.writes++;
	io_st.bytes += (uint64_t)w;
	io_st.unsynced_bytes += (uint64_t)w;
	/* Frames (not a segment header): note the seq of the last whole one. */
	if ((size_t)w >= 16 && memcmp(p, "VIGILLOG", 8) != 0) {
		size_t off = 0;

		while (off + 16 <= (size_t)w) {
			uint32_t flen = le32(p + off);

			if (flen < FRAME_OVERHEAD_B || off + flen > (size_t)w)
				break;
			if (le64(p + off + 8) > io_st.written_seq)
				io_st.written_seq = le64(p + off + 8);
			off += flen;
		}
	}
	return (long)w;
}

static int bio_fdatasync(int fd)
{
	uint64_t t0 = now_ns();
	int rc = fdatasync(fd) < 0 ? -errno : 0;
	uint64_t t1 = now_ns();

	io_st.fsyncs++;
	if (io_st.nev == io_st.capev) {
		io_st.capev = io_st.capev ? io_st.capev * 2 : 4096;
		io_st.ev = xrealloc(io_st.ev, io_st.capev * sizeof(*io_st.ev));
	}
	io_st.ev[io_st.nev++] = (struct sync_event){ .seq = rc == 0 ? io_st.written_seq : 0,
						     .t_end = t1,
						     .dur = t1 - t0,
						     .bytes = io_st.unsynced_bytes };
	io_st.unsynced_bytes = 0;
	return rc;
}

static int bio_ftruncate(int fd, uint64_t size)
{
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

static int bio_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static const struct ledger_io bench_io = {
	.open = bio_open,
	.write = bio_write,
	.fdatasync = bio_fdatasync,
	.ftruncate = bio_ftruncate,
	.close = bio_close,
};

/* ---- keys and ledgers --------------------------------------------------------------- */

static struct {
	char root[4096];
	char signing[4200], mac[4200], mac_file[4200], mac_orig[256];
	struct ledger_pubkey pub;
	struct ledger_mackey verify_key;
	unsigned seq;
} B;

static void bench_setup(const char *base)
{
	struct ledger_keys_created kc;
	char err[256], keys[4200];
	FILE *f;
	int rc;

	snprintf(B.root, sizeof(B.root), "%s/vigil-bench-XXXXXX", base);
	if (!mkdtemp(B.root))
		die("cannot create a directory in '%s': %s", base, strerror(errno));
	snprintf(keys, sizeof(keys), "%s/keys", B.root);
	/* Day-long MAC epochs: no key rotation in the middle of a run. */
	rc = ledger_keys_create(keys, 86400, false, &kc, err, sizeof(err));
	if (rc < 0)
		die("keys: %s", err);
	snprintf(B.signing, sizeof(B.signing), "file:%s", kc.signing_path);
	snprintf(B.mac_file, sizeof(B.mac_file), "%s", kc.mac_path);
	snprintf(B.mac, sizeof(B.mac), "file:%s", kc.mac_path);
	B.pub = kc.pub;
	B.verify_key = kc.verify_key;
	if (!(f = fopen(kc.mac_path, "r")) || !fgets(B.mac_orig, sizeof(B.mac_orig), f))
		die("cannot read back the MAC key");
	fclose(f);
}

/* Every run starts from the epoch-0 MAC key (a run may evolve the file). */
static void restore_mac(void)
{
	int fd = open(B.mac_file, O_WRONLY | O_TRUNC | O_CREAT, 0600);

	if (fd < 0 || write(fd, B.mac_orig, strlen(B.mac_orig)) < 0)
		die("cannot restore the MAC key file");
	close(fd);
}

static void new_ledger_dir(char *out, size_t cap)
{
	snprintf(out, cap, "%s/ledger-%u", B.root, ++B.seq);
}

static struct ledger *open_ledger(const char *dir, uint64_t *first_seq)
{
	struct ledger_options o = {
		.dir = dir,
		.signing_key = B.signing,
		.mac_key = B.mac,
		.heartbeat_ms = -1,
		.io = &bench_io,
	};
	struct ledger_open_info info;
	struct ledger *l;
	char err[512];
	int rc;

	restore_mac();
	io_reset();
	rc = ledger_open(&o, &l, &info, err, sizeof(err));
	if (rc < 0)
		die("ledger_open: %s", err);
	*first_seq = info.next_seq;
	return l;
}

/* All segment files of a ledger directory, in order, as one buffer. */
struct segs {
	char **paths;
	size_t n;
	uint8_t *data;
	size_t len;
	size_t *seg_len;
};

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static void segs_load(const char *dir, struct segs *s)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t cap = 0;

	memset(s, 0, sizeof(*s));
	if (!d)
		die("cannot open '%s'", dir);
	while ((e = readdir(d))) {
		size_t nl = strlen(e->d_name);

		if (nl < 5 || strcmp(e->d_name + nl - 4, ".seg"))
			continue;
		s->paths = xrealloc(s->paths, (s->n + 1) * sizeof(char *));
		s->paths[s->n] = xmalloc(strlen(dir) + nl + 2);
		sprintf(s->paths[s->n], "%s/%s", dir, e->d_name);
		s->n++;
	}
	closedir(d);
	qsort(s->paths, s->n, sizeof(char *), cmp_str);
	s->seg_len = xcalloc(s->n, sizeof(size_t));
	for (size_t i = 0; i < s->n; i++) {
		struct stat st;
		int fd = open(s->paths[i], O_RDONLY);
		size_t got = 0;

		if (fd < 0 || fstat(fd, &st) < 0)
			die("cannot open '%s'", s->paths[i]);
		if (s->len + (size_t)st.st_size > cap) {
			cap = (s->len + (size_t)st.st_size) * 2;
			s->data = xrealloc(s->data, cap);
		}
		while (got < (size_t)st.st_size) {
			ssize_t r = read(fd, s->data + s->len + got, (size_t)st.st_size - got);

			if (r <= 0)
				die("cannot read '%s'", s->paths[i]);
			got += (size_t)r;
		}
		close(fd);
		s->seg_len[i] = got;
		s->len += got;
	}
}

static void segs_free(struct segs *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->paths[i]);
	free(s->paths);
	free(s->data);
	free(s->seg_len);
	memset(s, 0, sizeof(*s));
}

/* ---- metrics ---------------------------------------------------------------------- */

enum metric {
	M_RECS,	     /* records appended by producers */
	M_RECS_S,    /* durable appends/s */
	M_MB_S,	     /* on-disk bytes/s */
	M_WALL_S,
	M_LAT_P50,   /* disk: append return -> fdatasync return, ms */
	M_LAT_P99,
	M_LAT_MAX,
	M_SEEN_P50,  /* seen by a waiter, ms */
	M_SEEN_P99,
	M_SEEN_MAX,
	M_DUE_P50,   /* paced: from the time the record was due, ms */
	M_DUE_P99,
	M_DUE_MAX,
	M_APPEND_US, /* mean time inside ledger_append, us */
	M_BATCHES,   /* fdatasyncs that carried records */
	M_REC_BATCH,
	M_FSYNC_P50, /* fdatasync duration, ms */
	M_FSYNC_P99,
	M_FSYNC_MAX,
	M_CHECKPOINTS,
	M_SEGMENTS,
	M_BYTES,
	M_VERIFY_MB_S,
	M_VERIFY_REC_S,
	M_VERIFY_OK,
	M_SHA_REC_MB_S, /* SHA-256, one call per frame */
	M_SHA_BUF_MB_S, /* SHA-256, one buffer */
	M_CRC_MB_S,
	M_SHA_CRC_MB_S, /* SHA-256 + CRC-32 per frame: verify's arithmetic floor */
	M_READ_FRESH_MB_S, /* read each segment into a new buffer (what verify did before seg_read) */
	M_READ_REUSE_MB_S, /* read the segments through one reused 1 MiB buffer */
	M_WRITE_MB_S,	/* read+write+fdatasync in 1 MiB blocks */
	M_CAT_MB_S,	/* cat segs > out && sync out */
	M_OFFERED,	/* paced: offered rate */
	M_CPU,		/* CPU time of the whole process / wall time, in cores */
	M__COUNT
};

static const struct {
	const char *json;
} MN[M__COUNT] = {
	[M_RECS] = { "records" },
	[M_RECS_S] = { "records_per_s" },
	[M_MB_S] = { "mb_per_s" },
	[M_WALL_S] = { "wall_s" },
	[M_LAT_P50] = { "durable_p50_ms" },
	[M_LAT_P99] = { "durable_p99_ms" },
	[M_LAT_MAX] = { "durable_max_ms" },
	[M_SEEN_P50] = { "seen_p50_ms" },
	[M_SEEN_P99] = { "seen_p99_ms" },
	[M_SEEN_MAX] = { "seen_max_ms" },
	[M_DUE_P50] = { "from_due_p50_ms" },
	[M_DUE_P99] = { "from_due_p99_ms" },
	[M_DUE_MAX] = { "from_due_max_ms" },
	[M_APPEND_US] = { "append_call_us" },
	[M_BATCHES] = { "batches" },
	[M_REC_BATCH] = { "records_per_batch" },
	[M_FSYNC_P50] = { "fdatasync_p50_ms" },
	[M_FSYNC_P99] = { "fdatasync_p99_ms" },
	[M_FSYNC_MAX] = { "fdatasync_max_ms" },
	[M_CHECKPOINTS] = { "checkpoints" },
	[M_SEGMENTS] = { "segments" },
	[M_BYTES] = { "bytes" },
	[M_VERIFY_MB_S] = { "verify_mb_per_s" },
	[M_VERIFY_REC_S] = { "verify_records_per_s" },
	[M_VERIFY_OK] = { "verify_ok" },
	[M_SHA_REC_MB_S] = { "sha256_per_record_mb_per_s" },
	[M_SHA_BUF_MB_S] = { "sha256_one_buffer_mb_per_s" },
	[M_CRC_MB_S] = { "crc32_mb_per_s" },
	[M_SHA_CRC_MB_S] = { "sha256_crc32_per_record_mb_per_s" },
	[M_READ_FRESH_MB_S] = { "read_fresh_buffer_mb_per_s" },
	[M_READ_REUSE_MB_S] = { "read_reused_buffer_mb_per_s" },
	[M_WRITE_MB_S] = { "write_fdatasync_mb_per_s" },
	[M_CAT_MB_S] = { "cat_sync_mb_per_s" },
	[M_OFFERED] = { "offered_per_s" },
	[M_CPU] = { "cpu_cores" },
};

#define MAX_RUNS 100

struct config {
	char name[64];
	const char *kind; /* "saturated", "paced", "closed", "fsync" */
	size_t payload;
	int producers;
	double m[M__COUNT][MAX_RUNS];
	double med[M__COUNT];
	int runs;
};

static struct config *configs;
static size_t nconfigs;

static struct config *new_config(const char *kind, size_t payload, int producers)
{
	struct config *c;

	configs = xrealloc(configs, (nconfigs + 1) * sizeof(*configs));
	c = &configs[nconfigs++];
	memset(c, 0, sizeof(*c));
	c->kind = kind;
	c->payload = payload;
	c->producers = producers;
	for (int k = 0; k < M__COUNT; k++)
		for (int r = 0; r < MAX_RUNS; r++)
			c->m[k][r] = NAN;
	snprintf(c->name, sizeof(c->name), "%s %zuB x%d", kind, payload, producers);
	return c;
}

static void finish_config(struct config *c)
{
	for (int k = 0; k < M__COUNT; k++)
		c->med[k] = median(c->m[k], (size_t)c->runs);
}

/* ---- appending ------------------------------------------------------------------------ */

/* durable_seq reached seq at time t */
struct ev {
	uint64_t seq, t;
};

struct run {
	struct ledger *l;
	uint64_t first_seq;
	size_t payload;
	int producers;
	uint64_t n;	    /* records in all (saturated, paced) */
	double rate;	    /* paced: records/s in all; 0: as fast as possible */
	double seconds;	    /* closed: duration */
	uint64_t *t_app;    /* append return time, by seq - first_seq (0: not ours) */
	uint64_t *t_due;    /* paced: when the record was due */
	size_t cap;
	pthread_barrier_t go;
	uint64_t t0;
	atomic_uint_fast64_t max_seq, lost, append_ns;
	atomic_int producers_left;
	char (*pl)[2048];   /* NVARIANTS payloads */
	/* closed loop */
	uint64_t **lat;
	size_t *nlat;
	/* observer */
	struct ev *seen;
	size_t nseen, capseen;
};

struct prod_arg {
	struct run *r;
	int id;
};

static void note_append(struct run *r, uint64_t seq, uint64_t t, uint64_t due)
{
	uint64_t i = seq - r->first_seq, m;

	if (seq >= r->first_seq && i < r->cap) {
		r->t_app[i] = t;
		if (r->t_due)
			r->t_due[i] = due;
	} else
		atomic_fetch_add(&r->lost, 1);
	m = atomic_load(&r->max_seq);
	while (seq > m && !atomic_compare_exchange_weak(&r->max_seq, &m, seq))
		;
}

static void *producer_main(void *arg)
{
	struct prod_arg *pa = arg;
	struct run *r = pa->r;
	uint64_t count = r->n / (uint64_t)r->producers + ((uint64_t)pa->id < r->n % (uint64_t)r->producers);
	uint64_t in_append = 0;
	unsigned v = (unsigned)pa->id * 17;

	pthread_setname_np(pthread_self(), "bench-producer");
	pthread_barrier_wait(&r->go);
	for (uint64_t j = 0; j < count; j++) {
		uint64_t seq, t1, t2, due = 0;
		int rc;

		if (r->rate > 0) {
			/* Open loop: record j of this producer is due at this time;
			 * when it is more than 0.1 ms away, sleep until then, and
			 * append all that are due (bursts of at most ~0.1 ms). */
			due = r->t0 + (uint64_t)((double)(j * (uint64_t)r->producers +
							  (uint64_t)pa->id) *
						 1e9 / r->rate);

			if (due > now_ns() + 100000)
				sleep_until(due);
		}
		t1 = now_ns();
		rc = ledger_append(r->l, LEDGER_REC_EVENT, r->pl[v++ % NVARIANTS], r->payload, &seq);
		t2 = now_ns();
		if (rc < 0)
			die("ledger_append: %s", strerror(-rc));
		in_append += t2 - t1;
		note_append(r, seq, t2, due);
	}
	atomic_fetch_add(&r->append_ns, in_append);
	atomic_fetch_sub(&r->producers_left, 1);
	return NULL;
}

static void *closed_main(void *arg)
{
	struct prod_arg *pa = arg;
	struct run *r = pa->r;
	size_t cap = 4096, n = 0;
	uint64_t *lat = xmalloc(cap * sizeof(uint64_t)), end;
	unsigned v = (unsigned)pa->id * 17;

	pthread_setname_np(pthread_self(), "bench-waiter");
	pthread_barrier_wait(&r->go);
	end = r->t0 + (uint64_t)(r->seconds * 1e9);
	while (now_ns() < end) {
		uint64_t seq, t1 = now_ns();
		int rc = ledger_append(r->l, LEDGER_REC_EVENT, r->pl[v++ % NVARIANTS], r->payload,
				       &seq);

		if (rc < 0 || (rc = ledger_wait_durable(r->l, seq, -1)) < 0)
			die("append+wait: %s", strerror(-rc));
		if (n == cap)
			lat = xrealloc(lat, (cap *= 2) * sizeof(uint64_t));
		lat[n++] = now_ns() - t1;
	}
	r->lat[pa->id] = lat;
	r->nlat[pa->id] = n;
	return NULL;
}

/* Timestamps every advance of durable_seq, as a waiter sees it. */
static void *observer_main(void *arg)
{
	struct run *r = arg;
	uint64_t last = r->first_seq - 1;

	pthread_setname_np(pthread_self(), "bench-observer");
	for (;;) {
		struct ledger_status st;

		ledger_status(r->l, &st);
		if (st.durable_seq > last) {
			uint64_t t = now_ns();

			if (r->nseen == r->capseen) {
				r->capseen = r->capseen ? r->capseen * 2 : 4096;
				r->seen = xrealloc(r->seen, r->capseen * sizeof(*r->seen));
			}
			r->seen[r->nseen++] = (struct ev){ st.durable_seq, t };
			last = st.durable_seq;
		}
		if (st.last_error)
			die("ledger I/O error: %s", strerror(-st.last_error));
		if (atomic_load(&r->producers_left) == 0 && last >= atomic_load(&r->max_seq))
			break;
		ledger_wait_durable(r->l, last + 1, 20);
	}
	return NULL;
}

/*
 * Per-record latencies: for each of our records (by seq), the time of the
 * first event (durable seq, time) that covers it minus from[record].  The
 * events are in order of time, with non-decreasing seqs.  *t_last gets the
 * time the last record became durable.
 */
static size_t latencies(const struct run *r, const uint64_t *from, const struct ev *ev,
			size_t nev, uint64_t *out, uint64_t *t_last)
{
	size_t n = 0, e = 0;

	*t_last = 0;
	for (uint64_t i = 0; i < r->cap; i++) {
		uint64_t seq = r->first_seq + i;

		if (!r->t_app[i])
			continue; /* a checkpoint, or beyond the end */
		while (e < nev && ev[e].seq < seq)
			e++;
		if (e == nev)
			break; /* never durable: cannot happen once the ledger is closed */
		out[n++] = ev[e].t > from[i] ? ev[e].t - from[i] : 0;
		if (ev[e].t > *t_last)
			*t_last = ev[e].t;
	}
	return n;
}

/* The fdatasync events as (durable seq, time) pairs. */
static struct ev *sync_pairs(void)
{
	struct ev *p = xmalloc((io_st.nev + 1) * sizeof(*p));

	for (size_t i = 0; i < io_st.nev; i++)
		p[i] = (struct ev){ io_st.ev[i].seq, io_st.ev[i].t_end };
	return p;
}

static void same_bytes_baselines(struct config *c, int run, const char *dir);

static void run_append(struct config *c, int run)
{
	struct run r;
	struct prod_arg pa[64];
	pthread_t th[64], obs;
	char dir[4200];
	struct ledger_status st;
	uint64_t *lat, t_last = 0, t_last_seen = 0, wall, cpu0;
	struct ev *syncs;
	size_t nlat, nlat_seen;
	int rc;

	memset(&r, 0, sizeof(r));
	r.payload = c->payload;
	r.producers = c->producers;
	if (!strcmp(c->kind, "paced")) {
		r.rate = O.paced_rate;
		r.n = (uint64_t)(O.paced_rate * O.paced_seconds);
	} else {
		r.n = c->payload <= 256 ? O.n256 : O.n2k;
	}
	/* Room for our records and the checkpoints between them. */
	r.cap = r.n + r.n / 1000 + 4096;
	r.t_app = xcalloc(r.cap, sizeof(uint64_t));
	if (r.rate > 0)
		r.t_due = xcalloc(r.cap, sizeof(uint64_t));
	r.pl = xmalloc(NVARIANTS * sizeof(*r.pl));
	for (unsigned i = 0; i < NVARIANTS; i++)
		make_payload(r.pl[i], c->payload, i + (unsigned)run * NVARIANTS);
	atomic_init(&r.producers_left, r.producers);
	new_ledger_dir(dir, sizeof(dir));
	r.l = open_ledger(dir, &r.first_seq);
	atomic_init(&r.max_seq, r.first_seq - 1);
	pthread_barrier_init(&r.go, NULL, (unsigned)r.producers + 1);
	for (int i = 0; i < r.producers; i++) {
		pa[i] = (struct prod_arg){ &r, i };
		if (pthread_create(&th[i], NULL, producer_main, &pa[i]))
			die("pthread_create");
	}
	r.t0 = now_ns() + 2000000; /* paced schedules start here */
	sleep_until(r.t0);
	r.t0 = now_ns();
	cpu0 = cpu_ns();
	pthread_barrier_wait(&r.go);
	if (pthread_create(&obs, NULL, observer_main, &r))
		die("pthread_create");
	for (int i = 0; i < r.producers; i++)
		pthread_join(th[i], NULL);
	pthread_join(obs, NULL);
	c->m[M_CPU][run] = (double)(cpu_ns() - cpu0) / (double)(now_ns() - r.t0);
	ledger_status(r.l, &st);
	rc = ledger_close(r.l);
	if (rc < 0)
		die("ledger_close: %s", strerror(-rc));

	/* Disk: the fdatasync events (seq and end time are non-decreasing). */
	lat = xmalloc(r.cap * sizeof(uint64_t));
	syncs = sync_pairs();
	nlat = latencies(&r, r.t_app, syncs, io_st.nev, lat, &t_last);
	qsort(lat, nlat, sizeof(uint64_t), cmp_u64);
	wall = t_last - r.t0;
	c->m[M_RECS][run] = (double)nlat;
	c->m[M_WALL_S][run] = (double)wall / 1e9;
	c->m[M_RECS_S][run] = (double)nlat / ((double)wall / 1e9);
	c->m[M_LAT_P50][run] = ms(pct_u64(lat, nlat, 50));
	c->m[M_LAT_P99][run] = ms(pct_u64(lat, nlat, 99));
	c->m[M_LAT_MAX][run] = ms(nlat ? lat[nlat - 1] : 0);
	c->m[M_APPEND_US][run] = (double)atomic_load(&r.append_ns) / (double)r.n / 1e3;
	if (nlat != r.n || atomic_load(&r.lost))
		note("warning: %zu of %" PRIu64 " records timed (%" PRIu64 " out of range)\n", nlat,
		     r.n, (uint64_t)atomic_load(&r.lost));

	/* Seen by a waiter. */
	nlat_seen = latencies(&r, r.t_app, r.seen, r.nseen, lat, &t_last_seen);
	qsort(lat, nlat_seen, sizeof(uint64_t), cmp_u64);
	c->m[M_SEEN_P50][run] = ms(pct_u64(lat, nlat_seen, 50));
	c->m[M_SEEN_P99][run] = ms(pct_u64(lat, nlat_seen, 99));
	c->m[M_SEEN_MAX][run] = ms(nlat_seen ? lat[nlat_seen - 1] : 0);
	if (r.t_due) {
		uint64_t t_unused;
		size_t nd = latencies(&r, r.t_due, syncs, io_st.nev, lat, &t_unused);

		qsort(lat, nd, sizeof(uint64_t), cmp_u64);
		c->m[M_DUE_P50][run] = ms(pct_u64(lat, nd, 50));
		c->m[M_DUE_P99][run] = ms(pct_u64(lat, nd, 99));
		c->m[M_DUE_MAX][run] = ms(nd ? lat[nd - 1] : 0);
	}

	/* Batches: fdatasyncs of segment data during the run (not the open,
	 * not segment headers, not the final seal at close). */
	{
		uint64_t *d = xmalloc((io_st.nev + 1) * sizeof(uint64_t));
		size_t nb = 0;

		for (size_t i = 0; i < io_st.nev; i++) {
			const struct sync_event *e = &io_st.ev[i];

			if (e->t_end < r.t0 || e->t_end > t_last || e->bytes == 0 ||
			    e->bytes == SEG_HEADER_B)
				continue;
			d[nb++] = e->dur;
		}
		qsort(d, nb, sizeof(uint64_t), cmp_u64);
		c->m[M_BATCHES][run] = (double)nb;
		c->m[M_REC_BATCH][run] = nb ? (double)nlat / (double)nb : NAN;
		c->m[M_FSYNC_P50][run] = ms(pct_u64(d, nb, 50));
		c->m[M_FSYNC_P99][run] = ms(pct_u64(d, nb, 99));
		c->m[M_FSYNC_MAX][run] = ms(nb ? d[nb - 1] : 0);
		free(d);
	}
	if (getenv("VIGIL_BENCH_DEBUG")) {
		/* Batches around the slow records: end time, fdatasync time, bytes. */
		for (size_t i = 1; i < io_st.nev; i++) {
			const struct sync_event *e = &io_st.ev[i], *p = &io_st.ev[i - 1];

			if (e->t_end < r.t0 || e->t_end > t_last)
				continue;
			if (e->t_end - p->t_end > 3000000 || e->dur > 3000000)
				note("\n  batch at %.2f ms: %.2f ms after the previous, fdatasync %.2f ms, "
				     "%" PRIu64 " bytes, seq %" PRIu64,
				     ms(e->t_end - r.t0), ms(e->t_end - p->t_end), ms(e->dur), e->bytes,
				     e->seq);
		}
		note("\n");
	}
	c->m[M_CHECKPOINTS][run] = (double)st.checkpoints;
	c->m[M_SEGMENTS][run] = (double)st.segment;
	if (r.rate > 0)
		c->m[M_OFFERED][run] = r.rate;

	free(lat);
	free(syncs);
	free(r.t_app);
	free(r.t_due);
	free(r.pl);
	free(r.seen);
	pthread_barrier_destroy(&r.go);

	/* Verify and the baselines, over this run's bytes (not for the paced
	 * run: it belongs to the latency phase, which avoids bulk I/O). */
	if (r.rate > 0) {
		struct segs s;

		segs_load(dir, &s);
		c->m[M_BYTES][run] = (double)s.len;
		segs_free(&s);
	} else {
		same_bytes_baselines(c, run, dir);
	}
	c->m[M_MB_S][run] = c->m[M_BYTES][run] / 1e6 / ((double)wall / 1e9);
	if (!O.keep)
		rm_rf(dir);
}

static void run_closed(struct config *c, int run)
{
	struct run r;
	struct prod_arg pa[64];
	pthread_t th[64];
	char dir[4200];
	uint64_t *all, wall;
	size_t n = 0;
	int rc;

	memset(&r, 0, sizeof(r));
	r.payload = c->payload;
	r.producers = c->producers;
	r.seconds = O.closed_seconds;
	r.pl = xmalloc(NVARIANTS * sizeof(*r.pl));
	for (unsigned i = 0; i < NVARIANTS; i++)
		make_payload(r.pl[i], c->payload, i);
	r.lat = xcalloc((size_t)r.producers, sizeof(uint64_t *));
	r.nlat = xcalloc((size_t)r.producers, sizeof(size_t));
	new_ledger_dir(dir, sizeof(dir));
	r.l = open_ledger(dir, &r.first_seq);
	pthread_barrier_init(&r.go, NULL, (unsigned)r.producers + 1);
	for (int i = 0; i < r.producers; i++) {
		pa[i] = (struct prod_arg){ &r, i };
		if (pthread_create(&th[i], NULL, closed_main, &pa[i]))
			die("pthread_create");
	}
	r.t0 = now_ns();
	pthread_barrier_wait(&r.go);
	for (int i = 0; i < r.producers; i++)
		pthread_join(th[i], NULL);
	wall = now_ns() - r.t0;
	rc = ledger_close(r.l);
	if (rc < 0)
		die("ledger_close: %s", strerror(-rc));
	for (int i = 0; i < r.producers; i++)
		n += r.nlat[i];
	all = xmalloc((n + 1) * sizeof(uint64_t));
	n = 0;
	for (int i = 0; i < r.producers; i++) {
		memcpy(all + n, r.lat[i], r.nlat[i] * sizeof(uint64_t));
		n += r.nlat[i];
		free(r.lat[i]);
	}
	qsort(all, n, sizeof(uint64_t), cmp_u64);
	c->m[M_RECS][run] = (double)n;
	c->m[M_WALL_S][run] = (double)wall / 1e9;
	c->m[M_RECS_S][run] = (double)n / ((double)wall / 1e9);
	c->m[M_SEEN_P50][run] = ms(pct_u64(all, n, 50));
	c->m[M_SEEN_P99][run] = ms(pct_u64(all, n, 99));
	c->m[M_SEEN_MAX][run] = ms(n ? all[n - 1] : 0);
	{
		uint64_t *d = xmalloc((io_st.nev + 1) * sizeof(uint64_t));
		size_t nb = 0;

		for (size_t i = 0; i < io_st.nev; i++)
			if (io_st.ev[i].t_end >= r.t0 && io_st.ev[i].t_end <= r.t0 + wall &&
			    io_st.ev[i].bytes > 0 && io_st.ev[i].bytes != SEG_HEADER_B)
				d[nb++] = io_st.ev[i].dur;
		qsort(d, nb, sizeof(uint64_t), cmp_u64);
		c->m[M_BATCHES][run] = (double)nb;
		c->m[M_REC_BATCH][run] = nb ? (double)n / (double)nb : NAN;
		c->m[M_FSYNC_P50][run] = ms(pct_u64(d, nb, 50));
		c->m[M_FSYNC_P99][run] = ms(pct_u64(d, nb, 99));
		c->m[M_FSYNC_MAX][run] = ms(nb ? d[nb - 1] : 0);
		free(d);
	}
	free(all);
	free(r.lat);
	free(r.nlat);
	free(r.pl);
	pthread_barrier_destroy(&r.go);
	if (!O.keep)
		rm_rf(dir);
}

/* ---- verify and the baselines over the same bytes ------------------------------------- */

static const EVP_MD *sha256;
/* Results of timed computations go here so the compiler keeps them. */
static volatile uint32_t bench_sink;

/* Hashes every frame as the ledger does (SHA-256 of 0x00 || the frame
 * without its CRC, digest fetched once, context reused), optionally with
 * the CRC-32 of each frame too.  Returns the time taken. */
static uint64_t hash_frames(const struct segs *s, bool with_crc)
{
	static const uint8_t zero = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint32_t sink = 0;
	uint8_t md[32];
	size_t base = 0;
	uint64_t t0 = now_ns(), t1;

	if (!ctx)
		die("out of memory");
	for (size_t i = 0; i < s->n; i++) {
		const uint8_t *seg = s->data + base;

		for (size_t off = SEG_HEADER_B; off + FRAME_OVERHEAD_B <= s->seg_len[i];) {
			uint32_t flen = le32(seg + off);

			if (flen < FRAME_OVERHEAD_B || off + flen > s->seg_len[i])
				break;
			EVP_DigestInit_ex2(ctx, sha256, NULL);
			EVP_DigestUpdate(ctx, &zero, 1);
			EVP_DigestUpdate(ctx, seg + off, flen - 4);
			EVP_DigestFinal_ex(ctx, md, NULL);
			if (with_crc)
				sink ^= (uint32_t)crc32(0L, seg + off, flen - 4);
			sink ^= md[0];
			off += flen;
		}
		base += s->seg_len[i];
	}
	t1 = now_ns();
	EVP_MD_CTX_free(ctx);
	bench_sink ^= sink;
	return t1 - t0;
}

/* Reads the segment files from the page cache, each whole into a new buffer
 * (what verify did before seg_read) or through one reused 1 MiB buffer. */
static uint64_t read_segments(const struct segs *s, bool fresh)
{
	uint8_t *blk = xmalloc(1 << 20);
	uint64_t t0, t1;

	memset(blk, 0, 1 << 20); /* fault it in before the clock starts */
	t0 = now_ns();
	for (size_t i = 0; i < s->n; i++) {
		int fd = open(s->paths[i], O_RDONLY);
		uint8_t *b = fresh ? xmalloc(s->seg_len[i] + 1) : NULL;
		size_t got = 0;
		ssize_t n;

		if (fd < 0)
			die("cannot open '%s'", s->paths[i]);
		if (fresh)
			while (got < s->seg_len[i] && (n = read(fd, b + got, s->seg_len[i] - got)) > 0)
				got += (size_t)n;
		else
			while (read(fd, blk, 1 << 20) > 0)
				;
		close(fd);
		free(b);
	}
	t1 = now_ns();
	free(blk);
	return t1 - t0;
}

/* Copies the segment files to a new file on the same disk and syncs it, in
 * process (1 MiB reads and writes, one fdatasync) or literally with cat and
 * coreutils' `sync FILE` (which fsyncs that file; a bare `sync` would flush
 * every dirty page of the machine).  Returns the time taken, 0 on failure. */
static uint64_t copy_segments(const struct segs *s, bool with_cat)
{
	char out[4300];
	uint64_t t0, t1;

	snprintf(out, sizeof(out), "%s/%s", B.root, with_cat ? "cat.out" : "copy.out");
	if (with_cat) {
		size_t cl = strlen(out) * 2 + 64;
		char *cmd;
		int rc;

		for (size_t i = 0; i < s->n; i++)
			cl += strlen(s->paths[i]) + 4;
		cmd = xmalloc(cl);
		strcpy(cmd, "cat");
		for (size_t i = 0; i < s->n; i++)
			sprintf(cmd + strlen(cmd), " '%s'", s->paths[i]);
		sprintf(cmd + strlen(cmd), " > '%s' && sync '%s'", out, out);
		t0 = now_ns();
		rc = system(cmd);
		t1 = now_ns();
		if (rc != 0) {
			note("warning: '%s' failed\n", cmd);
			t1 = t0;
		}
		free(cmd);
	} else {
		uint8_t *blk = xmalloc(1 << 20);
		int fo;

		memset(blk, 0, 1 << 20);
		t0 = now_ns();
		fo = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fo < 0)
			die("cannot create '%s'", out);
		for (size_t i = 0; i < s->n; i++) {
			int fi = open(s->paths[i], O_RDONLY);
			ssize_t n;

			if (fi < 0)
				die("cannot open '%s'", s->paths[i]);
			while ((n = read(fi, blk, 1 << 20)) > 0)
				if (write(fo, blk, (size_t)n) != n)
					die("write to '%s' failed", out);
			close(fi);
		}
		if (fdatasync(fo) < 0)
			die("fdatasync: %s", strerror(errno));
		close(fo);
		t1 = now_ns();
		free(blk);
	}
	unlink(out);
	return t1 - t0;
}

static void same_bytes_baselines(struct config *c, int run, const char *dir)
{
	struct ledger_verify_options vo = {
		.dir = dir,
		.pub = &B.pub,
		.mac = &B.verify_key,
		.require_sealed = true,
	};
	struct ledger_verify_result res;
	struct segs s;
	uint64_t t0, t1;
	double len;
	int rc;

	/* Verify (the files are in the page cache: they were just written). */
	memset(&res, 0, sizeof(res));
	t0 = now_ns();
	rc = ledger_verify(&vo, &res);
	t1 = now_ns();
	if (rc < 0 || res.verdict != LEDGER_OK)
		note("warning: verify of %s: verdict %d, %zu findings %s\n", dir, res.verdict,
		     res.nfindings, res.error);
	c->m[M_VERIFY_OK][run] = rc == 0 && res.verdict == LEDGER_OK;
	c->m[M_VERIFY_MB_S][run] = mbps((double)res.bytes, t1 - t0);
	c->m[M_VERIFY_REC_S][run] = (double)res.records / ((double)(t1 - t0) / 1e9);
	ledger_verify_result_release(&res);

	segs_load(dir, &s);
	len = (double)s.len;
	c->m[M_BYTES][run] = len;
	c->m[M_READ_FRESH_MB_S][run] = mbps(len, read_segments(&s, true));
	c->m[M_READ_REUSE_MB_S][run] = mbps(len, read_segments(&s, false));
	c->m[M_SHA_REC_MB_S][run] = mbps(len, hash_frames(&s, false));
	c->m[M_SHA_CRC_MB_S][run] = mbps(len, hash_frames(&s, true));
	{
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		uint8_t md[32];

		t0 = now_ns();
		EVP_DigestInit_ex2(ctx, sha256, NULL);
		EVP_DigestUpdate(ctx, s.data, s.len);
		EVP_DigestFinal_ex(ctx, md, NULL);
		t1 = now_ns();
		EVP_MD_CTX_free(ctx);
		c->m[M_SHA_BUF_MB_S][run] = mbps(len, t1 - t0);
		t0 = now_ns();
		bench_sink ^= (uint32_t)crc32_z(0L, s.data, s.len);
		t1 = now_ns();
		bench_sink ^= md[0];
		c->m[M_CRC_MB_S][run] = mbps(len, t1 - t0);
	}
	if (!O.no_cat) {
		c->m[M_WRITE_MB_S][run] = mbps(len, copy_segments(&s, false));
		c->m[M_CAT_MB_S][run] = mbps(len, copy_segments(&s, true));
	}
	segs_free(&s);
}

/* write + fdatasync of every 316-byte record: the cost without group commit. */
static void run_fsync_each(struct config *c, int run)
{
	char path[4300], rec[256 + FRAME_OVERHEAD_B];
	uint64_t *lat = xmalloc((size_t)O.fsync_records * sizeof(uint64_t));
	uint64_t t0, t1;
	int fd;

	make_payload(rec, sizeof(rec), (unsigned)run);
	snprintf(path, sizeof(path), "%s/fsync-each.out", B.root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		die("cannot create '%s'", path);
	t0 = now_ns();
	for (int i = 0; i < O.fsync_records; i++) {
		uint64_t a = now_ns();

		if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) < 0)
			die("write/fdatasync: %s", strerror(errno));
		lat[i] = now_ns() - a;
	}
	t1 = now_ns();
	close(fd);
	unlink(path);
	qsort(lat, (size_t)O.fsync_records, sizeof(uint64_t), cmp_u64);
	c->m[M_RECS][run] = O.fsync_records;
	c->m[M_WALL_S][run] = (double)(t1 - t0) / 1e9;
	c->m[M_RECS_S][run] = O.fsync_records / ((double)(t1 - t0) / 1e9);
	c->m[M_MB_S][run] = mbps((double)O.fsync_records * sizeof(rec), t1 - t0);
	c->m[M_SEEN_P50][run] = ms(pct_u64(lat, (size_t)O.fsync_records, 50));
	c->m[M_SEEN_P99][run] = ms(pct_u64(lat, (size_t)O.fsync_records, 99));
	c->m[M_SEEN_MAX][run] = ms(lat[O.fsync_records - 1]);
	c->m[M_FSYNC_P50][run] = c->m[M_SEEN_P50][run];
	c->m[M_FSYNC_P99][run] = c->m[M_SEEN_P99][run];
	c->m[M_FSYNC_MAX][run] = c->m[M_SEEN_MAX][run];
	free(lat);
}

/*
 * The disk's floor for the paced run: an ideal group-commit writer with no
 * ledger (no threads, no hashing, no locks).  316-byte records arrive at the
 * paced rate; in a loop it writes whatever has arrived in one write() and
 * fdatasyncs.  A record's latency runs from its arrival (its due time) to
 * the end of the fdatasync that covered it.
 */
static void run_raw_group_commit(struct config *c, int run)
{
	const size_t rec = 256 + FRAME_OVERHEAD_B, blk = 4u << 20;
	double rate = O.paced_rate;
	uint64_t total = (uint64_t)(rate * O.paced_seconds), written = 0, t0, cpu0, *lat;
	uint64_t (*b)[2] = NULL; /* (records written so far, fdatasync end) */
	uint64_t *d = NULL;
	size_t nb = 0, capb = 0, nl = 0;
	char path[4300];
	uint8_t *buf = xmalloc(blk);
	int fd;

	memset(buf, 'x', blk);
	snprintf(path, sizeof(path), "%s/raw-group-commit.out", B.root);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND, 0600);
	if (fd < 0)
		die("cannot create '%s'", path);
	t0 = now_ns();
	cpu0 = cpu_ns();
	while (written < total) {
		uint64_t t = now_ns(), arrived = (uint64_t)((double)(t - t0) / 1e9 * rate) + 1, a;

		if (arrived > total)
			arrived = total;
		if (arrived <= written) {
			sleep_until(t0 + (uint64_t)((double)written * 1e9 / rate));
			continue;
		}
		for (uint64_t left = (arrived - written) * rec; left;) {
			size_t n = left < blk ? left : blk;

			if (write(fd, buf, n) != (ssize_t)n)
				die("write: %s", strerror(errno));
			left -= n;
		}
		a = now_ns();
		if (fdatasync(fd) < 0)
			die("fdatasync: %s", strerror(errno));
		written = arrived;
		if (nb == capb) {
			capb = capb ? capb * 2 : 4096;
			b = xrealloc(b, capb * sizeof(*b));
			d = xrealloc(d, capb * sizeof(*d));
		}
		b[nb][0] = written;
		b[nb][1] = now_ns();
		d[nb] = b[nb][1] - a;
		nb++;
	}
	c->m[M_CPU][run] = (double)(cpu_ns() - cpu0) / (double)(now_ns() - t0);
	close(fd);
	unlink(path);
	lat = xmalloc((size_t)total * sizeof(uint64_t));
	for (size_t i = 0, k = 0; i < nb; i++)
		for (; k < b[i][0]; k++) {
			uint64_t arr = t0 + (uint64_t)((double)k * 1e9 / rate);

			lat[nl++] = b[i][1] > arr ? b[i][1] - arr : 0;
		}
	qsort(lat, nl, sizeof(uint64_t), cmp_u64);
	qsort(d, nb, sizeof(uint64_t), cmp_u64);
	c->m[M_RECS][run] = (double)nl;
	c->m[M_OFFERED][run] = rate;
	c->m[M_RECS_S][run] = (double)nl / ((double)(b[nb - 1][1] - t0) / 1e9);
	c->m[M_MB_S][run] = (double)nl * (double)rec / 1e6 / ((double)(b[nb - 1][1] - t0) / 1e9);
	c->m[M_DUE_P50][run] = ms(pct_u64(lat, nl, 50));
	c->m[M_DUE_P99][run] = ms(pct_u64(lat, nl, 99));
	c->m[M_DUE_MAX][run] = ms(nl ? lat[nl - 1] : 0);
	c->m[M_BATCHES][run] = (double)nb;
	c->m[M_REC_BATCH][run] = (double)nl / (double)nb;
	c->m[M_FSYNC_P50][run] = ms(pct_u64(d, nb, 50));
	c->m[M_FSYNC_P99][run] = ms(pct_u64(d, nb, 99));
	c->m[M_FSYNC_MAX][run] = ms(nb ? d[nb - 1] : 0);
	free(lat);
	free(b);
	free(d);
	free(buf);
}

/* ---- output ---------------------------------------------------------------------------- */

static void fmt_num(char *out, size_t cap, double v, int prec)
{
	if (isnan(v)) {
		snprintf(out, cap, "-");
	} else if (prec < 0) { /* thousands separators for counts and rates */
		char tmp[64], *p = out;
		int n = snprintf(tmp, sizeof(tmp), "%.0f", v), lead = n % 3 ? n % 3 : 3;

		for (int i = 0; i < n && (size_t)(p - out) + 2 < cap; i++) {
			if (i && (i - lead) % 3 == 0 && tmp[i - 1] != '-')
				*p++ = ',';
			*p++ = tmp[i];
		}
		*p = 0;
	} else {
		snprintf(out, cap, "%.*f", prec, v);
	}
}

static const char *F(double v, int prec)
{
	static char bufs[32][48];
	static int i;
	char *b = bufs[i++ % 32];

	fmt_num(b, 48, v, prec);
	return b;
}

static const char *payload_name(size_t p)
{
	return p == 2048 ? "2 KiB" : p == 256 ? "256 B" : "?";
}

static bool have_kind(const char *kind)
{
	for (size_t i = 0; i < nconfigs; i++)
		if (!strcmp(configs[i].kind, kind))
			return true;
	return false;
}

static void target_line(const char *what, const struct config *c, enum metric k, double target,
			bool higher_is_better, int prec, const char *how)
{
	double lo = NAN, hi = NAN, v = c->med[k];
	char range[64];

	for (int r = 0; r < c->runs; r++) {
		if (isnan(c->m[k][r]))
			continue;
		if (isnan(lo) || c->m[k][r] < lo)
			lo = c->m[k][r];
		if (isnan(hi) || c->m[k][r] > hi)
			hi = c->m[k][r];
	}
	snprintf(range, sizeof(range), "%s..%s", F(lo, prec), F(hi, prec));
	printf("%-32s %8s %10s %19s  %-6s %s\n", what, F(target, prec < 0 ? -1 : 0), F(v, prec),
	       range,
	       isnan(v)					       ? ""
	       : (higher_is_better ? v >= target : v <= target) ? "met"
							       : "MISSED",
	       how);
}

static void print_tables(const struct machine *mc, double total_s)
{
	char date[64];
	time_t now = time(NULL);

	strftime(date, sizeof(date), "%Y-%m-%d %H:%M %Z", localtime(&now));
	printf("\nvigil ledger benchmark, %s, %d run%s each, medians\n", date, O.runs,
	       O.runs == 1 ? "" : "s");
	printf("machine: %ld CPUs, %s; %s\n", mc->ncpu, mc->cpu, mc->kernel);
	printf("bench dir: %s (%s on %s, mounted at %s)\n", mc->dir, mc->fstype,
	       mc->device[0] ? mc->device : "?", mc->mountpoint[0] ? mc->mountpoint : "?");
	printf("load average: %s at the start, %s at the end\n", mc->load_start, mc->load_end);
	if (mc->tmpfs)
		printf("WARNING: the bench dir is in memory; fdatasync costs nothing there\n");

	if (!have_kind("saturated"))
		goto paced;
	printf("\nAPPEND, saturated (producers append as fast as they can; default options)\n");
	printf("%-6s %4s %9s %6s | %7s %7s %7s | %7s %7s | %7s %6s %6s | %5s %5s\n", "", "",
	       "", "", "durable", "(ms)", "", "seen", "(ms)", "", "rec/", "fsync", "", "");
	printf("%-6s %4s %9s %6s | %7s %7s %7s | %7s %7s | %7s %6s %6s | %5s %5s\n", "payld",
	       "prod", "records/s", "MB/s", "p50", "p99", "max", "p50", "p99", "batches", "batch",
	       "p50ms", "ckpts", "cpu");
	for (size_t i = 0; i < nconfigs; i++) {
		const struct config *c = &configs[i];

		if (strcmp(c->kind, "saturated"))
			continue;
		printf("%-6s %4d %9s %6s | %7s %7s %7s | %7s %7s | %7s %6s %6s | %5s %5s\n",
		       payload_name(c->payload), c->producers, F(c->med[M_RECS_S], -1),
		       F(c->med[M_MB_S], 0), F(c->med[M_LAT_P50], 2), F(c->med[M_LAT_P99], 2),
		       F(c->med[M_LAT_MAX], 1), F(c->med[M_SEEN_P50], 2),
		       F(c->med[M_SEEN_P99], 2), F(c->med[M_BATCHES], -1),
		       F(c->med[M_REC_BATCH], 0), F(c->med[M_FSYNC_P50], 2),
		       F(c->med[M_CHECKPOINTS], -1), F(c->med[M_CPU], 2));
	}
	printf("  append call: mean time inside ledger_append (us):");
	for (size_t i = 0; i < nconfigs; i++)
		if (!strcmp(configs[i].kind, "saturated"))
			printf(" %s/%d=%s", configs[i].payload == 2048 ? "2K" : "256",
			       configs[i].producers, F(configs[i].med[M_APPEND_US], 2));
	printf("\n");

paced:
	for (size_t i = 0; i < nconfigs; i++) {
		const struct config *c = &configs[i];

		if (strcmp(c->kind, "paced") && strcmp(c->kind, "rawgc"))
			continue;
		if (!strcmp(c->kind, "paced")) {
			printf("\nAPPEND, paced: %s records/s offered (%s, %d producers, %.1f s), "
			       "time to durable in ms\n",
			       F(c->med[M_OFFERED], -1), payload_name(c->payload), c->producers,
			       O.paced_seconds);
			printf("%-26s %9s %5s | %6s %6s %6s | %7s %7s | %6s %6s %6s | %4s\n", "",
			       "records/s", "MB/s", "p50", "p99", "max", "batches", "rec/bat", "fsync",
			       "fsync", "fsync", "cpu");
			printf("%-26s %9s %5s | %6s %6s %6s | %7s %7s | %6s %6s %6s | %4s\n", "", "", "",
			       "", "", "", "", "", "p50", "p99", "max", "");
			printf("%-26s %9s %5s | %6s %6s %6s | %7s %7s | %6s %6s %6s | %4s\n",
			       "ledger, from append return", F(c->med[M_RECS_S], -1),
			       F(c->med[M_MB_S], 0), F(c->med[M_LAT_P50], 2), F(c->med[M_LAT_P99], 2),
			       F(c->med[M_LAT_MAX], 1), F(c->med[M_BATCHES], -1),
			       F(c->med[M_REC_BATCH], 0), F(c->med[M_FSYNC_P50], 2),
			       F(c->med[M_FSYNC_P99], 2), F(c->med[M_FSYNC_MAX], 1),
			       F(c->med[M_CPU], 2));
			printf("%-26s %9s %5s | %6s %6s %6s |\n", "ledger, seen by a waiter", "", "",
			       F(c->med[M_SEEN_P50], 2), F(c->med[M_SEEN_P99], 2),
			       F(c->med[M_SEEN_MAX], 1));
			printf("%-26s %9s %5s | %6s %6s %6s |\n", "ledger, from the due time", "", "",
			       F(c->med[M_DUE_P50], 2), F(c->med[M_DUE_P99], 2),
			       F(c->med[M_DUE_MAX], 1));
		} else {
			printf("%-26s %9s %5s | %6s %6s %6s | %7s %7s | %6s %6s %6s | %4s\n",
			       "disk floor: raw write+sync", F(c->med[M_RECS_S], -1),
			       F(c->med[M_MB_S], 0), F(c->med[M_DUE_P50], 2), F(c->med[M_DUE_P99], 2),
			       F(c->med[M_DUE_MAX], 1), F(c->med[M_BATCHES], -1),
			       F(c->med[M_REC_BATCH], 0), F(c->med[M_FSYNC_P50], 2),
			       F(c->med[M_FSYNC_P99], 2), F(c->med[M_FSYNC_MAX], 1),
			       F(c->med[M_CPU], 2));
		}
	}

	if (!have_kind("closed") && !have_kind("fsync"))
		goto verify;
	printf("\nAPPEND+WAIT, closed loop (each producer appends one record and waits for it)\n");
	printf("%-6s %4s %9s | %8s %8s %8s | %7s %7s %6s\n", "payld", "prod", "records/s",
	       "p50 ms", "p99 ms", "max ms", "batches", "rec/bat", "fsync");
	for (size_t i = 0; i < nconfigs; i++) {
		const struct config *c = &configs[i];

		if (!strcmp(c->kind, "closed") || !strcmp(c->kind, "fsync"))
			printf("%-6s %4s %9s | %8s %8s %8s | %7s %7s %6s%s\n",
			       payload_name(c->payload),
			       !strcmp(c->kind, "fsync") ? "-" : F(c->producers, -1),
			       F(c->med[M_RECS_S], -1), F(c->med[M_SEEN_P50], 3),
			       F(c->med[M_SEEN_P99], 3), F(c->med[M_SEEN_MAX], 2),
			       F(c->med[M_BATCHES], -1), F(c->med[M_REC_BATCH], 1),
			       F(c->med[M_FSYNC_P50], 3),
			       !strcmp(c->kind, "fsync") ? "   <- raw write+fdatasync per 316 B record, no ledger"
							 : "");
	}

verify:
	if (!have_kind("saturated"))
		goto targets;
	printf("\nVERIFY next to reading and hashing the same bytes (the segment files of each\n"
	       "saturated run, in the page cache), MB/s\n");
	printf("%-6s %4s %6s | %7s %10s | %7s %7s | %7s %7s %6s %7s | %6s %6s\n", "", "", "",
	       "verify", "verify", "read", "read", "sha256", "sha256", "crc32", "sha+crc",
	       "verify", "verify");
	printf("%-6s %4s %6s | %7s %10s | %7s %7s | %7s %7s %6s %7s | %6s %6s\n", "payld",
	       "prod", "MB", "MB/s", "records/s", "new buf", "reused", "/record", "1 buf", "",
	       "/record", "/sha", "/s+c");
	for (size_t i = 0; i < nconfigs; i++) {
		const struct config *c = &configs[i];

		if (strcmp(c->kind, "saturated"))
			continue;
		printf("%-6s %4d %6s | %7s %10s | %7s %7s | %7s %7s %6s %7s | %6s %6s%s\n",
		       payload_name(c->payload), c->producers, F(c->med[M_BYTES] / 1e6, 0),
		       F(c->med[M_VERIFY_MB_S], 0), F(c->med[M_VERIFY_REC_S], -1),
		       F(c->med[M_READ_FRESH_MB_S], 0), F(c->med[M_READ_REUSE_MB_S], 0),
		       F(c->med[M_SHA_REC_MB_S], 0), F(c->med[M_SHA_BUF_MB_S], 0),
		       F(c->med[M_CRC_MB_S], 0), F(c->med[M_SHA_CRC_MB_S], 0),
		       F(c->med[M_VERIFY_MB_S] / c->med[M_SHA_REC_MB_S], 2),
		       F(c->med[M_VERIFY_MB_S] / c->med[M_SHA_CRC_MB_S], 2),
		       c->med[M_VERIFY_OK] < 1 ? "  VERIFY FAILED" : "");
	}
	if (!O.no_cat) {
		printf("\nAPPEND next to copying the same bytes to the same disk, MB/s\n");
		printf("%-6s %4s %6s | %7s | %8s %9s | %6s %6s\n", "payld", "prod", "MB", "append",
		       "write+", "cat+", "append", "append");
		printf("%-6s %4s %6s | %7s | %8s %9s | %6s %6s\n", "", "", "", "MB/s", "fdatasync",
		       "sync FILE", "/write", "/cat");
		for (size_t i = 0; i < nconfigs; i++) {
			const struct config *c = &configs[i];

			if (strcmp(c->kind, "saturated"))
				continue;
			printf("%-6s %4d %6s | %7s | %8s %9s | %6s %6s\n", payload_name(c->payload),
			       c->producers, F(c->med[M_BYTES] / 1e6, 0), F(c->med[M_MB_S], 0),
			       F(c->med[M_WRITE_MB_S], 0), F(c->med[M_CAT_MB_S], 0),
			       F(c->med[M_MB_S] / c->med[M_WRITE_MB_S], 2),
			       F(c->med[M_MB_S] / c->med[M_CAT_MB_S], 2));
		}
	}

targets:
	/* Targets, with the spread of the per-run values. */
	{
		const struct config *bc = NULL, *pc = NULL, *vc = NULL;

		for (size_t i = 0; i < nconfigs; i++) {
			const struct config *c = &configs[i];

			if (!strcmp(c->kind, "saturated") && c->payload == 256 &&
			    (!bc || c->med[M_RECS_S] > bc->med[M_RECS_S]))
				bc = c;
			if (!strcmp(c->kind, "paced") && c->payload == 256)
				pc = c;
			if (!strcmp(c->kind, "saturated") &&
			    (!vc || c->med[M_VERIFY_MB_S] < vc->med[M_VERIFY_MB_S]))
				vc = c;
		}
		printf("\nTARGETS (2 cores; informative only: the exit status never depends on them)\n");
		char how[128];

		printf("%-32s %8s %10s %19s\n", "", "target", "median", "runs: min..max");
		if (bc) {
			snprintf(how, sizeof(how), "(saturated, %d producers)", bc->producers);
			target_line("durable appends/s, 256 B", bc, M_RECS_S, TARGET_APPENDS, true, -1,
				    how);
		}
		if (pc) {
			snprintf(how, sizeof(how), "(paced at %s/s, %d producers)",
				 F(pc->med[M_OFFERED], -1), pc->producers);
			target_line("p99 time to durable, ms", pc, M_LAT_P99, TARGET_P99_MS, false, 2,
				    how);
		}
		for (size_t i = 0; i < nconfigs; i++)
			if (!strcmp(configs[i].kind, "rawgc"))
				target_line("  the same, disk alone", &configs[i], M_DUE_P99,
					    TARGET_P99_MS, false, 2,
					    "(no ledger: write+fdatasync loop, same rate)");
		if (vc) {
			snprintf(how, sizeof(how), "(slowest: %s, %d producers)",
				 payload_name(vc->payload), vc->producers);
			target_line("verify, MB/s", vc, M_VERIFY_MB_S, TARGET_VERIFY_MBS, true, 0, how);
		}
	}
	printf("\n(total bench time %.0f s)\n", total_s);
}

static void json_str(const char *s)
{
	putchar('"');
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			printf("\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			printf("\\u%04x", *s);
		else
			putchar(*s);
	}
	putchar('"');
}

static void json_num(double v)
{
	if (isnan(v) || isinf(v))
		printf("null");
	else
		printf("%.6g", v);
}

static void print_json(const struct machine *mc, double total_s)
{
	printf("{\n  \"bench\": \"vigil-ledger\",\n  \"time\": %lld,\n", (long long)time(NULL));
	printf("  \"machine\": {\"cpus\": %ld, \"cpu\": ", mc->ncpu);
	json_str(mc->cpu);
	printf(", \"kernel\": ");
	json_str(mc->kernel);
	printf(", \"dir\": ");
	json_str(mc->dir);
	printf(", \"fstype\": ");
	json_str(mc->fstype);
	printf(", \"device\": ");
	json_str(mc->device);
	printf(", \"tmpfs\": %s, \"load_start\": ", mc->tmpfs ? "true" : "false");
	json_str(mc->load_start);
	printf(", \"load_end\": ");
	json_str(mc->load_end);
	printf("},\n");
	printf("  \"runs\": %d,\n  \"total_s\": %.1f,\n", O.runs, total_s);
	printf("  \"targets\": {\"append_256_per_s\": %.0f, \"p99_durable_ms\": %.0f, "
	       "\"verify_mb_per_s\": %.0f},\n",
	       TARGET_APPENDS, TARGET_P99_MS, TARGET_VERIFY_MBS);
	printf("  \"results\": [\n");
	for (size_t i = 0; i < nconfigs; i++) {
		const struct config *c = &configs[i];
		bool first = true;

		printf("    {\"kind\": \"%s\", \"payload\": %zu, \"producers\": %d, \"median\": {",
		       c->kind, c->payload, c->producers);
		for (int k = 0; k < M__COUNT; k++) {
			if (isnan(c->med[k]))
				continue;
			printf("%s\"%s\": ", first ? "" : ", ", MN[k].json);
			json_num(c->med[k]);
			first = false;
		}
		printf("}, \"runs\": {");
		first = true;
		for (int k = 0; k < M__COUNT; k++) {
			if (isnan(c->med[k]))
				continue;
			printf("%s\"%s\": [", first ? "" : ", ", MN[k].json);
			for (int r = 0; r < c->runs; r++) {
				printf(r ? ", " : "");
				json_num(c->m[k][r]);
			}
			printf("]");
			first = false;
		}
		printf("}}%s\n", i + 1 < nconfigs ? "," : "");
	}
	printf("  ]\n}\n");
}

/* ---- main --------------------------------------------------------------------------------- */

int main(int argc, char **argv)
{
	struct machine mc;
	const char *base;
	uint64_t t_start = now_ns();
	struct config *c;
	size_t nlatency;
	bool tty = isatty(STDERR_FILENO);

	parse_opts(argc, argv);
	base = O.dir ? O.dir : ".";
	sha256 = EVP_MD_fetch(NULL, "SHA256", NULL);
	if (!sha256)
		die("SHA-256 is not available");
	machine_info(base, &mc);
	note("ledger_bench: %ld CPUs (%s), %s; bench dir %s on %s (%s)\n", mc.ncpu, mc.cpu,
	     mc.kernel, mc.dir, mc.fstype, mc.device[0] ? mc.device : "?");
	if (mc.tmpfs)
		note("ledger_bench: WARNING: %s is in memory; fdatasync costs nothing there and "
		     "the figures say nothing about a disk\n",
		     mc.dir);
	bench_setup(base);

	/*
	 * Two phases.  Latency first (paced, its disk floor, append+wait,
	 * fdatasync per record: little I/O), then throughput (saturated
	 * appends, verify and the copies: gigabytes written, then deleted).
	 * The work bulk writes leave behind (writeback, journal commits,
	 * discards of deleted files) would otherwise land in the latency
	 * figures of the next runs.  Within a phase the runs are
	 * interleaved (every configuration once, then again), so a slow moment
	 * of a shared machine is spread over all of them.
	 */
	if (O.paced_rate > 0) {
		new_config("paced", 256, O.paced_producers);
		new_config("rawgc", 256, 1);
	}
	for (int k = 0; k < O.nclosed; k++)
		new_config("closed", 256, O.closed[k]);
	if (O.fsync_records > 0)
		new_config("fsync", 256, 1);
	nlatency = nconfigs;
	for (size_t p = 0; p < 2; p++)
		for (int k = 0; k < O.nproducers; k++)
			new_config("saturated", p ? 2048 : 256, O.producers[k]);

	for (int phase = 0; phase < 2; phase++) {
		size_t from = phase ? nlatency : 0, to = phase ? nconfigs : nlatency;

		for (int run = 0; run < O.runs && from < to; run++) {
			if (!tty)
				note("ledger_bench: %s phase, run %d/%d\n",
				     phase ? "throughput" : "latency", run + 1, O.runs);
			for (size_t i = from; i < to; i++) {
				c = &configs[i];
				if (tty)
					note("\r[run %d/%d] %-28s", run + 1, O.runs, c->name);
				if (!strcmp(c->kind, "saturated") || !strcmp(c->kind, "paced"))
					run_append(c, run);
				else if (!strcmp(c->kind, "closed"))
					run_closed(c, run);
				else if (!strcmp(c->kind, "rawgc"))
					run_raw_group_commit(c, run);
				else
					run_fsync_each(c, run);
				c->runs = run + 1;
			}
		}
	}
	if (tty)
		note("\r%-50s\r", "");
	for (size_t i = 0; i < nconfigs; i++)
		finish_config(&configs[i]);
	io_reset();
	loadavg(mc.load_end, sizeof(mc.load_end));

	if (O.json)
		print_json(&mc, (double)(now_ns() - t_start) / 1e9);
	else
		print_tables(&mc, (double)(now_ns() - t_start) / 1e9);
	if (!O.keep)
		rm_rf(B.root);
	else
		note("kept %s\n", B.root);
	free(configs);
	return 0;
}
