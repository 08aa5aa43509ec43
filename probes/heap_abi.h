// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap: the layout shared by heap.bpf.c and the loader heap.c. Only fixed-width fields,
 * widest first, explicit padding. The includer provides __u32/__u64/__s64.
 */
#ifndef PROBES_HEAP_ABI_H
#define PROBES_HEAP_ABI_H

#define HEAP_MAX_FRAMES 127
#define HEAP_COMM_LEN 16
#define HEAP_MAX_TARGETS 8192
#define HEAP_MAX_MMS 16384      /* address spaces whose RSS counters are followed */
#define HEAP_MAX_PENDING 65536  /* threads inside a traced allocator call */

/* heap_record.kind */
#define HEAP_REC_RSS 1     /* an RSS counter of a process changed by bytes */
#define HEAP_REC_ALLOC 2   /* leak mode: an allocation of bytes returned addr */
#define HEAP_REC_FREE 3    /* leak mode: addr was freed (no stack, no names) */
#define HEAP_REC_REALLOC 4 /* leak mode: realloc(old, bytes) returned addr */

/* heap_record.flags */
#define HEAP_REC_USER_FAILED (1u << 0) /* no user stack could be captured */
#define HEAP_REC_OTHER (1u << 1)       /* RSS changed by another task (reclaim): no stack */
#define HEAP_REC_REST (1u << 2)        /* growth not yet sampled when the process exited */
#define HEAP_REC_USTACK (1u << 4)      /* a struct heap_ustack follows the frames */

/* RSS counters (enum in include/linux/mm_types_task.h; read with CO-RE where it matters). */
#define HEAP_MM_FILE 0
#define HEAP_MM_ANON 1
#define HEAP_MM_SWAP 2
#define HEAP_MM_SHMEM 3

/*
 * One event, as sent through the ring buffer: the header, then nr_user user return addresses
 * (leaf first), then, with HEAP_REC_USTACK, the registers and a copy of the user stack for
 * DWARF unwinding, laid out as probes/cpu's struct cpu_ustack.
 */
struct heap_record {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__s64 bytes;   /* RSS: the change; ALLOC and REALLOC: the size asked for */
	__u64 addr;    /* ALLOC, REALLOC: the block returned (0: failed); FREE: the block */
	__u64 old;     /* REALLOC: the block passed in */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 kind;    /* HEAP_REC_* */
	__u32 flags;   /* HEAP_REC_* flags */
	__u32 nr_user;
	__u32 member;  /* RSS: HEAP_MM_* */
	char comm[HEAP_COMM_LEN];
	char pcomm[HEAP_COMM_LEN];
	__u64 frames[];
};

#define HEAP_RECORD_HDR_SIZE 88

#define HEAP_NR_REGS 17 /* ax bx cx dx si di bp sp ip r8 .. r15: perf's order */
#define HEAP_STACK_MAX 32768
struct heap_ustack {
	__u64 regs[HEAP_NR_REGS];
	__u32 size; /* bytes of stack in data, from regs[7] (sp) up */
	__u32 pad;
	__u8 data[];
};

#define HEAP_USTACK_HDR_SIZE (HEAP_NR_REGS * 8 + 8)
#define HEAP_RECORD_MAX_SIZE (HEAP_RECORD_HDR_SIZE + HEAP_MAX_FRAMES * 8)
#define HEAP_SCRATCH_SIZE (HEAP_RECORD_MAX_SIZE + HEAP_USTACK_HDR_SIZE + HEAP_STACK_MAX)

/* A followed address space: whose it is and the RSS counters as last seen. */
struct heap_mm {
	__s64 last[4];
	__s64 pend[2];  /* pages changed since the last record: [0] growth, [1] release (< 0) */
	__s64 next[2];  /* a record (with a stack) goes out once |pend| reaches this */
	__u32 tgid;
	__u32 pad;
};

/* A thread inside a traced allocator call: its arguments until the call returns. */
struct heap_pending {
	__u64 size;
	__u64 old; /* realloc's block; posix_memalign's &ptr */
	__u64 sp;  /* the stack pointer at entry: deeper calls are nested in this one */
	__u32 kind; /* HEAP_FN_* */
	__u32 pad;
};

/* What a pending call is (the uprobe program that saw it). */
#define HEAP_FN_MALLOC 0
#define HEAP_FN_REALLOC 1
#define HEAP_FN_POSIX_MEMALIGN 2

/* Per-CPU counters: the single entry of the per-CPU array map "counters". */
struct heap_counters {
	__u64 rss_events;   /* RSS counter changes seen of targets */
	__u64 records;      /* records sent */
	__u64 ringbuf_lost; /* records dropped: the ring was full */
	__u64 no_user;      /* records without a user stack */
	__u64 calls;        /* leak mode: allocator calls of targets */
	__u64 pending_full; /* leak mode: a call's arguments found no room: the call is lost */
	__u64 mms_full;     /* an address space could not be followed */
	__u64 targets_full; /* a followed child could not be added */
	__u64 unsampled;    /* changes folded into a later record (sampling by bytes) */
	__u64 copy_dropped; /* records sent without their stack copy: the ring was half full */
};

#endif
