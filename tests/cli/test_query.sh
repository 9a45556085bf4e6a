#!/usr/bin/env bash
# test_query.sh - the index commands end to end with the real `vigil` binary: the recorded
# Claude Code session is imported, indexed by `vigil reindex`, then read back with events,
# sessions, replay, tail (also -f across a reindex) and sql, in human and --json form; bad
# input, a missing index, writes through sql and a running daemon are refused.  Prints TAP.
#
# usage: test_query.sh PATH/TO/vigil PATH/TO/tests/data
set -u

VIGIL=${1:?usage: test_query.sh VIGIL DATA_DIR}
DATA=${2:?usage: test_query.sh VIGIL DATA_DIR}
FIXTURE="$DATA/claude-code-2.1.197/session-rich.hooks.jsonl"
SID=a6554db9-c2ac-471e-ad30-60bbd41b856a
SUB=ab76a09d7c5f5acde
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-query-XXXXXX")
bg_pids=()
cleanup() {
	for p in "${bg_pids[@]}"; do kill "$p" 2>/dev/null; done
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
	python3 - "$T/out" "$1" <<'EOF'
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
EOF
}
is_true() { [ "$(py "$1" 2>"$T/pyerr")" = True ]; }

# ---- help ------------------------------------------------------------------------------
for cmd in events tail sessions replay reindex sql; do
	run "$cmd" --help
	[ $rc -eq 0 ] && has "usage: vigil $cmd" && has "Exit status"
	ok $? "vigil $cmd --help documents usage and exit status"
done
run --help
has "replay SESSION" && has "reindex" && has "sql QUERY"
ok $? "vigil --help lists the index commands"

# ---- no index yet ------------------------------------------------------------------------
run events
[ $rc -eq 3 ] && has "nothing recorded" err
ok $? "events with no state at all: exit 3, nothing recorded"
run keys init
ok $rc "keys init"
run import "$FIXTURE"
ok $rc "import the recorded session"
for cmd in events sessions "replay $SID" "sql SELECT 1" tail; do
	# shellcheck disable=SC2086
	run $cmd
	[ $rc -eq 3 ] && has "run 'vigil reindex'" err
	ok $? "vigil $cmd before any index says to run vigil reindex"
done
[ ! -e "$VIGIL_STATE_DIR/index.db" ]
ok $? "a read command does not create the index"

# ---- reindex -----------------------------------------------------------------------------
run reindex
[ $rc -eq 0 ] && has "Indexed 24 events (1 session, 9 tool calls, 1 subagent, 0 invalid)"
ok $? "reindex builds the index: 24 events, 1 session, 9 tool calls, 1 subagent"
run reindex --json
[ $rc -eq 0 ] && is_true "J['events'] == 24 and J['tool_calls'] == 9 and J['subagents'] == 1 and J['last_seq'] == 24 and J['ledger_damaged'] is False"
ok $? "reindex --json reports the counts"
ls "$VIGIL_STATE_DIR" | grep -q reindex-
ok $((!$?)) "no temporary file left behind"
[ "$(stat -c %a "$VIGIL_STATE_DIR/index.db")" = 600 ]
ok $? "the index is mode 0600 (it holds event payloads)"
# -o: the lock is not inherited by sleep, so killing flock releases it at once.
flock -o "$VIGIL_STATE_DIR/vigild.pid" sleep 30 &
bg_pids+=($!)
for _ in $(seq 50); do
	flock -n "$VIGIL_STATE_DIR/vigild.pid" true 2>/dev/null || break
	sleep 0.1
done
run reindex
[ $rc -eq 3 ] && has "vigild is running" err && has "vigil down" err
ok $? "reindex refuses while the daemon holds its lock"
kill "${bg_pids[0]}" 2>/dev/null
wait "${bg_pids[0]}" 2>/dev/null
run reindex --bogus
[ $rc -eq 2 ]
ok $? "reindex: unknown option exits 2"

