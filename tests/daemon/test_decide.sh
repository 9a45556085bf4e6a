#!/usr/bin/env bash
# test_decide.sh - vigild's decisions and alerts end to end, with the real
# vigil-hook --decide, vigil and a local webhook receiver: the answer in each
# agent's protocol (Claude Code PreToolUse / UserPromptSubmit /
# PermissionRequest, Codex, Gemini CLI), the decision and detections in the
# indexed event, alert records (coalescing, per session, ack, resolve), the
# webhook and session channels, rule reload (control request and SIGHUP, a
# broken rule refused), fail-closed / fail-open hooks and the outage alert,
# and open alerts continuing across a restart.
#
#   test_decide.sh BUILD_DIR RECEIVERS_PY
#
# Everything waits by polling for a condition with a generous limit; nothing
# asserts on timing.
set -u
BUILD=$1
RECEIVERS=$2
VIGIL=$BUILD/src/cli/vigil
HOOK=$BUILD/src/hook/vigil-hook
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-decide.XXXXXX")
export VIGIL_STATE_DIR=$T/state
# Only this test's config and daemon: no user config, no inherited socket.
export XDG_CONFIG_HOME=$T/xdg
unset VIGIL_SOCKET VIGIL_CONFIG VIGIL_HOOK_FAIL_CLOSED VIGIL_HOOK_TIMEOUT_MS
. "$(dirname "$0")/../lib/tap.sh"

recv_pid=
cleanup() {
	"$VIGIL" down --timeout 10s >/dev/null 2>&1
	[ -f "$VIGIL_STATE_DIR/vigild.pid" ] && kill -9 "$(cat "$VIGIL_STATE_DIR/vigild.pid")" 2>/dev/null
	[ -n "$recv_pid" ] && kill "$recv_pid" 2>/dev/null && wait "$recv_pid" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# Polls a shell condition for up to 60 s; 0 once it holds.
poll() {
	local end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		eval "$1" >/dev/null 2>&1 && return 0
		sleep 0.2
	done
	return 1
}

# hook AGENT PAYLOAD [HOOK OPTIONS...]: runs vigil-hook --decide with a deadline
# long enough for a sanitized build on a loaded machine; stdout in $T/out,
# stderr in $T/err (shown by ok on failure), status in $hrc.
hook() {
	local agent=$1 payload=$2
	shift 2
	printf '%s' "$payload" | "$HOOK" --agent "$agent" --decide --timeout-ms 30000 "$@" \
		>"$T/out" 2>"$T/err"
	hrc=$?
}
# bash_pre SESSION COMMAND: a Claude Code PreToolUse of Bash.
bash_pre() {
	printf '{"session_id":"%s","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"%s"},"tool_use_id":"tu-%s-%s"}' \
		"$1" "$2" "$1" "$RANDOM"
}

# Python over the JSON of the last hook answer or of a file; exit 0 when the
# assertions hold.
pyjson() { python3 -c "import json, sys; $1" "${@:2}"; }

# The indexed events of a session (JSON lines) into $T/ev.
events() { "$VIGIL" events --session "$1" --json --limit 0 >"$T/ev" 2>"$T/err"; }
# The alert JSON of vigil alerts show ID --json into $T/alert.
alert_show() { "$VIGIL" alerts show "$1" --json >"$T/alert" 2>"$T/err"; }
# The id of the open alert of a rule in a session ("" when none is indexed).
alert_of() {
	"$VIGIL" alerts --session "$2" --rule "$1" --state open,acknowledged --json 2>/dev/null |
		python3 -c "import json, sys; l = [json.loads(x) for x in sys.stdin if x.strip()]; print(l[0]['id'] if l else '')"
}

# ---- a webhook receiver, rules of our own, the config --------------------------------
mkdir -p "$T/recv" "$T/conf/rules" "$T/xdg"
python3 "$RECEIVERS" --http-port 0 --out "$T/recv" --ready-file "$T/recv/ready.json" \
	>"$T/recv/log" 2>&1 &
recv_pid=$!
poll "[ -s '$T/recv/ready.json' ]"
port=$(pyjson "print(json.load(open(sys.argv[1]))['http_port'])" "$T/recv/ready.json" 2>/dev/null)
ok $([ -n "$port" ]; echo $?) "the webhook receiver listens"

# Keyword rules: they match the marker anywhere in the payload, whatever the
# agent calls its hook or tool.  The default pack stays on beside them.
cat >"$T/conf/rules/test.yml" <<'EOF'
title: Test block marker
id: vigil-test-block
name: test-block
detection:
  kw:
    - vigil-test-block-7f3a
  condition: kw
level: high
action: block
---
title: Test ask marker
id: vigil-test-ask
detection:
  kw:
    - vigil-test-ask-7f3a
  condition: kw
level: medium
action: ask
---
title: Test alert marker
id: vigil-test-alert
detection:
  kw:
    - vigil-test-alert-7f3a
  condition: kw
level: low
action: alert
EOF
# rules.paths is relative to the config file's directory.
cat >"$T/conf/vigil.yaml" <<EOF
rules:
  paths: [rules]
alerts:
  channels:
    - {type: webhook, url: "http://127.0.0.1:$port/hook", min_severity: low}
    - {type: session, min_severity: high}
EOF
CONF=$T/conf/vigil.yaml
run up --config "$CONF"
ok $rc "vigil up --config starts vigild with the config"
run status --json
ok $(pyjson "j = json.load(open(sys.argv[1])); r = j['rules']; assert r['rules'] > 3 and r['errors'] == 0 and j['alerts']['open'] == 0, r" "$T/out"; echo $?) \
	"status --json: rules.rules counts the default pack and ours, no errors, no open alert"
rules_before=$(pyjson "print(json.load(open(sys.argv[1]))['rules']['rules'])" "$T/out" 2>/dev/null)

# ---- Claude Code: the answer in its protocol ----------------------------------------
hook claude-code "$(bash_pre s-allow 'git status')"
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; echo $?) "an allowed PreToolUse: exit 0, no output"

