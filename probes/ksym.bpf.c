// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel symbols without reading /proc/kallsyms: the kernel formats each of its ~120k symbols
 * for every read of it (~45 ms of system time here), while flametop names a few hundred
 * addresses per session. This program, run on demand (BPF_PROG_TEST_RUN), asks the kernel's own
 * symbol lookup: bpf_snprintf("%pS") gives "function+0xoff/0xsize [module]" for an address, and
 * bpf_kallsyms_lookup_name() the address of a function by name.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

#include "ksym_abi.h"

char LICENSE[] SEC("license") = "GPL";

__u64 ksym_addrs[KSYM_BATCH];
char ksym_names[KSYM_BATCH][KSYM_NAME_LEN];
__u32 ksym_nr;
char ksym_lookup[KSYM_NAME_LEN];
__u64 ksym_found;

static const char fmt[] = "%pS";

SEC("syscall")
int ksym_name(void *ctx)
{
	__u32 n = ksym_nr;

	if (n > KSYM_BATCH)
		n = KSYM_BATCH;
	for (__u32 i = 0; i < n && i < KSYM_BATCH; i++)
		bpf_snprintf(ksym_names[i], KSYM_NAME_LEN, fmt, &ksym_addrs[i], sizeof(__u64));
	return 0;
}

SEC("syscall")
int ksym_find(void *ctx)
{
	__u64 addr = 0;

	ksym_lookup[KSYM_NAME_LEN - 1] = '\0';
	if (bpf_kallsyms_lookup_name(ksym_lookup, sizeof(ksym_lookup), 0, &addr))
		addr = 0;
	ksym_found = addr;
	return 0;
}
