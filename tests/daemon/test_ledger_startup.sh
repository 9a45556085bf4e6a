#!/usr/bin/env bash
# test_ledger_startup.sh - what vigild does at start-up with a ledger someone
# changed while it was down: records appended without the key (a forged
# tail) are recorded as unvouched, never sealed as vigild's own, and alerted
# on; a ledger cut back to an earlier checkpoint, or with every segment
# deleted, raises a critical alert, is recorded, and the index no longer
# hides new events that reuse the missing seqs.
#
#   test_ledger_startup.sh BUILD_DIR
set -u
BUILD=$1
VIGIL=$BUILD/src/cli/vigil
HOOK=$BUILD/src/hook/vigil-hook
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-ledgerstart.XXXXXX")
export VIGIL_STATE_DIR=$T/state
unset VIGIL_SOCKET VIGIL_SIGNING_KEY VIGIL_MAC_KEY
LEDGER=$VIGIL_STATE_DIR/ledger
. "$(dirname "$0")/../lib/tap.sh"
cleanup() {
	"$VIGIL" down --timeout 5s >/dev/null 2>&1
	rm -rf "$T"
}
trap cleanup EXIT

sql() {
	python3 - "$VIGIL_STATE_DIR/index.db" "$1" <<'PY'
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute(sys.argv[2]).fetchone()[0])
PY
}
marked() { sql "SELECT count(*) FROM events WHERE json_extract(json, '\$.payload.prompt') LIKE '$1'"; }
# Waits until the index has caught up with every event the daemon recorded.
settle() {
	local end=$((SECONDS + 60))
	while [ $SECONDS -lt $end ]; do
		if "$VIGIL" status --json >"$T/st.json" 2>/dev/null &&
			python3 -c "import json,sys; j=json.load(open('$T/st.json')); i = j['index']; sys.exit(0 if i['synced'] and i['pending'] == 0 and i['last_seq'] >= j['ledger']['last_event_seq'] else 1)"; then
			return 0
		fi
		sleep 0.1
	done
	echo "# settle: gave up; last status:"
	sed 's/^/# /' "$T/st.json"
	return 1
}
send() { # send PREFIX FROM TO
	for i in $(seq "$2" "$3"); do
		printf '{"session_id":"s","cwd":"/tmp","hook_event_name":"UserPromptSubmit","prompt":"%s-%d"}' "$1" "$i" | "$HOOK"
	done
}
# Appends N records to the last segment that continue the chain: the right
# seq, previous hash and CRC, as anyone with write access can.  Prints the
# first seq.
forge() {
	python3 - "$LEDGER" "$1" <<'PY'
import glob, hashlib, struct, sys, zlib
seg = sorted(glob.glob(sys.argv[1] + "/*.seg"))[-1]
buf = open(seg, "rb").read()
off, last = 96, None
while off + 4 <= len(buf):
    flen = struct.unpack_from("<I", buf, off)[0]
    if flen < 60 or off + flen > len(buf):
        break
    last, off = (off, flen), off + flen
o, fl = last
prev = hashlib.sha256(b"\0" + buf[o:o + fl - 4]).digest()
seq = struct.unpack_from("<Q", buf, o + 8)[0] + 1
t = struct.unpack_from("<Q", buf, o + 16)[0] + 1000
first, out = seq, b""
for i in range(int(sys.argv[2])):
    p = b'{"event_type":"user_prompt","forged":%d,"id":"0190a000-0000-7000-8000-%012d"}' % (i, i)
    body = struct.pack("<IBBHQQ", 60 + len(p), 1, 0, 0, seq, t) + prev + p
    out += body + struct.pack("<I", zlib.crc32(body) & 0xffffffff)
    prev = hashlib.sha256(b"\0" + body).digest()
    seq += 1
open(seg, "ab").write(out)
print(first)
PY
}
# Cuts the last segment right after the last checkpoint (type 2) before the
# first record holding TEXT.  Prints the seq of that checkpoint.
cut_before() {
	python3 - "$LEDGER" "$1" <<'PY'
import glob, struct, sys
seg = sorted(glob.glob(sys.argv[1] + "/*.seg"))[-1]
buf = open(seg, "rb").read()
off, cut, seq = 96, None, None
while off + 4 <= len(buf):
    flen = struct.unpack_from("<I", buf, off)[0]
    if flen < 60 or off + flen > len(buf):
        break
    if sys.argv[2].encode() in buf[off:off + flen]:
        break
    if buf[off + 4] == 2:
        cut, seq = off + flen, struct.unpack_from("<Q", buf, off + 8)[0]
    off += flen
open(seg, "r+b").truncate(cut)
print(seq)
PY
}

