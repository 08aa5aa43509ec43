// SPDX-License-Identifier: GPL-2.0-only
/*
 * The goroutines view (key 5): a Go process as Go sees it. For the selected Go process (p
 * cycles; the one with most goroutines first) a header with its goroutines by state and its GC
 * (collections and the longest pause in the window, heap live and goal, GOGC), a chart of its
 * goroutine count per tick, then its goroutine groups — same state, wait reason, stack and
 * creation site — with their count, change per minute over the window, longest wait and
 * creator, sorted by count or by growth (c). The runtime's own goroutines are hidden as pprof
 * hides them (a shows them); / filters by state, creator or function. Enter opens the flame of
 * the process's goroutines in wall time with the group's stack selected (tui/view_flame.c), s
 * the stack view on the group's stack, counted in goroutines, with its creator.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "model/goroutines.h"
#include "model/gowindow.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

#define WHERE_FRAMES 3
#define CHART_ROWS 5
#define LABEL_W 7 /* "100000 |" */

struct grow_row {
	uint32_t group;
	uint32_t count;
	int64_t change;
	uint64_t oldest_ns;
	char state[64];
	char creator[96];
	char where[200];
};

struct go_view {
	struct view_ctx *ctx;
	struct grow_row *rows;
	size_t nr, cap;
	uint32_t pid;       /* the process shown, 0 for none yet */
	bool pid_chosen;    /* p was pressed: keep it */
	bool by_growth;     /* sort by change instead of count */
	bool show_system;
	char filter[128];
	uint32_t sel_group;
	bool have_sel;
	size_t cur, top;
	int w, h;
};

static void *create(struct view_ctx *ctx)
{
	struct go_view *v = xcalloc(1, sizeof(*v));

	v->ctx = ctx;
	return v;
}

static void destroy(void *p)
{
	struct go_view *v = p;

	if (!v)
		return;
	free(v->rows);
	free(v);
}

static const struct gowin_proc *shown_proc(const struct go_view *v)
{
	return v->ctx->gowin ? gowindow_proc(v->ctx->gowin, v->pid) : NULL;
}

/* The busiest Go process, unless the user picked one that is still there. */
static void pick_pid(struct go_view *v)
{
	const struct gowindow *w = v->ctx->gowin;
	uint32_t best = 0;

	if (!w || (v->pid_chosen && gowindow_proc(w, v->pid)))
		return;
	v->pid = 0;
	for (size_t i = 0; i < w->nr_procs; i++) {
		const struct gowin_proc *p = &w->procs[i];

		if (!v->pid || p->p.goroutines > best) {
			best = p->p.goroutines;
			v->pid = p->p.pid;
		}
	}
}

/* The innermost frames of the program's own code ("main.readRequest < main.handle"): the wait
 * reason already says what the runtime's frames would; those only when there is nothing else. */
static void describe(const struct stacks *st, uint32_t stack, char *buf, size_t len)
{
	uint32_t nr, shown = 0;
	const uint32_t *frames = stacks_frames(st, stack, &nr);
	size_t n = 0;

	buf[0] = '\0';
	for (int pass = 0; pass < 2 && !shown; pass++) {
		for (uint32_t j = nr; j-- > 0 && shown < WHERE_FRAMES && n + 1 < len;) {
			const struct frame *f = stacks_frame(st, frames[j]);

			if (f->kind == FRAME_SPECIAL ||
			    (!pass && !strncmp(f->function, "runtime.", 8)))
				continue;
			n += snprintf(buf + n, len - n, "%s%s", shown ? " < " : "", f->function);
			shown++;
		}
	}
	if (!shown)
		snprintf(buf, len, "?");
}

static bool matches(const struct go_view *v, const struct grow_row *r)
{
	return !v->filter[0] || strcasestr(r->where, v->filter) ||
	       strcasestr(r->creator, v->filter) || strcasestr(r->state, v->filter);
}

