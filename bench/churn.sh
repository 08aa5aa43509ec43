#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 11's figures: a busy host with process churn, whole system at 99 Hz, in one run.
#
# Two loads, one after the other, each for SECONDS:
#   pipelines  a shell loop of short pipelines of Debian's tools (ls | grep | wc, sed | sort |
#              uniq | gzip, awk, find | wc, python3 -c): hundreds of processes a second;
#   build      a parallel build (`meson compile`) of a copy of this tree in a temp dir: cc1,
#              as, ld, meson's helpers — the compiler processes live ~0.1-2 s each.
# During each load the profilers run at the same time on the same host (the ratios within one
# run are what compares; this machine is shared and noisy):
#   flametop snapshot with the default probes (on-CPU with DWARF stack copies, thread states,
#   heap growth), flametop --heap off, `perf record -a -g`, `perf record -a --call-graph dwarf`.
# Printed per load and profiler: its own CPU (user+sys, start-up included; its minor page
# faults, which cost several microseconds each on a guest), samples, samples
# lost (per probe for flametop: cpu ring, side-band, sched, heap), the share of the samples of
# processes that lived >= 100 ms (lifetimes from perf's fork/exit records) whose user stack
# reaches its root (_start, clone3, ...), and flametop's DWARF walks (count, µs each).
# perf's DWARF unwinding happens afterwards, in `perf script`: its CPU is printed too.
#
# usage: bench/churn.sh [BUILD_DIR] [SECONDS] [LOADS]   (as root; LOADS: "pipelines build")
#   FLAMETOP_CHURN_KEEP=1 keeps the profiles and logs (the temp dir is printed).
#   FLAMETOP_CHURN_VARIANTS="defaults heapoff" picks flametop's variants (each a snapshot
#   running at the same time); a variant is defaults, heapoff, fp, or NAME=ARGS with commas for spaces, e.g.
#   "f499=-F,499".
#   FLAMETOP_CHURN_BASE=BINARY runs every variant with that flametop too (as base-NAME), at
#   the same time: a change against its base in one run.
#   FLAMETOP_CHURN_PERF_STACK=BYTES: the stack perf --call-graph dwarf copies (default 32768, as
#   flametop's default copy; perf's own default is 8192).
set -euo pipefail
build=${1:-build}
secs=${2:-20}
loads=${3:-pipelines build}
src=$(cd "$(dirname "$0")/.." && pwd)
flametop=$(realpath "$build/cli/flametop")
variants=${FLAMETOP_CHURN_VARIANTS:-defaults heapoff}
tmp=$(mktemp -d /tmp/flametop-churn.XXXXXX)
load_pid=

[ -x "$flametop" ] || { echo "churn.sh: $flametop is missing (build first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "churn.sh: run as root (whole-system profiles)" >&2; exit 2; }
command -v perf >/dev/null || { echo "churn.sh: perf is not installed" >&2; exit 2; }

stop_load() {
	if [ -n "$load_pid" ]; then
		# the load is its own process group (setsid): end all of it, and only it
		kill -TERM -- "-$load_pid" 2>/dev/null || true
		wait "$load_pid" 2>/dev/null || true
		load_pid=
	fi
}
cleanup() {
	stop_load
	if [ -n "${FLAMETOP_CHURN_KEEP:-}" ]; then
		echo "churn.sh: kept $tmp" >&2
	else
		rm -rf "$tmp"
	fi
}
trap cleanup EXIT

pipelines() {
	while :; do
		ls -l /usr/bin | grep -c rwx >/dev/null
		sed -n 's/tcp/TCP/p' /etc/services | sort | uniq -c | gzip -c >/dev/null
		awk '{ n += length($0) } END { print n }' /etc/services /etc/protocols >/dev/null
		find /usr/share/doc -maxdepth 1 | wc -l >/dev/null
		python3 -c 'import json; print(json.dumps(sum(range(20000))))' >/dev/null
		date +%s | md5sum | cut -c1-8 >/dev/null
	done
}

# A copy of this tree, configured outside the window; the window sees the compile.
prepare_build() {
	mkdir -p "$tmp/tree"
	git -C "$src" ls-files -z | (cd "$src" && xargs -0 tar -cf - --no-recursion) |
		tar -xf - -C "$tmp/tree"
	meson setup "$tmp/tree/build" "$tmp/tree" -Dtests=disabled >"$tmp/setup.log" 2>&1 ||
		{ echo "churn.sh: meson setup of the copy failed: $tmp/setup.log" >&2; cat "$tmp/setup.log" >&2; exit 1; }
}

build_loop() {
	while :; do
		meson compile -C "$tmp/tree/build" >/dev/null 2>&1 || true
		ninja -C "$tmp/tree/build" -t clean >/dev/null 2>&1 || true
	done
}

start_load() {
	case $1 in
	pipelines) setsid bash -c "$(declare -f pipelines); pipelines" & load_pid=$! ;;
	build)
		prepare_build
		setsid bash -c "tmp=$tmp; $(declare -f build_loop); build_loop" & load_pid=$! ;;
	esac
	sleep 3
}

