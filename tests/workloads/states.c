// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answers for thread states (probes/sched).
 *
 * usage: states [SECONDS] [mix|spin4|churn] [DIR]   (default 10 mix .; exits 0)
 *
 * mix: named threads, each spending its time one known way:
 *   "spinner"  spins                                          → running
 *   "sleeper"  nanosleep(50 ms) in a loop                     → sleep
 *   "holder"   holds a mutex 9 ms of every 10 ms, asleep      → sleep (and a little running)
 *   "waiter"   locks that mutex in wait_for_lock() in a loop  → lock (~90 %)
 *   "reader"   O_DIRECT 256 KiB preads at random offsets of a 256 MiB file in DIR that is not
 *              in the page cache (written with O_DIRECT, then POSIX_FADV_DONTNEED)  → io
 *   "poller"   poll() on a pipe nobody writes, 100 ms timeout  → poll
 *   main sleeps.
 * spin4: four threads "spin-0".."spin-3" spin: on a 2-CPU machine each waits ~50 % for a CPU.
 * churn: creates and ends 1,000 threads ("churn") per second, each living ~0.2 ms.
 * pool: a lock and a pool next to each other, both blocked in futex:
 *   "locker-0", "locker-1"  take one mutex in take_lock() and hold it 5 ms (asleep): each waits
 *                           for the other about half the time            → lock (~50 %)
 *   "idle-0".."idle-3"      a pool with no work, in pthread_cond_wait() in wait_for_work();
 *                           main broadcasts (nothing to do) every 300 ms  → wait (~100 %)
 *   "semwait"               sem_wait() on a semaphore main posts every 300 ms → wait
 * parked: blocked from the start to the end (before a probe attaches, so it sees no block
 *   begin): "parked-wait" in pthread_cond_wait() (wait), "parked-lock" on a mutex main
 *   holds (lock).
 * nap: "napper" reads a byte from stdin, then sleeps in nap_here() until the end: one long
 *   block at a new place, begun when the test says (after its probe attached).
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <semaphore.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "workload.h"

#define FILE_SIZE (256ull << 20)
#define BLOCK (256 << 10) /* per read: long enough a wait that I/O dominates even on a VM */

static atomic_bool stop;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static int reader_fd = -1;

static bool stopping(void)
{
	return atomic_load_explicit(&stop, memory_order_relaxed);
}

static void sleep_ns(uint64_t ns)
{
	struct timespec ts = { .tv_sec = (time_t)(ns / 1000000000ull),
			      .tv_nsec = (long)(ns % 1000000000ull)};

	while (nanosleep(&ts, &ts) != 0)
		;
}

__attribute__((noinline)) void spin(void)
{
	while (!stopping())
		for (volatile unsigned i = 0; i < 10000; i++)
			barrier();
}

static void *spinner_main(void *arg)
{
	spin();
	return NULL;
}

static void *sleeper_main(void *arg)
{
	while (!stopping())
		sleep_ns(50000000);
	return NULL;
}

static void *holder_main(void *arg)
{
	while (!stopping()) {
		pthread_mutex_lock(&lock);
		sleep_ns(9000000);
		pthread_mutex_unlock(&lock);
		sleep_ns(1000000);
	}
	return NULL;
}

/* The function that calls pthread_mutex_lock: what the block hot spot must name. */
__attribute__((noinline)) void wait_for_lock(void)
{
	pthread_mutex_lock(&lock);
	barrier();
	pthread_mutex_unlock(&lock);
}

static void *waiter_main(void *arg)
{
	while (!stopping()) {
		wait_for_lock();
		/* let the holder have it back: the waiter should wait, not win every race */
		sleep_ns(100000);
	}
	return NULL;
}

__attribute__((noinline)) void read_random(int fd, void *buf, uint64_t *seed)
{
	uint64_t off;

	*seed = *seed * 6364136223846793005ull + 1442695040888963407ull;
	off = (*seed >> 16) % (FILE_SIZE / BLOCK) * BLOCK;
	if (pread(fd, buf, BLOCK, (off_t)off) != BLOCK)
		barrier();
}

