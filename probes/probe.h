// SPDX-License-Identifier: GPL-2.0-only
/*
 * What every probe loader shares: keeping libbpf off the terminal while remembering its first
 * warning for error messages, one-line error formatting, small readers of kernel settings, and
 * the pieces every BPF probe has: the clock, the possible CPUs, the ring's size, the per-CPU
 * "counters" map and the "targets" map (probes/targets.bpf.h is their kernel side).
 */
#ifndef PROBES_PROBE_H
#define PROBES_PROBE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * libbpf must never write to the terminal (the TUI owns it): its messages are dropped, except the
 * first warning after probe_libbpf_quiet(), which probe_err_libbpf() quotes.
 * FLAMETOP_LIBBPF_DEBUG=1 sends everything to stderr instead. Call before each open/load.
 */
void probe_libbpf_quiet(void);
/* Formats a one-line error into err (no-op when err is NULL or errlen 0). */
void probe_err(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
/* Appends " (<libbpf's first warning>)" to err when libbpf said something. */
void probe_err_libbpf(char *err, size_t errlen);
/* Reads the first line of a small file (a sysctl), without its newline. 0 or -errno. */
int probe_read_line(const char *path, char *buf, size_t len);
/* Marks online[cpu] for cpu < nr from /sys/devices/system/cpu/online; every CPU when unknown. */
void probe_online_cpus(bool *online, int nr);
/* Parses a kernel CPU list ("0-3,5,7-8") into online[]. 0 or -EINVAL. */
int probe_parse_cpu_list(const char *s, bool *online, int nr);

/* CLOCK_MONOTONIC now, in ns: the clock of bpf_ktime_get_ns() and of the model's times. */
uint64_t probe_now_ns(void);
/*
 * How long one drain of a ring may run. At a high rate (-F 20000 on every CPU) a ring fills
 * faster than records are unwound, and a drain that ran until the ring was empty never
 * returned: the poll loop must get back to signals, keys and ticks whatever the rate. A drain
 * stops when its budget is spent (time checked every PROBE_DRAIN_CHECK records); what it left
 * waits for the next turn of the loop, which comes at once, and what the ring cannot hold
 * meanwhile the BPF side counts as lost.
 */
#define PROBE_DRAIN_NS 20000000ull /* 20 ms */
#define PROBE_DRAIN_CHECK 1 /* a record can cost a DWARF walk (~10 us; a new process's first:
			       its maps and unwind tables) next to ~25 ns for the clock */
struct probe_budget {
	uint64_t until;
	uint32_t n;
	bool spent; /* the last drain stopped with records left */
};

/* Starts a drain's budget. */
void probe_budget_start(struct probe_budget *b);
/* After a record: true when the drain must stop now (and b->spent is set). */
bool probe_budget_over(struct probe_budget *b);

/* The possible CPUs (per-CPU map values come one per possible CPU), or -errno with err set. */
int probe_possible_cpus(char *err, size_t errlen);
/* 0 when the kernel has BTF (CO-RE needs it); else -EOPNOTSUPP (it has none) or -errno, with
 * err saying so. */
int probe_check_btf(char *err, size_t errlen);
/* A BPF ring buffer's size for want bytes: a power of two from 4 to 64 MiB. */
size_t probe_ring_size(size_t want);
/*
 * Sums the values of entry 0 of the per-CPU array map_fd, a struct of size bytes made of __u64
 * counters only, over nr_cpus CPUs into sum (zeroes when the lookup fails). percpu is the
 * caller's scratch for nr_cpus such structs.
 */
void probe_sum_percpu(int map_fd, void *percpu, int nr_cpus, size_t size, void *sum);
/* Makes pid a target: value into the probe's "targets" map. -EINVAL when the probe does not
 * filter or pid is 0, else 0 or -errno. */
int probe_add_target(int map_fd, bool filter, uint32_t pid, const void *value);

#endif
