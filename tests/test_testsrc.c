/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/testsrc.c: pictures, motion and pacing. */
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "font.h"
#include "overlay.h"
#include "source.h"

static int64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

static struct source *open_testsrc(int w, int h, int fps)
{
	struct source_config cfg;
	struct source *s = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.spec = "testsrc";
	cfg.width = w;
	cfg.height = h;
	cfg.fps = fps;
	cfg.max_frame = 1 << 20;
	/* The picture changes every frame (test_picture's check). */
	cfg.testsrc_motion.mode = TESTSRC_MOTION_ALWAYS;
	assert_true(testsrc_source_ops.match("testsrc"));
	assert_int_equal(testsrc_source_ops.open(&s, &cfg), 0);
	assert_non_null(s);
	return s;
}

/* Waits for the fd (bounded) and takes the next frame. */
static void next_frame(struct source *s, struct picture *pic)
{
	for (int tries = 0; tries < 100; tries++) {
		struct pollfd p = {.fd = testsrc_source_ops.fd(s),
				   .events = POLLIN};
		assert_true(poll(&p, 1, 1000) >= 0);
		if (testsrc_source_ops.next(s, pic) == SOURCE_FRAME)
			return;
	}
	fail_msg("no frame from testsrc");
}

static void test_picture(void **state)
{
	struct source *s = open_testsrc(65, 49, 100);
	struct picture a, b;
	uint8_t *copy;
	size_t ylen;

	(void)state;
	next_frame(s, &a);
	assert_int_equal(a.kind, PICTURE_I420);
	assert_int_equal(a.width, 65);
	assert_int_equal(a.height, 49);
	/* The Y plane covers the even size TurboJPEG reads. */
	assert_true(a.strides[0] >= 66);
	assert_true(a.strides[1] >= 33);
	assert_true(a.realtime_ns > 0 && a.monotonic_ns > 0);
	ylen = (size_t)a.strides[0] * 50;
	copy = malloc(ylen);
	assert_non_null(copy);
	memcpy(copy, a.planes[0], ylen);
	/* The next frame moved: the pictures differ. */
	next_frame(s, &b);
	assert_true(b.monotonic_ns > a.monotonic_ns);
	assert_memory_not_equal(copy, b.planes[0], ylen);
	free(copy);
	testsrc_source_ops.close(s);
	testsrc_source_ops.close(NULL);
}

/* 20 frames at 100 fps take about 200 ms: paced, not as fast as possible. */
static void test_pacing(void **state)
{
	struct source *s = open_testsrc(32, 32, 100);
	struct picture p;
	int64_t t0 = now_ms(), dt;

	(void)state;
	for (int i = 0; i < 20; i++)
		next_frame(s, &p);
	dt = now_ms() - t0;
	assert_true(dt >= 180);
	assert_true(dt < 2000);
	testsrc_source_ops.close(s);
}

/* After a stall, one frame comes (not a burst) and the missed deadlines
 * are counted. */
static void test_stall(void **state)
{
	/* 10 fps: 100 ms between deadlines leaves room for a busy machine. */
	struct source *s = open_testsrc(32, 32, 10);
	struct picture p;
	struct timespec nap = {0, 450 * 1000000};

	(void)state;
	next_frame(s, &p);
	assert_int_equal(testsrc_source_ops.skipped(s), 0);
	nanosleep(&nap, NULL);
	assert_int_equal(testsrc_source_ops.next(s, &p), SOURCE_FRAME);
	assert_true(testsrc_source_ops.skipped(s) >= 3);
	/* No burst: nothing more until the next deadline. */
	assert_int_equal(testsrc_source_ops.next(s, &p), SOURCE_AGAIN);
	testsrc_source_ops.close(s);
}

static void test_bad_config(void **state)
{
	struct source_config cfg;
	struct source *s = NULL;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.spec = "testsrc";
	cfg.width = 640;
	cfg.height = 480;
	cfg.fps = 0;
	errno = 0;
	assert_int_equal(testsrc_source_ops.open(&s, &cfg), -1);
	assert_int_equal(errno, EINVAL);
	assert_null(s);
	assert_false(testsrc_source_ops.match("testsrcx"));
	assert_false(testsrc_source_ops.match("stdin"));
}

static struct source *open_mode(int w, int h, int fps,
				const struct testsrc_motion *mode)
{
	struct source_config cfg;
	struct source *s = NULL;

	memset(&cfg, 0, sizeof(cfg));
	cfg.spec = "testsrc";
	cfg.width = w;
	cfg.height = h;
	cfg.fps = fps;
	cfg.max_frame = 1 << 20;
	cfg.testsrc_motion = *mode;
	assert_int_equal(testsrc_source_ops.open(&s, &cfg), 0);
	return s;
}

