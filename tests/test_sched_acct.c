// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched without BPF: the state machine of sched_state.h (the same code the BPF programs
 * run) driven with synthetic event sequences, and sched_acct turning its entries into per-tick
 * model events. Times are in ms for readability; ticks are 1 s.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <linux/types.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"
#include "probes/sched_abi.h"
#include "probes/sched_acct.h"
#include "probes/sched_state.h"

#define MS 1000000ull
#define S 1000000000ull
#define T0 (100 * S) /* the clock does not start at 0 */

struct fixture {
	struct model *m;
	struct sched_acct *a;
};

static int setup(void **state)
{
	static struct fixture fx;
	struct sched_acct_opts o = { .min_block_ns = 1 * MS };

	model_new(NULL, &fx.m);
	sched_acct_new(&o, &fx.a);
	*state = &fx;
	return 0;
}

static int teardown(void **state)
{
	struct fixture *fx = *state;

	sched_acct_free(fx->a);
	model_free(fx->m);
	return 0;
}

static void name(struct sched_thread *t, const char *comm)
{
	strncpy(t->comm, comm, sizeof(t->comm));
	strncpy(t->pcomm, "app", sizeof(t->pcomm));
}

/* One tick boundary at now over these entries (tids[i] → ts[i]). */
static void tick(struct fixture *fx, uint64_t now, const __u32 *tids, struct sched_thread **ts,
		 int n)
{
	sched_acct_begin(fx->a, now);
	for (int i = 0; i < n; i++)
		sched_acct_thread(fx->a, fx->m, tids[i], ts[i]);
	sched_acct_end(fx->a);
	model_close_tick(fx->m, now);
}

/* ns of (tid, state) in the tick `ago` ticks back. */
static uint64_t in_tick(struct fixture *fx, size_t ago, uint32_t tid, enum model_state s)
{
	const struct tick *t = model_tick(fx->m, ago);
	const struct threads *th = model_threads(fx->m);
	uint64_t sum = 0;

	assert_non_null(t);
	for (size_t i = 0; i < t->nr_states; i++)
		if (threads_get(th, t->states[i].thread)->tid == tid && t->states[i].stack == s)
			sum += t->states[i].count;
	return sum;
}

static uint64_t tick_total(struct fixture *fx, size_t ago, uint32_t tid)
{
	uint64_t sum = 0;

	for (int s = 0; s < MODEL_STATE_NR; s++)
		sum += in_tick(fx, ago, tid, s);
	return sum;
}

static void test_sched_acct_reasons(void **state)
{
	/* the syscall a thread is in decides, unless its task state already does */
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 202), SCHED_LOCK);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 230), SCHED_SLEEP);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 35), SCHED_SLEEP);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 7), SCHED_POLL);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 232), SCHED_POLL);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 441), SCHED_POLL);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 0), SCHED_BY_FD);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, 61), SCHED_OTHER);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, false, -1), SCHED_OTHER);
	assert_int_equal(sched_reason(SCHED_TASK_UNINTERRUPTIBLE, false, 202), SCHED_IO);
	assert_int_equal(sched_reason(SCHED_TASK_UNINTERRUPTIBLE, true, -1), SCHED_IO);
	/* TASK_IDLE (an idle kernel thread) is not I/O; stopped/traced is other */
	assert_int_equal(sched_reason(SCHED_TASK_UNINTERRUPTIBLE | SCHED_TASK_NOLOAD, true, -1),
			 SCHED_OTHER);
	assert_int_equal(sched_reason(0x4, false, 202), SCHED_OTHER);
	assert_int_equal(sched_reason(SCHED_TASK_INTERRUPTIBLE, true, 202), SCHED_OTHER);
	assert_int_equal(sched_reason(SCHED_TASK_RTLOCK_WAIT, false, -1), SCHED_LOCK);
	/* read/write: files and block devices are I/O, pipes and sockets are not */
	assert_int_equal(sched_fd_reason(0100644), SCHED_IO);
	assert_int_equal(sched_fd_reason(0060660), SCHED_IO);
	assert_int_equal(sched_fd_reason(0010600), SCHED_OTHER);
	assert_int_equal(sched_fd_reason(0140777), SCHED_OTHER);
}

/* The machine itself: every transition closes the open interval into its state. */
static void test_sched_acct_machine(void **state)
{
	struct sched_thread t;
	__u64 since = 0, out[SCHED_NR_STATES];

	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	sched_on_switch_out(&t, SCHED_LOCK, T0 + 30 * MS);
	assert_int_equal(sched_on_wakeup(&t, T0 + 80 * MS, &since), 50 * MS);
	assert_int_equal(since, T0 + 30 * MS);
	assert_int_equal(t.state, SCHED_RUNNABLE);
	/* a second wakeup (already runnable) changes nothing */
	assert_int_equal(sched_on_wakeup(&t, T0 + 85 * MS, &since), 0);
	assert_int_equal(sched_on_switch_in(&t, T0 + 90 * MS, &since), 0);
	sched_on_switch_out(&t, SCHED_RUNNABLE, T0 + 100 * MS); /* preempted */
	sched_thread_totals(&t, T0 + 110 * MS, out);
	assert_int_equal(out[SCHED_RUNNING], 40 * MS);
	assert_int_equal(out[SCHED_LOCK], 50 * MS);
	assert_int_equal(out[SCHED_RUNNABLE], 20 * MS);
	/* a clock that goes backwards (two CPUs) never makes negative time */
	sched_on_switch_in(&t, T0 + 99 * MS, &since);
	sched_thread_totals(&t, T0 + 110 * MS, out);
	assert_int_equal(out[SCHED_RUNNING] + out[SCHED_LOCK] + out[SCHED_RUNNABLE] +
			     out[SCHED_OTHER],
			 110 * MS);
}

