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
 * thread that stays in one state for minutes. BPF makes seq_end unequal to seq before it updates
 * the entry and equal again (both grown by 2) after: a copy with seq == seq_end, read front to
 * back, is consistent.
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
#define SCHED_THR_WOKEN (1u << 2)  /* woken from a block whose record waits for its switch-in */

/* Record types sent through the ring buffer "events". */
#define SCHED_REC_BLOCK 1
#define SCHED_REC_EXIT 2
#define SCHED_REC_USTACK 3
#define SCHED_REC_WAKER 4
#define SCHED_REC_BARE 5

/*
 * A blocked interval [since_ns, end_ns) of at least min_block_ns, and the wait for a CPU after it
 * [end_ns, run_ns), with the stacks taken when the thread switched out. Variable length: nr_user user then nr_kernel kernel addresses, each leaf
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
	/* With stack copies (stack_size set): the since_ns of the block whose switch-out sent the
	 * struct sched_ustack_rec these user frames are to be unwound from (that block or, when the
	 * stacks were reused, an earlier one of the same thread); 0: no copy, the frames are the
	 * frame-pointer walk alone. */
	__u64 ustack_ns;
	/* When the thread got a CPU after its wakeup (end_ns): [end_ns, run_ns) it waited for a CPU
	 * to return from the call these stacks are in. The record is sent then, not at the wakeup.
	 * Equal to end_ns when the wakeup was missed (the block ended at the switch-in). */
	__u64 run_ns;
	__u64 frames[SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES];
};

#define SCHED_REUSE_MAX 64
#define SCHED_BLOCK_HDR_SIZE 152
#define SCHED_BLOCK_MAX_SIZE (SCHED_BLOCK_HDR_SIZE + (SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES) * 8)

#define SCHED_STK_USER_FAILED (1u << 0)	  /* user thread, but no user stack */
#define SCHED_STK_KERNEL_FAILED (1u << 1) /* no kernel stack */
#define SCHED_STK_KTHREAD (1u << 2)	  /* a kernel thread: no user stack expected */
#define SCHED_STK_TRUNCATED (1u << 3)	  /* set by the loader: the DWARF walk stopped early */
#define SCHED_STK_DROPPED (1u << 4)	  /* set by the loader: from a sched_bare_rec (no frames) */

/*
 * The end of a block when the ring is 3/4 full: a struct sched_block_rec's thread, reason and
 * times, without its stacks (48 bytes, not 152 and the frames: past 3/4 the ring holds three
 * times as many), so that the block's time still reaches the block view (under "[no stack]").
 */
struct sched_bare_rec {
	__u32 type; /* SCHED_REC_BARE */
	__u32 pid;
	__u32 tid;
	__u32 reason;
	__u64 born_ns;
	__u64 since_ns;
	__u64 end_ns;
	__u64 run_ns;
};

/*
 * The user registers and the top of the user stack of a thread that blocked (DWARF unwinding,
 * stack_size set), taken at its switch-out into the map "ucopies" (a bounded number of them:
 * SCHED_MAX_PARKED) and sent when a block naming it ends long enough to be reported (or at once
 * when the map is full); user space reads a long block still open at a tick from the map.
 * User space keeps the last copy of each thread (tid, ns) until a block record names it
 * (sched_block_rec.ustack_ns). Laid out as struct ustack_copy after the header.
 */
#define SCHED_NR_REGS 17	/* ax bx cx dx si di bp sp ip r8 r9 r10 r11 r12 r13 r14 r15 */
#define SCHED_STACK_MAX 32768 /* most bytes of stack copied */
struct sched_ustack_rec {
	__u32 type; /* SCHED_REC_USTACK */
	__u32 pid;
	__u32 tid;
	__u32 pad;
	__u64 ns; /* since_ns of the block it was taken for */
	__u64 regs[SCHED_NR_REGS];
	__u32 size; /* bytes of stack in data: from regs[7] (sp) up */
	__u32 pad2;
	__u8 data[];
};
#define SCHED_USTACK_REC_HDR 24 /* before regs: where the struct ustack_copy starts */
#define SCHED_USTACK_HDR_SIZE (SCHED_USTACK_REC_HDR + SCHED_NR_REGS * 8 + 8)
#define SCHED_USCRATCH_SIZE (SCHED_USTACK_HDR_SIZE + SCHED_STACK_MAX)
#define SCHED_MAX_FP_PIDS 8192 /* processes walked with frame pointers: no stack copy */
/* Copies kept in the map "ucopies" until their block proves long enough to be reported
 * (most blocks of a new thread are shorter than min_block_ns: their copies never leave the
 * kernel). Each is a header and stack_size bytes (SCHED_USTACK_HDR_SIZE + 16 KiB by default:
 * 8.3 MiB for all, preallocated). */
#define SCHED_MAX_PARKED 512

/*
 * Who woke a thread from a block of at least min_block_ns (waker_stacks set, --waker-stacks):
 * sent at the wakeup, from the waker's context, before the block's own record (sent when the
 * woken thread gets a CPU), which user space pairs it with by (tid, since_ns). Variable length:
 * nr_user user then nr_kernel kernel addresses of the waker, leaf first (the user stack is the
 * frame-pointer walk: no stack copy). The waker is whatever ran the wakeup: in an interrupt,
 * the interrupted thread (its kernel frames say so).
 */
struct sched_waker_rec {
	__u32 type; /* SCHED_REC_WAKER */
	__u32 pid;  /* the woken thread */
	__u32 tid;
	__u32 waker_pid;
	__u64 since_ns; /* the block's start, as in its record */
	__u32 waker_tid;
	__u32 nr_user;
	__u32 nr_kernel;
	__u32 flags; /* SCHED_STK_* of the waker's stacks */
	char waker_comm[SCHED_COMM_LEN];
	__u64 frames[SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES];
};

#define SCHED_WAKER_HDR_SIZE 56

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
	__u64 ringbuf_lost; /* a record could not be sent: the ring was full (exits: a bug) */
	__u64 threads_full; /* a thread could not be tracked: "threads" was full */
	__u64 stacks_full;  /* a block's stacks could not be kept: "stacks" was full */
	__u64 targets_full; /* a followed child could not be added: "targets" was full */
	__u64 no_stack;	    /* a long block whose stacks were not kept (missing or replaced) */
	__u64 reused;	    /* blocks whose stacks were those of the block before (same place) */
	__u64 ustacks;	    /* user stack copies sent (struct sched_ustack_rec) */
	__u64 ustack_lost;  /* copies not sent: the ring was half full (those blocks: FP walk) */
	__u64 parked;	    /* copies taken and kept in "ucopies" until their block is long */
	__u64 park_full;    /* copies sent at once: "ucopies" was full */
	__u64 wakers;	    /* waker records sent (waker_stacks) */
	__u64 waker_lost;   /* waker records not sent: the ring was 3/4 full */
	__u64 block_dropped; /* ends of blocks not sent: the ring was 7/8 full (room for exits) */
	__u64 frames_dropped; /* ends of blocks sent without their frames: the ring was 3/4 full */
};

#define SCHED_MAX_TARGETS 8192

#endif
