/*
 * deliver.c - the delivery engine of the queued channel types: one thread
 * and one bounded queue per channel (so a slow or dead receiver only ever
 * delays itself), the retry policy, and the libcurl plumbing the network
 * types share (HTTP(S) delivery with its status classification, the multi
 * handle polled in slices).  The types themselves are in ch_*.c.
 *
 * Retry policy (the engine's, not the transport's, as in Fluent Bit): a
 * transport reports OK, RETRY (connection errors, timeouts, HTTP 5xx, 408
 * and 429, SMTP 4xx) or FAIL (other HTTP 4xx, SMTP 5xx, a refused login, a
 * malformed request).  RETRY waits backoff * 2^(attempt-1), capped at
 * backoff_max, with jitter in [d/2, d], or what Retry-After said (at most
 * 10 minutes), and gives up after max_attempts.
 *
 * Shutdown: nf_chan_stop() gives the worker until a deadline to empty its
 * queue.  Transfers run on a curl multi handle polled in short slices so
 * that, at the deadline, an in-flight request is abandoned instead of
 * holding the daemon's exit hostage; what is left is counted as dropped.
 *
 * Secrets: errors name the curl error, the HTTP status and at most a short
 * piece of the receiver's answer; never the URL (only c->cfg.target, its
 * scheme and host), a header, a token or a password.
 */
#include "notify_int.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>

#include "vigil_config.h"

#define RETRY_AFTER_MAX_MS 600000ull
#define POLL_SLICE_MS 250
#define ANSWER_MAX 160 /* bytes of a receiver's answer kept for an error message */

const char *const nf_http_schemes[] = { "http", "https", NULL };

/* ---- backoff ------------------------------------------------------------------------ */

static uint64_t rng_next(uint64_t *s)
{
	/* xorshift64*: jitter only needs to decorrelate retries, not secrecy. */
	*s ^= *s >> 12;
	*s ^= *s << 25;
	*s ^= *s >> 27;
	return *s * 2685821657736338717ull;
}

uint64_t nf_backoff_ms(const struct nf_chan_cfg *cfg, uint32_t attempt, uint64_t *rng)
{
	uint64_t d = cfg->backoff_ms;

	for (uint32_t i = 1; i < attempt && d < cfg->backoff_max_ms; i++)
		d *= 2;
	if (d > cfg->backoff_max_ms)
		d = cfg->backoff_max_ms;
	if (d < 2)
		return d;
	return d / 2 + rng_next(rng) % (d - d / 2 + 1);
}

int nf_parse_retry_after(const char *v, uint64_t now_s, uint64_t *ms)
{
	char *end;
	unsigned long long secs;
	time_t t;

	while (*v == ' ' || *v == '\t')
		v++;
	if (*v >= '0' && *v <= '9') {
		errno = 0;
		secs = strtoull(v, &end, 10);
		while (*end == ' ' || *end == '\t')
			end++;
		if (errno || *end)
			return -EINVAL;
		*ms = secs > RETRY_AFTER_MAX_MS / 1000 ? RETRY_AFTER_MAX_MS : secs * 1000;
		return 0;
	}
	t = curl_getdate(v, NULL);
	if (t < 0)
		return -EINVAL;
	*ms = (uint64_t)t > now_s ? ((uint64_t)t - now_s) * 1000 : 0;
	if (*ms > RETRY_AFTER_MAX_MS)
		*ms = RETRY_AFTER_MAX_MS;
	return 0;
}

/* ---- shared curl plumbing ------------------------------------------------------------- */

static bool chan_abort_due(struct nf_chan *c, uint64_t *slice_ms)
{
	bool due = false;
	uint64_t now = vg_mono_ns();

	pthread_mutex_lock(&c->lock);
	*slice_ms = POLL_SLICE_MS;
	if (c->stopping) {
		if (now >= c->deadline_mono)
			due = true;
		else if ((c->deadline_mono - now) / 1000000 + 1 < *slice_ms)
			*slice_ms = (c->deadline_mono - now) / 1000000 + 1;
	}
	pthread_mutex_unlock(&c->lock);
	return due;
}

