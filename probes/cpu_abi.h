// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/cpu: the layout shared by cpu.bpf.c and the loader cpu.c. Only fixed-width fields, widest
 * first, explicit padding, so both compilers agree without help. The includer provides __u32/__u64
 * (vmlinux.h in BPF, <linux/types.h> in user space).
 */
#ifndef PROBES_CPU_ABI_H
#define PROBES_CPU_ABI_H

#define CPU_MAX_FRAMES 127 /* per stack; the kernel's default perf_event_max_stack */
#define CPU_COMM_LEN 16

/* cpu_record.flags */
#define CPU_REC_USER_FAILED (1u << 0)	/* user thread, but its user stack could not be read */
#define CPU_REC_KERNEL_FAILED (1u << 1) /* interrupted in kernel mode, but no kernel stack */
#define CPU_REC_KTHREAD (1u << 2)	/* a kernel thread: it has no user stack */
#define CPU_REC_IN_KERNEL (1u << 3)	/* the sample interrupted kernel code */
#define CPU_REC_USTACK (1u << 4)	/* a struct cpu_ustack follows the frames */
#define CPU_REC_GOSTACK (1u << 5)	/* a struct cpu_gostack follows the frames */
#define CPU_REC_GOCOPY (1u << 6)	/* a Go program's cpu_ustack: its BP was no frame pointer */

/*
 * One sample, as sent through the ring buffer. The record is variable-length: the header is
 * followed by nr_user user addresses and then nr_kernel kernel addresses, each leaf first
 * (as bpf_get_stack() returns them). The ring hands out records 8-byte aligned.
 */
struct cpu_record {
	__u64 time_ns; /* bpf_ktime_get_ns(): CLOCK_MONOTONIC */
	__u32 pid;     /* tgid */
	__u32 tid;
	__u32 nr_user;
	__u32 nr_kernel;
	__u32 flags; /* CPU_REC_* */
	__u32 cpu;
	char comm[CPU_COMM_LEN];  /* thread name, NUL-padded */
	char pcomm[CPU_COMM_LEN]; /* group leader's name */
	__u64 frames[];		  /* nr_user + nr_kernel */
};

#define CPU_RECORD_HDR_SIZE 64
#define CPU_RECORD_MAX_SIZE (CPU_RECORD_HDR_SIZE + 2 * CPU_MAX_FRAMES * 8)

/*
 * With the stack_size knob set (DWARF unwinding in user space), a record of a user thread can
 * carry, right after its frames, the thread's user registers and a copy of the top of its user
 * stack, for model/unwind.c. Registers are in perf_event's order for sample_regs_user 0xff01ff.
 */
#define CPU_NR_REGS 17	     /* ax bx cx dx si di bp sp ip r8 r9 r10 r11 r12 r13 r14 r15 */
#define CPU_STACK_MAX 32768  /* most bytes of stack copied per sample */
struct cpu_ustack {
	__u64 regs[CPU_NR_REGS];
	__u32 size; /* bytes of stack in data: from regs[7] (sp) up */
	__u32 pad;
	__u8 data[];
};
#define CPU_USTACK_HDR_SIZE (CPU_NR_REGS * 8 + 8)
#define CPU_USCRATCH_SIZE (CPU_RECORD_MAX_SIZE + CPU_USTACK_HDR_SIZE + CPU_STACK_MAX)

/* Per-CPU counters: the single entry of the per-CPU array map "counters". */
struct cpu_counters {
	__u64 samples;	    /* samples of target threads (the idle task is not a sample) */
	__u64 ringbuf_lost; /* bpf_ringbuf_output() failed: the ring was full */
	__u64 no_user;	    /* user thread whose user stack failed */
	__u64 no_kernel;    /* kernel-mode sample whose kernel stack failed */
	__u64 no_stack;	    /* neither stack: counted here, not sent */
	__u64 targets_full; /* a followed child could not be added: the target map was full */
	__u64 copy_dropped; /* sent without its stack copy: the ring was over half full */
};

/*
 * For a Go program the frame-pointer walk is repaired in user space (model/gostack.h): a leaf
 * that has not pushed its frame pointer hides its caller, whose return address is a few words
 * above SP. Such records carry SP and the words there instead of a stack copy: 80 bytes. When
 * BP is no frame pointer (assembly using it as a register) and copies are on, the record carries
 * the copy (CPU_REC_USTACK | CPU_REC_GOCOPY), which user space walks by frame sizes instead.
 */
#define CPU_GO_WORDS 8 /* GOSTACK_WORDS_SIZE / 8 */
struct cpu_gostack {
	__u64 sp;
	__u32 size; /* bytes of words[] read: the stack may end closer to sp */
	__u32 pad;
	__u64 words[CPU_GO_WORDS];
};
#define CPU_GOSTACK_SIZE (16 + 8 * CPU_GO_WORDS)

#define CPU_MAX_TARGETS 8192
#define CPU_MAX_FP_PIDS 8192 /* processes walked with frame pointers: no stack copy */
/* fp_pids values */
#define CPU_FP_PLAIN 1 /* the frame-pointer walk alone */
#define CPU_FP_GO 2    /* ... with a struct cpu_gostack (a Go program) */

#endif
