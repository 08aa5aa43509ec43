// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "counts.h"
#include "goheap.h"
#include "gowindow.h"
#include "model.h"
#include "xalloc.h"

void gowindow_init(struct gowindow *w)
{
	memset(w, 0, sizeof(*w));
}

void gowindow_fini(struct gowindow *w)
{
	free(w->procs);
	free(w->groups);
	free(w->profile_change);
	memset(w, 0, sizeof(*w));
}

static struct gowin_proc *proc_of(struct gowindow *w, uint32_t pid, bool *fresh)
{
	size_t lo = 0, hi = w->nr_procs;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (w->procs[mid].p.pid < pid)
			lo = mid + 1;
		else
			hi = mid;
	}
	*fresh = lo == w->nr_procs || w->procs[lo].p.pid != pid;
	if (*fresh) {
		w->procs = xgrow(w->procs, &w->cap_procs, w->nr_procs + 1, sizeof(*w->procs));
		memmove(w->procs + lo + 1, w->procs + lo, (w->nr_procs - lo) * sizeof(*w->procs));
		memset(&w->procs[lo], 0, sizeof(w->procs[lo]));
		w->procs[lo].p.pid = pid;
		w->nr_procs++;
	}
	return &w->procs[lo];
}

static int by_count(const void *a, const void *b)
{
	const struct gowin_group *x = a, *y = b;

	if (x->count != y->count)
		return x->count > y->count ? -1 : 1;
	if (x->change != y->change)
		return x->change > y->change ? -1 : 1;
	return (x->group > y->group) - (x->group < y->group);
}

static void add_procs(struct gowindow *w, const struct tick *t)
{
	for (size_t i = 0; i < t->go->nr_procs; i++) {
		const struct tick_go_proc *in = &t->go->procs[i];
		bool fresh;
		struct gowin_proc *p = proc_of(w, in->pid, &fresh);

		if (fresh) {
			p->p = *in;
			p->seen_ns = t->end_ns;
			p->min_goroutines = p->max_goroutines = in->goroutines;
		}
		p->collections += in->gc.collections;
		if (in->gc.pause_max_ns > p->pause_max_ns)
			p->pause_max_ns = in->gc.pause_max_ns;
		p->dropped += in->dropped;
		p->read_ns += in->read_ns;
		if (in->goroutines < p->min_goroutines)
			p->min_goroutines = in->goroutines;
		if (in->goroutines > p->max_goroutines)
			p->max_goroutines = in->goroutines;
		p->nr_ticks++;
	}
}

static void add_profile(struct gowindow *w, const struct tick *t)
{
	for (size_t i = 0; i < t->go->nr_heap; i++) {
		w->profile_change = xgrow(w->profile_change, &w->cap_change,
					  w->nr_profile_change + 1, sizeof(*w->profile_change));
		w->profile_change[w->nr_profile_change++] = t->go->heap[i];
	}
}

/* Sorts the profile changes and merges those of one bucket. */
static void merge_profile(struct gowindow *w)
{
	size_t n = 0;

	if (!w->nr_profile_change)
		return;
	qsort(w->profile_change, w->nr_profile_change, sizeof(*w->profile_change),
	      goheap_cmp_key);
	for (size_t i = 0; i < w->nr_profile_change; i++) {
		struct tick_goheap *e = &w->profile_change[i];

		if (n && !goheap_cmp_key(&w->profile_change[n - 1], e)) {
			for (int k = 0; k < GOHEAP_VALUES; k++)
				w->profile_change[n - 1].v[k] =
					(int64_t)((uint64_t)w->profile_change[n - 1].v[k] +
						  (uint64_t)e->v[k]);
			continue;
		}
		w->profile_change[n++] = *e;
	}
	w->nr_profile_change = n;
}

void gowindow_sum(struct gowindow *w, const struct model *m, size_t nticks)
{
	const struct goroutines *g = model_goroutines(m);
	size_t have = model_nr_ticks(m), n = nticks && nticks < have ? nticks : have;
	uint32_t nr_groups = goroutines_nr_groups(g);
	struct counts change;

	w->nr_procs = w->nr_groups = w->nr_profile_change = 0;
	w->nr_ticks = n;
	w->start_ns = w->end_ns = w->change_ns = 0;
	counts_init(&change);
	for (size_t ago = 0; ago < n; ago++) {
		const struct tick *t = model_tick(m, ago);

		if (!ago)
			w->end_ns = t->end_ns;
		w->start_ns = t->start_ns;
		w->change_ns = w->end_ns - t->end_ns;
		if (!t->go)
			continue;
		add_procs(w, t);
		if (ago == n - 1)
			continue; /* the baseline */
		add_profile(w, t);
		/* counts hold unsigned values: keep the added and removed goroutines apart */
		for (size_t i = 0; i < t->go->nr_groups; i++) {
			const struct tick_go_group *e = &t->go->groups[i];

			counts_add(&change, e->group, e->delta >= 0 ? 0 : 1,
				   e->delta >= 0 ? (uint64_t)e->delta : (uint64_t)-(int64_t)e->delta);
		}
	}
	for (uint32_t id = 0; id < nr_groups; id++) {
		uint64_t oldest;
		uint32_t count = goroutines_count(g, id, &oldest);
		const struct tick_count *up = counts_find(&change, id, 0), *down;
		int64_t d;

		down = counts_find(&change, id, 1);
		d = (int64_t)(up ? up->count : 0) - (int64_t)(down ? down->count : 0);
		if (!count && !d)
			continue;
		w->groups = xgrow(w->groups, &w->cap_groups, w->nr_groups + 1, sizeof(*w->groups));
		w->groups[w->nr_groups++] = (struct gowin_group){
			.group = id, .count = count, .change = d, .oldest_ns = oldest,
		};
	}
	counts_fini(&change);
	if (w->nr_groups)
		qsort(w->groups, w->nr_groups, sizeof(*w->groups), by_count);
	merge_profile(w);
	w->profile = goheap_current(goroutines_heap(g), &w->nr_profile);
}

