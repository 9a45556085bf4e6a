#!/usr/bin/env bash
# test_daemon.sh - vigild end to end with the real vigil-hook: up/status/down,
# every hook acknowledged only once durable, the spool when the daemon is down,
# deduplication of spooled events by id, kill -9 in the middle of a scripted
# agent, 20 agents at once, invalid payloads, and `vigil verify` at the end.
#
#   test_daemon.sh BUILD_DIR FIXTURE
set -u
BUILD=$1
FIXTURE=$2
VIGIL=$BUILD/src/cli/vigil
HOOK=$BUILD/src/hook/vigil-hook
VIGILD=$BUILD/src/daemon/vigild
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-daemon.XXXXXX")
export VIGIL_STATE_DIR=$T/state
unset VIGIL_SOCKET
n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then echo "ok $n - $2"; else echo "not ok $n - $2"; failed=$((failed + 1)); fi
}
diag() { sed 's/^/# /' "$@" >&2; }
cleanup() {
	"$VIGIL" down --timeout 5s >/dev/null 2>&1
	pkill -9 -f "vigild --state-dir $T/" 2>/dev/null
	rm -rf "$T"
}
trap cleanup EXIT

# How many indexed events match a SQL condition (the index is read-only here).
count() {
	python3 - "$VIGIL_STATE_DIR/index.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT count(*) FROM events WHERE " + sys.argv[2]).fetchone()[0])
