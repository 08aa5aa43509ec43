// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "counts.h"
#include "growth.h"
#include "threads.h"
#include "window.h"
#include "xalloc.h"

void window_init(struct window *w)
{
	memset(w, 0, sizeof(*w));
	w->index = xcalloc(1, sizeof(struct counts));
	w->offcpu_index = xcalloc(1, sizeof(struct counts));
	counts_init(w->index);
	counts_init(w->offcpu_index);
	w->wakes_index = xcalloc(1, sizeof(struct counts));
	counts_init(w->wakes_index);
	w->heap_index = xcalloc(1, sizeof(struct growth));
	w->allocs_index = xcalloc(1, sizeof(struct growth));
	growth_init(w->heap_index);
	growth_init(w->allocs_index);
}

void window_fini(struct window *w)
{
	if (w->index) {
		counts_fini(w->index);
		free(w->index);
	}
	if (w->offcpu_index) {
		counts_fini(w->offcpu_index);
		free(w->offcpu_index);
	}
	if (w->wakes_index) {
		counts_fini(w->wakes_index);
		free(w->wakes_index);
	}
	if (w->heap_index) {
		growth_fini(w->heap_index);
		free(w->heap_index);
	}
	if (w->allocs_index) {
		growth_fini(w->allocs_index);
		free(w->allocs_index);
	}
	free(w->thread_samples);
	free(w->thread_states);
	free(w->memory);
	memset(w, 0, sizeof(*w));
}

/* Adds a tick's memory readings: the first (newest) reading of a pid sets v, changes add up.
 * Ticks are added newest first; memory stays sorted by pid. */
static void add_memory(struct window *w, const struct tick *t)
{
	for (size_t i = 0; i < t->nr_memory; i++) {
		const struct tick_memory *in = &t->memory[i];
		size_t lo = 0, hi = w->nr_memory;
		struct tick_memory *e;

		while (lo < hi) {
			size_t mid = (lo + hi) / 2;

			if (w->memory[mid].pid < in->pid)
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == w->nr_memory || w->memory[lo].pid != in->pid) {
			w->memory = xgrow(w->memory, &w->cap_memory, w->nr_memory + 1,
					  sizeof(*w->memory));
			memmove(&w->memory[lo + 1], &w->memory[lo],
				(w->nr_memory - lo) * sizeof(*w->memory));
			w->nr_memory++;
			e = &w->memory[lo];
			*e = *in;
			e->known &= (1u << MODEL_MEM_NR) - 1;
			continue;
		}
		e = &w->memory[lo];
		for (int k = 0; k < MODEL_MEM_NR; k++) {
			if (!(in->known & (1u << k)))
				continue;
			if (!(e->known & (1u << k)))
				e->v[k] = in->v[k];
			e->d[k] += in->d[k];
		}
		e->known |= in->known & ((1u << MODEL_MEM_NR) - 1);
	}
}

static void add_heap_info(struct tick_heap_info *to, const struct tick_heap_info *in, bool newest)
{
	if (newest) {
		to->mode = in->mode;
		to->live_blocks = in->live_blocks;
		to->live_bytes = in->live_bytes;
	}
	to->events += in->events;
	to->calls += in->calls;
	to->unmatched += in->unmatched;
	to->lost += in->lost;
	to->cost_ns += in->cost_ns;
}

/* Whether thread idx is of process pid (0: any). */
static bool of(const struct threads *th, uint32_t pid, uint32_t idx)
{
	const struct thread *t;

	if (!pid)
		return true;
	t = threads_get(th, idx);
	return t && t->pid == pid;
}

