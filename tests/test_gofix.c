// SPDX-License-Identifier: GPL-2.0-only
/*
 * Goroutines through the real binary, on every Go toolchain installed (tests/workloads/gofix,
 * built by meson once per toolchain and variant: default, -buildmode=pie, -ldflags='-s -w').
 * The fixture's own runtime.Stack(buf, true) dump, taken right after the snapshot, is the
 * oracle (tests/tools/go_oracle.py): parked goroutines by (wait reason, created by) match
 * exactly, and the group that grows at a known rate grows, in the json, at the rate the
 * program's own dumps before and after show, within 10 %. Under churn (thousands of goroutines
 * made and ended a second) the stable groups still match and no group has an impossible stack.
 * Faults: a Go process flametop may not read (no CAP_SYS_PTRACE, another user's), one whose Go
 * version it does not know (a stripped build claiming go1.99), one that exits during the window:
 * one warning naming the process and why, the json says it in go[].error, the CPU profile is
 * there, exit status 0.
 * A toolchain that is not installed has no fixtures: its cases are not run, and without any the
 * test skips (exit 77).
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <linux/capability.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *workloads, *tools, *tmpdir;

struct fixture {
	pid_t pid;
	int out; /* its stdout */
	char dump[512];
};

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Starts a fixture and waits for its "ready" line. */
static void fixture_start(struct fixture *f, const char *name, const char *extra)
{
	char path[512], buf[256] = "";
	int p[2];
	size_t got = 0;
	double until = now_s() + 30;

	snprintf(path, sizeof(path), "%s/%s", workloads, name);
	snprintf(f->dump, sizeof(f->dump), "%s/%s.dump", tmpdir, name);
	unlink(f->dump);
	assert_int_equal(pipe(p), 0);
	f->pid = fork();
	assert_true(f->pid >= 0);
	if (!f->pid) {
		dup2(p[1], 1);
		close(p[0]);
		close(p[1]);
		if (extra)
			execl(path, path, "-dump", f->dump, extra, (char *)NULL);
		else
			execl(path, path, "-dump", f->dump, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	f->out = p[0];
	fcntl(f->out, F_SETFL, O_NONBLOCK);
	while (!strstr(buf, "ready") && now_s() < until) {
		ssize_t n = read(f->out, buf + got, sizeof(buf) - 1 - got);

		if (n > 0) {
			got += n;
			buf[got] = '\0';
		} else {
			usleep(20000);
		}
		if (got >= sizeof(buf) - 1)
			break;
	}
	if (!strstr(buf, "ready"))
		fail_msg("%s did not get ready: '%s'", name, buf);
}

/* Asks for a runtime.Stack dump and waits for the file; moves it to `as` when given. */
static void fixture_dump(struct fixture *f, const char *as)
{
	double until = now_s() + 20;
	struct stat st;

	unlink(f->dump);
	kill(f->pid, SIGUSR1);
	while (stat(f->dump, &st) && now_s() < until)
		usleep(20000);
	assert_int_equal(stat(f->dump, &st), 0);
	if (as)
		assert_int_equal(rename(f->dump, as), 0);
}

static void fixture_stop(struct fixture *f)
{
	int status;

	kill(f->pid, SIGTERM);
	waitpid(f->pid, &status, 0);
	close(f->out);
}

struct go_case {
	const char *fixture;
	bool growth; /* check the growing group's rate */
	bool churn;
};

static void run_case(const struct go_case *c)
{
	char json[512], dump0[512], pid[16], cmd[4096];
	struct fixture f;
	struct runbin r;
	FILE *p;
	int status;

	snprintf(json, sizeof(json), "%s/%s.json", tmpdir, c->fixture);
	snprintf(dump0, sizeof(dump0), "%s/%s.dump0", tmpdir, c->fixture);
	fixture_start(&f, c->fixture, c->churn ? "-churn" : NULL);
	snprintf(pid, sizeof(pid), "%d", f.pid);
	if (c->growth)
		fixture_dump(&f, dump0);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "-p", pid, "--duration",
				   c->growth ? "4" : "2", "--format", "json", "-o", json, NULL });
	if (r.status)
		fail_msg("flametop exited with %d: %s", r.status, r.err);
	runbin_free(&r);
	fixture_dump(&f, NULL);
	snprintf(cmd, sizeof(cmd),
		 /* main.main's goroutines (the grower, ticking 20 times a second; the
		  * spawners) move between their waits and runnable: the dump, taken after
		  * the snapshot, may catch one in another state */
		 "python3 %s/go_oracle.py %s %s %d --syscall-check main.syscallReader "
		 "--exclude-created-by main.main %s %s 2>&1",
		 tools, json, f.dump, f.pid,
		 c->growth ? "--growth-created-by main.grower --dump0" : "--exclude-created-by "
									 "main.grower",
		 c->growth ? dump0 : (c->churn ? "--exclude-created-by main.spawner "
						 "--churn-check main.spawner"
					       : ""));
	p = popen(cmd, "r");
	assert_non_null(p);
	while (fgets(cmd, sizeof(cmd), p))
		print_message("%s: %s", c->fixture, cmd);
	status = pclose(p);
	fixture_stop(&f);
	assert_int_equal(WIFEXITED(status) ? WEXITSTATUS(status) : -1, 0);
}

