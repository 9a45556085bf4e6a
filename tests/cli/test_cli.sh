#!/usr/bin/env bash
# test_cli.sh - drives the real `vigil` binary end to end: keys, import, checkpoint and
# verify, good input and bad, intact ledgers and tampered copies.  Prints TAP.
#
# usage: test_cli.sh PATH/TO/vigil PATH/TO/tests/data
set -u

VIGIL=${1:?usage: test_cli.sh VIGIL DATA_DIR}
DATA=${2:?usage: test_cli.sh VIGIL DATA_DIR}
FIXTURE="$DATA/claude-code-2.1.197/session-rich.hooks.jsonl"
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-cli-XXXXXX")
trap 'rm -rf "$T"' EXIT
export VIGIL_STATE_DIR="$T/state"
export NO_COLOR=1
unset VIGIL_SIGNING_KEY VIGIL_MAC_KEY

. "$(dirname "$0")/../lib/tap.sh"
json_get() { # json_get EXPR: evaluates a Python expression on the JSON in $T/out as j
	python3 -c "import json,sys; j=json.load(open('$T/out')); print($1)"
}

# ---- help and usage -------------------------------------------------------------------
run --help
ok $((rc != 0)) "vigil --help exits 0"
has "verify" && has "import"
ok $? "vigil --help lists the commands"
run --version
has "^vigil [0-9]"
ok $? "vigil --version prints the version"
run frobnicate
[ $rc -eq 2 ] && has "no such command 'frobnicate'" err
ok $? "an unknown command exits 2 with a clear message"
run verify --help
[ $rc -eq 0 ] && has "Exit status"
ok $? "vigil verify --help documents exit codes"
run help import
[ $rc -eq 0 ] && has "strict"
ok $? "vigil help import shows the import options"
run import
[ $rc -eq 2 ] && has "give one or more files" err
ok $? "import with no files is a usage error"
run verify --bogus
[ $rc -eq 3 ]
ok $? "verify usage errors exit 3 (2 means incomplete for verify)"
run verify extra
[ $rc -eq 3 ] && has "unexpected argument 'extra'" err
ok $? "verify takes no operand (exit 3)"
run verify --max-gap 0
[ $rc -eq 3 ] && has "max-gap: '0' is not a duration" err
ok $? "verify --max-gap 0 is a usage error (exit 3)"
args=()
for i in $(seq 65); do args+=(--trusted-checkpoint "$T/cp$i"); done
run verify "${args[@]}"
[ $rc -eq 3 ] && has "at most 64 trusted checkpoints" err
ok $? "at most 64 trusted checkpoints (exit 3)"
run checkpoint extra
[ $rc -eq 2 ] && has "unexpected argument 'extra'" err
ok $? "checkpoint takes no operand (exit 2)"

# ---- keys --------------------------------------------------------------------------------
run import "$FIXTURE"
[ $rc -eq 3 ] && has "keys init" err
ok $? "import before keys exist says to run 'vigil keys init'"
run keys init --epoch 15m --verify-key-out "$T/verify.key" --json
ok $rc "keys init succeeds"
fp=$(json_get "j['fingerprint']" 2>/dev/null)
[ -n "$fp" ] && [ "$(json_get "j['epoch_seconds']")" = 900 ]
ok $? "keys init --json reports the fingerprint and the epoch length"
[ "$(stat -c %a "$VIGIL_STATE_DIR/keys/signing.key")" = 600 ] &&
	[ "$(stat -c %a "$VIGIL_STATE_DIR/keys/mac.key")" = 600 ] &&
	[ "$(stat -c %a "$T/verify.key")" = 600 ]
ok $? "secret key files are mode 0600"
grep -q '^vigil-mac-v1:[0-9]*:900:0:[0-9a-f]\{64\}$' "$T/verify.key"
ok $? "the verification key file holds the epoch-0 MAC key"
run keys init
[ $rc -eq 1 ] && has "already exist" err
ok $? "keys init refuses to replace keys without --force"
run keys show
[ $rc -eq 0 ] && has "$fp"
ok $? "keys show prints the same fingerprint"
run keys show --json
[ "$(json_get "j['fingerprint']")" = "$fp" ] && [ "$(json_get "j['key_epoch']")" = 0 ]
ok $? "keys show --json is machine-readable"

