/* SPDX-License-Identifier: MIT */
/* Unit and multi-process tests of the shared-memory frame ring. */
#include "test.h"

#include "ring.h"
#include "ringfake.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>

#define SMALL_SLOT 4096u

static char camera[40];

static int setup(void **state)
{
	static int n;
	(void)state;
	snprintf(camera, sizeof(camera), "t%dring%d", (int)getpid(), n++);
	return 0;
}

static void remove_ring(void)
{
	char name[RING_NAME_MAX];

	ring_name(name, sizeof(name), camera, NULL);
	shm_unlink(name);
	ring_name(name, sizeof(name), camera, ".lock");
	shm_unlink(name);
	ring_name(name, sizeof(name), camera, RING_SUB_SUFFIX);
	shm_unlink(name);
	ring_name(name, sizeof(name), camera, RING_SUB_SUFFIX ".lock");
	shm_unlink(name);
}

static int teardown(void **state)
{
	(void)state;
	remove_ring();
	return 0;
}

static struct ring_writer *make_writer(uint32_t slots, uint32_t slot_size)
{
	struct ring_writer_config cfg = {
		.camera = camera,
		.slot_count = slots,
		.slot_size = slot_size,
		.gid = (gid_t)-1,
		.width = 64,
		.height = 48,
		.fps_num = 24,
		.fps_den = 1,
	};
	struct ring_writer *w = NULL;

	assert_int_equal(ring_writer_create(&w, &cfg, NULL), 0);
	assert_non_null(w);
	return w;
}

static struct ring_reader *make_reader(void)
{
	struct ring_reader *r = NULL;

	assert_int_equal(ring_reader_open(&r, camera, NULL), RING_OK);
	return r;
}

static void test_layout(void **state)
{
	(void)state;
	assert_int_equal(sizeof(struct ring_header), RING_HEADER_SIZE);
	assert_int_equal(sizeof(struct ring_slot_header),
			 RING_SLOT_HEADER_SIZE);
	assert_int_equal(offsetof(struct ring_header, magic), 0);
	assert_int_equal(offsetof(struct ring_header, version), 8);
	assert_int_equal(offsetof(struct ring_header, seq), 112);
	assert_int_equal(offsetof(struct ring_slot_header, seq), 8);
	assert_int_equal(offsetof(struct ring_slot_header, length), 16);
	assert_int_equal(offsetof(struct ring_slot_header, monotonic_ns), 40);
	/* Layout version 2: the motion fields. */
	assert_int_equal(RING_VERSION, 2);
	assert_int_equal(RING_SLOT_HEADER_SIZE, 128);
	assert_int_equal(RING_MOTION_GRID_BYTES, 72);
	assert_int_equal(RING_MOTION_COLS * RING_MOTION_ROWS,
			 RING_MOTION_GRID_BYTES * 8);
	assert_int_equal(offsetof(struct ring_slot_header, lock), 0);
	assert_int_equal(offsetof(struct ring_slot_header, flags), 4);
	assert_int_equal(offsetof(struct ring_slot_header, width), 20);
	assert_int_equal(offsetof(struct ring_slot_header, height), 24);
	assert_int_equal(offsetof(struct ring_slot_header, motion_score), 28);
	assert_int_equal(offsetof(struct ring_slot_header, realtime_ns), 32);
	assert_int_equal(offsetof(struct ring_slot_header, motion_since_ns),
			 48);
	assert_int_equal(offsetof(struct ring_slot_header, motion_grid), 56);
	assert_int_equal(sizeof(((struct ring_slot_header *)0)->motion_grid),
			 72);
	assert_int_equal(RING_FRAME_KEY, 1);
	assert_int_equal(RING_FRAME_MOTION, 2);
	assert_int_equal(RING_FRAME_ANALYSED, 4);
}

static void test_names(void **state)
{
	char name[RING_NAME_MAX];
	char longname[RING_CAMERA_MAX + 2];

	(void)state;
	assert_int_equal(ring_name(name, sizeof(name), "cam0", NULL), 0);
	assert_string_equal(name, "/vigil.cam0");
	assert_int_equal(ring_name(name, sizeof(name), "cam0", ".lock"), 0);
	assert_string_equal(name, "/vigil.cam0.lock");
	assert_int_equal(ring_name(name, sizeof(name), "../etc", NULL), -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ring_name(name, sizeof(name), "", NULL), -1);
	assert_int_equal(ring_name(name, sizeof(name), "a b", NULL), -1);
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(ring_name(name, sizeof(name), longname, NULL), -1);
	longname[RING_CAMERA_MAX] = '\0';
	assert_int_equal(ring_name(name, sizeof(name), longname, NULL), 0);
}

static void test_bad_config(void **state)
{
	struct ring_writer_config cfg = {.camera = camera, .gid = (gid_t)-1};
	struct ring_writer *w = NULL;

	(void)state;
	cfg.slot_count = 1;
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), -1);
	assert_int_equal(errno, EINVAL);
	cfg.slot_count = RING_SLOTS_MAX + 1;
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), -1);
	cfg.slot_count = 4;
	cfg.slot_size = 100;
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), -1);
	cfg.slot_size = RING_SLOT_SIZE_MAX;
	cfg.slot_count = RING_SLOTS_MAX; /* 16 GiB: over RING_SEGMENT_MAX */
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), -1);
	cfg.camera = "bad/name";
	cfg.slot_size = SMALL_SLOT;
	cfg.slot_count = 4;
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), -1);
	assert_null(w);
}

