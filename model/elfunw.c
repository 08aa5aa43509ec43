// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unwind sections of one ELF file. The formats, briefly (LSB "Exception Frames", DWARF 5 §6.4):
 *
 *   .eh_frame_hdr  version 1, three encodings, eh_frame_ptr, fde_count, then a table of
 *                  (initial location, FDE address) pairs sorted by location; with the usual
 *                  encoding DW_EH_PE_datarel|sdata4 both are int32 relative to the header.
 *   .eh_frame      CIEs and FDEs: length, CIE id 0 / CIE pointer (relative to the field),
 *                  augmentation "zR..." says how an FDE encodes its code range.
 *   .debug_frame   the same idea with CIE id 0xffffffff, CIE pointers as section offsets and
 *                  absolute addresses.
 */
#include <errno.h>
#include <gelf.h>
#include <libelf.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "byteread.h"
#include "cfi.h"
#include "elfunw.h"
#include "xalloc.h"

#define DW_EH_PE_absptr 0x00
#define DW_EH_PE_uleb128 0x01
#define DW_EH_PE_udata2 0x02
#define DW_EH_PE_udata4 0x03
#define DW_EH_PE_udata8 0x04
#define DW_EH_PE_sleb128 0x09
#define DW_EH_PE_sdata2 0x0a
#define DW_EH_PE_sdata4 0x0b
#define DW_EH_PE_sdata8 0x0c
#define DW_EH_PE_pcrel 0x10
#define DW_EH_PE_datarel 0x30
#define DW_EH_PE_indirect 0x80
#define DW_EH_PE_omit 0xff

#define MAX_SECTION (512ull << 20) /* larger unwind sections are not believed */
#define MAX_FDES (8u << 20)

struct seg {
	uint64_t offset, vaddr, filesz;
	uint32_t flags;
};

/* Bytes copied from the file, and the ELF virtual address of the first one. */
struct blob {
	uint8_t *data;
	uint64_t vaddr;
	size_t len;
};

struct efde {
	uint64_t lo, hi;
	uint64_t where; /* .eh_frame: ELF vaddr of the FDE; .debug_frame: offset */
};

/*
 * A word that an indirect pointer of a CIE points at (the personality routine of C++ and Rust
 * code: "zPLR" with DW_EH_PE_indirect), as the process sees it once relocated: val, plus the
 * load bias when biased. Kept because an unwinder parsing the CIE reads it, and it lives in
 * writable data (.data, .data.rel.ro, .got) that no unwind section holds.
 */
struct pword {
	uint64_t vaddr;
	uint64_t val;
	bool biased;
};

struct elfunw {
	struct seg *segs;
	size_t nr_segs;
	struct blob hdr; /* .eh_frame_hdr */
	struct blob eh;  /* .eh_frame */
	struct blob img; /* a memory-loaded image, by file offset (vaddr unused) */
	size_t table_off; /* the hdr's search table: offset in hdr.data, nr_table entries */
	size_t nr_table;
	struct efde *eh_index; /* built from .eh_frame when the hdr has no usable table */
	size_t nr_eh_index;
	struct blob df; /* .debug_frame (vaddr unused) */
	struct efde *df_index;
	size_t nr_df;
	struct pword *pwords; /* sorted by vaddr */
	size_t nr_pwords;
	uint64_t entry; /* e_entry of an executable or loader, 0 otherwise */
	bool is_go;
	uint64_t serial; /* elfunw_serial() */
	struct cfi_table *cfi; /* the unwind table, built at the first elfunw_cfi() */
	bool cfi_tried;
	/* FDEs digested one at a time, as walks meet them (elfunw_cfi_find()): open addressing
	 * by fde_key() */
	struct fdetab {
		uint64_t key; /* 0: empty */
		uint64_t lo, hi; /* the code it describes, as elfunw_find() read it */
		struct cfi_table *t; /* NULL: the FDE gave no rows */
	} *fdes;
	size_t nr_fdes, cap_fdes, fde_bytes;
};

static uint64_t serials; /* the last elfunw_serial() given */

/* ---- readers (model/byteread.h has the bounds-checked basics) ---- */

/* A NUL-terminated string inside the buffer. */
static bool rd_str(struct rd *r, const char **s)
{
	const uint8_t *nul;

	if (r->pos >= r->len)
		return false;
	nul = memchr(r->b + r->pos, 0, r->len - r->pos);
	if (!nul)
		return false;
	*s = (const char *)r->b + r->pos;
	r->pos = (size_t)(nul - r->b) + 1;
	return true;
}

/*
 * A DW_EH_PE-encoded value. vaddr is the ELF address of r->b[0] (for pcrel), datarel the base of
 * datarel values (the .eh_frame_hdr). Omitted, indirect and exotic encodings are refused.
 */
static bool rd_enc(struct rd *r, uint8_t enc, uint64_t vaddr, uint64_t datarel, uint64_t *v)
{
	uint64_t field = vaddr + r->pos, val;
	uint16_t u16;
	uint32_t u32;
	int64_t s64;

	if (enc == DW_EH_PE_omit || (enc & DW_EH_PE_indirect))
		return false;
	switch (enc & 0x0f) {
	case DW_EH_PE_absptr:
	case DW_EH_PE_udata8:
	case DW_EH_PE_sdata8:
		if (!rd_bytes(r, &val, 8))
			return false;
		break;
	case DW_EH_PE_udata4:
		if (!rd_u32(r, &u32))
			return false;
		val = u32;
		break;
	case DW_EH_PE_sdata4:
		if (!rd_u32(r, &u32))
			return false;
		val = (uint64_t)(int64_t)(int32_t)u32;
		break;
	case DW_EH_PE_udata2:
		if (!rd_bytes(r, &u16, 2))
			return false;
		val = u16;
		break;
	case DW_EH_PE_sdata2:
		if (!rd_bytes(r, &u16, 2))
			return false;
		val = (uint64_t)(int64_t)(int16_t)u16;
		break;
	case DW_EH_PE_uleb128:
		if (!rd_uleb(r, &val))
			return false;
		break;
	case DW_EH_PE_sleb128:
		if (!rd_sleb(r, &s64))
			return false;
		val = (uint64_t)s64;
		break;
	default:
		return false;
	}
	switch (enc & 0x70) {
	case 0:
		break;
	case DW_EH_PE_pcrel:
		val += field;
		break;
	case DW_EH_PE_datarel:
		val += datarel;
		break;
	default:
		return false;
	}
	*v = val;
	return true;
}

