// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "golocate.h"
#include "gomem.h"
#include "model/xalloc.h"

#define MAX_SCAN (8u << 20)   /* bytes of one section read for a scan */
#define MAX_CANDIDATES 8192
#define MAX_NSTK 1024         /* the runtime's maxProfStackDepth (1.23; 32 before) */
#define BUCKET_LINKS 8        /* allnext links checked after a bucket candidate */
#define G_CHECK 8             /* gs checked after allgs[0] */
#define GSCAN 0x1000u
#define BATCH 1024            /* candidates whose first bytes one system call reads */
#define USER_END (1ull << 56) /* no user address (x86-64 with 5-level paging, arm64) is above */

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

/* The bytes of the g struct the reader needs: everything up to the last field it reads. */
static size_t g_span(const struct golayout *l)
{
	int32_t end = 0;

	for (int f = GOL_G_STACK_LO; f <= GOL_G_LOCKEDM; f++)
		if (l->off[f] != GOL_ABSENT && l->off[f] + 8 > end)
			end = l->off[f] + 8;
	return end;
}

bool golocate_g_sane(const struct golayout *l, const uint8_t *g, size_t len)
{
	uint32_t status;
	uint64_t lo, hi, sp;

	if (len < g_span(l))
		return false;
	status = rd32(g, l->off[GOL_G_ATOMICSTATUS]) & ~GSCAN;
	if (status > 9 || status == 5 || status == 7)
		return false;
	if (status == 0 || status == 6) /* idle, dead: the rest may be stale */
		return true;
	lo = rd64(g, l->off[GOL_G_STACK_LO]);
	hi = rd64(g, l->off[GOL_G_STACK_HI]);
	if (!lo || lo >= hi || hi - lo > (1ull << 30) || (lo & 7) || (hi & 7))
		return false;
	if (!rd64(g, l->off[GOL_G_GOID]))
		return false;
	sp = rd64(g, l->off[GOL_G_SCHED_SP]);
	/* parked: the saved sp is on its stack (running ones have a stale one) */
	if ((status == 1 || status == 4 || status == 9) && sp && (sp < lo || sp > hi))
		return false;
	return true;
}

/* Reads [start, start + len) of the process into a new buffer (capped); NULL when it fails. */
static uint8_t *read_region(struct gomem *m, uint64_t start, uint64_t len, size_t *got)
{
	uint8_t *buf;

	if (!len)
		return NULL;
	if (len > MAX_SCAN)
		len = MAX_SCAN;
	buf = xmalloc(len);
	if (gomem_read(m, start, buf, len)) {
		free(buf);
		return NULL;
	}
	*got = len;
	return buf;
}

/* Reads a g at addr into buf (g_span bytes): sane? */
static bool read_g(struct gomem *m, const struct golayout *l, uint64_t addr, uint8_t *buf)
{
	size_t span = g_span(l);

	if (!addr || (addr & 7) || gomem_read(m, addr, buf, span))
		return false;
	return golocate_g_sane(l, buf, span);
}

/* The slice header at addr is allgs: its first g is goroutine 1, not dead, and the next ones
 * are sane gs with distinct ids. */
static bool allgs_ok(struct gomem *m, const struct golayout *l, uint64_t ptr, uint64_t n)
{
	uint64_t gs[G_CHECK + 1], ids[G_CHECK + 1];
	size_t k = n < G_CHECK + 1 ? n : G_CHECK + 1;
	uint8_t g[1024];
	uint32_t status;

	if (g_span(l) > sizeof(g) || gomem_read(m, ptr, gs, k * 8))
		return false;
	for (size_t i = 0; i < k; i++) {
		if (!read_g(m, l, gs[i], g))
			return false;
		status = rd32(g, l->off[GOL_G_ATOMICSTATUS]) & ~GSCAN;
		ids[i] = rd64(g, l->off[GOL_G_GOID]);
		if (i == 0 && (ids[0] != 1 || status == 0 || status == 6))
			return false;
		for (size_t j = 0; j < i; j++)
			if (status != 6 && status != 0 && ids[j] == ids[i])
				return false;
	}
	return true;
}

