/* SPDX-License-Identifier: MIT */
/* Unit tests of the strict number parser used by the daemons' flags. */
#include "test.h"

#include "parse.h"

#include <errno.h>
#include <limits.h>

static void test_numbers(void **state)
{
	long v = 7;

	(void)state;
	assert_int_equal(parse_long("24", 1, 120, &v, NULL), 0);
	assert_int_equal(v, 24);
	assert_int_equal(parse_long("-3", -5, 5, &v, NULL), 0);
	assert_int_equal(v, -3);
	assert_int_equal(parse_long("0", 0, 0, &v, NULL), 0);
	assert_int_equal(v, 0);
}

static void test_not_numbers(void **state)
{
	const char *bad[] = {"",     " 5", "+5", "5 ",	"0x10",
			     "8O81", "-",  "x",	 "1.5", "--1"};
	long v = 7;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_int_equal(parse_long(bad[i], -100, 100, &v, NULL), -1);
		assert_int_equal(errno, EINVAL);
		assert_int_equal(v, 7);
	}
}

static void test_range(void **state)
{
	long v = 7;

	(void)state;
	assert_int_equal(parse_long("121", 1, 120, &v, NULL), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_long("0", 1, 120, &v, NULL), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(
		parse_long("99999999999999999999999", 0, LONG_MAX, &v, NULL),
		-1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(v, 7);
}

static void test_followed_by_text(void **state)
{
	const char *end = NULL;
	long w = 0, h = 0;

	(void)state;
	assert_int_equal(parse_long("1280x720", 16, 7680, &w, &end), 0);
	assert_int_equal(w, 1280);
	assert_int_equal(*end, 'x');
	assert_int_equal(parse_long(end + 1, 16, 4320, &h, NULL), 0);
	assert_int_equal(h, 720);
	assert_int_equal(parse_long("x720", 16, 7680, &w, &end), -1);
}

static void test_sizes(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(parse_byte_count("4096", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 4096);
	assert_int_equal(parse_byte_count("2k", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 2048);
	assert_int_equal(parse_byte_count("3M", 0, UINT64_MAX, &v), 0);
	assert_int_equal(v, 3u << 20);
	/* Beyond 32 bits: what a 32-bit long cannot hold. */
	assert_int_equal(parse_byte_count("100G", 0, UINT64_MAX, &v), 0);
	assert_true(v == (uint64_t)100 << 30);
	v = 7;
	assert_int_equal(parse_byte_count("", 0, UINT64_MAX, &v), -1);
	assert_int_equal(parse_byte_count("-1", 0, UINT64_MAX, &v), -1);
	assert_int_equal(parse_byte_count(" 1", 0, UINT64_MAX, &v), -1);
	assert_int_equal(parse_byte_count("1kB", 0, UINT64_MAX, &v), -1);
	assert_int_equal(parse_byte_count("1T", 0, UINT64_MAX, &v), -1);
	assert_int_equal(parse_byte_count("k", 0, UINT64_MAX, &v), -1);
	assert_int_equal(errno, EINVAL);
	/* Overflow of the digits, and of the suffix's shift. */
	assert_int_equal(
		parse_byte_count("99999999999999999999", 0, UINT64_MAX, &v),
		-1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_byte_count("17179869184G", 0, UINT64_MAX, &v),
			 -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_byte_count("1M", 0, 1000, &v), -1);
	assert_int_equal(errno, ERANGE);
	assert_int_equal(parse_byte_count("1", 2, 10, &v), -1);
	assert_int_equal(v, 7);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_numbers),
		cmocka_unit_test(test_not_numbers),
		cmocka_unit_test(test_range),
		cmocka_unit_test(test_followed_by_text),
		cmocka_unit_test(test_sizes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
