// SPDX-License-Identifier: GPL-2.0-only
/*
 * What a snapshot reports: the session's facts (host, target, rate, how the command ended) and
 * the window summed since start, with the per-thread and per-function views every output format
 * prints. Built once; the writers (out_*.c) only format it.
 */
#ifndef CLI_REPORT_H
#define CLI_REPORT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <time.h>

#include "model/gostack.h"
#include "model/gowindow.h"
#include "model/wall.h"
#include "model/window.h"

struct model;
struct thread;

/* What stack values count: on-CPU samples, or nanoseconds off the CPU or of wall time. */
enum report_metric {
	REPORT_CPU,
	REPORT_OFFCPU, /* blocked or waiting for a CPU, the state as the leaf (model/wall.h) */
	REPORT_HEAP,   /* bytes of heap growth (leak mode: allocated minus freed) */
	REPORT_GOROUTINES, /* Go: goroutines by stack, the wait reason as the leaf */
	REPORT_GOHEAP,     /* Go: the heap profile's in-use bytes by allocating stack */
	REPORT_WALL,   /* on-CPU samples × the period with a [running] leaf, and REPORT_OFFCPU */
};

struct report_session {
	char host[256];
	char kernel[128];
	struct timespec start_wall; /* CLOCK_REALTIME at start */
	double duration_s;          /* the window actually sampled */
	unsigned freq_hz;
	unsigned nr_cpus;
	const char *source;         /* "bpf" */
	const char *unwind;         /* what walked user stacks: "fp", "dwarf", "dwarf+fp" */
	uint64_t unwind_dwarf;      /* samples walked with DWARF (model/unwind.c) */
	uint64_t unwind_table;      /* ... of which over the binaries' unwind tables */
	uint64_t unwind_truncated;  /* DWARF walks that stopped short of a root */
	uint64_t unwind_off_copy;   /* ... of which at the end of the stack copy (deeper stacks) */
	uint64_t unwind_fp;         /* samples given the frame-pointer walk */
	uint64_t unwind_ns;         /* time spent in DWARF walks */
	struct gostack_stats unwind_go; /* repairs of Go programs' frame-pointer walks */
	const uint32_t *pids;       /* targets; NULL for the whole system */
	size_t nr_pids;
	char *const *argv;          /* the launched command, or NULL */
	bool cmd_exited;            /* it ended and was reaped: cmd_status is valid */
	int cmd_status;             /* its wait status */
	bool cmd_terminated;        /* it was still running at the end and got SIGTERM */
	enum report_metric metric;  /* what report_values() counts (text and json: cpu only) */
	const char *sched_mode;     /* probes/sched attached ("tp_btf", "raw_tp"), or NULL */
	char sched_error[512];      /* why it did not, when it did not */
	const char *heap;           /* probes/heap: what ran ("rss_stat (tp_btf)"), "off", or NULL
				       when it could not start (heap_error says why) */
	char heap_error[512];
	/* A probe that runs other than it prefers says why, once on stderr and here: the BPF
	 * sampler that could not load (source perf), tp_btf programs that fell back to raw_tp. */
	char cpu_fallback[512], sched_fallback[512], heap_fallback[512];
	double heap_pair_ns;        /* leak mode: measured cost of a traced malloc/free pair */
	const char *go;             /* Go runtimes read: "on", "off", or NULL (replay) */
	uint64_t go_cpu_ns;         /* CPU time reading them */
};

struct report_thread {
	uint32_t idx; /* thread table index */
	uint64_t samples;
	uint64_t state_ns[MODEL_STATE_NR]; /* time in each state (probes/sched) */
};

struct report_func {
	const char *function; /* interned: the key; "(no symbols)" for a module's nameless code */
	const char *module;
	uint64_t self, total;
	uint32_t addresses;   /* nameless code: how many addresses were grouped (else 0) */
};

/* A stack's samples (or blocked ns) summed over the threads of one process that share it: a
 * thread pool's one stack is one entry. */
struct report_stack {
	uint32_t pid;
	uint32_t stack;
	uint64_t count;
	uint32_t nr_threads;
	uint32_t thread;   /* the thread with most of it (thread table index) */
	bool kernel;       /* a kernel thread's stack (stacks_kernel_only()) */
};

