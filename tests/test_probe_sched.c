// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/sched on the real kernel: the states workload (threads that each spend their time one
 * known way) and four spinners on the CPUs, through the real model and symbolizer. Exits 77
 * (skipped) when this host cannot load BPF programs at all, after saying why.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
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
#include <sys/wait.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/stacks.h"
#include "model/syms.h"
#include "model/threads.h"
#include "model/unwind.h"
#include "model/window.h"
#include "probes/sched.h"

#define SETTLE_TICKS 1 /* ticks at the start that are not judged (start-up) */

static char workloads[PATH_MAX], scratch_dir[PATH_MAX];
static struct syms *syms;
static struct unwind *unwinder; /* DWARF walks of block stack copies, as flametop's default */
static long nr_cpus;
static char waiter_stack[8192]; /* the waiter's top block stack, from the tp_btf mix run */

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

/* Starts `states SECONDS MODE DIR` and waits for its "ready" line (files made, threads up). */
static pid_t start_states(const char *secs, const char *mode)
{
	char path[PATH_MAX + 16], line[64];
	int fds[2];
	pid_t pid;
	FILE *f;

	snprintf(path, sizeof(path), "%s/states", workloads);
	assert_int_equal(pipe2(fds, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		dup2(fds[1], 1);
		execl(path, path, secs, mode, scratch_dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (!fgets(line, sizeof(line), f) || strcmp(line, "ready\n"))
		fail_msg("%s did not start", path);
	fclose(f);
	return pid;
}

static void reap(pid_t pid)
{
	int status;

	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
}

/*
 * Ends a workload started to outlive the probe's start-up: on a machine with a hundred runnable
 * threads per CPU, loading and seeding the probe took 4.4 s, and a workload meant to run 6 s was
 * gone before the judged ticks (its threads showed half their window).
 */
static void stop_workload(pid_t pid)
{
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, NULL, 0), pid);
}

struct run {
	struct probe_sched *p;
	struct model *m;
	double busy0, t0; /* host CPU seconds busy, and the time, when judging starts */
};

/* CPU time (all CPUs, seconds) spent not idle, from /proc/stat. */
static double busy_seconds(void)
{
	unsigned long long v[8] = { 0 };
	long hz = sysconf(_SC_CLK_TCK);
	FILE *f = fopen("/proc/stat", "re");
	int n;

	if (!f)
		return 0;
	n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3],
		   &v[4], &v[5], &v[6], &v[7]);
	fclose(f);
	if (n != 8)
		return 0;
	return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)hz;
}

/*
 * CPUs used by everything but the target during the judged window: the machine is shared (other
 * tests, other people), and CPU shares are only known answers on the CPUs left over.
 */
static double others_cpus(struct run *r, const struct window *w, uint32_t pid)
{
	const struct threads *th = model_threads(r->m);
	double secs = now_ns() / 1e9 - r->t0, ours = 0, host;

	for (uint32_t i = 0; i < w->nr_threads; i++)
		if (threads_get(th, i)->pid == pid)
			ours += w->thread_states[i][MODEL_STATE_RUNNING] / 1e9;
	host = busy_seconds() - r->busy0;
	print_message("host busy %.2f CPUs, the target %.2f\n", host / secs, ours / secs);
	return secs > 0 && host > ours ? (host - ours) / secs : 0;
}

static void new_run(struct run *r, const struct probe_sched_opts *in)
{
	struct model_opts mo = { .syms = syms };
	struct probe_sched_opts o = *in;
	char err[512];

	memset(r, 0, sizeof(*r));
	assert_int_equal(model_new(&mo, &r->m), 0);
	/* flametop's defaults: --unwind auto, --stack-size 16 KiB */
	o.unwind = unwinder;
	o.stack_size = unwinder ? 16384 : 0;
	o.syms = syms; /* lock or wait, by the names of a futex wait's frames */
	if (probe_sched_new(&o, &r->p, err, sizeof(err)))
		fail_msg("probe_sched_new: %s", err);
}

static void free_run(struct run *r)
{
	probe_sched_free(r->p);
	model_free(r->m);
}

/* flametop's loop in small: drain every 100 ms, states and a tick every second. Judging starts
 * after the first `settle` ticks. */
static void run_ticks(struct run *r, int ticks, int settle)
{
	struct pollfd pfd = { .fd = probe_sched_fd(r->p), .events = POLLIN };
	uint64_t next = now_ns() + 1000000000ull;

	for (int t = 0; t < ticks;) {
		uint64_t now;

		poll(&pfd, 1, 100);
		assert_true(probe_sched_drain(r->p, r->m) >= 0);
		now = now_ns();
		if (now >= next) {
			assert_true(probe_sched_tick(r->p, r->m, now) >= 0);
			model_close_tick(r->m, now);
			next += 1000000000ull;
			if (++t == settle) {
				r->busy0 = busy_seconds();
				r->t0 = now_ns() / 1e9;
			}
		}
	}
}

/* The window over the last n ticks; the thread of pid named comm (NULL: none). */
static const struct thread *find(struct run *r, const struct window *w, uint32_t pid,
				 const char *comm, uint32_t *idx)
{
	const struct threads *th = model_threads(r->m);

	for (uint32_t i = 0; i < w->nr_threads; i++) {
		const struct thread *t = threads_get(th, i);

		if (t->pid == pid && !strcmp(t->comm, comm)) {
			*idx = i;
			return t;
		}
	}
	return NULL;
}

