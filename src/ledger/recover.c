/*
 * recover.c - what the writer learns from a segment when it opens the
 * ledger: where the valid records end, the chain head, the last seal and key
 * epoch, the unsealed tail, and whether the bytes after the last valid frame
 * look like a torn write (cut them) or like damage in the middle (refuse).
 */
#include "recover.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

int rotation_payload_epoch(const uint8_t *p, size_t len, uint64_t *epoch)
{
	char tmp[128];
	unsigned long long e, prev;

	if (len == 0 || len >= sizeof(tmp))
		return -EINVAL;
	memcpy(tmp, p, len);
	tmp[len] = 0;
	if (sscanf(tmp, "{\"epoch\":%llu,\"previous_epoch\":%llu}", &e, &prev) != 2)
		return -EINVAL;
	*epoch = e;
	return 0;
}

int seg_scan(struct hasher *hs, const uint8_t *buf, size_t len, struct seg_scan *s, char *why,
	     size_t whycap)
{
	size_t off = SEG_HEADER_LEN;
	int rc;

	memset(s, 0, sizeof(*s));
	rc = seg_header_decode(buf, len, &s->hdr, why, whycap);
	if (rc < 0)
		return rc;
	while (off < len) {
		struct ledger_record rec;
		enum frame_status st = frame_decode(hs, buf + off, len - off, &rec);

		if (st != FRAME_OK) {
			s->torn = true;
			s->torn_status = st;
			break;
		}
		s->records++;
		s->last_seq = rec.seq;
		s->last_time = rec.time_ns;
		memcpy(s->last_hash, rec.hash, LEDGER_HASH_LEN);
		if (rec_is_seal(rec.type)) {
			struct ledger_checkpoint cp;
			char e[128];

			s->have_seal = true;
			s->seal_seq = rec.seq;
			if (ledger_checkpoint_parse((const char *)rec.payload, rec.payload_len, &cp, e,
						    sizeof(e)) == 0)
				s->seal_epoch = cp.epoch;
			s->unsealed = 0;
		} else {
			if (rec.type == LEDGER_REC_KEY_ROTATION) {
				uint64_t ep;

				if (rotation_payload_epoch(rec.payload, rec.payload_len, &ep) == 0) {
					s->have_rot = true;
					s->rot_epoch = ep;
				}
			}
			if (s->unsealed++ == 0)
				s->first_unsealed_time = rec.time_ns;
		}
		off += rec.frame_len;
	}
	s->valid_end = off;
	if (!s->torn)
		return 0;

	/* Describe what lies past the last valid frame. */
	s->torn_bytes = len - off;
	if (len - off >= 16) {
		uint64_t seq = vg_get_le64(buf + off + 8);

		if (seq == (s->records ? s->last_seq + 1 : s->hdr.first_seq))
			s->torn_seq = seq;
	}
	/* Count the frame headers that can still be walked by their lengths. */
	for (size_t p = off; p + 4 <= len;) {
		uint32_t flen = vg_get_le32(buf + p);

		if (flen < FRAME_OVERHEAD || flen > FRAME_MAX)
			break;
		s->torn_frames++;
		p += flen;
	}
	s->valid_after = frame_resync(buf, len, off + 1) < len;
	return 0;
}

/* ---- what the writer vouches for on open --------------------------------------- */

/* The hash of record seq, read from the ledger.  -ENOENT when it is not there. */
static int hash_at(const char *dir, uint64_t seq, uint8_t out[LEDGER_HASH_LEN])
{
	struct ledger_reader *r;
	struct ledger_record rec;
	char err[256];
	int rc;

	rc = ledger_reader_open_at(dir, seq, &r, err, sizeof(err));
	if (rc < 0)
		return rc;
	rc = ledger_reader_next(r, &rec, err, sizeof(err));
	if (rc == 1 && rec.seq == seq) {
		memcpy(out, rec.hash, LEDGER_HASH_LEN);
		rc = 0;
	} else if (rc >= 0) {
		rc = -ENOENT;
	}
	ledger_reader_free(r);
	return rc;
}

/* True when the seal record rec is one the writer with pub made over the
 * chain it stands in. */
static bool seal_is_ours(const struct ledger_record *rec, const uint8_t log_id[16],
			 const struct ledger_pubkey *pub)
{
	struct ledger_checkpoint cp;
	char e[160];

	return ledger_checkpoint_parse((const char *)rec->payload, rec->payload_len, &cp, e,
				       sizeof(e)) == 0 &&
	       memcmp(cp.log_id, log_id, LEDGER_LOG_ID_LEN) == 0 && cp.seq + 1 == rec->seq &&
	       memcmp(cp.head, rec->prev_hash, LEDGER_HASH_LEN) == 0 &&
	       cp.time_ns == rec->time_ns && ledger_checkpoint_check_sig(&cp, pub) == 0;
}

#define SEAL_RING 16

/*
 * The seq of the newest seal record signed with pub, searching the segments
 * from the newest back (only as far as needed: normally the last seal is
 * ours and costs one signature check); 0 when there is none.  In each
 * segment the newest SEAL_RING seal records are tried, newest first: more
 * forged seals than that in one segment are not worth hours of checking.
 */
