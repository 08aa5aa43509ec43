// SPDX-License-Identifier: GPL-2.0-only
/*
 * model/goroutines, goheap and gowindow with synthetic goroutines: groups by state, wait reason,
 * stack and creation site; a tick stores only what changed; a process gone takes its groups
 * and profile with it; a window's growth leaves its oldest tick out (the baseline); a replay of
 * the recorded ticks rebuilds the same counts; the heap profile's totals and changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/goheap.h"
#include "model/goroutines.h"
#include "model/gowindow.h"
#include "model/model.h"
#include "model/record.h"
#include "model/replay.h"
#include "model/stacks.h"

#define PID 4242
#define SEC 1000000000ull

static const uint64_t chan_stack[] = { 0x1000, 0x2000, 0x3000 };
static const uint64_t mutex_stack[] = { 0x1000, 0x4000, 0x5000 };

static struct model *new_model(void)
{
	struct model_opts o = { .start_ns = SEC };
	struct model *m;

	assert_int_equal(model_new(&o, &m), 0);
	return m;
}

static void proc(struct model *m, const char *error)
{
	struct goroutines_proc p = { .pid = PID, .version = "go1.22.12", .error = error,
				     .memprofile_rate = 524288 };

	goroutines_proc(model_goroutines(m), &p);
}

static void add(struct model *m, uint32_t n, const char *reason, const uint64_t *pcs,
		uint64_t gopc, uint64_t wait_ns)
{
	struct goroutines_g g = {
		.status = reason ? GOROUTINES_WAITING : GOROUTINES_RUNNABLE,
		.wait_reason = reason,
		.wait_ns = wait_ns,
		.pcs = pcs,
		.nr_pcs = 3,
		.gopc = gopc,
		.startpc = 0x3000,
	};

	for (uint32_t i = 0; i < n; i++)
		goroutines_add(model_goroutines(m), m, PID, &g);
}

static const struct tick_go_proc *tick_proc(const struct tick *t)
{
	assert_non_null(t->go);
	assert_int_equal(t->go->nr_procs, 1);
	return &t->go->procs[0];
}

/* The group of a wait reason among the window's groups, or NULL. */
static const struct gowin_group *group_of(const struct model *m, const struct gowindow *w,
					  const char *reason)
{
	for (size_t i = 0; i < w->nr_groups; i++) {
		const struct go_group *g = goroutines_group(model_goroutines(m), w->groups[i].group);

		if (g->wait_reason && !strcmp(g->wait_reason, reason))
			return &w->groups[i];
	}
	return NULL;
}

static void test_goroutines_groups_and_deltas(void **state)
{
	struct model *m = new_model();
	const struct tick *t;
	struct gowindow w;
	const struct gowin_group *chan;
	uint32_t nf;
	const uint32_t *frames;
	const struct go_group *grp;

	/* tick 1: 100 in a channel receive, 10 on a mutex, 2 runnable */
	proc(m, NULL);
	add(m, 100, "chan receive", chan_stack, 0x7001, 3 * SEC);
	add(m, 10, "sync.Mutex.Lock", mutex_stack, 0x7001, 0);
	add(m, 2, NULL, chan_stack, 0x7001, 0);
	model_close_tick(m, 2 * SEC);
	t = model_tick(m, 0);
	assert_int_equal(tick_proc(t)->goroutines, 112);
	assert_int_equal(tick_proc(t)->by_status[GOROUTINES_WAITING], 110);
	assert_int_equal(tick_proc(t)->by_status[GOROUTINES_RUNNABLE], 2);
	assert_int_equal(t->go->nr_groups, 3);

	/* tick 2: nothing moved: no group entries at all */
	proc(m, NULL);
	add(m, 100, "chan receive", chan_stack, 0x7001, 3 * SEC);
	add(m, 10, "sync.Mutex.Lock", mutex_stack, 0x7001, 0);
	add(m, 2, NULL, chan_stack, 0x7001, 0);
	model_close_tick(m, 3 * SEC);
	assert_int_equal(model_tick(m, 0)->go->nr_groups, 0);

	/* ticks 3, 4: +20 a tick in the channel receive, the runnable ones left */
	for (int k = 0; k < 2; k++) {
		proc(m, NULL);
		add(m, 120 + 20 * k, "chan receive", chan_stack, 0x7001, 3 * SEC);
		add(m, 10, "sync.Mutex.Lock", mutex_stack, 0x7001, 0);
		model_close_tick(m, (4 + k) * SEC);
	}
	gowindow_init(&w);
	gowindow_sum(&w, m, 3); /* ticks 2-4: tick 2 is the baseline */
	chan = group_of(m, &w, "chan receive");
	assert_non_null(chan);
	assert_int_equal(chan->count, 140);
	assert_int_equal(chan->change, 40);
	assert_int_equal(w.change_ns, 2 * SEC);
	/* the longest wait: 3 s before the first tick's end */
	assert_true(chan->oldest_ns > 0 && chan->oldest_ns <= 2 * SEC);
	/* its stack: root first, the wait reason as the leaf-most frame */
	grp = goroutines_group(model_goroutines(m), chan->group);
	frames = stacks_frames(model_stacks(m), grp->stack, &nf);
	assert_int_equal(nf, 4);
	assert_string_equal(stacks_frame(model_stacks(m), frames[3])->function,
			    "[chan receive]");
	assert_int_not_equal(grp->created_by, GO_GROUP_NONE);
	gowindow_sum(&w, m, 0); /* since start: tick 1 is the baseline */
	assert_int_equal(group_of(m, &w, "chan receive")->change, 40);
	assert_int_equal(w.nr_procs, 1);
	assert_int_equal(w.procs[0].p.goroutines, 150);
	assert_int_equal(w.procs[0].min_goroutines, 112);
	assert_int_equal(w.procs[0].max_goroutines, 150);

	/* the process reads as off: its goroutines are unknown, its groups go */
	proc(m, "cannot read its memory");
	model_close_tick(m, 6 * SEC);
	gowindow_sum(&w, m, 1);
	assert_null(group_of(m, &w, "chan receive"));
	assert_string_equal(w.procs[0].p.error, "cannot read its memory");
	/* back, then gone (not reported at all): its groups go again */
	proc(m, NULL);
	add(m, 5, "chan receive", chan_stack, 0x7001, 0);
	model_close_tick(m, 7 * SEC);
	model_close_tick(m, 8 * SEC);
	gowindow_sum(&w, m, 1);
	assert_null(group_of(m, &w, "chan receive"));
	gowindow_fini(&w);
	model_free(m);
}

