// SPDX-License-Identifier: GPL-2.0-only
#include <string.h>

#include "intern.h"
#include "threads.h"
#include "xalloc.h"

#define SLOT_EMPTY UINT32_MAX
#define SLOT_DELETED (UINT32_MAX - 1)

struct threads {
	struct thread *v;
	size_t nr, cap;
	struct intern *names;
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

uint32_t threads_see(struct threads *t, uint32_t pid, uint32_t tid, const char *comm,
		     const char *pcomm, uint64_t now_ns)
{
	bool found;
	size_t i = find_slot(t, tid, &found);
	struct thread *th;

	if (found) {
		th = &t->v[t->slots[i]];
		if (th->pid == pid) {
			if (comm && *comm)
				th->comm = intern_str(t->names, comm);
			if (pcomm && *pcomm)
				th->process = intern_str(t->names, pcomm);
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
	}
	t->v = xgrow(t->v, &t->cap, t->nr + 1, sizeof(*t->v));
	th = &t->v[t->nr];
	th->pid = pid;
	th->tid = tid;
	th->comm = intern_str(t->names, comm && *comm ? comm : "?");
	th->process = intern_str(t->names, pcomm && *pcomm ? pcomm : (pid == tid ? th->comm : "?"));
	th->first_ns = now_ns;
	th->last_ns = now_ns;
	th->exited = false;
	if (t->slots[i] == SLOT_EMPTY)
		t->used++;
	t->slots[i] = t->nr++;
	if (t->used * 2 >= t->nslots)
		rehash(t);
	return t->nr - 1;
}

void threads_exit(struct threads *t, uint32_t tid)
{
	bool found;
	size_t i = find_slot(t, tid, &found);

	if (!found)
		return;
	t->v[t->slots[i]].exited = true;
	t->slots[i] = SLOT_DELETED;
}

uint32_t threads_count(const struct threads *t)
{
	return t->nr;
}

const struct thread *threads_get(const struct threads *t, uint32_t idx)
{
	return idx < t->nr ? &t->v[idx] : NULL;
}
