/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/jpegdc.c: the DC-only decoder gives exactly
 * TurboJPEG's 1/8 grey picture, and refuses what it does not handle. */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpegdc.h"

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* An RGB picture with texture, noise, colour, and pure black and white
 * areas (the clamps of the grey value). */
static uint8_t *picture(int w, int h, uint32_t seed)
{
	uint8_t *rgb = malloc((size_t)w * h * 3);

	assert_non_null(rgb);
	for (int j = 0; j < h; j++)
		for (int i = 0; i < w; i++) {
			uint8_t *p = rgb + ((size_t)j * w + i) * 3;
			int v = (i * 255) / (w > 1 ? w - 1 : 1);

			v += (int)(rnd(&seed) % 61) - 30;
			if ((i / 16 + j / 16) % 5 == 0)
				v = 0;
			else if ((i / 16 + j / 16) % 5 == 1)
				v = 255;
			v = v < 0 ? 0 : v > 255 ? 255 : v;
			p[0] = (uint8_t)v;
			p[1] = (uint8_t)((j * 255) / (h > 1 ? h - 1 : 1));
			p[2] = (uint8_t)(rnd(&seed) & 0xff);
		}
	return rgb;
}

/* TurboJPEG's encode; restart is TurboJPEG's TJ_RESTART ("" for none,
 * "4B": every 4 MCUs, "1": every MCU row). */
static uint8_t *encode(int w, int h, int samp, int quality, const char *restart,
		       int flags, unsigned long *len)
{
	tjhandle tj = tjInitCompress();
	uint8_t *rgb = picture(w, h, (uint32_t)(w * 31 + h + quality));
	unsigned char *jpeg = NULL;

	assert_non_null(tj);
	if (restart[0] != '\0')
		assert_int_equal(setenv("TJ_RESTART", restart, 1), 0);
	assert_int_equal(tjCompress2(tj, rgb, w, 0, h, TJPF_RGB, &jpeg, len,
				     samp, quality, flags),
			 0);
	assert_int_equal(unsetenv("TJ_RESTART"), 0);
	tjDestroy(tj);
	free(rgb);
	return jpeg;
}

/* TurboJPEG's 1/8 grey picture (caller frees), or NULL when it fails. */
static uint8_t *reference(const uint8_t *jpeg, size_t len, int w, int h)
{
	tjhandle tj = tjInitDecompress();
	int sw = (w + 7) / 8, sh = (h + 7) / 8;
	uint8_t *out = malloc((size_t)sw * sh);

	assert_non_null(tj);
	assert_non_null(out);
	if (tjDecompress2(tj, jpeg, len, out, sw, sw, sh, TJPF_GRAY,
			  TJFLAG_FASTDCT) < 0) {
		free(out);
		out = NULL;
	}
	tjDestroy(tj);
	return out;
}

/* jpegdc's picture (caller frees), or NULL with errno. */
static uint8_t *dc_decode(struct jpegdc *d, const uint8_t *jpeg, size_t len,
			  int *w, int *h)
{
	uint8_t *out;

	if (jpegdc_header(d, jpeg, len, w, h) < 0)
		return NULL;
	out = malloc((size_t)((*w + 7) / 8) * ((*h + 7) / 8));
	assert_non_null(out);
	if (jpegdc_decode(d, out, (*w + 7) / 8) < 0) {
		int e = errno;
		free(out);
		errno = e;
		return NULL;
	}
	return out;
}

