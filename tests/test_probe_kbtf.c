// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/kbtf on the real kernel: the cpu, sched and heap probes loaded as a session loads them
 * (held) parse the kernel's BTF once between them, not once each, and still work: a spinning
 * child is sampled on its CPU and the sched probe, whose tp_btf programs were attached with the
 * shared BTF, sees it running or waiting for a CPU all the time. Without a hold every load parses for itself, and a released hold
 * keeps nothing. Exits 77 (skipped) when this host cannot load BPF programs.
 */
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
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

#include "model/model.h"
#include "model/syms.h"
#include "model/threads.h"
#include "model/window.h"
#include "probes/cpu.h"
#include "probes/heap.h"
#include "probes/kbtf.h"
#include "probes/sched.h"

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

static pid_t spinner(void)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		for (volatile unsigned long i = 0;; i++)
			;
	}
	return pid;
}

static void test_probe_kbtf_one_parse_for_all(void **state)
{
	struct probe_cpu *cpu = NULL;
	struct probe_sched *sched = NULL;
	struct probe_heap *heap = NULL;
	struct syms_opts so = { .proc_root = "/proc" };
	struct syms *syms;
	struct model_opts mo = { 0 };
	struct model *m;
	struct window w;
	uint64_t calls0 = probe_kbtf_calls(), parses0 = probe_kbtf_parses(), start, next;
	struct probe_cpu_counters cc = { 0 };
	double running = 0, runnable = 0, secs;
	char err[512];
	pid_t child = spinner();
	uint32_t pid = (uint32_t)child;
	struct probe_cpu_opts copts = { .pids = &pid, .nr_pids = 1 };
	struct probe_sched_opts sopts = { .pids = &pid, .nr_pids = 1 };
	struct probe_heap_opts hopts = { .pids = &pid, .nr_pids = 1, .filter = true };

	(void)state;
	assert_true(child > 0);
	assert_int_equal(syms_new(&so, &syms), 0);
	mo.syms = syms;
	assert_int_equal(model_new(&mo, &m), 0);

	probe_kbtf_hold();
	if (probe_cpu_new(&copts, &cpu, err, sizeof(err)))
		fail_msg("probe_cpu_new: %s", err);
	if (probe_sched_new(&sopts, &sched, err, sizeof(err)))
		fail_msg("probe_sched_new: %s", err);
	if (probe_heap_new(&hopts, &heap, err, sizeof(err)))
		fail_msg("probe_heap_new: %s", err);
	probe_kbtf_release();
	print_message("kernel BTF asked for %" PRIu64 " times, parsed %" PRIu64 " times\n",
		      probe_kbtf_calls() - calls0, probe_kbtf_parses() - parses0);
	/* each object asked (CO-RE relocations; tp_btf attach points): flametop's definitions
	 * stand in front of libbpf's */
	assert_true(probe_kbtf_calls() - calls0 >= 3);
	assert_int_equal(probe_kbtf_parses() - parses0, 1);

	/* the probes work: the spinner is sampled, and seen running or waiting for a CPU. A tick
	 * a second until it has 5 samples (at most 20 s: a host busy with other work may give it
	 * little CPU); its running plus runnable time is all of the window however busy the host */
	start = now_ns();
	assert_int_equal(model_begin(m, start), 0);
	probe_sched_tick(sched, m, start);
	next = start + 1000000000ull;
	do {
		poll(NULL, 0, 100);
		probe_cpu_drain(cpu, m);
		probe_sched_drain(sched, m);
		probe_heap_drain(heap, m);
		if (now_ns() >= next) {
			probe_sched_tick(sched, m, now_ns());
			probe_heap_tick(heap, m, now_ns());
			model_close_tick(m, now_ns());
			next += 1000000000ull;
			probe_cpu_counters(cpu, &cc);
		}
	} while ((cc.samples < 5 || model_nr_ticks(m) < 2) && now_ns() < start + 20000000000ull);
	secs = (model_total(m)->end_ns - start) / 1e9;
	window_init(&w);
	window_sum(&w, m, model_nr_ticks(m));
	for (uint32_t i = 0; i < w.nr_threads; i++) {
		if (threads_get(model_threads(m), i)->pid != pid)
			continue;
		running += w.thread_states[i][MODEL_STATE_RUNNING] / 1e9;
		runnable += w.thread_states[i][MODEL_STATE_RUNNABLE] / 1e9;
	}
	print_message("spinner: %" PRIu64 " samples, running %.2f s and runnable %.2f s of %.2f s\n",
		      cc.samples, running, runnable, secs);
	assert_true(cc.samples >= 5);
	assert_true(running + runnable > 0.8 * secs);
	window_fini(&w);

	probe_heap_free(heap);
	probe_sched_free(sched);
	probe_cpu_free(cpu);
	model_free(m);
	syms_free(syms);
	kill(child, SIGKILL);
	waitpid(child, NULL, 0);
}

static void test_probe_kbtf_parses_per_object_unheld(void **state)
{
	struct probe_cpu_opts copts = { .filter = true };
	struct probe_cpu *a = NULL, *b = NULL;
	uint64_t parses0 = probe_kbtf_parses();
	char err[512];

	(void)state;
	/* no hold: each load parses for itself, as libbpf does */
	if (probe_cpu_new(&copts, &a, err, sizeof(err)) || probe_cpu_new(&copts, &b, err, sizeof(err)))
		fail_msg("probe_cpu_new: %s", err);
	assert_int_equal(probe_kbtf_parses() - parses0, 2);
	probe_cpu_free(a);
	probe_cpu_free(b);
	/* a hold released keeps nothing: the next hold parses anew */
	probe_kbtf_hold();
	assert_int_equal(probe_cpu_new(&copts, &a, err, sizeof(err)), 0);
	probe_kbtf_release();
	probe_kbtf_hold();
	assert_int_equal(probe_cpu_new(&copts, &b, err, sizeof(err)), 0);
	probe_kbtf_release();
	assert_int_equal(probe_kbtf_parses() - parses0, 4);
	probe_cpu_free(a);
	probe_cpu_free(b);
}

/* Can this host load the probe at all? Exits 77 (meson: skipped) with the reason if not. */
static void require_bpf(void)
{
	struct probe_cpu_opts opts = { .filter = true };
	struct probe_cpu *p;
	char err[512];

	if (probe_cpu_new(&opts, &p, err, sizeof(err))) {
		printf("SKIP: %s\n", err);
		exit(77);
	}
	probe_cpu_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_probe_kbtf_one_parse_for_all),
		cmocka_unit_test(test_probe_kbtf_parses_per_object_unheld),
	};

	require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
