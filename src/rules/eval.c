/*
 * eval.c - rules_eval: which rules an event hits, why, and what to do.
 *
 * The event's event_type picks one bucket of the category index (rules whose
 * logsource category or detection pins event_type to a value) and that is
 * merged, in rule order, with the rules that apply to every event.  Each
 * candidate's logsource (product = agent, service = hook) is checked, then its
 * condition, with every selection evaluated at most once.  Correlation rules
 * then see which of their referenced rules matched, in dependency order, under
 * the state's mutex.  "Why" texts are built only for hits, by walking the
 * condition again in explain mode.
 */
#include "rules_int.h"

#include "common.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

bool rules_hook_blocking(const char *hook)
{
	return hook && (!strcmp(hook, "PreToolUse") || !strcmp(hook, "UserPromptSubmit") ||
			!strcmp(hook, "PermissionRequest"));
}

void rules_result_init(struct rules_result *r)
{
	memset(r, 0, sizeof(*r));
	r->action_hit = -1;
}

void rules_result_release(struct rules_result *r)
{
	struct rules_scratch *sc = r->scratch;

	if (sc) {
		if (sc->md)
			pcre2_match_data_free(sc->md);
		vg_free(sc->matched);
		vg_free(sc->pc_state);
		vg_free(sc->pc_val);
		for (size_t i = 0; i < sc->nstore; i++)
			vg_free(sc->store[i]);
		vg_free(sc->store);
		vg_free(sc);
	}
	vg_free(r->hits);
	rules_result_init(r);
}

int rint_scratch_prepare(const struct rules_set *set, struct rules_result *res)
{
	struct rules_scratch *sc = res->scratch;

	if (!sc) {
		sc = res->scratch = vg_calloc(1, sizeof(*sc));
		if (!sc)
			return -ENOMEM;
	}
	if (!sc->md) {
		/* One pair is enough: rules only ask whether a regex matched. */
		sc->md = pcre2_match_data_create(1, NULL);
		if (!sc->md)
			return -ENOMEM;
	}
	if (sc->nmatched < set->nrules + 1) {
		uint8_t *m = vg_realloc(sc->matched, set->nrules + 1);

		if (!m)
			return -ENOMEM;
		sc->matched = m;
		sc->nmatched = set->nrules + 1;
	}
	memset(sc->matched, 0, set->nrules + 1);
	if (sc->npc < set->npaths + 1) {
		uint8_t *ps = vg_realloc(sc->pc_state, set->npaths + 1);
		const json_t **pv;

		if (!ps)
			return -ENOMEM;
		sc->pc_state = ps;
		pv = vg_realloc(sc->pc_val, (set->npaths + 1) * sizeof(*pv));
		if (!pv)
			return -ENOMEM;
		sc->pc_val = pv;
		sc->npc = set->npaths + 1;
	}
	memset(sc->pc_state, 0, set->npaths + 1);
	sc->ls_cached = false;
	return 0;
}

/* A free hit slot (its store allocated when want_store). */
static struct rules_hit *hit_slot(struct rules_result *res, bool want_store)
{
	struct rules_scratch *sc = res->scratch;
	struct rules_hit *h;

	if (res->nhits == res->cap) {
		size_t ncap = res->cap ? res->cap * 2 : 8;
		struct rules_hit *nh = vg_realloc(res->hits, ncap * sizeof(*nh));

		if (!nh)
			return NULL;
		res->hits = nh;
		res->cap = ncap;
	}
	if (want_store) {
		if (sc->nstore <= res->nhits) {
			struct hit_store **ns = vg_realloc(sc->store, res->cap * sizeof(*ns));

			if (!ns)
				return NULL;
			for (size_t i = sc->nstore; i < res->cap; i++)
				ns[i] = NULL;
			sc->store = ns;
			sc->nstore = res->cap;
		}
		if (!sc->store[res->nhits]) {
			sc->store[res->nhits] = vg_calloc(1, sizeof(struct hit_store));
			if (!sc->store[res->nhits])
				return NULL;
		}
	}
	h = &res->hits[res->nhits];
	memset(h, 0, sizeof(*h));
	return h;
}

/* What a hit says of its rule (the strings are the set's, not copies). */
static void hit_of_rule(struct rules_hit *h, const struct rule *r, enum rules_kind kind)
{
	h->rule = r->index;
	h->rule_id = r->id;
	h->title = r->title;
	h->name = r->name;
	h->level = r->level;
	h->action = r->action;
	h->kind = kind;
}

