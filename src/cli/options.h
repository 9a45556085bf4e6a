/*
 * options.h - the command line of every vigil command, as tables.
 * Internal to src/cli/.
 *
 * A command is a struct cli_cmd: its usage text, a table of options and the
 * text after them.  One parser (cli_parse) reads the command line against
 * the table, writing each value into the command's own options struct at
 * the entry's offset (or into struct cli for the options every command
 * shares), and prints --help from the same table, so an option's name, its
 * argument and its help are written once.  The shared options (--state-dir,
 * --json, --quiet, --config, --agent, --help) have one entry macro and one
 * handler each.
 *
 * Tables are static and const; the parser keeps no state between calls.
 */
#ifndef VIGIL_CLI_OPTIONS_H
#define VIGIL_CLI_OPTIONS_H

#include "cli.h"

#include <stddef.h>
#include <stdint.h>

enum cli_opt_type {
	CLI_OPT_END = 0,   /* ends a table */
	CLI_OPT_GROUP,	   /* a heading in --help ("Options:"); help is the heading */
	CLI_OPT_FLAG,	   /* bool: set to true */
	CLI_OPT_SET_INT,   /* int: set to .ival */
	CLI_OPT_STRING,	   /* const char *: the argument (it lives in argv) */
	CLI_OPT_UINT,	   /* uint64_t: a decimal number from .min to .max */
	CLI_OPT_SIZE,	   /* uint64_t: vg_parse_size, from .min to .max; .range says so */
	CLI_OPT_DURATION,  /* uint64_t seconds: vg_parse_duration, .min to .max; .range */
	CLI_OPT_CALLBACK,  /* .cb decides; .arg says whether it takes an argument */
};

enum cli_opt_arg { CLI_ARG_NONE, CLI_ARG_REQUIRED, CLI_ARG_OPTIONAL };

/* Entry flags. */
#define CLI_OPTF_CLI	0x1u /* .off is into struct cli, not the command's struct */
#define CLI_OPTF_HIDDEN 0x2u /* accepted, not listed by --help */

struct cli_option;

/* What an option handler sees: the context, the command (for messages) and
 * where the entry's value lives. */
struct cli_optarg {
	struct cli *c;
	const char *cmd; /* "import", "alerts stats" */
	const struct cli_option *opt;
	void *value; /* the field at .off */
};

/* Returns 0, or an exit status after printing why (cli_usage_error). */
typedef int (*cli_opt_fn)(const struct cli_optarg *p, const char *arg);

struct cli_option {
	enum cli_opt_type type;
	const char *long_name; /* without "--" */
	char short_name;       /* 0: none */
	unsigned flags;	       /* CLI_OPTF_* */
	size_t off;	       /* of the value in the options struct (or struct cli) */
	enum cli_opt_arg arg;  /* CLI_OPT_CALLBACK only */
	cli_opt_fn cb;
	int ival;		/* CLI_OPT_SET_INT */
	uint64_t min, max;	/* CLI_OPT_UINT, _SIZE, _DURATION */
	const char *range;	/* _SIZE, _DURATION: "between 16 and 16M" */
	const char *argh;	/* the argument's name in --help: "DIR" */
	const char *help;	/* lines separated by '\n', without the last one's */
};

/* The command itself. */
struct cli_cmd {
	const char *name;  /* as in messages: "import", "alerts stats" */
	const char *usage; /* "usage: ..." and the description, each line ending in '\n' */
	const struct cli_option *options;
	const char *footer; /* after the options ("Exit status: ..."); may be NULL */
	unsigned flags;	    /* CLI_CMD_* */
	int max_args;	    /* more operands are a usage error; -1: any number */
	/* --help prints this command's help instead (subcommands that share one
	 * page, such as `alerts stats` and `alerts show`); NULL: its own. */
	const struct cli_cmd *help_of;
};

/* Options end at the first operand (sql: a query may look like an option). */
#define CLI_CMD_OPERANDS_END 0x1u

/* cli_parse's "nothing printed, run the command". */
#define CLI_CONTINUE (-1)

/*
 * Parses argv[1..argc-1] (argv[0] is the command's name) against cmd's
 * table, writing values into opts (the command's options struct) and c.
 * On CLI_CONTINUE, *argc and *argv are the operands left (argv[0] the first
 * one).  Otherwise returns the exit status to return: CLI_OK after --help
 * (printed to stdout), CLI_USAGE after a bad option or too many operands.
 */
int cli_parse(struct cli *c, const struct cli_cmd *cmd, void *opts, int *argc, char ***argv);

/*
 * Applies the option of cmd's table named long_name to arg, as if it had been
 * given on the command line (for options a command finds among its operands).
 * 0, or the exit status of a usage error (printed).
 */
int cli_apply_option(struct cli *c, const struct cli_cmd *cmd, void *opts,
		     const char *long_name, const char *arg);

/* Writes cmd's --help (usage, the options from the table, footer) to f. */
void cli_help(const struct cli_cmd *cmd, FILE *f);

/*
 * The hidden last argument that makes a command print its option table as
 * JSON instead of running: `vigil keys init --completion-helper`.  The shell
 * completions are generated from it at build time
 * (completions/gen-completions.py), so they cannot drift from these tables.
 */
#define CLI_COMPLETION_HELPER "--completion-helper"

/* Writes cmd's options as that JSON object to f: {"command", "operands",
 * "options": [{"long", "short", "arg", "optional", "help", "values"}]}. */