static void test_publish_read(void **state)
{
	struct ring_writer *w = make_writer(4, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	const char jpeg[] = "\xff\xd8 not really a jpeg \xff\xd9";
	uint32_t width, height, num, den;
	struct stat st;
	char path[64];

	(void)state;
	assert_int_equal(ring_reader_capacity(r),
			 SMALL_SLOT - RING_SLOT_HEADER_SIZE);
	assert_int_equal(ring_writer_capacity(w),
			 SMALL_SLOT - RING_SLOT_HEADER_SIZE);
	assert_int_equal(ring_reader_slot_count(r), 4);
	assert_int_equal(ring_reader_generation(r), ring_writer_generation(w));
	ring_reader_format(r, &width, &height, &num, &den);
	assert_int_equal(width, 64);
	assert_int_equal(height, 48);
	assert_int_equal(num, 24);
	assert_int_equal(den, 1);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_NONE);
	assert_int_equal(ring_reader_seq(r), 0);

	assert_int_equal(ring_writer_publish(w, jpeg, sizeof(jpeg), 0, 64, 48,
					     1234, 5678, NULL),
			 0);
	assert_int_equal(ring_reader_seq(r), 1);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.seq, 1);
	assert_int_equal(f.length, sizeof(jpeg));
	assert_memory_equal(buf, jpeg, sizeof(jpeg));
	assert_int_equal(f.realtime_ns, 1234);
	assert_int_equal(f.monotonic_ns, 5678);
	assert_int_equal(f.width, 64);
	assert_int_equal(f.generation, ring_writer_generation(w));

	/* A buffer that is too small is an error, not an overflow. */
	assert_int_equal(ring_reader_read(r, &f, buf, 4), RING_ERROR);
	assert_int_equal(errno, ENOBUFS);

	/* Too large for a slot: dropped, nothing published. */
	assert_int_equal(
		ring_writer_publish(w, buf, SMALL_SLOT, 0, 0, 0, 0, 0, NULL),
		-1);
	assert_int_equal(errno, EMSGSIZE);
	assert_int_equal(ring_writer_seq(w), 1);

	/* Times default to now. */
	assert_int_equal(ring_writer_publish(w, jpeg, 4, 0, 64, 48, 0, 0, NULL),
			 0);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_true(f.realtime_ns > 1600000000LL * 1000000000LL);
	assert_true(f.monotonic_ns > 0);

	/* Mode 0640 whatever the umask. */
	snprintf(path, sizeof(path), "/dev/shm/vigil.%s", camera);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0640);

	ring_reader_close(r);
	ring_writer_close(w);
	/* A clean close removes the name. */
	assert_int_equal(stat(path, &st), -1);
}

static void test_zero_copy_abort(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	uint8_t *p;

	(void)state;
	p = ring_writer_begin(w);
	memcpy(p, "abcd", 4);
	assert_int_equal(ring_writer_commit(w, 4, 0, 1, 1, 0, 0, NULL), 0);
	p = ring_writer_begin(w);
	memcpy(p, "zzzz", 4);
	ring_writer_abort(w);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_memory_equal(buf, "abcd", 4);
	assert_int_equal(f.seq, 1);
	/* Commit of 0 bytes or over capacity: dropped. */
	ring_writer_begin(w);
	assert_int_equal(ring_writer_commit(w, 0, 0, 0, 0, 0, 0, NULL), -1);
	ring_writer_begin(w);
	assert_int_equal(ring_writer_commit(w, SMALL_SLOT, 0, 0, 0, 0, 0, NULL),
			 -1);
	assert_int_equal(ring_writer_commit(w, 4, 0, 0, 0, 0, 0, NULL),
			 -1); /* no begin */
	assert_int_equal(ring_writer_seq(w), 1);
	ring_reader_close(r);
	ring_writer_close(w);
}

/* A motion result goes through the slot; NULL clears it, whatever was there. */
static void test_motion_fields(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct ring_motion m = {.score = 1000, .since_ns = 1700000000123456789};
	uint8_t zero[RING_MOTION_GRID_BYTES] = {0};
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	unsigned i;

	(void)state;
	for (i = 0; i < RING_MOTION_GRID_BYTES; i++)
		m.grid[i] = (uint8_t)(i * 37u + 1u);
	/* Cell (31, 17), the bottom-right one: bit 7 of the last byte. */
	m.grid[17 * (RING_MOTION_COLS / 8) + 31 / 8] |= 1u << (31 % 8);
	assert_int_equal(ring_writer_publish(w, "abc", 3, RING_FRAME_MOTION, 1,
					     1, 0, 0, &m),
			 0);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.flags, RING_FRAME_MOTION | RING_FRAME_ANALYSED);
	assert_int_equal(f.motion_score, 1000);
	assert_int_equal(f.motion_since_ns, 1700000000123456789);
	assert_memory_equal(f.motion_grid, m.grid, RING_MOTION_GRID_BYTES);
	assert_int_equal(f.motion_grid[RING_MOTION_GRID_BYTES - 1] & 0x80,
			 0x80);

	/* A result without declared motion: ANALYSED only. */
	m.score = 7;
	m.since_ns = 0;
	assert_int_equal(ring_writer_publish(w, "abc", 3, RING_FRAME_KEY, 1, 1,
					     0, 0, &m),
			 0);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.flags, RING_FRAME_KEY | RING_FRAME_ANALYSED);
	assert_int_equal(f.motion_score, 7);
	assert_int_equal(f.motion_since_ns, 0);

	/* NULL: flags cleared even if the caller passed them, fields zeroed
	 * even in a slot that held a result before (2 slots: slot 0 again). */
	assert_int_equal(ring_writer_publish(w, "abc", 3,
					     RING_FRAME_KEY |
						     RING_FRAME_MOTION |
						     RING_FRAME_ANALYSED,
					     1, 1, 0, 0, NULL),
			 0);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.seq, 3);
	assert_int_equal(f.flags, RING_FRAME_KEY);
	assert_int_equal(f.motion_score, 0);
	assert_int_equal(f.motion_since_ns, 0);
	assert_memory_equal(f.motion_grid, zero, RING_MOTION_GRID_BYTES);

	/* The writer refuses a score the readers would call corrupt. */
	m.score = RING_MOTION_SCORE_MAX + 1;
	assert_int_equal(ring_writer_publish(w, "abc", 3, 0, 1, 1, 0, 0, &m),
			 -1);
	assert_int_equal(errno, EINVAL);
	assert_int_equal(ring_writer_seq(w), 3);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.seq, 3);
	ring_reader_close(r);
	ring_writer_close(w);
}

