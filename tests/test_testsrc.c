/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/testsrc.c: pictures, motion and pacing. */
#include "test.h"

#include <errno.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