/* --testsrc-motion's values. */
static void test_motion_parse(void **state)
{
	struct testsrc_motion m;
	char why[200];

	(void)state;
	memset(&m, 0, sizeof(m));
	assert_int_equal(testsrc_parse_motion("off", &m, why, sizeof(why)), 0);
	assert_int_equal(m.mode, TESTSRC_MOTION_OFF);
	assert_int_equal(testsrc_parse_motion("always", &m, why, sizeof(why)),
			 0);
	assert_int_equal(m.mode, TESTSRC_MOTION_ALWAYS);
	assert_int_equal(testsrc_parse_motion("30/5", &m, why, sizeof(why)), 0);
	assert_int_equal(m.mode, TESTSRC_MOTION_CROSSING);
	assert_int_equal(m.period_ms, 30000);
	assert_int_equal(m.duration_ms, 5000);
	assert_int_equal(
		testsrc_parse_motion("2.5/0.125", &m, why, sizeof(why)), 0);
	assert_int_equal(m.period_ms, 2500);
	assert_int_equal(m.duration_ms, 125);
	static const char *const bad[] = {"",	  "on",	      "5",	"5/5",
					  "5/6",  "0/0",      "3601/5", "5/0",
					  "5/-1", "5/1.0001", "5/1x",	"/1"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why[0] = '\0';
		assert_int_equal(
			testsrc_parse_motion(bad[i], &m, why, sizeof(why)), -1);
		assert_true(strlen(why) > 0);
	}
	/* Unchanged by a bad value. */
	assert_int_equal(m.period_ms, 2500);
}

/* "off": a still picture, frame after frame. */
static void test_motion_off(void **state)
{
	struct testsrc_motion mode = {TESTSRC_MOTION_OFF, 0, 0};
	struct source *s = open_mode(64, 48, 100, &mode);
	struct picture a, b;
	size_t ylen;
	uint8_t *copy;

	(void)state;
	next_frame(s, &a);
	ylen = (size_t)a.strides[0] * 48;
	copy = malloc(ylen);
	assert_non_null(copy);
	memcpy(copy, a.planes[0], ylen);
	for (int i = 0; i < 20; i++) {
		next_frame(s, &b);
		assert_memory_equal(copy, b.planes[0], ylen);
	}
	free(copy);
	testsrc_source_ops.close(s);
}

/* A crossing: still until 3 s after the start, then the box crosses for
 * DURATION and the scene is still again.  The scene follows the deadlines
 * (missed ones included), so the monotonic clock of the frames tells. */
static void test_motion_crossing(void **state)
{
	struct testsrc_motion mode = {TESTSRC_MOTION_CROSSING, 4000, 500};
	struct source *s = open_mode(64, 48, 100, &mode);
	struct picture p;
	size_t ylen;
	uint8_t *first;
	int64_t t0, ms = 0, changed_at = -1, still_again = -1;

	(void)state;
	t0 = now_ms();
	next_frame(s, &p);
	ylen = (size_t)p.strides[0] * 48;
	first = malloc(ylen);
	assert_non_null(first);
	memcpy(first, p.planes[0], ylen);
	while (ms < 8000 && still_again < 0) {
		int same;
		next_frame(s, &p);
		ms = now_ms() - t0;
		same = memcmp(first, p.planes[0], ylen) == 0;
		if (!same && changed_at < 0)
			changed_at = ms;
		else if (same && changed_at >= 0)
			still_again = ms;
	}
	free(first);
	testsrc_source_ops.close(s);
	print_message("# crossing from %lld to %lld ms\n",
		      (long long)changed_at, (long long)still_again);
	assert_true(changed_at >= 2900 && changed_at < 4000);
	assert_true(still_again - changed_at >= 300 &&
		    still_again - changed_at < 1500);
}

/* Unpaced (--fps max), "always": frame k (from 1) is drawn at t = k. */
static struct source *open_unpaced(int w, int h, struct source_config *cfg)
{
	struct source *s = NULL;

	memset(cfg, 0, sizeof(*cfg));
	cfg->spec = "testsrc";
	cfg->width = w;
	cfg->height = h;
	cfg->fps = 30;
	cfg->unpaced = 1;
	cfg->max_frame = 1 << 20;
	cfg->testsrc_motion.mode = TESTSRC_MOTION_ALWAYS;
	assert_int_equal(testsrc_source_ops.open(&s, cfg), 0);
	assert_non_null(s);
	return s;
}

/* The ramp under the bars, the picture the per-pixel formula drew: level
 * 16 + ((x + y + 4t) & 255) * 219 / 255 over the padded width, sliding 4
 * steps a frame.  Rows above the label; the box is still among the bars
 * in the first frames. */
