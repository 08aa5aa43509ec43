// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Go runtime source: every tick, for each Go process among the targets (the whole system
 * when there are none; a process is Go when its executable has .go.buildinfo or .gopclntab),
 * its goroutines (probes/goread.c), GC figures and profiles (probes/goprof.c) read from its
 * memory and handed to the model (model/goroutines.h). Nothing is stopped, nothing is written
 * into the process unless asked (--go-memprofile-rate).
 *
 * A process whose runtime cannot be read (no permission: CAP_SYS_PTRACE, Yama; an unknown
 * version without DWARF; a scan or a validation that failed) is reported with the reason once
 * (probe_goruntime_warning()) and every tick (the model's tick_go_proc.error); the rest goes on.
 */
#ifndef PROBES_GORUNTIME_H
#define PROBES_GORUNTIME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct probe_goruntime;

struct probe_goruntime_opts {
	const char *proc_root;     /* NULL for "/proc" */
	const uint32_t *pids;      /* targets (copied); none: every process */
	size_t nr_pids;
	bool follow_children;      /* the targets' descendants too (a launched command) */
	int64_t memprofile_rate;   /* >= 0: write it into each Go target's runtime.MemProfileRate
				      (--go-memprofile-rate: changes the target); -1: never write */
	uint64_t stack_budget;     /* stack bytes read per process and tick; 0 for the default */
	bool scan_only;            /* ignore .symtab and DWARF addresses (tests of the scans) */
};

int probe_goruntime_new(const struct probe_goruntime_opts *o, struct probe_goruntime **out);
void probe_goruntime_free(struct probe_goruntime *p);

/* Reads every Go process and reports it to the model's open tick. */
void probe_goruntime_tick(struct probe_goruntime *p, struct model *m, uint64_t now_ns);

/* The next warning not yet taken (one per process and problem), or NULL. The string is valid
 * until the next call. */
const char *probe_goruntime_warning(struct probe_goruntime *p);

/* How many Go processes are read, and of those how many are off. */
void probe_goruntime_counts(const struct probe_goruntime *p, size_t *go, size_t *off);

/* Scans of processes' .bss/.noptrbss for the runtime's profile buckets and memstats (golocate.h),
 * all processes, since the start. */
uint64_t probe_goruntime_scans(const struct probe_goruntime *p);

/* CPU time flametop spent reading Go processes, in total and in the newest tick (ns). */
void probe_goruntime_cost(const struct probe_goruntime *p, uint64_t *total_ns,
			  uint64_t *last_tick_ns);

#endif
