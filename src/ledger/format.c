/*
 * format.c - the on-disk format of the ledger: segment headers, record frames
 * and record hashes.
 *
 * THE LEDGER DIRECTORY
 *
 *   LOCK                  held (flock) by the one writer; says who holds it
 *   0000000001.seg        segment 1
 *   0000000002.seg        segment 2, ...
 *
 * Segment numbers start at 1 and increase by one.  A new segment is created
 * as a temporary file holding only its header, fsynced and renamed into
 * place, so a segment file never has a torn header.  All integers are
 * little-endian.  Segment files are mode 0600.
 *
 * SEGMENT HEADER (96 bytes)
 *
 *   offset size  field
 *        0    8  magic "VIGILLOG"
 *        8    2  format version, 1
 *       10    2  header length, 96
 *       12    4  flags, 0
 *       16   16  log id: random, chosen when the ledger is created; every
 *                segment of a ledger and every checkpoint carry it
 *       32    8  segment number (equals the number in the file name)
 *       40    8  seq of the first record in this segment
 *       48   32  hash of the last record of the previous segment (zeros for
 *                the first segment of a ledger)
 *       80   12  reserved, zero
 *       92    4  CRC-32 (zlib) of bytes 0..91
 *
 * Every header field is redundant with the chain (first seq and previous
 * hash must agree with the records) or with the signed checkpoints (log id),
 * so a forged header that carries a valid CRC is still caught by verify.
 *
 * RECORD FRAME (60 + P bytes, P = payload length)
 *
 *   offset size  field
 *        0    4  frame length in bytes, 60 + P (P <= 16 MiB)
 *        4    1  record type (1 event, 2 checkpoint, 3 key rotation,
 *                4 recovery, 5 heartbeat, 6 retention)
 *        5    1  flags, 0
 *        6    2  reserved, 0
 *        8    8  seq: 1 for the first record of the ledger, then +1 exactly
 *       16    8  time: ns since the Unix epoch (UTC), never decreasing
 *       24   32  hash of the previous record (zeros for seq 1)
 *       56    P  payload
 *     56+P    4  CRC-32 (zlib) of bytes 0..55+P
 *
 * Frames follow each other with no padding, from offset 96 of the segment.
 *
 * RECORD HASH
 *
 *   hash = SHA-256(0x00 || bytes 0..55+P of the frame)
 *
 * the leaf hash of RFC 6962, so a Merkle tree and inclusion proofs can be
 * added over the same leaves without changing the format.  Because each frame
 * contains the previous record's hash, the hash of the newest record commits
 * to the whole history (a hash chain).  The CRC is for torn writes only; it
 * protects nothing against an attacker.
 *
 * SEALS
 *
 * A checkpoint (or heartbeat) record's payload is a signed note (see
 * checkpoint.c) naming the log id, the seq and hash of the record just before
 * it, the time, and the MAC key epoch, with an HMAC-SHA256 under that epoch's
 * key and an Ed25519 signature.  Records after the newest seal are the
 * "unsealed tail": verify reports them, and an attacker could cut them off
 * without leaving a trace unless a copy of a later checkpoint is kept
 * elsewhere.  The writer seals at most a second (or N records) after a
 * record while busy, sends a heartbeat while idle, and seals on close.
 *
 * RECOVERY RULE
 *
 * On open, the writer reads the last segment.  Bytes at the end that do not
 * form a valid frame (short, bad length, bad CRC) are a torn write: they are
 * cut off and a recovery record saying how many bytes and which seqs were
 * dropped is appended.  If valid frames follow the damage, the damage is not
 * a torn write and the writer refuses to open rather than destroy evidence.
 *
 * Then the writer compares the ledger with its head file (head.c), kept
 * outside the directory: records neither the head file nor a seal signed by
 * its key vouches for get a recovery record naming them ("unvouched tail")
 * and are never sealed as its own; records the head file says were durable
 * but are gone get one too ("truncated", "rewritten").  The payloads are in
 * docs/ledger-format.md.
 */