static void test_ramp(void **state)
{
	struct source_config cfg;
	struct source *s = open_unpaced(601, 301, &cfg);
	int pw = 602, ph = 302, bars_h = (ph * 2 / 3) & ~1;
	/* The label's box starts 2 * scale above its text. */
	int label_y = ((301 - (FONT_GLYPH_H + 6) * overlay_scale(301)) & ~1) -
		      2;
	struct picture p;

	(void)state;
	assert_true(label_y > bars_h + 20);
	for (unsigned t = 1; t <= 3; t++) {
		int bad = 0;

		assert_int_equal(testsrc_source_ops.next(s, &p), SOURCE_FRAME);
		for (int y = bars_h; y < label_y; y++)
			for (int x = 0; x < pw; x++) {
				unsigned want = 16 +
						(((unsigned)(x + y) + 4 * t) &
						 255) * 219 /
							255;
				bad += p.planes[0][(long)y * p.strides[0] +
						   x] != want;
			}
		assert_int_equal(bad, 0);
	}
	testsrc_source_ops.close(s);
}

/* Unpaced: the fd is readable at once and every call gives a new frame,
 * far faster than the nominal 30 fps (50 frames paced take 1.6 s). */
static void test_unpaced(void **state)
{
	struct source_config cfg;
	struct source *s = open_unpaced(64, 48, &cfg);
	struct pollfd pfd = {.fd = testsrc_source_ops.fd(s), .events = POLLIN};
	struct picture a, b;
	int64_t t0 = now_ms();

	(void)state;
	assert_int_equal(poll(&pfd, 1, 0), 1);
	assert_int_equal(testsrc_source_ops.next(s, &a), SOURCE_FRAME);
	for (int i = 0; i < 50; i++) {
		assert_int_equal(poll(&pfd, 1, 0), 1);
		assert_int_equal(testsrc_source_ops.next(s, &b), SOURCE_FRAME);
	}
	assert_true(now_ms() - t0 < 1000);
	assert_true(b.monotonic_ns > a.monotonic_ns);
	assert_int_equal(testsrc_source_ops.skipped(s), 0);
	testsrc_source_ops.close(s);
}

struct target {
	uint8_t *buf;
	int calls;
	int refuse;
};

/* As pipeline_target lays a job out: strides of the even width. */
static int draw_here(void *arg, int w, int h, struct picture *dst)
{
	struct target *t = arg;
	int pw = (w + 1) & ~1, ph = (h + 1) & ~1;

	t->calls++;
	if (t->refuse)
		return -1;
	memset(dst, 0, sizeof(*dst));
	dst->kind = PICTURE_I420;
	dst->width = w;
	dst->height = h;
	dst->planes[0] = t->buf;
	dst->planes[1] = t->buf + pw * ph;
	dst->planes[2] = t->buf + pw * ph + (pw / 2) * (ph / 2);
	dst->strides[0] = pw;
	dst->strides[1] = pw / 2;
	dst->strides[2] = pw / 2;
	return 0;
}

/* Drawn into the planes the target gives, the picture is the one testsrc
 * draws into its own buffer (odd size: the padding too); when the target
 * refuses, its own buffer. */
static void test_target(void **state)
{
	struct source_config cfg;
	struct source *own = open_unpaced(65, 49, &cfg), *into;
	struct target t = {NULL, 0, 0};
	int pw = 66, ph = 50;
	struct picture a, b;

	(void)state;
	t.buf = malloc((size_t)(pw * ph * 3 / 2));
	assert_non_null(t.buf);
	memset(t.buf, 0xa5, (size_t)(pw * ph * 3 / 2));
	cfg.target = draw_here;
	cfg.target_arg = &t;
	assert_int_equal(testsrc_source_ops.open(&into, &cfg), 0);
	for (int frame = 0; frame < 3; frame++) {
		t.refuse = frame == 2;
		assert_int_equal(testsrc_source_ops.next(own, &a),
				 SOURCE_FRAME);
		assert_int_equal(testsrc_source_ops.next(into, &b),
				 SOURCE_FRAME);
		assert_int_equal(t.calls, frame + 1);
		if (t.refuse)
			assert_ptr_not_equal(b.planes[0], t.buf);
		else
			assert_ptr_equal(b.planes[0], t.buf);
		assert_int_equal(b.width, 65);
		assert_int_equal(b.height, 49);
		for (int y = 0; y < ph; y++)
			assert_memory_equal(
				a.planes[0] + (long)y * a.strides[0],
				b.planes[0] + (long)y * b.strides[0],
				(size_t)pw);
		for (int i = 1; i < 3; i++)
			for (int y = 0; y < ph / 2; y++)
				assert_memory_equal(
					a.planes[i] + (long)y * a.strides[i],
					b.planes[i] + (long)y * b.strides[i],
					(size_t)pw / 2);
	}
	testsrc_source_ops.close(into);
	testsrc_source_ops.close(own);
	free(t.buf);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_picture),
		cmocka_unit_test(test_pacing),
		cmocka_unit_test(test_stall),
		cmocka_unit_test(test_bad_config),
		cmocka_unit_test(test_motion_parse),
		cmocka_unit_test(test_motion_off),
		cmocka_unit_test(test_motion_crossing),
		cmocka_unit_test(test_ramp),
		cmocka_unit_test(test_unpaced),
		cmocka_unit_test(test_target),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