static bool ls_ok(const char *want, const char *have, bool lenient)
{
	if (!want)
		return true;
	if (!have)
		return lenient;
	return !strcasecmp(have, want);
}

bool rint_rule_match_detection(struct mctx *m, struct rule *r, const json_t *ev, bool lenient)
{
	struct rules_scratch *sc = m->scratch;
	uint64_t done = 0, val = 0;

	if (!sc->ls_cached) {
		/* A missing or non-string field reads as absent (NULL). */
		sc->agent = json_string_value(json_object_get(ev, EVF_AGENT));
		sc->event_type = json_string_value(json_object_get(ev, EVF_EVENT_TYPE));
		sc->hook = json_string_value(json_object_get(ev, EVF_HOOK));
		sc->ls_cached = true;
	}
	if (!ls_ok(r->product, sc->agent, lenient) || !ls_ok(r->category, sc->event_type, lenient) ||
	    !ls_ok(r->service, sc->hook, lenient))
		return false;
	m->rule = r;
	return rint_cond_eval(m, r->cond, ev, &done, &val);
}

/* ---- why --------------------------------------------------------------------------- */

struct wbuf {
	char *p;
	size_t cap, len;
};

static void wput(struct wbuf *w, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void wput(struct wbuf *w, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (w->len >= w->cap)
		return;
	va_start(ap, fmt);
	n = vsnprintf(w->p + w->len, w->cap - w->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		w->len = w->len + (size_t)n < w->cap ? w->len + (size_t)n : w->cap - 1;
}

/* Ends a word of a command or text for wquote's cut. */
static bool word_end(unsigned char c)
{
	return c <= ' ' || c == '"' || c == '\'' || c == ';' || c == '|' || c == '&' || c == '(' ||
	       c == ')' || c == ',' || c == '<' || c == '>' || c == '`';
}

/*
 * Appends s quoted, at most max bytes, control characters as spaces.  A cut
 * falls between words, never inside one: the quote reaches alerts and
 * answers after redaction, and a secret cut in half is no longer a token
 * the redactor knows, so its first half would be kept.  A word longer than
 * max is left out whole.
 */
static void wquote(struct wbuf *w, const char *s, size_t n, size_t max)
{
	size_t k = n < max ? n : max;

	if (k < n)
		while (k > 0 && !word_end((unsigned char)s[k]) &&
		       !word_end((unsigned char)s[k - 1]))
			k--;
	wput(w, "\"");
	for (size_t i = 0; i < k && w->len + 2 < w->cap; i++) {
		char c = s[i];

		w->p[w->len++] = (unsigned char)c < 0x20 || c == 0x7f ? ' ' : c;
	}
	w->p[w->len] = '\0';
	wput(w, "%s\"", k < n ? "..." : "");
}

/* Selections that make the condition true (not under a not), in order. */
static void witnesses(struct mctx *m, const struct cnode *n, const json_t *ev, uint64_t *done,
		      uint64_t *val, uint64_t *out)
{
	switch (n->type) {
	case CN_SEL:
		if (rint_cond_eval(m, n, ev, done, val))
			*out |= 1ull << n->sel;
		break;
	case CN_NOT:
		break;
	case CN_AND:
		for (size_t i = 0; i < n->nkids; i++)
			witnesses(m, n->kids[i], ev, done, val, out);
		break;
	case CN_OR:
		for (size_t i = 0; i < n->nkids; i++) {
			if (rint_cond_eval(m, n->kids[i], ev, done, val)) {
				witnesses(m, n->kids[i], ev, done, val, out);
				break;
			}
		}
		break;
	case CN_ONE_OF:
	case CN_ALL_OF:
		for (int i = 0; i < 64; i++) {
			struct cnode one = { .type = CN_SEL, .sel = i };

			if (!(n->mask & (1ull << i)) || !rint_cond_eval(m, &one, ev, done, val))
				continue;
			*out |= 1ull << i;
			if (n->type == CN_ONE_OF)
				break;
		}
		break;
	}
}

static bool sel_is_routing(const struct sel *s)
{
	for (size_t a = 0; a < s->nalt; a++) {
		for (size_t f = 0; f < s->alt[a].nf; f++) {
			const struct fcond *fc = &s->alt[a].f[f];

			if (fc->keyword || fc->path.n != 1 ||
			    (strcmp(fc->path.c[0], EVF_HOOK) &&
			     strcmp(fc->path.c[0], EVF_EVENT_TYPE) &&
			     strcmp(fc->path.c[0], EVF_TOOL) && strcmp(fc->path.c[0], EVF_AGENT)))
				return false;
		}
	}
	return true;
}

/* Appends "selection 'name': field 'value' matched "..."" for the map that matched. */
static void explain_sel(struct mctx *m, const struct sel *s, const json_t *ev, struct wbuf *w,
			bool first)
{
	for (size_t a = 0; a < s->nalt; a++) {
		if (!rint_selmap_match(m, &s->alt[a], ev))
			continue;
		wput(w, "%s selection '%s':", first ? "" : ";", s->name);
		for (size_t f = 0; f < s->alt[a].nf; f++) {
			struct explain ex = { 0 };
			const struct fcond *fc = &s->alt[a].f[f];

			m->ex = &ex;
			rint_fcond_match(m, fc, ev);
			m->ex = NULL;
			wput(w, "%s %s", f ? "," : "", fc->key);
			if (ex.v)
				wput(w, " '%.60s%s'", ex.v->display,
				     strlen(ex.v->display) > 60 ? "..." : "");
			if (ex.s) {
				wput(w, " matched ");
				wquote(w, ex.s, ex.slen, 96);
			} else if (ex.v) {
				wput(w, " held");
			}
		}
		return;
	}
}

void rint_rule_explain(struct mctx *m, struct rule *r, const json_t *ev, char *out, size_t cap)
{
	struct wbuf w = { out, cap, 0 };
	uint64_t done = 0, val = 0, wit = 0;
	int shown = 0;

	out[0] = '\0';
	m->rule = r;
	witnesses(m, r->cond, ev, &done, &val, &wit);
	wput(&w, "%s:", r->title);
	/*
	 * At most two selections, those about the content first: one that only
	 * pins hook, event_type, tool or agent says little about why it fired.
	 */
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < r->nsels && shown < 2; i++) {
			if (!(wit & (1ull << i)) || sel_is_routing(&r->sels[i]) != (pass == 1))
				continue;
			explain_sel(m, &r->sels[i], ev, &w, shown == 0);
			shown++;
		}
	}
	if (!shown)
		wput(&w, " the condition held (no positive selection)");
}

