/*
 * vigil-hook - the command an agent runs for each hook event.
 *
 * It reads the agent's stdin (up to WIRE_MAX_PAYLOAD bytes), wraps it in an
 * envelope (event id, receive time, pid, ppid, uid, cwd, agent and event from
 * argv), sends the frame to vigild over its unix socket and waits, bounded by
 * one deadline, for the durable acknowledgement.  When the daemon answers it
 * prints what the daemon decided and exits with the daemon's code; in every
 * other case it appends the frame to the spool file, prints nothing and exits
 * 0.  The agent must never be broken by its monitor: no stdout unless decided,
 * no hang past the deadline, exit 0 on the hook's own failures.
 *
 * It links libc and nothing else (see src/wire/wire.c), and is linked
 * statically where the toolchain allows, because process start-up is most of
 * its cost: docs/benchmarks.md has the measurements.  For the same reason it
 * makes no NSS calls (no getpwuid) and keeps its system calls few.
 *
 * The whole run is bounded by one deadline (VIGIL_HOOK_TIMEOUT_MS or
 * --timeout-ms, default 2000): reading stdin, connecting (non-blocking),
 * sending and waiting for the reply all poll against it.  Only the spool
 * write that follows a missed deadline is outside it; it is a local append.
 */
#include "base.h"
#include "vigil_config.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOK_DEFAULT_TIMEOUT_MS 2000
#define HOOK_MAX_TIMEOUT_MS 600000 /* Claude Code's own default hook timeout */
#define HOOK_DRAIN_CHUNK 65536
#define HOOK_PATH_MAX 4096
#define HOOK_REJECTED_FILE "rejected.vgw"

/* What the command line and the environment ask for. */
struct hook_opts {
	const char *agent; /* NULL: unknown, the daemon tells from the payload */
	const char *event;
	int decide;
	int fail_closed; /* with decide: no decision = block */
	int spool_only;
	int autostart;
	int verbose;
	long timeout_ms;
	char usage_err[256]; /* first command-line problem, reported at exit */
};

/* One run.  The frame is built in place in buf: the payload is read to a
 * fixed offset and the envelope and header are put right in front of it, so
 * the payload is never copied. */
struct hook {
	struct hook_opts o;
	uint64_t deadline; /* CLOCK_MONOTONIC ns */
	uint64_t start_rt; /* CLOCK_REALTIME ns: the receive time */
	uint8_t *buf;
	size_t payload_len;
	uint64_t stdin_total;
	int stdin_cut; /* the deadline passed before stdin ended */
	uint8_t *frame;
	size_t frame_len;
	struct wire_envelope env;
	char state[HOOK_PATH_MAX];
	int have_state;
};

enum send_result {
	SEND_OK,	  /* a well-formed reply arrived */
	SEND_UNREACHABLE, /* no daemon listening (ENOENT, ECONNREFUSED) */
	SEND_FAILED,	  /* anything else: timeout, reset, short or bad reply */
};

struct reply {
	unsigned status, exit_code;
	enum wire_decision decision;
	uint32_t out_len, err_len;
	const uint8_t *body; /* stdout bytes then stderr bytes (in the reply buffer) */
};

/* What came back from the daemon. */
struct outcome {
	int decided;	     /* answer holds the daemon's answer (staged or final) */
	int durable;	     /* the event is durable */
	int failed, refused; /* the daemon could not record it / called it malformed */
	int late;	     /* the deadline passed while waiting */
	struct reply answer, refusal;
};

/* ---- small helpers --------------------------------------------------------- */

static void dbg(const struct hook *h, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dbg(const struct hook *h, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	int n;

	if (!h->o.verbose)
		return;
	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof(line))
		n = (int)sizeof(line) - 1;
	dprintf(STDERR_FILENO, "vigil-hook: %.*s\n", n, line);
}

