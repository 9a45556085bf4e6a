#!/usr/bin/env bash
# test_deb.sh - the Debian package, built by scripts/build-deb and installed
# with dpkg into this (throwaway) system: postinst creates the vigil user and
# group, the state directory and its keys, and enables the units; the packaged
# vigild starts as user vigil (by hand: systemd is not PID 1 here; through
# systemctl when it is) and the packaged vigil-hook's event is captured; the
# daily timer's commands verify the ledger and keep a checkpoint; reinstalling
# keeps the keys and the ledger; purge stops the daemon and leaves nothing
# behind (files, directories, unit links, user, group).  Safe to run twice: a
# package left by an interrupted run is purged first, and on exit.
#
# Needs root and dpkg (it installs into the real system); skipped otherwise.
#
#   test_deb.sh SOURCE_DIR BUILD_DIR
set -u
SRC=$(cd "$1" && pwd)
BUILD=$(cd "$2" && pwd)
if [ "$(id -u)" -ne 0 ] || ! command -v dpkg >/dev/null || ! command -v dpkg-deb >/dev/null; then
	echo "1..0 # SKIP needs root and dpkg: it installs the package into this system"
	exit 0
fi
if dpkg-query -W -f='${Maintainer}' vigil 2>/dev/null | grep -qv 'vigil developers'; then
	echo "1..0 # SKIP a package named vigil that is not this one is installed"
	exit 0
fi
if ! dpkg-query -W vigil >/dev/null 2>&1 && getent passwd vigil >/dev/null; then
	echo "1..0 # SKIP a user vigil exists that this package did not make (purge would remove it)"
	exit 0
fi
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-deb.XXXXXX")
. "$SRC/tests/lib/tap.sh"
unset VIGIL_STATE_DIR VIGIL_SOCKET VIGIL_SIGNING_KEY VIGIL_MAC_KEY VIGIL_CONFIG
STATE=/var/lib/vigil
SOCK=/run/vigil/vigild.sock
daemon_pid=
purge() { dpkg --purge vigil >"$T/purge.log" 2>&1; }
cleanup() {
	[ -n "$daemon_pid" ] && kill -9 "$daemon_pid" 2>/dev/null
	dpkg-query -W vigil >/dev/null 2>&1 && purge
	rm -rf "$T"
}
trap cleanup EXIT
# Left by an interrupted run of this test.
dpkg-query -W vigil >/dev/null 2>&1 && purge
systemd_runs=false
[ -d /run/systemd/system ] && systemd_runs=true

# ---- build --------------------------------------------------------------------------------
"$SRC/scripts/build-deb" --build-dir "$BUILD/deb-build" --output "$T" >"$T/out" 2>"$T/err"
ok $? "scripts/build-deb builds the package"
DEB=$(tail -1 "$T/out")
ok $([ -f "$DEB" ] && [[ $DEB == *.deb ]]; echo $?) "it prints the .deb's path ($(basename "$DEB"))"
dpkg-deb --info "$DEB" >"$T/info"
dpkg-deb --contents "$DEB" | awk '{print $1, $2, $6}' >"$T/contents"
ok $(grep -q '^ Package: vigil$' "$T/info" && grep -Eq '^ Depends: .*libc6 .*adduser' "$T/info" &&
	grep -q '^ Version: [0-9]' "$T/info"; echo $?) "control: Package, Version, Depends (shared libraries from dpkg-shlibdeps, adduser)"
missing=
for f in usr/bin/vigil usr/bin/vigild usr/bin/vigil-hook usr/share/man/man1/vigil.1.gz \
	usr/share/man/man1/vigil-hook.1.gz usr/share/man/man8/vigild.8.gz \
	usr/share/bash-completion/completions/vigil usr/share/zsh/vendor-completions/_vigil \
	usr/share/fish/vendor_completions.d/vigil.fish lib/systemd/system/vigild.service \
	lib/systemd/system/vigild.socket lib/systemd/system/vigil-verify.service \
	lib/systemd/system/vigil-verify.timer usr/lib/systemd/user/vigild.service \
	etc/default/vigil usr/share/doc/vigil/copyright; do
	grep -q " root/root ./$f$" "$T/contents" || missing="$missing $f"
