/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/luma.c: the small picture from a Y plane or a JPEG. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "luma.h"

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A textured, noisy picture: what a camera sees, not a flat one. */
static uint8_t *picture(int w, int h, int stride)
{
	uint8_t *y = malloc((size_t)stride * h);
	uint32_t r = 99;

	assert_non_null(y);
	memset(y, 0xff, (size_t)stride * h);
	for (int j = 0; j < h; j++)
		for (int i = 0; i < w; i++) {
			int v = 40 + (i * 150) / w +
				((i / 23 + j / 17) % 4) * 15 +
				(int)(rnd(&r) % 21) - 10;
			if ((i - w / 2) * (i - w / 2) +
				    (j - h / 2) * (j - h / 2) <
			    (h / 5) * (h / 5))
				v = 230 - v / 4;
			y[(size_t)j * stride + i] = (uint8_t)(v < 0	? 0
							      : v > 255 ? 255
									: v);
		}
	return y;
}

static void test_block(void **state)
{
	(void)state;
	assert_int_equal(luma_block(1280), 8);
	assert_int_equal(luma_block(1920), 8);
	assert_int_equal(luma_block(640), 4);
	assert_int_equal(luma_block(320), 2);
	assert_int_equal(luma_block(160), 1);
	assert_int_equal(luma_block(100), 1);
	assert_int_equal(luma_block(3840), 16);
	assert_int_equal(luma_block(2592), 16);
}

/* Block means, exact, with a stride wider than the picture (its padding
 * must not count) and cut blocks at the right and bottom edges. */
static void test_plane_average(void **state)
{
	const int w = 1283, h = 723, stride = 1300;
	uint8_t *y = malloc((size_t)stride * h);
	struct luma l;
	uint8_t *first;

	(void)state;
	assert_non_null(y);
	memset(y, 0xff, (size_t)stride * h);
	for (int j = 0; j < h; j++)
		for (int i = 0; i < w; i++)
			/* Inside a block: two values whose mean is v. */
			y[(size_t)j * stride + i] =
				(uint8_t)((i / 8 * 3 + j / 8 * 7) % 200 + 20 +
					  ((i + j) % 2 ? 10 : -10));
	luma_init(&l);
	assert_int_equal(luma_from_plane(&l, y, w, h, stride), 0);
	assert_int_equal(l.width, 161);
	assert_int_equal(l.height, 91);
	assert_int_equal(l.block, 8);
	assert_int_equal(l.src_width, w);
	assert_int_equal(l.src_height, h);
	for (int j = 0; j < 90; j++)
		for (int i = 0; i < 160; i++)
			assert_int_equal(l.pixels[j * 161 + i],
					 (i * 3 + j * 7) % 200 + 20);
	/* The cut column has 3 pixels a row: the mean of what is there. */
	for (int j = 0; j < 90; j++) {
		int sum = 0;
		for (int jj = 0; jj < 8; jj++)
			for (int i = 1280; i < 1283; i++)
				sum += y[(size_t)(8 * j + jj) * stride + i];
		assert_int_equal(l.pixels[j * 161 + 160], (sum + 12) / 24);
	}
	/* The same size again: the same buffer, no allocation. */
	first = l.pixels;
	assert_int_equal(luma_from_plane(&l, y, w, h, stride), 0);
	assert_ptr_equal(l.pixels, first);
	/* A small source: block 1, a copy. */
	assert_int_equal(luma_from_plane(&l, y, 100, 50, stride), 0);
	assert_int_equal(l.width, 100);
	assert_int_equal(l.height, 50);
	for (int j = 0; j < 50; j++)
		assert_memory_equal(l.pixels + j * 100, y + (size_t)j * stride,
				    100);
	luma_free(&l);
	free(y);
}

