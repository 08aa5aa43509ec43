// SPDX-License-Identifier: GPL-2.0-only
/*
 * The flame view: an ASCII flame graph of the window, one row per stack depth, widths
 * proportional to one of three metrics (m cycles them, model/wall.h): on-CPU samples, off-CPU
 * time (the state as the leaf: [lock], [io], [runnable], ...) or wall time (both on one axis,
 * in seconds). The selection and the zoom are paths of function names, so they stay on the same
 * frame while the graph changes under them from tick to tick, and from metric to metric. A strip
 * at the bottom shows the selected frame's share tick by tick, newest on the right.
 *
 * Shown by its key (2) it is every thread's flame in the metric last chosen there (cpu at
 * first); a drill-down (VIEW_OPEN_FLAME: Enter on a thread, a process or a block hot spot)
 * shows that scope alone, in the metric asked for (wall), until 2 is pressed again.
 *
 * A drill-down from a goroutine group (view_target.go) shows its process's goroutines instead
 * of its threads, the group's stack selected (model/gowindow.h): in wall time (the tick lengths
 * each goroutine lived through: fgprof's view, where a channel receive a thousand goroutines
 * sit in is as wide as the time they sat there) or, m, counted now (pprof's goroutine profile).
 */
#include <stdio.h>
#include <string.h>

#include "model/calltree.h"
#include "model/goroutines.h"
#include "model/gowindow.h"
#include "model/model.h"
#include "model/stacks.h"
#include "model/wall.h"
#include "model/window.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

#define STRIP_CAP 1024
#define MIN_BOX 2 /* columns */
#define STRIP_LABEL "share/s "

/* A frame as laid out: columns [x0, x1) on row rel (depth below the zoomed frame). */
struct box {
	uint32_t node;
	int x0, x1;
	uint32_t rel;
};

struct strip_cell {
	uint64_t seq;
	float share;
	bool valid;
};

struct flame_view {
	struct view_ctx *ctx;
	enum wall_metric metric;
	enum wall_metric global_metric; /* what 2 shows */
	bool scoped;                    /* a drill-down: only scope.filter's threads */
	struct view_target scope;       /* its filter and what */
	bool go;                        /* scope.go: the goroutines of process scope.filter.pid */
	enum gowin_weight go_weight;    /* their time, or how many now */
	struct calltree_item *go_items; /* the window's, then one tick's for the strip */
	size_t nr_go_items, cap_go_items;
	uint64_t go_by_status[GOROUTINES_NR];
	struct wall wall;               /* the window as items of the metric */
	struct wall tick_wall;          /* one tick's, for the strip */
	uint64_t by_state[MODEL_STATE_NR]; /* the scope's total by state */
	struct calltree ct;
	/* What the user chose, as paths: they may be deeper than what the window has now. */
	const char *sel[VIEW_PATH_MAX];
	uint32_t sel_len;
	const char *zoom[VIEW_PATH_MAX];
	uint32_t zoom_len;
	/* Where Down goes back to after Up. */
	const char *trail[VIEW_PATH_MAX];
	uint32_t trail_len;
	/* The paths resolved against ct. */
	uint32_t sel_node, zoom_node;
	bool root_bottom;
	char search[128];
	bool *marks;
	size_t cap_marks;
	uint64_t match_total;
	uint32_t scroll;
	int w, h;
	struct box *boxes;
	size_t nr_boxes, cap_boxes;
	uint32_t *box_of; /* node → box index, CALLTREE_NONE when too narrow */
	size_t cap_box_of;
	uint32_t max_rel;
	/*
	 * The previous tick's tree and layout. A frame keeps its columns while its exact edges
	 * stay within a column of them, so edges do not flicker between two columns from tick
	 * to tick: less to redraw, less to send over a slow link.
	 */
	struct calltree prev_ct;
	struct box *prev_boxes;
	size_t cap_prev_boxes;
	uint32_t *prev_box_of;
	size_t cap_prev_box_of;
	bool have_prev; /* prev_* is a layout at this width and zoom */
	int laid_w;
	/* the strip: shares by tick seq for strip_path */
	struct calltree_matcher mt;
	const char *strip_path[VIEW_PATH_MAX];
	uint32_t strip_len;
	bool strip_set;
	struct strip_cell strip[STRIP_CAP];
};