static void test_wraparound(void **state)
{
	struct ring_writer *w = make_writer(3, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	uint32_t i;

	(void)state;
	for (i = 1; i <= 100; i++) {
		uint32_t v = i * 7919u;
		assert_int_equal(ring_writer_publish(w, &v, sizeof(v), 0, 0, 0,
						     0, 0, NULL),
				 0);
		assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)),
				 RING_OK);
		assert_int_equal(f.seq, i);
		assert_memory_equal(buf, &v, sizeof(v));
	}
	ring_reader_close(r);
	ring_writer_close(w);
}

static void test_second_writer_refused(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	struct ring_writer *w2 = NULL;
	struct ring_writer_config cfg = {
		.camera = camera,
		.slot_count = 2,
		.slot_size = SMALL_SLOT,
		.gid = (gid_t)-1,
	};
	pid_t holder = 0;

	(void)state;
	assert_int_equal(ring_writer_create(&w2, &cfg, &holder), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(holder, getpid());
	assert_null(w2);
	ring_writer_close(w);
	/* Released on close. */
	assert_int_equal(ring_writer_create(&w2, &cfg, NULL), 0);
	ring_writer_close(w2);
}

/* A writer killed with SIGKILL: the next one takes over, generation + 1,
 * and a reader of the old segment learns it was replaced. */
static void test_takeover_after_crash(void **state)
{
	struct ring_reader *r, *r2;
	struct ring_writer *w;
	uint32_t gen;
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_writer *cw = make_writer(2, SMALL_SLOT);
		ring_writer_publish(cw, "x", 1, 0, 0, 0, 0, 0, NULL);
		raise(SIGKILL);
		_exit(0);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	r = make_reader();
	gen = ring_reader_generation(r);
	assert_int_equal(ring_reader_health(r, 0, NULL), RING_OK);
	assert_int_equal(ring_reader_replaced(r), 0);

	w = make_writer(2, SMALL_SLOT);
	assert_int_equal(ring_writer_generation(w), gen + 1);
	assert_int_equal(ring_reader_health(r, 0, NULL), RING_CLOSED);
	assert_int_equal(ring_reader_replaced(r), 1);
	r2 = make_reader();
	assert_int_equal(ring_reader_generation(r2), gen + 1);
	assert_int_equal(ring_reader_replaced(r2), 0);

	/* A clean close and a new start: the generation moves on too. */
	ring_writer_close(w);
	assert_int_equal(ring_reader_health(r2, 0, NULL), RING_CLOSED);
	assert_int_equal(ring_reader_replaced(r2), -1);
	assert_int_equal(errno, ENOENT);
	w = make_writer(2, SMALL_SLOT);
	assert_int_equal(ring_writer_generation(w), gen + 2);
	ring_writer_close(w);
	ring_reader_close(r);
	ring_reader_close(r2);
}

static void test_staleness(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct timespec ts = {0, 80 * 1000000};
	uint32_t age;

	(void)state;
	assert_int_equal(ring_reader_health(r, 50, &age), RING_OK);
	assert_true(age < 50);
	nanosleep(&ts, NULL);
	assert_int_equal(ring_reader_health(r, 50, &age), RING_STALE);
	assert_true(age >= 80);
	ring_writer_heartbeat(w);
	assert_int_equal(ring_reader_health(r, 50, &age), RING_OK);
	ring_writer_close(w);
	assert_int_equal(ring_reader_health(r, 50, NULL), RING_CLOSED);
	ring_reader_close(r);
}

struct waiter {
	struct ring_reader *r;
	uint32_t last;
	enum ring_status st;
};

static void *wait_thread(void *arg)
{
	struct waiter *wt = arg;

	wt->st = ring_reader_wait(wt->r, wt->last, 5000);
	return NULL;
}

static void test_wait(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct waiter wt = {.r = r, .last = 0, .st = RING_ERROR};
	struct timespec t0, t1, pause = {0, 30 * 1000000};
	pthread_t th;

	(void)state;
	clock_gettime(CLOCK_MONOTONIC, &t0);
	assert_int_equal(ring_reader_wait(r, 0, 50), RING_TIMEOUT);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_true((t1.tv_sec - t0.tv_sec) * 1000 +
			    (t1.tv_nsec - t0.tv_nsec) / 1000000 >=
		    45);

	assert_int_equal(pthread_create(&th, NULL, wait_thread, &wt), 0);
	nanosleep(&pause, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	ring_writer_publish(w, "y", 1, 0, 0, 0, 0, 0, NULL);
	pthread_join(th, NULL);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	assert_int_equal(wt.st, RING_OK);
	/* Woken by the publish, not by the 5 s timeout. */
	assert_true(t1.tv_sec - t0.tv_sec < 2);
	/* Nothing new since seq 1. */
	assert_int_equal(ring_reader_wait(r, 1, 10), RING_TIMEOUT);
	assert_int_equal(ring_reader_wait(r, 0, 10), RING_OK);

	/* A close wakes a waiter with RING_CLOSED. */
	wt.st = RING_ERROR;
	wt.last = 1;
	assert_int_equal(pthread_create(&th, NULL, wait_thread, &wt), 0);
	nanosleep(&pause, NULL);
	ring_writer_close(w);
	pthread_join(th, NULL);
	assert_int_equal(wt.st, RING_CLOSED);
	assert_int_equal(ring_reader_wait(r, 1, 10), RING_CLOSED);
	ring_reader_close(r);
}

/* ---- validation of crafted segments (the fuzzer explores the rest) ---- */

#define FAKE_SLOTS 2u
#define FAKE_SIZE (RING_HEADER_SIZE + FAKE_SLOTS * SMALL_SLOT)

static uint8_t *fake_segment(void)
{
	uint8_t *mem = aligned_alloc(64, FAKE_SIZE);

	assert_non_null(mem);
	ringfake_init(mem, FAKE_SLOTS, SMALL_SLOT, 10);
	return mem;
}

static enum ring_status attach_and_read(uint8_t *mem, size_t size,
					uint32_t *version)
{
	struct ring_reader *r = NULL;
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	enum ring_status st = ring_reader_attach(&r, mem, size, version);

	if (st != RING_OK)
		return st;
	st = ring_reader_read(r, &f, buf, sizeof(buf));
	ring_reader_close(r);
	return st;
}

static void test_validation(void **state)
{
	uint8_t *mem = fake_segment();
	struct ring_header *h = (struct ring_header *)mem;
	struct ring_slot_header *s =
		(struct ring_slot_header *)(mem + RING_HEADER_SIZE +
					    SMALL_SLOT);
	uint32_t version = 0;

	(void)state;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_OK);
	/* Mapped size smaller than the geometry claims. */
	assert_int_equal(attach_and_read(mem, FAKE_SIZE - 1, NULL),
			 RING_CORRUPT);
	assert_int_equal(attach_and_read(mem, 100, NULL), RING_CORRUPT);

	h->version = RING_VERSION + 1;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, &version),
			 RING_BAD_VERSION);
	assert_int_equal(version, RING_VERSION + 1);
	h->version = RING_VERSION;

	h->magic ^= 1;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_BAD_MAGIC);
	h->magic ^= 1;

	h->slot_count = 0;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	h->slot_count = 0xffffffffu;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	h->slot_count = FAKE_SLOTS;

	h->slot_size = SMALL_SLOT + 1;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	h->slot_size = 0x80000000u;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	h->slot_size = SMALL_SLOT;

	h->header_size = 0;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	h->header_size = RING_HEADER_SIZE;

	/* Index and length read per frame are checked too. */
	atomic_store(&h->latest_slot, FAKE_SLOTS);
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	atomic_store(&h->latest_slot, 0xffffffffu);
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	atomic_store(&h->latest_slot, 1);
	s->length = SMALL_SLOT - RING_SLOT_HEADER_SIZE + 1;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	s->length = 0xffffffffu;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	s->length = SMALL_SLOT - RING_SLOT_HEADER_SIZE;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_OK);

	/* A motion score over 1000 is corrupt, analysed or not. */
	s->motion_score = RING_MOTION_SCORE_MAX;
	s->flags = RING_FRAME_ANALYSED;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_OK);
	s->motion_score = RING_MOTION_SCORE_MAX + 1;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	s->flags = 0;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	s->motion_score = 0xffffffffu;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_CORRUPT);
	s->motion_score = 0;
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_OK);

	/* Fields of a frame that is not ANALYSED reach nobody. */
	s->motion_since_ns = 42;
	s->motion_grid[0] = 0xff;
	{
		struct ring_reader *r = NULL;
		struct ring_frame f;
		uint8_t buf[SMALL_SLOT];

		assert_int_equal(ring_reader_attach(&r, mem, FAKE_SIZE, NULL),
				 RING_OK);
		assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)),
				 RING_OK);
		assert_int_equal(f.motion_since_ns, 0);
		assert_int_equal(f.motion_grid[0], 0);
		ring_reader_close(r);
	}

	atomic_store(&s->lock, 3);
	assert_int_equal(attach_and_read(mem, FAKE_SIZE, NULL), RING_TORN);
	free(mem);
}

