/*
 * set.c - the rule set: creation, diagnostics, loading files and
 * directories, overrides, and rules_finish (correlation references, cycles,
 * overrides, and the category index that keeps rules_eval from running every
 * rule on every event).
 */
#include "rules_int.h"

#include "common.h"

#include <dirent.h>
#include <errno.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>
#include <sys/stat.h>

#define MAX_DIR_FILES 10000u
#define MAX_DIR_DEPTH 8u
#define MAX_EXPANDED_REFS 4096u

static const char *const level_names[] = { "informational", "low", "medium", "high", "critical" };
static const char *const action_names[] = { "alert", "ask", "block" };

const char *rules_level_name(enum rules_level l)
{
	return (unsigned)l < VG_ARRAY_LEN(level_names) ? level_names[l] : "medium";
}

const char *rules_action_name(enum rules_action a)
{
	return (unsigned)a < VG_ARRAY_LEN(action_names) ? action_names[a] : "alert";
}

const char *rules_kind_name(enum rules_kind k)
{
	return k == RULES_KIND_CORRELATION ? "correlation" : "detection";
}

const char *rules_corr_type_name(enum rules_corr_type t)
{
	static const char *const names[] = { NULL, "event_count", "value_count", "temporal",
					     "temporal_ordered" };

	return (unsigned)t < VG_ARRAY_LEN(names) ? names[t] : NULL;
}

int rules_level_parse(const char *s, enum rules_level *out)
{
	for (size_t i = 0; s && i < VG_ARRAY_LEN(level_names); i++) {
		if (!strcmp(s, level_names[i])) {
			*out = (enum rules_level)i;
			return 0;
		}
	}
	return -EINVAL;
}

int rules_action_parse(const char *s, enum rules_action *out)
{
	for (size_t i = 0; s && i < VG_ARRAY_LEN(action_names); i++) {
		if (!strcmp(s, action_names[i])) {
			*out = (enum rules_action)i;
			return 0;
		}
	}
	return -EINVAL;
}

static void free_const(const void *p)
{
	vg_free((void *)(uintptr_t)p);
}

/* ---- the set ----------------------------------------------------------------------- */

int rules_set_new(const struct rules_options *o, struct rules_set **out)
{
	struct rules_set *s = vg_calloc(1, sizeof(*s));

	*out = NULL;
	if (!s)
		return -ENOMEM;
	if (o)
		s->o = *o;
	if (!s->o.regex_match_limit)
		s->o.regex_match_limit = RULES_DEFAULT_REGEX_MATCH_LIMIT;
	if (!s->o.regex_depth_limit)
		s->o.regex_depth_limit = RULES_DEFAULT_REGEX_DEPTH_LIMIT;
	if (!s->o.max_file)
		s->o.max_file = RULES_MAX_FILE;
	if (!s->o.max_rules || s->o.max_rules > RULES_MAX_RULES)
		s->o.max_rules = RULES_MAX_RULES;
	s->mctx = pcre2_match_context_create(NULL);
	if (!s->mctx) {
		vg_free(s);
		return -ENOMEM;
	}
	pcre2_set_match_limit(s->mctx, s->o.regex_match_limit);
	pcre2_set_depth_limit(s->mctx, s->o.regex_depth_limit);
	*out = s;
	return 0;
}

void rules_set_free(struct rules_set *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->nrules; i++)
		rint_rule_free(s->rules[i]);
	vg_free(s->rules);
	for (size_t i = 0; i < s->ndiags; i++) {
		free_const(s->diags[i].file);
		free_const(s->diags[i].rule);
		free_const(s->diags[i].msg);
	}
	vg_free(s->diags);
	for (size_t i = 0; i < s->novr; i++)
		vg_free(s->ovr[i].key);
	vg_free(s->ovr);
	vg_free(s->ovr_file);
	for (size_t i = 0; i < s->nbuckets; i++) {
		vg_free(s->buckets[i].category);
		vg_free(s->buckets[i].rules);
	}
	vg_free(s->buckets);
	vg_free(s->any);
	vg_free(s->corr);
	pcre2_match_context_free(s->mctx);
	vg_free(s);
}

