// SPDX-License-Identifier: GPL-2.0-only
/*
 * Go's .gopclntab, read the way the Go runtime reads it (runtime/symtab.go, symtabinl.go):
 *
 *   pcHeader   magic, pad, pad, minLC (pc quantum), ptrSize, then ptrSize words: nfunc, nfiles,
 *              textStart, and the offsets of the tables below from the header
 *   funcnametab  NUL-terminated names
 *   cutab      per compilation unit, file numbers -> offsets in filetab
 *   filetab    NUL-terminated file names
 *   pctab      pc-value tables: varint pairs (zigzag value delta, pc delta / quantum)
 *   pclntab    functab: nfunc pairs {entry offset from textStart, _func offset}, then the end pc;
 *              then the _func records, each followed by its pcdata and funcdata offsets
 *
 * Inline trees are funcdata: offsets from moduledata.gofunc (the go:func.* symbol), which only
 * the module data knows. runtime.firstmoduledata starts with a pointer to the table and the
 * funcnametab slice, so it is found by scanning the writable data for those two words (or the
 * dynamic relocations that fill them in a position-independent binary), then checked.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "gopclntab.h"
#include "xalloc.h"

#define MAGIC_118 0xfffffff0u
#define MAGIC_120 0xfffffff1u
#define MAGIC_116 0xfffffffau /* Go 1.16, 1.17 */
#define MAGIC_12 0xfffffffbu  /* Go 1.2 to 1.15 */

#define PCDATA_INLTREEINDEX 2
#define FUNCDATA_INLTREE 3
#define MAX_INLINE 64         /* inlined levels followed at one pc */
#define MAX_COPY (1ull << 31) /* larger tables are refused */

/* moduledata, in words: the same up to gofunc in 1.18-1.23 but for covctrs (1.20+) */
#define MD_FUNCNAMETAB 1
#define MD_MINPC 20
#define MD_TEXT 22
#define MD_GOFUNC_118 38
#define MD_GOFUNC_120 40

#define R_X86_64_RELATIVE_ 8
#define R_AARCH64_RELATIVE_ 1027

struct centry {
	uint64_t vaddr, entry;
	struct gopclntab_scope *scopes;
	uint32_t nr;
	bool used;
};

struct gopclntab {
	uint8_t *tab; /* the table, plus a NUL so that every string ends inside the copy */
	size_t len;
	uint64_t vaddr;
	uint8_t *fdata; /* go:func.* from gofunc to the end of its section, or NULL */
	size_t fdata_len;
	uint64_t gofunc;
	uint64_t text;
	int version;
	unsigned ptr, quantum;
	uint32_t nfunc;
	size_t funcname, cutab, nr_cutab, filetab, pctab, pcln;
	size_t fsize; /* bytes of a _func record */
	uint64_t lo, hi;

	uint32_t *by_name; /* function indexes sorted by name, built at the LINEAR_LOOKUPS+1st */
	unsigned name_lookups;
	uint32_t *start_lines; /* Go 1.18/1.19: computed start line + 1, 0 not yet */

	struct centry *cache; /* gopclntab_scopes(), open addressing by vaddr */
	size_t cap, nr_cached;
};

/* A _func record, decoded. */
struct fn {
	size_t off; /* in tab */
	uint64_t entry, end;
	uint32_t idx, npcdata;
	uint8_t nfuncdata;
};

/* ---- bytes ---- */

static uint32_t le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t le64(const uint8_t *p)
{
	return (uint64_t)le32(p) | (uint64_t)le32(p + 4) << 32;
}

static uint64_t leword(const uint8_t *p, unsigned ptr)
{
	return ptr == 8 ? le64(p) : le32(p);
}

static const char *str_at(const struct gopclntab *t, size_t base, int64_t off)
{
	if (off < 0 || base > t->len || (uint64_t)off >= t->len - base)
		return NULL;
	return (const char *)t->tab + base + off;
}

/* ---- functions ---- */

static uint32_t entry_off(const struct gopclntab *t, uint32_t i)
{
	return le32(t->tab + t->pcln + (size_t)i * 8);
}

static bool get_fn(const struct gopclntab *t, uint32_t i, struct fn *f)
{
	uint32_t funcoff;
	uint64_t need;

	if (i >= t->nfunc)
		return false;
	funcoff = le32(t->tab + t->pcln + (size_t)i * 8 + 4);
	if (funcoff > t->len - t->pcln || t->len - t->pcln - funcoff < t->fsize)
		return false;
	f->off = t->pcln + funcoff;
	if (le32(t->tab + f->off) != entry_off(t, i)) /* a record of another function */
		return false;
	f->npcdata = le32(t->tab + f->off + 28);
	f->nfuncdata = t->tab[f->off + t->fsize - 1];
	need = (uint64_t)t->fsize + 4 * ((uint64_t)f->npcdata + f->nfuncdata);
	if (need > t->len - f->off)
		return false;
	f->idx = i;
	f->entry = t->text + entry_off(t, i);
	f->end = t->text + entry_off(t, i + 1);
	return true;
}

static bool find_fn(const struct gopclntab *t, uint64_t vaddr, struct fn *f)
{
	uint32_t lo = 0, hi = t->nfunc, mid;
	uint64_t off;

	if (vaddr < t->lo || vaddr >= t->hi)
		return false;
	off = vaddr - t->text;
	/* the last function whose entry is <= off */
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (entry_off(t, mid) <= off)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo > 0 && get_fn(t, lo - 1, f);
}

