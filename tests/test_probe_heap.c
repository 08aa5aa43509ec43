// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/heap on the real kernel, with the real model, symbolizer and DWARF unwinder, on the
 * heapgrow workload's known answers: a 1 MiB/s leak beside heavy malloc/free churn, memory mapped
 * with mmap(2) directly, and a program that frees everything — in the default (rss_stat) mode
 * and in leak mode (uprobes). Exits 77 (skipped) when this host cannot load BPF programs.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "model/growth.h"
#include "model/model.h"
#include "model/stacks.h"
#include "model/syms.h"
#include "model/unwind.h"
#include "model/window.h"
#include "probes/heap.h"
#include "probes/proc.h"

#define MIB (1024.0 * 1024.0)
#define RUN_SECONDS 6
#define SKIP_TICKS 1 /* start-up (the dynamic loader, first touches of the heap) */

static char workloads[PATH_MAX];
static struct syms *syms;
static struct unwind *unwinder;

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Forks heapgrow MODE SECONDS, waiting on a pipe until released (as flametop -- CMD does). */
static pid_t spawn(const char *mode, int secs, int *gate)
{
	char path[PATH_MAX + 16], arg[16];
	int fds[2];
	pid_t pid;

	snprintf(path, sizeof(path), "%s/heapgrow", workloads);
	snprintf(arg, sizeof(arg), "%d", secs);
	if (pipe2(fds, O_CLOEXEC))
		return -1;
	pid = fork();
	if (pid == 0) {
		char c;
		int null = open("/dev/null", O_WRONLY);

		close(fds[1]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (null >= 0)
			dup2(null, 1);
		if (read(fds[0], &c, 1) != 1)
			_exit(126);
		execl(path, path, mode, arg, (char *)NULL);
		_exit(127);
	}
	close(fds[0]);
	*gate = fds[1];
	return pid;
}

struct run {
	struct probe_heap *p;
	struct model *m;
	pid_t pid;
	double pair_ns;
	double ran_s; /* from release to exit */
	struct probe_heap_counters c; /* the probe's counters at the end */
};

/* opts.sample_bytes of the next run(): 0 is the default sampling */
static uint64_t sample_bytes;

/* flametop's loop in small: drain every 100 ms; each second read the target's memory, close the
 * heap probe's tick and the model's. Then the workload is reaped. */
static void run(struct run *r, const char *mode, bool exact)
{
	struct probe_heap_opts o = { .filter = true, .exact = exact, .stack_size = 16384,
				     .unwind = unwinder, .sample_bytes = sample_bytes };
	struct model_opts mo = { .syms = syms };
	uint64_t start, next;
	char err[512];
	int gate = -1, status;
	uint32_t pid;

	memset(r, 0, sizeof(*r));
	r->pid = spawn(mode, RUN_SECONDS, &gate);
	assert_true(r->pid > 0);
	pid = (uint32_t)r->pid;
	o.pids = &pid;
	o.nr_pids = 1;
	assert_int_equal(model_new(&mo, &r->m), 0);
	if (probe_heap_new(&o, &r->p, err, sizeof(err)))
		fail_msg("probe_heap_new: %s", err);
	r->pair_ns = probe_heap_pair_ns(r->p);
	assert_int_equal(write(gate, "g", 1), 1);
	close(gate);
	start = now_ns();
	next = start + 1000000000ull;
	while (waitpid(r->pid, &status, WNOHANG) == 0) {
		poll(NULL, 0, 100);
		probe_heap_drain(r->p, r->m);
		if (now_ns() >= next) {
			probe_proc_memory("/proc", pid, false, r->m);
			probe_heap_tick(r->p, r->m, now_ns());
			model_close_tick(r->m, now_ns());
			next += 1000000000ull;
		}
		assert_true(now_ns() < start + (RUN_SECONDS + 10) * 1000000000ull);
	}
	if (getenv("HEAP_DEBUG"))
		print_message("status %x ticks %zu took %.2f s\n", status, model_nr_ticks(r->m),
			      (now_ns() - start) / 1e9);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	r->ran_s = (now_ns() - start) / 1e9;
	probe_heap_tick(r->p, r->m, now_ns());
	model_close_tick(r->m, now_ns());
	probe_heap_counters(r->p, &r->c);
}

static void free_run(struct run *r)
{
	probe_heap_free(r->p);
	model_free(r->m);
}

/* Whether a stack has fn among its frames. */
static bool has(const struct model *m, uint32_t stack, const char *fn)
{
	const struct stacks *st = model_stacks(m);
	uint32_t nr;
	const uint32_t *f = stacks_frames(st, stack, &nr);

	for (uint32_t i = 0; i < nr; i++)
		if (!strcmp(stacks_frame(st, f[i])->function, fn))
			return true;
	return false;
}

/*
 * Bytes of the stacks through fn0 and fn1, of all stacks, and whether the stack with most growth
 * goes through fn0: over the whole run (every event drained, however late; divided by the time
 * the workload ran, so a drain that lags behind a busy allocator moves nothing), or over the
 * ticks between the start-up tick and the last, partial one (/proc's memory readings too).
 */
struct sums {
	double secs;
	double bytes_fn[2];
	double total;
	double anon; /* RssAnon growth of the workload over the same ticks, from /proc */
	bool top_has_fn0;
};

static void sum_ticks(const struct run *r, bool allocs, bool whole, const char *fn0,
		      const char *fn1, struct sums *s)
{
	size_t nt = model_nr_ticks(r->m);
	struct growth g;

	memset(s, 0, sizeof(*s));
	growth_init(&g);
	for (size_t ago = whole ? 0 : 1; ago + (whole ? 0 : SKIP_TICKS) < nt; ago++) {
		const struct tick *t = model_tick(r->m, ago);
		const struct tick_heap *v = allocs ? t->allocs : t->heap;
		size_t n = allocs ? t->nr_allocs : t->nr_heap;

		s->secs += (t->end_ns - t->start_ns) / 1e9;
		for (size_t i = 0; i < t->nr_memory; i++)
			if (t->memory[i].pid == (uint32_t)r->pid)
				s->anon += (double)t->memory[i].d[MODEL_MEM_ANON];
		for (size_t i = 0; i < n; i++)
			growth_add(&g, 0, v[i].stack, v[i].bytes, v[i].count);
	}
	growth_sort_by_bytes(&g);
	for (size_t i = 0; i < g.nr; i++) {
		double b = (double)g.v[i].bytes;

		s->total += b;
		if (fn0 && has(r->m, g.v[i].stack, fn0))
			s->bytes_fn[0] += b;
		if (fn1 && has(r->m, g.v[i].stack, fn1))
			s->bytes_fn[1] += b;
	}
	s->top_has_fn0 = g.nr && fn0 && has(r->m, g.v[0].stack, fn0);
	if (whole)
		s->secs = r->ran_s;
	for (size_t i = 0; getenv("HEAP_DEBUG") && i < g.nr; i++) {
		uint32_t nf;
		const uint32_t *f = stacks_frames(model_stacks(r->m), g.v[i].stack, &nf);

		print_message("  %lld bytes %lld n:", (long long)g.v[i].bytes,
			      (long long)g.v[i].count);
		for (uint32_t j = nf > 6 ? nf - 6 : 0; j < nf; j++)
			print_message(" %s", stacks_frame(model_stacks(r->m), f[j])->function);
		print_message("\n");
	}
	growth_fini(&g);
}

static void sum(const struct run *r, bool allocs, const char *fn0, const char *fn1, struct sums *s)
{
	sum_ticks(r, allocs, true, fn0, fn1, s);
}

static void report(const char *what, const struct sums *s)
{
	print_message("%s: %.2f s: first %.3f MiB/s, second %.3f MiB/s, all %.3f MiB/s\n", what,
		      s->secs, s->bytes_fn[0] / MIB / s->secs, s->bytes_fn[1] / MIB / s->secs,
		      s->total / MIB / s->secs);
}

static void assert_about(double got, double want, double slack)
{
	assert_true(got >= want * (1 - slack) && got <= want * (1 + slack));
}

/* Default mode: the leak is the top growth stack at 1 MiB/s ±30 %; the churn shows ~0. */
static void test_probe_heap_leak_growth(void **state)
{
	struct run r;
	struct sums s;

	run(&r, "leak", false);
	sum(&r, false, "leak_here", "churn_here", &s);
	report("growth: leak_here, churn_here", &s);
	assert_true(s.top_has_fn0);
	assert_about(s.bytes_fn[0] / MIB / s.secs, 1.0, 0.3);
	assert_true(s.bytes_fn[1] / MIB / s.secs < 0.05);
	/* /proc's counters are the kernel's batched ones: close, not exact, over a few seconds */
	sum_ticks(&r, false, false, "leak_here", NULL, &s);
	print_message("RssAnon grew %.3f MiB/s\n", s.anon / MIB / s.secs);
	assert_about(s.anon / MIB / s.secs, 1.0, 0.4);
	/* growth does not load leak mode's uprobe programs: it cannot be switched to it */
	assert_int_equal(probe_heap_exact(r.p, (uint32_t)getpid(), NULL, 0), -EINVAL);
	free_run(&r);
}

/* Leak mode: the leak is outstanding at 1 MiB/s from leak_here; the churn nets to nothing. */
static void test_probe_heap_leak_exact(void **state)
{
	struct run r;
	struct sums s;
	struct window w;

	run(&r, "leak", true);
	sum(&r, true, "leak_here", "churn_here", &s);
	report("exact: leak_here, churn_here", &s);
	print_message("measured cost: %.0f ns per malloc/free pair\n", r.pair_ns);
	assert_true(s.top_has_fn0);
	assert_about(s.bytes_fn[0] / MIB / s.secs, 1.0, 0.3);
	assert_true(s.bytes_fn[1] / MIB / s.secs < 0.01);
	window_init(&w);
	window_sum(&w, r.m, 0);
	assert_int_equal(w.heap_info.mode, MODEL_HEAP_EXACT);
	assert_true(w.heap_info.calls > 100000); /* the churn was traced */
	assert_true(w.heap_info.live_blocks >= 16 * (RUN_SECONDS - 1));
	assert_true(w.heap_info.cost_ns > 0);
	{
		size_t n;
		const struct model_heap_block *b = model_heap_oldest(r.m, &n);

		size_t leaks = 0;

		/* the oldest live blocks: stdio's buffer and the like, then the leak's, in order */
		assert_true(n > 8);
		for (size_t i = 0; i < n; i++) {
			leaks += has(r.m, b[i].stack, "leak_here");
			if (i)
				assert_true(b[i].time_ns >= b[i - 1].time_ns);
		}
		assert_true(leaks >= n / 2);
	}
	window_fini(&w);
	free_run(&r);
}

/* mmap(2) directly: no allocator involved, still 1 MiB/s from mmap_here. */
static void test_probe_heap_mmap(void **state)
{
	struct run r;
	struct sums s;

	run(&r, "mmap", false);
	sum(&r, false, "mmap_here", NULL, &s);
	report("growth: mmap_here", &s);
	assert_true(s.top_has_fn0);
	assert_about(s.bytes_fn[0] / MIB / s.secs, 1.0, 0.3);
	free_run(&r);
}

/*
 * Growth sampled by bytes (the default) against every change of the counters, on the same
 * workload (1 MiB/s mapped and touched by mmap_here): a stack for every ~512 KiB instead of
 * every fold of a CPU's batch (128 KiB and up) — at most one record per 256 KiB, the threshold's
 * low end — while the bytes add up the same: what was not sampled when the process exited comes
 * as a record without a stack.
 */
static void test_probe_heap_sampled(void **state)
{
	struct run r;
	struct sums every, sampled;
	uint64_t records;

	sample_bytes = 1;
	run(&r, "mmap", false);
	sample_bytes = 0;
	sum(&r, false, "mmap_here", NULL, &every);
	report("every change: mmap_here", &every);
	records = r.c.records;
	print_message("every change: %llu records, %llu folded\n", (unsigned long long)r.c.records,
		      (unsigned long long)r.c.unsampled);
	assert_int_equal(r.c.unsampled, 0);
	free_run(&r);

	run(&r, "mmap", false);
	sum(&r, false, "mmap_here", NULL, &sampled);
	report("sampled: mmap_here", &sampled);
	print_message("sampled: %llu records, %llu folded\n", (unsigned long long)r.c.records,
		      (unsigned long long)r.c.unsampled);
	assert_true(sampled.top_has_fn0);
	assert_true(r.c.unsampled > 0);
	assert_true(r.c.records * 2 <= records);
	assert_true((double)r.c.records <= sampled.total / (256 * 1024.0) + 4);
	/* exact in sum: the same bytes a second either way (each run's own pace) */
	assert_about(sampled.total / sampled.secs, every.total / every.secs, 0.1);
	assert_about(sampled.bytes_fn[0] / MIB / sampled.secs, 1.0, 0.3);
	free_run(&r);
}

/*
 * Growth records carry stack copies. A ring that user space is late to drain (flametop stopped,
 * or starved of CPU on a busy host: 625 records lost in a 9 s stop under bench/churn's
 * pipelines) lost records, and the growth in them. Copies now fill half the ring at most and
 * the records past half go without theirs. heapgrow remap (64 MiB mapped, written and unmapped
 * over and over), every change a record, is left undrained until its records would have filled
 * the ring three times over at 1 KiB each (with their copies they are ~640 bytes, without
 * ~140); then the ring is drained:
 * nothing was lost, the records past half the ring came without copies, every record arrived.
 */
/* heapgrow remap for 30 s, traced with every change a record and 16 KiB copies, under way; its
 * pid in *pid (the probe's target list), a model for it in *m. */
static pid_t start_remap(uint32_t *pid, struct model **m, struct probe_heap **p)
{
	struct probe_heap_opts o = { .filter = true, .stack_size = 16384, .unwind = unwinder,
				     .sample_bytes = 1, .pids = pid, .nr_pids = 1 };
	struct model_opts mo = { .syms = syms };
	char err[512];
	int gate = -1;
	pid_t child = spawn("remap", 30, &gate);

	assert_true(child > 0);
	*pid = (uint32_t)child;
	assert_int_equal(model_new(&mo, m), 0);
	if (probe_heap_new(&o, p, err, sizeof(err)))
		fail_msg("probe_heap_new: %s", err);
	assert_int_equal(write(gate, "g", 1), 1);
	close(gate);
	return child;
}

/* Drains the probe's ring empty; how many records it delivered. */
static uint64_t drain_all(struct probe_heap *p, struct model *m)
{
	uint64_t delivered = 0;

	for (int i = 0; i < 1000; i++) {
		int n = probe_heap_drain(p, m);

		assert_true(n >= 0);
		delivered += (uint64_t)n;
		if (!n && !probe_heap_behind(p))
			break;
	}
	return delivered;
}

static void test_probe_heap_full_ring_drops_copies_not_records(void **state)
{
	struct probe_heap_counters c;
	struct model *m;
	struct probe_heap *p;
	uint64_t want, delivered, until = now_ns() + 20000000000ull;
	uint32_t pid;
	pid_t child;

	(void)state;
	child = start_remap(&pid, &m, &p);
	want = 3 * probe_heap_ring_bytes(p) / 1024;
	do {
		poll(NULL, 0, 100);
		probe_heap_counters(p, &c);
	} while (c.records < want && now_ns() < until);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	delivered = drain_all(p, m);
	probe_heap_counters(p, &c);
	print_message("ring %zu KiB undrained: %" PRIu64 " records (%" PRIu64 " wanted), %" PRIu64
		      " without their copy, %" PRIu64 " lost, %" PRIu64 " delivered\n",
		      probe_heap_ring_bytes(p) >> 10, c.records, want, c.copy_dropped,
		      c.ringbuf_lost, delivered);
	if (c.records < want) {
		/* a host too busy to run heapgrow this long has not filled the ring: no answer */
		probe_heap_free(p);
		model_free(m);
		skip();
	}
	assert_int_equal(c.ringbuf_lost, 0);
	assert_true(c.copy_dropped > 0);
	assert_int_equal(delivered, c.records);
	probe_heap_free(p);
	model_free(m);
}

/*
 * Growth from before the window began is not the window's: a backlog left in the ring while the
 * other probes start (on a churning host, the growth of every process started meanwhile) is
 * consumed without a stack walk each. heapgrow remap, every change a record, runs undrained for
 * half a second and is killed; then the window begins and the ring is drained: every record
 * arrived, none was walked, and the window has no growth.
 */
static void test_probe_heap_backlog_not_walked(void **state)
{
	struct unwind_stats before, after;
	struct probe_heap_counters c;
	struct model *m;
	struct probe_heap *p;
	uint64_t delivered, walks;
	uint32_t pid;
	pid_t child;

	(void)state;
	child = start_remap(&pid, &m, &p);
	poll(NULL, 0, 500);
	kill(child, SIGKILL);
	assert_int_equal(waitpid(child, NULL, 0), child);
	unwind_stats(unwinder, &before);
	assert_int_equal(model_begin(m, now_ns()), 0);
	delivered = drain_all(p, m);
	unwind_stats(unwinder, &after);
	walks = after.dwarf + after.fp - before.dwarf - before.fp;
	probe_heap_tick(p, m, now_ns());
	model_close_tick(m, now_ns());
	probe_heap_counters(p, &c);
	print_message("%" PRIu64 " records, %" PRIu64 " delivered, %" PRIu64 " walked, %zu growth "
		      "stacks in the window\n",
		      c.records, delivered, walks, model_tick(m, 0)->nr_heap);
	assert_true(delivered >= 20); /* half a second of remap: the backlog */
	assert_int_equal(delivered, c.records);
	assert_int_equal(walks, 0);
	assert_int_equal(model_tick(m, 0)->nr_heap, 0);
	probe_heap_free(p);
	model_free(m);
}

/* Frees everything: no growth, in either mode. */
static void test_probe_heap_freeall(void **state)
{
	struct run r;
	struct sums s;

	run(&r, "freeall", false);
	sum(&r, false, NULL, NULL, &s);
	report("growth: freeall", &s);
	/* glibc keeps some of the heap's top after the first round, and a round (1 MiB in, 1 MiB
	 * out) may be cut by the end: what is left is far below the leak's 1 MiB/s */
	assert_true(fabs(s.total / MIB / s.secs) < 0.3);
	sum_ticks(&r, false, false, NULL, NULL, &s);
	print_message("RssAnon grew %.3f MiB/s\n", s.anon / MIB / s.secs);
	assert_true(s.anon / MIB / s.secs < 0.3);
	free_run(&r);

	run(&r, "freeall", true);
	sum(&r, true, NULL, NULL, &s);
	report("exact: freeall", &s);
	/* a round straddling the window's edges leaves at most its 1 MiB in or out */
	assert_true(fabs(s.total) <= 1.05 * MIB);
	free_run(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_heap_leak_growth),
		cmocka_unit_test(test_probe_heap_leak_exact),
		cmocka_unit_test(test_probe_heap_mmap),
		cmocka_unit_test(test_probe_heap_sampled),
		cmocka_unit_test(test_probe_heap_freeall),
		cmocka_unit_test(test_probe_heap_full_ring_drops_copies_not_records),
		cmocka_unit_test(test_probe_heap_backlog_not_walked),
	};
	struct syms_opts so = { .proc_root = "/proc" };
	struct probe_heap_opts o = { .filter = true };
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	struct probe_heap *p;
	char err[512];
	int ret;

	if (!dir) {
		fprintf(stderr, "FLAMETOP_WORKLOADS is not set (run through meson test)\n");
		return 1;
	}
	snprintf(workloads, sizeof(workloads), "%s", dir);
	if (probe_heap_new(&o, &p, err, sizeof(err))) {
		fprintf(stderr, "skipping: %s\n", err);
		return 77;
	}
	probe_heap_free(p);
	if (syms_new(&so, &syms) || unwind_new(syms, UNWIND_AUTO, &unwinder)) {
		fprintf(stderr, "cannot start the symbolizer or the unwinder\n");
		return 1;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
	unwind_free(unwinder);
	syms_free(syms);
	return ret;
}
