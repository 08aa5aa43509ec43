// SPDX-License-Identifier: GPL-2.0-only
/*
 * probes/kbtf on the real kernel: the cpu, sched and heap probes loaded as a session loads them
 * (held) parse the kernel's BTF once between them, not once each, and still work: a spinning
 * child is sampled on its CPU and the sched probe, whose tp_btf programs were attached with the
 * shared BTF, sees it running or waiting for a CPU all the time. Without a hold every load parses
 * for itself, and a released hold keeps nothing. CO-RE relocations against the small BTF of the
 * types each object names give every program the instructions the kernel's whole BTF gives.
 * Exits 77 (skipped) when this host cannot load BPF programs.
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

#include <bpf/btf.h>
#include <bpf/libbpf.h>

#include "model/model.h"
#include "model/syms.h"
#include "model/threads.h"
#include "model/window.h"
#include "probes/cpu.h"
#include "probes/heap.h"
#include "probes/kbtf.h"
#include "probes/sched.h"
#include "cpu.skel.h"
#include "heap.skel.h"
#include "sched.skel.h"

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

/* The instructions of every program of obj as loaded (relocated), one after another; the map
 * fds in them (each object has its own maps) are zeroed. */
static size_t loaded_insns(struct bpf_object *obj, struct bpf_insn **out)
{
	struct bpf_program *prog;
	size_t n = 0;

	*out = NULL;
	bpf_object__for_each_program(prog, obj) {
		size_t k = bpf_program__insn_cnt(prog);

		*out = realloc(*out, (n + k) * sizeof(**out));
		assert_non_null(*out);
		memcpy(*out + n, bpf_program__insns(prog), k * sizeof(**out));
		for (size_t i = n; i < n + k; i++)
			if ((*out)[i].code == (BPF_LD | BPF_DW | BPF_IMM) &&
			    ((*out)[i].src_reg == BPF_PSEUDO_MAP_FD ||
			     (*out)[i].src_reg == BPF_PSEUDO_MAP_VALUE))
				(*out)[i].imm = 0;
		n += k;
	}
	return n;
}

#define SAME_RELOCATIONS(name)                                                                   \
	do {                                                                                     \
		struct probe_kbtf_core core;                                                     \
		LIBBPF_OPTS(bpf_object_open_opts, oo);                                           \
		struct name *a = name##__open(), *b;                                             \
		struct bpf_insn *ia, *ib;                                                        \
		size_t na, nb;                                                                   \
                                                                                                 \
		assert_non_null(a);                                                              \
		assert_int_equal(name##__load(a), 0);                                            \
		probe_kbtf_core_begin(&core);                                                    \
		oo.btf_custom_path = probe_kbtf_core_path(&core);                                \
		assert_non_null(oo.btf_custom_path);                                             \
		b = name##__open_opts(&oo);                                                      \
		assert_non_null(b);                                                              \
		assert_int_equal(probe_kbtf_core_fill(&core, b->obj), 0);                        \
		assert_int_equal(name##__load(b), 0);                                            \
		probe_kbtf_core_end(&core);                                                      \
		na = loaded_insns(a->obj, &ia);                                                  \
		nb = loaded_insns(b->obj, &ib);                                                  \
		print_message(#name ": %zu instructions\n", na);                                 \
		assert_true(na > 100);                                                           \
		assert_int_equal(na, nb);                                                        \
		assert_memory_equal(ia, ib, na * sizeof(*ia));                                   \
		free(ia);                                                                        \
		free(ib);                                                                        \
		name##__destroy(a);                                                              \
		name##__destroy(b);                                                              \
	} while (0)

/*
 * CO-RE against the small BTF (the kernel's definitions of the types each object names) gives
 * every program of the cpu, sched and heap objects, raw_tp and uprobe ones included, the very
 * instructions that relocating against the kernel's whole BTF gives; and the small BTF is
 * small (libbpf's candidate search walks it once per type instead of the kernel's ~126k).
 */
static void test_probe_kbtf_core_same_relocations(void **state)
{
	uint64_t types0 = probe_kbtf_core_types(), types;
	struct btf *k = btf__load_vmlinux_btf();

	(void)state;
	assert_non_null(k);
	SAME_RELOCATIONS(cpu_bpf);
	SAME_RELOCATIONS(sched_bpf);
	SAME_RELOCATIONS(heap_bpf);
	types = probe_kbtf_core_types() - types0;
	print_message("small BTFs: %" PRIu64 " types for the three objects; the kernel's: %u\n",
		      types, btf__type_cnt(k));
	assert_true(types > 0);
	assert_true(types * 20 < btf__type_cnt(k));
	btf__free(k);
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
		cmocka_unit_test(test_probe_kbtf_core_same_relocations),
	};

	require_bpf();
	return cmocka_run_group_tests(tests, NULL, NULL);
}
