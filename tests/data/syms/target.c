// SPDX-License-Identifier: GPL-2.0-only
/* A program with functions of known names, for tests/test_syms.c. */
#include <stdio.h>

int syms_target_alpha(int x);
int syms_target_beta(int x);
/* What rustc (legacy mangling) calls core::fmt::write. */
int rust_write(int x) __asm__("_ZN4core3fmt5write17h0123456789abcdefE");

static volatile int sink;

__attribute__((noinline)) int syms_target_alpha(int x)
{
	int i;

	for (i = 0; i < x; i++)
		sink += i * 7;
	return sink;
}

__attribute__((noinline)) int syms_target_beta(int x)
{
	int i;

	for (i = 0; i < x; i++)
		sink ^= i * 13;
	return sink;
}

__attribute__((noinline)) int rust_write(int x)
{
	int i;

	for (i = 0; i < x; i++)
		sink -= i;
	return sink;
}

int main(int argc, char **argv)
{
	(void)argv;
	printf("%d\n", syms_target_alpha(argc) + syms_target_beta(argc) + rust_write(argc));
	return 0;
}
