/*
 * indexer.c - the index thread and the record queue that feeds it.
 *
 * The index holds only durable records (after a crash it must not know of
 * events the ledger lost with its torn tail), and it holds every record up
 * to its last seq, which is where a catch-up from the ledger resumes.
 */
#include "indexer.h"

#include "common.h"
#include "idx.h"
#include "ledger.h"

#include <errno.h>
#include <event2/event.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define VD_INDEX_BATCH 5000    /* records per index transaction, at most... */
#define VD_INDEX_GATHER_MS 20L /* ...or what arrived in this long */

/* A record appended but not yet durable, or durable but not yet indexed. */
struct vd_rec {
	struct vd_rec *next;
	uint64_t seq, time_ns;
	json_t *ev; /* the event it was serialized from (a reference), or NULL */
	size_t len;
	size_t held; /* what it holds, as counted (indexer.h) */
	char json[]; /* len bytes + NUL */
};

struct vd_indexer {
	struct ledger *l;
	const char *ledger_dir, *index_path;
	struct event *ev_synced; /* wakes the loop thread after the first catch-up... */
	void (*on_synced)(void *arg); /* ...which calls this */
	void *synced_arg;
	pthread_t th;
	bool started;
	uint64_t durable; /* index thread: known durable seq */

	pthread_mutex_t mu; /* guards everything below */
	pthread_cond_t cv;
	struct vd_rec *head, *tail;
	size_t bytes, count; /* queued records, and what they hold as counted */
	size_t busy_bytes;   /* what the records being indexed hold */
	uint64_t left_out;   /* records not queued for room */
	bool stop;
	bool lagging;	  /* records were not queued... */
	uint64_t gap_from; /* ...from this seq on (0: none) */
	bool retry;	   /* the ledger could not write: catch up again in a second */
	uint64_t last;	  /* the highest seq indexed */
	size_t busy;	  /* records being indexed now */
	bool synced;	  /* the start-up catch-up ran */
	char error[512];
};

/* ---- records ------------------------------------------------------------------ */

static struct vd_rec *rec_new(uint64_t seq, uint64_t time_ns, const char *json, size_t len)
{
	struct vd_rec *r = vg_malloc(sizeof(*r) + len + 1);

	if (!r)
		return NULL;
	r->next = NULL;
	r->ev = NULL;
	r->seq = seq;
	r->time_ns = time_ns;
	r->len = len;
	r->held = sizeof(*r) + len + 1;
	memcpy(r->json, json, len);
	r->json[len] = '\0';
	return r;
}

