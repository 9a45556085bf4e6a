/*
 * test_rules_spec.c - the examples of the public Sigma specification load and
 * behave as the specification describes.
 *
 * Source: SigmaHQ/sigma-specification, specification/sigma-rules-specification.md
 * (detection: lists, maps, special values, keywords, conditions),
 * specification/sigma-appendix-modifiers.md (modifiers) and
 * specification/sigma-correlation-rules-specification.md (event_count,
 * value_count, temporal, temporal_ordered, aliases, and the "Failed Logins
 * Followed by Successful Login" chain).  The structure is the specification's;
 * the rule text is written anew here, with a title and an id added where a
 * snippet lacks them (vigil requires both) and Windows field names kept (the
 * fields are just paths into the event).
 */
#include "rtest.h"

#define S 1000000000ull

static const char *detection_examples =
	/* Lists: keywords */
	"title: keywords\nid: spec-keywords\ndetection:\n"
	"    keywords:\n        - 'EVILSERVICE'\n        - 'svchost.exe -n evil'\n    condition: keywords\n"
	/* Lists of maps */
	"---\ntitle: list of maps\nid: spec-list-of-maps\ndetection:\n"
	"    selection:\n        - Image|endswith: '\\example.exe'\n        - Description|contains: 'Test executable'\n"
	"    condition: selection\n"
	/* Maps */
	"---\ntitle: maps\nid: spec-maps\ndetection:\n"
	"    selection:\n        EventLog: Security\n        EventID:\n            - 517\n            - 1102\n"
	"    condition: selection\n"
	"---\ntitle: maps 2\nid: spec-maps-2\ndetection:\n"
	"    selection:\n          EventLog: Security\n          EventID: 4769\n          TicketOptions: '0x40810000'\n"
	"          TicketEncryption: '0x17'\n    condition: selection\n"
	/* Special field values: null */
	"---\ntitle: null value\nid: spec-null\ndetection:\n"
	"    selection:\n        EventID: 4738\n    filter:\n        PasswordLastSet: null\n"
	"    condition: selection and not filter\n"
	/* Field existence */
	"---\ntitle: exists\nid: spec-exists\ndetection:\n"
	"    selection:\n        EventID: 4738\n        PasswordLastSet|exists: true\n    condition: selection\n"
	/* Keywords with all */
	"---\ntitle: keywords all\nid: spec-keywords-all\ndetection:\n"
	"    keywords_cmdlet:\n        '|all':\n            - 'OabVirtualDirectory'\n            - ' -ExternalUrl '\n"
	"    condition: keywords_cmdlet\n"
	/* Conditions */
	"---\ntitle: cond 1\nid: spec-cond-1\ndetection:\n"
	"    selection1: {a: 1}\n    selection2: {b: 2}\n    keywords: [kw]\n    condition: 1 of selection* and keywords\n"
	"---\ntitle: cond 2\nid: spec-cond-2\ndetection:\n"
	"    selection1: {a: 1}\n    filter1: {c: 3}\n    filter2: {d: 4}\n"
	"    condition: 1 of selection* and not 1 of filter*\n"
	"---\ntitle: cond 3\nid: spec-cond-3\ndetection:\n"
	"    selection1: {a: 1}\n    keywords1: [k1]\n    keywords2: [k2]\n"
	"    condition: selection1 and (keywords1 or keywords2)\n"
	"---\ntitle: cond 4\nid: spec-cond-4\ndetection:\n"
	"    selection: {a: 1}\n    _example: {b: 2}\n    condition: all of them\n"
	/* Modifiers appendix */
	"---\ntitle: cidr\nid: spec-cidr\ndetection:\n    selection:\n        DestinationIp|cidr: 10.0.0.0/8\n"
	"    condition: selection\n"
	"---\ntitle: windash\nid: spec-windash\ndetection:\n    selection:\n        CommandLine|windash|contains: ' -exec '\n"
	"    condition: selection\n"
	"---\ntitle: re subs\nid: spec-re\ndetection:\n    selection:\n        CommandLine|re|i: 'invoke-\\w+'\n"
	"    condition: selection\n";

