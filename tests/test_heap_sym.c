// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap_sym: where leak mode's uprobes go. The instruction decoder on the byte patterns
 * allocators start with, and the allocator of this very process found through /proc.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "probes/heap_sym.h"

static uint32_t off(const uint8_t *code, size_t len, bool *emulated)
{
	return heap_sym_entry_offset(code, len, emulated);
}

static void test_heap_sym_entry_offset(void **state)
{
	/* glibc 2.36 free: test %rdi,%rdi; je ...; push %rbp — the je is emulated */
	static const uint8_t free_[] = { 0x48, 0x85, 0xff, 0x0f, 0x84, 0xbf, 0, 0, 0, 0x55 };
	/* malloc: push %r12 at once */
	static const uint8_t malloc_[] = { 0x41, 0x54, 0x55, 0x53 };
	/* posix_memalign: cmpb $0x0,0x140201(%rip); push %r12 */
	static const uint8_t pm[] = { 0x80, 0x3d, 0x01, 0x02, 0x14, 0x00, 0x00, 0x41, 0x54 };
	/* endbr64; push %rbp (CET builds) */
	static const uint8_t cet[] = { 0xf3, 0x0f, 0x1e, 0xfa, 0x55 };
	/* reallocarray: mov %rsi,%rax writes a register: stop, single-step at 0 */
	static const uint8_t ra[] = { 0x48, 0x89, 0xf0, 0x48, 0xf7, 0xe2 };
	/* sub $0x18,%rsp moves the stack: never skipped */
	static const uint8_t sub[] = { 0x48, 0x83, 0xec, 0x18, 0x55 };
	/* cut short inside a skippable instruction */
	static const uint8_t cut[] = { 0x80, 0x3d, 0x01 };
	bool em;

	assert_int_equal(off(free_, sizeof(free_), &em), 3);
	assert_true(em);
	assert_int_equal(off(malloc_, sizeof(malloc_), &em), 0);
	assert_true(em);
	assert_int_equal(off(pm, sizeof(pm), &em), 7);
	assert_true(em);
	assert_int_equal(off(cet, sizeof(cet), &em), 4);
	assert_true(em);
	assert_int_equal(off(ra, sizeof(ra), &em), 0);
	assert_false(em);
	assert_int_equal(off(sub, sizeof(sub), &em), 0);
	assert_false(em);
	assert_int_equal(off(cut, sizeof(cut), &em), 0);
	assert_false(em);
}

/* This process uses the C library's allocator: it is found, and free is not single-stepped. */
static void test_heap_sym_find_self(void **state)
{
	struct heap_sym_fn *fns;
	bool have_malloc = false, have_free = false;
	char err[256] = "";
	int n;

	free(malloc(1));
	n = heap_sym_find("/proc", (uint32_t)getpid(), &fns, err, sizeof(err));
	assert_true(n > 0);
	for (int i = 0; i < n; i++) {
		assert_true(strstr(fns[i].path, "/root/") != NULL);
		if (!strcmp(fns[i].name, "malloc")) {
			have_malloc = true;
			assert_int_equal(fns[i].kind, HEAP_SYM_MALLOC);
		}
		if (fns[i].kind == HEAP_SYM_FREE && strstr(fns[i].path, "libc.so")) {
			have_free = true;
			assert_false(fns[i].single_step);
		}
		/* aliases (free/cfree, memalign/aligned_alloc) are probed once */
		for (int j = 0; j < i; j++)
			assert_false(!strcmp(fns[i].path, fns[j].path) &&
				     fns[i].addr == fns[j].addr);
	}
	assert_true(have_malloc);
	assert_true(have_free);
	free(fns);
	assert_true(heap_sym_find("/proc", 0x7ffffff0, &fns, err, sizeof(err)) < 0);
	assert_true(strstr(err, "maps") != NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_sym_entry_offset),
		cmocka_unit_test(test_heap_sym_find_self),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
