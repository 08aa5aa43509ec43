// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/goread on a memory image laid out as a Go 1.22 program's: allgs, g structs, stacks
 * with frame pointers, an m. The walk gives the return addresses from g.sched to goexit; a
 * goroutine that never ran gets its entry and goexit; a running one its thread; a program that
 * moves a goroutine while it is read (a hook between the reads) sees it dropped and counted, not
 * shown with a wrong stack; a cached stack is not read again; a torn or nonsense g is dropped.
 * Also probes/goprof's bucket walk and pprof's heap scaling on the same kind of image.
 */
#include <errno.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "probes/golayout.h"
#include "probes/golocate.h"
#include "probes/gomem.h"
#include "probes/goprof.h"
#include "probes/goread.h"

#define BASE 0x100000ull  /* the image's address */
#define SIZE 0x40000
#define TEXT_LO 0x400000ull
#define TEXT_HI 0x500000ull
#define GOEXIT 0x401000ull
#define ALLGS (BASE + 0x100)
#define ARRAY (BASE + 0x200)
#define G(i) (BASE + 0x1000 + (i) * 0x400)
#define M0 (BASE + 0x4000)
#define STACK(i) (BASE + 0x10000 + (i) * 0x2000) /* [lo, lo + 0x2000) */

static uint8_t image[SIZE];
static struct golayout L;

static void put64(uint64_t addr, uint64_t v)
{
	memcpy(image + (addr - BASE), &v, 8);
}

static void put32(uint64_t addr, uint32_t v)
{
	memcpy(image + (addr - BASE), &v, 4);
}

/* A g: status, goid, its stack, and the saved sp/pc/bp. */
static void g(int i, uint32_t status, uint64_t goid, uint64_t sp, uint64_t pc, uint64_t bp)
{
	uint64_t a = G(i);

	put64(a + L.off[GOL_G_STACK_LO], STACK(i));
	put64(a + L.off[GOL_G_STACK_HI], STACK(i) + 0x2000);
	put32(a + L.off[GOL_G_ATOMICSTATUS], status);
	put64(a + L.off[GOL_G_GOID], goid);
	put64(a + L.off[GOL_G_SCHED_SP], sp);
	put64(a + L.off[GOL_G_SCHED_PC], pc);
	put64(a + L.off[GOL_G_SCHED_BP], bp);
	put64(a + L.off[GOL_G_GOPC], 0x402345);
	put64(a + L.off[GOL_G_STARTPC], 0x403000);
	image[a - BASE + L.off[GOL_G_WAITREASON]] = 14;
}

/*
 * Three goroutines: 1 parked with frames chanrecv <- worker <- goexit, 2 never ran (pc is its
 * entry, the word at sp is goexit's return address), 3 running on m0 (thread 777).
 */
static void build(void)
{
	uint64_t sp = STACK(0) + 0x1f00, f1 = sp + 0x20, f2 = f1 + 0x40;
	size_t n;

	golayout_from_table("go1.22.12", &L, &(enum golayout_source){ 0 });
	(void)n;
	memset(image, 0, sizeof(image));
	put64(ALLGS, ARRAY);
	put64(ALLGS + 8, 3);
	put64(ALLGS + 16, 4);
	for (int i = 0; i < 3; i++)
		put64(ARRAY + 8 * i, G(i));
	/* frames: [f1] = f2, [f1+8] = ret into worker; [f2] = 0, [f2+8] = ret into goexit */
	put64(f1, f2);
	put64(f1 + 8, 0x402100);
	put64(f2, 0);
	put64(f2 + 8, GOEXIT + 1);
	g(0, GOREAD_WAITING, 1, sp, 0x401800, f1);
	put64(STACK(1) + 0x1ff8, GOEXIT + 1);
	g(1, GOREAD_RUNNABLE, 7, STACK(1) + 0x1ff8, 0x403000, 0);
	g(2, GOREAD_RUNNING, 9, STACK(2) + 0x1f00, 0x401900, 0);
	put64(G(2) + L.off[GOL_G_M], M0);
	put64(M0 + L.off[GOL_M_PROCID], 777);
	put64(M0 + L.off[GOL_M_CURG], G(2));
}

