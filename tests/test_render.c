// SPDX-License-Identifier: GPL-2.0-only
/*
 * The TUI without a terminal: the real frontend and views draw a synthetic model onto the
 * in-memory canvas, driven by the same keys a person would press, and the screen is compared
 * with golden text files in tests/golden/. FLAMETOP_UPDATE_GOLDEN=1 rewrites the goldens (look
 * at the diff before committing them). Behaviour that text cannot show (selection, roles,
 * pause) is asserted directly.
 */
#include <errno.h>
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "model/goheap.h"
#include "model/goroutines.h"
#include "model/model.h"
#include "model/stacks.h"
#include "tui/canvas.h"
#include "tui/term.h"
#include "tui/tui.h"

#ifndef GOLDEN_DIR
#define GOLDEN_DIR "tests/golden"
#endif

static const struct tui_info info = {
	.host = "testhost",
	.target = "command ./app --serve",
	.source = "bpf",
	.freq_hz = 99,
	.nr_cpus = 2,
	.tick_ms = 1000,
};

/* ---- building models ---- */

/* A frame from "module!function@file:line"; the module defaults to "app". */
static uint32_t frame(struct stacks *st, const char *spec)
{
	char buf[512], *fn = buf, *bang, *at, *colon;
	struct frame f = { .module = "app", .kind = FRAME_USER, .symbolized = true };

	snprintf(buf, sizeof(buf), "%s", spec);
	bang = strchr(buf, '!');
	if (bang) {
		*bang = 0;
		f.module = buf;
		fn = bang + 1;
		if (!strncmp(buf, "[kernel", 7))
			f.kind = FRAME_KERNEL;
		if (!strcmp(buf, "[flametop]")) {
			f.kind = FRAME_SPECIAL; /* markers: "[lock]", "[short-lived]" */
			f.symbolized = false;
		}
	}
	at = strrchr(fn, '@');
	if (at) {
		*at = 0;
		f.file = at + 1;
		colon = strchr(f.file, ':');
		if (colon) {
			*colon = 0;
			f.line = strtoul(colon + 1, NULL, 10);
		}
	}
	f.function = fn;
	return stacks_add_frame(st, &f);
}

static uint32_t stack(struct stacks *st, const char *const *specs)
{
	uint32_t ids[512], n = 0;

	for (; specs[n]; n++)
		ids[n] = frame(st, specs[n]);
	return stacks_add_stack(st, ids, n);
}

#define STACK(st, ...) stack(st, (const char *const[]){ __VA_ARGS__, NULL })

static struct model *new_model(void)
{
	struct model_opts opts = { .history = 600 };
	struct model *m;

	assert_int_equal(model_new(&opts, &m), 0);
	return m;
}

static void close_tick(struct model *m)
{
	uint64_t n = model_nr_ticks(m) ? model_tick(m, 0)->seq + 1 : 0;

	assert_int_equal(model_close_tick(m, model_start_ns(m) + (n + 1) * 1000000000ull), 0);
}

static void add(struct model *m, uint32_t pid, uint32_t tid, const char *comm, const char *pcomm,
		uint32_t stack, uint64_t n)
{
	if (n)
		model_add_resolved(m, pid, tid, comm, pcomm, stack, n, 1);
}

/*
 * The standard scene: process app (pid 100) with a main thread in poll, worker-hot spinning in
 * spin_three / spin_one (the split drifts from tick to tick), worker-warm at ~30 % and
 * worker-idle never on CPU; process db (pid 200) with two threads.
 */
static struct model *std_model(int nticks)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t s_poll = STACK(st, "main@main.c:210", "poll_loop@loop.c:88", "libc.so.6!__poll",
				"[kernel.kallsyms]!entry_SYSCALL_64",
				"[kernel.kallsyms]!do_sys_poll");
	uint32_t s_three = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
				 "compute@compute.c:17", "spin_three@compute.c:31");
	uint32_t s_one = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
			       "compute@compute.c:17", "spin_one@compute.c:24");
	uint32_t s_memcpy = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
				  "parse_request@parse.c:77", "libc.so.6!__memcpy_avx_unaligned");
	uint32_t s_parse = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
				 "parse_request@parse.c:80");
	uint32_t s_btree = STACK(st, "db!main", "db!db_loop", "db!btree_search");
	uint32_t s_fsync = STACK(st, "libc.so.6!start_thread", "db!flush_main", "libc.so.6!fsync",
				 "[kernel.kallsyms]!ext4_sync_file");

	model_note_thread(m, 100, 103, "worker-idle", "app");
	for (int i = 0; i < nticks; i++) {
		uint64_t three = 68 + (i % 5) * 3;

		add(m, 100, 100, "app", "app", s_poll, 2);
		add(m, 100, 101, "worker-hot", "app", s_three, three);
		add(m, 100, 101, "worker-hot", "app", s_one, 99 - three);
		add(m, 100, 102, "worker-warm", "app", s_memcpy, 20);
		add(m, 100, 102, "worker-warm", "app", s_parse, 10);
		add(m, 200, 200, "db", "db", s_btree, 10);
		add(m, 200, 201, "db-flush", "db", s_fsync, 5);
		model_add_lost(m, MODEL_LOST_RINGBUF, i == 3 ? 7 : 0);
		close_tick(m);
	}
	return m;
}

/* Long and hostile names: C++ templates, UTF-8, wide characters, an escape sequence. */
static struct model *long_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	const char *proc = "a-very-long-process-name-indeed";
	uint32_t s_cpp = STACK(
		st,
		"libstdc++.so.6!std::thread::_State_impl<std::thread::_Invoker<std::tuple<"
		"void (Server::*)(int), Server*, int> > >::_M_run()",
		"server!Server::serve_forever(int)"
		"@/home/builder/src/server/src/net/server.cpp:1234",
		"server!std::_Function_handler<void (Request const&), Router::add(std::string "
		"const&)::{lambda(Request const&)#1}>::_M_invoke(std::_Any_data const&, Request "
		"const&)@/home/builder/src/server/src/http/router.cpp:88");
	uint32_t s_utf = STACK(st, "server!main", "server!naïve_ünïcode_fn", "server!计算_hash");

	for (int i = 0; i < 5; i++) {
		add(m, 4242, 4243, "worker-with-a-very-long-name", proc, s_cpp, 60);
		add(m, 4242, 4244, "naïve-thread", proc, s_utf, 30);
		add(m, 4242, 4245, "bad\x1b[31mname", proc, s_utf, 5);
		close_tick(m);
	}
	return m;
}