static const char *fn_name(const struct gopclntab *t, const struct fn *f)
{
	return str_at(t, t->funcname, (int32_t)le32(t->tab + f->off + 4));
}

/* ---- pc-value tables ---- */

static bool varint(const struct gopclntab *t, size_t *p, uint32_t *v)
{
	uint32_t shift = 0, b;

	*v = 0;
	do {
		if (*p >= t->len || shift > 28)
			return false;
		b = t->tab[(*p)++];
		*v |= (b & 0x7f) << shift;
		shift += 7;
	} while (b & 0x80);
	return true;
}

/* An iterator over the ranges of one pc-value table: [start, end) has value val. */
struct pcit {
	size_t p;
	uint64_t entry, start, end;
	int32_t val;
	bool ok;
};

static void pcit_next(const struct gopclntab *t, struct pcit *it)
{
	uint32_t uv, pcd;

	it->start = it->end;
	it->ok = false;
	if (it->p >= t->len)
		return;
	uv = t->tab[it->p];
	if (uv == 0 && it->end != it->entry)
		return; /* the end of the table */
	if (!varint(t, &it->p, &uv) || !varint(t, &it->p, &pcd))
		return;
	/* zigzag; wraps like the runtime's int32 would rather than overflow */
	it->val = (int32_t)((uint32_t)it->val + (-(uv & 1) ^ (uv >> 1)));
	it->end += (uint64_t)pcd * t->quantum;
	it->ok = true;
}

static bool pcit_init(const struct gopclntab *t, const struct fn *f, uint32_t off,
		      struct pcit *it)
{
	*it = (struct pcit){ .entry = f->entry, .end = f->entry, .val = -1 };
	if (!off || off >= t->len - t->pctab)
		return false;
	it->p = t->pctab + off;
	pcit_next(t, it);
	return it->ok;
}

/* The value of table off (an offset in pctab) at pc, as the runtime's pcvalue(). */
static bool pcvalue(const struct gopclntab *t, const struct fn *f, uint32_t off, uint64_t pc,
		    int32_t *val)
{
	struct pcit it;

	if (pc < f->entry || !pcit_init(t, f, off, &it))
		return false;
	for (; it.ok; pcit_next(t, &it)) {
		if (pc < it.end) {
			*val = it.val;
			return true;
		}
	}
	return false;
}

static uint32_t pcdata_off(const struct gopclntab *t, const struct fn *f, uint32_t i)
{
	return i < f->npcdata ? le32(t->tab + f->off + t->fsize + 4 * (size_t)i) : 0;
}

/* The offset in fdata of funcdata i, or SIZE_MAX. */
static size_t funcdata_off(const struct gopclntab *t, const struct fn *f, uint8_t i)
{
	uint32_t off;

	if (i >= f->nfuncdata || !t->fdata)
		return SIZE_MAX;
	off = le32(t->tab + f->off + t->fsize + 4 * ((size_t)f->npcdata + i));
	return off == UINT32_MAX || off >= t->fdata_len ? SIZE_MAX : off;
}

static const char *file_no(const struct gopclntab *t, const struct fn *f, int32_t fileno)
{
	uint64_t idx;
	uint32_t fo;

	if (fileno < 0)
		return NULL;
	idx = (uint64_t)le32(t->tab + f->off + 32) + (uint32_t)fileno;
	if (idx >= t->nr_cutab)
		return NULL;
	fo = le32(t->tab + t->cutab + idx * 4);
	return fo == UINT32_MAX ? NULL : str_at(t, t->filetab, fo);
}

static const char *file_at(const struct gopclntab *t, const struct fn *f, uint64_t pc)
{
	int32_t v;

	return pcvalue(t, f, le32(t->tab + f->off + 20), pc, &v) ? file_no(t, f, v) : NULL;
}

static uint32_t line_at(const struct gopclntab *t, const struct fn *f, uint64_t pc)
{
	int32_t v;

	return pcvalue(t, f, le32(t->tab + f->off + 24), pc, &v) && v > 0 ? (uint32_t)v : 0;
}

/* ---- inline trees ---- */

struct call {
	int32_t name_off, parent_pc, start_line;
};

static bool get_call(const struct gopclntab *t, size_t base, int32_t ix, struct call *c)
{
	size_t size = t->version == 118 ? 20 : 16;
	uint64_t o = base + (uint64_t)(uint32_t)ix * size;

	if (ix < 0 || o > t->fdata_len || t->fdata_len - o < size)
		return false;
	if (t->version == 118) {
		/* parent i16, funcID, pad, file i32, line i32, func_ i32, parentPc i32 */
		c->name_off = (int32_t)le32(t->fdata + o + 12);
		c->parent_pc = (int32_t)le32(t->fdata + o + 16);
		c->start_line = 0;
	} else {
		/* funcID, pad[3], nameOff i32, parentPc i32, startLine i32 */
		c->name_off = (int32_t)le32(t->fdata + o + 4);
		c->parent_pc = (int32_t)le32(t->fdata + o + 8);
		c->start_line = (int32_t)le32(t->fdata + o + 12);
	}
	return true;
}

/*
 * One level of the inline tree at pc: the call inlined there and the pc of the instruction in
 * its caller that stands for the call (runtime's inlineUnwinder). False at the outermost level.
 */
