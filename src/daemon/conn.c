/*
 * conn.c - connections and replies.
 *
 * Each connection keeps a queue of the replies it owes, in request order.
 * A reply is ready once its worker finished the frame; it is sent once
 * ready and its event is durable (seq 0: nothing was appended, send now).
 * A connection closed by its peer while workers still hold its jobs stays
 * allocated ("gone") until the last job comes back.
 *
 * Any process of the daemon's user can connect, so a client is not trusted
 * to behave (docs/daemon.md, "Limits"):
 *  - a connection that owes nothing and sends nothing, or stops in the middle
 *    of a frame, or does not read its replies, is closed after the client
 *    timeout (daemon.client_timeout);
 *  - one process holds at most VD_MAX_CONNS_PER_PEER connections;
 *  - at the connection cap, a new connection evicts the connection that has
 *    been idle longest (one that owes no reply), so hooks and `vigil status`
 *    are still served while idle connections fill the cap;
 *  - the bytes held in input buffers (frames not complete yet) are bounded
 *    by VD_HELD_BUDGET for all connections together: past it, the
 *    connections whose unfinished frames are oldest are closed;
 *  - a connection is not read while more than VD_CONN_MAX_OUT bytes of
 *    replies wait for it to read them.
 */
#include "conn.h"

#include "ack.h"
#include "control.h"
#include "worker.h"

#include "config.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#define VD_MAX_ACKS_PER_CONN 4096 /* a pipelining sender stops being read past this */
#define VD_CONN_MAX_OUT (1u << 20) /* ...and past this many unread reply bytes */
#define VD_FD_RESERVE 128	   /* descriptors kept for the ledger, index, spool, logs */
#define VD_PEERS (2 * VD_MAX_CONNS) /* slots of the per-process count (open addressing) */

/* One reply a connection owes, in request order. */
struct vd_reply {
	struct vd_reply *next;
	uint64_t seq; /* reply once this is durable; 0: reply now */
	bool ready;   /* false while a worker still handles the frame */
	unsigned status;
	struct vd_answer ans; /* stdout, stderr and exit code for the hook */
};

struct vd_conn {
	struct vd_conns *cs;
	struct vd_conn *prev, *next;
	struct bufferevent *bev;
	struct vd_peer peer;
	struct vd_reply *head, *tail;
	size_t nreplies;
	unsigned worker;       /* serves every frame of this connection */
	size_t inflight;       /* jobs at a worker; the struct outlives the socket */
	size_t inflight_bytes; /* their payload bytes */
	bool closing;	       /* close once the replies are written */
	bool shutdown;	       /* stop the daemon once the reply is written */
	bool gone;	       /* socket closed; freed when inflight drops to 0 */
	uint64_t last_ns;      /* last progress: accepted, bytes read or written */
	uint64_t held_since_ns; /* when the frame at the head of its input began */
	size_t held;	       /* bytes in its input buffer, as counted in cs->held */
};

/* Connections per process (SO_PEERCRED pid). */
struct vd_peer_slot {
	int64_t pid; /* 0: free */
	uint32_t n;
};

struct vd_conns {
	struct vd *d;
	struct event_base *base;
	struct evconnlistener *listener;
	struct vd_conn *list;
	uint64_t next_id;
	size_t nconns, max_conns; /* open connections; the cap (VD_MAX_CONNS or fewer) */
	uint64_t timeout_ns;	  /* daemon.client_timeout */
	size_t held;		  /* bytes in all input buffers */
	uint64_t timed_out, evicted, peer_limited, over_budget, refused_full;
	struct vd_peer_slot peers[VD_PEERS];
};

/* ---- replies ------------------------------------------------------------------ */

/* The one place a reply is freed, with everything it owns. */
static void reply_free(struct vd_reply *r)
{
	vd_answer_release(&r->ans);
	vg_free(r);
}

/* Queues a reply; takes out (vg_malloc'ed, or NULL) in every case. */
static int reply_push(struct vd_conn *c, unsigned status, char *out, size_t out_len)
{
	struct vd_reply *r = vg_calloc(1, sizeof(*r));

	if (!r) {
		vg_free(out);
		return -ENOMEM;
	}
	r->ready = true;
	r->status = status;
	r->ans.out = out;
	r->ans.out_len = out_len;
	if (c->tail)
		c->tail->next = r;
	else
		c->head = r;
	c->tail = r;
	c->nreplies++;
	return 0;
}

