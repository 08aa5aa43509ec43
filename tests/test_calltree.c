// SPDX-License-Identifier: GPL-2.0-only
/* The function-level call tree, per-function figures and the path matcher, from a synthetic
 * model fed with pre-resolved stacks (model_add_resolved). */
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
#include "model/window.h"

struct fixture {
	struct model *m;
	struct stacks *st;
	struct window w;
};

static uint32_t frame(struct stacks *st, const char *fn, uint64_t offset)
{
	struct frame f = { .module = "app", .function = fn, .offset = offset, .kind = FRAME_USER,
			   .symbolized = true };

	return stacks_add_frame(st, &f);
}

/* A stack from function names, root first; each frame at its own offset so that frames of one
 * function differ (as sampled addresses do) and must be merged by name. */
static uint32_t stack(struct stacks *st, const char *const *names)
{
	uint32_t ids[64], n = 0;
	static uint64_t off = 0x1000;

	for (; names[n]; n++)
		ids[n] = frame(st, names[n], off += 0x10);
	return stacks_add_stack(st, ids, n);
}

#define STACK(st, ...) stack(st, (const char *const[]){ __VA_ARGS__, NULL })

static void close_tick(struct model *m, int i)
{
	assert_int_equal(model_close_tick(m, model_start_ns(m) + (i + 1) * 1000000000ull), 0);
}

/*
 * pid 10: tid 11 "hot": main>compute>spin_three 75, main>compute>spin_one 25
 *         tid 12 "rec": main>walk>walk>walk>leaf 10, main>walk 5
 * pid 20: tid 21 "other": main>compute>spin_three 20
 */
static int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));
	struct model_opts opts = { .history = 10 };

	assert_int_equal(model_new(&opts, &f->m), 0);
	f->st = model_stacks(f->m);
	model_add_resolved(f->m, 10, 11, "hot", "app",
			   STACK(f->st, "main", "compute", "spin_three"), 75, 1);
	model_add_resolved(f->m, 10, 11, "hot", "app", STACK(f->st, "main", "compute", "spin_one"),
			   25, 1);
	model_add_resolved(f->m, 10, 12, "rec", "app",
			   STACK(f->st, "main", "walk", "walk", "walk", "leaf"), 10, 1);
	model_add_resolved(f->m, 10, 12, "rec", "app", STACK(f->st, "main", "walk"), 5, 1);
	model_add_resolved(f->m, 20, 21, "other", "db",
			   STACK(f->st, "main", "compute", "spin_three"), 20, 1);
	close_tick(f->m, 0);
	window_init(&f->w);
	window_sum(&f->w, f->m, 0);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	window_fini(&f->w);
	model_free(f->m);
	free(f);
	return 0;
}

static const char *name(struct stacks *st, const char *s)
{
	return stacks_str(st, s);
}

static void test_calltree_model_add_resolved(void **state)
{
	struct fixture *f = *state;
	const struct tick *t = model_tick(f->m, 0);

	assert_int_equal(t->samples, 135);
	assert_int_equal(f->w.samples, 135);
	assert_int_equal(threads_count(model_threads(f->m)), 3);
	assert_string_equal(threads_get(model_threads(f->m), 2)->process, "db");
	/* the hottest (thread, stack) comes first in a window */
	assert_int_equal(f->w.counts[0].count, 75);
}