static void rec_free_list(struct vd_rec *r)
{
	while (r) {
		struct vd_rec *next = r->next;

		json_decref(r->ev);
		vg_free(r);
		r = next;
	}
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

void vd_indexer_queue(struct vd_indexer *x, uint64_t seq, uint64_t time_ns, const char *json,
		      size_t len, json_t *ev)
{
	struct vd_rec *r;
	size_t held, rec = sizeof(*r) + len + 1, with_ev = rec + VD_INDEX_EV_FACTOR * len;
	bool full;

	pthread_mutex_lock(&x->mu);
	held = x->bytes + x->busy_bytes;
	full = held + rec > VD_INDEX_Q_MAX_BYTES;
	pthread_mutex_unlock(&x->mu);
	r = full ? NULL : rec_new(seq, time_ns, json, len);
	pthread_mutex_lock(&x->mu);
	if (r) {
		/* The parsed event saves the index thread a parse, at seven
		 * times the memory: only while the queue is short. */
		if (ev && held + with_ev <= VD_INDEX_Q_EV_BYTES) {
			r->ev = json_incref(ev);
			r->held = with_ev;
		}
		if (x->tail)
			x->tail->next = r;
		else
			x->head = r;
		x->tail = r;
		x->bytes += r->held;
		x->count++;
		/* The thread waits for a first record, then for a batch: wake
		 * it only then, not for every record. */
		if (x->count == 1 || x->count % 1024 == 0)
			pthread_cond_signal(&x->cv);
	} else {
		x->lagging = true;
		x->left_out++;
		if (!x->gap_from || seq < x->gap_from)
			x->gap_from = seq;
	}
	pthread_mutex_unlock(&x->mu);
}

/* ---- the thread --------------------------------------------------------------- */

static void set_error(struct vd_indexer *x, const char *msg)
{
	pthread_mutex_lock(&x->mu);
	snprintf(x->error, sizeof(x->error), "%s", msg);
	pthread_mutex_unlock(&x->mu);
}

/* The records being indexed are done with. */
static void set_idle(struct vd_indexer *x)
{
	pthread_mutex_lock(&x->mu);
	x->busy = 0;
	x->busy_bytes = 0;
	pthread_mutex_unlock(&x->mu);
}

static bool ledger_failing(struct vd_indexer *x)
{
	struct ledger_status st;

	ledger_status(x->l, &st);
	return st.last_error != 0;
}

static void catch_up(struct vd_indexer *x, struct idx *ix)
{
	char err[512];
	uint64_t last = 0, from;
	int rc;

	/* While the writer cannot write (disk full), what the index misses is
	 * not durable yet: keep the gap and come back in a second rather than
	 * wait for a new event to wake this thread. */
	if (ledger_failing(x)) {
		pthread_mutex_lock(&x->mu);
		x->lagging = x->retry = true;
		pthread_mutex_unlock(&x->mu);
		return;
	}
	/* Records left out while later ones were indexed: from the lowest one
	 * on; else whatever follows the last indexed record. */
	pthread_mutex_lock(&x->mu);
	from = x->gap_from;
	x->gap_from = 0;
	x->retry = false;
	pthread_mutex_unlock(&x->mu);
	if (from)
		rc = idx_sync_ledger_from(ix, x->ledger_dir, from, NULL, NULL, err, sizeof(err));
	else
		rc = idx_sync_ledger(ix, x->ledger_dir, NULL, NULL, err, sizeof(err));

	/* A sync can stop at a frame the writer is still writing: harmless,
	 * the records after it reach the index through the queue. */
	if (rc < 0 && rc != -EBADMSG) {
		vg_err("index: catching up from the ledger failed: %s", err);
		set_error(x, err);
	}
	idx_last_seq(ix, &last);
	pthread_mutex_lock(&x->mu);
	x->last = last;
	pthread_mutex_unlock(&x->mu);
}

static int wait_durable(struct vd_indexer *x, uint64_t seq)
{
	int rc;

	if (seq <= x->durable)
		return 0;
	while ((rc = ledger_wait_durable(x->l, seq, 1000)) == -ETIMEDOUT)
		;
	if (rc == 0)
		x->durable = seq;
	return rc;
}

/* Opens the index (NULL when it cannot be) and catches up; the first call
 * tells the loop the start-up catch-up ran. */
static struct idx *open_index(struct vd_indexer *x, bool *first)
{
	struct idx *ix = NULL;
	char err[512];

	if (idx_open(x->index_path, IDX_CREATE, &ix, err, sizeof(err)) < 0) {
		vg_err("index: %s; events are still recorded in the ledger, run "
		       "'vigil reindex' once this is fixed",
		       err);
		set_error(x, err);
		ix = NULL;
	} else {
		catch_up(x, ix);
	}
	if (*first) {
		*first = false;
		pthread_mutex_lock(&x->mu);
		x->synced = true;
		pthread_mutex_unlock(&x->mu);
		event_active(x->ev_synced, 0, 0);
	}
	return ix;
}

/* Waits for records and takes them, with stop and lagging as they were. */
static struct vd_rec *take_batch(struct vd_indexer *x, bool have_index, bool *stop,
				 bool *lagging)
{
	struct vd_rec *list;

	pthread_mutex_lock(&x->mu);
	if (!x->head && !x->stop && (!x->lagging || x->retry)) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += x->retry ? 1 : have_index ? 5 : 2;
		pthread_cond_timedwait(&x->cv, &x->mu, &ts);
	}
	/* Let a batch gather: a transaction per handful of records would cost
	 * more than the records.  Bounded, so an event shows up in queries
	 * within VD_INDEX_GATHER_MS. */
	if (x->head && !x->stop && x->count < VD_INDEX_BATCH) {
		struct timespec ts;

		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_nsec += VD_INDEX_GATHER_MS * 1000000L;
		if (ts.tv_nsec >= 1000000000L)
			ts.tv_sec++, ts.tv_nsec -= 1000000000L;
		while (x->count < VD_INDEX_BATCH && !x->stop &&
		       pthread_cond_timedwait(&x->cv, &x->mu, &ts) == 0)
			;
	}
	*stop = x->stop;
	*lagging = x->lagging;
	x->lagging = false;
	/* Taken under the same lock, so the status never sees the records
	 * neither queued nor busy. */
	list = x->head;
	x->busy = x->count;
	x->busy_bytes = x->bytes;
	x->head = x->tail = NULL;
	x->bytes = x->count = 0;
	pthread_mutex_unlock(&x->mu);
	return list;
}

/* Indexes list (freed) in one transaction once it is durable.  0 when
 * indexed, 1 when the index must catch up from the ledger (a failed
 * transaction), -1 when the records are not durable (the next round catches
 * up). */
