// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap loader: loads heap.bpf.c (the rss_stat program as tp_btf, else raw_tp), attaches
 * leak mode's uprobes where heap_sym.c says, drains the ring buffer into the model (RSS growth
 * directly; leak mode's calls through heap_match.c) and reports every loss as model_add_lost().
 */
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/stat.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "probes/probe.h"
#include "probes/heap.h"
#include "probes/kbtf.h"
#include "probes/heap_abi.h"
#include "probes/heap_match.h"
#include "probes/heap_sym.h"
#include "heap.skel.h"

_Static_assert(sizeof(struct heap_record) == HEAP_RECORD_HDR_SIZE, "heap_record layout");
_Static_assert(sizeof(struct heap_ustack) == HEAP_USTACK_HDR_SIZE, "heap_ustack layout");
_Static_assert(sizeof(struct heap_counters) == 10 * 8, "heap_counters layout");

#define BTF_PATH "/sys/kernel/btf/vmlinux"
#define OLDEST_MAX 64        /* oldest outstanding blocks handed to the model */
#define RESCAN_TICKS 5       /* leak mode on a launched command: look for its allocator again */
#define CALIB_PAIRS 20000    /* malloc/free pairs timed to measure the uprobes' cost */

/* A file with uprobes: one file reached by two paths (/usr/lib, /lib) is one file. */
struct attached {
	char *path;
	dev_t dev;
	ino_t ino;
};

struct probe_heap {
	struct heap_bpf *skel;
	struct ring_buffer *rb;
	struct bpf_link *rss_link, *fork_link, *exit_link;
	struct bpf_link **links; /* leak mode's uprobes */
	size_t nr_links, cap_links;
	struct attached *attached; /* files with uprobes */
	size_t nr_attached, cap_attached;
	int nr_possible;
	bool filter, raw_tp;
	struct unwind *unwind;
	struct heap_counters *percpu;
	struct heap_counters reported;
	/* leak mode */
	struct heap_match *match;
	uint32_t exact_pid;
	bool exact, exact_done;
	bool uprobes_loaded; /* leak mode's programs were loaded (opts.exact) */
	unsigned rescans;
	double exact_seconds, pair_ns;
	uint64_t exact_end_ns;
	struct heap_match_stats match_reported;
	char describe[256];
	char fallback[512]; /* why tp_btf did not load, when raw_tp runs instead */
	/* valid during drain() only */
	struct model *m;
	int consumed;
	bool stop;
	struct probe_budget budget;
};

/* ---- events ---- */

static uint64_t site_pack(struct model_heap_site s)
{
	return (uint64_t)s.thread << 32 | s.raw;
}

static struct model_heap_site site_unpack(uint64_t v)
{
	return (struct model_heap_site){ .thread = v >> 32, .raw = (uint32_t)v };
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct probe_heap *p = ctx;
	const struct heap_record *r = data;
	char comm[HEAP_COMM_LEN + 1], pcomm[HEAP_COMM_LEN + 1];
	const struct heap_ustack *us = NULL;
	uint64_t ips[UNWIND_MAX_FRAMES];
	struct model_heap h = { 0 };
	uint32_t nu, sent_nu;
	size_t used;

