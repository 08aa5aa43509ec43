// SPDX-License-Identifier: GPL-2.0-only
/*
 * The Go runtime probe's look at processes (probes/goruntime.c): a process is looked at again
 * by its executable alone, so one that was not Go and execs a Go program must be read as Go
 * within RECHECK_TICKS; two processes of one stripped executable are both read (the second
 * located from what the first one's scans found). Runs the Go fixtures of tests/workloads.
 * And starting the probe does not sleep (it measured the TSC's rate by a 20 ms sleep before).
 */
#include <errno.h>
#include <inttypes.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "model/model.h"
#include "probes/goruntime.h"

static unsigned nr_sleeps;

/* every nanosleep of this program (the probe's too) is counted, then done */
int nanosleep(const struct timespec *req, struct timespec *rem)
{
	nr_sleeps++;
	return (int)syscall(SYS_nanosleep, req, rem);
}

static const char *const versions[] = { "1.23", "1.22", "1.21", "1.19" };

struct child {
	pid_t pid;
	int in, out;
};

/* A fixture's path (stripped: suffix "-sw"), or false when it was not built. */
static bool fixture(const char *suffix, char *path, size_t len)
{
	const char *dir = getenv("FLAMETOP_WORKLOADS");

	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		snprintf(path, len, "%s/gofix-%s%s", dir ? dir : ".", versions[v], suffix);
		if (!access(path, X_OK))
			return true;
	}
	return false;
}

/* /bin/sh that execs the fixture once a line comes on its stdin (exec_now: at once). */
static void start(struct child *c, const char *path, bool exec_now)
{
	int in[2], out[2];
	char script[600];

	snprintf(script, sizeof(script), "%s exec '%s' -grow 0 -alloc 4 -seconds 60",
		 exec_now ? "" : "read x;", path);
	assert_int_equal(pipe(in), 0);
	assert_int_equal(pipe(out), 0);
	c->pid = fork();
	assert_true(c->pid >= 0);
	if (!c->pid) {
		dup2(in[0], 0);
		dup2(out[1], 1);
		close(in[1]);
		close(out[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(in[0]);
	close(out[1]);
	c->in = in[1];
	c->out = out[0];
}

/* Waits for the fixture's "ready". */
static void ready(struct child *c)
{
	char buf[128] = "";
	ssize_t n = read(c->out, buf, sizeof(buf) - 1);

	assert_true(n > 0 && strstr(buf, "ready"));
}

static void stop(struct child *c)
{
	close(c->in);
	close(c->out);
	kill(c->pid, SIGKILL);
	waitpid(c->pid, NULL, 0);
}

static uint64_t mono_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* One tick of the probe and the model; how many Go processes are read, and off. */
static void tick(struct probe_goruntime *p, struct model *m, uint64_t *ns, size_t *go,
		 size_t *off)
{
	*ns += 1000000000ull;
	probe_goruntime_tick(p, m, mono_ns());
	assert_int_equal(model_close_tick(m, *ns), 0);
	probe_goruntime_counts(p, go, off);
}

/* A shell, not Go at its first look, execs a Go program: read as Go after the next looks. */
static void test_goruntime_exec_into_go(void **state)
{
	struct probe_goruntime *p;
	struct child c;
	struct model *m;
	char path[512];
	size_t go = 0, off = 0;
	uint64_t ns;
	uint32_t pid;
	int ticks;

	if (!fixture("", path, sizeof(path)))
		skip();
	start(&c, path, false);
	pid = (uint32_t)c.pid;
	assert_int_equal(model_new(NULL, &m), 0);
	ns = model_start_ns(m);
	assert_int_equal(probe_goruntime_new(&(struct probe_goruntime_opts){
						     .pids = &pid,
						     .nr_pids = 1,
						     .memprofile_rate = -1,
					     },
					     &p),
			 0);
	tick(p, m, &ns, &go, &off);
	assert_int_equal(go, 0);
	assert_int_equal(write(c.in, "\n", 1), 1);
	ready(&c);
	for (ticks = 1; ticks <= 6 && !go; ticks++)
		tick(p, m, &ns, &go, &off);
	print_message("read as Go after %d ticks\n", ticks - 1);
	assert_int_equal(go, 1);
	assert_int_equal(off, 0);
	probe_goruntime_free(p);
	model_free(m);
	stop(&c);
}

/* Two processes of one stripped executable, the second started after the first was read:
 * both read, neither off; then the first exits and only the second is left. The fixture does not
 * profile (runtime.MemProfileRate 0, no block or mutex profile): the first look at the first
 * process scans for the profile buckets and memstats and finds none, and the second one's first
 * look does not scan again. */
static void test_goruntime_same_executable(void **state)
{
	struct probe_goruntime *p;
	struct child a, b;
	struct model *m;
	char path[512];
	size_t go = 0, off = 0;
	uint32_t pids[2];
	uint64_t ns;

	if (!fixture("-sw", path, sizeof(path)))
		skip();
	start(&a, path, true);
	ready(&a);
	start(&b, path, true);
	ready(&b);
	pids[0] = (uint32_t)a.pid;
	pids[1] = (uint32_t)b.pid;
	assert_int_equal(model_new(NULL, &m), 0);
	ns = model_start_ns(m);
	assert_int_equal(probe_goruntime_new(&(struct probe_goruntime_opts){
						     .pids = pids,
						     .nr_pids = 2,
						     .memprofile_rate = -1,
					     },
					     &p),
			 0);
	tick(p, m, &ns, &go, &off);
	assert_int_equal(go, 2);
	assert_int_equal(off, 0);
	print_message("scans after the first look at both: %" PRIu64 "\n", probe_goruntime_scans(p));
	assert_int_equal(probe_goruntime_scans(p), 2); /* buckets and memstats, of the first only */
	stop(&a);
	/* a target is looked at again every RECHECK_TICKS (5) */
	for (int ticks = 0; ticks < 6 && go == 2; ticks++)
		tick(p, m, &ns, &go, &off);
	assert_int_equal(go, 1);
	assert_int_equal(off, 0);
	probe_goruntime_free(p);
	model_free(m);
	stop(&b);
}

/* probe_goruntime_new sleeps not at all: the TSC's rate is measured over the time until a
 * block or mutex profile is read. */
static void test_goruntime_new_does_not_sleep(void **state)
{
	struct probe_goruntime *p;
	unsigned before = nr_sleeps;

	(void)state;
	assert_int_equal(probe_goruntime_new(&(struct probe_goruntime_opts){
						     .memprofile_rate = -1,
					     },
					     &p),
			 0);
	print_message("nanosleep calls in probe_goruntime_new: %u\n", nr_sleeps - before);
	assert_int_equal(nr_sleeps - before, 0);
	probe_goruntime_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_goruntime_exec_into_go),
		cmocka_unit_test(test_goruntime_same_executable),
		cmocka_unit_test(test_goruntime_new_does_not_sleep),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
