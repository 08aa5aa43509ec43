// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answers for where a thread's time goes (the wall metric).
 *
 * usage: wallsplit [SECONDS] [DIR] [WORKERS] [rt|-] [PHASES]   (default 10 . 2; exits 0, 1 when
 *                                                    it cannot make a file in DIR)
 *
 * Time runs in cycles of 200 ms, on absolute deadlines (so a late phase never shifts the next
 * cycle). In each cycle every "worker-N" thread
 *   0-50 ms    spins in burn()                                   → running (or runnable)
 *   50-100     waits for a mutex in wait_turn() that "holder" took at 10 ms and keeps until
 *              100 ms                                            → lock
 *   100-150    writes 4 KiB to a file in DIR and waits for it to reach the disk (fdatasync), in
 *              write_through(), until 150 ms                     → io (and running)
 *   150-200    clock_nanosleep() to the next cycle in nap()     → sleep
 * so each worker's time is a quarter each: CPU, lock, file I/O, sleep. Odd workers run 100 ms
 * later than even ones (so at most half of them spin at once), and the holder holds the mutex
 * for both: 10-100 and 110-200 ms. The holder sleeps (holding or not); main sleeps and joins
 * them at the end.
 *
 * A thread that waits for a CPU is in no phase: on a machine busy with other work, a worker woken
 * at 100 ms may get a CPU only at 110 and do I/O for 40 ms. With "rt" the threads run at
 * SCHED_FIFO priority 10, the holder at 20 (root or CAP_SYS_NICE; without it they run as usual
 * and say so), so that other load cannot move time between the phases.
 *
 * The I/O phase is not all waiting: each write and fdatasync also takes CPU (here, at SCHED_FIFO,
 * ~85 us a call, a third of it on the CPU and the waits far shorter than a millisecond; at normal
 * priority 3-5 ms a call and 2 % CPU on a quiet host — and mostly waiting for a CPU on a busy
 * one). So the quarters are phases — the time under burn(), wait_turn(), write_through() and
 * nap() — not states; O_DIRECT reads and writes of 64 KiB-1 MiB were 16-30 % CPU too (the virtio
 * doorbell is a VM exit).
 *
 * A quarter each is the plan; a disk shared with other work can break it: an fdatasync that
 * takes 300 ms runs write_through() past its deadline and into the next cycle, whose burn()
 * and nap() then shrink. So each worker also measures, on its own clock, the time it spent in
 * each of the four functions (its first burn() starts when the thread does, before the first
 * cycle), and with PHASES writes them there at exit, one line a worker:
 *     worker-N BURN_NS WAIT_TURN_NS WRITE_THROUGH_NS NAP_NS
 * (tests/test_wall_cli.c judges flametop's shares against these when the plan did not hold).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define MS 1000000ull
#define CYCLE (200 * MS)
#define BLOCK 4096
#define BLOCKS 16
#define MAX_WORKERS 8

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static uint64_t start_ns, end_ns;
static int fd = -1;
static bool rt;

/* The calling thread at SCHED_FIFO prio, or back to SCHED_OTHER (prio 0); false if refused. */
static bool set_rt(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	return !sched_setscheduler(0, prio ? SCHED_FIFO : SCHED_OTHER, &sp);
}

static void sleep_until(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			       .tv_nsec = (long)(ns % 1000000000ull) };

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

__attribute__((noinline)) void burn(uint64_t until)
{
	while (mono_ns() < until)
		for (volatile unsigned i = 0; i < 2000; i++)
			barrier();
}

__attribute__((noinline)) void wait_turn(void)
{
	pthread_mutex_lock(&lock);
	barrier();
	pthread_mutex_unlock(&lock);
}

__attribute__((noinline)) void write_through(uint64_t until, const void *buf, uint64_t *seed)
{
	while (mono_ns() < until) {
		*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
		if (pwrite(fd, buf, BLOCK, (off_t)((*seed >> 20) % BLOCKS * BLOCK)) == BLOCK)
			fdatasync(fd);
	}
}

__attribute__((noinline)) void nap(uint64_t until)
{
	sleep_until(until);
}

/* ns each worker spent in burn, wait_turn, write_through, nap, by its own clock */
static uint64_t spent[MAX_WORKERS][4];

static void *worker_main(void *arg)
{
	uint64_t seed = (uint64_t)(uintptr_t)arg * 7919 + 1;
	uint64_t first = start_ns + (uintptr_t)arg % 2 * (CYCLE / 2);
	uint64_t *sp = spent[(uintptr_t)arg], t0, t1, t2, t3, t4;
	char buf[BLOCK];

	memset(buf, 0xa5, sizeof(buf));
	for (uint64_t t = first; t < end_ns; t += CYCLE) {
		t0 = mono_ns();
		burn(t + 50 * MS);
		t1 = mono_ns();
		wait_turn();
		t2 = mono_ns();
		write_through(t + 150 * MS, buf, &seed);
		t3 = mono_ns();
		nap(t + CYCLE);
		t4 = mono_ns();
		sp[0] += t1 - t0;
		sp[1] += t2 - t1;
		sp[2] += t3 - t2;
		sp[3] += t4 - t3;
	}
	return NULL;
}

static void *holder_main(void *arg)
{
	if (rt)
		set_rt(20); /* above the workers: it must take the mutex while they spin */
	for (uint64_t t = start_ns; t < end_ns + CYCLE; t += CYCLE / 2) {
		sleep_until(t + 10 * MS);
		pthread_mutex_lock(&lock);
		sleep_until(t + 100 * MS);
		pthread_mutex_unlock(&lock);
	}
	return NULL;
}

/* A file in dir, unlinked (open until exit). */
static int make_file(const char *dir)
{
	char path[4096];
	int f;

	snprintf(path, sizeof(path), "%s/wallsplit-XXXXXX", dir);
	f = mkstemp(path);
	if (f >= 0)
		unlink(path);
	return f;
}

int main(int argc, char **argv)
{
	uint64_t secs = seconds_arg(argc > 2 ? 2 : argc, argv, 10);
	const char *dir = argc > 2 ? argv[2] : ".";
	long workers = argc > 3 ? strtol(argv[3], NULL, 10) : 2;
	pthread_t t[MAX_WORKERS + 1];

	if (workers < 1 || workers > MAX_WORKERS) {
		fprintf(stderr, "wallsplit: WORKERS is 1..%d\n", MAX_WORKERS);
		return 2;
	}
	if (argc > 4 && !strcmp(argv[4], "rt")) {
		rt = set_rt(10); /* threads inherit it */
		if (!rt)
			fprintf(stderr, "wallsplit: no SCHED_FIFO (%s): phases may shift under load\n",
				strerror(errno));
	}
	fd = make_file(dir);
	if (fd < 0) {
		fprintf(stderr, "wallsplit: cannot make a file in %s: %s\n", dir,
			strerror(errno));
		return 1;
	}
	/* whole cycles, starting on the next 200 ms of the clock */
	start_ns = (mono_ns() / CYCLE + 1) * CYCLE;
	end_ns = start_ns + secs * 1000000000ull;
	for (long i = 0; i <= workers; i++) {
		char name[16];

		if (pthread_create(&t[i], NULL, i ? worker_main : holder_main, (void *)(i - 1))) {
			fprintf(stderr, "wallsplit: cannot create a thread\n");
			return 1;
		}
		if (i)
			snprintf(name, sizeof(name), "worker-%ld", i - 1);
		else
			snprintf(name, sizeof(name), "holder");
		pthread_setname_np(t[i], name);
	}
	printf("ready\n");
	fflush(stdout);
	sleep_until(end_ns + CYCLE);
	for (long i = 0; i <= workers; i++)
		pthread_join(t[i], NULL);
	close(fd);
	if (argc > 5) {
		FILE *f = fopen(argv[5], "w");

		if (!f) {
			fprintf(stderr, "wallsplit: cannot write %s: %s\n", argv[5],
				strerror(errno));
			return 1;
		}
		for (long i = 0; i < workers; i++)
			fprintf(f, "worker-%ld %" PRIu64 " %" PRIu64 " %" PRIu64 " %" PRIu64 "\n", i,
				spent[i][0], spent[i][1], spent[i][2], spent[i][3]);
		if (fclose(f)) {
			fprintf(stderr, "wallsplit: cannot write %s\n", argv[5]);
			return 1;
		}
	}
	return 0;
}
