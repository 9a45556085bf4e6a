#!/usr/bin/env bash
# test_privdrop.sh - vigild started as root becomes its own user (--user):
# uid and gid in all four fields, no capabilities (effective, permitted,
# bounding), no_new_privs; events from root's and another user's hooks are
# recorded with the uid the kernel reports; only root and the daemon's user
# can stop it; as root without --user on a socket every user reaches, vigild
# refuses; --user naming another user is refused when not root.
#
# Needs root (creates and removes two system users); skipped otherwise.
#
#   test_privdrop.sh BUILD_DIR
set -u
BUILD=$1
VIGIL=$BUILD/src/cli/vigil
VIGILD=$BUILD/src/daemon/vigild
HOOK=$BUILD/src/hook/vigil-hook
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null || ! command -v runuser >/dev/null; then
	echo "1..0 # SKIP needs root, useradd and runuser (creates and removes system users)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-privdrop.XXXXXX")
chmod 755 "$T" # the other users must reach the socket below
# ...and the programs: the checkout may sit where they cannot go (a 0700
# home or temporary directory), so the users run copies from here.
mkdir -p "$T/bin"
cp "$VIGIL" "$VIGILD" "$HOOK" "$T/bin/"
chmod 755 "$T/bin" "$T/bin/vigil" "$T/bin/vigild" "$T/bin/vigil-hook"
VIGIL=$T/bin/vigil
VIGILD=$T/bin/vigild
HOOK=$T/bin/vigil-hook
U=vgd$$ # the daemon's user
A=vga$$ # an agent's user
unset VIGIL_STATE_DIR VIGIL_SOCKET VIGIL_SIGNING_KEY VIGIL_MAC_KEY VIGIL_CONFIG
. "$(dirname "$0")/../lib/tap.sh"
STATE=$T/state
SOCK=$T/run/vigild.sock
cleanup() {
	VIGIL_SOCKET=$SOCK "$VIGIL" --state-dir "$STATE" down --timeout 5s >/dev/null 2>&1
	userdel "$U" >/dev/null 2>&1
	userdel "$A" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
useradd -r -M -s /usr/sbin/nologin "$U" || { echo "1..0 # SKIP useradd failed"; exit 0; }
useradd -r -M -s /usr/sbin/nologin "$A" || { echo "1..0 # SKIP useradd failed"; exit 0; }
UID_U=$(id -u "$U")
GID_U=$(id -g "$U")
UID_A=$(id -u "$A")

# The state directory as an administrator makes it (root's, 0700): vigild
# hands it to the user; the keys are made by that user.
mkdir -m 700 "$STATE"
chown "$U:" "$STATE"
runuser -u "$U" -- "$VIGIL" --state-dir "$STATE" keys init >/dev/null 2>&1
chown root: "$STATE"

"$VIGILD" --daemon --user "$U" --state-dir "$STATE" --socket "$SOCK" >"$T/out" 2>"$T/err"
rc=$?
ok $rc "vigild --daemon --user starts as root (exit $rc)"
PID=$(cat "$STATE/vigild.pid" 2>/dev/null)
field() { awk -v k="$1:" '$1 == k { $1 = ""; print substr($0, 2) }' "/proc/$PID/status"; }
four() { echo "$1 $1 $1 $1"; }
ok $([ -n "$PID" ] && [ "$(field Uid)" = "$(four "$UID_U")" ]; echo $?) \
	"Uid is $UID_U in all four fields ($(field Uid))"
ok $([ "$(field Gid)" = "$(four "$GID_U")" ]; echo $?) "Gid is $GID_U in all four fields ($(field Gid))"
ok $([ "$(field CapEff)" = 0000000000000000 ] && [ "$(field CapPrm)" = 0000000000000000 ] &&
	[ "$(field CapBnd)" = 0000000000000000 ] && [ "$(field CapAmb)" = 0000000000000000 ]; echo $?) \
	"no capabilities: CapEff $(field CapEff), CapPrm $(field CapPrm), CapBnd $(field CapBnd)"
ok $([ "$(field NoNewPrivs)" = 1 ]; echo $?) "NoNewPrivs is 1"
ok $([ "$(stat -c %U "$STATE")" = "$U" ] && [ -z "$(find "$STATE" ! -user "$U")" ]; echo $?) \
	"the state directory and everything in it belong to $U"
ok $([ "$(stat -c %a "$SOCK")" = 666 ] && [ "$(stat -c %a "$T/run")" = 755 ]; echo $?) \
	"the socket is 0666 in a 0755 directory made for it"

# One event from root's hook, one from the agent user's, each with a peer
# uid in its payload that the record must not believe.
hook() {
	printf '{"session_id":"s-%s","hook_event_name":"UserPromptSubmit","prompt":"from-%s","cwd":"/","peer":{"uid":4242}}' "$1" "$1" |
		VIGIL_SOCKET=$SOCK VIGIL_STATE_DIR=$T/nospool-$1 "${@:2}" "$HOOK" --agent claude-code
}
hook root
ok $? "a hook run as root is answered"
hook agent runuser -u "$A" --
ok $? "a hook run as $A is answered"
VIGIL_SOCKET=$SOCK "$VIGIL" --state-dir "$STATE" status >"$T/out" 2>"$T/err"
ok $([ $? -eq 0 ] && has "2 recorded"; echo $?) "vigil status answers as root: both events recorded"
runuser -u "$A" -- env VIGIL_SOCKET="$SOCK" "$VIGIL" --state-dir "$T" rules reload >"$T/out" 2>"$T/err"
ok $([ $? -ne 0 ] && grep -q "only root and the daemon's user may control" "$STATE/vigild.log"; echo $?) "$A cannot control vigild through the shared socket"
VIGIL_SOCKET=$SOCK "$VIGIL" --state-dir "$STATE" down --timeout 10s >"$T/out" 2>"$T/err"
ok $? "root stops it (vigil down)"
# Each event's peer uid, from the index (read after the daemon stopped).
peer_of() {
	python3 - "$STATE/index.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
q = "SELECT json_extract(json, '$.peer.uid') FROM events WHERE json_extract(json, '$.payload.prompt') = ?"
print(",".join(str(r[0]) for r in db.execute(q, (sys.argv[2],))))
PY
}
ok $([ "$(peer_of from-root)" = 0 ]; echo $?) "root's event has peer uid 0 ($(peer_of from-root))"
ok $([ "$(peer_of from-agent)" = "$UID_A" ]; echo $?) "$A's event has peer uid $UID_A ($(peer_of from-agent))"

# ---- refusals -------------------------------------------------------------------------
# As root without --user on a socket every user reaches (as systemd's
# vigild.socket passes it): refused, unless --allow-root.
# Runs vigild as systemd would, on a 0666 socket as descriptor 3; prints its
# exit status, its stderr in $T/err.
activated() {
	python3 - "$T/act.sock" "$VIGILD" "$T/err" "$@" <<'PY'
import os, socket, subprocess, sys
path, vigild, errf, args = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4:]
if os.path.exists(path):
    os.unlink(path)
s = socket.socket(socket.AF_UNIX)
s.bind(path); os.chmod(path, 0o666); s.listen(8)
os.dup2(s.fileno(), 3)
env = dict(os.environ, LISTEN_FDS="1")
cmd = ["sh", "-c", 'LISTEN_PID=$$ exec "$@"', "sh", vigild] + args
with open(errf, "w") as err:
    try:
        rc = subprocess.run(cmd, env=env, pass_fds=(3,), stdout=subprocess.DEVNULL,
                            stderr=err, stdin=subprocess.DEVNULL, timeout=20).returncode
    except subprocess.TimeoutExpired:
        rc = "timeout"
print(rc)
PY
}
mkdir -m 700 "$T/rootstate"
"$VIGIL" --state-dir "$T/rootstate" keys init >/dev/null 2>&1
rc=$(activated --state-dir "$T/rootstate" --socket "$T/act.sock")
ok $([ "$rc" = 3 ] && has "refusing to run as root in system mode" err && has "--user" err; echo $?) \
	"as root on a socket every user reaches, without --user: refused (exit $rc), naming --user"
