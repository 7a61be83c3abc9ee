/* SPDX-License-Identifier: MIT */
/* Unit tests of recorder/queue.c: order, bounds, drops, two threads. */
#include "test.h"

#include <pthread.h>
#include <sched.h>
#include <string.h>
#include <time.h>

#include "queue.h"

static uint8_t buf[64 << 10];

static size_t size_of(uint64_t seq)
{
	return 100 + (size_t)(seq * 7919 % 20000);
}

static void fill(uint64_t seq, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++)
		buf[i] = (uint8_t)(seq * 13 + i);
}

static int intact(uint64_t seq, const uint8_t *p, size_t len)
{
	size_t i;

	if (len != size_of(seq))
		return 0;
	for (i = 0; i < len; i++)
		if (p[i] != (uint8_t)(seq * 13 + i))
			return 0;
	return 1;
}

static int push(struct queue *q, uint64_t seq)
{
	struct recframe f;
	size_t len = size_of(seq);

	memset(&f, 0, sizeof(f));
	f.seq = seq;
	fill(seq, len);
	return queue_push(q, &f, buf, len);
}

/* The oldest frame, copied out of the consumer's batch: 1, or 0 if the
 * queue is empty. */
static int peek(struct queue *q, struct recframe *f, void **jpeg, size_t *len)
{
	if (queue_wait(q, 0) == 0)
		return 0;
	*f = *queue_at(q, 0, jpeg, len);
	return 1;
}

static void test_order_and_drops(void **state)
{
	struct queue *q = queue_create(100 << 10);
	struct recframe f;
	void *j;
	size_t len;
	uint64_t seq, next = 1, pushed = 0;

	(void)state;
	assert_non_null(q);
	assert_int_equal(peek(q, &f, &j, &len), 0);
	/* Fill until full: later frames are dropped and counted. */
	for (seq = 1; seq <= 40; seq++)
		if (push(q, seq) == 0)
			pushed++;
		else
			break;
	assert_true(pushed >= 5 && pushed < 40);
	assert_int_equal(push(q, 1000), -1);
	assert_int_equal(queue_dropped(q), 2);
	/* Drain half, push more (the arena wraps), all in order. */
	for (; next <= pushed / 2; next++) {
		assert_int_equal(peek(q, &f, &j, &len), 1);
		assert_int_equal(f.seq, next);
		assert_true(intact(next, j, len));
		queue_pop_n(q, 1);
	}
	for (seq = pushed + 1; seq < pushed + 200; seq++) {
		while (push(q, seq) < 0) {
			assert_int_equal(peek(q, &f, &j, &len), 1);
			assert_int_equal(f.seq, next);
			assert_true(intact(next, j, len));
			queue_pop_n(q, 1);
			next++;
		}
	}
	while (peek(q, &f, &j, &len)) {
		assert_int_equal(f.seq, next);
		assert_true(intact(next, j, len));
		queue_pop_n(q, 1);
		next++;
	}
	assert_int_equal(next, pushed + 200);
	queue_destroy(q);
}

struct producer {
	struct queue *q;
	uint64_t n;
};

static void *produce(void *arg)
{
	struct producer *p = arg;
	static uint8_t mine[64 << 10];
	uint64_t seq;

	for (seq = 1; seq <= p->n; seq++) {
		struct recframe f;
		size_t len = size_of(seq), i;

		memset(&f, 0, sizeof(f));
		f.seq = seq;
		for (i = 0; i < len; i++)
			mine[i] = (uint8_t)(seq * 13 + i);
		while (queue_push(p->q, &f, mine, len) < 0)
			sched_yield();
	}
	return NULL;
}

/* Zero-copy push: a reservation is filled in place and committed with its
 * real length; one never committed leaves nothing queued; no room for the
 * reservation is refused without counting a drop. */
