/*
 * ingest.c - one hook frame becomes one ledger record: normalize, correlate,
 * append.  A payload the normalizer refuses is still recorded, as an event
 * of type "invalid" carrying the reason and the (redacted, truncated) text
 * (norm_hook_event), because an agent sending something unexpected is
 * itself worth keeping; a blocking hook's is decided by the policy
 * decisions.unparseable (decide.c).
 */
#include "daemon.h"
#include "ack.h"
#include "idx.h"
#include "schema.h"
#include "indexer.h"

#include <errno.h>
#include <openssl/evp.h>
#include <string.h>

/*
 * Abandoned tool calls the pairer holds (a session ended, Pres evicted) are
 * recorded by the timer every few seconds, or by the worker that sees this
 * many waiting: the pairer drops them unrecorded past its limits, and a
 * burst of evictions could get there between two ticks.
 */
#define VD_EXPIRE_BACKLOG 64

/* vigil-hook sends at most WIRE_MAX_PAYLOAD bytes: the normalizer must take them all. */
_Static_assert(NORM_DEFAULT_MAX_INPUT >= WIRE_MAX_PAYLOAD, "the normalizer refuses payloads the hook accepts");

/* The project root for (cwd, project_dir), cached: finding a git root costs
 * a few stat() calls per directory level, and hooks fire constantly from
 * the same few directories. */
static const char *project_root(struct vd *d, const char *cwd, const char *pdir, int *source,
				char *out, size_t cap)
{
	char key[8300], root[4096];
	uint64_t h;
	struct vd_project *p;
	int rc;

	if (!*cwd && !*pdir)
		return NULL;
	if (vg_path(key, sizeof(key), "%s\n%s", cwd, pdir) < 0)
		return NULL;
	h = base_fnv1a_str(key);
	p = &d->projects[h % VD_PROJECT_CACHE];
	pthread_mutex_lock(&d->proj_mu);
	if (p->key && !strcmp(p->key, key)) {
		*source = p->source;
		snprintf(out, cap, "%s", p->root);
		pthread_mutex_unlock(&d->proj_mu);
		return out;
	}
	pthread_mutex_unlock(&d->proj_mu);
	rc = norm_project_root(*cwd ? cwd : pdir, pdir, root, sizeof(root));
	if (rc < 0)
		return NULL;
	pthread_mutex_lock(&d->proj_mu);
	vg_free(p->key);
	vg_free(p->root);
	p->key = vg_strdup(key);
	p->root = vg_strdup(root);
	if (!p->key || !p->root) {
		vg_free(p->key);
		vg_free(p->root);
		p->key = p->root = NULL;
	}
	pthread_mutex_unlock(&d->proj_mu);
	*source = rc;
	snprintf(out, cap, "%s", root);
	return out;
}

/*
 * The record of an unparseable payload (norm_hook_event made it) says so
 * when the hook had to cut the payload at its limit, or stopped reading a
 * stdin the agent kept open: that, not the JSON error it caused, is the
 * reason.
 */
static int note_cut(json_t *ev, const struct wire_envelope *env, unsigned flags, size_t len)
{
	const char *reason = json_string_value(json_object_get(ev, "error"));
	char why[768];

	if (!reason)
		reason = "";

	if (flags & WIRE_F_TRUNCATED)
		snprintf(why, sizeof(why), "the hook's stdin of %llu bytes exceeded its limit of %u "
			 "bytes; the first %zu bytes were kept (%s)",
			 (unsigned long long)env->stdin_len, WIRE_MAX_PAYLOAD, len, reason);
	else if (flags & WIRE_F_STDIN_OPEN)
		snprintf(why, sizeof(why), "the agent kept the hook's stdin open past the hook's "
			 "deadline; the %llu bytes that had arrived were kept (%s)",
			 (unsigned long long)env->stdin_len, reason);
	else
		return 0;
	return json_object_set_new(ev, "error", json_string(why));
}

