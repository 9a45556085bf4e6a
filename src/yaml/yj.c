/*
 * yj.c - YAML to jansson with a location side table (see yj.h).
 *
 * The builder walks libyaml's event stream with an explicit stack of open
 * collections (no recursion, so depth is bounded by max_depth alone).  Every
 * value it creates is recorded twice: by pointer in `vals` (line, column,
 * original scalar text), and by (container, key-or-index) in `mems`, which is
 * the only way to locate the shared singletons true/false/null.  Both tables
 * are open-addressing hash tables that only grow; the strings they point to
 * (keys and original scalar texts) live in an arena freed with the doc.
 */
#include "yj.h"

#include "common.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <yaml.h>

#define ARENA_CHUNK (64u * 1024u)

struct arena_chunk {
	struct arena_chunk *next;
	size_t used, cap;
	char data[];
};

struct ent {
	const void *ptr;  /* the value (vals) or the container (mems); NULL: empty slot */
	const char *key;  /* mems: the member key, NULL for an array element */
	size_t idx;	  /* mems: the element index */
	int line, col, key_line, key_col;
	const char *text; /* original scalar text or NULL */
};

struct table {
	struct ent *e;
	size_t n, cap; /* cap is a power of two (or 0) */
};

struct yj_doc {
	char *file;
	json_t **roots;
	int *root_line, *root_col;
	size_t nroots, roots_cap;
	struct table vals, mems;
	struct arena_chunk *arena;
};

/* ---- arena and hash tables ---------------------------------------------------- */

static char *arena_strndup(struct yj_doc *d, const char *s, size_t n)
{
	struct arena_chunk *c = d->arena;
	char *p;

	if (!c || c->cap - c->used < n + 1) {
		size_t cap = n + 1 > ARENA_CHUNK ? n + 1 : ARENA_CHUNK;

		c = vg_malloc(sizeof(*c) + cap);
		if (!c)
			return NULL;
		c->used = 0;
		c->cap = cap;
		c->next = d->arena;
		d->arena = c;
	}
	p = c->data + c->used;
	memcpy(p, s, n);
	p[n] = '\0';
	c->used += n + 1;
	return p;
}

static uint64_t mix(uint64_t h)
{
	h ^= h >> 33;
	h *= 0xff51afd7ed558ccdull;
	h ^= h >> 33;
	h *= 0xc4ceb9fe1a85ec53ull;
	h ^= h >> 33;
	return h;
}

static uint64_t ent_hash(const void *ptr, const char *key, size_t idx)
{
	uint64_t h = mix((uint64_t)(uintptr_t)ptr);

	if (key) {
		for (const unsigned char *p = (const unsigned char *)key; *p; p++)
			h = base_fnv1a_step(h, *p);
		return mix(h);
	}
	return mix(h ^ (idx + 1) * 0x9e3779b97f4a7c15ull);
}

static int ent_same(const struct ent *e, const void *ptr, const char *key, size_t idx)
{
	if (e->ptr != ptr)
		return 0;
	if (!key)
		return !e->key && e->idx == idx;
	return e->key && strcmp(e->key, key) == 0;
}

static struct ent *table_find(const struct table *t, const void *ptr, const char *key,
			      size_t idx)
{
	size_t i;

	if (!t->cap)
		return NULL;
	for (i = ent_hash(ptr, key, idx) & (t->cap - 1); t->e[i].ptr; i = (i + 1) & (t->cap - 1))
		if (ent_same(&t->e[i], ptr, key, idx))
			return &t->e[i];
	return NULL;
}

static int table_put(struct table *t, const struct ent *in)
{
	size_t i;

	if ((t->n + 1) * 4 > t->cap * 3) {
		size_t ncap = t->cap ? t->cap * 2 : 64;
		struct ent *ne = vg_calloc(ncap, sizeof(*ne));

		if (!ne)
			return -ENOMEM;
		for (size_t j = 0; j < t->cap; j++) {
			const struct ent *o = &t->e[j];

			if (!o->ptr)
				continue;
			for (i = ent_hash(o->ptr, o->key, o->idx) & (ncap - 1); ne[i].ptr;
			     i = (i + 1) & (ncap - 1))
				;
			ne[i] = *o;
		}
		vg_free(t->e);
		t->e = ne;
		t->cap = ncap;
	}
	for (i = ent_hash(in->ptr, in->key, in->idx) & (t->cap - 1); t->e[i].ptr;
	     i = (i + 1) & (t->cap - 1))
		if (ent_same(&t->e[i], in->ptr, in->key, in->idx))
			break;
	if (!t->e[i].ptr)
		t->n++;
	t->e[i] = *in;
	return 0;
}

