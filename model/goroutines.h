// SPDX-License-Identifier: GPL-2.0-only
/*
 * Goroutines of Go processes, as the model keeps them. A source (probes/goruntime.c, or a
 * replay) reports each Go process once per tick: its figures (goroutines by status, GC, what
 * reading them cost) and every goroutine. At the tick's close the goroutines become groups —
 * those of one process with the same status, wait reason, stack (with the wait reason as its
 * leaf-most frame: "...;runtime.gopark;[chan receive]"), creation site and start function.
 * Groups are interned like stacks: dense ids that never change. The model keeps each group's
 * current count and its longest wait; a tick stores the figures of each Go process and only the
 * groups whose count changed (the delta), so 10,000 goroutines that sit still cost nothing per
 * tick, and a window's growth is the sum of its ticks' deltas.
 */
#ifndef MODEL_GOROUTINES_H
#define MODEL_GOROUTINES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "goheap.h"

struct model;
struct goroutines;
struct tick;

/* The runtime's goroutine statuses (runtime2.go), without the _Gscan bit. */
enum goroutines_status {
	GOROUTINES_IDLE = 0,
	GOROUTINES_RUNNABLE = 1,
	GOROUTINES_RUNNING = 2,
	GOROUTINES_SYSCALL = 3,
	GOROUTINES_WAITING = 4,
	GOROUTINES_DEAD = 6,
	GOROUTINES_COPYSTACK = 8,
	GOROUTINES_PREEMPTED = 9,
	GOROUTINES_NR = 10,
};

/* "runnable", "running", "syscall", "waiting", ... as the runtime prints them. */
const char *goroutines_status_name(uint32_t status);

/* One goroutine as a source read it. Borrowed for the call. */
struct goroutines_g {
	uint32_t status;         /* GOROUTINES_* */
	uint32_t flags;          /* MODEL_SAMPLE_TRUNCATED: its stack walk stopped early */
	const char *wait_reason; /* waiting: the runtime's words ("chan receive"), else NULL */
	uint64_t wait_ns;        /* waiting (or in a syscall) for this long; 0 when unknown */
	uint32_t tid;            /* running with no pcs: its thread, whose newest on-CPU sample
				    stands for its stack */
	const uint64_t *pcs;     /* return addresses, leaf first (the leaf as well: looked up
				    at pc - 1, as the runtime's own tracebacks do) */
	uint32_t nr_pcs;
	uint64_t gopc;           /* the go statement that created it (a return address), or 0 */
	uint64_t startpc;        /* its start function's entry, or 0 */
};

/* GC of a Go process in one tick. */
struct goroutines_gc {
	uint32_t numgc;          /* collections since the process started */
	uint32_t collections;    /* of them in this tick */
	uint64_t pause_last_ns;  /* the newest collection's stop-the-world pause */
	uint64_t pause_max_ns;   /* the longest pause of the tick's collections */
	uint64_t pause_total_ns; /* since the process started */
	uint64_t heap_live;      /* bytes: heap in use now (gcController.heapLive) */
	uint64_t heap_marked;    /* bytes: live heap after the last collection */
	uint64_t heap_goal;      /* bytes: the next collection's goal (GOGC's) */
	int64_t gc_percent;      /* GOGC; -1 off */
	int64_t memory_limit;    /* GOMEMLIMIT, bytes (INT64_MAX: none) */
	uint32_t known;          /* GOROUTINES_GC_* : which of these were read */
	uint32_t pad;
};

#define GOROUTINES_GC_COUNTS 0x1u /* numgc, collections, pauses */
#define GOROUTINES_GC_HEAP 0x2u   /* heap_live, heap_marked, heap_goal */
#define GOROUTINES_GC_KNOBS 0x4u  /* gc_percent, memory_limit */

/* A Go process's figures for the open tick. Borrowed for the call. */
struct goroutines_proc {
	uint32_t pid;
	const char *version; /* "go1.22.12" */
	const char *error;   /* why its goroutines are not shown (NULL: they are) */
	uint32_t dropped;    /* inconsistent reads caught and left out */
	uint32_t stacks_read, stacks_cached, skipped;
	uint64_t read_ns;    /* what reading them took */
	uint64_t bytes;      /* read from its memory */
	struct goroutines_gc gc;
	int64_t memprofile_rate; /* runtime.MemProfileRate; -1 unknown */
	uint32_t heap_state;     /* GOROUTINES_HEAP_* */
};

/* What the heap profile is for a process. */
enum goroutines_heap_state {
	GOROUTINES_HEAP_UNKNOWN,  /* not read */
	GOROUTINES_HEAP_ON,       /* buckets read */
	GOROUTINES_HEAP_DISABLED, /* MemProfileRate 0: the linker disabled it (no runtime/pprof) */
	GOROUTINES_HEAP_OFF,      /* MemProfileRate 0, set by the program */
	GOROUTINES_HEAP_NOT_FOUND, /* rate set but the buckets were not found (stripped binary) */
};