/* ---- .eh_frame CIEs and FDEs ---- */

struct cie {
	uint8_t fde_enc;
	bool per_indirect; /* the personality pointer is read through per_vaddr */
	uint64_t per_vaddr;
	/* for the unwind table (model/cfi) */
	uint64_t code_align, ra;
	int64_t data_align;
	size_t instr, end; /* its initial instructions: [instr, end) in .eh_frame */
	bool z;            /* 'z': FDEs carry augmentation data (its length first) */
	bool signal;       /* 'S' */
	bool known;        /* every augmentation understood: instr is right */
};

/* Parses the .eh_frame CIE at offset off of eh. */
static bool eh_cie(const struct blob *eh, size_t off, struct cie *c)
{
	struct rd r = { eh->data, eh->len, off };
	const char *aug;
	uint64_t u, aug_len;
	uint32_t len, id;
	uint8_t version, enc, ra;

	if (!rd_u32(&r, &len) || !len || len == 0xffffffff || len > eh->len - r.pos)
		return false;
	r.len = r.pos + len; /* the CIE ends here */
	c->end = r.len;
	if (!rd_u32(&r, &id) || id != 0 || !rd_u8(&r, &version) ||
	    (version != 1 && version != 3 && version != 4) || !rd_str(&r, &aug))
		return false;
	c->fde_enc = DW_EH_PE_absptr;
	c->per_indirect = false;
	c->z = aug[0] == 'z';
	c->signal = false;
	c->known = true;
	if (aug[0] == 'e' && aug[1] == 'h')
		r.pos += 8; /* old GCC: an eh_ptr */
	if (version == 4)
		r.pos += 2; /* address_size, segment_size */
	if (!rd_uleb(&r, &c->code_align) || !rd_sleb(&r, &c->data_align))
		return false;
	if (version == 1 ? !rd_u8(&r, &ra) : !rd_uleb(&r, &c->ra))
		return false;
	if (version == 1)
		c->ra = ra;
	c->instr = r.pos;
	if (aug[0] != 'z') {
		c->known = !aug[0] || (aug[0] == 'e' && aug[1] == 'h' && !aug[2]);
		return true;
	}
	if (!rd_uleb(&r, &aug_len) || aug_len > r.len - r.pos)
		return false;
	r.len = r.pos + aug_len;
	c->instr = r.len;
	for (const char *a = aug + 1; *a; a++) {
		switch (*a) {
		case 'R':
			if (!rd_u8(&r, &c->fde_enc))
				return false;
			break;
		case 'P':
			if (!rd_u8(&r, &enc) ||
			    !rd_enc(&r, enc & ~DW_EH_PE_indirect, eh->vaddr, 0, &u))
				return false;
			if (enc & DW_EH_PE_indirect) {
				c->per_indirect = true;
				c->per_vaddr = u;
			}
			break;
		case 'L':
			if (!rd_u8(&r, &enc))
				return false;
			break;
		case 'S':
			c->signal = true;
			break;
		case 'B':
		case 'G':
			break;
		default:
			c->known = false;
			return true; /* unknown: the rest is skipped by aug_len */
		}
	}
	return true;
}

/*
 * Parses the .eh_frame entry at offset off. Returns 1 for an FDE (its range in *lo, *hi), 0 for
 * a CIE, -1 for garbage. *next is the offset of the next entry. With c, the FDE's CIE goes
 * there and *instr is where the FDE's instructions start (they end at *next).
 */
static int eh_fde_cie(const struct blob *eh, size_t off, uint64_t *lo, uint64_t *hi,
		      size_t *next, struct cie *c, size_t *instr)
{
	struct rd r = { eh->data, eh->len, off };
	uint32_t len, cie_ptr;
	uint64_t begin, range, aug_len;
	size_t field;
	struct cie own;

	if (!c)
		c = &own;
	if (!rd_u32(&r, &len) || !len || len == 0xffffffff || len > eh->len - r.pos)
		return -1;
	*next = r.pos + len;
	r.len = *next;
	field = r.pos;
	if (!rd_u32(&r, &cie_ptr))
		return -1;
	if (!cie_ptr)
		return 0;
	if (cie_ptr > field || !eh_cie(eh, field - cie_ptr, c))
		return -1;
	if (!rd_enc(&r, c->fde_enc, eh->vaddr, 0, &begin) ||
	    !rd_enc(&r, c->fde_enc & 0x0f, 0, 0, &range))
		return -1;
	if (!range || begin + range < begin)
		return -1;
	*lo = begin;
	*hi = begin + range;
	if (instr) {
		if (c->z && (!rd_uleb(&r, &aug_len) || aug_len > r.len - r.pos))
			return -1;
		*instr = r.pos + (c->z ? aug_len : 0);
	}
	return 1;
}

static int eh_fde(const struct blob *eh, size_t off, uint64_t *lo, uint64_t *hi, size_t *next)
{
	return eh_fde_cie(eh, off, lo, hi, next, NULL, NULL);
}

