// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sideband: see sideband.h. Record layouts (include/uapi/linux/perf_event.h), each
 * followed, with attr.sample_id_all, by { u32 pid, tid; u64 time } for our sample_type:
 *   MMAP2  u32 pid, tid; u64 addr, len, pgoff; u32 maj, min; u64 ino, ino_generation;
 *          u32 prot, flags; char filename[] (NUL-padded to 8 bytes)
 *          With PERF_RECORD_MISC_MMAP_BUILD_ID in misc (attr.build_id, kernel >= 5.12) the
 *          maj..ino_generation union is u8 build_id_size, u8, u16, u8 build_id[20]: the kernel
 *          puts the file's GNU build-id there when it can read it (the note in a page in
 *          memory), else maj..ino_generation as without attr.build_id
 *   COMM   u32 pid, tid; char comm[]           (misc & PERF_RECORD_MISC_COMM_EXEC: an exec)
 *   FORK   u32 pid, ppid, tid, ptid; u64 time  (pid != ppid: a new process)
 *   EXIT   the same
 *   LOST   u64 id, lost
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <linux/perf_event.h>

#include "model/model.h"
#include "model/syms.h"
#include "model/unwind.h"
#include "model/xalloc.h"
#include "probes/probe.h"
#include "probes/sideband.h"

/* 1 MiB per CPU: ~5 s of a churning host's records (bench/churn's pipelines, ~200 KB/s a CPU),
 * what the sampler's own ring holds too (probes/cpu.c: 4 MiB per CPU). A drain that comes late
 * on a loaded host (flametop starved for seconds) loses nothing before the samples do; 256 KiB
 * lost ~930 records to a 2 s stall and ~4,900 to a 3 s one. Halved while the kernel refuses
 * (locked-memory limits without CAP_IPC_LOCK), down to 64 KiB. */
#define RING_PAGES 256
#define RING_PAGES_MIN 16
#define TRAILER 16    /* the sample_id: pid, tid, time */

struct ring {
	int fd;
	struct perf_event_mmap_page *meta;
	uint8_t *data;
	size_t size;
};

/* A queued record: the event, and its path copied into the queue's string space. */
struct queued {
	struct sideband_event ev;
	size_t path_off; /* into strs; SIZE_MAX: none */
	uint64_t seq;    /* read order, for equal times */
};

struct probe_sideband {
	struct sideband_ctx ctx;
	struct ring *rings;
	int nr_rings;
	uint8_t *buf; /* a record copied out when it wraps around the ring's end */
	struct queued *q;
	size_t nr_q, cap_q, next_q;
	char *strs;
	size_t strs_len, strs_cap;
	uint64_t seq;
	uint64_t read_ns; /* when the rings were last read: every record up to it is queued */
	bool build_ids;   /* the records name files by build-id (attr.build_id taken) */
	int opened;       /* rings open */
	struct probe_sideband_counters cnt;
};

