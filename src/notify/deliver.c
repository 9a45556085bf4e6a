/*
 * deliver.c - the queued channels: one thread and one bounded queue per
 * channel (so a slow or dead receiver only ever delays itself), the retry
 * policy, and the transports: HTTP(S) for webhook, Slack, Teams and
 * Grafana, SMTP(S) for email (both through libcurl), an append-only JSON
 * lines file, and a local syslog socket.
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

bool nf_type_queued(enum nf_chan_kind t)
{
	return t != NF_CH_LOG && t != NF_CH_SESSION;
}

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

/* Runs one transfer on the channel's multi handle; *aborted at the deadline. */
static CURLcode run_transfer(struct nf_chan *c, CURL *easy, bool *aborted)
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

/* Transport errors retrying cannot fix. */
static bool curl_permanent(CURLcode res)
{
	switch (res) {
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

static void common_opts(struct nf_chan *c, CURL *easy, const char *protocols)
{
	curl_easy_setopt(easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(easy, CURLOPT_TIMEOUT_MS, (long)c->cfg.timeout_ms);
	curl_easy_setopt(easy, CURLOPT_CONNECTTIMEOUT_MS, (long)c->cfg.connect_timeout_ms);
	curl_easy_setopt(easy, CURLOPT_PROTOCOLS_STR, protocols);
	curl_easy_setopt(easy, CURLOPT_FOLLOWLOCATION, 0L);
}

/* ---- HTTP channels: webhook, slack, teams, grafana ------------------------------------- */

static json_t *http_payload(struct nf_chan *c, const struct nf_msg *m)
{
	switch (c->cfg.type) {
	case NF_CH_SLACK:
		return nf_fmt_slack(m);
	case NF_CH_TEAMS:
		return nf_fmt_teams(m, c->cfg.teams_format);
	case NF_CH_GRAFANA:
		return nf_fmt_grafana(m, &c->cfg);
	default:
		return nf_fmt_webhook(m);
	}
}

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
	if (c->cfg.token && strstr(s, c->cfg.token))
		return true;
	for (size_t i = 0; i < c->cfg.headers.n; i++) {
		const char *v = strchr(c->cfg.headers.v[i], ':');

		if (v && strlen(v + 1) > 4 && strstr(s, v + 2))
			return true;
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
		return curl_permanent(res) ? NF_RES_FAIL : NF_RES_RETRY;
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

static enum nf_res http_send(struct nf_chan *c, const struct nf_msg *m, uint64_t *retry_after_ms,
			   char *err, size_t errlen)
{
	struct curl_slist *hdrs = NULL, *tmp;
	struct answer ans = { .len = 0 };
	char url[NF_MAX_URL + 32], line[NF_MAX_STR + 64];
	json_t *body = http_payload(c, m);
	char *text = body ? json_dumps(body, JSON_COMPACT) : NULL;
	enum nf_res r = NF_RES_RETRY;
	CURL *easy = NULL;
	CURLcode res;
	bool aborted;

	ans.buf[0] = '\0';
	if (!text || strlen(text) > NF_BODY_MAX) {
		snprintf(err, errlen, "cannot render the notification");
		r = NF_RES_FAIL;
		goto out;
	}
	if (c->cfg.type == NF_CH_GRAFANA) {
		size_t len = strlen(c->cfg.url);

		while (len && c->cfg.url[len - 1] == '/')
			len--;
		snprintf(url, sizeof(url), "%.*s/api/annotations", (int)len, c->cfg.url);
	} else {
		snprintf(url, sizeof(url), "%s", c->cfg.url);
	}
	easy = curl_easy_init();
	if (!easy) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	tmp = curl_slist_append(hdrs, "Content-Type: application/json");
	hdrs = tmp ? tmp : hdrs;
	tmp = tmp ? curl_slist_append(hdrs, "User-Agent: vigil/" VIGIL_VERSION) : NULL;
	for (size_t i = 0; tmp && i < c->cfg.headers.n; i++)
		tmp = curl_slist_append(hdrs, c->cfg.headers.v[i]);
	if (tmp && c->cfg.token) {
		snprintf(line, sizeof(line), "Authorization: Bearer %s", c->cfg.token);
		tmp = curl_slist_append(hdrs, line);
		vg_wipe(line, sizeof(line));
	}
	if (!tmp) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	common_opts(c, easy, "http,https");
	curl_easy_setopt(easy, CURLOPT_URL, url);
	curl_easy_setopt(easy, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDS, text);
	curl_easy_setopt(easy, CURLOPT_POSTFIELDSIZE, (long)strlen(text));
	if (c->cfg.type == NF_CH_WEBHOOK && c->cfg.method == NF_METHOD_PUT)
		curl_easy_setopt(easy, CURLOPT_CUSTOMREQUEST, "PUT");
	curl_easy_setopt(easy, CURLOPT_WRITEFUNCTION, answer_write);
	curl_easy_setopt(easy, CURLOPT_WRITEDATA, &ans);
	res = run_transfer(c, easy, &aborted);
	r = http_classify(c, easy, res, aborted, &ans, retry_after_ms, err, errlen);
out:
	vg_wipe(url, sizeof(url));
	if (easy)
		curl_easy_cleanup(easy);
	curl_slist_free_all(hdrs);
	free(text);
	json_decref(body);
	return r;
}

/* ---- email ------------------------------------------------------------------------------ */

struct upload {
	const uint8_t *p;
	size_t len, off;
};

static size_t upload_read(char *buf, size_t size, size_t nitems, void *arg)
{
	struct upload *u = arg;
	size_t n = size * nitems;

	if (n > u->len - u->off)
		n = u->len - u->off;
	memcpy(buf, u->p + u->off, n);
	u->off += n;
	return n;
}

static enum nf_res email_send(struct nf_chan *c, const struct nf_msg *m, uint64_t *retry_after_ms,
			    char *err, size_t errlen)
{
	struct curl_slist *rcpt = NULL, *tmp = NULL;
	char addr[300];
	struct upload up;
	struct vbuf mail;
	enum nf_res r = NF_RES_RETRY;
	CURL *easy = NULL;
	CURLcode res;
	long code = 0;
	bool aborted;
	int rc;

	vbuf_init(&mail, NF_BODY_MAX);
	rc = nf_fmt_email(m, &c->cfg, c->n->hostname, &mail);
	if (rc < 0) {
		snprintf(err, errlen, "cannot render the mail: %s", strerror(-rc));
		r = NF_RES_FAIL;
		goto out;
	}
	for (size_t i = 0; i < c->cfg.to.n; i++) {
		snprintf(addr, sizeof(addr), "<%s>", c->cfg.to.v[i]);
		tmp = curl_slist_append(rcpt, addr);
		if (!tmp)
			break;
		rcpt = tmp;
	}
	easy = curl_easy_init();
	if (!tmp || !easy) {
		snprintf(err, errlen, "out of memory");
		goto out;
	}
	up = (struct upload){ mail.data, mail.len, 0 };
	common_opts(c, easy, "smtp,smtps");
	curl_easy_setopt(easy, CURLOPT_URL, c->cfg.url);
	snprintf(addr, sizeof(addr), "<%s>", c->cfg.from);
	curl_easy_setopt(easy, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(easy, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(easy, CURLOPT_READDATA, &up);
	curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)mail.len);
	curl_easy_setopt(easy, CURLOPT_USE_SSL,
			 c->cfg.starttls == 1   ? (long)CURLUSESSL_ALL
			 : c->cfg.starttls == 0 ? (long)CURLUSESSL_NONE
						: (long)CURLUSESSL_TRY);
	if (c->cfg.username)
		curl_easy_setopt(easy, CURLOPT_USERNAME, c->cfg.username);
	if (c->cfg.password)
		curl_easy_setopt(easy, CURLOPT_PASSWORD, c->cfg.password);
	res = run_transfer(c, easy, &aborted);
	if (aborted) {
		snprintf(err, errlen, "abandoned at shutdown");
	} else if (res == CURLE_OK) {
		r = NF_RES_OK;
	} else {
		/* SMTP says itself whether to try again: 4xx transient, 5xx not. */
		curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
		snprintf(err, errlen, "%s: %s (curl error %d, SMTP %ld)", c->cfg.target,
			 curl_easy_strerror(res), (int)res, code);
		if (code >= 500 && code < 600)
			r = NF_RES_FAIL;
		else if (code >= 400 && code < 500)
			r = NF_RES_RETRY;
		else
			r = curl_permanent(res) ? NF_RES_FAIL : NF_RES_RETRY;
	}
	(void)retry_after_ms;
out:
	if (easy)
		curl_easy_cleanup(easy);
	curl_slist_free_all(rcpt);
	vbuf_release(&mail);
	return r;
}

/* ---- file -------------------------------------------------------------------------------- */

static bool errno_permanent(int e)
{
	return e == EACCES || e == EPERM || e == EISDIR || e == ENOTDIR || e == EROFS ||
	       e == ENAMETOOLONG || e == ELOOP;
}

static enum nf_res file_send(struct nf_chan *c, const struct nf_msg *m, uint64_t *retry_after_ms,
			   char *err, size_t errlen)
{
	char dir[PATH_MAX], *slash;
	json_t *o = nf_fmt_webhook(m);
	char *text = o ? json_dumps(o, JSON_COMPACT) : NULL;
	size_t len, off = 0;
	int fd = -1, e = 0;
	enum nf_res r = NF_RES_OK;

	(void)retry_after_ms;
	if (!text) {
		snprintf(err, errlen, "cannot render the notification");
		r = NF_RES_FAIL;
		goto out;
	}
	/* The directory is made only when the file cannot be opened for want
	 * of it: not a handful of mkdir calls per notification. */
	fd = open(c->cfg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	e = fd < 0 ? errno : 0;
	if (e == ENOENT) {
		snprintf(dir, sizeof(dir), "%s", c->cfg.path);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			e = -vg_mkdir_p(dir, 0700);
		}
		if (e == 0) {
			fd = open(c->cfg.path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
			e = fd < 0 ? errno : 0;
		}
	}
	if (e == 0) {
		/* One write of the whole line, newline included, so that lines from
		 * another writer never interleave inside ours. */
		len = strlen(text);
		text[len++] = '\n';
		while (off < len) {
			ssize_t w = write(fd, text + off, len - off);

			if (w < 0 && errno == EINTR)
				continue;
			if (w <= 0) {
				e = w < 0 ? errno : EIO;
				break;
			}
			off += (size_t)w;
		}
	}
	if (e) {
		snprintf(err, errlen, "%s: %s", c->cfg.target, strerror(e));
		r = errno_permanent(e) ? NF_RES_FAIL : NF_RES_RETRY;
	}
out:
	if (fd >= 0)
		close(fd);
	free(text);
	json_decref(o);
	return r;
}

/* ---- syslog ---------------------------------------------------------------------------------- */

/*
 * syslog(3) is not used: openlog() is process-wide, so two channels (or
 * another part of the daemon) could not keep their own ident and facility,
 * and tests could not point it at a socket of their own.  This speaks the
 * same protocol glibc does on /dev/log: a datagram per message, or a stream
 * of NUL-terminated messages where the socket is a stream.
 */
static int syslog_connect(struct nf_chan *c, char *err, size_t errlen)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = c->cfg.timeout_ms / 1000,
			      .tv_usec = (c->cfg.timeout_ms % 1000) * 1000 };
	int types[] = { SOCK_DGRAM, SOCK_STREAM };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", c->cfg.socket);
	for (size_t i = 0; i < VG_ARRAY_LEN(types); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0), e;

		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -errno;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			c->sock = fd;
			c->sock_stream = types[i] == SOCK_STREAM;
			return 0;
		}
		e = errno;
		close(fd);
		if (e != EPROTOTYPE) {
			snprintf(err, errlen, "%s: %s", c->cfg.target, strerror(e));
			return -e;
		}
	}
	snprintf(err, errlen, "%s: not a syslog socket", c->cfg.target);
	return -EPROTOTYPE;
}

static enum nf_res syslog_send(struct nf_chan *c, const struct nf_msg *m, uint64_t *retry_after_ms,
			     char *err, size_t errlen)
{
	char line[2400];
	ssize_t w;
	int len;

	(void)retry_after_ms;
	len = nf_fmt_syslog(m, &c->cfg, getpid(), line, sizeof(line));
	if (len < 0) {
		snprintf(err, errlen, "cannot render the message");
		return NF_RES_FAIL;
	}
	if (c->sock < 0 && syslog_connect(c, err, errlen) < 0)
		return NF_RES_RETRY;
	/* A stream socket takes the terminating NUL as the message separator. */
	w = send(c->sock, line, (size_t)len + (c->sock_stream ? 1 : 0), MSG_NOSIGNAL);
	if (w == (ssize_t)len + (c->sock_stream ? 1 : 0))
		return NF_RES_OK;
	snprintf(err, errlen, "%s: %s", c->cfg.target, w < 0 ? strerror(errno) : "short write");
	close(c->sock);
	c->sock = -1;
	return NF_RES_RETRY;
}

static void syslog_close(struct nf_chan *c)
{
	if (c->sock >= 0)
		close(c->sock);
	c->sock = -1;
}

static const struct nf_chan_ops http_ops = { http_send, NULL };
static const struct nf_chan_ops email_ops = { email_send, NULL };
static const struct nf_chan_ops file_ops = { file_send, NULL };
static const struct nf_chan_ops syslog_ops = { syslog_send, syslog_close };

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
		r = c->ops->send(c, m, &retry_after, err, sizeof(err));
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
	if (c->ops->close)
		c->ops->close(c);
	return NULL;
}

