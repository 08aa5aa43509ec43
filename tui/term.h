// SPDX-License-Identifier: GPL-2.0-only
/*
 * The terminal: the only file that talks to ncurses. It sets the terminal up, maps the canvas'
 * semantic roles to colours (or to attributes alone with NO_COLOR or a monochrome terminal),
 * decides ASCII-only output when the locale is not UTF-8, turns input into TERM_KEY_* codes
 * (KEY_RESIZE is handled here, once), copies a canvas onto the screen and lets ncurses send
 * only the cells that changed.
 */
#ifndef TUI_TERM_H
#define TUI_TERM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct canvas;
struct term;

/* Keys: a printable key is its code point; the rest are these. */
enum term_key {
	TERM_KEY_NONE = -1, /* nothing pending */
	TERM_KEY_BACKSPACE = 0x7f,
	TERM_KEY_ENTER = '\n',
	TERM_KEY_ESC = 0x1b,
	TERM_KEY_TAB = '\t',
	TERM_KEY_CTRL_L = 0x0c,
	TERM_KEY_CTRL_U = 0x15,
	TERM_KEY_UP = 0x110000,
	TERM_KEY_DOWN,
	TERM_KEY_LEFT,
	TERM_KEY_RIGHT,
	TERM_KEY_PGUP,
	TERM_KEY_PGDN,
	TERM_KEY_HOME,
	TERM_KEY_END,
	TERM_KEY_BTAB, /* shift-tab */
	TERM_KEY_DELETE,
	TERM_KEY_F1,
	TERM_KEY_F10 = TERM_KEY_F1 + 9,
	TERM_KEY_RESIZE, /* the terminal changed size: term_size() has the new one */
};

/* Whether stdin/stdout are a terminal the live view can draw on (it can place the cursor; TERM
 * is known), without touching it. 0, or -ENOTTY/-EINVAL with a one-line reason in err. */
int term_check(char *err, size_t errlen);
/* Enters curses mode on the controlling terminal (stdin/stdout). Returns 0 or -errno (-ENOTTY:
 * not a terminal, -EINVAL: TERM unknown). */
int term_new(struct term **out);
/* Restores the terminal; NULL is a no-op. */
void term_free(struct term *t);
/* Leaves curses mode now (a signal is ending the program); term_free() still has to follow. */
void term_restore(struct term *t);

/* The locale cannot show UTF-8: draw ASCII only. */
bool term_ascii(const struct term *t);
/* Colours are off (NO_COLOR, or the terminal has none): roles are attributes only. */
bool term_mono(const struct term *t);
void term_size(const struct term *t, int *w, int *h);

/* The next key, or TERM_KEY_NONE when none is pending. Never waits (but for ESCDELAY after a
 * lone Esc). */
int term_getkey(struct term *t);

/* Copies the canvas (the size of the terminal) onto the screen and refreshes: ncurses sends
 * only what differs from what the terminal shows. */
void term_draw(struct term *t, const struct canvas *c);
/* The next term_draw() repaints everything (Ctrl-L). */
void term_repaint(struct term *t);

#endif