static void check_same(struct jpegdc *d, int w, int h, int samp, int quality,
		       const char *restart)
{
	unsigned long len = 0;
	uint8_t *jpeg = encode(w, h, samp, quality, restart, 0, &len);
	uint8_t *ref = reference(jpeg, len, w, h), *got;
	int gw = 0, gh = 0;

	assert_non_null(ref);
	got = dc_decode(d, jpeg, len, &gw, &gh);
	if (got == NULL)
		fail_msg("%dx%d samp %d q%d restart '%s': %s", w, h, samp,
			 quality, restart, strerror(errno));
	else if (gw != w || gh != h)
		fail_msg("%dx%d: header says %dx%d", w, h, gw, gh);
	else if (memcmp(got, ref, (size_t)((w + 7) / 8) * ((h + 7) / 8)) != 0)
		fail_msg("%dx%d samp %d q%d restart '%s': differs", w, h, samp,
			 quality, restart);
	free(got);
	free(ref);
	tjFree(jpeg);
}

/* Every size, subsampling, quality and restart interval gives the same
 * bytes as TurboJPEG.  (Not below 8 px: TurboJPEG picks the largest scale
 * that fits the size asked, and for 1 px that is 1/1, not 1/8.) */
static void test_same_as_turbojpeg(void **state)
{
	static const int sizes[][2] = {{1280, 720}, {1920, 1080}, {9, 9},
				       {8, 1},	    {33, 17},	  {961, 541},
				       {100, 75},   {17, 300}};
	static const int samps[] = {TJSAMP_420, TJSAMP_422, TJSAMP_444,
				    TJSAMP_440, TJSAMP_GRAY};
	static const int qualities[] = {100, 80, 30, 5};
	static const char *restarts[] = {"", "1B", "7B", "1"};
	struct jpegdc *d = jpegdc_create();

	(void)state;
	assert_non_null(d);
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++)
		for (size_t k = 0; k < sizeof(samps) / sizeof(samps[0]); k++) {
			int big = sizes[s][0] >= 1280;
			/* The big pictures once per subsampling, the small
			 * ones at every quality and restart interval. */
			for (size_t q = 0; q < (big ? 1 : 4); q++)
				for (size_t r = 0; r < (big ? 1 : 4); r++)
					check_same(d, sizes[s][0], sizes[s][1],
						   samps[k],
						   qualities[(q + k) % 4],
						   restarts[(r + s + k) % 4]);
		}
	/* A restart interval on the big ones too. */
	check_same(d, 1280, 720, TJSAMP_420, 80, "3B");
	check_same(d, 1920, 1080, TJSAMP_422, 90, "1");
	jpegdc_destroy(d);
}

/* The offset of marker m (0xff m) in jpeg, or 0. */
static size_t find_marker(const uint8_t *jpeg, size_t len, int m)
{
	for (size_t i = 2; i + 1 < len; i++)
		if (jpeg[i] == 0xff && jpeg[i + 1] == m)
			return i;
	return 0;
}

static void expect_error(struct jpegdc *d, const uint8_t *jpeg, size_t len,
			 int err)
{
	int w, h;

	errno = 0;
	assert_null(dc_decode(d, jpeg, len, &w, &h));
	assert_int_equal(errno, err);
}

/* Progressive and arithmetic JPEGs are left to TurboJPEG. */
static void test_unsupported(void **state)
{
	struct jpegdc *d = jpegdc_create();
	unsigned long len = 0;
	uint8_t *jpeg;

	(void)state;
	jpeg = encode(64, 48, TJSAMP_420, 80, "", TJFLAG_PROGRESSIVE, &len);
	expect_error(d, jpeg, len, ENOTSUP);
	tjFree(jpeg);
	assert_int_equal(setenv("TJ_ARITHMETIC", "1", 1), 0);
	jpeg = encode(64, 48, TJSAMP_420, 80, "", 0, &len);
	assert_int_equal(unsetenv("TJ_ARITHMETIC"), 0);
	expect_error(d, jpeg, len, ENOTSUP);
	tjFree(jpeg);
	/* 4:1:1 (luma 4x1): another sampling. */
	jpeg = encode(64, 48, TJSAMP_411, 80, "", 0, &len);
	expect_error(d, jpeg, len, ENOTSUP);
	tjFree(jpeg);
	/* No Huffman tables (a camera's MJPEG): libjpeg's defaults. */
	jpeg = encode(64, 48, TJSAMP_422, 80, "", 0, &len);
	{
		size_t at = find_marker(jpeg, len, 0xc4);
		assert_true(at > 0);
		jpeg[at + 1] = 0xfe; /* the DHT becomes a comment */
		expect_error(d, jpeg, len, ENOTSUP);
	}
	tjFree(jpeg);
	jpegdc_destroy(d);
}

