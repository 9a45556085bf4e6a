/*
 * ack.h - acknowledgements: the thread that waits until appended events are
 * durable and wakes the event loop, so replies owed to hooks can be sent.
 *
 * Workers raise the target (vd_ack_want) after each append; the thread waits
 * on the ledger for the next record, then makes the loop call the callback
 * given to vd_ack_new.  The loop reads what is durable with vd_ack_durable or
 * vd_ack_peek.  All functions are thread-safe except new, start and free,
 * which belong to the loop thread.
 */
#ifndef VIGIL_DAEMON_ACK_H
#define VIGIL_DAEMON_ACK_H

#include <stdint.h>

struct event_base;
struct ledger;
struct vd_ack;

/* on_durable runs on the loop thread (base) whenever durability advanced or
 * the ledger reported an error.  0 or -ENOMEM. */
int vd_ack_new(struct ledger *l, struct event_base *base, void (*on_durable)(void *arg),
	       void *arg, struct vd_ack **out);
/* Starts the thread; -EAGAIN when it cannot. */
int vd_ack_start(struct vd_ack *a);
/* Asks the thread to wait until seq is durable (any thread). */
void vd_ack_want(struct vd_ack *a, uint64_t seq);
/* The highest durable seq; *err gets (and clears) the last ledger error. */
uint64_t vd_ack_durable(struct vd_ack *a, int *err);
/* The highest durable seq, the error left in place. */
uint64_t vd_ack_peek(struct vd_ack *a);
/* Records that everything up to seq is durable (after a seal). */
void vd_ack_raise(struct vd_ack *a, uint64_t seq);
/* Stops and joins the thread; harmless when it never started. */
void vd_ack_stop(struct vd_ack *a);
/* Stops the thread if needed and frees a; NULL is fine. */
void vd_ack_free(struct vd_ack *a);

#endif /* VIGIL_DAEMON_ACK_H */