static int cmp_rows(const struct go_view *v, const struct grow_row *a, const struct grow_row *b)
{
	if (v->by_growth && a->change != b->change)
		return a->change > b->change ? -1 : 1;
	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->group < b->group ? -1 : a->group > b->group;
}

static void sort_rows(struct go_view *v)
{
	/* insertion sort: a few hundred groups at most are shown */
	for (size_t i = 1; i < v->nr; i++) {
		struct grow_row r = v->rows[i];
		size_t j = i;

		while (j && cmp_rows(v, &r, &v->rows[j - 1]) < 0) {
			v->rows[j] = v->rows[j - 1];
			j--;
		}
		v->rows[j] = r;
	}
}

static void build_rows(struct go_view *v)
{
	const struct gowindow *w = v->ctx->gowin;
	const struct goroutines *g = model_goroutines(v->ctx->model);
	const struct stacks *st = v->ctx->stacks;

	v->nr = 0;
	if (!w)
		return;
	for (size_t i = 0; i < w->nr_groups; i++) {
		const struct gowin_group *e = &w->groups[i];
		const struct go_group *grp = goroutines_group(g, e->group);
		const struct frame *cb;
		struct grow_row r = { .group = e->group, .count = e->count, .change = e->change,
				      .oldest_ns = e->oldest_ns };

		if (!grp || grp->pid != v->pid || (!e->count && !e->change))
			continue;
		if ((grp->flags & GO_GROUP_SYSTEM) && !v->show_system)
			continue;
		snprintf(r.state, sizeof(r.state), "%s",
			 grp->wait_reason ? grp->wait_reason : goroutines_status_name(grp->status));
		cb = grp->created_by == GO_GROUP_NONE ? NULL : stacks_frame(st, grp->created_by);
		snprintf(r.creator, sizeof(r.creator), "%s", cb ? cb->function : "-");
		describe(st, grp->stack, r.where, sizeof(r.where));
		if (!matches(v, &r))
			continue;
		v->rows = xgrow(v->rows, &v->cap, v->nr + 1, sizeof(*v->rows));
		v->rows[v->nr++] = r;
	}
	sort_rows(v);
}

static void update(void *p)
{
	struct go_view *v = p;

	pick_pid(v);
	build_rows(v);
	if (v->have_sel)
		for (size_t i = 0; i < v->nr; i++)
			if (v->rows[i].group == v->sel_group)
				v->cur = i;
	if (v->cur >= v->nr)
		v->cur = v->nr ? v->nr - 1 : 0;
}

static void remember_cursor(struct go_view *v)
{
	v->have_sel = v->cur < v->nr;
	if (v->have_sel)
		v->sel_group = v->rows[v->cur].group;
}

/* "1.2M" style sizes. */
static void fmt_bytes(char *buf, size_t len, uint64_t b)
{
	if (b >= 1024ull * 1024 * 1024)
		snprintf(buf, len, "%.1fG", b / (1024.0 * 1024 * 1024));
	else if (b >= 1024 * 1024)
		snprintf(buf, len, "%.1fM", b / (1024.0 * 1024));
	else
		snprintf(buf, len, "%.0fK", b / 1024.0);
}

static void fmt_age(char *buf, size_t len, double s)
{
	if (s >= 3600)
		snprintf(buf, len, "%.1fh", s / 3600);
	else if (s >= 60)
		snprintf(buf, len, "%.1fm", s / 60);
	else
		snprintf(buf, len, "%.1fs", s);
}

static const char *process_name(const struct go_view *v)
{
	uint32_t idx = threads_find(v->ctx->threads, v->pid);
	const struct thread *t = idx == UINT32_MAX ? NULL : threads_get(v->ctx->threads, idx);

	return t && t->process ? t->process : "?";
}

