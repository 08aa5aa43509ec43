#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""
Checks that a snapshot's numbers add up (tests/test_invariants.c):

json (--json FILE):
  * samples <= freq_hz x duration_s x cpus, plus one per CPU (a timer's phase);
  * the threads' cpu_samples add up to samples;
  * no thread above 100 % of a CPU, plus one sample's worth (a thread moving between CPUs can be
    sampled by both CPUs' timers within one period); the threads together at most cpus x 100 %;
  * a thread's state_ms add up to at most the window (duration_s; 1 ms of rounding);
  * lost figures are per probe: "lost" (CPU samples) has a total equal to its parts, and so
    do "sched_lost" and "heap_lost" when present.
Rows of many threads (the [short-lived] row of a process: tid >= 2^31) are not threads and
are not held to the per-thread bounds.

text (--text FILE):
  * the header's duration and the thread states table's window are the same;
  * samples <= freq x duration x CPUs (plus one per CPU).

Prints each violation; exit status 1 when there is one, else 0.
"""
import argparse
import json
import re
import sys

SHORT_LIVED = 1 << 31


def check_json(path, bad):
    d = json.load(open(path))
    dur, freq, cpus = d["duration_s"], d["freq_hz"], d["cpus"]
    possible = freq * dur * cpus + cpus
    if d["samples"] > possible:
        bad.append(f"samples {d['samples']} > {possible:.0f} possible in {dur} s")
    total = sum(t["cpu_samples"] for t in d["threads"])
    if total != d["samples"]:
        bad.append(f"threads' cpu_samples add up to {total}, samples is {d['samples']}")
    one = 100.0 / (freq * dur) if freq * dur else 0
    cpu_sum = 0.0
    for t in d["threads"]:
        name = f"{t['comm']} (pid {t['pid']}, tid {t['tid']})"
        cpu_sum += t["cpu_percent"]
        if t["tid"] >= SHORT_LIVED:
            continue
        if t["cpu_percent"] > 100 + one + 0.01:
            bad.append(f"{name}: {t['cpu_percent']} % of a CPU")
        states = sum(t.get("state_ms", {}).values())
        if states > dur * 1000 + 1:
            bad.append(f"{name}: states add up to {states:.1f} ms in a {dur * 1000:.0f} ms "
                       "window")
    if cpu_sum > cpus * 100 + 1:
        bad.append(f"threads add up to {cpu_sum:.1f} % of {cpus} CPUs")
    for key in ("lost", "sched_lost", "heap_lost"):
        lost = d.get(key)
        if lost is None:
            if key == "lost":
                bad.append("no lost figures")
            continue
        parts = sum(v for k, v in lost.items() if k != "total")
        if parts != lost["total"]:
            bad.append(f"{key}: total {lost['total']}, parts add up to {parts}")
    print(f"json: {d['samples']} samples of {possible:.0f} possible in {dur} s; threads "
          f"{cpu_sum:.1f} % of {cpus} CPUs; lost {d['lost']['total']}")


def check_text(path, bad):
    text = open(path).read()
    m = re.search(r"duration ([0-9.]+) s", text)
    w = re.search(r"% of the ([0-9.]+) s window", text)
    s = re.search(r"^samples\s+(\d+)", text, re.M)
    f = re.search(r"^sampling\s+(\d+) Hz", text, re.M)
    c = re.search(r", (\d+) CPUs", text)
    if not (m and s and f and c):
        bad.append("text: no duration, samples, sampling or CPUs line")
        return
    dur = float(m.group(1))
    if w and abs(float(w.group(1)) - dur) > 0.051:
        bad.append(f"text: header says {dur} s, the states table a {w.group(1)} s window")
    possible = int(f.group(1)) * (dur + 0.05) * int(c.group(1)) + int(c.group(1))
    if int(s.group(1)) > possible:
        bad.append(f"text: samples {s.group(1)} > {possible:.0f} possible in {dur} s")
    print(f"text: duration {dur} s, window {w.group(1) if w else '-'} s, samples {s.group(1)}")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--json")
    ap.add_argument("--text")
    a = ap.parse_args()
    bad = []
    if a.json:
        check_json(a.json, bad)
    if a.text:
        check_text(a.text, bad)
    for b in bad:
        print("VIOLATION:", b)
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