static const char *correlation_example =
	"title: Correlation - Multiple Failed Logins Followed by Successful Login\n"
	"id: b180ead8-d58f-40b2-ae54-c8940995b9b6\nstatus: experimental\n"
	"description: Detects multiple failed logins by a single user followed by a successful login of that user\n"
	"references:\n    - https://reference.com\nauthor: Florian Roth (Nextron Systems)\ndate: 2023-06-16\n"
	"correlation:\n    type: temporal_ordered\n    rules:\n        - multiple_failed_login\n        - successful_login\n"
	"    group-by:\n        - User\n    timespan: 10m\nfalsepositives:\n    - Unlikely\nlevel: high\n"
	"---\ntitle: Multiple failed logons\nid: a8418a5a-5fc4-46b5-b23b-6c73beb19d41\n"
	"description: Detects multiple failed logins within a certain amount of time\nname: multiple_failed_login\n"
	"correlation:\n    type: event_count\n    rules:\n        - failed_login\n    group-by:\n        - User\n"
	"    timespan: 10m\n    condition:\n        gte: 10\n"
	"---\ntitle: Single failed login\nid: 53ba33fd-3a50-4468-a5ef-c583635cfa92\nname: failed_login\n"
	"logsource:\n    product: windows\n    service: security\n"
	"detection:\n    selection:\n        EventID:\n            - 529\n            - 4625\n    condition: selection\n"
	"---\ntitle: Successful login\nid: 4d0a2c83-c62c-4ed4-b475-c7e23a9269b8\ndescription: Detects a successful login\n"
	"name: successful_login\nlogsource:\n    product: windows\n    service: security\n"
	"detection:\n    selection:\n        EventID:\n            - 528\n            - 4624\n    condition: selection\n";

static const char *correlation_types =
	"title: Many failed logins\nid: 0e95725d-7320-415d-80f7-004da920fc11\ncorrelation:\n    type: event_count\n"
	"    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n"
	"    timespan: 1h\n    condition:\n        gte: 100\n"
	"---\ntitle: Failed login\nid: 0e95725d-7320-415d-80f7-004da920fc12\ncorrelation:\n    type: value_count\n"
	"    rules:\n        - 5638f7c0-ac70-491d-8465-2a65075e0d86\n    group-by:\n        - ComputerName\n"
	"        - WorkstationName\n    timespan: 1d\n    condition:\n        field: User\n        gte: 100\n"
	"---\ntitle: recon\nid: spec-temporal\ncorrelation:\n    type: temporal\n    rules:\n        - recon_cmd_a\n"
	"        - recon_cmd_b\n        - recon_cmd_c\n    group-by:\n        - ComputerName\n        - User\n    timespan: 5m\n"
	"---\ntitle: range\nid: spec-range\ncorrelation:\n    type: event_count\n    rules: [recon_cmd_a]\n"
	"    group-by: [User]\n    timespan: 5m\n    condition:\n        gt: 100\n        lte: 200\n"
	"---\ntitle: firewall block\nid: 5638f7c0-ac70-491d-8465-2a65075e0d86\nname: firewall_block\n"
	"detection: {selection: {action: block}, condition: selection}\n"
	"---\ntitle: a\nid: spec-ra\nname: recon_cmd_a\ndetection: {selection: {cmd: whoami}, condition: selection}\n"
	"---\ntitle: b\nid: spec-rb\nname: recon_cmd_b\ndetection: {selection: {cmd: hostname}, condition: selection}\n"
	"---\ntitle: c\nid: spec-rc\nname: recon_cmd_c\ndetection: {selection: {cmd: id}, condition: selection}\n"
	/* Field name aliases */
	"---\ntitle: internal error\nid: spec-ie\nname: internal_error\n"
	"detection:\n    selection:\n        http.response.status_code: 500\n    condition: selection\n"
	"---\ntitle: new connection\nid: spec-nc\nname: new_network_connection\n"
	"detection:\n    selection:\n        event.category: network\n        event.type: connection\n"
	"        event.outcome: success\n    condition: selection\n"
	"---\ntitle: aliases\nid: spec-aliases\ncorrelation:\n    type: temporal\n    rules:\n        - internal_error\n"
	"        - new_network_connection\n    group-by:\n        - internal_ip\n        - remote_ip\n    timespan: 10s\n"
	"    aliases:\n        internal_ip:\n            internal_error: destination.ip\n"
	"            new_network_connection: source.ip\n        remote_ip:\n            internal_error: source.ip\n"
	"            new_network_connection: destination.ip\n";

static int hits(const struct rules_set *s, struct rules_state *st, const char *ev, uint64_t t,
		struct rules_result *res, const char *id)
{
	int n = rt_eval(s, st, ev, t, res);

	if (n < 0)
		return -1;
	for (size_t i = 0; i < res->nhits; i++)
		if (!strcmp(res->hits[i].rule_id, id))
			return 1;
	return 0;
}