/* A thread asleep for 10 s shows 100 % sleep in every tick, not 0 and then 1000 %. */
static void test_sched_acct_long_sleep_is_split_at_ticks(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread t, *ts[] = { &t };
	__u32 tids[] = { 11 };
	__u64 since = 0;

	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	name(&t, "sleeper");
	sched_on_switch_out(&t, SCHED_SLEEP, T0 + 200 * MS);
	tick(fx, T0 + 1 * S, tids, ts, 1);
	assert_int_equal(in_tick(fx, 0, 11, MODEL_STATE_RUNNING), 200 * MS);
	assert_int_equal(in_tick(fx, 0, 11, MODEL_STATE_SLEEP), 800 * MS);
	for (int i = 2; i <= 10; i++) {
		tick(fx, T0 + i * S, tids, ts, 1);
		assert_int_equal(in_tick(fx, 0, 11, MODEL_STATE_SLEEP), 1 * S);
		assert_int_equal(tick_total(fx, 0, 11), 1 * S);
	}
	/* it wakes 300 ms into tick 11, waits 100 ms for a CPU, then runs */
	sched_on_wakeup(&t, T0 + 10 * S + 300 * MS, &since);
	sched_on_switch_in(&t, T0 + 10 * S + 400 * MS, &since);
	tick(fx, T0 + 11 * S, tids, ts, 1);
	assert_int_equal(in_tick(fx, 0, 11, MODEL_STATE_SLEEP), 300 * MS);
	assert_int_equal(in_tick(fx, 0, 11, MODEL_STATE_RUNNABLE), 100 * MS);
	assert_int_equal(in_tick(fx, 0, 11, MODEL_STATE_RUNNING), 600 * MS);
}

/* A missed wakeup: the block ends at switch-in; a missed switch-out: the time is "other". */
static void test_sched_acct_missed_events(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread t, *ts[] = { &t };
	__u32 tids[] = { 12 };
	__u64 since = 0;

	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	sched_on_switch_out(&t, SCHED_POLL, T0 + 100 * MS);
	/* no wakeup seen */
	assert_int_equal(sched_on_switch_in(&t, T0 + 600 * MS, &since), 500 * MS);
	assert_int_equal(since, T0 + 100 * MS);
	/* no switch-out seen */
	assert_int_equal(sched_on_switch_in(&t, T0 + 900 * MS, &since), 0);
	tick(fx, T0 + 1 * S, tids, ts, 1);
	assert_int_equal(in_tick(fx, 0, 12, MODEL_STATE_POLL), 500 * MS);
	assert_int_equal(in_tick(fx, 0, 12, MODEL_STATE_RUNNABLE), 0);
	assert_int_equal(in_tick(fx, 0, 12, MODEL_STATE_RUNNING), 100 * MS + 100 * MS);
	assert_int_equal(in_tick(fx, 0, 12, MODEL_STATE_OTHER), 300 * MS);
	assert_int_equal(tick_total(fx, 0, 12), 1 * S);
}

/*
 * Events before attach: an entry made at its first event has been in its state since attach (or
 * since its process became a target); a thread seeded from /proc likewise. Its first tick
 * counts from there, not from the event.
 */
static void test_sched_acct_events_before_attach(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread a, b, *ts[] = { &a, &b };
	__u32 tids[] = { 13, 14 };
	__u64 since = 0, attach = T0 + 100 * MS;

	/* 13: first seen switching out at 700 ms: it ran since attach */
	sched_thread_init(&a, 10, SCHED_RUNNING, attach, T0 + 700 * MS);
	sched_on_switch_out(&a, SCHED_LOCK, T0 + 700 * MS);
	/* 14: first seen at its wakeup at 400 ms: blocked since attach, no stack for that */
	sched_thread_init(&b, 10, SCHED_SLEEP, attach, T0 + 400 * MS);
	assert_int_equal(sched_on_wakeup(&b, T0 + 400 * MS, &since), 300 * MS);
	tick(fx, T0 + 1 * S, tids, ts, 2);
	assert_int_equal(in_tick(fx, 0, 13, MODEL_STATE_RUNNING), 600 * MS);
	assert_int_equal(in_tick(fx, 0, 13, MODEL_STATE_LOCK), 300 * MS);
	assert_int_equal(in_tick(fx, 0, 14, MODEL_STATE_SLEEP), 300 * MS);
	assert_int_equal(in_tick(fx, 0, 14, MODEL_STATE_RUNNABLE), 600 * MS);
	/* an entry made "in the future" (since after now) is clamped */
	sched_thread_init(&a, 10, SCHED_RUNNING, T0 + 5 * S, T0 + 2 * S);
	assert_true(a.since_ns <= T0 + 2 * S);
}

/*
 * The window starts at the first pass (the session's baseline), but the probe attached earlier —
 * seconds earlier on a loaded host — and an entry first made after the baseline counts from the
 * attach (above): such a thread's first report, or its exit before any pass, holds no more than
 * the window (tests/tools/invariants.py: "states add up to 8071.7 ms in a 5687 ms window").
 */
