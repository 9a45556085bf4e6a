/*
 * query.c - what the commands that read the index share (query.h): opening
 * it, the event filter options, times, durations and text cleaned for a
 * terminal, the JSON forms of events and sessions, and the event line.
 */
#include "query.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#define TARGET_WIDTH 100 /* characters of a target shown on an event line */

int cliq_open(struct cli *c, struct idx **ix)
{
	char path[4200], ledger[4200], err[512];
	int rc;

	*ix = NULL;
	if (cli_state(c) < 0)
		return CLI_ERROR;
	if (cli_state_path(c, path, sizeof(path), CLIQ_INDEX_FILE) < 0 ||
	    cli_state_path(c, ledger, sizeof(ledger), "ledger") < 0) {
		cli_error("state directory path too long");
		return CLI_ERROR;
	}
	/* An index we may not read is not "nothing recorded yet". */
	if (access(path, R_OK) < 0 && cli_denied(errno, "read the index", path))
		return CLI_ERROR;
	rc = idx_open(path, IDX_RDONLY, ix, err, sizeof(err));
	if (rc == -ENOENT) {
		if (access(ledger, F_OK) == 0)
			cli_error("no index at '%s' yet: run 'vigil reindex' to build it from the "
				  "ledger (the daemon builds it when it starts)",
				  path);
		else
			cli_error("no index at '%s': nothing recorded in %s yet", path, c->state_dir);
		return CLI_ERROR;
	}
	if (rc < 0) {
		cli_error("%s", err);
		return CLI_ERROR;
	}
	return 0;
}

void cliq_time(uint64_t ns, char *out, size_t cap)
{
	time_t secs = (time_t)(ns / 1000000000ull);
	struct tm tm;

	if (!ns || !gmtime_r(&secs, &tm) || !strftime(out, cap, "%Y-%m-%d %H:%M:%S", &tm))
		snprintf(out, cap, "-");
}

