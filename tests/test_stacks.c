// SPDX-License-Identifier: GPL-2.0-only
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/stacks.h"
#include "model/syms.h"

static const char *name(struct stacks *st, uint32_t stack, uint32_t i)
{
	uint32_t nr;
	const uint32_t *f = stacks_frames(st, stack, &nr);

	assert_true(i < nr);
	return stacks_frame(st, f[i])->function;
}

static void test_stacks_raw_interning_and_root_first_order(void **state)
{
	struct stacks *st = stacks_new();
	uint64_t user[] = { 0x1003, 0x2005, 0x3007 }; /* leaf first */
	uint64_t kern[] = { 0xffff0010, 0xffff0020 };
	uint32_t a = stacks_add_raw(st, 10, user, 3, kern, 2, 0);
	uint32_t b = stacks_add_raw(st, 10, user, 3, kern, 2, 0);
	uint32_t c = stacks_add_raw(st, 11, user, 3, kern, 2, 0);
	uint32_t nr, s;
	const uint32_t *f;

	assert_int_equal(a, b);
	assert_int_not_equal(a, c); /* same addresses in another process are another stack */
	assert_int_equal(stacks_of_raw(st, a), UINT32_MAX);
	assert_int_equal(stacks_resolve(st, NULL), 2);
	assert_int_equal(stacks_resolve(st, NULL), 0);
	s = stacks_of_raw(st, a);
	f = stacks_frames(st, s, &nr);
	assert_int_equal(nr, 5);
	/* root first: outermost user frame, then kernel entry, kernel leaf last; no symbolizer:
	 * every frame is module+0xOFFSET, return addresses reported as sampled */
	assert_string_equal(name(st, s, 0), "[unknown]+0x3007");
	assert_string_equal(name(st, s, 2), "[unknown]+0x1003");
	assert_string_equal(name(st, s, 3), "[kernel.kallsyms]+0xffff0020");
	assert_string_equal(name(st, s, 4), "[kernel.kallsyms]+0xffff0010");
	assert_int_equal(stacks_frame(st, f[3])->kind, FRAME_KERNEL);
	assert_false(stacks_frame(st, f[0])->symbolized);
	/* without a symbolizer, two processes' identical addresses resolve to one stack */
	assert_int_equal(stacks_of_raw(st, c), s);
	stacks_free(st);
}

static void test_stacks_special_frames(void **state)
{
	struct stacks *st = stacks_new();
	uint64_t kern[] = { 0xffff0010 };
	uint32_t kthread = stacks_add_raw(st, 0, NULL, 0, kern, 1, MODEL_SAMPLE_KERNEL_THREAD);
	uint32_t nouser = stacks_add_raw(st, 5, NULL, 0, kern, 1, MODEL_SAMPLE_USER_FAILED);
	uint32_t none = stacks_add_raw(st, 5, NULL, 0, NULL, 0,
				       MODEL_SAMPLE_USER_FAILED | MODEL_SAMPLE_KERNEL_FAILED);
	/* stacks not sent at all (a nearly full ring): no user stack was expected either */
	uint32_t unsent = stacks_add_raw(st, 5, NULL, 0, NULL, 0, MODEL_SAMPLE_NO_STACKS);
	uint32_t nr;

	stacks_resolve(st, NULL);
	stacks_frames(st, stacks_of_raw(st, kthread), &nr);
	assert_int_equal(nr, 1);
	assert_string_equal(name(st, stacks_of_raw(st, nouser), 0), "[no user stack]");
	assert_string_equal(name(st, stacks_of_raw(st, none), 0), "[no user stack]");
	stacks_frames(st, stacks_of_raw(st, unsent), &nr);
	assert_int_equal(nr, 1);
	assert_string_equal(name(st, stacks_of_raw(st, unsent), 0), "[no stack]");
	stacks_free(st);
}

