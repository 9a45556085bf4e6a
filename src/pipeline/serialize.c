/*
 * serialize.c - an event (or any JSON value) to the ledger's canonical bytes,
 * the same bytes as jansson's json_dumps(v, JSON_COMPACT | JSON_SORT_KEYS),
 * written into a caller's reusable buffer.
 *
 * Why not json_dumps: for a typical event it spends most of its time outside
 * the bytes it writes.  It allocates the output string and grows it, keeps
 * a hash table of the containers it is inside (to refuse cycles) keyed by
 * their addresses printed with snprintf, sorts each object's keys with a
 * merge sort that allocates, and formats every integer with snprintf.  Here
 * the buffer is the caller's (cleared and reused per event), cycles are
 * impossible past a depth limit, keys are sorted in place on the stack for
 * the usual small objects, integers are converted by hand, and strings are
 * copied in runs between the few bytes that need an escape.
 *
 * The canonical form (jansson 2.14's compact dump, which the ledger has
 * always held):
 *   - no whitespace; "," between members and elements, ":" after keys;
 *   - object members in ascending byte order of their keys (memcmp of the
 *     UTF-8 bytes, a shorter key first when it is a prefix of a longer one);
 *     arrays in their order;
 *   - strings: '"' and '\' escaped with a backslash, \b \f \n \r \t for those
 *     control characters, the other bytes below 0x20 as \u00XX (upper-case
 *     hex); everything else, '/' and non-ASCII UTF-8 included, as it is;
 *   - integers in decimal; reals as jansson prints them ("%.17g", with ".0"
 *     added when that reads as an integer: only these go through jansson);
 *   - true, false, null.
 * The tests and the fuzz target check it byte for byte against json_dumps.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>

/* Key slots on norm_serialize's stack; more move to the heap. */
#define SER_STACK_KEYS 128
/*
 * Insertion sort up to this many keys (an event has about 30: no calls
 * through qsort's comparison pointer), qsort above (a payload object may be
 * huge).
 */
#define SER_INSERTION_MAX 48

struct ser_key {
	const char *k;
	size_t n;
	json_t *v;
};

/*
 * One call's state.  The keys of the objects being written are pushed on one
 * array (a nested object's above its parent's), addressed by index because
 * growing it may move it: no allocation per object, and a small stack frame
 * per level of nesting.
 */
struct ser {
	struct vbuf *out;
	struct ser_key *keys;
	size_t cap, top;
	bool heap;
};

/* 0: copied as is; otherwise the character after the backslash ('u': \u00XX). */
static const char esc[256] = {
	['\b'] = 'b', ['\f'] = 'f', ['\n'] = 'n', ['\r'] = 'r', ['\t'] = 't',
	[0x00] = 'u', [0x01] = 'u', [0x02] = 'u', [0x03] = 'u', [0x04] = 'u', [0x05] = 'u',
	[0x06] = 'u', [0x07] = 'u', [0x0b] = 'u', [0x0e] = 'u', [0x0f] = 'u', [0x10] = 'u',
	[0x11] = 'u', [0x12] = 'u', [0x13] = 'u', [0x14] = 'u', [0x15] = 'u', [0x16] = 'u',
	[0x17] = 'u', [0x18] = 'u', [0x19] = 'u', [0x1a] = 'u', [0x1b] = 'u', [0x1c] = 'u',
	[0x1d] = 'u', [0x1e] = 'u', [0x1f] = 'u', ['"'] = '"', ['\\'] = '\\',
};

/*
 * Room for n more bytes and the NUL after them.  Inline, so the common case
 * (the buffer is warm and large enough) is one comparison, and bytes are
 * then stored directly; vbuf_reserve enforces the buffer's limit.
 */
static inline int room(struct vbuf *out, size_t n)
{
	return out->cap > out->len && n < out->cap - out->len ? 0 : vbuf_reserve(out, n);
}

static inline int put_raw(struct vbuf *out, const char *p, size_t n)
{
	int rc = room(out, n);

	if (rc < 0)
		return rc;
	memcpy(out->data + out->len, p, n);
	out->len += n;
	return 0;
}

static inline int put_char(struct vbuf *out, char c)
{
	int rc = room(out, 1);

	if (rc < 0)
		return rc;
	out->data[out->len++] = (uint8_t)c;
	return 0;
}

static int put_string(struct vbuf *out, const char *s, size_t n)
{
	size_t run = 0;
	int rc;

	/* Room for the quotes and the usual case of nothing to escape. */
	if ((rc = room(out, n + 2)) < 0)
		return rc;
	out->data[out->len++] = '"';
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		char e[6];
		size_t el = 2;

		if (!esc[c])
			continue;
		if ((rc = put_raw(out, s + run, i - run)) < 0)
			return rc;
		e[0] = '\\';
		e[1] = esc[c];
		if (esc[c] == 'u') {
			static const char hex[] = "0123456789ABCDEF";

			e[2] = '0';
			e[3] = '0';
			e[4] = hex[c >> 4];
			e[5] = hex[c & 15];
			el = 6;
		}
		if ((rc = put_raw(out, e, el)) < 0)
			return rc;
		run = i + 1;
	}
	if ((rc = put_raw(out, s + run, n - run)) < 0)
		return rc;
	return put_char(out, '"');
}

static int put_integer(struct vbuf *out, json_int_t v)
{
	char buf[24], *p = buf + sizeof(buf);
	/* Through unsigned, so the most negative value has a magnitude too. */
	unsigned long long u = v < 0 ? 0ull - (unsigned long long)v : (unsigned long long)v;

	do {
		*--p = (char)('0' + u % 10);
		u /= 10;
	} while (u);
	if (v < 0)
		*--p = '-';
	return put_raw(out, p, (size_t)(buf + sizeof(buf) - p));
}