static void reply_write(struct vd_conn *c, const struct vd_reply *r, unsigned status)
{
	uint8_t hdr[WIRE_HDR_LEN];
	size_t n = r->ans.out_len > WIRE_MAX_OUT ? WIRE_MAX_OUT : r->ans.out_len;
	size_t e = r->ans.err_len > WIRE_MAX_OUT ? WIRE_MAX_OUT : r->ans.err_len;

	/* A failed reply carries no decision: the hook falls back to its mode. */
	if (status != WIRE_OK)
		n = e = 0;
	wire_ack_hdr_put(hdr, status, status == WIRE_OK ? r->ans.exit_code : 0, (uint32_t)n,
			 (uint32_t)e);
	if (status == WIRE_OK)
		wire_ack_hdr_set_decision(hdr, (enum wire_decision)r->ans.decision);
	bufferevent_write(c->bev, hdr, sizeof(hdr));
	if (n)
		bufferevent_write(c->bev, r->ans.out, n);
	if (e)
		bufferevent_write(c->bev, r->ans.err, e);
	if (status == WIRE_OK)
		VD_STAT_ADD(c->cs->d, acked, 1);
}

static bool conn_readable(const struct vd_conn *c)
{
	return c->nreplies < VD_MAX_ACKS_PER_CONN &&
	       c->inflight_bytes < VD_CONN_MAX_INFLIGHT_BYTES && !c->closing &&
	       evbuffer_get_length(bufferevent_get_output(c->bev)) < VD_CONN_MAX_OUT;
}

/*
 * A connection that was not read (a limit above) is read again.  Frames it
 * sent meanwhile may already wait, whole, in its input buffer, and the
 * socket then has nothing more to say: one read callback, run from the loop
 * (deferred, so never inside the caller), takes them rather than leaving
 * them there until the client timeout closes the connection.  Only on the
 * way from paused to read: an unfinished frame must not make it spin.
 */
static void conn_resume(struct vd_conn *c)
{
	if (!conn_readable(c) || (bufferevent_get_enabled(c->bev) & EV_READ))
		return;
	bufferevent_enable(c->bev, EV_READ);
	if (evbuffer_get_length(bufferevent_get_input(c->bev)) >= WIRE_HDR_LEN)
		bufferevent_trigger(c->bev, EV_READ,
				    BEV_TRIG_DEFER_CALLBACKS | BEV_TRIG_IGNORE_WATERMARKS);
}

/* Sends every reply at the head of the queue whose event is durable; with
 * failed set, the ones that are not get WIRE_FAILED (the hook spools). */
static void conn_flush(struct vd_conn *c, uint64_t durable, bool failed)
{
	if (c->gone)
		return;
	while (c->head && c->head->ready && (c->head->seq <= durable || failed)) {
		struct vd_reply *r = c->head;
		unsigned st = r->seq <= durable ? r->status : WIRE_FAILED;

		if (st == WIRE_FAILED)
			VD_STAT_ADD(c->cs->d, failed, 1);
		reply_write(c, r, st);
		c->head = r->next;
		if (!c->head)
			c->tail = NULL;
		c->nreplies--;
		reply_free(r);
	}
	conn_resume(c);
}

/* ---- limits ------------------------------------------------------------------- */

static struct vd_peer_slot *peer_slot(struct vd_conns *cs, int64_t pid)
{
	size_t i = (size_t)((uint64_t)pid * 0x9E3779B97F4A7C15ull >> 40) % VD_PEERS;

	while (cs->peers[i].pid && cs->peers[i].pid != pid)
		i = (i + 1) % VD_PEERS;
	return &cs->peers[i];
}

/* Counts a connection of pid; false when pid holds its maximum already. */
static bool peer_add(struct vd_conns *cs, int64_t pid)
{
	struct vd_peer_slot *p;

	if (pid <= 0)
		return true; /* unknown: nothing to count it against */
	p = peer_slot(cs, pid);
	if (p->n >= VD_MAX_CONNS_PER_PEER)
		return false;
	p->pid = pid;
	p->n++;
	return true;
}

