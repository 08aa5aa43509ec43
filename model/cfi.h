// SPDX-License-Identifier: GPL-2.0-only
/*
 * A binary's unwind table, pre-digested: what DWARF's call frame instructions (.eh_frame,
 * .debug_frame) say for x86-64, as one sorted array of rows for the whole binary, so that a walk
 * step is a binary search and two reads from the stack copy: no CFA program run per frame, no
 * per-process state, no locks. Each row holds from its address to the next row's:
 *
 *   CFA = rsp + cfa_off or rbp + cfa_off (the caller's rsp)
 *   return address at CFA - 8, or undefined (the outermost frame: _start, clone3), or in a
 *   register (vfork: only the leaf's registers are known)
 *   rbp unchanged, or saved at CFA + bp_off
 *
 * (offsets multiples of 8, CFA offsets within 256 KiB, rbp's within 1 KiB of the CFA)
 *
 * Whatever else the instructions say (a CFA expression, as in PLT entries; a signal frame's
 * registers; a register saved in another register; rules libunwind would refuse) makes a row
 * CFI_OTHER, as are addresses no FDE covers: a walk that meets one leaves the sample to
 * libunwind (model/unwind.c), so the table never walks worse than libunwind did.
 *
 * Built once per binary (model/elfunw.c, at the first walk that needs it) and shared by every
 * process that maps the binary. Every byte read is bounds-checked: the instructions come from
 * files. No libunwind, no libelf in here.
 */
#ifndef MODEL_CFI_H
#define MODEL_CFI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* How a row computes the CFA (struct cfi_row.how, low bits). */
enum cfi_cfa {
	CFI_OTHER = 0, /* not expressible here, or no FDE: libunwind walks the sample */
	CFI_CFA_SP = 1,
	CFI_CFA_BP = 2,
};
#define CFI_CFA_MASK 3
#define CFI_BP_SAVED 4 /* rbp is saved at CFA + bp_off (else unchanged) */
#define CFI_RA_UNDEF 8 /* the return address is undefined: the outermost frame */
#define CFI_RA_REG 16  /* the return address is in DWARF register ra_off (vfork): the leaf's */

/* One row (the table keeps it in 8 bytes). */
struct cfi_row {
	uint32_t pc;     /* from the table's base (ELF virtual address - base) */
	int32_t cfa_off;
	int16_t bp_off;
	int8_t ra_off;   /* -8; with CFI_RA_REG, the register (< 15) */
	uint8_t how;     /* enum cfi_cfa | CFI_BP_SAVED | CFI_RA_UNDEF */
};

/* One FDE and its CIE as a reader of .eh_frame or .debug_frame found them. Borrowed. */
struct cfi_fde {
	uint64_t lo, hi;          /* the code it describes: [lo, hi), ELF virtual addresses */
	const uint8_t *cie_instr; /* the CIE's initial instructions */
	size_t cie_len;
	const uint8_t *instr;     /* the FDE's instructions */
	size_t len;
	uint64_t code_align;
	int64_t data_align;
	uint64_t ra_reg;          /* the CIE's return address column (16 on x86-64) */
	bool signal;              /* 'S': a signal frame (libunwind's own handling) */
	bool bad;                 /* the reader could not take it apart: rows of CFI_OTHER */
};

struct cfi_table;
struct cfi_build;

/* Building: FDEs in any order; cfi_build_end() sorts them into a table (NULL when empty). */
struct cfi_build *cfi_build_new(void);
void cfi_build_add(struct cfi_build *b, const struct cfi_fde *f);
struct cfi_table *cfi_build_end(struct cfi_build *b);

void cfi_table_free(struct cfi_table *t);
/* The bytes it holds (0 for NULL). */
size_t cfi_table_bytes(const struct cfi_table *t);
size_t cfi_table_rows(const struct cfi_table *t);

/*
 * The row that holds at ELF virtual address vaddr. False when the table has none there (no
 * FDE); a row of CFI_OTHER may come back as well: both mean "ask libunwind".
 */
bool cfi_table_find(const struct cfi_table *t, uint64_t vaddr, struct cfi_row *out);

#endif
