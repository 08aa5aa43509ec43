// SPDX-License-Identifier: GPL-2.0-only
/*
 * Heap growth. By default (no uprobes, nothing traps the allocator): the kmem:rss_stat
 * tracepoint, which the kernel fires whenever it changes a process's resident-memory counters —
 * a page fault that maps a new anonymous page, an munmap or madvise that drops some, a swap-out —
 * in the thread that changed them. The counters are per-CPU batched (percpu_counter): a thread's
 * change reaches the shared count when its CPU's batch folds, so the difference of the shared
 * count since the last event is exact in sum and lands, like a sample, on the thread and stack
 * that folded it. Each nonzero difference is a record with that user stack.
 *
 * Leak mode (uprobes on the allocator the loader found, one target): entry probes keep each
 * thread's arguments, the return probe sends the allocation with its stack, free sends the block.
 * Matching happens in user space (heap_match.c). A call made inside another traced call (realloc
 * calling malloc or free in glibc) belongs to the outer one and is skipped: it is deeper on the
 * same thread's stack.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "heap_abi.h"

#define TARGETS_COUNTERS struct heap_counters
#define TARGETS_MAX HEAP_MAX_TARGETS
#define TARGETS_VALUE __u8
#include "targets.bpf.h"
#include "ustack.bpf.h"

_Static_assert(sizeof(struct ustack_copy) == HEAP_USTACK_HDR_SIZE &&
	       USTACK_MAX == HEAP_STACK_MAX && USTACK_NR_REGS == HEAP_NR_REGS,
	       "struct heap_ustack is laid out as struct ustack_copy");

/* Set by the loader between __open() and __load(). */
const volatile __u32 page_shift = 12;
/* Growth is sampled by pages (as Go's MemProfileRate samples bytes): a change of a process's
 * counters goes out with a stack only once its growth (or release) since the last record
 * reaches a random threshold of sample_pages on average, carrying all of it; 0: every change. */
const volatile __u32 sample_pages = 0;

/* A process flametop measures the uprobes' cost on (itself): its calls send nothing. */
__u32 calib_pid = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by the loader */
} events SEC(".maps");

/* One record under construction per CPU, indexed by CPU (max_entries set by the loader). The
 * programs here do not nest on a CPU: tracepoint and uprobe programs share bpf_prog_active. */
struct scratch {
	__u64 buf[HEAP_SCRATCH_SIZE / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct scratch);
} scratch SEC(".maps");

/* Address spaces (struct mm_struct *) → their RSS counters as last seen. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HEAP_MAX_MMS);
	__type(key, __u64);
	__type(value, struct heap_mm);
} mms SEC(".maps");

/* Leak mode: tid → the arguments of the allocator call it is in. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, HEAP_MAX_PENDING);
	__type(key, __u32);
	__type(value, struct heap_pending);
} pending SEC(".maps");

/*
 * Fills in and sends a record whose kind, bytes, addr, old and member the caller set in r (the
 * scratch buffer): with_stack takes the user stack (and a copy of it when stack_size is set).
 */
static __always_inline void send(void *ctx, struct heap_record *r, __u32 pid, __u32 tid,
				 bool with_stack, bool with_copy, struct heap_counters *cnt)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	__u32 nu = 0, extra = 0;
	__u64 size;
	long ret;

	r->time_ns = bpf_ktime_get_ns();
	r->pid = pid;
	r->tid = tid;
	r->nr_user = 0;
	if (with_stack) {
		ret = bpf_get_stack(ctx, r->frames, HEAP_MAX_FRAMES * 8, BPF_F_USER_STACK);
		if (ret > 0) {
			nu = (__u64)ret / 8;
			if (nu > HEAP_MAX_FRAMES)
				nu = HEAP_MAX_FRAMES;
		} else {
			r->flags |= HEAP_REC_USER_FAILED;
			cnt->no_user++;
		}
		r->nr_user = nu;
		bpf_get_current_comm(r->comm, sizeof(r->comm));
		BPF_CORE_READ_INTO(&r->pcomm, task, group_leader, comm);
	}
	size = HEAP_RECORD_HDR_SIZE + (__u64)nu * 8;
	/* Copies fill half the ring at most, as probes/cpu's: past half a record goes without one
	 * (its frame-pointer stack still names where), so that a ring user space is late to drain
	 * loses no record and no growth. */
	if (with_copy && stack_size &&
	    bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) * 2 >
		    bpf_ringbuf_query(&events, BPF_RB_RING_SIZE)) {
		with_copy = false;
		cnt->copy_dropped++;
	}
	if (with_copy && stack_size) {
		extra = copy_ustack(r, (__u32)size, HEAP_RECORD_MAX_SIZE);
		if (extra)
			r->flags |= HEAP_REC_USTACK;
		size += extra;
	}
	if (size > HEAP_SCRATCH_SIZE) /* cannot happen; tells the verifier */
		return;
	cnt->records++;
	if (bpf_ringbuf_output(&events, r, size, BPF_RB_NO_WAKEUP))
		cnt->ringbuf_lost++;
}