int nf_curl_run(struct nf_chan *c, void *easy, bool *aborted)
{
	CURLM *multi = c->curl_multi;
	CURLcode res = CURLE_OK;
	CURLMsg *msg;
	int running = 1, left;
	uint64_t slice;

	*aborted = false;
	if (!multi || curl_multi_add_handle(multi, easy) != CURLM_OK)
		return CURLE_OUT_OF_MEMORY;
	for (;;) {
		if (curl_multi_perform(multi, &running) != CURLM_OK) {
			res = CURLE_SEND_ERROR;
			break;
		}
		if (!running)
			break;
		if (chan_abort_due(c, &slice)) {
			*aborted = true;
			res = CURLE_ABORTED_BY_CALLBACK;
			break;
		}
		if (curl_multi_poll(multi, NULL, 0, (int)slice, NULL) != CURLM_OK) {
			res = CURLE_RECV_ERROR;
			break;
		}
	}
	if (!running)
		while ((msg = curl_multi_info_read(multi, &left)))
			if (msg->msg == CURLMSG_DONE && msg->easy_handle == easy)
				res = msg->data.result;
	curl_multi_remove_handle(multi, easy);
	return res;
}

bool nf_curl_permanent(int res)
{
	switch ((CURLcode)res) {
	case CURLE_UNSUPPORTED_PROTOCOL:
	case CURLE_URL_MALFORMAT:
	case CURLE_NOT_BUILT_IN:
	case CURLE_LOGIN_DENIED:
	case CURLE_REMOTE_ACCESS_DENIED:
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_USE_SSL_FAILED:
	case CURLE_FILESIZE_EXCEEDED:
		return true;
	default:
		return false;
	}
}

struct answer {
	char buf[ANSWER_MAX + 1];
	size_t len;
};

static size_t answer_write(char *p, size_t size, size_t nmemb, void *arg)
{
	struct answer *a = arg;
	size_t n = size * nmemb, take = n;

	if (take > ANSWER_MAX - a->len)
		take = ANSWER_MAX - a->len;
	memcpy(a->buf + a->len, p, take);
	a->len += take;
	a->buf[a->len] = '\0';
	return n; /* the rest is read and ignored */
}

void nf_curl_common(struct nf_chan *c, void *easy, const char *protocols)
{
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)c->cfg.connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
}

/* ---- HTTP channels: webhook, slack, teams, grafana ------------------------------------- */

/*
 * Whether a receiver's answer quotes a secret: a piece of the URL (servers
 * like to answer "Cannot POST /services/T0/B0/SECRET"), the token or a
 * header value.  Such an answer is not repeated in logs or statistics.
 */
static bool quotes_secret(const struct nf_chan *c, const char *s)
{
	char piece[NF_MAX_URL + 1];
	const char *u = c->cfg.url ? strstr(c->cfg.url, "://") : NULL;
	size_t len = 0;

	for (u = u ? u + 3 : ""; ; u++) {
		if (*u && !strchr("/?&=#@:;", *u)) {
			if (len < sizeof(piece) - 1)
				piece[len++] = *u;
			continue;
		}
		piece[len] = '\0';
		if (len >= 6 && strstr(s, piece))
			return true;
		len = 0;
		if (!*u)
			break;
	}
	/* The type's secrets, found by its key table. */
	for (size_t i = 0; i < c->cfg.type->nkeys; i++) {
		const struct nf_key *k = &c->cfg.type->keys[i];
		const void *field = (const char *)c->cfg.opts + k->off;

		if (k->kind == NF_K_SECRET) {
			const char *v = *(char *const *)field;

			if (v && strstr(s, v))
				return true;
		} else if (k->kind == NF_K_HEADERS) {
			const struct nf_strv *sv = field;

			for (size_t j = 0; j < sv->n; j++) {
				const char *v = strchr(sv->v[j], ':');

				if (v && strlen(v + 1) > 4 && strstr(s, v + 2))
					return true;
			}
		}
	}
	return false;
}