static double pct(const struct window *w, uint32_t idx, enum model_state s)
{
	uint64_t len = w->end_ns - w->start_ns;

	return len ? 100.0 * w->thread_states[idx][s] / len : 0;
}

static void print_states(const struct window *w, uint32_t idx, const char *comm)
{
	print_message("%-8s", comm);
	for (int s = 0; s < MODEL_STATE_NR; s++)
		print_message(" %s %5.1f%%", model_state_name(s), pct(w, idx, s));
	print_message("\n");
}

/*
 * Asserts thread `comm` spent at least min % of the window in state s (and all of it, ~100 %).
 * Other than running and runnable, the share is of the time it was not waiting for a CPU: on a
 * busy machine a thread woken every 50-100 ms waits a while for one each time, which says
 * nothing about where it blocks.
 */
static uint32_t expect(struct run *r, const struct window *w, uint32_t pid, const char *comm,
		       enum model_state s, double min)
{
	uint32_t idx;
	double sum = 0, got, of = 100;

	if (!find(r, w, pid, comm, &idx))
		fail_msg("no thread %s in pid %u", comm, pid);
	print_states(w, idx, comm);
	for (int k = 0; k < MODEL_STATE_NR; k++)
		sum += pct(w, idx, k);
	if (sum < 97 || sum > 103)
		fail_msg("%s: its states add up to %.1f%% of the window, not ~100%%", comm, sum);
	if (s != MODEL_STATE_RUNNING && s != MODEL_STATE_RUNNABLE)
		of = 100 - pct(w, idx, MODEL_STATE_RUNNABLE);
	got = of > 0 ? 100 * pct(w, idx, s) / of : 0;
	if (got < min)
		fail_msg("%s: %.1f%% %s (of the %.1f%% not waiting for a CPU), expected at least "
			 "%.0f%%", comm, got, model_state_name(s), of, min);
	return idx;
}

/* The biggest block hot spot of thread idx: its frames' names, leaf last, into buf. */
static uint64_t top_block(struct run *r, const struct window *w, uint32_t idx, char *buf,
			  size_t len)
{
	const struct stacks *st = model_stacks(r->m);

	buf[0] = '\0';
	for (size_t i = 0; i < w->nr_offcpu; i++) {
		uint32_t nr;
		const uint32_t *frames;
		size_t n = 0;

		if (w->offcpu[i].thread != idx)
			continue;
		frames = stacks_frames(st, w->offcpu[i].stack, &nr);
		for (uint32_t j = 0; j < nr && n + 1 < len; j++)
			n += snprintf(buf + n, len - n, "%s%s", j ? ";" : "",
				      stacks_frame(st, frames[j])->function);
		return w->offcpu[i].count;
	}
	return 0;
}

/*
 * Each thread of the mix spends its time as designed. The workload starts before the probe, so
 * this also covers threads that are mid-sleep when it attaches (seeded from /proc).
 */
static void check_mix(bool raw)
{
	struct probe_sched_opts o = { 0 };
	struct probe_sched_counters c;
	struct run r;
	struct window w;
	char stack[8192];
	uint32_t idx;
	uint64_t ns;
	pid_t pid;

	if (raw)
		setenv("FLAMETOP_SCHED_RAW_TP", "1", 1);
	pid = start_states("60", "mix");
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	unsetenv("FLAMETOP_SCHED_RAW_TP");
	assert_string_equal(probe_sched_mode(r.p), raw ? "raw_tp" : "tp_btf");
	run_ticks(&r, 5, SETTLE_TICKS);
	window_init(&w);
	window_sum(&w, r.m, 5 - SETTLE_TICKS);

	/* the spinner never blocks: it runs or waits for a CPU */
	idx = expect(&r, &w, pid, "spinner", MODEL_STATE_RUNNING, 0);
	assert_true(pct(&w, idx, MODEL_STATE_RUNNING) + pct(&w, idx, MODEL_STATE_RUNNABLE) > 97);
	expect(&r, &w, pid, "sleeper", MODEL_STATE_SLEEP, 90);
	expect(&r, &w, pid, "poller", MODEL_STATE_POLL, 90);
	idx = expect(&r, &w, pid, "waiter", MODEL_STATE_LOCK, 70);
	{
		uint32_t rd;

		find(&r, &w, pid, "reader", &rd);
		expect(&r, &w, pid, "reader", MODEL_STATE_IO, 0);
		/* io dominant: more than any other state of that thread but running or waiting
		 * for a CPU (which depend on how busy the machine is) */
		for (int k = MODEL_STATE_LOCK; k < MODEL_STATE_NR; k++)
			if (k != MODEL_STATE_IO && pct(&w, rd, k) >= pct(&w, rd, MODEL_STATE_IO))
				fail_msg("reader: %s %.1f%% >= io %.1f%%", model_state_name(k),
					 pct(&w, rd, k), pct(&w, rd, MODEL_STATE_IO));
	}

	/* the waiter's hot spot is the lock, blocked about as long as its lock state says */
	ns = top_block(&r, &w, idx, stack, sizeof(stack));
	print_message("waiter's top block: %.0f ms: %s\n", ns / 1e6, stack);
	assert_non_null(strstr(stack, ";[lock]"));
	assert_true(ns >= w.thread_states[idx][MODEL_STATE_LOCK] * 0.8);
	assert_non_null(strstr(stack, "futex"));
	probe_sched_counters(r.p, &c);
	print_message("switches %" PRIu64 " wakeups %" PRIu64 " blocks %" PRIu64
		      " ringbuf_lost %" PRIu64 " no_stack %" PRIu64 " threads %" PRIu64
		      " ustacks %" PRIu64 " ustack_lost %" PRIu64 " ustack_miss %" PRIu64 "\n",
		      c.switches, c.wakeups, c.blocks, c.ringbuf_lost, c.no_stack, c.threads,
		      c.ustacks, c.ustack_lost, c.ustack_miss);
	assert_int_equal(c.ringbuf_lost + c.threads_full + c.stacks_full, 0);
	/* the blocks under way at attach (the sleeper's, the poller's...) had no stacks to lose */
	assert_int_equal(c.no_stack, 0);
	/* seeded by the kernel with tp_btf, from /proc with raw_tp: both give these answers */
	print_message("seeded by the kernel %" PRIu64 ", from /proc %" PRIu64 "\n",
		      c.seeded_kernel, c.seeded_proc);
	assert_true(raw ? c.seeded_proc >= 7 : c.seeded_kernel >= 7);
	if (!raw)
		snprintf(waiter_stack, sizeof(waiter_stack), "%s", stack);
	/*
	 * It runs >= 90 % when a CPU is left for it: only judged on a quiet host. With 0.25 CPUs of
	 * other work next to the mix's own reader and waiter (2 CPUs), the scheduler left it
	 * waiting 15 % of the time (measured on a shared machine).
	 */
	if (others_cpus(&r, &w, pid) < 0.1)
		expect(&r, &w, pid, "spinner", MODEL_STATE_RUNNING, 90);
	else
		print_message("the host is busy: spinner's share not judged\n");
	window_fini(&w);
	stop_workload(pid);
	free_run(&r);
}