/* The weight of the items of the group whose leaf is marker (0 when none). */
static uint64_t item_weight(const struct model *m, const struct calltree_item *items, size_t n,
			    const char *marker)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		uint32_t nf;
		const uint32_t *f = stacks_frames(model_stacks(m), items[i].stack, &nf);

		assert_int_equal(items[i].thread, CALLTREE_NONE);
		if (nf && !strcmp(stacks_frame(model_stacks(m), f[nf - 1])->function, marker))
			sum += items[i].count;
	}
	return sum;
}

/*
 * The goroutine flame's weights: each tick counts the goroutines it read times its length, so
 * a group weighs what its goroutines lived in the window; counted now, the newest tick's.
 */
static void test_goroutines_flame_items(void **state)
{
	struct model *m = new_model();
	struct calltree_item *items = NULL;
	uint64_t by[GOROUTINES_NR];
	size_t cap = 0, n;

	/* 1 s ticks: chan receive 100, 100, 120, 140; mutex 10 throughout; 2 runnable, twice */
	for (int k = 0; k < 4; k++) {
		proc(m, NULL);
		add(m, k < 2 ? 100 : 100 + 20 * (k - 1), "chan receive", chan_stack, 0x7001, 0);
		add(m, 10, "sync.Mutex.Lock", mutex_stack, 0x7001, 0);
		if (k < 2)
			add(m, 2, NULL, chan_stack, 0x7001, 0);
		model_close_tick(m, (2 + k) * SEC);
	}
	n = gowindow_items(m, 0, PID, GOWIN_TIME, &items, &cap, by);
	assert_int_equal(item_weight(m, items, n, "[chan receive]"), 460 * SEC);
	assert_int_equal(item_weight(m, items, n, "[sync.Mutex.Lock]"), 40 * SEC);
	assert_int_equal(item_weight(m, items, n, "[runnable]"), 4 * SEC);
	assert_int_equal(by[GOROUTINES_WAITING], 500 * SEC);
	assert_int_equal(by[GOROUTINES_RUNNABLE], 4 * SEC);
	/* the newest two ticks only */
	n = gowindow_items(m, 2, PID, GOWIN_TIME, &items, &cap, NULL);
	assert_int_equal(item_weight(m, items, n, "[chan receive]"), 260 * SEC);
	assert_int_equal(item_weight(m, items, n, "[sync.Mutex.Lock]"), 20 * SEC);
	assert_int_equal(item_weight(m, items, n, "[runnable]"), 0);
	/* counted now, and as the second tick read them (the strip) */
	n = gowindow_items(m, 2, PID, GOWIN_COUNT, &items, &cap, by);
	assert_int_equal(item_weight(m, items, n, "[chan receive]"), 140);
	assert_int_equal(by[GOROUTINES_WAITING], 150);
	n = gowindow_tick_items(m, 2, PID, &items, &cap);
	assert_int_equal(item_weight(m, items, n, "[chan receive]"), 100);
	assert_int_equal(item_weight(m, items, n, "[runnable]"), 2);
	/* another process has none */
	assert_int_equal(gowindow_items(m, 0, PID + 1, GOWIN_TIME, &items, &cap, NULL), 0);
	free(items);
	model_free(m);
}

