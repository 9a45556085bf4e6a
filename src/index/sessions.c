/*
 * sessions.c - the per-session aggregates of the index (the sessions
 * table): one event's contribution written at once, or merged in memory
 * over a transaction (IDX_TUNE_SESSIONS) and written with one upsert per
 * session at idx_commit.  The merge combines contributions as the upsert
 * would one by one, so both ways give the same row.  ingest.c computes an
 * event's contribution (struct sess_acc) and decides which way it goes.
 */
#include "idx_int.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Adds a session's aggregates to its row (ST_SESSION_UPSERT). */
int idx_session_write(struct idx *ix, const struct sess_acc *a, char *err, size_t errcap)
{
	sqlite3_stmt *st = idx_stmt(ix, ST_SESSION_UPSERT, err, errcap);

	if (!st)
		return -EIO;
	idx_bind_str(ix, st, 1, a->id);
	sqlite3_bind_int64(st, 2, (int64_t)a->first_ns);
	sqlite3_bind_int64(st, 3, (int64_t)a->first_seq);
	idx_bind_str(ix, st, 4, a->project_root);
	idx_bind_str(ix, st, 5, a->cwd);
	idx_bind_str(ix, st, 6, a->model);
	idx_bind_str(ix, st, 7, a->agent);
	idx_bind_str(ix, st, 8, a->agent_version);
	idx_bind_str(ix, st, 9, a->risk);
	sqlite3_bind_int(st, 10, a->risk_rank);
	sqlite3_bind_int64(st, 11, a->tool_calls);
	sqlite3_bind_int64(st, 12, a->failures);
	sqlite3_bind_int64(st, 13, a->abandoned);
	sqlite3_bind_int64(st, 14, a->prompts);
	sqlite3_bind_int64(st, 15, a->subagents);
	sqlite3_bind_int(st, 16, a->ended);
	idx_bind_str(ix, st, 17, a->end_reason);
	for (int i = 0; i < 5; i++)
		idx_bind_opt_int(st, 18 + i, a->tokens[i]);
	if (a->cost_usd >= 0)
		sqlite3_bind_double(st, 23, a->cost_usd);
	else
		sqlite3_bind_null(st, 23);
	sqlite3_bind_int64(st, 24, (int64_t)a->events);
	sqlite3_bind_int64(st, 25, (int64_t)a->last_ns);
	sqlite3_bind_int64(st, 26, (int64_t)a->last_seq);
	return idx_step_done(ix, st, "index: write session", err, errcap);
}

/* The cache's strings are its own copies, held through const pointers
 * because the same struct also borrows an event's strings (sess_of_event). */
static void free_str(const char *s)
{
	vg_free((void *)(uintptr_t)s);
}

static void sess_acc_release(struct sess_acc *a)
{
	free_str(a->id);
	free_str(a->project_root);
	free_str(a->cwd);
	free_str(a->agent);
	free_str(a->model);
	free_str(a->agent_version);
	free_str(a->end_reason);
	free_str(a->risk);
	memset(a, 0, sizeof(*a));
}

/* *slot = a copy of s when s is set and (first_wins: *slot is not). */
static bool keep_str(const char **slot, const char *s, bool first_wins)
{
	char *c;

	if (!s || (first_wins && *slot))
		return true;
	c = vg_strdup(s);
	if (!c)
		return false;
	free_str(*slot);
	*slot = c;
	return true;
}

/*
 * Merges one event's contribution into the pending aggregates of its
 * session, as ST_SESSION_UPSERT would combine them in order: the merged
 * row upserted once gives the same session row as the events upserted one
 * by one (min/max times, first or last non-NULL strings, the highest risk
 * reached first, sums that stay NULL when nothing was known).
 */
