// SPDX-License-Identifier: GPL-2.0-only
/*
 * Views, tmux style: each view is one file exporting one ops table. The frontend (tui.c) owns
 * the window, the header and the key bar; a view draws its area of the canvas and answers keys
 * with "what should happen next" flags instead of drawing from key handlers (htop style).
 */
#ifndef TUI_VIEW_H
#define TUI_VIEW_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "model/calltree.h"
#include "model/wall.h"

struct canvas;
struct gowindow;
struct model;
struct stacks;
struct threads;
struct window;

#define VIEW_PATH_MAX 256

/* view_target.heap: the heap view's figures, in KiB. */
#define VIEW_HEAP_NONE 0
#define VIEW_HEAP_GROWTH 1      /* RSS growth in the window (growth > 0) */
#define VIEW_HEAP_OUTSTANDING 2 /* leak mode: outstanding since it started */

/* view_target.go: Go's own counts instead of samples. */
#define VIEW_GO_NONE 0
#define VIEW_GO_GOROUTINES 1 /* goroutines now, by group stack */
#define VIEW_GO_HEAP 2       /* Go's heap profile: in-use KiB by allocating stack */

/*
 * What the stack view (VIEW_OPEN_STACK) or the flame view (VIEW_OPEN_FLAME) shows; set by the
 * view that opens it. A drill-down into a scope — a thread, a process, a block hot spot, and any
 * other group of threads a view can name with a filter (a goroutine group: its process, and its
 * stack as path) — opens the flame in wall mode with the scope's filter and what.
 */
struct view_target {
	struct calltree_filter filter; /* whose samples: one thread, one process, or all */
	const char *path[VIEW_PATH_MAX]; /* a flame frame: function names, root first (the flame
	                                    view selects it) */
	uint32_t path_len;               /* 0: no frame */
	const char *function;            /* a function anywhere on the stack, or NULL */
	int heap;                        /* VIEW_HEAP_*: heap bytes instead of samples (KiB) */
	enum wall_metric metric;         /* cpu samples, or off-CPU / wall time (model/wall.h),
	                                    shown in ms; not read when heap or go is set */
	int go;                          /* VIEW_GO_*: goroutines or Go heap KiB instead */
	const char *created_by;          /* VIEW_GO_GOROUTINES: the creator's function (shown;
	                                    interned, by name: frame ids may be renumbered), or
	                                    NULL */
	const char *created_file;        /* ... where it is defined, or NULL */
	uint32_t created_line;
	char what[160];                  /* whose, for the title: "thread worker-hot (1235)" */
};

/* Shared by the frontend and the views; the frontend owns everything in it. */
struct view_ctx {
	struct model *model;
	struct stacks *stacks;
	struct threads *threads;
	const struct window *win; /* the window in effect (frozen while paused) */
	const struct gowindow *gowin; /* its Go layer (model/gowindow.h) */
	double win_secs;          /* the time it covers; 0 before the first tick */
	uint64_t last_seq;        /* the newest tick in win, when win->nr_ticks */
	unsigned freq_hz;
	unsigned tick_ms;
	struct view_target target; /* for VIEW_OPEN_STACK and VIEW_OPEN_FLAME */
	bool drill;                /* set while a view is shown for target (.enter reads it),
	                              clear when it is shown by its own key */
	char *const *log;          /* kept warnings, oldest first */
	size_t nr_log;
};

/* What .key() asks for next (flags). */
enum view_result {
	VIEW_IGNORED = 0,        /* not ours: the frontend may use the key */
	VIEW_HANDLED = 1 << 0,   /* taken */
	VIEW_REDRAW = 1 << 1,    /* the screen needs drawing */
	VIEW_OPEN_STACK = 1 << 2, /* show the stack view for ctx->target */
	VIEW_BACK = 1 << 3,      /* return to the view before this one */
	VIEW_OPEN_FLAME = 1 << 4, /* show the flame view for ctx->target (Esc comes back) */
};

struct view_hint {
	const char *key, *label;
};

struct view_ops {
	const char *name;
	const char *search_prompt;     /* "Filter" or "Search"; NULL: no '/' in this view */
	const struct view_hint *hints; /* for the key bar, ended by { NULL } */
	void *(*create)(struct view_ctx *ctx);
	void (*destroy)(void *v);
	/* ctx->win changed (a tick, the window length): recompute, keeping the selection. */
	void (*update)(void *v);
	/* Draws rows [y, y + h) of the canvas, full width. */
	void (*draw)(void *v, struct canvas *c, int y, int h);
	int (*key)(void *v, int key);
	/* The view's area is now w x h. */
	void (*resize)(void *v, int w, int h);
	/* The search or filter text changed ("" clears it); NULL when search_prompt is. */
	void (*search)(void *v, const char *text);
	/* The view is shown (again); may be NULL. */
	void (*enter)(void *v);
};

extern const struct view_ops view_threads_ops;
extern const struct view_ops view_flame_ops;
extern const struct view_ops view_stack_ops;
extern const struct view_ops view_help_ops;
extern const struct view_ops view_block_ops;
extern const struct view_ops view_heap_ops;
extern const struct view_ops view_goroutines_ops;

/* Helpers the views share (tui.c). */
/* The model's stack numbering now (model_stacks_epoch(); 0 without a model) ... */
uint64_t view_stacks_epoch(const struct view_ctx *ctx);
/* ... and a stack id a view kept across ticks, of *epoch, as an id of now (UINT32_MAX: let go by
 * the model's budget); *epoch becomes now's. */
uint32_t view_stack_now(const struct view_ctx *ctx, uint64_t *epoch, uint32_t stack);
/* Nanoseconds as "850.0ms", "1.25s", "12.5s", "125s": short, for titles and columns. */
void view_duration(char *buf, size_t len, uint64_t ns);
/* "12.5" style percentage of part in whole, or "-" when whole is 0. */
void view_pct(char *buf, size_t len, uint64_t part, uint64_t whole);
/* Moves a cursor over nr rows for a navigation key with a page of page rows; returns whether
 * the key was one. */
bool view_move(int key, size_t *cur, size_t nr, int page);
/* Keeps cur within [*top, *top + rows). */
void view_scroll(size_t cur, size_t *top, size_t nr, int rows);

#endif
