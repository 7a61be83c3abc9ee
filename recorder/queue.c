/* SPDX-License-Identifier: MIT */
/* queue: a bounded single-producer single-consumer frame FIFO. */
#include "queue.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

/* The arena's alignment, and where it asks for huge pages: the clip's
 * direct writes pin the arena's pages for the device, and pinning one huge
 * page instead of 512 small ones took most of that cost (measured: about
 * 10 % of the recorder's CPU).  Frames go to the arena's start first
 * (find_room), so the bytes in use stay few and warm in the CPU's caches
 * (measured: the ring thread's copy into an arena gone through end to end
 * cost twice as much). */
#define QUEUE_HUGE (2u << 20)

struct qentry {
	struct recframe f;
	size_t off, len; /* the JPEG's */
};

/* The arena's bytes an entry of len JPEG bytes takes from its start (a
 * multiple of QUEUE_ROOM_ALIGN): the room before, the JPEG, 2 bytes at
 * least after it, up to the next multiple. */
static size_t span_of(size_t len)
{
	return (QUEUE_ROOM_HEAD + len + 2 + QUEUE_ROOM_ALIGN - 1) &
	       ~(size_t)(QUEUE_ROOM_ALIGN - 1);
}

struct queue {
	pthread_mutex_t mu;
	pthread_cond_t cv;
	uint8_t *arena;
	size_t size, wr;
	struct qentry *e;
	unsigned head, count;
	size_t used; /* arena bytes queued (entries' spans) */
	/* The consumer is woken when count or used reaches these. */
	unsigned wake_frames;
	size_t wake_bytes;
	uint64_t dropped;
	int woken;
	size_t resv_off, resv_len; /* the producer's reservation */
};

/* Makes p[0, n) resident (Linux 5.14 on), or -1. */
static int populate(void *p, size_t n)
{
#ifdef MADV_POPULATE_WRITE
	return madvise(p, n, MADV_POPULATE_WRITE);
#else
	(void)p;
	(void)n;
	return -1;
#endif
}

struct queue *queue_create(size_t bytes)
{
	struct queue *q = calloc(1, sizeof(*q));
	pthread_condattr_t ca;

	if (q == NULL)
		return NULL;
	q->size = ((bytes ? bytes : QUEUE_BYTES) + QUEUE_ROOM_ALIGN - 1) &
		  ~(size_t)(QUEUE_ROOM_ALIGN - 1);
	q->wake_frames = 1;
	if (posix_memalign((void **)&q->arena, QUEUE_HUGE, q->size) != 0)
		q->arena = NULL;
	q->e = calloc(QUEUE_FRAMES, sizeof(*q->e));
	if (q->arena == NULL || q->e == NULL) {
		free(q->arena);
		free(q->e);
		free(q);
		errno = ENOMEM;
		return NULL;
	}
#ifdef MADV_HUGEPAGE
	/* Only a hint: where the kernel has no huge pages, small ones. */
	if (q->size >= QUEUE_HUGE)
		madvise(q->arena, q->size & ~(size_t)(QUEUE_HUGE - 1),
			MADV_HUGEPAGE);
#endif
	/* Resident from the start: a page fault (with the kernel's search
	 * for a huge page) in the ring thread's copy could cost it frames, and
	 * measured, the first event's faults made its copies up to twice as
	 * costly. */
	/* cppcheck-suppress knownConditionTrueFalse ; it reads no system
	 * header, so it never sees MADV_POPULATE_WRITE */
	if (populate(q->arena, q->size) < 0)
		memset(q->arena, 0, q->size);
	pthread_mutex_init(&q->mu, NULL);
	pthread_condattr_init(&ca);
	pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
	pthread_cond_init(&q->cv, &ca);
	pthread_condattr_destroy(&ca);
	return q;
}

void queue_destroy(struct queue *q)
{
	if (q == NULL)
		return;
	pthread_mutex_destroy(&q->mu);
	pthread_cond_destroy(&q->cv);
	free(q->arena);
	free(q->e);
	free(q);
}

/* Where an entry of span bytes fits without touching a queued frame (its
 * start), or -1. */
static long find_room(const struct queue *q, size_t len)
{
	size_t oldest;

	if (q->count == 0)
		return len <= q->size ? 0 : -1;
	oldest = q->e[q->head].off - QUEUE_ROOM_HEAD;
	if (q->wr > oldest) {
		/* The arena's start first, where it fits: the bytes in use
		 * stay few and in the CPU's caches. */
		if (len <= oldest)
			return 0;
		return q->wr + len <= q->size ? (long)q->wr : -1;
	}
	return q->wr + len <= oldest ? (long)q->wr : -1;
}

