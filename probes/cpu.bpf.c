// SPDX-License-Identifier: GPL-2.0-only
/*
 * On-CPU sampling: runs on every tick of a per-CPU software cpu-clock perf event, takes the user
 * and kernel stacks of the interrupted thread and sends them to user space through a ring buffer
 * as one variable-length struct cpu_record. Aggregation happens in user space: stack-id maps lose
 * stacks to hash collisions (FIELD-NOTES). With stack_size set, a record of a user thread also
 * carries its user registers and the top of its user stack (copy_ustack()), which user space
 * walks with DWARF unwind info (model/unwind.c): frame pointers are missing in most binaries.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "cpu_abi.h"

#define PF_KTHREAD 0x00200000
#define EFAULT 14

#define TARGETS_COUNTERS struct cpu_counters
#define TARGETS_MAX CPU_MAX_TARGETS
#define TARGETS_VALUE __u8
#include "targets.bpf.h"
#include "ustack.bpf.h"

_Static_assert(sizeof(struct ustack_copy) == CPU_USTACK_HDR_SIZE &&
	       USTACK_MAX == CPU_STACK_MAX && USTACK_NR_REGS == CPU_NR_REGS,
	       "struct cpu_ustack is laid out as struct ustack_copy");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by the loader */
} events SEC(".maps");

/* A record is built here and then copied into the ring at its real length. perf_event programs
 * do not nest on one CPU (bpf_prog_active), so one buffer per CPU is enough. */
struct scratch {
	__u64 buf[(CPU_RECORD_MAX_SIZE + CPU_GOSTACK_SIZE) / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* With stack copies records are too big for a per-CPU value (32 KiB at most): one entry per CPU
 * in a plain array, indexed by the CPU (the loader sets max_entries to the possible CPUs). */
struct uscratch {
	__u64 buf[CPU_USCRATCH_SIZE / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct uscratch);
} uscratch SEC(".maps");

/* Processes user space walks with frame pointers (Go): their stacks are not copied; the value
 * is CPU_FP_PLAIN, or CPU_FP_GO to send the words at SP (copy_gostack()). */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, CPU_MAX_FP_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} fp_pids SEC(".maps");

_Static_assert(sizeof(struct cpu_gostack) == CPU_GOSTACK_SIZE, "cpu_gostack layout");
_Static_assert(CPU_USCRATCH_SIZE >= CPU_RECORD_MAX_SIZE + CPU_GOSTACK_SIZE, "room for the words");

/*
 * The user stack pointer and the words at it, appended to rec at off (at most
 * CPU_RECORD_MAX_SIZE): where a Go leaf without its frame pointer pushed keeps its return
 * address. A read that would cross the end of the stack shrinks to one word, then none.
 */
static __always_inline __u32 copy_gostack(void *rec, __u32 off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct cpu_gostack *g;
	__u64 sp;

	if (off > CPU_RECORD_MAX_SIZE || !regs)
		return 0;
	g = rec + off;
	sp = BPF_CORE_READ(regs, sp);
	g->sp = sp;
	g->pad = 0;
	g->size = sizeof(g->words);
	if (bpf_probe_read_user(g->words, sizeof(g->words), (const void *)sp)) {
		g->size = 8;
		if (bpf_probe_read_user(g->words, 8, (const void *)sp))
			g->size = 0;
	}
	return CPU_GOSTACK_SIZE;
}

/*
 * Go keeps frame pointers, but its assembly may use BP as a register (Go 1.19/1.20's
 * crypto/sha256 AVX2 block holds a table address there): then the frame-pointer walk breaks off
 * after the leaf, and user space needs a copy of the stack to walk it by frame sizes
 * (model/gostack.h). A frame pointer points into the stack above SP, within what a copy holds.
 */
static __always_inline bool go_bp_broken(void)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	__u64 sp, bp;

	if (!regs)
		return false;
	sp = BPF_CORE_READ(regs, sp);
	bp = BPF_CORE_READ(regs, bp);
	return bp <= sp || bp - sp >= stack_size;
}

/*
 * Stack copies may fill half the ring at most. When user space falls behind (stopped, or
 * starved of CPU on a busy host) a full ring lost every sample until it drained: 32 KiB copies
 * fill a ring of 8 MiB in a second or two of deep stacks. Past half, samples go without their
 * copy (~1 KiB each, the frame-pointer stack: the other half holds thousands), so the time
 * still counts, with the thread, the leaf and the kernel stack, and the stack is cut short
 * where frame pointers end instead of the sample being lost.
 */
static __always_inline bool ring_half_full(void)
{
	return bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) * 2 >
	       bpf_ringbuf_query(&events, BPF_RB_RING_SIZE);
}

/* The interrupted instruction was kernel code: kernel addresses are the upper half on x86-64 and
 * arm64 alike. */
static __always_inline bool in_kernel_mode(struct bpf_perf_event_data *ctx)
{
	return (long)PT_REGS_IP(&ctx->regs) < 0;
}

