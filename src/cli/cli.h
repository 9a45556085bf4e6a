/*
 * cli.h - shared context and helpers of the vigil command-line tool.
 * Internal to src/cli/.
 */
#ifndef VIGIL_CLI_H
#define VIGIL_CLI_H

#include "common.h"
#include "ledger.h"
#include "schema.h" /* the event's fields, as the commands read them */

#include <jansson.h>

#include <stdbool.h>
#include <stdio.h>

/* Exit codes shared by all commands (verify adds its own 0..3 verdicts). */
enum {
	CLI_OK = 0,
	CLI_FAIL = 1,  /* the command ran and found a problem */
	CLI_USAGE = 2, /* bad command line */
	CLI_ERROR = 3, /* could not do the job at all */
};

struct cli {
	char state_override[4096]; /* --state-dir, "" when not given */
	char state_dir[4096];	   /* resolved */
	bool color;		   /* stdout is a terminal and NO_COLOR is unset */
	bool progress;		   /* stderr is a terminal */
	/* Options most commands share (options.h), as given. */
	bool json;	    /* --json */
	bool quiet;	    /* --quiet */
	const char *config; /* --config FILE, NULL when not given */
	char config_abs[4096]; /* up --config, made absolute (config points here) */
};

/* Resolves cli->state_dir (absolute; a relative one is taken from the
 * current directory); prints an error and returns -errno on failure,
 * -EACCES when the directory exists but cannot be entered. */
int cli_state(struct cli *c);
/* out = state_dir/rel; returns -ENAMETOOLONG when it does not fit. */
int cli_state_path(struct cli *c, char *out, size_t cap, const char *rel);
/*
 * out = path made absolute against the current directory (not resolved: no
 * symlink is followed and no ".." folded).  0, -ENAMETOOLONG, or -errno of
 * getcwd.
 */
int cli_absolutize(const char *path, char *out, size_t cap);
/*
 * When err (an errno value, either sign) is EACCES or EPERM: prints
 * "permission denied: cannot WHAT 'PATH'" and returns true.  Else false.
 */
bool cli_denied(int err, const char *what, const char *path);
/* Handles a --state-dir value seen by a command's option parser. */
int cli_set_state_dir(struct cli *c, const char *v);
/*
 * One line of input for cli_read_lines, without its newline (p may be NULL
 * when len is 0).  too_long: the line had more than max_line bytes and p/len
 * hold nothing of it.  lineno counts from 1.  Returns true to read on, false
 * to stop.
 */
typedef bool (*cli_line_fn)(void *arg, uint64_t lineno, const char *p, size_t len,
			    bool too_long);
/*
 * Reads f to its end line by line (import's and `rules test`'s JSON Lines
 * input), holding at most max_line bytes of a line in memory.  Blank lines
 * (spaces, tabs, CRs only) are skipped, but counted in lineno; a last line
 * without a newline counts.  0, or -EIO when reading failed (errno says why);
 * the line a failed read may have cut short is not passed on.
 */
int cli_read_lines(FILE *f, size_t max_line, cli_line_fn fn, void *arg);
/* "error: ..." on stderr. */
void cli_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* Prints a usage error and the hint to run --help; returns CLI_USAGE. */
int cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/*
 * Finds one of vigil's programs (vigild, vigil-hook): next to this vigil, else
 * where a Meson build tree puts it (BUILD/src/<subdir>/<name> beside
 * BUILD/src/cli/vigil), else in an absolute PATH entry.  0 with out set to an
 * absolute path of an executable regular file, or -ENOENT.
 */
int cli_find_program(const char *name, const char *subdir, char *out, size_t cap);
/*
 * Sends one request of `kind` (enum wire_kind) with an optional payload to the
 * daemon of c->state_dir and reads the reply: 0 with *out (malloc'ed,
 * NUL-terminated, may be empty), -ENOENT / -ECONNREFUSED when no daemon
 * listens, -ETIMEDOUT, -EREMOTEIO when the daemon refused or failed,
 * -EPROTO for a reply that is not one.
 */
int cli_control(struct cli *c, unsigned kind, const char *req, size_t req_len, char **out,
		size_t *out_len);
/*
 * A JSON control operation (WIRE_CONTROL), e.g. {"op":"rules.reload"}: 0 with
 * *reply the daemon's JSON object ({"ok":true,...} or {"ok":false,"error":..}),
 * or the -errno of cli_control (no daemon: -ENOENT / -ECONNREFUSED).
 */
int cli_control_json(struct cli *c, const char *op_json, json_t **reply);
/* When rc (of cli_control) says the socket refused us (EACCES, EPERM):
 * prints "permission denied" with the socket's path and returns true. */
bool cli_control_denied(struct cli *c, int rc);
/*
 * Parses a --since/--until value: a duration back from now ("15m", "2h",
 * "1d", as vg_parse_duration) or an RFC 3339 time / date.  -EINVAL otherwise.
 */
int cli_parse_when(const char *v, uint64_t *ns);
/* ANSI colour around s when colours are on. */
const char *cli_c(const struct cli *c, const char *code);
#define CLI_RED "31"
#define CLI_GREEN "32"
#define CLI_YELLOW "33"
#define CLI_BOLD "1"
#define CLI_RESET "0"

/*
 * `vigil keys init` (for `vigil up` too): creates the keys in STATE/keys and
 * reports them (as JSON with c->json).  The exit status.
 */
int cli_keys_init(struct cli *c, uint64_t epoch_s, bool force, const char *vko);

int cmd_install(struct cli *c, int argc, char **argv);
int cmd_uninstall(struct cli *c, int argc, char **argv);
int cmd_keys(struct cli *c, int argc, char **argv);
int cmd_import(struct cli *c, int argc, char **argv);
int cmd_checkpoint(struct cli *c, int argc, char **argv);
int cmd_verify(struct cli *c, int argc, char **argv);
int cmd_up(struct cli *c, int argc, char **argv);
int cmd_down(struct cli *c, int argc, char **argv);
int cmd_status(struct cli *c, int argc, char **argv);
int cmd_events(struct cli *c, int argc, char **argv);
int cmd_tail(struct cli *c, int argc, char **argv);
int cmd_sessions(struct cli *c, int argc, char **argv);
int cmd_replay(struct cli *c, int argc, char **argv);
int cmd_reindex(struct cli *c, int argc, char **argv);
int cmd_sql(struct cli *c, int argc, char **argv);
int cmd_alerts(struct cli *c, int argc, char **argv);
int cmd_rules(struct cli *c, int argc, char **argv);

#endif
