// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: three named threads. "worker-hot" spins all the time (~100 % of a CPU),
 * "worker-warm" spins 3 ms out of every 10 ms (~30 %), "worker-idle" only sleeps; main waits.
 * usage: threads_named [SECONDS]   (default 10; exits 0)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "workload.h"

static atomic_bool stop;

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (nanosleep(&ts, &ts) != 0)
		;
}

static inline void burst(void)
{
	for (volatile unsigned i = 0; i < 10000; i++)
		barrier();
}

__attribute__((noinline)) void hot_spin(void)
{
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		burst();
	barrier();
}

__attribute__((noinline)) void warm_spin(uint64_t ns)
{
	uint64_t end = mono_ns() + ns;

	while (mono_ns() < end)
		burst();
	barrier();
}

__attribute__((noinline)) void idle_wait(void)
{
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		sleep_ns(50000000);
	barrier();
}

static void *hot_main(void *arg)
{
	hot_spin();
	return NULL;
}

static void *warm_main(void *arg)
{
	while (!atomic_load_explicit(&stop, memory_order_relaxed)) {
		warm_spin(3000000);
		sleep_ns(7000000);
	}
	return NULL;
}

static void *idle_main(void *arg)
{
	idle_wait();
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} workers[] = {
		{ "worker-hot", hot_main },
		{ "worker-warm", warm_main },
		{ "worker-idle", idle_main },
	};
	uint64_t secs = seconds_arg(argc, argv, 10);
	pthread_t tid[3];
	int e;

	for (int i = 0; i < 3; i++) {
		e = pthread_create(&tid[i], NULL, workers[i].fn, NULL);
		if (e) {
			fprintf(stderr, "threads_named: pthread_create: %s\n", strerror(e));
			return 1;
		}
		pthread_setname_np(tid[i], workers[i].name);
	}
	sleep_ns(secs * 1000000000ull);
	atomic_store(&stop, true);
	for (int i = 0; i < 3; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
