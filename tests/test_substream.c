/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of capture/substream.c: the box downscale, the sub size, the
 * rate schedule, and publishing raw and JPEG pictures into a real sub ring
 * read back with the reader API.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <turbojpeg.h>

#include "encode.h"
#include "ring.h"
#include "substream.h"
#include "testimg.h"

static void test_scale_exact(void **state)
{
	/* 4x4 to 2x2: each output is the rounded mean of a 2x2 block. */
	const uint8_t src[16] = {0,  2,	 10,  20,  4,  6,  30,	40,
				 50, 50, 255, 255, 50, 51, 255, 254};
	uint8_t dst[2 * 5];

	(void)state;
	memset(dst, 0xEE, sizeof(dst));
	substream_scale_plane(src, 4, 4, 4, dst, 2, 2, 5, 1);
	assert_int_equal(dst[0], 3); /* (0+2+4+6)/4 */
	assert_int_equal(dst[1], 25); /* (10+20+30+40)/4 */
	assert_int_equal(dst[5], 50); /* 50.25 */
	assert_int_equal(dst[6], 255); /* 254.75 */
	/* The stride's padding is left alone. */
	assert_int_equal(dst[2], 0xEE);
	assert_int_equal(dst[4], 0xEE);
	assert_int_equal(dst[7], 0xEE);
}

static void test_scale_uneven_and_rgb(void **state)
{
	/* 5 wide to 2: columns [0,2) and [2,5); 3 channels interleaved. */
	uint8_t src[5 * 3], dst[2 * 3];

	(void)state;
	for (int x = 0; x < 5; x++) {
		src[x * 3] = (uint8_t)(x * 10); /* 0 10 20 30 40 */
		src[x * 3 + 1] = 100;
		src[x * 3 + 2] = (uint8_t)(x == 4 ? 255 : 0);
	}
	substream_scale_plane(src, 5, 1, 15, dst, 2, 1, 6, 3);
	assert_int_equal(dst[0], 5); /* (0+10)/2 */
	assert_int_equal(dst[3], 30); /* (20+30+40)/3 */
	assert_int_equal(dst[1], 100);
	assert_int_equal(dst[4], 100);
	assert_int_equal(dst[2], 0);
	assert_int_equal(dst[5], 85); /* 255/3 */
}

static void test_scale_enlarge_and_flat(void **state)
{
	const uint8_t src[4] = {10, 20, 30, 40};
	uint8_t dst[16];
	static uint8_t big[1920 * 1080], small[640 * 360];

	(void)state;
	substream_scale_plane(src, 2, 2, 2, dst, 4, 4, 4, 1);
	assert_int_equal(dst[0], 10);
	assert_int_equal(dst[1], 10);
	assert_int_equal(dst[2], 20);
	assert_int_equal(dst[3], 20);
	assert_int_equal(dst[12], 30);
	assert_int_equal(dst[15], 40);
	/* A flat picture stays flat at 1920x1080 to 640x360 (no overflow). */
	memset(big, 255, sizeof(big));
	substream_scale_plane(big, 1920, 1080, 1920, small, 640, 360, 640, 1);
	for (size_t i = 0; i < sizeof(small); i++)
		if (small[i] != 255)
			fail_msg("pixel %zu is %d", i, small[i]);
}

/* The whole-factor paths (2, 3, 4) against the means computed here. */
static void test_scale_whole_factors(void **state)
{
	static uint8_t src[48 * 24], dst[24 * 12];
	uint32_t seed = 1;

	(void)state;
	for (size_t i = 0; i < sizeof(src); i++) {
		seed = seed * 1103515245u + 12345u;
		src[i] = (uint8_t)(seed >> 16);
	}
	for (int k = 2; k <= 4; k++) {
		int dw = 48 / k, dh = 24 / k;

		substream_scale_plane(src, 48, 24, 48, dst, dw, dh, 24, 1);
		for (int y = 0; y < dh; y++)
			for (int x = 0; x < dw; x++) {
				uint32_t sum = 0, n = (uint32_t)(k * k);
				for (int j = 0; j < k; j++)
					for (int i = 0; i < k; i++)
						sum += src[(y * k + j) * 48 +
							   x * k + i];
				if (dst[y * 24 + x] != (sum + n / 2) / n)
					fail_msg("k %d (%d,%d): %d, want %u", k,
						 x, y, dst[y * 24 + x],
						 (sum + n / 2) / n);
			}
	}
}