/* One stack 60 frames deep (recursion) and a shallow one beside it. */
static struct model *deep_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	const char *specs[70];
	char names[64][32];
	uint32_t deep, shallow;
	int n = 0;

	specs[n++] = "main";
	for (int i = 0; i < 60; i++) {
		snprintf(names[i], sizeof(names[i]), "descend_%02d", i);
		specs[n++] = names[i];
	}
	specs[n++] = "leaf_work";
	specs[n] = NULL;
	deep = stack(st, specs);
	shallow = STACK(st, "main", "idle_loop");
	for (int i = 0; i < 3; i++) {
		add(m, 7, 7, "deep", "deep", deep, 80);
		add(m, 7, 7, "deep", "deep", shallow, 20);
		close_tick(m);
	}
	return m;
}

/*
 * Where time goes (probes/sched's states and blocked stacks): process srv (pid 500) with
 * "spinner" on CPU all the time and "waiter", which per tick runs 250 ms (25 samples at 100
 * Hz... and 99 Hz here: 25 samples), waits 50 ms for a CPU, 250 ms on a lock (200 ms with a
 * stack), 250 ms on file I/O and 200 ms asleep.
 */
static struct model *wait_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t s_spin = STACK(st, "srv!main", "srv!spin_loop");
	uint32_t s_work = STACK(st, "libc.so.6!start_thread", "srv!serve", "srv!handle",
				"srv!parse_json@json.c:40");
	uint32_t s_lock = STACK(st, "libc.so.6!start_thread", "srv!serve", "srv!handle",
				"srv!take_lock@lock.c:12", "libc.so.6!__lll_lock_wait",
				"[kernel.kallsyms]!futex_wait", "[flametop]![lock]");
	uint32_t s_io = STACK(st, "libc.so.6!start_thread", "srv!serve", "srv!load_file",
			      "libc.so.6!__libc_pread64", "[kernel.kallsyms]!ext4_file_read_iter",
			      "[flametop]![io]");
	uint32_t s_sleep = STACK(st, "libc.so.6!start_thread", "srv!serve", "srv!backoff",
				 "libc.so.6!__clock_nanosleep", "[flametop]![sleep]");
	const uint64_t ms = 1000000;

	for (int i = 0; i < 5; i++) {
		add(m, 500, 500, "srv", "srv", s_spin, 99);
		model_add_state(m, 500, 500, "srv", "srv", MODEL_STATE_RUNNING, 1000 * ms);
		add(m, 500, 501, "waiter", "srv", s_work, 25);
		model_add_offcpu_resolved(m, 500, 501, "waiter", "srv", s_lock, 200 * ms);
		model_add_offcpu_resolved(m, 500, 501, "waiter", "srv", s_io, 250 * ms);
		model_add_offcpu_resolved(m, 500, 501, "waiter", "srv", s_sleep, 200 * ms);
		model_add_state(m, 500, 501, "waiter", "srv", MODEL_STATE_RUNNING, 250 * ms);
		model_add_state(m, 500, 501, "waiter", "srv", MODEL_STATE_RUNNABLE, 50 * ms);
		model_add_state(m, 500, 501, "waiter", "srv", MODEL_STATE_LOCK, 250 * ms);
		model_add_state(m, 500, 501, "waiter", "srv", MODEL_STATE_IO, 250 * ms);
		model_add_state(m, 500, 501, "waiter", "srv", MODEL_STATE_SLEEP, 200 * ms);
		close_tick(m);
	}
	return m;
}

/* ---- driving the TUI ---- */

static struct tui *open_tui(struct model *m, int w, int h, bool ascii)
{
	struct tui *t;

	assert_int_equal(tui_new_headless(&info, m, w, h, ascii, &t), 0);
	return t;
}

static void press(struct tui *t, const int *keys)
{
	for (; *keys; keys++)
		assert_int_equal(tui_key(t, *keys), TUI_NONE);
	/* What the poll loop does after a batch of keys: draw once. */
	tui_resize(t, tui_canvas(t)->w, tui_canvas(t)->h);
}

#define PRESS(t, ...) press(t, (const int[]){ __VA_ARGS__, 0 })

static void type(struct tui *t, const char *s)
{
	for (; *s; s++)
		tui_key(t, (unsigned char)*s);
	tui_resize(t, tui_canvas(t)->w, tui_canvas(t)->h);
}

static char *screen(struct tui *t)
{
	return canvas_dump(tui_canvas(t));
}

/* The screen shows s somewhere. */
static bool shows(struct tui *t, const char *s)
{
	char *all = screen(t);
	bool yes = strstr(all, s) != NULL;

	free(all);
	return yes;
}

