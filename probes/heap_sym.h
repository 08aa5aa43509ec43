// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap: which allocator a process actually uses, and where to put the uprobes. Every ELF
 * file the process maps executable (through /proc/PID/root, so containers work) that defines
 * malloc or free — glibc's libc.so.6, libjemalloc, libtcmalloc, a static binary — gets probes on
 * the allocator functions it defines. Aliases (memalign and aligned_alloc, free and cfree) are
 * probed once.
 *
 * Where in the function: a uprobe's cost depends on the instruction it replaces. The kernel
 * emulates push, jumps, calls and nop, but single-steps anything else out of line, which costs
 * ~10 µs instead of ~1 µs here (glibc's free starts with `test %rdi,%rdi`). So the probe goes on
 * the first instruction the kernel emulates, as long as every instruction before it runs on
 * every call, only sets flags (test, cmp) and leaves the stack pointer and the argument
 * registers alone: the arguments are still where the probe reads them, and [rsp] is still the
 * return address a uretprobe hijacks. No ELF or /proc parsing needs privileges.
 */
#ifndef PROBES_HEAP_SYM_H
#define PROBES_HEAP_SYM_H

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* What a function does, i.e. which uprobe program reads its arguments. */
enum heap_sym_kind {
	HEAP_SYM_MALLOC,         /* (size): malloc, valloc, pvalloc, mallocx */
	HEAP_SYM_CALLOC,         /* (n, size) */
	HEAP_SYM_REALLOC,        /* (ptr, size): realloc, rallocx */
	HEAP_SYM_REALLOCARRAY,   /* (ptr, n, size) */
	HEAP_SYM_MEMALIGN,       /* (align, size): memalign, aligned_alloc */
	HEAP_SYM_POSIX_MEMALIGN, /* (&ptr, align, size) */
	HEAP_SYM_FREE,           /* (ptr, ...): free, cfree, sdallocx, dallocx, free_sized */
	HEAP_SYM_NR,
};

struct heap_sym_fn {
	char path[PATH_MAX];  /* the file to attach to: /proc/PID/root/<path> */
	char name[32];        /* "malloc" */
	enum heap_sym_kind kind;
	uint64_t addr;        /* the symbol's value (ELF virtual address) */
	uint32_t offset;      /* where in the function the probe goes */
	bool single_step;     /* no emulated instruction could be used: ~10x the cost */
};

/*
 * The allocator functions of pid, into a malloc'ed *out (free() it). Returns how many (0: no
 * mapped file defines malloc or free, e.g. a Go program or a stripped static binary), or -errno
 * with a reason in err.
 */
int heap_sym_find(const char *proc_root, uint32_t pid, struct heap_sym_fn **out, char *err,
		  size_t errlen);

/* The functions one ELF file defines (path as given): the same, for one file. */
int heap_sym_file(const char *path, struct heap_sym_fn **out, char *err, size_t errlen);

/*
 * Where to probe a function whose first len bytes of code are code (x86-64): the offset of the
 * first instruction the kernel emulates, reached through flag-setting instructions only. Sets
 * *emulated false (and returns 0) when there is none in reach: the probe then goes at the start
 * and is single-stepped.
 */
uint32_t heap_sym_entry_offset(const uint8_t *code, size_t len, bool *emulated);

/* "malloc", "calloc", ... "free" for a kind. */
const char *heap_sym_kind_name(enum heap_sym_kind kind);

#endif
