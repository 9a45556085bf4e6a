/*
 * daemon.c - vigild's event loop: the unix socket, connections and their
 * acknowledgements, the ack and index threads, timers, start and shutdown.
 */
#include "config.h"
#include "daemon.h"
#include "idx.h"
#include "notify.h"
#include "vigil_config.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VD_MAX_ACKS_PER_CONN 4096 /* a pipelining sender stops being read past this */
#define VD_DRAIN_EVERY_NS (5ull * 1000000000ull)
#define VD_EXPIRE_EVERY_NS (5ull * 1000000000ull)
#define VD_INDEX_BATCH 5000    /* records per index transaction, at most... */
#define VD_INDEX_GATHER_MS 20L /* ...or what arrived in this long */

/* One reply a connection owes, in request order. */
struct vd_ack {
	struct vd_ack *next;
	uint64_t seq; /* reply once this is durable; 0: reply now */
	bool ready;   /* false while a worker still handles the frame */
	unsigned status, exit_code;
	char *out, *err; /* stdout and stderr bytes for the hook */
	size_t out_len, err_len;
};

struct vd_conn {
	struct vd *d;
	struct vd_conn *prev, *next;
	struct bufferevent *bev;
	struct vd_peer peer;
	struct vd_ack *head, *tail;
	size_t nacks;
	unsigned worker;       /* serves every frame of this connection */
	size_t inflight;       /* jobs at a worker; the struct outlives the socket */
	size_t inflight_bytes; /* their payload bytes */
	bool closing;	       /* close once the replies are written */
	bool shutdown;	       /* stop the daemon once the reply is written */
	bool gone;	       /* socket closed; freed when inflight drops to 0 */
};

/* ---- replies ------------------------------------------------------------------ */

/* The one place a reply is freed, with everything it owns. */
static void ack_free(struct vd_ack *a)
{
	vg_free(a->out);
	vg_free(a->err);
	vg_free(a);
}

static void conn_release(struct vd_conn *c)
{
	while (c->head) {
		struct vd_ack *a = c->head;

		c->head = a->next;
		ack_free(a);
	}
	vg_free(c);
}

/* Closes the socket and unlinks the connection; the struct itself goes when
 * no worker holds a job of it any more. */
static void conn_free(struct vd_conn *c)
{
	struct vd *d = c->d;

	if (c->gone)
		return;
	c->gone = true;
	if (c->prev)
		c->prev->next = c->next;
	else
		d->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	d->st.conns_now--;
	if (!c->inflight)
		conn_release(c);
}

static int conn_push(struct vd_conn *c, uint64_t seq, unsigned status, unsigned exit_code,
		     char *out, size_t out_len)
{
	struct vd_ack *a = vg_calloc(1, sizeof(*a));

	if (!a) {
		vg_free(out);
		return -ENOMEM;
	}
	a->seq = seq;
	a->ready = true;
	a->status = status;
	a->exit_code = exit_code;
	a->out = out;
	a->out_len = out_len;
	if (c->tail)
		c->tail->next = a;
	else
		c->head = a;
	c->tail = a;
	c->nacks++;
	return 0;
}

static void conn_write_ack(struct vd_conn *c, const struct vd_ack *a, unsigned status)
{
	uint8_t hdr[WIRE_HDR_LEN];
	size_t n = a->out_len > WIRE_MAX_OUT ? WIRE_MAX_OUT : a->out_len;
	size_t e = a->err_len > WIRE_MAX_OUT ? WIRE_MAX_OUT : a->err_len;

	/* A failed reply carries no decision: the hook falls back to its mode. */
	if (status != WIRE_OK)
		n = e = 0;
	wire_ack_hdr_put(hdr, status, status == WIRE_OK ? a->exit_code : 0, (uint32_t)n,
			 (uint32_t)e);
	bufferevent_write(c->bev, hdr, sizeof(hdr));
	if (n)
		bufferevent_write(c->bev, a->out, n);
	if (e)
		bufferevent_write(c->bev, a->err, e);
	if (status == WIRE_OK)
		VD_STAT_ADD(c->d, acked, 1);
}

/* Sends every reply at the head of the queue whose event is durable; with
 * failed set, the ones that are not get WIRE_FAILED (the hook spools). */
static void conn_flush(struct vd_conn *c, uint64_t durable, bool failed)
{
	if (c->gone)
		return;
	while (c->head && c->head->ready && (c->head->seq <= durable || failed)) {
		struct vd_ack *a = c->head;
		unsigned st = a->seq <= durable ? a->status : WIRE_FAILED;

		if (st == WIRE_FAILED)
			VD_STAT_ADD(c->d, failed, 1);
		conn_write_ack(c, a, st);
		c->head = a->next;
		if (!c->head)
			c->tail = NULL;
		c->nacks--;
		ack_free(a);
	}
	if (c->nacks < VD_MAX_ACKS_PER_CONN && c->inflight_bytes < VD_CONN_MAX_INFLIGHT_BYTES &&
	    !c->closing)
		bufferevent_enable(c->bev, EV_READ);
}

static uint64_t durable_now(struct vd *d, int *err)
{
	uint64_t v;

	pthread_mutex_lock(&d->ack_mu);
	v = d->ack_durable;
	*err = d->ack_err;
	d->ack_err = 0;
	pthread_mutex_unlock(&d->ack_mu);
	return v;
}

static uint64_t durable_peek(struct vd *d)
{
	uint64_t v;

	pthread_mutex_lock(&d->ack_mu);
	v = d->ack_durable;
	pthread_mutex_unlock(&d->ack_mu);
	return v;
}

