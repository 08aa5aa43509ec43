// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: Go's profile buckets (runtime.mbuckets, bbuckets, xbuckets) in a memory
 * image (the input, at a fixed address), walked by goprof_read_buckets() as flametop walks a
 * live program's: the list head is the image's first word, the first byte picks the layout and
 * the profile. Nothing may crash, loop forever, or hand out a stack deeper than asked.
 */
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "probes/golayout.h"
#include "probes/golocate.h"
#include "probes/gomem.h"
#include "probes/goprof.h"

#define BASE 0x100000ull

static void on_bucket(void *arg, const uint64_t *pcs, uint32_t n, const int64_t *v)
{
	if (!n || n > 1024)
		__builtin_trap();
	(*(unsigned *)arg)++;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const struct golayout *table;
	struct gomem_region region = { .addr = BASE, .data = data, .len = size };
	struct golocate loc;
	struct gomem m;
	unsigned calls = 0;
	size_t nt;
	bool bad;
	int n;

	if (size < 16 || size > (1u << 20))
		return 0;
	table = golayout_table(&nt);
	gomem_init_image(&m, &region, 1);
	memset(&loc, 0, sizeof(loc));
	loc.text_lo = BASE;
	loc.text_hi = BASE + size;
	loc.var[GOVAR_MBUCKETS] = loc.var[GOVAR_BBUCKETS] = loc.var[GOVAR_XBUCKETS] = BASE + 8;
	if (data[1] & 1)
		loc.var[GOVAR_MPROFCYCLE] = BASE + 4;
	n = goprof_read_buckets(&m, &table[data[0] % nt], &loc, (enum goheap_kind)(data[0] % 3),
				data[2] ? (int64_t)data[2] << 10 : 1, 2.5, on_bucket, &calls, &bad);
	if (n > 0 && (unsigned)n != calls)
		__builtin_trap();
	return 0;
}
