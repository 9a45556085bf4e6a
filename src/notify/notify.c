/*
 * notify.c - the notifier: routing of alert records to channels by
 * severity and filters, the per-(rule, session) window that turns a burst of
 * matches into one notification and one summary, per-channel rate caps, the
 * `log` and `session` channels (which need no thread), the periodic timer,
 * statistics and the lifecycle.  deliver.c owns the queued channels.
 *
 * The window, precisely: the first record of a (rule, session) pair is
 * notified at once and opens a window of alerts.window (default 5 minutes).
 * `match` records inside the window are counted, not sent.  When the window
 * ends and matches were counted, one summary ("N more matches ... since T")
 * goes out and opens the next window; when none were, the pair is
 * forgotten and its next match is notified at once again.  An `open` record
 * (a new alert for the pair) always notifies.  `acknowledge` and `resolve`
 * records bypass the window and only reach channels with `lifecycle: true`.
 *
 * Locking: n->lock guards the dedup table, the rate caps and the session
 * store, and is held only for in-memory work; each channel's own lock
 * guards its queue and counters (see deliver.c).  Lock order: n->lock, then
 * a channel's lock.
 */
#include "notify_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#define DEDUP_BUCKETS 1024

uint64_t nf_now(struct notify *n)
{
	return n->now_fn ? n->now_fn(n->clock_arg) : vg_now_ns();
}

void nf_log(struct notify *n, enum vg_log_level level, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n->log_fn)
		n->log_fn(n->log_arg, level, line);
	else
		vg_log(level, "%s", line);
}

static uint64_t window_ns(const struct notify *n)
{
	return n->cfg.window_ms * 1000000ull;
}

/* ---- routing --------------------------------------------------------------------- */

static bool list_has(const struct nf_strv *sv, const char *s)
{
	for (size_t i = 0; i < sv->n; i++) {
		size_t len = strlen(sv->v[i]);

		if (len && sv->v[i][len - 1] == '*' ? strncmp(sv->v[i], s, len - 1) == 0
						     : strcmp(sv->v[i], s) == 0)
			return true;
	}
	return false;
}

static bool chan_takes(const struct nf_chan *c, const struct nf_msg *m)
{
	if (m->kind == NF_MSG_UPDATE && !c->cfg.lifecycle)
		return false;
	if (m->sev < c->cfg.min_sev)
		return false;
	/* An entry names the rule by its id or by its name. */
	if (c->cfg.rules.n && !list_has(&c->cfg.rules, m->rule_id) &&
	    !(*m->rule_name && list_has(&c->cfg.rules, m->rule_name)))
		return false;
	if (c->cfg.rule_tags.n) {
		const json_t *tags = m->tags;
		const json_t *t;
		size_t i;
		bool hit = false;

		json_array_foreach(tags, i, t)
			if (list_has(&c->cfg.rule_tags, json_string_value(t)))
				hit = true;
		if (!hit)
			return false;
	}
	return true;
}

static void count_suppressed(struct nf_chan *c)
{
	pthread_mutex_lock(&c->lock);
	c->suppressed++;
	pthread_mutex_unlock(&c->lock);
}

/* Hands m to every channel that takes it, within each channel's rate cap. */
static void route(struct notify *n, struct nf_msg *m)
{
	uint64_t minute = m->time_ns / 60000000000ull;

	for (size_t i = 0; i < n->nchans; i++) {
		struct nf_chan *c = &n->chans[i];

		if (!chan_takes(c, m))
			continue;
		if (c->cfg.rate_limit) {
			if (c->rate_minute != minute) {
				c->rate_minute = minute;
				c->rate_count = 0;
			}
			if (c->rate_count >= c->cfg.rate_limit) {
				count_suppressed(c);
				continue;
			}
			c->rate_count++;
		}
		if (c->cfg.type->flags & NF_CT_QUEUED) {
			nf_chan_push(c, m);
		} else {
			/* In place, under n->lock: these types cannot stall. */
			uint64_t retry_after = 0;
			char err[256];

			c->cfg.type->deliver(c, m, &retry_after, err, sizeof(err));
		}
	}
}

