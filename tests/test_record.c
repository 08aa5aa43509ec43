// SPDX-License-Identifier: GPL-2.0-only
/*
 * flametop record / convert with the real binary on the real kernel: a recording of the 3:1
 * workload converts to the same split a live snapshot shows, in every format (pprof read by
 * `go tool pprof`, speedscope checked against its published schema); files are created 0600 and
 * never replaced; rotation; kill -9 loses at most the last second; damaged and junk files get
 * the documented exit status and never crash. Skips (77) only when the host cannot load BPF.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "model/model.h"
#include "model/replay.h"
#include "model/threads.h"
#include "model/window.h"
#include "runbin.h"

static const char *flametop, *workloads, *tools, *build;
static char dir[] = "/tmp/flametop-record-XXXXXX";
static char split_rec[4200]; /* the recording of split31 every test shares */

static char *path(const char *name)
{
	return runbin_path(dir, name);
}

static char *workload(const char *name)
{
	return runbin_path(workloads, name);
}

/* spin_three's share of split31's samples, and how far it may be from 75 (*tol) */
static double split_share(const char *folded, double *tol)
{
	uint64_t three = runbin_sum(folded, "", ";spin_three", NULL);
	uint64_t one = runbin_sum(folded, "", ";spin_one", NULL);

	print_message("spin_three %lu, spin_one %lu samples\n", (unsigned long)three,
		      (unsigned long)one);
	assert_true(three + one > 100);
	*tol = runbin_share_tolerance(three + one, 0.75);
	return 100.0 * three / (three + one);
}

static bool one_line_error(const struct runbin *r)
{
	const char *nl = strchr(r->err, '\n');

	return nl && !nl[1] && !strncmp(r->err, "flametop: ", 10);
}

static void test_record_split31_converts_like_a_snapshot(void **state)
{
	struct runbin rec, snap;
	double a, b, ta, tb;

	RUNBIN(&rec, (char *)flametop, "convert", split_rec, "--format", "folded");
	assert_int_equal(rec.status, 0);
	assert_string_equal(rec.err, "");
	a = split_share(rec.out, &ta);
	RUNBIN(&snap, (char *)flametop, "snapshot", "--format", "folded", "--duration", "20", "-F",
	    "499", "--", workload("split31"), "6");
	assert_int_equal(snap.status, 0);
	b = split_share(snap.out, &tb);
	print_message("recording: spin_three %.1f%%, live snapshot %.1f%%\n", a, b);
	if (a < 75 - ta || a > 75 + ta)
		fail_msg("the recording has spin_three at %.1f%%, expected 75 +- %.1f", a, ta);
	if (b - a > ta + tb || a - b > ta + tb)
		fail_msg("recording %.1f%% and snapshot %.1f%% differ by more than %.1f", a, b,
			 ta + tb);
	/* root first, the process first, as a snapshot prints it */
	assert_true(runbin_sum(rec.out, "", ";main;", ";spin_three", NULL) >
		    runbin_sum(rec.out, "", ";spin_three", NULL) * 0.9);
	runbin_free(&rec);
	runbin_free(&snap);
}

static void test_record_text_and_json_describe_the_recording(void **state)
{
	struct runbin r;

	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--format", "json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "\"freq_hz\": 499"));
	assert_non_null(strstr(r.out, "\"command_end\": \"exited with status 0\""));
	assert_non_null(strstr(r.out, "\"function\": \"spin_three\""));
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", split_rec);
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.out, "spin_three [split31]"));
	runbin_free(&r);
}

static void test_record_pprof_reads_in_go_tool_pprof(void **state)
{
	char cmd[8192];
	struct runbin r;
	FILE *p;
	char line[1024];
	bool hot = false;
	int rows = 0;

	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--format", "pprof", "-o",
	    path("split.pb.gz"));
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	if (system("command -v go >/dev/null 2>&1")) {
		print_message("SKIP part: go is not installed (apt-get install golang-go)\n");
		skip();
	}
	snprintf(cmd, sizeof(cmd), "HOME=%s GOFLAGS= go tool pprof -top -cum %s 2>&1", dir,
		 path("split.pb.gz"));
	p = popen(cmd, "r");
	assert_non_null(p);
	/* by cumulative time, the first spin_* row is the hotter one (by flat time the leaf is
	 * burst(), inlined into both and a frame of its own with debug info) */
	while (fgets(line, sizeof(line), p)) {
		fputs(line, stderr);
		if (strstr(line, "flat%"))
			rows = 1;
		else if (rows && strstr(line, "spin_") && rows++ == 1)
			hot = strstr(line, "spin_three") != NULL;
	}
	assert_int_equal(pclose(p), 0);
	assert_true(hot);
}

