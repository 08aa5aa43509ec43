// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/ksym on the real kernel: kernel frames named by asking the kernel ("%pS" through a BPF
 * program) are the names /proc/kallsyms gives, the symbolizer with a namer never reads kallsyms,
 * and an address in a function already named costs no call. Exits 77 (skipped) when this host
 * cannot load BPF programs.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "model/kallsyms.h"
#include "model/syms.h"
#include "probes/ksym.h"

static struct probe_ksym *ksym;

static void test_probe_ksym_parse(void **state)
{
	char name[32], mod[16];
	uint64_t off, size;

	(void)state;
	assert_int_equal(kallsyms_parse_symbol("do_syscall_64+0x5a/0x290", name, sizeof(name), &off,
					       &size, mod, sizeof(mod)), 1);
	assert_string_equal(name, "do_syscall_64");
	assert_int_equal(off, 0x5a);
	assert_int_equal(size, 0x290);
	assert_string_equal(mod, "");
	assert_int_equal(kallsyms_parse_symbol("nf_hook.cold+0x1/0x20 [nf_tables]", name,
					       sizeof(name), &off, &size, mod, sizeof(mod)), 1);
	assert_string_equal(name, "nf_hook.cold");
	assert_string_equal(mod, "[nf_tables]");
	/* no symbol: the kernel prints the address */
	assert_int_equal(kallsyms_parse_symbol("0xffffffffc0201004", name, sizeof(name), &off,
					       &size, mod, sizeof(mod)), 0);
	/* not what the kernel prints, or too long for the caller's buffers */
	assert_int_equal(kallsyms_parse_symbol("do_syscall_64", name, sizeof(name), &off, &size,
					       mod, sizeof(mod)), -EINVAL);
	assert_int_equal(kallsyms_parse_symbol("+0x1/0x2", name, sizeof(name), &off, &size, mod,
					       sizeof(mod)), -EINVAL);
	assert_int_equal(kallsyms_parse_symbol("f+0x30/0x20", name, sizeof(name), &off, &size, mod,
					       sizeof(mod)), -EINVAL);
	assert_int_equal(kallsyms_parse_symbol("f+0x1/0x20 [a_module_name_too_long]", name,
					       sizeof(name), &off, &size, mod, sizeof(mod)),
			 -EINVAL);
	assert_int_equal(kallsyms_parse_symbol("a_function_name_longer_than_32_bytes+0x1/0x2", name,
					       sizeof(name), &off, &size, mod, sizeof(mod)),
			 -EINVAL);
}

/* Core kernel text symbols that have no alias at their address, every step-th. */
static size_t unaliased(uint64_t *addrs, char (*names)[128], size_t max, size_t step)
{
	FILE *f = fopen("/proc/kallsyms", "re");
	char line[512], name[256], prev_name[256] = "", mod[64];
	unsigned long long addr, prev = 0;
	size_t n = 0, seen = 0;
	bool prev_alias = false, prev_text = false;
	char type;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f) && n < max) {
		mod[0] = '\0';
		if (sscanf(line, "%llx %c %255s %63s", &addr, &type, name, mod) < 3)
			continue;
		if (addr == prev) {
			prev_alias = true;
			continue;
		}
		if (prev_text && !prev_alias && seen++ % step == 0 && strlen(prev_name) < 128) {
			addrs[n] = prev;
			snprintf(names[n], sizeof(names[n]), "%s", prev_name);
			n++;
		}
		prev = addr;
		prev_alias = false;
		prev_text = (type == 't' || type == 'T') && !mod[0] &&
			    strncmp(name, "__pfx_", 6) != 0;
		snprintf(prev_name, sizeof(prev_name), "%s", name);
	}
	fclose(f);
	return n;
}

/* The namer's names are kallsyms' names, function and offset, and the symbolizer with a namer
 * does not read kallsyms (its path here names nothing). */
