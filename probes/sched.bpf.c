// SPDX-License-Identifier: GPL-2.0-only
/*
 * Thread states and off-CPU stacks from the scheduler's tracepoints.
 *
 * Every thread of the targets has an entry in "threads" (struct sched_thread) that the state
 * machine of sched_state.h moves on sched_switch and sched_wakeup(_new): the time of every closed
 * interval is added to acc_ns[state]; the open one starts at since_ns. User space reads the map
 * once per tick and closes the open intervals itself (sched_acct.c), so nothing needs to happen
 * here at tick boundaries and a thread asleep for an hour still shows 100 % sleep in every tick.
 *
 * When a thread blocks, its user and kernel stacks are taken (it is `current` in sched_switch)
 * into its slot in "stacks"; when the block ends (wakeup, or switch-in if the wakeup was missed)
 * and lasted at least min_block_ns, the slot notes the end and goes to user space through the
 * ring buffer as a struct sched_block_rec when the thread next gets a CPU, with the time it
 * waited for one (run_ns). A thread's exit sends its last totals and deletes both entries (tids
 * are reused).
 *
 * With stack_size set (DWARF unwinding in user space, probes/cpu's design), a user thread that
 * blocks also gets its user registers and the top of its user stack copied (ustack.bpf.h) into
 * "ucopies"; the block's slot names the copy (ustack_ns), which goes to user space as a struct
 * sched_ustack_rec only when a block naming it proves long enough to be reported, and user space
 * unwinds it then. Stacks reused from the block before (same place) reuse its copy too, and
 * processes user space walks with frame pointers (Go, "fp_pids") get none.
 *
 * Each program exists twice: tp_btf (preferred: typed arguments, and the woken task's registers
 * for threads first seen at their wakeup) and raw_tp (the fallback when tp_btf does not load);
 * the loader picks one set with bpf_program__set_autoload().
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>
#include <bpf/bpf_tracing.h>

#include "sched_abi.h"
#include "sched_state.h"

#define PF_EXITING 0x00000004
#define PF_KTHREAD 0x00200000
#define EEXIST 17
#define ENOSYS 38

/* Target processes: tgid → when it became one. */
#define TARGETS_COUNTERS struct sched_counters
#define TARGETS_MAX SCHED_MAX_TARGETS
#define TARGETS_VALUE __u64
#include "targets.bpf.h"
#include "ustack.bpf.h"

_Static_assert(SCHED_USTACK_HDR_SIZE == SCHED_USTACK_REC_HDR + sizeof(struct ustack_copy) &&
		       USTACK_MAX == SCHED_STACK_MAX && USTACK_NR_REGS == SCHED_NR_REGS,
	       "struct sched_ustack_rec is a header and a struct ustack_copy");

/* Set by the loader between __open() and __load(). */
const volatile __u64 min_block_ns = 1000000;
const volatile bool waker_stacks = false; /* --waker-stacks: who woke a long block */

/* Set by the loader before it attaches: a thread first seen by an event has been in its state
 * since then (it had no event before), or since its process became a target. */
__u64 attach_ns = 0;

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4 << 20); /* resized by the loader */
} events SEC(".maps");

/* tid → state; entries are made on the first event and deleted at exit. Not preallocated:
 * memory follows the number of live threads; max_entries (set by the loader) is the bound. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct sched_thread);
} threads SEC(".maps");

/* tid → the stacks of its current (or last) block. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(max_entries, 32768);
	__type(key, __u32);
	__type(value, struct sched_block_rec);
} stacks SEC(".maps");

/* A blank slot to insert into "stacks" (too big for the BPF stack). */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sched_block_rec);
} blank SEC(".maps");

/* A stack copy is built here, then copied into the ring at its real length: too big for a
 * per-CPU value, so one entry per CPU in a plain array, indexed by the CPU (the loader sets
 * max_entries to the possible CPUs when stack_size is set). sched_switch programs do not nest
 * on a CPU. */
struct uscratch {
	__u64 buf[SCHED_USCRATCH_SIZE / 8];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct uscratch);
} uscratch SEC(".maps");