PY
}
# Waits (up to 60 s) until the daemon has drained the spool and indexed everything it
# recorded; says so on the TAP stream when it gives up.
settle() {
	local end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		if "$VIGIL" status --json >"$T/st.json" 2>/dev/null &&
			python3 -c "import json,sys; j=json.load(open('$T/st.json')); i = j['index']; sys.exit(0 if i['synced'] and j['spool']['drain_ready'] and i['pending'] == 0 and i['last_seq'] >= j['ledger']['last_event_seq'] and j['spool_bytes'] == 0 else 1)"; then
			return 0
		fi
		sleep 0.1
	done
	echo "# settle: gave up after 60 s; last status:"
	sed 's/^/# /' "$T/st.json"
	return 1
}
spooled_bytes() { cat "$VIGIL_STATE_DIR"/spool/*.vgw 2>/dev/null | wc -c; }
# A hook payload with a marker we can find again.
payload() { printf '{"session_id":"%s","cwd":"/tmp","hook_event_name":"UserPromptSubmit","prompt":"%s"}' "$1" "$2"; }

# ---- up / status ------------------------------------------------------------------
"$VIGIL" status >"$T/out" 2>&1
ok $([ $? -eq 1 ] && grep -q "not running" "$T/out"; echo $?) "status says not running (exit 1) before up"
"$VIGIL" up >"$T/out" 2>&1
rc=$?
ok $([ $rc -eq 0 ] && grep -q "started" "$T/out" && grep -q "creating them" "$T/out"; echo $?) "up creates the keys and starts vigild"
[ $rc -eq 0 ] || diag "$T/out"
"$VIGIL" up >"$T/out" 2>&1
ok $([ $? -eq 0 ] && grep -q "already running" "$T/out"; echo $?) "a second up says it already runs"
"$VIGILD" --state-dir "$VIGIL_STATE_DIR" >"$T/out" 2>&1
ok $([ $? -eq 1 ] && grep -q "already running" "$T/out"; echo $?) "a second vigild on the same state dir refuses (exit 1)"
ok $([ "$(stat -c %a "$VIGIL_STATE_DIR/vigild.sock")" = 600 ]; echo $?) "the socket is mode 0600"
"$VIGIL" status --json >"$T/st.json"
ok $(python3 -c "import json; j=json.load(open('$T/st.json')); assert j['running'] and j['pid'] > 0 and j['socket'].endswith('vigild.sock')"; echo $?) "status --json reports the running daemon"

# ---- the recorded session through the real hook ----------------------------------
# The session pipes curl into sh: the default rules deny that PreToolUse (in
# Claude Code's JSON) and tell the session about the alert on a later answer
# (systemMessage).  Every other answer is empty.
ok=0
: >"$T/answers"
while IFS= read -r line; do
	out=$(printf '%s' "$line" | "$HOOK" --agent claude-code)
	[ $? -eq 0 ] || ok=1
	[ -z "$out" ] || printf '%s\n' "$out" >>"$T/answers"
done <"$FIXTURE"
ok $ok "24 hook calls exit 0"
ok $(python3 - "$T/answers" <<'PY'
import json, sys
answers = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
deny = [a for a in answers if a.get("hookSpecificOutput", {}).get("permissionDecision") == "deny"]
other = [a for a in answers if a not in deny]
assert len(deny) == 1, answers
assert "vigil-download-exec" in deny[0]["hookSpecificOutput"]["permissionDecisionReason"] or \
    "curl" in deny[0]["hookSpecificOutput"]["permissionDecisionReason"], deny
assert all(set(a) == {"systemMessage"} for a in other), other
PY
echo $?) "only the curl | sh PreToolUse is denied; other answers are empty or a systemMessage"
ok $([ "$(spooled_bytes)" -eq 0 ]; echo $?) "nothing was spooled while the daemon ran"
settle
ok $([ "$(count "event_type != 'alert'")" -eq 24 ]; echo $?) "the 24 events are in the index"
ok $([ "$(count "event_type = 'alert'")" -ge 1 ] &&
	[ "$(count "json_extract(json, '\$.decision.action') = 'deny'")" -eq 1 ]; echo $?) \
	"the denied event carries its decision and alert records follow it"
ok $([ "$(count "event_type = 'command_execution' AND hook = 'PostToolUseFailure'")" -eq 1 ]; echo $?) "the failing Bash call is indexed as a PostToolUseFailure"
ok $([ "$(count "json_extract(json, '\$.peer.pid') > 0")" -ge 24 ]; echo $?) "peer credentials are recorded"
ok $([ "$(count "json_extract(json, '\$.process.pid') > 0 AND json_extract(json, '\$.id') LIKE '________-____-7___-%'")" -ge 24 ]; echo $?) "events carry the hook's UUIDv7 id and process"

# ---- invalid input is recorded, not lost ------------------------------------------
printf 'this is not json' | "$HOOK" >"$T/out"
r1=$?
printf '' | "$HOOK" >>"$T/out"
r2=$?
settle
ok $([ $r1 -eq 0 ] && [ $r2 -eq 0 ] && [ ! -s "$T/out" ]; echo $?) "invalid and empty payloads: the hook exits 0 and prints nothing"
ok $([ "$(count "event_type = 'invalid'")" -eq 2 ]; echo $?) "both are recorded as invalid events with the reason"

# ---- project root: CLAUDE_PROJECT_DIR, else the git work tree around the payload's cwd ----
mkdir -p "$T/repo/.git" "$T/repo/sub/dir"
printf '{"session_id":"root-s","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"%s"},"tool_use_id":"r1"}' \
	"$T/repo/sub/dir" "$T/repo/README" | "$HOOK" >/dev/null
printf '{"session_id":"root-s","cwd":"%s","hook_event_name":"PreToolUse","tool_name":"Read","tool_input":{"file_path":"/etc/hosts"},"tool_use_id":"r2"}' \
	"$T/repo/sub" | CLAUDE_PROJECT_DIR=$T/repo/sub "$HOOK" >/dev/null
settle
ok $([ "$(count "tool_use_id = 'r1' AND json_extract(json, '\$.project.root') = '$T/repo' AND json_extract(json, '\$.project.source') = 'git' AND json_extract(json, '\$.outside_project_scope') = 0")" -eq 1 ]; echo $?) "without CLAUDE_PROJECT_DIR the root is the git work tree around the payload's cwd"
ok $([ "$(count "tool_use_id = 'r2' AND json_extract(json, '\$.project.root') = '$T/repo/sub' AND json_extract(json, '\$.project.source') = 'env' AND json_extract(json, '\$.outside_project_scope') = 1")" -eq 1 ]; echo $?) "CLAUDE_PROJECT_DIR wins, and a read outside it is out of scope"

# ---- daemon down: the hook spools ---------------------------------------------------
"$VIGIL" down >"$T/out" 2>&1
ok $([ $? -eq 0 ] && grep -q stopped "$T/out" && [ ! -e "$VIGIL_STATE_DIR/vigild.sock" ]; echo $?) "down stops it and removes the socket"
ok=0
for i in $(seq 1 30); do
	out=$(payload spool-s "spooled-$i" | "$HOOK")
	[ $? -eq 0 ] && [ -z "$out" ] || ok=1
done
ok $ok "30 hooks with no daemon exit 0 and print nothing"
ok $([ "$(spooled_bytes)" -gt 0 ]; echo $?) "their events are in the spool"
"$VIGIL" up >/dev/null 2>&1
settle
ok $([ "$(count "json_extract(json, '\$.payload.prompt') LIKE 'spooled-%'")" -eq 30 ] &&
	[ "$(count "json_extract(json, '\$.payload.prompt') LIKE 'spooled-%' AND json_extract(json, '\$.spooled') = 1")" -eq 30 ]; echo $?) "after up, all 30 spooled events are in the index, marked spooled"
ok $([ "$(spooled_bytes)" -eq 0 ]; echo $?) "the spool is empty after the drain"

# ---- a spooled copy of an event already recorded is dropped ---------------------
python3 - "$VIGIL_STATE_DIR" "$T/dup.rec" <<'PY' >"$T/dup.out" 2>&1
import os, socket, struct, sys, zlib
state = sys.argv[1]
env = b"id=01890a5d-ac96-774b-bcce-b302099a8057\ntime_ns=1700000000000000000\nagent=claude-code\ncwd=/tmp\n"
payload = b'{"session_id":"dup-s","cwd":"/tmp","hook_event_name":"UserPromptSubmit","prompt":"dup-1"}'
frame = b"VGW1" + struct.pack("<BBHII", 1, 0, 0, len(env), len(payload)) + env + payload
s = socket.socket(socket.AF_UNIX)
s.connect(os.path.join(state, "vigild.sock"))
s.sendall(frame)
hdr = s.recv(16)
assert hdr[:4] == b"VGA1" and hdr[4] == 0, hdr
with open(os.path.join(sys.argv[2]), "wb") as f:
    f.write(frame + struct.pack("<I", zlib.crc32(frame) & 0xffffffff))
print("sent")
PY
ok $? "an event acknowledged by the daemon"
"$VIGIL" down >/dev/null 2>&1
# The hook would have spooled it too had the ack been late: same id, twice.
# Written while the daemon is down: a running daemon drains the spool on its
# own every few seconds and would count the duplicates before the restart.
cat "$T/dup.rec" "$T/dup.rec" >>"$VIGIL_STATE_DIR/spool/spool.vgw"
ok $? "then spooled twice with the same id"
"$VIGIL" up >/dev/null 2>&1
settle
ok $([ "$(count "json_extract(json, '\$.payload.prompt') = 'dup-1'")" -eq 1 ]; echo $?) "is in the ledger once after the drain"
"$VIGIL" status --json >"$T/st.json"
ok $(python3 -c "import json; j=json.load(open('$T/st.json')); assert j['events']['spool_duplicates'] == 2, j['events']"; echo $?) "status counts the 2 dropped duplicates"

# ---- kill -9 while a scripted agent runs -------------------------------------------
# The daemon is stopped (SIGSTOP) once 20 hooks were answered, so the next hook
# is provably waiting for its answer when the daemon is killed; the hooks after
# it find no daemon.  Every one of them must spool, and nothing may be lost.
( for i in $(seq 1 100); do
	payload kill-s "kill-$i" | "$HOOK" --timeout-ms 30000
	echo "$i" >>"$T/kill.done"
done ) &
agent=$!
vd_pid=$(cat "$VIGIL_STATE_DIR/vigild.pid")
end=$((SECONDS + 60))
while [ "$(cat "$T/kill.done" 2>/dev/null | wc -l)" -lt 20 ] && [ $SECONDS -lt $end ]; do sleep 0.05; done
kill -STOP "$vd_pid"
# The hook now running connects and sends; the stopped daemon cannot answer.
waiting=0
end=$((SECONDS + 30))
while [ $SECONDS -lt $end ]; do
	waiting=$(pgrep -c -f "^$HOOK --timeout-ms 30000" || true)
	[ "$waiting" -ge 1 ] && break
	sleep 0.05
done
sleep 0.5
answered=$(wc -l <"$T/kill.done")
kill -9 "$vd_pid"
wait $agent
ok $? "the agent's 100 hooks all returned while the daemon was killed"
ok $([ "$waiting" -ge 1 ] && [ "$answered" -ge 20 ] && [ "$answered" -lt 100 ]; echo $?) "hooks were cut off: $answered answered, $((100 - answered)) not, $waiting waiting when the daemon was killed"
"$VIGIL" up >"$T/out" 2>&1
ok $? "up after kill -9 recovers"
settle
ok $([ "$(count "json_extract(json, '\$.payload.prompt') LIKE 'kill-%'")" -eq 100 ] &&
	[ "$(python3 - "$VIGIL_STATE_DIR/index.db" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT count(DISTINCT json_extract(json, '$.payload.prompt')) FROM events WHERE json_extract(json, '$.payload.prompt') LIKE 'kill-%'").fetchone()[0])
PY
)" -eq 100 ]; echo $?) "after kill -9 and restart, all 100 events are there exactly once"
ok $([ "$(count "json_extract(json, '\$.payload.prompt') LIKE 'kill-%' AND json_extract(json, '\$.spooled') = 1")" -ge 1 ]; echo $?) "the events of the hooks cut off came through the spool"
[ $failed -eq 0 ] || { echo "# kill-%: $(count "json_extract(json, '\$.payload.prompt') LIKE 'kill-%'") rows";
	python3 - "$VIGIL_STATE_DIR" <<'PY'
import glob, sqlite3, sys
db = sqlite3.connect("file:%s/index.db?mode=ro" % sys.argv[1], uri=True)
seen = [r[0] for r in db.execute("SELECT json_extract(json, '$.payload.prompt') FROM events WHERE json_extract(json, '$.payload.prompt') LIKE 'kill-%'")]
ledger = b"".join(open(f, "rb").read() for f in glob.glob(sys.argv[1] + "/ledger/*"))
for i in range(1, 101):
    k = "kill-%d" % i
    if seen.count(k) != 1:
        print("# %s: %d times in the index, %d times in the ledger" % (k, seen.count(k), ledger.count(b'"prompt":"%s"' % k.encode())))
PY
 "$VIGIL" status --json | sed 's/^/# /'; ls -la "$VIGIL_STATE_DIR/spool" | sed 's/^/# /'; }

# ---- 20 agents at once --------------------------------------------------------------
pids=()
for a in $(seq 1 20); do
	( for i in $(seq 1 10); do payload "agent-$a" "many-$a-$i" | "$HOOK"; done ) &
	pids+=($!)
done
ok=0
for p in "${pids[@]}"; do wait "$p" || ok=1; done
ok $ok "20 concurrent agents x 10 hooks all exit 0"
settle
ok $([ "$(count "json_extract(json, '\$.payload.prompt') LIKE 'many-%'")" -eq 200 ]; echo $?) "all 200 events are recorded, none twice"

# ---- a second instance: its own socket, ledger and index; abandoned tool calls --------
S2=$T/second
"$VIGIL" --state-dir "$S2" keys init >/dev/null 2>&1
"$VIGILD" --state-dir "$S2" --daemon --abandon-after 1s >"$T/out" 2>&1
ok $? "a second vigild runs on another state directory"
printf '{"session_id":"s2","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"sleep 999"},"tool_use_id":"never-ends"}' |
	VIGIL_STATE_DIR=$S2 "$HOOK" >/dev/null
payload first-only only-in-first | "$HOOK" >/dev/null
count2() {
	python3 - "$S2/index.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT count(*) FROM events WHERE " + sys.argv[2]).fetchone()[0])
PY
}
for _ in $(seq 1 150); do
	[ "$(count2 "event_type = 'tool_abandoned'" 2>/dev/null)" = 1 ] && break
	sleep 0.1
done
ok $([ "$(count2 "event_type = 'tool_abandoned' AND tool_use_id = 'never-ends' AND outcome = 'abandoned'")" -eq 1 ]; echo $?) "a PreToolUse with no result is recorded as tool_abandoned after --abandon-after"
ok $([ "$(count2 "json_extract(json, '\$.payload.prompt') = 'only-in-first'")" -eq 0 ] &&
	[ "$(count2 "session_id = 's2'")" -ge 1 ]; echo $?) "a hook reaches only the daemon of its own state directory"
settle
ok $([ "$(count "session_id = 's2'")" -eq 0 ] && [ "$(count "json_extract(json, '\$.payload.prompt') = 'only-in-first'")" -eq 1 ]; echo $?) "and the first daemon saw only its own events"
"$VIGIL" --state-dir "$S2" down >/dev/null 2>&1
"$VIGIL" --state-dir "$S2" verify >/dev/null 2>&1
ok $? "the second ledger verifies"

# ---- shutdown and verify -------------------------------------------------------------
"$VIGIL" down --json >"$T/out" 2>&1
ok $(python3 -c "import json; j=json.load(open('$T/out')); assert j['stopped'] and not j['running']"; echo $?) "down --json"
"$VIGIL" down >"$T/out" 2>&1
ok $([ $? -eq 0 ] && grep -q "not running" "$T/out"; echo $?) "down when not running is not an error"
"$VIGIL" verify --require-sealed >"$T/out" 2>&1
rc=$?
ok $([ $rc -eq 0 ]; echo $?) "vigil verify --require-sealed passes on the daemon's ledger"
[ $rc -eq 0 ] || diag "$T/out"
"$VIGILD" --state-dir "$T/nokeys" >"$T/out" 2>&1
ok $([ $? -eq 3 ] && grep -q "vigil keys init" "$T/out"; echo $?) "vigild without keys says to run 'vigil keys init' (exit 3)"
"$VIGILD" --bogus >"$T/out" 2>&1
ok $([ $? -eq 2 ]; echo $?) "vigild rejects an unknown option (exit 2)"

echo "1..$n"
[ $failed -eq 0 ]