static void test_calltree_merges_by_function(void **state)
{
	struct fixture *f = *state;
	struct calltree ct;
	const char *path[3] = { name(f->st, "main"), name(f->st, "compute"),
				name(f->st, "spin_three") };
	uint32_t n, matched, c;

	calltree_init(&ct);
	calltree_build(&ct, f->st, model_threads(f->m), f->w.counts, f->w.nr_counts, NULL);
	assert_int_equal(ct.nodes[0].total, 135);
	assert_int_equal(ct.max_depth, 5);

	/* spin_three from two processes and different frames: one node */
	n = calltree_find(&ct, path, 3, &matched);
	assert_int_equal(matched, 3);
	assert_int_equal(ct.nodes[n].total, 95);
	assert_int_equal(ct.nodes[n].self, 95);
	assert_int_equal(ct.nodes[ct.nodes[n].parent].total, 120);

	/* children in name order: compute before walk */
	c = ct.nodes[calltree_find(&ct, path, 1, NULL)].first_child;
	assert_string_equal(ct.nodes[c].name, "compute");
	assert_string_equal(ct.nodes[ct.nodes[c].next_sibling].name, "walk");

	/* a path that goes deeper than the tree stops where it ends */
	{
		const char *deep[4] = { path[0], path[1], name(f->st, "nope"), path[2] };

		n = calltree_find(&ct, deep, 4, &matched);
		assert_int_equal(matched, 2);
		assert_string_equal(ct.nodes[n].name, "compute");
	}
	{
		const char *back[8];

		assert_int_equal(calltree_path(&ct, n, back, 8), 2);
		assert_ptr_equal(back[1], path[1]);
		assert_true(calltree_is_under(&ct, n, 0));
		assert_false(calltree_is_under(&ct, 0, n));
	}
	calltree_fini(&ct);
}

static void test_calltree_filter(void **state)
{
	struct fixture *f = *state;
	struct calltree ct;
	struct calltree_filter by_pid = { .thread = CALLTREE_NONE, .pid = 20 };
	struct calltree_filter by_thread = { .thread = 1 }; /* "rec" */

	calltree_init(&ct);
	calltree_build(&ct, f->st, model_threads(f->m), f->w.counts, f->w.nr_counts, &by_pid);
	assert_int_equal(ct.nodes[0].total, 20);
	calltree_build(&ct, f->st, model_threads(f->m), f->w.counts, f->w.nr_counts, &by_thread);
	assert_int_equal(ct.nodes[0].total, 15);
	calltree_fini(&ct);
}

static const struct calltree_func *find_func(const struct calltree_func *v, size_t nr,
					     const char *fn)
{
	for (size_t i = 0; i < nr; i++)
		if (!strcmp(v[i].name, fn))
			return &v[i];
	return NULL;
}

static void test_calltree_functions_self_total(void **state)
{
	struct fixture *f = *state;
	struct calltree ct;
	struct calltree_func *v;
	size_t nr;

	calltree_init(&ct);
	calltree_build(&ct, f->st, model_threads(f->m), f->w.counts, f->w.nr_counts, NULL);
	nr = calltree_functions(&ct, &v);
	assert_int_equal(nr, 6);
	assert_string_equal(v[0].name, "main"); /* by total */
	assert_int_equal(v[0].total, 135);
	assert_int_equal(v[0].self, 0);
	assert_int_equal(find_func(v, nr, "spin_three")->self, 95);
	/* recursion counted once: walk is on 15 stacks, not 10*3 + 5 */
	assert_int_equal(find_func(v, nr, "walk")->total, 15);
	assert_int_equal(find_func(v, nr, "walk")->self, 5);
	assert_int_equal(find_func(v, nr, "leaf")->total, 10);
	free(v);

	nr = calltree_callers(&ct, name(f->st, "spin_three"), &v);
	assert_int_equal(nr, 1);
	assert_string_equal(v[0].name, "compute");
	assert_int_equal(v[0].total, 95);
	free(v);

	nr = calltree_callees(&ct, name(f->st, "compute"), &v);
	assert_int_equal(nr, 2);
	assert_string_equal(v[0].name, "spin_three");
	assert_int_equal(v[0].total, 95);
	assert_int_equal(v[1].total, 25);
	free(v);

	/* walk calls itself and leaf, and has samples of its own */
	nr = calltree_callees(&ct, name(f->st, "walk"), &v);
	assert_int_equal(find_func(v, nr, "walk")->total, 10);
	assert_int_equal(find_func(v, nr, "walk")->self, 5);
	free(v);
	calltree_fini(&ct);
}

