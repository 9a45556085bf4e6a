#!/usr/bin/env bash
# test_install.sh - drives the real `vigil install` / `vigil uninstall` against
# throw-away projects and homes: fresh files, files holding the user's own hooks
# and settings, every scope and agent, malformed files (which must stay
# untouched), dry runs, JSON output and the hook command itself (run through
# sh -c, as the agents do).  Prints TAP.
#
# usage: test_install.sh PATH/TO/vigil [PATH/TO/vigil-hook]
# Without the second argument the vigil-hook built next to vigil's directory
# (BUILD/src/hook/vigil-hook) is used when it exists, else a stand-in script.
set -u

VIGIL=${1:?usage: test_install.sh VIGIL [VIGIL_HOOK]}
VIGIL=$(cd "$(dirname "$VIGIL")" && pwd)/$(basename "$VIGIL") # the tests change directory
REAL_HOOK=${2:-$(dirname "$VIGIL")/../hook/vigil-hook}
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-install-XXXXXX")
trap 'rm -rf "$T"' EXIT
export NO_COLOR=1
unset VIGIL_STATE_DIR VIGIL_SOCKET CLAUDE_CONFIG_DIR CODEX_HOME
export HOME="$T/home"
mkdir -p "$HOME"

. "$(dirname "$0")/../lib/tap.sh"
run() { # run ARGS...: runs vigil in the current directory; stdout $T/out, stderr $T/err, $rc
	"$VIGIL" "$@" >"$T/out" 2>"$T/err"
	rc=$?
}
has() { grep -q -- "$1" "$T/${2:-out}"; }
py() { python3 - "$@"; } # py ARGS... <<'EOF' script EOF: exit status is the check
sum() { sha256sum "$1" | cut -d' ' -f1; }

# A stand-in hook that records how it was called, for the command checks.
mkdir -p "$T/fake"
cat >"$T/fake/vigil-hook" <<'EOF'
#!/bin/sh
printf '%s\n' "state=${VIGIL_STATE_DIR:-}" "$@" >"$(dirname "$0")/called"
exit 0
EOF
chmod +x "$T/fake/vigil-hook"
if [ -x "$REAL_HOOK" ]; then
	HOOK=$(cd "$(dirname "$REAL_HOOK")" && pwd)/vigil-hook
	echo "# using the real vigil-hook: $HOOK"
else
	HOOK="$T/fake/vigil-hook"
	echo "# vigil-hook is not built; using a stand-in script"
fi

# ---- help and usage ---------------------------------------------------------------------
run --help
has "install" && has "uninstall"
ok $? "vigil --help lists install and uninstall"
run install --help
[ $rc -eq 0 ] && has "settings.local.json" && has "VIGIL_STATE_DIR"
ok $? "vigil install --help documents scopes and the state directory prefix"
run help uninstall
[ $rc -eq 0 ] && has "uninstall"
ok $? "vigil help uninstall works"
run install --agent frob --hook "$HOOK"
[ $rc -eq 2 ] && has "not one of claude, codex, gemini" err
ok $? "an unknown --agent is a usage error"
run install --timeout 0 --hook "$HOOK"
[ $rc -eq 2 ] && has "whole seconds" err
ok $? "--timeout 0 is a usage error"
run install --user --dir "$T" --hook "$HOOK"
[ $rc -eq 2 ]
ok $? "--user with --dir is a usage error"
run install --agent codex --local --hook "$HOOK"
[ $rc -eq 2 ] && has "no local scope" err
ok $? "codex has no local scope"
run uninstall --timeout 5
[ $rc -eq 2 ]
ok $? "uninstall --timeout is a usage error"

