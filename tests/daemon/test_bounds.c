/*
 * test_bounds.c - what vigild keeps in memory stays within its stated
 * limits whatever it is fed: the id set of appended events (VD_IDSET_SLOTS),
 * the open alerts (count and bytes) and the records waiting for the index.  Each test feeds several times the
 * limit and checks the size after every step.
 */
#include "daemon.h"
#include "indexer.h"
#include "tap.h"

#include <event2/event.h>

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* The i-th UUIDv7-shaped id (time part from i, random part scrambled). */
static void nth_id(uint64_t i, char out[37])
{
	uint64_t r = (i + 1) * 0x9e3779b97f4a7c15ull;

	snprintf(out, 37, "%08llx-%04llx-7%03llx-8%03llx-%012llx", (unsigned long long)(i >> 16),
		 (unsigned long long)(i & 0xffff), (unsigned long long)(r >> 52),
		 (unsigned long long)((r >> 40) & 0xfff),
		 (unsigned long long)(r & 0xffffffffffffull));
}

static void test_idset(void)
{
	struct vd_idset s;
	const size_t cap = 1u << 12, fed = 10 * cap;
	uint8_t(*cur)[16], (*old)[16];
	bool same_memory = true, recent = true;
	size_t max_n = 0;
	char id[37];

	TAP_OK(vd_idset_init(&s, cap) == 0 && s.cap == cap && s.cur && s.old,
	       "init: both generations of %zu slots allocated", cap);
	cur = s.cur;
	old = s.old;
	for (size_t i = 0; i < fed; i++) {
		nth_id(i, id);
		vd_idset_add(&s, id, NULL);
		max_n = s.cur_n > max_n ? s.cur_n : max_n;
		/* Never other memory than the two tables of init. */
		if (!((s.cur == cur && s.old == old) || (s.cur == old && s.old == cur)))
			same_memory = false;
	}
	TAP_OK(same_memory && s.cap == cap, "%zu ids fed: still the two tables of init (%zu bytes)",
	       fed, 2 * cap * 16);
	TAP_OK(max_n <= cap / 2, "a generation never held more than cap/2 = %zu (%zu)", cap / 2,
	       max_n);
	for (size_t i = fed - cap / 2; i < fed; i++) {
		nth_id(i, id);
		if (!vd_idset_has(&s, id, NULL))
			recent = false;
	}
	TAP_OK(recent, "the last cap/2 = %zu ids are all still known", cap / 2);
	nth_id(0, id);
	TAP_OK(!vd_idset_has(&s, id, NULL), "the first id was forgotten");
	vd_idset_free(&s);

	TAP_OK(vd_idset_init(&s, VD_IDSET_SLOTS) == 0 && s.cap == VD_IDSET_SLOTS,
	       "vigild's id set: %u slots a generation, %u bytes in all", VD_IDSET_SLOTS,
	       2 * VD_IDSET_SLOTS * 16);
	vd_idset_free(&s);
}

/* alerts.open and alerts.bytes of `vigil status`. */
static void alert_counts(struct vd *d, size_t *open, size_t *bytes)
{
	json_t *j = vd_alerts_status(d);

	*open = (size_t)json_integer_value(json_object_get(j, "open"));
	*bytes = (size_t)json_integer_value(json_object_get(j, "bytes"));
	json_decref(j);
}

/* One match of rule h in session sid; returns how many of the records it
 * produced are "match" updates of alert want_id. */
static size_t match(struct vd *d, struct rules_hit *h, const char *sid, const char *project,
		    uint64_t i, char alert_id[37], const char *want_id)
{
	struct vd_verdict v;
	char id[37];
	json_t *ev;
	size_t n = 0;

	memset(&v, 0, sizeof(v));
	nth_id(i, id);
	ev = json_pack("{s:s, s:s, s:s, s:{s:s}}", "id", id, "session_id", sid, "agent",
		       "claude-code", "project", "root", project);
	vd_alerts_match(d, h, ev, alert_id, &v);
	for (size_t k = 0; k < v.nrecs; k++) {
		const json_t *al = json_object_get(v.recs[k], "alert");
		const char *upd = json_string_value(json_object_get(al, "update"));
		const char *aid = json_string_value(json_object_get(al, "id"));

		if (want_id && upd && aid && !strcmp(upd, "match") && !strcmp(aid, want_id))
			n++;
	}
	vd_verdict_release(&v);
	json_decref(ev);
	return n;
}

