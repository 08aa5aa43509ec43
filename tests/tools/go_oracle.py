#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Compares flametop's goroutine groups (snapshot json) with the program's own
runtime.Stack(buf, true) dump taken right after (tests/test_goroutines.c):

    go_oracle.py JSON DUMP PID [--exclude-created-by F]... [--no-names]
                 [--growth-created-by F --dump0 DUMP0] [--syscall-check F]...

Parked (waiting) goroutines that are not the runtime's own are counted by (wait reason,
created-by function) on both sides and must match exactly, except for groups created by an
--exclude-created-by function (they change between the two moments). Stripped binaries
(-s -w) are judged the same way: flametop names their functions from .gopclntab. --no-names
compares by wait reason only, and only the reasons no runtime-internal goroutine waits for (for
looking at a build whose functions cannot be named). --syscall-check F: the goroutine in a
syscall whose stack holds F must be in flametop's json with the very frames runtime.Stack
prints for it (before Go 1.23 the runtime saves no frame pointer for a syscall). With --dump0 (a dump taken before the
snapshot) the group created by --growth-created-by must grow, in flametop's json, at the rate the
program's own dumps show (their count over the time between the two files' mtimes) within 10 %.
Prints what differs; exit 1 when anything does."""
import argparse
import collections
import json
import os
import re
import sys


def dump_syscall_stacks(path):
    """The function names of each goroutine in a syscall, innermost first."""
    head = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[([^\]]*)\]:$")
    stacks, cur = [], None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = head.match(line)
        if m:
            cur = [] if m.group(2).split(",")[0] == "syscall" else None
            if cur is not None:
                stacks.append(cur)
            continue
        if cur is None or not line or line.startswith("\t") or line.startswith("created by "):
            continue
        cur.append(line.rpartition("(")[0])
    return stacks


def check_syscall(proc, dump, functions):
    """Each function's goroutine in a syscall: flametop's frames are runtime.Stack's."""
    bad = 0
    theirs = dump_syscall_stacks(dump)
    for fn in functions:
        want = [s for s in theirs if fn in s]
        ours = []
        for g in proc["groups"]:
            fr = [f["function"] for f in g["frames"]]
            if g["state"] == "syscall" and fn in fr:
                # root first, goexit (Go's tracebacks leave it out) and the state marker off
                ours.append([f for f in reversed(fr)
                             if not f.startswith("[") and not f.startswith("runtime.goexit")])
        ok = bool(want) and bool(ours) and all(o in want for o in ours) and not any(
            g["truncated"] for g in proc["groups"] if g["state"] == "syscall" and
            fn in [f["function"] for f in g["frames"]])
        bad += not ok
        print(f"{'ok' if ok else 'DIFFERS':8} in a syscall, {fn}: flametop {ours}  "
              f"runtime.Stack {want}")
    return bad


def dump_counts(path, names, exclude):
    counts = collections.Counter()
    head = re.compile(r"^goroutine (\d+)(?: gp=\S+ m=\S+(?: mp=\S+)?)? \[([^\]]*)\]:$")
    state = None
    for line in open(path, errors="replace"):
        line = line.rstrip("\n")
        m = head.match(line)
        if m:
            state = m.group(2).split(",")[0]
            goid = int(m.group(1))
            pending = (goid, state)
            continue
        if line.startswith("created by ") and state is not None:
            creator = line[len("created by "):].split(" in goroutine ")[0]
            record(counts, pending, creator, names, exclude)
            state = None
        elif line == "" and state is not None:
            record(counts, pending, None, names, exclude)
            state = None
    if state is not None:
        record(counts, pending, None, names, exclude)
    return counts


NOT_PARKED = {"running", "runnable", "syscall", "copystack", "preempted", "idle", "dead"}


def record(counts, pending, creator, names, exclude):
    goid, state = pending
    if state in NOT_PARKED or goid == 1:
        return
    if creator in exclude:
        return
    counts[(state, creator if names else None)] += 1


def json_counts(path, pid, names, exclude):
    doc = json.load(open(path))
    procs = [p for p in doc.get("go", []) if p["pid"] == pid]
    if not procs:
        sys.exit(f"go_oracle: pid {pid} is not in the json's go[]")
    proc = procs[0]
    if proc.get("error"):
        sys.exit(f"go_oracle: pid {pid}: {proc['error']}")
    counts = collections.Counter()
    for g in proc["groups"]:
        if g["system"] or g["state"] != "waiting" or not g["count"]:
            continue
        if g["created_by"] is None:  # the main goroutine
            continue
        if g["created_by"] in exclude:
            continue
        counts[(g["wait_reason"], g["created_by"] if names else None)] += g["count"]
    return proc, counts


