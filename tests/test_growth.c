// SPDX-License-Identifier: GPL-2.0-only
/*
 * Heap growth in the model: the signed (thread, stack) map, the heap and leak-mode layers of
 * ticks and windows, process memory readings, and the oldest outstanding blocks — driven with
 * synthetic events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <cmocka.h>

#include "model/growth.h"
#include "model/model.h"
#include "model/record.h"
#include "model/replay.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"

#define SEC 1000000000ull
#define KIB 1024
#define MIB (1024 * 1024)

static void test_growth_map_signed_sort(void **state)
{
	struct growth g;

	growth_init(&g);
	growth_add(&g, 1, 10, 4096, 1);
	growth_add(&g, 1, 11, -8192, -2);
	growth_add(&g, 2, 10, 100, 1);
	growth_add(&g, 1, 10, 4096, 1);
	growth_add(&g, 3, 12, 64, 1);
	growth_add(&g, 3, 12, -64, -1); /* an allocation and its free */
	assert_int_equal(g.nr, 4);
	assert_int_equal(growth_find(&g, 1, 10)->bytes, 8192);
	assert_int_equal(growth_find(&g, 1, 10)->count, 2);
	growth_drop_zero(&g);
	assert_int_equal(g.nr, 3);
	assert_null(growth_find(&g, 3, 12));
	growth_sort_by_bytes(&g);
	/* most growth first, most shrinkage last: signed, not unsigned, order */
	assert_int_equal(g.v[0].bytes, 8192);
	assert_int_equal(g.v[1].bytes, 100);
	assert_int_equal(g.v[2].bytes, -8192);
	assert_non_null(growth_find(&g, 1, 11)); /* still a map after sorting */
	growth_sort_by_key(&g);
	assert_int_equal(g.v[0].stack, 10);
	assert_int_equal(g.v[1].stack, 11);
	growth_fini(&g);
}

static void heap(struct model *m, uint32_t tid, uint64_t leaf, int64_t bytes)
{
	uint64_t user[2] = { leaf, 0x1000 };
	struct model_heap h = { .pid = 10, .tid = tid, .comm = "t", .pcomm = "proc",
				.user = user, .nr_user = 2, .bytes = bytes, .count = 1 };

	model_add_heap(m, &h);
}

static const char *leaf_name(struct model *m, uint32_t stack)
{
	uint32_t nr;
	const uint32_t *f = stacks_frames(model_stacks(m), stack, &nr);

	return nr ? stacks_frame(model_stacks(m), f[nr - 1])->function : "";
}

/* Default tracking: a leak grows 1 MiB per tick, a churn grows and shrinks the same. */
static void test_growth_heap_layer_and_window(void **state)
{
	struct model_opts opts = { .history = 4 };
	struct tick_heap_info info = { .mode = MODEL_HEAP_GROWTH, .events = 3 };
	struct model *m;
	struct window w;

	assert_int_equal(model_new(&opts, &m), 0);
	window_init(&w);
	for (int i = 0; i < 6; i++) {
		heap(m, 11, 0x2000, MIB / 2);
		heap(m, 11, 0x2000, MIB / 2);
		heap(m, 12, 0x3000, 64 * KIB);
		heap(m, 12, 0x3000, -64 * KIB);
		heap(m, 12, 0x4000, -4096);
		model_add_heap_info(m, &info);
		assert_int_equal(model_close_tick(m, model_start_ns(m) + (i + 1) * SEC), 0);
	}
	/* the churn nets to 0 but stays: in default tracking 0 bytes is still activity */
	assert_int_equal(model_tick(m, 0)->nr_heap, 3);
	assert_int_equal(model_tick(m, 0)->heap_info.mode, MODEL_HEAP_GROWTH);

	window_sum(&w, m, 2);
	assert_int_equal(w.nr_heap, 3);
	assert_int_equal(w.heap[0].bytes, 2 * MIB);
	assert_int_equal(w.heap[0].count, 4);
	assert_int_equal(w.heap[1].bytes, 0);
	assert_int_equal(w.heap[2].bytes, -2 * 4096);
	assert_int_not_equal(w.heap[2].stack, w.heap[0].stack);
	assert_string_equal(leaf_name(m, w.heap[0].stack), leaf_name(m, w.heap[0].stack));
	assert_int_equal(w.heap_info.events, 6);
	assert_int_equal(w.heap_info.mode, MODEL_HEAP_GROWTH);

	/* since start: every tick, including those that left the 4-tick history */
	window_sum(&w, m, 0);
	assert_int_equal(w.heap[0].bytes, 6 * MIB);
	assert_int_equal(w.heap_info.events, 18);
	window_fini(&w);
	model_free(m);
}

