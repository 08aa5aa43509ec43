// SPDX-License-Identifier: GPL-2.0-only
/*
 * Leak mode's matching of frees to allocations (probes/heap_match.c), without BPF: synthetic
 * call sequences as the uprobes report them, including the awkward ones — realloc in all its
 * forms, free(NULL), frees of memory allocated before attach, a free that was lost — and a
 * randomized run checked against a plain list.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "probes/heap_match.h"

#define SITE_A 0x100000001ull
#define SITE_B 0x100000002ull
#define SITE_R 0x100000003ull

struct sums {
	int64_t bytes[4], count[4]; /* by site & 3 */
	int calls;
};

static void on_delta(uint64_t site, int64_t bytes, int64_t count, void *arg)
{
	struct sums *s = arg;

	s->bytes[site & 3] += bytes;
	s->count[site & 3] += count;
	s->calls++;
}

static struct heap_match *new_match(size_t max)
{
	struct heap_match_opts o = { .max_blocks = max };
	struct heap_match *hm;

	assert_int_equal(heap_match_new(&o, &hm), 0);
	return hm;
}

/* Churn nets to nothing, a leak stays outstanding, charged to its allocating site. */
static void test_heap_match_leak_and_churn(void **state)
{
	struct heap_match *hm = new_match(0);
	struct heap_match_stats st;
	struct sums s = { 0 };

	for (uint64_t i = 0; i < 1000; i++) {
		heap_match_alloc(hm, 1, 0x10000 + i * 0x400, 1024, SITE_A, i);
		heap_match_alloc(hm, 1, 0x900000, 64, SITE_B, i);
		heap_match_release(hm, 1, 0x900000);
	}
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[1], 1024 * 1000);
	assert_int_equal(s.count[1], 1000);
	assert_int_equal(s.bytes[2], 0);
	assert_int_equal(s.count[2], 0);
	assert_int_equal(s.calls, 1); /* a site whose changes net to 0 is not reported */
	heap_match_stats(hm, &st);
	assert_int_equal(st.live_blocks, 1000);
	assert_int_equal(st.live_bytes, 1024 * 1000);
	assert_int_equal(st.unmatched, 0);

	/* flush starts over */
	memset(&s, 0, sizeof(s));
	heap_match_release(hm, 1, 0x10000);
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[1], -1024);
	assert_int_equal(s.count[1], -1);
	heap_match_free(hm);
}

/* free(NULL) does nothing; a free of a block allocated before attach is unmatched, not a
 * negative outstanding; the same address in another process is another block. */
static void test_heap_match_null_and_unknown_frees(void **state)
{
	struct heap_match *hm = new_match(0);
	struct heap_match_stats st;
	struct sums s = { 0 };

	heap_match_release(hm, 1, 0);
	heap_match_release(hm, 1, 0x5000); /* allocated before attach */
	heap_match_alloc(hm, 2, 0x5000, 32, SITE_A, 1);
	heap_match_release(hm, 1, 0x5000); /* pid 1's 0x5000 is not pid 2's */
	heap_match_alloc(hm, 1, 0, 100, SITE_A, 2); /* malloc failed */
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[1], 32);
	heap_match_stats(hm, &st);
	assert_int_equal(st.null_frees, 1);
	assert_int_equal(st.unmatched, 2);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.frees, 3);
	assert_int_equal(st.live_blocks, 1);
	heap_match_free(hm);
}

static void test_heap_match_realloc(void **state)
{
	struct heap_match *hm = new_match(0);
	struct heap_match_stats st;
	struct sums s = { 0 };

	/* realloc(NULL, n) is malloc */
	heap_match_realloc(hm, 1, 0, 0x1000, 100, SITE_R, 1);
	/* grows in place: the block is now the realloc site's, at the new size */
	heap_match_alloc(hm, 1, 0x2000, 50, SITE_A, 2);
	heap_match_realloc(hm, 1, 0x2000, 0x2000, 200, SITE_R, 3);
	/* moves */
	heap_match_realloc(hm, 1, 0x1000, 0x3000, 300, SITE_R, 4);
	/* fails: the old block stays */
	heap_match_realloc(hm, 1, 0x3000, 0, 1 << 30, SITE_R, 5);
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[1], 0);  /* A's 50 moved to R */
	assert_int_equal(s.bytes[3], 200 + 300);
	assert_int_equal(s.count[3], 2);
	/* realloc(p, 0) returning NULL freed p */
	memset(&s, 0, sizeof(s));
	heap_match_realloc(hm, 1, 0x3000, 0, 0, SITE_R, 6);
	/* realloc of memory allocated before attach: unmatched free, tracked new block */
	heap_match_realloc(hm, 1, 0x7000, 0x8000, 64, SITE_B, 7);
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[3], -300);
	assert_int_equal(s.bytes[2], 64);
	heap_match_stats(hm, &st);
	assert_int_equal(st.reallocs, 6);
	assert_int_equal(st.failed, 1);
	assert_int_equal(st.unmatched, 1);
	assert_int_equal(st.live_blocks, 2);
	assert_int_equal(st.live_bytes, 264);
	heap_match_free(hm);
}

