/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/jpegmark.c: the JPEG marker segment walker. */
#include "test.h"

#include <string.h>

#include "jpegmark.h"

/* SOI, APP0 (4 payload bytes), DQT (2), RST3, TEM, SOS (2), entropy. */
static const uint8_t good[] = {
	0xff, 0xd8, /* SOI */
	0xff, 0xe0, 0x00, 0x06, 'J',  'F',  'I', 'F', /* APP0 */
	0xff, 0xdb, 0x00, 0x04, 0x00, 0x01, /* DQT */
	0xff, 0xd3, /* RST3: standalone */
	0xff, 0x01, /* TEM: standalone */
	0xff, 0xda, 0x00, 0x04, 0x01, 0x02, /* SOS */
};

/* The next segment is marker at offset, size bytes long. */
static void expect_seg(struct jpegmark *w, uint8_t marker, size_t offset,
		       size_t size)
{
	struct jpegmark_seg seg;

	assert_int_equal(jpegmark_next(w, &seg), 1);
	assert_int_equal(seg.marker, marker);
	assert_int_equal(seg.offset, offset);
	assert_int_equal(seg.size, size);
}

static void test_walks_segments(void **state)
{
	struct jpegmark w;
	struct jpegmark_seg seg;

	(void)state;
	jpegmark_init(&w, good, sizeof(good), 2);
	expect_seg(&w, 0xe0, 2, 8);
	expect_seg(&w, JPEGMARK_DQT, 10, 6);
	expect_seg(&w, 0xd3, 16, 2);
	expect_seg(&w, JPEGMARK_TEM, 18, 2);
	expect_seg(&w, JPEGMARK_SOS, 20, 6);
	/* The SOS header ends exactly at the end: a clean end, then -1. */
	assert_int_equal(jpegmark_next(&w, &seg), 0);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
}

/* Every RSTn is standalone; SOI and EOI are too. */
static void test_standalone_markers(void **state)
{
	uint8_t buf[2 * 8 + 4];
	struct jpegmark w;
	struct jpegmark_seg seg;

	(void)state;
	for (int i = 0; i < 8; i++) {
		buf[2 * i] = 0xff;
		buf[2 * i + 1] = (uint8_t)(0xd0 + i);
	}
	memcpy(buf + 16, (const uint8_t[]){0xff, 0xd8, 0xff, 0xd9}, 4);
	jpegmark_init(&w, buf, sizeof(buf), 0);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(jpegmark_next(&w, &seg), 1);
		assert_int_equal(seg.offset, (size_t)(2 * i));
		assert_int_equal(seg.size, 2);
	}
	assert_int_equal(seg.marker, JPEGMARK_EOI);
	assert_int_equal(jpegmark_next(&w, &seg), 0);
	for (int m = 0; m < 256; m++)
		assert_int_equal(jpegmark_standalone((uint8_t)m),
				 (m >= 0xd0 && m <= 0xd9) || m == 0x01);
	assert_true(jpegmark_is_rst(0xd0) && jpegmark_is_rst(0xd7));
	assert_false(jpegmark_is_rst(0xd8) || jpegmark_is_rst(0xcf));
}

/* Fill bytes: any number of FF before a marker; offset is the last FF. */
static void test_fill_bytes(void **state)
{
	static const uint8_t b[] = {0xff, 0xff, 0xff, 0xff, 0xe1, 0x00,
				    0x02, 0xff, 0xff, 0xda, 0x00, 0x02};
	struct jpegmark w;
	struct jpegmark_seg seg;

	(void)state;
	jpegmark_init(&w, b, sizeof(b), 0);
	expect_seg(&w, 0xe1, 3, 4);
	expect_seg(&w, JPEGMARK_SOS, 8, 4);
	assert_int_equal(jpegmark_next(&w, &seg), 0);
}

/* A walk of b whose first marker is read but whose length does not fit:
 * size 0, and stepping over it fails. */
static void expect_bad_length(const uint8_t *b, size_t len)
{
	struct jpegmark w;

	jpegmark_init(&w, b, len, 0);
	expect_seg(&w, 0xe0, 0, 0);
	assert_int_equal(jpegmark_next(&w, &(struct jpegmark_seg){0}), -1);
}

