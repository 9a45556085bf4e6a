/*
 * notify_int.h - the notifier's internals, shared by its files and its unit
 * tests: parsed channel configuration (config.c), notifications and their
 * renderings (format.c), routing, deduplication and the session store
 * (notify.c), and the delivery threads and transports (deliver.c).
 */
#ifndef VIGIL_NOTIFY_INT_H
#define VIGIL_NOTIFY_INT_H

#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>

#include "notify.h"

/* ---- limits on configuration and input ------------------------------------ */

#define NF_MAX_CHANNELS 32
#define NF_MAX_LIST 64	       /* entries in rules, rule_tags, tags, to */
#define NF_MAX_HEADERS 32
#define NF_MAX_STR 1024	       /* most configuration strings */
#define NF_MAX_URL 4096
#define NF_MAX_HEADER 8192     /* one "Name: value" header line */
#define NF_MAX_FIELD 4096      /* a string copied from an alert (reason, note) */
#define NF_MAX_ID 256	       /* ids, names, levels copied from an alert */
#define NF_MAX_EVENT_IDS 50    /* event ids kept from an alert */
#define NF_MAX_DEDUP 4096      /* (rule, session) pairs tracked at once */
#define NF_MAX_SESSIONS 1024   /* sessions with pending `session` messages */
#define NF_TEXT_MAX 1024       /* the one-line text of a notification */
#define NF_BODY_MAX (256 * 1024) /* a rendered payload or mail */

/*
 * jansson's iteration macros take a non-const json_t * although they only
 * read; this says so once instead of casting (which -Wcast-qual rejects).
 */
static inline json_t *nf_json_ro(const json_t *j)
{
	union {
		const json_t *c;
		json_t *m;
	} u = { .c = j };

	return u.m;
}

/* ---- severities and channel types ------------------------------------------ */

enum nf_sev { NF_SEV_INFO = 0, NF_SEV_LOW, NF_SEV_MEDIUM, NF_SEV_HIGH, NF_SEV_CRITICAL };

/* "informational" (or "info"), "low", ... to enum nf_sev; -1 when unknown. */
int nf_sev_parse(const char *s);
const char *nf_sev_name(int sev);  /* "informational", "low", ... */
const char *nf_sev_upper(int sev); /* "INFO", "LOW", ... */

enum nf_chan_kind {
	NF_CH_LOG = 0, NF_CH_FILE, NF_CH_WEBHOOK, NF_CH_SLACK, NF_CH_TEAMS, NF_CH_EMAIL, NF_CH_SYSLOG,
	NF_CH_GRAFANA, NF_CH_SESSION, NF_CH__COUNT
};

const char *nf_type_name(enum nf_chan_kind t);

/* ---- parsed configuration (config.c) ---------------------------------------- */

struct nf_strv {
	char **v;
	size_t n;
};

void nf_strv_release(struct nf_strv *sv);

enum { NF_TEAMS_ADAPTIVE = 0, NF_TEAMS_MESSAGECARD = 1 };
enum { NF_METHOD_POST = 0, NF_METHOD_PUT = 1 };

/* One channel, validated and with its defaults applied. */
struct nf_chan_cfg {
	enum nf_chan_kind type;
	char name[64];
	int min_sev;
	bool enabled;
	bool lifecycle;		/* also acknowledge/resolve updates */
	uint32_t rate_limit;	/* notifications per minute; 0: no cap */
	uint32_t queue;		/* queue capacity */
	uint32_t max_attempts;
	uint32_t backoff_ms, backoff_max_ms;
	uint32_t timeout_ms, connect_timeout_ms;
	struct nf_strv rules;	/* rule ids or names (or "prefix*") it takes; empty: all */
	struct nf_strv rule_tags; /* rule tags this channel takes; empty: all */

	char *url;		/* secret: webhook, slack, teams, email, grafana */
	char target[300];	/* what logs and stats may show: scheme://host:port or a path */
	char *path;		/* file */
	int method;		/* webhook: NF_METHOD_POST or NF_METHOD_PUT */
	struct nf_strv headers;	/* secret: webhook, "Name: value" */
	char *token;		/* secret: grafana */
	struct nf_strv tags;	/* grafana annotation tags */
	char *dashboard_uid;	/* grafana */
	uint32_t panel_id;	/* grafana; 0: none */
	int teams_format;
	char *from;		/* email */
	struct nf_strv to;	/* email */
	char *username, *password; /* email; password is secret */
	int starttls;		/* email: 1 require, 0 never, -1 when offered */
	char *ident;		/* syslog */
	int facility;		/* syslog: the facility code (1 user, 4 auth, 16 local0 ...) */
	char *socket;		/* syslog: the local socket; default /dev/log */
	uint32_t max_pending;	/* session: messages kept per session */
	uint32_t max_age_ms;	/* session: how long a message waits */
};

