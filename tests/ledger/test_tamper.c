/*
 * test_tamper.c - tamper evidence: every change an attacker with write
 * access to the ledger directory can make is reported by ledger_verify.
 *
 * A small sealed ledger (three or more 4 KiB segments) is built once; every
 * scenario works on a fresh copy of it:
 *   a. every single-bit flip of every segment file;
 *   b. truncation at every frame boundary and inside frames, and deletion of
 *      trailing segments, against the final checkpoint kept as trusted;
 *   c. edits that keep the CRCs valid: modify, delete, duplicate, reorder,
 *      insert records; delete, copy, swap and replace segment files; time
 *      going backwards (also after re-linking and re-signing the chain);
 *   d. re-signing with another key, and a forged key id;
 *   e. roll-back to an earlier checkpoint followed by new appends;
 *   f. forward security of the MAC: a later epoch's key used for an earlier
 *      epoch's checkpoint, and records sealed outside their epoch.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define NEVENTS 50
#define PAD 60

static struct tledger A;      /* the ledger under attack */
static char work[4300];       /* scratch copy of A's ledger */
static char trusted[LEDGER_CHECKPOINT_MAX + 1]; /* A's final checkpoint */
static struct ledger_checkpoint trusted_cp;

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int build(const struct tledger *t, const char *dir, int first)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	int rc;

	tledger_options(t, &o);
	o.dir = dir;
	o.segment_bytes = 4096;
	o.checkpoint_records = 10;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc < 0) {
		printf("# open %s: %s\n", dir, err);
		return rc;
	}
	rc = tledger_append_events(l, first, NEVENTS, PAD, &seq);
	if (rc == 0)
		rc = ledger_wait_durable(l, seq, -1);
	if (ledger_close(l) < 0 && rc == 0)
		rc = -EIO;
	return rc;
}

static void fresh(void)
{
	if (tdir_copy(A.dir, work) < 0)
		printf("# cannot copy the ledger to %s\n", work);
}

/* Verifies the work copy with A's keys (MAC key when with_mac). */
static int vwork(bool with_mac, const char *trust, struct ledger_verify_result *r)
{
	return tverify_dir(work, &A.pub, with_mac ? &A.verify_key : NULL, true, trust, r);
}

/* Verifies the work copy and checks the verdict is TAMPERED with a finding
 * of kind k (about seq when seq != 0). */
static void expect_tamper(enum ledger_finding_kind k, uint64_t seq, const char *what)
{
	struct ledger_verify_result r;
	const struct ledger_finding *f;
	int rc = vwork(true, trusted, &r);

	f = tledger_find(&r, k);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && f && (!seq || f->seq == seq),
	       "%s -> %s%s", what, ledger_finding_name(k), seq ? " naming its seq" : "");
	if (!(rc == 0 && r.verdict == LEDGER_TAMPERED && f && (!seq || f->seq == seq))) {
		printf("#   expected seq %" PRIu64 "\n", seq);
		tledger_dump(&r);
	}
	ledger_verify_result_release(&r);
}

/* ---- setup ------------------------------------------------------------------- */

static int setup(void)
{
	struct ledger_verify_result r;
	struct timage im;
	char err[256];
	int rc, n;

	rc = tledger_init(&A, 900);
	TAP_OK(rc == 0, "keys for the ledger under attack");
	if (rc)
		return rc;
	snprintf(work, sizeof(work), "%s/work", A.root);
	rc = build(&A, A.dir, 0);
	TAP_OK(rc == 0, "built a sealed ledger of %d events", NEVENTS);
	if (rc)
		return rc;
	rc = ledger_latest_checkpoint(A.dir, &trusted_cp, NULL, err, sizeof(err));
	n = rc == 0 ? ledger_checkpoint_format(&trusted_cp, trusted, sizeof(trusted)) : -1;
	TAP_OK(rc == 0 && n > 0, "final checkpoint taken as trusted (seq %" PRIu64 ")",
	       trusted_cp.seq);
	if (rc || n <= 0)
		return -EINVAL;
	rc = timage_load(A.dir, &im);
	TAP_OK(rc == 0 && im.n >= 3, "the ledger has %zu segments (need 3+)", im.n);
	{
		size_t total = 0;

		for (size_t i = 0; i < im.n; i++)
			total += im.s[i].len;
		printf("# %zu segments, %zu bytes\n", im.n, total);
	}
	timage_free(&im);
	fresh();
	rc = vwork(true, trusted, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_OK && r.nfindings == 0 && r.ntrusted_ok == 1,
	       "the untouched copy verifies OK with MAC, trusted checkpoint, require-sealed");
	if (r.verdict != LEDGER_OK)
		tledger_dump(&r);
	ledger_verify_result_release(&r);
	return 0;
}

