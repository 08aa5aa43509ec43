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

#include <stdbool.h>
#include <stdint.h>

struct bpf_object;

/* Keeps the first parse of the kernel's BTF for the loads that follow, until the release. */
void probe_kbtf_hold(void);
/* Ends the hold: the kept BTF (~11 MB here) is freed now and later loads parse again. */
void probe_kbtf_release(void);

/* How often libbpf asked for the kernel's BTF, and how often it was parsed for that. */
uint64_t probe_kbtf_calls(void);
uint64_t probe_kbtf_parses(void);

/*
 * CO-RE relocations against a small BTF: the kernel's definitions of the struct, union and enum
 * types an object's own BTF names (those embedded in them by value too; pointers become
 * pointers to void), given to libbpf as the object's btf_custom_path. libbpf 1.1 looks for the
 * kernel types matching each type an object relocates by walking all of the kernel's ~126k
 * types, once per type and object (18 walks for the cpu, sched and heap objects); here the
 * kernel's named types are indexed once per hold, and libbpf walks a few thousand types.
 * tp_btf attach points still come from the kernel's whole BTF (ids must be the kernel's).
 *
 * Use: probe_kbtf_core_begin() before the open, probe_kbtf_core_path() as the open options'
 * btf_custom_path (NULL: none could be made, libbpf searches the kernel's BTF as before),
 * probe_kbtf_core_fill() between the open and the load (libbpf reads the file at the load),
 * probe_kbtf_core_end() after the load. Outside a hold, the kernel's BTF parsed for the fill is
 * held for the load that follows: one parse per object, as before. Where this module's
 * definitions are not reached (a static link), there is no path: libbpf searches as before.
 */
struct probe_kbtf_core {
	int fd; /* a memfd, or -1 */
	char path[32];
	bool hold; /* the kernel's BTF held from the fill to the end (no session hold) */
};

void probe_kbtf_core_begin(struct probe_kbtf_core *c);
const char *probe_kbtf_core_path(const struct probe_kbtf_core *c);
/* Writes the small BTF for obj (after its open). Where it cannot be made, the kernel's whole
 * BTF is written instead (slower, never wrong). 0, or -errno when nothing could be written (the
 * load then fails to read it, as it would have failed to find the kernel's BTF). */
int probe_kbtf_core_fill(struct probe_kbtf_core *c, const struct bpf_object *obj);
void probe_kbtf_core_end(struct probe_kbtf_core *c);
/* Types written into small BTFs so far (0: none was made). */
uint64_t probe_kbtf_core_types(void);

#endif
