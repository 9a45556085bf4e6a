/*
 * fsutil.c - state directory resolution and small, careful file helpers.
 */
#include "common.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

int vg_path(char *out, size_t cap, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(out, cap, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= cap)
		return -ENAMETOOLONG;
	return 0;
}

int vg_read_file(const char *path, size_t max, char **out, size_t *len)
{
	int fd, rc = 0;
	struct vbuf b;
	char chunk[65536];

	vbuf_init(&b, max);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));

		if (r < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			goto out;
		}
		if (r == 0)
			break;
		rc = vbuf_append(&b, chunk, (size_t)r);
		if (rc < 0) {
			rc = rc == -E2BIG ? -EFBIG : rc;
			goto out;
		}
	}
	if (!b.data && (rc = vbuf_reserve(&b, 0)) < 0)
		goto out;
	b.data[b.len] = 0;
	*out = (char *)b.data;
	*len = b.len;
	b.data = NULL;
out:
	vg_wipe(chunk, sizeof(chunk));
	vbuf_release(&b);
	close(fd);
	return rc;
}

int vg_write_file_atomic(const char *path, const void *data, size_t len, mode_t mode)
{
	char tmp[4096], dir[4096];
	const uint8_t *p = data;
	int fd, rc;

	rc = vg_path(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
	if (rc < 0)
		return rc;
	rc = vg_path(dir, sizeof(dir), "%s", path);
	if (rc < 0)
		return rc;
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0)
		return -errno;
	/* The mode given to open() is masked by the umask; be explicit. */
	if (fchmod(fd, mode) < 0)
		goto fail;
	while (len) {
		ssize_t w = write(fd, p, len);

		if (w < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += w;
		len -= (size_t)w;
	}
	if (fsync(fd) < 0)
		goto fail;
	if (close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) < 0)
		goto fail;
	return base_fsync_dir(dirname(dir));
fail:
	rc = -errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}
