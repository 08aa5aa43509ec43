// SPDX-License-Identifier: GPL-2.0-only
/*
 * What locating a Go program's runtime costs flametop (probes/golocate.c) when its binary tells
 * nothing: golocate_run() with .symtab ignored (the scans a stripped binary gets) on a running
 * Go program, timed with the thread's CPU clock; and golocate_retry(), which a process whose
 * profiles were not found yet gets every few ticks. Prints system calls and µs of each.
 *
 *   goscan RUNS GO_PROGRAM [ARGS...]   (the program prints a line with "ready" once set up:
 *                                       tests/workloads/gofix-1.NN -grow 0 -alloc 4 -seconds 60)
 *   goscan RUNS -p PID                 (a Go program already running)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "probes/goelf.h"
#include "probes/golocate.h"
#include "probes/gomem.h"

static uint64_t cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

/* The load bias of path in pid: where its offset 0 is mapped, less its ELF base. */
static int bias_of(pid_t pid, const char *path, uint64_t base, uint64_t *bias)
{
	char maps[64], line[1024];
	const char *name = strrchr(path, '/') ? strrchr(path, '/') + 1 : path;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", pid);
	f = fopen(maps, "re");
	if (!f)
		return -errno;
	while (fgets(line, sizeof(line), f)) {
		unsigned long long lo, off;

		if (sscanf(line, "%llx-%*x %*s %llx", &lo, &off) == 2 && off == 0 &&
		    strstr(line, name)) {
			*bias = lo - base;
			fclose(f);
			return 0;
		}
	}
	fclose(f);
	return -ENOENT;
}

/* Starts the program and waits for its "ready" line. */
static pid_t start(char **argv)
{
	char buf[256] = "";
	int fds[2];
	pid_t pid;
	ssize_t n;

	if (pipe(fds) || (pid = fork()) < 0)
		return -1;
	if (!pid) {
		dup2(fds[1], 1);
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execv(argv[0], argv);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1);
	close(fds[0]);
	return n > 0 && strstr(buf, "ready") ? pid : -1;
}

int main(int argc, char **argv)
{
	char path[4096], err[256];
	struct goelf elf;
	uint64_t bias = 0, ns = 0, retry_ns = 0, calls = 0, retry_calls = 0;
	unsigned long runs;
	bool attached = argc == 4 && !strcmp(argv[2], "-p");
	pid_t pid = attached ? (pid_t)strtol(argv[3], NULL, 10) : 0;
	ssize_t n;
	int fd, r = 1;

	if (argc < 3 || !(runs = strtoul(argv[1], NULL, 10)) || (attached && pid <= 0)) {
		fprintf(stderr, "usage: goscan RUNS GO_PROGRAM [ARGS...] | goscan RUNS -p PID\n");
		return 2;
	}
	if (attached) {
		char exe[64];

		snprintf(exe, sizeof(exe), "/proc/%d/exe", pid);
		n = readlink(exe, path, sizeof(path) - 1);
		if (n <= 0) {
			perror("goscan: readlink");
			return 1;
		}
		path[n] = '\0';
	} else {
		snprintf(path, sizeof(path), "%s", argv[2]);
	}
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || goelf_load_fd(fd, &elf, err, sizeof(err))) {
		fprintf(stderr, "goscan: %s: %s\n", path, fd < 0 ? strerror(errno) : err);
		return 1;
	}
	close(fd);
	if (!attached)
		pid = start(argv + 2);
	if (pid <= 0 || bias_of(pid, path, elf.base, &bias)) {
		fprintf(stderr, "goscan: %s did not start\n", path);
		goto out;
	}
	for (unsigned long i = 0; i < runs; i++) {
		struct golocate loc;
		struct gomem m;
		uint64_t t0;

		gomem_init_pid(&m, pid);
		t0 = cpu_ns();
		if (golocate_run(&loc, &elf, bias, &m, GOLOCATE_SCAN_ONLY, err, sizeof(err))) {
			fprintf(stderr, "goscan: %s\n", err);
			goto out;
		}
		ns += cpu_ns() - t0;
		calls += m.stats.calls;
		m.stats.calls = 0;
		t0 = cpu_ns();
		golocate_retry(&loc, &elf, bias, &m);
		retry_ns += cpu_ns() - t0;
		retry_calls += m.stats.calls;
		if (i == 0) {
			uint64_t start = elf.sec[GOELF_BSS].addr + bias, out[3];

			m.stats = (struct gomem_stats){ 0 };
			golocate_scan_buckets(&m, &elf.layout, start, elf.sec[GOELF_BSS].size,
					      loc.text_lo, loc.text_hi, out);
			fprintf(stderr, "bss buckets scan: calls %llu reqs %llu failed %llu\n",
				(unsigned long long)m.stats.calls, (unsigned long long)m.stats.reqs,
				(unsigned long long)m.stats.failed);
		}
		golocate_fini(&loc);
	}
	printf("locate: %.0f system calls, %.0f us; retry: %.0f system calls, %.0f us\n",
	       (double)calls / runs, ns / 1e3 / runs, (double)retry_calls / runs,
	       retry_ns / 1e3 / runs);
	r = 0;
out:
	if (!attached && pid > 0) {
		kill(pid, SIGKILL);
		waitpid(pid, NULL, 0);
	}
	return r;
}
