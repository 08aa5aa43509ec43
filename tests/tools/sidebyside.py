#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""
flametop and `perf record --call-graph dwarf` on the same process at the same time.

Starts both on PID for SECONDS at the same frequency, then compares what each says:
  * the share of samples whose user stack reaches its thread's root (the outermost frame is a
    thread root: _start, __libc_start_main, clone3, start_thread, ...; for perf, an unnamed
    outermost frame in the main executable right above __libc_start_main is a stripped _start);
  * the self share of every user-space function that either tool gives at least --min-share
    percent of the samples that end in user space, compared on the host function (inlined
    frames folded into the function they are inlined in: perf script --no-inline; in flametop's
    json an inlined frame repeats its host's address). Kernel leaves are shown, not judged:
    perf's per-thread timers fire at switch-in (finish_task_switch) more often than per-CPU
    timers do, by 2-3 points on a machine running a hundred threads per CPU.
Function names are compared without parameters, clone suffixes and Rust hashes (perf prints
neither parameters nor hashes by default).

Prints one line per figure. Exit status: 0 when flametop reaches the root in at least
--root-ratio of the share perf reaches it in and every compared self share is within --tolerance
points; 1 when a check fails; 77 when perf cannot record here (the reason is printed); 75 when
perf was killed by a signal from outside (try again).

usage: sidebyside.py --flametop PATH --pid PID [--seconds 4] [--freq 999] [--tolerance 3]
                     [--root-ratio 0.95] [--min-share 5] [--keep DIR]
"""
import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile

ROOTS = {
    "_start", "__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main",
    "clone", "__clone", "clone3", "__clone3", "start_thread", "thread_start",
    "runtime.goexit", "runtime.main", "runtime.mstart", "runtime.rt0_go",
    "runtime.goexit.abi0", "runtime.mstart.abi0", "_dl_start_user",
}
LIBC_START = {"__libc_start_main", "__libc_start_main_impl", "__libc_start_call_main",
              "__libc_start_main_alias_2"}


def norm(name):
    """A function name as both tools can agree on it."""
    if not name:
        return name
    name = re.sub(r"@@?[A-Za-z0-9_.]+$", "", name)  # a symbol version
    name = re.sub(r" \[clone [^\]]*\]", "", name)
    name = re.sub(r"::h[0-9a-f]{16}$", "", name)
    name = re.sub(r"\.(constprop|isra|part|cold|lto_priv)(\.\d+)*", "", name)
    # drop a trailing parameter list "(...)" (and a const qualifier after it)
    depth = 0
    if name.endswith(")") or name.endswith(") const"):
        end = name.rfind(")")
        for i in range(end, -1, -1):
            if name[i] == ")":
                depth += 1
            elif name[i] == "(":
                depth -= 1
                if depth == 0:
                    name = name[:i]
                    break
    return name.strip()


def perf_env(data):
    """perf with a build-id cache of its own: never names a stripped binary from a copy of the
    unstripped one cached by an earlier run (the same build-id)."""
    env = dict(os.environ)
    env["HOME"] = os.path.dirname(data)  # perf keeps its cache in $HOME/.debug
    env["PERF_BUILDID_DIR"] = os.path.join(os.path.dirname(data), ".debug")
    return env


def unknown(module):
    return f"[unknown in {os.path.basename(module)}]"


def perf_stacks(data, exe):
    """(tid, [frames leaf first as (sym, dso)]) per sample from perf script."""
    out = subprocess.run(["perf", "script", "-i", data, "--no-inline", "-F", "tid,ip,sym,dso"],
                         capture_output=True, text=True, env=perf_env(data))
    samples, cur = [], None
    for line in out.stdout.splitlines():
        m = re.match(r"\s*([0-9a-f]+)\s+(.*?)\s+\((.*)\)\s*$", line)
        if m:
            if cur is not None:
                cur.append((m.group(2), m.group(3)))
            continue
        if cur is not None:
            samples.append(cur)
        cur = [] if line.strip() else None
    if cur is not None:
        samples.append(cur)
    return samples


def perf_figures(samples, exe):
    n = root = 0
    selfs = {}
    for frames in samples:
        user = [f for f in frames if "kernel.kallsyms" not in f[1]]
        if not frames:
            continue
        n += 1
        leaf = norm(re.sub(r"\+0x[0-9a-f]+$", "", frames[0][0]))
        if leaf == "[unknown]":
            leaf = unknown(frames[0][1])
        if "kernel.kallsyms" in frames[0][1]:
            leaf = "[kernel] " + leaf
        selfs[leaf] = selfs.get(leaf, 0) + 1
        if not user:
            continue
        outer = user[-1]
        name = norm(re.sub(r"\+0x[0-9a-f]+$", "", outer[0]))
        if name in ROOTS:
            root += 1
        elif (name == "[unknown]" and os.path.realpath(outer[1]) == exe and len(user) > 1 and
              norm(re.sub(r"\+0x[0-9a-f]+$", "", user[-2][0])) in LIBC_START):
            root += 1  # a stripped executable's _start
    return n, root, selfs


def flametop_figures(js):
    selfs = {}
    n = 0
    for st in js.get("stacks", []):
        frames = st["frames"]
        if not frames:
            continue
        # the host of the leaf: the outermost frame with the leaf's address
        i = len(frames) - 1
        while i > 0 and frames[i - 1]["address"] == frames[i]["address"] and \
                frames[i - 1]["kind"] == frames[i]["kind"]:
            i -= 1
        f = frames[i]
        name = norm(f["function"])
        if name.startswith(f["module"] + "+0x") or name.startswith("[unknown]"):
            name = unknown(f["module"])
        if f["kind"] == "kernel":
            name = "[kernel] " + name
        selfs[name] = selfs.get(name, 0) + st["count"]
        n += st["count"]
    q = js["unwind_quality"]
    return js["samples"], q["reached_root"] * q["samples"], q["samples"], selfs, n


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--flametop", required=True)
    ap.add_argument("--pid", required=True, type=int)
    ap.add_argument("--seconds", type=float, default=4)
    ap.add_argument("--freq", type=int, default=999)
    ap.add_argument("--tolerance", type=float, default=3.0)
    ap.add_argument("--root-ratio", type=float, default=0.95)
    ap.add_argument("--min-share", type=float, default=5.0)
    ap.add_argument("--keep")
    a = ap.parse_args()

    if not shutil.which("perf"):
        print("SKIP: perf is not installed (contrib/deps.sh installs linux-perf)")
        return 77
    tmp = a.keep or tempfile.mkdtemp(prefix="sidebyside.")
    os.makedirs(tmp, exist_ok=True)
    data, ftj = os.path.join(tmp, "perf.data"), os.path.join(tmp, "flametop.json")
    exe = os.path.realpath(f"/proc/{a.pid}/exe")
    secs = f"{a.seconds:g}"
    perf = subprocess.Popen(["perf", "record", "-q", "-F", str(a.freq), "--call-graph",
                             "dwarf,8192", "-p", str(a.pid), "-o", data, "--", "sleep", secs],
                            stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                            env=perf_env(data))
    ft = subprocess.run([a.flametop, "snapshot", "-p", str(a.pid), "--duration", secs, "-F",
                         str(a.freq), "--heap", "off", "--format", "json", "-o", ftj],
                        capture_output=True, text=True)
    _, perr = perf.communicate()
    if perf.returncode < 0:
        # killed by a signal from outside (a shared machine): worth another try
        print(f"perf record was killed by signal {-perf.returncode}")
        return 75
    if perf.returncode != 0 or not os.path.exists(data):
        print(f"SKIP: perf record failed here (exit {perf.returncode}): {perr.strip()}")
        return 77
    if ft.returncode != 0:
        print(f"flametop failed ({ft.returncode}): {ft.stderr.strip()}")
        return 1
    js = json.load(open(ftj))
    pn, proot, pselfs = perf_figures(perf_stacks(data, exe), exe)
    fsamples, froot, fuser, fselfs, fn = flametop_figures(js)
    if not a.keep:
        shutil.rmtree(tmp, ignore_errors=True)
    if not pn or not fn or not fuser:
        print(f"no samples: perf {pn}, flametop {fn}")
        return 1

    ok = True
    ppct, fpct = 100.0 * proot / pn, 100.0 * froot / fuser
    root_ok = fpct >= a.root_ratio * ppct
    ok &= root_ok
    print(f"samples: perf {pn}, flametop {fsamples}")
    print(f"reached root: perf {ppct:.1f}%, flametop {fpct:.1f}% "
          f"({'ok' if root_ok else 'FAIL'}: at least {a.root_ratio:.0%} of perf's)")
    pu = sum(v for k, v in pselfs.items() if not k.startswith("[kernel] "))
    fu = sum(v for k, v in fselfs.items() if not k.startswith("[kernel] "))
    print(f"user-space leaves: perf {100.0 * pu / pn:.1f}%, flametop {100.0 * fu / fn:.1f}%")
    names = sorted(set(pselfs) | set(fselfs),
                   key=lambda k: -max(pselfs.get(k, 0) / pn, fselfs.get(k, 0) / fn))
    for name in names:
        kernel = name.startswith("[kernel] ")
        if kernel:  # shown, of all samples
            p, f = 100.0 * pselfs.get(name, 0) / pn, 100.0 * fselfs.get(name, 0) / fn
        else:  # judged, of the samples that end in user space
            p = 100.0 * pselfs.get(name, 0) / pu if pu else 0
            f = 100.0 * fselfs.get(name, 0) / fu if fu else 0
        if max(p, f) < a.min_share:
            continue
        # Two samplers of the same split differ by chance: one standard deviation of the
        # difference is sqrt(q(1-q)/n1 + q(1-q)/n2). With a few thousand samples each (a quiet
        # host) that is ~1 point and the tolerance (3) binds; when load leaves the target a few
        # hundred, 3.5 of them do, and the line says so.
        q = (p + f) / 200.0
        n1, n2 = (pn, fn) if kernel else (pu, fu)
        sd = 100.0 * math.sqrt(q * (1 - q) * (1.0 / max(n1, 1) + 1.0 / max(n2, 1)))
        tol = max(a.tolerance, 3.5 * sd)
        good = kernel or abs(p - f) <= tol
        ok &= good
        print(f"self {name}: perf {p:.1f}%, flametop {f:.1f}%, diff {f - p:+.1f} "
              f"({'shown' if kernel else 'ok' if good else 'FAIL'}"
              f"{f', within {tol:.1f}: 3.5 sd of {n1}/{n2} samples' if tol > a.tolerance else ''})")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
