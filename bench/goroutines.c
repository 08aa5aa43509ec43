// SPDX-License-Identifier: GPL-2.0-only
/*
 * What reading a Go program's goroutines costs, and whether the program notices: a target with
 * N goroutines parked 8 calls deep and one worker counting its finished computations
 * (bench/gowork), read every second by the real source and model (probes/goruntime +
 * model_close_tick), as the live view does. Reports flametop's thread CPU per tick — the first
 * (new stacks) and the steady state (parked stacks cached); "read" is the source, including
 * handing every goroutine to the model, "model close" the grouping at the tick's end —
 * and the worker's throughput in alternating periods without and with the reads.
 *   goroutines GOWORK N [ROUNDS] [SECONDS]       (as root, or the target's user)
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "model/goroutines.h"
#include "model/model.h"
#include "probes/goruntime.h"

static int out_fd;
static char line[256];
static size_t line_len;
static unsigned long long last_count;

static double mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static double thread_cpu(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* The target's newest count (it writes one a line every 100 ms). */
static unsigned long long count_now(void)
{
	char buf[4096];
	ssize_t n;

	while ((n = read(out_fd, buf, sizeof(buf))) > 0) {
		for (ssize_t i = 0; i < n; i++) {
			if (buf[i] == '\n') {
				line[line_len] = '\0';
				last_count = strtoull(line, NULL, 10);
				line_len = 0;
			} else if (line_len + 1 < sizeof(line)) {
				line[line_len++] = buf[i];
			}
		}
	}
	return last_count;
}

/* The target's CPU time so far (utime + stime of /proc/PID/stat), seconds. */
static double proc_cpu(pid_t pid)
{
	char path[64], buf[1024], *rp;
	unsigned long long ut, st;
	FILE *f;
	size_t n;

	snprintf(path, sizeof(path), "/proc/%d/stat", pid);
	f = fopen(path, "r");
	if (!f)
		return 0;
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	rp = strrchr(buf, ')');
	if (!rp || sscanf(rp + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut,
			  &st) != 2)
		return 0;
	return (ut + st) / (double)sysconf(_SC_CLK_TCK);
}

static void sleep_until(double t)
{
	double d = t - mono();

	if (d > 0) {
		struct timespec ts = { (time_t)d, (long)((d - (time_t)d) * 1e9) };

		nanosleep(&ts, NULL);
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int rounds = argc > 3 ? atoi(argv[3]) : 3, secs = argc > 4 ? atoi(argv[4]) : 5;
	double read_cpu[1024], model_cpu[1024], alone[16], under[16], first_read = 0;
	double alone_cpu[16], under_cpu[16];
	double first_model = 0;
	size_t nr = 0;
	struct probe_goruntime *p;
	struct model *m;
	uint32_t pid;
	int fds[2];
	pid_t child;

	if (argc < 3 || rounds < 1 || rounds > 16 || secs < 1 || secs > 60) {
		fprintf(stderr, "usage: goroutines GOWORK N [ROUNDS 1-16] [SECONDS 1-60]\n");
		return 2;
	}
	if (pipe(fds))
		return 1;
	child = fork();
	if (!child) {
		dup2(fds[1], 1);
		close(fds[0]);
		execl(argv[1], argv[1], argv[2], "1", (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	out_fd = fds[0];
	fcntl(out_fd, F_SETFL, O_NONBLOCK);
	for (double until = mono() + 120; !count_now() && mono() < until;)
		usleep(50000);
	if (!last_count) {
		fprintf(stderr, "goroutines: %s did not start\n", argv[1]);
		kill(child, SIGKILL);
		return 1;
	}
	pid = child;
	model_new(NULL, &m);
	probe_goruntime_new(&(struct probe_goruntime_opts){ .pids = &pid, .nr_pids = 1,
							    .memprofile_rate = -1 },
			    &p);
	for (int r = 0; r < rounds; r++) {
		unsigned long long c0;
		double t0, p0;

		/* alone: nothing reads it */
		t0 = mono();
		c0 = count_now();
		p0 = proc_cpu(child);
		sleep_until(t0 + secs);
		alone[r] = (count_now() - c0) / (mono() - t0);
		alone_cpu[r] = (count_now() - c0) / (proc_cpu(child) - p0 + 1e-9);
		/* read every second, as the live view does */
		t0 = mono();
		c0 = count_now();
		p0 = proc_cpu(child);
		for (int s = 0; s < secs; s++) {
			double a = thread_cpu(), b, c;

			probe_goruntime_tick(p, m, (uint64_t)(mono() * 1e9));
			b = thread_cpu();
			model_close_tick(m, (uint64_t)(mono() * 1e9));
			c = thread_cpu();
			if (!r && !s) {
				first_read = b - a;
				first_model = c - b;
			} else if (nr < 1024) {
				read_cpu[nr] = b - a;
				model_cpu[nr++] = c - b;
			}
			sleep_until(t0 + s + 1);
		}
		under[r] = (count_now() - c0) / (mono() - t0);
		under_cpu[r] = (count_now() - c0) / (proc_cpu(child) - p0 + 1e-9);
	}
	{
		const char *w;
		const struct tick *t = model_tick(m, 0);
		uint32_t gs = t && t->go && t->go->nr_procs ? t->go->procs[0].goroutines : 0;

		while ((w = probe_goruntime_warning(p)))
			fprintf(stderr, "goroutines: %s\n", w);
		qsort(read_cpu, nr, sizeof(double), cmp);
		qsort(model_cpu, nr, sizeof(double), cmp);
		qsort(alone, rounds, sizeof(double), cmp);
		qsort(under, rounds, sizeof(double), cmp);
		qsort(alone_cpu, rounds, sizeof(double), cmp);
		qsort(under_cpu, rounds, sizeof(double), cmp);
		printf("goroutines %u (asked %s, parked 8 calls deep)\n", gs, argv[2]);
		printf("first tick: read %.1f ms + model close %.1f ms CPU (stacks read until the "
		       "read's 100 ms budget, the rest the next tick)\n",
		       first_read * 1e3, first_model * 1e3);
		printf("steady tick: read %.1f ms (max %.1f) + model close %.1f ms (max %.1f) CPU, "
		       "median of %zu\n",
		       read_cpu[nr / 2] * 1e3, read_cpu[nr - 1] * 1e3, model_cpu[nr / 2] * 1e3,
		       model_cpu[nr - 1] * 1e3, nr);
		printf("target throughput: %.0f/s alone, %.0f/s read every second (medians of %d "
		       "alternating %d s periods: %+.1f%%)\n",
		       alone[rounds / 2], under[rounds / 2], rounds, secs,
		       100.0 * (under[rounds / 2] - alone[rounds / 2]) / alone[rounds / 2]);
		printf("target work per CPU second: %.0f alone, %.0f read (%+.1f%%: what the reads "
		       "cost the program itself, other load on the host aside)\n",
		       alone_cpu[rounds / 2], under_cpu[rounds / 2],
		       100.0 * (under_cpu[rounds / 2] - alone_cpu[rounds / 2]) /
			       alone_cpu[rounds / 2]);
	}
	probe_goruntime_free(p);
	model_free(m);
	kill(child, SIGTERM);
	waitpid(child, NULL, 0);
	return 0;
}
