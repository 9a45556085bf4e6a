/*
 * alerts.c - the daemon's alerts: one alert per (rule, session) while it is
 * open, recorded in the ledger as "alert" events (docs/alerts.md), handed to
 * the notifier once durable, acknowledged and resolved on request.
 *
 * An alert opens with a record at once (that is the detection latency the
 * benchmarks measure); later matches only update it in memory and are
 * written as one "match" record per alert per second at most, so a noisy
 * rule costs the ledger one record a second, not one per event.
 */
#include "daemon.h"
#include "idx.h"
#include "notify.h"
#include "rules.h"

#include <errno.h>
#include <string.h>

/*
 * Open alerts held in memory, so later matches count on them: at most
 * VD_ALERTS_MAX and VD_ALERTS_MAX_BYTES (daemon.h; as counted by
 * alert_bytes()).  An
 * alert lives until it is resolved, so without a limit every session that
 * ever matched a rule would stay; 10,000 is far more (rule, session) pairs
 * than are active at once.  An alert costs about 2.5 KiB (mostly its ring
 * of event ids), so 10,000 of them take about 25 MiB; the byte limit caps
 * alerts with long session ids, projects and reasons at 32 MiB.  Past
 * either limit the alert matched longest ago leaves memory: its pending
 * match record is written first, it stays open in the index, and a later
 * match in its session opens a new alert.  Nothing recorded is lost.
 */
#define VD_ALERT_OVERHEAD 16u		  /* malloc's header, per allocation */
#define VD_ALERT_IDS RULES_MAX_EVENT_IDS  /* event ids an alert record carries */
#define VD_ALERT_FLUSH_NS 1000000000ull	   /* at most one match record a second */
#define VD_ALERT_TEXT_MAX 1024

enum { ST_OPEN, ST_ACK };

struct vd_alert {
	struct vd_alert *next;		/* hash chain */
	struct vd_alert *lprev, *lnext; /* matched longest ago first */
	char id[37];
	char *key; /* rule_id "\n" session_id */
	char *rule_id, *rule_name, *rule_title, *session_id, *agent, *project, *reason;
	json_t *tags;
	const char *level, *action, *kind; /* static names */
	char decision[8];
	int state;
	uint64_t first_ns, last_ns, count;
	char ids[VD_ALERT_IDS][37];
	size_t nids, head; /* ring of the newest ids */
	bool dirty;
	uint64_t flushed_ns;
	size_t bytes; /* alert_bytes() when last counted */
};

/* A record waiting to be durable before the notifier sees it. */
struct vd_note {
	struct vd_note *next;
	uint64_t seq;
	json_t *rec;
};

struct vd_alerts {
	pthread_mutex_t mu; /* everything below */
	struct vd_alert **tab;
	size_t cap, n, bytes;
	struct vd_alert *lhead, *ltail; /* every alert in tab, matched longest ago first */
	uint64_t evicted;
	struct vd_note *nhead, *ntail;
	uint64_t opened, updates, notified;
};

static void alert_free(struct vd_alert *a)
{
	if (!a)
		return;
	vg_free(a->key);
	vg_free(a->rule_id);
	vg_free(a->rule_name);
	vg_free(a->rule_title);
	vg_free(a->session_id);
	vg_free(a->agent);
	vg_free(a->project);
	vg_free(a->reason);
	json_decref(a->tags);
	vg_free(a);
}

int vd_alerts_init(struct vd *d)
{
	struct vd_alerts *al = vg_calloc(1, sizeof(*al));

	if (!al)
		return -ENOMEM;
	al->cap = 4096;
	al->tab = vg_calloc(al->cap, sizeof(*al->tab));
	if (!al->tab) {
		vg_free(al);
		return -ENOMEM;
	}
	pthread_mutex_init(&al->mu, NULL);
	d->alerts = al;
	return 0;
}

