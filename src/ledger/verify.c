/*
 * verify.c - offline verification of a ledger directory.
 *
 * Two passes.  The first (plan_segments) reads every segment header and
 * orders the segments by the number their header claims, so a renamed or
 * swapped file shows up as exactly that (and the chain is still checked in
 * its true order).  The second (walk_segments) walks every record of every
 * segment in that order and checks, one link at a time (a verifier must
 * check every link, not just the ends): framing and CRC, seq +1, the
 * previous-hash link, time order, and for each checkpoint its contents
 * against the chain, its Ed25519 signature, its MAC under the key of its own
 * epoch, and that the key's epoch is not earlier than any record it seals
 * (CVE-2023-31439 in journald was the lack of that last check).
 *
 * After a finding the walk re-anchors on the record it actually found, so
 * one change gives one finding and independent changes further on are still
 * reported.  The "validated range" is the prefix before the first finding.
 */
#include "ledger_int.h"
#include "prehash.h"
#include "recover.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>

struct seg_entry {
	uint64_t file_no; /* number in the file name */
	bool header_ok;
	struct seg_header hdr;
	char why[160];
	bool foreign, duplicate;
};

struct trusted {
	struct ledger_checkpoint cp;
	bool matched, rewritten;
};

struct vctx {
	const struct ledger_verify_options *o;
	struct ledger_verify_result *res;
	struct hasher hs;
	uint8_t log_id[LEDGER_LOG_ID_LEN];

	bool started, reanchor, clean;
	bool any_tamper, any_incomplete;
	uint64_t expect_seq;
	uint8_t expect_prev[LEDGER_HASH_LEN];
	uint64_t last_time;
	/* The previous record, for findings about it. */
	uint64_t prev_seg, prev_off, prev_seq, prev_time;
	/* The validated end before the previous record was added to it. */
	uint64_t valid_before_seq, valid_before_time;
	uint64_t sealed_before_seq, sealed_before_time; /* likewise for the sealed end */
	uint8_t prev_rec_prev[LEDGER_HASH_LEN];

	/* Sealing state. */
	bool have_seal_epoch;
	uint64_t seal_epoch, rot_epoch;
	bool have_rot;
	uint64_t last_seal_time;
	uint64_t since_seal, since_seal_min_time, since_seal_first, since_seal_last;

	struct trusted *trusted;
	size_t ntrusted;

	/* The MAC key evolved to the newest epoch checked so far (see check_mac). */
	struct ledger_mackey mac_at;
};

const char *ledger_finding_name(enum ledger_finding_kind k)
{
	static const char *const names[LF__COUNT] = {
		[LF_SEGMENT_HEADER] = "SEGMENT_HEADER",
		[LF_SEGMENT_FOREIGN] = "SEGMENT_FOREIGN",
		[LF_SEGMENT_MISSING] = "SEGMENT_MISSING",
		[LF_SEGMENT_DUPLICATE] = "SEGMENT_DUPLICATE",
		[LF_SEGMENT_ORDER] = "SEGMENT_ORDER",
		[LF_FRAME] = "FRAME",
		[LF_CRC] = "CRC",
		[LF_MODIFIED] = "MODIFIED",
		[LF_DELETED] = "DELETED",
		[LF_DUPLICATED] = "DUPLICATED",
		[LF_REORDERED] = "REORDERED",
		[LF_INSERTED] = "INSERTED",
		[LF_TIME_ORDER] = "TIME_ORDER",
		[LF_SIGNATURE_BAD] = "SIGNATURE_BAD",
		[LF_SIGNATURE_UNKNOWN_KEY] = "SIGNATURE_UNKNOWN_KEY",
		[LF_MAC_BAD] = "MAC_BAD",
		[LF_KEY_EPOCH] = "KEY_EPOCH",
		[LF_CHECKPOINT_BAD] = "CHECKPOINT_BAD",
		[LF_TRUNCATED] = "TRUNCATED",
		[LF_REWRITTEN] = "REWRITTEN",
		[LF_TORN_TAIL] = "TORN_TAIL",
		[LF_UNSEALED] = "UNSEALED",
		[LF_GAP] = "GAP",
		[LF_UNVOUCHED] = "UNVOUCHED",
	};

	return (unsigned)k < LF__COUNT ? names[k] : "UNKNOWN";
}

bool ledger_finding_is_tamper(enum ledger_finding_kind k)
{
	return k != LF_TORN_TAIL && k != LF_UNSEALED && k != LF_GAP && k != LF_UNVOUCHED;
}

static struct ledger_finding *finding(struct vctx *v, enum ledger_finding_kind kind, uint64_t seg,
				      uint64_t off, uint64_t seq, uint64_t time_ns, const char *fmt,
				      ...) __attribute__((format(printf, 7, 8)));

