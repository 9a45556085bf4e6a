/*
 * format.c - what a notification says: the notifier's bounded copy of an
 * alert record (struct nf_msg), the one-line text every channel shares, the
 * generic JSON form (webhook, file), and the pieces the rich renderings of
 * ch_*.c share (facts, heading, description, UTF-8-safe cutting).
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
#include <stdlib.h>
#include <time.h>

/* ---- text helpers -------------------------------------------------------------- */

size_t nf_utf8_cut(const char *s, size_t len, size_t max)
{
	if (len <= max)
		return len;
	len = max;
	while (len > 0 && ((unsigned char)s[len] & 0xc0) == 0x80)
		len--;
	return len;
}

size_t nf_utf8_len(const char *s)
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
	n = nf_utf8_cut(s, strlen(s), cap - 1);
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		buf[i] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	buf[n] = '\0';
	nf_utf8_fix_tail(buf);
}

void nf_tb_add(struct nf_tbuf *t, const char *fmt, ...)
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

static int copy_str(json_t *dst, const char *key, const char *s, size_t max)
{
	json_t *j;

	if (!s || !*s)
		return 0;
	j = json_stringn(s, nf_utf8_cut(s, strlen(s), max));
	if (!j || json_object_set_new(dst, key, j) < 0)
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
							    nf_utf8_cut(json_string_value(e),
								     json_string_length(e),
								     NF_MAX_ID))) < 0) {
			json_decref(arr);
			return -ENOMEM;
		}
	}
	return json_object_set_new(dst, key, arr) < 0 ? -ENOMEM : 0;
}

static const char *or_empty(const char *s)
{
	return s ? s : "";
}

static bool valid_update(const char *u)
{
	return strcmp(u, "open") == 0 || strcmp(u, "match") == 0 ||
	       strcmp(u, "acknowledge") == 0 || strcmp(u, "resolve") == 0;
}

/* The message's fields point into its own copy of the record (m->rec). */
static void nf_msg_fill_ptrs(struct nf_msg *m)
{
	struct ev_view v;
	const struct ev_alert_view *a = &v.alert;

	ev_view_fill(m->rec, &v);
	m->alert_id = or_empty(a->id);
	m->update = or_empty(a->update);
	m->state = or_empty(a->state);
	m->rule_id = or_empty(a->rule_id);
	m->rule_name = or_empty(a->rule_name);
	/* People know rules by name (vigil-exfil-sequence); the id is a UUID. */
	m->rule = *m->rule_name ? m->rule_name : m->rule_id;
	m->title = or_empty(a->rule_title);
	m->level = or_empty(a->level);
	m->action = or_empty(a->action);
	m->decision = or_empty(a->decision);
	m->reason = or_empty(a->reason);
	m->by = or_empty(a->by);
	m->note = or_empty(a->note);
	m->first_seen = or_empty(a->first_seen);
	m->last_seen = or_empty(a->last_seen);
	m->count = a->count > 0 ? (uint64_t)a->count : 0;
	m->tags = a->tags;
	m->event_ids = a->event_ids;
	m->session_id = or_empty(v.session_id);
	m->agent = or_empty(v.agent);
	/* The copy holds the project as its root alone (project_of). */
	m->project = or_empty(json_string_value(json_object_get(m->rec, EVF_PROJECT)));
	m->host = or_empty(v.host);
	m->user = or_empty(v.user);
}

