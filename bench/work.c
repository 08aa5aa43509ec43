// SPDX-License-Identifier: GPL-2.0-only
/*
 * A fixed amount of CPU-bound work: argv[1] million iterations of a hash mix over a small table
 * that stays in cache. Prints the seconds of wall and CPU time it took, so overhead shows up as
 * time, whatever samples it.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static double now(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
	unsigned long millions = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000;
	static uint64_t table[4096];
	double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
	uint64_t h = 1;

	for (unsigned long i = 0; i < millions * 1000000ul; i++) {
		h = (h ^ table[h & 4095]) * 0x9e3779b97f4a7c15ull + i;
		table[i & 4095] = h >> 7;
	}
	printf("%.4f %.4f %lu\n", now(CLOCK_MONOTONIC) - w0, now(CLOCK_PROCESS_CPUTIME_ID) - c0,
	       (unsigned long)(h & 1));
	return 0;
}