/* The ticks of one model replayed into another give the same groups and counts. */
static void test_goroutines_replay(void **state)
{
	struct model *a = new_model(), *b = new_model();
	struct gowindow wa, wb;

	for (int k = 0; k < 4; k++) {
		proc(a, NULL);
		add(a, 10 + 5 * k, "chan receive", chan_stack, 0x7001, SEC);
		add(a, 3, "sleep", mutex_stack, 0x7001, 0);
		model_close_tick(a, (2 + k) * SEC);
	}
	/* groups first (as a recording's table), then the ticks, oldest first */
	for (uint32_t id = 0; id < goroutines_nr_groups(model_goroutines(a)); id++) {
		const struct go_group *g = goroutines_group(model_goroutines(a), id);
		struct go_group copy = *g;
		uint32_t nf, sid;
		const uint32_t *frames = stacks_frames(model_stacks(a), g->stack, &nf);
		uint32_t mapped[8];

		assert_true(nf <= 8);
		for (uint32_t i = 0; i < nf; i++)
			mapped[i] = stacks_add_frame(model_stacks(b),
						     stacks_frame(model_stacks(a), frames[i]));
		sid = stacks_add_stack(model_stacks(b), mapped, nf);
		copy.stack = sid;
		copy.wait_reason = stacks_str(model_stacks(b), g->wait_reason);
		copy.created_by = copy.start = GO_GROUP_NONE;
		assert_int_equal(goroutines_add_group(model_goroutines(b), &copy), id);
	}
	for (size_t ago = model_nr_ticks(a); ago-- > 0;) {
		const struct tick *t = model_tick(a, ago);

		model_add_tick(b, t);
		model_close_tick(b, t->end_ns);
	}
	gowindow_init(&wa);
	gowindow_init(&wb);
	gowindow_sum(&wa, a, 0);
	gowindow_sum(&wb, b, 0);
	assert_int_equal(wa.nr_groups, wb.nr_groups);
	for (size_t i = 0; i < wa.nr_groups; i++) {
		assert_int_equal(wa.groups[i].count, wb.groups[i].count);
		assert_int_equal(wa.groups[i].change, wb.groups[i].change);
		assert_int_equal(wa.groups[i].oldest_ns, wb.groups[i].oldest_ns);
	}
	assert_int_equal(wb.procs[0].p.goroutines, 28);
	gowindow_fini(&wa);
	gowindow_fini(&wb);
	model_free(a);
	model_free(b);
}

static void profile(struct model *m, int64_t inuse, int64_t alloc)
{
	struct goheap *h = goroutines_heap(model_goroutines(m));
	int64_t v[GOHEAP_VALUES] = { inuse / 1024, inuse, alloc / 1024, alloc };
	int64_t w[GOHEAP_VALUES] = { 1, 4096, 1, 4096 };

	goheap_begin(h, PID, GOHEAP_HEAP);
	goheap_add(h, m, PID, GOHEAP_HEAP, chan_stack, 3, v);
	/* a second bucket of the same stack adds up */
	goheap_add(h, m, PID, GOHEAP_HEAP, chan_stack, 3, w);
}

static void test_goroutines_heap_profile(void **state)
{
	struct model *m = new_model();
	const struct tick_goheap *cur;
	struct gowindow w;
	size_t n;

	proc(m, NULL);
	profile(m, 1 << 20, 4 << 20);
	model_close_tick(m, 2 * SEC);
	cur = goheap_current(goroutines_heap(model_goroutines(m)), &n);
	assert_int_equal(n, 1);
	assert_int_equal(cur[0].v[1], (1 << 20) + 4096);
	assert_int_equal(cur[0].v[3], (4 << 20) + 4096);
	/* not given again: kept, nothing stored */
	proc(m, NULL);
	model_close_tick(m, 3 * SEC);
	assert_true(!model_tick(m, 0)->go || !model_tick(m, 0)->go->nr_heap);
	/* after a GC: in use down, allocated up; the tick stores the change */
	proc(m, NULL);
	profile(m, 512 << 10, 8 << 20);
	model_close_tick(m, 4 * SEC);
	assert_int_equal(model_tick(m, 0)->go->nr_heap, 1);
	assert_int_equal(model_tick(m, 0)->go->heap[0].v[1], -(512 << 10));
	assert_int_equal(model_tick(m, 0)->go->heap[0].v[3], 4 << 20);
	gowindow_init(&w);
	gowindow_sum(&w, m, 0);
	assert_int_equal(w.nr_profile, 1);
	assert_int_equal(w.profile[0].v[1], (512 << 10) + 4096);
	assert_int_equal(w.nr_profile_change, 1);
	assert_int_equal(w.profile_change[0].v[3], 4 << 20);
	/* the process is gone: its profile goes */
	model_close_tick(m, 5 * SEC);
	cur = goheap_current(goroutines_heap(model_goroutines(m)), &n);
	assert_int_equal(n, 0);
	gowindow_fini(&w);
	model_free(m);
}

