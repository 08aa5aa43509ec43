// SPDX-License-Identifier: GPL-2.0-only
/*
 * serve's scrape bench host (bench/serve.sh): N processes, "proc-0".."proc-N-1", each waking
 * every 100 ms to spin ~0.2 ms in one of four functions, so every process has CPU time, thread
 * states and busy functions on /metrics; until killed (the children die with the parent).
 *
 *   procs N
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <time.h>
#include <unistd.h>

static volatile unsigned long sink;

#define SPIN(name)                                                                               \
	__attribute__((noinline)) static void name(void)                                         \
	{                                                                                        \
		for (unsigned long i = 0; i < 100000; i++)                                       \
			sink += i;                                                               \
	}
SPIN(spin_a)
SPIN(spin_b)
SPIN(spin_c)
SPIN(spin_d)

static void child(int k)
{
	void (*fns[])(void) = { spin_a, spin_b, spin_c, spin_d };
	struct timespec ts = { 0, 100 * 1000 * 1000 };
	char name[16];

	snprintf(name, sizeof(name), "proc-%d", k);
	prctl(PR_SET_NAME, name);
	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() == 1)
		_exit(0);
	for (unsigned n = 0;; n++) {
		fns[(n + (unsigned)k) % 4]();
		nanosleep(&ts, NULL);
	}
}

int main(int argc, char **argv)
{
	long n = argc > 1 ? strtol(argv[1], NULL, 10) : 300;

	if (n <= 0 || n > 10000)
		return 2;
	for (int k = 0; k < n; k++) {
		pid_t pid = fork();

		if (pid == 0)
			child(k);
		if (pid < 0) {
			perror("fork");
			return 1;
		}
	}
	for (;;)
		pause();
}