# ---- a fresh project ----------------------------------------------------------------------
P="$T/fresh"
mkdir -p "$P/src/deep" && git -C "$P" init -q . 2>/dev/null || mkdir -p "$P/.git"
(cd "$P/src/deep" && "$VIGIL" install --hook "$HOOK" >"$T/out" 2>"$T/err")
rc=$?
S="$P/.claude/settings.json"
[ $rc -eq 0 ] && [ -f "$S" ] && has "added    25"
ok $? "install from a subdirectory writes the git root's .claude/settings.json"
py "$S" "$HOOK" <<'EOF'
import json, sys
path, hook = sys.argv[1], sys.argv[2]
raw = open(path).read()
j = json.loads(raw)
h = j["hooks"]
tools = {"PreToolUse", "PostToolUse", "PostToolUseFailure", "PermissionRequest", "PermissionDenied"}
decide = {"PreToolUse", "UserPromptSubmit", "PermissionRequest"}
must = {"SessionStart", "SessionEnd", "UserPromptSubmit", "PreToolUse", "PostToolUse",
        "PostToolUseFailure", "PermissionRequest", "PermissionDenied", "Notification",
        "SubagentStart", "SubagentStop", "Stop", "StopFailure", "PreCompact", "PostCompact"}
assert must <= set(h), must - set(h)
assert "WorktreeCreate" not in h and "FileChanged" not in h
for ev, groups in h.items():
    assert len(groups) == 1, ev
    g = groups[0]
    assert (g.get("matcher") == "*") == (ev in tools), ev
    assert len(g["hooks"]) == 1
    x = g["hooks"][0]
    want = hook + " --agent claude-code" + (" --decide" if ev in decide else "")
    assert x == {"type": "command", "command": want, "timeout": 10}, (ev, x)
assert raw.endswith("}\n") and raw.startswith('{\n  "hooks": {\n    "')
EOF
ok $? "every event gets one vigil-hook handler: matcher * on tool events, --decide on blocking ones, 2-space JSON"
[ ! -e "$S.vigil-bak" ]
ok $? "no backup for a file that did not exist"
before=$(sum "$S")
(cd "$P" && "$VIGIL" install --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(sum "$S")" = "$before" ] && has "already installed"
ok $? "a second install changes no byte and says so"

# ---- an existing file with the user's hooks and settings ----------------------------------
P="$T/proj"
mkdir -p "$P/.claude" "$P/.git"
S="$P/.claude/settings.json"
cat >"$S" <<'EOF'
{"permissions": {"allow": ["Bash(npm test:*)", "Read(~/.zshrc)"], "deny": []},
 "env": {"FOO": "bar", "N": "1"},
 "hooks": {
   "PreToolUse": [{"matcher": "Bash", "hooks": [{"type": "command", "command": "~/bin/check-bash.sh", "timeout": 30}]}],
   "Stop": [{"hooks": [{"type": "command", "command": "notify-send done"}]}],
   "MyFutureEvent": [{"matcher": "x", "hooks": []}]
 },
 "model": "claude-sonnet-4", "cleanupPeriodDays": 20, "ratio": 0.5, "nested": {"a": [1, {"b": null}], "c": true},
 "statusLine": {"type": "command", "command": "echo hi \u00e9"}
}
EOF
chmod 640 "$S"
cp "$S" "$T/orig.json"
(cd "$P" && "$VIGIL" install --hook "$HOOK" >"$T/out" 2>"$T/err")
ok $? "install into an existing settings file"
py "$T/orig.json" "$S" <<'EOF'
import json, sys
o = json.load(open(sys.argv[1])); j = json.load(open(sys.argv[2]))
assert list(o) == list(j), (list(o), list(j))           # key order kept, nothing added at top
for k in o:
    if k != "hooks":
        assert o[k] == j[k], k
oh, jh = o["hooks"], j["hooks"]
assert list(jh)[:len(oh)] == list(oh)                   # the user's events first, in order
for ev, groups in oh.items():
    assert jh[ev][:len(groups)] == groups, ev           # the user's groups untouched, first
for ev, groups in jh.items():
    ours = [x for g in groups for x in g["hooks"] if "vigil-hook" in x.get("command", "")]
    assert len(ours) == (0 if ev == "MyFutureEvent" else 1), (ev, ours)
EOF
ok $? "every original element is still there, vigil's handler added once per event"
cmp -s "$T/orig.json" "$S.vigil-bak"
ok $? "the previous content is kept in settings.json.vigil-bak"
[ "$(stat -c %a "$S")" = 640 ]
ok $? "the file keeps its mode (0640)"
before=$(sum "$S")
(cd "$P" && "$VIGIL" install --hook "$HOOK" --json >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(sum "$S")" = "$before" ] &&
	py "$T/out" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))
