// SPDX-License-Identifier: GPL-2.0-only
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "goroutines.h"
#include "intern.h"
#include "model.h"
#include "stacks.h"
#include "xalloc.h"

#define NONE UINT32_MAX

/* Goroutines alike in the open tick, before their stacks have names. */
struct pend_key {
	uint32_t pid, status;
	uint64_t wait;       /* interned wait reason (a pointer), 0 for none */
	uint32_t raw;        /* raw stack, NONE when it has none */
	uint32_t gopc_raw;   /* the creation site as a one-address raw stack, NONE */
	uint32_t start_raw;  /* the start function, NONE */
	uint32_t flags;      /* MODEL_SAMPLE_TRUNCATED */
};

struct pend {
	uint32_t count;
	uint64_t max_wait_ns;
};

/* A group as interned: the key is every field of struct go_group. */
struct group_key {
	uint32_t pid, status;
	uint64_t wait;
	uint32_t stack, created_by, start, flags;
};

struct goroutines {
	struct goheap *heap;
	/* the open tick */
	struct intern *pend_keys;
	struct pend *pend;
	size_t cap_pend;
	struct tick_go_proc *procs; /* reported (live) */
	size_t nr_procs, cap_procs;
	struct tick_go *replayed;   /* a replay's tick, applied at close */
	/* groups and their current counts */
	struct intern *group_keys;
	struct go_group *groups;
	uint32_t *count;
	uint64_t *oldest;
	size_t cap_groups;
	/* scratch for a close: the new count of each group, and which were touched */
	uint32_t *new_count;
	uint64_t *new_oldest;
	uint32_t *touched;
	size_t nr_touched, cap_touched;
	/* the pids that had groups after the previous close */
	uint32_t *pids;
	size_t nr_pids, cap_pids;
};

const char *goroutines_status_name(uint32_t status)
{
	static const char *const names[GOROUTINES_NR] = {
		"idle", "runnable", "running", "syscall", "waiting",
		"moribund", "dead", "enqueue", "copystack", "preempted",
	};

	return status < GOROUTINES_NR ? names[status] : "unknown";
}

const char *goroutines_heap_state_name(uint32_t state)
{
	switch (state) {
	case GOROUTINES_HEAP_ON:
		return "on";
	case GOROUTINES_HEAP_DISABLED:
		return "disabled by the linker";
	case GOROUTINES_HEAP_OFF:
		return "off";
	case GOROUTINES_HEAP_NOT_FOUND:
		return "not found";
	default:
		return "unknown";
	}
}

struct goroutines *goroutines_new(void)
{
	struct goroutines *g = xcalloc(1, sizeof(*g));

	g->heap = goheap_new();
	g->pend_keys = intern_new();
	g->group_keys = intern_new();
	return g;
}

void goroutines_tick_free(struct tick_go *tg)
{
	if (!tg)
		return;
	free(tg->procs);
	free(tg->groups);
	free(tg->heap);
	free(tg);
}

void goroutines_free(struct goroutines *g)
{
	if (!g)
		return;
	goheap_free(g->heap);
	intern_free(g->pend_keys);
	intern_free(g->group_keys);
	free(g->pend);
	free(g->procs);
	goroutines_tick_free(g->replayed);
	free(g->groups);
	free(g->count);
	free(g->oldest);
	free(g->new_count);
	free(g->new_oldest);
	free(g->touched);
	free(g->pids);
	free(g);
}

struct goheap *goroutines_heap(const struct goroutines *g)
{
	return g->heap;
}

void goroutines_proc(struct goroutines *g, const struct goroutines_proc *p)
{
	struct tick_go_proc *o;

	g->procs = xgrow(g->procs, &g->cap_procs, g->nr_procs + 1, sizeof(*g->procs));
	o = &g->procs[g->nr_procs++];
	memset(o, 0, sizeof(*o));
	o->pid = p->pid;
	o->dropped = p->dropped;
	o->stacks_read = p->stacks_read;
	o->stacks_cached = p->stacks_cached;
	o->skipped = p->skipped;
	o->read_ns = p->read_ns;
	o->bytes = p->bytes;
	/* interned at close, in the model's string table; the pointers are borrowed till then */
	o->version = p->version;
	o->error = p->error;
	o->gc = p->gc;
	o->memprofile_rate = p->memprofile_rate;
	o->heap_state = p->heap_state;
}