static void peer_del(struct vd_conns *cs, int64_t pid)
{
	struct vd_peer_slot *p;
	size_t i, j;

	if (pid <= 0)
		return;
	p = peer_slot(cs, pid);
	if (!p->pid || --p->n)
		return;
	/* Deletion by backward shift keeps every probe sequence unbroken. */
	i = (size_t)(p - cs->peers);
	for (j = (i + 1) % VD_PEERS; cs->peers[j].pid; j = (j + 1) % VD_PEERS) {
		size_t home = (size_t)((uint64_t)cs->peers[j].pid * 0x9E3779B97F4A7C15ull >> 40) %
			      VD_PEERS;

		/* Moves j into the hole unless its home lies in (i, j]. */
		if ((j > i && (home <= i || home > j)) || (j < i && home <= i && home > j)) {
			cs->peers[i] = cs->peers[j];
			i = j;
		}
	}
	cs->peers[i].pid = 0;
	cs->peers[i].n = 0;
}

/* Recounts the bytes c holds in its input buffer; new_frame: what is left
 * began after a frame that was just taken. */
static void held_update(struct vd_conn *c, uint64_t now, bool new_frame)
{
	size_t n = c->bev ? evbuffer_get_length(bufferevent_get_input(c->bev)) : 0;

	if (n && (!c->held || new_frame))
		c->held_since_ns = now;
	c->cs->held = c->cs->held - c->held + n;
	c->held = n;
}

/* Owes nothing and has nothing in progress: may be closed for room. */
static bool conn_idle(const struct vd_conn *c)
{
	return !c->gone && !c->closing && !c->head && !c->inflight;
}

/* ---- connections -------------------------------------------------------------- */

static void conn_release(struct vd_conn *c)
{
	while (c->head) {
		struct vd_reply *r = c->head;

		c->head = r->next;
		reply_free(r);
	}
	vg_free(c);
}

/* Closes the socket and unlinks the connection; the struct itself goes when
 * no worker holds a job of it any more. */
static void conn_free(struct vd_conn *c)
{
	struct vd_conns *cs = c->cs;

	if (c->gone)
		return;
	c->gone = true;
	cs->held -= c->held;
	c->held = 0;
	cs->nconns--;
	peer_del(cs, c->peer.pid);
	if (c->prev)
		c->prev->next = c->next;
	else
		cs->list = c->next;
	if (c->next)
		c->next->prev = c->prev;
	c->prev = c->next = NULL;
	bufferevent_free(c->bev);
	c->bev = NULL;
	cs->d->st.conns_now--;
	if (!c->inflight)
		conn_release(c);
}

static void refuse(struct vd_conn *c, const char *why)
{
	size_t n = strlen(why);
	char *msg = vg_malloc(n + 1);

	VD_STAT_ADD(c->cs->d, refused, 1);
	vg_warn("refused a request from pid %lld: %s", (long long)c->peer.pid, why);
	if (msg)
		memcpy(msg, why, n + 1);
	/* The reason goes in stdout's place: a refused request has no decision,
	 * and the hook does not print a refused reply's bytes. */
	reply_push(c, WIRE_REFUSED, msg, msg ? n : 0);
	c->closing = true;
}

/* Closes the connections whose input has waited longest until the bytes
 * held by all of them are within VD_HELD_BUDGET; true when that closed c. */
static bool enforce_budget(struct vd_conns *cs, struct vd_conn *c)
{
	bool closed_c = false;

	while (cs->held > VD_HELD_BUDGET) {
		struct vd_conn *victim = NULL;

		for (struct vd_conn *x = cs->list; x; x = x->next)
			if (x->held && (!victim || x->held_since_ns < victim->held_since_ns))
				victim = x;
		if (!victim)
			break;
		vg_warn("closed a connection of pid %lld: %zu bytes of unfinished frames "
			"while all connections held %zu (limit %u)",
			(long long)victim->peer.pid, victim->held, cs->held, VD_HELD_BUDGET);
		cs->over_budget++;
		closed_c = closed_c || victim == c;
		conn_free(victim);
	}
	return closed_c;
}

/* An event for this connection's worker; the reply waits in order until
 * the worker is done and the event durable. */
