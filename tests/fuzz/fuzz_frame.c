/*
 * fuzz_frame.c - fuzz target for everything that reads segment files: the
 * frame decoder and resync, the segment header, seg_scan (the writer's
 * recovery scan), ledger_verify, ledger_reader, ledger_latest_checkpoint
 * and, optionally, ledger_open's recovery followed by an append.
 *
 * Input: one flags byte, then the data.
 *   0x01  prepend a valid segment header to each file (so mutations reach
 *         the frames without solving the header CRC)
 *   0x02  recompute the CRC of every frame (walked by length) and of the
 *         header, so mutations reach the chain and checkpoint checks
 *   0x04  verify with the MAC key too (skipped when a seal claims an epoch
 *         so high that checking it would take long: one hash per epoch is
 *         the design of forward-secure keys, not a bug to rediscover)
 *   0x08  two segment files: the next two bytes (little-endian) are the
 *         length of the first
 *   0x10  verify with require_sealed
 *   0x20  pass the last checkpoint found in the data as trusted
 *   0x40  open the ledger with the writer (recovery), append, close
 *
 * Oracles (abort on violation): a decoded frame re-encodes to the same
 * bytes and hash; a parsed checkpoint formats back to the same text; a
 * decoded header encodes back; seg_scan's offsets stay in bounds; verify's
 * verdict agrees with its findings; and a ledger that verified clean, or
 * only incomplete (torn tail, unsealed), verifies clean after the writer
 * recovered it and appended a record.
 *
 * Built with libFuzzer by scripts/fuzz, and with tests/fuzz/driver.c for
 * the normal test suite.
 */
#include "ledger_int.h"
#include "recover.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <zlib.h>

int LLVMFuzzerInitialize(int *argc, char ***argv);
static bool only_unvouched(int rc, const struct ledger_verify_result *r)
{
	if (rc < 0 || r->verdict != LEDGER_INCOMPLETE || r->findings_dropped || !r->nfindings)
		return false;
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].kind != LF_UNVOUCHED)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Fixed keys: the corpus seeds are signed with them. */
#define FUZZ_SIGNING "vigil-ed25519-secret-v1:" \
	"0a0b0c0d0e0f101112131415161718191a1b1c1d1e1f20212223242526272829"
#define FUZZ_MAC "vigil-mac-v1:1700000000:900:0:" \
	"4142434445464748494a4b4c4d4e4f505152535455565758595a5b5c5d5e5f60"
#define FUZZ_T0 1700000000000000000ull
#define MAX_MAC_EPOCH 10000

static struct hasher hs;
static struct ledger_pubkey pub;
static struct ledger_mackey mac;
static char dir[256];
static bool ready;

static void cleanup(void)
{
	char cmd[300];

	if (!dir[0])
		return;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", dir);
}

