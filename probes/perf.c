// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/perf: perf events read from their own mmap rings, no BPF. See perf.h for the shape.
 *
 * A sample record, with the sample_type we ask for, is (include/uapi/linux/perf_event.h):
 *   ip, pid/tid, time, callchain (nr, ips with PERF_CONTEXT_* markers), regs_user (abi, regs),
 *   stack_user (size, bytes, dyn_size)
 * Side-band records keep the rest of flametop right: MMAP2 of executable memory (the file named
 * by its build-id where the kernel can, >= 5.12; else by device and inode), exec (COMM
 * with PERF_RECORD_MISC_COMM_EXEC) and FORK give the symbolizer a process's mappings as they
 * change (probes/sideband.h: so a process gone before /proc is read still resolves), COMM keeps
 * thread names, EXIT ends threads, LOST becomes model_add_lost().
 */
#include <dirent.h>
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

#include "model/model.h"
#include "model/syms.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "probes/perf.h"
#include "probes/probe.h"
#include "probes/sideband.h"

#define DEFAULT_FREQ_HZ 99
#define MAX_CHAIN 127        /* kernel.perf_event_max_stack's default */
#define RING_PAGES_MAX 512   /* data pages per CPU ring (2 MiB): other probes load after
			      * this one starts, before the first drain */
#define COMM_LEN 16
#define KERNEL_START 0xffff800000000000ull

struct ring {
	int fd; /* the event that owns the mapping; -1: none yet */
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	size_t size; /* data bytes, a power of two */
};

/* Where a drain stands in a ring. */
struct cursor {
	uint64_t head, tail;
};

struct tcomm {
	uint32_t tid, pid; /* tid 0: empty slot */
	bool valid;
	char comm[COMM_LEN];
};

struct probe_perf {
	struct perf_event_attr attr;
	int nr_cpus; /* possible CPUs: indexes of rings[] */
	bool *online;
	struct ring *rings;
	struct cursor *cur; /* per ring, during a drain */
	int *fds; /* every event, ring owners included */
	size_t nr_fds, cap_fds;
	int epfd;
	size_t ring_pages;
	bool targets; /* per-task events (otherwise one per CPU for the whole system) */
	bool kernel;  /* kernel frames allowed */
	bool mono;    /* sample times are CLOCK_MONOTONIC */
	struct unwind *unwind;
	struct syms *syms;
	struct tcomm *comms;
	size_t comm_cap, nr_comm;
	uint8_t *buf; /* a record copied out when it wraps around the ring's end */
	struct probe_perf_counters cnt;
	int next_ring; /* where the next drain starts */
	struct probe_budget budget;
	/* valid during drain() only */
	struct model *m;
	int consumed;
};

static void paranoid(char *buf, size_t len)
{
	if (probe_read_line("/proc/sys/kernel/perf_event_paranoid", buf, len))
		snprintf(buf, len, "unknown");
}

/* ---- thread names ---- */

static struct tcomm *comm_slot(struct probe_perf *p, uint32_t tid)
{
	size_t mask = p->comm_cap - 1, i;

	for (i = (tid * 2654435761u) & mask; p->comms[i].tid; i = (i + 1) & mask)
		if (p->comms[i].tid == tid)
			return &p->comms[i];
	return &p->comms[i];
}

static struct tcomm *comm_get(struct probe_perf *p, uint32_t tid)
{
	struct tcomm *c;

	if (2 * (p->nr_comm + 1) > p->comm_cap) {
		struct tcomm *old = p->comms;
		size_t old_cap = p->comm_cap;

		p->comm_cap = old_cap ? 2 * old_cap : 1024;
		p->comms = xcalloc(p->comm_cap, sizeof(*p->comms));
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].tid)
				*comm_slot(p, old[i].tid) = old[i];
		free(old);
	}
	c = comm_slot(p, tid);
	if (!c->tid) {
		c->tid = tid;
		p->nr_comm++;
	}
	return c;
}

static void comm_set(struct probe_perf *p, uint32_t pid, uint32_t tid, const char *comm,
		     size_t len)
{
	struct tcomm *c = comm_get(p, tid);

	c->pid = pid;
	c->valid = true;
	len = strnlen(comm, len < COMM_LEN - 1 ? len : COMM_LEN - 1);
	memcpy(c->comm, comm, len);
	c->comm[len] = '\0';
}