static char *row(struct tui *t, int y)
{
	static char buf[4096];
	char *all = screen(t), *p = all;

	for (int i = 0; i < y && p; i++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	snprintf(buf, sizeof(buf), "%.*s", p ? (int)strcspn(p, "\n") : 0, p ? p : "");
	free(all);
	return buf;
}

static char *read_all(const char *path)
{
	FILE *f = fopen(path, "re");
	char *buf;
	long n;

	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = calloc(1, n + 1);
	if (fread(buf, 1, n, f) != (size_t)n) {
		free(buf);
		buf = NULL;
	}
	fclose(f);
	return buf;
}

static void check_golden(struct tui *t, const char *name)
{
	const char *dir = getenv("FLAMETOP_GOLDEN"), *update = getenv("FLAMETOP_UPDATE_GOLDEN");
	char path[1024], actual[1024];
	char *got = screen(t), *want;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.txt", dir && *dir ? dir : GOLDEN_DIR, name);
	if (update && !strcmp(update, "1")) {
		f = fopen(path, "we");
		assert_non_null(f);
		fputs(got, f);
		assert_int_equal(fclose(f), 0);
		free(got);
		return;
	}
	want = read_all(path);
	if (!want) {
		print_error("no golden %s: run with FLAMETOP_UPDATE_GOLDEN=1 to write it\n", path);
		free(got);
		fail();
	}
	if (strcmp(got, want)) {
		const char *g = got, *w = want;
		int line = 1;

		while (*g && *g == *w) {
			line += *g == '\n';
			g++;
			w++;
		}
		snprintf(actual, sizeof(actual), "/tmp/flametop-golden-%s.txt", name);
		f = fopen(actual, "we");
		if (f) {
			fputs(got, f);
			fclose(f);
		}
		print_error("%s differs from the golden at line %d (got %s)\n"
			    "--- got:\n%s--- want:\n%s",
			    name, line, actual, got, want);
		free(got);
		free(want);
		fail();
	}
	free(got);
	free(want);
}

static void golden(struct model *m, int w, int h, bool ascii, const int *keys, const char *name)
{
	struct tui *t = open_tui(m, w, h, ascii);

	press(t, keys);
	check_golden(t, name);
	tui_free(t);
}

#define NO_KEYS ((const int[]){ 0 })
#define KEYS(...) ((const int[]){ __VA_ARGS__, 0 })

/* ---- goldens ---- */

static void test_render_threads(void **state)
{
	struct model *m = std_model(30);

	golden(m, 80, 24, false, NO_KEYS, "threads-80x24");
	golden(m, 132, 43, false, NO_KEYS, "threads-132x43");
	golden(m, 80, 24, false, KEYS('H'), "threads-procs-80x24");
	golden(m, 80, 24, false, KEYS('w', 'w', '>', '>'), "threads-sorted-since-start-80x24");
	golden(m, 40, 10, false, NO_KEYS, "threads-40x10");
	golden(m, 20, 5, false, NO_KEYS, "tiny-20x5");
	golden(m, 80, 24, true, NO_KEYS, "threads-ascii-80x24");
	golden(m, 80, 24, false, KEYS('?'), "help-80x24");
	/* its last page: the memory budget, with the model's numbers (issue 13) */
	golden(m, 80, 24, false, KEYS('?', TERM_KEY_END), "help-end-80x24");
	model_free(m);
}

static void test_render_flame(void **state)
{
	struct model *m = std_model(30);
	/* all > start_thread > worker_main > compute > spin_three: the heaviest path */
	const int *to_spin = KEYS('2', TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN);

	golden(m, 80, 24, false, to_spin, "flame-80x24");
	golden(m, 132, 43, false, to_spin, "flame-132x43");
	golden(m, 80, 24, true, to_spin, "flame-ascii-80x24");
	golden(m, 80, 24, false,
	       KEYS('2', TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_ENTER),
	       "flame-zoom-80x24");
	golden(m, 80, 24, false, KEYS('2', 'f', TERM_KEY_UP, TERM_KEY_UP),
	       "flame-root-bottom-80x24");
	golden(m, 40, 10, false, to_spin, "flame-40x10");
	model_free(m);
}

static void test_render_flame_search(void **state)
{
	struct model *m = std_model(30);
	struct tui *t = open_tui(m, 80, 24, false);

	PRESS(t, '2', '/');
	type(t, "spin");
	check_golden(t, "flame-search-typing-80x24");
	PRESS(t, TERM_KEY_ENTER, 'n');
	check_golden(t, "flame-search-80x24");
	/* spin_three and spin_one: all of worker-hot's 99 samples of 146 per tick */
	assert_non_null(strstr(row(t, 3), "/spin 67.8%"));
	tui_free(t);
	model_free(m);
}

static void test_render_stack(void **state)
{
	struct model *m = std_model(30);

	/* s on the busiest thread (worker-hot) */
	golden(m, 80, 24, false, KEYS('s'), "stack-thread-80x24");
	/* s on spin_three in the flame */
	golden(m, 100, 30, false,
	       KEYS('2', TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, 's'),
	       "stack-frame-100x30");
	/* and from there to a caller */
	golden(m, 80, 24, false,
	       KEYS('2', TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, 's',
		    TERM_KEY_ENTER),
	       "stack-caller-80x24");
	model_free(m);
}

static void test_render_long_names(void **state)
{
	struct model *m = long_model();

	golden(m, 80, 24, false, NO_KEYS, "longnames-threads-80x24");
	golden(m, 80, 24, false, KEYS('2', TERM_KEY_DOWN, TERM_KEY_DOWN), "longnames-flame-80x24");
	golden(m, 80, 24, true, KEYS('2', TERM_KEY_DOWN, TERM_KEY_DOWN),
	       "longnames-flame-ascii-80x24");
	golden(m, 132, 43, false, KEYS('s'), "longnames-stack-132x43");
	model_free(m);
}

static void test_render_deep(void **state)
{
	struct model *m = deep_model();

	golden(m, 80, 24, false, KEYS('2'), "deep-flame-80x24");
	golden(m, 80, 24, false, KEYS('2', TERM_KEY_END), "deep-flame-end-80x24");
	golden(m, 132, 43, false, KEYS('2', TERM_KEY_END), "deep-flame-end-132x43");
	model_free(m);
}

/* The metric switch, and drilling into a thread's, a process's and a block hot spot's time. */
static void test_render_wall(void **state)
{
	struct model *m = wait_model();
	struct tui *t;

	/* every thread: cpu, then m: off-cpu, m: wall */
	golden(m, 80, 24, false, KEYS('2', 'm'), "wall-offcpu-80x24");
	golden(m, 80, 24, false, KEYS('2', 'm', 'm'), "wall-all-80x24");
	golden(m, 80, 24, true, KEYS('2', 'm', 'm'), "wall-all-ascii-80x24");
	/* Enter on waiter (the second row by %CPU): its wall flame; s: its stacks in ms */
	golden(m, 80, 24, false, KEYS(TERM_KEY_DOWN, TERM_KEY_ENTER), "wall-thread-80x24");
	golden(m, 100, 30, false, KEYS(TERM_KEY_DOWN, TERM_KEY_ENTER, 's'),
	       "wall-thread-stacks-100x30");
	/* the hottest block hot spot (the I/O): its thread's wall flame, the stack selected */
	golden(m, 80, 24, false, KEYS('3', TERM_KEY_ENTER), "wall-block-80x24");

	t = open_tui(m, 80, 24, false);
	PRESS(t, TERM_KEY_DOWN, TERM_KEY_ENTER);
	/* the waiter's second: 250 ms running, 50 ms runnable, 250 lock, 250 io, 200 sleep —
	 * running is sampled: 25 samples at 99 Hz */
	assert_non_null(strstr(row(t, 3), "[wall] thread waiter (501)"));
	assert_non_null(strstr(row(t, 3), "run 25% lock 25% io 25% sleep 20% runq 5%"));
	/* the strip follows the scope: the root is all of the waiter's time every second */
	assert_non_null(strstr(row(t, 22), "top 100%"));
	/* Esc goes back to the threads, 2 shows every thread again, in cpu */
	PRESS(t, TERM_KEY_ESC);
	assert_true(shows(t, "PID"));
	PRESS(t, '2');
	assert_non_null(strstr(row(t, 3), "[cpu]"));
	assert_null(strstr(row(t, 3), "waiter"));
	/* m there is remembered for 2; a drill-down does not change it */
	PRESS(t, 'm', 'm', '1', TERM_KEY_DOWN, TERM_KEY_ENTER, 'm');
	assert_non_null(strstr(row(t, 3), "[cpu] thread waiter"));
	PRESS(t, '2');
	assert_non_null(strstr(row(t, 3), "[wall]"));
	/* H: the process's wall flame is both threads' time */
	PRESS(t, '1', 'H', TERM_KEY_ENTER);
	assert_non_null(strstr(row(t, 3), "[wall] process srv (500)"));
	assert_non_null(strstr(row(t, 3), "run 62% lock 12%"));
	tui_free(t);
	model_free(m);
}

/*
 * The heap view: process app (pid 300) grows 1 MiB a tick from leak_here while churn_here nets
 * to nothing and trim_heap gives some back; leak mode runs in the last ticks.
 */
static struct model *heap_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t s_leak = STACK(st, "app!main", "app!serve", "leak_here@leak.c:12");
	uint32_t s_churn = STACK(st, "app!main", "app!serve", "churn_here@churn.c:40",
				 "libc.so.6!malloc");
	uint32_t s_trim = STACK(st, "app!main", "app!cleanup", "libc.so.6!free",
				"libc.so.6!systrim");
	struct tick_heap_info growth = { .mode = MODEL_HEAP_GROWTH, .events = 300 };

	for (int i = 0; i < 12; i++) {
		struct model_memory mem = { .known = 1u << MODEL_MEM_RSS | 1u << MODEL_MEM_ANON |
						     1u << MODEL_MEM_SWAP };
		bool exact = i >= 9;

		mem.v[MODEL_MEM_RSS] = (40 + (uint64_t)i) << 20;
		mem.v[MODEL_MEM_ANON] = (30 + (uint64_t)i) << 20;
		model_note_thread(m, 300, 301, "app-worker", "app");
		model_add_memory(m, 300, &mem);
		model_add_heap_resolved(m, 300, 301, "app-worker", "app", s_leak, 1 << 20, 256);
		model_add_heap_resolved(m, 300, 301, "app-worker", "app", s_churn, 0, 12);
		model_add_heap_resolved(m, 300, 300, "app", "app", s_trim, -(64 << 10), 1);
		if (exact) {
			struct tick_heap_info info = { .mode = MODEL_HEAP_EXACT, .calls = 120000,
						       .cost_ns = 150000000, .live_blocks = 48,
						       .live_bytes = 3 << 20, .unmatched = 7 };

			model_add_alloc_resolved(m, 300, 301, "app-worker", "app", s_leak, 1 << 20,
						 16);
			model_add_heap_info(m, &info);
		} else {
			model_add_heap_info(m, &growth);
		}
		close_tick(m);
	}
	return m;
}

