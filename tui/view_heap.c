// SPDX-License-Identifier: GPL-2.0-only
/*
 * The heap view: whether memory grows and from where. A chart of one process's RSS over the
 * ticks kept (the selected row's process, else the one that grew most), with the heap growth its
 * stacks account for; then the stacks with most growth in the window (bytes and bytes/s) — or, in
 * leak mode (--heap exact), with most bytes outstanding since leak mode started, and what leak
 * mode costs the target. o switches between the two lists, / filters, Enter opens the stack view
 * on that stack's bytes. The title's figure is the charted process's net change (its RSS, from
 * /proc); what its stacks grew and released, gross, is labelled as such beside it (a process
 * that allocates and frees big blocks grows +80M/s at one stack, -80M/s at another, and ~0 in
 * all). Processes that have exited are one row per (name, stack) after the live ones: their
 * memory went back at exit, and a busy host starts hundreds.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/goheap.h"
#include "model/gowindow.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/window.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

#define WHERE_FRAMES 3
#define CHART_ROWS 6
#define LABEL_W 9 /* "1023.9M |" */

struct hrow {
	uint32_t thread, stack;
	int64_t bytes; /* growth in the window, or outstanding, or Go's in use */
	int64_t count; /* events, blocks, or Go's objects in use */
	uint32_t gone; /* exited processes merged into this row (0: a live one) */
	int64_t alloc; /* Go: bytes allocated over the window */
	uint32_t pid;  /* Go: the process */
	char where[160];
};

struct heap_view {
	struct view_ctx *ctx;
	struct window total; /* since start: leak mode's outstanding */
	struct hrow *rows;
	size_t nr, cap;
	bool outstanding; /* the list shows leak mode's outstanding bytes */
	bool go;          /* the list shows Go's heap profile */
	bool user_chose;  /* o or g was pressed: keep the list the user picked */
	char filter[128];
	uint32_t sel_thread, sel_stack;
	uint64_t sel_epoch; /* model_stacks_epoch() of sel_stack */
	bool have_sel;
	size_t cur, top;
	int w, h;
	uint32_t pid; /* the process charted */
};

static void *create(struct view_ctx *ctx)
{
	struct heap_view *v = xcalloc(1, sizeof(*v));

	v->ctx = ctx;
	window_init(&v->total);
	return v;
}

static void destroy(void *p)
{
	struct heap_view *v = p;

	if (!v)
		return;
	window_fini(&v->total);
	free(v->rows);
	free(v);
}

/* "12.3M", "512K", "100B", signed when asked. */
static void fmt_bytes(char *buf, size_t len, int64_t b, bool sign)
{
	double a = b < 0 ? -(double)b : (double)b;
	const char *s = b < 0 ? "-" : sign ? "+" : "";

	if (a >= 1024.0 * 1024 * 1024)
		snprintf(buf, len, "%s%.1fG", s, a / (1024.0 * 1024 * 1024));
	else if (a >= 1024.0 * 1024)
		snprintf(buf, len, "%s%.1fM", s, a / (1024.0 * 1024));
	else if (a >= 1024.0)
		snprintf(buf, len, "%s%.1fK", s, a / 1024.0);
	else
		snprintf(buf, len, "%s%.0fB", s, a);
}

/* The innermost user frames ("leak_here < main"), or the marker. */
static void describe(const struct stacks *st, uint32_t stack, char *buf, size_t len)
{
	uint32_t nr, shown = 0;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	size_t n = 0;

	buf[0] = '\0';
	for (uint32_t j = nr; j-- > 0 && shown < WHERE_FRAMES && n + 1 < len;) {
		const struct frame *f = stacks_frame(st, frames[j]);

		if (f->kind == FRAME_KERNEL)
			continue;
		n += snprintf(buf + n, len - n, "%s%s", shown ? " < " : "", f->function);
		shown++;
	}
	if (!shown)
		snprintf(buf, len, "?");
}