/* ---- a. bit flips ----------------------------------------------------------------- */

/*
 * Its own ledger, as small as three segments can be (the writer's minimum
 * segment is 4 KiB) and with seals only where the writer must put them (at
 * the end of each segment and on close): every flip costs one full verify,
 * and checking signatures is most of that.
 */
static void test_bit_flips(void)
{
	struct ledger_options o;
	struct ledger_status st;
	struct ledger *l;
	char err[256];
	uint64_t *nums = NULL, seq;
	size_t nsegs = 0;
	uint64_t flips = 0, undetected = 0, expected = 0;
	double t0 = now_s();
	int rc, events = 0;

	tledger_options(&A, &o);
	o.dir = work;
	o.segment_bytes = 4096;
	tdir_remove(work);
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc == 0) {
		do {
			rc = tledger_append_events(l, events++, 1, 200, &seq);
			ledger_status(l, &st);
		} while (rc == 0 && st.segment < 3);
		rc = ledger_close(l) ? -EIO : rc;
	}
	TAP_OK(rc == 0, "a ledger of %d events in 3 segments for the bit flips", events);
	if (rc || seg_list(work, &nums, &nsegs) < 0)
		return;
	for (size_t s = 0; s < nsegs; s++) {
		char path[4200];
		int fd;
		off_t size;

		tseg_path(path, work, nums[s]);
		fd = open(path, O_RDWR | O_CLOEXEC);
		if (fd < 0)
			continue;
		size = lseek(fd, 0, SEEK_END);
		expected += (uint64_t)size * 8;
		for (off_t off = 0; off < size; off++) {
			uint8_t orig;

			if (pread(fd, &orig, 1, off) != 1)
				break;
			for (int bit = 0; bit < 8; bit++) {
				uint8_t b = (uint8_t)(orig ^ (1u << bit));
				struct ledger_verify_result r;
				int vrc;

				if (pwrite(fd, &b, 1, off) != 1)
					break;
				vrc = vwork(true, NULL, &r);
				flips++;
				if (vrc != 0 || r.verdict == LEDGER_OK || r.nfindings == 0) {
					if (++undetected <= 5)
						printf("# undetected flip: segment %" PRIu64
						       " offset %lld bit %d (verdict %d)\n",
						       nums[s], (long long)off, bit, r.verdict);
				}
				ledger_verify_result_release(&r);
				if (pwrite(fd, &orig, 1, off) != 1)
					break;
			}
		}
		close(fd);
	}
	vg_free(nums);
	TAP_EQ_U64(flips, expected, "flipped every bit of every segment (%" PRIu64 " flips, %.1f s)",
		   flips, now_s() - t0);
	TAP_EQ_U64(undetected, 0, "every single-bit flip is reported");
	{
		struct ledger_verify_result r;

		TAP_OK(vwork(true, NULL, &r) == 0 && r.verdict == LEDGER_OK && r.nfindings == 0,
		       "the copy verifies OK again once restored");
		ledger_verify_result_release(&r);
	}
}

/* ---- b. truncation ----------------------------------------------------------------- */

/* Cuts the last segment of the work copy to `cut` bytes and checks the
 * verdict.  covered_end: the end offset of the frame of the trusted seq in
 * that segment (0 when it is in an earlier segment).  Returns true when
 * the cut was reported as it should be. */
static bool check_cut(const struct tseg *last, size_t cut, size_t covered_end, bool mid_frame)
{
	struct ledger_verify_result r;
	char path[4200];
	bool ok;
	int rc;

	tseg_path(path, work, last->no);
	if (tfile_write(path, last->buf, cut, 0600) < 0)
		return false;
	rc = vwork(true, trusted, &r);
	if (rc != 0 || r.verdict == LEDGER_OK) {
		ok = false;
	} else if (cut < covered_end || cut < SEG_HEADER_LEN) {
		/* A record the trusted checkpoint attests is gone. */
		ok = r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_TRUNCATED);
	} else {
		/* Only the seal itself (or part of it) is gone. */
		ok = tledger_has(&r, LF_UNSEALED) || tledger_has(&r, LF_TORN_TAIL);
		if (mid_frame)
			ok = ok && tledger_has(&r, LF_TORN_TAIL);
	}
	if (!ok) {
		printf("# cut at %zu (covered record ends at %zu) not reported as expected\n", cut,
		       covered_end);
		tledger_dump(&r);
	}
	ledger_verify_result_release(&r);
	return ok;
}