struct report {
	const struct report_session *session; /* borrowed */
	const struct model *m;                /* borrowed */
	uint32_t pid;                         /* only this process (0: every one) */
	struct window w;                      /* since start, or the newest ticks asked for */
	struct report_thread *threads;        /* threads with samples or state time, busiest
						 first (by samples, then by time not asleep) */
	size_t nr_threads;
	struct report_func *funcs;            /* by self, descending */
	size_t nr_funcs;
	struct report_stack *stacks;          /* on-CPU samples by (process, stack), most first */
	size_t nr_stacks;
	struct report_stack *blocks;          /* blocked ns by (process, stack), most first */
	size_t nr_blocks;
	struct calltree_item *heap_values;    /* REPORT_HEAP: bytes of growth by (thread, stack),
						 positive ones, most first */
	size_t nr_heap_values;
	struct gowindow gw;                   /* Go processes, since start */
	struct calltree_item *go_values;      /* REPORT_GOROUTINES / GOHEAP: by (the process's
						 main thread, stack), most first */
	size_t nr_go_values;
	struct wall wall;                     /* the other metrics' items */
};

void report_init(struct report *r, const struct model *m, const struct report_session *s);
/* The same over the newest nticks ticks (0: since start), of process pid only (0: every one):
 * what `flametop serve` answers a profile with. */
void report_init_window(struct report *r, const struct model *m, const struct report_session *s,
			size_t nticks, uint32_t pid);
/* Only the window and what the stack writers read (report_values(), the Go layer): the
 * threads, functions and per-process stacks of the text and json reports are left empty. What
 * `flametop serve` builds a profile with, on the loop that drains the probes. */
void report_init_values(struct report *r, const struct model *m, const struct report_session *s,
			size_t nticks, uint32_t pid);
void report_fini(struct report *r);

/* The name of process pid as the thread table knows it (its main thread's, else any of its
 * threads'), or NULL. */
const char *report_process(const struct report *r, uint32_t pid);
/* The label of a frame's module for text: "libc.so.6" as "[libc.so.6]"; a module already in
 * brackets ("[kernel.kallsyms]", "[vdso]") as it is. */
void report_module(char *buf, size_t len, const char *module);
/* %CPU of one CPU: samples / (freq × seconds) × 100. */
double report_cpu_percent(const struct report *r, uint64_t samples);
/* A description of the target: "whole system", "pid 12,34", "command ./app". */
void report_target(const struct report_session *s, char *buf, size_t len);
/* How the command ended: "exited with status 0", "killed by signal 9", ... ("" if none). */
void report_cmd_end(const struct report_session *s, char *buf, size_t len);
/* Events of one probe lost in the window (CPU samples, sched records, heap events). */
uint64_t report_lost(const struct report *r, enum model_lost_probe probe);
/* Length of the window in ns: the denominator of state percentages. */
uint64_t report_window_ns(const struct report *r);
/* Time of a thread in a state as a percentage of the window. */
double report_state_percent(const struct report *r, const struct report_thread *t,
			    enum model_state s);
/* The reason of an off-CPU stack (its leaf-most marker frame, "[lock]"): MODEL_STATE_RUNNABLE
 * (waiting for a CPU after a block, in the same call) .. MODEL_STATE_OTHER. */
enum model_state report_block_reason(const struct report *r, uint32_t stack);
/* The (thread, stack, tail) values of the session's metric, in no particular order: samples,
 * ns off the CPU or of wall time (their tails name the state), or bytes of heap growth (leak
 * mode's allocated minus freed when it ran, else RSS growth). */
const struct calltree_item *report_values(const struct report *r, size_t *nr);
/* What one on-CPU sample stands for: 1e9 / the rate. */
uint64_t report_period_ns(const struct report *r);
/* Whether the metric's values are nanoseconds (off-CPU, wall). */
bool report_metric_is_time(const struct report *r);
/* The thread index standing for process pid (its main thread), UINT32_MAX when unknown. */
uint32_t report_thread_of_pid(const struct report *r, uint32_t pid);

#endif
