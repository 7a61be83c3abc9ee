/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/overlay.c: the burned-in text and its box. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "font.h"
#include "overlay.h"
#include "testimg.h"

static void img_alloc(struct img *im, int w, int h, uint8_t y, uint8_t c)
{
	int cw = (w + 1) / 2;
	size_t ys = (size_t)w * h;

	img_alloc_i420(im, w, h, h, w, cw);
	memset(im->mem, y, ys);
	memset(im->mem + ys, c, 2 * (size_t)cw * ((h + 1) / 2));
}

static uint8_t Y(struct img *im, int x, int y)
{
	return im->pic.planes[0][y * im->pic.strides[0] + x];
}

static uint8_t U(struct img *im, int x, int y)
{
	return im->pic.planes[1][y * im->pic.strides[1] + x];
}

static void test_scale_and_measure(void **state)
{
	int w, h;

	(void)state;
	assert_int_equal(overlay_scale(120), 1);
	assert_int_equal(overlay_scale(360), 1);
	assert_int_equal(overlay_scale(480), 2);
	assert_int_equal(overlay_scale(720), 3);
	assert_int_equal(overlay_scale(1080), 4);
	assert_int_equal(overlay_scale(100000), 16);
	font_measure("12:34", 3, &w, &h);
	assert_int_equal(w, (5 * 6 - 1) * 3);
	assert_int_equal(h, 7 * 3);
	font_measure("", 3, &w, &h);
	assert_int_equal(w, 0);
}

/* '-' at scale 2: its one row of ink is white, the box around it dark,
 * the chroma under the box neutral, everything else untouched. */
static void test_glyph_box_chroma(void **state)
{
	struct img im;
	int x0 = 10, y0 = 10, s = 2;

	(void)state;
	img_alloc(&im, 64, 48, 128, 200);
	overlay_draw_text(&im.pic, x0, y0, s, "-", 1);
	/* The ink: row 3 of the glyph, all five columns, scaled. */
	for (int dy = 0; dy < s; dy++)
		for (int x = x0; x < x0 + 5 * s; x++)
			assert_int_equal(Y(&im, x, y0 + 3 * s + dy), 235);
	/* Inside the box but not ink: darkened (128 / 4 + 12). */
	assert_int_equal(Y(&im, x0, y0), 44);
	assert_int_equal(Y(&im, x0 - 2 * s, y0 - 2 * s), 44);
	/* Outside the box: untouched. */
	assert_int_equal(Y(&im, 0, 0), 128);
	assert_int_equal(Y(&im, 40, 40), 128);
	assert_int_equal(Y(&im, x0 + 5 * s + 2 * s + 1, y0), 128);
	/* Chroma under the box neutral, elsewhere untouched. */
	assert_int_equal(U(&im, x0 / 2, y0 / 2), 128);
	assert_int_equal(U(&im, 0, 0), 200);
	assert_int_equal(U(&im, 30, 20), 200);
	free(im.mem);
}

/* A character the font lacks is drawn as '?'. */
static void test_unknown_char(void **state)
{
	struct img a, b;

	(void)state;
	img_alloc(&a, 40, 20, 90, 128);
	img_alloc(&b, 40, 20, 90, 128);
	overlay_draw_text(&a.pic, 4, 4, 1, "\x01", 0);
	overlay_draw_text(&b.pic, 4, 4, 1, "?", 0);
	assert_memory_equal(a.mem, b.mem, 40 * 20);
	/* And '?' differs from a digit: the font is really indexed. */
	overlay_draw_text(&a.pic, 4, 4, 1, "8", 0);
	assert_memory_not_equal(a.mem, b.mem, 40 * 20);
	free(a.mem);
	free(b.mem);
}

/* Text larger than the picture, or partly outside it, is clipped (ASan
 * sees any write out of the planes). */
static void test_clipping(void **state)
{
	struct img im;

	(void)state;
	img_alloc(&im, 17, 11, 100, 100);
	overlay_draw_text(&im.pic, 2, 2, 3, "2026-11-23 23:59:59", 1);
	overlay_draw_text(&im.pic, -7, -5, 2, "WXYZ", 1);
	overlay_draw_text(&im.pic, 15, 9, 4, "@@@", 1);
	overlay_draw_text(&im.pic, 100, 100, 1, "far away", 1);
	/* Some ink landed inside. */
	int ink = 0;
	for (int i = 0; i < 17 * 11; i++)
		ink += im.mem[i] == 235;
	assert_true(ink > 0);
	free(im.mem);
}

static void test_draw_time(void **state)
{
	struct overlay ov;
	struct img im;
	char big[OVERLAY_FMT_MAX + 1];

	(void)state;
	setenv("TZ", "UTC", 1);
	tzset();
	assert_int_equal(overlay_init(&ov, "%Y-%m-%d %H:%M:%S"), 0);
	img_alloc(&im, 320, 240, 128, 128);
	overlay_draw(&ov, &im.pic, 86400LL * 1000000000 + 5);
	assert_string_equal(overlay_text(&ov), "1970-01-02 00:00:00");
	/* Drawn near the top-left corner. */
	int ink = 0;
	for (int y = 0; y < 30; y++)
		for (int x = 0; x < 320; x++)
			ink += Y(&im, x, y) == 235;
	assert_true(ink > 50);
	/* The next second gives the next text. */
	overlay_draw(&ov, &im.pic, 86401LL * 1000000000);
	assert_string_equal(overlay_text(&ov), "1970-01-02 00:00:01");
	free(im.mem);

	/* Disabled: the picture is left alone. */
	assert_int_equal(overlay_init(&ov, ""), 0);
	img_alloc(&im, 64, 64, 77, 128);
	overlay_draw(&ov, &im.pic, 0);
	for (int i = 0; i < 64 * 64; i++)
		assert_int_equal(im.mem[i], 77);
	free(im.mem);
	assert_int_equal(overlay_init(&ov, NULL), 0);

	/* Too long a format is refused. */
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	errno = 0;
	assert_int_equal(overlay_init(&ov, big), -1);
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_and_measure),
		cmocka_unit_test(test_glyph_box_chroma),
		cmocka_unit_test(test_unknown_char),
		cmocka_unit_test(test_clipping),
		cmocka_unit_test(test_draw_time),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