# ---- events --------------------------------------------------------------------------------
run events
[ $rc -eq 0 ] && [ "$(lines)" -eq 25 ] && has "^ *SEQ  TIME"
ok $? "events lists 24 events under a header"
has "PostToolUseFailure  Bash" && has "ls -la && false"
ok $? "events shows hook, tool and target"
run events --json
[ $rc -eq 0 ] && is_true "len(L) == 24 and [e['seq'] for e in L] == list(range(1, 25)) and all(e['schema'] == 'vigil.event.v1' for e in L)"
ok $? "events --json: one event per line, seq added, in order"
run events --tool Bash --json
is_true "len(L) == 4 and all(e['tool'] == 'Bash' for e in L)"
ok $? "--tool Bash: 4 events"
run events --session a6554 --type file_write --json
is_true "len(L) == 2 and all(e['event_type'] == 'file_write' for e in L)"
ok $? "--session prefix and --type"
run events --hook SubagentStart --json
is_true "len(L) == 1 and L[0]['agent_id'] == '$SUB'"
ok $? "--hook SubagentStart"
run events --agent-id "$SUB" --json
is_true "len(L) == 6"
ok $? "--agent-id: the subagent's 6 events"
run events --limit 3 --json
is_true "[e['seq'] for e in L] == [22, 23, 24]"
ok $? "--limit 3: the newest three, oldest first"
run events --text alarming --json
is_true "len(L) >= 1 and all('alarming' in json.dumps(e) for e in L)"
ok $? "--text finds the subagent's answer"
run events --text 'no-such-word-zzz' --json
[ $rc -eq 0 ] && [ ! -s "$T/out" ]
ok $? "--text with no hit prints nothing, exit 0"
run events --risk high --json
is_true "len(L) >= 1 and all(e['risk']['level'] in ('high', 'critical') for e in L)"
ok $? "--risk high: only high and critical events"
run events --outside-scope --json
is_true "len(L) >= 1 and all(e['outside_project_scope'] is True for e in L)"
ok $? "--outside-scope: only events outside the project"
run events --since 1h --json
is_true "len(L) == 24"
ok $? "--since 1h (just imported): all"
run events --until 2000-01-01 --json
[ $rc -eq 0 ] && [ ! -s "$T/out" ]
ok $? "--until 2000-01-01: none"
for bad in "--since 5x" "--until yesterday" "--risk severe" "--limit -1" "--limit abc" \
	"--bogus" "--text  " "stray-argument"; do
	# shellcheck disable=SC2086
	run events $bad
	[ $rc -eq 2 ] && has "Try 'vigil events --help'" err
	ok $? "events $bad: usage error, exit 2"
done

# ---- sessions --------------------------------------------------------------------------------
run sessions
[ $rc -eq 0 ] && has "$SID" && has "/home/dev/acme-app" && has "SUBAGENTS"
ok $? "sessions lists the session with its project"
run sessions --json
is_true "len(L) == 1 and L[0]['session_id'] == '$SID' and L[0]['events'] == 24 and L[0]['tool_calls'] == 9 and L[0]['failures'] == 2 and L[0]['subagents'] == 1 and L[0]['prompts'] == 1 and L[0]['ended'] is True and L[0]['end_reason'] == 'other'"
ok $? "sessions --json: counts, ended, reason"
run sessions --since 2000-01-01T00:00:00Z --limit 1 --json
is_true "len(L) == 1"
ok $? "sessions --since and --limit"
run sessions --limit x
[ $rc -eq 2 ]
ok $? "sessions --limit x: exit 2"

