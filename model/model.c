// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "counts.h"
#include "goroutines.h"
#include "growth.h"
#include "model.h"
#include "stacks.h"
#include "syms.h"
#include "threads.h"
#include "xalloc.h"

#define COMPACT_EVERY 30        /* ticks between compactions of the thread table */
#define RAW_RESET_MIN 32768     /* raw stacks kept before they are forgotten */
#define AGG_TID 0xC0000000u     /* "[exited]" rows: tid AGG_TID + n, pid 0 */

struct model {
	struct syms *syms; /* borrowed */
	struct threads *threads;
	struct stacks *stacks;

	/* The open tick: (thread, raw stack) → samples, resolved at close. */
	struct counts pending;
	struct counts pending_resolved; /* (thread, stack id) from model_add_resolved() */
	struct counts pending_offcpu;   /* (thread, raw stack) → blocked ns */
	struct counts pending_offcpu_resolved; /* (thread, stack id) → blocked ns */
	struct counts pending_wakes;   /* (thread, raw block+waker stack) → ns */
	struct counts pending_wakes_resolved; /* (thread, stack id) → ns */
	struct counts pending_states;   /* (thread, state) → ns */
	struct tick cur;

	/* Closed ticks: a ring of the newest `cap` ticks, oldest at `head`. */
	struct tick *ring;
	size_t cap, len, head;
	size_t history_bytes; /* of the ticks in the ring */
	size_t max_bytes;     /* ... at most */
	size_t max_stacks_bytes;
	size_t stacks_ticks;  /* ticks kept at most while their stacks pass their budget; 0: none */
	size_t stacks_over;   /* the table's bytes after a renumbering that left it past them */
	/* compaction: "[exited]" rows by process name (name pointer → thread index), when the
	 * last one ran, raws kept at the last reset; leak mode's sites pin the raw stacks */
	struct counts agg;
	uint64_t compacted_seq;
	bool raws_pinned;
	bool held;              /* model_hold() */
	bool keep_ids;          /* model_keep_ids(): a replay's reader maps to our ids */
	uint64_t stacks_epoch, stack_compactions;
	uint32_t *last_remap;   /* the last renumbering: old stack id → new (model_stack_now()) */
	uint32_t nr_last_remap;
	uint32_t older[MODEL_STATE_NR + 1]; /* "[older stacks]" (+ a reason), UINT32_MAX: none yet */
	uint64_t folded, raw_resets;
	uint64_t next_seq;

	/* Everything since start, (thread, stack) → samples, → blocked ns; (thread, state) → ns. */
	struct counts total_counts, total_offcpu, total_states, total_wakes;
	struct tick total;

	/* Heap: RSS growth and leak mode's allocations, (thread, raw stack) and (thread, stack id)
	 * in the open tick, and since start. */
	struct growth pending_heap, pending_heap_resolved;
	struct growth pending_allocs, pending_allocs_resolved;
	struct growth total_heap, total_allocs;
	/* Memory: every process's newest reading and summed change (the total), and the readings
	 * of the open tick that changed something; pid → index + 1 for each. */
	struct tick_memory *mem, *pending_mem;
	size_t nr_mem, cap_mem, nr_pending_mem, cap_pending_mem;
	struct counts mem_index, pending_mem_index;
	/* leak mode's oldest blocks: as given (raw stack ids), and as of the last close */
	struct model_heap_block *oldest_raw, *oldest;
	size_t nr_oldest_raw, cap_oldest_raw, nr_oldest, cap_oldest;

