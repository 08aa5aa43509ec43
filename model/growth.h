// SPDX-License-Identifier: GPL-2.0-only
/*
 * A hash map from (thread, stack) to signed bytes and a signed count: heap growth. Like counts.h,
 * but the values go down as well as up (memory is freed), so they are int64_t and sorting puts
 * the most growth first and the most shrinkage last. Entries are a dense array of tick_heap.
 */
#ifndef MODEL_GROWTH_H
#define MODEL_GROWTH_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct growth {
	struct tick_heap *v; /* nr entries, in insertion order until sorted */
	size_t nr, cap;
	uint32_t *slots; /* index + 1, 0 for empty */
	size_t nslots;
};

void growth_init(struct growth *g);
void growth_fini(struct growth *g);
void growth_clear(struct growth *g);
void growth_add(struct growth *g, uint32_t thread, uint32_t stack, int64_t bytes, int64_t count);
/* The entry for (thread, stack), or NULL. */
struct tick_heap *growth_find(const struct growth *g, uint32_t thread, uint32_t stack);
/* Drops entries whose bytes and count are both 0 (an allocation and its free). */
void growth_drop_zero(struct growth *g);
/* Sorts v by (thread, stack), or by bytes descending (then count, then key). */
void growth_sort_by_key(struct growth *g);
/* qsort()/bsearch() order of struct tick_heap: by thread, then stack. */
int growth_cmp_key(const void *a, const void *b);
void growth_sort_by_bytes(struct growth *g);

#endif