# ---- a forged tail -------------------------------------------------------------------
run up
ok $rc "vigild starts"
send first 1 10 >/dev/null
settle
run down
ok $rc "and stops (the ledger is sealed)"
forged=$(forge 3)
ok $? "3 records forged after the last seal, with no key (from seq $forged)"
run up
ok $rc "vigild starts again"
send second 1 2 >/dev/null
settle
run verify --require-sealed
ok $([ $rc -eq 2 ] && has "UNVOUCHED" && has "records seq $forged\.\.$((forged + 2))"; echo $?) \
	"verify --require-sealed: exit 2, UNVOUCHED seq $forged..$((forged + 2)) (it passed before)"
run verify
ok $([ $rc -eq 2 ] && has "Unvouched    3 records"; echo $?) "without --require-sealed too (exit 2, an Unvouched line)"
ok $([ "$(sql "SELECT count(*) FROM alerts WHERE rule_id = 'vigil-ledger-unvouched' AND level = 'high'")" = 1 ]; echo $?) \
	"a high alert vigil-ledger-unvouched is open"

# ---- cut back to an earlier checkpoint -----------------------------------------------
sleep 1.5 # a checkpoint after the second batch
send keep 1 5 >/dev/null
sleep 1.5
send gone 1 24 >/dev/null
settle
ok $([ "$(marked 'gone-%')" = 24 ]; echo $?) "24 events indexed"
run down
cp=$(cut_before '"prompt":"gone-1"')
ok $([ -n "$cp" ]; echo $?) "the ledger cut back to the checkpoint at seq $cp, before the 24"
run up
ok $rc "vigild starts on the cut ledger"
send after 1 24 >/dev/null
settle
ok $([ "$(marked 'after-%')" = 24 ] && [ "$(marked 'gone-%')" = 0 ]; echo $?) \
	"the 24 new events reusing the missing seqs are all indexed, the 24 gone are not"
ok $([ "$(sql "SELECT count(*) FROM alerts WHERE rule_id = 'vigil-ledger-truncated' AND level = 'critical' AND state = 'open'")" = 1 ]; echo $?) \
	"a critical alert vigil-ledger-truncated is open"
ok $(ls "$VIGIL_STATE_DIR"/index.db.stale-* >/dev/null 2>&1; echo $?) "the old index is kept aside"
run verify --quiet
ok $([ $rc -eq 1 ] && has "TRUNCATED" && has "seq $((cp + 1))"; echo $?) \
	"verify, with no trusted checkpoint: TRUNCATED from seq $((cp + 1)) (exit 1)"

# ---- every segment deleted ----------------------------------------------------------
run down
rm -f "$LEDGER"/*.seg
run up
ok $rc "vigild starts with every segment deleted (a new ledger)"
send fresh 1 5 >/dev/null
settle
ok $([ "$(marked 'fresh-%')" = 5 ] && [ "$(marked 'after-%')" = 0 ]; echo $?) \
	"the new events are indexed, none of the old ledger's remain"
ok $([ "$(sql "SELECT count(*) FROM alerts WHERE rule_id = 'vigil-ledger-truncated' AND level = 'critical'")" -ge 1 ]; echo $?) \
	"the critical alert is raised again"
run verify --quiet
ok $([ $rc -eq 1 ] && has "TRUNCATED"; echo $?) "verify of the new ledger: TRUNCATED (exit 1)"

# ---- a clean restart finds nothing ------------------------------------------------
stale() { ls "$VIGIL_STATE_DIR" | grep -c '^index\.db\.stale-[0-9]*$'; }
before=$(stale)
truncated=$(sql "SELECT count(*) FROM alerts WHERE rule_id LIKE 'vigil-ledger-%'")
run down
run up
settle
ok $([ $rc -eq 0 ] && [ "$(stale)" = "$before" ] &&
	[ "$(sql "SELECT count(*) FROM alerts WHERE rule_id LIKE 'vigil-ledger-%'")" = "$truncated" ]; echo $?) \
	"a clean restart raises nothing new and moves no index"

echo "1..$n"
[ "$failed" -eq 0 ]
