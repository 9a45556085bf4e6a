/*
 * test_notify.c - the notifier's logic without a network: configuration
 * validation (every bad key gets a message naming channel and key),
 * severity routing, the per-(rule, session) window and its summaries, rate
 * caps, the session store, backoff and Retry-After, the exact structure of
 * every channel's rendering, and the file channel.  Time is a fake clock.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "notify_int.h"
#include "render.h"
#include "tap.h"

/* ---- fixtures ------------------------------------------------------------------- */

static uint64_t fake_now = 1795453200ull * 1000000000ull; /* 2026-11-23T17:00:00Z */

static uint64_t clock_fn(void *arg)
{
	(void)arg;
	return __atomic_load_n(&fake_now, __ATOMIC_SEQ_CST);
}

static void advance(uint64_t seconds)
{
	__atomic_add_fetch(&fake_now, seconds * 1000000000ull, __ATOMIC_SEQ_CST);
}

/* The log channel's lines, captured. */
static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static char log_lines[64][NF_TEXT_MAX + 16];
static int log_count;

static void log_fn(void *arg, enum vg_log_level level, const char *msg)
{
	(void)arg;
	/* Only the channel's own lines (the notifier's diagnostics start "alerts:"). */
	if (strncmp(msg, "[vigil]", 7) != 0)
		return;
	pthread_mutex_lock(&log_lock);
	if (log_count < 64)
		snprintf(log_lines[log_count++], sizeof(log_lines[0]), "%d %s", (int)level, msg);
	pthread_mutex_unlock(&log_lock);
}

static int logs(void)
{
	int n;

	pthread_mutex_lock(&log_lock);
	n = log_count;
	pthread_mutex_unlock(&log_lock);
	return n;
}

static const char *log_line(int i)
{
	return i < log_count ? log_lines[i] : "";
}

static char tmpdir[256];

static json_t *parse(const char *text)
{
	json_error_t e;
	json_t *j = json_loads(text, 0, &e);

	if (!j)
		printf("# bad test JSON: %s: %s\n", e.text, text);
	return j;
}

static struct notify *make(const char *cfg_text)
{
	struct notify_opts o = { .state_dir = tmpdir, .hostname = "testhost", .log = log_fn,
				 .now_ns = clock_fn, .flush_timeout_ms = 2000 };
	json_t *cfg = cfg_text ? parse(cfg_text) : NULL;
	struct notify *n = NULL;
	char err[512];

	if (notify_new(cfg, &o, &n, err, sizeof(err)) < 0)
		printf("# notify_new: %s\n", err);
	json_decref(cfg);
	return n;
}

/* An alert record as the daemon hands it over. */
static json_t *record(const char *update, const char *rule, const char *level,
		      const char *session, int count)
{
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s,"
			 " s:s, s:s, s:i, s:[s, s], s:[s], s:s, s:s, s:s}}",
			 "session_id", session, "agent", "claude-code", "host", "vm", "user", "dev",
			 "project", "/home/dev/app", "alert", "id", "01900000-0000-7000-8000-00000000000a",
			 "update", update, "state", strcmp(update, "resolve") == 0 ? "resolved" : "open",
			 "rule_id", rule, "rule_title", "Destructive command", "rule_kind", "detection",
			 "level", level, "action", "block", "decision", "deny", "session_id", session,
			 "count", count, "tags", "attack.t1485", "attack.impact", "event_ids",
			 "01900000-0000-7000-8000-0000000000e1", "first_seen",
			 "2026-11-23T17:00:00.000Z", "last_seen", "2026-11-23T17:00:00.000Z", "reason",
			 "rm -rf / matched field target (contains 'rm -rf /')");
}

static int submit(struct notify *n, const char *update, const char *rule, const char *level,
		  const char *session, int count)
{
	json_t *r = record(update, rule, level, session, count);
	int rc = notify_submit(n, r);

	json_decref(r);
	return rc;
}

static json_t *chan_stats(struct notify *n, const char *name)
{
	json_t *s = notify_stats_json(n), *c, *out = NULL;
	size_t i;

	json_array_foreach(json_object_get(s, "channels"), i, c)
		if (strcmp(json_string_value(json_object_get(c, "name")), name) == 0)
			out = json_incref(c);
	json_decref(s);
	return out;
}

static long long stat_of(struct notify *n, const char *name, const char *key)
{
	json_t *c = chan_stats(n, name);
	long long v = c ? (long long)json_integer_value(json_object_get(c, key)) : -1;

	json_decref(c);
	return v;
}

/* ---- configuration ------------------------------------------------------------------ */