int golocate_scan_allgs(struct gomem *m, const struct golayout *l, uint64_t start, uint64_t len,
			uint64_t *out)
{
	size_t got = 0, found = 0;
	uint8_t *buf = read_region(m, start, len, &got);
	uint64_t hit = 0, hit_ptr = 0;

	*out = 0;
	if (!buf)
		return -ENOENT;
	for (size_t off = 0; off + 24 <= got && found < 2; off += 8) {
		uint64_t p = rd64(buf, off), n = rd64(buf, off + 8), c = rd64(buf, off + 16);

		if (!p || (p & 7) || !n || n > c || c > (1u << 24))
			continue;
		if (!allgs_ok(m, l, p, n))
			continue;
		if (found && p == hit_ptr)
			continue;
		hit = start + off;
		hit_ptr = p;
		found++;
	}
	free(buf);
	if (found != 1)
		return -ENOENT;
	*out = hit;
	return 0;
}

/* A bucket's header h of the given type (0: any): its type and stack depth in range. */
static bool bucket_head_ok(const struct golayout *l, const uint8_t *h, uint64_t typ,
			   uint64_t *t, uint64_t *nstk)
{
	*t = rd64(h, l->off[GOL_B_TYP]);
	*nstk = rd64(h, l->off[GOL_B_NSTK]);
	return *t >= 1 && *t <= 3 && (!typ || *t == typ) && *nstk && *nstk <= MAX_NSTK;
}

/* The rest of bucket_ok(), its header h read: its stack in .text. */
static bool bucket_rest_ok(struct gomem *m, const struct golayout *l, uint64_t addr,
			   const uint8_t *h, uint64_t text_lo, uint64_t text_hi, uint64_t *typ,
			   uint64_t *allnext)
{
	uint64_t stk[MAX_NSTK], t, nstk;

	if (!bucket_head_ok(l, h, *typ, &t, &nstk) ||
	    gomem_read(m, addr + l->off[GOL_B_SIZE], stk, nstk * 8))
		return false;
	for (uint64_t i = 0; i < nstk; i++)
		if (stk[i] < text_lo || stk[i] >= text_hi)
			return false;
	*typ = t;
	*allnext = rd64(h, l->off[GOL_B_ALLNEXT]);
	return true;
}

/* One bucket at addr of the given type (0: any) with its stack in .text; its type and next
 * link in *typ and *allnext. */
static bool bucket_ok(struct gomem *m, const struct golayout *l, uint64_t addr, uint64_t text_lo,
		      uint64_t text_hi, uint64_t *typ, uint64_t *allnext)
{
	uint8_t h[128];
	int32_t hsize = l->off[GOL_B_SIZE];

	if (!addr || (addr & 7) || hsize <= 0 || hsize > (int32_t)sizeof(h) ||
	    gomem_read(m, addr, h, hsize))
		return false;
	return bucket_rest_ok(m, l, addr, h, text_lo, text_hi, typ, allnext);
}

struct bucket_scan {
	unsigned found[3];
	uint64_t head[3], out[3];
};

/* The word at start + off points at p, whose header h was read: the head of a list? */
static void bucket_candidate(struct gomem *m, const struct golayout *l, uint64_t start,
			     size_t off, uint64_t p, const uint8_t *h, uint64_t text_lo,
			     uint64_t text_hi, struct bucket_scan *sc)
{
	uint64_t typ = 0, next, q;
	int links = 0;

	if (!bucket_rest_ok(m, l, p, h, text_lo, text_hi, &typ, &next))
		return;
	/* the list goes on with buckets of the same type (or ends) */
	for (q = next; q && links < BUCKET_LINKS; links++) {
		uint64_t t = typ;

		if (!bucket_ok(m, l, q, text_lo, text_hi, &t, &q))
			break;
	}
	if (q && links < BUCKET_LINKS)
		return;
	if (sc->found[typ - 1] && sc->head[typ - 1] == p)
		return;
	sc->found[typ - 1]++;
	sc->head[typ - 1] = p;
	sc->out[typ - 1] = start + off;
}

