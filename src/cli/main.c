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
	const char *nc = getenv("NO_COLOR"), *term = getenv("TERM");
	int i = 1;

	vg_log_set_prefix("vigil");
	/* Every allocation goes through one wrapper, jansson's too (tests can
	 * make them fail). */
	json_set_alloc_funcs(vg_malloc, vg_free);
	c.color = isatty(STDOUT_FILENO) && !(nc && *nc) && term && strcmp(term, "dumb") != 0;
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