/* With the lock held, after a frame was added at off (its entry's start):
 * its entry, after the last (the consumer reads only entries below the
 * count it was given). */
static void added(struct queue *q, const struct recframe *f, size_t off,
		  size_t len)
{
	struct qentry *e = &q->e[(q->head + q->count) % QUEUE_FRAMES];

	e->f = *f;
	e->off = off + QUEUE_ROOM_HEAD;
	e->len = len;
	q->wr = off + span_of(len);
	q->count++;
	q->used += span_of(len);
	if (q->count >= q->wake_frames || q->used >= q->wake_bytes)
		pthread_cond_signal(&q->cv);
}

int queue_push(struct queue *q, const struct recframe *f, const void *jpeg,
	       size_t len)
{
	long off;

	pthread_mutex_lock(&q->mu);
	if (q->count == QUEUE_FRAMES || len == 0 || len > q->size ||
	    (off = find_room(q, span_of(len))) < 0) {
		q->dropped++;
		pthread_mutex_unlock(&q->mu);
		errno = EAGAIN;
		return -1;
	}
	/* The consumer only reads the head entry, which this never is. */
	memcpy(q->arena + off + QUEUE_ROOM_HEAD, jpeg, len);
	added(q, f, (size_t)off, len);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

void *queue_reserve(struct queue *q, size_t max)
{
	long off;

	pthread_mutex_lock(&q->mu);
	if (q->count == QUEUE_FRAMES || max == 0 || max > q->size ||
	    (off = find_room(q, span_of(max))) < 0) {
		pthread_mutex_unlock(&q->mu);
		errno = EAGAIN;
		return NULL;
	}
	q->resv_off = (size_t)off;
	q->resv_len = max;
	pthread_mutex_unlock(&q->mu);
	return q->arena + off + QUEUE_ROOM_HEAD;
}

int queue_commit(struct queue *q, const struct recframe *f, size_t len)
{
	pthread_mutex_lock(&q->mu);
	if (len == 0 || len > q->resv_len) {
		q->resv_len = 0;
		pthread_mutex_unlock(&q->mu);
		errno = EINVAL;
		return -1;
	}
	/* The consumer only frees room: the reserved bytes are still free, and
	 * the queue cannot have filled up meanwhile (one producer). */
	q->resv_len = 0;
	added(q, f, q->resv_off, len);
	pthread_mutex_unlock(&q->mu);
	return 0;
}

/* With the lock held: waits until the queue holds frames (bytes) or is
 * woken or timeout_ms passed. */
static void wait_for(struct queue *q, int timeout_ms, unsigned frames,
		     size_t bytes)
{
	struct timespec until;

	clock_gettime(CLOCK_MONOTONIC, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
	q->wake_frames = frames;
	q->wake_bytes = bytes;
	while (q->count < frames && q->used < bytes && !q->woken)
		if (pthread_cond_timedwait(&q->cv, &q->mu, &until) == ETIMEDOUT)
			break;
	q->wake_frames = 1;
	q->wake_bytes = 0;
	q->woken = 0;
}

unsigned queue_wait(struct queue *q, int timeout_ms)
{
	unsigned n;

	pthread_mutex_lock(&q->mu);
	wait_for(q, timeout_ms, QUEUE_FRAMES / 2, q->size / 2);
	n = q->count;
	pthread_mutex_unlock(&q->mu);
	return n;
}

const struct recframe *queue_at(const struct queue *q, unsigned i, void **jpeg,
				size_t *len)
{
	/* Entries below the count queue_wait saw are the producer's no more
	 * (it only appends), and the lock taken there made them visible. */
	const struct qentry *e = &q->e[(q->head + i) % QUEUE_FRAMES];

	*jpeg = q->arena + e->off;
	*len = e->len;
	return &e->f;
}

void queue_pop_n(struct queue *q, unsigned n)
{
	pthread_mutex_lock(&q->mu);
	if (n > q->count)
		n = q->count;
	while (n-- > 0) {
		q->used -= span_of(q->e[q->head].len);
		q->head = (q->head + 1) % QUEUE_FRAMES;
		q->count--;
	}
	if (q->count == 0) {
		q->head = 0;
		q->wr = 0;
	}
	pthread_mutex_unlock(&q->mu);
}

void queue_wake(struct queue *q)
{
	pthread_mutex_lock(&q->mu);
	q->woken = 1;
	pthread_cond_signal(&q->cv);
	pthread_mutex_unlock(&q->mu);
}

uint64_t queue_dropped(struct queue *q)
{
	uint64_t n;

	pthread_mutex_lock(&q->mu);
	n = q->dropped;
	pthread_mutex_unlock(&q->mu);
	return n;
}
