// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: 3/4 of this process's CPU time is spent in spin_three() and 1/4 in spin_one().
 * main() alternates them: spin_three() runs three slices of thread CPU time and spin_one() one
 * slice of the same length, so every round is exactly 3:1 whatever the sampling phase.
 *
 * The slice length is drawn at random between 0.5 and 1 ms for each round. A fixed 1 ms slice
 * made a 4 ms round, the length of a 250 Hz scheduler tick: when other processes compete for the
 * CPU, preemption on tick boundaries locks the round's phase to the samples, and one run measured
 * 86 % instead of 75 %.
 *
 * usage: split31 [SECONDS]   (default 10; exits 0)
 */
#include <stdint.h>

#include "workload.h"

/* A few microseconds of pure user-mode work between clock reads (the clock is a syscall). */
static inline void burst(void)
{
	for (volatile unsigned i = 0; i < 10000; i++)
		barrier();
}

__attribute__((noinline)) void spin_three(uint64_t slice_ns)
{
	for (int i = 0; i < 3; i++) {
		uint64_t end = thread_cpu_ns() + slice_ns;

		while (thread_cpu_ns() < end)
			burst();
	}
	barrier();
}

__attribute__((noinline)) void spin_one(uint64_t slice_ns)
{
	uint64_t end = thread_cpu_ns() + slice_ns;

	while (thread_cpu_ns() < end)
		burst();
	barrier();
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull;
	uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: the same sequence every run */

	while (mono_ns() < end) {
		uint64_t slice_ns;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		slice_ns = 500000 + x % 500001;
		spin_three(slice_ns);
		spin_one(slice_ns);
	}
	return 0;
}
