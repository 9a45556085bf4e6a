#!/usr/bin/env bash
# test_alerts.sh - `vigil alerts` end to end with the real binary: a ledger holding events
# with detections and decisions and the alert records of six alerts (opened, matched again,
# acknowledged, resolved; the kind the daemon writes) is imported and reindexed; then the
# listing with every filter, one alert in detail, the statistics, --json forms, the events
# filters --decision and --rule, ack/resolve without a daemon, and bad input.  Prints TAP.
#
# With vigild built (the second argument says so), ack and resolve then go through the real
# daemon: it writes the records to the ledger and the index shows the new states.
#
# usage: test_alerts.sh PATH/TO/vigil [with-daemon]
set -u

VIGIL=${1:?usage: test_alerts.sh VIGIL [with-daemon]}
WITH_DAEMON=${2:-}
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-alerts-XXXXXX")
cleanup() {
	[ -n "$WITH_DAEMON" ] && "$VIGIL" down --timeout 5s >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
export VIGIL_STATE_DIR="$T/state"
export NO_COLOR=1
unset VIGIL_SIGNING_KEY VIGIL_MAC_KEY

. "$(dirname "$0")/../lib/tap.sh"
lines() { grep -c . "$T/out"; }
# py EXPR: evaluates a Python expression; J is the parsed JSON of $T/out, L its JSON lines.
py() {
	python3 - "$T/out" "$1" <<'PY'
import json, sys
text = open(sys.argv[1]).read()
try:
    J = json.loads(text)
except ValueError:
    J = None
try:
    L = [json.loads(x) for x in text.splitlines() if x.strip()]
except ValueError:
    L = None
print(eval(sys.argv[2]))
PY
}
is_true() { [ "$(py "$1" 2>"$T/pyerr")" = True ]; }

# The ledger's content: vigil events (kept as they are by `vigil import`), times relative
# to now so that the statistics' day windows hold them.  A1 and A2 were opened in the
# same minute (their ids share 10 characters); A6 is three days old.  The network egress
# rule has a UUID id and a name, as the default pack's rules do; the others use their
# name as the id (rules need not have a name).
python3 - >"$T/alerts.jsonl" <<'PY'
import json, sys, time, datetime
now = time.time()
def ts(t):
    return datetime.datetime.fromtimestamp(t, datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + '%03dZ' % (int(t * 1000) % 1000)
S1 = '3f1c0a2e-1111-4000-8000-000000000001'
S2 = '7b2d5e9f-2222-4000-8000-000000000002'
A1 = '019aa0c1-0a00-7000-8000-00000000000a'
A2 = '019aa0c1-0b00-7000-8000-00000000000b'
A3 = '019bb0c1-0000-7000-8000-00000000000c'
A4 = '019cc0c1-0000-7000-8000-00000000000d'
A5 = '019dd0c1-0000-7000-8000-00000000000e'
A6 = '019ee0c1-0000-7000-8000-00000000000f'
R3 = '5c0f2d1e-3333-4000-8000-0000000000e3'
out = []
n = [0]
def ev(t, sid, hook, etype, tool=None, target=None, detections=None, decision=None):
    n[0] += 1
    e = {'schema': 'vigil.event.v1', 'id': '0190ffff-0000-7000-8000-%012d' % n[0], 'time': ts(t),
         'agent': 'claude-code', 'session_id': sid, 'hook': hook, 'event_type': etype,
         'risk': {'level': 'info', 'score': 0, 'reasons': []}, 'project': {'root': '/home/dev/app'}}
    if tool: e['tool'] = tool
    if target: e['target'] = target
    if detections: e['detections'] = detections
    if decision: e['decision'] = decision
    out.append(e)
    return e['id']
def alert(t, aid, update, state, rule, title, level, action, decision, sid, first, last, count, ids, kind='detection', by=None, note=None, name=None):
    n[0] += 1
    a = {'id': aid, 'update': update, 'state': state, 'rule_id': rule, 'rule_title': title,
         'rule_kind': kind, 'level': level, 'action': action, 'decision': decision,
         'tags': ['attack.t1485'], 'session_id': sid, 'agent': 'claude-code', 'project': '/home/dev/app',
         'first_seen': ts(first), 'last_seen': ts(last), 'count': count, 'event_ids': ids,
         'reason': '%s matched in session %s' % (rule, sid[:8])}
    if by: a['by'] = by
    if note: a['note'] = note
    if name: a['rule_name'] = name
    out.append({'schema': 'vigil.event.v1', 'id': '0190ffff-0000-7000-9000-%012d' % n[0], 'time': ts(t),
                'agent': 'claude-code', 'session_id': sid, 'hook': 'vigil', 'event_type': 'alert', 'alert': a})
def det(rule, level, action, aid, name=None):
    d = {'rule_id': rule, 'title': rule, 'level': level, 'action': action, 'alert_id': aid}
    if name: d['name'] = name
    return [d]
def dec(action, rule):
    return {'action': action, 'rule_id': rule, 'rule_title': rule, 'reason': 'because', 'mode': 'rules'}
b = now - 3600
A6t = now - 3 * 86400
e6 = ev(A6t, S2, 'PreToolUse', 'file_read', 'Read', '/home/dev/app/.env.example', det('vigil-env-read', 'low', 'alert', A6), dec('allow', None))
alert(A6t, A6, 'open', 'open', 'vigil-env-read', 'Environment file read', 'low', 'alert', None, S2, A6t, A6t, 1, [e6])
e1 = ev(b, S1, 'PreToolUse', 'command_execution', 'Bash', 'rm -rf /', det('vigil-destructive-rm', 'critical', 'block', A1), dec('deny', 'vigil-destructive-rm'))
alert(b, A1, 'open', 'open', 'vigil-destructive-rm', 'Destructive rm -rf', 'critical', 'block', 'deny', S1, b, b, 1, [e1])
e2 = ev(b + 10, S1, 'PreToolUse', 'file_read', 'Read', '/home/dev/.ssh/id_rsa', det('vigil-sensitive-file', 'high', 'alert', A2), dec('allow', None))
alert(b + 10, A2, 'open', 'open', 'vigil-sensitive-file', 'Private key read', 'high', 'alert', None, S1, b + 10, b + 10, 1, [e2])
e3 = ev(b + 20, S1, 'PreToolUse', 'command_execution', 'Bash', 'curl http://203.0.113.9/x', det(R3, 'medium', 'ask', A3, 'vigil-network-egress'), dec('ask', R3))
alert(b + 20, A3, 'open', 'open', R3, 'Network egress', 'medium', 'ask', 'ask', S1, b + 20, b + 20, 1, [e3], name='vigil-network-egress')
e4 = ev(b + 30, S1, 'PreToolUse', 'command_execution', 'Bash', 'curl http://203.0.113.9/y', det(R3, 'medium', 'ask', A3, 'vigil-network-egress'), dec('ask', R3))
alert(b + 30, A3, 'match', 'open', R3, 'Network egress', 'medium', 'ask', 'ask', S1, b + 20, b + 30, 2, [e3, e4], name='vigil-network-egress')
alert(b + 31, A4, 'open', 'open', 'vigil-secret-exfiltration', 'Secret exfiltration', 'critical', 'alert', None, S1, b + 10, b + 30, 2, [e2, e4], kind='correlation')
alert(b + 100, A2, 'acknowledge', 'acknowledged', 'vigil-sensitive-file', 'Private key read', 'high', 'alert', None, S1, b + 10, b + 10, 1, [e2], by='uid 1000', note='looking into it')
e5 = ev(b + 200, S2, 'PreToolUse', 'file_write', 'Write', '/etc/hosts', det('vigil-system-file', 'high', 'alert', A5), dec('allow', None))
alert(b + 200, A5, 'open', 'open', 'vigil-system-file', 'System file modification', 'high', 'alert', None, S2, b + 200, b + 200, 1, [e5])
alert(b + 400, A5, 'resolve', 'resolved', 'vigil-system-file', 'System file modification', 'high', 'alert', None, S2, b + 200, b + 200, 1, [e5], by='uid 1000', note='expected')
for e in out:
    print(json.dumps(e))
PY
A1=019aa0c1-0a00-7000-8000-00000000000a
A2=019aa0c1-0b00-7000-8000-00000000000b
A3=019bb0c1-0000-7000-8000-00000000000c
R3=5c0f2d1e-3333-4000-8000-0000000000e3
S1=3f1c0a2e-1111-4000-8000-000000000001

# ---- help ----------------------------------------------------------------------------------
run alerts --help
[ $rc -eq 0 ] && has "usage: vigil alerts" && has "Exit status" && has "stats" && has "resolve ID"
ok $? "vigil alerts --help documents the subcommands and exit status"
run help alerts
[ $rc -eq 0 ] && has "usage: vigil alerts"
ok $? "vigil help alerts"
run --help
has "alerts"
ok $? "vigil --help lists alerts"
run events --help
has "\-\-decision" && has "\-\-rule"
ok $? "vigil events --help documents --decision and --rule"

# ---- no index ------------------------------------------------------------------------------
run alerts
[ $rc -eq 3 ] && has "nothing recorded" err
ok $? "alerts with nothing recorded: exit 3"
run keys init
ok $rc "keys init"
run import "$T/alerts.jsonl"
[ $rc -eq 0 ] && has "Imported 15 events"
ok $? "import the events and alert records"
run alerts stats
[ $rc -eq 3 ] && has "run 'vigil reindex'" err
ok $? "alerts stats before any index says to run vigil reindex"
run reindex
ok $rc "reindex"

# ---- the listing ---------------------------------------------------------------------------
run alerts
[ $rc -eq 0 ] && [ "$(lines)" -eq 6 ] && has "^ID  *LAST SEEN (UTC)  *LEVEL"
ok $? "alerts: the 5 open or acknowledged alerts under a header (resolved left out)"
has "^0000000a  [0-9].*critical  *open  *1  3f1c0a2e  block  *vigil-destructive-rm  *Destructive rm -rf" &&
	has "^0000000b  [0-9].*high  *acknowledged" && has "^0000000c  [0-9].*medium  *open  *2 "
ok $? "each row: the short id (the unique end of the id), level, state, count, session, action, rule, title"
[ "$(awk 'NR > 1 { print index($0, "20") }' "$T/out" | sort -u)" = 11 ]
ok $? "the ID column has one width: every row's time starts in the same column"
has "^0000000c  .*  ask  *vigil-network-egress  *Network egress" && ! has "$R3"
ok $? "the RULE column names a rule by its name, not its id"
! grep -q $'\033' "$T/out"
ok $? "NO_COLOR: no escape sequences"
run alerts show --state all --json
is_true "all(a['short_id'] == a['id'][-8:] for a in L)"
ok $? "--json: each alert's short_id, the last 8 characters of its id"
run alerts show --state all --json
[ $rc -eq 0 ] && is_true "len(L) == 6 and L[0]['id'].startswith('019dd0c1') and L[0]['state'] == 'resolved' and [a['last_seen'] for a in L] == sorted([a['last_seen'] for a in L], reverse=True)"
ok $? "--state all --json: 6 alerts, one per line, newest first"
is_true "[a for a in L if a['id'] == '$A3'][0]['count'] == 2 and [a for a in L if a['id'] == '$A3'][0]['events_recorded'] == 2 and [a for a in L if a['id'] == '$A3'][0]['event_ids'] == ['0190ffff-0000-7000-8000-000000000007', '0190ffff-0000-7000-8000-000000000009']"
ok $? "a matched-again alert: the newest record's count and event ids"
is_true "[a for a in L if a['id'] == '$A2'][0]['by'] == 'uid 1000' and [a for a in L if a['id'] == '$A2'][0]['note'] == 'looking into it' and [a for a in L if a['id'] == '$A2'][0]['acknowledged_at'] is not None and [a for a in L if a['id'] == '$A2'][0]['resolved_at'] is None"
ok $? "an acknowledged alert: by, note and the acknowledge time"
is_true "set(L[0]) >= {'id', 'state', 'rule_id', 'rule_name', 'rule_title', 'rule_kind', 'level', 'level_num', 'action', 'decision', 'tags', 'session_id', 'agent', 'project', 'first_seen', 'last_seen', 'count', 'event_ids', 'reason', 'by', 'note'} and L[0]['tags'] == ['attack.t1485']"
ok $? "--json has the fields of the ledger's alert object"
is_true "[(a['rule_id'], a['rule_name']) for a in L if a['id'] == '$A3'] == [('$R3', 'vigil-network-egress')] and all(a['rule_name'] is None for a in L if a['id'] != '$A3')"
ok $? "--json: rule_name of a named rule, null for a rule without a name"
run alerts show --state resolved --json
is_true "len(L) == 1 and L[0]['resolved_at'] is not None"
ok $? "--state resolved: 1"
run alerts --state open,acknowledged --severity high --json
is_true "sorted(a['level'] for a in L) == ['critical', 'critical', 'high']"
ok $? "--severity high: at least high (2 critical, 1 high)"
run alerts show --severity =critical --json
is_true "len(L) == 2 and all(a['level'] == 'critical' for a in L)"
ok $? "--severity =critical: exactly critical"
run alerts show --severity =critical --state open --rule vigil-secret-exfiltration --json
is_true "len(L) == 1 and L[0]['rule_kind'] == 'correlation'"
ok $? "--rule with other filters: the correlation alert"
run alerts show --rule vigil-network-egress --json
is_true "[a['id'] for a in L] == ['$A3']"
ok $? "--rule NAME: the alert of the rule with that name"
run alerts show --rule "$R3" --json
is_true "[a['id'] for a in L] == ['$A3']"
ok $? "--rule ID of the same rule: the same alert"
run alerts show --rule vigil-network --json
[ $rc -eq 0 ] && is_true "L == []"
ok $? "--rule matches a name exactly, not a prefix"
run alerts show --session 7b2d --state all --json
is_true "len(L) == 2 and all(a['session_id'].startswith('7b2d') for a in L)"
ok $? "--session prefix"
run alerts show --since 1d --state all --json
is_true "len(L) == 5 and not any(a['rule_id'] == 'vigil-env-read' for a in L)"
ok $? "--since 1d leaves out the 3-day-old alert"
run alerts show --until 2d --json
is_true "len(L) == 1 and L[0]['rule_id'] == 'vigil-env-read'"
ok $? "--until 2d: only the 3-day-old alert"
run alerts show --limit 2 --json
[ "$(lines)" -eq 2 ]
ok $? "--limit 2"
run alerts show --session nosuchsession
[ $rc -eq 0 ] && [ ! -s "$T/out" ]
ok $? "no match: exit 0, empty output"

# ---- one alert -----------------------------------------------------------------------------------
run alerts show 019aa0c1
[ $rc -eq 1 ] && has "ambiguous" err && has "^  $A1$" err && has "^  $A2$" err
ok $? "show with an ambiguous prefix: exit 1, says ambiguous and lists the candidates"
run alerts show 0000000c
[ $rc -eq 0 ] && has "^Alert $A3"
ok $? "show SHORT-ID: the alert whose id ends so"
run alerts show 0c
[ $rc -eq 0 ] && has "^Alert $A3"
ok $? "show with fewer characters of the end, when they are unique"
run alerts show 019
[ $rc -eq 1 ] && has "ambiguous" err && has "^  $A1$" err && has "^  $A3$" err
ok $? "a start shared by several alerts: ambiguous, the candidates listed"
run alerts show 019ffff
[ $rc -eq 1 ] && has "no alert '019ffff'" err
ok $? "show an unknown id: exit 1"
run alerts show 019aa0c1-0a
[ $rc -eq 0 ] && has "^Alert $A1" && has "rule: *vigil-destructive-rm (detection)" && has "action: *block, decision deny" && has "Events (1 recorded)" && has "PreToolUse *Bash .*rm -rf / \[deny: vigil-destructive-rm\]"
ok $? "show PREFIX: the alert in detail and its event with the decision"
run alerts show 019bb0c1
[ $rc -eq 0 ] && has "rule: *vigil-network-egress (detection)$" && has "rule id: *$R3$"
ok $? "show: a named rule's name and its id"
run alerts show 019aa0c1-0a
! has "rule id:"
ok $? "show: no separate id line for a rule without a name"
run alerts show "$A3" --json
[ $rc -eq 0 ] && is_true "J['rule_name'] == 'vigil-network-egress' and J['rule_id'] == '$R3'"
ok $? "show ID --json: rule_name and rule_id"
run alerts show "$A3" --json
[ $rc -eq 0 ] && is_true "J['id'] == '$A3' and [e['target'] for e in J['events']] == ['curl http://203.0.113.9/x', 'curl http://203.0.113.9/y'] and all('seq' in e for e in J['events'])"
ok $? "show ID --json: one object with its events (seq added)"

# ---- stats -------------------------------------------------------------------------------------------
run alerts stats
[ $rc -eq 0 ] && has "Alerts first seen in the last 7 days" && has "by level:  critical 2  high 2  medium 1  low 1  informational 0" && has "by state:  open 4  acknowledged 1  resolved 1" && has "^vigil-destructive-rm  *1  *1  critical"
ok $? "stats: totals by level, state and rule"
has "^vigil-network-egress  *1  *1  medium  *Network egress" && ! has "$R3"
ok $? "stats: a named rule is shown by its name"
[ "$(grep -c '^20[0-9][0-9]-[0-9][0-9]-[0-9][0-9] ' "$T/out")" -eq 7 ]
ok $? "stats: one row per day for 7 days"
run alerts stats --days 2 --json
[ $rc -eq 0 ] && is_true "J['days'] == 2 and J['total'] == 5 and J['open_now'] == 4 and J['by_level']['critical'] == 2 and J['by_state'] == {'open': 3, 'acknowledged': 1, 'resolved': 1} and len(J['per_day']) == 2 and sum(d['total'] for d in J['per_day']) == 5"
ok $? "stats --days 2 --json: the 5 recent alerts, open now counts the old one too"
is_true "abs(J['mtta_s'] - 90) < 0.01 and abs(J['mttr_s'] - 200) < 0.01 and J['acknowledged_count'] == 1"
ok $? "stats: mean time to acknowledge 90 s, to resolve 200 s"
is_true "J['by_rule'][0]['alerts'] == 1 and {r['rule_id'] for r in J['by_rule']} == {'vigil-destructive-rm', 'vigil-sensitive-file', '$R3', 'vigil-secret-exfiltration', 'vigil-system-file'}"
ok $? "stats --json: by rule"
is_true "{r['rule_id']: r['rule_name'] for r in J['by_rule']}['$R3'] == 'vigil-network-egress' and {r['rule_id']: r['rule_name'] for r in J['by_rule']}['vigil-system-file'] is None"
ok $? "stats --json: by_rule has rule_name (null without one)"
for bad in 0 367 x -1; do
	run alerts stats --days "$bad"
	[ $rc -eq 2 ]
	ok $? "stats --days $bad: usage error"
done

# ---- events --decision / --rule --------------------------------------------------------------------
run events --decision deny
[ $rc -eq 0 ] && [ "$(lines)" -eq 2 ] && has "rm -rf / \[deny: vigil-destructive-rm\]"
ok $? "events --decision deny: the blocked command, with its rule"
run events --decision ask --json
is_true "len(L) == 2 and all(e['decision']['action'] == 'ask' for e in L)"
ok $? "events --decision ask"
run events --rule vigil-network-egress --json
is_true "len(L) == 2 and all(e['detections'][0]['rule_id'] == '$R3' for e in L)"
ok $? "events --rule NAME: the events the rule matched"
run events --rule "$R3" --json
is_true "len(L) == 2 and all(e['detections'][0]['name'] == 'vigil-network-egress' for e in L)"
ok $? "events --rule ID: the same events"
run events --rule vigil-destructive-rm --json
is_true "len(L) == 1 and L[0]['target'] == 'rm -rf /'"
ok $? "events --rule of a rule without a name: by its id"
run events --rule ""
[ $rc -eq 2 ] && has "give a rule id or name" err
ok $? "events --rule with an empty value: usage error"
run events --decision maybe
[ $rc -eq 2 ] && has "allow, deny, ask" err
ok $? "events --decision with another word: usage error"

# ---- ack / resolve without a daemon ------------------------------------------------------------------
run alerts ack 019bb0c1
[ $rc -eq 1 ] && has "vigild is not running: start it with 'vigil up'" err
ok $? "ack with no daemon: exit 1 and how to start it"
run alerts resolve "$A3" --note "false positive"
[ $rc -eq 1 ] && has "vigild is not running" err
ok $? "resolve with no daemon: the same"
run alerts ack 019aa0c1
[ $rc -eq 1 ] && has "ambiguous" err
ok $? "ack with an ambiguous prefix: refused before asking the daemon"
run alerts ack
[ $rc -eq 2 ] && has "which alert" err
ok $? "ack without an id: usage error"
run alerts resolve "$A3" --note "$(head -c 2000 /dev/zero | tr '\0' x)"
[ $rc -eq 2 ]
ok $? "a note over 1 KiB: usage error"

# ---- ack / resolve through the daemon -------------------------------------------------------------------
# The index lags the daemon's ledger by a moment: wait (up to 10 s) for a state.
wait_state() {
	local end=$((SECONDS + 10))
	while [ $SECONDS -lt $end ]; do
		run alerts show "$1" --json
		is_true "J['state'] == '$2'" && return 0
		sleep 0.1
	done
	return 1
}
if [ -z "$WITH_DAEMON" ]; then
	for what in "ack through the daemon" "acknowledged alert indexed" "resolve through the daemon" "resolved alert indexed" "a second resolve is refused" "vigil down"; do
		echo "ok $((n += 1)) - $what # SKIP vigild not built"
	done
else
	run up
	if [ $rc -ne 0 ]; then
		ok 1 "vigil up"
	else
		run alerts ack 0000000c --note "on it"
		[ $rc -eq 0 ] && has "alert $A3: acknowledged"
		ok $? "ack SHORT-ID through the daemon: exit 0, acknowledged"
		wait_state "$A3" acknowledged && is_true "J['note'] == 'on it' and J['by'].startswith('uid ') and J['acknowledged_at'] is not None"
		ok $? "the index shows it acknowledged, with the note and who"
		run alerts resolve "$A3" --json
		[ $rc -eq 0 ] && is_true "J['id'] == '$A3' and J['state'] == 'resolved'"
		ok $? "resolve --json through the daemon: the alert as resolved"
		wait_state "$A3" resolved
		ok $? "the index shows it resolved"
		run alerts resolve "$A3"
		[ $rc -eq 1 ] && has "vigild did not resolve alert $A3" err
		ok $? "a second resolve: the daemon's reason, exit 1"
		run down
		ok $rc "vigil down"
	fi
fi

# ---- bad input -------------------------------------------------------------------------------------------
for args in "bogus" "show --state nope" "show --severity extreme" "show --limit -1" "show --since yesterday" "show a b" "stats extra" "show --bogus"; do
	# shellcheck disable=SC2086
	run alerts $args
	[ $rc -eq 2 ]
	ok $? "alerts $args: usage error (exit 2)"
done

# ---- reindex again: the same alerts --------------------------------------------------------------------
run alerts show --state all --json
cp "$T/out" "$T/before"
run reindex
run alerts show --state all --json
cmp -s "$T/before" "$T/out"
ok $? "a second reindex gives the same alerts"

echo "1..$n"
[ "$failed" -eq 0 ]