static struct ledger_finding *finding(struct vctx *v, enum ledger_finding_kind kind, uint64_t seg,
				      uint64_t off, uint64_t seq, uint64_t time_ns, const char *fmt,
				      ...)
{
	struct ledger_verify_result *r = v->res;
	size_t max = v->o->max_findings ? v->o->max_findings : 1000;
	struct ledger_finding *f;
	va_list ap;

	if (ledger_finding_is_tamper(kind))
		v->any_tamper = true;
	else
		v->any_incomplete = true;
	if (kind != LF_GAP && kind != LF_UNSEALED)
		v->clean = false;
	if (r->nfindings >= max) {
		r->findings_dropped++;
		return NULL;
	}
	if (r->nfindings % 64 == 0) {
		struct ledger_finding *nf = vg_realloc(r->findings,
						       (r->nfindings + 64) * sizeof(*nf));

		if (!nf) {
			r->findings_dropped++;
			return NULL;
		}
		r->findings = nf;
	}
	f = &r->findings[r->nfindings++];
	memset(f, 0, sizeof(*f));
	f->kind = kind;
	f->segment = seg;
	f->offset = off;
	f->seq = seq;
	f->time_ns = time_ns;
	va_start(ap, fmt);
	vsnprintf(f->detail, sizeof(f->detail), fmt, ap);
	va_end(ap);
	return f;
}

/* ---- pass 1: segment headers -------------------------------------------------- */

static int cmp_entries(const void *a, const void *b)
{
	const struct seg_entry *x = a, *y = b;
	uint64_t kx = x->header_ok ? x->hdr.segno : x->file_no;
	uint64_t ky = y->header_ok ? y->hdr.segno : y->file_no;

	if (kx != ky)
		return kx < ky ? -1 : 1;
	/* The file whose name matches its header comes first. */
	{
		bool mx = x->header_ok && x->hdr.segno == x->file_no;
		bool my = y->header_ok && y->hdr.segno == y->file_no;

		if (mx != my)
			return mx ? -1 : 1;
	}
	return x->file_no < y->file_no ? -1 : x->file_no > y->file_no;
}

static int read_header(const char *path, uint8_t out[SEG_HEADER_LEN], size_t *got)
{
	FILE *f = fopen(path, "rbe");

	if (!f)
		return -errno;
	*got = fread(out, 1, SEG_HEADER_LEN, f);
	fclose(f);
	return 0;
}

/*
 * Reads the header of each segment file into e (file numbers nums).  The
 * log id is the trusted checkpoints' when there are any, else that of the
 * lowest-numbered file with a readable header.
 */
static void read_headers(struct vctx *v, struct seg_entry *e, const uint64_t *nums, size_t n)
{
	struct ledger_verify_result *r = v->res;
	bool have_id = false;
	int rc;

	if (v->ntrusted) {
		memcpy(v->log_id, v->trusted[0].cp.log_id, LEDGER_LOG_ID_LEN);
		have_id = true;
	}
	for (size_t i = 0; i < n; i++) {
		char path[4200];
		uint8_t hdr[SEG_HEADER_LEN];
		size_t got = 0;

		e[i].file_no = nums[i];
		if ((rc = seg_path(path, sizeof(path), v->o->dir, nums[i])) < 0 ||
		    (rc = read_header(path, hdr, &got)) < 0) {
			snprintf(e[i].why, sizeof(e[i].why), "cannot read: %s", strerror(-rc));
			continue;
		}
		if (seg_header_decode(hdr, got, &e[i].hdr, e[i].why, sizeof(e[i].why)) < 0)
			continue;
		e[i].header_ok = true;
		if (!have_id) {
			memcpy(v->log_id, e[i].hdr.log_id, LEDGER_LOG_ID_LEN);
			have_id = true;
		}
	}
	if (have_id) {
		memcpy(r->log_id, v->log_id, LEDGER_LOG_ID_LEN);
		r->have_log_id = true;
	}
}

/*
 * Reports what the order of the sorted entries reveals: unreadable headers,
 * segments of another ledger, second copies of a segment, files renamed or
 * swapped, and missing numbers.  Marks the foreign and duplicate entries,
 * which pass 2 skips.
 */
static void report_order(struct vctx *v, struct seg_entry *e, size_t n)
{
	uint64_t expect = 1;
	const struct seg_entry *last_own = NULL;

	for (size_t i = 0; i < n; i++) {
		struct seg_entry *s = &e[i];
		uint64_t no = s->header_ok ? s->hdr.segno : s->file_no;

		if (!s->header_ok) {
			finding(v, LF_SEGMENT_HEADER, s->file_no, 0, 0, 0,
				"segment file %" PRIu64 ": %s", s->file_no, s->why);
		} else if (memcmp(s->hdr.log_id, v->log_id, LEDGER_LOG_ID_LEN) != 0) {
			s->foreign = true;
			finding(v, LF_SEGMENT_FOREIGN, s->file_no, 0, s->hdr.first_seq, 0,
				"segment file %" PRIu64 " belongs to another ledger", s->file_no);
			continue;
		} else if (last_own && last_own->header_ok && last_own->hdr.segno == s->hdr.segno) {
			s->duplicate = true;
			finding(v, LF_SEGMENT_DUPLICATE, s->file_no, 0, s->hdr.first_seq, 0,
				"segment file %" PRIu64 " is a second copy of segment %" PRIu64,
				s->file_no, s->hdr.segno);
			continue;
		} else if (s->hdr.segno != s->file_no) {
			finding(v, LF_SEGMENT_ORDER, s->file_no, 0, s->hdr.first_seq, 0,
				"segment file %" PRIu64 " holds segment %" PRIu64
				" (files renamed or swapped)",
				s->file_no, s->hdr.segno);
		}
		if (no > expect)
			finding(v, LF_SEGMENT_MISSING, no, 0, 0, 0,
				"segment%s %" PRIu64 "%s%.0" PRIu64 " missing",
				no - expect > 1 ? "s" : "", expect, no - expect > 1 ? " to " : "",
				no - expect > 1 ? no - 1 : 0);
		expect = no + 1;
		last_own = s;
	}
}

