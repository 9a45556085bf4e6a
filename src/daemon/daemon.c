/*
 * daemon.c - vigild's start and stop: opens the ledger and the pipeline,
 * binds the socket, wires the components together (connections, workers,
 * acknowledgements, indexer) on one libevent loop, runs the timers and
 * signals, and takes everything down in order.
 */
#include "config.h"
#include "daemon.h"
#include "ack.h"
#include "conn.h"
#include "idx.h"
#include "indexer.h"
#include "notify.h"
#include "vigil_config.h"
#include "worker.h"

#include <dirent.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define VD_DRAIN_EVERY_NS (5ull * 1000000000ull)
#define VD_EXPIRE_EVERY_NS (5ull * 1000000000ull)

/* ---- glue between the components ---------------------------------------------- */

/* The ack thread saw durability advance (or the ledger fail). */
static void on_durable(void *arg)
{
	struct vd *d = arg;
	int err = 0;
	uint64_t durable = vd_ack_durable(d->ack, &err);

	if (err)
		vg_err("the ledger cannot make events durable: %s; hooks spool their events "
		       "until it can",
		       strerror(-err));
	vd_conns_durable(d->conns, durable, err != 0);
	vd_alerts_durable(d, durable);
}

/* Results from the workers: fill in the reply slots and send what is due. */
static void on_jobs_done(void *arg, struct vd_job *list)
{
	struct vd *d = arg;

	vd_conns_done(d->conns, list, vd_ack_peek(d->ack));
}

/* ---- timers and signals ------------------------------------------------------- */

static bool spool_has_data(struct vd *d)
{
	char p[4400];
	struct stat st;
	DIR *dir;
	struct dirent *de;
	bool any = false;

	if (vg_path(p, sizeof(p), "%s/%s", d->spool_dir, WIRE_SPOOL_FILE) == 0 &&
	    stat(p, &st) == 0 && st.st_size > 0)
		return true;
	/* Files a failed drain left aside. */
	dir = opendir(d->spool_dir);
	if (!dir)
		return false;
	while (!any && (de = readdir(dir)))
		any = !strncmp(de->d_name, "draining-", 9);
	closedir(dir);
	return any;
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	struct vd *d = arg;
	uint64_t now = vg_mono_ns();

	(void)fd, (void)what;
	if (d->stopping)
		return;
	if (d->drain_ready && now - d->last_drain_ns >= VD_DRAIN_EVERY_NS && spool_has_data(d))
		vd_drain_spool(d);
	if (now - d->last_expire_ns >= VD_EXPIRE_EVERY_NS) {
		d->last_expire_ns = now;
		vd_expire(d);
	}
	vd_alerts_tick(d);
	vd_conns_tick(d->conns, now);
}

static void on_synced(void *arg)
{
	struct vd *d = arg;

	if (d->drain_ready || d->stopping)
		return;
	/* The index holds everything the ledger held at start, so spooled
	 * events can now be checked against it. */
	d->drain_ready = true;
	if (!d->ro_idx && idx_open(d->index_path, IDX_RDONLY, &d->ro_idx, NULL, 0) < 0)
		d->ro_idx = NULL;
	vd_alerts_restore(d, d->ro_idx);
	vd_drain_spool(d);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct vd *d = arg;

	(void)what;
	if (sig == SIGHUP) {
		json_t *r = vd_rules_reload(d);

		if (!json_is_true(json_object_get(r, "ok"))) {
			json_t *errs = json_object_get(r, "errors");

			vg_err("SIGHUP: %s", json_string_value(json_object_get(r, "error"))
						     ? json_string_value(json_object_get(r, "error"))
						     : "reload failed");
			for (size_t i = 0; i < json_array_size(errs) && i < 50; i++)
				vg_err("  %s", json_string_value(json_array_get(errs, i)));
		}
		json_decref(r);
		return;
	}
	vd_stop(d, sig == SIGINT ? "SIGINT" : "SIGTERM");
}

