#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 5's figures, measured side by side in one run (the machine is shared and noisy, so runs
# alternate and medians are reported):
#  1. a context-switch-heavy load: two threads ping-ponging a byte over pipes on one CPU, paced
#     to ~10k switches/s (~95 us of work per hop) and flat out; the overhead is the CPU time
#     per hop (both threads, user + sys), which other programs on the machine do not change;
#     alone / with probes/sched attached to the whole system / attached but filtered to another
#     process / under a whole flametop snapshot (cpu + sched) / under bcc's offcputime when it
#     can run here;
#  2. memory: flametop on a workload that creates and ends 1,000 threads per second for a minute:
#     its RSS and the BPF "threads"/"stacks" maps, sampled every 5 s, must stay flat.
# usage: bench/sched-overhead.sh [BUILD_DIR] [REPS] [CHURN_SECONDS]   (as root; CHURN_SECONDS 0
#        skips the memory part)
set -euo pipefail
build=${1:-build}
reps=${2:-5}
churn_secs=${3:-60}
flametop=$build/cli/flametop
pingpong=$build/bench/pingpong
attach=$build/bench/sched_attach
states=$build/tests/workloads/states
secs=5
tmp=$(mktemp -d)
stats_was=
trap 'kill $(jobs -p) 2>/dev/null || true; rm -rf "$tmp"
	[ -z "$stats_was" ] || echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled' EXIT

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# Runs the load ($1 = loop iterations per hop) under configuration $2; prints "hops/s ns-per-hop".
load_under() {
	local work=$1 how=$2 p out
	case $how in
	alone)
		"$pingpong" "$secs" "$work" | cut -d' ' -f1,4 ;;
	sched)
		"$attach" $((secs + 3)) > "$tmp/attach.out" & p=$!
		sleep 1.5
		"$pingpong" "$secs" "$work" | cut -d' ' -f1,4
		wait "$p" ;;
	filtered)
		sleep 1000 & local other=$!
		"$attach" $((secs + 3)) "$other" > /dev/null & p=$!
		sleep 1.5
		"$pingpong" "$secs" "$work" | cut -d' ' -f1,4
		wait "$p"; kill "$other"; wait "$other" 2>/dev/null || true ;;
	flametop)
		"$flametop" snapshot --duration $((secs + 3)) --format folded -o "$tmp/f.folded" \
			2> /dev/null & p=$!
		sleep 1.5
		"$pingpong" "$secs" "$work" | cut -d' ' -f1,4
		wait "$p" ;;
	offcputime)
		offcputime-bpfcc -f $((secs + 3)) > /dev/null 2>&1 & p=$!
		sleep 3
		"$pingpong" "$secs" "$work" | cut -d' ' -f1,4
		wait "$p" || true ;;
	esac
}

configs="alone sched filtered flametop"
offcpu_err=""
if command -v offcputime-bpfcc > /dev/null; then
	if out=$(timeout 60 offcputime-bpfcc -f 1 2>&1); then
		configs="$configs offcputime"
	else
		offcpu_err=$(printf '%s\n' "$out" | grep -m1 -i 'unable to\|cannot attach\|kprobe' ||
			printf '%s\n' "$out" | tail -1)
	fi
else
	offcpu_err="not installed (apt-get install bpfcc-tools)"
fi

