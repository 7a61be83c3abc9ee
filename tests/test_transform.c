/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/transform.c: rotations and flips of I420 planes. */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "testimg.h"
#include "transform.h"

/* A picture with its own buffers, strides wider than the rows (and odd). */
static void img_alloc(struct img *im, int w, int h)
{
	img_alloc_i420(im, w, h, h, w + 3, (w + 1) / 2 + 5);
}

static int pw(const struct picture *p, int i)
{
	return i ? (p->width + 1) / 2 : p->width;
}

static int ph(const struct picture *p, int i)
{
	return i ? (p->height + 1) / 2 : p->height;
}

static uint8_t *px(struct picture *p, int i, int x, int y)
{
	return p->planes[i] + (long)y * p->strides[i] + x;
}

/* Every sample distinct enough to catch a wrong mapping. */
static void fill(struct img *im)
{
	for (int i = 0; i < 3; i++)
		for (int y = 0; y < ph(&im->pic, i); y++)
			for (int x = 0; x < pw(&im->pic, i); x++)
				*px(&im->pic, i, x,
				    y) = (uint8_t)(x * 7 + y * 31 + i * 85);
}

/* The reference, written the slow and obvious way: flip a copy, then
 * rotate it by quarter turns, each one a textbook clockwise turn. */
static void reference(struct img *src, struct img *out, int rotate, int hflip,
		      int vflip)
{
	struct img a, b;
	int w = src->pic.width, h = src->pic.height;

	img_alloc(&a, w, h);
	for (int i = 0; i < 3; i++)
		for (int y = 0; y < ph(&a.pic, i); y++)
			for (int x = 0; x < pw(&a.pic, i); x++) {
				int sx = hflip ? pw(&a.pic, i) - 1 - x : x;
				int sy = vflip ? ph(&a.pic, i) - 1 - y : y;
				*px(&a.pic, i, x, y) = *px(&src->pic, i, sx,
							   sy);
			}
	for (int turn = 0; turn < rotate / 90; turn++) {
		/* clockwise: new(x, y) = old(y, oldh - 1 - x) */
		img_alloc(&b, a.pic.height, a.pic.width);
		for (int i = 0; i < 3; i++)
			for (int y = 0; y < ph(&b.pic, i); y++)
				for (int x = 0; x < pw(&b.pic, i); x++)
					*px(&b.pic, i, x,
					    y) = *px(&a.pic, i, y,
						     ph(&a.pic, i) - 1 - x);
		free(a.mem);
		a = b;
	}
	*out = a;
}

static void check(int w, int h, int rotate, int hflip, int vflip)
{
	struct img src, want, got;
	int ow, oh;

	img_alloc(&src, w, h);
	fill(&src);
	reference(&src, &want, rotate, hflip, vflip);
	transform_size(rotate, w, h, &ow, &oh);
	assert_int_equal(ow, want.pic.width);
	assert_int_equal(oh, want.pic.height);
	img_alloc(&got, ow, oh);
	transform_i420(&src.pic, &got.pic, rotate, hflip, vflip);
	for (int i = 0; i < 3; i++)
		for (int y = 0; y < ph(&got.pic, i); y++)
			for (int x = 0; x < pw(&got.pic, i); x++)
				if (*px(&got.pic, i, x, y) !=
				    *px(&want.pic, i, x, y))
					fail_msg(
						"%dx%d rot %d h%d v%d: plane %d "
						"(%d,%d) is %u, want %u",
						w, h, rotate, hflip, vflip, i,
						x, y, *px(&got.pic, i, x, y),
						*px(&want.pic, i, x, y));
	free(src.mem);
	free(want.mem);
	free(got.mem);
}

static const int sizes[][2] = {
	{8, 6}, {5, 3}, {7, 9}, {1, 1}, {2, 1}, {33, 17}, {64, 40}, {65, 97},
};

