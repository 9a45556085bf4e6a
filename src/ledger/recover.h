/*
 * recover.h - segment scanning for the writer's open and recovery
 * (recover.c).  Internal to src/ledger/.
 */
#ifndef VIGIL_LEDGER_RECOVER_H
#define VIGIL_LEDGER_RECOVER_H

#include "ledger_int.h"

struct seg_scan {
	struct seg_header hdr;
	size_t valid_end; /* offset just past the last valid frame */
	uint64_t records;
	uint64_t last_seq, last_time;
	uint8_t last_hash[LEDGER_HASH_LEN];
	bool have_seal;
	uint64_t seal_seq, seal_epoch;
	bool have_rot;
	uint64_t rot_epoch;
	uint64_t unsealed, first_unsealed_time;
	/* Bytes after valid_end that form no valid frame. */
	bool torn;
	enum frame_status torn_status;
	uint64_t torn_bytes;
	uint64_t torn_seq;    /* seq of the partial frame when readable, else 0 */
	uint64_t torn_frames; /* frame headers walkable in the torn bytes */
	bool valid_after;     /* a valid frame follows the damage: not a torn write */
};

/* Scans a whole segment image.  -EBADMSG (why filled) for a bad header. */
int seg_scan(struct hasher *hs, const uint8_t *buf, size_t len, struct seg_scan *s, char *why,
	     size_t whycap);
/* Reads the epoch from a key-rotation record's payload. */
int rotation_payload_epoch(const uint8_t *p, size_t len, uint64_t *epoch);

/* What ledger_open knows when it checks what it may vouch for. */
struct trust_in {
	const char *dir;
	const struct ledger_pubkey *pub; /* the writer's own */
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	uint64_t last_seq;		 /* the ledger's last record (0: empty) */
	uint8_t last_hash[LEDGER_HASH_LEN];
	bool created;			 /* the ledger was created by this open */
	int head_rc;			 /* reading the head file: 0, -ENOENT, ... */
	bool head_mac_ok;
	const struct ledger_head *head;
};

/*
 * Compares the ledger with the head file and its seals and fills the
 * head, truncation and unvouched fields of info (see ledger.h).  Only
 * I/O errors make it fail.
 */
int trust_assess(const struct trust_in *in, struct ledger_open_info *info);
/* The payload of the recovery record for the unvouched range (unvouched)
 * or for what is missing; its length or -ENOSPC. */
int trust_recovery_json(const struct ledger_open_info *info, const uint8_t head_log_id[16],
			bool unvouched, char *out, size_t cap);

#endif
