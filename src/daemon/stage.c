/*
 * stage.c - a blocking hook's answer sent straight from the worker, before
 * the event is written (wire.h, "Staged decisions").
 *
 * The worker writes on its own duplicate of the connection's descriptor
 * (taken by the loop thread when it handed over the frame), so the socket
 * outlives a connection the loop closes meanwhile, and a descriptor number
 * reused by then can never receive these bytes.  The loop thread writes
 * nothing on that connection until the job comes back: the staged answer is
 * only used when it is the first reply the connection owes.
 */
#include "daemon.h"

#include <errno.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

/* A hook reads its socket all the time it waits; one that stopped reading
 * is one that gave up (and shut its reading side, so send fails) or that is
 * itself stopped.  This bounds what a worker can be held by the latter. */
#define STAGE_SEND_MAX_MS 2000

static int send_all(int fd, const void *p, size_t n)
{
	const char *b = p;
	uint64_t end = vg_mono_ns() + (uint64_t)STAGE_SEND_MAX_MS * 1000000u;

	while (n > 0) {
		ssize_t w = send(fd, b, n, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			struct pollfd pfd = { .fd = fd, .events = POLLOUT };
			uint64_t now = vg_mono_ns();

			if (now >= end)
				return -ETIMEDOUT;
			if (poll(&pfd, 1, (int)((end - now) / 1000000u) + 1) < 0 && errno != EINTR)
				return -errno;
			continue;
		}
		if (w < 0)
			return -errno;
		b += w;
		n -= (size_t)w;
	}
	return 0;
}

int vd_stage_send(int fd, const struct vd_answer *ans)
{
	uint8_t hdr[WIRE_HDR_LEN];
	size_t n = ans->out_len > WIRE_MAX_OUT ? WIRE_MAX_OUT : ans->out_len;
	size_t e = ans->err_len > WIRE_MAX_OUT ? WIRE_MAX_OUT : ans->err_len;
	int rc;

	wire_ack_hdr_put(hdr, WIRE_DECIDED, ans->exit_code, (uint32_t)n, (uint32_t)e);
	wire_ack_hdr_set_decision(hdr, (enum wire_decision)ans->decision);
	rc = send_all(fd, hdr, sizeof(hdr));
	if (rc == 0 && n)
		rc = send_all(fd, ans->out, n);
	if (rc == 0 && e)
		rc = send_all(fd, ans->err, e);
	if (rc == 0)
		return 0;
	/* Whatever part went out is no answer (the hook ignores a partial
	 * reply); closing our side makes sure none follows, so the hook, if it
	 * is still there, sees the end of the stream and applies its failure
	 * mode, which is what will be recorded. */
	shutdown(fd, SHUT_RDWR);
	return -EPIPE;
}
