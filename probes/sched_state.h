// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched: the per-thread state machine and the blocked-reason classifier, as inline
 * functions compiled into both sched.bpf.c (where they run on every event) and the unit tests
 * (which drive them with synthetic event sequences). Plain C over struct sched_thread: no
 * helpers, no loops without a constant bound. The includer provides __u32/__u64/__s32/bool and
 * includes sched_abi.h.
 *
 * The machine, per thread (t->state, open since t->since_ns):
 *
 *   switch-out, preempted or TASK_RUNNING  RUNNING  -> RUNNABLE
 *   switch-out, blocking                   RUNNING  -> LOCK|IO|POLL|SLEEP|OTHER
 *   wakeup                                 blocked  -> RUNNABLE  (a blocked interval ends)
 *   switch-in                              RUNNABLE -> RUNNING
 *   switch-in of a blocked thread          blocked  -> RUNNING   (its wakeup was missed: the
 *                                                                 block ends here)
 *   switch-in of a running thread          (other)  -> RUNNING   (its switch-out was missed:
 *                                                                 how the time split is unknown)
 *
 * Every transition closes [since_ns, now) into acc_ns[old state]. A wakeup of a thread that is not
 * blocked changes nothing (it was woken before it got to sleep).
 */
#ifndef PROBES_SCHED_STATE_H
#define PROBES_SCHED_STATE_H

#ifndef __always_inline
#define __always_inline inline __attribute__((always_inline))
#endif

/* Task state bits (include/linux/sched.h); stable for many years. */
#define SCHED_TASK_RUNNING 0x0000
#define SCHED_TASK_INTERRUPTIBLE 0x0001
#define SCHED_TASK_UNINTERRUPTIBLE 0x0002
#define SCHED_TASK_DEAD 0x0080
#define SCHED_TASK_NOLOAD 0x0400 /* with UNINTERRUPTIBLE: TASK_IDLE, not waiting for I/O */
#define SCHED_TASK_RTLOCK_WAIT 0x1000

/* Keeps clang from merging a bounds check into another comparison, which the verifier cannot
 * follow. */
#ifdef __bpf__
#define SCHED_OPAQUE(x) asm volatile("" : "+r"(x))
#else
#define SCHED_OPAQUE(x) ((void)0)
#endif

/* sched_syscall_reason(): blocked in a read/write-like call; the fd decides (file → IO). */
#define SCHED_BY_FD 100

static __always_inline bool sched_state_blocked(__u32 s)
{
	return s >= SCHED_LOCK && s < SCHED_NR_STATES;
}

/* What a thread blocked in syscall nr (x86-64 numbers) is waiting for. */
static __always_inline __u32 sched_syscall_reason(long nr)
{
#if defined(__TARGET_ARCH_x86) || defined(__x86_64__)
	switch (nr) {
	case 202: /* futex */
	case 449: /* futex_waitv */
	case 455: /* futex_wait */
	case 456: /* futex_requeue */
	case 65:  /* semop */
	case 220: /* semtimedop */
	case 72:  /* fcntl (F_SETLKW, F_OFD_SETLKW) */
	case 73:  /* flock */
		return SCHED_LOCK;
	case 7:   /* poll */
	case 23:  /* select */
	case 232: /* epoll_wait */
	case 270: /* pselect6 */
	case 271: /* ppoll */
	case 281: /* epoll_pwait */
	case 441: /* epoll_pwait2 */
		return SCHED_POLL;
	case 35:  /* nanosleep */
	case 230: /* clock_nanosleep */
		return SCHED_SLEEP;
	case 26:  /* msync */
	case 74:  /* fsync */
	case 75:  /* fdatasync */
	case 162: /* sync */
	case 208: /* io_getevents */
	case 277: /* sync_file_range */
	case 306: /* syncfs */
	case 333: /* io_pgetevents */
	case 426: /* io_uring_enter */
		return SCHED_IO;
	case 0:   /* read */
	case 1:   /* write */
	case 17:  /* pread64 */
	case 18:  /* pwrite64 */
	case 19:  /* readv */
	case 20:  /* writev */
	case 295: /* preadv */
	case 296: /* pwritev */
	case 327: /* preadv2 */
	case 328: /* pwritev2 */
		return SCHED_BY_FD;
	}
#endif
	return SCHED_OTHER;
}