	if (size < sizeof(*r))
		goto bad;
	sent_nu = nu = r->nr_user;
	if (nu > HEAP_MAX_FRAMES || size < sizeof(*r) + (size_t)nu * 8)
		goto bad;
	used = sizeof(*r) + (size_t)nu * 8;
	if (r->flags & HEAP_REC_USTACK) {
		us = (const struct heap_ustack *)((const char *)data + used);
		if (size < used + sizeof(*us) || us->size > HEAP_STACK_MAX ||
		    size < used + sizeof(*us) + us->size)
			goto bad;
	}
	/* a busy allocator in leak mode can fill the ring faster than a drain empties it: stop
	 * now and then (this record is consumed) so the loop keeps its ticks */
	++p->consumed;
	if (probe_budget_over(&p->budget))
		p->stop = true;
	if (r->kind == HEAP_REC_FREE) {
		if (p->match)
			heap_match_release(p->match, r->pid, r->addr);
		return p->stop ? -EAGAIN : 0;
	}
	/* Growth from before the window began is not the window's: no stack walk for it. What is
	 * drained before model_begin() the model clears; what is drained after (a backlog, and
	 * flametop's first drain of this probe: cli/run.c) was counted in the window. While the
	 * probes start one after another, a churning host's new processes each had their growth
	 * walked, only for it to be dropped. */
	if (r->kind == HEAP_REC_RSS && r->time_ns < model_start_ns(p->m))
		return p->stop ? -EAGAIN : 0;
	while (nu > 1 && r->frames[nu - 1] == 0)
		nu--;
	memcpy(comm, r->comm, HEAP_COMM_LEN);
	comm[HEAP_COMM_LEN] = '\0';
	memcpy(pcomm, r->pcomm, HEAP_COMM_LEN);
	pcomm[HEAP_COMM_LEN] = '\0';
	h.time_ns = r->time_ns;
	h.pid = r->pid;
	h.tid = r->tid;
	h.comm = comm[0] ? comm : NULL;
	h.pcomm = pcomm[0] ? pcomm : NULL;
	h.user = nu ? (const uint64_t *)r->frames : NULL;
	h.nr_user = nu;
	if (r->flags & HEAP_REC_OTHER)
		h.flags |= MODEL_SAMPLE_KERNEL_THREAD; /* reclaim: no stack of the process */
	else if (!nu && !us)
		h.flags |= MODEL_SAMPLE_USER_FAILED;
	if (sent_nu == HEAP_MAX_FRAMES)
		h.flags |= MODEL_SAMPLE_TRUNCATED;
	if (p->unwind && !(r->flags & HEAP_REC_OTHER)) {
		struct unwind_sample in = {
			.pid = r->pid,
			.regs = us ? (const uint64_t *)us->regs : NULL,
			.stack = us ? us->data : NULL,
			.stack_size = us ? us->size : 0,
			.fp = h.user,
			.nr_fp = nu,
			.fp_truncated = sent_nu == HEAP_MAX_FRAMES,
		};
		bool truncated = false;

		h.nr_user = unwind_user(p->unwind, &in, ips, UNWIND_MAX_FRAMES, &truncated);
		h.user = h.nr_user ? ips : NULL;
		h.flags &= ~(MODEL_SAMPLE_TRUNCATED | MODEL_SAMPLE_USER_FAILED);
		if (truncated)
			h.flags |= MODEL_SAMPLE_TRUNCATED;
		if (!h.nr_user)
			h.flags |= MODEL_SAMPLE_USER_FAILED;
	}
	switch (r->kind) {
	case HEAP_REC_RSS:
		h.bytes = r->bytes;
		h.count = 1;
		model_add_heap(p->m, &h);
		break;
	case HEAP_REC_ALLOC:
	case HEAP_REC_REALLOC: {
		uint64_t site;

		if (!p->match)
			break;
		site = site_pack(model_heap_site(p->m, &h));
		if (r->kind == HEAP_REC_ALLOC)
			heap_match_alloc(p->match, r->pid, r->addr, (uint64_t)r->bytes, site,
					 r->time_ns);
		else
			heap_match_realloc(p->match, r->pid, r->old, r->addr, (uint64_t)r->bytes,
					   site, r->time_ns);
		break;
	}
	default:
		goto bad;
	}
	return p->stop ? -EAGAIN : 0;
bad:
	model_add_lost(p->m, MODEL_LOST_HEAP_RINGBUF, 1);
	return 0;
}

/* opts.sample_bytes in pages: 0 or 1 is every change; at most 4 GiB of 4 KiB pages. */
static uint32_t sample_pages(uint64_t bytes, unsigned shift)
{
	uint64_t pages = (bytes ? bytes : PROBE_HEAP_SAMPLE_BYTES) >> shift;

	return pages > 1u << 20 ? 1u << 20 : (uint32_t)pages;
}

static void read_counters(const struct probe_heap *p, struct heap_counters *sum)
{
	probe_sum_percpu(bpf_map__fd(p->skel->maps.counters), p->percpu, p->nr_possible,
			 sizeof(*sum), sum);
}

