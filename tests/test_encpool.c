/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of capture/encpool.c: jobs that finish out of order are
 * published in submission order, one at a time, each exactly once.
 */
#include "test.h"

#include <stdatomic.h>
#include <string.h>
#include <time.h>

#include "encpool.h"

#define JOBS 4
#define COUNT 200

struct ctx {
	int value[JOBS]; /* the job's number in submission order */
	int done[JOBS];
	int order[COUNT];
	int published;
	atomic_int inside; /* publish calls running now */
	atomic_int overlap; /* times two ran at once */
	atomic_int running; /* work calls running now */
	atomic_int max_running;
};

static void work(void *arg, int job, int worker)
{
	struct ctx *c = arg;
	int v = c->value[job];
	int n = atomic_fetch_add(&c->running, 1) + 1;
	/* Early jobs take longest: later ones finish first. */
	struct timespec ts = {0, (long)((3 - v % 4) * 300000)};

	(void)worker;
	for (int m = atomic_load(&c->max_running); n > m;
	     m = atomic_load(&c->max_running))
		if (atomic_compare_exchange_weak(&c->max_running, &m, n))
			break;
	nanosleep(&ts, NULL);
	c->done[job] = v;
	atomic_fetch_sub(&c->running, 1);
}

static void publish(void *arg, int job, int worker)
{
	struct ctx *c = arg;
	struct timespec ts = {0, 50000};

	(void)worker;
	if (atomic_fetch_add(&c->inside, 1) != 0)
		atomic_fetch_add(&c->overlap, 1);
	nanosleep(&ts, NULL);
	c->order[c->published++] = c->done[job];
	atomic_fetch_sub(&c->inside, 1);
}

static void run(int threads, int depth)
{
	static struct ctx c;
	struct encpool *p = NULL;

	memset(&c, 0, sizeof(c));
	assert_int_equal(encpool_create(&p, threads, depth, work, publish, &c),
			 0);
	for (int i = 0; i < COUNT; i++) {
		int j = encpool_acquire(p);

		assert_in_range(j, 0, depth - 1);
		c.value[j] = i;
		encpool_submit(p, j);
	}
	encpool_drain(p);
	assert_int_equal(c.published, COUNT);
	for (int i = 0; i < COUNT; i++)
		if (c.order[i] != i)
			fail_msg("threads %d: published %d at %d", threads,
				 c.order[i], i);
	assert_int_equal(atomic_load(&c.overlap), 0);
	if (threads > 1 && depth > 1)
		assert_true(atomic_load(&c.max_running) > 1);
	else
		assert_int_equal(atomic_load(&c.max_running), 1);
	encpool_destroy(p);
}

static void test_in_order(void **state)
{
	(void)state;
	run(1, 1);
	run(2, 2);
	run(4, JOBS);
	run(3, 2);
}

static void test_bad_config(void **state)
{
	struct encpool *p = (struct encpool *)1;
	struct ctx c;

	(void)state;
	assert_int_equal(encpool_create(&p, 0, 1, work, publish, &c), -1);
	assert_null(p);
	assert_int_equal(encpool_create(&p, 1, 0, work, publish, &c), -1);
	assert_int_equal(encpool_create(&p, ENCPOOL_THREADS_MAX + 1, 1, work,
					publish, &c),
			 -1);
	assert_int_equal(encpool_create(&p, 1, 1, NULL, publish, &c), -1);
	encpool_destroy(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_bad_config),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
