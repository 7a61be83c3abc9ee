/* SPDX-License-Identifier: MIT */
/* Unit tests of recorder/event.c: start, post, extend, split, tick. */
#include "test.h"

#include "event.h"

#define S 1000000000LL
#define MS 1000000LL

/* Feeds frames at 10 fps from t0 for n frames; motion where mask says. */
static void test_start_and_end(void **state)
{
	struct event_machine m;
	int64_t t;

	(void)state;
	event_init(&m, 2 * S, 600 * S);
	assert_int_equal(event_frame(&m, 0, 0), EVENT_IDLE);
	assert_int_equal(event_frame(&m, 100 * MS, 1), EVENT_START);
	assert_int_equal(event_frame(&m, 200 * MS, 1), EVENT_RECORD);
	/* Quiet from 300 ms: recorded while within 2 s of the last motion
	 * (200 ms), ended at the first frame past 2.2 s. */
	for (t = 300 * MS; t <= 2200 * MS; t += 100 * MS)
		assert_int_equal(event_frame(&m, t, 0), EVENT_RECORD);
	assert_int_equal(event_frame(&m, 2300 * MS, 0), EVENT_END);
	assert_int_equal(event_frame(&m, 2400 * MS, 0), EVENT_IDLE);
	assert_int_equal(event_frame(&m, 2500 * MS, 1), EVENT_START);
}

static void test_extend(void **state)
{
	struct event_machine m;
	int64_t t;

	(void)state;
	event_init(&m, 1 * S, 600 * S);
	assert_int_equal(event_frame(&m, 0, 1), EVENT_START);
	for (t = 100 * MS; t <= 1000 * MS; t += 100 * MS)
		assert_int_equal(event_frame(&m, t, 0), EVENT_RECORD);
	/* Motion again within --post: the same event goes on. */
	assert_int_equal(event_frame(&m, 1000 * MS, 1), EVENT_RECORD);
	for (t = 1100 * MS; t <= 2000 * MS; t += 100 * MS)
		assert_int_equal(event_frame(&m, t, 0), EVENT_RECORD);
	assert_int_equal(event_frame(&m, 2100 * MS, 0), EVENT_END);
}

static void test_split(void **state)
{
	struct event_machine m;
	int64_t t;
	int splits = 0;

	(void)state;
	event_init(&m, 5 * S, 10 * S);
	assert_int_equal(event_frame(&m, 0, 1), EVENT_START);
	/* The file began with the pre-roll, 3 s before the motion. */
	event_file_started(&m, -3 * S);
	for (t = 100 * MS; t < 25 * S; t += 100 * MS) {
		enum event_step st = event_frame(&m, t, 1);

		assert_true(st == EVENT_RECORD || st == EVENT_SPLIT);
		if (st == EVENT_SPLIT) {
			/* Files of 10 s: the first ends 7 s in, then 17 s. */
			assert_int_equal(t, splits == 0 ? 7 * S : 17 * S);
			splits++;
		}
	}
	assert_int_equal(splits, 2);
	assert_true(m.active);
}

static void test_tick(void **state)
{
	struct event_machine m;

	(void)state;
	event_init(&m, 2 * S, 600 * S);
	assert_int_equal(event_tick(&m, 10 * S), EVENT_IDLE);
	assert_int_equal(event_frame(&m, 10 * S, 1), EVENT_START);
	/* The camera stops: the event ends when the quiet time passes. */
	assert_int_equal(event_tick(&m, 11 * S), EVENT_RECORD);
	assert_int_equal(event_tick(&m, 12 * S), EVENT_RECORD);
	assert_int_equal(event_tick(&m, 12 * S + 1), EVENT_END);
	assert_false(m.active);
	assert_int_equal(event_tick(&m, 13 * S), EVENT_IDLE);
}

static void test_zero_post(void **state)
{
	struct event_machine m;

	(void)state;
	event_init(&m, 0, 600 * S);
	assert_int_equal(event_frame(&m, 0, 1), EVENT_START);
	assert_int_equal(event_frame(&m, 100 * MS, 1), EVENT_RECORD);
	assert_int_equal(event_frame(&m, 200 * MS, 0), EVENT_END);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_start_and_end),
		cmocka_unit_test(test_extend),
		cmocka_unit_test(test_split),
		cmocka_unit_test(test_tick),
		cmocka_unit_test(test_zero_post),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