struct nf_config {
	uint64_t window_ms;
	struct nf_chan_cfg *chans;
	size_t nchans;
};

/*
 * Parses and validates an `alerts` object (NULL: the defaults) into cfg.
 * state_dir resolves the default file path (NULL: vg_state_dir(NULL)).
 * -EINVAL with a message naming the channel and key.
 */
int nf_config_parse(const json_t *alerts, const char *state_dir, struct nf_config *cfg,
		    char *err, size_t errlen);
void nf_config_release(struct nf_config *cfg);

/* ---- notifications (format.c) --------------------------------------------- */

enum nf_msg_kind {
	NF_MSG_ALERT = 0, /* the first notification of an alert (update "open") */
	NF_MSG_REPEAT,	/* a match after its window ended with nothing pending */
	NF_MSG_SUMMARY,	/* N more matches were suppressed inside a window */
	NF_MSG_UPDATE,	/* acknowledge / resolve */
};

const char *nf_kind_name(enum nf_msg_kind k);

/*
 * One notification, shared read-only by every channel that takes it
 * (reference counted).  rec is the notifier's own bounded copy of the alert
 * record; the string pointers point into it ("" when absent).
 */
struct nf_msg {
	int refs;
	enum nf_msg_kind kind;
	int sev;
	uint64_t time_ns;  /* when the notification was made */
	uint64_t more;	   /* SUMMARY: matches suppressed */
	uint64_t since_ns; /* SUMMARY: the previous notification's time */
	json_t *rec;	   /* {"alert": {...}, "host", "user", "session_id", "agent", "project"} */
	const char *alert_id, *update, *state, *rule_id, *title, *level, *action, *decision,
		*session_id, *agent, *project, *host, *user, *reason, *by, *note, *first_seen,
		*last_seen;
	const char *rule_name; /* "" when the rule has none */
	const char *rule;      /* what the texts call the rule: rule_name, else rule_id */
	uint64_t count;
	char text[NF_TEXT_MAX];
};

/*
 * Builds a notification from a submitted record (copied within the limits
 * above).  kind/more/since are set by the caller, who then calls
 * nf_msg_render_text().  host_default names the host when the record has none.
 * -EINVAL when record is not an alert record.
 */
int nf_msg_from_record(const json_t *record, const char *host_default, uint64_t now_ns,
		     struct nf_msg **out);
struct nf_msg *nf_msg_ref(struct nf_msg *m);
void nf_msg_unref(struct nf_msg *m);
/* A new notification of another kind sharing m's record. */
struct nf_msg *nf_msg_derive(struct nf_msg *m, enum nf_msg_kind kind, uint64_t now_ns);
/* Fills m->text, the one-line text every channel uses. */
void nf_msg_render_text(struct nf_msg *m);

/* Renderings; each returns a new JSON object or NULL on allocation failure. */
json_t *nf_fmt_webhook(const struct nf_msg *m);
json_t *nf_fmt_slack(const struct nf_msg *m);
json_t *nf_fmt_teams(const struct nf_msg *m, int format);
json_t *nf_fmt_grafana(const struct nf_msg *m, const struct nf_chan_cfg *c);
/* An RFC 5322 message with CRLF line endings into out (reset first). */
int nf_fmt_email(const struct nf_msg *m, const struct nf_chan_cfg *c, const char *hostname,
	       struct vbuf *out);
/* An RFC 3164 datagram "<PRI>Mmm dd hh:mm:ss ident[pid]: ..." into buf. */
int nf_fmt_syslog(const struct nf_msg *m, const struct nf_chan_cfg *c, pid_t pid, char *buf,
		size_t cap);
/* Copies s into buf as one line: controls become spaces, cut at a UTF-8 boundary. */
void nf_oneline(char *buf, size_t cap, const char *s);
/* Drops an incomplete UTF-8 sequence at the end of s (left by a byte-wise cut). */
void nf_utf8_fix_tail(char *s);

/* ---- channels and the notifier (notify.c, deliver.c) ---------------------- */

enum nf_res { NF_RES_OK = 0, NF_RES_RETRY, NF_RES_FAIL };

