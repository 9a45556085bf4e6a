/*
 * ledger_int.h - internals shared by the ledger's files: the byte layout of
 * segment headers and record frames (format.c), segment files (segment.c),
 * key handling (keys.c) and checkpoint notes (checkpoint.c).  Not for use
 * outside src/ledger/.
 */
#ifndef VIGIL_LEDGER_INT_H
#define VIGIL_LEDGER_INT_H

#include "common.h"
#include "ledger.h"

#include <openssl/evp.h>

#define SEG_MAGIC "VIGILLOG"
#define SEG_VERSION 1
#define SEG_HEADER_LEN 96
#define FRAME_HEAD_LEN 56 /* length .. prev hash */
#define FRAME_OVERHEAD 60 /* head + CRC */
#define FRAME_MAX (FRAME_OVERHEAD + LEDGER_MAX_PAYLOAD)
/* A segment larger than this is refused by readers: it cannot be ours. */
#define SEG_READ_MAX (4ull * 1024 * 1024 * 1024)
#define LEDGER_LOCK_FILE "LOCK"

struct seg_header {
	uint16_t version;
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	uint64_t segno;
	uint64_t first_seq;
	uint8_t prev_hash[LEDGER_HASH_LEN];
};

void seg_header_encode(const struct seg_header *h, uint8_t out[SEG_HEADER_LEN]);
/* 0, or -EBADMSG with why filled. */
int seg_header_decode(const uint8_t *in, size_t len, struct seg_header *h, char *why,
		      size_t whycap);

/* SHA-256 with the digest fetched once (re-fetching per call halves speed). */
struct hasher {
	EVP_MD_CTX *ctx;
};
int hasher_init(struct hasher *h);
void hasher_release(struct hasher *h);
/* RFC 6962 leaf hash: SHA-256(0x00 || data). */
void hasher_leaf(struct hasher *h, const uint8_t *data, size_t len, uint8_t out[32]);
void sha256_buf(const void *data, size_t len, uint8_t out[32]);

enum frame_status {
	FRAME_OK = 0,
	FRAME_SHORT = 1,  /* fewer bytes left than the frame needs (torn) */
	FRAME_BADLEN = 2, /* length field out of range */
	FRAME_CRC = 3,	  /* checksum mismatch; rec->frame_len is the stored length */
	FRAME_BADHDR = 4, /* reserved bytes not zero or unknown type */
};

/*
 * Appends one encoded frame to out and stores the record hash in hash_out.
 * -E2BIG when out's limit would be passed.
 */
int frame_encode(struct hasher *hs, struct vbuf *out, unsigned type, uint64_t seq,
		 uint64_t time_ns, const uint8_t prev[32], const void *payload, size_t len,
		 uint8_t hash_out[32]);
/*
 * Decodes the frame at buf (avail bytes from there to the end of the data).
 * On FRAME_OK rec is filled, its hash computed when hs is not NULL.  On
 * FRAME_CRC rec is filled as read (the hash over the bytes as they are).
 */
enum frame_status frame_decode(struct hasher *hs, const uint8_t *buf, size_t avail,
			       struct ledger_record *rec);
/* Fills rec from the frame at buf without checking its CRC or hashing it:
 * FRAME_OK, FRAME_SHORT or FRAME_BADLEN. */
enum frame_status frame_parse(const uint8_t *buf, size_t avail, struct ledger_record *rec);
/* The offset of the next well-formed frame at or after from, or len. */
size_t frame_resync(const uint8_t *buf, size_t len, size_t from);

/* Segment files are named <dir>/<segno, 10 digits>.seg. */
int seg_path(char *out, size_t cap, const char *dir, uint64_t segno);
/* Sorted ascending list of segment numbers found in dir; caller frees. */
int seg_list(const char *dir, uint64_t **nums, size_t *n);
/*
 * A read buffer reused from segment to segment by readers that walk a whole
 * ledger (verify, the reader).  Its pages are populated when it grows, so
 * reading 64 MiB does not take 16,384 page faults (measured: the faults cost
 * more than the hashing on a virtual machine).
 */
struct seg_buf {
	uint8_t *p;
	size_t cap;
};
/* Reads a whole segment file into b (grown as needed); *len gets its size.
 * on_chunk, when not NULL, is called after each chunk with the bytes read so
 * far, while they are still in the CPU cache. */
int seg_read(const char *path, struct seg_buf *b, size_t *len,
	     void (*on_chunk)(void *arg, const uint8_t *buf, size_t avail), void *arg);
void seg_buf_release(struct seg_buf *b);

/* The signing key (private). */
struct ledger_signer {
	EVP_PKEY *pkey;
	struct ledger_pubkey pub;
};
int ledger_signer_load(const char *spec, struct ledger_signer *s, char *err, size_t errcap);
void ledger_signer_release(struct ledger_signer *s);
int ledger_sign(const struct ledger_signer *s, const void *msg, size_t len, uint8_t sig[64]);
int ledger_sig_verify(const struct ledger_pubkey *pub, const void *msg, size_t len,
		      const uint8_t sig[64]);
void ledger_hmac(const uint8_t key[32], const void *msg, size_t len, uint8_t out[32]);

/*
 * Builds a signed, MACed checkpoint note for (log id, seq, head, time) with
 * mac at its current epoch.  Returns the note length or a negative errno.
 */
int checkpoint_make(const struct ledger_signer *s, const struct ledger_mackey *mac,
		    const uint8_t log_id[16], uint64_t seq, const uint8_t head[32],
		    uint64_t time_ns, char *out, size_t cap, struct ledger_checkpoint *cp);
/* The five (unsigned, un-MACed) body lines and the six signed lines. */
int checkpoint_body(const struct ledger_checkpoint *cp, bool with_mac, char *out, size_t cap);

/* The head file (head.c): renders h sealed with mac at its epoch (h->epoch
 * and h->mac are set); checks h's MAC with mac evolved to h's epoch
 * (-ERANGE when mac is already past it, -EBADMSG on a mismatch); reads
 * one from fd (-ENOENT when empty). */
int head_seal(struct ledger_head *h, const struct ledger_mackey *mac, char *out, size_t cap);
int head_check_mac(const struct ledger_head *h, const struct ledger_mackey *mac);
int head_read_fd(int fd, struct ledger_head *h);

static inline bool rec_is_seal(unsigned type)
{
	return type == LEDGER_REC_CHECKPOINT || type == LEDGER_REC_HEARTBEAT;
}

#endif /* VIGIL_LEDGER_INT_H */