static void draw_title(struct go_view *v, struct canvas *c, int y)
{
	const struct gowin_proc *p = shown_proc(v);
	const struct goroutines_gc *gc;
	const struct gowindow *w = v->ctx->gowin;
	char line[512], a[32], b[32];
	int x = 0;
	size_t n = 0;

	x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, "Goroutines");
	if (!p) {
		canvas_put(c, y + 1, 0, c->w, CANVAS_DIM,
			   "no Go process among the targets (or --go off)");
		return;
	}
	x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  %s (%u) %s", process_name(v),
			   p->p.pid, p->p.version ? p->p.version : "");
	if (w && w->nr_procs > 1)
		x += canvas_printf(c, y, x, -1, CANVAS_DIM, "  [%zu Go processes: p]", w->nr_procs);
	if (v->filter[0]) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  filter: ");
		canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, v->filter);
	}
	if (p->p.error) {
		canvas_put_fit(c, y + 1, 0, c->w, CANVAS_WARNING, p->p.error, 0);
		return;
	}
	n += snprintf(line + n, sizeof(line) - n,
		      "%u goroutines: %u running, %u runnable, %u syscall, %u waiting", p->p.goroutines,
		      p->p.by_status[GOROUTINES_RUNNING],
		      p->p.by_status[GOROUTINES_RUNNABLE] + p->p.by_status[GOROUTINES_PREEMPTED],
		      p->p.by_status[GOROUTINES_SYSCALL], p->p.by_status[GOROUTINES_WAITING]);
	gc = &p->p.gc;
	if (gc->known & GOROUTINES_GC_COUNTS)
		n += snprintf(line + n, sizeof(line) - n, " | GC %u, max pause %.2fms",
			      p->collections, p->pause_max_ns / 1e6);
	if ((gc->known & GOROUTINES_GC_HEAP) && n < sizeof(line)) {
		fmt_bytes(a, sizeof(a), gc->heap_live);
		fmt_bytes(b, sizeof(b), gc->heap_goal);
		n += snprintf(line + n, sizeof(line) - n, ", heap %s goal %s", a, b);
	}
	if ((gc->known & GOROUTINES_GC_KNOBS) && n < sizeof(line))
		n += snprintf(line + n, sizeof(line) - n, ", GOGC %" PRId64, gc->gc_percent);
	if (p->dropped && n < sizeof(line))
		snprintf(line + n, sizeof(line) - n, " | %u reads dropped", p->dropped);
	canvas_put_fit(c, y + 1, 0, c->w, CANVAS_DEFAULT, line, 0);
}

/* The goroutine count per tick, newest on the right. */
static void draw_chart(struct go_view *v, struct canvas *c, int y, int rows)
{
	const struct model *m = v->ctx->model;
	int cols = c->w - LABEL_W - 1;
	size_t n = model_nr_ticks(m), shown;
	uint32_t val[512], lo = UINT32_MAX, hi = 0;
	bool have[512], any = false;
	char buf[32];

	if (cols <= 4 || rows <= 1)
		return;
	if (cols > 512)
		cols = 512;
	shown = n < (size_t)cols ? n : (size_t)cols;
	for (size_t i = 0; i < shown; i++) {
		const struct tick *t = model_tick(m, shown - 1 - i);

		have[i] = false;
		for (size_t k = 0; t->go && k < t->go->nr_procs; k++) {
			if (t->go->procs[k].pid != v->pid || t->go->procs[k].error)
				continue;
			val[i] = t->go->procs[k].goroutines;
			have[i] = any = true;
			if (val[i] < lo)
				lo = val[i];
			if (val[i] > hi)
				hi = val[i];
		}
	}
	if (!any)
		return;
	lo = lo > (hi - lo) / 4 + 1 ? lo - (hi - lo) / 4 - 1 : 0;
	if (hi == lo)
		hi = lo + 1;
	snprintf(buf, sizeof(buf), "%u", hi);
	canvas_put_fit(c, y, 0, LABEL_W - 1, CANVAS_DIM, buf, CANVAS_RIGHT);
	snprintf(buf, sizeof(buf), "%u", lo);
	canvas_put_fit(c, y + rows - 1, 0, LABEL_W - 1, CANVAS_DIM, buf, CANVAS_RIGHT);
	for (int r = 0; r < rows; r++)
		canvas_putc(c, y + r, LABEL_W - 1, CANVAS_DIM, '|');
	for (size_t i = 0; i < shown; i++) {
		int x = LABEL_W + (int)(cols - shown + i), level;

		if (!have[i])
			continue;
		level = (int)((double)(val[i] - lo) / (double)(hi - lo) * rows + 0.5);
		if (!level)
			level = 1;
		for (int r = 0; r < level && r < rows; r++)
			canvas_putc(c, y + rows - 1 - r, x, CANVAS_STRIP, '#');
	}
}

