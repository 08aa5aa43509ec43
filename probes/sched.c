// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched loader: loads sched.bpf.c (tp_btf programs, else raw_tp ones), seeds the threads
 * that already exist (a task iterator, else /proc), drains the ring buffer and, once per tick,
 * reads the "threads" map into sched_acct, which makes the model events. Loss is never silent:
 * counter deltas become model_add_lost() calls on every drain.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/uio.h>
#include <sys/stat.h>
#include <linux/types.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "model/syms.h"
#include "model/waits.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "probes/ksym.h"
#include "probes/probe.h"
#include "probes/proc.h"
#include "probes/kbtf.h"
#include "probes/sched.h"
#include "probes/sched_abi.h"
#include "probes/sched_acct.h"
#include "probes/sched_state.h"
#include "sched.skel.h"

_Static_assert(sizeof(struct sched_counters) == 18 * 8, "sched_counters layout");
_Static_assert(offsetof(struct sched_waker_rec, frames) == SCHED_WAKER_HDR_SIZE,
	       "sched_waker_rec layout");
_Static_assert(offsetof(struct sched_ustack_rec, regs) == SCHED_USTACK_REC_HDR &&
		       sizeof(struct sched_ustack_rec) == SCHED_USTACK_HDR_SIZE,
	       "sched_ustack_rec layout");
_Static_assert(SCHED_NR_REGS == UNWIND_NR_REGS, "registers as model/unwind.h orders them");

#define MIN_THREADS_BOUND 65536
#define MAX_THREADS_BOUND (1u << 20)
#define BATCH 256
#define READ_TRIES 4
/* Stack copies waiting for their block to be reported are kept raw up to this many bytes in
 * all; past it a copy is unwound as it arrives (the walk, not the copy, is kept). */
#define RAW_BUDGET PROBE_SCHED_COPIES_BYTES /* the memory budget */

/* The last stack copy of a thread (struct sched_ustack_rec), raw until a block names it, then
 * its walk, which blocks that reused its stacks share. Dropped at the thread's exit. */
struct ucopy {
	struct ucopy *next; /* hash chain */
	uint32_t tid, pid;
	uint64_t ns;	    /* the block it was taken for */
	uint8_t *raw;	    /* the struct sched_ustack_rec; NULL once unwound */
	size_t raw_size;
	uint64_t *ips;	    /* the walk, leaf first */
	uint32_t nr;
	bool truncated;
	bool done;
};

#define CLASS_CACHE 4096
#define FP_TOLD 256 /* processes last put in "fp_pids", by hash */

/* A cached answer of classify(): lock or wait for these frames of this process. */
struct wait_class {
	uint64_t key[4]; /* pid | maps generation << 32, the first three user addresses */
	int state;
	bool used;
};

struct probe_sched {
	struct sched_bpf *skel;
	struct ring_buffer *rb;
	struct sched_acct *acct;
	const char *mode;
	char fallback[512]; /* why tp_btf did not load or attach, when raw_tp runs instead */
	struct syms *syms;  /* borrowed: names futex waits' frames (lock or wait) */
	struct wait_class *classes; /* CLASS_CACHE answers of classify() */
	char proc_root[256];
	bool filter;
	int nr_possible;
	uint32_t max_threads;
	uint64_t nr_threads; /* read at the last tick */
	bool no_batch;	     /* the kernel has no batch lookups for hash maps */
	struct sched_counters *percpu;
	struct sched_counters reported;
	/* pass buffers */
	__u32 *keys;
	struct sched_thread *vals;
	/* DWARF unwinding of stack copies (NULL: frame pointers only) */
	struct unwind *unwind;
	uint32_t stack_size;
	struct ucopy **copies; /* hash by tid, ncopy_buckets (a power of two) */
	size_t ncopy_buckets, ncopies, raw_bytes;
	uint64_t ustack_miss;
	uint64_t fetched; /* copies of open blocks read from "ucopies" at a tick */
	uint64_t seeded_proc; /* threads seeded from /proc (the kernel's iterator could not) */
	uint32_t fp_told[FP_TOLD]; /* see fp_pid() */
	struct sched_block_rec tmp; /* a record with its user frames replaced */
	struct sched_ustack_rec *parked; /* SCHED_USCRATCH_SIZE bytes: a copy read from "ucopies" */
	/* valid during drain() only */
	struct model *m;
	int consumed;
	struct probe_budget budget;
};

static size_t ring_size(int nr_cpus, bool copies)
{
	/* 512 KiB per CPU (~270 worst-case records); with stack copies (~5-16 KiB each, sent
	 * when a thread blocks somewhere new) 2 MiB per CPU */
	return probe_ring_size((size_t)nr_cpus * (copies ? 2u << 20 : 512u << 10));
}

/* Threads on the system now, from /proc/loadavg ("0.00 0.01 0.05 1/123 4567"). */
static uint32_t system_threads(const char *root)
{
	char path[300], buf[256], *slash, *end;
	unsigned long n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/loadavg", root);
	f = fopen(path, "re");
	if (!f)
		return 0;
	if (!fgets(buf, sizeof(buf), f)) {
		fclose(f);
		return 0;
	}
	fclose(f);
	slash = strchr(buf, '/');
	if (!slash)
		return 0;
	errno = 0;
	n = strtoul(slash + 1, &end, 10);
	return errno || end == slash + 1 || n > UINT32_MAX ? 0 : (uint32_t)n;
}