static int cmp_efde(const void *a, const void *b)
{
	const struct efde *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Indexes every FDE of .eh_frame (used when .eh_frame_hdr has no usable table). */
static void index_eh(struct elfunw *u)
{
	size_t off = 0, next, cap = 0;
	uint64_t lo, hi;
	uint32_t len;
	int ret;

	while (off + 4 <= u->eh.len && u->nr_eh_index < MAX_FDES) {
		memcpy(&len, u->eh.data + off, 4);
		if (!len)
			break; /* the terminator */
		ret = eh_fde(&u->eh, off, &lo, &hi, &next);
		if (ret < 0)
			break;
		if (ret > 0) {
			u->eh_index = xgrow(u->eh_index, &cap, u->nr_eh_index + 1,
					    sizeof(*u->eh_index));
			u->eh_index[u->nr_eh_index++] = (struct efde){
				.lo = lo, .hi = hi, .where = u->eh.vaddr + off };
		}
		off = next;
	}
	if (u->nr_eh_index)
		qsort(u->eh_index, u->nr_eh_index, sizeof(*u->eh_index), cmp_efde);
}

/* Reads .eh_frame_hdr: where .eh_frame is, and the search table when it has the usual form. */
static bool parse_hdr(struct elfunw *u, uint64_t *eh_vaddr)
{
	struct rd r = { u->hdr.data, u->hdr.len, 0 };
	uint8_t version, ptr_enc, count_enc, table_enc;
	uint64_t count;

	if (!rd_u8(&r, &version) || version != 1 || !rd_u8(&r, &ptr_enc) ||
	    !rd_u8(&r, &count_enc) || !rd_u8(&r, &table_enc) ||
	    !rd_enc(&r, ptr_enc, u->hdr.vaddr, u->hdr.vaddr, eh_vaddr))
		return false;
	if (count_enc == DW_EH_PE_omit ||
	    !rd_enc(&r, count_enc, u->hdr.vaddr, u->hdr.vaddr, &count))
		return true;
	if (table_enc != (DW_EH_PE_datarel | DW_EH_PE_sdata4) || !count ||
	    count > (u->hdr.len - r.pos) / 8)
		return true;
	u->table_off = r.pos;
	u->nr_table = count;
	return true;
}

/* Looks vaddr up in the .eh_frame_hdr table: the FDE of the last entry at or below vaddr. */
static bool hdr_lookup(const struct elfunw *u, uint64_t vaddr, uint64_t *fde_vaddr)
{
	const uint8_t *t = u->hdr.data + u->table_off;
	size_t lo = 0, hi = u->nr_table, mid;
	int32_t loc, fde;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		memcpy(&loc, t + mid * 8, 4);
		if (u->hdr.vaddr + (uint64_t)(int64_t)loc <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	memcpy(&fde, t + (lo - 1) * 8 + 4, 4);
	*fde_vaddr = u->hdr.vaddr + (uint64_t)(int64_t)fde;
	return true;
}

static const struct efde *index_lookup(const struct efde *idx, size_t nr, uint64_t vaddr)
{
	size_t lo = 0, hi = nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (idx[mid].lo <= vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo && vaddr < idx[lo - 1].hi ? &idx[lo - 1] : NULL;
}

/* ---- .debug_frame ---- */

struct dcie {
	size_t start, end;  /* the CIE's bytes in .debug_frame */
	size_t body;        /* where code_alignment_factor starts */
	uint8_t version;
	uint8_t addr_size;
};

static bool df_cie(const struct blob *df, size_t off, struct dcie *c)
{
	struct rd r = { df->data, df->len, off };
	const char *aug;
	uint32_t len, id;
	uint8_t sz;

	if (!rd_u32(&r, &len) || !len || len >= 0xfffffff0 || len > df->len - r.pos)
		return false;
	c->start = off;
	c->end = r.pos + len;
	r.len = c->end;
	if (!rd_u32(&r, &id) || id != 0xffffffff || !rd_u8(&r, &c->version) ||
	    (c->version != 1 && c->version != 3 && c->version != 4) || !rd_str(&r, &aug) ||
	    aug[0])
		return false; /* augmentations are rare in .debug_frame: not rewritten */
	c->addr_size = 8;
	if (c->version == 4) {
		if (!rd_u8(&r, &c->addr_size) || !rd_u8(&r, &sz) || sz ||
		    (c->addr_size != 4 && c->addr_size != 8))
			return false;
	}
	c->body = r.pos;
	return r.pos < c->end;
}

static bool rd_addr(struct rd *r, uint8_t size, uint64_t *v)
{
	uint32_t u32;

	if (size == 8)
		return rd_bytes(r, v, 8);
	if (!rd_u32(r, &u32))
		return false;
	*v = u32;
	return true;
}

/* Parses the .debug_frame FDE at off: 1 (range, CIE, where its instructions start), 0 for a
 * CIE, -1 for garbage. */
static int df_fde(const struct blob *df, size_t off, struct dcie *c, uint64_t *lo, uint64_t *hi,
		  size_t *instr, size_t *next)
{
	struct rd r = { df->data, df->len, off };
	uint64_t begin, range;
	uint32_t len, cie;

	if (!rd_u32(&r, &len) || !len || len > df->len - r.pos)
		return -1;
	if (len >= 0xfffffff0)
		return -1; /* 64-bit DWARF: not supported */
	*next = r.pos + len;
	r.len = *next;
	if (!rd_u32(&r, &cie))
		return -1;
	if (cie == 0xffffffff)
		return 0;
	if (!df_cie(df, cie, c) || !rd_addr(&r, c->addr_size, &begin) ||
	    !rd_addr(&r, c->addr_size, &range) || !range || begin + range < begin)
		return -1;
	*lo = begin;
	*hi = begin + range;
	*instr = r.pos;
	return 1;
}

static void index_df(struct elfunw *u)
{
	size_t off = 0, next, instr, cap = 0;
	uint64_t lo, hi;
	struct dcie c;
	int ret;

	while (off + 4 <= u->df.len && u->nr_df < MAX_FDES) {
		ret = df_fde(&u->df, off, &c, &lo, &hi, &instr, &next);
		if (ret < 0) {
			/* skip a bad entry when its length is sane, stop otherwise */
			uint32_t len;

			memcpy(&len, u->df.data + off, 4);
			if (!len || len >= 0xfffffff0 || len > u->df.len - off - 4)
				break;
			next = off + 4 + len;
		} else if (ret > 0) {
			u->df_index = xgrow(u->df_index, &cap, u->nr_df + 1, sizeof(*u->df_index));
			u->df_index[u->nr_df++] = (struct efde){ .lo = lo, .hi = hi, .where = off };
		}
		off = next;
	}
	if (u->nr_df)
		qsort(u->df_index, u->nr_df, sizeof(*u->df_index), cmp_efde);
}

/* ---- the pre-digested table (model/cfi) ---- */

/* The .eh_frame FDE at off as model/cfi takes it; eh_fde_cie()'s return (1: an FDE). */
static int eh_cfi_fde(const struct elfunw *u, size_t off, struct cfi_fde *f, size_t *next)
{
	size_t instr;
	uint64_t lo, hi;
	struct cie c;
	int ret = eh_fde_cie(&u->eh, off, &lo, &hi, next, &c, &instr);

	if (ret != 1)
		return ret;
	*f = (struct cfi_fde){
		.lo = lo, .hi = hi,
		.cie_instr = u->eh.data + c.instr, .cie_len = c.end - c.instr,
		.instr = u->eh.data + instr, .len = *next - instr,
		.code_align = c.code_align, .data_align = c.data_align, .ra_reg = c.ra,
		.signal = c.signal,
		.bad = !c.known || c.instr > c.end || instr > *next,
	};
	if (f->bad)
		f->cie_len = f->len = 0;
	return 1;
}

/* Every FDE of .eh_frame into b. */
static void cfi_from_eh(const struct elfunw *u, struct cfi_build *b)
{
	size_t off = 0, next, nr = 0;
	uint32_t len;
	int ret;

	while (off + 4 <= u->eh.len && nr < MAX_FDES) {
		struct cfi_fde f;

		memcpy(&len, u->eh.data + off, 4);
		if (!len)
			break; /* the terminator */
		ret = eh_cfi_fde(u, off, &f, &next);
		if (ret < 0)
			break;
		if (ret > 0) {
			cfi_build_add(b, &f);
			nr++;
		}
		off = next;
	}
}

/* A .debug_frame FDE (df_fde()'s findings) as model/cfi takes it. */
static void df_cfi_fde(const struct elfunw *u, const struct dcie *c, uint64_t lo, uint64_t hi,
		       size_t instr, size_t next, struct cfi_fde *f)
{
	struct rd r = { u->df.data, c->end, c->body };
	uint64_t ra = 0;
	uint8_t ra8;

	*f = (struct cfi_fde){ .lo = lo, .hi = hi, .instr = u->df.data + instr, .len = next - instr };
	if (!rd_uleb(&r, &f->code_align) || !rd_sleb(&r, &f->data_align) ||
	    (c->version == 1 ? !rd_u8(&r, &ra8) : !rd_uleb(&r, &ra))) {
		f->bad = true;
		f->len = 0;
	} else {
		f->ra_reg = c->version == 1 ? ra8 : ra;
		f->cie_instr = u->df.data + r.pos;
		f->cie_len = c->end - r.pos;
	}
}

/* Every FDE of .debug_frame into b. */
static void cfi_from_df(const struct elfunw *u, struct cfi_build *b)
{
	for (size_t i = 0; i < u->nr_df; i++) {
		uint64_t lo, hi;
		size_t instr, next;
		struct cfi_fde f;
		struct dcie c;

		struct elfunw_fde at_lo, at_hi;

		/* where .eh_frame covers the code, .eh_frame is what a walk reads */
		if (df_fde(&u->df, u->df_index[i].where, &c, &lo, &hi, &instr, &next) != 1 ||
		    elfunw_find(u, lo, &at_lo) || !at_lo.debug_frame ||
		    elfunw_find(u, hi - 1, &at_hi) || !at_hi.debug_frame)
			continue;
		df_cfi_fde(u, &c, lo, hi, instr, next, &f);
		cfi_build_add(b, &f);
	}
}

const struct cfi_table *elfunw_cfi(const struct elfunw *cu)
{
	struct elfunw *u = (struct elfunw *)cu; /* built once, at the first call: the cache */
	struct cfi_build *b;

	if (u->cfi_tried)
		return u->cfi;
	u->cfi_tried = true;
	b = cfi_build_new();
	cfi_from_eh(u, b);
	cfi_from_df(u, b);
	u->cfi = cfi_build_end(b);
	return u->cfi;
}

static uint64_t fde_key(const struct elfunw_fde *f)
{
	/* an .eh_frame FDE by its address (never 0 in a binary), a .debug_frame one by its
	 * offset, marked */
	return f->debug_frame ? (f->df_off | 1ull << 63) + 1 : f->vaddr + 1;
}

static struct fdetab *fde_slot(struct fdetab *tab, size_t cap, uint64_t key)
{
	size_t mask = cap - 1, i;

	for (i = (key * 0x9e3779b97f4a7c15ull >> 20) & mask; tab[i].key; i = (i + 1) & mask)
		if (tab[i].key == key)
			break;
	return &tab[i];
}

/* The rows of one FDE, as cfi_build_end() makes them for a whole binary. */
static struct cfi_table *digest(const struct elfunw *u, const struct elfunw_fde *at)
{
	struct cfi_build *b = cfi_build_new();
	struct cfi_fde f;
	size_t next, instr;
	uint64_t lo, hi;
	struct dcie c;

	if (!at->debug_frame) {
		if (at->vaddr >= u->eh.vaddr && at->vaddr - u->eh.vaddr < u->eh.len &&
		    eh_cfi_fde(u, at->vaddr - u->eh.vaddr, &f, &next) == 1)
			cfi_build_add(b, &f);
	} else if (df_fde(&u->df, at->df_off, &c, &lo, &hi, &instr, &next) == 1) {
		df_cfi_fde(u, &c, lo, hi, instr, next, &f);
		cfi_build_add(b, &f);
	}
	return cfi_build_end(b);
}

uint64_t elfunw_serial(const struct elfunw *u)
{
	return u->serial;
}

bool elfunw_cfi_find(const struct elfunw *cu, uint64_t vaddr, struct cfi_row *out)
{
	struct elfunw *u = (struct elfunw *)cu; /* the digested FDEs: a cache */
	struct elfunw_fde at;
	struct fdetab *e;
	uint64_t key, fde;

	/* an FDE digested before, found as elfunw_find() finds it, without reading it again */
	if (u->nr_fdes && u->nr_table && hdr_lookup(u, vaddr, &fde)) {
		e = fde_slot(u->fdes, u->cap_fdes, fde + 1);
		if (e->key && vaddr >= e->lo && vaddr < e->hi)
			return cfi_table_find(e->t, vaddr, out);
	}
	if (elfunw_find(u, vaddr, &at))
		return false;
	key = fde_key(&at);
	if (2 * (u->nr_fdes + 1) > u->cap_fdes) {
		struct fdetab *old = u->fdes;
		size_t cap = u->cap_fdes;

		u->cap_fdes = cap ? 2 * cap : 64;
		u->fdes = xcalloc(u->cap_fdes, sizeof(*u->fdes));
		for (size_t i = 0; i < cap; i++)
			if (old[i].key)
				*fde_slot(u->fdes, u->cap_fdes, old[i].key) = old[i];
		free(old);
	}
	e = fde_slot(u->fdes, u->cap_fdes, key);
	if (!e->key) {
		e->key = key;
		e->lo = at.lo;
		e->hi = at.hi;
		e->t = digest(u, &at);
		u->nr_fdes++;
		u->fde_bytes += cfi_table_bytes(e->t);
	}
	return cfi_table_find(e->t, vaddr, out);
}

/* ---- loading ---- */

static uint8_t *copy_chunk(Elf *elf, uint64_t off, uint64_t size)
{
	Elf_Data *d;
	uint8_t *p;

	if (!size || size > MAX_SECTION)
		return NULL;
	d = elf_getdata_rawchunk(elf, (int64_t)off, size, ELF_T_BYTE);
	if (!d || !d->d_buf || d->d_size != size)
		return NULL;
	p = xmalloc(size);
	memcpy(p, d->d_buf, size);
	return p;
}

/* Copies a section's (decompressed) data. */
static uint8_t *copy_section(Elf_Scn *scn, const GElf_Shdr *sh, size_t *len)
{
	Elf_Data *d;
	uint8_t *p;

	if (sh->sh_type == SHT_NOBITS)
		return NULL;
	if ((sh->sh_flags & SHF_COMPRESSED) && elf_compress(scn, 0, 0) < 0)
		return NULL;
	d = elf_getdata(scn, NULL);
	if (!d || !d->d_buf || !d->d_size || d->d_size > MAX_SECTION)
		return NULL;
	p = xmalloc(d->d_size);
	memcpy(p, d->d_buf, d->d_size);
	*len = d->d_size;
	return p;
}

/* The PT_LOAD segment whose file bytes hold vaddr. */
static const struct seg *seg_of_vaddr(const struct elfunw *u, uint64_t vaddr)
{
	for (size_t i = 0; i < u->nr_segs; i++) {
		const struct seg *s = &u->segs[i];

		if (vaddr >= s->vaddr && vaddr - s->vaddr < s->filesz)
			return s;
	}
	return NULL;
}

static void load_eh(Elf *elf, struct elfunw *u, const GElf_Phdr *eh_ph, Elf_Scn *eh_scn,
		    const GElf_Shdr *eh_sh)
{
	uint64_t eh_vaddr = 0;
	bool hdr_ok = false;

	if (eh_ph) {
		u->hdr.data = copy_chunk(elf, eh_ph->p_offset, eh_ph->p_filesz);
		u->hdr.vaddr = eh_ph->p_vaddr;
		u->hdr.len = u->hdr.data ? eh_ph->p_filesz : 0;
		hdr_ok = u->hdr.data && parse_hdr(u, &eh_vaddr);
	}
	if (eh_scn && eh_sh->sh_type == SHT_PROGBITS) {
		u->eh.data = copy_section(eh_scn, eh_sh, &u->eh.len);
		u->eh.vaddr = eh_sh->sh_addr;
	} else if (hdr_ok) {
		/* No section headers: .eh_frame runs from eh_frame_ptr to its segment's end. */
		const struct seg *s = seg_of_vaddr(u, eh_vaddr);

		if (s) {
			uint64_t len = s->filesz - (eh_vaddr - s->vaddr);

			u->eh.data = copy_chunk(elf, s->offset + (eh_vaddr - s->vaddr), len);
			u->eh.vaddr = eh_vaddr;
			u->eh.len = u->eh.data ? len : 0;
		}
	}
	if (!u->eh.data)
		u->nr_table = 0;
	else if (!u->nr_table)
		index_eh(u);
}

/* ---- words indirect CIE pointers point at ---- */

#define MAX_PWORDS 64 /* distinct personality pointers: a handful in practice */
#ifndef SHT_RELR
#define SHT_RELR 19
#endif

static int cmp_pword(const void *a, const void *b)
{
	const struct pword *x = a, *y = b;

	return x->vaddr < y->vaddr ? -1 : x->vaddr > y->vaddr;
}

static struct pword *find_pword(const struct pword *w, size_t nr, uint64_t vaddr)
{
	size_t lo = 0, hi = nr, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (w[mid].vaddr < vaddr)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < nr && w[lo].vaddr == vaddr ? (struct pword *)&w[lo] : NULL;
}

/* Dynamic relocations that set a kept word: the value the dynamic linker writes there. */
static void apply_rela(Elf *elf, Elf_Scn *scn, const GElf_Shdr *sh, struct elfunw *u)
{
	Elf_Scn *symscn = elf_getscn(elf, sh->sh_link);
	Elf_Data *d = elf_getdata(scn, NULL), *syms = symscn ? elf_getdata(symscn, NULL) : NULL;
	size_t n = sh->sh_entsize ? sh->sh_size / sh->sh_entsize : 0;
	struct pword *w;
	GElf_Rela r;
	GElf_Sym sym;

	if (!d || sh->sh_entsize != sizeof(Elf64_Rela))
		return;
	for (size_t i = 0; i < n; i++) {
		if (!gelf_getrela(d, (int)i, &r) ||
		    !(w = find_pword(u->pwords, u->nr_pwords, r.r_offset)))
			continue;
		switch (GELF_R_TYPE(r.r_info)) {
		case R_X86_64_RELATIVE:
			w->val = (uint64_t)r.r_addend;
			w->biased = true;
			break;
		case R_X86_64_64:
		case R_X86_64_GLOB_DAT:
			/* defined here: its address; else another file's, unknown from this one */
			if (syms && gelf_getsym(syms, (int)GELF_R_SYM(r.r_info), &sym) &&
			    sym.st_shndx != SHN_UNDEF) {
				w->val = sym.st_value + (uint64_t)r.r_addend;
				w->biased = true;
			} else {
				w->val = 0;
				w->biased = false;
			}
			break;
		default:
			break;
		}
	}
}

/* SHT_RELR: packed relative relocations; the file holds the addend, the bias is added. */
static void apply_relr(Elf_Scn *scn, struct elfunw *u)
{
	Elf_Data *d = elf_getdata(scn, NULL);
	uint64_t where = 0, e;
	struct pword *w;

	if (!d || !d->d_buf)
		return;
	for (size_t i = 0; i + 8 <= d->d_size; i += 8) {
		memcpy(&e, (const uint8_t *)d->d_buf + i, 8);
		if (!(e & 1)) {
			where = e;
			if ((w = find_pword(u->pwords, u->nr_pwords, where)))
				w->biased = true;
			where += 8;
			continue;
		}
		for (unsigned b = 0; (e >>= 1); b++)
			if ((e & 1) && (w = find_pword(u->pwords, u->nr_pwords, where + 8ull * b)))
				w->biased = true;
		where += 63 * 8;
	}
}

/*
 * Finds the words the CIEs' indirect personality pointers point at and keeps their values as
 * relocated: from the file's bytes, then its dynamic relocations (the load bias is added when
 * read).
 */
static void load_pwords(Elf *elf, struct elfunw *u, size_t shstrndx)
{
	size_t off = 0, cap = 0;
	Elf_Scn *scn = NULL;
	uint32_t len, id;
	GElf_Shdr sh;
	struct cie c;

	while (off + 8 <= u->eh.len && u->nr_pwords < MAX_PWORDS) {
		memcpy(&len, u->eh.data + off, 4);
		if (!len || len == 0xffffffff || len > u->eh.len - off - 4)
			break;
		memcpy(&id, u->eh.data + off + 4, 4);
		if (!id && eh_cie(&u->eh, off, &c) && c.per_indirect) {
			bool seen = false;

			for (size_t i = 0; i < u->nr_pwords; i++)
				seen |= u->pwords[i].vaddr == c.per_vaddr;
			if (!seen) {
				u->pwords = xgrow(u->pwords, &cap, u->nr_pwords + 1,
						  sizeof(*u->pwords));
				u->pwords[u->nr_pwords++] = (struct pword){ .vaddr = c.per_vaddr };
			}
		}
		off += 4 + (size_t)len;
	}
	if (!u->nr_pwords)
		return;
	qsort(u->pwords, u->nr_pwords, sizeof(*u->pwords), cmp_pword);
	for (size_t i = 0; i < u->nr_pwords; i++) {
		struct pword *w = &u->pwords[i];
		const struct seg *s = seg_of_vaddr(u, w->vaddr);
		Elf_Data *d;

		if (s && w->vaddr - s->vaddr <= s->filesz - 8 &&
		    (d = elf_getdata_rawchunk(elf, (int64_t)(s->offset + (w->vaddr - s->vaddr)), 8,
					      ELF_T_BYTE)) && d->d_buf && d->d_size == 8)
			memcpy(&w->val, d->d_buf, 8);
	}
	while (shstrndx && (scn = elf_nextscn(elf, scn))) {
		if (!gelf_getshdr(scn, &sh) || !(sh.sh_flags & SHF_ALLOC))
			continue;
		if (sh.sh_type == SHT_RELA)
			apply_rela(elf, scn, &sh, u);
		else if (sh.sh_type == SHT_RELR)
			apply_relr(scn, u);
	}
}

static int load(Elf *elf, struct elfunw **out)
{
	GElf_Phdr ph, eh_ph;
	GElf_Shdr sh, eh_sh;
	Elf_Scn *scn = NULL, *eh_scn = NULL;
	size_t n, i, cap = 0, shstrndx;
	bool have_eh_ph = false;
	struct elfunw *u;
	GElf_Ehdr eh;

	if (!elf || elf_kind(elf) != ELF_K_ELF || !gelf_getehdr(elf, &eh))
		return -ENOEXEC;
	u = xcalloc(1, sizeof(*u));
	u->serial = __atomic_add_fetch(&serials, 1, __ATOMIC_RELAXED);
	*out = u;
	if (gelf_getclass(elf) != ELFCLASS64)
		return 0; /* only 64-bit targets are unwound */
	if (eh.e_type == ET_EXEC || eh.e_type == ET_DYN)
		u->entry = eh.e_entry;

	if (!elf_getphdrnum(elf, &n)) {
		for (i = 0; i < n; i++) {
			if (!gelf_getphdr(elf, (int)i, &ph))
				continue;
			if (ph.p_type == PT_LOAD) {
				u->segs = xgrow(u->segs, &cap, u->nr_segs + 1, sizeof(*u->segs));
				u->segs[u->nr_segs++] = (struct seg){ .offset = ph.p_offset,
								      .vaddr = ph.p_vaddr,
								      .filesz = ph.p_filesz,
								      .flags = ph.p_flags };
			} else if (ph.p_type == PT_GNU_EH_FRAME) {
				eh_ph = ph;
				have_eh_ph = true;
			}
		}
	}

	if (elf_getshdrstrndx(elf, &shstrndx))
		shstrndx = 0;
	while (shstrndx && (scn = elf_nextscn(elf, scn))) {
		const char *name;

		if (!gelf_getshdr(scn, &sh) || !(name = elf_strptr(elf, shstrndx, sh.sh_name)))
			continue;
		if (!strcmp(name, ".eh_frame_hdr") && !have_eh_ph && sh.sh_type == SHT_PROGBITS) {
			/* section headers but no program header: a debug file, a relocatable */
			eh_ph = (GElf_Phdr){ .p_offset = sh.sh_offset, .p_vaddr = sh.sh_addr,
					     .p_filesz = sh.sh_size };
			have_eh_ph = true;
		} else if (!strcmp(name, ".eh_frame")) {
			eh_scn = scn;
			eh_sh = sh;
		} else if (!strcmp(name, ".debug_frame") && !u->df.data) {
			u->df.data = copy_section(scn, &sh, &u->df.len);
		} else if (!strcmp(name, ".gopclntab") || !strcmp(name, ".go.buildinfo") ||
			   !strcmp(name, ".note.go.buildid")) {
			u->is_go = true;
		}
	}
	load_eh(elf, u, have_eh_ph ? &eh_ph : NULL, eh_scn, &eh_sh);
	if (u->eh.data && eh.e_machine == EM_X86_64)
		load_pwords(elf, u, shstrndx);
	if (u->df.data)
		index_df(u);
	return 0;
}

int elfunw_load_fd(int fd, struct elfunw **out)
{
	Elf *elf;
	int err;

	*out = NULL;
	elf_version(EV_CURRENT);
	elf = elf_begin(fd, ELF_C_READ, NULL);
	err = load(elf, out);
	elf_end(elf);
	if (err) {
		elfunw_free(*out);
		*out = NULL;
	}
	return err;
}

int elfunw_load_mem(const void *buf, size_t len, struct elfunw **out)
{
	char *copy;
	Elf *elf;
	int err;

	*out = NULL;
	if (!len || len > MAX_SECTION)
		return -ENOEXEC;
	elf_version(EV_CURRENT);
	copy = xmalloc(len);
	memcpy(copy, buf, len);
	elf = elf_memory(copy, len);
	err = load(elf, out);
	elf_end(elf);
	if (err) {
		free(copy);
		elfunw_free(*out);
		*out = NULL;
		return err;
	}
	(*out)->img.data = (uint8_t *)copy;
	(*out)->img.len = len;
	return 0;
}

size_t elfunw_bytes(const struct elfunw *u)
{
	if (!u)
		return 0;
	return sizeof(*u) + u->nr_segs * sizeof(*u->segs) + u->hdr.len + u->eh.len + u->img.len +
	       u->df.len + (u->nr_eh_index + u->nr_df) * sizeof(*u->eh_index) +
	       u->nr_pwords * sizeof(*u->pwords) + cfi_table_bytes(u->cfi) +
	       u->cap_fdes * sizeof(*u->fdes) + u->fde_bytes;
}

void elfunw_free(struct elfunw *u)
{
	if (!u)
		return;
	free(u->segs);
	free(u->hdr.data);
	free(u->eh.data);
	free(u->img.data);
	free(u->eh_index);
	free(u->df.data);
	free(u->df_index);
	free(u->pwords);
	cfi_table_free(u->cfi);
	for (size_t i = 0; i < u->cap_fdes; i++)
		cfi_table_free(u->fdes[i].t);
	free(u->fdes);
	free(u);
}

bool elfunw_is_go(const struct elfunw *u)
{
	return u->is_go;
}

size_t elfunw_nr_eh_fdes(const struct elfunw *u)
{
	return u->nr_table ? u->nr_table : u->nr_eh_index;
}

size_t elfunw_nr_debug_fdes(const struct elfunw *u)
{
	return u->nr_df;
}

bool elfunw_bias(const struct elfunw *u, uint64_t map_start, uint64_t map_pgoff, uint64_t *bias)
{
	long pg = sysconf(_SC_PAGESIZE);
	uint64_t mask = ~(uint64_t)((pg > 0 ? pg : 4096) - 1);
	const struct seg *best = NULL;

	for (size_t i = 0; i < u->nr_segs; i++) {
		const struct seg *s = &u->segs[i];
		uint64_t lo = s->offset & mask;

		if (map_pgoff < lo || map_pgoff - lo >= s->filesz + (s->offset - lo))
			continue;
		if (!best || ((s->flags & PF_X) && !(best->flags & PF_X)))
			best = s;
	}
	if (!best)
		return false;
	*bias = map_start - map_pgoff + best->offset - best->vaddr;
	return true;
}

/* One byte at vaddr from the copies: false when none holds it. */
static bool read_byte(const struct elfunw *u, uint64_t vaddr, uint8_t *b)
{
	const struct blob *bl[2] = { &u->eh, &u->hdr };

	for (int i = 0; i < 2; i++) {
		if (bl[i]->data && vaddr >= bl[i]->vaddr && vaddr - bl[i]->vaddr < bl[i]->len) {
			*b = bl[i]->data[vaddr - bl[i]->vaddr];
			return true;
		}
	}
	if (u->img.data) {
		const struct seg *s = seg_of_vaddr(u, vaddr);
		uint64_t off;

		if (s && (off = s->offset + (vaddr - s->vaddr)) < u->img.len && off >= s->offset) {
			*b = u->img.data[off];
			return true;
		}
	}
	return false;
}

size_t elfunw_read(const struct elfunw *u, uint64_t vaddr, void *buf, size_t len)
{
	const struct blob *bl[2] = { &u->eh, &u->hdr };
	uint8_t *out = buf;
	size_t got = 0;

	/* the common case: wholly inside one copied section */
	for (int i = 0; i < 2; i++) {
		if (bl[i]->data && vaddr >= bl[i]->vaddr && vaddr - bl[i]->vaddr < bl[i]->len &&
		    bl[i]->len - (vaddr - bl[i]->vaddr) >= len) {
			memcpy(buf, bl[i]->data + (vaddr - bl[i]->vaddr), len);
			return len;
		}
	}
	for (size_t i = 0; i < len; i++) {
		if (vaddr + i < vaddr || !read_byte(u, vaddr + i, &out[i]))
			out[i] = 0;
		else
			got++;
	}
	return got;
}

bool elfunw_read_pword(const struct elfunw *u, uint64_t vaddr, uint64_t bias, uint64_t *val)
{
	const struct pword *w = find_pword(u->pwords, u->nr_pwords, vaddr);

	if (!w)
		return false;
	*val = w->val + (w->biased ? bias : 0);
	return true;
}

bool elfunw_in_entry(const struct elfunw *u, uint64_t vaddr)
{
	return u->entry && vaddr >= u->entry && vaddr - u->entry < ELFUNW_ENTRY_SIZE;
}

size_t elfunw_nr_pwords(const struct elfunw *u)
{
	return u->nr_pwords;
}

int elfunw_find(const struct elfunw *u, uint64_t vaddr, struct elfunw_fde *out)
{
	const struct efde *e;
	uint64_t fde, lo, hi;
	size_t next;

	memset(out, 0, sizeof(*out));
	if (u->nr_table && hdr_lookup(u, vaddr, &fde) && fde >= u->eh.vaddr &&
	    fde - u->eh.vaddr < u->eh.len &&
	    eh_fde(&u->eh, fde - u->eh.vaddr, &lo, &hi, &next) == 1 && vaddr >= lo &&
	    vaddr < hi) {
		*out = (struct elfunw_fde){ .lo = lo, .hi = hi, .vaddr = fde };
		return 0;
	}
	e = index_lookup(u->eh_index, u->nr_eh_index, vaddr);
	if (e) {
		*out = (struct elfunw_fde){ .lo = e->lo, .hi = e->hi, .vaddr = e->where };
		return 0;
	}
	e = index_lookup(u->df_index, u->nr_df, vaddr);
	if (e) {
		*out = (struct elfunw_fde){ .lo = e->lo, .hi = e->hi, .df_off = e->where,
					    .debug_frame = true };
		return 0;
	}
	return -ENOENT;
}

static bool put(uint8_t *buf, size_t len, size_t *pos, const void *src, size_t n)
{
	if (*pos > len || len - *pos < n)
		return false;
	memcpy(buf + *pos, src, n);
	*pos += n;
	return true;
}

int elfunw_debug_fde(const struct elfunw *u, const struct elfunw_fde *f, uint64_t bias,
		     uint8_t *buf, size_t len, size_t *fde_off)
{
	uint64_t lo, hi, begin, range;
	size_t instr, next, pos = 4, cie_len, fde_start;
	static const uint8_t zero4[4];
	uint32_t len32, ptr;
	struct dcie c;
	uint8_t hdr[2];

	if (!f->debug_frame || df_fde(&u->df, f->df_off, &c, &lo, &hi, &instr, &next) != 1)
		return -EINVAL;
	/* CIE: length, id 0, version (4 becomes 3: no address/segment sizes), "" , the rest */
	hdr[0] = c.version == 4 ? 3 : c.version;
	hdr[1] = 0;
	if (!put(buf, len, &pos, zero4, 4) || !put(buf, len, &pos, hdr, 2) ||
	    !put(buf, len, &pos, u->df.data + c.body, c.end - c.body))
		return -ENOSPC;
	cie_len = pos - 4;
	if (cie_len > UINT32_MAX)
		return -EINVAL;
	len32 = (uint32_t)cie_len;
	memcpy(buf, &len32, 4);

	/* FDE: length, CIE pointer (back to offset 0), absolute begin and range, instructions */
	fde_start = pos;
	begin = lo + bias;
	range = hi - lo;
	ptr = (uint32_t)(fde_start + 4);
	if (!put(buf, len, &pos, zero4, 4) || !put(buf, len, &pos, &ptr, 4) ||
	    !put(buf, len, &pos, &begin, 8) || !put(buf, len, &pos, &range, 8) ||
	    !put(buf, len, &pos, u->df.data + instr, next - instr))
		return -ENOSPC;
	len32 = (uint32_t)(pos - fde_start - 4);
	memcpy(buf + fde_start, &len32, 4);
	*fde_off = fde_start;
	return (int)pos;
}