/* Counts a record the window held back on every channel that would take it. */
static void route_suppressed(struct notify *n, const struct nf_msg *m)
{
	for (size_t i = 0; i < n->nchans; i++)
		if (chan_takes(&n->chans[i], m))
			count_suppressed(&n->chans[i]);
}

/* ---- the session channel ---------------------------------------------------------- */

char *notify_session_take(struct notify *n, const char *session_id)
{
	struct nf_chan *c = NULL;
	char *out;

	if (!n || !session_id || !*session_id)
		return NULL;
	for (size_t i = 0; i < n->nchans; i++)
		if (n->chans[i].cfg.type == &nf_ch_session)
			c = &n->chans[i];
	if (!c)
		return NULL;
	pthread_mutex_lock(&n->lock);
	out = nf_session_take(c, session_id, nf_now(n));
	pthread_mutex_unlock(&n->lock);
	return out;
}

/* ---- the dedup window ---------------------------------------------------------------- */

static void dedup_remove(struct notify *n, struct nf_dedup *e)
{
	struct nf_dedup **pp = &n->dedup[base_fnv1a_str(e->key) % n->dedup_buckets];

	while (*pp && *pp != e)
		pp = &(*pp)->next;
	if (*pp)
		*pp = e->next;
	nf_msg_unref(e->latest);
	vg_free(e->key);
	vg_free(e);
	n->dedup_count--;
}

/* Sends the summary of e's suppressed matches and opens its next window. */
static void flush_summary(struct notify *n, struct nf_dedup *e, uint64_t now)
{
	struct nf_msg *s;

	if (!e->pending || !e->latest)
		return;
	s = nf_msg_derive(e->latest, NF_MSG_SUMMARY, now);
	if (s) {
		s->more = e->latest->count > e->notified_count ? e->latest->count - e->notified_count
							       : e->pending;
		s->since_ns = e->window_start_ns;
		nf_msg_render_text(s);
		route(n, s);
		n->summaries++;
		e->notified_count = e->latest->count;
		nf_msg_unref(s);
	}
	e->window_start_ns = now;
	e->pending = 0;
	nf_msg_unref(e->latest);
	e->latest = NULL;
}

static struct nf_dedup *oldest_entry(struct notify *n)
{
	struct nf_dedup *old = NULL;

	for (size_t b = 0; b < n->dedup_buckets; b++)
		for (struct nf_dedup *e = n->dedup[b]; e; e = e->next)
			if (!old || e->window_start_ns < old->window_start_ns)
				old = e;
	return old;
}

/* Finds the pair's entry; with create, makes one (evicting the oldest when full). */
static struct nf_dedup *dedup_get(struct notify *n, const struct nf_msg *m, bool create,
				bool *created, uint64_t now)
{
	char key[2 * NF_MAX_ID + 2];
	struct nf_dedup *e;
	size_t b;

	*created = false;
	snprintf(key, sizeof(key), "%s\x1f%s", m->rule_id, m->session_id);
	b = base_fnv1a_str(key) % n->dedup_buckets;
	for (e = n->dedup[b]; e; e = e->next)
		if (strcmp(e->key, key) == 0)
			return e;
	if (!create)
		return NULL;
	if (n->dedup_count >= NF_MAX_DEDUP) {
		struct nf_dedup *old = oldest_entry(n);

		flush_summary(n, old, now);
		dedup_remove(n, old);
	}
	e = vg_calloc(1, sizeof(*e));
	if (!e || !(e->key = vg_strdup(key))) {
		vg_free(e);
		return NULL;
	}
	e->next = n->dedup[b];
	n->dedup[b] = e;
	n->dedup_count++;
	*created = true;
	return e;
}

static void notify_now(struct notify *n, struct nf_dedup *e, struct nf_msg *m, enum nf_msg_kind kind,
		       uint64_t now)
{
	m->kind = kind;
	nf_msg_render_text(m);
	route(n, m);
	if (!e)
		return;
	e->window_start_ns = now;
	e->notified_count = m->count;
	e->pending = 0;
	nf_msg_unref(e->latest);
	e->latest = NULL;
}

