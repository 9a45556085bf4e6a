/*
 * main.c - the vigil command: global options and dispatch to subcommands.
 */
#include "cli.h"
#include "vigil_config.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <limits.h>
#include <unistd.h>

static const char usage[] =
	"usage: vigil [--state-dir DIR] COMMAND [OPTIONS]\n"
	"\n"
	"vigil is a tamper-evident flight recorder for AI coding agents.\n"
	"\n"
	"Commands:\n"
	"  install           add vigil's hooks to Claude Code (or Codex, Gemini) settings\n"
	"  uninstall         remove vigil's hooks from those settings\n"
	"  keys init         create the signing key and the forward-secure MAC key\n"
	"  keys show         show the public key fingerprint and key files\n"
	"  import FILE...    append recorded hook payloads or events to the ledger\n"
	"  checkpoint        print the newest signed checkpoint, to keep elsewhere\n"
	"  verify            prove the ledger intact, or show where it was changed\n"
	"  up                start the capture daemon (vigild)\n"
	"  down              stop it cleanly (everything durable and sealed)\n"
	"  status            is it running, and what has it recorded\n"
	"  tail [-f]         the latest events; -f follows new ones as they arrive\n"
	"  events            list events (filters: session, tool, hook, type, risk, time,\n"
	"                    text)\n"
	"  sessions          sessions with duration, tool calls, failures, risk\n"
	"  replay SESSION    one session as a timeline, tool calls paired\n"
	"  reindex           rebuild the index from the ledger\n"
	"  sql QUERY         read-only SQL over the index\n"
	"  alerts            alerts raised by the rules: show, stats, ack, resolve\n"
	"  rules             the detection rules: list, validate, test, reload\n"
	"  help [COMMAND]    show help for a command\n"
	"\n"
	"Global options:\n"
	"  --state-dir DIR   state directory (default: $VIGIL_STATE_DIR, else\n"
	"                    $XDG_STATE_HOME/vigil, else ~/.local/state/vigil)\n"
	"  --version         print the version\n"
	"  -h, --help        show this help\n"
	"\n"
	"Run 'vigil COMMAND --help' for a command's options; 'man vigil' for more.\n";

void cli_error(const char *fmt, ...)
{
	char msg[2048];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil: error: %s\n", msg);
}

int cli_usage_error(const char *cmd, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fprintf(stderr, "vigil %s: %s\nTry 'vigil %s --help'.\n", cmd, msg, cmd);
	return CLI_USAGE;
}

const char *cli_c(const struct cli *c, const char *code)
{
	static const char *const codes[][2] = {
		{ CLI_RED, "\033[31m" },   { CLI_GREEN, "\033[32m" }, { CLI_YELLOW, "\033[33m" },
		{ CLI_BOLD, "\033[1m" },   { CLI_RESET, "\033[0m" },
	};

	if (!c->color)
		return "";
	for (size_t i = 0; i < VG_ARRAY_LEN(codes); i++)
		if (!strcmp(codes[i][0], code))
			return codes[i][1];
	return "";
}

static bool is_program(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, X_OK) == 0;
}

int cli_find_program(const char *name, const char *subdir, char *out, size_t cap)
{
	char self[PATH_MAX], *slash;
	ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
	const char *path = getenv("PATH");

	if (n > 0) {
		self[n] = '\0';
		slash = strrchr(self, '/');
		if (slash) {
			*slash = '\0';
			if (vg_path(out, cap, "%s/%s", self, name) == 0 && is_program(out))
				return 0;
			slash = strrchr(self, '/');
			if (slash) {
				*slash = '\0';
				if (vg_path(out, cap, "%s/%s/%s", self, subdir, name) == 0 &&
				    is_program(out))
					return 0;
			}
		}
	}
	/* Only absolute entries: agents run hooks from other directories. */
	while (path && *path) {
		const char *end = strchr(path, ':');
		size_t len = end ? (size_t)(end - path) : strlen(path);

		if (len && path[0] == '/' &&
		    vg_path(out, cap, "%.*s/%s", (int)len, path, name) == 0 && is_program(out))
			return 0;
		path = end ? end + 1 : NULL;
	}
	if (cap)
		out[0] = '\0';
	return -ENOENT;
}

int cli_set_state_dir(struct cli *c, const char *v)
{
	if (!v || !*v || vg_path(c->state_override, sizeof(c->state_override), "%s", v) < 0) {
		cli_error("--state-dir needs a directory path of at most %zu bytes",
			  sizeof(c->state_override) - 1);
		return -EINVAL;
	}
	return 0;
}

int cli_state(struct cli *c)
{
	int rc = vg_state_dir(c->state_override, c->state_dir, sizeof(c->state_dir));

	if (rc < 0)
		cli_error("cannot find a state directory: set --state-dir, VIGIL_STATE_DIR or HOME");
	return rc;
}

int cli_state_path(struct cli *c, char *out, size_t cap, const char *rel)
{
	return vg_path(out, cap, "%s/%s", c->state_dir, rel);
}

