/*
 * ledger.h - vigil's append-only, tamper-evident ledger.
 *
 * The ledger is a directory of segment files holding a hash chain of framed
 * records, sealed by signed checkpoints (Ed25519) that also carry an HMAC made
 * with a key that evolves one way every epoch.  The on-disk format is
 * documented byte by byte at the top of format.c and in docs/ledger-format.md.
 *
 * Three roles, three entry points:
 *   - the writer (struct ledger): exactly one per directory, enforced with a
 *     lock; appends records from any thread, commits them in groups with one
 *     fdatasync per batch, reports which seq is durable, seals, rotates
 *     segments and keys, and cuts a torn tail on open (leaving a recovery
 *     record that says what was dropped);
 *   - the reader (struct ledger_reader): walks records in order for consumers
 *     (export, reindex, sinks); never writes;
 *   - the verifier (ledger_verify): checks everything offline, with the public
 *     key and optionally the MAC verification key and a trusted checkpoint.
 *
 * Errors: functions return 0 on success or a negative errno.  Functions that
 * take (char *err, size_t errcap) also write a one-line reason there.
 */
#ifndef VIGIL_LEDGER_H
#define VIGIL_LEDGER_H

#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define LEDGER_HASH_LEN 32
#define LEDGER_LOG_ID_LEN 16
#define LEDGER_MAX_PAYLOAD (16u * 1024 * 1024)
#define LEDGER_DEFAULT_SEGMENT_BYTES (64ull * 1024 * 1024)
#define LEDGER_DEFAULT_CHECKPOINT_MS 1000u
#define LEDGER_DEFAULT_CHECKPOINT_RECORDS 10000u
#define LEDGER_DEFAULT_HEARTBEAT_MS 60000u
#define LEDGER_DEFAULT_EPOCH_SECONDS 900u

enum ledger_rec_type {
	LEDGER_REC_EVENT = 1,	    /* canonical JSON of one event */
	LEDGER_REC_CHECKPOINT = 2,  /* signed note sealing the chain so far */
	LEDGER_REC_KEY_ROTATION = 3, /* JSON: the MAC key moved to a new epoch */
	LEDGER_REC_RECOVERY = 4,    /* JSON: what a crash recovery cut off */
	LEDGER_REC_HEARTBEAT = 5,   /* signed note written while idle */
	LEDGER_REC_RETENTION = 6,   /* JSON: segments that left by retention */
};

const char *ledger_rec_type_name(unsigned type);

/* ---- keys ------------------------------------------------------------------ */

/* An Ed25519 public key and its short identifiers. */
struct ledger_pubkey {
	uint8_t key[32];
	uint8_t key_id[4];    /* first 4 bytes of SHA-256(key), as in signed notes */
	char fingerprint[72]; /* "SHA256:" + 64 hex digits */
};

/*
 * A forward-secure MAC key: the key for `epoch`, where epoch e covers
 * [start_s + e*interval_s, start_s + (e+1)*interval_s).  The key for e+1 is
 * SHA-256("vigil-mac-evolve-v1" || key_e); old keys cannot be recovered from
 * newer ones.  The verification key an auditor keeps is the epoch-0 key.
 */
struct ledger_mackey {
	uint64_t start_s;
	uint64_t interval_s;
	uint64_t epoch;
	uint8_t key[32];
};

/* Text forms (one line each, so they fit an environment variable):
 *   vigil-ed25519-secret-v1:<64 hex>   signing key (seed)
 *   vigil-ed25519-public-v1:<64 hex>   public key
 *   vigil-mac-v1:<start_s>:<interval_s>:<epoch>:<64 hex>   MAC key */
int ledger_pubkey_parse(const char *text, size_t len, struct ledger_pubkey *out);
int ledger_pubkey_load(const char *path, struct ledger_pubkey *out, char *err, size_t errcap);
int ledger_mackey_parse(const char *text, size_t len, struct ledger_mackey *out);
/* Loads a MAC key from a secret spec (see vg_secret_load). */
int ledger_mackey_load(const char *spec, struct ledger_mackey *out, char *err, size_t errcap);
int ledger_mackey_format(const struct ledger_mackey *k, char *out, size_t cap);
/* Evolves k forward to epoch `to` (no-op when already there), wiping old keys. */
void ledger_mackey_evolve(struct ledger_mackey *k, uint64_t to);
/* The epoch a time falls in (0 for times before start). */
uint64_t ledger_mackey_epoch_of(const struct ledger_mackey *k, uint64_t time_ns);
void ledger_mackey_wipe(struct ledger_mackey *k);