/*
 * tid → its last stack copy (struct sched_ustack_rec), kept here from the switch-out that took it
 * until a block that names it proves long enough to be reported (end_block()): only then does it
 * go through the ring. Most blocks of a new thread, or at a new place, are shorter than
 * min_block_ns; sending every copy at once put ~10 MB/s of copies that nothing would walk through
 * the ring on a host starting a few hundred processes a second (4 in 5 of them, bench/churn's
 * pipelines), crowding out the records that are kept. Preallocated (the loader sets
 * max_entries: SCHED_MAX_PARKED, or 1 without copies; inserting never allocates in the
 * scheduler), and not an LRU: with more threads blocked long at once than entries (3,000
 * sleepers), an LRU let their copies go before their blocks ended, and every block that reused
 * those stacks was walked with frame pointers (ustack_miss: 43,000-68,000 in 15 s). When it is
 * full a copy is sent right away, as before (park_full): never worse than that.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SCHED_MAX_PARKED);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, SCHED_USCRATCH_SIZE); /* the loader sets park_size */
} ucopies SEC(".maps");

/* Set by the loader: the value size of "ucopies" (a copy's header and stack_size bytes). */
const volatile __u32 park_size = SCHED_USCRATCH_SIZE;

/* A waker record is built here, then sent at its real length. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct sched_waker_rec);
} wscratch SEC(".maps");

/* Processes user space walks with frame pointers (Go): their stacks are not copied. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, SCHED_MAX_FP_PIDS);
	__type(key, __u32);
	__type(value, __u8);
} fp_pids SEC(".maps");

/* Kernels before 5.14 call it state. */
struct task_struct___o {
	volatile long state;
} __attribute__((preserve_access_index));

static __always_inline __u32 task_state(struct task_struct *t)
{
	if (bpf_core_field_exists(t->__state))
		return BPF_CORE_READ(t, __state);
	return (__u32)BPF_CORE_READ((struct task_struct___o *)t, state);
}

/* Since when a thread first seen now has been in its state: since attach, or since its process
 * became a target, whichever is later. */
static __always_inline __u64 first_since(__u32 pid, __u64 now)
{
	__u64 since = attach_ns, *added;

	if (filter_pids) {
		added = bpf_map_lookup_elem(&targets, &pid);
		if (added && *added > since)
			since = *added;
	}
	return since && since <= now ? since : now;
}

/*
 * User space copies an entry front to back while this may be updating it: seq_end, the last
 * field, is made unequal to seq before anything else changes and equal again after everything
 * has, so a copy that read seq before an update began and seq_end after it began (a torn copy:
 * acc_ns already grown, since_ns not yet moved, the same interval counted twice) never passes
 * for consistent. (seq_end was only set at the end before: such copies passed, and threads
 * showed up to 5 % more time than the window.)
 */
static __always_inline void begin(struct sched_thread *t)
{
	t->seq_end = t->seq + 1;
	asm volatile("" ::: "memory");
}

static __always_inline void end(struct sched_thread *t)
{
	asm volatile("" ::: "memory");
	t->seq += 2;
	asm volatile("" ::: "memory");
	t->seq_end = t->seq;
}

/*
 * The entry of tid, made in state `state` since `since` when there is none (or when the one
 * there belongs to another process: a reused tid whose exit was missed). *made says which.
 */
static __always_inline struct sched_thread *get_thread(struct task_struct *task, __u32 tid,
						       __u32 pid, __u32 state, __u64 since,
						       __u64 now, bool *made)
{
	struct sched_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct sched_thread n;
	struct sched_counters *cnt;
	__u32 flags;
	long err;

	*made = false;
	if (t && t->pid == pid)
		return t;
	flags = BPF_CORE_READ(task, flags);
	if (flags & PF_EXITING)
		return NULL; /* its exit was (or is about to be) reported */
	sched_thread_init(&n, pid, state, since, now);
	if (flags & PF_KTHREAD)
		n.flags |= SCHED_THR_KTHREAD;
	BPF_CORE_READ_INTO(&n.comm, task, comm);
	BPF_CORE_READ_INTO(&n.pcomm, task, group_leader, comm);
	err = bpf_map_update_elem(&threads, &tid, &n, t ? BPF_ANY : BPF_NOEXIST);
	if (err && err != -EEXIST) {
		cnt = get_counters();
		if (cnt)
			cnt->threads_full++;
		return NULL;
	}
	*made = !err;
	t = bpf_map_lookup_elem(&threads, &tid);
	return t && t->pid == pid ? t : NULL;
}

