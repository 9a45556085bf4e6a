/*
 * ingest_bench.c - how many events per second vigild takes in, through
 * normalize + correlate + ledger (group commit, fdatasync) + index.
 *
 *   ingest_bench --socket PATH --hook PATH --noop PATH [--concurrency N]
 *                [--events N] [--batch-events N] [--connections N] [--json]
 *
 * Two ways in, side by side in one run:
 *  1. concurrent hook processes: N threads each spawn vigil-hook with a real
 *     PreToolUse payload on stdin, as agents do; next to it the same number
 *     of spawns of a static no-op program at the same concurrency, which is
 *     the machine's bound (process creation).  The target: the hook
 *     rate is at least 2/3 of the no-op rate.
 *  2. a batch sender: connections that pipeline frames on the socket (as a
 *     forwarding vigild or an importer would) and count the durable acks.
 *     Target: at least 100,000 events/s.  Then how long the index takes to
 *     catch up with what was acknowledged.
 * The daemon must be running on --socket (bench/run ingest starts one).
 */
#include "common.h"
#include "wire.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <poll.h>
#include <signal.h>
#include <pthread.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

extern char **environ;

static const char payload_fmt[] =
	"{\"session_id\":\"bench-%d\",\"transcript_path\":\"/home/dev/.claude/projects/-home-dev-app/"
	"bench.jsonl\",\"cwd\":\"/home/dev/app\",\"permission_mode\":\"default\","
	"\"hook_event_name\":\"PreToolUse\",\"tool_name\":\"Bash\",\"tool_input\":{\"command\":"
	"\"git status --short && npm test -- --grep case-%d\",\"description\":\"Run the tests\"},"
	"\"tool_use_id\":\"toolu_bench_%d_%d\"}";

struct opts {
	const char *socket, *hook, *noop;
	int concurrency, events, batch_events, connections;
	bool json;
};

/* ---- 1. spawning processes ------------------------------------------------------ */

struct spawn_job {
	const char *prog;
	int worker, count, failures;
};

static int spawn_one(const char *prog, const char *data, size_t len)
{
	posix_spawn_file_actions_t fa;
	char a0[4096], a1[] = "--agent", a2[] = "claude-code";
	char *argv[] = { a0, a1, a2, NULL };
	int p[2], status = 0, rc;
	pid_t pid;

	snprintf(a0, sizeof(a0), "%s", prog);
	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_adddup2(&fa, p[0], STDIN_FILENO);
	rc = posix_spawn(&pid, prog, &fa, NULL, argv, environ);
	posix_spawn_file_actions_destroy(&fa);
	close(p[0]);
	if (rc != 0) {
		close(p[1]);
		return -rc;
	}
	/* A no-op program does not read its stdin: EPIPE is fine. */
	if (write(p[1], data, len) != (ssize_t)len && errno != EPIPE)
		rc = -EIO;
	close(p[1]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		rc = -ECHILD;
	return rc;
}

static void *spawn_worker(void *arg)
{
	struct spawn_job *j = arg;
	char buf[1024];

	for (int i = 0; i < j->count; i++) {
		int n = snprintf(buf, sizeof(buf), payload_fmt, j->worker, i, j->worker, i);

		if (spawn_one(j->prog, buf, (size_t)n) < 0)
			j->failures++;
	}
	return NULL;
}

/* Events (spawns) per second of prog at the given concurrency. */
static double spawn_rate(const char *prog, int concurrency, int total, int *failures)
{
	pthread_t th[256];
	struct spawn_job jobs[256];
	uint64_t t0 = vg_mono_ns(), dt;

	*failures = 0;
	for (int w = 0; w < concurrency; w++) {
		jobs[w] = (struct spawn_job){ .prog = prog, .worker = w,
					      .count = total / concurrency };
		pthread_create(&th[w], NULL, spawn_worker, &jobs[w]);
	}
	for (int w = 0; w < concurrency; w++) {
		pthread_join(th[w], NULL);
		*failures += jobs[w].failures;
	}
	dt = vg_mono_ns() - t0;
	return (double)(total / concurrency * concurrency) / ((double)dt / 1e9);
}

/* ---- 2. the batch sender --------------------------------------------------------- */

static int connect_to(const char *path)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return -errno;
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		int e = errno;

		close(fd);
		return -e;
	}
	return fd;
}

struct batch_job {
	const char *socket;
	int conn, count;
	uint64_t acked, failed;
	int err;
};

/* Frames one event into out; returns its length. */
static size_t make_frame(uint8_t *out, size_t cap, int conn, int i)
{
	struct wire_envelope env = { .pid = getpid(), .ppid = getppid(), .uid = getuid() };
	char ebuf[1024], pbuf[1024];
	int elen, plen;

	base_uuid7(env.id);
	env.time_ns = vg_now_ns();
	snprintf(env.agent, sizeof(env.agent), "claude-code");
	snprintf(env.cwd, sizeof(env.cwd), "/home/dev/app");
	elen = wire_env_format(&env, ebuf, sizeof(ebuf));
	plen = snprintf(pbuf, sizeof(pbuf), payload_fmt, 1000 + conn, i, conn, i);
	if (elen < 0 || WIRE_HDR_LEN + (size_t)elen + (size_t)plen > cap)
		return 0;
	wire_req_hdr_put(out, WIRE_EVENT, 0, (uint32_t)elen, (uint32_t)plen);
	memcpy(out + WIRE_HDR_LEN, ebuf, (size_t)elen);
	memcpy(out + WIRE_HDR_LEN + elen, pbuf, (size_t)plen);
	return WIRE_HDR_LEN + (size_t)elen + (size_t)plen;
}

