// SPDX-License-Identifier: GPL-2.0-only
#include <stdlib.h>
#include <string.h>

#include "goheap.h"
#include "intern.h"
#include "model.h"
#include "stacks.h"
#include "xalloc.h"

/* A bucket given in the open tick, its stack not resolved yet. */
struct pend {
	uint32_t pid, kind, raw, pad;
	int64_t v[GOHEAP_VALUES];
};

struct key {
	uint32_t kind, pid, stack;
};

struct goheap {
	struct pend *pend;
	size_t nr_pend, cap_pend;
	struct key *begun; /* (kind, pid) whose profile was given whole this tick (stack unused) */
	size_t nr_begun, cap_begun;
	uint32_t *forget;
	size_t nr_forget, cap_forget;
	/* totals: id (interned key) → values */
	struct intern *keys;
	struct tick_goheap *tot;
	size_t cap_tot;
	/* scratch: the new totals of a close, by id, and the ids given */
	struct tick_goheap *next;
	bool *given;
	size_t cap_next;
	/* the current view, sorted and without zeros */
	struct tick_goheap *view;
	size_t nr_view, cap_view;
};

const char *goheap_kind_name(enum goheap_kind k)
{
	switch (k) {
	case GOHEAP_HEAP:
		return "heap";
	case GOHEAP_BLOCK:
		return "block";
	case GOHEAP_MUTEX:
		return "mutex";
	default:
		return "?";
	}
}

struct goheap *goheap_new(void)
{
	struct goheap *h = xcalloc(1, sizeof(*h));

	h->keys = intern_new();
	return h;
}

void goheap_free(struct goheap *h)
{
	if (!h)
		return;
	free(h->pend);
	free(h->begun);
	free(h->forget);
	intern_free(h->keys);
	free(h->tot);
	free(h->next);
	free(h->given);
	free(h->view);
	free(h);
}

void goheap_begin(struct goheap *h, uint32_t pid, enum goheap_kind kind)
{
	h->begun = xgrow(h->begun, &h->cap_begun, h->nr_begun + 1, sizeof(*h->begun));
	h->begun[h->nr_begun++] = (struct key){ .kind = kind, .pid = pid };
}

void goheap_add(struct goheap *h, struct model *m, uint32_t pid, enum goheap_kind kind,
		const uint64_t *pcs, uint32_t nr_pcs, const int64_t v[GOHEAP_VALUES])
{
	struct pend *p;

	if ((unsigned)kind >= GOHEAP_NR)
		return;
	h->pend = xgrow(h->pend, &h->cap_pend, h->nr_pend + 1, sizeof(*h->pend));
	p = &h->pend[h->nr_pend++];
	p->pid = pid;
	p->kind = kind;
	p->raw = stacks_add_raw(model_stacks(m), pid, pcs, nr_pcs, NULL, 0, 0);
	memcpy(p->v, v, sizeof(p->v));
}

void goheap_forget(struct goheap *h, uint32_t pid)
{
	h->forget = xgrow(h->forget, &h->cap_forget, h->nr_forget + 1, sizeof(*h->forget));
	h->forget[h->nr_forget++] = pid;
}

static uint32_t key_id(struct goheap *h, uint32_t kind, uint32_t pid, uint32_t stack)
{
	struct key k = { .kind = kind, .pid = pid, .stack = stack };
	uint32_t before = intern_count(h->keys), id = intern_put(h->keys, &k, sizeof(k));

	if (id >= before) {
		size_t old = h->cap_tot;

		if (id >= h->cap_tot) {
			h->tot = xgrow(h->tot, &h->cap_tot, id + 1, sizeof(*h->tot));
			memset(h->tot + old, 0, (h->cap_tot - old) * sizeof(*h->tot));
		}
		h->tot[id] = (struct tick_goheap){ .pid = pid, .stack = stack, .kind = kind };
	}
	return id;
}

/* A heap profile's stack as runtime/pprof writes it: without the runtime's frames at its leaf
 * (the allocator), unless nothing else is left. */
static uint32_t trim_runtime(struct stacks *st, uint32_t stack)
{
	uint32_t nf, keep;
	const uint32_t *f = stacks_frames(st, stack, &nf);

	for (keep = nf; keep > 0; keep--) {
		const struct frame *fr = stacks_frame(st, f[keep - 1]);

		if (!fr || !fr->function || strncmp(fr->function, "runtime.", 8))
			break;
	}
	return keep && keep < nf ? stacks_add_stack(st, f, keep) : stack;
}