/* Through a recording: groups, figures and the heap profile come back as they were, also when
 * the replay skips the first ticks (convert --from). */
static void test_goroutines_record_replay(void **state)
{
	struct model *a = new_model(), *b, *c;
	struct record_info info = { .host = "h", .kernel = "k", .start_ns = SEC, .freq_hz = 99,
				    .nr_cpus = 1, .source = "bpf", .unwind = "fp", .target = "x",
				    .time_unit_ns = 1 };
	struct gowindow wa, wb, wc;
	struct record *rec;
	struct replay *rp;
	char err[256];
	FILE *f = tmpfile();

	assert_non_null(f);
	assert_int_equal(record_new(fileno(f), &info, &rec), 0);
	for (int k = 0; k < 5; k++) {
		proc(a, NULL);
		add(a, 10 + 5 * k, "chan receive", chan_stack, 0x7001, SEC);
		add(a, 3, "sleep", mutex_stack, 0x7001, 0);
		if (k == 1 || k == 3)
			profile(a, (k + 1) << 20, (k + 2) << 20);
		model_close_tick(a, (2 + k) * SEC);
		assert_int_equal(record_tick(rec, a), 0);
	}
	assert_int_equal(record_end(rec, &(struct record_end){ .duration_s = 5 }), 0);
	record_free(rec);
	fflush(f);

	gowindow_init(&wa);
	gowindow_init(&wb);
	gowindow_init(&wc);
	gowindow_sum(&wa, a, 0);
	assert_int_equal(replay_open_fd(fileno(f), &rp, err, sizeof(err)), 0);
	b = new_model();
	replay_bind(rp, b);
	while (replay_next(rp) > 0)
		;
	gowindow_sum(&wb, b, 0);
	assert_int_equal(wa.nr_groups, wb.nr_groups);
	for (size_t i = 0; i < wa.nr_groups; i++) {
		const struct go_group *ga = goroutines_group(model_goroutines(a), wa.groups[i].group);
		const struct go_group *gb = goroutines_group(model_goroutines(b), wb.groups[i].group);

		assert_int_equal(wa.groups[i].count, wb.groups[i].count);
		assert_int_equal(wa.groups[i].change, wb.groups[i].change);
		assert_int_equal(wa.groups[i].oldest_ns, wb.groups[i].oldest_ns);
		assert_string_equal(ga->wait_reason, gb->wait_reason);
		assert_int_equal(ga->status, gb->status);
	}
	assert_int_equal(wb.nr_procs, 1);
	assert_string_equal(wb.procs[0].p.version, "go1.22.12");
	assert_int_equal(wb.procs[0].p.goroutines, 33);
	assert_int_equal(wb.nr_profile, 1);
	assert_int_equal(wb.profile[0].v[1], wa.profile[0].v[1]);

	/* skipping the first three ticks: the same counts now */
	c = new_model();
	replay_bind(rp, c);
	for (int k = 0; k < 3; k++)
		assert_int_equal(replay_skip(rp), 1);
	while (replay_next(rp) > 0)
		;
	gowindow_sum(&wc, c, 0);
	assert_int_equal(wa.nr_groups, wc.nr_groups);
	for (size_t i = 0; i < wa.nr_groups; i++)
		assert_int_equal(wa.groups[i].count, wc.groups[i].count);
	assert_int_equal(wc.profile[0].v[1], wa.profile[0].v[1]);
	replay_free(rp);
	gowindow_fini(&wa);
	gowindow_fini(&wb);
	gowindow_fini(&wc);
	model_free(a);
	model_free(b);
	model_free(c);
	fclose(f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goroutines_groups_and_deltas),
		cmocka_unit_test(test_goroutines_flame_items),
		cmocka_unit_test(test_goroutines_replay),
		cmocka_unit_test(test_goroutines_heap_profile),
		cmocka_unit_test(test_goroutines_record_replay),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