/*
 * Every word of the section that could point at a bucket is a candidate: their headers are read
 * BATCH at a time, in one system call each (not one each: a Go program's .bss holds tens of
 * thousands of pointers), and only those whose type and depth fit are looked at further.
 */
int golocate_scan_buckets(struct gomem *m, const struct golayout *l, uint64_t start,
			  uint64_t len, uint64_t text_lo, uint64_t text_hi, uint64_t out[3])
{
	int32_t hsize = l->off[GOL_B_SIZE];
	struct bucket_scan sc = { 0 };
	struct gomem_req *reqs = NULL;
	size_t got = 0, nr = 0, next = 0;
	uint8_t *buf, *heads = NULL;
	size_t *offs = NULL;
	int n = 0;

	out[0] = out[1] = out[2] = 0;
	if (hsize <= 0 || hsize > 128)
		return 0;
	buf = read_region(m, start, len, &got);
	if (!buf)
		return 0;
	reqs = xmalloc(BATCH * sizeof(*reqs));
	offs = xmalloc(BATCH * sizeof(*offs));
	heads = xmalloc((size_t)BATCH * hsize);
	while (next + 8 <= got) {
		/* the next BATCH candidates, in the section's order */
		for (nr = 0; next + 8 <= got && nr < BATCH; next += 8) {
			uint64_t p = rd64(buf, next);

			if (!p || (p & 7) || p < 4096 || p >= USER_END)
				continue;
			offs[nr] = next;
			reqs[nr] = (struct gomem_req){ .addr = p, .buf = heads + nr * hsize,
						       .len = (uint32_t)hsize };
			nr++;
		}
		gomem_readv(m, reqs, nr);
		for (size_t i = 0; i < nr && !m->fatal; i++) {
			uint64_t t, nstk;

			if (reqs[i].res || !bucket_head_ok(l, reqs[i].buf, 0, &t, &nstk))
				continue;
			bucket_candidate(m, l, start, offs[i], reqs[i].addr, reqs[i].buf, text_lo,
					 text_hi, &sc);
		}
		if (m->fatal)
			break;
	}
	free(heads);
	free(offs);
	free(reqs);
	free(buf);
	for (int t = 0; t < 3; t++) {
		out[t] = sc.found[t] == 1 ? sc.out[t] : 0; /* none, or ambiguous */
		n += out[t] != 0;
	}
	return n;
}

/* A string header at p: the string's bytes equal s. */
static bool header_is(struct gomem *m, const uint8_t *p, const char *s)
{
	char buf[64];
	uint64_t ptr = rd64(p, 0), len = rd64(p, 8);

	if (len != strlen(s) || len >= sizeof(buf) || !ptr)
		return false;
	return !gomem_read(m, ptr, buf, len) && !memcmp(buf, s, len);
}

int golocate_scan_waitreasons(struct gomem *m, uint64_t start, uint64_t len, uint64_t *out)
{
	size_t got = 0, found = 0;
	uint8_t *buf = read_region(m, start, len, &got);

	*out = 0;
	if (!buf)
		return -ENOENT;
	for (size_t off = 0; off + 64 <= got; off += 8) {
		if (rd64(buf, off + 8) != 0 || rd64(buf, off + 24) != 17 || rd64(buf, off + 40) != 7 ||
		    rd64(buf, off + 56) != 23)
			continue;
		if (!header_is(m, buf + off + 16, "GC assist marking") ||
		    !header_is(m, buf + off + 32, "IO wait") ||
		    !header_is(m, buf + off + 48, "chan receive (nil chan)"))
			continue;
		found++;
		*out = start + off;
	}
	free(buf);
	if (found != 1) {
		*out = 0;
		return -ENOENT;
	}
	return 0;
}

