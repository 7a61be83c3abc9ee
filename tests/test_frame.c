/* SPDX-License-Identifier: MIT */
/* Unit tests of the server's reference-counted frame buffers. */
#include "test.h"

#include "frame.h"

#include <stdlib.h>
#include <string.h>

static const char jpeg[] = "\xff\xd8 fake jpeg \xff\xd9";

static struct frame *filled(struct frame_pool *p, uint64_t seq)
{
	struct frame *f = frame_get(p);

	assert_non_null(f);
	memcpy(frame_jpeg(f), jpeg, sizeof(jpeg) - 1);
	f->jpeg_len = sizeof(jpeg) - 1;
	f->seq = seq;
	f->realtime_ns = 1700000000123456789LL;
	frame_seal(f);
	return f;
}

static void test_part_layout(void **state)
{
	struct frame_pool *p = frame_pool_create(4096);
	struct frame *f;
	char want[512];
	int n;

	(void)state;
	f = filled(p, 42);
	n = snprintf(want, sizeof(want),
		     "Content-Type: image/jpeg\r\nContent-Length: %zu\r\n"
		     "X-Timestamp: 1700000000.123456\r\nX-Frame-Seq: 42\r\n"
		     "X-Motion: 0\r\nX-Motion-Score: 0\r\n"
		     "X-Motion-Analysed: 0\r\n\r\n"
		     "%s\r\n--" FRAME_BOUNDARY "\r\n",
		     sizeof(jpeg) - 1, jpeg);
	assert_int_equal(frame_part_len(f), (size_t)n);
	assert_memory_equal(frame_part(f), want, (size_t)n);
	/* The part header ends exactly where the JPEG starts. */
	assert_ptr_equal(frame_part(f) + frame_part_len(f) - FRAME_TRAILER_LEN -
				 f->jpeg_len,
			 frame_jpeg(f));
	frame_unref(f);
	frame_pool_destroy(p);
}

/* The motion lines follow the frame's result; the longest header (every
 * number at its widest) fits the headroom. */
static void test_part_motion(void **state)
{
	struct frame_pool *p = frame_pool_create(4096);
	struct frame *f = frame_get(p);
	const char *h;

	(void)state;
	assert_non_null(f);
	f->jpeg_len = 4;
	f->seq = UINT64_MAX;
	f->realtime_ns = INT64_MAX;
	f->flags = RING_FRAME_ANALYSED | RING_FRAME_MOTION;
	f->motion_score = RING_MOTION_SCORE_MAX;
	frame_seal(f);
	h = (const char *)frame_part(f);
	assert_non_null(strstr(h, "\r\nX-Frame-Seq: 18446744073709551615\r\n"
				  "X-Motion: 1\r\nX-Motion-Score: 1000\r\n"
				  "X-Motion-Analysed: 1\r\n\r\n"));
	frame_unref(f);
	/* Motion without a result is no motion, and a score is not shown. */
	f = frame_get(p);
	assert_non_null(f);
	f->flags = RING_FRAME_MOTION;
	f->motion_score = 7;
	frame_seal(f);
	h = (const char *)frame_part(f);
	assert_non_null(strstr(h, "X-Motion: 0\r\nX-Motion-Score: 0\r\n"
				  "X-Motion-Analysed: 0\r\n\r\n"));
	frame_unref(f);
	/* A buffer back from the pool has no result left from its last use. */
	f = frame_get(p);
	assert_int_equal(f->flags, 0);
	assert_int_equal(f->motion_score, 0);
	frame_unref(f);
	frame_pool_destroy(p);
}

static void test_reuse_and_ids(void **state)
{
	struct frame_pool *p = frame_pool_create(4096);
	struct frame *a, *b, *c;
	unsigned buffers;

	(void)state;
	buffers = frame_pool_buffers(p);
	assert_int_equal(buffers, FRAME_POOL_PREALLOC);
	a = filled(p, 1);
	b = filled(p, 2);
	assert_true(b->id > a->id);
	frame_ref(a);
	frame_unref(a); /* still one reference: not reused */
	c = filled(p, 3);
	assert_ptr_not_equal(c, a);
	frame_unref(a);
	frame_unref(b);
	frame_unref(c);
	/* Steady state: no new buffer for a get/unref cycle. */
	for (int i = 0; i < 100; i++)
		frame_unref(filled(p, (uint64_t)i));
	assert_int_equal(frame_pool_buffers(p), buffers);
	frame_pool_destroy(p);
}

static void test_grows_when_held_and_trims(void **state)
{
	struct frame_pool *p = frame_pool_create(4096);
	struct frame *held[20];
	int i;

	(void)state;
	/* Slow clients each hold one frame: the pool grows past its start. */
	for (i = 0; i < 20; i++)
		held[i] = filled(p, (uint64_t)i);
	assert_int_equal(frame_pool_buffers(p), 20);
	for (i = 0; i < 20; i++)
		frame_unref(held[i]);
	/* ...and gives the extra buffers back once they are released. */
	assert_int_equal(frame_pool_buffers(p), FRAME_POOL_KEEP);
	frame_pool_destroy(p);
}

static void test_capacity_change(void **state)
{
	struct frame_pool *p = frame_pool_create(4096);
	struct frame *old = filled(p, 1), *f;

	(void)state;
	frame_pool_set_capacity(p, 1u << 20);
	f = frame_get(p);
	assert_non_null(f);
	assert_true(f->size >= FRAME_HEADROOM + (1u << 20) + FRAME_TRAILER_LEN);
	memset(frame_jpeg(f), 0xab,
	       1u << 20); /* the whole capacity is usable */
	frame_unref(f);
	/* A frame of the old size stays valid while held, then goes. */
	assert_memory_equal(frame_jpeg(old), jpeg, sizeof(jpeg) - 1);
	frame_unref(old);
	frame_pool_destroy(p);
}

static void test_destroy_while_held(void **state)
{
	struct frame_pool *p = frame_pool_create(4096);
	struct frame *f = filled(p, 7);

	(void)state;
	frame_pool_destroy(p);
	/* A client's buffer still refers to the frame: it stays readable. */
	assert_memory_equal(frame_jpeg(f), jpeg, sizeof(jpeg) - 1);
	frame_evbuffer_cleanup(frame_part(f), frame_part_len(f), f);
	frame_pool_destroy(NULL);
	frame_unref(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_part_layout),
		cmocka_unit_test(test_part_motion),
		cmocka_unit_test(test_reuse_and_ids),
		cmocka_unit_test(test_grows_when_held_and_trims),
		cmocka_unit_test(test_capacity_change),
		cmocka_unit_test(test_destroy_while_held),
	};
	return cmocka_run_group_tests_name("frame", tests, NULL, NULL);
}
