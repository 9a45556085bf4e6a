#!/usr/bin/env bash
# test_symbols.sh - each library exports only names with its own prefix: a
# public one (declared in its header) or its internal one (declared in its
# _int.h), so a name says which library it belongs to and which side of the
# header it is on.
#
#   test_symbols.sh NM LIB PREFIX... -- one library and its allowed prefixes
set -u
nm_tool=$1
shift
n=0
fail=0
while [[ $# -gt 0 ]]; do
	lib=$1
	shift
	prefixes=()
	while [[ $# -gt 0 && $1 != -- ]]; do
		prefixes+=("$1")
		shift
	done
	[[ $# -gt 0 ]] && shift
	re="^($(IFS='|'; echo "${prefixes[*]}"))"
	# Defined global symbols; sanitizer bookkeeping symbols are not ours.
	bad=$("$nm_tool" -g --defined-only "$lib" 2>/dev/null |
		awk 'NF == 3 && $2 ~ /[TDRBC]/ { print $3 }' |
		grep -v '^__odr_asan\|^__asan\|^__ubsan' | grep -Ev "$re" | sort -u | tr '\n' ' ')
	n=$((n + 1))
	if [[ -z $bad ]]; then
		echo "ok $n - $(basename "$lib"): every exported name starts with ${prefixes[*]}"
	else
		echo "not ok $n - $(basename "$lib"): names without its prefix: $bad"
		fail=1
	fi
done
echo "1..$n"
exit $fail
