/*
 * test_rules_match.c - every modifier and condition form, matching and not
 * matching; value types (strings, wildcards and escapes, numbers, booleans,
 * null); field paths through arrays; keywords; logsource; actions on
 * blocking and non-blocking hooks; "why" texts; the category index.
 */
#include "rtest.h"

#include <errno.h>

/* One rule made of the given detection lines (indented under detection:). */
static struct rules_set *rule(const char *detection)
{
	char yaml[8192];

	snprintf(yaml, sizeof(yaml),
		 "title: test rule\nid: r-1\nlevel: high\ndetection:\n%s\n", detection);
	return rt_load(yaml, NULL);
}

struct mcase {
	const char *detection;
	const char *event;
	int want; /* 1 hit, 0 none */
	const char *name;
};

static void run_cases(const struct mcase *c, size_t n)
{
	struct rules_result res;

	rules_result_init(&res);
	for (size_t i = 0; i < n; i++) {
		struct rules_set *s = rule(c[i].detection);
		int got = -2;

		if (s && rules_error_count(s) == 0 && rules_count(s) == 1)
			got = rt_eval(s, NULL, c[i].event, 1, &res);
		TAP_OK(got == c[i].want, "%s (%s)", c[i].name, c[i].want ? "hit" : "no hit");
		if (got != c[i].want)
			TAP_DIAG("got %d for %s", got, c[i].event);
		rules_set_free(s);
	}
	rules_result_release(&res);
}

