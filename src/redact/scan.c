/*
 * scan.c - the scanner: finds the ranges of a text that hold secrets, then
 * writes the text with each range replaced by "[REDACTED:<kind>]".
 *
 * Detectors are tried only where their match can begin (a token start, a
 * "-----BEGIN ", a "://", a '?' or '&'), and a token that none matched is
 * skipped whole, so each byte is looked at a bounded number of times.
 * Context detectors (context.c) may find a range ahead of the current
 * position (a command's password option); ranges are merged before the
 * text is written, so overlaps are redacted once.
 *
 * Written by hand rather than with regexes: the catalogue's formats are
 * fixed-shape tokens a table-driven matcher handles in one pass, and the
 * context detectors need the surrounding text (which program, which key),
 * which a regex per detector would re-read for every match.
 */
#include "redact_int.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define PEM_BEGIN "-----BEGIN "
#define PEM_BEGIN_B64 "LS0tLS1CRUdJTi" /* base64 of "-----BEGIN" */
#define PEM_LABEL_MAX 64u
#define B64_PEM_MAX (64u * 1024u) /* longest base64 key block redacted as one */

bool rdx_ieq(const char *a, size_t n, const char *b)
{
	size_t i = 0;

	for (; i < n && b[i]; i++)
		if (rdx_lower((unsigned char)a[i]) != rdx_lower((unsigned char)b[i]))
			return false;
	return i == n && !b[i];
}

bool rdx_starts_redacted(const char *s, size_t n)
{
	return n >= 10 && !memcmp(s, "[REDACTED:", 10);
}

void rdx_add(struct rdx_ranges *rs, size_t start, size_t end, const char *kind)
{
	if (end <= start)
		return;
	if (rs->n == RD_MAX_RANGES) {
		rs->full = true;
		return;
	}
	rs->r[rs->n].start = start;
	rs->r[rs->n].end = end;
	rs->r[rs->n].kind = kind;
	rs->n++;
}

static bool prefix_at(const struct rdx_format *f, const char *s, size_t n, size_t k)
{
	size_t pl = f->prefix_len[k];

	if (pl > n)
		return false;
	if (!f->ci)
		return !memcmp(s, f->prefix[k], pl);
	for (size_t i = 0; i < pl; i++)
		if (rdx_lower((unsigned char)s[i]) != rdx_lower((unsigned char)f->prefix[k][i]))
			return false;
	return true;
}

/* Remembers how far a matcher read (the scan's look-ahead budget). */
static inline void saw(size_t *seen, size_t upto)
{
	if (upto > *seen)
		*seen = upto;
}

/* The length of format f's token at s (after prefix k), or 0. */
static size_t match_parts(const struct rdx_format *f, const char *s, size_t n, size_t at,
			  size_t *seen)
{
	const struct rdx_part *last = &f->part[f->nparts - 1];

	for (size_t p = 0; p < f->nparts; p++) {
		const struct rdx_part *pt = &f->part[p];
		size_t k = 0;

		if (pt->lit) {
			if (n - at < pt->lit_len || memcmp(s + at, pt->lit, pt->lit_len))
				return 0;
			at += pt->lit_len;
			continue;
		}
		while (k < pt->max && at + k < n && rdx_in(&pt->set, (unsigned char)s[at + k]))
			k++;
		saw(seen, at + k);
		if (k < pt->min)
			return 0;
		at += k;
	}
	/* Whole tokens only: a longer run is some other thing. */
	if (at < n && (rdx_word_byte((unsigned char)s[at]) ||
		       (!last->lit && rdx_in(&last->set, (unsigned char)s[at]))))
		return 0;
	return at;
}

static size_t match_format(const struct rd_catalog *c, const char *s, size_t n, const char **kind,
			   size_t *seen)
{
	unsigned char b = (unsigned char)s[0];

	for (uint16_t j = 0; j < c->nby_byte[b]; j++) {
		const struct rdx_format *f = &c->formats[c->by_byte[b][j]];

		if (n < f->min_len)
			continue;
		for (size_t k = 0; k < f->nprefix; k++) {
			size_t m;

			if (!prefix_at(f, s, n, k))
				continue;
			if ((m = match_parts(f, s, n, f->prefix_len[k], seen)) > 0) {
				*kind = f->kind;
				return m;
			}
		}
	}
	return 0;
}

static bool b64url(unsigned char c)
{
	return rdx_word_byte(c) || c == '-';
}