/* The name of a thread: from COMM records, else /proc on first sight. */
static const char *comm_of(struct probe_perf *p, uint32_t pid, uint32_t tid)
{
	struct tcomm *c = comm_get(p, tid);
	char path[64], buf[COMM_LEN + 8];

	if (c->valid && c->pid == pid)
		return c->comm;
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/task/%" PRIu32 "/comm", pid, tid);
	if (probe_read_line(path, buf, sizeof(buf)))
		return NULL; /* gone: keep asking, a COMM record may still come */
	comm_set(p, pid, tid, buf, strlen(buf));
	return c->comm;
}

/* ---- events and rings ---- */

static int perf_open(struct perf_event_attr *attr, int pid, int cpu)
{
	int fd = (int)syscall(__NR_perf_event_open, attr, pid, cpu, -1, PERF_FLAG_FD_CLOEXEC);

	return fd < 0 ? -errno : fd;
}

static int map_ring(struct probe_perf *p, struct ring *r, int fd)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);
	size_t pages = p->ring_pages;
	void *base;

	for (;;) {
		base = mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base != MAP_FAILED)
			break;
		/* over perf_event_mlock_kb and RLIMIT_MEMLOCK: a smaller ring */
		if ((errno != EPERM && errno != ENOMEM) || pages <= 1)
			return -errno;
		pages /= 2;
	}
	r->fd = fd;
	r->meta = base;
	r->data = (uint8_t *)base + page;
	r->size = pages * page;
	if (epoll_ctl(p->epfd, EPOLL_CTL_ADD, fd,
		      &(struct epoll_event){ .events = EPOLLIN, .data.fd = fd }))
		return -errno;
	return 0;
}

static void keep_fd(struct probe_perf *p, int fd)
{
	p->fds = xgrow(p->fds, &p->cap_fds, p->nr_fds + 1, sizeof(*p->fds));
	p->fds[p->nr_fds++] = fd;
	p->cnt.events = p->nr_fds;
}

/* Opens the event of (pid, cpu): the first of a CPU owns its ring, the others write into it. */
static int open_one(struct probe_perf *p, int pid, int cpu)
{
	struct ring *r = &p->rings[cpu];
	int fd = perf_open(&p->attr, pid, cpu), e;

	if (fd < 0 && (fd == -EACCES || fd == -EPERM) && !p->attr.exclude_kernel) {
		/* perf_event_paranoid >= 2 without privileges: user space only */
		p->attr.exclude_kernel = 1;
		p->attr.exclude_callchain_kernel = 1;
		p->kernel = false;
		fd = perf_open(&p->attr, pid, cpu);
	}
	if (fd < 0 && fd == -EINVAL && p->attr.build_id && !p->nr_fds) {
		/* before 5.12: MMAP2 records name files by device and inode only (decided on the
		 * first event: the records of all must read alike) */
		p->attr.build_id = 0;
		fd = perf_open(&p->attr, pid, cpu);
	}
	if (fd < 0 && fd == -EINVAL && p->attr.use_clockid) {
		/* kernels before 4.1: sample times are then taken when drained */
		p->attr.use_clockid = 0;
		p->mono = false;
		fd = perf_open(&p->attr, pid, cpu);
	}
	if (fd < 0)
		return fd;
	if (r->fd < 0)
		e = map_ring(p, r, fd);
	else
		e = ioctl(fd, PERF_EVENT_IOC_SET_OUTPUT, r->fd) ? -errno : 0;
	if (e) {
		close(fd);
		return e;
	}
	keep_fd(p, fd);
	return fd;
}

static void open_err(int e, const char *what, char *err, size_t errlen)
{
	char val[32];

	paranoid(val, sizeof(val));
	if (e == -EACCES || e == -EPERM)
		probe_err(err, errlen,
			"cannot open perf events for %s: %s (kernel.perf_event_paranoid is %s: "
			"your own processes need it <= 2, the whole system needs <= 0, or run as "
			"root / with CAP_PERFMON)",
			what, strerror(-e), val);
	else if (e == -EMFILE || e == -ENFILE)
		probe_err(err, errlen,
			"cannot open perf events for %s: %s (one per thread and CPU: raise the "
			"open-file limit, ulimit -n)",
			what, strerror(-e));
	else if (e == -ENOENT || e == -EOPNOTSUPP)
		probe_err(err, errlen,
			"cannot open perf events for %s: %s (this kernel has no cpu-clock software "
			"event)",
			what, strerror(-e));
	else
		probe_err(err, errlen, "cannot open perf events for %s: %s", what, strerror(-e));
}

