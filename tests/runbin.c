// SPDX-License-Identifier: GPL-2.0-only
#include <grp.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static char *slurp(int fd)
{
	size_t len = 0, cap = 65536;
	char *buf = malloc(cap);
	ssize_t n;

	lseek(fd, 0, SEEK_SET);
	while ((n = read(fd, buf + len, cap - len - 1)) > 0) {
		len += n;
		if (cap - len < 4096)
			buf = realloc(buf, cap *= 2);
	}
	buf[len] = '\0';
	return buf;
}

static void run(struct runbin *r, uid_t uid, gid_t gid, int sig, double after, char **argv)
{
	char outp[] = "/tmp/flametop-out-XXXXXX", errp[] = "/tmp/flametop-err-XXXXXX";
	int out = mkstemp(outp), err = mkstemp(errp), status;
	struct timespec a, b;
	pid_t pid;

	assert_true(out >= 0 && err >= 0);
	clock_gettime(CLOCK_MONOTONIC, &a);
	pid = fork();
	if (pid == 0) {
		dup2(out, 1);
		dup2(err, 2);
		if (uid != (uid_t)-1 && (setgroups(0, NULL) || setgid(gid) || setuid(uid))) {
			perror("setuid");
			_exit(125);
		}
		execv(argv[0], argv);
		_exit(126);
	}
	if (sig > 0) {
		usleep(after * 1e6);
		kill(pid, sig);
	}
	waitpid(pid, &status, 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	r->seconds = (b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
	r->status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
	r->out = slurp(out);
	r->err = slurp(err);
	close(out);
	close(err);
	unlink(outp);
	unlink(errp);
}

void runbin_run(struct runbin *r, char **argv)
{
	run(r, (uid_t)-1, (gid_t)-1, 0, 0, argv);
}

void runbin_run_sig(struct runbin *r, int sig, double after, char **argv)
{
	run(r, (uid_t)-1, (gid_t)-1, sig, after, argv);
}

void runbin_run_as(struct runbin *r, uid_t uid, gid_t gid, char **argv)
{
	run(r, uid, gid, 0, 0, argv);
}

void runbin_free(struct runbin *r)
{
	free(r->out);
	free(r->err);
}

uint64_t runbin_sum(const char *folded, const char *prefix, ...)
{
	const char *line = folded;
	uint64_t sum = 0;

	while (line && *line) {
		const char *end = strchr(line, '\n'), *space;
		size_t len = end ? (size_t)(end - line) : strlen(line);
		char *buf = strndup(line, len);
		bool all = !strncmp(buf, prefix, strlen(prefix));
		va_list ap;

		va_start(ap, prefix);
		for (const char *w; (w = va_arg(ap, const char *));)
			all = all && strstr(buf, w);
		va_end(ap);
		space = strrchr(buf, ' ');
		if (all && space)
			sum += strtoull(space + 1, NULL, 10);
		free(buf);
		line = end ? end + 1 : NULL;
	}
	return sum;
}

char *runbin_path(const char *dir, const char *name)
{
	static char paths[16][4200];
	static int next;
	char *p = paths[next++ % 16];

	snprintf(p, sizeof(paths[0]), "%s/%s", dir, name);
	return p;
}

/* Newton's square root: the tests that share this file need no libm for one helper. */
static double root(double x)
{
	double r = x > 1 ? x : 1;

	for (int i = 0; i < 60 && x > 0; i++)
		r = (r + x / r) / 2;
	return x > 0 ? r : 0;
}

double runbin_share_tolerance(uint64_t n, double p)
{
	double sd = n ? 100.0 * root(p * (1 - p) / (double)n) : 100;

	return 3 * sd > 5 ? 3 * sd : 5;
}

pid_t runbin_start_group(char **argv)
{
	pid_t pid = fork();

	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (!freopen("/dev/null", "w", stdout))
			_exit(127);
		setpgid(0, 0);
		execv(argv[0], argv);
		_exit(127);
	}
	return pid;
}

double runbin_json_number(const char *json, const char *key)
{
	const char *p = strstr(json, key);

	if (!p)
		fail_msg("no %s in the json", key);
	return strtod(p + strlen(key), NULL);
}