static bool matches(const struct heap_view *v, const struct hrow *r)
{
	const struct thread *t = threads_get(v->ctx->threads, r->thread);

	if (!v->filter[0])
		return true;
	return strcasestr(r->where, v->filter) ||
	       (t && ((t->comm && strcasestr(t->comm, v->filter)) ||
		      (t->process && strcasestr(t->process, v->filter))));
}

/* The process has exited: no live thread has its pid as tid. */
static bool gone(const struct view_ctx *ctx, uint32_t pid)
{
	return threads_find(ctx->threads, pid) == UINT32_MAX;
}

/* An exited process's row, merged with the rows of others of the same name and stack. */
static struct hrow *gone_row(struct heap_view *v, size_t first, const struct thread *t,
			     uint32_t stack)
{
	for (size_t i = first; i < v->nr; i++) {
		const struct thread *o = threads_get(v->ctx->threads, v->rows[i].thread);

		if (v->rows[i].gone && v->rows[i].stack == stack && o && o->process == t->process)
			return &v->rows[i];
	}
	return NULL;
}

static int by_live_then_bytes(const void *a, const void *b)
{
	const struct hrow *x = a, *y = b;

	if (!x->gone != !y->gone)
		return x->gone ? 1 : -1;
	if (x->bytes != y->bytes)
		return x->bytes > y->bytes ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

/* Go's heap profile: every Go process's buckets, most in use first. */
static void build_go_rows(struct heap_view *v)
{
	const struct gowindow *gw = v->ctx->gowin;

	for (size_t i = 0; gw && i < gw->nr_profile; i++) {
		const struct tick_goheap *e = &gw->profile[i];
		const struct tick_goheap *d;
		struct hrow r = { .stack = e->stack, .bytes = e->v[1], .count = e->v[0],
				  .pid = e->pid };
		size_t k;

		if (e->kind != GOHEAP_HEAP || e->v[1] <= 0)
			continue;
		r.thread = threads_find(v->ctx->threads, e->pid);
		d = gowindow_profile_change(gw, GOHEAP_HEAP, e->pid, e->stack);
		r.alloc = d ? d->v[3] : 0;
		describe(v->ctx->stacks, r.stack, r.where, sizeof(r.where));
		if (!matches(v, &r))
			continue;
		v->rows = xgrow(v->rows, &v->cap, v->nr + 1, sizeof(*v->rows));
		/* insertion keeps them by bytes in use, most first */
		for (k = v->nr; k && v->rows[k - 1].bytes < r.bytes; k--)
			v->rows[k] = v->rows[k - 1];
		v->rows[k] = r;
		v->nr++;
	}
}

static bool have_go_heap(const struct heap_view *v)
{
	const struct gowindow *gw = v->ctx->gowin;

	for (size_t i = 0; gw && i < gw->nr_profile; i++)
		if (gw->profile[i].kind == GOHEAP_HEAP && gw->profile[i].v[1] > 0)
			return true;
	return false;
}

static void build_rows(struct heap_view *v)
{
	const struct window *w = v->ctx->win;
	const struct tick_heap *src;
	size_t n;

	window_sum(&v->total, v->ctx->model, 0);
	/* leak mode shows what it knows best, unless the user picked; Go's own profile when
	 * nothing else grew */
	if (!v->user_chose) {
		v->outstanding = v->total.nr_allocs > 0;
		v->go = !v->outstanding && !w->nr_heap && have_go_heap(v);
	}
	v->nr = 0;
	if (v->go) {
		build_go_rows(v);
		return;
	}
	src = v->outstanding ? v->total.allocs : w->heap;
	n = v->outstanding ? v->total.nr_allocs : w->nr_heap;
	for (size_t i = 0; i < n; i++) {
		const struct thread *t = threads_get(v->ctx->threads, src[i].thread);
		struct hrow r = { .thread = src[i].thread, .stack = src[i].stack,
				  .bytes = src[i].bytes, .count = src[i].count };
		struct hrow *same;

		if (t && gone(v->ctx, t->pid)) {
			r.gone = 1;
			same = gone_row(v, 0, t, r.stack);
			if (same) {
				same->bytes += r.bytes;
				same->count += r.count;
				same->gone++;
				continue;
			}
		}
		describe(v->ctx->stacks, r.stack, r.where, sizeof(r.where));
		if (!matches(v, &r))
			continue;
		v->rows = xgrow(v->rows, &v->cap, v->nr + 1, sizeof(*v->rows));
		v->rows[v->nr++] = r;
	}
	if (v->nr)
		qsort(v->rows, v->nr, sizeof(*v->rows), by_live_then_bytes);
}

/* The process charted: the selected row's, else the one whose anon memory grew most. */
static void pick_pid(struct heap_view *v)
{
	const struct window *w = v->ctx->win;
	int64_t best = INT64_MIN;

	if (v->cur < v->nr && v->rows[v->cur].pid) {
		v->pid = v->rows[v->cur].pid;
		return;
	}
	if (v->cur < v->nr) {
		const struct thread *t = threads_get(v->ctx->threads, v->rows[v->cur].thread);

		if (t) {
			v->pid = t->pid;
			return;
		}
	}
	for (size_t i = 0; i < w->nr_memory; i++) {
		if (w->memory[i].d[MODEL_MEM_ANON] > best) {
			best = w->memory[i].d[MODEL_MEM_ANON];
			v->pid = w->memory[i].pid;
		}
	}
}

static void update(void *p)
{
	struct heap_view *v = p;

	build_rows(v);
	if (v->have_sel) {
		/* the model's budget may have renumbered the stacks since */
		v->sel_stack = view_stack_now(v->ctx, &v->sel_epoch, v->sel_stack);
		for (size_t i = 0; i < v->nr; i++) {
			if (v->rows[i].stack == v->sel_stack &&
			    v->rows[i].thread == v->sel_thread) {
				v->cur = i;
				break;
			}
		}
	}
	if (v->cur >= v->nr)
		v->cur = v->nr ? v->nr - 1 : 0;
	pick_pid(v);
}

static void remember_cursor(struct heap_view *v)
{
	v->have_sel = v->cur < v->nr;
	if (v->have_sel) {
		v->sel_stack = v->rows[v->cur].stack;
		v->sel_thread = v->rows[v->cur].thread;
		v->sel_epoch = view_stacks_epoch(v->ctx);
	}
}

/* One process's RSS at the end of tick `ago`, carried forward from older ticks; 0 if unknown. */
static bool rss_at(const struct model *m, uint32_t pid, size_t ago, uint64_t *out)
{
	for (size_t a = ago; a < model_nr_ticks(m); a++) {
		const struct tick *t = model_tick(m, a);

		for (size_t i = 0; i < t->nr_memory; i++) {
			if (t->memory[i].pid == pid && (t->memory[i].known & 1u << MODEL_MEM_RSS)) {
				*out = t->memory[i].v[MODEL_MEM_RSS];
				return true;
			}
		}
	}
	return false;
}

/* The heap growth attributed to pid's stacks in one tick (RSS growth, or leak mode's). */
static int64_t tracked_in(const struct view_ctx *ctx, const struct tick *t, uint32_t pid,
			  bool allocs)
{
	const struct tick_heap *v = allocs ? t->allocs : t->heap;
	size_t n = allocs ? t->nr_allocs : t->nr_heap;
	int64_t sum = 0;

	for (size_t i = 0; i < n; i++) {
		const struct thread *th = threads_get(ctx->threads, v[i].thread);

		if (th && th->pid == pid)
			sum += v[i].bytes;
	}
	return sum;
}

/*
 * RSS per tick as bars ('#'), newest on the right, and the heap growth the stacks account for,
 * accumulated from the chart's left edge on top of the RSS there ('*'): where they part, memory
 * grew by means no stack was charged for (file pages, other processes' doing).
 */
static void draw_chart(struct heap_view *v, struct canvas *c, int y, int rows)
{
	const struct model *m = v->ctx->model;
	int cols = c->w - LABEL_W - 1;
	size_t n = model_nr_ticks(m), shown;
	uint64_t rss[512], lo = UINT64_MAX, hi = 0;
	int64_t track[512], acc = 0;
	bool have[512], any = false, allocs = v->outstanding;
	char buf[32];

	if (cols <= 4 || rows <= 1)
		return;
	if (cols > 512)
		cols = 512;
	shown = n < (size_t)cols ? n : (size_t)cols;
	/* the reading in effect at the left edge (one scan back), then carried forward */
	have[0] = shown && rss_at(m, v->pid, shown - 1, &rss[0]);
	for (size_t i = 0; i < shown; i++) {
		const struct tick *t = model_tick(m, shown - 1 - i);

		if (i) {
			have[i] = have[i - 1];
			rss[i] = rss[i - 1];
		}
		for (size_t k = 0; k < t->nr_memory; k++) {
			if (t->memory[k].pid == v->pid &&
			    (t->memory[k].known & 1u << MODEL_MEM_RSS)) {
				rss[i] = t->memory[k].v[MODEL_MEM_RSS];
				have[i] = true;
			}
		}
		if (!have[i])
			continue;
		if (!any)
			acc = (int64_t)rss[i];
		else
			acc += tracked_in(v->ctx, t, v->pid, allocs);
		track[i] = acc;
		any = true;
		if (rss[i] < lo)
			lo = rss[i];
		if (rss[i] > hi)
			hi = rss[i];
		if (track[i] > 0 && (uint64_t)track[i] > hi)
			hi = (uint64_t)track[i];
		if (track[i] > 0 && (uint64_t)track[i] < lo)
			lo = (uint64_t)track[i];
	}
	if (!any) {
		canvas_put(c, y + rows / 2, LABEL_W + 1, -1, CANVAS_DIM,
			   "no memory readings yet (or --heap off)");
		return;
	}
	/* a floor below the lowest reading keeps a flat line visible */
	lo = lo > (hi - lo) / 4 + 4096 ? lo - (hi - lo) / 4 - 4096 : 0;
	if (hi == lo)
		hi = lo + 1;
	fmt_bytes(buf, sizeof(buf), (int64_t)hi, false);
	canvas_put_fit(c, y, 0, LABEL_W - 1, CANVAS_DIM, buf, CANVAS_RIGHT);
	fmt_bytes(buf, sizeof(buf), (int64_t)lo, false);
	canvas_put_fit(c, y + rows - 1, 0, LABEL_W - 1, CANVAS_DIM, buf, CANVAS_RIGHT);
	for (int r = 0; r < rows; r++)
		canvas_putc(c, y + r, LABEL_W - 1, CANVAS_DIM, '|');
	for (size_t i = 0; i < shown; i++) {
		int x = LABEL_W + (int)(cols - shown + i), level, tl;

		if (!have[i])
			continue;
		level = (int)((double)(rss[i] - lo) / (double)(hi - lo) * rows + 0.5);
		for (int r = 0; r < level && r < rows; r++)
			canvas_putc(c, y + rows - 1 - r, x, CANVAS_STRIP, '#');
		tl = 0;
		if (track[i] > (int64_t)lo)
			tl = (int)((double)((uint64_t)track[i] - lo) / (double)(hi - lo) * rows +
				   0.5);
		if (tl > 0 && tl <= rows && tl != level)
			canvas_putc(c, y + rows - tl, x, CANVAS_HOT, '*');
	}
}

/* What pid's stacks grew and released in the window, gross (RSS growth by stack). */
static void gross_of(const struct heap_view *v, uint32_t pid, int64_t *grew, int64_t *released)
{
	const struct window *w = v->ctx->win;

	*grew = *released = 0;
	for (size_t i = 0; i < w->nr_heap; i++) {
		const struct thread *t = threads_get(v->ctx->threads, w->heap[i].thread);

		if (!t || t->pid != pid)
			continue;
		if (w->heap[i].bytes > 0)
			*grew += w->heap[i].bytes;
		else
			*released += w->heap[i].bytes;
	}
}

static void draw_title(struct heap_view *v, struct canvas *c, int y)
{
	const struct window *w = v->ctx->win;
	const struct tick_heap_info *hi = &v->total.heap_info;
	const struct tick_memory *mem = NULL;
	double secs = v->ctx->win_secs;
	int64_t grew, released;
	char a[32], b[32];
	int x = 0;

	for (size_t i = 0; i < w->nr_memory; i++)
		if (w->memory[i].pid == v->pid)
			mem = &w->memory[i];
	x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, "Heap");
	x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  %s",
			   model_heap_mode_name(w->heap_info.mode));
	if (mem) {
		const struct thread *t = NULL;

		for (uint32_t i = 0; i < threads_count(v->ctx->threads) && !t; i++)
			if (threads_get(v->ctx->threads, i)->pid == v->pid)
				t = threads_get(v->ctx->threads, i);
		fmt_bytes(a, sizeof(a), (int64_t)mem->v[MODEL_MEM_RSS], false);
		fmt_bytes(b, sizeof(b), secs > 0 ? (int64_t)(mem->d[MODEL_MEM_RSS] / secs) : 0,
			  true);
		x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  %s (%u) RSS ",
				   t && t->process ? t->process : "?", v->pid);
		x += canvas_printf(c, y, x, -1, CANVAS_HEADER_VALUE, "%s", a);
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, " net ");
		x += canvas_printf(c, y, x, -1, CANVAS_HEADER_VALUE, "%s/s", b);
		fmt_bytes(a, sizeof(a), (int64_t)mem->v[MODEL_MEM_ANON], false);
		x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  anon %s", a);
		if (mem->known & 1u << MODEL_MEM_SWAP) {
			fmt_bytes(a, sizeof(a), (int64_t)mem->v[MODEL_MEM_SWAP], false);
			x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  swap %s", a);
		}
	}
	if (v->filter[0]) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  filter: ");
		canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, v->filter);
	}
	if (v->go) {
		const struct gowin_proc *gp = gowindow_proc(v->ctx->gowin, v->pid);
		char line[256];

		if (gp && gp->p.memprofile_rate > 0)
			snprintf(line, sizeof(line),
				 "Go's heap profile: in use as of the last GC, a sample every %" PRId64
				 " bytes, scaled as pprof does (g: RSS growth)",
				 gp->p.memprofile_rate);
		else
			snprintf(line, sizeof(line), "Go's heap profile: in use as of the last GC, "
						     "scaled as pprof does (g: RSS growth)");
		canvas_put_fit(c, y + 1, 0, c->w, CANVAS_DIM, line, 0);
		return;
	}
	/* leak mode: what it costs, said every time it is shown */
	if (w->heap_info.mode == MODEL_HEAP_EXACT || hi->calls) {
		double cps = secs > 0 ? w->heap_info.calls / secs : 0;
		double cpu = secs > 0 ? 100.0 * w->heap_info.cost_ns / 1e9 / secs : 0;

		char line[256];

		fmt_bytes(a, sizeof(a), (int64_t)hi->live_bytes, false);
		snprintf(line, sizeof(line),
			 "%s: target +%.1f%% CPU (%.0fk calls/s); %" PRIu64
			 " blocks %s live; %" PRIu64 " unmatched frees",
			 w->heap_info.mode == MODEL_HEAP_EXACT ? "leak mode" : "leak mode ended",
			 cpu, cps / 1000, hi->live_blocks, a, hi->unmatched);
		canvas_put_fit(c, y + 1, 0, c->w,
			       w->heap_info.mode == MODEL_HEAP_EXACT ? CANVAS_WARNING : CANVAS_DIM,
			       line, 0);
	} else {
		char line[256];

		/* gross, and said to be: the net is the title's */
		gross_of(v, v->pid, &grew, &released);
		fmt_bytes(a, sizeof(a), secs > 0 ? (int64_t)(grew / secs) : 0, true);
		fmt_bytes(b, sizeof(b), secs > 0 ? (int64_t)(released / secs) : 0, true);
		snprintf(line, sizeof(line),
			 "by stack, gross: grew %s/s, released %s/s (page faults and releases, "
			 "no uprobes)%s",
			 a, b, w->heap_info.lost ? "; some events lost" : "");
		canvas_put_fit(c, y + 1, 0, c->w, CANVAS_DIM, line, 0);
	}
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct heap_view *v = p;
	int chart = h >= 16 ? CHART_ROWS : h >= 11 ? 3 : 0, rows, x;
	double secs = v->ctx->win_secs;

	if (h <= 0)
		return;
	draw_title(v, c, y);
	if (h < 2)
		return;
	draw_chart(v, c, y + 2, chart);
	y += 2 + chart;
	h -= 2 + chart;
	if (h < 2)
		return;
	canvas_fill(c, y, 0, c->w, CANVAS_TITLE, ' ');
	x = 0;
	canvas_put_fit(c, y, x, 9, CANVAS_TITLE_SORT,
		       v->go ? "GO INUSE" : v->outstanding ? "OUTSTAND" : "GROWTH", CANVAS_RIGHT);
	x += 10;
	canvas_put_fit(c, y, x, 9, CANVAS_TITLE,
		       v->go ? "ALLOC/s" : v->outstanding ? "BLOCKS" : "RATE/s", CANVAS_RIGHT);
	x += 10;
	canvas_put_fit(c, y, x, 16, CANVAS_TITLE, v->go ? "PROCESS" : "THREAD", 0);
	x += 17;
	canvas_put(c, y, x, c->w - x, CANVAS_TITLE, "WHERE (innermost first)");
	rows = h - 1;
	if (!v->nr) {
		canvas_put(c, y + 1, 1, -1, CANVAS_DIM,
			   v->filter[0] ? "nothing matches (/ filter)"
			   : v->go      ? "no Go heap profile (a Go program whose linker disabled "
					  "it: --go-memprofile-rate)"
					: "no heap growth by stack in this window");
		return;
	}
	view_scroll(v->cur, &v->top, v->nr, rows);
	for (int i = 0; i < rows && v->top + i < v->nr; i++) {
		const struct hrow *r = &v->rows[v->top + i];
		const struct thread *t = threads_get(v->ctx->threads, r->thread);
		char a[32], b[32], who[40];
		int yy = y + 1 + i;

		fmt_bytes(a, sizeof(a), r->bytes, !v->outstanding && !v->go);
		if (v->go)
			fmt_bytes(b, sizeof(b),
				  v->ctx->gowin && v->ctx->gowin->change_ns
					  ? (int64_t)(r->alloc / (v->ctx->gowin->change_ns / 1e9))
					  : 0,
				  false);
		else if (v->outstanding)
			snprintf(b, sizeof(b), "%" PRId64, r->count);
		else
			fmt_bytes(b, sizeof(b), secs > 0 ? (int64_t)(r->bytes / secs) : 0, true);
		/* exited processes: dim, by process name, how many */
		if (v->go)
			snprintf(who, sizeof(who), "%s %u", t && t->process ? t->process : "?", r->pid);
		else if (r->gone > 1)
			snprintf(who, sizeof(who), "%s x%u", t && t->process ? t->process : "?",
				 r->gone);
		else if (r->gone)
			snprintf(who, sizeof(who), "%s %u", t && t->process ? t->process : "?",
				 t ? t->pid : 0);
		else
			snprintf(who, sizeof(who), "%s %u", t && t->comm ? t->comm : "?",
				 t ? t->tid : 0);
		x = 0;
		canvas_put_fit(c, yy, x, 9, r->bytes > 0 && !r->gone ? CANVAS_HOT : CANVAS_DEFAULT,
			       a, CANVAS_RIGHT);
		x += 10;
		canvas_put_fit(c, yy, x, 9, CANVAS_DEFAULT, b, CANVAS_RIGHT);
		x += 10;
		canvas_put_fit(c, yy, x, 16, CANVAS_DEFAULT, who, 0);
		x += 17;
		canvas_put_fit(c, yy, x, c->w - x, CANVAS_DEFAULT, r->where, 0);
		if (r->gone)
			canvas_set_role(c, yy, 0, c->w, CANVAS_DIM);
		if (v->top + i == v->cur)
			canvas_set_role(c, yy, 0, c->w, CANVAS_SELECTED);
	}
}