/* The real segment of another layout version is refused with its number. */
static void test_version_mismatch_shm(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	struct ring_reader *r = NULL;
	char name[RING_NAME_MAX];
	uint32_t version = 0;
	uint32_t *p;
	int fd;

	(void)state;
	ring_name(name, sizeof(name), camera, NULL);
	fd = shm_open(name, O_RDWR, 0);
	assert_true(fd >= 0);
	p = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	assert_true(p != MAP_FAILED);
	p[2] = 99; /* version */
	assert_int_equal(ring_reader_open(&r, camera, &version),
			 RING_BAD_VERSION);
	assert_int_equal(version, 99);
	assert_null(r);
	/* A version-1 segment (the layout before the motion fields) too. */
	p[2] = 1;
	assert_int_equal(ring_reader_open(&r, camera, &version),
			 RING_BAD_VERSION);
	assert_int_equal(version, 1);
	assert_null(r);
	p[2] = RING_VERSION;
	munmap(p, 4096);
	close(fd);
	ring_writer_close(w);
	assert_int_equal(ring_reader_open(&r, camera, NULL), RING_ERROR);
	assert_int_equal(errno, ENOENT);
}

/* The reader's mapping is read-only for real: a write through it faults. */
static void test_reader_mapping_read_only(void **state)
{
	struct ring_writer *w = make_writer(2, SMALL_SLOT);
	int status;
	pid_t pid;

	(void)state;
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct ring_reader *r = NULL;
		volatile uint32_t *p;
		/* cmocka catches SIGSEGV; the child must die of it. */
		signal(SIGSEGV, SIG_DFL);
		if (ring_reader_open(&r, camera, NULL) != RING_OK)
			_exit(3);
		p = (volatile uint32_t *)(uintptr_t)ring_reader_mem(r);
		p[30] = 12345; /* header.seq: must fault */
		_exit(4);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(WTERMSIG(status), SIGSEGV);
	ring_writer_close(w);
}

