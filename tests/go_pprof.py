#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""flametop next to Go's own CPU profile, on the same process at the same time.

For each stripped (-ldflags='-s -w') build of tests/workloads/gopprof.go (Go 1.19 and 1.22 when
installed: gopprof-1.19, gopprof-1.22 in FLAMETOP_WORKLOADS), while it keeps two CPUs busy:
  - flametop snapshot -p PID (BPF and, at the same time, the perf-event source) for WINDOW s,
  - Go's own profile: GET /debug/pprof/profile?seconds=WINDOW from its net/http/pprof.
Then, per function, the share of the process's samples where it is the leaf (self: the deepest
user frame, since Go charges time in the kernel to the Go function that made the syscall) and
where it is anywhere on the stack (total), on both sides.

Go's profile has rows for runtime.asyncPreempt that no other profiler sees: its SIGPROF handler
lands in the preemption code that its own SIGURG injected. Those samples belong to the function
that was preempted, which is the next frame of the same stack: they are charged to it. Before Go
1.21 that frame is named one instruction early: the traceback takes the preempted PC for a return
address and names PC-1 (1.21's unwinder marks the frame under asyncPreempt a trap frame and names
PC itself). In mixRound's loop PC-1 of the hottest instruction (the add after the multiply) is
the multiply, inlined from mix: with a third of Go 1.19's samples in asyncPreempt, as seen on a
host where its GC ran often, main.mix had 17-21 % in Go's profile against 13 % by flametop and by
perf record on the same process. So for Go < 1.21 the frame under asyncPreempt is named from the
profile's location one byte further on (PC itself), where the profile has one.

Checks: the top functions of Go's profile (>= 3 % self) are named the same by flametop (no
module+0x... rows), and every function's self and total shares agree within the tolerance.

The tolerance is statistical. Two samplers of the same split differ by chance: one standard
deviation of the difference of two shares is sqrt(q(1-q)(1/n1 + 1/n2)), q their mean, n1 and n2
the two sample counts. With WINDOW = 20 s, about 2 CPUs and Go's 100 Hz, a quiet host gives Go's
profile ~4,000 samples and flametop (499 Hz per CPU) ~20,000: a share near 30 % then has a
standard deviation of ~0.8 points and 3 points are more than 3.5 of them. Under load the target
gets a fraction of the CPUs (a full suite at load 40: Go's profile ~700 samples, flametop
~3,500): then the tolerance is 3.5 standard deviations (~5 points at 30 %), and the line says so.
Either way a real difference shows: a caller missing from flametop's stacks takes a worker's
total from ~30 % to ~0. Below 100 samples in Go's profile the host is too busy to judge: skip.

