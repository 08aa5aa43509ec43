// SPDX-License-Identifier: GPL-2.0-only
/*
 * Go stacks: the frame-pointer walk of a thread of a Go program (the kernel's, from the sampled
 * registers), repaired with the program's function table (model/gopclntab), the way the Go
 * runtime's own traceback would see it.
 *
 *  - A leaf that has not pushed its frame pointer (a function without a frame, or one sampled
 *    in its prologue or epilogue) hides its caller: the walk's second address is the caller's
 *    caller (`runtime.main;main.hotSpin` without main.main). The table's frame size at the
 *    leaf's pc (pcsp) says how far above SP the return address is; from the few words at SP
 *    the source captured, the caller comes back.
 *  - A function that ends Go stacks (TOPFRAME: runtime.goexit, runtime.mstart, rt0_go) is the
 *    root: what the walk found above it is garbage (the sysmon thread's `[unknown]` frames).
 *  - runtime.mcall runs its function on the system stack (g0) for a goroutine that is parked,
 *    preempted or exiting: the frame pointers still lead into that goroutine's frames, which
 *    are stale (`syscall.write;...;runtime.mcall;runtime.park_m;...;futex` while the thread
 *    looks for work). mcall is the root of the system stack, as in Go's own tracebacks.
 *  - runtime.morestack switches to g0 before its caller has a frame: the function that grows
 *    its stack and its caller are not on the frame-pointer chain. The walk stops there and is
 *    marked truncated.
 *  - A return address outside executable memory ends the walk, marked truncated.
 *  - Assembly may use BP as a register (Go 1.19/1.20's crypto/sha256 AVX2 block holds a table
 *    address there), and the walk breaks off at garbage or ends without a root. When the source
 *    copied the stack, it is walked again the way the runtime's traceback does, by frame sizes
 *    (pcsp) from SP, up to a root, a function that switches stacks or the end of the copy.
 * runtime.systemstack (and asmcgocall) run on g0 on behalf of the current goroutine: the walk
 * goes on into its frames, as Go's traceback does. (Go 1.19's systemstack has no frame, so
 * the function that called it is missing above it.)
 */
#ifndef MODEL_GOSTACK_H
#define MODEL_GOSTACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct syms;

/* Bytes of stack at SP a source captures for Go programs: the leaf's return address is there
 * whenever its frame pointer is not pushed yet (frame size 0 or 8; up to 56 in Go 1.19's
 * prologue, which subtracts the frame before saving the frame pointer). */
#define GOSTACK_WORDS_SIZE 64

struct gostack_stats {
	uint64_t walks;     /* walks of Go programs repaired */
	uint64_t leaf;      /* callers of frameless leaves put back */
	uint64_t no_words;  /* Go leaves that came without the words at SP */
	uint64_t g0;        /* walks that ended at runtime.mcall (system stack) */
	uint64_t top;       /* walks cut at a TOPFRAME function (garbage above dropped) */
	uint64_t morestack; /* walks cut, truncated, at runtime.morestack */
	uint64_t garbage;   /* walks cut, truncated, at an address outside executable memory */
	uint64_t frame_sizes; /* broken walks redone by frame sizes over a copy of the stack */
};

/* The most frames a walk by frame sizes gives (model/unwind's UNWIND_MAX_FRAMES). */
#define GOSTACK_MAX_FRAMES 256

/*
 * Repairs the walk ips[0..n) (leaf first; ips[0] is the sampled pc) of a thread of Go program
 * pid, in place, into at most max addresses. sp and stack (stack_size bytes copied from sp up)
 * are what the source captured, or 0/NULL. *truncated is updated. Returns the new count.
 */
uint32_t gostack_repair(struct syms *syms, uint32_t pid, uint64_t sp, const uint8_t *stack,
			size_t stack_size, uint64_t *ips, uint32_t n, uint32_t max, bool *truncated,
			struct gostack_stats *st);

#endif
