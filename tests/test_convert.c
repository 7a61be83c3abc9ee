/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/convert.c: YUYV and NV12 to I420, then to JPEG. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "convert.h"

/* Deterministic picture: Y a diagonal ramp, U and V slow ramps, so a JPEG
 * round trip stays close to it. */
static uint8_t pic_y(int x, int y)
{
	return (uint8_t)(16 + (x + 2 * y) % 200);
}
static uint8_t pic_u(int x, int y)
{
	return (uint8_t)(64 + (x + y) / 4 % 128);
}
static uint8_t pic_v(int x, int y)
{
	return (uint8_t)(192 - (x / 2 + y) / 4 % 128);
}

/* A YUYV picture whose chroma differs between the two rows of each pair,
 * so the vertical averaging is visible.  stride may exceed the minimum. */
static uint8_t *make_yuyv(int w, int h, int stride)
{
	uint8_t *p = calloc((size_t)stride, (size_t)h);

	assert_non_null(p);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			uint8_t *m = p + (size_t)y * stride + 4 * (x / 2);

			m[(x & 1) ? 2 : 0] = pic_y(x, y);
			m[1] = pic_u(x & ~1, y);
			m[3] = pic_v(x & ~1, y);
		}
	return p;
}

static void check_yuyv(int w, int h, int stride)
{
	uint8_t *src = make_yuyv(w, h, stride);
	struct convert c = {0};
	struct picture in = {.kind = PICTURE_YUYV, .width = w, .height = h};
	struct picture out;
	int cw = (w + 1) / 2, ch = (h + 1) / 2;

	in.planes[0] = src;
	in.strides[0] = stride;
	assert_int_equal(convert_to_i420(&c, &in, &out), 0);
	assert_int_equal(out.kind, PICTURE_I420);
	assert_int_equal(out.width, w);
	assert_int_equal(out.height, h);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			assert_int_equal(out.planes[0][y * out.strides[0] + x],
					 pic_y(x, y));
	/* The padding TurboJPEG reads repeats the edge. */
	assert_true(out.strides[0] >= 2 * cw);
	for (int y = 0; y < 2 * ch; y++)
		for (int x = w; x < 2 * cw; x++)
			assert_int_equal(out.planes[0][y * out.strides[0] + x],
					 pic_y(w - 1, y < h ? y : h - 1));
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++) {
			int y1 = 2 * y + 1 < h ? 2 * y + 1 : 2 * y;
			int u = (pic_u(2 * x, 2 * y) + pic_u(2 * x, y1) + 1) /
				2;
			int v = (pic_v(2 * x, 2 * y) + pic_v(2 * x, y1) + 1) /
				2;

			assert_int_equal(out.planes[1][y * out.strides[1] + x],
					 u);
			assert_int_equal(out.planes[2][y * out.strides[2] + x],
					 v);
		}
	convert_free(&c);
	free(src);
}

static void test_yuyv_even(void **state)
{
	(void)state;
	check_yuyv(64, 48, 128);
}

static void test_yuyv_odd_and_padded(void **state)
{
	(void)state;
	check_yuyv(33, 17, 4 * 17 + 12);
	check_yuyv(1, 1, 4);
	check_yuyv(3, 2, 8);
}

static void check_nv12(int w, int h, int ystride, int uvstride)
{
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	uint8_t *yp = calloc((size_t)ystride, (size_t)h);
	uint8_t *uvp = calloc((size_t)uvstride, (size_t)ch);
	struct convert c = {0};
	struct picture in = {.kind = PICTURE_NV12, .width = w, .height = h};
	struct picture out;

	assert_non_null(yp);
	assert_non_null(uvp);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			yp[y * ystride + x] = pic_y(x, y);
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++) {
			uvp[y * uvstride + 2 * x] = pic_u(2 * x, 2 * y);
			uvp[y * uvstride + 2 * x + 1] = pic_v(2 * x, 2 * y);
		}
	in.planes[0] = yp;
	in.planes[1] = uvp;
	in.strides[0] = ystride;
	in.strides[1] = uvstride;
	assert_int_equal(convert_to_i420(&c, &in, &out), 0);
	assert_int_equal(out.kind, PICTURE_I420);
	if (((w | h) & 1) == 0)
		assert_ptr_equal(out.planes[0], yp); /* borrowed, not copied */
	else
		assert_ptr_not_equal(out.planes[0], yp);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			assert_int_equal(out.planes[0][y * out.strides[0] + x],
					 pic_y(x, y));
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++) {
			assert_int_equal(out.planes[1][y * out.strides[1] + x],
					 pic_u(2 * x, 2 * y));
			assert_int_equal(out.planes[2][y * out.strides[2] + x],
					 pic_v(2 * x, 2 * y));
		}
	convert_free(&c);
	free(yp);
	free(uvp);
}

