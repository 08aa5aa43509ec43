// SPDX-License-Identifier: GPL-2.0-only
/*
 * Where all of a thread's time goes, through the real binary: the wallsplit workload's workers
 * spend a quarter of every 200 ms in each of burn() (CPU), wait_turn() (a mutex), write_through()
 * (file I/O) and nap() (sleep). Recorded once and converted:
 *   - per worker, the wall flame (speedscope, --metric wall) gives each state the time the
 *     threads' state_ms (json of the same recording) says, within 5 points;
 *   - per worker, the time under each of the four functions is 25 % within 10 points — or, where
 *     a loaded host broke the plan (an fdatasync on a shared disk running past its phase), the
 *     share the workload measured on its own clock for that function, said so;
 *   - folded and pprof carry the same, the state as the leaf (pprof read by go tool pprof);
 * and live (snapshot, folded --metric wall --waker-stacks) the four quarters again, the mutex
 * waits woken by the holder. Both runs cover the workload's whole life (-- CMD: the window ends
 * when it exits), so its own figures (wallsplit's PHASES file) are of the same time. The workload runs at
 * SCHED_FIFO ("rt") so that other work on the machine cannot move time between its phases
 * (tests/workloads/wallsplit.c); flametop itself runs as usual. Skips (77) where BPF or the sched
 * probe cannot run.
 */
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *tools;
static char wallsplit[PATH_MAX], dir[PATH_MAX], rec[PATH_MAX + 16];

static const char *const phases[] = { "burn", "wait_turn", "write_through", "nap" };
#define NR_PHASES 4
#define MAX_WORKERS 4

/* What a run of wallsplit measured of itself (its PHASES file): ns per worker and phase. */
struct measured {
	int nr;
	char comm[MAX_WORKERS][32];
	double ns[MAX_WORKERS][NR_PHASES];
};

static struct measured recorded; /* the recording's run */

/* 0, or -1 when the file is missing or names no worker */
static int read_measured(const char *file, struct measured *m)
{
	FILE *f = fopen(file, "r");
	char line[256];

	memset(m, 0, sizeof(*m));
	if (!f) {
		fprintf(stderr, "wallsplit wrote no %s: %s\n", file, strerror(errno));
		return -1;
	}
	while (m->nr < MAX_WORKERS && fgets(line, sizeof(line), f)) {
		double *v = m->ns[m->nr];

		if (sscanf(line, "%31s %lf %lf %lf %lf", m->comm[m->nr], &v[0], &v[1], &v[2],
			   &v[3]) == 5)
			m->nr++;
	}
	fclose(f);
	return m->nr ? 0 : -1;
}

/*
 * The share of phase k the flame must show, in percent: a quarter, as the workload plans — unless
 * the workload's own clock says that on this run the phase took another share (a loaded host: a
 * write_through() past its deadline shrinks the next cycle's burn() and nap()); then that share,
 * and the output says so. worker: one worker's comm, or NULL for all of them.
 */
static double expected_share(const struct measured *m, const char *worker, int k)
{
	double in = 0, all = 0, pct;

	for (int w = 0; w < m->nr; w++) {
		if (worker && strcmp(worker, m->comm[w]))
			continue;
		in += m->ns[w][k];
		for (int j = 0; j < NR_PHASES; j++)
			all += m->ns[w][j];
	}
	assert_true(all > 0);
	pct = 100 * in / all;
	if (fabs(pct - 25) <= 2)
		return 25;
	print_message("%s %s: the workload's own clock says %.1f %%, not the planned 25 %% "
		      "(its first burn() before the first cycle, or a loaded host moving time "
		      "between phases): judged against %.1f %%\n",
		      worker ? worker : "workers", phases[k], pct, pct);
	return pct;
}

static char *path(const char *name)
{
	return runbin_path(dir, name);
}

/* The per-thread figures of tools/wall_shares.py for the workers. */
struct worker {
	char comm[32];
	double all_ms;
	double phase_ms[NR_PHASES];
	int nr_states;
	struct {
		char name[32];
		double wall_ms, state_ms;
	} states[16];
};

