// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "counts.h"
#include "intern.h"
#include "threads.h"
#include "xalloc.h"

#define GONE_NO_ENTRY UINT32_MAX /* an exit seen before any event of the thread */
#define SLOT_EMPTY UINT32_MAX
#define SLOT_DELETED (UINT32_MAX - 1)

struct threads {
	struct thread *v;
	size_t nr, cap;
	struct intern *names;
	/* recent exits (tid → index), this tick's and the last one's */
	struct counts gone[2];
	/* released indexes, to give out again */
	uint32_t *free_v;
	size_t nr_free, cap_free;
	/* live tid → index: open addressing over indexes, with tombstones for exits */
	uint32_t *slots;
	size_t nslots, used;
};

static size_t tid_hash(uint32_t tid)
{
	return (size_t)tid * 0x9e3779b97f4a7c15ull >> 20;
}

struct threads *threads_new(void)
{
	struct threads *t = xcalloc(1, sizeof(*t));

	t->names = intern_new();
	counts_init(&t->gone[0]);
	counts_init(&t->gone[1]);
	t->nslots = 1024;
	t->slots = xmalloc(t->nslots * sizeof(*t->slots));
	memset(t->slots, 0xff, t->nslots * sizeof(*t->slots));
	return t;
}

void threads_free(struct threads *t)
{
	if (!t)
		return;
	intern_free(t->names);
	counts_fini(&t->gone[0]);
	counts_fini(&t->gone[1]);
	free(t->free_v);
	free(t->v);
	free(t->slots);
	free(t);
}

/* The slot holding tid, or the empty slot where it would go. */
static size_t find_slot(const struct threads *t, uint32_t tid, bool *found)
{
	size_t mask = t->nslots - 1, i = tid_hash(tid) & mask, tomb = SIZE_MAX;

	for (;; i = (i + 1) & mask) {
		uint32_t s = t->slots[i];

		if (s == SLOT_EMPTY) {
			*found = false;
			return tomb != SIZE_MAX ? tomb : i;
		}
		if (s == SLOT_DELETED) {
			if (tomb == SIZE_MAX)
				tomb = i;
		} else if (t->v[s].tid == tid) {
			*found = true;
			return i;
		}
	}
}

static void rehash(struct threads *t)
{
	size_t n = t->nslots, mask;
	uint32_t *old = t->slots;
	size_t live = 0;

	for (size_t i = 0; i < t->nslots; i++)
		live += old[i] < SLOT_DELETED;
	while (live * 2 >= n)
		n *= 2;
	mask = n - 1;
	t->slots = xmalloc(n * sizeof(*t->slots));
	memset(t->slots, 0xff, n * sizeof(*t->slots));
	for (size_t i = 0; i < t->nslots; i++) {
		size_t j;

		if (old[i] >= SLOT_DELETED)
			continue;
		for (j = tid_hash(t->v[old[i]].tid) & mask; t->slots[j] != SLOT_EMPTY;
		     j = (j + 1) & mask)
			;
		t->slots[j] = old[i];
	}
	free(old);
	t->nslots = n;
	t->used = live;
}

uint32_t threads_find(const struct threads *t, uint32_t tid)
{
	bool found;
	size_t i = find_slot(t, tid, &found);

	return found ? t->slots[i] : UINT32_MAX;
}

/* A new entry (not in the live slots). */
static uint32_t add(struct threads *t, uint32_t pid, uint32_t tid, const char *comm,
		    const char *pcomm, uint64_t now_ns)
{
	struct thread *th;
	uint32_t idx, gen = 0;

	if (t->nr_free) {
		idx = t->free_v[--t->nr_free];
		gen = t->v[idx].gen + 1;
	} else {
		t->v = xgrow(t->v, &t->cap, t->nr + 1, sizeof(*t->v));
		idx = (uint32_t)t->nr++;
	}
	th = &t->v[idx];
	th->gen = gen;
	th->pid = pid;
	th->tid = tid;
	th->comm = intern_str(t->names, comm && *comm ? comm : "?");
	th->process = intern_str(t->names, pcomm && *pcomm ? pcomm : (pid == tid ? th->comm : "?"));
	th->first_ns = now_ns;
	th->last_ns = now_ns;
	th->exit_ns = 0;
	th->exited = false;
	th->released = false;
	return idx;
}

/* The names an event brings, when it has them: the latest wins (prctl, exec). */
static void name(struct threads *t, struct thread *th, const char *comm, const char *pcomm)
{
	if (comm && *comm)
		th->comm = intern_str(t->names, comm);
	if (pcomm && *pcomm)
		th->process = intern_str(t->names, pcomm);
}

