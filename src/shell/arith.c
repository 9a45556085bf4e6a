/*
 * arith.c - bash's arithmetic ($((...)), ((...)), let, ${x:o:l}, array
 * subscripts) on 64-bit integers: the C operators with their precedence,
 * assignments, ++ and --, bases (0x, 0NN, B#N) and variables, whose values
 * are themselves expressions (bounded by ARITH_DEPTH).  Anything it cannot
 * do (an unknown variable, division by zero, a syntax it does not know) makes
 * the whole expression unresolved, never a guessed number.
 */
#include "shell_int.h"

#include <stdio.h>
#include <stdlib.h>

/* Nesting of parentheses and of variables whose values are expressions. */
#define ARITH_DEPTH 32

struct ar {
	struct shx_ctx *c;
	const char *s;
	size_t n, i;
	int depth;
	bool fail;
	unsigned unres;
	bool noeval; /* the side of && || ?: that is not evaluated */
};

static bool ar_expr(struct ar *a, long long *v);
static bool ar_assign(struct ar *a, long long *v);

static void skip_ws(struct ar *a)
{
	while (a->i < a->n && (a->s[a->i] == ' ' || a->s[a->i] == '\t' || a->s[a->i] == '\n'))
		a->i++;
}

static bool fail(struct ar *a, unsigned why)
{
	a->fail = true;
	a->unres |= why;
	return false;
}

static bool is_nc(char ch, bool first)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || ch == '_' ||
	       (!first && ch >= '0' && ch <= '9');
}

/* A number in bash's notations: 0x1f, 017, 2#101, 36#zz. */
static bool number(struct ar *a, long long *v)
{
	unsigned long long r = 0;
	int base = 10;
	size_t i = a->i;

	if (i + 1 < a->n && a->s[i] == '0' && (a->s[i + 1] == 'x' || a->s[i + 1] == 'X')) {
		base = 16;
		i += 2;
	} else if (a->s[i] == '0') {
		base = 8;
	} else {
		size_t j = i;
		long b = 0;

		while (j < a->n && a->s[j] >= '0' && a->s[j] <= '9' && b < 100)
			b = b * 10 + (a->s[j++] - '0');
		if (j < a->n && a->s[j] == '#') {
			if (b < 2 || b > 64)
				return fail(a, SH_U_ARITH);
			base = (int)b;
			i = j + 1;
		}
	}
	for (;; i++) {
		int d;
		char ch = i < a->n ? a->s[i] : '\0';

		if (ch >= '0' && ch <= '9')
			d = ch - '0';
		else if (ch >= 'a' && ch <= 'z')
			d = ch - 'a' + 10;
		else if (ch >= 'A' && ch <= 'Z')
			d = base <= 36 ? ch - 'A' + 10 : ch - 'A' + 36;
		else if (ch == '@' && base == 64)
			d = 62;
		else if (ch == '_' && base == 64)
			d = 63;
		else
			break;
		if (d >= base)
			return fail(a, SH_U_ARITH);
		r = r * (unsigned)base + (unsigned)d;
	}
	a->i = i;
	*v = (long long)r;
	return true;
}

/* A variable's value as a number: its text is itself an expression. */
static bool var_value(struct ar *a, const char *name, size_t n, long long *v)
{
	struct shx_val val;
	struct ar sub;

	shx_get(a->c, name, n, &val);
	if (val.state == VAL_UNSET || (val.state == VAL_SET && val.len == 0)) {
		*v = 0;
		return true;
	}
	if (val.state != VAL_SET || val.unres)
		return fail(a, val.unres ? val.unres : SH_U_VAR);
	if (a->depth + 1 > ARITH_DEPTH)
		return fail(a, SH_U_LIMIT);
	sub = (struct ar){ .c = a->c, .s = val.s, .n = val.len, .depth = a->depth + 1 };
	if (!ar_expr(&sub, v) || (skip_ws(&sub), sub.i != sub.n))
		return fail(a, sub.unres ? sub.unres : SH_U_ARITH);
	return true;
}

static void store(struct ar *a, const char *name, size_t n, long long v)
{
	char num[32];
	int k;

	if (a->noeval)
		return;
	k = snprintf(num, sizeof(num), "%lld", v);
	shx_set(a->c, name, n, shx_strndup(a->c->x, num, (size_t)k), (size_t)k, VAL_SET, 0);
}

