// SPDX-License-Identifier: GPL-2.0-only
/*
 * Short-lived processes get their mappings before they are gone: 2,000 runs of /bin/true and a
 * `make -j2` of a few C files (gcc, cc1, as: each alive for milliseconds), profiled with
 * -- CMD and for the whole system, with the BPF sampler (mappings from probes/sideband) and
 * with perf events (their own MMAP2/FORK/COMM records). At most 2 % of the samples may end in
 * an [unknown] user frame (it was 65 % when /proc was read at drain time, after they exited);
 * `true` must have been sampled at all (499 Hz) for that to mean something — except with
 * per-task perf events, which hardly sample processes that short (see command()). Their
 * modules must be the names of Debian's files: side-band paths queued across two reads of the
 * rings were once cut short ("o.6" for libc.so.6).
 *
 * Skips (77) without root, or without make or a C compiler.
 */
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *tools, *workloads;
static char dir[] = "/tmp/flametop-short-XXXXXX";
static char script[PATH_MAX];

/* A project of eight C files and a Makefile, and the script that runs it all. */
static int setup(void **state)
{
	char path[PATH_MAX];
	FILE *f;

	if (!mkdtemp(dir))
		return -1;
	for (int i = 0; i < 8; i++) {
		snprintf(path, sizeof(path), "%s/f%d.c", dir, i);
		f = fopen(path, "w");
		if (!f)
			return -1;
		fprintf(f, "#include <stdio.h>\n#include <stdlib.h>\n#include <string.h>\n"
			   "struct s%d { int a[64]; char name[32]; };\n"
			   "static int cmp%d(const void *x, const void *y) "
			   "{ return memcmp(x, y, sizeof(struct s%d)); }\n"
			   "int fn%d(int n) { struct s%d *v = calloc(n, sizeof(*v));\n"
			   "  for (int k = 0; k < n; k++) snprintf(v[k].name, 32, \"x%%d\", k);\n"
			   "  qsort(v, n, sizeof(*v), cmp%d); int r = v[0].a[0]; free(v); "
			   "return r; }\n",
			i, i, i, i, i, i);
		fclose(f);
	}
	snprintf(path, sizeof(path), "%s/Makefile", dir);
	f = fopen(path, "w");
	if (!f)
		return -1;
	fputs("OBJS := $(patsubst %.c,%.o,$(wildcard f*.c))\nall: $(OBJS)\n"
	      "%.o: %.c\n\t$(CC) -O2 -g -c $< -o $@\n", f);
	fclose(f);
	snprintf(script, sizeof(script), "%s/run.sh", dir);
	f = fopen(script, "w");
	if (!f)
		return -1;
	fprintf(f, "#!/bin/sh\ncd '%s' && rm -f *.o\n"
		   "i=0; while [ $i -lt 2000 ]; do /bin/true; i=$((i+1)); done\n"
		   "make -s -j2 >/dev/null\n", dir);
	fclose(f);
	chmod(script, 0755);
	return 0;
}

static int teardown(void **state)
{
	char cmd[PATH_MAX + 16];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) ? -1 : 0;
}

/* need_true: `true` must have samples (not with per-task perf events: see below) */
static void judge(const char *json, bool need_true)
{
	struct runbin r;

	runbin_run(&r, (char *[]){ "/usr/bin/python3", runbin_path(tools, "unknown_leaves.py"),
				   (char *)json, "--max", "2", "--comm", "true", "--min-samples",
				   need_true ? "30" : "0", "--system-modules",
				   "true,make,cc,gcc,cc1,as,sh,run.sh", NULL });
	print_message("%s%s", r.out, r.err);
	unlink(json);
	if (r.status)
		fail_msg("too many samples end in [unknown], too few of true, or a module name "
			 "that is no file's");
	runbin_free(&r);
}

static void command(const char *source)
{
	char out[PATH_MAX];
	struct runbin r;

	snprintf(out, sizeof(out), "%s/%s.json", dir, source);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "json", "-o", out,
				   "--duration", "120", "-F", "499", "--heap", "off", "--source",
				   (char *)source, "--", script, NULL });
	if (r.status)
		fail_msg("status %d: %s", r.status, r.err);
	runbin_free(&r);
	/* Per-task perf events (-- CMD with perf events) start each new process's timer
	 * afresh: a process that lives less than one period (2 ms at 499 Hz) is hardly ever
	 * sampled, as with `perf record -- CMD`. The per-CPU timers of the BPF sampler and of
	 * whole-system perf events have no such bias. */
	judge(out, strcmp(source, "perf") != 0);
}