static void *create(struct view_ctx *ctx)
{
	struct flame_view *v = xcalloc(1, sizeof(*v));

	v->ctx = ctx;
	v->scope.filter.thread = CALLTREE_NONE;
	wall_init(&v->wall);
	wall_init(&v->tick_wall);
	calltree_init(&v->ct);
	calltree_init(&v->prev_ct);
	calltree_build(&v->ct, NULL, NULL, NULL, 0, NULL); /* just the root, until a window */
	calltree_matcher_init(&v->mt);
	return v;
}

static void destroy(void *p)
{
	struct flame_view *v = p;

	if (!v)
		return;
	wall_fini(&v->wall);
	wall_fini(&v->tick_wall);
	calltree_fini(&v->ct);
	calltree_fini(&v->prev_ct);
	calltree_matcher_fini(&v->mt);
	free(v->go_items);
	free(v->marks);
	free(v->boxes);
	free(v->box_of);
	free(v->prev_boxes);
	free(v->prev_box_of);
	free(v);
}

static const struct calltree_node *node(const struct flame_view *v, uint32_t n)
{
	return &v->ct.nodes[n];
}

/* Whose counts go into the tree: goroutine items are the process's already. */
static const struct calltree_filter *filter(const struct flame_view *v)
{
	return v->scoped && !v->go ? &v->scope.filter : NULL;
}

/* What one on-CPU sample stands for, in the wall metric. */
static uint64_t period_ns(const struct flame_view *v)
{
	return v->ctx->freq_hz ? 1000000000ull / v->ctx->freq_hz : 0;
}

static uint32_t graph_rows(const struct flame_view *v)
{
	return v->h > 2 ? v->h - 2 : 0;
}

/* Sets a stored path from a node. */
static uint32_t path_of(const struct flame_view *v, uint32_t n, const char **path)
{
	uint32_t d = calltree_path(&v->ct, n, path, VIEW_PATH_MAX);

	return d < VIEW_PATH_MAX ? d : VIEW_PATH_MAX;
}

static bool is_prefix(const char *const *a, uint32_t na, const char *const *b, uint32_t nb)
{
	if (na > nb)
		return false;
	for (uint32_t i = 0; i < na; i++)
		if (a[i] != b[i])
			return false;
	return true;
}

/* The user moved the selection to n. */
static void select_node(struct flame_view *v, uint32_t n)
{
	v->sel_node = n;
	v->sel_len = path_of(v, n, v->sel);
	if (!is_prefix(v->sel, v->sel_len, v->trail, v->trail_len)) {
		memcpy(v->trail, v->sel, v->sel_len * sizeof(*v->sel));
		v->trail_len = v->sel_len;
	}
}

/* An edge at exact column e: where it was (old, or -1) while that is within a column. */
static int edge(double e, int old)
{
	if (old >= 0 && old > e - 1.0 && old < e + 1.0)
		return old;
	return (int)e;
}

/*
 * Lays out node n, whose samples start at s0 of the zoomed frame's z, inside columns
 * [lo, hi) (its parent's), starting at or after *min (where its left sibling ended). old is
 * the same frame in the previous tick's tree, or CALLTREE_NONE.
 */
static void lay(struct flame_view *v, uint32_t n, uint32_t old, uint64_t s0, uint64_t z,
		uint32_t rel, int lo, int hi, int *min)
{
	const struct calltree_node *nd = node(v, n);
	const struct box *ob = NULL;
	int x0, x1, child_min;
	uint64_t s = s0;

	if (old != CALLTREE_NONE && v->prev_box_of[old] != CALLTREE_NONE)
		ob = &v->prev_boxes[v->prev_box_of[old]];
	x0 = edge((double)s0 * v->w / z, ob ? ob->x0 : -1);
	x1 = edge((double)(s0 + nd->total) * v->w / z, ob ? ob->x1 : -1);
	if (x0 < lo)
		x0 = lo;
	if (x0 < *min)
		x0 = *min;
	if (x1 > hi)
		x1 = hi;
	/* Narrower than a letter and a gap: left out (zoom in to see it), as flamegraph.pl
	 * leaves out frames under its minimum width. Dots for them only clutter the graph,
	 * and make it churn from tick to tick. */
	if (x1 - x0 < MIN_BOX)
		return;
	*min = x1;
	v->boxes = xgrow(v->boxes, &v->cap_boxes, v->nr_boxes + 1, sizeof(*v->boxes));
	v->box_of[n] = v->nr_boxes;
	v->boxes[v->nr_boxes++] = (struct box){ .node = n, .x0 = x0, .x1 = x1, .rel = rel };
	if (rel > v->max_rel)
		v->max_rel = rel;
	child_min = x0;
	for (uint32_t c = nd->first_child; c != CALLTREE_NONE; c = node(v, c)->next_sibling) {
		uint32_t oc = old != CALLTREE_NONE
				      ? calltree_child(&v->prev_ct, old, node(v, c)->name)
				      : CALLTREE_NONE;

		lay(v, c, oc, s, z, rel + 1, x0, x1, &child_min);
		s += node(v, c)->total;
	}
}