# --allow-root says so explicitly: it starts (and is stopped again).
( sleep 3; VIGIL_SOCKET=$T/act.sock "$VIGIL" --state-dir "$T/rootstate" down --timeout 10s >/dev/null 2>&1 ) &
rc=$(activated --state-dir "$T/rootstate" --socket "$T/act.sock" --allow-root)
wait
ok $([ "$rc" = 0 ]; echo $?) "with --allow-root it runs as root (and stops cleanly: exit $rc)"
# Root's own daemon (0600 socket in its own state directory) is user mode: it runs.
"$VIGILD" --daemon --state-dir "$T/rootstate" >"$T/out" 2>"$T/err"
ok $? "root's own vigild (its 0600 socket) starts without --user"
"$VIGIL" --state-dir "$T/rootstate" down --timeout 10s >/dev/null 2>&1
# Not root: --user naming another user is refused; naming oneself is fine.
mkdir -m 700 "$T/astate"
chown "$A:" "$T/astate"
runuser -u "$A" -- "$VIGILD" --user "$U" --state-dir "$T/astate" >"$T/out" 2>"$T/err"
ok $([ $? -eq 3 ] && has "cannot become" err; echo $?) "as $A, --user $U is refused (exit 3)"
runuser -u "$A" -- "$VIGIL" --state-dir "$T/astate" keys init >/dev/null 2>&1
runuser -u "$A" -- "$VIGILD" --daemon --user "$A" --state-dir "$T/astate" >"$T/out" 2>"$T/err"
ok $? "as $A, --user $A starts"
runuser -u "$A" -- "$VIGIL" --state-dir "$T/astate" down --timeout 10s >/dev/null 2>&1
"$VIGILD" --user root --state-dir "$T/rootstate" >"$T/out" 2>"$T/err"
ok $([ $? -eq 3 ] && has "that is root" err; echo $?) "--user root is refused (exit 3)"
"$VIGILD" --user no-such-user-$$ --state-dir "$T/rootstate" >"$T/out" 2>"$T/err"
ok $([ $? -eq 3 ] && has "no such user" err; echo $?) "an unknown user is refused (exit 3)"

echo "1..$n"
[ "$failed" -eq 0 ]
