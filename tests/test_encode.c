/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/encode.c: I420 planes to JPEG with TurboJPEG. */
#include "test.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "encode.h"
#include "testimg.h"
#include "transform.h"

/* I420 with the Y plane padded to even dimensions (encode.h's contract),
 * filled with smooth gradients and a few sharp edges. */
static void img_make(struct img *im, int w, int h)
{
	int pw = (w + 1) & ~1, ph = (h + 1) & ~1;
	int cw = pw / 2, ch = ph / 2;

	img_alloc_i420(im, w, h, ph, pw, cw);
	for (int y = 0; y < ph; y++)
		for (int x = 0; x < pw; x++)
			im->mem[y * pw + x] =
				(uint8_t)((x / 40 + y / 40) % 2
						  ? 40 + x * 150 / pw
						  : 200 - y * 100 / ph);
	for (int y = 0; y < ch; y++)
		for (int x = 0; x < cw; x++) {
			im->pic.planes[1][y * cw + x] = (uint8_t)(90 +
								  x * 60 / cw);
			im->pic.planes[2][y * cw + x] = (uint8_t)(160 -
								  y * 60 / ch);
		}
}

/* Decodes, checks the size and subsampling, returns the luma PSNR. */
static double decode_psnr(const uint8_t *jpeg, size_t len, struct img *ref,
			  int want_w, int want_h)
{
	tjhandle tj = tjInitDecompress();
	int w, h, ss, cs;
	double se = 0;
	uint8_t *y;

	assert_non_null(tj);
	assert_int_equal(tjDecompressHeader3(tj, jpeg, len, &w, &h, &ss, &cs),
			 0);
	assert_int_equal(w, want_w);
	assert_int_equal(h, want_h);
	assert_int_equal(ss, TJSAMP_420);
	y = malloc(tjBufSizeYUV2(w, 1, h, TJSAMP_420));
	assert_non_null(y);
	/* The Y plane comes first in a packed YUV buffer. */
	assert_int_equal(tjDecompressToYUV2(tj, jpeg, len, y, w, 1, h,
					    TJFLAG_STOPONWARNING),
			 0);
	if (ref != NULL) {
		/* Decoded planes are padded like the encoder's input. */
		int ys = tjPlaneWidth(0, w, TJSAMP_420);
		for (int r = 0; r < h; r++)
			for (int x = 0; x < w; x++) {
				double d = (double)y[r * ys + x] -
					   ref->pic.planes
						   [0][r * ref->pic.strides[0] +
						       x];
				se += d * d;
			}
	}
	free(y);
	tjDestroy(tj);
	if (ref == NULL || se == 0)
		return 99;
	return 10 * log10(255.0 * 255.0 / (se / ((double)w * h)));
}

static void test_encode_decodes(void **state)
{
	struct encoder *e;
	struct img im;
	size_t cap = encoder_bound(640, 360);
	uint8_t *out = malloc(cap);
	long n;
	double psnr;

	(void)state;
	assert_non_null(out);
	assert_true(cap > 640 * 360);
	img_make(&im, 640, 360);
	assert_int_equal(encoder_create(&e, 85, 0), 0);
	n = encoder_encode(e, &im.pic, out, cap);
	assert_true(n > 100);
	assert_int_equal(out[0], 0xff);
	assert_int_equal(out[1], 0xd8);
	assert_int_equal(out[n - 2], 0xff);
	assert_int_equal(out[n - 1], 0xd9);
	psnr = decode_psnr(out, (size_t)n, &im, 640, 360);
	assert_true(psnr > 35.0);
	assert_int_equal(encoder_bounced(e), 0);
	encoder_destroy(e);
	free(im.mem);
	free(out);
}

static void test_odd_size(void **state)
{
	struct encoder *e;
	struct img im;
	size_t cap = encoder_bound(641, 361);
	uint8_t *out = malloc(cap);
	long n;

	(void)state;
	img_make(&im, 641, 361);
	assert_int_equal(encoder_create(&e, 85, 0), 0);
	n = encoder_encode(e, &im.pic, out, cap);
	assert_true(n > 0);
	assert_true(decode_psnr(out, (size_t)n, &im, 641, 361) > 35.0);
	encoder_destroy(e);
	free(im.mem);
	free(out);
}

