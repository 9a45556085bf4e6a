/*
 * corr.c - correlation windows (struct rules_state).
 *
 * Per correlation rule, one group per distinct group-by key, found through a
 * chained hash table and kept on an LRU list: past max_groups the least
 * recently used group is evicted, and a group whose window has passed is
 * dropped when it reaches the LRU tail, so memory stays bounded whatever the
 * events.  Each group keeps only what its condition needs:
 *   event_count       the times of the last `cap` events (cap = the largest
 *                     condition value + 1, enough to decide it exactly);
 *   value_count       up to `cap` distinct values (64-bit hashes) with the
 *                     time each was last seen, oldest first;
 *   temporal          per referenced rule, when it last matched;
 *   temporal_ordered  per step k, the latest start time of a chain that has
 *                     completed steps 0..k, so rule A, B, A, C still finds A-B-C;
 * plus a ring of the most recent event ids.  Conditions are checked when an
 * event arrives (a window holding too few events cannot fire on its own).
 * All of it runs under the state's mutex (rules_eval takes it).
 */
#include "rules_int.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

struct grp {
	struct grp *hnext;	/* hash chain */
	struct grp *prev, *next; /* LRU list: head is the most recent */
	uint64_t hash;
	char *key;
	uint64_t *t;  /* times (event_count, value_count) or per-ref times (temporal*) */
	uint64_t *vh; /* value_count: value hashes */
	size_t n;
	char (*ids)[37];
	size_t nids, idhead;
	uint64_t last;
};

struct cslot {
	struct grp **b;
	size_t nb, n;
	struct grp *head, *tail;
};

struct rules_state {
	pthread_mutex_t mu;
	const struct rules_set *set;
	struct cslot *slots;
	size_t nslots;
	size_t max_groups, max_ids;
	size_t groups;
	uint64_t evicted;
};

void rint_corr_lock(struct rules_state *st)
{
	pthread_mutex_lock(&st->mu);
}

void rint_corr_unlock(struct rules_state *st)
{
	pthread_mutex_unlock(&st->mu);
}

static void grp_free(struct grp *g)
{
	if (!g)
		return;
	vg_free(g->key);
	vg_free(g->t);
	vg_free(g->vh);
	vg_free(g->ids);
	vg_free(g);
}

int rules_state_new(const struct rules_set *set, const struct rules_state_options *o,
		    struct rules_state **out)
{
	struct rules_state *st;

	*out = NULL;
	if (!set->finished)
		return -EINVAL;
	st = vg_calloc(1, sizeof(*st));
	if (!st)
		return -ENOMEM;
	st->set = set;
	st->max_groups = o && o->max_groups ? o->max_groups : 10000;
	st->max_ids = o && o->max_event_ids && o->max_event_ids < RULES_MAX_EVENT_IDS
			      ? o->max_event_ids
			      : RULES_MAX_EVENT_IDS;
	st->nslots = set->ncorr;
	st->slots = vg_calloc(st->nslots + 1, sizeof(*st->slots));
	if (!st->slots || pthread_mutex_init(&st->mu, NULL) != 0) {
		vg_free(st->slots);
		vg_free(st);
		return -ENOMEM;
	}
	*out = st;
	return 0;
}

void rules_state_free(struct rules_state *st)
{
	if (!st)
		return;
	for (size_t i = 0; i < st->nslots; i++) {
		struct grp *g = st->slots[i].head;

		while (g) {
			struct grp *n = g->next;

			grp_free(g);
			g = n;
		}
		vg_free(st->slots[i].b);
	}
	vg_free(st->slots);
	pthread_mutex_destroy(&st->mu);
	vg_free(st);
}

void rules_state_stats(struct rules_state *st, size_t *groups, uint64_t *evicted)
{
	pthread_mutex_lock(&st->mu);
	*groups = st->groups;
	*evicted = st->evicted;
	pthread_mutex_unlock(&st->mu);
}

