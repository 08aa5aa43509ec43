// SPDX-License-Identifier: GPL-2.0-only
/*
 * The model: everything flametop knows. Sources (probes/, a replay file) push raw events in;
 * every second the owner calls model_close_tick(), which symbolizes what is new and appends the
 * tick (the deltas of that second) to a bounded history. Views read ticks and windows (sums of
 * ticks). No curses and no BPF in here: tests drive it with synthetic events.
 */
#ifndef MODEL_MODEL_H
#define MODEL_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct goroutines;
struct syms;
struct threads;
struct stacks;
struct tick;
struct tick_go;

/* One on-CPU sample as a source saw it. Everything is borrowed for the duration of the call. */
struct model_sample {
	uint64_t time_ns;       /* CLOCK_MONOTONIC */
	uint32_t pid;           /* process (tgid) */
	uint32_t tid;           /* thread */
	const char *comm;       /* thread name, may be NULL */
	const char *pcomm;      /* process name (its main thread's comm), may be NULL */
	const uint64_t *user;   /* user return addresses, leaf first */
	const uint64_t *kernel; /* kernel return addresses, leaf first */
	uint32_t nr_user;
	uint32_t nr_kernel;
	uint32_t flags;  /* MODEL_SAMPLE_* */
	uint32_t weight; /* how many samples this stands for; 0 is taken as 1 */
};

#define MODEL_SAMPLE_USER_FAILED (1u << 0)   /* the user stack could not be captured */
#define MODEL_SAMPLE_KERNEL_FAILED (1u << 1) /* in kernel mode, but no kernel stack */
#define MODEL_SAMPLE_TRUNCATED (1u << 2)     /* the walk stopped before the thread's root */
#define MODEL_SAMPLE_KERNEL_THREAD (1u << 3) /* a kernel thread: there is no user stack */
/* The probe sent no stacks (its ring was nearly full): no frames, and none expected. The stack
 * is "[no stack]", as the wall view names blocked time that no stack covers. */
#define MODEL_SAMPLE_NO_STACKS (1u << 4)

/*
 * Events lost before they reached the model, counted per tick and reported per probe: CPU
 * samples are not the sched probe's records nor the heap probe's events. (The first three are
 * the CPU sampler's; recordings before format 1.2 had every probe's losses in them.)
 */
enum model_lost {
	/* on-CPU samples (probes/cpu, probes/perf) */
	MODEL_LOST_RINGBUF,  /* the kernel→user ring was full */
	MODEL_LOST_MAP_FULL, /* a BPF map was full (a followed child not added) */
	MODEL_LOST_NO_STACK, /* sampled, but neither stack could be captured (still counted) */
	/* thread states and blocks (probes/sched) */
	MODEL_LOST_SCHED_RINGBUF,  /* block or exit records dropped: the ring was full */
	MODEL_LOST_SCHED_MAP_FULL, /* threads, stacks or targets map full */
	MODEL_LOST_SCHED_NO_STACK, /* long blocks sent without their stacks */
	/* heap growth and leak mode (probes/heap) */
	MODEL_LOST_HEAP_RINGBUF,  /* events dropped: the ring was full */
	MODEL_LOST_HEAP_MAP_FULL, /* a BPF map was full */
	/* the on-CPU samples' side-band (probes/sideband): process events (mappings, exec, fork,
	 * exit) dropped, so samples of the processes they were about may not resolve */
	MODEL_LOST_SIDEBAND,
	MODEL_LOST_NR,
};

/* Which probe a loss belongs to. */
enum model_lost_probe {
	MODEL_LOST_CPU,
	MODEL_LOST_SCHED,
	MODEL_LOST_HEAP,
};

/* The losses of one probe among lost[MODEL_LOST_NR]. */
uint64_t model_lost_of(const uint64_t *lost, enum model_lost_probe probe);

/* Where a thread's time goes (probes/sched). The blocked states are also off-CPU reasons. */
enum model_state {
	MODEL_STATE_RUNNING,
	MODEL_STATE_RUNNABLE, /* woken or preempted, waiting for a CPU */
	MODEL_STATE_LOCK,     /* waiting for a lock someone holds: mutex, rwlock, file lock */
	MODEL_STATE_IO,       /* uninterruptible (D) or blocking file / block I/O */
	MODEL_STATE_POLL,     /* poll, select, epoll */
	MODEL_STATE_SLEEP,    /* nanosleep and friends */
	MODEL_STATE_OTHER,
	/* waiting for work or an event: a condition variable, a semaphore, a join, thread
	 * parking, an idle Go scheduler (futex like a lock; told apart by the user frames,
	 * model/waits.h). Last, so recordings made before it keep their numbers. */
	MODEL_STATE_WAIT,
	MODEL_STATE_NR,
};

