// SPDX-License-Identifier: GPL-2.0-only
/*
 * The frontend: owns the window (the sum of ticks the views show), the header, the key bar,
 * the search line, the kept warnings and which view is shown. Keys go to the view first; what
 * it does not take, the frontend does (htop style). Drawing always goes through the canvas,
 * which term.c copies to the screen, so ncurses only sends the cells that changed.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "model/gowindow.h"
#include "model/model.h"
#include "model/quality.h"
#include "model/window.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "tui.h"
#include "view.h"

#define TUI_MIN_W 24
#define TUI_MIN_H 6
#define HEADER_ROWS 3
#define LOG_MAX 200
#define HIST_MAX 8

enum {
	V_THREADS,
	V_FLAME,
	V_STACK,
	V_HELP,
	V_BLOCK,
	V_HEAP,
	V_GOROUTINES,
	V_NR,
};

static const struct view_ops *const ops[V_NR] = {
	[V_THREADS] = &view_threads_ops,
	[V_FLAME] = &view_flame_ops,
	[V_STACK] = &view_stack_ops,
	[V_HELP] = &view_help_ops,
	[V_BLOCK] = &view_block_ops,
	[V_HEAP] = &view_heap_ops,
	[V_GOROUTINES] = &view_goroutines_ops,
};

static const struct {
	const char *label;
	unsigned secs; /* 0: since start */
} windows[] = {
	{ "last 1s", 1 },
	{ "last 10s", 10 },
	{ "last 60s", 60 },
	{ "since start", 0 },
};

#define NR_WINDOWS (sizeof(windows) / sizeof(windows[0]))
#define DEFAULT_WINDOW 1

static const struct view_hint global_hints[] = {
	{ "1", "Threads" }, { "2", "Flame" }, { "w", "Window" }, { "Spc", "Pause" },
	{ "h", "Help" },    { "q", "Quit" },  { NULL },
};

/* A replay's: the player has space, . , + - and g. */
static const struct view_hint player_hints[] = {
	{ "1", "Threads" }, { "2", "Flame" }, { "Spc", "Play" }, { ".,", "Step" },
	{ "g", "Go to" },   { "+-", "Speed" }, { "h", "Help" },  { "q", "Quit" },
	{ NULL },
};

struct tui {
	struct tui_info info;
	struct model *m;
	struct term *term; /* NULL when headless */
	struct canvas canvas;
	struct window win;
	struct gowindow gowin;
	struct view_ctx ctx;
	void *views[V_NR];
	bool stale[V_NR]; /* the window changed since the view last saw it */
	int cur;
	int hist[HIST_MAX]; /* where Esc goes back to */
	int nr_hist;
	unsigned win_mode;
	bool paused;
	bool have_data;
	/* the search / filter line */
	bool editing;
	char search[V_NR][128];
	char saved[128];
	/* a replay's player, and its 'g' prompt */
	struct tui_player player;
	bool has_player, going;
	char go[64];
	/* kept warnings, oldest first */
	char **log;
	size_t nr_log, cap_log, dropped;
	/* UI cost */
	uint64_t ticks, cpu_ns, cpu_max_ns;
};

void view_pct(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	if (!whole)
		snprintf(buf, len, "-");
	else
		snprintf(buf, len, "%.1f", part * 100.0 / whole);
}

uint64_t view_stacks_epoch(const struct view_ctx *ctx)
{
	return ctx->model ? model_stacks_epoch(ctx->model) : 0;
}

uint32_t view_stack_now(const struct view_ctx *ctx, uint64_t *epoch, uint32_t stack)
{
	uint32_t now = ctx->model ? model_stack_now(ctx->model, *epoch, stack) : stack;

	*epoch = view_stacks_epoch(ctx);
	return now;
}

void view_duration(char *buf, size_t len, uint64_t ns)
{
	if (ns >= 100000000000ull)
		snprintf(buf, len, "%.0fs", ns / 1e9);
	else if (ns >= 10000000000ull)
		snprintf(buf, len, "%.1fs", ns / 1e9);
	else if (ns >= 1000000000ull)
		snprintf(buf, len, "%.2fs", ns / 1e9);
	else
		snprintf(buf, len, "%.1fms", ns / 1e6);
}

