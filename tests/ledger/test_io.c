/*
 * test_io.c - the writer under I/O failures injected through
 * ledger_options.io: ENOSPC and EIO on write (also after a partial write),
 * short writes, fdatasync failing, and failures while creating a segment.
 * While the fault lasts nothing is acknowledged durable; once it clears the
 * writer retries, everything becomes durable, and the ledger verifies with
 * no duplicate, missing or torn frame.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The fault currently injected; the writer thread reads it. */
static struct {
	atomic_int write_err;	/* write() fails with this errno */
	atomic_bool partial;	/* ... after writing half of the first such call */
	atomic_int short_max;	/* write() writes at most this many bytes (0: all) */
	atomic_int fsync_err;	/* fdatasync() fails with this errno */
	atomic_int open_tmp_err; /* opening a new segment's temporary file fails */
	atomic_int truncate_err; /* ftruncate() fails with this errno */
	atomic_long injected;	/* failures injected so far */
	atomic_long writes;	/* write() calls */
} F;

static int t_open(const char *path, int flags, unsigned mode)
{
	int e = atomic_load(&F.open_tmp_err);
	size_t n = strlen(path);
	int fd;

	if (e && n > 4 && !strcmp(path + n - 4, ".tmp")) {
		atomic_fetch_add(&F.injected, 1);
		return -e;
	}
	fd = open(path, flags | O_CLOEXEC, (mode_t)mode);
	return fd < 0 ? -errno : fd;
}

static long t_write(int fd, const void *buf, size_t n)
{
	int e = atomic_load(&F.write_err);
	int sm = atomic_load(&F.short_max);
	ssize_t w;

	atomic_fetch_add(&F.writes, 1);
	if (e) {
		bool expected = true;

		/* A device that fills up mid-write: part of it lands, then the error. */
		if (n > 1 && atomic_compare_exchange_strong(&F.partial, &expected, false)) {
			w = write(fd, buf, n / 2);
			return w < 0 ? -errno : (long)w;
		}
		atomic_fetch_add(&F.injected, 1);
		return -e;
	}
	if (sm > 0 && n > (size_t)sm)
		n = (size_t)sm;
	w = write(fd, buf, n);
	return w < 0 ? -errno : (long)w;
}