#include "ledger_int.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <zlib.h>

static const EVP_MD *sha256_md;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_md = EVP_MD_fetch(NULL, "SHA256", NULL);
}

int hasher_init(struct hasher *h)
{
	pthread_once(&sha256_once, sha256_fetch);
	if (!sha256_md)
		return -ENOSYS;
	h->ctx = EVP_MD_CTX_new();
	return h->ctx ? 0 : -ENOMEM;
}

void hasher_release(struct hasher *h)
{
	EVP_MD_CTX_free(h->ctx);
	h->ctx = NULL;
}

void hasher_leaf(struct hasher *h, const uint8_t *data, size_t len, uint8_t out[32])
{
	static const uint8_t leaf_prefix = 0x00;

	EVP_DigestInit_ex2(h->ctx, sha256_md, NULL);
	EVP_DigestUpdate(h->ctx, &leaf_prefix, 1);
	EVP_DigestUpdate(h->ctx, data, len);
	EVP_DigestFinal_ex(h->ctx, out, NULL);
}

void sha256_buf(const void *data, size_t len, uint8_t out[32])
{
	pthread_once(&sha256_once, sha256_fetch);
	EVP_Digest(data, len, out, NULL, sha256_md, NULL);
}

static uint32_t crc_of(const uint8_t *p, size_t n)
{
	/* zlib's crc32 takes a uInt length; frames are < 4 GiB by construction. */
	return (uint32_t)crc32(0L, p, (uInt)n);
}

void seg_header_encode(const struct seg_header *h, uint8_t out[SEG_HEADER_LEN])
{
	memset(out, 0, SEG_HEADER_LEN);
	memcpy(out, SEG_MAGIC, 8);
	vg_put_le16(out + 8, SEG_VERSION);
	vg_put_le16(out + 10, SEG_HEADER_LEN);
	vg_put_le32(out + 12, 0);
	memcpy(out + 16, h->log_id, LEDGER_LOG_ID_LEN);
	vg_put_le64(out + 32, h->segno);
	vg_put_le64(out + 40, h->first_seq);
	memcpy(out + 48, h->prev_hash, LEDGER_HASH_LEN);
	vg_put_le32(out + 92, crc_of(out, 92));
}

int seg_header_decode(const uint8_t *in, size_t len, struct seg_header *h, char *why,
		      size_t whycap)
{
	static const uint8_t zero[12];

	if (len < SEG_HEADER_LEN) {
		snprintf(why, whycap, "file too short for a segment header (%zu bytes)", len);
		return -EBADMSG;
	}
	if (memcmp(in, SEG_MAGIC, 8) != 0) {
		snprintf(why, whycap, "not a vigil ledger segment (bad magic)");
		return -EBADMSG;
	}
	if (vg_get_le32(in + 92) != crc_of(in, 92)) {
		snprintf(why, whycap, "segment header checksum mismatch");
		return -EBADMSG;
	}
	h->version = vg_get_le16(in + 8);
	if (h->version != SEG_VERSION) {
		snprintf(why, whycap, "unsupported segment format version %u", h->version);
		return -EBADMSG;
	}
	if (vg_get_le16(in + 10) != SEG_HEADER_LEN || vg_get_le32(in + 12) != 0 ||
	    memcmp(in + 80, zero, sizeof(zero)) != 0) {
		snprintf(why, whycap, "segment header has unknown fields set");
		return -EBADMSG;
	}
	memcpy(h->log_id, in + 16, LEDGER_LOG_ID_LEN);
	h->segno = vg_get_le64(in + 32);
	h->first_seq = vg_get_le64(in + 40);
	memcpy(h->prev_hash, in + 48, LEDGER_HASH_LEN);
	if (h->segno == 0 || h->first_seq == 0) {
		snprintf(why, whycap, "segment header has a zero segment number or seq");
		return -EBADMSG;
	}
	return 0;
}

