// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Go layer over a window (the newest N ticks, or everything since start): per Go process its
 * newest figures and the GC of the window, per goroutine group its count now and its change over
 * the window, and the profiles. What views and writers read; model/window.h is the rest.
 */
#ifndef MODEL_GOWINDOW_H
#define MODEL_GOWINDOW_H

#include <stddef.h>
#include <stdint.h>

#include "calltree.h"
#include "goroutines.h"

struct model;

struct gowin_proc {
	struct tick_go_proc p;    /* the newest tick's figures */
	uint64_t seen_ns;         /* end of the newest tick that reported it */
	uint32_t collections;     /* GCs in the window */
	uint32_t dropped;         /* inconsistent reads in the window */
	uint64_t pause_max_ns;    /* the longest GC pause in the window */
	uint64_t read_ns;         /* reading its goroutines, summed over the window */
	uint32_t min_goroutines, max_goroutines;
	uint32_t nr_ticks;        /* ticks of the window that reported it */
};

struct gowin_group {
	uint32_t group;     /* goroutines_group() */
	uint32_t count;     /* now (the newest tick) */
	int64_t change;     /* since the end of the window's oldest tick (the first tick that saw
			       a group is its baseline, not its growth): per second over
			       gowindow.change_ns */
	uint64_t oldest_ns; /* since when its longest-waiting goroutine waits; 0 unknown */
};

struct gowindow {
	uint64_t start_ns, end_ns;
	size_t nr_ticks;
	uint64_t change_ns;         /* what changes are over: end_ns - the oldest tick's end */
	struct gowin_proc *procs;   /* by pid */
	size_t nr_procs;
	struct gowin_group *groups; /* groups with goroutines now or a change, most goroutines
				       first */
	size_t nr_groups;
	const struct tick_goheap *profile; /* every bucket's totals now (model/goheap.h);
					      borrowed from the model until its next close */
	size_t nr_profile;
	struct tick_goheap *profile_change; /* their change since the end of the oldest tick
					       (over change_ns), by key */
	size_t nr_profile_change;
	/* private */
	size_t cap_procs, cap_groups, cap_change;
};

void gowindow_init(struct gowindow *w);
void gowindow_fini(struct gowindow *w);
/* Sums the newest nticks ticks of m (0: since start) into w, replacing what it held. */
void gowindow_sum(struct gowindow *w, const struct model *m, size_t nticks);
/* The process's entry, or NULL. */
const struct gowin_proc *gowindow_proc(const struct gowindow *w, uint32_t pid);
/* The change of a profile bucket over the window (NULL: none). */
const struct tick_goheap *gowindow_profile_change(const struct gowindow *w, uint32_t kind,
						  uint32_t pid, uint32_t stack);

/* What a goroutine weighs in gowindow_items(). */
enum gowin_weight {
	GOWIN_TIME,  /* its time: the tick lengths it lived through in the window, in ns */
	GOWIN_COUNT, /* 1, in the window's newest tick (pprof's goroutine profile) */
	GOWIN_NR,
};

/*
 * The goroutines of Go process pid as weighted stacks, for the flame of a goroutine group: an
 * item per group, its stack the group's (root first, the state or wait reason as the leaf),
 * thread CALLTREE_NONE. GOWIN_TIME is the goroutines' wall-clock view (fgprof's): each tick of
 * the window counts the goroutines a group had when the tick read them times the tick's
 * length, so 10 goroutines parked through a 5 s window weigh 50 s and a group that came and
 * went weighs what it lived. The window is the newest nticks ticks of m (0: every tick kept),
 * as gowindow_sum()'s. *items grows (*cap). Returns how many; by_status (GOROUTINES_NR long,
 * may be NULL) gets their weights by the groups' status.
 */
size_t gowindow_items(const struct model *m, size_t nticks, uint32_t pid, enum gowin_weight w,
		      struct calltree_item **items, size_t *cap, uint64_t *by_status);
/* The goroutines of pid as the tick ago ticks before the newest read them (counts): one tick
 * of the flame's strip. */
size_t gowindow_tick_items(const struct model *m, size_t ago, uint32_t pid,
			   struct calltree_item **items, size_t *cap);

#endif
