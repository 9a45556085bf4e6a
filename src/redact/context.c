/*
 * context.c - the detectors that know a value is a secret by what surrounds
 * it: the key of KEY=value (and of JSON members, through rd_key_class and
 * rd_value_secret), HTTP headers, and the password options of command-line
 * programs.  Their word lists are the catalogue's context: section.
 *
 * The hard part is not finding "password=" but leaving alone what only looks
 * like it: `if token == "@"`, `max_tokens: 4096`, `password: str) -> bool`,
 * `NOPASSWD:ALL`, `token = get_token()`.  So a key counts only when its last
 * word (or the one before a suffix like _data) is a secret word, and a value
 * only when it is a literal: not an expression, a reference, a type, a
 * number, a path or a placeholder; for weak words (token, key) it must also
 * look random.
 */
#include "redact_int.h"

#include <math.h>
#include <string.h>

#define KEY_MAX 128u	  /* longest key name considered */
#define KEY_WORDS_MAX 16u /* words of a key name considered */
#define WEAK_MIN 12u	  /* shortest random-looking value */
#define STRONG_MIN 4u	  /* shortest literal password */

/* Values that stand for a secret without being one, and type names. */
static const char *const not_secret[] = {
	"none",	   "null",   "nil",	 "undefined", "true",	     "false",
	"yes",	   "no",     "required", "optional",  "string",	     "str",
	"bytes",   "int",    "integer",	 "bool",      "boolean",     "number",
	"any",	   "object", "text",	 "password",  "passwd",	     "secret",
	"token",   "hidden", "changeit", "example",   "placeholder", "redacted",
	"unknown", "empty",  "default",	 "value",     "secretstr",   "optional[str]",
	"char",	   "void",   "float",	 "double",    "list",	     "dict",
	"pass",	   "fail",   "user",	 "username",
};

static bool in_list(const struct rdx_list *l, const char *w, size_t n)
{
	for (size_t i = 0; i < l->n; i++)
		if (rdx_ieq(w, n, l->v[i]))
			return true;
	return false;
}

static const struct rdx_word *find_word(const struct rdx_word *ws, size_t nw, const char *w,
					size_t n)
{
	for (size_t i = 0; i < nw; i++)
		if (ws[i].len == n && !memcmp(ws[i].word, w, n))
			return &ws[i];
	return NULL;
}

/* Splits key k into lower-case words at _ - . and camelCase; returns the count. */
static size_t split_key(const char *k, size_t n, char buf[KEY_MAX + KEY_WORDS_MAX],
			const char *w[KEY_WORDS_MAX], size_t wl[KEY_WORDS_MAX])
{
	size_t nw = 0, b = 0;

	for (size_t i = 0; i < n && nw < KEY_WORDS_MAX;) {
		size_t st;

		while (i < n && !rdx_alnum((unsigned char)k[i]))
			i++;
		if (i == n)
			break;
		st = b;
		buf[b++] = (char)rdx_lower((unsigned char)k[i++]);
		while (i < n && rdx_alnum((unsigned char)k[i])) {
			unsigned char prev = (unsigned char)k[i - 1], c = (unsigned char)k[i];
			bool up = c >= 'A' && c <= 'Z', prev_low = prev >= 'a' && prev <= 'z';
			bool next_low = i + 1 < n && k[i + 1] >= 'a' && k[i + 1] <= 'z';
			bool prev_up = prev >= 'A' && prev <= 'Z';

			/* fooBar | FOOBar: a capital after a small letter, or the
			 * last capital of a run followed by a small letter. */
			if (up && (prev_low || (prev_up && next_low)))
				break;
			buf[b++] = (char)rdx_lower(c);
			i++;
		}
		w[nw] = buf + st;
		wl[nw] = b - st;
		nw++;
	}
	return nw;
}

/* Strong words also count at the end of a longer word: PGPASSWORD, dbSecret. */
static const char *const strong_tails[] = { "password", "passphrase", "secret" };