/* Pipelines count frames, reading acks as they come (at most `window`
 * unanswered, so neither side's buffers fill up). */
static void *batch_worker(void *arg)
{
	struct batch_job *j = arg;
	enum { WINDOW = 2048 };
	static __thread uint8_t out[1 << 16];
	uint8_t in[1 << 16];
	size_t out_len = 0, out_off = 0, in_len = 0;
	int fd = connect_to(j->socket), sent = 0;

	if (fd < 0) {
		j->err = fd;
		return NULL;
	}
	while ((uint64_t)j->acked + j->failed < (uint64_t)j->count) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		uint64_t answered = j->acked + j->failed;

		/* Refill the output buffer with new frames. */
		if (out_off == out_len) {
			out_len = out_off = 0;
			while (sent < j->count && (uint64_t)sent - answered < WINDOW &&
			       out_len + 2048 <= sizeof(out)) {
				size_t n = make_frame(out + out_len, sizeof(out) - out_len, j->conn,
						      sent);

				if (!n)
					break;
				out_len += n;
				sent++;
			}
		}
		if (out_off < out_len)
			p.events |= POLLOUT;
		if (poll(&p, 1, 30000) <= 0) {
			j->err = -ETIMEDOUT;
			break;
		}
		if (p.revents & POLLOUT) {
			ssize_t n = send(fd, out + out_off, out_len - out_off,
					 MSG_NOSIGNAL | MSG_DONTWAIT);

			if (n > 0)
				out_off += (size_t)n;
			else if (n < 0 && errno != EAGAIN) {
				j->err = -errno;
				break;
			}
		}
		if (p.revents & (POLLIN | POLLHUP)) {
			ssize_t n = recv(fd, in + in_len, sizeof(in) - in_len, MSG_DONTWAIT);
			size_t off = 0;

			if (n == 0) {
				j->err = -ECONNRESET;
				break;
			}
			if (n < 0) {
				if (errno == EAGAIN)
					continue;
				j->err = -errno;
				break;
			}
			in_len += (size_t)n;
			while (in_len - off >= WIRE_HDR_LEN) {
				unsigned st, ex;
				uint32_t ol, el;

				if (wire_ack_hdr_get(in + off, &st, &ex, &ol, &el) < 0) {
					j->err = -EPROTO;
					goto out;
				}
				if (in_len - off < WIRE_HDR_LEN + ol + el)
					break;
				if (st == WIRE_OK)
					j->acked++;
				else
					j->failed++;
				off += WIRE_HDR_LEN + ol + el;
			}
			memmove(in, in + off, in_len - off);
			in_len -= off;
		}
	}
out:
	close(fd);
	return NULL;
}

