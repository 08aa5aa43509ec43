// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "model/model.h"
#include "model/xalloc.h"
#include "probes/sched_acct.h"
#include "probes/sched_state.h"

_Static_assert(SCHED_RUNNING == MODEL_STATE_RUNNING && SCHED_RUNNABLE == MODEL_STATE_RUNNABLE &&
		   SCHED_LOCK == MODEL_STATE_LOCK && SCHED_IO == MODEL_STATE_IO &&
		   SCHED_POLL == MODEL_STATE_POLL && SCHED_SLEEP == MODEL_STATE_SLEEP &&
		   SCHED_OTHER == MODEL_STATE_OTHER && SCHED_NR_STATES == MODEL_STATE_WAIT,
	       "sched states follow enum model_state (wait is decided here, not in BPF)");
_Static_assert(sizeof(struct sched_thread) == 136, "sched_thread layout");
_Static_assert(offsetof(struct sched_block_rec, frames) == SCHED_BLOCK_HDR_SIZE,
	       "sched_block_rec header layout");
_Static_assert(sizeof(struct sched_block_rec) == SCHED_BLOCK_MAX_SIZE, "sched_block_rec layout");
_Static_assert(sizeof(struct sched_exit_rec) == 64 + 8 * SCHED_NR_STATES, "sched_exit_rec layout");

#define STRIP_SCAN 8 /* tracepoint noise is at most this many frames deep */
#define GC_PASSES 2  /* forget what two passes in a row did not see */

enum kind { KIND_THREAD = 1, KIND_BLOCK, KIND_WAKER, KIND_NR };

/* A thread (key: tid, born_ns), an open block or the waker of a block whose record has not come
 * yet (key: tid, since_ns) we remember. */
struct item {
	uint64_t key2;
	uint64_t last_pass;
	uint32_t tid;
	uint32_t pid;
	uint32_t next; /* hash chain: index + 1, 0 ends */
	uint8_t kind;  /* 0: free */
	char comm[SCHED_COMM_LEN + 1];
	char pcomm[SCHED_COMM_LEN + 1];
	union {
		struct {
			uint64_t reported[SCHED_NR_STATES]; /* totals already reported */
			uint64_t last_now; /* the pass that reported them (0: none yet) */
			/* futex time of blocks with stacks since the last report, by what they
			 * were waiting for, and what its last such block was (lock or wait) */
			uint64_t lock_ns, wait_ns;
			uint32_t last_class; /* 0: none yet */
		} th;
		struct {
			uint64_t flushed; /* ns of the block already reported */
			uint64_t *frames; /* user then kernel (already stripped), leaf first */
			uint64_t born;    /* its thread's born_ns */
			uint32_t nr_user, nr_kernel, flags, reason;
		} bl;
		struct {
			uint64_t *frames; /* the waker's user then kernel (stripped), leaf first */
			uint32_t nr_user, nr_kernel, flags; /* MODEL_SAMPLE_* */
			uint32_t pid, tid; /* the waker; comm holds its name */
		} wk;
	};
};

struct sched_acct {
	struct sched_acct_opts o;
	uint64_t now, pass;
	uint64_t first_now; /* the first pass's now: a session's first pass is the window's start */
	struct item *items;
	size_t nr_items, cap_items; /* items[0..nr_items) in use or on the free list */
	uint32_t free_head;	    /* index + 1 */
	uint32_t *heads;	    /* nbuckets, index + 1 */
	size_t nbuckets, count[KIND_NR]; /* count[kind] */
	uint64_t clipped_ns;	    /* time that did not fit between two passes (see report()) */
};

static uint32_t hash(uint8_t kind, uint32_t tid, uint64_t key2)
{
	uint64_t h = ((uint64_t)tid << 3 | kind) * 0x9e3779b97f4a7c15ull;

	h ^= key2 * 0xc2b2ae3d27d4eb4full;

	return (uint32_t)(h ^ h >> 29);
}

static void rehash(struct sched_acct *a, size_t nb)
{
	free(a->heads);
	a->heads = xcalloc(nb, sizeof(*a->heads));
	a->nbuckets = nb;
	for (size_t i = 0; i < a->nr_items; i++) {
		struct item *it = &a->items[i];
		uint32_t b;

		if (!it->kind)
			continue;
		b = hash(it->kind, it->tid, it->key2) & (nb - 1);
		it->next = a->heads[b];
		a->heads[b] = (uint32_t)i + 1;
	}
}

