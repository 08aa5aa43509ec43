# SPDX-License-Identifier: GPL-2.0-only
"""bench/churn.sh's report: one load's figures for every profiler that ran on it.

usage: churn-report.py TMP LOAD SECONDS VARIANT...

Process lifetimes come from perf record -a -g's fork and exit records (perf synthesizes the
processes already running at time 0: those started before the window). pid_max is small on
most hosts, so a pid can be two processes within one window: a pid counts as long-lived only when
every process that had it lived >= 100 ms (the others are left out of the share, and counted).
"""
import json
import os
import re
import sys

ROOTS = {"_start", "__libc_start_main", "__libc_start_call_main", "clone", "__clone", "clone3",
         "__clone3", "start_thread", "thread_start", "runtime.goexit", "runtime.main",
         "runtime.mstart", "runtime.rt0_go", "runtime.goexit.abi0", "runtime.mstart.abi0",
         "_dl_start_user"}
LONG_S = 0.1

tmp, load, secs = sys.argv[1], sys.argv[2], float(sys.argv[3])
variants = [v.split("=", 1)[0] for v in sys.argv[4:]]


def path(name):
    return os.path.join(tmp, "%s-%s" % (load, name))


def usage(name):
    """User and system CPU seconds and minor page faults, as /usr/bin/time wrote them."""
    try:
        lines = open(path(name) + ".time").read().strip().splitlines()
        f = lines[-1].split()
        return float(f[0]), float(f[1]), int(f[2]) if len(f) > 2 else -1
    except (OSError, ValueError, IndexError):
        return float("nan"), float("nan"), -1


def cpu(name):
    u, s, _ = usage(name)
    return u + s


def cpu_text(name):
    """"0.85 s CPU (4.2% of a CPU; user 0.40, sys 0.45, 45080 page faults)": on a guest where a
    page fault costs several microseconds, faults are a large part of the system time."""
    u, s, faults = usage(name)
    return "%.2f s CPU (%.1f%% of a CPU; user %.2f, sys %.2f%s)" % (
        u + s, 100 * (u + s) / secs, u, s, ", %d page faults" % faults if faults >= 0 else "")


# ---- lifetimes: pid -> list of [start, end] (None: before/after the recording) ----
fork_re = re.compile(r"\s([\d.]+): PERF_RECORD_FORK\((\d+):(\d+)\):\((\d+):(\d+)\)")
exit_re = re.compile(r"\s([\d.]+): PERF_RECORD_EXIT\((\d+):(\d+)\):\((\d+):(\d+)\)")
lives = {}
try:
    for line in open(os.path.join(tmp, load + "-tasks.txt"), errors="replace"):
        m = fork_re.search(line)
        if m:
            t, pid, tid, ppid = float(m.group(1)), int(m.group(2)), int(m.group(3)), int(m.group(4))
            if pid == tid and pid != ppid:  # a process, not a thread
                lives.setdefault(pid, []).append([t if t > 0 else None, None])
            continue
        m = exit_re.search(line)
        if m:
            t, pid, tid = float(m.group(1)), int(m.group(2)), int(m.group(3))
            if pid == tid:
                l = lives.setdefault(pid, [[None, None]])
                if l[-1][1] is None:
                    l[-1][1] = t
                else:
                    l.append([None, t])
except OSError:
    pass


def long_lived(pid):
    """True, False, or None when the pid was both (reused) or is unknown."""
    l = lives.get(pid)
    if not l:
        return True  # no record: running before and after (a long-running process)
    kinds = set()
    for start, end in l:
        kinds.add(start is None or end is None or end - start >= LONG_S)
    return kinds.pop() if len(kinds) == 1 else None


nr_short = sum(1 for p in lives if long_lived(p) is False)


class Share:
    def __init__(self):
        self.all = [0, 0]   # samples of user threads, of them reaching the root
        self.long = [0, 0]  # the same for processes that lived >= 100 ms
        self.mixed = 0

    def add(self, pid, count, reached):
        self.all[0] += count
        self.all[1] += count if reached else 0
        ll = long_lived(pid)
        if ll is None:
            self.mixed += count
        elif ll:
            self.long[0] += count
            self.long[1] += count if reached else 0

    def text(self, which):
        s, r = getattr(self, which)
        return "%5.1f%% of %6d" % (100.0 * r / s if s else 0, s)


rows = []

EXEC_FRAMES = {"begin_new_exec", "load_elf_binary", "exec_mmap"}


