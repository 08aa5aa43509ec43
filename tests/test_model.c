// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model's memory budget (model/model.h): a host of 3000 sleeping threads and a host starting
 * hundreds of processes a second, ticked for longer than the history keeps, stay within the
 * budget, and "since start" stays exact; what every layer names (goroutine groups, Go's
 * profiles, wakes, a running goroutine's stack) keeps its frames through the budget's
 * renumbering and forgetting, live and in a recording. Synthetic events: the numbers are known.
 */
#include <malloc.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/goheap.h"
#include "model/goroutines.h"
#include "model/model.h"
#include "model/record.h"
#include "model/replay.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"

#define SEC 1000000000ull

static uint64_t tick(struct model *m, uint64_t i)
{
	uint64_t end = model_start_ns(m) + (i + 1) * SEC;

	assert_int_equal(model_close_tick(m, end), 0);
	return end;
}

/*
 * 3000 threads asleep all along and 100 on CPU, for 300 ticks, with a history of 200 ticks and
 * 8 MiB (the defaults are 600 and 48 MiB: the same code, a shorter test): the history keeps at
 * most its ticks and its bytes (never fewer than the last minute), the model stops growing once
 * it is full, and the since-start sums are still every tick's.
 */
static void test_model_history_holds_its_budget(void **state)
{
	struct model_opts o = { .history = 200, .history_bytes = 8u << 20 };
	struct model_usage u;
	struct model *m;
	struct window w;
	uint64_t user[] = { 0x401000, 0x401100 };
	size_t at_200 = 0;

	assert_int_equal(model_new(&o, &m), 0);
	for (uint64_t i = 0; i < 300; i++) {
		for (uint32_t t = 0; t < 3100; t++) {
			if (t < 3000) {
				model_add_state(m, 100, 1000 + t, "sleeper", "storm", MODEL_STATE_SLEEP,
						SEC);
			} else {
				struct model_sample s = { .pid = 100, .tid = 1000 + t, .user = user,
							  .nr_user = 2, .comm = "busy" };

				model_add_sample(m, &s);
				model_add_state(m, 100, 1000 + t, NULL, NULL, MODEL_STATE_RUNNING, SEC);
			}
		}
		tick(m, i);
		model_usage(m, &u);
		assert_true(u.nr_ticks <= 200);
		assert_true(u.nr_ticks >= (i + 1 < MODEL_HISTORY_MIN ? i + 1 : MODEL_HISTORY_MIN));
		assert_true(u.history <= (8u << 20) + 200 * sizeof(struct tick) + (64u << 10));
		/* what the budget counts is what the tick holds: no growth slack kept (3100
		   states in an array grown to 4096 held a third more than counted) */
		for (size_t k = 0; k < u.nr_ticks; k++) {
			const struct tick *t = model_tick(m, k);

			assert_true(malloc_usable_size(t->states) <=
				    t->nr_states * sizeof(*t->states) + 64);
			assert_true(malloc_usable_size(t->counts) <=
				    t->nr_counts * sizeof(*t->counts) + 64);
		}
		if (i == 200)
			at_200 = model_usage_bytes(&u);
	}
	model_usage(m, &u);
	print_message("3100 threads, 300 ticks: %zu ticks kept, history %zu KiB, model %zu KiB "
		      "(%zu KiB at tick 200)\n",
		      u.nr_ticks, u.history >> 10, model_usage_bytes(&u) >> 10, at_200 >> 10);
	/* flat once the history is full */
	assert_true(model_usage_bytes(&u) <= at_200 + (at_200 >> 6));
	window_init(&w);
	window_sum(&w, m, 0);
	assert_int_equal(w.samples, 100 * 300);
	for (uint32_t i = 0; i < w.nr_threads; i++) {
		const struct thread *t = threads_get(model_threads(m), i);

		if (t->tid < 4000)
			assert_int_equal(w.thread_states[i][MODEL_STATE_SLEEP], 300 * SEC);
	}
	window_fini(&w);
	model_free(m);
}

/*
 * 300 short processes a tick (each a thread, a sample with its own raw stack, a memory
 * reading, then gone) for 600 ticks: the thread table stops growing once the history has
 * rolled over (exited threads leave it, their slots go to new ones), raw stacks are forgotten
 * now and then, memory entries of gone processes go; since start still has every sample, now
 * in the "[exited]" row of their name.
 */
static void test_model_process_churn_stays_bounded(void **state)
{
	struct model_opts o = { .history = 120 };
	struct model_memory mem = { .known = 1u << MODEL_MEM_RSS };
	struct model_usage u;
	struct model *m;
	struct window w;
	uint32_t pid = 1000, most = 0;
	uint64_t exited_samples = 0;

	assert_int_equal(model_new(&o, &m), 0);
	for (uint64_t i = 0; i < 600; i++) {
		for (int k = 0; k < 300; k++, pid++) {
			uint64_t user[] = { 0x401000 + pid % 7, 0x401100 };
			struct model_sample s = { .pid = pid, .tid = pid, .user = user, .nr_user = 2,
						  .comm = "true", .time_ns = 0 };

			struct model_heap h = { .pid = pid, .tid = pid, .user = user, .nr_user = 2,
						.bytes = 4096, .count = 1 };

			model_add_sample(m, &s);
			/* heap growth (the default tracking) must not pin the raw stacks as leak
			 * mode's live blocks do */
			model_add_heap(m, &h);
			mem.v[MODEL_MEM_RSS] = 1 << 20;
			model_add_memory(m, pid, &mem);
			model_thread_gone(m, pid, pid, model_start_ns(m) + i * SEC + 5);
		}
		tick(m, i);
		model_usage(m, &u);
		if (i >= 300 && u.nr_threads > most)
			most = u.nr_threads;
	}
	model_usage(m, &u);
	print_message("parts: history %zu totals %zu threads %zu stacks %zu other %zu KiB, memory %zu\n", u.history >> 10, u.totals >> 10, u.threads >> 10, u.stacks >> 10, u.other >> 10, (size_t)0);
	print_message("180000 processes: %u threads in the table (most %u after tick 300), %u raw "
		      "stacks, %llu folded, %llu raw resets, model %zu KiB\n",
		      u.nr_threads, most, u.nr_raws, (unsigned long long)u.folded,
		      (unsigned long long)u.raw_resets, model_usage_bytes(&u) >> 10);
	/* the history names 120 ticks of 300 threads; compaction runs every 30 ticks */
	assert_true(u.nr_threads < 300 * (120 + 2 * 30) + 100);
	assert_true(u.folded > 130000);
	assert_true(u.raw_resets > 0);
	assert_true(u.nr_raws <= 32768 + 30 * 300);
	window_init(&w);
	window_sum(&w, m, 0);
	assert_int_equal(w.samples, 180000);
	for (size_t i = 0; i < w.nr_counts; i++) {
		const struct thread *t = threads_get(model_threads(m), w.counts[i].thread);

		if (!strcmp(t->comm, "[exited]")) {
			assert_string_equal(t->process, "true");
			exited_samples += w.counts[i].count;
		}
	}
	assert_true(exited_samples > 130000);
	print_message("memory entries since start: %zu\n", w.nr_memory);
	assert_true(w.nr_memory <= 300 * (120 + 30 + 1));
	window_fini(&w);
	model_free(m);
}

/* n samples of tick i, each on a stack of its own: main;generated_I_K */
static void add_generated(struct model *m, uint64_t i, uint32_t n)
{
	for (uint32_t k = 0; k < n; k++) {
		struct stacks *st = model_stacks(m);
		char name[64];
		struct frame f = { .module = "app", .kind = FRAME_USER, .symbolized = true };
		uint32_t ids[2];

		f.function = "main";
		ids[0] = stacks_add_frame(st, &f);
		snprintf(name, sizeof(name), "generated_%llu_%u", (unsigned long long)i, k);
		f.function = name;
		ids[1] = stacks_add_frame(st, &f);
		model_add_resolved(m, 7, 7, "app", "app", stacks_add_stack(st, ids, 2), 1, 0);
	}
}

/*
 * A host whose code never stops changing (compilers, new programs): 1000 new stacks a tick, each
 * with a new frame, for 250 ticks (a budget of 4 MiB here). The frames and stacks no kept tick
 * names go once they pass their budget; since start keeps every sample, those of stacks let go in "[older stacks]";
 * the kept ticks still name their own stacks, by name.
 */
static void test_model_stacks_stay_within_budget(void **state)
{
	struct model_opts o = { .history = 60, .stacks_bytes = 4u << 20 };
	struct model_usage u;
	struct model *m;
	struct window w;
	uint64_t older = 0, all = 0;
	size_t most = 0;

	assert_int_equal(model_new(&o, &m), 0);
	for (uint64_t i = 0; i < 250; i++) {
		add_generated(m, i, 1000);
		tick(m, i);
		model_usage(m, &u);
		if (u.stacks > most)
			most = u.stacks;
	}
	model_usage(m, &u);
	print_message("250000 stacks: %u kept, stack tables %zu KiB (most %zu KiB), %llu "
		      "compactions\n",
		      u.nr_stacks, u.stacks >> 10, most >> 10,
		      (unsigned long long)u.stack_compactions);
	assert_true(u.stack_compactions > 0);
	/* what the kept ticks name, and what 30 ticks add between two compactions */
	assert_true(u.nr_stacks <= 1000 * (60 + 30) + 16);
	window_init(&w);
	window_sum(&w, m, 0);
	assert_int_equal(w.samples, 250000);
	for (size_t i = 0; i < w.nr_counts; i++) {
		uint32_t nr;
		const uint32_t *f = stacks_frames(model_stacks(m), w.counts[i].stack, &nr);

		all += w.counts[i].count;
		if (!strcmp(stacks_frame(model_stacks(m), f[0])->function, "[older stacks]"))
			older += w.counts[i].count;
	}
	assert_int_equal(all, 250000);
	assert_true(older > 0);
	/* the newest tick still names its own stacks */
	{
		const struct tick *t = model_tick(m, 0);
		uint32_t nr;
		const uint32_t *f = stacks_frames(model_stacks(m), t->counts[0].stack, &nr);

		assert_int_equal(nr, 2);
		assert_non_null(strstr(stacks_frame(model_stacks(m), f[1])->function,
				       "generated_249_"));
	}
	window_fini(&w);
	model_free(m);
}

/*
 * A host whose code never stops changing with the full 10-minute history: 100 new stacks a tick
 * for 400 ticks against an 8 MiB stacks budget (~0.5 KiB a stack: ~120 ticks' worth). What the
 * kept ticks name passes the budget, so the history gives way (never below the last minute) and
 * the tables hold their budget; since start still has every sample, and a view's selection
 * follows the renumbering.
 */
static void test_model_stacks_budget_shortens_history(void **state)
{
	struct model_opts o = { .history = 600, .stacks_bytes = 8u << 20 };
	struct model_usage u;
	struct model *m;
	struct window w;
	size_t most = 0, fewest = 600;
	uint64_t all = 0;

	assert_int_equal(model_new(&o, &m), 0);
	for (uint64_t i = 0; i < 400; i++) {
		uint64_t epoch = model_stacks_epoch(m);
		uint32_t sel = UINT32_MAX;
		const struct tick *nt = model_tick(m, 0);

		if (nt && nt->nr_counts)
			sel = nt->counts[nt->nr_counts - 1].stack;
		add_generated(m, i, 100);
		tick(m, i);
		model_usage(m, &u);
		if (u.stacks > most)
			most = u.stacks;
		if (i >= 300 && u.nr_ticks < fewest)
			fewest = u.nr_ticks;
		assert_true(u.nr_ticks >= (i + 1 < MODEL_HISTORY_MIN ? i + 1 : MODEL_HISTORY_MIN));
		/* the last tick's newest stack, selected before this tick, is still that stack */
		if (sel != UINT32_MAX) {
			uint32_t now = model_stack_now(m, epoch, sel), nr;
			const uint32_t *f;
			char want[64];

			assert_int_not_equal(now, UINT32_MAX);
			f = stacks_frames(model_stacks(m), now, &nr);
			snprintf(want, sizeof(want), "generated_%llu_99", (unsigned long long)i - 1);
			assert_string_equal(stacks_frame(model_stacks(m), f[1])->function, want);
		}
	}
	model_usage(m, &u);
	print_message("100 new stacks a tick, 400 ticks, 8 MiB: %zu ticks kept (fewest %zu), "
		      "stack tables %zu KiB (most %zu KiB), %llu renumberings\n",
		      u.nr_ticks, fewest, u.stacks >> 10, most >> 10,
		      (unsigned long long)u.stack_compactions);
	/* the budget, and what 30 ticks add between two compactions (~50 KiB a tick here) */
	assert_true(most <= (8u << 20) + 30 * (64u << 10));
	assert_true(fewest > MODEL_HISTORY_MIN && fewest < 300);
	window_init(&w);
	window_sum(&w, m, 0);
	for (size_t i = 0; i < w.nr_counts; i++)
		all += w.counts[i].count;
	assert_int_equal(all, 400 * 100);
	window_fini(&w);
	model_free(m);
}

/*
 * A thread that exited with only a wake to its name (a block that ended as it exited) keeps its
 * index while a kept tick names it there; once none does, its since-start wakes go to its
 * "[exited]" row and the index to another thread.
 */
static void test_model_wakes_keep_their_thread(void **state)
{
	struct model_opts o = { .start_ns = SEC, .history = 60 };
	struct model *m;
	uint32_t st, seq0_thread = UINT32_MAX;
	uint64_t sum = 0;

	assert_int_equal(model_new(&o, &m), 0);
	{
		struct frame f = { .module = "app", .function = "wait_for_it", .kind = FRAME_USER };
		uint32_t id = stacks_add_frame(model_stacks(m), &f);

		st = stacks_add_stack(model_stacks(m), &id, 1);
	}
	model_add_wake_resolved(m, 500, 501, "waiter", "app", st, 7000);
	model_thread_gone(m, 500, 501, model_start_ns(m) + 5);
	for (uint64_t i = 0; i < 200; i++) {
		/* new threads all along: each would take a released index */
		model_add_resolved(m, 600 + i, 600 + i, "worker", "other", st, 1,
				   model_start_ns(m) + i * SEC + 1);
		tick(m, i);
		for (size_t ago = 0; ago < model_nr_ticks(m); ago++) {
			const struct tick *t = model_tick(m, ago);

			if (t->seq != 0)
				continue;
			assert_int_equal(t->nr_wakes, 1);
			seq0_thread = t->wakes[0].thread;
			assert_int_equal(threads_get(model_threads(m), seq0_thread)->tid, 501);
		}
	}
	assert_int_not_equal(seq0_thread, UINT32_MAX);
	/* since start: its 7000 ns, on the row of its process name */
	for (size_t i = 0; i < model_total(m)->nr_wakes; i++) {
		const struct tick_count *c = &model_total(m)->wakes[i];
		const struct thread *t = threads_get(model_threads(m), c->thread);

		assert_string_equal(t->comm, "[exited]");
		assert_string_equal(t->process, "app");
		sum += c->count;
	}
	assert_int_equal(sum, 7000);
	model_free(m);
}

/* ---- every layer through the budget: the same frames, by name, after a renumbering ---- */

#define GOPID 4242
#define GOTID 4243
#define LAYER_TICKS 130
#define TEXT 4096

static const uint64_t chan_pcs[] = { 0x9001000, 0x9002000, 0x9003000 };
static const uint64_t mutex_pcs[] = { 0x9001000, 0x9004000, 0x9005000 };
static const uint64_t run_pcs[] = { 0x9006000, 0x9007000, 0x9003000 };
static const uint64_t heap_pcs[] = { 0x9008000, 0x9009000 };
static const uint64_t block_pcs[] = { 0x900a000, 0x900b000 };
static const uint64_t blocked_pcs[] = { 0x900c000, 0x900d000 };
static const uint64_t waker_pcs[] = { 0x900e000, 0x900f000 };

/* A stack as its frames' names, root first: "a;b;c". */
static void stack_text(const struct model *m, uint32_t stack, char *buf, size_t len)
{
	const struct stacks *st = model_stacks(m);
	uint32_t nr;
	const uint32_t *f = stacks_frames(st, stack, &nr);
	size_t at = 0;

	buf[0] = 0;
	assert_true(nr > 0);
	for (uint32_t i = 0; i < nr && at < len; i++)
		at += snprintf(buf + at, len - at, "%s%s", i ? ";" : "",
			       stacks_frame(st, f[i])->function);
}

/* A goroutine group as names: its stack, creator and start function, and its count. */
static void group_text(const struct model *m, uint32_t id, char *buf, size_t len)
{
	const struct go_group *g = goroutines_group(model_goroutines(m), id);
	const struct stacks *st = model_stacks(m);
	char stack[TEXT / 2];

	stack_text(m, g->stack, stack, sizeof(stack));
	snprintf(buf, len, "%s | created by %s | start %s | %u", stack,
		 g->created_by == GO_GROUP_NONE ? "-" : stacks_frame(st, g->created_by)->function,
		 g->start == GO_GROUP_NONE ? "-" : stacks_frame(st, g->start)->function,
		 goroutines_count(model_goroutines(m), id, NULL));
}

/* The one entry of a tick's wakes, or the bucket of a kind among Go's profile changes. */
static void wake_text(const struct model *m, const struct tick *t, char *buf, size_t len)
{
	assert_int_equal(t->nr_wakes, 1);
	assert_int_equal(t->wakes[0].count, 1000);
	stack_text(m, t->wakes[0].stack, buf, len);
}

static const struct tick_goheap *bucket(const struct tick_goheap *v, size_t n, uint32_t kind)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].kind == kind)
			return &v[i];
	return NULL;
}

