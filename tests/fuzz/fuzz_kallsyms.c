// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target for the kallsyms parsers (model/kallsyms.c): the file, and one "%pS" text. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "model/kallsyms.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct kallsyms *k;
	const char *module;
	uint64_t off, probe;
	char text[256], name[192], mod[64];
	size_t i, n = size < sizeof(text) - 1 ? size : sizeof(text) - 1;

	memcpy(text, data, n);
	text[n] = '\0';
	if (kallsyms_parse_symbol(text, name, sizeof(name), &off, &probe, mod, sizeof(mod)) > 0 &&
	    (strlen(name) >= sizeof(name) || strlen(mod) >= sizeof(mod)))
		__builtin_trap();
	if (kallsyms_load_mem((const char *)data, size, &k))
		return 0;
	kallsyms_count(k);
	kallsyms_restricted(k);
	for (i = 0; i + 8 <= size && i < 256; i += 8) {
		memcpy(&probe, data + i, sizeof(probe));
		kallsyms_lookup(k, probe, &off, &module);
	}
	kallsyms_lookup(k, 0xffffffff81000000ull, &off, &module);
	kallsyms_free(k);
	return 0;
}
