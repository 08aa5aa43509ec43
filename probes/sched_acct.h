// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched, user-space half: turns what sched.bpf.c keeps (per-thread cumulative state
 * times, open intervals, blocked intervals with stacks, exits) into exact per-tick model events.
 * Pure C, no libbpf: the loader (sched.c) reads the maps and the ring and hands the copies here;
 * tests drive it with synthetic entries.
 *
 * Per tick the loader calls, in this order, with the `now` it will close the tick at:
 *   sched_acct_block()/sched_acct_exit() for each ring record (any time; drains come first),
 *   sched_acct_begin(now), for every entry of the "threads" map sched_acct_open_block() with
 *   the thread's slot of "stacks" when sched_acct_wants_slot() asks for it, then
 *   sched_acct_thread(); sched_acct_end().
 *
 * States: for each (tid, born_ns) the totals last reported are kept; a pass reports the increase
 * of acc_ns + the open interval up to now. So every tick gets exactly the time spent in it, an
 * interval that spans ticks is split at their boundaries, and the sum over ticks is the kernel's
 * sum. An exit record reports what happened since the last pass. A copy torn by a concurrent
 * update can only shift time between two neighbouring ticks (totals only ever grow).
 *
 * Block hot spots: a block still open at a tick boundary and already min_block_ns long is
 * reported up to now with the stacks of its slot (kept here until it ends), so a thread stuck for
 * minutes shows where from the first tick; the record sent when it ends reports the rest.
 */
#ifndef PROBES_SCHED_ACCT_H
#define PROBES_SCHED_ACCT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <linux/types.h>

#include "probes/sched_abi.h"

struct model;
struct sched_acct;

struct sched_acct_opts {
	uint64_t min_block_ns; /* shortest block reported with stacks */
	/* What a thread blocked in futex with these user frames (leaf first) waits for:
	 * MODEL_STATE_WAIT (work or an event: a condition variable, parking, an idle scheduler)
	 * or MODEL_STATE_LOCK (a lock someone holds). NULL: every futex wait is a lock. */
	int (*classify)(void *ctx, uint32_t pid, const uint64_t *user, uint32_t nr_user);
	/* The same for a thread blocked in futex since before the probe saw it block (no stacks
	 * of that block will come: it was blocked at attach): looked at where it is now.
	 * MODEL_STATE_NR when that cannot be told. NULL: lock. */
	int (*classify_blocked)(void *ctx, uint32_t pid, uint32_t tid);
	void *classify_ctx;
	/* Text of the kernel's __schedule, [lo, hi); 0 when unknown. Kernel frames taken in the
	 * tracepoint (bpf_prog_*, bpf_trace_run*, __traceiter_*) up to and including the one in
	 * __schedule are dropped: the first kept frame is schedule() or its caller. */
	uint64_t sched_lo, sched_hi;
	/* Text of try_to_wake_up, [lo, hi): a waker's kernel frames up to it are dropped the same
	 * way; 0 when unknown. */
	uint64_t wake_lo, wake_hi;
};

int sched_acct_new(const struct sched_acct_opts *opts, struct sched_acct **out);
void sched_acct_free(struct sched_acct *a);

/*
 * Futex time is split into lock and wait (model/waits.h) by the user frames of the thread's
 * blocks that have stacks (at least min_block_ns long): their time goes where their frames say,
 * the rest of the thread's futex time in that pass the way of its last such block.
 */

/* A pass over the "threads" map at a tick boundary. */
void sched_acct_begin(struct sched_acct *a, uint64_t now);
/* True when the thread is in a block at least min_block_ns long whose stacks are not known here
 * yet: its "stacks" slot, passed to sched_acct_open_block() before sched_acct_thread(), tells
 * what the block waits for in time for this pass's split. */
bool sched_acct_wants_slot(struct sched_acct *a, uint32_t tid, const struct sched_thread *t);
/* One entry (a consistent copy). Returns true when the thread is in a block at least
 * min_block_ns long whose stacks are not known here yet: pass its "stacks" slot to
 * sched_acct_open_block() (it counts from the next pass). */
bool sched_acct_thread(struct sched_acct *a, struct model *m, uint32_t tid,
		       const struct sched_thread *t);
/* The slot of a thread for which sched_acct_thread() returned true (ignored when it belongs to
 * another block). Returns true when it was used. */
bool sched_acct_open_block(struct sched_acct *a, struct model *m, uint32_t tid,
			   const struct sched_thread *t, const struct sched_block_rec *slot);
/* Ends the pass: forgets threads and blocks that were not seen in the last two passes. */
void sched_acct_end(struct sched_acct *a);

/* Ring records. size is what the ring delivered; a malformed record returns -EINVAL. */
int sched_acct_block(struct sched_acct *a, struct model *m, const struct sched_block_rec *r,
		     size_t size);
int sched_acct_exit(struct sched_acct *a, struct model *m, const struct sched_exit_rec *r,
		    size_t size);
/* The end of a block without its stacks (the ring was 3/4 full): its time under "[no stack]"
 * and its reason (a futex wait goes the way of the thread's last block with stacks), or, for a
 * block open at a tick before, with the stacks kept for it then. */
int sched_acct_bare(struct sched_acct *a, struct model *m, const struct sched_bare_rec *r,
		    size_t size);
/* Who woke a block (--waker-stacks): kept until the block's record comes, which it precedes, and
 * then given to the model with it (model_add_wake()); forgotten after two passes without one. */
int sched_acct_waker(struct sched_acct *a, const struct sched_waker_rec *w, size_t size);

/* Threads that were born and ended between two passes and lived less than SCHED_ACCT_SHORT_NS
 * are summed per process into one model thread: tid SCHED_ACCT_SHORT_TID(pid) (no real tid has
 * bit 31 set: pid_max is at most 2^22), comm "[short-lived]". */
#define SCHED_ACCT_SHORT_NS 100000000ull
#define SCHED_ACCT_SHORT_TID(pid) (0x80000000u | (uint32_t)(pid))

/* Drops kernel frames up to and including the one in [lo, hi), if one of the first few is.
 * Returns the index of the first frame kept. */
uint32_t sched_acct_strip(const uint64_t *kernel, uint32_t nr, uint64_t lo, uint64_t hi);

/* Time a thread's totals grew by beyond the time between two passes (two CPUs counting one
 * interval), dropped so that no thread spends more than the time there was. */
uint64_t sched_acct_clipped_ns(const struct sched_acct *a);

/* Threads and open blocks currently remembered (memory stays flat: tests and the benchmark). */
size_t sched_acct_nr_threads(const struct sched_acct *a);
/* The bytes it holds. */
size_t sched_acct_bytes(const struct sched_acct *a);
size_t sched_acct_nr_blocks(const struct sched_acct *a);

#endif
