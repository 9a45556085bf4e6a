#!/usr/bin/env bash
# test_checkpoint_dir.sh - `vigil checkpoint --out-dir DIR`, what the daily
# vigil-verify.timer runs to keep the newest signed checkpoint off the state
# directory: one file per checkpoint, named so that they sort by time, the
# same checkpoint kept once, a different note under the same name never
# replaced, and every kept file accepted by `vigil verify --trusted-checkpoint`.
#
#   test_checkpoint_dir.sh BUILD_DIR FIXTURE
set -u
BUILD=$1
FIXTURE=$2
VIGIL=$BUILD/src/cli/vigil
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-cpdir.XXXXXX")
export VIGIL_STATE_DIR=$T/state
unset VIGIL_SOCKET VIGIL_SIGNING_KEY VIGIL_MAC_KEY
. "$(dirname "$0")/../lib/tap.sh"
trap 'rm -rf "$T"' EXIT

run keys init
ok $rc "keys init"
run checkpoint --out-dir "$T/kept"
ok $([ $rc -eq 1 ] && [ ! -e "$T/kept" ]; echo $?) \
	"no checkpoint yet: exit 1 and nothing kept"

run import "$FIXTURE"
ok $rc "import seals the ledger with a checkpoint"
run checkpoint --out-dir "$T/kept/sub"
files=("$T"/kept/sub/vigil-checkpoint-*.txt)
ok $([ $rc -eq 0 ] && [ ${#files[@]} -eq 1 ] && cmp -s "${files[0]}" "$T/out"; echo $?) \
	"--out-dir creates the directory and keeps the printed note in one file"
name=$(basename "${files[0]}")
ok $(echo "$name" | grep -Eq '^vigil-checkpoint-[0-9]{8}T[0-9]{6}Z-[0-9]+\.txt$'; echo $?) \
	"the file is named vigil-checkpoint-TIME-SEQ.txt ($name)"
ok $([ "$(stat -c %a "${files[0]}")" = 644 ]; echo $?) "the note is 0644 (it holds no secret)"

before=$(stat -c %Y.%i "${files[0]}")
sleep 1
run checkpoint --out-dir "$T/kept/sub"
ok $([ $rc -eq 0 ] && [ "$(ls "$T/kept/sub" | wc -l)" -eq 1 ] &&
	[ "$(stat -c %Y.%i "${files[0]}")" = "$before" ]; echo $?) \
	"the same checkpoint again: kept once, the file untouched"

# A new checkpoint (another import) gets a file of its own; the old one stays.
run import "$FIXTURE"
run checkpoint --out-dir "$T/kept/sub"
ok $([ $rc -eq 0 ] && [ "$(ls "$T/kept/sub" | wc -l)" -eq 2 ]; echo $?) \
	"a newer checkpoint: a second file, the first one kept"
newest=$(ls "$T/kept/sub" | sort | tail -1)
ok $(cmp -s "$T/kept/sub/$newest" "$T/out"; echo $?) "the names sort by time: the last one is the newest note"

args=()
for f in "$T"/kept/sub/*.txt; do args+=(--trusted-checkpoint "$f"); done
run verify "${args[@]}"
ok $([ $rc -eq 0 ] && has "2/2 trusted checkpoints match"; echo $?) "vigil verify accepts every kept checkpoint"

# Another note under the name of the newest: never replaced, exit 1.
sed -i 's/^/x/' "$T/kept/sub/$newest"
cp "$T/kept/sub/$newest" "$T/forged"
run checkpoint --out-dir "$T/kept/sub"
ok $([ $rc -eq 1 ] && has "holds another checkpoint" err && cmp -s "$T/forged" "$T/kept/sub/$newest"; echo $?) \
	"a different note under the same name: not replaced, exit 1"

printf 'x' >"$T/file"
run checkpoint --out-dir "$T/file"
ok $([ $rc -eq 3 ] && has "Not a directory" err; echo $?) "--out-dir naming a file: exit 3"

echo "1..$n"
[ $failed -eq 0 ]
