// SPDX-License-Identifier: GPL-2.0-only
/*
 * cli/metrics: what /metrics says about a synthetic model — per-process CPU, thread states,
 * memory, the busiest functions as they change, Go goroutines, the series budget, processes
 * that go and pids reused, label values from outside bytes, both text formats, and snapshots
 * that stay as they were while the model goes on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cli/metrics.h"
#include "model/goroutines.h"
#include "model/model.h"
#include "model/stacks.h"

#define SEC 1000000000ull
#define MB (1024ull * 1024)

struct fixture {
	struct model *m;
	struct metrics *mx;
	uint64_t ticks;
};

static void setup(struct fixture *f, unsigned top, unsigned max_series, bool sched)
{
	struct model_opts mo = { .start_ns = SEC };
	struct metrics_opts o = {
		.top_functions = top,
		.max_series = max_series ? max_series : METRICS_SERIES_DEFAULT,
		.freq_hz = 100, /* a sample is 10 ms */
		.probe_up = { true, sched, true, true },
		.version = "0.1.0",
		.revision = "abc",
	};

	memset(f, 0, sizeof(*f));
	assert_int_equal(model_new(&mo, &f->m), 0);
	metrics_new(&o, &f->mx);
}

static void teardown(struct fixture *f)
{
	metrics_free(f->mx);
	model_free(f->m);
}

/* A stack main -> fn of module "app", symbolized. */
static uint32_t stack_of(struct model *m, const char *fn)
{
	struct stacks *st = model_stacks(m);
	struct frame root = { .module = stacks_str(st, "app"), .function = stacks_str(st, "main"),
			      .kind = FRAME_USER, .symbolized = true };
	struct frame leaf = { .module = stacks_str(st, "app"), .function = stacks_str(st, fn),
			      .kind = FRAME_USER, .symbolized = true };
	uint32_t frames[2] = { stacks_add_frame(st, &root), stacks_add_frame(st, &leaf) };

	return stacks_add_stack(st, frames, 2);
}

static void samples(struct fixture *f, uint32_t pid, uint32_t tid, const char *proc,
		    const char *fn, uint64_t n)
{
	model_add_resolved(f->m, pid, tid, tid == pid ? proc : "worker", proc,
			   stack_of(f->m, fn), n, SEC + f->ticks * SEC + 1);
}

static void state(struct fixture *f, uint32_t pid, uint32_t tid, const char *proc,
		  enum model_state s, uint64_t ns)
{
	model_add_state(f->m, pid, tid, tid == pid ? proc : "worker", proc, s, ns);
}

static void rss(struct fixture *f, uint32_t pid, uint64_t bytes)
{
	struct model_memory mem = { .known = 1u << MODEL_MEM_RSS };

	mem.v[MODEL_MEM_RSS] = bytes;
	model_add_memory(f->m, pid, &mem);
}

static void tick(struct fixture *f)
{
	f->ticks++;
	assert_int_equal(model_close_tick(f->m, SEC + f->ticks * SEC), 0);
	metrics_tick(f->mx, f->m);
}

/* The exposition of the newest snapshot (malloc'd). */
static char *render(struct fixture *f, bool om)
{
	struct metrics_snap *s = metrics_snapshot(f->mx, f->m);
	struct metrics_buf b = { 0 };

	metrics_render(s, NULL, om, &b);
	metrics_snap_put(s);
	return b.p;
}

/* The value of the sample that starts with series ("name{labels}") as text, or NULL. */
static const char *value(const char *text, const char *series)
{
	static char v[64];
	size_t n = strlen(series);

	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (!strncmp(p, series, n) && p[n] == ' ') {
			size_t l = strcspn(p + n + 1, "\n");

			snprintf(v, sizeof(v), "%.*s", (int)l, p + n + 1);
			return v;
		}
	}
	return NULL;
}

#define assert_value(text, series, expected)                                                      \
	do {                                                                                      \
		const char *v_ = value(text, series);                                             \
		if (!v_ || strcmp(v_, expected))                                                  \
			fail_msg("%s: %s, expected %s", series, v_ ? v_ : "(none)", expected);    \
	} while (0)