static void test_config_errors(void)
{
	static const struct {
		const char *cfg, *want;
	} bad[] = {
		{ "[]", "alerts: expected a map" },
		{ "{\"windoww\": \"5m\"}", "alerts: unknown key 'windoww'" },
		{ "{\"window\": \"5 minutes\"}", "alerts.window: expected a duration" },
		{ "{\"channels\": {}}", "alerts.channels: expected a list" },
		{ "{\"channels\": [42]}", "alerts.channels[0]: expected a map with a type" },
		{ "{\"channels\": [{}]}", "alerts.channels[0]: type: required" },
		{ "{\"channels\": [{\"type\": \"pager\"}]}", "alerts.channels[0]: type: expected log," },
		{ "{\"channels\": [{\"type\": \"log\"}, {\"type\": \"webhook\"}]}",
		  "alerts.channels[1] (webhook): url: required" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"ftp://x/y\"}]}",
		  "alerts.channels[0] (webhook): url: scheme 'ftp' is not http or https" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://\"}]}",
		  "alerts.channels[0] (webhook): url: not a valid URL" },
		{ "{\"channels\": [{\"type\": \"slack\", \"url\": \"https://h/x\", \"urll\": 1}]}",
		  "alerts.channels[0] (slack): unknown key 'urll'; did you mean 'url'?" },
		{ "{\"channels\": [{\"type\": \"log\", \"colour\": \"red\"}]}",
		  "alerts.channels[0] (log): unknown key 'colour'" },
		{ "{\"channels\": [{\"type\": \"log\", \"url\": \"https://h/x\"}]}",
		  "alerts.channels[0] (log): key 'url' does not apply to a log channel" },
		{ "{\"channels\": [{\"type\": \"log\", \"min_severity\": \"severe\"}]}",
		  "alerts.channels[0] (log): min_severity: expected informational, low" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"timeout\": "
		  "\"soon\"}]}",
		  "alerts.channels[0] (webhook): timeout: expected a duration" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"timeout\": "
		  "\"20m\"}]}",
		  "alerts.channels[0] (webhook): timeout: must be from 100 ms to 600000 ms" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"headers\": "
		  "[\"X: y\"]}]}",
		  "alerts.channels[0] (webhook): headers: expected a map" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"headers\": "
		  "{\"Bad Name\": \"v\"}}]}",
		  "alerts.channels[0] (webhook): headers: header 'Bad Name': invalid name" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"headers\": "
		  "{\"X-A\": \"v\\r\\nInjected: 1\"}}]}",
		  "alerts.channels[0] (webhook): headers: header 'X-A': expected a string without "
		  "control characters" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"method\": "
		  "\"GET\"}]}",
		  "alerts.channels[0] (webhook): method: expected one of POST, PUT" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"queue\": 0}]}",
		  "alerts.channels[0] (webhook): queue: expected an integer from 1 to 65536" },
		{ "{\"channels\": [{\"type\": \"email\", \"url\": \"http://h/\"}]}",
		  "alerts.channels[0] (email): url: scheme 'http' is not smtp or smtps" },
		{ "{\"channels\": [{\"type\": \"email\", \"url\": \"smtp://h\", \"to\": [\"a@b\"]}]}",
		  "alerts.channels[0] (email): from: required" },
		{ "{\"channels\": [{\"type\": \"email\", \"url\": \"smtp://h\", \"from\": \"v@h\"}]}",
		  "alerts.channels[0] (email): to: required" },
		{ "{\"channels\": [{\"type\": \"email\", \"url\": \"smtp://h\", \"from\": \"v@h\", "
		  "\"to\": [\"ok@x\", \"not an address\"]}]}",
		  "alerts.channels[0] (email): to: entry 1 is not an address" },
		{ "{\"channels\": [{\"type\": \"email\", \"url\": \"smtp://h\", \"from\": \"v@h\", "
		  "\"to\": \"a@b\", \"starttls\": \"yes\"}]}",
		  "alerts.channels[0] (email): starttls: expected true or false" },
		{ "{\"channels\": [{\"type\": \"email\", \"url\": \"smtp://h\", \"from\": \"v@h\", "
		  "\"to\": \"a@b\", \"password\": \"p\"}]}",
		  "alerts.channels[0] (email): password: given without username" },
		{ "{\"channels\": [{\"type\": \"syslog\", \"facility\": \"nope\"}]}",
		  "alerts.channels[0] (syslog): facility: expected one of kern, user, mail" },
		{ "{\"channels\": [{\"type\": \"syslog\", \"ident\": \"two words\"}]}",
		  "alerts.channels[0] (syslog): ident: use printable ASCII" },
		{ "{\"channels\": [{\"type\": \"syslog\", \"socket\": \"dev/log\"}]}",
		  "alerts.channels[0] (syslog): socket: must be an absolute path" },
		{ "{\"channels\": [{\"type\": \"file\", \"path\": \"alerts.jsonl\"}]}",
		  "alerts.channels[0] (file): path: must be an absolute path" },
		{ "{\"channels\": [{\"type\": \"grafana\", \"url\": \"http://g\", \"tags\": [1]}]}",
		  "alerts.channels[0] (grafana): tags: entry 0: expected a non-empty string" },
		{ "{\"channels\": [{\"type\": \"teams\", \"url\": \"https://t/x\", \"format\": "
		  "\"html\"}]}",
		  "alerts.channels[0] (teams): format: expected one of adaptive, messagecard" },
		{ "{\"channels\": [{\"type\": \"session\"}, {\"type\": \"session\"}]}",
		  "alerts.channels[1] (session): only one session channel is allowed" },
		{ "{\"channels\": [{\"type\": \"log\", \"name\": \"a\"}, {\"type\": \"file\", "
		  "\"name\": \"a\", \"path\": \"/tmp/x\"}]}",
		  "alerts.channels[1] (file): name: 'a' is used by another channel" },
		{ "{\"channels\": [{\"type\": \"log\", \"name\": \"a b\"}]}",
		  "alerts.channels[0] (log): name: use letters, digits" },
		{ "{\"channels\": [{\"type\": \"webhook\", \"url\": \"http://h/\", \"backoff\": "
		  "\"10s\", \"backoff_max\": \"1s\"}]}",
		  "alerts.channels[0] (webhook): backoff_max: smaller than backoff" },
		{ "{\"channels\": [{\"type\": \"session\", \"rate_limit\": -1}]}",
		  "alerts.channels[0] (session): rate_limit: expected an integer from 0 to 100000" },
	};
	struct vg_diag d;

	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		json_t *cfg = parse(bad[i].cfg);
		int rc;

		rc = notify_check_config(cfg, &d);
		TAP_OK(rc == -EINVAL && strstr(d.msg, bad[i].want), "config error %zu: %s", i,
		       bad[i].want);
		if (rc != -EINVAL || !strstr(d.msg, bad[i].want))
			TAP_DIAG("got %d: %s", rc, d.msg);
		json_decref(cfg);
	}
}

/* The error as data: which channel, which key, what kind; never to be parsed from msg. */
static void test_config_diag(void)
{
	static const struct {
		const char *cfg;
		long index;
		const char *key;
		enum vg_diag_code code;
	} bad[] = {
		{ "{\"channels\": [{\"type\": \"log\"}, {\"type\": \"webhook\"}]}", 1, "url",
		  VG_DIAG_REQUIRED },
		{ "{\"channels\": [{\"type\": \"slack\", \"url\": \"https://h/\", \"urll\": 1}]}",
		  0, "urll", VG_DIAG_UNKNOWN_KEY },
		{ "{\"channels\": [{\"type\": \"log\", \"path\": \"/x\"}]}", 0, "path",
		  VG_DIAG_NOT_HERE },
		{ "{\"channels\": [{\"type\": \"log\", \"name\": \"a\"}, {\"type\": \"file\", "
		  "\"name\": \"a\"}]}", 1, "name", VG_DIAG_DUPLICATE },
		{ "{\"window\": \"soon\"}", -1, "window", VG_DIAG_INVALID },
		{ "{\"windows\": 1}", -1, "windows", VG_DIAG_UNKNOWN_KEY },
		{ "{\"channels\": [{\"type\": \"pager\"}]}", 0, "type", VG_DIAG_INVALID },
		{ "{\"channels\": [{\"type\": \"syslog\", \"facility\": \"local9\"}]}", 0,
		  "facility", VG_DIAG_INVALID },
	};
	struct vg_diag d;

	for (size_t i = 0; i < VG_ARRAY_LEN(bad); i++) {
		json_t *cfg = parse(bad[i].cfg);
		int rc = notify_check_config(cfg, &d);

		TAP_OK(rc == -EINVAL && d.index == bad[i].index && strcmp(d.key, bad[i].key) == 0 &&
			       d.code == bad[i].code && strcmp(d.section, "alerts") == 0,
		       "diag %zu: index %ld, key %s, code %d (got %ld, %s, %d)", i, bad[i].index,
		       bad[i].key, (int)bad[i].code, d.index, d.key, (int)d.code);
		json_decref(cfg);
	}
	{
		json_t *ch = parse("{\"type\": \"email\", \"url\": \"smtp://m\", \"from\": \"v@h\"}");

		TAP_OK(notify_check_channel(ch, 7, &d) == -EINVAL && d.index == 7 &&
			       strcmp(d.key, "to") == 0 && d.code == VG_DIAG_REQUIRED &&
			       strncmp(d.msg, "alerts.channels[7] (email): to: required", 40) == 0,
		       "one channel checked alone is reported at the index given (%s)", d.msg);
		json_decref(ch);
	}
}

