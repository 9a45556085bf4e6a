/*
 * hook_bench_fsync.c - a reference row of bench/hook_bench: the cheapest
 * durable hook there can be.  It appends 512 bytes to HOOK_BENCH_FSYNC_FILE
 * and fdatasync()s it, nothing else, linked statically like vigil-hook.  Any
 * hook that acknowledges only durable events pays at least this; the gap
 * between this row and the no-op is the disk's flush latency.
 */
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int main(void)
{
	const char *path = getenv("HOOK_BENCH_FSYNC_FILE");
	char rec[512];
	int fd;

	if (!path)
		return 2;
	fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return 1;
	memset(rec, 'x', sizeof(rec));
	if (write(fd, rec, sizeof(rec)) != (ssize_t)sizeof(rec) || fdatasync(fd) != 0)
		return 1;
	close(fd);
	return 0;
}
