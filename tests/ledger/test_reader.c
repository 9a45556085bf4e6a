/*
 * test_reader.c - ledger_reader_open_at: starting at any seq of a ledger of
 * many small segments gives exactly the records a full walk gives from that
 * seq on (segment starts and ends, seals in between, past the end, an empty
 * ledger); damage before the start is not read, damage at or after it is
 * reported where it is.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#define MAX_RECS 1024

/* The full walk: every record's seq and segment, in order. */
struct walk {
	size_t n;
	uint64_t seq[MAX_RECS], seg[MAX_RECS];
};

static int full_walk(const char *dir, struct walk *w)
{
	struct ledger_reader *r = NULL;
	struct ledger_record rec;
	char err[256];
	int rc;

	w->n = 0;
	if ((rc = ledger_reader_open(dir, &r, err, sizeof(err))) < 0)
		return rc;
	while ((rc = ledger_reader_next(r, &rec, err, sizeof(err))) > 0 && w->n < MAX_RECS) {
		w->seq[w->n] = rec.seq;
		w->seg[w->n++] = rec.segment;
	}
	ledger_reader_free(r);
	return rc;
}

/* Reads from `from` on; 0 when the records are exactly the walk's suffix. */
static int check_from(const char *dir, const struct walk *w, uint64_t from, size_t *got)
{
	struct ledger_reader *r = NULL;
	struct ledger_record rec;
	char err[256];
	size_t i = 0;
	int rc;

	*got = 0;
	while (i < w->n && w->seq[i] < from)
		i++;
	if ((rc = ledger_reader_open_at(dir, from, &r, err, sizeof(err))) < 0)
		return rc;
	while ((rc = ledger_reader_next(r, &rec, err, sizeof(err))) > 0) {
		if (i >= w->n || rec.seq != w->seq[i] || rec.segment != w->seg[i]) {
			rc = -EDOM;
			break;
		}
		i++;
		(*got)++;
	}
	ledger_reader_free(r);
	if (rc == 0 && i != w->n)
		rc = -ERANGE;
	return rc;
}

static void test_every_start(const struct tledger *t, const struct walk *w)
{
	uint64_t last = w->seq[w->n - 1];
	size_t got, bad = 0, seg_starts = 0;

	for (uint64_t from = 0; from <= last + 2; from++) {
		int rc = check_from(t->dir, w, from, &got);

		if (rc < 0) {
			if (!bad++)
				TAP_DIAG("from %" PRIu64 ": %d", from, rc);
		}
	}
	TAP_OK(bad == 0, "every start seq 0..last+2 gives the full walk's records from there (%zu "
			 "wrong)", bad);
	for (size_t i = 1; i < w->n; i++)
		seg_starts += w->seg[i] != w->seg[i - 1];
	TAP_OK(seg_starts >= 5, "that covered %zu segment boundaries", seg_starts);
	TAP_OK(check_from(t->dir, w, last, &got) == 0 && got == 1, "from the last seq: one record");
	TAP_OK(check_from(t->dir, w, last + 1, &got) == 0 && got == 0, "past the end: nothing");
	TAP_OK(check_from(t->dir, w, UINT64_MAX, &got) == 0 && got == 0, "from UINT64_MAX: nothing");
}

/* Segment file k (0-based in the walk's order) as an image index. */
static void test_damage(const struct tledger *t, const struct walk *w)
{
	struct timage im = { 0 };
	size_t segi, off, got;
	uint64_t from = w->seq[w->n / 2];
	char why[64];
	int rc;

	TAP_OK(timage_load(t->dir, &im) == 0 && im.n >= 4, "segment images loaded (%zu)", im.n);
	if (im.n < 4 || timage_find_seq(&im, from, &segi, &off) < 0 || segi < 2) {
		timage_free(&im);
		return;
	}
	/* A bad CRC in the first segment: not read when starting later. */
	im.s[0].buf[SEG_HEADER_LEN + 60] ^= 0x01;
	timage_save(t->dir, &im);
	rc = check_from(t->dir, w, from, &got);
	TAP_OK(rc == 0 && got > 0, "a damaged record before the start is not read (%d, %zu)", rc,
	       got);
	rc = check_from(t->dir, w, 1, &got);
	TAP_OK(rc == -EBADMSG, "from the start it is reported (%d)", rc);
	im.s[0].buf[SEG_HEADER_LEN + 60] ^= 0x01;

	/* A damaged header of an earlier segment: skipped over unread. */
	im.s[segi - 2].buf[40] ^= 0xff;
	timage_save(t->dir, &im);
	rc = check_from(t->dir, w, from, &got);
	TAP_OK(rc == 0 && got > 0, "a damaged header of an earlier segment is not read (%d)", rc);
	im.s[segi - 2].buf[40] ^= 0xff;

	/* The header of the segment holding `from`: reported. */
	im.s[segi].buf[40] ^= 0xff;
	timage_save(t->dir, &im);
	rc = check_from(t->dir, w, from, &got);
	TAP_OK(rc == -EBADMSG, "a damaged header of the start segment is reported (%d)", rc);
	im.s[segi].buf[40] ^= 0xff;

	/* A length field before `from` in its segment that does not parse:
	 * the seek stops there and the read reports it. */
	if (off > SEG_HEADER_LEN) {
		uint8_t *f = im.s[segi].buf + SEG_HEADER_LEN;
		uint32_t keep = tframe_len(f);

		vg_put_le32(f, 3);
		timage_save(t->dir, &im);
		rc = check_from(t->dir, w, from, &got);
		snprintf(why, sizeof(why), "%d", rc);
		TAP_OK(rc == -EBADMSG, "a broken frame length before the start is reported (%s)",
		       why);
		vg_put_le32(f, keep);
	} else {
		TAP_SKIP("the start seq is its segment's first record");
	}
	timage_save(t->dir, &im);
	rc = check_from(t->dir, w, 1, &got);
	TAP_OK(rc == 0 && got == w->n, "repaired: the full walk again");
	timage_free(&im);
}