static void add_tick(struct window *w, struct counts *c, const struct tick *t, bool newest,
		     const struct threads *th, uint32_t pid)
{
	for (size_t i = 0; i < t->nr_heap; i++)
		if (of(th, pid, t->heap[i].thread))
			growth_add(w->heap_index, t->heap[i].thread, t->heap[i].stack,
				   t->heap[i].bytes, t->heap[i].count);
	for (size_t i = 0; i < t->nr_allocs; i++)
		if (of(th, pid, t->allocs[i].thread))
			growth_add(w->allocs_index, t->allocs[i].thread, t->allocs[i].stack,
				   t->allocs[i].bytes, t->allocs[i].count);
	if (!pid)
		add_memory(w, t);
	add_heap_info(&w->heap_info, &t->heap_info, newest);
	for (size_t i = 0; i < t->nr_offcpu; i++)
		if (of(th, pid, t->offcpu[i].thread))
			counts_add(w->offcpu_index, t->offcpu[i].thread, t->offcpu[i].stack,
				   t->offcpu[i].count);
	for (size_t i = 0; i < t->nr_wakes; i++)
		if (of(th, pid, t->wakes[i].thread))
			counts_add(w->wakes_index, t->wakes[i].thread, t->wakes[i].stack,
				   t->wakes[i].count);
	for (size_t i = 0; i < t->nr_states; i++)
		if (t->states[i].thread < w->nr_threads && t->states[i].stack < MODEL_STATE_NR &&
		    of(th, pid, t->states[i].thread))
			w->thread_states[t->states[i].thread][t->states[i].stack] +=
				t->states[i].count;
	for (size_t i = 0; i < t->nr_counts; i++) {
		const struct tick_count *tc = &t->counts[i];

		if (!of(th, pid, tc->thread))
			continue;
		counts_add(c, tc->thread, tc->stack, tc->count);
		if (tc->thread < w->nr_threads)
			w->thread_samples[tc->thread] += tc->count;
		if (pid)
			w->samples += tc->count;
	}
	if (!pid)
		w->samples += t->samples;
	w->truncated += t->truncated;
	for (int k = 0; k < MODEL_LOST_NR; k++)
		w->lost[k] += t->lost[k];
}

void window_sum(struct window *w, const struct model *m, size_t nticks)
{
	window_sum_pid(w, m, nticks, 0);
}

void window_sum_pid(struct window *w, const struct model *m, size_t nticks, uint32_t pid)
{
	const struct threads *th = model_threads(m);
	struct counts *c = w->index;
	size_t have = model_nr_ticks(m);
	uint32_t nr_threads = threads_count(model_threads(m));

	counts_clear(c);
	counts_clear(w->offcpu_index);
	counts_clear(w->wakes_index);
	growth_clear(w->heap_index);
	growth_clear(w->allocs_index);
	w->nr_memory = 0;
	memset(&w->heap_info, 0, sizeof(w->heap_info));
	w->samples = w->truncated = 0;
	memset(w->lost, 0, sizeof(w->lost));
	free(w->thread_samples);
	free(w->thread_states);
	w->nr_threads = nr_threads;
	w->thread_samples = xcalloc(nr_threads ? nr_threads : 1, sizeof(*w->thread_samples));
	w->thread_states = xcalloc(nr_threads ? nr_threads : 1, sizeof(*w->thread_states));

	if (!nticks || nticks > have) {
		/* Since start: the running total covers ticks that left the history. */
		const struct tick *t = model_total(m);

		if (!nticks || have == 0 || model_tick(m, have - 1)->seq == 0) {
			add_tick(w, c, t, true, th, pid);
			w->start_ns = model_start_ns(m);
			w->end_ns = t->end_ns;
			w->nr_ticks = have ? t->seq + 1 : 0;
			goto out;
		}
		nticks = have;
	}
	for (size_t i = 0; i < nticks; i++)
		add_tick(w, c, model_tick(m, i), i == 0, th, pid);
	w->start_ns = model_tick(m, nticks - 1)->start_ns;
	w->end_ns = model_tick(m, 0)->end_ns;
	w->nr_ticks = nticks;
out:
	counts_sort_by_count(c);
	w->counts = c->v;
	w->nr_counts = c->nr;
	counts_sort_by_count(w->offcpu_index);
	w->offcpu = ((struct counts *)w->offcpu_index)->v;
	w->nr_offcpu = ((struct counts *)w->offcpu_index)->nr;
	counts_sort_by_count(w->wakes_index);
	w->wakes = ((struct counts *)w->wakes_index)->v;
	w->nr_wakes = ((struct counts *)w->wakes_index)->nr;
	/* leak mode: an allocation freed in the same window nets to nothing */
	growth_drop_zero(w->allocs_index);
	growth_sort_by_bytes(w->heap_index);
	growth_sort_by_bytes(w->allocs_index);
	w->heap = ((struct growth *)w->heap_index)->v;
	w->nr_heap = ((struct growth *)w->heap_index)->nr;
	w->allocs = ((struct growth *)w->allocs_index)->v;
	w->nr_allocs = ((struct growth *)w->allocs_index)->nr;
}
