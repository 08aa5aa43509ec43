// SPDX-License-Identifier: GPL-2.0-only
/*
 * An in-memory grid of cells that views draw onto. Each cell holds one code point and a semantic
 * role (never a colour: tui/term.c maps roles to colours or attributes for the terminal at hand).
 * term.c copies a canvas onto the screen; tests dump it to text and compare with golden files.
 *
 * Drawing clips silently at the edges. Text is UTF-8 as it comes from thread names and symbols:
 * control characters and invalid bytes show as '?', and in ASCII mode so does anything that is
 * not ASCII, so nothing from outside can ever reach the terminal as an escape sequence.
 */
#ifndef TUI_CANVAS_H
#define TUI_CANVAS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum canvas_role {
	CANVAS_DEFAULT,
	CANVAS_HEADER,       /* header labels */
	CANVAS_HEADER_VALUE, /* header values */
	CANVAS_PAUSED,       /* the PAUSED marker */
	CANVAS_WARNING,      /* the status line's kept warnings */
	CANVAS_TITLE,        /* column headers, view titles */
	CANVAS_TITLE_SORT,   /* the column the table is sorted by */
	CANVAS_SELECTED,     /* the cursor row */
	CANVAS_DIM,          /* exited threads, rows without samples */
	CANVAS_HOT,          /* a high %CPU */
	CANVAS_KEY,          /* key names in the key bar */
	CANVAS_KEY_LABEL,    /* what they do */
	CANVAS_PROMPT,       /* the search / filter line */
	CANVAS_FLAME_USER_A, /* flame frames, alternating so neighbours stand apart */
	CANVAS_FLAME_USER_B,
	CANVAS_FLAME_KERNEL,
	CANVAS_FLAME_OTHER, /* markers, unknown and JIT frames */
	CANVAS_FLAME_MATCH, /* frames matching the search */
	CANVAS_FLAME_SEL,   /* the selected frame */
	CANVAS_STRIP,       /* the share-per-second strip */
	CANVAS_ROLE_NR,
};

struct canvas_cell {
	uint32_t ch;  /* code point; 0 for the right half of a wide character */
	uint8_t role; /* enum canvas_role */
	uint8_t pad[3]; /* zero: rows compare with memcmp() */
};

struct canvas {
	int w, h;
	bool ascii;                /* draw ASCII only */
	struct canvas_cell *cells; /* h rows of w cells */
};

/* Glyphs with an ASCII stand-in, picked by canvas_glyph(). */
enum canvas_glyph {
	CANVAS_GLYPH_ELLIPSIS,  /* a name was cut: "…" or "~" */
	CANVAS_GLYPH_SORT_DOWN, /* "▼" or "v" */
	CANVAS_GLYPH_SORT_UP,   /* "▲" or "^" */
	CANVAS_GLYPH_SEP,       /* "│" or "|" */
	CANVAS_GLYPH_ARROW,     /* "›" or ">" breadcrumbs */
	CANVAS_GLYPH_NR,
};

#define CANVAS_RIGHT (1u << 0) /* canvas_put_fit(): align right */

void canvas_init(struct canvas *c, int w, int h, bool ascii);
void canvas_fini(struct canvas *c);
/* Changes the size; the contents are cleared. */
void canvas_resize(struct canvas *c, int w, int h);
/* Every cell to a space in the default role. */
void canvas_clear(struct canvas *c);

/* The cell at (y, x), or NULL outside the canvas. */
const struct canvas_cell *canvas_at(const struct canvas *c, int y, int x);
uint32_t canvas_glyph(const struct canvas *c, enum canvas_glyph g);

/* Puts one code point at (y, x); returns the columns it took (0 when clipped). */
int canvas_putc(struct canvas *c, int y, int x, enum canvas_role role, uint32_t ch);
/* Puts text at (y, x) in at most maxw columns (maxw < 0: to the right edge), cutting it hard.
 * Returns the columns written. */
int canvas_put(struct canvas *c, int y, int x, int maxw, enum canvas_role role, const char *s);
/* Fills exactly w columns: the text, cut with an ellipsis when longer, padded with spaces.
 * Returns w (or less when clipped by the edge). */
int canvas_put_fit(struct canvas *c, int y, int x, int w, enum canvas_role role, const char *s,
		   unsigned flags);
int canvas_printf(struct canvas *c, int y, int x, int maxw, enum canvas_role role,
		  const char *fmt, ...) __attribute__((format(printf, 6, 7)));
/* n copies of ch from (y, x). */
void canvas_fill(struct canvas *c, int y, int x, int n, enum canvas_role role, uint32_t ch);
/* Changes the role of n cells from (y, x), keeping their text (the cursor row). */
void canvas_set_role(struct canvas *c, int y, int x, int n, enum canvas_role role);

/* Columns that s takes on this canvas. */
int canvas_width(const struct canvas *c, const char *s);
/* Decodes one UTF-8 code point from s (which has n > 0 bytes); returns the bytes used and sets
 * *cp, to U+FFFD for an invalid sequence. */
int canvas_utf8_decode(const char *s, int n, uint32_t *cp);
/* Writes code point cp as UTF-8 into out (room for 4 bytes); returns the bytes written. */
size_t canvas_utf8_encode(uint32_t cp, char *out);

/* The canvas as UTF-8 text, one line per row without trailing spaces; malloc'ed. */
char *canvas_dump(const struct canvas *c);

#endif