static uint64_t clock_ns(clockid_t id)
{
	struct timespec ts;

	clock_gettime(id, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* Milliseconds left before the deadline, rounded up; 0 when it has passed. */
static int ms_left(const struct hook *h)
{
	uint64_t now = clock_ns(CLOCK_MONOTONIC);
	uint64_t left;

	if (now >= h->deadline)
		return 0;
	left = (h->deadline - now + 999999) / 1000000;
	return left > INT_MAX ? INT_MAX : (int)left;
}

static void write_all(int fd, const void *p, size_t n)
{
	const uint8_t *b = p;

	while (n > 0) {
		ssize_t w = write(fd, b, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return; /* the agent stopped listening: nothing to do */
		b += w;
		n -= (size_t)w;
	}
}

static int copy_str(char *dst, size_t cap, const char *src)
{
	size_t n = strlen(src);

	if (n >= cap)
		return -ENAMETOOLONG;
	memcpy(dst, src, n + 1);
	return 0;
}


/* ---- options ---------------------------------------------------------------- */

static void usage(void)
{
	static const char text[] =
		"usage: vigil-hook [--agent NAME] [--event NAME] [--decide [--fail-closed]]\n"
		"                  [--timeout-ms N] [--spool-only] [--autostart] [--verbose]\n"
		"\n"
		"The hook command agents run: reads the hook's JSON on stdin, sends it to\n"
		"vigild and, for a blocking hook (--decide), prints the daemon's decision.\n"
		"When the daemon is unreachable or late, the event is spooled to\n"
		"<state>/spool/spool.vgw and the hook exits 0 printing nothing.\n"
		"\n"
		"  --agent NAME      claude-code, codex, gemini, cursor, copilot or other\n"
		"  --event NAME      the hook event, when the agent does not put it in stdin\n"
		"  --decide          a blocking hook (PreToolUse, UserPromptSubmit,\n"
		"                    PermissionRequest...): print the daemon's decision\n"
		"  --fail-closed     with --decide: when no decision comes (daemon down,\n"
		"                    late or failing), block the action (exit 2 and a\n"
		"                    reason on stderr) instead of allowing it; the event\n"
		"                    is spooled either way (or VIGIL_HOOK_FAIL_CLOSED=1)\n"
		"  --timeout-ms N    deadline for the whole run (default 2000,\n"
		"                    or VIGIL_HOOK_TIMEOUT_MS)\n"
		"  --spool-only      do not contact the daemon; append to the spool\n"
		"  --autostart       start vigild when none is running (or\n"
		"                    VIGIL_HOOK_AUTOSTART=1)\n"
		"  -v, --verbose     explain failures on stderr (or VIGIL_HOOK_DEBUG=1)\n"
		"  -h, --help        this text\n"
		"  --version         the version\n"
		"\n"
		"Environment: VIGIL_STATE_DIR, XDG_STATE_HOME, HOME (state directory),\n"
		"VIGIL_SOCKET, VIGIL_HOOK_TIMEOUT_MS, VIGIL_HOOK_AUTOSTART, VIGIL_HOOK_DEBUG,\n"
		"VIGIL_HOOK_FAIL_CLOSED,\n"
		"CLAUDE_PROJECT_DIR, CLAUDE_CODE_SESSION_ID.  See docs/hook.md.\n";

	write_all(STDOUT_FILENO, text, sizeof(text) - 1);
}

static int parse_ms(const char *s, long *out)
{
	char *end;
	long v;

	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v < 1 || v > HOOK_MAX_TIMEOUT_MS)
		return -EINVAL;
	*out = v;
	return 0;
}

static void usage_error(struct hook_opts *o, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static void usage_error(struct hook_opts *o, const char *fmt, ...)
{
	va_list ap;

	if (o->usage_err[0])
		return; /* the first problem is the one to fix */
	va_start(ap, fmt);
	vsnprintf(o->usage_err, sizeof(o->usage_err), fmt, ap);
	va_end(ap);
}

/* Returns 1 when the process should exit 0 right away (--help, --version). */
static int parse_args(int argc, char **argv, struct hook_opts *o)
{
	const char *env;

	o->timeout_ms = HOOK_DEFAULT_TIMEOUT_MS;
	env = getenv("VIGIL_HOOK_TIMEOUT_MS");
	if (env && *env && parse_ms(env, &o->timeout_ms) < 0)
		usage_error(o, "VIGIL_HOOK_TIMEOUT_MS='%s' is not a number of milliseconds "
			       "from 1 to 600000",
			    env);
	env = getenv("VIGIL_HOOK_AUTOSTART");
	o->autostart = env && strcmp(env, "1") == 0;
	env = getenv("VIGIL_HOOK_DEBUG");
	o->verbose = env && strcmp(env, "1") == 0;
	env = getenv("VIGIL_HOOK_FAIL_CLOSED");
	o->fail_closed = env && strcmp(env, "1") == 0;

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i], *val = NULL, *eq;
		char name[32];
		size_t nlen;

		if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
			usage();
			return 1;
		}
		if (strcmp(a, "--version") == 0) {
			write_all(STDOUT_FILENO, "vigil-hook " VIGIL_VERSION "\n",
				  sizeof("vigil-hook " VIGIL_VERSION "\n") - 1);
			return 1;
		}
		if (strcmp(a, "-v") == 0 || strcmp(a, "--verbose") == 0) {
			o->verbose = 1;
			continue;
		}
		if (strcmp(a, "--decide") == 0) {
			o->decide = 1;
			continue;
		}
		if (strcmp(a, "--fail-closed") == 0) {
			o->fail_closed = 1;
			continue;
		}
		if (strcmp(a, "--spool-only") == 0) {
			o->spool_only = 1;
			continue;
		}
		if (strcmp(a, "--autostart") == 0) {
			o->autostart = 1;
			continue;
		}
		/* Options with a value: "--opt VALUE" or "--opt=VALUE". */
		eq = strchr(a, '=');
		nlen = eq ? (size_t)(eq - a) : strlen(a);
		if (nlen >= sizeof(name)) {
			usage_error(o, "unknown option '%s' (see --help)", a);
			continue;
		}
		memcpy(name, a, nlen);
		name[nlen] = 0;
		if (strcmp(name, "--agent") != 0 && strcmp(name, "--event") != 0 &&
		    strcmp(name, "--timeout-ms") != 0) {
			usage_error(o, "unknown option '%s' (see --help)", a);
			continue;
		}
		if (eq)
			val = eq + 1;
		else if (i + 1 < argc)
			val = argv[++i];
		if (!val) {
			usage_error(o, "option '%s' needs a value", name);
			continue;
		}
		if (strcmp(name, "--agent") == 0) {
			size_t k;

			for (k = 0; base_agents[k]; k++)
				if (strcmp(val, base_agents[k]) == 0)
					break;
			if (!base_agents[k]) {
				char list[128];

				base_agent_list(list, sizeof(list));
				usage_error(o, "unknown agent '%s' (%s)", val, list);
				o->agent = "other";
			} else {
				o->agent = base_agents[k];
			}
		} else if (strcmp(name, "--event") == 0) {
			if (strlen(val) >= sizeof(((struct wire_envelope *)0)->event))
				usage_error(o, "event name '%s' is too long (at most 63 bytes)",
					    val);
			else
				o->event = val;
		} else if (parse_ms(val, &o->timeout_ms) < 0) {
			usage_error(o, "--timeout-ms '%s' is not a number from 1 to 600000", val);
		}
	}
	return 0;
}