static void on_durable(evutil_socket_t fd, short what, void *arg)
{
	struct vd *d = arg;
	int err = 0;
	uint64_t durable = durable_now(d, &err);

	(void)fd, (void)what;
	if (err)
		vg_err("the ledger cannot make events durable: %s; hooks spool their events "
		       "until it can",
		       strerror(-err));
	for (struct vd_conn *c = d->conns; c; c = c->next)
		conn_flush(c, durable, err != 0);
	vd_alerts_durable(d, durable);
}

/* ---- the ack thread ----------------------------------------------------------- */

static void *ack_main(void *arg)
{
	struct vd *d = arg;

	pthread_mutex_lock(&d->ack_mu);
	while (!d->ack_stop) {
		uint64_t target = d->ack_target;
		int rc;

		if (target <= d->ack_durable) {
			pthread_cond_wait(&d->ack_cv, &d->ack_mu);
			continue;
		}
		/* Wait for the next record, not the newest: an answer must not
		 * wait for a group commit that started after its own (a denied
		 * event's alert record is appended microseconds after it), so
		 * every commit that advances durability is acted on at once. */
		{
			uint64_t next = d->ack_durable + 1;

			pthread_mutex_unlock(&d->ack_mu);
			rc = ledger_wait_durable(d->l, next, 500);
		}
		pthread_mutex_lock(&d->ack_mu);
		if (rc == -ETIMEDOUT)
			continue;
		if (rc == 0) {
			struct ledger_status ls;

			ledger_status(d->l, &ls);
			if (ls.durable_seq > d->ack_durable)
				d->ack_durable = ls.durable_seq;
		} else {
			struct timespec ts;

			d->ack_err = rc;
			/* The writer retries; do not spin while it does. */
			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += 100000000;
			if (ts.tv_nsec >= 1000000000)
				ts.tv_sec++, ts.tv_nsec -= 1000000000;
			event_active(d->ev_durable, 0, 0);
			pthread_cond_timedwait(&d->ack_cv, &d->ack_mu, &ts);
			continue;
		}
		event_active(d->ev_durable, 0, 0);
	}
	pthread_mutex_unlock(&d->ack_mu);
	return NULL;
}

/* ---- the index thread --------------------------------------------------------- */

static void idx_set_error(struct vd *d, const char *msg)
{
	pthread_mutex_lock(&d->idxq.mu);
	snprintf(d->idx_error, sizeof(d->idx_error), "%s", msg);
	pthread_mutex_unlock(&d->idxq.mu);
}

static void idx_catch_up(struct vd *d, struct idx *ix)
{
	char err[512];
	uint64_t last = 0, from;
	int rc;

	/* Records left out while later ones were indexed: from the lowest one
	 * on; else whatever follows the last indexed record. */
	pthread_mutex_lock(&d->idxq.mu);
	from = d->idx_gap_from;
	d->idx_gap_from = 0;
	pthread_mutex_unlock(&d->idxq.mu);
	if (from)
		rc = idx_sync_ledger_from(ix, d->ledger_dir, from, NULL, NULL, err, sizeof(err));
	else
		rc = idx_sync_ledger(ix, d->ledger_dir, NULL, NULL, err, sizeof(err));

	/* A sync can stop at a frame the writer is still writing: harmless,
	 * the records after it reach the index through the queue. */
	if (rc < 0 && rc != -EBADMSG) {
		vg_err("index: catching up from the ledger failed: %s", err);
		idx_set_error(d, err);
	}
	idx_last_seq(ix, &last);
	pthread_mutex_lock(&d->idxq.mu);
	d->idx_last = last;
	pthread_mutex_unlock(&d->idxq.mu);
}