/* "running", "runnable", "lock", "io", "poll", "sleep", "other", "wait". */
const char *model_state_name(enum model_state s);

/* An off-CPU interval: a thread blocked for ns with this stack, for this reason. The stack gets
 * the reason as its leaf-most frame ("[lock]"). Borrowed for the duration of the call. */
struct model_offcpu {
	uint64_t time_ns; /* when it was woken (CLOCK_MONOTONIC) */
	uint32_t pid, tid;
	const char *comm, *pcomm;
	const uint64_t *user, *kernel; /* leaf first */
	uint32_t nr_user, nr_kernel;
	uint32_t flags;             /* MODEL_SAMPLE_* */
	enum model_state reason;    /* MODEL_STATE_RUNNABLE .. MODEL_STATE_OTHER */
	uint64_t ns;
};

/* Who woke a thread from a block (--waker-stacks): the thread that ran the wakeup and its stacks
 * then. Borrowed for the duration of the call. */
struct model_waker {
	uint32_t pid, tid;
	const char *comm;
	const uint64_t *user, *kernel; /* leaf first */
	uint32_t nr_user, nr_kernel;
	uint32_t flags; /* MODEL_SAMPLE_* */
};

/*
 * Memory of one process, in bytes, as /proc tells it (probes/proc). Not every source knows every
 * field: a reading says which it has in `known` (bit MODEL_MEM_x).
 */
enum model_mem {
	MODEL_MEM_RSS,   /* resident: anon + file + shmem */
	MODEL_MEM_ANON,  /* resident anonymous memory: heap, stacks, private mappings */
	MODEL_MEM_FILE,  /* resident file-backed pages */
	MODEL_MEM_SHMEM, /* resident shared memory (tmpfs, MAP_SHARED|MAP_ANONYMOUS, memfd) */
	MODEL_MEM_SWAP,  /* anonymous memory swapped out */
	MODEL_MEM_VSIZE, /* virtual size */
	MODEL_MEM_NR,
};

/* "rss", "anon", "file", "shmem", "swap", "vsize". */
const char *model_mem_name(enum model_mem k);

struct model_memory {
	uint64_t v[MODEL_MEM_NR]; /* bytes */
	uint32_t known;           /* bit k set: v[k] was read */
};

/*
 * Heap growth with the user stack that caused it. From the default tracking (probes/heap: the
 * kernel's resident-memory counters as they change, in the thread that changed them) bytes is
 * signed RSS growth and count the events it stands for; from leak mode (probes/heap with
 * uprobes on the allocator) bytes and count are what was allocated (positive) or freed
 * (negative, charged to the allocating stack). Borrowed for the duration of the call.
 */
struct model_heap {
	uint64_t time_ns;
	uint32_t pid, tid;
	const char *comm, *pcomm;
	const uint64_t *user; /* user return addresses, leaf first */
	uint32_t nr_user;
	uint32_t flags;       /* MODEL_SAMPLE_* */
	int64_t bytes;
	int64_t count;
};

/* An interned (thread, raw user stack): leak mode keeps one per live block, and charges its
 * free to it later with model_add_alloc(). Valid for the model's lifetime. */
struct model_heap_site {
	uint32_t thread;
	uint32_t raw;
};

/* How the heap was tracked in a tick (summed over a window; mode is the newest). */
enum model_heap_mode {
	MODEL_HEAP_OFF,
	MODEL_HEAP_GROWTH, /* default: RSS growth by stack, no uprobes */
	MODEL_HEAP_EXACT,  /* leak mode: uprobes on the allocator */
};

/* "off", "growth", "exact". */
const char *model_heap_mode_name(enum model_heap_mode mode);

struct tick_heap_info {
	uint32_t mode;        /* enum model_heap_mode */
	uint32_t pad;
	uint64_t events;      /* growth events (default) received */
	uint64_t calls;       /* leak mode: allocator calls traced */
	uint64_t unmatched;   /* leak mode: frees of blocks not seen allocated (allocated before
				 attach, or their allocation was lost) */
	uint64_t lost;        /* heap events lost (ring full, map full): figures are low by that */
	uint64_t cost_ns;     /* leak mode: estimated time the uprobes added to the targets */
	uint64_t live_blocks; /* leak mode: blocks outstanding at the end of the tick */
	uint64_t live_bytes;
};

