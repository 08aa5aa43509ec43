// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/perf: on-CPU sampling with perf events alone, no BPF: the source where BPF cannot load
 * (no CAP_BPF, an old or locked-down kernel), including an unprivileged user profiling their own
 * processes when kernel.perf_event_paranoid <= 2. Each sample carries the kernel's call chain
 * (kernel frames and a frame-pointer walk of the user stack), the user registers and a copy of
 * the top of the user stack, which model/unwind.c walks with DWARF unwind info.
 *
 * Whole system: one cpu-clock event per CPU (needs CAP_PERFMON or perf_event_paranoid <= 0).
 * Targets (-p, -- CMD): one event per (thread, CPU), inherited by the threads and processes
 * they create later; the events of a CPU all write into one ring buffer
 * (PERF_EVENT_IOC_SET_OUTPUT), so memory stays per CPU. Records are read from those rings;
 * drain() never blocks.
 */
#ifndef PROBES_PERF_H
#define PROBES_PERF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct syms;
struct unwind;
struct probe_perf;

#define PROBE_PERF_STACK_DEFAULT 16384 /* bytes of user stack copied per sample */
#define PROBE_PERF_STACK_MAX 65528     /* the kernel's limit (< 64 KiB, 8-byte aligned); it
					  copies less when the whole sample would not fit */

struct probe_perf_opts {
	unsigned freq_hz;      /* samples per second per CPU; 0 for 99 */
	const uint32_t *pids;  /* target processes (all their threads); NULL/0: whole system */
	size_t nr_pids;
	bool filter;           /* targets only, even with no pids yet (probe_perf_add_pid()) */
	uint32_t stack_size;   /* user stack bytes per sample (rounded up to 8); 0: no copy, the
				  frame-pointer walk only */
	struct unwind *unwind; /* borrowed: turns registers + stack copies into user frames; NULL:
				  frame pointers only */
	struct syms *syms;     /* borrowed, may be NULL: told when processes map code or exec */
};

/* Cumulative counters. */
struct probe_perf_counters {
	uint64_t samples;     /* samples of target threads */
	uint64_t lost;        /* records the kernel dropped (rings full) */
	uint64_t no_user;     /* user thread, but no user frame at all */
	uint64_t stack_bytes; /* user stack bytes received, summed */
	uint64_t events;      /* perf events open */
};

/*
 * Opens and enables the events. On failure returns -errno and writes a one-line reason a person
 * can act on into err.
 */
int probe_perf_new(const struct probe_perf_opts *opts, struct probe_perf **out, char *err,
		   size_t errlen);
void probe_perf_free(struct probe_perf *p);

/* An fd to poll() for readability (an epoll set of the rings; wakes when one is half full). */
int probe_perf_fd(const struct probe_perf *p);
/* Feeds pending samples to m; never blocks, and stops after PROBE_DRAIN_NS (probes/probe.h)
 * with records left for the next call. Returns samples consumed or -errno. */
int probe_perf_drain(struct probe_perf *p, struct model *m);
/* The last drain stopped on its time budget with records left: drain again soon. */
bool probe_perf_behind(const struct probe_perf *p);
/* Adds a target process after start (the command flametop launched, before it execs): its
 * threads and children are followed. Only for a probe made with pids or opts.filter. */
int probe_perf_add_pid(struct probe_perf *p, uint32_t pid);
void probe_perf_counters(const struct probe_perf *p, struct probe_perf_counters *out);
/* False when the kernel only allowed user-space samples (perf_event_paranoid >= 2 without
 * privileges): stacks then have no kernel frames. */
bool probe_perf_kernel(const struct probe_perf *p);

#endif
