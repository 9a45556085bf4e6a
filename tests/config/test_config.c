/*
 * test_config.c - vigil.yaml: every key valid and invalid, line and column of
 * each error, unknown-key suggestions, secret references, paths, defaults,
 * the search order and the limits.
 */
#include "config.h"
#include "common.h"
#include "tap.h"

#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

static char tmp[256];
static struct config_diags diags;

/* Loads text as TMP/vigil.yaml (relative paths resolve against TMP). */
static int load(const char *text, struct config **c)
{
	char name[512];

	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	snprintf(name, sizeof(name), "%s/vigil.yaml", tmp);
	return config_load_text(name, text, strlen(text), c, &diags);
}

/* Whether a diagnostic at line (0: any) contains text. */
static bool has_diag(int line, int col, const char *text)
{
	for (size_t i = 0; i < diags.n; i++) {
		const struct config_diag *g = &diags.v[i];

		if ((!line || g->line == line) && (!col || g->col == col) && strstr(g->msg, text))
			return true;
	}
	for (size_t i = 0; i < diags.n; i++)
		TAP_DIAG("diag %d:%d: %s", diags.v[i].line, diags.v[i].col, diags.v[i].msg);
	return false;
}

/* One bad config: fails, and its error is at line:col with text. */
static void bad(const char *yaml, int line, int col, const char *text, const char *name)
{
	struct config *c = NULL;
	int rc = load(yaml, &c);

	TAP_OK(rc == -EINVAL && !c && has_diag(line, col, text), "%s: error at %d:%d '%s'", name,
	       line, col, text);
	config_free(c);
}

static void good(const char *yaml, const char *name)
{
	struct config *c = NULL;
	int rc = load(yaml, &c);

	TAP_OK(rc == 0 && c && diags.errors == 0, "%s: accepted", name);
	if (rc < 0)
		for (size_t i = 0; i < diags.n; i++)
			TAP_DIAG("%d:%d: %s", diags.v[i].line, diags.v[i].col, diags.v[i].msg);
	config_free(c);
}

static bool streq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

static void write_file(const char *path, const char *text, mode_t mode)
{
	FILE *f = fopen(path, "w");

	if (f) {
		fputs(text, f);
		fclose(f);
	}
	chmod(path, mode);
}

static void test_defaults(void)
{
	struct config *c = NULL;
	const json_t *t;

	TAP_OK(load("", &c) == 0 && c, "an empty file is the defaults");
	t = config_tree(c);
	TAP_OK(config_rules_default_pack(t), "default: rules.default_pack true");
	TAP_EQ_U64(config_rules_path_count(t), 0, "default: rules.paths empty");
	TAP_OK(config_rules_overrides(t) == NULL, "default: no overrides");
	TAP_EQ_U64(config_rules_regex_match_limit(t), 100000, "default: regex_match_limit");
	TAP_EQ_U64(config_decisions_timeout_ms(t), 2000, "default: decisions.timeout_ms");
	TAP_OK(streq(config_decisions_unparseable(t), "deny") &&
		       streq(json_string_value(json_object_get(json_object_get(t, "decisions"),
							       "unparseable")),
			     "deny"),
	       "default: decisions.unparseable deny, filled into the tree");
	TAP_OK(config_alerts(t) == NULL, "default: no alerts section (the notifier's defaults)");
	TAP_EQ_U64(config_daemon_workers(t), 0, "default: daemon.workers 0 (one per CPU)");
	TAP_EQ_U64(config_daemon_max_string(t), 2000, "default: daemon.max_string");
	TAP_EQ_U64(config_daemon_abandon_ns(t), 600000000000ull, "default: daemon.abandon_after");
	TAP_EQ_U64(config_daemon_client_timeout_ns(t), 10000000000ull,
		   "default: daemon.client_timeout");
	TAP_OK(config_daemon_state_dir(t) == NULL, "default: no daemon.state_dir");
	TAP_OK(json_is_true(json_object_get(json_object_get(t, "rules"), "default_pack")),
	       "defaults are filled into the tree");
	config_free(c);

	/* NULL means the defaults too */
	TAP_OK(config_rules_default_pack(NULL) && config_decisions_timeout_ms(NULL) == 2000 &&
		       config_daemon_max_string(NULL) == 2000 && !config_alerts(NULL) &&
		       streq(config_decisions_unparseable(NULL), "deny"),
	       "accessors accept NULL (defaults)");

	TAP_OK(load("# only a comment\n", &c) == 0 && c, "a comment-only file is the defaults");
	config_free(c);
	TAP_OK(load("rules:\ndaemon:\n", &c) == 0 && c && config_rules_default_pack(config_tree(c)),
	       "empty sections mean the defaults");
	config_free(c);
	TAP_OK(load("rules:\n  default_pack:\n  regex_match_limit: ~\n", &c) == 0 && c &&
		       config_rules_regex_match_limit(config_tree(c)) == 100000,
	       "empty values mean the defaults");
	config_free(c);
}

