#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# The live view's memory over a long run: flametop's whole-system live view in a tmux pane (the
# real thing: views, windows, the TUI) while a workload runs, its RSS sampled every minute, and
# what it holds by part (FLAMETOP_MEM_STATS: the model's history, totals, thread and stack
# tables, the symbolizer's binaries) at the same moments.
#
#   bench/memory.sh threads MINUTES   3000 sleeping and 100 busy threads (bench/threadstorm)
#   bench/memory.sh churn MINUTES     200 short processes a second (bench/churn)
#   bench/memory.sh both MINUTES      both at once
#   bench/memory.sh quiet MINUTES     nothing added: the host as it is
#   FLAMETOP=build/cli/flametop bench/memory.sh threads 60
#
# The workload runs at nice 19 (NICE=0 to change it) and, where the cpu controller allows, in a
# cgroup of the least CPU weight (with autogroups a niced session still gets its fair share), so a
# shared machine stays usable; flametop runs at the caller's priority.
# Prints one line per minute: minutes, RSS (MiB), then the parts (MiB) and counts. The budget
# (README, "Memory") holds when RSS stops growing after the first minutes. Needs root (BPF) and
# tmux.
set -euo pipefail
cd "$(dirname "$0")/.."

what=${1:-threads}
minutes=${2:-60}
flametop=${FLAMETOP:-build/cli/flametop}
bench=${FLAMETOP_BENCH:-build/bench}
command -v tmux >/dev/null || { echo "memory: tmux is not installed (contrib/deps.sh)" >&2; exit 1; }
[ -x "$flametop" ] || { echo "memory: no $flametop: build first (contrib/build.sh)" >&2; exit 1; }
flametop=$(realpath "$flametop")

tmp=$(mktemp -d)
sock="memory-$$"
T() { tmux -L "$sock" "$@"; }
cleanup() {
	T kill-server >/dev/null 2>&1 || true
	[ ${#load_pids[@]} -gt 0 ] && kill "${load_pids[@]}" 2>/dev/null || true
	rm -rf "$tmp"
	if [ -n "${cg:-}" ]; then
		sleep 1
		rmdir "$cg" 2>/dev/null || true
	fi
}
load_pids=()
cg=
trap cleanup EXIT

# a cgroup of the least CPU weight for the workload (v2 "cpu.weight", v1 "cpu.shares")
for d in /sys/fs/cgroup/unified /sys/fs/cgroup /sys/fs/cgroup/cpu; do
	if [ -e "$d/cgroup.procs" ] && mkdir -p "$d/flametop-memory-$$" 2>/dev/null; then
		if { echo 1 >"$d/flametop-memory-$$/cpu.weight"; } 2>/dev/null ||
			{ echo 2 >"$d/flametop-memory-$$/cpu.shares"; } 2>/dev/null; then
			cg=$d/flametop-memory-$$
			break
		fi
		rmdir "$d/flametop-memory-$$" 2>/dev/null || true
	fi
done
[ -n "$cg" ] && echo $$ >"$cg/cgroup.procs" # the workloads started below inherit it

case $what in
threads | churn | both | quiet) ;;
*) echo "memory: threads, churn, both or quiet" >&2; exit 2 ;;
esac
if [ "$what" = threads ] || [ "$what" = both ]; then
	nice -n "${NICE:-19}" "$bench/threadstorm" 3000 100 &
	load_pids+=($!)
fi
if [ "$what" = churn ] || [ "$what" = both ]; then
	nice -n "${NICE:-19}" "$bench/churn" 200 &
	load_pids+=($!)
fi
# flametop itself at the caller's place, not the workload's
[ -n "$cg" ] && echo $$ >"$(dirname "$cg")/cgroup.procs"
sleep 2

T -f /dev/null new-session -d -s m -x 120 -y 40 \
	"env TERM=tmux-256color LANG=C.UTF-8 FLAMETOP_MEM_STATS=$tmp/stats $flametop"
T set-option -g status off
sleep 5
pid=$(pgrep -P "$(T display-message -p -t m '#{pane_pid}')" -x flametop || T display-message -p -t m '#{pane_pid}')

# one line a minute: RSS from /proc, the parts from the newest stats line
field() { awk -v k="$1" '{ for (i = 1; i < NF; i++) if ($i == k) v = $(i + 1) } END { print v + 0 }' "$tmp/stats"; }
printf '%4s %8s %8s %8s %8s %8s %8s %8s %8s %8s\n' min rss_mib history ticks totals threads \
	stacks_mib stacks bins_mib evicted
for ((m = 0; m <= minutes; m++)); do
	rss=$(awk '/^VmRSS/ { print $2 }' "/proc/$pid/status" 2>/dev/null || echo 0)
	printf '%4d %8.1f %8.1f %8d %8.1f %8d %8.1f %8d %8.1f %8d\n' "$m" "$(echo "$rss / 1024" | bc -l)" \
		"$(echo "$(field history_kib) / 1024" | bc -l)" "$(field ticks)" \
		"$(echo "$(field totals_kib) / 1024" | bc -l)" "$(field threads)" \
		"$(echo "$(field stacks_kib) / 1024" | bc -l)" "$(field stacks)" \
		"$(echo "$(field bins_kib) / 1024" | bc -l)" "$(field evicted)"
	[ "$m" -lt "$minutes" ] && sleep 60
done
T send-keys -t m q
sleep 2