static void sess_merge(struct sess_acc *acc, const struct sess_acc *ev, bool *ok)
{
	acc->first_ns = ev->first_ns < acc->first_ns ? ev->first_ns : acc->first_ns;
	acc->last_ns = ev->last_ns > acc->last_ns ? ev->last_ns : acc->last_ns;
	acc->first_seq = ev->first_seq < acc->first_seq ? ev->first_seq : acc->first_seq;
	acc->last_seq = ev->last_seq > acc->last_seq ? ev->last_seq : acc->last_seq;
	acc->events += ev->events;
	*ok &= keep_str(&acc->project_root, ev->project_root, true);
	*ok &= keep_str(&acc->cwd, ev->cwd, true);
	*ok &= keep_str(&acc->agent, ev->agent, true);
	*ok &= keep_str(&acc->model, ev->model, false);
	*ok &= keep_str(&acc->agent_version, ev->agent_version, false);
	*ok &= keep_str(&acc->end_reason, ev->end_reason, false);
	if (ev->risk_rank > acc->risk_rank) {
		*ok &= keep_str(&acc->risk, ev->risk, false);
		acc->risk_rank = ev->risk_rank;
	}
	acc->ended = ev->ended > acc->ended ? ev->ended : acc->ended;
	acc->tool_calls += ev->tool_calls;
	acc->failures += ev->failures;
	acc->abandoned += ev->abandoned;
	acc->prompts += ev->prompts;
	acc->subagents += ev->subagents;
	for (size_t i = 0; i < VG_ARRAY_LEN(acc->tokens); i++)
		if (ev->tokens[i] >= 0)
			acc->tokens[i] = (acc->tokens[i] < 0 ? 0 : acc->tokens[i]) + ev->tokens[i];
	if (ev->cost_usd >= 0)
		acc->cost_usd = (acc->cost_usd < 0 ? 0 : acc->cost_usd) + ev->cost_usd;
}

/* FNV-1a: session ids are short, and the table is private to the process. */
static size_t str_hash(const char *s)
{
	return (size_t)base_fnv1a_str(s);
}

/* The cache's slots: twice the pending limit, so probes stay short. */
#define SESS_SLOTS (2 * IDX_MAX_PENDING_SESSIONS)

/* Merges ev into the pending row of its session, making one when new. */
int idx_session_merge(struct idx *ix, const struct sess_acc *ev, char *err, size_t errcap)
{
	struct sess_cache *c = &ix->sc;
	struct sess_acc *slot;
	bool ok = true;
	size_t i;

	if (!c->slots) {
		c->slots = vg_calloc(SESS_SLOTS, sizeof(*c->slots));
		if (!c->slots)
			goto nomem;
		c->cap = SESS_SLOTS;
	}
	/* idx_add flushes before an event when the table is full, so there is
	 * always a free slot here. */
	for (i = str_hash(ev->id) & (c->cap - 1); c->slots[i].id; i = (i + 1) & (c->cap - 1))
		if (!strcmp(c->slots[i].id, ev->id))
			break;
	slot = &c->slots[i];
	if (!slot->id) {
		slot->id = vg_strdup(ev->id);
		if (!slot->id)
			goto nomem;
		slot->first_ns = slot->first_seq = UINT64_MAX;
		for (size_t k = 0; k < VG_ARRAY_LEN(slot->tokens); k++)
			slot->tokens[k] = -1;
		slot->cost_usd = -1;
		c->n++;
	}
	sess_merge(slot, ev, &ok);
	if (ok)
		return 0;
nomem:
	/* The pending aggregates may be half-merged: the transaction cannot
	 * commit (idx_sessions_flush fails) and must be rolled back. */
	c->broken = true;
	snprintf(err, errcap, "index: out of memory");
	return -ENOMEM;
}

void idx_sessions_drop(struct idx *ix)
{
	struct sess_cache *c = &ix->sc;

	for (size_t i = 0; c->slots && c->n && i < c->cap; i++)
		if (c->slots[i].id) {
			sess_acc_release(&c->slots[i]);
			c->n--;
		}
	c->n = 0;
	c->broken = false;
}

int idx_sessions_flush(struct idx *ix, char *err, size_t errcap)
{
	struct sess_cache *c = &ix->sc;
	int rc = 0;

	if (c->broken) {
		snprintf(err, errcap, "index: out of memory");
		rc = -ENOMEM;
	}
	for (size_t i = 0; rc == 0 && c->slots && c->n && i < c->cap; i++)
		if (c->slots[i].id)
			rc = idx_session_write(ix, &c->slots[i], err, errcap);
	idx_sessions_drop(ix);
	return rc;
}
