/*
 * ch_email.c - the `email` channel: an RFC 5322 plain-text mail (UTF-8,
 * RFC 2047 subject when not ASCII, lines within SMTP's limit) sent over
 * SMTP or SMTPS by libcurl, with STARTTLS required, refused or taken when
 * offered.
 */
#include "notify_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <time.h>

#include <curl/curl.h>

struct email_opts {
	char *from;
	struct nf_strv to;
	char *username;
	char *password; /* secret */
	int starttls;	/* 1 require, 0 never, -1 when offered */
};

#define OFF(f) offsetof(struct email_opts, f)
static const struct nf_key email_keys[] = {
	{ "from", NF_K_STR, 0, OFF(from), 3, 254, NULL },
	{ "to", NF_K_STRV, 0, OFF(to), 1, NF_MAX_LIST, NULL },
	{ "username", NF_K_STR, 0, OFF(username), 1, NF_MAX_STR, NULL },
	{ "password", NF_K_SECRET, 0, OFF(password), 1, NF_MAX_STR, NULL },
	{ "starttls", NF_K_TRI, 0, OFF(starttls), 0, 0, NULL },
};

static const char *const smtp_schemes[] = { "smtp", "smtps", NULL };

static void email_defaults(void *opts)
{
	struct email_opts *o = opts;

	o->starttls = -1;
}

static bool valid_address(const char *a)
{
	const char *at = strchr(a, '@');

	if (!at || at == a || !at[1] || strchr(at + 1, '@') || strlen(a) > 254)
		return false;
	for (const char *p = a; *p; p++)
		if ((unsigned char)*p <= ' ' || strchr("<>,;\"()[]\\", *p))
			return false;
	return true;
}

static int email_validate(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *state_dir)
{
	const struct email_opts *o = c->opts;

	if (!o->from)
		return nf_cfg_fail(x, VG_DIAG_REQUIRED, "from", "required");
	if (!valid_address(o->from))
		return nf_cfg_fail(x, VG_DIAG_INVALID, "from", "not an address like vigil@example.com");
	if (o->to.n == 0)
		return nf_cfg_fail(x, VG_DIAG_REQUIRED, "to", "required");
	for (size_t i = 0; i < o->to.n; i++)
		if (!valid_address(o->to.v[i]))
			return nf_cfg_fail(x, VG_DIAG_INVALID, "to",
					   "entry %zu is not an address like sec@example.com", i);
	if (o->password && !o->username)
		return nf_cfg_fail(x, VG_DIAG_INVALID, "password", "given without username");
	return 0;
}

static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static bool is_ascii(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s >= 0x80)
			return false;
	return true;
}

/*
 * The Subject header: plain when ASCII, else RFC 2047 encoded words of at
 * most 45 input bytes each (75 characters encoded), folded onto new lines.
 */
static int put_subject(struct vbuf *out, const char *subject)
{
	size_t len = strlen(subject), off = 0;
	char enc[64];
	int rc = 0;

	if (is_ascii(subject))
		return vbuf_appendf(out, "Subject: %s\r\n", subject);
	rc = vbuf_appendf(out, "Subject:");
	while (rc == 0 && off < len) {
		size_t n = nf_utf8_cut(subject + off, len - off, 45);

		if (n == 0)
			n = len - off < 4 ? len - off : 4;
		vg_base64_encode((const uint8_t *)subject + off, n, enc);
		rc = vbuf_appendf(out, "%s=?UTF-8?B?%s?=", off ? "\r\n " : " ", enc);
		off += n;
	}
	return rc ? rc : vbuf_appendf(out, "\r\n");
}

