/*
 * test_crash.c - crash safety: a child process appends records and reports
 * each one only after ledger_wait_durable() says it is durable; the parent
 * kills it with SIGKILL at a random moment (during open, appends, group
 * commits, seals, segment creation), reopens the ledger and checks that no
 * acknowledged record was lost, that every one still holds what the child
 * wrote, and that the ledger verifies once the parent closed (sealed) it.
 *
 * A SIGKILL loses no written data (the page cache survives the process), so
 * a third of the iterations also simulate losing power at the kill: the last
 * segment is cut at a random point after the last acknowledged record,
 * which is what an fdatasync'd writer may find after a power cut.  That
 * exercises torn-tail recovery on open.  What survives a power cut is at
 * least everything made durable: the acknowledged records, what the parent
 * wrote and closed before, and what the head file says was durable.
 *
 * The writer vouches on reopen for every record it wrote (the head file
 * names the batch it was writing); records of a write cut short may be
 * reported as unvouched, but never an acknowledged one, and never a cut.
 *
 * The PRNG seed is printed; VIGIL_TEST_SEED=<n> replays a run.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define ITERATIONS 200
#define MAX_DELAY_US 40000
/* Per child: bounds the ledger, which every iteration reads and verifies whole. */
#define MAX_RECORDS 120

struct ack {
	uint64_t seq;
	uint32_t it, k;
};

/* What the child said was durable, by seq. */
struct expect {
	uint32_t it, k;
	bool acked;
};

static struct expect *expects;
static size_t nexpects;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void options(const struct tledger *t, struct ledger_options *o)
{
	tledger_options(t, o);
	o->segment_bytes = 16 * 1024; /* segment creation is part of the race */
	o->checkpoint_records = 32;    /* and so are seals */
	o->checkpoint_ms = 5;
}

static int payload(char *buf, size_t cap, uint32_t it, uint32_t k)
{
	return snprintf(buf, cap, "{\"it\":%" PRIu32 ",\"k\":%" PRIu32 ",\"pad\":\"%0*d\"}", it, k,
			(int)(k % 40), 0);
}

static void write_all(int fd, const void *p, size_t n)
{
	/* Messages are 16 bytes: pipe writes that small are atomic. */
	if (write(fd, p, n) != (ssize_t)n)
		_exit(5);
}

static void __attribute__((noreturn)) child(const struct tledger *t, uint32_t it, uint64_t seed,
					    int fd)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256], buf[128];
	uint32_t k = 0;

	options(t, &o);
	if (ledger_open(&o, &l, NULL, err, sizeof(err)) < 0) {
		fprintf(stderr, "child %u: %s\n", it, err);
		_exit(3);
	}
	for (;;) {
		uint64_t seqs[8];
		unsigned batch = 1 + (unsigned)(trand(&seed) % 8);

		if (k >= MAX_RECORDS)
			pause(); /* until killed; the kill may still hit the writer's timers */

		for (unsigned b = 0; b < batch; b++) {
			int n = payload(buf, sizeof(buf), it, k + b);

			if (ledger_append(l, LEDGER_REC_EVENT, buf, (size_t)n, &seqs[b]) < 0)
				_exit(4);
		}
		if (ledger_wait_durable(l, seqs[batch - 1], -1) < 0)
			_exit(4);
		for (unsigned b = 0; b < batch; b++) {
			struct ack a = { .seq = seqs[b], .it = it, .k = k + b };

			write_all(fd, &a, sizeof(a));
		}
		k += batch;
	}
}

static int remember(const struct ack *a)
{
	if (a->seq >= nexpects) {
		size_t n = nexpects ? nexpects : 1024;
		struct expect *ne;

		while (n <= a->seq)
			n *= 2;
		ne = realloc(expects, n * sizeof(*ne));
		if (!ne)
			return -ENOMEM;
		memset(ne + nexpects, 0, (n - nexpects) * sizeof(*ne));
		expects = ne;
		nexpects = n;
	}
	expects[a->seq].it = a->it;
	expects[a->seq].k = a->k;
	expects[a->seq].acked = true;
	return 0;
}

/* Simulates a power cut: the last segment loses a random part of what came
 * after the last durable record (or after its header). */