# ---- replay ------------------------------------------------------------------------------------
run replay a6554
[ $rc -eq 0 ] && has "Session $SID" && has "Summary" && has "9 tool calls (2 failed"
ok $? "replay by prefix: header and summary"
grep -q "^[0-9:]* *+[0-9:]*  Bash  .*ls -la && false.*failure" "$T/out"
ok $? "replay pairs Pre and Post on one line (tool, target, outcome)"
grep -q "^[0-9:]* *+[0-9:]*      Grep " "$T/out"
ok $? "replay indents the subagent's calls under the Agent call"
has "subagent $SUB (general-purpose) started by toolu_04_15293"
ok $? "replay names the Agent call that spawned the subagent"
has "Files changed" && has "app.py"
ok $? "replay lists the files changed"
[ "$(grep -c "ls -la && false" "$T/out")" -eq 1 ]
ok $? "each tool call appears once"
run replay "$SID" --json
is_true "J['summary']['tool_calls'] == 9 and len([t for t in J['timeline'] if t['kind'] == 'tool_call']) == 9"
ok $? "replay --json: 9 tool calls in the timeline"
is_true "sorted((t['depth'], t['tool']) for t in J['timeline'] if t.get('tool_use_id') == 'toolu_00_15293') == [(0, 'Bash'), (1, 'Grep')]"
ok $? "replay --json: the reused toolu_00 is two calls (main Bash, subagent Grep)"
is_true "J['subagents'][0]['parent_tool_use_id'] == 'toolu_04_15293' and J['subagents'][0]['depth'] == 1"
ok $? "replay --json: the subagent tree"
is_true "all(t['outcome'] in ('success', 'failure') and t['duration_ms'] is not None for t in J['timeline'] if t['kind'] == 'tool_call')"
ok $? "replay --json: every call has an outcome and a duration"
is_true "J['files_changed'][0]['path'] == '/home/dev/acme-app/app.py'"
ok $? "replay --json: files changed"
run replay nosuchsession
[ $rc -eq 1 ] && has "no session 'nosuchsession'" err
ok $? "replay of an unknown session: exit 1"
run replay
[ $rc -eq 2 ]
ok $? "replay with no session: exit 2"

# ---- tail ----------------------------------------------------------------------------------------
run tail -n 2
[ $rc -eq 0 ] && [ "$(lines)" -eq 3 ] && has "SessionEnd"
ok $? "tail -n 2: the last two events"
run tail --json
is_true "[e['seq'] for e in L] == list(range(15, 25))"
ok $? "tail --json: the last 10 by default"
run tail -n 5 --tool Bash --json
is_true "len(L) == 4 and all(e['tool'] == 'Bash' for e in L)"
ok $? "tail takes the events filters"
run tail -n x
[ $rc -eq 2 ]
ok $? "tail -n x: exit 2"
"$VIGIL" tail -f -n 1 --json >"$T/follow" 2>"$T/follow.err" &
tail_pid=$!
bg_pids+=($tail_pid)
sleep 0.5
"$VIGIL" import "$FIXTURE" >/dev/null 2>&1 && "$VIGIL" reindex >/dev/null 2>&1
for _ in $(seq 50); do
	[ "$(grep -c . "$T/follow")" -ge 25 ] && break
	sleep 0.2
done
kill -INT "$tail_pid"
wait "$tail_pid"
tail_rc=$?
cp "$T/follow" "$T/out"
[ $tail_rc -eq 0 ] && is_true "len(L) == 25 and L[0]['seq'] == 24 and [e['seq'] for e in L[1:]] == list(range(26, 50))"
ok $? "tail -f follows new events across a reindex, exits 0 on SIGINT"

# ---- sql --------------------------------------------------------------------------------------------
run sql "SELECT count(*) AS n FROM events WHERE session_id = '$SID'"
[ $rc -eq 0 ] && has "^ *48$" && has "(1 row)"
ok $? "sql prints a table"
run sql --json "SELECT tool, outcome, duration_ms FROM tool_calls WHERE tool = 'Bash' ORDER BY id"
is_true "len(L) == 2 and L[0] == {'tool': 'Bash', 'outcome': 'failure', 'duration_ms': L[0]['duration_ms']} and isinstance(L[0]['duration_ms'], int)"
ok $? "sql --json: one object per row with typed values"
run sql SELECT agent_id, parent_tool_use_id FROM agents
[ $rc -eq 0 ] && has "$SUB" && has "toolu_04_15293"
ok $? "sql joins its words into one query"
run sql --limit 2 "SELECT seq FROM events"
[ $rc -eq 0 ] && has "(2 rows)" && has "stopped after 2 rows" err
ok $? "sql --limit bounds the output and says so"
run sql "SELECT tool FROM tool_calls WHERE tool = 'Bash'" --json --limit 1
is_true "len(L) == 1 and L[0] == {'tool': 'Bash'}"
ok $? "sql takes --json and --limit after the query too (not as an SQL comment)"
for w in "DELETE FROM events" "DROP TABLE sessions" "INSERT INTO agents (session_id, agent_id) VALUES ('a', 'b')" \
	"UPDATE events SET tool = 'x'" "ATTACH DATABASE '$T/x.db' AS x" "PRAGMA journal_mode = DELETE" \
	"CREATE TABLE t (x)"; do
	run sql "$w"
	[ $rc -eq 1 ] && has "refused" err
	ok $? "sql refuses: $w"
