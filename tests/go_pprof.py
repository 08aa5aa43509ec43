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
that was preempted, which is the next frame of the same stack: they are charged to it.

Checks: the top functions of Go's profile (>= 3 % self) are named the same by flametop (no
module+0x... rows), and every function's self and total shares agree within TOLERANCE points.
The tolerance: with WINDOW = 20 s, about 2 CPUs and Go's 100 Hz, Go's profile has ~4,000
samples and flametop (499 Hz per CPU) ~20,000: a share near 30 % has a standard error of ~0.8
points on Go's side and ~0.35 on ours, so a 3-point tolerance is more than 3 standard errors of
the difference: a real difference (a function named wrongly, a caller missing from stacks)
shows, sampling noise does not. The figures go in README.md ("Go programs").

Exit status: 0 ok, 1 a check failed, 77 skipped (not root, no BPF, no Go toolchain).
usage: go_pprof.py [--window SECONDS] [--versions 1.19,1.22]
"""
import argparse
import gzip
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

TOLERANCE = 3.0
TOP_SHARE = 3.0


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


def go_profile(data):
    """[(count, [function names, leaf first, inlined frames expanded])]."""
    pb = gzip.decompress(data)
    strings, funcs, locs, samples = [], {}, {}, []
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
            lid, lines = 0, []
            for n, w, x in fields(v):
                if n == 1:
                    lid = x
                elif n == 4:
                    for n2, w2, x2 in fields(x):
                        if n2 == 1:
                            lines.append(x2)
            locs[lid] = lines  # line[0] is the innermost (inlined) function
        elif num == 2:
            ids, vals = [], []
            for n, w, x in fields(v):
                if n == 1:
                    ids += ints(w, x)
                elif n == 2:
                    vals += ints(w, x)
            samples.append((vals[0], ids))
    out = []
    for count, ids in samples:
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
        for source, p in ft.items():
            _, err = p.communicate(timeout=window + 60)
            if p.returncode:
                errors.append("flametop --source %s: exit %d: %s" % (source, p.returncode,
                                                                     err.strip()))
        t.join()
        if errors:
            return errors, None
        go = go_shares(go_profile(profile["data"]))
        fts = {}
        for source, path in outs.items():
            with open(path) as f:
                fts[source] = flametop_shares(json.load(f), proc.pid)
            os.unlink(path)
        os.rmdir(tmp)
        return [], (go, fts)
    finally:
        proc.kill()
        proc.wait()


def pct(part, n):
    return 100.0 * part / n if n else 0.0


def compare(version, go, fts):
    failures = []
    gn, gself, gtotal = go
    print("\nGo %s, stripped: Go's profile %d samples, flametop bpf %d, perf %d" %
          (version, gn, fts["bpf"][0], fts["perf"][0]))
    print("  %-34s %7s %7s %7s   %7s %7s %7s" % ("function (self | total %)", "go", "bpf",
                                                "perf", "go", "bpf", "perf"))
    top = sorted((f for f in gself if pct(gself[f], gn) >= TOP_SHARE),
                 key=lambda f: -gself[f])
    mains = sorted(f for f in gtotal if f.startswith("main.") and pct(gtotal[f], gn) >= TOP_SHARE)
    for f in top + [m for m in mains if m not in top]:
        row = [pct(gself.get(f, 0), gn)]
        row += [pct(fts[s][1].get(f, 0), fts[s][0]) for s in ("bpf", "perf")]
        row += [pct(gtotal.get(f, 0), gn)]
        row += [pct(fts[s][2].get(f, 0), fts[s][0]) for s in ("bpf", "perf")]
        print("  %-34s %7.1f %7.1f %7.1f   %7.1f %7.1f %7.1f" % ((f[:34],) + tuple(row)))
        for s, i in (("bpf", 1), ("perf", 2)):
            if abs(row[i] - row[0]) > TOLERANCE:
                failures.append("Go %s: %s self %.1f%% with %s, %.1f%% in Go's profile" %
                                (version, f, row[i], s, row[0]))
            if abs(row[3 + i] - row[3]) > TOLERANCE:
                failures.append("Go %s: %s total %.1f%% with %s, %.1f%% in Go's profile" %
                                (version, f, row[3 + i], s, row[3]))
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
    failures = []
    for v in versions:
        errors, res = run(flametop, os.path.join(workloads, "gopprof-" + v), args.window, v)
        if errors:
            if any("cannot load BPF" in e or "not permitted" in e for e in errors):
                skip("; ".join(errors))
            failures += errors
            continue
        failures += compare(v, *res)
    for f in failures:
        print("FAIL:", f)
    print("ok" if not failures else "%d checks failed" % len(failures))
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
