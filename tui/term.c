// SPDX-License-Identifier: GPL-2.0-only
#define NCURSES_WIDECHAR 1

#include <curses.h>
#include <errno.h>
#include <langinfo.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "model/xalloc.h"
#include "canvas.h"
#include "term.h"

#define ESC_DELAY_MS 25

struct term {
	SCREEN *screen;
	bool active; /* in curses mode */
	bool ascii;
	bool mono;
	int w, h;
	attr_t attr[CANVAS_ROLE_NR];
	short pair[CANVAS_ROLE_NR];
	/* What the last term_draw() copied, to skip rows that did not change. */
	struct canvas_cell *last;
	int last_w, last_h;
};

/*
 * Semantic roles to what the terminal can show, htop style: one table for colour terminals and
 * attributes alone for monochrome ones. Only the 8 basic colours: their escape sequences are
 * half as long as 256-colour ones, and the flame changes colour at every frame.
 */
struct style {
	short fg, bg; /* -1: the terminal's default */
	attr_t attr;  /* with colours */
	attr_t mono;  /* without */
};

static const struct style styles[CANVAS_ROLE_NR] = {
	[CANVAS_DEFAULT] = { -1, -1, A_NORMAL, A_NORMAL },
	[CANVAS_HEADER] = { COLOR_CYAN, -1, A_NORMAL, A_NORMAL },
	[CANVAS_HEADER_VALUE] = { -1, -1, A_BOLD, A_BOLD },
	[CANVAS_PAUSED] = { COLOR_BLACK, COLOR_YELLOW, A_BOLD, A_REVERSE | A_BOLD },
	[CANVAS_WARNING] = { COLOR_YELLOW, -1, A_BOLD, A_BOLD },
	[CANVAS_TITLE] = { COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_REVERSE },
	[CANVAS_TITLE_SORT] = { COLOR_BLACK, COLOR_CYAN, A_BOLD, A_REVERSE | A_BOLD | A_UNDERLINE },
	[CANVAS_SELECTED] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[CANVAS_DIM] = { -1, -1, A_DIM, A_DIM },
	[CANVAS_HOT] = { COLOR_RED, -1, A_BOLD, A_BOLD },
	[CANVAS_KEY] = { -1, -1, A_BOLD, A_BOLD },
	[CANVAS_KEY_LABEL] = { COLOR_BLACK, COLOR_CYAN, A_NORMAL, A_REVERSE },
	[CANVAS_PROMPT] = { COLOR_BLACK, COLOR_YELLOW, A_NORMAL, A_REVERSE },
	[CANVAS_FLAME_USER_A] = { COLOR_BLACK, COLOR_YELLOW, A_NORMAL, A_REVERSE },
	[CANVAS_FLAME_USER_B] = { COLOR_BLACK, COLOR_RED, A_NORMAL, A_REVERSE },
	[CANVAS_FLAME_KERNEL] = { COLOR_BLACK, COLOR_GREEN, A_NORMAL, A_REVERSE | A_DIM },
	[CANVAS_FLAME_OTHER] = { COLOR_BLACK, COLOR_WHITE, A_NORMAL, A_REVERSE | A_DIM },
	[CANVAS_FLAME_MATCH] = { COLOR_BLACK, COLOR_MAGENTA, A_BOLD, A_REVERSE | A_UNDERLINE },
	[CANVAS_FLAME_SEL] = { COLOR_WHITE, COLOR_BLUE, A_BOLD, A_BOLD | A_UNDERLINE },
	[CANVAS_STRIP] = { COLOR_GREEN, -1, A_NORMAL, A_NORMAL },
};