static void test_sched_acct_first_seen_after_the_start(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread a, *ts[] = { &a };
	struct sched_exit_rec e;
	__u32 tids[] = { 40 };
	__u64 attach = T0 - 2 * S;

	tick(fx, T0, tids, ts, 0); /* the baseline: the window starts at T0 */
	/* 40: first seen at T0 + 500 ms, running since the attach */
	sched_thread_init(&a, 10, SCHED_RUNNING, attach, T0 + 500 * MS);
	name(&a, "late");
	tick(fx, T0 + 1 * S, tids, ts, 1);
	assert_int_equal(tick_total(fx, 0, 40), 1 * S);
	assert_true(sched_acct_clipped_ns(fx->a) >= 2 * S);
	/* 41 made the same way, gone before the next pass: its exit holds the same */
	memset(&e, 0, sizeof(e));
	e.type = SCHED_REC_EXIT;
	e.pid = 10;
	e.tid = 41;
	e.born_ns = T0 + 1 * S + 100 * MS;
	e.time_ns = T0 + 1 * S + 500 * MS;
	e.acc_ns[SCHED_RUNNING] = e.time_ns - attach;
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), 0);
	tick(fx, T0 + 2 * S, tids, ts, 1);
	assert_int_equal(in_tick(fx, 0, 41, MODEL_STATE_RUNNING), 1 * S + 500 * MS);
}

/*
 * tid reuse: thread 15 of pid 10 exits and tid 15 comes back in pid 20. The exit record carries
 * what happened since the last pass; the new thread is another model thread.
 */
static void test_sched_acct_tid_reuse(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread old, new, *ts[] = { &old }, *ts2[] = { &new };
	struct sched_exit_rec e = { .type = SCHED_REC_EXIT };
	__u32 tids[] = { 15 };
	uint64_t total = 0;

	sched_thread_init(&old, 10, SCHED_RUNNING, T0, T0);
	old.born_ns = T0 + 1;
	name(&old, "old");
	tick(fx, T0 + 1 * S, tids, ts, 1);
	assert_int_equal(in_tick(fx, 0, 15, MODEL_STATE_RUNNING), 1 * S);

	/* runs 250 ms more, exits; its entry is gone before the next pass */
	sched_thread_move(&old, old.state, T0 + 1 * S + 250 * MS);
	e.pid = 10;
	e.tid = 15;
	e.born_ns = old.born_ns;
	e.time_ns = T0 + 1 * S + 250 * MS;
	memcpy(e.acc_ns, old.acc_ns, sizeof(e.acc_ns));
	memcpy(e.comm, old.comm, sizeof(e.comm));
	/* the new thread appears at 500 ms, in another process */
	sched_thread_init(&new, 20, SCHED_RUNNABLE, T0 + 1 * S + 500 * MS, T0 + 1 * S + 500 * MS);
	new.born_ns = T0 + 1 * S + 500 * MS;
	name(&new, "new");
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), 0);
	tick(fx, T0 + 2 * S, tids, ts2, 1);
	assert_int_equal(sched_acct_nr_threads(fx->a), 1);

	/* tick 2: 250 ms of the old thread, 500 ms of the new one, two model threads */
	{
		const struct tick *t = model_tick(fx->m, 0);
		const struct threads *th = model_threads(fx->m);
		int seen = 0;

		for (size_t i = 0; i < t->nr_states; i++) {
			const struct thread *x = threads_get(th, t->states[i].thread);

			if (x->pid == 10) {
				assert_int_equal(t->states[i].count, 250 * MS);
				assert_true(x->exited);
				seen |= 1;
			} else if (x->pid == 20) {
				assert_int_equal(t->states[i].stack, MODEL_STATE_RUNNABLE);
				assert_int_equal(t->states[i].count, 500 * MS);
				seen |= 2;
			}
			total += t->states[i].count;
		}
		assert_int_equal(seen, 3);
		assert_int_equal(total, 750 * MS);
	}
	/* an exit of a thread never seen in a pass (born and dead between two) counts whole;
	 * a brief one (50 ms) in its process's [short-lived] row, a longer one in its own */
	memset(&e, 0, sizeof(e));
	e.type = SCHED_REC_EXIT;
	e.pid = 30;
	e.tid = 31;
	e.born_ns = T0 + 2 * S + 100 * MS;
	e.time_ns = e.born_ns + 50 * MS;
	e.acc_ns[SCHED_RUNNING] = 40 * MS;
	e.acc_ns[SCHED_RUNNABLE] = 10 * MS;
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), 0);
	e.tid = 32;
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), 0);
	e.tid = 33;
	e.time_ns = e.born_ns + 500 * MS;
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), 0);
	tick(fx, T0 + 3 * S, tids, ts2, 1);
	assert_int_equal(in_tick(fx, 0, SCHED_ACCT_SHORT_TID(30), MODEL_STATE_RUNNING), 80 * MS);
	assert_int_equal(in_tick(fx, 0, SCHED_ACCT_SHORT_TID(30), MODEL_STATE_RUNNABLE), 20 * MS);
	assert_int_equal(in_tick(fx, 0, 31, MODEL_STATE_RUNNING), 0);
	assert_int_equal(in_tick(fx, 0, 33, MODEL_STATE_RUNNING), 40 * MS);
	/* a malformed record is refused */
	e.type = 99;
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), -EINVAL);
	assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, 8), -EINVAL);
}

/* Blocked ns of the stacks ending in `reason` in the tick `ago` back. */
static uint64_t offcpu_in_tick(struct fixture *fx, size_t ago)
{
	const struct tick *t = model_tick(fx->m, ago);
	uint64_t sum = 0;

	for (size_t i = 0; i < t->nr_offcpu; i++)
		sum += t->offcpu[i].count;
	return sum;
}

