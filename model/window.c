// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "counts.h"
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
	free(w->thread_samples);
	free(w->thread_states);
	memset(w, 0, sizeof(*w));
}

static void add_tick(struct window *w, struct counts *c, const struct tick *t)
{
	for (size_t i = 0; i < t->nr_offcpu; i++)
		counts_add(w->offcpu_index, t->offcpu[i].thread, t->offcpu[i].stack,
			   t->offcpu[i].count);
	for (size_t i = 0; i < t->nr_states; i++)
		if (t->states[i].thread < w->nr_threads && t->states[i].stack < MODEL_STATE_NR)
			w->thread_states[t->states[i].thread][t->states[i].stack] +=
				t->states[i].count;
	for (size_t i = 0; i < t->nr_counts; i++) {
		const struct tick_count *tc = &t->counts[i];

		counts_add(c, tc->thread, tc->stack, tc->count);
		if (tc->thread < w->nr_threads)
			w->thread_samples[tc->thread] += tc->count;
	}
	w->samples += t->samples;
	w->truncated += t->truncated;
	for (int k = 0; k < MODEL_LOST_NR; k++)
		w->lost[k] += t->lost[k];
}

void window_sum(struct window *w, const struct model *m, size_t nticks)
{
	struct counts *c = w->index;
	size_t have = model_nr_ticks(m);
	uint32_t nr_threads = threads_count(model_threads(m));

	counts_clear(c);
	counts_clear(w->offcpu_index);
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
			add_tick(w, c, t);
			w->start_ns = model_start_ns(m);
			w->end_ns = t->end_ns;
			w->nr_ticks = have ? t->seq + 1 : 0;
			goto out;
		}
		nticks = have;
	}
	for (size_t i = 0; i < nticks; i++)
		add_tick(w, c, model_tick(m, i));
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
}