/* Nothing but spaces, tabs and CRs (a CRLF file's empty lines). */
static bool blank_line(const struct vbuf *line)
{
	for (size_t i = 0; i < line->len; i++)
		if (line->data[i] != ' ' && line->data[i] != '\t' && line->data[i] != '\r')
			return false;
	return true;
}

int cli_read_lines(FILE *f, size_t max_line, cli_line_fn fn, void *arg)
{
	struct vbuf line;
	char chunk[65536];
	uint64_t lineno = 1;
	bool too_long = false, go = true;
	size_t n;
	int rc = 0, saved;

	/* The line buffer's own limit is the line limit: an append that fails
	 * marks the line too long, and the rest of it up to the newline is
	 * dropped instead of buffered. */
	vbuf_init(&line, max_line);
	while (go && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		size_t off = 0;

		while (go && off < n) {
			char *nl = memchr(chunk + off, '\n', n - off);
			size_t take = nl ? (size_t)(nl - (chunk + off)) : n - off;

			if (!too_long && vbuf_append(&line, chunk + off, take) < 0) {
				too_long = true;
				vbuf_reset(&line);
			}
			off += take;
			if (!nl)
				break;
			off++; /* the newline */
			if (too_long || !blank_line(&line))
				go = fn(arg, lineno, (const char *)line.data, line.len, too_long);
			too_long = false;
			vbuf_reset(&line);
			lineno++;
		}
	}
	/* A failed read may have cut the last line short: it is not handed on. */
	if (ferror(f)) {
		rc = -EIO;
		goto out;
	}
	/* A last line without a newline. */
	if (go && (too_long || !blank_line(&line)))
		fn(arg, lineno, (const char *)line.data, line.len, too_long);
out:
	saved = errno;
	vbuf_release(&line);
	errno = saved;
	return rc;
}

struct command {
	const char *name;
	int (*run)(struct cli *c, int argc, char **argv);
};

static const struct command commands[] = {
	{ "install", cmd_install },
	{ "uninstall", cmd_uninstall },
	{ "keys", cmd_keys },
	{ "import", cmd_import },
	{ "checkpoint", cmd_checkpoint },
	{ "verify", cmd_verify },
	{ "up", cmd_up },
	{ "down", cmd_down },
	{ "status", cmd_status },
	{ "tail", cmd_tail },
	{ "events", cmd_events },
	{ "sessions", cmd_sessions },
	{ "replay", cmd_replay },
	{ "reindex", cmd_reindex },
	{ "sql", cmd_sql },
	{ "alerts", cmd_alerts },
	{ "rules", cmd_rules },
};

static const struct command *find_command(const char *name)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++)
		if (!strcmp(commands[i].name, name))
			return &commands[i];
	return NULL;
}

int main(int argc, char **argv)
{
	struct cli c = { 0 };
	const struct command *cmd;
	const char *nc = getenv("NO_COLOR");
	int i = 1;

	vg_log_set_prefix("vigil");
	/* Every allocation goes through one wrapper, jansson's too (tests can
	 * make them fail). */
	json_set_alloc_funcs(vg_malloc, vg_free);
	c.color = isatty(STDOUT_FILENO) && !(nc && *nc) && getenv("TERM") &&
		  strcmp(getenv("TERM"), "dumb") != 0;
	c.progress = isatty(STDERR_FILENO);

	while (i < argc && argv[i][0] == '-') {
		const char *a = argv[i];

		if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			fputs(usage, stdout);
			return CLI_OK;
		} else if (!strcmp(a, "--version")) {
			printf("vigil %s\n", VIGIL_VERSION);
			return CLI_OK;
		} else if (!strcmp(a, "--state-dir") && i + 1 < argc) {
			if (cli_set_state_dir(&c, argv[i + 1]) < 0)
				return CLI_USAGE;
			i += 2;
		} else if (!strncmp(a, "--state-dir=", 12)) {
			if (cli_set_state_dir(&c, a + 12) < 0)
				return CLI_USAGE;
			i++;
		} else if (!strcmp(a, "-v") || !strcmp(a, "--verbose")) {
			vg_log_set_level(VG_LOG_DEBUG);
			i++;
		} else {
			fprintf(stderr, "vigil: unknown option '%s'\nTry 'vigil --help'.\n", a);
			return CLI_USAGE;
		}
	}
	if (i >= argc) {
		fputs(usage, stderr);
		return CLI_USAGE;
	}
	if (!strcmp(argv[i], "help")) {
		char *help_argv[] = { argv[i + 1], (char *)"--help", NULL };

		if (i + 1 >= argc) {
			fputs(usage, stdout);
			return CLI_OK;
		}
		cmd = find_command(argv[i + 1]);
		if (!cmd) {
			fprintf(stderr, "vigil: no such command '%s'\nTry 'vigil --help'.\n",
				argv[i + 1]);
			return CLI_USAGE;
		}
		return cmd->run(&c, 2, help_argv);
	}
	cmd = find_command(argv[i]);
	if (!cmd) {
		fprintf(stderr, "vigil: no such command '%s'\nTry 'vigil --help'.\n", argv[i]);
		return CLI_USAGE;
	}
	return cmd->run(&c, argc - i, argv + i);
}
