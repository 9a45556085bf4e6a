/*
 * correlate.c - the daemon's memory across events (pipeline.h, struct pair):
 * pairs each PostToolUse with its PreToolUse, places subagents under the
 * Agent/Task call that started them, carries a session's agent_version to
 * its later events, and reports Pres that never got a Post as synthetic
 * "tool_abandoned" events.
 *
 * State, all bounded in count and in bytes (pair_stats() reports both):
 *   pending  Pres waiting for their Post, in a hash map keyed by (session_id,
 *            agent_id or "", tool_use_id) and on two lists: one in arrival
 *            order over all sessions (expiry and eviction take the oldest)
 *            and one per session (SubagentStart looks for its parent there;
 *            SessionEnd abandons them).  At most max_pending Pres and
 *            max_pending_bytes.
 *   doomed   Pres already known to be abandoned (session ended or evicted,
 *            Pre evicted or superseded) waiting for pair_expire() to report
 *            them.  The same two limits again; past them the oldest is
 *            dropped with a warning, since nobody is collecting them (vigild
 *            collects as soon as pair_stats() shows a backlog, so it never
 *            gets there).
 *   sessions in a hash map and a least-recently-seen list (eviction takes
 *            the head); each holds its subagents (agent_id -> parent
 *            agent_id and tool_use_id, at most PAIR_MAX_AGENTS, the oldest
 *            forgotten first) and its agent_version.  At most max_sessions
 *            and max_session_bytes.
 *
 * Bytes are counted, not measured: each held allocation at its size plus
 * PAIR_ALLOC_OVERHEAD, each JSON string at its length plus
 * PAIR_JSTR_OVERHEAD (jansson's struct and malloc's header).  A Pre's strings
 * are shared with its event while the event lives, and counted in full: they
 * are what the Pre keeps alive once the event is gone.
 *
 * Evicting loses no record: an evicted Pre is reported as abandoned (reason
 * "evicted") and its Post, should it still come, is recorded unpaired; an
 * evicted session's Pres are reported the same way and its later events
 * lose only the agent_version and subagent parents it carried.
 *
 * The hash maps use SipHash-2-4 with a random key, so ids chosen by a
 * payload cannot be crafted to collide.  Ids longer than PAIR_MAX_ID bytes
 * are not tracked.
 */
#include "pipeline.h"
#include "pipeline_int.h"

#include "common.h"

#include <errno.h>
#include <stdbool.h>

#define PAIR_DEFAULT_ABANDON_NS (600ull * 1000000000ull)
/*
 * The defaults (pipeline.h says why each is enough).  A Pre of Claude Code
 * costs about 2 KiB as counted (its ids, tool, target, cwd and project;
 * malloc measured 1.9 KiB), more with a target near the normalizer's
 * 2,000-byte limit or long paths: the byte limit, not the count, is what
 * bounds memory.
 */
#define PAIR_DEFAULT_MAX_PENDING 20000u
#define PAIR_DEFAULT_MAX_PENDING_BYTES (16u << 20)
#define PAIR_DEFAULT_MAX_SESSIONS 10000u
#define PAIR_DEFAULT_MAX_SESSION_BYTES (8u << 20)
#define PAIR_MAX_AGENTS 1024u
#define PAIR_MAX_ID 1024u
#define PAIR_ALLOC_OVERHEAD 16u /* malloc's header and rounding, per allocation */
#define PAIR_JSTR_OVERHEAD 64u	/* a JSON string: jansson's struct and two allocations */

/* ---- SipHash-2-4 (Aumasson and Bernstein), written from the paper ------------ */

static uint64_t rotl(uint64_t x, int b)
{
	return (x << b) | (x >> (64 - b));
}

#define SIP_ROUND(v0, v1, v2, v3)                                                       \
	do {                                                                            \
		v0 += v1;                                                               \
		v1 = rotl(v1, 13);                                                      \
		v1 ^= v0;                                                               \
		v0 = rotl(v0, 32);                                                      \
		v2 += v3;                                                               \
		v3 = rotl(v3, 16);                                                      \
		v3 ^= v2;                                                               \
		v0 += v3;                                                               \
		v3 = rotl(v3, 21);                                                      \
		v3 ^= v0;                                                               \
		v2 += v1;                                                               \
		v1 = rotl(v1, 17);                                                      \
		v1 ^= v2;                                                               \
		v2 = rotl(v2, 32);                                                      \
	} while (0)

