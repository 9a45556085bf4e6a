/*
 * ledgercheck.c - vigild's start-up check of the ledger against what was
 * already seen of it: the head file (ledger_open compares it and reports in
 * struct ledger_open_info) and the index, whose highest seq is a second
 * witness of how far the ledger went.
 *
 * A ledger cut back to an earlier seal, or deleted, restarts cleanly: the
 * index then still held rows for seqs the ledger no longer has, and new
 * events reusing those seqs were skipped by it ("up to date").  Here a cut
 * raises a critical alert (recorded in the ledger like every alert; the
 * writer recorded its own recovery record), and an index that knows seqs
 * the ledger does not is moved aside, whole, so that the index thread builds
 * a new one from the ledger and no new event is hidden.  The old index is
 * kept, not deleted: it holds what the cut removed.
 *
 * Records the writer found after the last seal and did not vouch for (see
 * ledger.h) raise a high alert.
 */
#include "daemon.h"
#include "idx.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TRUNCATED_RULE "vigil-ledger-truncated"
#define UNVOUCHED_RULE "vigil-ledger-unvouched"
#define CORRUPT_RULE "vigil-index-corrupt"

/* Opens one alert of a rule that is vigild's own, not a loaded rule's. */
static void raise_alert(struct vd *d, const char *rule, const char *title, enum rules_level lv,
			const char *why)
{
	struct vd_verdict v;
	struct rules_hit h;
	char alert_id[37] = "", id[37];
	json_t *ev;

	if (base_uuid7(id) < 0)
		return;
	ev = json_pack("{s:s, s:s}", "id", id, "agent", "vigil");
	if (!ev)
		return;
	memset(&v, 0, sizeof(v));
	memset(&h, 0, sizeof(h));
	v.mode = "rules";
	h.rule = SIZE_MAX;
	h.rule_id = h.name = rule;
	h.title = title;
	h.level = lv;
	h.action = RULES_ACTION_ALERT;
	h.kind = RULES_KIND_DETECTION;
	snprintf(h.why, sizeof(h.why), "%s", why);
	vd_alerts_match(d, &h, ev, alert_id, &v);
	vd_alerts_emit(d, &v);
	vd_verdict_release(&v);
	json_decref(ev);
}

/* The index's highest seq, 0 when there is no index (or it cannot be read:
 * the index thread reports that). */
static uint64_t index_last_seq(const char *path)
{
	struct idx *ix = NULL;
	uint64_t last = 0;

	if (access(path, F_OK) < 0 || idx_open(path, IDX_RDONLY, &ix, NULL, 0) < 0)
		return 0;
	if (idx_last_seq(ix, &last) < 0)
		last = 0;
	idx_close(ix);
	return last;
}

/* Renames index.db and its -wal and -shm files together (SQLite finds its
 * WAL by name) to index.db.<why>-<time>.  0 or -errno. */
static int move_index_aside(const char *path, const char *why, char *to, size_t cap)
{
	static const char *const sfx[] = { "", "-wal", "-shm" };
	char from[4300], dst[4400];

	if (vg_path(to, cap, "%s.%s-%" PRIu64, path, why,
		    (uint64_t)(vg_now_ns() / 1000000000ull)) < 0)
		return -ENAMETOOLONG;
	for (size_t i = 0; i < VG_ARRAY_LEN(sfx); i++) {
		if (vg_path(from, sizeof(from), "%s%s", path, sfx[i]) < 0 ||
		    vg_path(dst, sizeof(dst), "%s%s", to, sfx[i]) < 0)
			return -ENAMETOOLONG;
		if (rename(from, dst) < 0 && errno != ENOENT)
			return -errno;
	}
	return 0;
}

/*
 * A damaged index (a disk error, a crash of the machine mid-write on a file
 * system that lied about fsync, a hand edit) fails queries with "database
 * disk image is malformed" and cannot restore open alerts.  It is derived
 * data: moved aside (kept for a post-mortem) and rebuilt from the ledger by
 * the index thread, which `vigil status` shows catching up.
 */