static void test_config_secrets_not_in_errors(void)
{
	json_t *cfg = parse("{\"channels\": [{\"type\": \"webhook\", \"url\": "
			    "\"gopher://hooks.example/services/SECRET-PATH?token=SECRET\"}]}");
	struct vg_diag d;

	TAP_OK(notify_check_config(cfg, &d) == -EINVAL && !strstr(d.msg, "SECRET"),
	       "an invalid url is reported without its value (%s)", d.msg);
	json_decref(cfg);
}

static struct nf_msg *sample(enum nf_msg_kind kind, const char *title);

static void test_config_defaults(void)
{
	struct nf_config cfg;
	struct vg_diag d;
	char line[2400];
	json_t *j;
	int rc;

	rc = nf_config_parse(NULL, "/state", &cfg, &d);
	TAP_OK(rc == 0 && cfg.nchans == 3, "no configuration: three default channels");
	if (rc == 0 && cfg.nchans == 3) {
		TAP_OK(cfg.chans[0].type == nf_chan_type_find("log") && cfg.chans[0].min_sev == NF_SEV_LOW,
		       "default log channel takes low and above");
		TAP_OK(cfg.chans[1].type == nf_chan_type_find("file") &&
			       cfg.chans[1].min_sev == NF_SEV_INFO &&
			       strcmp(cfg.chans[1].target, "/state/alerts.jsonl") == 0,
		       "default file channel writes STATE/alerts.jsonl, every severity");
		TAP_OK(cfg.chans[2].type == &nf_ch_session && cfg.chans[2].min_sev == NF_SEV_HIGH,
		       "default session channel takes high and above");
		TAP_EQ_U64(cfg.window_ms, 300000, "default window is 5 minutes");
		nf_config_release(&cfg);
	}

	j = parse("{\"window\": \"90s\", \"channels\": [{\"type\": \"webhook\", \"url\": "
		  "\"https://user:pw@hooks.example:8443/a/b?token=x\"}, {\"type\": \"webhook\", "
		  "\"url\": \"http://h/\", \"timeout\": \"1500ms\", \"backoff\": 0.25}, "
		  "{\"type\": \"email\", \"url\": \"smtp://mail\", \"from\": \"v@h\", \"to\": "
		  "\"a@b\"}, {\"type\": \"syslog\", \"facility\": \"auth\"}, {\"type\": \"log\", "
		  "\"enabled\": false}]}");
	rc = nf_config_parse(j, "/state", &cfg, &d);
	TAP_OK(rc == 0 && cfg.nchans == 4, "a disabled channel is validated and left out");
	if (rc == 0 && cfg.nchans == 4) {
		TAP_EQ_U64(cfg.window_ms, 90000, "window 90s");
		TAP_OK(strcmp(cfg.chans[0].target, "https://hooks.example:8443") == 0,
		       "target keeps scheme, host and port only (%s)", cfg.chans[0].target);
		TAP_OK(strcmp(cfg.chans[0].name, "webhook") == 0 &&
			       strcmp(cfg.chans[1].name, "webhook-1") == 0,
		       "unnamed channels of one type get distinct names");
		TAP_OK(cfg.chans[0].min_sev == NF_SEV_MEDIUM && cfg.chans[0].rate_limit == 60 &&
			       cfg.chans[0].max_attempts == 5 && cfg.chans[0].timeout_ms == 10000 &&
			       cfg.chans[0].connect_timeout_ms == 5000 && !cfg.chans[0].lifecycle,
		       "webhook defaults: medium, 60/min, 5 attempts, 10 s / 5 s");
		TAP_OK(cfg.chans[1].timeout_ms == 1500 && cfg.chans[1].backoff_ms == 250,
		       "durations as '1500ms' and as a number of seconds");
		TAP_OK(cfg.chans[2].min_sev == NF_SEV_HIGH, "email defaults: high");
		{
			struct nf_msg *m = sample(NF_MSG_ALERT, NULL);
			struct vbuf b;

			vbuf_init(&b, NF_BODY_MAX);
			TAP_OK(m && nf_chan_render(&cfg.chans[2], "h", m, &b) == 0 &&
				       strstr((const char *)b.data, "\r\nTo: <a@b>\r\n") != NULL,
			       "email: one recipient from a string");
			TAP_OK(m && nf_chan_render(&cfg.chans[3], "h", m, &b) == 0 &&
				       snprintf(line, sizeof(line), "%s", (const char *)b.data) > 0 &&
				       strncmp(line, "<35>", 4) == 0 && strstr(line, " vigil[") &&
				       strcmp(cfg.chans[3].target, "/dev/log") == 0,
			       "syslog: facility auth is 4, ident vigil, socket /dev/log (%s)", line);
			vbuf_release(&b);
			nf_msg_unref(m);
		}
		nf_config_release(&cfg);
	}
	json_decref(j);
}

/* ---- records --------------------------------------------------------------------- */

