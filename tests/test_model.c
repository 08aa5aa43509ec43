// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model's memory budget (model/model.h): a host of 3000 sleeping threads and a host starting
 * hundreds of processes a second, ticked for longer than the history keeps, stay within the
 * budget, and "since start" stays exact. Synthetic events: the numbers are known.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model/model.h"
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
		for (uint32_t k = 0; k < 1000; k++) {
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_model_history_holds_its_budget),
		cmocka_unit_test(test_model_process_churn_stays_bounded),
		cmocka_unit_test(test_model_stacks_stay_within_budget),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
