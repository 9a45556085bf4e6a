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

enum nsev { NSEV_INFO = 0, NSEV_LOW, NSEV_MEDIUM, NSEV_HIGH, NSEV_CRITICAL };

/* "informational" (or "info"), "low", ... to enum nsev; -1 when unknown. */
int nf_sev_parse(const char *s);
const char *nf_sev_name(int sev);  /* "informational", "low", ... */
const char *nf_sev_upper(int sev); /* "INFO", "LOW", ... */

enum nchan_type {
	NCH_LOG = 0, NCH_FILE, NCH_WEBHOOK, NCH_SLACK, NCH_TEAMS, NCH_EMAIL, NCH_SYSLOG,
	NCH_GRAFANA, NCH_SESSION, NCH__COUNT
};

const char *nf_type_name(enum nchan_type t);

/* ---- parsed configuration (config.c) ---------------------------------------- */

struct nstrv {
	char **v;
	size_t n;
};

void nstrv_release(struct nstrv *sv);

enum { NF_TEAMS_ADAPTIVE = 0, NF_TEAMS_MESSAGECARD = 1 };
enum { NF_METHOD_POST = 0, NF_METHOD_PUT = 1 };

/* One channel, validated and with its defaults applied. */
struct nchan_cfg {
	enum nchan_type type;
	char name[64];
	int min_sev;
	bool enabled;
	bool lifecycle;		/* also acknowledge/resolve updates */
	uint32_t rate_limit;	/* notifications per minute; 0: no cap */
	uint32_t queue;		/* queue capacity */
	uint32_t max_attempts;
	uint32_t backoff_ms, backoff_max_ms;
	uint32_t timeout_ms, connect_timeout_ms;
	struct nstrv rules;	/* rule ids or names (or "prefix*") it takes; empty: all */
	struct nstrv rule_tags; /* rule tags this channel takes; empty: all */

	char *url;		/* secret: webhook, slack, teams, email, grafana */
	char target[300];	/* what logs and stats may show: scheme://host:port or a path */
	char *path;		/* file */
	int method;		/* webhook: NF_METHOD_POST or NF_METHOD_PUT */
	struct nstrv headers;	/* secret: webhook, "Name: value" */
	char *token;		/* secret: grafana */
	struct nstrv tags;	/* grafana annotation tags */
	char *dashboard_uid;	/* grafana */
	uint32_t panel_id;	/* grafana; 0: none */
	int teams_format;
	char *from;		/* email */
	struct nstrv to;	/* email */
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
	struct nchan_cfg *chans;
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

enum nmsg_kind {
	NMSG_ALERT = 0, /* the first notification of an alert (update "open") */
	NMSG_REPEAT,	/* a match after its window ended with nothing pending */
	NMSG_SUMMARY,	/* N more matches were suppressed inside a window */
	NMSG_UPDATE,	/* acknowledge / resolve */
};

const char *nf_kind_name(enum nmsg_kind k);

/*
 * One notification, shared read-only by every channel that takes it
 * (reference counted).  rec is the notifier's own bounded copy of the alert
 * record; the string pointers point into it ("" when absent).
 */
struct nmsg {
	int refs;
	enum nmsg_kind kind;
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
 * nmsg_render_text().  host_default names the host when the record has none.
 * -EINVAL when record is not an alert record.
 */
int nmsg_from_record(const json_t *record, const char *host_default, uint64_t now_ns,
		     struct nmsg **out);
struct nmsg *nmsg_ref(struct nmsg *m);
void nmsg_unref(struct nmsg *m);
/* A new notification of another kind sharing m's record. */
struct nmsg *nmsg_derive(struct nmsg *m, enum nmsg_kind kind, uint64_t now_ns);
/* Fills m->text, the one-line text every channel uses. */
void nmsg_render_text(struct nmsg *m);

/* Renderings; each returns a new JSON object or NULL on allocation failure. */
json_t *nfmt_webhook(const struct nmsg *m);
json_t *nfmt_slack(const struct nmsg *m);
json_t *nfmt_teams(const struct nmsg *m, int format);
json_t *nfmt_grafana(const struct nmsg *m, const struct nchan_cfg *c);
/* An RFC 5322 message with CRLF line endings into out (reset first). */
int nfmt_email(const struct nmsg *m, const struct nchan_cfg *c, const char *hostname,
	       struct vbuf *out);
/* An RFC 3164 datagram "<PRI>Mmm dd hh:mm:ss ident[pid]: ..." into buf. */
int nfmt_syslog(const struct nmsg *m, const struct nchan_cfg *c, pid_t pid, char *buf,
		size_t cap);
/* Copies s into buf as one line: controls become spaces, cut at a UTF-8 boundary. */
void nf_oneline(char *buf, size_t cap, const char *s);
/* Drops an incomplete UTF-8 sequence at the end of s (left by a byte-wise cut). */
void nf_utf8_fix_tail(char *s);

/* ---- channels and the notifier (notify.c, deliver.c) ---------------------- */

enum nres { NRES_OK = 0, NRES_RETRY, NRES_FAIL };

struct nchan;
struct nchan_ops {
	/*
	 * Delivers one notification.  NRES_RETRY for a transient failure (with
	 * *retry_after_ms set when the peer said when), NRES_FAIL for a
	 * permanent one; err gets a reason without secrets.
	 */
	enum nres (*send)(struct nchan *c, const struct nmsg *m, uint64_t *retry_after_ms,
			  char *err, size_t errlen);
	/* Releases what send() kept open (a socket) when the worker ends; may be NULL. */
	void (*close)(struct nchan *c);
};

struct nsess_msg {
	struct nsess_msg *next;
	uint64_t time_ns;
	char text[]; /* sized to the text */
};

struct nsess {
	struct nsess *next;
	char id[NF_MAX_ID + 1];
	struct nsess_msg *head, *tail;
	uint32_t count;
};

struct nchan {
	struct notify *n;
	struct nchan_cfg cfg;
	const struct nchan_ops *ops;
	pthread_t thread;
	bool started;
	bool inited;

