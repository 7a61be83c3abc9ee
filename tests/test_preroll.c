/* SPDX-License-Identifier: MIT */
/* Unit tests of recorder/preroll.c: span, byte bounds, wrap, growth. */
#include "test.h"

#include <errno.h>
#include <string.h>

#include "preroll.h"

#define MS 1000000LL

static void fill(uint8_t *buf, size_t len, unsigned tag)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(tag * 31 + i);
}

static int check(const uint8_t *p, size_t len, unsigned tag)
{
	size_t i;

	for (i = 0; i < len; i++)
		if (p[i] != (uint8_t)(tag * 31 + i))
			return 0;
	return 1;
}

static void push(struct preroll *p, unsigned tag, int64_t t, size_t len)
{
	static uint8_t buf[1 << 20];
	struct recframe f;

	memset(&f, 0, sizeof(f));
	f.seq = tag;
	f.monotonic_ns = t;
	f.realtime_ns = t + 1000;
	fill(buf, len, tag);
	assert_int_equal(preroll_push(p, &f, buf, len), 0);
}

/* Every held frame is intact, in order, and the newest is last. */
static void verify(const struct preroll *p, unsigned newest)
{
	unsigned i, n = preroll_count(p);
	size_t total = 0;

	assert_true(n > 0);
	for (i = 0; i < n; i++) {
		const void *j;
		size_t len;
		const struct recframe *f = preroll_frame(p, i, &j, &len);

		assert_non_null(f);
		assert_true(check(j, len, (unsigned)f->seq));
		assert_int_equal(f->seq, newest - (n - 1 - i));
		total += len;
	}
	assert_int_equal(total, preroll_bytes(p));
}

static void test_span(void **state)
{
	struct preroll *p = preroll_create(1000 * MS, 0);
	unsigned i;

	(void)state;
	assert_non_null(p);
	/* 10 fps for 5 s: only the last second (11 frames: t-1s .. t). */
	for (i = 1; i <= 50; i++)
		push(p, i, (int64_t)i * 100 * MS, 1000);
	assert_int_equal(preroll_count(p), 11);
	verify(p, 50);
	preroll_clear(p);
	assert_int_equal(preroll_count(p), 0);
	assert_int_equal(preroll_bytes(p), 0);
	preroll_destroy(p);
}

static void test_bytes_bound_and_wrap(void **state)
{
	/* A 64 KiB ceiling with a long span: bytes bound the memory. */
	struct preroll *p = preroll_create(3600000 * MS, 64 << 10);
	unsigned i;

	(void)state;
	assert_non_null(p);
	for (i = 1; i <= 2000; i++) {
		/* Sizes that do not divide the arena, so it wraps unevenly. */
		push(p, i, (int64_t)i * MS, 1000 + (i * 7919) % 9000);
		assert_true(preroll_bytes(p) <= 64 << 10);
		assert_true(preroll_arena_size(p) <= 64 << 10);
		verify(p, i);
	}
	assert_true(preroll_count(p) >= 5);
	preroll_destroy(p);
}

static void test_grows_then_stops_allocating(void **state)
{
	struct preroll *p = preroll_create(2000 * MS, 0);
	size_t size;
	unsigned i;

	(void)state;
	assert_non_null(p);
	/* 30 fps of 50 KB: 3 MB for 2 s, more than the initial arena. */
	for (i = 1; i <= 90; i++)
		push(p, i, (int64_t)i * 33 * MS, 50000);
	size = preroll_arena_size(p);
	assert_true(size > PREROLL_ARENA_MIN);
	assert_int_equal(preroll_count(p), 61);
	verify(p, 90);
	/* Warmed: the steady state keeps the arena as it is. */
	for (; i <= 600; i++) {
		push(p, i, (int64_t)i * 33 * MS, 50000);
		assert_int_equal(preroll_arena_size(p), size);
	}
	verify(p, 600);
	preroll_destroy(p);
}

static void test_too_big(void **state)
{
	struct preroll *p = preroll_create(1000 * MS, 4096);
	static uint8_t buf[8192];
	struct recframe f;

	(void)state;
	memset(&f, 0, sizeof(f));
	push(p, 1, 0, 100);
	errno = 0;
	assert_int_equal(preroll_push(p, &f, buf, 5000), -1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(preroll_count(p), 1);
	assert_int_equal(preroll_push(p, &f, buf, 0), -1);
	preroll_destroy(p);
}

static void test_zero_span(void **state)
{
	struct preroll *p = preroll_create(0, 0);
	unsigned i;

	(void)state;
	for (i = 1; i <= 10; i++)
		push(p, i, (int64_t)i * 100 * MS, 500);
	assert_int_equal(preroll_count(p), 1);
	verify(p, 10);
	preroll_destroy(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_span),
		cmocka_unit_test(test_bytes_bound_and_wrap),
		cmocka_unit_test(test_grows_then_stops_allocating),
		cmocka_unit_test(test_too_big),
		cmocka_unit_test(test_zero_span),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
