#!/usr/bin/env bash
# test_state.sh - the state directory as the commands find it: a relative --state-dir (or
# $VIGIL_STATE_DIR) works with `vigil up` and with vigild itself, which change directory
# before they use it.  Prints TAP.
#
# usage: test_state.sh PATH/TO/vigil PATH/TO/vigild
set -u

VIGIL=${1:?usage: test_state.sh VIGIL VIGILD}
VIGILD=${2:?usage: test_state.sh VIGIL VIGILD}
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-state-XXXXXX")
cleanup() {
	for d in "$T/rel" "$T/envrel" "$T/byd"; do
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

echo "1..$n"
[ "$failed" -eq 0 ]
