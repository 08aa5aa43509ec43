// SPDX-License-Identifier: GPL-2.0-only
/*
 * Numbers that add up, whole system, on a busy machine (tests/tools/invariants.py checks them):
 * samples never more than the frequency allows over the window, no thread above 100 % of a CPU,
 * a thread's states never more than the window, the threads' samples adding up to the total,
 * lost figures per probe, and the text header agreeing with its states table.
 *
 * The load, next to whatever else the machine runs: two shell spinners (no system calls), the
 * states workload's mix (a spinner, sleepers, a lock waiter, a poller, a reader doing direct
 * I/O), its churn (1,000 threads born and gone a second) and a shell starting /bin/true in a
 * loop — more runnable threads than CPUs, threads and processes coming and going, every state.
 *
 * Skips (77) without root or where BPF cannot load.
 */
#include <errno.h>
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
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *workloads, *tools;

#define NR_LOAD 6

static pid_t load[NR_LOAD];
static char scratch[] = "/tmp/flametop-inv-XXXXXX";

static pid_t start(char **argv)
{
	pid_t pid = runbin_start_group(argv);

	assert_true(pid > 0);
	return pid;
}

static int start_load(void **state)
{
	char *states = runbin_path(workloads, "states");

	if (!mkdtemp(scratch))
		return -1;
	load[0] = start((char *[]){ "/bin/sh", "-c", "while :; do :; done", NULL });
	load[1] = start((char *[]){ "/bin/sh", "-c", "while :; do :; done", NULL });
	load[2] = start((char *[]){ "/bin/sh", "-c", "while :; do /bin/true; done", NULL });
	load[3] = start((char *[]){ states, "60", "mix", scratch, NULL });
	load[4] = start((char *[]){ runbin_path(workloads, "states"), "60", "churn", scratch,
				    NULL });
	load[5] = start((char *[]){ runbin_path(workloads, "split31"), "60", NULL });
	sleep(1);
	return 0;
}

static int stop_load(void **state)
{
	char cmd[128];

	for (int i = 0; i < NR_LOAD; i++) {
		if (load[i] > 0) {
			kill(-load[i], SIGKILL);
			waitpid(load[i], NULL, 0);
		}
	}
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", scratch);
	return system(cmd) ? -1 : 0;
}

static void check(const char *format)
{
	char out[64], arg[80];
	struct runbin r;

	snprintf(out, sizeof(out), "/tmp/flametop-inv-%d.%s", (int)getpid(), format);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--duration", "5", "--format",
				   (char *)format, "-o", out, NULL });
	if (r.status)
		fail_msg("flametop snapshot: status %d: %s", r.status, r.err);
	runbin_free(&r);
	snprintf(arg, sizeof(arg), "--%s", format);
	runbin_run(&r, (char *[]){ "/usr/bin/python3", runbin_path(tools, "invariants.py"), arg,
				   out, NULL });
	print_message("%s%s", r.out, r.err);
	unlink(out);
	if (r.status)
		fail_msg("the %s snapshot's numbers do not add up", format);
	runbin_free(&r);
}

static void test_invariants_json(void **state)
{
	check("json");
}

static void test_invariants_text(void **state)
{
	check("text");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invariants_json),
		cmocka_unit_test(test_invariants_text),
	};
	struct runbin r;

	flametop = getenv("FLAMETOP");
	workloads = getenv("FLAMETOP_WORKLOADS");
	tools = getenv("FLAMETOP_TEST_TOOLS");
	if (!flametop || !workloads || !tools) {
		fprintf(stderr, "FLAMETOP, FLAMETOP_WORKLOADS and FLAMETOP_TEST_TOOLS must be set\n");
		return 1;
	}
	if (geteuid() != 0) {
		printf("SKIP: needs root (a whole-system snapshot with BPF)\n");
		return 77;
	}
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--duration", "1", "--source",
				   "bpf", "--heap", "off", "--format", "json", "-o", "/dev/null",
				   NULL });
	if (r.status) {
		printf("SKIP: BPF cannot sample here: %s", r.err);
		runbin_free(&r);
		return 77;
	}
	runbin_free(&r);
	return cmocka_run_group_tests(tests, start_load, stop_load);
}