/* A raw stack of one address (a creation site, a start function), or NONE. */
static uint32_t one_raw(struct stacks *st, uint32_t pid, uint64_t pc)
{
	return pc ? stacks_add_raw(st, pid, &pc, 1, NULL, 0, 0) : NONE;
}

void goroutines_add(struct goroutines *g, struct model *m, uint32_t pid,
		    const struct goroutines_g *gr)
{
	struct stacks *st = model_stacks(m);
	struct pend_key k = {
		.pid = pid,
		.status = gr->status < GOROUTINES_NR ? gr->status : GOROUTINES_WAITING,
		.raw = NONE,
		.flags = gr->flags & MODEL_SAMPLE_TRUNCATED,
	};
	uint32_t id, before;

	if (k.status == GOROUTINES_WAITING && gr->wait_reason)
		k.wait = (uint64_t)(uintptr_t)stacks_str(st, gr->wait_reason);
	if (gr->nr_pcs) {
		k.raw = stacks_add_raw(st, pid, gr->pcs, gr->nr_pcs, NULL, 0, 0);
	} else if (gr->tid) {
		/* running: its thread's newest on-CPU sample, user frames only */
		uint32_t raw = model_thread_last_raw(m, gr->tid), rpid, n;
		const uint64_t *pcs = raw != NONE ? stacks_raw_user(st, raw, &rpid, &n) : NULL;

		if (pcs && n && rpid == pid)
			k.raw = stacks_add_raw(st, pid, pcs, n, NULL, 0, 0);
	}
	k.gopc_raw = one_raw(st, pid, gr->gopc ? gr->gopc - 1 : 0);
	k.start_raw = one_raw(st, pid, gr->startpc);
	before = intern_count(g->pend_keys);
	id = intern_put(g->pend_keys, &k, sizeof(k));
	if (id >= before) {
		g->pend = xgrow(g->pend, &g->cap_pend, id + 1, sizeof(*g->pend));
		memset(&g->pend[id], 0, sizeof(g->pend[id]));
	}
	g->pend[id].count++;
	if (gr->wait_ns > g->pend[id].max_wait_ns)
		g->pend[id].max_wait_ns = gr->wait_ns;
}

static void ensure_groups(struct goroutines *g, size_t n)
{
	size_t old = g->cap_groups;

	if (n <= old)
		return;
	g->groups = xgrow(g->groups, &g->cap_groups, n, sizeof(*g->groups));
	g->count = xrealloc(g->count, g->cap_groups * sizeof(*g->count));
	g->oldest = xrealloc(g->oldest, g->cap_groups * sizeof(*g->oldest));
	g->new_count = xrealloc(g->new_count, g->cap_groups * sizeof(*g->new_count));
	g->new_oldest = xrealloc(g->new_oldest, g->cap_groups * sizeof(*g->new_oldest));
	for (size_t i = old; i < g->cap_groups; i++) {
		g->count[i] = g->new_count[i] = 0;
		g->oldest[i] = g->new_oldest[i] = 0;
	}
}

/* What makes a group one: its interning key. */
static struct group_key key_of(const struct go_group *grp)
{
	return (struct group_key){
		.pid = grp->pid,
		.status = grp->status,
		.wait = (uint64_t)(uintptr_t)grp->wait_reason,
		.stack = grp->stack,
		.created_by = grp->created_by,
		.start = grp->start,
		.flags = grp->flags,
	};
}

static uint32_t intern_group(struct goroutines *g, const struct go_group *grp)
{
	struct group_key k = key_of(grp);
	uint32_t before = intern_count(g->group_keys);
	uint32_t id = intern_put(g->group_keys, &k, sizeof(k));

	if (id >= before) {
		ensure_groups(g, id + 1);
		g->groups[id] = *grp;
	}
	return id;
}