/* Why `task` (blocked in task state `state`) waits: its state, else the syscall it is in. */
static __always_inline __u32 blocked_reason(struct task_struct *task, struct pt_regs *regs,
					    __u32 state, bool kthread, __s32 *syscall)
{
	long nr = -1, fd;
	__u32 reason;

	*syscall = -1;
#if defined(__TARGET_ARCH_x86)
	if (regs && !kthread && (long)BPF_CORE_READ(regs, ax) == -ENOSYS)
		nr = (long)BPF_CORE_READ(regs, orig_ax);
#endif
	if (nr >= 0 && nr < 1024)
		*syscall = (__s32)nr;
	reason = sched_reason(state, kthread, nr);
	if (reason != SCHED_BY_FD)
		return reason;
#if defined(__TARGET_ARCH_x86)
	/* read/write family: the first argument is the fd; files and block devices are I/O */
	fd = (long)BPF_CORE_READ(regs, di);
	{
		struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
		struct file **fds, *f = NULL;

		if (!fdt || fd < 0 || fd >= (long)BPF_CORE_READ(fdt, max_fds))
			return SCHED_OTHER;
		fds = BPF_CORE_READ(fdt, fd);
		if (bpf_probe_read_kernel(&f, sizeof(f), &fds[fd]) || !f)
			return SCHED_OTHER;
		return sched_fd_reason(BPF_CORE_READ(f, f_inode, i_mode));
	}
#else
	return SCHED_OTHER;
#endif
}

/*
 * The ring is shared out by what the model cannot do without. An exit carries a thread's last
 * totals (the time since the last tick, and the end of its entry); an end of a block carries
 * where its time went (stacks) and how long it was; a waker record and a stack copy are stacks
 * alone. When user space falls behind (stopped, or starved of CPU on a busy host) ends of blocks
 * filled the ring and the exits behind them were lost (~1,000 records in a 9 s stop under
 * bench/churn's pipelines). So: copies fill half of the ring at most, whole ends of blocks and
 * wakers 3/4; past 3/4 an end of a block goes without its stacks (struct sched_bare_rec: the
 * thread, the reason, the times, so the block view's totals stay whole, under "[no stack]"), up
 * to 7/8; the last eighth (512 KiB of the smallest ring: ~4,000 exits) is left to exits.
 */
/* A record of size bytes leaves the ring at most `eighths` eighths full. */
static __always_inline bool ring_room_for(__u64 size, __u64 eighths)
{
	return (bpf_ringbuf_query(&events, BPF_RB_AVAIL_DATA) + size) * 8 <=
	       bpf_ringbuf_query(&events, BPF_RB_RING_SIZE) * eighths;
}

/* Sends a stack copy (a struct sched_ustack_rec of size bytes). Copies may fill half the ring
 * at most: the small records (ends of blocks, exits) that the states depend on always find
 * room. */
static __always_inline bool send_copy(void *rec, __u64 size, struct sched_counters *cnt)
{
	if (!ring_room_for(SCHED_USCRATCH_SIZE, 4)) {
		cnt->ustack_lost++;
		return false;
	}
	if (size > SCHED_USCRATCH_SIZE) /* cannot happen; tells the verifier */
		return false;
	if (bpf_ringbuf_output(&events, rec, size, BPF_RB_NO_WAKEUP)) {
		cnt->ustack_lost++;
		return false;
	}
	cnt->ustacks++;
	return true;
}

/* Copies the current thread's registers and user stack for the block that began at `since`
 * into "ucopies" (sent at once when it is full). Returns since, or 0 when there is no copy. */
static __always_inline __u64 take_ustack(__u32 tid, __u32 pid, __u64 since,
					 struct sched_counters *cnt)
{
	__u32 cpu = bpf_get_smp_processor_id(), extra;
	struct sched_ustack_rec *u;
	struct uscratch *big;

	big = bpf_map_lookup_elem(&uscratch, &cpu);
	if (!big)
		return 0;
	u = (struct sched_ustack_rec *)big->buf;
	extra = copy_ustack(u, SCHED_USTACK_REC_HDR, SCHED_USTACK_REC_HDR);
	if (!extra) {
		bpf_map_delete_elem(&ucopies, &tid); /* an older copy is nobody's now */
		return 0;
	}
	u->type = SCHED_REC_USTACK;
	u->pid = pid;
	u->tid = tid;
	u->pad = 0;
	u->ns = since;
	if (extra <= park_size - SCHED_USTACK_REC_HDR &&
	    !bpf_map_update_elem(&ucopies, &tid, big, BPF_ANY)) {
		cnt->parked++;
		return since;
	}
	cnt->park_full++;
	return send_copy(big->buf, SCHED_USTACK_REC_HDR + (__u64)extra, cnt) ? since : 0;
}

