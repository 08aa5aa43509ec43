#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""
The share of on-CPU samples whose leaf-most user frame no mapping covers ([unknown]), from a
json snapshot: what a user sees as lost frames. Kernel frames and markers ([truncated]) are not
user frames; kernel threads have none and are left out.

usage: unknown_leaves.py SNAPSHOT.json [--max PERCENT] [--comm NAME --min-samples N]...
                         [--system-modules COMM,COMM...]
Prints the share and the worst processes; exit status 1 when it is above --max, or when a
process named by --comm has fewer than --min-samples samples (the test would not mean much).
--system-modules: the modules of those processes' user frames must be the names of files under
/usr (Debian's programs and libraries): a name cut short ("o.6" for libc.so.6) fails.
"""
import argparse
import collections
import json
import os
import sys


def system_files():
    names = set()
    for top in ("/usr/bin", "/usr/sbin", "/usr/lib", "/usr/libexec"):
        for _, _, files in os.walk(top):
            names.update(files)
    return names


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("--max", type=float)
    ap.add_argument("--comm", action="append", default=[])
    ap.add_argument("--min-samples", type=int, action="append", default=[])
    ap.add_argument("--system-modules", default="")
    a = ap.parse_args()
    want_real = set(c for c in a.system_modules.split(",") if c)
    known = system_files() if want_real else set()
    strange = collections.Counter()
    d = json.load(open(a.json))
    total = unknown = 0
    by, every = collections.Counter(), collections.Counter()
    for st in d["stacks"]:
        user = [f for f in st["frames"] if f["kind"] not in ("kernel", "special")]
        if not user and any(f["kind"] == "kernel" for f in st["frames"]) and \
                not any(f["kind"] == "special" for f in st["frames"]):
            continue  # a kernel thread
        n = st["count"]
        if st["comm"] in want_real:
            for f in user:
                if f["kind"] == "user" and f["module"] not in known:
                    strange[(st["comm"], f["module"])] += n
        total += n
        every[st["comm"]] += n
        if user and user[-1]["kind"] == "unknown":
            unknown += n
            by[st["comm"]] += n
    pct = 100.0 * unknown / total if total else 0
    print(f"samples {total}, [unknown] user leaves {unknown} ({pct:.1f}%)")
    for comm, n in by.most_common(5):
        print(f"  {comm}: {n} of {every[comm]}")
    bad = a.max is not None and pct > a.max
    for (comm, module), n in strange.most_common(10):
        print(f"  {comm}: module {module!r} is no file's name under /usr ({n} samples)")
    bad |= bool(strange)
    for comm, need in zip(a.comm, a.min_samples):
        print(f"  {comm}: {every[comm]} samples (want at least {need})")
        bad |= every[comm] < need
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
