// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "growth.h"
#include "xalloc.h"

static size_t key_hash(uint32_t thread, uint32_t stack)
{
	uint64_t k = ((uint64_t)thread << 32 | stack) * 0x9e3779b97f4a7c15ull;

	return k ^ k >> 29;
}

void growth_init(struct growth *g)
{
	memset(g, 0, sizeof(*g));
}

void growth_fini(struct growth *g)
{
	free(g->v);
	free(g->slots);
	memset(g, 0, sizeof(*g));
}

void growth_clear(struct growth *g)
{
	g->nr = 0;
	if (g->slots)
		memset(g->slots, 0, g->nslots * sizeof(*g->slots));
}

static size_t find(const struct growth *g, uint32_t thread, uint32_t stack)
{
	size_t mask = g->nslots - 1, i = key_hash(thread, stack) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = g->slots[i];

		if (!s || (g->v[s - 1].thread == thread && g->v[s - 1].stack == stack))
			return i;
	}
}

static void reindex(struct growth *g, size_t nslots)
{
	free(g->slots);
	g->nslots = nslots;
	g->slots = xcalloc(nslots, sizeof(*g->slots));
	for (size_t j = 0; j < g->nr; j++)
		g->slots[find(g, g->v[j].thread, g->v[j].stack)] = j + 1;
}

struct tick_heap *growth_find(const struct growth *g, uint32_t thread, uint32_t stack)
{
	uint32_t s;

	if (!g->nslots)
		return NULL;
	s = g->slots[find(g, thread, stack)];
	return s ? &g->v[s - 1] : NULL;
}

void growth_add(struct growth *g, uint32_t thread, uint32_t stack, int64_t bytes, int64_t count)
{
	size_t i;

	if (!g->nslots)
		reindex(g, 256);
	i = find(g, thread, stack);
	if (g->slots[i]) {
		struct tick_heap *e = &g->v[g->slots[i] - 1];

		e->bytes += bytes;
		e->count += count;
		return;
	}
	g->v = xgrow(g->v, &g->cap, g->nr + 1, sizeof(*g->v));
	g->v[g->nr] = (struct tick_heap){
		.thread = thread, .stack = stack, .bytes = bytes, .count = count };
	g->slots[i] = ++g->nr;
	if (g->nr * 2 > g->nslots)
		reindex(g, g->nslots * 2);
}

void growth_drop_zero(struct growth *g)
{
	size_t kept = 0;

	for (size_t i = 0; i < g->nr; i++)
		if (g->v[i].bytes || g->v[i].count)
			g->v[kept++] = g->v[i];
	if (kept == g->nr)
		return;
	g->nr = kept;
	if (g->nslots)
		reindex(g, g->nslots);
}

int growth_cmp_key(const void *a, const void *b)
{
	const struct tick_heap *x = a, *y = b;

	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int by_bytes(const void *a, const void *b)
{
	const struct tick_heap *x = a, *y = b;

	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return growth_cmp_key(a, b);
}

void growth_sort_by_key(struct growth *g)
{
	if (g->nr)
		qsort(g->v, g->nr, sizeof(*g->v), growth_cmp_key);
	if (g->nslots)
		reindex(g, g->nslots);
}

void growth_sort_by_bytes(struct growth *g)
{
	if (g->nr)
		qsort(g->v, g->nr, sizeof(*g->v), by_bytes);
	if (g->nslots)
		reindex(g, g->nslots);
}
