/*
 * daemon.h - vigild, the capture daemon: one libevent loop that takes hook
 * frames on a unix socket (and from the spool), normalizes and correlates
 * them, appends them to the ledger with group commit, acknowledges each hook
 * once its event is durable, and feeds the SQLite index from its own thread.
 *
 * Components, each a file with a private struct and a small header:
 *   conn.c     connections and replies (loop thread)
 *   worker.c   worker threads: normalize, correlate, decide, append (each
 *              connection is served by one worker, so its events keep
 *              their order)
 *   ack.c      the ack thread: waits for durability and wakes the loop
 *   indexer.c  the index thread: writes index.db once records are durable
 *   control.c  status and control requests from the CLI
 *   daemon.c   start, stop, timers and signals; wires the others together
 * The ledger has its own writer thread.  This header holds what all of them
 * share: struct vd, the pipeline state the workers use (ingest.c), the rules
 * (decide.c) and alerts (alerts.c), each named with the lock that guards it.
 */
#ifndef VIGIL_DAEMON_H
#define VIGIL_DAEMON_H

#include <jansson.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "common.h"
#include "ledger.h"
#include "pipeline.h"
#include "rules.h"
#include "wire.h"

#define VD_PROJECT_CACHE 1024
#define VD_MAX_WORKERS 64 /* vd_config.workers */

/* Statistics are bumped by several threads. */
#define VD_STAT_ADD(d, field, n) __atomic_fetch_add(&(d)->st.field, (n), __ATOMIC_RELAXED)
#define VD_STAT_GET(d, field) __atomic_load_n(&(d)->st.field, __ATOMIC_RELAXED)

struct vd_config {
	char state_dir[4096];
	char socket_path[108];
	const char *signing_key, *mac_key; /* secret specs; NULL: STATE/keys */
	size_t max_string;		    /* 0: normalizer default */
	uint64_t abandon_ns;		    /* 0: correlator default */
	uint32_t checkpoint_ms;		    /* 0: ledger default */
	unsigned workers;		    /* 0: one per CPU */
	bool foreground;		    /* log to stderr, do not detach */
	int ready_fd;			    /* >= 0: write "ok\n" or the error there, then close */
	int pid_fd;			    /* the locked pid file (main.c took the lock) */
	int listen_fd; /* > 0: the listening socket systemd passed (activation.c); 0: bind */
	bool shared_socket; /* system mode: bind the socket 0666 (every user's hooks) */
	json_t *conf;			    /* the loaded vigil.yaml tree (config.h), NULL: defaults */
	char config_path[4096];		    /* where conf came from, "" when none */
};

/*
 * Ids appended during this run, for deduplicating spooled events: two
 * generations of an open-addressing set of 128-bit keys; when the current one
 * is half full it becomes the old one (the old one's memory is reused), so the
 * last cap/2..cap ids are kept.  Memory: 2 * cap * 16 bytes, allocated at
 * init, never more.
 *
 * How many: a copy of an event can only come this late when the event was
 * spooled (the hook gave up after its deadline) and its live frame still
 * waited in a socket or a worker's queue.  Hooks send one frame per
 * connection, so what can be appended in between is about the connection
 * cap's worth (VD_MAX_CONNS, 4,096), plus the seconds of events until the
 * drain (every 5 s) during a stall's catch-up.  VD_IDSET_SLOTS keeps the last
 * 131,072 to 262,144 ids (8 MiB): 32 times the connection cap, and about 45 s
 * of vigild's top rate (bench/rss_run: 3,000 events/s).  A spooled copy that
 * comes later than that is still checked against the index; only a live copy
 * that came after more than 131,072 other events would be written twice.
 */
#define VD_IDSET_SLOTS (1u << 18)
struct vd_idset {
	uint8_t (*cur)[16], (*old)[16];
	size_t cap, cur_n;
};
/* cap: slots per generation, rounded up to a power of two (at least 1,024). */
int vd_idset_init(struct vd_idset *s, size_t cap);
void vd_idset_free(struct vd_idset *s);
/* Keyed by the id and, when sha_hex (the payload's SHA-256) is given, the
 * content too (util.c says why). */
bool vd_idset_has(const struct vd_idset *s, const char *uuid, const char *sha_hex);
void vd_idset_add(struct vd_idset *s, const char *uuid, const char *sha_hex);

struct vd_stats {
	uint64_t received, appended, acked, failed, invalid, refused;
	uint64_t spool_records, spool_dups, spool_damaged_bytes, abandoned;
	uint64_t conns_total, conns_now;
	uint64_t last_event_seq; /* highest seq of an event appended (atomic max) */
};

struct idx;
struct vd_ack;
struct vd_conns;
struct vd_indexer;
struct vd_workers;
struct vd_ruleset;
struct vd_alerts;
struct notify;