static uint64_t siphash(const uint8_t key[16], const void *data, size_t n)
{
	const uint8_t *p = data;
	uint64_t k0 = vg_get_le64(key), k1 = vg_get_le64(key + 8);
	uint64_t v0 = k0 ^ 0x736f6d6570736575ull, v1 = k1 ^ 0x646f72616e646f6dull;
	uint64_t v2 = k0 ^ 0x6c7967656e657261ull, v3 = k1 ^ 0x7465646279746573ull;
	uint64_t m, last = (uint64_t)n << 56;
	size_t i;

	for (i = 0; i + 8 <= n; i += 8) {
		m = vg_get_le64(p + i);
		v3 ^= m;
		SIP_ROUND(v0, v1, v2, v3);
		SIP_ROUND(v0, v1, v2, v3);
		v0 ^= m;
	}
	for (size_t j = 0; i + j < n; j++)
		last |= (uint64_t)p[i + j] << (8 * j);
	v3 ^= last;
	SIP_ROUND(v0, v1, v2, v3);
	SIP_ROUND(v0, v1, v2, v3);
	v0 ^= last;
	v2 ^= 0xff;
	for (int r = 0; r < 4; r++)
		SIP_ROUND(v0, v1, v2, v3);
	return v0 ^ v1 ^ v2 ^ v3;
}

/* ---- a chained hash map of nodes embedded in their owners ----------------------- */

struct node {
	struct node *hnext;
	uint64_t h;
	char *key;
	size_t klen;
};

struct map {
	struct node **b;
	size_t nb, n;
};

static struct node *map_find(const struct map *m, const char *k, size_t klen, uint64_t h)
{
	if (!m->nb)
		return NULL;
	for (struct node *x = m->b[h & (m->nb - 1)]; x; x = x->hnext)
		if (x->h == h && x->klen == klen && memcmp(x->key, k, klen) == 0)
			return x;
	return NULL;
}

static int map_insert(struct map *m, struct node *x)
{
	if (m->n + 1 > m->nb) {
		size_t nb = m->nb ? m->nb * 2 : 64;
		struct node **b = vg_calloc(nb, sizeof(*b));

		if (!b)
			return -ENOMEM;
		for (size_t i = 0; i < m->nb; i++) {
			struct node *y = m->b[i], *next;

			for (; y; y = next) {
				next = y->hnext;
				y->hnext = b[y->h & (nb - 1)];
				b[y->h & (nb - 1)] = y;
			}
		}
		vg_free(m->b);
		m->b = b;
		m->nb = nb;
	}
	x->hnext = m->b[x->h & (m->nb - 1)];
	m->b[x->h & (m->nb - 1)] = x;
	m->n++;
	return 0;
}

static void map_remove(struct map *m, struct node *x)
{
	struct node **pp = &m->b[x->h & (m->nb - 1)];

	for (; *pp; pp = &(*pp)->hnext) {
		if (*pp == x) {
			*pp = x->hnext;
			m->n--;
			return;
		}
	}
}

/* ---- the state ------------------------------------------------------------------- */

/* What a Pre leaves behind: the fields a tool_abandoned event copies. */
enum pre_field {
	PF_ID,
	PF_HOST,
	PF_USER,
	PF_AGENT,
	PF_AGENT_VERSION,
	PF_SESSION,
	PF_AGENT_ID,
	PF_PARENT_AGENT_ID,
	PF_PARENT_TOOL_USE_ID,
	PF_PROMPT_ID,
	PF_TOOL_USE_ID,
	PF_TOOL,
	PF_TARGET,
	PF_CWD,
	PF_COUNT
};

static const char *const pre_keys[PF_COUNT] = {
	[PF_ID] = "id",
	[PF_HOST] = "host",
	[PF_USER] = "user",
	[PF_AGENT] = "agent",
	[PF_AGENT_VERSION] = "agent_version",
	[PF_SESSION] = "session_id",
	[PF_AGENT_ID] = "agent_id",
	[PF_PARENT_AGENT_ID] = "parent_agent_id",
	[PF_PARENT_TOOL_USE_ID] = "parent_tool_use_id",
	[PF_PROMPT_ID] = "prompt_id",
	[PF_TOOL_USE_ID] = "tool_use_id",
	[PF_TOOL] = "tool",
	[PF_TARGET] = "target",
	[PF_CWD] = "cwd",
};

struct sess;

struct pend {
	struct node node;	    /* key: (session_id, agent_id, tool_use_id) */
	struct pend *prev, *next;   /* c->live (arrival order) or c->doomed */
	struct pend *sprev, *snext; /* the session's pending list (live only) */
	struct sess *s;		    /* NULL once doomed */
	uint64_t t_ns;
	json_t *f[PF_COUNT]; /* references to the Pre's strings (pf() reads them) */
	char *subagent_type; /* an Agent/Task Pre's tool_input.subagent_type */
	json_t *project;
	const char *reason; /* why it is doomed: "session_end", "evicted", ... */
	size_t bytes;	    /* what it holds, as counted (pend_bytes()) */
	bool delegation, claimed;
};