/* Pass 1: the segment files in the order their headers claim, with what
 * that order reveals reported.  An empty ledger is an error. */
static int plan_segments(struct vctx *v, struct seg_entry **out, size_t *nout)
{
	struct ledger_verify_result *r = v->res;
	uint64_t *nums = NULL;
	size_t n = 0;
	struct seg_entry *e = NULL;
	int rc;

	rc = seg_list(v->o->dir, &nums, &n);
	if (rc < 0) {
		snprintf(r->error, sizeof(r->error), "cannot read ledger directory '%s': %s",
			 v->o->dir, strerror(-rc));
		return rc;
	}
	if (n == 0) {
		snprintf(r->error, sizeof(r->error), "no ledger segments in '%s'", v->o->dir);
		vg_free(nums);
		return -ENOENT;
	}
	e = vg_calloc(n, sizeof(*e));
	if (!e) {
		vg_free(nums);
		return -ENOMEM;
	}
	read_headers(v, e, nums, n);
	vg_free(nums);
	qsort(e, n, sizeof(*e), cmp_entries);
	report_order(v, e, n);
	*out = e;
	*nout = n;
	return 0;
}

/* ---- pass 2: records ------------------------------------------------------------- */

static void relabel_deleted(struct vctx *v, uint64_t seq)
{
	/* A "deletion" of seq that turns up later was a reordering. */
	for (size_t i = v->res->nfindings; i-- > 0;) {
		struct ledger_finding *f = &v->res->findings[i];

		if (f->kind == LF_DELETED && f->seq <= seq && seq < f->seq + 1000000) {
			f->kind = LF_REORDERED;
			snprintf(f->detail, sizeof(f->detail),
				 "records out of order: seq %" PRIu64 " comes later", seq);
			return;
		}
	}
}

/* Checks the chain link of rec; returns true when it continues cleanly. */
static bool check_link(struct vctx *v, const struct ledger_record *rec)
{
	static const uint8_t zero[LEDGER_HASH_LEN];

	if (!v->started) {
		v->started = true;
		if (rec->seq != 1 && !v->reanchor)
			finding(v, LF_DELETED, rec->segment, rec->offset, rec->seq, rec->time_ns,
				"the ledger starts at seq %" PRIu64 "; seq 1 to %" PRIu64
				" missing",
				rec->seq, rec->seq - 1);
		else if (rec->seq == 1 && memcmp(rec->prev_hash, zero, LEDGER_HASH_LEN) != 0)
			finding(v, LF_INSERTED, rec->segment, rec->offset, rec->seq, rec->time_ns,
				"the first record points to a predecessor that does not exist");
		return true;
	}
	if (v->reanchor) {
		v->reanchor = false;
		return true;
	}
	if (rec->seq == v->expect_seq) {
		if (memcmp(rec->prev_hash, v->expect_prev, LEDGER_HASH_LEN) == 0)
			return true;
		if (v->clean) {
			/* The previous record was counted as valid: it was not. */
			v->res->valid_to_seq = v->valid_before_seq;
			v->res->valid_to_time_ns = v->valid_before_time;
			/* And if it was a seal (one relabelled from checkpoint to
			 * heartbeat still verifies), it sealed nothing. */
			if (v->res->sealed_to_seq > v->res->valid_to_seq) {
				v->res->sealed_to_seq = v->sealed_before_seq;
				v->res->sealed_to_time_ns = v->sealed_before_time;
			}
		}
		finding(v, LF_MODIFIED, v->prev_seg, v->prev_off, v->prev_seq, v->prev_time,
			"record seq %" PRIu64 " was changed: its hash no longer matches the one "
			"recorded by seq %" PRIu64,
			v->prev_seq, rec->seq);
		return true;
	}
	if (rec->seq > v->expect_seq) {
		finding(v, LF_DELETED, rec->segment, rec->offset, v->expect_seq, rec->time_ns,
			"record%s seq %" PRIu64 "%s%.0" PRIu64 " missing before seq %" PRIu64,
			rec->seq - v->expect_seq > 1 ? "s" : "", v->expect_seq,
			rec->seq - v->expect_seq > 1 ? " to " : "",
			rec->seq - v->expect_seq > 1 ? rec->seq - 1 : 0, rec->seq);
		return true;
	}
	/* Going backwards. */
	if (rec->seq == v->expect_seq - 1) {
		if (memcmp(rec->hash, v->expect_prev, LEDGER_HASH_LEN) == 0) {
			finding(v, LF_DUPLICATED, rec->segment, rec->offset, rec->seq, rec->time_ns,
				"record seq %" PRIu64 " appears twice", rec->seq);
			return false;
		}
		if (memcmp(rec->prev_hash, v->prev_rec_prev, LEDGER_HASH_LEN) == 0) {
			finding(v, LF_INSERTED, v->prev_seg, v->prev_off, rec->seq, v->prev_time,
				"two different records claim seq %" PRIu64
				"; the first was inserted",
				rec->seq);
			return true; /* the chain continues from this one */
		}
	}
	relabel_deleted(v, rec->seq);
	finding(v, LF_REORDERED, rec->segment, rec->offset, rec->seq, rec->time_ns,
		"records out of order: seq %" PRIu64 " comes after seq %" PRIu64, rec->seq,
		v->expect_seq - 1);
	return false; /* keep the anchor on the newest record */
}