static void test_truncation(void)
{
	struct timage im;
	size_t offs[256], n, covered_end = 0, si, so;
	unsigned boundary_cuts = 0, boundary_bad = 0, mid_cuts = 0, mid_bad = 0;
	const struct tseg *last;

	fresh();
	if (timage_load(work, &im) < 0 || im.n < 3)
		return;
	last = &im.s[im.n - 1];
	n = tseg_frames(last->buf, last->len, offs, VG_ARRAY_LEN(offs));
	if (timage_find_seq(&im, trusted_cp.seq, &si, &so) == 0 && si == im.n - 1)
		covered_end = so + tframe_len(last->buf + so);
	TAP_OK(n >= 3 && covered_end > 0, "last segment has %zu frames; the trusted seq is in it",
	       n);
	/* Every frame boundary, from "header only" to "all but the last frame". */
	for (size_t j = 0; j < n; j++) {
		boundary_cuts++;
		if (!check_cut(last, offs[j], covered_end, false))
			boundary_bad++;
	}
	/* Inside every frame, and inside the header. */
	for (size_t j = 0; j < n; j++) {
		uint32_t fl = tframe_len(last->buf + offs[j]);
		size_t pts[3] = { offs[j] + 1, offs[j] + fl / 2, offs[j] + fl - 1 };

		for (int k = 0; k < 3; k++) {
			mid_cuts++;
			if (!check_cut(last, pts[k], covered_end, true))
				mid_bad++;
		}
	}
	{
		size_t hdr_cuts[] = { 0, 1, 50, SEG_HEADER_LEN - 1 };

		for (size_t k = 0; k < VG_ARRAY_LEN(hdr_cuts); k++) {
			mid_cuts++;
			if (!check_cut(last, hdr_cuts[k], covered_end, false))
				mid_bad++;
		}
	}
	TAP_EQ_U64(boundary_bad, 0, "all %u cuts at frame boundaries reported", boundary_cuts);
	TAP_EQ_U64(mid_bad, 0, "all %u cuts inside frames or the header reported", mid_cuts);

	/* Whole trailing segments deleted. */
	for (size_t drop = 1; drop <= 2; drop++) {
		char path[4200];

		fresh();
		for (size_t k = 0; k < drop; k++) {
			tseg_path(path, work, im.s[im.n - 1 - k].no);
			unlink(path);
		}
		{
			char what[64];

			snprintf(what, sizeof(what), "%zu trailing segment(s) deleted", drop);
			expect_tamper(LF_TRUNCATED, 0, what);
		}
	}
	timage_free(&im);
}

/* ---- c. attacker edits with valid CRCs ---------------------------------------------- */

/* An event of segment 2 that has an event after it in the same segment. */
static int pick_event(const struct timage *im, size_t *segi, size_t *off, size_t *next_off)
{
	const struct tseg *s = &im->s[1];
	size_t offs[256], n = tseg_frames(s->buf, s->len, offs, VG_ARRAY_LEN(offs));

	for (size_t j = 2; j + 1 < n; j++)
		if (tframe_type(s->buf + offs[j]) == LEDGER_REC_EVENT &&
		    tframe_type(s->buf + offs[j + 1]) == LEDGER_REC_EVENT) {
			*segi = 1;
			*off = offs[j];
			*next_off = offs[j + 1];
			return 0;
		}
	return -ENOENT;
}