/* Opens the events of every thread of process pid, enabled. */
static int open_process(struct probe_perf *p, uint32_t pid, char *err, size_t errlen)
{
	char path[64], what[64];
	struct dirent *de;
	size_t first = p->nr_fds;
	int opened = 0, e = 0;
	DIR *d;

	snprintf(what, sizeof(what), "pid %" PRIu32, pid);
	snprintf(path, sizeof(path), "/proc/%" PRIu32 "/task", pid);
	d = opendir(path);
	if (!d) {
		e = errno == ENOENT ? -ESRCH : -errno;
		probe_err(err, errlen, "cannot list the threads of pid %" PRIu32 ": %s", pid,
			strerror(-e));
		return e;
	}
	/* Threads created later by these are followed through inherit; a thread created by a
	 * thread not yet opened while we scan can be missed, as with perf record -p. */
	while ((de = readdir(d))) {
		char *end;
		unsigned long tid;

		errno = 0;
		tid = strtoul(de->d_name, &end, 10);
		if (de->d_name[0] < '0' || de->d_name[0] > '9' || *end || errno || tid > INT_MAX)
			continue;
		for (int cpu = 0; cpu < p->nr_cpus; cpu++) {
			int fd;

			if (!p->online[cpu])
				continue;
			fd = open_one(p, (int)tid, cpu);
			if (fd == -ESRCH)
				break; /* the thread exited meanwhile */
			if (fd == -ENODEV)
				continue; /* the CPU went offline */
			if (fd < 0) {
				e = fd;
				goto out;
			}
			opened++;
		}
	}
out:
	closedir(d);
	if (e) {
		open_err(e, what, err, errlen);
		return e;
	}
	if (!opened) {
		probe_err(err, errlen, "no such process: %" PRIu32, pid);
		return -ESRCH;
	}
	for (size_t i = first; i < p->nr_fds; i++)
		ioctl(p->fds[i], PERF_EVENT_IOC_ENABLE, 0);
	return 0;
}

static int open_system(struct probe_perf *p, char *err, size_t errlen)
{
	int e = 0, opened = 0;

	for (int cpu = 0; cpu < p->nr_cpus; cpu++) {
		int fd;

		if (!p->online[cpu])
			continue;
		fd = open_one(p, -1, cpu);
		if (fd == -ENODEV)
			continue;
		if (fd < 0) {
			e = fd;
			break;
		}
		opened++;
	}
	if (e || !opened) {
		e = e ? e : -ENODEV;
		if (e == -EACCES || e == -EPERM) {
			char val[32];

			paranoid(val, sizeof(val));
			probe_err(err, errlen,
				"cannot sample the whole system with perf events: %s "
				"(kernel.perf_event_paranoid is %s; needs root or CAP_PERFMON, or "
				"profile your own processes: -p PID or -- CMD)",
				strerror(-e), val);
		} else {
			open_err(e, "the whole system", err, errlen);
		}
		return e;
	}
	for (size_t i = 0; i < p->nr_fds; i++)
		ioctl(p->fds[i], PERF_EVENT_IOC_ENABLE, 0);
	return 0;
}

/*
 * Data pages per ring: an unprivileged user may lock perf_event_mlock_kb, and beyond that what
 * RLIMIT_MEMLOCK allows, shared by the CPUs' rings. map_ring() halves a ring the kernel refuses.
 */
static size_t ring_pages(int nr_online)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE), budget, pages = RING_PAGES_MAX;
	unsigned long long kb;
	char buf[32], *end;
	struct rlimit rl;

	if (geteuid() == 0)
		return pages;
	if (probe_read_line("/proc/sys/kernel/perf_event_mlock_kb", buf, sizeof(buf)))
		return 8;
	errno = 0;
	kb = strtoull(buf, &end, 10);
	if (errno || end == buf)
		return 8;
	if (!getrlimit(RLIMIT_MEMLOCK, &rl) && rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur / 1024 < (1ull << 30))
		kb += rl.rlim_cur / 1024;
	budget = (size_t)kb * 1024 / (size_t)(nr_online > 0 ? nr_online : 1);
	while (pages > 1 && (pages + 1) * page > budget)
		pages /= 2;
	return pages;
}