uint32_t goroutines_add_group(struct goroutines *g, const struct go_group *grp)
{
	return intern_group(g, grp);
}

/* The frame of a one-address raw stack: the innermost (inlined) one when leaf, else the
 * outermost. */
static uint32_t raw_frame(const struct stacks *st, uint32_t raw, bool innermost)
{
	uint32_t stack, nf;
	const uint32_t *f;

	if (raw == NONE || (stack = stacks_of_raw(st, raw)) == NONE)
		return NONE;
	f = stacks_frames(st, stack, &nf);
	if (!nf)
		return NONE;
	return innermost ? f[nf - 1] : f[0];
}

static bool has_prefix(const char *s, const char *p)
{
	return s && !strncmp(s, p, strlen(p));
}

/* pprof's isSystemGoroutine: started in package runtime, except runtime.main (and the signal
 * and coroutine starters). */
static bool system_start(const struct frame *f)
{
	if (!f || !f->symbolized || !has_prefix(f->function, "runtime."))
		return false;
	return strcmp(f->function, "runtime.main") && strcmp(f->function, "runtime.handleAsyncEvent") &&
	       strcmp(f->function, "runtime.corostart");
}

/* The goroutine's own start function: the first frame past runtime.goexit that is not one of
 * the compiler's go-statement wrappers ("main.main.gowrap1", Go 1.22+). */
static uint32_t start_of_stack(const struct stacks *st, const uint32_t *f, uint32_t nf)
{
	for (uint32_t i = 0; i < nf; i++) {
		const struct frame *fr = stacks_frame(st, f[i]);

		if (!fr || fr->kind == FRAME_SPECIAL)
			return NONE;
		/* "runtime.goexit", or "runtime.goexit.abi0" as .symtab names assembly */
		if (has_prefix(fr->function, "runtime.goexit") || strstr(fr->function, ".gowrap"))
			continue;
		return f[i];
	}
	return NONE;
}

static uint32_t marker(struct stacks *st, const char *text)
{
	char buf[96];
	struct frame f = { .module = "[flametop]", .function = buf, .kind = FRAME_SPECIAL };

	snprintf(buf, sizeof(buf), "[%s]", text);
	return stacks_add_frame(st, &f);
}

static struct tick_go_proc *find_proc(struct tick_go_proc *v, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i].pid == pid)
			return &v[i];
	return NULL;
}

static void touch(struct goroutines *g, uint32_t id)
{
	g->touched = xgrow(g->touched, &g->cap_touched, g->nr_touched + 1, sizeof(*g->touched));
	g->touched[g->nr_touched++] = id;
}

/* The pending goroutines of a close as groups: new_count/new_oldest of the groups touched. */
static void group_pending(struct goroutines *g, struct model *m, struct tick_go_proc *procs,
			  size_t nr_procs, uint64_t end_ns)
{
	struct stacks *st = model_stacks(m);
	uint32_t n = intern_count(g->pend_keys);
	uint32_t frames[1024];

	for (uint32_t i = 0; i < n; i++) {
		const struct pend_key *k = intern_get(g->pend_keys, i, NULL);
		const struct pend *p = &g->pend[i];
		struct tick_go_proc *proc = find_proc(procs, nr_procs, k->pid);
		uint32_t stack = k->raw != NONE ? stacks_of_raw(st, k->raw) : NONE, nf = 0, id;
		const uint32_t *f = stack != NONE ? stacks_frames(st, stack, &nf) : NULL;
		uint32_t start_raw_frame = raw_frame(st, k->start_raw, false);
		struct go_group grp = {
			.pid = k->pid,
			.status = k->status,
			.wait_reason = (const char *)(uintptr_t)k->wait,
			.created_by = raw_frame(st, k->gopc_raw, true),
			.flags = k->flags ? GO_GROUP_TRUNCATED : 0,
		};
		uint32_t len = 0;

		if (!proc || proc->error)
			continue;
		if (system_start(stacks_frame(st, start_raw_frame)))
			grp.flags |= GO_GROUP_SYSTEM;
		grp.start = f ? start_of_stack(st, f, nf) : NONE;
		if (grp.start == NONE)
			grp.start = start_raw_frame;
		/* the stack as shown: its frames (or just the start function), then the state */
		if (nf > sizeof(frames) / sizeof(frames[0]) - 1)
			nf = sizeof(frames) / sizeof(frames[0]) - 1;
		if (nf) {
			memcpy(frames, f, nf * sizeof(*f));
			len = nf;
		} else {
			if (start_raw_frame != NONE)
				frames[len++] = start_raw_frame;
			/* a parked goroutine whose stack this tick could not read (over the read's
			 * budget, or it moved): said, not taken for where it is */
			if (grp.status != GOROUTINES_RUNNING)
				frames[len++] = marker(st, "stack not read");
		}
		frames[len++] = marker(st, grp.wait_reason ? grp.wait_reason
							   : goroutines_status_name(grp.status));
		grp.stack = stacks_add_stack(st, frames, len);
		id = intern_group(g, &grp);
		if (!g->new_count[id] && !g->new_oldest[id])
			touch(g, id);
		g->new_count[id] += p->count;
		if (p->max_wait_ns && p->max_wait_ns < end_ns) {
			uint64_t since = end_ns - p->max_wait_ns;

			if (!g->new_oldest[id] || since < g->new_oldest[id])
				g->new_oldest[id] = since;
		}
		proc->goroutines += p->count;
		proc->by_status[grp.status] += p->count;
		if (grp.flags & GO_GROUP_SYSTEM)
			proc->system += p->count;
	}
}

