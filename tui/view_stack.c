// SPDX-License-Identifier: GPL-2.0-only
/*
 * The stack view: the stacks through a selection (a thread, a process, a function or a flame
 * frame), each frame with module, function and file:line, and its samples; above them the
 * callers and callees of the selected function, or a thread's top functions. Enter on any
 * function line goes to that function; Esc comes back.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "model/calltree.h"
#include "model/goroutines.h"
#include "model/gowindow.h"
#include "model/stacks.h"
#include "model/threads.h"
#include "model/wall.h"
#include "model/window.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

#define BACK_MAX 32
#define MAX_STACKS 40
#define MAX_FUNCS 10

enum line_kind {
	LINE_TEXT,    /* a section title */
	LINE_FUNC,    /* a function with its samples (callers, callees, top functions) */
	LINE_STACK,   /* "stack 2 of 9" with the stack's samples */
	LINE_FRAME,   /* one frame of a stack */
	LINE_BLANK,
};

struct line {
	enum line_kind kind;
	const char *name; /* function, for LINE_FUNC and LINE_FRAME */
	uint32_t frame;   /* CALLTREE_NONE when none */
	uint64_t count;
	uint64_t self;    /* LINE_FUNC: also the self samples, when shown */
	bool has_self;
	char text[200];   /* LINE_TEXT, LINE_STACK */
};

struct stack_view {
	struct view_ctx *ctx;
	struct view_target back[BACK_MAX]; /* back[depth - 1] is shown */
	int depth;
	struct calltree ct;
	struct line *lines;
	size_t nr, cap;
	size_t cur, top;
	uint64_t sel_total; /* samples through the selection (KiB, ns) */
	uint64_t whole;     /* samples in the window (KiB, ns) */
	uint64_t div;       /* what a shown unit is: 1, or 1e6 (ns shown in ms) */
	struct tick_count *off; /* heap growth in KiB, for a heap target */
	size_t cap_off;
	struct wall wall;   /* off-CPU or wall time, for such a target */
	int w, h;
	bool have_files;
	bool have_self;
};

static void *create(struct view_ctx *ctx)
{
	struct stack_view *v = xcalloc(1, sizeof(*v));

	v->ctx = ctx;
	v->div = 1;
	calltree_init(&v->ct);
	wall_init(&v->wall);
	return v;
}

static void destroy(void *p)
{
	struct stack_view *v = p;

	if (!v)
		return;
	calltree_fini(&v->ct);
	wall_fini(&v->wall);
	free(v->lines);
	free(v->off);
	free(v);
}

static struct view_target *target(struct stack_view *v)
{
	return &v->back[v->depth - 1];
}

static struct line *add(struct stack_view *v, enum line_kind kind)
{
	v->lines = xgrow(v->lines, &v->cap, v->nr + 1, sizeof(*v->lines));
	memset(&v->lines[v->nr], 0, sizeof(*v->lines));
	v->lines[v->nr].kind = kind;
	v->lines[v->nr].frame = CALLTREE_NONE;
	return &v->lines[v->nr++];
}

static void __attribute__((format(printf, 2, 3))) add_text(struct stack_view *v,
							   const char *fmt, ...)
{
	struct line *l = add(v, LINE_TEXT);
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(l->text, sizeof(l->text), fmt, ap);
	va_end(ap);
}

/* Function lines; an entry named self_of is that function's own samples: "(self)". */
static void add_funcs(struct stack_view *v, const struct calltree_func *f, size_t nr,
		      bool with_self, const char *self_of)
{
	for (size_t i = 0; i < nr && i < MAX_FUNCS; i++) {
		struct line *l = add(v, LINE_FUNC);

		l->name = f[i].name;
		if (self_of && f[i].name == self_of)
			snprintf(l->text, sizeof(l->text), "(self)");
		l->frame = f[i].frame;
		l->count = f[i].total ? f[i].total : f[i].self;
		l->self = f[i].self;
		l->has_self = with_self;
		v->have_self |= with_self;
	}
	if (!nr)
		add_text(v, "  %s", "(none)");
}

