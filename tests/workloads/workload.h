// SPDX-License-Identifier: GPL-2.0-only
/* Helpers shared by the workloads: clocks, a compiler barrier, the SECONDS argument. */
#ifndef TESTS_WORKLOADS_WORKLOAD_H
#define TESTS_WORKLOADS_WORKLOAD_H

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

/* Keeps the compiler from folding loops away. */
#define barrier() __asm__ __volatile__("" ::: "memory")

static inline uint64_t clock_ns(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static inline uint64_t thread_cpu_ns(void)
{
	return clock_ns(CLOCK_THREAD_CPUTIME_ID);
}

static inline uint64_t mono_ns(void)
{
	return clock_ns(CLOCK_MONOTONIC);
}

/* argv[1] as whole seconds (1..86400), else def; exits 2 on a malformed value. */
static inline uint64_t seconds_arg(int argc, char **argv, uint64_t def)
{
	unsigned long long v;
	char *end;

	if (argc < 2)
		return def;
	errno = 0;
	v = strtoull(argv[1], &end, 10);
	if (errno || end == argv[1] || *end || v == 0 || v > 86400) {
		fprintf(stderr, "%s: bad SECONDS '%s' (1..86400)\n", argv[0], argv[1]);
		exit(2);
	}
	return v;
}

#endif