struct plist {
	struct pend *head, *tail;
	size_t n, bytes;
};

struct agent {
	struct agent *next; /* newest first */
	char *agent_id;
	char *parent_agent_id; /* NULL: the main agent */
	char *parent_tool_use_id;
};

struct sess {
	struct node node;	  /* key: session_id */
	struct sess *prev, *next; /* least recently seen first */
	struct pend *phead, *ptail;
	struct agent *agents;
	size_t nagents;
	char *agent_version;
	size_t bytes; /* what it holds, agents included, as counted */
};

struct pair {
	uint64_t abandon_ns;
	size_t max_pending, max_pending_bytes, max_sessions, max_session_bytes;
	uint8_t key[16];
	struct map pends, sessions;
	struct plist live, doomed;
	struct sess *lru_head, *lru_tail;
	size_t sess_bytes; /* of every session, as counted */
	uint64_t evicted_pres, evicted_sessions;
	uint64_t dropped; /* doomed Pres dropped unreported (nobody called pair_expire) */
};

int pair_new(const struct pair_options *o, struct pair **out)
{
	struct pair_options d = { 0 };
	struct pair *c;

	*out = NULL;
	if (!o)
		o = &d;
	c = vg_calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->abandon_ns = o->abandon_ns ? o->abandon_ns : PAIR_DEFAULT_ABANDON_NS;
	c->max_pending = o->max_pending ? o->max_pending : PAIR_DEFAULT_MAX_PENDING;
	c->max_pending_bytes = o->max_pending_bytes ? o->max_pending_bytes
						    : PAIR_DEFAULT_MAX_PENDING_BYTES;
	c->max_sessions = o->max_sessions ? o->max_sessions : PAIR_DEFAULT_MAX_SESSIONS;
	c->max_session_bytes = o->max_session_bytes ? o->max_session_bytes
						    : PAIR_DEFAULT_MAX_SESSION_BYTES;
	if (vg_random(c->key, sizeof(c->key)) < 0) {
		vg_free(c);
		return -EIO; /* the contract's code for "no randomness", whatever the cause */
	}
	*out = c;
	return 0;
}

/* ---- lists ---------------------------------------------------------------------- */

static void plist_push(struct plist *l, struct pend *p)
{
	p->next = NULL;
	p->prev = l->tail;
	if (l->tail)
		l->tail->next = p;
	else
		l->head = p;
	l->tail = p;
	l->n++;
	l->bytes += p->bytes;
}

static void plist_unlink(struct plist *l, struct pend *p)
{
	if (p->prev)
		p->prev->next = p->next;
	else
		l->head = p->next;
	if (p->next)
		p->next->prev = p->prev;
	else
		l->tail = p->prev;
	p->prev = p->next = NULL;
	l->n--;
	l->bytes -= p->bytes;
}

static void sess_link_pend(struct sess *s, struct pend *p)
{
	p->snext = NULL;
	p->sprev = s->ptail;
	if (s->ptail)
		s->ptail->snext = p;
	else
		s->phead = p;
	s->ptail = p;
	p->s = s;
}

static void sess_unlink_pend(struct sess *s, struct pend *p)
{
	if (p->sprev)
		p->sprev->snext = p->snext;
	else
		s->phead = p->snext;
	if (p->snext)
		p->snext->sprev = p->sprev;
	else
		s->ptail = p->sprev;
	p->sprev = p->snext = NULL;
	p->s = NULL;
}

static void lru_unlink(struct pair *c, struct sess *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		c->lru_head = s->next;
	if (s->next)
		s->next->prev = s->prev;
	else
		c->lru_tail = s->prev;
	s->prev = s->next = NULL;
}

static void lru_push(struct pair *c, struct sess *s)
{
	s->next = NULL;
	s->prev = c->lru_tail;
	if (c->lru_tail)
		c->lru_tail->next = s;
	else
		c->lru_head = s;
	c->lru_tail = s;
}

/* ---- freeing ---------------------------------------------------------------------- */

static void pend_free(struct pend *p)
{
	if (!p)
		return;
	for (int i = 0; i < PF_COUNT; i++)
		json_decref(p->f[i]);
	vg_free(p->subagent_type);
	json_decref(p->project);
	vg_free(p->node.key);
	vg_free(p);
}

/* ---- what is held, as counted ------------------------------------------------------ */

static size_t str_bytes(const char *s)
{
	return s ? strlen(s) + 1 + PAIR_ALLOC_OVERHEAD : 0;
}

static size_t jstr_bytes(const json_t *v)
{
	return v ? json_string_length(v) + 1 + PAIR_JSTR_OVERHEAD : 0;
}

/* A JSON value's share of memory, roughly: the project object a Pre copies
 * ({"root", "name", "source"}), or anything else a payload may put there. */