static void test_stacks_frames_share_interned_names(void **state)
{
	struct stacks *st = stacks_new();
	struct frame f1 = { .module = "app", .function = "work", .offset = 0x10,
			    .kind = FRAME_USER, .symbolized = true };
	struct frame f2 = f1;
	uint32_t a, b, s1, s2, ids[2];

	f2.offset = 0x20;
	a = stacks_add_frame(st, &f1);
	b = stacks_add_frame(st, &f2);
	assert_int_not_equal(a, b);
	assert_int_equal(stacks_add_frame(st, &f1), a);
	/* equal names are equal pointers: views merge functions by pointer */
	assert_ptr_equal(stacks_frame(st, a)->function, stacks_frame(st, b)->function);
	assert_ptr_equal(stacks_frame(st, a)->module, stacks_str(st, "app"));
	ids[0] = a;
	ids[1] = b;
	s1 = stacks_add_stack(st, ids, 2);
	s2 = stacks_add_stack(st, ids, 1);
	assert_int_not_equal(s1, s2);
	assert_int_equal(stacks_add_stack(st, ids, 2), s1);
	assert_int_equal(stacks_count(st), 2);
	assert_null(stacks_frame(st, 99));
	stacks_free(st);
}

/* After an exec (or the pid's reuse), the same addresses are another program: another raw
 * stack; what was added before is resolved at that moment, with the maps it was sampled in. */
static void test_stacks_new_image(void **state)
{
	struct stacks *st = stacks_new();
	uint64_t user[] = { 0x1003, 0x2005 };
	uint32_t a = stacks_add_raw(st, 10, user, 2, NULL, 0, 0);
	uint32_t other = stacks_add_raw(st, 11, user, 2, NULL, 0, 0);
	uint32_t b;

	stacks_new_image(st, NULL, 10);
	assert_int_not_equal(stacks_of_raw(st, a), UINT32_MAX); /* resolved already */
	b = stacks_add_raw(st, 10, user, 2, NULL, 0, 0);
	assert_int_not_equal(a, b);
	assert_int_equal(stacks_add_raw(st, 11, user, 2, NULL, 0, 0), other); /* others alike */
	for (uint32_t pid = 100; pid < 300; pid++) /* the table grows */
		stacks_new_image(st, NULL, pid);
	assert_int_equal(stacks_add_raw(st, 10, user, 2, NULL, 0, 0), b);
	stacks_new_image(st, NULL, 10);
	assert_int_not_equal(stacks_add_raw(st, 10, user, 2, NULL, 0, 0), b);
	stacks_free(st);
}

/* A namer whose answers syms cannot keep by function (no sizes): every address is asked each
 * time it is looked up, and the calls count the lookups. */
static int sizeless_namer(void *ctx, uint64_t addr, struct syms_kernel_name *out)
{
	(*(unsigned *)ctx)++;
	out->start = addr & ~0xffull;
	out->size = 0;
	snprintf(out->name, sizeof(out->name), "kfunc_%llx", (unsigned long long)out->start);
	return 1;
}

/* Every process blocks in the same kernel functions: a kernel address is named once for all the
 * stacks of all the processes (model/stacks' kernel places), a leaf apart from a return address. */