static void test_edits(void)
{
	struct timage im;
	size_t si, off, noff;
	uint64_t seq;

	fresh();
	if (timage_load(work, &im) < 0 || pick_event(&im, &si, &off, &noff) < 0) {
		TAP_OK(0, "found an event to edit");
		return;
	}
	seq = tframe_seq(im.s[si].buf + off);
	timage_free(&im);

	/* Modify one payload byte and fix the CRC. */
	fresh();
	timage_load(work, &im);
	{
		uint8_t *f = im.s[si].buf + off;
		uint8_t *x = memchr(f + FRAME_HEAD_LEN, 'x', tframe_len(f) - FRAME_OVERHEAD);

		if (x)
			*x = 'y';
		tframe_fix_crc(f);
	}
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_MODIFIED, seq, "an event payload byte changed, CRC fixed");

	/* Delete a record from the middle. */
	fresh();
	timage_load(work, &im);
	tseg_cut(&im.s[si], off, tframe_len(im.s[si].buf + off));
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_DELETED, seq, "a record removed from the middle");

	/* Duplicate a record right after itself. */
	fresh();
	timage_load(work, &im);
	{
		uint32_t fl = tframe_len(im.s[si].buf + off);
		uint8_t *copy = malloc(fl);

		memcpy(copy, im.s[si].buf + off, fl);
		tseg_insert(&im.s[si], off + fl, copy, fl);
		free(copy);
	}
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_DUPLICATED, seq, "a record duplicated");

	/* Swap two adjacent records. */
	fresh();
	timage_load(work, &im);
	{
		uint32_t fa = tframe_len(im.s[si].buf + off), fb = tframe_len(im.s[si].buf + noff);
		uint8_t *tmp = malloc(fa + fb);

		memcpy(tmp, im.s[si].buf + noff, fb);
		memcpy(tmp + fb, im.s[si].buf + off, fa);
		memcpy(im.s[si].buf + off, tmp, fa + fb);
		free(tmp);
	}
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_REORDERED, 0, "two adjacent records swapped");

	/* A forged record: right prev hash, but the seq of the record it is
	 * inserted before. */
	fresh();
	timage_load(work, &im);
	{
		uint32_t fb = tframe_len(im.s[si].buf + noff);
		uint8_t *forged = malloc(fb);
		uint8_t *x;

		memcpy(forged, im.s[si].buf + noff, fb);
		x = memchr(forged + FRAME_HEAD_LEN, 'x', fb - FRAME_OVERHEAD);
		if (x)
			*x = 'F';
		tframe_fix_crc(forged);
		tseg_insert(&im.s[si], noff, forged, fb);
		free(forged);
	}
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_INSERTED, seq + 1, "a forged record with a reused seq inserted");

	/* Segment header forged (first seq changed, header CRC fixed). */
	fresh();
	timage_load(work, &im);
	vg_put_le64(im.s[1].buf + 40, vg_get_le64(im.s[1].buf + 40) + 1);
	tseg_fix_header_crc(im.s[1].buf);
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_SEGMENT_HEADER, 0, "a segment header's first seq changed, CRC fixed");

	/* Time going backwards in one record, CRC fixed. */
	fresh();
	timage_load(work, &im);
	{
		uint8_t *f = im.s[si].buf + off;

		vg_put_le64(f + 16, tframe_time(f) - 3600000000000ull);
		tframe_fix_crc(f);
	}
	timage_save(work, &im);
	timage_free(&im);
	expect_tamper(LF_MODIFIED, seq, "a record's time moved back an hour, CRC fixed");
}

/* A checkpoint relabelled as a heartbeat: the signed note is unchanged (the
 * record type is not part of it), but the record hash is, so the next
 * record names the change; the validated and sealed ranges end before it. */
static void test_relabel_seal(void)
{
	struct ledger_verify_result r;
	struct timage im;
	size_t offs[256], n, at = 0;
	uint64_t seq = 0;
	int rc;

	fresh();
	timage_load(work, &im);
	n = tseg_frames(im.s[1].buf, im.s[1].len, offs, VG_ARRAY_LEN(offs));
	for (size_t j = 0; j + 1 < n; j++)
		if (tframe_type(im.s[1].buf + offs[j]) == LEDGER_REC_CHECKPOINT) {
			at = offs[j];
			break;
		}
	if (at) {
		seq = tframe_seq(im.s[1].buf + at);
		im.s[1].buf[at + 4] = LEDGER_REC_HEARTBEAT;
		tframe_fix_crc(im.s[1].buf + at);
		timage_save(work, &im);
	}
	timage_free(&im);
	rc = vwork(true, NULL, &r);
	TAP_OK(at && rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_MODIFIED) &&
		       tledger_find(&r, LF_MODIFIED)->seq == seq,
	       "a checkpoint relabelled as a heartbeat -> MODIFIED naming its seq %" PRIu64, seq);
	TAP_OK(r.valid_to_seq < seq && r.sealed_to_seq < seq && r.sealed_to_seq <= r.valid_to_seq,
	       "validated (%" PRIu64 ") and sealed (%" PRIu64 ") ranges end before it",
	       r.valid_to_seq, r.sealed_to_seq);
	ledger_verify_result_release(&r);
}