bool probe_sideband_parse(uint32_t type, uint16_t misc, const uint8_t *body, size_t len,
			  bool trailer, bool build_ids, struct sideband_event *ev)
{
	uint32_t u32[4];
	uint64_t u64[3];
	size_t end = len;

	memset(ev, 0, sizeof(*ev));
	if (trailer) {
		if (len < TRAILER)
			return false;
		memcpy(&ev->time, body + len - 8, 8);
		end = len - TRAILER;
	}
	ev->type = type;
	switch (type) {
	case PERF_RECORD_MMAP2: {
		const size_t fixed = 8 + 3 * 8 + 8 + 2 * 8 + 8;
		const char *name;
		size_t n;

		if (end < fixed + 1)
			return false;
		memcpy(u32, body, 8);
		memcpy(u64, body + 8, 24);
		ev->pid = u32[0];
		ev->tid = u32[1];
		ev->map.start = u64[0];
		ev->map.len = u64[1];
		ev->map.pgoff = u64[2];
		memcpy(u32, body + 8 + 24, 8);
		ev->map.dev = makedev(u32[0], u32[1]);
		memcpy(&ev->map.ino, body + 8 + 24 + 8, 8);
		memcpy(&ev->map.generation, body + 8 + 24 + 16, 8);
		memcpy(&ev->map.prot, body + 8 + 24 + 8 + 16, 4);
		name = (const char *)body + fixed;
		n = strnlen(name, end - fixed);
		if (n == end - fixed)
			return false; /* not terminated */
		ev->map.path = name;
		if (build_ids && (misc & PERF_RECORD_MISC_MMAP_BUILD_ID)) {
			/* the union holds a build-id */
			uint8_t size = body[8 + 24];

			ev->map.ino = ev->map.dev = ev->map.generation = 0;
			if (size <= SYMS_BUILD_ID_MAX) {
				ev->map.build_id_size = size;
				memcpy(ev->map.build_id, body + 8 + 24 + 4, size);
			}
		}
		return ev->map.prot & PROT_EXEC;
	}
	case PERF_RECORD_COMM:
		if (end < 8 || !(misc & PERF_RECORD_MISC_COMM_EXEC))
			return false;
		memcpy(u32, body, 8);
		ev->pid = u32[0];
		ev->tid = u32[1];
		return true;
	case PERF_RECORD_FORK:
	case PERF_RECORD_EXIT:
		if (end < 16)
			return false;
		memcpy(u32, body, 16);
		ev->pid = u32[0];
		ev->ppid = u32[1];
		ev->tid = u32[2];
		if (!trailer && end >= 24)
			memcpy(&ev->time, body + 16, 8);
		/* a new process, or the end of one (its main thread) */
		return type == PERF_RECORD_FORK ? ev->pid != ev->ppid : ev->pid == ev->tid;
	case PERF_RECORD_LOST:
		if (end < 16)
			return false;
		memcpy(&ev->lost, body + 8, 8);
		return ev->lost != 0;
	default:
		return false;
	}
}

void probe_sideband_event(const struct sideband_ctx *c, const struct sideband_event *ev)
{
	switch (ev->type) {
	case PERF_RECORD_MMAP2:
		if (c->whole || syms_knows_pid(c->syms, ev->pid))
			syms_add_mapping(c->syms, ev->pid, &ev->map);
		break;
	case PERF_RECORD_COMM:
		if (c->whole || syms_knows_pid(c->syms, ev->pid))
			model_exec(c->m, ev->pid);
		break;
	case PERF_RECORD_FORK:
		syms_fork(c->syms, ev->ppid, ev->pid);
		break;
	case PERF_RECORD_EXIT:
		if (c->unwind)
			unwind_forget_pid(c->unwind, ev->pid);
		model_process_gone(c->m, ev->pid);
		break;
	case PERF_RECORD_LOST:
		model_add_lost(c->m, MODEL_LOST_SIDEBAND, ev->lost);
		syms_records_lost(c->syms); /* a fed process may lack a mapping now */
		break;
	}
}

static int open_ring(struct probe_sideband *p, int cpu, struct ring *r)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.sample_type = PERF_SAMPLE_TID | PERF_SAMPLE_TIME,
		.sample_id_all = 1,
		.mmap = 1,
		.mmap2 = 1,
		.comm = 1,
		.comm_exec = 1,
		.task = 1,
		.use_clockid = 1,
		.clockid = CLOCK_MONOTONIC,
		.watermark = 1, /* drained on flametop's timer: no wakeups */
		.build_id = p->build_ids,
	};
	size_t page = (size_t)sysconf(_SC_PAGESIZE), pages = RING_PAGES;
	void *base;
	int fd;

	attr.wakeup_watermark = (__u32)(RING_PAGES * page);
	fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	if (fd < 0 && errno == EINVAL && attr.build_id && !p->opened) {
		/* before 5.12: files named by device and inode only (decided on the first ring:
		 * the records of all must read alike) */
		p->build_ids = false;
		attr.build_id = 0;
		fd = (int)syscall(__NR_perf_event_open, &attr, -1, cpu, -1, PERF_FLAG_FD_CLOEXEC);
	}
	if (fd < 0)
		return -errno;
	for (;;) {
		base = mmap(NULL, (pages + 1) * page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (base != MAP_FAILED)
			break;
		if ((errno != EPERM && errno != ENOMEM) || pages <= RING_PAGES_MIN) {
			int e = -errno;

			close(fd);
			return e;
		}
		pages /= 2;
	}
	r->fd = fd;
	r->meta = base;
	r->data = (uint8_t *)base + page;
	r->size = pages * page;
	p->opened++;
	return 0;
}

