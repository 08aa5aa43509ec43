// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real flametop binary on the real kernel, on workloads with known answers. Skips (77) only
 * when the host cannot load BPF at all, and says why.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *workloads;

static char *workload(const char *name)
{
	return runbin_path(workloads, name);
}

static void test_snapshot_split31_is_75_25(void **state)
{
	struct runbin r;
	uint64_t three, one;
	double share, tol;

	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "folded", "--duration",
				   "20", "-F", "499", "--", workload("split31"), "6", NULL });
	assert_int_equal(r.status, 0);
	three = runbin_sum(r.out, "", ";spin_three", NULL);
	one = runbin_sum(r.out, "", ";spin_one", NULL);
	print_message("spin_three %lu, spin_one %lu samples\n", (unsigned long)three,
		      (unsigned long)one);
	assert_true(three + one > 100);
	share = 100.0 * three / (three + one);
	tol = runbin_share_tolerance(three + one, 0.75);
	if (share < 75 - tol || share > 75 + tol)
		fail_msg("spin_three has %.1f%% of the samples, expected 75 +- %.1f", share, tol);
	/* every line starts with the process, root first: main calls both */
	assert_true(runbin_sum(r.out, "", "split31;", ";main;", ";spin_three", NULL) > three * 0.9);
	/* the window ended when the command exited, well before the 20 s duration */
	assert_true(r.seconds < 12);
	runbin_free(&r);
}

/* Finds a thread line of the json output and returns its cpu_samples, or -1. */
static long json_thread_samples(const char *json, const char *comm)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\"comm\": \"%s\"", comm);
	p = strstr(json, key);
	if (!p || p > strstr(json, "\"functions\""))
		return -1;
	p = strstr(p, "\"cpu_samples\": ");
	return p ? strtol(p + 15, NULL, 10) : -1;
}

/* The same thread's running time (state_ms.running, exact from the sched probe), or -1. */
static double json_thread_running_ms(const char *json, const char *comm)
{
	char key[128];
	const char *p;

	snprintf(key, sizeof(key), "\"comm\": \"%s\"", comm);
	p = strstr(json, key);
	if (!p || p > strstr(json, "\"functions\""))
		return -1;
	p = strstr(p, "\"running\": ");
	return p ? strtod(p + 11, NULL) : -1;
}

/* Prints a thread's whole JSON entry (its samples and every state's time): what a failure needs
 * to tell a sampling error from an accounting one. */
static void print_json_thread(const char *json, const char *comm)
{
	char key[128];
	const char *p, *end;

	snprintf(key, sizeof(key), "\"comm\": \"%s\"", comm);
	p = strstr(json, key);
	if (!p)
		return;
	end = strstr(p, "}}");
	print_message("%.*s\n", end ? (int)(end - p + 2) : 200, p);
}

static void test_snapshot_thread_names(void **state)
{
	struct runbin r;
	long hot, warm, idle;
	double run_hot, run_warm;

	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "json", "--duration",
				   "4", "-F", "499", "--", workload("threads_named"), "10", NULL });
	assert_int_equal(r.status, 0);
	hot = json_thread_samples(r.out, "worker-hot");
	warm = json_thread_samples(r.out, "worker-warm");
	idle = json_thread_samples(r.out, "worker-idle");
	print_message("worker-hot %ld, worker-warm %ld, worker-idle %ld samples\n", hot, warm,
		      idle);
	/* 4 s at 499 Hz: the spinning thread has up to ~2000 samples (on a machine with fifty
	 * runnable threads per CPU, ~80), the 30% one about a third of that, the sleeping one
	 * none */
	assert_true(hot > 40);
	assert_true(idle < hot * 0.05);
	/* the warm thread runs 30 % of the time it would like to, the hot one all of it — on an
	 * idle host. On a loaded one both wait for a CPU and their times draw closer (0.64 seen
	 * at a load average of 40): the samples must follow what the threads really ran. */
	run_hot = json_thread_running_ms(r.out, "worker-hot");
	run_warm = json_thread_running_ms(r.out, "worker-warm");
	print_message("running: worker-hot %.0f ms, worker-warm %.0f ms\n", run_hot, run_warm);
	if (run_hot > 0 && run_warm > 0) {
		double want = run_warm / run_hot, got = (double)warm / (double)hot;
		double slack = 0.1 + 3 * want * sqrt(1.0 / (double)(warm + 1) + 1.0 / (double)hot);

		print_message("warm/hot: samples %.2f, running time %.2f (+-%.2f)\n", got, want,
			      slack);
		if (fabs(got - want) > slack) {
			print_json_thread(r.out, "worker-hot");
			print_json_thread(r.out, "worker-warm");
			print_message("%.*s\n", 22, strstr(r.out, "\"duration_s\"") ?: "");
		}
		assert_true(want < 0.95); /* warm did sleep */
		assert_true(fabs(got - want) <= slack);
	} else {
		assert_true(warm > hot * 0.1 && warm < hot * 0.7); /* no thread states */
	}
	/* the command was still running: it got SIGTERM and that is reported */
	assert_non_null(strstr(r.out, "sent SIGTERM"));
	assert_non_null(strstr(r.out, "\"exit_signal\": 15"));
	runbin_free(&r);
}

