#!/usr/bin/env bash
# test_state.sh - the state directory as the commands find it: a relative --state-dir (or
# $VIGIL_STATE_DIR) works with `vigil up` and with vigild itself, which change directory
# before they use it; a state directory, socket or index the user may not read is reported
# as "permission denied" with the path, never as "not running" or "nothing recorded yet".
# The permission cases run vigil as a second user (nobody) when the test runs as root, and
# are skipped otherwise.  Prints TAP.
#
# usage: test_state.sh PATH/TO/vigil PATH/TO/vigild
set -u

VIGIL=${1:?usage: test_state.sh VIGIL VIGILD}
VIGILD=${2:?usage: test_state.sh VIGIL VIGILD}
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-state-XXXXXX")
cleanup() {
	for d in "$T/rel" "$T/envrel" "$T/byd" "$T/shared"; do
		[ -d "$d" ] && "$VIGIL" --state-dir "$d" down --timeout 5s >/dev/null 2>&1
	done
	rm -rf "$T"
}
trap cleanup EXIT
unset VIGIL_STATE_DIR VIGIL_SOCKET VIGIL_SIGNING_KEY VIGIL_MAC_KEY VIGIL_CONFIG
export NO_COLOR=1

. "$(dirname "$0")/../lib/tap.sh"
# in_t ARGS...: runs vigil from $T (relative paths are relative to it).
in_t() {
	(cd "$T" && "$VIGIL" "$@") >"$T/out" 2>"$T/err"
	rc=$?
}

# ---- a relative state directory ------------------------------------------------------------
in_t --state-dir rel up
[ $rc -eq 0 ] && has "state $T/rel"
ok $? "vigil --state-dir rel up starts vigild (exit 0) on the absolute \$PWD/rel"
run --state-dir "$T/rel" status
[ $rc -eq 0 ] && has "state dir   $T/rel"
ok $? "the daemon it started answers for that directory"
in_t --state-dir rel status
[ $rc -eq 0 ]
ok $? "vigil status with the same relative --state-dir finds it"
in_t down --state-dir rel
[ $rc -eq 0 ] && has "vigild stopped"
ok $? "vigil down with a relative --state-dir stops it"

(cd "$T" && VIGIL_STATE_DIR=envrel "$VIGIL" up) >"$T/out" 2>"$T/err"
rc=$?
[ $rc -eq 0 ] && has "state $T/envrel"
ok $? "a relative \$VIGIL_STATE_DIR works with vigil up too"
"$VIGIL" --state-dir "$T/envrel" down >/dev/null 2>&1

"$VIGIL" --state-dir "$T/byd" keys init >/dev/null 2>&1
(cd "$T" && "$VIGILD" --state-dir byd --daemon) >"$T/out" 2>"$T/err"
rc=$?
run --state-dir "$T/byd" status
[ $rc -eq 0 ] && has "state dir   $T/byd"
ok $? "vigild --state-dir rel --daemon resolves it before it changes directory"
run --state-dir "$T/byd" down

# ---- permission errors -----------------------------------------------------------------------
# as_other ARGS...: runs vigil as nobody (stdout in $T/out, stderr in $T/err).
as_other() {
	setpriv --reuid=65534 --regid=65534 --clear-groups -- "$VIGIL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
skip_perm() {
	for what in "$@"; do
		echo "ok $((n += 1)) - $what # SKIP needs root to run vigil as another user"
	done
}
PERM_TESTS=("status on a state directory nobody may enter: permission denied, exit 3"
	"events there: permission denied, not 'nothing recorded yet'"
	"keys show there: permission denied, not 'no keys'"
	"status on a socket nobody may connect to: permission denied with its path"
	"down on it: permission denied, not 'not running'"
	"events on an unreadable index: permission denied with its path")
if [ "$(id -u)" -ne 0 ] || ! command -v setpriv >/dev/null ||
	! setpriv --reuid=65534 --regid=65534 --clear-groups -- "$VIGIL" --version >/dev/null 2>&1; then
	skip_perm "${PERM_TESTS[@]}"
else
	chmod 755 "$T"
	S="$T/shared"
	"$VIGIL" --state-dir "$S" up >/dev/null 2>&1 &&
		"$VIGIL" --state-dir "$S" import /dev/null >/dev/null 2>&1
	"$VIGIL" --state-dir "$S" reindex >/dev/null 2>&1
	chmod 700 "$S"

	as_other --state-dir "$S" status
	[ $rc -eq 3 ] && has "permission denied" err && has "$S" err && ! has "not running" &&
		! has "not running" err
	ok $? "${PERM_TESTS[0]}"
	as_other --state-dir "$S" events
	[ $rc -eq 3 ] && has "permission denied" err && ! has "nothing recorded" err
	ok $? "${PERM_TESTS[1]}"
	as_other --state-dir "$S" keys show
	[ $rc -eq 3 ] && has "permission denied" err && ! has "no keys" err
	ok $? "${PERM_TESTS[2]}"

	# The directory may be entered, but the socket (0600 or so) and the index are root's.
	chmod 755 "$S"
	chmod 600 "$S/index.db"
	chmod go-rwx "$S/vigild.sock"
	as_other --state-dir "$S" status
	[ $rc -eq 3 ] && has "permission denied: cannot connect to vigild's socket '$S/vigild.sock'" err &&
		! has "not running"
	ok $? "${PERM_TESTS[3]}"
	as_other --state-dir "$S" down
	[ $rc -eq 3 ] && has "permission denied" err && ! has "not running"
	ok $? "${PERM_TESTS[4]}"
	as_other --state-dir "$S" events
	[ $rc -eq 3 ] && has "permission denied: cannot read the index '$S/index.db'" err
	ok $? "${PERM_TESTS[5]}"
	"$VIGIL" --state-dir "$S" down >/dev/null 2>&1
fi

echo "1..$n"
[ "$failed" -eq 0 ]
