#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Bytes written to the terminal per second at steady state, flametop next to htop in the same
# run, at 80x24 and 200x50; and the CPU time flametop's UI spends per tick.
#
# Each program runs alone in a tmux pane of the given size; after a warm-up, tmux pipe-pane
# counts every byte the program writes to its terminal for a while. The machine is kept busy by
# the threads_named workload so that both screens have something changing.
#
#   bench/tui-bytes.sh [SECONDS]          (default 20 s of measurement per run)
#   FLAMETOP=build/cli/flametop FLAMETOP_WORKLOADS=build/tests/workloads bench/tui-bytes.sh
#
# flametop's UI cost comes from FLAMETOP_TUI_STATS (tui_tick() measures its thread CPU time).
# Needs root (BPF), tmux and htop.
set -euo pipefail
cd "$(dirname "$0")/.."

secs=${1:-20}
warmup=5
flametop=${FLAMETOP:-build/cli/flametop}
workloads=${FLAMETOP_WORKLOADS:-build/tests/workloads}
for p in tmux htop; do
	command -v "$p" >/dev/null || { echo "tui-bytes: $p is not installed (contrib/deps.sh)" >&2; exit 1; }
done
[ -x "$flametop" ] || { echo "tui-bytes: no $flametop: build first (contrib/build.sh)" >&2; exit 1; }
flametop=$(realpath "$flametop")

tmp=$(mktemp -d)
sock="tui-bytes-$$"
T() { tmux -L "$sock" "$@"; }
cleanup() {
	T kill-server >/dev/null 2>&1 || true
	[ -n "${load_pid:-}" ] && kill "$load_pid" 2>/dev/null || true
	rm -rf "$tmp"
}
trap cleanup EXIT

# Something to look at: a process with a hot, a warm and an idle thread.
"$workloads/threads_named" 86400 &
load_pid=$!

# run NAME W H KEYS CMD...: prints bytes/s written by CMD to a W x H terminal.
run() {
	local name=$1 w=$2 h=$3 keys=$4 out="$tmp/$1-$2x$3.bytes"
	shift 4

	T -f /dev/null new-session -d -s b -x "$w" -y "$h" \
		"env TERM=tmux-256color LANG=C.UTF-8 FLAMETOP_TUI_STATS=$tmp/stats $*"
	T set-option -g status off
	T set-option -g window-size manual
	T resize-window -t b -x "$w" -y "$h"
	sleep 1
	[ -n "$keys" ] && T send-keys -t b "$keys"
	sleep "$warmup"
	: >"$out"
	T pipe-pane -t b -o "cat >>'$out'"
	sleep "$secs"
	T pipe-pane -t b
	T send-keys -t b q
	sleep 2
	T kill-server >/dev/null 2>&1 || true
	echo $(($(stat -c %s "$out") / secs))
}

printf '%-28s %9s %9s\n' "bytes/s (${secs}s each)" "80x24" "200x50"
# The whole system (whatever else runs on the machine shows up in both), then one process.
for spec in \
	"htop|htop -d 10|" \
	"flametop threads|$flametop|" \
	"flametop flame|$flametop|2" \
	"htop -p|htop -d 10 -p $load_pid|" \
	"flametop -p threads|$flametop -p $load_pid|" \
	"flametop -p flame|$flametop -p $load_pid|2"; do
	IFS='|' read -r name cmd keys <<<"$spec"
	small=$(run "${name// /_}" 80 24 "$keys" "$cmd")
	big=$(run "${name// /_}" 200 50 "$keys" "$cmd")
	printf '%-28s %9s %9s\n' "$name" "$small" "$big"
done

echo
echo "flametop UI CPU per tick (window_sum + views + drawing), one line per run above:"
cat "$tmp/stats" 2>/dev/null || echo "(no stats: FLAMETOP_TUI_STATS not honoured?)"
