#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""flametop next to a Go service's own net/http/pprof endpoint, at the same moment
(tests/test_gosvc.c):

    go_endpoint.py GO PORT PID JSON GOHEAP_PPROF WORKDIR

GO is the go command whose `go tool pprof` reads both heap profiles. Block and mutex profiles:
/debug/pprof/block and /mutex (debug=1) against flametop's json, by the innermost main.*
function (a record without one, such as Go 1.22+'s runtime._LostContendedRuntimeLock in the
mutex profile, by its leaf): the same contentions, the delay within 5 %. Goroutines: the endpoint's
/debug/pprof/goroutine?debug=1 counts against flametop's groups (json go[]), both keyed by the
innermost frame that is not the runtime's (what debug=1 prints first), leaving out the
goroutine serving the request and connections of the moment; they must be equal. Heap:
`go tool pprof -top -sample_index=inuse_space` of the endpoint's /debug/pprof/heap and of
flametop's --metric goheap pprof: every function holding at least 1 % within 5 %, and the
total within 5 %. Prints both sides; exit 1 when they differ."""
import collections
import json
import os
import re
import subprocess
import sys
import urllib.request


def endpoint_goroutines(port):
    url = f"http://127.0.0.1:{port}/debug/pprof/goroutine?debug=1"
    text = urllib.request.urlopen(url, timeout=20).read().decode(errors="replace")
    counts = collections.Counter()
    n, names = None, []

    def done():
        if n is not None and names and not any(TRANSIENT.search(f) for f in names):
            counts[names[0]] += n
    for line in text.splitlines():
        m = re.match(r"^(\d+) @", line)
        if m:
            done()
            n, names = int(m.group(1)), []
            continue
        m = re.match(r"^#\s+0x[0-9a-f]+\s+(\S+)\+0x", line)
        if m and n is not None:
            names.append(m.group(1))
    done()
    return counts


def ours_goroutines(path, pid):
    doc = json.load(open(path))
    procs = [p for p in doc["go"] if p["pid"] == pid]
    if not procs or procs[0].get("error"):
        sys.exit(f"go_endpoint: pid {pid} not read: {procs[0].get('error') if procs else ''}")
    counts = collections.Counter()
    for g in procs[0]["groups"]:
        if g["system"] or not g["count"]:
            continue
        if any(TRANSIENT.search(f["function"]) for f in g["frames"]):
            continue
        key = None
        for f in reversed(g["frames"]):
            name = f["function"]
            if f["kind"] == "special" or name.startswith("runtime."):
                continue
            key = name
            break
        counts[key or "runtime"] += g["count"]
    return counts


# the goroutine serving the request and its connection's (there for the request only), and the
# listener's, which accepting the request moves
TRANSIENT = re.compile(r"pprof|net/http\.\(\*conn\)|net/http\.\(\*connReader\)|"
                       r"net/http\.\(\*Server\)\.Serve")


def top(go, path, env):
    out = subprocess.run([go, "tool", "pprof", "-top", "-nodecount=200",
                          "-sample_index=inuse_space", "-unit=B", path],
                         capture_output=True, text=True, env=env, timeout=120)
    if out.returncode:
        sys.exit(f"go_endpoint: go tool pprof {path}: {out.stderr.strip()}")
    flat = {}
    total = None
    for line in out.stdout.splitlines():
        m = re.search(r"Total samples = (\d+)B|of (\d+)B total", line)
        if m:
            total = int(m.group(1) or m.group(2))
        m = re.match(r"^\s*(\d+)B\s+\S+%\s+\S+%\s+\d+B\s+\S+%\s+(.+)$", line)
        if m:
            flat[m.group(2).strip()] = int(m.group(1))
    return total or 0, flat


def endpoint_contention(port, kind):
    """The endpoint's block or mutex profile (debug=1): contentions and delay (ns) by the
    innermost main.* function of each record."""
    url = f"http://127.0.0.1:{port}/debug/pprof/{kind}?debug=1"
    text = urllib.request.urlopen(url, timeout=20).read().decode(errors="replace")
    cps = 1.0
    out = collections.defaultdict(lambda: [0, 0.0])
    recs = []
    for line in text.splitlines():
        m = re.match(r"^cycles/second=(\d+)", line)
        if m:
            cps = int(m.group(1))
        m = re.match(r"^(\d+) (\d+) @", line)
        if m:
            recs.append([int(m.group(2)), int(m.group(1)), []])
            continue
        m = re.match(r"^#\s+0x[0-9a-f]+\s+(\S+)\+0x", line)
        if m and recs:
            recs[-1][2].append(m.group(1))
    for count, cycles, funcs in recs:
        key = next((f for f in funcs if f.startswith("main.")), funcs[0] if funcs else None)
        if key:
            out[key][0] += count
            out[key][1] += cycles / cps * 1e9
    return out


def ours_contention(path, pid, kind):
    doc = json.load(open(path))
    proc = [p for p in doc["go"] if p["pid"] == pid][0]
    out = collections.defaultdict(lambda: [0, 0.0])
    for e in proc[kind]:
        key = next((f["function"] for f in reversed(e["frames"])
                    if f["function"].startswith("main.")),
                   e["frames"][-1]["function"] if e["frames"] else None)
        if key:
            out[key][0] += e["contentions"]
            out[key][1] += e["delay_ns"]
    return out


def main():
    go, port, pid, js, ours_pb, work = sys.argv[1:7]
    pid = int(pid)
    bad = 0
    theirs = endpoint_goroutines(port)
    ours = ours_goroutines(js, pid)
    for key in sorted(set(ours) | set(theirs)):
        mark = "ok" if ours[key] == theirs[key] else "DIFFERS"
        bad += mark != "ok"
        print(f"{mark:8} goroutines flametop {ours[key]:5}  endpoint {theirs[key]:5}  {key}")
    for kind in ("block", "mutex"):
        theirs_c = endpoint_contention(port, kind)
        ours_c = ours_contention(js, pid, kind)
        if not theirs_c:
            bad += 1
            print(f"DIFFERS  {kind}: the endpoint's profile is empty")
        for key in sorted(set(ours_c) | set(theirs_c)):
            (oc, od), (tc, td) = ours_c[key], theirs_c[key]
            ok = oc == tc and abs(od - td) <= 0.05 * max(td, 1)
            bad += not ok
            print(f"{'ok' if ok else 'DIFFERS':8} {kind} flametop {oc} contentions {od / 1e6:.2f} "
                  f"ms  endpoint {tc} contentions {td / 1e6:.2f} ms  {key}")
    heap = os.path.join(work, "endpoint-heap.pb.gz")
    with open(heap, "wb") as f:
        f.write(urllib.request.urlopen(f"http://127.0.0.1:{port}/debug/pprof/heap",
                                       timeout=20).read())
    env = dict(os.environ, HOME=work, PPROF_TMPDIR=work, GOTOOLCHAIN="local")
    t_total, t_flat = top(go, heap, env)
    o_total, o_flat = top(go, ours_pb, env)
    for name in sorted(set(t_flat) | set(o_flat), key=lambda n: -t_flat.get(n, 0)):
        t, o = t_flat.get(name, 0), o_flat.get(name, 0)
        if max(t, o) < 0.01 * max(t_total, 1):
            continue
        ok = abs(o - t) <= 0.05 * max(t, 1)
        bad += not ok
        print(f"{'ok' if ok else 'DIFFERS':8} inuse_space flametop {o:10}B  endpoint {t:10}B  "
              f"{name}")
    ok = abs(o_total - t_total) <= 0.05 * max(t_total, 1)
    bad += not ok
    print(f"{'ok' if ok else 'DIFFERS':8} inuse_space total flametop {o_total}B  endpoint "
          f"{t_total}B")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
