/*
 * parse.c - a fast path for parsing hook payloads into jansson values.
 *
 * Why: jansson's parser reads its input one byte at a time through a
 * callback, copies every token into a growing buffer and every string once
 * more, and it was more than half of norm_event's time.  Hook payloads are
 * small objects of plain strings and integers, so this parser walks the
 * bytes directly and makes each string straight from the input when it has
 * no escape.
 *
 * The contract that keeps this safe: it either builds exactly the value
 * json_loadb(JSON_REJECT_DUPLICATES | JSON_ALLOW_NUL) would build (same
 * types, same strings, members in the same order) or it gives up, and the
 * caller then asks jansson, whose answer (value or error message) is
 * therefore always the one that counts.  It gives up on anything unusual
 * rather than reproducing jansson's error handling: any syntax error, a top
 * level that is not an object, an escape or a non-ASCII byte in a key, a
 * duplicate key, an integer out of range, a real it cannot print back
 * exactly as jansson reads it, nesting deeper than jansson allows, or
 * invalid UTF-8 (jansson's own check decides).  The fuzz target and
 * tests/pipeline/test_parse.c compare the two on every input they make.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>

struct jp {
	const unsigned char *s;
	size_t n, i;
	size_t depth;
	struct vbuf *tmp; /* unescaped string bytes (one string at a time) */
};

static bool is_digit(unsigned char c)
{
	return c >= '0' && c <= '9';
}

static bool is_alpha(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static void skip_ws(struct jp *p)
{
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c != ' ' && c != '\t' && c != '\n' && c != '\r')
			break;
		p->i++;
	}
}

static json_t *parse_value(struct jp *p);

/* 4 hex digits at s (n bytes available); -1 when they are not. */
static long hex4(const unsigned char *s, size_t n)
{
	long v = 0;

	if (n < 4)
		return -1;
	for (int k = 0; k < 4; k++) {
		unsigned char c = s[k];

		v <<= 4;
		if (is_digit(c))
			v += c - '0';
		else if (c >= 'a' && c <= 'f')
			v += c - 'a' + 10;
		else if (c >= 'A' && c <= 'F')
			v += c - 'A' + 10;
		else
			return -1;
	}
	return v;
}

static int put_utf8(struct vbuf *b, long cp)
{
	uint8_t u[4];
	size_t n;

	if (cp < 0x80) {
		u[0] = (uint8_t)cp;
		n = 1;
	} else if (cp < 0x800) {
		u[0] = (uint8_t)(0xc0 | (cp >> 6));
		u[1] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		u[0] = (uint8_t)(0xe0 | (cp >> 12));
		u[1] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[2] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		u[0] = (uint8_t)(0xf0 | (cp >> 18));
		u[1] = (uint8_t)(0x80 | ((cp >> 12) & 0x3f));
		u[2] = (uint8_t)(0x80 | ((cp >> 6) & 0x3f));
		u[3] = (uint8_t)(0x80 | (cp & 0x3f));
		n = 4;
	}
	return vbuf_append(b, u, n);
}

/*
 * The rest of a string whose first escape is at p->i (the bytes from st
 * have none), unescaped into p->tmp.  NULL: give up.
 */
