// SPDX-License-Identifier: GPL-2.0-only
/*
 * The thread table. Each thread ever seen gets a dense index that never changes; a tid reused by
 * a new thread gets a new index, so old ticks keep pointing at the old thread and its name.
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
	bool exited;
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
/* Index of the live thread tid, or UINT32_MAX. */
uint32_t threads_find(const struct threads *t, uint32_t tid);

uint32_t threads_count(const struct threads *t);
const struct thread *threads_get(const struct threads *t, uint32_t idx);

#endif