static enum rd_key classify_word(const struct rd_catalog *c, const char *w, size_t n,
				 const char **kind)
{
	const struct rdx_word *m;

	if ((m = find_word(c->strong, c->nstrong, w, n))) {
		*kind = m->kind;
		return RD_KEY_STRONG;
	}
	if ((m = find_word(c->weak, c->nweak, w, n))) {
		*kind = m->kind;
		return RD_KEY_WEAK;
	}
	for (size_t i = 0; i < sizeof(strong_tails) / sizeof(strong_tails[0]); i++) {
		size_t tl = strlen(strong_tails[i]);

		if (n > tl && !memcmp(w + n - tl, strong_tails[i], tl)) {
			*kind = strong_tails[i][0] == 's' ? "secret" : "password";
			return RD_KEY_STRONG;
		}
	}
	return RD_KEY_NONE;
}

enum rd_key rd_key_class(const struct rd_catalog *c, const char *k, size_t n, const char **kind)
{
	char buf[KEY_MAX + KEY_WORDS_MAX], pair[2 * KEY_MAX];
	const char *w[KEY_WORDS_MAX], *kd = NULL;
	size_t wl[KEY_WORDS_MAX], nw, last;
	enum rd_key cls = RD_KEY_NONE;

	if (n == 0 || n > KEY_MAX)
		return RD_KEY_NONE;
	nw = split_key(k, n, buf, w, wl);
	if (!nw)
		return RD_KEY_NONE;
	last = nw - 1;
	/* Skip up to two suffix words: secret_key_base, client-key-data. */
	for (int s = 0; s < 2 && last > 0 && in_list(&c->suffix, w[last], wl[last]); s++)
		last--;
	/* The last two words together first (api_key, access_token, private_key). */
	if (last > 0 && wl[last - 1] + wl[last] < sizeof(pair)) {
		memcpy(pair, w[last - 1], wl[last - 1]);
		memcpy(pair + wl[last - 1], w[last], wl[last]);
		cls = classify_word(c, pair, wl[last - 1] + wl[last], &kd);
	}
	if (cls == RD_KEY_NONE)
		cls = classify_word(c, w[last], wl[last], &kd);
	if (kind)
		*kind = kd;
	return cls;
}

static bool all_same(const char *v, size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (v[i] != v[0])
			return false;
	return true;
}

static bool is_number(const char *v, size_t n)
{
	size_t digits = 0;

	if (n > 2 && v[0] == '0' && (v[1] == 'x' || v[1] == 'X')) {
		for (size_t i = 2; i < n; i++)
			if (!((v[i] >= '0' && v[i] <= '9') ||
			      (rdx_lower((unsigned char)v[i]) >= 'a' &&
			       rdx_lower((unsigned char)v[i]) <= 'f')))
				return false;
		return true;
	}
	for (size_t i = 0; i < n; i++) {
		if (v[i] >= '0' && v[i] <= '9')
			digits++;
		else if (v[i] != '.' && v[i] != '-' && v[i] != '+' && v[i] != '_' && v[i] != 'e')
			return false;
	}
	return digits > 0;
}

static bool ci_contains(const char *v, size_t n, const char *w)
{
	size_t wl = strlen(w);

	for (size_t i = 0; i + wl <= n; i++)
		if (rdx_ieq(v + i, wl, w))
			return true;
	return false;
}

/* $VAR ${VAR} $(cmd) {{ x }} <x> %(x)s #{x} %VAR%: a reference to a secret. */
static bool is_reference(const char *v, size_t n)
{
	if (v[0] == '$' || (n >= 2 && v[0] == '{' && v[1] == '{') || (v[0] == '%' && n > 1) ||
	    (n >= 2 && v[0] == '#' && v[1] == '{'))
		return true;
	return n >= 2 && v[0] == '<' && v[n - 1] == '>';
}

bool rdx_placeholder(const char *v, size_t n)
{
	if (all_same(v, n) || rdx_starts_redacted(v, n))
		return true;
	for (size_t i = 0; i < sizeof(not_secret) / sizeof(not_secret[0]); i++)
		if (rdx_ieq(v, n, not_secret[i]))
			return true;
	return ci_contains(v, n, "your_") || ci_contains(v, n, "your-") ||
	       ci_contains(v, n, "your ") || ci_contains(v, n, "xxxx") ||
	       ci_contains(v, n, "****") || ci_contains(v, n, "...") || ci_contains(v, n, "<") ||
	       (n > 5 && (v[n - 5] == '_' || v[n - 5] == '-' || v[n - 5] == ' ') &&
		rdx_ieq(v + n - 4, 4, "here")); /* token_goes_here */
}