hook claude-code "$(bash_pre s-deny 'echo vigil-test-block-7f3a')"
ok $([ $hrc -eq 0 ] && [ "$(wc -l <"$T/out")" -le 1 ] && pyjson "
o = json.loads(open(sys.argv[1]).read())
h = o['hookSpecificOutput']
assert set(o) == {'hookSpecificOutput'}, o
assert h['hookEventName'] == 'PreToolUse' and h['permissionDecision'] == 'deny', h
assert h['permissionDecisionReason'].startswith('Blocked by vigil: Test block marker (rule test-block, high).'), h
" "$T/out"; echo $?) "a block rule: exactly one JSON object, PreToolUse deny with a reason naming the rule, exit 0"

hook claude-code "$(bash_pre s-ask 'echo vigil-test-ask-7f3a')"
ok $([ $hrc -eq 0 ] && pyjson "
h = json.loads(open(sys.argv[1]).read())['hookSpecificOutput']
assert h['permissionDecision'] == 'ask', h
assert h['permissionDecisionReason'].startswith('Needs confirmation by vigil: Test ask marker (rule vigil-test-ask, medium).'), h
" "$T/out"; echo $?) "an ask rule: PreToolUse permissionDecision ask"

hook claude-code '{"session_id":"s-prompt","cwd":"/tmp","hook_event_name":"UserPromptSubmit","prompt":"please run vigil-test-block-7f3a"}'
ok $([ $hrc -eq 0 ] && pyjson "
o = json.loads(open(sys.argv[1]).read())
assert o['decision'] == 'block' and '(rule test-block, high)' in o['reason'], o
" "$T/out"; echo $?) "UserPromptSubmit with a block rule: {decision: block, reason}"

hook claude-code '{"session_id":"s-prompt-ask","cwd":"/tmp","hook_event_name":"UserPromptSubmit","prompt":"maybe vigil-test-ask-7f3a"}'
ok $([ $hrc -eq 0 ] && pyjson "
o = json.loads(open(sys.argv[1]).read())
assert 'decision' not in o and '(rule vigil-test-ask, medium)' in o['systemMessage'], o
" "$T/out"; echo $?) "UserPromptSubmit with an ask rule: not blocked, the reason as a systemMessage"

hook claude-code '{"session_id":"s-perm","cwd":"/tmp","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"echo vigil-test-block-7f3a"},"permission_suggestions":[]}'
ok $([ $hrc -eq 0 ] && pyjson "
h = json.loads(open(sys.argv[1]).read())['hookSpecificOutput']
assert h['hookEventName'] == 'PermissionRequest' and h['decision']['behavior'] == 'deny', h
assert '(rule test-block, high)' in h['decision']['message'], h
" "$T/out"; echo $?) "PermissionRequest with a block rule: decision.behavior deny"

hook claude-code '{"session_id":"s-perm-ask","cwd":"/tmp","hook_event_name":"PermissionRequest","tool_name":"Bash","tool_input":{"command":"echo vigil-test-ask-7f3a"},"permission_suggestions":[]}'
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ]; echo $?) "PermissionRequest with an ask rule: no answer (the user is asked anyway)"

# ---- agents without Claude Code's JSON: exit 2, the reason on stderr ------------------
hook codex '{"session_id":"s-codex","turn_id":"turn-1","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo vigil-test-block-7f3a"}}'
ok $([ $hrc -eq 2 ] && [ ! -s "$T/out" ] && grep -qF "(rule test-block, high)" "$T/err"; echo $?) "Codex PreToolUse blocked: exit 2, the reason on stderr, nothing on stdout"
hook gemini '{"session_id":"s-gemini","cwd":"/tmp","hook_event_name":"BeforeTool","tool_name":"run_shell_command","tool_input":{"command":"echo vigil-test-block-7f3a"},"timestamp":"2026-11-23T17:00:00Z"}'
ok $([ $hrc -eq 2 ] && [ ! -s "$T/out" ] && grep -qF "(rule test-block, high)" "$T/err"; echo $?) "Gemini CLI BeforeTool blocked: exit 2, the reason on stderr, nothing on stdout"
hook codex '{"session_id":"s-codex-ok","turn_id":"turn-2","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"ls"}}'
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; echo $?) "Codex PreToolUse allowed: exit 0, no output"

# ---- the decision and the alert in the index -----------------------------------------
poll "events s-deny && [ -s '$T/ev' ] && [ -n \"\$(alert_of vigil-test-block s-deny)\" ]"
events s-deny
ok $(pyjson "
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
e = [x for x in evs if x.get('hook') == 'PreToolUse']
assert len(e) == 1, evs
d = e[0]['decision']
assert d['action'] == 'deny' and d['rule_id'] == 'vigil-test-block' and d['mode'] == 'rules', d
assert d.get('rule_name') == 'test-block' and '(rule test-block, high)' in d['reason'], d
det = [x for x in e[0]['detections'] if x['rule_id'] == 'vigil-test-block']
assert len(det) == 1 and len(det[0]['alert_id']) == 36 and det[0]['action'] == 'block', e[0]['detections']
print(det[0]['alert_id'], e[0]['id'])
" "$T/ev" >"$T/ids"; echo $?) "the denied event carries decision {deny, rule_id, rule_name, reason, mode rules} and a detection with its alert_id"
read -r A1 EV1 <"$T/ids" 2>/dev/null
alert_show "${A1:-none}"
ok $(pyjson "
a = json.load(open(sys.argv[1]))
assert a['id'] == sys.argv[2] and a['rule_id'] == 'vigil-test-block' and a['state'] == 'open', a
assert a['decision'] == 'deny' and a['action'] == 'block' and a['level'] == 'high', a
assert a['session_id'] == 's-deny' and a['agent'] == 'claude-code' and a['count'] == 1, a
assert sys.argv[3] in a['event_ids'], a
" "$T/alert" "${A1:-}" "${EV1:-}"; echo $?) "vigil alerts show --json: the alert, decision deny, count 1, naming the event"

poll "events s-ask && grep -q '\"ask\"' '$T/ev'"
ok $(pyjson "
e = [json.loads(l) for l in open(sys.argv[1]) if 'PreToolUse' in l][0]
assert e['decision']['action'] == 'ask' and e['decision']['rule_id'] == 'vigil-test-ask', e['decision']
" "$T/ev"; echo $?) "the asked event carries decision ask"
poll "events s-allow && [ -s '$T/ev' ]"
ok $(pyjson "
e = [json.loads(l) for l in open(sys.argv[1]) if l.strip()][0]
assert e['decision'] == {'action': 'allow', 'mode': 'rules'} and not e.get('detections'), e
" "$T/ev"; echo $?) "the allowed event carries decision allow, mode rules, no detections"

# ---- the webhook got the alert; the session hears about it -----------------------------
webhook_has() {
	python3 - "$T/recv/http.jsonl" "$@" <<'PY'
import json, sys
want_id, want_update = sys.argv[2], sys.argv[3]
for line in open(sys.argv[1]):
    r = json.loads(line)
    a = (r.get("json") or {}).get("alert") or {}
    if a.get("id") == want_id and a.get("update") == want_update and r["path"] == "/hook":
        assert r["json"]["session_id"] == a["session_id"]
        sys.exit(0)
sys.exit(1)
PY
}
poll "webhook_has '${A1:-none}' open"
ok $? "the webhook receiver got the alert (update open)"

# The session channel (high and above) put the alert on the session's next answer.
hook claude-code "$(bash_pre s-deny 'git log')"
ok $([ $hrc -eq 0 ] && pyjson "
o = json.loads(open(sys.argv[1]).read())
assert set(o) == {'systemMessage'} and 'Test block marker' in o['systemMessage'] and 'HIGH' in o['systemMessage'], o
" "$T/out"; echo $?) "the next answer in the session carries a systemMessage about the alert"
hook claude-code "$(bash_pre s-deny 'git diff')"
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ]; echo $?) "and only that one answer"

# ---- coalescing: the same alert per (rule, session) -------------------------------------
hook claude-code "$(bash_pre s-deny 'echo again vigil-test-block-7f3a')"
ok $([ $hrc -eq 0 ] && grep -q '"deny"' "$T/out"; echo $?) "a second match in the session is denied too"
poll "alert_show '${A1:-none}' && pyjson \"assert json.load(open(sys.argv[1]))['count'] == 2\" '$T/alert'"
ok $? "the second match updates the same alert: count 2"
alert_show "${A1:-none}"
ok $(pyjson "a = json.load(open(sys.argv[1])); assert len(a['event_ids']) == 2 and a['state'] == 'open', a" "$T/alert"; echo $?) "its event_ids name both events"
hook claude-code "$(bash_pre s-deny2 'echo vigil-test-block-7f3a')"
poll "[ -n \"\$(alert_of vigil-test-block s-deny2)\" ]"
A2=$(alert_of vigil-test-block s-deny2)
ok $([ -n "$A2" ] && [ "$A2" != "${A1:-}" ]; echo $?) "a match in another session opens another alert"

# ---- acknowledge, resolve ----------------------------------------------------------------
run alerts ack "${A1:-none}" --note "looking"
ok $([ $rc -eq 0 ] && has acknowledged; echo $?) "vigil alerts ack ID"
poll "alert_show '${A1:-none}' && pyjson \"assert json.load(open(sys.argv[1]))['state'] == 'acknowledged'\" '$T/alert'"
ok $? "the alert is acknowledged in the index"
run alerts ack "${A1:-none}"
ok $([ $rc -eq 1 ] && has "already acknowledged" err; echo $?) "acknowledging twice is refused (exit 1)"
run alerts resolve "${A1:-none}" --note "fixed" --json
ok $([ $rc -eq 0 ] && pyjson "a = json.load(open(sys.argv[1])); assert a['state'] == 'resolved' and a['note'] == 'fixed' and a['by'].startswith('uid '), a" "$T/out"; echo $?) \
	"vigil alerts resolve ID --json: resolved, with by and the note"
poll "alert_show '${A1:-none}' && pyjson \"assert json.load(open(sys.argv[1]))['state'] == 'resolved'\" '$T/alert'"
ok $? "the alert is resolved in the index"
run alerts resolve "${A1:-none}"
ok $([ $rc -eq 1 ] && has "already resolved" err; echo $?) "resolving twice fails (exit 1)"
run alerts resolve 01a20000-0000-7000-8000-000000000000
ok $([ $rc -eq 1 ]; echo $?) "resolving an unknown id fails (exit 1)"
hook claude-code "$(bash_pre s-deny 'echo third vigil-test-block-7f3a')"
poll "[ -n \"\$(alert_of vigil-test-block s-deny)\" ]"
A3=$(alert_of vigil-test-block s-deny)
ok $([ -n "$A3" ] && [ "$A3" != "${A1:-}" ]; echo $?) "a match after resolve opens a new alert id"

# ---- reload: control request, a broken rule, SIGHUP ---------------------------------------
run rules reload
ok $([ $rc -eq 0 ] && has "rules reloaded"; echo $?) "vigil rules reload"
cat >"$T/conf/rules/zz-new.yml" <<'EOF'
title: Test new rule
id: vigil-test-new
detection:
  sel:
    target|bogus: vigil-test-new-7f3a
  condition: sel
level: high
action: block
EOF
run rules reload
ok $([ $rc -eq 1 ] && has "zz-new.yml:5:5" err && has "running rules stay" err; echo $?) \
	"a broken rule: the reload is refused with file:line errors"
hook claude-code "$(bash_pre s-reload1 'echo vigil-test-block-7f3a')"
ok $([ $hrc -eq 0 ] && grep -q '"deny"' "$T/out"; echo $?) "the old rules still decide (the block works)"
run status --json
ok $(pyjson "r = json.load(open(sys.argv[1]))['rules']; assert r['rules'] == int(sys.argv[2]) and r['errors'] == 0, r" "$T/out" "${rules_before:-0}"; echo $?) \
	"status: the running set is unchanged"
kill -HUP "$(cat "$VIGIL_STATE_DIR/vigild.pid")"
poll "grep -q 'SIGHUP: the new rules have errors' '$VIGIL_STATE_DIR/vigild.log' && grep -q 'zz-new.yml:5:5' '$VIGIL_STATE_DIR/vigild.log'"
ok $? "SIGHUP with the broken rule: the log says the old rules stay and where the error is"
hook claude-code "$(bash_pre s-reload2 'echo vigil-test-block-7f3a')"
ok $([ $hrc -eq 0 ] && grep -q '"deny"' "$T/out"; echo $?) "after the SIGHUP the old rules still decide"
run status --json
ok $(pyjson "assert json.load(open(sys.argv[1]))['running']" "$T/out"; echo $?) "the daemon still runs after SIGHUP"
hook claude-code "$(bash_pre s-reload3 'echo vigil-test-new-7f3a')"
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ]; echo $?) "the new rule is not running yet"
sed -i 's/target|bogus:/target|contains:/' "$T/conf/rules/zz-new.yml"
run rules reload --json
ok $([ $rc -eq 0 ] && pyjson "j = json.load(open(sys.argv[1])); assert j['ok'] and j['rules'] == int(sys.argv[2]) + 1, j" "$T/out" "${rules_before:-0}"; echo $?) \
	"fixed: the reload succeeds with one more rule"
hook claude-code "$(bash_pre s-reload4 'echo vigil-test-new-7f3a')"
ok $([ $hrc -eq 0 ] && pyjson "
h = json.loads(open(sys.argv[1]).read())['hookSpecificOutput']
assert h['permissionDecision'] == 'deny' and '(rule vigil-test-new, high)' in h['permissionDecisionReason'], h
" "$T/out"; echo $?) "the new rule takes effect"
kill -HUP "$(cat "$VIGIL_STATE_DIR/vigild.pid")"
poll "[ \"\$(grep -c 'rules reloaded' '$VIGIL_STATE_DIR/vigild.log')\" -ge 3 ]"
ok $? "SIGHUP with valid rules reloads them (logged)"
run status --json
ok $(pyjson "
j = json.load(open(sys.argv[1])); r = j['rules']; a = j['alerts']
assert r['rules'] > 0 and r['reloads'] >= 3 and r['errors'] == 0, r
assert a['open'] >= 5 and a['opened'] >= a['open'], a
assert a['notifications']['channels'][0]['sent'] >= 1, a
" "$T/out"; echo $?) "status --json: rules.rules, rules.reloads, alerts.open and the notifier's counters"

# ---- fail-closed / fail-open while the daemon is down --------------------------------------
run down
ok $rc "vigil down"
FC='{"session_id":"s-fc","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"echo MARK"},"tool_use_id":"tu-MARK"}'
hook claude-code "${FC//MARK/fc-1}" --fail-closed
ok $([ $hrc -eq 2 ] && [ ! -s "$T/out" ] && grep -q "vigil" "$T/err"; echo $?) "--fail-closed with no daemon: exit 2, stderr names vigil, nothing on stdout"
VIGIL_HOOK_FAIL_CLOSED=1 hook claude-code "${FC//MARK/fc-2}"
ok $([ $hrc -eq 2 ] && [ ! -s "$T/out" ] && grep -q "vigil" "$T/err"; echo $?) "VIGIL_HOOK_FAIL_CLOSED=1: the same"
hook claude-code "${FC//MARK/fo-3}"
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ] && [ ! -s "$T/err" ]; echo $?) "without it (fail-open): exit 0, no output"
VIGIL_HOOK_FAIL_CLOSED=0 hook claude-code "${FC//MARK/fo-4}"
ok $([ $hrc -eq 0 ] && [ ! -s "$T/out" ]; echo $?) "VIGIL_HOOK_FAIL_CLOSED=0 is fail-open"

# ---- restart: the spool drains, open alerts continue -----------------------------------------
run up --config "$CONF"
ok $rc "vigil up again"
# Right away, as an agent would: the match must continue the open alert of s-deny2.
hook claude-code "$(bash_pre s-deny2 'echo after-restart vigil-test-block-7f3a')"
ok $([ $hrc -eq 0 ] && grep -q '"deny"' "$T/out"; echo $?) "the rules decide after the restart"
poll "events s-deny2 && grep -q after-restart '$T/ev'"
ok $(pyjson "
e = [x for x in map(json.loads, open(sys.argv[1])) if x.get('hook') == 'PreToolUse' and 'after-restart' in x['target']]
ids = [d['alert_id'] for d in e[0]['detections'] if d['rule_id'] == 'vigil-test-block']
assert ids == [sys.argv[2]], (ids, sys.argv[2])
" "$T/ev" "${A2:-none}"; echo $?) "a match after the restart updates the same alert id (restored from the index)"
poll "alert_show '${A2:-none}' && pyjson \"assert json.load(open(sys.argv[1]))['count'] == 2\" '$T/alert'"
ok $? "and its count goes on (2)"

poll "events s-fc && pyjson \"assert len([l for l in open(sys.argv[1]) if 'PreToolUse' in l]) >= 4\" '$T/ev'"
ok $(pyjson "
evs = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
mode = {e['payload']['tool_input']['command']: e['decision'] for e in evs if e.get('hook') == 'PreToolUse'}
assert mode['echo fc-1']['mode'] == 'fail-closed' and mode['echo fc-1']['action'] == 'deny', mode
assert mode['echo fc-2']['mode'] == 'fail-closed', mode
assert mode['echo fo-3']['mode'] == 'fail-open' and mode['echo fo-3']['action'] == 'allow', mode
assert mode['echo fo-4']['mode'] == 'fail-open', mode
assert all(e.get('spooled') for e in evs if e.get('hook') == 'PreToolUse'), evs
" "$T/ev"; echo $?) "the spooled events carry decision.mode fail-closed / fail-open"
poll "[ -n \"\$(alert_of vigil-daemon-unavailable s-fc)\" ]"
AO=$(alert_of vigil-daemon-unavailable s-fc)
poll "alert_show '${AO:-none}' && pyjson \"assert json.load(open(sys.argv[1]))['count'] == 4\" '$T/alert'"
ok $([ -n "$AO" ] && pyjson "a = json.load(open(sys.argv[1])); assert a['level'] == 'high' and a['count'] == 4 and len(a['event_ids']) == 4, a" "$T/alert"; echo $?) \
	"a vigil-daemon-unavailable alert covers the 4 hooks answered without the daemon"

run down
ok $rc "vigil down at the end"
run verify
ok $rc "the ledger with its decisions and alert records verifies"

echo "1..$n"
[ $failed -eq 0 ]
