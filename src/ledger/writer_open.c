/*
 * writer_open.c - the writer's start-up: what ledger_open (writer.c) reads
 * and repairs before it appends anything.  In order: the directory and its
 * lock, the keys, the head file, the tail of the chain, the comparison with
 * the head file, and the MAC key brought to the ledger's epoch.
 *
 * Recovery.  Only the last segment is written to, so only its end can be
 * torn by a crash: the bytes after its last valid frame are cut when nothing
 * valid follows them (what a crash leaves), and the writer refuses to start
 * when valid records follow (damage in the middle, which is verify's to
 * report, not the writer's to cut).  Earlier segments are only read, newest
 * first, until the last seal or key rotation says which epoch the MAC key
 * must have reached.
 *
 * Nothing here appends: the records start-up owes (what was cut, what the
 * head file says, the seal of an unsealed tail) are appended by writer.c
 * once all of this has succeeded.
 */
#include "recover.h"
#include "writer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <sys/file.h>
#include <unistd.h>

/* ---- the directory and the keys ------------------------------------------------- */

static int take_lock(struct ledger *l, char *err, size_t errcap)
{
	char path[4200], info[512];
	int fd, n;

	if (vg_path(path, sizeof(path), "%s/" LEDGER_LOCK_FILE, l->dir) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0) {
		int rc = -errno;

		snprintf(err, errcap, "cannot open lock '%s': %s", path, strerror(errno));
		return rc;
	}
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
		ssize_t r = pread(fd, info, sizeof(info) - 1, 0);

		while (r > 0 && (info[r - 1] == '\n' || info[r - 1] == ' '))
			r--;
		info[r > 0 ? r : 0] = 0;
		for (char *p = info; *p; p++)
			if (*p == '\n')
				*p = ' ';
		snprintf(err, errcap, "ledger '%s' is in use by another writer (%s)", l->dir,
			 r > 0 ? info : "holder unknown");
		close(fd);
		return rc;
	}
	{
		char when[40];

		vg_format_time(vg_now_ns(), when, sizeof(when));
		n = snprintf(info, sizeof(info), "pid %ld, %s, since %s\n", (long)getpid(),
			     program_invocation_short_name, when);
		if (ftruncate(fd, 0) == 0 && n > 0 && pwrite(fd, info, (size_t)n, 0) < 0)
			vg_debug("cannot record the lock holder: %s", strerror(errno));
	}
	l->lock_fd = fd;
	return 0;
}

/* The ledger directory, created when missing, and its lock: from here on this
 * process is the only writer. */
static int open_dir(struct ledger *l, const char *dir, char *err, size_t errcap)
{
	int rc;

	if ((rc = vg_path(l->dir, sizeof(l->dir), "%s", dir)) < 0) {
		snprintf(err, errcap, "ledger path too long");
		return rc;
	}
	if ((rc = base_mkdir_p(l->dir, 0700, NULL)) < 0) {
		snprintf(err, errcap, "cannot create ledger directory '%s': %s", l->dir,
			 strerror(-rc));
		return rc;
	}
	return take_lock(l, err, errcap);
}

static bool spec_is_file(const char *spec, const char **path)
{
	if (!strncmp(spec, "env:", 4) || !strncmp(spec, "cmd:", 4))
		return false;
	*path = !strncmp(spec, "file:", 5) ? spec + 5 : spec;
	return true;
}

/* The signing key and the MAC key; the key file is remembered when the key
 * came from one, to be rewritten as the key evolves (else mac_path is ""). */
static int load_keys(struct ledger *l, const struct ledger_options *opts, char *err, size_t errcap)
{
	const char *mac_file;
	int rc;

	if ((rc = ledger_signer_load(opts->signing_key, &l->signer, err, errcap)) < 0)
		return rc;
	if ((rc = ledger_mackey_load(opts->mac_key, &l->mac, err, errcap)) < 0)
		return rc;
	if (spec_is_file(opts->mac_key, &mac_file) &&
	    vg_path(l->mac_path, sizeof(l->mac_path), "%s", mac_file) < 0)
		l->mac_path[0] = 0;
	return 0;
}