static void test_snapshot_kernel_frames(void **state)
{
	struct runbin r;
	uint64_t all, syscall;

	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "folded", "--duration",
				   "3", "-F", "499", "--", workload("syscalls"), "10", NULL });
	assert_int_equal(r.status, 0);
	all = runbin_sum(r.out, "", "syscalls;", NULL);
	syscall = runbin_sum(r.out, "", "syscalls;", "entry_SYSCALL_64", NULL);
	print_message("%lu of %lu samples under entry_SYSCALL_64\n", (unsigned long)syscall,
		      (unsigned long)all);
	assert_true(all > 100);
	assert_true(syscall > all / 2);
	runbin_free(&r);
}

static void test_snapshot_go_program(void **state)
{
	struct runbin r;
	uint64_t hot, cold;

	if (access(workload("goprog"), X_OK))
		skip();
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "folded", "--duration",
				   "3", "-F", "499", "--", workload("goprog"), "10", NULL });
	assert_int_equal(r.status, 0);
	hot = runbin_sum(r.out, "", "main.hotLoop", NULL);
	cold = runbin_sum(r.out, "", "main.coldLoop", NULL);
	print_message("main.hotLoop %lu, main.coldLoop %lu samples\n", (unsigned long)hot,
		      (unsigned long)cold);
	assert_true(hot > 100);
	assert_true(hot > cold);
	assert_true(runbin_sum(r.out, "", "main.main;main.hotLoop", NULL) > hot / 2);
	runbin_free(&r);
}

static void test_snapshot_errors_are_one_line_exit_2(void **state)
{
	static const char *const args[][6] = {
		{ "snapshot", "--duration", "abc" },
		{ "snapshot", "-p", "12abc" },
		{ "snapshot", "--format", "nosuch" },
		{ "snapshot", "--nosuch" },
		{ "snapshot", "-p", "999999999" },
		{ "snapshot", "--duration", "1", "--", "/nonexistent/cmd" },
	};

	for (size_t i = 0; i < sizeof(args) / sizeof(args[0]); i++) {
		char *argv[8] = { (char *)flametop };
		struct runbin r;
		char *nl;

		for (int j = 0; args[i][j]; j++)
			argv[j + 1] = (char *)args[i][j];
		runbin_run(&r, argv);
		nl = strchr(r.err, '\n');
		if (r.status != 2 || !nl || nl[1] || strncmp(r.err, "flametop: ", 10))
			fail_msg("case %zu: status %d, stderr '%s'", i, r.status, r.err);
		assert_string_equal(r.out, "");
		runbin_free(&r);
	}
}

