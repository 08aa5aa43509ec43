// SPDX-License-Identifier: GPL-2.0-only
/*
 * The threads view: a top-like table of threads (or processes, key H) with their %CPU and
 * hottest frame in the window; sort, filter, Enter into a thread's (or process's) wall-time
 * flame — where all its time went, on and off the CPU — and s into its stacks. With thread
 * states (probes/sched) it also shows a state letter and the share of the window each thread
 * spent running, waiting for a CPU, on a lock, on I/O, in poll and asleep.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/calltree.h"
#include "model/threads.h"
#include "model/window.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

enum col {
	COL_PID,
	COL_TID, /* THR, the number of threads, in process mode */
	COL_PROCESS,
	COL_THREAD,
	COL_CPU,
	COL_S,     /* the state it spent most of the newest tick in */
	COL_RUN,   /* %RUN .. %SLEEP: share of the window in state col_state(col) */
	COL_RUNQ,
	COL_LOCK,  /* waiting for a lock someone holds */
	COL_WAIT,  /* waiting for work or an event: an idle pool, a parked thread */
	COL_IO,
	COL_POLL,
	COL_SLEEP,
	COL_HOT,
	COL_NR,
};

#define IS_STATE_COL(c) ((c) >= COL_S && (c) <= COL_SLEEP)

static const struct {
	const char *title, *proc_title;
	int width;    /* 0: takes what is left */
	int priority; /* dropped first when narrow: higher */
	bool right;
	bool desc;    /* sorts descending by default */
} cols[COL_NR] = {
	[COL_PID] = { "PID", "PID", 7, 1, true, false },
	[COL_TID] = { "TID", "THR", 7, 3, true, false },
	[COL_PROCESS] = { "PROCESS", "PROCESS", 15, 7, false, false },
	[COL_THREAD] = { "THREAD", NULL, 15, 2, false, false },
	[COL_CPU] = { "%CPU", "%CPU", 6, 0, true, true },
	[COL_S] = { "S", "S", 1, 4, false, false },
	[COL_RUN] = { "%RUN", "%RUN", 6, 4, true, true },
	[COL_RUNQ] = { "%RUNQ", "%RUNQ", 6, 5, true, true },
	[COL_LOCK] = { "%LOCK", "%LOCK", 6, 6, true, true },
	[COL_WAIT] = { "%WAIT", "%WAIT", 6, 8, true, true },
	[COL_IO] = { "%IO", "%IO", 6, 6, true, true },
	[COL_POLL] = { "%POLL", "%POLL", 6, 9, true, true },
	[COL_SLEEP] = { "%SLEEP", "%SLEEP", 6, 10, true, true },
	[COL_HOT] = { "HOTTEST FRAME", "HOTTEST FRAME", 0, 0, false, false },
};

/* The state a %-column shows. */
static enum model_state col_state(int col)
{
	switch (col) {
	case COL_RUN:
		return MODEL_STATE_RUNNING;
	case COL_RUNQ:
		return MODEL_STATE_RUNNABLE;
	case COL_LOCK:
		return MODEL_STATE_LOCK;
	case COL_WAIT:
		return MODEL_STATE_WAIT;
	case COL_IO:
		return MODEL_STATE_IO;
	case COL_POLL:
		return MODEL_STATE_POLL;
	default:
		return MODEL_STATE_SLEEP;
	}
}

#define HOT_MIN 8 /* the hottest frame column keeps at least this */
#define CPU_HOT 50.0

struct row {
	uint32_t key; /* thread index, or pid in process mode */
	uint32_t pid, tid;
	const char *process, *thread;
	uint32_t nr_threads;
	uint64_t samples;
	const char *hot;
	bool exited;
	uint64_t st[MODEL_STATE_NR];   /* ns in each state in the window */
	uint64_t last[MODEL_STATE_NR]; /* ... in the newest tick of the window */
};

struct threads_view {
	struct view_ctx *ctx;
	struct row *rows;
	size_t nr, cap;
	enum col sort;
	bool invert;
	bool procs;
	bool have_states; /* the window has thread states: the state columns are shown */
	uint64_t (*last)[MODEL_STATE_NR]; /* per thread index, the newest tick's states */
	size_t cap_last;
	char filter[128];
	uint32_t sel_key;
	bool have_sel;
	size_t cur, top;
	int w, h;
	/* scratch for calltree_hot_leaves() */
	uint32_t *group_of;
	size_t cap_group;
	const char **leaf;
	uint64_t *leaf_count;
	size_t cap_leaf;
	/* the layout of the last draw */
	bool shown[COL_NR];
	int width[COL_NR];
};

