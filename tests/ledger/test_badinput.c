/*
 * test_badinput.c - robustness against bad input: ledger_verify,
 * ledger_reader and ledger_latest_checkpoint on directories and segment
 * files that are missing, empty, truncated or garbage give clear errors or
 * findings and never crash; ledger_open refuses damage in the middle of the
 * tail (-EUCLEAN) but recovers a torn tail and says so in a recovery record;
 * key text and key sources (file modes, env:, cmd:) are checked strictly.
 */
#include "helpers.h"
#include "tap.h"

#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static struct tledger T;

/* Runs verify, the reader and latest-checkpoint on dir; checks none crashed
 * (the test is running), verify gave a verdict or a clear error, and the
 * reader and checkpoint search did not report success on garbage. */
struct outcome {
	int vrc;
	struct ledger_verify_result res;
	int reader_rc;	   /* ledger_reader_open */
	int next_rc;	   /* last ledger_reader_next */
	unsigned records;  /* records the reader returned */
	char reader_err[256];
	int latest_rc;
};

static void run_all(const char *dir, struct outcome *o)
{
	struct ledger_reader *r;
	struct ledger_record rec;
	struct ledger_checkpoint cp;
	char err[256];

	memset(o, 0, sizeof(*o));
	o->vrc = tverify_dir(dir, &T.pub, &T.verify_key, true, NULL, &o->res);
	o->reader_rc = ledger_reader_open(dir, &r, o->reader_err, sizeof(o->reader_err));
	if (o->reader_rc == 0) {
		while ((o->next_rc = ledger_reader_next(r, &rec, o->reader_err,
							sizeof(o->reader_err))) == 1)
			o->records++;
		ledger_reader_free(r);
	}
	o->latest_rc = ledger_latest_checkpoint(dir, &cp, NULL, err, sizeof(err));
}

static void release(struct outcome *o)
{
	ledger_verify_result_release(&o->res);
}

static void seg1_write(const char *dir, const void *data, size_t len)
{
	char path[4200];

	tdir_remove(dir);
	base_mkdir_p(dir, 0700, NULL);
	tseg_path(path, dir, 1);
	if (tfile_write(path, data, len, 0600) < 0)
		printf("# cannot write %s\n", path);
}

static void valid_header(uint8_t hdr[SEG_HEADER_LEN])
{
	struct seg_header h = { .version = SEG_VERSION, .segno = 1, .first_seq = 1 };

	memset(h.log_id, 0xab, sizeof(h.log_id));
	seg_header_encode(&h, hdr);
}