/*
 * One tick of a host with a Go process (13 parked goroutines in two groups, one running on a
 * thread sampled once, at tick 0), Go's heap and block profiles (the block profile grows every
 * tick), a block and its waker, and `bulk` samples of new code (a new stack and frame each) that
 * push the stacks past their budget and the raw stacks past theirs.
 */
static void layer_tick(struct model *m, uint64_t i, uint32_t bulk)
{
	struct goroutines *g = model_goroutines(m);
	struct goroutines_proc p = { .pid = GOPID, .version = "go1.22.12", .memprofile_rate = 1 };
	struct goroutines_g parked = { .status = GOROUTINES_WAITING, .wait_reason = "chan receive",
				       .pcs = chan_pcs, .nr_pcs = 3, .gopc = 0x9010001,
				       .startpc = 0x9003000 };
	struct goroutines_g running = { .status = GOROUTINES_RUNNING, .tid = GOTID,
					.gopc = 0x9011001, .startpc = 0x9003000 };
	const int64_t heap_v[GOHEAP_VALUES] = { 5, 5 * 4096, 9, 9 * 4096 };
	const int64_t block_v[GOHEAP_VALUES] = { (int64_t)i + 1, ((int64_t)i + 1) * 1000 };
	uint64_t t0 = model_start_ns(m) + i * SEC;
	struct model_offcpu o = { .time_ns = t0 + 10, .pid = 77, .tid = 78, .comm = "waiter",
				  .pcomm = "waiter", .user = blocked_pcs, .nr_user = 2,
				  .reason = MODEL_STATE_LOCK, .ns = 1000 };
	struct model_waker w = { .pid = 77, .tid = 79, .comm = "waker", .user = waker_pcs,
				 .nr_user = 2 };

	for (uint32_t k = 0; k < bulk; k++) {
		uint64_t user[] = { 0x10000000 + (i * bulk + k) * 16, 0x401000 };
		struct model_sample s = { .time_ns = t0 + 1, .pid = 100, .tid = 100, .comm = "cc",
					  .pcomm = "cc", .user = user, .nr_user = 2 };

		model_add_sample(m, &s);
	}
	if (i == 0) {
		struct model_sample s = { .time_ns = t0 + 1, .pid = GOPID, .tid = GOTID,
					  .comm = "gosvc", .pcomm = "gosvc", .user = run_pcs,
					  .nr_user = 3 };

		model_add_sample(m, &s);
	}
	goroutines_proc(g, &p);
	for (int k = 0; k < 10; k++)
		goroutines_add(g, m, GOPID, &parked);
	parked.wait_reason = "sync.Mutex.Lock";
	parked.pcs = mutex_pcs;
	for (int k = 0; k < 3; k++)
		goroutines_add(g, m, GOPID, &parked);
	goroutines_add(g, m, GOPID, &running);
	goheap_begin(goroutines_heap(g), GOPID, GOHEAP_HEAP);
	goheap_add(goroutines_heap(g), m, GOPID, GOHEAP_HEAP, heap_pcs, 2, heap_v);
	goheap_begin(goroutines_heap(g), GOPID, GOHEAP_BLOCK);
	goheap_add(goroutines_heap(g), m, GOPID, GOHEAP_BLOCK, block_pcs, 2, block_v);
	model_add_wake(m, &o, &w);
	assert_int_equal(model_close_tick(m, t0 + SEC), 0);
}

