// SPDX-License-Identifier: GPL-2.0-only
/* The TUI canvas: clipping, wide characters, ellipses, hostile bytes, ASCII mode, dumps. */
#include <locale.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <cmocka.h>

#include "tui/canvas.h"

static void expect(const struct canvas *c, const char *want)
{
	char *got = canvas_dump(c);

	assert_string_equal(got, want);
	free(got);
}

static void test_canvas_clip_and_fit(void **state)
{
	struct canvas c;

	canvas_init(&c, 10, 3, false);
	assert_int_equal(canvas_put(&c, 0, 6, -1, CANVAS_DEFAULT, "overflow"), 4);
	assert_int_equal(canvas_put_fit(&c, 1, 0, 6, CANVAS_DEFAULT, "function", 0), 6);
	canvas_put_fit(&c, 2, 0, 10, CANVAS_DEFAULT, "42", CANVAS_RIGHT);
	expect(&c, "      over\nfunct…\n        42\n");
	/* off the canvas: nothing, no crash */
	assert_int_equal(canvas_put(&c, 5, 0, -1, CANVAS_DEFAULT, "x"), 0);
	assert_null(canvas_at(&c, 3, 0));
	canvas_fini(&c);
}

static void test_canvas_wide_characters(void **state)
{
	struct canvas c;

	canvas_init(&c, 5, 2, false);
	assert_int_equal(canvas_width(&c, "计算"), 4);
	/* a wide character that would straddle the edge becomes a space */
	assert_int_equal(canvas_put(&c, 0, 0, -1, CANVAS_DEFAULT, "ab计算"), 4);
	expect(&c, "ab计\n\n");
	/* writing over half of a wide character blanks the other half */
	canvas_put(&c, 1, 0, -1, CANVAS_DEFAULT, "计算");
	canvas_putc(&c, 1, 1, CANVAS_DEFAULT, 'x');
	expect(&c, "ab计\n x算\n");
	canvas_fini(&c);
}

static void test_canvas_hostile_bytes(void **state)
{
	struct canvas c;

	canvas_init(&c, 20, 1, false);
	canvas_put(&c, 0, 0, -1, CANVAS_DEFAULT, "a\x1b[31mb\x07\xff\xc0\x80\xc2\x9b");
	expect(&c, "a?[31mb?????\n"); /* BEL, 0xff, 0xc0, 0x80, CSI (U+009B) */
	canvas_fini(&c);
	canvas_init(&c, 20, 1, true);
	canvas_put(&c, 0, 0, -1, CANVAS_DEFAULT, "naïve 计算");
	expect(&c, "na?ve ??\n");
	assert_int_equal(canvas_glyph(&c, CANVAS_GLYPH_ELLIPSIS), '~');
	canvas_fini(&c);
}

static void test_canvas_roles(void **state)
{
	struct canvas c;

	canvas_init(&c, 8, 1, false);
	canvas_put(&c, 0, 0, -1, CANVAS_HEADER, "abc");
	canvas_set_role(&c, 0, 1, 20, CANVAS_SELECTED);
	assert_int_equal(canvas_at(&c, 0, 0)->role, CANVAS_HEADER);
	assert_int_equal(canvas_at(&c, 0, 1)->role, CANVAS_SELECTED);
	assert_int_equal(canvas_at(&c, 0, 7)->role, CANVAS_SELECTED);
	assert_int_equal(canvas_at(&c, 0, 1)->ch, 'b');
	canvas_resize(&c, 3, 2);
	expect(&c, "\n\n");
	canvas_fini(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_canvas_clip_and_fit),
		cmocka_unit_test(test_canvas_wide_characters),
		cmocka_unit_test(test_canvas_hostile_bytes),
		cmocka_unit_test(test_canvas_roles),
	};

	if (!setlocale(LC_ALL, "C.UTF-8"))
		return 77;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
