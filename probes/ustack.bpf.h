// SPDX-License-Identifier: GPL-2.0-only
/*
 * The user registers and the top of the user stack of the current thread, copied into a record
 * for DWARF unwinding in user space (model/unwind.c): shared by cpu.bpf.c and heap.bpf.c, whose
 * struct cpu_ustack and struct heap_ustack are laid out as struct ustack_copy (each program
 * asserts it). Registers are in perf_event's order for sample_regs_user 0xff01ff.
 */
#ifndef PROBES_USTACK_BPF_H
#define PROBES_USTACK_BPF_H

#define USTACK_NR_REGS 17 /* ax bx cx dx si di bp sp ip r8 r9 r10 r11 r12 r13 r14 r15 */
#define USTACK_MAX 32768  /* most bytes of stack copied */

struct ustack_copy {
	__u64 regs[USTACK_NR_REGS];
	__u32 size; /* bytes of stack in data: from regs[7] (sp) up */
	__u32 pad;
	__u8 data[];
};

#define USTACK_HDR_SIZE (USTACK_NR_REGS * 8 + 8)

/* Set by the loader between __open() and __load(). */
const volatile __u32 stack_size = 0; /* user stack bytes to copy (multiple of 8), 0: none */

/*
 * Copies the current thread's user registers and the top of its user stack to rec + off, where
 * off is at most max_off (a constant: the record's largest size). A read that runs past the end
 * of the stack fails as a whole, so the size halves until one succeeds; the main thread's frames
 * all lie below mm->start_stack, another thread's below the thread block fs_base points at:
 * those bound it exactly. Returns the bytes added to the record,
 * 0 when nothing could be copied.
 */
static __always_inline __u32 copy_ustack(void *rec, __u32 off, __u32 max_off)
{
	struct task_struct *task = bpf_get_current_task_btf();
	struct pt_regs *regs = (struct pt_regs *)bpf_task_pt_regs(task);
	struct ustack_copy *u;
	__u64 sp, top;
	/* 64 bits: a __u32 is compared in a zero-extended copy whose bound the verifier does not
	 * carry over to the register passed to the read (at stack_size 32768 it refused it) */
	__u64 size = stack_size;

	if (off > max_off || !regs)
		return 0;
	u = rec + off;
	u->regs[0] = BPF_CORE_READ(regs, ax);
	u->regs[1] = BPF_CORE_READ(regs, bx);
	u->regs[2] = BPF_CORE_READ(regs, cx);
	u->regs[3] = BPF_CORE_READ(regs, dx);
	u->regs[4] = BPF_CORE_READ(regs, si);
	u->regs[5] = BPF_CORE_READ(regs, di);
	u->regs[6] = BPF_CORE_READ(regs, bp);
	u->regs[7] = BPF_CORE_READ(regs, sp);
	u->regs[8] = BPF_CORE_READ(regs, ip);
	u->regs[9] = BPF_CORE_READ(regs, r8);
	u->regs[10] = BPF_CORE_READ(regs, r9);
	u->regs[11] = BPF_CORE_READ(regs, r10);
	u->regs[12] = BPF_CORE_READ(regs, r11);
	u->regs[13] = BPF_CORE_READ(regs, r12);
	u->regs[14] = BPF_CORE_READ(regs, r13);
	u->regs[15] = BPF_CORE_READ(regs, r14);
	u->regs[16] = BPF_CORE_READ(regs, r15);
	u->pad = 0;
	sp = u->regs[7];
	top = BPF_CORE_READ(task, mm, start_stack);
	if (sp < top && top - sp + 8 < size)
		size = (top - sp + 8 + 7) & ~7ull;
	/* Another thread's frames all lie below its thread block: glibc (and musl) put the TLS
	 * and the thread descriptor fs_base points at on top of the thread's stack. The main
	 * thread's fs_base is below its stack (mapped by the loader), a Go thread's in Go's heap:
	 * neither bounds anything. Without this bound a thread's copy was always stack_size
	 * bytes, most of it the thread descriptor and unused stack. */
	top = BPF_CORE_READ(task, thread.fsbase);
	if (sp < top && top - sp < size)
		size = (top - sp + 7) & ~7ull;
	for (int i = 0; i < 6 && size; i++) {
		if (size > USTACK_MAX)
			size = USTACK_MAX;
		if (!bpf_probe_read_user(u->data, size, (const void *)sp))
			break;
		size = (size / 2) & ~7ull;
	}
	u->size = (__u32)size;
	return size ? USTACK_HDR_SIZE + (__u32)size : 0;
}

#endif