/* ---- stdin ------------------------------------------------------------------ */

/*
 * Reads stdin to EOF (or the deadline): the first WIRE_MAX_PAYLOAD bytes into
 * the payload area, the rest counted and dropped.  Draining it all matters:
 * an agent still writing into a pipe nobody reads would get SIGPIPE or block.
 * A terminal or a closed stdin gives an empty payload.
 */
static void read_stdin(struct hook *h)
{
	uint8_t *payload = h->buf + WIRE_HDR_LEN + WIRE_MAX_ENVELOPE;
	uint8_t drain[HOOK_DRAIN_CHUNK];

	if (isatty(STDIN_FILENO))
		return;
	for (;;) {
		struct pollfd pfd = { .fd = STDIN_FILENO, .events = POLLIN };
		size_t room = WIRE_MAX_PAYLOAD - h->payload_len;
		uint8_t *dst = room ? payload + h->payload_len : drain;
		ssize_t n;
		int pr;

		pr = poll(&pfd, 1, ms_left(h));
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr == 0) {
			h->stdin_cut = 1;
			dbg(h, "stdin still open at the deadline after %llu bytes",
			    (unsigned long long)h->stdin_total);
			return;
		}
		if (pr < 0 || (pfd.revents & POLLNVAL))
			return;
		n = read(STDIN_FILENO, dst, room ? room : sizeof(drain));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		h->stdin_total += (uint64_t)n;
		if (room)
			h->payload_len += (size_t)n;
	}
}

/* ---- envelope and frame ------------------------------------------------------ */

/* A UUIDv7; without entropy yet (very early boot) the random part comes from
 * the time, pid and clock: unique enough for deduplication. */
static void uuid7(char out[37], uint64_t ms)
{
	uint8_t b[16];

	if (getrandom(b, sizeof(b), GRND_NONBLOCK) != (ssize_t)sizeof(b)) {
		uint64_t x = clock_ns(CLOCK_MONOTONIC) ^ ((uint64_t)getpid() << 32);

		for (int i = 0; i < 16; i++) {
			x += 0x9e3779b97f4a7c15ull;
			b[i] = (uint8_t)((x ^ (x >> 29)) * 0xbf58476d1ce4e5b9ull >> 56);
		}
	}
	base_uuid7_from(out, ms, b);
}

