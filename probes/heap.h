// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap: who makes memory grow. Two modes (docs/ARCHITECTURE.md, "probes/heap"):
 *
 *  growth (default, cheap): the kmem:rss_stat tracepoint — the kernel changing a process's
 *    resident anonymous, shmem or swap counters, in the thread that changed them — with that
 *    thread's user stack. Nothing traps the allocator: a malloc/free loop does not notice, any
 *    allocator (glibc, jemalloc, Go, a JVM) is seen, and what shows is what grows RSS: the first
 *    touch of new memory, and its release (negative).
 *
 *  exact (leak mode, one target, for a limited time): uprobes on the allocator the target uses
 *    (heap_sym.h) report every allocation with its stack and every free; heap_match.c matches
 *    them, so the model gets, per allocating stack, the bytes and blocks outstanding and the
 *    oldest live blocks. Every call traps: the cost is measured at start and stated.
 *
 * Per-process memory (RSS, anon, file, swap) comes from /proc (probes/proc.h), not from here.
 */
#ifndef PROBES_HEAP_H
#define PROBES_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct unwind;
struct probe_heap;

#define PROBE_HEAP_EXACT_SECONDS 60 /* leak mode's default duration */
#define PROBE_HEAP_SAMPLE_BYTES (512u << 10) /* growth: a stack per 512 KiB on average */

struct probe_heap_opts {
	const uint32_t *pids;  /* target processes; NULL/0: the whole system (growth only) */
	size_t nr_pids;
	bool follow_children;  /* processes forked by a target become targets (growth) */
	bool filter;           /* targets only, even with no pids yet (probe_heap_add_pid()) */
	bool exact;            /* leak mode on the single target (probe_heap_exact() for a
				  command launched later) */
	double exact_seconds;  /* leak mode ends after this long; 0 for the default */
	uint32_t stack_size;   /* user stack bytes copied per event for DWARF; 0: frame pointers */
	uint64_t sample_bytes; /* growth: a stack per this many bytes a process grows (or
				  releases) on average, carrying all of them; 0: the default
				  PROBE_HEAP_SAMPLE_BYTES; below a page: every change */
	struct unwind *unwind; /* borrowed: walks the copies; NULL: frame pointers only */
};

/* Cumulative counters (summed over CPUs). */
struct probe_heap_counters {
	uint64_t rss_events;   /* RSS counter changes of targets */
	uint64_t records;      /* events sent to user space */
	uint64_t ringbuf_lost; /* events dropped: the ring was full */
	uint64_t no_user;      /* events without a user stack */
	uint64_t calls;        /* leak mode: allocator calls traced */
	uint64_t pending_full; /* leak mode: calls lost, no room for their arguments */
	uint64_t mms_full;     /* address spaces that could not be followed */
	uint64_t targets_full;
	uint64_t unsampled;    /* changes folded into a later event (opts.sample_bytes) */
	uint64_t copy_dropped; /* events sent without their stack copy: the ring was half full */
};

/*
 * Loads and attaches. On failure returns -errno and writes a one-line reason a person can act on
 * into err; a leak mode that cannot attach (no allocator found) fails here too.
 */
int probe_heap_new(const struct probe_heap_opts *opts, struct probe_heap **out, char *err,
		   size_t errlen);
void probe_heap_free(struct probe_heap *p);

/* The fd to poll() (rarely readable: events are sent without wakeups; drain on a timer). */
int probe_heap_fd(const struct probe_heap *p);
/* Feeds pending events to the model; never blocks, and stops after PROBE_DRAIN_NS
 * (probes/probe.h) with records left for the next call. Returns events consumed or -errno. */
int probe_heap_drain(struct probe_heap *p, struct model *m);
/* The last drain stopped on its time budget with records left: drain again soon. */
bool probe_heap_behind(const struct probe_heap *p);
/* Once per tick, right before model_close_tick(): drains, then gives the model leak mode's
 * changes, its oldest outstanding blocks and the tick's heap figures (what ran, calls, loss,
 * cost); ends leak mode when its time is up. */
void probe_heap_tick(struct probe_heap *p, struct model *m, uint64_t now_ns);
/* Adds a target after start. Only for a probe made with pids or opts.filter. */
int probe_heap_add_pid(struct probe_heap *p, uint32_t pid);
/* Leak mode on pid now (the launched command, before it execs: uprobes on this system's C
 * library; whatever else it maps is found at the next ticks). 0 or -errno with a reason;
 * -EINVAL for a probe not made with opts.exact (its uprobe programs were not loaded). */
int probe_heap_exact(struct probe_heap *p, uint32_t pid, char *err, size_t errlen);

/* What runs, for headers and reports: "rss_stat (tp_btf)", "... + 8 uprobes on libc.so.6". */
const char *probe_heap_describe(const struct probe_heap *p);
/* Why tp_btf did not load or attach when raw_tp runs instead (the error), or NULL. */
const char *probe_heap_fallback(const struct probe_heap *p);
/* Leak mode: active now; its measured cost per malloc/free pair in ns (0: not measured); seconds
 * left. */
bool probe_heap_exact_active(const struct probe_heap *p);
double probe_heap_pair_ns(const struct probe_heap *p);
double probe_heap_exact_left(const struct probe_heap *p, uint64_t now_ns);
void probe_heap_counters(const struct probe_heap *p, struct probe_heap_counters *out);
/* The ring buffer's size in bytes. */
size_t probe_heap_ring_bytes(const struct probe_heap *p);

#endif