static int rec_cmp(const void *a, const void *b)
{
	const struct vd_rec *x = *(struct vd_rec *const *)a, *y = *(struct vd_rec *const *)b;

	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* Workers append concurrently, so records arrive nearly but not exactly in
 * seq order; the index pairs tool calls in seq order.  Returns the sorted
 * list and its highest seq. */
static struct vd_rec *sort_recs(struct vd_rec *list, uint64_t *max)
{
	struct vd_rec **a, *r;
	size_t n = 0, i;

	*max = 0;
	for (r = list; r; r = r->next)
		n++;
	if (n < 2 || !(a = vg_malloc(n * sizeof(*a)))) {
		for (r = list; r; r = r->next)
			*max = r->seq > *max ? r->seq : *max;
		return list; /* unsorted without memory: the index copes, if less well */
	}
	for (i = 0, r = list; r; r = r->next)
		a[i++] = r;
	qsort(a, n, sizeof(*a), rec_cmp);
	for (i = 0; i + 1 < n; i++)
		a[i]->next = a[i + 1];
	a[n - 1]->next = NULL;
	list = a[0];
	*max = a[n - 1]->seq;
	vg_free(a);
	return list;
}

/* The index holds only durable records: after a crash it must not know of
 * events the ledger lost with its torn tail. */
static int wait_durable(struct vd *d, uint64_t seq)
{
	int rc;

	if (seq <= d->idx_durable)
		return 0;
	while ((rc = ledger_wait_durable(d->l, seq, 1000)) == -ETIMEDOUT)
		;
	if (rc == 0)
		d->idx_durable = seq;
	return rc;
}

static void *idx_main(void *arg)
{
	struct vd *d = arg;
	struct idx *ix = NULL;
	char err[512];
	bool stop = false, first = true;

	while (!stop) {
		struct vd_rec *list;
		bool lagging;

		if (!ix) {
			if (idx_open(d->index_path, IDX_CREATE, &ix, err, sizeof(err)) < 0) {
				vg_err("index: %s; events are still recorded in the ledger, run "
				       "'vigil reindex' once this is fixed",
				       err);
				idx_set_error(d, err);
				ix = NULL;
			} else {
				idx_catch_up(d, ix);
			}
			if (first) {
				first = false;
				pthread_mutex_lock(&d->idxq.mu);
				d->idx_synced = true;
				pthread_mutex_unlock(&d->idxq.mu);
				event_active(d->ev_synced, 0, 0);
			}
		}
		pthread_mutex_lock(&d->idxq.mu);
		if (!d->idxq.head && !d->idx_stop && !d->idx_lagging) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_sec += ix ? 5 : 2;
			pthread_cond_timedwait(&d->idxq.cv, &d->idxq.mu, &ts);
		}
		/* Let a batch gather: a transaction per handful of records would
		 * cost more than the records.  Bounded, so an event shows up in
		 * queries within VD_INDEX_GATHER_MS. */
		if (d->idxq.head && !d->idx_stop && d->idxq.count < VD_INDEX_BATCH) {
			struct timespec ts;

			clock_gettime(CLOCK_REALTIME, &ts);
			ts.tv_nsec += VD_INDEX_GATHER_MS * 1000000L;
			if (ts.tv_nsec >= 1000000000L)
				ts.tv_sec++, ts.tv_nsec -= 1000000000L;
			while (d->idxq.count < VD_INDEX_BATCH && !d->idx_stop &&
			       pthread_cond_timedwait(&d->idxq.cv, &d->idxq.mu, &ts) == 0)
				;
		}
		stop = d->idx_stop;
		lagging = d->idx_lagging;
		d->idx_lagging = false;
		/* Taken under the same lock, so the status never sees the records
		 * neither queued nor busy. */
		list = d->idxq.head;
		d->idx_busy = d->idxq.count;
		d->idxq.head = d->idxq.tail = NULL;
		d->idxq.bytes = d->idxq.count = 0;
		pthread_mutex_unlock(&d->idxq.mu);
		if (!ix) {
			/* The catch-up after the index opens will index them. */
			vd_rec_free_list(list);
			pthread_mutex_lock(&d->idxq.mu);
			d->idx_busy = 0;
			pthread_mutex_unlock(&d->idxq.mu);
			continue;
		}
		if (list) {
			uint64_t last = 0, max;
			int rc;

			list = sort_recs(list, &max);
			if (wait_durable(d, max) < 0) {
				/* The writer retries; the catch-up reads what it made
				 * durable. */
				vd_rec_free_list(list);
				pthread_mutex_lock(&d->idxq.mu);
				d->idx_lagging = true;
				d->idx_busy = 0;
				pthread_mutex_unlock(&d->idxq.mu);
				continue;
			}
			rc = idx_begin(ix);

			for (struct vd_rec *r = list; r && rc == 0; r = r->next) {
				rc = r->ev ? idx_add_event(ix, r->seq, r->time_ns, r->ev, r->json,
							   r->len, err, sizeof(err))
					   : idx_add(ix, r->seq, r->time_ns, r->json, r->len, err,
						     sizeof(err));
				last = r->seq;
			}
			if (rc == 0)
				rc = idx_commit(ix);
			if (rc < 0) {
				idx_rollback(ix);
				vg_err("index: %s; will catch up from the ledger", err);
				idx_set_error(d, err);
				lagging = true;
				pthread_mutex_lock(&d->idxq.mu);
				if (!d->idx_gap_from || list->seq < d->idx_gap_from)
					d->idx_gap_from = list->seq;
				pthread_mutex_unlock(&d->idxq.mu);
			} else {
				pthread_mutex_lock(&d->idxq.mu);
				if (last > d->idx_last)
					d->idx_last = last;
				d->idx_error[0] = '\0';
				pthread_mutex_unlock(&d->idxq.mu);
			}
			vd_rec_free_list(list);
		}
		if (lagging)
			idx_catch_up(d, ix);
		pthread_mutex_lock(&d->idxq.mu);
		d->idx_busy = 0;
		pthread_mutex_unlock(&d->idxq.mu);
	}
	/* Whatever is still queued was taken above before stop was seen. */
	idx_close(ix);
	return NULL;
}

/* ---- workers ---------------------------------------------------------------------- */

static void *worker_main(void *arg)
{
	struct vd_worker *w = arg;
	struct vd *d = w->d;
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
		if (wire_env_parse(j->data, j->env_len, &env) < 0)
			j->rc = -EPROTO;
		else
			j->rc = vd_ingest(d, j->kind, j->flags, &env, j->data + j->env_len, j->len,
					  false, &j->peer, &w->rr, &j->ans, &j->seq);
		pthread_mutex_lock(&d->done_mu);
		if (d->done_tail)
			d->done_tail->next = j;
		else
			d->done_head = j;
		d->done_tail = j;
		pthread_mutex_unlock(&d->done_mu);
		event_active(d->ev_done, 0, 0);
	}
	return NULL;
}

static void worker_push(struct vd_worker *w, struct vd_job *j)
{
	pthread_mutex_lock(&w->mu);
	if (w->tail)
		w->tail->next = j;
	else
		w->head = j;
	w->tail = j;
	pthread_cond_signal(&w->cv);
	pthread_mutex_unlock(&w->mu);
}

/* Lets every worker finish its queue, then joins it. */
static void stop_workers(struct vd *d)
{
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct vd_worker *w = &d->workers[i];

		if (!w->started)
			continue;
		pthread_mutex_lock(&w->mu);
		w->stop = true;
		pthread_cond_signal(&w->cv);
		pthread_mutex_unlock(&w->mu);
		pthread_join(w->th, NULL);
		w->started = false;
	}
}