static void build_envelope(struct hook *h)
{
	struct wire_envelope *e = &h->env;
	const char *v;

	memset(e, 0, sizeof(*e));
	uuid7(e->id, h->start_rt / 1000000u);
	e->time_ns = h->start_rt;
	e->pid = getpid();
	e->ppid = getppid();
	e->uid = getuid();
	e->stdin_len = h->stdin_total;
	if (h->o.agent)
		copy_str(e->agent, sizeof(e->agent), h->o.agent);
	if (h->o.event)
		copy_str(e->event, sizeof(e->event), h->o.event);
	if (!getcwd(e->cwd, sizeof(e->cwd)))
		e->cwd[0] = 0; /* removed or too long: unknown */
	/* A value that does not fit is left out rather than cut: a truncated
	 * path would name a different directory. */
	v = getenv("CLAUDE_PROJECT_DIR");
	if (!v || !*v)
		v = getenv("GEMINI_PROJECT_DIR");
	if (v && copy_str(e->project_dir, sizeof(e->project_dir), v) < 0)
		e->project_dir[0] = 0;
	v = getenv("CLAUDE_CODE_SESSION_ID");
	if (v && copy_str(e->session, sizeof(e->session), v) < 0)
		e->session[0] = 0;
}

/* Puts envelope and header in front of the payload.  0 or -ENOSPC. */
static int build_frame(struct hook *h)
{
	char text[WIRE_MAX_ENVELOPE + 1];
	uint8_t *payload = h->buf + WIRE_HDR_LEN + WIRE_MAX_ENVELOPE;
	unsigned flags = 0;
	int n;

	n = wire_env_format(&h->env, text, sizeof(text));
	/* Only paths full of '%' or newlines can overflow the envelope (each
	 * such byte takes three); drop the longest values, not the event. */
	if (n < 0 || (size_t)n > WIRE_MAX_ENVELOPE) {
		h->env.project_dir[0] = 0;
		n = wire_env_format(&h->env, text, sizeof(text));
	}
	if (n < 0 || (size_t)n > WIRE_MAX_ENVELOPE) {
		h->env.cwd[0] = 0;
		n = wire_env_format(&h->env, text, sizeof(text));
	}
	if (n < 0 || (size_t)n > WIRE_MAX_ENVELOPE)
		return -ENOSPC;
	if (h->stdin_total > h->payload_len)
		flags |= WIRE_F_TRUNCATED;
	/* The daemon learns the configured failure mode, so an event drained
	 * from the spool says whether the agent was blocked or let through. */
	if (h->o.decide && h->o.fail_closed)
		flags |= WIRE_F_FAIL_CLOSED;
	if (h->o.decide)
		flags |= WIRE_F_STAGED;
	if (h->stdin_cut)
		flags |= WIRE_F_STDIN_OPEN;
	h->frame = payload - n - WIRE_HDR_LEN;
	memcpy(h->frame + WIRE_HDR_LEN, text, (size_t)n);
	wire_req_hdr_put(h->frame, h->o.decide ? WIRE_DECIDE : WIRE_EVENT, flags, (uint32_t)n,
			 (uint32_t)h->payload_len);
	h->frame_len = WIRE_HDR_LEN + (size_t)n + h->payload_len;
	return 0;
}

/* ---- talking to the daemon --------------------------------------------------- */

/* Waits for events on fd until the deadline: 1 ready, 0 timed out, -errno. */
static int wait_fd(const struct hook *h, int fd, short events)
{
	for (;;) {
		struct pollfd pfd = { .fd = fd, .events = events };
		int left = ms_left(h);
		int pr;

		if (left == 0)
			return 0;
		pr = poll(&pfd, 1, left);
		if (pr < 0 && errno == EINTR)
			continue;
		if (pr < 0)
			return -errno;
		if (pr == 0)
			return 0;
		return 1;
	}
}

static int connect_daemon(struct hook *h, const char *path, int *fd_out)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd, rc;

	*fd_out = -1;
	if (copy_str(sun.sun_path, sizeof(sun.sun_path), path) < 0)
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -errno;
	for (;;) {
		if (connect(fd, (struct sockaddr *)&sun, sizeof(sun)) == 0)
			break;
		rc = -errno;
		if (rc == -EINTR)
			continue;
		if (rc == -EAGAIN) {
			/* The listen backlog is full: the daemon is alive but
			 * busy.  poll() cannot wait for that, so retry briefly. */
			struct timespec ms = { 0, 1000000 };

			if (ms_left(h) == 0) {
				rc = -ETIMEDOUT;
				goto fail;
			}
			nanosleep(&ms, NULL);
			continue;
		}
		if (rc == -EINPROGRESS) {
			int err = 0;
			socklen_t len = sizeof(err);

			rc = wait_fd(h, fd, POLLOUT);
			if (rc == 0)
				rc = -ETIMEDOUT;
			if (rc < 0)
				goto fail;
			if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err) {
				rc = err ? -err : -errno;
				goto fail;
			}
			break;
		}
		goto fail;
	}
	*fd_out = fd;
	return 0;