/* eyJ<header>.<payload>.<signature> in base64url: the length or 0. */
static size_t match_jwt(const char *s, size_t n, size_t *seen)
{
	size_t i = 0, part[3];

	if (n < 3 || memcmp(s, "eyJ", 3))
		return 0;
	for (int p = 0; p < 3; p++) {
		for (part[p] = 0; i < n && b64url((unsigned char)s[i]); i++)
			part[p]++;
		saw(seen, i);
		if (p < 2) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	return part[0] >= 10 && part[1] >= 2 && part[2] >= 2 ? i : 0;
}

/* "-----BEGIN <label with PRIVATE KEY>-----" to its END line (or the end of
 * the text when it has none): RSA, EC, DSA, OPENSSH, ENCRYPTED and PGP
 * ("PGP PRIVATE KEY BLOCK") keys. */
static size_t match_pem(const char *s, size_t n, size_t *seen)
{
	size_t i = sizeof(PEM_BEGIN) - 1, end;
	const char *e;

	if (n < i || memcmp(s, PEM_BEGIN, i))
		return 0;
	while (i < n && i < PEM_LABEL_MAX && ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ' '))
		i++;
	if (i + 5 > n || memcmp(s + i, "-----", 5) ||
	    !memmem(s + sizeof(PEM_BEGIN) - 1, i - (sizeof(PEM_BEGIN) - 1), "PRIVATE KEY", 11))
		return 0;
	e = memmem(s + i, n - i, "-----END ", 9);
	saw(seen, e ? (size_t)(e - s) : n);
	if (!e)
		return n;
	end = (size_t)(e - s) + 9;
	while (end < n && ((s[end] >= 'A' && s[end] <= 'Z') || s[end] == ' '))
		end++;
	if (n - end >= 5 && !memcmp(s + end, "-----", 5))
		end += 5;
	return end;
}

static int b64_val(unsigned char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	return c == '+' || c == '-' ? 62 : c == '/' || c == '_' ? 63 : -1;
}

/* A base64-encoded PEM private key (a kubeconfig's client-key-data, a
 * secret manifest): decodes the first bytes to read the label. */
static size_t match_b64_pem(const char *s, size_t n, size_t *seen)
{
	char head[96];
	size_t run = 0, h = 0;
	unsigned acc = 0;
	int bits = 0;

	if (n < sizeof(PEM_BEGIN_B64) - 1 || memcmp(s, PEM_BEGIN_B64, sizeof(PEM_BEGIN_B64) - 1))
		return 0;
	while (run < n && run < B64_PEM_MAX &&
	       (b64_val((unsigned char)s[run]) >= 0 || s[run] == '='))
		run++;
	saw(seen, run);
	for (size_t i = 0; i < run && h < sizeof(head) - 1; i++) {
		int v = b64_val((unsigned char)s[i]);

		if (v < 0)
			break;
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			head[h++] = (char)((acc >> bits) & 0xff);
		}
	}
	head[h] = '\0';
	return memmem(head, h, "PRIVATE KEY", 11) ? run : 0;
}

/* A webhook URL at s ("https://..."): the whole URL is the credential. */
static size_t match_webhook(const struct rd_catalog *c, const char *s, size_t n, const char **kind,
			    size_t *seen)
{
	size_t end = 0;

	if (n < 12 || memcmp(s, "https://", 8))
		return 0;
	while (end < n && end < RD_MAX_LOOKAHEAD && (unsigned char)s[end] > ' ' && s[end] != '"' &&
	       s[end] != '\'' && s[end] != '<' && s[end] != '>' && s[end] != '`' && s[end] != '\\')
		end++;
	saw(seen, end);
	for (size_t i = 0; i < c->nhooks; i++) {
		const struct rdx_webhook *h = &c->hooks[i];
		const char *slash, *p;
		size_t hl, sl;

		if (h->prefix) {
			if (end > strlen(h->prefix) && !memcmp(s, h->prefix, strlen(h->prefix))) {
				*kind = h->kind;
				return end;
			}
			continue;
		}
		slash = memchr(s + 8, '/', end - 8);
		if (!slash)
			continue;
		hl = (size_t)(slash - (s + 8));
		sl = strlen(h->host_suffix);
		p = s + 8 + hl - sl;
		if (hl > sl && rdx_ieq(p, sl, h->host_suffix) &&
		    (size_t)(s + end - slash) > strlen(h->path) &&
		    !memcmp(slash, h->path, strlen(h->path))) {
			*kind = h->kind;
			return end;
		}
	}
	return 0;
}