static void test_full(void)
{
	char path[600], expect[700];
	struct config *c = NULL;
	const json_t *t, *ov, *al;

	snprintf(path, sizeof(path), "%s/rules.d", tmp);
	TAP_OK(load("rules:\n"
		    "  default_pack: false\n"
		    "  paths: [rules.d, /srv/rules, ~/more]\n"
		    "  overrides:\n"
		    "    vigil-high-frequency: {threshold: 300, timespan: 1m}\n"
		    "    vigil-network-egress: {action: block, level: high}\n"
		    "    some-rule: {disabled: true}\n"
		    "    other: {timespan: 90}\n"
		    "  regex_match_limit: 5000\n"
		    "decisions:\n"
		    "  timeout_ms: 1500\n"
		    "  unparseable: ask\n"
		    "alerts:\n"
		    "  window: 10m\n"
		    "  channels:\n"
		    "    - {type: log, min_severity: low}\n"
		    "    - {type: file, path: alerts.jsonl}\n"
		    "daemon:\n"
		    "  workers: 4\n"
		    "  max_string: 64K\n"
		    "  abandon_after: 2h\n"
		    "  client_timeout: 30s\n"
		    "  state_dir: ~/state\n",
		    &c) == 0 &&
		       c,
	       "a config with every key loads");
	t = config_tree(c);
	TAP_OK(!config_rules_default_pack(t), "rules.default_pack false");
	TAP_EQ_U64(config_rules_path_count(t), 3, "rules.paths has 3 entries");
	TAP_OK(config_rules_path(t, 0) && streq(config_rules_path(t, 0), path),
	       "a relative rules path is relative to the config file's directory");
	TAP_OK(config_rules_path(t, 1) && streq(config_rules_path(t, 1), "/srv/rules"),
	       "an absolute rules path is kept");
	snprintf(expect, sizeof(expect), "%s/more", getenv("HOME"));
	TAP_OK(config_rules_path(t, 2) && streq(config_rules_path(t, 2), expect),
	       "~ in a rules path is $HOME");
	ov = config_rules_overrides(t);
	TAP_EQ_U64(json_object_size(ov), 4, "rules.overrides has its 4 entries");
	TAP_OK(json_integer_value(json_object_get(json_object_get(ov, "vigil-high-frequency"),
						  "threshold")) == 300,
	       "override threshold read");
	TAP_OK(streq(json_string_value(json_object_get(json_object_get(ov, "other"), "timespan")),
		     "90s"),
	       "an integer timespan becomes seconds text (90s)");
	TAP_EQ_U64(config_rules_regex_match_limit(t), 5000, "rules.regex_match_limit");
	TAP_EQ_U64(config_decisions_timeout_ms(t), 1500, "decisions.timeout_ms");
	TAP_OK(streq(config_decisions_unparseable(t), "ask"), "decisions.unparseable ask");
	al = config_alerts(t);
	TAP_OK(al && json_array_size(json_object_get(al, "channels")) == 2,
	       "the alerts object is passed whole");
	snprintf(expect, sizeof(expect), "%s/alerts.jsonl", tmp);
	TAP_OK(streq(json_string_value(json_object_get(
			     json_array_get(json_object_get(al, "channels"), 1), "path")),
		     expect),
	       "a channel's relative path is made absolute");
	TAP_EQ_U64(config_daemon_workers(t), 4, "daemon.workers");
	TAP_EQ_U64(config_daemon_max_string(t), 65536, "daemon.max_string 64K");
	TAP_EQ_U64(config_daemon_abandon_ns(t), 7200ull * 1000000000ull, "daemon.abandon_after 2h");
	TAP_EQ_U64(config_daemon_client_timeout_ns(t), 30ull * 1000000000ull,
		   "daemon.client_timeout 30s");
	snprintf(expect, sizeof(expect), "%s/state", getenv("HOME"));
	TAP_OK(config_daemon_state_dir(t) && streq(config_daemon_state_dir(t), expect),
	       "daemon.state_dir with ~");
	config_free(c);

	good("daemon: {abandon_after: 30, max_string: 100}\n", "integer seconds and bytes");
	good("daemon: {abandon_after: 30s}\n", "a duration in seconds");
	good("rules: {overrides: {}}\n", "empty overrides");
	good("rules:\n  overrides:\n    r: {level: critical, action: ask}\n", "level and action");
}