fail:
	close(fd);
	return rc;
}

static int send_all(struct hook *h, int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = send(fd, p, n, MSG_NOSIGNAL);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EAGAIN) {
			int rc = wait_fd(h, fd, POLLOUT);

			if (rc <= 0)
				return rc == 0 ? -ETIMEDOUT : rc;
			continue;
		}
		if (w < 0)
			return -errno;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/*
 * Replies arrive into one buffer and are parsed from it, so that what was
 * read before the deadline and what is read after the final shutdown are
 * one stream.  At most two replies come (a staged decision, then the durable
 * acknowledgement), each at most a header and twice WIRE_MAX_OUT.
 */
#define REPLY_MAX (WIRE_HDR_LEN + 2u * WIRE_MAX_OUT)
#define INBUF_MAX (2u * REPLY_MAX)

struct inbuf {
	uint8_t *p;
	size_t len, off; /* bytes read; bytes parsed */
};

/* One complete reply from in, or 0 when it holds only part of one, or
 * -EPROTO for bytes that are not a reply. */
static int next_reply(struct inbuf *in, struct reply *rep)
{
	uint8_t *hdr = in->p + in->off;
	size_t have = in->len - in->off, body;

	if (have < WIRE_HDR_LEN)
		return 0;
	if (wire_ack_hdr_get(hdr, &rep->status, &rep->exit_code, &rep->out_len, &rep->err_len) <
	    0)
		return -EPROTO;
	body = (size_t)rep->out_len + rep->err_len;
	if (have < WIRE_HDR_LEN + body)
		return 0;
	rep->decision = wire_ack_hdr_decision(hdr);
	rep->body = hdr + WIRE_HDR_LEN;
	in->off += WIRE_HDR_LEN + body;
	return 1;
}

/* Takes the replies parsed so far into the outcome.  1 when nothing more
 * is to come, 0 when a reply is still awaited, -EPROTO for garbage. */
static int take_replies(struct inbuf *in, struct outcome *oc)
{
	struct reply r;
	int rc;

	while ((rc = next_reply(in, &r)) > 0) {
		switch (r.status) {
		case WIRE_DECIDED:
			oc->decided = 1;
			oc->answer = r;
			break;
		case WIRE_OK:
			/* An event's acknowledgement, or an older daemon's single
			 * reply: it carries the answer when no staged one came. */
			if (!oc->decided) {
				oc->decided = 1;
				oc->answer = r;
			}
			oc->durable = 1;
			return 1;
		case WIRE_REFUSED:
			oc->refused = 1;
			oc->refusal = r;
			return 1;
		default:
			oc->failed = 1;
			return 1;
		}
	}
	return rc;
}

/* Reads what is already queued on fd without waiting: 0 at EOF or when
 * nothing is left, -errno on an error, -ENOBUFS past the buffer's limit. */