/* What tick 0 named, by name: each layer must name the same after every renumbering. */
struct layer_names {
	uint32_t nr_groups;
	char groups[8][TEXT];
	char heap[TEXT], block[TEXT], wake[TEXT];
};

static void check_layers(const struct model *m, const struct layer_names *want, uint64_t i)
{
	char got[TEXT];
	size_t n;
	const struct tick_goheap *cur = goheap_current(goroutines_heap(model_goroutines(m)), &n);
	const struct tick_goheap *b;

	/* the running goroutine still finds its thread's sample: no new group */
	assert_int_equal(goroutines_nr_groups(model_goroutines(m)), want->nr_groups);
	for (uint32_t id = 0; id < want->nr_groups; id++) {
		group_text(m, id, got, sizeof(got));
		assert_string_equal(got, want->groups[id]);
	}
	assert_int_equal(n, 2);
	stack_text(m, bucket(cur, n, GOHEAP_HEAP)->stack, got, sizeof(got));
	assert_string_equal(got, want->heap);
	b = bucket(cur, n, GOHEAP_BLOCK);
	assert_int_equal(b->v[0], i + 1);
	stack_text(m, b->stack, got, sizeof(got));
	assert_string_equal(got, want->block);
	/* every kept tick: its wake and its block profile's change */
	for (size_t ago = 0; ago < model_nr_ticks(m); ago++) {
		const struct tick *t = model_tick(m, ago);

		wake_text(m, t, got, sizeof(got));
		assert_string_equal(got, want->wake);
		if (t->seq == 0)
			continue;
		assert_non_null(t->go);
		b = bucket(t->go->heap, t->go->nr_heap, GOHEAP_BLOCK);
		assert_non_null(b);
		assert_int_equal(b->v[0], 1);
		stack_text(m, b->stack, got, sizeof(got));
		assert_string_equal(got, want->block);
	}
	/* since start: every block's time, under its own stack (the kept ticks name it) */
	assert_int_equal(model_total(m)->nr_wakes, 1);
	assert_int_equal(model_total(m)->wakes[0].count, (i + 1) * 1000);
	stack_text(m, model_total(m)->wakes[0].stack, got, sizeof(got));
	assert_string_equal(got, want->wake);
}

