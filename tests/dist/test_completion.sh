#!/usr/bin/env bash
# test_completion.sh - the shell completions generated from vigil's option
# tables complete: bash through the function `complete -p vigil` names (and as
# bash-completion loads it from where meson installs it), fish through
# `complete -C`, zsh in an interactive shell in a pseudo-terminal (zpty) with
# TAB typed, after compinit found it in fpath.  zsh, fish and bash-completion are installed by
# scripts/install-deps; a shell that is missing is skipped, with the reason.
#
#   test_completion.sh BUILD_DIR
set -u
BUILD=$(cd "$1" && pwd)
VIGIL=$BUILD/src/cli/vigil
BASHC=$BUILD/completions/vigil
ZSHC=$BUILD/completions/_vigil
FISHC=$BUILD/completions/vigil.fish
T=$(mktemp -d "${TMPDIR:-/tmp}/vigil-completion.XXXXXX")
trap 'rm -rf "$T"' EXIT
. "$(dirname "$0")/../lib/tap.sh"
skip() {
	n=$((n + 1))
	echo "ok $n - $1 # SKIP $2"
}
# Files and directories for file and directory arguments.
mkdir -p "$T/work/statedir" "$T/work/sub"
touch "$T/work/events.jsonl" "$T/work/sub/rules.yml"
cd "$T/work" || exit 1

# bashc LINE: what bash offers for LINE (the last word is completed; a trailing
# space starts a new word), one candidate a line, sorted.  It calls the
# function that `complete -p vigil` names, as bash's programmable completion
# does, with COMP_WORDS split as readline splits them (at spaces and "=").
bashc() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		spec=$(complete -p vigil) || exit 1
		fn=${spec#*-F }
		fn=${fn%% *}
		line=$2
		COMP_LINE=$line COMP_POINT=${#line}
		line=${line//=/ = }
		read -ra COMP_WORDS <<<"$line"
		[[ $2 == *" " || $2 == *= ]] && [[ ${COMP_WORDS[-1]} != = || $2 == *" " ]] && COMP_WORDS+=("")
		COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
		"$fn" vigil "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}"
	' bash "$BASHC" "$1" | sed '/^$/d' | sort
}
# expect LINE "WANTED..." NAME: the candidates are exactly WANTED (sorted, space-separated).
expect() {
	local got
	got=$(bashc "$1" | tr '\n' ' ' | sed 's/ $//')
	if [ "$got" = "$2" ]; then
		ok 0 "bash: '$1' -> $2"
	else
		echo "# got:  '$got'" >"$T/out"
		echo "# want: '$2'" >>"$T/out"
		ok 1 "bash: '$1' -> $2"
	fi
	rm -f "$T/out" "$T/err"
}
# contains LINE WORD...: every WORD is among the candidates.
contains() {
	local line=$1 w missing=
	shift
	bashc "$line" >"$T/cands"
	for w in "$@"; do grep -qx -- "$w" "$T/cands" || missing="$missing $w"; done
	[ -z "$missing" ]
	ok $? "bash: '$line' offers $* ${missing:+(missing:$missing)}"
}

# ---- bash ------------------------------------------------------------------------------
ok $(bash --norc -n "$BASHC"; echo $?) "bash: the completion parses (bash -n)"
ok $(bash --norc -c 'source "$1" && complete -p vigil' bash "$BASHC" | grep -q -- '-F _vigil vigil'; echo $?) \
	"bash: sourcing it registers a completion function for vigil (complete -p)"
cmds=$(python3 -c 'import json,sys; print(" ".join(sorted(c["name"] for c in json.load(sys.stdin)["commands"])))' \
	< <("$VIGIL" --completion-helper))
expect "vigil " "$cmds"
expect "vigil re" "reindex replay"
expect "vigil keys " "init show"
expect "vigil rules " "list reload test validate"
expect "vigil alerts st" "stats"
expect "vigil keys init --" "--epoch --force --help --json --state-dir --verify-key-out"
expect "vigil checkpoint --out" "--out --out-dir"
expect "vigil import --agent " "claude-code codex copilot cursor gemini other"
expect "vigil import --agent=c" "claude-code codex copilot cursor"
expect "vigil --state-dir st" "statedir"
expect "vigil --state-dir=st" "statedir"
expect "vigil --state-dir statedir ev" "events"
expect "vigil -v --state-dir=statedir keys sh" "show"
expect "vigil checkpoint --out-dir s" "statedir sub"
expect "vigil up --config sub/" "sub/rules.yml"
expect "vigil import e" "events.jsonl"
expect "vigil rules validate s" "statedir sub"
expect "vigil help ch" "checkpoint"
expect "vigil replay " ""
expect "vigil events --session " ""
expect "vigil tail -" "$(printf '%s\n' -f -h -n --agent-id --decision --follow --help --hook --json --lines \
	--outside-scope --risk --rule --session --since --state-dir --text --tool --type --until | sort | tr '\n' ' ' | sed 's/ $//')"
expect "vigil alerts --severity high --j" "--json"
expect "vigil install --fail" "--fail-closed="
# Every option of every command's table is offered: nothing is lost on the way.
python3 - "$VIGIL" >"$T/all" <<'PY'
import json, subprocess, sys
v = sys.argv[1]
top = json.loads(subprocess.run([v, "--completion-helper"], capture_output=True, text=True).stdout)
for c in top["commands"]:
    keys = [[c["name"], s] for s in c["subcommands"]] or ([[c["name"]]] if c["name"] != "help" else [])
    for k in keys:
        d = json.loads(subprocess.run([v] + k + ["--completion-helper"], capture_output=True, text=True).stdout)
        print(" ".join(k) + "\t" + " ".join("--" + o["long"] for o in d["options"] if o["long"]))
PY
total=0 lost=
while IFS=$'\t' read -r key opts; do
	got=$(bashc "vigil $key --" | tr '\n' ' ')
	for o in $opts; do
		total=$((total + 1))
		case " $got" in *" $o "* | *" $o= "*) ;; *) lost="$lost $key:$o" ;; esac
	done
