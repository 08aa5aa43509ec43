// SPDX-License-Identifier: GPL-2.0-only
/*
 * A function-level call tree built from (thread, stack) counts — a window, a tick, or the total.
 * Frames are merged by function name pointer (names are interned: equal names, equal pointers),
 * so the many frames of one function (one per sampled address) become one node per call path.
 * The flame view draws it, the stack view lists its paths, and reports read per-function
 * self/total from it. Nothing here draws.
 */
#ifndef MODEL_CALLTREE_H
#define MODEL_CALLTREE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model.h"

struct stacks;
struct threads;

#define CALLTREE_NONE UINT32_MAX

struct calltree_node {
	const char *name;      /* function name (interned); "all" for the root */
	uint32_t frame;        /* a frame of this node, from its heaviest stack; CALLTREE_NONE for
	                          the root */
	uint32_t parent;       /* CALLTREE_NONE for the root */
	uint32_t first_child;  /* children are ordered by name (strcmp), so the layout is stable */
	uint32_t next_sibling;
	uint32_t depth;        /* the root is 0 */
	uint64_t total;        /* samples in this node and below */
	uint64_t self;         /* samples that stopped here (this was the leaf) */
};

/* Which counts go into the tree. */
struct calltree_filter {
	uint32_t thread; /* a thread index, or CALLTREE_NONE for every thread */
	uint32_t pid;    /* a process, or 0 for every process */
};

/* Whether f (NULL: everything) keeps the counts of thread (a thread table index). */
bool calltree_keeps(const struct threads *th, uint32_t thread, const struct calltree_filter *f);

struct calltree {
	struct calltree_node *nodes; /* nodes[0] is the root; parents come before children */
	uint32_t nr;
	uint32_t max_depth;
	/* private */
	size_t cap;
	uint32_t *slots; /* (parent, name) → node + 1 */
	size_t nslots;
};

/*
 * A weighted stack with up to two marker names after its frames: what the time metrics of
 * model/wall.h make (an on-CPU stack with "[running]" as its leaf, time without a stack as
 * "[short blocks]", "[lock]"). tail names are interned in the same stacks (stacks_str()), so they
 * merge with frames of the same name.
 */
#define CALLTREE_TAIL 2

struct calltree_item {
	uint32_t thread;
	uint32_t stack;                   /* a stack id, or CALLTREE_NONE: the tail alone */
	uint64_t count;                   /* samples, or nanoseconds */
	const char *tail[CALLTREE_TAIL];  /* leaf-most names after the frames; NULL ends them */
};

void calltree_init(struct calltree *ct);
void calltree_fini(struct calltree *ct);
/*
 * Rebuilds ct from counts (nr of them; any order, but heaviest first picks the best
 * representative frames, as windows are sorted). f may be NULL for everything.
 */
void calltree_build(struct calltree *ct, const struct stacks *st, const struct threads *th,
		    const struct tick_count *counts, size_t nr, const struct calltree_filter *f);

/* The same from items (nr of them; heaviest first picks the best representative frames). A tail
 * name's node has frame CALLTREE_NONE unless a frame of that name was seen at that place. */
void calltree_build_items(struct calltree *ct, const struct stacks *st,
			  const struct threads *th, const struct calltree_item *items, size_t nr,
			  const struct calltree_filter *f);

/* The child of node called name, or CALLTREE_NONE. */
uint32_t calltree_child(const struct calltree *ct, uint32_t node, const char *name);
/* Follows path (function names, root first, without the root) as deep as it exists; returns
 * that node and sets *matched (may be NULL) to how many names were found. */
uint32_t calltree_find(const struct calltree *ct, const char *const *path, uint32_t len,
		       uint32_t *matched);
/* Writes the path of node (root first, without the root) into path[max]; returns its depth,
 * which may be more than max (then only the first max names are written). */
uint32_t calltree_path(const struct calltree *ct, uint32_t node, const char **path,
		       uint32_t max);
/* node is ancestor or below it. */
bool calltree_is_under(const struct calltree *ct, uint32_t node, uint32_t ancestor);

/* Per-function figures. */
struct calltree_func {
	const char *name;
	uint32_t frame;  /* a representative frame (module, file:line) */
	uint64_t self;   /* samples with this function as the leaf */
	uint64_t total;  /* samples with this function anywhere on the stack (recursion counted
	                    once) */
};

/* Every function in the tree, by total descending (then self, then name). *out is malloc'ed:
 * free() it. Returns how many. */
size_t calltree_functions(const struct calltree *ct, struct calltree_func **out);
/* Who calls fn, with the samples through each caller (total); the root shows as its own name.
 * Sorted like calltree_functions(). */
size_t calltree_callers(const struct calltree *ct, const char *fn, struct calltree_func **out);
/* What fn calls, with the samples in each (total); self is fn's own samples in .self of an
 * entry named fn when it has any. */
size_t calltree_callees(const struct calltree *ct, const char *fn, struct calltree_func **out);

/*
 * Marks (marks[i] for node i, ct->nr long; may be NULL) every node whose name contains needle,
 * ignoring case. Returns the samples under matching nodes, counting nested matches once.
 */
uint64_t calltree_search(const struct calltree *ct, const char *needle, bool *marks);

/*
 * The hottest leaf function of each group of threads: group_of[thread] (nr_threads long; a
 * thread at or past nr_threads, or mapped to CALLTREE_NONE, is skipped) names its group, and
 * leaf[g] / leaf_count[g] (nr_groups long) get the leaf function with the most samples and its
 * samples, NULL / 0 for a group without samples.
 */
void calltree_hot_leaves(const struct stacks *st, const struct tick_count *counts, size_t nr,
			 const uint32_t *group_of, uint32_t nr_threads, const char **leaf,
			 uint64_t *leaf_count, uint32_t nr_groups);

/*
 * Counts the samples whose stack starts with a path of function names (root first), tick by
 * tick, remembering per stack id whether it matched. The path is borrowed until
 * calltree_matcher_fini() or the next calltree_matcher_set().
 */
struct calltree_matcher {
	const char *const *path;
	uint32_t len;
	struct calltree_filter filter;
	/* private */
	uint8_t *memo; /* per stack id: 0 unknown, 1 no, 2 yes, 3 its frames are a prefix of the
			  path (the rest may be in an item's tail) */
	size_t cap;
};

void calltree_matcher_init(struct calltree_matcher *mt);
void calltree_matcher_fini(struct calltree_matcher *mt);
void calltree_matcher_set(struct calltree_matcher *mt, const char *const *path, uint32_t len,
			  const struct calltree_filter *f);
uint64_t calltree_matcher_count(struct calltree_matcher *mt, const struct stacks *st,
				const struct threads *th, const struct tick_count *counts,
				size_t nr);
/* The same over items (a tail continues its stack's path); *whole (may be NULL) gets the sum of
 * the items the filter keeps. */
uint64_t calltree_matcher_count_items(struct calltree_matcher *mt, const struct stacks *st,
				      const struct threads *th, const struct calltree_item *items,
				      size_t nr, uint64_t *whole);

#endif
