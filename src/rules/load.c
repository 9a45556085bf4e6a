/*
 * load.c - one rule file (a YAML stream) into struct rules.
 *
 * Every check here reports a diagnostic with the file, line and column of the
 * offending key or value, and the loader goes on with the next selection or
 * document so that one validation pass lists every mistake.  A rule with any
 * error is dropped; warnings keep it.  Everything the matcher needs is
 * compiled here (see match.c).
 */
#include "load_int.h"

#include "common.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <strings.h>

/* ---- locations and diagnostics ----------------------------------------------------- */

struct where rint_at_value(const struct loader *L, const json_t *v)
{
	struct where w = { L->dline, L->dcol };

	yj_where(L->doc, v, &w.line, &w.col);
	return w;
}

struct where rint_at_member(const struct loader *L, const json_t *obj, const char *key)
{
	struct yj_loc loc;

	if (yj_member(L->doc, obj, key, &loc) == 0)
		return (struct where){ loc.line, loc.col };
	return rint_at_value(L, obj);
}

struct where rint_at_key(const struct loader *L, const json_t *obj, const char *key)
{
	struct yj_loc loc;

	if (yj_member(L->doc, obj, key, &loc) == 0)
		return (struct where){ loc.key_line, loc.key_col };
	return rint_at_value(L, obj);
}

struct where rint_at_elem(const struct loader *L, const json_t *arr, size_t i)
{
	struct yj_loc loc;

	if (yj_element(L->doc, arr, i, &loc) == 0)
		return (struct where){ loc.line, loc.col };
	return rint_at_value(L, arr);
}

static void diag_at(const struct loader *L, enum rules_severity sev, struct where w,
		    const char *fmt, va_list ap) __attribute__((format(printf, 4, 0)));
static void diag_at(const struct loader *L, enum rules_severity sev, struct where w,
		    const char *fmt, va_list ap)
{
	char msg[512];

	vsnprintf(msg, sizeof(msg), fmt, ap);
	rint_diag(L->set, sev, L->file, w.line, w.col, L->label, "%s", msg);
}