int frame_encode(struct hasher *hs, struct vbuf *out, unsigned type, uint64_t seq,
		 uint64_t time_ns, const uint8_t prev[32], const void *payload, size_t len,
		 uint8_t hash_out[32])
{
	size_t flen = FRAME_OVERHEAD + len;
	uint8_t *f;
	int rc;

	if (len > LEDGER_MAX_PAYLOAD)
		return -EMSGSIZE;
	rc = vbuf_reserve(out, flen);
	if (rc < 0)
		return rc;
	f = out->data + out->len;
	vg_put_le32(f, (uint32_t)flen);
	f[4] = (uint8_t)type;
	f[5] = 0;
	vg_put_le16(f + 6, 0);
	vg_put_le64(f + 8, seq);
	vg_put_le64(f + 16, time_ns);
	memcpy(f + 24, prev, LEDGER_HASH_LEN);
	if (len)
		memcpy(f + FRAME_HEAD_LEN, payload, len);
	vg_put_le32(f + FRAME_HEAD_LEN + len, crc_of(f, FRAME_HEAD_LEN + len));
	hasher_leaf(hs, f, FRAME_HEAD_LEN + len, hash_out);
	out->len += flen;
	out->data[out->len] = 0;
	return 0;
}

enum frame_status frame_parse(const uint8_t *buf, size_t avail, struct ledger_record *rec)
{
	uint32_t flen;

	if (avail < 4)
		return FRAME_SHORT;
	flen = vg_get_le32(buf);
	if (flen < FRAME_OVERHEAD || flen > FRAME_MAX)
		return FRAME_BADLEN;
	if (flen > avail)
		return FRAME_SHORT;
	rec->frame_len = flen;
	rec->type = buf[4];
	rec->seq = vg_get_le64(buf + 8);
	rec->time_ns = vg_get_le64(buf + 16);
	rec->prev_hash = buf + 24;
	rec->payload = buf + FRAME_HEAD_LEN;
	rec->payload_len = flen - FRAME_OVERHEAD;
	return FRAME_OK;
}

enum frame_status frame_decode(struct hasher *hs, const uint8_t *buf, size_t avail,
			       struct ledger_record *rec)
{
	enum frame_status st = frame_parse(buf, avail, rec);
	uint32_t flen;

	if (st != FRAME_OK)
		return st;
	flen = rec->frame_len;
	if (vg_get_le32(buf + flen - 4) != crc_of(buf, flen - 4))
		st = FRAME_CRC;
	else if (buf[5] != 0 || vg_get_le16(buf + 6) != 0 || rec->type < LEDGER_REC_EVENT ||
		 rec->type > LEDGER_REC_RETENTION)
		st = FRAME_BADHDR;
	if (hs)
		hasher_leaf(hs, buf, flen - 4, rec->hash);
	return st;
}

size_t frame_resync(const uint8_t *buf, size_t len, size_t from)
{
	for (size_t off = from; off + FRAME_OVERHEAD <= len; off++) {
		uint32_t flen = vg_get_le32(buf + off);

		/* Cheap filters first; the CRC decides. */
		if (flen < FRAME_OVERHEAD || flen > len - off || buf[off + 5] != 0 ||
		    buf[off + 4] < LEDGER_REC_EVENT || buf[off + 4] > LEDGER_REC_RETENTION)
			continue;
		if (vg_get_le32(buf + off + flen - 4) == crc_of(buf + off, flen - 4))
			return off;
	}
	return len;
}

const char *ledger_rec_type_name(unsigned type)
{
	switch (type) {
	case LEDGER_REC_EVENT:
		return "event";
	case LEDGER_REC_CHECKPOINT:
		return "checkpoint";
	case LEDGER_REC_KEY_ROTATION:
		return "key-rotation";
	case LEDGER_REC_RECOVERY:
		return "recovery";
	case LEDGER_REC_HEARTBEAT:
		return "heartbeat";
	case LEDGER_REC_RETENTION:
		return "retention";
	default:
		return "unknown";
	}
}