static void whole_system(const char *source)
{
	char out[PATH_MAX];
	struct runbin r;
	pid_t pid = fork();

	if (pid == 0) {
		usleep(1500000); /* once flametop runs */
		execl(script, script, (char *)NULL);
		_exit(127);
	}
	snprintf(out, sizeof(out), "%s/%s-all.json", dir, source);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "json", "-o", out,
				   "--duration", "10", "-F", "499", "--heap", "off", "--source",
				   (char *)source, NULL });
	waitpid(pid, NULL, 0);
	if (r.status)
		fail_msg("status %d: %s", r.status, r.err);
	runbin_free(&r);
	judge(out, true);
}

static void test_shortlived_command_bpf(void **state)
{
	command("bpf");
}

static void test_shortlived_command_perf(void **state)
{
	command("perf");
}

/*
 * 100 processes that exec on CPU 0 and run 20 ms on CPU 1 (tests/workloads/migrant): their
 * COMM and MMAP2 records are in one CPU's ring, their samples in the other's. The rings are
 * read in time order, so every sample is named and mapped; read ring by ring, 17-22 % of them
 * were `?` and [unknown].
 */
static void migrant(const char *source)
{
	char out[PATH_MAX];
	struct runbin r;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	snprintf(out, sizeof(out), "%s/migrant-%s.json", dir, source);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "json", "-o", out,
				   "--duration", "120", "-F", "499", "--heap", "off", "--source",
				   (char *)source, "--", runbin_path(workloads, "migrant"), "100",
				   "20", NULL });
	if (r.status)
		fail_msg("status %d: %s", r.status, r.err);
	runbin_free(&r);
	runbin_run(&r, (char *[]){ "/usr/bin/python3", runbin_path(tools, "unknown_leaves.py"),
				   out, "--max", "2", "--comm", "migrant", "--min-samples", "30",
				   NULL });
	print_message("%s%s", r.out, r.err);
	unlink(out);
	if (r.status)
		fail_msg("samples of processes that moved to another CPU are unnamed or unmapped");
	runbin_free(&r);
}

/*
 * A drain that comes late: 600 processes exec on CPU 0 while flametop is stopped (migrant's
 * "stop"), ~4,200 side-band records (~350 KB) in that CPU's ring before it reads them. None may
 * be lost (a 256 KiB ring lost 1,031 of them; a host starving flametop for 2-3 s lost 930-4,900).
 */
static void test_shortlived_sideband_late_drain_bpf(void **state)
{
	char out[PATH_MAX];
	unsigned long long lost;
	struct runbin r;
	const char *p;

	if (sysconf(_SC_NPROCESSORS_ONLN) < 2)
		skip();
	snprintf(out, sizeof(out), "%s/late-drain.json", dir);
	runbin_run(&r, (char *[]){ (char *)flametop, "snapshot", "--format", "json", "-o", out,
				   "--duration", "120", "-F", "499", "--heap", "off", "--source",
				   "bpf", "--", runbin_path(workloads, "migrant"), "600", "0", "stop",
				   NULL });
	if (r.status)
		fail_msg("status %d: %s", r.status, r.err);
	runbin_free(&r);
	runbin_run(&r, (char *[]){ "/bin/cat", out, NULL });
	unlink(out);
	p = strstr(r.out, "\"process_events\": ");
	assert_non_null(p);
	lost = strtoull(p + strlen("\"process_events\": "), NULL, 10);
	print_message("side-band records lost: %llu\n", lost);
	assert_int_equal(lost, 0);
	runbin_free(&r);
}

static void test_shortlived_migrant_perf(void **state)
{
	migrant("perf");
}

static void test_shortlived_migrant_bpf(void **state)
{
	migrant("bpf");
}

static void test_shortlived_whole_system_bpf(void **state)
{
	whole_system("bpf");
}

static void test_shortlived_whole_system_perf(void **state)
{
	whole_system("perf");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_shortlived_command_bpf),
		cmocka_unit_test(test_shortlived_command_perf),
		cmocka_unit_test(test_shortlived_whole_system_bpf),
		cmocka_unit_test(test_shortlived_whole_system_perf),
		cmocka_unit_test(test_shortlived_migrant_perf),
		cmocka_unit_test(test_shortlived_migrant_bpf),
		cmocka_unit_test(test_shortlived_sideband_late_drain_bpf),
	};

	flametop = getenv("FLAMETOP");
	tools = getenv("FLAMETOP_TEST_TOOLS");
	workloads = getenv("FLAMETOP_WORKLOADS");
	if (!flametop || !tools || !workloads) {
		fprintf(stderr, "FLAMETOP, FLAMETOP_TEST_TOOLS and FLAMETOP_WORKLOADS must be set\n");
		return 1;
	}
	if (geteuid() != 0) {
		printf("SKIP: needs root (BPF, whole-system perf events)\n");
		return 77;
	}
	if (system("command -v make >/dev/null && command -v cc >/dev/null")) {
		printf("SKIP: no make or cc (contrib/deps.sh installs them)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