static void setup_colors(struct term *t)
{
	bool defaults;

	const char *no_color = getenv("NO_COLOR");

	/* https://no-color.org: present and not empty */
	t->mono = (no_color && *no_color) || !has_colors();
	if (!t->mono && (start_color() == ERR || COLORS < 8 || COLOR_PAIRS < CANVAS_ROLE_NR + 1))
		t->mono = true;
	for (int r = 0; r < CANVAS_ROLE_NR; r++) {
		t->attr[r] = t->mono ? styles[r].mono : styles[r].attr;
		t->pair[r] = 0;
	}
	if (t->mono)
		return;
	defaults = use_default_colors() == OK;
	for (int r = 0; r < CANVAS_ROLE_NR; r++) {
		short fg = styles[r].fg, bg = styles[r].bg;

		if (!defaults) {
			fg = fg < 0 ? COLOR_WHITE : fg;
			bg = bg < 0 ? COLOR_BLACK : bg;
		}
		if (init_pair(r + 1, fg, bg) == OK)
			t->pair[r] = r + 1;
	}
}

static bool locale_is_utf8(void)
{
	const char *cs = nl_langinfo(CODESET);

	return cs && (!strcasecmp(cs, "UTF-8") || !strcasecmp(cs, "utf8"));
}

int term_check(char *err, size_t errlen)
{
	const char *name = getenv("TERM");
	FILE *null;
	SCREEN *sc;
	char *cup, *clear;
	bool can;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO)) {
		snprintf(err, errlen,
			 "the live view needs a terminal (stdin and stdout are not one); "
			 "use `flametop snapshot` or `flametop record` for files and pipes");
		return -ENOTTY;
	}
	/* the terminal's description, read by a screen that writes nowhere (ncurses' term.h
	 * cannot be included here: its TERMINAL is a `struct term` too) */
	null = fopen("/dev/null", "we");
	if (!null) {
		/* a root without /dev (the static binary in a bare chroot): a sink in memory */
		int fd = memfd_create("flametop-term-check", MFD_CLOEXEC);

		null = fd >= 0 ? fdopen(fd, "w") : NULL;
		if (!null && fd >= 0)
			close(fd);
	}
	if (!null) {
		snprintf(err, errlen, "cannot open /dev/null: %s", strerror(errno));
		return -errno;
	}
	sc = newterm(NULL, null, stdin);
	if (!sc) {
		fclose(null);
		snprintf(err, errlen,
			 "the terminal type TERM=%s is unknown here (no terminfo entry); set TERM "
			 "to one this host knows, such as xterm or vt100",
			 name ? name : "");
		return -EINVAL;
	}
	/* a terminal that cannot place the cursor (TERM=dumb, an editor's shell buffer) would
	 * get every screen on one line */
	cup = tigetstr("cup");
	clear = tigetstr("clear");
	can = cup && cup != (char *)-1 && clear && clear != (char *)-1;
	endwin();
	delscreen(sc);
	fclose(null);
	if (!can) {
		snprintf(err, errlen,
			 "the terminal TERM=%s cannot move the cursor, which the live view needs; "
			 "use a full-screen terminal (TERM=xterm, vt100), or `flametop snapshot` "
			 "for plain text",
			 name ? name : "");
		return -EINVAL;
	}
	return 0;
}

int term_new(struct term **out)
{
	struct term *t;

	if (!isatty(STDIN_FILENO) || !isatty(STDOUT_FILENO))
		return -ENOTTY;
	t = xcalloc(1, sizeof(*t));
	t->screen = newterm(NULL, stdout, stdin);
	if (!t->screen) {
		free(t);
		return -EINVAL;
	}
	t->active = true;
	t->ascii = !locale_is_utf8();
	cbreak();
	noecho();
	nonl();
	intrflush(stdscr, FALSE);
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	/* The cursor is hidden and need not be put back after each update: fewer bytes. */
	leaveok(stdscr, TRUE);
	curs_set(0);
	set_escdelay(ESC_DELAY_MS);
	setup_colors(t);
	t->w = COLS;
	t->h = LINES;
	*out = t;
	return 0;
}

void term_restore(struct term *t)
{
	if (!t || !t->active)
		return;
	curs_set(1);
	endwin();
	t->active = false;
}

void term_free(struct term *t)
{
	if (!t)
		return;
	term_restore(t);
	delscreen(t->screen);
	free(t->last);
	free(t);
}