/* ---- the tail of the chain ---------------------------------------------------- */

/* An empty directory: a new ledger, with a random log id and its first segment. */
static int create_first_segment(struct ledger *l, struct ledger_open_info *info, char *err,
				size_t errcap)
{
	struct seg_header h = { .version = SEG_VERSION, .segno = 1, .first_seq = 1 };
	int rc;

	if ((rc = vg_random(l->log_id, LEDGER_LOG_ID_LEN)) < 0)
		return rc;
	memcpy(h.log_id, l->log_id, LEDGER_LOG_ID_LEN);
	rc = create_segment(l, &h);
	if (rc < 0) {
		snprintf(err, errcap, "cannot create the first segment in '%s': %s", l->dir,
			 strerror(-rc));
		return rc;
	}
	info->created = true;
	l->seg_no = 1;
	l->seg_bytes = SEG_HEADER_LEN;
	l->next_seq = 1;
	return 0;
}

/* Reads segment `segno` (its file name goes to path) into sb and scans it
 * into s; a segment whose header is damaged is refused (-EUCLEAN). */
static int scan_segment(struct ledger *l, uint64_t segno, struct seg_buf *sb, char *path,
			size_t pathcap, struct seg_scan *s, char *err, size_t errcap)
{
	char why[160];
	size_t len;
	int rc;

	if ((rc = seg_path(path, pathcap, l->dir, segno)) < 0)
		return rc;
	rc = seg_read(path, sb, &len, NULL, NULL);
	if (rc < 0) {
		snprintf(err, errcap, "cannot read '%s': %s", path, strerror(-rc));
		return rc;
	}
	if (seg_scan(&l->hs, sb->p, len, s, why, sizeof(why)) < 0) {
		snprintf(err, errcap,
			 "segment %" PRIu64 " has a damaged header (%s); refusing to write. "
			 "Run 'vigil verify' and move the ledger aside to start a new one",
			 segno, why);
		return -EUCLEAN;
	}
	return 0;
}

/* Cuts the torn tail of the last segment back to its last valid frame,
 * durably, and says what was dropped in info. */
static int cut_torn_tail(struct ledger *l, const char *path, uint64_t segno,
			 const struct seg_scan *s, struct ledger_open_info *info, char *err,
			 size_t errcap)
{
	int rc = l->io->open(path, O_WRONLY, 0600);

	if (rc >= 0) {
		int fd = rc;

		rc = l->io->ftruncate(fd, s->valid_end);
		if (rc == 0)
			rc = l->io->fdatasync(fd);
		l->io->close(fd);
	}
	if (rc < 0) {
		snprintf(err, errcap, "cannot cut the torn tail of '%s': %s", path, strerror(-rc));
		return rc;
	}
	info->recovered = true;
	info->recovered_segment = segno;
	info->recovered_offset = s->valid_end;
	info->dropped_bytes = s->torn_bytes;
	info->first_dropped_seq = s->torn_seq;
	info->dropped_frames = s->torn_frames;
	return 0;
}

/*
 * Takes the chain state from the last segment (s, its scan): the log id, the
 * head of the chain, the next seq, the unsealed tail.  Refuses a file that
 * holds another segment than its name says, and damage that valid records
 * follow; cuts a torn tail; opens the segment for appending at its end.
 */