static json_t *string_escaped(struct jp *p, size_t st)
{
	struct vbuf *b = p->tmp;

	vbuf_reset(b);
	b->limit = p->n; /* unescaped is never longer than the input */
	if (vbuf_append(b, p->s + st, p->i - st) < 0)
		return NULL;
	while (p->i < p->n) {
		unsigned char c = p->s[p->i];
		long cp;

		if (c == '"') {
			p->i++;
			/* Validates UTF-8 as jansson's parser does. */
			return json_stringn((const char *)b->data, b->len);
		}
		if (c < 0x20)
			return NULL;
		if (c != '\\') {
			size_t r = p->i;

			while (r < p->n && p->s[r] != '"' && p->s[r] != '\\' && p->s[r] >= 0x20)
				r++;
			if (vbuf_append(b, p->s + p->i, r - p->i) < 0)
				return NULL;
			p->i = r;
			continue;
		}
		if (++p->i >= p->n)
			return NULL;
		c = p->s[p->i++];
		switch (c) {
		case '"':
		case '\\':
		case '/':
			cp = c;
			break;
		case 'b':
			cp = '\b';
			break;
		case 'f':
			cp = '\f';
			break;
		case 'n':
			cp = '\n';
			break;
		case 'r':
			cp = '\r';
			break;
		case 't':
			cp = '\t';
			break;
		case 'u':
			if ((cp = hex4(p->s + p->i, p->n - p->i)) < 0)
				return NULL;
			p->i += 4;
			if (cp >= 0xdc00 && cp <= 0xdfff)
				return NULL; /* a low surrogate alone */
			if (cp >= 0xd800 && cp <= 0xdbff) {
				long lo;

				if (p->n - p->i < 2 || p->s[p->i] != '\\' || p->s[p->i + 1] != 'u' ||
				    (lo = hex4(p->s + p->i + 2, p->n - p->i - 2)) < 0 || lo < 0xdc00 ||
				    lo > 0xdfff)
					return NULL;
				p->i += 6;
				cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
			}
			break;
		default:
			return NULL;
		}
		if (put_utf8(b, cp) < 0)
			return NULL;
	}
	return NULL;
}

/* A string at p->i (the opening quote). */
static json_t *parse_string(struct jp *p)
{
	size_t st = ++p->i;
	bool ascii = true;

	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c == '"') {
			const char *v = (const char *)p->s + st;
			size_t len = p->i - st;

			p->i++;
			/* Non-ASCII bytes go through jansson's UTF-8 check. */
			return ascii ? json_stringn_nocheck(v, len) : json_stringn(v, len);
		}
		if (c == '\\')
			return string_escaped(p, st);
		if (c < 0x20)
			return NULL;
		if (c >= 0x80)
			ascii = false;
		p->i++;
	}
	return NULL;
}

/* A key: plain ASCII without escapes only (anything else is left to jansson). */
static bool parse_key(struct jp *p, const char **k, size_t *len)
{
	size_t st = ++p->i;

	while (p->i < p->n) {
		unsigned char c = p->s[p->i];

		if (c == '"') {
			*k = (const char *)p->s + st;
			*len = p->i - st;
			p->i++;
			return true;
		}
		if (c == '\\' || c < 0x20 || c >= 0x80)
			return false;
		p->i++;
	}
	return false;
}

static json_t *parse_number(struct jp *p)
{
	size_t st = p->i;
	bool neg = false, real = false;

	if (p->s[p->i] == '-') {
		neg = true;
		p->i++;
	}
	if (p->i < p->n && p->s[p->i] == '0') {
		p->i++;
		if (p->i < p->n && is_digit(p->s[p->i]))
			return NULL; /* a leading zero */
	} else if (p->i < p->n && is_digit(p->s[p->i])) {
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	} else {
		return NULL;
	}
	if (p->i < p->n && p->s[p->i] == '.') {
		real = true;
		if (++p->i >= p->n || !is_digit(p->s[p->i]))
			return NULL;
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	}
	if (p->i < p->n && (p->s[p->i] == 'e' || p->s[p->i] == 'E')) {
		real = true;
		if (++p->i < p->n && (p->s[p->i] == '+' || p->s[p->i] == '-'))
			p->i++;
		if (p->i >= p->n || !is_digit(p->s[p->i]))
			return NULL;
		while (p->i < p->n && is_digit(p->s[p->i]))
			p->i++;
	}
	if (!real) {
		/* Accumulated negative, so INT64_MIN fits; out of range: give up. */
		json_int_t v = 0;

		for (size_t k = st + neg; k < p->i; k++) {
			int d = p->s[k] - '0';

			if (v < (INT64_MIN + d) / 10)
				return NULL;
			v = v * 10 - d;
		}
		if (!neg) {
			if (v == INT64_MIN)
				return NULL;
			v = -v;
		}
		return json_integer(v);
	}
	{
		/* strtod, as jansson uses, on a NUL-terminated copy. */
		char num[64], *end;
		size_t len = p->i - st;
		double d;

		if (len >= sizeof(num))
			return NULL;
		memcpy(num, p->s + st, len);
		num[len] = 0;
		errno = 0;
		d = strtod(num, &end);
		if (end != num + len || ((d == HUGE_VAL || d == -HUGE_VAL) && errno == ERANGE))
			return NULL;
		return json_real(d);
	}
}

