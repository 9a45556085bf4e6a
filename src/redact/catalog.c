/*
 * catalog.c - compiles secrets/catalog.yml (or any text of its form) into
 * struct rd_catalog: token formats with their dispatch table, and the data of
 * the context detectors.  Every rejection names file:line:col.
 */
#include "redact_int.h"

#include "yj.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "embed.h"

#define RD_MAX_FORMATS 1024u
#define RD_MAX_WORDS 256u
#define RD_MAX_LIST 256u
#define RD_MAX_CLI 64u
#define RD_MAX_HOOKS 64u
#define RD_MAX_PART_LEN 4096u

struct cc {
	struct rd_catalog *c;
	const struct yj_doc *doc;
	char *err;
	size_t errcap;
};

static int fail_at(struct cc *k, const json_t *parent, const char *key, size_t idx, const char *fmt,
		   ...) __attribute__((format(printf, 5, 6)));

/* "file:line:col: reason" about member key of parent (or element idx when key
 * is NULL); -EINVAL. */
static int fail_at(struct cc *k, const json_t *parent, const char *key, size_t idx, const char *fmt,
		   ...)
{
	struct yj_loc loc = { 0 };
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (parent && (key ? yj_member(k->doc, parent, key, &loc)
			   : yj_element(k->doc, parent, idx, &loc)) < 0)
		loc.line = loc.col = 0;
	snprintf(k->err, k->errcap, "%s:%d:%d: %s", yj_file(k->doc), loc.line, loc.col, why);
	return -EINVAL;
}

/* "A-Za-z0-9_-": ranges and single bytes; a leading ^ negates. */
static int compile_set(const char *spec, struct rdx_set *s)
{
	size_t n = strlen(spec), i = 0;
	bool neg = false;

	memset(s, 0, sizeof(*s));
	if (n && spec[0] == '^') {
		neg = true;
		i = 1;
	}
	if (i == n)
		return -EINVAL;
	for (; i < n; i++) {
		unsigned char a = (unsigned char)spec[i], b = a;

		if (i + 2 < n && spec[i + 1] == '-') {
			b = (unsigned char)spec[i + 2];
			i += 2;
		}
		if (b < a)
			return -EINVAL;
		for (unsigned c = a; c <= b; c++)
			s->bits[c >> 3] |= (uint8_t)(1u << (c & 7));
	}
	if (neg)
		for (size_t j = 0; j < sizeof(s->bits); j++)
			s->bits[j] = (uint8_t)~s->bits[j];
	return 0;
}

static const char *str_of(const json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static int count_of(struct cc *k, const json_t *part, const char *key, unsigned *out)
{
	const json_t *v = json_object_get(part, key);

	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    json_integer_value(v) > RD_MAX_PART_LEN)
		return fail_at(k, part, key, 0, "%s: a whole number from 0 to %u", key,
			       RD_MAX_PART_LEN);
	*out = (unsigned)json_integer_value(v);
	return 0;
}

static int compile_part(struct cc *k, const json_t *parts, size_t idx, struct rdx_part *p)
{
	const json_t *o = json_array_get(parts, idx);
	const char *lit = str_of(o, "lit"), *chars = str_of(o, "chars");
	int rc;

	if (!json_is_object(o) || (!lit == !chars))
		return fail_at(k, parts, NULL, idx,
			       "a part is { lit: TEXT } or { chars: SET, ... }");
	if (lit) {
		p->lit = lit;
		p->lit_len = strlen(lit);
		p->min = p->max = (unsigned)p->lit_len;
		return p->lit_len ? 0 : fail_at(k, parts, NULL, idx, "lit: empty");
	}
	if (compile_set(chars, &p->set) < 0)
		return fail_at(k, o, "chars", 0, "chars: not a character set (\"A-Za-z0-9_-\")");
	if (json_object_get(o, "len")) {
		if ((rc = count_of(k, o, "len", &p->min)) < 0)
			return rc;
		p->max = p->min;
	} else {
		if ((rc = count_of(k, o, "min", &p->min)) < 0 ||
		    (rc = count_of(k, o, "max", &p->max)) < 0)
			return rc;
	}
	if (p->max == 0 || p->max < p->min)
		return fail_at(k, parts, NULL, idx, "a part needs len, or min <= max with max > 0");
	return 0;
}

static int compile_prefixes(struct cc *k, const json_t *o, struct rdx_format *f)
{
	const json_t *p = json_object_get(o, "prefix");

	if (json_is_string(p)) {
		f->prefix[0] = json_string_value(p);
		f->prefix_len[0] = json_string_length(p);
		f->nprefix = 1;
		return 0;
	}
	if (!json_is_array(p) || json_array_size(p) == 0 || json_array_size(p) > RD_MAX_PREFIXES)
		return fail_at(k, o, "prefix", 0, "prefix: a string or a list of 1 to %u strings",
			       RD_MAX_PREFIXES);
	for (size_t i = 0; i < json_array_size(p); i++) {
		const json_t *e = json_array_get(p, i);

		if (!json_is_string(e) || json_string_length(e) == 0)
			return fail_at(k, p, NULL, i, "prefix: not a non-empty string");
		f->prefix[i] = json_string_value(e);
		f->prefix_len[i] = json_string_length(e);
	}
	f->nprefix = json_array_size(p);
	return 0;
}

