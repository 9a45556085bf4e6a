/*
 * literal.c - the output of commands that is known from their arguments and
 * stdin alone: echo, printf, cat (of stdin), base64 and base64 -d, base32 -d,
 * xxd -r -p, tr, rev, tee, seq, basename, dirname, pwd, true.  This is what
 * lets `echo cm0gLXJmIH4= | base64 -d | sh` and `eval "$(printf '\x72\x6d')"`
 * be read: the decoded text is parsed like any other.  Any other program's
 * output is unknown.  Outputs are bounded by SH_MAX_INPUT (the text is parsed
 * again, and must obey the same bound as the input).
 */
#include "shell_int.h"

#include <stdio.h>
#include <stdlib.h>

static bool out_add(struct shx *x, struct shx_buf *out, const char *s, size_t n)
{
	if (out->len + n > SH_MAX_INPUT)
		return false;
	shx_buf_add(x, out, s, n);
	return true;
}

static void utf8(struct shx *x, struct shx_buf *out, unsigned long cp)
{
	char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xc0 | (cp >> 6));
		b[1] = (char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xe0 | (cp >> 12));
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (char)(0xf0 | ((cp >> 18) & 0x07));
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	shx_buf_add(x, out, b, n);
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* \x, \u, \U and octal escapes at s[*i] (the letter or first digit); appends the
 * character and advances *i to the escape's last byte.  False if it is none. */
static bool num_escape(struct shx *x, const char *s, size_t n, size_t *i, struct shx_buf *out,
		       enum shx_esc mode)
{
	char e = s[*i];
	unsigned long v = 0;
	int k = 0, h, max;

	if (e == 'x' || e == 'u' || e == 'U') {
		max = e == 'x' ? 2 : e == 'u' ? 4 : 8;
		while (k < max && *i + 1 < n && (h = hexval(s[*i + 1])) >= 0) {
			v = v * 16 + (unsigned long)h;
			++*i;
			k++;
		}
		if (!k || v > 0x10ffff) {
			*i -= (size_t)k;
			return false;
		}
		if (e == 'x')
			shx_buf_addc(x, out, (char)v);
		else
			utf8(x, out, v);
		return true;
	}
	if (e < '0' || e > '7' || (mode == SHX_ESC_ECHO && e != '0'))
		return false;
	/* echo -e and %b: \0NNN; $'...' and printf: \NNN */
	if (mode == SHX_ESC_ECHO)
		++*i;
	while (k < 3 && *i < n && s[*i] >= '0' && s[*i] <= '7') {
		v = v * 8 + (unsigned long)(s[*i] - '0');
		++*i;
		k++;
	}
	--*i;
	shx_buf_addc(x, out, (char)v);
	return true;
}

/* The character a one-letter escape stands for, or -1. */
static int letter_escape(char e, enum shx_esc mode)
{
	static const char from[] = "abefnrtv\\", to[] = "\a\b\033\f\n\r\t\v\\";
	const char *p = strchr(from, e);

	if (e == 'E' && mode == SHX_ESC_DOLLAR)
		return '\033';
	return p && e ? (unsigned char)to[p - from] : -1;
}

void shx_unescape_c(struct shx *x, const char *s, size_t n, struct shx_buf *out, enum shx_esc mode,
		    bool *decoded, bool *stop)
{
	for (size_t i = 0; i < n; i++) {
		char e;
		int ch;

		if (s[i] != '\\' || i + 1 >= n) {
			shx_buf_addc(x, out, s[i]);
			continue;
		}
		e = s[++i];
		if ((ch = letter_escape(e, mode)) >= 0) {
			shx_buf_addc(x, out, (char)ch);
		} else if (e == '\'' || e == '"' || e == '?') {
			/* $'...' unescapes all three, printf " and ', echo none */
			if (mode == SHX_ESC_ECHO || (mode == SHX_ESC_PRINTF && e == '?'))
				shx_buf_addc(x, out, '\\');
			shx_buf_addc(x, out, e);
		} else if (e == 'c' && mode == SHX_ESC_DOLLAR && i + 1 < n) {
			shx_buf_addc(x, out, (char)(s[++i] & 0x1f)); /* \cX: a control character */
		} else if (e == 'c' && mode == SHX_ESC_ECHO) {
			*stop = true; /* \c: no more output */
			return;
		} else if (num_escape(x, s, n, &i, out, mode)) {
			*decoded = true;
		} else {
			shx_buf_addc(x, out, '\\');
			shx_buf_addc(x, out, e);
		}
	}
}