/* A body line; lines longer than SMTP's 998-octet limit are broken. */
static int put_body_line(struct vbuf *out, const char *label, const char *value)
{
	char line[NF_MAX_FIELD + 64];
	size_t len, off = 0;
	int rc = 0;

	snprintf(line, sizeof(line), "%s%s", label, value);
	for (char *p = line; *p; p++)
		if ((unsigned char)*p < 0x20 && *p != '\t')
			*p = ' ';
	len = strlen(line);
	do {
		size_t n = nf_utf8_cut(line + off, len - off, 900);

		if (n == 0 && len > off)
			n = len - off;
		rc = vbuf_append(out, line + off, n);
		if (rc == 0)
			rc = vbuf_append(out, "\r\n", 2);
		off += n;
	} while (rc == 0 && off < len);
	return rc;
}

static int email_render(const struct nf_msg *m, const struct email_opts *c, const char *hostname,
			struct vbuf *out)
{
	char subject[512], head[400], desc[2048], host[256], id[37], tm[40];
	struct nf_tbuf t = { subject, sizeof(subject), 0 };
	time_t secs = (time_t)(m->time_ns / 1000000000ull);
	const json_t *tags = m->tags, *evs = m->event_ids;
	struct nf_fact facts[12];
	size_t nf = nf_collect_facts(m, facts, VG_ARRAY_LEN(facts));
	struct tm tmv;
	int rc;

	vbuf_reset(out);
	if (!gmtime_r(&secs, &tmv))
		return -EINVAL;
	nf_heading(m, head, sizeof(head));
	nf_tb_add(&t, "[vigil] %s", head);
	nf_oneline(subject, sizeof(subject), subject);
	nf_oneline(host, sizeof(host), hostname && *hostname ? hostname : "localhost");
	for (char *p = host; *p; p++)
		if (*p == ' ' || *p == '<' || *p == '>' || *p == '@')
			*p = '-';
	rc = base_uuid7(id);
	if (rc < 0)
		return rc;
	rc = vbuf_appendf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
			  wday[tmv.tm_wday], tmv.tm_mday, nf_month_abbr[tmv.tm_mon], tmv.tm_year + 1900,
			  tmv.tm_hour, tmv.tm_min, tmv.tm_sec);
	rc = rc ? rc : vbuf_appendf(out, "From: vigil <%s>\r\n", c->from);
	for (size_t i = 0; rc == 0 && i < c->to.n; i++)
		rc = vbuf_appendf(out, "%s<%s>%s", i ? "    " : "To: ", c->to.v[i],
				  i + 1 < c->to.n ? ",\r\n" : "\r\n");
	rc = rc ? rc : put_subject(out, subject);
	rc = rc ? rc : vbuf_appendf(out, "Message-ID: <%s@%s>\r\n", id, host);
	rc = rc ? rc : vbuf_appendf(out, "MIME-Version: 1.0\r\n"
				    "Content-Type: text/plain; charset=utf-8\r\n"
				    "Content-Transfer-Encoding: 8bit\r\n"
				    "Auto-Submitted: auto-generated\r\n"
				    "X-Vigil-Severity: %s\r\n", nf_sev_name(m->sev));
	if (rc == 0 && *m->alert_id)
		rc = vbuf_appendf(out, "X-Vigil-Alert: %s\r\n", m->alert_id);
	rc = rc ? rc : vbuf_appendf(out, "\r\n");

	/* The body: what happened, the facts, then how to follow up. */
	nf_describe(m, desc, sizeof(desc));
	rc = rc ? rc : put_body_line(out, "", head);
	rc = rc ? rc : vbuf_appendf(out, "\r\n");
	rc = rc ? rc : put_body_line(out, "", desc);
	rc = rc ? rc : vbuf_appendf(out, "\r\n");
	for (size_t i = 0; rc == 0 && i < nf; i++) {
		char label[24];

		snprintf(label, sizeof(label), "%-10s ", facts[i].name);
		rc = put_body_line(out, label, facts[i].value);
	}
	/* The facts name the rule by its name: the id too, for lookups. */
	if (rc == 0 && *m->rule_name)
		rc = put_body_line(out, "Rule ID    ", m->rule_id);
	if (rc == 0 && *m->first_seen)
		rc = put_body_line(out, "First seen ", m->first_seen);
	if (rc == 0 && *m->last_seen)
		rc = put_body_line(out, "Last seen  ", m->last_seen);
	if (rc == 0 && json_array_size(tags)) {
		char list[1024] = "";
		struct nf_tbuf tl = { list, sizeof(list), 0 };
		size_t i;
		const json_t *e;

		json_array_foreach(tags, i, e)
			nf_tb_add(&tl, "%s%s", i ? ", " : "", json_string_value(e));
		rc = put_body_line(out, "Tags       ", list);
	}
	if (rc == 0 && json_array_size(evs)) {
		size_t n = json_array_size(evs), start = n > 10 ? n - 10 : 0;

		rc = vbuf_appendf(out, "\r\nLatest matching events:\r\n");
		for (size_t i = start; rc == 0 && i < n; i++)
			rc = put_body_line(out, "  ", json_string_value(json_array_get(evs, i)));
	}
	vg_format_time(m->time_ns, tm, sizeof(tm));
	if (rc == 0 && *m->alert_id && m->kind != NF_MSG_UPDATE)
		rc = vbuf_appendf(out, "\r\nAcknowledge: vigil alerts ack %s\r\n", m->alert_id);
	if (rc == 0 && *m->session_id)
		rc = put_body_line(out, "Replay the session: vigil replay ", m->session_id);
	rc = rc ? rc : vbuf_appendf(out, "\r\n-- \r\nvigil, %s\r\n", tm);
	return rc;
}