timed() { # NAME CMD...: runs CMD, its CPU time (user sys) into $tmp/NAME.time
	local name=$1
	shift
	/usr/bin/time -f "%U %S %R" -o "$tmp/$name.time" "$@" >"$tmp/$name.out" 2>"$tmp/$name.err" || true
}

for load in $loads; do
	echo "== $load: ${secs} s, whole system at 99 Hz; $(nproc) CPUs, load average $(cut -d' ' -f1-3 /proc/loadavg)"
	start_load "$load"
	pids=()
	for v in $variants; do
		name=${v%%=*}
		case $v in
		*=*) args=${v#*=}; args=${args//,/ } ;;
		defaults) args= ;;
		heapoff) args="--heap off" ;;
		fp) args="--unwind fp --heap off" ;;
		*) echo "churn.sh: unknown variant $v" >&2; exit 2 ;;
		esac
		for bin in "$flametop" ${FLAMETOP_CHURN_BASE:+"$FLAMETOP_CHURN_BASE"}; do
			vname=$name
			[ "$bin" = "$flametop" ] || vname=base-$name
			# shellcheck disable=SC2086
			timed "$load-ft-$vname" "$bin" snapshot --duration "$secs" --format json \
				-o "$tmp/$load-ft-$vname.json" $args &
			pids+=($!)
		done
	done
	timed "$load-perf-g" perf record -q -F 99 -a -g -o "$tmp/$load-perf-g.data" \
		-- sleep "$secs" & pids+=($!)
	timed "$load-perf-dwarf" perf record -q -F 99 -a \
		--call-graph "dwarf,${FLAMETOP_CHURN_PERF_STACK:-32768}" \
		-o "$tmp/$load-perf-dwarf.data" -- sleep "$secs" & pids+=($!)
	wait "${pids[@]}" || true
	stop_load
	# perf's side: lifetimes (fork/exit), stacks, losses; its unwinding timed
	perf script -i "$tmp/$load-perf-g.data" --show-task-events -F comm,pid,tid,time,event \
		>"$tmp/$load-tasks.txt" 2>/dev/null || true
	for p in perf-g perf-dwarf; do
		timed "$load-$p-script" perf script -i "$tmp/$load-$p.data" \
			-F pid,tid,time,ip,sym,dso --no-inline
		mv "$tmp/$load-$p-script.out" "$tmp/$load-$p.script"
		perf report -i "$tmp/$load-$p.data" --stats 2>/dev/null | grep -i 'lost' \
			>"$tmp/$load-$p.lost" || true
	done
	names=
	for v in $variants; do
		names+=" ${v%%=*}"
		[ -n "${FLAMETOP_CHURN_BASE:-}" ] && names+=" base-${v%%=*}"
	done
	python3 "$src/bench/churn-report.py" "$tmp" "$load" "$secs" $names
	echo
done