/* Keeps the selection on a visible frame and on screen. */
static void scroll_to_sel(struct flame_view *v)
{
	uint32_t rows = graph_rows(v), rel;

	if (v->box_of[v->sel_node] == CALLTREE_NONE) {
		uint32_t n = v->sel_node;

		while (n != v->zoom_node && v->box_of[n] == CALLTREE_NONE)
			n = node(v, n)->parent;
		v->sel_node = n; /* the stored path stays: the frame may come back */
	}
	rel = node(v, v->sel_node)->depth - node(v, v->zoom_node)->depth;
	if (!rows)
		return;
	if (rel < v->scroll)
		v->scroll = rel;
	if (rel >= v->scroll + rows)
		v->scroll = rel - rows + 1;
	if (v->max_rel + 1 > rows) {
		if (v->scroll > v->max_rel + 1 - rows)
			v->scroll = v->max_rel + 1 - rows;
	} else {
		v->scroll = 0;
	}
}

/* Resolves the paths against the tree and lays it out for the current width; with_prev keeps
 * edges where the previous tick's layout had them (see edge()). */
static void relayout_with(struct flame_view *v, bool with_prev)
{
	uint32_t old_zoom = CALLTREE_NONE;
	uint64_t z;
	int min = 0;

	v->zoom_node = calltree_find(&v->ct, v->zoom, v->zoom_len, NULL);
	v->sel_node = calltree_find(&v->ct, v->sel, v->sel_len, NULL);
	if (!calltree_is_under(&v->ct, v->sel_node, v->zoom_node))
		v->sel_node = v->zoom_node;
	if (with_prev && v->have_prev && v->laid_w == v->w) {
		const char *path[VIEW_PATH_MAX];
		uint32_t len = path_of(v, v->zoom_node, path), matched;

		old_zoom = calltree_find(&v->prev_ct, path, len, &matched);
		/* Only when the old layout was of the same zoomed frame (its root row). */
		if (matched < len || v->prev_box_of[old_zoom] == CALLTREE_NONE ||
		    v->prev_boxes[v->prev_box_of[old_zoom]].rel != 0)
			old_zoom = CALLTREE_NONE;
	}
	v->box_of = xgrow(v->box_of, &v->cap_box_of, v->ct.nr, sizeof(*v->box_of));
	memset(v->box_of, 0xff, v->ct.nr * sizeof(*v->box_of));
	v->nr_boxes = 0;
	v->max_rel = 0;
	z = node(v, v->zoom_node)->total;
	if (z && v->w > 0)
		lay(v, v->zoom_node, old_zoom, 0, z, 0, 0, v->w, &min);
	v->laid_w = v->w;
	v->have_prev = true;
	scroll_to_sel(v);
}

static void relayout(struct flame_view *v)
{
	relayout_with(v, false);
}

static void research(struct flame_view *v)
{
	v->marks = xgrow(v->marks, &v->cap_marks, v->ct.nr, sizeof(*v->marks));
	v->match_total = calltree_search(&v->ct, v->search, v->marks);
}