/* An allocation at a live address means its free was lost: the old block goes first. */
static void test_heap_match_lost_free(void **state)
{
	struct heap_match *hm = new_match(0);
	struct heap_match_stats st;
	struct sums s = { 0 };

	heap_match_alloc(hm, 1, 0x4000, 10, SITE_A, 1);
	heap_match_alloc(hm, 1, 0x4000, 20, SITE_B, 2);
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[1], 0);
	assert_int_equal(s.bytes[2], 20);
	heap_match_stats(hm, &st);
	assert_int_equal(st.replaced, 1);
	assert_int_equal(st.live_blocks, 1);
	heap_match_free(hm);
}

/* Oldest first, frees from the middle unlink; forgetting a process drops only its blocks. */
static void test_heap_match_oldest_and_forget(void **state)
{
	struct heap_match *hm = new_match(0);
	struct heap_match_block b[8];
	struct heap_match_stats st;
	struct sums s = { 0 };

	for (int i = 0; i < 6; i++)
		heap_match_alloc(hm, i < 3 ? 1 : 2, 0x1000 * (i + 1), i + 1, SITE_A, 100 + i);
	heap_match_release(hm, 1, 0x1000); /* the oldest */
	heap_match_release(hm, 2, 0x5000); /* from the middle */
	assert_int_equal(heap_match_oldest(hm, b, 8), 4);
	assert_int_equal(b[0].addr, 0x2000);
	assert_int_equal(b[0].time_ns, 101);
	assert_int_equal(b[1].addr, 0x3000);
	assert_int_equal(b[2].addr, 0x4000);
	assert_int_equal(b[3].addr, 0x6000);
	assert_int_equal(heap_match_oldest(hm, b, 2), 2);
	heap_match_flush(hm, on_delta, &s);
	heap_match_forget_pid(hm, 1);
	assert_int_equal(heap_match_oldest(hm, b, 8), 2);
	assert_int_equal(b[0].pid, 2);
	memset(&s, 0, sizeof(s));
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.calls, 0); /* an exit is not a free */
	heap_match_stats(hm, &st);
	assert_int_equal(st.live_blocks, 2);
	assert_int_equal(st.live_bytes, 4 + 6);
	heap_match_free(hm);
}

/* At the bound new blocks are dropped and counted; their frees are then unmatched. */
static void test_heap_match_bound(void **state)
{
	struct heap_match *hm = new_match(4);
	struct heap_match_stats st;

	for (int i = 0; i < 6; i++)
		heap_match_alloc(hm, 1, 0x100 * (i + 1), 8, SITE_A, i);
	heap_match_release(hm, 1, 0x600);
	heap_match_stats(hm, &st);
	assert_int_equal(st.dropped, 2);
	assert_int_equal(st.live_blocks, 4);
	assert_int_equal(st.unmatched, 1);
	heap_match_free(hm);
}

/* Random allocs, frees and reallocs against a plain list: the hash table's deletions keep
 * every live block findable. */
static void test_heap_match_random(void **state)
{
	enum { N = 3000, OPS = 200000 };
	struct heap_match *hm = new_match(0);
	uint64_t *live = calloc(N, sizeof(*live)); /* size + 1 by slot, 0: free */
	struct heap_match_stats st;
	uint64_t want_bytes = 0, want_blocks = 0, seed = 42;
	struct sums s = { 0 };

	for (int op = 0; op < OPS; op++) {
		uint64_t r, slot, addr, size;

		seed = seed * 6364136223846793005ull + 1442695040888963407ull;
		r = seed >> 33;
		slot = r % N;
		addr = 0x7f0000000000ull + slot * 0x1000 * 17; /* clustered like a heap */
		size = 16 + (r >> 12) % 4096;
		if (!live[slot]) {
			heap_match_alloc(hm, 1, addr, size, SITE_A, op);
			live[slot] = size + 1;
			want_bytes += size;
			want_blocks++;
		} else if ((r >> 20) & 1) {
			heap_match_release(hm, 1, addr);
			want_bytes -= live[slot] - 1;
			want_blocks--;
			live[slot] = 0;
		} else {
			heap_match_realloc(hm, 1, addr, addr, size, SITE_A, op);
			want_bytes += size - (live[slot] - 1);
			live[slot] = size + 1;
		}
	}
	heap_match_stats(hm, &st);
	assert_int_equal(st.live_blocks, want_blocks);
	assert_int_equal(st.live_bytes, want_bytes);
	assert_int_equal(st.unmatched, 0);
	assert_int_equal(st.replaced, 0);
	heap_match_flush(hm, on_delta, &s);
	assert_int_equal(s.bytes[1], (int64_t)want_bytes);
	assert_int_equal(s.count[1], (int64_t)want_blocks);
	free(live);
	heap_match_free(hm);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_match_leak_and_churn),
		cmocka_unit_test(test_heap_match_null_and_unknown_frees),
		cmocka_unit_test(test_heap_match_realloc),
		cmocka_unit_test(test_heap_match_lost_free),
		cmocka_unit_test(test_heap_match_oldest_and_forget),
		cmocka_unit_test(test_heap_match_bound),
		cmocka_unit_test(test_heap_match_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
