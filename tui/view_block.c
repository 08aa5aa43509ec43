// SPDX-License-Identifier: GPL-2.0-only
/*
 * The block view: off-CPU hot spots. Stacks by time blocked in the window (from probes/sched),
 * each with its reason (lock, wait, io, poll, sleep, other), the threads that blocked there and
 * where in the program; r cycles a reason filter, / filters by name, Enter opens the wall-time flame
 * of its thread (or process) with that stack selected, s the stack view on its blocked time.
 * Kernel threads waiting for work (kworker, rcu_*, migration/N: minutes of "other" a second)
 * would open the list on every host; they are hidden, counted in the title, and K shows them.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/calltree.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/wall.h"
#include "model/window.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

#define WHERE_FRAMES 3 /* user frames named in WHERE, innermost first */

enum col {
	COL_BLK,
	COL_TIME,
	COL_REASON,
	COL_THREADS,
	COL_WHERE,
	COL_NR,
};

static const struct {
	const char *title;
	int width;
	int priority; /* dropped first when narrow: higher */
	bool right;
} cols[COL_NR] = {
    [COL_BLK] = { "%BLK", 6, 0, true },
    [COL_TIME] = { "TIME", 8, 2, true },
    [COL_REASON] = { "REASON", 6, 0, false },
    [COL_THREADS] = { "THREADS", 20, 1, false },
    [COL_WHERE] = { "WHERE (innermost first)", 0, 0, false },
};

struct brow {
	uint32_t stack;
	enum model_state reason;
	uint64_t ns;
	uint32_t thread; /* the thread that blocked there longest */
	uint64_t thread_ns;
	uint32_t nr_threads;
	uint32_t pid; /* when all its threads are of one process, else 0 */
	char who[64]; /* "waiter" or "waiter +2" */
	char where[160];
};

struct block_view {
	struct view_ctx *ctx;
	struct brow *rows;
	size_t nr, cap;
	int reason; /* -1: every reason, else a blocked enum model_state */
	bool kthreads; /* K: kernel threads' stacks are shown */
	size_t nr_kernel; /* ... hidden, in this window */
	char filter[128];
	uint32_t sel_stack;
	uint64_t sel_epoch; /* model_stacks_epoch() of sel_stack */
	bool have_sel;
	size_t cur, top;
	int w, h;
	bool shown[COL_NR];
	int width[COL_NR];
};

static void *create(struct view_ctx *ctx)
{
	struct block_view *v = xcalloc(1, sizeof(*v));

	v->ctx = ctx;
	v->reason = -1;
	return v;
}

static void destroy(void *p)
{
	struct block_view *v = p;

	if (!v)
		return;
	free(v->rows);
	free(v);
}

/* The reason of an off-CPU stack: its leaf-most marker frame, "[lock]". */
/* The innermost user frames ("lock_wait < wait_for_lock < worker"), else kernel ones. */
static void describe(const struct stacks *st, uint32_t stack, char *buf, size_t len)
{
	uint32_t nr, shown = 0;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	size_t n = 0;

	buf[0] = '\0';
	for (int pass = 0; pass < 2 && !shown; pass++) {
		for (uint32_t j = nr; j-- > 0 && shown < WHERE_FRAMES && n + 1 < len;) {
			const struct frame *f = stacks_frame(st, frames[j]);
			bool user = f->kind == FRAME_USER || f->kind == FRAME_VDSO ||
				    f->kind == FRAME_JIT;

			if (f->kind == FRAME_SPECIAL || (pass == 0 && !user) ||
			    (pass == 1 && f->kind != FRAME_KERNEL))
				continue;
			/* the scheduler's own frames say nothing about where */
			if (pass == 1 && !strncmp(f->function, "schedule", 8))
				continue;
			n += snprintf(buf + n, len - n, "%s%s", shown ? " < " : "", f->function);
			shown++;
		}
	}
	if (!shown)
		snprintf(buf, len, "?");
}

static bool matches(const struct block_view *v, const struct brow *r)
{
	const struct thread *t = threads_get(v->ctx->threads, r->thread);

	/* waiting for a CPU after a block (the flames show it) is not blocked time */
	if (r->reason == MODEL_STATE_RUNNABLE)
		return false;
	if (v->reason >= 0 && (int)r->reason != v->reason)
		return false;
	if (!v->kthreads && stacks_kernel_only(v->ctx->stacks, r->stack))
		return false;
	if (!v->filter[0])
		return true;
	return strcasestr(r->where, v->filter) || strcasestr(r->who, v->filter) ||
	       (t && t->process && strcasestr(t->process, v->filter));
}

static int by_ns(const void *a, const void *b)
{
	const struct brow *x = a, *y = b;

	if (x->ns != y->ns)
		return x->ns > y->ns ? -1 : 1;
	return (x->stack > y->stack) - (x->stack < y->stack);
}