static int adopt_last_segment(struct ledger *l, const char *path, uint64_t segno,
			      const struct seg_scan *s, struct ledger_open_info *info,
			      uint64_t *first_unsealed_time, char *err, size_t errcap)
{
	int rc;

	if (s->hdr.segno != segno) {
		snprintf(err, errcap,
			 "segment file %" PRIu64 " says it is segment %" PRIu64
			 "; refusing to write. Run 'vigil verify'",
			 segno, s->hdr.segno);
		return -EUCLEAN;
	}
	memcpy(l->log_id, s->hdr.log_id, LEDGER_LOG_ID_LEN);
	l->seg_no = segno;
	l->seg_records = s->records;
	l->next_seq = s->records ? s->last_seq + 1 : s->hdr.first_seq;
	memcpy(l->head, s->records ? s->last_hash : s->hdr.prev_hash, LEDGER_HASH_LEN);
	l->last_time = s->last_time;
	l->unsealed = s->unsealed;
	*first_unsealed_time = s->first_unsealed_time;
	if (s->torn && s->valid_after) {
		snprintf(err, errcap,
			 "segment %" PRIu64 " is damaged at offset %zu but valid "
			 "records follow: this is not a torn write, and the writer "
			 "will not cut it. Run 'vigil verify'; move the ledger aside "
			 "to start a new one",
			 segno, s->valid_end);
		return -EUCLEAN;
	}
	if (s->torn && (rc = cut_torn_tail(l, path, segno, s, info, err, errcap)) < 0)
		return rc;
	l->seg_bytes = s->valid_end;
	rc = l->io->open(path, O_WRONLY | O_APPEND, 0600);
	if (rc < 0) {
		snprintf(err, errcap, "cannot open '%s': %s", path, strerror(-rc));
		return rc;
	}
	l->fd = rc;
	l->file_seg = segno;
	l->file_good = s->valid_end;
	return 0;
}

/*
 * Reads the newest state of the chain from the last segment(s) and repairs a
 * torn tail.  Fills the chain state of l and info; *seal_epoch gets the epoch
 * of the newest seal or key rotation (0 when there is none), and
 * *first_unsealed_time the time of the first record after the last seal.
 */
static int load_tail(struct ledger *l, struct ledger_open_info *info, uint64_t *seal_epoch,
		     uint64_t *first_unsealed_time, char *err, size_t errcap)
{
	uint64_t *segs = NULL;
	size_t nsegs = 0;
	struct seg_buf sb = { 0 };
	char path[4200];
	struct seg_scan s;
	int rc;

	*seal_epoch = 0;
	*first_unsealed_time = 0;
	rc = seg_list(l->dir, &segs, &nsegs);
	if (rc < 0) {
		snprintf(err, errcap, "cannot list ledger '%s': %s", l->dir, strerror(-rc));
		goto out;
	}
	if (nsegs == 0) {
		rc = create_first_segment(l, info, err, errcap);
		goto out;
	}
	/* Scan backwards until the chain head and the last seal are known. */
	for (size_t i = nsegs; i-- > 0;) {
		rc = scan_segment(l, segs[i], &sb, path, sizeof(path), &s, err, errcap);
		if (rc == 0 && i == nsegs - 1)
			rc = adopt_last_segment(l, path, segs[i], &s, info, first_unsealed_time,
						err, errcap);
		else if (rc == 0 && !l->last_time)
			l->last_time = s.last_time;
		if (rc < 0)
			goto out;
		if (s.have_seal || s.have_rot) {
			/* Fields of what was not seen are 0, so the larger one is it. */
			*seal_epoch = s.seal_epoch > s.rot_epoch ? s.seal_epoch : s.rot_epoch;
			break;
		}
	}
out:
	seg_buf_release(&sb);
	vg_free(segs);
	return rc;
}

/* ---- the head file and the key's epoch ------------------------------------------ */

/* Opens (creating) the head file; the directory lock is held. */
static int open_head(struct ledger *l, const char *given, char *err, size_t errcap)
{
	int rc = given ? vg_path(l->head_path, sizeof(l->head_path), "%s", given)
		       : ledger_head_path(l->dir, l->head_path, sizeof(l->head_path));

	if (rc < 0) {
		snprintf(err, errcap, "no head file path for ledger '%s'", l->dir);
		return rc;
	}
	l->head_fd = open(l->head_path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (l->head_fd < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot open the ledger head file '%s': %s", l->head_path,
			 strerror(errno));
		return rc;
	}
	return 0;
}