static void lru_unlink(struct cslot *s, struct grp *g)
{
	if (g->prev)
		g->prev->next = g->next;
	else
		s->head = g->next;
	if (g->next)
		g->next->prev = g->prev;
	else
		s->tail = g->prev;
	g->prev = g->next = NULL;
}

static void lru_front(struct cslot *s, struct grp *g)
{
	g->next = s->head;
	g->prev = NULL;
	if (s->head)
		s->head->prev = g;
	s->head = g;
	if (!s->tail)
		s->tail = g;
}

static void grp_remove(struct rules_state *st, struct cslot *s, struct grp *g)
{
	struct grp **pp = &s->b[g->hash & (s->nb - 1)];

	while (*pp && *pp != g)
		pp = &(*pp)->hnext;
	if (*pp)
		*pp = g->hnext;
	lru_unlink(s, g);
	s->n--;
	st->groups--;
	grp_free(g);
}

static int grow(struct cslot *s)
{
	size_t nb = s->nb ? s->nb * 2 : 16;
	struct grp **b = vg_calloc(nb, sizeof(*b));

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < s->nb; i++) {
		struct grp *g = s->b[i];

		while (g) {
			struct grp *n = g->hnext;

			g->hnext = b[g->hash & (nb - 1)];
			b[g->hash & (nb - 1)] = g;
			g = n;
		}
	}
	vg_free(s->b);
	s->b = b;
	s->nb = nb;
	return 0;
}

/* The group for key (created when missing); NULL on -ENOMEM. */
static struct grp *grp_get(struct rules_state *st, struct cslot *s, const struct corr_def *c,
			   const char *key, size_t klen)
{
	uint64_t h = base_fnv1a(key, klen);
	struct grp *g;
	size_t need;

	for (g = s->nb ? s->b[h & (s->nb - 1)] : NULL; g; g = g->hnext) {
		if (g->hash == h && !strcmp(g->key, key)) {
			lru_unlink(s, g);
			lru_front(s, g);
			return g;
		}
	}
	if ((s->n + 1) * 4 > s->nb * 3 && grow(s) < 0)
		return NULL;
	g = vg_calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	need = c->type == RULES_CORR_TEMPORAL || c->type == RULES_CORR_TEMPORAL_ORDERED ? c->nrefs
											  : c->cap;
	g->hash = h;
	g->key = vg_malloc(klen + 1);
	g->t = vg_calloc(need + 1, sizeof(*g->t));
	g->vh = c->type == RULES_CORR_VALUE_COUNT ? vg_calloc(need + 1, sizeof(*g->vh)) : NULL;
	g->ids = vg_calloc(st->max_ids, sizeof(*g->ids));
	if (!g->key || !g->t || !g->ids || (c->type == RULES_CORR_VALUE_COUNT && !g->vh)) {
		grp_free(g);
		return NULL;
	}
	memcpy(g->key, key, klen + 1);
	g->hnext = s->b[h & (s->nb - 1)];
	s->b[h & (s->nb - 1)] = g;
	lru_front(s, g);
	s->n++;
	st->groups++;
	return g;
}

/* The value of group-by field i for an event that matched rule `via`. */
static const json_t *group_value(const struct corr_def *c, size_t i, const struct rule *via,
				 const json_t *ev)
{
	for (size_t a = 0; via && via->name && a < c->naliases; a++) {
		if (strcmp(c->aliases[a].alias, c->gb_name[i]))
			continue;
		for (size_t k = 0; k < c->aliases[a].n; k++)
			if (!strcmp(c->aliases[a].rule[k], via->name))
				return rint_fpath_get(ev, &c->aliases[a].field[k]);
	}
	return rint_fpath_get(ev, &c->gb[i]);
}