/* ---- scalar resolution (YAML 1.2 core schema) ------------------------------------- */

enum want { WANT_ANY, WANT_STR, WANT_INT, WANT_FLOAT, WANT_BOOL, WANT_NULL };

static int is_null_text(const char *s, size_t n)
{
	return n == 0 || (n == 1 && s[0] == '~') ||
	       (n == 4 && (!memcmp(s, "null", 4) || !memcmp(s, "Null", 4) || !memcmp(s, "NULL", 4)));
}

static int bool_text(const char *s, size_t n)
{
	if (n == 4 && (!memcmp(s, "true", 4) || !memcmp(s, "True", 4) || !memcmp(s, "TRUE", 4)))
		return 1;
	if (n == 5 && (!memcmp(s, "false", 5) || !memcmp(s, "False", 5) || !memcmp(s, "FALSE", 5)))
		return 0;
	return -1;
}

static int all_in(const char *s, size_t n, const char *set)
{
	if (!n)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!s[i] || !strchr(set, s[i]))
			return 0;
	return 1;
}

/* An integer in core-schema syntax that fits in json_int_t: 1; else 0. */
static int int_text(const char *s, size_t n, json_int_t *out)
{
	const char *digits = s;
	size_t dn = n;
	int base = 10, neg = 0;
	uint64_t v = 0;

	if (n > 2 && s[0] == '0' && s[1] == 'o' && all_in(s + 2, n - 2, "01234567")) {
		base = 8;
		digits = s + 2;
		dn = n - 2;
	} else if (n > 2 && s[0] == '0' && s[1] == 'x' &&
		   all_in(s + 2, n - 2, "0123456789abcdefABCDEF")) {
		base = 16;
		digits = s + 2;
		dn = n - 2;
	} else {
		if (n && (s[0] == '-' || s[0] == '+')) {
			neg = s[0] == '-';
			digits = s + 1;
			dn = n - 1;
		}
		if (!all_in(digits, dn, "0123456789"))
			return 0;
	}
	for (size_t i = 0; i < dn; i++) {
		char c = digits[i];
		unsigned d = c <= '9' ? (unsigned)(c - '0') : (unsigned)((c | 0x20) - 'a' + 10);

		if (v > (UINT64_MAX - d) / (unsigned)base)
			return 0;
		v = v * (unsigned)base + d;
	}
	if (neg ? v > (uint64_t)INT64_MAX + 1 : v > (uint64_t)INT64_MAX)
		return 0;
	*out = neg ? (json_int_t)(0 - v) : (json_int_t)v;
	return 1;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int float_text(const char *s, size_t n, double *out)
{
	size_t i = 0, mant = 0;
	char buf[128];
	char *end;

	if (n == 0 || n >= sizeof(buf))
		return 0;
	if (s[i] == '-' || s[i] == '+')
		i++;
	while (i < n && s[i] >= '0' && s[i] <= '9')
		i++, mant++;
	if (i < n && s[i] == '.') {
		i++;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++, mant++;
	}
	if (!mant)
		return 0;
	if (i < n && (s[i] == 'e' || s[i] == 'E')) {
		size_t e0;

		i++;
		if (i < n && (s[i] == '-' || s[i] == '+'))
			i++;
		e0 = i;
		while (i < n && s[i] >= '0' && s[i] <= '9')
			i++;
		if (i == e0)
			return 0;
	}
	if (i != n)
		return 0;
	memcpy(buf, s, n);
	buf[n] = '\0';
	*out = strtod(buf, &end);
	return end == buf + n && *out - *out == 0; /* finite */
}

/*
 * Makes the jansson value of a scalar.  *bad is set to a reason when an
 * explicit tag does not fit the text.
 */
static json_t *resolve(const char *s, size_t n, int plain, enum want want, const char **bad)
{
	json_int_t iv;
	double dv;
	int b;

	*bad = NULL;
	if (want == WANT_STR || (want == WANT_ANY && !plain))
		return json_stringn(s, n);
	if ((want == WANT_ANY || want == WANT_NULL) && is_null_text(s, n))
		return json_null();
	if ((want == WANT_ANY || want == WANT_BOOL) && (b = bool_text(s, n)) >= 0)
		return json_boolean(b);
	if ((want == WANT_ANY || want == WANT_INT || want == WANT_FLOAT) && int_text(s, n, &iv))
		return want == WANT_FLOAT ? json_real((double)iv) : json_integer(iv);
	if ((want == WANT_ANY || want == WANT_FLOAT) && float_text(s, n, &dv))
		return json_real(dv);
	if (want == WANT_ANY)
		return json_stringn(s, n);
	*bad = want == WANT_NULL   ? "not a valid !!null"
	       : want == WANT_BOOL ? "not a valid !!bool"
	       : want == WANT_INT  ? "not a valid !!int"
				   : "not a valid !!float";
	return NULL;
}

/* ---- the builder ------------------------------------------------------------------ */

struct frame {
	json_t *c;	    /* the open object or array */
	const char *key;    /* objects: the key waiting for its value (arena), or NULL */
	int key_line, key_col;
	size_t idx;	    /* arrays: next index */
};

struct builder {
	struct yj_doc *d;
	const struct yj_limits *lim;
	struct frame *stack;
	size_t depth;
	size_t nodes;
	json_t *root; /* the current document's root once complete */
	char *err;
	size_t errcap;
};

static int fail(struct builder *b, int rc, int line, int col, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));
static int fail(struct builder *b, int rc, int line, int col, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (b->errcap)
		snprintf(b->err, b->errcap, "%s:%d:%d: %s", b->d->file, line, col, msg);
	return rc;
}

