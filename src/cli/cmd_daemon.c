/*
 * cmd_daemon.c - `vigil up`, `vigil down`, `vigil status`: start, stop and
 * ask the capture daemon (vigild) of a state directory, over its unix socket.
 */
#include "cli.h"
#include "wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/file.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* The pid of the daemon holding STATE/vigild.pid's lock, 0 when none does. */
static long daemon_pid(struct cli *c)
{
	char path[4300], buf[32];
	long pid = 0;
	ssize_t n;
	int fd;

	if (cli_state_path(c, path, sizeof(path), "vigild.pid") < 0)
		return 0;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	if (flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK) {
		n = pread(fd, buf, sizeof(buf) - 1, 0);
		buf[n > 0 ? n : 0] = '\0';
		pid = strtol(buf, NULL, 10);
		if (pid <= 0)
			pid = -1; /* locked, pid not written yet */
	}
	close(fd);
	return pid;
}

static const struct option ctl_opts[] = {
	{ "json", no_argument, NULL, 'j' },
	{ "foreground", no_argument, NULL, 'f' },
	{ "config", required_argument, NULL, 'c' },
	{ "timeout", required_argument, NULL, 't' },
	{ "state-dir", required_argument, NULL, 's' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

struct ctl_args {
	bool json, foreground;
	uint64_t timeout_s;
	char config[4096]; /* up --config: absolute, "" when not given */
};

static int parse_ctl(struct cli *c, const char *cmd, const char *usage, int argc, char **argv,
		     struct ctl_args *a)
{
	int o;

	optind = 0;
	while ((o = getopt_long(argc, argv, "h", ctl_opts, NULL)) != -1) {
		switch (o) {
		case 'j':
			a->json = true;
			break;
		case 'f':
			if (strcmp(cmd, "up"))
				return cli_usage_error(cmd, "unknown option '--foreground'");
			a->foreground = true;
			break;
		case 'c': {
			char cwd[4096];

			if (strcmp(cmd, "up"))
				return cli_usage_error(cmd, "unknown option '--config'");
			/* The daemon runs from another directory: make it absolute. */
			if (optarg[0] == '/' ? vg_path(a->config, sizeof(a->config), "%s", optarg) < 0
					     : (!getcwd(cwd, sizeof(cwd)) ||
						vg_path(a->config, sizeof(a->config), "%s/%s", cwd,
							optarg) < 0))
				return cli_usage_error(cmd, "--config: path too long");
			break;
		}
		case 't':
			if (vg_parse_duration(optarg, &a->timeout_s) < 0 || !a->timeout_s ||
			    a->timeout_s > 3600)
				return cli_usage_error(cmd, "--timeout: '%s' is not a duration "
							    "between 1s and 1h",
						       optarg);
			break;
		case 's':
			if (cli_set_state_dir(c, optarg) < 0)
				return CLI_USAGE;
			break;
		case 'h':
			fputs(usage, stdout);
			return -1;
		default:
			return cli_usage_error(cmd, "unknown option");
		}
	}
	if (optind < argc)
		return cli_usage_error(cmd, "unexpected argument '%s'", argv[optind]);
	return cli_state(c) < 0 ? CLI_ERROR : 0;
}

static void print_json(json_t *j)
{
	if (!j)
		return;
	json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	fputc('\n', stdout);
	json_decref(j);
}

/* ---- vigil status ------------------------------------------------------------- */

static const char status_usage[] =
	"usage: vigil status [--json]\n"
	"\n"
	"Shows whether the capture daemon of the state directory runs and what it has\n"
	"done: pid, uptime, socket, ledger sequence numbers (appended, durable, sealed),\n"
	"how far the index has caught up, event counts, and events waiting in the spool.\n"
	"\n"
	"Options:\n"
	"  --json              print the status as JSON\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 the daemon runs; 1 it does not; 2 usage error; 3 error.\n";

/* Bytes hooks have spooled and the daemon has not drained yet. */
static uint64_t spool_bytes(struct cli *c)
{
	char dir[4300], p[4600];
	uint64_t total = 0;
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (cli_state_path(c, dir, sizeof(dir), WIRE_SPOOL_DIR) < 0 || !(d = opendir(dir)))
		return 0;
	while ((de = readdir(d)))
		if (strstr(de->d_name, ".vgw") && vg_path(p, sizeof(p), "%s/%s", dir, de->d_name) == 0 &&
		    stat(p, &st) == 0)
			total += (uint64_t)st.st_size;
	closedir(d);
	return total;
}

static void print_status(struct cli *c, json_t *j)
{
	json_t *lg = json_object_get(j, "ledger"), *ix = json_object_get(j, "index"),
	       *ev = json_object_get(j, "events");
	uint64_t up = (uint64_t)json_integer_value(json_object_get(j, "uptime_s"));
	json_int_t durable = json_integer_value(json_object_get(lg, "durable_seq"));
	json_int_t indexed = json_integer_value(json_object_get(ix, "last_seq"));
	json_int_t last_event = json_integer_value(json_object_get(lg, "last_event_seq"));
	const char *lerr = json_string_value(json_object_get(lg, "error"));
	const char *ierr = json_string_value(json_object_get(ix, "error"));

#define I(o, k) ((long long)json_integer_value(json_object_get((o), (k))))
	printf("%svigild is running%s (pid %lld, up %" PRIu64 "h%02" PRIu64 "m%02" PRIu64 "s)\n",
	       cli_c(c, CLI_GREEN), cli_c(c, CLI_RESET), I(j, "pid"), up / 3600, up / 60 % 60,
	       up % 60);
	printf("  state dir   %s\n", json_string_value(json_object_get(j, "state_dir")));
	printf("  socket      %s\n", json_string_value(json_object_get(j, "socket")));
	printf("  ledger      durable through seq %lld, sealed through %lld, segment %lld%s%s\n",
	       (long long)durable, I(lg, "sealed_seq"), I(lg, "segment"), lerr ? "; error: " : "",
	       lerr ? lerr : "");
	printf("  index       through seq %lld%s%s%s\n", (long long)indexed,
	       indexed >= last_event && !json_integer_value(json_object_get(ix, "pending"))
		       ? " (up to date)"
		       : " (catching up)",
	       ierr ? "; error: " : "",
	       ierr ? ierr : "");
	printf("  events      %lld received, %lld recorded, %lld invalid, %lld failed, "
	       "%lld tool calls abandoned\n",
	       I(ev, "received"), I(ev, "appended"), I(ev, "invalid"), I(ev, "failed"),
	       I(ev, "abandoned"));
	printf("  spool       %lld drained (%lld duplicates dropped), %" PRIu64
	       " bytes waiting\n",
	       I(ev, "spooled_drained"), I(ev, "spool_duplicates"), spool_bytes(c));
	printf("  connections %lld open, %lld since start\n", I(ev, "connections"),
	       I(ev, "connections_total"));
	{
		json_t *ru = json_object_get(j, "rules"), *al = json_object_get(j, "alerts");
		json_t *chans = json_object_get(json_object_get(al, "notifications"), "channels");

		if (json_is_object(ru))
			printf("  rules       %lld (%lld correlation), %lld with errors left out, "
			       "loaded %s, %lld hits over %lld events\n",
			       I(ru, "rules"), I(ru, "correlation"), I(ru, "errors"),
			       json_string_value(json_object_get(ru, "loaded"))
				       ? json_string_value(json_object_get(ru, "loaded"))
				       : "-",
			       I(ru, "hits"), I(ru, "events_evaluated"));
		if (json_is_object(al))
			printf("  alerts      %lld open in memory, %lld opened since start, %lld "
			       "handed to the notifier\n",
			       I(al, "open"), I(al, "opened"), I(al, "notified"));
		for (size_t i = 0; i < json_array_size(chans); i++) {
			json_t *ch = json_array_get(chans, i);
			const char *le = json_string_value(json_object_get(ch, "last_error"));

			printf("  channel     %-10s %lld sent, %lld failed, %lld retried, %lld dropped, "
			       "%lld suppressed%s%s\n",
			       json_string_value(json_object_get(ch, "name"))
				       ? json_string_value(json_object_get(ch, "name"))
				       : "?",
			       I(ch, "sent"), I(ch, "failed"), I(ch, "retried"), I(ch, "dropped"),
			       I(ch, "suppressed"), le ? "; last error: " : "", le ? le : "");
		}
	}
#undef I
}

int cmd_status(struct cli *c, int argc, char **argv)
{
	struct ctl_args a = { 0 };
	size_t n = 0;
	char *out = NULL;
	json_t *j;
	int rc = parse_ctl(c, "status", status_usage, argc, argv, &a);

	if (rc)
		return rc < 0 ? CLI_OK : rc;
	rc = cli_control(c, WIRE_STATUS, NULL, 0, &out, &n);
	if (rc < 0) {
		long pid = daemon_pid(c);

		if (a.json) {
			print_json(json_pack("{s:b, s:s, s:I, s:s}", "running", 0, "state_dir",
					     c->state_dir, "spool_bytes", (json_int_t)spool_bytes(c),
					     "error", strerror(-rc)));
		} else if (pid) {
			printf("vigild holds %s/vigild.pid (pid %ld) but does not answer: %s\n",
			       c->state_dir, pid, strerror(-rc));
		} else {
			printf("vigild is not running for %s (start it with 'vigil up')\n",
			       c->state_dir);
			if (spool_bytes(c))
				printf("  %" PRIu64 " bytes of spooled events wait for it\n",
				       spool_bytes(c));
		}
		return CLI_FAIL;
	}
	j = json_loadb(out, n, 0, NULL);
	vg_free(out);
	if (!json_is_object(j)) {
		json_decref(j);
		cli_error("the daemon's status is not a JSON object");
		return CLI_ERROR;
	}
	if (a.json) {
		json_object_set_new(j, "running", json_true());
		json_object_set_new(j, "spool_bytes", json_integer((json_int_t)spool_bytes(c)));
		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		print_status(c, j);
	}
	json_decref(j);
	return CLI_OK;
}

/* ---- vigil up ------------------------------------------------------------------- */

static const char up_usage[] =
	"usage: vigil up [--config FILE] [--foreground] [--json]\n"
	"\n"
	"Starts the capture daemon (vigild) for the state directory and returns once it\n"
	"listens on STATE/vigild.sock (or $VIGIL_SOCKET).  Creates the keys first when the\n"
	"state directory has none ('vigil keys init').  Does nothing when it already runs.\n"
	"The daemon opens no network port; it logs to STATE/vigild.log.\n"
	"\n"
	"Options:\n"
	"  --config FILE       vigil.yaml to run with (default: $VIGIL_CONFIG, else\n"
	"                      ~/.config/vigil/vigil.yaml, else /etc/vigil/vigil.yaml;\n"
	"                      see docs/config.md); checked before the daemon starts\n"
	"  --foreground        run the daemon in this terminal (logs to stderr; Ctrl-C\n"
	"                      stops it)\n"
	"  --json              print the outcome as JSON\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 running; 3 it could not start (the reason is printed).\n";

static void say_up(bool json, const char *what, long pid, const char *state)
{
	if (json)
		print_json(json_pack("{s:b, s:b, s:I, s:s}", "running", 1, "started",
				     !strcmp(what, "started"), "pid", (json_int_t)pid, "state_dir",
				     state));
	else
		printf("vigild %s (pid %ld, state %s)\n", what, pid, state);
}

int cmd_up(struct cli *c, int argc, char **argv)
{
	struct ctl_args a = { 0 };
	char vigild[PATH_MAX], key[4300], *out = NULL;
	size_t n;
	pid_t pid;
	int rc = parse_ctl(c, "up", up_usage, argc, argv, &a), status;

	if (rc)
		return rc < 0 ? CLI_OK : rc;
	if (cli_control(c, WIRE_STATUS, NULL, 0, &out, &n) == 0) {
		vg_free(out);
		say_up(a.json, "is already running", daemon_pid(c), c->state_dir);
		return CLI_OK;
	}
	if (cli_find_program("vigild", "daemon", vigild, sizeof(vigild)) < 0) {
		cli_error("cannot find the vigild program next to vigil or on PATH");
		return CLI_ERROR;
	}
	if (cli_state_path(c, key, sizeof(key), "keys/" LEDGER_SIGNING_KEY_FILE) == 0 &&
	    access(key, F_OK) < 0 && !getenv("VIGIL_SIGNING_KEY")) {
		char *kargv[] = { (char *)"keys", (char *)"init", NULL };

		if (!a.json)
			printf("No keys yet in %s/keys: creating them.\n", c->state_dir);
		fflush(stdout);
		if (a.json) {
			/* Keep stdout one JSON document: the key report goes to stderr. */
			int saved = dup(STDOUT_FILENO);

			dup2(STDERR_FILENO, STDOUT_FILENO);
			rc = cmd_keys(c, 2, kargv);
			fflush(stdout);
			dup2(saved, STDOUT_FILENO);
			close(saved);
		} else {
			rc = cmd_keys(c, 2, kargv);
		}
		if (rc != CLI_OK)
			return CLI_ERROR;
	}
	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		return CLI_ERROR;
	}
	if (pid == 0) {
		if (a.config[0])
			execl(vigild, "vigild", "--state-dir", c->state_dir, "--config", a.config,
			      a.foreground ? "--foreground" : "--daemon", (char *)NULL);
		else
			execl(vigild, "vigild", "--state-dir", c->state_dir,
			      a.foreground ? "--foreground" : "--daemon", (char *)NULL);
		fprintf(stderr, "vigil: error: cannot run %s: %s\n", vigild, strerror(errno));
		_exit(127);
	}
	if (a.foreground) {
		/* Ctrl-C goes to the daemon (same process group); we just wait. */
		signal(SIGINT, SIG_IGN);
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR) {
			cli_error("waitpid: %s", strerror(errno));
			return CLI_ERROR;
		}
	if (a.foreground)
		return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? CLI_OK : CLI_ERROR;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* vigild printed why. */
		return WIFEXITED(status) && WEXITSTATUS(status) == 1 ? CLI_OK : CLI_ERROR;
	}
	say_up(a.json, "started", daemon_pid(c), c->state_dir);
	return CLI_OK;
}