void vd_alerts_free(struct vd *d)
{
	struct vd_alerts *al = d->alerts;

	if (!al)
		return;
	for (size_t i = 0; i < al->cap; i++)
		for (struct vd_alert *a = al->tab[i], *nx; a; a = nx) {
			nx = a->next;
			alert_free(a);
		}
	for (struct vd_note *n = al->nhead, *nx; n; n = nx) {
		nx = n->next;
		json_decref(n->rec);
		vg_free(n);
	}
	pthread_mutex_destroy(&al->mu);
	vg_free(al->tab);
	vg_free(al);
	d->alerts = NULL;
}

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 + VD_ALERT_OVERHEAD : 0;
}

/* What an alert holds, as counted: each allocation with malloc's overhead,
 * its tags as jansson keeps them. */
static size_t alert_bytes(const struct vd_alert *a)
{
	size_t n = sizeof(*a) + VD_ALERT_OVERHEAD + str_bytes(a->key) + str_bytes(a->rule_id) +
		   str_bytes(a->rule_name) + str_bytes(a->rule_title) + str_bytes(a->session_id) +
		   str_bytes(a->agent) + str_bytes(a->project) + str_bytes(a->reason);

	if (a->tags) {
		n += 64 + 8 * json_array_size(a->tags);
		for (size_t i = 0; i < json_array_size(a->tags); i++)
			n += json_string_length(json_array_get(a->tags, i)) + 1 + 64;
	}
	return n;
}

static void lru_unlink(struct vd_alerts *al, struct vd_alert *a)
{
	if (a->lprev)
		a->lprev->lnext = a->lnext;
	else if (al->lhead == a)
		al->lhead = a->lnext;
	if (a->lnext)
		a->lnext->lprev = a->lprev;
	else if (al->ltail == a)
		al->ltail = a->lprev;
	a->lprev = a->lnext = NULL;
}

/* Into the list at its place by last_ns (a match: the tail, at once). */
static void lru_insert(struct vd_alerts *al, struct vd_alert *a)
{
	struct vd_alert *after = al->ltail;

	while (after && after->last_ns > a->last_ns)
		after = after->lprev;
	a->lprev = after;
	a->lnext = after ? after->lnext : al->lhead;
	if (a->lnext)
		a->lnext->lprev = a;
	else
		al->ltail = a;
	if (after)
		after->lnext = a;
	else
		al->lhead = a;
}

/* Into the table, the list and the counts. */
static void link_alert(struct vd_alerts *al, struct vd_alert *a)
{
	size_t b = base_fnv1a_str(a->key) % al->cap;

	a->next = al->tab[b];
	al->tab[b] = a;
	lru_insert(al, a);
	a->bytes = alert_bytes(a);
	al->bytes += a->bytes;
	al->n++;
}

/* After a change of its strings. */
static void recount(struct vd_alerts *al, struct vd_alert *a)
{
	al->bytes -= a->bytes;
	a->bytes = alert_bytes(a);
	al->bytes += a->bytes;
}

static struct vd_alert *find(struct vd_alerts *al, const char *key)
{
	for (struct vd_alert *a = al->tab[base_fnv1a_str(key) % al->cap]; a; a = a->next)
		if (!strcmp(a->key, key))
			return a;
	return NULL;
}

static void unlink_alert(struct vd_alerts *al, struct vd_alert *x)
{
	struct vd_alert **pp = &al->tab[base_fnv1a_str(x->key) % al->cap];

	while (*pp && *pp != x)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = x->next;
		lru_unlink(al, x);
		al->bytes -= x->bytes;
		al->n--;
	}
}

static void add_id(struct vd_alert *a, const char *id)
{
	if (!id || strlen(id) != 36)
		return;
	for (size_t i = 0; i < a->nids; i++)
		if (!strcmp(a->ids[i], id))
			return;
	memcpy(a->ids[a->head], id, 37);
	a->head = (a->head + 1) % VD_ALERT_IDS;
	if (a->nids < VD_ALERT_IDS)
		a->nids++;
}

static char *dup_or_empty(const char *s)
{
	return vg_strdup(s ? s : "");
}