	uint64_t start_ns;
	bool begun; /* model_begin(): samples taken before start_ns are not the window's */
	/* Processes seen (count 1 while their maps are read), and those to forget after the next
	 * close (their samples may still be pending). */
	struct counts pids;
	/* thread index -> raw stack of its newest on-CPU sample */
	struct counts last_raw;
	struct goroutines *go;
	uint32_t *exited_pids;
	size_t nr_exited, cap_exited;
	uint32_t *forgotten; /* the pids forgotten at the last close */
	size_t nr_forgotten, cap_forgotten;
	uint32_t *forget_next; /* exited in the last tick: forgotten at the next close */
	size_t nr_forget_next, cap_forget_next;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The bytes of a closed tick's layers. */
static size_t tick_bytes(const struct tick *t)
{
	return sizeof(*t) +
	       (t->nr_counts + t->nr_offcpu + t->nr_wakes + t->nr_states) *
		       sizeof(struct tick_count) +
	       (t->nr_heap + t->nr_allocs) * sizeof(struct tick_heap) +
	       t->nr_memory * sizeof(struct tick_memory);
}

static void tick_free_layers(struct tick *t)
{
	free(t->counts);
	free(t->offcpu);
	free(t->wakes);
	free(t->states);
	free(t->heap);
	free(t->allocs);
	free(t->memory);
	goroutines_tick_free(t->go);
}

/* A process's entry whose next reading starts over (its pid exited and may be reused). */
#define MEM_STALE (1u << 31)

const char *model_state_name(enum model_state s)
{
	static const char *const names[] = {
		[MODEL_STATE_RUNNING] = "running", [MODEL_STATE_RUNNABLE] = "runnable",
		[MODEL_STATE_LOCK] = "lock",       [MODEL_STATE_IO] = "io",
		[MODEL_STATE_POLL] = "poll",       [MODEL_STATE_SLEEP] = "sleep",
		[MODEL_STATE_OTHER] = "other",     [MODEL_STATE_WAIT] = "wait",
	};

	return (unsigned)s < MODEL_STATE_NR ? names[s] : "other";
}

const char *model_mem_name(enum model_mem k)
{
	static const char *const names[] = {
		[MODEL_MEM_RSS] = "rss",     [MODEL_MEM_ANON] = "anon", [MODEL_MEM_FILE] = "file",
		[MODEL_MEM_SHMEM] = "shmem", [MODEL_MEM_SWAP] = "swap", [MODEL_MEM_VSIZE] = "vsize",
	};

	return (unsigned)k < MODEL_MEM_NR ? names[k] : "?";
}

const char *model_heap_mode_name(enum model_heap_mode mode)
{
	switch (mode) {
	case MODEL_HEAP_GROWTH:
		return "growth";
	case MODEL_HEAP_EXACT:
		return "exact";
	default:
		return "off";
	}
}

void model_budget_text(char *buf, size_t len)
{
	snprintf(buf, len,
		 "ticks of the last %u min within %u MiB (never less than the last %u s), older "
		 "ones only in the since-start sums; exited threads folded into one [exited] row "
		 "per name; %u raw stacks; frames and stacks within %u MiB (fewer ticks kept when "
		 "theirs pass it); binaries no process maps within %u MiB",
		 MODEL_HISTORY_TICKS / 60, MODEL_HISTORY_BYTES >> 20, MODEL_HISTORY_MIN,
		 RAW_RESET_MIN, MODEL_STACKS_BYTES >> 20, MODEL_SYMS_BYTES >> 20);
}

int model_new(const struct model_opts *opts, struct model **out)
{
	struct model *m = xcalloc(1, sizeof(*m));

	m->syms = opts ? opts->syms : NULL;
	m->cap = opts && opts->history ? opts->history : MODEL_HISTORY_TICKS;
	m->max_bytes = opts && opts->history_bytes ? opts->history_bytes : MODEL_HISTORY_BYTES;
	m->max_stacks_bytes = opts && opts->stacks_bytes ? opts->stacks_bytes : MODEL_STACKS_BYTES;
	counts_init(&m->agg);
	memset(m->older, 0xff, sizeof(m->older));
	m->ring = xcalloc(m->cap, sizeof(*m->ring));
	m->threads = threads_new();
	m->stacks = stacks_new();
	counts_init(&m->pending);
	counts_init(&m->pending_resolved);
	counts_init(&m->pending_offcpu);
	counts_init(&m->pending_offcpu_resolved);
	counts_init(&m->pending_wakes);
	counts_init(&m->pending_wakes_resolved);
	counts_init(&m->total_wakes);
	counts_init(&m->pending_states);
	counts_init(&m->total_counts);
	counts_init(&m->total_offcpu);
	counts_init(&m->total_states);
	counts_init(&m->pids);
	counts_init(&m->last_raw);
	m->go = goroutines_new();
	growth_init(&m->pending_heap);
	growth_init(&m->pending_heap_resolved);
	growth_init(&m->pending_allocs);
	growth_init(&m->pending_allocs_resolved);
	growth_init(&m->total_heap);
	growth_init(&m->total_allocs);
	counts_init(&m->mem_index);
	counts_init(&m->pending_mem_index);
	m->start_ns = opts && opts->start_ns ? opts->start_ns : now_ns();
	m->cur.start_ns = m->start_ns;
	m->total.start_ns = m->start_ns;
	*out = m;
	return 0;
}

void model_free(struct model *m)
{
	if (!m)
		return;
	for (size_t i = 0; i < m->len; i++)
		tick_free_layers(&m->ring[(m->head + i) % m->cap]);
	free(m->ring);
	counts_fini(&m->pending);
	counts_fini(&m->pending_resolved);
	counts_fini(&m->pending_offcpu);
	counts_fini(&m->pending_offcpu_resolved);
	counts_fini(&m->pending_wakes);
	counts_fini(&m->pending_wakes_resolved);
	counts_fini(&m->total_wakes);
	counts_fini(&m->pending_states);
	counts_fini(&m->total_counts);
	counts_fini(&m->total_offcpu);
	counts_fini(&m->total_states);
	counts_fini(&m->pids);
	counts_fini(&m->last_raw);
	goroutines_free(m->go);
	growth_fini(&m->pending_heap);
	growth_fini(&m->pending_heap_resolved);
	growth_fini(&m->pending_allocs);
	growth_fini(&m->pending_allocs_resolved);
	growth_fini(&m->total_heap);
	growth_fini(&m->total_allocs);
	counts_fini(&m->mem_index);
	counts_fini(&m->pending_mem_index);
	counts_fini(&m->agg);
	free(m->mem);
	free(m->pending_mem);
	free(m->oldest_raw);
	free(m->oldest);
	free(m->exited_pids);
	free(m->forgotten);
	free(m->forget_next);
	free(m->last_remap);
	threads_free(m->threads);
	stacks_free(m->stacks);
	free(m);
}

static void note_pid(struct model *m, uint32_t pid)
{
	struct tick_count *c = counts_find(&m->pids, pid, 0);

	if (c && c->count)
		return;
	if (c)
		c->count = 1;
	else
		counts_add(&m->pids, pid, 0, 1);
	if (m->syms && pid)
		syms_note_pid(m->syms, pid);
}

void model_add_sample(struct model *m, const struct model_sample *s)
{
	uint64_t w = s->weight ? s->weight : 1;
	uint32_t thread, raw;

	if (m->begun && s->time_ns && s->time_ns < m->start_ns)
		return; /* taken before the window began (model_begin()) */
	note_pid(m, s->pid);
	thread = threads_see(m->threads, s->pid, s->tid, s->comm, s->pcomm, s->time_ns);
	raw = stacks_add_raw(m->stacks, s->pid, s->user, s->nr_user, s->kernel, s->nr_kernel,
			     s->flags);
	counts_add(&m->pending, thread, raw, w);
	{
		struct tick_count *last = counts_find(&m->last_raw, thread, 0);

		if (last)
			last->count = raw;
		else
			counts_add(&m->last_raw, thread, 0, raw);
	}
	m->cur.samples += w;
	if (s->flags & MODEL_SAMPLE_TRUNCATED)
		m->cur.truncated += w;
}

void model_add_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			const char *pcomm, uint32_t stack, uint64_t count, uint64_t time_ns)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, time_ns);

	counts_add(&m->pending_resolved, thread, stack, count);
	m->cur.samples += count;
}

void model_add_state(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		     const char *pcomm, enum model_state state, uint64_t ns)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, 0);

	if ((unsigned)state < MODEL_STATE_NR && ns)
		counts_add(&m->pending_states, thread, state, ns);
}

void model_add_offcpu(struct model *m, const struct model_offcpu *o)
{
	enum model_state reason = (unsigned)o->reason < MODEL_STATE_NR ? o->reason
									: MODEL_STATE_OTHER;
	uint32_t thread, raw;

	note_pid(m, o->pid);
	thread = threads_see(m->threads, o->pid, o->tid, o->comm, o->pcomm, o->time_ns);
	raw = stacks_add_raw(m->stacks, o->pid, o->user, o->nr_user, o->kernel, o->nr_kernel,
			     o->flags | STACKS_REASON(reason));
	counts_add(&m->pending_offcpu, thread, raw, o->ns);
}

void model_add_wake(struct model *m, const struct model_offcpu *o, const struct model_waker *w)
{
	enum model_state reason = (unsigned)o->reason < MODEL_STATE_NR ? o->reason
									: MODEL_STATE_OTHER;
	uint32_t thread, blocked, waker;

	note_pid(m, o->pid);
	note_pid(m, w->pid);
	thread = threads_see(m->threads, o->pid, o->tid, o->comm, o->pcomm, o->time_ns);
	blocked = stacks_add_raw(m->stacks, o->pid, o->user, o->nr_user, o->kernel, o->nr_kernel,
				 o->flags | STACKS_REASON(reason));
	waker = stacks_add_raw(m->stacks, w->pid, w->user, w->nr_user, w->kernel, w->nr_kernel,
			       w->flags);
	counts_add(&m->pending_wakes, thread,
		   stacks_add_wake(m->stacks, blocked, waker, stacks_str(m->stacks, w->comm)),
		   o->ns);
}

void model_add_wake_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			     const char *pcomm, uint32_t stack, uint64_t ns)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, 0);

	counts_add(&m->pending_wakes_resolved, thread, stack, ns);
}

void model_add_offcpu_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			       const char *pcomm, uint32_t stack, uint64_t ns)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, 0);

	counts_add(&m->pending_offcpu_resolved, thread, stack, ns);
}

/* The pending reading of pid in the open tick, made on first use. */
static struct tick_memory *pending_memory(struct model *m, uint32_t pid)
{
	struct tick_count *c = counts_find(&m->pending_mem_index, pid, 0);
	struct tick_memory *e;

	if (c)
		return &m->pending_mem[c->count];
	m->pending_mem = xgrow(m->pending_mem, &m->cap_pending_mem, m->nr_pending_mem + 1,
			       sizeof(*m->pending_mem));
	e = &m->pending_mem[m->nr_pending_mem];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	counts_add(&m->pending_mem_index, pid, 0, m->nr_pending_mem++);
	return e;
}

/* pid's entry in the running total, made on first use (then *fresh is set). */
static struct tick_memory *total_memory(struct model *m, uint32_t pid, bool *fresh)
{
	struct tick_count *c = counts_find(&m->mem_index, pid, 0);
	struct tick_memory *e;