/* Results from the workers: fill in the reply slots and send what is due. */
static void on_done(evutil_socket_t fd, short what, void *arg)
{
	struct vd *d = arg;
	uint64_t durable = durable_peek(d);
	struct vd_job *j;

	(void)fd, (void)what;
	pthread_mutex_lock(&d->done_mu);
	j = d->done_head;
	d->done_head = d->done_tail = NULL;
	pthread_mutex_unlock(&d->done_mu);
	while (j) {
		struct vd_job *next = j->next;
		struct vd_conn *c = j->conn;

		if (j->rc < 0) {
			vg_err("cannot record an event: %s", strerror(-j->rc));
			j->ack->status = WIRE_FAILED;
			j->ack->seq = 0;
			VD_STAT_ADD(d, failed, 1);
		} else {
			j->ack->seq = j->seq; /* 0 when nothing was appended */
			j->ack->out = j->ans.out;
			j->ack->out_len = j->ans.out_len;
			j->ack->err = j->ans.err;
			j->ack->err_len = j->ans.err_len;
			j->ack->exit_code = j->ans.exit_code;
			memset(&j->ans, 0, sizeof(j->ans));
		}
		vd_answer_release(&j->ans);
		j->ack->ready = true;
		c->inflight--;
		c->inflight_bytes -= j->len;
		if (c->gone) {
			if (!c->inflight)
				conn_release(c);
		} else {
			conn_flush(c, durable, false);
		}
		vg_free(j);
		j = next;
	}
}

/* ---- requests ----------------------------------------------------------------- */

static char *status_json(struct vd *d, size_t *len)
{
	struct ledger_status ls;
	uint64_t idx_last;
	size_t pending;
	bool synced;
	char err[512];
	json_t *j;

	ledger_status(d->l, &ls);
	pthread_mutex_lock(&d->idxq.mu);
	idx_last = d->idx_last;
	synced = d->idx_synced;
	pending = d->idxq.count + d->idx_busy;
	memcpy(err, d->idx_error, sizeof(err));
	pthread_mutex_unlock(&d->idxq.mu);
	j = json_pack("{s:s, s:I, s:s, s:s, s:I,"
		      " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:s?},"
		      " s:{s:I, s:I, s:b, s:s?}, s:{s:b},"
		      " s:{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}}",
		      "version", VIGIL_VERSION, "pid", (json_int_t)getpid(), "state_dir",
		      d->cfg.state_dir, "socket", d->cfg.socket_path, "uptime_s",
		      (json_int_t)((vg_mono_ns() - d->started_ns) / 1000000000ull), "ledger",
		      "next_seq", (json_int_t)ls.next_seq, "durable_seq", (json_int_t)ls.durable_seq,
		      "last_event_seq", (json_int_t)VD_STAT_GET(d, last_event_seq),
		      "sealed_seq", (json_int_t)ls.sealed_seq, "segment", (json_int_t)ls.segment,
		      "checkpoints", (json_int_t)ls.checkpoints, "error",
		      ls.last_error ? strerror(-ls.last_error) : NULL, "index", "last_seq",
		      (json_int_t)idx_last, "pending", (json_int_t)pending, "synced", synced, "error",
		      err[0] ? err : NULL, "spool", "drain_ready", d->drain_ready,
		      "events", "received", (json_int_t)VD_STAT_GET(d, received), "appended",
		      (json_int_t)VD_STAT_GET(d, appended), "acked", (json_int_t)VD_STAT_GET(d, acked), "failed",
		      (json_int_t)VD_STAT_GET(d, failed), "invalid", (json_int_t)VD_STAT_GET(d, invalid), "refused",
		      (json_int_t)VD_STAT_GET(d, refused), "spooled_drained", (json_int_t)VD_STAT_GET(d, spool_records),
		      "spool_duplicates", (json_int_t)VD_STAT_GET(d, spool_dups), "spool_damaged_bytes",
		      (json_int_t)VD_STAT_GET(d, spool_damaged_bytes), "abandoned",
		      (json_int_t)VD_STAT_GET(d, abandoned), "connections", (json_int_t)d->st.conns_now,
		      "connections_total", (json_int_t)d->st.conns_total);
	if (!j)
		return NULL;
	json_object_set_new(j, "rules", vd_rules_status(d));
	json_object_set_new(j, "alerts", vd_alerts_status(d));
	return vd_json_take(j, JSON_COMPACT | JSON_PRESERVE_ORDER, len);
}

/*
 * A JSON control operation from the CLI (WIRE_CONTROL).  Only the daemon's
 * own user reaches the socket (mode 0600); the reply is always a JSON object
 * with "ok".  Reloading rules blocks the loop while the set compiles, which
 * is what an operator asking for it expects (hooks wait, bounded by their
 * deadline; a thousand rules compile in milliseconds).
 */
static char *control(struct vd *d, struct vd_conn *c, const char *req, size_t len, size_t *n)
{
	json_t *in = json_loadb(req, len, 0, NULL), *out = NULL;
	const char *op = json_string_value(json_object_get(in, "op"));
	if (!op)
		out = json_pack("{s:b, s:s}", "ok", 0, "error",
				"a control request is a JSON object with \"op\"");
	else if (!strcmp(op, "rules.reload"))
		out = vd_rules_reload(d);
	else if (!strcmp(op, "alert.acknowledge") || !strcmp(op, "alert.resolve"))
		out = vd_alerts_control(d, op, json_string_value(json_object_get(in, "id")),
					json_string_value(json_object_get(in, "note")), &c->peer);
	else
		out = json_pack("{s:b, s:s, s:s}", "ok", 0, "error", "unknown operation", "op", op);
	json_decref(in);
	return vd_json_take(out, JSON_COMPACT, n);
}

static void refuse(struct vd_conn *c, const char *why)
{
	size_t n = strlen(why);
	char *msg = vg_malloc(n + 1);

	VD_STAT_ADD(c->d, refused, 1);
	vg_warn("refused a request from pid %lld: %s", (long long)c->peer.pid, why);
	if (msg)
		memcpy(msg, why, n + 1);
	/* The reason goes in stdout's place: a refused request has no decision,
	 * and the hook does not print a refused reply's bytes. */
	conn_push(c, 0, WIRE_REFUSED, 0, msg, msg ? n : 0);
	c->closing = true;
}