/* The alert's record as it stands (the caller holds mu). */
static json_t *snapshot(struct vd *d, const struct vd_alert *a, const char *update,
			const char *by, const char *note)
{
	char first[40], last[40], when[40], rid[37], tag[300];
	json_t *ids = json_array(), *o, *rec;
	static const char *const risk_of[] = { "info", "low", "medium", "high", "critical" };
	enum rules_level lv = RULES_LEVEL_INFORMATIONAL;

	if (!ids)
		return NULL;
	/* Oldest first. */
	for (size_t i = 0; i < a->nids; i++) {
		size_t k = (a->head + VD_ALERT_IDS - a->nids + i) % VD_ALERT_IDS;

		json_array_append_new(ids, json_string(a->ids[k]));
	}
	vg_format_time(a->first_ns, first, sizeof(first));
	vg_format_time(a->last_ns, last, sizeof(last));
	o = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:O, s:s, s:s, s:I, s:o, s:s}",
		      "id", a->id, "update", update, "state",
		      a->state == ST_ACK ? "acknowledged" : "open", "rule_id", a->rule_id,
		      "rule_title", a->rule_title, "rule_kind", a->kind, "level", a->level, "action",
		      a->action, "tags", a->tags ? a->tags : json_array(), "first_seen", first,
		      "last_seen", last, "count", (json_int_t)a->count, "event_ids", ids, "reason",
		      a->reason);
	if (!o)
		return NULL;
	json_object_set_new(o, "decision", a->decision[0] ? json_string(a->decision) : json_null());
	if (a->rule_name)
		json_object_set_new(o, "rule_name", json_string(a->rule_name));
	if (a->session_id[0])
		json_object_set_new(o, "session_id", json_string(a->session_id));
	if (a->agent[0])
		json_object_set_new(o, "agent", json_string(a->agent));
	if (a->project[0])
		json_object_set_new(o, "project", json_string(a->project));
	if (by)
		json_object_set_new(o, "by", json_string(by));
	if (note)
		json_object_set_new(o, "note", json_string(note));
	if (base_uuid7(rid) < 0) {
		json_decref(o);
		return NULL;
	}
	rules_level_parse(a->level, &lv);
	snprintf(tag, sizeof(tag), "rule:%s", a->rule_name ? a->rule_name : a->rule_id);
	vg_format_time(vg_now_ns(), when, sizeof(when));
	rec = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:{s:s, s:i, s:[s]}, s:o}",
			"schema", EV_SCHEMA_V1, "id", rid, "time", when, "host", d->host, "user",
			d->user, "agent", a->agent[0] ? a->agent : "vigil", "hook", "vigil",
			"event_type", "alert", "target", a->rule_title, "risk", "level",
			risk_of[lv], "score", (int)lv * 25, "reasons", tag, "alert", o);
	if (rec && a->session_id[0])
		json_object_set_new(rec, "session_id", json_string(a->session_id));
	if (rec && a->project[0])
		json_object_set_new(rec, "project", json_pack("{s:s}", "root", a->project));
	return rec;
}

static void record(struct vd *d, json_t *rec);

/*
 * Past a limit, the alerts matched longest ago leave memory (never keep, the
 * one just matched); a dirty one's pending match record goes to gone first
 * (at most max: each eviction frees at least sizeof(struct vd_alert), and
 * one new alert is smaller than a few of those).  The caller holds mu and
 * records what gone holds once it has let go of mu.
 */
static size_t evict(struct vd *d, struct vd_alerts *al, const struct vd_alert *keep, json_t **gone,
		    size_t max)
{
	size_t n = 0;

	while ((al->n > VD_ALERTS_MAX || al->bytes > VD_ALERTS_MAX_BYTES) && al->lhead &&
	       al->lhead != keep && n < max) {
		struct vd_alert *old = al->lhead;

		if (old->dirty && (gone[n] = snapshot(d, old, "match", NULL, NULL)) != NULL)
			n++;
		if (al->evicted++ % 1000 == 0)
			vg_warn("alerts: over %d open alerts or %u MiB; alert %s leaves memory "
				"(it stays open in the index; logged once per 1,000)",
				VD_ALERTS_MAX, VD_ALERTS_MAX_BYTES >> 20, old->id);
		unlink_alert(al, old);
		alert_free(old);
	}
	return n;
}