static int shares(const char *wall_json, const char *snap_json, struct worker *w, int max)
{
	char cmd[16384], line[512];
	int n = 0;
	FILE *p;

	snprintf(cmd, sizeof(cmd), "python3 %s/wall_shares.py %s %s burn wait_turn write_through nap",
		 tools, wall_json, snap_json);
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		char kind[8], comm[32], what[32];
		unsigned tid;
		double a, b;
		struct worker *cur;

		if (sscanf(line, "%7s %u %31s %31s %lf %lf", kind, &tid, comm, what, &a, &b) != 6 ||
		    strncmp(comm, "worker-", 7))
			continue;
		fputs(line, stderr);
		if (!n || strcmp(w[n - 1].comm, comm)) {
			if (n == max)
				break;
			memset(&w[n], 0, sizeof(w[n]));
			snprintf(w[n].comm, sizeof(w[n].comm), "%s", comm);
			n++;
		}
		cur = &w[n - 1];
		if (!strcmp(kind, "state") && cur->nr_states < 16) {
			snprintf(cur->states[cur->nr_states].name, 32, "%s", what);
			cur->states[cur->nr_states].wall_ms = a;
			cur->states[cur->nr_states++].state_ms = b;
		} else if (!strcmp(kind, "under")) {
			for (int i = 0; i < NR_PHASES; i++)
				if (!strcmp(what, phases[i]))
					cur->phase_ms[i] = a;
			cur->all_ms = b;
		}
	}
	assert_int_equal(pclose(p), 0);
	return n;
}

static void test_wall_cli_matches_states_and_quarters(void **state)
{
	struct worker w[4];
	struct runbin r;
	int n;

	RUNBIN(&r, (char *)flametop, "convert", rec, "--format", "json", "-o", path("snap.json"));
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", rec, "--format", "speedscope", "--metric", "wall",
	       "-o", path("wall.json"));
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	n = shares(path("wall.json"), path("snap.json"), w, 4);
	assert_int_equal(n, 2);
	for (int i = 0; i < n; i++) {
		double sum_state = 0;

		/* a worker lived through the whole recording: seconds of it */
		assert_true(w[i].all_ms > 4000);
		for (int k = 0; k < w[i].nr_states; k++) {
			double d = (w[i].states[k].wall_ms - w[i].states[k].state_ms) / w[i].all_ms;

			print_message("%s %-8s wall %7.1f ms  state_ms %7.1f ms  (%+.2f points)\n",
				      w[i].comm, w[i].states[k].name, w[i].states[k].wall_ms,
				      w[i].states[k].state_ms, d * 100);
			assert_true(fabs(d) <= 0.05);
			sum_state += w[i].states[k].state_ms;
		}
		/* the flame's widths add up to the thread's time */
		assert_true(fabs(sum_state - w[i].all_ms) <= 0.05 * w[i].all_ms);
		for (int k = 0; k < NR_PHASES; k++) {
			double pct = 100 * w[i].phase_ms[k] / w[i].all_ms;
			double want = expected_share(&recorded, w[i].comm, k);

			print_message("%s %-13s %5.1f %% (known: %.1f %%)\n", w[i].comm, phases[k],
				      pct, want);
			assert_true(fabs(pct - want) <= 10);
		}
	}
}

/*
 * The weights of wallsplit's folded lines whose own stack — the part before "[woken by" with
 * --waker-stacks, the waker's frames left out (a holder woken by a worker has the worker's
 * worker_main and wait_turn there) — goes through fn and, with leaf, ends in that state.
 */
static double folded_sum(const char *out, const char *fn, const char *leaf)
{
	char want[64], end[64];
	size_t nwant, nend;
	double sum = 0;

	nwant = (size_t)snprintf(want, sizeof(want), ";%s;", fn);
	nend = (size_t)snprintf(end, sizeof(end), ";%s", leaf ? leaf : "");
	for (const char *l = out; *l;) {
		const char *nl = strchr(l, '\n'), *sp, *cut;
		size_t len = nl ? (size_t)(nl - l) : strlen(l), own;

		sp = memrchr(l, ' ', len);
		if (sp && !strncmp(l, "wallsplit;", 10)) {
			cut = memmem(l, (size_t)(sp - l), ";[woken by ", 11);
			own = (size_t)((cut ? cut : sp) - l);
			if (memmem(l, own, want, nwant) &&
			    (!leaf || (own >= nend && !memcmp(l + own - nend, end, nend))))
				sum += strtod(sp + 1, NULL);
		}
		l += len + (nl != NULL);
	}
	return sum;
}

