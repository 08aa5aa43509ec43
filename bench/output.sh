#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What writing a snapshot's report costs, by format: `flametop convert --format F` of one
# recording, so every binary and format writes the same window. A snapshot writes its report
# the same way at its end: on a busy host the json report is tens of MB (every stack entry
# carries its frames), and its writing was a fifth of a 12 s snapshot's CPU.
#
# Without a recording, one is made: 10 s of the whole system at 99 Hz while a parallel build
# (`meson compile` of a copy of this tree) runs, as bench/churn.sh's build load.
# Printed per binary and format: the median CPU (user + sys, perf stat's task-clock) of RUNS
# converts, and the output's size. Needs perf.
#
# usage: bench/output.sh [BUILD_DIR] [RUNS] [RECORDING]   (as root when it records)
#   FLAMETOP_OUTPUT_BASE=BINARY  a baseline flametop, run alternately with the build's
set -euo pipefail
build=${1:-build}
runs=${2:-5}
rec=${3:-}
src=$(cd "$(dirname "$0")/.." && pwd)
flametop=$(realpath "$build/cli/flametop")
base=${FLAMETOP_OUTPUT_BASE:-}
tmp=$(mktemp -d /tmp/flametop-output.XXXXXX)
load_pid=

stop_load() {
	if [ -n "$load_pid" ]; then
		kill -TERM -- "-$load_pid" 2>/dev/null || true
		wait "$load_pid" 2>/dev/null || true
		load_pid=
	fi
}
trap 'stop_load; rm -rf "$tmp"' EXIT

[ -x "$flametop" ] || { echo "output.sh: $flametop is missing (build first)" >&2; exit 2; }
[ -z "$base" ] || [ -x "$base" ] || { echo "output.sh: $base is not executable" >&2; exit 2; }
command -v perf >/dev/null || { echo "output.sh: perf is not installed" >&2; exit 2; }

if [ -z "$rec" ]; then
	[ "$(id -u)" = 0 ] || { echo "output.sh: run as root to record (or give a recording)" >&2; exit 2; }
	mkdir -p "$tmp/tree"
	git -C "$src" ls-files -z | (cd "$src" && xargs -0 tar -cf - --no-recursion) |
		tar -xf - -C "$tmp/tree"
	meson setup "$tmp/tree/build" "$tmp/tree" -Dtests=disabled >"$tmp/setup.log" 2>&1 ||
		{ echo "output.sh: meson setup of the copy failed: $tmp/setup.log" >&2; exit 1; }
	setsid nice meson compile -C "$tmp/tree/build" >/dev/null 2>&1 &
	load_pid=$!
	sleep 2
	rec=$tmp/window.ftr
	"$flametop" record --duration 10 -o "$rec" >/dev/null 2>"$tmp/record.log" ||
		{ echo "output.sh: recording failed:" >&2; cat "$tmp/record.log" >&2; exit 1; }
	stop_load
fi
[ -r "$rec" ] || { echo "output.sh: cannot read $rec" >&2; exit 2; }

names=(new)
bins=("$flametop")
if [ -n "$base" ]; then
	names+=(base)
	bins+=("$(realpath "$base")")
fi

echo "recording: $rec ($(stat -c %s "$rec") bytes); $runs runs each, medians"
printf '%-6s %-11s %10s %14s\n' binary format "cpu (s)" "output (bytes)"
for fmt in json folded pprof speedscope text; do
	for i in "${!names[@]}"; do : >"$tmp/cpu.${names[$i]}"; done
	for ((r = 0; r < runs; r++)); do
		for i in "${!names[@]}"; do
			# task-clock: its CPU in ms (user + sys), finer than time(1)'s 10 ms
			perf stat -x, -e task-clock -o "$tmp/t" -- "${bins[$i]}" convert --format "$fmt" \
				"$rec" >"$tmp/out" 2>/dev/null
			awk -F, '/task-clock/ { printf "%.3f\n", $1 / 1000 }' "$tmp/t" >>"$tmp/cpu.${names[$i]}"
			stat -c %s "$tmp/out" >"$tmp/size.${names[$i]}"
		done
	done
	for i in "${!names[@]}"; do
		med=$(sort -n "$tmp/cpu.${names[$i]}" | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }')
		printf '%-6s %-11s %10s %14s\n' "${names[$i]}" "$fmt" "$med" "$(cat "$tmp/size.${names[$i]}")"
	done
done
