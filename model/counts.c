// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "counts.h"
#include "xalloc.h"

static size_t key_hash(uint32_t thread, uint32_t stack)
{
	uint64_t k = ((uint64_t)thread << 32 | stack) * 0x9e3779b97f4a7c15ull;

	return k ^ k >> 29;
}

void counts_init(struct counts *c)
{
	memset(c, 0, sizeof(*c));
}

void counts_fini(struct counts *c)
{
	free(c->v);
	free(c->slots);
	memset(c, 0, sizeof(*c));
}

void counts_clear(struct counts *c)
{
	c->nr = 0;
	if (c->slots)
		memset(c->slots, 0, c->nslots * sizeof(*c->slots));
}

static size_t find(const struct counts *c, uint32_t thread, uint32_t stack)
{
	size_t mask = c->nslots - 1, i = key_hash(thread, stack) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = c->slots[i];

		if (!s || (c->v[s - 1].thread == thread && c->v[s - 1].stack == stack))
			return i;
	}
}

static void reindex(struct counts *c, size_t nslots)
{
	free(c->slots);
	c->nslots = nslots;
	c->slots = xcalloc(nslots, sizeof(*c->slots));
	for (size_t j = 0; j < c->nr; j++)
		c->slots[find(c, c->v[j].thread, c->v[j].stack)] = j + 1;
}

struct tick_count *counts_find(const struct counts *c, uint32_t thread, uint32_t stack)
{
	uint32_t s;

	if (!c->nslots)
		return NULL;
	s = c->slots[find(c, thread, stack)];
	return s ? &c->v[s - 1] : NULL;
}

void counts_add(struct counts *c, uint32_t thread, uint32_t stack, uint64_t n)
{
	size_t i;

	if (!c->nslots)
		reindex(c, 256);
	i = find(c, thread, stack);
	if (c->slots[i]) {
		c->v[c->slots[i] - 1].count += n;
		return;
	}
	c->v = xgrow(c->v, &c->cap, c->nr + 1, sizeof(*c->v));
	c->v[c->nr] = (struct tick_count){ .thread = thread, .stack = stack, .count = n };
	c->slots[i] = ++c->nr;
	if (c->nr * 2 > c->nslots)
		reindex(c, c->nslots * 2);
}

int counts_cmp_key(const void *a, const void *b)
{
	const struct tick_count *x = a, *y = b;

	if (x->thread != y->thread)
		return x->thread < y->thread ? -1 : 1;
	return x->stack < y->stack ? -1 : x->stack > y->stack;
}

static int by_count(const void *a, const void *b)
{
	const struct tick_count *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	return counts_cmp_key(a, b);
}

void counts_sort_by_key(struct counts *c)
{
	if (c->nr)
		qsort(c->v, c->nr, sizeof(*c->v), counts_cmp_key);
	if (c->nslots)
		reindex(c, c->nslots);
}

void counts_sort_by_count(struct counts *c)
{
	if (c->nr)
		qsort(c->v, c->nr, sizeof(*c->v), by_count);
	if (c->nslots)
		reindex(c, c->nslots);
}