/* Handles every complete frame in the input buffer. */
static void on_read(struct bufferevent *bev, void *arg)
{
	struct vd_conn *c = arg;
	struct vd *d = c->d;
	struct evbuffer *in = bufferevent_get_input(bev);

	while (!c->closing && c->nacks < VD_MAX_ACKS_PER_CONN &&
	       c->inflight_bytes < VD_CONN_MAX_INFLIGHT_BYTES) {
		uint8_t hdr[WIRE_HDR_LEN];
		unsigned kind, flags;
		uint32_t elen, plen;
		struct wire_envelope env;
		const uint8_t *frame;
		size_t total;
		int rc;

		if (evbuffer_get_length(in) < WIRE_HDR_LEN)
			break;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		rc = wire_req_hdr_get(hdr, &kind, &flags, &elen, &plen);
		if (rc < 0) {
			refuse(c, rc == -E2BIG ? "frame larger than the protocol allows"
					       : "not a vigil hook frame (bad magic or kind)");
			break;
		}
		total = WIRE_HDR_LEN + (size_t)elen + plen;
		if (evbuffer_get_length(in) < total)
			break;
		frame = evbuffer_pullup(in, (ssize_t)total);
		if (!frame) {
			refuse(c, "out of memory");
			break;
		}
		if (wire_env_parse((const char *)frame + WIRE_HDR_LEN, elen, &env) < 0) {
			refuse(c, "malformed envelope");
			break;
		}
		switch (kind) {
		case WIRE_EVENT:
		case WIRE_DECIDE: {
			/* Until the rules engine decides, every blocking event is
			 * allowed: exit 0 and no output, which Claude Code reads as
			 * "no opinion".  The worker of this connection records it;
			 * the reply waits in order until it is durable. */
			struct vd_job *j = vg_malloc(sizeof(*j) + elen + plen + 1);

			if (!j || conn_push(c, 0, WIRE_OK, 0, NULL, 0) < 0) {
				vg_free(j);
				vg_err("out of memory: the hook will spool its event");
				conn_push(c, 0, WIRE_FAILED, 0, NULL, 0);
				VD_STAT_ADD(d, failed, 1);
				break;
			}
			memset(j, 0, sizeof(*j));
			j->conn = c;
			j->ack = c->tail;
			j->ack->ready = false;
			j->kind = kind;
			j->flags = flags;
			j->peer = c->peer;
			j->env_len = elen;
			j->len = plen;
			memcpy(j->data, frame + WIRE_HDR_LEN, (size_t)elen + plen);
			j->data[elen + plen] = '\0';
			c->inflight++;
			c->inflight_bytes += plen;
			worker_push(&d->workers[c->worker], j);
			break;
		}
		case WIRE_STATUS: {
			size_t n = 0;
			char *s = status_json(d, &n);

			conn_push(c, 0, s ? WIRE_OK : WIRE_FAILED, 0, s, n);
			break;
		}
		case WIRE_CONTROL: {
			size_t n = 0;
			char *s = control(d, c, (const char *)frame + WIRE_HDR_LEN + elen, plen, &n);

			conn_push(c, 0, s ? WIRE_OK : WIRE_FAILED, 0, s, n);
			break;
		}
		case WIRE_SHUTDOWN:
			vg_info("shutdown requested by pid %lld", (long long)c->peer.pid);
			conn_push(c, 0, WIRE_OK, 0, NULL, 0);
			c->shutdown = true;
			c->closing = true;
			break;
		default:
			refuse(c, "unknown request kind");
			break;
		}
		evbuffer_drain(in, total);
	}
	if (c->nacks >= VD_MAX_ACKS_PER_CONN || c->inflight_bytes >= VD_CONN_MAX_INFLIGHT_BYTES ||
	    c->closing)
		bufferevent_disable(bev, EV_READ);
	conn_flush(c, durable_peek(d), false);
}

static void stop_daemon(struct vd *d, const char *why);

/* Output written: a connection that is done and has nothing left goes. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct vd_conn *c = arg;
	struct vd *d = c->d;
	bool shutdown = c->shutdown;

	if (c->closing && !c->head && !evbuffer_get_length(bufferevent_get_output(bev))) {
		conn_free(c);
		if (shutdown)
			stop_daemon(d, "a client asked to shut down");
	}
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct vd_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* The hook went away (finished, or gave up at its deadline and
		 * spooled).  Replies still owed are dropped; the events are in the
		 * ledger either way. */
		if (c->head && (what & BEV_EVENT_EOF)) {
			/* Half-closed writers (batch senders shut down their write
			 * side) still get their replies. */
			c->closing = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		conn_free(c);
	}
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct vd *d = arg;
	struct vd_conn *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)lis, (void)sa, (void)salen;
	if (d->stopping || d->st.conns_now >= VD_MAX_CONNS) {
		/* The hook spools; nothing is lost. */
		close(fd);
		return;
	}
	c = vg_calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->d = d;
	c->worker = (unsigned)(d->next_conn_id++ % d->nworkers);
	c->peer.pid = c->peer.uid = c->peer.gid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->peer.pid = cred.pid;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
	}
	c->bev = bufferevent_socket_new(d->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		vg_free(c);
		return;
	}
	/* Never buffer more than one largest frame plus a header per read. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + WIRE_MAX_PAYLOAD + WIRE_HDR_LEN);
	bufferevent_setcb(c->bev, on_read, on_write, on_conn_event, c);
	bufferevent_enable(c->bev, EV_READ);
	c->next = d->conns;
	if (d->conns)
		d->conns->prev = c;
	d->conns = c;
	d->st.conns_now++;
	d->st.conns_total++;
}

/* ---- timers and signals ------------------------------------------------------- */

