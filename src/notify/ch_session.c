/*
 * ch_session.c - the `session` channel: notifications kept for the agent
 * session they are about, until the daemon's next answer to one of that
 * session's hooks takes them (notify_session_take(), Claude Code's
 * systemMessage) or they grow older than max_age.  Bounded: max_pending per
 * session, NF_MAX_SESSIONS sessions (the oldest goes first).
 *
 * The store is guarded by the notifier's lock (deliver and tick run under
 * it; nf_session_take() is called with it held); counters by the channel's.
 */
#include "notify_int.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>

struct session_opts {
	uint32_t max_pending; /* messages kept per session */
	uint32_t max_age_ms;  /* how long a message waits */
};

static const struct nf_key session_keys[] = {
	{ "max_pending", NF_K_U32, 0, offsetof(struct session_opts, max_pending), 1, 100, NULL },
	{ "max_age", NF_K_MS, 0, offsetof(struct session_opts, max_age_ms), 1000, 24 * 3600000ull,
	  NULL },
};

struct nf_sess_msg {
	struct nf_sess_msg *next;
	uint64_t time_ns;
	char text[]; /* sized to the text */
};

struct nf_sess {
	struct nf_sess *next;
	char id[NF_MAX_ID + 1];
	struct nf_sess_msg *head, *tail;
	uint32_t count;
};

struct sess_store {
	struct nf_sess *sessions;
	uint32_t nsessions;
};

static void session_defaults(void *opts)
{
	struct session_opts *o = opts;

	o->max_pending = 5;
	o->max_age_ms = 600000;
}

static int session_open(struct nf_chan *c)
{
	c->state = vg_calloc(1, sizeof(struct sess_store));
	return c->state ? 0 : -ENOMEM;
}

static void sess_drop_head(struct nf_chan *c, struct nf_sess *s)
{
	struct nf_sess_msg *h = s->head;

	s->head = h->next;
	if (!s->head)
		s->tail = NULL;
	s->count--;
	vg_free(h);
	pthread_mutex_lock(&c->lock);
	c->dropped++;
	pthread_mutex_unlock(&c->lock);
}

static void sess_unlink(struct nf_chan *c, struct nf_sess *s)
{
	struct sess_store *st = c->state;
	struct nf_sess **pp = &st->sessions;

	while (*pp && *pp != s)
		pp = &(*pp)->next;
	if (*pp) {
		*pp = s->next;
		st->nsessions--;
	}
}

static void sess_free(struct nf_chan *c, struct nf_sess *s, bool count)
{
	while (s->head) {
		if (count) {
			sess_drop_head(c, s);
		} else {
			struct nf_sess_msg *h = s->head;

			s->head = h->next;
			vg_free(h);
		}
	}
	vg_free(s);
}

static enum nf_res session_deliver(struct nf_chan *c, const struct nf_msg *m,
				   uint64_t *retry_after_ms, char *err, size_t errlen)
{
	struct sess_store *st = c->state;
	struct nf_sess *s, *oldest = NULL;
	struct nf_sess_msg *msg;
	size_t len;

	const struct session_opts *o = c->cfg.opts;

	(void)retry_after_ms;
	(void)err;
	(void)errlen;
	if (!*m->session_id)
		return NF_RES_OK; /* no session to tell */
	for (s = st->sessions; s; s = s->next)
		if (strcmp(s->id, m->session_id) == 0)
			break;
	if (!s) {
		if (st->nsessions >= NF_MAX_SESSIONS) {
			for (struct nf_sess *t = st->sessions; t; t = t->next)
				if (!oldest || (t->head && oldest->head &&
						t->head->time_ns < oldest->head->time_ns))
					oldest = t;
			sess_unlink(c, oldest);
			sess_free(c, oldest, true);
		}
		s = vg_calloc(1, sizeof(*s));
		if (!s)
			goto drop;
		snprintf(s->id, sizeof(s->id), "%s", m->session_id);
		s->next = st->sessions;
		st->sessions = s;
		st->nsessions++;
	}
	if (s->count >= o->max_pending)
		sess_drop_head(c, s);
	len = strlen(m->text);
	msg = vg_malloc(sizeof(*msg) + len + 1);
	if (!msg)
		goto drop;
	msg->next = NULL;
	msg->time_ns = m->time_ns;
	memcpy(msg->text, m->text, len + 1);
	if (s->tail)
		s->tail->next = msg;
	else
		s->head = msg;
	s->tail = msg;
	s->count++;
	return NF_RES_OK;
drop:
	pthread_mutex_lock(&c->lock);
	c->dropped++;
	pthread_mutex_unlock(&c->lock);
	return NF_RES_FAIL;
}

/* Drops messages older than max_age and sessions left empty. */
static void session_prune(struct nf_chan *c, uint64_t now)
{
	const struct session_opts *o = c->cfg.opts;
	struct sess_store *st = c->state;
	struct nf_sess **pp = &st->sessions;
	uint64_t age = o->max_age_ms * 1000000ull;

	while (*pp) {
		struct nf_sess *s = *pp;

		while (s->head && s->head->time_ns + age <= now)
			sess_drop_head(c, s);
		if (!s->head) {
			*pp = s->next;
			st->nsessions--;
			vg_free(s);
		} else {
			pp = &s->next;
		}
	}
}

char *nf_session_take(struct nf_chan *c, const char *session_id, uint64_t now)
{
	struct sess_store *st = c->state;
	struct nf_sess *s;
	struct vbuf b;
	uint32_t taken = 0;
	char *out = NULL;

	vbuf_init(&b, (size_t)NF_TEXT_MAX * 101);
	session_prune(c, now);
	for (s = st->sessions; s; s = s->next)
		if (strcmp(s->id, session_id) == 0)
			break;
	if (s) {
		for (struct nf_sess_msg *m = s->head; m; m = m->next) {
			if (vbuf_appendf(&b, "%s%s", b.len ? "\n" : "", m->text) < 0)
				break;
			taken++;
		}
		sess_unlink(c, s);
		sess_free(c, s, false);
	}
	if (taken) {
		pthread_mutex_lock(&c->lock);
		c->sent += taken;
		c->last_ok_ns = now;
		pthread_mutex_unlock(&c->lock);
		out = vg_strdup((const char *)b.data);
	}
	vbuf_release(&b);
	return out;
}

static void session_close(struct nf_chan *c)
{
	struct sess_store *st = c->state;

	while (st && st->sessions) {
		struct nf_sess *s = st->sessions;

		st->sessions = s->next;
		sess_free(c, s, false);
	}
	vg_free(st);
	c->state = NULL;
}

const struct nf_chan_type nf_ch_session = {
	.name = "session",
	.min_sev = NF_SEV_HIGH,
	.keys = session_keys,
	.nkeys = VG_ARRAY_LEN(session_keys),
	.opts_size = sizeof(struct session_opts),
	.defaults = session_defaults,
	.open = session_open,
	.deliver = session_deliver,
	.tick = session_prune,
	.close = session_close,
};