int golocate_scan_memstats(struct gomem *m, const struct golayout *l, uint64_t start,
			   uint64_t len, uint64_t *out)
{
	size_t got = 0, found = 0, span = 0;
	uint8_t *buf = read_region(m, start, len, &got);
	uint64_t now = (uint64_t)time(NULL) * 1000000000ull;
	const int fields[] = { GOL_MS_NUMGC, GOL_MS_PAUSE_NS, GOL_MS_PAUSE_END,
			       GOL_MS_PAUSE_TOTAL_NS, GOL_MS_LAST_GC_UNIX };

	*out = 0;
	if (!buf)
		return -ENOENT;
	for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
		int32_t o = l->off[fields[i]] + (fields[i] == GOL_MS_PAUSE_NS ||
						 fields[i] == GOL_MS_PAUSE_END ? 256 * 8 : 8);

		if (l->off[fields[i]] == GOL_ABSENT) {
			free(buf);
			return -ENOENT;
		}
		if ((size_t)o > span)
			span = o;
	}
	for (size_t off = 0; off + span <= got; off += 8) {
		const uint8_t *b = buf + off;
		uint32_t numgc = rd32(b, l->off[GOL_MS_NUMGC]), i;
		uint64_t last, pend, total, pause;

		if (!numgc || numgc > 100000000u)
			continue;
		i = (numgc - 1) % 256;
		last = rd64(b, l->off[GOL_MS_LAST_GC_UNIX]);
		if (last < 946684800ull * 1000000000ull || last > now + 3600ull * 1000000000ull)
			continue;
		pend = rd64(b, l->off[GOL_MS_PAUSE_END] + 8 * i);
		total = rd64(b, l->off[GOL_MS_PAUSE_TOTAL_NS]);
		pause = rd64(b, l->off[GOL_MS_PAUSE_NS] + 8 * i);
		if (pend != last || pause > total)
			continue;
		found++;
		*out = start + off;
	}
	free(buf);
	if (found != 1) {
		*out = 0;
		return -ENOENT;
	}
	return 0;
}

static bool printable(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || (unsigned char)s[i] > 0x7e)
			return false;
	return true;
}

int golocate_read_waitreasons(struct golocate *loc, struct gomem *m, uint64_t addr, unsigned n)
{
	uint8_t hdr[GOLOCATE_MAX_WAIT * 16];
	unsigned i;

	if (n > GOLOCATE_MAX_WAIT)
		n = GOLOCATE_MAX_WAIT;
	if (!n || gomem_read(m, addr, hdr, n * 16))
		return -EFAULT;
	for (i = 0; i < loc->nr_wait; i++)
		free(loc->wait[i]);
	loc->nr_wait = 0;
	for (i = 0; i < n; i++) {
		uint64_t ptr = rd64(hdr, i * 16), len = rd64(hdr, i * 16 + 8);
		char s[65];

		if (i && (!len || len > 64 || !ptr))
			break; /* the end of the array (a scan does not know its length) */
		if (len && (gomem_read(m, ptr, s, len) || !printable(s, len)))
			break;
		s[len] = '\0';
		loc->wait[loc->nr_wait++] = xstrdup(s);
	}
	loc->wait_builtin = false;
	return loc->nr_wait > 2 ? 0 : -EINVAL;
}

static void builtin_waitreasons(struct golocate *loc, const char *version)
{
	unsigned n;
	const char *const *names = golayout_wait_reasons(version, &n);

	for (unsigned i = 0; i < loc->nr_wait; i++)
		free(loc->wait[i]);
	loc->nr_wait = 0;
	for (unsigned i = 0; names && i < n && i < GOLOCATE_MAX_WAIT; i++)
		loc->wait[loc->nr_wait++] = xstrdup(names[i]);
	loc->wait_builtin = true;
}

/* The process range of a section, or false when the binary has none. */
static bool section(const struct goelf *g, enum goelf_sec s, uint64_t bias, uint64_t *start,
		    uint64_t *len)
{
	*start = g->sec[s].addr + bias;
	*len = g->sec[s].size;
	return g->sec[s].size != 0;
}