static void take_event(struct vd_conn *c, unsigned kind, unsigned flags, const uint8_t *frame,
		       uint32_t elen, uint32_t plen)
{
	struct vd *d = c->cs->d;
	struct vd_job *j = vg_malloc(sizeof(*j) + elen + plen + 1);
	/* A staged answer may jump ahead of nothing: only when this is the
	 * first reply the connection owes and nothing waits in its output
	 * (stage.c).  A hook sends one frame per connection, so it always is. */
	bool stage = kind == WIRE_DECIDE && (flags & WIRE_F_STAGED) && !c->head &&
		     evbuffer_get_length(bufferevent_get_output(c->bev)) == 0;

	if (!j || reply_push(c, WIRE_OK, NULL, 0) < 0) {
		vg_free(j);
		vg_err("out of memory: the hook will spool its event");
		reply_push(c, WIRE_FAILED, NULL, 0);
		VD_STAT_ADD(d, failed, 1);
		return;
	}
	memset(j, 0, sizeof(*j));
	j->conn = c;
	j->reply = c->tail;
	j->reply->ready = false;
	j->kind = kind;
	j->flags = flags;
	j->peer = c->peer;
	j->env_len = elen;
	j->len = plen;
	j->stage_fd = -1;
	if (stage)
		j->stage_fd = fcntl(bufferevent_getfd(c->bev), F_DUPFD_CLOEXEC, 3);
	memcpy(j->data, frame + WIRE_HDR_LEN, (size_t)elen + plen);
	j->data[elen + plen] = '\0';
	c->inflight++;
	c->inflight_bytes += plen;
	vd_workers_push(d->workers, c->worker, j);
}

/* One complete frame whose envelope parsed. */
static void take_frame(struct vd_conn *c, unsigned kind, unsigned flags, const uint8_t *frame,
		       uint32_t elen, uint32_t plen)
{
	struct vd *d = c->cs->d;
	size_t n = 0;
	char *s;

	switch (kind) {
	case WIRE_EVENT:
	case WIRE_DECIDE:
		take_event(c, kind, flags, frame, elen, plen);
		break;
	case WIRE_STATUS:
		s = vd_control_status(d, &n);
		reply_push(c, s ? WIRE_OK : WIRE_FAILED, s, n);
		break;
	case WIRE_CONTROL:
		/* The socket of system mode is every user's (0666): stopping the
		 * daemon or changing its rules and alerts is for its own user and
		 * root, by the kernel's word on who is asking. */
		if (c->peer.uid != 0 && c->peer.uid != (int64_t)geteuid()) {
			refuse(c, "only root and the daemon's user may control vigild");
			break;
		}
		s = vd_control(d, &c->peer, (const char *)frame + WIRE_HDR_LEN + elen, plen, &n);
		reply_push(c, s ? WIRE_OK : WIRE_FAILED, s, n);
		break;
	case WIRE_SHUTDOWN:
		if (c->peer.uid != 0 && c->peer.uid != (int64_t)geteuid()) {
			refuse(c, "only root and the daemon's user may stop vigild");
			break;
		}
		vg_info("shutdown requested by pid %lld", (long long)c->peer.pid);
		reply_push(c, WIRE_OK, NULL, 0);
		c->shutdown = true;
		c->closing = true;
		break;
	default:
		refuse(c, "unknown request kind");
		break;
	}
}

/* Handles every complete frame in the input buffer. */
static void on_read(struct bufferevent *bev, void *arg)
{
	struct vd_conn *c = arg;
	struct evbuffer *in = bufferevent_get_input(bev);
	uint64_t now = vg_mono_ns();
	bool took = false;

	c->last_ns = now;
	while (conn_readable(c)) {
		uint8_t hdr[WIRE_HDR_LEN];
		unsigned kind, flags;
		uint32_t elen, plen;
		struct wire_envelope env;
		const uint8_t *frame;
		size_t total;
		int rc;

		if (evbuffer_get_length(in) < WIRE_HDR_LEN)
			break;
		evbuffer_copyout(in, hdr, sizeof(hdr));
		rc = wire_req_hdr_get(hdr, &kind, &flags, &elen, &plen);
		if (rc < 0) {
			refuse(c, rc == -E2BIG ? "frame larger than the protocol allows"
					       : "not a vigil hook frame (bad magic or kind)");
			break;
		}
		total = WIRE_HDR_LEN + (size_t)elen + plen;
		if (evbuffer_get_length(in) < total)
			break;
		frame = evbuffer_pullup(in, (ssize_t)total);
		if (!frame) {
			refuse(c, "out of memory");
			break;
		}
		if (wire_env_parse((const char *)frame + WIRE_HDR_LEN, elen, &env) < 0) {
			refuse(c, "malformed envelope");
			break;
		}
		take_frame(c, kind, flags, frame, elen, plen);
		evbuffer_drain(in, total);
		took = true;
	}
	/* What is left is an unfinished frame (or frames not taken yet). */
	held_update(c, now, took);
	if (enforce_budget(c->cs, c))
		return;
	if (!conn_readable(c))
		bufferevent_disable(bev, EV_READ);
	conn_flush(c, vd_ack_peek(c->cs->d->ack), false);
}

