// SPDX-License-Identifier: GPL-2.0-only
/*
 * The allocator-bound program of bench/heap-overhead.sh.
 *
 * Times are the thread's CPU time.
 *
 *   mallocloop pairs N   N malloc(64)/free pairs; prints "NS ns/pair"
 *   mallocloop faults M  maps, writes and unmaps M MiB in 4 MiB pieces (every page a fresh page
 *                        fault, then released): the work heap growth tracking does see; prints
 *                        "NS ns/page"
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

static double now(void)
{
	struct timespec ts;

	/* the thread's CPU time (user + kernel, traps and faults included): what tracking costs
	 * it, without the time other processes on a shared machine take from it */
	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec * 1e9 + ts.tv_nsec;
}

static unsigned long arg(const char *s)
{
	char *end;
	unsigned long v;

	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || end == s || *end || !v) {
		fprintf(stderr, "mallocloop: bad number '%s'\n", s);
		exit(2);
	}
	return v;
}

int main(int argc, char **argv)
{
	unsigned long n;
	double t0;

	if (argc != 3) {
		fprintf(stderr, "usage: mallocloop pairs N | faults MIB\n");
		return 2;
	}
	n = arg(argv[2]);
	if (!strcmp(argv[1], "pairs")) {
		for (int i = 0; i < 100000; i++) /* warm the allocator */
			free(malloc(64));
		t0 = now();
		for (unsigned long i = 0; i < n; i++) {
			void *volatile p = malloc(64);

			free(p);
		}
		printf("%.2f ns/pair\n", (now() - t0) / n);
		return 0;
	}
	if (!strcmp(argv[1], "faults")) {
		const size_t piece = 4 << 20;
		unsigned long pages = 0;

		t0 = now();
		for (unsigned long done = 0; done < n; done += 4) {
			volatile char *p = mmap(NULL, piece, PROT_READ | PROT_WRITE,
						MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

			if (p == MAP_FAILED)
				return 1;
			for (size_t off = 0; off < piece; off += 4096, pages++)
				p[off] = 1;
			munmap((void *)p, piece);
		}
		printf("%.2f ns/page\n", (now() - t0) / pages);
		return 0;
	}
	fprintf(stderr, "usage: mallocloop pairs N | faults MIB\n");
	return 2;
}