static void test_probe_ksym_names_match_kallsyms(void **state)
{
	struct syms_opts ko = { .proc_root = "/proc" };
	struct syms_opts no = { .proc_root = "/proc", .kallsyms = "/nonexistent/kallsyms" };
	static uint64_t addrs[400];
	static char names[400][128];
	struct syms *with_kallsyms, *with_namer;
	size_t n, i, named = 0;

	(void)state;
	n = unaliased(addrs, names, 400, 97);
	assert_true(n > 100);
	assert_int_equal(syms_new(&ko, &with_kallsyms), 0);
	assert_int_equal(syms_new(&no, &with_namer), 0);
	syms_set_kernel_namer(with_namer, probe_ksym_namer, ksym);
	assert_true(syms_kernel_status(with_kallsyms) > 0);
	for (i = 0; i < n; i++) {
		struct syms_frame a, b;

		/* an address inside the function; the kallsyms table's own answer first */
		syms_kernel(with_kallsyms, addrs[i] + 1, &a);
		syms_kernel(with_namer, addrs[i] + 1, &b);
		if (!a.function || strcmp(a.function, names[i]))
			continue; /* a size-less marker kallsyms stretches */
		named++;
		assert_non_null(b.function);
		assert_string_equal(b.function, a.function);
		assert_string_equal(b.module, a.module);
		assert_int_equal(b.sym_offset, a.sym_offset);
	}
	assert_true(named > n * 9 / 10);
	assert_true(syms_kernel_namer_calls(with_namer) <= n);
	syms_free(with_kallsyms);
	syms_free(with_namer);
}

/* A function is asked once: its other addresses come from the range the kernel gave. */
static void test_probe_ksym_cached_by_function(void **state)
{
	struct syms_opts no = { .proc_root = "/proc", .kallsyms = "/nonexistent/kallsyms" };
	struct syms_frame f;
	struct syms *s;
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(probe_ksym_find(ksym, "do_syscall_64", &lo, &hi), 0);
	assert_true(hi > lo + 16);
	assert_int_equal(syms_new(&no, &s), 0);
	syms_set_kernel_namer(s, probe_ksym_namer, ksym);
	for (uint64_t a = lo; a < hi; a += (hi - lo) / 8 + 1) {
		syms_kernel(s, a, &f);
		assert_non_null(f.function);
		assert_string_equal(f.function, "do_syscall_64");
		assert_int_equal(f.sym_offset, a - lo);
		assert_string_equal(f.module, "[kernel.kallsyms]");
	}
	assert_int_equal(syms_kernel_namer_calls(s), 1);
	/* nothing there: unnamed, and asked once too */
	syms_kernel(s, 0xffffffffffff0000ull, &f);
	syms_kernel(s, 0xffffffffffff0000ull, &f);
	assert_null(f.function);
	assert_int_equal(syms_kernel_namer_calls(s), 2);
	syms_free(s);
}

/* A function found by name has the range kallsyms lists for it (what probes/sched needs for
 * __schedule) */
static void test_probe_ksym_find(void **state)
{
	struct syms_opts ko = { .proc_root = "/proc" };
	struct syms_frame f;
	struct syms *s;
	uint64_t lo, hi;

	(void)state;
	assert_int_equal(probe_ksym_find(ksym, "__schedule", &lo, &hi), 0);
	assert_int_equal(syms_new(&ko, &s), 0);
	syms_kernel(s, lo, &f);
	assert_string_equal(f.function, "__schedule");
	assert_int_equal(f.sym_offset, 0);
	syms_kernel(s, hi - 1, &f);
	assert_string_equal(f.function, "__schedule");
	syms_kernel(s, hi, &f);
	assert_true(!f.function || strcmp(f.function, "__schedule"));
	assert_int_equal(probe_ksym_find(ksym, "no_such_function_in_any_kernel", &lo, &hi),
			 -ENOENT);
	syms_free(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_ksym_parse),
		cmocka_unit_test(test_probe_ksym_names_match_kallsyms),
		cmocka_unit_test(test_probe_ksym_cached_by_function),
		cmocka_unit_test(test_probe_ksym_find),
	};
	char err[512];
	int ret;

	ksym = probe_ksym_new();
	if (probe_ksym_load(ksym, err, sizeof(err))) {
		fprintf(stderr, "skipping: %s\n", err);
		probe_ksym_free(ksym);
		return 77;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	probe_ksym_free(ksym);
	return ret;
}
