// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for model/cfi.c: DWARF call frame instructions from the input, run into an
 * unwind table and looked up. The input is three header bytes (code alignment, data alignment as
 * a signed byte, the CIE's length), the CIE's initial instructions, then the FDEs' instructions:
 * the rest split in two FDEs whose ranges (overlapping or not) come from the header too. ELF
 * files reach the same code through fuzz_unwind (elfunw_cfi() on .eh_frame/.debug_frame).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/cfi.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct cfi_build *b;
	struct cfi_table *t;
	struct cfi_fde f;
	struct cfi_row r;
	size_t cie_len, rest, half;

	if (size < 3)
		return 0;
	cie_len = data[2] < size - 3 ? data[2] : size - 3;
	rest = size - 3 - cie_len;
	half = rest / 2;
	memset(&f, 0, sizeof(f));
	f.code_align = data[0];
	f.data_align = (int8_t)data[1];
	f.ra_reg = 16;
	f.cie_instr = data + 3;
	f.cie_len = cie_len;
	b = cfi_build_new();
	f.lo = 0x1000;
	f.hi = 0x1000 + 64u * (data[0] | 1);
	f.instr = data + 3 + cie_len;
	f.len = half;
	cfi_build_add(b, &f);
	f.lo = 0x1000 + 8u * data[1];
	f.hi = f.lo + 1 + 4u * data[2];
	f.instr = data + 3 + cie_len + half;
	f.len = rest - half;
	f.signal = data[0] == 0x53;
	cfi_build_add(b, &f);
	t = cfi_build_end(b);
	for (uint64_t a = 0xff0; a < 0x2100; a += 3)
		cfi_table_find(t, a, &r);
	cfi_table_bytes(t);
	cfi_table_free(t);
	return 0;
}