/* A segment another user made, or that others may write, is not taken
 * over. (Owner checks need two users; here: the mode check.) */
static void test_refuses_group_writable(void **state)
{
	struct ring_writer_config cfg = {
		.camera = camera,
		.slot_count = 2,
		.slot_size = SMALL_SLOT,
		.gid = (gid_t)-1,
	};
	struct ring_writer *w = NULL;
	char name[RING_NAME_MAX];
	int fd;

	(void)state;
	ring_name(name, sizeof(name), camera, NULL);
	fd = shm_open(name, O_RDWR | O_CREAT | O_EXCL, 0666);
	assert_true(fd >= 0);
	assert_int_equal(fchmod(fd, 0666), 0);
	close(fd);
	assert_int_equal(ring_writer_create(&w, &cfg, NULL), -1);
	assert_int_equal(errno, EPERM);
	shm_unlink(name);
}

/* ---- many processes: a writer at full speed, readers checking bytes ---- */

#define TORTURE_READERS 4
#define TORTURE_SLOT (256u * 1024u)
#define TORTURE_MS 1500

static uint64_t fnv1a(const uint8_t *p, size_t n)
{
	uint64_t h = 1469598103934665603ull;
	while (n--) {
		h ^= *p++;
		h *= 1099511628211ull;
	}
	return h;
}

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Payload: seq (8 bytes), body length, fnv1a(body) (8 bytes), body. */
static void torture_writer(void)
{
	struct ring_writer *w = make_writer(2, TORTURE_SLOT);
	uint64_t seq = 0, x = 88172645463325252ull;
	int64_t end = now_ms() + TORTURE_MS + 300;

	while (now_ms() < end) {
		uint8_t *p = ring_writer_begin(w);
		size_t len = 24 + (size_t)(x % (TORTURE_SLOT -
						RING_SLOT_HEADER_SIZE - 24));
		size_t i;
		uint64_t h, n;
		seq++;
		for (i = 24; i < len; i += 8) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			memcpy(p + i, &x, len - i < 8 ? len - i : 8);
		}
		n = len - 24;
		h = fnv1a(p + 24, n);
		memcpy(p, &seq, 8);
		memcpy(p + 8, &n, 8);
		memcpy(p + 16, &h, 8);
		if (ring_writer_commit(w, len, 0, 0, 0, 0, 0, NULL) < 0)
			_exit(5);
	}
	ring_writer_close(w);
	_exit(0);
}

struct torture_result {
	uint64_t accepted, torn, bad;
};

static void torture_reader(int fd)
{
	struct torture_result res = {0, 0, 0};
	struct ring_reader *r = NULL;
	struct ring_frame f;
	uint8_t *buf = malloc(TORTURE_SLOT);
	uint32_t last = 0;
	int64_t end = now_ms() + TORTURE_MS;
	int tries;

	for (tries = 0; ring_reader_open(&r, camera, NULL) != RING_OK;
	     tries++) {
		struct timespec ts = {0, 5000000};
		if (tries > 400)
			_exit(6);
		nanosleep(&ts, NULL);
	}
	while (now_ms() < end) {
		enum ring_status st;
		if (ring_reader_wait(r, last, 100) != RING_OK)
			continue;
		last = ring_reader_seq(r);
		st = ring_reader_read(r, &f, buf, TORTURE_SLOT);
		if (st == RING_TORN) {
			res.torn++;
		} else if (st == RING_OK) {
			uint64_t seq, n, h;
			memcpy(&seq, buf, 8);
			memcpy(&n, buf + 8, 8);
			memcpy(&h, buf + 16, 8);
			res.accepted++;
			if (seq != f.seq || n != f.length - 24 ||
			    fnv1a(buf + 24, n) != h)
				res.bad++;
		}
	}
	if (write(fd, &res, sizeof(res)) != sizeof(res))
		_exit(7);
	ring_reader_close(r);
	free(buf);
	_exit(0);
}

