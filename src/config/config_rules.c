/*
 * config_rules.c - the rule set vigild runs, built from a loaded config: the
 * default pack, rules.paths and rules.overrides.  vigild and `vigil rules`
 * both build it here, so `vigil rules validate` sees exactly what the
 * daemon would run.
 */
#include "config.h"
#include "config_int.h"

#include "common.h"
#include "rules.h"

#include <errno.h>
#include <stdlib.h>

int config_build_rules(const json_t *conf, const struct config *located,
		       const struct config_rules_opts *o, struct rules_set **out)
{
	static const struct config_rules_opts none = { 0 };
	struct rules_options ro = { 0 };
	struct rules_set *set = NULL;
	const json_t *ov;
	bool pack;
	int rc;

	*out = NULL;
	if (!o)
		o = &none;
	if (located && !conf)
		conf = config_tree(located);
	ro.regex_match_limit = (uint32_t)config_rules_regex_match_limit(conf);
	rc = rules_set_new(&ro, &set);
	if (rc < 0)
		return rc;
	if (o->default_pack == CONFIG_PACK_YES)
		pack = true;
	else if (o->default_pack == CONFIG_PACK_NO)
		pack = false;
	else
		pack = o->npaths ? false : config_rules_default_pack(conf);
	if (pack && (rc = rules_add_default_pack(set)) < 0)
		goto out;
	if (o->npaths) {
		for (size_t i = 0; i < o->npaths; i++)
			if ((rc = rules_add_path(set, o->paths[i])) < 0)
				goto out;
	} else {
		for (size_t i = 0; i < config_rules_path_count(conf); i++)
			if ((rc = rules_add_path(set, config_rules_path(conf, i))) < 0)
				goto out;
	}
	ov = config_rules_overrides(conf);
	if (ov && !o->no_overrides) {
		const char *file = located && config_path(located)[0] ? config_path(located) : NULL;

		rc = rules_set_overrides(set, ov, located ? cfg_doc(located) : NULL, file);
		if (rc < 0)
			goto out;
	}
	rc = rules_finish(set);
out:
	if (rc < 0) {
		rules_set_free(set);
		return rc;
	}
	*out = set;
	return 0;
}
