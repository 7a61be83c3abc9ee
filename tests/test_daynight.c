/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/daynight.c: the day/night profile decision. */
#include "test.h"

#include "daynight.h"

#define S ((int64_t)1000000000)
#define FRAME_US 40000 /* 25 fps */

/* Dark: AE at the day cap with high gain.  Bright: short and low. */
#define DARK_US FRAME_US
#define DARK_GAIN 8.0
#define BRIGHT_US (FRAME_US / 4)
#define BRIGHT_GAIN 1.0

static void test_init(void **state)
{
	struct daynight d;

	(void)state;
	daynight_init(&d, CAMERA_PROFILE_NIGHT);
	assert_int_equal(d.mode, DAYNIGHT_NIGHT);
	daynight_init(&d, CAMERA_PROFILE_DAY);
	assert_int_equal(d.mode, DAYNIGHT_DAY);
	daynight_init(&d, CAMERA_PROFILE_AUTO);
	assert_int_equal(d.mode, DAYNIGHT_DAY);
	daynight_init(&d, CAMERA_PROFILE_UNSET);
	assert_int_equal(d.mode, DAYNIGHT_DAY);
}

/* Only auto switches; fixed profiles ignore the readings. */
static void test_fixed_profiles_hold(void **state)
{
	struct daynight d;

	(void)state;
	daynight_init(&d, CAMERA_PROFILE_DAY);
	for (int64_t t = 1; t < 60; t++)
		assert_int_equal(daynight_update(&d, DARK_US, DARK_GAIN,
						 FRAME_US, t * S),
				 DAYNIGHT_DAY);
	daynight_init(&d, CAMERA_PROFILE_NIGHT);
	for (int64_t t = 1; t < 60; t++)
		assert_int_equal(daynight_update(&d, BRIGHT_US, BRIGHT_GAIN,
						 FRAME_US, t * S),
				 DAYNIGHT_NIGHT);
}

/* Readings that disagree with the mode from t0 on: the mode holds until
 * DAYNIGHT_SWITCH_NS later, then becomes to. */
static void expect_switch(struct daynight *d, int64_t exposure_us, double gain,
			  int64_t t0, enum daynight_mode to)
{
	enum daynight_mode from = d->mode;

	assert_int_not_equal(from, to);
	assert_int_equal(daynight_update(d, exposure_us, gain, FRAME_US, t0),
			 from);
	assert_int_equal(daynight_update(d, exposure_us, gain, FRAME_US,
					 t0 + DAYNIGHT_SWITCH_NS - 1),
			 from);
	assert_int_equal(daynight_update(d, exposure_us, gain, FRAME_US,
					 t0 + DAYNIGHT_SWITCH_NS),
			 to);
}

/* Dark readings must hold for DAYNIGHT_SWITCH_NS before night, bright
 * ones as long before day. */
static void test_switch_after_hysteresis(void **state)
{
	struct daynight d;

	(void)state;
	daynight_init(&d, CAMERA_PROFILE_AUTO);
	expect_switch(&d, DARK_US, DARK_GAIN, 100 * S, DAYNIGHT_NIGHT);
	expect_switch(&d, BRIGHT_US, BRIGHT_GAIN, 160 * S, DAYNIGHT_DAY);
}

/* One agreeing reading restarts the wait: a headlight is not dawn. */
static void test_interrupted_wait_restarts(void **state)
{
	struct daynight d;
	int64_t t0 = 5 * S;

	(void)state;
	daynight_init(&d, CAMERA_PROFILE_AUTO);
	daynight_update(&d, DARK_US, DARK_GAIN, FRAME_US, t0);
	daynight_update(&d, BRIGHT_US, BRIGHT_GAIN, FRAME_US, t0 + 9 * S);
	assert_int_equal(
		daynight_update(&d, DARK_US, DARK_GAIN, FRAME_US, t0 + 11 * S),
		DAYNIGHT_DAY);
	assert_int_equal(daynight_update(&d, DARK_US, DARK_GAIN, FRAME_US,
					 t0 + 11 * S + DAYNIGHT_SWITCH_NS),
			 DAYNIGHT_NIGHT);
}

/* The band between the two thresholds keeps whatever mode holds. */
static void test_dead_band(void **state)
{
	struct daynight d;
	/* Between: exposure 60% of a frame, gain 4 (above 3, below 6). */
	int64_t mid_us = FRAME_US * 6 / 10;
	double mid_gain = 4.0;

	(void)state;
	daynight_init(&d, CAMERA_PROFILE_AUTO);
	for (int64_t t = 1; t < 60; t++)
		assert_int_equal(
			daynight_update(&d, mid_us, mid_gain, FRAME_US, t * S),
			DAYNIGHT_DAY);
	/* High gain alone, at a short exposure, is not night either. */
	for (int64_t t = 60; t < 120; t++)
		assert_int_equal(daynight_update(&d, BRIGHT_US, DARK_GAIN,
						 FRAME_US, t * S),
				 DAYNIGHT_DAY);
	d.mode = DAYNIGHT_NIGHT;
	d.since_ns = 0;
	for (int64_t t = 120; t < 180; t++)
		assert_int_equal(
			daynight_update(&d, mid_us, mid_gain, FRAME_US, t * S),
			DAYNIGHT_NIGHT);
}

static void test_limits(void **state)
{
	(void)state;
	assert_int_equal(daynight_frame_us(25), 40000);
	assert_int_equal(daynight_frame_us(0), 1000000 / DAYNIGHT_DEFAULT_FPS);
	assert_int_equal(daynight_max_exposure_us(DAYNIGHT_DAY, 40000), 40000);
	assert_int_equal(daynight_max_exposure_us(DAYNIGHT_NIGHT, 40000),
			 CAMERA_NIGHT_EXPOSURE_US);
	/* A frame longer than the night cap stays one frame. */
	assert_int_equal(daynight_max_exposure_us(DAYNIGHT_NIGHT, 1000000),
			 1000000);
	assert_int_equal(daynight_fixed_rate(CAMERA_PROFILE_DAY), 1);
	assert_int_equal(daynight_fixed_rate(CAMERA_PROFILE_NIGHT), 0);
	assert_int_equal(daynight_fixed_rate(CAMERA_PROFILE_AUTO), -1);
	assert_int_equal(daynight_fixed_rate(CAMERA_PROFILE_UNSET), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_init),
		cmocka_unit_test(test_fixed_profiles_hold),
		cmocka_unit_test(test_switch_after_hysteresis),
		cmocka_unit_test(test_interrupted_wait_restarts),
		cmocka_unit_test(test_dead_band),
		cmocka_unit_test(test_limits),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