static size_t group_key(const struct corr_def *c, const struct rule *via, const json_t *ev,
			char *buf, size_t cap)
{
	size_t len = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < c->ngb && len + 1 < cap; i++) {
		char num[48];
		const char *s = "";
		size_t n = 0;
		const json_t *v = group_value(c, i, via, ev);
		int w;

		if (v)
			rint_scalar_text(v, num, sizeof(num), &s, &n);
		w = snprintf(buf + len, cap - len, "%s%s=%.*s", i ? ", " : "", c->gb_name[i],
			     (int)(n > 200 ? 200 : n), s);
		if (w < 0)
			break;
		len = len + (size_t)w < cap ? len + (size_t)w : cap - 1;
	}
	return len;
}

static bool cond_holds(const struct corr_def *c, uint64_t count)
{
	for (size_t i = 0; i < c->nc; i++) {
		uint64_t v = c->c[i].v;
		bool ok = c->c[i].op == CMP_GT	  ? count > v
			  : c->c[i].op == CMP_GTE ? count >= v
			  : c->c[i].op == CMP_LT  ? count < v
			  : c->c[i].op == CMP_LTE ? count <= v
						  : count == v;

		if (!ok)
			return false;
	}
	return true;
}

/* Drops entries [0, k) of the time (and value) arrays. */
static void drop_front(struct grp *g, size_t k)
{
	if (!k)
		return;
	memmove(g->t, g->t + k, (g->n - k) * sizeof(*g->t));
	if (g->vh)
		memmove(g->vh, g->vh + k, (g->n - k) * sizeof(*g->vh));
	g->n -= k;
}

static void add_id(struct rules_state *st, struct grp *g, const json_t *ev)
{
	const char *id = json_string_value(json_object_get(ev, EVF_ID));
	size_t slot;

	if (!id)
		return;
	slot = (g->idhead + g->nids) % st->max_ids;
	if (g->nids == st->max_ids) {
		slot = g->idhead;
		g->idhead = (g->idhead + 1) % st->max_ids;
	} else {
		g->nids++;
	}
	snprintf(g->ids[slot], sizeof(g->ids[slot]), "%s", id);
}

/* One step per correlation type: update the group with the event at t
 * (window from lo), set out->count and out->first_ns, say whether it fires. */
static bool step_event_count(const struct corr_def *c, struct grp *g, uint64_t t, uint64_t lo,
			     struct corr_out *out)
{
	size_t k;

	for (k = 0; k < g->n && g->t[k] < lo; k++)
		;
	drop_front(g, k);
	if (g->n == c->cap)
		drop_front(g, 1);
	g->t[g->n++] = t;
	out->count = g->n;
	out->first_ns = g->t[0];
	return cond_holds(c, g->n);
}

static bool step_value_count(const struct corr_def *c, struct grp *g, const json_t *ev, uint64_t t,
			     uint64_t lo, struct corr_out *out)
{
	const json_t *v = rint_fpath_get(ev, &c->field);
	char num[48];
	const char *vs;
	size_t vn, k;
	uint64_t h;

	for (k = 0; k < g->n && g->t[k] < lo; k++)
		;
	drop_front(g, k);
	if (!v || json_is_null(v) || rint_scalar_text(v, num, sizeof(num), &vs, &vn) < 0)
		return false; /* no value: nothing to count */
	h = base_fnv1a(vs, vn);
	for (k = 0; k < g->n && g->vh[k] != h; k++)
		;
	if (k < g->n) {
		memmove(g->t + k, g->t + k + 1, (g->n - k - 1) * sizeof(*g->t));
		memmove(g->vh + k, g->vh + k + 1, (g->n - k - 1) * sizeof(*g->vh));
		g->n--;
	}
	if (g->n == c->cap)
		drop_front(g, 1);
	g->t[g->n] = t;
	g->vh[g->n++] = h;
	out->count = g->n;
	out->first_ns = g->t[0];
	return cond_holds(c, g->n);
}

