/*
 * options.c - the one option parser of the vigil commands (options.h): a
 * command's table becomes a getopt_long table, so every command accepts
 * what getopt_long accepts (options after operands, "--opt=value",
 * unambiguous abbreviations, "--" ending the options), and --help is
 * printed from the same table.  Also the handlers of the options several
 * commands share.
 */
#include "options.h"
#include "idx.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#define CLI_MAX_OPTIONS 64    /* entries of one table */
#define CLI_OPT_VAL_BASE 1000 /* getopt_long's val for entry i: base + i */
#define CLI_HELP_COLUMN 22    /* where an option's help starts */

/* ---- the shared options ------------------------------------------------------------ */

int cli_opt_state_dir(const struct cli_optarg *p, const char *arg)
{
	return cli_set_state_dir(p->c, arg) < 0 ? CLI_USAGE : 0;
}

int cli_opt_agent(const struct cli_optarg *p, const char *arg)
{
	char list[128];

	if (!base_agent_known(arg)) {
		base_agent_list(list, sizeof(list));
		return cli_usage_error(p->cmd, "--%s: unknown agent '%s' (one of %s)",
				       p->opt->long_name, arg, list);
	}
	*(const char **)p->value = arg;
	return 0;
}

int cli_parse_when(const char *v, uint64_t *ns)
{
	uint64_t secs, now = vg_now_ns();

	if (!v || !*v)
		return -EINVAL;
	if (vg_parse_time(v, VG_TIME_DATE, ns) == 0)
		return 0;
	if (vg_parse_duration(v, &secs) < 0 || secs > now / 1000000000ull)
		return -EINVAL;
	*ns = now - secs * 1000000000ull;
	return 0;
}

int cli_opt_when(const struct cli_optarg *p, const char *arg)
{
	if (cli_parse_when(arg, p->value) < 0)
		return cli_usage_error(p->cmd,
				       "--%s: '%s' is neither a duration (30m, 2h, 7d) nor a time "
				       "(2025-11-23T12:00:00Z)",
				       p->opt->long_name, arg);
	return 0;
}

/* ---- parsing -------------------------------------------------------------------------- */

static int number_opt(const struct cli_optarg *p, const char *arg)
{
	const struct cli_option *o = p->opt;
	unsigned long long n;
	uint64_t v = 0;
	char *end;
	int rc;

	switch (o->type) {
	case CLI_OPT_UINT:
		errno = 0;
		n = strtoull(arg, &end, 10);
		if (!*arg || *arg == '-' || *end || errno || n < o->min || n > o->max)
			return cli_usage_error(p->cmd, "%s%s: '%s' is not a number from %" PRIu64
						       " to %" PRIu64,
					       o->long_name ? "--" : "-",
					       o->long_name ? o->long_name : (char[]){ o->short_name, 0 },
					       arg, o->min, o->max);
		v = n;
		break;
	case CLI_OPT_SIZE:
		rc = vg_parse_size(arg, &v);
		if (rc < 0 || v < o->min || v > o->max)
			return cli_usage_error(p->cmd, "--%s: '%s' is not a size %s", o->long_name,
					       arg, o->range);
		break;
	default: /* CLI_OPT_DURATION */
		rc = vg_parse_duration(arg, &v);
		if (rc < 0 || v < o->min || v > o->max)
			return cli_usage_error(p->cmd, "--%s: '%s' is not a duration%s%s",
					       o->long_name, arg, *o->range ? " " : "", o->range);
		break;
	}
	*(uint64_t *)p->value = v;
	return 0;
}

/* Stores one option's value; 0 or an exit status. */
static int apply(struct cli *c, const struct cli_cmd *cmd, void *opts,
		 const struct cli_option *o, const char *arg)
{
	struct cli_optarg p = {
		.c = c,
		.cmd = cmd->name,
		.opt = o,
		.value = (char *)(o->flags & CLI_OPTF_CLI ? (void *)c : opts) + o->off,
	};

	switch (o->type) {
	case CLI_OPT_FLAG:
		*(bool *)p.value = true;
		return 0;
	case CLI_OPT_SET_INT:
		*(int *)p.value = o->ival;
		return 0;
	case CLI_OPT_STRING:
		*(const char **)p.value = arg;
		return 0;
	case CLI_OPT_UINT:
	case CLI_OPT_SIZE:
	case CLI_OPT_DURATION:
		return number_opt(&p, arg);
	case CLI_OPT_CALLBACK:
		return o->cb(&p, arg);
	default:
		return cli_usage_error(cmd->name, "unknown option");
	}
}