int probe_sideband_new(struct syms *syms, struct unwind *unwind, bool whole,
		       struct probe_sideband **out, char *err, size_t errlen)
{
	struct probe_sideband *p;
	int nr = probe_possible_cpus(err, errlen), opened = 0, e = 0;
	bool *online;

	*out = NULL;
	if (nr < 0)
		return nr;
	p = xcalloc(1, sizeof(*p));
	p->ctx = (struct sideband_ctx){ .syms = syms, .unwind = unwind, .whole = whole };
	p->build_ids = true;
	p->nr_rings = nr;
	p->rings = xcalloc((size_t)nr, sizeof(*p->rings));
	p->buf = xmalloc(1 << 16);
	online = xcalloc((size_t)nr, sizeof(*online));
	probe_online_cpus(online, nr);
	for (int cpu = 0; cpu < nr; cpu++) {
		p->rings[cpu].fd = -1;
		if (!online[cpu])
			continue;
		e = open_ring(p, cpu, &p->rings[cpu]);
		if (e == -ENODEV) {
			e = 0;
			continue;
		}
		if (e)
			break;
		opened++;
	}
	free(online);
	if (e || !opened) {
		e = e ? e : -ENODEV;
		probe_err(err, errlen, "cannot open side-band perf events (process mappings): %s",
			  strerror(-e));
		probe_sideband_free(p);
		return e;
	}
	*out = p;
	return 0;
}

void probe_sideband_free(struct probe_sideband *p)
{
	size_t page = (size_t)sysconf(_SC_PAGESIZE);

	if (!p)
		return;
	for (int i = 0; i < p->nr_rings; i++) {
		if (p->rings[i].meta)
			munmap(p->rings[i].meta, p->rings[i].size + page);
		if (p->rings[i].fd >= 0)
			close(p->rings[i].fd);
	}
	free(p->rings);
	free(p->buf);
	free(p->q);
	free(p->strs);
	free(p);
}

static void enqueue(struct probe_sideband *p, const struct sideband_event *ev)
{
	struct queued *q;

	p->q = xgrow(p->q, &p->cap_q, p->nr_q + 1, sizeof(*p->q));
	q = &p->q[p->nr_q++];
	q->ev = *ev;
	q->seq = p->seq++;
	q->path_off = SIZE_MAX;
	if (ev->type == PERF_RECORD_MMAP2) {
		size_t n = strlen(ev->map.path) + 1;

		p->strs = xgrow(p->strs, &p->strs_cap, p->strs_len + n, 1);
		memcpy(p->strs + p->strs_len, ev->map.path, n);
		q->path_off = p->strs_len;
		p->strs_len += n;
	}
}

static void read_ring(struct probe_sideband *p, struct ring *rg)
{
	uint64_t head = __atomic_load_n(&rg->meta->data_head, __ATOMIC_ACQUIRE);
	uint64_t tail = rg->meta->data_tail;
	size_t mask = rg->size - 1;

	while (tail < head) {
		struct perf_event_header h;
		struct sideband_event ev;
		size_t off = tail & mask, size;
		const uint8_t *rec;

		memcpy(&h, rg->data + off, sizeof(h));
		size = h.size;
		if (size < sizeof(h) || size > head - tail || size > (1 << 16)) {
			tail = head; /* garbage: give up on what is there */
			break;
		}
		if (off + size <= rg->size) {
			rec = rg->data + off;
		} else {
			size_t first = rg->size - off;

			memcpy(p->buf, rg->data + off, first);
			memcpy(p->buf + first, rg->data, size - first);
			rec = p->buf;
		}
		if (probe_sideband_parse(h.type, h.misc, rec + sizeof(h), size - sizeof(h), true,
					 p->build_ids, &ev))
			enqueue(p, &ev);
		tail += size;
	}
	__atomic_store_n(&rg->meta->data_tail, tail, __ATOMIC_RELEASE);
}

