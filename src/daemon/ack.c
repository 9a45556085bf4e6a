/*
 * ack.c - acknowledgements: waits for durability on its own thread so that
 * neither the loop nor the workers block on fdatasync.
 */
#include "ack.h"

#include "common.h"
#include "ledger.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <time.h>

struct vd_ack {
	struct ledger *l;
	struct event *ev_durable; /* wakes the loop thread... */
	void (*cb)(void *arg);	  /* ...which calls this */
	void *cb_arg;
	pthread_t th;
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint64_t target, durable; /* under mu */
	int err;		  /* under mu: the last ledger error, until read */
	bool stop;		  /* under mu */
	bool started;
};

static void on_durable(evutil_socket_t fd, short what, void *arg)
{
	struct vd_ack *a = arg;

	(void)fd, (void)what;
	a->cb(a->cb_arg);
}

int vd_ack_new(struct ledger *l, struct event_base *base, void (*on_durable_cb)(void *arg),
	       void *arg, struct vd_ack **out)
{
	struct vd_ack *a = vg_calloc(1, sizeof(*a));

	*out = NULL;
	if (!a)
		return -ENOMEM;
	a->cb = on_durable_cb;
	a->cb_arg = arg;
	a->l = l;
	pthread_mutex_init(&a->mu, NULL);
	pthread_cond_init(&a->cv, NULL);
	a->ev_durable = event_new(base, -1, 0, on_durable, a);
	if (!a->ev_durable) {
		vd_ack_free(a);
		return -ENOMEM;
	}
	*out = a;
	return 0;
}

/* Waits (unlocked) for the record after the durable one; called with mu
 * held, returns with it held. */
static void wait_next(struct vd_ack *a)
{
	uint64_t next = a->durable + 1;
	int rc;

	pthread_mutex_unlock(&a->mu);
	rc = ledger_wait_durable(a->l, next, 500);
	pthread_mutex_lock(&a->mu);
	if (rc == -ETIMEDOUT)
		return;
	if (rc == 0) {
		struct ledger_status ls;

		ledger_status(a->l, &ls);
		if (ls.durable_seq > a->durable)
			a->durable = ls.durable_seq;
	} else {
		struct timespec ts;

		a->err = rc;
		/* The writer retries; do not spin while it does. */
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += 100000000;
		if (ts.tv_nsec >= 1000000000)
			ts.tv_sec++, ts.tv_nsec -= 1000000000;
		event_active(a->ev_durable, 0, 0);
		pthread_cond_timedwait(&a->cv, &a->mu, &ts);
		return;
	}
	event_active(a->ev_durable, 0, 0);
}

static void *ack_main(void *arg)
{
	struct vd_ack *a = arg;

	pthread_mutex_lock(&a->mu);
	while (!a->stop) {
		if (a->target <= a->durable) {
			pthread_cond_wait(&a->cv, &a->mu);
			continue;
		}
		/* Wait for the next record, not the newest: an answer must not
		 * wait for a group commit that started after its own (a denied
		 * event's alert record is appended microseconds after it), so
		 * every commit that advances durability is acted on at once. */
		wait_next(a);
	}
	pthread_mutex_unlock(&a->mu);
	return NULL;
}

int vd_ack_start(struct vd_ack *a)
{
	if (pthread_create(&a->th, NULL, ack_main, a) != 0)
		return -EAGAIN;
	a->started = true;
	return 0;
}

void vd_ack_want(struct vd_ack *a, uint64_t seq)
{
	pthread_mutex_lock(&a->mu);
	if (seq > a->target) {
		a->target = seq;
		pthread_cond_signal(&a->cv);
	}
	pthread_mutex_unlock(&a->mu);
}

uint64_t vd_ack_durable(struct vd_ack *a, int *err)
{
	uint64_t v;

	pthread_mutex_lock(&a->mu);
	v = a->durable;
	*err = a->err;
	a->err = 0;
	pthread_mutex_unlock(&a->mu);
	return v;
}

uint64_t vd_ack_peek(struct vd_ack *a)
{
	uint64_t v;

	pthread_mutex_lock(&a->mu);
	v = a->durable;
	pthread_mutex_unlock(&a->mu);
	return v;
}

void vd_ack_raise(struct vd_ack *a, uint64_t seq)
{
	pthread_mutex_lock(&a->mu);
	if (seq > a->durable)
		a->durable = seq;
	pthread_mutex_unlock(&a->mu);
}

void vd_ack_stop(struct vd_ack *a)
{
	if (!a || !a->started)
		return;
	pthread_mutex_lock(&a->mu);
	a->stop = true;
	pthread_cond_signal(&a->cv);
	pthread_mutex_unlock(&a->mu);
	pthread_join(a->th, NULL);
	a->started = false;
}

void vd_ack_free(struct vd_ack *a)
{
	if (!a)
		return;
	vd_ack_stop(a);
	if (a->ev_durable)
		event_free(a->ev_durable);
	pthread_mutex_destroy(&a->mu);
	pthread_cond_destroy(&a->cv);
	vg_free(a);
}