/*
 * Why a thread that switched out in task state task_state is blocked. syscall is the syscall it
 * is in, or -1 (not in a syscall, unknown, a kernel thread). SCHED_BY_FD asks the caller to look
 * at the fd (sched_fd_reason()).
 */
static __always_inline __u32 sched_reason(__u32 task_state, bool kthread, long syscall)
{
	if (task_state & SCHED_TASK_RTLOCK_WAIT)
		return SCHED_LOCK;
	if ((task_state & SCHED_TASK_UNINTERRUPTIBLE) && !(task_state & SCHED_TASK_NOLOAD))
		return SCHED_IO;
	if (!(task_state & SCHED_TASK_INTERRUPTIBLE))
		return SCHED_OTHER; /* stopped, traced, parked, TASK_IDLE */
	if (kthread || syscall < 0)
		return SCHED_OTHER;
	return sched_syscall_reason(syscall);
}

/* A read/write blocked on an fd of this inode mode: files and block devices are I/O. */
static __always_inline __u32 sched_fd_reason(__u32 i_mode)
{
	__u32 fmt = i_mode & 0170000;

	/* S_IFREG, S_IFBLK */
	return fmt == 0100000 || fmt == 0060000 ? SCHED_IO : SCHED_OTHER;
}

/* A new entry: in state since since_ns (which may be before now: see sched.bpf.c). */
static __always_inline void sched_thread_init(struct sched_thread *t, __u32 pid, __u32 state,
					      __u64 since_ns, __u64 now)
{
	__builtin_memset(t, 0, sizeof(*t));
	t->pid = pid;
	t->state = state < SCHED_NR_STATES ? state : SCHED_OTHER;
	t->since_ns = since_ns <= now ? since_ns : now;
	t->born_ns = now;
	t->syscall = -1;
}

/* Closes the open interval at now and opens one in state `to`. */
static __always_inline void sched_thread_move(struct sched_thread *t, __u32 to, __u64 now)
{
	__u32 s = t->state;

	if (now > t->since_ns) {
		SCHED_OPAQUE(s);
		if (s < SCHED_NR_STATES)
			t->acc_ns[s] += now - t->since_ns;
		t->since_ns = now;
	}
	t->state = to < SCHED_NR_STATES ? to : SCHED_OTHER;
}

/* The thread stopped running: preempted (to = RUNNABLE) or blocked (to = a reason). */
static __always_inline void sched_on_switch_out(struct sched_thread *t, __u32 to, __u64 now)
{
	sched_thread_move(t, to, now);
}

/*
 * A wakeup. Returns the length of the blocked interval it ends (its start was t->since_ns before
 * the call: *since gets it), or 0 when the thread was not blocked.
 */
static __always_inline __u64 sched_on_wakeup(struct sched_thread *t, __u64 now, __u64 *since)
{
	__u64 from = t->since_ns;

	if (!sched_state_blocked(t->state))
		return 0;
	sched_thread_move(t, SCHED_RUNNABLE, now);
	*since = from;
	return now > from ? now - from : 0;
}

/*
 * The thread got a CPU. A blocked thread here missed its wakeup: the block ends now, and its
 * length is returned as by sched_on_wakeup(); otherwise 0.
 */
static __always_inline __u64 sched_on_switch_in(struct sched_thread *t, __u64 now, __u64 *since)
{
	__u64 from = t->since_ns;
	bool blocked = sched_state_blocked(t->state);

	/* Running already: its switch-out was missed (seen here for a hypervisor agent's threads,
	 * whose switch-outs never reach the tracepoint's programs). The interval held some running
	 * and some waiting in unknown shares: it counts as other, not as running. */
	if (t->state == SCHED_RUNNING)
		t->state = SCHED_OTHER;
	sched_thread_move(t, SCHED_RUNNING, now);
	if (!blocked)
		return 0;
	*since = from;
	return now > from ? now - from : 0;
}

/* Totals at now: closed intervals plus the open one. */
static __always_inline void sched_thread_totals(const struct sched_thread *t, __u64 now,
						__u64 out[SCHED_NR_STATES])
{
	for (int i = 0; i < SCHED_NR_STATES; i++)
		out[i] = t->acc_ns[i];
	if (t->state < SCHED_NR_STATES && now > t->since_ns)
		out[t->state] += now - t->since_ns;
}

#endif