int goheap_cmp_key(const void *a, const void *b)
{
	const struct tick_goheap *x = a, *y = b;

	if (x->kind != y->kind)
		return x->kind < y->kind ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

static bool has_totals(const struct tick_goheap *t)
{
	return t->v[0] || t->v[1] || t->v[2] || t->v[3];
}

static void rebuild_view(struct goheap *h)
{
	uint32_t n = intern_count(h->keys);

	h->nr_view = 0;
	for (uint32_t id = 0; id < n; id++) {
		const struct tick_goheap *t = &h->tot[id];

		if (!has_totals(t))
			continue;
		h->view = xgrow(h->view, &h->cap_view, h->nr_view + 1, sizeof(*h->view));
		h->view[h->nr_view++] = *t;
	}
	if (h->nr_view)
		qsort(h->view, h->nr_view, sizeof(*h->view), goheap_cmp_key);
}

static bool begun(const struct goheap *h, uint32_t kind, uint32_t pid)
{
	for (size_t i = 0; i < h->nr_begun; i++)
		if (h->begun[i].kind == kind && h->begun[i].pid == pid)
			return true;
	return false;
}

static bool forgotten(const struct goheap *h, uint32_t pid)
{
	for (size_t i = 0; i < h->nr_forget; i++)
		if (h->forget[i] == pid)
			return true;
	return false;
}

struct tick_goheap *goheap_close(struct goheap *h, struct model *m, size_t *n)
{
	struct stacks *st = model_stacks(m);
	struct tick_goheap *out = NULL;
	size_t nr = 0, cap = 0;
	uint32_t nkeys;

	*n = 0;
	if (!h->nr_begun && !h->nr_forget && !h->nr_pend)
		return NULL;
	/* the profiles given: new totals by (kind, pid, stack) */
	for (size_t i = 0; i < h->nr_pend; i++) {
		const struct pend *p = &h->pend[i];
		uint32_t stack = stacks_of_raw(st, p->raw), id;

		if (stack == UINT32_MAX)
			continue;
		if (p->kind == GOHEAP_HEAP)
			stack = trim_runtime(st, stack);
		id = key_id(h, p->kind, p->pid, stack);
		if (id >= h->cap_next) {
			size_t old = h->cap_next;

			h->next = xgrow(h->next, &h->cap_next, id + 1, sizeof(*h->next));
			h->given = xrealloc(h->given, h->cap_next * sizeof(*h->given));
			memset(h->given + old, 0, (h->cap_next - old) * sizeof(*h->given));
		}
		if (!h->given[id]) {
			h->given[id] = true;
			memset(h->next[id].v, 0, sizeof(h->next[id].v));
		}
		/* wrapping adds: values come from a process, or from a file */
		for (int k = 0; k < GOHEAP_VALUES; k++)
			h->next[id].v[k] = (int64_t)((uint64_t)h->next[id].v[k] + (uint64_t)p->v[k]);
	}
	/* changes: buckets of a profile given (absent ones went to 0), of processes gone */
	nkeys = intern_count(h->keys);
	for (uint32_t id = 0; id < nkeys; id++) {
		struct tick_goheap *t = &h->tot[id], d = *t;
		bool given = id < h->cap_next && h->given[id], change = false;

		if (given)
			h->given[id] = false;
		if (forgotten(h, t->pid))
			given = false;
		else if (!given && !begun(h, t->kind, t->pid))
			continue;
		for (int k = 0; k < GOHEAP_VALUES; k++) {
			int64_t nv = given ? h->next[id].v[k] : 0;

			d.v[k] = (int64_t)((uint64_t)nv - (uint64_t)t->v[k]);
			change |= d.v[k] != 0;
			t->v[k] = nv;
		}
		if (!change)
			continue;
		out = xgrow(out, &cap, nr + 1, sizeof(*out));
		out[nr++] = d;
	}
	h->nr_pend = h->nr_begun = h->nr_forget = 0;
	if (nr)
		qsort(out, nr, sizeof(*out), goheap_cmp_key);
	rebuild_view(h);
	*n = nr;
	return out;
}

void goheap_apply(struct goheap *h, const struct tick_goheap *d, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint32_t id;

		if (d[i].kind >= GOHEAP_NR)
			continue;
		id = key_id(h, d[i].kind, d[i].pid, d[i].stack);
		for (int k = 0; k < GOHEAP_VALUES; k++)
			h->tot[id].v[k] = (int64_t)((uint64_t)h->tot[id].v[k] + (uint64_t)d[i].v[k]);
	}
	if (n)
		rebuild_view(h);
}

void goheap_keep(const struct goheap *h, uint8_t *keep, uint32_t nr_stacks)
{
	uint32_t n = intern_count(h->keys);

	for (uint32_t id = 0; id < n; id++)
		if (has_totals(&h->tot[id]) && h->tot[id].stack < nr_stacks)
			keep[h->tot[id].stack] = 1;
}

void goheap_remap(struct goheap *h, const uint32_t *remap)
{
	uint32_t n = intern_count(h->keys);
	struct tick_goheap *old = h->tot;

	/* the keys are made again in the new ids: ids of buckets change, and the scratch of a
	 * close (cleared at its end) with them */
	intern_free(h->keys);
	h->keys = intern_new();
	h->tot = NULL;
	h->cap_tot = 0;
	for (uint32_t id = 0; id < n; id++) {
		uint32_t stack = remap[old[id].stack], nid;

		if (!has_totals(&old[id]) || stack == UINT32_MAX)
			continue;
		nid = key_id(h, old[id].kind, old[id].pid, stack);
		memcpy(h->tot[nid].v, old[id].v, sizeof(old[id].v));
	}
	free(old);
	if (h->cap_next)
		memset(h->given, 0, h->cap_next * sizeof(*h->given));
	rebuild_view(h);
}

size_t goheap_bytes(const struct goheap *h)
{
	return sizeof(*h) + intern_bytes(h->keys) + h->cap_pend * sizeof(*h->pend) +
	       h->cap_begun * sizeof(*h->begun) + h->cap_forget * sizeof(*h->forget) +
	       (h->cap_tot + h->cap_next + h->cap_view) * sizeof(*h->tot) +
	       h->cap_next * sizeof(*h->given);
}

const struct tick_goheap *goheap_current(const struct goheap *h, size_t *n)
{
	*n = h->nr_view;
	return h->view;
}