/* A block that names copy `ns` of tid is long: the copy goes to user space now, ahead of the
 * block's record (sent when the thread next runs). Blocks that reused its stacks find it sent. */
static __always_inline void send_parked(__u32 tid, __u64 ns, struct sched_counters *cnt)
{
	struct sched_ustack_rec *u = bpf_map_lookup_elem(&ucopies, &tid);
	__u64 size;

	if (!u || u->ns != ns)
		return;
	size = SCHED_USTACK_HDR_SIZE + (__u64)u->size;
	if (size <= park_size) /* the map's value size: tells the verifier */
		send_copy(u, size, cnt);
	bpf_map_delete_elem(&ucopies, &tid);
}

/* Takes the blocking thread's stacks into its slot. current == the thread; regs are its user
 * registers (NULL for a kernel thread). */
static __always_inline void keep_stacks(void *ctx, __u32 tid, const struct sched_thread *t,
					bool kthread, struct pt_regs *regs,
					struct sched_counters *cnt)
{
	struct sched_block_rec *r = bpf_map_lookup_elem(&stacks, &tid);
	__u64 ip = 0, sp = 0, bp = 0, arg = 0, retaddr = 0;
	__u32 zero = 0, nu = 0, nk = 0, flags = 0, pid = t->pid;
	bool copy = stack_size && !kthread && regs && !bpf_map_lookup_elem(&fp_pids, &pid);
	long ret;

	if (!r) {
		struct sched_block_rec *b = bpf_map_lookup_elem(&blank, &zero);

		if (!b)
			return;
		ret = bpf_map_update_elem(&stacks, &tid, b, BPF_NOEXIST);
		if (ret && ret != -EEXIST) {
			cnt->stacks_full++;
			return;
		}
		r = bpf_map_lookup_elem(&stacks, &tid);
		if (!r)
			return;
		r->nr_user = r->nr_kernel = 0;
		r->ustack_ns = 0;
	}
#if defined(__TARGET_ARCH_x86)
	if (regs && !kthread && t->syscall >= 0) {
		ip = BPF_CORE_READ(regs, ip);
		sp = BPF_CORE_READ(regs, sp);
		bp = BPF_CORE_READ(regs, bp);
		arg = BPF_CORE_READ(regs, di);
		bpf_probe_read_user(&retaddr, sizeof(retaddr), (void *)(bp + 8));
	}
#endif
	/* the same syscall from the same place as the stacks kept: they are still right */
	if (ip && r->key_syscall == t->syscall && r->key_ip == ip && r->key_sp == sp &&
	    r->key_bp == bp && r->key_ret == retaddr && r->key_arg == arg &&
	    r->reused < SCHED_REUSE_MAX && r->nr_user && r->nr_kernel) {
		/* with its copy too (or without one, when the ring had no room for it then:
		 * retrying each time would cost a copy per block exactly when blocks abound) */
		r->reused++;
		cnt->reused++;
		goto header;
	}
	r->key_syscall = ip ? t->syscall : -1;
	r->key_ip = ip;
	r->key_sp = sp;
	r->key_bp = bp;
	r->key_ret = retaddr;
	r->key_arg = arg;
	r->reused = 0;
	if (kthread) {
		flags |= SCHED_STK_KTHREAD;
	} else {
		ret = bpf_get_stack(ctx, r->frames, SCHED_MAX_UFRAMES * 8, BPF_F_USER_STACK);
		if (ret > 0) {
			nu = (__u64)ret / 8;
			if (nu > SCHED_MAX_UFRAMES)
				nu = SCHED_MAX_UFRAMES;
		} else {
			flags |= SCHED_STK_USER_FAILED;
		}
	}
	ret = bpf_get_stack(ctx, &r->frames[nu], SCHED_MAX_KFRAMES * 8, 0);
	if (ret > 0) {
		nk = (__u64)ret / 8;
		if (nk > SCHED_MAX_KFRAMES)
			nk = SCHED_MAX_KFRAMES;
	} else {
		flags |= SCHED_STK_KERNEL_FAILED;
	}
	r->nr_user = nu;
	r->nr_kernel = nk;
	r->flags = flags;
	r->ustack_ns = copy ? take_ustack(tid, pid, t->since_ns, cnt) : 0;
header:
	r->type = SCHED_REC_BLOCK;
	r->pid = t->pid;
	r->tid = tid;
	r->reason = t->state;
	r->born_ns = t->born_ns;
	r->since_ns = t->since_ns;
	r->end_ns = 0;
	r->run_ns = 0;
	r->syscall = t->syscall;
	__builtin_memcpy(r->comm, t->comm, SCHED_COMM_LEN);
	__builtin_memcpy(r->pcomm, t->pcomm, SCHED_COMM_LEN);
}