int probe_heap_drain(struct probe_heap *p, struct model *m)
{
	int e;

	p->m = m;
	p->consumed = 0;
	p->stop = false;
	probe_budget_start(&p->budget);
	e = ring_buffer__consume(p->rb);
	p->m = NULL;
	return e < 0 && e != -EAGAIN ? e : p->consumed;
}

bool probe_heap_behind(const struct probe_heap *p)
{
	return p->budget.spent;
}

/* ---- leak mode ---- */

static struct bpf_program *entry_prog(struct probe_heap *p, enum heap_sym_kind kind)
{
	switch (kind) {
	case HEAP_SYM_MALLOC:
		return p->skel->progs.on_malloc;
	case HEAP_SYM_CALLOC:
		return p->skel->progs.on_calloc;
	case HEAP_SYM_REALLOC:
		return p->skel->progs.on_realloc;
	case HEAP_SYM_REALLOCARRAY:
		return p->skel->progs.on_reallocarray;
	case HEAP_SYM_MEMALIGN:
		return p->skel->progs.on_memalign;
	case HEAP_SYM_POSIX_MEMALIGN:
		return p->skel->progs.on_posix_memalign;
	case HEAP_SYM_FREE:
		return p->skel->progs.on_free;
	default:
		return NULL;
	}
}

static int attach_one(struct probe_heap *p, struct bpf_program *prog, uint32_t pid,
		      const struct heap_sym_fn *fn, bool ret, struct bpf_link ***links, size_t *nr,
		      size_t *cap)
{
	LIBBPF_OPTS(bpf_uprobe_opts, o, .func_name = fn->name, .retprobe = ret);
	struct bpf_link *l = bpf_program__attach_uprobe_opts(prog, (pid_t)pid, fn->path,
							     fn->offset, &o);

	if (!l)
		return -errno;
	*links = xgrow(*links, cap, *nr + 1, sizeof(**links));
	(*links)[(*nr)++] = l;
	return 0;
}

/* Attaches entry (and return) probes to the functions; links go to *links. Returns how many
 * functions got theirs. */
static int attach_fns(struct probe_heap *p, uint32_t pid, const struct heap_sym_fn *fns, int n,
		      struct bpf_link ***links, size_t *nr, size_t *cap, char *err, size_t errlen)
{
	int done = 0, first = 0;

	for (int i = 0; i < n; i++) {
		const struct heap_sym_fn *fn = &fns[i];
		int e = attach_one(p, entry_prog(p, fn->kind), pid, fn, false, links, nr, cap);

		if (!e && fn->kind != HEAP_SYM_FREE)
			e = attach_one(p, p->skel->progs.on_alloc_ret, pid, fn, true, links, nr,
				       cap);
		if (e) {
			if (!first) {
				first = e;
				probe_err(err, errlen, "cannot attach uprobe to %s in %s: %s",
					fn->name, fn->path, strerror(-e));
				probe_err_libbpf(err, errlen);
			}
			continue;
		}
		done++;
	}
	return done ? done : first ? first : -ENOENT;
}

static double pairs_ns(unsigned n)
{
	uint64_t t0 = probe_now_ns();

	for (unsigned i = 0; i < n; i++) {
		void *volatile b = malloc(64);

		free(b);
	}
	return (double)(probe_now_ns() - t0) / n;
}

/*
 * What a traced malloc/free pair costs on this host: the same probes on flametop itself (its
 * calls send nothing), timed against the same loop without them.
 */
static void calibrate(struct probe_heap *p)
{
	struct bpf_link **links = NULL;
	struct heap_sym_fn *fns;
	size_t nr = 0, cap = 0;
	double base, traced;
	int n;

	p->skel->bss->calib_pid = (__u32)getpid();
	n = heap_sym_find("/proc", (uint32_t)getpid(), &fns, NULL, 0);
	if (n > 0) {
		base = pairs_ns(CALIB_PAIRS);
		if (attach_fns(p, (uint32_t)getpid(), fns, n, &links, &nr, &cap, NULL, 0) > 0) {
			traced = pairs_ns(CALIB_PAIRS);
			p->pair_ns = traced > base ? traced - base : 0;
		}
		for (size_t i = 0; i < nr; i++)
			bpf_link__destroy(links[i]);
		free(links);
		free(fns);
	}
	p->skel->bss->calib_pid = 0;
}