/*
 * The time under fn ends in state, but for the waits for a CPU: after each wakeup ([runnable],
 * under the block's stack) and when preempted. On a quiet host those are a few percent; on a
 * loaded one (other SCHED_FIFO work, as other test runs' wallsplit) they were 40 % of
 * wait_turn(). So state must have 90 % of what is not [runnable]; the output says how much was.
 */
static void check_leaf(const char *out, const char *fn, const char *state)
{
	double all = folded_sum(out, fn, NULL), in = folded_sum(out, fn, state);
	double cpu = folded_sum(out, fn, "[runnable]");

	print_message("%-13s %s %5.1f %%, waiting for a CPU %5.1f %%%s\n", fn, state,
		      100 * in / all, 100 * cpu / all,
		      cpu > 0.05 * all ? " (a loaded host: judged on the rest)" : "");
	assert_true(in > 0.9 * (all - cpu));
}

/* The workers' four quarters in folded wall output, and the state leaves under each; m: what
 * the workload measured of itself in that run. */
static void check_folded_quarters(const char *out, const struct measured *m)
{
	double all = folded_sum(out, "worker_main", NULL), sum = 0;

	print_message("workers: %.2f s of wall time\n", all / 1e6);
	assert_true(all > 5e6); /* µs: two workers, several seconds each */
	for (int k = 0; k < NR_PHASES; k++) {
		double pct = 100 * folded_sum(out, phases[k], NULL) / all;
		double want = expected_share(m, NULL, k);

		print_message("%-13s %5.1f %% (known: %.1f %%)\n", phases[k], pct, want);
		assert_true(fabs(pct - want) <= 10);
		sum += pct;
	}
	/* the rest is waiting for a CPU after a wakeup: no stack */
	assert_true(sum > 80);
	/* each quarter ends in its state */
	check_leaf(out, "burn", "[running]");
	check_leaf(out, "wait_turn", "[lock]");
	check_leaf(out, "nap", "[sleep]");
	assert_true(folded_sum(out, "write_through", "[io]") > 0);
	assert_true(folded_sum(out, "write_through", "[running]") > 0);
}

static void test_wall_cli_convert_folded(void **state)
{
	struct runbin r;

	RUNBIN(&r, (char *)flametop, "convert", rec, "--format", "folded", "--metric", "wall");
	assert_int_equal(r.status, 0);
	check_folded_quarters(r.out, &recorded);
	/* off-CPU is the same without the CPU: no [running] leaf, the blocked quarters kept */
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", rec, "--format", "folded", "--metric", "offcpu");
	assert_int_equal(r.status, 0);
	assert_int_equal(runbin_sum(r.out, "", ";[running] ", NULL), 0);
	assert_true(runbin_sum(r.out, "wallsplit;", ";wait_turn;", ";[lock] ", NULL) > 1000000);
	runbin_free(&r);
}

static void test_wall_cli_snapshot_live(void **state)
{
	struct measured live;
	struct runbin r;

	double lock, by_holder;

	/* with who woke the blocks: the mutex waits were ended by the holder, unlocking; the
	 * window is the workload's life (it ends when the command exits) */
	RUNBIN(&r, (char *)flametop, "snapshot", "--duration", "60", "--min-block", "20",
	       "--waker-stacks", "--format", "folded", "--metric", "wall", "--", wallsplit, "5",
	       dir, "2", "rt", path("live.phases"));
	if (r.status)
		fputs(r.err, stderr);
	assert_int_equal(r.status, 0);
	assert_int_equal(read_measured(path("live.phases"), &live), 0);
	check_folded_quarters(r.out, &live);
	lock = runbin_sum(r.out, "wallsplit;", ";wait_turn;", ";[lock]", NULL);
	by_holder = runbin_sum(r.out, "wallsplit;", ";wait_turn;", ";[lock];[woken by holder];",
			       "pthread_mutex_unlock", NULL);
	if (!by_holder) /* the unlock's frame-pointer walk may stop in libc: the name at least */
		by_holder = runbin_sum(r.out, "wallsplit;", ";wait_turn;",
				       ";[lock];[woken by holder];", NULL);
	print_message("wait_turn's lock %.0f ms, woken by the holder %.0f ms\n", lock / 1e3,
		      by_holder / 1e3);
	assert_true(by_holder > 0.8 * lock);
	runbin_free(&r);
}