static void test_bad_directories(void)
{
	char dir[4300];
	struct outcome o;
	uint8_t buf[8192];
	uint64_t rs = 12345;

	/* Nonexistent directory. */
	snprintf(dir, sizeof(dir), "%s/nonexistent", T.root);
	run_all(dir, &o);
	TAP_OK(o.vrc == -ENOENT && o.res.verdict == LEDGER_ERROR && strstr(o.res.error, "nonexistent"),
	       "verify: nonexistent directory -> error (%s)", o.res.error);
	TAP_OK(o.reader_rc == -ENOENT && o.reader_err[0], "reader: nonexistent directory -> -ENOENT (%s)",
	       o.reader_err);
	TAP_OK(o.latest_rc == -ENOENT, "latest checkpoint: nonexistent directory -> -ENOENT");
	release(&o);

	/* Empty directory. */
	snprintf(dir, sizeof(dir), "%s/empty", T.root);
	base_mkdir_p(dir, 0700, NULL);
	run_all(dir, &o);
	TAP_OK(o.vrc == -ENOENT && o.res.verdict == LEDGER_ERROR && strstr(o.res.error, "no ledger segments"),
	       "verify: empty directory -> error (%s)", o.res.error);
	TAP_OK(o.reader_rc == 0 && o.next_rc == 0 && o.records == 0,
	       "reader: empty directory -> no records");
	TAP_OK(o.latest_rc == -ENOENT, "latest checkpoint: empty directory -> -ENOENT");
	release(&o);

	/* A file instead of a directory. */
	snprintf(dir, sizeof(dir), "%s/afile", T.root);
	tfile_write(dir, "x", 1, 0600);
	run_all(dir, &o);
	TAP_OK(o.vrc < 0 && o.res.verdict == LEDGER_ERROR && o.res.error[0],
	       "verify: a regular file as the directory -> error (%s)", o.res.error);
	TAP_OK(o.reader_rc < 0, "reader: a regular file as the directory -> error");
	release(&o);

	snprintf(dir, sizeof(dir), "%s/bad", T.root);

	/* Empty segment file. */
	seg1_write(dir, "", 0);
	run_all(dir, &o);
	TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_TAMPERED && tledger_has(&o.res, LF_SEGMENT_HEADER),
	       "verify: empty segment file -> SEGMENT_HEADER");
	TAP_OK(o.reader_rc == 0 && o.next_rc == -EBADMSG && strstr(o.reader_err, "too short"),
	       "reader: empty segment file -> -EBADMSG (%s)", o.reader_err);
	TAP_OK(o.latest_rc < 0, "latest checkpoint: empty segment -> error");
	release(&o);

	/* A file shorter than the header (a valid header's first 50 bytes). */
	valid_header(buf);
	seg1_write(dir, buf, 50);
	run_all(dir, &o);
	TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_TAMPERED && tledger_has(&o.res, LF_SEGMENT_HEADER),
	       "verify: segment shorter than its header -> SEGMENT_HEADER");
	TAP_OK(o.next_rc == -EBADMSG, "reader: segment shorter than its header -> -EBADMSG (%s)",
	       o.reader_err);
	release(&o);

	/* A header alone: an empty but valid ledger segment. */
	seg1_write(dir, buf, SEG_HEADER_LEN);
	run_all(dir, &o);
	TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_OK && o.res.records == 0,
	       "verify: header-only segment -> OK, no records");
	TAP_OK(o.next_rc == 0 && o.records == 0, "reader: header-only segment -> no records");
	release(&o);

	/* Garbage. */
	for (size_t i = 0; i < sizeof(buf); i++)
		buf[i] = (uint8_t)trand(&rs);
	seg1_write(dir, buf, sizeof(buf));
	run_all(dir, &o);
	TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_TAMPERED && tledger_has(&o.res, LF_SEGMENT_HEADER),
	       "verify: garbage segment -> SEGMENT_HEADER (%zu findings)", o.res.nfindings);
	TAP_OK(o.next_rc == -EBADMSG && strstr(o.reader_err, "bad magic"),
	       "reader: garbage segment -> -EBADMSG (%s)", o.reader_err);
	release(&o);

	/* Garbage after a valid header. */
	valid_header(buf);
	seg1_write(dir, buf, sizeof(buf));
	run_all(dir, &o);
	TAP_OK(o.vrc == 0 && o.res.verdict != LEDGER_OK && o.res.nfindings > 0,
	       "verify: random bytes after a valid header -> findings (verdict %d)", o.res.verdict);
	TAP_OK(o.next_rc == -EBADMSG && o.records == 0, "reader: random bytes after a header -> -EBADMSG (%s)",
	       o.reader_err);
	release(&o);

	/* A frame whose length field is 0xFFFFFFFF, alone and followed by a
	 * valid frame. */
	{
		struct hasher hs;
		struct vbuf v;
		uint8_t zero[32] = { 0 }, hash[32];
		size_t ff_at;

		hasher_init(&hs);
		vbuf_init(&v, 1 << 20);
		vbuf_append(&v, buf, SEG_HEADER_LEN);
		frame_encode(&hs, &v, LEDGER_REC_EVENT, 1, 1, zero, "{}", 2, hash);
		ff_at = v.len;
		frame_encode(&hs, &v, LEDGER_REC_EVENT, 2, 2, hash, "{\"a\":1}", 7, hash);
		vg_put_le32(v.data + ff_at, 0xFFFFFFFFu);
		seg1_write(dir, v.data, v.len);
		run_all(dir, &o);
		TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_INCOMPLETE &&
			       tledger_has(&o.res, LF_TORN_TAIL) && o.res.records == 1,
		       "verify: length 0xFFFFFFFF at the end -> TORN_TAIL after 1 good record");
		TAP_OK(o.records == 1 && o.next_rc == -EBADMSG,
		       "reader: 1 record, then -EBADMSG (%s)", o.reader_err);
		release(&o);

		/* Now followed by a valid frame: damage, not a torn tail. */
		frame_encode(&hs, &v, LEDGER_REC_EVENT, 3, 3, hash, "{}", 2, hash);
		seg1_write(dir, v.data, v.len);
		run_all(dir, &o);
		TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_TAMPERED && tledger_has(&o.res, LF_FRAME),
		       "verify: length 0xFFFFFFFF before a valid frame -> FRAME");
		release(&o);
		vbuf_release(&v);
		hasher_release(&hs);
	}

	/* A directory named like a segment. */
	tdir_remove(dir);
	{
		char sub[4400];

		snprintf(sub, sizeof(sub), "%s/0000000001.seg", dir);
		base_mkdir_p(sub, 0700, NULL);
	}
	run_all(dir, &o);
	TAP_OK(o.vrc == 0 && o.res.verdict == LEDGER_TAMPERED && tledger_has(&o.res, LF_SEGMENT_HEADER),
	       "verify: a directory named like a segment -> SEGMENT_HEADER");
	TAP_OK(o.next_rc < 0, "reader: a directory named like a segment -> error (%s)", o.reader_err);
	release(&o);
	tdir_remove(dir);
}

static void test_verify_options(void)
{
	struct ledger_verify_options vo = { 0 };
	struct ledger_verify_result r;
	const char *tr[1] = { "vigil/ledger/nonsense\n" };
	int rc;

	rc = ledger_verify(&vo, &r);
	TAP_OK(rc == -EINVAL && r.verdict == LEDGER_ERROR, "verify without dir and key -> -EINVAL");
	ledger_verify_result_release(&r);
	vo.dir = T.dir;
	vo.pub = &T.pub;
	vo.trusted = tr;
	vo.ntrusted = 1;
	rc = ledger_verify(&vo, &r);
	TAP_OK(rc == -EINVAL && strstr(r.error, "trusted checkpoint 1"),
	       "a malformed trusted checkpoint -> -EINVAL (%s)", r.error);
	ledger_verify_result_release(&r);
}