void rint_diag(struct rules_set *set, enum rules_severity sev, const char *file, int line,
		int col, const char *rule, const char *fmt, ...)
{
	struct rules_diag *d;
	char msg[640];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (sev == RULES_ERROR)
		set->nerrors++; /* counted even when memory runs out below */
	if (set->ndiags == set->diags_cap) {
		size_t ncap = set->diags_cap ? set->diags_cap * 2 : 16;
		struct rules_diag *nd = vg_realloc(set->diags, ncap * sizeof(*nd));

		if (!nd)
			return;
		set->diags = nd;
		set->diags_cap = ncap;
	}
	d = &set->diags[set->ndiags];
	d->severity = sev;
	d->line = line;
	d->col = col;
	d->file = vg_strdup(file ? file : "<string>");
	d->rule = rule ? vg_strdup(rule) : NULL;
	d->msg = vg_strdup(msg);
	if (!d->file || !d->msg || (rule && !d->rule)) {
		free_const(d->file);
		free_const(d->rule);
		free_const(d->msg);
		return;
	}
	set->ndiags++;
}

size_t rules_diag_count(const struct rules_set *set)
{
	return set->ndiags;
}

size_t rules_error_count(const struct rules_set *set)
{
	return set->nerrors;
}

const struct rules_diag *rules_diag_get(const struct rules_set *set, size_t i)
{
	return i < set->ndiags ? &set->diags[i] : NULL;
}

int rules_diag_format(const struct rules_diag *d, char *buf, size_t cap)
{
	const char *sev = d->severity == RULES_ERROR ? "error" : "warning";

	if (d->line > 0)
		return snprintf(buf, cap, "%s:%d:%d: %s: %s", d->file, d->line, d->col, sev, d->msg);
	return snprintf(buf, cap, "%s: %s: %s", d->file, sev, d->msg);
}

struct rule *rint_set_lookup(const struct rules_set *set, const char *key)
{
	for (size_t i = 0; i < set->nrules; i++) {
		struct rule *r = set->rules[i];

		if ((r->id && !strcmp(r->id, key)) || (r->name && !strcmp(r->name, key)))
			return r;
	}
	return NULL;
}

/* ---- loading ----------------------------------------------------------------------- */

int rules_add_text(struct rules_set *set, const char *name, const char *text, size_t len)
{
	if (set->finished)
		return -EBUSY;
	return rint_load_text(set, name ? name : "<string>", text, len);
}

int rules_add_file(struct rules_set *set, const char *path)
{
	char *text = NULL;
	size_t len = 0;
	int rc;

	if (set->finished)
		return -EBUSY;
	rc = vg_read_file(path, set->o.max_file, &text, &len);
	if (rc == -ENOMEM)
		return rc;
	if (rc == -EFBIG) {
		rint_diag(set, RULES_ERROR, path, 0, 0, NULL, "file larger than %zu bytes",
			   set->o.max_file);
		return 0;
	}
	if (rc < 0) {
		rint_diag(set, RULES_ERROR, path, 0, 0, NULL, "cannot read: %s", strerror(-rc));
		return 0;
	}
	rc = rint_load_text(set, path, text, len);
	vg_free(text);
	return rc;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static bool rule_file_name(const char *n)
{
	size_t l = strlen(n);

	return (l > 4 && !strcmp(n + l - 4, ".yml")) || (l > 5 && !strcmp(n + l - 5, ".yaml"));
}

static int add_dir(struct rules_set *set, const char *dir, unsigned depth, size_t *nfiles)
{
	DIR *d;
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rc = 0;

	if (depth > MAX_DIR_DEPTH) {
		rint_diag(set, RULES_ERROR, dir, 0, 0, NULL, "directories nested deeper than %u",
			   MAX_DIR_DEPTH);
		return 0;
	}
	d = opendir(dir);
	if (!d) {
		rint_diag(set, RULES_ERROR, dir, 0, 0, NULL, "cannot open directory: %s",
			   strerror(errno));
		return 0;
	}
	while ((e = readdir(d))) {
		char path[4096];
		struct stat st;

		if (e->d_name[0] == '.')
			continue;
		if (vg_path(path, sizeof(path), "%s/%s", dir, e->d_name) < 0 || stat(path, &st) < 0)
			continue;
		if (!S_ISDIR(st.st_mode) && !(S_ISREG(st.st_mode) && rule_file_name(e->d_name)))
			continue;
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 32;
			char **nn = vg_realloc(names, ncap * sizeof(*nn));

			if (!nn) {
				rc = -ENOMEM;
				goto out;
			}
			names = nn;
			cap = ncap;
		}
		if (!(names[n] = vg_strdup(path))) {
			rc = -ENOMEM;
			goto out;
		}
		n++;
	}
	if (n > 1) /* an empty directory leaves names NULL, which qsort may not get */
		qsort(names, n, sizeof(*names), cmp_str);
	for (size_t i = 0; i < n && rc == 0; i++) {
		struct stat st;

		if (stat(names[i], &st) < 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			rc = add_dir(set, names[i], depth + 1, nfiles);
			continue;
		}
		if (++*nfiles > MAX_DIR_FILES) {
			rint_diag(set, RULES_ERROR, dir, 0, 0, NULL, "more than %u rule files",
				   MAX_DIR_FILES);
			break;
		}
		rc = rules_add_file(set, names[i]);
	}
out:
	closedir(d);
	for (size_t i = 0; i < n; i++)
		vg_free(names[i]);
	vg_free(names);
	return rc;
}