/* Validates a speedscope file with the published schema (fetched from npm into the build dir). */
static void check_speedscope(const char *file)
{
	char schema[4200], cmd[12800];
	int ret;

	snprintf(schema, sizeof(schema), "%s/speedscope-file-format-schema.json", build);
	snprintf(cmd, sizeof(cmd), "sh %s/fetch-speedscope-schema.sh %s", tools, schema);
	ret = system(cmd);
	if (WIFEXITED(ret) && WEXITSTATUS(ret) == 77) {
		print_message("SKIP part: the speedscope schema cannot be fetched from npm\n");
		skip();
	}
	assert_int_equal(ret, 0);
	snprintf(cmd, sizeof(cmd), "python3 %s/jsonschema_check.py %s %s --speedscope", tools,
		 schema, file);
	assert_int_equal(system(cmd), 0);
}

static void test_record_speedscope_matches_the_schema(void **state)
{
	struct runbin r;

	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--format", "speedscope", "-o",
	    path("split.speedscope.json"));
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	check_speedscope(path("split.speedscope.json"));
}

static void test_record_snapshot_writes_pprof_and_speedscope(void **state)
{
	struct runbin r;
	char head[2];
	FILE *f;

	RUNBIN(&r, (char *)flametop, "snapshot", "--format", "speedscope", "--duration", "2", "-o",
	    path("snap.json"), "--", workload("split31"), "2");
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	check_speedscope(path("snap.json"));
	RUNBIN(&r, (char *)flametop, "snapshot", "--format", "pprof", "--duration", "2", "-o",
	    path("snap.pb.gz"), "--", workload("split31"), "2");
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	f = fopen(path("snap.pb.gz"), "rb");
	assert_non_null(f);
	assert_int_equal(fread(head, 1, 2, f), 2);
	fclose(f);
	assert_int_equal((unsigned char)head[0], 0x1f); /* gzip */
	assert_int_equal((unsigned char)head[1], 0x8b);
}

static void test_record_creates_0600_and_never_replaces(void **state)
{
	struct stat st;
	struct runbin r;
	int fd;

	fd = open(path("exists.ftr"), O_WRONLY | O_CREAT | O_EXCL, 0644);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "precious", 8), 8);
	close(fd);
	RUNBIN(&r, (char *)flametop, "record", "-o", path("exists.ftr"), "--duration", "1", "-p",
	    "1");
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	assert_non_null(strstr(r.err, "File exists"));
	assert_non_null(strstr(r.err, "not a flametop recording"));
	assert_int_equal(stat(path("exists.ftr"), &st), 0);
	assert_int_equal(st.st_size, 8);
	runbin_free(&r);

	/* --force replaces recordings only (tests/test_exit_status.c: and nothing else) */
	RUNBIN(&r, (char *)flametop, "record", "-o", path("exists.ftr"), "--force", "--duration",
	    "1.5", "-p", "1");
	assert_int_equal(r.status, 2);
	assert_non_null(strstr(r.err, "not a flametop recording"));
	assert_int_equal(stat(path("exists.ftr"), &st), 0);
	assert_int_equal(st.st_size, 8);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "record", "-o", path("exists.ftr"), "--duration", "1", "-p",
	       "1");
	assert_int_equal(r.status, 2);
	assert_null(strstr(r.err, "--force"));
	runbin_free(&r);

	/* a symlink is not followed */
	assert_int_equal(symlink(path("elsewhere"), path("link.ftr")), 0);
	RUNBIN(&r, (char *)flametop, "record", "-o", path("link.ftr"), "--duration", "1", "-p",
	       "1");
	assert_int_equal(r.status, 2);
	assert_int_equal(access(path("elsewhere"), F_OK), -1);
	runbin_free(&r);
}