/* The row of a stack: rows are few (stacks blocked in this window), a scan back suffices. */
static struct brow *row_of(struct block_view *v, uint32_t stack)
{
	for (size_t i = v->nr; i-- > 0;)
		if (v->rows[i].stack == stack)
			return &v->rows[i];
	v->rows = xgrow(v->rows, &v->cap, v->nr + 1, sizeof(*v->rows));
	memset(&v->rows[v->nr], 0, sizeof(*v->rows));
	v->rows[v->nr].stack = stack;
	return &v->rows[v->nr++];
}

static void build_rows(struct block_view *v)
{
	const struct window *w = v->ctx->win;
	const struct stacks *st = v->ctx->stacks;
	const struct threads *th = v->ctx->threads;
	size_t kept = 0;

	v->nr = 0;
	v->nr_kernel = 0;
	for (size_t i = 0; w && i < w->nr_offcpu; i++) {
		const struct tick_count *c = &w->offcpu[i];
		const struct thread *t = threads_get(th, c->thread);
		struct brow *r = row_of(v, c->stack);

		if (!r->nr_threads) {
			r->pid = t ? t->pid : 0;
			r->reason = wall_stack_state(v->ctx->stacks, c->stack);
			if (r->reason == MODEL_STATE_RUNNING) /* no marker: cannot be */
				r->reason = MODEL_STATE_OTHER;
		} else if (t && r->pid != t->pid) {
			r->pid = 0;
		}
		r->nr_threads++;
		r->ns += c->count;
		if (c->count > r->thread_ns) {
			r->thread_ns = c->count;
			r->thread = c->thread;
		}
	}
	for (size_t i = 0; i < v->nr; i++) {
		struct brow *r = &v->rows[i];
		const struct thread *t = threads_get(th, r->thread);
		const char *name = t && t->comm ? t->comm : "?";

		if (r->nr_threads > 1)
			snprintf(r->who, sizeof(r->who), "%s +%u", name, r->nr_threads - 1);
		else
			snprintf(r->who, sizeof(r->who), "%s", name);
		describe(st, r->stack, r->where, sizeof(r->where));
		if (!v->kthreads && stacks_kernel_only(st, r->stack))
			v->nr_kernel++;
		if (matches(v, r))
			v->rows[kept++] = *r;
	}
	v->nr = kept;
	if (v->nr)
		qsort(v->rows, v->nr, sizeof(*v->rows), by_ns);
}

static void update(void *p)
{
	struct block_view *v = p;

	build_rows(v);
	if (v->have_sel) {
		/* the model's budget may have renumbered the stacks since */
		v->sel_stack = view_stack_now(v->ctx, &v->sel_epoch, v->sel_stack);
		for (size_t i = 0; i < v->nr; i++) {
			if (v->rows[i].stack == v->sel_stack) {
				v->cur = i;
				return;
			}
		}
	}
	if (v->cur >= v->nr)
		v->cur = v->nr ? v->nr - 1 : 0;
}

static void remember_cursor(struct block_view *v)
{
	v->have_sel = v->cur < v->nr;
	if (v->have_sel) {
		v->sel_stack = v->rows[v->cur].stack;
		v->sel_epoch = view_stacks_epoch(v->ctx);
	}
}

static void layout(struct block_view *v, int w)
{
	int fixed;

	for (int c = 0; c < COL_NR; c++) {
		v->shown[c] = true;
		v->width[c] = cols[c].width;
	}
	for (;;) {
		int drop = -1;

		fixed = 0;
		for (int c = 0; c < COL_NR; c++)
			if (v->shown[c] && c != COL_WHERE)
				fixed += v->width[c] + 1;
		if (w - fixed >= 16)
			break;
		for (int c = 0; c < COL_NR; c++)
			if (v->shown[c] && cols[c].priority &&
			    (drop < 0 || cols[c].priority > cols[drop].priority))
				drop = c;
		if (drop < 0)
			break;
		v->shown[drop] = false;
	}
	v->width[COL_WHERE] = w - fixed > 0 ? w - fixed : 0;
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct block_view *v = p;
	double win_ns = v->ctx->win_secs * 1e9;
	int rows = h - 2, x = 0;

	if (h <= 0)
		return;
	layout(v, c->w);
	x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, "Block hot spots");
	x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, " %zu  reason: ", v->nr);
	x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE,
			v->reason < 0 ? "all" : model_state_name(v->reason));
	if (v->filter[0]) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  filter: ");
		x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, v->filter);
	}
	/* what K hides, before the hint that narrow screens cut */
	x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  kthreads: ");
	if (v->kthreads)
		x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, "shown");
	else
		x += canvas_printf(c, y, x, -1, CANVAS_HEADER_VALUE, "%zu hidden", v->nr_kernel);
	canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  (time blocked in the window)");
	if (h < 2)
		return;
	canvas_fill(c, y + 1, 0, c->w, CANVAS_TITLE, ' ');
	x = 0;
	for (int col = 0; col < COL_NR; col++) {
		if (!v->shown[col])
			continue;
		canvas_put_fit(c, y + 1, x, v->width[col],
			       col == COL_BLK ? CANVAS_TITLE_SORT : CANVAS_TITLE, cols[col].title,
			       cols[col].right ? CANVAS_RIGHT : 0);
		x += v->width[col] + 1;
	}
	if (!v->nr) {
		canvas_put(c, y + 2, 1, -1, CANVAS_DIM,
			   v->filter[0] || v->reason >= 0
				   ? "nothing matches (r: reason, / filter)"
			   : v->nr_kernel
				   ? "only kernel threads blocked in this window (K shows them)"
				   : "no thread blocked long enough in this window (or no sched "
				     "probe)");
		return;
	}
	view_scroll(v->cur, &v->top, v->nr, rows);
	for (int i = 0; i < rows && v->top + i < v->nr; i++) {
		const struct brow *r = &v->rows[v->top + i];
		char buf[32];

		x = 0;
		for (int col = 0; col < COL_NR; col++) {
			const char *s = buf;
			enum canvas_role role = CANVAS_DEFAULT;

			if (!v->shown[col])
				continue;
			switch (col) {
			case COL_BLK:
				if (win_ns > 0)
					snprintf(buf, sizeof(buf), "%.1f", 100.0 * r->ns / win_ns);
				else
					snprintf(buf, sizeof(buf), "-");
				if (win_ns > 0 && r->ns >= win_ns / 2)
					role = CANVAS_HOT;
				break;
			case COL_TIME:
				view_duration(buf, sizeof(buf), r->ns);
				break;
			case COL_REASON:
				s = model_state_name(r->reason);
				break;
			case COL_THREADS:
				s = r->who;
				break;
			case COL_WHERE:
				s = r->where;
				break;
			}
			canvas_put_fit(c, y + 2 + i, x, v->width[col], role, s,
				       cols[col].right ? CANVAS_RIGHT : 0);
			x += v->width[col] + 1;
		}
		if (v->top + i == v->cur)
			canvas_set_role(c, y + 2 + i, 0, c->w, CANVAS_SELECTED);
	}
}