static size_t json_bytes(json_t *v, int depth)
{
	const char *k;
	json_t *x;
	size_t i, n = PAIR_JSTR_OVERHEAD;

	if (json_is_string(v))
		return jstr_bytes(v);
	if (depth > 8)
		return n; /* not reached by the events the normalizer makes */
	if (json_is_object(v)) {
		n += 8u * PAIR_JSTR_OVERHEAD; /* the hash table */
		json_object_foreach(v, k, x)
			n += strlen(k) + 1 + 3u * PAIR_ALLOC_OVERHEAD + json_bytes(x, depth + 1);
	} else if (json_is_array(v)) {
		json_array_foreach(v, i, x)
			n += sizeof(void *) + json_bytes(x, depth + 1);
	}
	return n;
}

static size_t pend_bytes(const struct pend *p)
{
	size_t n = sizeof(*p) + PAIR_ALLOC_OVERHEAD + p->node.klen + PAIR_ALLOC_OVERHEAD;

	for (int i = 0; i < PF_COUNT; i++)
		n += jstr_bytes(p->f[i]);
	return n + str_bytes(p->subagent_type) + (p->project ? json_bytes(p->project, 0) : 0);
}

static size_t agent_bytes(const struct agent *a)
{
	return sizeof(*a) + PAIR_ALLOC_OVERHEAD + str_bytes(a->agent_id) +
	       str_bytes(a->parent_agent_id) + str_bytes(a->parent_tool_use_id);
}

/* A session's own part (its agents are added as they come). */
static size_t sess_bytes(const struct sess *s)
{
	return sizeof(*s) + PAIR_ALLOC_OVERHEAD + s->node.klen + PAIR_ALLOC_OVERHEAD +
	       str_bytes(s->agent_version);
}

/* s's count changes from what it was to what it is now. */
static void sess_recount(struct pair *c, struct sess *s, size_t was)
{
	c->sess_bytes -= was;
	c->sess_bytes += s->bytes;
}

/* ---- freeing (continued) ------------------------------------------------------------ */

static void agent_free(struct agent *a)
{
	vg_free(a->agent_id);
	vg_free(a->parent_agent_id);
	vg_free(a->parent_tool_use_id);
	vg_free(a);
}

/* Drops the oldest doomed Pre when nobody collects them. */
static void doomed_trim(struct pair *c)
{
	while (c->doomed.n > c->max_pending ||
	       (c->doomed.n > 0 && c->doomed.bytes > c->max_pending_bytes)) {
		struct pend *p = c->doomed.head;

		plist_unlink(&c->doomed, p);
		if (c->dropped++ == 0)
			vg_warn("correlator: abandoned tool calls are not being collected; dropping "
				"the oldest");
		pend_free(p);
	}
}

/* Moves a live Pre to the doomed list: it is abandoned for reason. */
static void pend_doom(struct pair *c, struct pend *p, const char *reason)
{
	map_remove(&c->pends, &p->node);
	if (p->s)
		sess_unlink_pend(p->s, p);
	plist_unlink(&c->live, p);
	p->reason = reason;
	plist_push(&c->doomed, p);
	doomed_trim(c);
}

/* A live Pre got its Post: forget it. */
static void pend_done(struct pair *c, struct pend *p)
{
	map_remove(&c->pends, &p->node);
	if (p->s)
		sess_unlink_pend(p->s, p);
	plist_unlink(&c->live, p);
	pend_free(p);
}

/* Forgets a session; its pending Pres become abandoned for reason. */
static void sess_end(struct pair *c, struct sess *s, const char *reason)
{
	while (s->phead)
		pend_doom(c, s->phead, reason);
	while (s->agents) {
		struct agent *a = s->agents;

		s->agents = a->next;
		agent_free(a);
	}
	map_remove(&c->sessions, &s->node);
	lru_unlink(c, s);
	c->sess_bytes -= s->bytes;
	vg_free(s->agent_version);
	vg_free(s->node.key);
	vg_free(s);
}

void pair_free(struct pair *c)
{
	struct pend *p;

	if (!c)
		return;
	/* No trimming (and no warning) while tearing down. */
	c->max_pending = c->max_pending_bytes = SIZE_MAX;
	while (c->lru_head)
		sess_end(c, c->lru_head, "freed");
	while ((p = c->live.head) != NULL) {
		plist_unlink(&c->live, p);
		pend_free(p);
	}
	while ((p = c->doomed.head) != NULL) {
		plist_unlink(&c->doomed, p);
		pend_free(p);
	}
	vg_free(c->pends.b);
	vg_free(c->sessions.b);
	vg_free(c);
}

/* ---- keys and lookups ------------------------------------------------------------- */

