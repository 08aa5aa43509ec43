// SPDX-License-Identifier: GPL-2.0-only
/*
 * The per-tick passes over /proc of a whole-system session, alone, on this host as it is (run it
 * while a load churns, e.g. bench/churn.sh's pipelines): every tick the memory of every process
 * read the way a session does it (probe_proc_mem_tick(): statm kept open) and the way a one-off
 * read does (probe_proc_memory_all(): every statm opened, read, closed), in turns, and the Go
 * runtime probe's look for Go processes (probe_goruntime_tick()), and the live view's naming of
 * every thread (probe_proc_update()); each timed with the thread's CPU clock. SLEEPERS more processes that only sleep make the host bigger. Prints the processes
 * with memory and the CPU of each pass per tick, in µs.
 *
 *   procpass [TICKS [TICK_MS [SLEEPERS]]]   (default 40 ticks of 250 ms, no sleepers)
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

#include "model/model.h"
#include "probes/goruntime.h"
#include "probes/proc.h"

static uint64_t clock_ns(clockid_t c)
{
	struct timespec ts;

	clock_gettime(c, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static unsigned long arg(const char *s, unsigned long def)
{
	char *end;
	unsigned long v;

	if (!s)
		return def;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end) {
		fprintf(stderr, "procpass: not a number: %s\n", s);
		exit(2);
	}
	return v;
}

static void sleepers(unsigned long n)
{
	for (unsigned long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("procpass: fork");
			exit(1);
		}
		if (pid == 0) {
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			if (getppid() == 1)
				_exit(0);
			for (;;)
				pause();
		}
	}
}

int main(int argc, char **argv)
{
	unsigned long ticks = arg(argc > 1 ? argv[1] : NULL, 40);
	unsigned long tick_ms = arg(argc > 2 ? argv[2] : NULL, 250);
	struct probe_goruntime_opts go_opts = { .memprofile_rate = -1 };
	uint64_t ns[4] = { 0 }, nr[2] = { 0 }, procs = 0;
	struct probe_goruntime *go;
	struct probe_proc_mem *pm;
	struct model *m;

	if (ticks < 3 || !tick_ms) {
		fprintf(stderr, "usage: procpass [TICKS>=3 [TICK_MS [SLEEPERS]]]\n");
		return 2;
	}
	sleepers(arg(argc > 3 ? argv[3] : NULL, 0));
	if (model_new(&(struct model_opts){ 0 }, &m) || probe_goruntime_new(&go_opts, &go) ||
	    probe_proc_mem_new(NULL, &pm)) {
		fprintf(stderr, "procpass: cannot set up\n");
		return 1;
	}
	for (unsigned long i = 0; i < ticks; i++) {
		bool kept = i % 2;
		uint64_t t0, t1, t2, t3;
		int n;

		usleep(tick_ms * 1000);
		t0 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		n = kept ? probe_proc_mem_tick(pm, m) : probe_proc_memory_all(NULL, m);
		t1 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		probe_goruntime_tick(go, m, clock_ns(CLOCK_MONOTONIC));
		t2 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		probe_proc_update(NULL, 0, m);
		t3 = clock_ns(CLOCK_THREAD_CPUTIME_ID);
		model_close_tick(m, clock_ns(CLOCK_MONOTONIC));
		if (i < 2)
			continue; /* the first ticks meet every process as new */
		procs += n > 0 ? (uint64_t)n : 0;
		ns[kept] += t1 - t0;
		nr[kept]++;
		ns[2] += t2 - t1;
		ns[3] += t3 - t2;
	}
	printf("ticks %lu processes_with_memory %.1f memory_once_us %.1f memory_kept_us %.1f "
	       "go_us %.1f names_us %.1f\n",
	       ticks - 2, (double)procs / (ticks - 2), ns[0] / 1e3 / nr[0], ns[1] / 1e3 / nr[1],
	       ns[2] / 1e3 / (ticks - 2), ns[3] / 1e3 / (ticks - 2));
	probe_proc_mem_free(pm);
	probe_goruntime_free(go);
	model_free(m);
	return 0;
}