/* Shares per tick of the selected path, from the newest tick of the window back. */
static void strip_update(struct flame_view *v)
{
	const struct model *m = v->ctx->model;
	const char *path[VIEW_PATH_MAX];
	uint32_t len = path_of(v, v->sel_node, path);
	size_t have = model_nr_ticks(m), n;
	const struct tick *newest;

	if (!v->strip_set || len != v->strip_len ||
	    memcmp(path, v->strip_path, len * sizeof(*path))) {
		memcpy(v->strip_path, path, len * sizeof(*path));
		v->strip_len = len;
		v->strip_set = true;
		calltree_matcher_set(&v->mt, v->strip_path, v->strip_len, filter(v));
		for (size_t i = 0; i < STRIP_CAP; i++)
			v->strip[i].valid = false;
	}
	if (!have || !v->ctx->win->nr_ticks)
		return;
	newest = model_tick(m, 0);
	n = v->w < STRIP_CAP ? v->w : STRIP_CAP;
	for (size_t i = 0; i < n && i <= v->ctx->last_seq; i++) {
		uint64_t seq = v->ctx->last_seq - i;
		const struct tick *t = seq <= newest->seq ? model_tick(m, newest->seq - seq) : NULL;
		struct strip_cell *sc = &v->strip[seq % STRIP_CAP];
		uint64_t hit, whole;

		if (!t)
			break;
		if (sc->valid && sc->seq == seq)
			continue;
		if (v->go) {
			size_t nr = gowindow_tick_items(m, newest->seq - seq, v->scope.filter.pid,
							&v->go_items, &v->cap_go_items);

			hit = calltree_matcher_count_items(&v->mt, v->ctx->stacks, v->ctx->threads,
							   v->go_items, nr, &whole);
			*sc = (struct strip_cell){ .seq = seq, .valid = true,
						   .share = whole ? (float)hit / whole : 0 };
			continue;
		}
		wall_from_tick(&v->tick_wall, v->ctx->stacks, t, v->metric, period_ns(v));
		hit = calltree_matcher_count_items(&v->mt, v->ctx->stacks, v->ctx->threads,
						   v->tick_wall.items, v->tick_wall.nr, &whole);
		*sc = (struct strip_cell){ .seq = seq, .valid = true,
					   .share = whole ? (float)hit / whole : 0 };
	}
}

/* The goroutines of the scope's process as items, and their total by status. */
static void go_update(struct flame_view *v)
{
	const struct gowindow *gw = v->ctx->gowin;

	v->nr_go_items = gowindow_items(v->ctx->model, gw ? gw->nr_ticks : 1,
					v->scope.filter.pid, v->go_weight, &v->go_items,
					&v->cap_go_items, v->go_by_status);
	calltree_build_items(&v->ct, v->ctx->stacks, v->ctx->threads, v->go_items,
			     v->nr_go_items, NULL);
}

static void update(void *p)
{
	struct flame_view *v = p;
	const struct window *w = v->ctx->win;

	struct calltree tmp_ct = v->prev_ct;
	struct box *tmp_boxes = v->prev_boxes;
	uint32_t *tmp_box_of = v->prev_box_of;
	size_t tmp_cap = v->cap_prev_boxes, tmp_cap_of = v->cap_prev_box_of;

	/* This tick's layout becomes the previous one. */
	v->prev_ct = v->ct;
	v->prev_boxes = v->boxes;
	v->cap_prev_boxes = v->cap_boxes;
	v->prev_box_of = v->box_of;
	v->cap_prev_box_of = v->cap_box_of;
	v->ct = tmp_ct;
	v->boxes = tmp_boxes;
	v->cap_boxes = tmp_cap;
	v->box_of = tmp_box_of;
	v->cap_box_of = tmp_cap_of;

	if (v->go) {
		go_update(v);
	} else {
		wall_from_window(&v->wall, v->ctx->stacks, w, v->metric, period_ns(v));
		wall_states(&v->wall, v->ctx->threads, filter(v), v->by_state);
		calltree_build_items(&v->ct, v->ctx->stacks, v->ctx->threads, v->wall.items,
				     v->wall.nr, filter(v));
	}
	research(v);
	relayout_with(v, true);
	strip_update(v);
}

static enum canvas_role box_role(const struct flame_view *v, uint32_t n)
{
	const struct calltree_node *nd = node(v, n);
	const struct frame *f;
	size_t h = 5381;

	if (n == v->sel_node)
		return CANVAS_FLAME_SEL;
	if (v->search[0] && v->marks[n])
		return CANVAS_FLAME_MATCH;
	f = nd->frame != CALLTREE_NONE ? stacks_frame(v->ctx->stacks, nd->frame) : NULL;
	if (!f || f->kind == FRAME_SPECIAL || f->kind == FRAME_UNKNOWN || f->kind == FRAME_JIT)
		return CANVAS_FLAME_OTHER;
	if (f->kind == FRAME_KERNEL)
		return CANVAS_FLAME_KERNEL;
	/* The colour follows the name, so a function keeps it from tick to tick. */
	for (const char *s = nd->name; *s; s++)
		h = h * 33 + (unsigned char)*s;
	return (h >> 3) & 1 ? CANVAS_FLAME_USER_B : CANVAS_FLAME_USER_A;
}