/* Truncated, over-full Huffman tables, a wrong restart marker, flipped
 * bits: errors, no crash (and under ASan, no read out of bounds: each
 * input is a private copy of exactly its length). */
static void test_corrupt(void **state)
{
	struct jpegdc *d = jpegdc_create();
	unsigned long len = 0;
	uint8_t *jpeg = encode(200, 120, TJSAMP_420, 85, "2B", 0, &len);
	uint8_t *copy, *out;
	uint32_t seed = 7;
	size_t at;
	int w, h, both = 0;

	(void)state;
	assert_non_null(d);
	for (size_t n = 0; n < len; n++) {
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, jpeg, n);
		errno = 0;
		assert_null(dc_decode(d, copy, n, &w, &h));
		assert_true(errno == EBADMSG);
		free(copy);
	}
	/* Flipped bytes anywhere: any outcome but a crash; where both
	 * decoders take it, the same picture. */
	for (int t = 0; t < 3000; t++) {
		copy = malloc(len);
		assert_non_null(copy);
		memcpy(copy, jpeg, len);
		for (int k = 0; k < 1 + t % 4; k++)
			copy[rnd(&seed) % len] ^= (uint8_t)(1u << (rnd(&seed) &
								   7));
		out = dc_decode(d, copy, len, &w, &h);
		if (out != NULL) {
			uint8_t *ref = reference(copy, len, w, h);
			if (ref != NULL) {
				assert_memory_equal(out, ref,
						    (size_t)((w + 7) / 8) *
							    ((h + 7) / 8));
				both++;
			}
			free(ref);
		}
		free(out);
		free(copy);
	}
	assert_true(both > 0); /* some flips leave a JPEG both decode */
	/* An over-full table: three codes of length 1 (the third one's lookup
	 * entries would be past the table's end). */
	copy = malloc(len);
	assert_non_null(copy);
	memcpy(copy, jpeg, len);
	at = find_marker(copy, len, 0xc4);
	assert_true(at > 0);
	{
		uint8_t *counts = copy + at + 5;
		int i = 1;
		while (counts[i] < 3)
			i++;
		counts[i] -= 3;
		counts[0] += 3;
	}
	expect_error(d, copy, len, EBADMSG);
	/* A wrong restart marker. */
	memcpy(copy, jpeg, len);
	at = find_marker(copy, len, 0xd0);
	assert_true(at > 0);
	copy[at + 1] = 0xd1;
	expect_error(d, copy, len, EBADMSG);
	assert_null(reference(copy, len, 200, 120));
	/* Data left over before a restart marker. */
	memcpy(copy, jpeg, len);
	{
		uint8_t *more = malloc(len + 2);
		assert_non_null(more);
		memcpy(more, copy, at);
		more[at] = 0x12;
		more[at + 1] = 0x34;
		memcpy(more + at + 2, copy + at, len - at);
		expect_error(d, more, len + 2, EBADMSG);
		free(more);
	}
	free(copy);
	/* Decode without a header, and a short stride. */
	out = malloc(64);
	assert_non_null(out);
	errno = 0;
	assert_int_equal(jpegdc_decode(d, out, 8), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(jpegdc_header(d, jpeg, len, &w, &h), 0);
	assert_int_equal(jpegdc_decode(d, out, 3), -1);
	assert_int_equal(errno, EINVAL);
	free(out);
	tjFree(jpeg);
	jpegdc_destroy(d);
	jpegdc_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_same_as_turbojpeg),
		cmocka_unit_test(test_unsupported),
		cmocka_unit_test(test_corrupt),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