const struct gowin_proc *gowindow_proc(const struct gowindow *w, uint32_t pid)
{
	for (size_t i = 0; i < w->nr_procs; i++)
		if (w->procs[i].p.pid == pid)
			return &w->procs[i];
	return NULL;
}

const struct tick_goheap *gowindow_profile_change(const struct gowindow *w, uint32_t kind,
						  uint32_t pid, uint32_t stack)
{
	struct tick_goheap k = { .kind = kind, .pid = pid, .stack = stack };

	return bsearch(&k, w->profile_change, w->nr_profile_change, sizeof(k),
		       goheap_cmp_key);
}

/* A group's state while the ticks are walked back from the newest (goroutines_count()). */
struct walk_group {
	uint32_t count; /* at the end of the tick being walked */
	uint64_t since; /* the window time walked when count began (walking back) */
	uint64_t weight;
};

/*
 * Walks the ticks from the newest back, undoing each tick's changes: the ticks before skip
 * (newer than the window) only move the counts; the nticks after them add count x length.
 * nticks 0: up to the oldest kept. count_only: the weight is the count at the window's newest.
 */
static size_t collect(const struct model *m, size_t skip, size_t nticks, uint32_t pid,
		      bool count_only, struct calltree_item **items, size_t *cap, uint64_t *by_status)
{
	const struct goroutines *g = model_goroutines(m);
	uint32_t nr_groups = goroutines_nr_groups(g);
	size_t have = model_nr_ticks(m), end, n = 0;
	struct walk_group *wg;
	uint64_t walked = 0;

	if (by_status)
		memset(by_status, 0, GOROUTINES_NR * sizeof(*by_status));
	if (skip >= have)
		return 0;
	end = nticks && skip + nticks < have ? skip + nticks : have;
	wg = xcalloc(nr_groups ? nr_groups : 1, sizeof(*wg));
	for (uint32_t id = 0; id < nr_groups; id++) {
		const struct go_group *grp = goroutines_group(g, id);

		if (grp && grp->pid == pid)
			wg[id].count = goroutines_count(g, id, NULL);
	}
	for (size_t ago = 0; ago < end; ago++) {
		const struct tick *t = model_tick(m, ago);

		if (ago == skip && count_only)
			break;
		if (ago >= skip)
			walked += t->end_ns > t->start_ns ? t->end_ns - t->start_ns : 0;
		for (size_t i = 0; t->go && i < t->go->nr_groups; i++) {
			const struct tick_go_group *e = &t->go->groups[i];
			struct walk_group *x;

			if (e->group >= nr_groups || goroutines_group(g, e->group)->pid != pid)
				continue;
			x = &wg[e->group];
			x->weight += x->count * (walked - x->since);
			x->since = walked;
			/* before this tick it had what it has now minus what the tick added */
			x->count = (uint32_t)((int64_t)x->count - e->delta);
		}
	}
	for (uint32_t id = 0; id < nr_groups; id++) {
		struct walk_group *x = &wg[id];
		uint64_t v = count_only ? x->count : x->weight + x->count * (walked - x->since);
		const struct go_group *grp = goroutines_group(g, id);

		if (!v)
			continue;
		*items = xgrow(*items, cap, n + 1, sizeof(**items));
		(*items)[n++] = (struct calltree_item){
			.thread = CALLTREE_NONE,
			.stack = grp->stack,
			.count = v,
		};
		if (by_status && grp->status < GOROUTINES_NR)
			by_status[grp->status] += v;
	}
	free(wg);
	return n;
}

size_t gowindow_items(const struct model *m, size_t nticks, uint32_t pid, enum gowin_weight w,
		      struct calltree_item **items, size_t *cap, uint64_t *by_status)
{
	return collect(m, 0, w == GOWIN_COUNT ? 1 : nticks, pid, w == GOWIN_COUNT, items, cap,
		       by_status);
}

size_t gowindow_tick_items(const struct model *m, size_t ago, uint32_t pid,
			   struct calltree_item **items, size_t *cap)
{
	return collect(m, ago, 1, pid, true, items, cap, NULL);
}