SEC("perf_event")
int on_sample(struct bpf_perf_event_data *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32, tid = (__u32)id;
	__u32 zero = 0, nu = 0, nk = 0, flags = 0;
	struct cpu_counters *cnt;
	struct task_struct *task;
	struct uscratch *big = NULL;
	struct cpu_record *r;
	struct scratch *s = NULL;
	__u8 *fp_mode = NULL;
	__u32 extra = 0;
	bool kthread, go = false, copy = false;
	long ret;
	__u64 size;

	if (tid == 0) /* the idle task: nothing ran */
		return 0;
	if (!is_target(pid))
		return 0;

	cnt = get_counters();
	if (!cnt)
		return 0;
	if (stack_size) {
		__u32 cpu = bpf_get_smp_processor_id();

		big = bpf_map_lookup_elem(&uscratch, &cpu);
		if (!big)
			return 0;
		r = (struct cpu_record *)big->buf;
	} else {
		s = bpf_map_lookup_elem(&scratch, &zero);
		if (!s)
			return 0;
		r = (struct cpu_record *)s->buf;
	}
	cnt->samples++;

	task = (struct task_struct *)bpf_get_current_task();
	kthread = (BPF_CORE_READ(task, flags) & PF_KTHREAD) || !BPF_CORE_READ(task, mm);

	if (kthread) {
		flags |= CPU_REC_KTHREAD;
	} else {
		ret = bpf_get_stack(ctx, r->frames, CPU_MAX_FRAMES * 8, BPF_F_USER_STACK);
		if (ret > 0) {
			nu = (__u64)ret / 8;
			if (nu > CPU_MAX_FRAMES)
				nu = CPU_MAX_FRAMES;
		} else {
			flags |= CPU_REC_USER_FAILED;
			cnt->no_user++;
		}
	}

	if (kthread || in_kernel_mode(ctx))
		flags |= CPU_REC_IN_KERNEL;
	ret = bpf_get_stack(ctx, &r->frames[nu], CPU_MAX_FRAMES * 8, 0);
	if (ret > 0) {
		nk = (__u64)ret / 8;
		if (nk > CPU_MAX_FRAMES)
			nk = CPU_MAX_FRAMES;
		flags |= CPU_REC_IN_KERNEL;
	} else if ((ret != 0 && ret != -EFAULT) || (flags & CPU_REC_IN_KERNEL)) {
		/* No frames (0, or -EFAULT on older kernels) with user-mode registers is a sample
		 * taken in user mode: no kernel stack was expected. */
		flags |= CPU_REC_KERNEL_FAILED;
		cnt->no_kernel++;
	}

	if (nu == 0 && nk == 0) {
		cnt->no_stack++;
		return 0;
	}

	r->time_ns = bpf_ktime_get_ns();
	r->pid = pid;
	r->tid = tid;
	r->nr_user = nu;
	r->nr_kernel = nk;
	r->flags = flags;
	r->cpu = bpf_get_smp_processor_id();
	bpf_get_current_comm(r->comm, sizeof(r->comm));
	BPF_CORE_READ_INTO(&r->pcomm, task, group_leader, comm);

	size = CPU_RECORD_HDR_SIZE + ((__u64)nu + nk) * 8;
	if (!kthread) {
		fp_mode = bpf_map_lookup_elem(&fp_pids, &pid);
		/* a Go program gets the words at SP, or the copy when its BP is no frame pointer */
		go = fp_mode && *fp_mode == CPU_FP_GO;
		copy = big && (!fp_mode || (go && go_bp_broken()));
	}
	if (go && !copy) {
		extra = copy_gostack(r, (__u32)size);
		if (extra)
			r->flags |= CPU_REC_GOSTACK;
		size += extra;
	}
	if (big) {
		if (copy && ring_half_full()) {
			copy = false;
			cnt->copy_dropped++;
		}
		if (copy) {
			extra = copy_ustack(r, (__u32)size, CPU_RECORD_MAX_SIZE);
			if (extra)
				r->flags |= go ? CPU_REC_USTACK | CPU_REC_GOCOPY : CPU_REC_USTACK;
			size += extra;
		}
		if (size > CPU_USCRATCH_SIZE) /* cannot happen; tells the verifier */
			return 0;
		if (bpf_ringbuf_output(&events, big->buf, size, BPF_RB_NO_WAKEUP))
			cnt->ringbuf_lost++;
		return 0;
	}
	if (size > CPU_RECORD_MAX_SIZE + CPU_GOSTACK_SIZE) /* cannot happen; tells the verifier */
		return 0;
	if (bpf_ringbuf_output(&events, r, size, BPF_RB_NO_WAKEUP))
		cnt->ringbuf_lost++;
	return 0;
}

/* A target's new process (not a new thread) becomes a target: `flametop -- script.sh`. */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	targets_fork(parent, child, 1);
	return 0;
}

/* A target whose last thread exits stops being one: its pid may be reused by anything. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_proc_exit, struct task_struct *task)
{
	targets_exit(task);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