/* A map key: at most three ids of at most PAIR_MAX_ID bytes, each with its length. */
#define PAIR_KEY_MAX (3u * (4u + PAIR_MAX_ID))

/*
 * Length-prefixed parts, so ("a", "bc") and ("ab", "c") differ, into buf
 * (PAIR_KEY_MAX bytes: every id was checked against PAIR_MAX_ID).  A lookup
 * uses the stack; only a key that is kept is copied to the heap.
 */
static size_t make_key(const char *const *parts, size_t count, char buf[PAIR_KEY_MAX])
{
	size_t o = 0;

	for (size_t i = 0; i < count; i++) {
		size_t l = strlen(parts[i]);

		if (l > PAIR_MAX_ID)
			l = PAIR_MAX_ID; /* not reached: the callers checked */
		vg_put_le32((uint8_t *)buf + o, (uint32_t)l);
		memcpy(buf + o + 4, parts[i], l);
		o += 4 + l;
	}
	return o;
}

static char *key_dup(const char *k, size_t n)
{
	char *d = vg_malloc(n ? n : 1);

	if (d)
		memcpy(d, k, n);
	return d;
}

/* The Pre's field i as a C string, or NULL. */
static const char *pf(const struct pend *p, int i)
{
	return p->f[i] ? json_string_value(p->f[i]) : NULL;
}