static void test_records(void)
{
	struct nf_msg *m = NULL;
	json_t *r;
	char big[NF_MAX_FIELD * 2];
	size_t len;

	r = parse("{\"event_type\": \"command_execution\"}");
	TAP_OK(nf_msg_from_record(r, "h", 1, &m) == -EINVAL && !m, "a record without alert: -EINVAL");
	json_decref(r);
	r = record("open", "x", "severe", "s", 1);
	TAP_OK(nf_msg_from_record(r, "h", 1, &m) == -EINVAL, "an unknown level: -EINVAL");
	json_decref(r);
	r = record("reopen", "x", "high", "s", 1);
	TAP_OK(nf_msg_from_record(r, "h", 1, &m) == -EINVAL, "an unknown update: -EINVAL");
	json_decref(r);
	r = record("open", "", "high", "s", 1);
	TAP_OK(nf_msg_from_record(r, "h", 1, &m) == -EINVAL, "an empty rule_id: -EINVAL");
	json_decref(r);

	/* A reason longer than the limit, with a 3-byte character across the cut. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	memcpy(big + NF_MAX_FIELD - 1, "\xe2\x82\xac", 3);
	r = record("open", "x", "critical", "s", 1);
	json_object_set_new(json_object_get(r, "alert"), "reason", json_string(big));
	json_object_set_new(r, "project", json_pack("{s:s, s:s}", "root", "/p/root", "name", "p"));
	json_object_del(r, "host");
	TAP_OK(nf_msg_from_record(r, "fallback-host", 7, &m) == 0 && m, "a long record is accepted");
	if (m) {
		len = strlen(m->reason);
		TAP_OK(len == NF_MAX_FIELD - 1, "the reason is cut before the split character "
		       "(%zu bytes)", len);
		TAP_OK(strcmp(m->project, "/p/root") == 0, "project object: its root is used");
		TAP_OK(strcmp(m->host, "fallback-host") == 0, "no host: the notifier's own");
		TAP_OK(m->sev == NF_SEV_CRITICAL && m->count == 1, "severity and count copied");
		nf_msg_unref(m);
	}
	json_decref(r);
}

/* ---- routing, window, caps --------------------------------------------------------- */

static void test_routing(void)
{
	char path[512];
	struct notify *n;
	char *text;

	snprintf(path, sizeof(path), "%s/route/alerts.jsonl", tmpdir);
	{
		char cfg[1024];

		snprintf(cfg, sizeof(cfg),
			 "{\"window\": 0, \"channels\": [{\"type\": \"log\", \"min_severity\": "
			 "\"medium\"}, {\"type\": \"file\", \"path\": \"%s\"}, {\"type\": "
			 "\"session\", \"min_severity\": \"high\"}, {\"type\": \"log\", \"name\": "
			 "\"only-rm\", \"rules\": [\"vigil-rm-*\"], \"min_severity\": \"info\"}, "
			 "{\"type\": \"log\", \"name\": \"only-t1485\", \"rule_tags\": "
			 "[\"attack.t1485\"]}]}", path);
		n = make(cfg);
	}
	TAP_OK(n != NULL, "notifier with log, file, session and filtered channels");
	if (!n)
		return;
	log_count = 0;
	TAP_OK(submit(n, "open", "vigil-rm-root", "low", "s1", 1) == 0, "low alert submitted");
	TAP_OK(submit(n, "open", "vigil-egress", "medium", "s1", 1) == 0, "medium alert submitted");
	TAP_OK(submit(n, "open", "vigil-egress", "high", "s1", 1) == 0, "high alert submitted");
	TAP_OK(submit(n, "open", "vigil-key", "informational", "s2", 1) == 0,
	       "informational alert submitted");
	TAP_OK(notify_flush(n, 10000) == 0, "flushed");
	TAP_EQ_U64(stat_of(n, "log", "sent"), 2, "log (min medium) took medium and high");
	TAP_EQ_U64(stat_of(n, "file", "sent"), 4, "file took all four, informational too");
	TAP_EQ_U64(stat_of(n, "session", "sent"), 0, "session: nothing taken yet");
	TAP_EQ_U64(stat_of(n, "only-rm", "sent"), 1, "rules filter with a prefix: one alert");
	TAP_EQ_U64(stat_of(n, "only-t1485", "sent"), 3, "rule_tags filter (and min medium)");
	text = notify_session_take(n, "s1");
	TAP_OK(text && strstr(text, "[vigil] HIGH: Destructive command (vigil-egress) in session "
			      "s1 on vm [blocked]: rm -rf /") && !strchr(text, '\n'),
	       "session s1 gets the high alert only: %s", text ? text : "(null)");
	vg_free(text);
	TAP_OK(notify_session_take(n, "s1") == NULL, "taking again: nothing");
	TAP_OK(notify_session_take(n, "s2") == NULL, "session s2: informational is not shown");
	TAP_EQ_U64(stat_of(n, "session", "sent"), 1, "session counts what was taken");
	{
		int hits = 0;

		for (int i = 0; i < logs(); i++) {
			if (strstr(log_line(i), "HIGH") && log_line(i)[0] == '0' + VG_LOG_ERR)
				hits++;
			if (strstr(log_line(i), "MEDIUM") && log_line(i)[0] == '0' + VG_LOG_WARN)
				hits += 10;
		}
		TAP_EQ_U64(hits, 22, "high alerts are logged at error level, medium at warning "
			   "(by log and only-t1485)");
	}
	notify_free(n);
}

static void test_window(void)
{
	struct notify *n = make("{\"window\": \"5m\", \"channels\": [{\"type\": \"log\"}, "
				"{\"type\": \"session\", \"min_severity\": \"low\"}]}");
	json_t *st;
	char *text;

	TAP_OK(n != NULL, "notifier with a 5 minute window");
	if (!n)
		return;
	log_count = 0;
	submit(n, "open", "r1", "high", "s1", 1);
	TAP_EQ_U64(logs(), 1, "open: notified at once");
	advance(10);
	submit(n, "match", "r1", "high", "s1", 2);
	advance(10);
	submit(n, "match", "r1", "high", "s1", 4);
	TAP_EQ_U64(logs(), 1, "matches inside the window: held back");
	TAP_EQ_U64(stat_of(n, "log", "suppressed"), 2, "and counted as suppressed");
	submit(n, "open", "r1", "high", "s2", 1);
	TAP_EQ_U64(logs(), 2, "the same rule in another session: its own window");
	notify_tick(n);
	TAP_EQ_U64(logs(), 2, "tick inside the window: nothing");
	advance(300);
	notify_tick(n);
	TAP_EQ_U64(logs(), 3, "window over: one summary");
	TAP_OK(strstr(log_line(2), "[vigil] HIGH: 3 more matches of Destructive command (r1) in "
		       "session s1 since 2026-11-23T17:00:00.000Z") != NULL,
	       "summary counts matches from the alert's count: %s", log_line(2));
	st = notify_stats_json(n);
	TAP_EQ_U64(json_integer_value(json_object_get(st, "summaries")), 1, "stats: 1 summary");
	TAP_EQ_U64(json_integer_value(json_object_get(st, "tracked")), 1,
		   "stats: s1 still tracked (its next window), s2 forgotten");
	json_decref(st);
	advance(30);
	submit(n, "match", "r1", "high", "s1", 5);
	TAP_EQ_U64(logs(), 3, "a match in the window after a summary: held back");
	advance(300);
	notify_tick(n);
	TAP_OK(logs() == 4 && strstr(log_line(3), "1 more match of"), "second summary: %s",
	       log_line(3));
	advance(301);
	notify_tick(n);
	TAP_EQ_U64(logs(), 4, "a window without matches ends silently");
	submit(n, "match", "r1", "high", "s1", 6);
	TAP_OK(logs() == 5 && strstr(log_line(4), "matched again in session s1") &&
		       strstr(log_line(4), "6 matches so far"),
	       "a match after a quiet window is notified at once: %s", log_line(4));
	advance(5);
	submit(n, "match", "r1", "high", "s1", 7);
	submit(n, "acknowledge", "r1", "high", "s1", 7);
	TAP_OK(logs() == 7 && strstr(log_line(5), "1 more match") &&
		       strstr(log_line(6), "acknowledged"),
	       "acknowledge: pending summary first, then the update (log has lifecycle)");
	submit(n, "resolve", "r1", "high", "s1", 7);
	TAP_OK(logs() == 8 && strstr(log_line(7), "resolved"), "resolve is logged");
	submit(n, "open", "r1", "high", "s1", 1);
	TAP_EQ_U64(logs(), 9, "a new alert after resolve notifies at once");
	text = notify_session_take(n, "s1");
	TAP_OK(text && !strstr(text, "acknowledged") && !strstr(text, "resolved"),
	       "the session channel has no lifecycle updates by default");
	TAP_OK(text && strstr(text, "1 more match of"), "but it has the summaries");
	vg_free(text);
	advance(10);
	submit(n, "match", "r1", "high", "s1", 2);
	notify_shutdown(n);
	TAP_OK(logs() == 10 && strstr(log_line(9), "1 more match"),
	       "shutdown summarises what a window held back");
	TAP_EQ_U64(submit(n, "open", "r9", "high", "s9", 1), 0, "submit after shutdown: accepted");
	TAP_EQ_U64(logs(), 10, "and dropped");
	notify_free(n);
}

static void test_rate_cap(void)
{
	struct notify *n = make("{\"channels\": [{\"type\": \"log\", \"rate_limit\": 3}, "
				"{\"type\": \"log\", \"name\": \"uncapped\"}]}");
	char rule[32];

	TAP_OK(n != NULL, "notifier with a capped log channel");
	if (!n)
		return;
	advance(60 - (clock_fn(NULL) / 1000000000ull) % 60); /* the start of a minute */
	for (int i = 0; i < 5; i++) {
		snprintf(rule, sizeof(rule), "cap-%d", i);
		submit(n, "open", rule, "high", "s", 1);
	}
	TAP_EQ_U64(stat_of(n, "log", "sent"), 3, "capped: 3 sent in a minute");
	TAP_EQ_U64(stat_of(n, "log", "suppressed"), 2, "capped: 2 suppressed");
	TAP_EQ_U64(stat_of(n, "uncapped", "sent"), 5, "the cap is per channel");
	advance(60);
	submit(n, "open", "cap-next", "high", "s", 1);
	TAP_EQ_U64(stat_of(n, "log", "sent"), 4, "the next minute sends again");
	notify_free(n);
}

static void test_session_bounds(void)
{
	struct notify *n = make("{\"channels\": [{\"type\": \"session\", \"max_pending\": 2, "
				"\"max_age\": \"1m\"}]}");
	char *text;

	TAP_OK(n != NULL, "notifier with a session channel of 2 messages, 1 minute");
	if (!n)
		return;
	submit(n, "open", "a", "high", "s", 1);
	submit(n, "open", "b", "high", "s", 1);
	submit(n, "open", "c", "critical", "s", 1);
	text = notify_session_take(n, "s");
	TAP_OK(text && !strstr(text, "(a)") && strstr(text, "(b)\n") == NULL &&
		       strstr(text, "(b)") && strstr(text, "(c)") && strchr(text, '\n'),
	       "two newest messages, one per line");
	vg_free(text);
	TAP_EQ_U64(stat_of(n, "session", "dropped"), 1, "the oldest was dropped and counted");
	submit(n, "open", "d", "high", "s", 1);
	advance(61);
	notify_tick(n);
	TAP_OK(notify_session_take(n, "s") == NULL, "messages older than max_age expire");
	TAP_EQ_U64(stat_of(n, "session", "dropped"), 2, "and are counted as dropped");
	submit(n, "open", "e", "high", "", 1);
	TAP_EQ_U64(stat_of(n, "session", "dropped"), 2, "an alert without session is not stored");
	notify_free(n);
}

/* ---- backoff and Retry-After --------------------------------------------------------- */

static void test_backoff(void)
{
	struct nf_chan_cfg c = { .backoff_ms = 1000, .backoff_max_ms = 8000 };
	uint64_t rng = 42, ms;
	bool ok = true;

	for (uint32_t attempt = 1; attempt <= 8; attempt++) {
		uint64_t d = 1000ull << (attempt - 1), v;

		if (d > 8000)
			d = 8000;
		for (int i = 0; i < 200; i++) {
			v = nf_backoff_ms(&c, attempt, &rng);
			if (v < d / 2 || v > d)
				ok = false;
		}
	}
	TAP_OK(ok, "backoff doubles from 1 s, stays in [d/2, d] and is capped at 8 s");
	TAP_OK(nf_parse_retry_after("7", 0, &ms) == 0 && ms == 7000, "Retry-After: 7 -> 7000 ms");
	TAP_OK(nf_parse_retry_after("99999", 0, &ms) == 0 && ms == 600000,
	       "Retry-After is capped at 10 minutes");
	TAP_OK(nf_parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", 1445412470, &ms) == 0 &&
		       ms == 10000,
	       "Retry-After as an HTTP date");
	TAP_OK(nf_parse_retry_after("soon", 0, &ms) == -EINVAL, "Retry-After garbage: -EINVAL");
	TAP_OK(nf_parse_retry_after("5x", 0, &ms) == -EINVAL, "Retry-After '5x': -EINVAL");
}

/* ---- renderings ------------------------------------------------------------------------ */

static struct nf_msg *sample(enum nf_msg_kind kind, const char *title)
{
	json_t *r = record(kind == NF_MSG_UPDATE ? "resolve" : "open", "vigil-destructive-rm",
			   "high", "3f1c", 3);
	struct nf_msg *m = NULL;

	if (title)
		json_object_set_new(json_object_get(r, "alert"), "rule_title", json_string(title));
	json_object_set_new(json_object_get(r, "alert"), "by", json_string("uid 1000"));
	nf_msg_from_record(r, "h", 1795453201123000000ull, &m);
	json_decref(r);
	if (m) {
		m->kind = kind;
		if (kind == NF_MSG_SUMMARY) {
			m->more = 4;
			m->since_ns = 1795453200000000000ull;
		}
		nf_msg_render_text(m);
	}
	return m;
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
	/* "" rather than NULL, so that a missing member fails a check, not the run. */
	return json_string_value(j) ? json_string_value(j) : "";
}

static void test_formats(void)
{
	struct nf_msg *m = sample(NF_MSG_ALERT, "Destructive <command> & more");
	struct nf_msg *s = sample(NF_MSG_SUMMARY, NULL);
	struct nf_msg *u = sample(NF_MSG_UPDATE, NULL);
	char line[2400], ident[64];
	struct vbuf mail;
	json_t *j;
	size_t i;
	const json_t *e;
	int len;

	TAP_OK(m && s && u, "sample notifications");
	if (!m || !s || !u)
		return;
	TAP_OK(strcmp(m->text, "[vigil] HIGH: Destructive <command> & more (vigil-destructive-rm) "
			       "in session 3f1c on vm [blocked]: rm -rf / matched field target "
			       "(contains 'rm -rf /')") == 0,
	       "alert text: %s", m->text);
	TAP_OK(strcmp(s->text, "[vigil] HIGH: 4 more matches of Destructive command "
			       "(vigil-destructive-rm) in session 3f1c since "
			       "2026-11-23T17:00:00.000Z") == 0,
	       "summary text: %s", s->text);
	TAP_OK(strcmp(u->text, "[vigil] alert Destructive command (vigil-destructive-rm) resolved "
			       "by uid 1000 in session 3f1c") == 0,
	       "update text: %s", u->text);

	j = render_json(R_WEBHOOK, s);
	TAP_OK(j && strcmp(jpath_s(j, "notification"), "summary") == 0 &&
		       strcmp(jpath_s(j, "severity"), "high") == 0 &&
		       strcmp(jpath_s(j, "text"), s->text) == 0 &&
		       strcmp(jpath_s(j, "alert.rule_id"), "vigil-destructive-rm") == 0 &&
		       strcmp(jpath_s(j, "alert.event_ids.0"),
			      "01900000-0000-7000-8000-0000000000e1") == 0 &&
		       strcmp(jpath_s(j, "session_id"), "3f1c") == 0 &&
		       strcmp(jpath_s(j, "project"), "/home/dev/app") == 0 &&
		       strcmp(jpath_s(j, "since"), "2026-11-23T17:00:00.000Z") == 0 &&
		       json_integer_value(json_object_get(j, "more")) == 4 &&
		       strcmp(jpath_s(j, "time"), "2026-11-23T17:00:01.123Z") == 0,
	       "webhook: notification, severity, text, alert, context, more, since, time");
	json_decref(j);

	j = render_json(R_SLACK, m);
	TAP_OK(j && strcmp(jpath_s(j, "text"), m->text) == 0 &&
		       strcmp(jpath_s(j, "blocks.0.type"), "header") == 0 &&
		       strcmp(jpath_s(j, "blocks.0.text.type"), "plain_text") == 0 &&
		       strcmp(jpath_s(j, "blocks.0.text.text"),
			      "HIGH: Destructive <command> & more [blocked]") == 0 &&
		       strcmp(jpath_s(j, "blocks.1.text.type"), "mrkdwn") == 0 &&
		       strcmp(jpath_s(j, "blocks.2.fields.0.text"), "*Severity*\nhigh") == 0 &&
		       strcmp(jpath_s(j, "blocks.2.fields.1.text"), "*Rule*\nvigil-destructive-rm") ==
			       0 &&
		       strcmp(jpath_s(j, "blocks.3.type"), "context") == 0,
	       "slack: text, header, section, fields, context");
	TAP_OK(j && json_array_size(json_object_get(json_array_get(json_object_get(j, "blocks"), 2),
						    "fields")) <= 10,
	       "slack: at most 10 fields");
	json_decref(j);
	{
		struct nf_msg *x = sample(NF_MSG_ALERT, NULL);
		json_t *r = json_deep_copy(x->rec);

		nf_msg_unref(x);
		json_object_set_new(json_object_get(r, "alert"), "reason",
				    json_string("a <b> & `c`"));
		json_object_set_new(json_object_get(r, "alert"), "update", json_string("open"));
		json_object_set_new(json_object_get(r, "alert"), "level", json_string("high"));
		nf_msg_from_record(r, "h", 1, &x);
		json_decref(r);
		nf_msg_render_text(x);
		j = render_json(R_SLACK, x);
		TAP_OK(j && strcmp(jpath_s(j, "blocks.1.text.text"), "a &lt;b&gt; &amp; 'c'") == 0,
		       "slack: mrkdwn escapes &, <, > and backticks");
		json_decref(j);
		nf_msg_unref(x);
	}

	j = render_json(R_TEAMS, m);
	TAP_OK(j && strcmp(jpath_s(j, "type"), "message") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.contentType"),
			      "application/vnd.microsoft.card.adaptive") == 0 &&
		       json_is_null(json_object_get(json_array_get(json_object_get(j, "attachments"),
								   0),
						    "contentUrl")) &&
		       strcmp(jpath_s(j, "attachments.0.content.type"), "AdaptiveCard") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.content.version"), "1.4") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.content.$schema"),
			      "http://adaptivecards.io/schemas/adaptive-card.json") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.content.body.0.type"), "TextBlock") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.content.body.0.color"), "Attention") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.content.body.2.type"), "FactSet") == 0 &&
		       strcmp(jpath_s(j, "attachments.0.content.body.2.facts.0.title"), "Severity") ==
			       0,
	       "teams adaptive: message, attachment, AdaptiveCard 1.4, TextBlock, FactSet");
	json_decref(j);
	j = render_json(R_CARD, m);
	TAP_OK(j && strcmp(jpath_s(j, "@type"), "MessageCard") == 0 &&
		       strcmp(jpath_s(j, "@context"), "https://schema.org/extensions") == 0 &&
		       strcmp(jpath_s(j, "themeColor"), "C4314B") == 0 &&
		       strcmp(jpath_s(j, "summary"), m->text) == 0 &&
		       strcmp(jpath_s(j, "sections.0.facts.1.name"), "Rule") == 0 &&
		       strcmp(jpath_s(j, "sections.0.facts.1.value"), "vigil-destructive-rm") == 0,
	       "teams messagecard: @type, @context, themeColor, summary, facts");
	json_decref(j);

	j = render_json(R_GRAFANA, m);
	TAP_OK(j && json_integer_value(json_object_get(j, "time")) == 1795453201123 &&
		       strcmp(jpath_s(j, "text"), m->text) == 0 &&
		       strcmp(jpath_s(j, "dashboardUID"), "dash1") == 0 &&
		       json_integer_value(json_object_get(j, "panelId")) == 7,
	       "grafana: time in ms, text, dashboardUID, panelId");
	TAP_OK(j && json_array_size(json_object_get(j, "tags")) == 4 &&
		       strcmp(jpath_s(j, "tags.0"), "prod") == 0 &&
		       strcmp(jpath_s(j, "tags.1"), "vigil") == 0 &&
		       strcmp(jpath_s(j, "tags.2"), "severity:high") == 0 &&
		       strcmp(jpath_s(j, "tags.3"), "rule:vigil-destructive-rm") == 0,
	       "grafana: configured tags (vigil once), severity and rule tags");
	json_decref(j);

	vbuf_init(&mail, NF_BODY_MAX);
	TAP_OK(render(R_EMAIL, m, "vm.example", &mail) == 0, "email rendered");
	{
		const char *t = (const char *)mail.data;
		bool bare_lf = false;

		for (size_t k = 0; k < mail.len; k++)
			if (t[k] == '\n' && (k == 0 || t[k - 1] != '\r'))
				bare_lf = true;
		TAP_OK(!bare_lf, "email: every line ends with CRLF");
		TAP_OK(strncmp(t, "Date: Mon, 23 Nov 2026 17:00:01 +0000\r\n", 39) == 0,
		       "email: RFC 5322 Date first");
		TAP_OK(strstr(t, "\r\nFrom: vigil <vigil@example.com>\r\n") &&
			       strstr(t, "\r\nTo: <sec@example.com>,\r\n    <ops@example.com>\r\n"),
		       "email: From and a folded To");
		TAP_OK(strstr(t, "\r\nSubject: [vigil] HIGH: Destructive <command> & more "
				 "[blocked]\r\n") != NULL,
		       "email: Subject [vigil] HIGH: <title>");
		TAP_OK(strstr(t, "\r\nMessage-ID: <") && strstr(t, "@vm.example>\r\n"),
		       "email: Message-ID at the host");
		TAP_OK(strstr(t, "\r\nContent-Type: text/plain; charset=utf-8\r\n") &&
			       strstr(t, "\r\nMIME-Version: 1.0\r\n") &&
			       strstr(t, "\r\nAuto-Submitted: auto-generated\r\n"),
		       "email: MIME headers, Auto-Submitted");
		TAP_OK(strstr(t, "\r\n\r\nHIGH: Destructive") && strstr(t, "rm -rf / matched") &&
			       strstr(t, "Acknowledge: vigil alerts ack 01900000-0000-7000-8000-"
					 "00000000000a"),
		       "email: body with the reason and how to acknowledge");
	}
	{
		struct nf_msg *x = sample(NF_MSG_ALERT, "Zugriff auf geheime Schlüssel — überall");
		char longr[3000];

		memset(longr, 'x', sizeof(longr) - 1);
		longr[sizeof(longr) - 1] = '\0';
		TAP_OK(x && render(R_EMAIL, x, "h", &mail) == 0 &&
			       strstr((const char *)mail.data, "Subject: =?UTF-8?B?") != NULL,
		       "email: a non-ASCII subject is an RFC 2047 encoded word");
		nf_msg_unref(x);
		x = sample(NF_MSG_ALERT, NULL);
		json_t *r = json_deep_copy(x->rec);

		nf_msg_unref(x);
		json_object_set_new(json_object_get(r, "alert"), "reason", json_string(longr));
		nf_msg_from_record(r, "h", 1, &x);
		json_decref(r);
		nf_msg_render_text(x);
		{
			bool short_lines = render(R_EMAIL, x, "h", &mail) == 0;
			const char *p = (const char *)mail.data, *nl;

			while (short_lines && (nl = strstr(p, "\r\n"))) {
				if (nl - p > 998)
					short_lines = false;
				p = nl + 2;
			}
			TAP_OK(short_lines, "email: a 3000-byte reason is broken into lines <= 998");
		}
		nf_msg_unref(x);
	}
	vbuf_release(&mail);

	len = render_line(m, line, sizeof(line));
	TAP_OK(len > 0 && strncmp(line, "<35>Nov ", 8) == 0, "syslog: <PRI> is auth.err for high "
	       "(%.12s)", line);
	snprintf(ident, sizeof(ident), " vigil-test[%d]: ", (int)getpid());
	TAP_OK(strstr(line, ident) != NULL, "syslog: ident[pid]: %s", line);
	TAP_OK(strstr(line, "]: vigil alert severity=high "
			    "rule=vigil-destructive-rm title=\"Destructive <command> & more\" "
			    "session=3f1c agent=claude-code host=vm user=dev project=/home/dev/app "
			    "count=3 decision=deny alert_id=01900000-0000-7000-8000-00000000000a "
			    "reason=\"rm -rf / matched field target (contains 'rm -rf /')\"") != NULL,
	       "syslog: key=value fields, quoted where needed: %s", line);
	len = render_line(s, line, sizeof(line));
	TAP_OK(len > 0 && strstr(line, "vigil summary ") && strstr(line, " more=4"),
	       "syslog: a summary says how many more");

	{
		/* Texts cut at their limits must stay valid UTF-8, or jansson
		 * refuses them and the notification could not be rendered. */
		char wide[NF_MAX_FIELD * 2 + 1] = "";
		struct nf_msg *x = sample(NF_MSG_ALERT, NULL);
		json_t *r = json_deep_copy(x->rec), *a = json_object_get(r, "alert");
		bool all = true;

		nf_msg_unref(x);
		for (int off = 0; off < 5 && all; off++) {
			size_t k = 0;

			for (int p = 0; p < off; p++)
				wide[k++] = 'a';
			while (k + 2 < sizeof(wide)) {
				memcpy(wide + k, "\xc3\xa9", 2); /* é */
				k += 2;
			}
			wide[k] = '\0';
			json_object_set_new(a, "reason", json_string(wide));
			json_object_set_new(a, "rule_title", json_string(wide));
			json_object_set_new(r, "project", json_string(wide));
			x = NULL;
			if (nf_msg_from_record(r, "h", 1, &x) < 0 || !x) {
				all = false;
				break;
			}
			for (enum nf_msg_kind k2 = NF_MSG_ALERT; k2 <= NF_MSG_UPDATE && all; k2++) {
				json_t *w, *sl, *tm, *mc, *g, *t;

				x->kind = k2;
				nf_msg_render_text(x);
				t = json_string(x->text);
				if (!t)
					all = false;
				json_decref(t);
				w = render_json(R_WEBHOOK, x);
				sl = render_json(R_SLACK, x);
				tm = render_json(R_TEAMS, x);
				mc = render_json(R_CARD, x);
				g = render_json(R_GRAFANA, x);
				if (!w || !sl || !tm || !mc || !g)
					all = false;
				json_decref(w);
				json_decref(sl);
				json_decref(tm);
				json_decref(mc);
				json_decref(g);
			}
			nf_msg_unref(x);
		}
		json_decref(r);
		TAP_OK(all, "two-byte characters across every cut: every rendering still works");
	}

	/* Every JSON rendering must survive a round trip (valid UTF-8, no NULs). */
	json_array_foreach(json_object_get(json_object_get(m->rec, "alert"), "tags"), i, e)
		TAP_OK(json_is_string(e), "tag %zu copied as a string", i);

	nf_msg_unref(m);
	nf_msg_unref(s);
	nf_msg_unref(u);
}