/* Is node's stack through the selection? */
static bool through(const struct stack_view *v, uint32_t n, uint32_t path_node)
{
	const struct view_target *t = &v->back[v->depth - 1];

	if (path_node != CALLTREE_NONE)
		return calltree_is_under(&v->ct, n, path_node);
	if (!t->function)
		return true;
	for (; n && n != CALLTREE_NONE; n = v->ct.nodes[n].parent)
		if (v->ct.nodes[n].name == t->function)
			return true;
	return false;
}

static const struct stack_view *sort_view;

static int by_self(const void *a, const void *b)
{
	const struct calltree_node *x = &sort_view->ct.nodes[*(const uint32_t *)a];
	const struct calltree_node *y = &sort_view->ct.nodes[*(const uint32_t *)b];

	if (x->self != y->self)
		return x->self > y->self ? -1 : 1;
	return *(const uint32_t *)a < *(const uint32_t *)b ? -1 : 1;
}

static void add_stacks(struct stack_view *v, uint32_t path_node)
{
	uint32_t *leaves = xmalloc((v->ct.nr + 1) * sizeof(*leaves));
	size_t nr = 0;

	v->sel_total = 0;
	for (uint32_t n = 0; n < v->ct.nr; n++) {
		if (!v->ct.nodes[n].self || !through(v, n, path_node))
			continue;
		leaves[nr++] = n;
		v->sel_total += v->ct.nodes[n].self;
	}
	sort_view = v;
	if (nr)
		qsort(leaves, nr, sizeof(*leaves), by_self);
	sort_view = NULL;
	add(v, LINE_BLANK);
	add_text(v, "%zu stack%s, leaf first", nr, nr == 1 ? "" : "s");
	for (size_t i = 0; i < nr && i < MAX_STACKS; i++) {
		struct line *l = add(v, LINE_STACK);

		snprintf(l->text, sizeof(l->text), "#%zu", i + 1);
		l->count = v->ct.nodes[leaves[i]].self;
		for (uint32_t n = leaves[i]; n; n = v->ct.nodes[n].parent) {
			const struct frame *f;

			l = add(v, LINE_FRAME);
			l->name = v->ct.nodes[n].name;
			l->frame = v->ct.nodes[n].frame;
			l->count = v->ct.nodes[n].total;
			f = stacks_frame(v->ctx->stacks, l->frame);
			if (f && f->file)
				v->have_files = true;
		}
	}
	if (nr > MAX_STACKS) {
		add_text(v, "... and %zu more", nr - MAX_STACKS);
	}
	free(leaves);
}

static bool selectable(const struct line *l)
{
	return l->kind == LINE_FUNC || l->kind == LINE_FRAME;
}