/* Leak mode: sites are interned once; frees are charged to the allocating site. */
static void test_growth_allocs_outstanding(void **state)
{
	struct model_opts opts = { 0 };
	uint64_t leak[2] = { 0x5000, 0x1000 }, churn[2] = { 0x6000, 0x1000 };
	struct model_heap a = { .pid = 20, .tid = 21, .comm = "w", .user = leak, .nr_user = 2 };
	struct model_heap b = { .pid = 20, .tid = 22, .comm = "v", .user = churn, .nr_user = 2 };
	struct model_heap_site s1, s2;
	struct model_heap_block blk;
	const struct model_heap_block *old;
	struct model *m;
	struct window w;
	size_t n;

	assert_int_equal(model_new(&opts, &m), 0);
	window_init(&w);
	s1 = model_heap_site(m, &a);
	s2 = model_heap_site(m, &b);
	assert_int_equal(model_heap_site(m, &a).raw, s1.raw);
	for (int i = 0; i < 3; i++) {
		model_add_alloc(m, s1, 1000, 1);
		model_add_alloc(m, s2, 64, 1);
		model_add_alloc(m, s2, -64, -1); /* freed by another thread: still s2's */
		blk = (struct model_heap_block){ .thread = s1.thread, .stack = s1.raw,
						 .addr = 0x10000, .size = 1000, .time_ns = 5 };
		model_set_heap_oldest(m, &blk, 1);
		model_close_tick(m, model_start_ns(m) + (i + 1) * SEC);
	}
	/* a block allocated in one tick and freed in the next nets out over a window of both */
	model_add_alloc(m, s2, 128, 1);
	model_close_tick(m, model_start_ns(m) + 4 * SEC);
	model_add_alloc(m, s2, -128, -1);
	model_close_tick(m, model_start_ns(m) + 5 * SEC);

	assert_int_equal(model_tick(m, 2)->nr_allocs, 1); /* churn nets to 0 within a tick */
	window_sum(&w, m, 0);
	assert_int_equal(w.nr_allocs, 1);
	assert_int_equal(w.allocs[0].bytes, 3000);
	assert_int_equal(w.allocs[0].count, 3);
	assert_int_equal(w.allocs[0].stack, stacks_of_raw(model_stacks(m), s1.raw));
	window_sum(&w, m, 1);
	assert_int_equal(w.nr_allocs, 1); /* the tick with only the -128 */
	assert_int_equal(w.allocs[0].bytes, -128);

	old = model_heap_oldest(m, &n);
	assert_int_equal(n, 1);
	assert_int_equal(old[0].size, 1000);
	assert_int_equal(old[0].stack, stacks_of_raw(model_stacks(m), s1.raw));
	window_fini(&w);
	model_free(m);
}

static struct model_memory mem(uint64_t rss, uint64_t anon)
{
	struct model_memory r = { .known = 1u << MODEL_MEM_RSS | 1u << MODEL_MEM_ANON };

	r.v[MODEL_MEM_RSS] = rss;
	r.v[MODEL_MEM_ANON] = anon;
	return r;
}

