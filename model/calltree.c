// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>
#include <strings.h>

#include "calltree.h"
#include "stacks.h"
#include "threads.h"
#include "xalloc.h"

static const char root_name[] = "all";

static size_t mix(uint32_t a, const void *p)
{
	uint64_t k = ((uint64_t)(uintptr_t)p ^ (uint64_t)a << 40) * 0x9e3779b97f4a7c15ull;

	return k ^ k >> 31;
}

/* A small map from (a, pointer) to a dense index, for aggregating by name. */
struct pmap {
	struct pkey {
		const void *p;
		uint32_t a;
	} *keys;
	size_t nr, cap;
	uint32_t *slots; /* index + 1 */
	size_t nslots;
};

static void pmap_fini(struct pmap *m)
{
	free(m->keys);
	free(m->slots);
}

static size_t pmap_slot(const struct pmap *m, uint32_t a, const void *p)
{
	size_t mask = m->nslots - 1, i = mix(a, p) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = m->slots[i];

		if (!s || (m->keys[s - 1].a == a && m->keys[s - 1].p == p))
			return i;
	}
}

static void pmap_rehash(struct pmap *m, size_t nslots)
{
	free(m->slots);
	m->nslots = nslots;
	m->slots = xcalloc(nslots, sizeof(*m->slots));
	for (size_t j = 0; j < m->nr; j++)
		m->slots[pmap_slot(m, m->keys[j].a, m->keys[j].p)] = j + 1;
}

/* The index of (a, p), adding it when new (*added says so). */
static uint32_t pmap_put(struct pmap *m, uint32_t a, const void *p, bool *added)
{
	size_t i;

	if (!m->nslots)
		pmap_rehash(m, 64);
	i = pmap_slot(m, a, p);
	*added = !m->slots[i];
	if (!*added)
		return m->slots[i] - 1;
	m->keys = xgrow(m->keys, &m->cap, m->nr + 1, sizeof(*m->keys));
	m->keys[m->nr] = (struct pkey){ .p = p, .a = a };
	m->slots[i] = ++m->nr;
	if (m->nr * 2 > m->nslots)
		pmap_rehash(m, m->nslots * 2);
	return m->nr - 1;
}

void calltree_init(struct calltree *ct)
{
	memset(ct, 0, sizeof(*ct));
}

void calltree_fini(struct calltree *ct)
{
	free(ct->nodes);
	free(ct->slots);
	memset(ct, 0, sizeof(*ct));
}

static size_t child_slot(const struct calltree *ct, uint32_t parent, const char *name)
{
	size_t mask = ct->nslots - 1, i = mix(parent, name) & mask;

	for (;; i = (i + 1) & mask) {
		uint32_t s = ct->slots[i];

		if (!s || (ct->nodes[s - 1].parent == parent && ct->nodes[s - 1].name == name))
			return i;
	}
}

static void rehash(struct calltree *ct, size_t nslots)
{
	free(ct->slots);
	ct->nslots = nslots;
	ct->slots = xcalloc(nslots, sizeof(*ct->slots));
	for (uint32_t n = 1; n < ct->nr; n++)
		ct->slots[child_slot(ct, ct->nodes[n].parent, ct->nodes[n].name)] = n + 1;
}

static uint32_t child_add(struct calltree *ct, uint32_t parent, const char *name, uint32_t frame)
{
	size_t i = child_slot(ct, parent, name);
	struct calltree_node *n;

	if (ct->slots[i])
		return ct->slots[i] - 1;
	ct->nodes = xgrow(ct->nodes, &ct->cap, ct->nr + 1, sizeof(*ct->nodes));
	n = &ct->nodes[ct->nr];
	*n = (struct calltree_node){
		.name = name,
		.frame = frame,
		.parent = parent,
		.first_child = CALLTREE_NONE,
		.next_sibling = CALLTREE_NONE,
		.depth = ct->nodes[parent].depth + 1,
	};
	if (n->depth > ct->max_depth)
		ct->max_depth = n->depth;
	ct->slots[i] = ++ct->nr;
	if (ct->nr * 2 > ct->nslots)
		rehash(ct, ct->nslots * 2);
	return ct->nr - 1;
}

bool calltree_keeps(const struct threads *th, uint32_t thread, const struct calltree_filter *f)
{
	const struct thread *t;

	if (!f)
		return true;
	if (f->thread != CALLTREE_NONE && thread != f->thread)
		return false;
	if (f->pid) {
		t = th ? threads_get(th, thread) : NULL;
		if (!t || t->pid != f->pid)
			return false;
	}
	return true;
}

static const struct calltree *sort_ct;

