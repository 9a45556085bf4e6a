/*
 * activation.c - socket activation: the listening socket systemd passes
 * (vigild.socket), taken as sd_listen_fds(3) would.
 *
 * Written by hand rather than linking libsystemd: the protocol is two
 * environment variables and a file descriptor number, and vigild stays free
 * of a library that would otherwise be loaded (with its own dependencies)
 * into a process that holds the ledger's keys, on systems without systemd too.
 *
 * The protocol (sd_listen_fds(3)): LISTEN_PID is our pid (else the variables
 * were meant for another process and are ignored), LISTEN_FDS the number of
 * descriptors passed, starting at 3 (SD_LISTEN_FDS_START).  vigild listens on
 * one socket, so it takes exactly one: an AF_UNIX stream socket that listens.
 * The variables are removed so that nothing vigild starts inherits them.
 */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#define LISTEN_FDS_START 3
#define LISTEN_FDS_MAX 64 /* a larger count is not from a service manager */

static void unset_listen_env(void)
{
	unsetenv("LISTEN_PID");
	unsetenv("LISTEN_FDS");
	unsetenv("LISTEN_FDNAMES");
}

/* Parses a decimal number of at most max; -1 when it is not one. */
static long parse_count(const char *s, long max)
{
	char *end;
	long v;

	if (!s || !*s || *s == '-' || *s == '+')
		return -1;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v > max)
		return -1;
	return v;
}

/* The socket's own checks: a listening AF_UNIX stream socket; its path in
 * path (cap bytes; "" when unnamed). */
static int check_socket(int fd, char *path, size_t cap, char *err, size_t errcap)
{
	struct sockaddr_un sa;
	socklen_t len = sizeof(sa);
	int type = 0, listening = 0;
	socklen_t ol = sizeof(int);
	size_t n;

	memset(&sa, 0, sizeof(sa));
	if (getsockname(fd, (struct sockaddr *)&sa, &len) < 0) {
		snprintf(err, errcap, "descriptor %d from LISTEN_FDS is not a socket: %s", fd,
			 strerror(errno));
		return -ENOTSOCK;
	}
	if (sa.sun_family != AF_UNIX || getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &ol) < 0 ||
	    type != SOCK_STREAM || getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &ol) < 0 ||
	    !listening) {
		snprintf(err, errcap,
			 "descriptor %d from LISTEN_FDS is not a listening unix stream socket "
			 "(ListenStream=PATH in the .socket unit)",
			 fd);
		return -EPROTOTYPE;
	}
	n = len > offsetof(struct sockaddr_un, sun_path)
		    ? strnlen(sa.sun_path, len - offsetof(struct sockaddr_un, sun_path))
		    : 0;
	if (n >= cap || n >= sizeof(sa.sun_path))
		n = 0;
	memcpy(path, sa.sun_path, n);
	path[n] = '\0';
	return 0;
}

int vd_listen_fd_from_env(int *fd_out, char *path, size_t cap, char *err, size_t errcap)
{
	const char *pid_s = getenv("LISTEN_PID"), *fds_s = getenv("LISTEN_FDS");
	long pid, nfds;
	int fd = LISTEN_FDS_START, flags, rc;

	*fd_out = 0;
	if (!pid_s || !fds_s)
		return 0;
	pid = parse_count(pid_s, LONG_MAX);
	nfds = parse_count(fds_s, LISTEN_FDS_MAX);
	/* Meant for another process (a parent that exec'ed us without them
	 * being ours): not ours to take, and not to pass on either. */
	if (pid != (long)getpid()) {
		unset_listen_env();
		return 0;
	}
	unset_listen_env();
	if (nfds == 0)
		return 0;
	if (nfds != 1) {
		snprintf(err, errcap,
			 "LISTEN_FDS: %s; vigild takes exactly one socket (one ListenStream= "
			 "in vigild.socket)",
			 nfds < 0 ? "not a count" : "more than one descriptor");
		return -EINVAL;
	}
	if ((rc = check_socket(fd, path, cap, err, errcap)) < 0)
		return rc;
	/* As bind_socket makes its own: non-blocking for the event loop, and
	 * not inherited by anything vigild runs. */
	flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) < 0 ||
	    fcntl(fd, F_SETFD, FD_CLOEXEC) < 0) {
		snprintf(err, errcap, "descriptor %d from LISTEN_FDS: fcntl: %s", fd,
			 strerror(errno));
		return -errno;
	}
	*fd_out = fd;
	return 1;
}