static void test_probe_sched_mix_tp_btf(void **state)
{
	check_mix(false);
}

static void test_probe_sched_mix_raw_tp(void **state)
{
	check_mix(true);
}

/*
 * The waiter's block hot spot names the function that called pthread_mutex_lock. Frame pointers
 * cannot get there through Debian's libc, which is built without them (FIELD-NOTES): the DWARF
 * walk of the stack copied when the waiter blocked does.
 */
static void test_probe_sched_lock_names_caller(void **state)
{
	if (!waiter_stack[0])
		fail_msg("no waiter stack: test_probe_sched_mix_tp_btf did not get that far");
	assert_non_null(strstr(waiter_stack, ";wait_for_lock;"));
}

/* The share (of the time not waiting for a CPU) thread comm spent in state s. */
static double share(struct run *r, const struct window *w, uint32_t pid, const char *comm,
		    enum model_state s)
{
	uint32_t idx;
	double of;

	if (!find(r, w, pid, comm, &idx))
		fail_msg("no thread %s in pid %u", comm, pid);
	of = 100 - pct(w, idx, MODEL_STATE_RUNNABLE);
	return of > 0 ? 100 * pct(w, idx, s) / of : 0;
}

/*
 * A contended mutex next to an idle pool, all blocked in futex: the lockers wait for a lock
 * someone holds (lock), the pool's workers and a semaphore's waiter wait for work (wait), told
 * apart by their frames; the block hot spots say so too.
 */
static void test_probe_sched_lock_or_wait(void **state)
{
	struct probe_sched_opts o = { 0 };
	char stack[8192], name[16];
	struct window w;
	struct run r;
	uint32_t idx;
	pid_t pid;

	pid = start_states("60", "pool");
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	run_ticks(&r, 5, SETTLE_TICKS);
	window_init(&w);
	window_sum(&w, r.m, 5 - SETTLE_TICKS);
	/* glibc's mutex is not fair: the holder that wakes from its 5 ms and loops often takes
	 * the lock again before the woken waiter runs (more so on a busy host), so one locker may
	 * spend far more of its time on the lock than the other. While one sleeps holding the
	 * lock the other waits on it: judged as a pair, the lock is about half their time. */
	{
		double pair = 0;

		for (int i = 0; i < 2; i++) {
			snprintf(name, sizeof(name), "locker-%d", i);
			expect(&r, &w, pid, name, MODEL_STATE_LOCK, 0);
			pair += share(&r, &w, pid, name, MODEL_STATE_LOCK) / 2;
			if (share(&r, &w, pid, name, MODEL_STATE_WAIT) > 2)
				fail_msg("%s: %.1f%% wait, a lock is not a wait", name,
					 share(&r, &w, pid, name, MODEL_STATE_WAIT));
		}
		print_message("the lockers' lock share, as a pair: %.1f%%\n", pair);
		if (pair < 30)
			fail_msg("the lockers spent %.1f%% of their time on the lock, expected about "
				 "half", pair);
	}
	for (int i = 0; i < 4; i++) {
		snprintf(name, sizeof(name), "idle-%d", i);
		expect(&r, &w, pid, name, MODEL_STATE_WAIT, 90);
		if (share(&r, &w, pid, name, MODEL_STATE_LOCK) > 2)
			fail_msg("%s: %.1f%% lock, an idle pool is not contention", name,
				 share(&r, &w, pid, name, MODEL_STATE_LOCK));
	}
	expect(&r, &w, pid, "semwait", MODEL_STATE_WAIT, 90);

	find(&r, &w, pid, "idle-0", &idx);
	top_block(&r, &w, idx, stack, sizeof(stack));
	print_message("idle-0's top block: %s\n", stack);
	assert_non_null(strstr(stack, ";wait_for_work;"));
	assert_non_null(strstr(stack, ";[wait]"));
	/* the lockers block twice in take_lock(): asleep holding the lock, and on the lock */
	find(&r, &w, pid, "locker-0", &idx);
	stack[0] = '\0';
	for (size_t i = 0; i < w.nr_offcpu && !strstr(stack, ";pthread_mutex_lock;"); i++) {
		const struct stacks *st = model_stacks(r.m);
		uint32_t nr;
		const uint32_t *frames;
		size_t len = 0;

		if (w.offcpu[i].thread != idx)
			continue;
		frames = stacks_frames(st, w.offcpu[i].stack, &nr);
		for (uint32_t j = 0; j < nr && len + 1 < sizeof(stack); j++)
			len += snprintf(stack + len, sizeof(stack) - len, "%s%s", j ? ";" : "",
					stacks_frame(st, frames[j])->function);
	}
	print_message("locker-0's block on the mutex: %s\n", stack);
	assert_non_null(strstr(stack, ";take_lock;"));
	assert_non_null(strstr(stack, ";[lock]"));
	window_fini(&w);
	stop_workload(pid);
	free_run(&r);
}

