/*
 * writer_int.h - the writer's state, shared by writer.c (appending, group
 * commit, sealing, close) and writer_open.c (start-up: the lock, the keys,
 * the head file, the tail of the chain).  Not for use outside src/ledger/.
 */
#ifndef VIGIL_LEDGER_WRITER_INT_H
#define VIGIL_LEDGER_WRITER_INT_H

#include "ledger_int.h"

#include <pthread.h>

/* A new segment starts at byte `off` of the pending buffer. */
struct seg_break {
	size_t off;
	uint64_t seq_before; /* last seq written to the previous segment */
	struct seg_header hdr;
};

struct ledger {
	struct ledger_options o;
	char dir[4096];
	char mac_path[4096]; /* the MAC key file to rewrite, or "" */
	const struct ledger_io *io;
	int lock_fd;

	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* writer thread: work or stop */
	pthread_cond_t cv_done; /* waiters: durable progress, space, errors */
	pthread_t thread;
	bool thread_started, stop;

	struct hasher hs;
	struct ledger_signer signer;
	struct ledger_mackey mac;

	/* Chain state (under mu). */
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	uint64_t next_seq, last_time;
	uint8_t head[LEDGER_HASH_LEN];
	uint64_t seg_no, seg_bytes, seg_records;
	uint64_t unsealed, sealed_seq, checkpoints;
	uint64_t first_unsealed_mono, last_append_mono;

	/* Pending batch (under mu). */
	struct vbuf pending;
	uint64_t pending_last_seq;
	struct seg_break *breaks;
	size_t nbreaks, capbreaks;
	uint64_t mac_persist_after; /* persist the key once this seq is durable */

	/* Output file (writer thread, or open/close/flush callers). */
	int fd;
	uint64_t file_seg;
	uint64_t file_good; /* bytes of it that hold only whole, synced frames */

	uint64_t durable_seq;		       /* under mu */
	uint8_t durable_hash[LEDGER_HASH_LEN]; /* under mu: the hash of durable_seq */
	int err;			       /* under mu: pending I/O error, 0 when healthy */

	/* The head file (head.c): rewritten before each batch by whoever flushes. */
	char head_path[4200];
	int head_fd;
	bool head_warned;			   /* a failed head write was reported */
	uint8_t found_head_log[LEDGER_LOG_ID_LEN]; /* open: the head file's log id */
	int fatal; /* under mu: a failed batch could not be kept (see flush) */
};

/* The writer's wall clock: ledger_options.clock, or the system's. */
static inline uint64_t wall_now(const struct ledger *l)
{
	return l->o.clock ? l->o.clock(l->o.clock_arg) : vg_now_ns();
}

/*
 * Creates segment `h->segno` with its header, durably (written to a
 * temporary file, synced, renamed, the directory synced), and makes it the
 * output file (writer.c).
 */
int create_segment(struct ledger *l, const struct seg_header *h);

/*
 * Start-up (writer_open.c): everything ledger_open reads and repairs before
 * it appends.  Creates the directory, takes its lock, loads the keys, opens
 * the head file, loads the chain state from the tail (creating the first
 * segment of a new ledger, cutting a torn tail), compares the ledger with the
 * head file, and brings the MAC key to the ledger's epoch.  On success l's
 * chain state is the ledger's last valid record, the output file is open at
 * its end and info says what was found; nothing has been appended.  On
 * failure err says why; the caller frees l.
 */
int writer_load(struct ledger *l, const struct ledger_options *opts, struct ledger_open_info *info,
		char *err, size_t errcap);

#endif /* VIGIL_LEDGER_WRITER_INT_H */