static void scan_buckets(struct golocate *loc, const struct goelf *g, uint64_t bias,
			 struct gomem *m)
{
	static const enum goelf_sec secs[] = { GOELF_BSS, GOELF_NOPTRBSS };
	static const enum goelf_var vars[] = { GOVAR_MBUCKETS, GOVAR_BBUCKETS, GOVAR_XBUCKETS };

	for (size_t s = 0; s < sizeof(secs) / sizeof(secs[0]); s++) {
		uint64_t start, len, out[3];

		if (!section(g, secs[s], bias, &start, &len))
			continue;
		golocate_scan_buckets(m, &g->layout, start, len, loc->text_lo, loc->text_hi, out);
		for (int t = 0; t < 3; t++) {
			if (loc->var[vars[t]] || !out[t])
				continue;
			loc->var[vars[t]] = out[t];
			loc->src[vars[t]] = GOELF_SCAN;
		}
	}
}

static void scan_memstats(struct golocate *loc, const struct goelf *g, uint64_t bias,
			  struct gomem *m)
{
	static const enum goelf_sec secs[] = { GOELF_NOPTRBSS, GOELF_BSS };

	for (size_t s = 0; s < sizeof(secs) / sizeof(secs[0]) && !loc->var[GOVAR_MEMSTATS]; s++) {
		uint64_t start, len, out;

		if (section(g, secs[s], bias, &start, &len) &&
		    !golocate_scan_memstats(m, &g->layout, start, len, &out)) {
			loc->var[GOVAR_MEMSTATS] = out;
			loc->src[GOVAR_MEMSTATS] = GOELF_SCAN;
		}
	}
}

static const enum goelf_var scanned[] = { GOVAR_MBUCKETS, GOVAR_BBUCKETS, GOVAR_XBUCKETS,
					   GOVAR_MEMSTATS };

/* v is unknown, and worth a scan now: always on a retry; at a first look (skip_missed) unless
 * the first look at another process of the executable did not find it. */
static bool wanted(const struct golocate *loc, const struct goelf *g, enum goelf_var v,
		   bool skip_missed)
{
	return !loc->var[v] && !(skip_missed && g->scan_missed[v]);
}

static void scan_missing(struct golocate *loc, const struct goelf *g, uint64_t bias,
			 struct gomem *m, bool skip_missed)
{
	if (wanted(loc, g, GOVAR_MBUCKETS, skip_missed) ||
	    wanted(loc, g, GOVAR_BBUCKETS, skip_missed) ||
	    wanted(loc, g, GOVAR_XBUCKETS, skip_missed)) {
		scan_buckets(loc, g, bias, m);
		loc->scans++;
	}
	if (wanted(loc, g, GOVAR_MEMSTATS, skip_missed)) {
		scan_memstats(loc, g, bias, m);
		loc->scans++;
	}
}

void golocate_retry(struct golocate *loc, const struct goelf *g, uint64_t bias, struct gomem *m)
{
	scan_missing(loc, g, bias, m, false);
}

void golocate_first_missed(const struct golocate *loc, struct goelf *g)
{
	for (size_t i = 0; i < sizeof(scanned) / sizeof(scanned[0]); i++)
		if (!loc->var[scanned[i]])
			g->scan_missed[scanned[i]] = true;
}