/* ---- vigil down ----------------------------------------------------------------- */

static const char down_usage[] =
	"usage: vigil down [--timeout DURATION] [--json]\n"
	"\n"
	"Stops the capture daemon cleanly: it stops accepting hooks (they spool their\n"
	"events meanwhile), makes everything durable, seals the ledger with a signed\n"
	"checkpoint, finishes indexing and exits.  Past the timeout (default 30s) it is\n"
	"sent SIGTERM, then SIGKILL.  Does nothing when no daemon runs.\n"
	"\n"
	"Options:\n"
	"  --timeout DURATION  how long to wait (default 30s)\n"
	"  --json              print the outcome as JSON\n"
	"  --state-dir DIR     state directory\n"
	"\n"
	"Exit status: 0 stopped (or was not running); 3 it could not be stopped.\n";

static bool wait_gone(struct cli *c, uint64_t ms)
{
	uint64_t end = vg_mono_ns() + ms * 1000000ull;

	while (daemon_pid(c)) {
		struct timespec ts = { 0, 20000000 };

		if (vg_mono_ns() >= end)
			return false;
		nanosleep(&ts, NULL);
	}
	return true;
}

int cmd_down(struct cli *c, int argc, char **argv)
{
	struct ctl_args a = { .timeout_s = 30 };
	const char *how = "stopped";
	char *out = NULL;
	size_t n;
	long pid;
	int rc = parse_ctl(c, "down", down_usage, argc, argv, &a);

	if (rc)
		return rc < 0 ? CLI_OK : rc;
	pid = daemon_pid(c);
	rc = cli_control(c, WIRE_SHUTDOWN, NULL, 0, &out, &n);
	vg_free(out);
	if (rc < 0 && !pid) {
		if (a.json)
			print_json(json_pack("{s:b, s:b, s:s}", "running", 0, "stopped", 0,
					     "state_dir", c->state_dir));
		else
			printf("vigild is not running for %s\n", c->state_dir);
		return CLI_OK;
	}
	if (!wait_gone(c, a.timeout_s * 1000)) {
		if (pid > 0) {
			how = "stopped with SIGTERM";
			kill((pid_t)pid, SIGTERM);
			if (!wait_gone(c, 5000)) {
				how = "killed with SIGKILL";
				kill((pid_t)pid, SIGKILL);
				wait_gone(c, 5000);
			}
		}
		if (daemon_pid(c)) {
			cli_error("vigild (pid %ld) did not stop", pid);
			return CLI_ERROR;
		}
	}
	if (a.json)
		print_json(json_pack("{s:b, s:b, s:I, s:s, s:s}", "running", 0, "stopped", 1, "pid",
				     (json_int_t)pid, "how", how, "state_dir", c->state_dir));
	else
		printf("vigild %s (pid %ld)\n", how, pid);
	return CLI_OK;
}