/* ---- correlation ------------------------------------------------------------------- */

static void corr_why(const struct rule *r, const struct corr_out *co, const char *group,
		     char *out, size_t cap)
{
	const struct corr_def *c = r->corr;
	uint64_t span = c->timespan_ns / 1000000000ull;
	char sp[32];

	if (span % 86400 == 0)
		snprintf(sp, sizeof(sp), "%" PRIu64 "d", span / 86400);
	else if (span % 3600 == 0)
		snprintf(sp, sizeof(sp), "%" PRIu64 "h", span / 3600);
	else if (span % 60 == 0)
		snprintf(sp, sizeof(sp), "%" PRIu64 "m", span / 60);
	else
		snprintf(sp, sizeof(sp), "%" PRIu64 "s", span);
	switch (c->type) {
	case RULES_CORR_EVENT_COUNT:
		snprintf(out, cap, "%.200s: %" PRIu64 " matching events within %s%s%.200s", r->title,
			 co->count, sp, group[0] ? " for " : "", group);
		break;
	case RULES_CORR_VALUE_COUNT:
		snprintf(out, cap, "%.200s: %" PRIu64 " distinct values of %.64s within %s%s%.160s", r->title,
			 co->count, c->field_name, sp, group[0] ? " for " : "", group);
		break;
	default:
		snprintf(out, cap, "%.200s: %" PRIu64 " of %zu rules matched%s within %s%s%.200s", r->title,
			 co->count, c->nrefs,
			 c->type == RULES_CORR_TEMPORAL_ORDERED ? " in order" : "", sp,
			 group[0] ? " for " : "", group);
		break;
	}
}