static int t_fdatasync(int fd)
{
	int e = atomic_load(&F.fsync_err);

	if (e) {
		atomic_fetch_add(&F.injected, 1);
		return -e;
	}
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int t_ftruncate(int fd, uint64_t size)
{
	int e = atomic_load(&F.truncate_err);

	if (e) {
		atomic_fetch_add(&F.injected, 1);
		return -e;
	}
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

static int t_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static const struct ledger_io fault_io = {
	.open = t_open,
	.write = t_write,
	.fdatasync = t_fdatasync,
	.ftruncate = t_ftruncate,
	.close = t_close,
};

static void clear_faults(void)
{
	atomic_store(&F.write_err, 0);
	atomic_store(&F.partial, false);
	atomic_store(&F.short_max, 0);
	atomic_store(&F.fsync_err, 0);
	atomic_store(&F.open_tmp_err, 0);
	atomic_store(&F.truncate_err, 0);
}

static struct tledger T;
static char dir[4300];
static int scenario_no;

static void options(struct ledger_options *o, bool manual)
{
	tledger_options(&T, o);
	o->dir = dir;
	o->io = &fault_io;
	o->manual_flush = manual;
}

static void new_dir(void)
{
	snprintf(dir, sizeof(dir), "%s/l%d", T.root, ++scenario_no);
}

static void sleep_ms(int ms)
{
	struct timespec ts = { ms / 1000, (long)(ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

/*
 * Reads the ledger and checks that the events are exactly n = 0..count-1,
 * once each and in order, with seqs going up by one and no torn frame.
 */
static bool events_exact(int count)
{
	struct ledger_reader *r;
	struct ledger_record rec;
	char err[256];
	uint64_t prev = 0;
	int next = 0, rc;
	bool ok = true;

	if (ledger_reader_open(dir, &r, err, sizeof(err)) < 0)
		return false;
	while ((rc = ledger_reader_next(r, &rec, err, sizeof(err))) == 1) {
		int n;

		if (rec.seq != prev + 1) {
			printf("# seq %" PRIu64 " after %" PRIu64 "\n", rec.seq, prev);
			ok = false;
		}
		prev = rec.seq;
		if (rec.type != LEDGER_REC_EVENT)
			continue;
		if (sscanf((const char *)rec.payload, "{\"n\":%d,", &n) != 1 || n != next) {
			printf("# event n=%d where %d was expected (seq %" PRIu64 ")\n", n, next,
			       rec.seq);
			ok = false;
		}
		next++;
	}
	if (rc < 0) {
		printf("# reader: %s\n", err);
		ok = false;
	}
	ledger_reader_free(r);
	if (next != count) {
		printf("# %d events, expected %d\n", next, count);
		ok = false;
	}
	return ok;
}

static bool verify_ok(bool require_sealed)
{
	struct ledger_verify_result res;
	int rc = tverify_dir(dir, &T.pub, &T.verify_key, require_sealed, NULL, &res);
	bool ok = rc == 0 && res.verdict == LEDGER_OK;

	if (!ok)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
	return ok;
}

/* Polls until seq is durable (the writer retries with a back-off of up to
 * 5 s); gives up after a minute, which only a broken writer needs. */
static int wait_recovered(struct ledger *l, uint64_t seq)
{
	int rc = -ETIMEDOUT;

	for (int i = 0; i < 600; i++) {
		rc = ledger_wait_durable(l, seq, 100);
		if (rc == 0)
			return 0;
		if (rc != -ETIMEDOUT)
			sleep_ms(100);
	}
	return rc;
}

enum fault { FAULT_ENOSPC, FAULT_EIO_PARTIAL, FAULT_FSYNC };

static void set_fault(enum fault f)
{
	switch (f) {
	case FAULT_ENOSPC:
		atomic_store(&F.write_err, ENOSPC);
		break;
	case FAULT_EIO_PARTIAL:
		atomic_store(&F.partial, true);
		atomic_store(&F.write_err, EIO);
		break;
	case FAULT_FSYNC:
		atomic_store(&F.fsync_err, EIO);
		break;
	}
}

static const char *fault_name(enum fault f)
{
	return f == FAULT_ENOSPC ? "ENOSPC on write" : f == FAULT_EIO_PARTIAL ? "EIO after a partial write"
										: "fdatasync EIO";
}

/* The writer thread meets a fault, then the fault clears. */
static void test_threaded(enum fault f)
{
	struct ledger_options o;
	struct ledger_status st;
	struct ledger *l;
	char err[256];
	uint64_t seq, before;
	int rc, want = f == FAULT_ENOSPC ? -ENOSPC : -EIO;
	long inj0;

	clear_faults();
	new_dir();
	options(&o, false);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "[%s] open", fault_name(f));
	if (rc)
		return;
	rc = tledger_append_events(l, 0, 5, 20, &seq);
	TAP_OK(rc == 0 && ledger_wait_durable(l, seq, -1) == 0, "[%s] 5 events durable",
	       fault_name(f));
	before = seq;

	inj0 = atomic_load(&F.injected);
	set_fault(f);
	rc = tledger_append_events(l, 5, 10, 20, &seq);
	TAP_OK(rc == 0, "[%s] 10 more appended while the device fails", fault_name(f));
	/* Wait (bounded) until the writer has actually hit the fault. */
	for (int i = 0; i < 600 && atomic_load(&F.injected) == inj0; i++)
		sleep_ms(10);
	rc = ledger_wait_durable(l, seq, 200);
	TAP_OK(rc == want || rc == -ETIMEDOUT, "[%s] not acknowledged durable: wait returns %d (%s)",
	       fault_name(f), rc, strerror(-rc));
	ledger_status(l, &st);
	TAP_OK(st.durable_seq >= before && st.durable_seq < seq,
	       "[%s] durable seq stays at %" PRIu64 " (< %" PRIu64 ")", fault_name(f), st.durable_seq,
	       seq);
	TAP_EQ_U64((uint64_t)(int64_t)st.last_error, (uint64_t)(int64_t)want,
		   "[%s] status reports the error", fault_name(f));
	/* Still failing a little later: nothing was acknowledged meanwhile. */
	sleep_ms(150);
	ledger_status(l, &st);
	TAP_OK(st.durable_seq < seq && atomic_load(&F.injected) > inj0,
	       "[%s] the writer retried (%ld failures) and still acknowledged nothing", fault_name(f),
	       atomic_load(&F.injected) - inj0);

	clear_faults();
	rc = wait_recovered(l, seq);
	TAP_OK(rc == 0, "[%s] once the fault clears, everything becomes durable", fault_name(f));
	ledger_status(l, &st);
	TAP_OK(st.last_error == 0, "[%s] the error is cleared", fault_name(f));
	rc = tledger_append_events(l, 15, 5, 20, &seq);
	TAP_OK(rc == 0 && ledger_wait_durable(l, seq, -1) == 0, "[%s] later appends are durable",
	       fault_name(f));
	TAP_OK(ledger_close(l) == 0, "[%s] close", fault_name(f));
	TAP_OK(events_exact(20), "[%s] events 0..19 once each, in order, no torn frame",
	       fault_name(f));
	TAP_OK(verify_ok(true), "[%s] verify passes", fault_name(f));
}

static off_t seg_size(uint64_t segno)
{
	char path[4200];
	struct stat st;

	tseg_path(path, dir, segno);
	return stat(path, &st) == 0 ? st.st_size : -1;
}

/* The same, step by step with manual flushes: each outcome is exact. */
static void test_manual(enum fault f)
{
	struct ledger_options o;
	struct ledger_status st;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	off_t size0;
	int rc, want = f == FAULT_ENOSPC ? -ENOSPC : -EIO;

	clear_faults();
	new_dir();
	options(&o, true);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "[manual, %s] open", fault_name(f));
	if (rc)
		return;
	rc = tledger_append_events(l, 0, 5, 20, &seq);
	TAP_OK(rc == 0 && ledger_flush(l) == 0 && ledger_wait_durable(l, seq, 0) == 0,
	       "[manual, %s] 5 events flushed", fault_name(f));
	size0 = seg_size(1);

	set_fault(f);
	rc = tledger_append_events(l, 5, 10, 20, &seq);
	TAP_EQ_U64((uint64_t)(int64_t)ledger_flush(l), (uint64_t)(int64_t)want,
		   "[manual, %s] flush fails with the error", fault_name(f));
	TAP_EQ_U64((uint64_t)(int64_t)ledger_wait_durable(l, seq, 0), (uint64_t)(int64_t)want,
		   "[manual, %s] wait_durable reports it", fault_name(f));
	ledger_status(l, &st);
	TAP_OK(st.durable_seq < seq, "[manual, %s] durable seq %" PRIu64 " < %" PRIu64,
	       fault_name(f), st.durable_seq, seq);
	TAP_EQ_U64((uint64_t)seg_size(1), (uint64_t)size0,
		   "[manual, %s] the failed write was rolled back (segment size unchanged)",
		   fault_name(f));
	TAP_OK(verify_ok(false), "[manual, %s] the ledger on disk verifies meanwhile (no torn frame)",
	       fault_name(f));
	/* A second failure while more records queue up behind the first batch. */
	rc = tledger_append_events(l, 15, 3, 20, &seq);
	TAP_OK(rc == 0 && ledger_flush(l) == want, "[manual, %s] a retry fails again",
	       fault_name(f));

	clear_faults();
	TAP_OK(ledger_flush(l) == 0 && ledger_wait_durable(l, seq, 0) == 0,
	       "[manual, %s] after the fault the retry makes everything durable", fault_name(f));
	TAP_OK(ledger_close(l) == 0, "[manual, %s] close", fault_name(f));
	TAP_OK(events_exact(18), "[manual, %s] events 0..17 once each, in order", fault_name(f));
	TAP_OK(verify_ok(true), "[manual, %s] verify passes", fault_name(f));
}

static void test_short_writes(void)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	long w0;
	int rc;

	clear_faults();
	new_dir();
	options(&o, false);
	o.segment_bytes = 4096;
	atomic_store(&F.short_max, 7);
	w0 = atomic_load(&F.writes);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "[short writes] open with writes of at most 7 bytes (%s)", rc ? err : "ok");
	if (rc)
		return;
	rc = tledger_append_events(l, 0, 60, 100, &seq);
	TAP_OK(rc == 0 && ledger_wait_durable(l, seq, -1) == 0,
	       "[short writes] 60 events across segments durable");
	TAP_OK(ledger_close(l) == 0, "[short writes] close");
	TAP_OK(atomic_load(&F.writes) - w0 > 1000, "[short writes] %ld write calls",
	       atomic_load(&F.writes) - w0);
	TAP_OK(tseg_count(dir) >= 2, "[short writes] %ld segments", tseg_count(dir));
	TAP_OK(events_exact(60), "[short writes] events intact");
	TAP_OK(verify_ok(true), "[short writes] verify passes");
	clear_faults();
}

/* A new segment cannot be created: the full segment is durable, the rest
 * waits, and the segment is created on the retry. */
static void test_segment_create_fails(void)
{
	struct ledger_options o;
	struct ledger_status st;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	int rc;

	clear_faults();
	new_dir();
	options(&o, true);
	o.segment_bytes = 4096;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "[segment creation] open");
	if (rc)
		return;
	atomic_store(&F.open_tmp_err, ENOSPC);
	rc = tledger_append_events(l, 0, 40, 100, &seq);
	TAP_OK(rc == 0 && ledger_flush(l) == -ENOSPC,
	       "[segment creation] flush fails creating segment 2");
	ledger_status(l, &st);
	TAP_OK(st.durable_seq > 0 && st.durable_seq < seq,
	       "[segment creation] segment 1 is durable up to seq %" PRIu64 ", the rest is not",
	       st.durable_seq);
	TAP_OK(tseg_count(dir) == 1, "[segment creation] no segment 2 yet");
	TAP_OK(ledger_flush(l) == -ENOSPC, "[segment creation] the retry fails too");
	clear_faults();
	TAP_OK(ledger_flush(l) == 0 && ledger_wait_durable(l, seq, 0) == 0,
	       "[segment creation] after the fault all is durable");
	TAP_OK(ledger_close(l) == 0, "[segment creation] close");
	TAP_OK(tseg_count(dir) >= 2, "[segment creation] %ld segments", tseg_count(dir));
	TAP_OK(events_exact(40), "[segment creation] events intact");
	TAP_OK(verify_ok(true), "[segment creation] verify passes");
}