done <"$T/all"
ok $([ -z "$lost" ] && [ $total -gt 100 ]; echo $?) \
	"bash: every option of every command's table is offered ($total options over $(wc -l <"$T/all") commands)${lost:+; lost:$lost}"

if [ -f /usr/share/bash-completion/bash_completion ]; then
	# As installed: bash-completion finds it under XDG_DATA_DIRS on first use.
	rm -rf "$T/share" && mkdir -p "$T/share/bash-completion/completions"
	cp "$BASHC" "$T/share/bash-completion/completions/vigil"
	got=$(XDG_DATA_DIRS="$T/share" BASH_COMPLETION_USER_DIR="$T/none" bash --norc --noprofile -c '
		source /usr/share/bash-completion/bash_completion
		__load_completion vigil && complete -p vigil' 2>&1)
	ok $(echo "$got" | grep -q -- '-F _vigil vigil'; echo $?) \
		"bash-completion loads it on demand from DATADIR/bash-completion/completions"
else
	skip "bash-completion loads it on demand" "bash-completion not installed (scripts/install-deps installs it)"
fi

# ---- zsh -------------------------------------------------------------------------------
if command -v zsh >/dev/null; then
	ok $(zsh -n "$ZSHC"; echo $?) "zsh: _vigil parses (zsh -n)"
	mkdir -p "$T/zfunc" && cp "$ZSHC" "$T/zfunc/_vigil"
	got=$(cd "$T" && HOME=$T zsh -f -c 'fpath=("$PWD/zfunc" $fpath); autoload -Uz compinit;
		compinit -u -d "$PWD/zcompdump"; print -r -- "$_comps[vigil]"; autoload +X _vigil && whence -w _vigil' 2>&1)
	ok $(echo "$got" | head -1 | grep -qx '_vigil' && echo "$got" | grep -q '^_vigil: function'; echo $?) \
		"zsh: compinit finds _vigil in fpath and binds it to vigil (#compdef); it loads"
	# Real completion: an interactive zsh in a pseudo-terminal (zpty), TAB typed
	# after each line; compadd is wrapped to write down what it is given.
	cat >"$T/zcomp.zsh" <<'ZSH'
zmodload zsh/zpty || exit 1
T=$1; shift
zpty z zsh -f -i
zpty -w z "PROMPT=''; fpath=($T/zfunc \$fpath); autoload -Uz compinit; compinit -u -d $T/zcompdump2"
zpty -w z "comptest() { compadd() { builtin compadd -O __hits \"\$@\"; print -l -- \$__hits >> $T/zout; builtin compadd \"\$@\" }; _main_complete }"
zpty -w z 'zle -C tab-complete complete-word comptest; bindkey "^I" tab-complete'
for line in "$@"; do
	: >$T/zout
	zpty -n -w z "$line"$'\t'
	for i in {1..100}; do [[ -s $T/zout ]] && break; sleep 0.1; done
	sleep 0.3
	zpty -n -w z $'\C-u'
	print -r -- "$line|${(j: :)${(f)"$(<$T/zout)"}}"
done
zpty -d z
ZSH
	PATH="$BUILD/src/cli:$PATH" HOME=$T timeout 120 zsh -f "$T/zcomp.zsh" "$T" "vigil ke" "vigil keys " \
		"vigil keys init --" "vigil alerts stats --" "vigil import --agent co" "vigil tail --li" \
		"vigil checkpoint --out-dir s" >"$T/zres" 2>&1
	for case in "vigil ke|keys" "vigil keys |init show" \
		"vigil keys init --|--epoch --force --help --json --state-dir --verify-key-out" \
		"vigil alerts stats --|--days --help --json --state-dir" "vigil import --agent co|codex copilot" \
		"vigil tail --li|--lines" "vigil checkpoint --out-dir s|statedir sub"; do
		line=${case%%|*} want=${case#*|}
		got=$(grep -F "$line|" "$T/zres" | head -1 | cut -d'|' -f2 | tr ' ' '\n' | sed '/^$/d' |
			LC_ALL=C sort -u | tr '\n' ' ' | sed 's/ $//')
		[ "$got" = "$want" ]
		ok $? "zsh (interactive, TAB): '$line' -> $want${got:+ (got: $got)}"
	done
else
	skip "zsh: _vigil parses" "zsh not installed (scripts/install-deps installs it)"
	skip "zsh: compinit binds _vigil to vigil" "zsh not installed"
fi

# ---- fish ------------------------------------------------------------------------------
# fishc LINE: what fish offers (complete -C), candidates only, sorted.  fish
# loads vigil.fish itself, from a vendor_completions.d of XDG_DATA_DIRS, as
# installed (it autoloads completions of commands on PATH only).
fishc() {
	PATH="$BUILD/src/cli:$PATH" HOME=$T/fishhome XDG_CONFIG_HOME=$T/fishhome/config \
		XDG_DATA_DIRS=$T/fishshare fish -c 'complete -C $argv[1]' "$1" 2>&1 | cut -f1 | sort
}
if command -v fish >/dev/null; then
	ok $(fish --no-config -n "$FISHC"; echo $?) "fish: vigil.fish parses (fish -n)"
	mkdir -p "$T/fishshare/fish/vendor_completions.d" "$T/fishhome"
	cp "$FISHC" "$T/fishshare/fish/vendor_completions.d/vigil.fish"
	for case in "vigil keys |init show" "vigil alerts stats --|--days --help --json --state-dir" \
		"vigil --state-dir statedir ke|keys" "vigil import --agent co|codex copilot" \
		"vigil checkpoint --out-dir s|statedir/ sub/"; do
		line=${case%%|*} want=${case#*|}
		got=$(fishc "$line" | tr '\n' ' ' | sed 's/ $//')
		[ "$got" = "$want" ]
		ok $? "fish: '$line' -> $want${got:+ (got: $got)}"
	done
	got=$(fishc "vigil " | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$cmds" ]
	ok $? "fish: 'vigil ' -> every command (got: $got)"
else
	skip "fish: vigil.fish parses" "fish not installed (scripts/install-deps installs it)"
fi

echo "1..$n"
[ $failed -eq 0 ]