/* Output written: a connection that is done and has nothing left goes. */
static void on_write(struct bufferevent *bev, void *arg)
{
	struct vd_conn *c = arg;
	struct vd *d = c->cs->d;
	bool shutdown = c->shutdown;

	c->last_ns = vg_mono_ns();
	if (c->closing && !c->head && !evbuffer_get_length(bufferevent_get_output(bev))) {
		conn_free(c);
		if (shutdown)
			vd_stop(d, "a client asked to shut down");
		return;
	}
	/* Replies were read: a connection paused for them is read again. */
	conn_resume(c);
}

static void on_conn_event(struct bufferevent *bev, short what, void *arg)
{
	struct vd_conn *c = arg;

	(void)bev;
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		/* The hook went away (finished, or gave up at its deadline and
		 * spooled).  Replies still owed are dropped; the events are in the
		 * ledger either way. */
		if (c->head && (what & BEV_EVENT_EOF)) {
			/* Half-closed writers (batch senders shut down their write
			 * side) still get their replies. */
			c->closing = true;
			bufferevent_disable(bev, EV_READ);
			return;
		}
		conn_free(c);
	}
}

/* At the cap: closes the connection idle longest; false when every one is
 * busy (owes a reply or has a frame at a worker). */
static bool evict_idle(struct vd_conns *cs)
{
	struct vd_conn *victim = NULL;

	for (struct vd_conn *x = cs->list; x; x = x->next)
		if (conn_idle(x) && (!victim || x->last_ns < victim->last_ns))
			victim = x;
	if (!victim)
		return false;
	if (cs->evicted++ % 1000 == 0)
		vg_warn("%zu connections (the limit): closing the one idle longest, of pid %lld "
			"(logged once per 1000)",
			cs->nconns, (long long)victim->peer.pid);
	conn_free(victim);
	return true;
}

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct vd_conns *cs = arg;
	struct vd *d = cs->d;
	struct vd_conn *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)lis, (void)sa, (void)salen;
	/* Whatever is refused here, the hook spools: nothing is lost. */
	if (d->stopping || (cs->nconns >= cs->max_conns && !evict_idle(cs))) {
		cs->refused_full++;
		close(fd);
		return;
	}
	c = vg_calloc(1, sizeof(*c));
	if (!c) {
		close(fd);
		return;
	}
	c->cs = cs;
	c->worker = (unsigned)(cs->next_id++ % vd_workers_count(d->workers));
	c->peer.pid = c->peer.uid = c->peer.gid = -1;
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0) {
		c->peer.pid = cred.pid;
		c->peer.uid = cred.uid;
		c->peer.gid = cred.gid;
	}
	if (!peer_add(cs, c->peer.pid)) {
		if (cs->peer_limited++ % 1000 == 0)
			vg_warn("refused a connection: pid %lld holds %d already",
				(long long)c->peer.pid, VD_MAX_CONNS_PER_PEER);
		close(fd);
		vg_free(c);
		return;
	}
	c->bev = bufferevent_socket_new(cs->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		peer_del(cs, c->peer.pid);
		close(fd);
		vg_free(c);
		return;
	}
	c->last_ns = vg_mono_ns();
	/* Never buffer more than one largest frame plus a header per read. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + WIRE_MAX_PAYLOAD + WIRE_HDR_LEN);
	bufferevent_setcb(c->bev, on_read, on_write, on_conn_event, c);
	bufferevent_enable(c->bev, EV_READ);
	c->next = cs->list;
	if (cs->list)
		cs->list->prev = c;
	cs->list = c;
	cs->nconns++;
	d->st.conns_now++;
	d->st.conns_total++;
}

/* ---- interface ---------------------------------------------------------------- */

void vd_conns_done(struct vd_conns *cs, struct vd_job *j, uint64_t durable)
{
	while (j) {
		struct vd_job *next = j->next;
		struct vd_conn *c = j->conn;
		struct vd_reply *r = j->reply;

		if (j->rc < 0) {
			vg_err("cannot record an event: %s", strerror(-j->rc));
			r->status = WIRE_FAILED;
			r->seq = 0;
			VD_STAT_ADD(cs->d, failed, 1);
		} else {
			r->seq = j->seq; /* 0 when nothing was appended */
			r->ans = j->ans;
			memset(&j->ans, 0, sizeof(j->ans));
		}
		vd_answer_release(&j->ans);
		r->ready = true;
		c->inflight--;
		c->inflight_bytes -= j->len;
		if (c->gone) {
			if (!c->inflight)
				conn_release(c);
		} else {
			conn_flush(c, durable, false);
		}
		vg_free(j);
		j = next;
	}
}

