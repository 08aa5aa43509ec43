// SPDX-License-Identifier: GPL-2.0-only
/*
 * The live ncurses frontend. The program's poll loop (cli/run.c) owns time and input sources:
 * it calls tui_input() when stdin is readable, tui_tick() after each model tick closes, and
 * tui_free() to restore the terminal. The TUI never blocks and never writes to stdout/stderr
 * while in curses mode: messages go through tui_log() and are printed after tui_free().
 */
#ifndef TUI_TUI_H
#define TUI_TUI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct model;
struct tui;

/* What the header shows about the session; strings are borrowed for the TUI's lifetime. */
struct tui_info {
	const char *host;
	const char *target;  /* "whole system", "pid 123,456", "cmd: ./app --x" */
	const char *source;  /* e.g. "bpf" */
	unsigned freq_hz;
	unsigned nr_cpus;
	unsigned tick_ms;    /* refresh interval */
	const char *unwind;  /* how stacks are walked, e.g. "fp"; NULL shows "fp" */
};

enum tui_action {
	TUI_NONE,
	TUI_QUIT,
};

/* Whether this terminal can show the live view (before anything starts): 0, or -errno with a
 * one-line reason in err (not a terminal; TERM unknown or unable to place the cursor). */
int tui_check_terminal(char *err, size_t errlen);
int tui_new(const struct tui_info *info, struct model *m, struct tui **out);
/* Restores the terminal, then prints the kept warnings to stderr. NULL is a no-op. */
void tui_free(struct tui *t);

/* stdin is readable: handle every pending key. */
enum tui_action tui_input(struct tui *t);
/* A tick closed: refresh from the model (unless paused) and redraw. */
void tui_tick(struct tui *t);
/* A message for the status line (kept, printed after exit). printf-style. */
void tui_log(struct tui *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* A signal asked us to stop (SIGTERM, SIGHUP, SIGINT): restore the terminal now. */
void tui_restore(struct tui *t);
/* The user paused the view (space); the model should keep counting. */
bool tui_paused(const struct tui *t);

/*
 * A replay (flametop replay, cli/playback.c): the header shows the recording's clock and where
 * the player is instead of the wall clock, and these keys go to the player instead: space
 * (play/pause), '.' and ',' (a tick forward, back), '+' and '-' (speed), and 'g', which asks
 * for a time on the prompt line. The TUI redraws from the model after each.
 */
struct tui_player {
	void *ctx;
	/* clock: the recording's time ("2026-11-21 14:05:30"); where: the player ("+01:05 of
	 * 60:00  2x  paused"). */
	void (*status)(void *ctx, char *clock, size_t clock_len, char *where, size_t where_len);
	void (*key)(void *ctx, int key);
	/* A time typed after 'g': 0, or -EINVAL with a one-line reason in err. */
	int (*go)(void *ctx, const char *when, char *err, size_t errlen);
};

/* Makes t a replay's frontend; p is copied. */
void tui_set_player(struct tui *t, const struct tui_player *p);
/* The views now show m (a replay went back in time and rebuilt its model): they start over on
 * it, keeping the view and the window shown. Call before the old model is freed. */
void tui_set_model(struct tui *t, struct model *m);

/*
 * Without a terminal (tests, and later replay scripting): the same frontend drawing into an
 * in-memory canvas of w x h, fed keys by tui_key(). The header clock shows 00:00:00.
 */
struct canvas;
int tui_new_headless(const struct tui_info *info, struct model *m, int w, int h, bool ascii,
		     struct tui **out);
/* One key, as term_getkey() gives it (a code point or a TERM_KEY_* from tui/term.h). */
enum tui_action tui_key(struct tui *t, int key);
/* The headless canvas is now w x h (what KEY_RESIZE does on a terminal). */
void tui_resize(struct tui *t, int w, int h);
/* What was drawn last; borrowed. */
const struct canvas *tui_canvas(const struct tui *t);

#endif
