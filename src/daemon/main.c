/*
 * main.c - vigild: options, the config file, the pid lock, detaching, then
 * vd_run().  Settings come from the command line, else vigil.yaml, else the
 * defaults; --check-config validates the config and the rules it names and
 * exits without touching the state directory.  Started as root, vigild
 * becomes its own user (--user, privs.c) before it reads any agent input.
 */
#include "config.h"
#include "daemon.h"
#include "rules.h"
#include "vigil_config.h"

#include <errno.h>
#include <event2/thread.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/file.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

static const char usage[] =
	"usage: vigild [OPTIONS]\n"
	"\n"
	"The vigil capture daemon: receives agent hook events from vigil-hook on a unix\n"
	"socket, normalizes them, seals them into the ledger (acknowledging each hook\n"
	"once its event is durable), drains the spool of events hooks saved while it was\n"
	"down, and keeps the SQLite index up to date.  It opens no network port.\n"
	"Usually started with 'vigil up' and stopped with 'vigil down'.\n"
	"\n"
	"Options:\n"
	"  --config FILE         the config file (default: $VIGIL_CONFIG, else\n"
	"                        $XDG_CONFIG_HOME/vigil/vigil.yaml, else\n"
	"                        /etc/vigil/vigil.yaml; none found: the defaults)\n"
	"  --check-config        check the config file, the rules it loads and its alert\n"
	"                        channels, print every problem as FILE:LINE:COL: reason\n"
	"                        and a summary, then exit (0 OK, 1 errors)\n"
	"  --state-dir DIR       state directory (default: daemon.state_dir of the config,\n"
	"                        else $VIGIL_STATE_DIR, else $XDG_STATE_HOME/vigil, else\n"
	"                        ~/.local/state/vigil)\n"
	"  --socket PATH         unix socket (default: $VIGIL_SOCKET, else STATE/vigild.sock;\n"
	"                        with socket activation, the one systemd passes)\n"
	"  --daemon              detach; return once the daemon listens (or failed);\n"
	"                        log to STATE/vigild.log\n"
	"  --foreground          stay attached and log to stderr (the default)\n"
	"  --user NAME           system mode (default: daemon.user of the config):\n"
	"                        started as root, prepare the state directory and the\n"
	"                        socket's directory for NAME, then run as NAME, with\n"
	"                        its groups, no capabilities and no way back to root;\n"
	"                        the socket is made 0666 (every user's hooks connect,\n"
	"                        each event names its sender's uid and pid as the\n"
	"                        kernel reports them).  Not root: NAME must be you\n"
	"  --allow-root          run as root all the same where vigild would refuse:\n"
	"                        as root, a socket other users can connect to (systemd's\n"
	"                        vigild.socket) needs --user or this\n"
	"  --max-string SIZE     truncate longer payload strings (default 2000 bytes)\n"
	"  --abandon-after DUR   a tool call with no result after DUR is recorded as\n"
	"                        abandoned (default 10m)\n"
	"  --workers N           threads that normalize and record events (default: one\n"
	"                        per CPU; each connection's events keep their order)\n"
	"  --signing-key SPEC    signing key (default $VIGIL_SIGNING_KEY, else\n"
	"                        STATE/keys/signing.key)\n"
	"  --mac-key SPEC        MAC key (default $VIGIL_MAC_KEY, else STATE/keys/mac.key)\n"
	"  -v, --verbose         log debug messages\n"
	"  --version             print the version\n"
	"  -h, --help            show this help\n"
	"\n"
	"Options given here win over the config file (docs/config.md), which wins over\n"
	"the defaults.\n"
	"\n"
	"Socket activation: started by systemd with LISTEN_FDS=1 (vigild.socket), vigild\n"
	"listens on the socket it is given and leaves it in place when it stops, so hooks\n"
	"wait while it restarts (within their deadline) instead of being refused.\n"
	"\n"
	"Signals: SIGTERM and SIGINT stop it cleanly (everything durable and sealed);\n"
	"SIGHUP reloads the rules (the config file is read again; invalid rules are\n"
	"refused and the running ones stay).\n"
	"Exit status: 0 clean stop; 1 another daemon runs on this state directory (with\n"
	"--check-config: the config has errors); 2 usage error; 3 could not start (the\n"
	"reason is printed; a config error is one).\n";

