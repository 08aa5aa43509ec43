// SPDX-License-Identifier: GPL-2.0-only
/*
 * The cpu, off-CPU and wall metrics (wall.h) from a window or a tick.
 *
 * Waiting for a CPU. The sched probe counts each thread's time waiting for a CPU exactly. A wait
 * that follows a block long enough to have a stack (--min-block) comes with that stack (the block
 * record is sent when the thread gets the CPU: it has not run since it blocked, so it waits to
 * return from that very call), as an off-CPU entry whose leaf is "[runnable]". A wait after a
 * preemption or a short block has no stack: the first would be any of the thread's on-CPU stacks
 * (a preemption lands where the thread runs, in about the on-CPU samples' shares — 70/30 against
 * 75/25 on split31, docs/ARCHITECTURE.md), which is an estimate we do not draw as if measured;
 * so what no stack covers is one "[runnable]" per thread.
 */
#include <stdio.h>
#include <string.h>

#include "counts.h"
#include "stacks.h"
#include "threads.h"
#include "wall.h"
#include "window.h"
#include "xalloc.h"

struct wall_thread {
	uint64_t state[MODEL_STATE_NR]; /* ns in each state (probes/sched) */
	uint64_t stacked[MODEL_STATE_NR]; /* ... of it covered by an off-CPU stack */
	uint64_t samples;
	bool seen;
};

/* The interned marker names of one call. */
struct names {
	const char *state[MODEL_STATE_NR]; /* "[running]", "[runnable]", "[lock]", ... */
	const char *no_stack, *not_sampled;
};

const char *wall_metric_name(enum wall_metric m)
{
	static const char *const names[WALL_NR] = {
		[WALL_CPU] = "cpu",
		[WALL_OFFCPU] = "off-cpu",
		[WALL_WALL] = "wall",
	};

	return (unsigned)m < WALL_NR ? names[m] : "?";
}

void wall_init(struct wall *w)
{
	memset(w, 0, sizeof(*w));
}

void wall_fini(struct wall *w)
{
	free(w->items);
	free(w->state);
	free(w->per);
	free(w->touched);
	memset(w, 0, sizeof(*w));
}

static void intern_names(struct stacks *st, struct names *n)
{
	char buf[48];

	for (int s = 0; s < MODEL_STATE_NR; s++) {
		snprintf(buf, sizeof(buf), "[%s]", model_state_name(s));
		n->state[s] = stacks_str(st, buf);
	}
	n->no_stack = stacks_str(st, "[no stack]");
	n->not_sampled = stacks_str(st, "[not sampled]");
}

static enum model_state state_of(const struct stacks *st, const struct names *n, uint32_t stack)
{
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	const struct frame *f = nr ? stacks_frame(st, frames[nr - 1]) : NULL;

	if (f && f->kind == FRAME_SPECIAL)
		for (int s = MODEL_STATE_RUNNABLE; s < MODEL_STATE_NR; s++)
			if (f->function == n->state[s])
				return s;
	return MODEL_STATE_RUNNING;
}

enum model_state wall_stack_state(struct stacks *st, uint32_t stack)
{
	struct names n;

	intern_names(st, &n);
	return state_of(st, &n, stack);
}

static struct wall_thread *per(struct wall *w, uint32_t thread)
{
	if (thread >= w->cap_per) {
		size_t old = w->cap_per;

		w->per = xgrow(w->per, &w->cap_per, (size_t)thread + 1, sizeof(*w->per));
		memset(w->per + old, 0, (w->cap_per - old) * sizeof(*w->per));
	}
	if (!w->per[thread].seen) {
		w->per[thread].seen = true;
		w->touched = xgrow(w->touched, &w->cap_touched, w->nr_touched + 1,
				   sizeof(*w->touched));
		w->touched[w->nr_touched++] = thread;
	}
	return &w->per[thread];
}

static void push(struct wall *w, uint32_t thread, uint32_t stack, uint64_t count,
		 enum model_state state, const char *t0, const char *t1)
{
	if (!count)
		return;
	w->items = xgrow(w->items, &w->cap, w->nr + 1, sizeof(*w->items));
	w->state = xgrow(w->state, &w->cap_state, w->nr + 1, sizeof(*w->state));
	w->items[w->nr] = (struct calltree_item){
		.thread = thread, .stack = stack, .count = count, .tail = { t0, t1 } };
	w->state[w->nr++] = state;
	w->total += count;
}