static uint64_t epoch_of(struct vctx *v, uint64_t t)
{
	return ledger_mackey_epoch_of(v->o->mac, t);
}

/*
 * Checks cp's MAC.  Evolving the auditor's epoch-0 key up to each seal's
 * epoch would cost epochs x seals hashes (hours for a year of minutely
 * heartbeats), so the key of the newest epoch seen is kept and only moved
 * forward; a seal from an earlier epoch (already a finding) starts over.
 */
static int check_mac(struct vctx *v, const struct ledger_checkpoint *cp)
{
	if (cp->epoch >= v->mac_at.epoch && cp->epoch - v->mac_at.epoch <= 4000000000ull) {
		ledger_mackey_evolve(&v->mac_at, cp->epoch);
		return ledger_checkpoint_check_mac(cp, &v->mac_at);
	}
	return ledger_checkpoint_check_mac(cp, v->o->mac);
}

/* A seal describes the chain it stands in: its log, the seq and hash of the
 * record before it, and its own time.  False (with a finding) when not. */
static bool check_seal_chain(struct vctx *v, const struct ledger_record *rec,
			     const struct ledger_checkpoint *cp)
{
	if (memcmp(cp->log_id, v->log_id, LEDGER_LOG_ID_LEN) != 0 || cp->seq + 1 != rec->seq ||
	    memcmp(cp->head, rec->prev_hash, LEDGER_HASH_LEN) != 0 || cp->time_ns != rec->time_ns) {
		finding(v, LF_CHECKPOINT_BAD, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"checkpoint does not describe the chain it is part of (%s)",
			memcmp(cp->log_id, v->log_id, LEDGER_LOG_ID_LEN) ? "another log id"
			: cp->seq + 1 != rec->seq			 ? "wrong seq"
			: cp->time_ns != rec->time_ns			 ? "wrong time"
									 : "wrong head hash");
		return false;
	}
	return true;
}

/* The seal's Ed25519 signature, by the given public key.  False (with a
 * finding) when it does not verify or is another key's. */
static bool check_seal_sig(struct vctx *v, const struct ledger_record *rec,
			   const struct ledger_checkpoint *cp)
{
	int rc = ledger_checkpoint_check_sig(cp, v->o->pub);

	if (rc == -EKEYREJECTED) {
		finding(v, LF_SIGNATURE_UNKNOWN_KEY, rec->segment, rec->offset, rec->seq,
			rec->time_ns,
			"checkpoint signed by an unknown key (key id %02x%02x%02x%02x)",
			cp->key_id[0], cp->key_id[1], cp->key_id[2], cp->key_id[3]);
		return false;
	}
	if (rc < 0) {
		finding(v, LF_SIGNATURE_BAD, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"checkpoint signature does not verify");
		return false;
	}
	v->res->seals_signed_ok++;
	return true;
}

/* Epochs never go back, and never behind a rotation.  False (with a
 * finding) when this seal's does. */
static bool check_seal_epoch(struct vctx *v, const struct ledger_record *rec,
			     const struct ledger_checkpoint *cp)
{
	if ((v->have_seal_epoch && cp->epoch < v->seal_epoch) ||
	    (v->have_rot && cp->epoch < v->rot_epoch)) {
		finding(v, LF_KEY_EPOCH, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"checkpoint uses the key of epoch %" PRIu64 " after epoch %" PRIu64,
			cp->epoch,
			v->have_rot && v->rot_epoch > v->seal_epoch ? v->rot_epoch : v->seal_epoch);
		return false;
	}
	return true;
}

/*
 * With the MAC verification key: the seal's key may seal only records from
 * its own epoch or later, and its MAC must verify.  False (with a finding)
 * when either fails.  sig_ok: the signature verified.
 */
static bool check_seal_mac(struct vctx *v, const struct ledger_record *rec,
			   const struct ledger_checkpoint *cp, bool sig_ok)
{
	struct ledger_verify_result *r = v->res;
	bool ok = true, epoch_ok = true;
	int rc;

	r->mac_checked = true;
	if (epoch_of(v, rec->time_ns) < cp->epoch ||
	    (v->since_seal && epoch_of(v, v->since_seal_min_time) < cp->epoch)) {
		finding(v, LF_KEY_EPOCH, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"the key of epoch %" PRIu64 " seals records from epoch %" PRIu64
			" (a key used outside its epoch)",
			cp->epoch,
			epoch_of(v, v->since_seal ? v->since_seal_min_time : rec->time_ns));
		ok = false;
		epoch_ok = false;
	}
	/* Evolving the key costs one hash per epoch: only for seals whose
	 * epoch is not ahead of their own time and whose signature holds,
	 * so a forged epoch field cannot make verify hash for hours. */
	rc = epoch_ok && sig_ok ? check_mac(v, cp) : -ECANCELED;
	if (rc == -EBADMSG) {
		finding(v, LF_MAC_BAD, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"checkpoint MAC does not verify with the key of epoch %" PRIu64, cp->epoch);
		ok = false;
	} else if (rc == 0) {
		r->seals_mac_ok++;
	}
	return ok;
}