static void test_goroutines_case(void **state)
{
	run_case(*state);
}

/* The number of lines of s that contain what. */
static int lines_with(const char *s, const char *what)
{
	int n = 0;

	for (const char *p = s; (p = strstr(p, what)); p += strlen(what))
		n++;
	return n;
}

/* A snapshot of pid in json: exit 0, samples taken, and the go[] entry's error has `error`. */
static void snapshot_says(pid_t pid, const char *error, const char *warning, char *const *pre)
{
	char pidarg[16], json[512], *p;
	char *argv[16];
	struct runbin r;
	int n = 0;
	FILE *f;
	static char doc[1 << 20];
	size_t got;

	snprintf(pidarg, sizeof(pidarg), "%d", pid);
	snprintf(json, sizeof(json), "%s/fault.json", tmpdir);
	for (; pre && pre[n]; n++)
		argv[n] = pre[n];
	argv[n++] = (char *)flametop;
	argv[n++] = "snapshot";
	argv[n++] = "-p";
	argv[n++] = pidarg;
	argv[n++] = "--duration";
	argv[n++] = "2";
	argv[n++] = "--format";
	argv[n++] = "json";
	argv[n++] = "-o";
	argv[n++] = json;
	argv[n] = NULL;
	runbin_run(&r, argv);
	print_message("stderr: %s", r.err);
	assert_int_equal(r.status, 0);
	if (warning)
		assert_int_equal(lines_with(r.err, warning), 1);
	runbin_free(&r);
	f = fopen(json, "r");
	assert_non_null(f);
	got = fread(doc, 1, sizeof(doc) - 1, f);
	fclose(f);
	doc[got] = '\0';
	p = strstr(doc, "\"samples\": ");
	assert_non_null(p);
	assert_true(strtoul(p + 11, NULL, 10) > 0); /* the other views are unaffected */
	if (error) {
		p = strstr(doc, "\"error\": ");
		assert_non_null(p);
		assert_non_null(strstr(p, error));
	}
}

static pid_t start_as(const char *name, uid_t uid)
{
	char path[512];
	pid_t p;

	snprintf(path, sizeof(path), "%s/%s", workloads, name);
	p = fork();
	assert_true(p >= 0);
	if (!p) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (uid && (setgid(uid) || setuid(uid)))
			_exit(126);
		execl(path, path, "-seconds", "30", (char *)NULL);
		_exit(127);
	}
	usleep(500000);
	return p;
}

