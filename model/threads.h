// SPDX-License-Identifier: GPL-2.0-only
/*
 * The thread table. Each thread seen gets a dense index that does not change while anything
 * names it; a tid reused by a new thread gets a new index, so old ticks keep pointing at the old
 * thread and its name. An exited thread nothing names any more can be released (the model's
 * memory budget): its index is given to a later thread, with a new `gen`.
 */
#ifndef MODEL_THREADS_H
#define MODEL_THREADS_H

#include <stdbool.h>
#include <stdint.h>

struct thread {
	uint32_t pid;
	uint32_t tid;
	const char *comm;    /* thread name; borrowed from the table, valid until threads_free() */
	const char *process; /* process name (the main thread's comm) */
	uint64_t first_ns;   /* first seen (CLOCK_MONOTONIC), 0 if only seen in /proc */
	uint64_t last_ns;    /* last seen */
	uint64_t exit_ns;    /* when it exited, when a source said (0: unknown or live) */
	uint32_t gen;        /* bumped each time the index is given to another thread */
	bool exited;
	bool released;       /* its index waits to be given to another thread */
};

struct threads;

struct threads *threads_new(void);
void threads_free(struct threads *t);

/*
 * Finds the live thread tid, or adds it. A live tid seen with a different pid is a reused tid:
 * the old entry is marked exited and a new one added. comm/pcomm may be NULL (keeps what is known,
 * else "?"). Returns the index.
 */
uint32_t threads_see(struct threads *t, uint32_t pid, uint32_t tid, const char *comm,
		     const char *pcomm, uint64_t now_ns);
/* Marks the live thread tid as exited; a later threads_see() of tid creates a new entry. */
void threads_exit(struct threads *t, uint32_t tid);
/*
 * The same, at exit_ns (a source's clock): an event of the same (pid, tid) that comes later,
 * from another ring or from the kernel's own exit work after the exit tracepoint, still lands
 * on this entry instead of making a thread that never exits. Kept for two threads_age() calls.
 */
void threads_exit_at(struct threads *t, uint32_t tid, uint64_t exit_ns);
/* The thread (pid, tid) exited at exit_ns, whether or not an event named it yet: one that
 * comes later (another ring drained after the exit) makes an entry that is exited already. */
void threads_gone(struct threads *t, uint32_t pid, uint32_t tid, uint64_t exit_ns);
/* Once per tick: exits older than the last two calls stop catching late events. */
void threads_age(struct threads *t);
/* An exited thread that nothing names any more: its index goes to a later thread. */
void threads_release(struct threads *t, uint32_t idx);
/* idx was released and not given out again. */
bool threads_free_slot(const struct threads *t, uint32_t idx);
/* An exited thread may be released: no late event can still come for it (threads_gone()). */
bool threads_releasable(const struct threads *t, uint32_t idx);
/* Index of the live thread tid, or UINT32_MAX. */
uint32_t threads_find(const struct threads *t, uint32_t tid);

uint32_t threads_count(const struct threads *t);
/* The bytes of the table, names included. */
size_t threads_bytes(const struct threads *t);
const struct thread *threads_get(const struct threads *t, uint32_t idx);

#endif