/* Reals are rare in events: jansson formats them, so the bytes agree. */
static int put_real(struct vbuf *out, const json_t *v)
{
	char buf[64];
	size_t n = json_dumpb(v, buf, sizeof(buf), JSON_ENCODE_ANY | JSON_COMPACT);

	if (n == 0 || n > sizeof(buf))
		return -EINVAL;
	return put_raw(out, buf, n);
}

static int key_cmp(const struct ser_key *a, const struct ser_key *b)
{
	int r;

	/* Most keys differ in their first byte: no call for those. */
	if (a->n && b->n && a->k[0] != b->k[0])
		return (unsigned char)a->k[0] < (unsigned char)b->k[0] ? -1 : 1;
	r = memcmp(a->k, b->k, a->n < b->n ? a->n : b->n);

	if (r)
		return r;
	return a->n < b->n ? -1 : a->n > b->n;
}

static int key_qcmp(const void *a, const void *b)
{
	return key_cmp(a, b);
}

static void sort_keys(struct ser_key *k, size_t n)
{
	if (n > SER_INSERTION_MAX) {
		qsort(k, n, sizeof(*k), key_qcmp);
		return;
	}
	for (size_t i = 1; i < n; i++) {
		struct ser_key x = k[i];
		size_t j = i;

		while (j > 0 && key_cmp(&k[j - 1], &x) > 0) {
			k[j] = k[j - 1];
			j--;
		}
		k[j] = x;
	}
}

static int put_value(struct ser *z, const json_t *v, int depth);

/* Room for n more keys on z's key stack. */
static int keys_reserve(struct ser *z, size_t n)
{
	struct ser_key *k;
	size_t cap = z->cap;

	if (n <= z->cap - z->top)
		return 0;
	if (n > SIZE_MAX / sizeof(*k) / 2 - z->top)
		return -ENOMEM;
	while (cap - z->top < n)
		cap *= 2;
	if (z->heap) {
		k = vg_realloc(z->keys, cap * sizeof(*k));
	} else {
		k = vg_malloc(cap * sizeof(*k));
		if (k)
			memcpy(k, z->keys, z->top * sizeof(*k));
	}
	if (!k)
		return -ENOMEM;
	z->keys = k;
	z->cap = cap;
	z->heap = true;
	return 0;
}

/* jansson's iterators take a non-const object, though they only read it. */
static json_t *unconst(const json_t *v)
{
	union {
		const json_t *c;
		json_t *m;
	} u = { .c = v };

	return u.m;
}

static int put_object(struct ser *z, const json_t *co, int depth)
{
	json_t *o = unconst(co);
	size_t n = json_object_size(o), base = z->top, i = 0;
	void *it;
	int rc;

	if (n == 0)
		return put_raw(z->out, "{}", 2);
	if ((rc = keys_reserve(z, n)) < 0)
		return rc;
	for (it = json_object_iter(o); it && i < n; it = json_object_iter_next(o, it)) {
		struct ser_key *k = &z->keys[base + i++];

		k->k = json_object_iter_key(it);
		k->n = json_object_iter_key_len(it);
		k->v = json_object_iter_value(it);
	}
	n = i;
	z->top = base + n;
	sort_keys(z->keys + base, n);
	rc = put_char(z->out, '{');
	for (i = 0; i < n && rc >= 0; i++) {
		/* Re-read through the index: a nested object may have moved the array. */
		const struct ser_key *k = &z->keys[base + i];

		if (i > 0 && (rc = put_char(z->out, ',')) < 0)
			break;
		if ((rc = put_string(z->out, k->k, k->n)) < 0 ||
		    (rc = put_char(z->out, ':')) < 0)
			break;
		rc = put_value(z, z->keys[base + i].v, depth + 1);
	}
	if (rc >= 0)
		rc = put_char(z->out, '}');
	z->top = base;
	return rc;
}

static int put_array(struct ser *z, const json_t *a, int depth)
{
	size_t n = json_array_size(a);
	int rc = put_char(z->out, '[');

	for (size_t i = 0; i < n && rc >= 0; i++) {
		if (i > 0 && (rc = put_char(z->out, ',')) < 0)
			break;
		rc = put_value(z, json_array_get(a, i), depth + 1);
	}
	if (rc >= 0)
		rc = put_char(z->out, ']');
	return rc;
}

static int put_value(struct ser *z, const json_t *v, int depth)
{
	if (depth > NORM_SERIALIZE_MAX_DEPTH)
		return -ELOOP;
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return put_object(z, v, depth);
	case JSON_ARRAY:
		return put_array(z, v, depth);
	case JSON_STRING:
		return put_string(z->out, json_string_value(v), json_string_length(v));
	case JSON_INTEGER:
		return put_integer(z->out, json_integer_value(v));
	case JSON_REAL:
		return put_real(z->out, v);
	case JSON_TRUE:
		return put_raw(z->out, "true", 4);
	case JSON_FALSE:
		return put_raw(z->out, "false", 5);
	case JSON_NULL:
		return put_raw(z->out, "null", 4);
	}
	return -EINVAL;
}

int norm_serialize(const json_t *v, struct vbuf *out)
{
	struct ser_key stack[SER_STACK_KEYS];
	struct ser z = { .out = out, .keys = stack, .cap = SER_STACK_KEYS };
	size_t start = out->len;
	int rc;

	if (!v)
		return -EINVAL;
	rc = put_value(&z, v, 0);
	if (z.heap)
		vg_free(z.keys);
	/* Leave the buffer as it was on error; room() kept space for the NUL. */
	if (rc < 0)
		out->len = start;
	if (out->data)
		out->data[out->len] = 0;
	return rc;
}
