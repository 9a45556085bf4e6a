/*
 * test_rules_errors.c - malformed rules: each mistake gives a diagnostic with
 * the exact file:line:column and a reason, the bad rule is left out, and the
 * rest of the file still loads (all errors are reported in one pass).
 */
#include "rtest.h"

#include <errno.h>
#include <sys/stat.h>
#include <unistd.h>

struct ecase {
	const char *yaml;
	const char *want; /* "t.yml:L:C: error: " prefix + a substring of the message */
	const char *name;
};

#define OK_RULE "title: ok\nid: fine\ndetection: {s: {a: b}, condition: s}\n"

static const struct ecase cases[] = {
	{ "title: x\nid: 1\ndetection:\n  s: {a: [b\n  condition: s\n", "t.yml:5:", "bad YAML (unterminated flow)" },
	{ "title: x\nid: 1\ndetection:\n\ts: {a: b}\n", "t.yml:4:1: error: found character that cannot start any token",
	  "bad YAML (tab)" },
	{ "id: r1\ndetection: {s: {a: b}, condition: s}\n", "t.yml:1:1: error: missing 'title'", "missing title" },
	{ "title: x\ndetection: {s: {a: b}, condition: s}\n", "t.yml:1:1: error: missing 'id'", "missing id" },
	{ "title: [x]\nid: r1\ndetection: {s: {a: b}, condition: s}\n", "t.yml:1:8: error: 'title' must be a string",
	  "title not a string" },
	{ "title: x\nid: r1\nlevel: high\n", "t.yml:1:1: error: missing 'detection'", "missing detection" },
	{ "title: x\nid: r1\ndetection:\n  s: {a: b}\n", "t.yml:3:1: error: 'detection' has no 'condition'",
	  "missing condition" },
	{ "title: x\nid: r1\ndetection:\n  s:\n    a|contain: b\n  condition: s\n",
	  "t.yml:5:5: error: unknown modifier 'contain'", "unknown modifier" },
	{ "title: x\nid: r1\ndetection:\n  s:\n    a|expand: '%x%'\n  condition: s\n",
	  "t.yml:5:5: error: modifier 'expand' is not supported", "unsupported modifier" },
	{ "title: x\nid: r1\ndetection:\n  s:\n    a|contains|startswith: b\n  condition: s\n",
	  "t.yml:5:5: error: contains, startswith and endswith exclude each other", "conflicting modifiers" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: sel and filter\n",
	  "t.yml:5:22: error: condition: unknown selection 'filter'", "unknown selection in the condition" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: (sel\n",
	  "t.yml:5:14: error: condition: unbalanced '(': no matching ')'", "unbalanced (" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: sel)\n",
	  "t.yml:5:17: error: condition: unbalanced ')'", "unbalanced )" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: any of sel*\n",
	  "t.yml:5:14: error: condition: 'any of' is not Sigma", "any of" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: sel | count() > 5\n",
	  "t.yml:5:18: error: condition: aggregation expressions", "aggregation" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: 1 of filter*\n",
	  "t.yml:5:19: error: condition: 'filter*' matches no selection", "pattern matching nothing" },
	{ "title: x\nid: r1\ndetection:\n  sel: {a: b}\n  condition: sel and\n",
	  "t.yml:5:21: error: condition: unexpected end of condition", "dangling and" },
	{ "title: x\nid: r1\ndetection:\n  s:\n    a|re: '(unclosed'\n  condition: s\n",
	  "t.yml:5:11: error: bad regular expression at offset 9: missing closing parenthesis", "bad regex" },
	{ "title: x\nid: r1\ndetection:\n  s:\n    ip|cidr: 10.0.0.0/33\n  condition: s\n",
	  "t.yml:5:14: error: bad CIDR block '10.0.0.0/33'", "bad cidr" },
	{ "title: x\nid: r1\ndetection:\n  s:\n    ip|cidr:\n      - 10.0.0.0/8\n      - not-an-ip\n  condition: s\n",
	  "t.yml:7:9: error: bad CIDR block 'not-an-ip'", "bad cidr in a list (the element's line)" },
	{ "title: x\nid: r1\nlevel: severe\ndetection: {s: {a: b}, condition: s}\n",
	  "t.yml:3:8: error: unknown level 'severe'", "bad level" },
	{ "title: x\nid: r1\naction: deny\ndetection: {s: {a: b}, condition: s}\n",
	  "t.yml:3:9: error: unknown action 'deny' (want alert, ask or block)", "bad action" },
	{ OK_RULE "---\ntitle: again\nid: fine\ndetection: {s: {a: b}, condition: s}\n",
	  "t.yml:6:5: error: duplicate id 'fine' (first in t.yml:1)", "duplicate id" },
	{ "title: c\nid: c1\ncorrelation: {type: event_count, rules: [x], timespan: 5 minutes, condition: {gte: 2}}\n",
	  "t.yml:3:56: error: bad timespan '5 minutes'", "bad timespan" },
	{ "title: c\nid: c1\ncorrelation:\n  type: event_count\n  rules:\n    - nosuchrule\n  timespan: 5m\n  condition: {gte: 2}\n",
	  "t.yml:6:7: error: correlation refers to unknown rule 'nosuchrule'", "correlation referencing an unknown rule" },
	{ "title: c\nid: c1\ncorrelation: {type: event_sum, rules: [x], timespan: 5m}\n",
	  "t.yml:3:21: error: unknown correlation type 'event_sum'", "bad correlation type" },
	{ OK_RULE "---\ntitle: c\nid: c1\ncorrelation: {type: event_count, rules: [fine], timespan: 5m}\n",
	  "t.yml:7:1: error: event_count needs a 'condition'", "event_count without a condition" },
	{ OK_RULE "---\ntitle: c\nid: c1\ncorrelation: {type: value_count, rules: [fine], timespan: 5m, condition: {gte: 3}}\n",
	  "t.yml:7:74: error: value_count needs 'field' in its condition", "value_count without field" },
	{ OK_RULE "---\ntitle: c\nid: c1\ncorrelation: {type: event_count, rules: [fine], timespan: 5m, condition: {gte: -1}}\n",
	  "t.yml:7:80: error: 'gte' wants an integer from 0 to 10000", "negative threshold" },
	{ "title: x\nid: r1\ndetection: {s: {a: b}, condition: s}\ntests: {true_positives: [\"not a map\"]}\n",
	  "t.yml:4:26: error: a test case of a detection rule is an event (a map)", "bad test case" },
	{ "title: x\nid: r1\ndetection: {s: {a: b}, condition: s}\ntests: {positives: []}\n",
	  "t.yml:4:9: error: unknown key 'positives' in tests", "unknown tests key" },
	{ "title: x\nid: r1\ndetection:\n  s: {a|gt: ten}\n  condition: s\n",
	  "t.yml:4:13: error: a comparison wants a number, not 'ten'", "comparison with a string" },
	{ "title: x\nid: r1\ndetection:\n  s: {a|exists: maybe}\n  condition: s\n",
	  "t.yml:4:17: error: 'exists' wants true or false", "exists with a string" },
	{ "title: x\nid: r1\ndetection:\n  s: {a: {b: c}}\n  condition: s\n",
	  "t.yml:4:10: error: a value must be a scalar", "a map as a value" },
	{ "title: x\nid: r1\ndetection:\n  s: []\n  condition: s\n", "t.yml:4:6: error: empty selection 's'", "empty selection" },
	{ "title: x\nid: r1\ndetection:\n  'bad name': {a: b}\n  condition: x\n",
	  "t.yml:4:3: error: bad selection name 'bad name'", "bad selection name" },
	{ "title: x\nid: r1\ndetection:\n  s: {a: b}\n  timeframe: 5m\n  condition: s\n",
	  "t.yml:5:3: error: 'timeframe' is deprecated", "timeframe" },
	{ "title: x\nid: r1\ntitle: y\ndetection: {s: {a: b}, condition: s}\n", "t.yml:3:1: error: duplicate key 'title'",
	  "duplicate key" },
	{ "title: x\nid: r1\ndetection: &d {s: {a: b}, condition: s}\nother: *d\n",
	  "t.yml:4:8: error: aliases (*d) are not supported", "alias" },
	{ "- just\n- a list\n", "t.yml:1:1: error: a rule must be a map", "not a map" },
	{ "title: x\nid: r1\ndetection:\n  s: {a|re: 'x'}\n  condition: s\ncorrelation: {type: temporal, rules: [a], timespan: 1m}\n",
	  "t.yml:3:1: error: a rule has either 'detection' or 'correlation'", "both detection and correlation" },
};

