// SPDX-License-Identifier: GPL-2.0-only
/* The cpu, off-CPU and wall metrics (model/wall) from a synthetic model: on-CPU samples, blocked
 * stacks and per-thread state times, as the sched and cpu probes would give them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/calltree.h"
#include "model/model.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/wall.h"
#include "model/window.h"

#define MS 1000000ull
#define PERIOD (10 * MS) /* 100 Hz */

struct fixture {
	struct model *m;
	struct stacks *st;
	struct window w;
	struct wall wall;
};

static uint32_t frame(struct stacks *st, const char *fn, enum frame_kind kind)
{
	struct frame f = { .module = kind == FRAME_SPECIAL ? "[flametop]" : "app", .function = fn,
			   .kind = kind, .symbolized = kind != FRAME_SPECIAL };

	return stacks_add_frame(st, &f);
}

/* Root first; a name in brackets is a marker frame, as the sched probe's reason leaf. */
static uint32_t stack(struct stacks *st, const char *const *names)
{
	uint32_t ids[64], n = 0;

	for (; names[n]; n++)
		ids[n] = frame(st, names[n], names[n][0] == '[' ? FRAME_SPECIAL : FRAME_USER);
	return stacks_add_stack(st, ids, n);
}

#define STACK(st, ...) stack(st, (const char *const[]){ __VA_ARGS__, NULL })

/*
 * One second of pid 10:
 *   tid 11 "worker": running 240 ms (30 samples at 100 Hz, 300 ms' worth: 20 in spin, 10 in
 *     hash), runnable 110 ms (10 of them after the lock, with its stack), lock 250 ms (200 ms
 *     with a stack, 50 ms in short blocks), io 250 ms (all with a stack), sleep 150 ms (with a
 *     stack).
 *   tid 12 "idle": sleep 1000 ms with a stack; running 2 ms, never sampled.
 *   tid 13 "unknown": 5 samples, no states (the sched probe did not see it).
 */
static void feed(struct model *m, struct stacks *st, uint64_t tick)
{
	model_add_resolved(m, 10, 11, "worker", "app", STACK(st, "main", "work", "spin"), 20,
			   tick);
	model_add_resolved(m, 10, 11, "worker", "app", STACK(st, "main", "work", "hash"), 10,
			   tick);
	model_add_offcpu_resolved(m, 10, 11, "worker", "app",
				  STACK(st, "main", "work", "take", "futex_wait", "[lock]"),
				  200 * MS);
	model_add_offcpu_resolved(m, 10, 11, "worker", "app",
				  STACK(st, "main", "work", "take", "futex_wait", "[runnable]"),
				  10 * MS);
	model_add_offcpu_resolved(m, 10, 11, "worker", "app",
				  STACK(st, "main", "work", "load", "pread", "[io]"), 250 * MS);
	model_add_offcpu_resolved(m, 10, 11, "worker", "app",
				  STACK(st, "main", "nap", "nanosleep", "[sleep]"), 150 * MS);
	model_add_state(m, 10, 11, "worker", "app", MODEL_STATE_RUNNING, 240 * MS);
	model_add_state(m, 10, 11, "worker", "app", MODEL_STATE_RUNNABLE, 110 * MS);
	model_add_state(m, 10, 11, "worker", "app", MODEL_STATE_LOCK, 250 * MS);
	model_add_state(m, 10, 11, "worker", "app", MODEL_STATE_IO, 250 * MS);
	model_add_state(m, 10, 11, "worker", "app", MODEL_STATE_SLEEP, 150 * MS);
	model_add_offcpu_resolved(m, 10, 12, "idle", "app",
				  STACK(st, "idle_main", "nanosleep", "[sleep]"), 1000 * MS);
	model_add_state(m, 10, 12, "idle", "app", MODEL_STATE_SLEEP, 998 * MS);
	model_add_state(m, 10, 12, "idle", "app", MODEL_STATE_RUNNING, 2 * MS);
	model_add_resolved(m, 10, 13, "unknown", "app", STACK(st, "other_main", "loop"), 5, tick);
}

static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct model_opts opts = { .history = 10 };

	assert_int_equal(model_new(&opts, &f->m), 0);
	f->st = model_stacks(f->m);
	for (int i = 0; i < 2; i++) {
		feed(f->m, f->st, i + 1);
		assert_int_equal(model_close_tick(f->m, model_start_ns(f->m) + (i + 1) * 1000 * MS),
				 0);
	}
	window_init(&f->w);
	window_sum(&f->w, f->m, 0);
	wall_init(&f->wall);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	wall_fini(&f->wall);
	window_fini(&f->w);
	model_free(f->m);
	free(f);
	return 0;
}

static const char *S(struct fixture *f, const char *s)
{
	return stacks_str(f->st, s);
}