/* ---- the writer on damaged ledgers ---------------------------------------------------- */

static int build(const char *dir, int events)
{
	struct ledger_options o;
	struct ledger *l;
	char err[256];
	uint64_t seq;
	int rc;

	tdir_remove(dir);
	tledger_options(&T, &o);
	o.dir = dir;
	rc = ledger_open(&o, &l, NULL, err, sizeof(err));
	if (rc < 0)
		return rc;
	rc = tledger_append_events(l, 0, events, 10, &seq);
	return ledger_close(l) ? -EIO : rc;
}

static int open_dir(const char *dir, struct ledger **l, struct ledger_open_info *info, char *err,
		    size_t errcap)
{
	struct ledger_options o;

	tledger_options(&T, &o);
	o.dir = dir;
	return ledger_open(&o, l, info, err, errcap);
}

static void test_open_refuses_damage(void)
{
	struct timage im, after;
	struct ledger *l = NULL;
	char err[512], dir[4300];
	size_t offs[64], n;
	int rc;

	snprintf(dir, sizeof(dir), "%s/damaged", T.root);
	TAP_OK(build(dir, 10) == 0, "a ledger of 10 events");
	timage_load(dir, &im);
	n = tseg_frames(im.s[0].buf, im.s[0].len, offs, 64);
	/* Flip a payload byte of the 3rd record: its CRC fails, valid follow. */
	im.s[0].buf[offs[2] + FRAME_HEAD_LEN + 2] ^= 0x20;
	timage_save(dir, &im);
	rc = open_dir(dir, &l, NULL, err, sizeof(err));
	TAP_OK(rc == -EUCLEAN && strstr(err, "not a torn write"),
	       "open refuses damage in the middle with -EUCLEAN (%s)", err);
	if (rc == 0)
		ledger_close(l);
	timage_load(dir, &after);
	TAP_OK(after.n == 1 && after.s[0].len == im.s[0].len &&
		       memcmp(after.s[0].buf, im.s[0].buf, im.s[0].len) == 0,
	       "and leaves the evidence untouched");
	timage_free(&after);

	/* A damaged segment header in the last segment. */
	im.s[0].buf[offs[2] + FRAME_HEAD_LEN + 2] ^= 0x20;
	im.s[0].buf[20] ^= 1;
	timage_save(dir, &im);
	rc = open_dir(dir, &l, NULL, err, sizeof(err));
	TAP_OK(rc == -EUCLEAN && strstr(err, "damaged header"),
	       "open refuses a damaged segment header with -EUCLEAN (%s)", err);
	if (rc == 0)
		ledger_close(l);

	/* The last segment file renamed. */
	im.s[0].buf[20] ^= 1;
	im.s[0].no = 7;
	timage_save(dir, &im);
	rc = open_dir(dir, &l, NULL, err, sizeof(err));
	TAP_OK(rc == -EUCLEAN && strstr(err, "says it is segment"),
	       "open refuses a renamed last segment with -EUCLEAN (%s)", err);
	if (rc == 0)
		ledger_close(l);
	timage_free(&im);
	(void)n;
}