static bool is_path(const char *v, size_t n)
{
	if (n >= 2 && (v[0] == '~' || v[0] == '.') && v[1] == '/')
		return true;
	if (n >= 3 && !memcmp(v, "../", 3))
		return true;
	if (v[0] == '/')
		return memchr(v + 1, '/', n - 1) || n < 12;
	return n >= 5 && !memcmp(v, "file:", 5);
}

/* Shannon entropy of v in bits per byte. */
static double entropy(const char *v, size_t n)
{
	unsigned cnt[256] = { 0 };
	double h = 0;

	for (size_t i = 0; i < n; i++)
		cnt[(unsigned char)v[i]]++;
	for (unsigned b = 0; b < 256; b++)
		if (cnt[b]) {
			double p = (double)cnt[b] / (double)n;

			h -= p * log2(p);
		}
	return h;
}

/* 0 lower, 1 upper, 2 digit, 3 anything else. */
static int char_class(unsigned char c)
{
	return c >= 'a' && c <= 'z' ? 0 : c >= 'A' && c <= 'Z' ? 1 : c >= '0' && c <= '9' ? 2 : 3;
}

/* Long, no spaces, mixed character classes that change often, high
 * entropy; not words joined by - . _ (a component name, a module path). */
static bool looks_random(const char *v, size_t n)
{
	int lower = 0, upper = 0, digit = 0, other = 0, seps = 0;
	size_t changes = 0;
	bool hex = true;

	if (n < WEAK_MIN || n > RD_MAX_LOOKAHEAD || memmem(v, n, "://", 3))
		return false;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (c <= ' ')
			return false;
		lower |= c >= 'a' && c <= 'z';
		upper |= c >= 'A' && c <= 'Z';
		digit |= c >= '0' && c <= '9';
		if (!rdx_alnum(c)) {
			other = 1;
			seps += c == '-' || c == '.' || c == '_';
		}
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F')))
			hex = false;
		if (i && char_class(c) < 3 && char_class((unsigned char)v[i - 1]) < 3 &&
		    char_class(c) != char_class((unsigned char)v[i - 1]))
			changes++;
	}
	if (hex && n >= 16 && digit)
		return entropy(v, n) >= 2.8;
	if (!digit && !(upper && lower))
		return false; /* one case, no digits: words */
	if (seps && !digit)
		return false; /* my-component-key, com.example.App */
	/* Random text changes between small, capital and digit about every
	 * other byte; words (3way_comparison, win32api) seldom do. */
	if (changes * 6 < n)
		return false;
	return lower + upper + digit + other >= 2 && entropy(v, n) >= 3.0;
}

bool rd_value_secret(enum rd_key cls, const char *v, size_t n)
{
	if (cls == RD_KEY_NONE || n == 0 || n > RD_MAX_LOOKAHEAD)
		return false;
	if (is_reference(v, n) || rdx_placeholder(v, n) || is_number(v, n) || is_path(v, n))
		return false;
	if (cls == RD_KEY_WEAK)
		return looks_random(v, n);
	return n >= STRONG_MIN;
}

static bool key_byte(unsigned char c)
{
	return rdx_word_byte(c) || c == '-' || c == '.';
}

/* An identifier, or identifiers joined by '.', with no digits: a variable
 * or attribute in code (token = token, password = self.password). */
static bool is_identifier_expr(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];

		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '.'))
			return false;
	}
	return true;
}

/* Nothing but blanks or a comment after position v on its line (or, with
 * flow, the end of a flow mapping's entry, "{password: x, user: y}", or of
 * a shell command, "password: x; make"). */
static bool rest_of_line_empty(const char *s, size_t n, size_t v, bool flow)
{
	while (v < n && (s[v] == ' ' || s[v] == '\t' || s[v] == '\r'))
		v++;
	return v == n || s[v] == '\n' || s[v] == '#' ||
	       (flow && (s[v] == ',' || s[v] == '}' || s[v] == ';' || s[v] == '|' || s[v] == '&'));
}

/* a.b.c or a::b: a reference to code, not a literal. */
static bool is_code_ref(const char *v, size_t n)
{
	bool sep = false;

	if (!n || !(rdx_word_byte((unsigned char)v[0]) && !(v[0] >= '0' && v[0] <= '9')))
		return false;
	for (size_t i = 0; i < n; i++) {
		if (v[i] == '.' || v[i] == ':') {
			if (i + 1 == n ||
			    !(rdx_word_byte((unsigned char)v[i + 1]) || v[i + 1] == ':'))
				return false;
			sep = true;
		} else if (!rdx_word_byte((unsigned char)v[i])) {
			return false;
		}
	}
	return sep;
}

