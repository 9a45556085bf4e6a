/*
 * mem.c - allocation wrappers (with failure injection for tests) and the
 * bounded growable buffer.
 */
#include "common.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>

/* Counts down to an injected failure; -1 means never fail. */
static atomic_long alloc_budget = -1;

void vg_alloc_fail_after(long n)
{
	atomic_store(&alloc_budget, n);
}

static int alloc_should_fail(void)
{
	long cur = atomic_load(&alloc_budget);

	while (cur >= 0) {
		if (atomic_compare_exchange_weak(&alloc_budget, &cur, cur - 1))
			return cur == 0;
	}
	return 0;
}

void *vg_malloc(size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return malloc(n ? n : 1);
}

void *vg_calloc(size_t count, size_t size)
{
	if (alloc_should_fail())
		return NULL;
	return calloc(count ? count : 1, size ? size : 1);
}

void *vg_realloc(void *p, size_t n)
{
	if (alloc_should_fail())
		return NULL;
	return realloc(p, n ? n : 1);
}

char *vg_strdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = vg_malloc(n);

	if (d)
		memcpy(d, s, n);
	return d;
}

void vg_free(void *p)
{
	free(p);
}

void vg_wipe(void *p, size_t n)
{
	/* explicit_bzero is not elided by the optimiser, unlike memset. */
	if (p && n)
		explicit_bzero(p, n);
}

void vbuf_init(struct vbuf *b, size_t limit)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->limit = limit;
}

int vbuf_reserve(struct vbuf *b, size_t extra)
{
	size_t need, ncap;
	uint8_t *nd;

	if (extra > b->limit || b->len > b->limit - extra)
		return -E2BIG;
	need = b->len + extra + 1; /* room for the terminating NUL */
	if (need <= b->cap)
		return 0;
	ncap = b->cap ? b->cap : 256;
	while (ncap < need)
		ncap = ncap > SIZE_MAX / 2 ? need : ncap * 2;
	if (ncap > b->limit + 1)
		ncap = b->limit + 1;
	nd = vg_realloc(b->data, ncap);
	if (!nd)
		return -ENOMEM;
	b->data = nd;
	b->cap = ncap;
	return 0;
}

int vbuf_append(struct vbuf *b, const void *p, size_t n)
{
	int rc = vbuf_reserve(b, n);

	if (rc < 0)
		return rc;
	if (n)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return 0;
}

int vbuf_appendf(struct vbuf *b, const char *fmt, ...)
{
	va_list ap;
	int n, rc;

	va_start(ap, fmt);
	n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return -EINVAL;
	rc = vbuf_reserve(b, (size_t)n);
	if (rc < 0)
		return rc;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return 0;
}

void vbuf_reset(struct vbuf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = 0;
}

void vbuf_release(struct vbuf *b)
{
	vg_free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
