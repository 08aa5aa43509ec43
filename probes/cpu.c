// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/cpu loader: opens one software cpu-clock perf event per online CPU, attaches cpu.bpf.c's
 * sampler to each, and drains the ring buffer into the model. Loss is never silent: counter
 * deltas read from the BPF side become model_add_lost() calls on every drain.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "probes/probe.h"
#include "probes/cpu.h"
#include "probes/cpu_abi.h"
#include "probes/kbtf.h"
#include "probes/sideband.h"
#include "cpu.skel.h"

_Static_assert(sizeof(struct cpu_record) == CPU_RECORD_HDR_SIZE, "cpu_record header layout");
_Static_assert(sizeof(struct cpu_counters) == 7 * 8, "cpu_counters layout");
_Static_assert(sizeof(struct cpu_ustack) == CPU_USTACK_HDR_SIZE, "cpu_ustack layout");
_Static_assert(CPU_NR_REGS == UNWIND_NR_REGS, "registers as model/unwind.h orders them");
_Static_assert(CPU_STACK_MAX == PROBE_CPU_STACK_MAX, "the documented largest stack copy");
_Static_assert(sizeof(struct cpu_gostack) == CPU_GOSTACK_SIZE &&
		       CPU_GO_WORDS * 8 == GOSTACK_WORDS_SIZE,
	       "cpu_gostack layout, and the words model/gostack needs");

#define DEFAULT_FREQ_HZ 99

struct probe_cpu {
	struct cpu_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link **links; /* one per sampled CPU; each owns its perf event fd */
	int nr_links;
	int nr_possible;
	bool filter;
	struct cpu_counters *percpu; /* scratch for reading the per-CPU counters */
	struct unwind *unwind;       /* borrowed: DWARF walks of stack copies */
	struct probe_sideband *sideband; /* borrowed: process events, applied in time order */
	bool copies;                 /* records may carry stack copies */
	struct cpu_counters reported; /* what was already passed to model_add_lost() */
	/* valid during drain() only */
	struct model *m;
	int consumed;
	struct probe_budget budget;
};

static int open_cpu_clock(int cpu, unsigned freq_hz)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = freq_hz,
		.freq = 1,
		.disabled = 1, /* libbpf enables it once the program is attached */
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static void perf_open_err(int e, unsigned freq_hz, char *err, size_t errlen)
{
	const char *rate = "/proc/sys/kernel/perf_event_max_sample_rate";
	char val[64];

	if (e == -EACCES || e == -EPERM) {
		if (probe_read_line("/proc/sys/kernel/perf_event_paranoid", val, sizeof(val)))
			snprintf(val, sizeof(val), "unknown");
		probe_err(err, errlen,
			"cannot open perf events: %s (kernel.perf_event_paranoid is %s; need root "
			"or CAP_PERFMON, or lower /proc/sys/kernel/perf_event_paranoid)",
			strerror(-e), val);
	} else if (e == -EINVAL && probe_read_line(rate, val, sizeof(val)) == 0 &&
		   strtoull(val, NULL, 10) < freq_hz) {
		probe_err(err, errlen,
			"cannot sample at %u Hz: above kernel.perf_event_max_sample_rate (%s)",
			freq_hz, val);
	} else if (e == -ENOENT || e == -EOPNOTSUPP) {
		probe_err(err, errlen,
			"cannot open perf events: %s (this kernel has no cpu-clock software event)",
			strerror(-e));
	} else {
		probe_err(err, errlen, "cannot open perf events: %s", strerror(-e));
	}
}

