// SPDX-License-Identifier: GPL-2.0-only
#include <stdbool.h>
#include <string.h>

#include "waits.h"

struct rule {
	const char *name;
	enum model_state state;
	enum { EXACT, CONTAINS } how;
};

/* Decide first: the names of the lock and wait primitives themselves. */
static const struct rule specific[] = {
	/* glibc: mutexes, read-write locks (also behind C++'s std::mutex, std::shared_mutex) */
	{ "__lll_lock_wait", MODEL_STATE_LOCK, EXACT },
	{ "__lll_lock_wait_private", MODEL_STATE_LOCK, EXACT },
	{ "__lll_clocklock_wait", MODEL_STATE_LOCK, EXACT },
	{ "pthread_mutex_lock", MODEL_STATE_LOCK, EXACT },
	{ "___pthread_mutex_lock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_mutex_lock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_mutex_lock_full", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_mutex_cond_lock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_mutex_cond_lock_full", MODEL_STATE_LOCK, EXACT },
	{ "pthread_mutex_timedlock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_mutex_timedlock", MODEL_STATE_LOCK, EXACT },
	{ "pthread_mutex_clocklock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_mutex_clocklock_common", MODEL_STATE_LOCK, EXACT },
	{ "pthread_rwlock_rdlock", MODEL_STATE_LOCK, EXACT },
	{ "___pthread_rwlock_rdlock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_rwlock_rdlock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_rwlock_rdlock_full", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_rwlock_rdlock_full64", MODEL_STATE_LOCK, EXACT },
	{ "pthread_rwlock_wrlock", MODEL_STATE_LOCK, EXACT },
	{ "___pthread_rwlock_wrlock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_rwlock_wrlock", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_rwlock_wrlock_full", MODEL_STATE_LOCK, EXACT },
	{ "__pthread_rwlock_wrlock_full64", MODEL_STATE_LOCK, EXACT },
	{ "pthread_rwlock_timedrdlock", MODEL_STATE_LOCK, EXACT },
	{ "pthread_rwlock_timedwrlock", MODEL_STATE_LOCK, EXACT },
	{ "pthread_rwlock_clockrdlock", MODEL_STATE_LOCK, EXACT },
	{ "pthread_rwlock_clockwrlock", MODEL_STATE_LOCK, EXACT },
	/* glibc: condition variables, semaphores, joins, barriers (also behind Java's park,
	 * libuv's and V8's worker pools, C++'s std::condition_variable) */
	{ "pthread_cond_wait", MODEL_STATE_WAIT, EXACT },
	{ "___pthread_cond_wait", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_cond_wait", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_cond_wait_common", MODEL_STATE_WAIT, EXACT },
	{ "pthread_cond_timedwait", MODEL_STATE_WAIT, EXACT },
	{ "___pthread_cond_timedwait", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_cond_timedwait", MODEL_STATE_WAIT, EXACT },
	{ "___pthread_cond_timedwait64", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_cond_timedwait64", MODEL_STATE_WAIT, EXACT },
	{ "pthread_cond_clockwait", MODEL_STATE_WAIT, EXACT },
	{ "___pthread_cond_clockwait64", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_cond_clockwait64", MODEL_STATE_WAIT, EXACT },
	{ "sem_wait", MODEL_STATE_WAIT, EXACT },
	{ "__new_sem_wait", MODEL_STATE_WAIT, EXACT },
	{ "__new_sem_wait_slow", MODEL_STATE_WAIT, EXACT },
	{ "__new_sem_wait_slow64", MODEL_STATE_WAIT, EXACT },
	{ "sem_timedwait", MODEL_STATE_WAIT, EXACT },
	{ "__sem_timedwait64", MODEL_STATE_WAIT, EXACT },
	{ "sem_clockwait", MODEL_STATE_WAIT, EXACT },
	{ "__sem_clockwait64", MODEL_STATE_WAIT, EXACT },
	{ "pthread_join", MODEL_STATE_WAIT, EXACT },
	{ "___pthread_join", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_join", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_clockjoin_ex", MODEL_STATE_WAIT, EXACT },
	{ "pthread_timedjoin_np", MODEL_STATE_WAIT, EXACT },
	{ "pthread_clockjoin_np", MODEL_STATE_WAIT, EXACT },
	{ "pthread_barrier_wait", MODEL_STATE_WAIT, EXACT },
	{ "___pthread_barrier_wait", MODEL_STATE_WAIT, EXACT },
	{ "__pthread_barrier_wait", MODEL_STATE_WAIT, EXACT },
	{ "uv_cond_wait", MODEL_STATE_WAIT, EXACT },
	{ "uv_cond_timedwait", MODEL_STATE_WAIT, EXACT },
	{ "uv_sem_wait", MODEL_STATE_WAIT, EXACT },
	/* Go's runtime: its own locks; an M with nothing to run sleeps on a note */
	{ "runtime.lock2", MODEL_STATE_LOCK, EXACT },
	{ "runtime.lockWithRank", MODEL_STATE_LOCK, EXACT },
	{ "runtime.lock", MODEL_STATE_LOCK, EXACT },
	{ "runtime.notesleep", MODEL_STATE_WAIT, EXACT },
	{ "runtime.notetsleep", MODEL_STATE_WAIT, EXACT },
	{ "runtime.notetsleepg", MODEL_STATE_WAIT, EXACT },
	{ "runtime.notetsleep_internal", MODEL_STATE_WAIT, EXACT },
	{ "runtime.stopm", MODEL_STATE_WAIT, EXACT },
	{ "runtime.stoplockedm", MODEL_STATE_WAIT, EXACT },
	{ "runtime.findrunnable", MODEL_STATE_WAIT, EXACT },
	{ "runtime.findRunnable", MODEL_STATE_WAIT, EXACT },
	{ "runtime.mPark", MODEL_STATE_WAIT, EXACT },
	{ "runtime.templateThread", MODEL_STATE_WAIT, EXACT },
	/* Rust's std (futex-based Mutex, RwLock, Condvar; thread parking) and parking_lot */
	{ "Mutex::lock_contended", MODEL_STATE_LOCK, CONTAINS },
	{ "RwLock::read_contended", MODEL_STATE_LOCK, CONTAINS },
	{ "RwLock::write_contended", MODEL_STATE_LOCK, CONTAINS },
	{ "RawMutex::lock_slow", MODEL_STATE_LOCK, CONTAINS },
	{ "RawRwLock::lock_shared_slow", MODEL_STATE_LOCK, CONTAINS },
	{ "RawRwLock::lock_exclusive_slow", MODEL_STATE_LOCK, CONTAINS },
	{ "RawRwLock::lock_upgradable_slow", MODEL_STATE_LOCK, CONTAINS },
	{ "Condvar::wait", MODEL_STATE_WAIT, CONTAINS },
	{ "std::thread::park", MODEL_STATE_WAIT, CONTAINS },
	{ "Parker::park", MODEL_STATE_WAIT, CONTAINS },
};

/* Then: names that say "waiting" in a way a lock does not. */
static const struct rule generic[] = {
	{ "::park", MODEL_STATE_WAIT, CONTAINS },
	{ "::wait", MODEL_STATE_WAIT, CONTAINS },
	{ "::recv", MODEL_STATE_WAIT, CONTAINS },
	{ "::lock", MODEL_STATE_LOCK, CONTAINS },
};

/* A name without the suffix GCC gives a function's clones ("__new_sem_wait_slow64.constprop.0"):
 * the length of what is compared. Go's dotted names have none of these. */
static size_t base_len(const char *name)
{
	static const char *const clones[] = { ".constprop.", ".isra.", ".part.", ".cold",
					      ".lto_priv." };
	size_t len = strlen(name);

	for (size_t i = 0; i < sizeof(clones) / sizeof(clones[0]); i++) {
		const char *p = strstr(name, clones[i]);

		if (p && (size_t)(p - name) < len)
			len = (size_t)(p - name);
	}
	return len;
}

static enum model_state match(const struct rule *rules, size_t nr, const char *const *fn,
			      size_t n)
{
	for (size_t i = 0; i < n && i < WAITS_DEPTH; i++) {
		size_t len;

		const char *name = fn[i];

		if (!name)
			continue;
		if (!strncmp(name, "__GI_", 5)) /* glibc's internal alias: __GI___lll_lock_wait */
			name += 5;
		len = base_len(name);
		for (size_t r = 0; r < nr; r++) {
			bool hit = rules[r].how == EXACT
					   ? strlen(rules[r].name) == len &&
						     !strncmp(name, rules[r].name, len)
					   : strstr(name, rules[r].name) != NULL;

			if (hit)
				return rules[r].state;
		}
	}
	return MODEL_STATE_NR;
}

enum model_state waits_classify(const char *const *functions, size_t n)
{
	enum model_state s = match(specific, sizeof(specific) / sizeof(specific[0]), functions, n);

	if (s != MODEL_STATE_NR)
		return s;
	return match(generic, sizeof(generic) / sizeof(generic[0]), functions, n);
}