/* What precedes the key at i says it is not a key: a module path
 * (Foo::Credentials), a ternary's branch (? "PASS" : "FAIL"). */
static bool not_a_key(const char *s, size_t i)
{
	size_t j = i;

	if (i >= 2 && s[i - 1] == ':' && s[i - 2] == ':')
		return true;
	while (j > 0 && (s[j - 1] == '"' || s[j - 1] == '\'' || s[j - 1] == ' '))
		j--;
	return j > 0 && s[j - 1] == '?';
}

static bool value_end(unsigned char c, char q)
{
	if (q)
		return c == (unsigned char)q || c == '\n' || c == '\\';
	return c <= ' ' || c == ',' || c == ';' || c == '&' || c == '"' || c == '\'' || c == '}' ||
	       c == ')' || c == ']' || c == '>' || c == '`' || c == '|' || c == '\\' || c == '[' ||
	       c == '(';
}

/* Skips the separator of KEY=value / KEY: value / "KEY": ... at s[i]; the
 * position after it, or 0 when there is none (or it is a comparison). */
static size_t separator(const char *s, size_t n, size_t i, bool *equals, bool *colon)
{
	size_t lim = i + 8;

	if (i < n && (s[i] == '"' || s[i] == '\''))
		i++;
	while (i < n && i < lim && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= n)
		return 0;
	*equals = s[i] == '=';
	*colon = s[i] == ':';
	if (s[i] == ':' && i + 1 < n && s[i + 1] == '=')
		return i + 2; /* := */
	if (s[i] == '=' && i + 1 < n && s[i + 1] == '>')
		return i + 2; /* => */
	if (s[i] == '=' && (i + 1 == n || s[i + 1] != '='))
		return i + 1;
	if (s[i] == ':' && (i + 1 == n || s[i + 1] != ':'))
		return i + 1;
	return 0;
}

size_t rdx_match_assign(const struct rd_catalog *c, const char *s, size_t n, size_t i,
			struct rdx_ranges *rs)
{
	size_t k = i, v, e;
	const char *kind = NULL;
	enum rd_key cls;
	bool equals = false, colon = false, env, quoted, ok;
	char q = 0;

	while (k < n && k - i < KEY_MAX && key_byte((unsigned char)s[k]))
		k++;
	if (k == i || (cls = rd_key_class(c, s + i, k - i, &kind)) == RD_KEY_NONE ||
	    not_a_key(s, i))
		return 0;
	/* Comparisons and the like: the byte before '=' belongs to the key run
	 * only for names; "!=", "<=", ">=" never reach here as key bytes. */
	if (!(v = separator(s, n, k, &equals, &colon))) {
		/* "--password VALUE" and netrc's "password VALUE" after login. */
		bool dashed = i >= 2 && s[i - 1] == '-' && s[i - 2] == '-';

		if (cls != RD_KEY_STRONG || k >= n || s[k] != ' ' ||
		    !(dashed || (rdx_ieq(s + i, k - i, "password") &&
				 (memmem(s + (i > 256 ? i - 256 : 0), i - (i > 256 ? i - 256 : 0),
					 "login ", 6)))))
			return 0;
		v = k + 1;
	}
	env = equals && v == k + 1 && s[i] >= 'A' && s[i] <= 'Z';
	while (v < n && v - k < 16 && (s[v] == ' ' || s[v] == '\t'))
		v++;
	if (v < n && (s[v] == '"' || s[v] == '\'')) {
		q = s[v];
		v++;
	} else if (v < n && (s[v] == '[' || s[v] == '{' || s[v] == '(')) {
		return 0; /* a list, an object, an expression */
	}
	quoted = q != 0;
	for (e = v; e < n && e - v < RD_MAX_LOOKAHEAD && !value_end((unsigned char)s[e], q); e++)
		;
	if (!rdx_spend(rs, i, e - i))
		return 0;
	if (e == v || (q && (e >= n || s[e] != q)) || s[v] == '-')
		return 0; /* a PEM block, an option: other detectors' */
	ok = rd_value_secret(cls, s + v, e - v);
	/* Unquoted, outside a shell assignment, a bare word is code (a
	 * variable, an attribute) unless it is the whole rest of a YAML line:
	 * "password: hunter" is a literal, "password = pw" a variable. */
	if (ok && !quoted && !env && is_identifier_expr(s + v, e - v))
		ok = colon && !memchr(s + v, '.', e - v) && rest_of_line_empty(s, n, e, false);
	if (ok && !quoted &&
	    ((e < n && (s[e] == '(' || s[e] == '[' || s[e] == '>' || s[e] == '-')) ||
	     is_code_ref(s + v, e - v)))
		ok = false; /* a call, an index, a member: get_token(), env["X"], a->b, a.b */
	if (ok && quoted && e + 1 < n && (s[e + 1] == '.' || s[e + 1] == '%' || s[e + 1] == '['))
		ok = false; /* '{0}:{1}'.format(...), "%s" % x: a template */
	/* "secret: PKCS-12 bag with ...": a colon in prose; a YAML value is
	 * the rest of its line. */
	if (ok && !quoted && colon && !env && !rest_of_line_empty(s, n, e, true))
		ok = false;
	if (!ok)
		return 0;
	rdx_add(rs, v, e, kind);
	return e;
}