/* Threads blocked since before the probe attached (no block of theirs begins while it looks,
 * so no stacks come): where they are blocked now still tells lock from wait. */
static void test_probe_sched_parked_before_attach(void **state)
{
	struct probe_sched_opts o = { 0 };
	struct window w;
	struct run r;
	pid_t pid;

	pid = start_states("60", "parked");
	usleep(500000); /* blocked well before */
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	run_ticks(&r, 3, SETTLE_TICKS);
	window_init(&w);
	window_sum(&w, r.m, 3 - SETTLE_TICKS);
	expect(&r, &w, pid, "parked-wait", MODEL_STATE_WAIT, 95);
	expect(&r, &w, pid, "parked-lock", MODEL_STATE_LOCK, 95);
	/* the kernel seeded them (a task iterator), not /proc; the raw_tp mix run covers /proc */
	{
		struct probe_sched_counters c;

		probe_sched_counters(r.p, &c);
		print_message("seeded by the kernel %" PRIu64 ", from /proc %" PRIu64 "\n",
			      c.seeded_kernel, c.seeded_proc);
		if (!strcmp(probe_sched_mode(r.p), "tp_btf")) {
			assert_true(c.seeded_kernel >= 3);
			assert_int_equal(c.seeded_proc, 0);
		}
	}
	window_fini(&w);
	stop_workload(pid);
	free_run(&r);
}

/* An idle Go program (tests/workloads/goidle.go): its worker threads sleep in the scheduler
 * with nothing to run. That is waiting for work, not a lock. */
static void test_probe_sched_go_idle_is_wait(void **state)
{
	char path[PATH_MAX + 8];
	struct probe_sched_opts o = { 0 };
	const struct threads *th;
	double lock = 0, wait = 0;
	struct window w;
	struct run r;
	pid_t pid;

	snprintf(path, sizeof(path), "%s/goidle", workloads);
	if (access(path, X_OK)) {
		print_message("SKIP: no goidle (no Go toolchain)\n");
		skip();
	}
	pid = fork();
	if (pid == 0) {
		execl(path, path, "60", (char *)NULL);
		_exit(127);
	}
	usleep(300000);
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	run_ticks(&r, 4, SETTLE_TICKS);
	window_init(&w);
	window_sum(&w, r.m, 4 - SETTLE_TICKS);
	th = model_threads(r.m);
	for (uint32_t i = 0; i < w.nr_threads; i++) {
		if (threads_get(th, i)->pid != (uint32_t)pid)
			continue;
		lock += w.thread_states[i][MODEL_STATE_LOCK] / 1e6;
		wait += w.thread_states[i][MODEL_STATE_WAIT] / 1e6;
	}
	print_message("goidle's threads: lock %.0f ms, wait %.0f ms\n", lock, wait);
	assert_true(wait > 1000);
	if (lock > (lock + wait) * 0.05)
		fail_msg("goidle's idle workers read as lock: %.0f ms of %.0f", lock, lock + wait);
	window_fini(&w);
	stop_workload(pid);
	free_run(&r);
}

/*
 * --waker-stacks: the waiter's lock blocks were ended by the holder, unlocking (futex_wake in
 * its kernel stack); the sleeper's by the timer interrupt. Without the option, no waker.
 */
