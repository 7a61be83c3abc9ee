/* SPDX-License-Identifier: MIT */
/* Unit tests of recorder/backlog.c over a real ring (common/ring.c). */
#include "test.h"

#include <string.h>

#include "backlog.h"
#include "ring.h"

static void publish(struct ring_writer *w, uint64_t n)
{
	uint8_t jpeg[1000];

	memset(jpeg, (int)n, sizeof(jpeg));
#if RING_VERSION >= 2
	{
		struct ring_motion m;

		memset(&m, 0, sizeof(m));
		m.score = (uint32_t)n;
		m.grid[0] = (uint8_t)n;
		assert_int_equal(
			ring_writer_publish(w, jpeg, 100 + n, RING_FRAME_MOTION,
					    64, 48, (int64_t)n, (int64_t)n, &m),
			0);
	}
#else
	assert_int_equal(ring_writer_publish(w, jpeg, 100 + n,
					     RING_FRAME_MOTION, 64, 48,
					     (int64_t)n, (int64_t)n),
			 0);
#endif
}

static void test_by_sequence(void **state)
{
	struct ring_writer_config cfg;
	struct ring_writer *w;
	struct ring_reader *r;
	struct ring_frame f;
	static uint8_t buf[RING_SLOT_SIZE_MIN];
	uint64_t n;

	(void)state;
	memset(&cfg, 0, sizeof(cfg));
	cfg.camera = test_camera("backlog");
	cfg.slot_count = 4;
	cfg.slot_size = RING_SLOT_SIZE_MIN;
	cfg.gid = (gid_t)-1;
	cfg.width = 64;
	cfg.height = 48;
	cfg.fps_num = 10;
	cfg.fps_den = 1;
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), 0);
	assert_int_equal(ring_reader_open(&r, cfg.camera, NULL), RING_OK);
	assert_int_equal(backlog_read(r, 1, &f, buf, sizeof(buf)), RING_NONE);
	for (n = 1; n <= 6; n++)
		publish(w, n);
	/* Four slots: 3..6 are there, oldest first, each as published. */
	for (n = 1; n <= 2; n++)
		assert_int_equal(backlog_read(r, n, &f, buf, sizeof(buf)),
				 RING_NONE);
	for (n = 3; n <= 6; n++) {
		assert_int_equal(backlog_read(r, n, &f, buf, sizeof(buf)),
				 RING_OK);
		assert_int_equal(f.seq, n);
		assert_int_equal(f.length, 100 + n);
		assert_int_equal(f.realtime_ns, (int64_t)n);
		assert_int_equal(f.flags & RING_FRAME_MOTION,
				 RING_FRAME_MOTION);
		assert_int_equal(buf[0], (uint8_t)n);
		assert_int_equal(buf[f.length - 1], (uint8_t)n);
#if RING_VERSION >= 2
		assert_int_equal(f.motion_score, n);
		assert_int_equal(f.motion_grid[0], (uint8_t)n);
#endif
	}
	assert_int_equal(backlog_read(r, 7, &f, buf, sizeof(buf)), RING_NONE);
	assert_int_equal(backlog_read(r, 0, &f, buf, sizeof(buf)), RING_NONE);
	/* Too small a buffer is an error, not an overflow. */
	assert_int_equal(backlog_read(r, 6, &f, buf, 10), RING_ERROR);
	ring_reader_close(r);
	ring_writer_close(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_by_sequence),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
