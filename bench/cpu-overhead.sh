#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 2's figures, measured side by side in one run (the machine is shared and noisy, so runs
# alternate and medians are reported):
#  1. the slowdown of a CPU-bound program while flametop samples the whole system at 99 Hz,
#     against the same program alone;
#  2. flametop's own CPU time for a 10-second whole-system snapshot, start-up included, next to
#     `perf record -F 99 -g -a` for the same 10 seconds.
# usage: bench/cpu-overhead.sh [BUILD_DIR] [REPS]   (as root)
set -euo pipefail
build=${1:-build}
reps=${2:-5}
flametop=$build/cli/flametop
work=$build/bench/work
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
fastest() { sort -g | head -1; }

# Size the work to ~4 s alone.
"$work" 100 >/dev/null
m=$(awk -v t="$("$work" 200 | cut -d' ' -f1)" 'BEGIN {printf "%d", 200 * 4 / t}')

echo "== CPU-bound program ($m M iterations), alone vs under flametop (whole system, 99 Hz); $reps runs each"
echo "   defaults: on-CPU sampling with DWARF stack copies, thread states (sched), heap growth"
echo "   fp:       --unwind fp --heap off (frame-pointer stacks only)"
for i in $(seq "$reps"); do
	"$work" "$m" | cut -d' ' -f1 >> "$tmp/alone"
	for cfg in defaults fp; do
		args=()
		[ "$cfg" = fp ] && args=(--unwind fp --heap off)
		"$flametop" snapshot --duration 60 --format folded -o "$tmp/f.folded" "${args[@]}" &
		fpid=$!
		sleep 1.5
		"$work" "$m" | cut -d' ' -f1 >> "$tmp/$cfg"
		kill -INT "$fpid"; wait "$fpid" || true
	done
done
pct() { awk -v a="$1" -v w="$2" 'BEGIN {printf "%+.2f", (w - a) / a * 100}'; }
a=$(median < "$tmp/alone"); af=$(fastest < "$tmp/alone")
printf "%-10s %.3f s median, %.3f s fastest\n" alone "$a" "$af"
for cfg in defaults fp; do
	w=$(median < "$tmp/$cfg"); wf=$(fastest < "$tmp/$cfg")
	printf "%-10s %.3f s median, %.3f s fastest: slowdown %s %% (medians), %s %% (fastest)\n" \
		"$cfg" "$w" "$wf" "$(pct "$a" "$w")" "$(pct "$af" "$wf")"
done

echo
echo "== CPU time of a 10 s whole-system profile at 99 Hz (user+sys, start-up included); $reps runs each"
"$work" 100000 >/dev/null & load=$!
for i in $(seq "$reps"); do
	/usr/bin/time -f "%U %S" -o "$tmp/t" "$flametop" snapshot --duration 10 --format folded \
		-o "$tmp/f.folded"
	awk '{print $1 + $2}' "$tmp/t" >> "$tmp/flametop"
	if command -v perf >/dev/null; then
		/usr/bin/time -f "%U %S" -o "$tmp/t" perf record -q -F 99 -g -a -o "$tmp/perf.data" \
			-- sleep 10 >/dev/null 2>&1
		awk '{print $1 + $2}' "$tmp/t" >> "$tmp/perf"
	fi
done
kill "$load"; wait "$load" 2>/dev/null || true
printf "flametop snapshot  %.3f s CPU (median)\n" "$(median < "$tmp/flametop")"
[ -s "$tmp/perf" ] && printf "perf record -g -a  %.3f s CPU (median)\n" "$(median < "$tmp/perf")"
exit 0