/* The time since the previous seal: the longest gap, and a finding when it
 * is longer than the caller allows. */
static void check_seal_gap(struct vctx *v, const struct ledger_record *rec)
{
	struct ledger_verify_result *r = v->res;

	if (v->last_seal_time && rec->time_ns > v->last_seal_time) {
		uint64_t gap = (rec->time_ns - v->last_seal_time) / 1000000000ull;

		if (gap > r->max_seal_gap_s)
			r->max_seal_gap_s = gap;
		if (v->o->max_gap_s && gap > v->o->max_gap_s)
			finding(v, LF_GAP, rec->segment, rec->offset, rec->seq, rec->time_ns,
				"%" PRIu64 " s since the previous checkpoint (more than %" PRIu64
				" s): the writer was stopped or records are missing",
				gap, v->o->max_gap_s);
	}
	v->last_seal_time = rec->time_ns;
}

/* Checks a checkpoint or heartbeat record; one that passes every check seals
 * the records before it (the sealed range grows while the walk is clean). */
static void check_seal(struct vctx *v, const struct ledger_record *rec)
{
	struct ledger_verify_result *r = v->res;
	struct ledger_checkpoint cp;
	char why[160];
	bool ok, sig_ok;

	r->seals++;
	if (ledger_checkpoint_parse((const char *)rec->payload, rec->payload_len, &cp, why,
				    sizeof(why)) < 0) {
		finding(v, LF_CHECKPOINT_BAD, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"%s cannot be read: %s", ledger_rec_type_name(rec->type), why);
		return;
	}
	/* Every check runs, in this order, so that each finding is reported. */
	ok = check_seal_chain(v, rec, &cp);
	sig_ok = check_seal_sig(v, rec, &cp);
	ok = check_seal_epoch(v, rec, &cp) && sig_ok && ok;
	if (v->o->mac)
		ok = check_seal_mac(v, rec, &cp, sig_ok) && ok;
	if (!r->seals || !v->have_seal_epoch)
		r->first_epoch = cp.epoch;
	r->last_epoch = cp.epoch;
	v->have_seal_epoch = true;
	v->seal_epoch = cp.epoch;
	check_seal_gap(v, rec);
	if (ok) {
		v->since_seal = 0;
		if (v->clean) {
			v->sealed_before_seq = r->sealed_to_seq;
			v->sealed_before_time = r->sealed_to_time_ns;
			r->sealed_to_seq = rec->seq;
			r->sealed_to_time_ns = rec->time_ns;
		}
	}
}

static void check_trusted(struct vctx *v, const struct ledger_record *rec)
{
	for (size_t i = 0; i < v->ntrusted; i++) {
		struct trusted *t = &v->trusted[i];

		if (t->cp.seq != rec->seq || t->matched || t->rewritten)
			continue;
		if (memcmp(t->cp.head, rec->hash, LEDGER_HASH_LEN) == 0) {
			t->matched = true;
			v->res->ntrusted_ok++;
		} else {
			t->rewritten = true;
			finding(v, LF_REWRITTEN, rec->segment, rec->offset, rec->seq, rec->time_ns,
				"record seq %" PRIu64 " differs from the trusted checkpoint: the "
				"history it attests was rewritten",
				rec->seq);
		}
	}
}

/*
 * A recovery record is the writer's own testimony about what it found at
 * start-up (writer.c, recover.c): records it did not vouch for, or records
 * it had made durable that were gone.  Both are reported where the record
 * stands; neither is a break in the chain, so the validated range goes on.
 */
static void check_recovery(struct vctx *v, const struct ledger_record *rec)
{
	struct ledger_verify_result *r = v->res;
	char tmp[1024], reason[32], why[300] = "";
	unsigned long long a, b, e = 0;
	const char *w;
	bool clean = v->clean;

	if (rec->payload_len >= sizeof(tmp))
		return;
	memcpy(tmp, rec->payload, rec->payload_len);
	tmp[rec->payload_len] = 0;
	if (sscanf(tmp, "{\"reason\":\"%31[a-z ]\",\"first_seq\":%llu,\"last_seq\":%llu", reason,
		   &a, &b) != 3 ||
	    a == 0 || b < a)
		return; /* a torn-tail record, or one from before these existed */
	if ((w = strstr(tmp, "\"why\":\"")) != NULL)
		snprintf(why, sizeof(why), "%.*s", (int)strcspn(w + 7, "\""), w + 7);
	if (!strcmp(reason, "unvouched tail")) {
		if (b >= rec->seq)
			b = rec->seq - 1; /* it can only speak of records before it */
		r->unvouched += b >= a ? b - a + 1 : 0;
		r->unvouched_ranges++;
		finding(v, LF_UNVOUCHED, rec->segment, rec->offset, a, rec->time_ns,
			"records seq %llu..%llu were found after the last seal by the writer that "
			"started at seq %" PRIu64
			", which did not write them and does not vouch for "
			"them (%s)",
			a, b, rec->seq, why[0] ? why : "no reason given");
	} else if (!strcmp(reason, "truncated") || !strcmp(reason, "rewritten")) {
		w = strstr(tmp, "\"found_last_seq\":");
		if (w)
			sscanf(w, "\"found_last_seq\":%llu", &e);
		finding(v, LF_TRUNCATED, rec->segment, rec->offset, a, rec->time_ns,
			"the writer that started at seq %" PRIu64
			" found records seq %llu..%llu it "
			"had made durable %s (the ledger ended at seq %llu): %s",
			rec->seq, a, b, !strcmp(reason, "rewritten") ? "changed" : "gone", e,
			why[0] ? why : "no reason given");
	}
	v->clean = clean;
}