static void test_nv12(void **state)
{
	(void)state;
	check_nv12(64, 48, 64, 64);
	check_nv12(35, 19, 48, 40);
	check_nv12(1, 1, 1, 2);
}

static void test_i420_passthrough_and_errors(void **state)
{
	struct convert c = {0};
	uint8_t buf[64];
	struct picture in = {.kind = PICTURE_I420, .width = 4, .height = 4};
	struct picture out;

	(void)state;
	in.planes[0] = buf;
	assert_int_equal(convert_to_i420(&c, &in, &out), 0);
	assert_ptr_equal(out.planes[0], buf);
	assert_null(c.buf); /* nothing allocated for I420 */

	in.kind = PICTURE_JPEG;
	errno = 0;
	assert_int_equal(convert_to_i420(&c, &in, &out), -1);
	assert_int_equal(errno, EINVAL);
	in.kind = PICTURE_YUYV;
	in.strides[0] = 7; /* under 4 * ceil(4 / 2) */
	assert_int_equal(convert_to_i420(&c, &in, &out), -1);
	in.strides[0] = 8;
	in.width = 0;
	assert_int_equal(convert_to_i420(&c, &in, &out), -1);
	in.width = 100000;
	assert_int_equal(convert_to_i420(&c, &in, &out), -1);
	in.kind = PICTURE_NV12;
	in.width = 4;
	in.planes[1] = NULL;
	assert_int_equal(convert_to_i420(&c, &in, &out), -1);
	convert_free(&c);
	convert_free(&c); /* twice is fine */

	assert_int_equal(convert_frame_size(PICTURE_YUYV, 33, 17), 4 * 17 * 17);
	assert_int_equal(convert_frame_size(PICTURE_NV12, 33, 17),
			 33 * 17 + 2 * 17 * 9);
	assert_int_equal(convert_frame_size(PICTURE_JPEG, 33, 17), 0);
}

/* The buffer is reused: a second picture of the same size allocates
 * nothing new. */
static void test_buffer_reused(void **state)
{
	uint8_t *src = make_yuyv(32, 32, 64);
	struct convert c = {0};
	struct picture in = {.kind = PICTURE_YUYV, .width = 32, .height = 32};
	struct picture out;
	uint8_t *first;

	(void)state;
	in.planes[0] = src;
	in.strides[0] = 64;
	assert_int_equal(convert_to_i420(&c, &in, &out), 0);
	first = c.buf;
	assert_int_equal(convert_to_i420(&c, &in, &out), 0);
	assert_ptr_equal(c.buf, first);
	convert_free(&c);
	free(src);
}

/* YUYV and NV12 pictures end up as JPEGs that decode (libjpeg-turbo) to
 * the picture that went in, within the tolerance of quality 90. */