static bool primary(struct ar *a, long long *v)
{
	skip_ws(a);
	if (a->i >= a->n)
		return fail(a, SH_U_ARITH);
	if (a->s[a->i] == '(') {
		if (++a->depth > ARITH_DEPTH)
			return fail(a, SH_U_LIMIT);
		a->i++;
		if (!ar_expr(a, v))
			return false;
		skip_ws(a);
		if (a->i >= a->n || a->s[a->i] != ')')
			return fail(a, SH_U_ARITH);
		a->i++;
		a->depth--;
		return true;
	}
	if (a->s[a->i] >= '0' && a->s[a->i] <= '9')
		return number(a, v);
	if (is_nc(a->s[a->i], true)) {
		size_t b = a->i, e;

		while (a->i < a->n && is_nc(a->s[a->i], false))
			a->i++;
		e = a->i;
		skip_ws(a);
		if (a->i < a->n && a->s[a->i] == '[')
			return fail(a, SH_U_ARITH); /* array elements in arithmetic: not modelled */
		if (!var_value(a, a->s + b, e - b, v))
			return false;
		if (a->i + 1 < a->n && (a->s[a->i] == '+' || a->s[a->i] == '-') &&
		    a->s[a->i + 1] == a->s[a->i]) {
			/* x++ and x--: the old value, and the variable changes */
			char ch = a->s[a->i];

			a->i += 2;
			store(a, a->s + b, e - b, *v + (ch == '+' ? 1 : -1));
		}
		return true;
	}
	return fail(a, SH_U_ARITH);
}

static bool unary(struct ar *a, long long *v)
{
	char ch, ch2;

	skip_ws(a);
	if (a->i >= a->n)
		return fail(a, SH_U_ARITH);
	ch = a->s[a->i];
	ch2 = a->i + 1 < a->n ? a->s[a->i + 1] : '\0';
	if ((ch == '+' || ch == '-') && ch2 == ch) {
		/* ++x / --x */
		size_t b;

		a->i += 2;
		skip_ws(a);
		b = a->i;
		while (a->i < a->n && is_nc(a->s[a->i], a->i == b))
			a->i++;
		if (a->i == b || !var_value(a, a->s + b, a->i - b, v))
			return fail(a, SH_U_ARITH);
		*v += ch == '+' ? 1 : -1;
		store(a, a->s + b, a->i - b, *v);
		return true;
	}
	if (ch == '+' || ch == '-' || ch == '!' || ch == '~') {
		if (++a->depth > ARITH_DEPTH)
			return fail(a, SH_U_LIMIT);
		a->i++;
		if (!unary(a, v))
			return false;
		a->depth--;
		if (ch == '-')
			*v = (long long)(0ull - (unsigned long long)*v);
		else if (ch == '!')
			*v = !*v;
		else if (ch == '~')
			*v = ~*v;
		return true;
	}
	return primary(a, v);
}

/* Binary operators by precedence, lowest first (|| ... * / %). */
static const struct {
	const char *op;
	int prec;
} binops[] = {
	{ "||", 1 }, { "&&", 2 },  { "|", 3 },	{ "^", 4 },  { "&", 5 },  { "==", 6 }, { "!=", 6 },
	{ "<=", 7 }, { ">=", 7 },  { "<<", 8 }, { ">>", 8 }, { "<", 7 },  { ">", 7 },  { "+", 9 },
	{ "-", 9 },  { "**", 11 }, { "*", 10 }, { "/", 10 }, { "%", 10 },
};

static int peek_op(struct ar *a, size_t *len)
{
	static const char *const compound[] = { "|", "^", "&", "<<", ">>", "+", "-", "*", "/", "%" };

	skip_ws(a);
	for (size_t k = 0; k < SHX_LEN(binops); k++) {
		size_t l = strlen(binops[k].op);

		if (a->i + l > a->n || memcmp(a->s + a->i, binops[k].op, l))
			continue;
		/* OP= is an assignment, not this operator. */
		if (a->i + l < a->n && a->s[a->i + l] == '=')
			for (size_t q = 0; q < SHX_LEN(compound); q++)
				if (!strcmp(compound[q], binops[k].op))
					return -1;
		*len = l;
		return (int)k;
	}
	return -1;
}

static bool apply(struct ar *a, const char *op, long long l, long long r, long long *v)
{
	unsigned long long ul = (unsigned long long)l, ur = (unsigned long long)r;

	if (!strcmp(op, "||"))
		*v = l || r;
	else if (!strcmp(op, "&&"))
		*v = l && r;
	else if (!strcmp(op, "|"))
		*v = l | r;
	else if (!strcmp(op, "^"))
		*v = l ^ r;
	else if (!strcmp(op, "&"))
		*v = l & r;
	else if (!strcmp(op, "=="))
		*v = l == r;
	else if (!strcmp(op, "!="))
		*v = l != r;
	else if (!strcmp(op, "<="))
		*v = l <= r;
	else if (!strcmp(op, ">="))
		*v = l >= r;
	else if (!strcmp(op, "<"))
		*v = l < r;
	else if (!strcmp(op, ">"))
		*v = l > r;
	else if (!strcmp(op, "<<"))
		*v = (long long)(ul << (ur & 63));
	else if (!strcmp(op, ">>"))
		*v = l >> (r & 63);
	else if (!strcmp(op, "+"))
		*v = (long long)(ul + ur);
	else if (!strcmp(op, "-"))
		*v = (long long)(ul - ur);
	else if (!strcmp(op, "*"))
		*v = (long long)(ul * ur);
	else if (!strcmp(op, "**")) {
		unsigned long long p = 1;

		if (r < 0)
			return fail(a, SH_U_ARITH);
		for (long long k = 0; k < r && k < 64; k++)
			p *= ul;
		*v = (long long)p;
	} else {
		if (r == 0 || (l == INT64_MIN && r == -1)) {
			if (a->noeval) {
				*v = 0;
				return true;
			}
			return fail(a, SH_U_ARITH);
		}
		*v = !strcmp(op, "/") ? l / r : l % r;
	}
	return true;
}

