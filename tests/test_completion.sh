#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The shell completions complete what --help says.
#  bash: `complete -p flametop` names the function, which is then called the way bash calls it
#        (COMP_WORDS split at spaces and '=', as readline splits them) for commands, each
#        command's options (exactly those of `flametop CMD --help`), every value of --format,
#        --metric, --heap, --unwind and --source (each one the parser accepts), processes by pid
#        and by name for -p, files for replay/convert and -o, and the command after --; then a
#        real bash in tmux, with the bash-completion package's loader finding the file where
#        `meson install` puts it, completes `flametop snapshot --format <TAB>`.
#  zsh:  a real zsh in tmux, compinit with the file in its fpath, completes the same line.
# Needs FLAMETOP, FLAMETOP_BASH_COMPLETION and FLAMETOP_ZSH_COMPLETION (set by meson test). The
# tmux parts skip themselves (with a line saying so) without tmux, bash-completion or zsh.
set -u

: "${FLAMETOP:?}" "${FLAMETOP_BASH_COMPLETION:?}" "${FLAMETOP_ZSH_COMPLETION:?}"

failed=0
fail() {
	echo "FAIL: $*"
	failed=1
}
tmp=$(mktemp -d)
target_pid=
sock="flametop-completion-$$"
T() { tmux -L "$sock" "$@"; }
cleanup() {
	[ -n "$target_pid" ] && kill "$target_pid" 2>/dev/null
	command -v tmux >/dev/null 2>&1 && T kill-server >/dev/null 2>&1
	rm -rf "$tmp"
}
trap cleanup EXIT