/*
 * An incomplete last frame (what a live writer's frame looks like mid-write)
 * has its own code, LEDGER_E_SHORT_TAIL, so callers need not read the
 * message; a checksum mismatch stays -EBADMSG.
 */
static void test_short_tail(struct tledger *t, const struct walk *w)
{
	struct timage im = { 0 };
	struct walk got;
	struct tseg *last;
	size_t offs[64], nf;
	int rc;

	if (timage_load(t->dir, &im) < 0 || im.n == 0) {
		TAP_OK(0, "segment images for the short tail");
		timage_free(&im);
		return;
	}
	last = &im.s[im.n - 1];
	nf = tseg_frames(last->buf, last->len, offs, VG_ARRAY_LEN(offs));
	if (nf == 0) {
		TAP_OK(0, "frames of the last segment");
		timage_free(&im);
		return;
	}
	tseg_cut(last, last->len - 5, 5);
	timage_save(t->dir, &im);
	rc = full_walk(t->dir, &got);
	TAP_OK(rc == LEDGER_E_SHORT_TAIL && got.n == w->n - 1,
	       "a cut last frame reads as LEDGER_E_SHORT_TAIL after %zu records (%d)", got.n, rc);
	last->buf[offs[nf - 1] + 30] ^= 0x01;
	timage_save(t->dir, &im);
	rc = full_walk(t->dir, &got);
	TAP_OK(rc == LEDGER_E_SHORT_TAIL, "still short when cut (%d)", rc);
	timage_free(&im);
	TAP_OK(timage_load(t->dir, &im) == 0 && im.n > 0, "reloaded");
	if (im.n > 0 && nf > 1) {
		last = &im.s[im.n - 1];
		tseg_cut(last, offs[nf - 1], last->len - offs[nf - 1]);
		last->buf[offs[nf - 2] + 30] ^= 0x01;
		timage_save(t->dir, &im);
		rc = full_walk(t->dir, &got);
		TAP_OK(rc == -EBADMSG, "a whole frame with a bad checksum is -EBADMSG (%d)", rc);
	}
	timage_free(&im);
}

static void test_empty_and_missing(void)
{
	struct tledger t;
	struct ledger_reader *r = NULL;
	struct ledger_record rec;
	char err[256];

	if (tledger_init(&t, 900) < 0) {
		TAP_OK(0, "keys for the empty ledger");
		return;
	}
	TAP_OK(base_mkdir_p(t.dir, 0700, NULL) == 0, "an empty ledger directory");
	TAP_OK(ledger_reader_open_at(t.dir, 5, &r, err, sizeof(err)) == 0,
	       "open_at on an empty ledger");
	TAP_OK(r && ledger_reader_next(r, &rec, err, sizeof(err)) == 0, "which has nothing");
	ledger_reader_free(r);
	r = NULL;
	TAP_OK(ledger_reader_open_at("/nonexistent/vigil-ledger", 5, &r, err, sizeof(err)) < 0 &&
		       !r,
	       "a missing directory is an error (%s)", err);
	tledger_cleanup(&t);
}

int main(void)
{
	struct tledger t;
	struct ledger_options o;
	struct ledger *l = NULL;
	struct walk *w = calloc(1, sizeof(*w));
	char err[256];
	uint64_t last = 0;
	int rc;

	if (!w || tledger_init(&t, 900) < 0) {
		TAP_OK(0, "setup");
		return tap_done();
	}
	tledger_options(&t, &o);
	o.segment_bytes = 4096;	   /* ~15 records per segment */
	o.checkpoint_records = 40; /* seals in between */
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	TAP_OK(rc == 0, "ledger opened (%s)", rc ? err : "ok");
	if (rc == 0) {
		TAP_OK(tledger_append_events(l, 0, 300, 150, &last) == 0, "300 events appended");
		TAP_OK(ledger_close(l) == 0, "closed");
		TAP_OK(full_walk(t.dir, w) == 0 && w->n > 300 && w->seq[0] == 1 &&
			       w->seq[w->n - 1] == w->n,
		       "full walk: %zu records, seq 1..%zu", w->n, w->n);
		if (w->n > 300) {
			test_every_start(&t, w);
			test_damage(&t, w);
			test_short_tail(&t, w);
		}
	}
	tledger_cleanup(&t);
	test_empty_and_missing();
	free(w);
	return tap_done();
}
