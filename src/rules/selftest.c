/*
 * selftest.c - rules_selftest: run every rule's embedded test cases.
 *
 * A detection case runs the one rule alone, with logsource checks only for
 * the fields the case has.  A correlation case runs its events through a
 * fresh state, evaluating just the rules the correlation depends on
 * (detection rules and, for chains, other correlations), in dependency order.
 */
#include "rules_int.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>

#define CASE_T0 1767225600000000000ull /* 2026-01-01T00:00:00Z */

/* Marks r and everything it depends on. */
static void mark_deps(const struct rule *r, uint8_t *need)
{
	if (need[r->index])
		return;
	need[r->index] = 1;
	for (size_t i = 0; r->corr && i < r->corr->nrefs; i++)
		mark_deps(r->corr->refs[i], need);
}

static int run_corr_case(const struct rules_set *set, struct rule *r, const json_t *events,
			 struct rules_result *res, uint8_t *need, bool *hit, char *msg, size_t cap)
{
	struct rules_state *st = NULL;
	struct mctx m = { .set = set };
	uint64_t t = CASE_T0;
	size_t i;
	const json_t *ev;
	int rc;

	*hit = false;
	if ((rc = rules_state_new(set, NULL, &st)) < 0)
		return rc;
	memset(need, 0, set->nrules);
	mark_deps(r, need);
	json_array_foreach(events, i, ev) {
		const json_t *tm = json_object_get(ev, EVF_TIME), *dt = json_object_get(ev, "dt");
		struct rules_scratch *sc;

		if ((rc = rint_scratch_prepare(set, res)) < 0)
			goto out;
		sc = res->scratch;
		m.scratch = sc;
		if (json_is_string(tm)) {
			if (vg_parse_time(json_string_value(tm), 0, &t) < 0) {
				snprintf(msg, cap, "event %zu: bad time", i);
				rc = 1;
				goto out;
			}
		} else if (dt) {
			t = CASE_T0 + (uint64_t)(json_number_value(dt) * 1e9);
		} else if (i > 0) {
			t += 1000000000ull;
		}
		for (size_t k = 0; k < set->nrules; k++) {
			struct rule *d = set->rules[k];

			if (need[k] && d->kind == RULES_KIND_DETECTION &&
			    rint_rule_match_detection(&m, d, ev, true))
				sc->matched[k] = 1;
		}
		rint_corr_lock(st);
		for (size_t k = 0; k < set->ncorr; k++) {
			struct rule *c = set->rules[set->corr[k]];
			struct corr_out co = { 0 };
			bool any = false, fired = false;

			if (!need[c->index])
				continue;
			for (size_t j = 0; j < c->corr->nrefs && !any; j++)
				any = sc->matched[c->corr->refs[j]->index];
			if (!any)
				continue;
			rc = rint_corr_update(st, c, ev, t, sc->matched, &fired, &co, NULL);
			if (rc < 0)
				break;
			if (fired)
				sc->matched[c->index] = 1;
		}
		rint_corr_unlock(st);
		if (rc < 0)
			goto out;
		if (sc->matched[r->index]) {
			*hit = true;
			snprintf(msg, cap, "fired at event %zu", i);
			break;
		}
	}
	if (!*hit)
		snprintf(msg, cap, "did not fire over %zu events", json_array_size(events));
	rc = 0;
out:
	rules_state_free(st);
	return rc;
}

long rules_selftest(const struct rules_set *set, rules_selftest_fn fn, void *arg, size_t *ncases)
{
	struct rules_result res;
	uint8_t *need = NULL;
	long failed = 0;
	size_t cases = 0;
	int rc = 0;

	if (ncases)
		*ncases = 0;
	if (!set->finished)
		return -EINVAL;
	rules_result_init(&res);
	need = vg_calloc(set->nrules + 1, 1);
	if (!need) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->nrules; i++) {
		struct rule *r = set->rules[i];

		for (size_t k = 0; k < r->ntests; k++) {
			const struct tcase *tc = &r->tests[k];
			struct rules_test_report rep = { .rule = i, .rule_id = r->id,
							 .true_positive = tc->tp, .index = tc->index,
							 .file = r->file, .line = tc->line, .col = tc->col };
			char msg[RULES_WHY_MAX + 64] = "";
			bool hit = false;

			if (r->kind == RULES_KIND_DETECTION) {
				struct mctx m = { .set = set };

				if ((rc = rint_scratch_prepare(set, &res)) < 0)
					goto out;
				m.scratch = res.scratch;
				hit = rint_rule_match_detection(&m, r, tc->ev, true);
				if (hit) {
					char why[RULES_WHY_MAX];

					rint_rule_explain(&m, r, tc->ev, why, sizeof(why));
					snprintf(msg, sizeof(msg), "matched: %s", why);
				} else {
					snprintf(msg, sizeof(msg), "did not match");
				}
			} else {
				rc = run_corr_case(set, r, tc->ev, &res, need, &hit, msg, sizeof(msg));
				if (rc < 0)
					goto out;
				if (rc > 0)
					hit = !tc->tp; /* a bad case fails either way */
				rc = 0;
			}
			rep.passed = hit == tc->tp;
			rep.msg = msg;
			failed += !rep.passed;
			cases++;
			if (fn)
				fn(arg, &rep);
		}
	}
out:
	vg_free(need);
	rules_result_release(&res);
	if (ncases)
		*ncases = cases;
	return rc < 0 ? rc : failed;
}