static void test_plane_bad(void **state)
{
	const uint8_t y[64] = {0};
	struct luma l;

	(void)state;
	luma_init(&l);
	errno = 0;
	assert_int_equal(luma_from_plane(&l, y, 8, 8, 4), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(luma_from_plane(&l, y, 0, 8, 8), -1);
	assert_int_equal(luma_from_plane(&l, y, 8, -1, 8), -1);
	assert_int_equal(luma_from_plane(&l, NULL, 8, 8, 8), -1);
	assert_int_equal(luma_from_plane(&l, y, 20000, 1, 20000), -1);
	assert_int_equal(l.width, 0);
	assert_int_equal(l.height, 0);
	luma_free(&l);
	luma_free(NULL);
}

/* JPEG of a Y plane with grey chroma.  TurboJPEG reads the planes padded
 * to whole chroma samples, so the plane is copied with its edge repeated. */
static unsigned char *encode_flags(const uint8_t *y, int w, int h,
				   unsigned long *len, int flags)
{
	tjhandle tj = tjInitCompress();
	int pw = tjPlaneWidth(0, w, TJSAMP_420);
	int ph = tjPlaneHeight(0, h, TJSAMP_420);
	int cw = tjPlaneWidth(1, w, TJSAMP_420);
	int ch = tjPlaneHeight(1, h, TJSAMP_420);
	uint8_t *py = malloc((size_t)pw * ph);
	uint8_t *c = malloc((size_t)cw * ch);
	const unsigned char *planes[3] = {py, c, c};
	int strides[3] = {pw, cw, cw};
	unsigned char *jpeg = NULL;

	assert_non_null(tj);
	assert_non_null(py);
	assert_non_null(c);
	for (int j = 0; j < ph; j++)
		for (int i = 0; i < pw; i++)
			py[(size_t)j * pw + i] =
				y[(size_t)(j < h ? j : h - 1) * w +
				  (i < w ? i : w - 1)];
	memset(c, 128, (size_t)cw * ch);
	*len = 0;
	assert_int_equal(tjCompressFromYUVPlanes(tj, planes, w, strides, h,
						 TJSAMP_420, &jpeg, len, 80,
						 flags),
			 0);
	tjDestroy(tj);
	free(py);
	free(c);
	return jpeg;
}

static unsigned char *encode(const uint8_t *y, int w, int h, unsigned long *len)
{
	return encode_flags(y, w, h, len, 0);
}

/* The same picture as a Y plane and as a JPEG (quality 80, 4:2:0): the
 * same small picture within the JPEG's quantisation. */
static void test_jpeg_matches_plane(void **state)
{
	static const int sizes[][2] = {{1280, 720},
				       {1920, 1080},
				       {640, 480},
				       {3840, 2160},
				       {1283, 723}};

	(void)state;
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		int w = sizes[k][0], h = sizes[k][1];
		uint8_t *y = picture(w, h, w);
		unsigned long len;
		unsigned char *jpeg = encode(y, w, h, &len);
		struct luma a, b;
		long sum = 0;
		int max = 0, n;

		luma_init(&a);
		luma_init(&b);
		assert_int_equal(luma_from_plane(&a, y, w, h, w), 0);
		assert_int_equal(luma_from_jpeg(&b, jpeg, len), 0);
		assert_int_equal(a.width, b.width);
		assert_int_equal(a.height, b.height);
		assert_int_equal(a.block, b.block);
		assert_int_equal(b.src_width, w);
		assert_int_equal(b.src_height, h);
		n = a.width * a.height;
		for (int i = 0; i < n; i++) {
			int d = abs((int)a.pixels[i] - b.pixels[i]);
			sum += d;
			max = d > max ? d : max;
		}
		print_message("# %dx%d -> %dx%d: mean |diff| %.2f, max %d\n", w,
			      h, a.width, a.height, (double)sum / n, max);
		assert_true(sum <= n); /* mean difference at most 1 level */
		assert_true(max <= 6);
		luma_free(&a);
		luma_free(&b);
		tjFree(jpeg);
		free(y);
	}
}

/* Baseline (read by jpegdc.c) and progressive (left to TurboJPEG): both
 * give exactly TurboJPEG's 1/8 grey picture. */
static void test_jpeg_both_paths(void **state)
{
	const int w = 1280, h = 720, sw = 160, sh = 90;
	uint8_t *y = picture(w, h, w), *ref = malloc(sw * sh);
	tjhandle tj = tjInitDecompress();

	(void)state;
	assert_non_null(ref);
	assert_non_null(tj);
	for (int progressive = 0; progressive < 2; progressive++) {
		unsigned long len;
		unsigned char *jpeg = encode_flags(
			y, w, h, &len, progressive ? TJFLAG_PROGRESSIVE : 0);
		struct luma l;

		luma_init(&l);
		assert_int_equal(tjDecompress2(tj, jpeg, len, ref, sw, sw, sh,
					       TJPF_GRAY, 0),
				 0);
		assert_int_equal(luma_from_jpeg(&l, jpeg, len), 0);
		assert_int_equal(l.width, sw);
		assert_int_equal(l.height, sh);
		assert_memory_equal(l.pixels, ref, (size_t)sw * sh);
		luma_free(&l);
		tjFree(jpeg);
	}
	tjDestroy(tj);
	free(ref);
	free(y);
}

static void test_jpeg_corrupt(void **state)
{
	const int w = 640, h = 360;
	uint8_t *y = picture(w, h, w);
	unsigned long len;
	unsigned char *jpeg = encode(y, w, h, &len);
	uint8_t garbage[4096];
	uint32_t r = 7;
	struct luma l;

	(void)state;
	luma_init(&l);
	for (size_t i = 0; i < sizeof(garbage); i++)
		garbage[i] = (uint8_t)rnd(&r);
	errno = 0;
	assert_int_equal(luma_from_jpeg(&l, garbage, sizeof(garbage)), -1);
	assert_int_equal(errno, EBADMSG);
	/* A good one, then a truncated one: an error, not half a picture. */
	assert_int_equal(luma_from_jpeg(&l, jpeg, len), 0);
	assert_int_equal(l.width, 160);
	errno = 0;
	assert_int_equal(luma_from_jpeg(&l, jpeg, len / 2), -1);
	assert_int_equal(errno, EBADMSG);
	assert_int_equal(l.width, 0);
	assert_int_equal(luma_from_jpeg(&l, jpeg, 0), -1);
	assert_int_equal(luma_from_jpeg(&l, NULL, 10), -1);
	/* A header that promises a picture, and no more. */
	assert_int_equal(luma_from_jpeg(&l, jpeg, 200), -1);
	assert_int_equal(luma_from_jpeg(&l, jpeg, len), 0);
	luma_free(&l);
	tjFree(jpeg);
	free(y);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_block),
		cmocka_unit_test(test_plane_average),
		cmocka_unit_test(test_plane_bad),
		cmocka_unit_test(test_jpeg_matches_plane),
		cmocka_unit_test(test_jpeg_both_paths),
		cmocka_unit_test(test_jpeg_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
