/*
 * redact.c - finds secrets in a string and replaces them with
 * "[REDACTED:<kind>]" before anything is stored.
 *
 * Hand-written scanners rather than regexes, so the work is bounded: one pass
 * over the string; a token matcher only starts where a token starts (the
 * previous byte is not a token byte), so the bytes it examines are not
 * examined again by another start; the forward look-ups (a URL's userinfo, an
 * assignment's separator) are capped.  Kinds:
 *
 *   private_key      PEM "-----BEGIN ... PRIVATE KEY-----" block to its END line
 *                    (to the end of the string when the END line is missing)
 *   aws_access_key   AKIA / ASIA + 16 upper-case letters or digits
 *   github_token     ghp_ gho_ ghu_ ghs_ ghr_ github_pat_ + 20 or more
 *   slack_token      xoxb- xoxa- xoxp- xoxr- xoxs- + 10 or more
 *   anthropic_key    sk-ant-... (20 or more)
 *   openai_key       sk-... (20 or more; sk-proj-... included)
 *   google_api_key   AIza + 35
 *   jwt              eyJ<header>.<payload>.<signature> in base64url
 *   url_password     scheme://user:PASSWORD@host (the user name is kept, but scanned
 *                    for tokens itself; no "[" or "]" in the userinfo)
 *   password, secret, token, api_key, access_key, private_key, credential
 *                    KEY=value, KEY: value, "KEY": "value" where KEY contains
 *                    the word (case-insensitive); the key is kept
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <stdbool.h>

static bool is_alnum(unsigned char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool is_ident(unsigned char c)
{
	return is_alnum(c) || c == '_';
}

/* Bytes a token (key, JWT part) is made of. */
static bool is_tok(unsigned char c)
{
	return is_ident(c) || c == '-';
}