void vd_alerts_match(struct vd *d, const struct rules_hit *h, const json_t *ev, char alert_id[37],
		     struct vd_verdict *v)
{
	struct vd_alerts *al = d->alerts;
	const char *sid = json_string_value(json_object_get(ev, "session_id"));
	const char *evid = json_string_value(json_object_get(ev, "id"));
	uint64_t now = vg_now_ns();
	char key[600];
	struct vd_alert *a;
	json_t *rec = NULL, *gone[8];
	size_t ngone;

	if (!al)
		return;
	snprintf(key, sizeof(key), "%s\n%s", h->rule_id, sid ? sid : "");
	pthread_mutex_lock(&al->mu);
	a = find(al, key);
	if (!a) {
		struct rules_info ri;
		json_t *proj = json_object_get(ev, "project");

		a = vg_calloc(1, sizeof(*a));
		if (!a || base_uuid7(a->id) < 0)
			goto fail;
		a->key = vg_strdup(key);
		a->rule_id = vg_strdup(h->rule_id);
		a->rule_name = h->name ? vg_strdup(h->name) : NULL;
		a->rule_title = vg_strdup(h->title);
		a->session_id = dup_or_empty(sid);
		a->agent = dup_or_empty(json_string_value(json_object_get(ev, "agent")));
		a->project = dup_or_empty(json_string_value(json_object_get(proj, "root")));
		if (!a->key || !a->rule_id || !a->rule_title || !a->session_id || !a->agent ||
		    !a->project)
			goto fail;
		a->level = rules_level_name(h->level);
		a->action = rules_action_name(h->action);
		a->kind = rules_kind_name(h->kind);
		a->tags = json_array();
		/* The caller (vd_decide) holds the rules lock: h->rule indexes
		 * the running set. */
		if (a->tags && h->rule != SIZE_MAX && vd_rules_info(d, h->rule, &ri) == 0)
			for (size_t i = 0; i < ri.ntags; i++)
				json_array_append_new(a->tags, json_string(ri.tags[i]));
		a->first_ns = a->last_ns = now;
		a->state = ST_OPEN;
		link_alert(al, a);
		al->opened++;
		a->flushed_ns = 0;
	} else {
		/* Matched now: the end of the list. */
		lru_unlink(al, a);
		a->last_ns = now;
		lru_insert(al, a);
	}
	a->count++;
	a->last_ns = now;
	vg_free(a->reason);
	a->reason = vg_strdup(h->why);
	if (!a->reason)
		a->reason = vg_strdup("");
	recount(al, a);
	if (h->kind == RULES_KIND_CORRELATION)
		for (size_t i = 0; i < h->nevent_ids; i++)
			add_id(a, h->event_ids[i]);
	add_id(a, evid);
	memcpy(alert_id, a->id, 37);
	if (v->decision[0] && !strcmp(v->rule_id, h->rule_id))
		snprintf(a->decision, sizeof(a->decision), "%s", v->decision);
	if (a->count == 1) {
		rec = snapshot(d, a, "open", NULL, NULL);
		a->flushed_ns = now;
		a->dirty = false;
	} else if (now - a->flushed_ns >= VD_ALERT_FLUSH_NS) {
		rec = snapshot(d, a, "match", NULL, NULL);
		a->flushed_ns = now;
		a->dirty = false;
	} else {
		a->dirty = true;
	}
	ngone = evict(d, al, a, gone, VG_ARRAY_LEN(gone));
	pthread_mutex_unlock(&al->mu);
	if (rec) {
		if (v->nrecs < VD_VERDICT_MAX_RECS)
			v->recs[v->nrecs++] = rec;
		else
			record(d, rec);
	}
	/* The evicted alerts' last matches: after the event when there is room. */
	for (size_t i = 0; i < ngone; i++) {
		if (v->nrecs < VD_VERDICT_MAX_RECS)
			v->recs[v->nrecs++] = gone[i];
		else
			record(d, gone[i]);
	}
	return;
fail:
	alert_free(a);
	pthread_mutex_unlock(&al->mu);
	vg_err("alerts: out of memory; a match of rule %s is not recorded as an alert", h->rule_id);
}