static void test_time_backwards_rechained(void)
{
	struct tforger fg;
	struct timage im;
	struct ledger_verify_result r;
	size_t si, off, noff;
	uint64_t seq = 0;
	int rc;

	/* The strongest attacker: holds the signing key and the current MAC key
	 * (the ledger is still in epoch 0), edits a record, re-links the whole
	 * chain and re-signs every checkpoint.  Only what the chain cannot hide
	 * remains: time going backwards. */
	if (tforger_init(&fg, A.signing, A.mac) < 0) {
		TAP_OK(0, "forger keys load");
		return;
	}
	fresh();
	timage_load(work, &im);
	if (pick_event(&im, &si, &off, &noff) == 0) {
		uint8_t *f = im.s[si].buf + off;

		seq = tframe_seq(f);
		vg_put_le64(f + 16, tframe_time(f) - 3600000000000ull);
	}
	rc = timage_rechain(&im, tforger_seal, &fg);
	timage_save(work, &im);
	timage_free(&im);
	TAP_OK(rc > 3, "chain re-linked and %d checkpoints re-signed", rc);
	rc = vwork(true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_TIME_ORDER) &&
		       tledger_find(&r, LF_TIME_ORDER)->seq == seq,
	       "re-linked and re-signed chain with time going backwards -> TIME_ORDER");
	if (!tledger_has(&r, LF_TIME_ORDER))
		tledger_dump(&r);
	ledger_verify_result_release(&r);

	/* The same attacker changing content instead of time is invisible to
	 * verify alone (same epoch: it holds every key it needs); a trusted
	 * checkpoint kept elsewhere is what catches it. */
	fresh();
	timage_load(work, &im);
	if (pick_event(&im, &si, &off, &noff) == 0) {
		uint8_t *x = memchr(im.s[si].buf + off + FRAME_HEAD_LEN, 'x', PAD);

		if (x)
			*x = 'y';
	}
	timage_rechain(&im, tforger_seal, &fg);
	timage_save(work, &im);
	timage_free(&im);
	rc = vwork(true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_OK,
	       "honest limit: a rewrite re-signed with the current keys verifies without a "
	       "trusted checkpoint");
	ledger_verify_result_release(&r);
	expect_tamper(LF_REWRITTEN, 0, "the same rewrite against the trusted checkpoint");
	tforger_release(&fg);
}

static void test_segment_files(void)
{
	struct tledger C = { 0 };
	char a[4200], b[4200], c[4400];
	long nseg;
	int rc;

	fresh();
	nseg = tseg_count(work);

	/* Delete a middle segment. */
	tseg_path(a, work, 2);
	unlink(a);
	expect_tamper(LF_SEGMENT_MISSING, 0, "middle segment file deleted");

	/* Copy a segment to a new number. */
	fresh();
	tseg_path(a, work, 2);
	tseg_path(b, work, (uint64_t)nseg + 3);
	{
		char *data;
		size_t len;

		if (vg_read_file(a, 1 << 20, &data, &len) == 0) {
			tfile_write(b, data, len, 0600);
			vg_free(data);
		}
	}
	expect_tamper(LF_SEGMENT_DUPLICATE, 0, "a segment copied to a new number");

	/* Swap two segment files' names. */
	fresh();
	tseg_path(a, work, 1);
	tseg_path(b, work, 2);
	snprintf(c, sizeof(c), "%s/swap", work);
	rc = rename(a, c) | rename(b, a) | rename(c, b);
	TAP_OK(rc == 0, "renamed segment files 1 and 2 into each other");
	expect_tamper(LF_SEGMENT_ORDER, 0, "segment files 1 and 2 swapped");

	/* A segment of another ledger (same keys, other log id) put in place. */
	C = A; /* same keys */
	snprintf(C.dir, sizeof(C.dir), "%s/other", A.root);
	rc = build(&C, C.dir, 0);
	TAP_OK(rc == 0, "another ledger built with the same keys");
	fresh();
	{
		char *data;
		size_t len;

		tseg_path(a, C.dir, 2);
		tseg_path(b, work, 2);
		if (vg_read_file(a, 1 << 20, &data, &len) == 0) {
			tfile_write(b, data, len, 0600);
			vg_free(data);
		}
	}
	expect_tamper(LF_SEGMENT_FOREIGN, 0, "segment 2 replaced by another ledger's segment 2");
	tdir_remove(C.dir);
}

/* An empty segment after the last one, as a rotation leaves it: with the
 * right header it is fine; with a header that does not continue the chain
 * (CRC valid) it is reported, since the writer would continue from it. */