def check_stacks(proc, names, churn):
    """No group shows an impossible stack: a waiting goroutine's stack ends in runtime.gopark
    with its wait reason as the marker; under churn the churning groups reach runtime.goexit."""
    bad = 0
    for g in proc["groups"]:
        fr = [f["function"] for f in g["frames"]]
        marker = f"[{g['wait_reason'] if g['state'] == 'waiting' else g['state']}]"
        problem = None
        if not fr or fr[-1] != marker:
            problem = f"leaf marker {fr[-1:]} is not {marker}"
        elif names and g["state"] == "waiting" and len(fr) > 1 and fr[-2] != "runtime.gopark" \
                and not fr[-2].startswith("runtime.systemstack_switch") \
                and fr[-2] != "[stack not read]":
            # the runtime also marks a goroutine waiting while it works on the system stack
            # (forEachP, stopping the world, GC mark termination): systemstack_switch is its leaf
            problem = f"a waiting goroutine whose leaf is {fr[-2]}, not runtime.gopark"
        elif names and g["created_by"] in churn and g["state"] != "running" and (
                g["truncated"] or not fr[0].startswith("runtime.goexit")):
            problem = "a churning goroutine's stack does not reach runtime.goexit"
        if problem:
            bad += 1
            print(f"WRONG    {g['count']} {g['state']} {g['wait_reason']} {g['created_by']}: "
                  f"{problem}: {';'.join(fr)}")
    return bad


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("json")
    ap.add_argument("dump")
    ap.add_argument("pid", type=int)
    ap.add_argument("--exclude-created-by", action="append", default=[])
    ap.add_argument("--no-names", action="store_true")
    ap.add_argument("--growth-created-by")
    ap.add_argument("--dump0")
    ap.add_argument("--churn-check", action="append", default=[])
    ap.add_argument("--syscall-check", action="append", default=[])
    a = ap.parse_args()
    names = not a.no_names
    exclude = set(a.exclude_created_by)
    if a.growth_created_by:
        exclude.add(a.growth_created_by)
    proc, ours = json_counts(a.json, a.pid, names, exclude)
    theirs = dump_counts(a.dump, names, exclude)
    if not names:
        user_only = {"IO wait", "sleep", "semacquire", "sync.Mutex.Lock"}
        ours = collections.Counter({k: v for k, v in ours.items() if k[0] in user_only})
        theirs = collections.Counter({k: v for k, v in theirs.items() if k[0] in user_only})
    bad = 0
    for key in sorted(set(ours) | set(theirs), key=str):
        mark = "ok" if ours[key] == theirs[key] else "DIFFERS"
        bad += mark != "ok"
        print(f"{mark:8} flametop {ours[key]:6}  runtime.Stack {theirs[key]:6}  {key}")
    if a.dump0 and a.growth_created_by:
        key = lambda c: sum(n for (s, cr), n in c.items() if cr == a.growth_created_by)
        c0 = dump_counts(a.dump0, True, set())
        c1 = dump_counts(a.dump, True, set())
        dt = os.stat(a.dump).st_mtime_ns - os.stat(a.dump0).st_mtime_ns
        truth = (key(c1) - key(c0)) / (dt / 1e9) if dt > 0 else 0
        win = proc.get("change_window_ns")
        if win and os.path.exists(a.dump + ".grown") and win[1] > win[0]:
            starts = [int(x) for x in open(a.dump + ".grown").read().split()]
            made = sum(1 for t in starts if win[0] <= t < win[1])
            truth = made / ((win[1] - win[0]) / 1e9)
        grow = [g for g in proc["groups"] if g["created_by"] == a.growth_created_by]
        rate = sum(g["growth_per_s"] for g in grow)
        ok = truth > 0 and abs(rate - truth) <= 0.1 * truth
        bad += not ok
        print(f"{'ok' if ok else 'DIFFERS':8} growth of {a.growth_created_by}: flametop "
              f"{rate:.2f}/s, the program's own dumps {truth:.2f}/s (within 10 %)")
    bad += check_stacks(proc, names, set(a.churn_check))
    bad += check_syscall(proc, a.dump, a.syscall_check)
    print(f"dropped (inconsistent reads caught): {proc['read']['dropped']}")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
