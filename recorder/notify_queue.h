/* SPDX-License-Identifier: MIT */
/*
 * notify_queue: a bounded queue of notification jobs between the recorder's
 * thread (the producer, which must never wait) and one sender thread (the
 * consumer, which may wait on a network).  When the queue is full the
 * oldest job is freed and counted: a receiver that is down costs old
 * notifications, never a frame.
 */
#ifndef VIGIL_NOTIFY_QUEUE_H
#define VIGIL_NOTIFY_QUEUE_H

#include <stdint.h>

typedef void notify_queue_free_fn(void *item);

struct notify_queue;

/* A queue of at most cap jobs, freed with free_fn.  NULL with errno. */
struct notify_queue *notify_queue_create(unsigned cap,
					 notify_queue_free_fn *free_fn);
/* Frees the jobs left; accepts NULL. */
void notify_queue_destroy(struct notify_queue *q);

/* Appends item (the queue owns it from now on) and wakes the consumer. */
void notify_queue_push(struct notify_queue *q, void *item);

/* Puts back a job the consumer could not send, at the head (it stays the
 * next one); freed and counted as dropped when the queue is full. */
void notify_queue_requeue(struct notify_queue *q, void *item);

/*
 * The oldest job (the caller owns it), waiting up to timeout_ms; NULL on
 * timeout, after notify_queue_wake, or once stopped.
 */
void *notify_queue_pop(struct notify_queue *q, int timeout_ms);

/* Waits up to timeout_ms for notify_queue_wake or a stop; 1 when stopped. */
int notify_queue_wait(struct notify_queue *q, int timeout_ms);

/* Ends the consumer's current wait (a connection came up...). */
void notify_queue_wake(struct notify_queue *q);

/* From now on every wait returns at once (shutdown). */
void notify_queue_stop(struct notify_queue *q);
int notify_queue_stopped(struct notify_queue *q);

unsigned notify_queue_length(struct notify_queue *q);
uint64_t notify_queue_dropped(struct notify_queue *q);

#endif
