/*
 * query.h - helpers shared by the commands that read the index (events,
 * tail, sessions, replay, sql, reindex).  Internal to src/cli/.
 */
#ifndef VIGIL_CLI_QUERY_H
#define VIGIL_CLI_QUERY_H

#include "cli.h"
#include "idx.h"
#include "options.h"

#include <jansson.h>

#define CLIQ_INDEX_FILE "index.db"

/*
 * Opens STATE/index.db read-only.  On failure prints one clear line (no
 * index yet: "run vigil reindex" when a ledger exists) and returns the exit
 * code (CLI_ERROR); 0 on success.
 */
int cliq_open(struct cli *c, struct idx **ix);

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

/* A JSON string, or null for NULL; a JSON integer, or null below 0 (new references). */
json_t *cliq_jstr(const char *s);
json_t *cliq_jint(int64_t v);
/* The event's stored JSON with "seq" added (a new reference). */
json_t *cliq_event_json(const struct idx_event *ev);
/* A session as the stable JSON of `vigil sessions --json` (a new reference). */
json_t *cliq_session_json(const struct idx_session *s);
/* Writes a JSON value compact on one line; returns -EPIPE (or -EIO) when
 * stdout is gone. */
int cliq_print_json_line(json_t *j);

/* Handlers of the event filter options (the idx_filter member at the entry). */
int cliq_opt_risk(const struct cli_optarg *p, const char *arg);
int cliq_opt_text(const struct cli_optarg *p, const char *arg);
int cliq_opt_decision(const struct cli_optarg *p, const char *arg);
int cliq_opt_rule(const struct cli_optarg *p, const char *arg);

/* The event filter options of `events` and `tail`, into the struct idx_filter
 * member F of the command's options struct T; --json and --state-dir too. */
#define CLIQ_FILTER_OPTIONS(T, F)                                                          \
	CLI_STRING("session", 0, T, F.session, "ID",                                       \
		   "one session (a prefix of its id, or its short id, is enough)"),                    \
	CLI_STRING("tool", 0, T, F.tool, "NAME",                                           \
		   "tool name, e.g. Bash, Read, mcp__github__create_issue"),                \
	CLI_STRING("hook", 0, T, F.hook, "NAME", "hook event, e.g. PreToolUse, UserPromptSubmit"), \
	CLI_STRING("type", 0, T, F.event_type, "TYPE",                                     \
		   "event_type, e.g. command_execution, file_write"),                       \
	CLI_CALLBACK("risk", 0, T, F.min_risk, CLI_ARG_REQUIRED, cliq_opt_risk, "LEVEL",   \
		     "at least this risk: info, low, medium, high, critical"),              \
	CLI_FLAG("outside-scope", 0, T, F.outside_scope,                                   \
		 "only events that touch paths outside the project"),                       \
	CLI_OPT_WHEN("since", T, F.since_ns,                                               \
		     "from WHEN: a duration back from now (30m, 2h, 7d) or a\n"             \
		     "time (2025-11-23T12:00:00Z, 2025-11-23)"),                             \
	CLI_OPT_WHEN("until", T, F.until_ns, "before WHEN (same forms)"),                  \
	CLI_CALLBACK("text", 0, T, F.text, CLI_ARG_REQUIRED, cliq_opt_text, "WORDS",       \
		     "events whose target, error, prompt or message text holds\n"           \
		     "every word (full-text search; whole words)"),                          \
	CLI_STRING("agent-id", 0, T, F.agent_id, "ID", "only events of this subagent"),    \
	CLI_CALLBACK("decision", 0, T, F.decision, CLI_ARG_REQUIRED, cliq_opt_decision,    \
		     "WHAT", "events the daemon decided so: allow, deny or ask"),           \
	CLI_CALLBACK("rule", 0, T, F.rule, CLI_ARG_REQUIRED, cliq_opt_rule, "RULE",        \
		     "events a rule matched (its detections): its id or name"),             \
	CLI_OPT_JSON("one JSON object per line: the stored event plus \"seq\""),          \
	CLI_OPT_STATE_DIR

/* The human line of one event (fixed columns, for streaming). */
void cliq_print_event_header(const struct cli *c);
void cliq_print_event(const struct cli *c, const struct idx_event *ev);

#endif