/* Appends one alert record and queues it for the notifier. */
static void record(struct vd *d, json_t *rec)
{
	struct vd_alerts *al = d->alerts;
	struct vd_note *n;
	uint64_t seq = 0;
	int rc;

	/* The reason quotes what the rule matched, which the rules saw
	 * unredacted: the record and every notification get it redacted. */
	rc = norm_clean_event(d->norm, rec);
	if (rc >= 0)
		rc = vd_append_event(d, rec, &seq);
	if (rc < 0) {
		vg_err("alerts: cannot record an alert: %s", strerror(-rc));
		json_decref(rec);
		return;
	}
	n = vg_calloc(1, sizeof(*n));
	if (!n) {
		json_decref(rec);
		return;
	}
	n->seq = seq;
	n->rec = rec;
	pthread_mutex_lock(&al->mu);
	if (al->ntail)
		al->ntail->next = n;
	else
		al->nhead = n;
	al->ntail = n;
	al->updates++;
	pthread_mutex_unlock(&al->mu);
}

void vd_alerts_emit(struct vd *d, struct vd_verdict *v)
{
	for (size_t i = 0; i < v->nrecs; i++)
		record(d, v->recs[i]);
	v->nrecs = 0;
}

void vd_verdict_release(struct vd_verdict *v)
{
	for (size_t i = 0; i < v->nrecs; i++)
		json_decref(v->recs[i]);
	v->nrecs = 0;
}

void vd_alerts_tick(struct vd *d)
{
	struct vd_alerts *al = d->alerts;
	json_t *recs[256];
	size_t n = 0;
	uint64_t now = vg_now_ns();

	if (!al)
		return;
	pthread_mutex_lock(&al->mu);
	for (size_t i = 0; i < al->cap && n < VG_ARRAY_LEN(recs); i++)
		for (struct vd_alert *a = al->tab[i]; a && n < VG_ARRAY_LEN(recs); a = a->next)
			if (a->dirty && now - a->flushed_ns >= VD_ALERT_FLUSH_NS) {
				recs[n] = snapshot(d, a, "match", NULL, NULL);
				if (recs[n])
					n++;
				a->dirty = false;
				a->flushed_ns = now;
			}
	pthread_mutex_unlock(&al->mu);
	for (size_t i = 0; i < n; i++)
		record(d, recs[i]);
}

void vd_alerts_durable(struct vd *d, uint64_t durable)
{
	struct vd_alerts *al = d->alerts;
	struct vd_note *list = NULL, **tail = &list;

	if (!al)
		return;
	pthread_mutex_lock(&al->mu);
	while (al->nhead && al->nhead->seq <= durable) {
		struct vd_note *n = al->nhead;

		al->nhead = n->next;
		if (!al->nhead)
			al->ntail = NULL;
		n->next = NULL;
		*tail = n;
		tail = &n->next;
	}
	pthread_mutex_unlock(&al->mu);
	while (list) {
		struct vd_note *n = list;

		list = n->next;
		if (d->notify && notify_submit(d->notify, n->rec) == 0)
			__atomic_fetch_add(&al->notified, 1, __ATOMIC_RELAXED);
		json_decref(n->rec);
		vg_free(n);
	}
}

/* ---- restart and control ----------------------------------------------------------- */

/* Open alerts from the index continue after a restart instead of opening
 * twins: matches keep counting on the same alert id. */
