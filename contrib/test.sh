#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0-only
# One command from a fresh Debian 12 machine to the whole test suite: installs what is needed,
# builds, runs every suite (unit, render, bpf, integration; BPF tests need root), then builds the
# libFuzzer targets with clang and runs each for a bounded time (FLAMETOP_FUZZ_SECONDS, default
# 20; 0 skips fuzzing). Ends with one line: "tests: N passed, N failed, N skipped".
set -uo pipefail
cd "$(dirname "$0")/.."
bash contrib/build.sh || exit 1

rc=0
meson test -C build --print-errorlogs "$@" || rc=1
logs=(build/meson-logs/testlog.json)

secs=${FLAMETOP_FUZZ_SECONDS:-20}
if [ "$secs" != 0 ]; then
	if [ -f build-fuzz/build.ninja ]; then
		meson setup --reconfigure build-fuzz >/dev/null || rc=1
	else
		CC=clang meson setup build-fuzz -Dfuzz=true >/dev/null || rc=1
	fi
	meson compile -C build-fuzz >/dev/null || rc=1
	FLAMETOP_FUZZ_SECONDS=$secs meson test -C build-fuzz --suite fuzz --print-errorlogs || rc=1
	logs+=(build-fuzz/meson-logs/testlog.json)
fi

python3 - "${logs[@]}" <<'PY'
import json, sys
n = {"passed": 0, "failed": 0, "skipped": 0}
bad = 0
for path in sys.argv[1:]:
    try:
        lines = open(path).read().splitlines()
    except OSError:
        continue
    for line in lines:
        if not line.strip():
            continue
        try:
            r = json.loads(line)["result"]
        except (ValueError, KeyError, TypeError):
            # a line cut short (the log rewritten while read): said, not a crash
            bad += 1
            continue
        n["passed" if r in ("OK", "EXPECTEDFAIL") else "skipped" if r == "SKIP" else "failed"] += 1
print(f"tests: {n['passed']} passed, {n['failed']} failed, {n['skipped']} skipped"
      + (f" ({bad} unreadable log lines)" if bad else ""))
PY
exit $rc