static struct item *find(const struct sched_acct *a, uint8_t kind, uint32_t tid, uint64_t key2)
{
	uint32_t i = a->heads[hash(kind, tid, key2) & (a->nbuckets - 1)];

	while (i) {
		struct item *it = &a->items[i - 1];

		if (it->kind == kind && it->tid == tid && it->key2 == key2)
			return it;
		i = it->next;
	}
	return NULL;
}

static struct item *insert(struct sched_acct *a, uint8_t kind, uint32_t tid, uint64_t key2)
{
	struct item *it;
	uint32_t idx, b;

	if (a->count[KIND_THREAD] + a->count[KIND_BLOCK] + a->count[KIND_WAKER] + 1 > a->nbuckets)
		rehash(a, a->nbuckets * 2);
	if (a->free_head) {
		idx = a->free_head - 1;
		a->free_head = a->items[idx].next;
	} else {
		a->items = xgrow(a->items, &a->cap_items, a->nr_items + 1, sizeof(*a->items));
		idx = (uint32_t)a->nr_items++;
	}
	it = &a->items[idx];
	memset(it, 0, sizeof(*it));
	it->kind = kind;
	it->tid = tid;
	it->key2 = key2;
	it->last_pass = a->pass;
	b = hash(kind, tid, key2) & (a->nbuckets - 1);
	it->next = a->heads[b];
	a->heads[b] = idx + 1;
	a->count[kind]++;
	return it;
}

static void remove_item(struct sched_acct *a, struct item *it)
{
	uint32_t idx = (uint32_t)(it - a->items), *p;

	p = &a->heads[hash(it->kind, it->tid, it->key2) & (a->nbuckets - 1)];
	while (*p && *p != idx + 1)
		p = &a->items[*p - 1].next;
	if (*p)
		*p = it->next;
	if (it->kind == KIND_BLOCK)
		free(it->bl.frames);
	if (it->kind == KIND_WAKER)
		free(it->wk.frames);
	a->count[it->kind]--;
	memset(it, 0, sizeof(*it));
	it->next = a->free_head;
	a->free_head = idx + 1;
}

static void copy_comm(char dst[SCHED_COMM_LEN + 1], const char *src)
{
	memcpy(dst, src, SCHED_COMM_LEN);
	dst[SCHED_COMM_LEN] = '\0';
}

int sched_acct_new(const struct sched_acct_opts *opts, struct sched_acct **out)
{
	struct sched_acct *a = xcalloc(1, sizeof(*a));

	if (opts)
		a->o = *opts;
	a->nbuckets = 256;
	a->heads = xcalloc(a->nbuckets, sizeof(*a->heads));
	*out = a;
	return 0;
}

void sched_acct_free(struct sched_acct *a)
{
	if (!a)
		return;
	for (size_t i = 0; i < a->nr_items; i++) {
		if (a->items[i].kind == KIND_BLOCK)
			free(a->items[i].bl.frames);
		if (a->items[i].kind == KIND_WAKER)
			free(a->items[i].wk.frames);
	}
	free(a->items);
	free(a->heads);
	free(a);
}

uint32_t sched_acct_strip(const uint64_t *kernel, uint32_t nr, uint64_t lo, uint64_t hi)
{
	if (!lo || hi <= lo)
		return 0;
	for (uint32_t i = 0; i < nr && i < STRIP_SCAN; i++)
		if (kernel[i] >= lo && kernel[i] < hi)
			return i + 1;
	return 0;
}

static uint32_t model_flags(uint32_t stk)
{
	uint32_t f = 0;

	if (stk & SCHED_STK_USER_FAILED)
		f |= MODEL_SAMPLE_USER_FAILED;
	if (stk & SCHED_STK_KERNEL_FAILED)
		f |= MODEL_SAMPLE_KERNEL_FAILED;
	if (stk & SCHED_STK_KTHREAD)
		f |= MODEL_SAMPLE_KERNEL_THREAD;
	if (stk & SCHED_STK_TRUNCATED)
		f |= MODEL_SAMPLE_TRUNCATED;
	/* A block whose stacks were not sent (sched_acct_bare()): the model names its stack
	 * "[no stack]", then its reason. */
	if (stk & SCHED_STK_DROPPED)
		f = MODEL_SAMPLE_NO_STACKS;
	return f;
}