/* Standard key file names inside a keys directory. */
#define LEDGER_SIGNING_KEY_FILE "signing.key"
#define LEDGER_PUBLIC_KEY_FILE "signing.pub"
#define LEDGER_MAC_KEY_FILE "mac.key"

struct ledger_keys_created {
	struct ledger_pubkey pub;
	struct ledger_mackey verify_key; /* epoch 0: hand it to the auditor */
	char signing_path[4096];
	char public_path[4096];
	char mac_path[4096];
};

/*
 * Creates a signing key pair and a MAC key (epoch 0 starting now, epochs of
 * epoch_s seconds) in keys_dir (created 0700; secret files 0600).  Refuses
 * with -EEXIST when keys exist, unless force.  The caller should print
 * out->verify_key and then wipe it (ledger_mackey_wipe).
 */
int ledger_keys_create(const char *keys_dir, uint64_t epoch_s, bool force,
		       struct ledger_keys_created *out, char *err, size_t errcap);

/* ---- writer ------------------------------------------------------------- */

/* I/O the writer performs, so tests can inject EIO, ENOSPC and short writes. */
struct ledger_io {
	int (*open)(const char *path, int flags, unsigned mode);
	long (*write)(int fd, const void *buf, size_t n); /* like write(2) */
	int (*fdatasync)(int fd);
	int (*ftruncate)(int fd, uint64_t size);
	int (*close)(int fd);
};

struct ledger_options {
	const char *dir;	 /* ledger directory; created 0700 if missing */
	const char *signing_key; /* secret spec of the signing key (required) */
	const char *mac_key;	 /* secret spec of the MAC key (required); a
				  * file: spec is rewritten as the key evolves */
	uint64_t segment_bytes;	 /* 0: LEDGER_DEFAULT_SEGMENT_BYTES */
	uint32_t checkpoint_ms;	 /* 0: default; seal this long after a record */
	uint32_t checkpoint_records; /* 0: default; or after this many records */
	int32_t heartbeat_ms;	 /* 0: default; <0 disables idle heartbeats */
	size_t max_pending_bytes; /* 0: 64 MiB; appenders wait past this */
	/* The head file (see "head file" below); NULL: <dir>.head, next to the
	 * ledger directory.  Every writer of a ledger must use the same one. */
	const char *head_file;
	const struct ledger_io *io; /* NULL: POSIX */
	/* Wall clock in ns; NULL: the real clock.  Tests move it across epochs. */
	uint64_t (*clock)(void *arg);
	void *clock_arg;
	/* Test hook: when set, the writer thread is not started; records are
	 * only written by ledger_flush().  Not for production. */
	bool manual_flush;
};

/* What opening found and repaired. */
struct ledger_open_info {
	bool created;		 /* a new ledger was started */
	bool recovered;		 /* a torn tail was cut */
	uint64_t recovered_segment;
	uint64_t recovered_offset; /* where the tail was cut */
	uint64_t dropped_bytes;
	uint64_t first_dropped_seq; /* 0 when no frame header was readable */
	uint64_t dropped_frames;   /* frames whose header was readable */
	bool sealed_tail;	   /* unsealed records found and sealed on open */
	uint64_t next_seq;
	/* What the ledger held when it was opened, before open appended
	 * anything (after cutting a torn tail). */
	uint64_t found_last_seq;
	/* The head file: what this writer (or the previous one) last vouched for. */
	enum ledger_head_state {
		LEDGER_HEAD_NONE,     /* no head file: nothing to compare with */
		LEDGER_HEAD_OK,	      /* verified with the MAC key */
		LEDGER_HEAD_BAD,      /* unreadable or its MAC does not verify */
	} head;
	uint64_t head_durable_seq; /* with LEDGER_HEAD_OK: what it said was durable */
	/* Records after the last seal that no seal and no head file vouch for:
	 * appended by someone else while no writer ran (or left by a write the
	 * writer never finished).  Recorded, never sealed as this writer's. */
	uint64_t unvouched_first, unvouched_last; /* 0, 0: none */
	/* Records the head file says were durable are gone: the ledger was cut
	 * (or deleted, or replaced by another one).  Recorded. */
	bool truncated;
	bool replaced;		   /* the ledger has another log id than the head file */
	uint64_t missing_first, missing_last; /* the seqs that are gone (when known) */
	bool rewritten;		   /* the record at the durable seq differs */
	char why[256];		   /* one line on what the checks found, or "" */
};