static bool takes_arg(const struct cli_option *o)
{
	return o->type >= CLI_OPT_STRING &&
	       (o->type != CLI_OPT_CALLBACK || o->arg == CLI_ARG_REQUIRED);
}

/* The getopt_long tables of cmd; the number of entries, or -E2BIG. */
static int build_tables(const struct cli_cmd *cmd, struct option *longs, char *shorts,
			size_t shorts_cap)
{
	size_t ns = 0, nl = 0;
	int i;

	if (cmd->flags & CLI_CMD_OPERANDS_END)
		shorts[ns++] = '+';
	shorts[ns++] = 'h';
	for (i = 0; cmd->options && cmd->options[i].type != CLI_OPT_END; i++) {
		const struct cli_option *o = &cmd->options[i];
		int has = o->type == CLI_OPT_CALLBACK && o->arg == CLI_ARG_OPTIONAL
				  ? optional_argument
			  : takes_arg(o) ? required_argument
					 : no_argument;

		if (i >= CLI_MAX_OPTIONS || ns + 3 >= shorts_cap)
			return -E2BIG;
		if (o->type == CLI_OPT_GROUP)
			continue;
		if (o->long_name)
			longs[nl++] = (struct option){ o->long_name, has, NULL,
						       CLI_OPT_VAL_BASE + i };
		if (o->short_name) {
			shorts[ns++] = o->short_name;
			if (has != no_argument)
				shorts[ns++] = ':';
			if (has == optional_argument)
				shorts[ns++] = ':';
		}
	}
	longs[nl++] = (struct option){ "help", no_argument, NULL, 'h' };
	longs[nl] = (struct option){ NULL, 0, NULL, 0 };
	shorts[ns] = '\0';
	return i;
}

static const struct cli_option *by_short(const struct cli_cmd *cmd, int ch)
{
	for (int i = 0; cmd->options && cmd->options[i].type != CLI_OPT_END; i++)
		if (cmd->options[i].type != CLI_OPT_GROUP && cmd->options[i].short_name == ch)
			return &cmd->options[i];
	return NULL;
}

int cli_parse(struct cli *c, const struct cli_cmd *cmd, void *opts, int *argc, char ***argv)
{
	struct option longs[CLI_MAX_OPTIONS + 2];
	char shorts[3 * CLI_MAX_OPTIONS + 4];
	int n, o, rc;

	if (*argc >= 2 && !strcmp((*argv)[*argc - 1], CLI_COMPLETION_HELPER)) {
		cli_completion_data(cmd, stdout);
		return CLI_OK;
	}
	n = build_tables(cmd, longs, shorts, sizeof(shorts));
	if (n < 0) {
		cli_error("%s: too many options for the parser", cmd->name);
		return CLI_ERROR;
	}
	optind = 0;
	while ((o = getopt_long(*argc, *argv, shorts, longs, NULL)) != -1) {
		const struct cli_option *opt = NULL;

		if (o >= CLI_OPT_VAL_BASE && o < CLI_OPT_VAL_BASE + n)
			opt = &cmd->options[o - CLI_OPT_VAL_BASE];
		else if (o != 'h' && o != '?' && o != ':')
			opt = by_short(cmd, o);
		if (!opt && o == 'h') {
			cli_help(cmd->help_of ? cmd->help_of : cmd, stdout);
			return CLI_OK;
		}
		if (!opt)
			return cli_usage_error(cmd->name, "unknown option");
		rc = apply(c, cmd, opts, opt, optarg);
		if (rc)
			return rc;
	}
	if (cmd->max_args >= 0 && *argc - optind > cmd->max_args)
		return cli_usage_error(cmd->name, "unexpected argument '%s'",
				       (*argv)[optind + cmd->max_args]);
	*argc -= optind;
	*argv += optind;
	return CLI_CONTINUE;
}

int cli_apply_option(struct cli *c, const struct cli_cmd *cmd, void *opts,
		     const char *long_name, const char *arg)
{
	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++)
		if (o->type != CLI_OPT_GROUP && o->long_name && !strcmp(o->long_name, long_name))
			return apply(c, cmd, opts, o, arg);
	return cli_usage_error(cmd->name, "unknown option '--%s'", long_name);
}