static void test_torn_tail_recovery(void)
{
	struct timage im;
	struct ledger *l = NULL;
	struct ledger_open_info info;
	struct ledger_verify_result res;
	struct ledger_reader *r;
	struct ledger_record rec;
	char err[512], dir[4300];
	size_t offs[64], n, old_len, last_off;
	uint64_t last_seq;
	unsigned recoveries = 0;
	json_t *j = NULL;
	int rc;

	snprintf(dir, sizeof(dir), "%s/torn", T.root);
	TAP_OK(build(dir, 10) == 0, "a ledger of 10 events");
	timage_load(dir, &im);
	n = tseg_frames(im.s[0].buf, im.s[0].len, offs, 64);
	last_off = offs[n - 1];
	last_seq = tframe_seq(im.s[0].buf + last_off);
	old_len = im.s[0].len;
	/* A torn write: the first half of the next frame. */
	{
		uint32_t fl = tframe_len(im.s[0].buf + offs[1]);
		uint8_t *half = malloc(fl);

		memcpy(half, im.s[0].buf + offs[1], fl);
		vg_put_le64(half + 8, last_seq + 1);
		tseg_insert(&im.s[0], im.s[0].len, half, fl / 2);
		free(half);
	}
	timage_save(dir, &im);
	rc = tverify_dir(dir, &T.pub, &T.verify_key, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_INCOMPLETE && tledger_only(&res, LF_TORN_TAIL),
	       "verify before recovery: INCOMPLETE, TORN_TAIL");
	ledger_verify_result_release(&res);

	rc = open_dir(dir, &l, &info, err, sizeof(err));
	TAP_OK(rc == 0 && info.recovered, "open recovers the torn tail (%s)", rc ? err : "ok");
	if (rc)
		goto out;
	TAP_EQ_U64(info.recovered_segment, 1, "info: segment");
	TAP_EQ_U64(info.recovered_offset, old_len, "info: cut where the valid records end");
	TAP_EQ_U64(info.dropped_bytes, im.s[0].len - old_len, "info: bytes dropped");
	TAP_EQ_U64(info.first_dropped_seq, last_seq + 1, "info: first dropped seq");
	TAP_EQ_U64(info.dropped_frames, 1, "info: frames dropped");
	ledger_close(l);

	rc = ledger_reader_open(dir, &r, err, sizeof(err));
	while (rc >= 0 && (rc = ledger_reader_next(r, &rec, err, sizeof(err))) == 1) {
		if (rec.type != LEDGER_REC_RECOVERY)
			continue;
		recoveries++;
		TAP_EQ_U64(rec.seq, last_seq + 1, "the recovery record takes the first dropped seq");
		j = json_loadb((const char *)rec.payload, rec.payload_len, 0, NULL);
	}
	TAP_OK(rc == 0, "the reader walks the recovered ledger to the end");
	ledger_reader_free(r);
	TAP_EQ_U64(recoveries, 1, "one recovery record");
	TAP_OK(j && json_is_object(j), "its payload is a JSON object");
	if (j) {
		const char *reason = json_string_value(json_object_get(j, "reason"));

		TAP_OK(reason && !strcmp(reason, "torn tail"), "reason: torn tail");
		TAP_EQ_U64(json_integer_value(json_object_get(j, "segment")), 1, "JSON segment");
		TAP_EQ_U64(json_integer_value(json_object_get(j, "offset")), old_len, "JSON offset");
		TAP_EQ_U64(json_integer_value(json_object_get(j, "bytes_dropped")),
			   im.s[0].len - old_len, "JSON bytes_dropped");
		TAP_EQ_U64(json_integer_value(json_object_get(j, "first_dropped_seq")), last_seq + 1,
			   "JSON first_dropped_seq");
		TAP_EQ_U64(json_integer_value(json_object_get(j, "frames_dropped")), 1,
			   "JSON frames_dropped");
		TAP_EQ_U64(json_integer_value(json_object_get(j, "last_valid_seq")), last_seq,
			   "JSON last_valid_seq");
		json_decref(j);
	}
	rc = tverify_dir(dir, &T.pub, &T.verify_key, true, NULL, &res);
	TAP_OK(rc == 0 && res.verdict == LEDGER_OK && res.recoveries == 1,
	       "verify after recovery: OK, one recovery counted");
	if (res.verdict != LEDGER_OK)
		tledger_dump(&res);
	ledger_verify_result_release(&res);
out:
	timage_free(&im);
}

/*
 * A record at the end of the ledger claims a MAC epoch far in the future (a
 * key rotation record with its CRC fixed, or an unsigned checkpoint): the
 * writer must not try to evolve its key that far (2^62 hashes) on open.  Run
 * in a child with a time limit so a hang fails the test instead of the suite.
 */
static void open_far_epoch(bool rotation)
{
	struct timage im;
	char dir[4300], err[512];
	size_t offs[64], n;
	pid_t pid;
	int status = 0;

	snprintf(dir, sizeof(dir), "%s/farepoch%d", T.root, rotation);
	if (build(dir, 5) < 0 || timage_load(dir, &im) < 0) {
		TAP_OK(0, "a ledger to damage");
		return;
	}
	n = tseg_frames(im.s[0].buf, im.s[0].len, offs, 64);
	{
		struct hasher hs;
		struct vbuf v;
		struct ledger_record rec;
		uint8_t h[32];
		const uint8_t *last = im.s[0].buf + offs[n - 1];
		char payload[LEDGER_CHECKPOINT_MAX];
		int plen;

		hasher_init(&hs);
		frame_decode(&hs, last, tframe_len(last), &rec);
		if (rotation) {
			plen = snprintf(payload, sizeof(payload),
					"{\"epoch\":%llu,\"previous_epoch\":0}", 1ull << 62);
		} else {
			/* The last checkpoint, its epoch line edited (signature now bad). */
			struct ledger_checkpoint cp;

			ledger_checkpoint_parse((const char *)rec.payload, rec.payload_len, &cp, err,
						sizeof(err));
			cp.epoch = 1ull << 62;
			plen = ledger_checkpoint_format(&cp, payload, sizeof(payload));
		}
		vbuf_init(&v, 1 << 20);
		vbuf_append(&v, im.s[0].buf, im.s[0].len);
		frame_encode(&hs, &v, rotation ? LEDGER_REC_KEY_ROTATION : LEDGER_REC_CHECKPOINT,
			     rec.seq + 1, rec.time_ns, rec.hash, payload, (size_t)plen, h);
		free(im.s[0].buf);
		im.s[0].buf = malloc(v.len);
		memcpy(im.s[0].buf, v.data, v.len);
		im.s[0].len = v.len;
		vbuf_release(&v);
		hasher_release(&hs);
	}
	timage_save(dir, &im);
	timage_free(&im);

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct ledger *l;
		int rc;

		alarm(20);
		rc = open_dir(dir, &l, NULL, err, sizeof(err));
		if (rc == 0)
			ledger_close(l);
		printf("# open: %s\n", rc ? err : "ok");
		fflush(stdout);
		_exit(rc == -EUCLEAN ? 0 : rc == 0 ? 1 : 2);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	TAP_OK(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM),
	       "open with a %s claiming epoch 2^62 at the end does not hang",
	       rotation ? "key rotation record" : "forged checkpoint");
	TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "it refuses with -EUCLEAN");
}