/* The stack view on this stack's bytes, in its thread. */
static void open_stack(struct heap_view *v)
{
	struct view_target *t = &v->ctx->target;
	const struct hrow *r = &v->rows[v->cur];
	const struct stacks *st = v->ctx->stacks;
	const struct thread *th = threads_get(v->ctx->threads, r->thread);
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, r->stack, &nr);

	memset(t, 0, sizeof(*t));
	if (v->go) {
		t->go = VIEW_GO_HEAP;
		t->filter.thread = CALLTREE_NONE;
		t->filter.pid = r->pid;
		snprintf(t->what, sizeof(t->what), "%s (%u), Go heap in use",
			 th && th->process ? th->process : "?", r->pid);
		for (uint32_t j = 0; j < nr && j < VIEW_PATH_MAX; j++)
			t->path[t->path_len++] = stacks_frame(st, frames[j])->function;
		return;
	}
	t->heap = v->outstanding ? VIEW_HEAP_OUTSTANDING : VIEW_HEAP_GROWTH;
	t->filter.thread = r->thread;
	snprintf(t->what, sizeof(t->what), "thread %s (%u), %s", th && th->comm ? th->comm : "?",
		 th ? th->tid : 0, v->outstanding ? "heap outstanding" : "heap growth");
	for (uint32_t j = 0; j < nr && j < VIEW_PATH_MAX; j++)
		t->path[t->path_len++] = stacks_frame(st, frames[j])->function;
}