	/* lock guards the queue, the stop flag and the counters. */
	pthread_mutex_t lock;
	pthread_cond_t cond;
	struct nmsg **q;
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
	struct nsess *sessions;
	uint32_t nsessions;

	/* The worker thread's own. */
	void *curl_multi;
	int sock;
	bool sock_stream;
	uint64_t rng;
};

struct ndedup {
	struct ndedup *next;
	char *key; /* rule_id "\x1f" session_id */
	uint64_t window_start_ns;
	uint64_t notified_count; /* the alert's count when last notified */
	uint64_t pending;	 /* updates suppressed since */
	struct nmsg *latest;	 /* the latest suppressed update */
};

struct notify {
	pthread_mutex_t lock; /* dedup table, rate caps, session store */
	struct nf_config cfg;
	struct nchan *chans;
	size_t nchans;
	struct ndedup **dedup;
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
bool nf_type_queued(enum nchan_type t);
int nf_chan_init(struct nchan *c, struct notify *n, const struct nchan_cfg *cfg);
int nf_chan_start(struct nchan *c);
/* Queues m on c (taking a reference); counts a drop when the queue is full. */
void nf_chan_push(struct nchan *c, struct nmsg *m);
/* Waits until c's queue is empty and nothing is in flight; -ETIMEDOUT. */
int nf_chan_wait_idle(struct nchan *c, uint64_t deadline_mono);
void nf_chan_stop(struct nchan *c, uint64_t deadline_mono);
void nf_chan_join(struct nchan *c);
void nf_chan_release(struct nchan *c);
/* Exponential backoff with jitter for attempt (1-based), in ms. */
uint64_t nf_backoff_ms(const struct nchan_cfg *cfg, uint32_t attempt, uint64_t *rng);
/* Parses a Retry-After value (seconds or an HTTP date) into ms; -EINVAL. */
int nf_parse_retry_after(const char *v, uint64_t now_s, uint64_t *ms);

#endif /* VIGIL_NOTIFY_INT_H */