static int by_parent_name(const void *a, const void *b)
{
	const struct calltree_node *x = &sort_ct->nodes[*(const uint32_t *)a];
	const struct calltree_node *y = &sort_ct->nodes[*(const uint32_t *)b];

	if (x->parent != y->parent)
		return x->parent < y->parent ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Links children in name order. */
static void link_children(struct calltree *ct)
{
	uint32_t *order;

	if (ct->nr < 2)
		return;
	order = xmalloc((ct->nr - 1) * sizeof(*order));
	for (uint32_t n = 1; n < ct->nr; n++)
		order[n - 1] = n;
	sort_ct = ct;
	qsort(order, ct->nr - 1, sizeof(*order), by_parent_name);
	sort_ct = NULL;
	for (uint32_t i = ct->nr - 1; i-- > 0;) {
		struct calltree_node *n = &ct->nodes[order[i]];

		n->next_sibling = ct->nodes[n->parent].first_child;
		ct->nodes[n->parent].first_child = order[i];
	}
	free(order);
}

static void start(struct calltree *ct)
{
	ct->nodes = xgrow(ct->nodes, &ct->cap, 1, sizeof(*ct->nodes));
	ct->nodes[0] = (struct calltree_node){
		.name = root_name,
		.frame = CALLTREE_NONE,
		.parent = CALLTREE_NONE,
		.first_child = CALLTREE_NONE,
		.next_sibling = CALLTREE_NONE,
	};
	ct->nr = 1;
	ct->max_depth = 0;
	if (!ct->nslots)
		rehash(ct, 256);
	else
		memset(ct->slots, 0, ct->nslots * sizeof(*ct->slots));
}

/* Adds count along the stack's frames, then along the tail names. */
static void add(struct calltree *ct, const struct stacks *st, uint32_t stack,
		const char *const *tail, uint64_t count)
{
	const uint32_t *frames = NULL;
	uint32_t n = 0, node = 0;

	if (stack != CALLTREE_NONE)
		frames = stacks_frames(st, stack, &n);
	ct->nodes[0].total += count;
	for (uint32_t j = 0; j < n; j++) {
		const struct frame *fr = stacks_frame(st, frames[j]);

		if (!fr)
			continue;
		node = child_add(ct, node, fr->function, frames[j]);
		ct->nodes[node].total += count;
	}
	for (uint32_t j = 0; tail && j < CALLTREE_TAIL && tail[j]; j++) {
		node = child_add(ct, node, tail[j], CALLTREE_NONE);
		ct->nodes[node].total += count;
	}
	ct->nodes[node].self += count;
}

void calltree_build(struct calltree *ct, const struct stacks *st, const struct threads *th,
		    const struct tick_count *counts, size_t nr, const struct calltree_filter *f)
{
	start(ct);
	for (size_t i = 0; i < nr; i++)
		if (counts[i].count && calltree_keeps(th, counts[i].thread, f))
			add(ct, st, counts[i].stack, NULL, counts[i].count);
	link_children(ct);
}

void calltree_build_items(struct calltree *ct, const struct stacks *st,
			  const struct threads *th, const struct calltree_item *items, size_t nr,
			  const struct calltree_filter *f)
{
	start(ct);
	for (size_t i = 0; i < nr; i++)
		if (items[i].count && calltree_keeps(th, items[i].thread, f))
			add(ct, st, items[i].stack, items[i].tail, items[i].count);
	link_children(ct);
}

uint32_t calltree_child(const struct calltree *ct, uint32_t node, const char *name)
{
	uint32_t s;

	if (!ct->nslots || node >= ct->nr)
		return CALLTREE_NONE;
	s = ct->slots[child_slot(ct, node, name)];
	return s ? s - 1 : CALLTREE_NONE;
}

uint32_t calltree_find(const struct calltree *ct, const char *const *path, uint32_t len,
		       uint32_t *matched)
{
	uint32_t node = 0, i;

	for (i = 0; i < len; i++) {
		uint32_t c = calltree_child(ct, node, path[i]);

		if (c == CALLTREE_NONE)
			break;
		node = c;
	}
	if (matched)
		*matched = i;
	return ct->nr ? node : CALLTREE_NONE;
}

uint32_t calltree_path(const struct calltree *ct, uint32_t node, const char **path,
		       uint32_t max)
{
	uint32_t depth;

	if (node >= ct->nr)
		return 0;
	depth = ct->nodes[node].depth;
	for (uint32_t n = node; n && n != CALLTREE_NONE; n = ct->nodes[n].parent)
		if (ct->nodes[n].depth <= max)
			path[ct->nodes[n].depth - 1] = ct->nodes[n].name;
	return depth;
}

bool calltree_is_under(const struct calltree *ct, uint32_t node, uint32_t ancestor)
{
	if (node >= ct->nr || ancestor >= ct->nr)
		return false;
	while (ct->nodes[node].depth > ct->nodes[ancestor].depth)
		node = ct->nodes[node].parent;
	return node == ancestor;
}

/* No ancestor of node has its name: the outermost call of a recursion. */
static bool outermost(const struct calltree *ct, uint32_t node)
{
	const char *name = ct->nodes[node].name;

	for (uint32_t n = ct->nodes[node].parent; n && n != CALLTREE_NONE; n = ct->nodes[n].parent)
		if (ct->nodes[n].name == name)
			return false;
	return true;
}

static int by_total(const void *a, const void *b)
{
	const struct calltree_func *x = a, *y = b;

	if (x->total != y->total)
		return x->total > y->total ? -1 : 1;
	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return strcmp(x->name, y->name);
}

/* Accumulates into a growing array of funcs keyed by name. */
struct funcs {
	struct pmap map;
	struct calltree_func *v;
	size_t cap;
};

static struct calltree_func *funcs_get(struct funcs *fs, const char *name, uint32_t frame)
{
	bool added;
	uint32_t i = pmap_put(&fs->map, 0, name, &added);

	if (added) {
		fs->v = xgrow(fs->v, &fs->cap, i + 1, sizeof(*fs->v));
		fs->v[i] = (struct calltree_func){ .name = name, .frame = frame };
	}
	return &fs->v[i];
}

static size_t funcs_done(struct funcs *fs, struct calltree_func **out)
{
	size_t nr = fs->map.nr;

	if (nr)
		qsort(fs->v, nr, sizeof(*fs->v), by_total);
	pmap_fini(&fs->map);
	*out = fs->v ? fs->v : xcalloc(1, sizeof(**out));
	return nr;
}

size_t calltree_functions(const struct calltree *ct, struct calltree_func **out)
{
	struct funcs fs = { 0 };

	for (uint32_t n = 1; n < ct->nr; n++) {
		const struct calltree_node *node = &ct->nodes[n];
		struct calltree_func *f = funcs_get(&fs, node->name, node->frame);

		f->self += node->self;
		if (outermost(ct, n))
			f->total += node->total;
	}
	return funcs_done(&fs, out);
}

size_t calltree_callers(const struct calltree *ct, const char *fn, struct calltree_func **out)
{
	struct funcs fs = { 0 };

	for (uint32_t n = 1; n < ct->nr; n++) {
		const struct calltree_node *node = &ct->nodes[n];
		const struct calltree_node *p = &ct->nodes[node->parent];

		if (node->name != fn || !outermost(ct, n))
			continue;
		funcs_get(&fs, p->name, p->frame)->total += node->total;
	}
	return funcs_done(&fs, out);
}

size_t calltree_callees(const struct calltree *ct, const char *fn, struct calltree_func **out)
{
	struct funcs fs = { 0 };

	for (uint32_t n = 1; n < ct->nr; n++) {
		const struct calltree_node *node = &ct->nodes[n];

		if (node->name != fn || !outermost(ct, n))
			continue;
		if (node->self)
			funcs_get(&fs, node->name, node->frame)->self += node->self;
		for (uint32_t c = node->first_child; c != CALLTREE_NONE;
		     c = ct->nodes[c].next_sibling)
			funcs_get(&fs, ct->nodes[c].name, ct->nodes[c].frame)->total +=
				ct->nodes[c].total;
	}
	return funcs_done(&fs, out);
}

uint64_t calltree_search(const struct calltree *ct, const char *needle, bool *marks)
{
	uint64_t total = 0;
	bool *hit, *under;

	if (!ct->nr)
		return 0;
	/* A node counts when it matches and no ancestor did: parents come before children.
	 * under[n]: n or an ancestor matched. */
	hit = marks ? marks : xcalloc(ct->nr, sizeof(*hit));
	under = xcalloc(ct->nr, sizeof(*under));

	for (uint32_t n = 0; n < ct->nr; n++) {
		const struct calltree_node *node = &ct->nodes[n];
		bool parent_under = n && under[node->parent];

		hit[n] = n && needle && *needle && strcasestr(node->name, needle);
		if (hit[n] && !parent_under)
			total += node->total;
		under[n] = hit[n] || parent_under;
	}
	free(under);
	if (!marks)
		free(hit);
	return total;
}

void calltree_hot_leaves(const struct stacks *st, const struct tick_count *counts, size_t nr,
			 const uint32_t *group_of, uint32_t nr_threads, const char **leaf,
			 uint64_t *leaf_count, uint32_t nr_groups)
{
	struct pmap map = { 0 };
	uint64_t *sum = NULL;
	size_t cap = 0;

	for (uint32_t g = 0; g < nr_groups; g++) {
		leaf[g] = NULL;
		leaf_count[g] = 0;
	}
	for (size_t i = 0; i < nr; i++) {
		const struct tick_count *c = &counts[i];
		const uint32_t *frames;
		const struct frame *fr;
		uint32_t n, g;
		bool added;
		uint32_t k;

		if (c->thread >= nr_threads || (g = group_of[c->thread]) >= nr_groups)
			continue;
		frames = stacks_frames(st, c->stack, &n);
		fr = n ? stacks_frame(st, frames[n - 1]) : NULL;
		if (!fr)
			continue;
		k = pmap_put(&map, g, fr->function, &added);
		if (added) {
			sum = xgrow(sum, &cap, k + 1, sizeof(*sum));
			sum[k] = 0;
		}
		sum[k] += c->count;
		/* Ties go to the leaf seen first: counts come heaviest first. */
		if (sum[k] > leaf_count[g]) {
			leaf_count[g] = sum[k];
			leaf[g] = fr->function;
		}
	}
	free(sum);
	pmap_fini(&map);
}

void calltree_matcher_init(struct calltree_matcher *mt)
{
	memset(mt, 0, sizeof(*mt));
	mt->filter.thread = CALLTREE_NONE;
}

void calltree_matcher_fini(struct calltree_matcher *mt)
{
	free(mt->memo);
	memset(mt, 0, sizeof(*mt));
}

void calltree_matcher_set(struct calltree_matcher *mt, const char *const *path, uint32_t len,
			  const struct calltree_filter *f)
{
	mt->path = path;
	mt->len = len;
	mt->filter = f ? *f : (struct calltree_filter){ .thread = CALLTREE_NONE };
	if (mt->memo)
		memset(mt->memo, 0, mt->cap);
}

/* 1: the stack is not on the path, 2: it is, 3: its frames are all on the path, which goes on. */
static uint8_t path_matches(const struct calltree_matcher *mt, const struct stacks *st,
			    uint32_t stack)
{
	uint32_t n;
	const uint32_t *frames = stacks_frames(st, stack, &n);

	for (uint32_t i = 0; i < mt->len && i < n; i++) {
		const struct frame *fr = stacks_frame(st, frames[i]);

		if (!fr || fr->function != mt->path[i])
			return 1;
	}
	return n >= mt->len ? 2 : 3;
}

/* Whether a stack (CALLTREE_NONE: none) followed by tail is under the path. */
static bool matches(struct calltree_matcher *mt, const struct stacks *st, uint32_t stack,
		    const char *const *tail)
{
	uint32_t at = 0;
	uint8_t m = 3;

	if (stack != CALLTREE_NONE) {
		if (stack >= mt->cap) {
			size_t old = mt->cap;

			mt->memo = xgrow(mt->memo, &mt->cap, (size_t)stack + 1, 1);
			memset(mt->memo + old, 0, mt->cap - old);
		}
		if (!mt->memo[stack])
			mt->memo[stack] = path_matches(mt, st, stack);
		m = mt->memo[stack];
		if (m != 3)
			return m == 2;
		stacks_frames(st, stack, &at);
	}
	if (at >= mt->len)
		return true;
	/* the path goes on past the frames: into the tail */
	for (uint32_t j = 0; tail && j < CALLTREE_TAIL && tail[j] && at < mt->len; j++, at++)
		if (tail[j] != mt->path[at])
			return false;
	return at >= mt->len;
}

uint64_t calltree_matcher_count(struct calltree_matcher *mt, const struct stacks *st,
				const struct threads *th, const struct tick_count *counts,
				size_t nr)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct tick_count *c = &counts[i];

		if (calltree_keeps(th, c->thread, &mt->filter) && matches(mt, st, c->stack, NULL))
			sum += c->count;
	}
	return sum;
}

uint64_t calltree_matcher_count_items(struct calltree_matcher *mt, const struct stacks *st,
				      const struct threads *th, const struct calltree_item *items,
				      size_t nr, uint64_t *whole)
{
	uint64_t sum = 0, all = 0;

	for (size_t i = 0; i < nr; i++) {
		const struct calltree_item *it = &items[i];

		if (!calltree_keeps(th, it->thread, &mt->filter))
			continue;
		all += it->count;
		if (matches(mt, st, it->stack, it->tail))
			sum += it->count;
	}
	if (whole)
		*whole = all;
	return sum;
}