/* A cookie header carries a session when one of its name=value pairs has a
 * random-looking value. */
static bool cookie_secret(const char *v, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t e;

		if (v[i] != '=')
			continue;
		for (e = i + 1; e < n && v[e] != ';' && v[e] != ' ' && v[e] != ','; e++)
			;
		if (looks_random(v + i + 1, e - i - 1))
			return true;
		i = e;
	}
	return false;
}

bool rdx_is_header(const struct rd_catalog *c, const char *w, size_t n)
{
	return in_list(&c->headers, w, n);
}

size_t rdx_match_header(const struct rd_catalog *c, const char *s, size_t n, size_t i,
			struct rdx_ranges *rs)
{
	size_t k = i, v, e, w, name;
	char q = 0;

	while (k < n && k - i < 64 &&
	       (rdx_alnum((unsigned char)s[k]) || s[k] == '-' || s[k] == '_'))
		k++;
	name = k - i;
	if (!rdx_is_header(c, s + i, name))
		return 0;
	if (k < n && (s[k] == '"' || s[k] == '\''))
		k++;
	while (k < n && s[k] == ' ')
		k++;
	if (k >= n || s[k] != ':' || (k + 1 < n && (s[k + 1] == ':' || s[k + 1] == '=')))
		return 0;
	v = k + 1;
	while (v < n && (s[v] == ' ' || s[v] == '\t'))
		v++;
	if (v < n && (s[v] == '"' || s[v] == '\'')) {
		q = s[v];
		v++;
	}
	for (e = v; e < n && e - v < RD_MAX_LOOKAHEAD && s[e] != '\n' && s[e] != '\r' &&
		    s[e] != '"' && s[e] != '\'' && s[e] != '`' && s[e] != '\\' && (!q || s[e] != q);
	     e++)
		;
	if (!rdx_spend(rs, i, e - i))
		return 0;
	while (e > v && (s[e - 1] == ' ' || s[e - 1] == ','))
		e--;
	/* The scheme stays: "Authorization: Bearer [REDACTED:...]". */
	for (w = v; w < e && s[w] != ' '; w++)
		;
	if (v < e && !(rdx_alnum((unsigned char)s[v]) || strchr("_+/.~-", s[v])))
		return 0; /* header="Set-Cookie:", sep=...: a name in a string */
	if (ci_contains(s + i, name, "cookie") && !cookie_secret(s + v, e - v))
		return 0; /* "Cookie: syntax", "Cookie: theme=dark": no session in it */
	if (w < e && in_list(&c->schemes, s + v, w - v)) {
		while (w < e && s[w] == ' ')
			w++;
		v = w;
	} else if (is_identifier_expr(s + v, e - v) || memchr(s + v, '(', e - v)) {
		return 0; /* authorization: req.headers.authorization */
	}
	/* A PEM block is the PEM detector's, whole (not just its first line). */
	if (e - v < 4 || s[v] == '$' || rdx_starts_redacted(s + v, e - v) || s[v] == '-' ||
	    rdx_placeholder(s + v, e - v))
		return 0;
	rdx_add(rs, v, e, "http_credential");
	return e;
}