static __always_inline struct heap_record *scratch_record(void)
{
	__u32 cpu = bpf_get_smp_processor_id();
	struct scratch *s = bpf_map_lookup_elem(&scratch, &cpu);
	struct heap_record *r;

	if (!s)
		return NULL;
	r = (struct heap_record *)s->buf;
	r->flags = 0;
	r->addr = r->old = 0;
	r->member = 0;
	r->comm[0] = r->pcomm[0] = 0;
	return r;
}

/* The shared count of an RSS counter: constant indexes keep the verifier and CO-RE happy. With
 * tp_btf (btf), mm is the kernel's typed pointer, read with plain loads; a raw tracepoint's is a
 * number, read with bpf_probe_read_kernel() (a helper call each: ~a fifth of a run). */
static __always_inline __s64 rss_count(struct mm_struct *mm, __u32 member, bool btf)
{
	if (btf) {
		switch (member) {
		case 0:
			return mm->rss_stat[0].count;
		case 1:
			return mm->rss_stat[1].count;
		case 2:
			return mm->rss_stat[2].count;
		default:
			return mm->rss_stat[3].count;
		}
	}
	switch (member) {
	case 0:
		return BPF_CORE_READ(mm, rss_stat[0].count);
	case 1:
		return BPF_CORE_READ(mm, rss_stat[1].count);
	case 2:
		return BPF_CORE_READ(mm, rss_stat[2].count);
	default:
		return BPF_CORE_READ(mm, rss_stat[3].count);
	}
}

/* The next sampling threshold: uniform in [sample_pages / 2, 3 * sample_pages / 2). */
static __always_inline __s64 next_threshold(void)
{
	if (sample_pages < 2)
		return 0;
	return sample_pages / 2 + bpf_get_prandom_u32() % sample_pages;
}

/* The pages of an exiting process not yet sampled: sent without a stack, so the sum of the
 * records is still every change the process made. */
static __always_inline void send_rest(void *ctx, struct heap_mm *e, struct heap_counters *cnt)
{
	__s64 rest = e->pend[0] + e->pend[1];
	struct heap_record *r;

	if (!rest)
		return;
	r = scratch_record();
	if (!r)
		return;
	r->kind = HEAP_REC_RSS;
	r->bytes = rest << page_shift;
	r->member = HEAP_MM_ANON;
	r->flags |= HEAP_REC_OTHER | HEAP_REC_REST;
	send(ctx, r, e->tgid, e->tgid, false, false, cnt);
}