/* ---- echo and printf ----------------------------------------------------------------------------- */

static bool echo(struct shx_ctx *c, const struct sh_cmd *cmd, struct shx_buf *out, bool *decoded)
{
	struct shx *x = c->x;
	bool nl = true, esc = false, stop = false;
	int k = 1;

	for (; k < cmd->argc; k++) {
		const char *s = cmd->argv[k].s;
		bool opt = s[0] == '-' && s[1];

		for (size_t j = 1; opt && s[j]; j++)
			opt = s[j] == 'n' || s[j] == 'e' || s[j] == 'E';
		if (!opt)
			break;
		for (size_t j = 1; s[j]; j++) {
			if (s[j] == 'n')
				nl = false;
			else
				esc = s[j] == 'e';
		}
	}
	for (int a = k; a < cmd->argc && !stop; a++) {
		const struct sh_word *w = &cmd->argv[a];

		/* sh may be dash, whose echo always reads escapes: then not known. */
		if (c->sh->posix && memchr(w->s, '\\', w->len))
			return false;
		if (a > k)
			shx_buf_addc(x, out, ' ');
		if (esc)
			shx_unescape_c(x, w->s, w->len, out, SHX_ESC_ECHO, decoded, &stop);
		else
			shx_buf_add(x, out, w->s, w->len);
		if (w->flags & SH_W_DECODED)
			*decoded = true;
		if (out->len > SH_MAX_INPUT)
			return false;
	}
	if (nl && !stop)
		shx_buf_addc(x, out, '\n');
	return true;
}

/* %d %i %u %o %x %X with printf's flags, width and precision. */
static void int_conv(struct shx *x, struct shx_buf *out, char k, const char *flags, int width,
		     int prec, long long n)
{
	char digits[80], pre[4] = { 0 };
	int nd = 0, np = 0, len, pad;
	unsigned long long u = n < 0 && (k == 'd' || k == 'i') ? 0ull - (unsigned long long)n
							       : (unsigned long long)n;
	unsigned base = k == 'o' ? 8 : (k == 'x' || k == 'X') ? 16 : 10;
	const char *dig = k == 'X' ? "0123456789ABCDEF" : "0123456789abcdef";
	bool left = strchr(flags, '-') != NULL, zero = strchr(flags, '0') && !left && prec < 0;

	do {
		digits[nd++] = dig[u % base];
		u /= base;
	} while (u && nd < 70);
	if (prec == 0 && n == 0)
		nd = 0;
	while (nd < prec && nd < 70)
		digits[nd++] = '0';
	if ((k == 'd' || k == 'i') && n < 0)
		pre[np++] = '-';
	else if ((k == 'd' || k == 'i') && strchr(flags, '+'))
		pre[np++] = '+';
	else if ((k == 'd' || k == 'i') && strchr(flags, ' '))
		pre[np++] = ' ';
	if (strchr(flags, '#') && n != 0 && base == 16) {
		pre[np++] = '0';
		pre[np++] = k;
	} else if (strchr(flags, '#') && base == 8 && (!nd || digits[nd - 1] != '0')) {
		digits[nd++] = '0';
	}
	len = np + nd;
	pad = width > len ? width - len : 0;
	if (!left && !zero)
		for (int i = 0; i < pad; i++)
			shx_buf_addc(x, out, ' ');
	shx_buf_add(x, out, pre, (size_t)np);
	if (zero)
		for (int i = 0; i < pad; i++)
			shx_buf_addc(x, out, '0');
	while (nd)
		shx_buf_addc(x, out, digits[--nd]);
	if (left)
		for (int i = 0; i < pad; i++)
			shx_buf_addc(x, out, ' ');
}