int rules_add_path(struct rules_set *set, const char *path)
{
	struct stat st;
	size_t nfiles = 0;

	if (set->finished)
		return -EBUSY;
	if (stat(path, &st) < 0) {
		rint_diag(set, RULES_ERROR, path, 0, 0, NULL, "cannot read: %s", strerror(errno));
		return 0;
	}
	if (S_ISDIR(st.st_mode))
		return add_dir(set, path, 0, &nfiles);
	return rules_add_file(set, path);
}

/* ---- overrides --------------------------------------------------------------------- */

int rules_set_overrides(struct rules_set *set, const json_t *ov, const struct yj_doc *doc,
			const char *file)
{
	const char *key;
	const json_t *v;

	if (set->finished)
		return -EBUSY;
	if (!ov || json_is_null(ov))
		return 0;
	file = file ? file : "<overrides>";
	vg_free(set->ovr_file);
	set->ovr_file = vg_strdup(file);
	if (!set->ovr_file)
		return -ENOMEM;
	if (!json_is_object(ov)) {
		int line = 0, col = 0;

		if (doc)
			yj_where(doc, ov, &line, &col);
		rint_diag(set, RULES_ERROR, file, line, col, NULL,
			   "rules.overrides must be a map of rule id or name to settings");
		return 0;
	}
	json_object_foreach(rint_jro(ov), key, v) {
		struct ovr o = { 0 }, *no;
		struct yj_loc loc = { 0 };
		const char *k;
		const json_t *x;
		bool bad = false;

		if (doc)
			yj_member(doc, ov, key, &loc);
		o.line = loc.key_line;
		o.col = loc.key_col;
		if (!json_is_object(v)) {
			rint_diag(set, RULES_ERROR, file, loc.line, loc.col, key,
				   "override for '%s' must be a map", key);
			continue;
		}
		json_object_foreach(rint_jro(v), k, x) {
			struct yj_loc xl = { 0 };
			const char *s = json_string_value(x);
			uint64_t sec = 0; /* read below even when the timespan is bad */

			if (doc)
				yj_member(doc, v, k, &xl);
#define OVR_ERR(...)                                                                       \
	do {                                                                               \
		rint_diag(set, RULES_ERROR, file, xl.line, xl.col, key, __VA_ARGS__);      \
		bad = true;                                                                \
	} while (0)
			if (!strcmp(k, "disabled")) {
				if (!json_is_boolean(x))
					OVR_ERR("'disabled' must be true or false");
				o.has_disabled = true;
				o.disabled = json_is_true(x);
			} else if (!strcmp(k, "level")) {
				if (rules_level_parse(s, &o.level) < 0)
					OVR_ERR("unknown level '%.64s'", s ? s : "?");
				o.has_level = true;
			} else if (!strcmp(k, "action")) {
				if (rules_action_parse(s, &o.action) < 0)
					OVR_ERR("unknown action '%.64s' (want alert, ask or block)",
						s ? s : "?");
				o.has_action = true;
			} else if (!strcmp(k, "threshold")) {
				if (!json_is_integer(x) || json_integer_value(x) < 0 ||
				    json_integer_value(x) > (json_int_t)RULES_MAX_THRESHOLD)
					OVR_ERR("'threshold' wants an integer from 0 to %u",
						RULES_MAX_THRESHOLD);
				o.has_threshold = true;
				o.threshold = (uint64_t)json_integer_value(x);
			} else if (!strcmp(k, "timespan")) {
				if (!s || vg_parse_duration(s, &sec) < 0 || !sec || sec > 366ull * 86400)
					OVR_ERR("bad timespan (want e.g. 5m)");
				o.has_timespan = true;
				o.timespan_ns = sec * 1000000000ull;
			} else {
				OVR_ERR("unknown override '%s' (want disabled, level, action, "
					"threshold or timespan)", k);
			}
#undef OVR_ERR
		}
		if (bad)
			continue;
		o.key = vg_strdup(key);
		no = o.key ? vg_realloc(set->ovr, (set->novr + 1) * sizeof(*no)) : NULL;
		if (!no) {
			vg_free(o.key);
			return -ENOMEM;
		}
		set->ovr = no;
		set->ovr[set->novr++] = o;
	}
	return 0;
}

