// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <wchar.h>

#include "model/xalloc.h"
#include "canvas.h"

static const uint32_t glyphs[CANVAS_GLYPH_NR][2] = {
	/* UTF-8, ASCII */
	[CANVAS_GLYPH_ELLIPSIS] = { 0x2026, '~' },
	[CANVAS_GLYPH_SORT_DOWN] = { 0x25bc, 'v' },
	[CANVAS_GLYPH_SORT_UP] = { 0x25b2, '^' },
	[CANVAS_GLYPH_SEP] = { 0x2502, '|' },
	[CANVAS_GLYPH_ARROW] = { 0x203a, '>' },
};

void canvas_init(struct canvas *c, int w, int h, bool ascii)
{
	memset(c, 0, sizeof(*c));
	c->ascii = ascii;
	canvas_resize(c, w, h);
}

void canvas_fini(struct canvas *c)
{
	free(c->cells);
	memset(c, 0, sizeof(*c));
}

void canvas_resize(struct canvas *c, int w, int h)
{
	c->w = w > 0 ? w : 0;
	c->h = h > 0 ? h : 0;
	free(c->cells);
	c->cells = xcalloc((size_t)c->w * c->h + 1, sizeof(*c->cells));
	canvas_clear(c);
}

void canvas_clear(struct canvas *c)
{
	for (size_t i = 0; i < (size_t)c->w * c->h; i++)
		c->cells[i] = (struct canvas_cell){ .ch = ' ', .role = CANVAS_DEFAULT };
}

const struct canvas_cell *canvas_at(const struct canvas *c, int y, int x)
{
	if (y < 0 || y >= c->h || x < 0 || x >= c->w)
		return NULL;
	return &c->cells[(size_t)y * c->w + x];
}

static struct canvas_cell *cell(struct canvas *c, int y, int x)
{
	return (struct canvas_cell *)canvas_at(c, y, x);
}

uint32_t canvas_glyph(const struct canvas *c, enum canvas_glyph g)
{
	return glyphs[g][c->ascii];
}

