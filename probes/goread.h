// SPDX-License-Identifier: GPL-2.0-only
/*
 * Every goroutine of a running Go program, read from its memory without stopping it: the g
 * structs through runtime.allgs, then the stacks the g structs point at, all in batches
 * (probes/gomem.c). A parked goroutine's stack is walked with frame pointers from g.sched, one
 * in a syscall from g.syscallpc/sp, and a running one gets its thread id (m.procid) so that the
 * CPU sampler's stack of that thread can stand for it.
 *
 * The program runs on while it is read, so every stack read is checked: the g is read again
 * after its stack, and when its status, goid or saved sp changed the goroutine is dropped from
 * this read and counted (goread_stats.dropped), never shown with a wrong state or stack. Parked
 * stacks do not change while parked: they are cached by (g, goid, pc, sp) and a tick reads only
 * the g structs of goroutines that did not move.
 */
#ifndef PROBES_GOREAD_H
#define PROBES_GOREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct golayout;
struct golocate;
struct gomem;
struct goread;

/* The runtime's goroutine statuses (runtime2.go), without the _Gscan bit. */
enum goread_status {
	GOREAD_IDLE = 0,
	GOREAD_RUNNABLE = 1,
	GOREAD_RUNNING = 2,
	GOREAD_SYSCALL = 3,
	GOREAD_WAITING = 4,
	GOREAD_DEAD = 6,
	GOREAD_COPYSTACK = 8,
	GOREAD_PREEMPTED = 9,
};

#define GOREAD_TRUNCATED 0x1u /* the walk stopped before runtime.goexit */
#define GOREAD_NO_STACK 0x2u  /* running (its thread's sampled stack stands for it), or the
				 stack was not read this tick (over budget) */
#define GOREAD_LOCKED 0x4u    /* locked to its thread (runtime.LockOSThread) */
#define GOREAD_SKIPPED 0x8u   /* over the stack budget: no stack this tick */

#define GOREAD_MAX_FRAMES 128

struct goread_g {
	uint64_t addr;        /* the g struct */
	uint64_t goid;
	uint64_t parent_goid; /* 0 when the runtime does not keep it (before 1.21) */
	uint32_t status;      /* enum goread_status */
	uint32_t waitreason;  /* index into waitReasonStrings, when waiting */
	int64_t waitsince;    /* runtime nanotime (CLOCK_MONOTONIC) set by the GC; 0 unknown */
	uint64_t seen_ns;     /* parked at the same place, as this reader saw it, since */
	uint64_t gopc;        /* the go statement that created it (a return address) */
	uint64_t startpc;     /* its start function's entry */
	uint32_t tid;         /* running, or in a syscall: its thread; else 0 */
	uint32_t flags;       /* GOREAD_* */
	const uint64_t *pcs;  /* return addresses, leaf first; borrowed until the next read */
	uint32_t nr_pcs;
};

struct goread_stats {
	uint32_t goroutines; /* read and shown (not dead) */
	uint32_t dropped;    /* inconsistent reads caught and left out */
	uint32_t stacks_read;
	uint32_t stacks_cached;
	uint32_t skipped;    /* stacks over the tick's budget (shown without a stack) */
	uint64_t bytes;      /* read from the process */
	uint64_t calls;      /* system calls */
	uint64_t ns;         /* wall time of the read */
};

struct goread_opts {
	uint64_t stack_budget; /* stack bytes read per tick at most; 0 for the default (64 MiB) */
	uint64_t time_budget_ns; /* CPU time a read may spend before the stacks not read yet
				    wait for the next read; 0 for the default (100 ms) */
	bool no_cache;         /* read every stack every time (tests, benchmarks) */
};

int goread_new(const struct goread_opts *opts, struct goread **out);
void goread_free(struct goread *r);

/*
 * Reads every goroutine. *gs is borrowed until the next call. 0, or -errno when the list
 * could not be read at all (-ESRCH: the process is gone; -EPERM: not allowed; -EBADMSG: the
 * goroutine list is not what it should be).
 */
int goread_goroutines(struct goread *r, struct gomem *m, const struct golayout *l,
		      const struct golocate *loc, uint64_t now_ns, const struct goread_g **gs,
		      size_t *n, struct goread_stats *st);

/* "idle", "runnable", "running", "syscall", "waiting", "dead", "copystack", "preempted". */
const char *goread_status_name(uint32_t status);

#endif