/* ---- the file channel -------------------------------------------------------------------- */

static void test_file_channel(void)
{
	char path[512], cfg[1024], *text = NULL, *line, *save = NULL;
	struct notify *n;
	struct stat st;
	size_t len;
	int lines = 0, good = 0;

	snprintf(path, sizeof(path), "%s/deep/er/alerts.jsonl", tmpdir);
	snprintf(cfg, sizeof(cfg), "{\"channels\": [{\"type\": \"file\", \"path\": \"%s\"}]}",
		 path);
	n = make(cfg);
	TAP_OK(n != NULL, "notifier with a file channel in a missing directory");
	if (!n)
		return;
	submit(n, "open", "f1", "high", "s", 1);
	submit(n, "open", "f2", "informational", "s", 1);
	submit(n, "resolve", "f1", "high", "s", 1);
	TAP_OK(notify_flush(n, 10000) == 0, "flushed");
	TAP_OK(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600, "file created with mode 0600");
	TAP_OK(vg_read_file(path, 1 << 20, &text, &len) == 0, "file read");
	TAP_OK(text && strstr(text, "\"notification\":\"update\"") != NULL,
	       "the resolve update is in the file (lifecycle)");
	for (line = text ? strtok_r(text, "\n", &save) : NULL; line;
	     line = strtok_r(NULL, "\n", &save)) {
		json_t *j = json_loads(line, 0, NULL);

		lines++;
		if (j && json_is_object(json_object_get(j, "alert")) &&
		    json_is_string(json_object_get(j, "notification")) &&
		    json_is_string(json_object_get(j, "text")))
			good++;
		json_decref(j);
	}
	TAP_OK(lines == 3 && good == 3, "three JSON lines (alert, informational alert, resolve)");
	vg_free(text);
	TAP_EQ_U64(stat_of(n, "file", "sent"), 3, "stats: 3 sent");
	notify_free(n);

	snprintf(cfg, sizeof(cfg), "{\"channels\": [{\"type\": \"file\", \"path\": \"%s\", "
		 "\"max_attempts\": 2, \"backoff\": \"10ms\"}]}", tmpdir);
	n = make(cfg);
	TAP_OK(n != NULL, "a file channel whose path is a directory");
	if (n) {
		json_t *c;

		submit(n, "open", "f3", "high", "s", 1);
		notify_flush(n, 10000);
		c = chan_stats(n, "file");
		TAP_OK(c && json_integer_value(json_object_get(c, "failed")) == 1 &&
			       json_integer_value(json_object_get(c, "retried")) == 0 &&
			       strstr(jpath_s(c, "last_error"), "Is a directory"),
		       "EISDIR fails at once, not retried, with the reason in last_error");
		json_decref(c);
		notify_free(n);
	}
}