static void test_probe_sched_wakers(void **state)
{
	struct probe_sched_opts o = { .waker_stacks = true };
	struct probe_sched_counters c;
	const struct stacks *st;
	struct window w;
	struct run r;
	pid_t pid;
	uint64_t by_holder = 0, by_irq = 0, lock = 0;

	pid = start_states("5", "mix");
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	run_ticks(&r, 3, 0);
	probe_sched_counters(r.p, &c);
	window_init(&w);
	window_sum(&w, r.m, 0);
	st = model_stacks(r.m);
	for (size_t i = 0; i < w.nr_wakes; i++) {
		const struct thread *t = threads_get(model_threads(r.m), w.wakes[i].thread);
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, w.wakes[i].stack, &nr);
		bool holder = false, futex_wake = false, irq = false, lk = false;

		for (uint32_t j = 0; j < nr; j++) {
			const char *fn = stacks_frame(st, frames[j])->function;

			lk |= !strcmp(fn, "[lock]");
			holder |= !strcmp(fn, "[woken by holder]");
			irq |= !strcmp(fn, "[woken by interrupt]");
			futex_wake |= holder && strstr(fn, "futex_wake") != NULL;
		}
		if (t && t->comm && !strcmp(t->comm, "waiter") && lk) {
			lock += w.wakes[i].count;
			if (holder && futex_wake)
				by_holder += w.wakes[i].count;
		}
		if (t && t->comm && !strcmp(t->comm, "sleeper") && irq)
			by_irq += w.wakes[i].count;
	}
	print_message("waker records %" PRIu64 " (lost %" PRIu64 "); waiter's lock blocks with a "
		      "waker %.0f ms, by the holder through futex_wake %.0f ms; sleeper woken "
		      "by an interrupt %.0f ms\n",
		      c.wakers, c.waker_lost, lock / 1e6, by_holder / 1e6, by_irq / 1e6);
	assert_true(c.wakers > 0);
	assert_true(lock > 0);
	assert_true(by_holder >= lock * 0.9);
	assert_true(by_irq > 0);
	window_fini(&w);
	free_run(&r);
	reap(pid);

	/* off by default */
	pid = start_states("3", "mix");
	o = (struct probe_sched_opts){ .pids = (uint32_t *)&pid, .nr_pids = 1 };
	new_run(&r, &o);
	run_ticks(&r, 2, 0);
	probe_sched_counters(r.p, &c);
	assert_int_equal(c.wakers, 0);
	assert_int_equal(model_total(r.m)->nr_wakes, 0);
	free_run(&r);
	reap(pid);
}

/* Four spinners on two CPUs: each runs about half the time and waits for a CPU the rest. */
static void test_probe_sched_spin4_runnable(void **state)
{
	struct probe_sched_opts o = { 0 };
	struct run r;
	struct window w;
	pid_t pid;
	double want, free_cpus;

	if (nr_cpus > 3) {
		print_message("%ld CPUs: four spinners do not contend\n", nr_cpus);
		skip();
	}
	pid = start_states("60", "spin4");
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	run_ticks(&r, 4, SETTLE_TICKS);
	window_init(&w);
	window_sum(&w, r.m, 4 - SETTLE_TICKS);
	/* each gets a quarter of the CPUs the rest of the machine leaves */
	{
		struct probe_sched_counters c;

		probe_sched_counters(r.p, &c);
		print_message("clipped %.1f ms, switches %" PRIu64 "\n", c.clipped_ns / 1e6,
			      c.switches);
	}
	free_cpus = nr_cpus - others_cpus(&r, &w, pid);
	want = 100.0 * (1 - free_cpus / 4);
	for (int i = 0; i < 4; i++) {
		char name[16];
		uint32_t idx;
		double q;

		snprintf(name, sizeof(name), "spin-%d", i);
		idx = expect(&r, &w, pid, name, MODEL_STATE_RUNNABLE, 0);
		q = pct(&w, idx, MODEL_STATE_RUNNABLE);
		if (q < want - 15 || q > want + 15)
			fail_msg("%s waits %.1f%% for a CPU, expected ~%.0f%%", name, q, want);
		assert_true(pct(&w, idx, MODEL_STATE_RUNNING) + q > 95);
	}
	window_fini(&w);
	stop_workload(pid);
	free_run(&r);
}

/* Threads come and go by the thousand: entries are deleted at exit, nothing piles up. */
static void test_probe_sched_churn_leaves_nothing(void **state)
{
	struct probe_sched_opts o = { .filter = true, .follow_children = true };
	struct probe_sched_counters c;
	struct run r;
	pid_t pid;
	int gate[2];

	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		char path[PATH_MAX + 16], ch;

		close(gate[1]);
		if (read(gate[0], &ch, 1) != 1)
			_exit(126);
		snprintf(path, sizeof(path), "%s/states", workloads);
		execl(path, path, "3", "churn", scratch_dir, (char *)NULL);
		_exit(127);
	}
	close(gate[0]);
	new_run(&r, &o);
	assert_int_equal(probe_sched_add_pid(r.p, (uint32_t)pid), 0);
	assert_int_equal(write(gate[1], "g", 1), 1);
	close(gate[1]);
	run_ticks(&r, 2, 0);
	reap(pid);
	run_ticks(&r, 2, 0);
	probe_sched_counters(r.p, &c);
	print_message("exits %" PRIu64 ", threads tracked now %" PRIu64 " (bound %" PRIu64 ")\n",
		      c.exits, c.threads, c.max_threads);
	assert_true(c.exits >= 2000);
	assert_true(c.threads <= 2);
	assert_int_equal(c.threads_full + c.ringbuf_lost, 0);
	/*
	 * Each thread's one block (a 0.2 ms nanosleep) is at a new place: its stack is copied,
	 * but the block is shorter than --min-block, so the copy is never walked and stays in the
	 * kernel. Copies go out only for blocks that are reported (or, with the kernel's map of
	 * them full, at once): sending all ~3,000 put 10 MB/s of copies nothing walked through the
	 * ring of a churning host.
	 */
	print_message("copies taken %" PRIu64 " (kept %" PRIu64 ", at once %" PRIu64
		      "), sent %" PRIu64 "; blocks sent %" PRIu64 "\n",
		      c.parked + c.park_full, c.parked, c.park_full, c.ustacks, c.blocks);
	if (unwinder) {
		assert_true(c.parked + c.park_full >= 2000);
		/* (a copy goes out at the wakeup, its block's record when the thread runs: a
		 * few may be between the two when the counters are read) */
		assert_true(c.ustacks <= (c.blocks + c.park_full) * 11 / 10 + 10);
	}
	free_run(&r);
}