# ---- import --------------------------------------------------------------------------------
run import "$FIXTURE"
[ $rc -eq 0 ] && has "Imported 24 events"
ok $? "import of a recorded Claude Code session: 24 events"
run checkpoint --out "$T/cp1"
[ $rc -eq 0 ] && head -1 "$T/out" | grep -q '^vigil/ledger/[0-9a-f]\{32\}$' && cmp -s "$T/out" "$T/cp1"
ok $? "checkpoint prints a signed note and --out saves the same"
[ "$(sed -n 2p "$T/cp1")" = 24 ]
ok $? "the checkpoint covers the 24 imported events"
run checkpoint --json
[ "$(json_get "j['seq']")" = 24 ] && [ "$(json_get "j['record_seq']")" = 25 ]
ok $? "checkpoint --json gives the covered seq and the checkpoint record"
grep -q '"event_type":"command_execution"' "$VIGIL_STATE_DIR"/ledger/*.seg &&
	grep -q '"schema":"vigil.event.v1"' "$VIGIL_STATE_DIR"/ledger/*.seg
ok $? "imported hook payloads went through the normalizer (schema v1 events)"
printf '%s\n' '{"session_id":"s","cwd":"/tmp","hook_event_name":"PreToolUse","tool_name":"Bash","tool_input":{"command":"AWS_SECRET_ACCESS_KEY=abcdEFGH1234abcdEFGH1234 ls"},"tool_use_id":"t"}' >"$T/secret.jsonl"
run import "$T/secret.jsonl"
[ $rc -eq 0 ] && ! grep -q abcdEFGH1234 "$VIGIL_STATE_DIR"/ledger/*.seg
ok $? "secrets in imported hook payloads are redacted before they reach the ledger"
run import --agent nosuch "$T/secret.jsonl"
[ $rc -eq 2 ] && has "unknown agent" err
ok $? "import --agent refuses an unknown agent"

printf '{"ok":1}\nnot json\n[1,2]\n{"schema":"vigil.event.v1","id":7}\n\n{"ok":2}\n{"dup":1,"dup":2}\n{"ok":3}' >"$T/mixed.jsonl"
run import --json "$T/mixed.jsonl"
[ $rc -eq 1 ] && [ "$(json_get "j['imported']")" = 3 ] && [ "$(json_get "j['skipped']")" = 4 ]
ok $? "bad lines are skipped, counted, and make the exit status 1"
[ "$(json_get "[b['line'] for b in j['bad_lines']]")" = "[2, 3, 4, 7]" ]
ok $? "bad lines are reported with their line numbers"
grep -q "mixed.jsonl:2: invalid JSON" "$T/err"
ok $? "bad lines are reported as FILE:LINE on stderr"
run import --strict --json "$T/mixed.jsonl"
[ $rc -eq 1 ] && [ "$(json_get "j['imported']")" = 1 ] && [ "$(json_get "j['stopped']")" = True ]
ok $? "--strict stops at the first bad line and keeps what came before"
printf '{"long":"%s"}\n' "$(head -c 300 /dev/zero | tr '\0' 'a')" >"$T/long.jsonl"
echo '{"short":1}' >>"$T/long.jsonl"
run import --max-line 100 "$T/long.jsonl"
[ $rc -eq 1 ] && has "longer than 100 bytes" err && has "Imported 1 event"
ok $? "lines longer than --max-line are refused and the next line still imported"
printf '{"from":"stdin"}\n' | "$VIGIL" import - >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && has "Imported 1 event"
ok $? "import reads standard input with -"
run import "$T/does-not-exist.jsonl"
[ $rc -eq 3 ] && has "cannot read" err
ok $? "a missing input file is an error (exit 3) before anything is written"

run keys init --force
[ $rc -eq 1 ] && has "move it aside" err
ok $? "keys init --force refuses to orphan an existing ledger"
run keys show --json
[ "$(json_get "j['fingerprint']")" = "$fp" ]
ok $? "the keys are unchanged after the refused --force"

# Key material from a command and from the environment.
run import --signing-key "cmd:cat $VIGIL_STATE_DIR/keys/signing.key" "$FIXTURE"
[ $rc -eq 0 ]
ok $? "the signing key can come from a command (cmd:)"
VIGIL_SIGNING_KEY="env:VIGIL_TEST_SK" VIGIL_TEST_SK="$(cat "$VIGIL_STATE_DIR/keys/signing.key")" \
	"$VIGIL" import "$FIXTURE" >"$T/out" 2>"$T/err"
[ $? -eq 0 ]
ok $? "the signing key can come from an environment variable (env:)"
run import --signing-key "cmd:false" "$FIXTURE"
[ $rc -eq 3 ] && has "key command failed" err
ok $? "a failing key command is a clear error"
cp "$VIGIL_STATE_DIR/keys/signing.key" "$T/open.key" && chmod 644 "$T/open.key"
run import --signing-key "$T/open.key" "$FIXTURE"
[ $rc -eq 3 ] && has "readable by group or others" err
ok $? "a key file readable by others is refused"

# One writer at a time.
mkfifo "$T/fifo"
"$VIGIL" import "$T/fifo" >"$T/first.out" 2>&1 &
first=$!
for _ in $(seq 50); do
	grep -q "^pid $first," "$VIGIL_STATE_DIR/ledger/LOCK" 2>/dev/null && break
	sleep 0.1
done
run import "$FIXTURE"
[ $rc -eq 3 ] && has "in use by another writer (pid $first" err
ok $? "a second writer is refused and the holder is named"
echo '{"via":"fifo"}' >"$T/fifo"
wait $first
ok $? "the first writer finishes normally"

# ---- verify --------------------------------------------------------------------------------
run checkpoint --out "$T/cp2"
run verify --mac-key "$T/verify.key" --trusted-checkpoint "$T/cp1" --trusted-checkpoint "$T/cp2" --require-sealed
[ $rc -eq 0 ] && has "Result       OK" && has "Trusted      2/2"
ok $? "verify: intact, sealed, MAC and both trusted checkpoints check out"
grep -q $'\033' "$T/out"
ok $((!$?)) "no colour codes when NO_COLOR is set and stdout is not a terminal"
run verify --json --mac-key "$T/verify.key"
[ "$(json_get "j['result']")" = OK ] && [ "$(json_get "j['checkpoints']['mac_ok'] == j['checkpoints']['total'] > 0")" = True ]
ok $? "verify --json reports every checkpoint's MAC as valid"
run verify --quiet --max-gap 1d
[ $rc -eq 0 ] && [ "$(wc -l <"$T/out")" -eq 1 ] && has "^Result       OK"
ok $? "verify --quiet prints only the result line"

L="$VIGIL_STATE_DIR/ledger"
seg="$L/0000000001.seg"
size=$(stat -c %s "$seg")

# A changed byte in a copy.
rm -rf "$T/copy" && cp -r "$L" "$T/copy"
printf 'Z' | dd of="$T/copy/0000000001.seg" bs=1 seek=$((size / 2)) conv=notrunc 2>/dev/null
run verify --ledger "$T/copy" --json
[ $rc -eq 1 ] && [ "$(json_get "j['result']")" = TAMPERED ] && [ "$(json_get "len(j['findings']) > 0")" = True ]
ok $? "one changed byte: TAMPERED, exit 1, with a finding"
[ "$(json_get "j['findings'][0]['offset'] <= $((size / 2))")" = True ] && [ "$(json_get "j['findings'][0]['seq'] > 0")" = True ]
ok $? "the finding names the offset and seq of the damaged record"

# Cut the tail against a trusted checkpoint.
rm -rf "$T/copy" && cp -r "$L" "$T/copy"
truncate -s $((size - 2000)) "$T/copy/0000000001.seg"
run verify --ledger "$T/copy" --trusted-checkpoint "$T/cp2"
[ $rc -eq 1 ] && has "TRUNCATED"
ok $? "a cut tail is TRUNCATED against a trusted checkpoint"
run verify --ledger "$T/copy"
[ $rc -eq 2 ] && has "TORN_TAIL"
ok $? "without a trusted checkpoint the same cut shows as a torn tail (exit 2)"

# Remove only the final seal: the records are intact but unsealed.
last_off=$(python3 - "$seg" <<'EOF'
import struct, sys
d = open(sys.argv[1], 'rb').read()
off, last = 96, 96
while off + 4 <= len(d):
    n = struct.unpack_from('<I', d, off)[0]
    if n < 60 or off + n > len(d):
        break
    last, off = off, off + n
print(last)
EOF
)
rm -rf "$T/copy" && cp -r "$L" "$T/copy"
truncate -s "$last_off" "$T/copy/0000000001.seg"
run verify --ledger "$T/copy"
[ $rc -eq 0 ] && has "Unsealed"
ok $? "an unsealed tail is reported but passes without --require-sealed"
run verify --ledger "$T/copy" --require-sealed
[ $rc -eq 2 ] && has "UNSEALED"
ok $? "an unsealed tail is INCOMPLETE (exit 2) with --require-sealed"

# Another key.
mkdir -p "$T/other"
VIGIL_STATE_DIR="$T/other" "$VIGIL" keys init >/dev/null 2>&1
run verify --public-key "$T/other/keys/signing.pub"
[ $rc -eq 1 ] && has "SIGNATURE_UNKNOWN_KEY"
ok $? "verifying with another public key reports SIGNATURE_UNKNOWN_KEY"
run verify --mac-key "$T/other/keys/mac.key"
[ $rc -eq 1 ] && has "MAC_BAD"
ok $? "verifying with another MAC key reports MAC_BAD"

# Errors.
run verify --ledger "$T/nowhere"
[ $rc -eq 3 ] && has "ERROR"
ok $? "a missing ledger directory: exit 3"
echo "not a checkpoint" >"$T/bad-cp"
run verify --trusted-checkpoint "$T/bad-cp"
[ $rc -eq 3 ] && has "trusted checkpoint 1" out
ok $? "a malformed trusted checkpoint: exit 3 with the reason"
run verify --public-key "$T/bad-cp"
[ $rc -eq 3 ] && has "not a vigil public key" err
ok $? "a malformed public key: exit 3 with the reason"
mkdir -p "$T/garbage" && head -c 5000 /dev/urandom >"$T/garbage/0000000001.seg"
run verify --ledger "$T/garbage"
[ $rc -eq 1 ] && has "SEGMENT_HEADER"
ok $? "a garbage segment file is reported, not a crash"

rm -rf "$T/copy" && cp -r "$L" "$T/copy" && mkdir "$T/copy/0000000002.seg"
run verify --ledger "$T/copy"
[ $rc -eq 1 ] && has "not a regular file"
ok $? "a directory posing as a segment is reported, not a crash"

echo "1..$n"
[ $failed -eq 0 ]
