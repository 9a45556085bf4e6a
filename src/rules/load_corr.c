/*
 * load_corr.c - correlation rules (Sigma's event_count, value_count,
 * temporal, temporal_ordered): the "correlation" map of a rule, checked and
 * compiled the way load.c does detections.
 */
#include "load_int.h"

#include "common.h"

#include <errno.h>
#include <string.h>

void rint_corr_free(struct corr_def *c)
{
	if (!c)
		return;
	rint_free_strings(c->ref_text, c->nref_text);
	vg_free(c->ref_line);
	vg_free(c->ref_col);
	vg_free(c->refs);
	for (size_t i = 0; i < c->ngb; i++)
		rint_fpath_release(&c->gb[i]);
	vg_free(c->gb);
	rint_free_strings(c->gb_name, c->ngb);
	for (size_t i = 0; i < c->naliases; i++) {
		struct corr_alias *a = &c->aliases[i];

		vg_free(a->alias);
		rint_free_strings(a->rule, a->n);
		for (size_t j = 0; j < a->n; j++)
			rint_fpath_release(&a->field[j]);
		vg_free(a->field);
	}
	vg_free(c->aliases);
	rint_fpath_release(&c->field);
	vg_free(c->field_name);
	vg_free(c);
}

static int parse_timespan(const char *s, uint64_t *ns)
{
	uint64_t sec;

	if (vg_parse_duration(s, &sec) < 0 || sec == 0 || sec > 366ull * 86400)
		return -EINVAL;
	*ns = sec * 1000000000ull;
	return 0;
}

static int parse_corr_condition(const struct loader *L, struct corr_def *c, const json_t *cond)
{
	static const struct {
		const char *k;
		enum num_cmp op;
	} ops[] = { { "gt", CMP_GT }, { "gte", CMP_GTE }, { "lt", CMP_LT }, { "lte", CMP_LTE },
		    { "eq", CMP_EQ } };
	const char *key;
	const json_t *v;

	if (!json_is_object(cond))
		return rint_err_at(L, rint_at_value(L, cond), "correlation 'condition' must be a map");
	json_object_foreach(rint_jro(cond), key, v) {
		size_t i;

		if (!strcmp(key, "field")) {
			if (!json_is_string(v) || rint_fpath_init(&c->field, json_string_value(v)) < 0)
				return rint_err_at(L, rint_at_member(L, cond, key), "'field' must be a field name");
			c->field_name = vg_strdup(json_string_value(v));
			if (!c->field_name)
				return -ENOMEM;
			continue;
		}
		for (i = 0; i < VG_ARRAY_LEN(ops) && strcmp(ops[i].k, key); i++)
			;
		if (i == VG_ARRAY_LEN(ops))
			return rint_err_at(L, rint_at_key(L, cond, key),
				      "unknown condition '%s' (want gt, gte, lt, lte, eq or field)", key);
		if (!json_is_integer(v) || json_integer_value(v) < 0 ||
		    json_integer_value(v) > (json_int_t)RULES_MAX_THRESHOLD)
			return rint_err_at(L, rint_at_member(L, cond, key),
				      "'%s' wants an integer from 0 to %u", key, RULES_MAX_THRESHOLD);
		if (c->nc == 2)
			return rint_err_at(L, rint_at_key(L, cond, key), "at most two conditions (a range)");
		c->c[c->nc].op = ops[i].op;
		c->c[c->nc].v = (uint64_t)json_integer_value(v);
		c->nc++;
	}
	c->has_cond = c->nc > 0;
	if (!c->nc)
		return rint_err_at(L, rint_at_value(L, cond), "correlation 'condition' has no gt, gte, lt, lte or eq");
	return 0;
}

static const char *const corr_types[] = { NULL, "event_count", "value_count", "temporal",
					  "temporal_ordered" };

/* Only known keys, and a known type. */
static int corr_type(const struct loader *L, struct corr_def *c, const json_t *root,
		     const json_t *co)
{
	static const char *const known[] = { "type", "rules", "group-by", "timespan", "condition",
					     "aliases", "generate" };
	const json_t *v;
	const char *key;
	size_t i;

	json_object_foreach(rint_jro(co), key, v) {
		for (i = 0; i < VG_ARRAY_LEN(known) && strcmp(known[i], key); i++)
			;
		if (i == VG_ARRAY_LEN(known))
			return rint_err_at(L, rint_at_key(L, co, key), "unknown key '%s' in correlation", key);
	}
	v = json_object_get(co, "type");
	if (!v)
		return rint_err_at(L, rint_at_key(L, root, "correlation"), "correlation has no 'type'");
	for (i = 1; i < VG_ARRAY_LEN(corr_types); i++)
		if (json_is_string(v) && !strcmp(corr_types[i], json_string_value(v)))
			c->type = (enum rules_corr_type)i;
	if (!c->type)
		return rint_err_at(L, rint_at_member(L, co, "type"),
			      "unknown correlation type '%.64s' (want event_count, value_count, "
			      "temporal or temporal_ordered)", json_string_value(v) ? json_string_value(v) : "?");
	return 0;
}

/* rules: the referenced rule names, with where each was written. */
static int corr_refs(const struct loader *L, struct corr_def *c, const json_t *root,
		     const json_t *co)
{
	const json_t *v = json_object_get(co, "rules");
	int rc;

	if (!v)
		return rint_err_at(L, rint_at_key(L, root, "correlation"), "correlation has no 'rules'");
	if ((rc = rint_string_list(L, co, "rules", RULES_MAX_REFS, &c->ref_text, &c->nref_text)) < 0)
		return rc;
	if (!c->nref_text)
		return rint_err_at(L, rint_at_member(L, co, "rules"), "'rules' is empty");
	c->ref_line = vg_calloc(c->nref_text, sizeof(int));
	c->ref_col = vg_calloc(c->nref_text, sizeof(int));
	if (!c->ref_line || !c->ref_col)
		return -ENOMEM;
	for (size_t i = 0; i < c->nref_text; i++) {
		struct where w = json_is_array(v) ? rint_at_elem(L, v, i) : rint_at_member(L, co, "rules");

		c->ref_line[i] = w.line;
		c->ref_col[i] = w.col;
	}
	return 0;
}