static int compile_format(struct cc *k, const json_t *list, size_t idx, struct rdx_format *f)
{
	const json_t *o = json_array_get(list, idx), *parts;
	size_t shortest = SIZE_MAX;
	int rc;

	if (!json_is_object(o))
		return fail_at(k, list, NULL, idx, "a format is a mapping");
	f->kind = str_of(o, "kind");
	f->title = str_of(o, "title");
	if (!f->kind || !*f->kind || !f->title)
		return fail_at(k, list, NULL, idx, "a format needs kind and title");
	if ((rc = compile_prefixes(k, o, f)) < 0)
		return rc;
	f->ci = json_is_true(json_object_get(o, "ci"));
	parts = json_object_get(o, "parts");
	if (!json_is_array(parts) || json_array_size(parts) == 0 ||
	    json_array_size(parts) > RD_MAX_PARTS)
		return fail_at(k, o, "parts", 0, "parts: a list of 1 to %u parts", RD_MAX_PARTS);
	f->nparts = json_array_size(parts);
	for (size_t i = 0; i < f->nparts; i++)
		if ((rc = compile_part(k, parts, i, &f->part[i])) < 0)
			return rc;
	if (!f->prefix_len[0] && f->part[0].lit)
		return fail_at(k, o, "parts", 0, "without a prefix, the first part must be chars");
	for (size_t i = 0; i < f->nprefix; i++)
		shortest = f->prefix_len[i] < shortest ? f->prefix_len[i] : shortest;
	f->min_len = shortest;
	for (size_t i = 0; i < f->nparts; i++)
		f->min_len += f->part[i].min;
	if (f->min_len < 8)
		return fail_at(k, list, NULL, idx,
			       "a format shorter than 8 bytes matches too much");
	return 0;
}

/* Adds format fi to the dispatch lists of the bytes it can start with. */
static int dispatch(struct rd_catalog *c, size_t fi)
{
	const struct rdx_format *f = &c->formats[fi];
	struct rdx_set first;

	memset(&first, 0, sizeof(first));
	if (!f->prefix_len[0]) {
		first = f->part[0].set;
	} else {
		for (size_t i = 0; i < f->nprefix; i++) {
			unsigned char b = (unsigned char)f->prefix[i][0];

			first.bits[b >> 3] |= (uint8_t)(1u << (b & 7));
			if (f->ci) {
				b = rdx_lower(b);
				first.bits[b >> 3] |= (uint8_t)(1u << (b & 7));
				b = (unsigned char)(b >= 'a' && b <= 'z' ? b - ('a' - 'A') : b);
				first.bits[b >> 3] |= (uint8_t)(1u << (b & 7));
			}
		}
	}
	for (unsigned b = 0; b < 256; b++) {
		uint16_t *v;

		if (!rdx_in(&first, (unsigned char)b))
			continue;
		v = vg_realloc(c->by_byte[b], (c->nby_byte[b] + 1u) * sizeof(*v));
		if (!v)
			return -ENOMEM;
		v[c->nby_byte[b]++] = (uint16_t)fi;
		c->by_byte[b] = v;
		c->token_start.bits[b >> 3] |= (uint8_t)(1u << (b & 7));
	}
	if (!c->min_token || f->min_len < c->min_token)
		c->min_token = f->min_len;
	return 0;
}

static int compile_formats(struct cc *k, const json_t *root)
{
	const json_t *list = json_object_get(root, "formats");
	struct rd_catalog *c = k->c;
	int rc;

	if (!json_is_array(list) || json_array_size(list) == 0 ||
	    json_array_size(list) > RD_MAX_FORMATS)
		return fail_at(k, root, "formats", 0, "formats: a list of 1 to %u formats",
			       RD_MAX_FORMATS);
	c->nformats = json_array_size(list);
	c->formats = vg_calloc(c->nformats, sizeof(*c->formats));
	if (!c->formats)
		return -ENOMEM;
	for (size_t i = 0; i < c->nformats; i++)
		if ((rc = compile_format(k, list, i, &c->formats[i])) < 0 ||
		    (rc = dispatch(c, i)) < 0)
			return rc;
	return 0;
}

