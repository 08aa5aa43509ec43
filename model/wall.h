// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where a thread's time goes, as weighted stacks: the three metrics of the flame view and of
 * `--metric`, made from what a window (or a tick) already holds — nothing more is sampled.
 *
 *   cpu      on-CPU samples by stack (the counts as they are).
 *   offcpu   time off the CPU, in ns: blocked stacks (their leaf is the reason, "[lock]"), the
 *            blocked time no stack covers ("[no stack]" then the reason: blocks shorter than
 *            --min-block, or whose stack was lost) and the time spent waiting for a CPU
 *            ("[runnable]": see wall.c for why it has no stack).
 *   wall     both on one time axis, in ns: on-CPU samples get "[running]" as their leaf and
 *            weigh the sampling period — or, for a thread whose exact running time the sched
 *            probe knows, that time shared out in proportion to its samples (the shares are
 *            sampled, the total exact: sampling error and skid do not bend the total); then
 *            everything offcpu has. A thread that ran without being sampled gets "[not
 *            sampled]", "[running]". So per thread the widths add up to its time in the window.
 *
 * Every leaf of offcpu and wall is a state ("[running]", "[runnable]", "[lock]", ...), so a
 * search for one names its share. With wakes (--waker-stacks) a block's width is split by who woke
 * it: the block's stack continues with "[woken by COMM]" and the waker's frames.
 */
#ifndef MODEL_WALL_H
#define MODEL_WALL_H

#include <stddef.h>
#include <stdint.h>

#include "calltree.h"
#include "model.h"

struct stacks;
struct threads;
struct window;

enum wall_metric {
	WALL_CPU,
	WALL_OFFCPU,
	WALL_WALL,
	WALL_NR,
};

/* "cpu", "off-cpu", "wall". */
const char *wall_metric_name(enum wall_metric m);

/* The items of one metric over a window or a tick. Reused from call to call. */
struct wall {
	struct calltree_item *items; /* nr of them, in no particular order */
	size_t nr;
	uint8_t *state;              /* per item: its enum model_state (RUNNING for cpu) */
	uint64_t total;              /* the sum of the items' counts */
	/* private */
	size_t cap, cap_state;
	struct wall_thread *per;     /* by thread index: scratch */
	size_t cap_per;
	uint32_t *touched;
	size_t nr_touched, cap_touched;
};

void wall_init(struct wall *w);
void wall_fini(struct wall *w);

/*
 * Rebuilds w from a window or a tick. period_ns is what one on-CPU sample stands for
 * (1e9 / the sampling rate). st gets the marker names interned (stacks_str()); stack ids are
 * the model's.
 */
void wall_from_window(struct wall *w, struct stacks *st, const struct window *win,
		      enum wall_metric metric, uint64_t period_ns);
void wall_from_tick(struct wall *w, struct stacks *st, const struct tick *t,
		    enum wall_metric metric, uint64_t period_ns);

/* The sum of the items the filter keeps (f may be NULL), by state: out[MODEL_STATE_NR]. */
void wall_states(const struct wall *w, const struct threads *th, const struct calltree_filter *f,
		 uint64_t *out);

/* The state a stack ends in: its leaf marker ("[lock]" -> MODEL_STATE_LOCK), else
 * MODEL_STATE_RUNNING (an on-CPU stack). */
enum model_state wall_stack_state(struct stacks *st, uint32_t stack);

#endif