/* Data ending inside fill bytes, a marker or a length field. */
static void test_truncated(void **state)
{
	static const uint8_t fill[] = {0xff, 0xff, 0xff};
	static const uint8_t lone[] = {0xff};
	static const uint8_t half_len[] = {0xff, 0xe0, 0x00};
	struct jpegmark w;
	struct jpegmark_seg seg;

	(void)state;
	jpegmark_init(&w, fill, sizeof(fill), 0);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
	jpegmark_init(&w, lone, sizeof(lone), 0);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
	/* The marker is read; its length is cut off. */
	expect_bad_length(half_len, sizeof(half_len));
	/* Every cut of a good JPEG stays within its bytes and ends. */
	for (size_t n = 0; n <= sizeof(good); n++) {
		int r, steps = 0;

		jpegmark_init(&w, good, n, 2);
		while ((r = jpegmark_next(&w, &seg)) > 0) {
			assert_true(seg.offset + 2 <= n);
			assert_true(seg.offset + seg.size <= n);
			assert_true(++steps <= 5);
		}
		assert_true(r == 0 || r == -1);
	}
}

/* Lengths beyond the buffer, or below 2 (the length counts itself). */
static void test_bad_lengths(void **state)
{
	static const uint8_t beyond[] = {0xff, 0xe0, 0x00, 0x10, 0x00};
	static const uint8_t exact[] = {0xff, 0xe0, 0x00, 0x03, 0x00};
	static const uint8_t tiny[] = {0xff, 0xe0, 0x00, 0x01, 0xff, 0xd9};
	static const uint8_t huge[] = {0xff, 0xe0, 0xff, 0xff, 0xff, 0xd9};
	struct jpegmark w;
	struct jpegmark_seg seg;

	(void)state;
	expect_bad_length(beyond, sizeof(beyond));
	expect_bad_length(tiny, sizeof(tiny));
	expect_bad_length(huge, sizeof(huge));
	jpegmark_init(&w, exact, sizeof(exact), 0);
	expect_seg(&w, 0xe0, 0, 5);
	assert_int_equal(jpegmark_next(&w, &seg), 0);
}

/* A byte other than FF where a marker must be; FF 00 is no marker. */
static void test_not_a_marker(void **state)
{
	static const uint8_t junk[] = {0x12, 0xff, 0xd9};
	static const uint8_t stuffing[] = {0xff, 0x00, 0xff, 0xd9};
	static const uint8_t start_past[] = {0xff, 0xd8};
	struct jpegmark w;
	struct jpegmark_seg seg;

	(void)state;
	jpegmark_init(&w, junk, sizeof(junk), 0);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
	jpegmark_init(&w, stuffing, sizeof(stuffing), 0);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
	jpegmark_init(&w, start_past, sizeof(start_past), 5);
	assert_int_equal(jpegmark_next(&w, &seg), -1);
}

static void test_sof_and_length(void **state)
{
	static const uint8_t padded[] = {0xff, 0xd8, 0xff, 0xd9, 0xff,
					 0xd9, 0x00, 0x00, 0x00};
	static const uint8_t no_eoi[] = {0xff, 0xd8, 0x00, 0x00, 0x00};
	static const uint8_t no_soi[] = {0x00, 0xd8, 0xff, 0xd9};

	(void)state;
	for (int m = 0xc0; m <= 0xcf; m++)
		assert_int_equal(jpegmark_is_sof((uint8_t)m),
				 m != 0xc4 && m != 0xc8 && m != 0xcc);
	assert_false(jpegmark_is_sof(0xbf) || jpegmark_is_sof(0xd0));
	/* The last EOI: a driver's padding may hold an earlier one. */
	assert_int_equal(jpegmark_length(padded, sizeof(padded)), 6);
	assert_int_equal(jpegmark_length(no_eoi, sizeof(no_eoi)), 0);
	assert_int_equal(jpegmark_length(no_soi, sizeof(no_soi)), 0);
	assert_int_equal(jpegmark_length(padded, 3), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_walks_segments),
		cmocka_unit_test(test_standalone_markers),
		cmocka_unit_test(test_fill_bytes),
		cmocka_unit_test(test_truncated),
		cmocka_unit_test(test_bad_lengths),
		cmocka_unit_test(test_not_a_marker),
		cmocka_unit_test(test_sof_and_length),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