static struct golocate loc;
static struct gomem_region region = { .addr = BASE, .data = image, .len = SIZE };

static void setup_loc(void)
{
	memset(&loc, 0, sizeof(loc));
	loc.var[GOVAR_ALLGS] = ALLGS;
	loc.text_lo = TEXT_LO;
	loc.text_hi = TEXT_HI;
	loc.goexit = GOEXIT;
	loc.goexit_end = GOEXIT + 0x20;
}

static const struct goread_g *find(const struct goread_g *gs, size_t n, uint64_t goid)
{
	for (size_t i = 0; i < n; i++)
		if (gs[i].goid == goid)
			return &gs[i];
	return NULL;
}

static void test_goread_walks(void **state)
{
	const struct goread_g *gs, *x;
	struct goread_stats st;
	struct goread *r;
	struct gomem m;
	size_t n;

	build();
	setup_loc();
	gomem_init_image(&m, &region, 1);
	goread_new(NULL, &r);
	assert_int_equal(goread_goroutines(r, &m, &L, &loc, 1000, &gs, &n, &st), 0);
	assert_int_equal(n, 3);
	assert_int_equal(st.dropped, 0);
	x = find(gs, n, 1);
	assert_int_equal(x->status, GOREAD_WAITING);
	assert_int_equal(x->waitreason, 14);
	assert_int_equal(x->nr_pcs, 3);
	assert_int_equal(x->pcs[0], 0x401800);
	assert_int_equal(x->pcs[1], 0x402100);
	assert_int_equal(x->pcs[2], GOEXIT + 1);
	assert_false(x->flags & GOREAD_TRUNCATED);
	x = find(gs, n, 7);
	assert_int_equal(x->nr_pcs, 2);
	assert_int_equal(x->pcs[0], 0x403000);
	assert_int_equal(x->pcs[1], GOEXIT + 1);
	x = find(gs, n, 9);
	assert_int_equal(x->status, GOREAD_RUNNING);
	assert_int_equal(x->tid, 777);
	assert_true(x->flags & GOREAD_NO_STACK);
	/* again: both parked stacks come from the cache */
	assert_int_equal(goread_goroutines(r, &m, &L, &loc, 2000, &gs, &n, &st), 0);
	assert_int_equal(st.stacks_cached, 2);
	assert_int_equal(st.stacks_read, 0);
	assert_int_equal(find(gs, n, 1)->seen_ns, 1000);
	goread_free(r);
}

/* The program moves goroutine 1 between its stack read and the check: it is dropped. */
static int reads;

static void move_after_stacks(void *ctx)
{
	/* reads: 1 allgs header, 2 the pointers, 3 the gs, 4 the stacks, 5 the gs again */
	if (++reads == 4)
		put64(G(0) + L.off[GOL_G_SCHED_SP], STACK(0) + 0x1e00);
}

static void test_goread_drops_what_moved(void **state)
{
	const struct goread_g *gs;
	struct goread_stats st;
	struct goread *r;
	struct gomem m;
	size_t n;

	build();
	setup_loc();
	gomem_init_image(&m, &region, 1);
	m.after_read = move_after_stacks;
	reads = 0;
	goread_new(&(struct goread_opts){ .no_cache = true }, &r);
	assert_int_equal(goread_goroutines(r, &m, &L, &loc, 1000, &gs, &n, &st), 0);
	assert_int_equal(st.dropped, 1);
	assert_int_equal(n, 2);
	assert_null(find(gs, n, 1));
	goread_free(r);
}

/* Nonsense in a g (a status that does not exist, a stack upside down) drops that g only; a
 * goroutine list that is no list fails as a whole. */