static void rebuild(struct stack_view *v)
{
	const struct view_target *t;
	const struct window *w = v->ctx->win;
	struct calltree_func *f;
	const char *keep = v->cur < v->nr ? v->lines[v->cur].name : NULL;
	size_t n;
	uint32_t path_node = CALLTREE_NONE, matched;

	v->nr = 0;
	v->have_files = false;
	v->have_self = false;
	v->div = 1;
	if (!v->depth)
		return;
	t = target(v);
	if (t->go) {
		/* goroutines of the process now, or its Go heap in KiB, by stack */
		const struct gowindow *gw = v->ctx->gowin;
		uint32_t thread = threads_find(v->ctx->threads, t->filter.pid);
		size_t n = !gw ? 0 : t->go == VIEW_GO_HEAP ? gw->nr_profile : gw->nr_groups, k = 0;

		v->off = xgrow(v->off, &v->cap_off, n + 1, sizeof(*v->off));
		v->whole = 0;
		for (size_t i = 0; i < n && thread != UINT32_MAX; i++) {
			uint64_t count;
			uint32_t stack;

			if (t->go == VIEW_GO_HEAP) {
				const struct tick_goheap *e = &gw->profile[i];

				if (e->kind != GOHEAP_HEAP || e->pid != t->filter.pid || e->v[1] <= 0)
					continue;
				count = ((uint64_t)e->v[1] + 1023) / 1024;
				stack = e->stack;
			} else {
				const struct go_group *g = goroutines_group(
					model_goroutines(v->ctx->model), gw->groups[i].group);

				if (!g || g->pid != t->filter.pid || !gw->groups[i].count)
					continue;
				count = gw->groups[i].count;
				stack = g->stack;
			}
			v->off[k++] = (struct tick_count){ .thread = thread, .stack = stack,
							   .count = count };
			v->whole += count;
		}
		calltree_build(&v->ct, v->ctx->stacks, v->ctx->threads, v->off, k, &t->filter);
	} else if (t->heap) {
		/* heap bytes in KiB (at least 1 for any growth), like samples; growth only */
		const struct tick *tot = model_total(v->ctx->model);
		const struct tick_heap *src = t->heap == VIEW_HEAP_OUTSTANDING ? tot->allocs
									 : w->heap;
		size_t n = t->heap == VIEW_HEAP_OUTSTANDING ? tot->nr_allocs : w->nr_heap, k = 0;

		v->off = xgrow(v->off, &v->cap_off, n + 1, sizeof(*v->off));
		v->whole = 0;
		for (size_t i = 0; i < n; i++) {
			if (src[i].bytes <= 0)
				continue;
			v->off[k] = (struct tick_count){
				.thread = src[i].thread,
				.stack = src[i].stack,
				.count = ((uint64_t)src[i].bytes + 1023) / 1024,
			};
			v->whole += v->off[k++].count;
		}
		calltree_build(&v->ct, v->ctx->stacks, v->ctx->threads, v->off, k, &t->filter);
	} else if (t->metric != WALL_CPU) {
		/* ns, shown in ms; shares are of the scope's time */
		uint64_t period = v->ctx->freq_hz ? 1000000000ull / v->ctx->freq_hz : 0;
		uint64_t by[MODEL_STATE_NR];

		v->div = 1000000;
		wall_from_window(&v->wall, v->ctx->stacks, w, t->metric, period);
		wall_states(&v->wall, v->ctx->threads, &t->filter, by);
		v->whole = 0;
		for (int s = 0; s < MODEL_STATE_NR; s++)
			v->whole += by[s];
		calltree_build_items(&v->ct, v->ctx->stacks, v->ctx->threads, v->wall.items,
				     v->wall.nr, &t->filter);
	} else {
		v->whole = w->samples;
		calltree_build(&v->ct, v->ctx->stacks, v->ctx->threads, w->counts, w->nr_counts,
			       &t->filter);
	}
	if (t->path_len) {
		path_node = calltree_find(&v->ct, t->path, t->path_len, &matched);
		if (matched < t->path_len)
			path_node = CALLTREE_NONE; /* gone from the window: nothing goes through */
	}
	if (t->go == VIEW_GO_GOROUTINES && t->created_by) {
		/* where the go statement is, first: a title cannot hold it at 80 columns */
		if (t->created_file)
			add_text(v, "Created by %s  %s:%u", t->created_by, t->created_file,
				 t->created_line);
		else
			add_text(v, "Created by %s", t->created_by);
	}
	if (t->function) {
		add_text(v, "Callers of %s", t->function);
		n = calltree_callers(&v->ct, t->function, &f);
		add_funcs(v, f, n, false, NULL);
		free(f);
		add_text(v, "Callees of %s", t->function);
		n = calltree_callees(&v->ct, t->function, &f);
		add_funcs(v, f, n, false, t->function);
		free(f);
	} else {
		add_text(v, "%s", "Top functions (total, self)");
		n = calltree_functions(&v->ct, &f);
		add_funcs(v, f, n, true, NULL);
		free(f);
	}
	if (t->path_len && path_node == CALLTREE_NONE) {
		add(v, LINE_BLANK);
		add_text(v, "%s", "the frame has no samples in this window");
		v->sel_total = 0;
	} else {
		add_stacks(v, path_node);
	}
	/* The cursor stays on the same function when it is still there, else the first line
	 * that has one. */
	v->cur = v->nr;
	for (size_t i = 0; i < v->nr; i++) {
		if (!selectable(&v->lines[i]))
			continue;
		if (v->cur == v->nr)
			v->cur = i;
		if (keep && v->lines[i].name == keep) {
			v->cur = i;
			break;
		}
	}
	if (v->cur == v->nr)
		v->cur = 0;
}

static void update(void *p)
{
	rebuild(p);
}

