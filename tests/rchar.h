// SPDX-License-Identifier: GPL-2.0-only
/*
 * For the unit tests that count what a module reads: the bytes this process has read so far
 * (read(2), pread(2): /proc/self/io's rchar). Include after <cmocka.h>.
 */
#ifndef TESTS_RCHAR_H
#define TESTS_RCHAR_H

#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static inline uint64_t rchar(void)
{
	char line[128];
	uint64_t v = 0;
	FILE *f = fopen("/proc/self/io", "r");

	assert_non_null(f);
	while (fgets(line, sizeof(line), f))
		if (sscanf(line, "rchar: %" SCNu64, &v) == 1)
			break;
	fclose(f);
	assert_true(v > 0);
	return v;
}

#endif