assert j["changed"] is False and j["added"] == [] and j["updated"] == [] and j["removed"] == []
EOF
ok $? "idempotent: the second install leaves the bytes alone and reports changed: false"

# A new hook path updates vigil's entries in place.
mkdir -p "$T/other dir"
cp "$T/fake/vigil-hook" "$T/other dir/vigil-hook"
(cd "$P" && "$VIGIL" install --hook "$T/other dir/vigil-hook" --json >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && py "$S" "$T/out" "$T/other dir/vigil-hook" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); r = json.load(open(sys.argv[2])); new = sys.argv[3]
assert r["changed"] is True and len(r["updated"]) == 25 and r["added"] == [], r
for ev, groups in j["hooks"].items():
    ours = [x for g in groups for x in g["hooks"] if "vigil-hook" in x.get("command", "")]
    if ev == "MyFutureEvent":
        continue
    assert len(ours) == 1 and ours[0]["command"].startswith("'" + new + "' --agent"), ours
EOF
ok $? "a new vigil-hook path updates each entry in place (25 updated, none duplicated, path quoted)"
cmp -s "$T/orig.json" "$S.vigil-bak"
ok $? "the backup still holds the file as it was before vigil first touched it"

# Uninstall.
(cd "$P" && "$VIGIL" uninstall >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && has "Removed vigil's Claude Code hooks" && py "$T/orig.json" "$S" <<'EOF'
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))
EOF
ok $? "uninstall gives back exactly the user's content (deep-equal to the original)"
before=$(sum "$S")
(cd "$P" && "$VIGIL" uninstall >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(sum "$S")" = "$before" ] && has "nothing changed"
ok $? "a second uninstall changes nothing and says so"
(cd "$T" && "$VIGIL" uninstall --dir "$T/nowhere-project" >"$T/out" 2>"$T/err")
[ $? -eq 3 ] && has "not a directory" err
ok $? "uninstall --dir on a missing directory is a clear error"
mkdir -p "$T/empty-project"
(cd "$T" && "$VIGIL" uninstall --dir "$T/empty-project" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && has "does not exist" && [ ! -e "$T/empty-project/.claude" ]
ok $? "uninstall where there is no settings file creates nothing"

# ---- local and user scopes -------------------------------------------------------------------
P="$T/scoped"
mkdir -p "$P"
(cd "$T" && "$VIGIL" install --local --dir "$P" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ -f "$P/.claude/settings.local.json" ] && [ ! -e "$P/.claude/settings.json" ]
ok $? "--local writes PROJECT/.claude/settings.local.json only"
run install --user --hook "$HOOK"
[ $rc -eq 0 ] && [ -f "$HOME/.claude/settings.json" ] && has "(user scope)"
ok $? "--user writes \$HOME/.claude/settings.json"
run uninstall --user --json
[ $rc -eq 0 ] && py "$T/out" "$HOME/.claude/settings.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
assert r["scope"] == "user" and r["changed"] and len(r["removed"]) == 25, r
assert json.load(open(sys.argv[2])) == {}
EOF
ok $? "uninstall --user removes all 25 and leaves an empty object"
CLAUDE_CONFIG_DIR="$T/ccdir" "$VIGIL" install --user --hook "$HOOK" >"$T/out" 2>"$T/err"
[ $? -eq 0 ] && [ -f "$T/ccdir/settings.json" ]
ok $? "--user honours CLAUDE_CONFIG_DIR"
(unset HOME; "$VIGIL" install --user --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 3 ] && has "needs HOME" err
ok $? "--user without HOME is a clear error"

# ---- files vigil must refuse ------------------------------------------------------------------
refuse() { # refuse NAME CONTENT EXPECTED-MESSAGE
	local d="$T/bad-$1"
	mkdir -p "$d/.claude"
	printf '%s' "$2" >"$d/.claude/settings.json"
	cp "$d/.claude/settings.json" "$T/bad.orig"
	(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
	local r=$?
	[ $r -eq 1 ] && cmp -s "$T/bad.orig" "$d/.claude/settings.json" &&
		[ ! -e "$d/.claude/settings.json.vigil-bak" ] && has "$3" err &&
		[ -z "$(ls "$d/.claude" | grep -v '^settings.json$')" ]
}
refuse json '{"a": 1,
  "b": ,}' 'settings.json:2:.*cannot parse'
ok $? "invalid JSON: exit 1, file untouched, message names file:line:column"
refuse array '[1, 2]' 'top level is an array, not an object'
ok $? "a top level that is not an object is refused"
refuse hooks '{"hooks": ["x"]}' '"hooks" is an array, not an object'
ok $? "\"hooks\" that is not an object is refused"
refuse event '{"hooks": {"PreToolUse": {"matcher": "*"}}}' 'hooks.PreToolUse is an object, not an array'
ok $? "an event whose value is not an array is refused, naming the event"
refuse group '{"hooks": {"Stop": [{"hooks": "x"}]}}' 'hooks.Stop\[0\].hooks is a string'
ok $? "a matcher group whose hooks are not an array is refused, naming the path"
refuse dup '{"model": "a", "model": "b"}' 'duplicate'
ok $? "duplicate keys are refused (one value would be lost)"
d="$T/bad-big" && mkdir -p "$d/.claude" &&
	python3 -c "import json; print(json.dumps({'x': 'a' * (5 << 20)}))" >"$d/.claude/settings.json"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 1 ] && has "larger than 4 MiB" err
ok $? "a settings file over 4 MiB is refused"

# Files vigil accepts although they are odd.
d="$T/blank" && mkdir -p "$d/.claude" && printf '  \n' >"$d/.claude/settings.json"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && has "added    25"
ok $? "an empty (blank) settings file is taken as {}"
d="$T/disabled" && mkdir -p "$d/.claude" && echo '{"disableAllHooks": true}' >"$d/.claude/settings.json"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && has 'disableAllHooks' err && has "warning" err
ok $? "\"disableAllHooks\": true gets a warning (and the hooks are still installed)"

# Run as root on someone else's file (sudo), the file stays theirs.
if [ "$(id -u)" = 0 ]; then
	d="$T/owned" && mkdir -p "$d/.claude" && echo '{}' >"$d/.claude/settings.json"
	chown 65534:65534 "$d/.claude/settings.json"
	(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
	[ $? -eq 0 ] && [ "$(stat -c %u:%g "$d/.claude/settings.json")" = 65534:65534 ] &&
		[ "$(stat -c %u "$d/.claude/settings.json.vigil-bak")" = 65534 ]
	ok $? "rewritten by root, a user's settings file and its backup keep their owner"
fi

# A symlinked settings file stays a symlink; its target is updated.
d="$T/linked" && mkdir -p "$d/.claude" "$T/dotfiles"
echo '{"model": "x"}' >"$T/dotfiles/claude.json"
ln -s "$T/dotfiles/claude.json" "$d/.claude/settings.json"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ -L "$d/.claude/settings.json" ] && grep -q vigil-hook "$T/dotfiles/claude.json"
ok $? "a symlinked settings file keeps the link; the target gets the hooks"

# Duplicates and stale events are cleaned; the user's group sharing vigil's handler is kept.
d="$T/messy" && mkdir -p "$d/.claude"
cat >"$d/.claude/settings.json" <<EOF
{"hooks": {
  "Stop": [{"hooks": [{"type": "command", "command": "mine"}, {"type": "command", "command": "/old/vigil-hook --agent claude-code"}]}],
  "PreToolUse": [{"matcher": "*", "hooks": [{"type": "command", "command": "/old/vigil-hook --agent claude-code --decide"}]},
                 {"matcher": "*", "hooks": [{"type": "command", "command": "/older/vigil-hook --agent claude-code --decide", "timeout": 5}]}],
  "WorktreeCreate": [{"hooks": [{"type": "command", "command": "/old/vigil-hook --agent claude-code"}]}]
}}
EOF
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" --json >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && py "$d/.claude/settings.json" "$T/out" "$HOOK" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1]))["hooks"]; r = json.load(open(sys.argv[2])); hook = sys.argv[3]
assert "WorktreeCreate" not in j and r["removed"] == ["WorktreeCreate"], r
assert len(j["PreToolUse"]) == 1 and j["PreToolUse"][0]["hooks"][0]["command"] == hook + " --agent claude-code --decide"
assert [x["command"] for x in j["Stop"][0]["hooks"]] == ["mine", hook + " --agent claude-code"]
assert len(j["Stop"]) == 1 and "Stop" in r["updated"] and "PreToolUse" in r["updated"]
EOF
ok $? "duplicates are removed, a stale event dropped, vigil's handler in a user's group updated in place"

# ---- dry run and JSON -----------------------------------------------------------------------------
d="$T/dry" && mkdir -p "$d"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" --dry-run >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ ! -e "$d/.claude" ] && has "would add 25" && has '"PreToolUse": \['
ok $? "--dry-run on a fresh project prints the resulting file and creates nothing"
mkdir -p "$d/.claude" && echo '{"model": "m"}' >"$d/.claude/settings.json"
before=$(sum "$d/.claude/settings.json")
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" --dry-run --json >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(sum "$d/.claude/settings.json")" = "$before" ] &&
	[ ! -e "$d/.claude/settings.json.vigil-bak" ] && py "$T/out" "$d/.claude/settings.json" <<'EOF'
