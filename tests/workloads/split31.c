// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: 3/4 of this process's CPU time is spent in spin_three() and 1/4 in spin_one().
 * main() alternates 3 ms and 1 ms slices of thread CPU time, so any sampling phase sees 75/25.
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

__attribute__((noinline)) void spin_three(void)
{
	for (int i = 0; i < 3; i++) {
		uint64_t end = thread_cpu_ns() + 1000000;

		while (thread_cpu_ns() < end)
			burst();
	}
	barrier();
}

__attribute__((noinline)) void spin_one(void)
{
	uint64_t end = thread_cpu_ns() + 1000000;

	while (thread_cpu_ns() < end)
		burst();
	barrier();
}

int main(int argc, char **argv)
{
	uint64_t end = mono_ns() + seconds_arg(argc, argv, 10) * 1000000000ull;

	while (mono_ns() < end) {
		spin_three();
		spin_one();
	}
	return 0;
}