int probe_perf_new(const struct probe_perf_opts *opts, struct probe_perf **out, char *err,
		   size_t errlen)
{
	unsigned freq = opts && opts->freq_hz ? opts->freq_hz : DEFAULT_FREQ_HZ;
	uint32_t stack = opts ? opts->stack_size : 0;
	size_t nr_pids = opts && opts->pids ? opts->nr_pids : 0;
	struct probe_perf *p;
	struct rlimit rl;
	long nr;
	int e, nr_online = 0;

	*out = NULL;
	probe_err(err, errlen, "unknown error");
	if (stack > PROBE_PERF_STACK_MAX)
		stack = PROBE_PERF_STACK_MAX;
	stack = (stack + 7) & ~7u;
	/* one fd per (thread, CPU): allow as many as the hard limit does */
	if (!getrlimit(RLIMIT_NOFILE, &rl) && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}

	p = xcalloc(1, sizeof(*p));
	p->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (p->epfd < 0) {
		e = -errno;
		probe_err(err, errlen, "cannot create an epoll set: %s", strerror(-e));
		goto err;
	}
	nr = sysconf(_SC_NPROCESSORS_CONF);
	p->nr_cpus = nr > 0 && nr < 65536 ? (int)nr : 1;
	p->online = xcalloc((size_t)p->nr_cpus, sizeof(*p->online));
	probe_online_cpus(p->online, p->nr_cpus);
	p->rings = xcalloc((size_t)p->nr_cpus, sizeof(*p->rings));
	p->cur = xcalloc((size_t)p->nr_cpus, sizeof(*p->cur));
	for (int i = 0; i < p->nr_cpus; i++) {
		p->rings[i].fd = -1;
		nr_online += p->online[i];
	}
	p->ring_pages = ring_pages(nr_online);
	p->buf = xmalloc(1 << 16);
	p->targets = nr_pids || (opts && opts->filter);
	p->kernel = true;
	p->mono = true;
	p->unwind = opts ? opts->unwind : NULL;
	p->syms = opts ? opts->syms : NULL;

	p->attr = (struct perf_event_attr){
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(p->attr),
		.config = PERF_COUNT_SW_CPU_CLOCK,
		.sample_freq = freq,
		.freq = 1,
		.sample_type = PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME |
			       PERF_SAMPLE_CALLCHAIN,
		.disabled = 1,
		.inherit = p->targets,
		.mmap = 1,
		.mmap2 = 1,
		.build_id = 1, /* a binary syms knows by it is not opened again (sideband.h) */
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.sample_id_all = 1, /* side-band records carry their time: the rings are merged */
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
		.watermark = 1,
		.wakeup_watermark = (uint32_t)(p->ring_pages * (size_t)sysconf(_SC_PAGESIZE) / 2),
		.sample_max_stack = MAX_CHAIN,
	};
	if (stack) {
		p->attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		p->attr.sample_regs_user = UNWIND_REGS_MASK;
		p->attr.sample_stack_user = stack;
	} else if (p->unwind) {
		/* frame pointers only: Go's frameless leaves still need SP and the words at it */
		p->attr.sample_type |= PERF_SAMPLE_REGS_USER | PERF_SAMPLE_STACK_USER;
		p->attr.sample_regs_user = 1ull << UNWIND_REG_SP | 1ull << UNWIND_REG_IP;
		p->attr.sample_stack_user = GOSTACK_WORDS_SIZE;
	}

	if (!p->targets)
		e = open_system(p, err, errlen);
	else
		e = 0;
	for (size_t i = 0; !e && i < nr_pids; i++)
		e = open_process(p, opts->pids[i], err, errlen);
	if (e)
		goto err;
	if (err && errlen)
		err[0] = '\0';
	*out = p;
	return 0;
err:
	probe_perf_free(p);
	return e < 0 ? e : -EINVAL;
}