int notify_submit(struct notify *n, const json_t *record)
{
	struct nf_dedup *e;
	struct nf_msg *m;
	uint64_t now;
	bool created, lifecycle, open;
	int rc;

	if (!n)
		return -EINVAL;
	now = nf_now(n);
	rc = nf_msg_from_record(record, n->hostname, now, &m);
	if (rc < 0)
		return rc;
	lifecycle = strcmp(m->update, "acknowledge") == 0 || strcmp(m->update, "resolve") == 0;
	open = strcmp(m->update, "open") == 0;
	pthread_mutex_lock(&n->lock);
	if (n->shut)
		goto out;
	if (lifecycle) {
		/* Pending matches are reported before the alert is closed. */
		e = dedup_get(n, m, false, &created, now);
		if (e) {
			flush_summary(n, e, now);
			if (strcmp(m->update, "resolve") == 0)
				dedup_remove(n, e);
		}
		notify_now(n, NULL, m, NF_MSG_UPDATE, now);
		goto out;
	}
	if (n->cfg.window_ms == 0) {
		notify_now(n, NULL, m, open ? NF_MSG_ALERT : NF_MSG_REPEAT, now);
		goto out;
	}
	e = dedup_get(n, m, true, &created, now);
	if (!e) {
		/* Out of memory for the table: better a duplicate than silence. */
		notify_now(n, NULL, m, open ? NF_MSG_ALERT : NF_MSG_REPEAT, now);
	} else if (created) {
		notify_now(n, e, m, open ? NF_MSG_ALERT : NF_MSG_REPEAT, now);
	} else if (open) {
		flush_summary(n, e, now);
		notify_now(n, e, m, NF_MSG_ALERT, now);
	} else if (now < e->window_start_ns + window_ns(n)) {
		e->pending++;
		nf_msg_unref(e->latest);
		e->latest = nf_msg_ref(m);
		n->dedup_suppressed++;
		route_suppressed(n, m);
	} else if (e->pending) {
		/* The window ended before the timer noticed: this match joins the
		 * summary. */
		e->pending++;
		nf_msg_unref(e->latest);
		e->latest = nf_msg_ref(m);
		flush_summary(n, e, now);
	} else {
		notify_now(n, e, m, NF_MSG_REPEAT, now);
	}
out:
	pthread_mutex_unlock(&n->lock);
	nf_msg_unref(m);
	return 0;
}

void notify_tick(struct notify *n)
{
	uint64_t now, win;

	if (!n)
		return;
	now = nf_now(n);
	win = window_ns(n);
	pthread_mutex_lock(&n->lock);
	for (size_t b = 0; n->dedup && b < n->dedup_buckets; b++) {
		struct nf_dedup *e = n->dedup[b];

		while (e) {
			struct nf_dedup *next = e->next;

			if (now >= e->window_start_ns + win) {
				if (e->pending)
					flush_summary(n, e, now);
				else
					dedup_remove(n, e);
			}
			e = next;
		}
	}
	for (size_t i = 0; i < n->nchans; i++)
		if (n->chans[i].cfg.type->tick)
			n->chans[i].cfg.type->tick(&n->chans[i], now);
	pthread_mutex_unlock(&n->lock);
}

/* ---- the timer ------------------------------------------------------------------------ */

static void *timer_main(void *arg)
{
	struct notify *n = arg;
	struct timespec ts;

	for (;;) {
		pthread_mutex_lock(&n->timer_lock);
		if (!n->stopping) {
			clock_gettime(CLOCK_MONOTONIC, &ts);
			ts.tv_sec += 1;
			pthread_cond_timedwait(&n->timer_cond, &n->timer_lock, &ts);
		}
		if (n->stopping) {
			pthread_mutex_unlock(&n->timer_lock);
			break;
		}
		pthread_mutex_unlock(&n->timer_lock);
		notify_tick(n);
	}
	return NULL;
}

/* ---- lifecycle ------------------------------------------------------------------------- */

int notify_check_config(const json_t *alerts_cfg, struct vg_diag *d)
{
	struct nf_config cfg;
	int rc;

	if (d)
		vg_diag_clear(d);
	/* A fixed state directory so that checking never depends on $HOME. */
	rc = nf_config_parse(alerts_cfg, "/nonexistent-state", &cfg, d);
	if (rc == 0)
		nf_config_release(&cfg);
	return rc;
}