static void test_size(void **state)
{
	int w, h;

	(void)state;
	assert_int_equal(substream_size(1280, 720, 640, 0, &w, &h), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 360);
	assert_int_equal(substream_size(800, 600, 640, 0, &w, &h), 0);
	assert_int_equal(h, 480);
	assert_int_equal(substream_size(720, 1280, 640, 0, &w, &h), 0);
	assert_int_equal(w, 360);
	assert_int_equal(h, 640);
	/* Odd results are made even; never larger than the main picture. */
	assert_int_equal(substream_size(1000, 563, 640, 0, &w, &h), 0);
	assert_int_equal(w, 640);
	assert_int_equal(h, 360);
	assert_int_equal(substream_size(320, 240, 640, 0, &w, &h), 0);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);
	assert_int_equal(substream_size(321, 241, 640, 480, &w, &h), 0);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);
	assert_int_equal(substream_size(1280, 720, 320, 240, &w, &h), 0);
	assert_int_equal(w, 320);
	assert_int_equal(h, 240);
	assert_int_equal(substream_size(8, 8, 640, 0, &w, &h), -1);
	assert_int_equal(errno, EINVAL);
}

static void test_due(void **state)
{
	struct substream s;
	struct substream_config c = {
		.width = 64, .height = 36, .fps = 10, .quality = 70};
	int64_t t = 1000000000, frame = 1000000000 / 24;
	int n = 0;

	(void)state;
	assert_int_equal(substream_init(&s, &c), 0);
	/* 10 s of 24 fps: 100 sub frames, never two within 75 ms. */
	int64_t last = 0;
	for (int i = 0; i < 240; i++, t += frame)
		if (substream_due(&s, t)) {
			if (n > 0 && t - last < 75000000)
				fail_msg("sub frames %lld ns apart",
					 (long long)(t - last));
			last = t;
			n++;
		}
	assert_in_range(n, 99, 101);
	/* After a stall of 5 s: one frame, then the rate again (no burst). */
	t += 5000000000;
	assert_true(substream_due(&s, t));
	assert_false(substream_due(&s, t + frame));
	assert_true(substream_due(&s, t + 2 * frame));
	assert_false(substream_due(&s, t + 3 * frame));
	/* A frame a little early (jitter) still counts when the sub rate is
	 * the main rate: 10 fps main, 10 fps sub, every frame. */
	t += 5000000000;
	for (int i = 0; i < 50; i++)
		assert_true(substream_due(
			&s, t + (int64_t)i * 100000000 +
				    (i % 2 ? -3000000 : 3000000)));
	substream_free(&s);

	c.fps = 0;
	assert_int_equal(substream_init(&s, &c), -1);
	substream_free(&s);
	c.fps = 10;
	c.width = 63;
	assert_int_equal(substream_init(&s, &c), -1);
	substream_free(&s);
}

/* A 1280x720 picture: left half dark, right half light, grey chroma. */
static void picture(struct img *im)
{
	img_alloc_i420(im, 1280, 720, 720, 1280, 640);
	for (int y = 0; y < 720; y++)
		for (int x = 0; x < 1280; x++)
			im->pic.planes[0][y * 1280 + x] = x < 640 ? 40 : 200;
	memset(im->pic.planes[1], 128, 640 * 360);
	memset(im->pic.planes[2], 128, 640 * 360);
}

static struct ring_writer *sub_ring(const char *tag)
{
	struct ring_writer *w = NULL;
	struct ring_writer_config rc = {
		.camera = test_camera(tag),
		.suffix = RING_SUB_SUFFIX,
		.slot_count = 4,
		.slot_size = 1024 * 1024,
		.gid = (gid_t)-1,
		.width = 640,
		.height = 360,
		.fps_num = 10,
		.fps_den = 1,
	};
	assert_int_equal(ring_writer_create(&w, &rc, NULL), 0);
	return w;
}