def why_not(j):
    """The samples of processes that lived >= 100 ms whose stacks stop short of their root, by
    cause and by the binary they stop in, most first. Causes: exec (a sample inside execve once
    the old program's memory is gone: no user stack is left to copy), unmapped (the walk reached
    an address in no mapping flametop knew), jit (code without a file), go (a Go stack switch),
    walk (the walk stopped: the stack deeper than the copy, no unwind info, a frame it could not
    step), none (no user frame at all)."""
    out = {}
    for s in j["stacks"]:
        fr = s["frames"]
        if not fr or fr[0]["kind"] == "kernel" or long_lived(s["pid"]) is not True:
            continue
        if fr[0]["kind"] != "special" and fr[0]["function"] in ROOTS:
            continue
        user = [f for f in fr if f["kind"] not in ("kernel", "special")]
        kernel = {f["function"] for f in fr if f["kind"] == "kernel"}
        top = user[0] if user else None
        if not top:
            cause, binary = "none", s["comm"]
        elif len(user) == 1 and kernel & EXEC_FRAMES:
            cause, binary = "exec", s["comm"]
        elif top["kind"] == "unknown" or top["function"] == "[unknown]":
            cause, binary = "unmapped", s["comm"]
        elif top["kind"] == "jit":
            cause, binary = "jit", s["comm"]
        elif top["function"].startswith("runtime."):
            cause, binary = "go", top.get("module", "?")
        else:
            cause, binary = "walk", top.get("module", "?")
        out[(cause, binary)] = out.get((cause, binary), 0) + s["count"]
    return sorted(out.items(), key=lambda kv: -kv[1])


# ---- flametop ----
for v in variants:
    name = "ft-" + v
    try:
        j = json.load(open(path(name) + ".json"))
    except (OSError, ValueError):
        err = open(path(name) + ".err").read().strip() if os.path.exists(path(name) + ".err") else ""
        rows.append(("flametop " + v, "failed: " + err[-200:]))
        continue
    sh = Share()
    for s in j["stacks"]:
        fr = s["frames"]
        if not fr or fr[0]["kind"] == "kernel":
            continue  # a kernel thread
        first = fr[0]
        sh.add(s["pid"], s["count"], first["kind"] != "special" and first["function"] in ROOTS)
    lost, sl, hl = j.get("lost", {}), j.get("sched_lost", {}), j.get("heap_lost", {})
    causes = why_not(j)
    st = j.get("unwind_stats", {})
    heap = j.get("heap", {})
    rows.append(("flametop " + v, cpu_text(name),
                 "window %.1f s, samples %d, lost: ring %d, side-band %d, no stack %d; sched lost %d; heap "
                 "lost %d of %d events" % (j["duration_s"], j["samples"], lost.get("ringbuf", 0),
                                            lost.get("process_events", 0), lost.get("no_stack", 0),
                                            sl.get("total", 0), hl.get("total", 0),
                                            heap.get("events", 0)),
                 "reach root: all %s, lived >= 100 ms %s" % (sh.text("all"), sh.text("long")),
                 "DWARF walks %d (%.1f us each; stopped short %d, at the copy's end %d), fp walks "
                 "%d; quality says %.1f%% (%.1f%% truncated)" % (
                     st.get("dwarf", 0), st.get("dwarf_us_per_sample", 0),
                     st.get("dwarf_truncated", 0), st.get("dwarf_off_copy", 0), st.get("fp", 0),
                                 100 * j.get("unwind_quality", {}).get("reached_root", 0),
                                 100 * j.get("unwind_quality", {}).get("truncated", 0)),
                 "not at the root (lived >= 100 ms), by cause and binary: " +
                 (", ".join("%s %s %d" % (c, b, n) for (c, b), n in causes[:8]) or "none")))


# ---- perf ----
def perf_share(script):
    sh, nsamples = Share(), 0
    per_pid = {}  # pid -> [(count, reached, has_user)]
    head, frames = None, []

    def flush():
        if head is None:
            return
        user = [f for f in frames if not f[1].startswith("[kernel")]
        root = user[-1][0] if user else None
        per_pid.setdefault(head, []).append((root in ROOTS if root else False, bool(user)))

    try:
        for line in open(script, errors="replace"):
            line = line.rstrip("\n")
            if not line.strip():
                flush()
                head, frames = None, []
            elif not line.startswith((" ", "\t")):
                try:
                    head = int(line.split()[0].split("/")[0])
                except (IndexError, ValueError):
                    head = None
            else:
                m = re.match(r"\s*[0-9a-f]+ (.*) \((.*)\)$", line)
                if m:
                    frames.append((m.group(1).split("+0x")[0], m.group(2)))
        flush()
    except OSError:
        return sh, 0
    for pid, samples in per_pid.items():
        if pid == 0 or not any(u for _, u in samples):
            continue  # idle, or a kernel thread
        for reached, _ in samples:
            nsamples += 1
            sh.add(pid, 1, reached)
    return sh, nsamples


for p, label in (("perf-g", "perf record -a -g"), ("perf-dwarf", "perf record -a --call-graph dwarf")):
    sh, n = perf_share(path(p) + ".script")
    lost = ""
    try:
        lost = " ".join(open(path(p) + ".lost").read().split())
    except OSError:
        pass
    rows.append((label, "%s; perf script afterwards %.2f s" % (cpu_text(p), cpu(p + "-script")),
                 "user-thread samples %d; %s" % (n, lost or "no lost records"),
                 "reach root: all %s, lived >= 100 ms %s" % (sh.text("all"), sh.text("long"))))

print("   processes seen starting and ending: %d, of which lived < 100 ms: %d" %
      (sum(len(l) for l in lives.values()), nr_short))
for r in rows:
    print("%-34s %s" % (r[0], r[1]))
    for more in r[2:]:
        print("%-34s %s" % ("", more))