int vd_append_event(struct vd *d, json_t *ev, uint64_t *seq)
{
	const char *id = json_string_value(json_object_get(ev, "id"));
	const char *sha = json_string_value(json_object_get(ev, "payload_sha256"));
	struct vbuf b;
	bool dup;
	const char *s;
	size_t n;
	int rc;

	/* Canonical JSON (sorted keys, compact), the same bytes as
	 * json_dumps(COMPACT | SORT_KEYS) at a third of the cost. */
	vbuf_init(&b, LEDGER_MAX_PAYLOAD);
	rc = norm_serialize(ev, &b);
	if (rc == -E2BIG)
		rc = -EMSGSIZE;
	if (rc < 0) {
		vbuf_release(&b);
		return rc;
	}
	s = (const char *)b.data;
	n = b.len;
	/* Workers append concurrently: appending and queueing under one lock
	 * keeps the index queue in seq order, so what the index has committed is
	 * always every event up to its last seq, which is where it resumes
	 * after a crash. */
	pthread_mutex_lock(&d->append_mu);
	/* The live copy of an event and its spooled copy may race here (a
	 * worker and the drain): only the first is written. */
	pthread_mutex_lock(&d->ids_mu);
	dup = vd_idset_has(&d->ids, id, sha);
	pthread_mutex_unlock(&d->ids_mu);
	if (dup) {
		pthread_mutex_unlock(&d->append_mu);
		vbuf_release(&b);
		return -EEXIST;
	}
	rc = ledger_append(d->l, LEDGER_REC_EVENT, s, n, seq);
	if (rc < 0) {
		pthread_mutex_unlock(&d->append_mu);
		vbuf_release(&b);
		return rc;
	}
	VD_STAT_ADD(d, appended, 1);
	{
		uint64_t cur = VD_STAT_GET(d, last_event_seq);

		while (cur < *seq && !__atomic_compare_exchange_n(&d->st.last_event_seq, &cur, *seq,
								  true, __ATOMIC_RELAXED,
								  __ATOMIC_RELAXED))
			;
	}
	pthread_mutex_lock(&d->ids_mu);
	vd_idset_add(&d->ids, id, sha);
	pthread_mutex_unlock(&d->ids_mu);
	/* To the index thread, which indexes it once it is durable, from the
	 * event itself (no second parse).  Past the queue's limit (or without
	 * memory) the record is left out and the index thread fills the gap
	 * from the ledger, from the lowest seq left out. */
	vd_indexer_queue(d->indexer, *seq, vg_now_ns(), s, n, ev);
	vbuf_release(&b);
	pthread_mutex_unlock(&d->append_mu);
	vd_ack_want(d->ack, *seq);
	return 0;
}

/*
 * Already recorded?  A hook spools what vigild was slow to acknowledge, and
 * vigild may still read the same frame from the socket: either copy can come
 * second.  This run's events are in the id set (keyed by id and payload);
 * a spooled copy may also match an earlier run's event in the index, where
 * only the id is known.
 */
static bool seen_before(struct vd *d, const char *id, const char *sha, bool from_spool)
{
	bool has;

	if (!id[0])
		return false;
	pthread_mutex_lock(&d->ids_mu);
	has = vd_idset_has(&d->ids, id, sha);
	pthread_mutex_unlock(&d->ids_mu);
	if (has || !from_spool)
		return has;
	if (!d->ro_idx && idx_open(d->index_path, IDX_RDONLY, &d->ro_idx, NULL, 0) < 0)
		d->ro_idx = NULL;
	return d->ro_idx && idx_has_event(d->ro_idx, id) == 1;
}

/*
 * A staged answer: sent before the append, so that the record can say
 * whether the agent got it.  When the send cannot be tried, the answer
 * simply goes with the durable reply, as before staging.
 */
static int stage_answer(struct vd *d, json_t *ev, unsigned flags, struct vd_verdict *v,
			struct vd_answer *ans, struct vd_stage *stage)
{
	int rc;

	vd_answer(d, ev, v, ans);
	rc = stage->send(stage->ctx, ans);
	if (rc != 0 && rc != -EPIPE) {
		/* Not tried: the answer goes with the durable reply. */
		vd_answer_release(ans);
		return 0;
	}
	/* Sent, or refused by the kernel: either way the durable reply that
	 * follows carries nothing more. */
	stage->sent = true;
	vd_answer_release(ans);
	if (rc == 0)
		return 0;
	/* The hook gave up before the answer reached it: it applied its
	 * failure mode, and that is what the record says. */
	return vd_decision_undelivered(d, ev, flags, v);
}

/* The reason the agent reads quotes what the rule matched: redacted, as
 * the record's copy of it is (cut to fit when markers made it longer). */
static int redact_reason(struct vd *d, struct vd_verdict *v)
{
	struct vbuf b;
	int rc;

	if (!v->reason[0])
		return 0;
	vbuf_init(&b, 8 * sizeof(v->reason));
	rc = norm_redact(d->norm, v->reason, strlen(v->reason), &b);
	if (rc > 0) {
		size_t n = b.len < sizeof(v->reason) - 1 ? b.len : sizeof(v->reason) - 1;

		while (n > 0 && n < b.len && (b.data[n] & 0xc0) == 0x80)
			n--;
		memcpy(v->reason, b.data, n);
		v->reason[n] = '\0';
	}
	vbuf_release(&b);
	return rc < 0 ? rc : 0;
}