/* This stack's path in its thread (or process): Enter shows it in that scope's wall-time flame,
 * s in the stack view of blocked time. */
static void open_row(struct block_view *v, enum wall_metric metric)
{
	struct view_target *t = &v->ctx->target;
	const struct brow *r = &v->rows[v->cur];
	const struct stacks *st = v->ctx->stacks;
	const struct thread *th = threads_get(v->ctx->threads, r->thread);
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, r->stack, &nr);

	memset(t, 0, sizeof(*t));
	t->metric = metric;
	t->filter.thread = CALLTREE_NONE;
	if (r->nr_threads == 1) {
		t->filter.thread = r->thread;
		snprintf(t->what, sizeof(t->what), "thread %s (%u)",
			 th && th->comm ? th->comm : "?", th ? th->tid : 0);
	} else if (r->pid) {
		t->filter.pid = r->pid;
		snprintf(t->what, sizeof(t->what), "process %s (%u)",
			 th && th->process ? th->process : "?", r->pid);
	} else if (metric == WALL_OFFCPU) {
		snprintf(t->what, sizeof(t->what), "%u threads", r->nr_threads);
	} else {
		/* threads of several processes: no scope names them all */
		snprintf(t->what, sizeof(t->what), "all threads");
	}
	/* the stack view shows this stack's blocked time alone */
	if (metric == WALL_OFFCPU) {
		size_t n = strlen(t->what);

		snprintf(t->what + n, sizeof(t->what) - n, ", blocked (%s)",
			 model_state_name(r->reason));
	}
	for (uint32_t j = 0; j < nr && j < VIEW_PATH_MAX; j++)
		t->path[t->path_len++] = stacks_frame(st, frames[j])->function;
}

static int key(void *p, int k)
{
	struct block_view *v = p;
	int page = v->h > 3 ? v->h - 3 : 1;

	if (view_move(k, &v->cur, v->nr, page)) {
		remember_cursor(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	switch (k) {
	case TERM_KEY_ENTER:
	case 's':
		if (!v->nr)
			return VIEW_HANDLED;
		open_row(v, k == 's' ? WALL_OFFCPU : WALL_WALL);
		return VIEW_HANDLED | (k == 's' ? VIEW_OPEN_STACK : VIEW_OPEN_FLAME);
	case 'r':
		/* all → lock → io → poll → sleep → other → all */
		if (v->reason < 0)
			v->reason = MODEL_STATE_LOCK;
		else if (v->reason + 1 < MODEL_STATE_NR)
			v->reason++;
		else
			v->reason = -1;
		remember_cursor(v);
		update(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	case 'K':
		v->kthreads = !v->kthreads;
		remember_cursor(v);
		update(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	default:
		return VIEW_IGNORED;
	}
}

static void resize(void *p, int w, int h)
{
	struct block_view *v = p;

	v->w = w;
	v->h = h;
}

static void search(void *p, const char *text)
{
	struct block_view *v = p;

	snprintf(v->filter, sizeof(v->filter), "%s", text);
	remember_cursor(v);
	update(v);
}

static const struct view_hint hints[] = {
    {"Enter", "Flame"},
    {"s", "Stack"},
    {"r", "Reason"},
    {"K", "Kthreads"},
    {"/", "Filter"},
    {NULL},
};

const struct view_ops view_block_ops = {
    .name = "block",
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