static int copy_alert(const struct ev_alert_view *al, json_t *a)
{
	const struct {
		const char *key, *val;
		size_t max;
	} strs[] = {
		{ EVF_ALERT_ID, al->id, NF_MAX_ID },
		{ EVF_ALERT_UPDATE, al->update, NF_MAX_ID },
		{ EVF_ALERT_STATE, al->state, NF_MAX_ID },
		{ EVF_ALERT_RULE_ID, al->rule_id, NF_MAX_ID },
		{ EVF_ALERT_RULE_NAME, al->rule_name, NF_MAX_ID },
		{ EVF_ALERT_RULE_KIND, al->rule_kind, NF_MAX_ID },
		{ EVF_ALERT_LEVEL, al->level, NF_MAX_ID },
		{ EVF_ALERT_ACTION, al->action, NF_MAX_ID },
		{ EVF_ALERT_DECISION, al->decision, NF_MAX_ID },
		{ EVF_ALERT_SESSION_ID, al->session_id, NF_MAX_ID },
		{ EVF_ALERT_AGENT, al->agent, NF_MAX_ID },
		{ EVF_ALERT_FIRST_SEEN, al->first_seen, NF_MAX_ID },
		{ EVF_ALERT_LAST_SEEN, al->last_seen, NF_MAX_ID },
		{ EVF_ALERT_BY, al->by, NF_MAX_ID },
		{ EVF_ALERT_RULE_TITLE, al->rule_title, NF_MAX_FIELD },
		{ EVF_ALERT_REASON, al->reason, NF_MAX_FIELD },
		{ EVF_ALERT_NOTE, al->note, NF_MAX_FIELD },
		{ EVF_ALERT_PROJECT, al->project, NF_MAX_FIELD },
	};
	int rc = 0;

	for (size_t i = 0; i < VG_ARRAY_LEN(strs) && rc == 0; i++)
		rc = copy_str(a, strs[i].key, strs[i].val, strs[i].max);
	/* null: the rule decided no blocking event (docs/event-schema.md). */
	if (rc == 0 && json_is_null(json_object_get(al->obj, EVF_ALERT_DECISION)))
		rc = json_object_set_new(a, EVF_ALERT_DECISION, json_null());
	if (rc == 0 && al->count >= 0)
		rc = json_object_set_new(a, EVF_ALERT_COUNT, json_integer(al->count));
	if (rc == 0)
		rc = copy_strv(a, EVF_ALERT_TAGS, al->tags, NF_MAX_LIST, false);
	if (rc == 0)
		rc = copy_strv(a, EVF_ALERT_EVENT_IDS, al->event_ids, NF_MAX_EVENT_IDS, true);
	return rc < 0 ? -ENOMEM : 0;
}

/* The context value: the event's project root (or a bare project string),
 * else the alert's own. */
static const char *project_of(const struct ev_view *v)
{
	const char *bare = json_string_value(json_object_get(v->root, EVF_PROJECT));

	return v->project_root ? v->project_root : bare ? bare : v->alert.project;
}

/* The context: the record's top level, else the alert's own fields. */
static int copy_context(const struct ev_view *v, const char *host_default, json_t *rec)
{
	const char *host = v->host && *v->host ? v->host : host_default;

	if (copy_str(rec, EVF_SESSION_ID, v->session_id ? v->session_id : v->alert.session_id,
		     NF_MAX_ID) < 0 ||
	    copy_str(rec, EVF_AGENT, v->agent ? v->agent : v->alert.agent, NF_MAX_ID) < 0 ||
	    copy_str(rec, EVF_PROJECT, project_of(v), NF_MAX_FIELD) < 0 ||
	    copy_str(rec, EVF_USER, v->user, NF_MAX_ID) < 0 ||
	    copy_str(rec, EVF_HOST, host, NF_MAX_ID) < 0)
		return -ENOMEM;
	return 0;
}

int nf_msg_from_record(const json_t *record, const char *host_default, uint64_t now_ns,
		     struct nf_msg **out)
{
	struct ev_view v;
	struct nf_msg *m = NULL;
	json_t *rec = NULL, *a = NULL;
	int rc = -EINVAL, sev;

	*out = NULL;
	ev_view_fill(record, &v);
	if (!v.alert.obj || !v.alert.rule_id || !*v.alert.rule_id)
		return -EINVAL;
	sev = nf_sev_parse(v.alert.level);
	if (sev < 0 || !valid_update(or_empty(v.alert.update)))
		return -EINVAL;

	rc = -ENOMEM;
	rec = json_object();
	a = json_object();
	m = vg_calloc(1, sizeof(*m));
	if (!rec || !a || !m || copy_alert(&v.alert, a) < 0 ||
	    json_object_set(rec, EVF_ALERT, a) < 0 || copy_context(&v, host_default, rec) < 0)
		goto out;
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
	struct nf_tbuf t = { raw, sizeof(raw), 0 };