/* ---- channel lifecycle --------------------------------------------------------------------- */

int nf_chan_init(struct nf_chan *c, struct notify *n, const struct nf_chan_cfg *cfg)
{
	pthread_condattr_t ca;

	memset(c, 0, sizeof(*c));
	c->n = n;
	c->cfg = *cfg;
	c->sock = -1;
	switch (cfg->type) {
	case NF_CH_WEBHOOK:
	case NF_CH_SLACK:
	case NF_CH_TEAMS:
	case NF_CH_GRAFANA:
		c->ops = &http_ops;
		break;
	case NF_CH_EMAIL:
		c->ops = &email_ops;
		break;
	case NF_CH_FILE:
		c->ops = &file_ops;
		break;
	case NF_CH_SYSLOG:
		c->ops = &syslog_ops;
		break;
	default:
		c->ops = NULL;
		break;
	}
	if (nf_type_queued(cfg->type)) {
		c->q = vg_calloc(cfg->queue, sizeof(*c->q));
		if (!c->q)
			return -ENOMEM;
	}
	if (c->cfg.url) {
		c->curl_multi = curl_multi_init();
		if (!c->curl_multi) {
			vg_free(c->q);
			return -ENOMEM;
		}
	}
	if (vg_random(&c->rng, sizeof(c->rng)) < 0 || c->rng == 0)
		c->rng = vg_mono_ns() | 1;
	pthread_mutex_init(&c->lock, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&c->cond, &ca);
	pthread_condattr_destroy(&ca);
	c->inited = true;
	return 0;
}

int nf_chan_start(struct nf_chan *c)
{
	int rc;

	if (!nf_type_queued(c->cfg.type))
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
	if (c->sock >= 0)
		close(c->sock);
	pthread_cond_destroy(&c->cond);
	pthread_mutex_destroy(&c->lock);
	c->inited = false;
}
