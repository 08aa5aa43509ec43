#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# What the Go stack repairs (model/gostack.h) cost the BPF sampler, side by side in one run
# (kernel.bpf_stats_enabled is switched on for these runs only, then restored):
#   go auto   a stripped Go service (tests/workloads/gopprof.go), --unwind auto: the frame-pointer
#             walk plus SP and 64 bytes at SP (struct cpu_gostack, 80 bytes a record)
#   go fp     the same with --unwind fp (the same words)
#   go dwarf  the same with --unwind dwarf: a 16 KiB stack copy per sample, as for C programs
#   c fp      a C program with frame pointers (bench/work), --unwind fp: no words at all
# Each: flametop snapshot -p PID at 999 Hz for SECS seconds; the sampler's ns per run, records
# with the words or a copy, and what the repairs did (json unwind_stats.go).
# usage: bench/go-stacks.sh [BUILD_DIR] [SECS] [REPS]   (as root)
set -euo pipefail
build=${1:-build}
secs=${2:-6}
reps=${3:-3}
flametop=$build/cli/flametop
gosvc=$build/tests/workloads/gopprof-1.22
[ -x "$gosvc" ] || gosvc=$build/tests/workloads/gopprof-1.19
work=$build/bench/work
tmp=$(mktemp -d)
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
trap 'rm -rf "$tmp"; echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled' EXIT
[ -x "$gosvc" ] || { echo "no Go workload built (tests/workloads/gopprof-1.NN)"; exit 77; }

maxid() { bpftool -j prog show | python3 -c '
import json, sys
print(max([p["id"] for p in json.load(sys.stdin)] or [0]))'; }
# ns per run of the first on_sample loaded after id $1
nsrun() { bpftool -j prog show | python3 -c '
import json, sys
base = int(sys.argv[1])
c = [p for p in json.load(sys.stdin) if p.get("name") == "on_sample" and p["id"] > base]
p = min(c, key=lambda p: p["id"]) if c else {}
n, t = p.get("run_cnt", 0), p.get("run_time_ns", 0)
print("%.0f %d" % (t / n if n else 0, n))' "$1"; }

echo 1 > /proc/sys/kernel/bpf_stats_enabled
echo "== on_sample cost, $secs s at 999 Hz per run, $reps runs each (median ns per run)"
for r in $(seq "$reps"); do
	for cfg in "go auto" "go fp" "go dwarf" "c fp"; do
		set -- $cfg
		if [ "$1" = go ]; then
			"$gosvc" $((secs + 5)) > /dev/null & t=$!
		else
			"$work" 100000 > /dev/null & t=$!
		fi
		sleep 1
		base=$(maxid)
		"$flametop" snapshot -p "$t" --duration "$secs" -F 999 --unwind "$2" --format json \
			-o "$tmp/out.json" 2> /dev/null & f=$!
		sleep $((secs - 1))
		nsrun "$base" >> "$tmp/$1-$2"
		wait "$f" || true
		kill "$t"; wait "$t" 2> /dev/null || true
		[ "$1" = go ] && python3 -c '
import json, sys
g = json.load(open(sys.argv[1]))["unwind_stats"]["go"]
print(" ".join("%s=%d" % kv for kv in g.items()))' "$tmp/out.json" >> "$tmp/go-$2.repairs"
	done
done
for cfg in "go auto" "go fp" "go dwarf" "c fp"; do
	set -- $cfg
	printf "%-9s %6s ns/run (median of %s), %s runs in the last\n" "$1 $2" \
		"$(cut -d' ' -f1 "$tmp/$1-$2" | sort -g | awk '{a[NR]=$1} END {print a[int((NR+1)/2)]}')" \
		"$reps" "$(tail -1 "$tmp/$1-$2" | cut -d' ' -f2)"
done
echo
echo "== repairs of the Go walks in the last run of each (json unwind_stats.go)"
for m in auto fp dwarf; do
	printf "%-6s %s\n" "$m" "$(tail -1 "$tmp/go-$m.repairs")"
done
