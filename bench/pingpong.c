// SPDX-License-Identifier: GPL-2.0-only
/*
 * A context-switch-heavy load: two threads pass a byte back and forth over two pipes, both
 * pinned to one CPU, so every hop is a context switch. Each hop first does ITERS iterations of
 * a loop, which sets the switch rate: 0 is flat out. `pingpong --calibrate NS` prints the ITERS
 * that take NS here (measure once, then pass the same ITERS to every run being compared).
 * Prints "HOPS_PER_S HOPS SECONDS CPU_NS_PER_HOP": the CPU time both threads used per
 * hop (user + system) is what a probe on the switch adds to, and unlike hops/s it does not
 * depend on how much of the CPU other programs take.
 *
 * usage: pingpong SECONDS [ITERS] [CPU]
 *        pingpong --calibrate NS
 */
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/resource.h>

static int ab[2], ba[2];
static volatile int stop;
static uint64_t iters_per_hop;
static int cpu;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static void work(uint64_t n)
{
	for (volatile uint64_t i = 0; i < n; i++)
		;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + ru.ru_stime.tv_sec +
	       ru.ru_stime.tv_usec / 1e6;
}

static void pin(void)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	sched_setaffinity(0, sizeof(set), &set);
}

static void *pong(void *arg)
{
	char c;

	pin();
	while (read(ab[0], &c, 1) == 1 && !stop) {
		work(iters_per_hop);
		if (write(ba[1], &c, 1) != 1)
			break;
	}
	return NULL;
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 5;
	uint64_t hops = 0, t0, t1;
	pthread_t t;
	char c = 'x';
	double c0;

	if (argc > 2 && !strcmp(argv[1], "--calibrate")) {
		uint64_t best = UINT64_MAX;

		/* the fastest of several: other programs only ever make it slower */
		for (int i = 0; i < 20; i++) {
			t0 = now_ns();
			work(10000000);
			t1 = now_ns();
			if (t1 - t0 < best)
				best = t1 - t0;
		}
		printf("%llu\n",
		       (unsigned long long)(strtoull(argv[2], NULL, 10) * 10000000ull / best));
		return 0;
	}
	iters_per_hop = argc > 2 ? strtoull(argv[2], NULL, 10) : 0;
	cpu = argc > 3 ? atoi(argv[3]) : 0;
	if (secs <= 0 || pipe(ab) || pipe(ba))
		return 2;
	pin();
	pthread_create(&t, NULL, pong, NULL);
	c0 = cpu_s();
	t0 = now_ns();
	while ((t1 = now_ns()) - t0 < (uint64_t)(secs * 1e9)) {
		work(iters_per_hop);
		if (write(ab[1], &c, 1) != 1 || read(ba[0], &c, 1) != 1)
			return 1;
		hops += 2;
	}
	stop = 1;
	if (write(ab[1], &c, 1) != 1)
		return 1;
	pthread_join(t, NULL);
	printf("%.0f %llu %.3f %.0f\n", hops / ((t1 - t0) / 1e9), (unsigned long long)hops,
	       (t1 - t0) / 1e9, (cpu_s() - c0) * 1e9 / hops);
	return 0;
}