bool view_move(int key, size_t *cur, size_t nr, int page)
{
	size_t p = page > 0 ? page : 1;

	switch (key) {
	case TERM_KEY_UP:
		if (*cur)
			(*cur)--;
		break;
	case TERM_KEY_DOWN:
		if (*cur + 1 < nr)
			(*cur)++;
		break;
	case TERM_KEY_PGUP:
		*cur = *cur > p ? *cur - p : 0;
		break;
	case TERM_KEY_PGDN:
		*cur = *cur + p < nr ? *cur + p : (nr ? nr - 1 : 0);
		break;
	case TERM_KEY_HOME:
		*cur = 0;
		break;
	case TERM_KEY_END:
		*cur = nr ? nr - 1 : 0;
		break;
	default:
		return false;
	}
	return true;
}

void view_scroll(size_t cur, size_t *top, size_t nr, int rows)
{
	if (rows <= 0)
		return;
	if (*top + rows > nr)
		*top = nr > (size_t)rows ? nr - rows : 0;
	if (cur < *top)
		*top = cur;
	if (cur >= *top + rows)
		*top = cur - rows + 1;
}

static uint64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (uint64_t)ts.tv_sec * 1000000000ull + ts.tv_nsec;
}

static int view_rows(const struct tui *t)
{
	return t->canvas.h - HEADER_ROWS - 1;
}

static void resize_views(struct tui *t)
{
	for (int i = 0; i < V_NR; i++)
		ops[i]->resize(t->views[i], t->canvas.w, view_rows(t));
}

/* Sums the window and tells the views; the current one recomputes now, the others when
 * shown. */
static void refresh_data(struct tui *t)
{
	unsigned secs = windows[t->win_mode].secs;
	unsigned tick_ms = t->info.tick_ms ? t->info.tick_ms : 1000;
	size_t nticks = secs ? (secs * 1000 + tick_ms - 1) / tick_ms : 0;

	window_sum(&t->win, t->m, nticks);
	gowindow_sum(&t->gowin, t->m, nticks);
	t->ctx.win_secs = t->win.nr_ticks ? (t->win.end_ns - t->win.start_ns) / 1e9 : 0;
	t->ctx.last_seq = model_nr_ticks(t->m) ? model_tick(t->m, 0)->seq : 0;
	t->have_data = true;
	for (int i = 0; i < V_NR; i++)
		t->stale[i] = true;
	ops[t->cur]->update(t->views[t->cur]);
	t->stale[t->cur] = false;
}

static void show(struct tui *t, int v, bool remember)
{
	if (remember && t->cur != v) {
		if (t->nr_hist == HIST_MAX) {
			memmove(t->hist, t->hist + 1, (HIST_MAX - 1) * sizeof(*t->hist));
			t->nr_hist--;
		}
		t->hist[t->nr_hist++] = t->cur;
	}
	if (!remember)
		t->nr_hist = 0;
	t->cur = v;
	if (ops[v]->enter)
		ops[v]->enter(t->views[v]);
	if (t->stale[v]) {
		ops[v]->update(t->views[v]);
		t->stale[v] = false;
	}
}

static void go_back(struct tui *t)
{
	int v = t->nr_hist ? t->hist[--t->nr_hist] : V_THREADS;

	t->cur = v;
	if (t->stale[v]) {
		ops[v]->update(t->views[v]);
		t->stale[v] = false;
	}
}

/* ---- drawing ---- */

/* A piece of a line that may be dropped when the line does not fit: lowest prio goes first. */
struct seg {
	const char *label; /* in CANVAS_HEADER / CANVAS_KEY */
	char value[160];   /* in role */
	enum canvas_role role;
	int prio;
	bool on;
};

/* Draws segs from x in at most maxw columns, sep between them, dropping what does not fit. */
static int put_segs(struct canvas *c, int y, int x, int maxw, struct seg *segs, int n,
		    const char *sep, enum canvas_role label_role)
{
	int total, x0 = x;

	for (int i = 0; i < n; i++)
		segs[i].on = true;
	for (;;) {
		int drop = -1;

		total = 0;
		for (int i = 0; i < n; i++)
			if (segs[i].on)
				total += (total ? canvas_width(c, sep) : 0) +
					 canvas_width(c, segs[i].label) +
					 canvas_width(c, segs[i].value);
		if (total <= maxw)
			break;
		for (int i = 0; i < n; i++)
			if (segs[i].on && (drop < 0 || segs[i].prio <= segs[drop].prio))
				drop = i;
		if (drop < 0)
			break;
		segs[drop].on = false;
	}
	for (int i = 0; i < n; i++) {
		if (!segs[i].on)
			continue;
		if (x > x0)
			x += canvas_put(c, y, x, x0 + maxw - x, CANVAS_HEADER, sep);
		x += canvas_put(c, y, x, x0 + maxw - x, label_role, segs[i].label);
		x += canvas_put(c, y, x, x0 + maxw - x, segs[i].role, segs[i].value);
	}
	return x - x0;
}