import json, sys
r = json.load(open(sys.argv[1]))
want = {"action", "agent", "scope", "file", "dry_run", "changed", "added", "updated",
        "removed", "hook", "command", "warnings", "content"}
assert want <= set(r), want - set(r)
assert r["action"] == "install" and r["agent"] == "claude-code" and r["scope"] == "project"
assert r["file"] == sys.argv[2] and r["dry_run"] is True and r["changed"] is True
assert len(r["added"]) == 25 and r["content"]["model"] == "m" and "hooks" in r["content"]
EOF
ok $? "--dry-run --json: the documented fields, the would-be content, and the file untouched"
(cd "$T" && "$VIGIL" uninstall --dir "$d" --dry-run >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && has "nothing would change"
ok $? "uninstall --dry-run with nothing to remove says so"

# ---- finding vigil-hook -------------------------------------------------------------------------
mkdir -p "$T/lonely" "$T/bundle" "$T/pathbin"
cp "$VIGIL" "$T/lonely/vigil" && cp "$VIGIL" "$T/bundle/vigil"
cp "$T/fake/vigil-hook" "$T/bundle/vigil-hook" && cp "$T/fake/vigil-hook" "$T/pathbin/vigil-hook"
d="$T/find" && mkdir -p "$d"
(cd "$T" && PATH=/nonexistent "$T/lonely/vigil" install --dir "$d" >"$T/out" 2>"$T/err")
[ $? -eq 3 ] && has "cannot find vigil-hook" err && has "\-\-hook" err && [ ! -e "$d/.claude" ]
ok $? "no vigil-hook anywhere: exit 3, a clear error, nothing written"
(cd "$T" && PATH=/nonexistent "$T/bundle/vigil" install --dir "$d" --json >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(json_hook=$(python3 -c "import json;print(json.load(open('$T/out'))['hook'])"); echo "$json_hook")" = "$T/bundle/vigil-hook" ]
ok $? "vigil-hook next to the vigil binary is found"
rm -rf "$d/.claude"
(cd "$T" && PATH="relative:$T/pathbin:/usr/bin:/bin" "$T/lonely/vigil" install --dir "$d" --json >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(python3 -c "import json;print(json.load(open('$T/out'))['hook'])")" = "$T/pathbin/vigil-hook" ]
ok $? "else vigil-hook is found on PATH"
touch "$T/not-exec"
run install --dir "$d" --hook "$T/not-exec"
[ $rc -eq 3 ] && has "not an executable file" err
ok $? "--hook naming a file that is not executable is refused"

# ---- the command as the agent runs it ----------------------------------------------------------
d="$T/statedir" && mkdir -p "$d"
(cd "$T" && VIGIL_STATE_DIR="$T/my state" "$VIGIL" install --dir "$d" --hook "$T/fake/vigil-hook" --json >"$T/out" 2>"$T/err")
cmd=$(python3 -c "import json;print(json.load(open('$T/out'))['command'])")
case "$cmd" in "VIGIL_STATE_DIR='$T/my state' $T/fake/vigil-hook --agent claude-code") r=0 ;; *) r=1 ;; esac
ok $r "a non-default state directory travels as a quoted VIGIL_STATE_DIR= prefix"
rm -f "$T/fake/called"
(cd / && sh -c "$cmd --decide" </dev/null)
[ $? -eq 0 ] && [ "$(cat "$T/fake/called" 2>/dev/null)" = "state=$T/my state
--agent
claude-code
--decide" ]
ok $? "run through sh -c, the command gives the hook that state directory and its arguments"
(cd "$T" && "$VIGIL" --state-dir rel/state install --dir "$d" --hook "$T/fake/vigil-hook" --json >"$T/out" 2>"$T/err")
grep -q "VIGIL_STATE_DIR=$T/rel/state " "$T/out"
ok $? "a relative --state-dir is made absolute in the command"
run install --dir "$d" --hook "$T/fake/vigil-hook" --json
python3 -c "import json,sys; c=json.load(open('$T/out'))['command']; sys.exit('VIGIL_STATE_DIR' in c)"
ok $? "with the default state directory there is no prefix (and the entries are updated back)"

odd="$T/it's a dir"
mkdir -p "$odd" && cp "$T/fake/vigil-hook" "$odd/vigil-hook"
run install --dir "$d" --hook "$odd/vigil-hook" --json
cmd=$(python3 -c "import json;print(json.load(open('$T/out'))['command'])")
rm -f "$odd/called"
(cd / && sh -c "$cmd" </dev/null)
[ $? -eq 0 ] && [ "$(cat "$odd/called" 2>/dev/null)" = "state=
--agent
claude-code" ]
ok $? "a hook path with a space and a quote is quoted so that sh -c runs it"

if [ "$HOOK" != "$T/fake/vigil-hook" ]; then
	run install --dir "$d" --hook "$HOOK" --json
	cmd=$(python3 -c "import json;print(json.load(open('$T/out'))['command'])")
	out=$(cd / && echo '{"session_id":"s","transcript_path":"/t","cwd":"/","hook_event_name":"Stop"}' |
		VIGIL_STATE_DIR="$T/hookstate" timeout 20 sh -c "$cmd")
	r=$?
	[ $r -eq 0 ] && [ -z "$out" ]
	ok $? "the installed command runs the real vigil-hook: exit 0, nothing on stdout (no daemon)"
fi

# ---- Codex and Gemini ---------------------------------------------------------------------------
d="$T/codex" && mkdir -p "$d"
(cd "$T" && "$VIGIL" install --agent codex --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && py "$d/.codex/hooks.json" "$HOOK" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1]))["hooks"]; hook = sys.argv[2]
assert set(h) == {"SessionStart", "UserPromptSubmit", "PreToolUse", "PermissionRequest",
                  "PostToolUse", "PreCompact", "PostCompact", "Stop"}, set(h)
for ev, g in h.items():
    assert "matcher" not in g[0]
    want = hook + " --agent codex" + (" --decide" if ev in ("PreToolUse", "UserPromptSubmit", "PermissionRequest") else "")
    assert g[0]["hooks"] == [{"type": "command", "command": want, "timeout": 10}], (ev, g)
EOF
ok $? "--agent codex writes .codex/hooks.json: 8 events, --agent codex, no matcher"
run install --agent codex --user --hook "$HOOK"
[ $rc -eq 0 ] && [ -f "$HOME/.codex/hooks.json" ]
ok $? "--agent codex --user writes ~/.codex/hooks.json"

d="$T/gemini" && mkdir -p "$d/.gemini"
echo '{"theme": "Dracula", "hooks": {"enabled": true, "disabled": ["x"], "AfterTool": [{"matcher": "write_file", "hooks": [{"type": "command", "command": "fmt"}]}]}}' >"$d/.gemini/settings.json"
cp "$d/.gemini/settings.json" "$T/gemini.orig"
(cd "$T" && "$VIGIL" install --agent gemini --dir "$d" --hook "$HOOK" --timeout 3 >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && py "$d/.gemini/settings.json" "$HOOK" <<'EOF'
import json, sys
j = json.load(open(sys.argv[1])); hook = sys.argv[2]; h = j["hooks"]
assert j["theme"] == "Dracula" and h["enabled"] is True and h["disabled"] == ["x"]
evs = {"BeforeTool", "AfterTool", "BeforeAgent", "AfterAgent", "SessionStart", "SessionEnd",
       "Notification", "PreCompress"}
assert evs <= set(h)
assert h["AfterTool"][0]["hooks"][0]["command"] == "fmt"
for ev in evs:
    x = h[ev][-1]["hooks"][0]
    want = hook + " --agent gemini" + (" --decide" if ev == "BeforeTool" else "")
    assert x == {"type": "command", "command": want, "timeout": 3000}, (ev, x)
EOF
ok $? "--agent gemini: 8 events, BeforeTool blocking, timeout in ms, its own switches and hooks kept"
(cd "$T" && "$VIGIL" uninstall --agent gemini --dir "$d" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && py "$T/gemini.orig" "$d/.gemini/settings.json" <<'EOF'
import json, sys
assert json.load(open(sys.argv[1])) == json.load(open(sys.argv[2]))
EOF
ok $? "uninstall --agent gemini restores the original content"

# ---- --fail-closed ------------------------------------------------------------------
d="$T/failclosed" && mkdir -p "$d"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" --fail-closed=PreToolUse >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && py "$d/.claude/settings.json" "$HOOK" <<'EOF'
import json, sys
h = json.load(open(sys.argv[1]))["hooks"]; hook = sys.argv[2]
cmd = lambda ev: h[ev][-1]["hooks"][0]["command"]
assert cmd("PreToolUse") == hook + " --agent claude-code --decide --fail-closed", cmd("PreToolUse")
assert cmd("UserPromptSubmit") == hook + " --agent claude-code --decide", cmd("UserPromptSubmit")
assert cmd("PostToolUse") == hook + " --agent claude-code", cmd("PostToolUse")
EOF
ok $? "--fail-closed=PreToolUse: only that blocking event's hook gets --fail-closed"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" --fail-closed >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(grep -c -- '--fail-closed' "$d/.claude/settings.json")" -eq 3 ]
ok $? "--fail-closed alone: all 3 blocking events fail closed (updated in place)"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && ! grep -q -- '--fail-closed' "$d/.claude/settings.json"
ok $? "installing again without it goes back to fail-open"
(cd "$T" && "$VIGIL" install --dir "$d" --hook "$HOOK" --fail-closed=Stop >"$T/out" 2>"$T/err")
[ $? -eq 2 ] && grep -q "'Stop' is not a blocking event" "$T/err" && grep -q "PreToolUse" "$T/err"
ok $? "--fail-closed with a non-blocking event is a usage error naming the blocking ones"

printf 'decisions:\n  timeout_ms: 5000\n' >"$T/vigil.yaml"
d="$T/tmo" && mkdir -p "$d"
(cd "$T" && VIGIL_CONFIG="$T/vigil.yaml" "$VIGIL" install --dir "$d" --hook "$HOOK" >"$T/out" 2>"$T/err")
[ $? -eq 0 ] && [ "$(grep -c -- '--decide --timeout-ms 5000"' "$d/.claude/settings.json")" -eq 3 ] &&
	[ "$(grep -c -- '--timeout-ms' "$d/.claude/settings.json")" -eq 3 ]
ok $? "decisions.timeout_ms of vigil.yaml goes into the blocking hooks' commands (--timeout-ms)"

echo "1..$n"
[ $failed -eq 0 ]
