// SPDX-License-Identifier: GPL-2.0-only
/*
 * How complete the sampled stacks are, so that a user can judge a profile: the share of samples
 * of user threads whose stack reaches its thread's root (_start, __libc_start_main, clone,
 * clone3, start_thread, the dynamic loader's _dl_start_user, Go's runtime.goexit / runtime.main /
 * runtime.mstart), and the share the unwinder marked truncated. Kernel threads are not counted:
 * they have no user stack. The entry point of a stripped executable or loader is named _start
 * by the symbolizer (model/elfsyms.c), so it counts too.
 */
#ifndef MODEL_QUALITY_H
#define MODEL_QUALITY_H

#include <stdbool.h>
#include <stdint.h>

struct model;
struct stacks;
struct window;

struct quality {
	uint64_t samples;      /* on-CPU samples of user threads: the denominator */
	uint64_t reached_root; /* ... whose outermost user frame is a thread root */
	uint64_t truncated;    /* ... whose walk stopped early (MODEL_SAMPLE_TRUNCATED) */
};

/* True when frame is a function a thread starts in. */
bool quality_is_root(const char *function);
/* How a stack starts: 1 at a thread root, 0 at some other user frame or a marker of a missing or
 * truncated user stack, -1 without user frames (a kernel thread, or no stack at all). */
int quality_stack_root(const struct stacks *st, uint32_t stack);
/* The quality of a window's on-CPU samples (for the TUI header and the snapshot). */
void quality_of(const struct model *m, const struct window *w, struct quality *q);
/* n / of as a percentage, 0 when of is 0. */
double quality_pct(uint64_t n, uint64_t of);

#endif
