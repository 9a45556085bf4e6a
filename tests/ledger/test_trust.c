/*
 * test_trust.c - what a restarted writer vouches for.  Records after the
 * last seal carry no key: someone who can write the ledger directory while
 * no writer runs can append records with the right seq, previous hash and
 * CRC.  The writer must record them as unvouched (never seal them as its
 * own), while still vouching for its own records a crash left unsealed; and
 * it must notice records it had made durable that are gone (the ledger cut
 * back to an earlier seal, or deleted), which a cut ledger cannot show.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>

/*
 * The attacker: appends n event records to the last segment of dir that
 * continue the chain (right seq, previous hash and CRC; no key needed),
 * optionally followed by a "checkpoint" record that is not signed by the
 * writer's key.  Returns the seq of the first record appended, or 0.
 */
static uint64_t forge_tail(const char *dir, int n, bool fake_seal)
{
	struct timage im;
	struct hasher hs;
	struct vbuf add;
	size_t offs[4096], nf;
	struct tseg *s;
	uint8_t prev[LEDGER_HASH_LEN], hash[LEDGER_HASH_LEN];
	uint64_t seq, t, first;
	char path[4200];
	int rc = 0;

	if (timage_load(dir, &im) < 0 || im.n == 0 || hasher_init(&hs) < 0)
		return 0;
	s = &im.s[im.n - 1];
	nf = tseg_frames(s->buf, s->len, offs, VG_ARRAY_LEN(offs));
	if (nf == 0) {
		timage_free(&im);
		hasher_release(&hs);
		return 0;
	}
	{
		const uint8_t *f = s->buf + offs[nf - 1];

		hasher_leaf(&hs, f, tframe_len(f) - 4, prev);
		seq = tframe_seq(f) + 1;
		t = tframe_time(f) + 1000;
	}
	first = seq;
	vbuf_init(&add, 1 << 20);
	for (int i = 0; i < n && rc == 0; i++, seq++) {
		char p[64];
		int len = snprintf(p, sizeof(p), "{\"forged\":%d}", i);

		rc = frame_encode(&hs, &add, LEDGER_REC_EVENT, seq, t, prev, p, (size_t)len, hash);
		memcpy(prev, hash, LEDGER_HASH_LEN);
	}
	if (rc == 0 && fake_seal) {
		static const char note[] = "vigil/ledger/not-a-real-checkpoint\n";

		rc = frame_encode(&hs, &add, LEDGER_REC_CHECKPOINT, seq, t, prev, note,
				  sizeof(note) - 1, hash);
	}
	tseg_path(path, dir, s->no);
	if (rc == 0) {
		int fd = open(path, O_WRONLY | O_APPEND);

		rc = fd < 0 || write(fd, add.data, add.len) != (ssize_t)add.len ? -EIO : 0;
		if (fd >= 0)
			close(fd);
	}
	vbuf_release(&add);
	timage_free(&im);
	hasher_release(&hs);
	return rc == 0 ? first : 0;
}

/* Opens t's ledger, appends n events, and closes it (sealed) or, with
 * crash, leaves it like a killed writer: durable and unsealed. */
static int write_events(const struct tledger *t, int first, int n, bool crash,
			struct ledger_open_info *info, uint64_t *last)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	int rc, status = 0;
	pid_t pid;

	tledger_options(t, &o);
	o.checkpoint_ms = 60000; /* no seal of its own before the "crash" */
	o.heartbeat_ms = -1;
	if (!crash) {
		rc = ledger_open(&o, &l, info, err, sizeof(err));
		if (rc < 0) {
			printf("# open: %s\n", err);
			return rc;
		}
		rc = tledger_append_events(l, first, n, 20, last);
		return ledger_close(l) < 0 ? -EIO : rc;
	}
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		rc = ledger_open(&o, &l, info, err, sizeof(err));
		if (rc == 0)
			rc = tledger_append_events(l, first, n, 20, last);
		if (rc == 0)
			rc = ledger_wait_durable(l, *last, 10000);
		fflush(stdout);
		_exit(rc ? 1 : 0); /* no close: no seal */
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -EIO;
	/* The child's last seq: what its head file says it wrote. */
	{
		struct ledger_head h;
		char path[4300];

		ledger_head_path(t->dir, path, sizeof(path));
		if (ledger_head_read(path, &h) < 0)
			return -EIO;
		*last = h.written_seq;
	}
	return 0;
}

/* Reopens and closes t's ledger (what a restarted vigild does first). */
static int reopen(const struct tledger *t, struct ledger_open_info *info)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	int rc;

	tledger_options(t, &o);
	rc = ledger_open(&o, &l, info, err, sizeof(err));
	if (rc < 0) {
		printf("# reopen: %s\n", err);
		return rc;
	}
	return ledger_close(l);
}

