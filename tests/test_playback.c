// SPDX-License-Identifier: GPL-2.0-only
/*
 * The player of `flametop replay` over a synthetic ten-second recording: times in a recording,
 * seeking both ways (going back swaps the model, the TUI first), speeds, and the headless TUI
 * driven with the player's keys: the header shows the recording's clock and position.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "cli/playback.h"
#include "model/model.h"
#include "model/record.h"
#include "model/replay.h"
#include "model/stacks.h"
#include "tui/canvas.h"
#include "tui/term.h"
#include "tui/tui.h"

#define SEC 1000000000ull
#define START_NS (1000 * SEC)
#define START_WALL 1700000000 /* 2023-11-14 22:13:20 UTC */

static int fd = -1;
static struct replay *rep;

/* Ten one-second ticks; in tick i, thread "t<i>" (tid 100 + i) has i + 1 samples of main. */
static int setup(void **state)
{
	struct model_opts mo = { .start_ns = START_NS };
	struct record_info in = { .host = "h", .kernel = "k", .start_ns = START_NS,
				  .start_wall = { START_WALL, 0 }, .freq_hz = 99, .nr_cpus = 1,
				  .tick_ms = 1000, .source = "bpf", .unwind = "fp",
				  .target = "whole system" };
	struct frame f = { .module = "app", .function = "main", .kind = FRAME_USER };
	struct record *rec;
	struct model *m;
	char err[256];
	uint32_t frame, stack;

	setenv("TZ", "UTC", 1);
	tzset();
	fd = memfd_create("playback", 0);
	if (fd < 0 || model_new(&mo, &m) || record_new(fd, &in, &rec))
		return -1;
	frame = stacks_add_frame(model_stacks(m), &f);
	stack = stacks_add_stack(model_stacks(m), &frame, 1);
	for (int i = 0; i < 10; i++) {
		char comm[16];

		snprintf(comm, sizeof(comm), "t%d", i);
		model_add_resolved(m, 1, 100 + i, comm, "app", stack, i + 1, START_NS + i * SEC);
		model_close_tick(m, START_NS + (i + 1) * SEC);
		if (record_tick(rec, m))
			return -1;
	}
	record_end(rec, &(struct record_end){ .duration_s = 10 });
	record_free(rec);
	model_free(m);
	return replay_open_fd(fd, &rep, err, sizeof(err));
}

static int teardown(void **state)
{
	replay_free(rep);
	close(fd);
	return 0;
}

static uint64_t at(const char *s)
{
	uint64_t ns = 0;

	assert_int_equal(playback_parse_time(s, rep, START_NS + 4 * SEC, START_NS + 6 * SEC, &ns),
			 0);
	return ns;
}

static void test_playback_parse_time(void **state)
{
	static const char *const bad[] = { "", "x", "5x", "+", "-", "--5s", "+-5", "25:00",
					   "12:60", "2023-13-01T10:00", "1e999", "5s5", ":10",
					   /* decimal only, as every number option */
					   "0x10", "+0x10", "1e3", "1e3s", "-0x1p3s", "5.s" };
	uint64_t ns;

	assert_int_equal(at("0"), START_NS);
	assert_int_equal(at("3"), START_NS + 3 * SEC);
	assert_int_equal(at("2.5s"), START_NS + 2500000000ull);
	assert_int_equal(at("1m"), START_NS + 60 * SEC);
	assert_int_equal(at("1m30s"), START_NS + 90 * SEC);
	assert_int_equal(at("500ms"), START_NS + SEC / 2);
	assert_int_equal(at("+2s"), START_NS + 6 * SEC);  /* after plus */
	assert_int_equal(at("-2s"), START_NS + 4 * SEC);  /* before minus */
	assert_int_equal(at("-1h"), 0);
	assert_int_equal(at("start"), START_NS);
	assert_int_equal(at("end"), START_NS + 10 * SEC);
	/* clock times, local (TZ=UTC here): the recording starts at 22:13:20 */
	assert_int_equal(at("22:13:25"), START_NS + 5 * SEC);
	assert_int_equal(at("22:14"), START_NS + 40 * SEC);
	assert_int_equal(at("2023-11-14T22:13:27"), START_NS + 7 * SEC);
	assert_int_equal(at("2023-11-14 22:13:21"), START_NS + 1 * SEC);
	/* a clock time before the start is the next day's */
	assert_int_equal(at("22:13:19"), START_NS + (86400 - 1) * SEC);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		if (!playback_parse_time(bad[i], rep, 0, 0, &ns))
			fail_msg("'%s' parsed as %llu", bad[i], (unsigned long long)ns);
}