/* One of leak mode's oldest outstanding blocks. */
struct model_heap_block {
	uint32_t thread;  /* the allocating thread (thread table index) */
	uint32_t stack;   /* its stack id (model_heap_oldest()); a raw id when given */
	uint64_t addr;
	uint64_t size;
	uint64_t time_ns; /* when it was allocated (CLOCK_MONOTONIC) */
};

/*
 * The memory budget (README, "Memory"): the newest ticks are kept whole, at most
 * MODEL_HISTORY_TICKS of them (10 minutes: the widest chart and strip need ~500) and at most
 * MODEL_HISTORY_BYTES of them, but never fewer than MODEL_HISTORY_MIN (the 60 s window);
 * everything older lives on only in the since-start totals. Exited threads that no kept tick
 * names are folded into one "[exited]" row per process name, and their slots reused; raw
 * stacks (interned per process) are forgotten now and then and made again from new samples;
 * the symbolizer keeps the binaries no process maps within MODEL_SYMS_BYTES; frames and stacks
 * no kept tick names go past MODEL_STACKS_BYTES (what the Go layer names stays: its groups, its
 * profiles' buckets; the rest is renumbered, model_stacks_epoch()); when what the kept ticks
 * name is itself past it, fewer ticks are kept (never fewer than MODEL_HISTORY_MIN). A closed
 * tick's arrays hold exactly their entries, so the history's bytes are what it counts.
 */
#define MODEL_HISTORY_TICKS 600
#define MODEL_HISTORY_BYTES (48u << 20)
#define MODEL_HISTORY_MIN 60
/* The symbolizer's parsed binaries no process maps are let go past this (syms_trim()). */
#define MODEL_SYMS_BYTES (64u << 20)
/* Frames and stacks past this: those no kept tick names go, their since-start sums go to one
 * "[older stacks]" stack per thread (and reason), the rest get new ids. */
#define MODEL_STACKS_BYTES (32u << 20)

/* The budget in one line for a person (doctor, the help view): "history ..., ...". */
void model_budget_text(char *buf, size_t len);

struct model_opts {
	unsigned history;  /* ticks kept at most; 0 for MODEL_HISTORY_TICKS */
	size_t history_bytes; /* their bytes at most; 0 for MODEL_HISTORY_BYTES */
	size_t stacks_bytes;  /* frames and stacks at most; 0 for MODEL_STACKS_BYTES */
	struct syms *syms; /* borrowed; NULL leaves frames as module+0xOFFSET */
	uint64_t start_ns; /* CLOCK_MONOTONIC start; 0 for now (a replay passes the recording's) */
};

int model_new(const struct model_opts *opts, struct model **out);
void model_free(struct model *m);

/* Feeding the model (sources). */
void model_add_sample(struct model *m, const struct model_sample *s);
/* count samples of a stack already interned in model_stacks() (a replay file, tests): no
 * symbolization, no process maps. */
void model_add_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			const char *pcomm, uint32_t stack, uint64_t count, uint64_t time_ns);
void model_add_lost(struct model *m, enum model_lost kind, uint64_t n);
/* Time a thread spent in a state during the open tick. */
void model_add_state(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		     const char *pcomm, enum model_state state, uint64_t ns);
/* Blocked time by stack and reason. */
void model_add_offcpu(struct model *m, const struct model_offcpu *o);
/* A block of o->ns and who woke it, as one stack: the blocked stack, its reason, then
 * "[woken by COMM]" and the waker's stack from its leaf to its root (stacks_add_wake()). A layer
 * of its own (tick.wakes): the blocked time is in the off-CPU layer already (model_add_offcpu()),
 * this says who ended it. */
void model_add_wake(struct model *m, const struct model_offcpu *o, const struct model_waker *w);
/* A block and its waker as a stack already interned (tests). */
void model_add_wake_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			     const char *pcomm, uint32_t stack, uint64_t ns);
/* Blocked ns of a stack already interned (it ends with its reason frame): replay, tests. */
void model_add_offcpu_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			       const char *pcomm, uint32_t stack, uint64_t ns);
/* A process's memory now (probes/proc). The model keeps the change since its previous reading;
 * a tick stores the processes whose memory changed. */
void model_add_memory(struct model *m, uint32_t pid, const struct model_memory *mem);
/* RSS growth (default heap tracking) by stack. */
void model_add_heap(struct model *m, const struct model_heap *h);
void model_add_heap_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			     const char *pcomm, uint32_t stack, int64_t bytes, int64_t count);
/* Leak mode: interns h's thread and stack (bytes and count are not read) ... */
struct model_heap_site model_heap_site(struct model *m, const struct model_heap *h);
/* ... and adds allocated (positive) or freed (negative) bytes and blocks to a site. */
void model_add_alloc(struct model *m, struct model_heap_site site, int64_t bytes, int64_t count);
void model_add_alloc_resolved(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
			      const char *pcomm, uint32_t stack, int64_t bytes, int64_t count);