int notify_check_channel(const json_t *chan, size_t index, struct vg_diag *d)
{
	if (d)
		vg_diag_clear(d);
	return nf_config_check_channel(chan, index, d);
}

int notify_new(const json_t *alerts_cfg, const struct notify_opts *opts, struct notify **out,
	       char *err, size_t errlen)
{
	struct notify *n;
	struct vg_diag d;
	pthread_condattr_t ca;
	bool network = false;
	int rc;

	*out = NULL;
	n = vg_calloc(1, sizeof(*n));
	if (!n) {
		snprintf(err, errlen, "out of memory");
		return -ENOMEM;
	}
	vg_diag_clear(&d);
	rc = nf_config_parse(alerts_cfg, opts ? opts->state_dir : NULL, &n->cfg, &d);
	if (rc < 0) {
		snprintf(err, errlen, "%s", d.msg[0] ? d.msg : strerror(-rc));
		vg_free(n);
		return rc;
	}
	pthread_mutex_init(&n->lock, NULL);
	pthread_mutex_init(&n->timer_lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&n->timer_cond, &ca);
	pthread_condattr_destroy(&ca);
	if (opts) {
		n->log_fn = opts->log;
		n->log_arg = opts->log_arg;
		n->now_fn = opts->now_ns;
		n->clock_arg = opts->clock_arg;
		n->flush_timeout_ms = opts->flush_timeout_ms;
	}
	if (!n->flush_timeout_ms)
		n->flush_timeout_ms = 2000;
	if (opts && opts->hostname)
		snprintf(n->hostname, sizeof(n->hostname), "%s", opts->hostname);
	else if (gethostname(n->hostname, sizeof(n->hostname) - 1) < 0)
		snprintf(n->hostname, sizeof(n->hostname), "localhost");

	for (size_t i = 0; i < n->cfg.nchans; i++)
		if (n->cfg.chans[i].url)
			network = true;
	/* curl_global_init is reference counted and, in the libcurl builds we
	 * support (>= 7.84), thread-safe. */
	if (network) {
		if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
			snprintf(err, errlen, "cannot initialise libcurl");
			rc = -EIO;
			goto fail;
		}
		n->curl_inited = true;
	}
	n->dedup_buckets = DEDUP_BUCKETS;
	n->dedup = vg_calloc(n->dedup_buckets, sizeof(*n->dedup));
	n->chans = vg_calloc(n->cfg.nchans ? n->cfg.nchans : 1, sizeof(*n->chans));
	if (!n->dedup || !n->chans) {
		snprintf(err, errlen, "out of memory");
		rc = -ENOMEM;
		goto fail;
	}
	for (size_t i = 0; i < n->cfg.nchans; i++) {
		rc = nf_chan_init(&n->chans[i], n, &n->cfg.chans[i]);
		if (rc < 0) {
			snprintf(err, errlen, "alerts: channel '%s': %s", n->cfg.chans[i].name,
				 strerror(-rc));
			goto fail;
		}
		n->nchans++;
	}
	for (size_t i = 0; i < n->nchans; i++) {
		rc = nf_chan_start(&n->chans[i]);
		if (rc < 0) {
			snprintf(err, errlen, "alerts: channel '%s': cannot start its thread: %s",
				 n->chans[i].cfg.name, strerror(-rc));
			goto fail;
		}
	}
	rc = -pthread_create(&n->timer, NULL, timer_main, n);
	if (rc < 0) {
		snprintf(err, errlen, "alerts: cannot start the timer thread: %s", strerror(-rc));
		goto fail;
	}
	n->timer_started = true;
	*out = n;
	return 0;
fail:
	notify_free(n);
	return rc;
}

int notify_flush(struct notify *n, uint32_t timeout_ms)
{
	uint64_t deadline = vg_mono_ns() + (uint64_t)timeout_ms * 1000000ull;
	int rc = 0;

	for (size_t i = 0; i < n->nchans && rc == 0; i++)
		rc = nf_chan_wait_idle(&n->chans[i], deadline);
	return rc;
}

