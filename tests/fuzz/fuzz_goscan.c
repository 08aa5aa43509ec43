// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: a Go program's memory as an image (the input, at a fixed address), read the
 * way flametop reads a live one: the validated scans for allgs, the profile buckets,
 * waitReasonStrings and memstats, then the goroutine reader (twice: the cache's path too). The
 * first byte picks a runtime layout from the table. Nothing in the image may crash, hang or
 * make a read go outside what was asked for.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probes/golayout.h"
#include "probes/golocate.h"
#include "probes/gomem.h"
#include "probes/goread.h"

#define BASE 0x100000ull

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct golayout *table;
	struct gomem_region region = { .addr = BASE, .data = data, .len = size };
	const struct goread_g *gs;
	struct goread_stats st;
	struct golocate loc;
	struct goread *r;
	struct gomem m;
	uint64_t out, b[3];
	size_t n, nt;

	if (size < 2 || size > (1u << 20))
		return 0;
	table = golayout_table(&nt);
	gomem_init_image(&m, &region, 1);
	memset(&loc, 0, sizeof(loc));
	loc.text_lo = BASE;
	loc.text_hi = BASE + size;
	golocate_scan_allgs(&m, &table[data[0] % nt], BASE, size, &out);
	golocate_scan_buckets(&m, &table[data[0] % nt], BASE, size, loc.text_lo, loc.text_hi, b);
	golocate_scan_waitreasons(&m, BASE, size, &out);
	golocate_scan_memstats(&m, &table[data[0] % nt], BASE, size, &out);
	if (!golocate_scan_waitreasons(&m, BASE, size, &out))
		golocate_read_waitreasons(&loc, &m, out, GOLOCATE_MAX_WAIT);
	loc.var[GOVAR_ALLGS] = BASE + 8;
	if (data[1] & 1) {
		loc.goexit = BASE + 64;
		loc.goexit_end = BASE + 128;
	}
	goread_new(NULL, &r);
	for (int i = 0; i < 2; i++)
		if (!goread_goroutines(r, &m, &table[data[0] % nt], &loc, 1000, &gs, &n, &st))
			for (size_t k = 0; k < n; k++)
				if (gs[k].nr_pcs > GOREAD_MAX_FRAMES)
					__builtin_trap();
	goread_free(r);
	golocate_fini(&loc);
	return 0;
}
