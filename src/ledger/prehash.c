/*
 * prehash.c - checks the CRCs and computes the record hashes of a whole
 * segment on several threads, ahead of verify's walk.  The walk itself must
 * stay sequential (each link depends on the previous record), but hashing
 * is most of its cost and each record hashes independently: on two cores
 * this nearly doubles verify's throughput.  Frames are found by walking the
 * length fields; at the first implausible length the prehash stops and
 * verify falls back to hashing on its own (damage is rare and handled there).
 */
#include "prehash.h"

#include <errno.h>
#include <pthread.h>
#include <unistd.h>

#define PREHASH_MIN_FRAMES 2048 /* below this, threads cost more than they save */
#define PREHASH_MAX_THREADS 8

struct prehash_job {
	struct prehash *ph;
	const uint8_t *buf;
	size_t len, from, to;
	int rc;
};

static void *prehash_worker(void *arg)
{
	struct prehash_job *j = arg;
	struct hasher hs;
	struct ledger_record rec;

	j->rc = hasher_init(&hs);
	if (j->rc < 0)
		return NULL;
	for (size_t i = j->from; i < j->to; i++) {
		size_t off = j->ph->off[i];

		j->ph->status[i] = (uint8_t)frame_decode(&hs, j->buf + off, j->len - off, &rec);
		memcpy(j->ph->hash[i], rec.hash, LEDGER_HASH_LEN);
	}
	hasher_release(&hs);
	return NULL;
}

static unsigned prehash_threads(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	if (n < 1)
		return 1;
	return n > PREHASH_MAX_THREADS ? PREHASH_MAX_THREADS : (unsigned)n;
}

void prehash_begin(struct prehash *ph)
{
	memset(ph, 0, sizeof(*ph));
	ph->walk_off = SEG_HEADER_LEN;
	if (prehash_threads() < 2)
		ph->walk_done = true; /* one core: nothing to gain */
}

void prehash_walk(void *arg, const uint8_t *buf, size_t avail)
{
	struct prehash *ph = arg;
	size_t off = ph->walk_off;

	/* Walk the length fields of the frames complete so far: cheap while
	 * the bytes just read are still in the cache, and it finds every frame
	 * boundary. */
	while (!ph->walk_done && !ph->failed && off + FRAME_OVERHEAD <= avail) {
		uint32_t flen = vg_get_le32(buf + off);

		if (flen < FRAME_OVERHEAD || flen > FRAME_MAX) {
			ph->walk_done = true; /* damage: verify takes over from here */
			break;
		}
		if (flen > avail - off)
			break; /* not all read yet */
		if (ph->n == ph->cap) {
			size_t ncap = ph->cap ? ph->cap * 2 : 4096;
			size_t *no = vg_realloc(ph->off, ncap * sizeof(*no));

			if (!no) {
				ph->failed = true;
				break;
			}
			ph->off = no;
			ph->cap = ncap;
		}
		ph->off[ph->n++] = off;
		off += flen;
	}
	ph->walk_off = off;
}

void prehash_finish(struct prehash *ph, const uint8_t *buf, size_t len)
{
	struct prehash_job jobs[PREHASH_MAX_THREADS];
	pthread_t th[PREHASH_MAX_THREADS];
	unsigned nt = prehash_threads();
	size_t n;

	if (!ph->walk_done)
		prehash_walk(ph, buf, len); /* bytes not seen by a chunk callback */
	n = ph->n;
	ph->n = 0; /* nothing is usable until every part is hashed */
	if (ph->failed || nt < 2 || n < PREHASH_MIN_FRAMES)
		goto fail;
	ph->status = vg_malloc(n);
	ph->hash = vg_malloc(n * sizeof(*ph->hash));
	if (!ph->status || !ph->hash)
		goto fail;
	for (unsigned t = 0; t < nt; t++) {
		jobs[t] = (struct prehash_job){ .ph = ph, .buf = buf, .len = len,
						.from = n * t / nt, .to = n * (t + 1) / nt };
		if (t && pthread_create(&th[t], NULL, prehash_worker, &jobs[t]) != 0)
			jobs[t].rc = -EAGAIN;
	}
	prehash_worker(&jobs[0]);
	for (unsigned t = 1; t < nt; t++)
		if (jobs[t].rc != -EAGAIN)
			pthread_join(th[t], NULL);
	for (unsigned t = 0; t < nt; t++)
		if (jobs[t].rc < 0)
			goto fail; /* a part is missing: let verify hash everything */
	ph->n = n;
	return;
fail:
	prehash_release(ph);
}

bool prehash_get(struct prehash *ph, size_t off, enum frame_status *st,
		 uint8_t hash[LEDGER_HASH_LEN])
{
	while (ph->next < ph->n && ph->off[ph->next] < off)
		ph->next++;
	if (ph->next >= ph->n || ph->off[ph->next] != off)
		return false;
	*st = (enum frame_status)ph->status[ph->next];
	memcpy(hash, ph->hash[ph->next], LEDGER_HASH_LEN);
	return true;
}

void prehash_release(struct prehash *ph)
{
	vg_free(ph->off);
	vg_free(ph->status);
	vg_free(ph->hash);
	memset(ph, 0, sizeof(*ph));
}
