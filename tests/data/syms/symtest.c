// SPDX-License-Identifier: GPL-2.0-only
/* libsymtest.so: a shared library with known functions, for tests/test_syms.c. */

int symtest_gamma(int x);

static volatile int sink;

__attribute__((noinline)) int symtest_gamma(int x)
{
	int i;

	for (i = 0; i < x; i++)
		sink += i * 3;
	return sink;
}
