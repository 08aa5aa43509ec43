// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/ksym: kernel symbols from the kernel itself, one address at a time, instead of reading
 * /proc/kallsyms. A BPF "syscall" program run with BPF_PROG_TEST_RUN formats addresses with the
 * kernel's "%pS" (bpf_snprintf) and finds functions by name (bpf_kallsyms_lookup_name). Reading
 * /proc/kallsyms makes the kernel format all of its ~120k symbols (~45 ms of system time on a
 * 2-vCPU VM, each time), the most expensive part of a snapshot's start; a session names a few
 * hundred kernel functions. The symbolizer asks through syms_set_kernel_namer() and caches each
 * function's range, so an address in a function already named costs no call.
 */
#ifndef PROBES_KSYM_H
#define PROBES_KSYM_H

#include <stddef.h>
#include <stdint.h>

struct probe_ksym;
struct syms_kernel_name;

/* A namer; its program is loaded at the first question (or probe_ksym_load()). */
struct probe_ksym *probe_ksym_new(void);
void probe_ksym_free(struct probe_ksym *k);
/* Loads the program now: 0, or -errno with err set (no BPF, no bpf_snprintf: read kallsyms). */
int probe_ksym_load(struct probe_ksym *k, char *err, size_t errlen);

/*
 * The function covering addr: its name (into name, NUL-terminated), its start and size, and its
 * module ("[mod]" into module, "" for the core kernel). 1 when found, 0 when no symbol covers
 * addr, -errno when the kernel could not be asked (the program does not load).
 */
int probe_ksym_name(struct probe_ksym *k, uint64_t addr, char *name, size_t name_len,
		    uint64_t *start, uint64_t *size, char *module, size_t module_len);
/* probe_ksym_name() for syms_set_kernel_namer(); ctx is the struct probe_ksym. */
int probe_ksym_namer(void *ctx, uint64_t addr, struct syms_kernel_name *out);
/* The text of function name: [lo, hi). 0, -ENOENT, or -errno. */
int probe_ksym_find(struct probe_ksym *k, const char *name, uint64_t *lo, uint64_t *hi);

/* Calls made to the kernel (runs of the program), for the tests and the bench. */
uint64_t probe_ksym_calls(const struct probe_ksym *k);

#endif
