// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory bench's host: N threads asleep (each in its own nanosleep loop, so every tick has
 * state time and an open block for each) and M threads busy, until killed.
 *
 *   threadstorm SLEEPING BUSY
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

static void *sleeper(void *arg)
{
	struct timespec ts = { 1, 0 };

	(void)arg;
	for (;;)
		nanosleep(&ts, NULL);
	return NULL;
}

static volatile unsigned long sink;

static void *spinner(void *arg)
{
	unsigned long n = (unsigned long)arg;

	for (;;) {
		for (unsigned long i = 0; i < 200000; i++)
			sink += i * n;
		/* ~0.2 ms of work, then 10 ms off: 100 of them keep about one CPU busy, and a
		 * 2-CPU host still answers */
		usleep(10000);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	long sleeping = argc > 1 ? strtol(argv[1], NULL, 10) : 3000;
	long busy = argc > 2 ? strtol(argv[2], NULL, 10) : 100;
	pthread_attr_t a;

	pthread_attr_init(&a);
	pthread_attr_setstacksize(&a, 64 << 10);
	for (long i = 0; i < sleeping + busy; i++) {
		pthread_t t;

		if (pthread_create(&t, &a, i < sleeping ? sleeper : spinner, (void *)i)) {
			perror("pthread_create");
			return 1;
		}
	}
	pause();
	return 0;
}
