// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lock or wait (model/waits.c) on the stacks real programs block in, leaf first as the
 * symbolizer names them: glibc's mutex and condition variable, a semaphore, a join, Go's idle
 * scheduler and its runtime lock, Rust's std and parking_lot, libuv's pool, and what no rule
 * knows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/waits.h"

#define CLASSIFY(...)                                                                    \
	waits_classify((const char *const[]){ __VA_ARGS__ },                             \
		       sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *))

static void test_waits_glibc(void **state)
{
	/* a contended pthread mutex (tests/workloads/states: the waiter) */
	assert_int_equal(CLASSIFY("futex_wait", "__GI___lll_lock_wait", "lll_mutex_lock_optimized",
				  "___pthread_mutex_lock", "wait_for_lock", "waiter_main",
				  "start_thread", "clone3"),
			 MODEL_STATE_LOCK);
	/* glibc's internal alias names the lock itself */
	assert_int_equal(CLASSIFY("futex_wait", "__GI___lll_lock_wait"), MODEL_STATE_LOCK);
	assert_int_equal(CLASSIFY("__futex_abstimed_wait_common", "__pthread_cond_wait_common",
				  "___pthread_cond_wait", "pool_worker", "start_thread", "clone3"),
			 MODEL_STATE_WAIT);
	/* woken from a condition variable, then waiting to take the mutex back: a lock */
	assert_int_equal(CLASSIFY("futex_wait", "__lll_lock_wait", "__pthread_mutex_cond_lock",
				  "__pthread_cond_wait_common", "___pthread_cond_wait"),
			 MODEL_STATE_LOCK);
	/* a clone's suffix is not part of the name */
	assert_int_equal(CLASSIFY("__futex_abstimed_wait_common",
				  "__new_sem_wait_slow64.constprop.0", "consumer"),
			 MODEL_STATE_WAIT);
	assert_int_equal(CLASSIFY("__futex_abstimed_wait_common", "__pthread_clockjoin_ex",
				  "main"),
			 MODEL_STATE_WAIT);
	assert_int_equal(CLASSIFY("__futex_abstimed_wait_common", "__pthread_rwlock_wrlock_full64",
				  "___pthread_rwlock_wrlock", "writer"),
			 MODEL_STATE_LOCK);
	/* libuv's thread pool (Node's workers) waits on a condition variable */
	assert_int_equal(CLASSIFY(NULL, "___pthread_cond_wait", "uv_cond_wait", "worker",
				  "start_thread"),
			 MODEL_STATE_WAIT);
}

static void test_waits_go(void **state)
{
	/* an M with nothing to run (the frameless runtime.futexsleep may be missing) */
	assert_int_equal(CLASSIFY("runtime.futex", "runtime.notesleep", "runtime.mPark",
				  "runtime.stopm", "runtime.findRunnable", "runtime.schedule",
				  "runtime.park_m", "runtime.mcall"),
			 MODEL_STATE_WAIT);
	assert_int_equal(CLASSIFY("runtime.futex", "runtime.futexsleep", "runtime.notesleep",
				  "runtime.stopm", "runtime.findrunnable"),
			 MODEL_STATE_WAIT);
	/* the runtime's own lock, contended */
	assert_int_equal(CLASSIFY("runtime.futex", "runtime.futexsleep", "runtime.lock2",
				  "runtime.lockWithRank", "runtime.lock", "runtime.newobject"),
			 MODEL_STATE_LOCK);
}

static void test_waits_rust(void **state)
{
	assert_int_equal(CLASSIFY("syscall", "std::sys::pal::unix::futex::futex_wait",
				  "std::sys::sync::thread_parking::futex::Parker::park",
				  "std::thread::park", "worker::run"),
			 MODEL_STATE_WAIT);
	assert_int_equal(CLASSIFY("syscall", "std::sys::pal::unix::futex::futex_wait",
				  "std::sys::sync::mutex::futex::Mutex::lock_contended",
				  "app::update"),
			 MODEL_STATE_LOCK);
	assert_int_equal(CLASSIFY("syscall", "std::sys::pal::unix::futex::futex_wait",
				  "std::sys::sync::condvar::futex::Condvar::wait", "app::consume"),
			 MODEL_STATE_WAIT);
	/* parking_lot parks the thread of a contended mutex: the lock decides, not the park */
	assert_int_equal(CLASSIFY("syscall",
				  "parking_lot_core::thread_parker::imp::ThreadParker::futex_wait",
				  "parking_lot_core::parking_lot::park",
				  "parking_lot::raw_mutex::RawMutex::lock_slow", "app::update"),
			 MODEL_STATE_LOCK);
	assert_int_equal(CLASSIFY("syscall", "parking_lot_core::parking_lot::park",
				  "tokio::runtime::scheduler::multi_thread::park::Parker::park"),
			 MODEL_STATE_WAIT);
}

static void test_waits_unknown(void **state)
{
	/* nothing named (a stripped binary), or no rule: the caller keeps lock */
	assert_int_equal(CLASSIFY(NULL, NULL, NULL), MODEL_STATE_NR);
	assert_int_equal(CLASSIFY("syscall", "app+0x1234", "main"), MODEL_STATE_NR);
	assert_int_equal(waits_classify(NULL, 0), MODEL_STATE_NR);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_waits_glibc),
		cmocka_unit_test(test_waits_go),
		cmocka_unit_test(test_waits_rust),
		cmocka_unit_test(test_waits_unknown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