static void fill_slot(struct sched_block_rec *r, const struct sched_thread *t, __u32 tid)
{
	static const uint64_t user[] = { 0x401000, 0x401100 };
	/* bpf_prog, bpf_trace_run4, __schedule, schedule, futex_wait */
	static const uint64_t kernel[] = { 0xffffffffa0001000, 0xffffffff81100000,
					   0xffffffff81a00010, 0xffffffff81a00500,
					   0xffffffff81300000 };

	memset(r, 0, sizeof(*r));
	r->type = SCHED_REC_BLOCK;
	r->pid = t->pid;
	r->tid = tid;
	r->reason = t->state;
	r->born_ns = t->born_ns;
	r->since_ns = t->since_ns;
	r->nr_user = 2;
	r->nr_kernel = 5;
	memcpy(r->frames, user, sizeof(user));
	memcpy(r->frames + 2, kernel, sizeof(kernel));
	memcpy(r->comm, t->comm, sizeof(r->comm));
	memcpy(r->pcomm, t->pcomm, sizeof(r->pcomm));
}

/*
 * A block that spans ticks shows in each of them with its stack; the record sent when it ends
 * adds only the rest. Kernel frames up to __schedule are gone.
 */
static void test_sched_acct_open_blocks(void **state)
{
	struct fixture *fx = *state;
	struct sched_acct_opts o = {
		.min_block_ns = 1 * MS,
		.sched_lo = 0xffffffff81a00000,
		.sched_hi = 0xffffffff81a00400,
	};
	struct sched_thread t, *ts[] = { &t };
	struct sched_block_rec slot;
	__u32 tids[] = { 16 };
	__u64 since = 0, blocked;
	uint64_t sum = 0;

	sched_acct_free(fx->a);
	sched_acct_new(&o, &fx->a);
	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	name(&t, "waiter");
	sched_on_switch_out(&t, SCHED_LOCK, T0 + 500 * MS);
	fill_slot(&slot, &t, 16);

	for (int i = 1; i <= 3; i++) {
		sched_acct_begin(fx->a, T0 + i * S);
		if (sched_acct_thread(fx->a, fx->m, 16, &t))
			assert_true(sched_acct_open_block(fx->a, fx->m, 16, &t, &slot));
		else
			assert_true(i > 1); /* the stacks are asked for once */
		sched_acct_end(fx->a);
		model_close_tick(fx->m, T0 + i * S);
		assert_int_equal(offcpu_in_tick(fx, 0), i == 1 ? 500 * MS : 1 * S);
		assert_int_equal(sched_acct_nr_blocks(fx->a), 1);
	}
	/* wakes at 3.2 s: the record says 2.7 s, 2.5 s were reported already */
	blocked = sched_on_wakeup(&t, T0 + 3 * S + 200 * MS, &since);
	assert_int_equal(blocked, 2700 * MS);
	slot.end_ns = T0 + 3 * S + 200 * MS;
	assert_int_equal(sched_acct_block(fx->a, fx->m, &slot,
					  SCHED_BLOCK_HDR_SIZE + 7 * sizeof(__u64)),
			 0);
	assert_int_equal(sched_acct_nr_blocks(fx->a), 0);
	tick(fx, T0 + 4 * S, tids, ts, 1);
	assert_int_equal(offcpu_in_tick(fx, 0), 200 * MS);

	/* one (thread, stack): [user..., schedule, futex_wait, [lock]] */
	{
		struct window w;
		const struct stacks *st = model_stacks(fx->m);
		uint32_t nr;
		const uint32_t *frames;

		window_init(&w);
		window_sum(&w, fx->m, 0);
		assert_int_equal(w.nr_offcpu, 1);
		sum = w.offcpu[0].count;
		frames = stacks_frames(st, w.offcpu[0].stack, &nr);
		assert_int_equal(nr, 2 + 2 + 1);
		assert_string_equal(stacks_frame(st, frames[nr - 1])->function, "[lock]");
		assert_int_equal(stacks_frame(st, frames[2])->kind, FRAME_KERNEL);
		window_fini(&w);
	}
	assert_int_equal(sum, 2700 * MS);
	/* a record with a bad length is refused, not read past its end */
	assert_int_equal(sched_acct_block(fx->a, fx->m, &slot, SCHED_BLOCK_HDR_SIZE + 8), -EINVAL);
}

/* The classifier of the test: user frames starting at 0x7000.. wait (a condition variable),
 * others are locks. */
static int classify(void *ctx, uint32_t pid, const uint64_t *user, uint32_t nr)
{
	(*(int *)ctx)++;
	return nr && user[0] >= 0x700000 && user[0] < 0x800000 ? MODEL_STATE_WAIT
								 : MODEL_STATE_LOCK;
}

/* One pass as the loader makes it: a long block's slot first, then the thread. */
static void pass(struct fixture *fx, uint64_t now, __u32 *tids, struct sched_thread **ts,
		 struct sched_block_rec *slots, int n)
{
	sched_acct_begin(fx->a, now);
	for (int i = 0; i < n; i++) {
		if (sched_acct_wants_slot(fx->a, tids[i], ts[i])) {
			fill_slot(&slots[i], ts[i], tids[i]);
			if (i == 0) /* the pool worker blocks in pthread_cond_wait */
				slots[i].frames[0] = 0x700123;
			assert_true(sched_acct_open_block(fx->a, fx->m, tids[i], ts[i], &slots[i]));
		}
		sched_acct_thread(fx->a, fx->m, tids[i], ts[i]);
	}
	sched_acct_end(fx->a);
	model_close_tick(fx->m, now);
}