/* "://user:PASSWORD@" at s (the "://"): the password's range. */
static void match_userinfo(const char *s, size_t n, size_t base, struct rdx_ranges *rs,
			   size_t *seen)
{
	size_t i = 3, colon = 0;

	for (; i < n && i < 3 + 256; i++) {
		saw(seen, i + 1);
		unsigned char ch = (unsigned char)s[i];

		if (ch == '@')
			break;
		/* '[' and ']' cannot appear in a userinfo (RFC 3986); refusing
		 * them also keeps "[REDACTED:...]" from ever looking like one. */
		if (ch == '/' || ch == '?' || ch == '#' || ch <= ' ' || ch == '"' || ch == '\'' ||
		    ch == '[' || ch == ']')
			return;
		if (ch == ':' && !colon)
			colon = i;
	}
	if (i >= n || s[i] != '@' || !colon || colon + 1 == i)
		return;
	/* "${PASS}" and "$PASS" are references; user:password@ a placeholder. */
	if (s[colon + 1] == '$' || rdx_placeholder(s + colon + 1, i - colon - 1))
		return;
	rdx_add(rs, base + colon + 1, base + i, "url_password");
}

static bool param_byte(unsigned char c)
{
	return rdx_word_byte(c) || c == '-' || c == '.';
}

/* "?name=VALUE" or "&name=VALUE" at s: a credential-carrying parameter. */
static size_t match_query(const struct rd_catalog *c, const char *s, size_t n, size_t base,
			  struct rdx_ranges *rs, size_t *seen)
{
	size_t k = 1, v;

	while (k < n && k < 64 && param_byte((unsigned char)s[k]))
		k++;
	if (k == 1 || k >= n || s[k] != '=')
		return 0;
	for (size_t i = 0; i < c->query.n; i++) {
		if (!rdx_ieq(s + 1, k - 1, c->query.v[i]))
			continue;
		v = k + 1;
		while (v < n && v - k < RD_MAX_LOOKAHEAD && s[v] != '&' && s[v] != '#' &&
		       (unsigned char)s[v] > ' ' && s[v] != '"' && s[v] != '\'' && s[v] != '<' &&
		       s[v] != '>' && s[v] != '`' && s[v] != ')' && s[v] != '\\')
			v++;
		saw(seen, v);
		if (v - (k + 1) < 4 || s[k + 1] == '$' || s[k + 1] == '{' ||
		    rdx_starts_redacted(s + k + 1, n - k - 1))
			return 0;
		rdx_add(rs, base + k + 1, base + v, "url_signature");
		return v;
	}
	return 0;
}

/* Everything found at position i (a token start when start is true); the
 * position to continue from, or 0 to step on. */
static size_t detect_at(const struct rd_catalog *c, const char *s, size_t n, size_t i, bool start,
			struct rdx_ranges *rs)
{
	const char *p = s + i, *kind = NULL;
	size_t m = 0, seen = 0, next = 0;

	if (*p == '-' && (m = match_pem(p, n - i, &seen))) {
		rdx_add(rs, i, i + m, "private_key");
		next = i + m;
	} else if (*p == ':' && n - i > 3 && p[1] == '/' && p[2] == '/') {
		match_userinfo(p, n - i, i, rs, &seen);
	} else if ((*p == '?' || *p == '&') && (m = match_query(c, p, n - i, i, rs, &seen))) {
		next = i + m;
	} else if (!start) {
		/* nothing else begins inside a token */
	} else if ((m = match_format(c, p, n - i, &kind, &seen)) ||
		   (*p == 'h' && (m = match_webhook(c, p, n - i, &kind, &seen)))) {
		rdx_add(rs, i, i + m, kind);
		next = i + m;
	} else if (*p == 'e' && (m = match_jwt(p, n - i, &seen))) {
		rdx_add(rs, i, i + m, "jwt");
		next = i + m;
	} else if (*p == 'L' && (m = match_b64_pem(p, n - i, &seen))) {
		rdx_add(rs, i, i + m, "private_key");
		next = i + m;
	} else if ((m = rdx_match_header(c, s, n, i, rs)) ||
		   (m = rdx_match_assign(c, s, n, i, rs))) {
		next = m;
	} else {
		rdx_match_cli(c, s, n, i, rs);
	}
	/* What was read past a match is charged; a match's own bytes are not
	 * read again. */
	rdx_spend(rs, i, next && seen <= next - i ? 0 : seen);
	return next;
}