static json_t *parse_object(struct jp *p)
{
	json_t *o = json_object(), *v;
	const char *k;
	size_t klen;

	if (!o)
		return NULL;
	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == '}') {
		p->i++;
		return o;
	}
	for (;;) {
		if (p->i >= p->n || p->s[p->i] != '"' || !parse_key(p, &k, &klen))
			goto fail;
		skip_ws(p);
		if (p->i >= p->n || p->s[p->i] != ':')
			goto fail;
		p->i++;
		if (!(v = parse_value(p)))
			goto fail;
		if (json_object_getn(o, k, klen) || json_object_setn_new_nocheck(o, k, klen, v) < 0) {
			json_decref(v);
			goto fail;
		}
		skip_ws(p);
		if (p->i >= p->n)
			goto fail;
		if (p->s[p->i] == '}') {
			p->i++;
			return o;
		}
		if (p->s[p->i] != ',')
			goto fail;
		p->i++;
		skip_ws(p);
	}
fail:
	json_decref(o);
	return NULL;
}

static json_t *parse_array(struct jp *p)
{
	json_t *a = json_array(), *v;

	if (!a)
		return NULL;
	p->i++;
	skip_ws(p);
	if (p->i < p->n && p->s[p->i] == ']') {
		p->i++;
		return a;
	}
	for (;;) {
		if (!(v = parse_value(p)) || json_array_append_new(a, v) < 0)
			goto fail;
		skip_ws(p);
		if (p->i >= p->n)
			goto fail;
		if (p->s[p->i] == ']') {
			p->i++;
			return a;
		}
		if (p->s[p->i] != ',')
			goto fail;
		p->i++;
	}
fail:
	json_decref(a);
	return NULL;
}

/* "true", "false" or "null" at p->i, not followed by a letter (jansson reads words). */
static bool word(struct jp *p, const char *w, size_t n)
{
	if (p->n - p->i < n || memcmp(p->s + p->i, w, n) != 0 ||
	    (p->n - p->i > n && is_alpha(p->s[p->i + n])))
		return false;
	p->i += n;
	return true;
}

static json_t *parse_value(struct jp *p)
{
	json_t *v;

	skip_ws(p);
	if (p->i >= p->n)
		return NULL;
	switch (p->s[p->i]) {
	case '{':
	case '[':
		/* jansson's limit: deeper input is its error to report. */
		if (++p->depth > JSON_PARSER_MAX_DEPTH)
			return NULL;
		v = p->s[p->i] == '{' ? parse_object(p) : parse_array(p);
		p->depth--;
		return v;
	case '"':
		return parse_string(p);
	case 't':
		return word(p, "true", 4) ? json_true() : NULL;
	case 'f':
		return word(p, "false", 5) ? json_false() : NULL;
	case 'n':
		return word(p, "null", 4) ? json_null() : NULL;
	default:
		return parse_number(p);
	}
}

json_t *norm_parse_fast(const char *s, size_t n, struct vbuf *tmp)
{
	struct jp p = { .s = (const unsigned char *)s, .n = n, .tmp = tmp };
	json_t *v;

	skip_ws(&p);
	if (p.i >= p.n || p.s[p.i] != '{')
		return NULL;
	v = parse_value(&p);
	if (!v)
		return NULL;
	skip_ws(&p);
	if (p.i != p.n) {
		json_decref(v);
		return NULL;
	}
	return v;
}
