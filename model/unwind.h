// SPDX-License-Identifier: GPL-2.0-only
/*
 * User-space stack unwinding of a sampled thread, away from the thread: from the registers and a
 * copy of the top of its user stack that a source (probes/perf, probes/cpu) captured, using the
 * mapped binaries' .eh_frame (or .debug_frame) through libunwind's remote API, the way linux
 * perf's util/unwind-libunwind-local.c does. Frames without unwind info (JIT code) fall back to
 * the frame pointer for that frame; Go programs, which have no .eh_frame but always keep frame
 * pointers, take the source's frame-pointer walk.
 *
 * A walk goes over the binaries' pre-digested unwind tables (model/cfi.h: built once per binary,
 * shared by every process) and leaves the samples they cannot walk to libunwind: one address
 * space per process, caching globally; dropped when the process's executable mappings change
 * (dlopen, exec). Binaries' unwind sections are cached by the symbolizer, per binary. No BPF and
 * no probe in here: tests feed it copies of real stacks. FLAMETOP_UNWIND_TABLE=0 walks every
 * sample with libunwind.
 */
#ifndef MODEL_UNWIND_H
#define MODEL_UNWIND_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gostack.h"

struct syms;
struct unwind;

/*
 * Registers as perf_event samples them with sample_regs_user = UNWIND_REGS_MASK (x86-64): the
 * order of enum perf_event_x86_regs with ax..ip and r8..r15 kept.
 */
#define UNWIND_REGS_MASK 0xff01ffull
enum unwind_reg {
	UNWIND_REG_AX,
	UNWIND_REG_BX,
	UNWIND_REG_CX,
	UNWIND_REG_DX,
	UNWIND_REG_SI,
	UNWIND_REG_DI,
	UNWIND_REG_BP,
	UNWIND_REG_SP,
	UNWIND_REG_IP,
	UNWIND_REG_R8,
	UNWIND_REG_R9,
	UNWIND_REG_R10,
	UNWIND_REG_R11,
	UNWIND_REG_R12,
	UNWIND_REG_R13,
	UNWIND_REG_R14,
	UNWIND_REG_R15,
	UNWIND_NR_REGS,
};

enum unwind_mode {
	UNWIND_AUTO,  /* per process: DWARF, or the frame-pointer walk for Go programs */
	UNWIND_FP,    /* the source's frame-pointer walk only */
	UNWIND_DWARF, /* DWARF whenever a stack copy came with the sample */
};

/* "auto", "fp", "dwarf". */
const char *unwind_mode_name(enum unwind_mode m);

#define UNWIND_MAX_FRAMES 256

/* One sampled user thread, as a source captured it. Everything is borrowed for the call. */
struct unwind_sample {
	uint32_t pid;
	const uint64_t *regs;  /* UNWIND_NR_REGS registers, or NULL (none captured) */
	const uint8_t *stack;  /* a copy of the user stack from regs[UNWIND_REG_SP] up */
	size_t stack_size;
	const uint64_t *fp;    /* the source's frame-pointer walk, leaf first (may be NULL) */
	uint32_t nr_fp;
	bool fp_truncated;     /* that walk hit its depth limit */
};

/* syms is borrowed and must outlive the unwinder. */
int unwind_new(struct syms *syms, enum unwind_mode mode, struct unwind **out);
void unwind_free(struct unwind *u);

/* The walk the process gets: UNWIND_FP or UNWIND_DWARF (decided once per exec/dlopen). */
enum unwind_mode unwind_mode_of(struct unwind *u, uint32_t pid);
/*
 * A Go program (its executable has .gopclntab, .go.buildinfo or a Go build-id note): its
 * frame-pointer walks are repaired by model/gostack, which needs the stack pointer and the
 * GOSTACK_WORDS_SIZE bytes at it (sources send those for such processes).
 */
bool unwind_is_go(struct unwind *u, uint32_t pid);

/*
 * The user stack of a sample, leaf first, into ips (at most max): the DWARF walk when the
 * process gets one and a stack copy came with the sample, else the frame-pointer walk (for a Go
 * program repaired with its function table, model/gostack.h; regs[SP] and the stack copy are
 * used when present).
 * *truncated says the walk stopped before the thread's root: it ran off the end of the stack
 * copy, hit max, or found no way on. Returns the number of frames.
 */
uint32_t unwind_user(struct unwind *u, const struct unwind_sample *in, uint64_t *ips, uint32_t max,
		     bool *truncated);

/*
 * The DWARF walk over the binaries' unwind tables (model/cfi.h, built once per binary and shared
 * by every process that maps it): per frame a binary search and two words of the stack copy.
 * Returns the number of frames, or -ENOENT where a frame needs what the tables do not hold (no
 * FDE, a CFA expression as in PLT entries, a signal frame): unwind_user() then walks the sample
 * with unwind_dwarf(). Where both walk, they give the same frames.
 */
int unwind_table(struct unwind *u, const struct unwind_sample *in, uint64_t *ips, uint32_t max,
		 bool *truncated);

/* The DWARF walk with libunwind. Returns the number of frames (the first is regs[IP]), or
 * -errno. */
int unwind_dwarf(struct unwind *u, const struct unwind_sample *in, uint64_t *ips, uint32_t max,
		 bool *truncated);

/* The process exited: drop its address space. */
void unwind_forget_pid(struct unwind *u, uint32_t pid);
/* Address spaces kept (at most UNWIND_MAX_PROCS, least recently used go first). */
#define UNWIND_MAX_PROCS 256
size_t unwind_nr_procs(const struct unwind *u);

#define UNWIND_TIME_EVERY 8

/* What the unwinder did so far (cumulative). */
struct unwind_stats {
	uint64_t dwarf;     /* samples walked with DWARF */
	uint64_t table;     /* ... of which the unwind tables walked (the rest: libunwind) */
	uint64_t fp;        /* samples given the frame-pointer walk */
	uint64_t truncated; /* DWARF walks that stopped early */
	uint64_t off_copy;  /* ... of which ran off the end of the stack copy */
	uint64_t frames;    /* frames produced by DWARF walks */
	uint64_t ns;        /* CPU time spent in DWARF walks: timed walks' time x walks / timed */
	uint64_t timed;     /* walks timed: one in UNWIND_TIME_EVERY (the thread's CPU clock is a
			       system call, two a walk were a third of a warm walk's cost) */
	uint64_t mem_misses; /* reads of memory nothing held (neither stack copy nor the binaries'
				unwind sections and personality words): each may have ended a walk */
	struct gostack_stats go; /* repairs of Go programs' frame-pointer walks */
	uint64_t rows_cached; /* unwind table rows the walks found again in their cache */
};
void unwind_stats(const struct unwind *u, struct unwind_stats *out);

#endif
