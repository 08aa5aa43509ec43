// SPDX-License-Identifier: GPL-2.0-only
/* The model's ticks, history and windows, driven with synthetic samples. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"

static void sample(struct model *m, uint32_t pid, uint32_t tid, const char *comm, uint64_t leaf,
		   uint32_t n)
{
	uint64_t user[2] = { leaf, 0x1000 };
	struct model_sample s = { .pid = pid, .tid = tid, .comm = comm, .pcomm = "proc",
				  .user = user, .nr_user = 2, .weight = n };

	model_add_sample(m, &s);
}

static uint64_t thread_total(const struct window *w, struct model *m, uint32_t tid)
{
	uint64_t sum = 0;

	for (uint32_t i = 0; i < w->nr_threads; i++)
		if (threads_get(model_threads(m), i)->tid == tid)
			sum += w->thread_samples[i];
	return sum;
}

static void test_window_ticks_and_sums(void **state)
{
	struct model_opts opts = { .history = 5 };
	struct model *m;
	struct window w;

	assert_int_equal(model_new(&opts, &m), 0);
	window_init(&w);
	/* 8 ticks: tick i has i+1 samples of tid 11 and 1 of tid 12 */
	for (int i = 0; i < 8; i++) {
		sample(m, 10, 11, "a", 0x2000, i + 1);
		sample(m, 10, 12, "b", 0x3000, 1);
		model_add_lost(m, MODEL_LOST_RINGBUF, 2);
		assert_int_equal(model_close_tick(m, model_start_ns(m) + (i + 1) * 1000000000ull),
				 0);
	}
	assert_int_equal(model_nr_ticks(m), 5);
	assert_int_equal(model_tick(m, 0)->seq, 7);
	assert_int_equal(model_tick(m, 4)->seq, 3);
	assert_null(model_tick(m, 5));
	assert_int_equal(model_tick(m, 0)->samples, 9);
	assert_int_equal(model_tick(m, 0)->nr_counts, 2);

	window_sum(&w, m, 1);
	assert_int_equal(w.samples, 9);
	assert_int_equal(w.nr_counts, 2);
	assert_int_equal(w.counts[0].count, 8); /* sorted by count, descending */
	assert_int_equal(thread_total(&w, m, 11), 8);
	assert_int_equal(w.lost[MODEL_LOST_RINGBUF], 2);

	window_sum(&w, m, 3); /* ticks 5..7: 6+7+8 and 3 */
	assert_int_equal(thread_total(&w, m, 11), 21);
	assert_int_equal(thread_total(&w, m, 12), 3);
	assert_int_equal(w.nr_ticks, 3);
	assert_int_equal(w.end_ns - w.start_ns, 3000000000ull);

	/* since start covers ticks that left the 5-tick history */
	window_sum(&w, m, 0);
	assert_int_equal(thread_total(&w, m, 11), 36);
	assert_int_equal(thread_total(&w, m, 12), 8);
	assert_int_equal(w.samples, 44);
	assert_int_equal(w.lost[MODEL_LOST_RINGBUF], 16);
	assert_int_equal(w.nr_ticks, 8);

	/* asking for more ticks than kept gives what is kept */
	window_sum(&w, m, 60);
	assert_int_equal(w.nr_ticks, 5);
	window_fini(&w);
	model_free(m);
}

static void test_window_exited_thread_keeps_its_name(void **state)
{
	struct model *m;
	struct window w;
	const struct thread *t;

	model_new(NULL, &m);
	window_init(&w);
	sample(m, 20, 21, "short", 0x2000, 3);
	model_thread_exit(m, 21);
	model_close_tick(m, model_start_ns(m) + 1000000000ull);
	sample(m, 30, 21, "reused", 0x2000, 1); /* the tid comes back in another process */
	model_close_tick(m, model_start_ns(m) + 2000000000ull);
	window_sum(&w, m, 0);
	assert_int_equal(w.nr_counts, 2);
	t = threads_get(model_threads(m), w.counts[0].thread);
	assert_string_equal(t->comm, "short");
	assert_true(t->exited);
	assert_int_equal(w.counts[0].count, 3);
	t = threads_get(model_threads(m), w.counts[1].thread);
	assert_string_equal(t->comm, "reused");
	assert_int_equal(t->pid, 30);
	window_fini(&w);
	model_free(m);
}

static void test_window_empty_model(void **state)
{
	struct model *m;
	struct window w;

	model_new(NULL, &m);
	window_init(&w);
	window_sum(&w, m, 0);
	assert_int_equal(w.samples, 0);
	assert_int_equal(w.nr_counts, 0);
	window_sum(&w, m, 10);
	assert_int_equal(w.nr_ticks, 0);
	model_close_tick(m, model_start_ns(m) + 1000000000ull);
	window_sum(&w, m, 1);
	assert_int_equal(w.nr_ticks, 1);
	assert_int_equal(w.samples, 0);
	window_fini(&w);
	model_free(m);
	model_free(NULL);
}

static void test_window_states_and_offcpu(void **state)
{
	struct model *m;
	struct window w;
	uint64_t user[] = { 0x10, 0x20 }, kern[] = { 0xffff10 };
	struct model_offcpu o = { .pid = 40, .tid = 41, .comm = "waiter", .pcomm = "app",
				  .user = user, .nr_user = 2, .kernel = kern, .nr_kernel = 1,
				  .reason = MODEL_STATE_LOCK, .ns = 700 };
	const struct stacks *st;
	uint32_t idx, nr;
	const uint32_t *frames;

	model_new(NULL, &m);
	window_init(&w);
	for (int i = 0; i < 3; i++) {
		model_add_state(m, 40, 41, "waiter", "app", MODEL_STATE_LOCK, 700);
		model_add_state(m, 40, 41, "waiter", "app", MODEL_STATE_RUNNING, 200);
		model_add_state(m, 40, 41, "waiter", "app", MODEL_STATE_RUNNABLE, 100);
		model_add_offcpu(m, &o);
		model_close_tick(m, model_start_ns(m) + (i + 1) * 1000ull);
	}
	assert_int_equal(model_tick(m, 0)->nr_states, 3);
	window_sum(&w, m, 2);
	idx = threads_find(model_threads(m), 41);
	assert_int_equal(w.thread_states[idx][MODEL_STATE_LOCK], 1400);
	assert_int_equal(w.thread_states[idx][MODEL_STATE_RUNNING], 400);
	assert_int_equal(w.thread_states[idx][MODEL_STATE_SLEEP], 0);
	assert_int_equal(w.nr_offcpu, 1);
	assert_int_equal(w.offcpu[0].count, 1400);
	assert_int_equal(w.nr_counts, 0); /* off-CPU time is not on-CPU samples */
	/* the reason is the leaf-most frame of the blocked stack */
	st = model_stacks(m);
	frames = stacks_frames(st, w.offcpu[0].stack, &nr);
	assert_int_equal(nr, 4);
	assert_string_equal(stacks_frame(st, frames[3])->function, "[lock]");
	assert_int_equal(stacks_frame(st, frames[3])->kind, FRAME_SPECIAL);
	window_sum(&w, m, 0);
	assert_int_equal(w.thread_states[idx][MODEL_STATE_RUNNABLE], 300);
	assert_int_equal(w.offcpu[0].count, 2100);
	assert_string_equal(model_state_name(MODEL_STATE_IO), "io");
	window_fini(&w);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_window_ticks_and_sums),
		cmocka_unit_test(test_window_exited_thread_keeps_its_name),
		cmocka_unit_test(test_window_empty_model),
		cmocka_unit_test(test_window_states_and_offcpu),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
