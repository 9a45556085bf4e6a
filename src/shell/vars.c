/*
 * vars.c - the modelled shell's state: variables, arrays, functions and the
 * working directory as one stack of bindings.
 *
 * A subshell, a pipeline element or a substitution remembers the stack's
 * height and pops back to it, which undoes its assignments and cd exactly
 * as the real subshell's end does.  A branch that may not run (after && or
 * ||, in if, case or a loop) marks what it bound as uncertain when it ends:
 * the value is still reported, flagged SH_U_COND or SH_U_LOOP, because a
 * guess must not look like a fact.  A new shell process (sh -c, a decoded
 * script) starts a frame holding copies of the exported bindings only.
 */
#include "shell_int.h"

#include <stdlib.h>

/* Bindings in all: each assignment is one at most, and steps are bounded, so this
 * is reached only by inputs made to reach it. */
#define MAX_BINDS 65536u

static const char CWD_NAME[] = "\001cwd";

static bool name_eq(const struct shx_bind *b, const char *name, size_t n)
{
	return b->nlen == n && !memcmp(b->name, name, n);
}

static bool kind_match(uint8_t have, uint8_t want)
{
	if (want == BIND_VAR || want == BIND_ARRAY)
		return have == BIND_VAR || have == BIND_ARRAY;
	return have == want;
}

struct shx_bind *shx_lookup(struct shx_ctx *c, const char *name, size_t n, uint8_t kind)
{
	struct shx *x = c->x;

	for (size_t i = x->nbinds; i > c->sh->base; i--) {
		struct shx_bind *b = &x->binds[i - 1];

		if (!b->dead && kind_match(b->kind, kind) && name_eq(b, name, n))
			return b;
	}
	return NULL;
}

static struct shx_bind *push(struct shx *x)
{
	if (x->nbinds == x->capbinds) {
		size_t cap = x->capbinds ? x->capbinds * 2 : 64;
		struct shx_bind *nb;

		if (cap > MAX_BINDS)
			shx_limit(x);
		nb = realloc(x->binds, cap * sizeof(*nb));
		if (!nb)
			shx_limit(x);
		x->binds = nb;
		x->capbinds = cap;
	}
	memset(&x->binds[x->nbinds], 0, sizeof(x->binds[0]));
	return &x->binds[x->nbinds++];
}

/* Variables whose value changes by itself: never known. */
static bool is_dynamic(const char *name, size_t n)
{
	static const char *const dyn[] = { "RANDOM",	    "SRANDOM",	 "SECONDS", "EPOCHSECONDS",
					   "EPOCHREALTIME", "LINENO",	 "BASHPID", "PPID",
					   "BASH_COMMAND",  "HISTCMD",	 "REPLY",   "OPTARG",
					   "OPTIND",	    "PIPESTATUS" };

	for (size_t i = 0; i < SHX_LEN(dyn); i++)
		if (strlen(dyn[i]) == n && !memcmp(dyn[i], name, n))
			return true;
	return false;
}

void shx_get(struct shx_ctx *c, const char *name, size_t n, struct shx_val *v)
{
	struct shx_bind *b = shx_lookup(c, name, n, BIND_VAR);

	memset(v, 0, sizeof(*v));
	if (b) {
		v->state = b->state;
		v->unres = b->unres;
		v->decoded = b->decoded;
		if (b->kind == BIND_ARRAY) {
			v->array = true;
			v->elems = b->elems;
			v->nelems = b->nelems;
			if (b->state == VAL_SET) {
				v->s = b->nelems ? b->elems[0] : "";
				v->len = strlen(v->s);
				if (!b->nelems)
					v->state = VAL_UNSET;
			}
		} else {
			v->s = b->value;
			v->len = b->vlen;
		}
		if (v->state == VAL_UNKNOWN && !v->unres)
			v->unres = SH_U_VAR;
		return;
	}
	if (is_dynamic(name, n)) {
		v->state = VAL_UNKNOWN;
		v->unres = SH_U_DYNAMIC;
		return;
	}
	if (n == 3 && !memcmp(name, "IFS", 3)) {
		v->state = VAL_SET;
		v->s = " \t\n";
		v->len = 3;
		return;
	}
	if (n == 3 && !memcmp(name, "PWD", 3) && !c->sh->remote) {
		unsigned u = 0;

		v->s = shx_cwd(c, &u);
		if (v->s) {
			v->state = VAL_SET;
			v->len = strlen(v->s);
			return;
		}
	}
	v->state = c->sh->unknown_default ? VAL_UNKNOWN : VAL_UNSET;
	if (v->state == VAL_UNKNOWN)
		v->unres = c->sh->remote ? SH_U_VAR | SH_U_REMOTE : SH_U_VAR;
}