static void test_forged_tail(bool fake_seal)
{
	struct tledger t;
	struct ledger_open_info info;
	struct ledger_verify_result res;
	const struct ledger_finding *f;
	uint64_t last = 0, forged;
	const char *how = fake_seal ? " and a checkpoint not signed by the key" : "";

	TAP_OK(tledger_init(&t, 900) == 0, "keys created");
	TAP_OK(write_events(&t, 0, 10, false, &info, &last) == 0, "10 events, closed");
	forged = forge_tail(t.dir, 3, fake_seal);
	TAP_OK(forged > 0, "3 records forged after seq %llu%s (no key needed)",
	       (unsigned long long)forged - 1, how);
	TAP_OK(reopen(&t, &info) == 0, "the writer reopens and closes");
	TAP_OK(info.head == LEDGER_HEAD_OK, "its head file verifies");
	TAP_OK(info.unvouched_first == forged && info.unvouched_last == forged + 2 + fake_seal,
	       "open reports seq %llu..%llu as unvouched (got %llu..%llu)",
	       (unsigned long long)forged, (unsigned long long)(forged + 2 + fake_seal),
	       (unsigned long long)info.unvouched_first, (unsigned long long)info.unvouched_last);
	TAP_OK(!info.truncated, "and nothing as missing");

	tledger_verify(&t, true, true, NULL, &res);
	f = tledger_find(&res, LF_UNVOUCHED);
	TAP_OK(res.verdict != LEDGER_OK && f && f->seq == forged,
	       "verify (MAC, --require-sealed) does not pass: UNVOUCHED from seq %llu",
	       (unsigned long long)forged);
	if (!fake_seal) {
		TAP_OK(res.verdict == LEDGER_INCOMPLETE && tledger_only(&res, LF_UNVOUCHED),
		       "it is INCOMPLETE (exit 2), and UNVOUCHED is the only finding");
		TAP_EQ_U64(res.unvouched, 3, "3 records unvouched");
	} else {
		TAP_OK(res.verdict == LEDGER_TAMPERED && tledger_has(&res, LF_CHECKPOINT_BAD),
		       "the fake checkpoint itself is tampering (exit 1)");
	}
	if (!f)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
	tledger_verify(&t, true, false, NULL, &res);
	TAP_OK(res.verdict != LEDGER_OK && tledger_has(&res, LF_UNVOUCHED),
	       "and not without --require-sealed either");
	ledger_verify_result_release(&res);
	tledger_cleanup(&t);
}

/* A crash of the writer itself leaves durable, unsealed records: its own. */
static void test_own_crash_tail(void)
{
	struct tledger t;
	struct ledger_open_info info;
	struct ledger_verify_result res;
	uint64_t last = 0, forged;

	TAP_OK(tledger_init(&t, 900) == 0, "keys created");
	TAP_OK(write_events(&t, 0, 5, false, &info, &last) == 0, "5 events, closed");
	TAP_OK(write_events(&t, 5, 7, true, &info, &last) == 0,
	       "7 more, and the writer dies before sealing them");
	TAP_OK(reopen(&t, &info) == 0 && info.sealed_tail, "reopen seals the unsealed tail");
	TAP_OK(info.unvouched_first == 0 && !info.truncated,
	       "its own records are vouched for (head file), nothing missing");
	tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(res.verdict == LEDGER_OK, "verify (MAC, --require-sealed) passes");
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	ledger_verify_result_release(&res);

	/* A crash, then someone appends: only theirs are unvouched. */
	TAP_OK(write_events(&t, 20, 4, true, &info, &last) == 0, "4 more, writer dies again");
	forged = forge_tail(t.dir, 2, false);
	TAP_OK(forged == last + 1, "2 forged right after its last record (seq %llu)",
	       (unsigned long long)last);
	TAP_OK(reopen(&t, &info) == 0, "reopen");
	TAP_OK(info.unvouched_first == forged && info.unvouched_last == forged + 1,
	       "only the forged seq %llu..%llu are unvouched (got %llu..%llu)",
	       (unsigned long long)forged, (unsigned long long)forged + 1,
	       (unsigned long long)info.unvouched_first, (unsigned long long)info.unvouched_last);
	ledger_verify_result_release(&res);
	tledger_cleanup(&t);
}

/* Without a head file (or with one that does not verify) nothing after
 * the last seal signed by the key is vouched for. */