static void draw_header(struct tui *t)
{
	struct canvas *c = &t->canvas;
	const struct window *w = &t->win;
	char clock[32], buf[64], where[96] = "";
	time_t now = t->term ? time(NULL) : 0;
	struct tm tm;
	struct quality q;
	uint64_t lost, sched_lost, heap_lost;
	int x, rx, n;

	if (t->term)
		localtime_r(&now, &tm);
	else
		gmtime_r(&now, &tm);
	strftime(clock, sizeof(clock), "%H:%M:%S", &tm);
	if (t->has_player)
		t->player.status(t->player.ctx, clock, sizeof(clock), where, sizeof(where));

	/* Row 0: who, when, what; the window on the right. The target takes what is left. */
	{
		const char *win = windows[t->win_mode].label;
		struct seg segs[] = {
			{ "flametop on ", "", CANVAS_HEADER_VALUE, 3 },
			{ "", "", CANVAS_HEADER_VALUE, 2 },
		};

		snprintf(segs[0].value, sizeof(segs[0].value), "%s",
			 t->info.host ? t->info.host : "?");
		snprintf(segs[1].value, sizeof(segs[1].value), "%s", clock);
		n = canvas_width(c, win);
		rx = c->w - n - (c->w >= n + 8 + 20 ? 8 : 0);
		if (rx < 0)
			rx = 0;
		x = put_segs(c, 0, 0, rx - 1, segs, 2, "  ", CANVAS_HEADER);
		if (x)
			x += 2;
		if (rx - 1 - x >= 8)
			canvas_put_fit(c, 0, x, rx - 1 - x, CANVAS_HEADER_VALUE,
				       t->info.target ? t->info.target : "whole system", 0);
		if (c->w - rx > n)
			rx += canvas_put(c, 0, rx, -1, CANVAS_HEADER, "window: ");
		canvas_put(c, 0, rx, -1, CANVAS_HEADER_VALUE, win);
	}

	/* Row 1: the numbers; PAUSED on the right. */
	{
		struct seg segs[] = {
			{ "rate ", "", CANVAS_HEADER_VALUE, 1 },
			{ "samples/s ", "", CANVAS_HEADER_VALUE, 4 },
			{ "lost ", "", CANVAS_HEADER_VALUE, 3 },
			{ "unwind ", "", CANVAS_HEADER_VALUE, 2 },
		};
		int right = t->paused ? 9 : *where ? canvas_width(c, where) + 2 : 0;

		snprintf(segs[0].value, sizeof(segs[0].value), "%u Hz%s%s%s", t->info.freq_hz,
			 t->info.source ? " (" : "", t->info.source ? t->info.source : "",
			 t->info.source ? ")" : "");
		if (t->ctx.win_secs > 0)
			snprintf(segs[1].value, sizeof(segs[1].value), "%.1f",
				 w->samples / t->ctx.win_secs);
		else
			snprintf(segs[1].value, sizeof(segs[1].value), "-");
		/* CPU samples lost, then the other probes' losses when there are any */
		lost = model_lost_of(w->lost, MODEL_LOST_CPU);
		n = snprintf(segs[2].value, sizeof(segs[2].value), "%llu", (unsigned long long)lost);
		sched_lost = model_lost_of(w->lost, MODEL_LOST_SCHED);
		heap_lost = model_lost_of(w->lost, MODEL_LOST_HEAP);
		if (sched_lost && heap_lost)
			snprintf(segs[2].value + n, sizeof(segs[2].value) - (size_t)n,
				 " (sched %llu, heap %llu)", (unsigned long long)sched_lost,
				 (unsigned long long)heap_lost);
		else if (sched_lost || heap_lost)
			snprintf(segs[2].value + n, sizeof(segs[2].value) - (size_t)n, " (%s %llu)",
				 sched_lost ? "sched" : "heap",
				 (unsigned long long)(sched_lost ? sched_lost : heap_lost));
		if (lost || sched_lost || heap_lost)
			segs[2].role = CANVAS_WARNING;
		/* Unwind quality, so the profile can be judged: stacks reaching their thread's
		 * root, and stacks the unwinder cut short. */
		quality_of(t->ctx.model, w, &q);
		if (q.samples) {
			char root[16];

			view_pct(root, sizeof(root), q.reached_root, q.samples);
			view_pct(buf, sizeof(buf), q.truncated, q.samples);
			snprintf(segs[3].value, sizeof(segs[3].value), "%s, %s%% root%s%s%s",
				 t->info.unwind ? t->info.unwind : "fp", root,
				 q.truncated ? ", " : "", q.truncated ? buf : "",
				 q.truncated ? "% cut" : "");
		} else {
			snprintf(segs[3].value, sizeof(segs[3].value), "%s",
				 t->info.unwind ? t->info.unwind : "fp");
		}
		put_segs(c, 1, 0, c->w - right, segs, 4, "  ", CANVAS_HEADER);
		if (t->paused)
			canvas_put(c, 1, c->w - 8, -1, CANVAS_PAUSED, " PAUSED ");
		else if (*where && right < c->w)
			canvas_put(c, 1, c->w - right + 2, -1, CANVAS_HEADER_VALUE, where);
	}

	/* Row 2: the status line: the newest kept warning. */
	if (t->nr_log) {
		char more[48] = "";

		x = canvas_put(c, 2, 0, -1, CANVAS_WARNING, "! ");
		if (t->nr_log + t->dropped > 1)
			snprintf(more, sizeof(more), " (+%zu, h)", t->nr_log - 1 + t->dropped);
		rx = c->w - canvas_width(c, more);
		canvas_put_fit(c, 2, x, rx - x, CANVAS_WARNING, t->log[t->nr_log - 1], 0);
		canvas_put(c, 2, rx, -1, CANVAS_DIM, more);
	}
}

