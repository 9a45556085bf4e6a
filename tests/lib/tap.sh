# tests/lib/tap.sh - TAP helpers shared by the shell tests.  Source it after
# setting T (the test's temporary directory) and VIGIL (the vigil binary):
#
#   ok STATUS NAME    one TAP line; on failure, $T/out and $T/err as diagnostics
#   run ARGS...       runs vigil: stdout in $T/out, stderr in $T/err, status in $rc
#   has TEXT [err]    whether $T/out (or $T/err) contains TEXT
#
# The caller prints the plan at the end: echo "1..$n"; and exits non-zero
# when $failed is.
n=0
failed=0
ok() {
	n=$((n + 1))
	if [ "$1" -eq 0 ]; then
		echo "ok $n - $2"
	else
		echo "not ok $n - $2"
		failed=$((failed + 1))
		[ -f "$T/out" ] && sed 's/^/#   out: /' "$T/out" | head -20
		[ -f "$T/err" ] && sed 's/^/#   err: /' "$T/err" | head -20
	fi
	return 0
}
run() {
	"$VIGIL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
has() { grep -q -- "$1" "$T/${2:-out}"; }