/*
 * Heap churn and short-lived processes (issue 13): python3 (pid 400) allocates and frees 80 MiB
 * a tick (+80M at one stack, -80M at another) while its RSS grows 200 KiB a tick; five
 * short-lived "tmux: client" processes each grew 128 KiB at a stack resolved after they were
 * gone, then exited. The title's figure is the net +200K/s; the gross growth and releases are
 * labelled; the five exited processes are one dim row after the live ones.
 */
static struct model *churn_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t s_alloc = STACK(st, "python3!main", "python3!PyEval", "libc.so.6!malloc",
				 "libc.so.6!sysmalloc");
	uint32_t s_free = STACK(st, "python3!main", "python3!PyEval", "libc.so.6!free",
				"libc.so.6!munmap");
	uint32_t s_gone = STACK(st, "[unknown]![truncated]", "[unknown]![unknown]");
	struct tick_heap_info growth = { .mode = MODEL_HEAP_GROWTH, .events = 4000 };

	for (int i = 0; i < 10; i++) {
		struct model_memory mem = { .known = 1u << MODEL_MEM_RSS | 1u << MODEL_MEM_ANON };

		mem.v[MODEL_MEM_RSS] = (90ull << 20) + (uint64_t)i * (200 << 10);
		mem.v[MODEL_MEM_ANON] = (60ull << 20) + (uint64_t)i * (200 << 10);
		model_note_thread(m, 400, 400, "python3", "python3");
		model_add_memory(m, 400, &mem);
		model_add_heap_resolved(m, 400, 400, "python3", "python3", s_alloc,
					(80 << 20) + (200 << 10), 20);
		model_add_heap_resolved(m, 400, 400, "python3", "python3", s_free, -(80 << 20),
					20);
		if (i == 5) {
			for (uint32_t pid = 500; pid < 505; pid++) {
				model_add_heap_resolved(m, pid, pid, "tmux: client", "tmux: client",
							s_gone, 128 << 10, 1);
				model_thread_exit(m, pid);
			}
		}
		model_add_heap_info(m, &growth);
		close_tick(m);
	}
	return m;
}