static int corr_group_by(const struct loader *L, struct corr_def *c, const json_t *co)
{
	int rc;

	if ((rc = rint_string_list(L, co, "group-by", RULES_MAX_GROUP_BY, &c->gb_name, &c->ngb)) < 0)
		return rc;
	c->gb = vg_calloc(c->ngb + 1, sizeof(*c->gb));
	if (!c->gb)
		return -ENOMEM;
	for (size_t i = 0; i < c->ngb; i++)
		if (rint_fpath_init(&c->gb[i], c->gb_name[i]) < 0)
			return rint_err_at(L, rint_at_member(L, co, "group-by"), "bad group-by field '%.80s'",
				      c->gb_name[i]);
	return 0;
}

/* timespan, and the condition (with its field) that the type needs. */
static int corr_window(const struct loader *L, struct corr_def *c, const json_t *root,
		       const json_t *co)
{
	const json_t *v = json_object_get(co, "timespan");
	int rc;

	if (!v)
		return rint_err_at(L, rint_at_key(L, root, "correlation"), "correlation has no 'timespan'");
	if (!json_is_string(v) || parse_timespan(json_string_value(v), &c->timespan_ns) < 0)
		return rint_err_at(L, rint_at_member(L, co, "timespan"),
			      "bad timespan '%.64s' (want a number and s, m, h or d, e.g. 5m; at "
			      "most 366d)", rint_text_of(L, co, "timespan", 0, v));
	v = json_object_get(co, "condition");
	if (v) {
		if ((rc = parse_corr_condition(L, c, v)) < 0)
			return rc;
	} else if (c->type == RULES_CORR_EVENT_COUNT || c->type == RULES_CORR_VALUE_COUNT) {
		return rint_err_at(L, rint_at_key(L, root, "correlation"), "%s needs a 'condition'",
			      corr_types[c->type]);
	}
	if (c->type == RULES_CORR_VALUE_COUNT && !c->field_name)
		return rint_err_at(L, rint_at_member(L, co, "condition"), "value_count needs 'field' in its condition");
	if (c->type != RULES_CORR_VALUE_COUNT && c->field_name)
		return rint_err_at(L, rint_at_member(L, co, "condition"), "'field' only goes with value_count");
	return 0;
}

/* One alias: {rule name: field}. */
static int corr_alias(const struct loader *L, struct corr_alias *a, const json_t *aliases,
		      const char *ak, const json_t *av)
{
	const char *rk;
	const json_t *rv;

	a->alias = vg_strdup(ak);
	a->rule = vg_calloc(json_object_size(av) + 1, sizeof(char *));
	a->field = vg_calloc(json_object_size(av) + 1, sizeof(*a->field));
	if (!a->alias || !a->rule || !a->field)
		return -ENOMEM;
	if (!json_is_object(av))
		return rint_err_at(L, rint_at_member(L, aliases, ak), "alias '%s' must map rule names to fields", ak);
	json_object_foreach(rint_jro(av), rk, rv) {
		if (!json_is_string(rv) || rint_fpath_init(&a->field[a->n], json_string_value(rv)) < 0)
			return rint_err_at(L, rint_at_member(L, av, rk), "bad field for alias '%s'", ak);
		a->rule[a->n] = vg_strdup(rk);
		if (!a->rule[a->n++])
			return -ENOMEM;
	}
	return 0;
}

/* aliases: alias -> {rule name: field}. */
static int corr_aliases(const struct loader *L, struct corr_def *c, const json_t *co)
{
	const json_t *v = json_object_get(co, "aliases"), *av;
	const char *ak;
	int rc;

	if (!v)
		return 0;
	if (!json_is_object(v))
		return rint_err_at(L, rint_at_member(L, co, "aliases"), "'aliases' must be a map");
	c->aliases = vg_calloc(json_object_size(v) + 1, sizeof(*c->aliases));
	if (!c->aliases)
		return -ENOMEM;
	json_object_foreach(rint_jro(v), ak, av) {
		if ((rc = corr_alias(L, &c->aliases[c->naliases++], v, ak, av)) < 0)
			return rc;
	}
	return 0;
}

int rint_parse_correlation(const struct loader *L, struct rule *r, const json_t *root)
{
	const json_t *co = json_object_get(root, "correlation"), *v;
	struct corr_def *c;
	int rc;

	if (!json_is_object(co))
		return rint_err_at(L, rint_at_member(L, root, "correlation"), "'correlation' must be a map");
	c = r->corr = vg_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	if ((rc = corr_type(L, c, root, co)) < 0 || (rc = corr_refs(L, c, root, co)) < 0 ||
	    (rc = corr_group_by(L, c, co)) < 0 || (rc = corr_window(L, c, root, co)) < 0 ||
	    (rc = corr_aliases(L, c, co)) < 0)
		return rc;
	v = json_object_get(co, "generate");
	if (v && !json_is_boolean(v))
		return rint_err_at(L, rint_at_member(L, co, "generate"), "'generate' must be true or false");
	/* Per group: enough timestamps to decide the condition exactly. */
	c->cap = 1;
	for (size_t i = 0; i < c->nc; i++)
		if (c->c[i].v + 1 > c->cap)
			c->cap = c->c[i].v + 1;
	return 0;
}