static uint64_t fuzz_clock(void *arg)
{
	(void)arg;
	return FUZZ_T0 + 10000000000ull;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct ledger_signer s;
	const char *tmp = getenv("TMPDIR");
	char err[256];

	(void)argc;
	(void)argv;
	if (ready)
		return 0;
	vg_log_set_level(VG_LOG_ERR);
	setenv("VIGIL_FUZZ_SIGNING", FUZZ_SIGNING, 1);
	setenv("VIGIL_FUZZ_MAC", FUZZ_MAC, 1);
	if (hasher_init(&hs) < 0 || ledger_signer_load("env:VIGIL_FUZZ_SIGNING", &s, err, sizeof(err)) < 0 ||
	    ledger_mackey_parse(FUZZ_MAC, strlen(FUZZ_MAC), &mac) < 0)
		abort();
	pub = s.pub;
	ledger_signer_release(&s);
	snprintf(dir, sizeof(dir), "%s/vigil-fuzz-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir))
		abort();
	atexit(cleanup);
	ready = true;
	return 0;
}

struct file {
	uint8_t *buf;
	size_t len;
};

/* What the direct pass learned, for the file-based pass. */
struct seen {
	uint64_t max_epoch;
	char note[LEDGER_CHECKPOINT_MAX + 1];
	bool have_note;
};

static void check_payload(const struct ledger_record *rec, struct seen *sn)
{
	char err[160], again[LEDGER_CHECKPOINT_MAX];
	struct ledger_checkpoint cp;
	uint64_t e;

	if (rec_is_seal(rec->type) &&
	    ledger_checkpoint_parse((const char *)rec->payload, rec->payload_len, &cp, err,
				    sizeof(err)) == 0) {
		int n = ledger_checkpoint_format(&cp, again, sizeof(again));

		/* Parsing is strict: only the canonical text parses. */
		if (n != (int)rec->payload_len || memcmp(again, rec->payload, (size_t)n) != 0)
			abort();
		if (cp.epoch > sn->max_epoch)
			sn->max_epoch = cp.epoch;
		memcpy(sn->note, rec->payload, rec->payload_len);
		sn->note[rec->payload_len] = 0;
		sn->have_note = true;
	}
	if (rotation_payload_epoch(rec->payload, rec->payload_len, &e) == 0 && e > sn->max_epoch)
		sn->max_epoch = e;
}

/* Walks the frames as verify does (resync after damage) with oracles. */
static void direct(const uint8_t *buf, size_t len, struct seen *sn)
{
	struct seg_header h;
	struct seg_scan s;
	char why[160];

	if (seg_header_decode(buf, len, &h, why, sizeof(why)) == 0) {
		uint8_t again[SEG_HEADER_LEN];

		seg_header_encode(&h, again);
		if (memcmp(again, buf, SEG_HEADER_LEN) != 0)
			abort();
	}
	for (size_t off = SEG_HEADER_LEN; off < len;) {
		struct ledger_record rec;
		enum frame_status st = frame_decode(&hs, buf + off, len - off, &rec);

		if (st == FRAME_OK || st == FRAME_BADHDR) {
			if (rec.frame_len < FRAME_OVERHEAD || rec.frame_len > len - off)
				abort();
			if (st == FRAME_OK) {
				struct vbuf v;
				uint8_t hash[32];

				vbuf_init(&v, FRAME_MAX);
				if (frame_encode(&hs, &v, rec.type, rec.seq, rec.time_ns, rec.prev_hash,
						 rec.payload, rec.payload_len, hash) == 0 &&
				    (v.len != rec.frame_len || memcmp(v.data, buf + off, v.len) != 0 ||
				     memcmp(hash, rec.hash, 32) != 0))
					abort();
				vbuf_release(&v);
				check_payload(&rec, sn);
			}
			off += rec.frame_len;
		} else {
			size_t next = frame_resync(buf, len, off + 1);

			if (next <= off || next > len)
				abort();
			off = next;
		}
	}
	if (seg_scan(&hs, buf, len, &s, why, sizeof(why)) == 0) {
		if (s.valid_end < SEG_HEADER_LEN || s.valid_end > len ||
		    (s.torn && s.torn_bytes != len - s.valid_end) || (!s.torn && s.valid_end != len))
			abort();
	}
}

static void fix_crcs(uint8_t *buf, size_t len)
{
	if (len >= SEG_HEADER_LEN)
		vg_put_le32(buf + 92, (uint32_t)crc32(0L, buf, 92));
	for (size_t off = SEG_HEADER_LEN; off + 4 <= len;) {
		uint32_t flen = vg_get_le32(buf + off);

		if (flen < FRAME_OVERHEAD || flen > len - off)
			break;
		vg_put_le32(buf + off + flen - 4, (uint32_t)crc32(0L, buf + off, flen - 4));
		off += flen;
	}
}

static int write_file(const char *path, const uint8_t *p, size_t n)
{
	FILE *f = fopen(path, "wbe");
	int rc = 0;

	if (!f)
		return -errno;
	if (n && fwrite(p, 1, n, f) != n)
		rc = -EIO;
	if (fclose(f) != 0)
		rc = -EIO;
	return rc;
}

static void clear_dir(void)
{
	uint64_t *nums;
	size_t n;
	char path[400];

	if (seg_list(dir, &nums, &n) == 0) {
		for (size_t i = 0; i < n; i++)
			if (seg_path(path, sizeof(path), dir, nums[i]) == 0)
				unlink(path);
		vg_free(nums);
	}
}

/* Verdict and findings agree. */
static void check_result(int rc, const struct ledger_verify_result *r)
{
	bool tamper = false, incomplete = false;

	if (rc < 0) {
		if (r->verdict != LEDGER_ERROR || !r->error[0])
			abort();
		return;
	}
	if (r->verdict == LEDGER_ERROR || r->nfindings > 1000)
		abort();
	for (size_t i = 0; i < r->nfindings; i++) {
		if ((unsigned)r->findings[i].kind >= LF__COUNT)
			abort();
		if (ledger_finding_is_tamper(r->findings[i].kind))
			tamper = true;
		else
			incomplete = true;
	}
	if (!r->findings_dropped &&
	    r->verdict != (tamper ? LEDGER_TAMPERED : incomplete ? LEDGER_INCOMPLETE : LEDGER_OK))
		abort();
	/* The sealed part is part of the validated prefix. */
	if (r->sealed_to_seq > r->valid_to_seq)
		abort();
}

static bool only_incomplete(const struct ledger_verify_result *r)
{
	if (r->verdict == LEDGER_OK)
		return true;
	if (r->verdict != LEDGER_INCOMPLETE || r->findings_dropped)
		return false;
	for (size_t i = 0; i < r->nfindings; i++)
		if (r->findings[i].kind != LF_TORN_TAIL && r->findings[i].kind != LF_UNSEALED)
			return false;
	return true;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct file files[2] = { { 0 } };
	size_t nfiles = 1;
	struct seen sn = { 0 };
	unsigned flags;
	const uint8_t *p;
	size_t n, split;

	if (!ready)
		LLVMFuzzerInitialize(NULL, NULL);
	if (size < 1 || size > 1u << 20)
		return 0;
	flags = data[0];
	p = data + 1;
	n = size - 1;
	split = n;
	if (flags & 0x08) {
		if (n < 2)
			return 0;
		split = vg_get_le16(p);
		p += 2;
		n -= 2;
		if (split > n)
			split = n;
		nfiles = 2;
	}
	for (size_t i = 0; i < nfiles; i++) {
		const uint8_t *body = i == 0 ? p : p + split;
		size_t blen = i == 0 ? split : n - split;
		size_t hlen = flags & 0x01 ? SEG_HEADER_LEN : 0;

		files[i].buf = malloc(hlen + blen + 1);
		if (!files[i].buf)
			goto out;
		if (hlen) {
			struct seg_header h = { .version = SEG_VERSION, .segno = i + 1, .first_seq = 1 };

			memset(h.log_id, 0x5a, sizeof(h.log_id));
			if (blen >= 16 && vg_get_le64(body + 8))
				h.first_seq = vg_get_le64(body + 8);
			seg_header_encode(&h, files[i].buf);
		}
		if (blen)
			memcpy(files[i].buf + hlen, body, blen);
		files[i].len = hlen + blen;
		if (flags & 0x02)
			fix_crcs(files[i].buf, files[i].len);
		direct(files[i].buf, files[i].len, &sn);
	}

	/* The same bytes as a ledger directory. */
	clear_dir();
	for (size_t i = 0; i < nfiles; i++) {
		char path[400];

		if (seg_path(path, sizeof(path), dir, i + 1) < 0 ||
		    write_file(path, files[i].buf, files[i].len) < 0)
			goto out;
	}
	{
		struct ledger_verify_options vo = {
			.dir = dir,
			.pub = &pub,
			.mac = (flags & 0x04) && sn.max_epoch <= MAX_MAC_EPOCH ? &mac : NULL,
			.require_sealed = flags & 0x10,
		};
		const char *tr[1] = { sn.note };
		struct ledger_verify_result res;
		struct ledger_reader *r;
		struct ledger_record rec;
		struct ledger_checkpoint cp;
		char err[256];
		bool clean;
		int rc;

		if ((flags & 0x20) && sn.have_note) {
			vo.trusted = tr;
			vo.ntrusted = 1;
		}
		rc = ledger_verify(&vo, &res);
		check_result(rc, &res);
		clean = rc == 0 && only_incomplete(&res) && !vo.ntrusted;
		ledger_verify_result_release(&res);

		if (ledger_reader_open(dir, &r, err, sizeof(err)) == 0) {
			while (ledger_reader_next(r, &rec, err, sizeof(err)) == 1)
				if (rec.frame_len < FRAME_OVERHEAD)
					abort();
			ledger_reader_free(r);
		}
		ledger_latest_checkpoint(dir, &cp, &rec, err, sizeof(err));

		if (flags & 0x40) {
			struct ledger_options o = {
				.dir = dir,
				.signing_key = "env:VIGIL_FUZZ_SIGNING",
				.mac_key = "env:VIGIL_FUZZ_MAC",
				.heartbeat_ms = -1,
				.manual_flush = true,
				.clock = fuzz_clock,
			};
			struct ledger *l;
			uint64_t seq;

			char hp[4300];

			/* The head file a previous input's writer left names another
			 * ledger: without it only checkpoints vouch (ledger.h). */
			if (ledger_head_path(dir, hp, sizeof(hp)) == 0)
				unlink(hp);
			if (ledger_open(&o, &l, NULL, err, sizeof(err)) == 0) {
				int arc = ledger_append(l, LEDGER_REC_EVENT, "{}", 2, &seq);
				int frc = arc ? arc : ledger_flush(l);
				int crc = ledger_close(l);

				/* What the writer continued from verified, so must the result. */
				vo.mac = NULL;
				vo.require_sealed = true;
				vo.ntrusted = 0;
				rc = ledger_verify(&vo, &res);
				check_result(rc, &res);
				/* Without a head file an unsealed tail found at open is
				 * recorded as unvouched (exit 2), never vouched for. */
				if (clean && !arc && !frc && !crc && (rc != 0 || res.verdict != LEDGER_OK) &&
				    !only_unvouched(rc, &res)) {
					for (size_t i = 0; i < res.nfindings; i++)
						fprintf(stderr, "after recovery: %s: %s\n",
							ledger_finding_name(res.findings[i].kind),
							res.findings[i].detail);
					abort();
				}
				ledger_verify_result_release(&res);
			}
		}
	}
out:
	for (size_t i = 0; i < nfiles; i++)
		free(files[i].buf);
	return 0;
}