static void *reader_main(void *arg)
{
	uint64_t seed = (uint64_t)getpid();
	void *buf;

	if (posix_memalign(&buf, BLOCK, BLOCK))
		return NULL;
	while (!stopping())
		read_random(reader_fd, buf, &seed);
	free(buf);
	return NULL;
}

static void *poller_main(void *arg)
{
	int fds[2];
	struct pollfd pfd;

	if (pipe(fds))
		return NULL;
	pfd.fd = fds[0];
	pfd.events = POLLIN;
	while (!stopping())
		poll(&pfd, 1, 100);
	close(fds[0]);
	close(fds[1]);
	return NULL;
}

/* A file that is on disk but not in the page cache: written with O_DIRECT, then dropped. */
static pthread_mutex_t pool_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_mutex_t queue_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t queue_cond = PTHREAD_COND_INITIALIZER;
static sem_t sem;

/* The function that takes the contended lock: its block is a lock. */
__attribute__((noinline)) static void take_lock(void)
{
	pthread_mutex_lock(&pool_lock);
	sleep_ns(5000000);
	pthread_mutex_unlock(&pool_lock);
}

static void *locker_main(void *arg)
{
	while (!stopping())
		take_lock();
	return NULL;
}

/* A worker with no work waiting for some: its block is a wait. */
__attribute__((noinline)) static void wait_for_work(void)
{
	pthread_mutex_lock(&queue_lock);
	if (!stopping())
		pthread_cond_wait(&queue_cond, &queue_lock);
	pthread_mutex_unlock(&queue_lock);
}

static void *idle_main(void *arg)
{
	while (!stopping())
		wait_for_work();
	return NULL;
}

static void *semwait_main(void *arg)
{
	while (!stopping())
		while (sem_wait(&sem) && errno == EINTR)
			;
	return NULL;
}

/* The function that calls nanosleep (in libc, without frame pointers): what the block's stack
 * must name. */
__attribute__((noinline)) void nap_here(void)
{
	while (!stopping())
		sleep_ns(100000000000ull);
	barrier();
}

static void *napper_main(void *arg)
{
	char c;

	if (read(0, &c, 1) == 1)
		nap_here();
	return NULL;
}

static pthread_mutex_t held = PTHREAD_MUTEX_INITIALIZER;

static void *parked_wait_main(void *arg)
{
	wait_for_work(); /* until main broadcasts at the end */
	return NULL;
}

static void *parked_lock_main(void *arg)
{
	pthread_mutex_lock(&held); /* until main lets go at the end */
	pthread_mutex_unlock(&held);
	return NULL;
}

/* Wakes the pool with nothing to do every 300 ms until secs are up. */
static void pool_run(uint64_t secs)
{
	uint64_t end = mono_ns() + secs * 1000000000ull;

	while (mono_ns() < end) {
		sleep_ns(300000000);
		pthread_mutex_lock(&queue_lock);
		pthread_cond_broadcast(&queue_cond);
		pthread_mutex_unlock(&queue_lock);
		sem_post(&sem);
	}
	atomic_store(&stop, true);
	pthread_mutex_lock(&queue_lock);
	pthread_cond_broadcast(&queue_cond);
	pthread_mutex_unlock(&queue_lock);
	sem_post(&sem);
}

static int make_file(const char *dir, char *path, size_t len)
{
	void *buf;
	int fd;

	snprintf(path, len, "%s/states-io-XXXXXX", dir);
	fd = mkstemp(path);
	if (fd < 0)
		return -1;
	close(fd);
	fd = open(path, O_RDWR | O_DIRECT);
	if (fd < 0 || posix_memalign(&buf, 1 << 20, 1 << 20))
		return -1;
	memset(buf, 0x5a, 1 << 20);
	for (uint64_t off = 0; off < FILE_SIZE; off += 1 << 20)
		if (pwrite(fd, buf, 1 << 20, (off_t)off) != 1 << 20)
			return -1;
	free(buf);
	fdatasync(fd);
	posix_fadvise(fd, 0, 0, POSIX_FADV_DONTNEED);
	return fd;
}