static bool step_temporal(const struct corr_def *c, struct grp *g, const uint8_t *matched,
			  uint64_t t, uint64_t lo, struct corr_out *out)
{
	uint64_t seen = 0, first = t;

	for (size_t k = 0; k < c->nrefs; k++) {
		if (matched[c->refs[k]->index])
			g->t[k] = t + 1; /* stored +1 so that 0 means "never" */
		if (g->t[k] && g->t[k] - 1 >= lo) {
			seen++;
			if (g->t[k] - 1 < first)
				first = g->t[k] - 1;
		}
	}
	out->count = seen;
	out->first_ns = first;
	return c->has_cond ? cond_holds(c, seen) : seen == c->nrefs;
}

static bool step_temporal_ordered(const struct corr_def *c, struct grp *g, const uint8_t *matched,
				  uint64_t t, uint64_t lo, struct corr_out *out)
{
	size_t k;
	bool fired;

	/* Later steps first, so one event cannot complete two steps. */
	for (k = c->nrefs; k-- > 0;) {
		if (!matched[c->refs[k]->index])
			continue;
		if (k == 0)
			g->t[0] = t + 1;
		else if (g->t[k - 1] && g->t[k - 1] - 1 >= lo && g->t[k - 1] > g->t[k])
			g->t[k] = g->t[k - 1];
	}
	/* Fires on the event that completes the last step inside the window. */
	out->count = 0;
	for (k = 0; k < c->nrefs; k++)
		if (g->t[k] && g->t[k] - 1 >= lo)
			out->count = k + 1;
	k = c->nrefs - 1;
	out->first_ns = g->t[k] ? g->t[k] - 1 : t;
	fired = matched[c->refs[k]->index] && g->t[k] && g->t[k] - 1 >= lo;
	if (fired)
		out->count = c->nrefs;
	return fired;
}

int rint_corr_update(struct rules_state *st, const struct rule *r, const json_t *ev, uint64_t t,
		const uint8_t *matched, bool *fired, struct corr_out *out, struct hit_store *store)
{
	const struct corr_def *c = r->corr;
	struct cslot *s = &st->slots[c->slot];
	uint64_t lo = t > c->timespan_ns ? t - c->timespan_ns : 0;
	const struct rule *via = NULL;
	char key[RULES_GROUP_MAX];
	size_t klen, k;
	struct grp *g;

	*fired = false;
	for (k = 0; k < c->nrefs && !via; k++)
		if (matched[c->refs[k]->index])
			via = c->refs[k];
	/* Expired groups at the LRU tail go first (a couple per call). */
	for (int i = 0; i < 2 && s->tail && s->tail->last < lo; i++)
		grp_remove(st, s, s->tail);
	klen = group_key(c, via, ev, key, sizeof(key));
	g = grp_get(st, s, c, key, klen);
	if (!g)
		return -ENOMEM;
	g->last = t;
	if (c->type == RULES_CORR_EVENT_COUNT)
		*fired = step_event_count(c, g, t, lo, out);
	else if (c->type == RULES_CORR_VALUE_COUNT)
		*fired = step_value_count(c, g, ev, t, lo, out);
	else if (c->type == RULES_CORR_TEMPORAL)
		*fired = step_temporal(c, g, matched, t, lo, out);
	else if (c->type == RULES_CORR_TEMPORAL_ORDERED)
		*fired = step_temporal_ordered(c, g, matched, t, lo, out);
	add_id(st, g, ev);
	out->last_ns = t;
	if (*fired && store) {
		memcpy(store->group, key, klen + 1);
		out->nids = g->nids;
		for (k = 0; k < g->nids; k++)
			memcpy(store->ids[k], g->ids[(g->idhead + k) % st->max_ids], 37);
	}
	/* Past the group limit: the least recently used group goes. */
	while (s->n > st->max_groups && s->tail && s->tail != g) {
		grp_remove(st, s, s->tail);
		st->evicted++;
	}
	return 0;
}