/*
 * The goroutines view: Go process gosvc (pid 400, go1.22.12): 1000 goroutines parked in a
 * channel receive from main.startWaiters, a group created by main.accept growing by 2 a tick,
 * 10 on a mutex, one running, and the runtime's own GC worker (hidden unless 'a'). Fed the way a
 * replay feeds it: group definitions, then ticks with the changes.
 */
static struct model *go_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	struct goroutines *g = model_goroutines(m);
	const char *chan = stacks_str(st, "chan receive"), *mutex = stacks_str(st, "sync.Mutex.Lock");
	const char *idle = stacks_str(st, "GC worker (idle)");
	uint32_t creator = frame(st, "main.startWaiters@/src/gosvc/main.go:88");
	uint32_t s_buf = STACK(st, "runtime.goexit", "runtime.main", "main.main",
			       "main.loadCache@/src/gosvc/cache.go:20");
	uint32_t s_json = STACK(st, "runtime.goexit", "main.handle@/src/gosvc/main.go:130",
				"encoding/json.Marshal", "encoding/json.(*encodeState).marshal");
	uint32_t acceptor = frame(st, "main.accept@/src/gosvc/main.go:120");
	struct go_group defs[] = {
		{ 400, GOROUTINES_WAITING, chan,
		  STACK(st, "runtime.goexit", "main.waiter@/src/gosvc/main.go:40",
			"runtime.chanrecv1", "runtime.chanrecv", "runtime.gopark",
			"[flametop]![chan receive]"),
		  creator, frame(st, "main.waiter@/src/gosvc/main.go:40"), 0 },
		{ 400, GOROUTINES_WAITING, chan,
		  STACK(st, "runtime.goexit", "main.handle@/src/gosvc/main.go:130",
			"main.readRequest@/src/gosvc/main.go:150", "runtime.chanrecv1",
			"runtime.chanrecv", "runtime.gopark", "[flametop]![chan receive]"),
		  acceptor, frame(st, "main.handle@/src/gosvc/main.go:130"), 0 },
		{ 400, GOROUTINES_WAITING, mutex,
		  STACK(st, "runtime.goexit", "main.locker@/src/gosvc/main.go:60",
			"sync.(*Mutex).Lock", "sync.(*Mutex).lockSlow", "runtime.semacquire1",
			"runtime.gopark", "[flametop]![sync.Mutex.Lock]"),
		  creator, frame(st, "main.locker@/src/gosvc/main.go:60"), 0 },
		{ 400, GOROUTINES_RUNNING, NULL,
		  STACK(st, "runtime.goexit", "main.spin@/src/gosvc/main.go:70", "[flametop]![running]"),
		  creator, frame(st, "main.spin@/src/gosvc/main.go:70"), 0 },
		{ 400, GOROUTINES_WAITING, idle,
		  STACK(st, "runtime.goexit", "runtime.gcBgMarkWorker", "runtime.gopark",
			"[flametop]![GC worker (idle)]"),
		  GO_GROUP_NONE, frame(st, "runtime.gcBgMarkWorker"), GO_GROUP_SYSTEM },
	};

	for (size_t i = 0; i < sizeof(defs) / sizeof(defs[0]); i++)
		assert_int_equal(goroutines_add_group(g, &defs[i]), i);
	model_note_thread(m, 400, 400, "gosvc", "gosvc");
	for (int i = 0; i < 20; i++) {
		uint64_t start = model_start_ns(m) + (uint64_t)i * 1000000000ull;
		struct tick_go_proc proc = {
			.pid = 400, .version = stacks_str(st, "go1.22.12"),
			.goroutines = 1013 + 2 * i, .system = 2, .stacks_cached = 1010,
			.gc = { .numgc = 40 + i / 5, .collections = i % 5 == 0,
				.pause_last_ns = 120000, .pause_max_ns = i % 5 ? 0 : 120000 + i * 1000,
				.heap_live = 48 << 20, .heap_marked = 30 << 20, .heap_goal = 60 << 20,
				.gc_percent = 100, .memory_limit = INT64_MAX,
				.known = GOROUTINES_GC_COUNTS | GOROUTINES_GC_HEAP |
					 GOROUTINES_GC_KNOBS },
			.memprofile_rate = 524288, .heap_state = GOROUTINES_HEAP_ON,
		};
		struct tick_go_group first[] = {
			{ 0, 1000, start - 300000000000ull }, { 1, 0, 0 }, { 2, 10, start },
			{ 3, 1, 0 }, { 4, 2, start },
		};
		struct tick_go_group later[] = { { 1, 2, start - 5000000000ull } };
		struct tick_goheap prof[] = {
			{ .pid = 400, .stack = s_buf, .kind = GOHEAP_HEAP,
			  .v = { 64, 32 << 20, 64, 32 << 20 } },
			{ .pid = 400, .stack = s_json, .kind = GOHEAP_HEAP,
			  .v = { 900, 1 << 20, 40000, 40 << 20 } },
		};
		struct tick_goheap more = { .pid = 400, .stack = s_json, .kind = GOHEAP_HEAP,
					    .v = { 10, 4096, 4000, 4 << 20 } };
		struct tick_go tg = { .procs = &proc, .nr_procs = 1,
				      .heap = i ? &more : prof, .nr_heap = i ? 1 : 2 };
		struct tick t = { .start_ns = start, .go = &tg };

		proc.by_status[GOROUTINES_WAITING] = 1012 + 2 * i;
		proc.by_status[GOROUTINES_RUNNING] = 1;
		tg.groups = i ? later : first;
		tg.nr_groups = i ? 1 : 5;
		model_add_tick(m, &t);
		close_tick(m);
	}
	return m;
}