/* The other end of a ping-pong (in a child of the test's child): a process that sends back each
 * byte it reads from ab[0] on ba[1] until ab is closed. The caller keeps ab[1] and ba[0]. */
static pid_t start_peer(int ab[2], int ba[2])
{
	char ch;
	pid_t peer;

	if (pipe(ab) || pipe(ba))
		_exit(125);
	peer = fork();
	if (peer == 0) {
		close(ab[1]);
		close(ba[0]);
		while (read(ab[0], &ch, 1) == 1 && write(ba[1], &ch, 1) == 1)
			;
		_exit(0);
	}
	if (peer < 0)
		_exit(124);
	close(ab[0]);
	close(ba[1]);
	return peer;
}

/* The child of test_probe_sched_full_ring_keeps_exits: two processes pass a byte back and forth
 * through pipes (every pass a block of each, a few us) until the test writes to ctl; then it
 * starts and waits for `procs` processes that exit at once, and exits. */
static void pingpong_then_exits(int ctl, int procs)
{
	struct pollfd pfd = { .fd = ctl, .events = POLLIN };
	int ab[2], ba[2];
	pid_t peer;
	char ch = 'p';

	peer = start_peer(ab, ba);
	for (int i = 0;; i++) {
		if (write(ab[1], &ch, 1) != 1 || read(ba[0], &ch, 1) != 1)
			_exit(123);
		if (i % 64 == 0 && poll(&pfd, 1, 0) == 1)
			break;
	}
	close(ab[1]);
	if (waitpid(peer, NULL, 0) != peer)
		_exit(122);
	for (int i = 0; i < procs; i++) {
		pid_t c = fork();

		if (c == 0)
			_exit(0);
		if (c < 0 || waitpid(c, NULL, 0) != c)
			_exit(121);
	}
	_exit(0);
}

/*
 * The ring is read late when flametop is stopped or starved of CPU: ~1,000 records were lost in
 * a 9 s stop under bench/churn's pipelines, exits among them, and an exit is a thread's last
 * totals. Ends of blocks now fill 3/4 of the ring at most; past that they are dropped (counted
 * as lost) and the last quarter is left to exits. Left undrained, a ping-pong of two processes
 * sends ends of blocks (every block of 1 us or more is reported) until they would have filled
 * the ring; then 2,000 processes start and exit: every exit is in the ring, none lost.
 */
static void test_probe_sched_full_ring_keeps_exits(void **state)
{
	struct probe_sched_opts o = { .filter = true, .follow_children = true, .min_block_us = 1 };
	struct probe_sched_counters c;
	uint64_t want, tried, delivered = 0, until = now_ns() + 20000000000ull;
	const int procs = 2000;
	int gate[2], ctl[2];
	struct run r;
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ctl, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		char ch;

		close(gate[1]);
		close(ctl[1]);
		if (read(gate[0], &ch, 1) != 1)
			_exit(126);
		pingpong_then_exits(ctl[0], procs);
	}
	close(gate[0]);
	close(ctl[0]);
	new_run(&r, &o);
	assert_int_equal(probe_sched_add_pid(r.p, (uint32_t)pid), 0);
	assert_int_equal(write(gate[1], "g", 1), 1);
	close(gate[1]);
	/* each end of a block is more than 128 bytes in the ring (a 152-byte header, then frames) */
	want = probe_sched_ring_bytes(r.p) / 128;
	do {
		poll(NULL, 0, 50);
		probe_sched_counters(r.p, &c);
		tried = c.blocks + c.block_dropped + c.ringbuf_lost;
	} while (tried < want && now_ns() < until);
	assert_int_equal(write(ctl[1], "c", 1), 1);
	close(ctl[1]);
	reap(pid);
	for (int i = 0; i < 1000; i++) {
		int n = probe_sched_drain(r.p, r.m);

		assert_true(n >= 0);
		delivered += (uint64_t)n;
		if (!n && !probe_sched_behind(r.p))
			break;
	}
	probe_sched_counters(r.p, &c);
	print_message("ring %zu KiB undrained: ends of blocks %" PRIu64 " sent, %" PRIu64
		      " dropped (%" PRIu64 " wanted); exits %" PRIu64 "; %" PRIu64
		      " lost to a full ring; %" PRIu64 " records delivered\n",
		      probe_sched_ring_bytes(r.p) >> 10, c.blocks, c.block_dropped, want, c.exits,
		      c.ringbuf_lost, delivered);
	if (tried < want) {
		/* a host too busy to run the ping-pong this long has not filled the ring */
		free_run(&r);
		skip();
	}
	assert_int_equal(c.ringbuf_lost, 0);
	assert_true(c.block_dropped > 0);
	/* the processes, the ping-pong's two */
	assert_true(c.exits >= (uint64_t)procs + 2);
	free_run(&r);
}

/* The child of test_probe_sched_full_ring_keeps_block_time: two processes pass a byte back and
 * forth through pipes `trips` times for every byte read from ctl, answering on ack each time,
 * until ctl is closed. */
static void pingpong_steps(int ctl, int ack, int trips)
{
	int ab[2], ba[2];
	pid_t peer;
	char ch = 'p';

	peer = start_peer(ab, ba);
	while (read(ctl, &ch, 1) == 1) {
		for (int i = 0; i < trips; i++)
			if (write(ab[1], &ch, 1) != 1 || read(ba[0], &ch, 1) != 1)
				_exit(123);
		if (write(ack, &ch, 1) != 1)
			_exit(122);
	}
	close(ab[1]);
	_exit(waitpid(peer, NULL, 0) == peer ? 0 : 121);
}

