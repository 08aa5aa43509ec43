// SPDX-License-Identifier: GPL-2.0-only
/* The help view: the keys, what the header means, and the warnings kept so far. */
#include <stdio.h>
#include <string.h>

#include "model/model.h"
#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"
#include "view.h"

static const char *const text[] = {
	"#Anywhere",
	"  1 2 Tab      threads / flame / next view      h ? F1   this help",
	"  space        pause (the view freezes, the probes keep counting)",
	"  w            window: last 1s, 10s, 60s, since start",
	"  q F10        quit                             Ctrl-L   repaint",
	"",
	"#Threads",
	"  arrows PgUp PgDn Home End   move              Enter    stacks of the thread",
	"  /            filter by name or pid            < >      sort column",
	"  P N T        sort by %CPU, pid, name          I        invert the order",
	"  H            threads / processes",
	"",
	"#Flame",
	"  arrows       caller, callee, frames beside    Home End root, hottest leaf",
	"  Enter        zoom in (on the zoomed frame: its stacks)     Esc  zoom out",
	"  s            stacks through the frame         f        root at top / bottom",
	"  /            highlight matches, total share   n N      next / previous match",
	"",
	"#Stack",
	"  Enter        go to the function under the cursor           Esc  back",
	"",
	"#Replay (flametop replay FILE)",
	"  space        play / pause                     . ,      a tick forward / back",
	"  g            go to a time: +5m, -30s, 90s from the start, 14:05:30, end",
	"  + -          speed: 1x, 2x, 10x, as fast as possible",
	"",
	"#Header",
	"  %CPU is of one CPU: samples / (rate x window) x 100. lost: samples dropped",
	"  before they reached flametop; (sched N, heap N): the thread-state and heap",
	"  probes' own losses. unwind: how stacks are walked (fp: frame pointers) and",
	"  the share known to be cut short.",
	"",
	"#Block (key 3): where threads wait, from the scheduler (probes/sched)",
	"  r            reason: all, lock, io, poll, sleep, other, wait   / filter",
	"  K            kernel threads (kworker, rcu_*: idle waits): hidden / shown",
	"  Enter        the stack's blocked time in the stack view    Esc  back",
	"  %BLK is time blocked on the stack / the window (summed over its threads).",
	"",
	"#Thread states (threads view, when probes/sched runs)",
	"  %RUN running, %RUNQ waiting for a CPU, %LOCK for a lock someone holds",
	"  (mutex, rwlock, file lock), %WAIT for work or an event (condition",
	"  variable, semaphore, parked thread, idle Go scheduler), %IO D state or",
	"  file I/O, %POLL poll/select/epoll, %SLEEP nanosleep: of the window, ~100",
	"  together for a thread that lived through it; a process row sums its",
	"  threads. S: the state it spent most of the last tick in (R run, Q runq,",
	"  L lock, W wait, D io, P poll, S sleep, O other, X exited).",
	"",
	"#Heap (key 4): who makes memory grow (probes/heap)",
	"  o            growth in the window / leak mode's outstanding bytes",
	"  g            Go's own heap profile: in use by allocating stack, alloc rate",
	"  Enter        the stack's bytes in the stack view           / filter",
	"  The chart is one process's RSS (#) and the growth its stacks account for (*);",
	"  the title's \"net\" is its RSS change, the line below what its stacks grew",
	"  and released, gross. Dim rows: processes that exited (one row per name and",
	"  stack, xN: how many), whose memory went back at exit.",
	"  GROWTH is RSS growth by stack (page faults, releases: no uprobes); with",
	"  --heap exact, OUTSTAND is what each stack allocated and did not free, and",
	"  the line above says what leak mode costs the target.",
	"",
	"#Goroutines (key 5): a Go process as Go sees it, read from its memory",
	"  p            next Go process                  a        the runtime's own too",
	"  s            sort by count / by change        / filter",
	"  Enter        the group's stack, counted in goroutines, and its creator",
	"  A group is goroutines with the same state, wait reason, stack and creator.",
	"  CHANGE/m is per minute over the window; WAIT the longest wait in the group.",
	"  The chart is the goroutine count per tick; the line above it the GC.",
	"#Memory: what flametop holds however long it runs (flametop doctor says it too)",
};

#define NR_TEXT (sizeof(text) / sizeof(text[0]))

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
	if (text[i][0] == '#')
		canvas_put(c, y, 0, -1, CANVAS_HEADER, text[i] + 1);
	else
		canvas_put(c, y, 0, -1, CANVAS_DEFAULT, text[i]);
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
