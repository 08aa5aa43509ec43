#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Go processes coming and going, while flametop snapshots the whole system (default probes, 20 s).
# Two loads:
#   copies  as `go test` makes them: every second a fresh copy of a Go test binary
#           (tests/workloads/gofix-1.NN, built with .symtab and DWARF: a new executable each
#           time) runs for a second;
#   build   `go build` of bench/gowork in a loop, a one-line change each time (its own GOCACHE,
#           filled before the window): Debian's go, compile and link, stripped, a few processes
#           of the same executables every half second, as a Go CI job makes them.
# With FLAMETOP_GOCHURN_BASE=BINARY that flametop runs at the same time: a change against its
# base in one run. Prints each one's CPU (user+sys) and the Go probe's own (probes.go_cpu_ms).
#
# usage: bench/gochurn.sh [BUILD_DIR] [SECONDS] [copies|build]   (as root)
set -euo pipefail
build=${1:-build}
secs=${2:-20}
mode=${3:-copies}
flametop=$(realpath "$build/cli/flametop")
base=${FLAMETOP_GOCHURN_BASE:-}
fixture=
for v in 1.23 1.22 1.21 1.19; do
	[ -x "$build/tests/workloads/gofix-$v" ] && { fixture=$(realpath "$build/tests/workloads/gofix-$v"); break; }
done
[ -n "$fixture" ] || { echo "gochurn.sh: no tests/workloads/gofix-1.NN in $build (Go toolchain?)" >&2; exit 2; }
gobin=
for v in 1.23 1.22 1.21 1.19; do
	[ -x "/usr/lib/go-$v/bin/go" ] && { gobin=/usr/lib/go-$v/bin/go; break; }
done
case $mode in
copies) ;;
build) [ -n "$gobin" ] || { echo "gochurn.sh: no /usr/lib/go-1.NN/bin/go" >&2; exit 2; } ;;
*) echo "gochurn.sh: the load is copies or build, not '$mode'" >&2; exit 2 ;;
esac
[ "$(id -u)" = 0 ] || { echo "gochurn.sh: run as root (whole-system profiles)" >&2; exit 2; }
tmp=$(mktemp -d /tmp/flametop-gochurn.XXXXXX)
load_pid=
cleanup() {
	[ -z "$load_pid" ] || { kill -TERM -- "-$load_pid" 2>/dev/null || true; wait "$load_pid" 2>/dev/null || true; }
	rm -rf "$tmp"
}
trap cleanup EXIT

load() {
	i=0
	while :; do
		i=$((i + 1))
		cp "$fixture" "$tmp/test$i"
		"$tmp/test$i" -grow 0 -alloc 4 -seconds 1 >/dev/null 2>&1 || true
		rm -f "$tmp/test$i"
	done
}
# go build in a loop: the module copied, its cache filled once before the window
gobuild() {
	cd "$tmp/gowork"
	i=0
	while :; do
		i=$((i + 1))
		echo "// $i" >>gowork.go
		GOCACHE=$tmp/gocache GOTOOLCHAIN=local GOFLAGS= "$gobin" build -o "$tmp/gowork.out" . \
			>/dev/null 2>&1 || true
	done
}
if [ "$mode" = build ]; then
	cp -r "$(dirname "$0")/gowork" "$tmp/gowork"
	(cd "$tmp/gowork" && GOCACHE=$tmp/gocache GOTOOLCHAIN=local GOFLAGS= "$gobin" build \
		-o "$tmp/gowork.out" . >/dev/null 2>&1) ||
		{ echo "gochurn.sh: $gobin build of bench/gowork failed" >&2; exit 1; }
	setsid bash -c "gobin=$gobin tmp=$tmp; $(declare -f gobuild); gobuild" & load_pid=$!
else
	setsid bash -c "fixture=$fixture tmp=$tmp; $(declare -f load); load" & load_pid=$!
fi
sleep 2
pids=()
names=(new)
/usr/bin/time -f "%U %S" -o "$tmp/new.time" "$flametop" snapshot --duration "$secs" --format json \
	-o "$tmp/new.json" 2>/dev/null & pids+=($!)
if [ -n "$base" ]; then
	names+=(base)
	/usr/bin/time -f "%U %S" -o "$tmp/base.time" "$base" snapshot --duration "$secs" \
		--format json -o "$tmp/base.json" 2>/dev/null & pids+=($!)
fi
wait "${pids[@]}"
if [ "$mode" = build ]; then
	echo "$gobin build in a loop, ${secs} s, whole system; load average $(cut -d' ' -f1-3 /proc/loadavg)"
else
	echo "$(basename "$fixture") copies, ${secs} s, whole system; load average $(cut -d' ' -f1-3 /proc/loadavg)"
fi
for n in "${names[@]}"; do
	python3 - "$tmp/$n.json" "$tmp/$n.time" "$n" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
u, s = (float(x) for x in open(sys.argv[2]).read().split())
print(f"{sys.argv[3]:5s} {u + s:.2f} s CPU, the Go probe {d['probes'].get('go_cpu_ms', 0):.0f} ms")
PY
done