/* What a blocked interval waited for: a futex wait is a lock or a wait, by its user frames. */
static uint32_t reason_of(struct sched_acct *a, uint32_t pid, uint32_t reason, const uint64_t *user,
			  uint32_t nr_user)
{
	if (reason != SCHED_LOCK || !a->o.classify || !nr_user)
		return reason < SCHED_NR_STATES ? reason : SCHED_OTHER;
	return a->o.classify(a->o.classify_ctx, pid, user, nr_user) == MODEL_STATE_WAIT
		       ? MODEL_STATE_WAIT
		       : SCHED_LOCK;
}

/* Blocked time of a thread's block with stacks, toward splitting its futex time. */
static void credit(struct sched_acct *a, uint32_t tid, uint64_t born, uint32_t reason,
		   uint64_t ns)
{
	struct item *it;

	if (reason != SCHED_LOCK && reason != MODEL_STATE_WAIT)
		return;
	it = find(a, KIND_THREAD, tid, born);
	if (!it)
		it = insert(a, KIND_THREAD, tid, born);
	if (reason == MODEL_STATE_WAIT)
		it->th.wait_ns += ns;
	else
		it->th.lock_ns += ns;
	it->th.last_class = reason;
}

/* Reports ns of time off the CPU in state reason with these stacks (kernel frames not stripped
 * yet). */
static void add_offcpu(struct sched_acct *a, struct model *m, const struct sched_block_rec *r,
		       const char *comm, const char *pcomm, uint64_t time_ns, uint64_t ns,
		       __u32 reason)
{
	const uint64_t *u = (const uint64_t *)r->frames, *k = u + r->nr_user;
	uint32_t skip = sched_acct_strip(k, r->nr_kernel, a->o.sched_lo, a->o.sched_hi);
	struct model_offcpu o = {
		.time_ns = time_ns,
		.pid = r->pid,
		.tid = r->tid,
		.comm = comm && *comm ? comm : NULL,
		.pcomm = pcomm && *pcomm ? pcomm : NULL,
		.user = r->nr_user ? u : NULL,
		.kernel = r->nr_kernel > skip ? k + skip : NULL,
		.nr_user = r->nr_user,
		.nr_kernel = r->nr_kernel - skip,
		.flags = model_flags(r->flags),
		.reason = (enum model_state)reason_of(a, r->pid, reason, u, r->nr_user),
		.ns = ns,
	};

	if (r->nr_user == SCHED_MAX_UFRAMES || r->nr_kernel == SCHED_MAX_KFRAMES)
		o.flags |= MODEL_SAMPLE_TRUNCATED;
	if (!ns)
		return;
	if (r->flags & SCHED_STK_DROPPED) {
		/* no frames to tell a futex lock from a wait: the way of the thread's last block
		 * with frames, and, as a block too short for stacks, left out of the split (report()
		 * gives the thread's futex time that way too) */
		const struct item *th = find(a, KIND_THREAD, r->tid, r->born_ns);

		if (o.reason == MODEL_STATE_LOCK && th && th->th.last_class)
			o.reason = (enum model_state)th->th.last_class;
	} else {
		credit(a, r->tid, r->born_ns, o.reason, ns);
	}
	model_add_offcpu(m, &o);
}

/* Reports ns of block b, in state reason at time_ns, with the stacks kept for it. */
static void add_kept(struct sched_acct *a, struct model *m, const struct item *b,
		     uint64_t time_ns, uint64_t ns, uint32_t reason)
{
	const uint64_t *k = b->bl.frames + b->bl.nr_user;
	struct model_offcpu o = {
		.time_ns = time_ns,
		.pid = b->pid,
		.tid = b->tid,
		.comm = b->comm,
		.pcomm = *b->pcomm ? b->pcomm : NULL,
		.user = b->bl.nr_user ? b->bl.frames : NULL,
		.kernel = b->bl.nr_kernel ? k : NULL,
		.nr_user = b->bl.nr_user,
		.nr_kernel = b->bl.nr_kernel,
		.flags = b->bl.flags,
		.reason = (enum model_state)reason,
		.ns = ns,
	};

	if (!ns)
		return;
	credit(a, b->tid, b->bl.born, reason, ns);
	model_add_offcpu(m, &o);
}

