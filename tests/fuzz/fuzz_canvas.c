// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: text from outside (thread names, symbols, file names) drawn onto the TUI
 * canvas. Whatever the bytes, every cell must hold something safe to send to a terminal (no
 * control character, no escape) and drawing must stay inside the canvas.
 * Input: width, flags, then the text.
 */
#include <locale.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "tui/canvas.h"

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	setlocale(LC_ALL, "C.UTF-8");
	return 0;
}

static void check(const struct canvas *c)
{
	for (int y = 0; y < c->h; y++) {
		for (int x = 0; x < c->w; x++) {
			const struct canvas_cell *cell = canvas_at(c, y, x);

			if (cell->ch && (cell->ch < 0x20 || cell->ch == 0x7f ||
					 (cell->ch >= 0x80 && cell->ch < 0xa0)))
				__builtin_trap();
			if (c->ascii && cell->ch >= 0x80)
				__builtin_trap();
			if (cell->role >= CANVAS_ROLE_NR)
				__builtin_trap();
		}
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct canvas c;
	char *s, *dump;
	int w;

	if (size < 2)
		return 0;
	w = data[0] % 40 + 1;
	s = malloc(size - 1);
	memcpy(s, data + 2, size - 2);
	s[size - 2] = 0;
	canvas_init(&c, w, 3, data[1] & 1);
	canvas_put(&c, 0, (data[1] >> 1) % 4, -1, CANVAS_DEFAULT, s);
	canvas_put_fit(&c, 1, (data[1] >> 3) % 4, w - 1, CANVAS_FLAME_USER_A, s,
		       (data[1] & 0x20) ? CANVAS_RIGHT : 0);
	canvas_printf(&c, 2, 0, -1, CANVAS_DIM, "%s|%s", s, s);
	if (canvas_width(&c, s) < 0)
		__builtin_trap();
	check(&c);
	dump = canvas_dump(&c);
	if (strchr(dump, '\x1b'))
		__builtin_trap();
	free(dump);
	canvas_fini(&c);
	free(s);
	return 0;
}