static void test_alerts(void)
{
	static struct vd d; /* large: not on the stack */
	struct rules_hit h = { .rule = SIZE_MAX,
			       .rule_id = "0190a0b0-0000-7000-8000-000000000001",
			       .title = "Download piped to a shell",
			       .name = "curl-pipe-sh",
			       .level = RULES_LEVEL_HIGH,
			       .action = RULES_ACTION_BLOCK,
			       .kind = RULES_KIND_DETECTION };
	char sid[1100], project[4200], first[37], aid[37];
	size_t open = 0, bytes = 0, max_open = 0, max_bytes = 0, flushed = 0;
	const size_t fed = 25000;

	snprintf(d.host, sizeof(d.host), "h");
	snprintf(d.user, sizeof(d.user), "u");
	snprintf(h.why, sizeof(h.why), "rule 'curl-pipe-sh': selection 'sel' matched");
	TAP_OK(vd_alerts_init(&d) == 0, "alerts set up");

	/* An alert matched twice within a second owes a match record... */
	match(&d, &h, "S-first", "/p", 0, first, NULL);
	match(&d, &h, "S-first", "/p", 1, aid, NULL);
	/* ...and is the first to leave memory once 25,000 sessions follow. */
	for (size_t i = 0; i < fed; i++) {
		snprintf(sid, sizeof(sid), "S%zu", i);
		flushed += match(&d, &h, sid, "/home/dev/acme-app", i + 2, aid, first);
		alert_counts(&d, &open, &bytes);
		max_open = open > max_open ? open : max_open;
		max_bytes = bytes > max_bytes ? bytes : max_bytes;
	}
	TAP_OK(max_open == VD_ALERTS_MAX && open == VD_ALERTS_MAX,
	       "%zu sessions' alerts: never more than %d open in memory (%zu)", fed, VD_ALERTS_MAX,
	       max_open);
	TAP_OK(max_bytes <= VD_ALERTS_MAX_BYTES, "...in at most %zu bytes (%zu bytes an alert)",
	       max_bytes, bytes / open);
	TAP_OK(flushed == 1, "the evicted alert's pending match was recorded first (%zu)", flushed);
	match(&d, &h, "S-first", "/p", fed + 2, aid, NULL);
	TAP_OK(strcmp(aid, first) != 0, "its next match opens a new alert");
	vd_alerts_free(&d);

	/* Long session ids, projects and reasons: the byte limit holds first. */
	TAP_OK(vd_alerts_init(&d) == 0, "alerts set up again");
	memset(h.why, 'w', RULES_WHY_MAX - 1);
	h.why[RULES_WHY_MAX - 1] = 0;
	memset(project, 'p', sizeof(project) - 1);
	project[0] = '/';
	project[sizeof(project) - 1] = 0;
	max_open = max_bytes = 0;
	for (size_t i = 0; i < fed; i++) {
		memset(sid, 's', sizeof(sid) - 1);
		sid[sizeof(sid) - 1] = 0;
		memcpy(sid, aid, (size_t)snprintf(aid, sizeof(aid), "L%zu-", i));
		match(&d, &h, sid, project, i, aid, NULL);
		alert_counts(&d, &open, &bytes);
		max_open = open > max_open ? open : max_open;
		max_bytes = bytes > max_bytes ? bytes : max_bytes;
	}
	TAP_OK(max_bytes <= VD_ALERTS_MAX_BYTES && max_open < VD_ALERTS_MAX && open > 1000,
	       "alerts of 1 KiB session ids and 4 KiB projects: at most %zu bytes, %zu open",
	       max_bytes, max_open);
	vd_alerts_free(&d);
}

static void synced(void *arg)
{
	(void)arg;
}

/* The index thread stalls (it is never started): the queue stops at its
 * limit, keeping events only while it is short, and counts what it left out
 * for the catch-up from the ledger. */
static void test_index_queue(void)
{
	struct event_base *base = event_base_new();
	struct vd_indexer *x = NULL;
	struct vd_indexer_status st;
	char json[1024];
	/* A record with its event counts about (1 + VD_INDEX_EV_FACTOR) times its JSON. */
	size_t max_bytes = 0, with_ev,
	       fit_lo = VD_INDEX_Q_EV_BYTES / (sizeof(json) * (1 + VD_INDEX_EV_FACTOR) + 128),
	       fit_hi = VD_INDEX_Q_EV_BYTES / (sizeof(json) * (1 + VD_INDEX_EV_FACTOR));
	const uint64_t fed = 100000;
	json_t *ev = json_pack("{s:s, s:s}", "schema", "vigil.event.v1", "event_type", "tool_use");

	memset(json, 'j', sizeof(json));
	TAP_OK(base && vd_indexer_new(NULL, "ledger", "index.db", base, synced, NULL, &x) == 0,
	       "an index queue whose thread never runs");
	for (uint64_t seq = 1; seq <= fed; seq++) {
		vd_indexer_queue(x, seq, seq, json, sizeof(json), ev);
		vd_indexer_status(x, &st);
		max_bytes = st.bytes > max_bytes ? st.bytes : max_bytes;
	}
	vd_indexer_status(x, &st);
	TAP_OK(max_bytes <= VD_INDEX_Q_MAX_BYTES && st.bytes > VD_INDEX_Q_MAX_BYTES / 2,
	       "%" PRIu64 " records of 1 KiB: the queue never held over %u bytes (%zu)", fed,
	       VD_INDEX_Q_MAX_BYTES, max_bytes);
	/* The queue's references are the event's count past ours. */
	with_ev = (size_t)ev->refcount - 1;
	TAP_OK(with_ev >= fit_lo && with_ev <= fit_hi && st.pending > 4 * with_ev,
	       "the event kept with the first %zu records only (%u bytes); %zu queued", with_ev,
	       VD_INDEX_Q_EV_BYTES, st.pending);
	TAP_OK(st.left_out == fed - st.pending,
	       "the %" PRIu64 " left out are counted for the catch-up", st.left_out);
	vd_indexer_free(x);
	TAP_OK(ev->refcount == 1, "freed with the queue");
	json_decref(ev);
	event_base_free(base);
}

int main(void)
{
	test_idset();
	test_alerts();
	test_index_queue();
	return tap_done();
}