static void test_goread_bad_input(void **state)
{
	const struct goread_g *gs;
	struct goread_stats st;
	struct goread *r;
	struct gomem m;
	size_t n;

	build();
	setup_loc();
	put32(G(1) + L.off[GOL_G_ATOMICSTATUS], 5);
	put64(G(0) + L.off[GOL_G_STACK_HI], STACK(0) - 8);
	gomem_init_image(&m, &region, 1);
	goread_new(NULL, &r);
	assert_int_equal(goread_goroutines(r, &m, &L, &loc, 1000, &gs, &n, &st), 0);
	assert_int_equal(n, 1);
	assert_int_equal(st.dropped, 2); /* both: status 5 is no goroutine's */
	put64(ALLGS + 8, 5);
	put64(ALLGS + 16, 4); /* len > cap */
	assert_int_equal(goread_goroutines(r, &m, &L, &loc, 1000, &gs, &n, &st), -EBADMSG);
	put64(ALLGS, 0x7000000); /* not mapped */
	put64(ALLGS + 8, 3);
	assert_true(goread_goroutines(r, &m, &L, &loc, 1000, &gs, &n, &st) < 0);
	goread_free(r);
}

static int64_t got[4];
static int buckets;

static void on_bucket(void *arg, const uint64_t *pcs, uint32_t n, const int64_t *v)
{
	buckets++;
	for (int k = 0; k < 4; k++)
		got[k] += v[k];
}

/* Two heap buckets linked by allnext: active cycle plus the cycle being flushed. */
static void test_goread_buckets(void **state)
{
	uint64_t b1 = BASE + 0x8000, b2 = BASE + 0x9000, head = BASE + 0x180;
	int32_t h = 0, mr;
	struct gomem m;
	bool bad;

	build();
	setup_loc();
	h = L.off[GOL_B_SIZE];
	put64(head, b1);
	loc.var[GOVAR_MBUCKETS] = head;
	for (int i = 0; i < 2; i++) {
		uint64_t b = i ? b2 : b1;

		put64(b + L.off[GOL_B_ALLNEXT], i ? 0 : b2);
		put64(b + L.off[GOL_B_TYP], 1);
		put64(b + L.off[GOL_B_NSTK], 2);
		put64(b + h, 0x402000 + i);
		put64(b + h + 8, GOEXIT + 1);
		mr = h + 16;
		/* active: 10 allocs of 1 KiB, 4 freed */
		put64(b + mr + L.off[GOL_MR_ACTIVE] + L.off[GOL_MRC_ALLOCS], 10);
		put64(b + mr + L.off[GOL_MR_ACTIVE] + L.off[GOL_MRC_FREES], 4);
		put64(b + mr + L.off[GOL_MR_ACTIVE] + L.off[GOL_MRC_ALLOC_BYTES], 10240);
		put64(b + mr + L.off[GOL_MR_ACTIVE] + L.off[GOL_MRC_FREE_BYTES], 4096);
	}
	gomem_init_image(&m, &region, 1);
	memset(got, 0, sizeof(got));
	buckets = 0;
	assert_int_equal(goprof_read_buckets(&m, &L, &loc, GOHEAP_HEAP, 1, 1.0, on_bucket, NULL,
					     &bad),
			 2);
	assert_false(bad);
	assert_int_equal(got[0], 12);       /* in use: 2 x 6 objects */
	assert_int_equal(got[1], 2 * 6144);
	assert_int_equal(got[2], 20);
	assert_int_equal(got[3], 2 * 10240);
	/* a bucket of another type ends the walk, counted as bad */
	put64(b2 + L.off[GOL_B_TYP], 2);
	buckets = 0;
	assert_int_equal(goprof_read_buckets(&m, &L, &loc, GOHEAP_HEAP, 1, 1.0, on_bucket, NULL,
					     &bad),
			 1);
	assert_true(bad);
}

static uint64_t first_pcs[2][4];

static void on_mutex_bucket(void *arg, const uint64_t *pcs, uint32_t n, const int64_t *v)
{
	if (buckets < 2)
		memcpy(first_pcs[buckets], pcs, (n < 4 ? n : 4) * 8);
	on_bucket(arg, pcs, n, v);
}