/* One conversion of printf (flags, width and precision given literally). */
static bool conv(struct shx_ctx *c, char k, const char *flags, int width, int prec,
		 const struct sh_word *arg, struct shx_buf *out, bool *decoded, bool *stop)
{
	struct shx *x = c->x;
	char stack[256];
	struct shx_buf v;
	shx_buf_init(&v, stack, sizeof(stack));
	if (arg && (arg->flags & SH_W_DECODED))
		*decoded = true;
	switch (k) {
	case 's':
		shx_buf_add(x, &v, arg ? arg->s : "", arg ? arg->len : 0);
		break;
	case 'b':
		if (arg)
			shx_unescape_c(x, arg->s, arg->len, &v, SHX_ESC_ECHO, decoded, stop);
		break;
	case 'c':
		if (arg && arg->len)
			shx_buf_addc(x, &v, arg->s[0]);
		break;
	case 'd':
	case 'i':
	case 'u':
	case 'o':
	case 'x':
	case 'X': {
		long long n = 0;
		char *end;

		if (arg && arg->len) {
			if (arg->s[0] == '\'' || arg->s[0] == '"')
				n = (unsigned char)arg->s[1];
			else {
				n = strtoll(arg->s, &end, 0);
				if (*end)
					return false;
			}
		}
		int_conv(x, out, k, flags, width, prec, n);
		return true;
	}
	default:
		return false; /* floats, %q, %(...)T: not modelled */
	}
	{
		size_t len = v.len;
		bool left = strchr(flags, '-') != NULL;

		if (prec >= 0 && (size_t)prec < len)
			len = (size_t)prec;
		if (width > 0 && (size_t)width > len && !left)
			for (size_t p = len; p < (size_t)width; p++)
				shx_buf_addc(x, out, ' ');
		shx_buf_add(x, out, v.p ? v.p : "", len);
		if (width > 0 && (size_t)width > len && left)
			for (size_t p = len; p < (size_t)width; p++)
				shx_buf_addc(x, out, ' ');
	}
	return true;
}

/* The length of the escape at s[i] (a backslash) in printf's format. */
static size_t esc_len(const char *s, size_t n, size_t i)
{
	size_t k = 2, max = 0;
	bool hex = true;

	if (i + 1 >= n)
		return 1;
	switch (s[i + 1]) {
	case 'x':
		max = 2;
		break;
	case 'u':
		max = 4;
		break;
	case 'U':
		max = 8;
		break;
	default:
		if (s[i + 1] >= '0' && s[i + 1] <= '7') {
			k = 2;
			while (k < 4 && i + k < n && s[i + k] >= '0' && s[i + k] <= '7')
				k++;
			return k;
		}
		return 2;
	}
	while (k < 2 + max && i + k < n && (hex && hexval(s[i + k]) >= 0))
		k++;
	return k;
}