static int email_format(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out)
{
	return email_render(m, c->cfg.opts, c->hostname, out);
}

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
	const struct email_opts *o = c->cfg.opts;
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
	rc = email_format(c, m, &mail);
	if (rc < 0) {
		snprintf(err, errlen, "cannot render the mail: %s", strerror(-rc));
		r = NF_RES_FAIL;
		goto out;
	}
	for (size_t i = 0; i < o->to.n; i++) {
		snprintf(addr, sizeof(addr), "<%s>", o->to.v[i]);
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
	nf_curl_common(c, easy, "smtp,smtps");
	curl_easy_setopt(easy, CURLOPT_URL, c->cfg.url);
	snprintf(addr, sizeof(addr), "<%s>", o->from);
	curl_easy_setopt(easy, CURLOPT_MAIL_FROM, addr);
	curl_easy_setopt(easy, CURLOPT_MAIL_RCPT, rcpt);
	curl_easy_setopt(easy, CURLOPT_UPLOAD, 1L);
	curl_easy_setopt(easy, CURLOPT_READFUNCTION, upload_read);
	curl_easy_setopt(easy, CURLOPT_READDATA, &up);
	curl_easy_setopt(easy, CURLOPT_INFILESIZE_LARGE, (curl_off_t)mail.len);
	curl_easy_setopt(easy, CURLOPT_USE_SSL,
			 o->starttls == 1   ? (long)CURLUSESSL_ALL
			 : o->starttls == 0 ? (long)CURLUSESSL_NONE
						: (long)CURLUSESSL_TRY);
	if (o->username)
		curl_easy_setopt(easy, CURLOPT_USERNAME, o->username);
	if (o->password)
		curl_easy_setopt(easy, CURLOPT_PASSWORD, o->password);
	res = (CURLcode)nf_curl_run(c, easy, &aborted);
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
			r = nf_curl_permanent(res) ? NF_RES_FAIL : NF_RES_RETRY;
	}
	(void)retry_after_ms;
out:
	if (easy)
		curl_easy_cleanup(easy);
	curl_slist_free_all(rcpt);
	vbuf_release(&mail);
	return r;
}

const struct nf_chan_type nf_ch_email = {
	.name = "email",
	.flags = NF_CT_QUEUED | NF_CT_URL,
	.min_sev = NF_SEV_HIGH,
	.schemes = smtp_schemes,
	.keys = email_keys,
	.nkeys = VG_ARRAY_LEN(email_keys),
	.opts_size = sizeof(struct email_opts),
	.defaults = email_defaults,
	.validate = email_validate,
	.format = email_format,
	.deliver = email_send,
};