static void test_render_goroutines(void **state)
{
	struct model *m = go_model();
	struct tui *t;

	golden(m, 80, 24, false, KEYS('5'), "goroutines-80x24");
	golden(m, 132, 43, false, KEYS('5'), "goroutines-132x43");
	golden(m, 80, 24, true, KEYS('5', 'c', 'a'), "goroutines-growth-all-ascii-80x24");
	golden(m, 132, 43, false, KEYS('5', TERM_KEY_DOWN, 's'), "goroutines-stack-132x43");
	/*
	 * Enter: the process's goroutines in wall time, the group (main.readRequest's channel
	 * receive) selected: over the 10 s window 1000 x 10 s of main.waiter, 2 x (10 + ... + 19)
	 * = 290 s of it (2.8 %), 10 x 10 s on the mutex, 10 s running, the GC worker's 20 s; m:
	 * counted now (38 of 1051); s from there: the stack view in goroutines.
	 */
	golden(m, 80, 24, false, KEYS('5', TERM_KEY_DOWN, TERM_KEY_ENTER), "goroutines-flame-80x24");
	golden(m, 80, 24, true, KEYS('5', TERM_KEY_DOWN, TERM_KEY_ENTER, 'm'),
	       "goroutines-flame-count-ascii-80x24");
	golden(m, 80, 24, false, KEYS('5', TERM_KEY_DOWN, TERM_KEY_ENTER, TERM_KEY_HOME),
	       "goroutines-flame-root-80x24");
	t = open_tui(m, 80, 24, false);
	PRESS(t, '5', TERM_KEY_DOWN, TERM_KEY_ENTER);
	assert_non_null(strstr(row(t, 3), "[wall] goroutines of gosvc (400)"));
	assert_non_null(strstr(row(t, 3), "[chan receive]  2.8%  290s"));
	/* the group's share of the goroutines, tick by tick: 38 of 1051 at most */
	assert_non_null(strstr(row(t, 22), "top 4%"));
	PRESS(t, TERM_KEY_HOME);
	assert_non_null(strstr(row(t, 3), "waiting 100% running <1%"));
	PRESS(t, 'm');
	assert_non_null(strstr(row(t, 3), "[count] goroutines of gosvc (400)  1051 goroutines"));
	/* s: the stack view, counted in goroutines; Esc back to the flame, Esc to view 5 */
	PRESS(t, TERM_KEY_END, 's');
	assert_true(shows(t, "goroutines"));
	PRESS(t, TERM_KEY_ESC, TERM_KEY_ESC);
	assert_true(shows(t, "CHANGE/m"));
	tui_free(t);
	golden(m, 40, 10, false, KEYS('5'), "goroutines-40x10");
	/* the heap view: Go's heap profile (nothing else grew) */
	golden(m, 100, 30, false, KEYS('4'), "heap-go-100x30");
	model_free(m);
	/* no Go process: says so */
	m = std_model(3);
	golden(m, 80, 24, false, KEYS('5'), "goroutines-none-80x24");
	model_free(m);
}

static void test_render_heap(void **state)
{
	struct model *m = heap_model();

	golden(m, 80, 24, false, KEYS('4'), "heap-80x24");
	golden(m, 80, 24, true, KEYS('4', 'o'), "heap-growth-ascii-80x24");
	golden(m, 132, 43, false, KEYS('4', TERM_KEY_ENTER), "heap-stack-132x43");
	golden(m, 40, 10, false, KEYS('4'), "heap-40x10");
	model_free(m);
	m = churn_model();
	golden(m, 80, 24, false, KEYS('4'), "heap-churn-80x24");
	model_free(m);
}

/*
 * The block view on a host with kernel threads: app's pool of three workers waits on one lock,
 * its main thread polls; kworkers and rcu_preempt sit idle a whole second each tick (what opened
 * the list on every real host, ahead of the stuck workers: issue 13).
 */
static struct model *block_model(void)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t s_lock = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
				"take_job@queue.c:61", "libc.so.6!__lll_lock_wait",
				"[kernel.kallsyms]!futex_wait", "[flametop]![lock]");
	uint32_t s_poll = STACK(st, "main@main.c:210", "poll_loop@loop.c:88", "libc.so.6!__poll",
				"[kernel.kallsyms]!do_sys_poll", "[flametop]![poll]");
	uint32_t s_kwork = STACK(st, "[kernel.kallsyms]!ret_from_fork",
				 "[kernel.kallsyms]!kthread", "[kernel.kallsyms]!worker_thread",
				 "[kernel.kallsyms]!schedule", "[flametop]![other]");
	uint32_t s_rcu = STACK(st, "[kernel.kallsyms]!ret_from_fork", "[kernel.kallsyms]!kthread",
			       "[kernel.kallsyms]!rcu_gp_kthread",
			       "[kernel.kallsyms]!schedule_timeout", "[flametop]![other]");

	for (int i = 0; i < 5; i++) {
		for (uint32_t t = 101; t <= 103; t++)
			model_add_offcpu_resolved(m, 100, t, "pool", "app", s_lock, 400000000);
		model_add_offcpu_resolved(m, 100, 100, "app", "app", s_poll, 900000000);
		for (uint32_t k = 0; k < 4; k++)
			model_add_offcpu_resolved(m, 2, 40 + k, "kworker/0:1", "kthreadd", s_kwork,
						  1000000000);
		model_add_offcpu_resolved(m, 2, 15, "rcu_preempt", "kthreadd", s_rcu, 1000000000);
		close_tick(m);
	}
	return m;
}

