// SPDX-License-Identifier: GPL-2.0-only
/* A hash map from (thread, stack) to a sample count, stored as a dense array of tick_count. */
#ifndef MODEL_COUNTS_H
#define MODEL_COUNTS_H

#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct counts {
	struct tick_count *v; /* nr entries, in insertion order until sorted */
	size_t nr, cap;
	uint32_t *slots; /* index + 1, 0 for empty */
	size_t nslots;
};

void counts_init(struct counts *c);
void counts_fini(struct counts *c);
void counts_clear(struct counts *c);
void counts_add(struct counts *c, uint32_t thread, uint32_t stack, uint64_t n);
/* The entry for (thread, stack), or NULL. */
struct tick_count *counts_find(const struct counts *c, uint32_t thread, uint32_t stack);
/* Sorts v by (thread, stack) or by count descending; the map stays usable. */
void counts_sort_by_key(struct counts *c);
/* qsort()/bsearch() order of struct tick_count: by thread, then stack. */
int counts_cmp_key(const void *a, const void *b);
void counts_sort_by_count(struct counts *c);

#endif