static int load_one(void *arg, const struct idx_alert *ia)
{
	struct vd_alerts *al = arg;
	enum rules_level lv;
	enum rules_action ac;
	char key[600];
	struct vd_alert *a;
	json_t *ids;

	if (!ia->alert_id || strlen(ia->alert_id) != 36 || !ia->rule_id)
		return 0;
	snprintf(key, sizeof(key), "%s\n%s", ia->rule_id, ia->session_id ? ia->session_id : "");
	if (find(al, key) || al->n >= VD_ALERTS_MAX)
		return 0;
	a = vg_calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	memcpy(a->id, ia->alert_id, 37);
	a->key = vg_strdup(key);
	a->rule_id = vg_strdup(ia->rule_id);
	a->rule_name = ia->rule_name ? vg_strdup(ia->rule_name) : NULL;
	a->rule_title = dup_or_empty(ia->rule_title);
	a->session_id = dup_or_empty(ia->session_id);
	a->agent = dup_or_empty(ia->agent);
	a->project = dup_or_empty(ia->project);
	a->reason = dup_or_empty(ia->reason);
	a->tags = ia->tags_json ? json_loads(ia->tags_json, 0, NULL) : json_array();
	if (!a->key || !a->rule_id || !a->rule_title || !a->session_id || !a->agent ||
	    !a->project || !a->reason) {
		alert_free(a);
		return -ENOMEM;
	}
	a->level = rules_level_name(rules_level_parse(ia->level ? ia->level : "", &lv) == 0
					    ? lv
					    : RULES_LEVEL_MEDIUM);
	a->action = rules_action_name(rules_action_parse(ia->action ? ia->action : "", &ac) == 0
					      ? ac
					      : RULES_ACTION_ALERT);
	a->kind = ia->rule_kind && !strcmp(ia->rule_kind, "correlation") ? "correlation"
									 : "detection";
	if (ia->decision)
		snprintf(a->decision, sizeof(a->decision), "%s", ia->decision);
	a->state = ia->state && !strcmp(ia->state, "acknowledged") ? ST_ACK : ST_OPEN;
	a->first_ns = ia->first_ns;
	a->last_ns = ia->last_ns;
	a->count = ia->count;
	a->flushed_ns = vg_now_ns();
	ids = ia->event_ids_json ? json_loads(ia->event_ids_json, 0, NULL) : NULL;
	for (size_t i = 0; i < json_array_size(ids); i++)
		add_id(a, json_string_value(json_array_get(ids, i)));
	json_decref(ids);
	if (al->bytes + alert_bytes(a) > VD_ALERTS_MAX_BYTES) {
		alert_free(a); /* it stays open in the index, as if evicted */
		return 0;
	}
	link_alert(al, a);
	return 0;
}

void vd_alerts_restore(struct vd *d, struct idx *ix)
{
	struct idx_alert_filter f = { .states = IDX_ALERT_OPEN | IDX_ALERT_ACKNOWLEDGED,
				      .limit = VD_ALERTS_MAX };
	char err[256];
	int rc;

	if (!d->alerts || !ix)
		return;
	pthread_mutex_lock(&d->alerts->mu);
	rc = idx_alerts(ix, &f, load_one, d->alerts, err, sizeof(err));
	pthread_mutex_unlock(&d->alerts->mu);
	if (rc < 0)
		vg_warn("alerts: cannot restore open alerts from the index: %s", err);
	else if (d->alerts->n)
		vg_info("alerts: %zu open alerts continue", d->alerts->n);
}

/* Copies an indexed alert into a temporary struct vd_alert for a record. */
static int from_index(void *arg, const struct idx_alert *ia)
{
	struct vd_alert **out = arg, *slot[1] = { NULL };
	struct vd_alerts tmp = { .tab = slot, .cap = 1 };
	int rc;

	rc = load_one(&tmp, ia);
	if (rc == 0 && tmp.tab[0]) {
		*out = tmp.tab[0];
		tmp.tab[0]->next = NULL;
		if (ia->state && !strcmp(ia->state, "resolved"))
			return 1; /* already resolved */
	}
	return rc;
}