static int check_tag(struct builder *b, const yaml_char_t *tag, const char *kind, int line,
		     int col)
{
	const char *t = (const char *)tag;

	if (!t || !strcmp(t, "!") || !strcmp(t, kind))
		return 0;
	return fail(b, -EINVAL, line, col, "unsupported tag '%.64s'", t);
}

/* Attaches a finished value to the open container (or makes it the root);
 * takes the reference to v in every case. */
static int attach(struct builder *b, json_t *v, int line, int col, const char *text)
{
	struct ent e = { 0 };
	struct frame *f;
	int rc;

	if (v != json_true() && v != json_false() && v != json_null()) {
		e.ptr = v;
		e.line = line;
		e.col = col;
		e.text = text;
		if ((rc = table_put(&b->d->vals, &e)) < 0)
			goto oom;
	}
	if (!b->depth) {
		b->root = v;
		return 0;
	}
	f = &b->stack[b->depth - 1];
	memset(&e, 0, sizeof(e));
	e.ptr = f->c;
	e.line = line;
	e.col = col;
	e.text = text;
	if (json_is_object(f->c)) {
		e.key = f->key;
		e.key_line = f->key_line;
		e.key_col = f->key_col;
		if (json_object_get(f->c, f->key)) {
			json_decref(v);
			return fail(b, -EINVAL, f->key_line, f->key_col, "duplicate key '%.80s'",
				    f->key);
		}
		if (json_object_set_new(f->c, f->key, v) < 0) {
			rc = -ENOMEM;
			goto out;
		}
		f->key = NULL;
	} else {
		e.idx = f->idx++;
		if (json_array_append_new(f->c, v) < 0) {
			rc = -ENOMEM;
			goto out;
		}
	}
	rc = table_put(&b->d->mems, &e);
out:
	return rc < 0 ? fail(b, rc, line, col, "out of memory") : 0;
oom:
	json_decref(v);
	return fail(b, rc, line, col, "out of memory");
}

static int count_node(struct builder *b, int line, int col)
{
	if (++b->nodes > b->lim->max_nodes)
		return fail(b, -E2BIG, line, col, "more than %zu nodes", b->lim->max_nodes);
	return 0;
}

