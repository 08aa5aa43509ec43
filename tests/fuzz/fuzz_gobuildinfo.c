// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the bytes of a .go.buildinfo section, as goelf_buildinfo() reads them. */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probes/goelf.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char version[32], path[64];

	if (goelf_buildinfo(data, size, version, sizeof(version), path, sizeof(path)) == 0) {
		/* both are C strings, and the version is printable */
		if (!memchr(version, '\0', sizeof(version)) || !memchr(path, '\0', sizeof(path)))
			__builtin_trap();
		for (const char *p = version; *p; p++)
			if (*p < 0x20 || *p > 0x7e)
				__builtin_trap();
	}
	return 0;
}
