/*
 * indexer.h - the index thread: writes index.db from the records the
 * workers append, once they are durable, and catches up from the ledger
 * whenever records were left out (queue full, no memory, a failed
 * transaction) or the index could not be opened.
 *
 * vd_indexer_queue and vd_indexer_status are thread-safe; new, start, stop
 * and free belong to the loop thread.
 */
#ifndef VIGIL_DAEMON_INDEXER_H
#define VIGIL_DAEMON_INDEXER_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * What the records waiting for the index may hold, queued and being indexed
 * together, as counted: each record's JSON, and the parsed event it keeps
 * (VD_INDEX_EV_FACTOR times the JSON's length: jansson's objects measured
 * 5.1 to 7.2 times the serialized size over the Claude Code capture).  The
 * index keeps up with the workers (a batch gathers for 20 ms), so the queue
 * only grows while the index thread falls behind (CPU starvation, a slow
 * disk); past VD_INDEX_Q_EV_BYTES records are queued without their event
 * (the index thread parses the JSON again, a seventh of the memory), past
 * VD_INDEX_Q_MAX_BYTES they are left out and the index catches up from the
 * ledger, which loses nothing but costs reading them back.  64 MiB hold
 * some 2,000 events with their objects and 37,000 more as JSON, over 10 s
 * of vigild's top rate.
 */
#define VD_INDEX_Q_MAX_BYTES (64u << 20)
#define VD_INDEX_Q_EV_BYTES (16u << 20)
#define VD_INDEX_EV_FACTOR 7u

struct event_base;
struct ledger;
struct vd_indexer;

/* ledger_dir and index_path are not copied: they outlive the indexer.
 * on_synced runs once on the loop thread (base) after the start-up
 * catch-up, whether or not the index could be opened.  0 or -ENOMEM. */
int vd_indexer_new(struct ledger *l, const char *ledger_dir, const char *index_path,
		   struct event_base *base, void (*on_synced)(void *arg), void *arg,
		   struct vd_indexer **out);
/* Starts the thread; -EAGAIN when it cannot. */
int vd_indexer_start(struct vd_indexer *x);
/* Queues the record seq (json: its len bytes, copied; ev: the event it was
 * serialized from, referenced, or NULL) for indexing once durable.  Callers
 * queue in seq order.  Past VD_INDEX_Q_EV_BYTES the event is not kept (the
 * thread parses json); past VD_INDEX_Q_MAX_BYTES, or without memory, the
 * record is left out and the thread fills the gap from the ledger. */
void vd_indexer_queue(struct vd_indexer *x, uint64_t seq, uint64_t time_ns, const char *json,
		      size_t len, json_t *ev);

struct vd_indexer_status {
	uint64_t last_seq; /* the highest seq indexed */
	size_t pending;	   /* records queued or being indexed */
	size_t bytes;	   /* what they hold, as counted (VD_INDEX_Q_MAX_BYTES) */
	uint64_t left_out; /* records not queued for room since start (read back from the ledger) */
	bool synced;	   /* the start-up catch-up ran */
	char error[512];   /* the last error, "" once a commit succeeded */
};
void vd_indexer_status(struct vd_indexer *x, struct vd_indexer_status *st);
/* Stops and joins the thread once it indexed what was queued; harmless
 * when it never started. */
void vd_indexer_stop(struct vd_indexer *x);
/* Stops the thread if needed and frees x; NULL is fine. */
void vd_indexer_free(struct vd_indexer *x);

#endif /* VIGIL_DAEMON_INDEXER_H */