static int read_queued(int fd, struct inbuf *in, int *eof)
{
	for (;;) {
		ssize_t r;

		if (in->len == INBUF_MAX)
			return -ENOBUFS;
		r = recv(fd, in->p + in->len, INBUF_MAX - in->len, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? 0 : -errno;
		if (r == 0) {
			*eof = 1;
			return 0;
		}
		in->len += (size_t)r;
	}
}

/*
 * Waits for the replies until the deadline.  Then, if they are not all
 * here, shuts the reading side (see "Staged decisions" in wire.h): from that
 * instant the daemon's sends fail, so what is queued now is exactly what the
 * daemon knows it delivered, and it is read and taken as the answer.
 */
static void await_replies(struct hook *h, int fd, struct inbuf *in, struct outcome *oc)
{
	int eof = 0, rc = 0;

	for (;;) {
		rc = read_queued(fd, in, &eof);
		if (rc == 0)
			rc = take_replies(in, oc);
		if (rc != 0 || eof)
			break;
		rc = wait_fd(h, fd, POLLIN);
		if (rc < 0)
			break;
		if (rc == 0) {
			oc->late = 1;
			shutdown(fd, SHUT_RD);
			rc = read_queued(fd, in, &eof);
			if (rc == 0)
				rc = take_replies(in, oc);
			break;
		}
	}
	if (rc < 0)
		dbg(h, "reply: %s", strerror(-rc));
	else if (oc->late && !oc->durable)
		dbg(h, "no %s reply before the deadline", oc->decided ? "durable" : "");
	else if (eof && !oc->durable && !oc->failed && !oc->refused)
		dbg(h, "reply: the daemon closed the connection early");
}

static enum send_result deliver(struct hook *h, struct inbuf *in, struct outcome *oc)
{
	char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	int fd = -1, rc;

	rc = wire_socket_path(h->state, path, sizeof(path));
	if (rc < 0) {
		dbg(h, "socket path: %s", strerror(-rc));
		return SEND_FAILED;
	}
	if (ms_left(h) == 0) {
		dbg(h, "deadline passed before connecting");
		oc->late = 1;
		return SEND_FAILED;
	}
	rc = connect_daemon(h, path, &fd);
	if (rc < 0) {
		dbg(h, "connect %s: %s", path, strerror(-rc));
		if (rc == -ETIMEDOUT)
			oc->late = 1;
		return (rc == -ENOENT || rc == -ECONNREFUSED) ? SEND_UNREACHABLE : SEND_FAILED;
	}
	rc = send_all(h, fd, h->frame, h->frame_len);
	if (rc < 0) {
		dbg(h, "send: %s", strerror(-rc));
		if (rc == -ETIMEDOUT)
			oc->late = 1;
		close(fd);
		return SEND_FAILED;
	}
	in->p = malloc(INBUF_MAX);
	if (in->p)
		await_replies(h, fd, in, oc);
	close(fd);
	return SEND_OK;
}

/* ---- spool and autostart ------------------------------------------------------ */

/* Opens <state>/spool/<name> for appending, creating what is missing
 * (directories 0700, file 0600; *created says whether the file is new). */
static int spool_open(struct hook *h, const char *dir, const char *path, int *created)
{
	int fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);

	*created = 0;
	if (fd < 0 && errno == ENOENT) {
		bool dir_created;
		int rc;

		rc = base_mkdir_p(dir, 0700, &dir_created);
		if (rc < 0)
			return rc;
		if (dir_created)
			base_fsync_dir(h->state);
		fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW,
			  0600);
		if (fd >= 0)
			*created = 1;
		else if (errno == EEXIST) /* another hook won the race */
			fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC | O_NOFOLLOW);
	}
	return fd < 0 ? -errno : fd;
}

/*
 * Appends the frame to <state>/spool/<name>.  The daemon drains a spool file
 * by renaming it aside, taking an exclusive flock, reading it and unlinking
 * it (src/daemon/spool.c).  So the append holds a shared flock, and a file
 * that was unlinked between our open() and our lock (st_nlink == 0) is
 * reopened: an append to it would be lost.
 */
static int spool(struct hook *h, const char *name)
{
	char dir[HOOK_PATH_MAX], path[HOOK_PATH_MAX];
	int fd, rc = -EAGAIN, created = 0;

	if (!h->have_state)
		return -ENOENT;
	if (snprintf(dir, sizeof(dir), "%s/%s", h->state, WIRE_SPOOL_DIR) >= (int)sizeof(dir) ||
	    snprintf(path, sizeof(path), "%s/%s", dir, name) >= (int)sizeof(path))
		return -ENAMETOOLONG;
	for (int attempt = 0; attempt < 8 && rc == -EAGAIN; attempt++) {
		struct stat st;

		fd = spool_open(h, dir, path, &created);
		if (fd < 0)
			return fd;
		/* The drain renames the file before it locks it, so a file locked
		 * exclusively is one being drained: reopen the path, which names a
		 * new file by now.  Never wait here: the hook has a deadline. */
		if (flock(fd, LOCK_SH | LOCK_NB) < 0) {
			rc = errno == EWOULDBLOCK ? -EAGAIN : -errno;
		} else if (fstat(fd, &st) < 0) {
			rc = -errno;
		} else if (st.st_nlink == 0) {
			rc = -EAGAIN; /* drained and removed under us: reopen */
		} else {
			rc = wire_spool_append(fd, h->frame, h->frame_len);
			if (rc == 0 && created)
				base_fsync_dir(dir);
		}
		close(fd);
	}
	return rc;
}