/*
 * Futex time is a lock or a wait by the blocked thread's frames: an idle pool worker parked on a
 * condition variable for seconds is waiting, from the first tick on, not locking; a thread on a
 * contended mutex is locking; short blocks without stacks go the way of the thread's last block
 * with stacks; the block view's stack ends with [wait].
 */
static void test_sched_acct_lock_or_wait(void **state)
{
	struct fixture *fx = *state;
	int calls = 0;
	struct sched_acct_opts o = { .min_block_ns = 1 * MS, .classify = classify,
				     .classify_ctx = &calls };
	struct sched_thread idle, locker, *ts[] = { &idle, &locker };
	struct sched_block_rec slots[2];
	__u32 tids[] = { 30, 31 };
	__u64 since;

	sched_acct_free(fx->a);
	sched_acct_new(&o, &fx->a);
	sched_thread_init(&idle, 10, SCHED_RUNNING, T0, T0);
	name(&idle, "pool");
	sched_thread_init(&locker, 10, SCHED_RUNNING, T0, T0);
	name(&locker, "locker");
	sched_on_switch_out(&idle, SCHED_LOCK, T0 + 100 * MS);
	sched_on_switch_out(&locker, SCHED_LOCK, T0 + 200 * MS);

	pass(fx, T0 + 1 * S, tids, ts, slots, 2);
	assert_int_equal(in_tick(fx, 0, 30, MODEL_STATE_WAIT), 900 * MS);
	assert_int_equal(in_tick(fx, 0, 30, MODEL_STATE_LOCK), 0);
	assert_int_equal(in_tick(fx, 0, 31, MODEL_STATE_LOCK), 800 * MS);
	assert_int_equal(in_tick(fx, 0, 31, MODEL_STATE_WAIT), 0);
	pass(fx, T0 + 2 * S, tids, ts, slots, 2);
	assert_int_equal(in_tick(fx, 0, 30, MODEL_STATE_WAIT), 1 * S);
	assert_int_equal(in_tick(fx, 0, 31, MODEL_STATE_LOCK), 1 * S);

	/* the worker wakes, runs, and waits again in many short blocks (no stacks): still wait */
	sched_on_wakeup(&idle, T0 + 2 * S + 100 * MS, &since);
	slots[0].end_ns = T0 + 2 * S + 100 * MS;
	assert_int_equal(sched_acct_block(fx->a, fx->m, &slots[0],
					  SCHED_BLOCK_HDR_SIZE + 7 * sizeof(__u64)), 0);
	sched_on_switch_in(&idle, T0 + 2 * S + 100 * MS, &since);
	for (int i = 0; i < 100; i++) {
		uint64_t t = T0 + 2 * S + 200 * MS + i * 8 * MS;

		sched_on_switch_out(&idle, SCHED_LOCK, t);
		sched_on_wakeup(&idle, t + 500000, &since);
		sched_on_switch_in(&idle, t + 500000, &since);
	}
	pass(fx, T0 + 3 * S, tids, ts, slots, 2);
	assert_int_equal(in_tick(fx, 0, 30, MODEL_STATE_WAIT), 100 * MS + 100 * 500000);
	assert_int_equal(in_tick(fx, 0, 30, MODEL_STATE_LOCK), 0);
	assert_int_equal(tick_total(fx, 0, 30), 1 * S);
	assert_true(calls > 0);

	/* the hot spots say which: [wait] for the worker, [lock] for the other */
	{
		struct window w;
		const struct stacks *st = model_stacks(fx->m);
		int wait = 0, lock = 0;

		window_init(&w);
		window_sum(&w, fx->m, 0);
		for (size_t i = 0; i < w.nr_offcpu; i++) {
			uint32_t nr;
			const uint32_t *frames = stacks_frames(st, w.offcpu[i].stack, &nr);
			const char *leaf = stacks_frame(st, frames[nr - 1])->function;

			wait += !strcmp(leaf, "[wait]");
			lock += !strcmp(leaf, "[lock]");
		}
		assert_int_equal(wait, 1);
		assert_int_equal(lock, 1);
		window_fini(&w);
	}
}

/* After a block, the wait for a CPU comes with the block's stacks and a [runnable] leaf. */
static void test_sched_acct_runnable_after_block(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread t;
	struct sched_block_rec slot;
	__u64 since = 0;
	struct window w;
	const struct stacks *st = model_stacks(fx->m);
	int runnable = -1, lock = -1;

	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	name(&t, "waiter");
	sched_on_switch_out(&t, SCHED_LOCK, T0 + 100 * MS);
	fill_slot(&slot, &t, 16);
	sched_on_wakeup(&t, T0 + 400 * MS, &since);
	slot.end_ns = T0 + 400 * MS;
	slot.run_ns = T0 + 430 * MS;
	assert_int_equal(sched_acct_block(fx->a, fx->m, &slot,
					  SCHED_BLOCK_HDR_SIZE + 7 * sizeof(__u64)),
			 0);
	model_close_tick(fx->m, T0 + S);
	window_init(&w);
	window_sum(&w, fx->m, 0);
	assert_int_equal(w.nr_offcpu, 2);
	for (size_t i = 0; i < w.nr_offcpu; i++) {
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, w.offcpu[i].stack, &nr);
		const char *leaf = stacks_frame(st, frames[nr - 1])->function;

		if (!strcmp(leaf, "[runnable]"))
			runnable = (int)i;
		if (!strcmp(leaf, "[lock]"))
			lock = (int)i;
	}
	assert_true(runnable >= 0 && lock >= 0);
	assert_int_equal(w.offcpu[lock].count, 300 * MS);
	assert_int_equal(w.offcpu[runnable].count, 30 * MS);
	window_fini(&w);
	/* a wait for a CPU that ends before the wakeup is refused */
	slot.run_ns = slot.end_ns - 1;
	assert_int_equal(sched_acct_block(fx->a, fx->m, &slot,
					  SCHED_BLOCK_HDR_SIZE + 7 * sizeof(__u64)),
			 -EINVAL);
}

