/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of capture/motion.c on synthetic pictures: a textured scene
 * with sensor noise is drawn at full size, made small by luma_from_plane as
 * capture will do, and fed to the detector at a fixed frame rate.
 */
#include "test.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "luma.h"
#include "motion.h"

#define FPS 25
#define FRAME_NS (1000000000ll / FPS)
#define REAL0 1700000000000000000ll

struct rect {
	int x, y, w, h, v; /* v: the rectangle's grey level */
};

struct scene {
	int w, h;
	uint8_t *base; /* the still scene */
	uint8_t *y; /* the frame */
	int noise; /* amplitude of uniform noise, +-noise */
	int blotch; /* amplitude of noise constant over 8x8 pixels */
	int *blotches;
	int gain; /* brightness, per 256 */
	int offset; /* added brightness */
	uint32_t rng;
	struct luma small;
	struct motion *m;
	int64_t frame;
	struct motion_result r;
	int declared_frames, first_declared, period_start, was_declared;
};

static uint32_t rnd(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* A scene of smooth gradients and blocky texture, mean level `level`. */
static void scene_init(struct scene *s, int w, int h, int level, int noise,
		       const struct motion_config *cfg)
{
	memset(s, 0, sizeof(*s));
	s->w = w;
	s->h = h;
	s->noise = noise;
	s->gain = 256;
	s->rng = 12345;
	s->base = malloc((size_t)w * h);
	s->y = malloc((size_t)w * h);
	s->blotches = malloc(sizeof(int) * ((w + 7) / 8) * ((h + 7) / 8));
	assert_non_null(s->blotches);
	assert_non_null(s->base);
	assert_non_null(s->y);
	for (int y = 0; y < h; y++)
		for (int x = 0; x < w; x++) {
			int t = ((x / 40 + y / 30) % 3 - 1) * level / 4;
			int g = (x * level / 2) / w - level / 4;
			int v = level + t + g;
			s->base[y * w + x] = (uint8_t)(v < 0	 ? 0
						       : v > 255 ? 255
								 : v);
		}
	luma_init(&s->small);
	s->m = motion_create(cfg);
	assert_non_null(s->m);
	s->first_declared = -1;
}

static void scene_free(struct scene *s)
{
	motion_destroy(s->m);
	luma_free(&s->small);
	free(s->base);
	free(s->y);
	free(s->blotches);
}

/* Draws the frame: base, brightness, rectangles, noise; feeds it. */
static void step(struct scene *s, const struct rect *r, int nr)
{
	int w = s->w;

	for (int i = 0; i < w * s->h; i++)
		s->y[i] = s->base[i];
	for (int k = 0; k < nr; k++)
		for (int y = r[k].y; y < r[k].y + r[k].h; y++)
			for (int x = r[k].x; x < r[k].x + r[k].w; x++)
				if (x >= 0 && y >= 0 && x < w && y < s->h)
					s->y[y * w + x] = (uint8_t)r[k].v;
	for (int i = 0; i < w * s->h; i++) {
		int v = s->y[i] * s->gain / 256 + s->offset;
		if (s->noise > 0)
			v += (int)(rnd(&s->rng) % (2u * s->noise + 1)) -
			     s->noise;
		s->y[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
	}
	assert_int_equal(luma_from_plane(&s->small, s->y, w, s->h, w), 0);
	assert_int_equal(motion_feed(s->m, &s->small, s->frame * FRAME_NS,
				     REAL0 + s->frame * FRAME_NS, &s->r),
			 0);
	assert_true(s->r.score <= MOTION_SCORE_MAX);
	if (s->r.declared) {
		s->declared_frames++;
		if (s->first_declared < 0)
			s->first_declared = (int)s->frame;
		if (!s->was_declared)
			s->period_start = (int)s->frame;
		assert_int_equal(s->r.since_ns,
				 REAL0 + s->period_start * FRAME_NS);
	} else {
		assert_int_equal(s->r.since_ns, 0);
	}
	s->was_declared = s->r.declared;
	s->frame++;
}

static void still(struct scene *s, int frames)
{
	for (int i = 0; i < frames; i++)
		step(s, NULL, 0);
}

static int grid_bit(const struct motion_result *r, unsigned c, unsigned row)
{
	return (r->grid[row * (MOTION_COLS / 8) + c / 8] >> (c % 8)) & 1;
}

static int grid_count(const struct motion_result *r)
{
	int n = 0;
	for (unsigned i = 0; i < MOTION_GRID_BYTES; i++)
		n += __builtin_popcount(r->grid[i]);
	return n;
}

static void test_still_noise(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 640, 360, 120, 6, &c);
	still(&s, 250);
	assert_int_equal(s.declared_frames, 0);
	assert_int_equal(motion_periods(s.m), 0);
	scene_free(&s);
}

/*
 * A dark night picture with very strong noise: +-60 levels per pixel and
 * blotches of +-20 over 8x8 pixels that survive the small picture's
 * averaging.  The light-switch rule is off, so that only the threshold
 * that follows the noise keeps it quiet; a person is still seen.
 */
static void test_night_noise(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	c.lightswitch = 0;
	scene_init(&s, 640, 360, 30, 60, &c);
	s.blotch = 20;
	still(&s, 250);
	assert_int_equal(s.declared_frames, 0);
	for (int i = 0; i < 20; i++) {
		struct rect p = {100 + 10 * i, 100, 40, 80, 200};
		step(&s, &p, 1);
	}
	assert_true(s.r.declared);
	scene_free(&s);
}

/* A far person, 25x50 px in 1280x720, walks across: declared within 0.5 s,
 * the grid marks where it is, cleared after the hold. */
static void test_small_person(void **state)
{
	struct motion_config c;
	struct scene s;
	int start = 25, end = 0;

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 1280, 720, 120, 4, &c);
	still(&s, start);
	for (int i = 0; i < 60; i++) {
		struct rect p = {300 + 4 * i, 400, 25, 50, 40};
		step(&s, &p, 1);
		if (s.r.declared) {
			unsigned cx = (unsigned)(p.x + 12) * 32 / 1280;
			unsigned cy = (unsigned)(p.y + 25) * 18 / 720;
			assert_true(grid_bit(&s.r, cx, cy) ||
				    grid_bit(&s.r, cx + 1, cy) ||
				    grid_bit(&s.r, cx, cy + 1));
			assert_true(grid_count(&s.r) <= 6);
			assert_true(s.r.score >= 1 && s.r.score <= 5);
		}
	}
	end = (int)s.frame;
	assert_true(s.first_declared >= start);
	assert_true(s.first_declared - start <= FPS / 2);
	still(&s, 3 * FPS);
	/* Cleared after 2 s of hold and not before. */
	assert_true(s.declared_frames >=
		    (end - s.first_declared) + 2 * FPS - 2);
	assert_true(s.declared_frames <=
		    (end - s.first_declared) + 2 * FPS + 2);
	assert_int_equal(s.r.declared, 0);
	assert_int_equal(motion_periods(s.m), 1);
	scene_free(&s);
}