/* Closing while the device still fails reports the error; what was
 * acknowledged before stays, the rest is simply not there. */
static void test_close_while_failing(void)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	int rc;

	clear_faults();
	new_dir();
	options(&o, false);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc) {
		TAP_OK(0, "[close while failing] open");
		return;
	}
	rc = tledger_append_events(l, 0, 5, 20, &seq);
	TAP_OK(rc == 0 && ledger_wait_durable(l, seq, -1) == 0, "[close while failing] 5 durable");
	atomic_store(&F.write_err, ENOSPC);
	tledger_append_events(l, 5, 5, 20, &seq);
	rc = ledger_close(l);
	TAP_EQ_U64((uint64_t)(int64_t)rc, (uint64_t)(int64_t)-ENOSPC,
		   "[close while failing] close returns the error");
	clear_faults();
	TAP_OK(events_exact(5), "[close while failing] the 5 durable events are there, nothing torn");
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "[close while failing] reopens (%s)", rc ? err : "ok");
	if (rc == 0) {
		tledger_append_events(l, 5, 5, 20, &seq);
		TAP_OK(ledger_close(l) == 0, "[close while failing] appends after reopen");
	}
	TAP_OK(events_exact(10), "[close while failing] events 0..9");
	TAP_OK(verify_ok(true), "[close while failing] verify passes");
}