static const char *get_str(const json_t *o, const char *key)
{
	const json_t *v = json_object_get(o, key);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool id_ok(const char *s)
{
	return s && *s && strlen(s) <= PAIR_MAX_ID;
}

static struct pend *pend_find(struct pair *c, const char *sid, const char *aid, const char *tuid)
{
	const char *parts[3] = { sid, aid, tuid };
	char k[PAIR_KEY_MAX];
	size_t klen = make_key(parts, 3, k);

	return (struct pend *)map_find(&c->pends, k, klen, siphash(c->key, k, klen));
}

/* Past the sessions' byte limit the least recently seen go, never keep. */
static void sess_trim(struct pair *c, const struct sess *keep)
{
	while (c->sess_bytes > c->max_session_bytes && c->lru_head && c->lru_head != keep) {
		sess_end(c, c->lru_head, "evicted");
		c->evicted_sessions++;
	}
}

/* The session, created (evicting the least recently seen) when new; NULL: -ENOMEM. */
static struct sess *sess_get(struct pair *c, const char *sid)
{
	char kb[PAIR_KEY_MAX], *k;
	size_t klen = make_key(&sid, 1, kb);
	uint64_t h = siphash(c->key, kb, klen);
	struct sess *s = (struct sess *)map_find(&c->sessions, kb, klen, h);

	if (s) {
		lru_unlink(c, s);
		lru_push(c, s);
		return s;
	}
	while (c->sessions.n >= c->max_sessions && c->lru_head) {
		sess_end(c, c->lru_head, "evicted");
		c->evicted_sessions++;
	}
	s = vg_calloc(1, sizeof(*s));
	k = key_dup(kb, klen);
	if (!s || !k) {
		vg_free(k);
		vg_free(s);
		return NULL;
	}
	s->node.key = k;
	s->node.klen = klen;
	s->node.h = h;
	if (map_insert(&c->sessions, &s->node) < 0) {
		vg_free(k);
		vg_free(s);
		return NULL;
	}
	lru_push(c, s);
	s->bytes = sess_bytes(s);
	c->sess_bytes += s->bytes;
	sess_trim(c, s);
	return s;
}

static struct agent *agent_find(struct sess *s, const char *aid)
{
	for (struct agent *a = s->agents; a; a = a->next)
		if (strcmp(a->agent_id, aid) == 0)
			return a;
	return NULL;
}

/* Forgets the session's oldest subagent (the list is newest first). */
static void agent_drop_oldest(struct sess *s)
{
	struct agent **pp = &s->agents;

	if (!*pp)
		return;
	while ((*pp)->next)
		pp = &(*pp)->next;
	s->bytes -= agent_bytes(*pp);
	agent_free(*pp);
	*pp = NULL;
	s->nagents--;
}

/* Records (or corrects) where subagent aid came from. */
static int agent_set(struct pair *c, struct sess *s, const char *aid, const char *parent_aid,
		     const char *tuid)
{
	struct agent *a = agent_find(s, aid);
	size_t was = s->bytes;
	char *pa = parent_aid && *parent_aid ? vg_strdup(parent_aid) : NULL;
	char *pt = vg_strdup(tuid);

	if ((parent_aid && *parent_aid && !pa) || !pt) {
		vg_free(pa);
		vg_free(pt);
		return -ENOMEM;
	}
	if (!a) {
		a = vg_calloc(1, sizeof(*a));
		if (!a || !(a->agent_id = vg_strdup(aid))) {
			vg_free(a);
			vg_free(pa);
			vg_free(pt);
			return -ENOMEM;
		}
		a->next = s->agents;
		s->agents = a;
		if (++s->nagents > PAIR_MAX_AGENTS)
			agent_drop_oldest(s);
	} else {
		s->bytes -= agent_bytes(a);
	}
	vg_free(a->parent_agent_id);
	vg_free(a->parent_tool_use_id);
	a->parent_agent_id = pa;
	a->parent_tool_use_id = pt;
	s->bytes += agent_bytes(a);
	sess_recount(c, s, was);
	sess_trim(c, s);
	/* Still over: this session alone holds too many; its oldest subagents go. */
	while (c->sess_bytes > c->max_session_bytes && s->nagents > 1) {
		was = s->bytes;
		agent_drop_oldest(s);
		sess_recount(c, s, was);
	}
	return 0;
}

static int set_parent(json_t *ev, const struct agent *a)
{
	if (a->parent_agent_id &&
	    json_object_set_new(ev, "parent_agent_id", json_string(a->parent_agent_id)) < 0)
		return -ENOMEM;
	if (json_object_set_new(ev, "parent_tool_use_id", json_string(a->parent_tool_use_id)) < 0)
		return -ENOMEM;
	return 0;
}

static bool is_delegation(const char *tool)
{
	return tool && (strcmp(tool, "Agent") == 0 || strcmp(tool, "Task") == 0);
}

/* ---- the events ---------------------------------------------------------------------- */

static int pend_add(struct pair *c, struct sess *s, json_t *ev, const char *sid, const char *aid,
		    const char *tuid, uint64_t now_ns)
{
	const char *parts[3] = { sid, aid, tuid };
	const char *id = get_str(ev, "id");
	struct pend *p, *old;
	const json_t *st;
	char k[PAIR_KEY_MAX];
	size_t klen = make_key(parts, 3, k);

	old = (struct pend *)map_find(&c->pends, k, klen, siphash(c->key, k, klen));
	if (old) {
		/* The same Pre again (a replayed spool): keep the first. */
		if (id && pf(old, PF_ID) && strcmp(id, pf(old, PF_ID)) == 0)
			return 0;
		pend_doom(c, old, "superseded");
	}
	p = vg_calloc(1, sizeof(*p));
	if (!p)
		return -ENOMEM;
	p->node.key = key_dup(k, klen);
	if (!p->node.key)
		goto nomem;
	p->node.klen = klen;
	p->node.h = siphash(c->key, k, klen);
	p->t_ns = now_ns;
	for (int i = 0; i < PF_COUNT; i++) {
		json_t *v = json_object_get(ev, pre_keys[i]);
		const char *sv = json_is_string(v) ? json_string_value(v) : NULL;

		if (!sv)
			continue;
		/*
		 * Strings are never changed in place, so the Pre keeps a
		 * reference to the event's (no copy); one with a NUL byte is
		 * cut there, as the C strings the fields are read as are.
		 */
		if (strlen(sv) == json_string_length(v))
			p->f[i] = json_incref(v);
		else if (!(p->f[i] = json_string(sv)))
			goto nomem;
	}
	p->delegation = is_delegation(get_str(ev, "tool"));
	st = json_object_get(json_object_get(json_object_get(ev, "payload"), "tool_input"),
			     "subagent_type");
	if (p->delegation && json_is_string(st) &&
	    !(p->subagent_type = vg_strdup(json_string_value(st))))
		goto nomem;
	if (json_is_object(json_object_get(ev, "project")) &&
	    !(p->project = json_deep_copy(json_object_get(ev, "project"))))
		goto nomem;
	if (map_insert(&c->pends, &p->node) < 0)
		goto nomem;
	p->bytes = pend_bytes(p);
	plist_push(&c->live, p);
	sess_link_pend(s, p);
	/* Past a limit the oldest Pre is reported as abandoned ("evicted"). */
	while (c->live.head != p &&
	       (c->live.n > c->max_pending || c->live.bytes > c->max_pending_bytes)) {
		pend_doom(c, c->live.head, "evicted");
		c->evicted_pres++;
	}
	return 0;
nomem:
	pend_free(p);
	return -ENOMEM;
}

/*
 * The parent of a starting subagent: the session's unclaimed Agent/Task Pre,
 * preferring one whose subagent_type (default "general-purpose") is the
 * subagent's agent_type, then one of the main agent, then the oldest.
 */
static struct pend *claim_parent(struct sess *s, const char *agent_type)
{
	struct pend *best = NULL;
	int best_rank = -1;

	for (struct pend *p = s->phead; p; p = p->snext) {
		const char *st = p->subagent_type ? p->subagent_type : "general-purpose";
		int rank;

		if (!p->delegation || p->claimed)
			continue;
		rank = (agent_type && strcmp(st, agent_type) == 0 ? 2 : 0) +
		       (!pf(p, PF_AGENT_ID) || !*pf(p, PF_AGENT_ID) ? 1 : 0);
		if (rank > best_rank) {
			best = p;
			best_rank = rank;
		}
	}
	return best;
}

/* agent_version: the latest one seen goes to the session's later events. */
static int carry_version(struct pair *c, struct sess *s, json_t *ev)
{
	const char *v = get_str(ev, "agent_version");

	if (v && *v && strlen(v) <= 64) {
		if (!s->agent_version || strcmp(s->agent_version, v) != 0) {
			char *d = vg_strdup(v);
			size_t was = s->bytes;

			if (!d)
				return -ENOMEM;
			s->bytes -= str_bytes(s->agent_version);
			vg_free(s->agent_version);
			s->agent_version = d;
			s->bytes += str_bytes(d);
			sess_recount(c, s, was);
			sess_trim(c, s);
		}
	} else if (s->agent_version &&
		   json_object_set_new(ev, "agent_version", json_string(s->agent_version)) < 0) {
		return -ENOMEM;
	}
	return 0;
}

/* A Post (or PermissionDenied) meets its Pre: pre_id and duration, or unpaired;
 * the Agent tool's result names the subagent it ran. */
static int close_call(struct pair *c, struct sess *s, json_t *ev, const char *hook, const char *sid,
		      const char *aid, const char *tuid, bool post, uint64_t now_ns)
{
	struct pend *p = tuid ? pend_find(c, sid, aid, tuid) : NULL;
	int rc;

	if (p) {
		if (p->f[PF_ID] && json_object_set(ev, "pre_id", p->f[PF_ID]) < 0)
			return -ENOMEM;
		if (post && !json_object_get(ev, "duration_ms") &&
		    json_object_set_new(ev, "duration_ms",
					json_integer(now_ns > p->t_ns
							     ? (json_int_t)((now_ns - p->t_ns) /
									    1000000u)
							     : 0)) < 0)
			return -ENOMEM;
		pend_done(c, p);
	} else if (post && json_object_set_new(ev, "unpaired", json_true()) < 0) {
		return -ENOMEM;
	}
	if (strcmp(hook, "PostToolUse") == 0 && is_delegation(get_str(ev, "tool")) && tuid) {
		const char *sub = get_str(json_object_get(json_object_get(ev, "payload"),
							  "tool_response"),
					  "agentId");

		if (id_ok(sub) && (rc = agent_set(c, s, sub, aid, tuid)) < 0)
			return rc;
	}
	return 0;
}

/* A SubagentStart claims the delegation call that started it (a repeated one,
 * from a replayed spool, must not claim a second) and gets its parent. */
static int start_agent(struct pair *c, struct sess *s, json_t *ev, const char *aid)
{
	struct pend *p = agent_find(s, aid) ? NULL : claim_parent(s, get_str(ev, "agent_type"));
	struct agent *a;
	int rc;

	if (p) {
		p->claimed = true;
		if ((rc = agent_set(c, s, aid, pf(p, PF_AGENT_ID), pf(p, PF_TOOL_USE_ID))) < 0)
			return rc;
	}
	if ((a = agent_find(s, aid)) != NULL && (rc = set_parent(ev, a)) < 0)
		return rc;
	return 0;
}

int pair_apply(struct pair *c, json_t *ev, uint64_t now_ns)
{
	const char *hook, *sid, *aid, *tuid;
	bool post, pre, start;
	struct sess *s;
	struct agent *a;
	int rc = 0;

	if (!c || !json_is_object(ev))
		return -EINVAL;
	hook = get_str(ev, "hook");
	sid = get_str(ev, "session_id");
	aid = get_str(ev, "agent_id");
	tuid = get_str(ev, "tool_use_id");
	if (!hook)
		hook = "";
	/* Our own tool_abandoned events: nothing to learn, and no session to revive. */
	if (strcmp(hook, "vigil") == 0)
		return 0;
	if (!aid || strlen(aid) > PAIR_MAX_ID)
		aid = "";
	if (!id_ok(tuid))
		tuid = NULL;
	pre = strcmp(hook, "PreToolUse") == 0;
	post = strcmp(hook, "PostToolUse") == 0 || strcmp(hook, "PostToolUseFailure") == 0;
	start = strcmp(hook, "SubagentStart") == 0;

	if (!id_ok(sid)) {
		if (post && json_object_set_new(ev, "unpaired", json_true()) < 0)
			return -ENOMEM;
		return 0;
	}
	if (!(s = sess_get(c, sid)))
		return -ENOMEM;
	if ((rc = carry_version(c, s, ev)) < 0)
		return rc;
	if (*aid && !start && (a = agent_find(s, aid)) != NULL && (rc = set_parent(ev, a)) < 0)
		return rc;
	if (pre && tuid)
		rc = pend_add(c, s, ev, sid, aid, tuid, now_ns);
	else if (post || strcmp(hook, "PermissionDenied") == 0)
		rc = close_call(c, s, ev, hook, sid, aid, tuid, post, now_ns);
	else if (start && *aid)
		rc = start_agent(c, s, ev, aid);
	if (rc < 0)
		return rc;
	if (strcmp(hook, "SessionEnd") == 0)
		sess_end(c, s, "session_end");
	return 0;
}

void pair_stats(const struct pair *c, struct pair_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (!c)
		return;
	out->pending = c->live.n;
	out->pending_bytes = c->live.bytes;
	out->doomed = c->doomed.n;
	out->doomed_bytes = c->doomed.bytes;
	out->sessions = c->sessions.n;
	out->session_bytes = c->sess_bytes;
	out->evicted_pres = c->evicted_pres;
	out->evicted_sessions = c->evicted_sessions;
	out->dropped = c->dropped;
}

/* ---- abandoned calls -------------------------------------------------------------------- */

static json_t *abandoned_event(const struct pend *p, uint64_t now_ns, const char *reason)
{
	json_t *ev = json_object(), *payload = NULL, *risk = NULL;
	char id[37], when[40], hex[65], dump[256];
	size_t dn;
	bool ok = false;

	if (!ev || base_uuid7(id) < 0)
		goto out;
	vg_format_time(now_ns, when, sizeof(when));
	if (json_object_set_new(ev, "id", json_string(id)) < 0 ||
	    json_object_set_new(ev, "time", json_string(when)) < 0)
		goto out;
	for (int i = PF_HOST; i < PF_COUNT; i++) {
		json_t *k = i == PF_AGENT_ID && p->f[i] && !*pf(p, i) ? NULL : p->f[i];

		if (i == PF_TOOL_USE_ID &&
		    (json_object_set_new(ev, "hook", json_string("vigil")) < 0 ||
		     json_object_set_new(ev, "event_type", json_string("tool_abandoned")) < 0))
			goto out;
		if (k && json_object_set(ev, pre_keys[i], k) < 0)
			goto out;
	}
	if (p->project && json_object_set(ev, "project", p->project) < 0)
		goto out;
	payload = json_pack("{s:s}", "reason", reason);
	risk = json_pack("{s:s, s:i, s:[s]}", "level", "low", "score", 15, "reasons",
			 "tool_abandoned");
	if (!payload || !risk)
		goto out;
	/* The hash covers the payload's canonical form, as the ledger writes it. */
	dn = json_dumpb(payload, dump, sizeof(dump), JSON_COMPACT | JSON_SORT_KEYS);
	if (dn == 0 || dn > sizeof(dump) || vg_sha256_hex(dump, dn, hex) < 0)
		goto out;
	if (json_object_set_new(ev, "outcome", json_string("abandoned")) < 0 ||
	    json_object_set_new(ev, "duration_ms",
				json_integer(now_ns > p->t_ns
						     ? (json_int_t)((now_ns - p->t_ns) / 1000000u)
						     : 0)) < 0 ||
	    (p->f[PF_ID] && json_object_set(ev, "pre_id", p->f[PF_ID]) < 0) ||
	    json_object_set(ev, "risk", risk) < 0 || json_object_set(ev, "payload", payload) < 0 ||
	    json_object_set_new(ev, "payload_sha256", json_string(hex)) < 0 ||
	    json_object_set_new(ev, "schema", json_string(EV_SCHEMA_V1)) < 0)
		goto out;
	ok = true;
out:
	json_decref(payload);
	json_decref(risk);
	if (!ok) {
		json_decref(ev);
		return NULL;
	}
	return ev;
}

int pair_expire(struct pair *c, uint64_t now_ns, json_t **out, size_t max, size_t *n)
{
	if (n)
		*n = 0;
	if (!c || !n || (max && !out))
		return -EINVAL;
	while (*n < max) {
		struct pend *p = c->doomed.head;
		const char *reason;
		json_t *ev;

		if (p) {
			reason = p->reason;
		} else {
			p = c->live.head;
			if (!p || now_ns < p->t_ns || now_ns - p->t_ns < c->abandon_ns)
				break;
			reason = "timeout";
		}
		ev = abandoned_event(p, now_ns, reason);
		if (!ev)
			return -ENOMEM;
		out[(*n)++] = ev;
		if (p == c->doomed.head) {
			plist_unlink(&c->doomed, p);
			pend_free(p);
		} else {
			pend_done(c, p);
		}
	}
	return 0;
}