static void test_invalid(void)
{
	/* types */
	bad("rules:\n  default_pack: yes\n", 2, 17, "expected true or false",
	    "yes is not a boolean");
	bad("rules:\n  default_pack: 1\n", 2, 17, "rules.default_pack: expected true or false",
	    "1 is not a boolean");
	bad("rules: [a, b]\n", 1, 8, "rules: expected a map of settings, found a list",
	    "a section that is a list");
	bad("rules:\n  paths: /a/b\n", 2, 10, "rules.paths: expected a list of paths",
	    "paths that is a string");
	bad("rules:\n  paths:\n    - /a\n    - 3\n", 4, 7, "rules.paths[1]: expected a path",
	    "a path that is a number");
	bad("rules:\n  regex_match_limit: lots\n", 2, 22, "expected an integer, found a string",
	    "regex_match_limit not a number");
	bad("rules:\n  regex_match_limit: 10\n", 2, 22, "out of range (1000 to 100000000)",
	    "regex_match_limit too small");
	bad("rules:\n  regex_match_limit: 1.5\n", 2, 22, "expected an integer, found a number",
	    "regex_match_limit a float");
	bad("decisions:\n  timeout_ms: 0\n", 2, 15, "decisions.timeout_ms: 0 is out of range",
	    "timeout_ms 0");
	bad("decisions:\n  timeout_ms: 60001\n", 2, 15, "out of range (10 to 60000)",
	    "timeout_ms too big");
	bad("decisions:\n  unparseable: block\n", 2, 16,
	    "decisions.unparseable: 'block' is not one of", "unparseable not a policy");
	bad("daemon:\n  workers: 65\n", 2, 12, "daemon.workers: 65 is out of range (0 to 64)",
	    "too many workers");
	bad("daemon:\n  workers: -1\n", 2, 12, "out of range", "negative workers");
	bad("daemon:\n  max_string: 8\n", 2, 15, "8 bytes is out of range (16 to 16777216)",
	    "max_string too small");
	bad("daemon:\n  max_string: 1T\n", 2, 15, "expected a size such as", "max_string bad unit");
	bad("daemon:\n  max_string: 32M\n", 2, 15, "out of range", "max_string too large");
	bad("daemon:\n  abandon_after: soon\n", 2, 18, "expected a duration such as 30s",
	    "abandon_after not a duration");
	bad("daemon:\n  abandon_after: 8d\n", 2, 18, "691200 seconds is out of range",
	    "abandon_after too long");
	bad("daemon:\n  abandon_after: 0\n", 2, 18, "out of range", "abandon_after 0");
	bad("daemon:\n  state_dir: [a]\n", 2, 14, "daemon.state_dir: expected a path, found a list",
	    "state_dir a list");
	bad("daemon:\n  state_dir: ''\n", 2, 14, "an empty path", "state_dir empty");
	bad("daemon:\n  state_dir: ~bob/x\n", 2, 14, "'~user' paths are not supported",
	    "~user path");
	bad("rules:\n  overrides: [a]\n", 2, 14, "expected a map from rule id or name",
	    "overrides a list");
	bad("rules:\n  overrides:\n    r1: true\n", 3, 9, "rules.overrides.r1: expected a map",
	    "an override that is not a map");
	bad("rules:\n  overrides:\n    r1: {level: severe}\n", 3, 17,
	    "rules.overrides.r1.level: 'severe' is not one of informational, low, medium, high, "
	    "critical",
	    "a bad level");
	bad("rules:\n  overrides:\n    r1: {action: deny}\n", 3, 18,
	    "'deny' is not one of alert, ask, block", "a bad action");
	bad("rules:\n  overrides:\n    r1: {disabled: 'true'}\n", 3, 20,
	    "expected true or false, found a string 'true'", "disabled as a string");
	bad("rules:\n  overrides:\n    r1: {threshold: -3}\n", 3, 21, "out of range",
	    "negative threshold");
	bad("rules:\n  overrides:\n    r1: {timespan: 5x}\n", 3, 20, "expected a duration",
	    "a bad timespan");
	bad("rules:\n  overrides:\n    r1: {timespan: 367d}\n", 3, 20, "out of range",
	    "a timespan over 366 days");
	bad("rules:\n  overrides:\n    r1: {threshold: 10001}\n", 3, 21,
	    "out of range (0 to 10000)", "a threshold over 10000");
	bad("alerts: [1]\n", 1, 9, "alerts: expected a map", "alerts a list");
	bad("- a\n- b\n", 1, 1, "expected a map of sections", "a top-level list");
	bad("just text\n", 1, 1, "expected a map of sections", "a top-level scalar");
	bad("rules: {}\n---\ndaemon: {}\n", 2, 1, "a second YAML document", "two documents");

	/* YAML errors keep their location */
	bad("rules:\n  paths: [a, b\n", 0, 0, "", "unterminated flow list fails");
	bad("rules:\n  default_pack: true\n  default_pack: false\n", 3, 0, "duplicate",
	    "a duplicate key");
	bad("a: &x [1]\nb: *x\n", 2, 0, "alias", "aliases are refused");
}