/* Reads the newest sub frame; checks its size and the two halves. */
static void check_frame(const char *tag, uint64_t seq, uint32_t flags,
			const struct ring_motion *m)
{
	struct ring_reader *r = NULL;
	struct ring_frame f;
	static uint8_t buf[1024 * 1024], px[640 * 360];
	tjhandle tj = tjInitDecompress();

	assert_int_equal(ring_reader_open_suffix(&r, test_camera(tag),
						 RING_SUB_SUFFIX, NULL),
			 RING_OK);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.seq, seq);
	assert_int_equal(f.width, 640);
	assert_int_equal(f.height, 360);
	assert_int_equal(f.flags, flags);
	if (m != NULL) {
		assert_int_equal(f.motion_score, m->score);
		assert_int_equal(f.motion_since_ns, m->since_ns);
		assert_memory_equal(f.motion_grid, m->grid, sizeof(m->grid));
	}
	assert_int_equal(tjDecompress2(tj, buf, f.length, px, 640, 640, 360,
				       TJPF_GRAY, 0),
			 0);
	assert_in_range(px[100 * 640 + 100], 35, 45);
	assert_in_range(px[100 * 640 + 500], 195, 205);
	tjDestroy(tj);
	ring_reader_close(r);
}

static void test_publish_raw_and_jpeg(void **state)
{
	struct substream s;
	struct substream_config c = {
		.width = 640, .height = 360, .fps = 10, .quality = 80};
	struct ring_writer *w = sub_ring("sub");
	struct ring_motion m = {.score = 123, .since_ns = 42};
	struct img im;
	struct encoder *enc;
	struct picture jp;
	static uint8_t jpeg[1 << 20];
	long n;

	(void)state;
	memset(m.grid, 0x5A, sizeof(m.grid));
	picture(&im);
	assert_int_equal(substream_init(&s, &c), 0);

	/* Raw: flags and motion copied. */
	assert_int_equal(substream_publish(&s, &im.pic,
					   RING_FRAME_KEY | RING_FRAME_MOTION,
					   &m, w),
			 0);
	check_frame("sub", 1,
		    RING_FRAME_KEY | RING_FRAME_MOTION | RING_FRAME_ANALYSED,
		    &m);

	/* JPEG: decoded at 1/2, the exact size. */
	assert_int_equal(encoder_create(&enc, 90, 0), 0);
	n = encoder_encode(enc, &im.pic, jpeg, sizeof(jpeg));
	assert_true(n > 0);
	memset(&jp, 0, sizeof(jp));
	jp.kind = PICTURE_JPEG;
	jp.data = jpeg;
	jp.len = (size_t)n;
	jp.width = 1280;
	jp.height = 720;
	assert_int_equal(substream_publish(&s, &jp, RING_FRAME_KEY, NULL, w),
			 0);
	check_frame("sub", 2, RING_FRAME_KEY, NULL);

	/* Not a JPEG: refused, counted, nothing published. */
	jp.len = 100;
	memset(jpeg, 0x11, 100);
	assert_int_equal(substream_publish(&s, &jp, RING_FRAME_KEY, NULL, w),
			 -1);
	assert_int_equal(s.dropped, 1);
	assert_int_equal(s.published, 2);
	assert_int_equal(ring_writer_seq(w), 2);

	encoder_destroy(enc);
	substream_free(&s);
	ring_writer_close(w);
	free(im.mem);
	{ /* the lock stays for the next writer's generation: ours is done */
		char name[RING_NAME_MAX];
		assert_int_equal(ring_name(name, sizeof(name),
					   test_camera("sub"),
					   RING_SUB_SUFFIX ".lock"),
				 0);
		shm_unlink(name);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scale_exact),
		cmocka_unit_test(test_scale_uneven_and_rgb),
		cmocka_unit_test(test_scale_enlarge_and_flat),
		cmocka_unit_test(test_scale_whole_factors),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_due),
		cmocka_unit_test(test_publish_raw_and_jpeg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