static void pct(char *buf, size_t len, uint64_t part, uint64_t whole)
{
	view_pct(buf, len, part, whole);
}

/* A node's amount in the metric's unit: "1234 samples", "1.25s". */
static void amount(const struct flame_view *v, char *buf, size_t len, uint64_t n)
{
	if (v->go && v->go_weight == GOWIN_COUNT)
		snprintf(buf, len, "%llu goroutine%s", (unsigned long long)n, n == 1 ? "" : "s");
	else if (v->go)
		view_duration(buf, len, n);
	else if (v->metric == WALL_CPU)
		snprintf(buf, len, "%llu samples", (unsigned long long)n);
	else
		view_duration(buf, len, n);
}

static const struct flame_view *sort_flame;

static int by_state_share(const void *a, const void *b)
{
	uint64_t x = sort_flame->by_state[*(const int *)a], y = sort_flame->by_state[*(const int *)b];

	if (x != y)
		return x > y ? -1 : 1;
	return *(const int *)a - *(const int *)b;
}

/* A state's name in the legend: the threads view's short ones where they differ. */
static const char *state_label(enum model_state s)
{
	if (s == MODEL_STATE_RUNNING)
		return "run";
	if (s == MODEL_STATE_RUNNABLE)
		return "runq";
	return model_state_name(s);
}

/* The scope's time by state, largest first: ": lock 45% run 25% io 25% sleep 5%". */
static int draw_states(struct flame_view *v, struct canvas *c, int y, int x)
{
	int order[MODEL_STATE_NR], n = 0;
	uint64_t whole = 0;

	for (int s = 0; s < MODEL_STATE_NR; s++) {
		whole += v->by_state[s];
		if (v->by_state[s])
			order[n++] = s;
	}
	sort_flame = v;
	qsort(order, n, sizeof(*order), by_state_share);
	sort_flame = NULL;
	for (int i = 0; i < n && x < c->w; i++) {
		double pct = 100.0 * v->by_state[order[i]] / whole;

		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, i ? " " : ": ");
		x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, state_label(order[i]));
		if (pct < 0.5)
			x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, " <1%");
		else
			x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, " %.0f%%", pct);
	}
	return x;
}

/* The goroutines' weight by status, largest first: ": waiting 99% running 1%". */
static int draw_go_states(struct flame_view *v, struct canvas *c, int y, int x)
{
	uint64_t whole = 0;
	bool done[GOROUTINES_NR] = { false };

	for (int s = 0; s < GOROUTINES_NR; s++)
		whole += v->go_by_status[s];
	for (int i = 0; i < GOROUTINES_NR && x < c->w && whole; i++) {
		int best = -1;
		double pct;

		for (int s = 0; s < GOROUTINES_NR; s++)
			if (!done[s] && v->go_by_status[s] &&
			    (best < 0 || v->go_by_status[s] > v->go_by_status[best]))
				best = s;
		if (best < 0)
			break;
		done[best] = true;
		pct = 100.0 * v->go_by_status[best] / whole;
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, i ? " " : ": ");
		x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, goroutines_status_name(best));
		if (pct < 0.5)
			x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, " <1%");
		else
			x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, " %.0f%%", pct);
	}
	return x;
}

/* What the widths are: "[cpu]", "[off-cpu]", "[wall]"; a goroutine scope's "[wall]" or
 * "[count]". */
static const char *metric_label(const struct flame_view *v)
{
	if (v->go)
		return v->go_weight == GOWIN_COUNT ? "count" : "wall";
	return wall_metric_name(v->metric);
}