static void test_unknown(void)
{
	bad("rule:\n  default_pack: true\n", 1, 1, "unknown key 'rule'; did you mean 'rules'?",
	    "top-level typo suggested");
	bad("rules:\n  default-pack: true\n", 2, 3,
	    "unknown key 'rules.default-pack'; did you mean 'default_pack'?",
	    "dash for underscore");
	bad("rules:\n  Paths: []\n", 2, 3, "did you mean 'paths'?", "case difference");
	bad("rules:\n  overides: {}\n", 2, 3, "did you mean 'overrides'?", "a missing letter");
	bad("decisions:\n  timeout: 100\n", 2, 3, "did you mean 'timeout_ms'?",
	    "timeout for timeout_ms");
	bad("daemon:\n  worker: 2\n", 2, 3, "did you mean 'workers'?", "worker for workers");
	bad("rules:\n  overrides:\n    r1: {disable: true}\n", 3, 10, "did you mean 'disabled'?",
	    "a typo inside an override");
	bad("logging: {level: debug}\n", 1, 1,
	    "unknown key 'logging' (known: rules, decisions, alerts, daemon)",
	    "an unrelated key lists the known ones");
	bad("zz: 1\n", 1, 1, "(known: rules, decisions, alerts, daemon)", "short unknown key");

	/* several errors in one run, each with its line */
	{
		struct config *c = NULL;
		int rc = load(
			"rules:\n  default_pack: 3\n  regex_match_limit: x\ndaemon:\n  wrkers: 2\n",
			&c);

		TAP_OK(rc == -EINVAL && diags.errors == 3 && has_diag(2, 0, "default_pack") &&
			       has_diag(3, 0, "regex_match_limit") && has_diag(5, 0, "wrkers"),
		       "every error of a file is reported, not just the first");
		config_free(c);
	}
}