	*fresh = !c;
	if (c)
		return &m->mem[c->count];
	m->mem = xgrow(m->mem, &m->cap_mem, m->nr_mem + 1, sizeof(*m->mem));
	e = &m->mem[m->nr_mem];
	memset(e, 0, sizeof(*e));
	e->pid = pid;
	counts_add(&m->mem_index, pid, 0, m->nr_mem++);
	return e;
}

/* A reading with its change already known (a replay): into the open tick and the total. */
static void add_memory_entry(struct model *m, const struct tick_memory *in)
{
	struct tick_memory *p = pending_memory(m, in->pid);
	bool fresh;
	struct tick_memory *t = total_memory(m, in->pid, &fresh);
	uint32_t known = in->known & ((1u << MODEL_MEM_NR) - 1);

	for (int k = 0; k < MODEL_MEM_NR; k++) {
		if (!(known & (1u << k)))
			continue;
		p->v[k] = t->v[k] = in->v[k];
		p->d[k] += in->d[k];
		t->d[k] += in->d[k];
	}
	p->known |= known;
	t->known = known;
}

void model_add_memory(struct model *m, uint32_t pid, const struct model_memory *mem)
{
	struct tick_memory e = { .pid = pid, .known = mem->known & ((1u << MODEL_MEM_NR) - 1) };
	bool fresh, changed;
	struct tick_memory *t = total_memory(m, pid, &fresh);

	changed = fresh || (t->known & MEM_STALE);
	for (int k = 0; k < MODEL_MEM_NR; k++) {
		if (!(e.known & (1u << k)))
			continue;
		e.v[k] = mem->v[k];
		if (!fresh && !(t->known & MEM_STALE) && (t->known & (1u << k)))
			e.d[k] = (int64_t)(mem->v[k] - t->v[k]);
		changed |= e.d[k] != 0;
	}
	if (!changed)
		return;
	if (t->known & MEM_STALE)
		t->known = 0;
	add_memory_entry(m, &e);
}

static struct model_heap_site heap_site(struct model *m, const struct model_heap *h);

struct model_heap_site model_heap_site(struct model *m, const struct model_heap *h)
{
	/* leak mode keeps raw ids in its live blocks: they must stay what they are */
	m->raws_pinned = true;
	return heap_site(m, h);
}

static struct model_heap_site heap_site(struct model *m, const struct model_heap *h)
{
	struct model_heap_site site;

	note_pid(m, h->pid);
	site.thread = threads_see(m->threads, h->pid, h->tid, h->comm, h->pcomm, h->time_ns);
	site.raw = stacks_add_raw(m->stacks, h->pid, h->user, h->nr_user, NULL, 0, h->flags);
	return site;
}

void model_add_heap(struct model *m, const struct model_heap *h)
{
	struct model_heap_site site = heap_site(m, h);

	growth_add(&m->pending_heap, site.thread, site.raw, h->bytes, h->count);
}

void model_add_heap_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			     const char *pcomm, uint32_t stack, int64_t bytes, int64_t count)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, 0);

	growth_add(&m->pending_heap_resolved, thread, stack, bytes, count);
}

void model_add_alloc(struct model *m, struct model_heap_site site, int64_t bytes, int64_t count)
{
	growth_add(&m->pending_allocs, site.thread, site.raw, bytes, count);
}

void model_add_alloc_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			      const char *pcomm, uint32_t stack, int64_t bytes, int64_t count)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, 0);

	growth_add(&m->pending_allocs_resolved, thread, stack, bytes, count);
}

static void add_heap_info(struct tick_heap_info *to, const struct tick_heap_info *in)
{
	if (in->mode)
		to->mode = in->mode;
	to->events += in->events;
	to->calls += in->calls;
	to->unmatched += in->unmatched;
	to->lost += in->lost;
	to->cost_ns += in->cost_ns;
	if (in->mode == MODEL_HEAP_EXACT || in->live_blocks || in->live_bytes) {
		to->live_blocks = in->live_blocks;
		to->live_bytes = in->live_bytes;
	}
}

void model_add_heap_info(struct model *m, const struct tick_heap_info *info)
{
	add_heap_info(&m->cur.heap_info, info);
}

void model_set_heap_oldest(struct model *m, const struct model_heap_block *b, size_t n)
{
	m->oldest_raw = xgrow(m->oldest_raw, &m->cap_oldest_raw, n + 1, sizeof(*m->oldest_raw));
	if (n)
		memcpy(m->oldest_raw, b, n * sizeof(*b));
	m->nr_oldest_raw = n;
}

const struct model_heap_block *model_heap_oldest(const struct model *m, size_t *n)
{
	*n = m->nr_oldest;
	return m->oldest;
}

void model_add_tick(struct model *m, const struct tick *t)
{
	uint32_t nr_threads = threads_count(m->threads);

	m->cur.start_ns = t->start_ns;
	m->cur.samples += t->samples;
	m->cur.truncated += t->truncated;
	for (int k = 0; k < MODEL_LOST_NR; k++)
		m->cur.lost[k] += t->lost[k];
	for (size_t i = 0; i < t->nr_counts; i++)
		if (t->counts[i].thread < nr_threads)
			counts_add(&m->pending_resolved, t->counts[i].thread, t->counts[i].stack,
				   t->counts[i].count);
	for (size_t i = 0; i < t->nr_offcpu; i++)
		if (t->offcpu[i].thread < nr_threads)
			counts_add(&m->pending_offcpu_resolved, t->offcpu[i].thread,
				   t->offcpu[i].stack, t->offcpu[i].count);
	for (size_t i = 0; i < t->nr_wakes; i++)
		if (t->wakes[i].thread < nr_threads)
			counts_add(&m->pending_wakes_resolved, t->wakes[i].thread,
				   t->wakes[i].stack, t->wakes[i].count);
	for (size_t i = 0; i < t->nr_states; i++)
		if (t->states[i].thread < nr_threads && t->states[i].stack < MODEL_STATE_NR)
			counts_add(&m->pending_states, t->states[i].thread, t->states[i].stack,
				   t->states[i].count);
	for (size_t i = 0; i < t->nr_heap; i++)
		if (t->heap[i].thread < nr_threads)
			growth_add(&m->pending_heap_resolved, t->heap[i].thread, t->heap[i].stack,
				   t->heap[i].bytes, t->heap[i].count);
	for (size_t i = 0; i < t->nr_allocs; i++)
		if (t->allocs[i].thread < nr_threads)
			growth_add(&m->pending_allocs_resolved, t->allocs[i].thread,
				   t->allocs[i].stack, t->allocs[i].bytes, t->allocs[i].count);
	for (size_t i = 0; i < t->nr_memory; i++)
		add_memory_entry(m, &t->memory[i]);
	add_heap_info(&m->cur.heap_info, &t->heap_info);
	goroutines_add_tick(m->go, t->go);
}

uint64_t model_lost_of(const uint64_t *lost, enum model_lost_probe probe)
{
	switch (probe) {
	case MODEL_LOST_CPU:
		return lost[MODEL_LOST_RINGBUF] + lost[MODEL_LOST_MAP_FULL] +
		       lost[MODEL_LOST_NO_STACK] + lost[MODEL_LOST_SIDEBAND];
	case MODEL_LOST_SCHED:
		return lost[MODEL_LOST_SCHED_RINGBUF] + lost[MODEL_LOST_SCHED_MAP_FULL] +
		       lost[MODEL_LOST_SCHED_NO_STACK];
	case MODEL_LOST_HEAP:
		return lost[MODEL_LOST_HEAP_RINGBUF] + lost[MODEL_LOST_HEAP_MAP_FULL];
	}
	return 0;
}

