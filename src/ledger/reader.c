/*
 * reader.c - walks the records of a ledger in order, segment by segment,
 * for consumers that need the events (export, reindex, sinks).  It checks
 * framing only; ledger_verify() is the integrity check.
 *
 * ledger_reader_open_at() starts at a seq without reading what comes
 * before: each segment header names the seq of its first record, so the
 * segments that end before the wanted seq are skipped by reading their 96
 * header bytes (from the newest backwards: a consumer catching up wants the
 * end), and inside the segment the frames before it are stepped over by
 * their length fields, without checking their CRCs or hashing them.
 */
#include "ledger_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <unistd.h>

struct ledger_reader {
	char dir[4096];
	uint64_t *segs;
	size_t nsegs, cur; /* cur: index of the loaded segment, nsegs when done */
	struct seg_buf sb;
	const uint8_t *buf;
	size_t len, off;
	struct hasher hs;
	bool loaded;
};

int ledger_reader_open(const char *dir, struct ledger_reader **out, char *err, size_t errcap)
{
	struct ledger_reader *r = vg_calloc(1, sizeof(*r));
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	if ((rc = vg_path(r->dir, sizeof(r->dir), "%s", dir)) < 0 ||
	    (rc = hasher_init(&r->hs)) < 0) {
		snprintf(err, errcap, "cannot open ledger '%s': %s", dir, strerror(-rc));
		vg_free(r);
		return rc;
	}
	rc = seg_list(dir, &r->segs, &r->nsegs);
	if (rc < 0) {
		snprintf(err, errcap, "cannot read ledger directory '%s': %s", dir, strerror(-rc));
		ledger_reader_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

/* The first seq a segment's header names.  -errno, or -EBADMSG for a
 * header that does not decode. */
static int seg_first_seq(const char *dir, uint64_t segno, uint64_t *first)
{
	uint8_t buf[SEG_HEADER_LEN];
	struct seg_header h;
	char path[4200], why[160];
	ssize_t n;
	int fd, rc;

	if ((rc = seg_path(path, sizeof(path), dir, segno)) < 0)
		return rc;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	n = pread(fd, buf, sizeof(buf), 0);
	rc = n < 0 ? -errno : 0;
	close(fd);
	if (rc < 0)
		return rc;
	if (seg_header_decode(buf, (size_t)n, &h, why, sizeof(why)) < 0)
		return -EBADMSG;
	*first = h.first_seq;
	return 0;
}

static int load_segment(struct ledger_reader *r, char *err, size_t errcap);

/*
 * Positions r at the first record with seq >= from.  A segment whose header
 * cannot be read stops the search there: reading then starts at that
 * segment, and ledger_reader_next() reports the damage where it is (err is
 * only scratch space here).
 */
static void reader_seek(struct ledger_reader *r, uint64_t from, char *err, size_t errcap)
{
	struct ledger_record rec;
	size_t k = r->nsegs;

	while (k > 0) {
		uint64_t first = 0;

		k--;
		if (seg_first_seq(r->dir, r->segs[k], &first) < 0 || first <= from)
			break;
	}
	r->cur = k;
	if (r->nsegs == 0)
		return;
	/* A segment that cannot be loaded stays unloaded: the first
	 * ledger_reader_next() tries again and reports why. */
	if (load_segment(r, err, errcap) < 0)
		return;
	/* Step over the earlier frames by their lengths; a frame that does
	 * not parse is left for ledger_reader_next() to report. */
	while (r->off < r->len) {
		if (frame_parse(r->buf + r->off, r->len - r->off, &rec) != FRAME_OK ||
		    rec.seq >= from)
			break;
		r->off += rec.frame_len;
	}
}

int ledger_reader_open_at(const char *dir, uint64_t from_seq, struct ledger_reader **out,
			  char *err, size_t errcap)
{
	int rc = ledger_reader_open(dir, out, err, errcap);

	if (rc == 0 && from_seq > 1)
		reader_seek(*out, from_seq, err, errcap);
	return rc;
}

static int load_segment(struct ledger_reader *r, char *err, size_t errcap)
{
	char path[4200], why[160];
	struct seg_header h;
	int rc;

	r->loaded = false;
	if ((rc = seg_path(path, sizeof(path), r->dir, r->segs[r->cur])) < 0 ||
	    (rc = seg_read(path, &r->sb, &r->len, NULL, NULL)) < 0) {
		snprintf(err, errcap, "cannot read segment %" PRIu64 ": %s", r->segs[r->cur],
			 strerror(-rc));
		return rc;
	}
	r->buf = r->sb.p;
	if (seg_header_decode(r->buf, r->len, &h, why, sizeof(why)) < 0) {
		snprintf(err, errcap, "segment %" PRIu64 ": %s", r->segs[r->cur], why);
		return -EBADMSG;
	}
	r->off = SEG_HEADER_LEN;
	r->loaded = true;
	return 0;
}

int ledger_reader_next(struct ledger_reader *r, struct ledger_record *rec, char *err,
		       size_t errcap)
{
	enum frame_status st;
	int rc;

	for (;;) {
		if (r->cur >= r->nsegs)
			return 0;
		if (!r->loaded && (rc = load_segment(r, err, errcap)) < 0)
			return rc;
		if (r->off < r->len)
			break;
		r->cur++;
		r->loaded = false;
	}
	st = frame_decode(&r->hs, r->buf + r->off, r->len - r->off, rec);
	if (st != FRAME_OK) {
		snprintf(err, errcap, "segment %" PRIu64 " offset %zu: %s", r->segs[r->cur], r->off,
			 st == FRAME_SHORT ? "incomplete record at the end"
			 : st == FRAME_CRC ? "checksum mismatch"
					   : "malformed record");
		/* A short frame at the end is also what a live writer's frame
		 * looks like mid-write: its own code, so callers need not read err. */
		return st == FRAME_SHORT ? LEDGER_E_SHORT_TAIL : -EBADMSG;
	}
	rec->segment = r->segs[r->cur];
	rec->offset = r->off;
	r->off += rec->frame_len;
	return 1;
}

void ledger_reader_free(struct ledger_reader *r)
{
	if (!r)
		return;
	hasher_release(&r->hs);
	seg_buf_release(&r->sb);
	vg_free(r->segs);
	vg_free(r);
}