static void apply_overrides(struct rules_set *set)
{
	for (size_t i = 0; i < set->novr; i++) {
		const struct ovr *o = &set->ovr[i];
		struct rule *r = rint_set_lookup(set, o->key);

		if (!r) {
			rint_diag(set, RULES_WARNING, set->ovr_file, o->line, o->col, o->key,
				   "override for unknown rule '%s'", o->key);
			continue;
		}
		if (o->has_disabled)
			r->disabled = o->disabled;
		if (o->has_level)
			r->level = o->level;
		if (o->has_action)
			r->action = o->action;
		if ((o->has_threshold || o->has_timespan) && !r->corr) {
			rint_diag(set, RULES_ERROR, set->ovr_file, o->line, o->col, o->key,
				   "threshold and timespan only apply to correlation rules");
			continue;
		}
		if (o->has_timespan)
			r->corr->timespan_ns = o->timespan_ns;
		if (o->has_threshold) {
			struct corr_def *c = r->corr;

			if (!c->nc) {
				c->c[0].op = CMP_GTE;
				c->nc = 1;
				c->has_cond = true;
			}
			c->c[0].v = o->threshold;
			c->cap = 1;
			for (size_t k = 0; k < c->nc; k++)
				if (c->c[k].v + 1 > c->cap)
					c->cap = c->c[k].v + 1;
		}
	}
}

/* ---- finish ------------------------------------------------------------------------ */

static int add_ref(struct corr_def *c, struct rule *t)
{
	struct rule **nr;

	for (size_t i = 0; i < c->nrefs; i++)
		if (c->refs[i] == t)
			return 0;
	if (c->nrefs >= MAX_EXPANDED_REFS)
		return -E2BIG;
	nr = vg_realloc(c->refs, (c->nrefs + 1) * sizeof(*nr));
	if (!nr)
		return -ENOMEM;
	c->refs = nr;
	c->refs[c->nrefs++] = t;
	return 0;
}

static int resolve_refs(struct rules_set *set, struct rule *r)
{
	struct corr_def *c = r->corr;
	const char *label = r->id;

	for (size_t i = 0; i < c->nref_text; i++) {
		const char *t = c->ref_text[i];
		int rc;

		if (strchr(t, '*')) {
			size_t found = 0;

			for (size_t k = 0; k < set->nrules; k++) {
				struct rule *o = set->rules[k];

				if (o == r || o->kind != RULES_KIND_DETECTION)
					continue;
				if (fnmatch(t, o->id, 0) && (!o->name || fnmatch(t, o->name, 0)))
					continue;
				found++;
				if ((rc = add_ref(c, o)) == -ENOMEM)
					return rc;
				if (rc < 0) {
					rint_diag(set, RULES_ERROR, r->file, c->ref_line[i],
						   c->ref_col[i], label,
						   "'%s' matches more than %u rules", t, MAX_EXPANDED_REFS);
					r->broken = true;
					break;
				}
			}
			if (!found)
				rint_diag(set, RULES_WARNING, r->file, c->ref_line[i], c->ref_col[i],
					   label, "'%s' matches no detection rule", t);
			continue;
		}
		{
			struct rule *o = rint_set_lookup(set, t);

			if (!o) {
				rint_diag(set, RULES_ERROR, r->file, c->ref_line[i], c->ref_col[i],
					   label, "correlation refers to unknown rule '%.80s'", t);
				r->broken = true;
				continue;
			}
			if (o == r) {
				rint_diag(set, RULES_ERROR, r->file, c->ref_line[i], c->ref_col[i],
					   label, "correlation refers to itself");
				r->broken = true;
				continue;
			}
			if ((rc = add_ref(c, o)) == -ENOMEM)
				return rc;
		}
	}
	if (c->type == RULES_CORR_TEMPORAL_ORDERED && c->nrefs < 2 && !r->broken)
		rint_diag(set, RULES_WARNING, r->file, r->line, 1, label,
			   "temporal_ordered with fewer than two rules");
	return 0;
}

