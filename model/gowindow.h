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

#endif