/*
 * The text of function name from kallsyms, [lo, hi): kernel stacks taken in the tracepoints
 * start with bpf_prog_*, bpf_trace_run*, __traceiter_* and __schedule (or try_to_wake_up, for a
 * waker), stripped up to it. Core kernel symbols are listed in address order, so hi is the next
 * higher address listed.
 */
static void find_text(const char *root, const char *fn, uint64_t *lo, uint64_t *hi)
{
	char path[300], line[512];
	FILE *f;

	*lo = *hi = 0;
	snprintf(path, sizeof(path), "%s/kallsyms", root);
	f = fopen(path, "re");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f)) {
		char type, name[256];
		unsigned long long addr;

		if (sscanf(line, "%llx %c %255s", &addr, &type, name) != 3)
			continue;
		if (!*lo) {
			if ((type == 't' || type == 'T') && !strcmp(name, fn))
				*lo = addr;
		} else if (addr > *lo) {
			*hi = addr;
			break;
		}
	}
	fclose(f);
	if (!*hi || *hi - *lo > (1u << 20))
		*lo = *hi = 0; /* hidden (kptr_restrict) or not what we think */
}

/*
 * [lo, hi) of function fn, asked of the kernel (probes/ksym: ~ms) where it can be, else read
 * from kallsyms: reading it makes the kernel format its ~120k symbols, and __schedule is near
 * the end (the two searches were ~73 ms, a sixth of a 1 s snapshot's CPU).
 */
static void find_fn(struct probe_ksym *k, const char *root, const char *fn, uint64_t *lo,
		    uint64_t *hi)
{
	if (k && !probe_ksym_find(k, fn, lo, hi) && *hi > *lo && *hi - *lo <= (1u << 20))
		return;
	find_text(root, fn, lo, hi);
}

/* ---- seeding from /proc ---- */

/* The syscall a blocked thread is in, and its first argument, from /proc/PID/task/TID/syscall. */
static long read_syscall(const struct probe_sched *p, uint32_t pid, uint32_t tid, long *arg0)
{
	char path[320], buf[256];
	unsigned long long a0 = 0;
	long nr;
	FILE *f;
	int n;

	snprintf(path, sizeof(path), "%s/%u/task/%u/syscall", p->proc_root, pid, tid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fgets(buf, sizeof(buf), f) ? sscanf(buf, "%ld %llx", &nr, &a0) : 0;
	fclose(f);
	if (n < 1)
		return -1; /* "running" */
	*arg0 = (long)a0;
	return nr;
}

static __u32 seed_state(const struct probe_sched *p, const struct proc_thread *pt, __s32 *sc)
{
	long nr, fd = -1;
	__u32 r;

	*sc = -1;
	switch (pt->state) {
	case 'R':
		return SCHED_RUNNING; /* or runnable: /proc cannot tell; the next switch will */
	case 'D':
		return SCHED_IO;
	case 'S':
		break;
	default:
		return SCHED_OTHER; /* I (idle kthread), T, t, P */
	}
	nr = read_syscall(p, pt->pid, pt->tid, &fd);
	if (nr >= 0 && nr < 1024)
		*sc = (__s32)nr;
	r = sched_reason(SCHED_TASK_INTERRUPTIBLE, false, nr);
	if (r == SCHED_BY_FD) {
		char path[340];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%u/task/%u/fd/%ld", p->proc_root, pt->pid, pt->tid,
			 fd);
		r = fd >= 0 && !stat(path, &st) ? sched_fd_reason(st.st_mode) : SCHED_OTHER;
	}
	return r;
}

struct seed_ctx {
	struct probe_sched *p;
	uint64_t since, now;
	int fd;
};

static void seed_one(const struct proc_thread *pt, void *arg)
{
	struct seed_ctx *c = arg;
	struct sched_thread t;
	__u32 tid = pt->tid;
	__s32 sc;

	if (pt->state == 'Z' || pt->state == 'X' || !tid)
		return;
	c->p->seeded_proc++;
	sched_thread_init(&t, pt->pid, seed_state(c->p, pt, &sc), c->since, c->now);
	t.syscall = sc;
	t.flags |= SCHED_THR_SEEDED;
	memcpy(t.comm, pt->comm, SCHED_COMM_LEN);
	memcpy(t.pcomm, pt->pcomm, SCHED_COMM_LEN);
	/* BPF may have seen the thread already: what it knows is newer */
	bpf_map_update_elem(c->fd, &tid, &t, BPF_NOEXIST);
}

/* The kernel seeds them (sched.bpf.c's seed_task, run through an iterator): 0, or -errno. */
static int seed_iter(struct probe_sched *p, uint32_t pid, uint64_t since)
{
	struct bpf_link *link;
	char buf[64];
	ssize_t n;
	int fd, e;

	if (!p->skel->progs.seed_task || bpf_program__fd(p->skel->progs.seed_task) < 0)
		return -ENOTSUP;
	p->skel->bss->seed_pid = pid;
	p->skel->bss->seed_since = since;
	link = bpf_program__attach_iter(p->skel->progs.seed_task, NULL);
	if (!link)
		return -errno;
	fd = bpf_iter_create(bpf_link__fd(link));
	if (fd < 0) {
		e = -errno;
		bpf_link__destroy(link);
		return e;
	}
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		;
	e = n < 0 ? -errno : 0;
	close(fd);
	bpf_link__destroy(link);
	return e;
}