static size_t sample_lines(const char *text)
{
	size_t n = 0;

	for (const char *p = text; *p; p = strchr(p, '\n') + 1)
		n += *p != '#';
	return n;
}

static void test_metrics_processes(void **state_)
{
	struct fixture f;
	char *t;

	setup(&f, 5, 0, true);
	for (int i = 0; i < 3; i++) {
		samples(&f, 100, 100, "web", "serve", 30);
		samples(&f, 100, 101, "web", "parse", 10);
		samples(&f, 200, 200, "db", "scan", 5);
		state(&f, 100, 100, "web", MODEL_STATE_RUNNING, SEC * 6 / 10);
		state(&f, 100, 100, "web", MODEL_STATE_RUNNABLE, SEC * 4 / 10);
		state(&f, 100, 101, "web", MODEL_STATE_SLEEP, SEC);
		state(&f, 200, 200, "db", MODEL_STATE_LOCK, SEC / 4);
		state(&f, 200, 200, "db", MODEL_STATE_IO, SEC * 3 / 4);
		rss(&f, 100, (10 + (i == 1 ? 2 : i == 2 ? 1 : 0)) * MB);
		tick(&f);
	}
	t = render(&f, false);
	assert_value(t, "flametop_cpu_seconds_total{pid=\"100\",process=\"web\"}", "1.2");
	assert_value(t, "flametop_cpu_seconds_total{pid=\"200\",process=\"db\"}", "0.15");
	assert_value(t, "flametop_thread_state_seconds_total{pid=\"100\",process=\"web\","
			"state=\"running\"}", "1.8");
	assert_value(t, "flametop_thread_state_seconds_total{pid=\"100\",process=\"web\","
			"state=\"runnable\"}", "1.2");
	assert_value(t, "flametop_thread_state_seconds_total{pid=\"100\",process=\"web\","
			"state=\"sleep\"}", "3");
	assert_value(t, "flametop_thread_state_seconds_total{pid=\"200\",process=\"db\","
			"state=\"io\"}", "2.25");
	assert_value(t, "flametop_thread_state_seconds_total{pid=\"200\",process=\"db\","
			"state=\"poll\"}", "0");
	/* 10M, 12M, 11M: the newest, and the increases summed */
	assert_value(t, "flametop_rss_bytes{pid=\"100\",process=\"web\"}", "11534336");
	assert_value(t, "flametop_rss_growth_bytes_total{pid=\"100\",process=\"web\"}", "2097152");
	assert_null(value(t, "flametop_rss_bytes{pid=\"200\",process=\"db\"}"));
	assert_value(t, "flametop_function_cpu_seconds_total{pid=\"100\",process=\"web\","
			"function=\"serve\",module=\"app\"}", "0.9");
	assert_value(t, "flametop_function_cpu_seconds_total{pid=\"100\",process=\"web\","
			"function=\"parse\",module=\"app\"}", "0.3");
	assert_value(t, "flametop_samples_total", "135");
	assert_value(t, "flametop_sampling_frequency_hertz", "100");
	assert_value(t, "flametop_probe_up{probe=\"sched\"}", "1");
	assert_value(t, "flametop_build_info{version=\"0.1.0\",revision=\"abc\"}", "1");
	assert_value(t, "flametop_history_seconds", "3");
	assert_value(t, "flametop_series_dropped", "0");
	{
		char n[32];

		snprintf(n, sizeof(n), "%zu", sample_lines(t));
		assert_value(t, "flametop_series", n);
	}
	free(t);
	teardown(&f);
}

/* The N busiest functions by recent samples: a function that becomes hot gets in, one that
 * went quiet goes out, and a counter shown is the function's total since start. */