/* Readings become changes; a tick stores only what changed; windows sum the changes. */
static void test_growth_memory_readings(void **state)
{
	struct model_opts opts = { .history = 3 };
	struct model_memory r;
	struct model *m;
	struct window w;

	assert_int_equal(model_new(&opts, &m), 0);
	window_init(&w);
	for (int i = 0; i < 5; i++) {
		r = mem(10 * MIB + i * MIB, 4 * MIB + i * MIB); /* pid 7 grows 1 MiB a tick */
		model_add_memory(m, 7, &r);
		r = mem(50 * MIB, 40 * MIB); /* pid 3 never changes */
		model_add_memory(m, 3, &r);
		model_close_tick(m, model_start_ns(m) + (i + 1) * SEC);
	}
	/* first tick: both (first readings); then only pid 7 */
	assert_int_equal(model_tick(m, 0)->nr_memory, 1);
	assert_int_equal(model_tick(m, 0)->memory[0].pid, 7);
	assert_int_equal(model_tick(m, 0)->memory[0].d[MODEL_MEM_RSS], MIB);
	assert_int_equal(model_tick(m, 0)->memory[0].v[MODEL_MEM_RSS], 14 * MIB);

	window_sum(&w, m, 2);
	assert_int_equal(w.nr_memory, 1);
	assert_int_equal(w.memory[0].d[MODEL_MEM_ANON], 2 * MIB);
	assert_int_equal(w.memory[0].v[MODEL_MEM_ANON], 8 * MIB);
	assert_false(w.memory[0].known & (1u << MODEL_MEM_SWAP));

	window_sum(&w, m, 0); /* since start: both processes, sorted by pid */
	assert_int_equal(w.nr_memory, 2);
	assert_int_equal(w.memory[0].pid, 3);
	assert_int_equal(w.memory[0].d[MODEL_MEM_RSS], 0);
	assert_int_equal(w.memory[1].d[MODEL_MEM_RSS], 4 * MIB);

	/* the process exits and its pid comes back: the new one's first reading is no change */
	model_note_thread(m, 7, 7, "x", "x");
	model_thread_exit(m, 7);
	model_close_tick(m, model_start_ns(m) + 6 * SEC);
	r = mem(1 * MIB, 1 * MIB);
	model_add_memory(m, 7, &r);
	model_close_tick(m, model_start_ns(m) + 7 * SEC);
	assert_int_equal(model_tick(m, 0)->nr_memory, 1);
	assert_int_equal(model_tick(m, 0)->memory[0].d[MODEL_MEM_RSS], 0);
	assert_int_equal(model_tick(m, 0)->memory[0].v[MODEL_MEM_RSS], MIB);
	window_fini(&w);
	model_free(m);
}

/* A replay feeds closed ticks back: the heap layers and memory survive the trip. */
static void test_growth_add_tick_roundtrip(void **state)
{
	struct model *a, *b;
	struct window w;
	struct model_memory r = mem(8 * MIB, 6 * MIB);

	assert_int_equal(model_new(NULL, &a), 0);
	assert_int_equal(model_new(NULL, &b), 0);
	window_init(&w);
	heap(a, 11, 0x2000, 3 * 4096);
	model_add_memory(a, 10, &r);
	model_close_tick(a, model_start_ns(a) + SEC);
	/* b shares no ids with a: give it the same thread and stack ids in the same order */
	model_note_thread(b, 10, 11, "t", "proc");
	stacks_add_stack(model_stacks(b), NULL, 0);
	model_add_tick(b, model_tick(a, 0));
	model_close_tick(b, model_start_ns(b) + SEC);
	window_sum(&w, b, 0);
	assert_int_equal(w.nr_heap, 1);
	assert_int_equal(w.heap[0].bytes, 3 * 4096);
	assert_int_equal(w.nr_memory, 1);
	assert_int_equal(w.memory[0].v[MODEL_MEM_ANON], 6 * MIB);
	window_fini(&w);
	model_free(a);
	model_free(b);
}