/* Reports an open block up to `upto` ns from its start. */
static void flush_block(struct sched_acct *a, struct model *m, struct item *b, uint64_t upto)
{
	b->last_pass = a->pass;
	if (upto <= b->bl.flushed)
		return;
	add_kept(a, m, b, a->now, upto - b->bl.flushed, b->bl.reason);
	b->bl.flushed = upto;
}

void sched_acct_begin(struct sched_acct *a, uint64_t now)
{
	if (!a->pass)
		a->first_now = now;
	a->now = now;
	a->pass++;
}

/*
 * Reports the growth of a thread's totals since what was reported, up to `now`. A thread cannot
 * spend more time than passed: when the growth since its last pass is more than the time
 * between the two (two CPUs updating one entry at once — seen for threads whose switch-outs
 * never reach the tracepoint — count an interval twice), it is scaled down to fit, in the same
 * shares, and the excess is counted (clipped_ns), never reported later.
 */
static void report(struct sched_acct *a, struct model *m, struct item *it, uint32_t tid,
		   const char *comm, const __u64 totals[SCHED_NR_STATES], uint64_t now)
{
	uint64_t d[MODEL_STATE_NR] = { 0 }, sum = 0, room, g, w;

	for (int s = 0; s < SCHED_NR_STATES; s++) {
		d[s] = totals[s] > it->th.reported[s] ? totals[s] - it->th.reported[s] : 0;
		sum += d[s];
		if (d[s])
			it->th.reported[s] = totals[s];
	}
	/*
	 * Futex time (BPF calls it lock) is a lock or a wait: blocks with stacks say which for
	 * their time; the rest (blocks too short to get stacks, or whose record comes later)
	 * goes the way of the thread's last such block.
	 */
	g = d[SCHED_LOCK];
	/* futex time and no block with stacks ever: blocked since before attach (an idle
	 * worker parked for minutes); where it is blocked now says */
	if (g > it->th.wait_ns + it->th.lock_ns && !it->th.last_class) {
		int c = a->o.classify_blocked
				? a->o.classify_blocked(a->o.classify_ctx, it->pid, tid)
				: MODEL_STATE_LOCK;

		it->th.last_class = c == MODEL_STATE_WAIT ? MODEL_STATE_WAIT : SCHED_LOCK;
	}
	w = it->th.wait_ns < g ? it->th.wait_ns : g;
	if (it->th.last_class == MODEL_STATE_WAIT && it->th.wait_ns + it->th.lock_ns < g)
		w += g - it->th.wait_ns - it->th.lock_ns;
	d[SCHED_LOCK] = g - w;
	d[MODEL_STATE_WAIT] = w;
	it->th.wait_ns = it->th.lock_ns = 0;
	/* A thread first reported after the first pass (the window's start) had no baseline:
	 * its entry may have counted from the probe's attach (events before attach), which a
	 * loaded host can put seconds before the window — no more than the window then. */
	if (it->th.last_now)
		room = now > it->th.last_now ? now - it->th.last_now : 0;
	else if (a->pass > 1 && now > a->first_now)
		room = now - a->first_now;
	else
		room = UINT64_MAX;
	if (sum > room) {
		a->clipped_ns += sum - room;
		for (int s = 0; s < MODEL_STATE_NR; s++)
			d[s] = (uint64_t)((unsigned __int128)d[s] * room / sum);
	}
	if (now > it->th.last_now)
		it->th.last_now = now;
	for (int s = 0; s < MODEL_STATE_NR; s++)
		if (d[s])
			model_add_state(m, it->pid, tid, comm, *it->pcomm ? it->pcomm : NULL,
					(enum model_state)s, d[s]);
}

bool sched_acct_wants_slot(struct sched_acct *a, uint32_t tid, const struct sched_thread *t)
{
	return sched_state_blocked(t->state) && a->now > t->since_ns &&
	       a->now - t->since_ns >= a->o.min_block_ns && !find(a, KIND_BLOCK, tid, t->since_ns);
}

bool sched_acct_thread(struct sched_acct *a, struct model *m, uint32_t tid,
		       const struct sched_thread *t)
{
	struct item *it = find(a, KIND_THREAD, tid, t->born_ns);
	__u64 totals[SCHED_NR_STATES];
	struct item *b;
	bool blocked;

	if (!it)
		it = insert(a, KIND_THREAD, tid, t->born_ns);
	it->pid = t->pid;
	it->last_pass = a->pass;
	copy_comm(it->comm, t->comm);
	copy_comm(it->pcomm, t->pcomm);
	blocked = sched_state_blocked(t->state) && a->now > t->since_ns &&
		  a->now - t->since_ns >= a->o.min_block_ns;
	b = blocked ? find(a, KIND_BLOCK, tid, t->since_ns) : NULL;
	/* the open block first: what it waits for splits this pass's futex time */
	if (b)
		flush_block(a, m, b, a->now - t->since_ns);
	sched_thread_totals(t, a->now, totals);
	report(a, m, it, tid, it->comm, totals, a->now);
	return blocked && !b;
}