/* What the rules made of one event (decide.c). */
#define VD_VERDICT_MAX_RECS 16
struct vd_verdict {
	bool blocking;		  /* a hook that waits for a decision */
	bool outage;		  /* decided by the hook's failure mode, not by vigild */
	enum rules_action action; /* alert = allow */
	const char *mode;	  /* "rules", "fail-open", "fail-closed" */
	char decision[8];	  /* "allow", "deny", "ask"; "" when not blocking */
	char rule_id[256], rule_name[256], rule_title[512];
	char reason[2048];
	json_t *recs[VD_VERDICT_MAX_RECS]; /* alert records to append after the event */
	size_t nrecs;
};

/* The reply a hook prints: stdout, stderr and exit code. */
struct vd_answer {
	char *out, *err; /* vg_malloc'ed or NULL */
	size_t out_len, err_len;
	unsigned exit_code;
	unsigned decision; /* enum wire_decision: what a blocking hook is told */
};

/* SO_PEERCRED of the hook's connection. */
struct vd_peer {
	int64_t pid, uid, gid;
};

struct event_base;
struct event;

/* A cached project root per (cwd, project_dir). */
struct vd_project {
	char *key;  /* cwd "\n" project_dir */
	char *root;
	int source; /* enum norm_project_source */
};

/* The daemon; owned by the loop thread unless a field says otherwise. */
struct vd {
	struct vd_config cfg;
	char ledger_dir[4200], index_path[4200], spool_dir[4200];
	char host[256], user[128];
	struct event_base *base;
	struct event *ev_sigint, *ev_sigterm, *ev_sighup, *ev_tick;
	/* The components (see the top of this file); each guards its own state. */
	struct vd_conns *conns;
	struct vd_workers *workers;
	struct vd_ack *ack;
	struct vd_indexer *indexer;

	struct ledger *l;
	struct norm_ctx *norm;
	pthread_mutex_t append_mu; /* an append and its queueing for the index, as one */
	pthread_mutex_t corr_mu; /* guards corr */
	struct pair *corr;
	struct idx *ro_idx; /* dedup lookups (loop thread); opened once the index exists */
	pthread_mutex_t ids_mu;	 /* guards ids */
	struct vd_idset ids;
	pthread_mutex_t proj_mu; /* guards projects */
	struct vd_project projects[VD_PROJECT_CACHE];

	/* Rules (decide.c): the running set, swapped whole on reload. */
	pthread_rwlock_t rules_lock;
	struct vd_ruleset *rules; /* under rules_lock */
	size_t rules_errors;	  /* under rules_lock */
	uint64_t rules_loaded_ns, rules_reloads;
	struct rules_result drain_rr; /* loop thread: spooled events */
	struct vd_alerts *alerts;     /* alerts.c; its own lock */
	struct notify *notify;	      /* thread-safe */

	bool socket_bound;
	bool drain_ready; /* the index caught up: spooled events can be deduplicated */
	bool stopping;
	uint64_t started_ns, last_drain_ns, last_expire_ns;
	int pid_fd;
	struct vd_stats st;
};

/* daemon.c */
int vd_run(const struct vd_config *cfg);
/* Stops taking frames, lets the workers finish, seals the ledger, sends the
 * replies owed and ends the loop (loop thread; once). */
void vd_stop(struct vd *d, const char *why);

/*
 * activation.c: the listening socket of socket activation (sd_listen_fds(3)
 * semantics, LISTEN_PID and LISTEN_FDS; the variables are removed).  1 with
 * *fd set (non-blocking, close-on-exec) and its path in path (cap bytes, ""
 * when unnamed); 0 with *fd = 0 when none was passed to this process; -errno
 * with err set when one was, but is not a single listening unix stream socket.
 */
int vd_listen_fd_from_env(int *fd, char *path, size_t cap, char *err, size_t errcap);

/*
 * privs.c: vigild started as root becomes its own user (--user).  A user
 * looked up by name; a directory created (mode) or, when root owns it,
 * handed to the user (never recursively); the switch itself: groups, gid,
 * uid (real, effective, saved), an empty capability bounding set,
 * no_new_privs, and checks that root cannot be regained.  0, or -errno with
 * err set.
 */
struct vd_user {
	char name[256];
	uid_t uid;
	gid_t gid;
};
int vd_privs_lookup(const char *name, struct vd_user *u, char *err, size_t errcap);
int vd_privs_give_dir(const char *path, const struct vd_user *u, mode_t mode, char *err,
		      size_t errcap);
int vd_privs_drop(const struct vd_user *u, char *err, size_t errcap);

struct vd_stage;

/* ingest.c: one hook frame -> event -> ledger; returns the appended seq
 * (0 when nothing was appended), or -errno (the caller tells the hook to
 * spool).  from_spool: deduplicate by id first. */
int vd_ingest(struct vd *d, unsigned kind, unsigned flags, const struct wire_envelope *env,
	      const char *payload, size_t len, bool from_spool, const struct vd_peer *peer,
	      struct rules_result *rr, struct vd_answer *ans, uint64_t *seq,
	      struct vd_stage *stage);
void vd_answer_release(struct vd_answer *ans);
/* Appends an already built event (synthetic ones: tool_abandoned); any
 * thread.  The record then goes to the index thread. */