/* The key bar: the view's keys, then the global ones; what does not fit is left out, the
 * least useful first (q and h stay). */
static void draw_bar(struct tui *t)
{
	static const int global_prio[] = { 1, 1, 2, 2, 4, 4 };
	struct canvas *c = &t->canvas;
	const struct view_hint *global = t->has_player ? player_hints : global_hints;
	struct seg segs[24];
	int y = c->h - 1, x, n = 0;

	if (t->going) {
		x = canvas_put(c, y, 0, -1, CANVAS_PROMPT, "Go to (+5m, -30s, 14:05:30, end): ");
		x += canvas_put(c, y, x, c->w - x - 1, CANVAS_DEFAULT, t->go);
		canvas_putc(c, y, x, CANVAS_PROMPT, ' ');
		return;
	}
	if (t->editing) {
		static const struct view_hint edit_hints[] = {
			{ "Enter", "Done" },
			{ "Esc", "Cancel" },
		};

		x = canvas_printf(c, y, 0, -1, CANVAS_PROMPT, "%s: ", ops[t->cur]->search_prompt);
		x += canvas_put(c, y, x, c->w - x - 1, CANVAS_DEFAULT, t->search[t->cur]);
		canvas_putc(c, y, x, CANVAS_PROMPT, ' ');
		x += 2;
		if (c->w - x > 26) {
			for (int i = 0; i < 2; i++) {
				segs[i] = (struct seg){ .label = edit_hints[i].key,
							.role = CANVAS_KEY_LABEL, .prio = 1 };
				snprintf(segs[i].value, sizeof(segs[i].value), "%s ",
					 edit_hints[i].label);
			}
			put_segs(c, y, c->w - 24, 24, segs, 2, "", CANVAS_KEY);
		}
		return;
	}
	for (const struct view_hint *h = ops[t->cur]->hints; h && h->key && n < 16; h++, n++) {
		segs[n] = (struct seg){ .label = h->key, .role = CANVAS_KEY_LABEL, .prio = 3 };
		snprintf(segs[n].value, sizeof(segs[n].value), "%s ", h->label);
	}
	for (int i = 0; global[i].key && n < 24; i++, n++) {
		/* the key of the view shown says nothing */
		if ((t->cur == V_THREADS && !strcmp(global[i].key, "1")) ||
		    (t->cur == V_FLAME && !strcmp(global[i].key, "2"))) {
			n--;
			continue;
		}
		segs[n] = (struct seg){ .label = global[i].key, .role = CANVAS_KEY_LABEL,
					.prio = t->has_player ? (i >= 6 ? 4 : i >= 2 ? 2 : 1)
							      : global_prio[i] };
		snprintf(segs[n].value, sizeof(segs[n].value), "%s ", global[i].label);
	}
	put_segs(c, y, 0, c->w, segs, n, "", CANVAS_KEY);
}