/*
 * Start-up: compares the chain with the head file and the seals (see
 * trust_assess), before anything is appended.  The head file's epoch may be
 * ahead of the key file's (the key is rewritten after the records that
 * moved it are durable), but not ahead of the clock: epochs are hashed one
 * by one.
 */
static int check_head(struct ledger *l, struct ledger_open_info *info)
{
	struct ledger_head h;
	struct trust_in in = { .dir = l->dir, .pub = &l->signer.pub, .head = &h };
	uint64_t clock_epoch = ledger_mackey_epoch_of(&l->mac, wall_now(l));

	memcpy(in.log_id, l->log_id, LEDGER_LOG_ID_LEN);
	in.last_seq = l->next_seq - 1;
	memcpy(in.last_hash, l->head, LEDGER_HASH_LEN);
	in.created = info->created;
	in.head_rc = head_read_fd(l->head_fd, &h);
	if (in.head_rc == 0)
		in.head_mac_ok = h.epoch <= clock_epoch + 1 && head_check_mac(&h, &l->mac) == 0;
	memcpy(l->found_head_log, h.log_id, LEDGER_LOG_ID_LEN);
	return trust_assess(&in, info);
}

/*
 * Brings the MAC key to the epoch the ledger has reached, seal_epoch (a
 * crash may have come between a durable rotation and the key file being
 * rewritten); the key file is rewritten once start-up's records are
 * durable (mac_persist_after).
 */
static int catch_up_key(struct ledger *l, uint64_t seal_epoch, uint64_t first_unsealed_time,
			char *err, size_t errcap)
{
	uint64_t target = l->mac.epoch > seal_epoch ? l->mac.epoch : seal_epoch;

	/* That epoch is read from records nobody signed (a rotation record, or a
	 * checkpoint not checked here): one hash per epoch toward a forged 2^62
	 * would never end.  The writer only ever rotates to the epoch of the
	 * clock, so a ledger ahead of the clock by more than an epoch is not ours
	 * to continue. */
	if (target > l->mac.epoch && target > ledger_mackey_epoch_of(&l->mac, wall_now(l)) + 1) {
		snprintf(err, errcap,
			 "ledger '%s' claims MAC key epoch %" PRIu64 " but the clock is in epoch "
			 "%" PRIu64 "; refusing to evolve the key that far (a wrong clock, or a "
			 "damaged ledger: run 'vigil verify')",
			 l->dir, target, ledger_mackey_epoch_of(&l->mac, wall_now(l)));
		return -EUCLEAN;
	}
	if (l->unsealed && ledger_mackey_epoch_of(&l->mac, first_unsealed_time) < target)
		vg_warn("ledger: the MAC key is newer than the unsealed records; verify will "
			"report them as sealed outside their epoch");
	if (target > l->mac.epoch) {
		ledger_mackey_evolve(&l->mac, target);
		l->mac_persist_after = l->next_seq ? l->next_seq - 1 : 0;
	}
	return 0;
}

int writer_load(struct ledger *l, const struct ledger_options *opts, struct ledger_open_info *info,
		char *err, size_t errcap)
{
	uint64_t seal_epoch, first_unsealed_time;
	int rc;

	if ((rc = open_dir(l, opts->dir, err, errcap)) < 0 ||
	    (rc = load_keys(l, opts, err, errcap)) < 0 ||
	    (rc = open_head(l, opts->head_file, err, errcap)) < 0 ||
	    (rc = load_tail(l, info, &seal_epoch, &first_unsealed_time, err, errcap)) < 0)
		return rc;
	if ((rc = check_head(l, info)) < 0) {
		snprintf(err, errcap, "cannot check ledger '%s' against its head file: %s", l->dir,
			 strerror(-rc));
		return rc;
	}
	return catch_up_key(l, seal_epoch, first_unsealed_time, err, errcap);
}
