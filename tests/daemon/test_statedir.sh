#!/usr/bin/env bash
# test_statedir.sh - a state directory another user can change is refused.
# With a 0777 state directory made by another user, root's vigild followed a
# planted vigild.log symlink and appended to a root-only file; VIGIL_SOCKET
# naming a regular file made vigild delete it.  Now vigild, vigil import and
# vigil keys init check the owner and mode of the state directory and what
# they open in it, and refuse with a message naming the path and the fix.
#
# Needs root (it creates a second user and gives it files); skipped otherwise.
#
#   test_statedir.sh BUILD_DIR
set -u
BUILD=$1
VIGIL=$BUILD/src/cli/vigil
VIGILD=$BUILD/src/daemon/vigild
if [ "$(id -u)" -ne 0 ] || ! command -v useradd >/dev/null; then
	echo "1..0 # SKIP needs root and useradd (creates and removes a second user)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-statedir.XXXXXX")
chmod 755 "$T" # the other user must reach its directories below
U=vgt$$
unset VIGIL_STATE_DIR VIGIL_SOCKET VIGIL_SIGNING_KEY VIGIL_MAC_KEY
. "$(dirname "$0")/../lib/tap.sh"
cleanup() {
	for s in "$T"/*/; do "$VIGIL" --state-dir "$s" down --timeout 5s >/dev/null 2>&1; done
	userdel "$U" >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT
useradd --no-create-home --shell /usr/sbin/nologin "$U" || { echo "1..0 # SKIP useradd failed"; exit 0; }
OTHER=$(id -u "$U")

# A state directory with keys, made the ordinary way.
fresh() {
	rm -rf "$T/$1"
	"$VIGIL" --state-dir "$T/$1" keys init >/dev/null 2>&1
}
# Starts vigild on state dir $1 (more arguments follow); output in $T/out and $T/err.
vigild() {
	local s=$1
	shift
	"$VIGILD" --state-dir "$T/$s" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}

# ---- the reported case: another user's 0777 state directory, a planted log symlink ----
fresh evil
printf 'root only\n' >"$T/victim"
chmod 600 "$T/victim"
chown -R "$U" "$T/evil"
chmod 777 "$T/evil"
runuser -u "$U" -- ln -s "$T/victim" "$T/evil/vigild.log"
vigild evil --daemon
ok $([ $rc -eq 3 ] && has "owned by uid $OTHER" err && has "$T/evil" err && has "chown" err; echo $?) \
	"another user's state directory: vigild refuses (exit 3), naming the path, the owner and the fix"
ok $([ "$(cat "$T/victim")" = "root only" ]; echo $?) "the root-only file the planted log points to is untouched"
ok $([ ! -e "$T/evil/vigild.pid" ] && [ ! -e "$T/evil/ledger" ]; echo $?) "nothing was created in it"

# ---- each rule on its own, in a directory of root's --------------------------------------
fresh mode
chmod 777 "$T/mode"
vigild mode
ok $([ $rc -eq 3 ] && has "writable by group or others (mode 0777)" err && has "chmod go-w '$T/mode'" err; echo $?) \
	"a 0777 state directory of root's: refused (chmod go-w)"

fresh link
ln -s "$T/victim" "$T/link/vigild.log"
vigild link --daemon
ok $([ $rc -eq 3 ] && has "'$T/link/vigild.log' is a symbolic link" err && [ "$(cat "$T/victim")" = "root only" ]; echo $?) \
	"a symlink planted as vigild.log: refused, the target untouched"

fresh keys
chmod 755 "$T/keys/keys"
vigild keys
ok $([ $rc -eq 3 ] && has "'$T/keys/keys' is open to group or others (mode 0755); it must be 0700" err; echo $?) \
	"keys/ at 0755: refused (it must be 0700)"

fresh ledger
mkdir -m 700 "$T/ledger/ledger"
chown "$U" "$T/ledger/ledger"
vigild ledger
ok $([ $rc -eq 3 ] && has "'$T/ledger/ledger' is owned by uid $OTHER" err; echo $?) \
	"ledger/ owned by another user: refused"
run --state-dir "$T/ledger" import /dev/null
ok $([ $rc -ne 0 ] && has "owned by uid $OTHER" err; echo $?) "vigil import refuses it too"

fresh seg
"$VIGILD" --state-dir "$T/seg" --daemon >/dev/null 2>&1 && "$VIGIL" --state-dir "$T/seg" down >/dev/null 2>&1
chown "$U" "$T/seg/ledger/0000000001.seg"
vigild seg
ok $([ $rc -eq 3 ] && has "0000000001.seg' is owned by uid $OTHER" err; echo $?) \
	"a segment owned by another user: refused"

mkdir -m 777 "$T/k"
chown "$U" "$T/k"
run --state-dir "$T/k" keys init
ok $([ $rc -ne 0 ] && has "owned by uid $OTHER" err && [ ! -e "$T/k/keys" ]; echo $?) \
	"vigil keys init refuses another user's directory and writes no key"

# ---- --socket naming a regular file -----------------------------------------------------
fresh sock
printf 'keep me\n' >"$T/precious"
vigild sock --socket "$T/precious"
ok $([ $rc -eq 3 ] && has "'$T/precious' exists and is not a socket; refusing to remove it" err &&
	[ "$(cat "$T/precious")" = "keep me" ]; echo $?) \
	"--socket naming a regular file: refused, the file is kept"
VIGIL_SOCKET=$T/precious "$VIGILD" --state-dir "$T/sock" >"$T/out" 2>"$T/err"
ok $([ $? -eq 3 ] && [ "$(cat "$T/precious")" = "keep me" ]; echo $?) "VIGIL_SOCKET naming it: the same"

# ---- what vigild makes is the user's alone ------------------------------------------------
fresh good
vigild good --daemon
ok $rc "a state directory of root's own, as vigil makes it: vigild starts"
ok $([ "$(stat -c %a "$T/good/ledger")" = 700 ] && [ "$(stat -c %a "$T/good/keys")" = 700 ] &&
	[ "$(stat -c %a "$T/good/ledger.head")" = 600 ]; echo $?) "ledger/ and keys/ are 0700, the head file 0600"
runuser -u "$U" -- rm -f "$T/good/vigild.sock" 2>/dev/null
runuser -u "$U" -- mv "$T/good/ledger" "$T/good/ledger.x" 2>/dev/null
ok $([ -S "$T/good/vigild.sock" ] && [ -d "$T/good/ledger" ]; echo $?) \
	"the other user can neither remove the socket nor rename ledger/"
"$VIGIL" --state-dir "$T/good" down >/dev/null 2>&1
vigild good --daemon
ok $rc "and vigild starts again on it (its own stale socket is replaced)"

echo "1..$n"
[ "$failed" -eq 0 ]