/* Depth-first: 0 white, 1 on the stack, 2 done.  Appends to order. */
static bool visit(struct rules_set *set, struct rule *r, uint8_t *color, size_t *order,
		  size_t *n)
{
	bool ok = true;

	if (color[r->index] == 2)
		return !r->broken;
	if (color[r->index] == 1) {
		rint_diag(set, RULES_ERROR, r->file, r->line, 1, r->id,
			   "correlation rules refer to each other in a cycle");
		r->broken = true;
		return false;
	}
	color[r->index] = 1;
	for (size_t i = 0; i < r->corr->nrefs; i++) {
		struct rule *t = r->corr->refs[i];

		if (t->broken)
			ok = false;
		else if (t->kind == RULES_KIND_CORRELATION && !visit(set, t, color, order, n))
			ok = false;
	}
	if (!ok && !r->broken) {
		rint_diag(set, RULES_ERROR, r->file, r->line, 1, r->id,
			   "correlation refers to a rule with errors");
		r->broken = true;
	}
	color[r->index] = 2;
	if (!r->broken)
		order[(*n)++] = r->index;
	return !r->broken;
}

/* event_type equals one of literal values (any modifiers that keep equality). */
static bool pins_event_type(const struct fcond *fc)
{
	if (fc->keyword || fc->all || fc->path.n != 1 || strcmp(fc->path.c[0], EVF_EVENT_TYPE))
		return false;
	for (size_t v = 0; v < fc->nv; v++)
		for (size_t p = 0; p < fc->v[v].np; p++)
			if (fc->v[v].p[p].op != P_EQ)
				return false;
	return true;
}

/* Categories to index a detection rule under; none means "every event". */
static int index_categories(struct rule *r)
{
	const struct cnode *n = r->cond;
	const struct sel *s = NULL;
	char **cats;
	size_t nc = 0, max = 0;

	if (r->category) {
		r->cat_index = vg_calloc(1, sizeof(char *));
		if (!r->cat_index || !(r->cat_index[0] = vg_strdup(r->category)))
			return -ENOMEM;
		r->ncat_index = 1;
		return 0;
	}
	/* Else a selection that every match needs and that pins event_type. */
	for (size_t k = 0; n && k < (n->type == CN_AND ? n->nkids : 1); k++) {
		const struct cnode *c = n->type == CN_AND ? n->kids[k] : n;
		const struct sel *cand;
		bool pins = true;

		if (c->type != CN_SEL)
			continue;
		cand = &r->sels[c->sel];
		for (size_t a = 0; a < cand->nalt && pins; a++) {
			bool found = false;

			for (size_t f = 0; f < cand->alt[a].nf && !found; f++)
				found = pins_event_type(&cand->alt[a].f[f]);
			pins = found;
		}
		if (pins) {
			s = cand;
			break;
		}
	}
	if (!s)
		return 0;
	for (size_t a = 0; a < s->nalt; a++)
		for (size_t f = 0; f < s->alt[a].nf; f++)
			if (pins_event_type(&s->alt[a].f[f]))
				max += s->alt[a].f[f].nv;
	if (!max)
		return 0;
	cats = vg_calloc(max, sizeof(char *));
	if (!cats)
		return -ENOMEM;
	for (size_t a = 0; a < s->nalt; a++) {
		for (size_t f = 0; f < s->alt[a].nf; f++) {
			const struct fcond *fc = &s->alt[a].f[f];

			if (!pins_event_type(fc))
				continue;
			for (size_t v = 0; v < fc->nv; v++) {
				for (size_t p = 0; p < fc->v[v].np && nc < max; p++) {
					char *d = vg_strdup(fc->v[v].p[p].lit);

					if (!d)
						goto oom;
					for (char *q = d; *q; q++)
						if (*q >= 'A' && *q <= 'Z')
							*q = (char)(*q | 0x20);
					cats[nc++] = d;
				}
			}
		}
	}
	if (!nc) {
		vg_free(cats);
		return 0;
	}
	r->cat_index = cats;
	r->ncat_index = nc;
	return 0;
oom:
	for (size_t i = 0; i < nc; i++)
		vg_free(cats[i]);
	vg_free(cats);
	return -ENOMEM;
}

