/*
 * arena.c - the one allocator of a sh_parse call: bump allocation from
 * chunks freed together, bounded by SH_MAX_MEMORY.  Reaching the bound
 * longjmps back to sh_parse (shx_limit), so callers never see NULL and the
 * parser needs no cleanup paths: the arena owns everything.
 */
#include "shell_int.h"

#include <stdlib.h>

#define CHUNK_MIN (16u * 1024u)

void shx_limit(struct shx *x)
{
	x->unres |= SH_U_LIMIT;
	longjmp(x->fail, 1);
}

void *shx_alloc(struct shx *x, size_t n)
{
	struct shx_arena *a = &x->arena;
	struct shx_chunk *c = a->head;
	size_t need = (n + sizeof(max_align_t) - 1) / sizeof(max_align_t) * sizeof(max_align_t);
	void *p;

	if (need == 0)
		need = sizeof(max_align_t);
	if (need > SH_MAX_MEMORY)
		shx_limit(x);
	if (!c || c->cap - c->used < need) {
		size_t cap = need > CHUNK_MIN ? need : CHUNK_MIN;

		/* Chunks grow with the total so that a large input needs few of them. */
		if (a->total / 4 > cap)
			cap = a->total / 4;
		if (a->total + cap > SH_MAX_MEMORY) {
			cap = need;
			if (a->total + cap > SH_MAX_MEMORY)
				shx_limit(x);
		}
		c = malloc(sizeof(*c) + cap);
		if (!c)
			shx_limit(x);
		c->cap = cap;
		c->used = 0;
		c->next = a->head;
		a->head = c;
		a->total += cap;
	}
	p = (char *)c->data + c->used;
	c->used += need;
	memset(p, 0, n);
	return p;
}

char *shx_strndup(struct shx *x, const char *s, size_t n)
{
	char *p = shx_alloc(x, n + 1);

	if (n)
		memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

void shx_arena_free(struct shx_arena *a)
{
	struct shx_chunk *c = a->head;

	while (c) {
		struct shx_chunk *next = c->next;

		free(c);
		c = next;
	}
	a->head = NULL;
	a->total = 0;
}

void shx_buf_init(struct shx_buf *b, char *stack, size_t cap)
{
	b->p = stack;
	b->len = 0;
	b->cap = cap;
	if (cap)
		b->p[0] = '\0';
}

/* Grows into the arena by doubling: the old copy stays there, which at most
 * doubles what the buffer costs, and needs no free. */
static void grow(struct shx *x, struct shx_buf *b, size_t need)
{
	size_t cap = b->cap ? b->cap : 64;
	char *p;

	/* The longest buffer is a script or here-document of the input's size. */
	if (need > 2u * SH_MAX_INPUT)
		shx_limit(x);
	while (cap < need)
		cap *= 2;
	p = shx_alloc(x, cap);
	if (b->len)
		memcpy(p, b->p, b->len);
	b->p = p;
	b->cap = cap;
}

void shx_buf_add(struct shx *x, struct shx_buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap)
		grow(x, b, b->len + n + 1);
	if (n)
		memcpy(b->p + b->len, s, n);
	b->len += n;
	b->p[b->len] = '\0';
}

void shx_buf_addc(struct shx *x, struct shx_buf *b, char c)
{
	shx_buf_add(x, b, &c, 1);
}

char *shx_buf_done(struct shx *x, struct shx_buf *b)
{
	return shx_strndup(x, b->len ? b->p : "", b->len);
}
