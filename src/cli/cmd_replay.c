/*
 * cmd_replay.c - `vigil replay SESSION`: one session as a timeline.  Every
 * tool call is one line (PreToolUse and PostToolUse paired by the index:
 * tool, target, outcome, duration, lines changed), subagents are indented
 * under the Agent/Task call that spawned them, and a summary closes it.
 *
 * The events are streamed from the index in seq order; only the session's
 * tool calls, subagents and file changes are held in memory (as jansson
 * objects keyed for lookup), so a long session costs memory in proportion
 * to its tool calls, not its payloads.
 */
#include "query.h"
#include "short_ids.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define REPLAY_MAX_DEPTH 16  /* subagents of subagents ... (guards a cycle) */
#define REPLAY_TARGET 72     /* characters of a target on a line */
#define REPLAY_TEXT 200	     /* characters of a prompt or an error */

static const struct cli_option replay_options[] = {
	CLI_OPT_JSON("one JSON document: session, timeline, files_changed, summary"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd replay_cmd = {
	.name = "replay",
	.usage = "usage: vigil replay [OPTIONS] SESSION\n"
		 "\n"
		 "Shows one session as a timeline: prompts, each tool call on one line (its\n"
		 "PreToolUse and PostToolUse paired: tool, target, outcome, duration; pending and\n"
		 "abandoned calls marked), subagents indented under the Agent call that spawned\n"
		 "them, files changed, stops and the end; then a summary (duration, counts, files\n"
		 "changed, tokens and cost when known).  SESSION is a session id, its short id\n"
		 "(the unique end of the id) or a unique prefix of it (see 'vigil sessions').\n"
		 "Times are UTC.\n",
	.options = replay_options,
	.footer = "Exit status: 0 shown; 1 no such session (or the prefix is ambiguous); 2 usage\n"
		  "error; 3 no index or it cannot be read.\n",
	.max_args = -1,
};

struct replay {
	const struct cli *c;
	bool json;
	json_t *session;  /* cliq_session_json */
	json_t *calls;	  /* "agent\x1ftool_use_id" -> tool call */
	json_t *agents;	  /* agent_id -> agent */
	json_t *changes;  /* "<post seq>" -> file change */
	json_t *files;	  /* path -> {lines_added, lines_removed, created, changes} */
	uint64_t first_ns, entries, pending;
	int out_err;
};

static void call_key(const char *agent, const char *tu, char *out, size_t cap)
{
	snprintf(out, cap, "%s\x1f%s", agent ? agent : "", tu ? tu : "");
}

static int on_session(void *arg, const struct idx_session *s)
{
	struct replay *r = arg;

	r->session = cliq_session_json(s);
	r->first_ns = s->first_ns;
	return r->session ? 0 : -ENOMEM;
}

static int on_call(void *arg, const struct idx_tool_call *t)
{
	struct replay *r = arg;
	char key[512], start[40], end[40];
	json_t *j;

	call_key(t->agent_id, t->tool_use_id, key, sizeof(key));
	vg_format_time(t->start_ns, start, sizeof(start));
	vg_format_time(t->end_ns, end, sizeof(end));
	j = json_pack("{s:o, s:s, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "agent_id",
		      cliq_jstr(t->agent_id), "tool_use_id", t->tool_use_id, "tool",
		      cliq_jstr(t->tool), "target", cliq_jstr(t->target), "outcome", t->outcome,
		      "error", cliq_jstr(t->error), "duration_ms", cliq_jint(t->duration_ms),
		      "pre_seq", t->pre_seq ? json_integer((json_int_t)t->pre_seq) : json_null(),
		      "post_seq", t->post_seq ? json_integer((json_int_t)t->post_seq) : json_null(),
		      "start", t->start_ns ? json_string(start) : json_null(), "end",
		      t->end_ns ? json_string(end) : json_null());
	if (!j)
		return -ENOMEM;
	if (!strcmp(t->outcome, "pending"))
		r->pending++;
	return json_object_set_new(r->calls, key, j) < 0 ? -ENOMEM : 0;
}

static int on_agent(void *arg, const struct idx_agent *a)
{
	struct replay *r = arg;
	json_t *j = json_pack("{s:s, s:o, s:o, s:o, s:I}", "agent_id", a->agent_id, "agent_type",
			      cliq_jstr(a->agent_type), "parent_agent_id",
			      cliq_jstr(a->parent_agent_id), "parent_tool_use_id",
			      cliq_jstr(a->parent_tool_use_id), "tool_calls",
			      (json_int_t)a->tool_calls);

	if (!j)
		return -ENOMEM;
	return json_object_set_new(r->agents, a->agent_id, j) < 0 ? -ENOMEM : 0;
}

static int on_change(void *arg, const struct idx_file_change *f)
{
	struct replay *r = arg;
	char key[32];
	json_t *j, *file;

	snprintf(key, sizeof(key), "%" PRIu64, f->seq);
	j = json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "path", f->path, "lines_added",
		      cliq_jint(f->lines_added), "lines_removed", cliq_jint(f->lines_removed),
		      "created", f->created < 0 ? json_null() : json_boolean(f->created),
		      "before_sha256", cliq_jstr(f->before_sha256), "after_sha256",
		      cliq_jstr(f->after_sha256));
	if (!j || json_object_set_new(r->changes, key, j) < 0)
		return -ENOMEM;
	/* Per file: the sums over its changes; unknown stays unknown. */
	file = json_object_get(r->files, f->path);
	if (!file) {
		file = json_pack("{s:s, s:I, s:I, s:I, s:b, s:b}", "path", f->path, "changes",
				 (json_int_t)0, "lines_added", (json_int_t)0, "lines_removed",
				 (json_int_t)0, "created", f->created == 1, "counts_known", true);
		if (!file || json_object_set_new(r->files, f->path, file) < 0)
			return -ENOMEM;
	}
	json_object_set_new(file, "changes",
			    json_integer(json_integer_value(json_object_get(file, "changes")) + 1));
	if (f->lines_added < 0 || f->lines_removed < 0)
		json_object_set_new(file, "counts_known", json_false());
	json_object_set_new(file, "lines_added",
			    json_integer(json_integer_value(json_object_get(file, "lines_added")) +
					 (f->lines_added > 0 ? f->lines_added : 0)));
	json_object_set_new(file, "lines_removed",
			    json_integer(json_integer_value(json_object_get(file, "lines_removed")) +
					 (f->lines_removed > 0 ? f->lines_removed : 0)));
	if (f->created == 1)
		json_object_set_new(file, "created", json_true());
	return 0;
}

/* Depth of an agent in the tree: the main agent 0, its subagents 1, ... */
static int agent_depth(struct replay *r, const char *agent_id)
{
	int d = 0;

	while (agent_id && d < REPLAY_MAX_DEPTH) {
		json_t *a = json_object_get(r->agents, agent_id);

		d++;
		agent_id = a ? json_string_value(json_object_get(a, "parent_agent_id")) : NULL;
	}
	return d;
}

static const char *jget_str(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* The common start of a human timeline line: time, elapsed, indentation. */
static void line_start(struct replay *r, uint64_t ns, int depth)
{
	char when[32] = "-", el[32];
	uint64_t ms = ns > r->first_ns ? (ns - r->first_ns) / 1000000 : 0;

	cliq_time(ns, when, sizeof(when));
	snprintf(el, sizeof(el), "+%" PRIu64 ":%02" PRIu64, ms / 60000, ms / 1000 % 60);
	printf("%s  %7s  ", strlen(when) > 11 ? when + 11 : when, el);
	for (int i = 0; i < depth; i++)
		fputs("    ", stdout);
}

static int emit_json(struct replay *r, json_t *entry)
{
	int rc;

	if (!entry)
		return -ENOMEM;
	if (r->entries++ && fputc(',', stdout) == EOF)
		rc = -EPIPE;
	else
		rc = json_dumpf(entry, stdout, JSON_COMPACT) < 0 ? -EPIPE : 0;
	fputc('\n', stdout);
	json_decref(entry);
	return rc;
}

static json_t *base_entry(const struct idx_event *ev, const char *kind, int depth)
{
	char when[40];

	vg_format_time(ev->time_ns, when, sizeof(when));
	return json_pack("{s:s, s:I, s:s, s:o, s:i}", "kind", kind, "seq", (json_int_t)ev->seq,
			 "time", when, "agent_id", cliq_jstr(ev->agent_id), "depth", depth);
}

static void print_call(struct replay *r, const struct idx_event *ev, json_t *call,
		       json_t *change, int depth, bool lone)
{
	const struct cli *c = r->c;
	const char *oc = jget_str(call, "outcome"), *err = jget_str(call, "error");
	char tool[64], target[REPLAY_TARGET * 4 + 8], dur[32], text[REPLAY_TEXT * 4 + 8];
	const char *color = !strcmp(oc, "success")   ? cli_c(c, CLI_GREEN)
			    : !strcmp(oc, "pending") ? cli_c(c, CLI_YELLOW)
						     : cli_c(c, CLI_RED);

	cliq_clean(jget_str(call, "tool") ? jget_str(call, "tool") : "?", 14, tool, sizeof(tool));
	cliq_clean(jget_str(call, "target") ? jget_str(call, "target") : "", REPLAY_TARGET, target,
		   sizeof(target));
	cliq_duration_ms(json_is_integer(json_object_get(call, "duration_ms"))
				 ? json_integer_value(json_object_get(call, "duration_ms"))
				 : -1,
			 dur, sizeof(dur));
	line_start(r, ev->time_ns, depth);
	printf("%s%-14s%s %-*s  %s%-9s%s %7s", cli_c(c, CLI_BOLD), tool, cli_c(c, CLI_RESET),
	       REPLAY_TARGET, target, color, oc, cli_c(c, CLI_RESET), dur);
	if (change) {
		json_t *add = json_object_get(change, "lines_added"),
		       *del = json_object_get(change, "lines_removed");

		if (json_is_integer(add) || json_is_integer(del))
			printf("  +%" JSON_INTEGER_FORMAT "/-%" JSON_INTEGER_FORMAT,
			       json_integer_value(add), json_integer_value(del));
		if (json_is_true(json_object_get(change, "created")))
			printf(" (created)");
	}
	if (lone)
		printf("  (no PreToolUse seen)");
	printf("\n");
	if (err && *err) {
		cliq_clean(err, REPLAY_TEXT, text, sizeof(text));
		line_start(r, ev->time_ns, depth);
		printf("%*s%serror: %s%s\n", 15, "", cli_c(c, CLI_RED), text, cli_c(c, CLI_RESET));
	}
}

/* The tool call an event belongs to (NULL: none). */
static json_t *event_call(struct replay *r, const struct idx_event *ev)
{
	const char *ty = ev->event_type ? ev->event_type : "other";
	const char *hook = ev->hook ? ev->hook : "";
	char key[512];

	if (!ev->tool_use_id)
		return NULL;
	if (strcmp(hook, "PreToolUse") && strcmp(hook, "PostToolUse") &&
	    strcmp(hook, "PostToolUseFailure") && strcmp(ty, "tool_abandoned"))
		return NULL;
	call_key(ev->agent_id, ev->tool_use_id, key, sizeof(key));
	return json_object_get(r->calls, key);
}

/* A tool call's line, or nothing when it was shown at another event of it. */
static int on_call_event(struct replay *r, const struct idx_event *ev, json_t *call, int depth)
{
	json_t *pre = json_object_get(call, "pre_seq");
	json_t *post = json_object_get(call, "post_seq"), *change, *entry;
	bool lone = false;
	char key[32];

	/* A call is shown once, where it started; a Post (or the daemon's
	 * tool_abandoned) without a Pre is shown where it is. */
	if (json_is_integer(pre) && (uint64_t)json_integer_value(pre) != ev->seq)
		return 0;
	if (!json_is_integer(pre)) {
		if (json_is_integer(post) && (uint64_t)json_integer_value(post) != ev->seq)
			return 0;
		lone = true;
	}
	snprintf(key, sizeof(key), "%" JSON_INTEGER_FORMAT,
		 json_is_integer(post) ? json_integer_value(post) : (json_int_t)0);
	change = json_object_get(r->changes, key);
	if (r->json) {
		entry = base_entry(ev, "tool_call", depth);
		if (entry) {
			json_object_update(entry, call);
			json_object_set(entry, "file_change", change ? change : json_null());
			json_object_set_new(entry, "seq", json_integer((json_int_t)ev->seq));
		}
		return emit_json(r, entry);
	}
	print_call(r, ev, call, change, depth, lone);
	return ferror(stdout) ? -EPIPE : 0;
}

/* Any other event, as a JSON timeline entry. */
static int other_json(struct replay *r, const struct idx_event *ev, int depth)
{
	const char *ty = ev->event_type ? ev->event_type : "other";
	const char *kind = !strcmp(ty, "user_prompt")	   ? "prompt"
			   : !strcmp(ty, "session_start")  ? "session_start"
			   : !strcmp(ty, "session_end")	   ? "session_end"
			   : !strcmp(ty, "stop")	   ? "stop"
			   : !strcmp(ty, "subagent_start") ? "subagent_start"
			   : !strcmp(ty, "subagent_stop")  ? "subagent_stop"
							   : "event";
	json_t *entry = base_entry(ev, kind, depth);

	if (entry) {
		json_object_set_new(entry, "hook", cliq_jstr(ev->hook));
		json_object_set_new(entry, "event_type", cliq_jstr(ev->event_type));
		json_object_set_new(entry, "tool", cliq_jstr(ev->tool));
		json_object_set_new(entry, "target", cliq_jstr(ev->target));
		json_object_set_new(entry, "error", cliq_jstr(ev->error));
		if (ev->agent_id && !strcmp(kind, "subagent_start")) {
			json_t *a = json_object_get(r->agents, ev->agent_id);

			json_object_set(entry, "agent", a ? a : json_null());
		}
	}
	return emit_json(r, entry);
}

/* Any other event, as a line of its own. */
static int other_line(struct replay *r, const struct idx_event *ev, int depth)
{
	const char *ty = ev->event_type ? ev->event_type : "other";
	char text[REPLAY_TEXT * 4 + 8], sub[64], extra[160] = "";

	line_start(r, ev->time_ns, depth);
	cliq_clean(ev->target ? ev->target : ev->error ? ev->error : "", REPLAY_TEXT, text,
		   sizeof(text));
	cliq_clean(ev->agent_id ? ev->agent_id : "", 17, sub, sizeof(sub));
	if (!strcmp(ty, "user_prompt")) {
		printf("%s> prompt:%s %s\n", cli_c(r->c, CLI_BOLD), cli_c(r->c, CLI_RESET), text);
	} else if (!strcmp(ty, "session_start")) {
		printf("* session start\n");
	} else if (!strcmp(ty, "subagent_start")) {
		json_t *a = ev->agent_id ? json_object_get(r->agents, ev->agent_id) : NULL;
		const char *at = a ? jget_str(a, "agent_type") : NULL;
		const char *ptu = a ? jget_str(a, "parent_tool_use_id") : NULL;

		if (at)
			cliq_clean(at, 40, extra, sizeof(extra));
		printf("%s+ subagent %s%s%s%s started%s%s%s\n", cli_c(r->c, CLI_BOLD), sub,
		       at ? " (" : "", at ? extra : "", at ? ")" : "", ptu ? " by " : "",
		       ptu ? ptu : "", cli_c(r->c, CLI_RESET));
	} else if (!strcmp(ty, "subagent_stop")) {
		printf("- subagent %s stopped\n", sub);
	} else if (!strcmp(ty, "stop")) {
		printf("* stop\n");
	} else if (!strcmp(ty, "session_end")) {
		const char *why = jget_str(r->session, "end_reason");

		cliq_clean(why ? why : "", 60, extra, sizeof(extra));
		printf("* session end%s%s%s\n", why ? " (reason: " : "", extra, why ? ")" : "");
	} else if (!strcmp(ty, "invalid")) {
		printf("%s! invalid event:%s %s\n", cli_c(r->c, CLI_RED), cli_c(r->c, CLI_RESET),
		       text);
	} else {
		char h[64];

		cliq_clean(ev->hook ? ev->hook : ty, 40, h, sizeof(h));
		printf("%s%s%s\n", h, *text ? ": " : "", text);
	}
	return ferror(stdout) ? -EPIPE : 0;
}

static int on_event(void *arg, const struct idx_event *ev)
{
	struct replay *r = arg;
	int depth = agent_depth(r, ev->agent_id);
	json_t *call = event_call(r, ev);

	if (call)
		return on_call_event(r, ev, call, depth);
	return r->json ? other_json(r, ev, depth) : other_line(r, ev, depth);
}

static void print_summary(struct replay *r)
{
	json_t *s = r->session;
	const struct cli *c = r->c;
	const char *path;
	json_t *f, *v;
	char dur[32], clean[512];
	int64_t added = 0, removed = 0;
	bool counts = true;

	if (json_object_size(r->files)) {
		printf("\n%sFiles changed%s\n", cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET));
		json_object_foreach(r->files, path, f) {
			cliq_clean(path, 120, clean, sizeof(clean));
			printf("  %-60s", clean);
			if (json_is_true(json_object_get(f, "counts_known")))
				printf("  +%" JSON_INTEGER_FORMAT " -%" JSON_INTEGER_FORMAT,
				       json_integer_value(json_object_get(f, "lines_added")),
				       json_integer_value(json_object_get(f, "lines_removed")));
			else
				counts = false;
			added += json_integer_value(json_object_get(f, "lines_added"));
			removed += json_integer_value(json_object_get(f, "lines_removed"));
			if (json_is_true(json_object_get(f, "created")))
				printf("  (created)");
			printf("  %" JSON_INTEGER_FORMAT " change%s\n",
			       json_integer_value(json_object_get(f, "changes")),
			       json_integer_value(json_object_get(f, "changes")) == 1 ? "" : "s");
		}
	}
	cliq_duration_ms(json_integer_value(json_object_get(s, "duration_ms")), dur, sizeof(dur));
	printf("\n%sSummary%s  %s, %" JSON_INTEGER_FORMAT " events, %" JSON_INTEGER_FORMAT
	       " tool calls (%" JSON_INTEGER_FORMAT " failed, %" JSON_INTEGER_FORMAT
	       " abandoned, %" PRIu64 " pending), %" JSON_INTEGER_FORMAT " prompt%s, %"
	       JSON_INTEGER_FORMAT " subagent%s, %zu file%s changed",
	       cli_c(c, CLI_BOLD), cli_c(c, CLI_RESET), dur,
	       json_integer_value(json_object_get(s, "events")),
	       json_integer_value(json_object_get(s, "tool_calls")),
	       json_integer_value(json_object_get(s, "failures")),
	       json_integer_value(json_object_get(s, "abandoned")), r->pending,
	       json_integer_value(json_object_get(s, "prompts")),
	       json_integer_value(json_object_get(s, "prompts")) == 1 ? "" : "s",
	       json_integer_value(json_object_get(s, "subagents")),
	       json_integer_value(json_object_get(s, "subagents")) == 1 ? "" : "s",
	       json_object_size(r->files), json_object_size(r->files) == 1 ? "" : "s");
	if (json_object_size(r->files) && counts)
		printf(" (+%" PRId64 " -%" PRId64 ")", added, removed);
	v = json_object_get(s, "total_tokens");
	if (json_is_integer(v))
		printf(", %" JSON_INTEGER_FORMAT " tokens", json_integer_value(v));
	else if (json_is_integer(json_object_get(s, "input_tokens")))
		printf(", %" JSON_INTEGER_FORMAT " input / %" JSON_INTEGER_FORMAT " output tokens",
		       json_integer_value(json_object_get(s, "input_tokens")),
		       json_integer_value(json_object_get(s, "output_tokens")));
	v = json_object_get(s, "cost_usd");
	if (json_is_number(v))
		printf(", $%.4f", json_number_value(v));
	printf("%s\n", json_is_true(json_object_get(s, "ended")) ? "" : "; session still open");
}

static void print_header(struct replay *r)
{
	json_t *s = r->session;
	char started[32], clean[512];
	const char *v;

	cliq_time(r->first_ns, started, sizeof(started));
	cliq_clean(jget_str(s, "session_id"), 64, clean, sizeof(clean));
	printf("%sSession %s%s  started %s UTC\n", cli_c(r->c, CLI_BOLD), clean,
	       cli_c(r->c, CLI_RESET), started);
	if ((v = jget_str(s, "project")) || (v = jget_str(s, "cwd"))) {
		cliq_clean(v, 200, clean, sizeof(clean));
		printf("Project %s\n", clean);
	}
	if ((v = jget_str(s, "model"))) {
		cliq_clean(v, 80, clean, sizeof(clean));
		printf("Model   %s\n", clean);
	}
	printf("\n");
}

/* The session's tool calls, subagents and file changes, for lookup. */
static int replay_load(struct replay *r, struct idx *ix, const char *sid)
{
	int rc = 0;

	r->calls = json_object();
	r->agents = json_object();
	r->changes = json_object();
	r->files = json_object();
	if (!r->calls || !r->agents || !r->changes || !r->files)
		rc = -ENOMEM;
	if (rc == 0)
		rc = idx_session_get(ix, sid, on_session, r);
	if (rc == 0)
		rc = idx_tool_calls(ix, sid, on_call, r);
	if (rc == 0)
		rc = idx_agents(ix, sid, on_agent, r);
	if (rc == 0)
		rc = idx_file_changes(ix, sid, on_change, r);
	return rc;
}

/* The end of the --json document: subagents, files changed, summary. */
static void print_json_tail(struct replay *r)
{
	json_t *files = json_array(), *agents = json_array(), *summary, *v;
	const char *k;

	json_object_foreach(r->files, k, v)
		json_array_append(files, v);
	json_object_foreach(r->agents, k, v) {
		json_object_set_new(v, "depth", json_integer(agent_depth(r, k)));
		json_array_append(agents, v);
	}
	summary = json_deep_copy(r->session);
	if (summary) {
		json_object_set_new(summary, "pending", json_integer((json_int_t)r->pending));
		json_object_set_new(summary, "files_changed",
				    json_integer((json_int_t)json_object_size(r->files)));
	}
	fputs("],\"subagents\":", stdout);
	json_dumpf(agents, stdout, JSON_COMPACT);
	fputs(",\"files_changed\":", stdout);
	json_dumpf(files, stdout, JSON_COMPACT);
	fputs(",\"summary\":", stdout);
	json_dumpf(summary, stdout, JSON_COMPACT);
	fputs("}\n", stdout);
	json_decref(files);
	json_decref(agents);
	json_decref(summary);
}

/* Header, timeline and summary; the exit status. */
static int replay_print(struct replay *r, struct idx *ix, const char *sid)
{
	struct idx_filter f = { .session_exact = true, .session = sid };
	char err[512] = "";
	int rc;

	signal(SIGPIPE, SIG_IGN);
	if (r->json) {
		fputs("{\"session\":", stdout);
		json_dumpf(r->session, stdout, JSON_COMPACT);
		fputs(",\"timeline\":[\n", stdout);
	} else {
		print_header(r);
	}
	rc = idx_query_events(ix, &f, on_event, r, err, sizeof(err));
	if (rc == -EPIPE)
		return CLI_OK;
	if (rc < 0) {
		cli_error("%s", *err ? err : strerror(-rc));
		return CLI_ERROR;
	}
	if (r->json)
		print_json_tail(r);
	else
		print_summary(r);
	if (fflush(stdout) == EOF && errno != EPIPE) {
		cli_error("cannot write the output: %s", strerror(errno));
		return CLI_ERROR;
	}
	return CLI_OK;
}

/* SESSION: a whole id, its short id (the unique end) or a unique prefix. */
static int resolve_session(struct idx *ix, const char *arg, char *sid, size_t cap)
{
	struct cli_short_ids ids;
	int rc = cli_short_ids_load(&ids, ix, CLI_SESSION_IDS_SQL);

	if (rc == 0)
		rc = cli_short_id_resolve(&ids, arg, "session", sid, cap);
	cli_short_ids_release(&ids);
	return rc;
}

int cmd_replay(struct cli *c, int argc, char **argv)
{
	struct replay r = { .c = c };
	struct idx *ix = NULL;
	char sid[512];
	int rc, status;

	if ((rc = cli_parse(c, &replay_cmd, NULL, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if (argc < 1)
		return cli_usage_error("replay", "which session? (see 'vigil sessions')");
	if (argc > 1)
		return cli_usage_error("replay", "one session at a time");
	if (!*argv[0] || strlen(argv[0]) > 256)
		return cli_usage_error("replay", "a session id is 1 to 256 characters");
	r.json = c->json;
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	rc = resolve_session(ix, argv[0], sid, sizeof(sid));
	if (rc == -ENOENT || rc == -ENOTUNIQ) {
		if (rc == -ENOENT)
			cli_error("no session '%s' in the index", argv[0]);
		status = CLI_FAIL;
		goto out;
	}
	if (rc == 0)
		rc = replay_load(&r, ix, sid);
	if (rc < 0) {
		cli_error("cannot read session '%s': %s", argv[0], strerror(-rc));
		status = CLI_ERROR;
		goto out;
	}
	status = replay_print(&r, ix, sid);
out:
	json_decref(r.session);
	json_decref(r.calls);
	json_decref(r.agents);
	json_decref(r.changes);
	json_decref(r.files);
	idx_close(ix);
	return status;
}