static bool inline_up(const struct gopclntab *t, const struct fn *f, size_t tree, uint64_t pc,
		      struct call *c, uint64_t *caller_pc)
{
	int32_t ix;

	if (tree == SIZE_MAX || !pcvalue(t, f, pcdata_off(t, f, PCDATA_INLTREEINDEX), pc, &ix) ||
	    ix < 0 || !get_call(t, tree, ix, c))
		return false;
	if (c->parent_pc < 0 || f->entry + (uint32_t)c->parent_pc >= f->end ||
	    f->entry + (uint32_t)c->parent_pc == pc)
		return false;
	*caller_pc = f->entry + (uint32_t)c->parent_pc;
	return true;
}

/* The pc that stands for the function itself at pc: outside every inlined call. */
static uint64_t outer_pc(const struct gopclntab *t, const struct fn *f, uint64_t pc)
{
	size_t tree = funcdata_off(t, f, FUNCDATA_INLTREE);
	uint64_t up;
	struct call c;

	for (int d = 0; d < MAX_INLINE && inline_up(t, f, tree, pc, &c, &up); d++)
		pc = up;
	return pc;
}

/* ---- start lines ---- */

/* Go 1.18/1.19: the smallest line among the instructions that are the function's own code. */
static uint32_t own_min_line(const struct gopclntab *t, const struct fn *f)
{
	struct pcit ln, in, j;
	uint32_t min = 0;
	bool have_in;

	if (!pcit_init(t, f, le32(t->tab + f->off + 24), &ln))
		return 0;
	have_in = pcit_init(t, f, pcdata_off(t, f, PCDATA_INLTREEINDEX), &in);
	for (; ln.ok; pcit_next(t, &ln)) {
		bool own = !have_in;

		if (ln.end <= ln.start || ln.val <= 0 || (min && (uint32_t)ln.val >= min))
			continue;
		while (have_in && in.ok && in.end <= ln.start)
			pcit_next(t, &in);
		for (j = in; have_in && !own && j.ok && j.start < ln.end; pcit_next(t, &j))
			own = j.val < 0;
		if (have_in && !in.ok)
			own = true; /* past the inline table: not inlined */
		if (own)
			min = (uint32_t)ln.val;
	}
	return min;
}

static uint32_t fn_start_line(struct gopclntab *t, const struct fn *f)
{
	int32_t v;

	if (t->version != 118) {
		v = (int32_t)le32(t->tab + f->off + 36);
		return v > 0 ? (uint32_t)v : 0;
	}
	if (!t->start_lines)
		t->start_lines = xcalloc(t->nfunc, sizeof(*t->start_lines));
	if (!t->start_lines[f->idx])
		t->start_lines[f->idx] = own_min_line(t, f) + 1;
	return t->start_lines[f->idx] - 1;
}

/* ---- by name ---- */

static const char *name_of_idx(const struct gopclntab *t, uint32_t i)
{
	struct fn f;
	const char *s;

	return get_fn(t, i, &f) && (s = fn_name(t, &f)) ? s : "";
}

static int cmp_name(const void *a, const void *b, void *arg)
{
	const struct gopclntab *t = arg;
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	int c = strcmp(name_of_idx(t, x), name_of_idx(t, y));

	return c ? c : (x > y) - (x < y);
}

/* Lookups by name answered by a walk through the table before it is sorted by name: a Go
 * executable's first look (probes/goelf) asks for five names, and sorting Go's compiler's 40,000
 * names took a third of that look. */
#define LINEAR_LOOKUPS 8