json_t *vd_alerts_control(struct vd *d, const char *op, const char *id, const char *note,
			  const struct vd_peer *peer)
{
	struct vd_alerts *al = d->alerts;
	bool resolve = !strcmp(op, "alert.resolve");
	struct vd_alert *a = NULL, *tmp = NULL;
	json_t *rec = NULL, *reply;
	char by[64];
	int rc;

	if (!al)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "alerts are not running");
	if (!id || strlen(id) != 36)
		return json_pack("{s:b, s:s}", "ok", 0, "error",
				 "an alert id (36 characters) is required");
	if (note && strlen(note) > VD_ALERT_TEXT_MAX)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "the note is too long (1 KiB at most)");
	snprintf(by, sizeof(by), "uid %lld", peer ? (long long)peer->uid : -1LL);
	pthread_mutex_lock(&al->mu);
	for (size_t i = 0; !a && i < al->cap; i++)
		for (struct vd_alert *x = al->tab[i]; x; x = x->next)
			if (!strcmp(x->id, id)) {
				a = x;
				break;
			}
	if (!a) {
		/* Not in memory (evicted, or from before a restart that did
		 * not restore it): the index knows it. */
		if (!d->ro_idx && idx_open(d->index_path, IDX_RDONLY, &d->ro_idx, NULL, 0) < 0)
			d->ro_idx = NULL;
		rc = d->ro_idx ? idx_alert_get(d->ro_idx, id, from_index, &tmp) : -ENOENT;
		if (rc == 1) {
			alert_free(tmp);
			pthread_mutex_unlock(&al->mu);
			return json_pack("{s:b, s:s}", "ok", 0, "error", "the alert is already resolved");
		}
		if (rc < 0 || !tmp) {
			pthread_mutex_unlock(&al->mu);
			return json_pack("{s:b, s:s}", "ok", 0, "error",
					 rc == -ENOENT ? "no alert with this id (it may not be "
							 "indexed yet)"
						       : "cannot read the alert from the index");
		}
		a = tmp;
	}
	if (!resolve && a->state == ST_ACK && !tmp) {
		pthread_mutex_unlock(&al->mu);
		return json_pack("{s:b, s:s}", "ok", 0, "error", "the alert is already acknowledged");
	}
	a->state = ST_ACK;
	rec = snapshot(d, a, resolve ? "resolve" : "acknowledge", by, note);
	if (rec && resolve) {
		json_object_set_new(json_object_get(rec, "alert"), "state", json_string("resolved"));
		if (!tmp) {
			/* The next match of the rule in the session opens a new alert. */
			unlink_alert(al, a);
			alert_free(a);
		}
	}
	pthread_mutex_unlock(&al->mu);
	alert_free(tmp);
	if (!rec)
		return json_pack("{s:b, s:s}", "ok", 0, "error", "out of memory");
	reply = json_pack("{s:b, s:O}", "ok", 1, "alert", json_object_get(rec, "alert"));
	vg_info("alert %s %s by %s", id, resolve ? "resolved" : "acknowledged", by);
	record(d, rec);
	return reply;
}

json_t *vd_alerts_status(struct vd *d)
{
	struct vd_alerts *al = d->alerts;
	json_t *j;

	if (!al)
		return json_object();
	pthread_mutex_lock(&al->mu);
	j = json_pack("{s:I, s:I, s:I, s:I, s:I, s:I}", "open", (json_int_t)al->n, "bytes",
		      (json_int_t)al->bytes, "evicted", (json_int_t)al->evicted, "opened",
		      (json_int_t)al->opened, "records", (json_int_t)al->updates, "notified",
		      (json_int_t)__atomic_load_n(&al->notified, __ATOMIC_RELAXED));
	pthread_mutex_unlock(&al->mu);
	if (j && d->notify)
		json_object_set_new(j, "notifications", notify_stats_json(d->notify));
	return j;
}