static void test_metrics_top_functions(void **state_)
{
	struct fixture f;
	char *t;

	setup(&f, 2, 0, false);
	for (int i = 0; i < 3; i++) {
		samples(&f, 10, 10, "app", "f1", 50);
		samples(&f, 10, 10, "app", "f2", 40);
		samples(&f, 10, 10, "app", "f3", 30);
		tick(&f);
	}
	t = render(&f, false);
	assert_non_null(value(t, "flametop_function_cpu_seconds_total{pid=\"10\",process=\"app\","
				 "function=\"f1\",module=\"app\"}"));
	assert_non_null(value(t, "flametop_function_cpu_seconds_total{pid=\"10\",process=\"app\","
				 "function=\"f2\",module=\"app\"}"));
	assert_null(value(t, "flametop_function_cpu_seconds_total{pid=\"10\",process=\"app\","
			     "function=\"f3\",module=\"app\"}"));
	free(t);
	for (int i = 0; i < 20; i++) {
		samples(&f, 10, 10, "app", "f3", 100);
		tick(&f);
	}
	t = render(&f, false);
	/* 3 × 30 + 20 × 100 samples of 10 ms */
	assert_value(t, "flametop_function_cpu_seconds_total{pid=\"10\",process=\"app\","
			"function=\"f3\",module=\"app\"}", "20.9");
	assert_value(t, "flametop_function_cpu_seconds_total{pid=\"10\",process=\"app\","
			"function=\"f1\",module=\"app\"}", "1.5");
	assert_null(value(t, "flametop_function_cpu_seconds_total{pid=\"10\",process=\"app\","
			     "function=\"f2\",module=\"app\"}"));
	assert_null(value(t, "flametop_thread_state_seconds_total{pid=\"10\",process=\"app\","
			     "state=\"running\"}")); /* no sched probe: no states */
	free(t);
	teardown(&f);
}

/* Past the budget the least busy processes are left out, and the exposition says how many
 * series. */
static void test_metrics_budget(void **state_)
{
	struct fixture f;
	size_t series, dropped;
	struct metrics_snap *s;
	char *t, n[32];

	setup(&f, 0, 100, false);
	for (int i = 0; i < 2; i++) {
		for (uint32_t pid = 1000; pid < 1200; pid++)
			samples(&f, pid, pid, "many", "work", pid - 999);
		tick(&f);
	}
	s = metrics_snapshot(f.mx, f.m);
	series = metrics_snap_series(s, &dropped);
	metrics_snap_put(s);
	assert_true(series <= 100);
	/* one series a process here (no states, no memory, no functions) */
	assert_true(series + dropped > 200);
	t = render(&f, false);
	snprintf(n, sizeof(n), "%zu", sample_lines(t));
	assert_value(t, "flametop_series", n);
	assert_true(sample_lines(t) <= 100);
	snprintf(n, sizeof(n), "%zu", dropped);
	assert_value(t, "flametop_series_dropped", n);
	assert_true(dropped > 100);
	/* the busiest are in, the idlest out */
	assert_non_null(value(t, "flametop_cpu_seconds_total{pid=\"1199\",process=\"many\"}"));
	assert_null(value(t, "flametop_cpu_seconds_total{pid=\"1000\",process=\"many\"}"));
	free(t);
	teardown(&f);
}

/* A process nothing names for 30 ticks is forgotten; a pid given to a new process (a new main
 * thread) starts its counters again. */
static void test_metrics_gone_and_reused(void **state_)
{
	struct fixture f;
	char *t;

	setup(&f, 5, 0, false);
	samples(&f, 50, 50, "old", "work", 100);
	samples(&f, 60, 60, "stays", "work", 1);
	tick(&f);
	for (int i = 0; i < 5; i++) {
		samples(&f, 60, 60, "stays", "work", 1);
		tick(&f);
	}
	t = render(&f, false);
	assert_value(t, "flametop_cpu_seconds_total{pid=\"50\",process=\"old\"}", "1");
	free(t);
	for (int i = 0; i < 40; i++) {
		samples(&f, 60, 60, "stays", "work", 1);
		tick(&f);
	}
	t = render(&f, false);
	assert_null(value(t, "flametop_cpu_seconds_total{pid=\"50\",process=\"old\"}"));
	assert_value(t, "flametop_cpu_seconds_total{pid=\"60\",process=\"stays\"}", "0.46");
	free(t);

	/* pid 60's process exits; a new one gets pid 60 */
	model_thread_exit(f.m, 60);
	samples(&f, 60, 60, "new", "other", 3);
	tick(&f);
	t = render(&f, false);
	assert_value(t, "flametop_cpu_seconds_total{pid=\"60\",process=\"new\"}", "0.03");
	assert_null(value(t, "flametop_cpu_seconds_total{pid=\"60\",process=\"stays\"}"));
	assert_null(value(t, "flametop_function_cpu_seconds_total{pid=\"60\",process=\"new\","
			     "function=\"work\",module=\"app\"}"));
	free(t);
	teardown(&f);
}

