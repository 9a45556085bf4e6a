/*
 * segment.c - naming, listing and loading segment files.
 */
#include "ledger_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

int seg_path(char *out, size_t cap, const char *dir, uint64_t segno)
{
	return vg_path(out, cap, "%s/%010" PRIu64 ".seg", dir, segno);
}

/* Parses "<digits>.seg"; 0 for anything else. */
static uint64_t seg_name_number(const char *name)
{
	uint64_t v = 0;
	const char *p = name;

	if (*p < '0' || *p > '9')
		return 0;
	while (*p >= '0' && *p <= '9') {
		if (v > (UINT64_MAX - 9) / 10)
			return 0;
		v = v * 10 + (uint64_t)(*p++ - '0');
	}
	return strcmp(p, ".seg") == 0 ? v : 0;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

int seg_list(const char *dir, uint64_t **nums, size_t *n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint64_t *v = NULL;
	size_t len = 0, cap = 0;
	int rc = 0;

	*nums = NULL;
	*n = 0;
	if (!d)
		return -errno;
	while ((de = readdir(d))) {
		uint64_t no = seg_name_number(de->d_name);

		if (!no)
			continue;
		if (len == cap) {
			size_t ncap = cap ? cap * 2 : 16;
			uint64_t *nv;

			if (ncap > 100000000) {
				rc = -E2BIG;
				goto out;
			}
			nv = vg_realloc(v, ncap * sizeof(*v));
			if (!nv) {
				rc = -ENOMEM;
				goto out;
			}
			v = nv;
			cap = ncap;
		}
		v[len++] = no;
	}
	if (len)
		qsort(v, len, sizeof(*v), cmp_u64);
	*nums = v;
	*n = len;
	v = NULL;
out:
	vg_free(v);
	closedir(d);
	return rc;
}

void seg_buf_release(struct seg_buf *b)
{
	if (b->p)
		munmap(b->p, b->cap);
	b->p = NULL;
	b->cap = 0;
}

static int seg_buf_grow(struct seg_buf *b, size_t need)
{
	size_t cap = (need + (1u << 20)) & ~(size_t)((1u << 20) - 1); /* whole MiB */
	void *p;

	if (need <= b->cap)
		return 0;
	seg_buf_release(b);
	/* mmap, not vg_malloc: MAP_POPULATE faults the pages in with one call. */
	p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE,
		 -1, 0);
	if (p == MAP_FAILED)
		return -ENOMEM;
	b->p = p;
	b->cap = cap;
	return 0;
}

#define SEG_READ_CHUNK (1u << 20)

int seg_read(const char *path, struct seg_buf *b, size_t *len,
	     void (*on_chunk)(void *arg, const uint8_t *buf, size_t avail), void *arg)
{
	struct stat st;
	size_t got = 0, size;
	int fd, rc = 0;

	*len = 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		rc = -EINVAL;
		goto out;
	}
	if ((uint64_t)st.st_size > SEG_READ_MAX) {
		rc = -EFBIG;
		goto out;
	}
	size = (size_t)st.st_size;
	if ((rc = seg_buf_grow(b, size + 1)) < 0)
		goto out;
	while (got < size) {
		size_t want = size - got;
		ssize_t r;

		if (on_chunk && want > SEG_READ_CHUNK)
			want = SEG_READ_CHUNK;
		r = read(fd, b->p + got, want);

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break; /* the file shrank under us: use what is there */
		got += (size_t)r;
		if (on_chunk)
			on_chunk(arg, b->p, got);
	}
	*len = got;
out:
	close(fd);
	return rc;
}
