#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 7's figures in one run: what heap tracking costs the program it watches.
#  1. a malloc/free loop (tens of millions of pairs): ns per pair alone, under the default
#     tracking (flametop --heap growth: rss_stat, no uprobes) and under leak mode (--heap exact:
#     uprobes on malloc, its return and free) — leak mode runs fewer pairs, it is ~100x slower;
#  2. the work the default tracking does see: fresh page faults (map, write, unmap), ns per page
#     alone and under --heap growth.
# The loop times itself in thread CPU time (user + kernel: uprobe traps and page faults are the
# thread's), so other load on a shared machine does not count; runs alternate and medians are
# reported; the loop is pinned to
# the last CPU (taskset) in every variant, so where the scheduler puts it does not differ.
# usage: bench/heap-overhead.sh [BUILD_DIR] [REPS] [PAIRS]   (as root)
set -euo pipefail
build=${1:-build}
reps=${2:-5}
pairs=${3:-20000000}
flametop=$build/cli/flametop
loop=$build/bench/mallocloop
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

pin=()
if command -v taskset >/dev/null && [ "$(nproc)" -gt 1 ]; then
	pin=(taskset -c "$(($(nproc) - 1))")
fi

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# flametop launches the loop (-- CMD): probes attach before it runs, the snapshot ends with it.
under() {
	local mode=$1; shift
	"$flametop" snapshot --duration 600 --heap "$mode" --format json -o "$tmp/s.json" \
		-- "${pin[@]}" "$loop" "$@" 2>>"$tmp/log"
}

exact_pairs=$((pairs / 100))
echo "== malloc(64)/free loop: $pairs pairs ($exact_pairs in leak mode); $reps runs each"
for i in $(seq "$reps"); do
	"${pin[@]}" "$loop" pairs "$pairs" | cut -d' ' -f1 >> "$tmp/alone"
	under off pairs "$pairs" | cut -d' ' -f1 >> "$tmp/off"
	under growth pairs "$pairs" | cut -d' ' -f1 >> "$tmp/growth"
	under exact pairs "$exact_pairs" | cut -d' ' -f1 >> "$tmp/exact"
done
a=$(median < "$tmp/alone"); o=$(median < "$tmp/off"); g=$(median < "$tmp/growth")
x=$(median < "$tmp/exact")
pct() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%+.1f %%", (b - a) / a * 100}'; }
printf "alone                    %8.2f ns/pair\n" "$a"
printf "flametop --heap off      %8.2f ns/pair  (%s: on-CPU sampling and sched only)\n" "$o" \
	"$(pct "$a" "$o")"
printf "flametop --heap growth   %8.2f ns/pair  (%s; %s against --heap off)\n" "$g" \
	"$(pct "$a" "$g")" "$(pct "$o" "$g")"
printf "flametop --heap exact    %8.2f ns/pair  (%.0fx: +%.2f us per pair)\n" "$x" \
	"$(awk -v a="$a" -v x="$x" 'BEGIN {print x / a}')" \
	"$(awk -v a="$a" -v x="$x" 'BEGIN {print (x - a) / 1000}')"
grep -h "measured here" "$tmp/log" | tail -1 || true

echo
echo "== fresh page faults (4 MiB maps written and unmapped, 2 GiB); $reps runs each"
for i in $(seq "$reps"); do
	"${pin[@]}" "$loop" faults 2048 | cut -d' ' -f1 >> "$tmp/f_alone"
	under growth faults 2048 | cut -d' ' -f1 >> "$tmp/f_growth"
done
fa=$(median < "$tmp/f_alone"); fg=$(median < "$tmp/f_growth")
printf "alone                    %8.1f ns/page\n" "$fa"
printf "flametop --heap growth   %8.1f ns/page  (%s)\n" "$fg" "$(pct "$fa" "$fg")"
exit 0
