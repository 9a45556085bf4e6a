/*
 * writer.c - the ledger writer: one per directory (flock on LOCK), appends
 * from any thread, group commit on a writer thread, seals, segment and key
 * rotation, open and close.  What open reads and repairs before it appends
 * (the lock, the keys, the head file, the tail of the chain and a torn tail
 * cut back) is in writer_open.c; the state both share is in writer_int.h.
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
#include "recover.h"
#include "writer_int.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define FLUSH_RETRY_MIN_MS 50
#define FLUSH_RETRY_MAX_MS 5000
#define CLOSE_FLUSH_ATTEMPTS 5

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

/* The time for the next record: never before the previous one. */
static uint64_t next_time(struct ledger *l)
{
	uint64_t t = wall_now(l);

	return t < l->last_time ? l->last_time : t;
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

/* See writer_int.h. */
int create_segment(struct ledger *l, const struct seg_header *h)
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

int ledger_append(struct ledger *l, unsigned type, const void *payload, size_t len, uint64_t *seq)
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

/* Rewrites the MAC key file with the key as it is now (mu not held). */
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

/* The same with mu held, once the records that moved the key are durable:
 * marks it done and drops mu while the file is written. */
static void persist_mac_locked(struct ledger *l)
{
	l->mac_persist_after = 0;
	pthread_mutex_unlock(&l->mu);
	persist_mac(l);
	pthread_mutex_lock(&l->mu);
}

/* The head file's text for a batch ending at written_seq (mu held): its
 * length, or a negative errno (then nothing is written).  Its durable line
 * is durable_seq as it is, or, when `written_durable`, written_seq: the text
 * for once the batch is durable. */
static int head_text(struct ledger *l, uint64_t written_seq, const uint8_t written_hash[32],
		     bool written_durable, char *out, size_t cap)
{
	struct ledger_head h;

	if (l->head_fd < 0)
		return -EBADF;
	memset(&h, 0, sizeof(h));
	memcpy(h.log_id, l->log_id, LEDGER_LOG_ID_LEN);
	h.durable_seq = written_durable ? written_seq : l->durable_seq;
	memcpy(h.durable_hash, written_durable ? written_hash : l->durable_hash, LEDGER_HASH_LEN);
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

/* One batch on its way to disk: what flush_locked took from l, and how far
 * writing it got. */
struct flush_job {
	struct vbuf batch;
	struct seg_break *breaks;
	size_t nbreaks;
	uint64_t last_seq;
	uint64_t persist_after;		    /* l->mac_persist_after when the batch was taken */
	uint8_t last_hash[LEDGER_HASH_LEN]; /* the hash of last_seq */
	bool has_seal; /* a seal in the batch: the head file is synced with it */
	/* The head file before each region (the batch's end, or a break's), and
	 * once the batch is durable ([nbreaks + 1]); NULL without memory. */
	char (*heads)[LEDGER_HEAD_LEN + 1];
	int *head_lens;
	/* Progress: the bytes before `from` and the first done_breaks breaks are
	 * on disk, durable up to seq `durable`. */
	size_t from, done_breaks;
	uint64_t durable;
	uint8_t durable_hash[LEDGER_HASH_LEN];
};

/* Renders the head file texts of j (mu held).  Without memory for them the
 * batch is written without them: its records are then reported as
 * unvouched after a crash. */
static void render_heads_locked(struct ledger *l, struct flush_job *j)
{
	size_t n = j->nbreaks;

	j->heads = vg_malloc((n + 2) * sizeof(*j->heads));
	j->head_lens = vg_calloc(n + 2, sizeof(*j->head_lens));
	if (!j->heads || !j->head_lens) {
		vg_free(j->heads);
		vg_free(j->head_lens);
		j->heads = NULL;
		j->head_lens = NULL;
		return;
	}
	for (size_t i = 0; i < n; i++)
		j->head_lens[i] = head_text(l, j->breaks[i].seq_before, j->breaks[i].hdr.prev_hash,
					    false, j->heads[i], sizeof(j->heads[i]));
	j->head_lens[n] = head_text(l, j->last_seq, j->last_hash, false, j->heads[n],
				    sizeof(j->heads[n]));
	j->head_lens[n + 1] = head_text(l, j->last_seq, j->last_hash, true, j->heads[n + 1],
					sizeof(j->heads[n + 1]));
}

/* Takes the pending batch out of l (mu held): appenders fill the next one
 * while this one is written. */
static void take_batch_locked(struct ledger *l, struct flush_job *j)
{
	memset(j, 0, sizeof(*j));
	j->batch = l->pending;
	j->breaks = l->breaks;
	j->nbreaks = l->nbreaks;
	j->last_seq = l->pending_last_seq;
	j->persist_after = l->mac_persist_after;
	j->has_seal = l->sealed_seq > l->durable_seq;
	memcpy(j->last_hash, l->head, LEDGER_HASH_LEN);
	j->durable = l->durable_seq;
	memcpy(j->durable_hash, l->durable_hash, LEDGER_HASH_LEN);
	render_heads_locked(l, j);
	vbuf_init(&l->pending, j->batch.limit);
	l->breaks = NULL;
	l->nbreaks = l->capbreaks = 0;
}

/*
 * Writes j region by region, creating the segment each break starts (mu not
 * held).  Before each region the head file names the region's last record:
 * a writer killed while it waits for fdatasync still vouches for these
 * records on restart (see head.c).  Once all is durable the head file says
 * so (a cut back to before last_seq is then visible), synced with every
 * seal so that it survives a power loss.  Returns 0 or the first error; j's
 * progress says what is durable.
 */
static int write_batch(struct ledger *l, struct flush_job *j)
{
	int rc;

	for (size_t i = 0; i <= j->nbreaks; i++) {
		size_t to = i < j->nbreaks ? j->breaks[i].off : j->batch.len;

		if (j->heads)
			head_write(l, j->heads[i], j->head_lens[i], false);
		if ((rc = write_region(l, j->batch.data, j->from, to)) < 0)
			return rc;
		j->from = to; /* durable: a retry must not write it again */
		if (i == j->nbreaks) {
			j->durable = j->last_seq;
			memcpy(j->durable_hash, j->last_hash, LEDGER_HASH_LEN);
			break;
		}
		j->durable = j->breaks[i].seq_before;
		memcpy(j->durable_hash, j->breaks[i].hdr.prev_hash, LEDGER_HASH_LEN);
		if ((rc = create_segment(l, &j->breaks[i].hdr)) < 0)
			return rc;
		j->done_breaks = i + 1;
	}
	if (j->heads)
		head_write(l, j->heads[j->nbreaks + 1], j->head_lens[j->nbreaks + 1], false);
	if (j->has_seal)
		head_write(l, NULL, 0, true);
	return 0;
}

/* Puts the unwritten part of a failed batch, with its breaks, back in front
 * of what was appended meanwhile (mu held).  False when there is no memory
 * for that: then nothing changes. */
static bool requeue_locked(struct ledger *l, const struct flush_job *j)
{
	size_t keep = j->batch.len - j->from, k = 0;
	size_t nb = j->nbreaks - j->done_breaks + l->nbreaks;
	struct seg_break *mb;
	struct vbuf merged;

	vbuf_init(&merged, j->batch.limit + l->pending.len);
	if (vbuf_append(&merged, j->batch.data + j->from, keep) != 0 ||
	    vbuf_append(&merged, l->pending.data, l->pending.len) != 0) {
		vbuf_release(&merged);
		return false;
	}
	mb = vg_calloc(nb ? nb : 1, sizeof(*mb));
	if (!mb) {
		vbuf_release(&merged);
		return false;
	}
	for (size_t i = j->done_breaks; i < j->nbreaks; i++) {
		mb[k] = j->breaks[i];
		mb[k++].off -= j->from;
	}
	for (size_t i = 0; i < l->nbreaks; i++) {
		mb[k] = l->breaks[i];
		mb[k++].off += keep;
	}
	vg_free(l->breaks);
	l->breaks = mb;
	l->nbreaks = l->capbreaks = nb;
	vbuf_release(&l->pending);
	l->pending = merged;
	return true;
}

/* Publishes how far j got and wakes the waiters (mu held); a failed batch is
 * kept for the retry, and l->err says how the flush went. */
static void publish_locked(struct ledger *l, const struct flush_job *j, int rc)
{
	if (j->durable > l->durable_seq) {
		l->durable_seq = j->durable;
		memcpy(l->durable_hash, j->durable_hash, LEDGER_HASH_LEN);
	}
	if (rc < 0) {
		if (!requeue_locked(l, j)) {
			/* No memory to keep the failed batch: its records are gone, and
			 * writing the ones after them would leave a gap in the chain
			 * that verify reports as a deletion.  Stop writing for good;
			 * nothing after the durable seq was acknowledged. */
			vg_err("ledger: out of memory after a failed write; records after seq %" PRIu64
			       " are lost and the writer stops",
			       l->durable_seq);
			l->fatal = rc;
		}
		if (l->pending_last_seq < j->last_seq)
			l->pending_last_seq = j->last_seq;
	}
	l->err = rc;
	pthread_cond_broadcast(&l->cv_done);
}

static void flush_job_release(struct flush_job *j)
{
	vbuf_release(&j->batch);
	vg_free(j->breaks);
	vg_free(j->heads);
	vg_free(j->head_lens);
}

/*
 * Takes the pending batch and makes it durable.  Called with mu held; drops
 * it while doing I/O.  Returns 0 or the I/O error (the batch is put back in
 * front of anything appended meanwhile, for a retry).
 */
static int flush_locked(struct ledger *l)
{
	struct flush_job j;
	int rc;

	if (l->pending.len == 0 && l->nbreaks == 0)
		return 0;
	if (l->fatal)
		return l->fatal;
	take_batch_locked(l, &j);
	pthread_mutex_unlock(&l->mu);
	rc = write_batch(l, &j);
	pthread_mutex_lock(&l->mu);
	publish_locked(l, &j, rc);
	flush_job_release(&j);
	/* The key file waits for the records that moved the key (see the top). */
	if (rc == 0 && j.persist_after && l->durable_seq >= j.persist_after &&
	    l->mac_persist_after == j.persist_after)
		persist_mac_locked(l);
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

/* Appends the recovery records for what the head file check found
 * (check_head in writer_open.c; mu held). */
static int record_trust(struct ledger *l, const struct ledger_open_info *info)
{
	char json[1024];
	int n, rc = 0;

	if (info->truncated) {
		n = trust_recovery_json(info, l->found_head_log, false, json, sizeof(json));
		rc = n < 0 ? n
			   : append_frame_locked(l, LEDGER_REC_RECOVERY, next_time(l), json,
						 (size_t)n);
		vg_warn("ledger '%s': %s (seq %" PRIu64 "..%" PRIu64 " missing); recorded", l->dir,
			info->why, info->missing_first, info->missing_last);
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

/* A writer with its options (defaults applied) and locks, before anything
 * is read; NULL without memory.  ledger_free releases it at any later step. */
static struct ledger *writer_new(const struct ledger_options *opts)
{
	struct ledger *l = vg_calloc(1, sizeof(*l));
	pthread_condattr_t ca;

	if (!l)
		return NULL;
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
	return l;
}

/* The recovery record for a torn tail that start-up cut (mu held). */
static int record_torn_tail(struct ledger *l, const struct ledger_open_info *info)
{
	char json[512];
	int n = snprintf(json, sizeof(json),
			 "{\"reason\":\"torn tail\",\"segment\":%" PRIu64 ",\"offset\":%" PRIu64
			 ",\"bytes_dropped\":%" PRIu64 ",\"first_dropped_seq\":%" PRIu64
			 ",\"frames_dropped\":%" PRIu64 ",\"last_valid_seq\":%" PRIu64 "}",
			 info->recovered_segment, info->recovered_offset, info->dropped_bytes,
			 info->first_dropped_seq, info->dropped_frames, l->next_seq - 1);

	return append_frame_locked(l, LEDGER_REC_RECOVERY, next_time(l), json, (size_t)n);
}

/*
 * The records start-up owes, durable before ledger_open returns: what a torn
 * tail lost and what the head file check found (recovery records), a seal
 * over records left unsealed, and a key rotation when the clock has entered
 * a later epoch.  The key file is rewritten once they are durable.
 */
static int write_start_records(struct ledger *l, struct ledger_open_info *info)
{
	int rc = 0;

	pthread_mutex_lock(&l->mu);
	l->durable_seq = l->next_seq - 1;
	memcpy(l->durable_hash, l->head, LEDGER_HASH_LEN);
	l->sealed_seq = l->unsealed ? 0 : l->next_seq - 1;
	l->last_append_mono = vg_mono_ns();
	l->first_unsealed_mono = l->last_append_mono;
	if (info->recovered)
		rc = record_torn_tail(l, info);
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
	if (rc == 0 && l->mac_persist_after)
		persist_mac_locked(l);
	info->next_seq = l->next_seq;
	pthread_mutex_unlock(&l->mu);
	return rc;
}

int ledger_open(const struct ledger_options *opts, struct ledger **out,
		struct ledger_open_info *info, char *err, size_t errcap)
{
	struct ledger_open_info local;
	struct ledger *l;
	int rc;

	*out = NULL;
	if (!info)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (!opts->dir || !opts->signing_key || !opts->mac_key) {
		snprintf(err, errcap, "ledger directory and keys are required");
		return -EINVAL;
	}
	l = writer_new(opts);
	if (!l)
		return -ENOMEM;
	if ((rc = hasher_init(&l->hs)) < 0) {
		snprintf(err, errcap, "SHA-256 is not available");
		goto fail;
	}
	if ((rc = writer_load(l, opts, info, err, errcap)) < 0)
		goto fail;
	if ((rc = write_start_records(l, info)) < 0) {
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
	if (l->mac_persist_after && l->durable_seq >= l->mac_persist_after)
		persist_mac_locked(l);
	pthread_mutex_unlock(&l->mu);
	ledger_free(l);
	return rc;
}