/* A bird, 8x12 px in 1280x720, crossing fast and dark: no motion. */
static void test_bird(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 1280, 720, 150, 4, &c);
	still(&s, 10);
	for (int i = 0; i < 100; i++) {
		struct rect b = {100 + 10 * i, 200 + (i % 7), 8, 12, 10};
		step(&s, &b, 1);
	}
	assert_int_equal(s.declared_frames, 0);
	scene_free(&s);
}

/* The minimum area: the same person is ignored with --motion-area 1. */
static void test_area(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	c.area = 100;
	scene_init(&s, 1280, 720, 120, 4, &c);
	still(&s, 10);
	for (int i = 0; i < 50; i++) {
		struct rect p = {300 + 4 * i, 400, 25, 50, 40};
		step(&s, &p, 1);
	}
	assert_int_equal(s.declared_frames, 0);
	for (int i = 0; i < 50; i++) {
		struct rect p = {300 + 6 * i, 200, 150, 200, 40};
		step(&s, &p, 1);
	}
	assert_true(s.declared_frames > 0);
	scene_free(&s);
}

/* Declared at exactly the N-th consecutive active frame. */
static void test_frames(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	c.frames = 6;
	scene_init(&s, 640, 360, 120, 3, &c);
	still(&s, 10);
	for (int i = 0; i < 20; i++) {
		struct rect p = {100 + 8 * i, 100, 60, 100, 30};
		step(&s, &p, 1);
		assert_int_equal(s.r.declared, i >= 5);
	}
	assert_int_equal(s.first_declared, 15);
	scene_free(&s);
}

/* Cleared exactly hold after the last active frame; hold 1 s apart walks
 * make separate periods. */
static void test_hold_and_periods(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	c.hold_ms = 1000;
	scene_init(&s, 640, 360, 120, 3, &c);
	still(&s, 10);
	for (int walk = 0; walk < 3; walk++) {
		int declared_after = 0;
		for (int i = 0; i < 40; i++) {
			struct rect p = {50 + 12 * i, 100 + 40 * walk, 40, 80,
					 220};
			step(&s, &p, 1);
		}
		assert_true(s.r.declared);
		/* The person is gone: 1 s of hold from that frame on. */
		for (int i = 0; i < 3 * FPS; i++) {
			step(&s, NULL, 0);
			declared_after += s.r.declared;
		}
		assert_false(s.r.declared);
		assert_true(declared_after >= FPS - 1);
		assert_true(declared_after <= FPS + 1);
		assert_int_equal(motion_periods(s.m), (uint64_t)walk + 1);
	}
	scene_free(&s);
}

