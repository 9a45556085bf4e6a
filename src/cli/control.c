/*
 * control.c - the CLI's side of control requests to vigild (status,
 * shutdown, and JSON operations such as rules.reload or alert.acknowledge)
 * over the daemon's unix socket.
 */
#include "cli.h"
#include "wire.h"

#include <errno.h>
#include <jansson.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define CTL_TIMEOUT_MS 5000

/* Waits until fd is ready for `events`, within the deadline (monotonic ns). */
static int wait_fd(int fd, short events, uint64_t deadline)
{
	for (;;) {
		uint64_t now = vg_mono_ns();
		struct pollfd p = { .fd = fd, .events = events };
		int rc;

		if (now >= deadline)
			return -ETIMEDOUT;
		rc = poll(&p, 1, (int)((deadline - now) / 1000000 + 1));
		if (rc > 0)
			return 0;
		if (rc < 0 && errno != EINTR)
			return -errno;
	}
}

/*
 * Sends one control request and reads the reply: 0 with *out (malloc'ed,
 * NUL-terminated, may be empty), -ENOENT / -ECONNREFUSED when no daemon
 * listens, -ETIMEDOUT, -EPROTO for a reply that is not one.
 */
int cli_control(struct cli *c, unsigned kind, const char *req, size_t req_len, char **out,
		size_t *out_len)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	uint64_t deadline = vg_mono_ns() + CTL_TIMEOUT_MS * 1000000ull;
	uint8_t hdr[WIRE_HDR_LEN];
	unsigned status, exit_code;
	uint32_t olen, elen;
	size_t got = 0, want;
	char path[sizeof(sa.sun_path) + 1], *buf = NULL;
	int fd, rc;

	*out = NULL;
	if (wire_socket_path(c->state_dir, path, sizeof(path)) < 0)
		return -ENAMETOOLONG;
	memcpy(sa.sun_path, path, strlen(path) + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		goto out;
	}
	if (req_len > WIRE_MAX_PAYLOAD) {
		rc = -E2BIG;
		goto out;
	}
	wire_req_hdr_put(hdr, kind, 0, 0, (uint32_t)req_len);
	if (send(fd, hdr, sizeof(hdr), MSG_NOSIGNAL) != (ssize_t)sizeof(hdr) ||
	    (req_len && send(fd, req, req_len, MSG_NOSIGNAL) != (ssize_t)req_len)) {
		rc = -EPIPE;
		goto out;
	}
	while (got < sizeof(hdr)) {
		ssize_t n;

		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		n = recv(fd, hdr + got, sizeof(hdr) - got, 0);
		if (n <= 0) {
			rc = n == 0 ? -EPROTO : -errno;
			goto out;
		}
		got += (size_t)n;
	}
	if (wire_ack_hdr_get(hdr, &status, &exit_code, &olen, &elen) < 0) {
		rc = -EPROTO;
		goto out;
	}
	want = (size_t)olen + elen;
	buf = vg_malloc(want + 1);
	if (!buf) {
		rc = -ENOMEM;
		goto out;
	}
	for (got = 0; got < want;) {
		ssize_t n;

		if ((rc = wait_fd(fd, POLLIN, deadline)) < 0)
			goto out;
		n = recv(fd, buf + got, want - got, 0);
		if (n <= 0) {
			rc = n == 0 ? -EPROTO : -errno;
			goto out;
		}
		got += (size_t)n;
	}
	buf[olen] = '\0';
	rc = status == WIRE_OK ? 0 : -EREMOTEIO;
	if (rc == 0) {
		*out = buf;
		*out_len = olen;
		buf = NULL;
	}
out:
	vg_free(buf);
	close(fd);
	return rc;
}

int cli_control_json(struct cli *c, const char *op_json, json_t **reply)
{
	char *out = NULL;
	size_t n = 0;
	json_error_t jerr;
	int rc;

	*reply = NULL;
	rc = cli_control(c, WIRE_CONTROL, op_json, strlen(op_json), &out, &n);
	if (rc < 0)
		return rc;
	*reply = json_loadb(out, n, 0, &jerr);
	vg_free(out);
	if (!json_is_object(*reply)) {
		json_decref(*reply);
		*reply = NULL;
		return -EPROTO;
	}
	return 0;
}

bool cli_control_denied(struct cli *c, int rc)
{
	char path[4200];

	if (rc != -EACCES && rc != -EPERM)
		return false;
	if (wire_socket_path(c->state_dir, path, sizeof(path)) < 0)
		snprintf(path, sizeof(path), "%s", c->state_dir);
	return cli_denied(rc, "connect to vigild's socket", path);
}