static void find_all(const struct rd_catalog *c, const char *s, size_t n, struct rdx_ranges *rs)
{
	size_t i = 0;

	while (i < n && !rs->full && !rs->exhausted) {
		bool start = i == 0 || !rdx_word_byte((unsigned char)s[i - 1]);
		size_t next = detect_at(c, s, n, i, start, rs);

		if (next > i) {
			i = next;
			continue;
		}
		/* A token none matched from its start is skipped whole. */
		if (start && rdx_word_byte((unsigned char)s[i]))
			while (i < n && rdx_word_byte((unsigned char)s[i]))
				i++;
		else
			i++;
	}
}

/*
 * Does [start, end) touch a "[REDACTED:kind]" already in the text?  Such a
 * range is dropped: what a detector saw there is an earlier redaction (the
 * part after "pass:" of an option whose value was redacted before), and
 * redacting it again would not be idempotent.
 */
static bool touches_marker(const char *s, size_t n, size_t start, size_t end)
{
	size_t from = start > 64 ? start - 64 : 0;
	const char *m = s + from;

	while ((m = memmem(m, (size_t)(s + end - m), "[REDACTED:", 10))) {
		size_t k = (size_t)(m - s) + 10;

		/* Only a real marker: a kind of [a-z_] closed by ']' (text that
		 * merely starts like one must not shield what follows it). */
		while (k < n && k - (size_t)(m - s) < 48 &&
		       ((s[k] >= 'a' && s[k] <= 'z') || s[k] == '_'))
			k++;
		if (k < n && s[k] == ']' && k > (size_t)(m - s) + 10 && k >= start)
			return true;
		m++;
	}
	return false;
}

static int by_start(const void *a, const void *b)
{
	const struct rdx_range *x = a, *y = b;

	return x->start < y->start ? -1 : x->start > y->start;
}

static int put(struct vbuf *out, const char *kind)
{
	int rc;

	if ((rc = vbuf_append(out, "[REDACTED:", 10)) < 0 ||
	    (rc = vbuf_append(out, kind, strlen(kind))) < 0)
		return rc;
	return vbuf_append(out, "]", 1);
}

/* One pass: the ranges found in s, written to out with their markers. */
static int scan_once(const struct rd_catalog *c, struct rdx_ranges *rs, const char *s, size_t n,
		     struct vbuf *out)
{
	size_t lit = 0;
	int hits = 0, rc;

	vbuf_reset(out);
	if ((rc = vbuf_reserve(out, n + 1)) < 0)
		return rc;
	rs->n = 0;
	rs->full = rs->exhausted = false;
	rs->cli_until = 0;
	rs->budget = 16 * n + 16 * RD_MAX_LOOKAHEAD;
	find_all(c, s, n, rs);
	if (rs->full) /* too many to keep apart: the rest of the text goes */
		rs->r[rs->n - 1].end = n;
	if (rs->exhausted) { /* built to make look-aheads overlap: the rest goes unread */
		if (rs->n == RD_MAX_RANGES)
			rs->r[rs->n - 1].end = n;
		else
			rdx_add(rs, rs->stop, n, "unscanned");
	}
	qsort(rs->r, rs->n, sizeof(rs->r[0]), by_start);
	for (size_t k = 0; k < rs->n; k++) {
		struct rdx_range r = rs->r[k];

		while (k + 1 < rs->n && rs->r[k + 1].start < r.end) {
			if (rs->r[k + 1].end > r.end)
				r.end = rs->r[k + 1].end;
			k++;
		}
		if (r.start < lit)
			r.start = lit;
		if (r.end <= r.start ||
		    (!rs->full && !rs->exhausted && touches_marker(s, n, r.start, r.end)))
			continue;
		if ((rc = vbuf_append(out, s + lit, r.start - lit)) < 0 ||
		    (rc = put(out, r.kind)) < 0)
			goto out;
		lit = r.end;
		hits++;
	}
	rc = vbuf_append(out, s + lit, n - lit);
out:
	return rc < 0 ? rc : hits;
}

/*
 * Passes until one finds nothing: a redaction can make a token whole that
 * was glued to its neighbour before ("...URB_PASS=x" ends the run that
 * hid a token), and the output must be final (redacting it again changes
 * nothing).  Each pass with a finding removes text, so few are needed; the
 * cap bounds a text built to need more.
 */
