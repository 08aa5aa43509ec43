#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 11's start-up figures: what a short snapshot costs, and how soon the live view shows.
#
#   snapshot  `flametop snapshot --duration 1 --format json -o /dev/null`, whole system: its CPU
#             (user + sys from getrusage, everything from exec to exit) and wall time;
#   live      `flametop` in a detached tmux pane (120x40): the time from starting it until the
#             pane shows its first screen (the header) and until it shows the first tick's
#             threads ("Threads N"), polled with capture-pane every 20 ms.
# Each run alternates the binaries under test (the same load for all), N runs each; medians,
# minima and maxima are printed. Run as root (whole system); other load on the host shows in
# the figures, the ratios within one run are what compares.
#
# usage: bench/startup.sh [BUILD_DIR] [RUNS]
#   FLAMETOP_STARTUP_BASE=BINARY  a baseline flametop run alternately with the build's
#   FLAMETOP_STARTUP_KALLSYMS=1   also the build's binary with FLAMETOP_KALLSYMS=1 (kernel
#                                 names from /proc/kallsyms, as before probes/ksym)
#   FLAMETOP_STARTUP_LIVE=0       snapshots only
set -euo pipefail
build=${1:-build}
runs=${2:-5}
flametop=$(realpath "$build/cli/flametop")
base=${FLAMETOP_STARTUP_BASE:-}
tmp=$(mktemp -d /tmp/flametop-startup.XXXXXX)
trap 'rm -rf "$tmp"' EXIT

[ -x "$flametop" ] || { echo "startup.sh: $flametop is missing (build first)" >&2; exit 2; }
[ "$(id -u)" = 0 ] || { echo "startup.sh: run as root (whole-system profiles)" >&2; exit 2; }
[ -z "$base" ] || [ -x "$base" ] || { echo "startup.sh: $base is not executable" >&2; exit 2; }

# name, then the command prefix (env assignments and the binary)
names=(new)
cmds=("$flametop")
if [ -n "$base" ]; then
	names+=(base)
	cmds+=("$(realpath "$base")")
fi
if [ "${FLAMETOP_STARTUP_KALLSYMS:-0}" = 1 ]; then
	names+=(new-kallsyms)
	cmds+=("env FLAMETOP_KALLSYMS=1 $flametop")
fi

snapshot() { # name cmd: user+sys of the run, the process's own rusage from wait4()
	      # (microseconds; time(1), which bench/churn.sh uses, gives the same in hundredths),
	      # and its wall time. Not getrusage(RUSAGE_CHILDREN): it also counts the children of
	      # whatever ran in the process before the interpreter, and where `python3` is pyenv's
	      # shim (a bash script that execs it) that was ~70 ms of pyenv's own commands in every
	      # figure.
	# shellcheck disable=SC2086
	python3 - "$1" $2 snapshot --duration 1 --format json -o /dev/null >>"$tmp/snap" <<'PY'
import os, subprocess, sys, time
t0 = time.monotonic()
p = subprocess.Popen(sys.argv[2:], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
_, _, ru = os.wait4(p.pid, 0)
wall = time.monotonic() - t0
print("%s %.4f %.4f" % (sys.argv[1], ru.ru_utime + ru.ru_stime, wall))
PY
}

live() { # name cmd
	local s="flametop-startup-$$" t0 now first= data=
	t0=$(date +%s.%N)
	tmux new-session -d -s "$s" -x 120 -y 40 "$2"
	for _ in $(seq 1 500); do
		now=$(date +%s.%N)
		pane=$(tmux capture-pane -p -t "$s" 2>/dev/null || true)
		if [ -z "$first" ] && grep -q '^flametop on ' <<<"$pane"; then
			first=$(echo "$now - $t0" | bc)
		fi
		if grep -q '^Threads [0-9]' <<<"$pane"; then
			data=$(echo "$now - $t0" | bc)
			break
		fi
		sleep 0.02
	done
	tmux send-keys -t "$s" q 2>/dev/null || true
	sleep 0.3
	tmux kill-session -t "$s" 2>/dev/null || true
	echo "$1 ${first:-nan} ${data:-nan}" >>"$tmp/live"
}

for r in $(seq 1 "$runs"); do
	for i in "${!names[@]}"; do
		snapshot "${names[$i]}" "${cmds[$i]}"
	done
done
if [ "${FLAMETOP_STARTUP_LIVE:-1}" != 0 ] && command -v tmux >/dev/null; then
	for r in $(seq 1 "$runs"); do
		for i in "${!names[@]}"; do
			live "${names[$i]}" "${cmds[$i]}"
		done
	done
fi

echo "start-up, $runs runs each, alternating; load average: $(cut -d' ' -f1-3 /proc/loadavg)"
python3 - "$tmp" "${names[@]}" <<'PY'
import statistics, sys, os
tmp, names = sys.argv[1], sys.argv[2:]
def rows(f):
	p = os.path.join(tmp, f)
	return [l.split() for l in open(p)] if os.path.exists(p) else []
def fmt(v):
	v = [x for x in v if x == x]
	if not v:
		return "-"
	return "%.3f (%.3f-%.3f)" % (statistics.median(v), min(v), max(v))
snap, live = rows("snap"), rows("live")
print("%-13s %-26s %-26s" % ("binary", "snapshot CPU s (min-max)", "snapshot wall s"))
for n in names:
	r = [x for x in snap if x[0] == n]
	print("%-13s %-26s %-26s" % (n, fmt([float(x[1]) for x in r]), fmt([float(x[2]) for x in r])))
if live:
	print("%-13s %-26s %-26s" % ("binary", "live: first screen s", "live: first threads s"))
	for n in names:
		r = [x for x in live if x[0] == n]
		print("%-13s %-26s %-26s" % (n, fmt([float(x[1]) for x in r]), fmt([float(x[2]) for x in r])))
PY