void probe_perf_free(struct probe_perf *p)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!p)
		return;
	for (int i = 0; p->rings && i < p->nr_cpus; i++)
		if (p->rings[i].meta)
			munmap(p->rings[i].meta, p->rings[i].size + page);
	for (size_t i = 0; i < p->nr_fds; i++)
		close(p->fds[i]);
	if (p->epfd >= 0)
		close(p->epfd);
	free(p->fds);
	free(p->rings);
	free(p->cur);
	free(p->online);
	free(p->comms);
	free(p->buf);
	free(p);
}

int probe_perf_fd(const struct probe_perf *p)
{
	return p->epfd;
}

int probe_perf_add_pid(struct probe_perf *p, uint32_t pid)
{
	if (!p->targets || !pid)
		return -EINVAL;
	return open_process(p, pid, NULL, 0);
}

void probe_perf_counters(const struct probe_perf *p, struct probe_perf_counters *out)
{
	*out = p->cnt;
}

bool probe_perf_kernel(const struct probe_perf *p)
{
	return p->kernel;
}

/* ---- records ---- */

struct rec {
	const uint8_t *b;
	size_t len, pos;
};

static bool take(struct rec *r, void *out, size_t n)
{
	if (r->len - r->pos < n)
		return false;
	memcpy(out, r->b + r->pos, n);
	r->pos += n;
	return true;
}

static const void *skip(struct rec *r, size_t n)
{
	const void *at = r->b + r->pos;

	if (r->len - r->pos < n)
		return NULL;
	r->pos += n;
	return at;
}

/*
 * The sampled user registers, in the order of the bits of mask (perf's), into our order
 * (model/unwind.h: ax..ip are bits 0-8, r8..r15 bits 16-23); registers not sampled are 0.
 */
static bool take_regs(struct rec *r, uint64_t mask, uint64_t *regs)
{
	memset(regs, 0, UNWIND_NR_REGS * sizeof(*regs));
	for (unsigned bit = 0; bit < 24; bit++) {
		if (!(mask & 1ull << bit))
			continue;
		if (bit > UNWIND_REG_IP && bit < 16)
			return false; /* not a register we ask for */
		if (!take(r, &regs[bit < 16 ? bit : bit - 16 + UNWIND_REG_R8], 8))
			return false;
	}
	return true;
}

static void on_sample(struct probe_perf *p, struct rec *r)
{
	uint64_t ip, time, nr, abi = 0, size = 0, dyn = 0, ctx = 0, chain[MAX_CHAIN * 2 + 8];
	uint64_t kernel[MAX_CHAIN], user_fp[MAX_CHAIN], ips[UNWIND_MAX_FRAMES];
	uint64_t regs[UNWIND_NR_REGS];
	uint32_t pt[2], nk = 0, nu = 0, n;
	const uint8_t *stack = NULL;
	struct model_sample s = { 0 };
	bool truncated = false;

	if (!take(r, &ip, 8) || !take(r, pt, 8) || !take(r, &time, 8) || !take(r, &nr, 8) ||
	    nr > sizeof(chain) / 8 || !take(r, chain, nr * 8))
		goto bad;
	if (p->attr.sample_type & PERF_SAMPLE_REGS_USER) {
		if (!take(r, &abi, 8))
			goto bad;
		if (abi != PERF_SAMPLE_REGS_ABI_NONE && !take_regs(r, p->attr.sample_regs_user, regs))
			goto bad;
	}
	if (p->attr.sample_type & PERF_SAMPLE_STACK_USER) {
		if (!take(r, &size, 8))
			goto bad;
		if (size) {
			if (!(stack = skip(r, size)) || !take(r, &dyn, 8) || dyn > size)
				goto bad;
		}
	}
	if (pt[1] == 0)
		return; /* the idle task */
	p->cnt.samples++;
	p->cnt.stack_bytes += dyn;

	/* the call chain: kernel frames, then the user frame-pointer walk */
	for (uint64_t i = 0; i < nr; i++) {
		if (chain[i] >= (uint64_t)PERF_CONTEXT_MAX) {
			ctx = chain[i];
			continue;
		}
		if (ctx == PERF_CONTEXT_KERNEL && nk < MAX_CHAIN)
			kernel[nk++] = chain[i];
		else if (ctx == PERF_CONTEXT_USER && nu < MAX_CHAIN)
			user_fp[nu++] = chain[i];
	}

	s.time_ns = p->mono ? time : probe_now_ns();
	s.pid = pt[0];
	s.tid = pt[1];
	s.comm = comm_of(p, s.pid, s.tid);
	s.pcomm = s.pid != s.tid ? comm_of(p, s.pid, s.pid) : s.comm;
	s.weight = 1;
	if ((p->attr.sample_type & PERF_SAMPLE_REGS_USER) && abi == PERF_SAMPLE_REGS_ABI_NONE &&
	    !nu) {
		s.flags |= MODEL_SAMPLE_KERNEL_THREAD;
	} else {
		struct unwind_sample in = {
			.pid = s.pid,
			.regs = abi != PERF_SAMPLE_REGS_ABI_NONE ? regs : NULL,
			.stack = dyn ? stack : NULL,
			.stack_size = dyn,
			.fp = user_fp,
			.nr_fp = nu,
			.fp_truncated = nu + nk >= MAX_CHAIN,
		};

		if (p->unwind && s.time_ns >= model_start_ns(p->m)) {
			/* no walk for a sample the model drops (probes/cpu.c says why) */
			n = unwind_user(p->unwind, &in, ips, UNWIND_MAX_FRAMES, &truncated);
			s.user = ips;
		} else {
			n = nu;
			s.user = user_fp;
			truncated = in.fp_truncated;
		}
		s.nr_user = n;
		if (!n) {
			s.flags |= MODEL_SAMPLE_USER_FAILED;
			p->cnt.no_user++;
		}
		if (truncated)
			s.flags |= MODEL_SAMPLE_TRUNCATED;
	}
	s.kernel = nk ? kernel : NULL;
	s.nr_kernel = nk;
	if (ip >= KERNEL_START && !nk && p->kernel)
		s.flags |= MODEL_SAMPLE_KERNEL_FAILED;
	model_add_sample(p->m, &s);
	p->consumed++;
	return;
bad:
	model_add_lost(p->m, MODEL_LOST_RINGBUF, 1);
}

