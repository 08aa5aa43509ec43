// SPDX-License-Identifier: GPL-2.0-only
/*
 * flametop next to Go's own net/http/pprof endpoint on the same service at the same moment
 * (tests/workloads/gosvc, built with the oldest and the newest installed toolchain): goroutine
 * counts as /debug/pprof/goroutine?debug=1 gives them, and the heap profile's inuse_space by
 * function as `go tool pprof` reads /debug/pprof/heap and flametop's --metric goheap pprof, within
 * 5 %, and the block and mutex profiles (tests/tools/go_endpoint.py). Skips (77) without a
 * toolchain.
 */
#include <fcntl.h>
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
#include <unistd.h>

#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *workloads, *tools, *tmpdir;

static void run(const char *version)
{
	char path[512], go[128], buf[128] = "", pid[16], json[512], pb[512], cmd[4096];
	int fds[2], status, port = 0;
	struct runbin r;
	ssize_t n;
	pid_t p;
	FILE *f;

	snprintf(path, sizeof(path), "%s/gosvc-%s", workloads, version);
	snprintf(go, sizeof(go), "/usr/lib/go-%s/bin/go", version);
	assert_int_equal(pipe(fds), 0);
	p = fork();
	assert_true(p >= 0);
	if (!p) {
		dup2(fds[1], 1);
		close(fds[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(path, path, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	n = read(fds[0], buf, sizeof(buf) - 1); /* "ready PORT" once its heap is in place */
	close(fds[0]);
	if (n <= 0 || sscanf(buf, "ready %d", &port) != 1)
		fail_msg("gosvc-%s did not start: '%s'", version, buf);
	snprintf(pid, sizeof(pid), "%d", p);
	snprintf(json, sizeof(json), "%s/gosvc-%s.json", tmpdir, version);
	snprintf(pb, sizeof(pb), "%s/gosvc-%s.pb.gz", tmpdir, version);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "-p", pid, "--duration", "2",
				   "--format", "json", "-o", json, NULL });
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "-p", pid, "--duration", "1",
				   "--format", "pprof", "--metric", "goheap", "-o", pb, NULL });
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	snprintf(cmd, sizeof(cmd), "python3 %s/go_endpoint.py %s %d %d %s %s %s 2>&1", tools, go,
		 port, p, json, pb, tmpdir);
	f = popen(cmd, "r");
	assert_non_null(f);
	while (fgets(cmd, sizeof(cmd), f))
		print_message("gosvc-%s: %s", version, cmd);
	status = pclose(f);
	kill(p, SIGTERM);
	waitpid(p, NULL, 0);
	assert_int_equal(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
}

static void test_gosvc_case(void **state)
{
	run(*state);
}

int main(void)
{
	static const char *const versions[] = { "1.19", "1.23" };
	struct CMUnitTest tests[2];
	char names[2][32], path[512];
	size_t n = 0;

	flametop = getenv("FLAMETOP");
	workloads = getenv("FLAMETOP_WORKLOADS");
	tools = getenv("FLAMETOP_TEST_TOOLS");
	tmpdir = getenv("FLAMETOP_TEST_BUILD");
	if (!flametop || !workloads || !tools || !tmpdir)
		return 1;
	for (size_t v = 0; v < 2; v++) {
		snprintf(path, sizeof(path), "%s/gosvc-%s", workloads, versions[v]);
		if (access(path, X_OK))
			continue;
		snprintf(names[n], sizeof(names[n]), "gosvc-%s", versions[v]);
		tests[n] = (struct CMUnitTest){ .name = names[n], .test_func = test_gosvc_case,
						.initial_state = (void *)versions[v] };
		n++;
	}
	if (!n) {
		fprintf(stderr, "skipping: no Go 1.19 or 1.23 toolchain built the service "
				"(contrib/deps.sh installs them)\n");
		return 77;
	}
	return _cmocka_run_group_tests("gosvc", tests, n, NULL, NULL);
}