static int check_index(struct vd *d, char *err, size_t errcap)
{
	struct idx *ix = NULL;
	char why[512] = "", aside[4400], msg[5200];
	int rc;

	if (access(d->index_path, F_OK) < 0)
		return 0;
	rc = idx_open(d->index_path, IDX_RDONLY, &ix, why, sizeof(why));
	if (rc == 0)
		rc = idx_quick_check(ix, why, sizeof(why));
	idx_close(ix);
	if (rc != -EBADMSG && !(rc < 0 && strstr(why, "malformed")))
		return 0; /* sound, or a problem the index thread will report */
	rc = move_index_aside(d->index_path, "corrupt", aside, sizeof(aside));
	if (rc < 0) {
		snprintf(err, errcap,
			 "the index '%s' is damaged (%s) and cannot be moved aside (%s); move it "
			 "away and start again",
			 d->index_path, why, strerror(-rc));
		return rc;
	}
	snprintf(msg, sizeof(msg),
		 "The index was damaged (%s): moved to %s; a new one is being built from the "
		 "ledger ('vigil status' shows its progress)",
		 why, aside);
	vg_err("%s", msg);
	raise_alert(d, CORRUPT_RULE, "vigil's index was damaged and is being rebuilt",
		    RULES_LEVEL_HIGH, msg);
	return 0;
}

int vd_ledger_check(struct vd *d, const struct ledger_open_info *info, char *err, size_t errcap)
{
	uint64_t end, last;
	bool stale;
	char why[1024], aside[4400] = "";
	int rc;

	if ((rc = check_index(d, err, errcap)) < 0)
		return rc;
	end = info->found_last_seq;
	last = index_last_seq(d->index_path);
	stale = last > end || (info->replaced && last > 0);

	if (stale) {
		rc = move_index_aside(d->index_path, "stale", aside, sizeof(aside));
		if (rc < 0) {
			/* Serving would hide new events behind the old rows. */
			snprintf(err, errcap,
				 "the index '%s' holds seq %" PRIu64 " but the ledger ends at seq "
				 "%" PRIu64 ", and it cannot be moved aside (%s); move it away and "
				 "start again",
				 d->index_path, last, end, strerror(-rc));
			return rc;
		}
		vg_warn("the index held seq %" PRIu64 " but the ledger ends at seq %" PRIu64
			": moved it to '%s'; a new index is built from the ledger",
			last, end, aside);
	}
	if (info->truncated || stale) {
		int n = snprintf(why, sizeof(why), "The ledger ends at seq %" PRIu64 " but ", end);

		if (info->truncated)
			n += snprintf(why + n, sizeof(why) - (size_t)n,
				      "%s seq %" PRIu64 "..%" PRIu64 " (%s)",
				      info->replaced ? "it was started anew: the previous ledger "
						       "held"
						     : "vigild had made durable",
				      info->missing_first, info->missing_last, info->why);
		if (info->truncated && stale)
			n += snprintf(why + n, sizeof(why) - (size_t)n, ", and ");
		if (stale)
			snprintf(why + n, sizeof(why) - (size_t)n,
				 "the index held events up to seq %" PRIu64
				 " (the old index is kept as %s)",
				 last, aside);
		vg_err("%s", why);
		raise_alert(d, TRUNCATED_RULE, "Ledger records were removed while vigild was down",
			    RULES_LEVEL_CRITICAL, why);
	}
	if (info->unvouched_first) {
		snprintf(why, sizeof(why),
			 "Records seq %" PRIu64 "..%" PRIu64 " were found after the last seal and "
			 "were not written by vigild (%s); they are recorded as unvouched",
			 info->unvouched_first, info->unvouched_last, info->why);
		raise_alert(d, UNVOUCHED_RULE, "Ledger records appended while vigild was down",
			    RULES_LEVEL_HIGH, why);
	}
	return 0;
}