static json_t *daemon_status(const char *sock)
{
	uint8_t hdr[WIRE_HDR_LEN];
	unsigned st, ex;
	uint32_t ol, el;
	char *buf;
	size_t got = 0;
	json_t *j = NULL;
	int fd = connect_to(sock);

	if (fd < 0)
		return NULL;
	wire_req_hdr_put(hdr, WIRE_STATUS, 0, 0, 0);
	if (write(fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr) ||
	    recv(fd, hdr, sizeof(hdr), MSG_WAITALL) != (ssize_t)sizeof(hdr) ||
	    wire_ack_hdr_get(hdr, &st, &ex, &ol, &el) < 0) {
		close(fd);
		return NULL;
	}
	buf = malloc((size_t)ol + el + 1);
	while (buf && got < (size_t)ol + el) {
		ssize_t n = recv(fd, buf + got, (size_t)ol + el - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
	}
	if (buf && got >= ol)
		j = json_loadb(buf, ol, 0, NULL);
	free(buf);
	close(fd);
	return j;
}

static int64_t status_int(const char *sock, const char *obj, const char *key)
{
	json_t *j = daemon_status(sock);
	int64_t v = j ? json_integer_value(json_object_get(json_object_get(j, obj), key)) : -1;

	json_decref(j);
	return v;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "socket", required_argument, NULL, 's' },
		{ "hook", required_argument, NULL, 'k' },
		{ "noop", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "events", required_argument, NULL, 'e' },
		{ "batch-events", required_argument, NULL, 'b' },
		{ "connections", required_argument, NULL, 'C' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct opts o = { .concurrency = 20, .events = 2000, .batch_events = 200000,
			  .connections = 4 };
	double noop_rate = 0, hook_rate = 0, batch_rate = 0, catchup_s = -1;
	int c, nf = 0, hf = 0;
	uint64_t acked = 0, failed = 0;

	signal(SIGPIPE, SIG_IGN);
	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 's': o.socket = optarg; break;
		case 'k': o.hook = optarg; break;
		case 'n': o.noop = optarg; break;
		case 'c': o.concurrency = atoi(optarg); break;
		case 'e': o.events = atoi(optarg); break;
		case 'b': o.batch_events = atoi(optarg); break;
		case 'C': o.connections = atoi(optarg); break;
		case 'j': o.json = true; break;
		case 'h':
			printf("usage: ingest_bench --socket PATH --hook PATH --noop PATH "
			       "[--concurrency N] [--events N] [--batch-events N] "
			       "[--connections N] [--json]\n");
			return 0;
		default:
			return 2;
		}
	}
	if (!o.socket || o.concurrency < 1 || o.concurrency > 256 || o.events < o.concurrency ||
	    o.connections < 1 || o.connections > 64 || o.batch_events < o.connections) {
		fprintf(stderr, "ingest_bench: need --socket, and sane counts (--help)\n");
		return 2;
	}
	if (o.hook && o.noop) {
		fprintf(stderr, "ingest_bench: %d spawns of the no-op at concurrency %d...\n",
			o.events, o.concurrency);
		noop_rate = spawn_rate(o.noop, o.concurrency, o.events, &nf);
		fprintf(stderr, "ingest_bench: %d vigil-hook runs at concurrency %d...\n", o.events,
			o.concurrency);
		hook_rate = spawn_rate(o.hook, o.concurrency, o.events, &hf);
	}
	{
		pthread_t th[64];
		struct batch_job jobs[64];
		uint64_t t0, dt, target;
		int64_t before = status_int(o.socket, "ledger", "durable_seq");

		fprintf(stderr, "ingest_bench: %d events pipelined over %d connections...\n",
			o.batch_events, o.connections);
		t0 = vg_mono_ns();
		for (int i = 0; i < o.connections; i++) {
			jobs[i] = (struct batch_job){ .socket = o.socket, .conn = i,
						      .count = o.batch_events / o.connections };
			pthread_create(&th[i], NULL, batch_worker, &jobs[i]);
		}
		for (int i = 0; i < o.connections; i++) {
			pthread_join(th[i], NULL);
			acked += jobs[i].acked;
			failed += jobs[i].failed;
			if (jobs[i].err)
				fprintf(stderr, "ingest_bench: connection %d: %s\n", i,
					strerror(-jobs[i].err));
		}
		dt = vg_mono_ns() - t0;
		batch_rate = (double)acked / ((double)dt / 1e9);
		/* How long until the index holds everything acknowledged. */
		target = (uint64_t)status_int(o.socket, "ledger", "last_event_seq");
		if (before >= 0) {
			for (int i = 0; i < 6000; i++) {
				int64_t last = status_int(o.socket, "index", "last_seq");

				if (last >= 0 && (uint64_t)last >= target) {
					catchup_s = (double)(vg_mono_ns() - t0) / 1e9;
					break;
				}
				usleep(50000);
			}
		}
	}
	if (o.json) {
		printf("{\"concurrency\": %d, \"spawn_events\": %d, \"noop_per_s\": %.0f, "
		       "\"hook_per_s\": %.0f, \"hook_vs_noop\": %.3f, \"hook_failures\": %d, "
		       "\"batch_events\": %d, \"connections\": %d, \"batch_acked\": %llu, "
		       "\"batch_failed\": %llu, \"batch_per_s\": %.0f, "
		       "\"index_caught_up_s\": %.2f}\n",
		       o.concurrency, o.events, noop_rate, hook_rate,
		       noop_rate > 0 ? hook_rate / noop_rate : 0, hf, o.batch_events,
		       o.connections, (unsigned long long)acked, (unsigned long long)failed,
		       batch_rate, catchup_s);
		return 0;
	}
	printf("\nvigild ingest (normalize + correlate + ledger with fdatasync group commit + "
	       "index)\n\n");
	if (o.hook && o.noop) {
		printf("%-44s %12s %10s\n", "concurrent processes", "events/s", "vs no-op");
		printf("  %-42s %12.0f %10s\n", "static no-op program (the bound)", noop_rate, "1.00");
		printf("  %-42s %12.0f %9.2fx   target >= 0.67%s\n", "vigil-hook, acked when durable",
		       hook_rate, noop_rate > 0 ? hook_rate / noop_rate : 0,
		       hf || nf ? "  (SOME RUNS FAILED)" : "");
		printf("  (%d runs each, %d at a time)\n\n", o.events, o.concurrency);
	}
	printf("batch sender: %d events pipelined on %d connections\n", o.batch_events,
	       o.connections);
	printf("  acknowledged durable: %llu (%llu failed), %.0f events/s   target >= 100000\n",
	       (unsigned long long)acked, (unsigned long long)failed, batch_rate);
	if (catchup_s >= 0)
		printf("  index caught up %.2f s after the first event was sent\n", catchup_s);
	else
		printf("  index did not catch up within 5 minutes\n");
	return 0;
}