static int chart_rows(int h)
{
	return h >= 16 ? CHART_ROWS : h >= 11 ? 3 : 0;
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct go_view *v = p;
	int chart = chart_rows(h), rows, x;
	const struct gowindow *w = v->ctx->gowin;
	double mins = w && w->change_ns ? w->change_ns / 60e9 : 0;
	uint64_t end = w ? w->end_ns : 0;

	if (h <= 0)
		return;
	draw_title(v, c, y);
	if (h < 3 || !shown_proc(v) || shown_proc(v)->p.error)
		return;
	draw_chart(v, c, y + 2, chart);
	y += 2 + chart;
	h -= 2 + chart;
	if (h < 2)
		return;
	canvas_fill(c, y, 0, c->w, CANVAS_TITLE, ' ');
	x = 0;
	canvas_put_fit(c, y, x, 7, v->by_growth ? CANVAS_TITLE : CANVAS_TITLE_SORT, "COUNT",
		       CANVAS_RIGHT);
	x += 8;
	canvas_put_fit(c, y, x, 8, v->by_growth ? CANVAS_TITLE_SORT : CANVAS_TITLE, "CHANGE/m",
		       CANVAS_RIGHT);
	x += 9;
	canvas_put_fit(c, y, x, 7, CANVAS_TITLE, "WAIT", CANVAS_RIGHT);
	x += 8;
	canvas_put_fit(c, y, x, 16, CANVAS_TITLE, "STATE", 0);
	x += 17;
	if (c->w - x > 60) {
		canvas_put_fit(c, y, x, 24, CANVAS_TITLE, "CREATED BY", 0);
		x += 25;
	}
	canvas_put(c, y, x, c->w - x, CANVAS_TITLE, "WHERE (innermost first)");
	rows = h - 1;
	if (!v->nr) {
		canvas_put(c, y + 1, 1, -1, CANVAS_DIM,
			   v->filter[0] ? "nothing matches (/ filter)" : "no goroutines");
		return;
	}
	view_scroll(v->cur, &v->top, v->nr, rows);
	for (int i = 0; i < rows && v->top + i < v->nr; i++) {
		const struct grow_row *r = &v->rows[v->top + i];
		char a[32], b[32], age[32] = "";
		int yy = y + 1 + i;

		snprintf(a, sizeof(a), "%u", r->count);
		if (mins > 0)
			snprintf(b, sizeof(b), "%+.1f", r->change / mins);
		else
			snprintf(b, sizeof(b), "-");
		if (r->oldest_ns && end > r->oldest_ns)
			fmt_age(age, sizeof(age), (end - r->oldest_ns) / 1e9);
		x = 0;
		canvas_put_fit(c, yy, x, 7, CANVAS_DEFAULT, a, CANVAS_RIGHT);
		x += 8;
		canvas_put_fit(c, yy, x, 8, r->change > 0 ? CANVAS_HOT : CANVAS_DEFAULT, b,
			       CANVAS_RIGHT);
		x += 9;
		canvas_put_fit(c, yy, x, 7, CANVAS_DEFAULT, age, CANVAS_RIGHT);
		x += 8;
		canvas_put_fit(c, yy, x, 16, CANVAS_DEFAULT, r->state, 0);
		x += 17;
		if (c->w - x > 60) {
			canvas_put_fit(c, yy, x, 24, CANVAS_DEFAULT, r->creator, 0);
			x += 25;
		}
		canvas_put_fit(c, yy, x, c->w - x, CANVAS_DEFAULT, r->where, 0);
		if (v->top + i == v->cur)
			canvas_set_role(c, yy, 0, c->w, CANVAS_SELECTED);
	}
}