static bool find_by_name(struct gopclntab *t, const char *name, struct fn *f)
{
	size_t lo = 0, hi = t->nfunc, mid;

	if (!t->by_name && t->name_lookups < LINEAR_LOOKUPS) {
		/* the first of equal names by index, as the sorted index finds it */
		t->name_lookups++;
		for (uint32_t i = 0; i < t->nfunc; i++)
			if (!strcmp(name_of_idx(t, i), name))
				return get_fn(t, i, f);
		return false;
	}
	if (!t->by_name) {
		t->by_name = xmalloc((t->nfunc ? t->nfunc : 1) * sizeof(*t->by_name));
		for (uint32_t i = 0; i < t->nfunc; i++)
			t->by_name[i] = i;
		qsort_r(t->by_name, t->nfunc, sizeof(*t->by_name), cmp_name, t);
	}
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (strcmp(name_of_idx(t, t->by_name[mid]), name) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < t->nfunc && !strcmp(name_of_idx(t, t->by_name[lo]), name) &&
	       get_fn(t, t->by_name[lo], f);
}

/* ---- the API ---- */

static void fill_func(struct gopclntab *t, const struct fn *f, struct gopclntab_func *out)
{
	const uint8_t *r = t->tab + f->off + (t->version == 118 ? 36 : 40);

	*out = (struct gopclntab_func){
		.name = fn_name(t, f),
		.file = file_at(t, f, outer_pc(t, f, f->entry)),
		.entry = f->entry,
		.end = f->end,
		.start_line = fn_start_line(t, f),
		.index = f->idx,
		.func_id = r[0],
		.flag = r[1],
	};
}

int gopclntab_func_at(struct gopclntab *t, uint64_t vaddr, struct gopclntab_func *out)
{
	struct fn f;

	if (!find_fn(t, vaddr, &f))
		return -ENOENT;
	fill_func(t, &f, out);
	return 0;
}

int gopclntab_func_by_name(struct gopclntab *t, const char *name, struct gopclntab_func *out)
{
	struct fn f;

	if (!name || !find_by_name(t, name, &f))
		return -ENOENT;
	fill_func(t, &f, out);
	return 0;
}

int gopclntab_sp_delta(struct gopclntab *t, uint64_t vaddr, int32_t *delta)
{
	struct fn f;

	if (!find_fn(t, vaddr, &f) || !pcvalue(t, &f, le32(t->tab + f.off + 16), vaddr, delta))
		return -ENOENT;
	return 0;
}

size_t gopclntab_frames(struct gopclntab *t, uint64_t vaddr, struct gopclntab_frame *out,
			size_t max)
{
	size_t tree, n = 0;
	uint64_t pc = vaddr, up;
	struct call c;
	struct fn f, g;

	if (!max || !find_fn(t, vaddr, &f))
		return 0;
	tree = funcdata_off(t, &f, FUNCDATA_INLTREE);
	for (int d = 0; d < MAX_INLINE && inline_up(t, &f, tree, pc, &c, &up); d++) {
		if (n + 1 < max) {
			struct gopclntab_frame *o = &out[n++];

			o->function = str_at(t, t->funcname, c.name_off);
			o->file = file_at(t, &f, pc);
			o->line = line_at(t, &f, pc);
			o->start_line = c.start_line > 0 ? (uint32_t)c.start_line : 0;
			/* Go 1.18/1.19 trees have no start line: take the function's own copy's */
			if (t->version == 118 && o->function && find_by_name(t, o->function, &g))
				o->start_line = fn_start_line(t, &g);
			o->inlined = true;
		}
		pc = up;
	}
	out[n++] = (struct gopclntab_frame){
		.function = fn_name(t, &f),
		.file = file_at(t, &f, pc),
		.line = line_at(t, &f, pc),
		.start_line = fn_start_line(t, &f),
	};
	return n;
}

static struct centry *slot(struct gopclntab *t, uint64_t vaddr)
{
	size_t mask = t->cap - 1, i;
	uint64_t h = vaddr * 0x9e3779b97f4a7c15ull;

	for (i = (h ^ h >> 29) & mask; t->cache[i].used; i = (i + 1) & mask)
		if (t->cache[i].vaddr == vaddr)
			break;
	return &t->cache[i];
}

size_t gopclntab_scopes(struct gopclntab *t, uint64_t vaddr, uint64_t *entry,
			const struct gopclntab_scope **scopes)
{
	struct gopclntab_frame fr[MAX_INLINE + 1];
	struct centry *e;
	struct fn f;
	size_t n;

	*scopes = NULL;
	*entry = 0;
	if (vaddr < t->lo || vaddr >= t->hi)
		return 0;
	if (2 * (t->nr_cached + 1) > t->cap) {
		struct centry *old = t->cache;
		size_t old_cap = t->cap;

		t->cap = old_cap ? 2 * old_cap : 256;
		t->cache = xcalloc(t->cap, sizeof(*t->cache));
		for (size_t i = 0; i < old_cap; i++)
			if (old[i].used)
				*slot(t, old[i].vaddr) = old[i];
		free(old);
	}
	e = slot(t, vaddr);
	if (!e->used) {
		e->used = true;
		e->vaddr = vaddr;
		e->entry = find_fn(t, vaddr, &f) ? f.entry : 0;
		n = gopclntab_frames(t, vaddr, fr, MAX_INLINE + 1);
		e->nr = (uint32_t)n;
		e->scopes = n ? xmalloc(n * sizeof(*e->scopes)) : NULL;
		for (size_t i = 0; i < n; i++) /* outermost first */
			e->scopes[i] = (struct gopclntab_scope){
				.function = fr[n - 1 - i].function,
				.file = fr[n - 1 - i].file,
				.line = fr[n - 1 - i].start_line,
			};
		t->nr_cached++;
	}
	*scopes = e->scopes;
	*entry = e->entry;
	return e->nr;
}

int gopclntab_version(const struct gopclntab *t)
{
	return t->version;
}

size_t gopclntab_nr_funcs(const struct gopclntab *t)
{
	return t->nfunc;
}

bool gopclntab_has_inlines(const struct gopclntab *t)
{
	return t->fdata != NULL;
}

void gopclntab_range(const struct gopclntab *t, uint64_t *lo, uint64_t *hi)
{
	*lo = t->lo;
	*hi = t->hi;
}

void gopclntab_free(struct gopclntab *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->cap; i++)
		if (t->cache[i].used)
			free(t->cache[i].scopes);
	free(t->cache);
	free(t->by_name);
	free(t->start_lines);
	free(t->fdata);
	free(t->tab);
	free(t);
}

size_t gopclntab_bytes(const struct gopclntab *t)
{
	size_t n;

	if (!t)
		return 0;
	n = sizeof(*t) + t->len + 1 + t->fdata_len + t->cap * sizeof(*t->cache);
	if (t->by_name)
		n += t->nfunc * sizeof(*t->by_name);
	if (t->start_lines)
		n += t->nfunc * sizeof(*t->start_lines);
	for (size_t i = 0; i < t->cap; i++)
		if (t->cache[i].used)
			n += t->cache[i].nr * sizeof(*t->cache[i].scopes);
	return n;
}

/* ---- parsing a table ---- */

