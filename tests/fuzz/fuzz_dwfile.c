// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the line table header reader (model/dwfile.c): the first byte chooses the
 * unit's address size and whether it has a DW_AT_comp_dir, the rest is .debug_line, read at
 * offset 0 and at an offset taken from the input; .debug_line_str and .debug_str are the same
 * bytes, so that string offsets land anywhere in them. Every file name is composed.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "model/dwfile.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void names(const struct dwfile_sections *s, uint64_t off, const char *comp_dir,
		  uint8_t address_size)
{
	struct dwfile *df;

	if (dwfile_new(s, off, comp_dir, address_size, &df))
		return;
	for (uint64_t i = 0; i <= dwfile_count(df); i++) {
		const char *name = dwfile_name(df, i);

		if (name)
			(void)strlen(name);
	}
	dwfile_bytes(df);
	dwfile_free(df);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dwfile_sections s;
	uint8_t *copy;
	uint32_t off = 0;

	if (size < 1)
		return 0;
	/* a copy of its exact size: a read past it is caught */
	copy = malloc(size - 1 ? size - 1 : 1);
	memcpy(copy, data + 1, size - 1);
	s = (struct dwfile_sections){ .line = copy, .line_len = size - 1, .line_str = copy,
				      .line_str_len = size - 1, .str = copy, .str_len = size - 1 };
	names(&s, 0, data[0] & 1 ? "/comp/dir" : NULL, data[0] & 2 ? 4 : 8);
	if (size >= 5) {
		memcpy(&off, data + size - 4, 4);
		names(&s, off % size, data[0] & 1 ? "/comp/dir" : NULL, data[0] & 2 ? 4 : 8);
	}
	free(copy);
	return 0;
}
