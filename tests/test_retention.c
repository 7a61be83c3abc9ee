/* SPDX-License-Identifier: MIT */
/* Unit tests of recorder/retention.c: oldest first, never the current. */
#include "test.h"

#include <string.h>

#include "retention.h"

#define DAY (86400LL * 1000000000LL)

static void test_age(void **state)
{
	struct retention_item it[4] = {{0 * DAY, 10, 0},
				       {1 * DAY, 10, 0},
				       {5 * DAY, 10, 0},
				       {9 * DAY, 10, 0}};
	struct retention_policy p = {5 * DAY, 0};
	unsigned char del[4];

	(void)state;
	/* Now is day 9: older than 5 days are day 0 and day 1. */
	assert_int_equal(retention_plan(it, 4, &p, 9 * DAY, 0, del), 2);
	assert_int_equal(del[0], 1);
	assert_int_equal(del[1], 1);
	assert_int_equal(del[2], 0);
	assert_int_equal(del[3], 0);
	p.keep_ns = 0; /* no age limit */
	assert_int_equal(retention_plan(it, 4, &p, 900 * DAY, 0, del), 0);
}

static void test_size(void **state)
{
	struct retention_item it[5] = {
		{1, 100, 0}, {2, 300, 0}, {3, 50, 0}, {4, 200, 0}, {5, 100, 0}};
	struct retention_policy p = {0, 400};
	unsigned char del[5];

	(void)state;
	/* 750 in all: dropping 100 and 300 leaves 350 <= 400. */
	assert_int_equal(retention_plan(it, 5, &p, 10, 0, del), 2);
	assert_memory_equal(del, ((unsigned char[]){1, 1, 0, 0, 0}), 5);
	p.max_bytes = 750;
	assert_int_equal(retention_plan(it, 5, &p, 10, 0, del), 0);
}

static void test_free_space(void **state)
{
	struct retention_item it[3] = {{1, 100, 0}, {2, 100, 0}, {3, 100, 0}};
	struct retention_policy p = {0, 0};
	unsigned char del[3];

	(void)state;
	assert_int_equal(retention_plan(it, 3, &p, 10, 150, del), 2);
	assert_memory_equal(del, ((unsigned char[]){1, 1, 0}), 3);
	/* More than everything: all of it goes, and no more. */
	assert_int_equal(retention_plan(it, 3, &p, 10, 10000, del), 3);
}

static void test_never_current(void **state)
{
	struct retention_item it[3] = {{1, 100, 1}, {2, 100, 0}, {3, 100, 0}};
	struct retention_policy p = {1, 50};
	unsigned char del[3];

	(void)state;
	/* Every limit says "delete all"; the current one stays. */
	assert_int_equal(retention_plan(it, 3, &p, 1000, 10000, del), 2);
	assert_memory_equal(del, ((unsigned char[]){0, 1, 1}), 3);
	it[1].current = 1;
	it[0].current = 0;
	assert_int_equal(retention_plan(it, 3, &p, 1000, 10000, del), 2);
	assert_memory_equal(del, ((unsigned char[]){1, 0, 1}), 3);
	it[0].current = it[1].current = it[2].current = 1;
	assert_int_equal(retention_plan(it, 3, &p, 1000, 10000, del), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_age),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_free_space),
		cmocka_unit_test(test_never_current),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