int golocate_run(struct golocate *loc, const struct goelf *g, uint64_t bias, struct gomem *m,
		 unsigned flags, char *err, size_t errlen)
{
	uint64_t start, len, hdr[3];
	unsigned nwait;

	memset(loc, 0, sizeof(*loc));
	loc->text_lo = g->sec[GOELF_TEXT].addr + bias;
	loc->text_hi = loc->text_lo + g->sec[GOELF_TEXT].size;
	if (g->goexit) {
		loc->goexit = g->goexit + bias;
		loc->goexit_end = g->goexit_end + bias;
	}
	if (!g->have_layout) {
		snprintf(err, errlen, "%s", g->layout_error);
		return -ENOENT;
	}
	for (int v = 0; v < GOVAR_NR && !(flags & GOLOCATE_SCAN_ONLY); v++) {
		if (!g->var[v])
			continue;
		loc->var[v] = g->var[v] + bias;
		loc->src[v] = g->var_src[v];
	}
	if (!loc->var[GOVAR_ALLGS] && section(g, GOELF_BSS, bias, &start, &len) &&
	    !golocate_scan_allgs(m, &g->layout, start, len, &loc->var[GOVAR_ALLGS]))
		loc->src[GOVAR_ALLGS] = GOELF_SCAN;
	if (!loc->var[GOVAR_ALLGS]) {
		if (m->fatal)
			snprintf(err, errlen, "cannot read its memory: %s", strerror(-m->fatal));
		else
			snprintf(err, errlen, "runtime.allgs not found (%s binary; the scan of .bss "
					      "found no goroutine list)",
				 g->has_symtab ? "unexpected" : "stripped");
		return -ENOENT;
	}
	/* whatever found it, the list must look like one: this checks the layout too */
	if (gomem_read(m, loc->var[GOVAR_ALLGS], hdr, sizeof(hdr)) || !hdr[1] || hdr[1] > hdr[2] ||
	    !allgs_ok(m, &g->layout, hdr[0], hdr[1])) {
		if (m->fatal)
			snprintf(err, errlen, "cannot read its memory: %s", strerror(-m->fatal));
		else
			snprintf(err, errlen, "runtime.allgs (%s) does not hold goroutines with the "
					      "%s layout of %s",
				 goelf_src_name(loc->src[GOVAR_ALLGS]),
				 golayout_source_name(g->layout_src), g->version);
		return -ENOENT;
	}
	if (flags & GOLOCATE_SCAN_ONLY)
		loc->goexit = loc->goexit_end = 0;
	scan_missing(loc, g, bias, m, !(flags & GOLOCATE_SCAN_ONLY));
	if (!loc->var[GOVAR_WAITREASONS] && section(g, GOELF_DATA, bias, &start, &len) &&
	    !golocate_scan_waitreasons(m, start, len, &loc->var[GOVAR_WAITREASONS]))
		loc->src[GOVAR_WAITREASONS] = GOELF_SCAN;
	if (g->var_size[GOVAR_WAITREASONS] && loc->src[GOVAR_WAITREASONS] != GOELF_SCAN) {
		nwait = g->var_size[GOVAR_WAITREASONS] / 16;
	} else {
		/* a scan does not know the length: up to the end of .data */
		uint64_t end = g->sec[GOELF_DATA].addr + bias + g->sec[GOELF_DATA].size;
		uint64_t a = loc->var[GOVAR_WAITREASONS];

		nwait = a && a < end ? (end - a) / 16 : 0;
		if (nwait > GOLOCATE_MAX_WAIT)
			nwait = GOLOCATE_MAX_WAIT;
	}
	if (!loc->var[GOVAR_WAITREASONS] ||
	    golocate_read_waitreasons(loc, m, loc->var[GOVAR_WAITREASONS], nwait))
		builtin_waitreasons(loc, g->version);
	return 0;
}

void golocate_share(struct golocate *loc, struct goelf *g, uint64_t bias)
{
	for (int v = 0; v < GOVAR_NR; v++) {
		if (loc->var[v] && !g->var[v] && loc->src[v] == GOELF_SCAN) {
			g->var[v] = loc->var[v] - bias;
			g->var_src[v] = GOELF_SCAN;
		} else if (!loc->var[v] && g->var[v]) {
			loc->var[v] = g->var[v] + bias;
			loc->src[v] = g->var_src[v];
		}
	}
}

void golocate_fini(struct golocate *loc)
{
	for (unsigned i = 0; i < loc->nr_wait; i++)
		free(loc->wait[i]);
	loc->nr_wait = 0;
}