/* ---- --help ------------------------------------------------------------------------------ */

static void help_entry(const struct cli_option *o, FILE *f)
{
	char names[128];
	const char *h = o->help ? o->help : "";
	int len;

	if (o->short_name && o->long_name)
		len = snprintf(names, sizeof(names), "  -%c, --%s", o->short_name, o->long_name);
	else if (o->short_name)
		len = snprintf(names, sizeof(names), "  -%c", o->short_name);
	else
		len = snprintf(names, sizeof(names), "  --%s", o->long_name);
	if (o->argh && len > 0 && (size_t)len < sizeof(names))
		len += snprintf(names + len, sizeof(names) - (size_t)len,
				o->type == CLI_OPT_CALLBACK && o->arg == CLI_ARG_OPTIONAL ? "%s"
											  : " %s",
				o->argh);
	fputs(names, f);
	if (len < CLI_HELP_COLUMN)
		fprintf(f, "%*s", CLI_HELP_COLUMN - len, "");
	else
		fprintf(f, "\n%*s", CLI_HELP_COLUMN, "");
	/* Continuation lines of the help start at the same column. */
	for (const char *nl; (nl = strchr(h, '\n')); h = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - h), h, CLI_HELP_COLUMN, "");
	fprintf(f, "%s\n", h);
}

void cli_help(const struct cli_cmd *cmd, FILE *f)
{
	const struct cli_option *o = cmd->options;

	fputs(cmd->usage, f);
	if (o && o->type != CLI_OPT_END && o->type != CLI_OPT_GROUP)
		fputs("\nOptions:\n", f);
	for (; o && o->type != CLI_OPT_END; o++) {
		if (o->type == CLI_OPT_GROUP)
			fprintf(f, "\n%s\n", o->help);
		else if (!(o->flags & CLI_OPTF_HIDDEN))
			help_entry(o, f);
	}
	if (cmd->footer)
		fprintf(f, "\n%s", cmd->footer);
}

/* ---- completion data ---------------------------------------------------------------- */

json_t *cli_completion_option(const char *long_name, char short_name, const char *argh,
			      bool optional, const char *help, const char *const *values)
{
	char sh[2] = { short_name, '\0' };
	json_t *o = json_object(), *v = NULL;

	if (values) {
		v = json_array();
		for (size_t i = 0; values[i]; i++)
			json_array_append_new(v, json_string(values[i]));
	}
	json_object_set_new(o, "long", long_name ? json_string(long_name) : json_null());
	json_object_set_new(o, "short", short_name ? json_string(sh) : json_null());
	json_object_set_new(o, "arg", argh ? json_string(argh) : json_null());
	json_object_set_new(o, "optional", json_boolean(optional));
	json_object_set_new(o, "help", json_string(help ? help : ""));
	json_object_set_new(o, "values", v ? v : json_null());
	return o;
}

void cli_completion_data(const struct cli_cmd *cmd, FILE *f)
{
	json_t *j = json_object(), *opts = json_array();

	for (const struct cli_option *o = cmd->options; o && o->type != CLI_OPT_END; o++) {
		bool takes = takes_arg(o) ||
			     (o->type == CLI_OPT_CALLBACK && o->arg == CLI_ARG_OPTIONAL);

		if (o->type == CLI_OPT_GROUP || (o->flags & CLI_OPTF_HIDDEN))
			continue;
		json_array_append_new(
			opts, cli_completion_option(o->long_name, o->short_name,
						    takes ? (o->argh ? o->argh : "ARG") : NULL,
						    o->type == CLI_OPT_CALLBACK &&
							    o->arg == CLI_ARG_OPTIONAL,
						    o->help,
						    o->cb == cli_opt_agent ? base_agents : NULL));
	}
	json_array_append_new(opts, cli_completion_option("help", 'h', NULL, false,
							  "show this help", NULL));
	json_object_set_new(j, "command", json_string(cmd->name));
	json_object_set_new(j, "operands", json_boolean(cmd->max_args != 0));
	json_object_set_new(j, "options", opts);
	json_dumpf(j, f, JSON_PRESERVE_ORDER | JSON_COMPACT);
	fputc('\n', f);
	json_decref(j);
}