static void test_metrics_go(void **state_)
{
	static const uint64_t pcs[] = { 0x1000, 0x2000, 0x3000 };
	struct goroutines_proc p = {
		.pid = 4242, .version = "go1.22.12", .memprofile_rate = 524288,
		.gc = { .numgc = 7, .pause_total_ns = 1500000, .pause_last_ns = 200000,
			.heap_live = 4 * MB, .heap_goal = 8 * MB,
			.known = GOROUTINES_GC_COUNTS | GOROUTINES_GC_HEAP },
	};
	struct fixture f;
	char *t;

	setup(&f, 5, 0, true);
	samples(&f, 4242, 4242, "gosvc", "main.work", 1);
	for (int i = 0; i < 2; i++) {
		goroutines_proc(model_goroutines(f.m), &p);
		for (int k = 0; k < 3; k++) {
			struct goroutines_g g = { .status = GOROUTINES_WAITING,
						  .wait_reason = "chan receive", .pcs = pcs,
						  .nr_pcs = 3 };

			goroutines_add(model_goroutines(f.m), f.m, 4242, &g);
		}
		for (int k = 0; k < 2 - i; k++) {
			struct goroutines_g g = { .status = GOROUTINES_RUNNABLE, .pcs = pcs + 1,
						  .nr_pcs = 2 };

			goroutines_add(model_goroutines(f.m), f.m, 4242, &g);
		}
		tick(&f);
	}
	t = render(&f, false);
	assert_value(t, "flametop_go_goroutines{pid=\"4242\",process=\"gosvc\",state=\"waiting\","
			"wait_reason=\"chan receive\"}", "3");
	assert_value(t, "flametop_go_goroutines{pid=\"4242\",process=\"gosvc\","
			"state=\"runnable\",wait_reason=\"\"}", "1");
	assert_value(t, "flametop_go_gc_cycles_total{pid=\"4242\",process=\"gosvc\"}", "7");
	assert_value(t, "flametop_go_gc_pause_seconds_total{pid=\"4242\",process=\"gosvc\"}",
		     "0.0015");
	assert_value(t, "flametop_go_gc_last_pause_seconds{pid=\"4242\",process=\"gosvc\"}",
		     "0.0002");
	assert_value(t, "flametop_go_heap_live_bytes{pid=\"4242\",process=\"gosvc\"}", "4194304");
	assert_value(t, "flametop_go_heap_goal_bytes{pid=\"4242\",process=\"gosvc\"}", "8388608");
	free(t);
	teardown(&f);
}

static void test_metrics_escape(void **state_)
{
	static const struct {
		const char *in;
		size_t len;
		const char *out;
	} cases[] = {
		{ "nginx", 5, "nginx" },
		{ "a\"b\\c\nd", 7, "a\\\"b\\\\c\\nd" },
		{ "tab\there", 8, "tab?here" },
		{ "caf\xc3\xa9", 5, "caf\xc3\xa9" },          /* UTF-8 stays */
		{ "bad\xff\xfe", 5, "bad??" },                  /* not UTF-8 */
		{ "cut\xe2\x82", 5, "cut??" },                  /* a sequence cut short */
		{ "over\xc0\xaf", 6, "over??" },                /* overlong */
		{ "sur\xed\xa0\x80", 6, "sur???" },             /* a surrogate */
		{ "\x7f", 1, "?" },
		{ "", 0, "" },
	};
	char out[METRICS_LABEL_MAX + 8], in[1000];
	size_t n;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		metrics_escape(cases[i].in, cases[i].len, out, sizeof(out));
		if (strcmp(out, cases[i].out))
			fail_msg("case %zu: '%s', expected '%s'", i, out, cases[i].out);
	}
	/* long names are cut at a character boundary, with "..." */
	for (size_t i = 0; i < sizeof(in); i += 2)
		memcpy(in + i, "\xc3\xa9", 2);
	n = metrics_escape(in, sizeof(in), out, sizeof(out));
	assert_true(n <= METRICS_LABEL_MAX + 3);
	assert_int_equal(strlen(out), n);
	assert_string_equal(out + n - 3, "...");
	assert_int_equal((n - 3) % 2, 0);
	/* an escape is never cut in half */
	memset(in, '"', sizeof(in));
	n = metrics_escape(in, sizeof(in), out, sizeof(out));
	assert_string_equal(out + n - 3, "...");
	assert_int_equal((n - 3) % 2, 0);
}