/*
 * The last record carries a time far in the future (a clock that jumped, or
 * an edit with the CRC fixed).  Record times never go back, so the writer
 * keeps stamping that time; but its MAC key follows the clock, so opening
 * does not evolve the key toward the year 2262 (10 million hashes, or 9e9
 * with one-second epochs), and what it writes still verifies with the MAC.
 */
static void test_future_time(void)
{
	struct ledger_verify_result res;
	struct timage im;
	char dir[4300], err[512];
	size_t offs[64], n;
	pid_t pid;
	int status = 0, rc;

	snprintf(dir, sizeof(dir), "%s/future", T.root);
	if (build(dir, 5) < 0 || timage_load(dir, &im) < 0) {
		TAP_OK(0, "a ledger to damage");
		return;
	}
	n = tseg_frames(im.s[0].buf, im.s[0].len, offs, 64);
	/* The last event (before the closing seal): its time, CRC fixed; then
	 * drop the seal so the writer must seal the tail itself. */
	{
		size_t ev = offs[n - 2];

		vg_put_le64(im.s[0].buf + ev + 16, 1ull << 63);
		tframe_fix_crc(im.s[0].buf + ev);
		im.s[0].len = offs[n - 1];
	}
	timage_save(dir, &im);
	timage_free(&im);
	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		struct ledger *l;
		uint64_t seq;

		alarm(20);
		rc = open_dir(dir, &l, NULL, err, sizeof(err));
		if (rc == 0) {
			rc = tledger_append_events(l, 100, 2, 10, &seq);
			rc = ledger_close(l) ? -EIO : rc;
		}
		if (rc)
			printf("# %s\n", err);
		fflush(stdout);
		_exit(rc ? 1 : 0);
	}
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	TAP_OK(!(WIFSIGNALED(status) && WTERMSIG(status) == SIGALRM),
	       "open after a record from the year 2262 does not evolve the key toward it");
	TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "it opens, appends and closes");
	rc = tverify_dir(dir, &T.pub, &T.verify_key, true, NULL, &res);
	/* The edit itself is reported (the edited record's hash changed); what the
	 * writer added after it verifies, MAC included. */
	TAP_OK(rc == 0 && res.seals_mac_ok == res.seals && !tledger_has(&res, LF_KEY_EPOCH) &&
		       !tledger_has(&res, LF_MAC_BAD),
	       "the writer's seals after it verify with the MAC key (%" PRIu64 "/%" PRIu64 ")",
	       res.seals_mac_ok, res.seals);
	if (tledger_has(&res, LF_KEY_EPOCH) || tledger_has(&res, LF_MAC_BAD))
		tledger_dump(&res);
	ledger_verify_result_release(&res);
}

static void test_append_limits(void)
{
	struct ledger *l;
	char err[256], dir[4300];
	uint64_t seq;
	uint8_t *big;

	snprintf(dir, sizeof(dir), "%s/limits", T.root);
	if (open_dir(dir, &l, NULL, err, sizeof(err)) < 0) {
		TAP_OK(0, "open (%s)", err);
		return;
	}
	TAP_OK(ledger_append(l, LEDGER_REC_CHECKPOINT, "x", 1, &seq) == -EINVAL,
	       "appending a checkpoint by hand -> -EINVAL");
	TAP_OK(ledger_append(l, LEDGER_REC_RECOVERY, "x", 1, &seq) == -EINVAL,
	       "appending a recovery record by hand -> -EINVAL");
	TAP_OK(ledger_append(l, 99, "x", 1, &seq) == -EINVAL, "an unknown type -> -EINVAL");
	big = malloc(LEDGER_MAX_PAYLOAD + 1);
	if (big) {
		memset(big, 'x', LEDGER_MAX_PAYLOAD + 1);
		TAP_OK(ledger_append(l, LEDGER_REC_EVENT, big, LEDGER_MAX_PAYLOAD + 1, &seq) ==
			       -EMSGSIZE,
		       "a payload over 16 MiB -> -EMSGSIZE");
		free(big);
	}
	TAP_OK(ledger_append(l, LEDGER_REC_EVENT, "", 0, &seq) == 0 && seq == 1,
	       "an empty payload is a record");
	ledger_close(l);
}

/* ---- keys ---------------------------------------------------------------------------- */