static void enter(void *p)
{
	struct stack_view *v = p;

	if (v->depth == BACK_MAX) {
		memmove(v->back, v->back + 1, (BACK_MAX - 1) * sizeof(*v->back));
		v->depth--;
	}
	v->back[v->depth++] = v->ctx->target;
	v->cur = v->top = 0;
	v->nr = 0;
	rebuild(v);
}

/* What the counts are. */
static const char *unit(const struct view_target *t)
{
	if (t->go)
		return t->go == VIEW_GO_HEAP ? "KiB in use" : "goroutines";
	if (t->heap)
		return "KiB";
	return t->metric == WALL_OFFCPU ? "ms off-CPU" : t->metric == WALL_WALL ? "ms" : "samples";
}

/* A count in the unit shown: ns are rounded to ms, and any time at all shows as at least 1. */
static unsigned long long shown(const struct stack_view *v, uint64_t n)
{
	uint64_t q = (n + v->div / 2) / v->div;

	return q ? q : n ? 1 : 0;
}

static void draw_title(struct stack_view *v, struct canvas *c, int y)
{
	const struct view_target *t = target(v);
	char share[16];
	int x = 0;

	view_pct(share, sizeof(share), v->sel_total, v->whole);
	x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, "Stacks");
	if (t->function) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, " through ");
		x += canvas_put(c, y, x, c->w / 2, CANVAS_HEADER_VALUE, t->function);
	}
	x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, " of ");
	x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, t->what);
	canvas_printf(c, y, x, -1, CANVAS_DEFAULT, ": %llu %s, %s%%", shown(v, v->sel_total),
		      unit(t), share);
}

/* Column widths: function | module | file:line | samples | share. */
struct cols {
	int fn, mod, file;
};

static struct cols layout(const struct stack_view *v, int w)
{
	/* indent, a space after the function, samples (7) and share (8) */
	const int fixed = 4 + 1 + 7 + 8;
	struct cols k = { .mod = 18, .file = v->have_files ? 24 : 0 };

	if (w < 100 && k.file)
		k.file = 18;
	if (w - fixed - (k.mod + 1) - (k.file + 1) < 20)
		k.file = 0;
	if (w - fixed - (k.mod + 1) < 16)
		k.mod = 0;
	k.fn = w - fixed - (k.mod ? k.mod + 1 : 0) - (k.file ? k.file + 1 : 0);
	if (k.fn < 1)
		k.fn = 1;
	return k;
}

static void draw_line(struct stack_view *v, struct canvas *c, int y, const struct line *l,
		      const struct cols *k, bool selected)
{
	uint64_t whole = v->whole;
	const struct frame *f = l->frame != CALLTREE_NONE ? stacks_frame(v->ctx->stacks, l->frame)
							  : NULL;
	enum canvas_role role = CANVAS_DEFAULT;
	char num[32], share[16], file[256];
	int x = 4;

	switch (l->kind) {
	case LINE_BLANK:
		return;
	case LINE_TEXT:
		canvas_put(c, y, 0, -1, CANVAS_HEADER, l->text);
		return;
	case LINE_STACK:
		view_pct(share, sizeof(share), l->count, whole);
		canvas_printf(c, y, 2, -1, CANVAS_HEADER_VALUE, "%s  %llu %s, %s%%", l->text,
			      shown(v, l->count), unit(target(v)), share);
		if (selected)
			canvas_set_role(c, y, 0, c->w, CANVAS_SELECTED);
		return;
	case LINE_FUNC:
		x = 2;
		break;
	case LINE_FRAME:
		if (f && f->kind == FRAME_KERNEL)
			role = CANVAS_DIM;
		break;
	}
	canvas_put_fit(c, y, x, k->fn + (4 - x), role,
		       l->text[0] ? l->text : l->name ? l->name : "?", 0);
	x = 4 + k->fn + 1;
	if (k->mod) {
		canvas_put_fit(c, y, x, k->mod, CANVAS_DIM, f ? f->module : "", 0);
		x += k->mod + 1;
	}
	if (k->file) {
		file[0] = 0;
		if (f && f->file && f->line)
			snprintf(file, sizeof(file), "%s:%u", f->file, f->line);
		else if (f && f->file)
			snprintf(file, sizeof(file), "%s", f->file);
		/* Keep the end of a long path: the file name and line matter most. */
		if (canvas_width(c, file) > k->file) {
			const char *s = file + strlen(file);

			while (s > file && canvas_width(c, s - 1) < k->file)
				s--;
			canvas_putc(c, y, x, CANVAS_DIM, canvas_glyph(c, CANVAS_GLYPH_ELLIPSIS));
			canvas_put(c, y, x + 1, k->file - 1, CANVAS_DIM, s);
		} else {
			canvas_put(c, y, x, k->file, CANVAS_DIM, file);
		}
		x += k->file + 1;
	}
	snprintf(num, sizeof(num), "%llu", shown(v, l->count));
	canvas_put_fit(c, y, x, 7, CANVAS_DEFAULT, num, CANVAS_RIGHT);
	view_pct(share, sizeof(share), l->count, whole);
	snprintf(num, sizeof(num), "%s%%", share);
	canvas_put_fit(c, y, x + 7, 8, CANVAS_DEFAULT, num, CANVAS_RIGHT);
	if (l->has_self) {
		view_pct(share, sizeof(share), l->self, whole);
		canvas_printf(c, y, x + 15, -1, CANVAS_DIM, " self %s%%", share);
	}
	if (selected)
		canvas_set_role(c, y, 0, c->w, CANVAS_SELECTED);
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct stack_view *v = p;
	struct cols k;
	int rows = h - 1;

	if (h <= 0 || !v->depth)
		return;
	draw_title(v, c, y);
	k = layout(v, c->w - (v->have_self ? 12 : 0));
	view_scroll(v->cur, &v->top, v->nr, rows);
	for (int i = 0; i < rows && v->top + i < v->nr; i++)
		draw_line(v, c, y + 1 + i, &v->lines[v->top + i], &k, v->top + i == v->cur);
}