struct ledger;

/*
 * Opens (creating when missing) the ledger in opts->dir for writing.  Takes
 * the directory lock: a second writer gets -EBUSY and err names the holder.
 * Recovers a torn tail (info says what was cut) but refuses, with -EUCLEAN,
 * to cut damage that valid records follow: that is not a crash.
 */
int ledger_open(const struct ledger_options *opts, struct ledger **out,
		struct ledger_open_info *info, char *err, size_t errcap);

/*
 * Appends one record; thread-safe.  The record's time is the writer's clock
 * at append (made non-decreasing); events carry their own time in their
 * payload.  On success *seq is the record's sequence number; it is
 * durable once ledger_durable_seq() >= *seq.  May block while the pending
 * queue is full.  -EMSGSIZE for a payload over LEDGER_MAX_PAYLOAD, -EINVAL
 * for a type callers may not append (only EVENT and RETENTION are allowed).
 */
int ledger_append(struct ledger *l, unsigned type, const void *payload, size_t len,
		  uint64_t *seq);

/*
 * Waits until seq is durable (0), timeout_ms passes (-ETIMEDOUT; <0 waits
 * forever), or the writer hits an I/O error (that error, e.g. -ENOSPC; the
 * writer keeps the batch and retries).
 */
int ledger_wait_durable(struct ledger *l, uint64_t seq, int timeout_ms);

/* Appends a signed checkpoint now if anything is unsealed; waits for it to
 * be durable.  *seq (optional) receives the sealed seq. */
int ledger_seal(struct ledger *l, uint64_t *seq);

/* manual_flush mode only: writes and fdatasyncs everything pending. */
int ledger_flush(struct ledger *l);

struct ledger_status {
	uint64_t next_seq;
	uint64_t durable_seq;
	uint64_t sealed_seq;  /* last seq covered by an appended seal */
	uint64_t segment;
	uint64_t epoch;
	uint64_t checkpoints; /* seals appended by this writer */
	int last_error;	      /* 0, or the pending I/O error */
	uint8_t log_id[LEDGER_LOG_ID_LEN];
};
void ledger_status(struct ledger *l, struct ledger_status *st);

/* Seals anything unsealed, flushes, stops the writer, releases the lock and
 * frees l.  Returns the first error met (the ledger is closed regardless). */
int ledger_close(struct ledger *l);

/* ---- head file ------------------------------------------------------------ */

/*
 * The head file (head.c has the byte layout): 342 bytes of text naming the
 * log id, the last record known durable and the last record written, under
 * an HMAC of the MAC key.  The writer rewrites it before every batch; on
 * open it compares the ledger with it (see ledger_open_info).
 */
#define LEDGER_HEAD_LEN 342
struct ledger_head {
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	uint64_t durable_seq;
	uint8_t durable_hash[LEDGER_HASH_LEN];
	uint64_t written_seq;
	uint8_t written_hash[LEDGER_HASH_LEN];
	uint64_t epoch;
	uint8_t mac[32];
};
/* The default head file of a ledger directory: "<dir>.head". */
int ledger_head_path(const char *dir, char *out, size_t cap);
/* Parses a head file strictly (no MAC check); -EINVAL when malformed. */
int ledger_head_parse(const char *text, size_t len, struct ledger_head *h);
/* Reads and parses one (not following a symlink); -errno or -EINVAL. */
int ledger_head_read(const char *path, struct ledger_head *h);

/* ---- reader -------------------------------------------------------------- */

