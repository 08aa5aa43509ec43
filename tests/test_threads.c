// SPDX-License-Identifier: GPL-2.0-only
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/threads.h"

static void test_threads_names_and_process(void **state)
{
	struct threads *t = threads_new();
	uint32_t main_idx = threads_see(t, 100, 100, "server", "server", 10);
	uint32_t w = threads_see(t, 100, 101, "worker-1", "server", 20);

	assert_int_not_equal(main_idx, w);
	assert_string_equal(threads_get(t, w)->comm, "worker-1");
	assert_string_equal(threads_get(t, w)->process, "server");
	/* a later sighting without names keeps the names and extends last_ns */
	assert_int_equal(threads_see(t, 100, 101, NULL, NULL, 30), w);
	assert_string_equal(threads_get(t, w)->comm, "worker-1");
	assert_int_equal(threads_get(t, w)->first_ns, 20);
	assert_int_equal(threads_get(t, w)->last_ns, 30);
	/* a rename (prctl PR_SET_NAME) is picked up */
	threads_see(t, 100, 101, "renamed", NULL, 40);
	assert_string_equal(threads_get(t, w)->comm, "renamed");
	threads_free(t);
}

static void test_threads_exit_keeps_name_and_reuse_gets_new_index(void **state)
{
	struct threads *t = threads_new();
	uint32_t a = threads_see(t, 200, 201, "short-lived", "app", 1);
	uint32_t b, c;

	threads_exit(t, 201);
	assert_true(threads_get(t, a)->exited);
	assert_string_equal(threads_get(t, a)->comm, "short-lived");
	assert_int_equal(threads_find(t, 201), UINT32_MAX);
	b = threads_see(t, 300, 201, "new-owner", "other", 5);
	assert_int_not_equal(a, b);
	assert_string_equal(threads_get(t, a)->comm, "short-lived");
	/* reuse by another process without an exit event */
	c = threads_see(t, 400, 201, "third", "x", 9);
	assert_int_not_equal(b, c);
	assert_true(threads_get(t, b)->exited);
	assert_int_equal(threads_find(t, 201), c);
	threads_free(t);
}

static void test_threads_many_with_churn(void **state)
{
	struct threads *t = threads_new();

	for (uint32_t i = 1; i <= 100000; i++) {
		threads_see(t, i, i, "p", "p", i);
		if (i % 3)
			threads_exit(t, i);
	}
	assert_int_equal(threads_count(t), 100000);
	assert_int_equal(threads_find(t, 3), 2);
	assert_int_equal(threads_find(t, 4), UINT32_MAX);
	assert_int_equal(threads_get(t, threads_find(t, 99999))->tid, 99999);
	assert_null(threads_get(t, 100000));
	threads_free(t);
}

/* An event of a thread that just exited (late from another ring, or the kernel's exit work
 * after the tracepoint) lands on the exited entry; another process's, or one two ticks later,
 * is a new thread (issue 13: each short process left a thread that never exited). */
static void test_threads_late_events_after_exit(void **state)
{
	struct threads *t = threads_new();
	uint32_t a = threads_see(t, 10, 10, "ls", "ls", 1000);

	threads_exit_at(t, 10, 2000);
	assert_int_equal(threads_see(t, 10, 10, NULL, NULL, 1500), a);
	assert_int_equal(threads_see(t, 10, 10, NULL, NULL, 0), a);
	/* the kernel's exit work after the tracepoint */
	assert_int_equal(threads_see(t, 10, 10, NULL, NULL, 2100), a);
	assert_true(threads_get(t, a)->exited);
	assert_int_equal(threads_find(t, 10), UINT32_MAX);
	/* another process that got the pid */
	assert_int_not_equal(threads_see(t, 11, 10, "x", "x", 1500), a);
	threads_exit(t, 10);
	/* after the exit: a new thread */
	threads_exit_at(t, threads_get(t, a)->tid, 0);
	threads_age(t);
	threads_age(t);
	assert_int_not_equal(threads_see(t, 10, 10, NULL, NULL, 1500), a);
	/* an exit before any event named the thread: the event that comes after finds it gone */
	threads_gone(t, 20, 21, 3000);
	a = threads_see(t, 20, 21, "brief", "app", 2900);
	assert_true(threads_get(t, a)->exited);
	assert_string_equal(threads_get(t, a)->comm, "brief");
	assert_int_equal(threads_see(t, 20, 21, NULL, NULL, 2950), a);
	assert_int_equal(threads_find(t, 21), UINT32_MAX);
	/* first seen by an event without names (a heap event of a process that execs and exits
	 * at once), then gone: its samples, from another ring, come later and bring the names
	 * (they stayed "?": 132 threads of a 6 s whole-system window under shell churn) */
	a = threads_see(t, 30, 30, NULL, NULL, 4000);
	assert_string_equal(threads_get(t, a)->comm, "?");
	threads_gone(t, 30, 30, 4100);
	assert_int_equal(threads_see(t, 30, 30, "gzip", "gzip", 4050), a);
	assert_string_equal(threads_get(t, a)->comm, "gzip");
	assert_string_equal(threads_get(t, a)->process, "gzip");
	/* and an event without names after that keeps them */
	assert_int_equal(threads_see(t, 30, 30, NULL, NULL, 4060), a);
	assert_string_equal(threads_get(t, a)->comm, "gzip");
	threads_free(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_threads_late_events_after_exit),
		cmocka_unit_test(test_threads_names_and_process),
		cmocka_unit_test(test_threads_exit_keeps_name_and_reuse_gets_new_index),
		cmocka_unit_test(test_threads_many_with_churn),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