/* A side-band record of our own rings, applied as probes/sideband applies its own. */
static void sideband(struct probe_perf *p, const struct perf_event_header *h, const uint8_t *body,
		     size_t len)
{
	/* per-task events report only their tasks and what those start: every record counts */
	struct sideband_ctx c = { .m = p->m, .syms = p->syms, .unwind = p->unwind, .whole = true };
	struct sideband_event ev;

	if (p->syms &&
	    probe_sideband_parse(h->type, h->misc, body, len, true, p->attr.build_id, &ev))
		probe_sideband_event(&c, &ev);
}

static void on_record(struct probe_perf *p, const struct perf_event_header *h, const uint8_t *body,
		      size_t len)
{
	struct rec r = { body, len, 0 };
	uint32_t pt[2];
	uint64_t v[2];

	switch (h->type) {
	case PERF_RECORD_SAMPLE:
		on_sample(p, &r);
		break;
	case PERF_RECORD_LOST:
		if (take(&r, v, 16)) {
			p->cnt.lost += v[1];
			model_add_lost(p->m, MODEL_LOST_RINGBUF, v[1]);
			/* samples and side-band share the ring: a full one drops MMAP2, exec and
			 * FORK records too (a busy host), and a process fed by them may lack
			 * mappings from now on */
			if (p->syms)
				syms_records_lost(p->syms);
		}
		break;
	case PERF_RECORD_LOST_SAMPLES:
		if (take(&r, v, 8)) {
			p->cnt.lost += v[0];
			model_add_lost(p->m, MODEL_LOST_RINGBUF, v[0]);
		}
		break;
	case PERF_RECORD_COMM:
		if (take(&r, pt, 8) && r.pos < len) {
			comm_set(p, pt[0], pt[1], (const char *)body + r.pos, len - r.pos);
			sideband(p, h, body, len); /* an exec: a new program */
		}
		break;
	case PERF_RECORD_MMAP2:
	case PERF_RECORD_FORK:
		/* the process's mappings as the kernel reports them: they resolve its samples even
		 * once it is gone (/bin/true), where reading /proc later cannot */
		sideband(p, h, body, len);
		break;
	case PERF_RECORD_EXIT: {
		/* pid, ppid, tid, ptid, time */
		uint32_t ids[4];

		if (take(&r, ids, 16)) {
			struct tcomm *c = comm_get(p, ids[2]);

			c->valid = false;
			model_thread_exit(p->m, ids[2]);
			sideband(p, h, body, len); /* the process ended (its main thread) */
		}
		break;
	}
	default:
		break;
	}
}

