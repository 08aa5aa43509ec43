// SPDX-License-Identifier: GPL-2.0-only
/*
 * Rust-like C: built with -fexceptions, every frame on the hot path has a variable with a
 * cleanup attribute (Rust's Drop), so each gets a landing pad and an FDE whose "zPLR" CIE reads
 * the personality routine (__gcc_personality_v0) through an indirect pointer in writable data.
 * The cleanups really run: the worker threads are cancelled and restarted every second, and
 * cancellation unwinds their stacks through those landing pads (a forced unwind, as a Rust
 * panic would).
 *
 * Two workers at a time run rounds of pure user-mode work: burn_three() three units and
 * burn_one() one unit, no system calls inside a round.
 *
 * usage: landing_c [SECONDS]   (default 10; exits 0)
 */
#include <pthread.h>
#include <stdint.h>

#include "workload.h"

#define UNIT 200000ull
#define NR_WORKERS 2

static volatile uint64_t sink;

static void drop(uint64_t *v)
{
	sink = sink + *v;
}

#define GUARD(name, v) uint64_t name __attribute__((cleanup(drop))) = (v)

__attribute__((always_inline)) static inline uint64_t mix(uint64_t n, uint64_t seed)
{
	uint64_t x = seed | 1;

	for (uint64_t i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		barrier();
	}
	return x;
}

__attribute__((noinline)) void burn_three(uint64_t i)
{
	GUARD(g, i);

	sink = sink + mix(3 * UNIT, g);
}

__attribute__((noinline)) void burn_one(uint64_t i)
{
	GUARD(g, i + 1);

	sink = sink + mix(UNIT, g);
}

__attribute__((noinline)) void round_(uint64_t i)
{
	GUARD(g, i);

	burn_three(g);
	burn_one(g);
}

__attribute__((noinline)) static void *worker(void *arg)
{
	GUARD(g, (uintptr_t)arg);

	for (uint64_t i = g;; i++) {
		round_(i);
		pthread_testcancel();
	}
	return NULL;
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull;
	pthread_t t[NR_WORKERS];
	struct timespec pause = { 1, 0 };

	while (mono_ns() < end) {
		for (uintptr_t i = 0; i < NR_WORKERS; i++)
			if (pthread_create(&t[i], NULL, worker, (void *)i))
				return 1;
		nanosleep(&pause, NULL);
		for (int i = 0; i < NR_WORKERS; i++) {
			pthread_cancel(t[i]);
			pthread_join(t[i], NULL);
		}
	}
	return 0;
}