static int newest_own_seal(struct hasher *hs, const char *dir, const uint8_t log_id[16],
			   const struct ledger_pubkey *pub, uint64_t *seq)
{
	uint64_t *segs = NULL;
	size_t nsegs = 0;
	struct seg_buf sb = { 0 };
	int rc;

	*seq = 0;
	rc = seg_list(dir, &segs, &nsegs);
	for (size_t i = nsegs; rc == 0 && i-- > 0 && !*seq;) {
		size_t ring[SEAL_RING], nring = 0, len = 0, off = SEG_HEADER_LEN;
		char path[4200];
		struct ledger_record rec;

		if ((rc = seg_path(path, sizeof(path), dir, segs[i])) < 0 ||
		    (rc = seg_read(path, &sb, &len, NULL, NULL)) < 0)
			break;
		while (off < len && frame_parse(sb.p + off, len - off, &rec) == FRAME_OK) {
			if (rec_is_seal(rec.type))
				ring[nring++ % SEAL_RING] = off;
			off += rec.frame_len;
		}
		for (size_t k = 0; k < nring && k < SEAL_RING && !*seq; k++) {
			size_t o = ring[(nring - 1 - k) % SEAL_RING];

			if (frame_decode(hs, sb.p + o, len - o, &rec) == FRAME_OK &&
			    seal_is_ours(&rec, log_id, pub))
				*seq = rec.seq;
		}
	}
	seg_buf_release(&sb);
	vg_free(segs);
	return rc;
}

static void say(struct ledger_open_info *info, const char *what)
{
	size_t n = strlen(info->why);

	snprintf(info->why + n, sizeof(info->why) - n, "%s%s", n ? "; " : "", what);
}

/* What the head file says against the chain: the seq it vouches for. */
static uint64_t compare_head(const struct trust_in *in, const struct ledger_head *h,
			     struct ledger_open_info *info)
{
	uint8_t got[LEDGER_HASH_LEN];
	uint64_t e = in->last_seq, vouched = 0;

	if (memcmp(h->log_id, in->log_id, LEDGER_LOG_ID_LEN) != 0) {
		if (h->durable_seq > 0) {
			info->truncated = info->replaced = true;
			info->missing_first = 1;
			info->missing_last = h->durable_seq;
			say(info, "the ledger was replaced: the head file names another ledger");
		}
		return 0;
	}
	/* The usual case, after a clean stop or a crash: one comparison. */
	if (h->written_seq == e && memcmp(h->written_hash, in->last_hash, LEDGER_HASH_LEN) == 0)
		return e;
	if (h->durable_seq > e) {
		info->truncated = true;
		info->missing_first = e + 1;
		info->missing_last = h->durable_seq;
		say(info, "records the writer had made durable are gone");
	} else if (h->durable_seq > 0) {
		if (hash_at(in->dir, h->durable_seq, got) == 0 &&
		    memcmp(got, h->durable_hash, LEDGER_HASH_LEN) == 0) {
			vouched = h->durable_seq;
		} else {
			info->truncated = info->rewritten = true;
			info->missing_first = h->durable_seq;
			info->missing_last = h->durable_seq;
			say(info, "the record at the head file's durable seq is not the one written");
		}
	}
	if (h->written_seq > vouched && h->written_seq <= e && !info->rewritten &&
	    hash_at(in->dir, h->written_seq, got) == 0 &&
	    memcmp(got, h->written_hash, LEDGER_HASH_LEN) == 0)
		vouched = h->written_seq;
	return vouched;
}

int trust_assess(const struct trust_in *in, struct ledger_open_info *info)
{
	uint64_t vouched = 0, seal = 0;
	struct hasher hs;
	int rc = 0;

	info->found_last_seq = in->last_seq;
	if (in->head_rc == -ENOENT) {
		info->head = LEDGER_HEAD_NONE;
		if (in->last_seq && !in->created)
			say(info, "no head file");
	} else if (in->head_rc < 0 || !in->head_mac_ok) {
		info->head = LEDGER_HEAD_BAD;
		say(info, in->head_rc < 0 ? "the head file is malformed"
					  : "the head file does not verify with the MAC key");
	} else {
		info->head = LEDGER_HEAD_OK;
		info->head_durable_seq = in->head->durable_seq;
		vouched = compare_head(in, in->head, info);
	}
	if (vouched >= in->last_seq)
		return 0;
	/* Records the head does not vouch for: a seal this writer's key signed
	 * vouches for everything before it. */
	if ((rc = hasher_init(&hs)) < 0)
		return rc;
	rc = newest_own_seal(&hs, in->dir, in->log_id, in->pub, &seal);
	hasher_release(&hs);
	if (rc < 0)
		return rc;
	if (seal > vouched)
		vouched = seal;
	if (vouched < in->last_seq) {
		info->unvouched_first = vouched + 1;
		info->unvouched_last = in->last_seq;
		if (info->head == LEDGER_HEAD_OK && !info->truncated && !info->replaced)
			say(info, in->head->written_seq > in->last_seq
					  ? "records of a write the writer did not finish"
					  : "records after the last one the writer wrote");
	}
	return 0;
}

int trust_recovery_json(const struct ledger_open_info *info, const uint8_t head_log_id[16],
			bool unvouched, char *out, size_t cap)
{
	char id[33];
	int n;

	if (unvouched)
		n = snprintf(out, cap,
			     "{\"reason\":\"unvouched tail\",\"first_seq\":%" PRIu64
			     ",\"last_seq\":%" PRIu64 ",\"why\":\"%s\"}",
			     info->unvouched_first, info->unvouched_last, info->why);
	else {
		base_hex_encode(head_log_id, LEDGER_LOG_ID_LEN, id);
		n = snprintf(out, cap,
			     "{\"reason\":\"%s\",\"first_seq\":%" PRIu64 ",\"last_seq\":%" PRIu64
			     ",\"found_last_seq\":%" PRIu64 ",\"head_log_id\":\"%s\",\"replaced\":%s,"
			     "\"why\":\"%s\"}",
			     info->rewritten ? "rewritten" : "truncated", info->missing_first,
			     info->missing_last, info->found_last_seq, id,
			     info->replaced ? "true" : "false", info->why);
	}
	return n < 0 || (size_t)n >= cap ? -ENOSPC : n;
}