/* The device fails mid-write and the roll-back (ftruncate) fails too: the
 * partial frame stays in the file for now.  The retry must not append
 * after it, or a torn frame would sit in the middle of the chain. */
static void test_rollback_fails(void)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	off_t size0;
	int rc;

	clear_faults();
	new_dir();
	options(&o, true);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc) {
		TAP_OK(0, "[roll-back fails] open");
		return;
	}
	rc = tledger_append_events(l, 0, 5, 20, &seq);
	TAP_OK(rc == 0 && ledger_flush(l) == 0, "[roll-back fails] 5 events flushed");
	size0 = seg_size(1);
	atomic_store(&F.partial, true);
	atomic_store(&F.write_err, EIO);
	atomic_store(&F.truncate_err, EIO);
	rc = tledger_append_events(l, 5, 10, 20, &seq);
	TAP_OK(rc == 0 && ledger_flush(l) == -EIO, "[roll-back fails] flush fails");
	TAP_OK(seg_size(1) > size0, "[roll-back fails] a partial frame is left in the file");
	atomic_store(&F.write_err, 0);
	atomic_store(&F.partial, false);
	TAP_OK(ledger_flush(l) < 0, "[roll-back fails] no retry on top of the partial frame "
				    "while it cannot be cut");
	clear_faults();
	rc = ledger_flush(l);
	TAP_OK(rc == 0 && ledger_wait_durable(l, seq, 0) == 0,
	       "[roll-back fails] once the file can be cut, the retry succeeds (%d)", rc);
	TAP_OK(ledger_close(l) == 0, "[roll-back fails] close");
	TAP_OK(events_exact(15), "[roll-back fails] events 0..14 once each, no torn frame");
	TAP_OK(verify_ok(true), "[roll-back fails] verify passes");
}

