/*
 * rtest.h - helpers shared by the rules engine tests: build a finished set
 * from YAML text, evaluate JSON events, print diagnostics.
 */
#ifndef VIGIL_TESTS_RTEST_H
#define VIGIL_TESTS_RTEST_H

#include "common.h"
#include "rules.h"
#include "tap.h"

#include <stdio.h>
#include <stdlib.h>

/* A finished set from yaml; every diagnostic is printed as a TAP comment. */
static inline struct rules_set *rt_load(const char *yaml, const json_t *overrides)
{
	struct rules_set *s = NULL;
	char buf[1024];

	if (rules_set_new(NULL, &s) < 0)
		return NULL;
	if (rules_add_text(s, "t.yml", yaml, strlen(yaml)) < 0 ||
	    (overrides && rules_set_overrides(s, overrides, NULL, "cfg.yml") < 0) ||
	    rules_finish(s) < 0) {
		rules_set_free(s);
		return NULL;
	}
	for (size_t i = 0; i < rules_diag_count(s); i++) {
		rules_diag_format(rules_diag_get(s, i), buf, sizeof(buf));
		printf("# %s\n", buf);
	}
	return s;
}

/* Evaluates a JSON event; returns the number of hits (or -1 on error). */
static inline int rt_eval(const struct rules_set *s, struct rules_state *st, const char *ev_json,
			  uint64_t t, struct rules_result *res)
{
	json_error_t e;
	json_t *ev = json_loads(ev_json, 0, &e);
	int rc;

	if (!ev) {
		printf("# bad test event json: %s: %s\n", ev_json, e.text);
		return -1;
	}
	rc = rules_eval(s, st, ev, t, res);
	json_decref(ev);
	return rc < 0 ? -1 : (int)res->nhits;
}

#endif /* VIGIL_TESTS_RTEST_H */