/* The agent's version, read from the transcript once per session (the
 * correlator copies it to the session's later events). */
static void add_agent_version(json_t *ev)
{
	const char *hook = json_string_value(json_object_get(ev, "hook"));
	json_t *payload = json_object_get(ev, "payload");
	const char *tp = json_string_value(json_object_get(payload, "transcript_path"));
	char ver[80];

	if (!hook || !tp || json_object_get(ev, "agent_version"))
		return;
	if (strcmp(hook, "SessionStart") && strcmp(hook, "UserPromptSubmit"))
		return;
	if (norm_transcript_version(tp, ver, sizeof(ver)) == 0)
		json_object_set_new(ev, "agent_version", json_string(ver));
}

/*
 * Without CLAUDE_PROJECT_DIR the normalizer took the payload's cwd as the
 * root.  When a git work tree encloses that cwd, its top is the root: the
 * event is normalized again with it (scope checks depend on the root).  The
 * answer is cached per cwd, so this costs stat() calls once per directory.
 */
static int refine_root(struct vd *d, const struct norm_envelope *ne, const char *payload,
		       size_t len, json_t **ev, char *err, size_t errcap)
{
	struct norm_envelope again_ne = *ne; /* the caller's must not point into rbuf */
	const char *cwd = json_string_value(json_object_get(*ev, "cwd"));
	json_t *proj = json_object_get(*ev, "project"), *again = NULL;
	char rbuf[4096];
	const char *root;
	int source = 0, rc;

	if (!cwd || !*cwd)
		return 0;
	root = project_root(d, cwd, "", &source, rbuf, sizeof(rbuf));
	if (!root || source != NORM_PROJECT_GIT)
		return 0;
	if (!strcmp(root, cwd)) {
		if (proj)
			json_object_set_new(proj, "source", json_string("git"));
		return 0;
	}
	again_ne.project_dir = root;
	again_ne.project_source = NORM_PROJECT_GIT;
	rc = norm_event(d->norm, &again_ne, payload, len, &again, err, errcap);
	if (rc < 0)
		return rc == -ENOMEM ? rc : 0; /* keep the first result */
	json_decref(*ev);
	*ev = again;
	return 0;
}

/*
 * Step 1: the payload as the raw event the rules judge (norm_hook_event,
 * the function `vigil rules test` calls too, so both see the same event),
 * with its project root.  0, NORM_UNPARSEABLE, or -errno.
 */
static int ingest_normalize(struct vd *d, const struct wire_envelope *env, const char *payload,
			    size_t len, json_t **ev)
{
	struct norm_envelope ne = { .pid = -1, .ppid = -1, .uid = -1 };
	char err[512], rbuf[4096];
	int rc, source = 0;

	ne.id = env->id[0] ? env->id : NULL;
	ne.recv_ns = env->time_ns;
	ne.agent = env->agent[0] ? env->agent : NULL;
	ne.pid = env->pid;
	ne.ppid = env->ppid;
	ne.uid = env->uid;
	/* CLAUDE_PROJECT_DIR, when the hook had it, is the root; otherwise the
	 * agent's cwd from the payload decides (the hook's own cwd is normally
	 * the same, but not when a recorded session is replayed). */
	if (env->project_dir[0])
		ne.project_dir = project_root(d, env->cwd, env->project_dir, &source, rbuf,
					      sizeof(rbuf));
	ne.project_source = (enum norm_project_source)source;
	ne.hook_event = env->event[0] ? env->event : NULL;
	ne.hook_cwd = env->cwd[0] ? env->cwd : NULL;
	/* The rules judge what the agent sent; the record gets it redacted
	 * and cut (norm_clean_event below, before anything leaves). */
	ne.flags = NORM_RAW;
	rc = norm_hook_event(d->norm, &ne, payload, len, ev, err, sizeof(err));
	if (rc == 0 && !env->project_dir[0])
		rc = refine_root(d, &ne, payload, len, ev, err, sizeof(err));
	return rc;
}

int vd_ingest(struct vd *d, unsigned kind, unsigned flags, const struct wire_envelope *env,
	      const char *payload, size_t len, bool from_spool, const struct vd_peer *peer,
	      struct rules_result *rr, struct vd_answer *ans, uint64_t *seq, struct vd_stage *stage)
{
	struct vd_verdict v;
	struct pair_stats ps = { 0 };
	json_t *ev = NULL;
	int rc;

