/*
 * query.h - helpers shared by the commands that read the index (events,
 * tail, sessions, replay, sql, reindex).  Internal to src/cli/.
 */
#ifndef VIGIL_CLI_QUERY_H
#define VIGIL_CLI_QUERY_H

#include "cli.h"
#include "idx.h"

#include <getopt.h>
#include <jansson.h>

#define CLIQ_INDEX_FILE "index.db"

/*
 * Opens STATE/index.db read-only.  On failure prints one clear line (no
 * index yet: "run vigil reindex" when a ledger exists) and returns the exit
 * code (CLI_ERROR); 0 on success.
 */
int cliq_open(struct cli *c, struct idx **ix);

/*
 * Parses --since/--until: a duration back from now ("15m", "2h", "1d", as
 * vg_parse_duration) or an RFC 3339 time / date.  -EINVAL otherwise.
 */
int cliq_parse_when(const char *v, uint64_t *ns);

/* "2025-11-23 12:07:00" (UTC), or "-" for 0. */
void cliq_time(uint64_t ns, char *out, size_t cap);
/* "850ms", "12.3s", "4m05s", "2h03m", or "-" for < 0. */
void cliq_duration_ms(int64_t ms, char *out, size_t cap);

/*
 * Copies s into out for a terminal: control characters (escape sequences
 * from a payload must never reach the terminal) become '?', newlines and
 * tabs a space; at most max display characters, with "…" when cut.
 */
void cliq_clean(const char *s, size_t max, char *out, size_t cap);

/* The event's stored JSON with "seq" added (a new reference). */
json_t *cliq_event_json(const struct idx_event *ev);
/* A session as the stable JSON of `vigil sessions --json` (a new reference). */
json_t *cliq_session_json(const struct idx_session *s);
/* Writes a JSON value compact on one line; returns -EPIPE (or -EIO) when
 * stdout is gone. */
int cliq_print_json_line(json_t *j);

/* Event filter options shared by `events` and `tail`. */
struct cliq_filter_opts {
	struct idx_filter f;
	bool json;
};
enum {
	CLIQ_OPT_SESSION = 300, CLIQ_OPT_TOOL, CLIQ_OPT_HOOK, CLIQ_OPT_TYPE, CLIQ_OPT_RISK,
	CLIQ_OPT_OUTSIDE, CLIQ_OPT_SINCE, CLIQ_OPT_UNTIL, CLIQ_OPT_TEXT, CLIQ_OPT_AGENT,
	CLIQ_OPT_JSON, CLIQ_OPT_STATE, CLIQ_OPT_DECISION, CLIQ_OPT_RULE,
};
/* Entries for a getopt_long table. */
#define CLIQ_FILTER_OPTIONS                                                                \
	{ "session", required_argument, NULL, CLIQ_OPT_SESSION },                          \
	{ "tool", required_argument, NULL, CLIQ_OPT_TOOL },                                \
	{ "hook", required_argument, NULL, CLIQ_OPT_HOOK },                                \
	{ "type", required_argument, NULL, CLIQ_OPT_TYPE },                                \
	{ "risk", required_argument, NULL, CLIQ_OPT_RISK },                                \
	{ "outside-scope", no_argument, NULL, CLIQ_OPT_OUTSIDE },                          \
	{ "since", required_argument, NULL, CLIQ_OPT_SINCE },                              \
	{ "until", required_argument, NULL, CLIQ_OPT_UNTIL },                              \
	{ "text", required_argument, NULL, CLIQ_OPT_TEXT },                                \
	{ "agent-id", required_argument, NULL, CLIQ_OPT_AGENT },                           \
	{ "decision", required_argument, NULL, CLIQ_OPT_DECISION },                        \
	{ "rule", required_argument, NULL, CLIQ_OPT_RULE },                                \
	{ "json", no_argument, NULL, CLIQ_OPT_JSON },                                      \
	{ "state-dir", required_argument, NULL, CLIQ_OPT_STATE }
/* The options' help text. */
#define CLIQ_FILTER_HELP                                                                   \
	"  --session ID        one session (a unique prefix of its id is enough)\n"         \
	"  --tool NAME         tool name, e.g. Bash, Read, mcp__github__create_issue\n"     \
	"  --hook NAME         hook event, e.g. PreToolUse, UserPromptSubmit\n"             \
	"  --type TYPE         event_type, e.g. command_execution, file_write\n"            \
	"  --risk LEVEL        at least this risk: info, low, medium, high, critical\n"     \
	"  --outside-scope     only events that touch paths outside the project\n"          \
	"  --since WHEN        from WHEN: a duration back from now (30m, 2h, 7d) or a\n"    \
	"                      time (2025-11-23T12:00:00Z, 2025-11-23)\n"                    \
	"  --until WHEN        before WHEN (same forms)\n"                                   \
	"  --text WORDS        events whose target, error, prompt or message text holds\n"  \
	"                      every word (full-text search; whole words)\n"                \
	"  --agent-id ID       only events of this subagent\n"                              \
	"  --decision WHAT     events the daemon decided so: allow, deny or ask\n"          \
	"  --rule RULE         events a rule matched (its detections): its id or name\n"    \
	"  --json              one JSON object per line: the stored event plus \"seq\"\n"   \
	"  --state-dir DIR     state directory\n"
/* Handles one option of a command's getopt loop: 0 when it was a filter
 * option, -1 when not, or an exit code (usage error already printed). */
int cliq_filter_opt(struct cli *c, const char *cmd, int opt, const char *arg,
		    struct cliq_filter_opts *o);

/* The human line of one event (fixed columns, for streaming). */
void cliq_print_event_header(const struct cli *c);
void cliq_print_event(const struct cli *c, const struct idx_event *ev);

#endif
