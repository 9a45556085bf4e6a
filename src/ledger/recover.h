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

#endif