static void run_case(const struct ecase *c, size_t idx)
{
	struct rules_set *s = NULL;
	char buf[1024], all[4096] = "";
	bool found = false;
	size_t len = 0;

	if (rules_set_new(NULL, &s) < 0 || rules_add_text(s, "t.yml", c->yaml, strlen(c->yaml)) < 0 ||
	    rules_finish(s) < 0) {
		TAP_OK(0, "error case %zu (%s): load", idx, c->name);
		rules_set_free(s);
		return;
	}
	for (size_t i = 0; i < rules_diag_count(s); i++) {
		const struct rules_diag *d = rules_diag_get(s, i);
		const char *colon;
		size_t plen;

		rules_diag_format(d, buf, sizeof(buf));
		len += (size_t)snprintf(all + len, len < sizeof(all) ? sizeof(all) - len : 0, "\n#   %s", buf);
		if (len >= sizeof(all))
			len = sizeof(all) - 1;
		/* The location and severity exactly; the message by substring. */
		colon = strstr(c->want, ": error: ");
		plen = colon ? (size_t)(colon - c->want) + 9 : strlen(c->want);
		if (!strncmp(buf, c->want, plen) && strstr(buf, c->want + plen))
			found = true;
	}
	TAP_OK(found && rules_error_count(s) > 0, "%s: %s", c->name, c->want);
	if (!found)
		printf("#   got:%s\n", all);
	rules_set_free(s);
}