void cliq_duration_ms(int64_t ms, char *out, size_t cap)
{
	if (ms < 0)
		snprintf(out, cap, "-");
	else if (ms < 1000)
		snprintf(out, cap, "%" PRId64 "ms", ms);
	else if (ms < 60000)
		snprintf(out, cap, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(out, cap, "%" PRId64 "m%02" PRId64 "s", ms / 60000, ms / 1000 % 60);
	else
		snprintf(out, cap, "%" PRId64 "h%02" PRId64 "m", ms / 3600000, ms / 60000 % 60);
}

void cliq_clean(const char *s, size_t max, char *out, size_t cap)
{
	size_t o = 0, chars = 0;

	if (!cap)
		return;
	for (; s && *s && o + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;

		if ((ch & 0xc0) != 0x80 && ++chars > max) {
			/* "…" when something was cut. */
			if (o + 4 <= cap) {
				memcpy(out + o, "\xe2\x80\xa6", 3);
				o += 3;
			}
			break;
		}
		if (ch == '\n' || ch == '\t' || ch == '\r')
			out[o++] = ' ';
		else if (ch < 0x20 || ch == 0x7f)
			out[o++] = '?';
		else if (ch == 0xc2 && (unsigned char)s[1] >= 0x80 && (unsigned char)s[1] < 0xa0) {
			out[o++] = '?'; /* C1 controls (U+0080..U+009F) act like ESC */
			s++;
		} else
			out[o++] = (char)ch;
	}
	out[o] = 0;
}

json_t *cliq_event_json(const struct idx_event *ev)
{
	json_t *j = json_loadb(ev->json, ev->json_len, 0, NULL);

	if (!json_is_object(j)) {
		json_decref(j);
		j = json_pack("{s:s}", "error", "stored event is not a JSON object");
	}
	if (j)
		json_object_set_new(j, "seq", json_integer((json_int_t)ev->seq));
	return j;
}

int cliq_print_json_line(json_t *j)
{
	if (!j || json_dumpf(j, stdout, JSON_COMPACT) < 0 || fputc('\n', stdout) == EOF)
		return errno == EPIPE ? -EPIPE : -EIO;
	return 0;
}

int cliq_opt_risk(const struct cli_optarg *p, const char *arg)
{
	int r = idx_risk_parse(arg);

	if (r < 0)
		return cli_usage_error(p->cmd, "--risk: '%s' is not one of info, low, medium, high, "
					       "critical", arg);
	*(int *)p->value = r;
	return 0;
}

int cliq_opt_text(const struct cli_optarg *p, const char *arg)
{
	if (idx_text_check(arg) < 0)
		return cli_usage_error(p->cmd, "--text: give one or more words (at most 4 KiB)");
	*(const char **)p->value = arg;
	return 0;
}

int cliq_opt_decision(const struct cli_optarg *p, const char *arg)
{
	if (strcmp(arg, "allow") && strcmp(arg, "deny") && strcmp(arg, "ask"))
		return cli_usage_error(p->cmd, "--decision: '%s' is not one of allow, deny, ask",
				       arg);
	*(const char **)p->value = arg;
	return 0;
}

int cliq_opt_rule(const struct cli_optarg *p, const char *arg)
{
	if (!*arg)
		return cli_usage_error(p->cmd, "--rule: give a rule id or name");
	*(const char **)p->value = arg;
	return 0;
}

void cliq_print_event_header(const struct cli *c)
{
	printf("%s%6s  %-19s  %-8s  %-8s  %-18s  %-12s  %-8s  %-7s  %s%s\n", cli_c(c, CLI_BOLD),
	       "SEQ", "TIME (UTC)", "SESSION", "AGENT", "EVENT", "TOOL", "OUTCOME", "TIME",
	       "TARGET", cli_c(c, CLI_RESET));
}

static const char *outcome_color(const struct cli *c, const char *outcome)
{
	if (!outcome)
		return "";
	if (!strcmp(outcome, "failure") || !strcmp(outcome, "abandoned"))
		return cli_c(c, CLI_RED);
	if (!strcmp(outcome, "success"))
		return cli_c(c, CLI_GREEN);
	return cli_c(c, CLI_YELLOW);
}

void cliq_print_event(const struct cli *c, const struct idx_event *ev)
{
	char when[32], sess[16], agent[16], hook[64], tool[64], target[TARGET_WIDTH * 4 + 8],
		dur[32], risk[32] = "", decision[200] = "";
	const char *what = ev->target;

	cliq_time(ev->time_ns, when, sizeof(when));
	cliq_clean(ev->session_id ? ev->session_id : "-", 8, sess, sizeof(sess));
	/* Strip the "…" cliq_clean adds: an 8-character id prefix is the form
	 * the other commands accept. */
	if (strlen(sess) > 8)
		sess[8] = 0;
	cliq_clean(ev->agent_id ? ev->agent_id : "-", 8, agent, sizeof(agent));
	if (strlen(agent) > 8)
		agent[8] = 0;
	cliq_clean(ev->hook ? ev->hook : ev->event_type ? ev->event_type : "-", 18, hook,
		   sizeof(hook));
	cliq_clean(ev->tool ? ev->tool : "-", 12, tool, sizeof(tool));
	if (!what && ev->error)
		what = ev->error;
	cliq_clean(what ? what : "", TARGET_WIDTH, target, sizeof(target));
	cliq_duration_ms(ev->duration_ms, dur, sizeof(dur));
	if (ev->risk && idx_risk_parse(ev->risk) >= IDX_RISK_MEDIUM)
		snprintf(risk, sizeof(risk), " %s[risk %s]%s",
			 cli_c(c, idx_risk_parse(ev->risk) >= IDX_RISK_HIGH ? CLI_RED : CLI_YELLOW),
			 idx_risk_parse(ev->risk) >= 0 ? idx_risk_name(idx_risk_parse(ev->risk)) : "",
			 cli_c(c, CLI_RESET));
	/* A deny or ask decided by a rule: which one (an allow is the norm). */
	if (ev->decision && strcmp(ev->decision, "allow")) {
		char act[40], rule[140];

		cliq_clean(ev->decision, 10, act, sizeof(act));
		cliq_clean(ev->decision_rule ? ev->decision_rule : "", 40, rule, sizeof(rule));
		snprintf(decision, sizeof(decision), " %s[%s%s%s]%s",
			 cli_c(c, strcmp(ev->decision, "deny") ? CLI_YELLOW : CLI_RED), act,
			 *rule ? ": " : "", rule, cli_c(c, CLI_RESET));
	}
	printf("%6" PRIu64 "  %-19s  %-8s  %-8s  %-18s  %-12s  %s%-8s%s  %-7s  %s%s%s%s\n",
	       ev->seq, when, sess, agent, hook, tool, outcome_color(c, ev->outcome),
	       ev->outcome ? ev->outcome : "-", cli_c(c, CLI_RESET), dur,
	       ev->outside_scope == 1 ? "[outside] " : "", target, risk, decision);
}

/* ---- JSON of a session ---------------------------------------------------------- */

json_t *cliq_jint(int64_t v)
{
	return v < 0 ? json_null() : json_integer((json_int_t)v);
}

json_t *cliq_jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

json_t *cliq_session_json(const struct idx_session *s)
{
	char first[40], last[40];
	json_t *j;

	vg_format_time(s->first_ns, first, sizeof(first));
	vg_format_time(s->last_ns, last, sizeof(last));
	j = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
		      "session_id", s->session_id, "started", first, "last_event", last,
		      "duration_ms", (json_int_t)((s->last_ns - s->first_ns) / 1000000),
		      "events", (json_int_t)s->events, "tool_calls", (json_int_t)s->tool_calls,
		      "failures", (json_int_t)s->failures, "abandoned", (json_int_t)s->abandoned,
		      "prompts", (json_int_t)s->prompts, "subagents", (json_int_t)s->subagents,
		      "files_changed", (json_int_t)s->files_changed, "risk_rank",
		      (json_int_t)(s->risk ? idx_risk_parse(s->risk) : 0), "ended", s->ended != 0);
	if (!j)
		return NULL;
	json_object_set_new(j, "risk", cliq_jstr(s->risk));
	json_object_set_new(j, "project", cliq_jstr(s->project_root));
	json_object_set_new(j, "cwd", cliq_jstr(s->cwd));
	json_object_set_new(j, "model", cliq_jstr(s->model));
	json_object_set_new(j, "agent", cliq_jstr(s->agent));
	json_object_set_new(j, "agent_version", cliq_jstr(s->agent_version));
	json_object_set_new(j, "end_reason", cliq_jstr(s->end_reason));
	json_object_set_new(j, "input_tokens", cliq_jint(s->input_tokens));
	json_object_set_new(j, "output_tokens", cliq_jint(s->output_tokens));
	json_object_set_new(j, "cache_read_tokens", cliq_jint(s->cache_read_tokens));
	json_object_set_new(j, "cache_creation_tokens", cliq_jint(s->cache_creation_tokens));
	json_object_set_new(j, "total_tokens", cliq_jint(s->total_tokens));
	json_object_set_new(j, "cost_usd", s->cost_usd < 0 ? json_null() : json_real(s->cost_usd));
	return j;
}