static void test_calltree_search(void **state)
{
	struct fixture *f = *state;
	struct calltree ct;
	bool marks[64];

	calltree_init(&ct);
	calltree_build(&ct, f->st, model_threads(f->m), f->w.counts, f->w.nr_counts, NULL);
	assert_true(ct.nr <= 64);
	assert_int_equal(calltree_search(&ct, "SPIN", marks), 120);
	/* nested matches (walk>walk>walk) count once */
	assert_int_equal(calltree_search(&ct, "walk", marks), 15);
	assert_int_equal(calltree_search(&ct, "", marks), 0);
	assert_int_equal(calltree_search(&ct, "zzz", NULL), 0);
	calltree_fini(&ct);
}

static void test_calltree_hot_leaves(void **state)
{
	struct fixture *f = *state;
	uint32_t group_of[3] = { 0, 1, 0 }; /* hot and other together, rec alone */
	const char *leaf[2];
	uint64_t count[2];

	calltree_hot_leaves(f->st, f->w.counts, f->w.nr_counts, group_of, 3, leaf, count, 2);
	assert_string_equal(leaf[0], "spin_three");
	assert_int_equal(count[0], 95);
	assert_string_equal(leaf[1], "leaf");
	assert_int_equal(count[1], 10);
}

static void test_calltree_matcher_per_tick(void **state)
{
	struct fixture *f = *state;
	struct calltree_matcher mt;
	const char *path[2] = { name(f->st, "main"), name(f->st, "compute") };
	struct calltree_filter only_db = { .thread = CALLTREE_NONE, .pid = 20 };
	const struct tick *t;

	/* a second tick where compute is rarer */
	model_add_resolved(f->m, 10, 11, "hot", "app",
			   STACK(f->st, "main", "compute", "spin_one"), 3, 2);
	model_add_resolved(f->m, 10, 12, "rec", "app", STACK(f->st, "main", "walk"), 9, 2);
	close_tick(f->m, 1);

	calltree_matcher_init(&mt);
	calltree_matcher_set(&mt, path, 2, NULL);
	t = model_tick(f->m, 1);
	assert_int_equal(calltree_matcher_count(&mt, f->st, model_threads(f->m), t->counts,
						t->nr_counts),
			 120);
	t = model_tick(f->m, 0);
	assert_int_equal(calltree_matcher_count(&mt, f->st, model_threads(f->m), t->counts,
						t->nr_counts),
			 3);
	calltree_matcher_set(&mt, path, 2, &only_db);
	t = model_tick(f->m, 1);
	assert_int_equal(calltree_matcher_count(&mt, f->st, model_threads(f->m), t->counts,
						t->nr_counts),
			 20);
	/* the empty path is every sample with a stack */
	calltree_matcher_set(&mt, path, 0, NULL);
	assert_int_equal(calltree_matcher_count(&mt, f->st, model_threads(f->m), t->counts,
						t->nr_counts),
			 135);
	calltree_matcher_fini(&mt);
}

static void test_calltree_empty(void **state)
{
	struct calltree ct;
	struct calltree_func *v;

	calltree_init(&ct);
	calltree_build(&ct, NULL, NULL, NULL, 0, NULL);
	assert_int_equal(ct.nr, 1);
	assert_int_equal(ct.nodes[0].total, 0);
	assert_int_equal(calltree_find(&ct, NULL, 0, NULL), 0);
	assert_int_equal(calltree_functions(&ct, &v), 0);
	free(v);
	calltree_fini(&ct);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_calltree_model_add_resolved, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calltree_merges_by_function, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calltree_filter, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calltree_functions_self_total, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_calltree_search, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calltree_hot_leaves, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calltree_matcher_per_tick, setup, teardown),
		cmocka_unit_test(test_calltree_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