static int eval_correlations(const struct rules_set *set, struct rules_state *st,
			     const json_t *ev, uint64_t t, struct rules_result *res)
{
	struct rules_scratch *sc = res->scratch;
	int rc = 0;

	rint_corr_lock(st);
	for (size_t i = 0; i < set->ncorr; i++) {
		struct rule *r = set->rules[set->corr[i]];
		struct corr_out co = { 0 };
		struct rules_hit *h;
		bool any = false, fired = false;

		if (r->disabled)
			continue;
		for (size_t k = 0; k < r->corr->nrefs && !any; k++)
			any = sc->matched[r->corr->refs[k]->index];
		if (!any)
			continue;
		atomic_fetch_add_explicit(&r->evals, 1, memory_order_relaxed);
		h = hit_slot(res, true);
		if (!h) {
			rc = -ENOMEM;
			break;
		}
		rc = rint_corr_update(st, r, ev, t, sc->matched, &fired, &co, sc->store[res->nhits]);
		if (rc < 0)
			break;
		if (!fired)
			continue;
		sc->matched[r->index] = 1;
		atomic_fetch_add_explicit(&r->hits, 1, memory_order_relaxed);
		if (!r->generate)
			continue;
		hit_of_rule(h, r, RULES_KIND_CORRELATION);
		h->group = sc->store[res->nhits]->group;
		h->count = co.count;
		h->first_ns = co.first_ns;
		h->last_ns = co.last_ns;
		h->event_ids = sc->store[res->nhits]->ids;
		h->nevent_ids = co.nids;
		corr_why(r, &co, h->group, h->why, sizeof(h->why));
		res->nhits++;
	}
	rint_corr_unlock(st);
	return rc;
}

/* ---- rules_eval -------------------------------------------------------------------- */

static const struct bucket *find_bucket(const struct rules_set *set, const json_t *ev)
{
	const char *et = json_string_value(json_object_get(ev, EVF_EVENT_TYPE));
	char low[160]; /* categories are at most 128 bytes */
	size_t lo = 0, hi = set->nbuckets, n;

	if (!et || !set->nbuckets)
		return NULL;
	n = strlen(et);
	if (n >= sizeof(low))
		return NULL;
	for (size_t i = 0; i <= n; i++)
		low[i] = et[i] >= 'A' && et[i] <= 'Z' ? (char)(et[i] | 0x20) : et[i];
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(low, set->buckets[mid].category);

		if (!c)
			return &set->buckets[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return NULL;
}

static int eval_one(const struct rules_set *set, struct mctx *m, struct rule *r,
		    const json_t *ev, struct rules_result *res)
{
	struct rules_hit *h;

	/*
	 * A load and a store, not a locked add: this runs for every candidate rule
	 * of every event, and an exact count is not worth a bus lock each time
	 * (concurrent evaluations may lose a few increments).
	 */
	atomic_store_explicit(&r->evals, atomic_load_explicit(&r->evals, memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (!rint_rule_match_detection(m, r, ev, false))
		return 0;
	m->scratch->matched[r->index] = 1;
	atomic_fetch_add_explicit(&r->hits, 1, memory_order_relaxed);
	if (!r->generate)
		return 0;
	h = hit_slot(res, false);
	if (!h)
		return -ENOMEM;
	hit_of_rule(h, r, RULES_KIND_DETECTION);
	h->group = "";
	rint_rule_explain(m, r, ev, h->why, sizeof(h->why));
	res->nhits++;
	return 0;
}

int rules_eval(const struct rules_set *set, struct rules_state *st, const json_t *ev,
	       uint64_t t, struct rules_result *res)
{
	struct mctx m = { .set = set };
	const struct bucket *b;
	size_t i = 0, j = 0, nb;
	int rc;

	res->nhits = 0;
	res->action = RULES_ACTION_ALERT;
	res->action_hit = -1;
	res->blocking = false;
	if (!set->finished || !json_is_object(ev))
		return -EINVAL;
	if ((rc = rint_scratch_prepare(set, res)) < 0)
		return rc;
	m.scratch = res->scratch;
	/* The statistics are the only mutable part of a finished set. */
	atomic_fetch_add_explicit(&((struct rules_set *)(uintptr_t)set)->events, 1,
				  memory_order_relaxed);
	b = find_bucket(set, ev);
	nb = b ? b->n : 0;
	/* Merge the bucket with the rules for every event, in rule order. */
	while (i < nb || j < set->nany) {
		size_t idx;

		if (j >= set->nany || (i < nb && b->rules[i] < set->any[j]))
			idx = b->rules[i++];
		else
			idx = set->any[j++];
		if ((rc = eval_one(set, &m, set->rules[idx], ev, res)) < 0)
			return rc;
	}
	if (st && set->ncorr && (rc = eval_correlations(set, st, ev, t, res)) < 0)
		return rc;
	res->blocking = rules_hook_blocking(json_string_value(json_object_get(ev, EVF_HOOK)));
	for (size_t k = 0; k < res->nhits; k++) {
		enum rules_action a = res->blocking ? res->hits[k].action : RULES_ACTION_ALERT;

		if (res->action_hit < 0 || a > res->action ||
		    (a == res->action && res->hits[k].level > res->hits[res->action_hit].level)) {
			res->action = a;
			res->action_hit = (long)k;
		}
	}
	return 0;
}