static bool attached_file(const struct probe_heap *p, const char *path)
{
	struct stat st;
	bool known = !stat(path, &st);

	for (size_t i = 0; i < p->nr_attached; i++)
		if (!strcmp(p->attached[i].path, path) ||
		    (known && p->attached[i].dev == st.st_dev && p->attached[i].ino == st.st_ino))
			return true;
	return false;
}

static void note_attached(struct probe_heap *p, const char *path)
{
	struct stat st;

	if (stat(path, &st))
		memset(&st, 0, sizeof(st));
	p->attached = xgrow(p->attached, &p->cap_attached, p->nr_attached + 1,
			    sizeof(*p->attached));
	p->attached[p->nr_attached++] = (struct attached){
		.path = xstrdup(path), .dev = st.st_dev, .ino = st.st_ino };
}

/* Attaches to the allocator files of pid not attached yet. Returns functions attached. */
static int attach_new_files(struct probe_heap *p, uint32_t pid, char *err, size_t errlen)
{
	struct heap_sym_fn *fns;
	int n = heap_sym_find("/proc", pid, &fns, err, errlen), done = 0, kept = 0;

	if (n <= 0) {
		if (!n)
			probe_err(err, errlen,
				"no allocator found in process %u (no mapped file defines "
				"malloc or free: a Go program, or a stripped static binary?)",
				pid);
		return n ? n : -ENOENT;
	}
	for (int i = 0; i < n; i++)
		if (!attached_file(p, fns[i].path))
			fns[kept++] = fns[i];
	if (kept) {
		done = attach_fns(p, pid, fns, kept, &p->links, &p->nr_links, &p->cap_links, err,
				  errlen);
		for (int i = 0; done > 0 && i < kept; i++)
			if (!attached_file(p, fns[i].path))
				note_attached(p, fns[i].path);
	}
	free(fns);
	return done;
}

static void describe(struct probe_heap *p)
{
	size_t n = (size_t)snprintf(p->describe, sizeof(p->describe), "rss_stat (%s)",
				    p->raw_tp ? "raw_tp" : "tp_btf");

	if (p->exact && !p->exact_done && p->nr_attached && n < sizeof(p->describe)) {
		const char *lib = strrchr(p->attached[0].path, '/');

		snprintf(p->describe + n, sizeof(p->describe) - n, " + %zu uprobes on %s%s",
			 p->nr_links, lib ? lib + 1 : p->attached[0].path,
			 p->nr_attached > 1 ? " and more" : "");
	}
}

int probe_heap_exact(struct probe_heap *p, uint32_t pid, char *err, size_t errlen)
{
	int e;

	if (!p->uprobes_loaded) {
		probe_err(err, errlen, "leak mode needs a heap probe made for it (opts.exact)");
		return -EINVAL;
	}
	if (!p->match && heap_match_new(NULL, &p->match))
		return -ENOMEM;
	if (!p->pair_ns)
		calibrate(p);
	p->exact = true;
	p->exact_pid = pid;
	e = attach_new_files(p, pid, err, errlen);
	if (e < 0)
		return e;
	p->exact_end_ns = probe_now_ns() + (uint64_t)(p->exact_seconds * 1e9);
	describe(p);
	return 0;
}