static void test_expansion(void)
{
	char yaml[2048], path[600], name[600];
	struct config *c = NULL;
	const json_t *ch;
	int rc;

	setenv("VIGIL_TEST_TOKEN", "s3cret-token", 1);
	unsetenv("VIGIL_TEST_MISSING");
	TAP_OK(load("alerts:\n  channels:\n    - type: webhook\n      url: http://127.0.0.1:9/h\n"
		    "      headers: {X-Token: \"${env:VIGIL_TEST_TOKEN}\", X-Auth: \"Bearer "
		    "${env:VIGIL_TEST_TOKEN}!\"}\n",
		    &c) == 0,
	       "an env reference loads");
	ch = json_array_get(json_object_get(config_alerts(config_tree(c)), "channels"), 0);
	TAP_OK(streq(json_string_value(json_object_get(json_object_get(ch, "headers"), "X-Token")),
		     "s3cret-token"),
	       "${env:NAME} is replaced by the variable's value");
	TAP_OK(streq(json_string_value(json_object_get(json_object_get(ch, "headers"), "X-Auth")),
		     "Bearer s3cret-token!"),
	       "a reference inside a longer string");
	config_free(c);

	rc = load("alerts:\n  channels:\n    - type: webhook\n      url: "
		  "\"${env:VIGIL_TEST_MISSING}\"\n",
		  &c);
	TAP_OK(rc == -EINVAL && has_diag(4, 12, "alerts.channels[0].url") &&
		       has_diag(4, 12, "'VIGIL_TEST_MISSING' is not set"),
	       "a missing variable is an error naming the key and the variable");
	config_free(c);

	snprintf(path, sizeof(path), "%s/token", tmp);
	write_file(path, "file-secret-value\n", 0600);
	snprintf(yaml, sizeof(yaml),
		 "alerts:\n  channels:\n    - {type: grafana, url: \"http://127.0.0.1:3000\", "
		 "token: \"${file:%s}\"}\n",
		 path);
	TAP_OK(load(yaml, &c) == 0, "a file reference loads");
	ch = json_array_get(json_object_get(config_alerts(config_tree(c)), "channels"), 0);
	TAP_OK(streq(json_string_value(json_object_get(ch, "token")), "file-secret-value"),
	       "${file:PATH} is the file's contents without the trailing newline");
	config_free(c);
	TAP_OK(load("alerts:\n  channels:\n    - {type: grafana, url: \"http://127.0.0.1:3000\", "
		    "token: \"${file:token}\"}\n",
		    &c) == 0,
	       "a relative ${file:} path is relative to the config file");
	config_free(c);

	chmod(path, 0644);
	rc = load(yaml, &c);
	TAP_OK(rc == -EINVAL && has_diag(3, 0, "readable by group or others") &&
		       !has_diag(0, 0, "file-secret-value"),
	       "a secret file readable by others is refused (and its contents never shown)");
	config_free(c);

	snprintf(name, sizeof(name), "%s/nope", tmp);
	snprintf(yaml, sizeof(yaml),
		 "alerts:\n  channels:\n    - {type: grafana, url: \"http://127.0.0.1:3000\", "
		 "token: \"${file:%s}\"}\n",
		 name);
	rc = load(yaml, &c);
	TAP_OK(rc == -EINVAL && has_diag(3, 0, "alerts.channels[0].token") &&
		       has_diag(3, 0, "nope"),
	       "a missing secret file is an error naming the key and the file");
	config_free(c);

	rc = load("alerts:\n  window: \"${cmd:echo hi}\"\n", &c);
	TAP_OK(rc == -EINVAL && has_diag(2, 11, "unknown reference '${cmd:echo hi}'"),
	       "only env: and file: references exist");
	config_free(c);
	rc = load("alerts:\n  window: \"${env:X\"\n", &c);
	TAP_OK(rc == -EINVAL && has_diag(2, 11, "unterminated '${'"), "an unterminated reference");
	config_free(c);
	rc = load("alerts:\n  window: \"${env:A-B}\"\n", &c);
	TAP_OK(rc == -EINVAL && has_diag(2, 11, "letters, digits and '_'"), "a bad variable name");
	config_free(c);
	TAP_OK(load("alerts:\n  channels:\n    - type: webhook\n      url: http://127.0.0.1:9/\n"
		    "      headers: {X-Note: \"cost $5, literal $${env:X}\"}\n",
		    &c) == 0 &&
		       streq(json_string_value(json_object_get(
				     json_object_get(
					     json_array_get(
						     json_object_get(config_alerts(config_tree(c)),
								     "channels"),
						     0),
					     "headers"),
				     "X-Note")),
			     "cost $5, literal ${env:X}"),
	       "$${ is a literal ${ and a lone $ stays");
	config_free(c);

	/* a secret in the wrong place is never echoed back in the error */
	rc = load("rules:\n  default_pack: \"${env:VIGIL_TEST_TOKEN}\"\n"
		  "  overrides:\n    r1: {level: \"x${env:VIGIL_TEST_TOKEN}\"}\n",
		  &c);
	TAP_OK(rc == -EINVAL && has_diag(2, 17, "expected true or false") &&
		       has_diag(4, 17, "is not one of") && !has_diag(0, 0, "s3cret"),
	       "an expanded value is not shown in an error (it may be a secret)");
	config_free(c);

	setenv("VIGIL_TEST_DIR", "/opt/vigil-rules", 1);
	TAP_OK(load("rules:\n  paths: [\"${env:VIGIL_TEST_DIR}/extra\"]\n", &c) == 0 &&
		       streq(config_rules_path(config_tree(c), 0), "/opt/vigil-rules/extra"),
	       "references work in paths too");
	config_free(c);
	setenv("VIGIL_TEST_DIR", "relative", 1);
	snprintf(path, sizeof(path), "%s/relative", tmp);
	TAP_OK(load("rules:\n  paths: [\"${env:VIGIL_TEST_DIR}\"]\n", &c) == 0 &&
		       streq(config_rules_path(config_tree(c), 0), path),
	       "a path is made absolute after its references are expanded");
	config_free(c);
}

