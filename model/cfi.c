// SPDX-License-Identifier: GPL-2.0-only
/*
 * DWARF call frame instructions (DWARF 5 §6.4.2) run once per FDE into rows, and the rows of a
 * whole binary sorted into one table.
 *
 * What a row can say follows what libunwind's x86-64 step does with the same FDE, so that a walk
 * over the table and libunwind's walk agree frame by frame: the CFA from rsp or rbp plus an
 * offset, the return address read at a CFA offset (or undefined: the end of the stack), rbp kept
 * or read at a CFA offset. Anything libunwind would refuse (a register number past 16, an
 * unknown opcode, a restore_state with nothing remembered) or do by other means (expressions,
 * registers kept in registers, signal frames) makes the rows of that FDE, or from that row on,
 * CFI_OTHER: libunwind then walks the sample as before.
 */
#include <stdlib.h>
#include <string.h>

#include "byteread.h"
#include "cfi.h"
#include "xalloc.h"

/* x86-64 DWARF register numbers */
#define REG_RBP 6
#define REG_RSP 7
#define REG_RA 16
#define NR_REGS 17 /* libunwind's DWARF_NUM_PRESERVED_REGS: larger numbers fail its step */

#define DW_CFA_advance_loc 0x40
#define DW_CFA_offset 0x80
#define DW_CFA_restore 0xc0
#define DW_CFA_nop 0x00
#define DW_CFA_set_loc 0x01
#define DW_CFA_advance_loc1 0x02
#define DW_CFA_advance_loc2 0x03
#define DW_CFA_advance_loc4 0x04
#define DW_CFA_offset_extended 0x05
#define DW_CFA_restore_extended 0x06
#define DW_CFA_undefined 0x07
#define DW_CFA_same_value 0x08
#define DW_CFA_register 0x09
#define DW_CFA_remember_state 0x0a
#define DW_CFA_restore_state 0x0b
#define DW_CFA_def_cfa 0x0c
#define DW_CFA_def_cfa_register 0x0d
#define DW_CFA_def_cfa_offset 0x0e
#define DW_CFA_def_cfa_expression 0x0f
#define DW_CFA_expression 0x10
#define DW_CFA_offset_extended_sf 0x11
#define DW_CFA_def_cfa_sf 0x12
#define DW_CFA_def_cfa_offset_sf 0x13
#define DW_CFA_GNU_args_size 0x2e
#define DW_CFA_GNU_negative_offset_extended 0x2f

#define MAX_REMEMBER 16 /* remember_state depth; deeper programs are left to libunwind */
#define MAX_ROWS (64u << 20)

/* A register's rule, for the two registers a row keeps. */
enum rule {
	RULE_SAME,  /* unchanged (for the return address: libunwind would not move) */
	RULE_AT,    /* saved at CFA + off */
	RULE_UNDEF, /* undefined */
	RULE_REG,   /* in register off */
	RULE_OTHER, /* anything else */
};

struct reg {
	uint8_t rule;
	int64_t off;
};

struct state {
	uint8_t cfa_reg; /* a DWARF register number; anything but rsp/rbp is CFI_OTHER */
	bool cfa_expr;   /* DW_CFA_def_cfa_expression */
	bool cfa_set;
	int64_t cfa_off;
	struct reg bp, ra, sp;
	uint32_t odd; /* registers kept in registers or by expressions: libunwind's to follow */
};

struct trow {
	uint64_t pc;
	struct cfi_row r; /* r.pc set at the end */
};

struct span {
	uint64_t lo, hi;
	size_t first, nr;
};

struct cfi_build {
	struct trow *rows;
	size_t nr_rows, cap_rows;
	struct span *spans;
	size_t nr_spans, cap_spans;
};

/*
 * A row as the table keeps it, 8 bytes: offsets in 8-byte units (to_row() only makes rows whose
 * offsets are multiples of 8 and fit: the return address at CFA - 8, as every call leaves it),
 * the return address's register in the high bits of how.
 */