	raw[0] = '\0';
	switch (m->kind) {
	case NF_MSG_ALERT:
		nf_tb_add(&t, "[vigil] %s: %s (%s)", nf_sev_upper(m->sev), title_of(m), m->rule);
		if (*m->session_id)
			nf_tb_add(&t, " in session %s", m->session_id);
		if (*m->host)
			nf_tb_add(&t, " on %s", m->host);
		nf_tb_add(&t, "%s", decision_note(m));
		if (*m->reason)
			nf_tb_add(&t, ": %s", m->reason);
		break;
	case NF_MSG_REPEAT:
		nf_tb_add(&t, "[vigil] %s: %s (%s) matched again", nf_sev_upper(m->sev), title_of(m),
		       m->rule);
		if (*m->session_id)
			nf_tb_add(&t, " in session %s", m->session_id);
		if (*m->host)
			nf_tb_add(&t, " on %s", m->host);
		nf_tb_add(&t, "%s", decision_note(m));
		if (m->count)
			nf_tb_add(&t, ": %llu matches so far", (unsigned long long)m->count);
		break;
	case NF_MSG_SUMMARY:
		vg_format_time(m->since_ns, since, sizeof(since));
		nf_tb_add(&t, "[vigil] %s: %llu more match%s of %s (%s)", nf_sev_upper(m->sev),
		       (unsigned long long)m->more, m->more == 1 ? "" : "es", title_of(m),
		       m->rule);
		if (*m->session_id)
			nf_tb_add(&t, " in session %s", m->session_id);
		nf_tb_add(&t, " since %s", since);
		break;
	case NF_MSG_UPDATE:
		nf_tb_add(&t, "[vigil] alert %s (%s) %s", title_of(m), m->rule,
		       strcmp(m->update, "resolve") == 0 ? "resolved" : "acknowledged");
		if (*m->by)
			nf_tb_add(&t, " by %s", m->by);
		if (*m->session_id)
			nf_tb_add(&t, " in session %s", m->session_id);
		if (*m->note)
			nf_tb_add(&t, ": %s", m->note);
		break;
	}
	nf_oneline(m->text, sizeof(m->text), raw);
}

/* ---- JSON helpers ------------------------------------------------------------------- */

static int jset(json_t *o, const char *key, json_t *v)
{
	return json_object_set_new(o, key, v);
}

json_t *nf_jstr_cut(const char *s, size_t max)
{
	return json_stringn(s, nf_utf8_cut(s, strlen(s), max));
}

size_t nf_collect_facts(const struct nf_msg *m, struct nf_fact *f, size_t cap)
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

void nf_describe(const struct nf_msg *m, char *buf, size_t cap)
{
	char since[40];
	struct nf_tbuf t = { buf, cap, 0 };

	buf[0] = '\0';
	switch (m->kind) {
	case NF_MSG_ALERT:
		nf_tb_add(&t, "%s", *m->reason ? m->reason : "rule matched");
		break;
	case NF_MSG_REPEAT:
		nf_tb_add(&t, "Matched again (%llu matches so far). %s", (unsigned long long)m->count,
		       m->reason);
		break;
	case NF_MSG_SUMMARY:
		vg_format_time(m->since_ns, since, sizeof(since));
		nf_tb_add(&t, "%llu more match%s since %s. %s", (unsigned long long)m->more,
		       m->more == 1 ? "" : "es", since, m->reason);
		break;
	case NF_MSG_UPDATE:
		nf_tb_add(&t, "%s%s%s%s%s", strcmp(m->update, "resolve") == 0 ? "Resolved"
									 : "Acknowledged",
		       *m->by ? " by " : "", m->by, *m->note ? ": " : "", m->note);
		break;
	}
}

void nf_heading(const struct nf_msg *m, char *buf, size_t cap)
{
	struct nf_tbuf t = { buf, cap, 0 };

	buf[0] = '\0';
	if (m->kind == NF_MSG_UPDATE)
		nf_tb_add(&t, "%s: %s", strcmp(m->update, "resolve") == 0 ? "Resolved" : "Acknowledged",
		       title_of(m));
	else
		nf_tb_add(&t, "%s: %s", nf_sev_upper(m->sev), title_of(m));
	if (m->kind == NF_MSG_SUMMARY)
		nf_tb_add(&t, " (%llu more)", (unsigned long long)m->more);
	if (m->kind != NF_MSG_UPDATE)
		nf_tb_add(&t, "%s", decision_note(m));
}

/* ---- the generic JSON form ------------------------------------------------------------ */

const char *const nf_month_abbr[12] = { "Jan", "Feb", "Mar", "Apr", "May", "Jun",
					 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec" };

json_t *nf_msg_json(const struct nf_msg *m)
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

int nf_dump_json(json_t *j, struct vbuf *out)
{
	char *text = j ? json_dumps(j, JSON_COMPACT) : NULL;
	int rc;

	json_decref(j);
	vbuf_reset(out);
	if (!text)
		return -ENOMEM;
	rc = vbuf_append(out, text, strlen(text));
	free(text);
	return rc;
}