/* The frames of a stack (its names joined by ';') and the thread's tid, for entry i of w. */
static uint32_t offcpu_entry(struct fixture *fx, const struct window *w, size_t i, char *buf,
			     size_t len)
{
	const struct stacks *st = model_stacks(fx->m);
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, w->offcpu[i].stack, &nr);
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t j = 0; j < nr && n + 1 < len; j++)
		n += snprintf(buf + n, len - n, "%s%s", j ? ";" : "",
			      stacks_frame(st, frames[j])->function);
	return threads_get(model_threads(fx->m), w->offcpu[i].thread)->tid;
}

/* What BPF sends for the block of slot r when the ring is 3/4 full. */
static void bare_of(struct sched_bare_rec *b, const struct sched_block_rec *r, uint64_t end,
		    uint64_t run)
{
	*b = (struct sched_bare_rec){
		.type = SCHED_REC_BARE,
		.pid = r->pid,
		.tid = r->tid,
		.reason = r->reason,
		.born_ns = r->born_ns,
		.since_ns = r->since_ns,
		.end_ns = end,
		.run_ns = run,
	};
}

/*
 * Ends of blocks sent without their stacks (the ring was 3/4 full): their time is in the block
 * view all the same, under "[no stack]" and their reason, a futex wait going the way of the
 * thread's last block with frames (a wait here); a block open at a tick before, whose stacks
 * were kept then, keeps them for the rest of its time.
 */
static void test_sched_acct_frames_dropped(void **state)
{
	struct fixture *fx = *state;
	int calls = 0;
	struct sched_acct_opts o = {
		.min_block_ns = 1 * MS,
		.classify = classify,
		.classify_ctx = &calls,
		.sched_lo = 0xffffffff81a00000,
		.sched_hi = 0xffffffff81a00400,
	};
	struct sched_thread pool, napper, *ts[] = { &pool, &napper };
	struct sched_block_rec r, slot;
	struct sched_bare_rec bare;
	__u32 tids[] = { 40, 41 };
	__u64 since;
	struct window w;
	uint64_t pool_wait = 0, pool_bare_wait = 0, pool_bare_runnable = 0, nap_sleep = 0,
		 nap_runnable = 0, nap_bare = 0;
	char buf[512];

	sched_acct_free(fx->a);
	sched_acct_new(&o, &fx->a);
	sched_thread_init(&pool, 10, SCHED_RUNNING, T0, T0);
	name(&pool, "pool");
	sched_thread_init(&napper, 10, SCHED_RUNNING, T0, T0);
	name(&napper, "napper");

	/* the pool worker waits on a condition variable, its frames sent: a wait */
	sched_on_switch_out(&pool, SCHED_LOCK, T0 + 100 * MS);
	fill_slot(&r, &pool, 40);
	r.frames[0] = 0x700123;
	sched_on_wakeup(&pool, T0 + 200 * MS, &since);
	sched_on_switch_in(&pool, T0 + 200 * MS, &since);
	r.end_ns = r.run_ns = T0 + 200 * MS;
	assert_int_equal(sched_acct_block(fx->a, fx->m, &r,
					  SCHED_BLOCK_HDR_SIZE + 7 * sizeof(__u64)), 0);
	/* then again, 300 ms, and 20 ms for a CPU: the header alone */
	sched_on_switch_out(&pool, SCHED_LOCK, T0 + 300 * MS);
	fill_slot(&r, &pool, 40);
	sched_on_wakeup(&pool, T0 + 600 * MS, &since);
	sched_on_switch_in(&pool, T0 + 620 * MS, &since);
	bare_of(&bare, &r, T0 + 600 * MS, T0 + 620 * MS);
	assert_int_equal(sched_acct_bare(fx->a, fx->m, &bare, sizeof(bare)), 0);

	/* the napper's sleep is open at the tick (its slot's stacks kept), ends without frames */
	sched_on_switch_out(&napper, SCHED_SLEEP, T0 + 500 * MS);
	fill_slot(&slot, &napper, 41);
	sched_acct_begin(fx->a, T0 + 1 * S);
	for (int i = 0; i < 2; i++) {
		if (sched_acct_wants_slot(fx->a, tids[i], ts[i]))
			assert_true(sched_acct_open_block(fx->a, fx->m, tids[i], ts[i], &slot));
		sched_acct_thread(fx->a, fx->m, tids[i], ts[i]);
	}
	sched_acct_end(fx->a);
	model_close_tick(fx->m, T0 + 1 * S);
	/* all of the worker's futex time was waiting */
	assert_int_equal(in_tick(fx, 0, 40, MODEL_STATE_WAIT), 400 * MS);
	assert_int_equal(in_tick(fx, 0, 40, MODEL_STATE_LOCK), 0);
	sched_on_wakeup(&napper, T0 + 1 * S + 250 * MS, &since);
	sched_on_switch_in(&napper, T0 + 1 * S + 260 * MS, &since);
	bare_of(&bare, &slot, T0 + 1 * S + 250 * MS, T0 + 1 * S + 260 * MS);
	assert_int_equal(sched_acct_bare(fx->a, fx->m, &bare, sizeof(bare)), 0);
	assert_int_equal(sched_acct_nr_blocks(fx->a), 0);
	/* a short record is refused, not read past its end */
	assert_int_equal(sched_acct_bare(fx->a, fx->m, &bare, sizeof(bare) - 8), -EINVAL);
	tick(fx, T0 + 2 * S, tids, ts, 2);

	window_init(&w);
	window_sum(&w, fx->m, 0);
	for (size_t i = 0; i < w.nr_offcpu; i++) {
		uint32_t tid = offcpu_entry(fx, &w, i, buf, sizeof(buf));
		uint64_t n = w.offcpu[i].count;

		print_message("%u %s %.0f ms\n", tid, buf, n / 1e6);
		if (tid == 40 && !strcmp(buf, "[no stack];[wait]"))
			pool_bare_wait += n;
		else if (tid == 40 && !strcmp(buf, "[no stack];[runnable]"))
			pool_bare_runnable += n;
		else if (tid == 40 && strstr(buf, ";[wait]"))
			pool_wait += n;
		else if (tid == 41 && !strncmp(buf, "[no stack]", 10))
			nap_bare += n;
		else if (tid == 41 && strstr(buf, ";[sleep]"))
			nap_sleep += n;
		else if (tid == 41 && strstr(buf, ";[runnable]"))
			nap_runnable += n;
	}
	assert_int_equal(pool_wait, 100 * MS);
	assert_int_equal(pool_bare_wait, 300 * MS);
	assert_int_equal(pool_bare_runnable, 20 * MS);
	assert_int_equal(nap_sleep, 750 * MS);
	assert_int_equal(nap_runnable, 10 * MS);
	assert_int_equal(nap_bare, 0);
	window_fini(&w);
}