struct prow {
	uint32_t pc;
	int16_t cfa8;
	int8_t bp8;
	uint8_t how; /* CFI_CFA_MASK | CFI_BP_SAVED | CFI_RA_UNDEF; (register + 1) << 4 */
};

struct cfi_table {
	uint64_t base;
	struct prow *rows;
	size_t nr;
};

static struct prow pack(uint32_t pc, const struct cfi_row *r)
{
	struct prow p = { .pc = pc, .cfa8 = (int16_t)(r->cfa_off / 8),
			  .bp8 = (int8_t)(r->bp_off / 8), .how = r->how & 15 };

	if (r->how & CFI_RA_REG)
		p.how |= (uint8_t)((r->ra_off + 1) << 4);
	return p;
}

static struct cfi_row unpack(const struct prow *p)
{
	struct cfi_row r = { .pc = p->pc, .cfa_off = p->cfa8 * 8, .bp_off = (int16_t)(p->bp8 * 8),
			     .ra_off = -8, .how = p->how & 15 };

	if (p->how >> 4) {
		r.how |= CFI_RA_REG;
		r.ra_off = (int8_t)((p->how >> 4) - 1);
	}
	return r;
}

static bool same_row(const struct cfi_row *a, const struct cfi_row *b)
{
	return a->how == b->how && a->cfa_off == b->cfa_off && a->bp_off == b->bp_off &&
	       a->ra_off == b->ra_off;
}

/* What state st says, as a row. */
static struct cfi_row to_row(const struct state *st)
{
	struct cfi_row r = { 0 };

	if (!st->cfa_set || st->cfa_expr || (st->cfa_reg != REG_RSP && st->cfa_reg != REG_RBP) ||
	    st->cfa_off % 8 || st->cfa_off / 8 < INT16_MIN || st->cfa_off / 8 > INT16_MAX ||
	    st->odd || st->sp.rule != RULE_SAME)
		return r;
	r.how = st->cfa_reg == REG_RSP ? CFI_CFA_SP : CFI_CFA_BP;
	r.cfa_off = (int32_t)st->cfa_off;
	switch (st->ra.rule) {
	case RULE_UNDEF:
		r.how |= CFI_RA_UNDEF;
		break;
	case RULE_AT:
		if (st->ra.off != -8)
			return (struct cfi_row){ 0 }; /* the call's push: anything else is odd */
		r.ra_off = -8;
		break;
	case RULE_REG:
		if (st->ra.off >= 15)
			return (struct cfi_row){ 0 };
		r.how |= CFI_RA_REG;
		r.ra_off = (int8_t)st->ra.off;
		break;
	default:
		return (struct cfi_row){ 0 };
	}
	switch (st->bp.rule) {
	case RULE_SAME:
		break;
	case RULE_AT:
		if (st->bp.off % 8 || st->bp.off / 8 < INT8_MIN || st->bp.off / 8 > INT8_MAX)
			return (struct cfi_row){ 0 };
		r.how |= CFI_BP_SAVED;
		r.bp_off = (int16_t)st->bp.off;
		break;
	default:
		/* rbp undefined ends libunwind's walk its own way; kept elsewhere: not ours */
		return (struct cfi_row){ 0 };
	}
	return r;
}

static void push_row(struct cfi_build *b, uint64_t pc, const struct cfi_row *r)
{
	struct trow *last = b->nr_rows && b->spans[b->nr_spans - 1].nr ? &b->rows[b->nr_rows - 1]
									: NULL;

	if (last && last->pc == pc) {
		last->r = *r; /* an advance by 0: the later state holds */
		if (b->spans[b->nr_spans - 1].nr > 1 && same_row(&last[-1].r, r)) {
			b->nr_rows--;
			b->spans[b->nr_spans - 1].nr--;
		}
		return;
	}
	if (last && same_row(&last->r, r))
		return;
	if (b->nr_rows >= MAX_ROWS)
		return;
	b->rows = xgrow(b->rows, &b->cap_rows, b->nr_rows + 1, sizeof(*b->rows));
	b->rows[b->nr_rows++] = (struct trow){ .pc = pc, .r = *r };
	b->spans[b->nr_spans - 1].nr++;
}