/* Adds to the open tick's heap figures; the mode is set, the counters summed. */
void model_add_heap_info(struct model *m, const struct tick_heap_info *info);
/* Leak mode's oldest outstanding blocks, oldest first, replacing the previous list; `stack` holds
 * the raw id of the block's site (site.raw). Copied. */
void model_set_heap_oldest(struct model *m, const struct model_heap_block *b, size_t n);
/* That list as of the last closed tick, with stack ids; borrowed until the next close. */
const struct model_heap_block *model_heap_oldest(const struct model *m, size_t *n);

/* A thread seen in /proc: keeps names known even for threads that were never sampled. */
void model_note_thread(struct model *m, uint32_t pid, uint32_t tid, const char *comm,
		       const char *pcomm);
/*
 * Process life from the kernel's side-band records (probes/sideband, probes/perf), in the order
 * they happened relative to the samples: pid exec'd — what it sampled so far is symbolized now
 * with the maps it had, then they are dropped (syms_exec()); ...
 */
void model_exec(struct model *m, uint32_t pid);
/* ... pid's main thread exited: its maps go after the next close, when what it sampled has been
 * symbolized. */
void model_process_gone(struct model *m, uint32_t pid);
/* The thread has exited: it keeps its name in the ticks it lived in. */
void model_thread_exit(struct model *m, uint32_t tid);
/* ... at exit_ns (the sources' clock): events of it that another ring brings later, but that
 * happened before, still count for it (threads_exit_at()). */
void model_thread_exit_at(struct model *m, uint32_t tid, uint64_t exit_ns);
/* ... also when no event named it yet: one that comes later finds it exited (threads_gone()). */
void model_thread_gone(struct model *m, uint32_t pid, uint32_t tid, uint64_t exit_ns);

/* The processes the last model_close_tick() forgot (they exited): what else keeps state per
 * process (the unwinder's address spaces) can let it go too. Borrowed until the next close. */
const uint32_t *model_forgotten(const struct model *m, size_t *n);

/*
 * A replay source: adds a tick as recorded (its figures, and counts whose thread and stack are
 * this model's indexes and stack ids) to the open tick, whose start becomes t->start_ns. The
 * source then closes it with model_close_tick(m, t->end_ns); t->seq and t->end_ns are not read.
 * Entries naming an unknown thread are dropped. t is borrowed for the call.
 */
void model_add_tick(struct model *m, const struct tick *t);

/*
 * The window starts at start_ns: what the open tick collected so far is dropped (sources that
 * attached one after another, each a little earlier than the last was ready), and samples taken
 * before start_ns are not counted later either. Then every tick has every source for all of its
 * time: samples never exceed what the frequency allows over the window, and a thread's states
 * never add up to more than it. Only before the first close: -EBUSY after. (A model never begun
 * takes every sample it is given.)
 */
int model_begin(struct model *m, uint64_t start_ns);

/* Closes the current tick at end_ns: symbolizes new stacks and appends it to the history. */
int model_close_tick(struct model *m, uint64_t end_ns);

/* A closed tick: the deltas of one interval. Borrowed from the model; valid while it stays in
 * the history (model_nr_ticks() newest ticks). */
struct tick_count {
	uint32_t thread; /* index into the thread table */
	uint32_t stack;  /* stack id */
	uint64_t count;  /* samples */
};

/* Heap growth by (thread, stack): signed bytes and count. */
struct tick_heap {
	uint32_t thread;
	uint32_t stack;
	int64_t bytes;
	int64_t count;
};

/* A process's memory at the end of a tick, and its change since its previous reading. */
struct tick_memory {
	uint32_t pid;
	uint32_t known;           /* bit MODEL_MEM_x: v[x] and d[x] are known */
	uint64_t v[MODEL_MEM_NR]; /* bytes */
	int64_t d[MODEL_MEM_NR];  /* change since the previous reading (0 for the first) */
};