/* The alerts section is judged by the notifier; its errors point into the file. */
static void test_alerts(void)
{
	struct config *c = NULL;
	int rc;

	good("alerts:\n  window: 5m\n  channels:\n    - {type: log, min_severity: low}\n"
	     "    - {type: webhook, url: \"http://127.0.0.1:9000/hook\", min_severity: medium}\n"
	     "    - {type: email, url: \"smtp://127.0.0.1:2525\", from: vigil@host, to: "
	     "[sec@example.com]}\n"
	     "    - {type: syslog, facility: auth, ident: vigil}\n"
	     "    - {type: session, min_severity: high}\n",
	     "channels of several types");
	rc = load("alerts:\n  channels:\n    - {type: log}\n    - type: webhook\n      "
		  "min_severity: low\n",
		  &c);
	TAP_OK(rc == -EINVAL && has_diag(4, 7, "alerts.channels[1] (webhook)"),
	       "a channel missing a required key: error at the channel");
	config_free(c);
	rc = load("alerts:\n  channels:\n    - type: pager\n", &c);
	TAP_OK(rc == -EINVAL && has_diag(3, 13, "alerts.channels[0]: type: expected log"),
	       "an unknown channel type");
	config_free(c);
	rc = load("alerts:\n  channels:\n    - type: webhook\n      url: http://127.0.0.1:9/\n"
		  "      min_severity: huge\n    - type: log\n      min_severity: nope\n",
		  &c);
	TAP_OK(rc == -EINVAL && has_diag(5, 21, "alerts.channels[0]") &&
		       has_diag(7, 21, "alerts.channels[1]"),
	       "every bad channel is reported at its key's line");
	config_free(c);
	rc = load("alerts:\n  window: 5m\n  chanels: []\n", &c);
	TAP_OK(rc == -EINVAL && has_diag(3, 3, "chanels"), "an unknown alerts key at its line");
	config_free(c);
	rc = load("alerts:\n  window: forever\n", &c);
	TAP_OK(rc == -EINVAL && has_diag(2, 11, "alerts.window"),
	       "a bad alerts.window at its line");
	config_free(c);
}

static void test_limits(void)
{
	struct config *c = NULL;
	struct vbuf b;
	int rc;

	vbuf_init(&b, 4u << 20);
	vbuf_appendf(&b, "rules:\n  paths:\n");
	while (b.len <= CONFIG_MAX_BYTES)
		vbuf_appendf(&b, "    # padding padding padding padding padding padding\n");
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	rc = config_load_text("big.yaml", (const char *)b.data, b.len, &c, &diags);
	TAP_OK(rc == -EFBIG && has_diag(0, 0, "larger than 1048576 bytes"),
	       "a file over 1 MiB is refused");
	vbuf_reset(&b);
	vbuf_appendf(&b, "rules:\n  paths:\n");
	for (int i = 0; i < CONFIG_MAX_LIST + 1; i++)
		vbuf_appendf(&b, "    - /p%d\n", i);
	rc = load((const char *)b.data, &c);
	TAP_OK(rc == -EINVAL && has_diag(3, 5, "a list of 257 entries (at most 256)"),
	       "a list over 256 entries is refused");
	vbuf_reset(&b);
	vbuf_appendf(&b, "alerts:\n  x:");
	for (int i = 0; i < 40; i++)
		vbuf_appendf(&b, " [");
	for (int i = 0; i < 40; i++)
		vbuf_appendf(&b, "]");
	vbuf_appendf(&b, "\n");
	rc = load((const char *)b.data, &c);
	TAP_OK(rc < 0 && !c && diags.errors > 0, "nesting past the depth limit is refused");
	config_free(c);
	vbuf_release(&b);
}

