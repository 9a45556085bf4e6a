/*
 * helpers.h - shared helpers for ledger tests: temporary state directories
 * with keys, a ledger opened on them, and the tools of an "attacker" with
 * write access to the ledger directory (segment images, frame offsets, CRC
 * fix-ups, and a forger that re-links the whole chain and re-signs it).
 */
#ifndef VIGIL_TEST_LEDGER_HELPERS_H
#define VIGIL_TEST_LEDGER_HELPERS_H

#include "common.h"
#include "ledger.h"
#include "ledger_int.h"

#include <stdbool.h>

struct tledger {
	char root[4096];     /* temporary state directory */
	char dir[4200];      /* root/ledger */
	char keys[4200];     /* root/keys */
	char signing[4300];  /* "file:" spec */
	char mac[4300];      /* "file:" spec */
	struct ledger_pubkey pub;
	struct ledger_mackey verify_key; /* epoch 0 */
};

/* Creates a temporary directory with fresh keys (epoch_s-second epochs). */
int tledger_init(struct tledger *t, uint64_t epoch_s);
/* Options for opening t's ledger with the defaults tests want. */
void tledger_options(const struct tledger *t, struct ledger_options *o);
/* Removes the temporary directory. */
void tledger_cleanup(struct tledger *t);
/* Runs ledger_verify with t's public key (and MAC key when with_mac). */
int tledger_verify(const struct tledger *t, bool with_mac, bool require_sealed,
		   const char *trusted, struct ledger_verify_result *res);
/* The same on another directory, with any keys (mac may be NULL). */
int tverify_dir(const char *dir, const struct ledger_pubkey *pub, const struct ledger_mackey *mac,
		bool require_sealed, const char *trusted, struct ledger_verify_result *res);
/* True when res has a finding of kind k. */
bool tledger_has(const struct ledger_verify_result *res, enum ledger_finding_kind k);
/* The first finding of kind k, or NULL. */
const struct ledger_finding *tledger_find(const struct ledger_verify_result *res,
					  enum ledger_finding_kind k);
/* True when every finding of res is of kind k (and there is at least one). */
bool tledger_only(const struct ledger_verify_result *res, enum ledger_finding_kind k);
/* Prints the findings as TAP diagnostics. */
void tledger_dump(const struct ledger_verify_result *res);
/* Appends n events {"n":<first+i>,"pad":"xxx..."} with pad bytes of padding. */
int tledger_append_events(struct ledger *l, int first, int n, size_t pad, uint64_t *last_seq);

/* ---- files ----------------------------------------------------------------- */

/* Writes a whole file (created or truncated) with mode. */
int tfile_write(const char *path, const void *data, size_t len, unsigned mode);
/* Removes dir and everything under it, and its head file <dir>.head (they
 * may be missing). */
void tdir_remove(const char *dir);
/* Replaces dst with a copy of the regular files of src (one level), and
 * <dst>.head with a copy of <src>.head (removed when src has none). */
int tdir_copy(const char *src, const char *dst);
/* Path of segment segno in dir (static buffer per call site is not needed:
 * writes into out, which must hold 4200 bytes). */
void tseg_path(char *out, const char *dir, uint64_t segno);
/* Number of segment files in dir, or a negative errno. */
long tseg_count(const char *dir);

/* ---- segment images ------------------------------------------------------ */

struct tseg {
	uint64_t no; /* number in the file name */
	uint8_t *buf;
	size_t len;
};

struct timage {
	struct tseg *s;
	size_t n;
};

/* Loads every segment file of dir, in file-name order. */
int timage_load(const char *dir, struct timage *im);
/* Removes the segment files of dir and writes im's in their place. */
int timage_save(const char *dir, const struct timage *im);
void timage_free(struct timage *im);
/* Inserts len bytes at off of segment s (grows it). */
int tseg_insert(struct tseg *s, size_t off, const uint8_t *data, size_t len);
/* Removes len bytes at off of segment s. */
void tseg_cut(struct tseg *s, size_t off, size_t len);

/* Offsets of the frames of a segment image, walking lengths from the header;
 * stops at the first frame that does not fit.  Returns the count. */
size_t tseg_frames(const uint8_t *buf, size_t len, size_t *off, size_t max);
/* Recomputes the CRC of the frame at f from its length field. */
void tframe_fix_crc(uint8_t *f);
/* Recomputes the CRC of a segment header. */
void tseg_fix_header_crc(uint8_t *hdr);
/* Field accessors of the frame at f. */
static inline uint32_t tframe_len(const uint8_t *f) { return vg_get_le32(f); }
static inline unsigned tframe_type(const uint8_t *f) { return f[4]; }
static inline uint64_t tframe_seq(const uint8_t *f) { return vg_get_le64(f + 8); }
static inline uint64_t tframe_time(const uint8_t *f) { return vg_get_le64(f + 16); }

/* Finds the frame holding seq in im: segment index and offset.  0 or -ENOENT. */
int timage_find_seq(const struct timage *im, uint64_t seq, size_t *segi, size_t *off);

/*
 * The forger: rewrites every previous-record hash, frame CRC and segment
 * header of im (in order) so the hash chain is consistent again after an
 * edit, and calls fn to rewrite each seal's note over the new chain head
 * (fn NULL: notes are kept and will no longer match).  Frames that do not
 * decode are copied unchanged.  Returns the number of seals rewritten.
 */
typedef int (*tseal_fn)(void *arg, const struct ledger_checkpoint *old, const uint8_t log_id[16],
			uint64_t seq, const uint8_t head[32], uint64_t time_ns, char *note,
			size_t cap);
int timage_rechain(struct timage *im, tseal_fn fn, void *arg);

/*
 * A tseal_fn: signs with signer; MACs with mac evolved to the old note's
 * epoch when that is later than mac's own.  The note claims the old epoch
 * (claim_own_epoch false) or the epoch of the key actually used (true).
 * With forge_key_id the note carries key_id instead of the signer's.
 */
struct tforger {
	struct ledger_signer signer;
	struct ledger_mackey mac;
	bool claim_own_epoch;
	bool forge_key_id;
	uint8_t key_id[4];
};
int tforger_init(struct tforger *f, const char *signing_spec, const char *mac_spec);
void tforger_release(struct tforger *f);
int tforger_seal(void *arg, const struct ledger_checkpoint *old, const uint8_t log_id[16],
		 uint64_t seq, const uint8_t head[32], uint64_t time_ns, char *note, size_t cap);

/* A small deterministic PRNG (xorshift64*) for reproducible tests. */
static inline uint64_t trand(uint64_t *s)
{
	uint64_t x = *s ? *s : 0x9e3779b97f4a7c15ull;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*s = x;
	return x * 0x2545f4914f6cdd1dull;
}

#endif
