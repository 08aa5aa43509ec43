// SPDX-License-Identifier: GPL-2.0-only
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "model/intern.h"

static void test_intern_equal_keys_share_id_and_copy(void **state)
{
	struct intern *in = intern_new();
	uint64_t a[3] = { 1, 2, 3 }, b[3] = { 1, 2, 3 }, c[3] = { 1, 2, 4 };
	uint32_t ia = intern_put(in, a, sizeof(a));
	size_t len;

	assert_int_equal(ia, 0);
	assert_int_equal(intern_put(in, b, sizeof(b)), ia);
	assert_int_equal(intern_put(in, c, sizeof(c)), 1);
	/* a prefix is a different key */
	assert_int_equal(intern_put(in, a, 2 * sizeof(uint64_t)), 2);
	assert_int_equal(intern_count(in), 3);
	assert_memory_equal(intern_get(in, ia, &len), a, sizeof(a));
	assert_int_equal(len, sizeof(a));
	assert_int_equal(intern_find(in, c, sizeof(c)), 1);
	assert_int_equal(intern_find(in, c, 1), INTERN_NONE);
	assert_null(intern_get(in, 99, NULL));
	intern_free(in);
}

static void test_intern_pointers_stay_valid_while_growing(void **state)
{
	struct intern *in = intern_new();
	const char *first = intern_str(in, "first");
	char buf[64];

	for (int i = 0; i < 200000; i++) {
		snprintf(buf, sizeof(buf), "name-%d", i);
		intern_str(in, buf);
	}
	assert_string_equal(first, "first");
	assert_ptr_equal(intern_str(in, "first"), first);
	assert_int_equal(intern_count(in), 200001);
	snprintf(buf, sizeof(buf), "name-%d", 123456);
	assert_string_equal(intern_get(in, 123457, NULL), buf);
	intern_free(in);
}

/* Every key keeps its id through the table's growths (a rehash moves slots by their stored
 * hash, without reading the keys), and keys never put are not found. */
static void test_intern_ids_survive_rehash(void **state)
{
	struct intern *in = intern_new();
	uint64_t key[2];

	for (uint64_t i = 0; i < 100000; i++) {
		key[0] = i;
		key[1] = i * 7;
		assert_int_equal(intern_put(in, key, i % 2 ? sizeof(key) : sizeof(key[0])), i);
	}
	for (uint64_t i = 0; i < 100000; i++) {
		key[0] = i;
		key[1] = i * 7;
		assert_int_equal(intern_find(in, key, i % 2 ? sizeof(key) : sizeof(key[0])), i);
		/* the same bytes at the other length were never put */
		assert_int_equal(intern_find(in, key, i % 2 ? sizeof(key[0]) : sizeof(key)),
				 INTERN_NONE);
	}
	intern_free(in);
}

static void test_intern_empty_and_big_keys(void **state)
{
	struct intern *in = intern_new();
	static uint64_t big[100000];
	size_t len;

	big[99999] = 7;
	assert_int_equal(intern_put(in, "", 0), 0);
	assert_int_equal(intern_put(in, big, sizeof(big)), 1);
	assert_int_equal(intern_put(in, big, sizeof(big)), 1);
	assert_memory_equal(intern_get(in, 1, &len), big, sizeof(big));
	assert_int_equal(len, sizeof(big));
	intern_free(in);
	intern_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_intern_equal_keys_share_id_and_copy),
		cmocka_unit_test(test_intern_pointers_stay_valid_while_growing),
		cmocka_unit_test(test_intern_ids_survive_rehash),
		cmocka_unit_test(test_intern_empty_and_big_keys),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