/* The header's words, checked against the table's length; reads the header's bytes only. */
static int parse_words(struct gopclntab *t, uint64_t text_start)
{
	uint64_t w[8], end;
	uint32_t magic;
	unsigned hdr;

	if (t->len < 8)
		return -EINVAL;
	magic = le32(t->tab);
	if (magic == MAGIC_116 || magic == MAGIC_12)
		return -ENOTSUP;
	if ((magic != MAGIC_118 && magic != MAGIC_120) || t->tab[4] || t->tab[5])
		return -EINVAL;
	t->version = magic == MAGIC_118 ? 118 : 120;
	t->fsize = t->version == 118 ? 40 : 44;
	t->quantum = t->tab[6];
	t->ptr = t->tab[7];
	if ((t->quantum != 1 && t->quantum != 2 && t->quantum != 4) ||
	    (t->ptr != 4 && t->ptr != 8))
		return -EINVAL;
	hdr = 8 + 8 * t->ptr;
	if (t->len < hdr)
		return -EINVAL;
	for (int i = 0; i < 8; i++)
		w[i] = leword(t->tab + 8 + i * t->ptr, t->ptr);
	/* nfunc, nfiles, textStart, funcname, cu, filetab, pctab, pcln offsets */
	for (int i = 3; i < 8; i++)
		if (w[i] < hdr || w[i] > t->len)
			return -EINVAL;
	if (w[0] >= UINT32_MAX / 2 || (t->len - w[7]) / 8 < w[0] + 1)
		return -EINVAL; /* the functab does not fit */
	t->nfunc = (uint32_t)w[0];
	t->text = text_start ? text_start : w[2];
	t->funcname = w[3];
	t->cutab = w[4];
	t->filetab = w[5];
	t->pctab = w[6];
	t->pcln = w[7];
	end = t->filetab > t->cutab ? t->filetab : t->len;
	t->nr_cutab = (end - t->cutab) / 4;
	return t->text && t->nfunc ? 0 : -EINVAL;
}

static int parse_header(struct gopclntab *t, uint64_t text_start)
{
	int err = parse_words(t, text_start);

	if (err)
		return err;
	/* Entries must be sorted for the binary search, and fit after the text start. */
	for (uint32_t i = 0; i < t->nfunc; i++)
		if (entry_off(t, i) > entry_off(t, i + 1))
			return -EINVAL;
	if (UINT64_MAX - t->text < entry_off(t, t->nfunc))
		return -EINVAL;
	t->lo = t->text + entry_off(t, 0);
	t->hi = t->text + entry_off(t, t->nfunc);
	return 0;
}

/* A table in tab (len + 1 bytes, taken over: freed on failure too), parsed where it is. */
static int parse_owned(uint8_t *tab, size_t len, uint64_t vaddr, uint64_t text_start,
		       struct gopclntab **out)
{
	struct gopclntab *t = xcalloc(1, sizeof(*t));
	int err;

	t->tab = tab;
	t->tab[len] = '\0';
	t->len = len;
	t->vaddr = vaddr;
	err = parse_header(t, text_start);
	if (err) {
		gopclntab_free(t);
		return err;
	}
	*out = t;
	return 0;
}

int gopclntab_parse(const void *tab, size_t len, uint64_t vaddr, uint64_t text_start,
		    const void *gofunc_data, size_t gofunc_len, uint64_t gofunc,
		    struct gopclntab **out)
{
	struct gopclntab *t;
	uint8_t *copy;
	int err;

	*out = NULL;
	if (!tab || len > MAX_COPY || gofunc_len > MAX_COPY)
		return -EINVAL;
	copy = xmalloc(len + 1);
	memcpy(copy, tab, len);
	err = parse_owned(copy, len, vaddr, text_start, &t);
	if (err)
		return err;
	if (gofunc_data && gofunc_len) {
		t->fdata = xmalloc(gofunc_len);
		memcpy(t->fdata, gofunc_data, gofunc_len);
		t->fdata_len = gofunc_len;
		t->gofunc = gofunc;
	}
	*out = t;
	return 0;
}

/* ---- from an ELF file ---- */

struct rel {
	uint64_t off, addend;
};

struct elfctx {
	Elf *elf;
	unsigned ptr;
	struct rel *rels; /* RELATIVE relocations, sorted by offset */
	size_t nr_rels;
};

static int cmp_rel(const void *a, const void *b)
{
	const struct rel *x = a, *y = b;

	return x->off < y->off ? -1 : x->off > y->off;
}

/* The RELATIVE relocations: in a PIE built by an external linker the data may hold zeros. */
static void read_rels(struct elfctx *c, const GElf_Ehdr *eh)
{
	uint32_t type = eh->e_machine == EM_X86_64    ? R_X86_64_RELATIVE_
			: eh->e_machine == EM_AARCH64 ? R_AARCH64_RELATIVE_
						      : 0;
	Elf_Scn *scn = NULL;
	size_t cap = 0;
	GElf_Shdr sh;
	GElf_Rela r;

	if (!type)
		return;
	while ((scn = elf_nextscn(c->elf, scn))) {
		Elf_Data *d;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_RELA || !sh.sh_entsize ||
		    !(d = elf_getdata(scn, NULL)))
			continue;
		for (int i = 0; (size_t)i < sh.sh_size / sh.sh_entsize && gelf_getrela(d, i, &r);
		     i++) {
			if (GELF_R_TYPE(r.r_info) != type)
				continue;
			c->rels = xgrow(c->rels, &cap, c->nr_rels + 1, sizeof(*c->rels));
			c->rels[c->nr_rels++] = (struct rel){ r.r_offset, (uint64_t)r.r_addend };
		}
	}
	if (c->nr_rels)
		qsort(c->rels, c->nr_rels, sizeof(*c->rels), cmp_rel);
}

