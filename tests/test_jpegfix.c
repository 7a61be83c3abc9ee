/* SPDX-License-Identifier: MIT */
/* Unit tests of capture/jpegfix.c: the standard Huffman tables inserted into
 * a JPEG without DHT, checked against what libjpeg-turbo itself writes. */
#include "test.h"

#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpegfix.h"

#define W 96
#define H 64

struct jpeg {
	unsigned char *data;
	unsigned long len;
};

/* A baseline 4:2:0 JPEG of a colourful picture, as TurboJPEG writes it
 * (with the standard tables: it does not optimise them unless asked). */
static struct jpeg make_jpeg(int samp)
{
	unsigned char rgb[W * H * 3];
	tjhandle tj = tjInitCompress();
	struct jpeg j = {0};

	assert_non_null(tj);
	for (int y = 0; y < H; y++)
		for (int x = 0; x < W; x++) {
			rgb[(y * W + x) * 3] = (unsigned char)(x * 255 / W);
			rgb[(y * W + x) * 3 + 1] = (unsigned char)(y * 255 / H);
			rgb[(y * W + x) * 3 + 2] = (unsigned char)((x ^ y) * 4);
		}
	assert_int_equal(tjCompress2(tj, rgb, W, 0, H, TJPF_RGB, &j.data,
				     &j.len, samp, 80, 0),
			 0);
	tjDestroy(tj);
	return j;
}

/* Copies j without its DHT segments, as a webcam would send it.  The
 * removed segments' bodies are appended to tables (if not NULL). */
static size_t strip_dht(const struct jpeg *j, uint8_t *out, uint8_t *tables,
			size_t *tables_len)
{
	size_t i = 2, o = 2, t = 0;

	memcpy(out, j->data, 2);
	for (;;) {
		uint8_t m = j->data[i + 1];
		size_t seg = (size_t)j->data[i + 2] << 8 | j->data[i + 3];

		assert_int_equal(j->data[i], 0xff);
		if (m == 0xda)
			break;
		if (m == 0xc4) {
			if (tables != NULL)
				memcpy(tables + t, j->data + i + 4, seg - 2);
			t += seg - 2;
		} else {
			memcpy(out + o, j->data + i, seg + 2);
			o += seg + 2;
		}
		i += seg + 2;
	}
	memcpy(out + o, j->data + i, j->len - i);
	if (tables_len != NULL)
		*tables_len = t;
	return o + j->len - i;
}

static unsigned char *decode(const uint8_t *data, size_t len)
{
	tjhandle tj = tjInitDecompress();
	unsigned char *px = malloc(W * H * 3);

	assert_non_null(tj);
	assert_non_null(px);
	/* TJFLAG_STOPONWARNING: a corrupt-data warning is a failure. */
	assert_int_equal(tjDecompress2(tj, data, len, px, W, 0, H, TJPF_RGB,
				       TJFLAG_STOPONWARNING),
			 0);
	tjDestroy(tj);
	return px;
}

/* One Huffman table as a DHT segment carries it. */
struct table {
	uint8_t id;
	uint8_t bits[16];
	uint8_t vals[256];
	int nvals;
};

static int parse_tables(const uint8_t *p, size_t len, struct table *t, int max)
{
	size_t i = 0;
	int n = 0;

	while (i < len) {
		assert_true(n < max);
		t[n].id = p[i];
		memcpy(t[n].bits, p + i + 1, 16);
		t[n].nvals = 0;
		for (int k = 0; k < 16; k++)
			t[n].nvals += p[i + 1 + k];
		assert_true(i + 17 + (size_t)t[n].nvals <= len);
		memcpy(t[n].vals, p + i + 17, (size_t)t[n].nvals);
		i += 17 + (size_t)t[n].nvals;
		n++;
	}
	return n;
}

/* Our tables (transcribed from T.81 Annex K.3) are exactly the ones
 * libjpeg-turbo writes by default: same four tables, same bytes. */
static void test_tables_match_libjpeg_turbo(void **state)
{
	struct jpeg j = make_jpeg(TJSAMP_420);
	uint8_t *stripped = malloc(j.len), theirs[2048];
	size_t theirs_len;
	struct table a[8], b[8];
	const uint8_t *dht = jpegfix_dht();
	int na, nb;

	(void)state;
	assert_non_null(stripped);
	strip_dht(&j, stripped, theirs, &theirs_len);
	assert_int_equal(dht[0], 0xff);
	assert_int_equal(dht[1], 0xc4);
	assert_int_equal((dht[2] << 8 | dht[3]) + 2, JPEGFIX_DHT_SIZE);
	na = parse_tables(dht + 4, JPEGFIX_DHT_SIZE - 4, a, 8);
	nb = parse_tables(theirs, theirs_len, b, 8);
	assert_int_equal(na, 4);
	assert_int_equal(nb, 4);
	for (int x = 0; x < na; x++) {
		int found = 0;

		for (int y = 0; y < nb; y++) {
			if (a[x].id != b[y].id)
				continue;
			found = 1;
			assert_memory_equal(a[x].bits, b[y].bits, 16);
			assert_int_equal(a[x].nvals, b[y].nvals);
			assert_memory_equal(a[x].vals, b[y].vals,
					    (size_t)a[x].nvals);
		}
		assert_true(found);
	}
	free(stripped);
	tjFree(j.data);
}

