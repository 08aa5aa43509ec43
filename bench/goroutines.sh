#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# Issue 12's cost figures: what one tick of reading a Go program's goroutines costs flametop
# (thread CPU, the first tick and the steady state) with 10,000 and 100,000 goroutines parked 8
# calls deep, and the target's own throughput (one worker counting finished computations) in
# alternating periods without and with the reads, side by side in one run.
# usage: bench/goroutines.sh [BUILD_DIR] [ROUNDS] [SECONDS]   (as root)
set -euo pipefail
build=${1:-build}
rounds=${2:-5}
secs=${3:-4}
for n in 10000 100000; do
	echo "== $n goroutines"
	"$build/bench/goroutines" "$build/bench/gowork" "$n" "$rounds" "$secs"
done
