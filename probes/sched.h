// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched: where threads wait. BPF programs on sched_switch, sched_wakeup(_new) and process
 * exit keep every target thread's time running, runnable (waiting for a CPU) and blocked by
 * reason (lock, io, poll, sleep, other), and the user+kernel stacks of blocks of at least
 * min_block_us. probe_sched_tick() turns them into exact per-tick model_add_state() and
 * model_add_offcpu() calls (sched_acct.h says how). Losses (ring full, map full) are reported to
 * the model as lost, never silently dropped.
 */
#ifndef PROBES_SCHED_H
#define PROBES_SCHED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct syms;
struct probe_sched;
struct probe_ksym;
struct unwind;

#define PROBE_SCHED_MIN_BLOCK_US 1000 /* default --min-block */
/* Copies taken at a blocking switch-out wait in a preallocated kernel map (SCHED_MAX_PARKED of
 * them, each as big as stack_size): without --stack-size they take 16 KiB, not the on-CPU 32. */
#define PROBE_SCHED_STACK_DEFAULT 16384

struct probe_sched_opts {
	const uint32_t *pids; /* target processes (all their threads); NULL/0: whole system */
	size_t nr_pids;
	bool follow_children;  /* processes forked by a target become targets too */
	bool filter;	       /* only targets, even with no pids yet (probe_sched_add_pid()) */
	uint64_t min_block_us; /* shortest block reported with stacks; 0: the default */
	const char *proc_root; /* NULL: "/proc" */
	/* DWARF unwinding, as probes/cpu does it: with both set, a user thread that blocks has
	 * its registers and up to stack_size bytes (at most 32 KiB) of its user stack copied, and
	 * its block's user frames are unwound from that copy (unwind_user(): Go programs keep the
	 * frame-pointer walk and stop getting copies). 0/NULL: frame pointers only. */
	struct unwind *unwind; /* borrowed: must outlive the probe */
	uint32_t stack_size;
	/* Names a futex wait's user frames (borrowed): lock or wait (model/waits.h). NULL: every
	 * futex wait is a lock. */
	struct syms *syms;
	/* Who woke each block of at least min_block_us: the waker's stacks at the wakeup (two
	 * stack walks per such wakeup, ~4 us: opt-in), given to the model with the block. */
	bool waker_stacks;
	/* Finds __schedule and try_to_wake_up, whose frames and the tracepoints' own are cut from
	 * the kernel stacks, by asking the kernel (borrowed; NULL: the probe uses one of its own),
	 * rather than reading /proc/kallsyms, which it still does when the kernel cannot be asked. */
	struct probe_ksym *ksym;
};

/* Cumulative counters since the probe started (summed over CPUs). */
struct probe_sched_counters {
	uint64_t switches;     /* switch-outs and switch-ins of target threads */
	uint64_t wakeups;      /* wakeups of target threads */
	uint64_t blocks;       /* blocks sent with their stacks */
	uint64_t exits;	       /* thread exits reported */
	uint64_t ringbuf_lost; /* records dropped: the ring was full (MODEL_LOST_RINGBUF) */
	uint64_t wakers;       /* waker records sent (waker_stacks) */
	uint64_t waker_lost;   /* ... not sent: the ring was 3/4 full (those blocks show no waker) */
	uint64_t frames_dropped; /* ends of blocks sent without their frames: the ring was 3/4
				    full (their time shows under "[no stack]"; not lost) */
	uint64_t block_dropped; /* ends of blocks not sent: the ring was 7/8 full, the last eighth
				   kept for exits (MODEL_LOST_RINGBUF too) */
	uint64_t threads_full; /* events of threads the "threads" map had no room for */
	uint64_t stacks_full;  /* blocks whose stacks the "stacks" map had no room for */
	uint64_t targets_full; /* followed children not added: target map full */
	uint64_t no_stack;     /* long blocks sent without stacks: counted as MODEL_LOST_NO_STACK */
	uint64_t reused;       /* blocks that reused the stacks of the one before (same place) */
	uint64_t ustacks;      /* user stack copies sent for DWARF unwinding */
	uint64_t ustack_lost;  /* copies not sent: the ring was half full (those blocks: FP walk) */
	uint64_t ustack_miss;  /* blocks that named a copy user space did not have (FP walk) */
	uint64_t parked;       /* copies taken, kept in the kernel until their block is long */
	uint64_t park_full;    /* ... sent at once instead: SCHED_MAX_PARKED were kept already */
	uint64_t fetched;      /* ... read by a tick for a long block still open */
	uint64_t seeded_kernel; /* threads that existed before attach, seeded by the kernel */
	uint64_t seeded_proc;	/* ... seeded from /proc (no task iterator, or another root) */
	uint64_t threads;      /* entries in the "threads" map at the last tick */
	uint64_t max_threads;  /* its bound */
	uint64_t clipped_ns;   /* time dropped because a thread's totals grew by more than the
				  time between two ticks (see sched_acct_clipped_ns()) */
};

/*
 * Loads and attaches: tp_btf programs, else raw_tp ones (FLAMETOP_SCHED_RAW_TP=1 forces
 * raw_tp). Threads that exist already are seeded (by the kernel, else from /proc) so their first
 * tick is right too.
 * On failure returns -errno and writes a one-line reason a person can act on into err.
 */
int probe_sched_new(const struct probe_sched_opts *opts, struct probe_sched **out, char *err,
		    size_t errlen);
void probe_sched_free(struct probe_sched *p);

/* The fd to poll() for readability; records are sent without wakeups, so the owner also calls
 * drain() on its timer. */
int probe_sched_fd(const struct probe_sched *p);
/* Stack copies waiting for a walk are kept up to this; past it they are walked on arrival. */
#define PROBE_SCHED_COPIES_BYTES (16u << 20)
/* Bytes kept in user space: threads' stack copies waiting for a walk, and walks kept. */
size_t probe_sched_bytes(const struct probe_sched *p);
/* Feeds pending ring records (ended blocks, exits) to m; never blocks, and stops after PROBE_DRAIN_NS
 * (probes/probe.h) with records left for the next call. Returns records or
 * -errno. */
int probe_sched_drain(struct probe_sched *p, struct model *m);
/* The last drain stopped on its time budget with records left: drain again soon. */
bool probe_sched_behind(const struct probe_sched *p);
/* Drains, then reports every thread's state times up to now (and blocks still open). Call it
 * right before model_close_tick(m, now) with the same now. Returns threads read or -errno. */
int probe_sched_tick(struct probe_sched *p, struct model *m, uint64_t now);
/* Adds a target process after start (only for a probe made with pids or opts.filter). */
int probe_sched_add_pid(struct probe_sched *p, uint32_t pid);
/* "tp_btf" or "raw_tp": which programs are attached. */
const char *probe_sched_mode(const struct probe_sched *p);
/* Why tp_btf did not load or attach when raw_tp runs instead (the error), or NULL. */
const char *probe_sched_fallback(const struct probe_sched *p);
void probe_sched_counters(const struct probe_sched *p, struct probe_sched_counters *out);
/* The ring buffer's size in bytes. */
size_t probe_sched_ring_bytes(const struct probe_sched *p);

#endif