static void test_head_missing_or_bad(void)
{
	struct tledger t;
	struct ledger_open_info info;
	struct ledger_verify_result res;
	char head[4300], *text = NULL;
	size_t len;
	uint64_t last = 0, first_own;

	TAP_OK(tledger_init(&t, 900) == 0, "keys created");
	ledger_head_path(t.dir, head, sizeof(head));
	TAP_OK(write_events(&t, 0, 5, false, &info, &last) == 0, "5 events, closed");
	first_own = last + 2; /* after the closing seal */
	TAP_OK(write_events(&t, 5, 3, true, &info, &last) == 0, "3 more, writer dies");
	TAP_OK(vg_read_file(head, 4096, &text, &len) == 0 && len == LEDGER_HEAD_LEN,
	       "the head file is %zu bytes", len);
	if (text) {
		text[len - 3] = text[len - 3] == '0' ? '1' : '0'; /* the MAC */
		tfile_write(head, text, len, 0600);
	}
	TAP_OK(reopen(&t, &info) == 0 && info.head == LEDGER_HEAD_BAD,
	       "a head file whose MAC does not verify is reported");
	TAP_OK(info.unvouched_first == first_own && info.unvouched_last == last,
	       "the unsealed seq %llu..%llu are unvouched (got %llu..%llu)",
	       (unsigned long long)first_own, (unsigned long long)last,
	       (unsigned long long)info.unvouched_first, (unsigned long long)info.unvouched_last);
	vg_free(text);

	TAP_OK(write_events(&t, 10, 2, true, &info, &last) == 0, "2 more, writer dies");
	TAP_OK(unlink(head) == 0, "the head file removed");
	TAP_OK(reopen(&t, &info) == 0 && info.head == LEDGER_HEAD_NONE &&
		       info.unvouched_first == last - 1 && info.unvouched_last == last,
	       "no head file: the 2 unsealed records are unvouched");
	tledger_verify(&t, true, true, NULL, &res);
	TAP_EQ_U64(res.unvouched_ranges, 2, "verify reports both ranges");
	TAP_OK(res.verdict == LEDGER_INCOMPLETE, "INCOMPLETE");
	ledger_verify_result_release(&res);
	tledger_cleanup(&t);
}

/* The ledger cut back to an earlier seal, or deleted: the head file saw more. */
static void test_truncated(void)
{
	struct tledger t;
	struct ledger_open_info info;
	struct ledger_verify_result res;
	const struct ledger_finding *f;
	struct timage im;
	size_t offs[256], n, cut = 0;
	uint64_t last = 0, cut_seq = 0, end;

	TAP_OK(tledger_init(&t, 900) == 0, "keys created");
	TAP_OK(write_events(&t, 0, 10, false, &info, &last) == 0, "10 events, closed");
	TAP_OK(write_events(&t, 10, 24, false, &info, &end) == 0, "24 more, closed");
	end++; /* the closing seal */
	/* Back to the first close's seal. */
	if (timage_load(t.dir, &im) == 0) {
		n = tseg_frames(im.s[0].buf, im.s[0].len, offs, VG_ARRAY_LEN(offs));
		for (size_t j = 0; j < n; j++)
			if (rec_is_seal(tframe_type(im.s[0].buf + offs[j]))) {
				cut = offs[j] + tframe_len(im.s[0].buf + offs[j]);
				cut_seq = tframe_seq(im.s[0].buf + offs[j]);
				break;
			}
		im.s[0].len = cut;
		if (cut)
			timage_save(t.dir, &im);
		timage_free(&im);
	}
	TAP_OK(cut_seq == last + 1, "cut back to the seal at seq %llu",
	       (unsigned long long)cut_seq);
	TAP_OK(reopen(&t, &info) == 0, "the writer reopens the cut ledger");
	TAP_OK(info.truncated && !info.replaced && info.missing_first == cut_seq + 1 &&
		       info.missing_last >= end - 1 && info.found_last_seq == cut_seq,
	       "open reports seq %llu..%llu missing (got %llu..%llu)",
	       (unsigned long long)cut_seq + 1, (unsigned long long)end,
	       (unsigned long long)info.missing_first, (unsigned long long)info.missing_last);
	tledger_verify(&t, true, true, NULL, &res);
	f = tledger_find(&res, LF_TRUNCATED);
	TAP_OK(res.verdict == LEDGER_TAMPERED && f && f->seq == cut_seq + 1,
	       "verify with no trusted checkpoint: TRUNCATED (the writer's recovery record)");
	if (!f)
		tledger_dump(&res);
	ledger_verify_result_release(&res);

	/* Every segment deleted: a new ledger starts, and says what went. */
	{
		uint64_t *segs = NULL;
		size_t ns = 0;
		char path[4200];

		seg_list(t.dir, &segs, &ns);
		for (size_t i = 0; i < ns; i++) {
			tseg_path(path, t.dir, segs[i]);
			unlink(path);
		}
		vg_free(segs);
	}
	TAP_OK(reopen(&t, &info) == 0 && info.created,
	       "with every segment deleted a new ledger starts");
	TAP_OK(info.truncated && info.replaced && info.missing_first == 1,
	       "open reports the previous ledger gone (seq 1..%llu)",
	       (unsigned long long)info.missing_last);
	tledger_verify(&t, true, true, NULL, &res);
	TAP_OK(res.verdict == LEDGER_TAMPERED && tledger_has(&res, LF_TRUNCATED),
	       "verify of the new ledger: TRUNCATED");
	ledger_verify_result_release(&res);
	TAP_OK(reopen(&t, &info) == 0 && !info.truncated && !info.unvouched_first,
	       "the next open finds nothing more");
	tledger_cleanup(&t);
}

int main(void)
{
	test_forged_tail(false);
	test_forged_tail(true);
	test_own_crash_tail();
	test_head_missing_or_bad();
	test_truncated();
	return tap_done();
}