/*
 * A block of `blocked` ns that began at `since` ended now (a wakeup): when it was long enough,
 * its slot notes the end, and the record goes out at the thread's switch-in (send_block()) with
 * the wait for a CPU in between, which belongs to the same stacks: the thread has not run since.
 */
static __always_inline void end_block(__u32 tid, struct sched_thread *t, __u64 since,
				      __u64 blocked, __u64 now, struct sched_counters *cnt)
{
	struct sched_block_rec *r;

	if (blocked < min_block_ns)
		return;
	r = bpf_map_lookup_elem(&stacks, &tid);
	if (!r || r->since_ns != since || r->born_ns != t->born_ns) {
		/* a block begun before the entry was made (a thread seeded blocked: asleep since
		 * before attach) never had stacks to take: nothing was lost. (Counted, the first
		 * wakeups of a host's 3,000 sleepers were 3,000 "lost" stacks once the kernel seeded
		 * them fast enough for those wakeups to fall in the window.) */
		if (since >= t->born_ns)
			cnt->no_stack++;
		return;
	}
	r->end_ns = now;
	r->run_ns = 0;
	t->flags |= SCHED_THR_WOKEN;
	if (r->ustack_ns)
		send_parked(tid, r->ustack_ns, cnt);
}

/*
 * The current task woke tid from the block that began at since: its stacks, when asked for
 * (waker_stacks). Costs two stack walks per long block's wakeup (~4 us here), so it is opt-in.
 */
static __always_inline void send_waker(void *ctx, __u32 tid, __u32 pid, __u64 since,
				       struct sched_counters *cnt)
{
	struct task_struct *cur = bpf_get_current_task_btf();
	struct sched_waker_rec *w;
	__u32 zero = 0, nu = 0, nk = 0, flags = 0;
	long ret;
	__u64 n;

	w = bpf_map_lookup_elem(&wscratch, &zero);
	if (!w)
		return;
	w->type = SCHED_REC_WAKER;
	w->pid = pid;
	w->tid = tid;
	w->since_ns = since;
	w->waker_pid = BPF_CORE_READ(cur, tgid);
	w->waker_tid = BPF_CORE_READ(cur, pid);
	bpf_get_current_comm(w->waker_comm, sizeof(w->waker_comm));
	if (BPF_CORE_READ(cur, flags) & PF_KTHREAD) {
		flags |= SCHED_STK_KTHREAD;
	} else {
		ret = bpf_get_stack(ctx, w->frames, SCHED_MAX_UFRAMES * 8, BPF_F_USER_STACK);
		if (ret > 0) {
			nu = (__u64)ret / 8;
			if (nu > SCHED_MAX_UFRAMES)
				nu = SCHED_MAX_UFRAMES;
		} else {
			flags |= SCHED_STK_USER_FAILED;
		}
	}
	ret = bpf_get_stack(ctx, &w->frames[nu], SCHED_MAX_KFRAMES * 8, 0);
	if (ret > 0) {
		nk = (__u64)ret / 8;
		if (nk > SCHED_MAX_KFRAMES)
			nk = SCHED_MAX_KFRAMES;
	} else {
		flags |= SCHED_STK_KERNEL_FAILED;
	}
	w->nr_user = nu;
	w->nr_kernel = nk;
	w->flags = flags;
	n = (__u64)nu + nk;
	if (n > SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES)
		return;
	if (!ring_room_for(SCHED_WAKER_HDR_SIZE + n * 8, 6) ||
	    bpf_ringbuf_output(&events, w, SCHED_WAKER_HDR_SIZE + n * 8, BPF_RB_NO_WAKEUP))
		cnt->waker_lost++;
	else
		cnt->wakers++;
}

