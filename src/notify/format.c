/*
 * format.c - what a notification says and how each channel renders it: the
 * notifier's bounded copy of an alert record (struct nf_msg), the one-line
 * text every channel shares, and the payloads of the generic webhook, Slack
 * (Block Kit), Teams (Adaptive Card or the legacy MessageCard), Grafana
 * annotations, email (RFC 5322) and syslog (RFC 3164 on a local socket).
 *
 * Everything here is a pure function of the notification (and the channel's
 * configuration), so the unit tests check the exact structures.  A
 * notification's record is shared by the delivery threads, which only read
 * it (jansson documents read-only access from several threads as safe) and
 * copy from it, never taking references to its members.  Its last
 * reference goes with the notification's own, which is counted atomically.
 */
#include "notify_int.h"

#include <errno.h>
#include <stdio.h>
#include <time.h>

/* ---- text helpers -------------------------------------------------------------- */

/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
static size_t utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

/* The length of the UTF-8 sequence at s (1 for a stray byte), not past a NUL. */
static size_t utf8_len(const char *s)
{
	unsigned char c = (unsigned char)*s;
	size_t n = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 1;

	for (size_t i = 1; i < n; i++)
		if (!s[i])
			return i;
	return n;
}

void nf_utf8_fix_tail(char *s)
{
	size_t len = strlen(s), i = len, want;
	unsigned char lead;

	while (i > 0 && ((unsigned char)s[i - 1] & 0xc0) == 0x80)
		i--;
	if (i == 0)
		return;
	lead = (unsigned char)s[i - 1];
	if (lead < 0xc0)
		return;
	want = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
	if (len - (i - 1) < want)
		s[i - 1] = '\0';
}

