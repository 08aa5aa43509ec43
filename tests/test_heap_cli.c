// SPDX-License-Identifier: GPL-2.0-only
/*
 * The real flametop binary tracking the heap of the heapgrow workload: `snapshot --format folded
 * --metric heap` puts leak_here on top at ~1 MiB/s and churn_here at ~0, with the default
 * tracking and in leak mode; the json has the memory series, the heap stacks and leak mode's
 * cost; leak mode refuses to run without a single target. Skips (77) where BPF cannot load.
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
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "runbin.h"

#define MIB (1024.0 * 1024.0)

static const char *flametop;
static char heapgrow[PATH_MAX];

/* Runs argv, returns its exit status; stdout (at most len - 1 bytes) into out, stderr to ours. */
static int run(char *const argv[], char *out, size_t len)
{
	struct runbin r;

	runbin_run(&r, (char **)argv);
	snprintf(out, len, "%s", r.out);
	fputs(r.err, stderr);
	runbin_free(&r);
	return r.status;
}

/* Bytes of the folded lines whose stack has ;fn; or ends in ;fn. */
static double folded_bytes(const char *out, const char *fn)
{
	char want[64], want_end[64];
	double sum = 0;

	snprintf(want, sizeof(want), ";%s;", fn);
	snprintf(want_end, sizeof(want_end), ";%s ", fn);
	for (const char *l = out; *l;) {
		const char *nl = strchr(l, '\n'), *sp = nl ? nl : l + strlen(l);
		char line[4096];
		size_t len = (size_t)(sp - l);

		if (len > sizeof(line) - 1)
			len = sizeof(line) - 1;
		memcpy(line, l, len);
		line[len] = '\0';
		if (strstr(line, want) || strstr(line, want_end)) {
			const char *num = strrchr(line, ' ');

			if (num)
				sum += strtod(num + 1, NULL);
		}
		l = nl ? nl + 1 : sp;
	}
	return sum;
}

static char out[1 << 22];

static void leak(bool exact)
{
	char *argv[] = { (char *)flametop, "snapshot", "--duration", "5", "--format", "folded",
			 "--metric", "heap", "--heap", exact ? "exact" : "growth", "--",
			 heapgrow, "leak", "8", NULL };
	double lk, ch;

	assert_int_equal(run(argv, out, sizeof(out)), 0);
	lk = folded_bytes(out, "leak_here") / MIB;
	ch = folded_bytes(out, "churn_here") / MIB;
	print_message("%s: leak_here %.2f MiB, churn_here %.3f MiB in 5 s\n",
		      exact ? "exact" : "growth", lk, ch);
	/* the window is ~5 s; the leak starts as the command does */
	assert_true(lk / 5 > 0.7 && lk / 5 < 1.3);
	assert_true(ch < lk * 0.05);
	assert_non_null(strstr(out, "leak_here"));
	/* the heaviest line is first */
	assert_non_null(strstr(strtok(out, "\n"), "leak_here"));
}

static void test_heap_cli_growth(void **state)
{
	leak(false);
}

static void test_heap_cli_exact(void **state)
{
	leak(true);
}

static void test_heap_cli_json(void **state)
{
	char *argv[] = { (char *)flametop, "snapshot", "--duration", "3", "--format", "json",
			 "--heap", "exact", "--heap-duration", "2", "--", heapgrow, "leak", "5",
			 NULL };

	assert_int_equal(run(argv, out, sizeof(out)), 0);
	assert_non_null(strstr(out, "\"heap\": \"rss_stat"));
	assert_non_null(strstr(out, "\"memory\": [\n    {\"pid\": "));
	assert_non_null(strstr(out, "\"anon_bytes\": ["));
	assert_non_null(strstr(out, "\"exact\": {\"calls\": "));
	assert_non_null(strstr(out, "\"cost_cpu_percent\": "));
	assert_non_null(strstr(out, "\"outstanding\": [\n"));
	assert_non_null(strstr(out, "\"oldest\": [\n"));
	/* leak mode ended after 2 s of the 3: the newest tick is growth tracking again */
	assert_non_null(strstr(out, "\"heap\": {\"mode\": \"growth\""));
}

static void test_heap_cli_exact_needs_one_target(void **state)
{
	char *argv[] = { (char *)flametop, "snapshot", "--heap", "exact", NULL };
	char *argv2[] = { (char *)flametop, "snapshot", "--heap", "leaky", NULL };

	assert_int_equal(run(argv, out, sizeof(out)), 2);
	assert_int_equal(run(argv2, out, sizeof(out)), 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_heap_cli_growth),
		cmocka_unit_test(test_heap_cli_exact),
		cmocka_unit_test(test_heap_cli_json),
		cmocka_unit_test(test_heap_cli_exact_needs_one_target),
	};
	const char *dir = getenv("FLAMETOP_WORKLOADS");
	char *probe[] = { NULL, "snapshot", "--duration", "0.2", "--format", "json", "--", "true",
			  NULL };

	flametop = getenv("FLAMETOP");
	if (!flametop || !dir) {
		fprintf(stderr, "FLAMETOP and FLAMETOP_WORKLOADS must be set (meson test)\n");
		return 1;
	}
	snprintf(heapgrow, sizeof(heapgrow), "%s/heapgrow", dir);
	probe[0] = (char *)flametop;
	if (run(probe, out, sizeof(out)) != 0 || !strstr(out, "\"heap\": \"rss_stat")) {
		fprintf(stderr, "skipping: flametop cannot track the heap here (BPF)\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