/* The end of r's block without its stacks (the ring is 3/4 full); false when the ring was full. */
static __always_inline bool send_bare(const struct sched_block_rec *r)
{
	struct sched_bare_rec *b = bpf_ringbuf_reserve(&events, sizeof(*b), 0);

	if (!b)
		return false;
	b->type = SCHED_REC_BARE;
	b->pid = r->pid;
	b->tid = r->tid;
	b->reason = r->reason;
	b->born_ns = r->born_ns;
	b->since_ns = r->since_ns;
	b->end_ns = r->end_ns;
	b->run_ns = r->run_ns;
	bpf_ringbuf_submit(b, BPF_RB_NO_WAKEUP);
	return true;
}

/* The thread got a CPU: sends the record of the block end_block() noted. */
static __always_inline void send_block(__u32 tid, struct sched_thread *t, __u64 now,
				       struct sched_counters *cnt)
{
	struct sched_block_rec *r;
	__u64 n;

	t->flags &= ~SCHED_THR_WOKEN;
	r = bpf_map_lookup_elem(&stacks, &tid);
	if (!r || !r->end_ns || r->run_ns || r->born_ns != t->born_ns)
		return;
	r->run_ns = now > r->end_ns ? now : r->end_ns;
	n = (__u64)r->nr_user + r->nr_kernel;
	if (n > SCHED_MAX_UFRAMES + SCHED_MAX_KFRAMES)
		return;
	if (ring_room_for(SCHED_BLOCK_HDR_SIZE + n * 8, 6)) {
		if (bpf_ringbuf_output(&events, r, SCHED_BLOCK_HDR_SIZE + n * 8, BPF_RB_NO_WAKEUP))
			cnt->ringbuf_lost++;
		else
			cnt->blocks++;
	} else if (!ring_room_for(sizeof(struct sched_bare_rec), 7)) {
		cnt->block_dropped++;
	} else if (send_bare(r)) {
		cnt->frames_dropped++;
	} else {
		cnt->ringbuf_lost++;
	}
}

/* Final totals of tid and the end of its entries. */
static __always_inline void send_exit(__u32 tid, __u64 now, struct sched_counters *cnt)
{
	struct sched_thread *t = bpf_map_lookup_elem(&threads, &tid);
	struct sched_exit_rec *e;

	if (!t)
		return;
	begin(t);
	sched_thread_move(t, t->state, now);
	end(t);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->type = SCHED_REC_EXIT;
		e->pid = t->pid;
		e->tid = tid;
		e->pad = 0;
		e->born_ns = t->born_ns;
		e->time_ns = now;
		for (int i = 0; i < SCHED_NR_STATES; i++)
			e->acc_ns[i] = t->acc_ns[i];
		__builtin_memcpy(e->comm, t->comm, SCHED_COMM_LEN);
		__builtin_memcpy(e->pcomm, t->pcomm, SCHED_COMM_LEN);
		bpf_ringbuf_submit(e, BPF_RB_NO_WAKEUP);
		cnt->exits++;
	} else {
		cnt->ringbuf_lost++;
	}
	bpf_map_delete_elem(&threads, &tid);
	bpf_map_delete_elem(&stacks, &tid);
	if (stack_size)
		bpf_map_delete_elem(&ucopies, &tid);
}

static __always_inline int handle_switch(void *ctx, bool preempt, struct task_struct *prev,
					 struct task_struct *next)
{
	__u64 now = bpf_ktime_get_ns(), since = 0, blocked;
	struct sched_counters *cnt = get_counters();
	struct sched_thread *t;
	__u32 tid, pid;
	bool made;

	if (!cnt)
		return 0;