enum { OPT_STATE = 256, OPT_SOCKET, OPT_DAEMON, OPT_FG, OPT_MAXSTR, OPT_ABANDON, OPT_WORKERS, OPT_SIGN, OPT_MAC,
       OPT_VERSION, OPT_CONFIG, OPT_CHECK, OPT_USER, OPT_ALLOW_ROOT };

static const struct option opts[] = {
	{ "config", required_argument, NULL, OPT_CONFIG },
	{ "check-config", no_argument, NULL, OPT_CHECK },
	{ "state-dir", required_argument, NULL, OPT_STATE },
	{ "socket", required_argument, NULL, OPT_SOCKET },
	{ "daemon", no_argument, NULL, OPT_DAEMON },
	{ "foreground", no_argument, NULL, OPT_FG },
	{ "user", required_argument, NULL, OPT_USER },
	{ "allow-root", no_argument, NULL, OPT_ALLOW_ROOT },
	{ "max-string", required_argument, NULL, OPT_MAXSTR },
	{ "abandon-after", required_argument, NULL, OPT_ABANDON },
	{ "workers", required_argument, NULL, OPT_WORKERS },
	{ "signing-key", required_argument, NULL, OPT_SIGN },
	{ "mac-key", required_argument, NULL, OPT_MAC },
	{ "verbose", no_argument, NULL, 'v' },
	{ "version", no_argument, NULL, OPT_VERSION },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
	va_list ap;

	fputs("vigild: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs("\nTry 'vigild --help'.\n", stderr);
	return 2;
}

/* Prints the config's diagnostics on stderr, each "file:line:col: reason". */
static void print_config_diags(const struct config_diags *d)
{
	config_diags_print(d, stderr, "vigild: ");
}

/* Channels the alerts section configures (enabled ones); -1: the notifier's defaults. */
static long count_channels(const json_t *conf)
{
	const json_t *chans = json_object_get(config_alerts(conf), "channels"), *ch;
	long n = 0;
	size_t i;

	if (!json_is_array(chans))
		return -1;
	json_array_foreach(chans, i, ch)
		if (!json_is_false(json_object_get(ch, "enabled")))
			n++;
	return n;
}

/*
 * --check-config: the config (already loaded by the caller, errors printed),
 * the rule set it names (default pack, rules.paths, overrides) and the alert
 * channels (checked while loading).  Prints every problem and a summary;
 * returns the exit status.  Touches nothing on disk.
 */
static int check_config(const struct config *conf)
{
	struct rules_set *set = NULL;
	size_t nrules, ncorr = 0, nerr, nwarn;
	long nchan;
	char line[8192];
	int rc;

	rc = config_build_rules(NULL, conf, NULL, &set);
	if (rc < 0) {
		fprintf(stderr, "vigild: cannot build the rule set: %s\n", strerror(-rc));
		return 1;
	}
	for (size_t i = 0; i < rules_diag_count(set); i++) {
		rules_diag_format(rules_diag_get(set, i), line, sizeof(line));
		fprintf(stderr, "vigild: %s\n", line);
	}
	nerr = rules_error_count(set);
	nwarn = rules_diag_count(set) - nerr;
	nrules = rules_count(set);
	for (size_t i = 0; i < nrules; i++) {
		struct rules_info ri;

		if (rules_get(set, i, &ri) == 0 && ri.kind == RULES_KIND_CORRELATION)
			ncorr++;
	}
	rules_set_free(set);
	printf("config: %s\n", config_path(conf)[0] ? config_path(conf) : "none found (defaults)");
	if (nerr) {
		printf("config has errors: %zu in the rules%s\n", nerr,
		       nwarn ? " (and warnings)" : "");
		return 1;
	}
	nchan = count_channels(config_tree(conf));
	if (nchan < 0)
		printf("config OK: %zu rules (%zu correlation), default channels\n", nrules, ncorr);
	else
		printf("config OK: %zu rules (%zu correlation), %ld channel%s\n", nrules, ncorr,
		       nchan, nchan == 1 ? "" : "s");
	return 0;
}

/* Takes the pid lock; 1 when another daemon holds it (its pid in *other). */
static int lock_pid_file(const char *state, int *fd_out, long *other)
{
	char path[4300], buf[32];
	ssize_t n;
	int fd;

	if (vg_path(path, sizeof(path), "%s/vigild.pid", state) < 0)
		return -ENAMETOOLONG;
	fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		int e = errno;

		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		*other = strtol(buf, NULL, 10);
		close(fd);
		return e == EWOULDBLOCK ? 1 : -e;
	}
	*fd_out = fd;
	return 0;
}