static bool spool_has_data(struct vd *d)
{
	char p[4400];
	struct stat st;
	DIR *dir;
	struct dirent *de;
	bool any = false;

	if (vg_path(p, sizeof(p), "%s/%s", d->spool_dir, WIRE_SPOOL_FILE) == 0 &&
	    stat(p, &st) == 0 && st.st_size > 0)
		return true;
	/* Files a failed drain left aside. */
	dir = opendir(d->spool_dir);
	if (!dir)
		return false;
	while (!any && (de = readdir(dir)))
		any = !strncmp(de->d_name, "draining-", 9);
	closedir(dir);
	return any;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vd *d = arg;
	uint64_t now = vg_mono_ns();

	(void)fd, (void)what;
	if (d->stopping)
		return;
	if (d->drain_ready && now - d->last_drain_ns >= VD_DRAIN_EVERY_NS && spool_has_data(d))
		vd_drain_spool(d);
	if (now - d->last_expire_ns >= VD_EXPIRE_EVERY_NS) {
		d->last_expire_ns = now;
		vd_expire(d);
	}
	vd_alerts_tick(d);
}

static void on_synced(evutil_socket_t fd, short what, void *arg)
{
	struct vd *d = arg;

	(void)fd, (void)what;
	if (d->drain_ready || d->stopping)
		return;
	/* The index holds everything the ledger held at start, so spooled
	 * events can now be checked against it. */
	d->drain_ready = true;
	if (!d->ro_idx && idx_open(d->index_path, IDX_RDONLY, &d->ro_idx, NULL, 0) < 0)
		d->ro_idx = NULL;
	vd_alerts_restore(d, d->ro_idx);
	vd_drain_spool(d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vd *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		json_t *r = vd_rules_reload(d);

		if (!json_is_true(json_object_get(r, "ok"))) {
			json_t *errs = json_object_get(r, "errors");

			vg_err("SIGHUP: %s", json_string_value(json_object_get(r, "error"))
						     ? json_string_value(json_object_get(r, "error"))
						     : "reload failed");
			for (size_t i = 0; i < json_array_size(errs) && i < 50; i++)
				vg_err("  %s", json_string_value(json_array_get(errs, i)));
		}
		json_decref(r);
		return;
	}
	stop_daemon(d, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

static void stop_daemon(struct vd *d, const char *why)
{
	struct timeval tv = { 0, 300000 };
	uint64_t sealed = 0;
	int rc;

	if (d->stopping)
		return;
	d->stopping = true;
	vg_info("stopping (%s)", why);
	if (d->listener) {
		evconnlistener_free(d->listener);
		d->listener = NULL;
	}
	/* Frames already read are recorded; nothing new is read. */
	for (struct vd_conn *c = d->conns; c; c = c->next)
		bufferevent_disable(c->bev, EV_READ);
	stop_workers(d);
	on_done(-1, 0, d);
	/* Everything appended becomes durable and sealed; owed replies go out,
	 * with a short grace period for the writes. */
	rc = ledger_seal(d->l, &sealed);
	if (rc < 0)
		vg_err("cannot seal the ledger: %s", strerror(-rc));
	{
		struct ledger_status ls;

		ledger_status(d->l, &ls);
		pthread_mutex_lock(&d->ack_mu);
		if (ls.durable_seq > d->ack_durable)
			d->ack_durable = ls.durable_seq;
		pthread_mutex_unlock(&d->ack_mu);
	}
	on_durable(-1, 0, d);
	event_base_loopexit(d->base, &tv);
}

/* ---- start and stop ----------------------------------------------------------- */

static void tell_ready(struct vd *d, const char *msg)
{
	if (d->cfg.ready_fd < 0)
		return;
	if (write(d->cfg.ready_fd, msg, strlen(msg)) < 0)
		vg_debug("readiness pipe: %s", strerror(errno));
	close(d->cfg.ready_fd);
	d->cfg.ready_fd = -1;
}

/* A socket path in use by a live daemon is an error; a stale one (left by
 * a crash) is removed.  The pid lock already rules out a second daemon on
 * this state directory, but VIGIL_SOCKET may point anywhere. */
static int bind_socket(struct vd *d, char *err, size_t errcap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(d->cfg.socket_path);
	mode_t old;
	int fd, rc;

	if (n >= sizeof(sa.sun_path)) {
		snprintf(err, errcap, "socket path '%s' is longer than %zu bytes", d->cfg.socket_path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, d->cfg.socket_path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		snprintf(err, errcap, "another daemon is listening on '%s'", d->cfg.socket_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	unlink(d->cfg.socket_path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -errno;
	}
	/* Created 0600 from the start: no window in which others could connect. */
	old = umask(0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 1024) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot listen on '%s': %s", d->cfg.socket_path,
			 strerror(errno));
		close(fd);
		return rc;
	}
	d->socket_bound = true;
	return fd;
}

static void identity(struct vd *d)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (gethostname(d->host, sizeof(d->host)) < 0)
		snprintf(d->host, sizeof(d->host), "unknown");
	d->host[sizeof(d->host) - 1] = '\0';
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(d->user, sizeof(d->user), "%s", pw.pw_name);
	else
		snprintf(d->user, sizeof(d->user), "%u", (unsigned)geteuid());
}

static int key_path(const struct vd *d, const char *given, const char *env, const char *file,
		    char *out, size_t cap)
{
	const char *v = getenv(env);

	if (given)
		return vg_path(out, cap, "%s", given);
	if (v && *v)
		return vg_path(out, cap, "%s", v);
	return vg_path(out, cap, "file:%s/keys/%s", d->cfg.state_dir, file);
}

static int open_all(struct vd *d, char *err, size_t errcap)
{
	struct ledger_options lo = { 0 };
	struct ledger_open_info info;
	struct norm_options no = { 0 };
	struct corr_options co = { 0 };
	char sign[4400], mac[4400];
	int rc, fd;

	if (vg_path(d->ledger_dir, sizeof(d->ledger_dir), "%s/ledger", d->cfg.state_dir) < 0 ||
	    vg_path(d->index_path, sizeof(d->index_path), "%s/index.db", d->cfg.state_dir) < 0 ||
	    vg_path(d->spool_dir, sizeof(d->spool_dir), "%s/%s", d->cfg.state_dir,
		    WIRE_SPOOL_DIR) < 0 ||
	    key_path(d, d->cfg.signing_key, "VIGIL_SIGNING_KEY", LEDGER_SIGNING_KEY_FILE, sign,
		     sizeof(sign)) < 0 ||
	    key_path(d, d->cfg.mac_key, "VIGIL_MAC_KEY", LEDGER_MAC_KEY_FILE, mac, sizeof(mac)) < 0) {
		snprintf(err, errcap, "state directory path too long");
		return -ENAMETOOLONG;
	}
	if (!strncmp(sign, "file:", 5) && access(sign + 5, F_OK) < 0) {
		snprintf(err, errcap, "no signing key at '%s'; run 'vigil keys init' first",
			 sign + 5);
		return -ENOENT;
	}
	if ((rc = vg_mkdir_p(d->spool_dir, 0700)) < 0) {
		snprintf(err, errcap, "cannot create '%s': %s", d->spool_dir, strerror(-rc));
		return rc;
	}
	lo.dir = d->ledger_dir;
	lo.signing_key = sign;
	lo.mac_key = mac;
	lo.checkpoint_ms = d->cfg.checkpoint_ms;
	if ((rc = ledger_open(&lo, &d->l, &info, err, errcap)) < 0)
		return rc;
	if (info.recovered)
		vg_warn("recovered the ledger after a crash: cut %" PRIu64 " bytes (%" PRIu64
			" partial records) from segment %" PRIu64,
			info.dropped_bytes, info.dropped_frames, info.recovered_segment);
	no.max_string = d->cfg.max_string;
	no.host = d->host;
	no.user = d->user;
	co.abandon_ns = d->cfg.abandon_ns;
	if ((rc = norm_ctx_new(&no, &d->norm)) < 0 || (rc = corr_new(&co, &d->corr)) < 0 ||
	    (rc = vd_idset_init(&d->ids, 1u << 20)) < 0) {
		snprintf(err, errcap, "cannot set up the pipeline: %s", strerror(-rc));
		return rc;
	}
	fd = bind_socket(d, err, errcap);
	if (fd < 0)
		return fd;
	d->base = event_base_new();
	if (!d->base) {
		close(fd);
		snprintf(err, errcap, "cannot create the event loop");
		return -ENOMEM;
	}
	d->listener = evconnlistener_new(d->base, on_accept, d, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	d->ev_durable = event_new(d->base, -1, 0, on_durable, d);
	d->ev_done = event_new(d->base, -1, 0, on_done, d);
	d->ev_synced = event_new(d->base, -1, 0, on_synced, d);
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->ev_sigint = evsignal_new(d->base, SIGINT, on_signal, d);
	d->ev_sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->ev_sighup = evsignal_new(d->base, SIGHUP, on_signal, d);
	if (!d->listener || !d->ev_durable || !d->ev_done || !d->ev_synced || !d->ev_tick || !d->ev_sigint ||
	    !d->ev_sigterm || !d->ev_sighup) {
		if (!d->listener)
			close(fd);
		snprintf(err, errcap, "cannot set up the event loop");
		return -ENOMEM;
	}
	{
		struct timeval sec = { 1, 0 };

		event_add(d->ev_tick, &sec);
		event_add(d->ev_sigint, NULL);
		event_add(d->ev_sigterm, NULL);
		event_add(d->ev_sighup, NULL);
	}
	if ((rc = vd_rules_init(d)) < 0) {
		snprintf(err, errcap, "cannot load the rules: %s", strerror(-rc));
		return rc;
	}
	if ((rc = vd_alerts_init(d)) < 0) {
		snprintf(err, errcap, "cannot set up alerts: %s", strerror(-rc));
		return rc;
	}
	/* Open alerts continue on the same ids: take them from the index as it
	 * is before hooks are taken (again once it caught up with the ledger,
	 * for alerts recorded after its last commit). */
	if (access(d->index_path, F_OK) == 0 &&
	    idx_open(d->index_path, IDX_RDONLY, &d->ro_idx, NULL, 0) == 0)
		vd_alerts_restore(d, d->ro_idx);
	else
		d->ro_idx = NULL;
	{
		struct notify_opts nopt = { .state_dir = d->cfg.state_dir, .hostname = d->host };
		char nerr[512] = "";

		rc = notify_new(d->cfg.conf ? config_alerts(d->cfg.conf) : NULL, &nopt, &d->notify,
				nerr, sizeof(nerr));
		if (rc < 0) {
			snprintf(err, errcap, "alerts: %s", nerr[0] ? nerr : strerror(-rc));
			return rc;
		}
	}
	for (unsigned i = 0; i < d->nworkers; i++) {
		struct vd_worker *w = &d->workers[i];

		if (pthread_create(&w->th, NULL, worker_main, w) != 0) {
			snprintf(err, errcap, "cannot start worker threads");
			return -EAGAIN;
		}
		w->started = true;
	}
	if (pthread_create(&d->ack_thr, NULL, ack_main, d) != 0) {
		snprintf(err, errcap, "cannot start the ack thread");
		return -EAGAIN;
	}
	d->ack_started = true;
	if (pthread_create(&d->idx_thr, NULL, idx_main, d) != 0) {
		snprintf(err, errcap, "cannot start the index thread");
		return -EAGAIN;
	}
	d->idx_started = true;
	return 0;
}

static void close_all(struct vd *d)
{
	/* Order matters: nothing appends once the workers are gone; the index
	 * thread waits on the ledger, so it stops before the ledger closes. */
	stop_workers(d);
	if (d->ev_done)
		on_done(-1, 0, d);
	if (d->ack_started) {
		pthread_mutex_lock(&d->ack_mu);
		d->ack_stop = true;
		pthread_cond_signal(&d->ack_cv);
		pthread_mutex_unlock(&d->ack_mu);
		pthread_join(d->ack_thr, NULL);
	}
	if (d->l) {
		int rc = ledger_seal(d->l, NULL);

		if (rc < 0)
			vg_err("cannot seal the ledger: %s", strerror(-rc));
	}
	if (d->idx_started) {
		pthread_mutex_lock(&d->idxq.mu);
		d->idx_stop = true;
		pthread_cond_signal(&d->idxq.cv);
		pthread_mutex_unlock(&d->idxq.mu);
		pthread_join(d->idx_thr, NULL);
	}
	if (d->l) {
		int rc = ledger_close(d->l);

		if (rc < 0)
			vg_err("closing the ledger: %s", strerror(-rc));
	}
	while (d->conns)
		conn_free(d->conns);
	if (d->listener)
		evconnlistener_free(d->listener);
	if (d->ev_durable)
		event_free(d->ev_durable);
	if (d->ev_done)
		event_free(d->ev_done);
	if (d->ev_synced)
		event_free(d->ev_synced);
	if (d->ev_tick)
		event_free(d->ev_tick);
	if (d->ev_sigint)
		event_free(d->ev_sigint);
	if (d->ev_sigterm)
		event_free(d->ev_sigterm);
	if (d->ev_sighup)
		event_free(d->ev_sighup);
	if (d->base)
		event_base_free(d->base);
	/* Alerts recorded by now are durable (sealed): the notifier gets them,
	 * then has its flush timeout to deliver before it stops. */
	if (d->notify) {
		vd_alerts_durable(d, UINT64_MAX);
		notify_free(d->notify);
	}
	vd_alerts_free(d);
	vd_rules_free(d);
	for (unsigned i = 0; i < d->nworkers; i++)
		rules_result_release(&d->workers[i].rr);
	rules_result_release(&d->drain_rr);
	idx_close(d->ro_idx);
	json_decref(d->cfg.conf);
	d->cfg.conf = NULL;
	corr_free(d->corr);
	norm_ctx_free(d->norm);
	vd_idset_free(&d->ids);
	for (size_t i = 0; i < VD_PROJECT_CACHE; i++) {
		vg_free(d->projects[i].key);
		vg_free(d->projects[i].root);
	}
	pthread_rwlock_destroy(&d->rules_lock);
	pthread_mutex_destroy(&d->ack_mu);
	pthread_cond_destroy(&d->ack_cv);
	pthread_mutex_destroy(&d->append_mu);
	pthread_mutex_destroy(&d->corr_mu);
	pthread_mutex_destroy(&d->ids_mu);
	pthread_mutex_destroy(&d->proj_mu);
	pthread_mutex_destroy(&d->done_mu);
	for (unsigned i = 0; i < d->nworkers; i++) {
		pthread_mutex_destroy(&d->workers[i].mu);
		pthread_cond_destroy(&d->workers[i].cv);
	}
	vd_recq_destroy(&d->idxq);
}

int vd_run(const struct vd_config *cfg)
{
	struct vd *d = vg_calloc(1, sizeof(*d));
	char err[8192] = "";
	int rc;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	/* The daemon's own reference: a reload replaces it, the caller keeps
	 * (and releases) the one it passed. */
	d->cfg.conf = json_incref(cfg->conf);
	d->started_ns = d->last_drain_ns = d->last_expire_ns = vg_mono_ns();
	pthread_rwlock_init(&d->rules_lock, NULL);
	pthread_mutex_init(&d->ack_mu, NULL);
	pthread_cond_init(&d->ack_cv, NULL);
	pthread_mutex_init(&d->append_mu, NULL);
	pthread_mutex_init(&d->corr_mu, NULL);
	pthread_mutex_init(&d->ids_mu, NULL);
	pthread_mutex_init(&d->proj_mu, NULL);
	pthread_mutex_init(&d->done_mu, NULL);
	d->nworkers = cfg->workers;
	if (!d->nworkers) {
		long n = sysconf(_SC_NPROCESSORS_ONLN);

		d->nworkers = n > 0 ? (unsigned)n : 1;
	}
	if (d->nworkers > VD_MAX_WORKERS)
		d->nworkers = VD_MAX_WORKERS;
	rules_result_init(&d->drain_rr);
	for (unsigned i = 0; i < d->nworkers; i++) {
		rules_result_init(&d->workers[i].rr);
		d->workers[i].d = d;
		pthread_mutex_init(&d->workers[i].mu, NULL);
		pthread_cond_init(&d->workers[i].cv, NULL);
	}
	vd_recq_init(&d->idxq);
	identity(d);
	rc = open_all(d, err, sizeof(err));
	if (rc < 0) {
		char msg[8300];

		vg_err("%s", err);
		snprintf(msg, sizeof(msg), "error: %s\n", err);
		tell_ready(d, msg);
		goto out;
	}
	vg_info("vigild %s listening on %s (state %s)", VIGIL_VERSION, cfg->socket_path,
		cfg->state_dir);
	tell_ready(d, "ok\n");
	rc = event_base_dispatch(d->base) < 0 ? -EIO : 0;
	if (!d->stopping)
		stop_daemon(d, "event loop ended");
out:
	close_all(d);
	if (d->socket_bound)
		unlink(cfg->socket_path);
	vg_free(d);
	return rc;
}