static bool is_upper_digit(unsigned char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

static bool has_prefix(const char *s, size_t n, const char *p)
{
	size_t k = strlen(p);

	return n >= k && memcmp(s, p, k) == 0;
}

static size_t run_len(const char *s, size_t n, bool (*cls)(unsigned char))
{
	size_t i = 0;

	while (i < n && cls((unsigned char)s[i]))
		i++;
	return i;
}

/* Token secrets starting at s; returns the matched length and the kind. */
static size_t match_token(const char *s, size_t n, const char **kind)
{
	static const char *const gh[] = { "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "github_pat_" };
	size_t run = run_len(s, n, is_tok);

	if (run < 20)
		return 0;
	if ((has_prefix(s, n, "AKIA") || has_prefix(s, n, "ASIA")) && run >= 20) {
		size_t k = 4;

		while (k < run && is_upper_digit((unsigned char)s[k]))
			k++;
		if (k == 20 && (k == run || !is_alnum((unsigned char)s[k]))) {
			*kind = "aws_access_key";
			return 20;
		}
	}
	for (size_t i = 0; i < VG_ARRAY_LEN(gh); i++) {
		size_t k = strlen(gh[i]);

		if (has_prefix(s, n, gh[i]) && run_len(s + k, run - k, is_ident) >= 20) {
			*kind = "github_token";
			return k + run_len(s + k, run - k, is_ident);
		}
	}
	if (has_prefix(s, n, "xox") && n > 4 && strchr("baprs", s[3]) && s[4] == '-' && run >= 15) {
		*kind = "slack_token";
		return run;
	}
	if (has_prefix(s, n, "sk-ant-") && run >= 27) {
		*kind = "anthropic_key";
		return run;
	}
	if (has_prefix(s, n, "sk-") && run >= 23) {
		*kind = "openai_key";
		return run;
	}
	if (has_prefix(s, n, "AIza") && run >= 39) {
		*kind = "google_api_key";
		return run;
	}
	return 0;
}

/* eyJ...: three base64url parts; the matched length or 0. */
static size_t match_jwt(const char *s, size_t n)
{
	size_t i = 0, part[3];

	if (!has_prefix(s, n, "eyJ"))
		return 0;
	for (int p = 0; p < 3; p++) {
		part[p] = run_len(s + i, n - i, is_tok);
		i += part[p];
		if (p < 2) {
			if (i >= n || s[i] != '.')
				return 0;
			i++;
		}
	}
	if (part[0] < 10 || part[1] < 2 || part[2] < 2)
		return 0;
	return i;
}

/* "-----BEGIN [A-Z ]*PRIVATE KEY-----" ... "-----END ...-----". */
static size_t match_pem(const char *s, size_t n)
{
	size_t i = 11, end;
	const char *e;

	if (!has_prefix(s, n, "-----BEGIN "))
		return 0;
	while (i < n && i < 64 && ((s[i] >= 'A' && s[i] <= 'Z') || s[i] == ' '))
		i++;
	if (i < 11 + 11 || memcmp(s + i - 11, "PRIVATE KEY", 11) != 0 ||
	    !has_prefix(s + i, n - i, "-----"))
		return 0;
	e = memmem(s + i, n - i, "-----END ", 9);
	if (!e)
		return n;
	end = (size_t)(e - s) + 9;
	/* The END line's label and closing dashes, when it is whole. */
	while (end < n && ((s[end] >= 'A' && s[end] <= 'Z') || s[end] == ' '))
		end++;
	if (has_prefix(s + end, n - end, "-----"))
		end += 5;
	return end;
}

/*
 * Secret-looking key names, in priority order: when several words occur in
 * a key, the first in this table names the kind.
 */
static const struct {
	const char *word, *kind;
	size_t len;
} key_words[] = {
	{ "password", "password", 8 },	     { "passwd", "password", 6 },
	{ "secret", "secret", 6 },	     { "token", "token", 5 },
	{ "api_key", "api_key", 7 },	     { "apikey", "api_key", 6 },
	{ "access_key", "access_key", 10 }, { "private_key", "private_key", 11 },
	{ "credential", "credential", 10 },
};

#define KEY_WORD_MIN 5 /* "token" */

/* ASCII case folding, as strncasecmp does in the C locale. */
static unsigned char lower(unsigned char c)
{
	return c >= 'A' && c <= 'Z' ? (unsigned char)(c + ('a' - 'A')) : c;
}

/*
 * The redaction kind of the key name k (n bytes), or NULL.  This runs for
 * every identifier of every scanned string and every payload key, so it
 * looks only at the words that begin with the byte at hand (a switch on the
 * first letter) instead of comparing every word at every position.
 */
const char *redact_key_kind(const char *k, size_t n)
{
	size_t best = VG_ARRAY_LEN(key_words);

	for (size_t i = 0; i + KEY_WORD_MIN <= n && best > 0; i++) {
		static const unsigned char cand[][4] = {
			/* candidates per first letter, ascending, 0xff ends */
			{ 0, 1, 7, 0xff }, /* p */
			{ 2, 0xff },	   /* s */
			{ 3, 0xff },	   /* t */
			{ 4, 5, 6, 0xff }, /* a */
			{ 8, 0xff },	   /* c */
		};
		const unsigned char *c;

		switch (lower((unsigned char)k[i])) {
		case 'p':
			c = cand[0];
			break;
		case 's':
			c = cand[1];
			break;
		case 't':
			c = cand[2];
			break;
		case 'a':
			c = cand[3];
			break;
		case 'c':
			c = cand[4];
			break;
		default:
			continue;
		}
		for (; *c != 0xff && *c < best; c++) {
			const char *w = key_words[*c].word;
			size_t wl = key_words[*c].len, j;

			if (i + wl > n)
				continue;
			for (j = 1; j < wl && lower((unsigned char)k[i + j]) == (unsigned char)w[j]; j++)
				;
			if (j == wl) {
				best = *c;
				break;
			}
		}
	}
	return best < VG_ARRAY_LEN(key_words) ? key_words[best].kind : NULL;
}

/*
 * KEY=value, KEY: value, "KEY": "value" at s (an identifier start).  On a
 * match: *keep bytes are kept (key and separator), then *vlen bytes of value
 * are redacted.
 */
static bool match_assign(const char *s, size_t n, size_t *keep, size_t *vlen, const char **kind)
{
	size_t klen = run_len(s, n, is_ident), i, v;
	char q = 0;

	if (klen < 5 || klen > 128 || !(*kind = redact_key_kind(s, klen)))
		return false;
	i = klen;
	if (i < n && (s[i] == '"' || s[i] == '\''))
		i++;
	while (i < n && i < klen + 8 && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && s[i] == ':' && i + 1 < n && s[i + 1] == '=')
		i += 2;
	else if (i < n && (s[i] == '=' || s[i] == ':'))
		i++;
	else
		return false;
	while (i < n && i < klen + 16 && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i < n && (s[i] == '"' || s[i] == '\'')) {
		q = s[i];
		i++;
	}
	v = i;
	while (v < n) {
		unsigned char c = (unsigned char)s[v];

		if (q ? (c == (unsigned char)q || c == '\n')
		      : (c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == ',' || c == ';' ||
			 c == '&' || c == '"' || c == '\'' || c == '}' || c == ')'))
			break;
		v++;
	}
	if (v == i || has_prefix(s + i, n - i, "[REDACTED"))
		return false;
	*keep = i;
	*vlen = v - i;
	return true;
}

/* "://user:PASSWORD@": at s (the "://"); the user is kept. */
static bool match_url_password(const char *s, size_t n, size_t *keep, size_t *vlen)
{
	size_t i = 3, colon = 0;

	for (; i < n && i < 3 + 256; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == '@')
			break;
		/*
		 * '[' and ']' cannot appear in a userinfo (RFC 3986), and refusing
		 * them keeps redaction idempotent: a "[REDACTED:...]" written
		 * into what looked like a password never makes a URL match later.
		 */
		if (c == '/' || c == '?' || c == '#' || c <= ' ' || c == '"' || c == '\'' ||
		    c == '[' || c == ']')
			return false;
		if (c == ':' && !colon)
			colon = i;
	}
	if (i >= n || s[i] != '@' || !colon || colon + 1 == i ||
	    has_prefix(s + colon + 1, i - colon - 1, "[REDACTED"))
		return false;
	*keep = colon + 1;
	*vlen = i - colon - 1;
	return true;
}

static int put_redacted(struct vbuf *out, const char *kind)
{
	int rc;

	if ((rc = vbuf_append(out, "[REDACTED:", 10)) < 0 ||
	    (rc = vbuf_append(out, kind, strlen(kind))) < 0)
		return rc;
	return vbuf_append(out, "]", 1);
}

/*
 * Could norm_redact find anything in s?  A cheap first pass that lets the
 * scanners below skip almost every string an agent sends (paths, ids,
 * commands, prose): it is true whenever a scanner could match, and false
 * only when none can, because every match needs one of these at a place
 * this pass looks at:
 *   - a ':' or '=' (KEY=value, KEY: value, "://" of a URL's userinfo);
 *   - "-----BEGIN " at a '-' (a PEM block);
 *   - a token (a run of letters, digits, '_' and '-') that starts with
 *     "eyJ" (a JWT), or is 20 bytes or longer and starts with a letter a
 *     token kind starts with (A: AKIA ASIA AIza, g: gh?_ github_pat_,
 *     x: xox?-, s: sk-).
 * The fuzz target checks that a string this calls clean never gets a
 * redaction from the full scan.
 */
bool redact_needed(const char *s, size_t n)
{
	size_t i = 0;

	while (i < n) {
		unsigned char c = (unsigned char)s[i];
		size_t st = i;

		if (c == ':' || c == '=')
			return true;
		if (!is_tok(c)) {
			i++;
			continue;
		}
		for (; i < n && is_tok((unsigned char)s[i]); i++)
			if (s[i] == '-' && n - i >= 11 && memcmp(s + i, "-----BEGIN ", 11) == 0)
				return true;
		if (i - st >= 3 && memcmp(s + st, "eyJ", 3) == 0)
			return true;
		if (i - st >= 20 && (s[st] == 'A' || s[st] == 'g' || s[st] == 'x' || s[st] == 's'))
			return true;
	}
	return false;
}

int norm_redact(const char *s, size_t len, struct vbuf *out)
{
	int rc;

	vbuf_reset(out);
	if ((rc = vbuf_reserve(out, len + 1)) < 0)
		return rc;
	if (!redact_needed(s, len)) {
		if ((rc = vbuf_append(out, s, len)) < 0)
			return rc;
		return 0;
	}
	return redact_scan(s, len, out);
}

int redact_scan(const char *s, size_t len, struct vbuf *out)
{
	size_t i = 0, lit = 0, last_end = 0;
	int hits = 0, rc;

	vbuf_reset(out);
	if ((rc = vbuf_reserve(out, len + 1)) < 0)
		return rc;
	while (i < len) {
		const char *p = s + i, *kind = NULL;
		size_t n = len - i, m = 0, keep = 0, vlen = 0;
		/* The output after a redaction starts with a new token ("]" precedes it). */
		bool start = i == 0 || i == last_end || !is_tok((unsigned char)s[i - 1]);
		bool found = false;

		if (*p == '-' && (m = match_pem(p, n)) > 0) {
			kind = "private_key";
			found = true;
		} else if (start && *p == 'e' && (m = match_jwt(p, n)) > 0) {
			kind = "jwt";
			found = true;
		} else if (start && (m = match_token(p, n, &kind)) > 0) {
			found = true;
		} else if (start && (is_alnum((unsigned char)*p) || *p == '_') &&
			   match_assign(p, n, &keep, &vlen, &kind)) {
			found = true;
		} else if (*p == ':' && has_prefix(p, n, "://") &&
			   match_url_password(p, n, &keep, &vlen)) {
			kind = "url_password";
			found = true;
		}
		if (!found) {
			size_t k = 1;

			/* Skip the rest of a token that did not match from its start. */
			if (start && is_ident((unsigned char)*p))
				k = run_len(p, n, is_ident);
			i += k;
			continue;
		}
		if (!m)
			m = keep + vlen;
		if (!strcmp(kind, "url_password")) {
			/*
			 * The user name is kept but scanned too (a token used as the
			 * user must not survive, nor turn up on a second pass).  It
			 * holds no "://", so this recursion is one level deep.
			 */
			struct vbuf user;

			vbuf_init(&user, 4096);
			rc = norm_redact(p + 3, keep - 4, &user);
			if (rc >= 0) {
				hits += rc;
				if ((rc = vbuf_append(out, s + lit, i - lit + 3)) >= 0 &&
				    (rc = vbuf_append(out, user.data, user.len)) >= 0)
					rc = vbuf_append(out, ":", 1);
			}
			vbuf_release(&user);
			if (rc < 0 || (rc = put_redacted(out, kind)) < 0)
				return rc;
		} else if ((rc = vbuf_append(out, s + lit, i - lit + keep)) < 0 ||
			   (rc = put_redacted(out, kind)) < 0) {
			return rc;
		}
		hits++;
		i += m;
		lit = last_end = i;
	}
	if ((rc = vbuf_append(out, s + lit, len - lit)) < 0)
		return rc;
	return hits;
}