bool shx_printf(struct shx_ctx *c, const struct sh_word *argv, int argc, struct shx_buf *out,
		bool *decoded)
{
	struct shx *x = c->x;
	const struct sh_word *f;
	int a = 1, rounds = 0;
	bool stop = false;

	if (argc < 1)
		return false;
	if (!strcmp(argv[0].s, "--")) {
		argv++;
		argc--;
		if (argc < 1)
			return false;
	}
	f = &argv[0];
	if (f->unres)
		return false;
	if (f->flags & SH_W_DECODED)
		*decoded = true;
	do {
		int used = 0;

		for (size_t i = 0; i < f->len && !stop; i++) {
			char flags[8] = { 0 };
			int nf = 0, width = 0, prec = -1;

			if (f->s[i] == '\\') {
				size_t take = esc_len(f->s, f->len, i);

				shx_unescape_c(x, f->s + i, take, out, SHX_ESC_PRINTF, decoded,
					       &stop);
				i += take - 1;
				continue;
			}
			if (f->s[i] != '%') {
				shx_buf_addc(x, out, f->s[i]);
				continue;
			}
			if (++i >= f->len)
				return false;
			if (f->s[i] == '%') {
				shx_buf_addc(x, out, '%');
				continue;
			}
			while (i < f->len && strchr("-+ #0", f->s[i]) && nf < 6)
				flags[nf++] = f->s[i++];
			if (i < f->len && f->s[i] == '*')
				return false;
			while (i < f->len && f->s[i] >= '0' && f->s[i] <= '9' && width < 10000)
				width = width * 10 + (f->s[i++] - '0');
			if (i < f->len && f->s[i] == '.') {
				prec = 0;
				i++;
				if (i < f->len && f->s[i] == '*')
					return false;
				while (i < f->len && f->s[i] >= '0' && f->s[i] <= '9' &&
				       prec < 10000)
					prec = prec * 10 + (f->s[i++] - '0');
			}
			if (i >= f->len)
				return false;
			if (a < argc && argv[a].unres)
				return false;
			if (!conv(c, f->s[i], flags, width, prec, a < argc ? &argv[a] : NULL, out,
				  decoded, &stop))
				return false;
			if (a < argc)
				a++;
			used++;
			if (out->len > SH_MAX_INPUT)
				return false;
		}
		if (!used)
			break;
	} while (a < argc && ++rounds < 10000 && !stop);
	return true;
}

/* ---- decoders --------------------------------------------------------------------------------------- */

static int b64val(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+' || c == '-')
		return 62;
	if (c == '/' || c == '_')
		return 63;
	return -1;
}

static bool b64decode(struct shx *x, const char *s, size_t n, struct shx_buf *out, bool garbage_ok)
{
	unsigned acc = 0;
	int bits = 0;
	bool pad = false;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (s[i] == '\n' || s[i] == '\r' || s[i] == ' ' || s[i] == '\t')
			continue;
		if (s[i] == '=') {
			pad = true;
			continue;
		}
		v = b64val(s[i]);
		if (v < 0 || pad) {
			if (garbage_ok)
				continue;
			return false;
		}
		acc = (acc << 6) | (unsigned)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			shx_buf_addc(x, out, (char)((acc >> bits) & 0xff));
		}
	}
	return out->len <= SH_MAX_INPUT;
}