static void test_torture_multiprocess(void **state)
{
	pid_t pids[TORTURE_READERS + 1];
	struct torture_result total = {0, 0, 0}, res;
	int fds[2], i, status;

	(void)state;
	assert_int_equal(pipe(fds), 0);
	pids[0] = fork();
	if (pids[0] == 0)
		torture_writer();
	for (i = 1; i <= TORTURE_READERS; i++) {
		pids[i] = fork();
		if (pids[i] == 0)
			torture_reader(fds[1]);
	}
	close(fds[1]);
	for (i = 0; i <= TORTURE_READERS; i++) {
		assert_int_equal(waitpid(pids[i], &status, 0), pids[i]);
		assert_true(WIFEXITED(status));
		assert_int_equal(WEXITSTATUS(status), 0);
	}
	for (i = 0; i < TORTURE_READERS; i++) {
		assert_int_equal(read(fds[0], &res, sizeof(res)), sizeof(res));
		total.accepted += res.accepted;
		total.torn += res.torn;
		total.bad += res.bad;
	}
	close(fds[0]);
	printf("# torture: %llu frames accepted, %llu torn reads dropped, "
	       "%llu bad\n",
	       (unsigned long long)total.accepted,
	       (unsigned long long)total.torn, (unsigned long long)total.bad);
	/* The point: not one torn frame was accepted.  (How many torn reads
	 * happen depends on scheduling; test_torn_read_detected forces one.) */
	assert_int_equal(total.bad, 0);
	assert_true(total.accepted > 100);
}

/* A frame rewritten while it is being copied is reported torn.  A timer
 * signal moves the slot's seqlock word on (as a writer's full rewrite would)
 * while ring_reader_read copies a 16 MB payload. */
#define BIG_SLOT (16u << 20)
static _Atomic uint32_t *torn_word;

static void torn_bump(int sig)
{
	(void)sig;
	atomic_fetch_add(torn_word, 2);
}

static void test_torn_read_detected(void **state)
{
	size_t size = RING_HEADER_SIZE + 2 * (size_t)BIG_SLOT;
	uint8_t *mem = aligned_alloc(64, size);
	uint8_t *buf = malloc(BIG_SLOT);
	struct ring_slot_header *sl;
	struct itimerval it = {{0, 100}, {0, 100}}, off = {{0, 0}, {0, 0}};
	struct ring_reader *r = NULL;
	struct ring_frame f;
	int i, torn = 0, ok = 0;

	(void)state;
	assert_non_null(mem);
	assert_non_null(buf);
	sl = ringfake_init(mem, 2, BIG_SLOT, BIG_SLOT - RING_SLOT_HEADER_SIZE);
	torn_word = &sl->lock;
	assert_int_equal(ring_reader_attach(&r, mem, size, NULL), RING_OK);

	/* Without interference the same read succeeds. */
	assert_int_equal(ring_reader_read(r, &f, buf, BIG_SLOT), RING_OK);
	signal(SIGALRM, torn_bump);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 50 && torn == 0; i++) {
		enum ring_status st = ring_reader_read(r, &f, buf, BIG_SLOT);
		torn += st == RING_TORN;
		ok += st == RING_OK;
	}
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	printf("# %d torn, %d ok reads under a 100 us rewrite timer\n", torn,
	       ok);
	assert_true(torn > 0);
	ring_reader_close(r);
	free(buf);
	free(mem);
}

/* ---------------------------------------------------- read by sequence */

static void publish_n(struct ring_writer *w, uint64_t n)
{
	struct ring_motion m;
	uint8_t jpeg[1000];

	memset(jpeg, (int)n, sizeof(jpeg));
	memset(&m, 0, sizeof(m));
	m.score = (uint32_t)n;
	m.grid[0] = (uint8_t)n;
	assert_int_equal(ring_writer_publish(w, jpeg, 100 + n,
					     RING_FRAME_MOTION, 64, 48,
					     (int64_t)n, (int64_t)n, &m),
			 0);
}

/* Every frame the ring still holds, oldest first, each as published; the
 * overwritten and the unpublished ones are RING_NONE. */
static void test_read_seq_in_order(void **state)
{
	struct ring_writer *w = make_writer(4, SMALL_SLOT);
	struct ring_reader *r = make_reader();
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	uint64_t n;

	(void)state;
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, sizeof(buf)),
			 RING_NONE);
	for (n = 1; n <= 3; n++)
		publish_n(w, n);
	for (n = 1; n <= 3; n++) {
		assert_int_equal(
			ring_reader_read_seq(r, n, &f, buf, sizeof(buf)),
			RING_OK);
		assert_int_equal(f.seq, n);
	}
	for (n = 4; n <= 6; n++)
		publish_n(w, n);
	/* Four slots: 1 and 2 were overwritten by 5 and 6. */
	for (n = 1; n <= 2; n++)
		assert_int_equal(
			ring_reader_read_seq(r, n, &f, buf, sizeof(buf)),
			RING_NONE);
	for (n = 3; n <= 6; n++) {
		assert_int_equal(
			ring_reader_read_seq(r, n, &f, buf, sizeof(buf)),
			RING_OK);
		assert_int_equal(f.seq, n);
		assert_int_equal(f.length, 100 + n);
		assert_int_equal(f.realtime_ns, (int64_t)n);
		assert_int_equal(f.generation, ring_reader_generation(r));
		assert_int_equal(f.flags & RING_FRAME_MOTION,
				 RING_FRAME_MOTION);
		assert_int_equal(buf[0], (uint8_t)n);
		assert_int_equal(buf[f.length - 1], (uint8_t)n);
		assert_int_equal(f.motion_score, n);
		assert_int_equal(f.motion_grid[0], (uint8_t)n);
	}
	assert_int_equal(ring_reader_read_seq(r, 7, &f, buf, sizeof(buf)),
			 RING_NONE);
	assert_int_equal(ring_reader_read_seq(r, 0, &f, buf, sizeof(buf)),
			 RING_NONE);
	/* Too small a buffer is an error, not an overflow. */
	errno = 0;
	assert_int_equal(ring_reader_read_seq(r, 6, &f, buf, 10), RING_ERROR);
	assert_int_equal(errno, ENOBUFS);
	ring_reader_close(r);
	ring_writer_close(w);
}