static void end_exact(struct probe_heap *p)
{
	for (size_t i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	p->nr_links = 0;
	p->exact_done = true;
	describe(p);
}

/* ---- per tick ---- */

struct flush_ctx {
	struct model *m;
};

static void on_delta(uint64_t site, int64_t bytes, int64_t count, void *arg)
{
	struct flush_ctx *c = arg;

	model_add_alloc(c->m, site_unpack(site), bytes, count);
}

void probe_heap_tick(struct probe_heap *p, struct model *m, uint64_t now)
{
	struct tick_heap_info info = { .mode = MODEL_HEAP_GROWTH };
	struct heap_counters c;

	probe_heap_drain(p, m);
	read_counters(p, &c);
	info.events = c.rss_events - p->reported.rss_events;
	info.lost = (c.ringbuf_lost - p->reported.ringbuf_lost) +
		    (c.pending_full - p->reported.pending_full) +
		    (c.mms_full - p->reported.mms_full);
	if (c.ringbuf_lost > p->reported.ringbuf_lost)
		model_add_lost(m, MODEL_LOST_HEAP_RINGBUF,
			       c.ringbuf_lost - p->reported.ringbuf_lost);
	if (c.pending_full + c.mms_full + c.targets_full >
	    p->reported.pending_full + p->reported.mms_full + p->reported.targets_full)
		model_add_lost(m, MODEL_LOST_HEAP_MAP_FULL,
			       c.pending_full + c.mms_full + c.targets_full -
				       p->reported.pending_full - p->reported.mms_full -
				       p->reported.targets_full);
	if (p->match && p->exact) {
		struct heap_match_block b[OLDEST_MAX];
		struct model_heap_block out[OLDEST_MAX];
		struct heap_match_stats st;
		struct flush_ctx fc = { m };
		size_t n;

		heap_match_flush(p->match, on_delta, &fc);
		n = heap_match_oldest(p->match, b, OLDEST_MAX);
		for (size_t i = 0; i < n; i++) {
			struct model_heap_site s = site_unpack(b[i].site);

			out[i] = (struct model_heap_block){ .thread = s.thread, .stack = s.raw,
							    .addr = b[i].addr, .size = b[i].size,
							    .time_ns = b[i].time_ns };
		}
		model_set_heap_oldest(m, out, n);
		heap_match_stats(p->match, &st);
		if (!p->exact_done) {
			uint64_t calls = c.calls - p->reported.calls;

			info.mode = MODEL_HEAP_EXACT;
			info.calls = calls;
			/* a pair is two traced calls */
			info.cost_ns = (uint64_t)(calls * p->pair_ns / 2);
		}
		info.unmatched = st.unmatched - p->match_reported.unmatched;
		info.live_blocks = st.live_blocks;
		info.live_bytes = st.live_bytes;
		p->match_reported = st;
		if (!p->exact_done && p->rescans < RESCAN_TICKS) {
			p->rescans++;
			attach_new_files(p, p->exact_pid, NULL, 0);
			describe(p);
		}
		if (!p->exact_done && now >= p->exact_end_ns)
			end_exact(p);
	}
	p->reported = c;
	model_add_heap_info(m, &info);
}

/* ---- setup ---- */

static size_t ring_size(bool exact, uint32_t stack_size)
{
	/* leak mode sends every call: room for a few hundred ms of a busy allocator; growth
	 * records carry stack copies: 4 MiB for each 16 KiB of copy, as probes/cpu's ring */
	size_t per16k = stack_size > 16384 ? (stack_size + 16383u) / 16384u : 1;

	return exact ? 64u << 20 : (4u << 20) * per16k;
}

static int load(struct probe_heap *p, const struct probe_heap_opts *opts, bool raw_tp,
		char *err, size_t errlen)
{
	long page = sysconf(_SC_PAGESIZE);
	uint32_t shift = 12;
	struct probe_kbtf_core core;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	int e;

	while (page > 0 && (1l << shift) < page)
		shift++;
	heap_bpf__destroy(p->skel);
	probe_kbtf_core_begin(&core);
	oo.btf_custom_path = probe_kbtf_core_path(&core);
	p->skel = heap_bpf__open_opts(&oo);
	if (!p->skel) {
		e = -errno;
		probe_err(err, errlen, "failed to open BPF object: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
		probe_kbtf_core_end(&core);
		return e;
	}
	p->skel->rodata->filter_pids = p->filter;
	p->skel->rodata->stack_size = opts->stack_size > HEAP_STACK_MAX ? HEAP_STACK_MAX
								   : opts->stack_size & ~7u;
	p->skel->rodata->page_shift = shift;
	p->skel->rodata->sample_pages = sample_pages(opts->sample_bytes, shift);
	bpf_program__set_autoload(p->skel->progs.on_rss_btf, !raw_tp);
	bpf_program__set_autoload(p->skel->progs.on_rss_raw, raw_tp);
	bpf_program__set_autoload(p->skel->progs.on_proc_fork, p->filter && opts->follow_children);
	/* attached only with targets (leak mode has them too): the whole system does not verify it */
	bpf_program__set_autoload(p->skel->progs.on_proc_exit, p->filter);
	/* leak mode's uprobe programs and their map only when it was asked for: growth alone
	 * does not pay for verifying eight programs and a 65,536-entry LRU map (sized to one per
	 * CPU: on_proc_exit still clears it) */
	for (int k = HEAP_SYM_MALLOC; k <= HEAP_SYM_FREE; k++)
		bpf_program__set_autoload(entry_prog(p, (enum heap_sym_kind)k), opts->exact);
	bpf_program__set_autoload(p->skel->progs.on_alloc_ret, opts->exact);
	p->uprobes_loaded = opts->exact;
	e = bpf_map__set_max_entries(p->skel->maps.events,
				     (__u32)ring_size(opts->exact, p->skel->rodata->stack_size));
	if (!e && !opts->exact)
		e = bpf_map__set_max_entries(p->skel->maps.pending, (__u32)p->nr_possible);
	if (!e)
		e = bpf_map__set_max_entries(p->skel->maps.scratch, (__u32)p->nr_possible);
	if (!e && !p->filter)
		e = bpf_map__set_max_entries(p->skel->maps.targets, 1);
	if (e) {
		probe_err(err, errlen, "failed to size BPF maps: %s", strerror(-e));
		probe_kbtf_core_end(&core);
		return e;
	}
	e = probe_kbtf_core_fill(&core, p->skel->obj);
	if (!e)
		e = heap_bpf__load(p->skel);
	probe_kbtf_core_end(&core);
	if (e) {
		if (e == -EPERM)
			probe_err(err, errlen,
				"cannot load BPF programs: %s (need root or CAP_BPF+CAP_PERFMON; "
				"try: sudo flametop)",
				strerror(-e));
		else
			probe_err(err, errlen, "cannot load BPF programs: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
	}
	return e;
}

int probe_heap_new(const struct probe_heap_opts *opts, struct probe_heap **out, char *err,
		   size_t errlen)
{
	size_t nr_pids = opts->pids ? opts->nr_pids : 0;
	struct probe_heap *p;
	int e;

	*out = NULL;
	probe_err(err, errlen, "unknown error");
	probe_libbpf_quiet();
	if (nr_pids > HEAP_MAX_TARGETS) {
		probe_err(err, errlen, "too many target processes: %zu", nr_pids);
		return -E2BIG;
	}
	if (opts->exact && nr_pids > 1) {
		probe_err(err, errlen, "leak mode (--heap exact) takes one target process, not %zu",
			nr_pids);
		return -EINVAL;
	}
	if (opts->exact && !nr_pids && !opts->filter) {
		probe_err(err, errlen,
			"leak mode (--heap exact) needs one target: -p PID or -- CMD (it traps "
			"every allocator call of the process it traces)");
		return -EINVAL;
	}
	if (access(BTF_PATH, R_OK) != 0) {
		e = -errno;
		probe_err(err, errlen,
			"cannot load BPF programs: kernel BTF is not available (%s: %s)", BTF_PATH,
			strerror(-e));
		return e == -ENOENT ? -EOPNOTSUPP : e;
	}
	p = xcalloc(1, sizeof(*p));
	p->filter = nr_pids > 0 || opts->filter;
	p->unwind = opts->unwind;
	p->exact_seconds = opts->exact_seconds > 0 ? opts->exact_seconds : PROBE_HEAP_EXACT_SECONDS;
	e = probe_possible_cpus(err, errlen);
	if (e < 0)
		goto err;
	p->nr_possible = e;
	p->percpu = xcalloc((size_t)p->nr_possible, sizeof(*p->percpu));

	/* tp_btf first; raw_tp where it does not load (FLAMETOP_HEAP_RAW_TP=1 forces it) */
	p->raw_tp = getenv("FLAMETOP_HEAP_RAW_TP") && !strcmp(getenv("FLAMETOP_HEAP_RAW_TP"), "1");
	e = load(p, opts, p->raw_tp, err, errlen);
	if (e && e != -EPERM && !p->raw_tp) {
		snprintf(p->fallback, sizeof(p->fallback), "%s", err && *err ? err : strerror(-e));
		p->raw_tp = true;
		probe_libbpf_quiet();
		e = load(p, opts, true, err, errlen);
	}
	if (e)
		goto err;
	for (size_t i = 0; i < nr_pids; i++) {
		e = probe_heap_add_pid(p, opts->pids[i]);
		if (e) {
			probe_err(err, errlen, "failed to add target pid %u: %s", opts->pids[i],
				strerror(-e));
			goto err;
		}
	}
	if (p->filter) {
		p->exit_link = bpf_program__attach(p->skel->progs.on_proc_exit);
		if (opts->follow_children)
			p->fork_link = bpf_program__attach(p->skel->progs.on_proc_fork);
		if (!p->exit_link || (opts->follow_children && !p->fork_link)) {
			e = -errno;
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
		goto err;
	}
	p->rss_link = bpf_program__attach(p->raw_tp ? p->skel->progs.on_rss_raw
						    : p->skel->progs.on_rss_btf);
	if (!p->rss_link) {
		e = -errno;
		probe_err(err, errlen, "failed to attach to the rss_stat tracepoint: %s",
			strerror(-e));
		probe_err_libbpf(err, errlen);
		goto err;
	}
	describe(p);
	if (opts->exact && nr_pids == 1) {
		e = probe_heap_exact(p, opts->pids[0], err, errlen);
		if (e)
			goto err;
	}
	if (err && errlen)
		err[0] = '\0';
	*out = p;
	return 0;
err:
	probe_heap_free(p);
	return e < 0 ? e : -EINVAL;
}

void probe_heap_free(struct probe_heap *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nr_links; i++)
		bpf_link__destroy(p->links[i]);
	free(p->links);
	for (size_t i = 0; i < p->nr_attached; i++)
		free(p->attached[i].path);
	free(p->attached);
	bpf_link__destroy(p->rss_link);
	bpf_link__destroy(p->fork_link);
	bpf_link__destroy(p->exit_link);
	ring_buffer__free(p->rb);
	heap_bpf__destroy(p->skel);
	heap_match_free(p->match);
	free(p->percpu);
	free(p);
}

int probe_heap_fd(const struct probe_heap *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

int probe_heap_add_pid(struct probe_heap *p, uint32_t pid)
{
	__u8 one = 1;

	return probe_add_target(bpf_map__fd(p->skel->maps.targets), p->filter, pid, &one);
}

const char *probe_heap_describe(const struct probe_heap *p)
{
	return p->describe;
}

const char *probe_heap_fallback(const struct probe_heap *p)
{
	return p->fallback[0] ? p->fallback : NULL;
}

bool probe_heap_exact_active(const struct probe_heap *p)
{
	return p->exact && !p->exact_done;
}

double probe_heap_pair_ns(const struct probe_heap *p)
{
	return p->pair_ns;
}

double probe_heap_exact_left(const struct probe_heap *p, uint64_t now)
{
	if (!probe_heap_exact_active(p))
		return 0;
	return now < p->exact_end_ns ? (p->exact_end_ns - now) / 1e9 : 0;
}

void probe_heap_counters(const struct probe_heap *p, struct probe_heap_counters *out)
{
	struct heap_counters c;

	read_counters(p, &c);
	out->rss_events = c.rss_events;
	out->records = c.records;
	out->ringbuf_lost = c.ringbuf_lost;
	out->no_user = c.no_user;
	out->calls = c.calls;
	out->pending_full = c.pending_full;
	out->mms_full = c.mms_full;
	out->targets_full = c.targets_full;
	out->unsampled = c.unsampled;
	out->copy_dropped = c.copy_dropped;
}

size_t probe_heap_ring_bytes(const struct probe_heap *p)
{
	return bpf_map__max_entries(p->skel->maps.events);
}