int rint_err_at(const struct loader *L, struct where w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_at(L, RULES_ERROR, w, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static void warn_at(const struct loader *L, struct where w, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
static void warn_at(const struct loader *L, struct where w, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_at(L, RULES_WARNING, w, fmt, ap);
	va_end(ap);
}

/* The text of a scalar as written (numbers keep e.g. "0777"). */
const char *rint_text_of(const struct loader *L, const json_t *parent, const char *key,
			   size_t idx, const json_t *v)
{
	struct yj_loc loc;
	const char *t;

	if (json_is_string(v))
		return json_string_value(v);
	t = yj_scalar_text(L->doc, v);
	if (t)
		return t;
	if (parent &&
	    (key ? yj_member(L->doc, parent, key, &loc) : yj_element(L->doc, parent, idx, &loc)) == 0 &&
	    loc.text)
		return loc.text;
	return json_is_true(v) ? "true" : json_is_false(v) ? "false" : "null";
}

static char *dup_lower(const char *s)
{
	char *d = vg_strdup(s);

	for (char *p = d; p && *p; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p | 0x20);
	return d;
}

/* An optional string member: 0 (absent: *out NULL), 1 (set) or an error. */
static int opt_string(const struct loader *L, const json_t *obj, const char *key, size_t max,
		      char **out)
{
	const json_t *v = json_object_get(obj, key);

	*out = NULL;
	if (!v || json_is_null(v))
		return 0;
	if (!json_is_string(v) && !json_is_number(v))
		return rint_err_at(L, rint_at_member(L, obj, key), "'%s' must be a string", key);
	if (strlen(rint_text_of(L, obj, key, 0, v)) > max)
		return rint_err_at(L, rint_at_member(L, obj, key), "'%s' longer than %zu bytes", key, max);
	*out = vg_strdup(rint_text_of(L, obj, key, 0, v));
	return *out ? 1 : -ENOMEM;
}

/* A string or a list of strings. */
int rint_string_list(const struct loader *L, const json_t *obj, const char *key, size_t max,
		       char ***out, size_t *n)
{
	const json_t *v = json_object_get(obj, key);
	size_t i;
	const json_t *e;

	*out = NULL;
	*n = 0;
	if (!v || json_is_null(v))
		return 0;
	if (json_is_string(v)) {
		*out = vg_calloc(1, sizeof(char *));
		if (!*out || !((*out)[0] = vg_strdup(json_string_value(v))))
			return -ENOMEM;
		*n = 1;
		return 0;
	}
	if (!json_is_array(v))
		return rint_err_at(L, rint_at_member(L, obj, key), "'%s' must be a string or a list of strings",
			      key);
	if (json_array_size(v) > max)
		return rint_err_at(L, rint_at_member(L, obj, key), "'%s' has more than %zu entries", key, max);
	*out = vg_calloc(json_array_size(v) + 1, sizeof(char *));
	if (!*out)
		return -ENOMEM;
	json_array_foreach(v, i, e) {
		if (!json_is_string(e) && !json_is_number(e))
			return rint_err_at(L, rint_at_elem(L, v, i), "entries of '%s' must be strings", key);
		(*out)[i] = vg_strdup(rint_text_of(L, v, NULL, i, e));
		if (!(*out)[i])
			return -ENOMEM;
		(*n)++;
	}
	return 0;
}

void rint_free_strings(char **s, size_t n)
{
	for (size_t i = 0; s && i < n; i++)
		vg_free(s[i]);
	vg_free(s);
}

/* ---- values and modifiers ---------------------------------------------------------- */

static const struct {
	const char *name;
	unsigned bit;
} modifiers[] = {
	{ "contains", MOD_CONTAINS }, { "startswith", MOD_STARTS }, { "endswith", MOD_ENDS },
	{ "all", MOD_ALL },	      { "re", MOD_RE },		    { "i", MOD_RE_I },
	{ "m", MOD_RE_M },	      { "s", MOD_RE_S },	    { "cidr", MOD_CIDR },
	{ "windash", MOD_WINDASH },   { "exists", MOD_EXISTS },	    { "gt", MOD_GT },
	{ "gte", MOD_GTE },	      { "lt", MOD_LT },		    { "lte", MOD_LTE },
	{ "cased", MOD_CASED },	      { "base64", MOD_BASE64 },	    { "base64offset", MOD_BASE64OFF },
};

static const char *const unsupported_mods[] = { "expand", "fieldref", "utf16le", "utf16be",
						"utf16", "wide", "neq" };

#define MODS_STR (MOD_CONTAINS | MOD_STARTS | MOD_ENDS)
#define MODS_CMP (MOD_GT | MOD_GTE | MOD_LT | MOD_LTE)
#define MODS_RE (MOD_RE_I | MOD_RE_M | MOD_RE_S)

/* Splits "field|mod|mod"; field may be empty (keywords). */
static int parse_key(const struct loader *L, const json_t *obj, const char *key, char *field,
		     size_t fcap, unsigned *mods)
{
	const char *bar = strchr(key, '|');
	size_t flen = bar ? (size_t)(bar - key) : strlen(key);
	struct where w = rint_at_key(L, obj, key);

	*mods = 0;
	if (flen >= fcap)
		return rint_err_at(L, w, "field name longer than %zu bytes", fcap - 1);
	memcpy(field, key, flen);
	field[flen] = '\0';
	while (bar) {
		const char *m = bar + 1;
		size_t mlen;
		size_t i;

		bar = strchr(m, '|');
		mlen = bar ? (size_t)(bar - m) : strlen(m);
		for (i = 0; i < VG_ARRAY_LEN(modifiers); i++)
			if (strlen(modifiers[i].name) == mlen && !memcmp(modifiers[i].name, m, mlen))
				break;
		if (i == VG_ARRAY_LEN(modifiers)) {
			for (size_t j = 0; j < VG_ARRAY_LEN(unsupported_mods); j++)
				if (strlen(unsupported_mods[j]) == mlen &&
				    !memcmp(unsupported_mods[j], m, mlen))
					return rint_err_at(L, w, "modifier '%.*s' is not supported",
						      (int)mlen, m);
			return rint_err_at(L, w, "unknown modifier '%.*s'", (int)mlen, m);
		}
		if (*mods & modifiers[i].bit)
			return rint_err_at(L, w, "modifier '%.*s' given twice", (int)mlen, m);
		*mods |= modifiers[i].bit;
	}
	if (__builtin_popcount(*mods & MODS_STR) > 1)
		return rint_err_at(L, w, "contains, startswith and endswith exclude each other");
	if ((*mods & MODS_RE) && !(*mods & MOD_RE))
		return rint_err_at(L, w, "modifiers i, m and s only go with 're'");
	if ((*mods & MOD_RE) && (*mods & (MODS_STR | MOD_CIDR | MOD_WINDASH | MOD_CASED |
					  MOD_BASE64 | MOD_BASE64OFF | MODS_CMP | MOD_EXISTS)))
		return rint_err_at(L, w, "'re' takes no other modifiers than i, m, s and all");
	if ((*mods & MOD_CIDR) && (*mods & ~(MOD_CIDR | MOD_ALL)))
		return rint_err_at(L, w, "'cidr' takes no other modifiers than all");
	if ((*mods & MOD_EXISTS) && (*mods & ~MOD_EXISTS))
		return rint_err_at(L, w, "'exists' takes no other modifiers");
	if (__builtin_popcount(*mods & MODS_CMP) > 1 ||
	    ((*mods & MODS_CMP) && (*mods & ~(MODS_CMP | MOD_ALL))))
		return rint_err_at(L, w, "gt, gte, lt and lte take no other modifiers");
	if ((*mods & MOD_BASE64) && (*mods & MOD_BASE64OFF))
		return rint_err_at(L, w, "base64 and base64offset exclude each other");
	if ((*mods & (MOD_BASE64 | MOD_BASE64OFF)) && (*mods & MOD_WINDASH))
		return rint_err_at(L, w, "windash does not go with base64");
	if (!flen && (*mods & (MOD_EXISTS | MODS_CMP | MOD_CIDR)))
		return rint_err_at(L, w, "keywords take no exists, cidr or comparison modifiers");
	return 0;
}

static int add_pat(struct val *v, const struct pat *p)
{
	struct pat *np = vg_realloc(v->p, (v->np + 1) * sizeof(*np));

	if (!np)
		return -ENOMEM;
	v->p = np;
	v->p[v->np++] = *p;
	return 0;
}

/* base64 (offset 0) or the three base64offset variants of s. */
static int add_base64(struct val *v, const char *s, unsigned mods)
{
	static const size_t start[3] = { 0, 2, 3 }, cut[3] = { 0, 3, 2 };
	size_t n = strlen(s);
	int rc = 0;

	for (size_t i = 0; i < (mods & MOD_BASE64OFF ? 3u : 1u); i++) {
		uint8_t *raw = vg_calloc(1, n + 3);
		char *enc = vg_malloc(4 * ((n + i + 2) / 3) + 1);
		size_t elen, lo, hi;
		struct pat p;

		if (!raw || !enc) {
			vg_free(raw);
			vg_free(enc);
			return -ENOMEM;
		}
		memcpy(raw + i, s, n);
		vg_base64_encode(raw, n + i, enc);
		elen = strlen(enc);
		lo = mods & MOD_BASE64OFF ? start[i] : 0;
		hi = mods & MOD_BASE64OFF ? elen - cut[(n + i) % 3] : elen;
		if (hi < lo)
			hi = lo;
		rc = rint_pat_compile_string(enc + lo, hi - lo,
					MOD_CASED | (mods & (MODS_STR | MOD_KEYWORD)), &p, NULL, 0);
		vg_free(raw);
		vg_free(enc);
		if (rc < 0 || (rc = add_pat(v, &p)) < 0)
			return rc;
	}
	return 0;
}

/* Compiles one written value under modifiers; errors located at w. */
static int compile_value(const struct loader *L, struct where w, unsigned mods, const json_t *v,
			 const char *text, struct val *out)
{
	char err[256] = "";
	struct pat p;
	int rc = 0;

	memset(&p, 0, sizeof(p));
	out->display = vg_strdup(text);
	if (!out->display)
		return -ENOMEM;
	if (json_is_array(v) || json_is_object(v))
		return rint_err_at(L, w, "a value must be a scalar (or a list of scalars)");
	if (mods & MOD_EXISTS) {
		if (!json_is_boolean(v))
			return rint_err_at(L, w, "'exists' wants true or false");
		p.op = P_EXISTS;
		p.flag = json_is_true(v);
		return add_pat(out, &p);
	}
	if (mods & MODS_CMP) {
		if (!json_is_number(v))
			return rint_err_at(L, w, "a comparison wants a number, not '%.80s'", text);
		p.op = P_NUM_CMP;
		p.num = json_number_value(v);
		p.cmp = mods & MOD_GT ? CMP_GT : mods & MOD_GTE ? CMP_GTE : mods & MOD_LT ? CMP_LT : CMP_LTE;
		return add_pat(out, &p);
	}
	if (json_is_null(v)) {
		if (mods & ~(MOD_ALL))
			return rint_err_at(L, w, "null takes no modifiers");
		p.op = P_NULL;
		return add_pat(out, &p);
	}
	if (mods & MOD_CIDR) {
		if (!json_is_string(v) || rint_pat_compile_cidr(text, &p, err, sizeof(err)) < 0)
			return rint_err_at(L, w, "%s", err[0] ? err : "'cidr' wants a string");
		return add_pat(out, &p);
	}
	if (mods & MOD_RE) {
		rc = rint_pat_compile_re(L->set, text, strlen(text), mods, &p, err, sizeof(err));
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return rint_err_at(L, w, "%s", err);
		return add_pat(out, &p);
	}
	if (json_is_boolean(v) && !(mods & ~(MOD_ALL))) {
		p.op = P_BOOL;
		p.flag = json_is_true(v);
		return add_pat(out, &p);
	}
	if (json_is_number(v) && !(mods & ~(MOD_ALL))) {
		/* Numbers compare as numbers, and as their written text against strings. */
		p.op = P_NUM_EQ;
		p.num = json_number_value(v);
		p.litlen = strlen(text);
		p.lit = dup_lower(text);
		if (!p.lit)
			return -ENOMEM;
		return add_pat(out, &p);
	}
	if (mods & (MOD_BASE64 | MOD_BASE64OFF))
		return add_base64(out, text, mods);
	rc = rint_pat_compile_string(text, strlen(text), mods, &p, err, sizeof(err));
	if (rc < 0)
		return rc;
	return add_pat(out, &p);
}

static void fcond_release(struct fcond *fc)
{
	for (size_t i = 0; i < fc->nv; i++)
		rint_val_release(&fc->v[i]);
	vg_free(fc->v);
	vg_free(fc->key);
	rint_fpath_release(&fc->path);
	memset(fc, 0, sizeof(*fc));
}

/* One `key: value(s)` entry of a selection map (or a keyword list when obj is NULL). */
static int parse_fcond(const struct loader *L, const json_t *obj, const char *key,
		       const json_t *vals, struct where w, struct fcond *fc)
{
	char field[RULES_MAX_FIELD + 1];
	unsigned mods = 0;
	size_t n;
	int rc, bad = 0;

	memset(fc, 0, sizeof(*fc));
	if (obj) {
		if ((rc = parse_key(L, obj, key, field, sizeof(field), &mods)) < 0)
			return rc;
	} else {
		field[0] = '\0';
	}
	fc->key = vg_strdup(obj ? key : "keywords");
	if (!fc->key)
		return -ENOMEM;
	fc->all = (mods & MOD_ALL) != 0;
	if (!field[0]) {
		fc->keyword = true;
		mods |= MOD_KEYWORD;
	} else if ((rc = rint_fpath_init(&fc->path, field)) < 0) {
		return rc == -ENOMEM ? rc
				     : rint_err_at(L, rint_at_key(L, obj, key),
					      "bad field name '%.80s' (dotted path of at most %u parts)",
					      field, RULES_MAX_PATH);
	}
	n = json_is_array(vals) ? json_array_size(vals) : 1;
	if (json_is_array(vals) && n == 0)
		return rint_err_at(L, w, "empty list of values");
	if (n > RULES_MAX_VALUES)
		return rint_err_at(L, w, "more than %u values", RULES_MAX_VALUES);
	fc->v = vg_calloc(n, sizeof(*fc->v));
	if (!fc->v)
		return -ENOMEM;
	if (!json_is_array(vals)) {
		fc->nv = 1;
		rc = compile_value(L, w, mods, vals, rint_text_of(L, obj, key, 0, vals), &fc->v[0]);
		return rc;
	}
	for (size_t i = 0; i < n; i++) {
		const json_t *e = json_array_get(vals, i);

		fc->nv = i + 1;
		rc = compile_value(L, rint_at_elem(L, vals, i), mods, e, rint_text_of(L, vals, NULL, i, e),
				   &fc->v[i]);
		if (rc == -ENOMEM)
			return rc;
		bad |= rc < 0;
	}
	return bad ? -EINVAL : 0;
}

static int parse_selmap(const struct loader *L, const json_t *map, struct selmap *sm)
{
	const char *key;
	const json_t *v;
	int rc, bad = 0;

	memset(sm, 0, sizeof(*sm));
	if (json_object_size(map) == 0)
		return rint_err_at(L, rint_at_value(L, map), "empty selection");
	if (json_object_size(map) > RULES_MAX_FIELDS)
		return rint_err_at(L, rint_at_value(L, map), "more than %u fields in one selection",
			      RULES_MAX_FIELDS);
	sm->f = vg_calloc(json_object_size(map), sizeof(*sm->f));
	if (!sm->f)
		return -ENOMEM;
	json_object_foreach(rint_jro(map), key, v) {
		rc = parse_fcond(L, map, key, v, rint_at_member(L, map, key), &sm->f[sm->nf++]);
		if (rc == -ENOMEM)
			return rc;
		bad |= rc < 0;
	}
	return bad ? -EINVAL : 0;
}

static void sel_release(struct sel *s)
{
	for (size_t i = 0; i < s->nalt; i++) {
		for (size_t j = 0; j < s->alt[i].nf; j++)
			fcond_release(&s->alt[i].f[j]);
		vg_free(s->alt[i].f);
	}
	vg_free(s->alt);
	vg_free(s->name);
	memset(s, 0, sizeof(*s));
}

static bool valid_sel_name(const char *s)
{
	static const char *const reserved[] = { "and", "or", "not", "of", "them", "all", "any" };

	if (!*s || strlen(s) > 128)
		return false;
	for (const char *p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		      (*p >= '0' && *p <= '9') || *p == '_' || *p == '.' || *p == '-'))
			return false;
	for (size_t i = 0; i < VG_ARRAY_LEN(reserved); i++)
		if (!strcasecmp(s, reserved[i]))
			return false;
	return !(s[0] >= '0' && s[0] <= '9' && strspn(s, "0123456789") == strlen(s));
}

/* A selection of bare keywords, one or a list (v): a single alternative
 * holding one condition without a field, which matches anywhere in the event. */
static int parse_keywords(const struct loader *L, const json_t *v, struct where w,
			  struct sel *s)
{
	s->alt = vg_calloc(1, sizeof(*s->alt));
	if (!s->alt || !(s->alt[0].f = vg_calloc(1, sizeof(struct fcond))))
		return -ENOMEM;
	s->nalt = 1;
	s->alt[0].nf = 1;
	return parse_fcond(L, NULL, NULL, v, w, &s->alt[0].f[0]);
}

static int parse_selection(const struct loader *L, const json_t *det, const char *name,
			   const json_t *v, struct sel *s)
{
	struct where w = rint_at_member(L, det, name);
	int rc, bad = 0;

	s->name = vg_strdup(name);
	if (!s->name)
		return -ENOMEM;
	if (!valid_sel_name(name))
		return rint_err_at(L, rint_at_key(L, det, name),
			      "bad selection name '%.80s' (letters, digits, _ . -; not a keyword)",
			      name);
	if (json_is_object(v)) {
		s->alt = vg_calloc(1, sizeof(*s->alt));
		if (!s->alt)
			return -ENOMEM;
		s->nalt = 1;
		return parse_selmap(L, v, &s->alt[0]);
	}
	if (json_is_string(v) || json_is_number(v)) {
		return parse_keywords(L, v, w, s); /* a single keyword */
	}
	if (!json_is_array(v))
		return rint_err_at(L, w, "selection '%s' must be a map, a list of maps or a list of "
				    "keywords", name);
	if (json_array_size(v) == 0)
		return rint_err_at(L, w, "empty selection '%s'", name);
	if (json_array_size(v) > RULES_MAX_VALUES)
		return rint_err_at(L, w, "selection '%s' has more than %u entries", name,
			      RULES_MAX_VALUES);
	{
		size_t i, nmap = 0;
		const json_t *e;

		json_array_foreach(v, i, e)
			nmap += json_is_object(e);
		if (nmap && nmap != json_array_size(v))
			return rint_err_at(L, w, "selection '%s' mixes maps and plain values", name);
		if (!nmap) {
			return parse_keywords(L, v, w, s); /* a keyword list */
		}
		s->alt = vg_calloc(nmap, sizeof(*s->alt));
		if (!s->alt)
			return -ENOMEM;
		json_array_foreach(v, i, e) {
			s->nalt = i + 1;
			rc = parse_selmap(L, e, &s->alt[i]);
			if (rc == -ENOMEM)
				return rc;
			bad |= rc < 0;
		}
	}
	return bad ? -EINVAL : 0;
}

/* Text of a one-line condition: the column of offset pos (best effort). */
static struct where cond_where(const struct loader *L, const json_t *parent, const char *key,
			       size_t idx, const json_t *v, size_t pos)
{
	struct yj_loc loc;
	struct where w = rint_at_value(L, v);
	const char *s = json_string_value(v);

	if ((key ? yj_member(L->doc, parent, key, &loc) : yj_element(L->doc, parent, idx, &loc)) == 0) {
		w.line = loc.line;
		w.col = loc.col;
	}
	/* Only a one-line condition maps offsets to columns. */
	if (s && !strchr(s, '\n'))
		w.col += (int)pos;
	return w;
}

static int parse_detection(const struct loader *L, struct rule *r, const json_t *root)
{
	const json_t *det = json_object_get(root, "detection"), *cond, *v;
	uint64_t used = 0;
	const char *key;
	int rc, bad = 0;
	size_t n = 0;

	if (!json_is_object(det))
		return rint_err_at(L, rint_at_member(L, root, "detection"),
			      "'detection' must be a map of selections and a condition");
	cond = json_object_get(det, "condition");
	if (json_object_get(det, "timeframe"))
		bad |= rint_err_at(L, rint_at_key(L, det, "timeframe"),
			      "'timeframe' is deprecated: write a correlation rule") < 0;
	json_object_foreach(rint_jro(det), key, v)
		n += strcmp(key, "condition") && strcmp(key, "timeframe");
	if (n == 0)
		return rint_err_at(L, rint_at_member(L, root, "detection"), "'detection' has no selection");
	if (n > RULES_MAX_SELECTIONS)
		return rint_err_at(L, rint_at_member(L, root, "detection"), "more than %u selections",
			      RULES_MAX_SELECTIONS);
	r->sels = vg_calloc(n, sizeof(*r->sels));
	if (!r->sels)
		return -ENOMEM;
	json_object_foreach(rint_jro(det), key, v) {
		if (!strcmp(key, "condition") || !strcmp(key, "timeframe"))
			continue;
		rc = parse_selection(L, det, key, v, &r->sels[r->nsels++]);
		if (rc == -ENOMEM)
			return rc;
		bad |= rc < 0;
	}
	if (!cond)
		return rint_err_at(L, rint_at_key(L, root, "detection"), "'detection' has no 'condition'");
	/* The condition is checked even when a selection failed: its names are known. */
	if (json_is_string(cond)) {
		char err[256];
		size_t pos;

		rc = rint_cond_parse(r, json_string_value(cond), &r->cond, err, sizeof(err), &pos, &used);
		if (rc == -ENOMEM)
			return rc;
		if (rc < 0)
			return rint_err_at(L, cond_where(L, det, "condition", 0, cond, pos), "condition: %s",
				      err);
	} else if (json_is_array(cond) && json_array_size(cond) > 0 &&
		   json_array_size(cond) <= 64) {
		/* A list of conditions: any of them. */
		struct cnode *or = vg_calloc(1, sizeof(*or));
		size_t i;
		const json_t *c;

		if (!or || !(or->kids = vg_calloc(json_array_size(cond), sizeof(*or->kids)))) {
			vg_free(or);
			return -ENOMEM;
		}
		or->type = CN_OR;
		r->cond = or;
		json_array_foreach(cond, i, c) {
			char err[256];
			size_t pos;

			if (!json_is_string(c))
				return rint_err_at(L, rint_at_elem(L, cond, i), "a condition must be a string");
			rc = rint_cond_parse(r, json_string_value(c), &or->kids[i], err, sizeof(err), &pos,
					&used);
			if (rc == -ENOMEM)
				return rc;
			if (rc < 0)
				return rint_err_at(L, cond_where(L, cond, NULL, i, c, pos),
					      "condition: %s", err);
			or->nkids++;
		}
	} else {
		return rint_err_at(L, rint_at_member(L, det, "condition"),
			      "'condition' must be a string or a list of strings");
	}
	for (size_t i = 0; i < r->nsels; i++)
		if (!(used & (1ull << i)))
			warn_at(L, rint_at_key(L, det, r->sels[i].name),
				"selection '%s' is not used by the condition", r->sels[i].name);
	return bad ? -EINVAL : 0;
}

/* ---- tests ------------------------------------------------------------------------- */

static int parse_tests(const struct loader *L, struct rule *r, const json_t *root)
{
	const json_t *t = json_object_get(root, "tests");
	const char *key;
	const json_t *list;
	size_t total = 0;

	if (!json_is_object(t))
		return rint_err_at(L, rint_at_member(L, root, "tests"),
			      "'tests' must be a map with true_positives and false_positives");
	json_object_foreach(rint_jro(t), key, list) {
		if (strcmp(key, "true_positives") && strcmp(key, "false_positives"))
			return rint_err_at(L, rint_at_key(L, t, key),
				      "unknown key '%s' in tests (want true_positives, false_positives)",
				      key);
		if (!json_is_array(list) || json_array_size(list) > RULES_MAX_TESTS)
			return rint_err_at(L, rint_at_member(L, t, key), "'%s' must be a list of at most %u cases",
				      key, RULES_MAX_TESTS);
		total += json_array_size(list);
	}
	r->tests = vg_calloc(total + 1, sizeof(*r->tests));
	if (!r->tests)
		return -ENOMEM;
	json_object_foreach(rint_jro(t), key, list) {
		size_t i;
		json_t *c;

		json_array_foreach(list, i, c) {
			struct tcase *tc = &r->tests[r->ntests];
			struct where w = rint_at_elem(L, list, i);

			if (r->kind == RULES_KIND_DETECTION && !json_is_object(c))
				return rint_err_at(L, w, "a test case of a detection rule is an event (a map)");
			if (r->kind == RULES_KIND_CORRELATION) {
				size_t k;
				const json_t *e;

				if (!json_is_array(c) || !json_array_size(c) ||
				    json_array_size(c) > RULES_MAX_CASE_EVENTS)
					return rint_err_at(L, w, "a test case of a correlation rule is a list "
							    "of 1 to %u events", RULES_MAX_CASE_EVENTS);
				json_array_foreach(c, k, e) {
					const json_t *tm = json_object_get(e, EVF_TIME);
					const json_t *dt = json_object_get(e, "dt");
					uint64_t ns;

					if (!json_is_object(e))
						return rint_err_at(L, rint_at_elem(L, c, k), "an event must be a map");
					if (tm &&
					    (!json_is_string(tm) ||
					     vg_parse_time(json_string_value(tm), 0, &ns) < 0))
						return rint_err_at(
							L, rint_at_member(L, e, EVF_TIME),
							"bad time (want RFC 3339, e.g. 2026-01-01T00:00:00Z)");
					if (dt && (!json_is_number(dt) || json_number_value(dt) < 0 ||
						   json_number_value(dt) > 1e9))
						return rint_err_at(L, rint_at_member(L, e, "dt"),
							      "'dt' wants seconds (a non-negative number)");
				}
			}
			tc->ev = json_incref(c);
			tc->line = w.line;
			tc->col = w.col;
			tc->tp = !strcmp(key, "true_positives");
			tc->index = i;
			r->ntests++;
		}
	}
	return 0;
}

/* ---- the rule ---------------------------------------------------------------------- */

/* Each step below reports problems through L and returns -ENOMEM or 0. */
#define TRY(expr)                                                                        \
	do {                                                                             \
		int rc_ = (expr);                                                        \
		if (rc_ == -ENOMEM)                                                      \
			return rc_;                                                      \
	} while (0)

/* title, id, name, status, description, author, tags. */
static int rule_identity(struct loader *L, const json_t *root, struct rule *r)
{
	static const char *const statuses[] = { "stable", "test", "experimental", "deprecated",
						"unsupported" };
	const json_t *v;
	int rc;

	rc = opt_string(L, root, "title", MAX_TITLE, &r->title);
	TRY(rc);
	if (rc == 0 && !r->title)
		rint_err_at(L, (struct where){ L->dline, L->dcol }, "missing 'title'");
	rc = opt_string(L, root, "id", MAX_TITLE, &r->id);
	TRY(rc);
	if (r->id && !r->id[0])
		rint_err_at(L, rint_at_member(L, root, "id"), "'id' is empty");
	else if (rc == 0 && !r->id)
		rint_err_at(L, (struct where){ L->dline, L->dcol }, "missing 'id'");
	L->label = r->id ? r->id : r->title;
	TRY(opt_string(L, root, "name", MAX_TITLE, &r->name));
	if (r->name && !r->name[0])
		rint_err_at(L, rint_at_member(L, root, "name"), "'name' is empty");
	TRY(opt_string(L, root, "status", 64, &r->status));
	if (r->status) {
		size_t i;

		for (i = 0; i < VG_ARRAY_LEN(statuses) && strcmp(statuses[i], r->status); i++)
			;
		if (i == VG_ARRAY_LEN(statuses))
			warn_at(L, rint_at_member(L, root, "status"),
				"unknown status '%.64s' (stable, test, experimental, deprecated, "
				"unsupported)", r->status);
	}
	TRY(opt_string(L, root, "description", MAX_TEXT, &r->description));
	v = json_object_get(root, "author");
	if (v && !json_is_array(v))
		TRY(opt_string(L, root, "author", MAX_TITLE, &r->author));
	TRY(rint_string_list(L, root, "tags", 256, &r->tags, &r->ntags));
	return 0;
}

/* level, action, generate. */
static int rule_options(struct loader *L, const json_t *root, struct rule *r)
{
	const json_t *v;
	char *s = NULL;

	if (json_object_get(root, "level")) {
		TRY(opt_string(L, root, "level", 64, &s));
		if (s && rules_level_parse(s, &r->level) < 0)
			rint_err_at(L, rint_at_member(L, root, "level"),
			       "unknown level '%.64s' (want informational, low, medium, high or "
			       "critical)", s);
		vg_free(s);
		s = NULL;
	}
	if (json_object_get(root, "action")) {
		TRY(opt_string(L, root, "action", 64, &s));
		if (s && rules_action_parse(s, &r->action) < 0)
			rint_err_at(L, rint_at_member(L, root, "action"),
			       "unknown action '%.64s' (want alert, ask or block)", s);
		vg_free(s);
	}
	v = json_object_get(root, "generate");
	if (v) {
		if (!json_is_boolean(v))
			rint_err_at(L, rint_at_member(L, root, "generate"), "'generate' must be true or false");
		r->generate = !json_is_false(v);
	}
	return 0;
}

/* logsource: product, category, service, lower-cased; vigil's own product
 * names mean "any". */
static int rule_logsource(struct loader *L, const json_t *root, struct rule *r)
{
	const json_t *v = json_object_get(root, "logsource");

	if (!v)
		return 0;
	if (!json_is_object(v)) {
		rint_err_at(L, rint_at_member(L, root, "logsource"), "'logsource' must be a map");
		return 0;
	}
	TRY(opt_string(L, v, "product", 128, &r->product));
	TRY(opt_string(L, v, "category", 128, &r->category));
	TRY(opt_string(L, v, "service", 128, &r->service));
	char *const ls[] = { r->product, r->category, r->service };

	for (size_t i = 0; i < VG_ARRAY_LEN(ls); i++)
		for (char *q = ls[i]; q && *q; q++)
			if (*q >= 'A' && *q <= 'Z')
				*q = (char)(*q | 0x20);
	if (r->product && (!strcmp(r->product, "vigil") || !strcmp(r->product, "ai_agent"))) {
		vg_free(r->product);
		r->product = NULL;
	}
	return 0;
}

/* detection or correlation, falsepositives, tests. */
static int rule_body(struct loader *L, const json_t *root, struct rule *r)
{
	const json_t *v = json_object_get(root, "falsepositives");

	if (v && !json_is_string(v) && !json_is_array(v))
		rint_err_at(L, rint_at_member(L, root, "falsepositives"),
		       "'falsepositives' must be a string or a list");
	if (json_object_get(root, "correlation")) {
		r->kind = RULES_KIND_CORRELATION;
		if (json_object_get(root, "detection"))
			rint_err_at(L, rint_at_key(L, root, "detection"),
			       "a rule has either 'detection' or 'correlation', not both");
		else
			TRY(rint_parse_correlation(L, r, root));
	} else if (json_object_get(root, "detection")) {
		TRY(parse_detection(L, r, root));
	} else {
		rint_err_at(L, (struct where){ L->dline, L->dcol }, "missing 'detection'");
	}
	if (json_object_get(root, "tests"))
		TRY(parse_tests(L, r, root));
	return 0;
}
#undef TRY

/* Unique ids and names across the set (checked only for a rule with no
 * error of its own, so one mistake is not reported twice). */
static void rule_unique(struct loader *L, const json_t *root, const struct rule *r)
{
	struct rule *o;

	if (r->id && (o = rint_set_lookup(L->set, r->id)))
		rint_err_at(L, rint_at_member(L, root, "id"), "duplicate id '%.80s' (first in %s:%d)", r->id,
		       o->file, o->line);
	if (r->name && (o = rint_set_lookup(L->set, r->name)))
		rint_err_at(L, rint_at_member(L, root, "name"), "duplicate name '%.80s' (first in %s:%d)",
		       r->name, o->file, o->line);
}

static int parse_rule(struct loader *L, const json_t *root, struct rule **out)
{
	struct rule *r = vg_calloc(1, sizeof(*r));
	size_t nerr = L->set->nerrors;
	int rc;

	*out = NULL;
	if (!r)
		return -ENOMEM;
	r->line = L->dline;
	r->generate = true;
	r->level = RULES_LEVEL_MEDIUM;
	r->action = RULES_ACTION_ALERT;
	r->file = vg_strdup(L->file);
	rc = r->file ? 0 : -ENOMEM;
	if (rc == 0)
		rc = rule_identity(L, root, r);
	if (rc == 0)
		rc = rule_options(L, root, r);
	if (rc == 0)
		rc = rule_logsource(L, root, r);
	if (rc == 0)
		rc = rule_body(L, root, r);
	if (rc == 0 && L->set->nerrors == nerr)
		rule_unique(L, root, r);
	if (rc == 0 && L->set->nerrors != nerr)
		rc = -EINVAL;
	if (rc < 0) {
		rint_rule_free(r);
		return rc;
	}
	*out = r;
	return 0;
}

static int add_rule(struct rules_set *set, struct rule *r)
{
	if (set->nrules == set->cap) {
		size_t ncap = set->cap ? set->cap * 2 : 64;
		struct rule **nr = vg_realloc(set->rules, ncap * sizeof(*nr));

		if (!nr)
			return -ENOMEM;
		set->rules = nr;
		set->cap = ncap;
	}
	set->rules[set->nrules++] = r;
	return 0;
}

int rint_load_text(struct rules_set *set, const char *name, const char *text, size_t len)
{
	struct yj_limits lim = { .max_input = set->o.max_file };
	struct yj_doc *doc = NULL;
	char err[512];
	int rc;

	rc = yj_parse(text, len, name, &lim, &doc, err, sizeof(err));
	if (rc == -ENOMEM)
		return rc;
	if (rc < 0) {
		/* "file:line:col: reason" back into its parts. */
		const char *p = err + strlen(name);
		int line = 0, col = 0, off = 0;

		if (!strncmp(err, name, strlen(name)) && sscanf(p, ":%d:%d: %n", &line, &col, &off) == 2 && off)
			rint_diag(set, RULES_ERROR, name, line, col, NULL, "%s", p + off);
		else
			rint_diag(set, RULES_ERROR, name, 0, 0, NULL, "%s", err);
		return 0;
	}
	for (size_t i = 0; i < yj_count(doc); i++) {
		struct loader L = { .set = set, .doc = doc, .file = name };
		const json_t *root = yj_root(doc, i);
		struct rule *r = NULL;

		yj_doc_where(doc, i, &L.dline, &L.dcol);
		if (json_is_null(root))
			continue; /* an empty document, e.g. a trailing --- */
		if (!json_is_object(root)) {
			rint_err_at(&L, rint_at_value(&L, root), "a rule must be a map");
			continue;
		}
		if (set->nrules >= set->o.max_rules) {
			rint_err_at(&L, (struct where){ L.dline, L.dcol }, "more than %zu rules",
			       set->o.max_rules);
			break;
		}
		rc = parse_rule(&L, root, &r);
		if (rc == -ENOMEM)
			goto out;
		if (r && (rc = add_rule(set, r)) < 0) {
			rint_rule_free(r);
			goto out;
		}
	}
	rc = 0;
out:
	yj_free(doc);
	return rc;
}

void rint_rule_free(struct rule *r)
{
	if (!r)
		return;
	vg_free(r->id);
	vg_free(r->name);
	vg_free(r->title);
	vg_free(r->description);
	vg_free(r->status);
	vg_free(r->author);
	vg_free(r->file);
	rint_free_strings(r->tags, r->ntags);
	vg_free(r->product);
	vg_free(r->category);
	vg_free(r->service);
	rint_free_strings(r->cat_index, r->ncat_index);
	for (size_t i = 0; i < r->nsels; i++)
		sel_release(&r->sels[i]);
	vg_free(r->sels);
	rint_cond_free(r->cond);
	rint_corr_free(r->corr);
	for (size_t i = 0; i < r->ntests; i++)
		json_decref(r->tests[i].ev);
	vg_free(r->tests);
	vg_free(r);
}