static void *create(struct view_ctx *ctx)
{
	struct threads_view *v = xcalloc(1, sizeof(*v));

	v->ctx = ctx;
	v->sort = COL_CPU;
	return v;
}

static void destroy(void *p)
{
	struct threads_view *v = p;

	if (!v)
		return;
	free(v->rows);
	free(v->group_of);
	free(v->leaf);
	free(v->leaf_count);
	free(v->last);
	free(v);
}

static double cpu_pct(const struct threads_view *v, uint64_t samples)
{
	double denom = v->ctx->freq_hz * v->ctx->win_secs;

	return denom > 0 ? samples / denom * 100.0 : -1;
}

static bool matches(const struct threads_view *v, const struct row *r)
{
	char num[16];

	if (!v->filter[0])
		return true;
	if ((r->thread && strcasestr(r->thread, v->filter)) ||
	    (r->process && strcasestr(r->process, v->filter)))
		return true;
	snprintf(num, sizeof(num), "%u", r->pid);
	if (!strcmp(num, v->filter))
		return true;
	snprintf(num, sizeof(num), "%u", r->tid);
	return !v->procs && !strcmp(num, v->filter);
}

/* R run, Q runq, L lock, D io, P poll, S sleep, O other, W wait; X exited; ' ' unknown. */
static char state_letter(const struct row *r)
{
	static const char letters[MODEL_STATE_NR + 1] = "RQLDPSOW";
	int best = -1;

	if (r->exited)
		return 'X';
	for (int s = 0; s < MODEL_STATE_NR; s++)
		if (r->last[s] && (best < 0 || r->last[s] > r->last[best]))
			best = s;
	return best < 0 ? ' ' : letters[best];
}

/* Each thread's states in the newest tick of the window (its letter). */
static void newest_states(struct threads_view *v, uint32_t n)
{
	const struct window *w = v->ctx->win;
	const struct tick *tk = model_tick(v->ctx->model, 0);

	v->last = xgrow(v->last, &v->cap_last, n + 1, sizeof(*v->last));
	memset(v->last, 0, (n + 1) * sizeof(*v->last));
	v->have_states = false;
	for (uint32_t i = 0; i < n && i < w->nr_threads; i++)
		for (int s = 0; s < MODEL_STATE_NR && !v->have_states; s++)
			v->have_states = w->thread_states[i][s] != 0;
	if (!v->have_states || !tk || !w->nr_ticks)
		return;
	/* paused: the window's newest tick is not the model's */
	if (tk->seq > v->ctx->last_seq)
		tk = model_tick(v->ctx->model, tk->seq - v->ctx->last_seq);
	for (size_t i = 0; tk && i < tk->nr_states; i++)
		if (tk->states[i].thread < n && tk->states[i].stack < MODEL_STATE_NR)
			v->last[tk->states[i].thread][tk->states[i].stack] += tk->states[i].count;
}

