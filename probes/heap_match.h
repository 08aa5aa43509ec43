// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap: leak mode's user-space half, pure C (no BPF, no model): matches frees to the
 * allocations the uprobes reported and keeps, per allocation site, the bytes and blocks
 * allocated minus freed — what is outstanding — and the live blocks in allocation order, so the
 * oldest are at hand. The BPF side only reports calls; every decision is made here, where the
 * unit tests drive it with synthetic call sequences (tests/test_heap_match.c).
 *
 * A site is an opaque 64-bit value the caller chooses (probes/heap.c packs the model's thread
 * index and raw stack id). Blocks are keyed by (pid, address). Rules, the C library's:
 *   malloc & co. returning NULL   failed: nothing is tracked
 *   free(NULL)                    nothing
 *   free of an unknown block      unmatched: allocated before attach, or its allocation was lost
 *   an allocation at a live block's address
 *                                 the old block's free was lost: it is freed first (replaced)
 *   realloc(NULL, n)              an allocation
 *   realloc(p, 0) returning NULL  a free (glibc)
 *   realloc(p, n) returning NULL  failed: p stays live
 *   realloc(p, n) returning q     p freed, q allocated by the realloc's site (also when q == p)
 */
#ifndef PROBES_HEAP_MATCH_H
#define PROBES_HEAP_MATCH_H

#include <stddef.h>
#include <stdint.h>

struct heap_match;

#define HEAP_MATCH_MAX_BLOCKS (1u << 20) /* default bound on live blocks tracked */

struct heap_match_opts {
	size_t max_blocks; /* live blocks tracked at most; 0 for HEAP_MATCH_MAX_BLOCKS */
};

int heap_match_new(const struct heap_match_opts *opts, struct heap_match **out);
void heap_match_free(struct heap_match *hm);

/* malloc, calloc, memalign, ... returned addr (0: failed) for size bytes. */
void heap_match_alloc(struct heap_match *hm, uint32_t pid, uint64_t addr, uint64_t size,
		      uint64_t site, uint64_t time_ns);
/* free(addr). */
void heap_match_release(struct heap_match *hm, uint32_t pid, uint64_t addr);
/* realloc(old, size) returned addr. */
void heap_match_realloc(struct heap_match *hm, uint32_t pid, uint64_t old, uint64_t addr,
			uint64_t size, uint64_t site, uint64_t time_ns);
/* The process is gone: its blocks are dropped (not counted as freed). */
void heap_match_forget_pid(struct heap_match *hm, uint32_t pid);

/* Calls fn for every site whose outstanding bytes or blocks changed since the last flush, with
 * the change (signed), then starts over. */
void heap_match_flush(struct heap_match *hm,
		      void (*fn)(uint64_t site, int64_t bytes, int64_t count, void *arg),
		      void *arg);

struct heap_match_block {
	uint32_t pid;
	uint64_t addr, size, site, time_ns;
};

/* Up to max of the oldest live blocks, oldest first. Returns how many. */
size_t heap_match_oldest(const struct heap_match *hm, struct heap_match_block *out, size_t max);

struct heap_match_stats {
	uint64_t allocs, frees, reallocs; /* calls seen (failed ones included) */
	uint64_t failed;                  /* allocations that returned NULL */
	uint64_t null_frees;              /* free(NULL) */
	uint64_t unmatched;               /* frees of blocks never seen allocated */
	uint64_t replaced;                /* allocations at a live block's address */
	uint64_t dropped;                 /* allocations not tracked: max_blocks reached */
	uint64_t live_blocks, live_bytes; /* outstanding now */
};

void heap_match_stats(const struct heap_match *hm, struct heap_match_stats *out);

#endif