static void test_record_rotates_into_complete_files(void **state)
{
	struct runbin r;
	char name[64];
	int files = 0;

	int last = 0;

	RUNBIN(&r, (char *)flametop, "record", "-o", path("rot.ftr"), "--duration", "7.5",
	    "--max-duration", "2", "--max-files", "2", "-p", "1");
	assert_int_equal(r.status, 0);
	runbin_free(&r);
	/* 7.5 s in files of 2 s: parts 0..3 (start-up eats into the first); the newest two stay */
	assert_int_equal(access(path("rot.ftr"), F_OK), -1);
	for (int i = 1; i < 8; i++) {
		snprintf(name, sizeof(name), "rot.ftr.%d", i);
		if (!access(path(name), F_OK))
			last = i;
	}
	assert_true(last >= 2);
	for (int i = 1; i < 8; i++) {
		char next[64];

		snprintf(name, sizeof(name), "rot.ftr.%d", i);
		if (access(path(name), F_OK))
			continue;
		files++;
		/* each one stands alone: header, tables and ticks */
		RUNBIN(&r, (char *)flametop, "convert", path(name), "--format", "json");
		assert_int_equal(r.status, 0);
		assert_non_null(strstr(r.out, "\"duration_s\": "));
		/* and says where the recording goes on, but the last */
		snprintf(next, sizeof(next), "continues in 'rot.ftr.%d'", i + 1);
		if (i < last)
			assert_non_null(strstr(r.err, next));
		else
			assert_null(strstr(r.err, "continues in"));
		runbin_free(&r);
	}
	assert_int_equal(files, 2);
}


/* Threads a file's table has that none of its ticks names and that had exited before it:
 * what a part carried over from the parts before it. */
static size_t stale_threads(const char *file)
{
	struct model_opts mo = { 0 };
	struct replay *r;
	struct model *m;
	struct window w;
	uint8_t *named;
	size_t stale = 0, n;
	char err[256];
	int fd = open(file, O_RDONLY);

	assert_true(fd >= 0);
	assert_int_equal(replay_open_fd(fd, &r, err, sizeof(err)), 0);
	mo.start_ns = replay_info(r)->start_ns;
	assert_int_equal(model_new(&mo, &m), 0);
	replay_bind(r, m);
	while (replay_next(r) == 1)
		;
	window_init(&w);
	window_sum(&w, m, 0);
	n = threads_count(model_threads(m));
	named = calloc(n + 1, 1);
	for (size_t i = 0; i < w.nr_counts; i++)
		named[w.counts[i].thread] = 1;
	for (size_t i = 0; i < w.nr_offcpu; i++)
		named[w.offcpu[i].thread] = 1;
	for (uint32_t i = 0; i < w.nr_threads; i++)
		for (int k = 0; k < MODEL_STATE_NR; k++)
			named[i] |= w.thread_states[i][k] != 0;
	for (size_t i = 0; i < w.nr_heap; i++)
		named[w.heap[i].thread] = 1;
	for (uint32_t i = 0; i < n; i++) {
		const struct thread *t = threads_get(model_threads(m), i);

		/* exited before the file started: its first and last sight are before it */
		if (!named[i] && t->exited && t->last_ns && t->last_ns < mo.start_ns)
			stale++;
	}
	free(named);
	window_fini(&w);
	model_free(m);
	replay_free(r);
	close(fd);
	return stale;
}

/* cat a b > c */
static void join_files(const char *a, const char *b, const char *out)
{
	char cmd[13000];

	snprintf(cmd, sizeof(cmd), "cat '%s' '%s' > '%s'", a, b, out);
	assert_int_equal(system(cmd), 0);
}

/*
 * Rotation under process churn (a shell starting ls as fast as it can): a part's tables hold
 * only what its own ticks name and the threads live when it starts (issue 13: each part
 * repeated every table collected so far — every short process ever seen — so parts of 64K held
 * one second each after 50 s, then less); the parts joined with cat read as one recording; a
 * file joined with itself is refused (it gave 144 % CPU with status 0).
 */