/* Lights on and off: no alarm, and detection works right after. */
static void test_lightswitch(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 640, 360, 60, 3, &c);
	still(&s, 20);
	for (int k = 0; k < 4; k++) {
		/* Non-uniform: a lamp lights the left side more. */
		if (k % 2 == 0) {
			for (int y = 0; y < s.h; y++)
				for (int x = 0; x < s.w; x++) {
					int v = s.base[y * s.w + x] * 2 +
						(s.w - x) / 8;
					s.base[y * s.w + x] =
						(uint8_t)(v > 255 ? 255 : v);
				}
		} else {
			for (int y = 0; y < s.h; y++)
				for (int x = 0; x < s.w; x++)
					s.base[y * s.w + x] =
						(uint8_t)(s.base[y * s.w + x] /
							  3);
		}
		still(&s, 50);
	}
	assert_int_equal(s.declared_frames, 0);
	assert_int_equal(motion_periods(s.m), 0);
	for (int i = 0; i < 20; i++) {
		struct rect p = {50 + 10 * i, 100, 40, 80, 200};
		step(&s, &p, 1);
	}
	assert_true(s.r.declared);
	scene_free(&s);
}

/* Dawn: brightness from a gain of 0.2 to 1.0 and +20 over 60 s, at 10 fps
 * (the frame time is what the detector follows). */
static void test_ramp(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 640, 360, 150, 3, &c);
	for (int i = 0; i < 600; i++) {
		s.gain = 51 + 205 * i / 600;
		s.offset = 20 * i / 600;
		step(&s, NULL, 0);
		s.frame += 1; /* 2 frame times per frame: 12.5 fps */
		s.frame += i % 2; /* and a little jitter */
	}
	assert_int_equal(s.declared_frames, 0);
	scene_free(&s);
}

/* A tree moving in a masked region: nothing; unmasked: motion. */
static void test_mask(void **state)
{
	struct motion_config c;
	char why[128];

	(void)state;
	for (int masked = 1; masked >= 0; masked--) {
		struct scene s;
		motion_config_defaults(&c);
		if (masked)
			assert_int_equal(motion_parse_masks("60,10,30,50", &c,
							    why, sizeof(why)),
					 0);
		scene_init(&s, 640, 360, 120, 3, &c);
		still(&s, 10);
		for (int i = 0; i < 100; i++) {
			/* Branches swaying inside 60..90% x 10..60%. */
			int dx = (i % 10 < 5 ? i % 5 : 5 - i % 5) * 6;
			const struct rect t[2] = {
				{400 + dx, 50, 100, 60, 30},
				{420 - dx, 120, 80, 80, 200},
			};
			step(&s, t, 2);
		}
		if (masked)
			assert_int_equal(s.declared_frames, 0);
		else
			assert_true(s.declared_frames > 0);
		scene_free(&s);
	}
}

/* A changing box (an overlay redrawn every frame) in the ignore box:
 * nothing; without the box: motion.  Then a size change keeps it. */
static void test_ignore_box(void **state)
{
	struct motion_config c;

	(void)state;
	for (int boxed = 1; boxed >= 0; boxed--) {
		struct scene s;
		motion_config_defaults(&c);
		scene_init(&s, 640, 360, 120, 3, &c);
		if (boxed)
			motion_set_ignore_box(s.m, 10, 10, 200, 30, 640, 360);
		still(&s, 10);
		for (int i = 0; i < 50; i++) {
			struct rect t[3] = {{10 + (i * 37) % 150, 12, 50, 26,
					     (i % 2) ? 250 : 0},
					    {12, 12, 20, 26, (i % 3) * 100},
					    {150, 10, 60, 30, (i % 2) * 255}};
			step(&s, t, 3);
		}
		if (boxed)
			assert_int_equal(s.declared_frames, 0);
		else
			assert_true(s.declared_frames > 0);
		scene_free(&s);
	}
}

/*
 * A camera's own clock burned into the picture: digits of 30x44 px in
 * 1280x720 (drawn here at half size in 640x360, the same small picture)
 * that change once a second and stay: nothing, also when the
 * tens and the minutes roll over.
 */