static void test_stacks_kernel_addresses_named_once(void **state)
{
	struct syms_opts opts = { .proc_root = "/nonexistent", .kallsyms = "/nonexistent" };
	uint64_t kern[] = { 0xffff0010, 0xffff0120, 0xffff0230 }; /* leaf first */
	uint64_t leaf_at[] = { 0xffff0120 };
	struct stacks *st = stacks_new();
	struct syms *syms;
	unsigned calls = 0;
	uint32_t a, b, c, nr, nr_c;
	const uint32_t *fa, *fc;

	assert_int_equal(syms_new(&opts, &syms), 0);
	syms_set_kernel_namer(syms, sizeless_namer, &calls);
	a = stacks_add_raw(st, 10, NULL, 0, kern, 3, MODEL_SAMPLE_KERNEL_THREAD);
	b = stacks_add_raw(st, 11, NULL, 0, kern, 3, MODEL_SAMPLE_KERNEL_THREAD);
	c = stacks_add_raw(st, 12, NULL, 0, leaf_at, 1, MODEL_SAMPLE_KERNEL_THREAD);
	assert_int_not_equal(a, b);
	assert_int_equal(stacks_resolve(st, syms), 3);
	assert_int_equal(calls, 4); /* three addresses, one of them also as a leaf */
	assert_int_equal(stacks_of_raw(st, a), stacks_of_raw(st, b));
	fa = stacks_frames(st, stacks_of_raw(st, a), &nr);
	assert_int_equal(nr, 3);
	assert_string_equal(stacks_frame(st, fa[0])->function, "[kernel.kallsyms]+0xffff0230");
	assert_string_equal(stacks_frame(st, fa[2])->function, "[kernel.kallsyms]+0xffff0010");
	assert_int_equal(stacks_frame(st, fa[2])->kind, FRAME_KERNEL);
	fc = stacks_frames(st, stacks_of_raw(st, c), &nr_c);
	assert_int_equal(nr_c, 1);
	assert_int_equal(fc[0], fa[1]); /* the leaf looked up at its address, the others before it */
	stacks_free(st);
	syms_free(syms);
}

/*
 * flametop names stacks on its own main thread, deep in its drain (a ring's record, an exec,
 * stacks_resolve(), syms opening a binary), and a sample of flametop itself copies 32 KiB of
 * that stack: what runs there must keep its frames small, or flametop profiling a host sees
 * itself [truncated]. stacks_resolve() kept 25 KiB of arrays on its frame, syms' file openers
 * 12 KiB of paths each; on these small stacks each overflowed (SIGSEGV). (libdw's own line
 * table reader takes 150 KiB: srcline lookups are not run here.)
 */
struct small_stack {
	uint32_t raw, nr, maps;
	int noted;
};

static void *resolve_on_small_stack(void *arg)
{
	struct small_stack *r = arg;
	uint64_t user[] = { 0x1003, 0x2005, 0x3007 };
	struct stacks *st = stacks_new();

	r->raw = stacks_add_raw(st, 10, user, 3, NULL, 0, 0);
	if (stacks_resolve(st, NULL) == 1)
		stacks_frames(st, stacks_of_raw(st, r->raw), &r->nr);
	stacks_free(st);
	return NULL;
}

static void *note_on_small_stack(void *arg)
{
	struct small_stack *r = arg;
	struct syms_opts opts = { .proc_root = "/proc" };
	struct syms *syms;

	if (syms_new(&opts, &syms))
		return NULL;
	/* this process's maps: its binaries opened, their symbols and debug files found */
	r->noted = syms_note_pid(syms, (uint32_t)getpid());
	r->maps = (uint32_t)syms_nr_procs(syms);
	syms_free(syms);
	return NULL;
}

static void on_small_stack(void *(*fn)(void *), size_t bytes, struct small_stack *r)
{
	pthread_attr_t a;
	pthread_t t;

	assert_int_equal(pthread_attr_init(&a), 0);
	assert_int_equal(pthread_attr_setstacksize(&a, bytes), 0);
	assert_int_equal(pthread_create(&t, &a, fn, r), 0);
	assert_int_equal(pthread_join(t, NULL), 0);
	pthread_attr_destroy(&a);
}

static void test_stacks_naming_fits_a_small_stack(void **state)
{
	struct small_stack r = { 0 };

	on_small_stack(resolve_on_small_stack, 16 << 10, &r);
	assert_int_equal(r.nr, 3);
	r.noted = -1;
	on_small_stack(note_on_small_stack, 24 << 10, &r);
	assert_int_equal(r.noted, 0);
	assert_int_equal(r.maps, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_stacks_raw_interning_and_root_first_order),
		cmocka_unit_test(test_stacks_special_frames),
		cmocka_unit_test(test_stacks_frames_share_interned_names),
		cmocka_unit_test(test_stacks_new_image),
		cmocka_unit_test(test_stacks_kernel_addresses_named_once),
		cmocka_unit_test(test_stacks_naming_fits_a_small_stack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
