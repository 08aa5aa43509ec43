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
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
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
	} else {
		fprintf(stderr, "states: unknown mode '%s' (mix, spin4 or churn)\n", mode);
		return 2;
	}
	printf("ready\n");
	fflush(stdout);
	sleep_ns(secs * 1000000000ull);
	atomic_store(&stop, true);
	for (int i = 0; i < n; i++)
		pthread_join(t[i], NULL);
	if (reader_fd >= 0)
		close(reader_fd);
	return 0;
}