# ~95 us of work per hop: ~10k switches/s. Calibrated once, so every run does the same work.
paced_iters=$("$pingpong" --calibrate 95000)
for load in "paced:$paced_iters" "flat:0"; do
	name=${load%%:*}; work=${load#*:}
	for i in $(seq "$reps"); do
		for how in $configs; do
			load_under "$work" "$how" >> "$tmp/$name.$how"
		done
	done
done

echo "== pipe ping-pong on one CPU (median of $reps runs of ${secs} s; each hop is a switch)"
echo "   CPU ns per hop (both threads, user+sys) is the overhead measure: it does not depend on"
echo "   how much CPU other programs take; hops/s is shown too"
printf "%-10s %12s %12s %9s   %12s %12s %9s\n" "" "paced hop/s" "ns/hop" "overhead" \
	"flat hop/s" "ns/hop" "overhead"
pa=$(cut -d' ' -f2 "$tmp/paced.alone" | median); fa=$(cut -d' ' -f2 "$tmp/flat.alone" | median)
for how in $configs; do
	ph=$(cut -d' ' -f1 "$tmp/paced.$how" | median)
	pn=$(cut -d' ' -f2 "$tmp/paced.$how" | median)
	fh=$(cut -d' ' -f1 "$tmp/flat.$how" | median); fn=$(cut -d' ' -f2 "$tmp/flat.$how" | median)
	printf "%-10s %12.0f %12.0f %8.2f%%   %12.0f %12.0f %8.2f%%\n" "$how" "$ph" "$pn" \
		"$(awk -v a="$pa" -v b="$pn" 'BEGIN {print (b - a) / a * 100}')" "$fh" "$fn" \
		"$(awk -v a="$fa" -v b="$fn" 'BEGIN {print (b - a) / a * 100}')"
done
echo "(alone: no probe; sched: probes/sched on the whole system; filtered: attached, filtered to"
echo " another process; flametop: a whole-system snapshot, on-CPU sampling and sched)"
[ -n "$offcpu_err" ] && echo "offcputime (bcc): cannot run here: $offcpu_err"
[ -s "$tmp/attach.out" ] && echo "last sched run: $(cat "$tmp/attach.out")"

echo
echo "== the probe's own cost per event on the flat-out ping-pong (kernel.bpf_stats_enabled is"
echo "   switched on for these runs only, then restored)"
maxid() { bpftool -j prog show | python3 -c '
import json, sys
print(max([p["id"] for p in json.load(sys.stdin)] or [0]))'; }
# runs and ns/run of the first programs of these names loaded after id $1
progstat() { bpftool -j prog show | python3 -c '
import json, sys
base = int(sys.argv[1]); progs = json.load(sys.stdin)
for name in sys.argv[2:]:
    c = [p for p in progs if p.get("name") == name and p["id"] > base]
    if not c:
        continue
    p = min(c, key=lambda p: p["id"])
    n, t = p.get("run_cnt", 0), p.get("run_time_ns", 0)
    print("   %-10s %-12s %10d runs %8.1f ns/run" % (sys.argv[0], name, n, t / n if n else 0))
' "$@"; }
stats_was=$(cat /proc/sys/kernel/bpf_stats_enabled)
echo 1 > /proc/sys/kernel/bpf_stats_enabled
for how in sched filtered; do
	base=$(maxid)
	if [ "$how" = filtered ]; then
		sleep 1000 & other=$!
		"$attach" $((secs + 3)) "$other" > /dev/null & p=$!
	else
		"$attach" $((secs + 3)) > /dev/null & p=$!
	fi
	sleep 1.5
	"$pingpong" "$secs" 0 > /dev/null
	progstat "$base" on_switch on_wakeup | sed "s/^   -c /   $how /"
	wait "$p"
	[ "$how" = filtered ] && { kill "$other"; wait "$other" 2>/dev/null || true; }
done

echo
echo "== --waker-stacks: the waker's stacks at each wakeup of a block of --min-block or more"
echo "   (whole system; the ping-pong's blocks are microseconds long, so with the default"
echo "   --min-block of 1 ms it takes none: the cost is one comparison; with --min-block 1 us"
echo "   every wakeup takes them: what one costs; then the states workload, blocks of ms)"
for cfg in "off 0 pingpong" "waker 0 pingpong" "off 1 pingpong" "waker 1 pingpong" \
	   "off 0 states" "waker 0 states"; do
	set -- $cfg
	base=$(maxid)
	"$attach" $((secs + 3)) 0 0 "$2" "$1" > /dev/null & p=$!
	sleep 1.5
	if [ "$3" = states ]; then
		"$states" "$secs" mix "$tmp" > /dev/null
	else
		"$pingpong" "$secs" 0 > /dev/null
	fi
	progstat "$base" on_switch on_wakeup |
		sed "s/^   -c /   $1 $([ "$2" = 1 ] && echo 'min-block 1us' || echo 'min-block 1ms') $3 /"
	wait "$p"
done
echo "$stats_was" > /proc/sys/kernel/bpf_stats_enabled
stats_was=

[ "$churn_secs" -gt 0 ] || exit 0
echo
echo "== memory: flametop on 1,000 new threads per second for ${churn_secs} s"
base=$(bpftool -j map show 2>/dev/null | python3 -c '
import json, sys
print(max([m["id"] for m in json.load(sys.stdin)] or [0]))')
"$flametop" snapshot --duration $((churn_secs + 10)) --format folded -o "$tmp/c.folded" -- \
	"$states" "$churn_secs" churn . 2> "$tmp/c.err" & fpid=$!
printf "%6s %10s %14s %14s\n" "t (s)" "RSS (KiB)" "threads map" "stacks map"
for t in $(seq 0 5 "$churn_secs"); do
	sleep_to=$(( t == 0 ? 3 : 5 ))
	sleep "$sleep_to"
	rss=$(awk '/VmRSS/ {print $2}' /proc/$fpid/status 2>/dev/null || echo -)
	# this flametop's maps: the first "threads" and "stacks" made after it started
	tid=$(bpftool -j map show 2>/dev/null | python3 -c '
import json, sys
ids = [m["id"] for m in json.load(sys.stdin) if m.get("name") == sys.argv[1]]
ids = [i for i in ids if i > int(sys.argv[2])]
print(min(ids) if ids else "")' threads "$base")
	sid=$(bpftool -j map show 2>/dev/null | python3 -c '
import json, sys
ids = [m["id"] for m in json.load(sys.stdin) if m.get("name") == sys.argv[1]]
ids = [i for i in ids if i > int(sys.argv[2])]
print(min(ids) if ids else "")' stacks "$base")
	nt=$( [ -n "$tid" ] && bpftool map dump id "$tid" 2>/dev/null | grep -c '"key"' || echo -)
	ns=$( [ -n "$sid" ] && bpftool map dump id "$sid" 2>/dev/null | grep -c '"key"' || echo -)
	printf "%6d %10s %14s %14s\n" "$((t + 3))" "$rss" "$nt entries" "$ns entries"
done
wait "$fpid" || true
grep -i "warning" "$tmp/c.err" || true
exit 0