	*seq = 0;
	memset(&v, 0, sizeof(v));
	VD_STAT_ADD(d, received, 1);
	if ((rc = ingest_normalize(d, env, payload, len, &ev)) < 0)
		return rc;
	/* A copy of an event already written (the spooled and the live copy of
	 * one hook call) stops here, before it counts on the pairing or the
	 * alerts.  The normalizer has hashed the payload: its digest is the
	 * content half of the key. */
	if (env->id[0] &&
	    seen_before(d, env->id,
			json_string_value(json_object_get(ev, EVF_PAYLOAD_SHA256)), from_spool)) {
		VD_STAT_ADD(d, spool_dups, 1);
		json_decref(ev);
		return 0;
	}
	if (rc == NORM_UNPARSEABLE) {
		VD_STAT_ADD(d, invalid, 1);
		if (note_cut(ev, env, flags, len) < 0) {
			json_decref(ev);
			return -ENOMEM;
		}
	} else {
		add_agent_version(ev);
		pthread_mutex_lock(&d->corr_mu);
		pair_apply(d->corr, ev, env->time_ns ? env->time_ns : vg_now_ns());
		pair_stats(d->corr, &ps);
		pthread_mutex_unlock(&d->corr_mu);
	}
	if (peer)
		json_object_set_new(ev, "peer",
				    json_pack("{s:I, s:I, s:I}", "pid", (json_int_t)peer->pid, "uid",
					      (json_int_t)peer->uid, "gid", (json_int_t)peer->gid));
	if (from_spool)
		json_object_set_new(ev, "spooled", json_true());
	/* Rules run on every event, invalid ones too (an agent feeding vigil
	 * garbage is worth a rule), before the append: the decision is part
	 * of the record. */
	rc = vd_decide(d, ev, kind, flags, from_spool, rr, &v);
	if (rc == 0 && v.blocking && !from_spool) {
		struct ledger_status ls;

		ledger_status(d->l, &ls);
		if (ls.last_error)
			vd_decision_ledger_failing(d, ev, ls.last_error, &v);
	}
	/* From here on the event is the one stored, answered and sent. */
	if (rc == 0 && (norm_clean_event(d->norm, ev) < 0 || redact_reason(d, &v) < 0))
		rc = -ENOMEM;
	if (rc == 0 && from_spool && kind == WIRE_DECIDE)
		rc = vd_decision_spooled(d, ev, env, flags, &v);
	else if (rc == 0 && stage && ans && v.blocking)
		rc = stage_answer(d, ev, flags, &v, ans, stage);
	if (rc < 0)
		goto out;
	rc = vd_append_event(d, ev, seq);
	if (rc == -EEXIST) {
		/* Its other copy was written first: nothing to add. */
		VD_STAT_ADD(d, spool_dups, 1);
		rc = 0;
		goto out;
	}
	if (rc < 0)
		goto out;
	vd_alerts_emit(d, &v);
	if (ans && !(stage && stage->sent))
		vd_answer(d, ev, &v, ans);
	/* After the event, so a SessionEnd comes before its abandoned calls. */
	if (ps.doomed >= VD_EXPIRE_BACKLOG)
		vd_expire(d);
out:
	vd_verdict_release(&v);
	json_decref(ev);
	return rc;
}

void vd_answer_release(struct vd_answer *ans)
{
	vg_free(ans->out);
	vg_free(ans->err);
	memset(ans, 0, sizeof(*ans));
}

/* Tool calls whose Post never came become tool_abandoned records (the
 * timer, and a worker that finds a backlog; both may run at once). */
void vd_expire(struct vd *d)
{
	json_t *out[64];
	size_t n = 0;
	uint64_t seq;

	do {
		int rc;

		pthread_mutex_lock(&d->corr_mu);
		rc = pair_expire(d->corr, vg_now_ns(), out, VG_ARRAY_LEN(out), &n);
		pthread_mutex_unlock(&d->corr_mu);
		if (rc < 0)
			return;
		for (size_t i = 0; i < n; i++) {
			/* Made from what the pairer kept of a raw Pre. */
			if (norm_clean_event(d->norm, out[i]) >= 0 &&
			    vd_append_event(d, out[i], &seq) == 0)
				VD_STAT_ADD(d, abandoned, 1);
			else
				vg_warn("cannot record an abandoned tool call");
			json_decref(out[i]);
		}
	} while (n == VG_ARRAY_LEN(out));
}