static void test_key_text(void)
{
	static const char hex64[] =
		"00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";
	struct ledger_pubkey pub;
	struct ledger_mackey mk;
	char text[512];
	static const char *const bad_pub[] = {
		"",
		"vigil-ed25519-public-v1:",
		"vigil-ed25519-public-v1:0011",
		"vigil-ed25519-secret-v1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-ed25519-public-v2:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-ed25519-public-v1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeefg",
		"vigil-ed25519-public-v1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff00",
		" vigil-ed25519-public-v1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v1:0:900:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	};
	static const char *const bad_mac[] = {
		"",
		"vigil-mac-v1:",
		"vigil-mac-v1:0:900:0",
		"vigil-mac-v1:0:900:0:",
		"vigil-mac-v1:0:900:0:0011",
		"vigil-mac-v1:0:0:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v1:0:99999999:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v1:-1:900:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v1:0:900:99999999999999999999:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v1:0:900:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeffaa",
		"vigil-mac-v1:0:900:0:zz112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v2:0:900:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-ed25519-public-v1:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
		"vigil-mac-v1:0:900:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff:",
		"vigil-mac-v1::900:0:00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
	};
	unsigned accepted = 0;

	snprintf(text, sizeof(text), "vigil-ed25519-public-v1:%s\n", hex64);
	TAP_OK(ledger_pubkey_parse(text, strlen(text), &pub) == 0 &&
		       !strncmp(pub.fingerprint, "SHA256:", 7) && strlen(pub.fingerprint) == 71,
	       "a public key with a trailing newline parses; fingerprint %s", pub.fingerprint);
	for (size_t i = 0; i < VG_ARRAY_LEN(bad_pub); i++)
		if (ledger_pubkey_parse(bad_pub[i], strlen(bad_pub[i]), &pub) != -EINVAL) {
			accepted++;
			printf("# accepted public key: '%s'\n", bad_pub[i]);
		}
	TAP_EQ_U64(accepted, 0, "%zu malformed public keys rejected", VG_ARRAY_LEN(bad_pub));

	snprintf(text, sizeof(text), "vigil-mac-v1:1700000000:900:3:%s\r\n", hex64);
	TAP_OK(ledger_mackey_parse(text, strlen(text), &mk) == 0 && mk.start_s == 1700000000 &&
		       mk.interval_s == 900 && mk.epoch == 3,
	       "a MAC key parses");
	accepted = 0;
	for (size_t i = 0; i < VG_ARRAY_LEN(bad_mac); i++)
		if (ledger_mackey_parse(bad_mac[i], strlen(bad_mac[i]), &mk) != -EINVAL) {
			accepted++;
			printf("# accepted MAC key: '%s'\n", bad_mac[i]);
		}
	TAP_EQ_U64(accepted, 0, "%zu malformed MAC keys rejected", VG_ARRAY_LEN(bad_mac));
}

static void test_key_sources(void)
{
	char path[4400], spec[4500], err[512], *text = NULL, *pubtext = NULL;
	size_t len;
	struct ledger_mackey mk;
	struct ledger_signer s;
	struct ledger_pubkey pub;
	int rc;

	/* A key file readable by others is refused. */
	snprintf(path, sizeof(path), "%s/open.key", T.root);
	rc = vg_read_file(T.mac + 5, 4096, &text, &len);
	TAP_OK(rc == 0, "read the MAC key file");
	if (rc)
		return;
	tfile_write(path, text, len, 0644);
	rc = vg_secret_load(path, &pubtext, &len, err, sizeof(err));
	TAP_OK(rc == -EPERM && strstr(err, "chmod 600") && !strstr(err, "vigil-mac"),
	       "a 0644 key file is refused, the secret not echoed (%s)", err);
	vg_secret_free(pubtext, len);
	snprintf(spec, sizeof(spec), "file:%s", path);
	rc = ledger_mackey_load(spec, &mk, err, sizeof(err));
	TAP_OK(rc == -EPERM, "ledger_mackey_load refuses it too");
	chmod(path, 0640);
	TAP_OK(ledger_mackey_load(spec, &mk, err, sizeof(err)) == -EPERM, "0640 is refused as well");
	chmod(path, 0600);
	TAP_OK(ledger_mackey_load(spec, &mk, err, sizeof(err)) == 0, "0600 is accepted");
	snprintf(spec, sizeof(spec), "file:%s/missing.key", T.root);
	rc = ledger_mackey_load(spec, &mk, err, sizeof(err));
	TAP_OK(rc == -ENOENT && strstr(err, "missing.key"), "a missing key file: -ENOENT (%s)", err);
	rc = vg_secret_load("", &pubtext, &len, err, sizeof(err));
	TAP_OK(rc == -EINVAL, "an empty key spec -> -EINVAL");

	/* env: */
	setenv("VIGIL_TEST_MAC_KEY", text, 1);
	TAP_OK(ledger_mackey_load("env:VIGIL_TEST_MAC_KEY", &mk, err, sizeof(err)) == 0 &&
		       memcmp(mk.key, T.verify_key.key, 32) == 0,
	       "env: key spec loads the key");
	unsetenv("VIGIL_TEST_MAC_UNSET");
	rc = ledger_mackey_load("env:VIGIL_TEST_MAC_UNSET", &mk, err, sizeof(err));
	TAP_OK(rc == -ENOENT && strstr(err, "VIGIL_TEST_MAC_UNSET"), "env: unset variable (%s)", err);
	setenv("VIGIL_TEST_GARBAGE", "not a key", 1);
	rc = ledger_mackey_load("env:VIGIL_TEST_GARBAGE", &mk, err, sizeof(err));
	TAP_OK(rc == -EINVAL && !strstr(err, "not a key"), "env: malformed key (%s)", err);

	/* cmd: */
	snprintf(spec, sizeof(spec), "cmd:cat '%s'", T.mac + 5);
	TAP_OK(ledger_mackey_load(spec, &mk, err, sizeof(err)) == 0 &&
		       memcmp(mk.key, T.verify_key.key, 32) == 0,
	       "cmd:\"cat FILE\" loads the key");
	rc = ledger_mackey_load("cmd:exit 3", &mk, err, sizeof(err));
	TAP_OK(rc == -EIO && strstr(err, "exit status 3"), "a failing command -> -EIO (%s)", err);
	rc = ledger_mackey_load("cmd:true", &mk, err, sizeof(err));
	TAP_OK(rc == -ENOENT && strstr(err, "nothing"), "a command printing nothing -> error (%s)", err);
	rc = ledger_mackey_load("cmd:echo garbage", &mk, err, sizeof(err));
	TAP_OK(rc == -EINVAL, "a command printing garbage -> -EINVAL (%s)", err);
	rc = ledger_mackey_load("cmd:head -c 70000 /dev/zero | tr '\\0' x", &mk, err, sizeof(err));
	TAP_OK(rc == -E2BIG, "a command printing more than 64 KiB -> -E2BIG (%s)", err);

	/* The signing key: the public key text is not a signing key. */
	snprintf(path, sizeof(path), "%s/signing.pub", T.keys);
	rc = ledger_signer_load(path, &s, err, sizeof(err));
	TAP_OK(rc == -EPERM || rc == -EINVAL, "the public key file is not a signing key (%s)", err);
	chmod(path, 0600);
	rc = ledger_signer_load(path, &s, err, sizeof(err));
	TAP_OK(rc == -EINVAL && strstr(err, "malformed"), "even at mode 0600 (%s)", err);
	chmod(path, 0644);
	rc = ledger_pubkey_load(path, &pub, err, sizeof(err));
	TAP_OK(rc == 0 && memcmp(pub.key, T.pub.key, 32) == 0, "the public key file loads (0644 is fine)");
	rc = ledger_pubkey_load(T.mac + 5, &pub, err, sizeof(err));
	TAP_OK(rc == -EINVAL, "a MAC key file is not a public key (%s)", err);

	/* A whole ledger with the signing key from a command and the MAC key
	 * from the environment. */
	{
		struct ledger_options o;
		struct ledger *l;
		struct ledger_verify_result res;
		char dir[4300], sspec[8800];
		uint64_t seq;

		snprintf(dir, sizeof(dir), "%s/envcmd", T.root);
		tledger_options(&T, &o);
		o.dir = dir;
		snprintf(sspec, sizeof(sspec), "cmd:cat '%s'", T.signing + 5);
		o.signing_key = sspec;
		o.mac_key = "env:VIGIL_TEST_MAC_KEY";
		rc = ledger_open(&o, &l, NULL, err, sizeof(err));
		TAP_OK(rc == 0, "open with cmd: signing key and env: MAC key (%s)", rc ? err : "ok");
		if (rc == 0) {
			rc = tledger_append_events(l, 0, 5, 10, &seq);
			rc = ledger_close(l) ? -EIO : rc;
			rc = rc ? rc : tverify_dir(dir, &T.pub, &T.verify_key, true, NULL, &res);
			TAP_OK(rc == 0 && res.verdict == LEDGER_OK, "and the ledger verifies");
			ledger_verify_result_release(&res);
		}
		o.signing_key = "cmd:exit 1";
		rc = ledger_open(&o, &l, NULL, err, sizeof(err));
		TAP_OK(rc == -EIO && strstr(err, "key command failed"),
		       "open with a failing key command -> error (%s)", err);
		if (rc == 0)
			ledger_close(l);
		o.signing_key = path; /* the public key: wrong kind, and mode 0644 */
		rc = ledger_open(&o, &l, NULL, err, sizeof(err));
		TAP_OK(rc == -EPERM, "open with a group-readable signing key -> -EPERM (%s)", err);
		if (rc == 0)
			ledger_close(l);
	}
	unsetenv("VIGIL_TEST_MAC_KEY");
	vg_secret_free(text, strlen(text));
}

/* ---- allocation failures --------------------------------------------------------------- */

/*
 * Every vg_* allocation of verify, the reader, and a writer's open, appends
 * and close fails in turn.  Each call fails cleanly or succeeds; afterwards
 * the ledger still opens and verifies; LeakSanitizer (at exit) finds no leak.
 */
static void test_alloc_failures(void)
{
	char work[4300], ref[4300], err[256];
	unsigned bad_verify = 0, bad_reader = 0, bad_after = 0, ok_runs = 0, sweeps = 0;
	long n;

	/* A reference ledger of three segments. */
	snprintf(ref, sizeof(ref), "%s/allocref", T.root);
	{
		struct ledger_options o;
		struct ledger *l;
		uint64_t seq;
		int rc;

		tledger_options(&T, &o);
		o.dir = ref;
		o.segment_bytes = 4096;
		rc = ledger_open(&o, &l, NULL, err, sizeof(err));
		if (rc == 0) {
			rc = tledger_append_events(l, 0, 60, 100, &seq);
			rc = ledger_close(l) ? -EIO : rc;
		}
		TAP_OK(rc == 0 && tseg_count(ref) >= 3, "a reference ledger of %ld segments",
		       tseg_count(ref));
	}

	for (n = 0; n < 2000 && ok_runs < 5; n++) {
		struct ledger_verify_result res;
		int rc;

		vg_alloc_fail_after(n);
		rc = tverify_dir(ref, &T.pub, &T.verify_key, true, NULL, &res);
		vg_alloc_fail_after(-1);
		ok_runs = rc == 0 && res.verdict == LEDGER_OK ? ok_runs + 1 : 0;
		if (rc == 0 && res.verdict == LEDGER_OK)
			;
		else if (!(rc < 0 && res.verdict == LEDGER_ERROR) &&
			 !(rc == 0 && res.nfindings + res.findings_dropped > 0))
			bad_verify++;
		ledger_verify_result_release(&res);
	}
	TAP_EQ_U64(bad_verify, 0, "verify with each of its %ld allocations failing: an error or a verdict",
		   n - 5);

	ok_runs = 0;
	for (n = 0; n < 2000 && ok_runs < 5; n++) {
		struct ledger_reader *r;
		struct ledger_record rec;
		int rc, records = 0;

		vg_alloc_fail_after(n);
		rc = ledger_reader_open(ref, &r, err, sizeof(err));
		if (rc == 0) {
			while ((rc = ledger_reader_next(r, &rec, err, sizeof(err))) == 1)
				records++;
			ledger_reader_free(r);
		}
		vg_alloc_fail_after(-1);
		ok_runs = rc == 0 ? ok_runs + 1 : 0;
		if (rc != 0 && rc != -ENOMEM)
			bad_reader++;
	}
	TAP_EQ_U64(bad_reader, 0, "reader with each of its %ld allocations failing: -ENOMEM or all records",
		   n - 5);

	snprintf(work, sizeof(work), "%s/allocfail", T.root);
	ok_runs = 0;
	for (n = 0; n < 2000 && ok_runs < 5; n++) {
		struct ledger_options o;
		struct ledger_verify_result res;
		struct ledger *l;
		uint64_t seq;
		int rc, arc = 0, crc = 0;

		if (tdir_copy(ref, work) < 0)
			break;
		tledger_options(&T, &o);
		o.dir = work;
		o.segment_bytes = 4096;
		o.manual_flush = n % 2; /* both the writer thread and manual flushes */
		vg_alloc_fail_after(n);
		rc = ledger_open(&o, &l, NULL, err, sizeof(err));
		if (rc == 0) {
			arc = tledger_append_events(l, 100, 30, 100, &seq); /* a new segment */
			if (o.manual_flush)
				ledger_flush(l);
			crc = ledger_close(l);
		}
		vg_alloc_fail_after(-1);
		sweeps++;
		ok_runs = rc == 0 && arc == 0 && crc == 0 ? ok_runs + 1 : 0;
		/* Whatever failed, the ledger on disk is sound and opens again. */
		rc = tverify_dir(work, &T.pub, &T.verify_key, false, NULL, &res);
		if (rc != 0 || res.verdict != LEDGER_OK) {
			if (++bad_after <= 3) {
				printf("# allocation %ld failing left a ledger that does not verify\n", n);
				tledger_dump(&res);
			}
		}
		ledger_verify_result_release(&res);
		rc = ledger_open(&o, &l, NULL, err, sizeof(err));
		if (rc != 0) {
			if (++bad_after <= 3)
				printf("# allocation %ld failing: reopen fails: %s\n", n, err);
		} else {
			ledger_close(l);
		}
	}
	TAP_EQ_U64(bad_after, 0, "writer with each of its %u allocations failing: the ledger stays sound",
		   sweeps - 5);
	tdir_remove(work);
	tdir_remove(ref);
}

int main(void)
{
	if (tledger_init(&T, 900) < 0) {
		TAP_OK(0, "keys created");
		return tap_done();
	}
	TAP_OK(build(T.dir, 20) == 0, "a reference ledger");
	test_bad_directories();
	test_verify_options();
	test_open_refuses_damage();
	test_torn_tail_recovery();
	test_append_limits();
	open_far_epoch(true);
	open_far_epoch(false);
	test_future_time();
	test_key_text();
	test_key_sources();
	test_alloc_failures();
	tledger_cleanup(&T);
	return tap_done();
}