/* Go 1.23's mutex profile: the runtime's own lock contention (a stack that starts with the
 * logicalStackSentinel ^0, then runtime._LostContendedRuntimeLock) is prepended once a runtime
 * lock is contended while the profile is on, as on a busy host; the walk reads it without the
 * sentinel and goes on to sync.Mutex's bucket (it stopped there, and gosvc's mutex profile came
 * back empty under load). */
static void test_goread_mutex_sentinel(void **state)
{
	uint64_t b1 = BASE + 0x8000, b2 = BASE + 0x9000, head = BASE + 0x180;
	int32_t h;
	struct gomem m;
	bool bad;

	build();
	setup_loc();
	h = L.off[GOL_B_SIZE];
	put64(head, b1);
	loc.var[GOVAR_XBUCKETS] = head;
	/* b1: {^0, _LostContendedRuntimeLock+1}, 2 contentions */
	put64(b1 + L.off[GOL_B_ALLNEXT], b2);
	put64(b1 + L.off[GOL_B_TYP], 3);
	put64(b1 + L.off[GOL_B_NSTK], 2);
	put64(b1 + h, UINT64_MAX);
	put64(b1 + h + 8, 0x402001);
	put64(b1 + h + 16 + L.off[GOL_BR_COUNT], 2);
	put64(b1 + h + 16 + L.off[GOL_BR_CYCLES], 100);
	/* b2: a sync.Mutex unlock's stack, 394 contentions */
	put64(b2 + L.off[GOL_B_ALLNEXT], 0);
	put64(b2 + L.off[GOL_B_TYP], 3);
	put64(b2 + L.off[GOL_B_NSTK], 2);
	put64(b2 + h, 0x402100);
	put64(b2 + h + 8, GOEXIT + 1);
	put64(b2 + h + 16 + L.off[GOL_BR_COUNT], 394);
	put64(b2 + h + 16 + L.off[GOL_BR_CYCLES], 7490);
	L.flags &= ~GOL_BLOCK_COUNT_FLOAT;
	gomem_init_image(&m, &region, 1);
	memset(got, 0, sizeof(got));
	buckets = 0;
	assert_int_equal(goprof_read_buckets(&m, &L, &loc, GOHEAP_MUTEX, 1, 1.0, on_mutex_bucket,
					     NULL, &bad),
			 2);
	assert_false(bad);
	assert_int_equal(buckets, 2);
	assert_int_equal(got[0], 396);
	assert_int_equal(got[1], 7590);
	assert_int_equal(first_pcs[0][0], 0x402001); /* the sentinel is not a frame */
	assert_int_equal(first_pcs[1][0], 0x402100);
	/* a stack of the sentinel alone is no stack */
	put64(b1 + L.off[GOL_B_NSTK], 1);
	buckets = 0;
	assert_int_equal(goprof_read_buckets(&m, &L, &loc, GOHEAP_MUTEX, 1, 1.0, on_mutex_bucket,
					     NULL, &bad),
			 0);
	assert_true(bad);
}

static void test_goread_heap_scaling(void **state)
{
	int64_t c, b;

	/* pprof: scale = 1 / (1 - exp(-avg / rate)) */
	goprof_scale_heap(10, 10 * 512 * 1024, 512 * 1024, &c, &b);
	assert_int_equal(c, (int64_t)(10 / (1 - exp(-1.0))));
	assert_int_equal(b, (int64_t)(10 * 512 * 1024 / (1 - exp(-1.0))));
	goprof_scale_heap(3, 300, 1, &c, &b);
	assert_int_equal(c, 3);
	assert_int_equal(b, 300);
	goprof_scale_heap(0, 0, 512, &c, &b);
	assert_int_equal(c, 0);
	goprof_scale_heap(-5, 100, 512, &c, &b);
	assert_int_equal(b, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goread_walks),
		cmocka_unit_test(test_goread_drops_what_moved),
		cmocka_unit_test(test_goread_bad_input),
		cmocka_unit_test(test_goread_buckets),
		cmocka_unit_test(test_goread_mutex_sentinel),
		cmocka_unit_test(test_goread_heap_scaling),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