static json_t *time_or_null(uint64_t ns)
{
	char buf[40];

	if (!ns)
		return json_null();
	vg_format_time(ns, buf, sizeof(buf));
	return json_string(buf);
}

json_t *notify_stats_json(struct notify *n)
{
	json_t *o = json_object(), *arr = json_array();
	int rc = 0;

	if (!o || !arr)
		goto fail;
	pthread_mutex_lock(&n->lock);
	rc |= json_object_set_new(o, "window_s", json_integer((json_int_t)(n->cfg.window_ms / 1000)));
	rc |= json_object_set_new(o, "tracked", json_integer((json_int_t)n->dedup_count));
	rc |= json_object_set_new(o, "suppressed", json_integer((json_int_t)n->dedup_suppressed));
	rc |= json_object_set_new(o, "summaries", json_integer((json_int_t)n->summaries));
	pthread_mutex_unlock(&n->lock);
	for (size_t i = 0; i < n->nchans; i++) {
		struct nf_chan *c = &n->chans[i];
		json_t *s;

		pthread_mutex_lock(&c->lock);
		s = json_pack("{s:s, s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:o, s:o, s:o}",
			      "name", c->cfg.name, "type", c->cfg.type->name, "target",
			      c->cfg.target, "min_severity", nf_sev_name(c->cfg.min_sev), "queued",
			      (json_int_t)c->qlen, "sent", (json_int_t)c->sent, "failed",
			      (json_int_t)c->failed, "retried", (json_int_t)c->retried, "dropped",
			      (json_int_t)c->dropped, "suppressed", (json_int_t)c->suppressed,
			      "last_error", c->last_error[0] ? json_string(c->last_error) : json_null(),
			      "last_error_time", time_or_null(c->last_error_ns), "last_ok",
			      time_or_null(c->last_ok_ns));
		pthread_mutex_unlock(&c->lock);
		if (json_array_append_new(arr, s) < 0)
			goto fail;
	}
	if (rc || json_object_set_new(o, "channels", arr) < 0) {
		arr = NULL;
		goto fail;
	}
	return o;
fail:
	json_decref(arr);
	json_decref(o);
	return NULL;
}

void notify_shutdown(struct notify *n)
{
	uint64_t deadline;

	if (!n)
		return;
	pthread_mutex_lock(&n->lock);
	if (n->shut) {
		pthread_mutex_unlock(&n->lock);
		return;
	}
	n->shut = true;
	pthread_mutex_unlock(&n->lock);

	if (n->timer_started) {
		pthread_mutex_lock(&n->timer_lock);
		n->stopping = true;
		pthread_cond_signal(&n->timer_cond);
		pthread_mutex_unlock(&n->timer_lock);
		pthread_join(n->timer, NULL);
		n->timer_started = false;
	}
	/* Matches still held back in a window are summarised now rather than
	 * forgotten. */
	pthread_mutex_lock(&n->lock);
	for (size_t b = 0; n->dedup && b < n->dedup_buckets; b++)
		for (struct nf_dedup *e = n->dedup[b]; e; e = e->next)
			flush_summary(n, e, nf_now(n));
	pthread_mutex_unlock(&n->lock);

	deadline = vg_mono_ns() + (uint64_t)n->flush_timeout_ms * 1000000ull;
	for (size_t i = 0; i < n->nchans; i++)
		nf_chan_stop(&n->chans[i], deadline);
	for (size_t i = 0; i < n->nchans; i++)
		nf_chan_join(&n->chans[i]);
}

void notify_free(struct notify *n)
{
	if (!n)
		return;
	notify_shutdown(n);
	for (size_t i = 0; i < n->nchans; i++)
		nf_chan_release(&n->chans[i]);
	vg_free(n->chans);
	for (size_t b = 0; n->dedup && b < n->dedup_buckets; b++)
		while (n->dedup[b])
			dedup_remove(n, n->dedup[b]);
	vg_free(n->dedup);
	if (n->curl_inited)
		curl_global_cleanup();
	nf_config_release(&n->cfg);
	pthread_cond_destroy(&n->timer_cond);
	pthread_mutex_destroy(&n->timer_lock);
	pthread_mutex_destroy(&n->lock);
	vg_free(n);
}