static struct model *swapped_to;
static size_t swapped_old_ticks;

static void on_swap(void *ctx, struct model *m)
{
	struct playback *p = ctx;

	swapped_to = m;
	/* the old model is still there when the TUI is told */
	swapped_old_ticks = model_nr_ticks(playback_model(p)) == 0 ? 0 : 1;
}

static void test_playback_seek_and_speed(void **state)
{
	struct playback *p;
	struct model *m;
	char clock[32], where[96];

	assert_int_equal(playback_new(rep, &p), 0);
	playback_on_swap(p, on_swap, p);
	assert_int_equal(playback_nr_ticks(p), 10);
	assert_int_equal(playback_pos(p), 0);
	assert_int_equal(playback_seek(p, 4), 0);
	m = playback_model(p);
	assert_int_equal(model_nr_ticks(m), 4);
	assert_int_equal(model_tick(m, 0)->samples, 4);
	assert_int_equal(playback_now_ns(p), START_NS + 4 * SEC);
	assert_null(swapped_to);

	/* back: a new model, replayed from the start; the callback sees it first */
	assert_int_equal(playback_seek(p, 2), 0);
	assert_ptr_equal(swapped_to, playback_model(p));
	assert_int_equal(model_nr_ticks(playback_model(p)), 2);
	assert_int_equal(model_total(playback_model(p))->samples, 1 + 2);

	/* to a time: the ticks that ended by then, to the nearest tick end */
	assert_int_equal(playback_seek_ns(p, START_NS + 6 * SEC + 5), 0);
	assert_int_equal(playback_pos(p), 6);
	assert_int_equal(playback_seek_ns(p, START_NS + 6 * SEC + 700000000), 0);
	assert_int_equal(playback_pos(p), 7);
	assert_int_equal(playback_seek(p, 99), 0);
	assert_int_equal(playback_pos(p), 10);
	assert_int_equal(playback_next_delay_ns(p), 0);

	/* speeds: 1x, 2x, 10x, fastest, and no further */
	assert_int_equal(playback_seek(p, 3), 0);
	assert_int_equal(playback_speed(p), 1);
	assert_int_equal(playback_next_delay_ns(p), SEC);
	playback_faster(p);
	assert_int_equal(playback_next_delay_ns(p), SEC / 2);
	playback_faster(p);
	playback_faster(p);
	playback_faster(p);
	assert_int_equal(playback_speed(p), 0);
	assert_int_equal(playback_next_delay_ns(p), 0);
	playback_slower(p);
	assert_int_equal(playback_speed(p), 10);

	playback_status(p, clock, sizeof(clock), where, sizeof(where));
	assert_string_equal(clock, "2023-11-14 22:13:23");
	assert_string_equal(where, "replay 00:03 of 00:10  10x");
	playback_key(p, '.');
	assert_true(playback_paused(p));
	assert_int_equal(playback_pos(p), 4);
	playback_key(p, ',');
	playback_key(p, ',');
	assert_int_equal(playback_pos(p), 2);
	playback_status(p, clock, sizeof(clock), where, sizeof(where));
	assert_string_equal(where, "replay 00:02 of 00:10  10x  paused");
	playback_free(p);
}