void cli_completion_data(const struct cli_cmd *cmd, FILE *f);
/* The same for one option entry (main.c's global options use it too). */
json_t *cli_completion_option(const char *long_name, char short_name, const char *argh,
			      bool optional, const char *help, const char *const *values);

/*
 * Entries.  T is the command's options struct type, F a member: the
 * comparison in CLI__TYPED makes a member of the wrong type a compile error,
 * which offsetof alone would not.
 */
#define CLI__TYPED(ctype, T, F)                                                            \
	(offsetof(T, F) + 0 * sizeof((ctype *)0 == &((T *)0)->F))

#define CLI_GROUP(heading) { .type = CLI_OPT_GROUP, .help = (heading) }
#define CLI_FLAG(l, s, T, F, h)                                                            \
	{ .type = CLI_OPT_FLAG, .long_name = (l), .short_name = (s),                       \
	  .off = CLI__TYPED(bool, T, F), .help = (h) }
#define CLI_SET_INT(l, T, F, v, h)                                                         \
	{ .type = CLI_OPT_SET_INT, .long_name = (l), .off = CLI__TYPED(int, T, F),         \
	  .ival = (v), .help = (h) }
#define CLI_STRING(l, s, T, F, a, h)                                                       \
	{ .type = CLI_OPT_STRING, .long_name = (l), .short_name = (s),                     \
	  .off = CLI__TYPED(const char *, T, F), .argh = (a), .help = (h) }
#define CLI_UINT(l, s, T, F, lo, hi, a, h)                                                 \
	{ .type = CLI_OPT_UINT, .long_name = (l), .short_name = (s),                       \
	  .off = CLI__TYPED(uint64_t, T, F), .min = (lo), .max = (hi), .argh = (a),         \
	  .help = (h) }
#define CLI_SIZE(l, T, F, lo, hi, r, a, h)                                                 \
	{ .type = CLI_OPT_SIZE, .long_name = (l), .off = CLI__TYPED(uint64_t, T, F),       \
	  .min = (lo), .max = (hi), .range = (r), .argh = (a), .help = (h) }
#define CLI_DURATION(l, T, F, lo, hi, r, a, h)                                             \
	{ .type = CLI_OPT_DURATION, .long_name = (l), .off = CLI__TYPED(uint64_t, T, F),   \
	  .min = (lo), .max = (hi), .range = (r), .argh = (a), .help = (h) }
/* A handler with the value at member F (of any type: the handler knows it). */
#define CLI_CALLBACK(l, s, T, F, ar, fn, a, h)                                             \
	{ .type = CLI_OPT_CALLBACK, .long_name = (l), .short_name = (s),                   \
	  .off = offsetof(T, F), .arg = (ar), .cb = (fn), .argh = (a), .help = (h) }

/* ---- the shared options: one handler each ---------------------------------------- */

int cli_opt_state_dir(const struct cli_optarg *p, const char *arg);
int cli_opt_agent(const struct cli_optarg *p, const char *arg);
int cli_opt_when(const struct cli_optarg *p, const char *arg);

/* --state-dir DIR, into struct cli. */
#define CLI_OPT_STATE_DIR_HELP(h)                                                          \
	{ .type = CLI_OPT_CALLBACK, .long_name = "state-dir", .flags = CLI_OPTF_CLI,       \
	  .off = offsetof(struct cli, state_override), .arg = CLI_ARG_REQUIRED,             \
	  .cb = cli_opt_state_dir, .argh = "DIR", .help = (h) }
#define CLI_OPT_STATE_DIR CLI_OPT_STATE_DIR_HELP("state directory")
/* --json and --quiet, into struct cli (c->json, c->quiet). */
#define CLI_OPT_JSON(h)                                                                    \
	{ .type = CLI_OPT_FLAG, .long_name = "json", .flags = CLI_OPTF_CLI,                \
	  .off = CLI__TYPED(bool, struct cli, json), .help = (h) }
#define CLI_OPT_QUIET_HELP(h)                                                      \
	{                                                                          \
		.type = CLI_OPT_FLAG, .long_name = "quiet", .flags = CLI_OPTF_CLI, \
		.off = CLI__TYPED(bool, struct cli, quiet), .help = (h)            \
	}
#define CLI_OPT_QUIET CLI_OPT_QUIET_HELP("print nothing but errors")
/* --config FILE, into struct cli (c->config, as given). */
#define CLI_OPT_CONFIG(h)                                                                  \
	{ .type = CLI_OPT_STRING, .long_name = "config", .flags = CLI_OPTF_CLI,            \
	  .off = CLI__TYPED(const char *, struct cli, config), .argh = "FILE", .help = (h) }
/* --agent NAME: one of base_agents, into a const char * of the command. */
#define CLI_OPT_AGENT(T, F, h)                                                             \
	{ .type = CLI_OPT_CALLBACK, .long_name = "agent", .off = CLI__TYPED(const char *, T, F), \
	  .arg = CLI_ARG_REQUIRED, .cb = cli_opt_agent, .argh = "NAME", .help = (h) }
/* --since/--until WHEN: a duration back from now or a time, into a uint64_t (ns). */
#define CLI_OPT_WHEN(l, T, F, h)                                                           \
	{ .type = CLI_OPT_CALLBACK, .long_name = (l), .off = CLI__TYPED(uint64_t, T, F),   \
	  .arg = CLI_ARG_REQUIRED, .cb = cli_opt_when, .argh = "WHEN", .help = (h) }
#define CLI_END { .type = CLI_OPT_END }

#endif