static int on_scalar(struct builder *b, const yaml_event_t *ev, int line, int col)
{
	const char *s = (const char *)ev->data.scalar.value;
	size_t n = ev->data.scalar.length;
	const char *tag = (const char *)ev->data.scalar.tag;
	int plain = ev->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	enum want want = WANT_ANY;
	const char *bad, *text;
	json_t *v;
	int rc;

	if ((rc = count_node(b, line, col)) < 0)
		return rc;
	if (n > b->lim->max_scalar)
		return fail(b, -E2BIG, line, col, "scalar of %zu bytes (limit %zu)", n,
			    b->lim->max_scalar);
	if (memchr(s, '\0', n))
		return fail(b, -EINVAL, line, col, "NUL character in a scalar");
	if (tag) {
		static const struct {
			const char *tag;
			enum want want;
		} tags[] = {
			{ "!", WANT_STR },
			{ "tag:yaml.org,2002:str", WANT_STR },
			{ "tag:yaml.org,2002:int", WANT_INT },
			{ "tag:yaml.org,2002:float", WANT_FLOAT },
			{ "tag:yaml.org,2002:bool", WANT_BOOL },
			{ "tag:yaml.org,2002:null", WANT_NULL },
		};
		size_t i;

		for (i = 0; i < VG_ARRAY_LEN(tags) && strcmp(tags[i].tag, tag); i++)
			;
		if (i == VG_ARRAY_LEN(tags))
			return fail(b, -EINVAL, line, col, "unsupported tag '%.64s'", tag);
		want = tags[i].want;
	}
	text = arena_strndup(b->d, s, n);
	if (!text)
		return fail(b, -ENOMEM, line, col, "out of memory");
	if (f && json_is_object(f->c) && !f->key) {
		/* A mapping key: always its text, whatever it looks like. */
		f->key = text;
		f->key_line = line;
		f->key_col = col;
		return 0;
	}
	v = resolve(s, n, plain, want, &bad);
	if (!v)
		return fail(b, bad ? -EINVAL : -ENOMEM, line, col, "%s", bad ? bad : "out of memory");
	return attach(b, v, line, col, text);
}

static int on_open(struct builder *b, const yaml_event_t *ev, int line, int col, int map)
{
	struct frame *f = b->depth ? &b->stack[b->depth - 1] : NULL;
	const yaml_char_t *tag = map ? ev->data.mapping_start.tag : ev->data.sequence_start.tag;
	json_t *c;
	int rc;

	if ((rc = count_node(b, line, col)) < 0)
		return rc;
	if (f && json_is_object(f->c) && !f->key)
		return fail(b, -EINVAL, line, col, "a mapping key must be a scalar");
	if ((rc = check_tag(b, tag, map ? "tag:yaml.org,2002:map" : "tag:yaml.org,2002:seq",
			    line, col)) < 0)
		return rc;
	if (b->depth >= b->lim->max_depth)
		return fail(b, -E2BIG, line, col, "nesting deeper than %u", b->lim->max_depth);
	c = map ? json_object() : json_array();
	if (!c)
		return fail(b, -ENOMEM, line, col, "out of memory");
	/* attach() takes the reference; the container stays borrowed below. */
	if ((rc = attach(b, c, line, col, NULL)) < 0)
		return rc;
	f = &b->stack[b->depth++];
	memset(f, 0, sizeof(*f));
	f->c = c;
	return 0;
}

static int add_root(struct builder *b, int line, int col)
{
	struct yj_doc *d = b->d;

	if (d->nroots == d->roots_cap) {
		size_t ncap = d->roots_cap ? d->roots_cap * 2 : 4;
		json_t **r = vg_realloc(d->roots, ncap * sizeof(*r));
		int *l, *c;

		if (!r)
			return -ENOMEM;
		d->roots = r;
		l = vg_realloc(d->root_line, ncap * sizeof(*l));
		if (!l)
			return -ENOMEM;
		d->root_line = l;
		c = vg_realloc(d->root_col, ncap * sizeof(*c));
		if (!c)
			return -ENOMEM;
		d->root_col = c;
		d->roots_cap = ncap;
	}
	d->roots[d->nroots] = b->root ? b->root : json_null();
	d->root_line[d->nroots] = line;
	d->root_col[d->nroots] = col;
	d->nroots++;
	b->root = NULL;
	return 0;
}