#define RD_MAX_PASSES 8

int rd_scan(const struct rd_catalog *c, const char *s, size_t n, struct vbuf *out)
{
	struct rdx_ranges *rs = vg_malloc(sizeof(*rs));
	struct vbuf tmp;
	int hits = 0, rc = -ENOMEM;

	vbuf_init(&tmp, out->limit);
	if (!rs)
		goto out;
	if ((rc = scan_once(c, rs, s, n, out)) <= 0)
		goto out;
	hits = rc;
	for (int pass = 1; pass < RD_MAX_PASSES; pass++) {
		if ((rc = scan_once(c, rs, (const char *)out->data, out->len, &tmp)) < 0)
			goto out;
		if (rc == 0)
			break;
		hits += rc;
		vbuf_reset(out);
		if ((rc = vbuf_append(out, tmp.data, tmp.len)) < 0)
			goto out;
	}
	rc = hits;
out:
	vbuf_release(&tmp);
	vg_free(rs);
	return rc;
}

/* Could a format, a JWT or a base64 key block start at s?  A prefix is
 * distinctive enough to send the text to the full scan; formats without
 * one (a Terraform or Azure secret) are matched whole, which fails within a
 * few bytes for ordinary words. */
static bool token_maybe(const struct rd_catalog *c, const char *s, size_t n)
{
	unsigned char b = (unsigned char)s[0];
	size_t seen = 0;

	if ((n >= 3 && !memcmp(s, "eyJ", 3)) ||
	    (n >= sizeof(PEM_BEGIN_B64) - 1 &&
	     !memcmp(s, PEM_BEGIN_B64, sizeof(PEM_BEGIN_B64) - 1)))
		return true;
	for (uint16_t j = 0; j < c->nby_byte[b]; j++) {
		const struct rdx_format *f = &c->formats[c->by_byte[b][j]];

		if (n < f->min_len)
			continue;
		for (size_t k = 0; k < f->nprefix; k++) {
			const struct rdx_part *p0 = &f->part[0];
			size_t pl = f->prefix_len[k], r = 0;

			if (!pl) {
				if (match_parts(f, s, n, 0, &seen) > 0)
					return true;
				continue;
			}
			if (!prefix_at(f, s, n, k))
				continue;
			/* The prefix and the start of what must follow it. */
			while (!p0->lit && r < p0->min && pl + r < n &&
			       rdx_in(&p0->set, (unsigned char)s[pl + r]))
				r++;
			if (p0->lit || r >= p0->min)
				return true;
		}
	}
	return false;
}

/*
 * The pre-pass.  Every detector needs one of these where this looks:
 *   - ':' or '=' (KEY=value, headers, URLs, query parameters, curl -u u:p);
 *   - "-----BEGIN " (PEM);
 *   - a token start where a format's prefix (or a whole format without
 *     one), "eyJ" or "LS0tLS1CRUdJTi" begins;
 *   - a word that is a program with password options, or a password key
 *     word (netrc's "password X", "--password X").
 * The fuzz target checks that a text this calls clean is never changed by
 * rd_scan.
 */
bool rd_needed(const struct rd_catalog *c, const char *s, size_t n)
{
	size_t i = 0;

	if (memmem(s, n, PEM_BEGIN, sizeof(PEM_BEGIN) - 1))
		return true;

	while (i < n) {
		unsigned char ch = (unsigned char)s[i];
		bool start = i == 0 || !rdx_word_byte((unsigned char)s[i - 1]);
		size_t w;

		if (ch == ':' || ch == '=')
			return true;
		if (!start || !rdx_word_byte(ch)) {
			i++;
			continue;
		}
		if ((rdx_in(&c->token_start, ch) || ch == 'e' || ch == 'L') &&
		    token_maybe(c, s + i, n - i))
			return true;
		for (w = 0; i + w < n && (rdx_word_byte((unsigned char)s[i + w]) ||
					  s[i + w] == '-' || s[i + w] == '.');
		     w++)
			;
		if (rdx_is_program(c, s + i, w) || rd_key_class(c, s + i, w, NULL) == RD_KEY_STRONG)
			return true;
		/* On past the word only: a token may start after its '-' or '.',
		 * as in the full scan. */
		while (i < n && rdx_word_byte((unsigned char)s[i]))
			i++;
	}
	return false;
}
