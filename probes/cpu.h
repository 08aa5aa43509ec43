// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/cpu: on-CPU stack sampling. A BPF program on one software cpu-clock perf event per CPU
 * captures user and kernel stacks and hands them to user space through a ring buffer; drain()
 * feeds them to the model. Samples whose stacks could not be captured and events dropped on the
 * way (ring full) are counted and reported to the model as lost, never silently dropped.
 */
#ifndef PROBES_CPU_H
#define PROBES_CPU_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct probe_cpu;
struct probe_sideband;
struct unwind;

/* The most user stack bytes the BPF sampler copies per sample (more is cut to this). */
#define PROBE_CPU_STACK_MAX 32768

struct probe_cpu_opts {
	unsigned freq_hz;     /* samples per second per CPU; 0 for the default (99) */
	const uint32_t *pids; /* target processes (all their threads); NULL/0: whole system */
	size_t nr_pids;
	bool follow_children; /* processes forked by a target become targets too */
	bool filter;          /* only targets, even with no pids yet (probe_cpu_add_pid() adds
	                         them later, e.g. the command flametop launches) */
	uint32_t stack_size;  /* user stack bytes copied with each sample for DWARF unwinding
	                         (at most 32 KiB); 0: the frame-pointer walk only */
	struct unwind *unwind; /* borrowed: walks the copies (model/unwind.h); NULL: frame
	                          pointers only */
	struct probe_sideband *sideband; /* borrowed: process events applied in time order with
					    the samples (probes/sideband.h); may be NULL */
};

/* Cumulative counters since the probe started (summed over CPUs; one map read per call).
 * samples == delivered + no_stack + ringbuf_lost once the ring is drained. */
struct probe_cpu_counters {
	uint64_t samples;      /* samples taken of target threads */
	uint64_t ringbuf_lost; /* dropped because the ring buffer was full */
	uint64_t no_user;      /* user stack could not be captured (user thread) */
	uint64_t no_kernel;    /* kernel stack could not be captured while in kernel */
	uint64_t no_stack;     /* neither stack: not delivered, reported as MODEL_LOST_NO_STACK */
	uint64_t targets_full; /* followed children not added: target map full (MAP_FULL) */
	uint64_t copy_dropped; /* delivered without their stack copy: the ring was half full */
};

/*
 * Loads and attaches. On failure returns -errno and writes a one-line reason a person can act on
 * into err (e.g. "cannot load BPF programs: Operation not permitted (need root or
 * CAP_BPF+CAP_PERFMON; try: sudo flametop)").
 */
int probe_cpu_new(const struct probe_cpu_opts *opts, struct probe_cpu **out, char *err,
		  size_t errlen);
void probe_cpu_free(struct probe_cpu *p);

/* The fd to poll() for readability. Samples are sent without wakeups (cheaper), so the fd rarely
 * becomes readable: the owner also calls drain() on its timer, at least every ~100 ms. */
int probe_cpu_fd(const struct probe_cpu *p);
/* Feeds every pending sample to m; never blocks, and stops after PROBE_DRAIN_NS
 * (probes/probe.h) with records left for the next call. Returns samples consumed or -errno. */
int probe_cpu_drain(struct probe_cpu *p, struct model *m);
/* The last drain stopped on its time budget with records left: drain again soon. */
bool probe_cpu_behind(const struct probe_cpu *p);
/* Adds a target process after start (e.g. the command flametop launched). Only for a probe made
 * with pids or opts.filter: a whole-system probe returns -EINVAL. */
int probe_cpu_add_pid(struct probe_cpu *p, uint32_t pid);
void probe_cpu_counters(const struct probe_cpu *p, struct probe_cpu_counters *out);
/* The ring buffer's size in bytes. */
size_t probe_cpu_ring_bytes(const struct probe_cpu *p);

#endif
