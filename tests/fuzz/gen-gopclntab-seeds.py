#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0-only
"""Writes small, valid Go function tables (.gopclntab) as seeds for fuzz_gopclntab: the layouts
of Go 1.18/1.19 and of Go 1.20+, with two functions, two files, frame sizes, lines and one
inlined call whose inline tree lives in the same bytes (the fuzzer hands the input over as both
the table and the go:func.* data). Real tables are hundreds of KiB: too big to mutate well.
With gcc and strip, also elf-go120: the 1.20 table as the .gopclntab of a tiny static ELF whose
.noptrdata holds the module data that points at it (go:func.* = the table).
usage: gen-gopclntab-seeds.py OUTDIR"""
import os
import shutil
import struct
import subprocess
import sys
import tempfile


def uvarint(v):
    out = bytearray()
    while True:
        b = v & 0x7f
        v >>= 7
        out.append(b | (0x80 if v else 0))
        if not v:
            return bytes(out)


def pcvalue(ranges):
    """[(value, length), ...] from the entry on, encoded as Go's linker does."""
    out, prev = bytearray(), -1
    for val, length in ranges:
        d = val - prev
        out += uvarint(((d << 1) ^ (d >> 31)) & 0xffffffff)  # zigzag
        out += uvarint(length)
        prev = val
    return bytes(out + b"\0")


def table(v120):
    names = b"main.f\0main.g\0main.inl\0"
    files = b"a.go\0b.go\0"
    cutab = struct.pack("<2I", 0, 5)
    pctab = bytearray(b"\0")  # offset 0 means "no table"
    funcs = []
    for i, (size, file, line) in enumerate(((20, 0, 10), (16, 1, 30))):
        t = {}
        t["sp"] = len(pctab); pctab += pcvalue([(0, 4), (8, size - 8), (0, 4)])
        t["file"] = len(pctab); pctab += pcvalue([(file, size)])
        t["ln"] = len(pctab); pctab += pcvalue([(line, 4), (line + 2, 8), (line + 3, size - 12)])
        t["inl"] = len(pctab); pctab += pcvalue([(-1, 4), (0, 8), (-1, size - 12)])
        t["size"], t["name"], t["line"] = size, 7 * i, line
        funcs.append(t)
    hdr_size = 8 + 8 * 8
    off_names = hdr_size
    off_cu = off_names + len(names)
    off_files = off_cu + len(cutab)
    off_pc = off_files + len(files)
    off_pcln = off_pc + len(pctab)
    fsize = 44 if v120 else 40
    nfunc = len(funcs)
    functab = bytearray()
    recs = bytearray()
    rec_base = (2 * nfunc + 1) * 4
    entry = 0
    tree_slots = []
    for t in funcs:
        functab += struct.pack("<2I", entry, rec_base + len(recs))
        r = struct.pack("<Ii2I5I", entry, t["name"], 0, 0, t["sp"], t["file"], t["ln"], 3, 0)
        if v120:
            r += struct.pack("<i", t["line"])
        r += bytes([0, 0, 0, 4])  # funcID, flag, pad, nfuncdata
        r += struct.pack("<3I", 0, 0, t["inl"])  # pcdata 0..2
        tree_slots.append(len(recs) + len(r) + 12)  # funcdata[3]
        r += struct.pack("<4I", 0xffffffff, 0xffffffff, 0xffffffff, 0)
        recs += r
        entry += t["size"]
    functab += struct.pack("<I", entry)
    body = bytearray(functab + recs)
    tree_off = off_pcln + len(body)
    if v120:
        tree = struct.pack("<B3xiii", 0, 14, 2, 20)  # nameOff, parentPc, startLine
    else:
        tree = struct.pack("<hBxiiii", -1, 0, 0, 11, 14, 2)  # parent, file, line, name, parentPc
    for slot in tree_slots:  # offsets from go:func.*, which is the table itself here
        struct.pack_into("<I", body, len(functab) + slot, tree_off)
    hdr = struct.pack("<IBBBB8Q", 0xfffffff1 if v120 else 0xfffffff0, 0, 0, 1, 8, nfunc, 2,
                      0x401000, off_names, off_cu, off_files, off_pc, off_pcln)
    return hdr + names + cutab + files + bytes(pctab) + bytes(body) + tree


ELF_SOURCE = """
__attribute__((section(".gopclntab"), used, aligned(32))) const unsigned char tab[] = {%s};
void start(void) { for (;;) ; }
/* runtime.firstmoduledata: pcHeader, funcnametab, ..., minpc [20], text [22], gofunc [40] */
__attribute__((section(".noptrdata"), used)) const void *md[48] = {
	tab, tab + %d, 0, 0, [20] = (const void *)0x401000, [22] = (const void *)0x401000,
	[40] = tab,
};
"""


def elf(tab, path):
    if not shutil.which("gcc") or not shutil.which("strip"):
        return
    names = struct.unpack_from("<Q", tab, 8 + 3 * 8)[0]
    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "seed.c")
        with open(src, "w") as f:
            f.write(ELF_SOURCE % (",".join(map(str, tab)), names))
        subprocess.run(["gcc", "-O1", "-nostdlib", "-static", "-no-pie", "-fno-pie",
                        "-Wl,-e,start", "-Wl,--build-id=none", "-Wl,-n",
                        "-Wl,-z,noseparate-code", "-Wl,-Ttext=0x401000", "-Wl,--no-warn-rwx-segments",
                        "-o", path, src], check=True)
        subprocess.run(["strip", "-s", "-R", ".comment", path], check=True)


def main():
    out = sys.argv[1]
    os.makedirs(out, exist_ok=True)
    for name, v120 in (("go118", False), ("go120", True)):
        with open(os.path.join(out, name), "wb") as f:
            f.write(table(v120))
    elf(table(True), os.path.join(out, "elf-go120"))


if __name__ == "__main__":
    main()