static void write_pid(int fd)
{
	char buf[32];
	int n = snprintf(buf, sizeof(buf), "%ld\n", (long)getpid());

	if (ftruncate(fd, 0) < 0 || pwrite(fd, buf, (size_t)n, 0) != n)
		vg_warn("cannot write the pid file: %s", strerror(errno));
}

/*
 * Detaches (fork, setsid, fork).  The original process waits on a pipe for
 * the daemon's first word: "ok" once it listens, or the error, so
 * `vigild --daemon` (and `vigil up`) succeed only when the daemon really runs.
 */
static int detach(const char *state, int *ready_fd)
{
	int p[2], logfd;
	char logpath[4300], msg[8400];
	pid_t pid;
	ssize_t n;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -errno;
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		size_t got = 0;

		close(p[1]);
		while (got < sizeof(msg) - 1 &&
		       (n = read(p[0], msg + got, sizeof(msg) - 1 - got)) > 0)
			got += (size_t)n;
		msg[got] = '\0';
		waitpid(pid, NULL, 0);
		if (!strncmp(msg, "ok", 2))
			_exit(0);
		fprintf(stderr, "vigild: %s", got ? msg : "the daemon exited while starting\n");
		_exit(3);
	}
	close(p[0]);
	if (setsid() < 0)
		_exit(3);
	pid = fork();
	if (pid < 0)
		_exit(3);
	if (pid > 0)
		_exit(0);
	if (vg_path(logpath, sizeof(logpath), "%s/vigild.log", state) < 0)
		_exit(3);
	logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_NOFOLLOW | O_CLOEXEC, 0600);
	n = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (logfd < 0 || n < 0)
		_exit(3);
	dup2((int)n, STDIN_FILENO);
	dup2((int)n, STDOUT_FILENO);
	dup2(logfd, STDERR_FILENO);
	close((int)n);
	close(logfd);
	if (chdir("/") < 0)
		_exit(3);
	*ready_fd = p[1];
	return 0;
}

/* Makes a relative path (of at most cap bytes) absolute, in place. */
static int absolute_state_dir(char *dir, size_t cap)
{
	char cwd[4096], rel[4096];

	if (dir[0] == '/')
		return 0;
	if (!getcwd(cwd, sizeof(cwd)))
		return -errno;
	if (vg_path(rel, sizeof(rel), "%s", dir) < 0)
		return -ENAMETOOLONG;
	return vg_path(dir, cap, "%s/%s", strcmp(cwd, "/") ? cwd : "", rel);
}

/*
 * Socket activation (vigild.socket): the socket systemd passes replaces the
 * one vigild would bind.  Taken before detaching, while LISTEN_PID is still
 * our pid.  Hooks and vigil find the socket by its path, so when the unit's
 * path is not the one vigild was told, the unit's wins and the log says so.
 */
static int take_activation_socket(struct vd_config *cfg)
{
	char path[sizeof(cfg->socket_path)], err[512];
	int rc = vd_listen_fd_from_env(&cfg->listen_fd, path, sizeof(path), err, sizeof(err));

	if (rc < 0) {
		fprintf(stderr, "vigild: socket activation: %s\n", err);
		return rc;
	}
	if (rc == 0)
		return 0;
	if (path[0] && strcmp(path, cfg->socket_path) != 0) {
		fprintf(stderr,
			"vigild: warning: the socket passed by systemd is %s, not %s; hooks "
			"and vigil must use it (VIGIL_SOCKET or --socket)\n",
			path, cfg->socket_path);
		memcpy(cfg->socket_path, path, strlen(path) + 1);
	}
	return 0;
}