# complete LINE: what bash would offer at the end of LINE, one per line, sorted.
complete_line() {
	bash --norc --noprofile -c '
		source "$1" || exit 1
		spec=$(complete -p flametop) || exit 1
		func=${spec#*-F }
		func=${func%% *}
		line=$2
		# split as readline does with the default COMP_WORDBREAKS: at blanks, and "=" alone
		words=()
		for w in $line; do
			if [[ $w == --*=* ]]; then
				words+=("${w%%=*}" "=")
				[[ -n ${w#*=} ]] && words+=("${w#*=}")
			else
				words+=("$w")
			fi
		done
		[[ $line == *" " || $line == *= ]] && words+=("")
		COMP_WORDS=("${words[@]}")
		COMP_CWORD=$((${#words[@]} - 1))
		COMP_LINE=$line
		COMP_POINT=${#line}
		"$func" flametop "${COMP_WORDS[COMP_CWORD]}" "${COMP_WORDS[COMP_CWORD - 1]}"
		printf "%s\n" "${COMPREPLY[@]}" | sort
	' complete_line "$FLAMETOP_BASH_COMPLETION" "$1"
}

# expect LINE WORD...: the completions of LINE are exactly WORD...
expect() {
	local line=$1 got want
	shift
	got=$(complete_line "$line" | tr '\n' ' ' | sed 's/ $//')
	want=$(printf '%s\n' "$@" | sort | tr '\n' ' ' | sed 's/ $//')
	[ "$got" = "$want" ] || fail "'$line<TAB>' offers '$got', expected '$want'"
}

spec=$(bash --norc --noprofile -c "source '$FLAMETOP_BASH_COMPLETION' && complete -p flametop")
[ "$spec" = "complete -F _flametop flametop" ] || fail "complete -p flametop says '$spec'"

# ---- the values of the choice options ----
expect "flametop snapshot --format " text json folded pprof speedscope
expect "flametop snapshot --format=" text json folded pprof speedscope
expect "flametop snapshot --format=js" json
expect "flametop snapshot -f f" folded
for value in cpu offcpu heap; do
	complete_line "flametop convert r.ftr --metric " | grep -qx "$value" ||
		fail "'flametop convert r.ftr --metric <TAB>' does not offer $value"
done
expect "flametop --unwind " auto fp dwarf
expect "flametop record --source " auto bpf perf
expect "flametop snapshot --heap " growth off exact
expect "flametop snapshot --duration " # a number: nothing to offer
for opt in --format --metric --heap --unwind --source; do
	for cmd in snapshot record convert; do
		"$FLAMETOP" "$cmd" --help | grep -q -- "$opt " && break
	done
	for value in $(complete_line "flametop $cmd $opt "); do
		"$FLAMETOP" "$cmd" "$opt" "$value" --help >/dev/null 2>&1 ||
			fail "the completion offers '$cmd $opt $value', which flametop refuses"
	done
done

# ---- commands, and each command's options: exactly what its --help lists ----
commands=$("$FLAMETOP" --help | sed -n '/^commands:/,/^$/s/^  \([a-z][a-z-]*\) .*/\1/p')
# shellcheck disable=SC2086
expect "flametop " $commands
expect "flametop sn" snapshot
help_options() { sed -n 's/^  \(-[A-Za-z]\), \(--[a-z][a-z0-9-]*\).*/\1\n\2/p; s/^      \(--[a-z][a-z0-9-]*\).*/\1/p'; }
all=$(complete_line "flametop -")
for cmd in $commands; do
	want=$("$FLAMETOP" "$cmd" --help | help_options | sort)
	got=$(complete_line "flametop $cmd -" | sort)
	all+=$'\n'$got
	missing=$(comm -23 <(echo "$want") <(echo "$got") | tr '\n' ' ')
	extra=$(comm -13 <(echo "$want") <(echo "$got") | tr '\n' ' ')
	[ -z "$missing" ] || fail "'flametop $cmd -<TAB>' lacks $missing(its --help lists them)"
	[ -z "$extra" ] || fail "'flametop $cmd -<TAB>' offers $extra(its --help does not list them)"
done
# and every option of the full --help is completed somewhere (the live view's are checked so)
missing=$(comm -23 <("$FLAMETOP" --help | help_options | sort) <(echo "$all" | sort -u) |
	tr '\n' ' ')
[ -z "$missing" ] || fail "no command completes $missing(flametop --help lists them)"

# ---- processes for -p: by pid and by name, in a list ----
cp /bin/sleep "$tmp/ftcompltarget"
"$tmp/ftcompltarget" 60 &
target_pid=$!
for _ in 1 2 3 4 5 6 7 8 9 10; do
	[ "$(cat /proc/$target_pid/comm 2>/dev/null)" = ftcompltarget ] && break
	sleep 0.1
done
expect "flametop -p ftcompltar" "$target_pid"
expect "flametop snapshot -p 1,ftcompltar" "1,$target_pid"
expect "flametop snapshot --pid=ftcompltar" "$target_pid"
complete_line "flametop -p ${target_pid:0:2}" | grep -qx "$target_pid  ftcompltarget" ||
	fail "'flametop -p ${target_pid:0:2}<TAB>' does not list '$target_pid  ftcompltarget'"
n=$(complete_line "flametop -p " | wc -l)
[ "$n" -ge 3 ] || fail "'flametop -p <TAB>' offers $n processes"

# ---- files ----
mkdir "$tmp/files"
touch "$tmp/files/incident.ftr" "$tmp/files/incident.ftr.1"
expect "flametop replay $tmp/files/inc" "$tmp/files/incident.ftr" "$tmp/files/incident.ftr.1"
expect "flametop convert --format pprof $tmp/files/incident.ftr." "$tmp/files/incident.ftr.1"
expect "flametop snapshot -o $tmp/files/incident.ftr." "$tmp/files/incident.ftr.1"
expect "flametop record --max-files 3 -o $tmp/files/i" "$tmp/files/incident.ftr" \
	"$tmp/files/incident.ftr.1"

# ---- the command after -- ----
complete_line "flametop snapshot -- ftcompl" | grep -q . &&
	fail "'flametop snapshot -- ftcompl<TAB>' offers something that is not a command"
PATH="$tmp:$PATH" complete_line "flametop snapshot -- ftcompl" | grep -qx ftcompltarget ||
	fail "'flametop snapshot -- ftcompl<TAB>' does not offer the command ftcompltarget"

[ "$failed" = 0 ] && echo "ok: bash: complete -p, commands, options, values, -p, files, --"

# ---- real shells in a terminal ----
# wait_for PATTERN: until the screen matches (extended regex), 10 s at most.
wait_for() {
	local deadline=$((SECONDS + 10))

	while [ "$SECONDS" -lt "$deadline" ]; do
		T capture-pane -p -t t | grep -qE -- "$1" && return 0
		sleep 0.2
	done
	return 1
}
format_list='folded +json +pprof +speedscope +text'

if ! command -v tmux >/dev/null 2>&1; then
	echo "skip: tmux is not installed: no interactive shells"
	exit $failed
fi
T -f /dev/null new-session -d -s t -x 120 -y 20 \
	"env -i PATH='$PATH' HOME='$tmp' TERM=tmux-256color bash --norc --noprofile"
T set-option -g status off

if [ -f /usr/share/bash-completion/bash_completion ]; then
	# the loader looks in $XDG_DATA_DIRS/bash-completion/completions/: where meson installs it
	mkdir -p "$tmp/share/bash-completion/completions"
	cp "$FLAMETOP_BASH_COMPLETION" "$tmp/share/bash-completion/completions/flametop"
	T send-keys -t t "export XDG_DATA_DIRS='$tmp/share:/usr/share' PS1='bash\$ '" Enter
	T send-keys -t t "source /usr/share/bash-completion/bash_completion; clear" Enter
	wait_for '^bash\$' || fail "no bash prompt in tmux"
	T send-keys -t t "flametop snapshot --format " Tab Tab
	if wait_for "$format_list"; then
		echo "ok: bash in a terminal completes 'flametop snapshot --format <TAB>'"
	else
		fail "bash in tmux: 'flametop snapshot --format <TAB><TAB>' did not list the formats"
		T capture-pane -p -t t
	fi
	T send-keys -t t C-u "flametop snapshot --format=js" Tab
	wait_for 'format=json' || fail "bash in tmux: --format=js<TAB> is not --format=json"
	T send-keys -t t C-u "clear" Enter
else
	echo "skip: bash-completion is not installed: no interactive bash"
fi

if command -v zsh >/dev/null 2>&1; then
	mkdir -p "$tmp/zsh"
	cp "$FLAMETOP_ZSH_COMPLETION" "$tmp/zsh/_flametop"
	T send-keys -t t "exec zsh -f" Enter
	T send-keys -t t "PS1='zsh%# ' fpath=('$tmp/zsh' \$fpath); autoload -Uz compinit" Enter
	T send-keys -t t "compinit -u -D && clear" Enter
	wait_for '^zsh#' || fail "no zsh prompt in tmux"
	T send-keys -t t "flametop snapshot --format " Tab
	if wait_for "$format_list"; then
		echo "ok: zsh in a terminal completes 'flametop snapshot --format <TAB>'"
	else
		fail "zsh in tmux: 'flametop snapshot --format <TAB>' did not list the formats"
		T capture-pane -p -t t
	fi
	T send-keys -t t C-u "flametop snapshot --met" Tab
	wait_for 'snapshot --metric' || fail "zsh in tmux: --met<TAB> is not --metric"
	T send-keys -t t C-u "flametop -p ftcompltar" Tab
	wait_for "flametop -p $target_pid" || {
		fail "zsh in tmux: -p ftcompltar<TAB> is not the pid $target_pid"
		T capture-pane -p -t t
	}
	T send-keys -t t C-u "flametop rep" Tab
	wait_for 'flametop replay' || fail "zsh in tmux: rep<TAB> is not replay"
else
	echo "skip: zsh is not installed: no interactive zsh"
fi
exit $failed