/* The binding to change for name: in place when it was made above the current
 * region's floor (so popping or marking regions still sees the change), else a
 * new one that keeps the old one's export flag. */
static struct shx_bind *writable(struct shx_ctx *c, const char *name, size_t n, uint8_t kind)
{
	struct shx *x = c->x;
	struct shx_bind *old = shx_lookup(c, name, n, kind), *b;
	bool exported = old && old->exported, local = false;

	if (old && (size_t)(old - x->binds) >= x->mark_floor && kind_match(old->kind, kind)) {
		old->kind = kind;
		return old;
	}
	if (old && old->local && c->in_func && (size_t)(old - x->binds) >= c->func_mark)
		local = true;
	b = push(x);
	b->name = name;
	b->nlen = (uint32_t)n;
	b->kind = kind;
	b->exported = exported;
	b->local = local;
	return b;
}

struct shx_bind *shx_set(struct shx_ctx *c, const char *name, size_t n, const char *val,
			 size_t vlen, uint8_t state, unsigned unres)
{
	struct shx_bind *b = writable(c, name, n, BIND_VAR);

	if (state == VAL_SET && vlen > SH_MAX_VALUE) {
		state = VAL_UNKNOWN;
		unres |= SH_U_LIMIT;
		val = NULL;
		vlen = 0;
	}
	b->kind = BIND_VAR;
	b->state = state;
	b->value = val;
	b->vlen = (uint32_t)vlen;
	b->unres = unres;
	b->decoded = false;
	b->elems = NULL;
	b->nelems = 0;
	return b;
}

void shx_set_array(struct shx_ctx *c, const char *name, size_t n, const char **elems,
		   uint32_t nelems, bool append, unsigned unres)
{
	struct shx_bind *old = shx_lookup(c, name, n, BIND_VAR);
	const char **all = elems;
	uint32_t total = nelems;
	struct shx_bind *b;

	if (append && old && old->state == VAL_SET) {
		uint32_t had = old->kind == BIND_ARRAY ? old->nelems : 1;

		total = had + nelems;
		all = shx_alloc(c->x, (total ? total : 1) * sizeof(*all));
		for (uint32_t i = 0; i < had; i++)
			all[i] = old->kind == BIND_ARRAY ? old->elems[i] : old->value;
		for (uint32_t i = 0; i < nelems; i++)
			all[had + i] = elems[i];
	} else {
		if (append && old)
			unres |= old->unres ? old->unres : SH_U_VAR;
		/* the caller's array may be on its stack */
		all = shx_alloc(c->x, (nelems ? nelems : 1) * sizeof(*all));
		if (nelems)
			memcpy(all, elems, nelems * sizeof(*all));
	}
	b = writable(c, name, n, BIND_ARRAY);
	b->kind = BIND_ARRAY;
	b->state = unres & (SH_U_VAR | SH_U_CMDSUB | SH_U_STDIN) ? VAL_UNKNOWN : VAL_SET;
	b->elems = all;
	b->nelems = total;
	b->unres = unres;
	b->value = NULL;
}