/* A frame found in a slot other than its turn's (ringfake puts frame 1 in
 * the last slot) is still found; out-of-bounds fields are RING_CORRUPT. */
static void test_read_seq_corrupt(void **state)
{
	size_t size = ringfake_size(3, SMALL_SLOT);
	uint8_t *mem = aligned_alloc(64, size);
	uint8_t buf[SMALL_SLOT];
	struct ring_slot_header *sl;
	struct ring_reader *r = NULL;
	struct ring_frame f;

	(void)state;
	assert_non_null(mem);
	sl = ringfake_init(mem, 3, SMALL_SLOT, 100);
	assert_int_equal(ring_reader_attach(&r, mem, size, NULL), RING_OK);
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, sizeof(buf)),
			 RING_OK);
	assert_int_equal(f.length, 100);
	assert_int_equal(ring_reader_read_seq(r, 2, &f, buf, sizeof(buf)),
			 RING_NONE);
	sl->length = SMALL_SLOT - RING_SLOT_HEADER_SIZE + 1;
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, sizeof(buf)),
			 RING_CORRUPT);
	sl->length = 0;
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, sizeof(buf)),
			 RING_CORRUPT);
	sl->length = 100;
	sl->motion_score = RING_MOTION_SCORE_MAX + 1;
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, sizeof(buf)),
			 RING_CORRUPT);
	/* A slot whose lock is odd is being written: torn, not corrupt. */
	sl->motion_score = 0;
	atomic_store(&sl->lock, 3);
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, sizeof(buf)),
			 RING_TORN);
	ring_reader_close(r);
	free(mem);
}

/* A frame rewritten while ring_reader_read_seq copies it is reported torn
 * (the timer moves the seqlock word on as a writer's rewrite would). */
static void test_read_seq_torn(void **state)
{
	size_t size = RING_HEADER_SIZE + 2 * (size_t)BIG_SLOT;
	uint8_t *mem = aligned_alloc(64, size);
	uint8_t *buf = malloc(BIG_SLOT);
	struct ring_slot_header *sl;
	struct itimerval it = {{0, 100}, {0, 100}}, off = {{0, 0}, {0, 0}};
	struct ring_reader *r = NULL;
	struct ring_frame f;
	int i, torn = 0;

	(void)state;
	assert_non_null(mem);
	assert_non_null(buf);
	sl = ringfake_init(mem, 2, BIG_SLOT, BIG_SLOT - RING_SLOT_HEADER_SIZE);
	torn_word = &sl->lock;
	assert_int_equal(ring_reader_attach(&r, mem, size, NULL), RING_OK);
	assert_int_equal(ring_reader_read_seq(r, 1, &f, buf, BIG_SLOT),
			 RING_OK);
	signal(SIGALRM, torn_bump);
	setitimer(ITIMER_REAL, &it, NULL);
	for (i = 0; i < 50 && torn == 0; i++)
		torn += ring_reader_read_seq(r, 1, &f, buf, BIG_SLOT) ==
			RING_TORN;
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	assert_true(torn > 0);
	ring_reader_close(r);
	free(buf);
	free(mem);
}

/* A real writer thread publishing fast into two slots while a
 * reader asks for every sequence in turn: whatever read_seq accepts is the
 * frame asked for, whole (its payload is its sequence, repeated). */
struct seq_writer {
	struct ring_writer *w;
	atomic_int stop;
	uint64_t published;
};

static void *seq_writer_main(void *arg)
{
	struct seq_writer *sw = arg;

	while (!atomic_load(&sw->stop)) {
		uint64_t *p = ring_writer_begin(sw->w);
		uint64_t seq = ring_writer_seq(sw->w) + 1;
		size_t i, n = 256 + (size_t)(seq % 200);

		for (i = 0; i < n; i++)
			p[i] = seq;
		if (ring_writer_commit(sw->w, n * 8, 0, 0, 0, 0, 0, NULL) < 0)
			break;
		sw->published = seq;
		/* About 20 us a frame: the reader (slower under ASan) still
		 * races the writer over two slots, and sometimes wins. */
		nanosleep(&(struct timespec){0, 20000}, NULL);
	}
	return NULL;
}