/* "unknown", "on", "disabled by the linker", "off", "not found". */
const char *goroutines_heap_state_name(uint32_t state);

/* ---- what a closed tick holds (tick.go) ---- */

struct tick_go_proc {
	uint32_t pid;
	uint32_t goroutines;             /* shown: every status but dead and idle */
	uint32_t by_status[GOROUTINES_NR];
	uint32_t system;                 /* of them runtime-internal (pprof's rule) */
	uint32_t dropped, stacks_read, stacks_cached, skipped;
	uint64_t read_ns, bytes;
	const char *version;             /* interned in the model's stacks */
	const char *error;               /* interned, or NULL */
	struct goroutines_gc gc;
	int64_t memprofile_rate;
	uint32_t heap_state;
	uint32_t pad;
};

/* A group's count changed in the tick. */
struct tick_go_group {
	uint32_t group;
	int32_t delta;     /* goroutines added (or, negative, gone) */
	uint64_t oldest_ns; /* CLOCK_MONOTONIC since when its longest-waiting goroutine waits, as of
			       the tick's end; 0 unknown */
};

struct tick_go {
	struct tick_go_proc *procs;  /* the Go processes read in the tick, by pid */
	size_t nr_procs;
	struct tick_go_group *groups; /* groups whose count changed, by group id */
	size_t nr_groups;
	struct tick_goheap *heap;    /* profile buckets that changed (model/goheap.h) */
	size_t nr_heap;
};

/* A group: goroutines of one process alike. Strings are interned, frames are frame ids. */
struct go_group {
	uint32_t pid;
	uint32_t status;
	const char *wait_reason; /* waiting: the runtime's words, else NULL */
	uint32_t stack;          /* stack id: root first, the status or wait reason as the leaf */
	uint32_t created_by;     /* frame id of the go statement's function, UINT32_MAX: none */
	uint32_t start;          /* frame id of its start function (past .gowrap wrappers) */
	uint32_t flags;          /* GO_GROUP_* */
};

#define GO_GROUP_SYSTEM 0x1u    /* runtime-internal goroutines (pprof hides them too) */
#define GO_GROUP_TRUNCATED 0x2u /* its stack was not walked to its root */
#define GO_GROUP_NONE UINT32_MAX

/* ---- the layer, owned by the model ---- */

struct goroutines *goroutines_new(void);
void goroutines_free(struct goroutines *g);

/* Its profiles (sources report them through this). The layer itself is model_goroutines(). */
struct goheap *goroutines_heap(const struct goroutines *g);

/* A Go process's figures for the open tick; then its goroutines with goroutines_add(). A process
 * reported with an error has no goroutines this tick. */
void goroutines_proc(struct goroutines *g, const struct goroutines_proc *p);
void goroutines_add(struct goroutines *g, struct model *m, uint32_t pid,
		    const struct goroutines_g *gr);
/* The model's tick close: fills t->go (NULL when nothing Go happened). Stacks must be resolved. */
void goroutines_close(struct goroutines *g, struct model *m, struct tick *t, uint64_t end_ns);
/* A replay: the tick's Go layer as recorded (group ids and stack ids of this model), applied at
 * the next close; given for several ticks (a replay skipping ahead), the changes add up and the
 * figures are the last given. */
void goroutines_add_tick(struct goroutines *g, const struct tick_go *tg);
/* A recorded group definition, in id order (a replay): returns its id. */
uint32_t goroutines_add_group(struct goroutines *g, const struct go_group *grp);
void goroutines_tick_free(struct tick_go *tg);

/*
 * The model's budget renumbers stacks and frames (model.h, stacks_compact()). Group ids stay;
 * goroutines_keep() marks what the layer names — every group's stack, creator and start frame,
 * the stacks of its profiles' buckets (goheap_keep()) — in keep (nr_stacks long) and keep_frames
 * (nr_frames long); goroutines_remap() then takes the new ids (old → new). A closed tick's Go
 * layer names stacks too: goroutines_tick_keep(), goroutines_tick_remap(). Between ticks only.
 */
void goroutines_keep(const struct goroutines *g, uint8_t *keep, uint32_t nr_stacks,
		     uint8_t *keep_frames, uint32_t nr_frames);
void goroutines_remap(struct goroutines *g, const uint32_t *remap, const uint32_t *frame_remap);
/* The bytes the layer holds, its profiles' too (model_usage()). */
size_t goroutines_bytes(const struct goroutines *g);
void goroutines_tick_keep(const struct tick_go *tg, uint8_t *keep, uint32_t nr_stacks);
void goroutines_tick_remap(struct tick_go *tg, const uint32_t *remap);

/* Groups, by id; NULL when out of range. */
const struct go_group *goroutines_group(const struct goroutines *g, uint32_t id);
uint32_t goroutines_nr_groups(const struct goroutines *g);
/* The current count of a group (as of the newest tick) and since when its longest-waiting
 * goroutine waits (0 unknown). */
uint32_t goroutines_count(const struct goroutines *g, uint32_t id, uint64_t *oldest_ns);
#endif
