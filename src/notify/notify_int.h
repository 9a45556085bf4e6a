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
#include "schema.h"

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

/* ---- parsed configuration (config.c) ---------------------------------------- */

struct nf_strv {
	char **v;
	size_t n;
};

void nf_strv_release(struct nf_strv *sv);

struct nf_chan_type;

/*
 * One channel, validated and with its defaults applied: what every channel
 * has (routing, queueing, retries, a URL for network channels), and the
 * options of its type in opts (type->opts_size bytes, laid out by
 * type->keys).
 */
struct nf_chan_cfg {
	const struct nf_chan_type *type;
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
	char *url;		/* secret; NF_CT_URL types only */
	char target[300];	/* what logs and stats may show: scheme://host:port or a path */
	void *opts;		/* the type's own options */
};

struct nf_config {
	uint64_t window_ms;
	struct nf_chan_cfg *chans;
	size_t nchans;
};

/*
 * Parses and validates an `alerts` object (NULL: the defaults) into cfg.
 * state_dir resolves the default file path (NULL: base_state_dir(NULL)).
 * -EINVAL with d filled (d may be NULL): the channel's index, the key and a
 * message naming both.
 */
int nf_config_parse(const json_t *alerts, const char *state_dir, struct nf_config *cfg,
		    struct vg_diag *d);
/* One channel object alone, as channel number index (for locating errors). */
int nf_config_check_channel(const json_t *chan, size_t index, struct vg_diag *d);
void nf_config_release(struct nf_config *cfg);

/* ---- the key tables (config.c) --------------------------------------------------
 * A channel type declares its keys as a table; parsing, validation, the
 * "did you mean" hint, releasing and the secret scrub all come from it. */

enum nf_key_kind { NF_K_NAME, NF_K_STR, NF_K_SECRET, NF_K_BOOL, NF_K_U32, NF_K_MS,
		   NF_K_STRV, NF_K_SEV, NF_K_HEADERS, NF_K_ENUM, NF_K_TRI };

struct nf_choice {
	const char *name;
	int val;
};

struct nf_key {
	const char *name;
	enum nf_key_kind kind;
	/* Common keys: the NF_CT_* flags a type needs to take it (0: every
	 * type).  A type's own keys: unused. */
	unsigned needs;
	size_t off;	   /* into struct nf_chan_cfg, or into the type's options */
	uint64_t min, max; /* NF_K_U32 value, NF_K_MS ms, NF_K_STR/SECRET length, NF_K_STRV entries */
	const struct nf_choice *choices; /* NF_K_ENUM, NULL-terminated */
};

/* Where a message about a channel's configuration goes while parsing. */
struct nf_cfg_ctx {
	struct vg_diag *d;
	size_t index;
	const char *type; /* NULL before the type is known */
};

/* Fills x->d (when not NULL) and returns -EINVAL. */
int nf_cfg_fail(struct nf_cfg_ctx *x, enum vg_diag_code code, const char *key,
		const char *fmt, ...) __attribute__((format(printf, 4, 5)));
/* Expands a leading "~/" and requires an absolute path; -EINVAL, -ENOMEM. */
int nf_cfg_abs_path(struct nf_cfg_ctx *x, const char *key, char **path);

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
	const json_t *tags, *event_ids; /* the alert's lists in rec; NULL: none */
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

/* ---- shared by the renderings (format.c) -------------------------------------- */

/* A fixed buffer that truncates (at a UTF-8 boundary) instead of failing. */
struct nf_tbuf {
	char *p;
	size_t cap, len;
};