/* The group as a drill-down's target: its process's goroutines, its stack selected, its
 * creator; the stack view counts them (s), the flame weighs their time (Enter). */
static void set_target(struct go_view *v, bool flame)
{
	struct view_target *t = &v->ctx->target;
	const struct grow_row *r = &v->rows[v->cur];
	const struct go_group *grp = goroutines_group(model_goroutines(v->ctx->model), r->group);
	const struct stacks *st = v->ctx->stacks;
	uint32_t nr;
	const uint32_t *frames = stacks_frames(st, grp->stack, &nr);

	memset(t, 0, sizeof(*t));
	t->go = VIEW_GO_GOROUTINES;
	t->filter.thread = CALLTREE_NONE;
	t->filter.pid = grp->pid;
	if (grp->created_by != GO_GROUP_NONE) {
		const struct frame *cb = stacks_frame(st, grp->created_by);

		/* by name: the model's budget may renumber frames while the view is open */
		t->created_by = cb->function;
		t->created_file = cb->file;
		t->created_line = cb->line;
	}
	if (flame) /* the flame's title says "goroutines of" */
		snprintf(t->what, sizeof(t->what), "%s (%u)", process_name(v), grp->pid);
	else
		snprintf(t->what, sizeof(t->what), "%s (%u) %s", process_name(v), grp->pid,
			 r->state);
	for (uint32_t j = 0; j < nr && j < VIEW_PATH_MAX; j++)
		t->path[t->path_len++] = stacks_frame(st, frames[j])->function;
}

/* The next Go process (p). */
static void next_pid(struct go_view *v)
{
	const struct gowindow *w = v->ctx->gowin;

	if (!w || !w->nr_procs)
		return;
	for (size_t i = 0; i < w->nr_procs; i++) {
		if (w->procs[i].p.pid != v->pid)
			continue;
		v->pid = w->procs[(i + 1) % w->nr_procs].p.pid;
		v->pid_chosen = true;
		return;
	}
	v->pid = w->procs[0].p.pid;
	v->pid_chosen = true;
}

static int key(void *p, int k)
{
	struct go_view *v = p;
	int page = v->h - 4 - chart_rows(v->h) > 1 ? v->h - 4 - chart_rows(v->h) : 1;

	if (view_move(k, &v->cur, v->nr, page)) {
		remember_cursor(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	switch (k) {
	case TERM_KEY_ENTER:
		if (!v->nr)
			return VIEW_HANDLED;
		set_target(v, true);
		return VIEW_HANDLED | VIEW_OPEN_FLAME;
	case 's':
		if (!v->nr)
			return VIEW_HANDLED;
		set_target(v, false);
		return VIEW_HANDLED | VIEW_OPEN_STACK;
	case 'c':
		v->by_growth = !v->by_growth;
		break;
	case 'a':
		v->show_system = !v->show_system;
		break;
	case 'p':
		next_pid(v);
		v->cur = v->top = 0;
		v->have_sel = false;
		break;
	default:
		return VIEW_IGNORED;
	}
	remember_cursor(v);
	update(v);
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void resize(void *p, int w, int h)
{
	struct go_view *v = p;

	v->w = w;
	v->h = h;
}

static void search(void *p, const char *text)
{
	struct go_view *v = p;

	snprintf(v->filter, sizeof(v->filter), "%s", text);
	remember_cursor(v);
	update(v);
}

static const struct view_hint hints[] = {
	{ "Enter", "Flame" },
	{ "s", "Stack" },
	{ "c", "Sort" },
	{ "a", "Runtime's" },
	{ "p", "Process" },
	{ "/", "Filter" },
	{ NULL },
};

const struct view_ops view_goroutines_ops = {
	.name = "goroutines",
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
