// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answers for heap tracking.
 *
 *   heapgrow leak [SECONDS]     leak_here() leaks 1 MiB/s through malloc (16 blocks of 64 KiB a
 *                               second, each written through), while churn_here() mallocs and
 *                               frees ~50,000 small blocks a second and keeps none: the growth is
 *                               leak_here's at 1 MiB/s, churn_here's is ~0.
 *   heapgrow mmap [SECONDS]     mmap_here() maps 1 MiB of anonymous memory a second with mmap(2)
 *                               directly and writes it: 1 MiB/s from mmap_here, no malloc at all.
 *   heapgrow freeall [SECONDS]  alloc_all() mallocs 1 MiB in 4 KiB blocks and writes them,
 *                               free_all() frees every one, 4 times a second: no growth.
 *   heapgrow remap [SECONDS]    remap_here() maps 64 MiB, writes it and unmaps it, as fast as it
 *                               can: RSS changes by the thousand a second, no growth.
 *
 * Blocks are written by the functions themselves (a byte per page, not memset), so the page
 * faults that grow RSS happen in the named function even where only frame pointers walk stacks.
 * Exits 0.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "workload.h"

#define KIB 1024ul
#define MIB (1024 * KIB)
#define PAGE 4096ul

static void *volatile *kept;
static size_t nr_kept, cap_kept;

static inline __attribute__((always_inline)) void touch(volatile char *p, size_t n)
{
	for (size_t off = 0; off < n; off += PAGE)
		p[off] = 1;
	p[n - 1] = 1;
}

__attribute__((noinline)) void leak_here(size_t n)
{
	volatile char *p = malloc(n);

	if (!p)
		exit(1);
	for (size_t off = 0; off < n; off += PAGE)
		p[off] = 1;
	if (nr_kept == cap_kept) {
		cap_kept = cap_kept ? cap_kept * 2 : 1024;
		kept = realloc((void *)kept, cap_kept * sizeof(*kept));
		if (!kept)
			exit(1);
	}
	kept[nr_kept++] = (void *)p;
	barrier();
}

__attribute__((noinline)) void churn_here(void)
{
	void *volatile v[64];

	for (int i = 0; i < 64; i++) {
		v[i] = malloc(16 + (size_t)i * 8);
		if (!v[i])
			exit(1);
		((volatile char *)v[i])[0] = 2;
	}
	for (int i = 0; i < 64; i++)
		free(v[i]);
	barrier();
}

__attribute__((noinline)) void mmap_here(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(1);
	for (size_t off = 0; off < n; off += PAGE)
		((volatile char *)p)[off] = 1;
	barrier();
}

__attribute__((noinline)) void remap_here(size_t n)
{
	char *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		exit(1);
	for (size_t off = 0; off < n; off += PAGE)
		((volatile char *)p)[off] = 1;
	munmap(p, n);
	barrier();
}

__attribute__((noinline)) void alloc_all(void **v, size_t nr, size_t n)
{
	for (size_t i = 0; i < nr; i++) {
		v[i] = malloc(n);
		if (!v[i])
			exit(1);
		touch(v[i], n);
	}
	barrier();
}

__attribute__((noinline)) void free_all(void **v, size_t nr)
{
	for (size_t i = nr; i-- > 0;)
		free(v[i]);
	barrier();
}

/* Sleeps until t (CLOCK_MONOTONIC ns). */
static void sleep_until(uint64_t t)
{
	uint64_t now = mono_ns();

	if (t > now)
		usleep((useconds_t)((t - now) / 1000));
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "leak";
	uint64_t secs = seconds_arg(argc - 1, argv + 1, 10), start, end;
	static void *blocks[256];

	start = mono_ns();
	end = start + secs * 1000000000ull;
	if (!strcmp(mode, "leak")) {
		/* 16 rounds a second: a 64 KiB leak and 3,200 malloc/free pairs of churn */
		for (uint64_t r = 1; mono_ns() < end; r++) {
			leak_here(64 * KIB);
			for (int i = 0; i < 50; i++)
				churn_here();
			sleep_until(start + r * 1000000000ull / 16);
		}
	} else if (!strcmp(mode, "mmap")) {
		for (uint64_t r = 1; mono_ns() < end; r++) {
			mmap_here(MIB / 4);
			sleep_until(start + r * 1000000000ull / 4);
		}
	} else if (!strcmp(mode, "remap")) {
		while (mono_ns() < end)
			remap_here(64 * MIB);
	} else if (!strcmp(mode, "freeall")) {
		for (uint64_t r = 1; mono_ns() < end; r++) {
			alloc_all(blocks, 256, 4 * KIB);
			free_all(blocks, 256);
			sleep_until(start + r * 1000000000ull / 4);
		}
	} else {
		fprintf(stderr, "usage: heapgrow leak|mmap|freeall|remap [SECONDS]\n");
		return 2;
	}
	return 0;
}