/*
 * Past 3/4 of the ring an end of a block goes without its stacks (struct sched_bare_rec: the
 * thread, the reason, the times), not at all as before (2,057-3,218 dropped in a 9 s stop of flametop under
 * bench/churn's pipelines): the block view keeps all of the blocked time, what the ring had no
 * room for under "[no stack]". Left undrained, a ping-pong of two processes (every block of 1 us
 * or more reported) runs in steps until a thousand ends of blocks went without stacks; then the
 * ring is drained: every one arrived, and the blocked time of the window's stacks is the blocked
 * time of the threads' states (the blocks shorter than 1 us aside).
 */
static void test_probe_sched_full_ring_keeps_block_time(void **state)
{
	struct probe_sched_opts o = { .filter = true, .follow_children = true, .min_block_us = 1 };
	struct probe_sched_counters c;
	uint64_t until = now_ns() + 20000000000ull, blocked = 0, stacked = 0, bare = 0;
	const struct stacks *st;
	int gate[2], ctl[2], ack[2];
	struct window w;
	struct run r;
	char ch = 's';
	pid_t pid;

	(void)state;
	assert_int_equal(pipe2(gate, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ctl, O_CLOEXEC), 0);
	assert_int_equal(pipe2(ack, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		close(gate[1]);
		close(ctl[1]);
		close(ack[0]);
		if (read(gate[0], &ch, 1) != 1)
			_exit(126);
		pingpong_steps(ctl[0], ack[1], 200);
	}
	close(gate[0]);
	close(ctl[0]);
	close(ack[1]);
	new_run(&r, &o);
	assert_int_equal(probe_sched_add_pid(r.p, (uint32_t)pid), 0);
	assert_int_equal(write(gate[1], "g", 1), 1);
	close(gate[1]);
	/* one step and a tick: the window judged starts with the ping-pong under way */
	assert_int_equal(write(ctl[1], &ch, 1), 1);
	assert_int_equal(read(ack[0], &ch, 1), 1);
	assert_true(probe_sched_tick(r.p, r.m, now_ns()) >= 0);
	model_close_tick(r.m, now_ns());
	/* undrained: 400 ends of blocks a step, 56 bytes each without stacks (the ring's eighth
	 * between 3/4 and 7/8 holds 9,000 of them) */
	do {
		assert_int_equal(write(ctl[1], &ch, 1), 1);
		assert_int_equal(read(ack[0], &ch, 1), 1);
		probe_sched_counters(r.p, &c);
	} while (c.frames_dropped < 1000 && !c.block_dropped && now_ns() < until);
	close(ctl[1]);
	reap(pid);
	close(ack[0]);
	for (int i = 0; i < 1000; i++) {
		int n = probe_sched_drain(r.p, r.m);

		assert_true(n >= 0);
		if (!n && !probe_sched_behind(r.p))
			break;
	}
	{
		uint64_t now = now_ns();

		assert_true(probe_sched_tick(r.p, r.m, now) >= 0);
		model_close_tick(r.m, now);
	}
	probe_sched_counters(r.p, &c);
	print_message("ring %zu KiB undrained: ends of blocks %" PRIu64 " sent, %" PRIu64
		      " without stacks, %" PRIu64 " dropped; exits %" PRIu64 "; %" PRIu64
		      " lost to a full ring\n",
		      probe_sched_ring_bytes(r.p) >> 10, c.blocks, c.frames_dropped,
		      c.block_dropped, c.exits, c.ringbuf_lost);
	if (c.frames_dropped < 1000 && !c.block_dropped) {
		/* a host too busy to run the ping-pong this long has not filled the ring */
		free_run(&r);
		skip();
	}
	assert_int_equal(c.ringbuf_lost, 0);
	assert_int_equal(c.block_dropped, 0);
	assert_true(c.exits >= 2);

	/* the last tick: blocked time by the threads' states, and by the stacks */
	window_init(&w);
	window_sum(&w, r.m, 1);
	st = model_stacks(r.m);
	for (uint32_t i = 0; i < w.nr_threads; i++)
		for (int s = MODEL_STATE_LOCK; s < MODEL_STATE_NR; s++)
			blocked += w.thread_states[i][s];
	for (size_t i = 0; i < w.nr_offcpu; i++) {
		uint32_t nr;
		const uint32_t *frames = stacks_frames(st, w.offcpu[i].stack, &nr);

		if (!strcmp(stacks_frame(st, frames[nr - 1])->function, "[runnable]"))
			continue;
		stacked += w.offcpu[i].count;
		if (!strcmp(stacks_frame(st, frames[0])->function, "[no stack]"))
			bare += w.offcpu[i].count;
	}
	print_message("blocked %.3f s by the states, %.3f s by the stacks (%.3f s [no stack])\n",
		      blocked / 1e9, stacked / 1e9, bare / 1e9);
	assert_true(bare > 0);
	assert_true(stacked <= blocked);
	assert_true(stacked >= blocked * 0.98);
	window_fini(&w);
	free_run(&r);
}

/*
 * A long block begun after attach and still open: at each tick its stacks come from its slot
 * and its stack copy from the kernel's map where copies wait until their block proves long, so
 * the DWARF walk names nap_here(), which called nanosleep in Debian's libc (built without frame
 * pointers: a frame-pointer walk skips it), from the first tick of the block on.
 */
static void test_probe_sched_open_block_dwarf(void **state)
{
	struct probe_sched_opts o = { 0 };
	struct probe_sched_counters c;
	char path[PATH_MAX + 16], line[64], stack[8192];
	struct run r;
	struct window w;
	int in[2], out[2];
	uint32_t idx;
	uint64_t ns;
	pid_t pid;
	FILE *f;

	if (!unwinder) {
		print_message("no DWARF unwinder here\n");
		skip();
	}
	snprintf(path, sizeof(path), "%s/states", workloads);
	assert_int_equal(pipe2(in, O_CLOEXEC), 0);
	assert_int_equal(pipe2(out, O_CLOEXEC), 0);
	pid = fork();
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		execl(path, path, "60", "nap", scratch_dir, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	f = fdopen(out[0], "r");
	if (!fgets(line, sizeof(line), f) || strcmp(line, "ready\n"))
		fail_msg("%s did not start", path);
	fclose(f);
	o.pids = (uint32_t *)&pid;
	o.nr_pids = 1;
	new_run(&r, &o);
	run_ticks(&r, 1, 0);
	/* the nap begins now, after attach: its switch-out takes the copy */
	assert_int_equal(write(in[1], "g", 1), 1);
	run_ticks(&r, 3, 1);
	window_init(&w);
	window_sum(&w, r.m, 2);
	if (!find(&r, &w, pid, "napper", &idx))
		fail_msg("no thread napper in pid %u", pid);
	ns = top_block(&r, &w, idx, stack, sizeof(stack));
	probe_sched_counters(r.p, &c);
	print_message("napper's top block: %.0f ms: %s\n", ns / 1e6, stack);
	print_message("copies kept %" PRIu64 ", read at a tick %" PRIu64 ", sent %" PRIu64
		      ", missed %" PRIu64 "\n", c.parked, c.fetched, c.ustacks, c.ustack_miss);
	assert_non_null(strstr(stack, ";nap_here;"));
	assert_non_null(strstr(stack, ";[sleep]"));
	/* the kernel frames end where the thread called into the scheduler: __schedule and the
	 * tracepoint's frames above it (bpf_prog_*, bpf_trace_run*) are cut (their range found by
	 * asking the kernel, probes/ksym, or in kallsyms) */
	assert_non_null(strstr(stack, ";schedule;[sleep]"));
	assert_null(strstr(stack, "__schedule"));
	assert_null(strstr(stack, "bpf_"));
	/* the nap is still on: all of its time in the window is that block's */
	assert_true(ns >= w.thread_states[idx][MODEL_STATE_SLEEP] * 0.9);
	window_fini(&w);
	close(in[1]);
	stop_workload(pid);
	free_run(&r);
}

/* A bad option is refused with a reason; a whole-system probe takes no pids. */
static void test_probe_sched_add_pid_rules(void **state)
{
	struct probe_sched_opts o = { 0 };
	struct run r;

	new_run(&r, &o);
	assert_int_equal(probe_sched_add_pid(r.p, 1), -EINVAL);
	run_ticks(&r, 1, 0);
	/* the whole system has threads, each adding up to one tick */
	assert_true(model_nr_ticks(r.m) == 1);
	free_run(&r);
}

static void require_bpf(void)
{
	struct probe_sched_opts o = { .filter = true };
	struct probe_sched *p;
	char err[512];

	if (probe_sched_new(&o, &p, err, sizeof(err))) {
		printf("skipped: %s\n", err);
		exit(77);
	}
	probe_sched_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_sched_add_pid_rules),
		cmocka_unit_test(test_probe_sched_mix_tp_btf),
		cmocka_unit_test(test_probe_sched_lock_names_caller),
		cmocka_unit_test(test_probe_sched_mix_raw_tp),
		cmocka_unit_test(test_probe_sched_lock_or_wait),
		cmocka_unit_test(test_probe_sched_parked_before_attach),
		cmocka_unit_test(test_probe_sched_go_idle_is_wait),
		cmocka_unit_test(test_probe_sched_wakers),
		cmocka_unit_test(test_probe_sched_spin4_runnable),
		cmocka_unit_test(test_probe_sched_churn_leaves_nothing),
		cmocka_unit_test(test_probe_sched_open_block_dwarf),
		cmocka_unit_test(test_probe_sched_full_ring_keeps_exits),
		cmocka_unit_test(test_probe_sched_full_ring_keeps_block_time),
	};
	struct syms_opts so = { .proc_root = "/proc" };
	const char *dir = getenv("FLAMETOP_WORKLOADS"), *tmp = getenv("FLAMETOP_SCRATCH");
	int failed;

	setvbuf(stdout, NULL, _IONBF, 0);
	snprintf(workloads, sizeof(workloads), "%s", dir ? dir : "tests/workloads");
	/* O_DIRECT needs a disk file system: tmpfs would not block */
	snprintf(scratch_dir, sizeof(scratch_dir), "%s", tmp ? tmp : workloads);
	nr_cpus = sysconf(_SC_NPROCESSORS_ONLN);
	require_bpf();
	if (syms_new(&so, &syms))
		syms = NULL;
	if (syms && unwind_new(syms, UNWIND_AUTO, &unwinder))
		unwinder = NULL;
	failed = cmocka_run_group_tests(tests, NULL, NULL);
	unwind_free(unwinder);
	syms_free(syms);
	return failed;
}
