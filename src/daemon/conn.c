/*
 * conn.c - connections and replies.
 *
 * Each connection keeps a queue of the replies it owes, in request order.
 * A reply is ready once its worker finished the frame; it is sent once
 * ready and its event is durable (seq 0: nothing was appended, send now).
 * A connection closed by its peer while workers still hold its jobs stays
 * allocated ("gone") until the last job comes back.
 */
#include "conn.h"

#include "ack.h"
#include "control.h"
#include "worker.h"

#include <errno.h>
#include <fcntl.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define VD_MAX_ACKS_PER_CONN 4096 /* a pipelining sender stops being read past this */

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
};

struct vd_conns {
	struct vd *d;
	struct event_base *base;
	struct evconnlistener *listener;
	struct vd_conn *list;
	uint64_t next_id;
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
	       c->inflight_bytes < VD_CONN_MAX_INFLIGHT_BYTES && !c->closing;
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
	if (conn_readable(c))
		bufferevent_enable(c->bev, EV_READ);
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
		s = vd_control(d, &c->peer, (const char *)frame + WIRE_HDR_LEN + elen, plen, &n);
		reply_push(c, s ? WIRE_OK : WIRE_FAILED, s, n);
		break;
	case WIRE_SHUTDOWN:
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
	}
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

	if (c->closing && !c->head && !evbuffer_get_length(bufferevent_get_output(bev))) {
		conn_free(c);
		if (shutdown)
			vd_stop(d, "a client asked to shut down");
	}
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

static void on_accept(struct evconnlistener *lis, evutil_socket_t fd, struct sockaddr *sa,
		      int salen, void *arg)
{
	struct vd_conns *cs = arg;
	struct vd *d = cs->d;
	struct vd_conn *c;
	struct ucred cred;
	socklen_t clen = sizeof(cred);

	(void)lis, (void)sa, (void)salen;
	if (d->stopping || d->st.conns_now >= VD_MAX_CONNS) {
		/* The hook spools; nothing is lost. */
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
	c->bev = bufferevent_socket_new(cs->base, fd, BEV_OPT_CLOSE_ON_FREE);
	if (!c->bev) {
		close(fd);
		vg_free(c);
		return;
	}
	/* Never buffer more than one largest frame plus a header per read. */
	bufferevent_setwatermark(c->bev, EV_READ, 0,
				 WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + WIRE_MAX_PAYLOAD + WIRE_HDR_LEN);
	bufferevent_setcb(c->bev, on_read, on_write, on_conn_event, c);
	bufferevent_enable(c->bev, EV_READ);
	c->next = cs->list;
	if (cs->list)
		cs->list->prev = c;
	cs->list = c;
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