/*
 * Gives every field path of every detection rule a slot in the per-event
 * lookup cache; equal paths share a slot, so an event's `target` is looked
 * up once however many rules read it.
 */
static int assign_paths(struct rules_set *set)
{
	size_t cap = 64, n = 0;
	const char **keys = vg_calloc(cap, sizeof(*keys));
	size_t *ids = vg_calloc(cap, sizeof(*ids));
	int rc = 0;

	if (!keys || !ids) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->nrules; i++) {
		struct rule *r = set->rules[i];

		for (size_t si = 0; si < r->nsels; si++) {
			for (size_t a = 0; a < r->sels[si].nalt; a++) {
				for (size_t f = 0; f < r->sels[si].alt[a].nf; f++) {
					struct fcond *fc = &r->sels[si].alt[a].f[f];
					const char *k = fc->key;
					size_t klen = strcspn(k, "|"), h = 5381, j;

					fc->pid = SIZE_MAX;
					if (fc->keyword)
						continue;
					for (j = 0; j < klen; j++)
						h = h * 33 + (unsigned char)k[j];
					for (j = h & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
						if (strcspn(keys[j], "|") == klen && !memcmp(keys[j], k, klen))
							break;
					if (keys[j]) {
						fc->pid = ids[j];
						continue;
					}
					if ((n + 1) * 2 > cap) {
						/* Grow and rehash, then look for the slot again. */
						size_t ncap = cap * 2;
						const char **nk = vg_calloc(ncap, sizeof(*nk));
						size_t *ni = vg_calloc(ncap, sizeof(*ni));

						if (!nk || !ni) {
							vg_free(nk);
							vg_free(ni);
							rc = -ENOMEM;
							goto out;
						}
						for (size_t o = 0; o < cap; o++) {
							size_t oh = 5381, ol, q;

							if (!keys[o])
								continue;
							ol = strcspn(keys[o], "|");
							for (q = 0; q < ol; q++)
								oh = oh * 33 + (unsigned char)keys[o][q];
							for (q = oh & (ncap - 1); nk[q]; q = (q + 1) & (ncap - 1))
								;
							nk[q] = keys[o];
							ni[q] = ids[o];
						}
						vg_free(keys);
						vg_free(ids);
						keys = nk;
						ids = ni;
						cap = ncap;
						for (j = h & (cap - 1); keys[j]; j = (j + 1) & (cap - 1))
							;
					}
					keys[j] = k;
					ids[j] = n;
					fc->pid = n++;
				}
			}
		}
	}
	set->npaths = n;
out:
	vg_free(keys);
	vg_free(ids);
	return rc;
}

static int cmp_bucket(const void *a, const void *b)
{
	return strcmp(((const struct bucket *)a)->category, ((const struct bucket *)b)->category);
}