static int cmp_str(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

static const struct threads_view *sort_view;

static int by_sort(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	const struct threads_view *v = sort_view;
	int r = 0;

	switch (v->sort) {
	case COL_PID:
		r = (x->pid > y->pid) - (x->pid < y->pid);
		break;
	case COL_TID:
		r = v->procs ? (x->nr_threads > y->nr_threads) - (x->nr_threads < y->nr_threads)
			     : (x->tid > y->tid) - (x->tid < y->tid);
		break;
	case COL_PROCESS:
		r = cmp_str(x->process, y->process);
		break;
	case COL_THREAD:
		r = cmp_str(x->thread, y->thread);
		break;
	case COL_CPU:
		r = (x->samples > y->samples) - (x->samples < y->samples);
		break;
	case COL_HOT:
		r = cmp_str(x->hot, y->hot);
		break;
	case COL_S:
		r = (state_letter(x) > state_letter(y)) - (state_letter(x) < state_letter(y));
		break;
	case COL_RUN:
	case COL_RUNQ:
	case COL_LOCK:
	case COL_WAIT:
	case COL_IO:
	case COL_POLL:
	case COL_SLEEP: {
		int s = col_state(v->sort);

		r = (x->st[s] > y->st[s]) - (x->st[s] < y->st[s]);
		break;
	}
	default:
		break;
	}
	if (v->sort < COL_NR && cols[v->sort].desc)
		r = -r;
	if (v->invert)
		r = -r;
	if (r)
		return r;
	/* Ties: busiest first (threads of a process by tid when sorted by pid), then by pid
	 * and tid, so the order never flickers. */
	if (v->sort == COL_PID && x->tid != y->tid)
		return x->tid < y->tid ? -1 : 1;
	if (x->samples != y->samples)
		return x->samples > y->samples ? -1 : 1;
	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	return (x->tid > y->tid) - (x->tid < y->tid);
}

static struct row *add_row(struct threads_view *v)
{
	v->rows = xgrow(v->rows, &v->cap, v->nr + 1, sizeof(*v->rows));
	memset(&v->rows[v->nr], 0, sizeof(*v->rows));
	return &v->rows[v->nr++];
}

/* The row of process pid, or a new one. Process mode has few rows: a linear scan is fine
 * until it is not, so look back from the newest (threads of a process are mostly adjacent). */
static struct row *proc_row(struct threads_view *v, uint32_t pid)
{
	for (size_t i = v->nr; i-- > 0;)
		if (v->rows[i].pid == pid)
			return &v->rows[i];
	return add_row(v);
}

static void build_rows(struct threads_view *v)
{
	const struct window *w = v->ctx->win;
	const struct threads *th = v->ctx->threads;
	uint32_t n = threads_count(th);

	v->nr = 0;
	v->group_of = xgrow(v->group_of, &v->cap_group, n + 1, sizeof(*v->group_of));
	newest_states(v, n);
	for (uint32_t i = 0; i < n; i++) {
		const struct thread *t = threads_get(th, i);
		uint64_t samples = i < w->nr_threads ? w->thread_samples[i] : 0, any = 0;
		struct row *r;

		v->group_of[i] = CALLTREE_NONE;
		for (int s = 0; s < MODEL_STATE_NR && i < w->nr_threads; s++)
			any |= w->thread_states[i][s];
		if (t->exited && !samples && !any)
			continue;
		if (v->procs) {
			r = proc_row(v, t->pid);
			if (!r->nr_threads) {
				r->key = r->pid = t->pid;
				r->process = t->process;
				r->exited = true;
			}
			r->nr_threads++;
			r->samples += samples;
			r->exited &= t->exited;
			for (int s = 0; s < MODEL_STATE_NR && i < w->nr_threads; s++) {
				r->st[s] += w->thread_states[i][s];
				r->last[s] += v->last[i][s];
			}
			if (t->tid == t->pid)
				r->process = t->process;
		} else {
			r = add_row(v);
			r->key = i;
			r->pid = t->pid;
			r->tid = t->tid;
			r->process = t->process;
			r->thread = t->comm;
			r->nr_threads = 1;
			r->samples = samples;
			r->exited = t->exited;
			for (int s = 0; s < MODEL_STATE_NR && i < w->nr_threads; s++) {
				r->st[s] = w->thread_states[i][s];
				r->last[s] = v->last[i][s];
			}
		}
		v->group_of[i] = r - v->rows;
	}
	/* Filter in place, keeping group_of pointing at the surviving rows. */
	{
		uint32_t *remap = xmalloc((v->nr + 1) * sizeof(*remap));
		size_t kept = 0;

		for (size_t i = 0; i < v->nr; i++) {
			remap[i] = CALLTREE_NONE;
			if (!matches(v, &v->rows[i]))
				continue;
			remap[i] = kept;
			v->rows[kept++] = v->rows[i];
		}
		for (uint32_t i = 0; i < n; i++)
			if (v->group_of[i] != CALLTREE_NONE)
				v->group_of[i] = remap[v->group_of[i]];
		v->nr = kept;
		free(remap);
	}
	v->leaf = xgrow(v->leaf, &v->cap_leaf, v->nr + 1, sizeof(*v->leaf));
	v->leaf_count = xrealloc(v->leaf_count, v->cap_leaf * sizeof(*v->leaf_count));
	calltree_hot_leaves(v->ctx->stacks, w->counts, w->nr_counts, v->group_of, n, v->leaf,
			    v->leaf_count, v->nr);
	for (size_t i = 0; i < v->nr; i++)
		v->rows[i].hot = v->leaf[i];
	sort_view = v;
	if (v->nr)
		qsort(v->rows, v->nr, sizeof(*v->rows), by_sort);
	sort_view = NULL;
}

/* Puts the cursor back on the row it was on, by its key. */
static void restore_cursor(struct threads_view *v)
{
	if (v->have_sel) {
		for (size_t i = 0; i < v->nr; i++) {
			if (v->rows[i].key == v->sel_key) {
				v->cur = i;
				return;
			}
		}
	}
	if (v->cur >= v->nr)
		v->cur = v->nr ? v->nr - 1 : 0;
}

static void remember_cursor(struct threads_view *v)
{
	v->have_sel = v->cur < v->nr;
	if (v->have_sel)
		v->sel_key = v->rows[v->cur].key;
}

static void update(void *p)
{
	struct threads_view *v = p;

	build_rows(v);
	restore_cursor(v);
}

static void layout(struct threads_view *v, int w)
{
	int used = 0, fixed = 0;

	for (int c = 0; c < COL_NR; c++) {
		v->shown[c] = !(v->procs && !cols[c].proc_title) &&
			      (!IS_STATE_COL(c) || v->have_states);
		v->width[c] = cols[c].width;
	}
	/* Wide screens give the name columns more room. */
	if (w >= 120) {
		v->width[COL_PROCESS] = 18;
		v->width[COL_THREAD] = 18;
	}
	for (;;) {
		fixed = 0;
		used = 0;
		for (int c = 0; c < COL_NR; c++) {
			if (!v->shown[c])
				continue;
			fixed += v->width[c] + 1;
			used++;
		}
		if (w - fixed >= HOT_MIN || used <= 2)
			break;
		/* Drop the least important column still shown. */
		int drop = -1;

		for (int c = 0; c < COL_NR; c++)
			if (v->shown[c] && cols[c].priority &&
			    (drop < 0 || cols[c].priority > cols[drop].priority))
				drop = c;
		if (drop < 0)
			break;
		v->shown[drop] = false;
	}
	v->width[COL_HOT] = w - fixed > 0 ? w - fixed : 0;
}

static void draw_title(struct threads_view *v, struct canvas *c, int y)
{
	int x = 0;

	x += canvas_printf(c, y, x, -1, CANVAS_HEADER_VALUE, "%s",
			   v->procs ? "Processes" : "Threads");
	x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, " %zu", v->nr);
	if (v->filter[0]) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  filter: ");
		x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, v->filter);
	}
	x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  sorted by %s",
			   v->procs && cols[v->sort].proc_title ? cols[v->sort].proc_title
								 : cols[v->sort].title);
	canvas_putc(c, y, x + 1, CANVAS_DEFAULT,
		    canvas_glyph(c, (cols[v->sort].desc != v->invert) ? CANVAS_GLYPH_SORT_DOWN
								      : CANVAS_GLYPH_SORT_UP));
}