static void on_record(struct vctx *v, const struct ledger_record *rec)
{
	struct ledger_verify_result *r = v->res;
	bool advance;

	r->records++;
	if (!r->first_seq) {
		r->first_seq = rec->seq;
		r->first_time_ns = rec->time_ns;
	}
	if (rec->seq > r->last_seq)
		r->last_seq = rec->seq;
	if (rec->time_ns > r->last_time_ns)
		r->last_time_ns = rec->time_ns;

	advance = check_link(v, rec);
	if (v->started && rec->time_ns < v->last_time && advance)
		finding(v, LF_TIME_ORDER, rec->segment, rec->offset, rec->seq, rec->time_ns,
			"time goes backwards by %" PRIu64 " ms",
			(v->last_time - rec->time_ns) / 1000000);
	if (!advance)
		return;
	check_trusted(v, rec);

	if (rec_is_seal(rec->type)) {
		check_seal(v, rec);
	} else {
		if (rec->type == LEDGER_REC_KEY_ROTATION) {
			uint64_t e;

			if (rotation_payload_epoch(rec->payload, rec->payload_len, &e) < 0)
				finding(v, LF_CHECKPOINT_BAD, rec->segment, rec->offset, rec->seq,
					rec->time_ns, "key rotation record cannot be read");
			else if ((v->have_rot && e <= v->rot_epoch) ||
				 (v->have_seal_epoch && e < v->seal_epoch))
				finding(v, LF_KEY_EPOCH, rec->segment, rec->offset, rec->seq,
					rec->time_ns,
					"key rotation to epoch %" PRIu64 " goes backwards", e);
			else {
				v->have_rot = true;
				v->rot_epoch = e;
			}
		} else if (rec->type == LEDGER_REC_RECOVERY) {
			r->recoveries++;
			check_recovery(v, rec);
		}
		if (v->since_seal++ == 0) {
			v->since_seal_min_time = rec->time_ns;
			v->since_seal_first = rec->time_ns;
		}
		if (rec->time_ns < v->since_seal_min_time)
			v->since_seal_min_time = rec->time_ns;
		v->since_seal_last = rec->time_ns;
	}
	if (v->clean) {
		v->valid_before_seq = r->valid_to_seq;
		v->valid_before_time = r->valid_to_time_ns;
		r->valid_to_seq = rec->seq;
		r->valid_to_time_ns = rec->time_ns;
	}
	v->prev_seg = rec->segment;
	v->prev_off = rec->offset;
	v->prev_seq = rec->seq;
	v->prev_time = rec->time_ns;
	memcpy(v->prev_rec_prev, rec->prev_hash, LEDGER_HASH_LEN);
	v->expect_seq = rec->seq + 1;
	memcpy(v->expect_prev, rec->hash, LEDGER_HASH_LEN);
	if (rec->time_ns > v->last_time)
		v->last_time = rec->time_ns;
}

/*
 * A segment without a single record still has a header that must continue
 * the chain: the writer continues from it (an empty last segment is what a
 * rotation leaves), so a forged one would fork the chain unreported.
 */
static void check_empty_segment(struct vctx *v, const struct seg_entry *s)
{
	static const uint8_t zero[LEDGER_HASH_LEN];
	uint64_t want = v->started ? v->expect_seq : 1;
	const uint8_t *prev = v->started ? v->expect_prev : zero;

	if (!s->header_ok || v->reanchor)
		return;
	if (s->hdr.first_seq != want || memcmp(s->hdr.prev_hash, prev, LEDGER_HASH_LEN) != 0)
		finding(v, LF_SEGMENT_HEADER, s->file_no, 0, s->hdr.first_seq, 0,
			"segment %" PRIu64 " holds no record and its header does not continue the "
			"chain (header says seq %" PRIu64 ", the chain is at seq %" PRIu64 ")",
			s->file_no, s->hdr.first_seq, want);
}