/* flametop without CAP_SYS_PTRACE on another user's Go program: EPERM, said once. */
static void test_gofix_no_ptrace(void **state)
{
	const char *fixture = *state;
	struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];
	pid_t p;

	if (geteuid())
		skip();
	p = start_as(fixture, 65534);
	/* a child drops CAP_SYS_PTRACE for good, then runs flametop */
	{
		pid_t c = fork();
		int status;

		assert_true(c >= 0);
		if (!c) {
			char pidarg[16], json[512];
			int null = open("/dev/null", O_WRONLY);

			prctl(PR_CAPBSET_DROP, CAP_SYS_PTRACE);
			syscall(SYS_capget, &h, d);
			d[0].effective &= ~(1u << CAP_SYS_PTRACE);
			d[0].permitted &= ~(1u << CAP_SYS_PTRACE);
			d[0].inheritable &= ~(1u << CAP_SYS_PTRACE);
			if (syscall(SYS_capset, &h, d))
				_exit(125);
			snprintf(pidarg, sizeof(pidarg), "%d", p);
			snprintf(json, sizeof(json), "%s/noptrace.json", tmpdir);
			dup2(null, 2);
			execl(flametop, flametop, "snapshot", "-p", pidarg, "--duration", "2",
			      "--format", "json", "-o", json, (char *)NULL);
			_exit(127);
		}
		waitpid(c, &status, 0);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	{
		/* the whole json: the go[] section comes last, after every thread's */
		static char doc[4 << 20];
		char json[512];
		FILE *f;
		size_t got;

		snprintf(json, sizeof(json), "%s/noptrace.json", tmpdir);
		f = fopen(json, "r");
		assert_non_null(f);
		got = fread(doc, 1, sizeof(doc) - 1, f);
		fclose(f);
		assert_true(got < sizeof(doc) - 1);
		doc[got] = '\0';
		assert_true(strstr(doc, "Operation not permitted (needs CAP_SYS_PTRACE") ||
			    strstr(doc, "Permission denied; needs CAP_SYS_PTRACE"));
		assert_null(strstr(doc, "\"samples\": 0,"));
	}
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

/* A version flametop has no layout for, in a binary without DWARF: refused, said once. */
static void test_gofix_unknown_version(void **state)
{
	const char *fixture = *state;
	char src[512], dst[512], name[64];
	static char bin[16 << 20];
	size_t n;
	char *v;
	FILE *f;
	pid_t p;

	snprintf(src, sizeof(src), "%s/%s", workloads, fixture);
	snprintf(name, sizeof(name), "gofix-unknown");
	snprintf(dst, sizeof(dst), "%s/%s", tmpdir, name);
	f = fopen(src, "rb");
	assert_non_null(f);
	n = fread(bin, 1, sizeof(bin), f);
	fclose(f);
	/* .go.buildinfo: "\xff Go buildinf:", then the version "go1.NN.P" */
	v = memmem(bin, n, "\xff Go buildinf:", 14);
	assert_non_null(v);
	v = memmem(v, 64, "go1.", 4);
	assert_non_null(v);
	memcpy(v, "go1.99", 6);
	unlink(dst);
	f = fopen(dst, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(bin, 1, n, f), n);
	fclose(f);
	chmod(dst, 0755);
	p = fork();
	if (!p) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		execl(dst, dst, "-seconds", "30", (char *)NULL);
		_exit(127);
	}
	usleep(500000);
	snapshot_says(p, "is not in flametop's table", "not in flametop's table", NULL);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

/* A program that does not link runtime/pprof: its heap profile is disabled by the linker, and
 * said so; --go-memprofile-rate turns it on (and says it changed the program). */
static void test_gofix_memprofile_rate(void **state)
{
	const char *fixture = *state;
	char pidarg[16];
	struct runbin r;
	pid_t p = start_as(fixture, 0);

	snprintf(pidarg, sizeof(pidarg), "%d", p);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "-p", pidarg, "--duration", "1",
				   "--format", "json", NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"heap\": {\"state\": \"disabled by the linker\", "
				      "\"rate\": 0"));
	runbin_free(&r);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "-p", pidarg, "--duration", "1",
				   "--go-memprofile-rate", "4096", "--format", "json", NULL });
	print_message("stderr: %s", r.err);
	assert_int_equal(r.status, 0);
	assert_int_equal(lines_with(r.err, "runtime.MemProfileRate set to 4096 (was 0)"), 1);
	assert_non_null(strstr(r.out, "\"rate\": 4096"));
	runbin_free(&r);
	/* naming no process is refused: it changes programs */
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--go-memprofile-rate", "4096",
				   NULL });
	assert_int_equal(r.status, 2);
	runbin_free(&r);
	kill(p, SIGKILL);
	waitpid(p, NULL, 0);
}