done
[ ! -e "$T/x.db" ]
ok $? "the refused ATTACH created no file"
run sql --json "SELECT count(*) AS n FROM events"
is_true "L[0]['n'] == 48"
ok $? "after the refused writes the index is unchanged"
run sql "SELEKT 1"
[ $rc -eq 2 ] && has "syntax error" err
ok $? "sql: invalid SQL exits 2 with SQLite's message"
run sql "SELECT 1; SELECT 2"
[ $rc -eq 2 ] && has "one statement" err
ok $? "sql: one statement at a time"
run sql
[ $rc -eq 2 ]
ok $? "sql with no query: exit 2"
run sql --limit 0 "SELECT 1"
[ $rc -eq 2 ]
ok $? "sql --limit 0: exit 2"

# ---- hostile text and more sessions -----------------------------------------------------------------
esc=$(printf '\033')
printf '{"session_id":"a6554db9-other","hook_event_name":"PreToolUse","tool_name":"Bash","tool_use_id":"t1","cwd":"/tmp","tool_input":{"command":"echo \\u001b]0;pwned\\u0007 \\u001b[31mred"}}\n' >"$T/evil.jsonl"
"$VIGIL" import "$T/evil.jsonl" >/dev/null 2>&1 && "$VIGIL" reindex >/dev/null 2>&1
run events --session a6554db9-other
[ $rc -eq 0 ] && has "echo" && ! grep -q "$esc" "$T/out"
ok $? "terminal escape sequences in a payload never reach the terminal"
run replay a6554db9-other
[ $rc -eq 0 ] && has "pending" && ! grep -q "$esc" "$T/out"
ok $? "replay shows a call with no Post as pending, escapes removed"
run replay a6554db9
[ $rc -eq 1 ] && has "ambiguous" err && has "^  $SID$" err && has "^  a6554db9-other$" err
ok $? "replay with an ambiguous prefix: exit 1, the sessions it could be listed"
run replay d41b856a
[ $rc -eq 0 ] && has "^Session $SID "
ok $? "replay SHORT-ID: the session whose id ends so (UUIDv7 ids share their start)"
run events --session "$SID" --json
full=$(lines)
run events --session d41b856a --json
[ $rc -eq 0 ] && [ "$full" -gt 0 ] && [ "$(lines)" -eq "$full" ] && ! grep -q a6554db9-other "$T/out"
ok $? "events --session SHORT-ID: that session's events only"

# ---- a damaged or missing index -------------------------------------------------------------------
rm -f "$VIGIL_STATE_DIR/index.db" "$VIGIL_STATE_DIR/index.db-wal" "$VIGIL_STATE_DIR/index.db-shm"
run sessions
[ $rc -eq 3 ] && has "run 'vigil reindex'" err
ok $? "a deleted index: read commands say to run vigil reindex"
echo "not a database, not at all, certainly not SQLite format 3 ...................." >"$VIGIL_STATE_DIR/index.db"
run events
[ $rc -eq 3 ] && [ -s "$T/err" ]
ok $? "a corrupt index: exit 3 with an error, no crash"
run reindex
[ $rc -eq 0 ] && has "Indexed 49 events"
ok $? "reindex replaces a corrupt index"

echo "1..$n"
[ $failed -eq 0 ]