static bool binary(struct ar *a, int minprec, long long *v)
{
	if (!unary(a, v))
		return false;
	for (;;) {
		size_t len;
		int k = peek_op(a, &len), prec;
		long long r;
		bool saved = a->noeval;

		if (k < 0 || (prec = binops[k].prec) < minprec)
			return true;
		a->i += len;
		if ((!strcmp(binops[k].op, "&&") && !*v) || (!strcmp(binops[k].op, "||") && *v))
			a->noeval = true;
		if (++a->depth > ARITH_DEPTH)
			return fail(a, SH_U_LIMIT);
		if (!binary(a, !strcmp(binops[k].op, "**") ? prec : prec + 1, &r))
			return false;
		a->depth--;
		a->noeval = saved;
		if (!apply(a, binops[k].op, *v, r, v))
			return false;
	}
}

static bool ternary(struct ar *a, long long *v)
{
	long long t, f;
	bool saved = a->noeval;

	if (!binary(a, 1, v))
		return false;
	skip_ws(a);
	if (a->i >= a->n || a->s[a->i] != '?')
		return true;
	a->i++;
	if (++a->depth > ARITH_DEPTH)
		return fail(a, SH_U_LIMIT);
	a->noeval = saved || !*v;
	if (!ar_assign(a, &t))
		return false;
	skip_ws(a);
	if (a->i >= a->n || a->s[a->i] != ':')
		return fail(a, SH_U_ARITH);
	a->i++;
	a->noeval = saved || *v;
	if (!ar_assign(a, &f))
		return false;
	a->noeval = saved;
	a->depth--;
	*v = *v ? t : f;
	return true;
}

/* NAME op= expression, or a conditional expression. */
static bool ar_assign(struct ar *a, long long *v)
{
	size_t save, b, e;
	static const char *const aops[] = { "<<=", ">>=", "+=", "-=", "*=", "/=",
					    "%=",  "&=",  "^=", "|=", "=" };

	skip_ws(a);
	save = a->i;
	b = a->i;
	while (a->i < a->n && is_nc(a->s[a->i], a->i == b))
		a->i++;
	e = a->i;
	skip_ws(a);
	if (e > b) {
		for (size_t k = 0; k < SHX_LEN(aops); k++) {
			size_t l = strlen(aops[k]);

			if (a->i + l <= a->n && !memcmp(a->s + a->i, aops[k], l) &&
			    !(l == 1 && a->i + 1 < a->n && a->s[a->i + 1] == '=')) {
				long long r, old = 0;
				char op[4] = { 0 };

				a->i += l;
				if (++a->depth > ARITH_DEPTH)
					return fail(a, SH_U_LIMIT);
				if (!ar_assign(a, &r))
					return false;
				a->depth--;
				if (l > 1) {
					if (!var_value(a, a->s + b, e - b, &old))
						return false;
					memcpy(op, aops[k], l - 1);
					if (!apply(a, op, old, r, &r))
						return false;
				}
				*v = r;
				store(a, a->s + b, e - b, r);
				return true;
			}
		}
	}
	a->i = save;
	return ternary(a, v);
}

static bool ar_expr(struct ar *a, long long *v)
{
	for (;;) {
		if (!ar_assign(a, v))
			return false;
		skip_ws(a);
		if (a->i < a->n && a->s[a->i] == ',') {
			a->i++;
			continue;
		}
		return true;
	}
}

bool shx_arith(struct shx_ctx *c, const char *s, size_t n, long long *val, unsigned *unres)
{
	struct ar a = { .c = c, .s = s, .n = n };

	*val = 0;
	skip_ws(&a);
	if (a.i == a.n)
		return true; /* $(( )) is 0 */
	if (!ar_expr(&a, val) || (skip_ws(&a), a.i != a.n)) {
		*unres |= a.unres ? a.unres : SH_U_ARITH;
		return false;
	}
	return true;
}