static void draw_header(struct threads_view *v, struct canvas *c, int y)
{
	int x = 0;

	canvas_fill(c, y, 0, c->w, CANVAS_TITLE, ' ');
	for (int col = 0; col < COL_NR; col++) {
		const char *t = v->procs ? cols[col].proc_title : cols[col].title;
		enum canvas_role role = col == (int)v->sort ? CANVAS_TITLE_SORT : CANVAS_TITLE;

		if (!v->shown[col])
			continue;
		canvas_put_fit(c, y, x, v->width[col], role, t, cols[col].right ? CANVAS_RIGHT : 0);
		x += v->width[col] + 1;
	}
}

static void draw_row(struct threads_view *v, struct canvas *c, int y, const struct row *r,
		     bool selected)
{
	double pct = cpu_pct(v, r->samples);
	enum canvas_role base = (r->exited || !r->samples) ? CANVAS_DIM : CANVAS_DEFAULT;
	char buf[64];
	int x = 0;

	for (int col = 0; col < COL_NR; col++) {
		enum canvas_role role = base;
		const char *s = buf;
		unsigned flags = cols[col].right ? CANVAS_RIGHT : 0;

		if (!v->shown[col])
			continue;
		switch (col) {
		case COL_PID:
			snprintf(buf, sizeof(buf), "%u", r->pid);
			break;
		case COL_TID:
			snprintf(buf, sizeof(buf), "%u", v->procs ? r->nr_threads : r->tid);
			break;
		case COL_PROCESS:
			s = r->process ? r->process : "?";
			break;
		case COL_THREAD:
			s = r->thread ? r->thread : "?";
			break;
		case COL_CPU:
			if (pct < 0)
				snprintf(buf, sizeof(buf), "-");
			else
				snprintf(buf, sizeof(buf), "%.1f", pct);
			if (pct >= CPU_HOT)
				role = CANVAS_HOT;
			break;
		case COL_HOT:
			s = r->hot ? r->hot : (r->samples ? "?" : "-");
			break;
		case COL_S:
			snprintf(buf, sizeof(buf), "%c", state_letter(r));
			break;
		default: { /* COL_RUN .. COL_SLEEP */
			int st = col_state(col);
			double denom = v->ctx->win_secs * 1e9;
			double p = denom > 0 ? r->st[st] / denom * 100 : -1;

			if (p < 0)
				snprintf(buf, sizeof(buf), "-");
			else
				snprintf(buf, sizeof(buf), "%.1f", p);
			/* waiting for a CPU, a lock or I/O most of the time stands out */
			if (p >= CPU_HOT && (st == MODEL_STATE_RUNNABLE || st == MODEL_STATE_LOCK ||
					     st == MODEL_STATE_IO))
				role = CANVAS_HOT;
			break;
		}
		}
		canvas_put_fit(c, y, x, v->width[col], role, s, flags);
		x += v->width[col] + 1;
	}
	if (selected)
		canvas_set_role(c, y, 0, c->w, CANVAS_SELECTED);
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct threads_view *v = p;
	int rows = h - 2;

	if (h <= 0)
		return;
	layout(v, c->w);
	draw_title(v, c, y);
	if (h < 2)
		return;
	draw_header(v, c, y + 1);
	if (!v->nr) {
		canvas_put(c, y + 2, 1, -1, CANVAS_DIM,
			   v->filter[0] ? "no thread matches the filter (Esc in / clears it)"
					: "no threads seen yet");
		return;
	}
	view_scroll(v->cur, &v->top, v->nr, rows);
	for (int i = 0; i < rows && v->top + i < v->nr; i++)
		draw_row(v, c, y + 2 + i, &v->rows[v->top + i], v->top + i == v->cur);
}

