/* SPDX-License-Identifier: MIT */
/* notify_queue: bounded job queue, drop-oldest, one consumer thread. */
#include "notify_queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <time.h>

struct notify_queue {
	pthread_mutex_t lock;
	pthread_cond_t cond;
	void **items; /* ring of cap slots */
	unsigned cap, head, len;
	notify_queue_free_fn *free_fn;
	uint64_t dropped;
	int woken, stopped;
};

struct notify_queue *notify_queue_create(unsigned cap,
					 notify_queue_free_fn *free_fn)
{
	struct notify_queue *q;
	pthread_condattr_t ca;

	if (cap == 0) {
		errno = EINVAL;
		return NULL;
	}
	q = calloc(1, sizeof(*q));
	if (q == NULL)
		return NULL;
	q->items = calloc(cap, sizeof(*q->items));
	if (q->items == NULL) {
		free(q);
		return NULL;
	}
	q->cap = cap;
	q->free_fn = free_fn;
	pthread_mutex_init(&q->lock, NULL);
	/* Timed waits on CLOCK_MONOTONIC: a clock set back never stalls. */
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cond, &ca);
	pthread_condattr_destroy(&ca);
	return q;
}

void notify_queue_destroy(struct notify_queue *q)
{
	if (q == NULL)
		return;
	while (q->len > 0) {
		q->free_fn(q->items[q->head]);
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_cond_destroy(&q->cond);
	pthread_mutex_destroy(&q->lock);
	free(q->items);
	free(q);
}

void notify_queue_push(struct notify_queue *q, void *item)
{
	void *old = NULL;

	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap) {
		old = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
		q->dropped++;
	}
	q->items[(q->head + q->len) % q->cap] = item;
	q->len++;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	if (old != NULL)
		q->free_fn(old);
}

void notify_queue_requeue(struct notify_queue *q, void *item)
{
	pthread_mutex_lock(&q->lock);
	if (q->len == q->cap) {
		q->dropped++;
		pthread_mutex_unlock(&q->lock);
		q->free_fn(item);
		return;
	}
	q->head = (q->head + q->cap - 1) % q->cap;
	q->items[q->head] = item;
	q->len++;
	pthread_mutex_unlock(&q->lock);
}

static void deadline(struct timespec *ts, int timeout_ms)
{
	clock_gettime(CLOCK_MONOTONIC, ts);
	ts->tv_sec += timeout_ms / 1000;
	ts->tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (ts->tv_nsec >= 1000000000L) {
		ts->tv_sec++;
		ts->tv_nsec -= 1000000000L;
	}
}

void *notify_queue_pop(struct notify_queue *q, int timeout_ms)
{
	struct timespec ts;
	void *item = NULL;

	deadline(&ts, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (q->len == 0 && !q->stopped && !q->woken)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) ==
		    ETIMEDOUT)
			break;
	q->woken = 0;
	if (q->len > 0) {
		item = q->items[q->head];
		q->head = (q->head + 1) % q->cap;
		q->len--;
	}
	pthread_mutex_unlock(&q->lock);
	return item;
}

int notify_queue_wait(struct notify_queue *q, int timeout_ms)
{
	struct timespec ts;
	int stopped;

	deadline(&ts, timeout_ms);
	pthread_mutex_lock(&q->lock);
	while (!q->stopped && !q->woken)
		if (pthread_cond_timedwait(&q->cond, &q->lock, &ts) ==
		    ETIMEDOUT)
			break;
	q->woken = 0;
	stopped = q->stopped;
	pthread_mutex_unlock(&q->lock);
	return stopped;
}

void notify_queue_wake(struct notify_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->woken = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

void notify_queue_stop(struct notify_queue *q)
{
	pthread_mutex_lock(&q->lock);
	q->stopped = 1;
	pthread_cond_broadcast(&q->cond);
	pthread_mutex_unlock(&q->lock);
}

int notify_queue_stopped(struct notify_queue *q)
{
	int s;

	pthread_mutex_lock(&q->lock);
	s = q->stopped;
	pthread_mutex_unlock(&q->lock);
	return s;
}

unsigned notify_queue_length(struct notify_queue *q)
{
	unsigned n;

	pthread_mutex_lock(&q->lock);
	n = q->len;
	pthread_mutex_unlock(&q->lock);
	return n;
}

uint64_t notify_queue_dropped(struct notify_queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->lock);
	n = q->dropped;
	pthread_mutex_unlock(&q->lock);
	return n;
}
