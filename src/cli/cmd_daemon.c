/*
 * cmd_daemon.c - `vigil up`, `vigil down`, `vigil status`: start, stop and
 * ask the capture daemon (vigild) of a state directory, over its unix socket.
 */
#include "options.h"
#include "wire.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
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

struct ctl_opts {
	bool foreground;
	uint64_t timeout_s;
};

/* 0 with the state directory resolved, or the exit status of cli_parse. */
static int parse_ctl(struct cli *c, const struct cli_cmd *cmd, struct ctl_opts *o, int argc,
		     char **argv)
{
	int rc = cli_parse(c, cmd, o, &argc, &argv);

	if (rc != CLI_CONTINUE)
		return rc;
	return cli_state(c) < 0 ? CLI_ERROR : CLI_CONTINUE;
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

static const struct cli_option status_options[] = {
	CLI_OPT_JSON("print the status as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd status_cmd = {
	.name = "status",
	.usage = "usage: vigil status [--json]\n"
		 "\n"
		 "Shows whether the capture daemon of the state directory runs and what it has\n"
		 "done: pid, uptime, socket, ledger sequence numbers (appended, durable, sealed),\n"
		 "how far the index has caught up, event counts, and events waiting in the spool.\n",
	.options = status_options,
	.footer = "Exit status: 0 the daemon runs; 1 it does not; 2 usage error; 3 error.\n",
	.max_args = 0,
};

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
	struct ctl_opts a = { 0 };
	size_t n = 0;
	char *out = NULL;
	json_t *j;
	int rc = parse_ctl(c, &status_cmd, &a, argc, argv);

	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_control(c, WIRE_STATUS, NULL, 0, &out, &n);
	if (cli_control_denied(c, rc))
		return CLI_ERROR;
	if (rc < 0) {
		long pid = daemon_pid(c);

		if (c->json) {
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
	if (c->json) {
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

static int opt_abs_path(const struct cli_optarg *p, const char *arg);

static const struct cli_option up_options[] = {
	{ .type = CLI_OPT_CALLBACK, .long_name = "config", .flags = CLI_OPTF_CLI,
	  .off = offsetof(struct cli, config), .arg = CLI_ARG_REQUIRED, .cb = opt_abs_path,
	  .argh = "FILE",
	  .help = "vigil.yaml to run with (default: $VIGIL_CONFIG, else\n"
		  "~/.config/vigil/vigil.yaml, else /etc/vigil/vigil.yaml;\n"
		  "see docs/config.md); checked before the daemon starts" },
	CLI_FLAG("foreground", 0, struct ctl_opts, foreground,
		 "run the daemon in this terminal (logs to stderr; Ctrl-C\n"
		 "stops it)"),
	CLI_OPT_JSON("print the outcome as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd up_cmd = {
	.name = "up",
	.usage = "usage: vigil up [--config FILE] [--foreground] [--json]\n"
		 "\n"
		 "Starts the capture daemon (vigild) for the state directory and returns once it\n"
		 "listens on STATE/vigild.sock (or $VIGIL_SOCKET).  Creates the keys first when the\n"
		 "state directory has none ('vigil keys init').  Does nothing when it already runs.\n"
		 "The daemon opens no network port; it logs to STATE/vigild.log.\n",
	.options = up_options,
	.footer = "Exit status: 0 running; 3 it could not start (the reason is printed).\n",
	.max_args = 0,
};

/* up --config: the daemon runs from another directory, so the path is made
 * absolute (in c->config_abs). */
static int opt_abs_path(const struct cli_optarg *p, const char *arg)
{
	if (cli_absolutize(arg, p->c->config_abs, sizeof(p->c->config_abs)) < 0)
		return cli_usage_error(p->cmd, "--config: path too long");
	p->c->config = p->c->config_abs;
	return 0;
}

static void say_up(bool json, const char *what, long pid, const char *state)
{
	if (json)
		print_json(json_pack("{s:b, s:b, s:I, s:s}", "running", 1, "started",
				     !strcmp(what, "started"), "pid", (json_int_t)pid, "state_dir",
				     state));
	else
		printf("vigild %s (pid %ld, state %s)\n", what, pid, state);
}

/* Creates the keys when the state directory has none; the exit status. */
static int up_keys(struct cli *c)
{
	char key[4300];
	bool json = c->json;
	int rc;

	if (cli_state_path(c, key, sizeof(key), "keys/" LEDGER_SIGNING_KEY_FILE) < 0 ||
	    access(key, F_OK) == 0 || getenv(VG_SIGNING_KEY_ENV))
		return CLI_OK;
	if (!json)
		printf("No keys yet in %s/keys: creating them.\n", c->state_dir);
	fflush(stdout);
	/* The key report is text; with --json it goes to stderr, to keep stdout
	 * one JSON document. */
	c->json = false;
	if (json) {
		int saved = dup(STDOUT_FILENO);

		dup2(STDERR_FILENO, STDOUT_FILENO);
		rc = cli_keys_init(c, LEDGER_DEFAULT_EPOCH_SECONDS, false, NULL);
		fflush(stdout);
		dup2(saved, STDOUT_FILENO);
		close(saved);
	} else {
		rc = cli_keys_init(c, LEDGER_DEFAULT_EPOCH_SECONDS, false, NULL);
	}
	c->json = json;
	return rc == CLI_OK ? CLI_OK : CLI_ERROR;
}

/* Runs vigild (it detaches, or stays in front with --foreground) and waits
 * for it; 0 with *status its wait status, or CLI_ERROR. */
static int up_run(struct cli *c, const struct ctl_opts *a, const char *vigild, int *status)
{
	pid_t pid;

	fflush(stdout);
	pid = fork();
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		return CLI_ERROR;
	}
	if (pid == 0) {
		if (c->config)
			execl(vigild, "vigild", "--state-dir", c->state_dir, "--config", c->config,
			      a->foreground ? "--foreground" : "--daemon", (char *)NULL);
		else
			execl(vigild, "vigild", "--state-dir", c->state_dir,
			      a->foreground ? "--foreground" : "--daemon", (char *)NULL);
		fprintf(stderr, "vigil: error: cannot run %s: %s\n", vigild, strerror(errno));
		_exit(127);
	}
	if (a->foreground) {
		/* Ctrl-C goes to the daemon (same process group); we just wait. */
		signal(SIGINT, SIG_IGN);
	}
	while (waitpid(pid, status, 0) < 0)
		if (errno != EINTR) {
			cli_error("waitpid: %s", strerror(errno));
			return CLI_ERROR;
		}
	return 0;
}

int cmd_up(struct cli *c, int argc, char **argv)
{
	struct ctl_opts a = { 0 };
	char vigild[PATH_MAX], *out = NULL;
	size_t n;
	int rc = parse_ctl(c, &up_cmd, &a, argc, argv), status;

	if (rc != CLI_CONTINUE)
		return rc;
	rc = cli_control(c, WIRE_STATUS, NULL, 0, &out, &n);
	if (rc == 0) {
		vg_free(out);
		say_up(c->json, "is already running", daemon_pid(c), c->state_dir);
		return CLI_OK;
	}
	if (cli_control_denied(c, rc))
		return CLI_ERROR;
	if (cli_find_program("vigild", "daemon", vigild, sizeof(vigild)) < 0) {
		cli_error("cannot find the vigild program next to vigil or on PATH");
		return CLI_ERROR;
	}
	if ((rc = up_keys(c)) != CLI_OK || (rc = up_run(c, &a, vigild, &status)) != 0)
		return rc;
	if (a.foreground)
		return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? CLI_OK : CLI_ERROR;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
		/* vigild printed why. */
		return WIFEXITED(status) && WEXITSTATUS(status) == 1 ? CLI_OK : CLI_ERROR;
	}
	say_up(c->json, "started", daemon_pid(c), c->state_dir);
	return CLI_OK;
}

/* ---- vigil down ----------------------------------------------------------------- */

static const struct cli_option down_options[] = {
	CLI_DURATION("timeout", struct ctl_opts, timeout_s, 1, 3600, "between 1s and 1h",
		     "DURATION", "how long to wait (default 30s)"),
	CLI_OPT_JSON("print the outcome as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd down_cmd = {
	.name = "down",
	.usage = "usage: vigil down [--timeout DURATION] [--json]\n"
		 "\n"
		 "Stops the capture daemon cleanly: it stops accepting hooks (they spool their\n"
		 "events meanwhile), makes everything durable, seals the ledger with a signed\n"
		 "checkpoint, finishes indexing and exits.  Past the timeout (default 30s) it is\n"
		 "sent SIGTERM, then SIGKILL.  Does nothing when no daemon runs.\n",
	.options = down_options,
	.footer = "Exit status: 0 stopped (or was not running); 3 it could not be stopped.\n",
	.max_args = 0,
};

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
	struct ctl_opts a = { .timeout_s = 30 };
	const char *how = "stopped";
	char *out = NULL;
	size_t n;
	long pid;
	int rc = parse_ctl(c, &down_cmd, &a, argc, argv);

	if (rc != CLI_CONTINUE)
		return rc;
	pid = daemon_pid(c);
	rc = cli_control(c, WIRE_SHUTDOWN, NULL, 0, &out, &n);
	vg_free(out);
	if (cli_control_denied(c, rc))
		return CLI_ERROR;
	if (rc < 0 && !pid) {
		if (c->json)
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
	if (c->json)
		print_json(json_pack("{s:b, s:b, s:I, s:s, s:s}", "running", 0, "stopped", 1, "pid",
				     (json_int_t)pid, "how", how, "state_dir", c->state_dir));
	else
		printf("vigild %s (pid %ld)\n", how, pid);
	return CLI_OK;
}
