// SPDX-License-Identifier: GPL-2.0-only
/*
 * Processes whose records and samples land in different CPUs' rings: each of N children execs
 * this program on CPU 0 (its COMM and MMAP2 records go to CPU 0's ring), moves itself to CPU 1
 * and burns MS milliseconds of CPU there (its samples go to CPU 1's ring), then exits.
 *
 *   migrant N MS [stop]
 *
 * With "stop", the parent (flametop, running `-- migrant ...`) is stopped (SIGSTOP) while the N
 * children run, all on CPU 0, and continued after: their side-band records (~650 bytes each)
 * wait in CPU 0's ring for a drain that comes only then, as when a loaded host starves flametop.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "workload.h"

static void pin(int cpu)
{
	cpu_set_t set;

	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (sched_setaffinity(0, sizeof(set), &set))
		perror("migrant: sched_setaffinity");
}

static volatile unsigned long sink;

static void burn(unsigned long ms)
{
	uint64_t end = thread_cpu_ns() + ms * 1000000ull;

	while (thread_cpu_ns() < end)
		for (unsigned long i = 0; i < 10000; i++)
			sink += i;
}

int main(int argc, char **argv)
{
	unsigned long n, ms;
	char self[PATH_MAX];
	ssize_t len;

	if (argc == 3 && !strcmp(argv[1], "--child")) {
		pin(1);
		burn(strtoul(argv[2], NULL, 10));
		return 0;
	}
	if (argc != 3 && (argc != 4 || strcmp(argv[3], "stop"))) {
		fprintf(stderr, "usage: migrant N MS [stop]\n");
		return 2;
	}
	len = readlink("/proc/self/exe", self, sizeof(self) - 1);
	if (len <= 0) {
		perror("migrant: /proc/self/exe");
		return 1;
	}
	self[len] = '\0';
	n = strtoul(argv[1], NULL, 10);
	ms = strtoul(argv[2], NULL, 10);
	if (argc == 4) {
		usleep(500000); /* the session's first drain has come */
		pin(0);
		kill(getppid(), SIGSTOP);
	}
	for (unsigned long i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0) {
			perror("migrant: fork");
			return 1;
		}
		if (!pid) {
			char arg[32];

			pin(0);
			snprintf(arg, sizeof(arg), "%lu", ms);
			execl(self, "migrant", "--child", arg, (char *)NULL);
			_exit(127);
		}
		waitpid(pid, NULL, 0);
	}
	if (argc == 4)
		kill(getppid(), SIGCONT);
	return 0;
}