bool sched_acct_open_block(struct sched_acct *a, struct model *m, uint32_t tid,
			   const struct sched_thread *t, const struct sched_block_rec *slot)
{
	uint32_t nu = slot->nr_user, nk = slot->nr_kernel, skip;
	struct item *b;

	if (slot->since_ns != t->since_ns || slot->born_ns != t->born_ns || slot->tid != tid ||
	    nu > SCHED_MAX_UFRAMES || nk > SCHED_MAX_KFRAMES || !sched_state_blocked(t->state) ||
	    a->now <= t->since_ns)
		return false;
	if (find(a, KIND_BLOCK, tid, t->since_ns))
		return false;
	skip = sched_acct_strip((const uint64_t *)slot->frames + nu, nk, a->o.sched_lo,
				a->o.sched_hi);
	b = insert(a, KIND_BLOCK, tid, t->since_ns);
	b->pid = t->pid;
	copy_comm(b->comm, slot->comm);
	copy_comm(b->pcomm, slot->pcomm);
	b->bl.nr_user = nu;
	b->bl.nr_kernel = nk - skip;
	b->bl.born = t->born_ns;
	b->bl.reason = reason_of(a, t->pid, t->state, (const uint64_t *)slot->frames, nu);
	b->bl.flags = model_flags(slot->flags);
	if (nu == SCHED_MAX_UFRAMES || nk == SCHED_MAX_KFRAMES)
		b->bl.flags |= MODEL_SAMPLE_TRUNCATED;
	b->bl.frames = xmalloc(((size_t)nu + nk - skip + 1) * sizeof(uint64_t));
	memcpy(b->bl.frames, slot->frames, nu * sizeof(uint64_t));
	memcpy(b->bl.frames + nu, slot->frames + nu + skip, (nk - skip) * sizeof(uint64_t));
	flush_block(a, m, b, a->now - t->since_ns);
	return true;
}

void sched_acct_end(struct sched_acct *a)
{
	for (size_t i = 0; i < a->nr_items; i++) {
		struct item *it = &a->items[i];

		if (it->kind && it->last_pass + GC_PASSES <= a->pass)
			remove_item(a, it);
	}
}

/* The block r (ns long) and who woke it (a KIND_WAKER item) to the model. */
static void add_wake(struct sched_acct *a, struct model *m, const struct sched_block_rec *r,
		     const char *comm, const char *pcomm, uint64_t ns, const struct item *w)
{
	const uint64_t *u = (const uint64_t *)r->frames, *k = u + r->nr_user;
	uint32_t skip = sched_acct_strip(k, r->nr_kernel, a->o.sched_lo, a->o.sched_hi);
	struct model_offcpu o = {
		.time_ns = r->end_ns,
		.pid = r->pid,
		.tid = r->tid,
		.comm = comm,
		.pcomm = pcomm && *pcomm ? pcomm : NULL,
		.user = r->nr_user ? u : NULL,
		.kernel = r->nr_kernel > skip ? k + skip : NULL,
		.nr_user = r->nr_user,
		.nr_kernel = r->nr_kernel - skip,
		.flags = model_flags(r->flags),
		.reason = r->reason < SCHED_NR_STATES ? (enum model_state)r->reason
						     : MODEL_STATE_OTHER,
		.ns = ns,
	};
	struct model_waker wk = {
		.pid = w->wk.pid,
		.tid = w->wk.tid,
		.comm = w->comm,
		.user = w->wk.nr_user ? w->wk.frames : NULL,
		.kernel = w->wk.nr_kernel ? w->wk.frames + w->wk.nr_user : NULL,
		.nr_user = w->wk.nr_user,
		.nr_kernel = w->wk.nr_kernel,
		.flags = w->wk.flags,
	};

	if (r->nr_user == SCHED_MAX_UFRAMES || r->nr_kernel == SCHED_MAX_KFRAMES)
		o.flags |= MODEL_SAMPLE_TRUNCATED;
	if (ns)
		model_add_wake(m, &o, &wk);
}