void vd_stop(struct vd *d, const char *why)
{
	struct timeval tv = { 0, 300000 };
	uint64_t sealed = 0;
	int rc;

	if (d->stopping)
		return;
	d->stopping = true;
	vg_info("stopping (%s)", why);
	/* Frames already read are recorded; nothing new is read. */
	vd_conns_stop(d->conns);
	vd_workers_stop(d->workers);
	/* Everything appended becomes durable and sealed; owed replies go out,
	 * with a short grace period for the writes. */
	rc = ledger_seal(d->l, &sealed);
	if (rc < 0)
		vg_err("cannot seal the ledger: %s", strerror(-rc));
	{
		struct ledger_status ls;

		ledger_status(d->l, &ls);
		vd_ack_raise(d->ack, ls.durable_seq);
	}
	on_durable(d);
	event_base_loopexit(d->base, &tv);
}

/* ---- start and stop ----------------------------------------------------------- */

static void tell_ready(struct vd *d, const char *msg)
{
	if (d->cfg.ready_fd < 0)
		return;
	if (write(d->cfg.ready_fd, msg, strlen(msg)) < 0)
		vg_debug("readiness pipe: %s", strerror(errno));
	close(d->cfg.ready_fd);
	d->cfg.ready_fd = -1;
}

/* A socket path in use by a live daemon is an error; a stale one (left by
 * a crash) is removed.  The pid lock already rules out a second daemon on
 * this state directory, but VIGIL_SOCKET may point anywhere. */
static int bind_socket(struct vd *d, char *err, size_t errcap)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	size_t n = strlen(d->cfg.socket_path);
	mode_t old;
	int fd, rc;

	/* Socket activation: systemd bound it and keeps it while vigild
	 * restarts, so it is neither checked nor removed here. */
	if (d->cfg.listen_fd > 0)
		return d->cfg.listen_fd;
	if (n >= sizeof(sa.sun_path)) {
		snprintf(err, errcap, "socket path '%s' is longer than %zu bytes", d->cfg.socket_path,
			 sizeof(sa.sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa.sun_path, d->cfg.socket_path, n + 1);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -errno;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 || errno == EAGAIN) {
		snprintf(err, errcap, "another daemon is listening on '%s'", d->cfg.socket_path);
		close(fd);
		return -EADDRINUSE;
	}
	close(fd);
	/* Only a stale socket of ours goes: never a file that happens to be
	 * there (VIGIL_SOCKET naming a regular file would delete it). */
	rc = vg_unlink_socket(d->cfg.socket_path);
	if (rc < 0) {
		snprintf(err, errcap,
			 "'%s' exists and is %s; refusing to remove it. Fix: set --socket or "
			 "VIGIL_SOCKET to another path, or remove it yourself",
			 d->cfg.socket_path,
			 rc == -EEXIST ? "not a socket" : rc == -EPERM ? "another user's socket"
								: strerror(-rc));
		return rc;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		snprintf(err, errcap, "socket: %s", strerror(errno));
		return -errno;
	}
	/* Created 0600 from the start: no window in which others could connect.
	 * System mode: 0666 like vigild.socket, every user's hooks connect and
	 * each event carries its peer's credentials from the kernel. */
	old = umask(d->cfg.shared_socket ? 0111 : 0177);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa));
	umask(old);
	if (rc < 0 || listen(fd, 1024) < 0) {
		rc = -errno;
		snprintf(err, errcap, "cannot listen on '%s': %s", d->cfg.socket_path,
			 strerror(errno));
		close(fd);
		return rc;
	}
	d->socket_bound = true;
	return fd;
}