struct ledger_record {
	unsigned type;
	uint64_t seq;
	uint64_t time_ns;
	const uint8_t *prev_hash;
	const uint8_t *payload; /* valid until the next call */
	uint32_t payload_len;
	uint8_t hash[LEDGER_HASH_LEN]; /* this record's hash */
	uint64_t segment;
	uint64_t offset;
	uint32_t frame_len;
};

struct ledger_reader;

/* Opens a ledger directory for reading; does not lock or modify it. */
int ledger_reader_open(const char *dir, struct ledger_reader **out, char *err, size_t errcap);
/*
 * The same, positioned at the first record whose seq is >= from_seq (0 or
 * 1: the start; past the end: ledger_reader_next() returns 0).  Cheap
 * however long the ledger: segments are skipped by their headers and the
 * frames before from_seq in its segment by their lengths, unchecked.  A
 * damaged header or frame on the way is reported by ledger_reader_next().
 */
int ledger_reader_open_at(const char *dir, uint64_t from_seq, struct ledger_reader **out,
			  char *err, size_t errcap);
/*
 * What ledger_reader_next() returns for an incomplete record at the end of
 * the last bytes read: a frame a live writer has not finished, or a torn
 * tail (the writer's recovery cuts it; vigil verify reports it).
 */
#define LEDGER_E_SHORT_TAIL (-ENODATA)

/* 1 with a record, 0 at the end, LEDGER_E_SHORT_TAIL for an incomplete
 * record at the end, -EBADMSG for other damage (err says where in both).
 * Only checks framing; use ledger_verify() for integrity. */
int ledger_reader_next(struct ledger_reader *r, struct ledger_record *rec, char *err,
		       size_t errcap);
void ledger_reader_free(struct ledger_reader *r);

/* ---- checkpoints ------------------------------------------------------------ */

/*
 * A signed checkpoint, in the signed-note form of C2SP tlog-checkpoint:
 *
 *   vigil/ledger/<log id, 32 hex>
 *   <seq of the last record covered>
 *   <base64 hash of that record>
 *   time <ns>
 *   epoch <MAC key epoch>
 *   mac <64 hex: HMAC-SHA256(epoch key, the five lines above)>
 *
 *   — vigil <base64(key id || Ed25519 signature over the six lines above)>
 */
struct ledger_checkpoint {
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	uint64_t seq;
	uint8_t head[LEDGER_HASH_LEN];
	uint64_t time_ns;
	uint64_t epoch;
	uint8_t mac[32];
	uint8_t key_id[4];
	uint8_t sig[64];
};

#define LEDGER_CHECKPOINT_MAX 1024

/* Parses a note strictly (it must be exactly what the writer produces). */
int ledger_checkpoint_parse(const char *text, size_t len, struct ledger_checkpoint *out,
			    char *err, size_t errcap);
/* 0 when the signature verifies with pub; -EKEYREJECTED for another key id,
 * -EBADMSG for a bad signature. */
int ledger_checkpoint_check_sig(const struct ledger_checkpoint *cp,
				const struct ledger_pubkey *pub);
/* 0 when the MAC verifies with mac evolved to cp->epoch; -EBADMSG otherwise;
 * -ERANGE when mac's epoch is later than cp->epoch (key cannot go back). */
int ledger_checkpoint_check_mac(const struct ledger_checkpoint *cp,
				const struct ledger_mackey *mac);
/* Renders the note text into out; returns its length or -ENOSPC. */
int ledger_checkpoint_format(const struct ledger_checkpoint *cp, char *out, size_t cap);

/* Finds the newest checkpoint or heartbeat in the ledger (read-only). */
int ledger_latest_checkpoint(const char *dir, struct ledger_checkpoint *cp,
			     struct ledger_record *where, char *err, size_t errcap);

/* ---- verification ------------------------------------------------------------ */

enum ledger_verdict {
	LEDGER_OK = 0,
	LEDGER_TAMPERED = 1,
	LEDGER_INCOMPLETE = 2, /* unsealed tail (when required) or torn tail */
	LEDGER_ERROR = 3,      /* could not verify at all */
};