static __always_inline int rss_event(void *ctx, struct mm_struct *mm, int member, bool btf)
{
	__u64 id = bpf_get_current_pid_tgid(), key = (__u64)mm;
	__u32 tgid = id >> 32, tid = (__u32)id, m = (__u32)member, idx;
	struct task_struct *task;
	struct heap_counters *cnt;
	struct heap_record *r;
	struct heap_mm *e;
	bool in_ctx;
	__s64 now, delta;

	/* file pages are the page cache mapped in, not the heap */
	if (m != HEAP_MM_ANON && m != HEAP_MM_SWAP && m != HEAP_MM_SHMEM)
		return 0;
	if (btf) {
		in_ctx = (__u64)bpf_get_current_task_btf()->mm == key;
	} else {
		task = (struct task_struct *)bpf_get_current_task();
		in_ctx = (__u64)BPF_CORE_READ(task, mm) == key;
	}
	e = bpf_map_lookup_elem(&mms, &key);
	if (in_ctx) {
		if (tid == 0 || tgid == calib_pid)
			return 0;
		if (!is_target(tgid))
			return 0;
	} else {
		/* reclaim, another process's access (ptrace, process_madvise): known ones only */
		if (!e)
			return 0;
		/* the process is gone and its memory torn down: that is not "the heap shrank" */
		if ((btf ? mm->mm_users.counter : BPF_CORE_READ(mm, mm_users.counter)) == 0) {
			cnt = get_counters();
			if (cnt)
				send_rest(ctx, e, cnt);
			bpf_map_delete_elem(&mms, &key);
			return 0;
		}
		tgid = e->tgid;
		tid = tgid;
	}
	cnt = get_counters();
	if (!cnt)
		return 0;
	cnt->rss_events++;
	now = rss_count(mm, m, btf);
	if (!e || (in_ctx && e->tgid != tgid)) {
		/* first sight (or the address space was reused): the counts so far are the base */
		struct heap_mm n = { .tgid = tgid };

		n.next[0] = next_threshold();
		n.next[1] = next_threshold();

		n.last[0] = rss_count(mm, 0, btf);
		n.last[1] = rss_count(mm, 1, btf);
		n.last[2] = rss_count(mm, 2, btf);
		n.last[3] = rss_count(mm, 3, btf);
		if (bpf_map_update_elem(&mms, &key, &n, BPF_ANY))
			cnt->mms_full++;
		return 0;
	}
	idx = m;
	asm volatile("" : "+r"(idx)); /* keep the mask: clang knows m is 1..3, the verifier not */
	idx &= 3;
	delta = now - e->last[idx];
	e->last[idx] = now;
	if (!delta)
		return 0;
	if (in_ctx && sample_pages > 1) {
		/* sampled: the growth (or release) so far goes out with this stack once it is
		 * over the threshold; until then it waits, and the next record carries it */
		if (delta > 0) {
			e->pend[0] += delta;
			if (e->pend[0] < e->next[0]) {
				cnt->unsampled++;
				return 0;
			}
			delta = e->pend[0];
			e->pend[0] = 0;
			e->next[0] = next_threshold();
		} else {
			e->pend[1] += delta;
			if (-e->pend[1] < e->next[1]) {
				cnt->unsampled++;
				return 0;
			}
			delta = e->pend[1];
			e->pend[1] = 0;
			e->next[1] = next_threshold();
		}
	}
	r = scratch_record();
	if (!r)
		return 0;
	r->kind = HEAP_REC_RSS;
	r->bytes = delta << page_shift;
	r->member = m;
	if (!in_ctx)
		r->flags |= HEAP_REC_OTHER;
	send(ctx, r, tgid, tid, in_ctx, in_ctx, cnt);
	return 0;
}

SEC("tp_btf/rss_stat")
int BPF_PROG(on_rss_btf, struct mm_struct *mm, int member)
{
	return rss_event(ctx, mm, member, true);
}

/* The same where tp_btf does not load: raw arguments, read with CO-RE. */
SEC("raw_tp/rss_stat")
int BPF_PROG(on_rss_raw, struct mm_struct *mm, int member)
{
	return rss_event(ctx, mm, member, false);
}

/* ---- leak mode ---- */

static __always_inline bool calibrating(void)
{
	return (bpf_get_current_pid_tgid() >> 32) == calib_pid;
}

/* An allocator call begins: keeps its arguments unless it is nested in a traced call. */
static __always_inline int enter(struct pt_regs *ctx, __u32 kind, __u64 size, __u64 old)
{
	__u32 tid = (__u32)bpf_get_current_pid_tgid();
	__u64 sp = PT_REGS_SP(ctx);
	struct heap_counters *cnt = get_counters();
	struct heap_pending *p, n = { .size = size, .old = old, .sp = sp, .kind = kind };

	if (!cnt)
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->sp && sp < p->sp)
		return 0; /* deeper on the stack of a call still running: part of it */
	cnt->calls++;
	if (p)
		*p = n;
	else if (bpf_map_update_elem(&pending, &tid, &n, BPF_ANY))
		cnt->pending_full++;
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_malloc, __u64 size)
{
	return enter(ctx, HEAP_FN_MALLOC, size, 0);
}