/* The total under a path of names (root first) in a tree built from the items, for a thread. */
static uint64_t under(struct fixture *f, uint32_t thread, const char *const *path)
{
	struct calltree ct;
	struct calltree_filter flt = { .thread = thread };
	const char *p[16];
	uint32_t len = 0, matched, node;
	uint64_t v;

	for (; path[len]; len++)
		p[len] = S(f, path[len]);
	calltree_init(&ct);
	calltree_build_items(&ct, f->st, model_threads(f->m), f->wall.items, f->wall.nr,
			     thread == CALLTREE_NONE ? NULL : &flt);
	node = calltree_find(&ct, p, len, &matched);
	v = matched == len ? ct.nodes[node].total : 0;
	calltree_fini(&ct);
	return v;
}

#define UNDER(f, thread, ...) under(f, thread, (const char *const[]){ __VA_ARGS__, NULL })

static void test_wall_cpu_is_the_samples(void **state)
{
	struct fixture *f = *state;

	wall_from_window(&f->wall, f->st, &f->w, WALL_CPU, PERIOD);
	assert_int_equal(f->wall.total, 70);
	assert_int_equal(UNDER(f, 0, "main", "work", "spin"), 40);
	/* no markers: the flame the cpu metric always drew */
	assert_int_equal(UNDER(f, 0, "main", "work", "spin", "[running]"), 0);
}

static void test_wall_adds_up_to_the_states(void **state)
{
	struct fixture *f = *state;
	uint64_t by[MODEL_STATE_NR];
	struct calltree_filter worker = { .thread = 0 };

	wall_from_window(&f->wall, f->st, &f->w, WALL_WALL, PERIOD);
	wall_states(&f->wall, model_threads(f->m), &worker, by);
	/* 2 s of the worker: every state as the sched probe counted it */
	assert_int_equal(by[MODEL_STATE_RUNNING], 480 * MS);
	assert_int_equal(by[MODEL_STATE_RUNNABLE], 220 * MS);
	assert_int_equal(by[MODEL_STATE_LOCK], 500 * MS);
	assert_int_equal(by[MODEL_STATE_IO], 500 * MS);
	assert_int_equal(by[MODEL_STATE_SLEEP], 300 * MS);
	assert_int_equal(UNDER(f, 0, "main"), (320 + 160 + 400 + 20 + 500 + 300) * MS);
	/* on-CPU stacks end in [running] and share the exact running time as their samples do
	 * (60 samples at 10 ms would have been 600 ms) */
	assert_int_equal(UNDER(f, 0, "main", "work", "spin", "[running]"), 320 * MS);
	assert_int_equal(UNDER(f, 0, "main", "work", "hash", "[running]"), 160 * MS);
	/* blocked stacks keep their reason leaf; short blocks have no stack */
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]"), 400 * MS);
	assert_int_equal(UNDER(f, 0, "[no stack]", "[lock]"), 100 * MS);
	assert_int_equal(UNDER(f, 0, "[no stack]", "[io]"), 0);
	/* waiting for a CPU after the lock, in the same call; the rest has no stack */
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[runnable]"), 20 * MS);
	assert_int_equal(UNDER(f, 0, "[runnable]"), 200 * MS);
	/* the whole flame is the worker's 2 s plus the idle thread's */
	assert_int_equal(UNDER(f, 0, "main") + UNDER(f, 0, "[no stack]") + UNDER(f, 0, "[runnable]"),
			 2000 * MS);
	/* a thread that ran but was never sampled gets its exact running time; its stacked
	 * sleep (reported up to the wakeup) is more than its sleep state: nothing is made up */
	assert_int_equal(UNDER(f, 1, "[not sampled]", "[running]"), 4 * MS);
	assert_int_equal(UNDER(f, 1, "idle_main", "nanosleep", "[sleep]"), 2000 * MS);
	assert_int_equal(UNDER(f, 1, "[no stack]"), 0);
	/* without states, a sample weighs the sampling period */
	assert_int_equal(UNDER(f, 2, "other_main", "loop", "[running]"), 100 * MS);
}

static void test_wall_offcpu_leaves_out_running(void **state)
{
	struct fixture *f = *state;
	uint64_t by[MODEL_STATE_NR];

	wall_from_window(&f->wall, f->st, &f->w, WALL_OFFCPU, PERIOD);
	wall_states(&f->wall, model_threads(f->m), NULL, by);
	assert_int_equal(by[MODEL_STATE_RUNNING], 0);
	assert_int_equal(by[MODEL_STATE_RUNNABLE], 220 * MS);
	assert_int_equal(by[MODEL_STATE_SLEEP], (300 + 2000) * MS);
	assert_int_equal(UNDER(f, 0, "main", "work"), 920 * MS);
	assert_int_equal(UNDER(f, 0, "main", "work", "spin"), 0);
}