static int attach_cpus(struct probe_cpu *p, unsigned freq_hz, char *err, size_t errlen)
{
	bool *online = xcalloc((size_t)p->nr_possible, sizeof(*online));
	int first_err = 0;

	probe_online_cpus(online, p->nr_possible);
	p->links = xcalloc((size_t)p->nr_possible, sizeof(*p->links));
	for (int cpu = 0; cpu < p->nr_possible; cpu++) {
		struct bpf_link *link;
		int fd;

		if (!online[cpu])
			continue;
		fd = open_cpu_clock(cpu, freq_hz);
		if (fd == -ENODEV) /* went offline */
			continue;
		if (fd < 0) {
			if (!first_err)
				perf_open_err(fd, freq_hz, err, errlen);
			first_err = first_err ? first_err : fd;
			continue;
		}
		link = bpf_program__attach_perf_event(p->skel->progs.on_sample, fd);
		if (!link) {
			int e = -errno;

			close(fd);
			if (!first_err) {
				probe_err(err, errlen,
					"failed to attach BPF program to perf event on CPU %d: %s",
					cpu, strerror(-e));
				probe_err_libbpf(err, errlen);
				first_err = e;
			}
			continue;
		}
		p->links[p->nr_links++] = link;
	}
	free(online);
	if (p->nr_links == 0) {
		if (!first_err) {
			probe_err(err, errlen, "cannot sample: no online CPU could be opened");
			return -ENODEV;
		}
		return first_err;
	}
	/* Some CPUs failed while others work: keep the partial picture. */
	return 0;
}

static size_t ring_size(int nr_cpus, unsigned freq_hz, uint32_t stack_size)
{
	/* 256 KiB per CPU (~1,000 worst-case records); with stack copies 2 MiB per CPU for each
	 * 16 KiB of copy (~120 records as deep as the copy: seconds of 99 Hz samples, which a
	 * host that starves flametop may take to drain; at 32 KiB a ring of 2 MiB per CPU lost
	 * 92 of deepstack's samples to a 2 s stop, none at 16 KiB); and at high rates what a
	 * quarter second brings (drains come every 100 ms, later on a busy host). */
	size_t rec = stack_size ? stack_size + 1024u : 1024u;
	size_t per16k = (stack_size + 16383u) / 16384u;
	size_t base = (size_t)nr_cpus * (stack_size ? (2u << 20) * per16k : 256u << 10);
	size_t burst = (size_t)nr_cpus * freq_hz * rec / 4;

	return probe_ring_size(burst > base ? burst : base);
}

/*
 * The user stack of a record: the DWARF walk of its stack copy, or the frame-pointer walk (a Go
 * program, or no copy). Processes the unwinder walks with frame pointers stop getting copies;
 * Go programs get the words at SP instead (struct cpu_gostack), or the copy when their BP was no
 * frame pointer (CPU_REC_GOCOPY: model/gostack walks it by frame sizes).
 */