static void begin(struct wall *w)
{
	for (size_t i = 0; i < w->nr_touched; i++)
		memset(&w->per[w->touched[i]], 0, sizeof(*w->per));
	w->nr_touched = 0;
	w->nr = 0;
	w->total = 0;
}

/* The block a wake stack (stacks_add_wake()) is of: its frames before "[woken by ...]". */
static uint32_t blocked_of(struct stacks *st, uint32_t wake)
{
	uint32_t nr, i = 0;
	const uint32_t *frames = stacks_frames(st, wake, &nr);

	for (; i < nr; i++) {
		const struct frame *f = stacks_frame(st, frames[i]);

		if (f && f->kind == FRAME_SPECIAL && !strncmp(f->function, "[woken by ", 10))
			return stacks_add_stack(st, frames, i);
	}
	return CALLTREE_NONE;
}

/*
 * Who woke the blocks: each wake entry takes its length out of its block's item (of the same
 * thread and stack) and becomes an item of its own, the block's stack continued by the waker's,
 * so the flame shows under a blocked stack who woke it (offwaketime). A block reported over
 * several ticks has its wake in the last one: a window that has less of the block than that
 * gives the wake no more than the window has.
 */
static void split_wakes(struct wall *w, struct stacks *st, const struct tick_count *wakes,
			size_t nr_wakes, size_t first, size_t last)
{
	struct counts index; /* (thread, blocked stack) → item + 1 */
	struct counts asked; /* (item, 0) → the wakes' sum, (item, 1) → the block's count */
	uint32_t *item;

	if (!nr_wakes)
		return;
	counts_init(&index);
	counts_init(&asked);
	item = xmalloc(nr_wakes * sizeof(*item));
	for (size_t i = first; i < last; i++)
		counts_add(&index, w->items[i].thread, w->items[i].stack, i + 1);
	for (size_t i = 0; i < nr_wakes; i++) {
		uint32_t blocked = blocked_of(st, wakes[i].stack);
		struct tick_count *slot = blocked != CALLTREE_NONE
						  ? counts_find(&index, wakes[i].thread, blocked)
						  : NULL;

		item[i] = slot ? (uint32_t)slot->count - 1 : UINT32_MAX;
		if (!slot)
			continue;
		if (!counts_find(&asked, item[i], 1)) /* what the block has, before any wake */
			counts_add(&asked, item[i], 1, w->items[item[i]].count);
		counts_add(&asked, item[i], 0, wakes[i].count);
	}
	for (size_t i = 0; i < nr_wakes; i++) {
		uint64_t have, want, take;

		if (item[i] == UINT32_MAX)
			continue;
		have = counts_find(&asked, item[i], 1)->count;
		want = counts_find(&asked, item[i], 0)->count;
		/* the wakes ask for more than the window has of the block: each its share */
		take = want <= have ? wakes[i].count
				    : (uint64_t)((double)wakes[i].count * have / want + 0.5);
		if (take > w->items[item[i]].count)
			take = w->items[item[i]].count;
		w->items[item[i]].count -= take;
		w->total -= take;
		push(w, wakes[i].thread, wakes[i].stack, take, w->state[item[i]], NULL, NULL);
	}
	free(item);
	counts_fini(&asked);
	counts_fini(&index);
}

