// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <string.h>
#include <time.h>

#include "golayout.h"
#include "golocate.h"
#include "gomem.h"
#include "goread.h"
#include "model/gopclntab.h"
#include "model/xalloc.h"

#define MAX_GS (4u << 20)          /* goroutines read at most */
#define MAX_STACK (256u << 10)     /* bytes of one stack read at most */
#define DEFAULT_BUDGET (64ull << 20)
#define DEFAULT_TIME_BUDGET 100000000ull /* ns of CPU a read may spend before skipping stacks */
#define STACK_BATCH 4096
#define GSCAN 0x1000u

/* A walked stack, kept while its goroutine stays parked at the same place. */
struct centry {
	uint64_t addr, goid, pc, sp; /* the key */
	uint64_t seen_ns;            /* first seen parked there */
	uint64_t *pcs;
	uint32_t nr, flags;
	uint64_t gen;                /* the read that last used it */
};

/* What one read needs per goroutine. */
struct gslot {
	struct goread_g g;
	uint64_t lo, hi, pc, sp, bp, m;
	uint8_t *stack;  /* [sp, sp + got) of the process, when read this time */
	uint32_t got;
	int32_t cache;   /* centry index, -1 when none */
	bool want_stack;
	bool drop;
};

struct goread {
	struct goread_opts opts;
	/* the cache: entries, and an open-addressing index by g address */
	struct centry *c;
	size_t nr_c, cap_c;
	int32_t *slots;
	size_t nslots;
	uint64_t gen;
	/* buffers reused from read to read */
	uint64_t *ptrs;
	size_t cap_ptrs;
	uint8_t *gbuf, *gbuf2;
	size_t cap_gbuf, cap_gbuf2;
	struct gslot *s;
	size_t cap_s;
	struct goread_g *out;
	size_t cap_out;
	struct gomem_req *reqs;
	size_t cap_reqs;
	uint8_t *stackbuf;
	size_t cap_stackbuf;
	uint64_t *pcbuf;
	size_t cap_pcbuf;
};

const char *goread_status_name(uint32_t status)
{
	static const char *const names[] = {
		"idle", "runnable", "running", "syscall", "waiting",
		"moribund", "dead", "enqueue", "copystack", "preempted",
	};

	return status < sizeof(names) / sizeof(names[0]) ? names[status] : "unknown";
}

int goread_new(const struct goread_opts *opts, struct goread **out)
{
	struct goread *r = xcalloc(1, sizeof(*r));

	if (opts)
		r->opts = *opts;
	if (!r->opts.stack_budget)
		r->opts.stack_budget = DEFAULT_BUDGET;
	if (!r->opts.time_budget_ns)
		r->opts.time_budget_ns = DEFAULT_TIME_BUDGET;
	*out = r;
	return 0;
}

void goread_free(struct goread *r)
{
	if (!r)
		return;
	for (size_t i = 0; i < r->nr_c; i++)
		free(r->c[i].pcs);
	free(r->c);
	free(r->slots);
	free(r->ptrs);
	free(r->gbuf);
	free(r->gbuf2);
	free(r->s);
	free(r->out);
	free(r->reqs);
	free(r->stackbuf);
	free(r->pcbuf);
	free(r);
}