The allocator's totals (main.allocWorker, main.allocList) are judged between Go's profile and
the kernel. Go's profile charges the allocator less than its CPU time. With the allocator free to
move between threads (as first written) Go's profile gave it 3.5-4 % and flametop 8.7-9.8 %,
and every stack flametop charges to it is the allocator's own call path (mallocgc, GC assists,
span refills and their page faults, the stop-the-world a GC it starts waits for), never a GC
worker's or another goroutine's. So gopprof.go now gives it a thread of its own, whose CPU time
the kernel accounts exactly (/proc/PID/task/TID/schedstat; GC workers run on other threads, so
it is the allocator's and the runtime's work on its behalf: an upper bound). Measured that way
(20 s runs at load 30-100): its thread 9.7-12.5 % of the process's CPU time, flametop 8.7-10.3 %
(a CPU-clock sampler sees a thread that runs in short bursts a little less: ~1 point here, as it
does the runtime's sysmon thread), Go's profile 7.1-8.9 %. So flametop's totals must be at least
Go's profile's share less the tolerance (a missing caller fails) and at most the thread's share
plus the tolerance (3.5 standard deviations of flametop's share alone, the kernel's figure being
exact; at least 3 points): charging other goroutines' or GC workers' time to it fails. The
kernel's figures are read over the window less its first KERNEL_SKIP seconds, inside
flametop's own (which opens once its probes are loaded).

On Go 1.19 (and 1.20) crypto/sha256.block's AVX2 code keeps a table address in BP: the
frame-pointer walk breaks off under it, and main.hashWorker's total (~30 %) shows that flametop
walks such stacks again by frame sizes (model/gostack.h).

Exit status: 0 ok, 1 a check failed, 77 skipped (not root, no BPF, no Go toolchain, or Go's
profile had too few samples).
usage: go_pprof.py [--window SECONDS] [--versions 1.19,1.22]
"""
import argparse
import gzip
import json
import math
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOLERANCE = 3.0  # points, at least
SD_LIMIT = 3.5   # standard deviations of the difference, where more than TOLERANCE
TOP_SHARE = 3.0
MIN_GO_SAMPLES = 100
KERNEL_SKIP = 4  # s: the kernel's figures start this long after flametop's and Go's profiles
REFEREED = ("main.allocWorker", "main.allocList")  # totals judged against the kernel


def skip(why):
    print("SKIP:", why)
    sys.exit(77)


# ---- Go's profile.proto, decoded by hand (gzip'd protobuf) ----

def varint(buf, i):
    v, shift = 0, 0
    while True:
        b = buf[i]
        i += 1
        v |= (b & 0x7F) << shift
        shift += 7
        if not b & 0x80:
            return v, i


def fields(buf):
    i = 0
    while i < len(buf):
        key, i = varint(buf, i)
        num, wt = key >> 3, key & 7
        if wt == 0:
            v, i = varint(buf, i)
        elif wt == 2:
            n, i = varint(buf, i)
            v = buf[i:i + n]
            i += n
        elif wt == 1:
            v, i = buf[i:i + 8], i + 8
        elif wt == 5:
            v, i = buf[i:i + 4], i + 4
        else:
            raise ValueError("bad wire type %d" % wt)
        yield num, wt, v


def ints(wt, v):
    """A repeated integer field: packed (bytes) or one value."""
    if wt == 0:
        return [v]
    out, i = [], 0
    while i < len(v):
        x, i = varint(v, i)
        out.append(x)
    return out


def go_profile(data, preempt_pc_early=False):
    """[(count, [function names, leaf first, inlined frames expanded])].

    preempt_pc_early: the profile names the frame under runtime.asyncPreempt at PC-1 (Go < 1.21):
    name it from the location at the next address instead, when the profile has one."""
    pb = gzip.decompress(data)
    strings, funcs, locs, samples, addrs = [], {}, {}, [], {}
    for num, wt, v in fields(pb):
        if num == 6:
            strings.append(v.decode())
        elif num == 5:
            fid = name = 0
            for n, w, x in fields(v):
                if n == 1:
                    fid = x
                elif n == 2:
                    name = x
            funcs[fid] = name
        elif num == 4:
            lid, mid, addr, lines = 0, 0, 0, []
            for n, w, x in fields(v):
                if n == 1:
                    lid = x
                elif n == 2:
                    mid = x
                elif n == 3:
                    addr = x
                elif n == 4:
                    for n2, w2, x2 in fields(x):
                        if n2 == 1:
                            lines.append(x2)
            locs[lid] = lines  # line[0] is the innermost (inlined) function
            if addr:
                addrs[lid] = (mid, addr)
        elif num == 2:
            ids, vals = [], []
            for n, w, x in fields(v):
                if n == 1:
                    ids += ints(w, x)
                elif n == 2:
                    vals += ints(w, x)
            samples.append((vals[0], ids))
    by_addr = {a: lid for lid, a in addrs.items()}

    def name(lid):
        return strings[funcs[locs[lid][0]]] if locs.get(lid) else ""

    out = []
    for count, ids in samples:
        if preempt_pc_early and len(ids) > 1 and name(ids[0]) == "runtime.asyncPreempt" and \
                ids[1] in addrs:
            mid, addr = addrs[ids[1]]
            ids = [ids[0], by_addr.get((mid, addr + 1), ids[1])] + ids[2:]
        names = [strings[funcs[f]] for lid in ids for f in locs.get(lid, [])]
        out.append((count, names))
    return out


def go_shares(samples):
    self_, total, n = {}, {}, 0
    for count, names in samples:
        if names and names[0] == "runtime.asyncPreempt":
            names = names[1:] or names  # the preempted function was running
        if not names:
            continue
        n += count
        self_[names[0]] = self_.get(names[0], 0) + count
        for f in set(names):
            total[f] = total.get(f, 0) + count
    return n, self_, total


# ---- flametop's json ----

def flametop_shares(js, pid):
    self_, total, n, unnamed = {}, {}, 0, {}
    for s in js["stacks"]:
        if s["pid"] != pid:
            continue
        user = [f for f in s["frames"] if f.get("kind") == "user"]
        if not user:
            continue
        c = s["count"]
        n += c
        leaf = user[-1]["function"]
        self_[leaf] = self_.get(leaf, 0) + c
        for f in set(f["function"] for f in user):
            total[f] = total.get(f, 0) + c
    return n, self_, total


# ---- one run ----

def run(flametop, binary, window, version):
    proc = subprocess.Popen([binary, str(window + 30)], stdout=subprocess.PIPE, text=True)
    try:
        line = proc.stdout.readline()
        if not line.startswith("port "):
            raise RuntimeError("%s did not print its port: %r" % (binary, line))
        port = int(line.split()[1])
        line = proc.stdout.readline()
        if not line.startswith("alloc-thread "):
            raise RuntimeError("%s did not print its allocator's thread: %r" % (binary, line))
        alloc_tid = int(line.split()[1])
        time.sleep(1)  # warm up: all workers running
        outs, profile, errors = {}, {}, []

        def fetch():
            try:
                url = "http://127.0.0.1:%d/debug/pprof/profile?seconds=%d" % (port, window)
                with urllib.request.urlopen(url, timeout=window + 30) as r:
                    profile["data"] = r.read()
            except Exception as e:  # reported below
                errors.append("Go's profile: %s" % e)

        tmp = tempfile.mkdtemp(prefix="go-pprof-")
        ft = {}
        for source in ("bpf", "perf"):
            outs[source] = os.path.join(tmp, source + ".json")
            ft[source] = subprocess.Popen(
                [flametop, "snapshot", "-p", str(proc.pid), "--duration", str(window), "-F", "499",
                 "--source", source, "--format", "json", "-o", outs[source]],
                stderr=subprocess.PIPE, text=True)
        t = threading.Thread(target=fetch)
        t.start()
        # the kernel's figures over a stretch inside flametop's window, which opens once it has
        # loaded its probes (a second or two; more on a busy host)
        time.sleep(min(KERNEL_SKIP, window / 4))
        cpu0 = thread_cpu(proc.pid)
        time.sleep(max(window - KERNEL_SKIP - 1, window / 2))
        cpu1 = thread_cpu(proc.pid)
        t.join()
        for source, p in ft.items():
            _, err = p.communicate(timeout=window + 60)
            if p.returncode:
                errors.append("flametop --source %s: exit %d: %s" % (source, p.returncode,
                                                                     err.strip()))
        if errors:
            return errors, None
        go = go_shares(go_profile(profile["data"], preempt_pc_early=go_before(version, 1, 21)))
        fts = {}
        for source, path in outs.items():
            with open(path) as f:
                fts[source] = flametop_shares(json.load(f), proc.pid)
            os.unlink(path)
        os.rmdir(tmp)
        total = sum(cpu1[tid] - cpu0[tid] for tid in cpu1 if tid in cpu0)
        alloc = cpu1.get(alloc_tid, 0) - cpu0.get(alloc_tid, 0)
        return [], (go, fts, pct(alloc, total))
    finally:
        proc.kill()
        proc.wait()


def go_before(version, major, minor):
    """version ("1.19") is older than major.minor."""
    v = tuple(int(x) for x in version.split(".")[:2])
    return v < (major, minor)


def thread_cpu(pid):
    """{tid: ns on a CPU so far}, the kernel's accounting (/proc/PID/task/TID/schedstat)."""
    out = {}
    for tid in os.listdir("/proc/%d/task" % pid):
        try:
            with open("/proc/%d/task/%s/schedstat" % (pid, tid)) as f:
                out[int(tid)] = int(f.read().split()[0])
        except (OSError, ValueError, IndexError):
            pass  # a thread that exited meanwhile
    return out


def tolerance(a, b, n1, n2=None):
    """Points two shares a and b (%) may differ by: TOLERANCE, or SD_LIMIT standard deviations
    of their difference when the samples (n1, and n2 unless b is exact) are few."""
    q = (a + b) / 200.0
    var = q * (1 - q) * (1.0 / max(n1, 1) + (1.0 / max(n2, 1) if n2 is not None else 0.0))
    return max(TOLERANCE, SD_LIMIT * 100.0 * math.sqrt(var))


def pct(part, n):
    return 100.0 * part / n if n else 0.0


def compare(version, go, fts, kernel_alloc):
    failures = []
    gn, gself, gtotal = go
    print("\nGo %s, stripped: Go's profile %d samples, flametop bpf %d, perf %d; the allocator's "
          "thread %.1f%% of the process's CPU time (kernel)" %
          (version, gn, fts["bpf"][0], fts["perf"][0], kernel_alloc))
    print("  %-34s %7s %7s %7s   %7s %7s %7s" % ("function (self | total %)", "go", "bpf",
                                                "perf", "go", "bpf", "perf"))
    top = sorted((f for f in gself if pct(gself[f], gn) >= TOP_SHARE),
                 key=lambda f: -gself[f])
    mains = sorted(f for f in gtotal if f.startswith("main.") and pct(gtotal[f], gn) >= TOP_SHARE)
    notes = []
    for f in top + [m for m in mains if m not in top]:
        row = [pct(gself.get(f, 0), gn)]
        row += [pct(fts[s][1].get(f, 0), fts[s][0]) for s in ("bpf", "perf")]
        row += [pct(gtotal.get(f, 0), gn)]
        row += [pct(fts[s][2].get(f, 0), fts[s][0]) for s in ("bpf", "perf")]
        print("  %-34s %7.1f %7.1f %7.1f   %7.1f %7.1f %7.1f" % ((f[:34],) + tuple(row)))
        for s, i in (("bpf", 1), ("perf", 2)):
            n = fts[s][0]
            tol = tolerance(row[i], row[0], n, gn)
            if tol > TOLERANCE:
                notes.append("%s self with %s: within %.1f points, %.1f sd of %d/%d samples" %
                             (f, s, tol, SD_LIMIT, gn, n))
            if abs(row[i] - row[0]) > tol:
                failures.append("Go %s: %s self %.1f%% with %s, %.1f%% in Go's profile "
                                "(tolerance %.1f)" % (version, f, row[i], s, row[0], tol))
            tol = tolerance(row[3 + i], row[3], n, gn)
            if tol > TOLERANCE:
                notes.append("%s total with %s: within %.1f points, %.1f sd of %d/%d samples" %
                             (f, s, tol, SD_LIMIT, gn, n))
            if f in REFEREED:
                # between Go's profile (which under-counts it) and its thread's CPU time
                hi = kernel_alloc + tolerance(row[3 + i], kernel_alloc, n)
                if row[3 + i] < row[3] - tol or row[3 + i] > hi:
                    failures.append("Go %s: %s total %.1f%% with %s, not within [%.1f, %.1f]: "
                                    "%.1f%% in Go's profile, its thread %.1f%% by the kernel" %
                                    (version, f, row[3 + i], s, row[3] - tol, hi, row[3],
                                     kernel_alloc))
            elif abs(row[3 + i] - row[3]) > tol:
                failures.append("Go %s: %s total %.1f%% with %s, %.1f%% in Go's profile "
                                "(tolerance %.1f)" % (version, f, row[3 + i], s, row[3], tol))
    print("  %s totals: from Go's profile's (which under-counts them) to their thread's %.1f%% "
          "of the process's CPU time by the kernel" % (" and ".join(REFEREED), kernel_alloc))
    for n in notes:
        print("  (few samples) " + n)
    for s in ("bpf", "perf"):
        n, self_, _ = fts[s]
        for f, c in self_.items():
            if pct(c, n) >= TOP_SHARE and "+0x" in f:
                failures.append("Go %s: %s: an unnamed top function %s (%.1f%%)" %
                                (version, s, f, pct(c, n)))
    return failures


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--window", type=int, default=20)
    ap.add_argument("--versions", default="1.19,1.22")
    args = ap.parse_args()
    flametop = os.environ.get("FLAMETOP")
    workloads = os.environ.get("FLAMETOP_WORKLOADS")
    if not flametop or not workloads:
        print("FLAMETOP and FLAMETOP_WORKLOADS must be set (run through meson test)")
        return 1
    if os.geteuid() != 0:
        skip("needs root (BPF and perf events on another process)")
    versions = [v for v in args.versions.split(",")
                if os.access(os.path.join(workloads, "gopprof-" + v), os.X_OK)]
    if not versions:
        skip("no Go 1.19 or 1.22 toolchain under /usr/lib/go-1.NN")
    failures, busy = [], []
    for v in versions:
        errors, res = run(flametop, os.path.join(workloads, "gopprof-" + v), args.window, v)
        if errors:
            if any("cannot load BPF" in e or "not permitted" in e for e in errors):
                skip("; ".join(errors))
            failures += errors
            continue
        go, fts, kernel_alloc = res
        if go[0] < MIN_GO_SAMPLES:
            busy.append("Go %s: Go's profile has %d samples in %d s (fewer than %d): the host is "
                        "too busy to judge" % (v, go[0], args.window, MIN_GO_SAMPLES))
            continue
        failures += compare(v, go, fts, kernel_alloc)
    for f in failures:
        print("FAIL:", f)
    if busy and not failures:
        skip("; ".join(busy))
    print("ok" if not failures else "%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