static int parser_error(struct builder *b, const char *text, size_t len, yaml_parser_t *p)
{
	const char *problem = p->problem ? p->problem : "invalid YAML";
	int line = (int)p->problem_mark.line + 1, col = (int)p->problem_mark.column + 1;

	if (p->error == YAML_READER_ERROR) {
		/* The reader reports a byte offset, not a mark. */
		size_t off = p->problem_offset < len ? p->problem_offset : len;

		line = 1;
		col = 1;
		for (size_t i = 0; i < off; i++) {
			if (text[i] == '\n') {
				line++;
				col = 1;
			} else if (((unsigned char)text[i] & 0xc0) != 0x80) {
				col++;
			}
		}
		return fail(b, -EINVAL, line, col, "%s", problem);
	}
	if (p->error == YAML_MEMORY_ERROR)
		return fail(b, -ENOMEM, line, col, "out of memory");
	if (p->context)
		return fail(b, -EINVAL, line, col, "%s %s", problem, p->context);
	return fail(b, -EINVAL, line, col, "%s", problem);
}

/* ---- the API ---------------------------------------------------------------------- */

/* One parser event into the document being built; *done at the stream's end. */
static int on_event(struct builder *b, const yaml_event_t *ev, int *doc_line, int *doc_col,
		    int *done)
{
	int line = (int)ev->start_mark.line + 1, col = (int)ev->start_mark.column + 1, rc = 0;

	switch (ev->type) {
	case YAML_STREAM_END_EVENT:
		*done = 1;
		break;
	case YAML_DOCUMENT_START_EVENT:
		*doc_line = line;
		*doc_col = col;
		break;
	case YAML_DOCUMENT_END_EVENT:
		rc = add_root(b, *doc_line, *doc_col);
		if (rc < 0)
			rc = fail(b, rc, line, col, "out of memory");
		break;
	case YAML_ALIAS_EVENT:
		rc = fail(b, -EINVAL, line, col, "aliases (*%.64s) are not supported",
			  (const char *)ev->data.alias.anchor);
		break;
	case YAML_SCALAR_EVENT:
		rc = on_scalar(b, ev, line, col);
		break;
	case YAML_SEQUENCE_START_EVENT:
		rc = on_open(b, ev, line, col, 0);
		break;
	case YAML_MAPPING_START_EVENT:
		rc = on_open(b, ev, line, col, 1);
		break;
	case YAML_SEQUENCE_END_EVENT:
	case YAML_MAPPING_END_EVENT:
		if (b->depth)
			b->depth--;
		break;
	default:
		break;
	}
	return rc;
}

/* Runs libyaml over text, building b's document. */
static int run_parser(struct builder *b, const char *text, size_t len)
{
	yaml_parser_t parser;
	int done = 0, doc_line = 1, doc_col = 1, rc = 0;

	if (!yaml_parser_initialize(&parser))
		return -ENOMEM;
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	while (!done && rc == 0) {
		yaml_event_t ev;

		if (!yaml_parser_parse(&parser, &ev)) {
			rc = parser_error(b, text, len, &parser);
			break;
		}
		rc = on_event(b, &ev, &doc_line, &doc_col, &done);
		yaml_event_delete(&ev);
	}
	yaml_parser_delete(&parser);
	return rc;
}

int yj_parse(const char *text, size_t len, const char *file, const struct yj_limits *lim,
	     struct yj_doc **out, char *err, size_t errcap)
{
	struct yj_limits l = { 0 };
	struct builder b = { 0 };
	struct yj_doc *d;
	int rc;

