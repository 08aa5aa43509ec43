// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: 3/4 of this process's CPU time is spent in spin_three() and 1/4 in spin_one().
 * main() alternates them: spin_three() runs three times as many bursts of the same loop as
 * spin_one(), so every round is 3:1 in CPU time, whatever the sampling phase.
 *
 * No system call inside the work: the split is counted in loop iterations, not measured with a
 * clock. (It used to read the thread's CPU clock between short bursts: a real system call, which
 * on a host where system calls are slow put 27 % of the samples inside the kernel and libc,
 * where a frame-pointer walk loses the caller — neither spinner.) The only clock read is the
 * monotonic clock once a round (0.5-1 ms of work), to stop after SECONDS.
 *
 * The round's length is drawn at random for each round (between 1/2 and 1 of the longest). A
 * fixed length made a round as long as the scheduler's 4 ms tick: when other processes compete
 * for the CPU, preemption on tick boundaries locked the round's phase to the samples, and one
 * run measured 86 % instead of 75 %.
 *
 * usage: split31 [SECONDS]   (default 10; exits 0)
 */
#include <stdint.h>

#include "workload.h"

#define BURSTS 200 /* a round of spin_one() is 100-200 bursts of ~1 us: a whole round 0.5-1 ms */

/* About a microsecond of pure user-mode work. */
static inline void burst(void)
{
	for (volatile unsigned i = 0; i < 4000; i++)
		barrier();
}

__attribute__((noinline)) void spin_three(unsigned n)
{
	for (unsigned i = 0; i < 3 * n; i++)
		burst();
	barrier();
}

__attribute__((noinline)) void spin_one(unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		burst();
	barrier();
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull;
	uint64_t x = 0x9e3779b97f4a7c15ull; /* xorshift64: the same sequence every run */

	while (mono_ns() < end) {
		unsigned n;

		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		n = BURSTS / 2 + (unsigned)(x % (BURSTS / 2 + 1));
		spin_three(n);
		spin_one(n);
	}
	return 0;
}
