// SPDX-License-Identifier: GPL-2.0-only
/* The help view: the keys, what the header means (help_text.c), and the warnings kept so far. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "help_text.h"
#include "term.h"
#include "view.h"


#define NR_TEXT help_text_nr

#define BUDGET_LINES 8
#define BUDGET_WIDTH 76

struct help_view {
	struct view_ctx *ctx;
	size_t top;
	int h;
	/* the memory budget (model_budget_text()), wrapped */
	char budget[BUDGET_LINES][BUDGET_WIDTH + 1];
	size_t nr_budget;
};

/* Wraps text at spaces into v->budget. */
static void wrap_budget(struct help_view *v, const char *text)
{
	const char *p = text;

	while (*p && v->nr_budget < BUDGET_LINES) {
		size_t n = strlen(p), cut = n;

		if (n > BUDGET_WIDTH) {
			cut = BUDGET_WIDTH;
			while (cut > 0 && p[cut] != ' ')
				cut--;
			if (!cut)
				cut = BUDGET_WIDTH;
		}
		memcpy(v->budget[v->nr_budget], p, cut);
		v->budget[v->nr_budget++][cut] = '\0';
		p += cut;
		while (*p == ' ')
			p++;
	}
}

static void *create(struct view_ctx *ctx)
{
	struct help_view *v = xcalloc(1, sizeof(*v));
	char budget[512];

	v->ctx = ctx;
	model_budget_text(budget, sizeof(budget));
	wrap_budget(v, budget);
	return v;
}

static void destroy(void *p)
{
	free(p);
}

/* Kept warnings come first when there are any: that is what "(+N, h)" sends people here for. */
static size_t nr_warn_lines(const struct help_view *v)
{
	return v->ctx->nr_log ? v->ctx->nr_log + 2 : 0;
}

static size_t nr_lines(const struct help_view *v)
{
	return nr_warn_lines(v) + NR_TEXT + v->nr_budget;
}

static void draw_line(struct help_view *v, struct canvas *c, int y, size_t i)
{
	char buf[64];

	if (i < nr_warn_lines(v)) {
		if (i == 0) {
			snprintf(buf, sizeof(buf), "Warnings (%zu)", v->ctx->nr_log);
			canvas_put(c, y, 0, -1, CANVAS_HEADER, buf);
		} else if (i <= v->ctx->nr_log) {
			canvas_put(c, y, 2, -1, CANVAS_WARNING, v->ctx->log[i - 1]);
		}
		return;
	}
	i -= nr_warn_lines(v);
	if (i >= NR_TEXT) {
		canvas_put(c, y, 2, -1, CANVAS_DEFAULT, v->budget[i - NR_TEXT]);
		return;
	}
	if (help_text[i][0] == '#')
		canvas_put(c, y, 0, -1, CANVAS_HEADER, help_text[i] + 1);
	else
		canvas_put(c, y, 0, -1, CANVAS_DEFAULT, help_text[i]);
}

static void draw(void *p, struct canvas *c, int y, int h)
{
	struct help_view *v = p;
	size_t n = nr_lines(v);

	if (h <= 0)
		return;
	canvas_put(c, y, 0, -1, CANVAS_HEADER_VALUE, "flametop help");
	canvas_put(c, y, 14, -1, CANVAS_DIM, "  (Esc to return)");
	if (v->top + (h - 1) > n)
		v->top = n > (size_t)(h - 1) ? n - (h - 1) : 0;
	for (int i = 0; i < h - 1 && v->top + i < n; i++)
		draw_line(v, c, y + 1 + i, v->top + i);
}

static int key(void *p, int k)
{
	struct help_view *v = p;
	size_t n = nr_lines(v), page = v->h > 2 ? v->h - 2 : 1;

	switch (k) {
	case TERM_KEY_UP:
		v->top = v->top ? v->top - 1 : 0;
		break;
	case TERM_KEY_DOWN:
		v->top = v->top + 1 < n ? v->top + 1 : v->top;
		break;
	case TERM_KEY_PGUP:
		v->top = v->top > page ? v->top - page : 0;
		break;
	case TERM_KEY_PGDN:
		v->top = v->top + page < n ? v->top + page : v->top;
		break;
	case TERM_KEY_HOME:
		v->top = 0;
		break;
	case TERM_KEY_END:
		v->top = n;
		break;
	case TERM_KEY_ESC:
	case TERM_KEY_ENTER:
	case 'h':
	case '?':
	case TERM_KEY_F1:
		return VIEW_HANDLED | VIEW_BACK;
	default:
		return VIEW_IGNORED;
	}
	return VIEW_HANDLED | VIEW_REDRAW;
}

static void resize(void *p, int w, int h)
{
	struct help_view *v = p;

	v->h = h;
}

static void enter(void *p)
{
	struct help_view *v = p;

	v->top = 0;
}

static void update(void *p)
{
}

static const struct view_hint hints[] = {
	{ "Esc", "Back" }, { NULL },
};

const struct view_ops view_help_ops = {
	.name = "help",
	.hints = hints,
	.create = create,
	.destroy = destroy,
	.update = update,
	.draw = draw,
	.key = key,
	.resize = resize,
	.enter = enter,
};