static void test_stats_shape(void)
{
	struct notify *n = make("{\"channels\": [{\"type\": \"webhook\", \"url\": "
				"\"https://hooks.example/services/T000/B000/SECRET?token=SECRET\", "
				"\"headers\": {\"X-Token\": \"SECRET\"}}, {\"type\": \"grafana\", "
				"\"url\": \"http://g\", \"token\": \"SECRET\"}]}");
	json_t *s;
	char *dump;

	TAP_OK(n != NULL, "notifier with secret-bearing channels");
	if (!n)
		return;
	s = notify_stats_json(n);
	dump = s ? json_dumps(s, JSON_COMPACT) : NULL;
	TAP_OK(dump && !strstr(dump, "SECRET") && strstr(dump, "\"target\":\"https://hooks.example\""),
	       "stats show scheme and host, never a secret");
	TAP_OK(s && json_object_get(json_array_get(json_object_get(s, "channels"), 0), "last_ok") &&
		       json_is_null(json_object_get(json_array_get(json_object_get(s, "channels"), 0),
						    "last_ok")),
	       "stats: last_ok null before any delivery");
	free(dump);
	json_decref(s);
	notify_free(n);
}

/* ---- rules by name ---------------------------------------------------------------------- */

#define NAMED_ID "6b7b2a0e-5f0c-4f57-9a39-2f1d0c3b8e11"