static struct reg *reg_of(struct state *st, uint64_t reg)
{
	return reg == REG_RBP ? &st->bp : reg == REG_RA ? &st->ra : reg == REG_RSP ? &st->sp : NULL;
}

static void set_reg(struct state *st, uint64_t reg, uint8_t rule, int64_t off)
{
	struct reg *r = reg_of(st, reg);

	if (rule == RULE_OTHER || (rule == RULE_REG && reg != REG_RA))
		st->odd |= 1u << reg;
	else
		st->odd &= ~(1u << reg);
	if (r) {
		r->rule = rule;
		r->off = off;
	}
}

/* The initial rule of a register (DW_CFA_restore): what the CIE's instructions left. */
static void restore_reg(struct state *st, const struct state *init, uint64_t reg)
{
	struct reg *r = reg_of(st, reg);

	if (r)
		*r = *reg_of((struct state *)init, reg);
	st->odd = (st->odd & ~(1u << reg)) | (init->odd & (1u << reg));
}

static bool factored(uint64_t v, int64_t align, int64_t *out)
{
	return v <= INT64_MAX && !__builtin_mul_overflow((int64_t)v, align, out);
}

static bool factored_s(int64_t v, int64_t align, int64_t *out)
{
	return !__builtin_mul_overflow(v, align, out);
}

/*
 * Runs instructions over st. With b (an FDE's instructions) each change of location emits the
 * state before it as a row at *pc; without (a CIE's) a change of location is refused. False for
 * anything libunwind would refuse or this table cannot follow: the caller then gives up on the
 * FDE from *pc on.
 */
static bool run(struct cfi_build *b, const uint8_t *p, size_t len, const struct cfi_fde *f,
		struct state *st, const struct state *init, uint64_t *pc)
{
	struct state stack[MAX_REMEMBER];
	unsigned depth = 0;
	struct rd r = { p, len, 0 };
	uint64_t reg, u, delta;
	int64_t s, off;
	uint8_t op, operand;
	uint16_t u16;
	uint32_t u32;
	struct cfi_row row;