done
ok $([ -z "$missing" ]; echo $?) "the package holds the programs, man pages, completions, units, /etc/default/vigil, all root's${missing:+; missing:$missing}"
ok $(! grep -q 'libasan\|libubsan' "$T/info"; echo $?) "a release build: no sanitizer runtime among the Depends"

# ---- install ------------------------------------------------------------------------------
dpkg -i "$DEB" >"$T/out" 2>"$T/err"
ok $? "dpkg -i installs it"
ok $(dpkg-query -W -f='${db:Status-Status}' vigil | grep -qx installed; echo $?) "dpkg says installed"
dpkg -L vigil | sort >"$T/files"
pw=$(getent passwd vigil)
ok $([ -n "$pw" ] && [ "$(echo "$pw" | cut -d: -f3)" -lt 1000 ] &&
	[ "$(echo "$pw" | cut -d: -f6)" = $STATE ] && [ "$(echo "$pw" | cut -d: -f7)" = /usr/sbin/nologin ] &&
	[ "$(id -gn vigil)" = vigil ]; echo $?) "postinst made the system user vigil (group vigil, home $STATE, no login): $pw"
ok $([ "$(stat -c '%U:%G %a' $STATE)" = "vigil:vigil 700" ] &&
	[ "$(stat -c '%U %a' $STATE/keys/signing.key)" = "vigil 600" ]; echo $?) \
	"$STATE is vigil's, 0700, with its keys (signing.key vigil 0600)"
ok $([ "$(stat -c '%U %a' /etc/vigil/mac-verify.key)" = "root 600" ] &&
	grep -q '^vigil-mac-v1:' /etc/vigil/mac-verify.key && has "mac-verify.key" out; echo $?) \
	"the MAC verification key is in a root-only file, and postinst says to move it off the machine"
links=$(ls /etc/systemd/system/sockets.target.wants/vigild.socket /etc/systemd/system/multi-user.target.wants/vigild.service \
	/etc/systemd/system/timers.target.wants/vigil-verify.timer 2>/dev/null | wc -l)
ok $([ "$links" -eq 3 ]; echo $?) "the socket, the service and the timer are enabled ($links of 3 links)"
ok $(man -w vigild >/dev/null 2>&1 && man -w vigil-hook >/dev/null 2>&1; echo $?) "man finds vigild(8) and vigil-hook(1)"
if command -v systemd-analyze >/dev/null; then
	systemd-analyze verify /lib/systemd/system/vigild.socket /lib/systemd/system/vigild.service \
		/lib/systemd/system/vigil-verify.service /lib/systemd/system/vigil-verify.timer >"$T/out" 2>&1
	ok $([ $? -eq 0 ] && [ ! -s "$T/out" ]; echo $?) "systemd-analyze verify accepts the installed units as they are"
fi

# ---- the daemon, as the service runs it -------------------------------------------------------
if $systemd_runs; then
	systemctl start vigild.socket vigild.service >"$T/out" 2>"$T/err"
	ok $? "systemctl starts vigild.socket and vigild.service"
	daemon_pid=$(systemctl show -p MainPID --value vigild.service)
else
	# No systemd as PID 1 (containers, CI): the service's ExecStart by hand, as user vigil.
	install -d -o vigil -g vigil -m 0755 /run/vigil
	runuser -u vigil -- /usr/bin/vigild --daemon --state-dir $STATE --socket $SOCK >"$T/out" 2>"$T/err"
	ok $? "the packaged vigild starts as user vigil (--daemon; systemd is not PID 1 here)"
	daemon_pid=$(cat $STATE/vigild.pid 2>/dev/null)
fi
ok $([ -n "$daemon_pid" ] && [ "$(ps -o user= -p "$daemon_pid")" = vigil ] &&
	[ "$(readlink /proc/"$daemon_pid"/exe)" = /usr/bin/vigild ]; echo $?) \
	"it runs as vigil, from /usr/bin/vigild (pid $daemon_pid)"