void nf_tb_add(struct nf_tbuf *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Length of s cut to at most max bytes without splitting a UTF-8 sequence. */
size_t nf_utf8_cut(const char *s, size_t len, size_t max);
/* The length of the UTF-8 sequence at s (1 for a stray byte), not past a NUL. */
size_t nf_utf8_len(const char *s);
/* A JSON string of s cut at max bytes (UTF-8 safe). */
json_t *nf_jstr_cut(const char *s, size_t max);

/* The facts every rich format shows, in order; empty values are skipped. */
struct nf_fact {
	const char *name;
	char value[NF_MAX_ID + 32];
};

size_t nf_collect_facts(const struct nf_msg *m, struct nf_fact *f, size_t cap);
/* The sentence under a rich message's title. */
void nf_describe(const struct nf_msg *m, char *buf, size_t cap);
/* A rich message's title: "HIGH: <title> [blocked]", "Resolved: <title>". */
void nf_heading(const struct nf_msg *m, char *buf, size_t cap);
/* The generic JSON form (webhook and file): the record plus what was notified. */
json_t *nf_msg_json(const struct nf_msg *m);
/* json_dumps of j (which it releases) into out; -ENOMEM, -E2BIG. */
int nf_dump_json(json_t *j, struct vbuf *out);
extern const char *const nf_month_abbr[12];

/* Copies s into buf as one line: controls become spaces, cut at a UTF-8 boundary. */
void nf_oneline(char *buf, size_t cap, const char *s);
/* Drops an incomplete UTF-8 sequence at the end of s (left by a byte-wise cut). */
void nf_utf8_fix_tail(char *s);

/* ---- channel types: one file each (ch_*.c), listed in channels.c ------------- */

enum nf_res { NF_RES_OK = 0, NF_RES_RETRY, NF_RES_FAIL };

#define NF_CT_QUEUED 1u	 /* own thread and bounded queue; deliver() there, with retries */
#define NF_CT_URL 2u	 /* takes url (required), timeout and connect_timeout */
#define NF_CT_TIMEOUT 4u /* takes timeout without a url */
#define NF_CT_RECORD 8u	 /* a local record of every alert: lifecycle on, no rate cap */

struct nf_chan;

/*
 * A channel type: a declarative table of its own keys and callbacks for each
 * step of a delivery.  The engine (config.c, notify.c, deliver.c) owns
 * everything else: the common keys, routing, rate caps, queues, threads,
 * retries with backoff and Retry-After, counters and shutdown.  Adding a
 * type is a ch_NAME.c defining one of these and a line in channels.c.
 *
 * The forwarding sinks follow the same shape (keys, validate, open, format,
 * deliver -> OK | RETRY | FAIL, close) and share the engine's pieces: the
 * key-table parser, nf_backoff_ms(), nf_parse_retry_after(), and the HTTP
 * transport (nf_http_deliver()) with its status classification.
 */
struct nf_chan_type {
	const char *name;     /* the `type:` value */
	unsigned flags;	      /* NF_CT_* */
	int min_sev;	      /* the default min_severity */
	const char *const *schemes; /* NF_CT_URL: accepted URL schemes, NULL-terminated */
	const struct nf_key *keys;  /* the type's own keys, offsets into its options */
	size_t nkeys;
	size_t opts_size;	    /* 0: no options */
	/* Sets the defaults of the options (zeroed before); may be NULL. */
	void (*defaults)(void *opts);
	/* Checks across keys and fills c->target; after the keys and the URL
	 * are parsed.  Errors through nf_cfg_fail(). */
	int (*validate)(struct nf_cfg_ctx *x, struct nf_chan_cfg *c, const char *state_dir);
	/* Makes the channel's runtime state (c->state); may be NULL. */
	int (*open)(struct nf_chan *c);
	/* Renders a notification as the bytes this type sends (reset out first); may be NULL. */
	int (*format)(const struct nf_chan *c, const struct nf_msg *m, struct vbuf *out);
	/*
	 * Delivers one notification.  NF_RES_RETRY for a transient failure
	 * (with *retry_after_ms set when the peer said when), NF_RES_FAIL for a
	 * permanent one; err gets a reason without secrets.  Queued types run
	 * it on their own thread; the others under the notifier's lock, and
	 * count what they did themselves.
	 */
	enum nf_res (*deliver)(struct nf_chan *c, const struct nf_msg *m,
			       uint64_t *retry_after_ms, char *err, size_t errlen);
	/* Periodic work under the notifier's lock (every second); may be NULL. */
	void (*tick)(struct nf_chan *c, uint64_t now_ns);
	/* Releases c->state and what deliver() kept open; may be NULL. */
	void (*close)(struct nf_chan *c);
};

/* channels.c: the registered types, and lookup by name (NULL when unknown). */
extern const struct nf_chan_type *const nf_chan_types[];
extern const size_t nf_chan_ntypes;
const struct nf_chan_type *nf_chan_type_find(const char *name);
/* What a channel of configuration cfg would send for m (its format()), into
 * out; -EOPNOTSUPP for a type that renders nothing.  For tests and tools. */
int nf_chan_render(const struct nf_chan_cfg *cfg, const char *hostname, const struct nf_msg *m,
		   struct vbuf *out);

/* The session channel's store (ch_session.c), for notify_session_take(). */
extern const struct nf_chan_type nf_ch_session;
char *nf_session_take(struct nf_chan *c, const char *session_id, uint64_t now_ns);

/* HTTP(S) delivery shared by the web channels (deliver.c). */
struct nf_http_req {
	const char *url_suffix;	      /* appended to the URL (without its trailing '/'); NULL: none */
	const char *method;	      /* NULL: POST */
	const struct nf_strv *headers; /* extra "Name: value" lines; NULL: none */
	const char *bearer;	      /* "Authorization: Bearer ..."; NULL: none */
};

/* "http", "https": the schemes of the web channels. */
extern const char *const nf_http_schemes[];
/* Renders m with the channel type's format() and sends it as JSON. */
enum nf_res nf_http_deliver(struct nf_chan *c, const struct nf_msg *m,
			    const struct nf_http_req *req, uint64_t *retry_after_ms, char *err,
			    size_t errlen);
/* Runs one transfer on the channel's curl multi handle; *aborted at the deadline. */
int nf_curl_run(struct nf_chan *c, void *easy, bool *aborted);
/* Sets the options every curl transfer of c has (timeouts, protocols). */
void nf_curl_common(struct nf_chan *c, void *easy, const char *protocols);
/* Whether a curl error is one retrying cannot fix. */
bool nf_curl_permanent(int curl_code);

/* ---- channels and the notifier (notify.c, deliver.c) ---------------------- */

struct nf_chan {
	struct notify *n;
	struct nf_chan_cfg cfg;
	const char *hostname;	/* the notifier's, for messages */
	void *state;		/* the type's runtime state (type->open) */
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
	/* The worker thread's own. */
	void *curl_multi; /* NF_CT_URL types */
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