static const struct rel *rel_at(const struct elfctx *c, uint64_t vaddr)
{
	size_t lo = 0, hi = c->nr_rels, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (c->rels[mid].off < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < c->nr_rels && c->rels[lo].off == vaddr ? &c->rels[lo] : NULL;
}

/* The bytes of the allocated section holding [vaddr, vaddr + len), or NULL. */
static const uint8_t *bytes_at(const struct elfctx *c, uint64_t vaddr, size_t len)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *d;

	while ((scn = elf_nextscn(c->elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || vaddr < sh.sh_addr ||
		    vaddr - sh.sh_addr > sh.sh_size || sh.sh_size - (vaddr - sh.sh_addr) < len)
			continue;
		d = elf_getdata(scn, NULL);
		if (!d || !d->d_buf || d->d_size != sh.sh_size)
			return NULL;
		return (const uint8_t *)d->d_buf + (vaddr - sh.sh_addr);
	}
	return NULL;
}

/* A pointer-sized word of the loaded image: the relocation that fills it, else the file. */
static bool word_at(const struct elfctx *c, uint64_t vaddr, uint64_t *v)
{
	const struct rel *r = rel_at(c, vaddr);
	const uint8_t *p;

	if (r) {
		*v = r->addend;
		return true;
	}
	p = bytes_at(c, vaddr, c->ptr);
	if (!p)
		return false;
	*v = leword(p, c->ptr);
	return true;
}

/* Whether md looks like the module data of this table. */
static bool is_moduledata(const struct elfctx *c, const struct gopclntab *t, uint64_t md)
{
	uint64_t v;

	return word_at(c, md, &v) && v == t->vaddr &&
	       word_at(c, md + MD_FUNCNAMETAB * c->ptr, &v) && v == t->vaddr + t->funcname &&
	       word_at(c, md + MD_TEXT * c->ptr, &v) && v == t->text &&
	       word_at(c, md + MD_MINPC * c->ptr, &v) && v == t->lo;
}

/* runtime.firstmoduledata: a word pointing at the table, in writable data or a relocation. */
static uint64_t find_moduledata(const struct elfctx *c, const struct gopclntab *t)
{
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;
	Elf_Data *d;

	while ((scn = elf_nextscn(c->elf, scn))) {
		/* not the table itself (a PIE's is writable: libelf would read it again) */
		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    (sh.sh_flags & (SHF_ALLOC | SHF_WRITE)) != (SHF_ALLOC | SHF_WRITE) ||
		    sh.sh_addr == t->vaddr || !(d = elf_getdata(scn, NULL)) || !d->d_buf)
			continue;
		for (size_t i = 0; i + c->ptr <= d->d_size; i += c->ptr) {
			const uint8_t *p = (const uint8_t *)d->d_buf + i;

			if (leword(p, c->ptr) == t->vaddr && is_moduledata(c, t, sh.sh_addr + i))
				return sh.sh_addr + i;
		}
	}
	for (size_t i = 0; i < c->nr_rels; i++)
		if (c->rels[i].addend == t->vaddr && is_moduledata(c, t, c->rels[i].off))
			return c->rels[i].off;
	return 0;
}

/*
 * Where the bytes of sections come from: the file (pread, so that a file truncated under us is
 * an error, not a SIGBUS) or an image in memory. Section contents are read straight into the
 * buffers the table keeps, not through libelf's copies.
 */
struct src {
	int fd; /* -1: img */
	const uint8_t *img;
	uint64_t size; /* of the file or image: nothing is allocated for what is not there */
};

static bool in_src(const struct src *s, uint64_t off, uint64_t len)
{
	return off <= s->size && len <= s->size - off;
}

static size_t nr_read; /* bytes read from files: gopclntab_bytes_read() */

static bool read_at(const struct src *s, void *buf, size_t len, uint64_t off)
{
	size_t got = 0;

	if (!in_src(s, off, len))
		return false;
	if (s->fd < 0) {
		memcpy(buf, s->img + off, len);
		return true;
	}
	while (got < len) {
		ssize_t r = pread(s->fd, (uint8_t *)buf + got, len - got, (off_t)(off + got));

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		got += (size_t)r;
		__atomic_add_fetch(&nr_read, (size_t)r, __ATOMIC_RELAXED);
	}
	return true;
}

size_t gopclntab_bytes_read(void)
{
	return __atomic_load_n(&nr_read, __ATOMIC_RELAXED);
}

/* go:func.*: from gofunc to the end of the section that holds it, read alone (not all of
 * .rodata). */