/* Through a replay file (docs/replay-format.md, tick sections 5-8) and back. */
static void test_growth_replay_file(void **state)
{
	struct model_opts mo = { .start_ns = 1000 * SEC };
	struct record_info in = { .host = "h", .kernel = "k", .start_ns = 1000 * SEC,
				  .freq_hz = 99, .nr_cpus = 2, .tick_ms = 1000, .source = "bpf",
				  .unwind = "fp", .target = "pid 10" };
	struct record_end end = { .duration_s = 3 };
	uint64_t user[2] = { 0x5000, 0x1000 };
	struct model_heap h = { .pid = 10, .tid = 11, .comm = "t", .pcomm = "proc", .user = user,
				.nr_user = 2 };
	struct window wa, wb;
	struct record *rec;
	struct replay *rp;
	struct model *a, *b;
	char err[256];
	int fd = memfd_create("heap", 0);

	assert_true(fd >= 0);
	assert_int_equal(model_new(&mo, &a), 0);
	assert_int_equal(record_new(fd, &in, &rec), 0);
	for (int i = 0; i < 3; i++) {
		struct model_memory r = mem((10 + (uint64_t)i) * MIB, (5 + (uint64_t)i) * MIB);
		struct tick_heap_info info = { .mode = MODEL_HEAP_EXACT, .calls = 1000 + i,
					       .cost_ns = 5000, .live_blocks = 3,
					       .live_bytes = 99 };

		heap(a, 11, 0x2000, MIB);
		heap(a, 12, 0x3000, -4096);
		model_add_alloc(a, model_heap_site(a, &h), 1000, 1);
		model_add_memory(a, 10, &r);
		model_add_heap_info(a, &info);
		model_close_tick(a, 1000 * SEC + (i + 1) * SEC);
		assert_int_equal(record_tick(rec, a), 0);
	}
	assert_int_equal(record_end(rec, &end), 0);
	record_free(rec);
	assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
	assert_int_equal(replay_open_fd(fd, &rp, err, sizeof(err)), 0);
	mo.start_ns = replay_info(rp)->start_ns;
	assert_int_equal(model_new(&mo, &b), 0);
	replay_bind(rp, b);
	while (replay_next(rp) == 1)
		;
	window_init(&wa);
	window_init(&wb);
	window_sum(&wa, a, 0);
	window_sum(&wb, b, 0);
	assert_int_equal(wb.nr_heap, wa.nr_heap);
	assert_int_equal(wb.heap[0].bytes, 3 * MIB);
	assert_int_equal(wb.heap[1].bytes, -3 * 4096);
	assert_string_equal(leaf_name(b, wb.heap[0].stack), leaf_name(a, wa.heap[0].stack));
	assert_int_equal(wb.nr_allocs, 1);
	assert_int_equal(wb.allocs[0].bytes, 3000);
	assert_int_equal(wb.allocs[0].count, 3);
	assert_int_equal(wb.nr_memory, 1);
	assert_int_equal(wb.memory[0].v[MODEL_MEM_RSS], 12 * MIB);
	assert_int_equal(wb.memory[0].d[MODEL_MEM_ANON], 2 * MIB);
	assert_int_equal(wb.heap_info.mode, MODEL_HEAP_EXACT);
	assert_int_equal(wb.heap_info.calls, 3003);
	assert_int_equal(wb.heap_info.live_bytes, 99);
	window_fini(&wa);
	window_fini(&wb);
	replay_free(rp);
	model_free(a);
	model_free(b);
	close(fd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_growth_map_signed_sort),
		cmocka_unit_test(test_growth_heap_layer_and_window),
		cmocka_unit_test(test_growth_allocs_outstanding),
		cmocka_unit_test(test_growth_memory_readings),
		cmocka_unit_test(test_growth_add_tick_roundtrip),
		cmocka_unit_test(test_growth_replay_file),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