void shx_export(struct shx_ctx *c, const char *name, size_t n)
{
	struct shx_bind *old = shx_lookup(c, name, n, BIND_VAR), *b;

	if (old && old->exported)
		return;
	b = writable(c, name, n, BIND_VAR);
	if (!old) {
		b->state = c->sh->unknown_default ? VAL_UNKNOWN : VAL_UNSET;
		b->unres = b->state == VAL_UNKNOWN ? SH_U_VAR : 0;
	} else if (b != old) {
		b->kind = old->kind;
		b->state = old->state;
		b->value = old->value;
		b->vlen = old->vlen;
		b->elems = old->elems;
		b->nelems = old->nelems;
		b->unres = old->unres;
		b->decoded = old->decoded;
	}
	b->exported = 1;
}

void shx_set_func(struct shx_ctx *c, const char *name, size_t n, struct shx_node *body)
{
	struct shx_bind *b = writable(c, name, n, BIND_FUNC);

	b->kind = BIND_FUNC;
	b->state = VAL_SET;
	b->body = body;
}

void shx_push_temp(struct shx_ctx *c, const char *name, size_t n, const struct sh_word *v)
{
	struct shx_bind *b = push(c->x);

	b->name = name;
	b->nlen = (uint32_t)n;
	b->kind = BIND_VAR;
	b->exported = 1;
	b->state = v->unres ? VAL_UNKNOWN : VAL_SET;
	b->unres = v->unres;
	b->value = v->s;
	b->vlen = (uint32_t)v->len;
	b->decoded = (v->flags & SH_W_DECODED) != 0;
}

const char *shx_cwd(struct shx_ctx *c, unsigned *unres)
{
	struct shx_bind *b = shx_lookup(c, CWD_NAME, sizeof(CWD_NAME) - 1, BIND_CWD);

	if (!b)
		return NULL;
	*unres |= b->unres;
	return b->unres & (SH_U_COND | SH_U_LOOP) ? NULL : b->value;
}

void shx_set_cwd(struct shx_ctx *c, const char *dir, unsigned unres)
{
	struct shx_bind *b = writable(c, CWD_NAME, sizeof(CWD_NAME) - 1, BIND_CWD);

	b->value = dir;
	b->vlen = dir ? (uint32_t)strlen(dir) : 0;
	b->unres = dir ? 0 : (unres ? unres : SH_U_CWD);
	b->state = dir ? VAL_SET : VAL_UNKNOWN;
	b->exported = 1; /* a child process starts in it */
}

void shx_uncertain_since(struct shx_ctx *c, size_t mark, unsigned reason)
{
	struct shx *x = c->x;

	for (size_t i = mark; i < x->nbinds; i++) {
		struct shx_bind *b = &x->binds[i], *prev = NULL;

		if (b->dead || b->kind == BIND_FUNC)
			continue;
		for (size_t j = mark; j > c->sh->base; j--) {
			struct shx_bind *o = &x->binds[j - 1];

			if (!o->dead && kind_match(o->kind, b->kind) &&
			    name_eq(o, b->name, b->nlen)) {
				prev = o;
				break;
			}
		}
		if (prev && prev->kind == b->kind && prev->state == b->state &&
		    prev->vlen == b->vlen && prev->nelems == b->nelems &&
		    (prev->value == b->value ||
		     (prev->value && b->value && !memcmp(prev->value, b->value, b->vlen))))
			continue;
		b->unres |= reason;
		if (b->kind == BIND_CWD)
			b->unres |= SH_U_CWD;
	}
}