static void test_reserve_commit(void **state)
{
	struct queue *q = queue_create(3 * QUEUE_ROOM_ALIGN);
	struct recframe f, got;
	void *jpeg;
	uint8_t *p;
	size_t len;

	(void)state;
	assert_non_null(q);
	memset(&f, 0, sizeof(f));
	p = queue_reserve(q, 1000);
	assert_non_null(p);
	memset(p, 0xab, 300);
	f.seq = 1;
	assert_int_equal(queue_commit(q, &f, 300), 0);
	/* A reservation not committed (a torn read) queues nothing. */
	assert_non_null(queue_reserve(q, 1000));
	p = queue_reserve(q, 1000);
	assert_non_null(p);
	memset(p, 0xcd, 200);
	f.seq = 2;
	assert_int_equal(queue_commit(q, &f, 200), 0);
	/* Over the reservation, or zero: refused. */
	assert_non_null(queue_reserve(q, 100));
	assert_int_equal(queue_commit(q, &f, 101), -1);
	/* No room for 5000 contiguous bytes and their room (one of the three
	 * aligned pages is free): refused, not counted (the producer then
	 * pushes with the real length, which counts). */
	assert_null(queue_reserve(q, 5000));
	assert_int_equal(queue_dropped(q), 0);
	assert_int_equal(peek(q, &got, &jpeg, &len), 1);
	assert_int_equal(got.seq, 1);
	assert_int_equal(len, 300);
	assert_int_equal(((const uint8_t *)jpeg)[299], 0xab);
	queue_pop_n(q, 1);
	assert_int_equal(peek(q, &got, &jpeg, &len), 1);
	assert_int_equal(got.seq, 2);
	assert_int_equal(len, 200);
	assert_int_equal(((const uint8_t *)jpeg)[0], 0xcd);
	queue_pop_n(q, 1);
	assert_int_equal(peek(q, &got, &jpeg, &len), 0);
	queue_destroy(q);
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Batches: frames lent in order until popped; a half-used queue ends the
 * wait at once. */
static void test_batch(void **state)
{
	struct queue *q = queue_create(100 << 10);
	const struct recframe *f;
	void *j;
	size_t len, used = 0;
	uint64_t seq;
	unsigned i, n;
	double t0;

	(void)state;
	assert_non_null(q);
	assert_int_equal(queue_wait(q, 0), 0);
	for (seq = 1; seq <= 3; seq++)
		assert_int_equal(push(q, seq), 0);
	assert_int_equal(queue_wait(q, 0), 3);
	for (i = 0; i < 3; i++) {
		f = queue_at(q, i, &j, &len);
		assert_int_equal(f->seq, i + 1);
		assert_true(intact(i + 1, j, len));
	}
	queue_pop_n(q, 2);
	assert_int_equal(queue_wait(q, 0), 1);
	f = queue_at(q, 0, &j, &len);
	assert_int_equal(f->seq, 3);
	assert_true(intact(3, j, len));
	queue_pop_n(q, 1);
	assert_int_equal(queue_wait(q, 0), 0);
	/* Over half the bytes: a long wait returns at once. */
	for (seq = 4; used < (50 << 10); seq++) {
		assert_int_equal(push(q, seq), 0);
		used += size_of(seq);
	}
	t0 = now_s();
	n = queue_wait(q, 10000);
	assert_true(now_s() - t0 < 5.0);
	assert_int_equal(n, seq - 4);
	assert_int_equal(queue_at(q, n - 1, &j, &len)->seq, seq - 1);
	queue_pop_n(q, n);
	/* Below half: queue_wake ends the wait. */
	assert_int_equal(push(q, seq), 0);
	queue_wake(q);
	t0 = now_s();
	assert_int_equal(queue_wait(q, 10000), 1);
	assert_true(now_s() - t0 < 5.0);
	queue_destroy(q);
}

/* A frame goes to the arena's start as soon as the frames there are gone,
 * before the end of the arena is used. */
static void test_start_first(void **state)
{
	struct queue *q = queue_create(100 << 10);
	struct recframe f;
	void *first, *j;
	size_t len;

	(void)state;
	assert_non_null(q);
	assert_int_equal(push(q, 1), 0);
	assert_int_equal(push(q, 2), 0);
	assert_int_equal(push(q, 3), 0);
	assert_int_equal(peek(q, &f, &first, &len), 1);
	queue_pop_n(q, 2); /* 3 is still queued, past the start */
	assert_int_equal(push(q, 4), 0);
	assert_int_equal(queue_wait(q, 0), 2);
	assert_int_equal(queue_at(q, 1, &j, &len)->seq, 4);
	assert_ptr_equal(j, first);
	assert_true(intact(4, j, len));
	assert_int_equal(peek(q, &f, &j, &len), 1);
	assert_int_equal(f.seq, 3);
	assert_true(intact(3, j, len));
	queue_destroy(q);
}

/* The consumer writes all the room around a frame it borrows, as the clip
 * does (the JPEG's start less QUEUE_ROOM_HEAD is aligned). */
static void scribble(void *jpeg, size_t len)
{
	uint8_t *p = jpeg;
	uintptr_t end = ((uintptr_t)p + len + 2 + QUEUE_ROOM_ALIGN - 1) &
			~(uintptr_t)(QUEUE_ROOM_ALIGN - 1);

	assert_int_equal(((uintptr_t)p - QUEUE_ROOM_HEAD) % QUEUE_ROOM_ALIGN,
			 0);
	memset(p - QUEUE_ROOM_HEAD, 0xee, QUEUE_ROOM_HEAD);
	memset(p + len, 0xee, end - ((uintptr_t)p + len));
}

/* A producer thread and the consumer taking batches, as the recorder's
 * two threads do: every frame, in order, intact, though the consumer
 * writes the room around each frame while the producer adds more. */
static void test_threads(void **state)
{
	struct producer p = {queue_create(256 << 10), 5000};
	const struct recframe *f;
	void *j;
	size_t len;
	pthread_t th;
	uint64_t next = 1;
	unsigned i, n;

	(void)state;
	assert_non_null(p.q);
	assert_int_equal(pthread_create(&th, NULL, produce, &p), 0);
	while (next <= p.n) {
		n = queue_wait(p.q, 1000);
		for (i = 0; i < n; i++) {
			f = queue_at(p.q, i, &j, &len);
			assert_int_equal(f->seq, next);
			scribble(j, len);
			assert_true(intact(next, j, len));
			next++;
		}
		queue_pop_n(p.q, n);
	}
	pthread_join(th, NULL);
	queue_wake(p.q);
	assert_int_equal(queue_wait(p.q, 5000), 0);
	queue_destroy(p.q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_order_and_drops),
		cmocka_unit_test(test_reserve_commit),
		cmocka_unit_test(test_batch),
		cmocka_unit_test(test_start_first),
		cmocka_unit_test(test_threads),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