static void draw(struct tui *t)
{
	struct canvas *c = &t->canvas;

	canvas_clear(c);
	if (c->w < TUI_MIN_W || c->h < TUI_MIN_H) {
		canvas_put(c, 0, 0, -1, CANVAS_WARNING, "too small:");
		canvas_printf(c, 1, 0, -1, CANVAS_DEFAULT, "%dx%d, need %dx%d", c->w, c->h,
			      TUI_MIN_W, TUI_MIN_H);
		canvas_put(c, 2, 0, -1, CANVAS_DEFAULT, "q quits");
	} else {
		draw_header(t);
		if (t->have_data)
			ops[t->cur]->draw(t->views[t->cur], c, HEADER_ROWS, view_rows(t));
		else
			canvas_put(c, HEADER_ROWS + 1, 1, -1, CANVAS_DIM,
				   "waiting for the first tick...");
		draw_bar(t);
	}
	if (t->term)
		term_draw(t->term, c);
}

/* ---- keys ---- */

static void set_search(struct tui *t, const char *s)
{
	snprintf(t->search[t->cur], sizeof(t->search[t->cur]), "%s", s);
	ops[t->cur]->search(t->views[t->cur], t->search[t->cur]);
}

/* The search / filter line has the keys: every change applies at once (incremental). */
static void edit_key(struct tui *t, int k)
{
	char *s = t->search[t->cur], buf[sizeof(t->search[0])];
	size_t len = strlen(s);

	switch (k) {
	case TERM_KEY_ENTER:
		t->editing = false;
		return;
	case TERM_KEY_ESC:
		t->editing = false;
		set_search(t, t->saved);
		return;
	case TERM_KEY_BACKSPACE:
		while (len && ((unsigned char)s[len - 1] & 0xc0) == 0x80)
			len--;
		if (len)
			len--;
		break;
	case TERM_KEY_CTRL_U:
		len = 0;
		break;
	case TERM_KEY_UP:
	case TERM_KEY_DOWN:
	case TERM_KEY_PGUP:
	case TERM_KEY_PGDN:
		/* Moving through what matches while typing. */
		ops[t->cur]->key(t->views[t->cur], k);
		return;
	default:
		if (k < 0x20 || k == 0x7f || k >= 0x110000)
			return;
		if (len + 4 >= sizeof(buf))
			return;
		memcpy(buf, s, len);
		len += canvas_utf8_encode(k, buf + len);
		buf[len] = 0;
		set_search(t, buf);
		return;
	}
	memcpy(buf, s, len);
	buf[len] = 0;
	set_search(t, buf);
}

static void resize_to(struct tui *t, int w, int h)
{
	canvas_resize(&t->canvas, w, h);
	resize_views(t);
}

/* The 'g' prompt of a replay: a time, handed to the player on Enter. */
static void go_key(struct tui *t, int k)
{
	size_t len = strlen(t->go);
	char err[160];

	switch (k) {
	case TERM_KEY_ENTER:
		t->going = false;
		if (*t->go && t->player.go(t->player.ctx, t->go, err, sizeof(err)))
			tui_log(t, "%s", err);
		refresh_data(t);
		return;
	case TERM_KEY_ESC:
		t->going = false;
		return;
	case TERM_KEY_BACKSPACE:
		if (len)
			t->go[len - 1] = '\0';
		return;
	case TERM_KEY_CTRL_U:
		t->go[0] = '\0';
		return;
	default:
		if (k >= 0x20 && k < 0x7f && len + 1 < sizeof(t->go)) {
			t->go[len] = k;
			t->go[len + 1] = '\0';
		}
	}
}

enum tui_action tui_key(struct tui *t, int k)
{
	int r = VIEW_IGNORED;