int vd_append_event(struct vd *d, json_t *ev, uint64_t *seq);
/* Records the tool calls whose Post never came as tool_abandoned (any
 * thread: the loop's timer, a worker that sees a backlog). */
void vd_expire(struct vd *d);

/* A blocking hook that takes staged decisions (WIRE_F_STAGED): send() puts
 * the answer on the hook's connection at once, before the event is written,
 * and says whether the hook got it: 0 delivered, -EPIPE not (the hook's
 * deadline passed and it applied its failure mode), another -errno when it
 * could not be tried (then the answer goes with the durable reply, as for
 * hooks that do not stage). */
struct vd_stage {
	int (*send)(void *ctx, const struct vd_answer *ans);
	void *ctx;
	bool sent; /* out: the answer went out staged */
};
/* stage.c: writes ans as WIRE_DECIDED on fd (a worker's duplicate of the
 * hook's connection): 0 when every byte was queued to the hook, -EPIPE when
 * not (the connection is then shut down both ways). */
int vd_stage_send(int fd, const struct vd_answer *ans);

/* decide.c: the rule set and decisions. */
int vd_rules_init(struct vd *d);
void vd_rules_free(struct vd *d);
/* Validates the configured rules (config file read again) and swaps them in
 * only when they have no error; the reply for `vigil rules reload`. */
json_t *vd_rules_reload(struct vd *d);
json_t *vd_rules_status(struct vd *d);
/* rules_get() on the running set; the caller holds rules_lock. */
int vd_rules_info(struct vd *d, size_t i, struct rules_info *out);
/* Evaluates the rules on ev, adds "detections" and (blocking hooks)
 * "decision" to it, opens or updates alerts (their records wait in v). */
int vd_decide(struct vd *d, json_t *ev, unsigned kind, unsigned flags, bool from_spool,
	      struct rules_result *rr, struct vd_verdict *v);
/* The hook's reply in the agent's protocol (and a session's pending
 * systemMessage). */
void vd_answer(struct vd *d, const json_t *ev, const struct vd_verdict *v, struct vd_answer *ans);
/* The agent did not get vigild's answer (a staged send failed): the record
 * takes the hook's failure mode from flags, with the outage alert. */
int vd_decision_undelivered(struct vd *d, json_t *ev, unsigned flags, struct vd_verdict *v);
/* A blocking event drained from the spool: the record takes what the hook
 * says it applied (env->applied, applied_by), with the outage alert. */
int vd_decision_spooled(struct vd *d, json_t *ev, const struct wire_envelope *env, unsigned flags,
			struct vd_verdict *v);
/* The ledger cannot write (disk full...): a blocking event gets the outage
 * alert, since its record may come late or, if vigild dies first, only
 * from the hook's spool.  err is the pending -errno. */
void vd_decision_ledger_failing(struct vd *d, json_t *ev, int err, struct vd_verdict *v);

/* alerts.c */
/* Open alerts held in memory at most (alerts.c says why); `vigil status`
 * shows alerts.open and alerts.bytes. */
#define VD_ALERTS_MAX 10000
#define VD_ALERTS_MAX_BYTES (32u << 20)
/* Start-up (ledgercheck.c): raises alerts for what ledger_open found gone or
 * unvouched, and moves aside an index that holds seqs the ledger no longer
 * has (a new one is built from the ledger).  Alerts must be set up. */
int vd_ledger_check(struct vd *d, const struct ledger_open_info *info, char *err,
		    size_t errcap);

int vd_alerts_init(struct vd *d);
void vd_alerts_free(struct vd *d);
/* Counts a rule hit on its (rule, session) alert, opening it if needed;
 * alert_id gets its id; a record to write goes to v.  Caller holds the
 * rules read lock. */
void vd_alerts_match(struct vd *d, const struct rules_hit *h, const json_t *ev, char alert_id[37],
		     struct vd_verdict *v);
/* Appends the records v collected (after the event itself). */
void vd_alerts_emit(struct vd *d, struct vd_verdict *v);
void vd_verdict_release(struct vd_verdict *v);
/* Writes coalesced match updates (loop thread, every second). */
void vd_alerts_tick(struct vd *d);
/* Hands records up to seq `durable` to the notifier. */
void vd_alerts_durable(struct vd *d, uint64_t durable);
/* Loads open alerts from the index so they continue after a restart. */
void vd_alerts_restore(struct vd *d, struct idx *ix);
/* alert.acknowledge / alert.resolve; the JSON reply. */
json_t *vd_alerts_control(struct vd *d, const char *op, const char *id, const char *note,
			  const struct vd_peer *peer);
json_t *vd_alerts_status(struct vd *d);
/* spool.c: drains every spool file of the state directory once. */
int vd_drain_spool(struct vd *d);

/* util.c: the id set above, and o serialized (jansson flags) into a vg_malloc'ed buffer, the form
 * replies to hooks and clients are owned in; takes the reference to o.
 * NULL when o is NULL or memory runs out. */
char *vd_json_take(json_t *o, size_t flags, size_t *len);

#endif /* VIGIL_DAEMON_H */