	while (r.pos < r.len) {
		if (!rd_u8(&r, &op))
			return false;
		operand = op & 0x3f;
		delta = 0;
		switch (op & 0xc0) {
		case DW_CFA_advance_loc:
			delta = operand;
			goto advance;
		case DW_CFA_offset:
			if (operand >= NR_REGS || !rd_uleb(&r, &u) ||
			    !factored(u, f->data_align, &off))
				return false;
			set_reg(st, operand, RULE_AT, off);
			continue;
		case DW_CFA_restore:
			if (operand >= NR_REGS || !init)
				return false;
			restore_reg(st, init, operand);
			continue;
		}
		switch (op) {
		case DW_CFA_nop:
			continue;
		case DW_CFA_advance_loc1:
			if (!rd_u8(&r, &op))
				return false;
			delta = op;
			goto advance;
		case DW_CFA_advance_loc2:
			if (!rd_bytes(&r, &u16, 2))
				return false;
			delta = u16;
			goto advance;
		case DW_CFA_advance_loc4:
			if (!rd_u32(&r, &u32))
				return false;
			delta = u32;
			goto advance;
		case DW_CFA_offset_extended:
		case DW_CFA_GNU_negative_offset_extended:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !rd_uleb(&r, &u) ||
			    !factored(u, f->data_align, &off))
				return false;
			set_reg(st, reg, RULE_AT, op == DW_CFA_offset_extended ? off : -off);
			continue;
		case DW_CFA_offset_extended_sf:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !rd_sleb(&r, &s) ||
			    !factored_s(s, f->data_align, &off))
				return false;
			set_reg(st, reg, RULE_AT, off);
			continue;
		case DW_CFA_restore_extended:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !init)
				return false;
			restore_reg(st, init, reg);
			continue;
		case DW_CFA_undefined:
		case DW_CFA_same_value:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS)
				return false;
			set_reg(st, reg, op == DW_CFA_undefined ? RULE_UNDEF : RULE_SAME, 0);
			continue;
		case DW_CFA_register:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !rd_uleb(&r, &u))
				return false;
			/* the return address in a register (vfork: the leaf's own rdi) */
			set_reg(st, reg, u < NR_REGS && u != REG_RA && u != REG_RSP ? RULE_REG : RULE_OTHER,
				(int64_t)u);
			continue;
		case DW_CFA_remember_state:
			if (depth >= MAX_REMEMBER)
				return false;
			stack[depth++] = *st;
			continue;
		case DW_CFA_restore_state:
			if (!depth)
				return false;
			/* libunwind restores the registers' rules, CFA included */
			*st = stack[--depth];
			continue;
		case DW_CFA_def_cfa:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !rd_uleb(&r, &u) ||
			    u > INT64_MAX)
				return false;
			st->cfa_reg = (uint8_t)reg;
			st->cfa_off = (int64_t)u;
			st->cfa_expr = false;
			st->cfa_set = true;
			continue;
		case DW_CFA_def_cfa_sf:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !rd_sleb(&r, &s) ||
			    !factored_s(s, f->data_align, &off))
				return false;
			st->cfa_reg = (uint8_t)reg;
			st->cfa_off = off;
			st->cfa_expr = false;
			st->cfa_set = true;
			continue;
		case DW_CFA_def_cfa_register:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS)
				return false;
			st->cfa_reg = (uint8_t)reg;
			st->cfa_expr = false;
			st->cfa_set = true;
			continue;
		case DW_CFA_def_cfa_offset:
			if (!rd_uleb(&r, &u) || u > INT64_MAX)
				return false;
			st->cfa_off = (int64_t)u;
			continue;
		case DW_CFA_def_cfa_offset_sf:
			if (!rd_sleb(&r, &s) || !factored_s(s, f->data_align, &off))
				return false;
			st->cfa_off = off;
			continue;
		case DW_CFA_def_cfa_expression:
			if (!rd_uleb(&r, &u) || u > r.len - r.pos)
				return false;
			r.pos += u;
			st->cfa_expr = true;
			st->cfa_set = true;
			continue;
		case DW_CFA_expression:
			if (!rd_uleb(&r, &reg) || reg >= NR_REGS || !rd_uleb(&r, &u) ||
			    u > r.len - r.pos)
				return false;
			r.pos += u;
			set_reg(st, reg, RULE_OTHER, 0);
			continue;
		case DW_CFA_GNU_args_size:
			if (!rd_uleb(&r, &u))
				return false;
			continue;
		default:
			/* set_loc, val_offset, val_expression, vendor opcodes: not followed */
			return false;
		}
advance:
		if (!b)
			return false; /* a CIE does not move */
		if (!factored(delta, (int64_t)f->code_align, &off) || (uint64_t)off >= f->hi - *pc)
			return true; /* the rest is past the FDE's end */
		row = to_row(st);
		push_row(b, *pc, &row);
		*pc += (uint64_t)off;
	}
	return true;
}

struct cfi_build *cfi_build_new(void)
{
	return xcalloc(1, sizeof(struct cfi_build));
}

