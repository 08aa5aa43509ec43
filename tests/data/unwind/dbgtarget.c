// SPDX-License-Identifier: GPL-2.0-only
/*
 * A program whose debug info lives in a separate file (tests/test_unwind.c): built -O2 -g, then
 * split into a stripped binary and its .debug file. dbg_static() is static (only the debug
 * file's .symtab names it once stripped); dbg_inlined() is always inlined into dbg_outer().
 */
static volatile unsigned sink;

static inline __attribute__((always_inline)) unsigned dbg_inlined(unsigned x)
{
	for (unsigned i = 0; i < x; i++)
		sink += i * 3;
	return sink;
}

__attribute__((noinline)) static unsigned dbg_static(unsigned x)
{
	for (unsigned i = 0; i < x; i++)
		sink ^= i;
	return sink;
}

__attribute__((noinline)) unsigned dbg_outer(unsigned x)
{
	return dbg_inlined(x) + dbg_static(x);
}

int main(int argc, char **argv)
{
	(void)argv;
	return (int)dbg_outer((unsigned)argc);
}