static void test_diag_output(void)
{
	struct config *c = NULL;
	char line[5000];
	json_t *j;

	load("rules:\n  default_pack: 7\n", &c);
	TAP_OK(diags.n == 1, "one diagnostic");
	if (diags.n == 1) {
		char expect[600];

		config_diag_format(&diags, &diags.v[0], line, sizeof(line));
		snprintf(expect, sizeof(expect), "%s/vigil.yaml:2:17: rules.default_pack:", tmp);
		TAP_OK(!strncmp(line, expect, strlen(expect)),
		       "formatted as file:line:col: reason");
	}
	j = config_diags_json(&diags);
	TAP_OK(json_array_size(j) == 1 &&
		       json_integer_value(json_object_get(json_array_get(j, 0), "line")) == 2 &&
		       streq(json_string_value(json_object_get(json_array_get(j, 0), "severity")),
			     "error"),
	       "diagnostics as JSON carry line and severity");
	json_decref(j);
}

static void test_search(void)
{
	char xdg[600], home[600], p[1024], found[4096], cfgdir[700];
	struct config *c = NULL;
	struct stat st;
	bool req;
	int rc;

	snprintf(xdg, sizeof(xdg), "%s/xdg", tmp);
	snprintf(home, sizeof(home), "%s/home", tmp);
	base_mkdir_p(xdg, 0700, NULL);
	snprintf(cfgdir, sizeof(cfgdir), "%s/.config/vigil", home);
	base_mkdir_p(cfgdir, 0700, NULL);
	setenv("HOME", home, 1);
	setenv("XDG_CONFIG_HOME", xdg, 1);
	unsetenv("VIGIL_CONFIG");

	if (stat(CONFIG_SYSTEM_PATH, &st) == 0) {
		TAP_SKIP("%s exists on this machine: the no-file case cannot be tested",
			 CONFIG_SYSTEM_PATH);
	} else {
		rc = config_find(NULL, found, sizeof(found), &req);
		TAP_OK(rc == 1 && !found[0] && !req, "no file anywhere: config_find returns 1");
		config_diags_release(&diags);
		memset(&diags, 0, sizeof(diags));
		TAP_OK(config_load(NULL, &c, &diags) == 0 && c && !config_path(c)[0] &&
			       config_decisions_timeout_ms(config_tree(c)) == 2000,
		       "no file anywhere: config_load gives the defaults");
		config_free(c);
	}

	/* ~/.config/vigil/vigil.yaml when XDG_CONFIG_HOME has none... */
	snprintf(p, sizeof(p), "%s/vigil.yaml", cfgdir);
	write_file(p, "decisions: {timeout_ms: 111}\n", 0644);
	unsetenv("XDG_CONFIG_HOME");
	rc = config_find(NULL, found, sizeof(found), &req);
	TAP_OK(rc == 0 && streq(found, p) && !req,
	       "XDG_CONFIG_HOME unset: ~/.config/vigil/vigil.yaml");
	setenv("XDG_CONFIG_HOME", "relative/dir", 1);
	rc = config_find(NULL, found, sizeof(found), &req);
	TAP_OK(rc == 0 && streq(found, p), "a relative XDG_CONFIG_HOME is ignored");

	/* ...$XDG_CONFIG_HOME/vigil/vigil.yaml when set */
	setenv("XDG_CONFIG_HOME", xdg, 1);
	snprintf(p, sizeof(p), "%s/vigil", xdg);
	base_mkdir_p(p, 0700, NULL);
	snprintf(p, sizeof(p), "%s/vigil/vigil.yaml", xdg);
	write_file(p, "decisions: {timeout_ms: 222}\n", 0644);
	rc = config_find(NULL, found, sizeof(found), &req);
	TAP_OK(rc == 0 && streq(found, p), "$XDG_CONFIG_HOME/vigil/vigil.yaml is found");
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	TAP_OK(config_load(NULL, &c, &diags) == 0 &&
		       config_decisions_timeout_ms(config_tree(c)) == 222 &&
		       streq(config_path(c), p),
	       "config_load reads the XDG file");
	config_free(c);

	/* $VIGIL_CONFIG wins over XDG; --config over both */
	snprintf(p, sizeof(p), "%s/env.yaml", tmp);
	write_file(p, "decisions: {timeout_ms: 333}\n", 0644);
	setenv("VIGIL_CONFIG", p, 1);
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	TAP_OK(config_load(NULL, &c, &diags) == 0 &&
		       config_decisions_timeout_ms(config_tree(c)) == 333,
	       "$VIGIL_CONFIG wins over XDG_CONFIG_HOME");
	config_free(c);
	snprintf(p, sizeof(p), "%s/explicit.yaml", tmp);
	write_file(p, "decisions: {timeout_ms: 444}\n", 0644);
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	TAP_OK(config_load(p, &c, &diags) == 0 &&
		       config_decisions_timeout_ms(config_tree(c)) == 444,
	       "an explicit --config wins over $VIGIL_CONFIG");
	config_free(c);

	/* missing named files are errors; a missing implicit one is not */
	snprintf(p, sizeof(p), "%s/missing.yaml", tmp);
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	rc = config_load(p, &c, &diags);
	TAP_OK(rc == -ENOENT && !c && has_diag(0, 0, "No such file"),
	       "a missing --config file is an error");
	setenv("VIGIL_CONFIG", p, 1);
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	rc = config_load(NULL, &c, &diags);
	TAP_OK(rc == -ENOENT && has_diag(0, 0, "named by VIGIL_CONFIG"),
	       "a missing $VIGIL_CONFIG file is an error that says where the name came from");
	setenv("VIGIL_CONFIG", "", 1);
	rc = config_find(NULL, found, sizeof(found), &req);
	snprintf(p, sizeof(p), "%s/vigil/vigil.yaml", xdg);
	TAP_OK(rc == 0 && streq(found, p), "an empty VIGIL_CONFIG is ignored");
	unsetenv("VIGIL_CONFIG");

	/* a broken file at an implicit location is an error, not the defaults */
	write_file(p, "decisions: {timeout_ms: nope}\n", 0644);
	config_diags_release(&diags);
	memset(&diags, 0, sizeof(diags));
	rc = config_load(NULL, &c, &diags);
	TAP_OK(rc == -EINVAL && !c && streq(diags.file, p) && has_diag(1, 25, "timeout_ms"),
	       "an invalid implicit file fails with its name and line");
	if (geteuid() != 0) {
		write_file(p, "decisions: {timeout_ms: 5}\n", 0000);
		config_diags_release(&diags);
		memset(&diags, 0, sizeof(diags));
		rc = config_load(NULL, &c, &diags);
		TAP_OK(rc == -EACCES && has_diag(0, 0, "Permission denied"),
		       "an unreadable implicit file is an error, not silently skipped");
	} else {
		TAP_SKIP("running as root: permissions do not apply");
	}
	unlink(p);
}

int main(void)
{
	char home[300];

	json_set_alloc_funcs(vg_malloc, vg_free);
	snprintf(tmp, sizeof(tmp), "%s/vigil-config-XXXXXX",
		 getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmp)) {
		perror("mkdtemp");
		return 1;
	}
	snprintf(home, sizeof(home), "%s/home", tmp);
	base_mkdir_p(home, 0700, NULL);
	setenv("HOME", home, 1);
	test_defaults();
	test_full();
	test_invalid();
	test_unknown();
	test_expansion();
	test_alerts();
	test_limits();
	test_diag_output();
	test_search();
	config_diags_release(&diags);
	{
		char cmd[400];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
		if (system(cmd) != 0)
			TAP_DIAG("could not remove %s", tmp);
	}
	return tap_done();
}