	if (k == TERM_KEY_RESIZE) {
		int w = t->canvas.w, h = t->canvas.h;

		if (t->term)
			term_size(t->term, &w, &h);
		resize_to(t, w, h);
		return TUI_NONE;
	}
	if (t->editing) {
		edit_key(t, k);
		return TUI_NONE;
	}
	if (t->going) {
		go_key(t, k);
		return TUI_NONE;
	}
	if (t->has_player && (k == ' ' || k == '.' || k == ',' || k == '+' || k == '-')) {
		t->player.key(t->player.ctx, k);
		refresh_data(t);
		return TUI_NONE;
	}
	if (t->has_player && k == 'g') {
		t->going = true;
		t->go[0] = '\0';
		return TUI_NONE;
	}
	if (t->have_data && k != 'q' && k != TERM_KEY_F10)
		r = ops[t->cur]->key(t->views[t->cur], k);
	if (r & VIEW_HANDLED) {
		t->ctx.drill = true;
		if (r & VIEW_OPEN_STACK)
			show(t, V_STACK, true);
		else if (r & VIEW_OPEN_FLAME)
			show(t, V_FLAME, true);
		t->ctx.drill = false;
		if (r & VIEW_BACK)
			go_back(t);
		return TUI_NONE;
	}
	switch (k) {
	case 'q':
	case TERM_KEY_F10:
		return TUI_QUIT;
	case 'h':
	case '?':
	case TERM_KEY_F1:
		if (t->cur != V_HELP)
			show(t, V_HELP, true);
		break;
	case '1':
		show(t, V_THREADS, false);
		break;
	case '2':
		show(t, V_FLAME, false);
		break;
	case '3':
		show(t, V_BLOCK, false);
		break;
	case '4':
		show(t, V_HEAP, false);
		break;
	case '5':
		show(t, V_GOROUTINES, false);
		break;
	case TERM_KEY_TAB:
	case TERM_KEY_BTAB:
		show(t, t->cur == V_THREADS ? V_FLAME : V_THREADS, false);
		break;
	case ' ':
		t->paused = !t->paused;
		/* the frozen window keeps thread indexes and stack ids: the model's budget must
		 * not give them to others meanwhile */
		model_hold(t->m, t->paused);
		if (!t->paused)
			refresh_data(t);
		break;
	case 'w':
		t->win_mode = (t->win_mode + 1) % NR_WINDOWS;
		refresh_data(t);
		break;
	case '/':
		if (!ops[t->cur]->search_prompt || !t->have_data)
			break;
		snprintf(t->saved, sizeof(t->saved), "%s", t->search[t->cur]);
		t->editing = true;
		break;
	case TERM_KEY_ESC:
		if (ops[t->cur]->search && t->search[t->cur][0])
			set_search(t, "");
		else if (t->nr_hist)
			go_back(t);
		break;
	case TERM_KEY_CTRL_L:
		if (t->term)
			term_repaint(t->term);
		break;
	default:
		break;
	}
	return TUI_NONE;
}

enum tui_action tui_input(struct tui *t)
{
	enum tui_action a = TUI_NONE;
	bool any = false;
	int k;

	if (!t || !t->term)
		return TUI_NONE;
	/* Every pending key, then one draw; "no key" (a signal woke the loop) is fine. */
	while ((k = term_getkey(t->term)) != TERM_KEY_NONE) {
		any = true;
		a = tui_key(t, k);
		if (a == TUI_QUIT)
			return a;
	}
	if (any)
		draw(t);
	return a;
}

void tui_tick(struct tui *t)
{
	uint64_t t0 = thread_cpu_ns(), dt;

	if (!t)
		return;
	if (!t->paused)
		refresh_data(t);
	draw(t);
	dt = thread_cpu_ns() - t0;
	t->ticks++;
	t->cpu_ns += dt;
	if (dt > t->cpu_max_ns)
		t->cpu_max_ns = dt;
}

void tui_log(struct tui *t, const char *fmt, ...)
{
	char buf[512];
	va_list ap;

	if (!t)
		return;
	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	if (t->nr_log == LOG_MAX) {
		free(t->log[0]);
		memmove(t->log, t->log + 1, (LOG_MAX - 1) * sizeof(*t->log));
		t->nr_log--;
		t->dropped++;
	}
	t->log = xgrow(t->log, &t->cap_log, t->nr_log + 1, sizeof(*t->log));
	t->log[t->nr_log++] = xstrdup(buf);
	t->ctx.log = t->log;
	t->ctx.nr_log = t->nr_log;
}

bool tui_paused(const struct tui *t)
{
	return t && t->paused;
}

void tui_set_player(struct tui *t, const struct tui_player *p)
{
	t->player = *p;
	t->has_player = true;
}