static bool power_cut(const char *dir, uint64_t *seed, uint64_t max_acked)
{
	struct timage im;
	size_t keep = SEG_HEADER_LEN, si, off;
	struct tseg *s;
	bool cut = false;

	if (timage_load(dir, &im) < 0)
		return false;
	if (im.n == 0) {
		/* Killed before it created the first segment. */
		timage_free(&im);
		return false;
	}
	s = &im.s[im.n - 1];
	if (max_acked && timage_find_seq(&im, max_acked, &si, &off) == 0 && si == im.n - 1)
		keep = off + tframe_len(s->buf + off);
	if (s->len > keep) {
		char path[4200];

		s->len = keep + (size_t)(trand(seed) % (s->len - keep));
		tseg_path(path, dir, s->no);
		cut = tfile_write(path, s->buf, s->len, 0600) == 0;
	}
	timage_free(&im);
	return cut;
}

/* Reads the whole ledger and checks every acknowledged record. */
static void check_acked(const char *dir, uint64_t *acked, uint64_t *lost, uint64_t *wrong)
{
	struct ledger_reader *r;
	struct ledger_record rec;
	char err[256], want[128];
	int rc;

	*acked = *lost = *wrong = 0;
	for (size_t s = 0; s < nexpects; s++)
		*acked += expects[s].acked;
	if (ledger_reader_open(dir, &r, err, sizeof(err)) < 0) {
		*lost = *acked;
		return;
	}
	{
		uint64_t found = 0;

		while ((rc = ledger_reader_next(r, &rec, err, sizeof(err))) == 1) {
			const struct expect *e;
			int n;

			if (rec.seq >= nexpects || !expects[rec.seq].acked)
				continue;
			e = &expects[rec.seq];
			found++;
			n = payload(want, sizeof(want), e->it, e->k);
			if (rec.type != LEDGER_REC_EVENT || rec.payload_len != (uint32_t)n ||
			    memcmp(rec.payload, want, (size_t)n) != 0) {
				if (++*wrong <= 3)
					printf("# seq %" PRIu64 " does not hold what was acknowledged "
					       "(%s)\n",
					       rec.seq, want);
			}
		}
		if (rc < 0)
			printf("# reader: %s\n", err);
		*lost = *acked - found;
	}
	ledger_reader_free(r);
}

/*
 * True when res is OK, or INCOMPLETE with only UNVOUCHED findings none of
 * which names an acknowledged record (the detail says "seq A..B").
 */
static bool only_unvouched_unacked(const struct ledger_verify_result *res)
{
	if (res->verdict == LEDGER_OK)
		return true;
	if (res->verdict != LEDGER_INCOMPLETE || !tledger_only(res, LF_UNVOUCHED))
		return false;
	for (size_t i = 0; i < res->nfindings; i++) {
		unsigned long long a, b;

		if (sscanf(res->findings[i].detail, "records seq %llu..%llu", &a, &b) != 2)
			return false;
		for (unsigned long long s = a; s <= b; s++)
			if (s < nexpects && expects[s].acked) {
				printf("# acknowledged seq %llu reported unvouched\n", s);
				return false;
			}
	}
	return true;
}