static int bucket_add(struct rules_set *set, const char *cat, size_t idx)
{
	struct bucket *b = NULL;

	for (size_t i = 0; i < set->nbuckets; i++)
		if (!strcmp(set->buckets[i].category, cat))
			b = &set->buckets[i];
	if (!b) {
		struct bucket *nb = vg_realloc(set->buckets, (set->nbuckets + 1) * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		set->buckets = nb;
		b = &set->buckets[set->nbuckets];
		memset(b, 0, sizeof(*b));
		b->category = vg_strdup(cat);
		if (!b->category)
			return -ENOMEM;
		set->nbuckets++;
	}
	if (b->n && b->rules[b->n - 1] == idx)
		return 0; /* the same category twice in one rule */
	if (b->n == b->cap) {
		size_t ncap = b->cap ? b->cap * 2 : 16;
		size_t *nr = vg_realloc(b->rules, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		b->rules = nr;
		b->cap = ncap;
	}
	b->rules[b->n++] = idx;
	return 0;
}

static int build_index(struct rules_set *set)
{
	int rc;

	set->any = vg_calloc(set->nrules + 1, sizeof(size_t));
	set->corr = vg_calloc(set->nrules + 1, sizeof(size_t));
	if (!set->any || !set->corr)
		return -ENOMEM;
	for (size_t i = 0; i < set->nrules; i++) {
		struct rule *r = set->rules[i];

		if (r->kind != RULES_KIND_DETECTION || r->disabled)
			continue;
		if ((rc = index_categories(r)) < 0)
			return rc;
		if (!r->ncat_index) {
			set->any[set->nany++] = i;
			continue;
		}
		for (size_t k = 0; k < r->ncat_index; k++)
			if ((rc = bucket_add(set, r->cat_index[k], i)) < 0)
				return rc;
	}
	if (set->nbuckets)
		qsort(set->buckets, set->nbuckets, sizeof(*set->buckets), cmp_bucket);
	return 0;
}

int rules_finish(struct rules_set *set)
{
	uint8_t *color = NULL;
	size_t *order = NULL, n = 0, nslot = 0, k = 0;
	int rc = 0;

	if (set->finished)
		return -EBUSY;
	for (size_t i = 0; i < set->nrules; i++)
		set->rules[i]->index = i;
	apply_overrides(set);
	for (size_t i = 0; i < set->nrules; i++)
		if (set->rules[i]->corr && (rc = resolve_refs(set, set->rules[i])) < 0)
			return rc;
	color = vg_calloc(set->nrules + 1, 1);
	order = vg_calloc(set->nrules + 1, sizeof(*order));
	if (!color || !order) {
		rc = -ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < set->nrules; i++)
		if (set->rules[i]->corr)
			visit(set, set->rules[i], color, order, &n);
	/* Drop broken rules; renumber; map the correlation order to new indices. */
	for (size_t i = 0; i < set->nrules; i++) {
		struct rule *r = set->rules[i];

		if (r->broken) {
			rint_rule_free(r);
			continue;
		}
		color[i] = 1; /* kept */
		r->index = k;
		set->rules[k++] = r;
	}
	set->nrules = k;
	if ((rc = build_index(set)) < 0 || (rc = assign_paths(set)) < 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		/* order[] holds pre-compaction indices of non-broken correlations. */
		size_t old = order[i], newi = 0;

		for (size_t j = 0; j < old; j++)
			newi += color[j] == 1;
		set->rules[newi]->corr->slot = nslot++;
		set->corr[set->ncorr++] = newi;
	}
	set->finished = true;
out:
	vg_free(color);
	vg_free(order);
	return rc;
}

/* ---- information ------------------------------------------------------------------- */

size_t rules_count(const struct rules_set *set)
{
	return set->nrules;
}

int rules_get(const struct rules_set *set, size_t i, struct rules_info *out)
{
	const struct rule *r;

	if (i >= set->nrules)
		return -ENOENT;
	r = set->rules[i];
	memset(out, 0, sizeof(*out));
	out->id = r->id;
	out->name = r->name;
	out->title = r->title;
	out->description = r->description;
	out->status = r->status;
	out->author = r->author;
	out->file = r->file;
	out->line = r->line;
	out->level = r->level;
	out->action = r->action;
	out->kind = r->kind;
	out->corr_type = r->corr ? r->corr->type : RULES_CORR_NONE;
	out->tags = (const char *const *)r->tags;
	out->ntags = r->ntags;
	out->disabled = r->disabled;
	out->generate = r->generate;
	out->ntests = r->ntests;
	return 0;
}

long rules_find(const struct rules_set *set, const char *key)
{
	const struct rule *r = key ? rint_set_lookup(set, key) : NULL;

	return r ? (long)r->index : -ENOENT;
}

int rules_get_stats(const struct rules_set *set, size_t i, struct rules_stats *out)
{
	struct rule *r;

	if (i >= set->nrules)
		return -ENOENT;
	r = set->rules[i];
	out->evals = atomic_load_explicit(&r->evals, memory_order_relaxed);
	out->hits = atomic_load_explicit(&r->hits, memory_order_relaxed);
	out->regex_limit_hits = atomic_load_explicit(&r->relimit, memory_order_relaxed);
	return 0;
}

void rules_total_stats(const struct rules_set *set, uint64_t *events, uint64_t *hits,
		       uint64_t *relimit)
{
	struct rules_stats st;

	*events = atomic_load_explicit(&((struct rules_set *)(uintptr_t)set)->events,
				       memory_order_relaxed);
	*hits = *relimit = 0;
	for (size_t i = 0; i < set->nrules; i++) {
		rules_get_stats(set, i, &st);
		*hits += st.hits;
		*relimit += st.regex_limit_hits;
	}
}