static void test_metrics_formats(void **state_)
{
	struct fixture f;
	char *text, *om;

	setup(&f, 5, 0, true);
	samples(&f, 7, 7, "app", "work", 1);
	state(&f, 7, 7, "app", MODEL_STATE_RUNNING, SEC);
	tick(&f);
	text = render(&f, false);
	om = render(&f, true);
	assert_non_null(strstr(text, "# TYPE flametop_cpu_seconds_total counter\n"));
	assert_non_null(strstr(text, "# TYPE flametop_build_info gauge\n"));
	assert_null(strstr(text, "# EOF"));
	assert_null(strstr(text, "# UNIT"));
	/* OpenMetrics: families without _total/_info, units, and # EOF at the end */
	assert_non_null(strstr(om, "# TYPE flametop_cpu_seconds counter\n"
				   "# UNIT flametop_cpu_seconds seconds\n"));
	assert_non_null(strstr(om, "\nflametop_cpu_seconds_total{pid=\"7\",process=\"app\"} "));
	assert_non_null(strstr(om, "# TYPE flametop_build info\n"));
	assert_non_null(strstr(om, "# UNIT flametop_rss_bytes bytes\n") ||
			!strstr(om, "flametop_rss_bytes{"));
	assert_string_equal(om + strlen(om) - 6, "# EOF\n");
	/* every sample line is name{labels} value or name value */
	for (const char *p = text; *p; p = strchr(p, '\n') + 1) {
		size_t l = strcspn(p, "\n");
		const char *sp = memchr(p, ' ', l);

		if (*p == '#')
			continue;
		assert_non_null(sp);
		assert_true(sp[1] >= '0' && sp[1] <= '9');
	}
	free(text);
	free(om);
	teardown(&f);
}

/* A snapshot is a copy: the model and the metrics go on, it says what it said. */
static void test_metrics_snapshot_stays(void **state_)
{
	struct metrics_buf a = { 0 }, b = { 0 };
	struct metrics_snap *s, *held;
	struct fixture f;

	setup(&f, 5, 0, true);
	samples(&f, 7, 7, "app", "work", 10);
	tick(&f);
	s = metrics_snapshot(f.mx, f.m);
	metrics_render(s, NULL, false, &a);
	held = metrics_snap_get(s);
	metrics_snap_put(s);
	for (int i = 0; i < 5; i++) {
		samples(&f, 7, 7, "app", "work", 10);
		samples(&f, 8, 8, "other", "x", 10);
		tick(&f);
	}
	teardown(&f); /* even the model is gone */
	metrics_render(held, NULL, false, &b);
	metrics_snap_put(held);
	assert_string_equal(a.p, b.p);
	free(a.p);
	free(b.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_metrics_processes),
		cmocka_unit_test(test_metrics_top_functions),
		cmocka_unit_test(test_metrics_budget),
		cmocka_unit_test(test_metrics_gone_and_reused),
		cmocka_unit_test(test_metrics_go),
		cmocka_unit_test(test_metrics_escape),
		cmocka_unit_test(test_metrics_formats),
		cmocka_unit_test(test_metrics_snapshot_stays),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