/* The text of canvas row y. */
static void row(const struct canvas *c, int y, char *buf, size_t len)
{
	size_t n = 0;

	for (int x = 0; x < c->w && n + 2 < len; x++) {
		const struct canvas_cell *cell = canvas_at(c, y, x);

		if (cell->ch)
			buf[n++] = cell->ch < 0x80 ? (char)cell->ch : '?';
	}
	buf[n] = '\0';
}

static void tui_swap(void *ctx, struct model *m)
{
	tui_set_model(ctx, m);
}

static void hook_status(void *ctx, char *clock, size_t cl, char *where, size_t wl)
{
	playback_status(ctx, clock, cl, where, wl);
}

static void hook_key(void *ctx, int key)
{
	playback_key(ctx, key);
}

static int hook_go(void *ctx, const char *when, char *err, size_t errlen)
{
	return playback_go(ctx, when, err, errlen);
}

static void type(struct tui *t, const char *s)
{
	while (*s)
		tui_key(t, (unsigned char)*s++);
}

static void test_playback_drives_the_tui(void **state)
{
	struct tui_info info = { .host = "h", .target = "whole system", .freq_hz = 99,
				 .nr_cpus = 1, .tick_ms = 1000 };
	const struct canvas *c;
	struct playback *p;
	struct tui *t;
	char line[512];

	assert_int_equal(playback_new(rep, &p), 0);
	assert_int_equal(playback_seek(p, 5), 0);
	assert_int_equal(tui_new_headless(&info, playback_model(p), 100, 24, true, &t), 0);
	tui_set_player(t, &(struct tui_player){ .ctx = p, .status = hook_status, .key = hook_key,
						.go = hook_go });
	playback_on_swap(p, tui_swap, t);
	tui_tick(t);
	c = tui_canvas(t);
	row(c, 0, line, sizeof(line));
	assert_non_null(strstr(line, "2023-11-14 22:13:25"));
	row(c, 1, line, sizeof(line));
	assert_non_null(strstr(line, "replay 00:05 of 00:10"));

	/* back two ticks with ',' (a new model under the views), forward with '.' */
	tui_key(t, ',');
	tui_key(t, ',');
	tui_resize(t, 100, 24);
	row(c, 1, line, sizeof(line));
	assert_non_null(strstr(line, "replay 00:03 of 00:10  1x  paused"));
	tui_key(t, '.');
	tui_resize(t, 100, 24);
	row(c, 1, line, sizeof(line));
	assert_non_null(strstr(line, "replay 00:04 of 00:10"));

	/* g, a time, Enter */
	tui_key(t, 'g');
	type(t, "-3s");
	tui_resize(t, 100, 24);
	row(c, 23, line, sizeof(line));
	assert_non_null(strstr(line, "Go to"));
	tui_key(t, TERM_KEY_ENTER);
	tui_resize(t, 100, 24);
	row(c, 0, line, sizeof(line));
	assert_non_null(strstr(line, "22:13:21"));
	/* a bad time is a warning on the status line, and nothing moves */
	tui_key(t, 'g');
	type(t, "soon");
	tui_key(t, TERM_KEY_ENTER);
	tui_resize(t, 100, 24);
	row(c, 2, line, sizeof(line));
	assert_non_null(strstr(line, "invalid time 'soon'"));
	assert_int_equal(playback_pos(p), 1);
	/* the views draw what the model of the moment has: the threads of the ticks so far */
	tui_key(t, 'g');
	type(t, "end");
	tui_key(t, TERM_KEY_ENTER);
	tui_resize(t, 100, 24);
	assert_int_equal(playback_pos(p), 10);
	playback_on_swap(p, NULL, NULL);
	tui_free(t);
	playback_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_playback_parse_time),
		cmocka_unit_test(test_playback_seek_and_speed),
		cmocka_unit_test(test_playback_drives_the_tui),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
