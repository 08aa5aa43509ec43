#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 6's figures:
#  1. bytes per second of a whole-system recording at 99 Hz (`flametop record`), next to
#     `perf record -F 99 -g -a` over the same seconds, both running at once over the same load
#     (target: flametop >= 20x smaller);
#  2. the time to open a one-hour recording and go to its end (what `g end` does in
#     `flametop replay`: every tick replayed into the model), target < 1 s. The hour is made by
#     bench/ftr-stretch from the recording of step 1 (its tables, its ticks over and over).
# usage: bench/record-size.sh [BUILD_DIR] [SECONDS] [REPS]   (as root; SECONDS >= 60 for the
# figures; REPS runs of the comparison, default 3: the machine is shared and noisy)
# BENCH_KEEP=FILE keeps the minute's recording.
set -euo pipefail
build=${1:-build}
secs=${2:-60}
reps=${3:-3}
flametop=$build/cli/flametop
tmp=$(mktemp -d)
pids=()
cleanup() {
	for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
	rm -rf "$tmp"
}
trap cleanup EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# A load with some variety: named threads, a 3:1 CPU split, syscalls.
w=$build/tests/workloads
for prog in "$w/threads_named" "$w/split31" "$w/syscalls"; do
	[ -x "$prog" ] && { "$prog" $((reps * (secs + 5) + 10)) >/dev/null 2>&1 & pids+=($!); }
done

echo "== $secs s of the whole system at 99 Hz, recorded by both at once; $reps runs"
for i in $(seq "$reps"); do
	rm -f "$tmp/rec.ftr" "$tmp/perf.data"
	"$flametop" record -o "$tmp/rec.ftr" --duration "$secs" -F 99 2>"$tmp/flametop.err" &
	fpid=$!
	perf_ok=0
	if command -v perf >/dev/null; then
		perf record -q -F 99 -g -a -o "$tmp/perf.data" -- sleep "$secs" >/dev/null 2>&1 &&
			perf_ok=1
	fi
	wait "$fpid"
	fsize=$(stat -c %s "$tmp/rec.ftr")
	samples=$("$flametop" convert "$tmp/rec.ftr" --format json 2>/dev/null |
		awk -F': ' '!n && /"samples"/ {gsub(",", "", $2); print $2; n = 1}')
	line=$(printf "run %d: flametop %8d bytes (%6.0f B/s, %s samples)" "$i" "$fsize" \
		"$(awk -v b="$fsize" -v s="$secs" 'BEGIN {print b / s}')" "$samples")
	if [ "$perf_ok" = 1 ]; then
		psize=$(stat -c %s "$tmp/perf.data")
		ratio=$(awk -v p="$psize" -v f="$fsize" 'BEGIN {print p / f}')
		echo "$ratio" >> "$tmp/ratios"
		line+=$(printf ", perf %9d bytes (%7.0f B/s): %.1fx smaller" "$psize" \
			"$(awk -v b="$psize" -v s="$secs" 'BEGIN {print b / s}')" "$ratio")
	fi
	echo "$line"
	echo "$fsize" >> "$tmp/fsizes"
done
[ -n "${BENCH_KEEP:-}" ] && cp "$tmp/rec.ftr" "$BENCH_KEEP"
printf "flametop record: %.0f bytes/s (median)\n" \
	"$(awk -v s="$secs" '{print $1 / s}' "$tmp/fsizes" | median)"
if [ -s "$tmp/ratios" ]; then
	printf "perf record -F 99 -g -a is %.1fx bigger (median; it grows with process churn)\n" \
		"$(median < "$tmp/ratios")"
else
	echo "perf record: not available (apt-get install linux-perf)"
fi

for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
pids=()
wait 2>/dev/null || true

echo
echo "== one hour: open and go to the end (the load stopped)"
"$build/bench/ftr-stretch" "$tmp/rec.ftr" "$tmp/hour.ftr" 3600
printf "one-hour recording     %10d bytes\n" "$(stat -c %s "$tmp/hour.ftr")"
for i in 1 2 3 4 5; do
	"$build/bench/replay-seek" "$tmp/hour.ftr" | tee -a "$tmp/seek" | sed 's/^/  /'
done
printf "open + seek to the end: %.0f ms (median of 5)\n" \
	"$(sed 's/.*total \([0-9.]*\) ms/\1/' "$tmp/seek" | median)"
for i in 1 2 3; do
	/usr/bin/time -f "%e" -o "$tmp/t" "$flametop" convert "$tmp/hour.ftr" --format folded \
		-o /dev/null 2>/dev/null
	cat "$tmp/t" >> "$tmp/convert"
done
printf "flametop convert of the whole hour (folded): %.2f s (median of 3)\n" \
	"$(median < "$tmp/convert")"