static void test_empty_segment(void)
{
	struct timage im;
	struct hasher hs;
	struct ledger_record rec;
	struct seg_header h;
	char why[160];
	size_t offs[256], n;
	struct tseg *last;
	uint8_t hdr[SEG_HEADER_LEN];
	struct ledger_verify_result r;
	int rc;

	fresh();
	if (timage_load(work, &im) < 0 || hasher_init(&hs) < 0)
		return;
	last = &im.s[im.n - 1];
	n = tseg_frames(last->buf, last->len, offs, VG_ARRAY_LEN(offs));
	frame_decode(&hs, last->buf + offs[n - 1], last->len - offs[n - 1], &rec);
	seg_header_decode(last->buf, last->len, &h, why, sizeof(why));
	h.segno = last->no + 1;
	h.first_seq = rec.seq + 1;
	memcpy(h.prev_hash, rec.hash, LEDGER_HASH_LEN);
	seg_header_encode(&h, hdr);
	{
		char path[4200];

		tseg_path(path, work, h.segno);
		tfile_write(path, hdr, sizeof(hdr), 0600);
	}
	rc = vwork(true, trusted, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_OK, "an empty last segment that continues the chain: OK");
	if (r.verdict != LEDGER_OK)
		tledger_dump(&r);
	ledger_verify_result_release(&r);

	h.first_seq += 5;
	seg_header_encode(&h, hdr);
	{
		char path[4200];

		tseg_path(path, work, h.segno);
		tfile_write(path, hdr, sizeof(hdr), 0600);
	}
	expect_tamper(LF_SEGMENT_HEADER, h.first_seq,
		      "an empty last segment whose header skips 5 seqs (CRC valid)");
	hasher_release(&hs);
	timage_free(&im);
}

/* ---- d. re-signing ------------------------------------------------------------------- */

static void test_resign(void)
{
	struct tledger B;
	struct ledger_verify_result r;
	struct tforger fg;
	struct timage im;
	int rc;

	/* The same events under a new key pair, verified with the original key. */
	rc = tledger_init(&B, 900);
	if (rc == 0)
		rc = build(&B, B.dir, 0);
	TAP_OK(rc == 0, "a second ledger with the same events under new keys");
	rc = tverify_dir(B.dir, &B.pub, &B.verify_key, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_OK, "it verifies with its own keys");
	ledger_verify_result_release(&r);
	rc = tverify_dir(B.dir, &A.pub, NULL, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_SIGNATURE_UNKNOWN_KEY) &&
		       r.seals_signed_ok == 0,
	       "re-signed with a new key, verified with the original -> SIGNATURE_UNKNOWN_KEY");
	if (!tledger_has(&r, LF_SIGNATURE_UNKNOWN_KEY))
		tledger_dump(&r);
	ledger_verify_result_release(&r);

	/* Same, with the key id in every note forged to the original key's (the
	 * chain re-linked so nothing else changes). */
	rc = tforger_init(&fg, B.signing, B.mac);
	fg.forge_key_id = true;
	memcpy(fg.key_id, A.pub.key_id, 4);
	if (rc == 0)
		rc = timage_load(B.dir, &im);
	if (rc == 0) {
		rc = timage_rechain(&im, tforger_seal, &fg);
		if (rc >= 0)
			rc = timage_save(work, &im);
		timage_free(&im);
	}
	TAP_OK(rc == 0, "key ids forged to the original key's");
	rc = tverify_dir(work, &A.pub, &B.verify_key, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_SIGNATURE_BAD) &&
		       !tledger_has(&r, LF_SIGNATURE_UNKNOWN_KEY) && r.seals_signed_ok == 0,
	       "forged key id -> SIGNATURE_BAD for every seal (%" PRIu64 " seals)", r.seals);
	if (!tledger_has(&r, LF_SIGNATURE_BAD))
		tledger_dump(&r);
	ledger_verify_result_release(&r);
	tforger_release(&fg);
	tledger_cleanup(&B);
}

/* ---- e. roll-back -------------------------------------------------------------------- */

/*
 * Back to an earlier checkpoint, then the real writer reopens it.  With the
 * head file in place (what vigild keeps next to the ledger) the writer sees
 * the cut and records it, so verify reports it with no trusted checkpoint;
 * an intruder who also removes the head file is back at the honest limit.
 */