enum ledger_finding_kind {
	LF_SEGMENT_HEADER,    /* damaged or inconsistent segment header */
	LF_SEGMENT_FOREIGN,   /* a segment from another ledger (log id) */
	LF_SEGMENT_MISSING,   /* a gap in segment numbers */
	LF_SEGMENT_DUPLICATE, /* a segment present twice */
	LF_SEGMENT_ORDER,     /* segments swapped or renamed */
	LF_FRAME,	      /* bad length or framing */
	LF_CRC,		      /* checksum mismatch */
	LF_MODIFIED,	      /* a record's content changed after it was chained */
	LF_DELETED,	      /* records missing (seq gap) */
	LF_DUPLICATED,	      /* a record present twice */
	LF_REORDERED,	      /* records out of order */
	LF_INSERTED,	      /* a record that was not in the chain */
	LF_TIME_ORDER,	      /* time going backwards */
	LF_SIGNATURE_BAD,     /* checkpoint signature does not verify */
	LF_SIGNATURE_UNKNOWN_KEY, /* signed by a key other than the one given */
	LF_MAC_BAD,	      /* checkpoint MAC does not verify */
	LF_KEY_EPOCH,	      /* a key used outside its epoch */
	LF_CHECKPOINT_BAD,    /* checkpoint contents disagree with the chain */
	LF_TRUNCATED,	      /* shorter than a trusted checkpoint, or a later
			       * writer found records gone (a recovery record) */
	LF_REWRITTEN,	      /* differs from a trusted checkpoint */
	LF_TORN_TAIL,	      /* incomplete: bytes at the end that form no record */
	LF_UNSEALED,	      /* incomplete: records after the last checkpoint */
	LF_GAP,		      /* incomplete: seals further apart than --max-gap */
	LF_UNVOUCHED,	      /* incomplete: records a later writer found unsealed
			       * and did not vouch for (a recovery record says so) */
	LF__COUNT
};

const char *ledger_finding_name(enum ledger_finding_kind k);
/* True for kinds that mean tampering (exit 1) rather than incompleteness. */
bool ledger_finding_is_tamper(enum ledger_finding_kind k);

struct ledger_finding {
	enum ledger_finding_kind kind;
	uint64_t segment; /* 0 when not tied to a segment */
	uint64_t offset;
	uint64_t seq;	  /* 0 when unknown */
	uint64_t time_ns; /* 0 when unknown */
	char detail[240];
};

struct ledger_verify_options {
	const char *dir;
	const struct ledger_pubkey *pub; /* required */
	const struct ledger_mackey *mac; /* NULL: MACs are not checked */
	/* Trusted checkpoints (note texts) kept outside the machine. */
	const char *const *trusted;
	size_t ntrusted;
	bool require_sealed;  /* unsealed records make the verdict INCOMPLETE */
	uint64_t max_gap_s;   /* 0: no gap check */
	size_t max_findings;  /* 0: 1000 */
	/* Called now and then with bytes done and total; may be NULL. */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

struct ledger_verify_result {
	enum ledger_verdict verdict;
	char error[256]; /* set when verdict is LEDGER_ERROR */
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	bool have_log_id;
	uint64_t segments, first_segment, last_segment;
	uint64_t records, bytes;
	uint64_t first_seq, last_seq, first_time_ns, last_time_ns;
	/* The contiguous prefix with no finding, and the part of it sealed. */
	uint64_t valid_to_seq, valid_to_time_ns;
	uint64_t sealed_to_seq, sealed_to_time_ns;
	uint64_t seals, seals_signed_ok, seals_mac_ok;
	bool mac_checked;
	uint64_t first_epoch, last_epoch;
	uint64_t unsealed, unsealed_first_ns, unsealed_last_ns;
	uint64_t recoveries; /* recovery records seen (crashes the writer cut) */
	uint64_t unvouched;  /* records named by "unvouched" recovery records */
	uint64_t unvouched_ranges;
	uint64_t max_seal_gap_s;
	size_t ntrusted_ok;
	struct ledger_finding *findings;
	size_t nfindings;
	size_t findings_dropped;
};

/* Verifies the ledger; fills res (release with ledger_verify_result_release).
 * Returns 0 when verification ran (whatever the verdict), negative when it
 * could not run (res->error says why, verdict LEDGER_ERROR). */
int ledger_verify(const struct ledger_verify_options *opts, struct ledger_verify_result *res);
void ledger_verify_result_release(struct ledger_verify_result *res);

#endif /* VIGIL_LEDGER_H */