/* Moves the cursor to the next selectable line in direction dir, up to n times. */
static void step(struct stack_view *v, int dir, size_t n)
{
	size_t at = v->cur;

	while (n--) {
		size_t i = at;

		for (;;) {
			if ((dir < 0 && i == 0) || (dir > 0 && i + 1 >= v->nr))
				goto out;
			i += dir;
			if (selectable(&v->lines[i]))
				break;
		}
		at = i;
	}
out:
	v->cur = at;
	/* Show the section title above the first line. */
	if (dir < 0 && v->cur < v->top + 1 && v->top)
		v->top = v->cur ? v->cur - 1 : 0;
}

static int key(void *p, int k)
{
	struct stack_view *v = p;
	size_t page = v->h > 2 ? v->h - 2 : 1;
	const struct line *l;

	switch (k) {
	case TERM_KEY_UP:
		step(v, -1, 1);
		break;
	case TERM_KEY_DOWN:
		step(v, 1, 1);
		break;
	case TERM_KEY_PGUP:
		step(v, -1, page);
		break;
	case TERM_KEY_PGDN:
		step(v, 1, page);
		break;
	case TERM_KEY_HOME:
		v->cur = v->nr;
		step(v, -1, v->nr);
		v->top = 0;
		break;
	case TERM_KEY_END:
		step(v, 1, v->nr);
		break;
	case TERM_KEY_ENTER:
		if (v->cur >= v->nr || !selectable(&v->lines[v->cur]))
			return VIEW_HANDLED;
		l = &v->lines[v->cur];
		v->ctx->target = *target(v);
		v->ctx->target.path_len = 0;
		v->ctx->target.function = l->name;
		enter(v);
		break;
	case TERM_KEY_ESC:
	case TERM_KEY_BACKSPACE:
		if (v->depth <= 1) {
			v->depth = 0;
			return VIEW_HANDLED | VIEW_BACK;
		}
		v->depth--;
		v->cur = v->top = 0;
		v->nr = 0;
		rebuild(v);
		break;
	default:
		return VIEW_IGNORED;
	}
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void resize(void *p, int w, int h)
{
	struct stack_view *v = p;

	v->w = w;
	v->h = h;
}

static const struct view_hint hints[] = {
	{ "Enter", "Function" }, { "Esc", "Back" }, { NULL },
};

const struct view_ops view_stack_ops = {
	.name = "stack",
	.hints = hints,
	.create = create,
	.destroy = destroy,
	.update = update,
	.draw = draw,
	.key = key,
	.resize = resize,
	.enter = enter,
};