static void b64encode(struct shx *x, const char *s, size_t n, struct shx_buf *out, size_t wrap)
{
	static const char tab[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t col = 0;

	for (size_t i = 0; i < n; i += 3) {
		unsigned v = (unsigned char)s[i] << 16;
		char q[4];

		if (i + 1 < n)
			v |= (unsigned char)s[i + 1] << 8;
		if (i + 2 < n)
			v |= (unsigned char)s[i + 2];
		q[0] = tab[(v >> 18) & 63];
		q[1] = tab[(v >> 12) & 63];
		q[2] = i + 1 < n ? tab[(v >> 6) & 63] : '=';
		q[3] = i + 2 < n ? tab[v & 63] : '=';
		for (int k = 0; k < 4; k++) {
			if (wrap && col == wrap) {
				shx_buf_addc(x, out, '\n');
				col = 0;
			}
			shx_buf_addc(x, out, q[k]);
			col++;
		}
	}
	if (n)
		shx_buf_addc(x, out, '\n');
}

static bool b32decode(struct shx *x, const char *s, size_t n, struct shx_buf *out)
{
	unsigned long long acc = 0;
	int bits = 0;

	for (size_t i = 0; i < n; i++) {
		int v;

		if (s[i] == '\n' || s[i] == '=' || s[i] == '\r')
			continue;
		if (s[i] >= 'A' && s[i] <= 'Z')
			v = s[i] - 'A';
		else if (s[i] >= '2' && s[i] <= '7')
			v = s[i] - '2' + 26;
		else
			return false;
		acc = (acc << 5) | (unsigned)v;
		bits += 5;
		if (bits >= 8) {
			bits -= 8;
			shx_buf_addc(x, out, (char)((acc >> bits) & 0xff));
		}
	}
	return true;
}

static bool hexdecode(struct shx *x, const char *s, size_t n, struct shx_buf *out)
{
	int hi = -1;

	for (size_t i = 0; i < n; i++) {
		int v = hexval(s[i]);

		if (v < 0) {
			if (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')
				continue;
			return false;
		}
		if (hi < 0) {
			hi = v;
			continue;
		}
		shx_buf_addc(x, out, (char)(hi * 16 + v));
		hi = -1;
	}
	return true;
}

/* ---- tr ------------------------------------------------------------------------------------------- */

/* A tr set expanded: ranges, escapes and the common classes; false if not modelled. */
static bool tr_set(const char *s, size_t n, unsigned char *set, size_t *len)
{
	size_t k = 0;

	for (size_t i = 0; i < n && k < 1024;) {
		int c = (unsigned char)s[i];

		if (c == '[' && i + 1 < n && s[i + 1] == ':') {
			static const char *const cls[] = { "[:lower:]", "[:upper:]", "[:digit:]",
							   "[:space:]", "[:alpha:]", "[:alnum:]" };
			size_t j;

			for (j = 0; j < SHX_LEN(cls); j++)
				if (n - i >= strlen(cls[j]) &&
				    !memcmp(s + i, cls[j], strlen(cls[j])))
					break;
			if (j == SHX_LEN(cls))
				return false;
			for (int ch = 0; ch < 256 && k < 1024; ch++) {
				bool in = (j == 0 && ch >= 'a' && ch <= 'z') ||
					  (j == 1 && ch >= 'A' && ch <= 'Z') ||
					  (j == 2 && ch >= '0' && ch <= '9') ||
					  (j == 3 && (ch == ' ' || (ch >= '\t' && ch <= '\r'))) ||
					  ((j == 4 || j == 5) && ((ch >= 'a' && ch <= 'z') ||
								  (ch >= 'A' && ch <= 'Z'))) ||
					  (j == 5 && ch >= '0' && ch <= '9');

				if (in)
					set[k++] = (unsigned char)ch;
			}
			i += strlen(cls[j]);
			continue;
		}
		if (c == '[')
			return false; /* [c*n] and [=c=]: not modelled */
		if (c == '\\' && i + 1 < n) {
			char e = s[i + 1];

			c = e == 'n'	? '\n'
			    : e == 't'	? '\t'
			    : e == 'r'	? '\r'
			    : e == '\\' ? '\\'
					: (unsigned char)e;
			i += 2;
		} else {
			i++;
		}
		if (i + 1 < n && s[i] == '-') {
			int e = (unsigned char)s[i + 1];

			if (e < c)
				return false;
			for (int ch = c; ch <= e && k < 1024; ch++)
				set[k++] = (unsigned char)ch;
			i += 2;
			continue;
		}
		set[k++] = (unsigned char)c;
	}
	*len = k;
	return k < 1024;
}

static bool tr(struct shx *x, const struct sh_cmd *cmd, const char *in, size_t n,
	       struct shx_buf *out)
{
	unsigned char s1[1024], s2[1024], map[256];
	bool del = false, drop[256] = { false };
	size_t l1 = 0, l2 = 0;
	int k = 1;

	if (k < cmd->argc && !strcmp(cmd->argv[k].s, "-d")) {
		del = true;
		k++;
	}
	if (k >= cmd->argc || cmd->argv[k].s[0] == '-' || cmd->argv[k].unres ||
	    !tr_set(cmd->argv[k].s, cmd->argv[k].len, s1, &l1))
		return false;
	if (del) {
		if (k + 1 != cmd->argc)
			return false;
		for (size_t i = 0; i < l1; i++)
			drop[s1[i]] = true;
	} else {
		if (k + 2 != cmd->argc || cmd->argv[k + 1].unres ||
		    !tr_set(cmd->argv[k + 1].s, cmd->argv[k + 1].len, s2, &l2) || !l2)
			return false;
	}
	for (int ch = 0; ch < 256; ch++)
		map[ch] = (unsigned char)ch;
	for (size_t i = 0; i < l1 && !del; i++)
		map[s1[i]] = s2[i < l2 ? i : l2 - 1];
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (!drop[ch])
			shx_buf_addc(x, out, (char)map[ch]);
	}
	return true;
}

/* ---- the table ------------------------------------------------------------------------------------ */

static bool only_stdin(const struct sh_cmd *cmd, int from)
{
	for (int k = from; k < cmd->argc; k++)
		if (strcmp(cmd->argv[k].s, "-") != 0)
			return false;
	return true;
}

static bool has_opt(const struct sh_cmd *cmd, const char *a, const char *b)
{
	for (int k = 1; k < cmd->argc; k++)
		if (!strcmp(cmd->argv[k].s, a) || (b && !strcmp(cmd->argv[k].s, b)))
			return true;
	return false;
}

static bool seq(struct shx *x, const struct sh_cmd *cmd, struct shx_buf *out)
{
	long long v[3] = { 1, 1, 0 }, first, step, last;
	int n = cmd->argc - 1;

	if (n < 1 || n > 3)
		return false;
	for (int k = 0; k < n; k++) {
		char *e;

		v[k] = strtoll(cmd->argv[k + 1].s, &e, 10);
		if (*e || cmd->argv[k + 1].unres || !cmd->argv[k + 1].len)
			return false;
	}
	first = n == 1 ? 1 : v[0];
	step = n == 3 ? v[1] : 1;
	last = n == 1 ? v[0] : n == 2 ? v[1] : v[2];
	if (step == 0 || (last - first) / step > 100000)
		return false;
	for (long long i = first; step > 0 ? i <= last : i >= last; i += step) {
		char num[32];
		int k = snprintf(num, sizeof(num), "%lld\n", i);

		if (!out_add(x, out, num, (size_t)k))
			return false;
	}
	return true;
}

/* Programs whose output comes from their arguments alone; -1 when name is none. */
static int literal_args(struct shx_ctx *c, const struct sh_cmd *cmd, struct shx_buf *out,
			bool *decoded)
{
	struct shx *x = c->x;
	const char *name = cmd->name;

	if (!strcmp(name, "echo"))
		return echo(c, cmd, out, decoded);
	if (!strcmp(name, "printf"))
		return shx_printf(c, cmd->argv + 1, cmd->argc - 1, out, decoded);
	if (!strcmp(name, "true") || !strcmp(name, ":") || !strcmp(name, "false") ||
	    !strcmp(name, "cd") || !strcmp(name, "export") || !strcmp(name, "test") ||
	    !strcmp(name, "["))
		return true;
	if (!strcmp(name, "pwd")) {
		unsigned u = 0;
		const char *d = cmd->cwd ? cmd->cwd : shx_cwd(c, &u);

		return d && out_add(x, out, d, strlen(d)) && out_add(x, out, "\n", 1);
	}
	if (!strcmp(name, "seq"))
		return seq(x, cmd, out);
	if ((!strcmp(name, "basename") || !strcmp(name, "dirname")) && cmd->argc == 2) {
		const char *s = cmd->argv[1].s, *sl;
		size_t n = cmd->argv[1].len, e;

		while (n > 1 && s[n - 1] == '/')
			n--;
		sl = memrchr(s, '/', n);
		if (!strcmp(name, "basename")) {
			size_t b = sl && n > 1 ? (size_t)(sl - s) + 1 : 0;

			return out_add(x, out, s + b, n - b) && out_add(x, out, "\n", 1);
		}
		if (!sl)
			return out_add(x, out, ".\n", 2);
		e = (size_t)(sl - s);
		while (e > 1 && s[e - 1] == '/')
			e--;
		return out_add(x, out, s, e ? e : 1) && out_add(x, out, "\n", 1);
	}
	return -1;
}

static bool base64_cmd(struct shx *x, const struct sh_cmd *cmd, const char *in, size_t inlen,
		       struct shx_buf *out, bool *decoded)
{
	bool dec = has_opt(cmd, "-d", "--decode") || has_opt(cmd, "-D", "-di") ||
		   has_opt(cmd, "-id", NULL);
	bool garbage = has_opt(cmd, "-i", "--ignore-garbage") || has_opt(cmd, "-di", "-id");

	for (int k = 1; k < cmd->argc; k++) {
		const char *a = cmd->argv[k].s;

		if (a[0] != '-' || !strcmp(a, "-"))
			return false; /* a file */
		if (!strncmp(a, "-w", 2) || !strncmp(a, "--wrap", 6))
			return false;
	}
	if (dec) {
		*decoded = true;
		return b64decode(x, in, inlen, out, garbage);
	}
	if (inlen > SH_MAX_INPUT / 2)
		return false;
	b64encode(x, in, inlen, out, 76);
	return true;
}

static bool rev(struct shx *x, const char *in, size_t inlen, struct shx_buf *out)
{
	size_t ls = 0;

	for (size_t k = 0; k <= inlen; k++) {
		if (k < inlen && in[k] != '\n')
			continue;
		for (size_t j = k; j > ls; j--)
			shx_buf_addc(x, out, in[j - 1]);
		if (k < inlen)
			shx_buf_addc(x, out, '\n');
		ls = k + 1;
	}
	return true;
}

/* Filters of stdin (which is known). */
static bool literal_filter(struct shx_ctx *c, const struct sh_cmd *cmd, struct shx_buf *out,
			   bool *decoded)
{
	struct shx *x = c->x;
	const char *name = cmd->name, *in = cmd->stdin_text;
	size_t inlen = cmd->stdin_len;

	if ((!strcmp(name, "cat") && only_stdin(cmd, 1)) || !strcmp(name, "tee"))
		return out_add(x, out, in, inlen);
	if (!strcmp(name, "base64") || !strcmp(name, "basenc"))
		return base64_cmd(x, cmd, in, inlen, out, decoded);
	if (!strcmp(name, "base32") && has_opt(cmd, "-d", "--decode") && cmd->argc == 2) {
		*decoded = true;
		return b32decode(x, in, inlen, out);
	}
	if (!strcmp(name, "xxd")) {
		bool r = false, plain = false;

		for (int k = 1; k < cmd->argc; k++) {
			if (cmd->argv[k].s[0] != '-')
				return false;
			r = r || strchr(cmd->argv[k].s, 'r');
			plain = plain || strchr(cmd->argv[k].s, 'p');
		}
		*decoded = true;
		return r && plain && hexdecode(x, in, inlen, out);
	}
	if (!strcmp(name, "openssl") && cmd->argc >= 3) {
		bool b64 = !strcmp(cmd->argv[1].s, "base64") || has_opt(cmd, "-base64", "-a");

		if (!b64 || !has_opt(cmd, "-d", NULL) || has_opt(cmd, "-in", NULL) ||
		    (strcmp(cmd->argv[1].s, "base64") && strcmp(cmd->argv[1].s, "enc")))
			return false;
		*decoded = true;
		return b64decode(x, in, inlen, out, false);
	}
	if (!strcmp(name, "rev") && cmd->argc == 1) {
		*decoded = true;
		return rev(x, in, inlen, out);
	}
	if (!strcmp(name, "tr")) {
		*decoded = true;
		return tr(x, cmd, in, inlen, out);
	}
	return false;
}

bool shx_literal(struct shx_ctx *c, int i, struct shx_buf *out, bool *decoded)
{
	const struct sh_cmd *cmd = shx_cmd(c->x, i);
	int r;

	if (cmd->unres)
		return false;
	if (c->in_decoded && cmd->stdin_text)
		*decoded = true;
	r = literal_args(c, cmd, out, decoded);
	if (r >= 0)
		return r;
	return cmd->stdin_text && literal_filter(c, cmd, out, decoded);
}