static uint64_t rd64(const uint8_t *p, int32_t off)
{
	uint64_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint32_t rd32(const uint8_t *p, int32_t off)
{
	uint32_t v;

	memcpy(&v, p + off, sizeof(v));
	return v;
}

static uint8_t rd8(const uint8_t *p, int32_t off)
{
	return p[off];
}

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static size_t g_span(const struct golayout *l)
{
	int32_t end = 0;

	for (int f = GOL_G_STACK_LO; f <= GOL_G_LOCKEDM; f++)
		if (l->off[f] != GOL_ABSENT && l->off[f] + 8 > end)
			end = l->off[f] + 8;
	return end;
}

static size_t hash_addr(uint64_t a, size_t nslots)
{
	return (size_t)((a >> 3) * 0x9e3779b97f4a7c15ull >> 17) & (nslots - 1);
}

static int32_t cache_find(const struct goread *r, uint64_t addr)
{
	if (!r->nslots)
		return -1;
	for (size_t i = hash_addr(addr, r->nslots);; i = (i + 1) & (r->nslots - 1)) {
		int32_t e = r->slots[i];

		if (e < 0)
			return -1;
		if (r->c[e].addr == addr)
			return e;
	}
}

/* Keeps the entries used by this read (gen) and rebuilds the index. */
static void cache_compact(struct goread *r)
{
	size_t n = 0;

	for (size_t i = 0; i < r->nr_c; i++) {
		if (r->c[i].gen != r->gen) {
			free(r->c[i].pcs);
			continue;
		}
		r->c[n++] = r->c[i];
	}
	r->nr_c = n;
	if (r->nslots < 2 * n + 16 || r->nslots > 8 * n + 64) {
		free(r->slots);
		r->nslots = 64;
		while (r->nslots < 2 * n + 16)
			r->nslots *= 2;
		r->slots = xmalloc(r->nslots * sizeof(*r->slots));
	}
	memset(r->slots, 0xff, r->nslots * sizeof(*r->slots));
	for (size_t i = 0; i < n; i++) {
		size_t j = hash_addr(r->c[i].addr, r->nslots);

		while (r->slots[j] >= 0)
			j = (j + 1) & (r->nslots - 1);
		r->slots[j] = (int32_t)i;
	}
}

/* A new entry (not indexed until the next compaction: one g appears once per read). */
static void cache_add(struct goread *r, const struct gslot *s, const uint64_t *pcs, uint32_t nr,
		      uint32_t flags, uint64_t seen_ns)
{
	struct centry *e;

	r->c = xgrow(r->c, &r->cap_c, r->nr_c + 1, sizeof(*r->c));
	e = &r->c[r->nr_c++];
	e->addr = s->g.addr;
	e->goid = s->g.goid;
	e->pc = s->pc;
	e->sp = s->sp;
	e->seen_ns = seen_ns;
	e->pcs = xmalloc((nr ? nr : 1) * sizeof(*pcs));
	memcpy(e->pcs, pcs, nr * sizeof(*pcs));
	e->nr = nr;
	e->flags = flags;
	e->gen = r->gen;
}

/*
 * The frame-pointer walk of a stack copy [sp, sp + got): pc first, then the return address of
 * each frame from bp. Returns the number of pcs; *flags gets GOREAD_TRUNCATED when the walk did
 * not reach runtime.goexit (or, with goexit unknown, a zero frame pointer).
 */
static uint32_t walk(const struct golocate *loc, uint64_t pc, uint64_t bp, uint64_t sp,
		     const uint8_t *stack, uint32_t got, uint64_t startpc, uint64_t *pcs,
		     uint32_t *flags)
{
	uint32_t n = 0;
	bool done = false;

	pcs[n++] = pc;
	/* never ran: pc is the start function and the word at sp is goexit's return address */
	if (!bp && pc == startpc && got >= 8) {
		pcs[n++] = rd64(stack, 0);
		*flags = 0;
		return n;
	}
	while (n < GOREAD_MAX_FRAMES) {
		uint64_t ret, next;

		if (bp < sp || bp & 7 || bp - sp + 16 > got)
			break;
		ret = rd64(stack, bp - sp + 8);
		next = rd64(stack, bp - sp);
		if (!ret || ret < loc->text_lo || ret >= loc->text_hi)
			break;
		pcs[n++] = ret;
		if (loc->goexit && ret > loc->goexit && ret <= loc->goexit_end) {
			done = true;
			break;
		}
		if (!next) {
			done = !loc->goexit;
			break;
		}
		if (next <= bp)
			break;
		bp = next;
	}
	*flags = done ? 0 : GOREAD_TRUNCATED;
	return n;
}

/*
 * In a syscall before Go 1.23 the runtime saves no frame pointer. The function that entered the
 * syscall (syscall.Syscall: it called entersyscall, which saved syscallpc/sp as its caller's pc
 * and sp) has its return address at syscallsp + its frame size at syscallpc (the function
 * table's pcsp) and its saved frame pointer right below: exact, when the table is there and the
 * walk from there reaches goexit. Otherwise the first slot above syscallsp holding a frame
 * pointer whose walk reaches goexit (or a zero frame pointer when goexit is unknown).
 */
static uint64_t find_bp(const struct golocate *loc, uint64_t pc, uint64_t sp,
			const uint8_t *stack, uint32_t got, uint64_t startpc)
{
	uint64_t pcs[GOREAD_MAX_FRAMES];
	uint32_t flags;
	int32_t delta;

	if (loc->pcln && !gopclntab_sp_delta(loc->pcln, pc - loc->pcln_bias, &delta) &&
	    delta >= 16 && (uint32_t)delta <= got) {
		walk(loc, 0, sp + delta - 8, sp, stack, got, startpc, pcs, &flags);
		if (!(flags & GOREAD_TRUNCATED))
			return sp + delta - 8;
	}
	for (uint32_t off = 0; off + 16 <= got && off < 4096; off += 8) {
		uint64_t next = rd64(stack, off), ret = rd64(stack, off + 8);

		if (next <= sp + off || next >= sp + got || ret < loc->text_lo ||
		    ret >= loc->text_hi)
			continue;
		walk(loc, 0, sp + off, sp, stack, got, startpc, pcs, &flags);
		if (!(flags & GOREAD_TRUNCATED))
			return sp + off;
	}
	return 0;
}

static void *grow(void *p, size_t *cap, size_t n, size_t size)
{
	return n > *cap ? xgrow(p, cap, n, size) : p;
}

/* Reads allgs: the g pointers into r->ptrs. Returns how many, or -errno. */
static long read_allgs(struct goread *r, struct gomem *m, const struct golocate *loc)
{
	uint64_t ptr, len;

	if (loc->var[GOVAR_ALLGLEN] && loc->var[GOVAR_ALLGPTR]) {
		/* the runtime's readers' order: the length, then the pointer it covers */
		struct gomem_req q[2] = {
			{ .addr = loc->var[GOVAR_ALLGLEN], .buf = &len, .len = 8 },
			{ .addr = loc->var[GOVAR_ALLGPTR], .buf = &ptr, .len = 8 },
		};

		if (gomem_readv(m, q, 2) != 2)
			return m->fatal ? m->fatal : -EFAULT;
	} else {
		uint64_t hdr[3];

		if (gomem_read(m, loc->var[GOVAR_ALLGS], hdr, sizeof(hdr)))
			return m->fatal ? m->fatal : -EFAULT;
		if (hdr[1] > hdr[2])
			return -EBADMSG;
		ptr = hdr[0];
		len = hdr[1];
	}
	if (!len)
		return 0;
	if (!ptr || (ptr & 7) || len > MAX_GS)
		return -EBADMSG;
	r->ptrs = grow(r->ptrs, &r->cap_ptrs, len, sizeof(*r->ptrs));
	if (gomem_read(m, ptr, r->ptrs, len * 8))
		return m->fatal ? m->fatal : -EFAULT;
	return (long)len;
}

#define RANGE_GAP 1024      /* gs this close are read in one range with what lies between */
#define RANGE_MAX (64 << 10)

struct gaddr {
	uint64_t addr;
	uint32_t i;
};

static int by_addr(const void *a, const void *b)
{
	const struct gaddr *x = a, *y = b;

	return (x->addr > y->addr) - (x->addr < y->addr);
}

/*
 * Reads g i (span bytes at r->ptrs[i]) into r->gbuf + i * span for every i < n; r->reqs[i].res
 * says whether it was read. The runtime allocates gs side by side in its spans, so they are
 * read as ranges of neighbours: a page is pinned once per range, not once per g, which is most
 * of what a read costs (a tick of 100,000 gs: ~4x less). A range that fails is read g by g.
 */
static void read_gs(struct goread *r, struct gomem *m, size_t n, size_t span)
{
	struct gaddr *v = xmalloc((n + 1) * sizeof(*v));
	struct gomem_req *rq = xmalloc((n + 1) * sizeof(*rq));
	size_t nr = 0, total = 0, k, j, pos;
	uint8_t *buf;

	for (size_t i = 0; i < n; i++) {
		v[i] = (struct gaddr){ r->ptrs[i], (uint32_t)i };
		r->reqs[i] = (struct gomem_req){ .addr = r->ptrs[i], .buf = r->gbuf + i * span,
						 .len = (uint32_t)span, .res = -EFAULT };
	}
	qsort(v, n, sizeof(*v), by_addr);
	/* the ranges: [v[k].addr, end) over the gs k..j-1 */
	for (k = 0; k < n; k = j) {
		uint64_t end = v[k].addr + span;

		for (j = k + 1; j < n && v[j].addr <= end + RANGE_GAP &&
				v[j].addr + span - v[k].addr <= RANGE_MAX; j++)
			if (v[j].addr + span > end)
				end = v[j].addr + span;
		rq[nr++] = (struct gomem_req){ .addr = v[k].addr, .len = (uint32_t)(end - v[k].addr) };
		total += end - v[k].addr;
	}
	buf = xmalloc(total + 1);
	for (size_t i = 0, off = 0; i < nr; i++) {
		rq[i].buf = buf + off;
		off += rq[i].len;
	}
	gomem_readv(m, rq, nr);
	/* each g out of its range, or alone when its range could not be read */
	pos = 0;
	for (size_t i = 0; i < nr && !m->fatal; i++) {
		for (; pos < n && v[pos].addr < rq[i].addr + rq[i].len; pos++) {
			struct gomem_req *g = &r->reqs[v[pos].i];

			if (!rq[i].res) {
				memcpy(g->buf, (uint8_t *)rq[i].buf + (v[pos].addr - rq[i].addr), span);
				g->res = 0;
			} else if (v[pos].addr) {
				gomem_readv(m, g, 1);
			}
		}
	}
	free(buf);
	free(rq);
	free(v);
}

/* Fills a slot from the g struct bytes; false for dead and idle gs. */
static bool parse_g(const struct golayout *l, const uint8_t *b, struct gslot *s)
{
	uint32_t status = rd32(b, l->off[GOL_G_ATOMICSTATUS]) & ~GSCAN;

	if (status == GOREAD_DEAD || status == GOREAD_IDLE)
		return false;
	s->g.status = status;
	s->g.goid = rd64(b, l->off[GOL_G_GOID]);
	s->g.parent_goid = l->off[GOL_G_PARENTGOID] != GOL_ABSENT
				   ? rd64(b, l->off[GOL_G_PARENTGOID])
				   : 0;
	s->g.waitreason = rd8(b, l->off[GOL_G_WAITREASON]);
	s->g.waitsince = (int64_t)rd64(b, l->off[GOL_G_WAITSINCE]);
	s->g.gopc = rd64(b, l->off[GOL_G_GOPC]);
	s->g.startpc = rd64(b, l->off[GOL_G_STARTPC]);
	s->g.flags = rd64(b, l->off[GOL_G_LOCKEDM]) ? GOREAD_LOCKED : 0;
	s->lo = rd64(b, l->off[GOL_G_STACK_LO]);
	s->hi = rd64(b, l->off[GOL_G_STACK_HI]);
	s->m = rd64(b, l->off[GOL_G_M]);
	if (status == GOREAD_SYSCALL) {
		s->pc = rd64(b, l->off[GOL_G_SYSCALLPC]);
		s->sp = rd64(b, l->off[GOL_G_SYSCALLSP]);
		s->bp = l->off[GOL_G_SYSCALLBP] != GOL_ABSENT ? rd64(b, l->off[GOL_G_SYSCALLBP])
							      : 0;
	} else {
		s->pc = rd64(b, l->off[GOL_G_SCHED_PC]);
		s->sp = rd64(b, l->off[GOL_G_SCHED_SP]);
		s->bp = rd64(b, l->off[GOL_G_SCHED_BP]);
	}
	s->cache = -1;
	s->stack = NULL;
	s->got = 0;
	s->drop = false;
	s->want_stack = false;
	return true;
}

/* Whether the g read again (b) is still where the first read saw it. */
static bool unchanged(const struct golayout *l, const uint8_t *b, const struct gslot *s)
{
	uint32_t status = rd32(b, l->off[GOL_G_ATOMICSTATUS]) & ~GSCAN;
	int32_t sp_off = status == GOREAD_SYSCALL ? l->off[GOL_G_SYSCALLSP] : l->off[GOL_G_SCHED_SP];
	int32_t pc_off = status == GOREAD_SYSCALL ? l->off[GOL_G_SYSCALLPC] : l->off[GOL_G_SCHED_PC];

	return status == s->g.status && rd64(b, l->off[GOL_G_GOID]) == s->g.goid &&
	       rd64(b, sp_off) == s->sp && rd64(b, pc_off) == s->pc;
}

static bool parked(uint32_t status)
{
	return status == GOREAD_RUNNABLE || status == GOREAD_WAITING ||
	       status == GOREAD_PREEMPTED || status == GOREAD_SYSCALL;
}

int goread_goroutines(struct goread *r, struct gomem *m, const struct golayout *l,
		      const struct golocate *loc, uint64_t now_ns, const struct goread_g **gs,
		      size_t *n, struct goread_stats *st)
{
	uint64_t t0 = mono_ns(), c0 = cpu_ns(), budget = r->opts.stack_budget;
	uint64_t calls0 = m->stats.calls;
	uint64_t bytes0 = m->stats.bytes;
	size_t span = g_span(l), nr_s = 0, nreq = 0, nout = 0, stack_bytes = 0;
	long len;

	memset(st, 0, sizeof(*st));
	*gs = NULL;
	*n = 0;
	r->gen++;
	len = read_allgs(r, m, loc);
	if (len < 0)
		return (int)len;

	/* 1. every g struct, in one batch of ranges */
	r->gbuf = grow(r->gbuf, &r->cap_gbuf, len * span + 1, 1);
	r->reqs = grow(r->reqs, &r->cap_reqs, len + 1, sizeof(*r->reqs));
	read_gs(r, m, len, span);
	if (m->fatal)
		return m->fatal;
	r->s = grow(r->s, &r->cap_s, len + 1, sizeof(*r->s));
	for (long i = 0; i < len; i++) {
		struct gslot *s = &r->s[nr_s];
		const uint8_t *b = r->gbuf + i * span;

		if (r->reqs[i].res || !r->ptrs[i])
			continue;
		memset(s, 0, sizeof(*s));
		s->g.addr = r->ptrs[i];
		if (!parse_g(l, b, s))
			continue;
		if (!golocate_g_sane(l, b, span)) {
			st->dropped++; /* torn while read */
			continue;
		}
		nr_s++;
	}

	/* 2. stacks: cached where the goroutine has not moved, read for the others */
	nreq = 0;
	for (size_t i = 0; i < nr_s; i++) {
		struct gslot *s = &r->s[i];
		int32_t e;

		if (!parked(s->g.status))
			continue;
		e = r->opts.no_cache ? -1 : cache_find(r, s->g.addr);
		if (e >= 0 && r->c[e].goid == s->g.goid && r->c[e].pc == s->pc &&
		    r->c[e].sp == s->sp) {
			s->cache = e;
			r->c[e].gen = r->gen;
			st->stacks_cached++;
			continue;
		}
		if (s->sp < s->lo || s->sp >= s->hi) {
			s->g.flags |= GOREAD_NO_STACK | GOREAD_TRUNCATED;
			continue;
		}
		s->got = s->hi - s->sp < MAX_STACK ? (uint32_t)(s->hi - s->sp) : MAX_STACK;
		if (stack_bytes + s->got > budget) {
			s->g.flags |= GOREAD_NO_STACK | GOREAD_SKIPPED;
			st->skipped++;
			s->got = 0;
			continue;
		}
		stack_bytes += s->got;
		s->want_stack = true;
		nreq++;
	}
	r->stackbuf = grow(r->stackbuf, &r->cap_stackbuf, stack_bytes + 1, 1);
	r->reqs = grow(r->reqs, &r->cap_reqs, nreq + nr_s + 1, sizeof(*r->reqs));
	{
		size_t k = 0, pos = 0;

		for (size_t i = 0; i < nr_s; i++) {
			struct gslot *s = &r->s[i];

			if (!s->want_stack)
				continue;
			s->stack = r->stackbuf + pos;
			r->reqs[k++] = (struct gomem_req){ .addr = s->sp, .buf = s->stack,
							   .len = s->got };
			pos += s->got;
		}
		/* in batches, until the tick's time for new stacks is spent: the others are
		 * shown without a stack this time (counted as skipped) and read next tick */
		for (size_t done = 0; done < k; done += STACK_BATCH) {
			size_t b = k - done < STACK_BATCH ? k - done : STACK_BATCH;

			if (done && cpu_ns() - c0 > r->opts.time_budget_ns) {
				for (size_t q = done; q < k; q++)
					r->reqs[q].res = -ETIME;
				break;
			}
			gomem_readv(m, r->reqs + done, b);
			if (m->fatal)
				return m->fatal;
		}
		k = 0;
		for (size_t i = 0; i < nr_s; i++) {
			struct gslot *s = &r->s[i];
			int res;

			if (!s->want_stack)
				continue;
			res = r->reqs[k++].res;
			if (res == -ETIME) {
				s->want_stack = false;
				s->g.flags |= GOREAD_NO_STACK | GOREAD_SKIPPED;
				st->skipped++;
			} else if (res) {
				s->drop = true; /* its stack went away: it moved */
				s->want_stack = false;
			}
		}
	}

	/* 3. the gs whose stacks were read, again: a g that moved meanwhile is dropped */
	r->gbuf2 = grow(r->gbuf2, &r->cap_gbuf2, nreq * span + 1, 1);
	{
		size_t k = 0;

		for (size_t i = 0; i < nr_s; i++)
			if (r->s[i].want_stack) {
				r->reqs[k] = (struct gomem_req){ .addr = r->s[i].g.addr,
								 .buf = r->gbuf2 + k * span,
								 .len = (uint32_t)span };
				k++;
			}
		gomem_readv(m, r->reqs, k);
		if (m->fatal)
			return m->fatal;
		k = 0;
		for (size_t i = 0; i < nr_s; i++) {
			struct gslot *s = &r->s[i];

			if (!s->want_stack)
				continue;
			if (r->reqs[k].res || !unchanged(l, r->gbuf2 + k * span, s))
				s->drop = true;
			k++;
		}
	}

	/* 4. running goroutines: their thread, from m.procid (m.curg must still be them) */
	{
		size_t k = 0;
		int32_t moff = l->off[GOL_M_PROCID], coff = l->off[GOL_M_CURG];
		int32_t mlen = (moff > coff ? moff : coff) + 8;
		uint8_t *mbuf;

		for (size_t i = 0; i < nr_s; i++)
			if ((r->s[i].g.status == GOREAD_RUNNING ||
			     r->s[i].g.status == GOREAD_SYSCALL) && r->s[i].m)
				k++;
		mbuf = xmalloc(k * mlen + 1);
		k = 0;
		for (size_t i = 0; i < nr_s; i++)
			if ((r->s[i].g.status == GOREAD_RUNNING ||
			     r->s[i].g.status == GOREAD_SYSCALL) && r->s[i].m) {
				r->reqs[k] = (struct gomem_req){ .addr = r->s[i].m,
								 .buf = mbuf + k * mlen,
								 .len = (uint32_t)mlen };
				k++;
			}
		gomem_readv(m, r->reqs, k);
		k = 0;
		for (size_t i = 0; i < nr_s; i++) {
			struct gslot *s = &r->s[i];

			if (!((s->g.status == GOREAD_RUNNING || s->g.status == GOREAD_SYSCALL) &&
			      s->m))
				continue;
			if (!r->reqs[k].res && rd64(mbuf + k * mlen, coff) == s->g.addr)
				s->g.tid = (uint32_t)rd64(mbuf + k * mlen, moff);
			k++;
		}
		free(mbuf);
		if (m->fatal)
			return m->fatal;
	}

	/* 5. walk what was read, cache it, and hand out the list */
	r->out = grow(r->out, &r->cap_out, nr_s + 1, sizeof(*r->out));
	r->pcbuf = grow(r->pcbuf, &r->cap_pcbuf, (size_t)GOREAD_MAX_FRAMES * 2 + 1,
			sizeof(*r->pcbuf));
	for (size_t i = 0; i < nr_s; i++) {
		struct gslot *s = &r->s[i];
		struct goread_g *o = &r->out[nout];

		if (s->drop) {
			st->dropped++;
			continue;
		}
		*o = s->g;
		if (s->g.status == GOREAD_RUNNING || s->g.status == GOREAD_COPYSTACK) {
			o->flags |= GOREAD_NO_STACK;
		} else if (s->cache >= 0) {
			const struct centry *e = &r->c[s->cache];

			o->pcs = e->pcs;
			o->nr_pcs = e->nr;
			o->flags |= e->flags;
			o->seen_ns = e->seen_ns;
		} else if (s->want_stack) {
			uint64_t bp = s->bp;
			uint32_t flags = 0, nr;

			if (s->g.status == GOREAD_SYSCALL && !bp)
				bp = find_bp(loc, s->pc, s->sp, s->stack, s->got,
					     s->g.startpc);
			nr = walk(loc, s->pc, bp, s->sp, s->stack, s->got, s->g.startpc,
				  r->pcbuf, &flags);
			st->stacks_read++;
			cache_add(r, s, r->pcbuf, nr, flags, now_ns);
			o->pcs = r->c[r->nr_c - 1].pcs;
			o->nr_pcs = nr;
			o->flags |= flags;
			o->seen_ns = now_ns;
		}
		nout++;
	}
	/* the pcs of entries added this read are stable: compaction only moves entry structs */
	cache_compact(r);
	st->goroutines = nout;
	st->bytes = m->stats.bytes - bytes0;
	st->calls = m->stats.calls - calls0;
	st->ns = mono_ns() - t0;
	*gs = r->out;
	*n = nout;
	return 0;
}