static void unwind_record(struct probe_cpu *p, const struct cpu_record *r,
			  const struct cpu_ustack *us, const struct cpu_gostack *gs, uint32_t nu,
			  uint32_t sent_nu, uint64_t *ips, struct model_sample *s)
{
	struct unwind_sample in = {
		.pid = r->pid,
		.regs = us ? (const uint64_t *)us->regs : NULL,
		.stack = us ? us->data : NULL,
		.stack_size = us ? us->size : 0,
		.fp = nu ? (const uint64_t *)r->frames : NULL,
		.nr_fp = nu,
		.fp_truncated = sent_nu == CPU_MAX_FRAMES,
	};
	uint64_t regs[UNWIND_NR_REGS] = { 0 };
	__u8 want = 0;
	bool truncated;

	if (gs) {
		regs[UNWIND_REG_SP] = gs->sp;
		regs[UNWIND_REG_IP] = nu ? r->frames[0] : 0;
		in.regs = regs;
		in.stack = (const uint8_t *)gs->words;
		in.stack_size = gs->size;
	}
	s->nr_user = unwind_user(p->unwind, &in, ips, UNWIND_MAX_FRAMES, &truncated);
	s->user = s->nr_user ? ips : NULL;
	s->flags &= ~(MODEL_SAMPLE_TRUNCATED | MODEL_SAMPLE_USER_FAILED);
	if (truncated || s->nr_kernel == CPU_MAX_FRAMES)
		s->flags |= MODEL_SAMPLE_TRUNCATED;
	if (!s->nr_user)
		s->flags |= MODEL_SAMPLE_USER_FAILED;
	/* what this process should send from now on, when it sent something else */
	if (unwind_mode_of(p->unwind, r->pid) == UNWIND_FP)
		want = unwind_is_go(p->unwind, r->pid) ? CPU_FP_GO : CPU_FP_PLAIN;
	if ((want == CPU_FP_GO && !gs && !(r->flags & CPU_REC_GOCOPY)) ||
	    (want == CPU_FP_PLAIN && (us || gs)))
		bpf_map_update_elem(bpf_map__fd(p->skel->maps.fp_pids), &r->pid, &want, BPF_ANY);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct probe_cpu *p = ctx;
	const struct cpu_record *r = data;
	char comm[CPU_COMM_LEN + 1], pcomm[CPU_COMM_LEN + 1];
	const struct cpu_ustack *us = NULL;
	const struct cpu_gostack *gs = NULL;
	struct model_sample s = { 0 };
	uint64_t ips[UNWIND_MAX_FRAMES];
	uint32_t nu, nk, sent_nu, flags;
	size_t used;

	if (size < sizeof(*r))
		goto bad;
	sent_nu = nu = r->nr_user; /* read once: the sizes checked are the sizes used */
	nk = r->nr_kernel;
	if (nu > CPU_MAX_FRAMES || nk > CPU_MAX_FRAMES ||
	    size < sizeof(*r) + ((size_t)nu + nk) * sizeof(__u64))
		goto bad;

	used = sizeof(*r) + ((size_t)nu + nk) * sizeof(__u64);
	if (r->flags & CPU_REC_USTACK) {
		us = (const struct cpu_ustack *)((const char *)data + used);
		if (size < used + sizeof(*us) || us->size > CPU_STACK_MAX ||
		    size < used + sizeof(*us) + us->size)
			goto bad;
	} else if (r->flags & CPU_REC_GOSTACK) {
		gs = (const struct cpu_gostack *)((const char *)data + used);
		if (size < used + sizeof(*gs) || gs->size > sizeof(gs->words))
			goto bad;
	}
	/* A frame-pointer walk that wanders into code without frame pointers can end on a zero
	 * return address, which is never a frame; the leaf (the IP itself) is kept as it is. */
	while (nu > 1 && r->frames[nu - 1] == 0)
		nu--;
	memcpy(comm, r->comm, CPU_COMM_LEN);
	comm[CPU_COMM_LEN] = '\0';
	memcpy(pcomm, r->pcomm, CPU_COMM_LEN);
	pcomm[CPU_COMM_LEN] = '\0';
	flags = r->flags;

	s.time_ns = r->time_ns;
	s.pid = r->pid;
	s.tid = r->tid;
	s.comm = comm;
	s.pcomm = pcomm[0] ? pcomm : NULL;
	s.user = nu ? (const uint64_t *)r->frames : NULL;
	s.kernel = nk ? (const uint64_t *)r->frames + sent_nu : NULL;
	s.nr_user = nu;
	s.nr_kernel = nk;
	s.weight = 1;
	if (flags & CPU_REC_USER_FAILED)
		s.flags |= MODEL_SAMPLE_USER_FAILED;
	if (flags & CPU_REC_KERNEL_FAILED)
		s.flags |= MODEL_SAMPLE_KERNEL_FAILED;
	if (flags & CPU_REC_KTHREAD)
		s.flags |= MODEL_SAMPLE_KERNEL_THREAD;
	if (sent_nu == CPU_MAX_FRAMES || nk == CPU_MAX_FRAMES)
		s.flags |= MODEL_SAMPLE_TRUNCATED;
	/* mappings, execs and forks that happened before this sample, first */
	if (p->sideband)
		probe_sideband_apply(p->sideband, p->m, r->time_ns);
	/* A sample taken before the window began is dropped by the model (model_begin()): no
	 * walk for it. Under load the rings fill while the probes start one after another (5-9 s
	 * here at a load average of 90), and walking that backlog, only for it to be dropped, kept
	 * the ring full of the past: every sample of the window was lost. */
	if (p->unwind && !(flags & CPU_REC_KTHREAD) && (us || nu) &&
	    r->time_ns >= model_start_ns(p->m))
		unwind_record(p, r, us, gs, nu, sent_nu, ips, &s);
	model_add_sample(p->m, &s);
	p->consumed++;
	return probe_budget_over(&p->budget) ? -EAGAIN : 0;
bad:
	/* The kernel wrote it, so this is a bug, but still not a silent loss. */
	model_add_lost(p->m, MODEL_LOST_RINGBUF, 1);
	return probe_budget_over(&p->budget) ? -EAGAIN : 0;
}