int sched_acct_waker(struct sched_acct *a, const struct sched_waker_rec *w, size_t size)
{
	const uint64_t *k;
	struct item *it;
	uint32_t skip;

	if (size < SCHED_WAKER_HDR_SIZE || w->type != SCHED_REC_WAKER ||
	    w->nr_user > SCHED_MAX_UFRAMES || w->nr_kernel > SCHED_MAX_KFRAMES ||
	    size < SCHED_WAKER_HDR_SIZE + ((size_t)w->nr_user + w->nr_kernel) * 8)
		return -EINVAL;
	it = find(a, KIND_WAKER, w->tid, w->since_ns);
	if (it)
		remove_item(a, it); /* cannot be: a block has one wakeup */
	it = insert(a, KIND_WAKER, w->tid, w->since_ns);
	it->pid = w->pid;
	copy_comm(it->comm, w->waker_comm);
	/* the tracepoint's frames up to try_to_wake_up go: its caller is who woke */
	k = (const uint64_t *)w->frames + w->nr_user;
	skip = sched_acct_strip(k, w->nr_kernel, a->o.wake_lo, a->o.wake_hi);
	it->wk.nr_user = w->nr_user;
	it->wk.nr_kernel = w->nr_kernel - skip;
	it->wk.flags = model_flags(w->flags);
	it->wk.pid = w->waker_pid;
	it->wk.tid = w->waker_tid;
	it->wk.frames = xmalloc(((size_t)it->wk.nr_user + it->wk.nr_kernel + 1) * 8);
	memcpy(it->wk.frames, w->frames, (size_t)w->nr_user * 8);
	memcpy(it->wk.frames + w->nr_user, k + skip, (size_t)it->wk.nr_kernel * 8);
	return 0;
}

int sched_acct_block(struct sched_acct *a, struct model *m, const struct sched_block_rec *r,
		     size_t size)
{
	struct item *b;
	uint64_t ns, flushed = 0;
	char comm[SCHED_COMM_LEN + 1], pcomm[SCHED_COMM_LEN + 1];

	if (size < SCHED_BLOCK_HDR_SIZE || r->type != SCHED_REC_BLOCK ||
	    r->nr_user > SCHED_MAX_UFRAMES || r->nr_kernel > SCHED_MAX_KFRAMES ||
	    size < SCHED_BLOCK_HDR_SIZE + ((size_t)r->nr_user + r->nr_kernel) * 8 ||
	    r->end_ns < r->since_ns || (r->run_ns && r->run_ns < r->end_ns))
		return -EINVAL;
	ns = r->end_ns - r->since_ns;
	b = find(a, KIND_BLOCK, r->tid, r->since_ns);
	if (b && (r->flags & SCHED_STK_DROPPED)) {
		/* its frames were dropped, but it was open at a tick: the stacks kept since then
		 * still say where it waited, and waited for a CPU after */
		if (ns > b->bl.flushed)
			add_kept(a, m, b, r->end_ns, ns - b->bl.flushed, b->bl.reason);
		if (r->run_ns > r->end_ns)
			add_kept(a, m, b, r->run_ns, r->run_ns - r->end_ns, SCHED_RUNNABLE);
		remove_item(a, b);
		b = find(a, KIND_WAKER, r->tid, r->since_ns);
		if (b)
			remove_item(a, b); /* its block's stacks are not r's: the wake cannot be told */
		return 0;
	}
	if (b) {
		flushed = b->bl.flushed;
		remove_item(a, b);
	}
	copy_comm(comm, r->comm);
	copy_comm(pcomm, r->pcomm);
	if (ns > flushed)
		add_offcpu(a, m, r, comm, pcomm, r->end_ns, ns - flushed, r->reason);
	/* who woke it, when that came first (the waker record is sent at the wakeup) */
	b = find(a, KIND_WAKER, r->tid, r->since_ns);
	if (b) {
		add_wake(a, m, r, comm, pcomm, ns, b);
		remove_item(a, b);
	}
	/* then it waited for a CPU, still in that call */
	if (r->run_ns > r->end_ns)
		add_offcpu(a, m, r, comm, pcomm, r->run_ns, r->run_ns - r->end_ns, SCHED_RUNNABLE);
	return 0;
}