/* Threads with no event since attach would otherwise be unknown until their next switch. */
static void seed(struct probe_sched *p, uint32_t pid, uint64_t since)
{
	struct seed_ctx c = {
		.p = p,
		.since = since,
		.now = probe_now_ns(),
		.fd = bpf_map__fd(p->skel->maps.threads),
	};

	/* /proc where the kernel cannot do it (no task iterators), or for another proc root */
	if (!strcmp(p->proc_root, "/proc") && !seed_iter(p, pid, since))
		return;
	probe_proc_scan(p->proc_root, pid, seed_one, &c);
}

/* ---- loading ---- */

static void choose_programs(struct sched_bpf *s, bool raw, bool follow)
{
	struct bpf_program *btf[] = {
		s->progs.on_switch, s->progs.on_wakeup, s->progs.on_wakeup_new,
		s->progs.on_fork,   s->progs.on_exit,   s->progs.on_exec,
	};
	struct bpf_program *rawp[] = {
		s->progs.on_switch_raw, s->progs.on_wakeup_raw, s->progs.on_wakeup_new_raw,
		s->progs.on_fork_raw,   s->progs.on_exit_raw,   s->progs.on_exec_raw,
	};

	for (size_t i = 0; i < sizeof(btf) / sizeof(btf[0]); i++) {
		bool fork = i == 3;

		bpf_program__set_autoload(btf[i], !raw && (!fork || follow));
		bpf_program__set_autoload(rawp[i], raw && (!fork || follow));
	}
	/* the seeding iterator runs on demand (seed_iter()), with the typed programs only */
	bpf_program__set_autoload(s->progs.seed_task, !raw);
	bpf_program__set_autoattach(s->progs.seed_task, false);
}

static void load_err(int e, char *err, size_t errlen)
{
	if (e == -EPERM)
		probe_err(err, errlen,
			"cannot load BPF programs: %s (need root or CAP_BPF+CAP_PERFMON; try: sudo "
			"flametop)",
			strerror(-e));
	else if (e == -EACCES)
		probe_err(err, errlen,
			"cannot load BPF programs: the kernel's verifier rejected them (%s)",
			strerror(-e));
	else
		probe_err(err, errlen, "cannot load BPF programs: %s", strerror(-e));
	probe_err_libbpf(err, errlen);
}