static void test_detection(void)
{
	struct rules_set *s = rt_load(detection_examples, NULL);
	struct rules_result r;

	rules_result_init(&r);
	TAP_OK(s && rules_error_count(s) == 0 && rules_count(s) == 14, "detection examples load (%zu rules)",
	       s ? rules_count(s) : 0);
	if (!s)
		return;
	TAP_OK(hits(s, NULL, "{\"payload\":{\"msg\":\"started evilservice now\"}}", 1, &r, "spec-keywords") == 1,
	       "keywords: case-insensitive, in the payload");
	TAP_OK(hits(s, NULL, "{\"Image\":\"C:\\\\x\\\\Example.exe\"}", 1, &r, "spec-list-of-maps") == 1 &&
		       hits(s, NULL, "{\"Description\":\"a Test executable\"}", 1, &r, "spec-list-of-maps") == 1 &&
		       hits(s, NULL, "{\"Image\":\"C:\\\\x\\\\other.exe\"}", 1, &r, "spec-list-of-maps") == 0,
	       "list of maps: OR");
	TAP_OK(hits(s, NULL, "{\"EventLog\":\"Security\",\"EventID\":1102}", 1, &r, "spec-maps") == 1 &&
		       hits(s, NULL, "{\"EventLog\":\"Security\",\"EventID\":4624}", 1, &r, "spec-maps") == 0,
	       "maps: AND with a list of numbers");
	TAP_OK(hits(s, NULL, "{\"EventLog\":\"Security\",\"EventID\":4769,\"TicketOptions\":\"0x40810000\",\"TicketEncryption\":\"0x17\"}",
		    1, &r, "spec-maps-2") == 1,
	       "maps: quoted hex strings");
	TAP_OK(hits(s, NULL, "{\"EventID\":4738}", 1, &r, "spec-null") == 0 &&
		       hits(s, NULL, "{\"EventID\":4738,\"PasswordLastSet\":\"x\"}", 1, &r, "spec-null") == 1,
	       "selection and not filter (null)");
	TAP_OK(hits(s, NULL, "{\"EventID\":4738,\"PasswordLastSet\":\"\"}", 1, &r, "spec-exists") == 1 &&
		       hits(s, NULL, "{\"EventID\":4738}", 1, &r, "spec-exists") == 0,
	       "exists");
	TAP_OK(hits(s, NULL, "{\"target\":\"Set-OabVirtualDirectory -ExternalUrl x\"}", 1, &r, "spec-keywords-all") == 1 &&
		       hits(s, NULL, "{\"target\":\"Set-OabVirtualDirectory\"}", 1, &r, "spec-keywords-all") == 0,
	       "'|all' keywords");
	TAP_OK(hits(s, NULL, "{\"b\":2,\"target\":\"kw\"}", 1, &r, "spec-cond-1") == 1 &&
		       hits(s, NULL, "{\"b\":2}", 1, &r, "spec-cond-1") == 0,
	       "1 of selection* and keywords");
	TAP_OK(hits(s, NULL, "{\"a\":1}", 1, &r, "spec-cond-2") == 1 &&
		       hits(s, NULL, "{\"a\":1,\"d\":4}", 1, &r, "spec-cond-2") == 0,
	       "1 of selection* and not 1 of filter*");
	TAP_OK(hits(s, NULL, "{\"a\":1,\"target\":\"k2\"}", 1, &r, "spec-cond-3") == 1 &&
		       hits(s, NULL, "{\"a\":1,\"target\":\"k3\"}", 1, &r, "spec-cond-3") == 0,
	       "selection1 and (keywords1 or keywords2)");
	TAP_OK(hits(s, NULL, "{\"a\":1}", 1, &r, "spec-cond-4") == 1, "all of them leaves out _example");
	TAP_OK(hits(s, NULL, "{\"DestinationIp\":\"10.20.30.40\"}", 1, &r, "spec-cidr") == 1, "cidr");
	TAP_OK(hits(s, NULL, "{\"CommandLine\":\"find . /exec rm\"}", 1, &r, "spec-windash") == 1, "windash");
	TAP_OK(hits(s, NULL, "{\"CommandLine\":\"powershell INVOKE-Expression\"}", 1, &r, "spec-re") == 1, "re|i");
	rules_result_release(&r);
	rules_set_free(s);
}