static void test_record_rotated_parts_stay_full(void **state)
{
	struct runbin r;
	char name[64];
	int parts = 0;

	int status;
	pid_t rec = fork();

	/* until the fourth part starts (a busy host starts fewer processes a second), at most 2
	 * minutes; SIGINT ends the recording cleanly */
	if (rec == 0) {
		int null = open("/dev/null", O_RDWR);

		dup2(null, 1);
		dup2(null, 2);
		execl(flametop, "flametop", "record", "-o", path("churn.ftr"), "--max-size", "64K",
		      "--", "/bin/sh", "-c", "while :; do ls /usr/bin > /dev/null; done", NULL);
		_exit(127);
	}
	for (int i = 0; i < 240 && access(path("churn.ftr.3"), F_OK); i++)
		usleep(500000);
	kill(rec, SIGINT);
	waitpid(rec, &status, 0);
	assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	while (parts < 64) {
		snprintf(name, sizeof(name), parts ? "churn.ftr.%d" : "churn.ftr", parts);
		if (access(path(name), F_OK))
			break;
		parts++;
	}
	assert_true(parts >= 4);
	for (int i = 1; i < parts; i++) {
		size_t stale;

		snprintf(name, sizeof(name), "churn.ftr.%d", i);
		stale = stale_threads(path(name));
		print_message("%s: %zu threads carried over from earlier parts\n", name, stale);
		assert_int_equal(stale, 0);
	}

	/* the first two parts joined read as one; a part joined with itself is refused */
	join_files(path("churn.ftr"), path("churn.ftr.1"), path("joined.ftr"));
	RUNBIN(&r, (char *)flametop, "convert", path("joined.ftr"), "--format", "folded");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "2 recordings joined one after the other"));
	runbin_free(&r);
	join_files(path("churn.ftr"), path("churn.ftr"), path("twice.ftr"));
	RUNBIN(&r, (char *)flametop, "convert", path("twice.ftr"), "--format", "folded");
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	assert_non_null(strstr(r.err, "joined together"));
	assert_string_equal(r.out, "");
	runbin_free(&r);
}

static void test_record_kill9_loses_at_most_a_second(void **state)
{
	struct runbin r;
	double d;
	char *p;

	runbin_run_sig(&r, SIGKILL, 3.6,
		       (char *[]){ (char *)flametop, "record", "-o", path("killed.ftr"), "-p", "1",
				   NULL });
	assert_int_equal(r.status, 128 + SIGKILL);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", path("killed.ftr"), "--format", "json");
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "no end mark"));
	p = strstr(r.out, "\"duration_s\": ");
	assert_non_null(p);
	d = strtod(p + 14, NULL);
	print_message("killed after 3.6 s: %.2f s recorded\n", d);
	/* start-up takes some of the 3.6 s; ticks close every second */
	assert_true(d >= 1.5);
	runbin_free(&r);
}

static void test_record_sigint_ends_the_file_cleanly(void **state)
{
	struct runbin r;

	runbin_run_sig(&r, SIGINT, 2.5,
		       (char *[]){ (char *)flametop, "record", "-o", path("int.ftr"), "-p", "1",
				   NULL });
	assert_int_equal(r.status, 0);
	assert_non_null(strstr(r.err, "flametop: recorded "));
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", path("int.ftr"), "--format", "folded");
	assert_int_equal(r.status, 0);
	assert_string_equal(r.err, ""); /* an end mark: nothing to warn about */
	runbin_free(&r);
}

static size_t file_size(const char *p)
{
	struct stat st;

	assert_int_equal(stat(p, &st), 0);
	return st.st_size;
}

static void write_file(const char *p, const void *data, size_t n)
{
	int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);

	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, n), (ssize_t)n);
	close(fd);
}

static char *read_all(const char *p, size_t *n)
{
	int fd = open(p, O_RDONLY);
	char *buf;

	assert_true(fd >= 0);
	*n = file_size(p);
	buf = malloc(*n + 1);
	assert_int_equal(read(fd, buf, *n), (ssize_t)*n);
	close(fd);
	return buf;
}

