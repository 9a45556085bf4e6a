/*
 * worker.c - the worker threads and the queue of finished jobs back to the
 * event loop.
 */
#include "worker.h"

#include "common.h"
#include "rules.h"
#include "wire.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdbool.h>
#include <unistd.h>

struct vd_worker {
	struct vd_workers *ws;
	pthread_t th;
	struct rules_result rr; /* this worker's evaluation scratch */
	pthread_mutex_t mu;
	pthread_cond_t cv;
	struct vd_job *head, *tail; /* under mu */
	bool stop;		    /* under mu */
	bool started;
};

struct vd_workers {
	struct vd *d;
	struct vd_worker w[VD_MAX_WORKERS];
	unsigned n;
	void (*done)(void *arg, struct vd_job *list);
	void *done_arg;
	struct event *ev_done;	 /* wakes the loop thread for finished jobs */
	pthread_mutex_t done_mu; /* guards done_head/tail */
	struct vd_job *done_head, *done_tail;
};

static void finished(struct vd_workers *ws, struct vd_job *j)
{
	pthread_mutex_lock(&ws->done_mu);
	if (ws->done_tail)
		ws->done_tail->next = j;
	else
		ws->done_head = j;
	ws->done_tail = j;
	pthread_mutex_unlock(&ws->done_mu);
	event_active(ws->ev_done, 0, 0);
}

static int stage_send(void *ctx, const struct vd_answer *ans)
{
	const struct vd_job *j = ctx;

	return vd_stage_send(j->stage_fd, ans);
}

static void *worker_main(void *arg)
{
	struct vd_worker *w = arg;
	struct vd *d = w->ws->d;
	struct wire_envelope env;

	for (;;) {
		struct vd_job *j;

		pthread_mutex_lock(&w->mu);
		while (!w->head && !w->stop)
			pthread_cond_wait(&w->cv, &w->mu);
		j = w->head;
		if (j) {
			w->head = j->next;
			if (!w->head)
				w->tail = NULL;
		}
		pthread_mutex_unlock(&w->mu);
		if (!j)
			break; /* stopped, and nothing left */
		j->next = NULL;
		/* The loop checked the envelope; parsing it again here is cheaper
		 * than carrying the 8 KiB struct through the queue. */
		if (wire_env_parse(j->data, j->env_len, &env) < 0) {
			j->rc = -EPROTO;
		} else {
			struct vd_stage st = { .send = stage_send, .ctx = j };

			j->rc = vd_ingest(d, j->kind, j->flags, &env, j->data + j->env_len, j->len,
					  false, &j->peer, &w->rr, &j->ans, &j->seq,
					  j->stage_fd >= 0 ? &st : NULL);
		}
		if (j->stage_fd >= 0) {
			close(j->stage_fd);
			j->stage_fd = -1;
		}
		finished(w->ws, j);
	}
	return NULL;
}

/* Finished jobs to the done callback (loop thread). */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct vd_workers *ws = arg;
	struct vd_job *j;

	(void)fd, (void)what;
	pthread_mutex_lock(&ws->done_mu);
	j = ws->done_head;
	ws->done_head = ws->done_tail = NULL;
	pthread_mutex_unlock(&ws->done_mu);
	if (j)
		ws->done(ws->done_arg, j);
}

int vd_workers_new(struct vd *d, unsigned n, struct event_base *base,
		   void (*done)(void *arg, struct vd_job *list), void *arg,
		   struct vd_workers **out)
{
	struct vd_workers *ws = vg_calloc(1, sizeof(*ws));

	*out = NULL;
	if (!ws)
		return -ENOMEM;
	if (!n) {
		long cpus = sysconf(_SC_NPROCESSORS_ONLN);

		n = cpus > 0 ? (unsigned)cpus : 1;
	}
	ws->n = n > VD_MAX_WORKERS ? VD_MAX_WORKERS : n;
	ws->d = d;
	ws->done = done;
	ws->done_arg = arg;
	pthread_mutex_init(&ws->done_mu, NULL);
	for (unsigned i = 0; i < ws->n; i++) {
		struct vd_worker *w = &ws->w[i];

		w->ws = ws;
		rules_result_init(&w->rr);
		pthread_mutex_init(&w->mu, NULL);
		pthread_cond_init(&w->cv, NULL);
	}
	ws->ev_done = event_new(base, -1, 0, on_done, ws);
	if (!ws->ev_done) {
		vd_workers_free(ws);
		return -ENOMEM;
	}
	*out = ws;
	return 0;
}

int vd_workers_start(struct vd_workers *ws)
{
	for (unsigned i = 0; i < ws->n; i++) {
		struct vd_worker *w = &ws->w[i];

		if (pthread_create(&w->th, NULL, worker_main, w) != 0)
			return -EAGAIN;
		w->started = true;
	}
	return 0;
}

unsigned vd_workers_count(const struct vd_workers *ws)
{
	return ws->n;
}

void vd_workers_push(struct vd_workers *ws, unsigned i, struct vd_job *j)
{
	struct vd_worker *w = &ws->w[i];

	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

void vd_workers_stop(struct vd_workers *ws)
{
	if (!ws)
		return;
	for (unsigned i = 0; i < ws->n; i++) {
		struct vd_worker *w = &ws->w[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		w->started = false;
	}
	on_done(-1, 0, ws);
}

void vd_workers_free(struct vd_workers *ws)
{
	if (!ws)
		return;
	vd_workers_stop(ws);
	if (ws->ev_done)
		event_free(ws->ev_done);
	for (unsigned i = 0; i < ws->n; i++) {
		rules_result_release(&ws->w[i].rr);
		pthread_mutex_destroy(&ws->w[i].mu);
		pthread_cond_destroy(&ws->w[i].cv);
	}
	pthread_mutex_destroy(&ws->done_mu);
	vg_free(ws);
}
