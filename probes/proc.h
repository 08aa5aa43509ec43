// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/proc: processes and threads from /proc (works with no privileges at all). All readers
 * take the /proc root as a path so tests run against fixtures in tests/data/.
 */
#ifndef PROBES_PROC_H
#define PROBES_PROC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;

struct proc_thread {
	uint32_t pid, tid;
	char comm[16];       /* thread name */
	char pcomm[16];      /* process name (main thread's comm) */
	char state;          /* R, S, D, Z, T, I, ... */
	uint32_t ppid;       /* parent process */
	uint64_t utime_ticks, stime_ticks;
	uint64_t start_ticks; /* starttime field: tells a reused tid from the old thread */
	uint32_t nr_threads;  /* num_threads field: the threads of its process */
};

/* Parses the content of /proc/PID/task/TID/stat into *t (pid, tid, comm, state, times).
 * The line only knows the thread: pid and tid are both set to its first field, and pcomm is
 * left empty (probe_proc_read_thread() fills both in). buf need not be NUL-terminated.
 * Returns 0 or -EINVAL for malformed input. */
int probe_proc_parse_stat(const char *buf, size_t len, struct proc_thread *t);
/* Reads one thread. -ENOENT/-ESRCH when it is gone. */
int probe_proc_read_thread(const char *proc_root, uint32_t pid, uint32_t tid,
			   struct proc_thread *t);
/* Calls fn for every thread of pid (pid 0: every thread of every process). Returns the number
 * of threads seen or -errno. */
int probe_proc_scan(const char *proc_root, uint32_t pid,
		    void (*fn)(const struct proc_thread *t, void *arg), void *arg);
/* Scans and notes every thread in the model. */
int probe_proc_update(const char *proc_root, uint32_t pid, struct model *m);
/* True when /proc/PID exists. */
bool probe_proc_exists(const char *proc_root, uint32_t pid);

/*
 * Memory of processes (struct model_memory, bytes). /proc/PID/status has every field (RssAnon,
 * RssFile, RssShmem, VmSwap, VmRSS, VmSize; 14-18 µs a read); /proc/PID/statm is about twice as
 * cheap but knows only the size, the resident set and its shared (file + shmem) part: anon is
 * resident - shared there, and swap is unknown. Parsers take the file's bytes (not necessarily
 * NUL-terminated) and return 0 or -EINVAL; a status without any of the fields is malformed (a
 * kernel thread's has none: -ENODATA).
 */
struct model_memory;
int probe_proc_parse_status_memory(const char *buf, size_t len, struct model_memory *mem);
int probe_proc_parse_statm(const char *buf, size_t len, uint64_t page_size,
			   struct model_memory *mem);
/* Reads pid's memory (status, or statm when cheap) into the model. 0 or -errno (-ENOENT, -ESRCH:
 * gone; -ENODATA: a kernel thread). */
int probe_proc_memory(const char *proc_root, uint32_t pid, bool cheap, struct model *m);
/* Every process's memory (statm) into the model, once. Returns processes read or -errno. */
int probe_proc_memory_all(const char *proc_root, struct model *m);

/*
 * The same every tick, for the whole system: the /proc root and each process's statm stay open
 * between ticks (at most 1024 of them, and a quarter of RLIMIT_NOFILE), so a process seen before
 * costs one read. Figures are those a fresh open reads: a kept statm whose process exited is
 * opened anew when its pid names another process. probe_proc_mem_tick() returns the processes
 * read or -errno; probe_proc_mem_kept() how many statm are open.
 */
struct probe_proc_mem;
int probe_proc_mem_new(const char *proc_root, struct probe_proc_mem **out);
int probe_proc_mem_tick(struct probe_proc_mem *pm, struct model *m);
size_t probe_proc_mem_kept(const struct probe_proc_mem *pm);
void probe_proc_mem_free(struct probe_proc_mem *pm);

#endif
