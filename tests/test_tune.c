// SPDX-License-Identifier: GPL-2.0-only
/*
 * flametop's memory on huge pages (cli/tune.h), through the real binary: where the host gives
 * transparent huge pages on request ("madvise"), a snapshot runs with glibc's malloc advising
 * them (its heap carries VmFlags "hg"), and the command it runs gets the environment flametop
 * was given, GLIBC_TUNABLES set or unset alike; GLIBC_TUNABLES naming glibc.malloc.hugetlb is
 * the user's choice and is left alone. Where the host's setting is "always" or "never" nothing
 * changes and the first half says so and is skipped. Needs BPF for a snapshot (77 without).
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop;
static char dir[] = "/tmp/flametop-tune-XXXXXX";

static bool thp_on_request(void)
{
	char buf[128] = "";
	FILE *f = fopen("/sys/kernel/mm/transparent_hugepage/enabled", "r");

	if (f) {
		if (!fgets(buf, sizeof(buf), f))
			buf[0] = '\0';
		fclose(f);
	}
	return strstr(buf, "[madvise]");
}

/*
 * Whether malloc's heap of pid is advised huge pages (VmFlags "hg" on a "[heap]" mapping):
 * malloc's own doing, which glibc.malloc.hugetlb=1 asks for. (srcline advises its DWARF images,
 * anonymous mappings, itself, whatever the tunables.)
 */
static bool advised(pid_t pid)
{
	char path[64], line[512];
	bool hg = false, heap = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/smaps", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (!hg && fgets(line, sizeof(line), f)) {
		unsigned long lo, hi;
		int end = 0;

		/* a mapping's first line: "lo-hi perms offset dev inode [name]" */
		if (sscanf(line, "%lx-%lx %*s %*s %*s %*s%n", &lo, &hi, &end) == 2 && end)
			heap = strstr(line + end, "[heap]") != NULL;
		else if (heap && !strncmp(line, "VmFlags:", 8))
			hg = strstr(line, " hg") != NULL;
	}
	fclose(f);
	return hg;
}

/*
 * Runs a snapshot of `sh -c 'echo "$GLIBC_TUNABLES" ...'` with GLIBC_TUNABLES as given (NULL:
 * unset); returns whether flametop's mappings were advised huge pages while it ran, and what
 * the command saw in env_seen.
 */
static bool snapshot_with(const char *tunables, char *env_seen, size_t len)
{
	char *out = runbin_path(dir, "env"), cmd[512];
	bool hg = false;
	pid_t pid;
	int status;
	FILE *f;

	unlink(out);
	snprintf(cmd, sizeof(cmd),
		 "echo \"T=${GLIBC_TUNABLES-unset} W=${FLAMETOP_GLIBC_TUNABLES_WAS-unset}\" >'%s'; "
		 "sleep 3",
		 out);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (tunables)
			setenv("GLIBC_TUNABLES", tunables, 1);
		else
			unsetenv("GLIBC_TUNABLES");
		execl(flametop, flametop, "snapshot", "--duration", "2", "--format", "folded",
		      "-o", runbin_path(dir, "folded"), "--", "/bin/sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	/* the same pid across flametop's exec of itself: look while it runs */
	for (int i = 0; i < 40 && !hg; i++) {
		struct timespec ts = { 0, 50 * 1000 * 1000 };

		nanosleep(&ts, NULL);
		hg = advised(pid);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (!WIFEXITED(status) || WEXITSTATUS(status))
		fail_msg("flametop snapshot: status %d", status);
	f = fopen(out, "r");
	assert_non_null(f);
	if (!fgets(env_seen, (int)len, f))
		env_seen[0] = '\0';
	env_seen[strcspn(env_seen, "\n")] = '\0';
	fclose(f);
	return hg;
}

static void test_tune_huge_pages_and_the_commands_environment(void **state)
{
	char seen[256];
	bool hg;

	hg = snapshot_with(NULL, seen, sizeof(seen));
	assert_string_equal(seen, "T=unset W=unset");
	if (thp_on_request())
		assert_true(hg);
	else
		print_message("transparent huge pages are not \"madvise\" here: nothing to tune\n");

	hg = snapshot_with("glibc.malloc.check=0", seen, sizeof(seen));
	assert_string_equal(seen, "T=glibc.malloc.check=0 W=unset");
	if (thp_on_request())
		assert_true(hg);

	/* the user's own choice */
	hg = snapshot_with("glibc.malloc.hugetlb=0", seen, sizeof(seen));
	assert_string_equal(seen, "T=glibc.malloc.hugetlb=0 W=unset");
	assert_false(hg);
}

static int setup(void **state)
{
	struct runbin r;

	if (!mkdtemp(dir))
		return -1;
	/* BPF is needed for a snapshot */
	RUNBIN(&r, (char *)flametop, "snapshot", "--duration", "0.2", "-p", "1", "--format",
	       "folded");
	if (r.status != 0 && geteuid() != 0) {
		fprintf(stderr, "no snapshot here (not root): skipping\n");
		runbin_free(&r);
		exit(77);
	}
	runbin_free(&r);
	return 0;
}

static int teardown(void **state)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tune_huge_pages_and_the_commands_environment),
	};

	flametop = getenv("FLAMETOP");
	if (!flametop) {
		fprintf(stderr, "FLAMETOP is not set\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