int main(void)
{
	struct tledger t;
	struct ledger_options o;
	uint64_t seed, kills = 0, exits = 0, open_fail = 0, verify_fail = 0, recovered = 0;
	uint64_t cuts = 0, recovered_after_cut = 0, lost_total = 0, wrong_total = 0;
	uint64_t acked = 0, lost = 0, wrong = 0, sealed_tail = 0, close_fail = 0;
	uint64_t closed_end = 0, unvouched = 0;
	char head_path[4300];
	double t0 = now_s();
	const char *env = getenv("VIGIL_TEST_SEED");

	seed = env && *env ? strtoull(env, NULL, 0) : (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
	printf("# seed %" PRIu64 " (VIGIL_TEST_SEED=%" PRIu64 " replays this run)\n", seed, seed);
	if (tledger_init(&t, 900) < 0) {
		TAP_OK(0, "keys created");
		return tap_done();
	}
	options(&t, &o);
	ledger_head_path(t.dir, head_path, sizeof(head_path));
	signal(SIGPIPE, SIG_IGN);

	for (uint32_t it = 0; it < ITERATIONS; it++) {
		struct ledger_open_info info;
		struct ledger_verify_result res;
		struct ledger *l;
		char err[256];
		int p[2], status = 0, rc;
		uint64_t child_seed = trand(&seed), delay_us, max_acked = 0;
		bool cut = false;
		pid_t pid;

		if (pipe(p) < 0)
			break;
		fflush(stdout);
		pid = fork();
		if (pid < 0)
			break;
		if (pid == 0) {
			close(p[0]);
			child(&t, it, child_seed, p[1]);
		}
		close(p[1]);
		/* Mostly while appending; now and then during open.  "While
		 * appending" waits for the child's first acknowledgement, so a
		 * loaded machine (a slow child start under the sanitizers) cannot
		 * turn every kill into a kill during open. */
		if (trand(&seed) % 8 == 0) {
			delay_us = trand(&seed) % 3000;
		} else {
			struct pollfd pfd = { .fd = p[0], .events = POLLIN };
			struct ack a;

			delay_us = trand(&seed) % MAX_DELAY_US;
			if (poll(&pfd, 1, 30000) == 1 && read(p[0], &a, sizeof(a)) == (ssize_t)sizeof(a) &&
			    remember(&a) == 0 && a.seq > max_acked)
				max_acked = a.seq;
		}
		usleep((useconds_t)delay_us);
		kill(pid, SIGKILL);
		while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
			;
		if (WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL)
			kills++;
		else
			exits++;
		for (;;) {
			struct ack a;
			ssize_t n = read(p[0], &a, sizeof(a));

			if (n != (ssize_t)sizeof(a))
				break;
			if (remember(&a) < 0)
				break;
			if (a.seq > max_acked)
				max_acked = a.seq;
		}
		close(p[0]);
		if (!max_acked)
			for (size_t s = nexpects; s-- > 0;)
				if (expects[s].acked) {
					max_acked = s;
					break;
				}

		if (trand(&seed) % 3 == 0) {
			struct ledger_head h;
			uint64_t floor = max_acked > closed_end ? max_acked : closed_end;

			if (ledger_head_read(head_path, &h) == 0 && h.durable_seq > floor)
				floor = h.durable_seq;
			cut = power_cut(t.dir, &seed, floor);
			cuts += cut;
		}

		rc = ledger_open(&o, &l, &info, err, sizeof(err));
		if (rc < 0) {
			if (++open_fail <= 3)
				printf("# iteration %u: reopen failed: %s\n", it, err);
			continue;
		}
		recovered += info.recovered && !cut;
		recovered_after_cut += info.recovered && cut;
		sealed_tail += info.sealed_tail;
		if (ledger_close(l) < 0)
			close_fail++;
		{
			struct ledger_head h;

			/* Closed: everything it wrote is durable. */
			if (ledger_head_read(head_path, &h) == 0)
				closed_end = h.written_seq;
		}

		check_acked(t.dir, &acked, &lost, &wrong);
		if (lost || wrong) {
			printf("# iteration %u: %" PRIu64 " acknowledged records lost, %" PRIu64
			       " changed\n",
			       it, lost, wrong);
			lost_total += lost;
			wrong_total += wrong;
			/* Count each loss once. */
			break;
		}
		rc = tledger_verify(&t, true, true, NULL, &res);
		unvouched = res.unvouched_ranges;
		if (rc != 0 || !only_unvouched_unacked(&res)) {
			if (++verify_fail <= 3) {
				printf("# iteration %u: verify failed\n", it);
				tledger_dump(&res);
			}
		}
		ledger_verify_result_release(&res);
	}

	printf("# %" PRIu64 " acknowledged records, %" PRIu64 " kills, %" PRIu64
	       " torn tails recovered after a kill, %" PRIu64 " after %" PRIu64
	       " simulated power cuts, %" PRIu64 " unsealed tails sealed on open, %.1f s\n",
	       acked, kills, recovered, recovered_after_cut, cuts, sealed_tail, now_s() - t0);
	TAP_OK(kills >= ITERATIONS, "%" PRIu64 " children killed with SIGKILL", kills);
	TAP_EQ_U64(exits, 0, "no child exited on its own (open or append failed)");
	TAP_EQ_U64(open_fail, 0, "the ledger reopened after every kill");
	TAP_EQ_U64(close_fail, 0, "and closed (sealed) cleanly");
	TAP_OK(acked > 0, "children acknowledged %" PRIu64 " durable records", acked);
	TAP_EQ_U64(lost_total, 0, "no acknowledged record lost");
	TAP_EQ_U64(wrong_total, 0, "every acknowledged record holds what was written");
	TAP_EQ_U64(verify_fail, 0,
		   "verify (MAC, require-sealed) passed after every reopen, or reported "
		   "unvouched only records nobody acknowledged (%" PRIu64 " such ranges)",
		   unvouched);
	TAP_OK(recovered + recovered_after_cut > 0, "torn tails were recovered on open (%" PRIu64 ")",
	       recovered + recovered_after_cut);
	free(expects);
	tledger_cleanup(&t);
	return tap_done();
}
