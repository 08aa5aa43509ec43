// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target for the DWARF reader (model/srcline.c): the bytes become a file that is
 * looked up as a debug file, in both ways it reads DWARF (unit by unit, as .debug_aranges
 * leads: compressed sections inflated, uncompressed ones read in blocks; and all at once; seeds:
 * the test's debug file compressed and not), at a sweep of addresses where small programs have
 * code and at addresses taken from the input's end. Debug files come from packages, build-id
 * directories and containers: any bytes may arrive as one.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "model/srcline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void lookups(int fd, const uint8_t *data, size_t size, bool whole)
{
	const struct srcline_frame *fr;
	struct srcline *sl;
	size_t total;

	if (srcline_open_fd(fd, &sl))
		return;
	srcline_inflate_all(sl, whole);
	for (uint64_t a = 0x1000; a < 0x1400; a += 8)
		srcline_lookup(sl, a, &fr);
	for (size_t i = 8; i <= size && i <= 128; i += 8) {
		uint64_t a;

		memcpy(&a, data + size - i, sizeof(a));
		srcline_lookup(sl, a, &fr);
	}
	srcline_inflated(sl, &total);
	srcline_bytes(sl);
	srcline_free(sl);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char path[] = "/tmp/fuzz-srcline-XXXXXX";
	int fd = mkstemp(path);
	bool dwarf;
	char *link;

	if (fd < 0)
		return 0;
	unlink(path);
	if (write(fd, data, size) == (ssize_t)size && !srcline_peek_fd(fd, &dwarf, &link)) {
		free(link);
		lookups(fd, data, size, false);
		lookups(fd, data, size, true);
	}
	close(fd);
	return 0;
}