static const struct mcase cases[] = {
	/* plain values, case, wildcards, escapes */
	{ "  s: {tool: bash}\n  condition: s", "{\"tool\":\"Bash\"}", 1, "equals is case-insensitive" },
	{ "  s: {tool|cased: bash}\n  condition: s", "{\"tool\":\"Bash\"}", 0, "cased: case-sensitive" },
	{ "  s: {tool|cased: Bash}\n  condition: s", "{\"tool\":\"Bash\"}", 1, "cased: same case matches" },
	{ "  s: {tool: bas}\n  condition: s", "{\"tool\":\"Bash\"}", 0, "equals needs the whole value" },
	{ "  s: {target: 'rm *'}\n  condition: s", "{\"target\":\"rm -rf /\"}", 1, "trailing * wildcard" },
	{ "  s: {target: 'r? -rf*'}\n  condition: s", "{\"target\":\"rm -rf /\"}", 1, "? matches one character" },
	{ "  s: {target: 'r? -rf*'}\n  condition: s", "{\"target\":\"r -rf /\"}", 0, "? needs a character" },
	{ "  s: {target: '*a*b*c*'}\n  condition: s", "{\"target\":\"xxaxxbxxcxx\"}", 1, "inner wildcards" },
	{ "  s: {target: '*a*b*c*'}\n  condition: s", "{\"target\":\"xxcxxbxxaxx\"}", 0, "inner wildcards keep order" },
	{ "  s: {target: 'what\\?'}\n  condition: s", "{\"target\":\"what?\"}", 1, "escaped ? is literal" },
	{ "  s: {target: 'what\\?'}\n  condition: s", "{\"target\":\"whatx\"}", 0, "escaped ? is not a wildcard" },
	{ "  s: {target: 'a\\*b'}\n  condition: s", "{\"target\":\"a*b\"}", 1, "escaped * is literal" },
	{ "  s: {target: 'a\\*b'}\n  condition: s", "{\"target\":\"axxb\"}", 0, "escaped * is not a wildcard" },
	{ "  s: {target: 'C:\\Windows\\\\*'}\n  condition: s", "{\"target\":\"c:\\\\windows\\\\x.exe\"}", 1,
	  "backslash before a letter is plain; \\\\* is backslash + wildcard" },
	{ "  s: {target: 'é*'}\n  condition: s", "{\"target\":\"école\"}", 1, "UTF-8 values" },
	{ "  s: {target: '?cole'}\n  condition: s", "{\"target\":\"école\"}", 1, "? matches one UTF-8 character" },
	/* lists */
	{ "  s: {tool: [Read, Write]}\n  condition: s", "{\"tool\":\"Write\"}", 1, "a list of values is OR" },
	{ "  s: {tool: [Read, Write]}\n  condition: s", "{\"tool\":\"Edit\"}", 0, "a list of values: none" },
	{ "  s: {tool: Bash, hook: PreToolUse}\n  condition: s", "{\"tool\":\"Bash\",\"hook\":\"PostToolUse\"}", 0,
	  "a map is AND" },
	{ "  s:\n    - {tool: Read}\n    - {hook: Stop}\n  condition: s", "{\"tool\":\"Bash\",\"hook\":\"Stop\"}", 1,
	  "a list of maps is OR" },
	/* contains / startswith / endswith / all */
	{ "  s: {target|contains: 'rm -rf'}\n  condition: s", "{\"target\":\"sudo RM -RF /\"}", 1, "contains" },
	{ "  s: {target|contains: 'rm -rf'}\n  condition: s", "{\"target\":\"rm -r\"}", 0, "contains: absent" },
	{ "  s: {target|startswith: git}\n  condition: s", "{\"target\":\"git push\"}", 1, "startswith" },
	{ "  s: {target|startswith: git}\n  condition: s", "{\"target\":\"sudo git\"}", 0, "startswith: not at start" },
	{ "  s: {target|endswith: .pem}\n  condition: s", "{\"target\":\"/k/id.PEM\"}", 1, "endswith" },
	{ "  s: {target|endswith: .pem}\n  condition: s", "{\"target\":\"/k/id.pem.bak\"}", 0, "endswith: not at end" },
	{ "  s: {target|contains|all: [curl, '| sh']}\n  condition: s", "{\"target\":\"curl x | sh\"}", 1,
	  "contains|all: every value" },
	{ "  s: {target|contains|all: [curl, '| sh']}\n  condition: s", "{\"target\":\"curl x\"}", 0,
	  "contains|all: one missing" },
	{ "  s: {target|contains|cased: RM}\n  condition: s", "{\"target\":\"rm\"}", 0, "contains|cased" },
	{ "  s: {target|contains: 'a*c'}\n  condition: s", "{\"target\":\"xxabbcxx\"}", 1, "contains with an inner wildcard" },
	/* windash */
	{ "  s: {target|windash|contains: 'a-b'}\n  condition: s", "{\"target\":\"a/b\"}", 0,
	  "windash: only a dash that starts a word" },
	{ "  s: {target|windash|contains: '-rf'}\n  condition: s", "{\"target\":\"rm /rf x\"}", 1, "windash: / for -" },
	{ "  s: {target|windash|contains: '-rf'}\n  condition: s", "{\"target\":\"rm \\u2013rf x\"}", 1,
	  "windash: en dash" },
	{ "  s: {target|windash|contains: '-rf'}\n  condition: s", "{\"target\":\"rm \\u2015rf x\"}", 1,
	  "windash: horizontal bar" },
	{ "  s: {target|windash|contains: '-rf'}\n  condition: s", "{\"target\":\"rm +rf x\"}", 0, "windash: not +" },
	/* re */
	{ "  s: {target|re: '^rm\\s+-[a-z]*r'}\n  condition: s", "{\"target\":\"rm  -fr /\"}", 1, "re" },
	{ "  s: {target|re: '^rm'}\n  condition: s", "{\"target\":\"RM x\"}", 0, "re is case-sensitive" },
	{ "  s: {target|re|i: '^rm'}\n  condition: s", "{\"target\":\"RM x\"}", 1, "re|i" },
	{ "  s: {target|re: '^b'}\n  condition: s", "{\"target\":\"a\\nb\"}", 0, "re: ^ is the start of the string" },
	{ "  s: {target|re|m: '^b'}\n  condition: s", "{\"target\":\"a\\nb\"}", 1, "re|m: ^ at a line start" },
	{ "  s: {target|re: 'a.b'}\n  condition: s", "{\"target\":\"a\\nb\"}", 0, "re: . does not match newline" },
	{ "  s: {target|re|s: 'a.b'}\n  condition: s", "{\"target\":\"a\\nb\"}", 1, "re|s: . matches newline" },
	/* cidr */
	{ "  s: {target|cidr: 10.0.0.0/8}\n  condition: s", "{\"target\":\"10.1.2.3\"}", 1, "cidr: IPv4" },
	{ "  s: {target|cidr: 10.0.0.0/8}\n  condition: s", "{\"target\":\"11.1.2.3\"}", 0, "cidr: outside" },
	{ "  s: {target|cidr: 192.168.1.0/28}\n  condition: s", "{\"target\":\"192.168.1.17\"}", 0,
	  "cidr: partial byte prefix, outside" },
	{ "  s: {target|cidr: 192.168.1.0/28}\n  condition: s", "{\"target\":\"192.168.1.15\"}", 1,
	  "cidr: partial byte prefix, inside" },
	{ "  s: {target|cidr: 10.0.0.0/8}\n  condition: s", "{\"target\":\"http://user@10.9.8.7:8080/x?y\"}", 1,
	  "cidr: URL with an IP host" },
	{ "  s: {target|cidr: 10.0.0.0/8}\n  condition: s", "{\"target\":\"10.0.0.1:22\"}", 1, "cidr: host:port" },
	{ "  s: {target|cidr: 10.0.0.0/8}\n  condition: s", "{\"target\":\"https://example.com/10.0.0.1\"}", 0,
	  "cidr: a name host never matches" },
	{ "  s: {target|cidr: 'fd00::/8'}\n  condition: s", "{\"target\":\"https://[fd12::1]:443/\"}", 1, "cidr: IPv6 URL" },
	{ "  s: {target|cidr: 'fd00::/8'}\n  condition: s", "{\"target\":\"fd12::1\"}", 1, "cidr: bare IPv6" },
	{ "  s: {target|cidr: 'fd00::/8'}\n  condition: s", "{\"target\":\"10.0.0.1\"}", 0, "cidr: other family" },
	/* exists, null, comparisons, numbers, booleans */
	{ "  s: {payload.tool_input.command|exists: true}\n  condition: s",
	  "{\"payload\":{\"tool_input\":{\"command\":\"x\"}}}", 1, "exists: true, present" },
	{ "  s: {payload.tool_input.command|exists: true}\n  condition: s", "{\"payload\":{}}", 0, "exists: true, absent" },
	{ "  s: {payload.x|exists: false}\n  condition: s", "{\"payload\":{}}", 1, "exists: false, absent" },
	{ "  s: {payload.x|exists: true}\n  condition: s", "{\"payload\":{\"x\":null}}", 1, "exists: a null value exists" },
	{ "  s: {payload.x: null}\n  condition: s", "{\"payload\":{}}", 1, "null: absent" },
	{ "  s: {payload.x: null}\n  condition: s", "{\"payload\":{\"x\":null}}", 1, "null: null" },
	{ "  s: {payload.x: null}\n  condition: s", "{\"payload\":{\"x\":\"\"}}", 0, "null: an empty string is not null" },
	{ "  s: {payload.x: ''}\n  condition: s", "{\"payload\":{\"x\":\"\"}}", 1, "empty string value" },
	{ "  s: {duration_ms|gt: 100}\n  condition: s", "{\"duration_ms\":101}", 1, "gt" },
	{ "  s: {duration_ms|gt: 100}\n  condition: s", "{\"duration_ms\":100}", 0, "gt: equal is not greater" },
	{ "  s: {duration_ms|gte: 100}\n  condition: s", "{\"duration_ms\":100}", 1, "gte" },
	{ "  s: {duration_ms|lt: 1.5}\n  condition: s", "{\"duration_ms\":1}", 1, "lt with a float" },
	{ "  s: {duration_ms|lte: 5}\n  condition: s", "{\"duration_ms\":\"5\"}", 1, "lte: a numeric string" },
	{ "  s: {duration_ms|lte: 5}\n  condition: s", "{\"duration_ms\":\"five\"}", 0, "lte: not a number" },
	{ "  s: {duration_ms|lt: 5}\n  condition: s", "{}", 0, "lt: absent" },
	{ "  s: {risk.score: 42}\n  condition: s", "{\"risk\":{\"score\":42}}", 1, "number equals number" },
	{ "  s: {risk.score: 42}\n  condition: s", "{\"risk\":{\"score\":\"42\"}}", 1, "number against a string" },
	{ "  s: {mode: 0777}\n  condition: s", "{\"mode\":\"0777\"}", 1, "0777 compares as written against strings" },
	{ "  s: {mode: 0777}\n  condition: s", "{\"mode\":\"777\"}", 0, "0777 is not the string 777" },
	{ "  s: {outside_project_scope: true}\n  condition: s", "{\"outside_project_scope\":true}", 1, "boolean" },
	{ "  s: {outside_project_scope: true}\n  condition: s", "{\"outside_project_scope\":false}", 0,
	  "boolean: other value" },
	{ "  s: {outside_project_scope: true}\n  condition: s", "{\"outside_project_scope\":\"TRUE\"}", 1,
	  "boolean against a string" },
	{ "  s: {tool: 12}\n  condition: s", "{\"tool\":{\"a\":12}}", 0, "an object never equals a value" },
	/* paths and arrays */
	{ "  s: {payload.tool_input.edits.old_string|contains: secret}\n  condition: s",
	  "{\"payload\":{\"tool_input\":{\"edits\":[{\"old_string\":\"a\"},{\"old_string\":\"my SECRET\"}]}}}", 1,
	  "an array along the path: any element" },
	{ "  s: {risk.reasons: outside_project}\n  condition: s", "{\"risk\":{\"reasons\":[\"x\",\"outside_project\"]}}", 1,
	  "an array leaf: any element" },
	{ "  s: {risk.reasons|all: [a, b]}\n  condition: s", "{\"risk\":{\"reasons\":[\"b\",\"a\"]}}", 1,
	  "|all across array elements" },
	{ "  s: {project.root|startswith: /home}\n  condition: s", "{\"project\":\"x\"}", 0, "path through a string" },
	/* keywords */
	{ "  k: [disableAllHooks, 'rm -rf']\n  condition: k", "{\"target\":\"x\",\"payload\":{\"a\":[{\"b\":\"set disableallhooks\"}]}}", 1,
	  "keywords search payload strings (case-insensitive)" },
	{ "  k: [disableAllHooks]\n  condition: k", "{\"target\":\"please RM -RF it\",\"tool\":\"disableAllHooks\"}", 0,
	  "keywords do not search other fields" },
	{ "  k: 'rm -rf'\n  condition: k", "{\"target\":\"please RM -RF it\"}", 1, "a single keyword, in target" },
	{ "  k:\n    '|all': [curl, bash]\n  condition: k", "{\"target\":\"curl x | bash\"}", 1, "keywords with |all" },
	{ "  k:\n    '|all': [curl, bash]\n  condition: k", "{\"target\":\"curl x | sh\"}", 0, "keywords with |all: one missing" },
	/* base64 */
	{ "  s: {target|base64|contains: 'curl h'}\n  condition: s", "{\"target\":\"echo Y3VybCBodHRw | base64 -d\"}", 1,
	  "base64|contains" },
	{ "  s: {target|base64offset|contains: 'http://'}\n  condition: s",
	  "{\"target\":\"echo eGh0dHA6Ly9ldmls | base64 -d | sh\"}", 1, "base64offset: shifted by one byte" },
	{ "  s: {target|base64offset|contains: 'http://'}\n  condition: s", "{\"target\":\"echo aGVsbG8= \"}", 0,
	  "base64offset: absent" },
	/* conditions */
	{ "  a: {tool: Bash}\n  b: {hook: PreToolUse}\n  condition: a and b", "{\"tool\":\"Bash\",\"hook\":\"PreToolUse\"}", 1, "and" },
	{ "  a: {tool: Bash}\n  b: {hook: PreToolUse}\n  condition: a and b", "{\"tool\":\"Bash\"}", 0, "and: one false" },
	{ "  a: {tool: Bash}\n  b: {hook: PreToolUse}\n  condition: a or b", "{\"hook\":\"PreToolUse\"}", 1, "or" },
	{ "  a: {tool: Bash}\n  b: {hook: PreToolUse}\n  condition: a and not b", "{\"tool\":\"Bash\",\"hook\":\"PreToolUse\"}", 0,
	  "and not" },
	{ "  a: {tool: Bash}\n  b: {hook: PreToolUse}\n  condition: not a", "{\"tool\":\"Read\"}", 1, "not alone" },
	{ "  a: {tool: A}\n  b: {tool: B}\n  c: {hook: H}\n  condition: a or b and c", "{\"tool\":\"A\",\"hook\":\"x\"}", 1,
	  "precedence: and binds tighter than or" },
	{ "  a: {tool: A}\n  b: {tool: B}\n  c: {hook: H}\n  condition: (a or b) and c", "{\"tool\":\"A\",\"hook\":\"x\"}", 0,
	  "parentheses" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: not a and b", "{\"tool\":\"X\",\"hook\":\"H\"}", 1,
	  "precedence: not binds tighter than and" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: not (a or b)", "{\"tool\":\"X\",\"hook\":\"H\"}", 0, "not (...)" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: A AND B", "{\"tool\":\"A\",\"hook\":\"H\"}", -2,
	  "selection names are case-sensitive (load error)" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: a AND NOT b", "{\"tool\":\"A\",\"hook\":\"X\"}", 1,
	  "keywords are case-insensitive" },
	{ "  sel_a: {tool: A}\n  sel_b: {hook: H}\n  other: {x: 1}\n  condition: 1 of sel_*", "{\"hook\":\"H\"}", 1, "1 of sel_*" },
	{ "  sel_a: {tool: A}\n  sel_b: {hook: H}\n  other: {x: 1}\n  condition: all of sel_*", "{\"hook\":\"H\"}", 0,
	  "all of sel_*: one false" },
	{ "  sel_a: {tool: A}\n  sel_b: {hook: H}\n  other: {x: 1}\n  condition: all of sel_*", "{\"tool\":\"A\",\"hook\":\"H\"}", 1,
	  "all of sel_*" },
	{ "  a: {tool: A}\n  _f: {hook: H}\n  condition: all of them", "{\"tool\":\"A\"}", 1,
	  "all of them skips _ selections" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: 1 of them", "{\"hook\":\"H\"}", 1, "1 of them" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: 1 of them", "{\"hook\":\"X\"}", 0, "1 of them: none" },
	{ "  a: {tool: A}\n  f1: {hook: H}\n  f2: {agent: x}\n  condition: a and not 1 of f*", "{\"tool\":\"A\",\"agent\":\"x\"}", 0,
	  "a and not 1 of f*" },
	{ "  a: {tool: A}\n  b: {hook: H}\n  condition: [a, b]", "{\"hook\":\"H\"}", 1, "a list of conditions is OR" },
};

static void test_logsource_and_actions(void)
{
	const char *yaml = "title: claude only\nid: ls-1\nlogsource: {product: claude-code, category: command_execution, service: PreToolUse}\n"
			   "action: block\nlevel: low\ndetection: {s: {target|contains: rm}, condition: s}\n"
			   "---\ntitle: any agent\nid: ls-2\nlogsource: {product: vigil}\naction: ask\nlevel: critical\n"
			   "detection: {s: {target|contains: rm}, condition: s}\n"
			   "---\ntitle: quiet\nid: ls-3\ngenerate: false\ndetection: {s: {target|contains: rm}, condition: s}\n";
	struct rules_set *s = rt_load(yaml, NULL);
	struct rules_result res;
	int n;

	rules_result_init(&res);
	TAP_OK(s && rules_error_count(s) == 0 && rules_count(s) == 3, "logsource rules load");
	if (!s)
		return;
	n = rt_eval(s, NULL, "{\"agent\":\"claude-code\",\"event_type\":\"command_execution\",\"hook\":\"PreToolUse\",\"target\":\"rm x\"}", 1, &res);
	TAP_OK(n == 2, "product/category/service match; generate: false gives no hit (%d)", n);
	TAP_OK(res.blocking && res.action == RULES_ACTION_BLOCK && res.action_hit == 0 &&
		       !strcmp(res.hits[0].rule_id, "ls-1"),
	       "block beats ask on a blocking hook");
	n = rt_eval(s, NULL, "{\"agent\":\"codex\",\"event_type\":\"command_execution\",\"hook\":\"PreToolUse\",\"target\":\"rm x\"}", 1, &res);
	TAP_OK(n == 1 && !strcmp(res.hits[0].rule_id, "ls-2") && res.action == RULES_ACTION_ASK,
	       "another agent: only the product-less rule; its action is ask");
	n = rt_eval(s, NULL, "{\"agent\":\"claude-code\",\"event_type\":\"command_execution\",\"hook\":\"PostToolUse\",\"target\":\"rm x\"}", 1, &res);
	TAP_OK(n == 1 && !res.blocking && res.action == RULES_ACTION_ALERT && res.action_hit == 0,
	       "a non-blocking hook: every hit is an alert");
	n = rt_eval(s, NULL, "{\"agent\":\"claude-code\",\"event_type\":\"file_read\",\"hook\":\"PreToolUse\",\"target\":\"rm x\"}", 1, &res);
	TAP_OK(n == 1 && !strcmp(res.hits[0].rule_id, "ls-2"), "category must equal event_type");
	n = rt_eval(s, NULL, "{\"target\":\"ls\"}", 1, &res);
	TAP_OK(n == 0 && res.action == RULES_ACTION_ALERT && res.action_hit == -1, "no hit: no action");
	{
		struct rules_stats st;
		long q = rules_find(s, "ls-3");

		TAP_OK(q >= 0 && rules_get_stats(s, (size_t)q, &st) == 0 && st.hits == 4,
		       "generate: false still counts its matches (%" PRIu64 ")", st.hits);
	}
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_why(void)
{
	const char *yaml = "title: Destructive rm\nid: w-1\ndetection:\n"
			   "  route: {hook: PreToolUse}\n"
			   "  rm: {payload.tool_input.command|contains: 'rm -rf'}\n"
			   "  condition: route and rm\n";
	struct rules_set *s = rt_load(yaml, NULL);
	struct rules_result res;
	int n;

	rules_result_init(&res);
	n = s ? rt_eval(s, NULL, "{\"hook\":\"PreToolUse\",\"payload\":{\"tool_input\":{\"command\":\"sudo rm -rf /\\n\"}}}", 1, &res) : -1;
	TAP_OK(n == 1, "why: the rule hits");
	if (n == 1) {
		const char *w = res.hits[0].why;

		TAP_DIAG("why: %s", w);
		TAP_OK(strstr(w, "Destructive rm:") == w, "why starts with the title");
		TAP_OK(strstr(w, "selection 'rm': payload.tool_input.command|contains 'rm -rf' matched \"sudo rm -rf / \""),
		       "why names the selection, field, modifier, value and what matched");
		TAP_OK(strstr(w, "selection 'route'") > strstr(w, "selection 'rm'"),
		       "the content selection comes before the routing one");
		TAP_OK(res.hits[0].kind == RULES_KIND_DETECTION && res.hits[0].level == RULES_LEVEL_MEDIUM &&
			       res.hits[0].action == RULES_ACTION_ALERT,
		       "defaults: level medium, action alert");
	}
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_index(void)
{
	const char *yaml = "title: by category\nid: i-1\nlogsource: {category: file_read}\ndetection: {s: {target|endswith: .env}, condition: s}\n"
			   "---\ntitle: by selection\nid: i-2\ndetection: {t: {event_type: [command_execution, File_Write]}, s: {target|contains: x}, condition: t and s}\n"
			   "---\ntitle: every event\nid: i-3\ndetection: {s: {target|contains: zzz}, condition: s}\n"
			   "---\ntitle: mixed keys\nid: i-4\ndetection: {t: [{event_type: file_read}, {event_type|cased: web_fetch}], condition: t}\n";
	struct rules_set *s = rt_load(yaml, NULL);
	struct rules_result res;
	struct rules_stats a, b, c;
	int n1, n2, n3;

	rules_result_init(&res);
	if (!s) {
		TAP_OK(0, "index rules load");
		return;
	}
	n1 = rt_eval(s, NULL, "{\"event_type\":\"file_read\",\"target\":\"/p/.env\"}", 1, &res);
	n2 = rt_eval(s, NULL, "{\"event_type\":\"FILE_WRITE\",\"target\":\"x\"}", 1, &res);
	n3 = rt_eval(s, NULL, "{\"event_type\":\"web_fetch\",\"target\":\"x.env zzz\"}", 1, &res);
	rules_get_stats(s, 0, &a);
	rules_get_stats(s, 1, &b);
	rules_get_stats(s, 2, &c);
	TAP_OK(n1 == 2 && n2 == 1 && n3 == 2, "indexed rules still match (%d %d %d)", n1, n2, n3);
	TAP_OK(a.evals == 1 && b.evals == 1 && c.evals == 3,
	       "rules run only on their event types (evals %" PRIu64 " %" PRIu64 " %" PRIu64 ")",
	       a.evals, b.evals, c.evals);
	rules_result_release(&res);
	rules_set_free(s);
}

static void test_eval_errors(void)
{
	struct rules_set *s = rt_load("title: t\nid: e-1\ndetection: {s: {a: b}, condition: s}\n", NULL);
	struct rules_set *raw = NULL;
	struct rules_result res;
	json_t *arr = json_array(), *ev = json_object();

	rules_result_init(&res);
	TAP_OK(s && rules_eval(s, NULL, arr, 1, &res) == -EINVAL, "an event that is not an object: -EINVAL");
	rules_set_new(NULL, &raw);
	TAP_OK(raw && rules_eval(raw, NULL, ev, 1, &res) == -EINVAL, "an unfinished set: -EINVAL");
	TAP_OK(raw && rules_finish(raw) == 0 && rules_finish(raw) == -EBUSY &&
		       rules_add_text(raw, "x", "a: 1", 4) == -EBUSY,
	       "finish twice, or load after finish: -EBUSY");
	TAP_OK(raw && rules_eval(raw, NULL, ev, 1, &res) == 0 && res.nhits == 0, "an empty set matches nothing");
	json_decref(arr);
	json_decref(ev);
	rules_result_release(&res);
	rules_set_free(raw);
	rules_set_free(s);
}

int main(void)
{
	run_cases(cases, VG_ARRAY_LEN(cases));
	test_logsource_and_actions();
	test_why();
	test_index();
	test_eval_errors();
	return tap_done();
}