static enum nf_res http_classify(struct nf_chan *c, CURL *easy, CURLcode res, bool aborted,
			       const struct answer *ans, uint64_t *retry_after_ms, char *err,
			       size_t errlen)
{
	struct curl_header *h = NULL;
	long code = 0;
	char snippet[ANSWER_MAX + 1];

	if (aborted) {
		snprintf(err, errlen, "abandoned at shutdown");
		return NF_RES_RETRY;
	}
	if (res != CURLE_OK) {
		snprintf(err, errlen, "%s: %s (curl error %d)", c->cfg.target,
			 curl_easy_strerror(res), (int)res);
		return nf_curl_permanent(res) ? NF_RES_FAIL : NF_RES_RETRY;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	if (code >= 200 && code < 300)
		return NF_RES_OK;
	nf_oneline(snippet, sizeof(snippet), ans->buf);
	if (quotes_secret(c, snippet))
		snprintf(err, errlen, "%s: HTTP %ld (answer withheld: it quotes the URL or a "
			 "secret)", c->cfg.target, code);
	else
		snprintf(err, errlen, "%s: HTTP %ld%s%s", c->cfg.target, code,
			 snippet[0] ? ": " : "", snippet);
	if (code == 429 || code == 408 || code >= 500) {
		if (curl_easy_header(easy, "Retry-After", 0, CURLH_HEADER, -1, &h) ==
			    CURLHE_OK &&
		    nf_parse_retry_after(h->value, vg_now_ns() / 1000000000ull, retry_after_ms) < 0)
			*retry_after_ms = 0;
		return NF_RES_RETRY;
	}
	return NF_RES_FAIL;
}

static struct curl_slist *http_headers(const struct nf_http_req *req)
{
	struct curl_slist *hdrs = NULL, *tmp;
	char line[NF_MAX_STR + 64];

	tmp = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = tmp ? tmp : hdrs;
	tmp = tmp ? curl_slist_append(hdrs, "User-Agent: vigil/" VIGIL_VERSION) : NULL;
	for (size_t i = 0; tmp && req->headers && i < req->headers->n; i++)
		tmp = curl_slist_append(hdrs, req->headers->v[i]);
	if (tmp && req->bearer) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", req->bearer);
		tmp = curl_slist_append(hdrs, line);
		vg_wipe(line, sizeof(line));
	}
	if (!tmp) {
		curl_slist_free_all(hdrs);
		return NULL;
	}
	return hdrs;
}

enum nf_res nf_http_deliver(struct nf_chan *c, const struct nf_msg *m,
			    const struct nf_http_req *req, uint64_t *retry_after_ms, char *err,
			    size_t errlen)
{
	static const struct nf_http_req plain = { 0 };
	struct curl_slist *hdrs = NULL;
	struct answer ans = { .len = 0 };
	char url[NF_MAX_URL + 32];
	struct vbuf body;
	enum nf_res r = NF_RES_RETRY;
	CURL *easy = NULL;
	CURLcode res;
	size_t len;
	bool aborted;

	req = req ? req : &plain;
	ans.buf[0] = '\0';
	vbuf_init(&body, NF_BODY_MAX);
	if (c->cfg.type->format(c, m, &body) < 0) {
		snprintf(err, errlen, "cannot render the notification");
		r = NF_RES_FAIL;
		goto out;
	}
	len = strlen(c->cfg.url);
	if (req->url_suffix)
		while (len && c->cfg.url[len - 1] == '/')
			len--;
	snprintf(url, sizeof(url), "%.*s%s", (int)len, c->cfg.url,
		 req->url_suffix ? req->url_suffix : "");
	easy = curl_easy_init();
	hdrs = easy ? http_headers(req) : NULL;
	if (!hdrs) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	nf_curl_common(c, easy, "http,https");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, (const char *)body.data);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)body.len);
	if (req->method)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, req->method);
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &ans);
	res = (CURLcode)nf_curl_run(c, easy, &aborted);
	r = http_classify(c, easy, res, aborted, &ans, retry_after_ms, err, errlen);
out:
	vg_wipe(url, sizeof(url));
	if (easy)
		curl_easy_cleanup(easy);
	curl_slist_free_all(hdrs);
	vbuf_release(&body);
	return r;
}

/* ---- the worker ------------------------------------------------------------------------------ */

static void chan_note_error(struct nf_chan *c, const char *err)
{
	snprintf(c->last_error, sizeof(c->last_error), "%s", err);
	c->last_error_ns = nf_now(c->n);
}