struct tick {
	uint64_t seq;      /* 0 for the first tick */
	uint64_t start_ns; /* CLOCK_MONOTONIC */
	uint64_t end_ns;
	uint64_t samples;  /* total samples, including those without a stack */
	uint64_t truncated; /* samples whose stack is known to be incomplete */
	uint64_t lost[MODEL_LOST_NR];
	struct tick_count *counts; /* on-CPU samples, sorted by (thread, stack) */
	size_t nr_counts;
	struct tick_count *offcpu; /* blocked ns (count) by (thread, stack), sorted by key */
	size_t nr_offcpu;
	struct tick_count *wakes;  /* blocks by (thread, stack of the block and its waker,
				      stacks_add_wake()): the block's whole length, in the tick
				      it ended; sorted by key */
	size_t nr_wakes;
	struct tick_count *states; /* ns (count) by (thread, state): `stack` holds the
				      enum model_state; sorted by key */
	size_t nr_states;
	struct tick_heap *heap;     /* RSS growth by (thread, stack), sorted by key */
	size_t nr_heap;
	struct tick_heap *allocs;   /* leak mode: allocated minus freed by (thread, allocating
				       stack), sorted by key; entries that net to 0 are dropped */
	size_t nr_allocs;
	struct tick_memory *memory; /* processes whose memory changed (or was first read), by pid;
				       the total has every process's newest reading and the sum of
				       its changes */
	size_t nr_memory;
	struct tick_heap_info heap_info;
	struct tick_go *go;         /* Go processes: figures, goroutine groups and profiles that
				       changed (model/goroutines.h); NULL when none. Not in the
				       total: model/gowindow.h sums it */
};

/* Ticks closed so far that are still in the history (at most opts.history, fewer when their
 * bytes pass opts.history_bytes). */
size_t model_nr_ticks(const struct model *m);
/* ago = 0 is the newest tick; NULL when out of range. */
const struct tick *model_tick(const struct model *m, size_t ago);
/* Every tick ever closed, summed: what "since start" shows even after history rolled over. */
const struct tick *model_total(const struct model *m);
/* Monotonic time of the first sample or tick start, 0 before anything happened. */
uint64_t model_start_ns(const struct model *m);

/* What the model holds, in bytes, by part (the live view's memory budget, doctor). */
struct model_usage {
	size_t history;      /* the ticks kept */
	size_t nr_ticks;
	size_t totals;       /* since-start sums */
	size_t threads;      /* the thread table */
	uint32_t nr_threads;
	size_t stacks;       /* frames, stacks, raw stacks, names */
	uint32_t nr_stacks, nr_raws;
	size_t other;        /* the open tick, memory readings */
	size_t go;           /* the Go layer: goroutine groups (kept for good), Go's profiles */
	size_t syms;         /* the symbolizer's parsed binaries (not in model_usage_bytes()) */
	size_t nr_bins;
	uint64_t evicted;    /* binaries let go so far */
	uint64_t folded;     /* exited threads folded into "[exited]" rows so far */
	uint64_t raw_resets; /* times the raw stacks were forgotten */
	uint64_t stack_compactions; /* times the stacks were renumbered */
};

void model_usage(const struct model *m, struct model_usage *u);
/* While held (a paused view keeps thread indexes and stack ids of an old window), the budget
 * neither gives thread indexes out again nor renumbers stacks; the history still lets ticks go. */
void model_hold(struct model *m, bool hold);
/* Bumped each time the budget renumbered the stacks: stack and frame ids of before mean nothing
 * now (the recorder writes what it needs again). */
uint64_t model_stacks_epoch(const struct model *m);
/* A stack id of the given epoch as an id of now: the same id in the same epoch, its new id
 * after the one renumbering since (UINT32_MAX: let go), UINT32_MAX when more than one came since
 * (a view's selection across ticks). */
uint32_t model_stack_now(const struct model *m, uint64_t epoch, uint32_t stack);
/* A model fed by a replay (replay_bind()): the reader maps the file's frame and stack ids to this
 * model's for as long as it reads, so the budget never renumbers them (the file's stacks are
 * all kept; ticks and threads still go as budgeted). */
void model_keep_ids(struct model *m);
/* Their sum (syms aside). */
size_t model_usage_bytes(const struct model_usage *u);

struct threads *model_threads(const struct model *m);
struct stacks *model_stacks(const struct model *m);
/* The symbolizer the model was given (borrowed), or NULL. */
struct syms *model_syms(const struct model *m);
/* The Go layer: goroutines, GC and Go's own profiles of Go processes (model/goroutines.h). */
struct goroutines *model_goroutines(const struct model *m);
/* The raw stack of the newest on-CPU sample of thread tid (stands for a running goroutine's
 * stack), or UINT32_MAX when it was never sampled. */
uint32_t model_thread_last_raw(const struct model *m, uint32_t tid);

#endif
