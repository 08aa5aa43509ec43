// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <math.h>
#include <string.h>

#include "golayout.h"
#include "golocate.h"
#include "gomem.h"
#include "goprof.h"

#define MAX_NSTK 1024
#define MEMPROFILE 1 /* bucket types (mprof.go) */
#define BLOCKPROFILE 2
#define MUTEXPROFILE 3
#define LOGICAL_STACK_SENTINEL UINT64_MAX /* runtime/tracestack.go */

static uint64_t rd64(const uint8_t *p, int32_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

/* A scaled value as an int64: clamped (a corrupt bucket's counts can be anything). */
static int64_t clamp64(double x)
{
	if (!(x > 0))
		return 0;
	return x < 9.2e18 ? (int64_t)x : INT64_MAX;
}

void goprof_scale_heap(int64_t count, int64_t bytes, int64_t rate, int64_t *out_count,
		       int64_t *out_bytes)
{
	double avg, scale;

	if (count <= 0 || bytes <= 0) {
		*out_count = *out_bytes = 0;
		return;
	}
	if (rate <= 1) {
		*out_count = count;
		*out_bytes = bytes;
		return;
	}
	avg = (double)bytes / (double)count;
	scale = 1.0 / (1.0 - exp(-avg / (double)rate));
	*out_count = clamp64((double)count * scale);
	*out_bytes = clamp64((double)bytes * scale);
}

int goprof_read_gc(struct gomem *m, const struct golayout *l, const struct golocate *loc,
		   uint32_t prev_numgc, struct goroutines_gc *out)
{
	uint64_t ms = loc->var[GOVAR_MEMSTATS], gc = loc->var[GOVAR_GCCONTROLLER];
	uint64_t pauses[256], total = 0;
	uint32_t numgc = 0;

	memset(out, 0, sizeof(*out));
	if (ms) {
		struct gomem_req q[3] = {
			{ .addr = ms + l->off[GOL_MS_NUMGC], .buf = &numgc, .len = 4 },
			{ .addr = ms + l->off[GOL_MS_PAUSE_NS], .buf = pauses, .len = sizeof(pauses) },
			{ .addr = ms + l->off[GOL_MS_PAUSE_TOTAL_NS], .buf = &total, .len = 8 },
		};

		if (gomem_readv(m, q, 3) == 3) {
			uint32_t since = prev_numgc == UINT32_MAX || numgc < prev_numgc
						 ? 0
						 : numgc - prev_numgc;

			out->numgc = numgc;
			out->collections = since;
			out->pause_total_ns = total;
			if (numgc)
				out->pause_last_ns = pauses[(numgc - 1) % 256];
			/* the ring holds the newest 256 pauses */
			for (uint32_t i = 0; i < since && i < 256; i++) {
				uint64_t p = pauses[(numgc - 1 - i) % 256];

				if (p > out->pause_max_ns)
					out->pause_max_ns = p;
			}
			out->known |= GOROUTINES_GC_COUNTS;
		}
	}
	if (gc) {
		int32_t percent = 0;
		int64_t limit = 0;
		uint64_t live = 0, marked = 0, goal = 0;
		struct gomem_req q[5] = {
			{ .addr = gc + l->off[GOL_GC_PERCENT], .buf = &percent, .len = 4 },
			{ .addr = gc + l->off[GOL_GC_MEMORY_LIMIT], .buf = &limit, .len = 8 },
			{ .addr = gc + l->off[GOL_GC_HEAP_LIVE], .buf = &live, .len = 8 },
			{ .addr = gc + l->off[GOL_GC_HEAP_MARKED], .buf = &marked, .len = 8 },
			{ .addr = gc + l->off[GOL_GC_HEAP_GOAL], .buf = &goal, .len = 8 },
		};

		if (gomem_readv(m, q, 5) == 5) {
			out->gc_percent = percent;
			out->memory_limit = limit;
			out->heap_live = live;
			out->heap_marked = marked;
			/* ^0 when GOGC=off */
			out->heap_goal = goal == UINT64_MAX ? 0 : goal;
			out->known |= GOROUTINES_GC_HEAP | GOROUTINES_GC_KNOBS;
		}
	}
	if (!out->known)
		return m->fatal ? m->fatal : -ENOENT;
	return 0;
}

int goprof_memprofile_rate(struct gomem *m, const struct golocate *loc, int64_t *rate,
			   bool *disabled)
{
	uint8_t off = 0;
	int r;

	*rate = -1;
	*disabled = false;
	if (!loc->var[GOVAR_MEMPROFILERATE])
		return -ENOENT;
	r = gomem_read(m, loc->var[GOVAR_MEMPROFILERATE], rate, 8);
	if (r || *rate < 0 || *rate > (int64_t)1 << 40) {
		/* not a rate: say unknown rather than scale by it */
		*rate = -1;
		return r ? r : -EINVAL;
	}
	if (loc->var[GOVAR_DISABLEMEMPROF] && !gomem_read(m, loc->var[GOVAR_DISABLEMEMPROF], &off, 1))
		*disabled = off != 0;
	return 0;
}

int goprof_rates(struct gomem *m, const struct golocate *loc, int64_t *block, int64_t *mutex)
{
	*block = *mutex = -1;
	if (loc->var[GOVAR_BLOCKRATE] && gomem_read(m, loc->var[GOVAR_BLOCKRATE], block, 8))
		*block = -1;
	if (loc->var[GOVAR_MUTEXRATE] && gomem_read(m, loc->var[GOVAR_MUTEXRATE], mutex, 8))
		*mutex = -1;
	return 0;
}

/* Adds the memRecordCycle at p to sum[4] (allocs, frees, alloc_bytes, free_bytes). */
static void add_cycle(const struct golayout *l, const uint8_t *p, uint64_t sum[4])
{
	/* unsigned: the runtime's own counters wrap the same way */
	sum[0] += rd64(p, l->off[GOL_MRC_ALLOCS]);
	sum[1] += rd64(p, l->off[GOL_MRC_FREES]);
	sum[2] += rd64(p, l->off[GOL_MRC_ALLOC_BYTES]);
	sum[3] += rd64(p, l->off[GOL_MRC_FREE_BYTES]);
}

struct walk {
	struct gomem *m;
	const struct golayout *l;
	const struct golocate *loc;
	enum goheap_kind kind;
	int64_t rate;
	double ticks_per_ns;
	uint64_t cycle_index; /* the cycle being flushed, UINT64_MAX none */
	bool all_cycles;      /* no GC yet: every cycle counts */
	bool bad;
};

/* One bucket at cur: its stack into pcs, its values into v, the next one into *next. Returns
 * the stack depth, 0 when the bucket is not sound. *active: it has data of a finished GC. */
static uint32_t read_bucket(struct walk *w, uint64_t cur, uint64_t *pcs, int64_t *v,
			    uint64_t *next, bool *active)
{
	static const uint64_t types[GOHEAP_NR] = { MEMPROFILE, BLOCKPROFILE, MUTEXPROFILE };
	const struct golayout *l = w->l;
	int32_t hsize = l->off[GOL_B_SIZE];
	int32_t rsize = w->kind == GOHEAP_HEAP ? l->off[GOL_MR_SIZE] : l->off[GOL_BR_SIZE];
	uint8_t buf[128 + MAX_NSTK * 8 + 256];
	const uint8_t *rec;
	uint64_t nstk, typ;

	if ((cur & 7) || gomem_read(w->m, cur, buf, hsize))
		return 0;
	typ = rd64(buf, l->off[GOL_B_TYP]);
	nstk = rd64(buf, l->off[GOL_B_NSTK]);
	if (typ != types[w->kind] || !nstk || nstk > MAX_NSTK)
		return 0;
	if (gomem_read(w->m, cur + hsize, buf + hsize, nstk * 8 + rsize))
		return 0;
	memcpy(pcs, buf + hsize, nstk * 8);
	rec = buf + hsize + nstk * 8;
	/* Go 1.23+: a stack whose PCs are already inline-expanded starts with ^0 (the runtime's
	 * logicalStackSentinel): the runtime's own lock contention in the mutex profile
	 * (_LostContendedRuntimeLock), recorded whenever a runtime lock is contended while the
	 * mutex profile is on — more often the busier the host */
	if (pcs[0] == LOGICAL_STACK_SENTINEL) {
		memmove(pcs, pcs + 1, --nstk * 8);
		if (!nstk)
			return 0;
	}
	for (uint64_t i = 0; i < nstk; i++)
		if (pcs[i] < w->loc->text_lo || pcs[i] >= w->loc->text_hi)
			return 0;
	memset(v, 0, GOHEAP_VALUES * sizeof(*v));
	if (w->kind == GOHEAP_HEAP) {
		uint64_t s[4] = { 0 };

		add_cycle(l, rec + l->off[GOL_MR_ACTIVE], s);
		*active = s[0] || s[1];
		if (w->all_cycles) {
			for (int c = 0; c < 3; c++)
				add_cycle(l, rec + l->off[GOL_MR_FUTURE] + c * l->off[GOL_MRC_SIZE], s);
		} else if (w->cycle_index != UINT64_MAX) {
			add_cycle(l, rec + l->off[GOL_MR_FUTURE] +
					     w->cycle_index * l->off[GOL_MRC_SIZE], s);
		}
		goprof_scale_heap((int64_t)(s[0] - s[1]), (int64_t)(s[2] - s[3]), w->rate, &v[0],
				  &v[1]);
		goprof_scale_heap((int64_t)s[0], (int64_t)s[2], w->rate, &v[2], &v[3]);
	} else {
		uint64_t cnt = rd64(rec, l->off[GOL_BR_COUNT]);
		int64_t cycles = (int64_t)rd64(rec, l->off[GOL_BR_CYCLES]);
		double c;

		if (l->flags & GOL_BLOCK_COUNT_FLOAT)
			memcpy(&c, &cnt, sizeof(c));
		else
			c = (double)(int64_t)cnt;
		v[0] = isfinite(c) && c >= 0 && c < 1e18 ? (int64_t)llround(c) : 0;
		v[1] = w->ticks_per_ns > 0 ? clamp64(cycles / w->ticks_per_ns) : cycles;
		*active = true;
	}
	*next = rd64(buf, l->off[GOL_B_ALLNEXT]);
	return (uint32_t)nstk;
}

int goprof_read_buckets(struct gomem *m, const struct golayout *l, const struct golocate *loc,
			enum goheap_kind kind, int64_t rate, double ticks_per_ns,
			void (*fn)(void *arg, const uint64_t *pcs, uint32_t n, const int64_t *v),
			void *arg, bool *bad)
{
	static const enum goelf_var heads[GOHEAP_NR] = { GOVAR_MBUCKETS, GOVAR_BBUCKETS,
							  GOVAR_XBUCKETS };
	struct walk w = { .m = m, .l = l, .loc = loc, .kind = kind, .rate = rate,
			  .ticks_per_ns = ticks_per_ns, .cycle_index = UINT64_MAX };
	uint64_t head, cur, next, mark, pcs[MAX_NSTK];
	int64_t v[GOHEAP_VALUES];
	int n = 0;

	*bad = false;
	if ((unsigned)kind >= GOHEAP_NR || !loc->var[heads[kind]])
		return -ENOENT;
	if (l->off[GOL_B_SIZE] <= 0 || l->off[GOL_B_SIZE] > 128 || l->off[GOL_MR_SIZE] <= 0 ||
	    l->off[GOL_MR_SIZE] > 256 || l->off[GOL_BR_SIZE] <= 0 || l->off[GOL_BR_SIZE] > 256)
		return -EINVAL;
	if (gomem_u64(m, loc->var[heads[kind]], &head))
		return m->fatal ? m->fatal : -EFAULT;
	if (kind == GOHEAP_HEAP) {
		uint32_t c;
		bool active = false;

		/* between a GC's mProf_NextCycle and mProf_Flush: add the cycle being flushed */
		if (loc->var[GOVAR_MPROFCYCLE] && !gomem_u32(m, loc->var[GOVAR_MPROFCYCLE], &c))
			w.cycle_index = (c >> 1) % 3;
		/* no finished GC has data yet: MemProfile then adds up every cycle */
		for (cur = head; cur && !active && n < GOPROF_MAX_BUCKETS; cur = next, n++)
			if (!read_bucket(&w, cur, pcs, v, &next, &active))
				break;
		w.all_cycles = !active;
		n = 0;
	}
	for (cur = head, mark = 0; cur && n < GOPROF_MAX_BUCKETS; cur = next, n++) {
		bool active;
		uint32_t nstk;

		/* the runtime only prepends: a list that comes back to itself is not its list
		 * (Brent: the bucket at each power of two, compared with what follows) */
		if (cur == mark) {
			*bad = true;
			break;
		}
		if (!(n & (n - 1)))
			mark = cur;
		nstk = read_bucket(&w, cur, pcs, v, &next, &active);
		if (!nstk) {
			*bad = true;
			break;
		}
		fn(arg, pcs, nstk, v);
	}
	return n;
}

