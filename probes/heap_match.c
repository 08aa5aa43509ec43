// SPDX-License-Identifier: GPL-2.0-only
/*
 * Live blocks: a slab of struct block (freed entries chained on a free list) indexed by an
 * open-addressing table of (pid, addr) with linear probing and backward-shift deletion, and
 * linked in allocation order (a free unlinks from the middle in O(1)), so the oldest are the head.
 * Site changes since the last flush: a second table of site → (bytes, count).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "model/xalloc.h"
#include "probes/heap_match.h"

#define NONE UINT32_MAX

struct block {
	uint64_t addr, size, site, time_ns;
	uint32_t pid;
	uint32_t prev, next; /* allocation order; next also chains the free list */
};

struct delta {
	uint64_t site;
	int64_t bytes, count;
};

struct heap_match {
	size_t max_blocks;
	struct block *blocks;
	size_t nr_blocks, cap_blocks; /* slab entries ever used */
	uint32_t free_list;
	uint32_t head, tail; /* oldest, newest */
	uint32_t *slots;     /* block index + 1, 0 for empty */
	size_t nslots;
	struct delta *deltas;
	size_t nr_deltas, cap_deltas;
	uint32_t *dslots;
	size_t ndslots;
	struct heap_match_stats st;
};

static size_t hash64(uint64_t k)
{
	k *= 0x9e3779b97f4a7c15ull;
	return k ^ k >> 31;
}

static size_t block_hash(uint32_t pid, uint64_t addr)
{
	/* heap addresses are 16-byte aligned: the low bits say little */
	return hash64((addr >> 4) ^ (uint64_t)pid << 48);
}

int heap_match_new(const struct heap_match_opts *opts, struct heap_match **out)
{
	struct heap_match *hm = xcalloc(1, sizeof(*hm));

	hm->max_blocks = opts && opts->max_blocks ? opts->max_blocks : HEAP_MATCH_MAX_BLOCKS;
	if (hm->max_blocks >= NONE)
		hm->max_blocks = NONE - 1;
	hm->free_list = hm->head = hm->tail = NONE;
	*out = hm;
	return 0;
}

void heap_match_free(struct heap_match *hm)
{
	if (!hm)
		return;
	free(hm->blocks);
	free(hm->slots);
	free(hm->deltas);
	free(hm->dslots);
	free(hm);
}

/* The slot of (pid, addr): its block's, or the empty one where it would go. */
static size_t find_slot(const struct heap_match *hm, uint32_t pid, uint64_t addr)
{
	size_t mask = hm->nslots - 1, i = block_hash(pid, addr) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = hm->slots[i];

		if (!s || (hm->blocks[s - 1].addr == addr && hm->blocks[s - 1].pid == pid))
			return i;
	}
}

static void reindex(struct heap_match *hm, size_t nslots)
{
	free(hm->slots);
	hm->nslots = nslots;
	hm->slots = xcalloc(nslots, sizeof(*hm->slots));
	for (uint32_t b = hm->head; b != NONE; b = hm->blocks[b].next)
		hm->slots[find_slot(hm, hm->blocks[b].pid, hm->blocks[b].addr)] = b + 1;
}

/* Empties slot i, moving later entries of the same probe run back so lookups still find them. */
static void delete_slot(struct heap_match *hm, size_t i)
{
	size_t mask = hm->nslots - 1, j = i;

	for (;;) {
		size_t home;
		uint32_t s;

		j = (j + 1) & mask;
		s = hm->slots[j];
		if (!s)
			break;
		home = block_hash(hm->blocks[s - 1].pid, hm->blocks[s - 1].addr) & mask;
		/* the entry at j may move to i when its home is not within (i, j] */
		if (i <= j ? (home <= i || home > j) : (home <= i && home > j)) {
			hm->slots[i] = s;
			i = j;
		}
	}
	hm->slots[i] = 0;
}

static size_t find_delta(const struct heap_match *hm, uint64_t site)
{
	size_t mask = hm->ndslots - 1, i = hash64(site) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = hm->dslots[i];

		if (!s || hm->deltas[s - 1].site == site)
			return i;
	}
}

static void reindex_deltas(struct heap_match *hm, size_t nslots)
{
	free(hm->dslots);
	hm->ndslots = nslots;
	hm->dslots = xcalloc(nslots, sizeof(*hm->dslots));
	for (size_t j = 0; j < hm->nr_deltas; j++)
		hm->dslots[find_delta(hm, hm->deltas[j].site)] = j + 1;
}

static void charge(struct heap_match *hm, uint64_t site, int64_t bytes, int64_t count)
{
	size_t i;

	if (!hm->ndslots)
		reindex_deltas(hm, 256);
	i = find_delta(hm, site);
	if (!hm->dslots[i]) {
		hm->deltas = xgrow(hm->deltas, &hm->cap_deltas, hm->nr_deltas + 1,
				   sizeof(*hm->deltas));
		hm->deltas[hm->nr_deltas] = (struct delta){ .site = site };
		hm->dslots[i] = ++hm->nr_deltas;
		if (hm->nr_deltas * 2 > hm->ndslots)
			reindex_deltas(hm, hm->ndslots * 2);
		i = find_delta(hm, site);
	}
	hm->deltas[hm->dslots[i] - 1].bytes += bytes;
	hm->deltas[hm->dslots[i] - 1].count += count;
}

