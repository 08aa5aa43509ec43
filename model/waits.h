// SPDX-License-Identifier: GPL-2.0-only
/*
 * Lock or wait: a thread blocked in futex (or a semaphore) is either waiting for a lock someone
 * holds — a mutex, a read-write lock, the Go runtime's own locks, Rust's Mutex and RwLock —
 * or waiting for work or an event — a condition variable, a semaphore, a join, thread parking,
 * an idle Go scheduler. The system call is the same; the blocked thread's user frames tell them
 * apart. Pure: function names in, a state out (tests feed it names).
 */
#ifndef MODEL_WAITS_H
#define MODEL_WAITS_H

#include <stddef.h>

#include "model.h"

/* How many frames from the leaf are looked at: the decision is made near the system call. */
#define WAITS_DEPTH 24

/*
 * The functions of a blocked thread's user stack, leaf first (inlined functions in their place,
 * NULL for a frame without a name). MODEL_STATE_LOCK or MODEL_STATE_WAIT when a frame says
 * which, MODEL_STATE_NR when none does (the caller keeps lock). Specific names decide before
 * generic ones anywhere in the first WAITS_DEPTH frames: parking_lot's mutex parks its thread
 * (RawMutex::lock_slow above park) and is a lock; the mutex re-taken at the end of a condition
 * wait (__pthread_mutex_cond_lock) is a lock too, being nearer the leaf.
 */
enum model_state waits_classify(const char *const *functions, size_t n);

#endif