/* Several bad rules in one file: every error reported, the good rules kept. */
static void test_all_errors(void)
{
	const char *yaml = "title: a\nid: a\ndetection: {s: {x|foo: 1}, condition: s and nope}\n"
			   "---\n" OK_RULE "---\n"
			   "title: b\nid: b\nlevel: nope\ndetection: {s: {x: 1}, condition: t}\n"
			   "---\ntitle: good2\nid: good2\ndetection: {s: {x: 1}, condition: s}\n";
	struct rules_set *s = NULL;

	rules_set_new(NULL, &s);
	rules_add_text(s, "t.yml", yaml, strlen(yaml));
	rules_finish(s);
	TAP_OK(rules_error_count(s) == 4 && rules_count(s) == 2 && rules_find(s, "fine") >= 0 &&
		       rules_find(s, "good2") >= 0 && rules_find(s, "a") < 0,
	       "four errors in two bad rules (a bad selection does not hide a bad condition); "
	       "the two good rules load (%zu errors, %zu rules)",
	       rules_error_count(s), rules_count(s));
	rules_set_free(s);
}

static void test_files(void)
{
	const char *tmp = getenv("TMPDIR");
	char dir[256], p[512];
	struct rules_set *s = NULL;
	char buf[1024];
	FILE *f;
	bool saw_big = false, saw_missing = false;

	snprintf(dir, sizeof(dir), "%s/vigil-rules-XXXXXX", tmp && *tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		TAP_OK(0, "temp dir");
		return;
	}
	snprintf(p, sizeof(p), "%s/a.yml", dir);
	f = fopen(p, "w");
	fputs(OK_RULE, f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/sub", dir);
	mkdir(p, 0700);
	snprintf(p, sizeof(p), "%s/sub/b.yaml", dir);
	f = fopen(p, "w");
	fputs("title: b\nid: b\ndetection: {s: {x: 1}, condition: s}\n", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/notes.txt", dir);
	f = fopen(p, "w");
	fputs("not yaml: [", f);
	fclose(f);
	snprintf(p, sizeof(p), "%s/big.yml", dir);
	f = fopen(p, "w");
	for (int i = 0; i < 2000; i++)
		fputs("# padding padding padding padding padding padding\n", f);
	fclose(f);
	{
		struct rules_options o = { .max_file = 64 * 1024 };

		rules_set_new(&o, &s);
	}
	rules_add_path(s, dir);
	snprintf(p, sizeof(p), "%s/missing.yml", dir);
	rules_add_path(s, p);
	rules_finish(s);
	for (size_t i = 0; i < rules_diag_count(s); i++) {
		rules_diag_format(rules_diag_get(s, i), buf, sizeof(buf));
		saw_big |= strstr(buf, "big.yml: error: file larger than 65536 bytes") != NULL;
		saw_missing |= strstr(buf, "missing.yml: error: cannot read: No such file") != NULL;
	}
	TAP_OK(rules_count(s) == 2 && rules_find(s, "b") >= 0, "a directory loads *.yml and *.yaml, subdirectories too, not .txt");
	TAP_OK(saw_big, "a file over the size limit is an error");
	TAP_OK(saw_missing, "a missing path is an error");
	rules_set_free(s);
	snprintf(buf, sizeof(buf), "rm -rf '%s'", dir);
	TAP_OK(system(buf) == 0, "cleanup");
}

int main(void)
{
	for (size_t i = 0; i < VG_ARRAY_LEN(cases); i++)
		run_case(&cases[i], i);
	test_all_errors();
	test_files();
	return tap_done();
}