/* A record of a rule with a UUID id and a name, as the daemon writes it. */
static json_t *named_record(const char *session)
{
	json_t *r = record("open", NAMED_ID, "high", session, 2);

	json_object_set_new(json_object_get(r, "alert"), "rule_name",
			    json_string("vigil-exfil-sequence"));
	json_object_set_new(json_object_get(r, "alert"), "rule_title",
			    json_string("Secret read then sent out"));
	return r;
}

static void test_rule_names(void)
{
	json_t *r = named_record("3f1c"), *j;
	char line[2400];
	struct nf_msg *m = NULL;
	struct notify *n;
	struct vbuf mail;
	char *text;

	TAP_OK(nf_msg_from_record(r, "h", 1795453201123000000ull, &m) == 0 && m,
	       "names: a record with rule_name");
	json_decref(r);
	if (!m)
		return;
	nf_msg_render_text(m);
	TAP_OK(strcmp(m->text, "[vigil] HIGH: Secret read then sent out (vigil-exfil-sequence) in "
			       "session 3f1c on vm [blocked]: rm -rf / matched field target "
			       "(contains 'rm -rf /')") == 0,
	       "names: the text names the rule by its name: %s", m->text);
	j = render_json(R_WEBHOOK, m);
	TAP_OK(j && strcmp(jpath_s(j, "alert.rule_name"), "vigil-exfil-sequence") == 0 &&
		       strcmp(jpath_s(j, "alert.rule_id"), NAMED_ID) == 0 &&
		       strcmp(jpath_s(j, "text"), m->text) == 0,
	       "names: webhook carries rule_name and rule_id, text by name");
	json_decref(j);
	j = render_json(R_SLACK, m);
	TAP_OK(j && strcmp(jpath_s(j, "blocks.2.fields.1.text"), "*Rule*\nvigil-exfil-sequence") ==
			    0,
	       "names: slack's Rule field is the name");
	json_decref(j);
	j = render_json(R_CARD, m);
	TAP_OK(j && strcmp(jpath_s(j, "sections.0.facts.1.value"), "vigil-exfil-sequence") == 0 &&
		       strcmp(jpath_s(j, "summary"), m->text) == 0,
	       "names: teams' Rule fact is the name");
	json_decref(j);
	j = render_json(R_TEAMS, m);
	TAP_OK(j && strcmp(jpath_s(j, "attachments.0.content.body.2.facts.1.value"),
			   "vigil-exfil-sequence") == 0,
	       "names: the adaptive card's Rule fact is the name");
	json_decref(j);
	j = render_json(R_GRAFANA_PLAIN, m);
	TAP_OK(j && strcmp(jpath_s(j, "tags.2"), "rule:vigil-exfil-sequence") == 0 &&
		       strcmp(jpath_s(j, "text"), m->text) == 0,
	       "names: grafana's rule tag and text use the name");
	json_decref(j);
	vbuf_init(&mail, NF_BODY_MAX);
	TAP_OK(render(R_EMAIL, m, "vm", &mail) == 0 &&
		       strstr((const char *)mail.data,
			      "\r\nRule       vigil-exfil-sequence\r\n") != NULL &&
		       strstr((const char *)mail.data, "\r\nRule ID    " NAMED_ID "\r\n") != NULL,
	       "names: the email body gives the rule's name, then its id");
	vbuf_release(&mail);
	TAP_OK(render_line(m, line, sizeof(line)) > 0 &&
		       strstr(line, " rule=vigil-exfil-sequence rule_id=" NAMED_ID " ") != NULL,
	       "names: syslog has rule=<name> and rule_id=<id>: %s", line);
	nf_msg_unref(m);

	/* The session message and a channel's rules filter, by name. */
	n = make("{\"window\": 0, \"channels\": [{\"type\": \"session\"}, {\"type\": \"log\","
		 " \"name\": \"by-name\", \"rules\": [\"vigil-exfil-*\"]}, {\"type\": \"log\","
		 " \"name\": \"by-id\", \"rules\": [\"" NAMED_ID "\"]}, {\"type\": \"log\","
		 " \"name\": \"other\", \"rules\": [\"vigil-rm-*\"]}]}");
	TAP_OK(n != NULL, "names: notifier with a session channel and rules filters");
	if (!n)
		return;
	r = named_record("s9");
	TAP_OK(notify_submit(n, r) == 0, "names: named alert submitted");
	json_decref(r);
	TAP_OK(notify_flush(n, 10000) == 0, "names: flushed");
	text = notify_session_take(n, "s9");
	TAP_OK(text && strstr(text, "(vigil-exfil-sequence) in session s9") &&
		       !strstr(text, NAMED_ID),
	       "names: the session's systemMessage names the rule: %s", text ? text : "(null)");
	vg_free(text);
	TAP_EQ_U64(stat_of(n, "by-name", "sent"), 1, "names: a rules filter matches the name");
	TAP_EQ_U64(stat_of(n, "by-id", "sent"), 1, "names: and still the id");
	TAP_EQ_U64(stat_of(n, "other", "sent"), 0, "names: another name does not match");
	notify_free(n);
}

int main(void)
{
	const char *base = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";

	snprintf(tmpdir, sizeof(tmpdir), "%s/vigil-notify-XXXXXX", base);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 1;
	}
	render_setup();
	test_config_errors();
	test_config_diag();
	test_config_secrets_not_in_errors();
	test_config_defaults();
	test_records();
	test_routing();
	test_window();
	test_rate_cap();
	test_session_bounds();
	test_backoff();
	test_formats();
	test_rule_names();
	test_file_channel();
	test_stats_shape();
	render_teardown();
	{
		char cmd[300];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			TAP_DIAG("could not remove %s", tmpdir);
	}
	return tap_done();
}