struct nf_chan;
struct nf_chan_ops {
	/*
	 * Delivers one notification.  NF_RES_RETRY for a transient failure (with
	 * *retry_after_ms set when the peer said when), NF_RES_FAIL for a
	 * permanent one; err gets a reason without secrets.
	 */
	enum nf_res (*send)(struct nf_chan *c, const struct nf_msg *m, uint64_t *retry_after_ms,
			  char *err, size_t errlen);
	/* Releases what send() kept open (a socket) when the worker ends; may be NULL. */
	void (*close)(struct nf_chan *c);
};

struct nf_sess_msg {
	struct nf_sess_msg *next;
	uint64_t time_ns;
	char text[]; /* sized to the text */
};

struct nf_sess {
	struct nf_sess *next;
	char id[NF_MAX_ID + 1];
	struct nf_sess_msg *head, *tail;
	uint32_t count;
};

struct nf_chan {
	struct notify *n;
	struct nf_chan_cfg cfg;
	const struct nf_chan_ops *ops;
	pthread_t thread;
	bool started;
	bool inited;

	/* lock guards the queue, the stop flag and the counters. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nf_msg **q;
	size_t qhead, qlen;
	bool busy;
	bool stopping;
	uint64_t deadline_mono; /* when stopping: when to give up */
	uint64_t sent, failed, retried, dropped, suppressed;
	char last_error[256];
	uint64_t last_error_ns, last_ok_ns;

	/* Guarded by the notifier's lock: the rate cap's current minute. */
	uint64_t rate_minute;
	uint32_t rate_count;
	/* session channel only, guarded by the notifier's lock. */
	struct nf_sess *sessions;
	uint32_t nsessions;

	/* The worker thread's own. */
	void *curl_multi;
	int sock;
	bool sock_stream;
	uint64_t rng;
};

struct nf_dedup {
	struct nf_dedup *next;
	char *key; /* rule_id "\x1f" session_id */
	uint64_t window_start_ns;
	uint64_t notified_count; /* the alert's count when last notified */
	uint64_t pending;	 /* updates suppressed since */
	struct nf_msg *latest;	 /* the latest suppressed update */
};

struct notify {
	pthread_mutex_t lock; /* dedup table, rate caps, session store */
	struct nf_config cfg;
	struct nf_chan *chans;
	size_t nchans;
	struct nf_dedup **dedup;
	size_t dedup_buckets, dedup_count;
	uint64_t dedup_suppressed, summaries;

	char hostname[256];
	void (*log_fn)(void *arg, enum vg_log_level level, const char *msg);
	void *log_arg;
	uint64_t (*now_fn)(void *arg);
	void *clock_arg;
	uint32_t flush_timeout_ms;
	bool curl_inited;

	pthread_t timer;
	bool timer_started;
	pthread_mutex_t timer_lock;
	pthread_cond_t timer_cond;
	bool stopping;
	bool shut;
};

uint64_t nf_now(struct notify *n);
void nf_log(struct notify *n, enum vg_log_level level, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* deliver.c: the life of one channel.  init (cfg is shallow-copied; the
 * notifier owns its memory), start (a thread for queued types), push from
 * any thread, stop (finish the queue by deadline_mono, then abort), join,
 * release. */
bool nf_type_queued(enum nf_chan_kind t);
int nf_chan_init(struct nf_chan *c, struct notify *n, const struct nf_chan_cfg *cfg);
int nf_chan_start(struct nf_chan *c);
/* Queues m on c (taking a reference); counts a drop when the queue is full. */
void nf_chan_push(struct nf_chan *c, struct nf_msg *m);
/* Waits until c's queue is empty and nothing is in flight; -ETIMEDOUT. */
int nf_chan_wait_idle(struct nf_chan *c, uint64_t deadline_mono);
void nf_chan_stop(struct nf_chan *c, uint64_t deadline_mono);
void nf_chan_join(struct nf_chan *c);
void nf_chan_release(struct nf_chan *c);
/* Exponential backoff with jitter for attempt (1-based), in ms. */
uint64_t nf_backoff_ms(const struct nf_chan_cfg *cfg, uint32_t attempt, uint64_t *rng);
/* Parses a Retry-After value (seconds or an HTTP date) into ms; -EINVAL. */
int nf_parse_retry_after(const char *v, uint64_t now_s, uint64_t *ms);

#endif /* VIGIL_NOTIFY_INT_H */