payload='{"session_id":"deb-test","cwd":"/tmp","hook_event_name":"UserPromptSubmit","prompt":"packagedhookmarker"}'
echo "$payload" | VIGIL_SOCKET=$SOCK VIGIL_STATE_DIR=$STATE /usr/bin/vigil-hook --agent claude-code >"$T/out" 2>"$T/err"
rc=$?
spooled=$(cat $STATE/spool/*.vgw 2>/dev/null | wc -c)
ok $([ $rc -eq 0 ] && [ "$spooled" -eq 0 ]; echo $?) "the packaged vigil-hook's event is acknowledged (exit $rc, $spooled bytes spooled)"
found=1
for _ in $(seq 50); do
	/usr/bin/vigil --state-dir $STATE events --text packagedhookmarker --json >"$T/out" 2>"$T/err"
	has '"prompt":"packagedhookmarker"' && { found=0; break; }
	sleep 0.2
done
ok $found "the event is in the ledger and the index (vigil events)"
ok $(has '"uid":0' && has '"agent":"claude-code"'; echo $?) "recorded with the hook's uid (0) and agent"

# ---- the daily timer's commands, as vigil-verify.service runs them (root) ------------------------
# The writer seals on its own timer: wait for a checkpoint that covers the event.
for _ in $(seq 100); do
	/usr/bin/vigil --state-dir $STATE checkpoint >/dev/null 2>&1 && break
	sleep 0.2
done
(
	set -a
	VIGIL_CHECKPOINT_DIR=/var/backups/vigil
	. /etc/default/vigil
	set +a
	sed -n 's/^ExecStart=//p' /lib/systemd/system/vigil-verify.service | while read -r line; do
		eval "set -- $line"
		"$@" || exit $?
	done
) >"$T/out" 2>"$T/err"
ok $? "vigil-verify.service's commands pass: vigil verify, vigil checkpoint --out-dir"
kept=$(ls /var/backups/vigil/vigil-checkpoint-*.txt 2>/dev/null | wc -l)
ok $([ "$kept" -ge 1 ] && [ "$(stat -c %U /var/backups/vigil/vigil-checkpoint-*.txt | sort -u)" = root ]; echo $?) \
	"a checkpoint is kept in /var/backups/vigil, root's ($kept file)"
/usr/bin/vigil --state-dir $STATE verify --mac-key /etc/vigil/mac-verify.key \
	--trusted-checkpoint "$(ls /var/backups/vigil/vigil-checkpoint-*.txt | tail -1)" >"$T/out" 2>"$T/err"
ok $([ $? -eq 0 ] && has "Result       OK"; echo $?) "vigil verify with the MAC verification key and the kept checkpoint: OK"

# ---- reinstall (the upgrade path): keys and ledger stay --------------------------------------
fp=$(sha256sum $STATE/keys/signing.key)
dpkg -i "$DEB" >"$T/out" 2>"$T/err"
ok $([ $? -eq 0 ] && [ "$(sha256sum $STATE/keys/signing.key)" = "$fp" ] &&
	[ "$(stat -c '%U:%G %a' $STATE)" = "vigil:vigil 700" ]; echo $?) "installing it again keeps the keys and the state directory"
/usr/bin/vigil --state-dir $STATE events --text packagedhookmarker >"$T/out" 2>"$T/err"
ok $(has packagedhookmarker; echo $?) "and the recorded events"

# ---- purge: nothing left behind ------------------------------------------------------------
purge
ok $? "dpkg --purge vigil"
sleep 0.5
ok $(! kill -0 "$daemon_pid" 2>/dev/null; echo $?) "prerm stopped the running vigild (pid $daemon_pid)"
daemon_pid=
left=
while read -r f; do [ -e "$f" ] && [ ! -d "$f" ] && left="$left $f"; done <"$T/files"
for f in $STATE /run/vigil /etc/vigil /var/backups/vigil /etc/default/vigil; do
	[ -e "$f" ] && left="$left $f"
done
left="$left $(find /etc/systemd /var/lib/systemd -name '*vigil*' 2>/dev/null | tr '\n' ' ')"
left=$(echo $left)
ok $([ -z "$left" ]; echo $?) "no file of the package, state, config, checkpoints or unit links is left${left:+: $left}"
ok $(! getent passwd vigil >/dev/null && ! getent group vigil >/dev/null; echo $?) "the vigil user and group are gone"
ok $(! dpkg-query -W vigil >/dev/null 2>&1; echo $?) "dpkg knows nothing of vigil any more"

echo "1..$n"
[ $failed -eq 0 ]