/* Copies n bytes at ring position pos (the data area wraps). */
static void ring_read(const struct ring *rg, uint64_t pos, void *out, size_t n)
{
	size_t off = pos & (rg->size - 1), first = n < rg->size - off ? n : rg->size - off;

	memcpy(out, rg->data + off, first);
	if (n > first)
		memcpy((uint8_t *)out + first, rg->data, n - first);
}

/*
 * The time of the next record of a ring: a sample's TIME, a side-band record's sample_id
 * trailer (its last word). UINT64_MAX when the ring has nothing left; 0 for a record too short
 * to say (taken first, judged by on_record()).
 */
static uint64_t next_time(const struct ring *rg, const struct cursor *c)
{
	struct perf_event_header h;
	uint64_t t;

	if (c->tail >= c->head)
		return UINT64_MAX;
	ring_read(rg, c->tail, &h, sizeof(h));
	if (h.size > c->head - c->tail || h.size < sizeof(h) + 24)
		return 0;
	ring_read(rg, h.type == PERF_RECORD_SAMPLE ? c->tail + sizeof(h) + 16
						   : c->tail + h.size - 8,
		  &t, sizeof(t));
	return t;
}

/* Applies the record at the cursor and moves past it; false for garbage (the ring is given up). */
static bool take_record(struct probe_perf *p, const struct ring *rg, struct cursor *c)
{
	struct perf_event_header h;
	size_t off = c->tail & (rg->size - 1), size;
	const uint8_t *rec;

	memcpy(&h, rg->data + off, sizeof(h)); /* headers are 8-aligned: never split */
	size = h.size;
	if (size < sizeof(h) || size > c->head - c->tail)
		return false;
	if (off + size <= rg->size) {
		rec = rg->data + off;
	} else {
		ring_read(rg, c->tail, p->buf, size);
		rec = p->buf;
	}
	on_record(p, &h, rec + sizeof(h), size - sizeof(h));
	c->tail += size;
	return true;
}

int probe_perf_drain(struct probe_perf *p, struct model *m)
{
	struct epoll_event ev[16];

	/* acknowledge wakeups, then read every ring (a quiet one may hold samples too) */
	while (epoll_wait(p->epfd, ev, 16, 0) == 16)
		;
	p->m = m;
	p->consumed = 0;
	probe_budget_start(&p->budget);
	for (int i = 0; i < p->nr_cpus; i++) {
		struct ring *rg = &p->rings[i];

		p->cur[i].head = p->cur[i].tail = 0;
		if (rg->meta) {
			p->cur[i].head = __atomic_load_n(&rg->meta->data_head, __ATOMIC_ACQUIRE);
			p->cur[i].tail = rg->meta->data_tail;
		}
	}
	/*
	 * The rings merged in time order: a process's FORK, COMM and MMAP2 records may sit in
	 * one CPU's ring and its first samples in another's; read ring by ring, those samples
	 * came first and their process was never named or mapped (`?`, [unknown]). Ties start
	 * at another CPU each call, so a budget spent does not always starve the same ring.
	 */
	while (!p->budget.spent) {
		uint64_t best_t = UINT64_MAX, t;
		int best = -1;

		for (int k = 0; k < p->nr_cpus; k++) {
			int i = (p->next_ring + k) % p->nr_cpus;

			if (p->rings[i].meta && (t = next_time(&p->rings[i], &p->cur[i])) < best_t) {
				best_t = t;
				best = i;
			}
		}
		if (best < 0)
			break;
		if (!take_record(p, &p->rings[best], &p->cur[best]))
			p->cur[best].tail = p->cur[best].head; /* garbage: give up on what is there */
		probe_budget_over(&p->budget);
	}
	for (int i = 0; i < p->nr_cpus; i++)
		if (p->rings[i].meta)
			__atomic_store_n(&p->rings[i].meta->data_tail, p->cur[i].tail,
					 __ATOMIC_RELEASE);
	p->next_ring = (p->next_ring + 1) % p->nr_cpus;
	p->m = NULL;
	return p->consumed;
}

bool probe_perf_behind(const struct probe_perf *p)
{
	return p->budget.spent;
}
