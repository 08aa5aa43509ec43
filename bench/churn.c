// SPDX-License-Identifier: GPL-2.0-only
/*
 * The memory bench's process churn: RATE short processes a second (fork, exec /bin/true, wait),
 * until killed. Each is a new pid with its own threads, maps and stacks for flametop to forget.
 *
 *   churn RATE
 */
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	long rate = argc > 1 ? strtol(argv[1], NULL, 10) : 200;
	struct timespec next;

	if (rate <= 0)
		return 2;
	clock_gettime(CLOCK_MONOTONIC, &next);
	for (;;) {
		pid_t pid = fork();

		if (pid == 0) {
			execl("/bin/true", "true", NULL);
			_exit(127);
		}
		if (pid > 0)
			waitpid(pid, NULL, 0);
		next.tv_nsec += 1000000000L / rate;
		if (next.tv_nsec >= 1000000000L) {
			next.tv_nsec -= 1000000000L;
			next.tv_sec++;
		}
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
	}
	return 0;
}