static void test_correlation(void)
{
	struct rules_set *s = rt_load(correlation_example, NULL);
	struct rules_state *st = NULL;
	struct rules_result r;
	int inner = -1, outer = -1;

	rules_result_init(&r);
	TAP_OK(s && rules_error_count(s) == 0 && rules_count(s) == 4 && rules_state_new(s, NULL, &st) == 0,
	       "the failed-logins chain example loads");
	if (!st)
		goto out;
	/* logsource product: windows and service: security are the event's agent and hook. */
	for (int i = 0; i < 10; i++) {
		if (hits(s, st, "{\"agent\":\"windows\",\"hook\":\"security\",\"User\":\"bob\",\"EventID\":4625}", (uint64_t)(i + 1) * S, &r,
			 "a8418a5a-5fc4-46b5-b23b-6c73beb19d41") == 1 && inner < 0)
			inner = i;
	}
	TAP_OK(inner == 9, "the inner event_count fires at the tenth failed login (%d)", inner);
	outer = hits(s, st, "{\"agent\":\"windows\",\"hook\":\"security\",\"User\":\"bob\",\"EventID\":4624}", 20 * S, &r, "b180ead8-d58f-40b2-ae54-c8940995b9b6");
	TAP_OK(outer == 1, "then a successful login: the temporal_ordered chain fires");
	TAP_OK(hits(s, st, "{\"agent\":\"windows\",\"hook\":\"Security\",\"User\":\"eve\",\"EventID\":4624}", 21 * S, &r, "b180ead8-d58f-40b2-ae54-c8940995b9b6") == 0,
	       "another user: no chain");
	if (outer == 1) {
		struct rules_info info;

		rules_get(s, (size_t)rules_find(s, "b180ead8-d58f-40b2-ae54-c8940995b9b6"), &info);
		TAP_OK(info.level == RULES_LEVEL_HIGH && info.corr_type == RULES_CORR_TEMPORAL_ORDERED &&
			       !strcmp(info.status, "experimental") && !strcmp(info.author, "Florian Roth (Nextron Systems)"),
		       "its metadata");
	}
out:
	rules_state_free(st);
	rules_result_release(&r);
	rules_set_free(s);
}

static void test_types(void)
{
	struct rules_set *s = rt_load(correlation_types, NULL);
	struct rules_state *st = NULL;
	struct rules_result r;
	int a, b;

	rules_result_init(&r);
	TAP_OK(s && rules_error_count(s) == 0 && rules_count(s) == 11 && rules_state_new(s, NULL, &st) == 0,
	       "event_count, value_count, temporal, range and aliases examples load");
	if (!st)
		goto out;
	hits(s, st, "{\"ComputerName\":\"h\",\"User\":\"u\",\"cmd\":\"whoami\"}", 1 * S, &r, "x");
	hits(s, st, "{\"ComputerName\":\"h\",\"User\":\"u\",\"cmd\":\"hostname\"}", 2 * S, &r, "x");
	TAP_OK(hits(s, st, "{\"ComputerName\":\"h\",\"User\":\"u\",\"cmd\":\"id\"}", 3 * S, &r, "spec-temporal") == 1,
	       "temporal: the three recon commands in any order");
	/* aliases: the same address as destination in one event and source in the other */
	hits(s, st, "{\"http\":{\"response\":{\"status_code\":500}},\"destination\":{\"ip\":\"10.0.0.5\"},\"source\":{\"ip\":\"1.2.3.4\"}}",
	     10 * S, &r, "x");
	a = hits(s, st, "{\"event\":{\"category\":\"network\",\"type\":\"connection\",\"outcome\":\"success\"},"
			"\"source\":{\"ip\":\"10.0.0.6\"},\"destination\":{\"ip\":\"1.2.3.4\"}}",
		 11 * S, &r, "spec-aliases");
	b = hits(s, st, "{\"event\":{\"category\":\"network\",\"type\":\"connection\",\"outcome\":\"success\"},"
			"\"source\":{\"ip\":\"10.0.0.5\"},\"destination\":{\"ip\":\"1.2.3.4\"}}",
		 12 * S, &r, "spec-aliases");
	TAP_OK(a == 0 && b == 1, "aliases: grouped by the aliased fields (%d %d)", a, b);
	if (b == 1) {
		for (size_t i = 0; i < r.nhits; i++)
			if (!strcmp(r.hits[i].rule_id, "spec-aliases"))
				TAP_OK(!strcmp(r.hits[i].group, "internal_ip=10.0.0.5, remote_ip=1.2.3.4"),
				       "aliases: the group key (%s)", r.hits[i].group);
	}
out:
	rules_state_free(st);
	rules_result_release(&r);
	rules_set_free(s);
}

int main(void)
{
	test_detection();
	test_correlation();
	test_types();
	return tap_done();
}