static void test_snapshot_sigint_ends_early_and_prints(void **state)
{
	struct runbin r;

	runbin_run_sig(&r, SIGINT, 1.5,
		       (char *[]){ (char *)flametop, "snapshot", "--duration", "30", "-p", "1",
				   NULL });
	assert_int_equal(r.status, 0);
	assert_true(r.seconds < 10);
	assert_non_null(strstr(r.out, "flametop snapshot of pid 1"));
	assert_non_null(strstr(r.out, "Busiest threads"));
	runbin_free(&r);
}

/*
 * -F up to 100000 (what --help allows) on the whole system: the window ends on time and SIGINT
 * ends it early, whatever the rate (issue 13: at -F 20000 a drain never returned to the loop,
 * so neither the deadline nor SIGINT nor SIGTERM was ever seen). A rate the host cannot take is
 * lowered, with one line saying so, and what the rings could not hold is counted as lost.
 */
static void test_snapshot_high_rate_stays_stoppable(void **state)
{
	static const char *const rates[] = { "20000", "49999", "100000" };
	static const char *const unwinds[] = { "auto", "fp" };
	struct runbin r;

	for (size_t i = 0; i < sizeof(rates) / sizeof(rates[0]); i++) {
		for (size_t u = 0; u < 2; u++) {
			runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--duration", "1",
						   "-F", (char *)rates[i], "--unwind",
						   (char *)unwinds[u], "--format", "json", NULL });
			print_message("-F %s --unwind %s: %.1f s, status %d\n", rates[i],
				      unwinds[u], r.seconds, r.status);
			assert_int_equal(r.status, 0);
			/* start-up and symbolizing the whole system take some of it */
			assert_true(r.seconds < 15);
			assert_non_null(strstr(r.err, "can sample and unwind"));
			assert_non_null(strstr(r.err, "sampling at "));
			assert_non_null(strstr(r.out, "\"lost\": "));
			runbin_free(&r);
		}
	}
	/* SIGINT and SIGTERM end a long window at once */
	runbin_run_sig(&r, SIGINT, 2.5,
		       (char *[]){ (char *)flametop, "snapshot", "--duration", "60", "-F",
				   "100000", "--unwind", "fp", NULL });
	print_message("SIGINT at 2.5 s: ended after %.1f s\n", r.seconds);
	assert_int_equal(r.status, 0);
	assert_true(r.seconds < 12);
	assert_non_null(strstr(r.out, "Busiest threads"));
	runbin_free(&r);
	{
		char rec[64];

		snprintf(rec, sizeof(rec), "/tmp/flametop-highrate-%d.ftr", (int)getpid());
		runbin_run_sig(&r, SIGTERM, 2.5,
			       (char *[]){ (char *)flametop, "record", "-o", rec, "-F", "100000",
					   NULL });
		print_message("record, SIGTERM at 2.5 s: ended after %.1f s\n", r.seconds);
		unlink(rec);
		assert_int_equal(r.status, 0);
		assert_true(r.seconds < 12);
		runbin_free(&r);
	}
}

static void test_snapshot_target_exits_during_window(void **state)
{
	struct runbin r;
	char pidarg[16];
	pid_t pid = fork();

	if (pid == 0) {
		execl(workload("split31"), "split31", "5", NULL);
		_exit(126);
	}
	snprintf(pidarg, sizeof(pidarg), "%d", pid);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "folded", "--duration",
				   "15", "-F", "499", "-p", pidarg, NULL });
	waitpid(pid, NULL, 0);
	assert_int_equal(r.status, 0);
	/* what was seen before it exited is there (the window starts once every probe is
	 * attached: seconds later on a very busy machine), and the snapshot ended early */
	assert_true(runbin_sum(r.out, "", "spin_", NULL) > 30);
	assert_true(r.seconds < 12);
	runbin_free(&r);
}

static int check_bpf(void **state)
{
	struct runbin r;

	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--duration", "0.2", "-p", "1",
				   NULL });
	if (r.status == 1 && (strstr(r.err, "permitted") || strstr(r.err, "BTF"))) {
		fprintf(stderr, "SKIP: this host cannot run the BPF probes: %s", r.err);
		exit(77);
	}
	runbin_free(&r);
	return 0;
}