/* vigild next to this binary, else on PATH.  0 with out filled, or -ENOENT. */
static int find_vigild(char *out, size_t cap)
{
	char self[HOOK_PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *path, *p;

	if (n > 0) {
		char *slash;

		self[n] = 0;
		slash = strrchr(self, '/');
		if (slash) {
			*slash = 0;
			if (snprintf(out, cap, "%s/vigild", self) < (int)cap &&
			    access(out, X_OK) == 0)
				return 0;
		}
	}
	path = getenv("PATH");
	for (p = path; p && *p;) {
		const char *end = strchr(p, ':');
		size_t len = end ? (size_t)(end - p) : strlen(p);

		if (len > 0 && len < cap && snprintf(out, cap, "%.*s/vigild", (int)len, p) < (int)cap &&
		    access(out, X_OK) == 0)
			return 0;
		p = end ? end + 1 : p + len;
	}
	return -ENOENT;
}

/*
 * Starts vigild detached: double fork and setsid so it is nobody's child and
 * has no terminal, stdio on /dev/null and every other descriptor closed.
 * The last part matters: a daemon that kept the agent's stdout pipe open
 * would make the agent wait for an EOF that never comes.  The hook only waits
 * for the intermediate child, which exits at once.  A second vigild started
 * by a concurrent hook stops itself at its pid lock.
 */
static void autostart(struct hook *h)
{
	char exe[HOOK_PATH_MAX];
	pid_t pid;

	if (!h->have_state || find_vigild(exe, sizeof(exe)) < 0) {
		dbg(h, "autostart: no vigild next to vigil-hook or on PATH");
		return;
	}
	pid = fork();
	if (pid < 0) {
		dbg(h, "autostart: fork: %s", strerror(errno));
		return;
	}
	if (pid == 0) {
		char *args[] = { exe, "--state-dir", h->state, "--daemon", NULL };
		int nul;

		setsid();
		if (fork() != 0)
			_exit(0);
		nul = open("/dev/null", O_RDWR);
		if (nul >= 0) {
			dup2(nul, STDIN_FILENO);
			dup2(nul, STDOUT_FILENO);
			dup2(nul, STDERR_FILENO);
		}
		if (close_range(3, ~0u, 0) < 0)
			for (int fd = 3; fd < 1024; fd++)
				close(fd);
		execv(exe, args);
		_exit(127);
	}
	while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
		;
	dbg(h, "autostart: started %s --state-dir %s --daemon", exe, h->state);
}

/* ---- main ------------------------------------------------------------------------ */

/* An agent may start us with 0, 1 or 2 closed; then the socket or the spool
 * file would get that number and a later write to "stdout" would land in it. */
static void guard_stdio(void)
{
	for (int fd = 0; fd <= 2; fd++) {
		if (fcntl(fd, F_GETFD) >= 0 || errno != EBADF)
			continue;
		int nul = open("/dev/null", O_RDWR);

		if (nul >= 0 && nul != fd) {
			dup2(nul, fd);
			close(nul);
		}
	}
}

static int finish(const struct hook *h, int code)
{
	if (h->o.usage_err[0]) {
		/* A misconfigured hook says so (Claude Code shows the first
		 * stderr line as a hook error) but the event was still kept;
		 * 1 is a non-blocking error for every supported agent. */
		dprintf(STDERR_FILENO, "vigil-hook: %s\n", h->o.usage_err);
		if (code == 0)
			code = 1;
	}
	return code;
}

/*
 * No decision came for a blocking hook.  Fail-open (the default) lets the
 * action run, as a hook that is not installed would; fail-closed blocks it
 * with exit 2, which Claude Code, Codex and Gemini CLI read as "deny" on
 * their pre-tool and prompt hooks, and says why on stderr (shown to the
 * model and the user).  The spooled copy records which of the two it was.
 */
static int no_decision(struct hook *h, const char *why)
{
	if (!h->o.decide)
		return 0;
	copy_str(h->env.applied_by, sizeof(h->env.applied_by),
		 h->o.fail_closed ? "fail-closed" : "fail-open");
	copy_str(h->env.applied, sizeof(h->env.applied), h->o.fail_closed ? "deny" : "allow");
	if (!h->o.fail_closed)
		return 0;
	dprintf(STDERR_FILENO,
		"vigil: blocked because the vigil daemon %s (fail-closed); "
		"the action was recorded; check 'vigil status'\n",
		why);
	return 2;
}

/* Prints the daemon's answer and returns its exit code; a spooled copy
 * records that the agent got vigild's decision. */
static int apply_answer(struct hook *h, const struct reply *r)
{
	static const char *const names[] = { "", "allow", "deny", "ask" };

	if (r->out_len)
		write_all(STDOUT_FILENO, r->body, r->out_len);
	if (r->err_len)
		write_all(STDERR_FILENO, r->body + r->out_len, r->err_len);
	if (h->o.decide) {
		copy_str(h->env.applied_by, sizeof(h->env.applied_by), "rules");
		/* An older daemon leaves the decision byte 0: then the exit
		 * code is all that is known (2 blocks). */
		copy_str(h->env.applied, sizeof(h->env.applied),
			 r->decision != WIRE_DEC_NONE ? names[r->decision]
			 : r->exit_code == 2	      ? "deny"
						      : "allow");
	}
	return (int)r->exit_code;
}

/* Spools the frame again with what the hook did (the envelope is rebuilt
 * in front of the payload, which stays where it is). */
static void spool_or_say(struct hook *h, const char *name, const char *reason)
{
	int rc;

	copy_str(h->env.spool_reason, sizeof(h->env.spool_reason), reason);
	rc = build_frame(h);
	if (rc == 0)
		rc = spool(h, name);
	if (rc < 0)
		dbg(h, "spool %s/%s/%s: %s", h->state, WIRE_SPOOL_DIR, name, strerror(-rc));
	else
		dbg(h, "spooled %zu bytes to %s/%s/%s (%s)", h->frame_len, h->state,
		    WIRE_SPOOL_DIR, name, reason);
}

/* After a delivery attempt: the answer, the failure mode, and the spool. */
static int conclude(struct hook *h, enum send_result res, const struct outcome *oc)
{
	const char *reason;
	int code;

	if (oc->refused) {
		/* The daemon called the frame malformed: retrying it would fail
		 * again, but it is still evidence, so it is kept apart. */
		dbg(h, "daemon refused the event: %.*s",
		    (int)(oc->refusal.err_len > 300 ? 300 : oc->refusal.err_len),
		    (const char *)oc->refusal.body + oc->refusal.out_len);
		code = no_decision(h, "refused the request");
		spool_or_say(h, HOOK_REJECTED_FILE, "refused");
		return code;
	}
	if (oc->decided) {
		code = apply_answer(h, &oc->answer);
		if (oc->durable)
			return code;
	} else {
		code = no_decision(h, res == SEND_UNREACHABLE ? "is not running"
				      : oc->failed	     ? "could not record the event"
							     : "did not answer in time");
	}
	if (oc->failed)
		dbg(h, "daemon could not record the event");
	reason = res == SEND_UNREACHABLE ? "unreachable" : oc->failed ? "failed" : "timeout";
	spool_or_say(h, WIRE_SPOOL_FILE, reason);
	return code;
}

int main(int argc, char **argv)
{
	struct sigaction sa = { .sa_handler = SIG_IGN };
	struct inbuf in = { 0 };
	struct outcome oc = { 0 };
	enum send_result res;
	struct hook *h;
	int code = 0;

	/* A reader going away must cost a write error, never the process. */
	sigaction(SIGPIPE, &sa, NULL);
	guard_stdio();

	h = calloc(1, sizeof(*h));
	if (!h)
		return 0;
	h->start_rt = clock_ns(CLOCK_REALTIME);
	if (parse_args(argc, argv, &h->o)) {
		free(h);
		return 0;
	}
	h->deadline = clock_ns(CLOCK_MONOTONIC) + (uint64_t)h->o.timeout_ms * 1000000u;
	h->have_state = base_state_dir(NULL, h->state, sizeof(h->state)) == 0;
	if (!h->have_state)
		dbg(h, "no state directory (set VIGIL_STATE_DIR or HOME)");

	/* One allocation for the largest frame; the kernel backs only the
	 * pages the payload touches. */
	h->buf = malloc(WIRE_HDR_LEN + WIRE_MAX_ENVELOPE + WIRE_MAX_PAYLOAD);
	if (!h->buf) {
		dbg(h, "out of memory");
		goto out;
	}
	read_stdin(h);
	build_envelope(h);
	if (build_frame(h) < 0) {
		dbg(h, "envelope does not fit");
		goto out;
	}

	/* Without a state directory only $VIGIL_SOCKET can name the daemon,
	 * and there is no spool to fall back on. */
	if (h->o.spool_only || (!h->have_state && !getenv("VIGIL_SOCKET"))) {
		code = no_decision(h, h->o.spool_only ? "was not asked (--spool-only)"
						      : "cannot be found (no state directory)");
		spool_or_say(h, WIRE_SPOOL_FILE, h->o.spool_only ? "spool-only" : "no-state");
		goto out;
	}
	res = deliver(h, &in, &oc);
	code = conclude(h, res, &oc);
	if (res == SEND_UNREACHABLE && h->o.autostart)
		autostart(h);
out:
	code = finish(h, code);
	free(in.p);
	free(h->buf);
	free(h);
	return code;
}