/* Unlinks and frees block b whose table slot is i, charging its site. */
static void drop_block(struct heap_match *hm, uint32_t b, size_t i, bool freed)
{
	struct block *k = &hm->blocks[b];

	if (freed)
		charge(hm, k->site, -(int64_t)k->size, -1);
	hm->st.live_blocks--;
	hm->st.live_bytes -= k->size;
	if (k->prev != NONE)
		hm->blocks[k->prev].next = k->next;
	else
		hm->head = k->next;
	if (k->next != NONE)
		hm->blocks[k->next].prev = k->prev;
	else
		hm->tail = k->prev;
	delete_slot(hm, i);
	k->next = hm->free_list;
	hm->free_list = b;
}

static void track(struct heap_match *hm, uint32_t pid, uint64_t addr, uint64_t size, uint64_t site,
		  uint64_t time_ns)
{
	struct block *k;
	uint32_t b;
	size_t i;

	if (!addr) {
		hm->st.failed++;
		return;
	}
	if (!hm->nslots)
		reindex(hm, 1024);
	i = find_slot(hm, pid, addr);
	if (hm->slots[i]) {
		/* a live address handed out again: the free in between was not seen */
		hm->st.replaced++;
		drop_block(hm, hm->slots[i] - 1, i, true);
		i = find_slot(hm, pid, addr);
	}
	if (hm->st.live_blocks >= hm->max_blocks) {
		hm->st.dropped++;
		return;
	}
	if (hm->free_list != NONE) {
		b = hm->free_list;
		hm->free_list = hm->blocks[b].next;
	} else {
		hm->blocks = xgrow(hm->blocks, &hm->cap_blocks, hm->nr_blocks + 1,
				   sizeof(*hm->blocks));
		b = hm->nr_blocks++;
	}
	k = &hm->blocks[b];
	*k = (struct block){ .addr = addr, .size = size, .site = site, .time_ns = time_ns,
			     .pid = pid, .prev = hm->tail, .next = NONE };
	if (hm->tail != NONE)
		hm->blocks[hm->tail].next = b;
	else
		hm->head = b;
	hm->tail = b;
	hm->slots[i] = b + 1;
	hm->st.live_blocks++;
	hm->st.live_bytes += size;
	charge(hm, site, (int64_t)size, 1);
	if (hm->st.live_blocks * 2 > hm->nslots)
		reindex(hm, hm->nslots * 2);
}

static void untrack(struct heap_match *hm, uint32_t pid, uint64_t addr)
{
	size_t i;

	if (!addr) {
		hm->st.null_frees++;
		return;
	}
	if (!hm->nslots || !hm->slots[i = find_slot(hm, pid, addr)]) {
		hm->st.unmatched++;
		return;
	}
	drop_block(hm, hm->slots[i] - 1, i, true);
}

void heap_match_alloc(struct heap_match *hm, uint32_t pid, uint64_t addr, uint64_t size,
		      uint64_t site, uint64_t time_ns)
{
	hm->st.allocs++;
	track(hm, pid, addr, size, site, time_ns);
}

void heap_match_release(struct heap_match *hm, uint32_t pid, uint64_t addr)
{
	hm->st.frees++;
	untrack(hm, pid, addr);
}

void heap_match_realloc(struct heap_match *hm, uint32_t pid, uint64_t old, uint64_t addr,
			uint64_t size, uint64_t site, uint64_t time_ns)
{
	hm->st.reallocs++;
	if (!old) {
		track(hm, pid, addr, size, site, time_ns);
		return;
	}
	if (!addr) {
		if (size == 0)
			untrack(hm, pid, old); /* realloc(p, 0) freed p */
		else
			hm->st.failed++; /* p is still there */
		return;
	}
	untrack(hm, pid, old);
	track(hm, pid, addr, size, site, time_ns);
}

void heap_match_forget_pid(struct heap_match *hm, uint32_t pid)
{
	uint32_t b = hm->head;

	while (b != NONE) {
		uint32_t next = hm->blocks[b].next;

		if (hm->blocks[b].pid == pid)
			drop_block(hm, b, find_slot(hm, pid, hm->blocks[b].addr), false);
		b = next;
	}
}

void heap_match_flush(struct heap_match *hm,
		      void (*fn)(uint64_t site, int64_t bytes, int64_t count, void *arg), void *arg)
{
	for (size_t i = 0; i < hm->nr_deltas; i++)
		if (hm->deltas[i].bytes || hm->deltas[i].count)
			fn(hm->deltas[i].site, hm->deltas[i].bytes, hm->deltas[i].count, arg);
	hm->nr_deltas = 0;
	if (hm->dslots)
		memset(hm->dslots, 0, hm->ndslots * sizeof(*hm->dslots));
}

size_t heap_match_oldest(const struct heap_match *hm, struct heap_match_block *out, size_t max)
{
	size_t n = 0;

	for (uint32_t b = hm->head; b != NONE && n < max; b = hm->blocks[b].next, n++)
		out[n] = (struct heap_match_block){ .pid = hm->blocks[b].pid,
						    .addr = hm->blocks[b].addr,
						    .size = hm->blocks[b].size,
						    .site = hm->blocks[b].site,
						    .time_ns = hm->blocks[b].time_ns };
	return n;
}

void heap_match_stats(const struct heap_match *hm, struct heap_match_stats *out)
{
	*out = hm->st;
}