/* Opens, sizes and loads one program set. */
static int load(struct probe_sched *p, const struct probe_sched_opts *opts, bool raw, char *err,
		size_t errlen)
{
	uint64_t min_us = opts && opts->min_block_us ? opts->min_block_us
						      : PROBE_SCHED_MIN_BLOCK_US;
	struct probe_kbtf_core core;
	LIBBPF_OPTS(bpf_object_open_opts, oo);
	int e;

	probe_libbpf_quiet();
	probe_kbtf_core_begin(&core);
	oo.btf_custom_path = probe_kbtf_core_path(&core);
	p->skel = sched_bpf__open_opts(&oo);
	if (!p->skel) {
		e = -errno;
		probe_err(err, errlen, "failed to open BPF object: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
		probe_kbtf_core_end(&core);
		return e;
	}
	p->skel->rodata->filter_pids = p->filter;
	p->skel->rodata->min_block_ns = min_us * 1000;
	p->skel->rodata->stack_size = p->stack_size;
	p->skel->rodata->waker_stacks = opts && opts->waker_stacks;
	choose_programs(p->skel, raw, p->filter && opts && opts->follow_children);
	e = bpf_map__set_max_entries(p->skel->maps.events,
				     (__u32)ring_size(p->nr_possible, p->stack_size > 0));
	if (!e && p->stack_size)
		e = bpf_map__set_max_entries(p->skel->maps.uscratch, (__u32)p->nr_possible);
	/* copies kept in the kernel: a header and stack_size bytes each */
	p->skel->rodata->park_size = SCHED_USTACK_HDR_SIZE + (p->stack_size ? p->stack_size : 8);
	if (!e)
		e = bpf_map__set_value_size(p->skel->maps.ucopies, p->skel->rodata->park_size);
	if (!e)
		e = bpf_map__set_max_entries(p->skel->maps.ucopies,
					     p->stack_size ? SCHED_MAX_PARKED : 1);
	if (!e)
		e = bpf_map__set_max_entries(p->skel->maps.threads, p->max_threads);
	if (!e)
		e = bpf_map__set_max_entries(p->skel->maps.stacks, p->max_threads);
	/* the whole system: no target is ever looked up (a preallocated hash map otherwise) */
	if (!e && !p->filter)
		e = bpf_map__set_max_entries(p->skel->maps.targets, 1);
	if (e) {
		probe_err(err, errlen, "failed to size the BPF maps: %s", strerror(-e));
		probe_kbtf_core_end(&core);
		return e;
	}
	e = probe_kbtf_core_fill(&core, p->skel->obj);
	if (!e)
		e = sched_bpf__load(p->skel);
	probe_kbtf_core_end(&core);
	if (e) {
		load_err(e, err, errlen);
		return e;
	}
	return 0;
}

static int attach(struct probe_sched *p, char *err, size_t errlen)
{
	int e;

	p->skel->bss->attach_ns = probe_now_ns();
	e = sched_bpf__attach(p->skel);
	if (e) {
		probe_err(err, errlen, "failed to attach to the scheduler's tracepoints: %s",
			strerror(-e));
		probe_err_libbpf(err, errlen);
	}
	return e;
}

/* ---- stack copies: DWARF unwinding ---- */

static struct ucopy **ucopy_slot(struct probe_sched *p, uint32_t tid)
{
	struct ucopy **pp = &p->copies[(tid * 0x9e3779b1u) & (p->ncopy_buckets - 1)];

	while (*pp && (*pp)->tid != tid)
		pp = &(*pp)->next;
	return pp;
}

static void ucopy_clear(struct probe_sched *p, struct ucopy *c)
{
	if (c->raw)
		p->raw_bytes -= c->raw_size;
	free(c->raw);
	free(c->ips);
	c->raw = NULL;
	c->ips = NULL;
	c->raw_size = 0;
	c->nr = 0;
	c->done = false;
}

static void ucopy_forget(struct probe_sched *p, uint32_t tid)
{
	struct ucopy **pp, *c;

	if (!p->copies)
		return;
	pp = ucopy_slot(p, tid);
	c = *pp;
	if (!c)
		return;
	*pp = c->next;
	ucopy_clear(p, c);
	free(c);
	p->ncopies--;
}

static void ucopy_grow(struct probe_sched *p)
{
	size_t old = p->ncopy_buckets;
	struct ucopy **was = p->copies;

	p->ncopy_buckets = old ? old * 2 : 1024;
	p->copies = xcalloc(p->ncopy_buckets, sizeof(*p->copies));
	for (size_t i = 0; i < old; i++) {
		for (struct ucopy *c = was[i], *next; c; c = next) {
			struct ucopy **pp = ucopy_slot(p, c->tid);

			next = c->next;
			c->next = *pp;
			*pp = c;
		}
	}
	free(was);
}

/*
 * pid is walked with frame pointers (Go): BPF stops copying its stacks. Its threads' copies taken
 * before BPF knew come all the same, each walked and each telling so: told once, not a syscall
 * for each (20 s of bench/churn's pipelines next to other people's Go builds: 1,477 walks of
 * copies of 421 such processes).
 */
static void fp_pid(struct probe_sched *p, uint32_t pid)
{
	uint32_t *known = &p->fp_told[(pid * 0x9e3779b1u) % FP_TOLD];
	__u8 one = 1;

	if (*known == pid)
		return;
	if (!bpf_map_update_elem(bpf_map__fd(p->skel->maps.fp_pids), &pid, &one, BPF_ANY))
		*known = pid;
}

/* Walks a copy once (with the frame-pointer walk of the block that first needs it, for the
 * processes unwind_user() gives that walk); keeps the walk, frees the copy. */
static void ucopy_resolve(struct probe_sched *p, struct ucopy *c, const uint64_t *fp,
			  uint32_t nr_fp)
{
	const struct sched_ustack_rec *u;
	struct unwind_sample in = { .pid = c->pid, .fp = nr_fp ? fp : NULL, .nr_fp = nr_fp };
	uint64_t ips[UNWIND_MAX_FRAMES];

	if (c->done)
		return;
	u = (const struct sched_ustack_rec *)c->raw;
	in.regs = (const uint64_t *)u->regs;
	in.stack = u->data;
	in.stack_size = u->size;
	in.fp_truncated = nr_fp == SCHED_MAX_UFRAMES;
	c->nr = unwind_user(p->unwind, &in, ips, UNWIND_MAX_FRAMES, &c->truncated);
	c->ips = c->nr ? xmalloc(c->nr * sizeof(*ips)) : NULL;
	if (c->nr)
		memcpy(c->ips, ips, c->nr * sizeof(*ips));
	p->raw_bytes -= c->raw_size;
	free(c->raw);
	c->raw = NULL;
	c->raw_size = 0;
	c->done = true;
	if (unwind_mode_of(p->unwind, c->pid) == UNWIND_FP)
		fp_pid(p, c->pid);
}

/* A struct sched_ustack_rec: the thread's last copy from now on. */
static int on_ustack(struct probe_sched *p, const void *data, size_t size)
{
	const struct sched_ustack_rec *u = data;
	struct ucopy **pp, *c;

	if (!p->unwind || size < sizeof(*u) || u->size > SCHED_STACK_MAX ||
	    size < sizeof(*u) + u->size)
		return -EINVAL;
	if (p->ncopies >= p->ncopy_buckets)
		ucopy_grow(p);
	pp = ucopy_slot(p, u->tid);
	c = *pp;
	if (!c) {
		c = xcalloc(1, sizeof(*c));
		c->tid = u->tid;
		c->next = NULL;
		*pp = c;
		p->ncopies++;
	}
	ucopy_clear(p, c);
	c->pid = u->pid;
	c->ns = u->ns;
	/* the ring's memory is handed back after this call: keep the record */
	c->raw_size = sizeof(*u) + u->size;
	c->raw = xmalloc(c->raw_size);
	memcpy(c->raw, u, c->raw_size);
	p->raw_bytes += c->raw_size;
	if (p->raw_bytes > RAW_BUDGET)
		ucopy_resolve(p, c, NULL, 0); /* too many waiting: walk it now */
	return 0;
}

/*
 * The record to account: r itself, or (with a stack copy for it) r with its user frames
 * replaced by the DWARF walk, in p->tmp; *size follows.
 */
static const struct sched_block_rec *with_dwarf(struct probe_sched *p,
						const struct sched_block_rec *r, size_t *size)
{
	uint32_t nu = r->nr_user, nk = r->nr_kernel, fp_nu, n;
	struct ucopy *c;

	if (!p->unwind || !p->copies || *size < SCHED_BLOCK_HDR_SIZE || !r->ustack_ns ||
	    (r->flags & SCHED_STK_KTHREAD) || nu > SCHED_MAX_UFRAMES ||
	    nk > SCHED_MAX_KFRAMES || *size < SCHED_BLOCK_HDR_SIZE + ((size_t)nu + nk) * 8)
		return r;
	c = *ucopy_slot(p, r->tid);
	if (!c || c->ns != r->ustack_ns || c->pid != r->pid) {
		p->ustack_miss++; /* its copy was lost (ring full) or replaced */
		return r;
	}
	fp_nu = nu;
	while (fp_nu > 1 && r->frames[fp_nu - 1] == 0)
		fp_nu--;
	ucopy_resolve(p, c, (const uint64_t *)r->frames, fp_nu);
	if (!c->nr)
		return r;
	n = c->nr > SCHED_MAX_UFRAMES ? SCHED_MAX_UFRAMES : c->nr;
	memcpy(&p->tmp, r, SCHED_BLOCK_HDR_SIZE);
	memcpy(p->tmp.frames, c->ips, n * sizeof(uint64_t));
	memcpy(p->tmp.frames + n, r->frames + nu, nk * sizeof(uint64_t));
	p->tmp.nr_user = n;
	p->tmp.flags &= ~SCHED_STK_USER_FAILED;
	if (c->truncated || c->nr > SCHED_MAX_UFRAMES)
		p->tmp.flags |= SCHED_STK_TRUNCATED;
	*size = SCHED_BLOCK_HDR_SIZE + ((size_t)n + nk) * 8;
	return &p->tmp;
}

/*
 * Lock or wait (sched_acct's classify): the names of a futex wait's user frames, leaf first
 * with inlined functions in their place, through model/waits.h. Answers are cached by the
 * process, its maps' generation and the first return addresses: a pool's threads block at the
 * same few places over and over.
 */
static int classify(void *ctx, uint32_t pid, const uint64_t *user, uint32_t nr)
{
	struct probe_sched *p = ctx;
	const char *names[WAITS_DEPTH];
	struct wait_class *c;
	uint64_t key[4] = { pid, 0, 0, 0 };
	size_t n = 0;
	uint64_t h;

	if (!p->syms)
		return MODEL_STATE_LOCK;
	key[0] |= syms_maps_gen(p->syms, pid) << 32;
	for (uint32_t i = 0; i < 3 && i < nr; i++)
		key[i + 1] = user[i];
	h = (key[0] * 0x9e3779b97f4a7c15ull) ^ (key[1] * 0xc2b2ae3d27d4eb4full) ^
	    (key[2] * 0x165667b19e3779f9ull) ^ key[3];
	c = &p->classes[(h ^ h >> 29) % CLASS_CACHE];
	if (c->used && !memcmp(c->key, key, sizeof(key)))
		return c->state;
	for (uint32_t i = 0; i < nr && n < WAITS_DEPTH; i++) {
		struct syms_frame f;

		/* a return address is in the call: look up the byte before it */
		if (syms_user(p->syms, pid, i ? user[i] - 1 : user[i], &f))
			continue;
		for (uint32_t k = f.nr_inlined; k-- > 0 && n < WAITS_DEPTH;)
			names[n++] = f.inlined[k].function;
		if (n < WAITS_DEPTH)
			names[n++] = f.function;
	}
	memcpy(c->key, key, sizeof(key));
	c->state = waits_classify(names, n) == MODEL_STATE_WAIT ? MODEL_STATE_WAIT
								 : MODEL_STATE_LOCK;
	c->used = true;
	return c->state;
}

/*
 * Lock or wait for a thread blocked since before attach (classify_blocked): no block of it was
 * seen start, so no stacks come. /proc/PID/task/TID/syscall gives its user sp and pc; the words
 * above sp that point into code are return addresses or stale values, and read nearest first
 * (the decision is taken by the first name a rule knows) they name where it waits: a Go M parked
 * in runtime.notesleep, a thread in pthread_cond_wait or in __lll_lock_wait.
 */
#define SCAN_BYTES 4096

static int classify_blocked(void *ctx, uint32_t pid, uint32_t tid)
{
	struct probe_sched *p = ctx;
	unsigned long long sp, pc, args[6];
	uint64_t words[SCAN_BYTES / 8], ips[WAITS_DEPTH];
	char path[320], buf[512];
	struct iovec local = { words, sizeof(words) }, remote;
	uint32_t n = 0;
	ssize_t got;
	long nr;
	FILE *f;

	if (!p->syms)
		return MODEL_STATE_NR;
	snprintf(path, sizeof(path), "%s/%u/task/%u/syscall", p->proc_root, pid, tid);
	f = fopen(path, "re");
	if (!f)
		return MODEL_STATE_NR;
	if (!fgets(buf, sizeof(buf), f) ||
	    sscanf(buf, "%ld %llx %llx %llx %llx %llx %llx %llx %llx", &nr, &args[0], &args[1],
		   &args[2], &args[3], &args[4], &args[5], &sp, &pc) != 9) {
		fclose(f);
		return MODEL_STATE_NR;
	}
	fclose(f);
	remote = (struct iovec){ (void *)(uintptr_t)sp, sizeof(words) };
	got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
	if (got < 8) {
		/* the top of the stack may end within the page: read less */
		remote.iov_len = local.iov_len = 512;
		got = process_vm_readv((pid_t)pid, &local, 1, &remote, 1, 0);
	}
	ips[n++] = pc;
	for (ssize_t i = 0; i < got / 8 && n < WAITS_DEPTH; i++) {
		struct syms_map map;

		if (words[i] > 4096 && !syms_user_map(p->syms, pid, words[i] - 1, &map) &&
		    map.kind != SYMS_JIT)
			ips[n++] = words[i];
	}
	return classify(p, pid, ips, n);
}

static int on_record(void *ctx, void *data, size_t size)
{
	struct probe_sched *p = ctx;
	__u32 type = size >= sizeof(__u32) ? *(const __u32 *)data : 0;
	int e = -EINVAL;

	if (type == SCHED_REC_BLOCK) {
		const struct sched_block_rec *r = with_dwarf(p, data, &size);

		e = sched_acct_block(p->acct, p->m, r, size);
	} else if (type == SCHED_REC_EXIT) {
		e = sched_acct_exit(p->acct, p->m, data, size);
		if (!e)
			ucopy_forget(p, ((const struct sched_exit_rec *)data)->tid);
	} else if (type == SCHED_REC_USTACK) {
		e = on_ustack(p, data, size);
	} else if (type == SCHED_REC_WAKER) {
		e = sched_acct_waker(p->acct, data, size);
	} else if (type == SCHED_REC_BARE) {
		e = sched_acct_bare(p->acct, p->m, data, size);
	}
	if (e)
		model_add_lost(p->m, MODEL_LOST_SCHED_RINGBUF, 1); /* a bug, but not a silent one */
	else
		p->consumed++;
	return probe_budget_over(&p->budget) ? -EAGAIN : 0;
}

int probe_sched_new(const struct probe_sched_opts *opts, struct probe_sched **out, char *err,
		    size_t errlen)
{
	size_t nr_pids = opts && opts->pids ? opts->nr_pids : 0;
	const char *force = getenv("FLAMETOP_SCHED_RAW_TP");
	bool raw = force && *force && strcmp(force, "0") != 0;
	struct sched_acct_opts ao = { 0 };
	char btf_err[512] = "";
	struct probe_sched *p;
	uint64_t attach_ns;
	uint32_t nthreads;
	int e;

	*out = NULL;
	probe_err(err, errlen, "unknown error");
	probe_libbpf_quiet();
	if (nr_pids > SCHED_MAX_TARGETS) {
		probe_err(err, errlen, "too many target processes: %zu (at most %d)", nr_pids,
			SCHED_MAX_TARGETS);
		return -E2BIG;
	}
	e = probe_check_btf(err, errlen);
	if (e)
		return e;

	p = xcalloc(1, sizeof(*p));
	snprintf(p->proc_root, sizeof(p->proc_root), "%s",
		 opts && opts->proc_root ? opts->proc_root : "/proc");
	p->filter = nr_pids > 0 || (opts && opts->filter);
	e = probe_possible_cpus(err, errlen);
	if (e < 0)
		goto err;
	p->nr_possible = e;
	p->percpu = xcalloc((size_t)p->nr_possible, sizeof(*p->percpu));
	nthreads = system_threads(p->proc_root);
	p->max_threads = nthreads > MIN_THREADS_BOUND / 2 ? 2 * nthreads : MIN_THREADS_BOUND;
	if (p->max_threads > MAX_THREADS_BOUND)
		p->max_threads = MAX_THREADS_BOUND;
	p->keys = xcalloc(BATCH, sizeof(*p->keys));
	p->vals = xcalloc(BATCH, sizeof(*p->vals));
	if (opts && opts->unwind && opts->stack_size) {
		uint32_t sz = opts->stack_size > SCHED_STACK_MAX ? SCHED_STACK_MAX : opts->stack_size;

		p->unwind = opts->unwind;
		p->stack_size = (sz + 7) & ~7u;
		p->parked = xmalloc(SCHED_USCRATCH_SIZE);
		ucopy_grow(p);
	}

	/* tp_btf first; raw_tp when it does not load or attach (detected, not assumed) */
	p->mode = raw ? "raw_tp" : "tp_btf";
	e = load(p, opts, raw, err, errlen);
	if (!e)
		e = attach(p, err, errlen);
	if (e && !raw && e != -EPERM) {
		snprintf(btf_err, sizeof(btf_err), "%s", err ? err : "");
		sched_bpf__destroy(p->skel);
		p->skel = NULL;
		p->mode = "raw_tp";
		e = load(p, opts, true, err, errlen);
		if (!e)
			e = attach(p, err, errlen);
		if (e && err && errlen) {
			size_t n = strlen(err);

			snprintf(err + n, errlen - n, "; with tp_btf: %s", btf_err);
		}
		if (!e)
			snprintf(p->fallback, sizeof(p->fallback), "%s", btf_err);
	}
	if (e)
		goto err;
	attach_ns = p->skel->bss->attach_ns;

	for (size_t i = 0; i < nr_pids; i++) {
		__u64 v = attach_ns;

		if (bpf_map_update_elem(bpf_map__fd(p->skel->maps.targets), &opts->pids[i], &v,
					BPF_ANY)) {
			e = -errno;
			probe_err(err, errlen, "failed to add target pid %u: %s", opts->pids[i],
				strerror(-e));
			goto err;
		}
	}

	{
		struct probe_ksym *own = opts && opts->ksym ? NULL : probe_ksym_new();
		struct probe_ksym *k = own ? own : opts->ksym;

		find_fn(k, p->proc_root, "__schedule", &ao.sched_lo, &ao.sched_hi);
		find_fn(k, p->proc_root, "try_to_wake_up", &ao.wake_lo, &ao.wake_hi);
		probe_ksym_free(own);
	}
	ao.min_block_ns = p->skel->rodata->min_block_ns;
	p->syms = opts ? opts->syms : NULL;
	if (p->syms) {
		p->classes = xcalloc(CLASS_CACHE, sizeof(*p->classes));
		ao.classify = classify;
		ao.classify_blocked = classify_blocked;
		ao.classify_ctx = p;
	}
	sched_acct_new(&ao, &p->acct);

	p->rb = ring_buffer__new(bpf_map__fd(p->skel->maps.events), on_record, p, NULL);
	if (!p->rb) {
		e = -errno;
		probe_err(err, errlen, "failed to create ring buffer reader: %s", strerror(-e));
		probe_err_libbpf(err, errlen);
		goto err;
	}

	if (!p->filter)
		seed(p, 0, attach_ns);
	for (size_t i = 0; i < nr_pids; i++)
		seed(p, opts->pids[i], attach_ns);

	if (err && errlen)
		err[0] = '\0';
	*out = p;
	return 0;
err:
	probe_sched_free(p);
	return e < 0 ? e : -EINVAL;
}

void probe_sched_free(struct probe_sched *p)
{
	if (!p)
		return;
	ring_buffer__free(p->rb);
	sched_bpf__destroy(p->skel);
	sched_acct_free(p->acct);
	for (size_t i = 0; i < p->ncopy_buckets; i++) {
		for (struct ucopy *c = p->copies[i], *next; c; c = next) {
			next = c->next;
			ucopy_clear(p, c);
			free(c);
		}
	}
	free(p->copies);
	free(p->percpu);
	free(p->classes);
	free(p->keys);
	free(p->vals);
	free(p->parked);
	free(p);
}

size_t probe_sched_bytes(const struct probe_sched *p)
{
	/* a walk kept is at most UNWIND_MAX_FRAMES addresses; count the copies' headers too */
	return p->raw_bytes + p->ncopies * (sizeof(struct ucopy) + 256) +
	       (p->parked ? SCHED_USCRATCH_SIZE : 0) +
	       p->ncopy_buckets * sizeof(*p->copies) + sched_acct_bytes(p->acct);
}

size_t probe_sched_ring_bytes(const struct probe_sched *p)
{
	return bpf_map__max_entries(p->skel->maps.events);
}

int probe_sched_fd(const struct probe_sched *p)
{
	return ring_buffer__epoll_fd(p->rb);
}

static void read_counters(const struct probe_sched *p, struct sched_counters *sum)
{
	probe_sum_percpu(bpf_map__fd(p->skel->maps.counters), p->percpu, p->nr_possible,
			 sizeof(*sum), sum);
}

static void report_lost(struct probe_sched *p, struct model *m)
{
	struct sched_counters now, *was = &p->reported;
	uint64_t full, was_full;

	read_counters(p, &now);
	/* ends of blocks dropped to keep room for exits are lost to a full ring all the same (those
	 * sent without their frames are not: their time is in the model, under "[no stack]") */
	full = now.ringbuf_lost + now.block_dropped;
	was_full = was->ringbuf_lost + was->block_dropped;
	if (full > was_full)
		model_add_lost(m, MODEL_LOST_SCHED_RINGBUF, full - was_full);
	full = now.threads_full + now.stacks_full + now.targets_full;
	was_full = was->threads_full + was->stacks_full + was->targets_full;
	if (full > was_full)
		model_add_lost(m, MODEL_LOST_SCHED_MAP_FULL, full - was_full);
	if (now.no_stack > was->no_stack)
		model_add_lost(m, MODEL_LOST_SCHED_NO_STACK, now.no_stack - was->no_stack);
	*was = now;
}

int probe_sched_drain(struct probe_sched *p, struct model *m)
{
	int e;

	p->m = m;
	p->consumed = 0;
	probe_budget_start(&p->budget);
	e = ring_buffer__consume(p->rb);
	p->m = NULL;
	report_lost(p, m);
	return e < 0 && e != -EAGAIN ? e : p->consumed;
}

bool probe_sched_behind(const struct probe_sched *p)
{
	return p->budget.spent;
}

/* A consistent copy of tid's entry (see struct sched_thread), or the last one read when it kept
 * changing; false when it is gone. */
static bool reread(int fd, __u32 tid, struct sched_thread *t)
{
	for (int i = 0; i < READ_TRIES; i++) {
		if (bpf_map_lookup_elem(fd, &tid, t))
			return false;
		if (!(t->seq & 1) && t->seq == t->seq_end)
			return true;
	}
	/* Busy (a thread switching all the time on a busy machine): the last copy. If torn, it
	 * may count an interval twice (acc_ns grown, since_ns not yet moved); sched_acct clips a
	 * thread's growth to the time between two passes, so that costs at most this pass's
	 * split, while skipping it would leave the window short at its end. */
	return true;
}

/*
 * A long block still open at a tick names a copy that is still in "ucopies" (it goes out when the
 * block ends): read it from there, and take it out, so that it is not sent again.
 */
static void fetch_parked(struct probe_sched *p, uint32_t tid, const struct sched_block_rec *r)
{
	const struct sched_ustack_rec *u = p->parked;
	struct ucopy *c;
	int fd;

	if (!u || !r->ustack_ns || !p->copies)
		return;
	c = *ucopy_slot(p, tid);
	if (c && c->ns == r->ustack_ns && c->pid == r->pid)
		return; /* sent already */
	fd = bpf_map__fd(p->skel->maps.ucopies);
	if (bpf_map_lookup_elem(fd, &tid, p->parked) || u->type != SCHED_REC_USTACK ||
	    u->tid != tid || u->ns != r->ustack_ns || u->size > SCHED_STACK_MAX)
		return;
	bpf_map_delete_elem(fd, &tid);
	if (!on_ustack(p, u, sizeof(*u) + u->size))
		p->fetched++;
}

static void account(struct probe_sched *p, struct model *m, __u32 tid, struct sched_thread *t)
{
	struct sched_block_rec slot;
	size_t size = sizeof(slot);

	if ((t->seq & 1 || t->seq != t->seq_end) &&
	    !reread(bpf_map__fd(p->skel->maps.threads), tid, t))
		return;
	p->nr_threads++;
	/* a long block's stacks first: what it waits for splits this pass's futex time */
	if (sched_acct_wants_slot(p->acct, tid, t) &&
	    !bpf_map_lookup_elem(bpf_map__fd(p->skel->maps.stacks), &tid, &slot)) {
		fetch_parked(p, tid, &slot);
		sched_acct_open_block(p->acct, m, tid, t, with_dwarf(p, &slot, &size));
	}
	sched_acct_thread(p->acct, m, tid, t);
}

/* One pass over "threads" with batch lookups (one syscall per BATCH entries). */
static int pass_batch(struct probe_sched *p, struct model *m)
{
	int fd = bpf_map__fd(p->skel->maps.threads);
	__u32 in = 0, out = 0;
	bool first = true;

	for (;;) {
		__u32 n = BATCH;
		int e = bpf_map_lookup_batch(fd, first ? NULL : &in, &out, p->keys, p->vals, &n,
					     NULL);

		if (e && errno != ENOENT)
			return -errno;
		for (__u32 i = 0; i < n; i++)
			account(p, m, p->keys[i], &p->vals[i]);
		if (e) /* ENOENT: that was the last batch */
			return 0;
		in = out;
		first = false;
	}
}

static int pass_keys(struct probe_sched *p, struct model *m)
{
	int fd = bpf_map__fd(p->skel->maps.threads);
	__u32 key, next;
	bool first = true;

	while (!bpf_map_get_next_key(fd, first ? NULL : &key, &next)) {
		struct sched_thread t;

		first = false;
		key = next;
		if (!bpf_map_lookup_elem(fd, &key, &t))
			account(p, m, key, &t);
	}
	return 0;
}

int probe_sched_tick(struct probe_sched *p, struct model *m, uint64_t now)
{
	int e = 0;

	probe_sched_drain(p, m);
	sched_acct_begin(p->acct, now);
	p->nr_threads = 0;
	if (!p->no_batch) {
		e = pass_batch(p, m);
		if (e == -EINVAL || e == -ENOTSUP || e == -EOPNOTSUPP) {
			/* no batch ops (before 5.6): walk the keys; entries already accounted
			 * in this pass only get their (zero) delta again */
			p->no_batch = true;
			e = 0;
		}
	}
	if (p->no_batch)
		e = pass_keys(p, m);
	sched_acct_end(p->acct);
	return e < 0 ? e : (int)p->nr_threads;
}

int probe_sched_add_pid(struct probe_sched *p, uint32_t pid)
{
	__u64 now = probe_now_ns();
	int e = probe_add_target(bpf_map__fd(p->skel->maps.targets), p->filter, pid, &now);

	if (!e)
		seed(p, pid, now);
	return e;
}

const char *probe_sched_mode(const struct probe_sched *p)
{
	return p->mode;
}

const char *probe_sched_fallback(const struct probe_sched *p)
{
	return p->fallback[0] ? p->fallback : NULL;
}

void probe_sched_counters(const struct probe_sched *p, struct probe_sched_counters *out)
{
	struct sched_counters c;

	read_counters(p, &c);
	memset(out, 0, sizeof(*out));
	out->switches = c.switches;
	out->wakeups = c.wakeups;
	out->blocks = c.blocks;
	out->exits = c.exits;
	out->ringbuf_lost = c.ringbuf_lost;
	out->threads_full = c.threads_full;
	out->stacks_full = c.stacks_full;
	out->targets_full = c.targets_full;
	out->no_stack = c.no_stack;
	out->reused = c.reused;
	out->ustacks = c.ustacks;
	out->ustack_lost = c.ustack_lost;
	out->parked = c.parked;
	out->park_full = c.park_full;
	out->fetched = p->fetched;
	out->seeded_kernel = p->skel->bss->seeded;
	out->seeded_proc = p->seeded_proc;
	out->wakers = c.wakers;
	out->waker_lost = c.waker_lost;
	out->block_dropped = c.block_dropped;
	out->frames_dropped = c.frames_dropped;
	out->ustack_miss = p->ustack_miss;
	out->threads = p->nr_threads;
	out->max_threads = p->max_threads;
	out->clipped_ns = sched_acct_clipped_ns(p->acct);
}