static void walk_segment(struct vctx *v, const struct seg_entry *s, const uint8_t *buf, size_t len,
			 bool last_segment, struct prehash *pre)
{
	size_t off = SEG_HEADER_LEN;
	bool first = true;
	struct prehash ph = *pre;

	prehash_finish(&ph, buf, len);
	while (off < len) {
		struct ledger_record rec;
		enum frame_status st;
		size_t next;

		if (prehash_get(&ph, off, &st, rec.hash))
			frame_parse(buf + off, len - off, &rec);
		else
			st = frame_decode(&v->hs, buf + off, len - off, &rec);

		if (st == FRAME_OK || st == FRAME_BADHDR) {
			rec.segment = s->file_no;
			rec.offset = off;
			if (st == FRAME_BADHDR)
				finding(v, LF_FRAME, s->file_no, off, rec.seq, rec.time_ns,
					"record has reserved bits set or an unknown type %u",
					rec.type);
			if (first && s->header_ok &&
			    (rec.seq != s->hdr.first_seq ||
			     memcmp(rec.prev_hash, s->hdr.prev_hash, LEDGER_HASH_LEN) != 0))
				finding(v, LF_SEGMENT_HEADER, s->file_no, 0, rec.seq, rec.time_ns,
					"segment header does not match its first record (header says "
					"seq %" PRIu64 ", record is seq %" PRIu64 ")",
					s->hdr.first_seq, rec.seq);
			first = false;
			on_record(v, &rec);
			off += rec.frame_len;
			continue;
		}
		/* Damage.  At the very end of the ledger, with nothing valid after it,
		 * it is what a crash leaves: a torn tail.  Anywhere else it is not. */
		next = frame_resync(buf, len, off + 1);
		if (last_segment && next >= len) {
			finding(v, LF_TORN_TAIL, s->file_no, off, v->expect_seq, 0,
				"the last %zu bytes form no complete record (a crash the writer has "
				"not recovered yet, or a cut)",
				len - off);
			if (first)
				check_empty_segment(v, s);
			prehash_release(&ph);
			return;
		}
		if (st == FRAME_CRC) {
			v->res->records++;
			finding(v, LF_CRC, s->file_no, off, rec.seq, rec.time_ns,
				"checksum mismatch in record seq %" PRIu64, rec.seq);
		} else {
			finding(v, LF_FRAME, s->file_no, off, v->expect_seq, 0, "%s",
				st == FRAME_SHORT ? "segment ends inside a record"
						  : "record has an impossible length");
		}
		/* Do not chain-check across the damaged bytes: one finding each. */
		v->reanchor = true;
		off = next;
	}
	if (first)
		check_empty_segment(v, s);
	prehash_release(&ph);
}

static int load_trusted(struct vctx *v)
{
	struct ledger_verify_result *r = v->res;

	if (!v->o->ntrusted)
		return 0;
	v->trusted = vg_calloc(v->o->ntrusted, sizeof(*v->trusted));
	if (!v->trusted)
		return -ENOMEM;
	for (size_t i = 0; i < v->o->ntrusted; i++) {
		const char *t = v->o->trusted[i];
		char why[160];
		int rc;

		if (ledger_checkpoint_parse(t, strlen(t), &v->trusted[i].cp, why, sizeof(why)) <
		    0) {
			snprintf(r->error, sizeof(r->error), "trusted checkpoint %zu: %s", i + 1,
				 why);
			return -EINVAL;
		}
		rc = ledger_checkpoint_check_sig(&v->trusted[i].cp, v->o->pub);
		if (rc < 0) {
			snprintf(r->error, sizeof(r->error),
				 "trusted checkpoint %zu is not signed by the given public key",
				 i + 1);
			return -EKEYREJECTED;
		}
		if (i &&
		    memcmp(v->trusted[i].cp.log_id, v->trusted[0].cp.log_id, LEDGER_LOG_ID_LEN)) {
			snprintf(r->error, sizeof(r->error),
				 "trusted checkpoints name different ledgers");
			return -EINVAL;
		}
	}
	v->ntrusted = v->o->ntrusted;
	return 0;
}

/* True when no segment of this ledger comes after segs[i]: damage at its
 * end may be a torn tail. */
static bool last_own_segment(const struct seg_entry *segs, size_t nsegs, size_t i)
{
	for (size_t j = i + 1; j < nsegs; j++)
		if (!segs[j].foreign && !segs[j].duplicate)
			return false;
	return true;
}

/* A missing segment was reported already (pass 1); do not report its
 * records again as a gap in the chain: the walk re-anchors after it. */
static void anchor_after_missing(struct vctx *v, const struct seg_entry *segs, size_t i)
{
	const struct seg_entry *s = &segs[i];

	if (i > 0 && s->header_ok) {
		const struct seg_entry *p = NULL;

		for (size_t j = i; j-- > 0;)
			if (!segs[j].foreign && !segs[j].duplicate) {
				p = &segs[j];
				break;
			}
		if (p && p->header_ok && s->hdr.segno > p->hdr.segno + 1)
			v->reanchor = true;
	} else if (i == 0 && s->header_ok && s->hdr.segno > 1) {
		v->reanchor = true;
		v->started = true;
	}
}

/* A segment file that could not be read (rc).  Too large, or not a regular
 * file: a finding, and the walk re-anchors after it (0).  Permissions,
 * memory, I/O: nothing is known about the ledger, so this is an error, not
 * a finding (rc, with r->error). */
static int unreadable_segment(struct vctx *v, const struct seg_entry *s, int rc)
{
	if (rc != -EFBIG && rc != -EINVAL) {
		snprintf(v->res->error, sizeof(v->res->error),
			 "cannot read segment file %" PRIu64 ": %s", s->file_no, strerror(-rc));
		return rc;
	}
	finding(v, LF_SEGMENT_HEADER, s->file_no, 0, 0, 0, "segment file %" PRIu64 " %s",
		s->file_no,
		rc == -EFBIG ? "is larger than any segment can be" : "is not a regular file");
	v->reanchor = true;
	return 0;
}