static void layers_through_budget(const struct model_opts *o, uint32_t bulk, bool compact)
{
	struct record_info info = { .host = "h", .kernel = "k", .start_ns = SEC, .freq_hz = 99,
				    .nr_cpus = 1, .source = "bpf", .unwind = "fp", .target = "x",
				    .time_unit_ns = 1 };
	struct layer_names *want = calloc(1, sizeof(*want));
	struct model_usage u;
	struct record *rec;
	struct replay *rp;
	struct model *m, *b;
	char err[256], got[TEXT];
	FILE *f = tmpfile();
	uint64_t i;

	assert_non_null(f);
	assert_non_null(want);
	assert_int_equal(model_new(o, &m), 0);
	assert_int_equal(record_new(fileno(f), &info, &rec), 0);
	for (i = 0; i < LAYER_TICKS; i++) {
		layer_tick(m, i, bulk);
		assert_int_equal(record_tick(rec, m), 0);
		if (i == 0) {
			size_t n;
			const struct tick_goheap *cur =
				goheap_current(goroutines_heap(model_goroutines(m)), &n);

			/* chan receive, mutex, running */
			want->nr_groups = goroutines_nr_groups(model_goroutines(m));
			assert_int_equal(want->nr_groups, 3);
			for (uint32_t id = 0; id < want->nr_groups; id++)
				group_text(m, id, want->groups[id], TEXT);
			assert_non_null(strstr(want->groups[2], "[running]"));
			assert_non_null(strstr(want->groups[2], "+0x9006000"));
			stack_text(m, bucket(cur, n, GOHEAP_HEAP)->stack, want->heap, TEXT);
			stack_text(m, bucket(cur, n, GOHEAP_BLOCK)->stack, want->block, TEXT);
			wake_text(m, model_tick(m, 0), want->wake, TEXT);
			assert_non_null(strstr(want->wake, "[woken by waker]"));
		}
		check_layers(m, want, i);
	}
	model_usage(m, &u);
	print_message("%llu renumberings, %llu raw resets, %u stacks, Go layer %zu bytes\n",
		      (unsigned long long)u.stack_compactions, (unsigned long long)u.raw_resets,
		      u.nr_stacks, u.go);
	/* the Go layer is counted (3 groups and 2 buckets in tables made for more: < 1 MiB) */
	assert_true(u.go > 1024 && u.go < (1u << 20));
	if (compact) {
		/* renumbered several times, and the Go stacks did move (new code came first) */
		assert_true(u.stack_compactions >= 2);
	} else {
		assert_int_equal(u.stack_compactions, 0);
		assert_true(u.raw_resets >= 2);
	}
	record_free(rec);
	fflush(f);

	/* the recording replays the same names in every tick, and the same groups and profiles */
	assert_int_equal(replay_open_fd(fileno(f), &rp, err, sizeof(err)), 0);
	/* with the same budget: the reader's ids must stay the model's */
	assert_int_equal(model_new(o, &b), 0);
	replay_bind(rp, b);
	for (i = 0; i < LAYER_TICKS; i++) {
		const struct tick *t;
		const struct tick_goheap *bk;

		assert_int_equal(replay_next(rp), 1);
		t = model_tick(b, 0);
		wake_text(b, t, got, sizeof(got));
		assert_string_equal(got, want->wake);
		bk = t->go ? bucket(t->go->heap, t->go->nr_heap, GOHEAP_BLOCK) : NULL;
		assert_non_null(bk);
		stack_text(b, bk->stack, got, sizeof(got));
		assert_string_equal(got, want->block);
	}
	assert_int_equal(replay_damage(rp)->dropped, 0);
	check_layers(b, want, LAYER_TICKS - 1);
	replay_free(rp);
	model_free(b);
	model_free(m);
	fclose(f);
	free(want);
}

/* Stacks past their budget (256 KiB here): renumbered every 30 ticks with the Go layer, wakes
 * and a running goroutine present. */
static void test_model_layers_survive_renumbering(void **state)
{
	struct model_opts o = { .start_ns = SEC, .history = 60, .stacks_bytes = 256u << 10 };

	layers_through_budget(&o, 200, true);
}

/* Raw stacks past 32768 (1200 new ones a tick): forgotten, while a running goroutine's thread
 * was sampled only before. */
static void test_model_layers_survive_raw_forgetting(void **state)
{
	struct model_opts o = { .start_ns = SEC, .history = 60, .stacks_bytes = 1u << 30 };

	layers_through_budget(&o, 1200, false);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_history_holds_its_budget),
		cmocka_unit_test(test_model_process_churn_stays_bounded),
		cmocka_unit_test(test_model_stacks_stay_within_budget),
		cmocka_unit_test(test_model_stacks_budget_shortens_history),
		cmocka_unit_test(test_model_wakes_keep_their_thread),
		cmocka_unit_test(test_model_layers_survive_renumbering),
		cmocka_unit_test(test_model_layers_survive_raw_forgetting),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