/* The row as a drill-down's scope, in wall time. */
static void open_row(struct threads_view *v)
{
	struct view_target *t = &v->ctx->target;
	const struct row *r = &v->rows[v->cur];

	memset(t, 0, sizeof(*t));
	t->metric = WALL_WALL;
	t->filter.thread = CALLTREE_NONE;
	if (v->procs) {
		t->filter.pid = r->pid;
		snprintf(t->what, sizeof(t->what), "process %s (%u)", r->process ? r->process : "?",
			 r->pid);
	} else {
		t->filter.thread = r->key;
		snprintf(t->what, sizeof(t->what), "thread %s (%u)", r->thread ? r->thread : "?",
			 r->tid);
	}
}

static void resort(struct threads_view *v)
{
	remember_cursor(v);
	update(v);
}

/* The next shown column left (dir < 0) or right of the sort column. */
static void move_sort(struct threads_view *v, int dir)
{
	int c = v->sort;

	for (int i = 0; i < COL_NR; i++) {
		c = (c + dir + COL_NR) % COL_NR;
		if (!(v->procs && !cols[c].proc_title) && (!IS_STATE_COL(c) || v->have_states))
			break;
	}
	v->sort = c;
	v->invert = false;
}

/* Threads ↔ processes, keeping the cursor on the same process. */
static void toggle_procs(struct threads_view *v)
{
	uint32_t pid = v->cur < v->nr ? v->rows[v->cur].pid : 0;

	v->procs = !v->procs;
	if (v->procs && v->sort == COL_THREAD)
		v->sort = COL_PROCESS;
	v->have_sel = false;
	v->cur = 0;
	update(v);
	for (size_t i = 0; i < v->nr; i++) {
		if (v->rows[i].pid == pid) {
			v->cur = i;
			break;
		}
	}
	remember_cursor(v);
}

static int key(void *p, int k)
{
	struct threads_view *v = p;
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
		open_row(v);
		return VIEW_HANDLED | (k == 's' ? VIEW_OPEN_STACK : VIEW_OPEN_FLAME);
	case '<':
	case '>':
		move_sort(v, k == '<' ? -1 : 1);
		break;
	case 'P':
		v->sort = COL_CPU;
		v->invert = false;
		break;
	case 'N':
		v->sort = COL_PID;
		v->invert = false;
		break;
	case 'T':
		v->sort = v->procs ? COL_PROCESS : COL_THREAD;
		v->invert = false;
		break;
	case 'I':
		v->invert = !v->invert;
		break;
	case 'H':
		toggle_procs(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	default:
		return VIEW_IGNORED;
	}
	resort(v);
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void resize(void *p, int w, int h)
{
	struct threads_view *v = p;

	v->w = w;
	v->h = h;
}

static void search(void *p, const char *text)
{
	struct threads_view *v = p;

	snprintf(v->filter, sizeof(v->filter), "%s", text);
	remember_cursor(v);
	update(v);
}

static const struct view_hint hints[] = {
	{ "Enter", "Flame" }, { "s", "Stacks" }, { "/", "Filter" }, { "<>", "Sort" },
	{ "H", "Procs" },     { NULL },
};

const struct view_ops view_threads_ops = {
	.name = "threads",
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