static int by_time(const void *a, const void *b)
{
	const struct queued *x = a, *y = b;

	if (x->ev.time != y->ev.time)
		return x->ev.time < y->ev.time ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

void probe_sideband_read(struct probe_sideband *p)
{
	size_t left = p->nr_q - p->next_q;

	/* records are written when the event happens: everything up to now is in the rings */
	p->read_ns = probe_now_ns();

	/* keep what was not applied yet, then add what the rings hold */
	memmove(p->q, p->q + p->next_q, left * sizeof(*p->q));
	p->nr_q = left;
	p->next_q = 0;
	/* the paths of what is left go into a new space: the space stays what is queued. Not
	 * moved within the old one: the queue is in time order, the paths in read order, so a
	 * path moved to the front could overwrite one not moved yet (names cut to "o.6") */
	if (left && p->strs_len) {
		char *old = p->strs;
		size_t cap = 0;

		p->strs = NULL;
		p->strs_len = 0;
		for (size_t i = 0; i < left; i++) {
			struct queued *q = &p->q[i];
			size_t n;

			if (q->path_off == SIZE_MAX)
				continue;
			n = strlen(old + q->path_off) + 1;
			p->strs = xgrow(p->strs, &cap, p->strs_len + n, 1);
			memcpy(p->strs + p->strs_len, old + q->path_off, n);
			q->path_off = p->strs_len;
			p->strs_len += n;
		}
		free(old);
		p->strs_cap = cap;
	} else {
		p->strs_len = 0;
	}
	for (int i = 0; i < p->nr_rings; i++)
		if (p->rings[i].meta)
			read_ring(p, &p->rings[i]);
	qsort(p->q, p->nr_q, sizeof(*p->q), by_time);
}

void probe_sideband_apply(struct probe_sideband *p, struct model *m, uint64_t t)
{
	/* A sample newer than the last read: records between the two may be in the rings by
	 * now (an exec, a fork), and must come first. */
	if (t != UINT64_MAX && t > p->read_ns)
		probe_sideband_read(p);
	p->ctx.m = m;
	while (p->next_q < p->nr_q && p->q[p->next_q].ev.time <= t) {
		struct queued *q = &p->q[p->next_q++];

		if (q->path_off != SIZE_MAX)
			q->ev.map.path = p->strs + q->path_off;
		probe_sideband_event(&p->ctx, &q->ev);
		switch (q->ev.type) {
		case PERF_RECORD_MMAP2:
			p->cnt.mmaps++;
			p->cnt.mmap_build_ids += q->ev.map.build_id_size != 0;
			break;
		case PERF_RECORD_COMM:
			p->cnt.execs++;
			break;
		case PERF_RECORD_FORK:
			p->cnt.forks++;
			break;
		case PERF_RECORD_EXIT:
			p->cnt.exits++;
			break;
		case PERF_RECORD_LOST:
			p->cnt.lost += q->ev.lost;
			break;
		}
	}
}

void probe_sideband_counters(const struct probe_sideband *p, struct probe_sideband_counters *out)
{
	*out = p->cnt;
}

bool probe_sideband_build_ids(const struct probe_sideband *p)
{
	return p->build_ids;
}

int probe_sideband_try_build_ids(void)
{
	struct perf_event_attr attr = {
		.type = PERF_TYPE_SOFTWARE,
		.size = sizeof(attr),
		.config = PERF_COUNT_SW_DUMMY,
		.disabled = 1,
		.exclude_kernel = 1,
		.mmap2 = 1,
		.build_id = 1,
	};
	int fd = (int)syscall(__NR_perf_event_open, &attr, 0, -1, -1, PERF_FLAG_FD_CLOEXEC);

	if (fd < 0)
		return -errno;
	close(fd);
	return 0;
}