static void draw_title(struct flame_view *v, struct canvas *c, int y)
{
	const struct calltree_node *sel = node(v, v->sel_node), *root = node(v, 0);
	char a[16], b[16], n[32];
	int x = 0;

	/* the metric and the scope first: what the widths are, and whose */
	x += canvas_printf(c, y, x, -1, CANVAS_HEADER_VALUE, "[%s]", metric_label(v));
	if (v->scoped) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, v->go ? " goroutines of " : " ");
		x += canvas_put(c, y, x, c->w / 3, CANVAS_DEFAULT, v->scope.what);
	}
	x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  ");
	if (!root->total) {
		canvas_put(c, y, x, -1, CANVAS_DIM,
			   v->go		     ? "no goroutines in this window"
			   : v->metric == WALL_CPU ? "no samples in this window yet"
						   : "no time in this window yet");
		return;
	}
	if (!v->sel_node && (v->go || v->metric != WALL_CPU) && !v->search[0]) {
		/* the root: where the time went, by state */
		amount(v, n, sizeof(n), root->total);
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, n);
		if (v->go)
			draw_go_states(v, c, y, x);
		else
			draw_states(v, c, y, x);
		return;
	}
	pct(a, sizeof(a), sel->total, root->total);
	pct(b, sizeof(b), sel->self, root->total);
	amount(v, n, sizeof(n), sel->total);
	x += canvas_put(c, y, x, c->w / 2, CANVAS_HEADER_VALUE, sel->name);
	x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, "  %s%%  %s  self %s%%", a, n, b);
	if (v->search[0]) {
		pct(a, sizeof(a), v->match_total, root->total);
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  /");
		x += canvas_put(c, y, x, 20, CANVAS_FLAME_MATCH, v->search);
		x += canvas_printf(c, y, x, -1, CANVAS_DEFAULT, " %s%%", a);
	}
	if (v->zoom_node) {
		x += canvas_put(c, y, x, -1, CANVAS_DEFAULT, "  zoom: ");
		x += canvas_put(c, y, x, -1, CANVAS_HEADER_VALUE, node(v, v->zoom_node)->name);
	}
	/* Deeper than the screen: which levels are shown. */
	if (v->max_rel + 1 > graph_rows(v) && graph_rows(v))
		canvas_printf(c, y, x, -1, CANVAS_DIM, "  levels %u-%u of %u", v->scroll + 1,
			      v->scroll + graph_rows(v), v->max_rel + 1);
}

static void draw_box(struct flame_view *v, struct canvas *c, int y, const struct box *b)
{
	enum canvas_role role = box_role(v, b->node);
	int w = b->x1 - b->x0;

	/* The last column is a gap, so neighbours stand apart even without colour. */
	canvas_put_fit(c, y, b->x0, w - 1, role, node(v, b->node)->name, 0);
}

/* The selected frame's share, tick by tick, newest on the right, scaled to the largest share
 * shown (the label says what that is). */
static void draw_strip(struct flame_view *v, struct canvas *c, int y)
{
	static const uint32_t bars[9] = { ' ', 0x2581, 0x2582, 0x2583, 0x2584,
					  0x2585, 0x2586, 0x2587, 0x2588 };
	static const char ascii[] = " .:-=+*#@";
	float max = 0;
	char label[48];
	int x0, n = 0;

	for (int i = 0; i < c->w && (uint64_t)i <= v->ctx->last_seq && v->ctx->win->nr_ticks;
	     i++, n++) {
		uint64_t seq = v->ctx->last_seq - i;
		const struct strip_cell *sc = &v->strip[seq % STRIP_CAP];

		if (!sc->valid || sc->seq != seq)
			break;
		if (sc->share > max)
			max = sc->share;
	}
	snprintf(label, sizeof(label), "share/s, top %.0f%% ", max * 100);
	x0 = canvas_put(c, y, 0, -1, CANVAS_DIM, n ? label : "share/s ");
	for (int i = 0; i < n && x0 + i < c->w; i++) {
		const struct strip_cell *sc = &v->strip[(v->ctx->last_seq - i) % STRIP_CAP];
		int level = 0;

		if (sc->share > 0)
			level = 1 + (int)(sc->share / max * 7.999f);
		if (level > 8)
			level = 8;
		canvas_putc(c, y, c->w - 1 - i, CANVAS_STRIP,
			    c->ascii ? (uint32_t)ascii[level] : bars[level]);
	}
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct flame_view *v = p;
	uint32_t rows = graph_rows(v);

	if (h <= 0)
		return;
	draw_title(v, c, y);
	for (size_t i = 0; i < v->nr_boxes; i++) {
		const struct box *b = &v->boxes[i];
		int row;

		if (b->rel < v->scroll || b->rel >= v->scroll + rows)
			continue;
		if (v->root_bottom)
			row = y + rows - (b->rel - v->scroll);
		else
			row = y + 1 + (b->rel - v->scroll);
		draw_box(v, c, row, b);
	}
	if (h >= 3)
		draw_strip(v, c, y + h - 1);
}