static void rollback(int new_events, enum ledger_finding_kind expect, bool drop_head)
{
	struct ledger_verify_result r;
	struct ledger_options o;
	struct ledger *l;
	struct timage im;
	char err[256];
	size_t offs[256], n, cut = 0;
	uint64_t seq, cut_seq = 0;
	int rc;

	/* Back to a checkpoint in the middle of segment 2: the rest of segment
	 * 2 and every later segment go. */
	fresh();
	timage_load(work, &im);
	n = tseg_frames(im.s[1].buf, im.s[1].len, offs, VG_ARRAY_LEN(offs));
	for (size_t j = 0; j + 2 < n; j++)
		if (rec_is_seal(tframe_type(im.s[1].buf + offs[j]))) {
			cut = offs[j] + tframe_len(im.s[1].buf + offs[j]);
			cut_seq = tframe_seq(im.s[1].buf + offs[j]);
			break;
		}
	{
		size_t all = im.n;

		im.s[1].len = cut;
		im.n = 2;
		rc = cut ? timage_save(work, &im) : -ENOENT;
		im.n = all; /* free every buffer */
		timage_free(&im);
	}
	TAP_OK(rc == 0, "rolled back to the checkpoint at seq %" PRIu64, cut_seq);
	if (drop_head) {
		char head[4300];

		ledger_head_path(work, head, sizeof(head));
		TAP_OK(unlink(head) == 0, "and removed the head file");
	}

	tledger_options(&A, &o);
	o.dir = work;
	o.segment_bytes = 4096;
	o.checkpoint_records = 10;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "the real writer opens the rolled-back ledger (%s)", rc ? err : "ok");
	if (rc)
		return;
	rc = tledger_append_events(l, 1000, new_events, PAD + 1, &seq);
	rc = rc ? rc : ledger_close(l);
	TAP_OK(rc == 0, "%d different events appended", new_events);

	rc = vwork(true, NULL, &r);
	if (drop_head) {
		TAP_OK(rc == 0 && r.verdict == LEDGER_OK,
		       "honest limit: without the head file and a trusted checkpoint the "
		       "rewritten ledger verifies OK");
	} else {
		const struct ledger_finding *f = tledger_find(&r, LF_TRUNCATED);

		TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && f && f->seq == cut_seq + 1,
		       "the writer recorded the cut (seq %" PRIu64 " on): TRUNCATED with no "
		       "trusted checkpoint",
		       cut_seq + 1);
		if (!f)
			tledger_dump(&r);
	}
	ledger_verify_result_release(&r);
	rc = vwork(true, trusted, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, expect),
	       "with the trusted checkpoint (seq %" PRIu64 ", ledger now ends at %" PRIu64
	       ") -> %s",
	       trusted_cp.seq, r.last_seq, ledger_finding_name(expect));
	if (!tledger_has(&r, expect))
		tledger_dump(&r);
	ledger_verify_result_release(&r);
}

static void test_rollback(void)
{
	rollback(3, LF_TRUNCATED, false);
	rollback(NEVENTS, LF_REWRITTEN, false);
	rollback(3, LF_TRUNCATED, true);
	rollback(NEVENTS, LF_REWRITTEN, true);
}

/* ---- f. MAC forward security ----------------------------------------------------------- */

static uint64_t fake_now;
static uint64_t fake_clock(void *arg)
{
	(void)arg;
	return fake_now;
}

