/*
 * notify.h - alert notifications: routes vigil's alert records to the
 * channels configured in the `alerts` section of vigil.yaml (the daemon log,
 * a JSON-lines file, generic webhooks, Slack, Teams, email over SMTP, syslog,
 * Grafana annotations and the agent session itself), with deduplication,
 * rate limits and retries.  docs/alerts.md is the user's reference.
 *
 * Model: the daemon creates one struct notify from the configuration and
 * hands it every alert record with notify_submit().  Submission decides
 * synchronously what to send where (severity routing, the per-(rule,
 * session) window, per-channel caps), copies what it needs and queues it;
 * it never waits for a network or a disk.  Each delivering channel has its
 * own thread and bounded queue, so a slow or dead channel never delays
 * another; a full queue drops and counts.  Deliveries are retried with
 * exponential backoff and jitter on transport errors, 5xx and 429.
 *
 * Threads: every function here may be called from any thread, except that
 * notify_free() must not race with other calls on the same notifier.
 *
 * Secrets: channel URLs, tokens, passwords and headers are never logged nor
 * reported by notify_stats_json(); logs name a URL by scheme and host only.
 *
 * Errors: functions return 0 on success or a negative errno; those taking
 * (char *err, size_t errlen) also write a one-line reason there.
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include "common.h"

struct notify;

struct notify_opts {
	/*
	 * The state directory: the default `file` channel writes
	 * STATE/alerts.jsonl.  NULL: base_state_dir(NULL).
	 */
	const char *state_dir;
	/* The host name used in messages when a record has none.  NULL: gethostname(). */
	const char *hostname;
	/*
	 * Where the `log` channel and the notifier's own diagnostics go.  NULL:
	 * vg_log().  Called from several threads; msg is one line.
	 */
	void (*log)(void *arg, enum vg_log_level level, const char *msg);
	void *log_arg;
	/*
	 * Wall clock in ns since the Unix epoch, for windows, rate caps and
	 * message times (tests pass a fake clock).  NULL: vg_now_ns().  Retry
	 * delays and shutdown deadlines always use the real monotonic clock.
	 */
	uint64_t (*now_ns)(void *arg);
	void *clock_arg;
	/* How long notify_free() lets queued deliveries finish.  0: 2000 ms. */
	uint32_t flush_timeout_ms;
};

/**
 * Validates an `alerts` configuration object without starting anything.
 * alerts_cfg may be NULL (the defaults).  On -EINVAL d (when not NULL) says
 * what is wrong as data: index is the channel's position in `channels`
 * (-1 for the section's own keys), key the key, code what kind of problem
 * (VG_DIAG_UNKNOWN_KEY: key itself is wrong, not its value), and msg the
 * line for people, e.g. "alerts.channels[2] (webhook): url: required".
 * -ENOMEM with code VG_DIAG_NOMEM.
 */
int notify_check_config(const json_t *alerts_cfg, struct vg_diag *d);

/**
 * Validates one channel object alone as if it stood at position index of
 * `channels` (so that every bad channel can be reported, not only the
 * first).  Checks across channels (unique names, one session channel) are
 * notify_check_config()'s.  Errors as notify_check_config().
 */
int notify_check_channel(const json_t *chan, size_t index, struct vg_diag *d);

/**
 * Creates a notifier from the `alerts` configuration object (or NULL for
 * the defaults: a `log` channel, a `file` channel and a `session` channel)
 * and starts its threads.  alerts_cfg is only read during the call; opts is
 * copied (its strings too) and may be NULL.  *out must be released with
 * notify_free().  -EINVAL for a bad configuration (err says why).
 */
int notify_new(const json_t *alerts_cfg, const struct notify_opts *opts, struct notify **out,
	       char *err, size_t errlen);

/**
 * Hands the notifier one alert record: an object with an `alert` member (the
 * alert as docs/alerts.md describes it) and optional context members `host`,
 * `user`, `session_id`, `agent`, `project`.  The record is only read during
 * the call.  Returns at once: 0 when the record was accepted (whether it was
 * sent anywhere, deduplicated, capped or dropped because a queue was full:
 * notify_stats_json() counts those), -EINVAL for a record that is not an
 * alert, -ENOMEM.
 */
int notify_submit(struct notify *n, const json_t *record);

/**
 * Returns and forgets the text waiting for the agent session session_id on
 * the `session` channel (one line per notification, newline-separated), as a
 * string the caller frees with vg_free(); NULL when there is none.  The
 * daemon puts it in the session's next hook answer (Claude Code's
 * `systemMessage`).
 */
char *notify_session_take(struct notify *n, const char *session_id);

/**
 * Runs the periodic work now: summaries of windows that ended, pruning of
 * old dedup entries and session messages.  A notifier thread does this every
 * second; tests with a fake clock call it after moving the clock.
 */
void notify_tick(struct notify *n);

/**
 * Waits until every queue is empty and no delivery is in flight, or until
 * timeout_ms passed (-ETIMEDOUT).  For tests and for a caller that wants its
 * notifications out before going on.
 */
int notify_flush(struct notify *n, uint32_t timeout_ms);

/**
 * Delivery counters for `vigil status`, as a new JSON object:
 * {"window_s", "tracked", "channels": [{"name", "type", "target",
 * "min_severity", "queued", "sent", "failed", "retried", "dropped",
 * "suppressed", "last_error", "last_error_time", "last_ok"}]}.  target is a
 * URL's scheme and host, a file path or a socket path, never a secret.
 * NULL on allocation failure.
 */
json_t *notify_stats_json(struct notify *n);

/**
 * Stops the notifier: queued deliveries get until the flush timeout
 * (opts.flush_timeout_ms) to finish, then in-flight transfers are aborted,
 * what is left is counted as dropped and the threads are joined.  Counters
 * stay readable until notify_free().  Calling it twice is harmless;
 * notify_submit() after it drops.
 */
void notify_shutdown(struct notify *n);

/** notify_shutdown() and release.  NULL is fine. */
void notify_free(struct notify *n);

#endif /* VIGIL_NOTIFY_H */