static void test_burned_clock(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 640, 360, 120, 4, &c);
	for (int sec = 0; sec < 70; sec++) {
		struct rect d[8];
		int n = 0;
		const int digits[4] = {(sec / 60) / 10, (sec / 60) % 10,
				       (sec % 60) / 10, sec % 10};
		for (int k = 0; k < 4; k++) {
			/* A digit: two bars whose place depends on it. */
			int x = 500 + 18 * k;
			d[n++] = (struct rect){x, 10 + 2 * digits[k], 15, 3,
					       250};
			d[n++] = (struct rect){x + (3 * (digits[k] % 9)) / 2,
					       10, 3, 22, 250};
		}
		/* At 12.5 fps: the detector follows the frame times. */
		for (int f = 0; f < FPS; f += 2) {
			step(&s, d, n);
			s.frame++;
		}
	}
	assert_int_equal(s.declared_frames, 0);
	scene_free(&s);
}

/* An object enters, stops and stays: motion ends after the hold, and the
 * background takes it in (score 0, no change marked). */
static void test_enter_and_stay(void **state)
{
	struct motion_config c;
	struct scene s;
	struct rect p = {0, 150, 80, 60, 220};

	(void)state;
	motion_config_defaults(&c);
	scene_init(&s, 640, 360, 120, 3, &c);
	still(&s, 10);
	for (int i = 0; i < 30; i++) {
		p.x = 10 * i;
		step(&s, &p, 1);
	}
	assert_true(s.r.declared);
	for (int i = 0; i < 3 * FPS; i++)
		step(&s, &p, 1);
	assert_false(s.r.declared);
	assert_int_equal(motion_periods(s.m), 1);
	for (int i = 0; i < 60 * FPS / 5; i++) {
		step(&s, &p, 1);
		s.frame += 4; /* 5 fps while it stays */
		assert_false(s.r.declared);
	}
	assert_int_equal(s.r.score, 0);
	assert_int_equal(grid_count(&s.r), 0);
	/* It leaves again: that is motion. */
	for (int i = 0; i < 20; i++) {
		p.x = 300 + 10 * i;
		step(&s, &p, 1);
	}
	assert_true(s.r.declared);
	assert_int_equal(motion_periods(s.m), 2);
	scene_free(&s);
}

/* A fixed threshold replaces the noise-following one. */
static void test_fixed_threshold(void **state)
{
	struct motion_config c;
	struct scene s;

	(void)state;
	motion_config_defaults(&c);
	c.threshold = 100;
	scene_init(&s, 640, 360, 120, 3, &c);
	still(&s, 10);
	for (int i = 0; i < 30; i++) {
		struct rect p = {10 * i, 150, 80, 60, 170}; /* +50: below */
		step(&s, &p, 1);
	}
	assert_int_equal(s.declared_frames, 0);
	for (int i = 0; i < 30; i++) {
		struct rect p = {10 * i, 150, 80, 60, 250}; /* +130: above */
		step(&s, &p, 1);
	}
	assert_true(s.declared_frames > 0);
	scene_free(&s);
}