static const struct rdx_cli *program_entry(const struct rd_catalog *c, const char *w, size_t n)
{
	for (size_t i = 0; i < c->ncli; i++)
		for (size_t j = 0; j < c->cli[i].nprogram; j++)
			if (strlen(c->cli[i].program[j]) == n &&
			    !memcmp(c->cli[i].program[j], w, n))
				return &c->cli[i];
	return NULL;
}

bool rdx_is_program(const struct rd_catalog *c, const char *w, size_t n)
{
	return program_entry(c, w, n) != NULL;
}

/* One word of a command line: [*st, *en) without its quotes; the position
 * after it, or 0 at the end of the command. */
static size_t next_word(const char *s, size_t n, size_t i, size_t lim, size_t *st, size_t *en)
{
	while (i < lim && (s[i] == ' ' || s[i] == '\t'))
		i++;
	if (i >= lim || s[i] == '\n' || s[i] == ';' || s[i] == '|' || s[i] == '&' || s[i] == ')')
		return 0;
	if (s[i] == '"' || s[i] == '\'') {
		const char *e = memchr(s + i + 1, s[i], lim - i - 1);

		if (!e)
			return 0;
		*st = i + 1;
		*en = (size_t)(e - s);
		return *en + 1;
	}
	*st = i;
	while (i < lim && (unsigned char)s[i] > ' ' && s[i] != ';' && s[i] != '|' && s[i] != '&' &&
	       s[i] != ')')
		i++;
	*en = i;
	return i > *st ? i : i + 1; /* a control byte: an empty word, stepped over */
}

static void add_cli_value(const struct rdx_cli_opt *o, const char *s, size_t st, size_t en,
			  struct rdx_ranges *rs)
{
	if (o->after) {
		const char *a = memchr(s + st, o->after, en - st);

		if (!a)
			return;
		st = (size_t)(a - s) + 1;
	}
	if (en > st && s[st] != '$' && !rdx_starts_redacted(s + st, en - st))
		rdx_add(rs, st, en, "password");
}

/* At a program with password options: the options' values up to the end of
 * the command (RD_MAX_LOOKAHEAD at most).  A program named further on
 * (sudo mysql -p..., sshpass -p x docker login -p y) switches the options
 * looked for, so each command is read once.  Returns 0: the scan goes on
 * (other detectors still look inside the command). */
size_t rdx_match_cli(const struct rd_catalog *c, const char *s, size_t n, size_t i,
		     struct rdx_ranges *rs)
{
	size_t k = i, lim = n - i > RD_MAX_LOOKAHEAD ? i + RD_MAX_LOOKAHEAD : n, st, en, pos;
	const struct rdx_cli *e, *sw;

	if (i < rs->cli_until)
		return 0;
	while (k < n && (rdx_word_byte((unsigned char)s[k]) || s[k] == '-' || s[k] == '.'))
		k++;
	if (k == i || (k < n && s[k] != ' ' && s[k] != '\t') ||
	    !(e = program_entry(c, s + i, k - i)))
		return 0;
	for (pos = k; (pos = next_word(s, n, pos, lim, &st, &en)) > 0;) {
		size_t wl = en - st;

		rs->cli_until = pos;
		if (wl && s[st] != '-' && (sw = program_entry(c, s + st, wl)))
			e = sw;
		if (!wl || s[st] != '-')
			continue;
		for (size_t j = 0; j < e->nopt; j++) {
			const struct rdx_cli_opt *o = &e->opt[j];
			size_t fl = o->flag_len, vs, ve;

			if (wl < fl || memcmp(s + st, o->flag, fl))
				continue;
			if (wl > fl && s[st + fl] == '=' && (o->forms & RD_EQUALS)) {
				add_cli_value(o, s, st + fl + 1, en, rs);
			} else if (wl > fl && (o->forms & RD_ATTACHED) && s[st + 1] != '-') {
				add_cli_value(o, s, st + fl, en, rs);
			} else if (wl == fl && (o->forms & RD_SEPARATE)) {
				size_t after = next_word(s, n, pos, lim, &vs, &ve);

				if (after && ve > vs && s[vs] != '-') {
					add_cli_value(o, s, vs, ve, rs);
					pos = after;
				}
			}
			break;
		}
	}
	rs->cli_until = rs->cli_until > k ? rs->cli_until : k;
	rdx_spend(rs, i, rs->cli_until - i);
	return 0;
}
