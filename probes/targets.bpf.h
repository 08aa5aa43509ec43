// SPDX-License-Identifier: GPL-2.0-only
/*
 * What the BPF probes share about targets and counters: the "targets" hash map of target
 * processes (tgid → a value of the probe's choice) used when the filter_pids knob is set, a
 * target's new processes becoming targets (sched_process_fork), a target ending with its last
 * thread (sched_process_exit: its pid may be reused by anything), and the per-CPU "counters"
 * array whose single entry is the probe's counters struct (it has a targets_full field).
 *
 * The includer defines, before including it after vmlinux.h and the BPF headers:
 *   TARGETS_COUNTERS  its counters struct (struct cpu_counters)
 *   TARGETS_MAX       the targets map's size
 *   TARGETS_VALUE     the targets map's value type
 * The map and knob names are the ones the loaders' skeletons use.
 */
#ifndef PROBES_TARGETS_BPF_H
#define PROBES_TARGETS_BPF_H

#ifndef E2BIG
#define E2BIG 7
#endif

/* Set by the loader between __open() and __load(). */
const volatile bool filter_pids = false;

/* Target processes when filter_pids is set. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, TARGETS_MAX);
	__type(key, __u32);
	__type(value, TARGETS_VALUE);
} targets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, TARGETS_COUNTERS);
} counters SEC(".maps");

static __always_inline TARGETS_COUNTERS *get_counters(void)
{
	__u32 zero = 0;

	return bpf_map_lookup_elem(&counters, &zero);
}

static __always_inline bool is_target(__u32 pid)
{
	return !filter_pids || bpf_map_lookup_elem(&targets, &pid);
}

/* A target's new process (not a new thread) becomes a target, with value v: `flametop -- sh`. */
static __always_inline void targets_fork(struct task_struct *parent, struct task_struct *child,
					 TARGETS_VALUE v)
{
	__u32 ppid = BPF_CORE_READ(parent, tgid);
	__u32 cpid = BPF_CORE_READ(child, pid);

	if (!filter_pids || cpid != (__u32)BPF_CORE_READ(child, tgid))
		return;
	if (!bpf_map_lookup_elem(&targets, &ppid))
		return;
	if (bpf_map_update_elem(&targets, &cpid, &v, BPF_NOEXIST) == -E2BIG) {
		TARGETS_COUNTERS *cnt = get_counters();

		if (cnt)
			cnt->targets_full++;
	}
}

/* A thread exits: a target whose last thread it was stops being one. */
static __always_inline void targets_exit(struct task_struct *task)
{
	__u32 tgid;

	if (!filter_pids || BPF_CORE_READ(task, signal, live.counter) != 0)
		return;
	tgid = BPF_CORE_READ(task, tgid);
	bpf_map_delete_elem(&targets, &tgid);
}

#endif
