/*
 * writer.c - the ledger writer: one per directory (flock on LOCK), appends
 * from any thread, group commit on a writer thread, seals, segment and key
 * rotation, and recovery on open.
 *
 * Concurrency: appenders encode frames under l->mu (the hash chain needs a
 * total order, and hashing a 256-byte frame takes well under a microsecond)
 * into l->pending.  The writer thread swaps the pending buffer out, writes
 * it with one write() per segment touched and one fdatasync() per batch,
 * then publishes durable_seq and wakes waiters.  While it syncs, appenders
 * fill the next batch: that is the group commit.
 *
 * Segment rotation is decided at append time, where the byte count is known
 * in order: the full segment gets a checkpoint as its last record, and a
 * "break" in the pending buffer tells the writer thread to create the next
 * segment (header written to a temporary file, fsynced, renamed) before it
 * writes the following bytes.
 *
 * Key evolution: when a record's time falls in a later MAC epoch, the
 * unsealed records are sealed with the old key, the key evolves (the old key
 * is wiped from memory at once), a key-rotation record is appended, and the
 * key file is rewritten only once that seal is durable, so a crash can never
 * leave records that no longer existing key could seal.
 */
#include "ledger_int.h"
#include "recover.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_RETRY_MIN_MS 50
#define FLUSH_RETRY_MAX_MS 5000
#define CLOSE_FLUSH_ATTEMPTS 5

/* A new segment starts at byte `off` of the pending buffer. */
struct seg_break {
	size_t off;
	uint64_t seq_before; /* last seq written to the previous segment */
	struct seg_header hdr;
};

struct ledger {
	struct ledger_options o;
	char dir[4096];
	char mac_path[4096]; /* the MAC key file to rewrite, or "" */
	const struct ledger_io *io;
	int lock_fd;

	pthread_mutex_t mu;
	pthread_cond_t cv_work; /* writer thread: work or stop */
	pthread_cond_t cv_done; /* waiters: durable progress, space, errors */
	pthread_t thread;
	bool thread_started, stop;

	struct hasher hs;
	struct ledger_signer signer;
	struct ledger_mackey mac;

	/* Chain state (under mu). */
	uint8_t log_id[LEDGER_LOG_ID_LEN];
	uint64_t next_seq, last_time;
	uint8_t head[LEDGER_HASH_LEN];
	uint64_t seg_no, seg_bytes, seg_records;
	uint64_t unsealed, sealed_seq, checkpoints;
	uint64_t first_unsealed_mono, last_append_mono;

	/* Pending batch (under mu). */
	struct vbuf pending;
	uint64_t pending_last_seq;
	struct seg_break *breaks;
	size_t nbreaks, capbreaks;
	uint64_t mac_persist_after; /* persist the key once this seq is durable */

	/* Output file (writer thread, or open/close/flush callers). */
	int fd;
	uint64_t file_seg;
	uint64_t file_good; /* bytes of it that hold only whole, synced frames */

	uint64_t durable_seq; /* under mu */
	uint8_t durable_hash[LEDGER_HASH_LEN]; /* under mu: the hash of durable_seq */
	int err;	      /* under mu: pending I/O error, 0 when healthy */

	/* The head file (head.c): rewritten before each batch by whoever flushes. */
	char head_path[4200];
	int head_fd;
	bool head_warned;	 /* a failed head write was reported */
	uint8_t found_head_log[LEDGER_LOG_ID_LEN]; /* open: the head file's log id */
	int fatal;	      /* under mu: a failed batch could not be kept (see flush) */
};

/* ---- default I/O ---------------------------------------------------------- */

static int posix_open(const char *path, int flags, unsigned mode)
{
	/* Never through a symlink someone planted in the ledger directory. */
	int fd = open(path, flags | O_NOFOLLOW | O_CLOEXEC, (mode_t)mode);

	return fd < 0 ? -errno : fd;
}

static long posix_write(int fd, const void *buf, size_t n)
{
	ssize_t w = write(fd, buf, n);

	return w < 0 ? -errno : (long)w;
}

static int posix_fdatasync(int fd)
{
	return fdatasync(fd) < 0 ? -errno : 0;
}

static int posix_ftruncate(int fd, uint64_t size)
{
	return ftruncate(fd, (off_t)size) < 0 ? -errno : 0;
}

static int posix_close(int fd)
{
	return close(fd) < 0 ? -errno : 0;
}

static const struct ledger_io posix_io = {
	.open = posix_open,
	.write = posix_write,
	.fdatasync = posix_fdatasync,
	.ftruncate = posix_ftruncate,
	.close = posix_close,
};

/* ---- helpers ---------------------------------------------------------------- */

/* The CLOCK_MONOTONIC time ms from now, for pthread_cond_timedwait (the
 * condition variables are created with that clock). */
static struct timespec deadline_after_ms(uint64_t ms)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)(ms / 1000);
	ts.tv_nsec += (long)(ms % 1000) * 1000000L;
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	return ts;
}

static uint64_t wall_now(struct ledger *l)
{
	return l->o.clock ? l->o.clock(l->o.clock_arg) : vg_now_ns();
}

/* The time for the next record: never before the previous one. */
static uint64_t next_time(struct ledger *l)
{
	uint64_t t = wall_now(l);

	return t < l->last_time ? l->last_time : t;
}

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