void model_add_lost(struct model *m, enum model_lost kind, uint64_t n)
{
	if (kind < MODEL_LOST_NR)
		m->cur.lost[kind] += n;
}

void model_exec(struct model *m, uint32_t pid)
{
	stacks_new_image(m->stacks, m->syms, pid);
	if (m->syms)
		syms_exec(m->syms, pid);
}

void model_process_gone(struct model *m, uint32_t pid)
{
	/* its maps go after the next close: stacks of it still on their way (off-CPU, heap) are
	 * symbolized by then */
	for (size_t i = 0; i < m->nr_exited; i++)
		if (m->exited_pids[i] == pid)
			return;
	m->exited_pids = xgrow(m->exited_pids, &m->cap_exited, m->nr_exited + 1,
			       sizeof(*m->exited_pids));
	m->exited_pids[m->nr_exited++] = pid;
}

void model_note_thread(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		       const char *pcomm)
{
	threads_see(m->threads, pid, tid, comm, pcomm, 0);
}

void model_thread_exit(struct model *m, uint32_t tid)
{
	model_thread_exit_at(m, tid, 0);
}

void model_thread_exit_at(struct model *m, uint32_t tid, uint64_t exit_ns)
{
	uint32_t idx = threads_find(m->threads, tid);
	const struct thread *t = threads_get(m->threads, idx);

	if (!t)
		return;
	if (t->pid == tid) {
		m->exited_pids = xgrow(m->exited_pids, &m->cap_exited, m->nr_exited + 1,
				       sizeof(*m->exited_pids));
		m->exited_pids[m->nr_exited++] = tid;
	}
	threads_exit_at(m->threads, tid, exit_ns);
}

void model_thread_gone(struct model *m, uint32_t pid, uint32_t tid, uint64_t exit_ns)
{
	uint32_t idx = threads_find(m->threads, tid);
	const struct thread *t = threads_get(m->threads, idx);

	if (t && t->pid == pid) {
		model_thread_exit_at(m, tid, exit_ns ? exit_ns : 1);
	} else if (!t) {
		threads_gone(m->threads, pid, tid, exit_ns);
		/* its maps may have been read all the same (a sample came first elsewhere) */
		if (pid == tid) {
			m->exited_pids = xgrow(m->exited_pids, &m->cap_exited, m->nr_exited + 1,
					       sizeof(*m->exited_pids));
			m->exited_pids[m->nr_exited++] = tid;
		}
	}
}

const uint32_t *model_forgotten(const struct model *m, size_t *n)
{
	*n = m->nr_forgotten;
	return m->forgotten;
}

/*
 * Processes that exited: at the close of the tick they exited in, their stacks are resolved and
 * a process reusing the pid gets raw stacks of its own; at the next close, their maps and
 * memory entry go (samples of them still on their way in another ring, late by a drain, are
 * symbolized by then).
 */
static void forget_exited(struct model *m)
{
	m->forgotten = xgrow(m->forgotten, &m->cap_forgotten, m->nr_forget_next + 1,
			     sizeof(*m->forgotten));
	if (m->nr_forget_next)
		memcpy(m->forgotten, m->forget_next, m->nr_forget_next * sizeof(*m->forgotten));
	m->nr_forgotten = m->nr_forget_next;
	for (size_t i = 0; i < m->nr_forget_next; i++)
		if (m->syms)
			syms_forget_pid(m->syms, m->forget_next[i]);
	/* this tick's exits: their stacks are resolved; a process reusing the pid gets its own */
	for (size_t i = 0; i < m->nr_exited; i++) {
		struct tick_count *c = counts_find(&m->pids, m->exited_pids[i], 0);

		stacks_new_image(m->stacks, m->syms, m->exited_pids[i]);
		/* A reused pid is a new process: read its maps again. */
		if (c)
			c->count = 0;
		/* ... and its memory starts over: a reused pid is not its growth */
		c = counts_find(&m->mem_index, m->exited_pids[i], 0);
		if (c)
			m->mem[c->count].known |= MEM_STALE;
	}
	m->forget_next = xgrow(m->forget_next, &m->cap_forget_next, m->nr_exited + 1,
			       sizeof(*m->forget_next));
	if (m->nr_exited)
		memcpy(m->forget_next, m->exited_pids, m->nr_exited * sizeof(*m->forget_next));
	m->nr_forget_next = m->nr_exited;
	m->nr_exited = 0;
}

/*
 * One layer of the open tick as a closed array sorted by (thread, stack): raw stacks mapped to
 * their resolved ids, merged with entries that came resolved, added to the layer's total.
 * The caller owns the array.
 */
static struct tick_count *close_layer(struct model *m, const struct counts *raw,
				      const struct counts *resolved, struct counts *total,
				      size_t *nr)
{
	struct counts c;

	counts_init(&c);
	for (size_t i = 0; raw && i < raw->nr; i++)
		counts_add(&c, raw->v[i].thread, stacks_of_raw(m->stacks, raw->v[i].stack),
			   raw->v[i].count);
	for (size_t i = 0; i < resolved->nr; i++)
		counts_add(&c, resolved->v[i].thread, resolved->v[i].stack, resolved->v[i].count);
	counts_sort_by_key(&c);
	for (size_t i = 0; i < c.nr; i++)
		counts_add(total, c.v[i].thread, c.v[i].stack, c.v[i].count);
	free(c.slots);
	*nr = c.nr;
	return xshrink(c.v, c.nr, sizeof(*c.v));
}

/* A heap layer of the open tick, like close_layer(): entries that net to nothing are dropped when
 * drop_zero. The caller owns the array. */
static struct tick_heap *close_growth(struct model *m, const struct growth *raw,
				      const struct growth *resolved, struct growth *total,
				      bool drop_zero, size_t *nr)
{
	struct growth g;

	growth_init(&g);
	for (size_t i = 0; i < raw->nr; i++)
		growth_add(&g, raw->v[i].thread, stacks_of_raw(m->stacks, raw->v[i].stack),
			   raw->v[i].bytes, raw->v[i].count);
	for (size_t i = 0; i < resolved->nr; i++)
		growth_add(&g, resolved->v[i].thread, resolved->v[i].stack, resolved->v[i].bytes,
			   resolved->v[i].count);
	if (drop_zero)
		growth_drop_zero(&g);
	growth_sort_by_key(&g);
	for (size_t i = 0; i < g.nr; i++)
		growth_add(total, g.v[i].thread, g.v[i].stack, g.v[i].bytes, g.v[i].count);
	free(g.slots);
	*nr = g.nr;
	return xshrink(g.v, g.nr, sizeof(*g.v));
}