	/* prev is current: its registers and stacks are ours to read */
	tid = BPF_CORE_READ(prev, pid);
	pid = BPF_CORE_READ(prev, tgid);
	if (tid && is_target(pid)) {
		__u32 state = task_state(prev), to = SCHED_RUNNABLE;
		bool kthread = BPF_CORE_READ(prev, flags) & PF_KTHREAD;
		struct pt_regs *regs = NULL;
		__s32 syscall = -1;

		if (state & SCHED_TASK_DEAD) {
			/* the last switch of an exited thread: its entry is gone (or goes now) */
			send_exit(tid, now, cnt);
			goto next;
		}
		t = get_thread(prev, tid, pid, SCHED_RUNNING, first_since(pid, now), now, &made);
		if (!t)
			goto next;
		if (!preempt && state != SCHED_TASK_RUNNING) {
			struct task_struct *cur = bpf_get_current_task_btf();

			regs = (struct pt_regs *)bpf_task_pt_regs(cur);
			to = blocked_reason(prev, regs, state, kthread, &syscall);
		}
		begin(t);
		sched_on_switch_out(t, to, now);
		t->syscall = syscall;
		/* names change (prctl, exec): keep them current */
		bpf_get_current_comm(t->comm, sizeof(t->comm));
		BPF_CORE_READ_INTO(&t->pcomm, prev, group_leader, comm);
		end(t);
		cnt->switches++;
		if (sched_state_blocked(to))
			keep_stacks(ctx, tid, t, kthread, regs, cnt);
	}
next:
	tid = BPF_CORE_READ(next, pid);
	pid = BPF_CORE_READ(next, tgid);
	if (!tid || !is_target(pid))
		return 0;
	t = get_thread(next, tid, pid, SCHED_RUNNABLE, first_since(pid, now), now, &made);
	if (!t)
		return 0;
	begin(t);
	blocked = sched_on_switch_in(t, now, &since);
	if (blocked && !made)
		end_block(tid, t, since, blocked, now, cnt); /* its wakeup was missed */
	if (t->flags & SCHED_THR_WOKEN)
		send_block(tid, t, now, cnt);
	end(t);
	cnt->switches++;
	return 0;
}

static __always_inline int handle_wakeup(void *ctx, struct task_struct *p, bool is_new, bool btf)
{
	__u64 now = bpf_ktime_get_ns(), since = 0, blocked;
	struct sched_counters *cnt;
	struct sched_thread *t;
	__u32 tid = BPF_CORE_READ(p, pid), pid = BPF_CORE_READ(p, tgid), first = SCHED_RUNNABLE;
	bool made;

	if (!tid || !is_target(pid))
		return 0;
	cnt = get_counters();
	if (!cnt)
		return 0;
	cnt->wakeups++;
	if (is_new) {
		get_thread(p, tid, pid, SCHED_RUNNABLE, now, now, &made);
		return 0;
	}
	t = bpf_map_lookup_elem(&threads, &tid);
	if (!t || t->pid != pid) {
		/* Blocked since before we could see it: the reason from the syscall it is in
		 * (with tp_btf; raw_tp has no typed task to read registers from). */
		bool kthread = BPF_CORE_READ(p, flags) & PF_KTHREAD;
		__s32 syscall = -1;

		first = SCHED_OTHER;
		if (btf)
			first = blocked_reason(p, (struct pt_regs *)bpf_task_pt_regs(p),
					       SCHED_TASK_INTERRUPTIBLE, kthread, &syscall);
	}
	t = get_thread(p, tid, pid, first, first_since(pid, now), now, &made);
	if (!t)
		return 0;
	begin(t);
	blocked = sched_on_wakeup(t, now, &since);
	if (blocked && !made)
		end_block(tid, t, since, blocked, now, cnt);
	end(t);
	/* before the block's record, which goes when the woken thread runs */
	if (waker_stacks && blocked >= min_block_ns && !made && (t->flags & SCHED_THR_WOKEN))
		send_waker(ctx, tid, pid, since, cnt);
	return 0;
}

/* A target's new process becomes a target since now: `flametop -- script.sh`. */
static __always_inline int handle_fork(struct task_struct *parent, struct task_struct *child)
{
	targets_fork(parent, child, bpf_ktime_get_ns());
	return 0;
}

static __always_inline int handle_exit(struct task_struct *task)
{
	struct sched_counters *cnt = get_counters();
	__u32 tid = BPF_CORE_READ(task, pid);

	if (cnt)
		send_exit(tid, bpf_ktime_get_ns(), cnt);
	targets_exit(task);
	return 0;
}

/* exec from a thread other than the leader: the thread takes the leader's tid, its own ends. */
static __always_inline int handle_exec(struct task_struct *p, __u32 old_pid)
{
	struct sched_counters *cnt = get_counters();

	if (cnt && old_pid != (__u32)BPF_CORE_READ(p, pid))
		send_exit(old_pid, bpf_ktime_get_ns(), cnt);
	return 0;
}