/* Waits ms before the next attempt; false when shutdown leaves no time for it. */
static bool wait_retry(struct nf_chan *c, uint64_t ms)
{
	uint64_t until = vg_mono_ns() + ms * 1000000ull;
	struct timespec ts;
	bool go = true;

	pthread_mutex_lock(&c->lock);
	for (;;) {
		uint64_t now = vg_mono_ns(), wake = until;

		if (c->stopping && c->deadline_mono < until) {
			go = false;
			break;
		}
		if (now >= until)
			break;
		ts.tv_sec = (time_t)(wake / 1000000000ull);
		ts.tv_nsec = (long)(wake % 1000000000ull);
		pthread_cond_timedwait(&c->cond, &c->lock, &ts);
	}
	pthread_mutex_unlock(&c->lock);
	return go;
}

static bool past_deadline(struct nf_chan *c)
{
	bool past;

	pthread_mutex_lock(&c->lock);
	past = c->stopping && vg_mono_ns() >= c->deadline_mono;
	pthread_mutex_unlock(&c->lock);
	return past;
}

static void deliver_one(struct nf_chan *c, const struct nf_msg *m)
{
	char err[256];
	uint64_t delay;
	enum nf_res r;

	for (uint32_t attempt = 1;; attempt++) {
		uint64_t retry_after = 0;

		err[0] = '\0';
		r = c->cfg.type->deliver(c, m, &retry_after, err, sizeof(err));
		if (r == NF_RES_OK) {
			pthread_mutex_lock(&c->lock);
			c->sent++;
			c->last_ok_ns = nf_now(c->n);
			pthread_mutex_unlock(&c->lock);
			return;
		}
		if (r == NF_RES_RETRY && past_deadline(c))
			goto abandoned;
		if (r == NF_RES_FAIL || attempt >= c->cfg.max_attempts) {
			pthread_mutex_lock(&c->lock);
			c->failed++;
			chan_note_error(c, err);
			pthread_mutex_unlock(&c->lock);
			nf_log(c->n, VG_LOG_ERR, "alerts: channel '%s': notification for rule %s "
			       "dropped after %u attempt%s: %s", c->cfg.name, m->rule_id, attempt,
			       attempt == 1 ? "" : "s", err);
			return;
		}
		delay = retry_after ? retry_after : nf_backoff_ms(&c->cfg, attempt, &c->rng);
		pthread_mutex_lock(&c->lock);
		c->retried++;
		chan_note_error(c, err);
		pthread_mutex_unlock(&c->lock);
		nf_log(c->n, VG_LOG_WARN, "alerts: channel '%s': attempt %u failed (%s); retrying "
		       "in %llu ms", c->cfg.name, attempt, err, (unsigned long long)delay);
		if (!wait_retry(c, delay))
			goto abandoned;
	}
abandoned:
	pthread_mutex_lock(&c->lock);
	c->dropped++;
	chan_note_error(c, "abandoned at shutdown");
	pthread_mutex_unlock(&c->lock);
	nf_log(c->n, VG_LOG_ERR, "alerts: channel '%s': notification for rule %s abandoned at "
	       "shutdown", c->cfg.name, m->rule_id);
}