/* A number that follows key in the json object of the thread named comm, or -1. */
static double json_thread_number(const char *json, const char *comm, const char *key)
{
	char want[64];
	const char *t, *k, *end;

	snprintf(want, sizeof(want), "\"comm\": \"%s\"", comm);
	t = strstr(json, want);
	if (!t)
		return -1;
	end = strchr(t, '\n'); /* one thread per line */
	k = strstr(t, key);
	if (!k || (end && k > end))
		return -1;
	return strtod(k + strlen(key), NULL);
}

/* The ms thread comm lived in the window (its states add up to that) and was not waiting for a
 * CPU. */
static double busy(const char *json, const char *comm, double secs)
{
	static const char *const keys[] = { "\"running\": ", "\"lock\": ", "\"io\": ",
					    "\"poll\": ", "\"sleep\": ", "\"other\": ",
					    "\"wait\": " };
	double lived = 0, v;

	(void)secs;
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if ((v = json_thread_number(json, comm, keys[i])) > 0)
			lived += v;
	return lived;
}

/* Thread states in json (state_ms) and blocked time by stack in folded (--metric offcpu). */
static void test_snapshot_states_and_block(void **state)
{
	struct runbin r;
	double secs, sleep_ms, poll_ms;

	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "json", "--duration",
				   "20", "--", workload("states"), "3", "mix", (char *)workloads,
				   NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"sched\": \"tp_btf\""));
	assert_non_null(strstr(r.out, "\"block\": ["));
	secs = strtod(strstr(r.out, "\"duration_s\": ") + 14, NULL);
	sleep_ms = json_thread_number(r.out, "sleeper", "\"sleep\": ");
	poll_ms = json_thread_number(r.out, "poller", "\"poll\": ");
	print_message("window %.2f s: sleeper asleep %.0f ms, poller in poll %.0f ms\n", secs,
		      sleep_ms, poll_ms);
	/* The threads start a moment after the window does (seconds on a very busy machine);
	 * of the time they lived and were not waiting for a CPU (on a busy machine, a thread
	 * woken every 50-100 ms waits a while for one) they spend nearly all in their state. */
	assert_true(sleep_ms > busy(r.out, "sleeper", secs) * 0.8);
	assert_true(poll_ms > busy(r.out, "poller", secs) * 0.8);
	assert_true(json_thread_number(r.out, "waiter", "\"lock\": ") >
		    busy(r.out, "waiter", secs) * 0.6);
	runbin_free(&r);

	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "folded", "--metric",
				   "offcpu", "--duration", "20", "--", workload("states"), "3",
				   "mix", (char *)workloads, NULL });
	assert_int_equal(r.status, 0);
	/* microseconds, the reason as the leaf; the poller's stack names its syscall */
	assert_true(runbin_sum(r.out, "", "states;", ";[poll] ", NULL) > 2000000);
	assert_true(runbin_sum(r.out, "", ";do_sys_poll;", ";[poll] ", NULL) > 2000000);
	assert_true(runbin_sum(r.out, "", ";[lock] ", NULL) > 1500000);
	assert_true(runbin_sum(r.out, "", ";[io] ", NULL) > 0);
	runbin_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_snapshot_errors_are_one_line_exit_2),
		cmocka_unit_test(test_snapshot_split31_is_75_25),
		cmocka_unit_test(test_snapshot_thread_names),
		cmocka_unit_test(test_snapshot_kernel_frames),
		cmocka_unit_test(test_snapshot_go_program),
		cmocka_unit_test(test_snapshot_sigint_ends_early_and_prints),
		cmocka_unit_test(test_snapshot_high_rate_stays_stoppable),
		cmocka_unit_test(test_snapshot_target_exits_during_window),
		cmocka_unit_test(test_snapshot_states_and_block),
	};

	flametop = getenv("FLAMETOP");
	workloads = getenv("FLAMETOP_WORKLOADS");
	if (!flametop || !workloads) {
		fprintf(stderr, "FLAMETOP and FLAMETOP_WORKLOADS must be set (meson test does)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, check_bpf, NULL);
}