/* Whether the socket systemd passed lets users other than its owner connect. */
static bool socket_shared(const struct vd_config *cfg)
{
	struct stat st;

	return cfg->listen_fd > 0 && stat(cfg->socket_path, &st) == 0 && (st.st_mode & 022);
}

/* The directory the socket is bound in, when it is not the state directory
 * and does not exist yet: created 0755 for u, as vigild.socket's
 * DirectoryMode does for /run/vigil.  One that exists is left as it is. */
static int give_socket_dir(const struct vd_config *cfg, const struct vd_user *u, char *err,
			   size_t errcap)
{
	char dir[sizeof(cfg->socket_path)];
	struct stat st;

	if (cfg->listen_fd > 0)
		return 0;
	memcpy(dir, cfg->socket_path, sizeof(dir));
	dirname(dir);
	if (!strcmp(dir, cfg->state_dir) || stat(dir, &st) == 0)
		return 0;
	return vd_privs_give_dir(dir, u, 0755, err, errcap);
}

/*
 * Who vigild runs as (privs.c says how).  With a user and started as root:
 * the state directory and the socket's directory are given to the user,
 * then root is dropped, before anything in them is opened (the pid lock,
 * the log, the socket and the ledger are the user's).  Returns the exit
 * status, or -1 to go on.
 */