/*
 * Pass 2: walks every record of the ledger's segments (foreign and duplicate
 * files aside) in the order pass 1 found, reading each file into sb.  Fails
 * only when a file cannot be read for a reason that says nothing about the
 * ledger.
 */
static int walk_segments(struct vctx *v, const struct seg_entry *segs, size_t nsegs,
			 struct seg_buf *sb)
{
	const struct ledger_verify_options *o = v->o;
	struct ledger_verify_result *r = v->res;
	uint64_t done = 0;
	int rc;

	for (size_t i = 0; i < nsegs; i++) {
		const struct seg_entry *s = &segs[i];
		char path[4200];
		size_t len = 0;
		struct prehash pre;

		if (s->foreign || s->duplicate)
			continue;
		prehash_begin(&pre);
		if ((rc = seg_path(path, sizeof(path), o->dir, s->file_no)) < 0 ||
		    (rc = seg_read(path, sb, &len, prehash_walk, &pre)) < 0) {
			prehash_release(&pre);
			if ((rc = unreadable_segment(v, s, rc)) < 0)
				return rc;
			continue;
		}
		r->segments++;
		if (!r->first_segment)
			r->first_segment = s->file_no;
		r->last_segment = s->file_no;
		r->bytes += len;
		anchor_after_missing(v, segs, i);
		walk_segment(v, s, sb->p, len, last_own_segment(segs, nsegs, i), &pre);
		/* Progress in segments: sizes are not known before reading. */
		if (o->progress)
			o->progress(o->progress_arg, ++done, nsegs);
	}
	return 0;
}

/* What the trusted checkpoints not met in the walk say about the end: the
 * ledger was cut before their seq, or their seq is not in it. */
static void check_trusted_end(struct vctx *v)
{
	struct ledger_verify_result *r = v->res;

	for (size_t i = 0; i < v->ntrusted; i++) {
		struct trusted *t = &v->trusted[i];

		if (t->matched || t->rewritten)
			continue;
		if (t->cp.seq == 0) {
			t->matched = true;
			r->ntrusted_ok++;
		} else if (t->cp.seq > r->last_seq) {
			finding(v, LF_TRUNCATED, r->last_segment, 0, r->last_seq + 1, 0,
				"the ledger ends at seq %" PRIu64
				" but a trusted checkpoint attests "
				"seq %" PRIu64 ": records from seq %" PRIu64 " on were cut off",
				r->last_seq, t->cp.seq, r->last_seq + 1);
		} else {
			finding(v, LF_REWRITTEN, 0, 0, t->cp.seq, 0,
				"seq %" PRIu64 " of the trusted checkpoint is not in the ledger",
				t->cp.seq);
		}
	}
}

/* The unsealed tail, and the verdict from the findings. */
static void conclude(struct vctx *v)
{
	struct ledger_verify_result *r = v->res;

	r->unsealed = v->since_seal;
	r->unsealed_first_ns = v->since_seal_first;
	r->unsealed_last_ns = v->since_seal_last;
	if (v->since_seal && v->o->require_sealed)
		finding(v, LF_UNSEALED, r->last_segment, 0, r->last_seq, v->since_seal_last,
			"%" PRIu64 " records after the last checkpoint are not sealed",
			v->since_seal);
	r->verdict = v->any_tamper	 ? LEDGER_TAMPERED
		     : v->any_incomplete ? LEDGER_INCOMPLETE
					 : LEDGER_OK;
}

int ledger_verify(const struct ledger_verify_options *o, struct ledger_verify_result *r)
{
	struct vctx v = { .o = o, .res = r, .clean = true };
	struct seg_entry *segs = NULL;
	struct seg_buf sb = { 0 };
	size_t nsegs = 0;
	int rc;

	memset(r, 0, sizeof(*r));
	if (!o->dir || !o->pub) {
		snprintf(r->error, sizeof(r->error),
			 "a ledger directory and a public key are needed");
		rc = -EINVAL;
		goto fail;
	}
	if ((rc = hasher_init(&v.hs)) < 0) {
		snprintf(r->error, sizeof(r->error), "SHA-256 is not available");
		goto fail;
	}
	if ((rc = load_trusted(&v)) < 0)
		goto fail;
	if (o->mac)
		v.mac_at = *o->mac;
	if ((rc = plan_segments(&v, &segs, &nsegs)) < 0 ||
	    (rc = walk_segments(&v, segs, nsegs, &sb)) < 0)
		goto fail;
	check_trusted_end(&v);
	conclude(&v);
	goto out;
fail:
	r->verdict = LEDGER_ERROR;
out:
	vg_free(segs);
	seg_buf_release(&sb);
	vg_free(v.trusted);
	ledger_mackey_wipe(&v.mac_at);
	hasher_release(&v.hs);
	return rc;
}

void ledger_verify_result_release(struct ledger_verify_result *r)
{
	vg_free(r->findings);
	r->findings = NULL;
	r->nfindings = 0;
}
