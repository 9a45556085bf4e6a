/*
 * ch_syslog.c - the `syslog` channel: RFC 3164 messages on a local socket
 * (default /dev/log), "vigil KIND key=value ..." with the facility and
 * ident configured and the severity mapped from the alert's.
 */
#include "notify_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

struct syslog_opts {
	char *ident;
	int facility; /* the facility code (1 user, 4 auth, 16 local0 ...) */
	char *socket; /* the local socket */
};

/* RFC 5424 facility codes. */
static const struct nf_choice facilities[] = {
	{ "kern", 0 },	   { "user", 1 },	 { "mail", 2 },	    { "daemon", 3 },
	{ "auth", 4 },	   { "syslog", 5 },	 { "lpr", 6 },	    { "news", 7 },
	{ "uucp", 8 },	   { "cron", 9 },	 { "authpriv", 10 }, { "ftp", 11 },
	{ "local0", 16 },  { "local1", 17 },	 { "local2", 18 },  { "local3", 19 },
	{ "local4", 20 },  { "local5", 21 },	 { "local6", 22 },  { "local7", 23 },
	{ NULL, 0 },
};

#define OFF(f) offsetof(struct syslog_opts, f)
static const struct nf_key syslog_keys[] = {
	{ "ident", NF_K_STR, 0, OFF(ident), 1, 48, NULL },
	{ "facility", NF_K_ENUM, 0, OFF(facility), 0, 0, facilities },
	{ "socket", NF_K_STR, 0, OFF(socket), 1, 107, NULL },
};

/* The worker's connection. */
struct syslog_conn {
	int sock; /* -1: not connected */
	bool stream;
};

static void syslog_defaults(void *opts)
{
	struct syslog_opts *o = opts;

	o->facility = 1; /* user, as syslog(3) */
}

static int syslog_validate(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *state_dir)
{
	struct syslog_opts *o = c->opts;

	if (!o->ident && !(o->ident = vg_strdup("vigil")))
		return -ENOMEM;
	for (const char *p = o->ident; *p; p++)
		if (*p == ' ' || *p == ':' || *p == '[' || (unsigned char)*p > 0x7e)
			return nf_cfg_fail(x, VG_DIAG_INVALID, "ident",
					   "use printable ASCII without spaces, ':' or '['");
	if (!o->socket && !(o->socket = vg_strdup("/dev/log")))
		return -ENOMEM;
	if (o->socket[0] != '/')
		return nf_cfg_fail(x, VG_DIAG_INVALID, "socket", "must be an absolute path");
	snprintf(c->target, sizeof(c->target), "%.299s", o->socket);
	nf_utf8_fix_tail(c->target);
	return 0;
}

/* Syslog severities (RFC 5424) by alert severity. */
static int syslog_severity(int sev)
{
	static const int s[] = { 6 /* info */, 5 /* notice */, 4 /* warning */, 3 /* err */,
				 2 /* crit */ };

	return sev >= 0 && sev <= NF_SEV_CRITICAL ? s[sev] : 6;
}

/* key=value, the value quoted (with \" and \\) when it has spaces or quotes. */
static void kv(struct nf_tbuf *t, const char *key, const char *v)
{
	bool quote = false;

	if (!*v)
		return;
	for (const char *p = v; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\')
			quote = true;
	if (!quote) {
		nf_tb_add(t, " %s=%s", key, v);
		return;
	}
	nf_tb_add(t, " %s=\"", key);
	for (const char *p = v; *p && t->len + 4 < t->cap;) {
		size_t n = nf_utf8_len(p);

		if (*p == '"' || *p == '\\')
			nf_tb_add(t, "\\%c", *p);
		else
			nf_tb_add(t, "%.*s", (int)n, p); /* whole characters only */
		p += n;
	}
	nf_tb_add(t, "\"");
}

/* An RFC 3164 datagram "<PRI>Mmm dd hh:mm:ss ident[pid]: ..." into buf. */
static int syslog_line(const struct nf_msg *m, const struct syslog_opts *c, pid_t pid, char *buf,
		       size_t cap)
{
	char raw[2048], count[24], more[24];
	struct nf_tbuf t = { raw, sizeof(raw), 0 };
	time_t secs = (time_t)(m->time_ns / 1000000000ull);
	struct tm tmv;
	int n;

	if (!localtime_r(&secs, &tmv))
		return -EINVAL;
	raw[0] = '\0';
	nf_tb_add(&t, "vigil %s", nf_kind_name(m->kind));
	kv(&t, "severity", nf_sev_name(m->sev));
	kv(&t, "rule", m->rule);
	if (*m->rule_name)
		kv(&t, "rule_id", m->rule_id);
	kv(&t, "title", m->title);
	kv(&t, "session", m->session_id);
	kv(&t, "agent", m->agent);
	kv(&t, "host", m->host);
	kv(&t, "user", m->user);
	kv(&t, "project", m->project);
	snprintf(count, sizeof(count), "%llu", (unsigned long long)m->count);
	if (m->count)
		kv(&t, "count", count);
	snprintf(more, sizeof(more), "%llu", (unsigned long long)m->more);
	if (m->kind == NF_MSG_SUMMARY)
		kv(&t, "more", more);
	kv(&t, "decision", m->decision);
	kv(&t, "alert_id", m->alert_id);
	if (m->kind == NF_MSG_UPDATE) {
		kv(&t, "update", m->update);
		kv(&t, "by", m->by);
		kv(&t, "note", m->note);
	} else {
		kv(&t, "reason", m->reason);
	}
	nf_oneline(raw, sizeof(raw), raw);
	n = snprintf(buf, cap, "<%d>%s %2d %02d:%02d:%02d %s[%d]: %s",
		     c->facility * 8 + syslog_severity(m->sev), nf_month_abbr[tmv.tm_mon], tmv.tm_mday,
		     tmv.tm_hour, tmv.tm_min, tmv.tm_sec, c->ident, (int)pid, raw);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		n = (int)nf_utf8_cut(buf, strlen(buf), cap - 1);
	buf[n] = '\0';
	return n;
}

static int syslog_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	char line[2400];
	int len = syslog_line(m, c->cfg.opts, getpid(), line, sizeof(line));

	vbuf_reset(out);
	return len < 0 ? len : vbuf_append(out, line, (size_t)len);
}