/*
 * A write fails and, at that moment, so does the allocation that puts the
 * failed batch back in the queue.  The records must not be dropped silently
 * while the chain goes on past them: that would leave a gap (DELETED) in a
 * ledger nobody tampered with.
 */
static void test_enomem_on_write_error(void)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	int rc, frc;

	clear_faults();
	new_dir();
	options(&o, true);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc) {
		TAP_OK(0, "[write error + ENOMEM] open");
		return;
	}
	rc = tledger_append_events(l, 0, 5, 20, &seq);
	TAP_OK(rc == 0 && ledger_flush(l) == 0, "[write error + ENOMEM] 5 events flushed");
	rc = tledger_append_events(l, 5, 5, 20, &seq);
	atomic_store(&F.write_err, ENOSPC);
	vg_alloc_fail_after(0);
	frc = ledger_flush(l);
	vg_alloc_fail_after(-1);
	TAP_OK(rc == 0 && frc < 0, "[write error + ENOMEM] the flush fails (%d)", frc);
	clear_faults();
	rc = tledger_append_events(l, 10, 5, 20, &seq);
	frc = rc ? rc : ledger_flush(l);
	if (frc == 0) {
		TAP_OK(ledger_close(l) == 0, "[write error + ENOMEM] the writer went on and closed");
		TAP_OK(events_exact(15), "[write error + ENOMEM] then no event was lost");
	} else {
		rc = ledger_wait_durable(l, seq, 0);
		TAP_OK(rc < 0, "[write error + ENOMEM] the writer stops (%s) and acknowledges nothing "
			       "more (%s)",
		       strerror(-frc), strerror(-rc));
		ledger_close(l);
		TAP_OK(events_exact(5), "[write error + ENOMEM] and the ledger holds the 5 durable ones");
	}
	TAP_OK(verify_ok(false), "[write error + ENOMEM] no gap in the chain");
}

int main(void)
{
	if (tledger_init(&T, 900) < 0) {
		TAP_OK(0, "keys created");
		return tap_done();
	}
	/* The writer warns on every failed write; that is expected here. */
	vg_log_set_level(VG_LOG_ERR);
	test_manual(FAULT_ENOSPC);
	test_manual(FAULT_EIO_PARTIAL);
	test_manual(FAULT_FSYNC);
	test_threaded(FAULT_ENOSPC);
	test_threaded(FAULT_EIO_PARTIAL);
	test_threaded(FAULT_FSYNC);
	test_short_writes();
	test_segment_create_fails();
	test_close_while_failing();
	test_rollback_fails();
	test_enomem_on_write_error();
	tledger_cleanup(&T);
	return tap_done();
}
