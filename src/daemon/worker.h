/*
 * worker.h - the worker threads: each normalizes, correlates, decides and
 * appends the frames of the connections assigned to it, in order (each
 * connection is served by one worker, so its events keep their order).
 *
 * The loop thread pushes jobs; finished jobs come back to it through the
 * callback given to vd_workers_new, in the order each worker finished them.
 * push is thread-safe; everything else belongs to the loop thread.
 */
#ifndef VIGIL_DAEMON_WORKER_H
#define VIGIL_DAEMON_WORKER_H

#include <stddef.h>
#include <stdint.h>

#include "daemon.h"

struct event_base;
struct vd_conn;
struct vd_reply;
struct vd_workers;

/* One frame for a worker, and its result.  The connection owns it until
 * it is pushed, the workers until the done callback gets it back. */
struct vd_job {
	struct vd_job *next;
	struct vd_conn *conn;	/* kept alive while jobs are in flight */
	struct vd_reply *reply; /* the reply slot in the connection's queue */
	unsigned kind, flags;
	int stage_fd; /* >= 0: the worker's own duplicate of the hook's socket, for a
			 staged answer (stage.c); the worker closes it */
	struct vd_peer peer;
	int rc;		      /* result: vd_ingest's */
	uint64_t seq;	      /* result: the appended seq, 0 for none */
	struct vd_answer ans; /* result: the worker's answer for the hook */
	uint32_t env_len;     /* data: the envelope text, then the payload, then NUL */
	size_t len;	      /* payload bytes */
	char data[];
};

/* n workers (0: one per CPU, at most VD_MAX_WORKERS); done gets each batch
 * of finished jobs (a list through next) on the loop thread.  0 or
 * -ENOMEM. */
int vd_workers_new(struct vd *d, unsigned n, struct event_base *base,
		   void (*done)(void *arg, struct vd_job *list), void *arg,
		   struct vd_workers **out);
/* Starts the threads; -EAGAIN when one cannot start. */
int vd_workers_start(struct vd_workers *w);
unsigned vd_workers_count(const struct vd_workers *w);
/* Queues j at worker i (i < count). */
void vd_workers_push(struct vd_workers *w, unsigned i, struct vd_job *j);
/* Lets every worker finish its queue, joins it, then hands what finished
 * to the done callback. NULL is fine. */
void vd_workers_stop(struct vd_workers *w);
/* Stops them if needed and frees w; NULL is fine. */
void vd_workers_free(struct vd_workers *w);

#endif /* VIGIL_DAEMON_WORKER_H */