static int compile_list(struct cc *k, const json_t *ctx, const char *key, struct rdx_list *l)
{
	const json_t *a = json_object_get(ctx, key);

	if (!json_is_array(a) || json_array_size(a) > RD_MAX_LIST)
		return fail_at(k, ctx, key, 0, "%s: a list of at most %u strings", key,
			       RD_MAX_LIST);
	l->v = vg_calloc(json_array_size(a) + 1, sizeof(*l->v));
	if (!l->v)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(a); i++) {
		const char *s = json_string_value(json_array_get(a, i));

		if (!s || !*s)
			return fail_at(k, a, NULL, i, "%s: not a non-empty string", key);
		l->v[l->n++] = s;
	}
	return 0;
}

static int compile_words(struct cc *k, const json_t *ctx, const char *key, struct rdx_word **out,
			 size_t *n)
{
	json_t *m = json_object_get(ctx, key), *v;
	const char *w;

	if (!json_is_object(m) || json_object_size(m) > RD_MAX_WORDS)
		return fail_at(k, ctx, key, 0, "%s: a mapping of at most %u word: kind", key,
			       RD_MAX_WORDS);
	*out = vg_calloc(json_object_size(m) + 1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	json_object_foreach(m, w, v) {
		if (!json_is_string(v) || !*w)
			return fail_at(k, m, w, 0, "%s: the kind of a word is a string", key);
		for (const char *p = w; *p; p++)
			if (!(*p >= 'a' && *p <= 'z'))
				return fail_at(k, m, w, 0, "%s: words are lower-case letters", key);
		(*out)[*n].word = w;
		(*out)[*n].len = strlen(w);
		(*out)[*n].kind = json_string_value(v);
		(*n)++;
	}
	return 0;
}

static int compile_forms(struct cc *k, const json_t *opt, unsigned *forms)
{
	const json_t *a = json_object_get(opt, "form");

	*forms = 0;
	for (size_t i = 0; json_is_array(a) && i < json_array_size(a); i++) {
		const char *f = json_string_value(json_array_get(a, i));

		if (f && !strcmp(f, "attached"))
			*forms |= RD_ATTACHED;
		else if (f && !strcmp(f, "equals"))
			*forms |= RD_EQUALS;
		else if (f && !strcmp(f, "separate"))
			*forms |= RD_SEPARATE;
		else
			return fail_at(k, a, NULL, i, "form: attached, equals or separate");
	}
	return *forms ? 0 : fail_at(k, opt, "form", 0, "form: a non-empty list");
}

static int compile_cli_entry(struct cc *k, const json_t *list, size_t idx, struct rdx_cli *e)
{
	const json_t *o = json_array_get(list, idx), *progs = json_object_get(o, "programs"),
		     *opts = json_object_get(o, "options");
	int rc;

	if (!json_is_array(progs) || !json_array_size(progs) ||
	    json_array_size(progs) > RD_MAX_CLI_PROGRAMS || !json_is_array(opts) ||
	    !json_array_size(opts) || json_array_size(opts) > RD_MAX_CLI_OPTIONS)
		return fail_at(k, list, NULL, idx, "cli: programs (1 to %u) and options (1 to %u)",
			       RD_MAX_CLI_PROGRAMS, RD_MAX_CLI_OPTIONS);
	for (size_t i = 0; i < json_array_size(progs); i++)
		if (!(e->program[e->nprogram++] = json_string_value(json_array_get(progs, i))))
			return fail_at(k, progs, NULL, i, "programs: not a string");
	for (size_t i = 0; i < json_array_size(opts); i++) {
		const json_t *opt = json_array_get(opts, i);
		struct rdx_cli_opt *d = &e->opt[e->nopt++];
		const char *after = str_of(opt, "after");

		d->flag = str_of(opt, "flag");
		if (!d->flag || d->flag[0] != '-')
			return fail_at(k, opts, NULL, i, "flag: an option starting with -");
		d->flag_len = strlen(d->flag);
		if ((rc = compile_forms(k, opt, &d->forms)) < 0)
			return rc;
		if (after && strlen(after) != 1)
			return fail_at(k, opt, "after", 0, "after: one character");
		d->after = after ? after[0] : 0;
	}
	return 0;
}

static int compile_cli(struct cc *k, const json_t *ctx)
{
	const json_t *list = json_object_get(ctx, "cli");
	int rc;

	if (!json_is_array(list) || json_array_size(list) > RD_MAX_CLI)
		return fail_at(k, ctx, "cli", 0, "cli: a list of at most %u entries", RD_MAX_CLI);
	k->c->cli = vg_calloc(json_array_size(list) + 1, sizeof(*k->c->cli));
	if (!k->c->cli)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(list); i++)
		if ((rc = compile_cli_entry(k, list, i, &k->c->cli[k->c->ncli++])) < 0)
			return rc;
	return 0;
}