static int by_pid(const void *a, const void *b)
{
	const struct tick_memory *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* The open tick's memory readings, sorted by pid; the total kept sorted by pid too. */
static struct tick_memory *close_memory(struct model *m, size_t *nr)
{
	struct tick_memory *v = NULL;

	*nr = m->nr_pending_mem;
	if (*nr) {
		v = xmalloc(*nr * sizeof(*v));
		memcpy(v, m->pending_mem, *nr * sizeof(*v));
		qsort(v, *nr, sizeof(*v), by_pid);
		qsort(m->mem, m->nr_mem, sizeof(*m->mem), by_pid);
		counts_clear(&m->mem_index);
		for (size_t i = 0; i < m->nr_mem; i++)
			counts_add(&m->mem_index, m->mem[i].pid, 0, i);
	}
	m->nr_pending_mem = 0;
	counts_clear(&m->pending_mem_index);
	return v;
}

static void close_oldest(struct model *m)
{
	m->oldest = xgrow(m->oldest, &m->cap_oldest, m->nr_oldest_raw + 1, sizeof(*m->oldest));
	for (size_t i = 0; i < m->nr_oldest_raw; i++) {
		m->oldest[i] = m->oldest_raw[i];
		m->oldest[i].stack = stacks_of_raw(m->stacks, m->oldest_raw[i].stack);
	}
	m->nr_oldest = m->nr_oldest_raw;
}

/* Memory entries of processes that exited (MEM_STALE) and no kept tick names: dropped, and
 * the index made again. */
static void compact_memory(struct model *m)
{
	struct counts named; /* pids the kept ticks have readings of */
	size_t kept = 0;

	counts_init(&named);
	for (size_t k = 0; k < m->len; k++) {
		const struct tick *t = &m->ring[(m->head + k) % m->cap];

		for (size_t j = 0; j < t->nr_memory; j++)
			if (!counts_find(&named, t->memory[j].pid, 0))
				counts_add(&named, t->memory[j].pid, 0, 1);
	}
	for (size_t i = 0; i < m->nr_mem; i++)
		if (!(m->mem[i].known & MEM_STALE) || counts_find(&named, m->mem[i].pid, 0))
			m->mem[kept++] = m->mem[i];
	counts_fini(&named);
	if (kept == m->nr_mem)
		return;
	m->nr_mem = kept;
	counts_clear(&m->mem_index);
	for (size_t i = 0; i < m->nr_mem; i++)
		counts_add(&m->mem_index, m->mem[i].pid, 0, i);
	m->total.memory = m->mem;
	m->total.nr_memory = m->nr_mem;
}

void model_hold(struct model *m, bool hold)
{
	m->held = hold;
}

uint64_t model_stacks_epoch(const struct model *m)
{
	return m->stacks_epoch;
}

uint32_t model_stack_now(const struct model *m, uint64_t epoch, uint32_t stack)
{
	if (epoch == m->stacks_epoch)
		return stack;
	if (epoch + 1 != m->stacks_epoch || stack >= m->nr_last_remap)
		return UINT32_MAX;
	return m->last_remap[stack];
}

void model_keep_ids(struct model *m)
{
	m->keep_ids = true;
}

static uint32_t special_stack(struct model *m, const char *a, const char *b)
{
	struct frame f = { .module = "[flametop]", .kind = FRAME_SPECIAL };
	uint32_t ids[2];

	f.function = a;
	ids[0] = stacks_add_frame(m->stacks, &f);
	if (!b)
		return stacks_add_stack(m->stacks, ids, 1);
	f.function = b;
	ids[1] = stacks_add_frame(m->stacks, &f);
	return stacks_add_stack(m->stacks, ids, 2);
}

/* The stack off-CPU time of a stack let go is summed into: "[older stacks]" and its reason. */
static uint32_t older_offcpu(struct model *m, uint32_t stack)
{
	uint32_t nr;
	const uint32_t *f = stacks_frames(m->stacks, stack, &nr);
	const struct frame *leaf = nr ? stacks_frame(m->stacks, f[nr - 1]) : NULL;
	int k = MODEL_STATE_NR; /* no reason */

	for (int s = MODEL_STATE_RUNNABLE; leaf && leaf->kind == FRAME_SPECIAL &&
					    s < MODEL_STATE_NR; s++) {
		char name[32];

		snprintf(name, sizeof(name), "[%s]", model_state_name(s));
		if (!strcmp(leaf->function, name))
			k = s;
	}
	if (m->older[k] == UINT32_MAX) {
		char name[32];

		snprintf(name, sizeof(name), "[%s]", k < MODEL_STATE_NR ? model_state_name(k) : "");
		m->older[k] = special_stack(m, "[older stacks]", k < MODEL_STATE_NR ? name : NULL);
	}
	return m->older[k];
}

static uint32_t older_stack(struct model *m)
{
	if (m->older[MODEL_STATE_NR] == UINT32_MAX)
		m->older[MODEL_STATE_NR] = special_stack(m, "[older stacks]", NULL);
	return m->older[MODEL_STATE_NR];
}

static void keep_layer(uint8_t *keep, uint32_t n, const struct tick_count *v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (v[i].stack < n)
			keep[v[i].stack] = 1;
}

static void keep_growth(uint8_t *keep, uint32_t n, const struct tick_heap *v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (v[i].stack < n)
			keep[v[i].stack] = 1;
}

/* A since-start sum in the new ids (entries renamed to the same marker merge). */
static void refold_counts(struct counts *c, const uint32_t *remap)
{
	struct counts out;

	counts_init(&out);
	for (size_t i = 0; i < c->nr; i++)
		counts_add(&out, c->v[i].thread, remap[c->v[i].stack], c->v[i].count);
	counts_fini(c);
	counts_sort_by_key(&out);
	*c = out;
}

static void remap_layer(struct tick_count *v, size_t nr, const uint32_t *remap)
{
	for (size_t i = 0; i < nr; i++)
		v[i].stack = remap[v[i].stack];
	if (nr)
		qsort(v, nr, sizeof(*v), counts_cmp_key);
}

static void remap_growth(struct tick_heap *v, size_t nr, const uint32_t *remap)
{
	for (size_t i = 0; i < nr; i++)
		v[i].stack = remap[v[i].stack];
	if (nr)
		qsort(v, nr, sizeof(*v), growth_cmp_key);
}

/* A heap sum in the new ids (entries renamed to the same marker merge). */
static void refold_growth(struct growth *g, const uint32_t *remap)
{
	struct growth out;

	growth_init(&out);
	for (size_t i = 0; i < g->nr; i++)
		growth_add(&out, g->v[i].thread, remap[g->v[i].stack], g->v[i].bytes,
			   g->v[i].count);
	growth_fini(g);
	growth_sort_by_key(&out);
	*g = out;
}

/* The since-start sums as the total tick shows them. */
static void total_point(struct model *m)
{
	m->total.counts = m->total_counts.v;
	m->total.nr_counts = m->total_counts.nr;
	m->total.offcpu = m->total_offcpu.v;
	m->total.nr_offcpu = m->total_offcpu.nr;
	m->total.wakes = m->total_wakes.v;
	m->total.nr_wakes = m->total_wakes.nr;
	m->total.states = m->total_states.v;
	m->total.nr_states = m->total_states.nr;
	m->total.heap = m->total_heap.v;
	m->total.nr_heap = m->total_heap.nr;
	m->total.allocs = m->total_allocs.v;
	m->total.nr_allocs = m->total_allocs.nr;
}

/*
 * The newest sample's raw stack of each live thread (model_thread_last_raw(): a running
 * goroutine's stack) outlives the raw stacks being forgotten: its user addresses are kept aside,
 * then interned again under a new raw id. Exited threads' go.
 */
struct saved_raws {
	uint32_t *thread, *pid, *nr; /* per entry */
	uint64_t *pcs;               /* every entry's addresses, one after the other */
	size_t n, nr_pcs;
};

static void saved_raws_fini(struct saved_raws *k)
{
	free(k->thread);
	free(k->pid);
	free(k->nr);
	free(k->pcs);
}

static void save_last_raws(struct model *m, struct saved_raws *k)
{
	size_t cap_pcs = 0;

	memset(k, 0, sizeof(*k));
	k->thread = xmalloc((m->last_raw.nr + 1) * sizeof(*k->thread));
	k->pid = xmalloc((m->last_raw.nr + 1) * sizeof(*k->pid));
	k->nr = xmalloc((m->last_raw.nr + 1) * sizeof(*k->nr));
	for (size_t i = 0; i < m->last_raw.nr; i++) {
		const struct thread *t = threads_get(m->threads, m->last_raw.v[i].thread);
		uint32_t pid, nr;
		const uint64_t *pcs = stacks_raw_user(m->stacks, (uint32_t)m->last_raw.v[i].count,
						      &pid, &nr);

		/* an exited thread runs no goroutine any more */
		if (!pcs || !nr || !t || t->exited)
			continue;
		k->pcs = xgrow(k->pcs, &cap_pcs, k->nr_pcs + nr, sizeof(*k->pcs));
		memcpy(k->pcs + k->nr_pcs, pcs, nr * sizeof(*pcs));
		k->nr_pcs += nr;
		k->thread[k->n] = m->last_raw.v[i].thread;
		k->pid[k->n] = pid;
		k->nr[k->n++] = nr;
	}
}

static void restore_last_raws(struct model *m, struct saved_raws *k)
{
	const uint64_t *pcs = k->pcs;

	counts_clear(&m->last_raw);
	for (size_t i = 0; i < k->n; i++) {
		counts_add(&m->last_raw, k->thread[i], 0,
			   stacks_add_raw(m->stacks, k->pid[i], pcs, k->nr[i], NULL, 0, 0));
		pcs += k->nr[i];
	}
	saved_raws_fini(k);
}

/*
 * The stacks' budget (model.h): past MODEL_STACKS_BYTES, the stacks no kept tick names go. Their
 * since-start sums first move to "[older stacks]" (per thread; off-CPU time per reason too),
 * so "since start" stays exact in total; then the table keeps only what is named and renumbers
 * it (stacks_compact()), and every kept tick and sum follows. What else names stacks and frames
 * keeps them: leak mode's oldest blocks and outstanding allocations, and the Go layer (its
 * groups' stacks, creators and start functions, its profiles' buckets: goroutines_keep()).
 */
static void renumber_stacks(struct model *m)
{
	uint32_t n, was, nf;
	uint8_t *keep, *keep_frames;
	uint32_t *remap, *frame_remap;
	struct saved_raws raws;

	/* the markers exist before the table is judged */
	older_stack(m);
	n = stacks_count(m->stacks);
	keep = xcalloc(n ? n : 1, 1);
	for (size_t i = 0; i < m->len; i++) {
		const struct tick *t = &m->ring[(m->head + i) % m->cap];

		keep_layer(keep, n, t->counts, t->nr_counts);
		keep_layer(keep, n, t->offcpu, t->nr_offcpu);
		keep_layer(keep, n, t->wakes, t->nr_wakes);
		keep_growth(keep, n, t->heap, t->nr_heap);
		keep_growth(keep, n, t->allocs, t->nr_allocs);
		goroutines_tick_keep(t->go, keep, n);
	}
	/* leak mode's outstanding allocations are what is named now, not a sum of the past */
	keep_growth(keep, n, m->total_allocs.v, m->total_allocs.nr);
	for (size_t i = 0; i < m->nr_oldest; i++)
		if (m->oldest[i].stack < n)
			keep[m->oldest[i].stack] = 1;
	/* since-start sums of stacks let go: to the markers, made and kept first */
	for (size_t i = 0; i < m->total_offcpu.nr; i++)
		if (!keep[m->total_offcpu.v[i].stack])
			older_offcpu(m, m->total_offcpu.v[i].stack);
	was = n;
	n = stacks_count(m->stacks); /* markers may have been added */
	keep = xrealloc(keep, n ? n : 1);
	if (n > was)
		memset(keep + was, 0, n - was);
	for (uint32_t k = 0; k <= MODEL_STATE_NR; k++)
		if (m->older[k] != UINT32_MAX && m->older[k] < n)
			keep[m->older[k]] = 1;
	nf = stacks_nr_frames(m->stacks);
	keep_frames = xcalloc(nf ? nf : 1, 1);
	goroutines_keep(m->go, keep, n, keep_frames, nf);
	for (size_t i = 0; i < m->total_counts.nr; i++) {
		struct tick_count *c = &m->total_counts.v[i];

		if (!keep[c->stack])
			c->stack = older_stack(m);
	}
	for (size_t i = 0; i < m->total_offcpu.nr; i++) {
		struct tick_count *c = &m->total_offcpu.v[i];

		if (!keep[c->stack])
			c->stack = older_offcpu(m, c->stack);
	}
	for (size_t i = 0; i < m->total_wakes.nr; i++) {
		struct tick_count *c = &m->total_wakes.v[i];

		if (!keep[c->stack])
			c->stack = older_stack(m);
	}
	for (size_t i = 0; i < m->total_heap.nr; i++) {
		struct tick_heap *h = &m->total_heap.v[i];

		if (!keep[h->stack])
			h->stack = older_stack(m);
	}
	save_last_raws(m, &raws);
	stacks_compact(m->stacks, keep, keep_frames, &remap, &frame_remap);
	/* it forgot the raw stacks too (they named the old ids) */
	restore_last_raws(m, &raws);
	/* the renamed sums merge where several stacks went to one marker */
	refold_counts(&m->total_counts, remap);
	refold_counts(&m->total_offcpu, remap);
	refold_counts(&m->total_wakes, remap);
	refold_growth(&m->total_heap, remap);
	refold_growth(&m->total_allocs, remap);
	for (size_t i = 0; i < m->len; i++) {
		struct tick *t = &m->ring[(m->head + i) % m->cap];

		remap_layer(t->counts, t->nr_counts, remap);
		remap_layer(t->offcpu, t->nr_offcpu, remap);
		remap_layer(t->wakes, t->nr_wakes, remap);
		remap_growth(t->heap, t->nr_heap, remap);
		remap_growth(t->allocs, t->nr_allocs, remap);
		goroutines_tick_remap(t->go, remap);
	}
	goroutines_remap(m->go, remap, frame_remap);
	for (size_t i = 0; i < m->nr_oldest; i++)
		m->oldest[i].stack = remap[m->oldest[i].stack];
	for (uint32_t k = 0; k <= MODEL_STATE_NR; k++)
		if (m->older[k] != UINT32_MAX)
			m->older[k] = remap[m->older[k]];
	total_point(m);
	m->stacks_epoch++;
	m->stack_compactions++;
	free(m->last_remap);
	m->last_remap = remap;
	m->nr_last_remap = n;
	free(frame_remap);
	free(keep_frames);
	free(keep);
}

static void drop_oldest(struct model *m);

/*
 * When what the kept ticks name is itself past the stacks' budget (a host whose code never stops
 * changing: builds, short-lived programs), the history gives way: it keeps fewer ticks, in
 * proportion, but never fewer than the last minute, and the table is renumbered again. The
 * bound is lifted a tick at a time while the table has room (model_close_tick()).
 */
static void compact_stacks(struct model *m)
{
	size_t bytes, want;
	uint32_t *first, nr_first;

	if (m->held || m->keep_ids || m->raws_pinned)
		return;
	bytes = stacks_bytes(m->stacks);
	/* after a renumbering that could not get under (the last minute alone is past the
	 * budget), the next waits until the table has grown by a quarter */
	if (bytes <= m->max_stacks_bytes ||
	    (m->stacks_over && bytes <= m->stacks_over + m->stacks_over / 4))
		return;
	renumber_stacks(m);
	bytes = stacks_bytes(m->stacks);
	m->stacks_over = 0;
	if (bytes <= m->max_stacks_bytes)
		return;
	if (m->len <= MODEL_HISTORY_MIN) {
		m->stacks_over = bytes;
		return;
	}
	/* aim under the budget (3/4 of it), so the ticks between two compactions fit */
	want = (size_t)((double)m->len * (m->max_stacks_bytes * 0.75) / (double)bytes);
	if (want < MODEL_HISTORY_MIN)
		want = MODEL_HISTORY_MIN;
	if (want >= m->len)
		return;
	m->stacks_ticks = want;
	while (m->len > want)
		drop_oldest(m);
	first = m->last_remap;
	nr_first = m->nr_last_remap;
	m->last_remap = NULL;
	renumber_stacks(m);
	/* one renumbering as the views see it (model_stack_now()): the two remaps composed */
	for (uint32_t i = 0; i < nr_first; i++)
		if (first[i] != UINT32_MAX)
			first[i] = first[i] < m->nr_last_remap ? m->last_remap[first[i]] : UINT32_MAX;
	free(m->last_remap);
	m->last_remap = first;
	m->nr_last_remap = nr_first;
	m->stacks_epoch--;
	bytes = stacks_bytes(m->stacks);
	m->stacks_over = bytes > m->max_stacks_bytes ? bytes : 0;
}

static void drop_oldest(struct model *m)
{
	m->history_bytes -= tick_bytes(&m->ring[m->head]);
	tick_free_layers(&m->ring[m->head]);
	m->head = (m->head + 1) % m->cap;
	m->len--;
}

/* The "[exited]" row of process name `process` (an interned pointer of the thread table). */
static uint32_t agg_of(struct model *m, const char *process)
{
	uintptr_t key = (uintptr_t)process;
	struct tick_count *c = counts_find(&m->agg, key >> 32, (uint32_t)key);
	uint32_t idx;

	if (c)
		return (uint32_t)c->count;
	idx = threads_see(m->threads, 0, AGG_TID + (uint32_t)m->agg.nr, "[exited]", process, 0);
	threads_exit(m->threads, AGG_TID + (uint32_t)m->agg.nr);
	counts_add(&m->agg, key >> 32, (uint32_t)key, idx);
	return idx;
}

/* A (thread, stack) sum with its threads moved to where `to` says (UINT32_MAX: unchanged). */
static void fold_counts(struct counts *c, const uint32_t *to)
{
	struct counts out;

	counts_init(&out);
	for (size_t i = 0; i < c->nr; i++) {
		uint32_t t = to[c->v[i].thread] != UINT32_MAX ? to[c->v[i].thread] : c->v[i].thread;

		counts_add(&out, t, c->v[i].stack, c->v[i].count);
	}
	counts_fini(c);
	*c = out;
}

static void fold_growth(struct growth *g, const uint32_t *to)
{
	struct growth out;

	growth_init(&out);
	for (size_t i = 0; i < g->nr; i++) {
		uint32_t t = to[g->v[i].thread] != UINT32_MAX ? to[g->v[i].thread] : g->v[i].thread;

		growth_add(&out, t, g->v[i].stack, g->v[i].bytes, g->v[i].count);
	}
	growth_fini(g);
	*g = out;
}

static void mark_layer(uint8_t *used, uint32_t n, const struct tick_count *v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (v[i].thread < n)
			used[v[i].thread] = 1;
}

static void mark_growth(uint8_t *used, uint32_t n, const struct tick_heap *v, size_t nr)
{
	for (size_t i = 0; i < nr; i++)
		if (v[i].thread < n)
			used[v[i].thread] = 1;
}

/* The newest samples of threads whose index was released (to[i] != UINT32_MAX) go. */
static void forget_last_raws(struct model *m, const uint32_t *to)
{
	struct counts kept;

	counts_init(&kept);
	for (size_t i = 0; i < m->last_raw.nr; i++)
		if (to[m->last_raw.v[i].thread] == UINT32_MAX)
			counts_add(&kept, m->last_raw.v[i].thread, 0, m->last_raw.v[i].count);
	counts_fini(&m->last_raw);
	m->last_raw = kept;
}

/*
 * The budget for the tables (model.h): exited threads that no kept tick names leave the
 * table — their since-start sums go to their process name's "[exited]" row, their slots are
 * reused — and the raw stacks are forgotten once they have doubled (new samples make them
 * again). Leak mode's threads and raw stacks stay: its live blocks name them.
 */
static void compact(struct model *m)
{
	uint32_t n = threads_count(m->threads), folded = 0;
	uint8_t *used = xcalloc(n ? n : 1, 1);
	uint32_t *to = xmalloc((n ? n : 1) * sizeof(*to));

	for (size_t i = 0; i < m->len; i++) {
		const struct tick *t = &m->ring[(m->head + i) % m->cap];

		mark_layer(used, n, t->counts, t->nr_counts);
		mark_layer(used, n, t->offcpu, t->nr_offcpu);
		mark_layer(used, n, t->wakes, t->nr_wakes);
		mark_layer(used, n, t->states, t->nr_states);
		mark_growth(used, n, t->heap, t->nr_heap);
		mark_growth(used, n, t->allocs, t->nr_allocs);
	}
	mark_growth(used, n, m->total_allocs.v, m->total_allocs.nr);
	for (size_t i = 0; i < m->nr_oldest; i++)
		if (m->oldest[i].thread < n)
			used[m->oldest[i].thread] = 1;
	for (uint32_t i = 0; i < n; i++) {
		const struct thread *t = threads_get(m->threads, i);

		to[i] = UINT32_MAX;
		if (m->held || used[i] || !t->exited || t->tid >= AGG_TID ||
		    threads_free_slot(m->threads, i) || !threads_releasable(m->threads, i))
			continue;
		to[i] = agg_of(m, t->process);
		folded++;
	}
	if (folded) {
		fold_counts(&m->total_counts, to);
		fold_counts(&m->total_offcpu, to);
		fold_counts(&m->total_wakes, to);
		fold_counts(&m->total_states, to);
		fold_growth(&m->total_heap, to);
		counts_sort_by_key(&m->total_counts);
		counts_sort_by_key(&m->total_offcpu);
		counts_sort_by_key(&m->total_wakes);
		counts_sort_by_key(&m->total_states);
		growth_sort_by_key(&m->total_heap);
		total_point(m);
		for (uint32_t i = 0; i < n; i++)
			if (to[i] != UINT32_MAX)
				threads_release(m->threads, i);
		/* a released index is another thread's next: not its newest sample */
		forget_last_raws(m, to);
		m->folded += folded;
	}
	free(used);
	free(to);
	/* memory readings of processes gone: their entries go too, and so do the pids whose
	 * maps were forgotten */
	compact_memory(m);
	{
		struct counts pids;

		counts_init(&pids);
		for (size_t i = 0; i < m->pids.nr; i++)
			if (m->pids.v[i].count)
				counts_add(&pids, m->pids.v[i].thread, 0, 1);
		counts_fini(&m->pids);
		m->pids = pids;
	}
	/* a few MiB of raw stacks at most: the working set is made again from new samples, at
	 * the cost of symbolizing it once more (cached per binary) */
	if (!m->raws_pinned && stacks_nr_raws(m->stacks) > RAW_RESET_MIN) {
		struct saved_raws raws;

		save_last_raws(m, &raws);
		stacks_forget_raws(m->stacks);
		restore_last_raws(m, &raws);
		m->raw_resets++;
	}
	if (m->syms)
		syms_trim(m->syms, MODEL_SYMS_BYTES);
	compact_stacks(m);
}

int model_close_tick(struct model *m, uint64_t end_ns)
{
	struct tick *t;

	stacks_resolve(m->stacks, m->syms);
	if (m->len == m->cap)
		drop_oldest(m);
	t = &m->ring[(m->head + m->len++) % m->cap];
	*t = m->cur;
	t->seq = m->next_seq++;
	t->end_ns = end_ns > t->start_ns ? end_ns : t->start_ns;
	t->counts = close_layer(m, &m->pending, &m->pending_resolved, &m->total_counts,
				&t->nr_counts);
	t->offcpu = close_layer(m, &m->pending_offcpu, &m->pending_offcpu_resolved,
				&m->total_offcpu, &t->nr_offcpu);
	t->wakes = close_layer(m, &m->pending_wakes, &m->pending_wakes_resolved, &m->total_wakes,
			       &t->nr_wakes);
	t->states = close_layer(m, NULL, &m->pending_states, &m->total_states, &t->nr_states);
	t->heap = close_growth(m, &m->pending_heap, &m->pending_heap_resolved, &m->total_heap,
			       false, &t->nr_heap);
	t->allocs = close_growth(m, &m->pending_allocs, &m->pending_allocs_resolved,
				 &m->total_allocs, true, &t->nr_allocs);
	t->memory = close_memory(m, &t->nr_memory);
	close_oldest(m);
	goroutines_close(m->go, m, t, t->end_ns);
	m->history_bytes += tick_bytes(t);

	m->total.seq = t->seq;
	m->total.end_ns = t->end_ns;
	m->total.samples += t->samples;
	m->total.truncated += t->truncated;
	for (int k = 0; k < MODEL_LOST_NR; k++)
		m->total.lost[k] += t->lost[k];
	total_point(m);
	m->total.memory = m->mem;
	m->total.nr_memory = m->nr_mem;
	add_heap_info(&m->total.heap_info, &t->heap_info);

	counts_clear(&m->pending);
	counts_clear(&m->pending_resolved);
	counts_clear(&m->pending_offcpu);
	counts_clear(&m->pending_offcpu_resolved);
	counts_clear(&m->pending_wakes);
	counts_clear(&m->pending_wakes_resolved);
	counts_clear(&m->pending_states);
	growth_clear(&m->pending_heap);
	growth_clear(&m->pending_heap_resolved);
	growth_clear(&m->pending_allocs);
	growth_clear(&m->pending_allocs_resolved);
	memset(&m->cur, 0, sizeof(m->cur));
	m->cur.start_ns = t->end_ns;
	/* the budget: whole ticks within their bytes, but the last minute always */
	while (m->len > MODEL_HISTORY_MIN && m->history_bytes > m->max_bytes)
		drop_oldest(m);
	if (m->stacks_ticks) {
		if (stacks_bytes(m->stacks) < m->max_stacks_bytes / 4 * 3)
			m->stacks_ticks++;
		while (m->len > MODEL_HISTORY_MIN && m->len > m->stacks_ticks)
			drop_oldest(m);
		if (m->stacks_ticks >= m->cap)
			m->stacks_ticks = 0;
	}
	forget_exited(m);
	threads_age(m->threads);
	if (t->seq >= m->compacted_seq + COMPACT_EVERY) {
		m->compacted_seq = t->seq;
		compact(m);
	} else {
		/* the stacks' budget is judged every tick (a burst of new code passes it fast) */
		compact_stacks(m);
	}
	return 0;
}

int model_begin(struct model *m, uint64_t start_ns)
{
	if (m->len || m->next_seq)
		return -EBUSY;
	counts_clear(&m->pending);
	counts_clear(&m->pending_resolved);
	counts_clear(&m->pending_offcpu);
	counts_clear(&m->pending_offcpu_resolved);
	counts_clear(&m->pending_wakes);
	counts_clear(&m->pending_wakes_resolved);
	counts_clear(&m->pending_states);
	growth_clear(&m->pending_heap);
	growth_clear(&m->pending_heap_resolved);
	growth_clear(&m->pending_allocs);
	growth_clear(&m->pending_allocs_resolved);
	memset(&m->cur, 0, sizeof(m->cur));
	m->start_ns = m->cur.start_ns = m->total.start_ns = start_ns;
	m->begun = true;
	return 0;
}

static size_t counts_bytes(const struct counts *c)
{
	return c->cap * sizeof(*c->v) + c->nslots * sizeof(*c->slots);
}

static size_t growth_bytes(const struct growth *g)
{
	return g->cap * sizeof(*g->v) + g->nslots * sizeof(*g->slots);
}

void model_usage(const struct model *m, struct model_usage *u)
{
	memset(u, 0, sizeof(*u));
	u->nr_ticks = m->len;
	u->history = m->history_bytes + (m->cap - m->len) * sizeof(struct tick);
	u->totals = counts_bytes(&m->total_counts) + counts_bytes(&m->total_offcpu) +
		    counts_bytes(&m->total_wakes) + counts_bytes(&m->total_states) +
		    growth_bytes(&m->total_heap) +
		    growth_bytes(&m->total_allocs);
	u->threads = threads_bytes(m->threads);
	u->nr_threads = threads_count(m->threads);
	u->stacks = stacks_bytes(m->stacks);
	u->nr_stacks = stacks_count(m->stacks);
	u->nr_raws = stacks_nr_raws(m->stacks);
	u->folded = m->folded;
	if (m->syms) {
		u->syms = syms_bins_bytes(m->syms, &u->nr_bins);
		u->evicted = syms_evicted(m->syms);
	}
	u->raw_resets = m->raw_resets;
	u->go = goroutines_bytes(m->go);
	u->stack_compactions = m->stack_compactions;
	u->other = sizeof(*m) + counts_bytes(&m->pending) + counts_bytes(&m->pending_resolved) +
		   counts_bytes(&m->pending_offcpu) + counts_bytes(&m->pending_offcpu_resolved) +
		   counts_bytes(&m->pending_wakes) + counts_bytes(&m->pending_wakes_resolved) +
		   counts_bytes(&m->pending_states) + counts_bytes(&m->pids) +
		   counts_bytes(&m->last_raw) +
		   counts_bytes(&m->mem_index) + counts_bytes(&m->pending_mem_index) +
		   (m->cap_mem + m->cap_pending_mem) * sizeof(struct tick_memory);
}

size_t model_usage_bytes(const struct model_usage *u)
{
	return u->history + u->totals + u->threads + u->stacks + u->other + u->go;
}

size_t model_nr_ticks(const struct model *m)
{
	return m->len;
}

const struct tick *model_tick(const struct model *m, size_t ago)
{
	if (ago >= m->len)
		return NULL;
	return &m->ring[(m->head + m->len - 1 - ago) % m->cap];
}

const struct tick *model_total(const struct model *m)
{
	return &m->total;
}

uint64_t model_start_ns(const struct model *m)
{
	return m->start_ns;
}

struct threads *model_threads(const struct model *m)
{
	return m->threads;
}

struct stacks *model_stacks(const struct model *m)
{
	return m->stacks;
}

struct syms *model_syms(const struct model *m)
{
	return m->syms;
}

struct goroutines *model_goroutines(const struct model *m)
{
	return m->go;
}

uint32_t model_thread_last_raw(const struct model *m, uint32_t tid)
{
	uint32_t idx = threads_find(m->threads, tid);
	const struct tick_count *c = idx == UINT32_MAX ? NULL : counts_find(&m->last_raw, idx, 0);

	return c ? (uint32_t)c->count : UINT32_MAX;
}