static void test_render_block(void **state)
{
	struct model *m = block_model();

	golden(m, 80, 24, false, KEYS('3'), "block-80x24");
	golden(m, 80, 24, false, KEYS('3', 'K'), "block-kthreads-80x24");
	model_free(m);
}

static void test_render_empty(void **state)
{
	struct model *m = new_model();

	golden(m, 80, 24, false, NO_KEYS, "empty-waiting-80x24");
	close_tick(m);
	close_tick(m);
	golden(m, 80, 24, false, NO_KEYS, "empty-threads-80x24");
	golden(m, 80, 24, false, KEYS('2'), "empty-flame-80x24");
	golden(m, 80, 24, false, KEYS('2', TERM_KEY_ENTER, TERM_KEY_DOWN, 's', TERM_KEY_ESC),
	       "empty-flame-keys-80x24");
	model_free(m);
}

/* ---- behaviour ---- */

/* The role of the first cell on row y whose text starts with s, or -1. */
static int role_of(struct tui *t, int y, const char *s)
{
	const struct canvas *c = tui_canvas(t);
	size_t n = strlen(s);

	for (int x = 0; x + (int)n <= c->w; x++) {
		size_t i = 0;

		while (i < n && canvas_at(c, y, x + i)->ch == (unsigned char)s[i])
			i++;
		if (i == n)
			return canvas_at(c, y, x)->role;
	}
	return -1;
}

static void test_render_selection_survives_ticks(void **state)
{
	struct model *m = std_model(10);
	struct stacks *st = model_stacks(m);
	struct tui *t = open_tui(m, 80, 24, false);
	uint32_t s_new = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
			       "compute@compute.c:17", "aaa_first@compute.c:5");
	uint32_t s_one = STACK(st, "libc.so.6!start_thread", "worker_main@worker.c:42",
			       "compute@compute.c:17", "spin_one@compute.c:24");

	/* select spin_one: down the heaviest path to spin_three, then left */
	PRESS(t, '2', TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_DOWN, TERM_KEY_LEFT);
	assert_non_null(strstr(row(t, 3), "spin_one"));
	assert_int_equal(role_of(t, 8, "spin_one"), CANVAS_FLAME_SEL);

	/* a new sibling appears left of it and the window changes: same frame selected */
	for (int i = 0; i < 10; i++) {
		add(m, 100, 101, "worker-hot", "app", s_new, 200);
		add(m, 100, 101, "worker-hot", "app", s_one, 30);
		close_tick(m);
		tui_tick(t);
	}
	assert_non_null(strstr(row(t, 3), "spin_one"));
	assert_int_equal(role_of(t, 8, "spin_one"), CANVAS_FLAME_SEL);
	assert_int_not_equal(role_of(t, 8, "aaa_first"), CANVAS_FLAME_SEL);

	/* gone from the window for a while: its caller is shown, then it comes back */
	for (int i = 0; i < 2; i++) {
		add(m, 100, 101, "worker-hot", "app", s_new, 100);
		close_tick(m);
	}
	PRESS(t, 'w', 'w', 'w'); /* last 1s: only aaa_first */
	assert_non_null(strstr(row(t, 3), "compute"));
	PRESS(t, 'w'); /* last 10s */
	assert_non_null(strstr(row(t, 3), "spin_one"));
	tui_free(t);
	model_free(m);
}

static void test_render_widths_proportional(void **state)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t three = STACK(st, "main", "spin_three"), one = STACK(st, "main", "spin_one");
	struct tui *t;

	add(m, 1, 1, "split31", "split31", three, 75);
	add(m, 1, 1, "split31", "split31", one, 25);
	close_tick(m);
	t = open_tui(m, 80, 24, false);
	PRESS(t, '2');
	/* rows: 3 title, 4 all, 5 main, 6 spin_one [0,20) then spin_three [20,80) */
	assert_int_equal(strncmp(row(t, 6), "spin_one", 8), 0);
	assert_int_equal(strncmp(row(t, 6) + 20, "spin_three", 10), 0);
	tui_free(t);
	model_free(m);
}

/* The column of the first cell on row y that starts s, or -1. */
static int col_of(struct tui *t, int y, const char *s)
{
	const char *r = row(t, y), *p = strstr(r, s);

	return p ? (int)(p - r) : -1;
}

/* An edge whose exact column wobbles around a boundary stays put: nothing to redraw. */
static void test_render_flame_edges_do_not_flicker(void **state)
{
	struct model *m = new_model();
	struct stacks *st = model_stacks(m);
	uint32_t a = STACK(st, "main", "aaa"), b = STACK(st, "main", "bbb");
	struct tui *t;
	int first;

	/* aaa's right edge: 499/1000 of 80 columns is 39.92, 501/1000 is 40.08 */
	add(m, 1, 1, "x", "x", a, 499);
	add(m, 1, 1, "x", "x", b, 501);
	close_tick(m);
	t = open_tui(m, 80, 24, false);
	PRESS(t, '2', 'w', 'w', 'w'); /* last 1s */
	first = col_of(t, 6, "bbb");
	assert_true(first == 39 || first == 40);
	for (int i = 0; i < 6; i++) {
		add(m, 1, 1, "x", "x", a, i % 2 ? 499 : 501);
		add(m, 1, 1, "x", "x", b, i % 2 ? 501 : 499);
		close_tick(m);
		tui_tick(t);
		if (i == 0)
			first = col_of(t, 6, "bbb");
		assert_int_equal(col_of(t, 6, "bbb"), first);
	}
	/* a real move is followed */
	add(m, 1, 1, "x", "x", a, 250);
	add(m, 1, 1, "x", "x", b, 750);
	close_tick(m);
	tui_tick(t);
	assert_int_equal(col_of(t, 6, "bbb"), 20);
	tui_free(t);
	model_free(m);
}