static void test_wall_cli_pprof(void **state)
{
	char cmd[8192], line[1024];
	bool lock = false, wall = false;
	struct runbin r;
	FILE *p;

	RUNBIN(&r, (char *)flametop, "convert", rec, "--format", "pprof", "--metric", "wall", "-o",
	       path("wall.pb.gz"));
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	if (system("command -v go >/dev/null 2>&1")) {
		print_message("SKIP part: go is not installed (apt-get install golang-go)\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "HOME=%s GOFLAGS= go tool pprof -top %s 2>&1", dir,
		 path("wall.pb.gz"));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(line, sizeof(line), p)) {
		fputs(line, stderr);
		wall |= strstr(line, "Type: wall") != NULL;
		lock |= strstr(line, "[lock]") != NULL && strstr(line, "s ") != NULL;
	}
	assert_int_equal(pclose(p), 0);
	assert_true(wall);
	assert_true(lock);
}

static void test_wall_cli_needs_a_stack_format(void **state)
{
	struct runbin r;

	RUNBIN(&r, (char *)flametop, "snapshot", "--metric", "wall", "--format", "text");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "--metric wall needs --format folded"));
	runbin_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wall_cli_matches_states_and_quarters),
		cmocka_unit_test(test_wall_cli_convert_folded),
		cmocka_unit_test(test_wall_cli_pprof),
		cmocka_unit_test(test_wall_cli_snapshot_live),
		cmocka_unit_test(test_wall_cli_needs_a_stack_format),
	};
	const char *wl = getenv("FLAMETOP_WORKLOADS"), *build = getenv("FLAMETOP_TEST_BUILD");
	struct runbin r;
	int ret;

	flametop = getenv("FLAMETOP");
	tools = getenv("FLAMETOP_TEST_TOOLS");
	if (!flametop || !wl || !tools || !build) {
		fprintf(stderr, "FLAMETOP, FLAMETOP_WORKLOADS, FLAMETOP_TEST_TOOLS and "
				"FLAMETOP_TEST_BUILD must be set (meson test)\n");
		return 1;
	}
	snprintf(wallsplit, sizeof(wallsplit), "%s/wallsplit", wl);
	/* on the build's disk: the workload's file I/O must reach a real file system */
	snprintf(dir, sizeof(dir), "%s/wall-cli-XXXXXX", build);
	if (!mkdtemp(dir)) {
		fprintf(stderr, "cannot make a directory in %s: %s\n", build, strerror(errno));
		return 1;
	}
	snprintf(rec, sizeof(rec), "%s/wall.ftr", dir);
	/* --min-block 20: the workload's I/O waits are short, and the quarters are read from the
	 * functions the stacks go through */
	RUNBIN(&r, (char *)flametop, "record", "-o", rec, "--duration", "60", "--min-block", "20",
	       "--", wallsplit, "6", dir, "2", "rt", path("rec.phases"));
	if (r.status || !strstr(r.err, "recorded")) {
		fprintf(stderr, "%s", r.err);
		runbin_free(&r);
		fprintf(stderr, "skipping: flametop cannot record here (BPF)\n");
		ret = 77;
		goto out;
	}
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", rec, "--format", "json");
	if (r.status || (!strstr(r.out, "\"sched\": \"tp_btf\"") &&
				 !strstr(r.out, "\"sched\": \"raw_tp\""))) {
		fprintf(stderr, "skipping: the sched probe did not run: %.300s\n",
			strstr(r.out, "\"probes\"") ? strstr(r.out, "\"probes\"") : r.err);
		runbin_free(&r);
		ret = 77;
		goto out;
	}
	runbin_free(&r);
	if (read_measured(path("rec.phases"), &recorded)) {
		ret = 1;
		goto out;
	}
	ret = cmocka_run_group_tests(tests, NULL, NULL);
out:
	RUNBIN(&r, "rm", "-rf", dir);
	runbin_free(&r);
	return ret;
}