void tui_set_model(struct tui *t, struct model *m)
{
	/* Views keep names and ids of the old model: they start over on the new one. */
	for (int i = 0; i < V_NR; i++)
		ops[i]->destroy(t->views[i]);
	t->m = m;
	memset(&t->ctx.target, 0, sizeof(t->ctx.target));
	t->ctx.model = m;
	t->ctx.stacks = model_stacks(m);
	t->ctx.threads = model_threads(m);
	window_sum(&t->win, m, 1);
	gowindow_sum(&t->gowin, m, 1);
	for (int i = 0; i < V_NR; i++) {
		t->views[i] = ops[i]->create(&t->ctx);
		t->stale[i] = true;
		if (ops[i]->search && t->search[i][0])
			ops[i]->search(t->views[i], t->search[i]);
	}
	if (t->cur == V_STACK)
		t->cur = V_THREADS;
	t->nr_hist = 0;
	t->have_data = false;
	resize_views(t);
}

static struct tui *tui_alloc(const struct tui_info *info, struct model *m, int w, int h,
			     bool ascii)
{
	struct tui *t = xcalloc(1, sizeof(*t));

	t->info = *info;
	t->m = m;
	t->win_mode = DEFAULT_WINDOW;
	window_init(&t->win);
	gowindow_init(&t->gowin);
	canvas_init(&t->canvas, w, h, ascii);
	t->ctx.model = m;
	t->ctx.stacks = model_stacks(m);
	t->ctx.threads = model_threads(m);
	t->ctx.win = &t->win;
	t->ctx.gowin = &t->gowin;
	t->ctx.freq_hz = info->freq_hz;
	t->ctx.tick_ms = info->tick_ms ? info->tick_ms : 1000;
	for (int i = 0; i < V_NR; i++) {
		t->views[i] = ops[i]->create(&t->ctx);
		t->stale[i] = true;
	}
	t->cur = V_THREADS;
	resize_views(t);
	/* With ticks already closed (a replay), show them at once. */
	if (model_nr_ticks(m))
		refresh_data(t);
	return t;
}

int tui_check_terminal(char *err, size_t errlen)
{
	return term_check(err, errlen);
}

int tui_new(const struct tui_info *info, struct model *m, struct tui **out)
{
	struct term *term;
	struct tui *t;
	int w, h, r;

	r = term_new(&term);
	if (r)
		return r;
	term_size(term, &w, &h);
	t = tui_alloc(info, m, w, h, term_ascii(term));
	t->term = term;
	draw(t);
	*out = t;
	return 0;
}

int tui_new_headless(const struct tui_info *info, struct model *m, int w, int h, bool ascii,
		     struct tui **out)
{
	if (w <= 0 || h <= 0)
		return -EINVAL;
	*out = tui_alloc(info, m, w, h, ascii);
	draw(*out);
	return 0;
}

void tui_resize(struct tui *t, int w, int h)
{
	resize_to(t, w, h);
	draw(t);
}

const struct canvas *tui_canvas(const struct tui *t)
{
	return &t->canvas;
}

void tui_restore(struct tui *t)
{
	if (t)
		term_restore(t->term);
}

static void write_stats(const struct tui *t)
{
	const char *path = getenv("FLAMETOP_TUI_STATS");
	FILE *f;

	if (!path || !*path || !t->ticks)
		return;
	f = fopen(path, "ae");
	if (!f)
		return;
	fprintf(f, "ticks %llu ui_cpu_us_per_tick %.1f ui_cpu_us_max %.1f size %dx%d\n",
		(unsigned long long)t->ticks, t->cpu_ns / 1e3 / t->ticks, t->cpu_max_ns / 1e3,
		t->canvas.w, t->canvas.h);
	fclose(f);
}

void tui_free(struct tui *t)
{
	if (!t)
		return;
	term_free(t->term);
	write_stats(t);
	if (t->dropped)
		fprintf(stderr, "flametop: %zu earlier warnings were dropped\n", t->dropped);
	for (size_t i = 0; i < t->nr_log; i++) {
		fprintf(stderr, "flametop: %s\n", t->log[i]);
		free(t->log[i]);
	}
	free(t->log);
	for (int i = 0; i < V_NR; i++)
		ops[i]->destroy(t->views[i]);
	window_fini(&t->win);
	gowindow_fini(&t->gowin);
	canvas_fini(&t->canvas);
	free(t);
}
