/*
 * spool.c - drains what hooks spooled while the daemon was down or slow.
 *
 * Hooks append whole frames to STATE/spool/spool.vgw (O_APPEND, one write,
 * fsync) under a shared flock.  To drain, the daemon renames the file aside
 * (hooks that start afterwards create a new one), takes the exclusive lock
 * on the renamed file (waiting for hooks that are mid-append), reads every
 * record, appends the ones not yet in the ledger, waits until they are
 * durable and only then unlinks the file.  A hook that opened the old file
 * but got its lock after the unlink sees st_nlink == 0 and reopens.  A crash
 * at any point leaves the renamed file, which the next drain reads again;
 * deduplication by event id makes that harmless.
 */
#include "daemon.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#define SPOOL_DRAIN_PREFIX "draining-"
#define SPOOL_MAX_FILES 256

static int name_cmp(const void *a, const void *b)
{
	return strcmp(a, b);
}

static int drain_file(struct vd *d, const char *path)
{
	struct wire_spool_reader *r = NULL;
	struct wire_spool_rec rec;
	uint64_t seq, last = 0, bad_bytes = 0, bad_runs = 0, n = 0;
	int fd, rc;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	/* Wait for hooks still appending to it (they hold LOCK_SH).  The lock
	 * is held until the file is unlinked: the reader owns fd from here and
	 * closes it last. */
	if (flock(fd, LOCK_EX) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = wire_spool_fdopen(fd, &r);
	if (rc < 0)
		return rc;
	while ((rc = wire_spool_next(r, &rec)) > 0) {
		if (rec.kind != WIRE_EVENT && rec.kind != WIRE_DECIDE)
			continue;
		VD_STAT_ADD(d, spool_records, 1);
		rc = vd_ingest(d, rec.kind, rec.flags, &rec.env, rec.payload, rec.payload_len, true,
			       NULL, &d->drain_rr, NULL, &seq, NULL);
		if (rc < 0) {
			vg_err("spool %s: cannot record the event at offset %llu: %s; the file "
			       "is kept for the next drain",
			       path, (unsigned long long)rec.offset, strerror(-rc));
			goto out;
		}
		if (seq)
			last = seq, n++;
	}
	if (rc < 0) {
		vg_err("spool %s: read error: %s; the file is kept", path, strerror(-rc));
		goto out;
	}
	wire_spool_damage(r, &bad_bytes, &bad_runs);
	if (bad_bytes) {
		VD_STAT_ADD(d, spool_damaged_bytes, bad_bytes);
		vg_warn("spool %s: skipped %llu damaged bytes in %llu places (torn or corrupt "
			"records)",
			path, (unsigned long long)bad_bytes, (unsigned long long)bad_runs);
	}
	/* Unlink only what the ledger holds durably. */
	if (last && (rc = ledger_wait_durable(d->l, last, 30000)) < 0) {
		vg_err("spool %s: events not durable yet (%s); the file is kept", path,
		       strerror(-rc));
		goto out;
	}
	if (unlink(path) < 0) {
		rc = -errno;
		vg_err("spool %s: cannot remove it after draining: %s", path, strerror(errno));
		goto out;
	}
	base_fsync_dir(d->spool_dir);
	if (n || bad_bytes)
		vg_info("drained %llu spooled events from %s", (unsigned long long)n, path);
	rc = 0;
out:
	wire_spool_close(r); /* closes fd, releasing the lock */
	return rc;
}

int vd_drain_spool(struct vd *d)
{
	char live[4300], aside[4400], names[SPOOL_MAX_FILES][256];
	size_t nnames = 0;
	struct stat st;
	DIR *dir;
	struct dirent *de;
	int rc = 0;

	d->last_drain_ns = vg_mono_ns();
	if (vg_path(live, sizeof(live), "%s/%s", d->spool_dir, WIRE_SPOOL_FILE) < 0)
		return -ENAMETOOLONG;
	/* Move the live file aside, unless it is empty or absent. */
	if (stat(live, &st) == 0 && st.st_size > 0) {
		if (vg_path(aside, sizeof(aside), "%s/" SPOOL_DRAIN_PREFIX "%llu.vgw", d->spool_dir,
			    (unsigned long long)vg_now_ns()) < 0)
			return -ENAMETOOLONG;
		if (rename(live, aside) < 0) {
			vg_err("cannot move the spool file aside: %s", strerror(errno));
			return -errno;
		}
	}
	/* Every file moved aside, including ones a crash left behind, oldest
	 * first (the names carry the time). */
	dir = opendir(d->spool_dir);
	if (!dir)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(dir)) && nnames < SPOOL_MAX_FILES) {
		size_t len = strlen(de->d_name);

		if (strncmp(de->d_name, SPOOL_DRAIN_PREFIX, strlen(SPOOL_DRAIN_PREFIX)) ||
		    len >= sizeof(names[0]))
			continue;
		memcpy(names[nnames++], de->d_name, len + 1);
	}
	closedir(dir);
	qsort(names, nnames, sizeof(names[0]), name_cmp);
	for (size_t i = 0; i < nnames; i++) {
		if (vg_path(aside, sizeof(aside), "%s/%s", d->spool_dir, names[i]) < 0)
			continue;
		rc = drain_file(d, aside);
		if (rc < 0)
			break;
	}
	return rc;
}