void shx_shell_start(struct shx_ctx *c, struct shx_shell *sh, bool clear_env)
{
	struct shx *x = c->x;
	size_t from = c->sh->base, to = x->nbinds, n = 0;
	size_t *keep;

	sh->base = to;
	sh->id = ++x->next_shell;
	if (to == from)
		return;
	keep = shx_alloc(x, (to - from) * sizeof(*keep));
	for (size_t i = to; i > from; i--) {
		struct shx_bind *b = &x->binds[i - 1];
		bool seen = false;

		if (b->dead || b->kind == BIND_FUNC || b->local)
			continue;
		for (size_t k = 0; k < n && !seen; k++) {
			struct shx_bind *o = &x->binds[keep[k]];

			seen = kind_match(o->kind, b->kind) && name_eq(o, b->name, b->nlen);
		}
		if (seen)
			continue;
		keep[n++] = i - 1;
	}
	for (size_t k = n; k > 0; k--) {
		struct shx_bind *b = &x->binds[keep[k - 1]], *nb;

		if (!b->exported || (clear_env && b->kind != BIND_CWD))
			continue;
		nb = push(x);
		b = &x->binds[keep[k - 1]]; /* push may have moved the stack */
		*nb = *b;
		nb->local = 0;
		if (nb->kind ==
		    BIND_ARRAY) { /* arrays are not exported: only their first element */
			nb->kind = BIND_VAR;
			nb->value = b->nelems ? b->elems[0] : "";
			nb->vlen = (uint32_t)strlen(nb->value);
		}
	}
}

char *shx_path_join(struct shx *x, const char *dir, const char *path, size_t plen)
{
	size_t dlen = 0, n = 0;
	char *out;
	size_t *starts;
	size_t nparts = 0, i;
	const char *src;
	size_t slen;
	char stack[512];
	struct shx_buf b;

	if (plen && path[0] == '/')
		dir = NULL;
	else if (!dir)
		return NULL;
	shx_buf_init(&b, stack, sizeof(stack));
	if (dir) {
		dlen = strlen(dir);
		shx_buf_add(x, &b, dir, dlen);
		shx_buf_addc(x, &b, '/');
	}
	shx_buf_add(x, &b, path, plen);
	src = b.p;
	slen = b.len;
	out = shx_alloc(x, slen + 2);
	starts = shx_alloc(x, (slen / 2 + 2) * sizeof(*starts));
	/* Logical normalization, as cd does without -P: "." goes, ".." removes the
	 * component before it, never above the root. */
	for (i = 0; i < slen;) {
		size_t e = i;

		while (e < slen && src[e] != '/')
			e++;
		if (e == i || (e - i == 1 && src[i] == '.')) {
			/* nothing */
		} else if (e - i == 2 && src[i] == '.' && src[i + 1] == '.') {
			if (nparts)
				n = starts[--nparts];
		} else {
			starts[nparts++] = n;
			out[n++] = '/';
			memcpy(out + n, src + i, e - i);
			n += e - i;
		}
		i = e + 1;
	}
	if (n == 0)
		out[n++] = '/';
	out[n] = '\0';
	return out;
}

const char *shx_home(struct shx_ctx *c, unsigned *unres)
{
	struct shx_val v;

	shx_get(c, "HOME", 4, &v);
	if (v.state == VAL_SET) {
		*unres |= v.unres;
		return shx_strndup(c->x, v.s, v.len);
	}
	if (v.state == VAL_UNSET && !c->sh->remote) {
		/* bash falls back to the user's entry in the password database. */
		const char *h = c->user ? shx_home_of(c, c->user, strlen(c->user)) : c->x->o->home;

		if (h)
			return h;
	}
	*unres |= v.unres ? v.unres : SH_U_VAR;
	return NULL;
}

const char *shx_home_of(struct shx_ctx *c, const char *user, size_t n)
{
	const struct sh_opts *o = c->x->o;
	char name[256], out[4096];

	if (c->sh->remote)
		return NULL;
	if (o->user && strlen(o->user) == n && !memcmp(o->user, user, n))
		return o->home;
	if (!o->home_of || n == 0 || n >= sizeof(name))
		return NULL;
	memcpy(name, user, n);
	name[n] = '\0';
	out[0] = '\0';
	if (o->home_of(o->home_arg, name, out, sizeof(out)) < 0 || out[0] != '/' ||
	    !memchr(out, '\0', sizeof(out)))
		return NULL;
	return shx_strndup(c->x, out, strlen(out));
}