static int compile_hooks(struct cc *k, const json_t *ctx)
{
	const json_t *list = json_object_get(ctx, "webhooks");

	if (!json_is_array(list) || json_array_size(list) > RD_MAX_HOOKS)
		return fail_at(k, ctx, "webhooks", 0, "webhooks: a list of at most %u entries",
			       RD_MAX_HOOKS);
	k->c->hooks = vg_calloc(json_array_size(list) + 1, sizeof(*k->c->hooks));
	if (!k->c->hooks)
		return -ENOMEM;
	for (size_t i = 0; i < json_array_size(list); i++) {
		const json_t *o = json_array_get(list, i);
		struct rdx_webhook *h = &k->c->hooks[k->c->nhooks++];

		h->kind = str_of(o, "kind");
		h->prefix = str_of(o, "prefix");
		h->host_suffix = str_of(o, "host_suffix");
		h->path = str_of(o, "path");
		if (!h->kind || (!h->prefix == !(h->host_suffix && h->path)) ||
		    (h->prefix && strncmp(h->prefix, "https://", 8) != 0))
			return fail_at(k, list, NULL, i,
				       "a webhook has kind and either prefix (https://...) or "
				       "host_suffix and path");
	}
	return 0;
}

static int compile_context(struct cc *k, const json_t *root)
{
	const json_t *ctx = json_object_get(root, "context");
	struct rd_catalog *c = k->c;
	int rc;

	if (!json_is_object(ctx))
		return fail_at(k, root, "context", 0, "context: a mapping");
	if ((rc = compile_words(k, ctx, "strong_words", &c->strong, &c->nstrong)) < 0 ||
	    (rc = compile_words(k, ctx, "weak_words", &c->weak, &c->nweak)) < 0 ||
	    (rc = compile_list(k, ctx, "suffix_words", &c->suffix)) < 0 ||
	    (rc = compile_list(k, ctx, "headers", &c->headers)) < 0 ||
	    (rc = compile_list(k, ctx, "auth_schemes", &c->schemes)) < 0 ||
	    (rc = compile_list(k, ctx, "query_params", &c->query)) < 0 ||
	    (rc = compile_cli(k, ctx)) < 0 || (rc = compile_hooks(k, ctx)) < 0)
		return rc;
	return 0;
}

int rd_catalog_new(const char *text, size_t len, const char *file, struct rd_catalog **out,
		   char *err, size_t errcap)
{
	struct yj_limits lim = { .max_input = RD_MAX_CATALOG };
	struct cc k = { .err = err, .errcap = errcap };
	const json_t *root;
	int rc;

	*out = NULL;
	if (len > RD_MAX_CATALOG) {
		snprintf(err, errcap, "%s: larger than %u bytes", file ? file : "<catalog>",
			 RD_MAX_CATALOG);
		return -E2BIG;
	}
	if (!(k.c = vg_calloc(1, sizeof(*k.c))))
		return -ENOMEM;
	if ((rc = yj_parse(text, len, file, &lim, &k.c->doc, err, errcap)) < 0)
		goto out;
	k.doc = k.c->doc;
	root = yj_root(k.doc, 0);
	if (yj_count(k.doc) != 1 || !json_is_object(root)) {
		snprintf(err, errcap, "%s: one mapping with formats: and context:", yj_file(k.doc));
		rc = -EINVAL;
		goto out;
	}
	if ((rc = compile_formats(&k, root)) < 0 || (rc = compile_context(&k, root)) < 0)
		goto out;
	*out = k.c;
	k.c = NULL;
out:
	if (rc == -ENOMEM)
		snprintf(err, errcap, "out of memory");
	rd_catalog_free(k.c);
	return rc;
}

int rd_catalog_default(struct rd_catalog **out, char *err, size_t errcap)
{
	if (rdx_embedded_n != 1) {
		snprintf(err, errcap, "the build embedded %zu secret catalogues, expected 1",
			 rdx_embedded_n);
		return -EINVAL;
	}
	return rd_catalog_new(rdx_embedded[0].text, rdx_embedded[0].len, rdx_embedded[0].name, out,
			      err, errcap);
}

void rd_catalog_free(struct rd_catalog *c)
{
	if (!c)
		return;
	for (size_t b = 0; b < 256; b++)
		vg_free(c->by_byte[b]);
	vg_free(c->formats);
	vg_free(c->strong);
	vg_free(c->weak);
	vg_free(c->suffix.v);
	vg_free(c->headers.v);
	vg_free(c->schemes.v);
	vg_free(c->query.v);
	vg_free(c->cli);
	vg_free(c->hooks);
	yj_free(c->doc);
	vg_free(c);
}

size_t rd_format_count(const struct rd_catalog *c)
{
	return c->nformats;
}

void rd_format_info(const struct rd_catalog *c, size_t i, const char **kind, const char **title)
{
	*kind = i < c->nformats ? c->formats[i].kind : NULL;
	*title = i < c->nformats ? c->formats[i].title : NULL;
}
