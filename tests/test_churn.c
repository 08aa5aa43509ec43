// SPDX-License-Identifier: GPL-2.0-only
/*
 * Known answers under process churn (issue 11). While a shell loop starts short pipelines of
 * Debian's tools (ls | grep, seq | sort | uniq | gzip, awk, find | wc: hundreds of processes a
 * second), a whole-system recording with the default probes must still give:
 *   - split31 its 75/25 split between spin_three and spin_one;
 *   - chain4 its whole chain, _start to chain_leaf, in at least 95 % of its samples;
 *   - the churn's own tools under their names;
 *   - samples and losses that add up to no more than the clock allows.
 * One window, two readings: the recording converted to folded stacks and to json.
 *
 * Skips (77) without root or where BPF cannot load.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "runbin.h"

static const char *flametop, *workloads;

#define NR_LOAD 3

static pid_t load[NR_LOAD];
static char dir[] = "/tmp/flametop-churn-test-XXXXXX";
static char *folded, *json;

static const char churn_loop[] =
	"while :; do "
	"ls -l /usr/bin | grep -c x >/dev/null; "
	"seq 1 3000 | sort -r | uniq | gzip -c >/dev/null; "
	"awk 'BEGIN { for (i = 0; i < 20000; i++) s += i }'; "
	"find /usr/share/doc -maxdepth 1 | wc -l >/dev/null; "
	"done";

static pid_t start(char **argv)
{
	pid_t pid = runbin_start_group(argv);

	assert_true(pid > 0);
	return pid;
}

static void stop(void)
{
	for (int i = 0; i < NR_LOAD; i++) {
		if (load[i] > 0) {
			kill(-load[i], SIGKILL);
			waitpid(load[i], NULL, 0);
			load[i] = 0;
		}
	}
}

/* The value of "key": N in the json object that starts at the first "object": { */
static long json_field(const char *object, const char *key)
{
	char k[64];
	const char *p = strstr(json, object), *end;

	snprintf(k, sizeof(k), "\"%s\": ", key);
	if (!p)
		return -1;
	end = strchr(p, '}');
	p = strstr(p, k);
	return p && (!end || p < end) ? strtol(p + strlen(k), NULL, 10) : -1;
}

static int setup(void **state)
{
	char rec[sizeof(dir) + 16];
	struct runbin r;

	if (geteuid() != 0) {
		fprintf(stderr, "SKIP: needs root (whole-system profiles)\n");
		exit(77);
	}
	RUNBIN(&r, (char *)flametop, "snapshot", "--duration", "0.2", "--", "/bin/true");
	if (r.status) {
		fprintf(stderr, "SKIP: BPF cannot load here: %s", r.err);
		exit(77);
	}
	runbin_free(&r);
	if (!mkdtemp(dir))
		return -1;
	snprintf(rec, sizeof(rec), "%s/w.ftr", dir);
	load[0] = start((char *[]){ "/bin/bash", "-c", (char *)churn_loop, NULL });
	load[1] = start((char *[]){ runbin_path(workloads, "split31"), "60", NULL });
	load[2] = start((char *[]){ runbin_path(workloads, "chain4"), "60", NULL });
	sleep(1);
	/* as issue 11 asks: the default probes, unwinding and frequency (99 Hz) */
	RUNBIN(&r, (char *)flametop, "record", "--duration", "8", "-o", rec);
	stop();
	if (r.status) {
		fprintf(stderr, "record failed, status %d: %s", r.status, r.err);
		return -1;
	}
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", "--format", "folded", rec);
	folded = r.status ? NULL : strdup(r.out);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", "--format", "json", rec);
	json = r.status ? NULL : strdup(r.out);
	runbin_free(&r);
	unlink(rec);
	return folded && json ? 0 : -1;
}

static int teardown(void **state)
{
	stop();
	rmdir(dir);
	free(folded);
	free(json);
	return 0;
}

static void test_churn_split31_is_75_25(void **state)
{
	uint64_t three = runbin_sum(folded, "split31;", ";spin_three", NULL);
	uint64_t one = runbin_sum(folded, "split31;", ";spin_one", NULL);
	double share, tol;

	print_message("split31: spin_three %lu, spin_one %lu samples\n", (unsigned long)three,
		      (unsigned long)one);
	assert_true(three + one > 40);
	share = 100.0 * three / (three + one);
	tol = runbin_share_tolerance(three + one, 0.75);
	if (share < 75 - tol || share > 75 + tol)
		fail_msg("spin_three has %.1f%% of the samples, expected 75 +- %.1f", share, tol);
}

static void test_churn_chain4_complete(void **state)
{
	uint64_t all = runbin_sum(folded, "chain4;", NULL);
	uint64_t full = runbin_sum(folded, "chain4;_start;",
				   ";main;chain_one;chain_two;chain_three;chain_leaf", NULL);

	print_message("chain4: %lu of %lu samples whole (%.1f%%)\n", (unsigned long)full,
		      (unsigned long)all, all ? 100.0 * full / all : 0);
	assert_true(all > 20);
	if (full < all * 0.95)
		fail_msg("chain4: %lu of %lu samples whole, expected >= 95%%\n%.2000s",
			 (unsigned long)full, (unsigned long)all, strstr(folded, "chain4;") ?: "");
}

static void test_churn_tools_named(void **state)
{
	static const char *const tools[] = { "ls;", "grep;", "seq;", "sort;", "uniq;", "gzip;",
					     "awk;", "mawk;", "gawk;", "find;", "wc;", "bash;" };
	uint64_t named = 0, unknown = runbin_sum(folded, "?;", NULL);

	for (size_t i = 0; i < sizeof(tools) / sizeof(tools[0]); i++)
		named += runbin_sum(folded, tools[i], NULL);
	print_message("the churn's tools: %lu samples under their names, %lu under '?'\n",
		      (unsigned long)named, (unsigned long)unknown);
	assert_true(named > 0);
	assert_true(unknown <= named / 20);
}

/*
 * Samples kept and lost together are no more than the clock allows over the window. None lost
 * is issue 11's target, shown by bench/churn.sh; here the host is shared with whatever else
 * runs (a busy one starves flametop of CPU and its rings fill), so losses are counted and
 * printed, and must add up.
 */
static void test_churn_losses_add_up(void **state)
{
	double samples = runbin_json_number(json, "\"samples\": ");
	double secs = runbin_json_number(json, "\"duration_s\": ");
	double hz = runbin_json_number(json, "\"freq_hz\": ");
	double cpus = runbin_json_number(json, "\"cpus\": ");
	/* samples the full ring dropped (side-band records lost are counted apart) */
	long lost = json_field("\"lost\"", "ringbuf");
	const char *all = strstr(json, "\"lost\"");

	print_message("%.0f samples, %ld lost, in %.2f s at %.0f Hz on %.0f CPUs; %.*s\n",
		      samples, lost, secs, hz, cpus, all ? (int)strcspn(all, "}") + 1 : 0,
		      all ? all : "");
	assert_true(samples > 0 && lost >= 0 && secs > 0 && hz > 0 && cpus > 0);
	assert_true(samples + (double)lost <= hz * cpus * secs * 1.02 + 2 * cpus);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_churn_split31_is_75_25),
		cmocka_unit_test(test_churn_chain4_complete),
		cmocka_unit_test(test_churn_tools_named),
		cmocka_unit_test(test_churn_losses_add_up),
	};

	flametop = getenv("FLAMETOP");
	workloads = getenv("FLAMETOP_WORKLOADS");
	if (!flametop || !workloads) {
		fprintf(stderr, "FLAMETOP and FLAMETOP_WORKLOADS must be set (meson test does)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