void cfi_build_add(struct cfi_build *b, const struct cfi_fde *f)
{
	static const struct cfi_row other;
	struct state st = { 0 }, init;
	uint64_t pc = f->lo;
	struct cfi_row row;

	if (f->hi <= f->lo)
		return;
	b->spans = xgrow(b->spans, &b->cap_spans, b->nr_spans + 1, sizeof(*b->spans));
	b->spans[b->nr_spans++] = (struct span){ .lo = f->lo, .hi = f->hi, .first = b->nr_rows };
	if (f->bad || f->signal || f->ra_reg != REG_RA || f->code_align == 0 ||
	    f->code_align > INT64_MAX || !run(NULL, f->cie_instr, f->cie_len, f, &st, NULL, &pc)) {
		push_row(b, pc, &other);
		return;
	}
	init = st;
	if (!run(b, f->instr, f->len, f, &st, &init, &pc)) {
		push_row(b, pc, &other);
		return;
	}
	row = to_row(&st);
	push_row(b, pc, &row);
}

static int cmp_span(const void *a, const void *b)
{
	const struct span *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Appends a row to the table being made, merging it with an equal row before it. */
static void emit(struct cfi_table *t, size_t *cap, uint64_t pc, const struct cfi_row *r)
{
	struct prow row = pack((uint32_t)(pc - t->base), r);
	struct cfi_row prev;

	if (t->nr && t->rows[t->nr - 1].pc == row.pc) {
		t->rows[t->nr - 1] = row;
		if (t->nr > 1 && (prev = unpack(&t->rows[t->nr - 2]), same_row(&prev, r)))
			t->nr--;
		return;
	}
	if (t->nr && (prev = unpack(&t->rows[t->nr - 1]), same_row(&prev, r)))
		return;
	t->rows = xgrow(t->rows, cap, t->nr + 1, sizeof(*t->rows));
	t->rows[t->nr++] = row;
}

struct cfi_table *cfi_build_end(struct cfi_build *b)
{
	static const struct cfi_row other;
	struct cfi_table *t = NULL;
	uint64_t prev_hi = 0;
	size_t cap = 0;

	if (!b)
		return NULL;
	if (b->nr_spans) {
		qsort(b->spans, b->nr_spans, sizeof(*b->spans), cmp_span);
		t = xcalloc(1, sizeof(*t));
		t->base = b->spans[0].lo;
		for (size_t i = 0; i < b->nr_spans; i++) {
			const struct span *s = &b->spans[i];

			if (!s->nr || (i && s->lo < prev_hi))
				continue; /* overlapping FDEs: the first one's rows hold */
			if (s->hi - t->base > UINT32_MAX)
				break;
			if (i && s->lo > prev_hi)
				emit(t, &cap, prev_hi, &other); /* no FDE in between */
			for (size_t j = 0; j < s->nr; j++)
				emit(t, &cap, b->rows[s->first + j].pc, &b->rows[s->first + j].r);
			prev_hi = s->hi;
		}
		if (t->nr)
			emit(t, &cap, prev_hi, &other);
		if (!t->nr) {
			free(t);
			t = NULL;
		} else if (cap > t->nr) {
			t->rows = realloc(t->rows, t->nr * sizeof(*t->rows)) ?: t->rows;
		}
	}
	free(b->rows);
	free(b->spans);
	free(b);
	return t;
}

void cfi_table_free(struct cfi_table *t)
{
	if (!t)
		return;
	free(t->rows);
	free(t);
}

size_t cfi_table_bytes(const struct cfi_table *t)
{
	return t ? sizeof(*t) + t->nr * sizeof(*t->rows) : 0;
}

size_t cfi_table_rows(const struct cfi_table *t)
{
	return t ? t->nr : 0;
}

bool cfi_table_find(const struct cfi_table *t, uint64_t vaddr, struct cfi_row *out)
{
	size_t lo = 0, hi, mid;
	uint64_t pc;

	if (!t || vaddr < t->base || vaddr - t->base > UINT32_MAX)
		return false;
	pc = vaddr - t->base;
	hi = t->nr;
	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (t->rows[mid].pc <= pc)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (!lo)
		return false;
	*out = unpack(&t->rows[lo - 1]);
	return true;
}
