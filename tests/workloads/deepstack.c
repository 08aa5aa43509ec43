// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: stacks deeper than 16 KiB and shallower than 32 KiB, on the main thread and on
 * a second thread, built without frame pointers (only DWARF unwind info walks them). Each
 * thread recurses DEEP_LEVELS times through deep_level(), which keeps 1 KiB of frame of its
 * own, and burns CPU in deep_leaf():
 *   main thread   _start → __libc_start_main → ... → main → deep_main → deep_level ×24 → deep_leaf
 *   other thread  clone3 → start_thread → deep_thread → deep_main → deep_level ×24 → deep_leaf
 * About 25 KiB of stack lies between the leaf and the root: a 16 KiB copy cannot reach it,
 * a 32 KiB one does (CPython 3.11 starting up or importing goes that deep).
 *
 * usage: deepstack [SECONDS]   (default 10; exits 0)
 */
#include <pthread.h>
#include <stdint.h>

#include "workload.h"

#define DEEP_LEVELS 24
#define DEEP_FRAME 1024

static volatile uint64_t sink;

__attribute__((noinline)) void deep_leaf(uint64_t end)
{
	uint64_t x = end | 1;

	while (mono_ns() < end) {
		for (unsigned i = 0; i < 100000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
		}
		sink += x;
	}
	barrier();
}

/* A frame of DEEP_FRAME bytes, used after the call: no tail call, no inlining. */
__attribute__((noinline)) void deep_level(uint64_t end, unsigned left)
{
	volatile uint8_t frame[DEEP_FRAME];

	frame[0] = (uint8_t)left;
	frame[DEEP_FRAME - 1] = (uint8_t)end;
	if (left)
		deep_level(end, left - 1);
	else
		deep_leaf(end);
	sink += frame[0] + frame[DEEP_FRAME - 1];
	barrier();
}

__attribute__((noinline)) void deep_main(uint64_t end)
{
	deep_level(end, DEEP_LEVELS - 1);
	barrier();
}

__attribute__((noinline)) static void *deep_thread(void *arg)
{
	deep_main(*(uint64_t *)arg);
	barrier();
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull;
	pthread_t t;

	if (pthread_create(&t, NULL, deep_thread, &end))
		return 1;
	deep_main(end);
	pthread_join(t, NULL);
	return 0;
}