SEC("uprobe")
int BPF_KPROBE(on_calloc, __u64 n, __u64 size)
{
	return enter(ctx, HEAP_FN_MALLOC, n * size, 0);
}

SEC("uprobe")
int BPF_KPROBE(on_realloc, __u64 old, __u64 size)
{
	return enter(ctx, HEAP_FN_REALLOC, size, old);
}

SEC("uprobe")
int BPF_KPROBE(on_reallocarray, __u64 old, __u64 n, __u64 size)
{
	return enter(ctx, HEAP_FN_REALLOC, n * size, old);
}

SEC("uprobe")
int BPF_KPROBE(on_memalign, __u64 align, __u64 size)
{
	return enter(ctx, HEAP_FN_MALLOC, size, 0);
}

SEC("uprobe")
int BPF_KPROBE(on_posix_memalign, __u64 memptr, __u64 align, __u64 size)
{
	return enter(ctx, HEAP_FN_POSIX_MEMALIGN, size, memptr);
}

/* Any allocating call returns: the outer one sends its block, with the caller's stack. */
SEC("uretprobe")
int BPF_KRETPROBE(on_alloc_ret, __u64 ret)
{
	__u64 id = bpf_get_current_pid_tgid(), sp = PT_REGS_SP(ctx), addr = ret, old;
	__u32 tid = (__u32)id, kind;
	struct heap_counters *cnt;
	struct heap_pending *p;
	struct heap_record *r;
	__u64 size;

	p = bpf_map_lookup_elem(&pending, &tid);
	/* after the return the stack pointer is above the entry's: a nested call's is below */
	if (!p || !p->sp || sp <= p->sp)
		return 0;
	kind = p->kind;
	size = p->size;
	old = p->old;
	p->sp = 0;
	if (calibrating())
		return 0;
	cnt = get_counters();
	r = scratch_record();
	if (!cnt || !r)
		return 0;
	if (kind == HEAP_FN_POSIX_MEMALIGN) {
		addr = 0;
		if (ret == 0 && bpf_probe_read_user(&addr, sizeof(addr), (void *)old))
			addr = 0;
		old = 0;
	}
	r->kind = kind == HEAP_FN_REALLOC ? HEAP_REC_REALLOC : HEAP_REC_ALLOC;
	r->bytes = (__s64)size;
	r->addr = addr;
	r->old = old;
	/* the caller's frame-pointer chain is whole here; copies would cost more than the trap */
	send(ctx, r, id >> 32, tid, true, false, cnt);
	return 0;
}

SEC("uprobe")
int BPF_KPROBE(on_free, __u64 ptr)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 tid = (__u32)id;
	struct heap_counters *cnt;
	struct heap_pending *p;
	struct heap_record *r;

	if (!ptr)
		return 0;
	p = bpf_map_lookup_elem(&pending, &tid);
	if (p && p->sp && PT_REGS_SP(ctx) < p->sp)
		return 0; /* realloc freeing inside: the realloc tells */
	if (calibrating())
		return 0;
	cnt = get_counters();
	r = scratch_record();
	if (!cnt || !r)
		return 0;
	cnt->calls++;
	r->kind = HEAP_REC_FREE;
	r->bytes = 0;
	r->addr = ptr;
	send(ctx, r, id >> 32, tid, false, false, cnt);
	return 0;
}

/* ---- targets ---- */

/* A target's new process becomes a target (growth tracking of `flametop -- script.sh`). */
SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_proc_fork, struct task_struct *parent, struct task_struct *child)
{
	targets_fork(parent, child, 1);
	return 0;
}

/* A thread exits: its pending call is over; the last thread of a target ends it. */
SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_proc_exit, struct task_struct *task)
{
	__u32 tid = BPF_CORE_READ(task, pid);

	bpf_map_delete_elem(&pending, &tid);
	targets_exit(task);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
