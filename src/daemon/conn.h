/*
 * conn.h - connections and replies: accepts hooks and CLI clients on the
 * unix socket, reads their frames, hands events to the workers and answers
 * status and control requests, and writes each reply in request order once
 * the event it answers is durable.
 *
 * Everything here runs on the loop thread.
 */
#ifndef VIGIL_DAEMON_CONN_H
#define VIGIL_DAEMON_CONN_H

#include <stdbool.h>
#include <stdint.h>

#include "daemon.h"

#include <jansson.h>

#define VD_MAX_CONNS 4096			/* concurrent connections */
#define VD_MAX_CONNS_PER_PEER 256		/* ...of one process (SO_PEERCRED pid) */
#define VD_CONN_MAX_INFLIGHT_BYTES (64u << 20) /* a connection is not read past this */
#define VD_HELD_BUDGET (64u << 20)		/* unfinished frames, all connections */

struct event_base;
struct vd_conns;
struct vd_job;

/* Accepts on the listening socket fd, which it owns from now on (closed on
 * failure too).  0 or -ENOMEM. */
int vd_conns_new(struct vd *d, struct event_base *base, int fd, struct vd_conns **out);
/* Stops accepting and reading: frames already read are still answered. */
void vd_conns_stop(struct vd_conns *cs);
/* Sends the replies now due: events up to durable are durable; with failed
 * set, the ones that are not get WIRE_FAILED (the hook spools). */
void vd_conns_durable(struct vd_conns *cs, uint64_t durable, bool failed);
/* Closes the connections past the client timeout (sent nothing, stopped in
 * a frame, or do not read their replies); from the 1 s timer. */
void vd_conns_tick(struct vd_conns *cs, uint64_t now);
/* The "connections" object of `vigil status`. */
json_t *vd_conns_status(const struct vd_conns *cs);
/* Takes the jobs the workers finished (a list through next, freed here)
 * and sends what is due. */
void vd_conns_done(struct vd_conns *cs, struct vd_job *list, uint64_t durable);
/* Closes every connection and the listener; NULL is fine.  Workers must
 * hold no job of them any more. */
void vd_conns_free(struct vd_conns *cs);

#endif /* VIGIL_DAEMON_CONN_H */