uint32_t threads_see(struct threads *t, uint32_t pid, uint32_t tid, const char *comm,
		     const char *pcomm, uint64_t now_ns)
{
	bool found;
	size_t i = find_slot(t, tid, &found);
	struct thread *th;
	uint32_t idx;

	if (found) {
		th = &t->v[t->slots[i]];
		if (th->pid == pid) {
			name(t, th, comm, pcomm);
			if (now_ns) {
				if (!th->first_ns)
					th->first_ns = now_ns;
				if (now_ns > th->last_ns)
					th->last_ns = now_ns;
			}
			return t->slots[i];
		}
		/* The tid was reused by another process: the old thread is gone. */
		th->exited = true;
		t->slots[i] = SLOT_DELETED;
		i = find_slot(t, tid, &found);
	} else {
		/*
		 * An event of a thread that just exited: it came late from another ring, or it
		 * happened after the exit tracepoint (the kernel still runs the task's exit:
		 * files, its address space). A pid comes back only after the pid space wraps:
		 * within two ticks it is this thread.
		 */
		for (int g = 0; g < 2; g++) {
			struct tick_count *c = counts_find(&t->gone[g], tid, 0);
			uint32_t gi;

			if (!c || (uint32_t)(c->count >> 32) != pid)
				continue;
			gi = (uint32_t)c->count;
			if (gi == GONE_NO_ENTRY) {
				/* its exit came first: the entry is made, already exited */
				gi = add(t, pid, tid, comm, pcomm, now_ns);
				t->v[gi].exited = true;
				t->v[gi].exit_ns = now_ns ? now_ns : 1;
				c->count = (uint64_t)pid << 32 | gi;
			} else {
				/* made by an event without names (a heap or state event of a
				 * process gone at once): a late sample brings them */
				name(t, &t->v[gi], comm, pcomm);
			}
			return gi;
		}
	}
	idx = add(t, pid, tid, comm, pcomm, now_ns);
	if (t->slots[i] == SLOT_EMPTY)
		t->used++;
	t->slots[i] = idx;
	if (t->used * 2 >= t->nslots)
		rehash(t);
	return idx;
}

void threads_exit(struct threads *t, uint32_t tid)
{
	threads_exit_at(t, tid, 0);
}

static void remember_gone(struct threads *t, uint32_t pid, uint32_t tid, uint32_t idx)
{
	struct tick_count *c = counts_find(&t->gone[0], tid, 0);
	uint64_t v = (uint64_t)pid << 32 | idx;

	if (c)
		c->count = v;
	else
		counts_add(&t->gone[0], tid, 0, v);
}

void threads_exit_at(struct threads *t, uint32_t tid, uint64_t exit_ns)
{
	bool found;
	size_t i = find_slot(t, tid, &found);
	uint32_t idx;

	if (!found)
		return;
	idx = t->slots[i];
	t->v[idx].exited = true;
	t->v[idx].exit_ns = exit_ns;
	t->slots[i] = SLOT_DELETED;
	if (exit_ns)
		remember_gone(t, t->v[idx].pid, tid, idx);
}

void threads_gone(struct threads *t, uint32_t pid, uint32_t tid, uint64_t exit_ns)
{
	bool found;
	size_t i = find_slot(t, tid, &found);

	if (found && t->v[t->slots[i]].pid == pid)
		threads_exit_at(t, tid, exit_ns ? exit_ns : 1);
	else if (!found)
		remember_gone(t, pid, tid, GONE_NO_ENTRY);
}

bool threads_releasable(const struct threads *t, uint32_t idx)
{
	const struct thread *th = idx < t->nr ? &t->v[idx] : NULL;

	if (!th || !th->exited)
		return false;
	for (int g = 0; g < 2; g++) {
		const struct tick_count *c = counts_find(&t->gone[g], th->tid, 0);

		if (c && (uint32_t)c->count == idx)
			return false;
	}
	return true;
}

void threads_release(struct threads *t, uint32_t idx)
{
	struct thread *th = idx < t->nr ? &t->v[idx] : NULL;

	if (!th || !th->exited || threads_free_slot(t, idx))
		return;
	th->released = true;
	t->free_v = xgrow(t->free_v, &t->cap_free, t->nr_free + 1, sizeof(*t->free_v));
	t->free_v[t->nr_free++] = idx;
}

bool threads_free_slot(const struct threads *t, uint32_t idx)
{
	return idx < t->nr && t->v[idx].released;
}

void threads_age(struct threads *t)
{
	struct counts old = t->gone[1];

	t->gone[1] = t->gone[0];
	t->gone[0] = old;
	counts_clear(&t->gone[0]);
}

size_t threads_bytes(const struct threads *t)
{
	return sizeof(*t) + t->cap * sizeof(*t->v) + t->nslots * sizeof(*t->slots) +
	       t->cap_free * sizeof(*t->free_v) +
	       intern_bytes(t->names) +
	       (t->gone[0].cap + t->gone[1].cap) * sizeof(struct tick_count) +
	       (t->gone[0].nslots + t->gone[1].nslots) * sizeof(uint32_t);
}

uint32_t threads_count(const struct threads *t)
{
	return t->nr;
}

const struct thread *threads_get(const struct threads *t, uint32_t idx)
{
	return idx < t->nr ? &t->v[idx] : NULL;
}
