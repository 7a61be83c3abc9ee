/* SPDX-License-Identifier: MIT */
/*
 * queue: frames on their way from the ring thread (ringtap.c) to the
 * recorder's writing thread, so that a slow disk (an fsync, a full SD card)
 * never makes the recorder miss frames: the ring keeps only a few.  One
 * producer, one consumer; JPEG bytes live in one circular byte arena
 * allocated at creation, so nothing is allocated per frame.  When the
 * queue is full a pushed frame is dropped and counted.
 *
 * Room around every frame: QUEUE_ROOM_HEAD bytes before its JPEG, starting
 * at a multiple of QUEUE_ROOM_ALIGN in memory, and after it at least 2
 * bytes, up to the next multiple.  The consumer may write there while it
 * borrows the frame: the clip frames a JPEG in place and writes it to the
 * disk from the queue (clip_write_room), without copying it again.
 */
#ifndef VIGIL_QUEUE_H
#define VIGIL_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "recframe.h"

#define QUEUE_BYTES \
	(32u << 20) /* the arena: frames in flight, with their room */
#define QUEUE_FRAMES 1024u
#define QUEUE_ROOM_HEAD 64u
#define QUEUE_ROOM_ALIGN 4096u

struct queue;

/* NULL with errno.  bytes 0: QUEUE_BYTES (rounded up to QUEUE_ROOM_ALIGN). */
struct queue *queue_create(size_t bytes);
void queue_destroy(struct queue *q); /* accepts NULL */

/* Copies a frame in and wakes the consumer.  -1 (EAGAIN) when there is no
 * room: the frame is dropped and counted. */
int queue_push(struct queue *q, const struct recframe *f, const void *jpeg,
	       size_t len);

/*
 * Zero-copy push for the producer: reserve lends max contiguous bytes of the
 * arena (NULL with EAGAIN when there is no room for max: nothing is counted,
 * the producer falls back to queue_push with the real length); the producer fills up to max bytes in place (the ring reader
 * copies the frame straight in) and commits len of them with the frame's
 * description, or simply does not commit (a torn read): the next reserve
 * replaces the reservation.  Commit: -1 with EINVAL when len is 0 or over
 * max.  Room is sought for max, not len, so a reservation may fail where
 * queue_push of the actual frame fits (nearly full, or max over the arena).
 */
void *queue_reserve(struct queue *q, size_t max);
int queue_commit(struct queue *q, const struct recframe *f, size_t len);

/*
 * The consumer's batch: waits until half the queue (frames or bytes) is
 * used, or timeout_ms passed, or queue_wake, and returns how many frames
 * are queued.  Frames i < that are lent by queue_at (oldest first, borrowed
 * until queue_pop_n) and given back by queue_pop_n(q, n).  So the consumer
 * wakes once per batch, not per frame.
 */
unsigned queue_wait(struct queue *q, int timeout_ms);
const struct recframe *queue_at(const struct queue *q, unsigned i, void **jpeg,
				size_t *len);
void queue_pop_n(struct queue *q, unsigned n);

/* Ends a consumer's wait early (shutdown). */
void queue_wake(struct queue *q);

/* Frames dropped because the queue was full. */
uint64_t queue_dropped(struct queue *q);

#endif