static int settle_user(struct vd_config *cfg, const char *user, bool allow_root)
{
	struct vd_user u;
	char err[8192];
	uid_t me = geteuid();

	if (!user) {
		if (me == 0 && !allow_root && socket_shared(cfg)) {
			fprintf(stderr,
				"vigild: refusing to run as root in system mode: every user's hooks "
				"reach %s, and their input would be parsed as root. Fix: --user vigil "
				"(or daemon.user in the config); --allow-root to run as root anyway\n",
				cfg->socket_path);
			return 3;
		}
		return -1;
	}
	if (vd_privs_lookup(user, &u, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigild: --user: %s\n", err);
		return 3;
	}
	cfg->shared_socket = true;
	if (me != 0) {
		if (u.uid == me && getuid() == me)
			return -1; /* already that user: nothing to drop */
		fprintf(stderr,
			"vigild: --user %s: running as uid %u, vigild cannot become uid %u (only "
			"root can); start it as root or as %s\n",
			user, (unsigned)me, (unsigned)u.uid, user);
		return 3;
	}
	if (u.uid == 0) {
		fprintf(stderr, "vigild: --user %s: that is root; name an unprivileged user, or use "
				"--allow-root without --user\n",
			user);
		return 3;
	}
	if (vd_privs_give_dir(cfg->state_dir, &u, 0700, err, sizeof(err)) < 0 ||
	    give_socket_dir(cfg, &u, err, sizeof(err)) < 0 ||
	    vd_privs_drop(&u, err, sizeof(err)) < 0) {
		fprintf(stderr, "vigild: --user %s: %s\n", user, err);
		return 3;
	}
	return -1;
}

/*
 * Everything after the options and the config: the state directory, the
 * socket, the pid lock, detaching, then the daemon itself.  Returns the
 * exit status.
 */
static int start(struct vd_config *cfg, const char *state_opt, const char *sock_opt,
		 bool daemonize, const char *user, bool allow_root)
{
	long other = 0;
	int rc;

	if (base_state_dir(state_opt, cfg->state_dir, sizeof(cfg->state_dir)) < 0) {
		fprintf(stderr, "vigild: cannot find a state directory: set --state-dir, "
				"VIGIL_STATE_DIR or HOME\n");
		return 3;
	}
	/* detach() changes to "/": a relative state directory is resolved now,
	 * against the directory vigild was started in. */
	if ((rc = absolute_state_dir(cfg->state_dir, sizeof(cfg->state_dir))) < 0) {
		fprintf(stderr, "vigild: cannot use the state directory '%s': %s\n", cfg->state_dir,
			strerror(-rc));
		return 3;
	}
	/* --socket, else what hooks and vigil use ($VIGIL_SOCKET, else STATE/vigild.sock). */
	if (sock_opt)
		rc = vg_path(cfg->socket_path, sizeof(cfg->socket_path), "%s", sock_opt);
	else
		rc = wire_socket_path(cfg->state_dir, cfg->socket_path, sizeof(cfg->socket_path));
	if (rc < 0) {
		fprintf(stderr,
			"vigild: the socket path must be shorter than %zu bytes; set VIGIL_SOCKET "
			"or --socket to a shorter path\n",
			sizeof(cfg->socket_path));
		return 3;
	}
	if (take_activation_socket(cfg) < 0)
		return 3;
	if ((rc = base_mkdir_p(cfg->state_dir, 0700, NULL)) < 0) {
		fprintf(stderr, "vigild: cannot create '%s': %s\n", cfg->state_dir, strerror(-rc));
		return 3;
	}
	if ((rc = settle_user(cfg, user, allow_root)) >= 0)
		return rc;
	/* Before anything in it is opened: a directory another user can change
	 * is not ours to write in (planted symlinks, swapped ledger or keys). */
	{
		char err[8192];

		if (vg_state_dir_check(cfg->state_dir, err, sizeof(err)) < 0) {
			fprintf(stderr, "vigild: refusing the state directory: %s\n", err);
			if (geteuid() == 0)
				fputs("vigild: to run as the user who owns it, start vigild with "
				      "--user NAME\n",
				      stderr);
			return 3;
		}
	}
	rc = lock_pid_file(cfg->state_dir, &cfg->pid_fd, &other);
	if (rc == 1) {
		fprintf(stderr, "vigild: already running for %s (pid %ld)\n", cfg->state_dir, other);
		return 1;
	}
	if (rc < 0) {
		fprintf(stderr, "vigild: cannot lock %s/vigild.pid: %s\n", cfg->state_dir,
			strerror(-rc));
		return 3;
	}
	/* A hook that gives up on us closes its socket: never die of SIGPIPE. */
	signal(SIGPIPE, SIG_IGN);
	if (daemonize && (rc = detach(cfg->state_dir, &cfg->ready_fd)) < 0) {
		fprintf(stderr, "vigild: cannot detach: %s\n", strerror(-rc));
		return 3;
	}
	cfg->foreground = !daemonize;
	write_pid(cfg->pid_fd);
	if (evthread_use_pthreads() < 0) {
		vg_err("libevent has no thread support");
		return 3;
	}
	rc = vd_run(cfg);
	/* The pid file goes while we still hold its lock. */
	{
		char path[4300];

		if (vg_path(path, sizeof(path), "%s/vigild.pid", cfg->state_dir) == 0)
			unlink(path);
	}
	close(cfg->pid_fd);
	return rc < 0 ? 3 : 0;
}

/* What the command line says. */
struct args {
	struct vd_config cfg;
	const char *state_opt, *sock_opt, *config_opt, *user_opt;
	bool daemonize, check, allow_root;
};

#define ARGS_GO_ON (-1)

/* Step 1: the options into a; ARGS_GO_ON, or the exit status (--help,
 * --version, a usage error). */
static int parse_args(int argc, char **argv, struct args *a)
{
	uint64_t v;
	int o;

	while ((o = getopt_long(argc, argv, "hv", opts, NULL)) != -1) {
		switch (o) {
		case OPT_CONFIG:
			if (!*optarg)
				return usage_error("--config needs a file name");
			a->config_opt = optarg;
			break;
		case OPT_CHECK:
			a->check = true;
			break;
		case OPT_STATE:
			a->state_opt = optarg;
			break;
		case OPT_SOCKET:
			a->sock_opt = optarg;
			break;
		case OPT_DAEMON:
			a->daemonize = true;
			break;
		case OPT_FG:
			a->daemonize = false;
			break;
		case OPT_USER:
			if (!*optarg)
				return usage_error("--user needs a user name");
			a->user_opt = optarg;
			break;
		case OPT_ALLOW_ROOT:
			a->allow_root = true;
			break;
		case OPT_MAXSTR:
			if (vg_parse_size(optarg, &v) < 0 || v < 16 || v > (1u << 24))
				return usage_error("--max-string: '%s' is not a size between 16 and "
						   "16M",
						   optarg);
			a->cfg.max_string = (size_t)v;
			break;
		case OPT_ABANDON:
			if (vg_parse_duration(optarg, &v) < 0 || v == 0 || v > 7 * 86400)
				return usage_error("--abandon-after: '%s' is not a duration between "
						   "1s and 7d",
						   optarg);
			a->cfg.abandon_ns = v * 1000000000ull;
			break;
		case OPT_WORKERS:
			if (vg_parse_size(optarg, &v) < 0 || v < 1 || v > VD_MAX_WORKERS)
				return usage_error("--workers: '%s' is not a number between 1 and %d",
						   optarg, VD_MAX_WORKERS);
			a->cfg.workers = (unsigned)v;
			break;
		case OPT_SIGN:
			a->cfg.signing_key = optarg;
			break;
		case OPT_MAC:
			a->cfg.mac_key = optarg;
			break;
		case 'v':
			vg_log_set_level(VG_LOG_DEBUG);
			break;
		case OPT_VERSION:
			printf("vigild %s\n", VIGIL_VERSION);
			return 0;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs("Try 'vigild --help'.\n", stderr);
			return 2;
		}
	}
	if (optind < argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	return ARGS_GO_ON;
}

/* Step 2: the config file, its problems printed; ARGS_GO_ON, or the exit
 * status (a broken config stops the daemon before it touches anything;
 * --check-config ends here). */
static int load_config(const struct args *a, struct config **conf)
{
	struct config_diags cdiags = { 0 };
	int rc = config_load(a->config_opt, conf, &cdiags);

	if (cdiags.n)
		print_config_diags(&cdiags);
	if (rc < 0) {
		if (a->check)
			printf("config has errors: %s\n", cdiags.file[0] ? cdiags.file : "vigil.yaml");
		else
			fprintf(stderr, "vigild: the config file has errors; not starting\n");
		config_diags_release(&cdiags);
		return a->check ? 1 : 3;
	}
	config_diags_release(&cdiags);
	if (a->check) {
		rc = check_config(*conf);
		config_free(*conf);
		*conf = NULL;
		return rc;
	}
	return ARGS_GO_ON;
}

/* Step 3: what the command line left unset comes from the config (whose
 * own defaults apply when it says nothing). */
static void apply_config(struct args *a, struct config *conf)
{
	if (!a->state_opt)
		a->state_opt = config_daemon_state_dir(config_tree(conf));
	if (!a->user_opt)
		a->user_opt = config_daemon_user(config_tree(conf));
	if (!a->cfg.max_string)
		a->cfg.max_string = config_daemon_max_string(config_tree(conf));
	if (!a->cfg.abandon_ns)
		a->cfg.abandon_ns = config_daemon_abandon_ns(config_tree(conf));
	if (!a->cfg.workers)
		a->cfg.workers = config_daemon_workers(config_tree(conf));
	(void)vg_path(a->cfg.config_path, sizeof(a->cfg.config_path), "%s", config_path(conf));
	a->cfg.conf = config_tree_ref(conf);
}

int main(int argc, char **argv)
{
	struct args a = { .cfg = { .ready_fd = -1, .pid_fd = -1 } };
	struct config *conf = NULL;
	int rc;

	vg_log_set_prefix("vigild");
	json_set_alloc_funcs(vg_malloc, vg_free);
	/* Everything vigild creates (index, spool, log, socket) holds what agents
	 * did: for the owner only. */
	umask(0077);
	vg_log_set_level(VG_LOG_INFO); /* starts, stops and drains belong in the log */
	if ((rc = parse_args(argc, argv, &a)) != ARGS_GO_ON ||
	    (rc = load_config(&a, &conf)) != ARGS_GO_ON)
		return rc;
	apply_config(&a, conf);
	rc = start(&a.cfg, a.state_opt, a.sock_opt, a.daemonize, a.user_opt, a.allow_root);
	json_decref(a.cfg.conf);
	config_free(conf);
	return rc;
}