static void read_counters(const struct probe_cpu *p, struct cpu_counters *sum)
{
	probe_sum_percpu(bpf_map__fd(p->skel->maps.counters), p->percpu, p->nr_possible,
			 sizeof(*sum), sum);
}

static void report_lost(struct probe_cpu *p, struct model *m)
{
	struct cpu_counters now;

	read_counters(p, &now);
	if (now.ringbuf_lost > p->reported.ringbuf_lost)
		model_add_lost(m, MODEL_LOST_RINGBUF, now.ringbuf_lost - p->reported.ringbuf_lost);
	if (now.no_stack > p->reported.no_stack)
		model_add_lost(m, MODEL_LOST_NO_STACK, now.no_stack - p->reported.no_stack);
	if (now.targets_full > p->reported.targets_full)
		model_add_lost(m, MODEL_LOST_MAP_FULL, now.targets_full - p->reported.targets_full);
	p->reported = now;
}

int probe_cpu_new(const struct probe_cpu_opts *opts, struct probe_cpu **out, char *err,
		  size_t errlen)
{
	unsigned freq_hz = opts && opts->freq_hz ? opts->freq_hz : DEFAULT_FREQ_HZ;
	size_t nr_pids = opts && opts->pids ? opts->nr_pids : 0;
	struct probe_kbtf_core core = { .fd = -1 };
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	struct probe_cpu *p;
	int e;

	*out = NULL;
	probe_err(err, errlen, "unknown error");
	probe_libbpf_quiet();

	if (nr_pids > CPU_MAX_TARGETS) {
		probe_err(err, errlen, "too many target processes: %zu (at most %d)", nr_pids,
			CPU_MAX_TARGETS);
		return -E2BIG;
	}
	e = probe_check_btf(err, errlen);
	if (e)
		return e;

	p = xcalloc(1, sizeof(*p));
	p->filter = nr_pids > 0 || (opts && opts->filter);
	e = probe_possible_cpus(err, errlen);
	if (e < 0)
		goto err;
	p->nr_possible = e;
	p->percpu = xcalloc((size_t)p->nr_possible, sizeof(*p->percpu));

	probe_kbtf_core_begin(&core);
	oo.btf_custom_path = probe_kbtf_core_path(&core);
	p->skel = cpu_bpf__open_opts(&oo);
	if (!p->skel) {
		e = -errno;
		probe_err(err, errlen, "failed to open BPF object: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
		goto err;
	}
	p->skel->rodata->filter_pids = p->filter;
	p->unwind = opts ? opts->unwind : NULL;
	p->sideband = opts ? opts->sideband : NULL;
	if (p->unwind && opts->stack_size) {
		uint32_t sz = opts->stack_size > CPU_STACK_MAX ? CPU_STACK_MAX : opts->stack_size;

		p->skel->rodata->stack_size = (sz + 7) & ~7u;
		p->copies = true;
		e = bpf_map__set_max_entries(p->skel->maps.uscratch, (__u32)p->nr_possible);
		if (e) {
			probe_err(err, errlen, "failed to size the stack scratch map: %s",
				strerror(-e));
			goto err;
		}
	}
	bpf_program__set_autoload(p->skel->progs.on_proc_fork,
				  p->filter && opts && opts->follow_children);
	bpf_program__set_autoload(p->skel->progs.on_proc_exit, p->filter);
	e = bpf_map__set_max_entries(p->skel->maps.events,
				     (__u32)ring_size(p->nr_possible, freq_hz,
						      p->copies ? p->skel->rodata->stack_size : 0));
	/* the whole system: no target is ever looked up (a preallocated hash map otherwise) */
	if (!e && !p->filter)
		e = bpf_map__set_max_entries(p->skel->maps.targets, 1);
	if (e) {
		probe_err(err, errlen, "failed to size the ring buffer: %s", strerror(-e));
		goto err;
	}

	e = probe_kbtf_core_fill(&core, p->skel->obj);
	if (!e)
		e = cpu_bpf__load(p->skel);
	probe_kbtf_core_end(&core);
	if (e) {
		if (e == -EPERM) {
			probe_err(err, errlen,
				"cannot load BPF programs: %s (need root or CAP_BPF+CAP_PERFMON; "
				"try: sudo flametop)",
				strerror(-e));
			goto err;
		}
		if (e == -EACCES) /* privileges are EPERM; EACCES is the verifier */
			probe_err(err, errlen,
				"cannot load BPF programs: the verifier rejected them (%s)",
				strerror(-e));
		else
			probe_err(err, errlen, "cannot load BPF programs: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
		goto err;
	}

	for (size_t i = 0; i < nr_pids; i++) {
		e = probe_cpu_add_pid(p, opts->pids[i]);
		if (e) {
			probe_err(err, errlen, "failed to add target pid %u: %s", opts->pids[i],
				strerror(-e));
			goto err;
		}
	}

	/* Follow forks before the first sample, so no child slips through. */
	if (p->filter) {
		e = cpu_bpf__attach(p->skel);
		if (e) {
			probe_err(err, errlen, "failed to attach process tracepoints: %s",
				strerror(-e));
			probe_err_libbpf(err, errlen);
			goto err;
		}
	}

	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_record, p, NULL);
	if (!p->rb) {
		e = -errno;
		probe_err(err, errlen, "failed to create ring buffer reader: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
		goto err;
	}

	e = attach_cpus(p, freq_hz, err, errlen);
	if (e)
		goto err;

	if (err && errlen)
		err[0] = '\0';
	*out = p;
	return 0;
err:
	probe_kbtf_core_end(&core);
	probe_cpu_free(p);
	return e < 0 ? e : -EINVAL;
}

void probe_cpu_free(struct probe_cpu *p)
{
	if (!p)
		return;
	for (int i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	ring_buffer__free(p->rb);
	cpu_bpf__destroy(p->skel);
	free(p->percpu);
	free(p);
}

int probe_cpu_fd(const struct probe_cpu *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probe_cpu_drain(struct probe_cpu *p, struct model *m)
{
	int e;

	p->m = m;
	p->consumed = 0;
	probe_budget_start(&p->budget);
	if (p->sideband)
		probe_sideband_read(p->sideband);
	e = ring_buffer__consume(p->rb);
	/* the rest happened before anything the next drain will see, unless the budget left
	 * samples in the ring: those come first */
	if (p->sideband && !p->budget.spent)
		probe_sideband_apply(p->sideband, m, UINT64_MAX);
	p->m = NULL;
	report_lost(p, m);
	return e < 0 && e != -EAGAIN ? e : p->consumed;
}

bool probe_cpu_behind(const struct probe_cpu *p)
{
	return p->budget.spent;
}

int probe_cpu_add_pid(struct probe_cpu *p, uint32_t pid)
{
	__u8 one = 1;

	return probe_add_target(bpf_map__fd(p->skel->maps.targets), p->filter, pid, &one);
}

void probe_cpu_counters(const struct probe_cpu *p, struct probe_cpu_counters *out)
{
	struct cpu_counters c;

	read_counters(p, &c);
	out->samples = c.samples;
	out->ringbuf_lost = c.ringbuf_lost;
	out->no_user = c.no_user;
	out->no_kernel = c.no_kernel;
	out->no_stack = c.no_stack;
	out->targets_full = c.targets_full;
	out->copy_dropped = c.copy_dropped;
}

size_t probe_cpu_ring_bytes(const struct probe_cpu *p)
{
	return bpf_map__max_entries(p->skel->maps.events);
}