static bool pid_in(const uint32_t *v, size_t n, uint32_t pid)
{
	for (size_t i = 0; i < n; i++)
		if (v[i] == pid)
			return true;
	return false;
}

static int by_group(const void *a, const void *b)
{
	const struct tick_go_group *x = a, *y = b;

	return (x->group > y->group) - (x->group < y->group);
}

static int by_pid(const void *a, const void *b)
{
	const struct tick_go_proc *x = a, *y = b;

	return (x->pid > y->pid) - (x->pid < y->pid);
}

/* A live close: pending goroutines become groups; groups of the processes reported (or gone)
 * that changed become the tick's entries. */
static void close_live(struct goroutines *g, struct model *m, struct tick_go *tg, uint64_t end_ns)
{
	struct stacks *st = model_stacks(m);
	uint32_t *affected = NULL, *next_pids = NULL;
	size_t nr_aff = 0, cap_aff = 0, nr_next = 0, cap_next = 0, cap_out = 0;
	uint32_t nr_groups;

	tg->procs = g->nr_procs ? xmalloc(g->nr_procs * sizeof(*tg->procs)) : NULL;
	tg->nr_procs = g->nr_procs;
	for (size_t i = 0; i < g->nr_procs; i++) {
		tg->procs[i] = g->procs[i];
		tg->procs[i].version = stacks_str(st, g->procs[i].version);
		tg->procs[i].error = stacks_str(st, g->procs[i].error);
	}
	g->nr_touched = 0;
	group_pending(g, m, tg->procs, tg->nr_procs, end_ns);

	/* every process reported, and every one that had groups and was not reported (gone) */
	for (size_t i = 0; i < tg->nr_procs; i++) {
		affected = xgrow(affected, &cap_aff, nr_aff + 1, sizeof(*affected));
		affected[nr_aff++] = tg->procs[i].pid;
	}
	for (size_t i = 0; i < g->nr_pids; i++)
		if (!pid_in(affected, nr_aff, g->pids[i])) {
			affected = xgrow(affected, &cap_aff, nr_aff + 1, sizeof(*affected));
			affected[nr_aff++] = g->pids[i];
		}
	nr_groups = intern_count(g->group_keys);
	for (uint32_t id = 0; nr_aff && id < nr_groups; id++) {
		const struct go_group *grp = &g->groups[id];
		int64_t delta;

		if (!g->count[id] && !g->new_count[id])
			continue;
		if (!pid_in(affected, nr_aff, grp->pid))
			continue;
		delta = (int64_t)g->new_count[id] - g->count[id];
		if (delta || g->new_oldest[id] != g->oldest[id]) {
			tg->groups = xgrow(tg->groups, &cap_out, tg->nr_groups + 1,
					   sizeof(*tg->groups));
			tg->groups[tg->nr_groups++] = (struct tick_go_group){
				.group = id, .delta = (int32_t)delta,
				.oldest_ns = g->new_count[id] ? g->new_oldest[id] : 0,
			};
		}
		g->count[id] = g->new_count[id];
		g->oldest[id] = g->new_count[id] ? g->new_oldest[id] : 0;
		if (g->count[id] && !pid_in(next_pids, nr_next, grp->pid)) {
			next_pids = xgrow(next_pids, &cap_next, nr_next + 1, sizeof(*next_pids));
			next_pids[nr_next++] = grp->pid;
		}
	}
	for (size_t i = 0; i < g->nr_touched; i++) {
		g->new_count[g->touched[i]] = 0;
		g->new_oldest[g->touched[i]] = 0;
	}
	/* processes gone: their profiles go too */
	for (size_t i = 0; i < g->nr_pids; i++)
		if (!find_proc(tg->procs, tg->nr_procs, g->pids[i]))
			goheap_forget(g->heap, g->pids[i]);
	free(g->pids);
	g->pids = next_pids;
	g->nr_pids = nr_next;
	g->cap_pids = cap_next;
	/* a process reported without groups keeps its profile: remember it as present */
	for (size_t i = 0; i < tg->nr_procs; i++)
		if (!pid_in(g->pids, g->nr_pids, tg->procs[i].pid)) {
			g->pids = xgrow(g->pids, &g->cap_pids, g->nr_pids + 1, sizeof(*g->pids));
			g->pids[g->nr_pids++] = tg->procs[i].pid;
		}
	free(affected);
}