/* A waker record (sent at the wakeup) and then the block's: a wake entry in the model, the block's
 * stack with [woken by COMM] and the waker's frames after it, the tracepoint's frames gone. */
static void test_sched_acct_waker(void **state)
{
	struct fixture *fx = *state;
	struct sched_acct_opts o = { .min_block_ns = 1 * MS, .wake_lo = 0xffffffff81b00000,
				     .wake_hi = 0xffffffff81b00800 };
	/* bpf_prog, try_to_wake_up, wake_up_q, futex_wake */
	static const uint64_t wkernel[] = { 0xffffffffa0001000, 0xffffffff81b00100,
					    0xffffffff81b10000, 0xffffffff81b20000 };
	static const uint64_t wuser[] = { 0x402000, 0x402100, 0x402200 };
	struct sched_thread t;
	struct sched_block_rec slot;
	struct sched_waker_rec w = { .type = SCHED_REC_WAKER };
	__u64 since = 0;
	const struct tick *tk;
	const struct stacks *st = model_stacks(fx->m);
	uint32_t nr, marker = UINT32_MAX;
	const uint32_t *frames;

	sched_acct_free(fx->a);
	sched_acct_new(&o, &fx->a);
	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	name(&t, "waiter");
	sched_on_switch_out(&t, SCHED_LOCK, T0 + 100 * MS);
	fill_slot(&slot, &t, 16);
	sched_on_wakeup(&t, T0 + 600 * MS, &since);
	w.pid = 10;
	w.tid = 16;
	w.since_ns = slot.since_ns;
	w.waker_pid = 10;
	w.waker_tid = 17;
	memcpy(w.waker_comm, "holder", 7);
	w.nr_user = 3;
	w.nr_kernel = 4;
	memcpy(w.frames, wuser, sizeof(wuser));
	memcpy(w.frames + 3, wkernel, sizeof(wkernel));
	assert_int_equal(sched_acct_waker(fx->a, &w, SCHED_WAKER_HDR_SIZE + 7 * 8), 0);
	/* a waker record shorter than its frames is refused */
	assert_int_equal(sched_acct_waker(fx->a, &w, SCHED_WAKER_HDR_SIZE + 6 * 8), -EINVAL);
	slot.end_ns = T0 + 600 * MS;
	slot.run_ns = T0 + 601 * MS;
	assert_int_equal(sched_acct_block(fx->a, fx->m, &slot,
					  SCHED_BLOCK_HDR_SIZE + 7 * sizeof(__u64)),
			 0);
	model_close_tick(fx->m, T0 + S);
	tk = model_tick(fx->m, 0);
	assert_int_equal(tk->nr_wakes, 1);
	assert_int_equal(tk->wakes[0].count, 500 * MS);
	frames = stacks_frames(st, tk->wakes[0].stack, &nr);
	for (uint32_t i = 0; i < nr; i++)
		if (!strcmp(stacks_frame(st, frames[i])->function, "[woken by holder]"))
			marker = i;
	assert_true(marker != UINT32_MAX);
	assert_string_equal(stacks_frame(st, frames[marker - 1])->function, "[lock]");
	/* then the waker from its leaf: futex_wake, wake_up_q (try_to_wake_up and the BPF frame
	 * stripped), then its 3 user frames leaf first */
	assert_int_equal(nr - marker - 1, 2 + 3);
	assert_int_equal(stacks_frame(st, frames[marker + 1])->kind, FRAME_KERNEL);
	assert_int_equal(stacks_frame(st, frames[marker + 3])->addr, 0x402000);
	assert_int_equal(sched_acct_nr_blocks(fx->a), 0);
}