static void test_render_resize_round_trip(void **state)
{
	struct model *m = std_model(30);
	struct tui *t = open_tui(m, 80, 24, false);
	char *before, *after;

	PRESS(t, '2', TERM_KEY_DOWN, TERM_KEY_DOWN);
	before = screen(t);
	tui_resize(t, 40, 10);
	tui_resize(t, 10, 3);
	assert_non_null(strstr(row(t, 0), "too small"));
	tui_resize(t, 80, 24);
	after = screen(t);
	assert_string_equal(before, after);
	free(before);
	free(after);
	tui_free(t);
	model_free(m);
}

static void test_render_pause_freezes(void **state)
{
	struct model *m = std_model(5);
	struct stacks *st = model_stacks(m);
	struct tui *t = open_tui(m, 80, 24, false);
	uint32_t s = STACK(st, "main", "late_work");

	PRESS(t, ' ');
	assert_non_null(strstr(row(t, 1), "PAUSED"));
	add(m, 300, 300, "latecomer", "late", s, 50);
	close_tick(m);
	tui_tick(t);
	assert_false(shows(t, "latecomer"));
	PRESS(t, ' ');
	assert_null(strstr(row(t, 1), "PAUSED"));
	assert_true(shows(t, "latecomer"));
	tui_free(t);
	model_free(m);
}

static void test_render_keys_and_roles(void **state)
{
	struct model *m = std_model(30);
	struct tui *t = open_tui(m, 80, 24, false);
	char *s;

	/* the cursor row is drawn selected, and moves */
	assert_int_equal(role_of(t, 5, "worker-hot"), CANVAS_SELECTED);
	PRESS(t, TERM_KEY_DOWN);
	assert_int_equal(role_of(t, 6, "worker-warm"), CANVAS_SELECTED);
	assert_int_equal(role_of(t, 4, "%CPU"), CANVAS_TITLE_SORT);

	/* the window cycles, shown in the header */
	assert_non_null(strstr(row(t, 0), "window: last 10s"));
	PRESS(t, 'w');
	assert_non_null(strstr(row(t, 0), "window: last 60s"));
	PRESS(t, 'w');
	assert_non_null(strstr(row(t, 0), "window: since start"));
	PRESS(t, 'w');
	assert_non_null(strstr(row(t, 0), "window: last 1s"));

	/* %CPU is of one CPU: 99 samples in 1 s at 99 Hz */
	assert_non_null(strstr(row(t, 5), "100.0"));
	/* lost samples of the window */
	PRESS(t, 'w', 'w');
	assert_non_null(strstr(row(t, 1), "lost 7"));

	/* the filter keeps matching rows; Esc in the line restores the old filter */
	PRESS(t, '/');
	type(t, "warm");
	assert_non_null(strstr(row(t, 3), "Threads 1"));
	assert_non_null(strstr(row(t, 23), "Filter: warm"));
	PRESS(t, TERM_KEY_ENTER);
	assert_non_null(strstr(row(t, 5), "worker-warm"));
	PRESS(t, '/', 'x', TERM_KEY_ESC);
	assert_non_null(strstr(row(t, 5), "worker-warm"));
	PRESS(t, TERM_KEY_ESC);
	assert_non_null(strstr(row(t, 3), "Threads 6"));

	/* warnings: kept, newest on the status line, all in help */
	tui_log(t, "cannot attach sched: no BTF");
	tui_log(t, "symbols: cannot read /usr/bin/app");
	PRESS(t, TERM_KEY_CTRL_L);
	assert_non_null(strstr(row(t, 2), "! symbols: cannot read /usr/bin/app"));
	assert_non_null(strstr(row(t, 2), "(+1, h)"));
	PRESS(t, 'h');
	s = screen(t);
	assert_non_null(strstr(s, "cannot attach sched: no BTF"));
	free(s);
	PRESS(t, TERM_KEY_ESC);
	assert_non_null(strstr(row(t, 4), "%CPU"));

	/* q and F10 quit, from any view */
	assert_int_equal(tui_key(t, '2'), TUI_NONE);
	assert_int_equal(tui_key(t, 'q'), TUI_QUIT);
	assert_int_equal(tui_key(t, TERM_KEY_F10), TUI_QUIT);
	tui_free(t);
	model_free(m);
}

static void test_render_no_escapes_reach_the_screen(void **state)
{
	struct model *m = long_model();
	struct tui *t = open_tui(m, 132, 43, false);
	char *s = screen(t);

	assert_null(strchr(s, '\x1b'));
	assert_non_null(strstr(s, "bad?[31mname"));
	free(s);
	tui_free(t);
	t = open_tui(m, 132, 43, true);
	PRESS(t, '2');
	s = screen(t);
	for (const char *p = s; *p; p++)
		assert_true((unsigned char)*p < 0x80);
	free(s);
	tui_free(t);
	model_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render_threads),
		cmocka_unit_test(test_render_flame),
		cmocka_unit_test(test_render_flame_search),
		cmocka_unit_test(test_render_stack),
		cmocka_unit_test(test_render_long_names),
		cmocka_unit_test(test_render_deep),
		cmocka_unit_test(test_render_heap),
		cmocka_unit_test(test_render_goroutines),
		cmocka_unit_test(test_render_block),
		cmocka_unit_test(test_render_wall),
		cmocka_unit_test(test_render_empty),
		cmocka_unit_test(test_render_selection_survives_ticks),
		cmocka_unit_test(test_render_widths_proportional),
		cmocka_unit_test(test_render_flame_edges_do_not_flicker),
		cmocka_unit_test(test_render_resize_round_trip),
		cmocka_unit_test(test_render_pause_freezes),
		cmocka_unit_test(test_render_keys_and_roles),
		cmocka_unit_test(test_render_no_escapes_reach_the_screen),
	};

	/* Widths of non-ASCII text come from the locale, as in the real program. */
	if (!setlocale(LC_ALL, "C.UTF-8") && !setlocale(LC_ALL, "en_US.UTF-8")) {
		fprintf(stderr, "no UTF-8 locale: skipping\n");
		return 77;
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