static void load_gofunc(struct elfctx *c, const struct src *s, struct gopclntab *t)
{
	uint64_t md = find_moduledata(c, t), gofunc;
	Elf_Scn *scn = NULL;
	GElf_Shdr sh;

	if (!md || !word_at(c, md + (t->version == 118 ? MD_GOFUNC_118 : MD_GOFUNC_120) * c->ptr,
			    &gofunc) || !gofunc)
		return;
	while ((scn = elf_nextscn(c->elf, scn))) {
		uint64_t off;
		size_t len;

		if (!gelf_getshdr(scn, &sh) || sh.sh_type != SHT_PROGBITS ||
		    !(sh.sh_flags & SHF_ALLOC) || gofunc < sh.sh_addr ||
		    gofunc - sh.sh_addr >= sh.sh_size)
			continue;
		off = gofunc - sh.sh_addr;
		if (sh.sh_size - off > MAX_COPY || !in_src(s, sh.sh_offset + off, sh.sh_size - off))
			return;
		len = sh.sh_size - off;
		t->fdata = xmalloc(len);
		if (!read_at(s, t->fdata, len, sh.sh_offset + off)) {
			free(t->fdata);
			t->fdata = NULL;
			return;
		}
		t->fdata_len = len;
		t->gofunc = gofunc;
		return;
	}
}

/* The table's section header and .text's address; reads the section headers only. */
static int find_table(struct elfctx *c, GElf_Ehdr *eh, GElf_Shdr *tab_sh, uint64_t *text)
{
	Elf_Scn *scn = NULL;
	size_t shstrndx;
	GElf_Shdr sh;
	bool found = false;

	*text = 0;
	if (!c->elf || elf_kind(c->elf) != ELF_K_ELF || !gelf_getehdr(c->elf, eh) ||
	    elf_getshdrstrndx(c->elf, &shstrndx))
		return -ENOEXEC;
	c->ptr = eh->e_ident[EI_CLASS] == ELFCLASS64 ? 8 : 4;
	while ((scn = elf_nextscn(c->elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(c->elf, shstrndx, sh.sh_name)))
			continue;
		/* a PIE calls it .data.rel.ro.gopclntab */
		if (!found && sh.sh_type == SHT_PROGBITS &&
		    (!strcmp(name, ".gopclntab") || !strcmp(name, ".data.rel.ro.gopclntab"))) {
			found = true;
			*tab_sh = sh;
		}
		if (!strcmp(name, ".text"))
			*text = sh.sh_addr;
	}
	if (!found)
		return -ENOENT;
	if (tab_sh->sh_size < 8 + 3 * c->ptr || tab_sh->sh_size > MAX_COPY ||
	    UINT64_MAX - tab_sh->sh_offset < tab_sh->sh_size)
		return -EINVAL;
	return 0;
}

/* textStart: the header's, else what relocates it, else .text (as debug/gosym does). */
static uint64_t text_start_of(const struct elfctx *c, const GElf_Shdr *tab_sh,
			      const uint8_t *hdr, uint64_t text)
{
	const struct rel *r = rel_at(c, tab_sh->sh_addr + 8 + 2 * c->ptr);
	uint64_t v = r ? r->addend : leword(hdr + 8 + 2 * c->ptr, c->ptr);

	return v ? v : text;
}

static int load(Elf *elf, const struct src *s, struct gopclntab **out)
{
	struct elfctx c = { .elf = elf };
	GElf_Ehdr eh;
	GElf_Shdr tab_sh;
	uint64_t text;
	uint8_t *tab;
	int err;

	*out = NULL;
	err = find_table(&c, &eh, &tab_sh, &text);
	if (err)
		return err;
	if (!in_src(s, tab_sh.sh_offset, tab_sh.sh_size))
		return -EINVAL;
	/* one read, into the buffer the table keeps and is parsed in */
	tab = xmalloc(tab_sh.sh_size + 1);
	if (!read_at(s, tab, tab_sh.sh_size, tab_sh.sh_offset)) {
		free(tab);
		return -EINVAL;
	}
	read_rels(&c, &eh);
	err = parse_owned(tab, tab_sh.sh_size, tab_sh.sh_addr,
			  text_start_of(&c, &tab_sh, tab, text), out);
	if (!err && (*out)->ptr == c.ptr)
		load_gofunc(&c, s, *out);
	free(c.rels);
	return err;
}

/* The file's size, so that a damaged section header allocates nothing. */
static bool src_fd(int fd, struct src *s)
{
	struct stat st;

	*s = (struct src){ .fd = fd };
	if (fstat(fd, &st))
		return false;
	s->size = (uint64_t)st.st_size;
	return true;
}

int gopclntab_load_fd(int fd, struct gopclntab **out)
{
	struct src s;
	Elf *elf;
	int err;

	*out = NULL;
	if (!src_fd(fd, &s))
		return -errno;
	elf_version(EV_CURRENT);
	/* ELF_C_READ: a file truncated under us is an error, not a SIGBUS */
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = load(elf, &s, out);
	elf_end(elf);
	return err;
}

int gopclntab_load_mem(const void *buf, size_t len, struct gopclntab **out)
{
	struct src s = { .fd = -1 };
	char *copy;
	Elf *elf;
	int err;

	*out = NULL;
	if (!len)
		return -ENOEXEC;
	elf_version(EV_CURRENT);
	copy = xmalloc(len); /* libelf wants a writable image */
	memcpy(copy, buf, len);
	s.img = (const uint8_t *)copy;
	s.size = len;
	elf = elf_memory(copy, len);
	err = load(elf, &s, out);
	elf_end(elf);
	free(copy);
	return err;
}

/* ---- functions by name, without loading the table ---- */

#define STEP_MIN (16u << 10)
#define STEP_MAX (64u << 10)