void vd_conns_tick(struct vd_conns *cs, uint64_t now)
{
	struct vd_conn *c = cs->list, *next;

	for (; c; c = next) {
		const char *why = NULL;

		next = c->next;
		/* A frame must arrive whole within the timeout (a client sending
		 * a byte now and then does not keep one open)... */
		if (c->held && conn_readable(c) && now - c->held_since_ns >= cs->timeout_ns)
			why = "did not finish a frame";
		/* ...replies must be read... */
		else if (evbuffer_get_length(bufferevent_get_output(c->bev)) &&
			 now - c->last_ns >= cs->timeout_ns)
			why = "did not read its replies";
		/* ...and a connection that owes nothing must send something. */
		else if (conn_idle(c) && !c->held && now - c->last_ns >= cs->timeout_ns)
			why = "sent nothing";
		if (!why)
			continue; /* waits for its replies: not its fault */
		if (cs->timed_out++ % 1000 == 0)
			vg_info("closed a connection of pid %lld: it %s in %llu s (logged once per "
				"1000)",
				(long long)c->peer.pid, why,
				(unsigned long long)(cs->timeout_ns / 1000000000ull));
		conn_free(c);
	}
}

json_t *vd_conns_status(const struct vd_conns *cs)
{
	return json_pack("{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "open", (json_int_t)cs->nconns,
			 "limit", (json_int_t)cs->max_conns, "held_bytes", (json_int_t)cs->held,
			 "timed_out", (json_int_t)cs->timed_out, "evicted", (json_int_t)cs->evicted,
			 "peer_limited", (json_int_t)cs->peer_limited, "over_budget",
			 (json_int_t)cs->over_budget, "refused_full", (json_int_t)cs->refused_full);
}

/* The cap on connections: VD_MAX_CONNS, fewer when the descriptor limit
 * (raised to its hard limit if need be) leaves no room for them.  Each
 * connection may take two descriptors: its own, and the duplicate a worker
 * writes a staged answer to. */
static size_t conn_cap(void)
{
	struct rlimit rl;
	rlim_t want = 2 * VD_MAX_CONNS + VD_FD_RESERVE;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return VD_MAX_CONNS;
	if (rl.rlim_cur < want && rl.rlim_cur != RLIM_INFINITY) {
		rlim_t old = rl.rlim_cur;

		rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max > want ? want : rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			rl.rlim_cur = old;
	}
	if (rl.rlim_cur == RLIM_INFINITY || rl.rlim_cur >= want)
		return VD_MAX_CONNS;
	return rl.rlim_cur > 2 * VD_FD_RESERVE ? (size_t)(rl.rlim_cur - VD_FD_RESERVE) / 2
					       : (size_t)rl.rlim_cur / 4;
}

void vd_conns_durable(struct vd_conns *cs, uint64_t durable, bool failed)
{
	for (struct vd_conn *c = cs->list; c; c = c->next)
		conn_flush(c, durable, failed);
}

int vd_conns_new(struct vd *d, struct event_base *base, int fd, struct vd_conns **out)
{
	struct vd_conns *cs = vg_calloc(1, sizeof(*cs));

	*out = NULL;
	if (!cs) {
		close(fd);
		return -ENOMEM;
	}
	cs->d = d;
	cs->base = base;
	cs->timeout_ns = config_daemon_client_timeout_ns(d->cfg.conf);
	cs->max_conns = conn_cap();
	if (cs->max_conns < VD_MAX_CONNS)
		vg_warn("at most %zu connections: the descriptor limit allows no more",
			cs->max_conns);
	cs->listener = evconnlistener_new(base, on_accept, cs, LEV_OPT_CLOSE_ON_FREE, -1, fd);
	if (!cs->listener) {
		close(fd);
		vg_free(cs);
		return -ENOMEM;
	}
	*out = cs;
	return 0;
}

void vd_conns_stop(struct vd_conns *cs)
{
	if (cs->listener) {
		evconnlistener_free(cs->listener);
		cs->listener = NULL;
	}
	for (struct vd_conn *c = cs->list; c; c = c->next)
		bufferevent_disable(c->bev, EV_READ);
}

void vd_conns_free(struct vd_conns *cs)
{
	if (!cs)
		return;
	while (cs->list)
		conn_free(cs->list);
	if (cs->listener)
		evconnlistener_free(cs->listener);
	vg_free(cs);
}
