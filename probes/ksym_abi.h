// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/ksym: the layout of the kernel-symbol program's global data, shared by ksym.bpf.c and
 * its loader. User space writes addresses (or a name) into .bss, runs the program once with
 * BPF_PROG_TEST_RUN and reads the kernel's own "%pS" of each address back.
 */
#ifndef PROBES_KSYM_ABI_H
#define PROBES_KSYM_ABI_H

#define KSYM_BATCH 64     /* addresses named per run */
#define KSYM_NAME_LEN 192 /* "function+0xoff/0xsize [module]"; KSYM_NAME_LEN is 512 in the
			     kernel, but no text symbol this long is seen */

#endif
