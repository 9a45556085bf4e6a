/*
 * main.c - the vigil command: global options and dispatch to subcommands.
 */
#include "cli.h"
#include "options.h"
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
	/* The subcommands its run() takes as its first operand, for the shell
	 * completions (NULL-terminated; NULL: none). */
	const char *const *subs;
};

static const char *const keys_subs[] = { "init", "show", NULL };
static const char *const alerts_subs[] = { "show", "stats", "ack", "resolve", NULL };
static const char *const rules_subs[] = { "list", "validate", "test", "reload", NULL };

static const struct command commands[] = {
	{ "install", cmd_install, NULL },
	{ "uninstall", cmd_uninstall, NULL },
	{ "keys", cmd_keys, keys_subs },
	{ "import", cmd_import, NULL },
	{ "checkpoint", cmd_checkpoint, NULL },
	{ "verify", cmd_verify, NULL },
	{ "up", cmd_up, NULL },
	{ "down", cmd_down, NULL },
	{ "status", cmd_status, NULL },
	{ "tail", cmd_tail, NULL },
	{ "events", cmd_events, NULL },
	{ "sessions", cmd_sessions, NULL },
	{ "replay", cmd_replay, NULL },
	{ "reindex", cmd_reindex, NULL },
	{ "sql", cmd_sql, NULL },
	{ "alerts", cmd_alerts, alerts_subs },
	{ "rules", cmd_rules, rules_subs },
};

/*
 * `vigil --completion-helper`: the global options and the commands (with
 * their subcommands) as JSON; each command's options come from
 * `vigil COMMAND [SUB] --completion-helper` (options.h).
 */
static int completion_data(void)
{
	json_t *j = json_object(), *g = json_array(), *cmds = json_array();

	json_array_append_new(g, cli_completion_option("state-dir", 0, "DIR", false,
						       "state directory", NULL));
	json_array_append_new(g, cli_completion_option("version", 0, NULL, false,
						       "print the version", NULL));
	json_array_append_new(g, cli_completion_option("verbose", 'v', NULL, false,
						       "log debug messages", NULL));
	json_array_append_new(g, cli_completion_option("help", 'h', NULL, false, "show this help",
						       NULL));
	for (size_t i = 0; i < VG_ARRAY_LEN(commands); i++) {
		json_t *subs = json_array();

		for (size_t k = 0; commands[i].subs && commands[i].subs[k]; k++)
			json_array_append_new(subs, json_string(commands[i].subs[k]));
		json_array_append_new(cmds, json_pack("{s:s, s:o}", "name", commands[i].name,
						      "subcommands", subs));
	}
	json_array_append_new(cmds, json_pack("{s:s, s:[]}", "name", "help", "subcommands"));
	json_object_set_new(j, "global", g);
	json_object_set_new(j, "commands", cmds);
	json_dumpf(j, stdout, JSON_PRESERVE_ORDER | JSON_COMPACT);
	fputc('\n', stdout);
	json_decref(j);
	return CLI_OK;
}

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
		} else if (!strcmp(a, CLI_COMPLETION_HELPER)) {
			return completion_data();
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