/* A replayed close: the recorded changes applied to the counts, and kept as the tick's. */
static void close_replayed(struct goroutines *g, struct tick_go *tg)
{
	struct tick_go *r = g->replayed;
	uint32_t nr_groups = intern_count(g->group_keys);

	*tg = *r;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < tg->nr_groups; i++) {
		struct tick_go_group *e = &tg->groups[i];

		if (e->group >= nr_groups)
			continue;
		g->count[e->group] = (int64_t)g->count[e->group] + e->delta > 0
					     ? g->count[e->group] + e->delta
					     : 0;
		g->oldest[e->group] = g->count[e->group] ? e->oldest_ns : 0;
	}
}

void goroutines_close(struct goroutines *g, struct model *m, struct tick *t, uint64_t end_ns)
{
	struct tick_go *tg = xcalloc(1, sizeof(*tg));

	if (g->replayed) {
		close_replayed(g, tg);
		goroutines_tick_free(g->replayed);
		g->replayed = NULL;
	} else {
		close_live(g, m, tg, end_ns);
		tg->heap = goheap_close(g->heap, m, &tg->nr_heap);
	}
	if (tg->nr_procs)
		qsort(tg->procs, tg->nr_procs, sizeof(*tg->procs), by_pid);
	if (tg->nr_groups)
		qsort(tg->groups, tg->nr_groups, sizeof(*tg->groups), by_group);
	if (!tg->nr_procs && !tg->nr_groups && !tg->nr_heap) {
		goroutines_tick_free(tg);
		tg = NULL;
	}
	t->go = tg;
	/* the open tick starts over */
	intern_free(g->pend_keys);
	g->pend_keys = intern_new();
	g->nr_procs = 0;
}

void goroutines_add_tick(struct goroutines *g, const struct tick_go *in)
{
	struct tick_go *r;
	size_t base;

	if (!in)
		return;
	if (!g->replayed)
		g->replayed = xcalloc(1, sizeof(*g->replayed));
	r = g->replayed;
	/* the figures are the newest tick's; the changes of skipped ticks add up */
	r->procs = xrealloc(r->procs, (in->nr_procs + 1) * sizeof(*r->procs));
	if (in->nr_procs)
		memcpy(r->procs, in->procs, in->nr_procs * sizeof(*in->procs));
	r->nr_procs = in->nr_procs;
	base = r->nr_groups;
	r->groups = xrealloc(r->groups, (base + in->nr_groups + 1) * sizeof(*r->groups));
	if (in->nr_groups)
		memcpy(r->groups + base, in->groups, in->nr_groups * sizeof(*in->groups));
	r->nr_groups += in->nr_groups;
	base = r->nr_heap;
	r->heap = xrealloc(r->heap, (base + in->nr_heap + 1) * sizeof(*r->heap));
	if (in->nr_heap)
		memcpy(r->heap + base, in->heap, in->nr_heap * sizeof(*in->heap));
	r->nr_heap += in->nr_heap;
	goheap_apply(g->heap, in->heap, in->nr_heap);
}