/*
 * The start of a part of the table in the file, [base, base + len), read as a walk in order
 * reaches further: each step reads as much again as is held, from 16 KiB up to 64 KiB at a
 * time. No byte is read twice, however the walk jumps back.
 */
struct prefix {
	const struct src *s;
	uint64_t sec_off, sec_len; /* the table in the file */
	uint64_t base;
	uint8_t *buf;
	size_t len;
};

/* [off, off + n) of the table, or NULL when outside the part or unreadable. */
static const uint8_t *prefix_at(struct prefix *p, uint64_t off, size_t n)
{
	size_t want, step;

	if (off < p->base || off > p->sec_len || n > p->sec_len - off)
		return NULL;
	if (off + n - p->base <= p->len)
		return p->buf + (off - p->base);
	step = p->len < STEP_MIN ? STEP_MIN : p->len > STEP_MAX ? STEP_MAX : p->len;
	want = off + n - p->base > p->len + step ? off + n - p->base : p->len + step;
	if (want > p->sec_len - p->base)
		want = p->sec_len - p->base;
	p->buf = xrealloc(p->buf, want);
	if (!read_at(p->s, p->buf + p->len, want - p->len, p->sec_off + p->base + p->len))
		return NULL;
	p->len = want;
	return p->buf + (off - p->base);
}

static int find_in(Elf *elf, const struct src *s, const char *const *names, size_t n,
		   struct gopclntab_func *out)
{
	struct elfctx c = { .elf = elf };
	struct gopclntab h = { 0 };
	struct prefix fns, strs;
	uint8_t hdr[8 + 8 * 8] = { 0 }; /* parse_words() reads no more than its 8 + 8 words */
	uint64_t text;
	size_t found = 0, maxlen = 0;
	GElf_Shdr tab_sh;
	GElf_Ehdr eh;
	int err;

	err = find_table(&c, &eh, &tab_sh, &text);
	if (err)
		return err;
	h.len = tab_sh.sh_size;
	if (!read_at(s, hdr, h.len < sizeof(hdr) ? h.len : sizeof(hdr), tab_sh.sh_offset))
		return -EINVAL;
	if (!leword(hdr + 8 + 2 * c.ptr, c.ptr)) { /* a relocation fills textStart in */
		read_rels(&c, &eh);
		text = text_start_of(&c, &tab_sh, hdr, text);
		free(c.rels);
	} else {
		text = 0; /* the header's */
	}
	h.tab = hdr;
	err = parse_words(&h, text);
	if (!err && h.ptr != c.ptr)
		err = -EINVAL;
	if (err)
		return err;
	/* the function table and the records after it; the names */
	fns = (struct prefix){ s, tab_sh.sh_offset, tab_sh.sh_size, h.pcln, NULL, 0 };
	strs = (struct prefix){ s, tab_sh.sh_offset, tab_sh.sh_size, h.funcname, NULL, 0 };
	for (size_t k = 0; k < n; k++) {
		size_t l = strlen(names[k]);

		maxlen = l > maxlen ? l : maxlen;
	}
	/* runtime's functions come first: the walk stops at a tenth of Go's compiler's table */
	for (uint32_t i = 0; i < h.nfunc && found < n; i++) {
		const uint8_t *e = prefix_at(&fns, h.pcln + (uint64_t)i * 8, 12), *r, *str;
		uint64_t roff, soff, need;
		uint32_t npcdata, eo, next;
		int32_t nameoff;
		size_t avail;

		if (!e) {
			err = -EINVAL;
			break;
		}
		eo = le32(e);
		next = le32(e + 8);
		roff = h.pcln + le32(e + 4);
		/* the checks get_fn() makes: a record of this function, that fits */
		if (next < eo || UINT64_MAX - h.text < next ||
		    !(r = prefix_at(&fns, roff, h.fsize)) || le32(r) != eo)
			continue;
		npcdata = le32(r + 28);
		need = (uint64_t)h.fsize + 4 * ((uint64_t)npcdata + r[h.fsize - 1]);
		nameoff = (int32_t)le32(r + 4);
		if (need > h.len - roff || nameoff < 0 || (uint64_t)nameoff >= h.len - h.funcname)
			continue;
		soff = h.funcname + (uint64_t)nameoff;
		avail = h.len - soff < maxlen + 1 ? (size_t)(h.len - soff) : maxlen + 1;
		if (!(str = prefix_at(&strs, soff, avail)))
			continue;
		for (size_t k = 0; k < n; k++) {
			size_t l = strlen(names[k]);

			if (out[k].name || l + 1 > avail || memcmp(str, names[k], l + 1))
				continue;
			out[k] = (struct gopclntab_func){
				.name = names[k],
				.entry = h.text + eo,
				.end = h.text + next,
				.index = i,
				.func_id = r[h.version == 118 ? 36 : 40],
				.flag = r[(h.version == 118 ? 36 : 40) + 1],
			};
			found++;
		}
	}
	free(fns.buf);
	free(strs.buf);
	return err ? err : (int)found;
}

int gopclntab_find_fd(int fd, const char *const *names, size_t n, struct gopclntab_func *out)
{
	struct src s;
	Elf *elf;
	int err;

	for (size_t k = 0; k < n; k++)
		out[k] = (struct gopclntab_func){ 0 };
	if (!src_fd(fd, &s))
		return -errno;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = find_in(elf, &s, names, n, out);
	elf_end(elf);
	return err;
}