int sched_acct_bare(struct sched_acct *a, struct model *m, const struct sched_bare_rec *r,
		    size_t size)
{
	struct sched_block_rec h;
	const struct item *th;

	if (size < sizeof(*r) || r->type != SCHED_REC_BARE)
		return -EINVAL;
	memset(&h, 0, SCHED_BLOCK_HDR_SIZE);
	h.type = SCHED_REC_BLOCK;
	h.pid = r->pid;
	h.tid = r->tid;
	h.reason = r->reason;
	h.born_ns = r->born_ns;
	h.since_ns = r->since_ns;
	h.end_ns = r->end_ns;
	h.run_ns = r->run_ns;
	h.flags = SCHED_STK_DROPPED;
	/* the names its thread had at the last pass (none for one born since: the model's) */
	th = find(a, KIND_THREAD, r->tid, r->born_ns);
	if (th) {
		memcpy(h.comm, th->comm, SCHED_COMM_LEN);
		memcpy(h.pcomm, th->pcomm, SCHED_COMM_LEN);
	}
	return sched_acct_block(a, m, &h, SCHED_BLOCK_HDR_SIZE);
}

int sched_acct_exit(struct sched_acct *a, struct model *m, const struct sched_exit_rec *r,
		    size_t size)
{
	char comm[SCHED_COMM_LEN + 1], pcomm[SCHED_COMM_LEN + 1];
	struct item *it;
	uint32_t tid;
	bool brief;

	if (size < sizeof(*r) || r->type != SCHED_REC_EXIT)
		return -EINVAL;
	it = find(a, KIND_THREAD, r->tid, r->born_ns);
	copy_comm(comm, r->comm);
	copy_comm(pcomm, r->pcomm);
	if (it) {
		/* what happened since its last pass */
		report(a, m, it, r->tid, *comm ? comm : NULL, r->acc_ns, r->time_ns);
		remove_item(a, it);
	} else {
		/* Born and gone between two passes, within SCHED_ACCT_SHORT_NS: counted in the
		 * process's one [short-lived] row, so a program that makes a thousand threads a
		 * second does not make the model a thousand rows a second. */
		uint64_t sum = 0, room = UINT64_MAX, ns;

		brief = r->time_ns >= r->born_ns && r->time_ns - r->born_ns < SCHED_ACCT_SHORT_NS;
		tid = brief ? SCHED_ACCT_SHORT_TID(r->pid) : r->tid;
		/* no more than the window (see report()) */
		for (int s = 0; s < SCHED_NR_STATES; s++)
			sum += r->acc_ns[s];
		if (a->pass)
			room = r->time_ns > a->first_now ? r->time_ns - a->first_now : 0;
		if (sum > room)
			a->clipped_ns += sum - room;
		for (int s = 0; s < SCHED_NR_STATES; s++) {
			ns = sum > room ? (uint64_t)((unsigned __int128)r->acc_ns[s] * room / sum)
					: r->acc_ns[s];
			if (ns)
				model_add_state(m, r->pid, tid,
						brief ? "[short-lived]" : *comm ? comm : NULL,
						*pcomm ? pcomm : NULL, (enum model_state)s, ns);
		}
	}
	/* a brief thread's time went to [short-lived], but other probes may have named it (a
	 * sample, a heap event): that thread is gone too, and a process's main thread gone means
	 * its maps and memory entry can be forgotten */
	/* at its time: a heap event or a sample of it that another ring brings later must not
	 * make it live again */
	model_thread_gone(m, r->pid, r->tid, r->time_ns);
	/* the process is gone (its main thread exits last): so is its [short-lived] row, or a
	 * host starting hundreds of processes a second keeps a live row for each */
	if (r->tid == r->pid)
		model_thread_exit_at(m, SCHED_ACCT_SHORT_TID(r->pid), r->time_ns);
	return 0;
}

uint64_t sched_acct_clipped_ns(const struct sched_acct *a)
{
	return a->clipped_ns;
}

size_t sched_acct_bytes(const struct sched_acct *a)
{
	return sizeof(*a) + a->cap_items * sizeof(*a->items) + a->nbuckets * sizeof(*a->heads);
}

size_t sched_acct_nr_threads(const struct sched_acct *a)
{
	return a->count[KIND_THREAD];
}

size_t sched_acct_nr_blocks(const struct sched_acct *a)
{
	return a->count[KIND_BLOCK];
}