static void test_mac_epochs(void)
{
	struct tledger E, F;
	struct ledger_options o;
	struct ledger *l;
	struct ledger_verify_result r;
	struct ledger_mackey k;
	struct tforger fg;
	struct timage im;
	char err[256], edir[4300];
	uint64_t seq;
	int rc;

	/* A ledger over several 60 s epochs (fake clock, 7 s between events). */
	rc = tledger_init(&E, 60);
	tledger_options(&E, &o);
	o.checkpoint_records = 4;
	o.clock = fake_clock;
	fake_now = (E.verify_key.start_s + 5) * 1000000000ull;
	rc = rc ? rc : ledger_open(&o, &l, NULL, err, sizeof(err));
	for (int i = 0; i < 40 && rc == 0; i++) {
		fake_now += 7000000000ull;
		rc = tledger_append_events(l, i, 1, 20, &seq);
	}
	if (rc == 0)
		rc = ledger_close(l);
	rc = rc ? rc : ledger_mackey_load(E.mac, &k, err, sizeof(err));
	TAP_OK(rc == 0 && k.epoch >= 3, "a ledger across MAC epochs 0..%" PRIu64, k.epoch);
	rc = tverify_dir(E.dir, &E.pub, &E.verify_key, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_OK && r.seals_mac_ok == r.seals,
	       "it verifies, every MAC with the key of its epoch");
	ledger_verify_result_release(&r);
	snprintf(edir, sizeof(edir), "%s/edit", E.root);

	/* The attacker has today's MAC key (epoch N) and the signing key: it
	 * edits an epoch-0 event and re-signs everything; checkpoints that claim
	 * their old epochs carry MACs made with the epoch-N key. */
	rc = tforger_init(&fg, E.signing, E.mac);
	rc = rc ? rc : timage_load(E.dir, &im);
	if (rc == 0) {
		size_t offs[256], n = tseg_frames(im.s[0].buf, im.s[0].len, offs, 256);
		uint8_t *x = n > 1 ? memchr(im.s[0].buf + offs[1] + FRAME_HEAD_LEN, 'x', 20) : NULL;

		if (x)
			*x = 'y';
		rc = timage_rechain(&im, tforger_seal, &fg);
		if (rc >= 0 && (rc = tdir_copy(E.dir, edir)) == 0)
			rc = timage_save(edir, &im);
		timage_free(&im);
	}
	TAP_OK(rc == 0, "epoch-0 event edited, chain re-linked, seals re-signed with the epoch-%" PRIu64
	       " MAC key", fg.mac.epoch);
	rc = tverify_dir(edir, &E.pub, &E.verify_key, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_MAC_BAD) &&
		       !tledger_has(&r, LF_SIGNATURE_BAD) && r.seals_signed_ok == r.seals,
	       "later key relabelled as an earlier epoch -> MAC_BAD (signatures all valid)");
	if (!tledger_has(&r, LF_MAC_BAD))
		tledger_dump(&r);
	ledger_verify_result_release(&r);
	rc = tverify_dir(edir, &E.pub, NULL, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_OK,
	       "honest limit: without the MAC verification key the re-signed ledger passes");
	ledger_verify_result_release(&r);

	/* The same, but the seals honestly claim epoch N: the key of epoch N
	 * seals records of earlier epochs. */
	fg.claim_own_epoch = true;
	rc = timage_load(E.dir, &im);
	if (rc == 0) {
		size_t offs[256], n = tseg_frames(im.s[0].buf, im.s[0].len, offs, 256);
		uint8_t *x = n > 1 ? memchr(im.s[0].buf + offs[1] + FRAME_HEAD_LEN, 'x', 20) : NULL;

		if (x)
			*x = 'y';
		rc = timage_rechain(&im, tforger_seal, &fg);
		if (rc >= 0)
			rc = timage_save(edir, &im);
		timage_free(&im);
	}
	rc = rc ? rc : tverify_dir(edir, &E.pub, &E.verify_key, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_KEY_EPOCH) &&
		       !tledger_has(&r, LF_MAC_BAD) && !tledger_has(&r, LF_SIGNATURE_BAD),
	       "seals made with the epoch-N key over epoch-0 records -> KEY_EPOCH (MACs valid)");
	if (!tledger_has(&r, LF_KEY_EPOCH))
		tledger_dump(&r);
	ledger_verify_result_release(&r);
	tforger_release(&fg);

	/* The real writer, given today's key file and a clock set back to
	 * epoch 0, builds a fresh fake history: sealed outside its epoch. */
	F = E;
	snprintf(F.dir, sizeof(F.dir), "%s/fake", E.root);
	tledger_options(&F, &o);
	o.clock = fake_clock;
	fake_now = (E.verify_key.start_s + 5) * 1000000000ull;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc == 0) {
		rc = tledger_append_events(l, 0, 5, 20, &seq);
		rc = ledger_close(l) ? -EIO : rc;
	}
	TAP_OK(rc == 0, "writer with the epoch-%" PRIu64 " key and an epoch-0 clock", k.epoch);
	rc = tverify_dir(F.dir, &E.pub, &E.verify_key, true, NULL, &r);
	TAP_OK(rc == 0 && r.verdict == LEDGER_TAMPERED && tledger_has(&r, LF_KEY_EPOCH),
	       "records sealed by a later epoch's key than their own time -> KEY_EPOCH");
	if (!tledger_has(&r, LF_KEY_EPOCH))
		tledger_dump(&r);
	ledger_verify_result_release(&r);
	tledger_cleanup(&E);
}

int main(void)
{
	double t0 = now_s();

	if (setup() == 0) {
		test_edits();
		test_relabel_seal();
		test_time_backwards_rechained();
		test_segment_files();
		test_empty_segment();
		test_resign();
		test_rollback();
		test_mac_epochs();
		test_truncation();
		test_bit_flips();
	}
	tledger_cleanup(&A);
	printf("# test_tamper: %.1f s\n", now_s() - t0);
	return tap_done();
}