static void test_read_seq_concurrent(void **state)
{
	struct seq_writer sw = {.w = make_writer(2, SMALL_SLOT)};
	struct ring_reader *r = make_reader();
	static uint64_t buf[SMALL_SLOT / 8];
	struct ring_frame f;
	uint64_t seq, ok = 0, gone = 0, torn = 0, i;
	pthread_t th;
	int64_t end = now_ms() + 500;

	(void)state;
	assert_int_equal(pthread_create(&th, NULL, seq_writer_main, &sw), 0);
	for (seq = 1; now_ms() < end; seq++) {
		enum ring_status st;

		while (ring_reader_seq(r) < (uint32_t)seq && now_ms() < end)
			;
		st = ring_reader_read_seq(r, seq, &f, buf, sizeof(buf));
		if (st == RING_OK) {
			assert_int_equal(f.seq, seq);
			assert_int_equal(f.length, (256 + seq % 200) * 8);
			for (i = 0; i < f.length / 8; i++)
				assert_int_equal(buf[i], seq);
			ok++;
		} else if (st == RING_TORN) {
			torn++;
		} else {
			assert_int_equal(st, RING_NONE);
			gone++;
		}
	}
	atomic_store(&sw.stop, 1);
	pthread_join(th, NULL);
	printf("# read_seq under a writer: %llu ok, %llu torn, %llu gone\n",
	       (unsigned long long)ok, (unsigned long long)torn,
	       (unsigned long long)gone);
	assert_true(ok > 10);
	ring_reader_close(r);
	ring_writer_close(sw.w);
}

/* A suffixed ring ("/vigil.<camera>.sub") beside the main one: its own
 * lock and generation, opened with ring_reader_open_suffix. */
static void test_suffix(void **state)
{
	struct ring_writer_config cfg = {.camera = camera,
					 .slot_count = 2,
					 .slot_size = SMALL_SLOT,
					 .gid = (gid_t)-1,
					 .width = 64,
					 .height = 48,
					 .fps_num = 10,
					 .fps_den = 1};
	struct ring_writer *main_w = NULL, *sub = NULL, *sub2 = NULL;
	struct ring_reader *r = NULL;
	struct ring_frame f;
	uint8_t buf[SMALL_SLOT];
	pid_t holder = 0;

	(void)state;
	assert_true(ring_suffix_valid(NULL));
	assert_true(ring_suffix_valid(".sub"));
	assert_false(ring_suffix_valid(""));
	assert_false(ring_suffix_valid("sub"));
	assert_false(ring_suffix_valid("."));
	assert_false(ring_suffix_valid(".lock"));
	assert_false(ring_suffix_valid(".new"));
	assert_false(ring_suffix_valid(".Sub"));
	assert_false(ring_suffix_valid(".a/b"));
	assert_false(ring_suffix_valid(".abcdefghi"));

	assert_int_equal(ring_writer_create(&main_w, &cfg, NULL), 0);
	cfg.suffix = RING_SUB_SUFFIX;
	assert_int_equal(ring_writer_create(&sub, &cfg, NULL), 0);
	assert_int_equal(ring_writer_publish(sub, "abc", 3, RING_FRAME_KEY, 64,
					     48, 0, 0, NULL),
			 0);
	/* A second writer of the sub ring is refused by its own lock. */
	assert_int_equal(ring_writer_create(&sub2, &cfg, &holder), -1);
	assert_int_equal(errno, EBUSY);
	assert_int_equal(holder, getpid());

	assert_int_equal(
		ring_reader_open_suffix(&r, camera, RING_SUB_SUFFIX, NULL),
		RING_OK);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_OK);
	assert_int_equal(f.length, 3);
	assert_memory_equal(buf, "abc", 3);
	ring_reader_close(r);
	/* The main ring has no frame: the two are apart. */
	assert_int_equal(ring_reader_open_suffix(&r, camera, NULL, NULL),
			 RING_OK);
	assert_int_equal(ring_reader_read(r, &f, buf, sizeof(buf)), RING_NONE);
	ring_reader_close(r);

	assert_int_equal(ring_reader_open_suffix(&r, camera, ".lock", NULL),
			 RING_ERROR);
	assert_int_equal(errno, EINVAL);
	cfg.suffix = "sub";
	assert_int_equal(ring_writer_create(&sub2, &cfg, NULL), -1);
	assert_int_equal(errno, EINVAL);

	ring_writer_close(sub);
	assert_int_equal(
		ring_reader_open_suffix(&r, camera, RING_SUB_SUFFIX, NULL),
		RING_ERROR);
	assert_int_equal(errno, ENOENT);
	ring_writer_close(main_w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_layout),
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_bad_config, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_publish_read, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_zero_copy_abort, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_motion_fields, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wraparound, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_second_writer_refused,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_takeover_after_crash,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_staleness, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_wait, setup, teardown),
		cmocka_unit_test(test_validation),
		cmocka_unit_test_setup_teardown(test_version_mismatch_shm,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_reader_mapping_read_only,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_refuses_group_writable,
						setup, teardown),
		cmocka_unit_test(test_torn_read_detected),
		cmocka_unit_test_setup_teardown(test_read_seq_in_order, setup,
						teardown),
		cmocka_unit_test(test_read_seq_corrupt),
		cmocka_unit_test(test_read_seq_torn),
		cmocka_unit_test_setup_teardown(test_read_seq_concurrent, setup,
						teardown),
		cmocka_unit_test_setup_teardown(test_torture_multiprocess,
						setup, teardown),
		cmocka_unit_test_setup_teardown(test_suffix, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