static void test_all_combinations(void **state)
{
	(void)state;
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (int rot = 0; rot < 360; rot += 90)
			for (int f = 0; f < 4; f++)
				check(sizes[s][0], sizes[s][1], rot, f & 1,
				      f >> 1);
}

/* Four quarter turns give the picture back; so do two flips. */
static void test_round_trips(void **state)
{
	struct img a, b;

	(void)state;
	img_alloc(&a, 37, 23);
	fill(&a);
	img_alloc(&b, 23, 37);
	struct img c;
	img_alloc(&c, 37, 23);
	transform_i420(&a.pic, &b.pic, 90, 0, 0);
	transform_i420(&b.pic, &c.pic, 270, 0, 0);
	for (int i = 0; i < 3; i++)
		for (int y = 0; y < ph(&a.pic, i); y++)
			assert_memory_equal(px(&a.pic, i, 0, y),
					    px(&c.pic, i, 0, y),
					    (size_t)pw(&a.pic, i));
	/* hflip + vflip == 180 degrees */
	struct img d;
	img_alloc(&d, 37, 23);
	transform_i420(&a.pic, &c.pic, 180, 0, 0);
	transform_i420(&a.pic, &d.pic, 0, 1, 1);
	for (int i = 0; i < 3; i++)
		for (int y = 0; y < ph(&a.pic, i); y++)
			assert_memory_equal(px(&d.pic, i, 0, y),
					    px(&c.pic, i, 0, y),
					    (size_t)pw(&a.pic, i));
	free(a.mem);
	free(b.mem);
	free(c.mem);
	free(d.mem);
}

/* Spot checks by hand on a 3x2 luma plane: corners land where a person
 * turning a photo would expect them. */
static void test_corners(void **state)
{
	struct img a, b;

	(void)state;
	img_alloc(&a, 4, 2);
	fill(&a);
	img_alloc(&b, 2, 4);
	transform_i420(&a.pic, &b.pic, 90, 0, 0);
	/* clockwise: the bottom-left corner goes to the top-left */
	assert_int_equal(*px(&b.pic, 0, 0, 0), *px(&a.pic, 0, 0, 1));
	assert_int_equal(*px(&b.pic, 0, 1, 0), *px(&a.pic, 0, 0, 0));
	assert_int_equal(*px(&b.pic, 0, 1, 3), *px(&a.pic, 0, 3, 0));
	transform_i420(&a.pic, &b.pic, 270, 0, 0);
	/* counter-clockwise: the top-right corner goes to the top-left */
	assert_int_equal(*px(&b.pic, 0, 0, 0), *px(&a.pic, 0, 3, 0));
	free(b.mem);
	img_alloc(&b, 4, 2);
	transform_i420(&a.pic, &b.pic, 0, 1, 0);
	assert_int_equal(*px(&b.pic, 0, 0, 0), *px(&a.pic, 0, 3, 0));
	transform_i420(&a.pic, &b.pic, 0, 0, 1);
	assert_int_equal(*px(&b.pic, 0, 0, 0), *px(&a.pic, 0, 0, 1));
	free(a.mem);
	free(b.mem);
}

static void test_identity_and_size(void **state)
{
	int w, h;

	(void)state;
	assert_true(transform_is_identity(0, 0, 0));
	assert_false(transform_is_identity(90, 0, 0));
	assert_false(transform_is_identity(0, 1, 0));
	assert_false(transform_is_identity(0, 0, 1));
	transform_size(90, 640, 360, &w, &h);
	assert_int_equal(w, 360);
	assert_int_equal(h, 640);
	transform_size(180, 641, 361, &w, &h);
	assert_int_equal(w, 641);
	assert_int_equal(h, 361);
	transform_size(270, 641, 361, &w, &h);
	assert_int_equal(w, 361);
	assert_int_equal(h, 641);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_all_combinations),
		cmocka_unit_test(test_round_trips),
		cmocka_unit_test(test_corners),
		cmocka_unit_test(test_identity_and_size),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