int canvas_utf8_decode(const char *s, int n, uint32_t *cp)
{
	const unsigned char *u = (const unsigned char *)s;
	uint32_t v, min;
	int len;

	if (u[0] < 0x80) {
		*cp = u[0];
		return 1;
	}
	if ((u[0] & 0xe0) == 0xc0) {
		len = 2, v = u[0] & 0x1f, min = 0x80;
	} else if ((u[0] & 0xf0) == 0xe0) {
		len = 3, v = u[0] & 0x0f, min = 0x800;
	} else if ((u[0] & 0xf8) == 0xf0) {
		len = 4, v = u[0] & 0x07, min = 0x10000;
	} else {
		*cp = 0xfffd;
		return 1;
	}
	if (len > n)
		goto bad;
	for (int i = 1; i < len; i++) {
		if ((u[i] & 0xc0) != 0x80)
			goto bad;
		v = v << 6 | (u[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		goto bad;
	*cp = v;
	return len;
bad:
	*cp = 0xfffd;
	return 1;
}

/* What a code point shows as, and its width (0: drop it, e.g. a combining mark). */
static uint32_t displayable(const struct canvas *c, uint32_t cp, int *width)
{
	int w;

	*width = 1;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp < 0xa0) || cp == 0xfffd)
		return '?';
	if (cp < 0x80)
		return cp;
	if (c->ascii)
		return '?';
	w = wcwidth((wchar_t)cp);
	if (w < 0)
		return '?';
	*width = w;
	return cp;
}

int canvas_putc(struct canvas *c, int y, int x, enum canvas_role role, uint32_t ch)
{
	struct canvas_cell *p = cell(c, y, x);
	int w;

	ch = displayable(c, ch, &w);
	if (!p || !w)
		return 0;
	if (w == 2 && x + 1 >= c->w) {
		*p = (struct canvas_cell){ .ch = ' ', .role = role };
		return 1;
	}
	/* Overwriting half of a wide character blanks its other half. */
	if (p->ch == 0 && x > 0)
		cell(c, y, x - 1)->ch = ' ';
	if (w == 1 && x + 1 < c->w && cell(c, y, x + 1)->ch == 0)
		cell(c, y, x + 1)->ch = ' ';
	*p = (struct canvas_cell){ .ch = ch, .role = role };
	if (w == 2) {
		struct canvas_cell *q = cell(c, y, x + 1);

		if (x + 2 < c->w && cell(c, y, x + 2)->ch == 0)
			cell(c, y, x + 2)->ch = ' ';
		*q = (struct canvas_cell){ .ch = 0, .role = role };
	}
	return w;
}

int canvas_width(const struct canvas *c, const char *s)
{
	int n = s ? strlen(s) : 0, cols = 0;

	for (int i = 0; i < n;) {
		uint32_t cp;
		int w;

		i += canvas_utf8_decode(s + i, n - i, &cp);
		displayable(c, cp, &w);
		cols += w;
	}
	return cols;
}

int canvas_put(struct canvas *c, int y, int x, int maxw, enum canvas_role role, const char *s)
{
	int n = s ? strlen(s) : 0, col = 0;

	if (maxw < 0)
		maxw = c->w - x;
	if (y < 0 || y >= c->h)
		return 0;
	for (int i = 0; i < n && col < maxw && x + col < c->w;) {
		uint32_t cp, shown;
		int w, len = canvas_utf8_decode(s + i, n - i, &cp);

		shown = displayable(c, cp, &w);
		if (col + w > maxw)
			break;
		if (x + col >= 0)
			canvas_putc(c, y, x + col, role, shown);
		col += w;
		i += len;
	}
	return col;
}

int canvas_put_fit(struct canvas *c, int y, int x, int w, enum canvas_role role, const char *s,
		   unsigned flags)
{
	int tw = canvas_width(c, s), used;

	if (w <= 0)
		return 0;
	canvas_fill(c, y, x, w, role, ' ');
	if (tw <= w) {
		canvas_put(c, y, (flags & CANVAS_RIGHT) ? x + w - tw : x, w, role, s);
		return w;
	}
	/* Too long: as much as fits, then an ellipsis in the last column. */
	used = canvas_put(c, y, x, w - 1, role, s);
	canvas_putc(c, y, x + used, role, canvas_glyph(c, CANVAS_GLYPH_ELLIPSIS));
	return w;
}

int canvas_printf(struct canvas *c, int y, int x, int maxw, enum canvas_role role,
		  const char *fmt, ...)
{
	char buf[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	return canvas_put(c, y, x, maxw, role, buf);
}

void canvas_fill(struct canvas *c, int y, int x, int n, enum canvas_role role, uint32_t ch)
{
	for (int i = 0; i < n; i++)
		canvas_putc(c, y, x + i, role, ch);
}

void canvas_set_role(struct canvas *c, int y, int x, int n, enum canvas_role role)
{
	for (int i = 0; i < n; i++) {
		struct canvas_cell *p = cell(c, y, x + i);

		if (p)
			p->role = role;
	}
}

size_t canvas_utf8_encode(uint32_t cp, char *out)
{
	if (cp < 0x80) {
		out[0] = cp;
		return 1;
	}
	if (cp < 0x800) {
		out[0] = 0xc0 | cp >> 6;
		out[1] = 0x80 | (cp & 0x3f);
		return 2;
	}
	if (cp < 0x10000) {
		out[0] = 0xe0 | cp >> 12;
		out[1] = 0x80 | (cp >> 6 & 0x3f);
		out[2] = 0x80 | (cp & 0x3f);
		return 3;
	}
	out[0] = 0xf0 | cp >> 18;
	out[1] = 0x80 | (cp >> 12 & 0x3f);
	out[2] = 0x80 | (cp >> 6 & 0x3f);
	out[3] = 0x80 | (cp & 0x3f);
	return 4;
}

char *canvas_dump(const struct canvas *c)
{
	char *out = xmalloc((size_t)c->h * (c->w * 4 + 1) + 1), *p = out;

	for (int y = 0; y < c->h; y++) {
		char *end = p;

		for (int x = 0; x < c->w; x++) {
			uint32_t ch = c->cells[(size_t)y * c->w + x].ch;

			if (!ch)
				continue;
			p += canvas_utf8_encode(ch, p);
			if (ch != ' ')
				end = p;
		}
		p = end;
		*p++ = '\n';
	}
	*p = 0;
	return out;
}