static int start(pthread_t *t, void *(*fn)(void *), const char *name)
{
	int e = pthread_create(t, NULL, fn, NULL);

	if (e) {
		fprintf(stderr, "states: pthread_create: %s\n", strerror(e));
		return -1;
	}
	pthread_setname_np(*t, name);
	return 0;
}

static void *churn_main(void *arg)
{
	sleep_ns(200000);
	return NULL;
}

/* 1,000 threads a second, 10 every 10 ms. */
static int churn(uint64_t secs)
{
	uint64_t end = mono_ns() + secs * 1000000000ull, next = mono_ns();

	while (mono_ns() < end) {
		pthread_t t[10];

		for (int i = 0; i < 10; i++)
			if (start(&t[i], churn_main, "churn"))
				return 1;
		for (int i = 0; i < 10; i++)
			pthread_join(t[i], NULL);
		next += 10000000;
		if (mono_ns() < next)
			sleep_ns(next - mono_ns());
	}
	return 0;
}

int main(int argc, char **argv)
{
	static const struct {
		const char *name;
		void *(*fn)(void *);
	} mix[] = {
	    {"spinner", spinner_main}, {"sleeper", sleeper_main}, {"holder", holder_main},
	    {"waiter", waiter_main},   {"reader", reader_main},	  {"poller", poller_main},
	};
	uint64_t secs = seconds_arg(argc > 2 ? 2 : argc, argv, 10);
	const char *mode = argc > 2 ? argv[2] : "mix";
	const char *dir = argc > 3 ? argv[3] : ".";
	char path[4096] = "";
	pthread_t t[8];
	int n = 0;

	if (!strcmp(mode, "churn")) {
		printf("ready\n");
		fflush(stdout);
		return churn(secs);
	} else if (!strcmp(mode, "spin4")) {
		for (; n < 4; n++) {
			char name[16];

			snprintf(name, sizeof(name), "spin-%d", n);
			if (start(&t[n], spinner_main, name))
				return 1;
		}
	} else if (!strcmp(mode, "mix")) {
		reader_fd = make_file(dir, path, sizeof(path));
		if (reader_fd < 0) {
			fprintf(stderr, "states: cannot make an O_DIRECT file in %s: %s\n", dir,
				strerror(errno));
			if (*path)
				unlink(path);
			return 1;
		}
		unlink(path); /* stays readable until closed */
		for (; n < (int)(sizeof(mix) / sizeof(mix[0])); n++)
			if (start(&t[n], mix[n].fn, mix[n].name))
				return 1;
	} else if (!strcmp(mode, "pool")) {
		static const char *const names[] = { "locker-0", "locker-1", "idle-0", "idle-1",
						     "idle-2", "idle-3", "semwait" };

		sem_init(&sem, 0, 0);
		for (; n < 7; n++)
			if (start(&t[n], n < 2 ? locker_main : n < 6 ? idle_main : semwait_main,
				  names[n]))
				return 1;
	} else if (!strcmp(mode, "parked")) {
		pthread_mutex_lock(&held);
		if (start(&t[n++], parked_wait_main, "parked-wait") ||
		    start(&t[n++], parked_lock_main, "parked-lock"))
			return 1;
	} else if (!strcmp(mode, "nap")) {
		if (start(&t[n++], napper_main, "napper"))
			return 1;
	} else {
		fprintf(stderr,
			"states: unknown mode '%s' (mix, spin4, churn, pool, parked or nap)\n",
			mode);
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	if (!strcmp(mode, "pool")) {
		pool_run(secs);
	} else if (!strcmp(mode, "parked")) {
		sleep_ns(secs * 1000000000ull);
		atomic_store(&stop, true);
		pthread_mutex_unlock(&held);
		pthread_mutex_lock(&queue_lock);
		pthread_cond_broadcast(&queue_cond);
		pthread_mutex_unlock(&queue_lock);
	} else {
		sleep_ns(secs * 1000000000ull);
	}
	atomic_store(&stop, true);
	if (!strcmp(mode, "nap"))
		return 0; /* the napper may be in a 100 s sleep: exiting ends it */
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (reader_fd >= 0)
		close(reader_fd);
	return 0;
}
