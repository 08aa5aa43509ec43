// SPDX-License-Identifier: GPL-2.0-only
/*
 * The kernel's BTF (/sys/kernel/btf/vmlinux) parsed once for all the BPF objects a session
 * loads, instead of once per object.
 *
 * libbpf 1.1 (Debian 12) parses the kernel's BTF inside every bpf_object__load() that needs it
 * (CO-RE relocations, tp_btf attach points) and frees it before returning: ~5.5 MB read and
 * indexed three times while a session starts (cpu, sched and heap), ~10 ms each, a sixth of a
 * one-second snapshot's CPU. Its API has no way to hand an object a parsed BTF
 * (btf_custom_path parses the file given, per object, as well). libbpf gets it with
 * btf__load_vmlinux_btf() and drops it with btf__free(), both called through its PLT: this
 * module defines both in the executable, so libbpf's calls reach them. Outside a hold they
 * only pass the calls on to libbpf's own functions; while held, the first load parses and
 * the others get the same struct btf, which btf__free() leaves alone until the hold ends.
 * libbpf only reads the kernel's BTF (module BTF is split BTF on top of it, likewise read).
 *
 * Where libbpf is linked so that its calls do not go through the PLT (a static or LTO build),
 * nothing reaches these definitions and each object parses, as before: probe_kbtf_calls()
 * says whether they were reached. Single-threaded: the loads happen on the session's thread.
 */
#ifndef PROBES_KBTF_H
#define PROBES_KBTF_H

#include <stdint.h>

/* Keeps the first parse of the kernel's BTF for the loads that follow, until the release. */
void probe_kbtf_hold(void);
/* Ends the hold: the kept BTF (~11 MB here) is freed now and later loads parse again. */
void probe_kbtf_release(void);

/* How often libbpf asked for the kernel's BTF, and how often it was parsed for that. */
uint64_t probe_kbtf_calls(void);
uint64_t probe_kbtf_parses(void);

#endif