static int key(void *p, int k)
{
	struct heap_view *v = p;
	int chart = v->h >= 16 ? CHART_ROWS : v->h >= 11 ? 3 : 0;
	int page = v->h - 3 - chart > 1 ? v->h - 3 - chart : 1;

	if (view_move(k, &v->cur, v->nr, page)) {
		remember_cursor(v);
		pick_pid(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	switch (k) {
	case TERM_KEY_ENTER:
		if (!v->nr)
			return VIEW_HANDLED;
		open_stack(v);
		return VIEW_HANDLED | VIEW_OPEN_STACK;
	case 'g':
		v->go = !v->go;
		v->user_chose = true;
		v->cur = v->top = 0;
		v->have_sel = false;
		update(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'o':
		v->outstanding = !v->outstanding;
		v->go = false;
		v->user_chose = true;
		v->cur = v->top = 0;
		v->have_sel = false;
		update(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	default:
		return VIEW_IGNORED;
	}
}

static void resize(void *p, int w, int h)
{
	struct heap_view *v = p;

	v->w = w;
	v->h = h;
}

static void search(void *p, const char *text)
{
	struct heap_view *v = p;

	snprintf(v->filter, sizeof(v->filter), "%s", text);
	remember_cursor(v);
	update(v);
}

static const struct view_hint hints[] = {
	{ "Enter", "Stack" },
	{ "o", "Growth/Outstanding" },
	{ "g", "Go heap" },
	{ "/", "Filter" },
	{ NULL },
};

const struct view_ops view_heap_ops = {
	.name = "heap",
	.search_prompt = "Filter",
	.hints = hints,
	.create = create,
	.destroy = destroy,
	.update = update,
	.draw = draw,
	.key = key,
	.resize = resize,
	.search = search,
};