/* The process ends during the window: no error, no crash, the snapshot ends with it. */
static void test_gofix_exits(void **state)
{
	const char *fixture = *state;
	char path[512], pidarg[16];
	struct runbin r;
	pid_t p;

	snprintf(path, sizeof(path), "%s/%s", workloads, fixture);
	p = fork();
	if (!p) {
		int null = open("/dev/null", O_WRONLY);

		dup2(null, 1);
		execl(path, path, "-seconds", "2", "-churn", (char *)NULL);
		_exit(127);
	}
	snprintf(pidarg, sizeof(pidarg), "%d", p);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "-p", pidarg, "--duration", "10",
				   "--format", "json", NULL });
	waitpid(p, NULL, 0);
	assert_int_equal(r.status, 0);
	assert_true(r.seconds < 8);
	assert_non_null(strstr(r.out, "\"go\": ["));
	runbin_free(&r);
}

int main(void)
{
	static const char *const versions[] = { "1.19", "1.21", "1.22", "1.23" };
	struct CMUnitTest tests[40];
	struct go_case cases[40];
	char names[40][64], probe_out[256];
	const char *churn_fixture = NULL, *stripped_fixture = NULL;
	size_t n = 0;
	struct runbin r;

	flametop = getenv("FLAMETOP");
	workloads = getenv("FLAMETOP_WORKLOADS");
	tools = getenv("FLAMETOP_TEST_TOOLS");
	tmpdir = getenv("FLAMETOP_TEST_BUILD");
	if (!flametop || !workloads || !tools || !tmpdir) {
		fprintf(stderr, "FLAMETOP, FLAMETOP_WORKLOADS, FLAMETOP_TEST_TOOLS and "
				"FLAMETOP_TEST_BUILD must be set (meson test)\n");
		return 1;
	}
	for (size_t v = 0; v < sizeof(versions) / sizeof(versions[0]); v++) {
		static const char *const suffix[] = { "", "-pie", "-sw" };

		for (size_t s = 0; s < 3; s++) {
			char path[512];

			snprintf(names[n], sizeof(names[n]), "gofix-%s%s", versions[v], suffix[s]);
			snprintf(path, sizeof(path), "%s/%s", workloads, names[n]);
			if (access(path, X_OK))
				continue;
			/* -s -w too: names, creators and system goroutines from .gopclntab */
			cases[n] = (struct go_case){ .fixture = names[n], .growth = s == 0 };
			if (s == 0)
				churn_fixture = names[n];
			if (s == 2)
				stripped_fixture = names[n];
			tests[n] = (struct CMUnitTest){ .name = names[n],
							.test_func = test_goroutines_case,
							.initial_state = &cases[n] };
			n++;
		}
	}
	if (!n) {
		fprintf(stderr, "skipping: no Go toolchain under /usr/lib/go-1.NN built the "
				"fixtures (contrib/deps.sh installs them)\n");
		return 77;
	}
	if (churn_fixture) {
		static const char *fault_names[] = { "no CAP_SYS_PTRACE", "exits mid-read",
						     "--go-memprofile-rate" };
		void (*faults[])(void **) = { test_gofix_no_ptrace, test_gofix_exits,
					      test_gofix_memprofile_rate };

		for (int i = 0; i < 3; i++)
			tests[n++] = (struct CMUnitTest){ .name = fault_names[i],
							  .test_func = faults[i],
							  .initial_state = (void *)churn_fixture };
	}
	if (stripped_fixture)
		tests[n++] = (struct CMUnitTest){ .name = "unknown Go version",
						  .test_func = test_gofix_unknown_version,
						  .initial_state = (void *)stripped_fixture };
	if (churn_fixture) {
		snprintf(names[n], sizeof(names[n]), "%s churn", churn_fixture);
		cases[n] = (struct go_case){ .fixture = churn_fixture, .churn = true };
		tests[n] = (struct CMUnitTest){ .name = names[n], .test_func = test_goroutines_case,
						.initial_state = &cases[n] };
		n++;
	}
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--duration", "0.2", "--format",
				   "json", "--", "true", NULL });
	snprintf(probe_out, sizeof(probe_out), "%s", r.err ? r.err : "");
	if (r.status) {
		fprintf(stderr, "skipping: flametop cannot sample here: %s\n", probe_out);
		runbin_free(&r);
		return 77;
	}
	runbin_free(&r);
	return _cmocka_run_group_tests("gofix", tests, n, NULL, NULL);
}