void nf_oneline(char *buf, size_t cap, const char *s)
{
	size_t n;

	if (!cap)
		return;
	n = utf8_cut(s, strlen(s), cap - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[n] = '\0';
	nf_utf8_fix_tail(buf);
}

/* A fixed buffer that truncates (at a UTF-8 boundary) instead of failing. */
struct tbuf {
	char *p;
	size_t cap, len;
};

static void tb_add(struct tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tb_add(struct tbuf *t, const char *fmt, ...)
{
	va_list ap;
	int r;

	if (t->len + 1 >= t->cap)
		return;
	va_start(ap, fmt);
	r = vsnprintf(t->p + t->len, t->cap - t->len, fmt, ap);
	va_end(ap);
	if (r < 0)
		return;
	if ((size_t)r >= t->cap - t->len) {
		/* vsnprintf cut the text, perhaps inside a character. */
		nf_utf8_fix_tail(t->p + t->len);
		t->len += strlen(t->p + t->len);
	} else {
		t->len += (size_t)r;
	}
}

const char *nf_kind_name(enum nf_msg_kind k)
{
	static const char *const names[] = { "alert", "repeat", "summary", "update" };

	return (unsigned)k < VG_ARRAY_LEN(names) ? names[k] : "unknown";
}

/* ---- the notifier's copy of an alert record ------------------------------------- */

static int copy_str(json_t *dst, const char *key, const json_t *v, size_t max)
{
	json_t *s;

	if (!json_is_string(v) || json_string_length(v) == 0)
		return 0;
	s = json_stringn(json_string_value(v),
			 utf8_cut(json_string_value(v), json_string_length(v), max));
	if (!s || json_object_set_new(dst, key, s) < 0)
		return -ENOMEM;
	return 0;
}

/* Copies at most max strings of array v (the last ones when tail). */
static int copy_strv(json_t *dst, const char *key, const json_t *v, size_t max, bool tail)
{
	json_t *arr;
	size_t n, start;

	if (!json_is_array(v))
		return 0;
	n = json_array_size(v);
	start = tail && n > max ? n - max : 0;
	arr = json_array();
	if (!arr)
		return -ENOMEM;
	for (size_t i = start; i < n && json_array_size(arr) < max; i++) {
		const json_t *e = json_array_get(v, i);

		if (!json_is_string(e))
			continue;
		if (json_array_append_new(arr, json_stringn(json_string_value(e),
							    utf8_cut(json_string_value(e),
								     json_string_length(e),
								     NF_MAX_ID))) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	return json_object_set_new(dst, key, arr) < 0 ? -ENOMEM : 0;
}

static const char *sget(const json_t *obj, const char *key)
{
	const char *s = json_string_value(json_object_get(obj, key));

	return s ? s : "";
}

static bool valid_update(const char *u)
{
	return strcmp(u, "open") == 0 || strcmp(u, "match") == 0 ||
	       strcmp(u, "acknowledge") == 0 || strcmp(u, "resolve") == 0;
}

static void nf_msg_fill_ptrs(struct nf_msg *m)
{
	const json_t *a = json_object_get(m->rec, "alert");

	m->alert_id = sget(a, "id");
	m->update = sget(a, "update");
	m->state = sget(a, "state");
	m->rule_id = sget(a, "rule_id");
	m->rule_name = sget(a, "rule_name");
	/* People know rules by name (vigil-exfil-sequence); the id is a UUID. */
	m->rule = *m->rule_name ? m->rule_name : m->rule_id;
	m->title = sget(a, "rule_title");
	m->level = sget(a, "level");
	m->action = sget(a, "action");
	m->decision = sget(a, "decision");
	m->reason = sget(a, "reason");
	m->by = sget(a, "by");
	m->note = sget(a, "note");
	m->first_seen = sget(a, "first_seen");
	m->last_seen = sget(a, "last_seen");
	m->session_id = sget(m->rec, "session_id");
	m->agent = sget(m->rec, "agent");
	m->project = sget(m->rec, "project");
	m->host = sget(m->rec, "host");
	m->user = sget(m->rec, "user");
	m->count = (uint64_t)json_integer_value(json_object_get(a, "count"));
}

static int copy_alert(const json_t *src, json_t *a)
{
	static const char *const ids[] = { "id", "update", "state", "rule_id", "rule_name",
					   "rule_kind", "level", "action", "decision",
					   "session_id", "agent", "first_seen", "last_seen", "by" };
	static const char *const texts[] = { "rule_title", "reason", "note", "project" };
	const json_t *count = json_object_get(src, "count");
	int rc = 0;

	for (size_t i = 0; i < VG_ARRAY_LEN(ids) && rc == 0; i++)
		rc = copy_str(a, ids[i], json_object_get(src, ids[i]), NF_MAX_ID);
	for (size_t i = 0; i < VG_ARRAY_LEN(texts) && rc == 0; i++)
		rc = copy_str(a, texts[i], json_object_get(src, texts[i]), NF_MAX_FIELD);
	if (rc == 0 && json_is_null(json_object_get(src, "decision")))
		rc = json_object_set_new(a, "decision", json_null());
	if (rc == 0 && json_is_integer(count) && json_integer_value(count) >= 0)
		rc = json_object_set_new(a, "count", json_integer(json_integer_value(count)));
	if (rc == 0)
		rc = copy_strv(a, "tags", json_object_get(src, "tags"), NF_MAX_LIST, false);
	if (rc == 0)
		rc = copy_strv(a, "event_ids", json_object_get(src, "event_ids"),
			       NF_MAX_EVENT_IDS, true);
	return rc < 0 ? -ENOMEM : 0;
}

/* The context value: a string, or the root of an event's project object. */
static const json_t *project_of(const json_t *record, const json_t *alert)
{
	const json_t *p = json_object_get(record, "project");

	if (json_is_object(p))
		p = json_object_get(p, "root");
	if (!json_is_string(p))
		p = json_object_get(alert, "project");
	return p;
}

int nf_msg_from_record(const json_t *record, const char *host_default, uint64_t now_ns,
		     struct nf_msg **out)
{
	const json_t *src = json_object_get(record, "alert");
	struct nf_msg *m = NULL;
	json_t *rec = NULL, *a = NULL;
	const json_t *v;
	int rc = -EINVAL, sev;

	*out = NULL;
	if (!json_is_object(record) || !json_is_object(src))
		return -EINVAL;
	if (!json_is_string(json_object_get(src, "rule_id")) ||
	    json_string_length(json_object_get(src, "rule_id")) == 0)
		return -EINVAL;
	sev = nf_sev_parse(json_string_value(json_object_get(src, "level")));
	if (sev < 0 || !valid_update(sget(src, "update")))
		return -EINVAL;

	rc = -ENOMEM;
	rec = json_object();
	a = json_object();
	m = vg_calloc(1, sizeof(*m));
	if (!rec || !a || !m)
		goto out;
	if (copy_alert(src, a) < 0)
		goto out;
	if (json_object_set(rec, "alert", a) < 0)
		goto out;
	/* The context: the record's top level, else the alert's own fields. */
	v = json_object_get(record, "session_id");
	if (copy_str(rec, "session_id", json_is_string(v) ? v : json_object_get(src, "session_id"),
		     NF_MAX_ID) < 0)
		goto out;
	v = json_object_get(record, "agent");
	if (copy_str(rec, "agent", json_is_string(v) ? v : json_object_get(src, "agent"),
		     NF_MAX_ID) < 0 ||
	    copy_str(rec, "project", project_of(record, src), NF_MAX_FIELD) < 0 ||
	    copy_str(rec, "user", json_object_get(record, "user"), NF_MAX_ID) < 0)
		goto out;
	v = json_object_get(record, "host");
	if (json_is_string(v) && json_string_length(v) > 0)
		rc = copy_str(rec, "host", v, NF_MAX_ID);
	else if (host_default && *host_default)
		rc = json_object_set_new(rec, "host", json_string(host_default)) < 0 ? -ENOMEM
										     : 0;
	else
		rc = 0;
	if (rc < 0) {
		rc = -ENOMEM;
		goto out;
	}
	m->refs = 1;
	m->kind = NF_MSG_ALERT;
	m->sev = sev;
	m->time_ns = now_ns;
	m->rec = rec;
	rec = NULL;
	nf_msg_fill_ptrs(m);
	*out = m;
	m = NULL;
	rc = 0;
out:
	json_decref(a);
	json_decref(rec);
	vg_free(m);
	return rc;
}

struct nf_msg *nf_msg_ref(struct nf_msg *m)
{
	__atomic_add_fetch(&m->refs, 1, __ATOMIC_RELAXED);
	return m;
}

void nf_msg_unref(struct nf_msg *m)
{
	if (!m || __atomic_sub_fetch(&m->refs, 1, __ATOMIC_ACQ_REL) != 0)
		return;
	json_decref(m->rec);
	vg_free(m);
}

struct nf_msg *nf_msg_derive(struct nf_msg *m, enum nf_msg_kind kind, uint64_t now_ns)
{
	struct nf_msg *d = vg_malloc(sizeof(*d));

	if (!d)
		return NULL;
	memcpy(d, m, sizeof(*d));
	d->refs = 1;
	d->kind = kind;
	d->time_ns = now_ns;
	d->more = 0;
	d->since_ns = 0;
	json_incref(d->rec);
	return d;
}

/* ---- the one-line text ------------------------------------------------------------ */

static const char *title_of(const struct nf_msg *m)
{
	return *m->title ? m->title : m->rule;
}

static const char *decision_note(const struct nf_msg *m)
{
	if (strcmp(m->decision, "deny") == 0)
		return " [blocked]";
	if (strcmp(m->decision, "ask") == 0)
		return " [asked the user]";
	return "";
}

void nf_msg_render_text(struct nf_msg *m)
{
	char raw[NF_TEXT_MAX], since[40];
	struct tbuf t = { raw, sizeof(raw), 0 };

	raw[0] = '\0';
	switch (m->kind) {
	case NF_MSG_ALERT:
		tb_add(&t, "[vigil] %s: %s (%s)", nf_sev_upper(m->sev), title_of(m), m->rule);
		if (*m->session_id)
			tb_add(&t, " in session %s", m->session_id);
		if (*m->host)
			tb_add(&t, " on %s", m->host);
		tb_add(&t, "%s", decision_note(m));
		if (*m->reason)
			tb_add(&t, ": %s", m->reason);
		break;
	case NF_MSG_REPEAT:
		tb_add(&t, "[vigil] %s: %s (%s) matched again", nf_sev_upper(m->sev), title_of(m),
		       m->rule);
		if (*m->session_id)
			tb_add(&t, " in session %s", m->session_id);
		if (*m->host)
			tb_add(&t, " on %s", m->host);
		tb_add(&t, "%s", decision_note(m));
		if (m->count)
			tb_add(&t, ": %llu matches so far", (unsigned long long)m->count);
		break;
	case NF_MSG_SUMMARY:
		vg_format_time(m->since_ns, since, sizeof(since));
		tb_add(&t, "[vigil] %s: %llu more match%s of %s (%s)", nf_sev_upper(m->sev),
		       (unsigned long long)m->more, m->more == 1 ? "" : "es", title_of(m),
		       m->rule);
		if (*m->session_id)
			tb_add(&t, " in session %s", m->session_id);
		tb_add(&t, " since %s", since);
		break;
	case NF_MSG_UPDATE:
		tb_add(&t, "[vigil] alert %s (%s) %s", title_of(m), m->rule,
		       strcmp(m->update, "resolve") == 0 ? "resolved" : "acknowledged");
		if (*m->by)
			tb_add(&t, " by %s", m->by);
		if (*m->session_id)
			tb_add(&t, " in session %s", m->session_id);
		if (*m->note)
			tb_add(&t, ": %s", m->note);
		break;
	}
	nf_oneline(m->text, sizeof(m->text), raw);
}

/* ---- JSON helpers ------------------------------------------------------------------- */

static int jset(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

/* A JSON string of s cut at max bytes (UTF-8 safe); "" stays "". */
static json_t *jstr_cut(const char *s, size_t max)
{
	return json_stringn(s, utf8_cut(s, strlen(s), max));
}

/* The facts every rich format shows, in order; empty values are skipped. */
struct fact {
	const char *name;
	char value[NF_MAX_ID + 32];
};

static size_t collect_facts(const struct nf_msg *m, struct fact *f, size_t cap)
{
	size_t n = 0;

#define FACT(label, ...)                                                         \
	do {                                                                     \
		if (n < cap) {                                                   \
			f[n].name = label;                                       \
			snprintf(f[n].value, sizeof(f[n].value), __VA_ARGS__);  \
			nf_utf8_fix_tail(f[n].value);                            \
			if (f[n].value[0])                                       \
				n++;                                             \
		}                                                                \
	} while (0)
	FACT("Severity", "%s", nf_sev_name(m->sev));
	FACT("Rule", "%s", m->rule);
	FACT("Session", "%s", m->session_id);
	FACT("Agent", "%s", m->agent);
	FACT("Host", "%s", m->host);
	if (m->count)
		FACT("Count", "%llu", (unsigned long long)m->count);
	if (*m->decision)
		FACT("Decision", "%s", m->decision);
	FACT("Project", "%.256s", m->project);
	FACT("User", "%s", m->user);
	FACT("Alert", "%s", m->alert_id);
#undef FACT
	return n;
}

/* The sentence under a rich message's title. */
static void describe(const struct nf_msg *m, char *buf, size_t cap)
{
	char since[40];
	struct tbuf t = { buf, cap, 0 };

	buf[0] = '\0';
	switch (m->kind) {
	case NF_MSG_ALERT:
		tb_add(&t, "%s", *m->reason ? m->reason : "rule matched");
		break;
	case NF_MSG_REPEAT:
		tb_add(&t, "Matched again (%llu matches so far). %s", (unsigned long long)m->count,
		       m->reason);
		break;
	case NF_MSG_SUMMARY:
		vg_format_time(m->since_ns, since, sizeof(since));
		tb_add(&t, "%llu more match%s since %s. %s", (unsigned long long)m->more,
		       m->more == 1 ? "" : "es", since, m->reason);
		break;
	case NF_MSG_UPDATE:
		tb_add(&t, "%s%s%s%s%s", strcmp(m->update, "resolve") == 0 ? "Resolved"
									 : "Acknowledged",
		       *m->by ? " by " : "", m->by, *m->note ? ": " : "", m->note);
		break;
	}
}

static void heading(const struct nf_msg *m, char *buf, size_t cap)
{
	struct tbuf t = { buf, cap, 0 };

	buf[0] = '\0';
	if (m->kind == NF_MSG_UPDATE)
		tb_add(&t, "%s: %s", strcmp(m->update, "resolve") == 0 ? "Resolved" : "Acknowledged",
		       title_of(m));
	else
		tb_add(&t, "%s: %s", nf_sev_upper(m->sev), title_of(m));
	if (m->kind == NF_MSG_SUMMARY)
		tb_add(&t, " (%llu more)", (unsigned long long)m->more);
	if (m->kind != NF_MSG_UPDATE)
		tb_add(&t, "%s", decision_note(m));
}

/* ---- webhook and file --------------------------------------------------------------- */

json_t *nf_fmt_webhook(const struct nf_msg *m)
{
	json_t *o = json_object();
	const char *key;
	json_t *v;
	char tm[40];

	if (!o)
		return NULL;
	vg_format_time(m->time_ns, tm, sizeof(tm));
	if (jset(o, "notification", json_string(nf_kind_name(m->kind))) < 0 ||
	    jset(o, "time", json_string(tm)) < 0 ||
	    jset(o, "severity", json_string(nf_sev_name(m->sev))) < 0 ||
	    jset(o, "text", json_string(m->text)) < 0)
		goto fail;
	/* Copies, not references: taking a reference writes the shared value's
	 * count, and other delivery threads read the same values meanwhile. */
	json_object_foreach(m->rec, key, v)
		if (json_object_set_new(o, key, json_deep_copy(v)) < 0)
			goto fail;
	if (m->kind == NF_MSG_SUMMARY) {
		vg_format_time(m->since_ns, tm, sizeof(tm));
		if (jset(o, "more", json_integer((json_int_t)m->more)) < 0 ||
		    jset(o, "since", json_string(tm)) < 0)
			goto fail;
	}
	return o;
fail:
	json_decref(o);
	return NULL;
}

/* ---- Slack (incoming webhook, Block Kit) --------------------------------------------- */

/* Slack's mrkdwn needs &, < and > escaped; a backtick would end a code span. */
static void slack_escape(char *buf, size_t cap, const char *s)
{
	size_t len = 0;

	while (*s) {
		const char *rep = *s == '&' ? "&amp;" : *s == '<' ? "&lt;" : *s == '>' ? "&gt;"
			: *s == '`' ? "'" : NULL;
		size_t n = rep ? strlen(rep) : utf8_len(s);

		if (len + n >= cap)
			break;
		memcpy(buf + len, rep ? rep : s, n);
		len += n;
		s += rep ? 1 : n;
	}
	buf[len] = '\0';
}

static json_t *slack_text(const char *type, const char *s)
{
	return json_pack("{s:s, s:o}", "type", type, "text", jstr_cut(s, 2900));
}

json_t *nf_fmt_slack(const struct nf_msg *m)
{
	struct fact facts[12];
	size_t nf = collect_facts(m, facts, VG_ARRAY_LEN(facts));
	char head[160], desc[2048], esc[3000], field[NF_MAX_ID * 6 + 64], tm[40];
	json_t *o = NULL, *blocks, *fields, *b;

	heading(m, head, 150);
	describe(m, desc, sizeof(desc));
	slack_escape(esc, sizeof(esc), desc);
	blocks = json_array();
	fields = json_array();
	if (!blocks || !fields)
		goto fail;
	/* Slack allows at most 10 fields in a section. */
	for (size_t i = 0; i < nf && json_array_size(fields) < 10; i++) {
		char val[NF_MAX_ID * 6];

		slack_escape(val, sizeof(val), facts[i].value);
		snprintf(field, sizeof(field), "*%s*\n%s", facts[i].name, val);
		if (json_array_append_new(fields, slack_text("mrkdwn", field)) < 0)
			goto fail;
	}
	vg_format_time(m->time_ns, tm, sizeof(tm));
	b = json_pack("{s:s, s:{s:s, s:o}}", "type", "header", "text", "type", "plain_text",
		      "text", jstr_cut(head, 150));
	if (json_array_append_new(blocks, b) < 0 ||
	    json_array_append_new(blocks, json_pack("{s:s, s:o}", "type", "section", "text",
						    slack_text("mrkdwn", esc))) < 0 ||
	    json_array_append_new(blocks, json_pack("{s:s, s:O}", "type", "section", "fields",
						    fields)) < 0)
		goto fail;
	snprintf(field, sizeof(field), "vigil %s at %s", nf_kind_name(m->kind), tm);
	if (json_array_append_new(blocks,
				  json_pack("{s:s, s:[o]}", "type", "context", "elements",
					    slack_text("mrkdwn", field))) < 0)
		goto fail;
	o = json_pack("{s:s, s:O}", "text", m->text, "blocks", blocks);
fail:
	json_decref(fields);
	json_decref(blocks);
	return o;
}

/* ---- Microsoft Teams ------------------------------------------------------------------ */

static const char *teams_color(int sev)
{
	return sev >= NF_SEV_HIGH ? "Attention" : sev == NF_SEV_MEDIUM ? "Warning" : "Default";
}

static const char *card_theme(int sev)
{
	static const char *const c[] = { "808080", "2E86C1", "F0A30A", "C4314B", "8B0000" };

	return sev >= 0 && sev <= NF_SEV_CRITICAL ? c[sev] : c[0];
}

json_t *nf_fmt_teams(const struct nf_msg *m, int format)
{
	struct fact facts[12];
	size_t nf = collect_facts(m, facts, VG_ARRAY_LEN(facts));
	char head[256], desc[2048];
	json_t *fs = json_array(), *o = NULL;

	heading(m, head, sizeof(head));
	describe(m, desc, sizeof(desc));
	if (!fs)
		return NULL;
	for (size_t i = 0; i < nf; i++)
		if (json_array_append_new(fs, json_pack("{s:s, s:s}",
							format == NF_TEAMS_MESSAGECARD ? "name"
										       : "title",
							facts[i].name, "value",
							facts[i].value)) < 0)
			goto out;
	if (format == NF_TEAMS_MESSAGECARD) {
		/* The connector card format of Office 365 incoming webhooks. */
		o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:[{s:s, s:s, s:O, s:b}]}", "@type",
			      "MessageCard", "@context", "https://schema.org/extensions", "summary",
			      m->text, "themeColor", card_theme(m->sev), "title", head, "sections",
			      "activityTitle", head, "text", desc, "facts", fs, "markdown", 0);
	} else {
		/* A message with one Adaptive Card attachment: what both Teams
		 * Workflows webhooks and classic incoming webhooks accept. */
		json_t *card = json_pack(
			"{s:s, s:s, s:s, s:[{s:s, s:s, s:s, s:s, s:s, s:b}, {s:s, s:s, s:b},"
			" {s:s, s:O}], s:{s:s}}",
			"$schema", "http://adaptivecards.io/schemas/adaptive-card.json", "type",
			"AdaptiveCard", "version", "1.4", "body", "type", "TextBlock", "text", head,
			"weight", "Bolder", "size", "Medium", "color", teams_color(m->sev), "wrap", 1,
			"type", "TextBlock", "text", desc, "wrap", 1, "type", "FactSet", "facts", fs,
			"msteams", "width", "Full");

		if (card)
			o = json_pack("{s:s, s:s, s:[{s:s, s:n, s:o}]}", "type", "message", "summary",
				      m->text, "attachments", "contentType",
				      "application/vnd.microsoft.card.adaptive", "contentUrl",
				      "content", card);
	}
out:
	json_decref(fs);
	return o;
}

/* ---- Grafana annotations ---------------------------------------------------------------- */

json_t *nf_fmt_grafana(const struct nf_msg *m, const struct nf_chan_cfg *c)
{
	json_t *o = json_object(), *tags = json_array();
	char tag[NF_MAX_ID + 16];
	bool has_vigil = false;

	if (!o || !tags)
		goto fail;
	for (size_t i = 0; i < c->tags.n; i++) {
		if (strcmp(c->tags.v[i], "vigil") == 0)
			has_vigil = true;
		if (json_array_append_new(tags, json_string(c->tags.v[i])) < 0)
			goto fail;
	}
	if (!has_vigil && json_array_append_new(tags, json_string("vigil")) < 0)
		goto fail;
	snprintf(tag, sizeof(tag), "severity:%s", nf_sev_name(m->sev));
	if (json_array_append_new(tags, json_string(tag)) < 0)
		goto fail;
	snprintf(tag, sizeof(tag), "rule:%s", m->rule);
	if (json_array_append_new(tags, jstr_cut(tag, sizeof(tag) - 1)) < 0)
		goto fail;
	if (jset(o, "time", json_integer((json_int_t)(m->time_ns / 1000000))) < 0 ||
	    jset(o, "tags", tags) < 0 || jset(o, "text", json_string(m->text)) < 0)
		goto fail_o;
	if (c->dashboard_uid && jset(o, "dashboardUID", json_string(c->dashboard_uid)) < 0)
		goto fail_o;
	if (c->panel_id && jset(o, "panelId", json_integer(c->panel_id)) < 0)
		goto fail_o;
	return o;
fail:
	json_decref(tags);
fail_o:
	json_decref(o);
	return NULL;
}

/* ---- email ----------------------------------------------------------------------------- */

static const char *const wday[] = { "Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat" };
static const char *const mon[] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
				   "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

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
		size_t n = utf8_cut(subject + off, len - off, 45);

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
		size_t n = utf8_cut(line + off, len - off, 900);

		if (n == 0 && len > off)
			n = len - off;
		rc = vbuf_append(out, line + off, n);
		if (rc == 0)
			rc = vbuf_append(out, "\r\n", 2);
		off += n;
	} while (rc == 0 && off < len);
	return rc;
}

int nf_fmt_email(const struct nf_msg *m, const struct nf_chan_cfg *c, const char *hostname,
	       struct vbuf *out)
{
	char subject[512], head[400], desc[2048], host[256], id[37], tm[40];
	struct tbuf t = { subject, sizeof(subject), 0 };
	time_t secs = (time_t)(m->time_ns / 1000000000ull);
	const json_t *tags = json_object_get(json_object_get(m->rec, "alert"), "tags");
	const json_t *evs = json_object_get(json_object_get(m->rec, "alert"), "event_ids");
	struct fact facts[12];
	size_t nf = collect_facts(m, facts, VG_ARRAY_LEN(facts));
	struct tm tmv;
	int rc;

	vbuf_reset(out);
	if (!gmtime_r(&secs, &tmv))
		return -EINVAL;
	heading(m, head, sizeof(head));
	tb_add(&t, "[vigil] %s", head);
	nf_oneline(subject, sizeof(subject), subject);
	nf_oneline(host, sizeof(host), hostname && *hostname ? hostname : "localhost");
	for (char *p = host; *p; p++)
		if (*p == ' ' || *p == '<' || *p == '>' || *p == '@')
			*p = '-';
	rc = vg_uuid7(id);
	if (rc < 0)
		return rc;
	rc = vbuf_appendf(out, "Date: %s, %02d %s %04d %02d:%02d:%02d +0000\r\n",
			  wday[tmv.tm_wday], tmv.tm_mday, mon[tmv.tm_mon], tmv.tm_year + 1900,
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
	describe(m, desc, sizeof(desc));
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
		struct tbuf tl = { list, sizeof(list), 0 };
		size_t i;
		const json_t *e;

		json_array_foreach(tags, i, e)
			tb_add(&tl, "%s%s", i ? ", " : "", json_string_value(e));
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

/* ---- syslog ------------------------------------------------------------------------------ */

/* Syslog severities (RFC 5424) by alert severity. */
static int syslog_severity(int sev)
{
	static const int s[] = { 6 /* info */, 5 /* notice */, 4 /* warning */, 3 /* err */,
				 2 /* crit */ };

	return sev >= 0 && sev <= NF_SEV_CRITICAL ? s[sev] : 6;
}

/* key=value, the value quoted (with \" and \\) when it has spaces or quotes. */
static void kv(struct tbuf *t, const char *key, const char *v)
{
	bool quote = false;

	if (!*v)
		return;
	for (const char *p = v; *p; p++)
		if (*p == ' ' || *p == '"' || *p == '=' || *p == '\\')
			quote = true;
	if (!quote) {
		tb_add(t, " %s=%s", key, v);
		return;
	}
	tb_add(t, " %s=\"", key);
	for (const char *p = v; *p && t->len + 4 < t->cap;) {
		size_t n = utf8_len(p);

		if (*p == '"' || *p == '\\')
			tb_add(t, "\\%c", *p);
		else
			tb_add(t, "%.*s", (int)n, p); /* whole characters only */
		p += n;
	}
	tb_add(t, "\"");
}

int nf_fmt_syslog(const struct nf_msg *m, const struct nf_chan_cfg *c, pid_t pid, char *buf,
		size_t cap)
{
	char raw[2048], count[24], more[24];
	struct tbuf t = { raw, sizeof(raw), 0 };
	time_t secs = (time_t)(m->time_ns / 1000000000ull);
	struct tm tmv;
	int n;

	if (!localtime_r(&secs, &tmv))
		return -EINVAL;
	raw[0] = '\0';
	tb_add(&t, "vigil %s", nf_kind_name(m->kind));
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
		     c->facility * 8 + syslog_severity(m->sev), mon[tmv.tm_mon], tmv.tm_mday,
		     tmv.tm_hour, tmv.tm_min, tmv.tm_sec, c->ident, (int)pid, raw);
	if (n < 0)
		return -EINVAL;
	if ((size_t)n >= cap)
		n = (int)utf8_cut(buf, strlen(buf), cap - 1);
	buf[n] = '\0';
	return n;
}