static int syslog_open(struct nf_chan *c)
{
	struct syslog_conn *k = vg_calloc(1, sizeof(*k));

	if (!k)
		return -ENOMEM;
	k->sock = -1;
	c->state = k;
	return 0;
}

/*
 * syslog(3) is not used: openlog() is process-wide, so two channels (or
 * another part of the daemon) could not keep their own ident and facility,
 * and tests could not point it at a socket of their own.  This speaks the
 * same protocol glibc does on /dev/log: a datagram per message, or a stream
 * of NUL-terminated messages where the socket is a stream.
 */
static int syslog_connect(struct nf_chan *c, char *err, size_t errlen)
{
	const struct syslog_opts *o = c->cfg.opts;
	struct syslog_conn *k = c->state;
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = c->cfg.timeout_ms / 1000,
			      .tv_usec = (c->cfg.timeout_ms % 1000) * 1000 };
	int types[] = { SOCK_DGRAM, SOCK_STREAM };

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", o->socket);
	for (size_t i = 0; i < VG_ARRAY_LEN(types); i++) {
		int fd = socket(AF_UNIX, types[i] | SOCK_CLOEXEC, 0), e;

		if (fd < 0) {
			snprintf(err, errlen, "socket: %s", strerror(errno));
			return -errno;
		}
		setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
		if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
			k->sock = fd;
			k->stream = types[i] == SOCK_STREAM;
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
	struct syslog_conn *k = c->state;
	char line[2400];
	ssize_t w;
	int len;

	(void)retry_after_ms;
	len = syslog_line(m, c->cfg.opts, getpid(), line, sizeof(line));
	if (len < 0) {
		snprintf(err, errlen, "cannot render the message");
		return NF_RES_FAIL;
	}
	if (k->sock < 0 && syslog_connect(c, err, errlen) < 0)
		return NF_RES_RETRY;
	/* A stream socket takes the terminating NUL as the message separator. */
	w = send(k->sock, line, (size_t)len + (k->stream ? 1 : 0), MSG_NOSIGNAL);
	if (w == (ssize_t)len + (k->stream ? 1 : 0))
		return NF_RES_OK;
	snprintf(err, errlen, "%s: %s", c->cfg.target, w < 0 ? strerror(errno) : "short write");
	close(k->sock);
	k->sock = -1;
	return NF_RES_RETRY;
}

static void syslog_close(struct nf_chan *c)
{
	struct syslog_conn *k = c->state;

	if (k && k->sock >= 0)
		close(k->sock);
	vg_free(k);
	c->state = NULL;
}

const struct nf_chan_type nf_ch_syslog = {
	.name = "syslog",
	.flags = NF_CT_QUEUED | NF_CT_TIMEOUT,
	.min_sev = NF_SEV_MEDIUM,
	.keys = syslog_keys,
	.nkeys = VG_ARRAY_LEN(syslog_keys),
	.opts_size = sizeof(struct syslog_opts),
	.defaults = syslog_defaults,
	.validate = syslog_validate,
	.open = syslog_open,
	.format = syslog_format,
	.deliver = syslog_send,
	.close = syslog_close,
};