/* The child to go down to: back along the trail, else the widest visible one. */
static uint32_t child_to(const struct flame_view *v)
{
	uint32_t depth = node(v, v->sel_node)->depth, best = CALLTREE_NONE;

	if (depth < v->trail_len && is_prefix(v->sel, v->sel_len, v->trail, v->trail_len)) {
		uint32_t c = calltree_child(&v->ct, v->sel_node, v->trail[depth]);

		if (c != CALLTREE_NONE && v->box_of[c] != CALLTREE_NONE)
			return c;
	}
	for (uint32_t c = node(v, v->sel_node)->first_child; c != CALLTREE_NONE;
	     c = node(v, c)->next_sibling)
		if (v->box_of[c] != CALLTREE_NONE &&
		    (best == CALLTREE_NONE || node(v, c)->total > node(v, best)->total))
			best = c;
	return best;
}

/* The box beside the selection on its row, in direction dir. */
static uint32_t beside(const struct flame_view *v, int dir)
{
	const struct box *cur = &v->boxes[v->box_of[v->sel_node]];
	const struct box *best = NULL;

	for (size_t i = 0; i < v->nr_boxes; i++) {
		const struct box *b = &v->boxes[i];

		if (b->rel != cur->rel || b == cur)
			continue;
		if (dir < 0 && b->x0 < cur->x0 && (!best || b->x0 > best->x0))
			best = b;
		if (dir > 0 && b->x0 > cur->x0 && (!best || b->x0 < best->x0))
			best = b;
	}
	return best ? best->node : CALLTREE_NONE;
}

/* A box's place in reading order: by row, then column. */
static long long order(const struct box *b)
{
	return (long long)b->rel << 20 | b->x0;
}

/* The next (dir > 0) or previous matching frame, in reading order. */
static uint32_t next_match(const struct flame_view *v, int dir)
{
	const struct box *cur = &v->boxes[v->box_of[v->sel_node]], *best = NULL;

	for (size_t i = 0; i < v->nr_boxes; i++) {
		const struct box *b = &v->boxes[i];

		if (!v->marks[b->node] || b == cur)
			continue;
		if (dir > 0 && order(b) > order(cur) && (!best || order(b) < order(best)))
			best = b;
		if (dir < 0 && order(b) < order(cur) && (!best || order(b) > order(best)))
			best = b;
	}
	return best ? best->node : CALLTREE_NONE;
}

static void open_stack(struct flame_view *v)
{
	struct view_target *t = &v->ctx->target;

	memset(t, 0, sizeof(*t));
	t->filter = v->scoped ? v->scope.filter : (struct calltree_filter){ .thread = CALLTREE_NONE };
	t->metric = v->metric;
	t->path_len = path_of(v, v->sel_node, t->path);
	t->function = v->sel_node ? node(v, v->sel_node)->name : NULL;
	snprintf(t->what, sizeof(t->what), "%s", v->scoped ? v->scope.what : "all threads");
	if (v->go) {
		/* the stack view counts a process's goroutines by group stack, as they are now;
		 * the creator is the group's while the group's stack is what is selected */
		bool group = t->path_len == v->scope.path_len &&
			     !memcmp(t->path, v->scope.path, t->path_len * sizeof(*t->path));

		t->go = VIEW_GO_GOROUTINES;
		if (group) {
			t->created_by = v->scope.created_by;
			t->created_file = v->scope.created_file;
			t->created_line = v->scope.created_line;
		}
	}
}

/* The tree changed under the paths (another metric or scope): lay it out afresh. */
static void restart(struct flame_view *v)
{
	v->have_prev = false;
	v->strip_set = false;
	v->scroll = 0;
	update(v);
}

static void set_metric(struct flame_view *v, enum wall_metric m)
{
	v->metric = m;
	if (!v->scoped)
		v->global_metric = m;
	restart(v);
}

/* Shown: for a drill-down's target (a scope, in its metric, its path selected), or by its key
 * (every thread, in the metric last chosen there). */
static void enter(void *p)
{
	struct flame_view *v = p;
	const struct view_target *t = &v->ctx->target;

	if (v->ctx->drill) {
		v->scoped = true;
		v->scope = *t;
		v->metric = t->metric;
		v->go = t->go == VIEW_GO_GOROUTINES;
		v->go_weight = GOWIN_TIME;
		v->sel_len = t->path_len;
		memcpy(v->sel, t->path, t->path_len * sizeof(*v->sel));
		memcpy(v->trail, t->path, t->path_len * sizeof(*v->trail));
		v->trail_len = t->path_len;
		v->zoom_len = 0;
	} else if (v->scoped) {
		v->scoped = false;
		v->go = false;
		v->metric = v->global_metric;
		v->sel_len = v->zoom_len = v->trail_len = 0;
	} else {
		return;
	}
	restart(v);
}

