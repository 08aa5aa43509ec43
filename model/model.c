// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <time.h>

#include "counts.h"
#include "model.h"
#include "stacks.h"
#include "syms.h"
#include "threads.h"
#include "xalloc.h"

#define DEFAULT_HISTORY 3600

struct model {
	struct syms *syms; /* borrowed */
	struct threads *threads;
	struct stacks *stacks;

	/* The open tick: (thread, raw stack) → samples, resolved at close. */
	struct counts pending;
	struct counts pending_resolved; /* (thread, stack id) from model_add_resolved() */
	struct counts pending_offcpu;   /* (thread, raw stack) → blocked ns */
	struct counts pending_offcpu_resolved; /* (thread, stack id) → blocked ns */
	struct counts pending_states;   /* (thread, state) → ns */
	struct tick cur;

	/* Closed ticks: a ring of the newest `cap` ticks, oldest at `head`. */
	struct tick *ring;
	size_t cap, len, head;
	uint64_t next_seq;

	/* Everything since start, (thread, stack) → samples, → blocked ns; (thread, state) → ns. */
	struct counts total_counts, total_offcpu, total_states;
	struct tick total;

	uint64_t start_ns;
	/* Processes seen (count 1 while their maps are read), and those to forget after the next
	 * close (their samples may still be pending). */
	struct counts pids;
	uint32_t *exited_pids;
	size_t nr_exited, cap_exited;
};

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static void tick_free_layers(struct tick *t)
{
	free(t->counts);
	free(t->offcpu);
	free(t->states);
}

const char *model_state_name(enum model_state s)
{
	static const char *const names[] = {
		[MODEL_STATE_RUNNING] = "running", [MODEL_STATE_RUNNABLE] = "runnable",
		[MODEL_STATE_LOCK] = "lock",       [MODEL_STATE_IO] = "io",
		[MODEL_STATE_POLL] = "poll",       [MODEL_STATE_SLEEP] = "sleep",
		[MODEL_STATE_OTHER] = "other",
	};

	return (unsigned)s < MODEL_STATE_NR ? names[s] : "other";
}

int model_new(const struct model_opts *opts, struct model **out)
{
	struct model *m = xcalloc(1, sizeof(*m));

	m->syms = opts ? opts->syms : NULL;
	m->cap = opts && opts->history ? opts->history : DEFAULT_HISTORY;
	m->ring = xcalloc(m->cap, sizeof(*m->ring));
	m->threads = threads_new();
	m->stacks = stacks_new();
	counts_init(&m->pending);
	counts_init(&m->pending_resolved);
	counts_init(&m->pending_offcpu);
	counts_init(&m->pending_offcpu_resolved);
	counts_init(&m->pending_states);
	counts_init(&m->total_counts);
	counts_init(&m->total_offcpu);
	counts_init(&m->total_states);
	counts_init(&m->pids);
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
	counts_fini(&m->pending_states);
	counts_fini(&m->total_counts);
	counts_fini(&m->total_offcpu);
	counts_fini(&m->total_states);
	counts_fini(&m->pids);
	free(m->exited_pids);
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

	note_pid(m, s->pid);
	thread = threads_see(m->threads, s->pid, s->tid, s->comm, s->pcomm, s->time_ns);
	raw = stacks_add_raw(m->stacks, s->pid, s->user, s->nr_user, s->kernel, s->nr_kernel,
			     s->flags);
	counts_add(&m->pending, thread, raw, w);
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

void model_add_offcpu_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			       const char *pcomm, uint32_t stack, uint64_t ns)
{
	uint32_t thread = threads_see(m->threads, pid, tid, comm, pcomm, 0);

	counts_add(&m->pending_offcpu_resolved, thread, stack, ns);
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
	for (size_t i = 0; i < t->nr_states; i++)
		if (t->states[i].thread < nr_threads && t->states[i].stack < MODEL_STATE_NR)
			counts_add(&m->pending_states, t->states[i].thread, t->states[i].stack,
				   t->states[i].count);
}

void model_add_lost(struct model *m, enum model_lost kind, uint64_t n)
{
	if (kind < MODEL_LOST_NR)
		m->cur.lost[kind] += n;
}

void model_note_thread(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		       const char *pcomm)
{
	threads_see(m->threads, pid, tid, comm, pcomm, 0);
}

void model_thread_exit(struct model *m, uint32_t tid)
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
	threads_exit(m->threads, tid);
}

static void forget_exited(struct model *m)
{
	for (size_t i = 0; i < m->nr_exited; i++) {
		struct tick_count *c = counts_find(&m->pids, m->exited_pids[i], 0);

		if (m->syms)
			syms_forget_pid(m->syms, m->exited_pids[i]);
		/* A reused pid is a new process: read its maps again. */
		if (c)
			c->count = 0;
	}
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
	return c.v;
}

int model_close_tick(struct model *m, uint64_t end_ns)
{
	struct tick *t;

	stacks_resolve(m->stacks, m->syms);
	if (m->len == m->cap) {
		tick_free_layers(&m->ring[m->head]);
		m->head = (m->head + 1) % m->cap;
		m->len--;
	}
	t = &m->ring[(m->head + m->len++) % m->cap];
	*t = m->cur;
	t->seq = m->next_seq++;
	t->end_ns = end_ns > t->start_ns ? end_ns : t->start_ns;
	t->counts = close_layer(m, &m->pending, &m->pending_resolved, &m->total_counts,
				&t->nr_counts);
	t->offcpu = close_layer(m, &m->pending_offcpu, &m->pending_offcpu_resolved,
				&m->total_offcpu, &t->nr_offcpu);
	t->states = close_layer(m, NULL, &m->pending_states, &m->total_states, &t->nr_states);

	m->total.seq = t->seq;
	m->total.end_ns = t->end_ns;
	m->total.samples += t->samples;
	m->total.truncated += t->truncated;
	for (int k = 0; k < MODEL_LOST_NR; k++)
		m->total.lost[k] += t->lost[k];
	m->total.counts = m->total_counts.v;
	m->total.nr_counts = m->total_counts.nr;
	m->total.offcpu = m->total_offcpu.v;
	m->total.nr_offcpu = m->total_offcpu.nr;
	m->total.states = m->total_states.v;
	m->total.nr_states = m->total_states.nr;

	counts_clear(&m->pending);
	counts_clear(&m->pending_resolved);
	counts_clear(&m->pending_offcpu);
	counts_clear(&m->pending_offcpu_resolved);
	counts_clear(&m->pending_states);
	memset(&m->cur, 0, sizeof(m->cur));
	m->cur.start_ns = t->end_ns;
	forget_exited(m);
	return 0;
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