SEC("tp_btf/sched_switch")
int BPF_PROG(on_switch, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(on_wakeup, struct task_struct *p)
{
	return handle_wakeup(ctx, p, false, true);
}

SEC("tp_btf/sched_wakeup_new")
int BPF_PROG(on_wakeup_new, struct task_struct *p)
{
	return handle_wakeup(ctx, p, true, true);
}

SEC("tp_btf/sched_process_fork")
int BPF_PROG(on_fork, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("tp_btf/sched_process_exit")
int BPF_PROG(on_exit, struct task_struct *task)
{
	return handle_exit(task);
}

SEC("tp_btf/sched_process_exec")
int BPF_PROG(on_exec, struct task_struct *p, pid_t old_pid)
{
	return handle_exec(p, (__u32)old_pid);
}

/*
 * The threads that exist at attach, seeded as a switch-out would have found them (the loader
 * runs this once through an iterator, and again for each process it adds): running, or blocked
 * for the reason its task state and the syscall it is in give. BPF_NOEXIST: what an event made
 * first is newer. In the kernel, this is ~1 ms for thousands of threads; reading their
 * /proc/PID/task/TID/stat and syscall files was 13-18 % of a short snapshot's CPU on a host of
 * 3,000 threads. Set by the loader before each run: seed_pid (0: every target) and seed_since.
 */
__u32 seed_pid = 0;
__u64 seed_since = 0;
__u64 seeded = 0;

SEC("iter/task")
int seed_task(struct bpf_iter__task *ctx)
{
	struct task_struct *task = ctx->task;
	struct sched_thread n;
	__u32 tid, pid, st, state = SCHED_RUNNING, flags;
	__s32 syscall = -1;
	bool kthread;
	__u64 now;

	if (!task)
		return 0;
	tid = BPF_CORE_READ(task, pid);
	pid = BPF_CORE_READ(task, tgid);
	if (!tid || (seed_pid ? pid != seed_pid : !is_target(pid)))
		return 0;
	flags = BPF_CORE_READ(task, flags);
	if ((flags & PF_EXITING) || BPF_CORE_READ(task, exit_state))
		return 0;
	kthread = flags & PF_KTHREAD;
	st = task_state(task);
	if (st != SCHED_TASK_RUNNING)
		state = blocked_reason(task,
				       kthread ? NULL : (struct pt_regs *)bpf_task_pt_regs(task),
				       st, kthread, &syscall);
	now = bpf_ktime_get_ns();
	sched_thread_init(&n, pid, state, seed_since, now);
	n.syscall = syscall;
	n.flags |= SCHED_THR_SEEDED;
	if (kthread)
		n.flags |= SCHED_THR_KTHREAD;
	BPF_CORE_READ_INTO(&n.comm, task, comm);
	BPF_CORE_READ_INTO(&n.pcomm, task, group_leader, comm);
	bpf_map_update_elem(&threads, &tid, &n, BPF_NOEXIST);
	seeded++; /* threads it saw, as seed_one() counts them: some may be known already */
	return 0;
}

SEC("raw_tp/sched_switch")
int BPF_PROG(on_switch_raw, bool preempt, struct task_struct *prev, struct task_struct *next)
{
	return handle_switch(ctx, preempt, prev, next);
}

SEC("raw_tp/sched_wakeup")
int BPF_PROG(on_wakeup_raw, struct task_struct *p)
{
	return handle_wakeup(ctx, p, false, false);
}

SEC("raw_tp/sched_wakeup_new")
int BPF_PROG(on_wakeup_new_raw, struct task_struct *p)
{
	return handle_wakeup(ctx, p, true, false);
}

SEC("raw_tp/sched_process_fork")
int BPF_PROG(on_fork_raw, struct task_struct *parent, struct task_struct *child)
{
	return handle_fork(parent, child);
}

SEC("raw_tp/sched_process_exit")
int BPF_PROG(on_exit_raw, struct task_struct *task)
{
	return handle_exit(task);
}

SEC("raw_tp/sched_process_exec")
int BPF_PROG(on_exec_raw, struct task_struct *p, pid_t old_pid)
{
	return handle_exec(p, (__u32)old_pid);
}

char LICENSE[] SEC("license") = "GPL";