static int key(void *p, int k)
{
	struct flame_view *v = p;
	uint32_t to = CALLTREE_NONE, n = v->sel_node;
	int toward_root = v->root_bottom ? TERM_KEY_DOWN : TERM_KEY_UP;
	int toward_leaf = v->root_bottom ? TERM_KEY_UP : TERM_KEY_DOWN;

	if (k == 'm' && v->go) {
		v->go_weight = (v->go_weight + 1) % GOWIN_NR;
		restart(v);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if (k == 'm') {
		set_metric(v, (v->metric + 1) % WALL_NR);
		return VIEW_HANDLED | VIEW_REDRAW;
	}
	if (!v->nr_boxes && k != 'f')
		return VIEW_IGNORED;
	if (k == toward_root) {
		if (n != v->zoom_node)
			to = node(v, n)->parent;
	} else if (k == toward_leaf) {
		to = child_to(v);
	} else if (k == TERM_KEY_PGUP || k == TERM_KEY_PGDN) {
		bool up = (k == TERM_KEY_PGUP) != v->root_bottom;

		for (uint32_t i = 0; i < graph_rows(v); i++) {
			uint32_t next = CALLTREE_NONE;

			if (up && n != v->zoom_node)
				next = node(v, n)->parent;
			else if (!up) {
				v->sel_node = n;
				next = child_to(v);
			}
			if (next == CALLTREE_NONE)
				break;
			n = next;
		}
		to = n;
	} else {
		switch (k) {
		case TERM_KEY_LEFT:
			to = beside(v, -1);
			break;
		case TERM_KEY_RIGHT:
			to = beside(v, 1);
			break;
		case TERM_KEY_HOME:
			to = v->zoom_node;
			break;
		case TERM_KEY_END:
			for (;;) {
				v->sel_node = n;
				to = child_to(v);
				if (to == CALLTREE_NONE)
					break;
				n = to;
			}
			to = n;
			break;
		case 'n':
		case 'N':
			if (!v->search[0])
				return VIEW_IGNORED;
			to = next_match(v, k == 'n' ? 1 : -1);
			break;
		case 'f':
			v->root_bottom = !v->root_bottom;
			return VIEW_HANDLED | VIEW_REDRAW;
		case TERM_KEY_ENTER:
			if (v->sel_node == v->zoom_node) {
				open_stack(v);
				return VIEW_HANDLED | VIEW_OPEN_STACK;
			}
			v->zoom_len = path_of(v, v->sel_node, v->zoom);
			v->scroll = 0;
			relayout(v);
			strip_update(v);
			return VIEW_HANDLED | VIEW_REDRAW;
		case 's':
			open_stack(v);
			return VIEW_HANDLED | VIEW_OPEN_STACK;
		case TERM_KEY_ESC:
			if (v->zoom_len) {
				v->zoom_len = path_of(v, v->zoom_node, v->zoom);
				v->zoom_len = v->zoom_len ? v->zoom_len - 1 : 0;
				relayout(v);
				strip_update(v);
				return VIEW_HANDLED | VIEW_REDRAW;
			}
			/* Not zoomed: the frontend clears the search, if any. */
			return VIEW_IGNORED;
		default:
			return VIEW_IGNORED;
		}
	}
	v->sel_node = n;
	if (to != CALLTREE_NONE && to != n)
		select_node(v, to);
	else
		select_node(v, n);
	scroll_to_sel(v);
	strip_update(v);
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void resize(void *p, int w, int h)
{
	struct flame_view *v = p;

	v->w = w;
	v->h = h;
	relayout(v);
	strip_update(v);
}

static void search(void *p, const char *text)
{
	struct flame_view *v = p;

	snprintf(v->search, sizeof(v->search), "%s", text);
	research(v);
}

static const struct view_hint hints[] = {
	{ "Enter", "Zoom" }, { "Esc", "Out" }, { "m", "Metric" }, { "s", "Stacks" },
	{ "/", "Search" },   { "f", "Flip" },  { NULL },
};

const struct view_ops view_flame_ops = {
	.name = "flame",
	.search_prompt = "Search",
	.hints = hints,
	.create = create,
	.destroy = destroy,
	.update = update,
	.draw = draw,
	.key = key,
	.resize = resize,
	.search = search,
	.enter = enter,
};
