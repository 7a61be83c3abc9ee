/* SPDX-License-Identifier: MIT */
/* Unit tests of the "camera offline" picture. */
#include "test.h"

#include "offline.h"

#include <stdlib.h>
#include <turbojpeg.h>

static void decode(const uint8_t *jpeg, size_t len, int *w, int *h,
		   unsigned *bright)
{
	tjhandle tj = tjInitDecompress();
	int ss, cs;
	uint8_t *px;

	assert_non_null(tj);
	assert_int_equal(tjDecompressHeader3(tj, jpeg, len, w, h, &ss, &cs), 0);
	px = malloc((size_t)*w * (size_t)*h);
	assert_non_null(px);
	assert_int_equal(tjDecompress2(tj, jpeg, len, px, *w, 0, *h, TJPF_GRAY,
				       TJFLAG_STOPONWARNING),
			 0);
	*bright = 0;
	for (size_t i = 0; i < (size_t)*w * (size_t)*h; i++)
		*bright += px[i] > 128;
	free(px);
	tjDestroy(tj);
}

static void test_default_size(void **state)
{
	uint8_t *jpeg = NULL;
	size_t len = 0;
	unsigned bright;
	int w, h;

	(void)state;
	assert_int_equal(offline_render(1280, 720, &jpeg, &len), 0);
	decode(jpeg, len, &w, &h, &bright);
	assert_int_equal(w, 1280);
	assert_int_equal(h, 720);
	/* Dark background with large light text: some bright pixels, and
	 * far fewer than half. */
	assert_true(bright > 1280u * 720u / 100u);
	assert_true(bright < 1280u * 720u / 4u);
	free(jpeg);
}

static void test_sizes_clamped(void **state)
{
	uint8_t *jpeg = NULL;
	size_t len = 0;
	unsigned bright;
	int w, h;

	(void)state;
	assert_int_equal(offline_render(1, 100000, &jpeg, &len), 0);
	decode(jpeg, len, &w, &h, &bright);
	assert_int_equal(w, OFFLINE_SIZE_MIN);
	assert_int_equal(h, OFFLINE_SIZE_MAX);
	free(jpeg);
	assert_int_equal(offline_render(640, 480, &jpeg, &len), 0);
	decode(jpeg, len, &w, &h, &bright);
	assert_int_equal(w, 640);
	assert_int_equal(h, 480);
	assert_true(bright > 0);
	free(jpeg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_default_size),
		cmocka_unit_test(test_sizes_clamped),
	};
	return cmocka_run_group_tests_name("offline", tests, NULL, NULL);
}
