#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Runs one libFuzzer target for a bounded time (the `fuzz` test suite; CI runs it):
#   run.sh FUZZER SEED_CORPUS WORKDIR [SECONDS]
# SECONDS defaults to $FLAMETOP_FUZZ_SECONDS, else 60. New inputs go to WORKDIR/corpus (the seeds
# in the source tree are only read); a crash leaves its input in WORKDIR/crashes and fails.
set -eu
fuzzer=$1
seeds=$2
work=$3
secs=${4:-${FLAMETOP_FUZZ_SECONDS:-60}}
mkdir -p "$work/corpus" "$work/crashes"
exec "$fuzzer" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
	-artifact_prefix="$work/crashes/" "$work/corpus" "$seeds"
