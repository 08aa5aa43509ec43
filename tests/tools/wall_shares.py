#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Where each thread's time went, twice: by the wall metric's flame (a speedscope file written
with --metric wall: per thread, the weights of the stacks ending in each state's leaf) and by the
sched probe's exact state times (the json snapshot's state_ms), for the integration tests.

usage: wall_shares.py WALL.speedscope.json SNAPSHOT.json [FUNCTION...]

Prints, per thread,
    state TID COMM STATE WALL_MS STATE_MS   for every state the flame or the json has (a stack
                                            whose leaf is [lock] is state lock, [running]
                                            running, [runnable] runnable)
    under TID COMM FUNCTION WALL_MS ALL_MS  for every FUNCTION given: the flame's time in
                                            stacks through it, and the thread's whole time
"""
import json
import sys


def main():
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        scope = json.load(f)
    with open(sys.argv[2]) as f:
        snap = json.load(f)
    funcs = sys.argv[3:]
    names = [fr["name"] for fr in scope["shared"]["frames"]]
    wall = {}   # tid -> state -> ns
    under = {}  # tid -> function -> ns
    total = {}  # tid -> ns
    comm = {}
    for p in scope["profiles"]:
        # "process/comm [pid/tid]"
        tid = int(p["name"].rsplit("/", 1)[1].rstrip("]"))
        comm[tid] = p["name"].split("/", 1)[1].rsplit(" [", 1)[0]
        per = wall.setdefault(tid, {})
        through = under.setdefault(tid, {})
        for stack, weight in zip(p["samples"], p["weights"]):
            path = [names[i] for i in stack]
            leaf = path[-1] if path else "[?]"
            state = leaf[1:-1] if leaf.startswith("[") and leaf.endswith("]") else "?"
            per[state] = per.get(state, 0) + weight
            total[tid] = total.get(tid, 0) + weight
            for fn in funcs:
                if fn in path:
                    through[fn] = through.get(fn, 0) + weight
    states = {}
    for t in snap["threads"]:
        states[t["tid"]] = t["state_ms"]
        comm.setdefault(t["tid"], t["comm"])
    for tid in sorted(set(wall) | set(states)):
        name = comm[tid].replace(" ", "_")
        keys = set(wall.get(tid, {})) | set(k for k, v in states.get(tid, {}).items() if v)
        for k in sorted(keys):
            print("state %d %s %s %.3f %.3f" % (tid, name, k, wall.get(tid, {}).get(k, 0) / 1e6,
                                                states.get(tid, {}).get(k, 0)))
        for fn in funcs:
            print("under %d %s %s %.3f %.3f" % (tid, name, fn,
                                                under.get(tid, {}).get(fn, 0) / 1e6,
                                                total.get(tid, 0) / 1e6))


if __name__ == "__main__":
    main()