static void test_parsers(void **state)
{
	struct motion_config c;
	char why[128];

	(void)state;
	motion_config_defaults(&c);
	assert_int_equal(c.enabled, 1);
	assert_int_equal(c.threshold, 0);
	assert_int_equal(c.area, 5);
	assert_int_equal(c.frames, 2);
	assert_int_equal(c.hold_ms, 2000);
	assert_int_equal(c.lightswitch, 40);

	assert_int_equal(motion_parse_enabled("off", &c, why, sizeof(why)), 0);
	assert_int_equal(c.enabled, 0);
	assert_int_equal(motion_parse_enabled("on", &c, why, sizeof(why)), 0);
	assert_int_equal(c.enabled, 1);
	assert_int_equal(motion_parse_enabled("yes", &c, why, sizeof(why)), -1);
	assert_string_equal(why, "expected on or off");

	assert_int_equal(motion_parse_threshold("17", &c, why, sizeof(why)), 0);
	assert_int_equal(c.threshold, 17);
	assert_int_equal(motion_parse_threshold("auto", &c, why, sizeof(why)),
			 0);
	assert_int_equal(c.threshold, 0);
	const char *bad_thr[] = {"0", "256", "-1", "1.5", "", "auto ", "x"};
	for (size_t i = 0; i < sizeof(bad_thr) / sizeof(bad_thr[0]); i++) {
		c.threshold = 9;
		assert_int_equal(motion_parse_threshold(bad_thr[i], &c, why,
							sizeof(why)),
				 -1);
		assert_int_equal(c.threshold, 9);
		assert_non_null(strstr(why, "1..255"));
	}

	assert_int_equal(motion_parse_area("0.5", &c, why, sizeof(why)), 0);
	assert_int_equal(c.area, 50);
	assert_int_equal(motion_parse_area("100", &c, why, sizeof(why)), 0);
	assert_int_equal(c.area, 10000);
	assert_int_equal(motion_parse_area("0.01", &c, why, sizeof(why)), 0);
	assert_int_equal(c.area, 1);
	const char *bad_area[] = {"0",	"0.001", "100.01",
				  "1.", ".5",	 "5%",
				  "",	"-1",	 "99999999999999999999"};
	for (size_t i = 0; i < sizeof(bad_area) / sizeof(bad_area[0]); i++)
		assert_int_equal(
			motion_parse_area(bad_area[i], &c, why, sizeof(why)),
			-1);
	assert_int_equal(c.area, 1);

	assert_int_equal(motion_parse_frames("1", &c, why, sizeof(why)), 0);
	assert_int_equal(c.frames, 1);
	assert_int_equal(motion_parse_frames("0", &c, why, sizeof(why)), -1);
	assert_int_equal(motion_parse_frames("1001", &c, why, sizeof(why)), -1);
	assert_int_equal(motion_parse_frames("2.5", &c, why, sizeof(why)), -1);

	assert_int_equal(motion_parse_hold("1", &c, why, sizeof(why)), 0);
	assert_int_equal(c.hold_ms, 1000);
	assert_int_equal(motion_parse_hold("0.25", &c, why, sizeof(why)), 0);
	assert_int_equal(c.hold_ms, 250);
	assert_int_equal(motion_parse_hold("0", &c, why, sizeof(why)), 0);
	assert_int_equal(c.hold_ms, 0);
	assert_int_equal(motion_parse_hold("3601", &c, why, sizeof(why)), -1);
	assert_int_equal(motion_parse_hold("0.0001", &c, why, sizeof(why)), -1);
	assert_int_equal(motion_parse_hold("1s", &c, why, sizeof(why)), -1);
	assert_int_equal(c.hold_ms, 0);

	assert_int_equal(motion_parse_lightswitch("0", &c, why, sizeof(why)),
			 0);
	assert_int_equal(c.lightswitch, 0);
	assert_int_equal(motion_parse_lightswitch("101", &c, why, sizeof(why)),
			 -1);

	assert_int_equal(motion_parse_masks("0,0,10,20;50.5,60,49.5,40", &c,
					    why, sizeof(why)),
			 0);
	assert_int_equal(c.nmasks, 2);
	assert_int_equal(c.masks[0].w, 1000);
	assert_int_equal(c.masks[0].h, 2000);
	assert_int_equal(c.masks[1].x, 5050);
	assert_int_equal(c.masks[1].w, 4950);
	const char *bad_masks[] = {"1,2,3",	"1,2,3,4;",   "1,2,3,4,5",
				   "0,0,0,10",	"60,0,50,10", "0,95,10,10",
				   "a,b,c,d",	"1;2;3;4",    "1, 2,3,4",
				   "0,0,101,10"};
	for (size_t i = 0; i < sizeof(bad_masks) / sizeof(bad_masks[0]); i++) {
		assert_int_equal(
			motion_parse_masks(bad_masks[i], &c, why, sizeof(why)),
			-1);
		assert_non_null(strstr(why, "mask "));
		assert_int_equal(c.nmasks, 2);
	}
	char many[512] = "";
	for (int i = 0; i <= MOTION_MAX_MASKS; i++)
		strcat(many, i ? ";1,1,1,1" : "1,1,1,1");
	assert_int_equal(motion_parse_masks(many, &c, why, sizeof(why)), -1);
	assert_non_null(strstr(why, "more than"));
	assert_int_equal(motion_parse_masks("none", &c, why, sizeof(why)), 0);
	assert_int_equal(c.nmasks, 0);

	c.frames = 0;
	errno = 0;
	assert_null(motion_create(&c));
	assert_int_equal(errno, EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parsers),
		cmocka_unit_test(test_still_noise),
		cmocka_unit_test(test_night_noise),
		cmocka_unit_test(test_small_person),
		cmocka_unit_test(test_bird),
		cmocka_unit_test(test_area),
		cmocka_unit_test(test_frames),
		cmocka_unit_test(test_hold_and_periods),
		cmocka_unit_test(test_lightswitch),
		cmocka_unit_test(test_ramp),
		cmocka_unit_test(test_mask),
		cmocka_unit_test(test_ignore_box),
		cmocka_unit_test(test_burned_clock),
		cmocka_unit_test(test_enter_and_stay),
		cmocka_unit_test(test_fixed_threshold),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
