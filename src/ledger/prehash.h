/*
 * prehash.h - parallel CRC checks and record hashes for verify (prehash.c).
 * Internal to src/ledger/.
 */
#ifndef VIGIL_LEDGER_PREHASH_H
#define VIGIL_LEDGER_PREHASH_H

#include "ledger_int.h"

struct prehash {
	size_t n;	/* frames prehashed; 0 when not worth it or not possible */
	size_t *off;	/* their offsets, increasing */
	uint8_t *status; /* enum frame_status of each */
	uint8_t (*hash)[LEDGER_HASH_LEN];
	size_t next;	/* lookup cursor */
	size_t cap, walk_off; /* the length walk, done as the bytes arrive */
	bool walk_done, failed;
};

/* Starts a prehash; feed it with prehash_walk as the segment is read. */
void prehash_begin(struct prehash *ph);
/* Records the frame boundaries found in the first avail bytes (a
 * seg_read on_chunk callback; arg is the struct prehash). */
void prehash_walk(void *arg, const uint8_t *buf, size_t avail);
/* Hashes the frames found, on all online cores. */
void prehash_finish(struct prehash *ph, const uint8_t *buf, size_t len);
/* For the frame at off (lookups must come in increasing offsets): its status
 * and hash, or false when it was not prehashed. */
bool prehash_get(struct prehash *ph, size_t off, enum frame_status *st,
		 uint8_t hash[LEDGER_HASH_LEN]);
void prehash_release(struct prehash *ph);

#endif
