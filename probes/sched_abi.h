// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched: the layout shared by sched.bpf.c and the loader sched.c. Only fixed-width fields,
 * widest first, explicit padding. The includer provides __u32/__u64 (vmlinux.h in BPF,
 * <linux/types.h> in user space).
 */
#ifndef PROBES_SCHED_ABI_H
#define PROBES_SCHED_ABI_H

#define SCHED_MAX_UFRAMES 127 /* user frames kept per stack */
#define SCHED_MAX_KFRAMES 96  /* kernel frames: off-CPU kernel stacks are short */
#define SCHED_COMM_LEN 16

/* Thread states, in the order of enum model_state (the loader asserts it). */
#define SCHED_RUNNING 0
#define SCHED_RUNNABLE 1 /* woken or preempted, waiting for a CPU */
#define SCHED_LOCK 2	 /* futex, file locks, SysV semaphores */
#define SCHED_IO 3	 /* D state, or blocked in a read/write of a file or block device */
#define SCHED_POLL 4	 /* poll, select, epoll */
#define SCHED_SLEEP 5	 /* nanosleep, clock_nanosleep */
#define SCHED_OTHER 6
#define SCHED_NR_STATES 7

/*
 * Per-thread state, the value of the hash map "threads" (key: tid). BPF closes an interval on
 * every transition (acc_ns); the open one is [since_ns, now). User space reads the map once per
 * tick and takes deltas of acc_ns + the open interval, so time is exact per tick even for a
 * thread that stays in one state for minutes. seq is odd while BPF updates the entry, seq_end is
 * set to seq when it is done: a copy with seq == seq_end and seq even is consistent.
 */
struct sched_thread {
	__u64 seq;
	__u64 acc_ns[SCHED_NR_STATES]; /* closed intervals, per state, since born_ns */
	__u64 since_ns;		       /* start of the current state */
	__u64 born_ns;		       /* when this entry was made: tells a reused tid apart */
	__u32 pid;		       /* tgid */
	__u32 state;		       /* SCHED_* */
	__u32 flags;		       /* SCHED_THR_* */
	__s32 syscall;		       /* the syscall it blocked in, -1 if none or unknown */
	char comm[SCHED_COMM_LEN];
	char pcomm[SCHED_COMM_LEN]; /* group leader's comm */
	__u64 seq_end;
};

#define SCHED_THR_KTHREAD (1u << 0)
#define SCHED_THR_SEEDED (1u << 1) /* made by the loader from /proc, not by an event */

/* Record types sent through the ring buffer "events". */
#define SCHED_REC_BLOCK 1
#define SCHED_REC_EXIT 2

/*
 * A blocked interval [since_ns, end_ns) of at least min_block_ns, with the stacks taken when the
 * thread switched out. Variable length: nr_user user then nr_kernel kernel addresses, each leaf
 * first. The same struct (at its full size) is the value of the map "stacks" (key: tid), where
 * the stacks are kept from switch-out to wakeup; end_ns is set when the record is sent.
 */
struct sched_block_rec {
	__u32 type; /* SCHED_REC_BLOCK */
	__u32 pid;
	__u32 tid;
	__u32 reason; /* SCHED_LOCK .. SCHED_OTHER */
	__u64 born_ns;
	__u64 since_ns;
	__u64 end_ns;
	__u32 nr_user;
	__u32 nr_kernel;
	__u32 flags; /* SCHED_STK_* */
	__s32 syscall;
	char comm[SCHED_COMM_LEN];
	char pcomm[SCHED_COMM_LEN];
	/* Where the stacks were taken: the user registers (ip, sp, bp, first argument), the return
	 * address at bp and the syscall. A thread that blocks again in the same syscall at the same
	 * place reuses them instead of walking both stacks again (up to SCHED_REUSE_MAX times in
	 * a row): a loop around a blocking call costs a few reads per block, not two walks. */
	__u64 key_ip, key_sp, key_bp, key_ret, key_arg;
	__s32 key_syscall;
	__u32 reused; /* blocks in a row that reused these stacks */
	__u64 frames[SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES];
};

#define SCHED_REUSE_MAX 64
#define SCHED_BLOCK_HDR_SIZE 136
#define SCHED_BLOCK_MAX_SIZE (SCHED_BLOCK_HDR_SIZE + (SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES) * 8)

#define SCHED_STK_USER_FAILED (1u << 0)	  /* user thread, but no user stack */
#define SCHED_STK_KERNEL_FAILED (1u << 1) /* no kernel stack */
#define SCHED_STK_KTHREAD (1u << 2)	  /* a kernel thread: no user stack expected */

/* A thread exited: its last totals, for the time since the loader last read its entry. */
struct sched_exit_rec {
	__u32 type; /* SCHED_REC_EXIT */
	__u32 pid;
	__u32 tid;
	__u32 pad;
	__u64 born_ns;
	__u64 time_ns;
	__u64 acc_ns[SCHED_NR_STATES];
	char comm[SCHED_COMM_LEN];
	char pcomm[SCHED_COMM_LEN];
};

/* Per-CPU counters: the single entry of the per-CPU array map "counters". */
struct sched_counters {
	__u64 switches;	    /* sched_switch events that touched a target */
	__u64 wakeups;	    /* sched_wakeup(_new) of targets */
	__u64 blocks;	    /* blocked intervals sent (>= min_block_ns) */
	__u64 exits;	    /* exit records sent */
	__u64 ringbuf_lost; /* a record could not be sent: the ring was full */
	__u64 threads_full; /* a thread could not be tracked: "threads" was full */
	__u64 stacks_full;  /* a block's stacks could not be kept: "stacks" was full */
	__u64 targets_full; /* a followed child could not be added: "targets" was full */
	__u64 no_stack;	    /* a long block whose stacks were not kept (missing or replaced) */
	__u64 reused;	    /* blocks whose stacks were those of the block before (same place) */
};

#define SCHED_MAX_TARGETS 8192

#endif