static void *worker_main(void *arg)
{
	struct nf_chan *c = arg;
	struct nf_msg *m;

	for (;;) {
		pthread_mutex_lock(&c->lock);
		while (!c->qlen && !c->stopping)
			pthread_cond_wait(&c->cond, &c->lock);
		if (!c->qlen) {
			pthread_mutex_unlock(&c->lock);
			break;
		}
		if (c->stopping && vg_mono_ns() >= c->deadline_mono) {
			size_t left = c->qlen;

			while (c->qlen) {
				nf_msg_unref(c->q[c->qhead]);
				c->qhead = (c->qhead + 1) % c->cfg.queue;
				c->qlen--;
			}
			c->dropped += left;
			pthread_cond_broadcast(&c->cond);
			pthread_mutex_unlock(&c->lock);
			nf_log(c->n, VG_LOG_ERR, "alerts: channel '%s': %zu queued notification%s "
			       "dropped at shutdown", c->cfg.name, left, left == 1 ? "" : "s");
			break;
		}
		m = c->q[c->qhead];
		c->qhead = (c->qhead + 1) % c->cfg.queue;
		c->qlen--;
		c->busy = true;
		pthread_mutex_unlock(&c->lock);

		deliver_one(c, m);
		nf_msg_unref(m);

		pthread_mutex_lock(&c->lock);
		c->busy = false;
		pthread_cond_broadcast(&c->cond);
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

/* ---- channel lifecycle --------------------------------------------------------------------- */

int nf_chan_init(struct nf_chan *c, struct notify *n, const struct nf_chan_cfg *cfg)
{
	pthread_condattr_t ca;
	int rc = -ENOMEM;

	memset(c, 0, sizeof(*c));
	c->n = n;
	c->cfg = *cfg;
	c->hostname = n->hostname;
	if (cfg->type->flags & NF_CT_QUEUED) {
		c->q = vg_calloc(cfg->queue, sizeof(*c->q));
		if (!c->q)
			goto fail;
	}
	if (c->cfg.url) {
		c->curl_multi = curl_multi_init();
		if (!c->curl_multi)
			goto fail;
	}
	if (cfg->type->open && (rc = cfg->type->open(c)) < 0)
		goto fail;
	if (vg_random(&c->rng, sizeof(c->rng)) < 0 || c->rng == 0)
		c->rng = vg_mono_ns() | 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->inited = true;
	return 0;
fail:
	if (c->curl_multi)
		curl_multi_cleanup(c->curl_multi);
	vg_free(c->q);
	return rc;
}

int nf_chan_start(struct nf_chan *c)
{
	int rc;

	if (!(c->cfg.type->flags & NF_CT_QUEUED))
		return 0;
	rc = pthread_create(&c->thread, NULL, worker_main, c);
	if (rc)
		return -rc;
	c->started = true;
	return 0;
}

void nf_chan_push(struct nf_chan *c, struct nf_msg *m)
{
	bool full;

	pthread_mutex_lock(&c->lock);
	full = c->qlen >= c->cfg.queue || c->stopping;
	if (full) {
		c->dropped++;
	} else {
		c->q[(c->qhead + c->qlen) % c->cfg.queue] = nf_msg_ref(m);
		c->qlen++;
		pthread_cond_broadcast(&c->cond);
	}
	pthread_mutex_unlock(&c->lock);
	if (full)
		nf_log(c->n, VG_LOG_WARN, "alerts: channel '%s': queue full, notification for "
		       "rule %s dropped", c->cfg.name, m->rule_id);
}

int nf_chan_wait_idle(struct nf_chan *c, uint64_t deadline_mono)
{
	struct timespec ts = { .tv_sec = (time_t)(deadline_mono / 1000000000ull),
			       .tv_nsec = (long)(deadline_mono % 1000000000ull) };
	int rc = 0;

	if (!c->started)
		return 0;
	pthread_mutex_lock(&c->lock);
	while ((c->qlen || c->busy) && rc == 0)
		if (pthread_cond_timedwait(&c->cond, &c->lock, &ts) == ETIMEDOUT &&
		    (c->qlen || c->busy))
			rc = -ETIMEDOUT;
	pthread_mutex_unlock(&c->lock);
	return rc;
}

void nf_chan_stop(struct nf_chan *c, uint64_t deadline_mono)
{
	if (!c->inited)
		return;
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	c->deadline_mono = deadline_mono;
	pthread_cond_broadcast(&c->cond);
	pthread_mutex_unlock(&c->lock);
	/* curl_multi_wakeup is the one multi call that may come from another thread. */
	if (c->curl_multi)
		curl_multi_wakeup(c->curl_multi);
}

void nf_chan_join(struct nf_chan *c)
{
	if (!c->started)
		return;
	pthread_join(c->thread, NULL);
	c->started = false;
}

void nf_chan_release(struct nf_chan *c)
{
	if (!c->inited)
		return;
	while (c->qlen) {
		nf_msg_unref(c->q[c->qhead]);
		c->qhead = (c->qhead + 1) % c->cfg.queue;
		c->qlen--;
	}
	vg_free(c->q);
	if (c->curl_multi)
		curl_multi_cleanup(c->curl_multi);
	if (c->cfg.type->close)
		c->cfg.type->close(c);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	c->inited = false;
}
