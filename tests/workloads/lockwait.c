// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answer: threads that spend their time inside libc, built with -O2 -fomit-frame-pointer
 * (and Debian's libc has no frame pointers either), where a frame-pointer walk loses the
 * application's frames:
 *   "locker" x3   locker_main → locker_loop → take_turn → pthread_mutex_lock (contended: the
 *                 waiters sleep in futex, the holder spins in hold_lock)
 *   "reader"      reader_main → reader_loop → read_one → read(), fed one byte at a time by
 *   "writer"      writer_main → writer_loop → write_one → write()
 * main only waits.
 *
 * usage: lockwait [SECONDS]   (default 10; exits 0)
 */
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static atomic_bool stop;
static volatile uint64_t shared;
static int pipefd[2];

__attribute__((noinline)) void hold_lock(void)
{
	for (volatile unsigned i = 0; i < 2000; i++)
		shared++;
	barrier();
}

__attribute__((noinline)) void take_turn(void)
{
	volatile int frame[4];

	frame[0] = pthread_mutex_lock(&lock);
	hold_lock();
	pthread_mutex_unlock(&lock);
	shared += (uint64_t)frame[0];
	barrier();
}

__attribute__((noinline)) void locker_loop(void)
{
	while (!atomic_load_explicit(&stop, memory_order_relaxed))
		take_turn();
	barrier();
}

static void *locker_main(void *arg)
{
	locker_loop();
	return NULL;
}

__attribute__((noinline)) ssize_t read_one(void)
{
	char c[4];

	return read(pipefd[0], c, 1);
}

__attribute__((noinline)) void reader_loop(void)
{
	while (read_one() == 1)
		;
	barrier();
}

static void *reader_main(void *arg)
{
	reader_loop();
	return NULL;
}

__attribute__((noinline)) ssize_t write_one(void)
{
	volatile ssize_t n = write(pipefd[1], "x", 1); /* not a tail call: write_one stays */

	return n;
}

__attribute__((noinline)) void writer_loop(void)
{
	while (!atomic_load_explicit(&stop, memory_order_relaxed) && write_one() == 1)
		;
	barrier();
}

static void *writer_main(void *arg)
{
	writer_loop();
	close(pipefd[1]);
	return NULL;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} workers[] = {
		{ "locker", locker_main }, { "locker", locker_main }, { "locker", locker_main },
		{ "reader", reader_main }, { "writer", writer_main },
	};
	uint64_t secs = seconds_arg(argc, argv, 10);
	struct timespec ts = { .tv_sec = (time_t)secs };
	pthread_t tid[5];
	int e;

	if (pipe(pipefd)) {
		perror("lockwait: pipe");
		return 1;
	}
	for (int i = 0; i < 5; i++) {
		e = pthread_create(&tid[i], NULL, workers[i].fn, NULL);
		if (e) {
			fprintf(stderr, "lockwait: pthread_create: %s\n", strerror(e));
			return 1;
		}
		pthread_setname_np(tid[i], workers[i].name);
	}
	while (nanosleep(&ts, &ts))
		;
	atomic_store(&stop, true);
	for (int i = 0; i < 5; i++)
		pthread_join(tid[i], NULL);
	return 0;
}