/* The items, once per-thread state times are in w->per. */
static void build(struct wall *w, struct stacks *st, const struct tick_count *counts,
		  size_t nr_counts, const struct tick_count *offcpu, size_t nr_offcpu,
		  const struct tick_count *wakes, size_t nr_wakes, enum wall_metric metric,
		  uint64_t period_ns)
{
	size_t first;

	struct names n;

	intern_names(st, &n);
	if (metric == WALL_CPU) {
		for (size_t i = 0; i < nr_counts; i++)
			push(w, counts[i].thread, counts[i].stack, counts[i].count,
			     MODEL_STATE_RUNNING, NULL, NULL);
		return;
	}
	if (metric == WALL_WALL) {
		for (size_t i = 0; i < nr_counts; i++)
			per(w, counts[i].thread)->samples += counts[i].count;
		for (size_t i = 0; i < nr_counts; i++) {
			const struct tick_count *c = &counts[i];
			const struct wall_thread *p = per(w, c->thread);
			uint64_t ns = c->count * period_ns;

			/* the exact running time, shared out as the samples are */
			if (p->state[MODEL_STATE_RUNNING])
				ns = (uint64_t)((double)p->state[MODEL_STATE_RUNNING] * c->count /
						p->samples + 0.5);
			push(w, c->thread, c->stack, ns, MODEL_STATE_RUNNING,
			     n.state[MODEL_STATE_RUNNING], NULL);
		}
	}
	if (metric == WALL_CPU)
		return;
	first = w->nr;
	for (size_t i = 0; i < nr_offcpu; i++) {
		const struct tick_count *c = &offcpu[i];
		enum model_state s = state_of(st, &n, c->stack);

		per(w, c->thread)->stacked[s] += c->count;
		push(w, c->thread, c->stack, c->count, s, NULL, NULL);
	}
	split_wakes(w, st, wakes, nr_wakes, first, w->nr);
	/* What no stack covers, per thread, so the widths add up to the states' times. */
	for (size_t i = 0; i < w->nr_touched; i++) {
		uint32_t t = w->touched[i];
		const struct wall_thread *p = &w->per[t];

		for (int s = MODEL_STATE_RUNNABLE + 1; s < MODEL_STATE_NR; s++)
			if (p->state[s] > p->stacked[s])
				push(w, t, CALLTREE_NONE, p->state[s] - p->stacked[s], s,
				     n.no_stack, n.state[s]);
		/* waits for a CPU after a preemption or a short block: no stack (see above) */
		if (p->state[MODEL_STATE_RUNNABLE] > p->stacked[MODEL_STATE_RUNNABLE])
			push(w, t, CALLTREE_NONE,
			     p->state[MODEL_STATE_RUNNABLE] - p->stacked[MODEL_STATE_RUNNABLE],
			     MODEL_STATE_RUNNABLE, n.state[MODEL_STATE_RUNNABLE], NULL);
		/* ran, but was never sampled */
		if (metric == WALL_WALL && !p->samples)
			push(w, t, CALLTREE_NONE, p->state[MODEL_STATE_RUNNING],
			     MODEL_STATE_RUNNING, n.not_sampled, n.state[MODEL_STATE_RUNNING]);
	}
}

void wall_from_window(struct wall *w, struct stacks *st, const struct window *win,
		      enum wall_metric metric, uint64_t period_ns)
{
	begin(w);
	if (metric != WALL_CPU)
		for (uint32_t t = 0; t < win->nr_threads; t++) {
			bool any = false;

			for (int s = 0; s < MODEL_STATE_NR; s++)
				any |= win->thread_states[t][s] != 0;
			if (any)
				memcpy(per(w, t)->state, win->thread_states[t],
				       sizeof(win->thread_states[t]));
		}
	build(w, st, win->counts, win->nr_counts, win->offcpu, win->nr_offcpu, win->wakes,
	      win->nr_wakes, metric, period_ns);
}

void wall_from_tick(struct wall *w, struct stacks *st, const struct tick *t,
		    enum wall_metric metric, uint64_t period_ns)
{
	begin(w);
	if (metric != WALL_CPU)
		for (size_t i = 0; i < t->nr_states; i++)
			if (t->states[i].stack < MODEL_STATE_NR)
				per(w, t->states[i].thread)->state[t->states[i].stack] +=
					t->states[i].count;
	build(w, st, t->counts, t->nr_counts, t->offcpu, t->nr_offcpu, t->wakes, t->nr_wakes,
	      metric, period_ns);
}

void wall_states(const struct wall *w, const struct threads *th, const struct calltree_filter *f,
		 uint64_t *out)
{
	memset(out, 0, MODEL_STATE_NR * sizeof(*out));
	for (size_t i = 0; i < w->nr; i++)
		if (calltree_keeps(th, w->items[i].thread, f) && w->state[i] < MODEL_STATE_NR)
			out[w->state[i]] += w->items[i].count;
}