static void jpeg_round_trip(enum picture_kind kind, int w, int h)
{
	struct convert c = {0};
	struct picture in = {.kind = kind, .width = w, .height = h};
	struct picture out;
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	uint8_t *yuyv = NULL, *yp = NULL, *uvp = NULL;
	tjhandle tj = tjInitCompress(), tjd = tjInitDecompress();
	unsigned char *jpeg = NULL;
	unsigned long jlen = 0;
	uint8_t *dy, *du, *dv;
	unsigned char *dplanes[3];
	const unsigned char *cplanes[3];
	/* libjpeg-turbo writes whole MCU rows: size the planes its way. */
	int pw = tjPlaneWidth(0, w, TJSAMP_420),
	    ph = tjPlaneHeight(0, h, TJSAMP_420);
	int dstrides[3] = {pw, cw, cw};
	double err_y = 0, err_c = 0;

	assert_non_null(tj);
	assert_non_null(tjd);
	if (kind == PICTURE_YUYV) {
		yuyv = make_yuyv(w, h, 4 * cw);
		in.planes[0] = yuyv;
		in.strides[0] = 4 * cw;
	} else {
		yp = malloc((size_t)w * h);
		uvp = malloc((size_t)2 * cw * ch);
		assert_non_null(yp);
		assert_non_null(uvp);
		for (int y = 0; y < h; y++)
			for (int x = 0; x < w; x++)
				yp[y * w + x] = pic_y(x, y);
		for (int y = 0; y < ch; y++)
			for (int x = 0; x < cw; x++) {
				uvp[y * 2 * cw + 2 * x] = pic_u(2 * x, 2 * y);
				uvp[y * 2 * cw + 2 * x + 1] = pic_v(2 * x,
								    2 * y);
			}
		in.planes[0] = yp;
		in.planes[1] = uvp;
		in.strides[0] = w;
		in.strides[1] = 2 * cw;
	}
	assert_int_equal(convert_to_i420(&c, &in, &out), 0);
	cplanes[0] = out.planes[0];
	cplanes[1] = out.planes[1];
	cplanes[2] = out.planes[2];
	assert_int_equal(tjCompressFromYUVPlanes(tj, cplanes, w, out.strides, h,
						 TJSAMP_420, &jpeg, &jlen, 90,
						 0),
			 0);

	assert_int_equal(tjPlaneWidth(1, w, TJSAMP_420), cw);
	assert_int_equal(tjPlaneHeight(1, h, TJSAMP_420), ch);
	dy = malloc((size_t)pw * ph);
	du = malloc((size_t)cw * ch);
	dv = malloc((size_t)cw * ch);
	assert_non_null(dy);
	assert_non_null(du);
	assert_non_null(dv);
	dplanes[0] = dy;
	dplanes[1] = du;
	dplanes[2] = dv;
	assert_int_equal(tjDecompressToYUVPlanes(tjd, jpeg, jlen, dplanes, w,
						 dstrides, h, 0),
			 0);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++)
			err_y += abs(dy[y * pw + x] -
				     out.planes[0][y * out.strides[0] + x]);
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++) {
			err_c += abs(du[y * cw + x] -
				     out.planes[1][y * out.strides[1] + x]);
			err_c += abs(dv[y * cw + x] -
				     out.planes[2][y * out.strides[2] + x]);
		}
	err_y /= (double)w * h;
	print_message("# %dx%d kind %d: mean error y %.2f c %.2f\n", w, h,
		      (int)kind, err_y, err_c / (2.0 * cw * ch));
	err_c /= 2.0 * cw * ch;
	/* Quality 90 on smooth ramps: mean error well under 3 levels. */
	assert_true(err_y < 3.0);
	assert_true(err_c < 3.0);
	/* And the converted Y is the picture's, so the JPEG shows it. */
	assert_int_equal(out.planes[0][(h / 2) * out.strides[0] + w / 2],
			 pic_y(w / 2, h / 2));

	tjFree(jpeg);
	tjDestroy(tj);
	tjDestroy(tjd);
	free(dy);
	free(du);
	free(dv);
	free(yuyv);
	free(yp);
	free(uvp);
	convert_free(&c);
}

static void test_yuyv_to_jpeg(void **state)
{
	(void)state;
	jpeg_round_trip(PICTURE_YUYV, 320, 240);
	jpeg_round_trip(PICTURE_YUYV, 99, 51);
}

static void test_nv12_to_jpeg(void **state)
{
	(void)state;
	jpeg_round_trip(PICTURE_NV12, 320, 240);
	jpeg_round_trip(PICTURE_NV12, 77, 45);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_yuyv_even),
		cmocka_unit_test(test_yuyv_odd_and_padded),
		cmocka_unit_test(test_nv12),
		cmocka_unit_test(test_i420_passthrough_and_errors),
		cmocka_unit_test(test_buffer_reused),
		cmocka_unit_test(test_yuyv_to_jpeg),
		cmocka_unit_test(test_nv12_to_jpeg),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