bool term_ascii(const struct term *t)
{
	return t->ascii;
}

bool term_mono(const struct term *t)
{
	return t->mono;
}

void term_size(const struct term *t, int *w, int *h)
{
	*w = t->w;
	*h = t->h;
}

void term_repaint(struct term *t)
{
	clearok(curscr, TRUE);
	t->last_w = t->last_h = 0;
}

static int map_code(wint_t k)
{
	switch (k) {
	case KEY_UP:
		return TERM_KEY_UP;
	case KEY_DOWN:
		return TERM_KEY_DOWN;
	case KEY_LEFT:
		return TERM_KEY_LEFT;
	case KEY_RIGHT:
		return TERM_KEY_RIGHT;
	case KEY_PPAGE:
		return TERM_KEY_PGUP;
	case KEY_NPAGE:
		return TERM_KEY_PGDN;
	case KEY_HOME:
	case KEY_A1:
		return TERM_KEY_HOME;
	case KEY_END:
	case KEY_C1:
		return TERM_KEY_END;
	case KEY_BTAB:
		return TERM_KEY_BTAB;
	case KEY_DC:
		return TERM_KEY_DELETE;
	case KEY_ENTER:
		return TERM_KEY_ENTER;
	case KEY_BACKSPACE:
		return TERM_KEY_BACKSPACE;
	default:
		if (k >= KEY_F(1) && k <= KEY_F(10))
			return TERM_KEY_F1 + (k - KEY_F(1));
		return TERM_KEY_NONE;
	}
}

int term_getkey(struct term *t)
{
	wint_t k;
	int r;

	if (!t->active)
		return TERM_KEY_NONE;
	for (;;) {
		r = wget_wch(stdscr, &k);
		if (r == ERR)
			return TERM_KEY_NONE;
		if (r == KEY_CODE_YES) {
			int key;

			if (k == KEY_RESIZE) {
				/* ncurses resized its screens already; the next draw repaints. */
				t->w = COLS;
				t->h = LINES;
				term_repaint(t);
				return TERM_KEY_RESIZE;
			}
			key = map_code(k);
			if (key != TERM_KEY_NONE)
				return key;
			continue; /* a key we have no use for */
		}
		if (k == '\r')
			return TERM_KEY_ENTER;
		if (k == 0x08)
			return TERM_KEY_BACKSPACE;
		return (int)k;
	}
}

static void put_cell(struct term *t, int y, int x, const struct canvas_cell *c)
{
	attr_t a = t->attr[c->role];
	short pair = t->pair[c->role];

	if (c->ch < 0x80) {
		mvaddch(y, x, (chtype)c->ch | a | COLOR_PAIR(pair));
	} else {
		wchar_t wc[2] = { (wchar_t)c->ch, 0 };
		cchar_t cc;

		setcchar(&cc, wc, a, pair, NULL);
		mvadd_wch(y, x, &cc);
	}
}

void term_draw(struct term *t, const struct canvas *c)
{
	bool full = t->last_w != c->w || t->last_h != c->h;
	int h = c->h < t->h ? c->h : t->h, w = c->w < t->w ? c->w : t->w;

	if (!t->active)
		return;
	if (full) {
		free(t->last);
		t->last = xcalloc((size_t)c->w * c->h + 1, sizeof(*t->last));
		t->last_w = c->w;
		t->last_h = c->h;
		/* Cells the canvas does not cover (a size race) must not keep old text. */
		erase();
	}
	for (int y = 0; y < h; y++) {
		const struct canvas_cell *row = canvas_at(c, y, 0);
		struct canvas_cell *last = &t->last[(size_t)y * c->w];

		if (!full && !memcmp(row, last, c->w * sizeof(*row)))
			continue;
		for (int x = 0; x < w; x++)
			if (row[x].ch)
				put_cell(t, y, x, &row[x]);
		memcpy(last, row, c->w * sizeof(*row));
	}
	wnoutrefresh(stdscr);
	doupdate();
}