	*out = NULL;
	if (errcap)
		err[0] = '\0';
	if (lim)
		l = *lim;
	l.max_input = l.max_input ? l.max_input : YJ_DEFAULT_MAX_INPUT;
	l.max_depth = l.max_depth ? l.max_depth : YJ_DEFAULT_MAX_DEPTH;
	l.max_nodes = l.max_nodes ? l.max_nodes : YJ_DEFAULT_MAX_NODES;
	l.max_scalar = l.max_scalar ? l.max_scalar : YJ_DEFAULT_MAX_SCALAR;
	d = vg_calloc(1, sizeof(*d));
	if (!d)
		return -ENOMEM;
	d->file = vg_strdup(file ? file : "<string>");
	b.d = d;
	b.lim = &l;
	b.err = err;
	b.errcap = errcap;
	b.stack = vg_calloc(l.max_depth, sizeof(*b.stack));
	if (!d->file || !b.stack)
		rc = -ENOMEM;
	else if (len > l.max_input)
		rc = fail(&b, -E2BIG, 1, 1, "%zu bytes of YAML (limit %zu)", len, l.max_input);
	else
		rc = run_parser(&b, text, len);
	/* A failed document's root is not in d->roots yet. */
	if (rc < 0 && b.root)
		json_decref(b.root);
	vg_free(b.stack);
	if (rc < 0) {
		if (rc == -ENOMEM && errcap && !err[0])
			snprintf(err, errcap, "%s: out of memory", d->file ? d->file : "<string>");
		yj_free(d);
		return rc;
	}
	*out = d;
	return 0;
}

int yj_parse_file(const char *path, const struct yj_limits *lim, struct yj_doc **out,
		  char *err, size_t errcap)
{
	size_t max = lim && lim->max_input ? lim->max_input : YJ_DEFAULT_MAX_INPUT;
	char *text = NULL;
	size_t len = 0;
	int rc;

	*out = NULL;
	rc = vg_read_file(path, max, &text, &len);
	if (rc == -EFBIG) {
		snprintf(err, errcap, "%s: file larger than %zu bytes", path, max);
		return -E2BIG;
	}
	if (rc < 0) {
		snprintf(err, errcap, "%s: %s", path, strerror(-rc));
		return rc;
	}
	rc = yj_parse(text, len, path, lim, out, err, errcap);
	vg_free(text);
	return rc;
}

void yj_free(struct yj_doc *d)
{
	if (!d)
		return;
	for (size_t i = 0; i < d->nroots; i++)
		json_decref(d->roots[i]);
	vg_free(d->roots);
	vg_free(d->root_line);
	vg_free(d->root_col);
	vg_free(d->vals.e);
	vg_free(d->mems.e);
	while (d->arena) {
		struct arena_chunk *n = d->arena->next;

		vg_free(d->arena);
		d->arena = n;
	}
	vg_free(d->file);
	vg_free(d);
}

const char *yj_file(const struct yj_doc *d)
{
	return d->file;
}

size_t yj_count(const struct yj_doc *d)
{
	return d->nroots;
}

json_t *yj_root(const struct yj_doc *d, size_t i)
{
	return i < d->nroots ? d->roots[i] : NULL;
}

int yj_doc_where(const struct yj_doc *d, size_t i, int *line, int *col)
{
	if (i >= d->nroots)
		return -ENOENT;
	*line = d->root_line[i];
	*col = d->root_col[i];
	return 0;
}

int yj_where(const struct yj_doc *d, const json_t *v, int *line, int *col)
{
	const struct ent *e;

	if (!v || v == json_true() || v == json_false() || v == json_null())
		return -ENOENT;
	e = table_find(&d->vals, v, NULL, 0);
	if (!e)
		return -ENOENT;
	*line = e->line;
	*col = e->col;
	return 0;
}

static int fill(const struct ent *e, struct yj_loc *out)
{
	if (!e)
		return -ENOENT;
	out->line = e->line;
	out->col = e->col;
	out->key_line = e->key_line;
	out->key_col = e->key_col;
	out->text = e->text;
	return 0;
}

int yj_member(const struct yj_doc *d, const json_t *obj, const char *key, struct yj_loc *out)
{
	if (!obj || !key)
		return -ENOENT;
	return fill(table_find(&d->mems, obj, key, 0), out);
}

int yj_element(const struct yj_doc *d, const json_t *arr, size_t i, struct yj_loc *out)
{
	if (!arr)
		return -ENOENT;
	return fill(table_find(&d->mems, arr, NULL, i), out);
}

const char *yj_scalar_text(const struct yj_doc *d, const json_t *v)
{
	const struct ent *e;

	if (!v || !(json_is_string(v) || json_is_number(v)))
		return NULL;
	e = table_find(&d->vals, v, NULL, 0);
	return e ? e->text : NULL;
}