static int index_batch(struct vd_indexer *x, struct idx *ix, struct vd_rec *list)
{
	uint64_t last = 0, max;
	char err[512];
	int rc;

	list = sort_recs(list, &max);
	if (wait_durable(x, max) < 0) {
		/* The writer retries; the catch-up reads what it made durable,
		 * from the lowest of these on (later records may be indexed
		 * before then: the gap must not be forgotten). */
		pthread_mutex_lock(&x->mu);
		if (!x->gap_from || list->seq < x->gap_from)
			x->gap_from = list->seq;
		x->lagging = x->retry = true;
		pthread_mutex_unlock(&x->mu);
		rec_free_list(list);
		return -1;
	}
	rc = idx_begin(ix);
	for (struct vd_rec *r = list; r && rc == 0; r = r->next) {
		rc = r->ev ? idx_add_event(ix, r->seq, r->time_ns, r->ev, r->json, r->len, err,
					   sizeof(err))
			   : idx_add(ix, r->seq, r->time_ns, r->json, r->len, err, sizeof(err));
		last = r->seq;
	}
	if (rc == 0)
		rc = idx_commit(ix);
	if (rc < 0) {
		idx_rollback(ix);
		vg_err("index: %s; will catch up from the ledger", err);
		set_error(x, err);
	}
	pthread_mutex_lock(&x->mu);
	if (rc < 0) {
		if (!x->gap_from || list->seq < x->gap_from)
			x->gap_from = list->seq;
	} else {
		if (last > x->last)
			x->last = last;
		x->error[0] = '\0';
	}
	pthread_mutex_unlock(&x->mu);
	rec_free_list(list);
	return rc < 0 ? 1 : 0;
}

static void *indexer_main(void *arg)
{
	struct vd_indexer *x = arg;
	struct idx *ix = NULL;
	bool stop = false, first = true;

	while (!stop) {
		struct vd_rec *list;
		bool lagging;

		if (!ix)
			ix = open_index(x, &first);
		list = take_batch(x, ix != NULL, &stop, &lagging);
		if (!ix) {
			/* The catch-up after the index opens will index them. */
			rec_free_list(list);
			set_idle(x);
			continue;
		}
		if (list) {
			int r = index_batch(x, ix, list);

			if (r < 0) {
				set_idle(x);
				continue;
			}
			lagging = lagging || r > 0;
		}
		if (lagging)
			catch_up(x, ix);
		set_idle(x);
	}
	/* Whatever is still queued was taken above before stop was seen. */
	idx_close(ix);
	return NULL;
}

/* ---- interface ---------------------------------------------------------------- */

static void on_synced(evutil_socket_t fd, short what, void *arg)
{
	struct vd_indexer *x = arg;

	(void)fd, (void)what;
	x->on_synced(x->synced_arg);
}

int vd_indexer_new(struct ledger *l, const char *ledger_dir, const char *index_path,
		   struct event_base *base, void (*on_synced_cb)(void *arg), void *arg,
		   struct vd_indexer **out)
{
	struct vd_indexer *x = vg_calloc(1, sizeof(*x));

	*out = NULL;
	if (!x)
		return -ENOMEM;
	x->l = l;
	x->ledger_dir = ledger_dir;
	x->index_path = index_path;
	x->on_synced = on_synced_cb;
	x->synced_arg = arg;
	pthread_mutex_init(&x->mu, NULL);
	pthread_cond_init(&x->cv, NULL);
	x->ev_synced = event_new(base, -1, 0, on_synced, x);
	if (!x->ev_synced) {
		vd_indexer_free(x);
		return -ENOMEM;
	}
	*out = x;
	return 0;
}

int vd_indexer_start(struct vd_indexer *x)
{
	if (pthread_create(&x->th, NULL, indexer_main, x) != 0)
		return -EAGAIN;
	x->started = true;
	return 0;
}

void vd_indexer_status(struct vd_indexer *x, struct vd_indexer_status *st)
{
	pthread_mutex_lock(&x->mu);
	st->last_seq = x->last;
	st->synced = x->synced;
	st->pending = x->count + x->busy;
	st->bytes = x->bytes + x->busy_bytes;
	st->left_out = x->left_out;
	memcpy(st->error, x->error, sizeof(st->error));
	pthread_mutex_unlock(&x->mu);
}

void vd_indexer_stop(struct vd_indexer *x)
{
	if (!x || !x->started)
		return;
	pthread_mutex_lock(&x->mu);
	x->stop = true;
	pthread_cond_signal(&x->cv);
	pthread_mutex_unlock(&x->mu);
	pthread_join(x->th, NULL);
	x->started = false;
}

void vd_indexer_free(struct vd_indexer *x)
{
	if (!x)
		return;
	vd_indexer_stop(x);
	if (x->ev_synced)
		event_free(x->ev_synced);
	rec_free_list(x->head);
	pthread_mutex_destroy(&x->mu);
	pthread_cond_destroy(&x->cv);
	vg_free(x);
}
