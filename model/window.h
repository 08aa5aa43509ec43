// SPDX-License-Identifier: GPL-2.0-only
/*
 * A window: the sum of the last N ticks (or all of them since start). Views and writers read
 * windows, not ticks.
 */
#ifndef MODEL_WINDOW_H
#define MODEL_WINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct window {
	uint64_t start_ns, end_ns;
	size_t nr_ticks;
	uint64_t samples;   /* all samples, including those without a stack */
	uint64_t truncated;
	uint64_t lost[MODEL_LOST_NR];
	struct tick_count *counts; /* one per (thread, stack), sorted by count, descending */
	size_t nr_counts;
	uint64_t *thread_samples;  /* indexed by thread index, nr_threads long */
	uint32_t nr_threads;
	struct tick_count *offcpu; /* blocked ns by (thread, stack), most first */
	size_t nr_offcpu;
	struct tick_count *wakes;  /* blocks by (thread, block and waker stack), most first */
	size_t nr_wakes;
	/* ns per state, indexed by thread index: thread_states[idx][MODEL_STATE_*] */
	uint64_t (*thread_states)[MODEL_STATE_NR];
	struct tick_heap *heap;      /* RSS growth by (thread, stack), most growth first */
	size_t nr_heap;
	struct tick_heap *allocs;    /* leak mode: allocated minus freed by (thread, allocating
					stack), most first; since start, what is outstanding */
	size_t nr_allocs;
	struct tick_memory *memory;  /* processes whose memory was read in the window, by pid: v the
					newest reading, d the change over the window */
	size_t nr_memory;
	struct tick_heap_info heap_info; /* summed; mode and live_* from the newest tick */
	/* private */
	void *index, *offcpu_index, *heap_index, *allocs_index, *wakes_index;
	size_t cap_memory;
};

void window_init(struct window *w);
void window_fini(struct window *w);
/* Sums the newest nticks ticks of m (0: everything since start) into w, replacing its contents. */
void window_sum(struct window *w, const struct model *m, size_t nticks);
/* The same for the threads of process pid only (0: all); its memory is not summed. */
void window_sum_pid(struct window *w, const struct model *m, size_t nticks, uint32_t pid);

#endif
