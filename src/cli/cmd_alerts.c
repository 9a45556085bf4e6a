/*
 * cmd_alerts.c - `vigil alerts`: the alerts the rules engine raised, as the
 * index holds them (show: a listing or one alert with its events; stats:
 * counts per day, level, state and rule), and their life cycle (ack,
 * resolve), which goes to the daemon as a control request: the daemon
 * writes the acknowledge / resolve record into the ledger, and the index
 * follows from there like for any other record.
 */
#include "options.h"
#include "query.h"
#include "short_ids.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <unistd.h>

#define ALERTS_DEFAULT_LIMIT 50
#define ALERTS_MAX_LIMIT 1000000ull
#define ALERTS_DEFAULT_DAYS 7
#define ALERTS_MAX_NOTE 1024 /* bytes of an ack/resolve note */
#define ALERT_IDS_SQL "SELECT alert_id FROM alerts"

struct show_opts {
	struct idx_alert_filter f;
};

static int opt_severity(const struct cli_optarg *p, const char *arg);
static int opt_states(const struct cli_optarg *p, const char *arg);

#define SO struct show_opts
static const struct cli_option show_options[] = {
	CLI_GROUP("Options of show:"),
	CLI_CALLBACK("severity", 0, SO, f, CLI_ARG_REQUIRED, opt_severity, "LEVEL",
		     "at least this level: informational, low, medium, high,\n"
		     "critical; =LEVEL for exactly that level"),
	CLI_CALLBACK("state", 0, SO, f.states, CLI_ARG_REQUIRED, opt_states, "STATE",
		     "open, acknowledged, resolved or all (a comma list works;\n"
		     "default: open,acknowledged)"),
	CLI_STRING("session", 0, SO, f.session, "ID", "one session (a prefix of its id is enough)"),
	CLI_STRING("rule", 0, SO, f.rule, "RULE",
		   "one rule, by its id or its name (vigil-exfil-sequence)"),
	CLI_OPT_WHEN("since", SO, f.since_ns,
		     "alerts seen since WHEN: a duration back from now (30m, 2h,\n"
		     "7d) or a time (2025-11-23T12:00:00Z, 2025-11-23)"),
	CLI_OPT_WHEN("until", SO, f.until_ns, "alerts first seen before WHEN (same forms)"),
	CLI_UINT("limit", 0, SO, f.limit, 0, ALERTS_MAX_LIMIT, "N",
		 "at most N alerts (default 50; 0: all)"),
	CLI_OPT_JSON("one JSON object per line (fields in docs/alerts.md)"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};
#undef SO

static const struct cli_cmd show_cmd = {
	.name = "alerts",
	.usage = "usage: vigil alerts [show] [OPTIONS]     list alerts, newest first\n"
		 "       vigil alerts show ID [--json]     one alert in detail, with its events\n"
		 "       vigil alerts stats [--days N] [--json]\n"
		 "       vigil alerts ack ID [--note TEXT] [--json]\n"
		 "       vigil alerts resolve ID [--note TEXT] [--json]\n"
		 "\n"
		 "Alerts are raised by the rules (docs/rules.md) and recorded in the ledger; these\n"
		 "commands read them from the index (STATE/index.db).  ID is an alert id, its\n"
		 "short id (the unique end of the id that the listing shows) or a unique prefix\n"
		 "of it.  Times are UTC.\n",
	.options = show_options,
	.footer = "stats: alerts first seen in the last N days (default 7, today included): per\n"
		  "day and level, by state, by rule, and the mean time to acknowledge and to\n"
		  "resolve.\n"
		  "\n"
		  "ack, resolve: ask the running daemon (vigild) to acknowledge or resolve the\n"
		  "alert; it records that in the ledger, with your uid and the note.\n"
		  "\n"
		  "Exit status: 0 done (a listing may be empty); 1 no such alert, an ambiguous\n"
		  "prefix, the daemon refused, or vigild is not running; 2 usage error; 3 no index\n"
		  "or it cannot be read, or the daemon could not be asked.\n",
	.max_args = 1,
};

struct stats_opts {
	uint64_t days;
};

static const struct cli_option stats_options[] = {
	CLI_UINT("days", 0, struct stats_opts, days, 1, IDX_ALERT_STATS_MAX_DAYS, "N",
		 "the last N days"),
	CLI_OPT_JSON("print the statistics as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd stats_cmd = {
	.name = "alerts stats",
	.options = stats_options,
	.max_args = 0,
	.help_of = &show_cmd,
};

struct change_opts {
	const char *note;
};

static int opt_note(const struct cli_optarg *p, const char *arg);

static const struct cli_option change_options[] = {
	CLI_CALLBACK("note", 0, struct change_opts, note, CLI_ARG_REQUIRED, opt_note, "TEXT",
		     "a note recorded with the change"),
	CLI_OPT_JSON("print the alert as JSON"),
	CLI_OPT_STATE_DIR,
	CLI_END,
};

static const struct cli_cmd ack_cmd = {
	.name = "alerts ack",
	.options = change_options,
	.max_args = 1,
	.help_of = &show_cmd,
};

static const struct cli_cmd resolve_cmd = {
	.name = "alerts resolve",
	.options = change_options,
	.max_args = 1,
	.help_of = &show_cmd,
};

/* ---- JSON and colours ------------------------------------------------------------ */

static json_t *opt_time(uint64_t ns)
{
	char t[40];

	if (!ns)
		return json_null();
	vg_format_time(ns, t, sizeof(t));
	return json_string(t);
}

/* A JSON array stored as text, parsed back (an empty array when absent). */
static json_t *stored_array(const char *text)
{
	json_t *j = text ? json_loads(text, 0, NULL) : NULL;

	if (!json_is_array(j)) {
		json_decref(j);
		j = json_array();
	}
	return j;
}

/* An alert as the stable JSON of `vigil alerts show --json` (new reference):
 * the fields of the ledger's alert object, plus what the index adds. */
static json_t *alert_json(const struct idx_alert *a)
{
	json_t *j = json_object();

	if (!j)
		return NULL;
	json_object_set_new(j, "id", cliq_jstr(a->alert_id));
	json_object_set_new(j, "state", cliq_jstr(a->state));
	json_object_set_new(j, "rule_id", cliq_jstr(a->rule_id));
	json_object_set_new(j, "rule_name", cliq_jstr(a->rule_name));
	json_object_set_new(j, "rule_title", cliq_jstr(a->rule_title));
	json_object_set_new(j, "rule_kind", cliq_jstr(a->rule_kind));
	json_object_set_new(j, "level", cliq_jstr(a->level));
	json_object_set_new(j, "level_num", json_integer(a->level_num));
	json_object_set_new(j, "action", cliq_jstr(a->action));
	json_object_set_new(j, "decision", cliq_jstr(a->decision));
	json_object_set_new(j, "tags", stored_array(a->tags_json));
	json_object_set_new(j, "session_id", cliq_jstr(a->session_id));
	json_object_set_new(j, "agent", cliq_jstr(a->agent));
	json_object_set_new(j, "project", cliq_jstr(a->project));
	json_object_set_new(j, "first_seen", cliq_jstr(a->first_seen));
	json_object_set_new(j, "last_seen", cliq_jstr(a->last_seen));
	json_object_set_new(j, "count", json_integer((json_int_t)a->count));
	json_object_set_new(j, "event_ids", stored_array(a->event_ids_json));
	json_object_set_new(j, "events_recorded", json_integer((json_int_t)a->events));
	json_object_set_new(j, "reason", cliq_jstr(a->reason));
	json_object_set_new(j, "by", cliq_jstr(a->updated_by));
	json_object_set_new(j, "note", cliq_jstr(a->note));
	json_object_set_new(j, "acknowledged_at", opt_time(a->acknowledged_ns));
	json_object_set_new(j, "resolved_at", opt_time(a->resolved_ns));
	json_object_set_new(j, "first_seq", json_integer((json_int_t)a->first_seq));
	json_object_set_new(j, "last_seq", json_integer((json_int_t)a->last_seq));
	return j;
}

static const char *level_color(const struct cli *c, int level)
{
	if (level >= IDX_LEVEL_HIGH)
		return cli_c(c, CLI_RED);
	if (level == IDX_LEVEL_MEDIUM)
		return cli_c(c, CLI_YELLOW);
	return "";
}

static const char *state_color(const struct cli *c, const char *state)
{
	if (state && !strcmp(state, "open"))
		return cli_c(c, CLI_RED);
	if (state && !strcmp(state, "resolved"))
		return cli_c(c, CLI_GREEN);
	return cli_c(c, CLI_YELLOW);
}

/* --severity LEVEL (at least) or =LEVEL (exactly). */
static int opt_severity(const struct cli_optarg *p, const char *v)
{
	struct idx_alert_filter *f = p->value;
	bool exact = v[0] == '=';
	int l = idx_level_parse(exact ? v + 1 : v);

	if (l < 0)
		return cli_usage_error("alerts", "--severity: '%s' is not one of informational, low, "
						 "medium, high, critical (=LEVEL: exactly)",
				       v);
	if (exact)
		f->exact_level = l + 1;
	else
		f->min_level = l;
	return 0;
}

/* --state: a comma list of states, or all. */
static int opt_states(const struct cli_optarg *opt, const char *v)
{
	unsigned *states = opt->value;
	char word[32];
	const char *p = v;

	*states = 0;
	if (!strcmp(v, "all")) {
		*states = IDX_ALERT_OPEN | IDX_ALERT_ACKNOWLEDGED | IDX_ALERT_RESOLVED;
		return 0;
	}
	while (*p) {
		size_t n = strcspn(p, ",");
		int s;

		if (n >= sizeof(word))
			goto bad;
		memcpy(word, p, n);
		word[n] = '\0';
		s = idx_alert_state_parse(word);
		if (s < 0)
			goto bad;
		*states |= (unsigned)s;
		p += n;
		if (*p == ',')
			p++;
	}
	if (*states)
		return 0;
bad:
	return cli_usage_error("alerts", "--state: '%s' is not open, acknowledged, resolved "
					 "(or a comma list of them) or all",
			       v);
}

/* ---- show: the listing ------------------------------------------------------------- */

struct alert_lister {
	const struct cli *c;
	struct cli_short_ids ids; /* every alert id of the index */
	size_t id_width;	  /* of the ID column: the longest short id */
	bool json;
	uint64_t rows;
	int out_err;
};

/* The ID column is as wide as the longest short id of the index, so that
 * every listing of the same index lines up the same way. */
static size_t id_width(const struct cli_short_ids *ids)
{
	size_t w = CLI_SHORT_ID_MIN;

	for (size_t i = 0; i < ids->n; i++) {
		char id[IDX_ALERT_MAX_ID + 1];
		size_t len = strlen(ids->rev[i]), n;

		if (len > IDX_ALERT_MAX_ID)
			continue;
		for (size_t k = 0; k < len; k++)
			id[k] = ids->rev[i][len - 1 - k];
		id[len] = '\0';
		n = cli_short_id_len(ids, id);
		if (n > w)
			w = n;
	}
	return w > 40 ? 40 : w;
}

static int list_alert(void *arg, const struct idx_alert *a)
{
	struct alert_lister *l = arg;
	char id[160], when[32], sess[16], rule[160], title[400], action[32];

	l->rows++;
	if (l->json) {
		json_t *j = alert_json(a);
		int rc;

		if (j && a->alert_id)
			json_object_set_new(j, "short_id",
					    json_string(cli_short_id(&l->ids, a->alert_id)));
		rc = cliq_print_json_line(j);

		json_decref(j);
		return rc < 0 ? (l->out_err = rc) : 0;
	}
	if (l->rows == 1)
		printf("%s%-*s  %-19s  %-13s  %-12s  %5s  %-8s  %-6s  %-28s  %s%s\n",
		       cli_c(l->c, CLI_BOLD), (int)l->id_width, "ID", "LAST SEEN (UTC)", "LEVEL", "STATE", "COUNT",
		       "SESSION", "ACTION", "RULE", "TITLE", cli_c(l->c, CLI_RESET));
	cliq_clean(a->alert_id ? cli_short_id(&l->ids, a->alert_id) : "-", l->id_width, id,
		   sizeof(id));
	cliq_time(a->last_ns, when, sizeof(when));
	cliq_clean(a->session_id ? a->session_id : "-", 8, sess, sizeof(sess));
	if (strlen(sess) > 8)
		sess[8] = '\0';
	/* People know rules by name; a rule without one shows its id. */
	cliq_clean(a->rule_name ? a->rule_name : a->rule_id ? a->rule_id : "-", 28, rule,
		   sizeof(rule));
	cliq_clean(a->rule_title ? a->rule_title : a->reason ? a->reason : "", 80, title,
		   sizeof(title));
	cliq_clean(a->action ? a->action : "-", 6, action, sizeof(action));
	printf("%-*s  %-19s  %s%-13s%s  %s%-12s%s  %5" PRIu64 "  %-8s  %-6s  %-28s  %s\n",
	       (int)l->id_width, id, when, level_color(l->c, a->level_num), idx_level_name(a->level_num),
	       cli_c(l->c, CLI_RESET), state_color(l->c, a->state), a->state ? a->state : "-",
	       cli_c(l->c, CLI_RESET), a->count, sess, action, rule, title);
	return ferror(stdout) ? (l->out_err = -EPIPE) : 0;
}

/* ---- show ID: one alert ---------------------------------------------------------------- */

struct alert_detail {
	const struct cli *c;
	bool json;
	json_t *j;	   /* --json: the alert, then its events */
	uint64_t recorded; /* event ids the alert's records named */
	uint64_t events;   /* of those, found in the index */
	int out_err;
};

static void field(const char *name, const char *value)
{
	char clean[1200];

	cliq_clean(value ? value : "-", 400, clean, sizeof(clean));
	printf("  %-14s %s\n", name, clean);
}

static int show_one(void *arg, const struct idx_alert *a)
{
	struct alert_detail *d = arg;
	char buf[600], t[40];
	json_t *tags;
	size_t i;

	if (d->json) {
		d->j = alert_json(a);
		return d->j ? 0 : -ENOMEM;
	}
	/* Everything shown comes from a ledger record: cleaned for the terminal. */
	cliq_clean(a->alert_id, IDX_ALERT_MAX_ID, buf, sizeof(buf));
	printf("%sAlert %s%s\n", cli_c(d->c, CLI_BOLD), buf, cli_c(d->c, CLI_RESET));
	snprintf(buf, sizeof(buf), "%s%s%s%s",
		 a->rule_name ? a->rule_name : a->rule_id ? a->rule_id : "-",
		 a->rule_kind ? " (" : "", a->rule_kind ? a->rule_kind : "",
		 a->rule_kind ? ")" : "");
	field("rule:", buf);
	if (a->rule_name)
		field("rule id:", a->rule_id);
	field("title:", a->rule_title);
	printf("  %-14s %s%s%s\n", "level:", level_color(d->c, a->level_num),
	       idx_level_name(a->level_num), cli_c(d->c, CLI_RESET));
	printf("  %-14s %s%s%s\n", "state:", state_color(d->c, a->state),
	       a->state ? a->state : "-", cli_c(d->c, CLI_RESET));
	snprintf(buf, sizeof(buf), "%s%s%s", a->action ? a->action : "-",
		 a->decision ? ", decision " : "", a->decision ? a->decision : "");
	field("action:", buf);
	field("session:", a->session_id);
	field("agent:", a->agent);
	field("project:", a->project);
	field("first seen:", a->first_seen);
	field("last seen:", a->last_seen);
	snprintf(buf, sizeof(buf), "%" PRIu64, a->count);
	field("count:", buf);
	tags = stored_array(a->tags_json);
	buf[0] = '\0';
	for (i = 0; i < json_array_size(tags); i++) {
		size_t used = strlen(buf);

		snprintf(buf + used, sizeof(buf) - used, "%s%s", i ? ", " : "",
			 json_string_value(json_array_get(tags, i)));
	}
	json_decref(tags);
	field("tags:", *buf ? buf : NULL);
	field("reason:", a->reason);
	if (a->acknowledged_ns) {
		vg_format_time(a->acknowledged_ns, t, sizeof(t));
		field("acknowledged:", t);
	}
	if (a->resolved_ns) {
		vg_format_time(a->resolved_ns, t, sizeof(t));
		field("resolved:", t);
	}
	if (a->updated_by)
		field("by:", a->updated_by);
	if (a->note)
		field("note:", a->note);
	d->recorded = a->events;
	printf("\n%sEvents%s (%" PRIu64 " recorded):\n", cli_c(d->c, CLI_BOLD),
	       cli_c(d->c, CLI_RESET), a->events);
	return ferror(stdout) ? (d->out_err = -EPIPE) : 0;
}

static int show_event(void *arg, const struct idx_event *ev)
{
	struct alert_detail *d = arg;

	d->events++;
	if (d->json) {
		json_t *e = cliq_event_json(ev);

		if (!e)
			return -ENOMEM;
		return json_array_append_new(json_object_get(d->j, "events"), e) ? -ENOMEM : 0;
	}
	if (d->events == 1)
		cliq_print_event_header(d->c);
	cliq_print_event(d->c, ev);
	return ferror(stdout) ? (d->out_err = -EPIPE) : 0;
}

/* Resolves ID (a short id, a unique prefix, or the whole id) to the full id;
 * prints why not. */
static int resolve_id(struct idx *ix, const char *arg, char *out, size_t cap)
{
	struct cli_short_ids ids;
	char clean[200];
	int rc = cli_short_ids_load(&ids, ix, ALERT_IDS_SQL);

	if (rc == 0)
		rc = cli_short_id_resolve(&ids, arg, "alert", out, cap);
	cli_short_ids_release(&ids);
	if (rc == 0 || rc == -ENOTUNIQ)
		return rc;
	cliq_clean(arg, 60, clean, sizeof(clean));
	if (rc == -ENOENT || rc == -ENAMETOOLONG)
		cli_error("no alert '%s' in the index", clean);
	else
		cli_error("cannot look up alert '%s': %s", clean, strerror(-rc));
	return rc;
}

static int show_detail(struct cli *c, struct idx *ix, const char *prefix, bool json)
{
	struct alert_detail d = { .c = c, .json = json };
	char id[IDX_ALERT_MAX_ID + 8];
	int rc;

	rc = resolve_id(ix, prefix, id, sizeof(id));
	if (rc < 0)
		return rc == -ENOENT || rc == -ENOTUNIQ || rc == -ENAMETOOLONG ? CLI_FAIL : CLI_ERROR;
	rc = idx_alert_get(ix, id, show_one, &d);
	if (rc == 0 && json && json_object_set_new(d.j, "events", json_array()) < 0)
		rc = -ENOMEM;
	if (rc == 0)
		rc = idx_alert_events(ix, id, show_event, &d);
	if (rc == 0 && json)
		rc = cliq_print_json_line(d.j);
	else if (rc == 0 && d.events < d.recorded)
		printf("(%" PRIu64 " of the recorded events are not in the index)\n",
		       d.recorded - d.events);
	else if (rc == 0 && !d.recorded)
		printf("(none)\n");
	json_decref(d.j);
	if (rc == -EPIPE || d.out_err)
		return CLI_OK;
	if (rc < 0) {
		char clean[200];

		cliq_clean(id, 60, clean, sizeof(clean));
		cli_error("cannot read alert %s: %s", clean, strerror(-rc));
		return CLI_ERROR;
	}
	return CLI_OK;
}

static int alerts_show(struct cli *c, int argc, char **argv)
{
	struct show_opts o = { .f = { .states = IDX_ALERT_OPEN | IDX_ALERT_ACKNOWLEDGED,
				      .limit = ALERTS_DEFAULT_LIMIT } };
	struct alert_lister l = { .c = c };
	struct idx *ix = NULL;
	const char *id;
	char err[512] = "";
	int rc;

	if ((rc = cli_parse(c, &show_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	id = argc > 0 ? argv[0] : NULL;
	l.json = c->json;
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	signal(SIGPIPE, SIG_IGN);
	if (id) {
		rc = show_detail(c, ix, id, l.json);
		idx_close(ix);
		return rc;
	}
	rc = cli_short_ids_load(&l.ids, ix, ALERT_IDS_SQL);
	l.id_width = id_width(&l.ids);
	if (rc == 0)
		rc = idx_alerts(ix, &o.f, list_alert, &l, err, sizeof(err));
	cli_short_ids_release(&l.ids);
	idx_close(ix);
	if (l.out_err || rc == -EPIPE)
		return CLI_OK;
	if (rc < 0) {
		cli_error("cannot list alerts: %s", *err ? err : strerror(-rc));
		return CLI_ERROR;
	}
	if (!l.rows && !l.json && isatty(STDERR_FILENO))
		fprintf(stderr, "no matching alerts\n");
	return CLI_OK;
}

/* ---- stats ----------------------------------------------------------------------------- */

static void day_text(uint64_t ns, char *out, size_t cap)
{
	char t[40];

	vg_format_time(ns, t, sizeof(t));
	snprintf(out, cap, "%.10s", t);
}

static json_t *levels_json(const uint64_t *by_level)
{
	json_t *j = json_object();

	for (int i = 0; j && i < IDX_LEVEL__COUNT; i++)
		json_object_set_new(j, idx_level_name(i), json_integer((json_int_t)by_level[i]));
	return j;
}

static json_t *stats_json(const struct idx_alert_stats *s, unsigned days)
{
	json_t *j, *per_day, *rules;
	char day[16];

	day_text(s->since_ns, day, sizeof(day));
	j = json_pack("{s:I, s:s, s:I, s:I, s:I, s:I, s:b}", "days", (json_int_t)days, "since",
		      day, "total", (json_int_t)s->total, "open_now", (json_int_t)s->open_now,
		      "acknowledged_count", (json_int_t)s->acked_n, "resolved_count",
		      (json_int_t)s->resolved_n, "rules_truncated", s->rules_truncated);
	if (!j)
		return NULL;
	json_object_set_new(j, "by_level", levels_json(s->by_level));
	json_object_set_new(j, "by_state",
			    json_pack("{s:I, s:I, s:I}", "open", (json_int_t)s->open,
				      "acknowledged", (json_int_t)s->acknowledged, "resolved",
				      (json_int_t)s->resolved));
	json_object_set_new(j, "mtta_s", s->mtta_s < 0 ? json_null() : json_real(s->mtta_s));
	json_object_set_new(j, "mttr_s", s->mttr_s < 0 ? json_null() : json_real(s->mttr_s));
	per_day = json_array();
	for (size_t i = 0; per_day && i < s->ndays; i++) {
		json_t *d;

		day_text(s->day[i].day_ns, day, sizeof(day));
		d = json_pack("{s:s, s:I}", "day", day, "total", (json_int_t)s->day[i].total);
		if (d)
			json_object_set_new(d, "by_level", levels_json(s->day[i].by_level));
		json_array_append_new(per_day, d);
	}
	json_object_set_new(j, "per_day", per_day);
	rules = json_array();
	for (size_t i = 0; rules && i < s->nrules; i++)
		json_array_append_new(rules,
				      json_pack("{s:s, s:o, s:s, s:s, s:I, s:I}", "rule_id",
						s->rule[i].rule_id, "rule_name",
						*s->rule[i].rule_name
							? json_string(s->rule[i].rule_name)
							: json_null(),
						"rule_title",
						s->rule[i].rule_title, "level",
						idx_level_name(s->rule[i].level_num), "alerts",
						(json_int_t)s->rule[i].total, "open",
						(json_int_t)s->rule[i].open));
	json_object_set_new(j, "by_rule", rules);
	return j;
}

static void stats_print(const struct cli *c, const struct idx_alert_stats *s, unsigned days)
{
	char day[16], mtta[32], mttr[32], rule[160], title[400];

	day_text(s->since_ns, day, sizeof(day));
	printf("%sAlerts first seen in the last %u day%s (since %s UTC): %" PRIu64 "%s\n",
	       cli_c(c, CLI_BOLD), days, days == 1 ? "" : "s", day, s->total, cli_c(c, CLI_RESET));
	printf("  by level:  critical %" PRIu64 "  high %" PRIu64 "  medium %" PRIu64
	       "  low %" PRIu64 "  informational %" PRIu64 "\n",
	       s->by_level[IDX_LEVEL_CRITICAL], s->by_level[IDX_LEVEL_HIGH],
	       s->by_level[IDX_LEVEL_MEDIUM], s->by_level[IDX_LEVEL_LOW],
	       s->by_level[IDX_LEVEL_INFORMATIONAL]);
	printf("  by state:  open %" PRIu64 "  acknowledged %" PRIu64 "  resolved %" PRIu64
	       "  (open now, first seen at any time: %" PRIu64 ")\n",
	       s->open, s->acknowledged, s->resolved, s->open_now);
	cliq_duration_ms(s->mtta_s < 0 ? -1 : (int64_t)(s->mtta_s * 1000), mtta, sizeof(mtta));
	cliq_duration_ms(s->mttr_s < 0 ? -1 : (int64_t)(s->mttr_s * 1000), mttr, sizeof(mttr));
	printf("  mean time to acknowledge: %s (%" PRIu64 " acknowledged); to resolve: %s (%" PRIu64
	       " resolved)\n",
	       mtta, s->acked_n, mttr, s->resolved_n);
	printf("\n%s%-10s  %6s  %8s  %5s  %6s  %5s  %13s%s\n", cli_c(c, CLI_BOLD), "DAY (UTC)",
	       "TOTAL", "CRITICAL", "HIGH", "MEDIUM", "LOW", "INFORMATIONAL", cli_c(c, CLI_RESET));
	for (size_t i = 0; i < s->ndays; i++) {
		const struct idx_alert_day *d = &s->day[i];

		day_text(d->day_ns, day, sizeof(day));
		printf("%-10s  %6" PRIu64 "  %8" PRIu64 "  %5" PRIu64 "  %6" PRIu64 "  %5" PRIu64
		       "  %13" PRIu64 "\n",
		       day, d->total, d->by_level[IDX_LEVEL_CRITICAL], d->by_level[IDX_LEVEL_HIGH],
		       d->by_level[IDX_LEVEL_MEDIUM], d->by_level[IDX_LEVEL_LOW],
		       d->by_level[IDX_LEVEL_INFORMATIONAL]);
	}
	if (!s->nrules)
		return;
	printf("\n%s%-40s  %6s  %5s  %-13s  %s%s\n", cli_c(c, CLI_BOLD), "RULE", "ALERTS", "OPEN",
	       "LEVEL", "TITLE", cli_c(c, CLI_RESET));
	for (size_t i = 0; i < s->nrules; i++) {
		const char *r = *s->rule[i].rule_name ? s->rule[i].rule_name : s->rule[i].rule_id;

		cliq_clean(*r ? r : "-", 40, rule, sizeof(rule));
		cliq_clean(s->rule[i].rule_title, 80, title, sizeof(title));
		printf("%-40s  %6" PRIu64 "  %5" PRIu64 "  %s%-13s%s  %s\n", rule,
		       s->rule[i].total, s->rule[i].open, level_color(c, s->rule[i].level_num),
		       idx_level_name(s->rule[i].level_num), cli_c(c, CLI_RESET), title);
	}
	if (s->rules_truncated)
		printf("(more rules not shown: --json lists the first %u as well)\n",
		       IDX_ALERT_STATS_MAX_RULES);
}

static int alerts_stats(struct cli *c, int argc, char **argv)
{
	struct stats_opts o = { .days = ALERTS_DEFAULT_DAYS };
	struct idx_alert_stats *s = NULL;
	struct idx *ix = NULL;
	char err[512] = "";
	int rc, status = CLI_OK;

	if ((rc = cli_parse(c, &stats_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	rc = cliq_open(c, &ix);
	if (rc)
		return rc;
	s = vg_calloc(1, sizeof(*s));
	if (!s) {
		cli_error("out of memory");
		status = CLI_ERROR;
		goto out;
	}
	rc = idx_alert_stats(ix, (unsigned)o.days, vg_now_ns(), s, err, sizeof(err));
	if (rc < 0) {
		cli_error("cannot compute alert statistics: %s", *err ? err : strerror(-rc));
		status = CLI_ERROR;
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);
	if (c->json) {
		json_t *j = stats_json(s, (unsigned)o.days);

		rc = cliq_print_json_line(j);
		json_decref(j);
		if (rc == -EIO) {
			cli_error("cannot write the output");
			status = CLI_ERROR;
		}
	} else {
		stats_print(c, s, (unsigned)o.days);
	}
out:
	vg_free(s);
	idx_close(ix);
	return status;
}

/* ---- ack / resolve ------------------------------------------------------------------------ */

/*
 * The id to send: the full id when the index knows the short id or prefix,
 * else the argument as given (the index may lag the daemon by a moment, and
 * the daemon has the last word).  An ambiguous one is refused here.
 */
static int id_for_daemon(struct cli *c, const char *arg, char *out, size_t cap)
{
	struct cli_short_ids ids;
	char path[4200];
	struct idx *ix = NULL;
	int rc;

	if (cli_state_path(c, path, sizeof(path), CLIQ_INDEX_FILE) == 0 &&
	    access(path, F_OK) == 0 && idx_open(path, IDX_RDONLY, &ix, NULL, 0) == 0) {
		rc = cli_short_ids_load(&ids, ix, ALERT_IDS_SQL);
		idx_close(ix);
		if (rc == 0)
			rc = cli_short_id_resolve(&ids, arg, "alert", out, cap);
		cli_short_ids_release(&ids);
		if (rc == 0 || rc == -ENOTUNIQ)
			return rc;
	}
	return vg_path(out, cap, "%s", arg);
}

static int opt_note(const struct cli_optarg *p, const char *arg)
{
	if (strlen(arg) > ALERTS_MAX_NOTE)
		return cli_usage_error(p->cmd, "--note: at most %d bytes", ALERTS_MAX_NOTE);
	*(const char **)p->value = arg;
	return 0;
}

static int alerts_change(struct cli *c, const char *sub, int argc, char **argv)
{
	struct change_opts o = { 0 };
	bool ack = !strcmp(sub, "ack");
	const char *why, *cmd = ack ? "alerts ack" : "alerts resolve";
	char id[IDX_ALERT_MAX_ID + 8], shown[IDX_ALERT_MAX_ID * 4 + 8];
	json_t *req = NULL, *reply = NULL, *alert;
	char *text = NULL;
	int rc, status = CLI_OK;

	if ((rc = cli_parse(c, ack ? &ack_cmd : &resolve_cmd, &o, &argc, &argv)) != CLI_CONTINUE)
		return rc;
	if (argc < 1)
		return cli_usage_error(cmd, "which alert? give its id (or a unique prefix)");
	if (!*argv[0] || strlen(argv[0]) > IDX_ALERT_MAX_ID)
		return cli_usage_error(cmd, "an alert id has 1 to %u characters", IDX_ALERT_MAX_ID);
	if (cli_state(c) < 0)
		return CLI_ERROR;
	rc = id_for_daemon(c, argv[0], id, sizeof(id));
	if (rc < 0)
		return CLI_FAIL;
	cliq_clean(id, IDX_ALERT_MAX_ID, shown, sizeof(shown));
	req = json_pack("{s:s, s:s}", "op", ack ? "alert.acknowledge" : "alert.resolve", "id", id);
	if (req && o.note)
		json_object_set_new(req, "note", json_string(o.note));
	text = req ? json_dumps(req, JSON_COMPACT) : NULL;
	if (!text) {
		cli_error("out of memory");
		status = CLI_ERROR;
		goto out;
	}
	rc = cli_control_json(c, text, &reply);
	if (cli_control_denied(c, rc)) {
		status = CLI_ERROR;
		goto out;
	}
	if (rc == -ENOENT || rc == -ECONNREFUSED) {
		cli_error("vigild is not running: start it with 'vigil up'");
		status = CLI_FAIL;
		goto out;
	}
	if (rc < 0) {
		cli_error("cannot ask vigild to %s the alert: %s", ack ? "acknowledge" : "resolve",
			  strerror(-rc));
		status = CLI_ERROR;
		goto out;
	}
	if (!json_is_true(json_object_get(reply, "ok"))) {
		why = json_string_value(json_object_get(reply, "error"));
		cli_error("vigild did not %s alert %s: %s", ack ? "acknowledge" : "resolve", shown,
			  why ? why : "no reason given");
		status = CLI_FAIL;
		goto out;
	}
	alert = json_object_get(reply, EVF_ALERT); /* the alert record's alert object */
	if (c->json) {
		if (cliq_print_json_line(json_is_object(alert) ? alert : reply) == -EIO)
			status = CLI_ERROR;
	} else {
		const char *state = json_string_value(json_object_get(alert, EVF_ALERT_STATE));

		printf("alert %s: %s\n", shown, state ? state : ack ? "acknowledged" : "resolved");
	}
out:
	vg_free(text);
	json_decref(req);
	json_decref(reply);
	return status;
}

int cmd_alerts(struct cli *c, int argc, char **argv)
{
	const char *sub = argc > 1 ? argv[1] : NULL;

	/* `vigil alerts` and `vigil alerts --severity high` list, like show. */
	if (!sub || sub[0] == '-')
		return alerts_show(c, argc, argv);
	if (!strcmp(sub, "show"))
		return alerts_show(c, argc - 1, argv + 1);
	if (!strcmp(sub, "stats"))
		return alerts_stats(c, argc - 1, argv + 1);
	if (!strcmp(sub, "ack") || !strcmp(sub, "resolve"))
		return alerts_change(c, sub, argc - 1, argv + 1);
	return cli_usage_error("alerts", "unknown subcommand '%s' (show, stats, ack, resolve)",
			       sub);
}