/* A destination below the worst case goes through the private buffer:
 * the same bytes when they fit, EMSGSIZE when they do not. */
static void test_small_destination(void **state)
{
	struct encoder *e;
	struct img im;
	size_t cap = encoder_bound(320, 240);
	uint8_t *direct = malloc(cap), *small;
	long n, m;

	(void)state;
	img_make(&im, 320, 240);
	assert_int_equal(encoder_create(&e, 70, 0), 0);
	n = encoder_encode(e, &im.pic, direct, cap);
	assert_true(n > 0);
	small = malloc((size_t)n);
	m = encoder_encode(e, &im.pic, small, (size_t)n);
	assert_int_equal(m, n);
	assert_memory_equal(small, direct, (size_t)n);
	assert_int_equal(encoder_bounced(e), 1);
	errno = 0;
	assert_int_equal(encoder_encode(e, &im.pic, small, (size_t)n - 1), -1);
	assert_int_equal(errno, EMSGSIZE);
	encoder_destroy(e);
	free(im.mem);
	free(direct);
	free(small);
}

/* Rotated by transform.c, the JPEG has the turned size. */
static void test_rotated(void **state)
{
	struct encoder *e;
	struct img im, rot;
	size_t cap = encoder_bound(360, 640);
	uint8_t *out = malloc(cap);
	long n;

	(void)state;
	img_make(&im, 640, 360);
	img_make(&rot, 360, 640);
	transform_i420(&im.pic, &rot.pic, 90, 0, 0);
	assert_int_equal(encoder_create(&e, 85, 0), 0);
	n = encoder_encode(e, &rot.pic, out, cap);
	assert_true(n > 0);
	assert_true(decode_psnr(out, (size_t)n, &rot, 360, 640) > 35.0);
	encoder_destroy(e);
	free(im.mem);
	free(rot.mem);
	free(out);
}

/* The fast DCT costs no visible quality at q85 (how CAPTURE_FASTDCT was
 * chosen is in bench/bench_encode.sh; this only guards the claim). */
static void test_fastdct_quality(void **state)
{
	struct encoder *acc, *fast;
	struct img im;
	size_t cap = encoder_bound(640, 360);
	uint8_t *out = malloc(cap);
	double pa, pf;
	long n;

	(void)state;
	img_make(&im, 640, 360);
	assert_int_equal(encoder_create(&acc, 85, 0), 0);
	assert_int_equal(encoder_create(&fast, 85, 1), 0);
	n = encoder_encode(acc, &im.pic, out, cap);
	pa = decode_psnr(out, (size_t)n, &im, 640, 360);
	n = encoder_encode(fast, &im.pic, out, cap);
	pf = decode_psnr(out, (size_t)n, &im, 640, 360);
	print_message("# PSNR accurate %.2f dB, fast %.2f dB\n", pa, pf);
	assert_true(pf > pa - 1.0);
	encoder_destroy(acc);
	encoder_destroy(fast);
	free(im.mem);
	free(out);
}

static void test_bad_input(void **state)
{
	struct encoder *e;
	struct picture p;
	uint8_t out[16];

	(void)state;
	errno = 0;
	assert_int_equal(encoder_create(&e, 0, 0), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(encoder_create(&e, 101, 0), -1);
	assert_int_equal(encoder_create(&e, 50, 0), 0);
	memset(&p, 0, sizeof(p));
	p.kind = PICTURE_JPEG;
	p.width = 16;
	p.height = 16;
	errno = 0;
	assert_int_equal(encoder_encode(e, &p, out, sizeof(out)), -1);
	assert_int_equal(errno, EINVAL);
	encoder_destroy(e);
	encoder_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_encode_decodes),
		cmocka_unit_test(test_odd_size),
		cmocka_unit_test(test_small_destination),
		cmocka_unit_test(test_rotated),
		cmocka_unit_test(test_fastdct_quality),
		cmocka_unit_test(test_bad_input),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