/* A JPEG stripped of its DHT is detected, fixed, and decodes to exactly the
 * pixels of the original. */
static void check_fix(int samp)
{
	struct jpeg j = make_jpeg(samp);
	uint8_t *stripped = malloc(j.len), *fixed;
	size_t slen, flen, sos = 0, sos2 = 0;
	unsigned char *want, *got;

	assert_non_null(stripped);
	slen = strip_dht(&j, stripped, NULL, NULL);
	assert_true(slen < j.len);
	assert_int_equal(jpegfix_check(j.data, j.len, &sos), JPEGFIX_OK);
	assert_int_equal(jpegfix_check(stripped, slen, &sos), JPEGFIX_NEEDED);
	assert_int_equal(stripped[sos], 0xff);
	assert_int_equal(stripped[sos + 1], 0xda);

	fixed = malloc(slen + JPEGFIX_DHT_SIZE);
	assert_non_null(fixed);
	/* Too small an output buffer is refused, not overrun. */
	assert_int_equal(jpegfix_insert(stripped, slen, sos, fixed,
					slen + JPEGFIX_DHT_SIZE - 1),
			 0);
	flen = jpegfix_insert(stripped, slen, sos, fixed,
			      slen + JPEGFIX_DHT_SIZE);
	assert_int_equal(flen, slen + JPEGFIX_DHT_SIZE);
	assert_int_equal(jpegfix_check(fixed, flen, &sos2), JPEGFIX_OK);
	assert_memory_equal(fixed + sos, jpegfix_dht(), JPEGFIX_DHT_SIZE);
	assert_memory_equal(fixed + flen - 2, "\xff\xd9", 2);

	want = decode(j.data, j.len);
	got = decode(fixed, flen);
	assert_memory_equal(got, want, W * H * 3);
	free(want);
	free(got);
	free(fixed);
	free(stripped);
	tjFree(j.data);
}

static void test_fix_420(void **state)
{
	(void)state;
	check_fix(TJSAMP_420);
}

static void test_fix_422(void **state)
{
	(void)state;
	check_fix(TJSAMP_422); /* what YUYV webcams encode */
}

/* Every truncation of the headers and every corrupt length is BAD, never
 * a read past the end (ASan watches the SAN=1 build). */
static void test_bad_input(void **state)
{
	struct jpeg j = make_jpeg(TJSAMP_420);
	uint8_t *stripped = malloc(j.len), *copy;
	size_t slen, sos = 0;

	(void)state;
	assert_non_null(stripped);
	slen = strip_dht(&j, stripped, NULL, NULL);
	assert_int_equal(jpegfix_check(stripped, slen, &sos), JPEGFIX_NEEDED);
	for (size_t n = 0; n <= sos + 1; n++) {
		copy = malloc(n ? n : 1);
		assert_non_null(copy);
		memcpy(copy, stripped, n);
		assert_int_equal(jpegfix_check(copy, n, &sos), JPEGFIX_BAD);
		free(copy);
	}
	/* Not a JPEG. */
	assert_int_equal(
		jpegfix_check((const uint8_t *)"\x89PNG\r\n\x1a\n", 8, &sos),
		JPEGFIX_BAD);
	/* A segment length running past the end. */
	stripped[4] = 0xff;
	stripped[5] = 0xff;
	assert_int_equal(jpegfix_check(stripped, slen, &sos), JPEGFIX_BAD);
	/* A segment length under 2. */
	stripped[4] = 0x00;
	stripped[5] = 0x01;
	assert_int_equal(jpegfix_check(stripped, slen, &sos), JPEGFIX_BAD);
	/* EOI before any SOS. */
	assert_int_equal(
		jpegfix_check((const uint8_t *)"\xff\xd8\xff\xd9", 4, &sos),
		JPEGFIX_BAD);
	/* insert refuses an SOS offset out of range. */
	copy = malloc(slen + JPEGFIX_DHT_SIZE);
	assert_non_null(copy);
	assert_int_equal(jpegfix_insert(stripped, slen, slen, copy,
					slen + JPEGFIX_DHT_SIZE),
			 0);
	assert_int_equal(jpegfix_insert(stripped, slen, 0, copy,
					slen + JPEGFIX_DHT_SIZE),
			 0);
	free(copy);
	free(stripped);
	tjFree(j.data);
}

/* Fill bytes (FF FF ...) before a marker are legal (T.81 B.1.1.2). */
static void test_fill_bytes(void **state)
{
	static const uint8_t jpeg[] = {
		0xff, 0xd8, 0xff, 0xff, 0xff, 0xe0, 0x00, 0x04, 0x00,
		0x00, 0xff, 0xff, 0xda, 0x00, 0x02, 0xff, 0xd9,
	};
	size_t sos = 0;

	(void)state;
	assert_int_equal(jpegfix_check(jpeg, sizeof(jpeg), &sos),
			 JPEGFIX_NEEDED);
	assert_int_equal(sos, 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_tables_match_libjpeg_turbo),
		cmocka_unit_test(test_fix_420),
		cmocka_unit_test(test_fix_422),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_fill_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