static void test_wall_per_tick_and_matcher(void **state)
{
	struct fixture *f = *state;
	struct calltree_matcher mt;
	const char *lock[2] = { S(f, "[no stack]"), S(f, "[lock]") };
	const char *spin[4] = { S(f, "main"), S(f, "work"), S(f, "spin"), S(f, "[running]") };
	struct calltree_filter worker = { .thread = 0 };
	uint64_t whole;

	wall_from_tick(&f->wall, f->st, model_tick(f->m, 0), WALL_WALL, PERIOD);
	calltree_matcher_init(&mt);
	/* a path that is all tail: the short blocks of one tick */
	calltree_matcher_set(&mt, lock, 2, &worker);
	assert_int_equal(calltree_matcher_count_items(&mt, f->st, model_threads(f->m),
						      f->wall.items, f->wall.nr, &whole),
			 50 * MS);
	assert_int_equal(whole, 1000 * MS);
	/* a path through a stack into its tail; and the stack's frames alone */
	calltree_matcher_set(&mt, spin, 4, NULL);
	assert_int_equal(calltree_matcher_count_items(&mt, f->st, model_threads(f->m),
						      f->wall.items, f->wall.nr, NULL),
			 160 * MS);
	calltree_matcher_set(&mt, spin, 3, NULL);
	assert_int_equal(calltree_matcher_count_items(&mt, f->st, model_threads(f->m),
						      f->wall.items, f->wall.nr, NULL),
			 160 * MS);
	calltree_matcher_set(&mt, spin, 2, NULL);
	assert_int_equal(calltree_matcher_count_items(&mt, f->st, model_threads(f->m),
						      f->wall.items, f->wall.nr, &whole),
			 (240 + 200 + 10 + 250) * MS);
	assert_int_equal(whole, 2000 * MS + 2 * MS + 50 * MS);
	calltree_matcher_fini(&mt);
}

/* Who woke a block takes its part of the block's width, under the block's stack. */
static void test_wall_wakes(void **state)
{
	struct fixture *f = *state;
	uint64_t by[MODEL_STATE_NR];
	struct calltree_filter worker = { .thread = 0 };

	/* in a third second, the lock's 200 ms were blocks that "holder" ended (30 ms asked) and
	 * one "other" ended, 170 ms asked: they fit */
	feed(f->m, f->st, 3);
	model_add_wake_resolved(f->m, 10, 11, "worker", "app",
				STACK(f->st, "main", "work", "take", "futex_wait", "[lock]",
				      "[woken by holder]", "futex_wake", "unlock", "holder_main"),
				30 * MS);
	model_add_wake_resolved(f->m, 10, 11, "worker", "app",
				STACK(f->st, "main", "work", "take", "futex_wait", "[lock]",
				      "[woken by other]", "futex_wake", "other_main"),
				170 * MS);
	assert_int_equal(model_close_tick(f->m, model_start_ns(f->m) + 3000 * MS), 0);
	window_sum(&f->w, f->m, 1);
	wall_from_window(&f->wall, f->st, &f->w, WALL_WALL, PERIOD);
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]"), 200 * MS);
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]",
			       "[woken by holder]", "futex_wake", "unlock", "holder_main"),
			 30 * MS);
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]",
			       "[woken by other]"),
			 170 * MS);
	/* a block still going on when the window began asks for more than the window has: the
	 * wakes share what there is */
	model_add_wake_resolved(f->m, 10, 11, "worker", "app",
				STACK(f->st, "main", "work", "take", "futex_wait", "[lock]",
				      "[woken by holder]", "futex_wake", "unlock", "holder_main"),
				600 * MS);
	model_add_wake_resolved(f->m, 10, 11, "worker", "app",
				STACK(f->st, "main", "work", "take", "futex_wait", "[lock]",
				      "[woken by other]", "futex_wake", "other_main"),
				200 * MS);
	feed(f->m, f->st, 4);
	assert_int_equal(model_close_tick(f->m, model_start_ns(f->m) + 4000 * MS), 0);
	window_sum(&f->w, f->m, 1);
	wall_from_window(&f->wall, f->st, &f->w, WALL_WALL, PERIOD);
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]",
			       "[woken by holder]"),
			 150 * MS);
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]",
			       "[woken by other]"),
			 50 * MS);
	assert_int_equal(UNDER(f, 0, "main", "work", "take", "futex_wait", "[lock]"), 200 * MS);
	/* the states do not move */
	wall_states(&f->wall, model_threads(f->m), &worker, by);
	assert_int_equal(by[MODEL_STATE_LOCK], 250 * MS);
	assert_int_equal(f->wall.total, by[MODEL_STATE_RUNNING] + by[MODEL_STATE_RUNNABLE] +
				       by[MODEL_STATE_LOCK] + by[MODEL_STATE_IO] +
				       by[MODEL_STATE_SLEEP] + 1000 * MS + 2 * MS + 50 * MS);
}

static void test_wall_stack_state(void **state)
{
	struct fixture *f = *state;

	assert_int_equal(wall_stack_state(f->st, STACK(f->st, "a", "[io]")), MODEL_STATE_IO);
	assert_int_equal(wall_stack_state(f->st, STACK(f->st, "a", "b")), MODEL_STATE_RUNNING);
	assert_string_equal(wall_metric_name(WALL_OFFCPU), "off-cpu");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_wall_cpu_is_the_samples, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wall_adds_up_to_the_states, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wall_offcpu_leaves_out_running, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wall_per_tick_and_matcher, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wall_wakes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wall_stack_state, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
