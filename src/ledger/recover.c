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