void goroutines_keep(const struct goroutines *g, uint8_t *keep, uint32_t nr_stacks,
		     uint8_t *keep_frames, uint32_t nr_frames)
{
	uint32_t n = intern_count(g->group_keys);

	for (uint32_t id = 0; id < n; id++) {
		const struct go_group *grp = &g->groups[id];

		if (grp->stack < nr_stacks)
			keep[grp->stack] = 1;
		if (grp->created_by < nr_frames)
			keep_frames[grp->created_by] = 1;
		if (grp->start < nr_frames)
			keep_frames[grp->start] = 1;
	}
	goheap_keep(g->heap, keep, nr_stacks);
}

static uint32_t remapped(const uint32_t *remap, uint32_t id)
{
	return id == NONE ? NONE : remap[id];
}

void goroutines_remap(struct goroutines *g, const uint32_t *remap, const uint32_t *frame_remap)
{
	uint32_t n = intern_count(g->group_keys);

	/* the same ids, keyed by the new stack and frame ids (interned in id order, so each
	 * gets its own id back: the new keys differ where the old ones did) */
	intern_free(g->group_keys);
	g->group_keys = intern_new();
	for (uint32_t id = 0; id < n; id++) {
		struct go_group *grp = &g->groups[id];
		struct group_key k;

		grp->stack = remapped(remap, grp->stack);
		grp->created_by = remapped(frame_remap, grp->created_by);
		grp->start = remapped(frame_remap, grp->start);
		k = key_of(grp);
		intern_put(g->group_keys, &k, sizeof(k));
	}
	goheap_remap(g->heap, remap);
}

size_t goroutines_bytes(const struct goroutines *g)
{
	return sizeof(*g) + goheap_bytes(g->heap) + intern_bytes(g->pend_keys) +
	       g->cap_pend * sizeof(*g->pend) + g->cap_procs * sizeof(*g->procs) +
	       intern_bytes(g->group_keys) +
	       g->cap_groups * (sizeof(*g->groups) + 2 * sizeof(*g->count) +
				2 * sizeof(*g->oldest)) +
	       (g->cap_touched + g->cap_pids) * sizeof(uint32_t);
}

void goroutines_tick_keep(const struct tick_go *tg, uint8_t *keep, uint32_t nr_stacks)
{
	for (size_t i = 0; tg && i < tg->nr_heap; i++)
		if (tg->heap[i].stack < nr_stacks)
			keep[tg->heap[i].stack] = 1;
}

void goroutines_tick_remap(struct tick_go *tg, const uint32_t *remap)
{
	if (!tg || !tg->nr_heap)
		return;
	for (size_t i = 0; i < tg->nr_heap; i++)
		tg->heap[i].stack = remap[tg->heap[i].stack];
	qsort(tg->heap, tg->nr_heap, sizeof(*tg->heap), goheap_cmp_key);
}

const struct go_group *goroutines_group(const struct goroutines *g, uint32_t id)
{
	return id < intern_count(g->group_keys) ? &g->groups[id] : NULL;
}

uint32_t goroutines_nr_groups(const struct goroutines *g)
{
	return intern_count(g->group_keys);
}

uint32_t goroutines_count(const struct goroutines *g, uint32_t id, uint64_t *oldest_ns)
{
	if (id >= intern_count(g->group_keys)) {
		if (oldest_ns)
			*oldest_ns = 0;
		return 0;
	}
	if (oldest_ns)
		*oldest_ns = g->oldest[id];
	return g->count[id];
}