/* Blocks shorter than the minimum count in the states, not as hot spots. */
static void test_sched_acct_min_block(void **state)
{
	struct fixture *fx = *state;
	struct sched_acct_opts o = { .min_block_ns = 50 * MS };
	struct sched_thread t;
	struct sched_block_rec slot;

	sched_acct_free(fx->a);
	sched_acct_new(&o, &fx->a);
	sched_thread_init(&t, 10, SCHED_RUNNING, T0, T0);
	sched_on_switch_out(&t, SCHED_IO, T0 + 1 * S - 20 * MS);
	fill_slot(&slot, &t, 17);
	sched_acct_begin(fx->a, T0 + 1 * S);
	assert_false(sched_acct_thread(fx->a, fx->m, 17, &t));
	sched_acct_end(fx->a);
	model_close_tick(fx->m, T0 + 1 * S);
	assert_int_equal(offcpu_in_tick(fx, 0), 0);
	assert_int_equal(in_tick(fx, 0, 17, MODEL_STATE_IO), 20 * MS);
	/* a slot of another block (taken before this one began) is not used */
	sched_acct_begin(fx->a, T0 + 2 * S);
	assert_true(sched_acct_thread(fx->a, fx->m, 17, &t));
	slot.since_ns -= 1;
	assert_false(sched_acct_open_block(fx->a, fx->m, 17, &t, &slot));
	sched_acct_end(fx->a);
	model_close_tick(fx->m, T0 + 2 * S);
	assert_int_equal(offcpu_in_tick(fx, 0), 0);
}

/* Memory stays flat: threads that are gone and blocks that ended are forgotten. */
static void test_sched_acct_forgets(void **state)
{
	struct fixture *fx = *state;
	struct sched_thread t[100], *ts[100];
	__u32 tids[100];

	for (int round = 0; round < 20; round++) {
		for (int i = 0; i < 100; i++) {
			tids[i] = 1000 + round * 100 + i;
			sched_thread_init(&t[i], 10, SCHED_RUNNING, T0 + round * S, T0 + round * S);
			ts[i] = &t[i];
		}
		tick(fx, T0 + round * S + 500 * MS, tids, ts, 100);
		assert_true(sched_acct_nr_threads(fx->a) <= 300);
	}
	tick(fx, T0 + 30 * S, tids, ts, 0);
	tick(fx, T0 + 31 * S, tids, ts, 0);
	assert_int_equal(sched_acct_nr_threads(fx->a), 0);
	assert_int_equal(sched_acct_nr_blocks(fx->a), 0);
}

static void test_sched_acct_strip(void **state)
{
	const uint64_t k[] = { 0xa0001000, 0x81100000, 0x81a00010, 0x81a00500, 0x81300000 };

	assert_int_equal(sched_acct_strip(k, 5, 0x81a00000, 0x81a00400), 3);
	assert_int_equal(sched_acct_strip(k, 5, 0, 0), 0);
	assert_int_equal(sched_acct_strip(k, 2, 0x81a00000, 0x81a00400), 0);
	assert_int_equal(sched_acct_strip(k, 5, 0x90000000, 0x90000400), 0);
}

/*
 * Short processes (a shell loop running ls, hundreds a second): each is born and gone between
 * two ticks, its time counts in its [short-lived] row, and when its main thread exits that row
 * and the thread other probes named (a CPU sample) are gone too (issue 13: each kept a live
 * thread for good, so the thread table and every rotated recording grew by hundreds a second).
 */
static void test_sched_acct_short_processes_leave_nothing_live(void **state)
{
	struct fixture *fx = *state;
	const struct threads *th = model_threads(fx->m);
	struct sched_exit_rec e;
	uint32_t live = 0;

	for (uint32_t pid = 5000; pid < 5100; pid++) {
		/* a sample named it first */
		model_note_thread(fx->m, pid, pid, "ls", "ls");
		memset(&e, 0, sizeof(e));
		e.type = SCHED_REC_EXIT;
		e.pid = e.tid = pid;
		e.born_ns = T0 + 10 * MS;
		e.time_ns = e.born_ns + 3 * MS;
		e.acc_ns[SCHED_RUNNING] = 3 * MS;
		strncpy(e.comm, "ls", sizeof(e.comm));
		strncpy(e.pcomm, "ls", sizeof(e.pcomm));
		assert_int_equal(sched_acct_exit(fx->a, fx->m, &e, sizeof(e)), 0);
		/* a sample of it that the CPU ring brings after the exit */
		model_add_sample(fx->m, &(struct model_sample){ .time_ns = e.born_ns + 1 * MS,
								 .pid = pid, .tid = pid,
								 .comm = "ls", .pcomm = "ls" });
	}
	tick(fx, T0 + S, NULL, NULL, 0);
	for (uint32_t i = 0; i < threads_count(th); i++)
		live += !threads_get(th, i)->exited;
	assert_int_equal(live, 0);
	/* their time is still there, in their rows */
	assert_int_equal(in_tick(fx, 0, SCHED_ACCT_SHORT_TID(5042), MODEL_STATE_RUNNING), 3 * MS);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sched_acct_reasons),
		cmocka_unit_test(test_sched_acct_machine),
		cmocka_unit_test(test_sched_acct_strip),
		cmocka_unit_test_setup_teardown(test_sched_acct_long_sleep_is_split_at_ticks,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_missed_events, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_events_before_attach, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_first_seen_after_the_start, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_tid_reuse, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_open_blocks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_lock_or_wait, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_runnable_after_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_waker, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_frames_dropped, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_min_block, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_forgets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_sched_acct_short_processes_leave_nothing_live,
						setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
