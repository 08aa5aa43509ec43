// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the ELF symbol reader (model/elfsyms.c): any bytes may arrive as a
 * "binary" (truncated downloads, files rewritten under us, hostile containers).
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/elfsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elfsyms *es;
	uint64_t vaddr, off, probe;
	size_t i;

	if (elfsyms_load_mem(data, size, &es))
		return 0;
	elfsyms_build_id(es);
	elfsyms_count(es);
	/* Probe addresses taken from the input itself, so that hits happen. */
	for (i = 0; i + 8 <= size && i < 256; i += 8) {
		memcpy(&probe, data + i, sizeof(probe));
		elfsyms_vaddr(es, probe & ~0xfffull, probe, &vaddr);
		elfsyms_lookup(es, vaddr, &off);
		elfsyms_lookup(es, probe, &off);
	}
	elfsyms_free(es);
	return 0;
}