/* write(2) may write less than asked (a signal, a nearly full disk): loop. */
static int write_all(struct ledger *l, int fd, const uint8_t *p, size_t n)
{
	while (n) {
		long w = l->io->write(fd, p, n);

		if (w < 0) {
			if (w == -EINTR)
				continue;
			return (int)w;
		}
		if (w == 0)
			return -EIO;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Creates segment `h->segno` with its header, durably, and opens it. */
static int create_segment(struct ledger *l, const struct seg_header *h)
{
	char path[4200], tmp[4300];
	uint8_t hdr[SEG_HEADER_LEN];
	int fd, rc;

	if ((rc = seg_path(path, sizeof(path), l->dir, h->segno)) < 0 ||
	    (rc = vg_path(tmp, sizeof(tmp), "%s.tmp", path)) < 0)
		return rc;
	seg_header_encode(h, hdr);
	fd = l->io->open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd < 0)
		return fd;
	if ((rc = write_all(l, fd, hdr, sizeof(hdr))) < 0)
		goto fail;
	if ((rc = l->io->fdatasync(fd)) < 0)
		goto fail;
	l->io->close(fd);
	if (rename(tmp, path) < 0) {
		rc = -errno;
		unlink(tmp);
		return rc;
	}
	if ((rc = base_fsync_dir(l->dir)) < 0)
		return rc;
	fd = l->io->open(path, O_WRONLY | O_APPEND, 0600);
	if (fd < 0)
		return fd;
	if (l->fd >= 0)
		l->io->close(l->fd);
	l->fd = fd;
	l->file_seg = h->segno;
	l->file_good = SEG_HEADER_LEN;
	return 0;
fail:
	l->io->close(fd);
	unlink(tmp);
	return rc;
}

/* ---- appending (under mu) -------------------------------------------------- */

static int seal_locked(struct ledger *l, unsigned type);

static int add_break(struct ledger *l)
{
	struct seg_break *b;

	if (l->nbreaks == l->capbreaks) {
		size_t ncap = l->capbreaks ? l->capbreaks * 2 : 4;
		struct seg_break *nb = vg_realloc(l->breaks, ncap * sizeof(*nb));

		if (!nb)
			return -ENOMEM;
		l->breaks = nb;
		l->capbreaks = ncap;
	}
	b = &l->breaks[l->nbreaks++];
	b->off = l->pending.len;
	b->seq_before = l->next_seq - 1;
	memset(&b->hdr, 0, sizeof(b->hdr));
	b->hdr.version = SEG_VERSION;
	memcpy(b->hdr.log_id, l->log_id, LEDGER_LOG_ID_LEN);
	b->hdr.segno = l->seg_no + 1;
	b->hdr.first_seq = l->next_seq;
	memcpy(b->hdr.prev_hash, l->head, LEDGER_HASH_LEN);
	l->seg_no++;
	l->seg_bytes = SEG_HEADER_LEN;
	l->seg_records = 0;
	return 0;
}

static int append_frame_locked(struct ledger *l, unsigned type, uint64_t time_ns,
			       const void *payload, size_t len)
{
	uint8_t hash[LEDGER_HASH_LEN];
	bool seal = rec_is_seal(type);
	int rc;

	/* A full segment ends with a seal; the next record opens a new one. */
	if (!seal && l->seg_records > 0 &&
	    l->seg_bytes + FRAME_OVERHEAD + len > l->o.segment_bytes) {
		if (l->unsealed > 0 || l->sealed_seq != l->next_seq - 1) {
			if ((rc = seal_locked(l, LEDGER_REC_CHECKPOINT)) < 0)
				return rc;
		}
		if ((rc = add_break(l)) < 0)
			return rc;
	}
	/* The seal above may carry a later time than the caller read. */
	if (time_ns < l->last_time)
		time_ns = l->last_time;
	rc = frame_encode(&l->hs, &l->pending, type, l->next_seq, time_ns, l->head, payload, len,
			  hash);
	if (rc < 0)
		return rc;
	memcpy(l->head, hash, LEDGER_HASH_LEN);
	l->pending_last_seq = l->next_seq;
	l->last_time = time_ns;
	l->seg_bytes += FRAME_OVERHEAD + len;
	l->seg_records++;
	l->last_append_mono = vg_mono_ns();
	if (seal) {
		l->unsealed = 0;
		l->sealed_seq = l->next_seq;
		l->checkpoints++;
	} else if (l->unsealed++ == 0) {
		l->first_unsealed_mono = l->last_append_mono;
	}
	l->next_seq++;
	pthread_cond_signal(&l->cv_work);
	return 0;
}

static int seal_locked(struct ledger *l, unsigned type)
{
	char note[LEDGER_CHECKPOINT_MAX];
	struct ledger_checkpoint cp;
	uint64_t t = next_time(l);
	int n;

	n = checkpoint_make(&l->signer, &l->mac, l->log_id, l->next_seq - 1, l->head, t, note,
			    sizeof(note), &cp);
	if (n < 0)
		return n;
	return append_frame_locked(l, type, t, note, (size_t)n);
}

/* Moves the MAC key to the epoch of `t` (or of the clock, when that is
 * earlier) if that is later than the key's (see the top). */
static int rotate_locked(struct ledger *l, uint64_t t)
{
	uint64_t now = wall_now(l), e, prev = l->mac.epoch;
	char json[128];
	int rc, n;

	/* By the clock, not by a record time pinned ahead of it (times never go
	 * back, so one record from the year 2262 pins them all): evolving toward
	 * that epoch would take millions of hashes, and billions with short
	 * epochs.  A key older than its records' times still seals them. */
	e = ledger_mackey_epoch_of(&l->mac, t < now ? t : now);

	if (e <= prev)
		return 0;
	if (l->unsealed > 0 && (rc = seal_locked(l, LEDGER_REC_CHECKPOINT)) < 0)
		return rc;
	ledger_mackey_evolve(&l->mac, e);
	n = snprintf(json, sizeof(json), "{\"epoch\":%" PRIu64 ",\"previous_epoch\":%" PRIu64 "}",
		     e, prev);
	rc = append_frame_locked(l, LEDGER_REC_KEY_ROTATION, next_time(l), json, (size_t)n);
	if (rc < 0)
		return rc;
	l->mac_persist_after = l->next_seq - 1;
	return 0;
}

int ledger_append(struct ledger *l, unsigned type, const void *payload, size_t len,
		  uint64_t *seq)
{
	uint64_t t;
	int rc;

	if (type != LEDGER_REC_EVENT && type != LEDGER_REC_RETENTION)
		return -EINVAL;
	if (len > LEDGER_MAX_PAYLOAD)
		return -EMSGSIZE;
	pthread_mutex_lock(&l->mu);
	while (l->pending.len + len + FRAME_OVERHEAD > l->o.max_pending_bytes && !l->stop &&
	       l->thread_started)
		pthread_cond_wait(&l->cv_done, &l->mu);
	if (l->stop) {
		rc = -ESHUTDOWN;
		goto out;
	}
	if (l->fatal) {
		rc = l->fatal;
		goto out;
	}
	t = next_time(l);
	if ((rc = rotate_locked(l, t)) < 0)
		goto out;
	rc = append_frame_locked(l, type, t, payload, len);
	if (rc < 0)
		goto out;
	if (seq)
		*seq = l->next_seq - 1;
	if (l->unsealed >= l->o.checkpoint_records)
		rc = seal_locked(l, LEDGER_REC_CHECKPOINT);
out:
	pthread_mutex_unlock(&l->mu);
	return rc;
}

/* ---- flushing ---------------------------------------------------------------- */

/* Current size of the output file, to roll back a failed write. */
static int64_t file_size(struct ledger *l)
{
	struct stat st;

	return fstat(l->fd, &st) < 0 ? -errno : (int64_t)st.st_size;
}

/*
 * Writes [from, to) of buf to the current segment and syncs it.  On failure
 * the segment is cut back to where it was, so a retry rewrites cleanly.
 */
static int write_region(struct ledger *l, const uint8_t *buf, size_t from, size_t to)
{
	int64_t before = file_size(l);
	int rc;

	if (before < 0)
		return (int)before;
	/* A roll-back that failed left part of a batch at the end: writing after
	 * it would put a torn frame in the middle of the chain.  Cut it now or
	 * fail again. */
	if ((uint64_t)before > l->file_good) {
		if ((rc = l->io->ftruncate(l->fd, l->file_good)) < 0)
			return rc;
		before = (int64_t)l->file_good;
	}
	if (to > from && (rc = write_all(l, l->fd, buf + from, to - from)) < 0)
		goto undo;
	if ((rc = l->io->fdatasync(l->fd)) < 0)
		goto undo;
	l->file_good = (uint64_t)before + (to - from);
	return 0;
undo:
	if (l->io->ftruncate(l->fd, (uint64_t)before) < 0)
		vg_warn("ledger: cannot roll back a failed write in segment %" PRIu64, l->file_seg);
	return rc;
}

static void persist_mac(struct ledger *l)
{
	char line[256];
	struct ledger_mackey k;
	int n, rc;

	if (!l->mac_path[0])
		return;
	pthread_mutex_lock(&l->mu);
	k = l->mac;
	pthread_mutex_unlock(&l->mu);
	n = ledger_mackey_format(&k, line, sizeof(line) - 1);
	ledger_mackey_wipe(&k);
	if (n < 0)
		return;
	line[n++] = '\n';
	rc = vg_write_file_atomic(l->mac_path, line, (size_t)n, 0600);
	vg_wipe(line, sizeof(line));
	if (rc < 0)
		vg_warn("ledger: cannot rewrite the MAC key file '%s': %s", l->mac_path,
			strerror(-rc));
}

/* The head file's text for a batch ending at written_seq (mu held):
 * its length, or a negative errno (then nothing is written). */
static int head_text(struct ledger *l, uint64_t written_seq, const uint8_t written_hash[32],
		     char *out, size_t cap)
{
	struct ledger_head h;

	if (l->head_fd < 0)
		return -EBADF;
	memset(&h, 0, sizeof(h));
	memcpy(h.log_id, l->log_id, LEDGER_LOG_ID_LEN);
	h.durable_seq = l->durable_seq;
	memcpy(h.durable_hash, l->durable_hash, LEDGER_HASH_LEN);
	h.written_seq = written_seq;
	memcpy(h.written_hash, written_hash, LEDGER_HASH_LEN);
	return head_seal(&h, &l->mac, out, cap);
}

/*
 * Replaces the head file in place with one pwrite (text, len), and/or
 * fdatasyncs it.  A failure costs only the vouching for these records on
 * the next start (they are then reported as unvouched): it is logged once,
 * and the batch goes on.
 */
static void head_write(struct ledger *l, const char *text, int len, bool sync)
{
	int rc = 0;

	if (l->head_fd < 0 || (!sync && len <= 0))
		return;
	if (!sync) {
		ssize_t w = pwrite(l->head_fd, text, (size_t)len, 0);

		rc = w < 0 ? -errno : w != len ? -EIO : 0;
	} else if (fdatasync(l->head_fd) < 0) {
		rc = -errno;
	}
	if (rc < 0 && !l->head_warned) {
		l->head_warned = true;
		vg_warn("ledger: cannot write the head file '%s' (%s); records written now "
			"will be reported as unvouched if the writer stops before it can",
			l->head_path, strerror(-rc));
	} else if (rc == 0 && sync) {
		l->head_warned = false;
	}
}

/*
 * Takes the pending batch and makes it durable.  Called with mu held; drops
 * it while doing I/O.  Returns 0 or the I/O error (the batch is put back in
 * front of anything appended meanwhile, for a retry).
 */
static int flush_locked(struct ledger *l)
{
	struct vbuf batch = l->pending;
	struct seg_break *breaks = l->breaks;
	size_t nbreaks = l->nbreaks, from = 0, i = 0, done_breaks = 0;
	uint64_t last_seq = l->pending_last_seq, persist_after = l->mac_persist_after;
	uint64_t durable = l->durable_seq;
	uint8_t last_hash[LEDGER_HASH_LEN], durable_hash[LEDGER_HASH_LEN];
	/* A seal in this batch: the head file is synced with it. */
	bool has_seal = l->sealed_seq > l->durable_seq;
	/* The head file before each region (the batch's end, or a break's), and
	 * once the batch is durable ([nbreaks + 1]). */
	char (*heads)[LEDGER_HEAD_LEN + 1] = NULL;
	int *head_lens = NULL, rc = 0;

	if (batch.len == 0 && nbreaks == 0)
		return 0;
	if (l->fatal)
		return l->fatal;
	memcpy(last_hash, l->head, LEDGER_HASH_LEN); /* the hash of last_seq */
	memcpy(durable_hash, l->durable_hash, LEDGER_HASH_LEN);
	heads = vg_malloc((nbreaks + 2) * sizeof(*heads));
	head_lens = vg_calloc(nbreaks + 2, sizeof(*head_lens));
	for (i = 0; heads && head_lens && i <= nbreaks; i++)
		head_lens[i] = i < nbreaks ? head_text(l, breaks[i].seq_before,
						       breaks[i].hdr.prev_hash, heads[i],
						       sizeof(heads[i]))
					   : head_text(l, last_seq, l->head, heads[i],
						       sizeof(heads[i]));
	if (heads && head_lens) {
		uint64_t d = l->durable_seq;
		uint8_t dh[LEDGER_HASH_LEN];

		memcpy(dh, l->durable_hash, LEDGER_HASH_LEN);
		l->durable_seq = last_seq; /* as it will be: durable up to last_seq */
		memcpy(l->durable_hash, l->head, LEDGER_HASH_LEN);
		head_lens[nbreaks + 1] =
			head_text(l, last_seq, l->head, heads[nbreaks + 1], sizeof(heads[0]));
		l->durable_seq = d;
		memcpy(l->durable_hash, dh, LEDGER_HASH_LEN);
	}
	vbuf_init(&l->pending, batch.limit);
	l->breaks = NULL;
	l->nbreaks = l->capbreaks = 0;
	pthread_mutex_unlock(&l->mu);

	for (i = 0; i <= nbreaks; i++) {
		size_t to = i < nbreaks ? breaks[i].off : batch.len;

		/* Before the data: a writer killed while it waits for fdatasync
		 * still vouches for these records on restart (see head.c).  Without
		 * memory for it they are reported as unvouched after a crash. */
		if (heads && head_lens)
			head_write(l, heads[i], head_lens[i], false);
		rc = write_region(l, batch.data, from, to);
		if (rc < 0)
			break;
		from = to; /* durable: a retry must not write it again */
		if (i < nbreaks) {
			durable = breaks[i].seq_before;
			memcpy(durable_hash, breaks[i].hdr.prev_hash, LEDGER_HASH_LEN);
			rc = create_segment(l, &breaks[i].hdr);
			if (rc < 0)
				break;
			done_breaks = i + 1;
		} else {
			durable = last_seq;
			memcpy(durable_hash, last_hash, LEDGER_HASH_LEN);
		}
	}
	/* Durable now: say so (a cut back to before last_seq is then visible),
	 * and make it survive a power loss with every seal. */
	if (rc == 0 && heads && head_lens)
		head_write(l, heads[nbreaks + 1], head_lens[nbreaks + 1], false);
	if (rc == 0 && has_seal)
		head_write(l, NULL, 0, true);

	pthread_mutex_lock(&l->mu);
	if (durable > l->durable_seq) {
		l->durable_seq = durable;
		memcpy(l->durable_hash, durable_hash, LEDGER_HASH_LEN);
	}
	if (rc < 0) {
		/* Put the unwritten part back in front of newer appends. */
		struct vbuf merged;
		size_t keep = batch.len - from;
		bool kept = false;

		vbuf_init(&merged, batch.limit + l->pending.len);
		if (vbuf_append(&merged, batch.data + from, keep) == 0 &&
		    vbuf_append(&merged, l->pending.data, l->pending.len) == 0) {
			size_t nb = nbreaks - done_breaks + l->nbreaks;
			struct seg_break *mb = vg_calloc(nb ? nb : 1, sizeof(*mb));

			if (mb) {
				size_t k = 0;

				for (size_t j = done_breaks; j < nbreaks; j++) {
					mb[k] = breaks[j];
					mb[k++].off -= from;
				}
				for (size_t j = 0; j < l->nbreaks; j++) {
					mb[k] = l->breaks[j];
					mb[k++].off += keep;
				}
				vg_free(l->breaks);
				l->breaks = mb;
				l->nbreaks = l->capbreaks = nb;
				vbuf_release(&l->pending);
				l->pending = merged;
				merged.data = NULL;
				kept = true;
			}
		}
		if (!kept) {
			/* No memory to keep the failed batch: its records are gone, and
			 * writing the ones after them would leave a gap in the chain
			 * that verify reports as a deletion.  Stop writing for good;
			 * nothing after the durable seq was acknowledged. */
			vg_err("ledger: out of memory after a failed write; records after seq %" PRIu64
			       " are lost and the writer stops",
			       l->durable_seq);
			l->fatal = rc;
		}
		vbuf_release(&merged);
		if (l->pending_last_seq < last_seq)
			l->pending_last_seq = last_seq;
		l->err = rc;
	} else {
		l->err = 0;
	}
	pthread_cond_broadcast(&l->cv_done);
	vbuf_release(&batch);
	vg_free(breaks);
	vg_free(heads);
	vg_free(head_lens);
	if (rc == 0 && persist_after && l->durable_seq >= persist_after &&
	    l->mac_persist_after == persist_after) {
		l->mac_persist_after = 0;
		pthread_mutex_unlock(&l->mu);
		persist_mac(l);
		pthread_mutex_lock(&l->mu);
	}
	return rc;
}

/* Seals, rotates keys and beats the heart when their time has come (mu held). */
static void timers_locked(struct ledger *l)
{
	uint64_t mono = vg_mono_ns();
	int rc = 0;

	rc = rotate_locked(l, next_time(l));
	if (rc == 0 && l->unsealed > 0 &&
	    mono - l->first_unsealed_mono >= (uint64_t)l->o.checkpoint_ms * 1000000ull)
		rc = seal_locked(l, LEDGER_REC_CHECKPOINT);
	if (rc == 0 && l->o.heartbeat_ms > 0 &&
	    mono - l->last_append_mono >= (uint64_t)l->o.heartbeat_ms * 1000000ull)
		rc = seal_locked(l, LEDGER_REC_HEARTBEAT);
	if (rc < 0)
		vg_warn("ledger: cannot append a checkpoint: %s", strerror(-rc));
}

/* How long the writer may sleep before a timer is due, in ms. */
static uint64_t sleep_ms_locked(struct ledger *l)
{
	uint64_t mono = vg_mono_ns(), ms = 1000, due;
	uint64_t t = next_time(l);
	uint64_t next_epoch_s = l->mac.start_s + (l->mac.epoch + 1) * l->mac.interval_s;

	if (l->err)
		return FLUSH_RETRY_MIN_MS;
	if (l->unsealed > 0) {
		due = l->first_unsealed_mono + (uint64_t)l->o.checkpoint_ms * 1000000ull;
		ms = due > mono ? (due - mono) / 1000000ull + 1 : 0;
	}
	if (l->o.heartbeat_ms > 0) {
		due = l->last_append_mono + (uint64_t)l->o.heartbeat_ms * 1000000ull;
		due = due > mono ? (due - mono) / 1000000ull + 1 : 0;
		if (due < ms)
			ms = due;
	}
	if (next_epoch_s * 1000000000ull > t) {
		due = (next_epoch_s * 1000000000ull - t) / 1000000ull + 1;
		if (due < ms)
			ms = due;
	}
	return ms;
}

static void *writer_main(void *arg)
{
	struct ledger *l = arg;
	uint64_t backoff = FLUSH_RETRY_MIN_MS;

	pthread_mutex_lock(&l->mu);
	while (!l->stop) {
		timers_locked(l);
		if (l->pending.len == 0 && l->nbreaks == 0) {
			uint64_t ms = sleep_ms_locked(l);
			struct timespec ts;

			if (ms == 0)
				continue;
			ts = deadline_after_ms(ms);
			pthread_cond_timedwait(&l->cv_work, &l->mu, &ts);
			continue;
		}
		if (flush_locked(l) < 0) {
			struct timespec ts = deadline_after_ms(backoff);

			vg_warn("ledger: write failed (%s); retrying in %" PRIu64 " ms",
				strerror(-l->err), backoff);
			while (!l->stop &&
			       pthread_cond_timedwait(&l->cv_work, &l->mu, &ts) != ETIMEDOUT)
				;
			backoff = backoff * 2 > FLUSH_RETRY_MAX_MS ? FLUSH_RETRY_MAX_MS
								   : backoff * 2;
		} else {
			backoff = FLUSH_RETRY_MIN_MS;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return NULL;
}

/* ---- open ---------------------------------------------------------------------- */

static bool spec_is_file(const char *spec, const char **path)
{
	if (!strncmp(spec, "env:", 4) || !strncmp(spec, "cmd:", 4))
		return false;
	*path = !strncmp(spec, "file:", 5) ? spec + 5 : spec;
	return true;
}

/* Reads the newest state of the chain from the last segment(s) and repairs a
 * torn tail.  Fills the chain state of l and info. */
static int load_tail(struct ledger *l, struct ledger_open_info *info, uint64_t *seal_epoch,
		     uint64_t *first_unsealed_time, char *err, size_t errcap)
{
	uint64_t *segs = NULL;
	size_t nsegs = 0;
	struct seg_buf sb = { 0 };
	size_t len;
	char path[4200], why[160];
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
		struct seg_header h = { .version = SEG_VERSION, .segno = 1, .first_seq = 1 };

		if ((rc = vg_random(l->log_id, LEDGER_LOG_ID_LEN)) < 0)
			goto out;
		memcpy(h.log_id, l->log_id, LEDGER_LOG_ID_LEN);
		rc = create_segment(l, &h);
		if (rc < 0) {
			snprintf(err, errcap, "cannot create the first segment in '%s': %s", l->dir,
				 strerror(-rc));
			goto out;
		}
		info->created = true;
		l->seg_no = 1;
		l->seg_bytes = SEG_HEADER_LEN;
		l->next_seq = 1;
		goto out;
	}

	/* Scan backwards until the chain head and the last seal are known. */
	for (size_t i = nsegs; i-- > 0;) {
		bool last = i == nsegs - 1;

		if ((rc = seg_path(path, sizeof(path), l->dir, segs[i])) < 0)
			goto out;
		rc = seg_read(path, &sb, &len, NULL, NULL);
		if (rc < 0) {
			snprintf(err, errcap, "cannot read '%s': %s", path, strerror(-rc));
			goto out;
		}
		rc = seg_scan(&l->hs, sb.p, len, &s, why, sizeof(why));
		if (rc < 0) {
			snprintf(err, errcap,
				 "segment %" PRIu64 " has a damaged header (%s); refusing to write. "
				 "Run 'vigil verify' and move the ledger aside to start a new one",
				 segs[i], why);
			rc = -EUCLEAN;
			goto out;
		}
		if (last) {
			if (s.hdr.segno != segs[i]) {
				snprintf(err, errcap,
					 "segment file %" PRIu64 " says it is segment %" PRIu64
					 "; refusing to write. Run 'vigil verify'",
					 segs[i], s.hdr.segno);
				rc = -EUCLEAN;
				goto out;
			}
			memcpy(l->log_id, s.hdr.log_id, LEDGER_LOG_ID_LEN);
			l->seg_no = segs[i];
			l->seg_records = s.records;
			l->next_seq = s.records ? s.last_seq + 1 : s.hdr.first_seq;
			memcpy(l->head, s.records ? s.last_hash : s.hdr.prev_hash, LEDGER_HASH_LEN);
			l->last_time = s.last_time;
			l->unsealed = s.unsealed;
			*first_unsealed_time = s.first_unsealed_time;
			if (s.torn && s.valid_after) {
				snprintf(err, errcap,
					 "segment %" PRIu64 " is damaged at offset %zu but valid "
					 "records follow: this is not a torn write, and the writer "
					 "will not cut it. Run 'vigil verify'; move the ledger aside "
					 "to start a new one",
					 segs[i], s.valid_end);
				rc = -EUCLEAN;
				goto out;
			}
			if (s.torn) {
				rc = l->io->open(path, O_WRONLY, 0600);
				if (rc >= 0) {
					int fd = rc;

					rc = l->io->ftruncate(fd, s.valid_end);
					if (rc == 0)
						rc = l->io->fdatasync(fd);
					l->io->close(fd);
				}
				if (rc < 0) {
					snprintf(err, errcap, "cannot cut the torn tail of '%s': %s",
						 path, strerror(-rc));
					goto out;
				}
				info->recovered = true;
				info->recovered_segment = segs[i];
				info->recovered_offset = s.valid_end;
				info->dropped_bytes = s.torn_bytes;
				info->first_dropped_seq = s.torn_seq;
				info->dropped_frames = s.torn_frames;
			}
			l->seg_bytes = s.valid_end;
			rc = l->io->open(path, O_WRONLY | O_APPEND, 0600);
			if (rc < 0) {
				snprintf(err, errcap, "cannot open '%s': %s", path, strerror(-rc));
				goto out;
			}
			l->fd = rc;
			l->file_seg = segs[i];
			l->file_good = s.valid_end;
			rc = 0;
		} else if (!l->last_time) {
			l->last_time = s.last_time;
		}
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

/* Appends the recovery records for what check_head found (mu held). */
static int record_trust(struct ledger *l, const struct ledger_open_info *info)
{
	char json[1024];
	int n, rc = 0;

	if (info->truncated) {
		n = trust_recovery_json(info, l->found_head_log, false, json, sizeof(json));
		rc = n < 0 ? n
			   : append_frame_locked(l, LEDGER_REC_RECOVERY, next_time(l), json,
						 (size_t)n);
		vg_warn("ledger '%s': %s (seq %" PRIu64 "..%" PRIu64 " missing); recorded",
			l->dir, info->why, info->missing_first, info->missing_last);
	}
	if (rc == 0 && info->unvouched_first) {
		n = trust_recovery_json(info, l->found_head_log, true, json, sizeof(json));
		rc = n < 0 ? n
			   : append_frame_locked(l, LEDGER_REC_RECOVERY, next_time(l), json,
						 (size_t)n);
		vg_warn("ledger '%s': records seq %" PRIu64 "..%" PRIu64 " were found after the "
			"last seal and are not vouched for (%s); recorded as unvouched",
			l->dir, info->unvouched_first, info->unvouched_last, info->why);
	}
	return rc;
}

static void apply_defaults(struct ledger_options *o)
{
	if (!o->segment_bytes)
		o->segment_bytes = LEDGER_DEFAULT_SEGMENT_BYTES;
	if (o->segment_bytes < 4096)
		o->segment_bytes = 4096;
	if (!o->checkpoint_ms)
		o->checkpoint_ms = LEDGER_DEFAULT_CHECKPOINT_MS;
	if (!o->checkpoint_records)
		o->checkpoint_records = LEDGER_DEFAULT_CHECKPOINT_RECORDS;
	if (!o->heartbeat_ms)
		o->heartbeat_ms = (int32_t)LEDGER_DEFAULT_HEARTBEAT_MS;
	if (!o->max_pending_bytes)
		o->max_pending_bytes = 64u * 1024 * 1024;
	if (o->max_pending_bytes < 2 * FRAME_MAX)
		o->max_pending_bytes = 2 * FRAME_MAX;
}

static void ledger_free(struct ledger *l)
{
	if (l->fd >= 0)
		l->io->close(l->fd);
	if (l->head_fd >= 0)
		close(l->head_fd);
	if (l->lock_fd >= 0)
		close(l->lock_fd); /* releases the flock */
	ledger_signer_release(&l->signer);
	ledger_mackey_wipe(&l->mac);
	hasher_release(&l->hs);
	vbuf_release(&l->pending);
	vg_free(l->breaks);
	pthread_cond_destroy(&l->cv_work);
	pthread_cond_destroy(&l->cv_done);
	pthread_mutex_destroy(&l->mu);
	vg_free(l);
}

int ledger_open(const struct ledger_options *opts, struct ledger **out,
		struct ledger_open_info *info, char *err, size_t errcap)
{
	struct ledger_open_info local;
	struct ledger *l;
	pthread_condattr_t ca;
	uint64_t seal_epoch, first_unsealed_time, target;
	const char *mac_file;
	int rc;

	*out = NULL;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!opts->dir || !opts->signing_key || !opts->mac_key) {
		snprintf(err, errcap, "ledger directory and keys are required");
		return -EINVAL;
	}
	l = vg_calloc(1, sizeof(*l));
	if (!l)
		return -ENOMEM;
	l->o = *opts;
	apply_defaults(&l->o);
	l->io = opts->io ? opts->io : &posix_io;
	l->fd = l->lock_fd = l->head_fd = -1;
	pthread_mutex_init(&l->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&l->cv_work, &ca);
	pthread_cond_init(&l->cv_done, &ca);
	pthread_condattr_destroy(&ca);
	vbuf_init(&l->pending, l->o.max_pending_bytes);
	if ((rc = hasher_init(&l->hs)) < 0) {
		snprintf(err, errcap, "SHA-256 is not available");
		goto fail;
	}
	if ((rc = vg_path(l->dir, sizeof(l->dir), "%s", opts->dir)) < 0) {
		snprintf(err, errcap, "ledger path too long");
		goto fail;
	}
	if ((rc = base_mkdir_p(l->dir, 0700, NULL)) < 0) {
		snprintf(err, errcap, "cannot create ledger directory '%s': %s", l->dir,
			 strerror(-rc));
		goto fail;
	}
	if ((rc = take_lock(l, err, errcap)) < 0)
		goto fail;
	if ((rc = ledger_signer_load(opts->signing_key, &l->signer, err, errcap)) < 0)
		goto fail;
	if ((rc = ledger_mackey_load(opts->mac_key, &l->mac, err, errcap)) < 0)
		goto fail;
	if (spec_is_file(opts->mac_key, &mac_file) &&
	    vg_path(l->mac_path, sizeof(l->mac_path), "%s", mac_file) < 0)
		l->mac_path[0] = 0;
	if ((rc = open_head(l, opts->head_file, err, errcap)) < 0)
		goto fail;
	if ((rc = load_tail(l, info, &seal_epoch, &first_unsealed_time, err, errcap)) < 0)
		goto fail;
	if ((rc = check_head(l, info)) < 0) {
		snprintf(err, errcap, "cannot check ledger '%s' against its head file: %s", l->dir,
			 strerror(-rc));
		goto fail;
	}

	/* Bring the key to the epoch the ledger has reached (a crash may have
	 * come between a durable rotation and the key file being rewritten). */
	target = l->mac.epoch > seal_epoch ? l->mac.epoch : seal_epoch;
	/* That epoch is read from records nobody signed (a rotation record, or a
	 * checkpoint not checked here): one hash per epoch toward a forged 2^62
	 * would never end.  The writer only ever rotates to the epoch of the
	 * clock, so a ledger ahead of the clock by more than an epoch is not ours
	 * to continue. */
	if (target > l->mac.epoch &&
	    target > ledger_mackey_epoch_of(&l->mac, wall_now(l)) + 1) {
		snprintf(err, errcap,
			 "ledger '%s' claims MAC key epoch %" PRIu64 " but the clock is in epoch "
			 "%" PRIu64 "; refusing to evolve the key that far (a wrong clock, or a "
			 "damaged ledger: run 'vigil verify')",
			 l->dir, target, ledger_mackey_epoch_of(&l->mac, wall_now(l)));
		rc = -EUCLEAN;
		goto fail;
	}
	if (l->unsealed && ledger_mackey_epoch_of(&l->mac, first_unsealed_time) < target)
		vg_warn("ledger: the MAC key is newer than the unsealed records; verify will "
			"report them as sealed outside their epoch");
	if (target > l->mac.epoch) {
		ledger_mackey_evolve(&l->mac, target);
		l->mac_persist_after = l->next_seq ? l->next_seq - 1 : 0;
	}

	pthread_mutex_lock(&l->mu);
	l->durable_seq = l->next_seq - 1;
	memcpy(l->durable_hash, l->head, LEDGER_HASH_LEN);
	l->sealed_seq = l->unsealed ? 0 : l->next_seq - 1;
	l->last_append_mono = vg_mono_ns();
	l->first_unsealed_mono = l->last_append_mono;
	if (info->recovered) {
		char json[512];
		int n = snprintf(json, sizeof(json),
				 "{\"reason\":\"torn tail\",\"segment\":%" PRIu64
				 ",\"offset\":%" PRIu64 ",\"bytes_dropped\":%" PRIu64
				 ",\"first_dropped_seq\":%" PRIu64 ",\"frames_dropped\":%" PRIu64
				 ",\"last_valid_seq\":%" PRIu64 "}",
				 info->recovered_segment, info->recovered_offset,
				 info->dropped_bytes, info->first_dropped_seq,
				 info->dropped_frames, l->next_seq - 1);

		rc = append_frame_locked(l, LEDGER_REC_RECOVERY, next_time(l), json, (size_t)n);
	}
	if (rc == 0)
		rc = record_trust(l, info);
	if (rc == 0 && l->unsealed > 0) {
		info->sealed_tail = true;
		rc = seal_locked(l, LEDGER_REC_CHECKPOINT);
	}
	if (rc == 0)
		rc = rotate_locked(l, next_time(l));
	if (rc == 0)
		rc = flush_locked(l);
	if (rc == 0 && l->mac_persist_after) {
		l->mac_persist_after = 0;
		pthread_mutex_unlock(&l->mu);
		persist_mac(l);
		pthread_mutex_lock(&l->mu);
	}
	info->next_seq = l->next_seq;
	pthread_mutex_unlock(&l->mu);
	if (rc < 0) {
		snprintf(err, errcap, "cannot write to ledger '%s': %s", l->dir, strerror(-rc));
		goto fail;
	}
	if (!l->o.manual_flush) {
		rc = pthread_create(&l->thread, NULL, writer_main, l);
		if (rc) {
			rc = -rc;
			snprintf(err, errcap, "cannot start the ledger writer thread");
			goto fail;
		}
		l->thread_started = true;
	}
	*out = l;
	return 0;
fail:
	ledger_free(l);
	return rc;
}

/* ---- waiting, sealing, status, close ---------------------------------------------- */

int ledger_wait_durable(struct ledger *l, uint64_t seq, int timeout_ms)
{
	struct timespec ts;
	int rc = 0;

	if (timeout_ms >= 0)
		ts = deadline_after_ms((uint64_t)timeout_ms);
	pthread_mutex_lock(&l->mu);
	while (l->durable_seq < seq) {
		if (l->err) {
			rc = l->err;
			break;
		}
		if (!l->thread_started) {
			rc = -EAGAIN; /* manual_flush: nobody else will flush */
			break;
		}
		if (timeout_ms < 0) {
			pthread_cond_wait(&l->cv_done, &l->mu);
		} else if (pthread_cond_timedwait(&l->cv_done, &l->mu, &ts) == ETIMEDOUT) {
			rc = l->durable_seq >= seq ? 0 : -ETIMEDOUT;
			break;
		}
	}
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int ledger_seal(struct ledger *l, uint64_t *seq)
{
	uint64_t target;
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	if (l->unsealed > 0 || l->sealed_seq == 0)
		rc = seal_locked(l, LEDGER_REC_CHECKPOINT);
	target = l->sealed_seq;
	if (rc == 0 && !l->thread_started)
		rc = flush_locked(l);
	pthread_mutex_unlock(&l->mu);
	if (rc == 0)
		rc = ledger_wait_durable(l, target, -1);
	if (rc == 0 && seq)
		*seq = target;
	return rc;
}

int ledger_flush(struct ledger *l)
{
	int rc;

	pthread_mutex_lock(&l->mu);
	rc = l->thread_started ? -EINVAL : flush_locked(l);
	pthread_mutex_unlock(&l->mu);
	return rc;
}

void ledger_status(struct ledger *l, struct ledger_status *st)
{
	pthread_mutex_lock(&l->mu);
	st->next_seq = l->next_seq;
	st->durable_seq = l->durable_seq;
	st->sealed_seq = l->sealed_seq;
	st->segment = l->seg_no;
	st->epoch = l->mac.epoch;
	st->checkpoints = l->checkpoints;
	st->last_error = l->err;
	memcpy(st->log_id, l->log_id, LEDGER_LOG_ID_LEN);
	pthread_mutex_unlock(&l->mu);
}

int ledger_close(struct ledger *l)
{
	int rc = 0, frc;

	if (!l)
		return 0;
	pthread_mutex_lock(&l->mu);
	if (l->unsealed > 0)
		rc = seal_locked(l, LEDGER_REC_CHECKPOINT);
	l->stop = true;
	pthread_cond_broadcast(&l->cv_work);
	pthread_cond_broadcast(&l->cv_done);
	pthread_mutex_unlock(&l->mu);
	if (l->thread_started)
		pthread_join(l->thread, NULL);
	pthread_mutex_lock(&l->mu);
	for (int i = 0; i < CLOSE_FLUSH_ATTEMPTS; i++) {
		frc = flush_locked(l);
		if (frc == 0)
			break;
		if (i == CLOSE_FLUSH_ATTEMPTS - 1) {
			vg_err("ledger: records after seq %" PRIu64 " could not be written: %s",
			       l->durable_seq, strerror(-frc));
			if (rc == 0)
				rc = frc;
		}
	}
	if (l->mac_persist_after && l->durable_seq >= l->mac_persist_after) {
		l->mac_persist_after = 0;
		pthread_mutex_unlock(&l->mu);
		persist_mac(l);
		pthread_mutex_lock(&l->mu);
	}
	pthread_mutex_unlock(&l->mu);
	ledger_free(l);
	return rc;
}