static void identity(struct vd *d)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	if (gethostname(d->host, sizeof(d->host)) < 0)
		snprintf(d->host, sizeof(d->host), "unknown");
	d->host[sizeof(d->host) - 1] = '\0';
	if (getpwuid_r(geteuid(), &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(d->user, sizeof(d->user), "%s", pw.pw_name);
	else
		snprintf(d->user, sizeof(d->user), "%u", (unsigned)geteuid());
}

/* Step 1: the ledger, with the keys the config or the environment names
 * (the state directory's keys/ otherwise) and the spool directory. */
static int open_ledger(struct vd *d, struct ledger_open_info *info, char *err, size_t errcap)
{
	struct ledger_options lo = { 0 };
	char sign[4400], mac[4400];
	int rc;

	if (vg_path(d->ledger_dir, sizeof(d->ledger_dir), "%s/ledger", d->cfg.state_dir) < 0 ||
	    vg_path(d->index_path, sizeof(d->index_path), "%s/index.db", d->cfg.state_dir) < 0 ||
	    vg_path(d->spool_dir, sizeof(d->spool_dir), "%s/%s", d->cfg.state_dir,
		    WIRE_SPOOL_DIR) < 0 ||
	    vg_key_spec(d->cfg.signing_key, VG_SIGNING_KEY_ENV, d->cfg.state_dir,
			LEDGER_SIGNING_KEY_FILE, sign, sizeof(sign)) < 0 ||
	    vg_key_spec(d->cfg.mac_key, VG_MAC_KEY_ENV, d->cfg.state_dir, LEDGER_MAC_KEY_FILE, mac,
			sizeof(mac)) < 0) {
		snprintf(err, errcap, "state directory path too long");
		return -ENAMETOOLONG;
	}
	if (!strncmp(sign, "file:", 5) && access(sign + 5, F_OK) < 0) {
		snprintf(err, errcap, "no signing key at '%s'; run 'vigil keys init' first",
			 sign + 5);
		return -ENOENT;
	}
	if ((rc = base_mkdir_p(d->spool_dir, 0700, NULL)) < 0) {
		snprintf(err, errcap, "cannot create '%s': %s", d->spool_dir, strerror(-rc));
		return rc;
	}
	lo.dir = d->ledger_dir;
	lo.signing_key = sign;
	lo.mac_key = mac;
	lo.checkpoint_ms = d->cfg.checkpoint_ms;
	if ((rc = ledger_open(&lo, &d->l, info, err, errcap)) < 0)
		return rc;
	if (info->recovered)
		vg_warn("recovered the ledger after a crash: cut %" PRIu64 " bytes (%" PRIu64
			" partial records) from segment %" PRIu64,
			info->dropped_bytes, info->dropped_frames, info->recovered_segment);
	return 0;
}

/* Step 2: the normalizer, the tool-call pairer and the set of ids seen. */
static int open_pipeline(struct vd *d, char *err, size_t errcap)
{
	struct norm_options no = { .max_string = d->cfg.max_string,
				   .host = d->host,
				   .user = d->user };
	struct pair_options co = { .abandon_ns = d->cfg.abandon_ns };
	int rc;

	if ((rc = norm_ctx_new(&no, &d->norm)) < 0 || (rc = pair_new(&co, &d->corr)) < 0 ||
	    (rc = vd_idset_init(&d->ids, VD_IDSET_SLOTS)) < 0) {
		snprintf(err, errcap, "cannot set up the pipeline: %s", strerror(-rc));
		return rc;
	}
	return 0;
}

/* Step 3: the socket, the event loop and the components on it (their
 * threads start last, in start_threads), the timer and the signals. */
static int open_loop(struct vd *d, char *err, size_t errcap)
{
	struct timeval sec = { 1, 0 };
	int fd = bind_socket(d, err, errcap);

	if (fd < 0)
		return fd;
	d->base = event_base_new();
	if (!d->base) {
		close(fd);
		snprintf(err, errcap, "cannot create the event loop");
		return -ENOMEM;
	}
	if (vd_conns_new(d, d->base, fd, &d->conns) < 0 ||
	    vd_ack_new(d->l, d->base, on_durable, d, &d->ack) < 0 ||
	    vd_workers_new(d, d->cfg.workers, d->base, on_jobs_done, d, &d->workers) < 0 ||
	    vd_indexer_new(d->l, d->ledger_dir, d->index_path, d->base, on_synced, d,
			   &d->indexer) < 0) {
		snprintf(err, errcap, "cannot set up the event loop");
		return -ENOMEM;
	}
	d->ev_tick = event_new(d->base, -1, EV_PERSIST, on_tick, d);
	d->ev_sigint = evsignal_new(d->base, SIGINT, on_signal, d);
	d->ev_sigterm = evsignal_new(d->base, SIGTERM, on_signal, d);
	d->ev_sighup = evsignal_new(d->base, SIGHUP, on_signal, d);
	if (!d->ev_tick || !d->ev_sigint || !d->ev_sigterm || !d->ev_sighup) {
		snprintf(err, errcap, "cannot set up the event loop");
		return -ENOMEM;
	}
	event_add(d->ev_tick, &sec);
	event_add(d->ev_sigint, NULL);
	event_add(d->ev_sigterm, NULL);
	event_add(d->ev_sighup, NULL);
	return 0;
}

/* Step 4: rules, alerts (open ones taken from the index as it is before
 * hooks are taken, and again once it caught up with the ledger) and the
 * notifier, after the ledger's start-up checks. */
static int open_judgement(struct vd *d, const struct ledger_open_info *info, char *err,
			  size_t errcap)
{
	struct notify_opts nopt = { .state_dir = d->cfg.state_dir, .hostname = d->host };
	char nerr[512] = "";
	int rc;

	if ((rc = vd_rules_init(d)) < 0) {
		snprintf(err, errcap, "cannot load the rules: %s", strerror(-rc));
		return rc;
	}
	if ((rc = vd_alerts_init(d)) < 0) {
		snprintf(err, errcap, "cannot set up alerts: %s", strerror(-rc));
		return rc;
	}
	if ((rc = vd_ledger_check(d, info, err, errcap)) < 0)
		return rc;
	if (access(d->index_path, F_OK) == 0 &&
	    idx_open(d->index_path, IDX_RDONLY, &d->ro_idx, NULL, 0) == 0)
		vd_alerts_restore(d, d->ro_idx);
	else
		d->ro_idx = NULL;
	rc = notify_new(d->cfg.conf ? config_alerts(d->cfg.conf) : NULL, &nopt, &d->notify, nerr,
			sizeof(nerr));
	if (rc < 0) {
		snprintf(err, errcap, "alerts: %s", nerr[0] ? nerr : strerror(-rc));
		return rc;
	}
	return 0;
}

/* Step 5: the threads, once everything they use exists. */
static int start_threads(struct vd *d, char *err, size_t errcap)
{
	if (vd_workers_start(d->workers) < 0) {
		snprintf(err, errcap, "cannot start worker threads");
		return -EAGAIN;
	}
	if (vd_ack_start(d->ack) < 0) {
		snprintf(err, errcap, "cannot start the ack thread");
		return -EAGAIN;
	}
	if (vd_indexer_start(d->indexer) < 0) {
		snprintf(err, errcap, "cannot start the index thread");
		return -EAGAIN;
	}
	return 0;
}

static int open_all(struct vd *d, char *err, size_t errcap)
{
	struct ledger_open_info info;
	int rc;

	if ((rc = open_ledger(d, &info, err, errcap)) < 0 ||
	    (rc = open_pipeline(d, err, errcap)) < 0 || (rc = open_loop(d, err, errcap)) < 0 ||
	    (rc = open_judgement(d, &info, err, errcap)) < 0 ||
	    (rc = start_threads(d, err, errcap)) < 0)
		return rc;
	return 0;
}

static void close_all(struct vd *d)
{
	/* Order matters: nothing appends once the workers are gone; the index
	 * thread waits on the ledger, so it stops before the ledger closes. */
	vd_workers_stop(d->workers);
	vd_ack_stop(d->ack);
	if (d->l) {
		int rc = ledger_seal(d->l, NULL);

		if (rc < 0)
			vg_err("cannot seal the ledger: %s", strerror(-rc));
	}
	vd_indexer_stop(d->indexer);
	if (d->l) {
		int rc = ledger_close(d->l);

		if (rc < 0)
			vg_err("closing the ledger: %s", strerror(-rc));
	}
	/* The components' events go before the loop they belong to. */
	vd_conns_free(d->conns);
	vd_ack_free(d->ack);
	vd_workers_free(d->workers);
	/* The read-only connection goes first, so the index thread's is the
	 * last and its close can fold the WAL into index.db. */
	idx_close(d->ro_idx);
	d->ro_idx = NULL;
	vd_indexer_free(d->indexer);
	if (d->ev_tick)
		event_free(d->ev_tick);
	if (d->ev_sigint)
		event_free(d->ev_sigint);
	if (d->ev_sigterm)
		event_free(d->ev_sigterm);
	if (d->ev_sighup)
		event_free(d->ev_sighup);
	if (d->base)
		event_base_free(d->base);
	/* Alerts recorded by now are durable (sealed): the notifier gets them,
	 * then has its flush timeout to deliver before it stops. */
	if (d->notify) {
		vd_alerts_durable(d, UINT64_MAX);
		notify_free(d->notify);
	}
	vd_alerts_free(d);
	vd_rules_free(d);
	rules_result_release(&d->drain_rr);
	json_decref(d->cfg.conf);
	d->cfg.conf = NULL;
	pair_free(d->corr);
	norm_ctx_free(d->norm);
	vd_idset_free(&d->ids);
	for (size_t i = 0; i < VD_PROJECT_CACHE; i++) {
		vg_free(d->projects[i].key);
		vg_free(d->projects[i].root);
	}
	pthread_rwlock_destroy(&d->rules_lock);
	pthread_mutex_destroy(&d->append_mu);
	pthread_mutex_destroy(&d->corr_mu);
	pthread_mutex_destroy(&d->ids_mu);
	pthread_mutex_destroy(&d->proj_mu);
}

int vd_run(const struct vd_config *cfg)
{
	struct vd *d = vg_calloc(1, sizeof(*d));
	char err[8192] = "";
	int rc;

	if (!d)
		return -ENOMEM;
	d->cfg = *cfg;
	/* The daemon's own reference: a reload replaces it, the caller keeps
	 * (and releases) the one it passed. */
	d->cfg.conf = json_incref(cfg->conf);
	d->started_ns = d->last_drain_ns = d->last_expire_ns = vg_mono_ns();
	pthread_rwlock_init(&d->rules_lock, NULL);
	pthread_mutex_init(&d->append_mu, NULL);
	pthread_mutex_init(&d->corr_mu, NULL);
	pthread_mutex_init(&d->ids_mu, NULL);
	pthread_mutex_init(&d->proj_mu, NULL);
	rules_result_init(&d->drain_rr);
	identity(d);
	rc = open_all(d, err, sizeof(err));
	if (rc < 0) {
		char msg[8300];

		vg_err("%s", err);
		snprintf(msg, sizeof(msg), "error: %s\n", err);
		tell_ready(d, msg);
		goto out;
	}
	vg_info("vigild %s listening on %s (state %s)", VIGIL_VERSION, cfg->socket_path,
		cfg->state_dir);
	tell_ready(d, "ok\n");
	rc = event_base_dispatch(d->base) < 0 ? -EIO : 0;
	if (!d->stopping)
		vd_stop(d, "event loop ended");
out:
	close_all(d);
	if (d->socket_bound)
		vg_unlink_socket(cfg->socket_path);
	vg_free(d);
	return rc;
}