static void test_record_bad_input_exit_status(void **state)
{
	struct runbin r;
	size_t n;
	char *rec = read_all(split_rec, &n);
	char *copy = malloc(n);

	/* not a recording at all */
	write_file(path("junk"), "this is not a recording\n", 24);
	RUNBIN(&r, (char *)flametop, "convert", path("junk"));
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	assert_non_null(strstr(r.err, "not a flametop recording"));
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", path("nonexistent"));
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", dir);
	assert_int_equal(r.status, 2);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "replay", path("junk"));
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	runbin_free(&r);

	/* cut short anywhere: what is whole converts (0), a cut header is bad input (2) */
	for (size_t len = 0; len < n; len += 1 + len / 3) {
		write_file(path("cut"), rec, len);
		RUNBIN(&r, (char *)flametop, "convert", path("cut"), "--format", "folded");
		if (r.status != 0 && r.status != 2)
			fail_msg("cut at %zu of %zu: status %d, stderr %s", len, n, r.status,
				 r.err);
		if (r.status == 0 && len < n)
			assert_true(strstr(r.err, "cut short") || strstr(r.err, "no end mark"));
		runbin_free(&r);
	}
	/* flipped bytes: never a crash */
	srand(7);
	for (int i = 0; i < 40; i++) {
		memcpy(copy, rec, n);
		for (int j = 0; j < 3; j++)
			copy[rand() % n] ^= 1 + rand() % 255;
		write_file(path("flipped"), copy, n);
		RUNBIN(&r, (char *)flametop, "convert", path("flipped"), "--format", "json");
		if (r.status != 0 && r.status != 2)
			fail_msg("flip %d: status %d, stderr %s", i, r.status, r.err);
		runbin_free(&r);
	}
	free(copy);
	free(rec);
}

static void test_record_convert_a_range(void **state)
{
	struct runbin r;
	double d;
	char *p;

	/* ticks are whole seconds from the window's start: a range on their boundaries takes one
	 * more or less by a millisecond of jitter, so it falls between them */
	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--format", "json", "--from", "1500ms",
	    "--to", "3500ms");
	assert_int_equal(r.status, 0);
	p = strstr(r.out, "\"duration_s\": ");
	assert_non_null(p);
	d = strtod(p + 14, NULL);
	print_message("--from 1.5s --to 3.5s: %.2f s\n", d);
	assert_true(d > 2.5 && d < 3.5);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--format", "folded", "--from", "-2s");
	assert_int_equal(r.status, 0);
	assert_true(runbin_sum(r.out, "", ";spin_", NULL) > 100);
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--from", "99h");
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	runbin_free(&r);
	RUNBIN(&r, (char *)flametop, "convert", split_rec, "--to", "yesterday");
	assert_int_equal(r.status, 2);
	assert_true(one_line_error(&r));
	runbin_free(&r);
}

static int setup(void **state)
{
	struct runbin r;

	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return -1;
	}
	snprintf(split_rec, sizeof(split_rec), "%s/split31.ftr", dir);
	RUNBIN(&r, (char *)flametop, "record", "-o", split_rec, "-F", "499", "--",
	       workload("split31"), "6");
	if (r.status == 1 && (strstr(r.err, "permitted") || strstr(r.err, "BTF"))) {
		fprintf(stderr, "SKIP: this host cannot run the BPF probes: %s", r.err);
		exit(77);
	}
	if (r.status) {
		fprintf(stderr, "flametop record failed (%d): %s", r.status, r.err);
		return -1;
	}
	runbin_free(&r);
	return 0;
}

static int teardown(void **state)
{
	char cmd[4300];

	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) ? -1 : 0;
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_record_split31_converts_like_a_snapshot),
		cmocka_unit_test(test_record_text_and_json_describe_the_recording),
		cmocka_unit_test(test_record_pprof_reads_in_go_tool_pprof),
		cmocka_unit_test(test_record_speedscope_matches_the_schema),
		cmocka_unit_test(test_record_snapshot_writes_pprof_and_speedscope),
		cmocka_unit_test(test_record_creates_0600_and_never_replaces),
		cmocka_unit_test(test_record_rotates_into_complete_files),
		cmocka_unit_test(test_record_rotated_parts_stay_full),
		cmocka_unit_test(test_record_kill9_loses_at_most_a_second),
		cmocka_unit_test(test_record_sigint_ends_the_file_cleanly),
		cmocka_unit_test(test_record_bad_input_exit_status),
		cmocka_unit_test(test_record_convert_a_range),
	};

	flametop = getenv("FLAMETOP");
	workloads = getenv("FLAMETOP_WORKLOADS");
	tools = getenv("FLAMETOP_TEST_TOOLS");
	build = getenv("FLAMETOP_TEST_BUILD");
	if (!flametop || !workloads || !tools || !build) {
		fprintf(stderr, "FLAMETOP, FLAMETOP_WORKLOADS, FLAMETOP_TEST_TOOLS and "
				"FLAMETOP_TEST_BUILD must be set (meson test does)\n");
		return 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
