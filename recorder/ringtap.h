/* SPDX-License-Identifier: MIT */
/*
 * ringtap: the recorder's ring reader, on a thread of its own.  It maps the
 * camera's ring read-only, waits on it with a futex (no polling), copies
 * every new frame into the queue, and re-attaches when a capture restarts
 * (a new generation: the frames simply go on, so an event continues).  A
 * writer that stops beating is not re-opened on a timer: while it is not
 * healthy, ring_reader_replaced() says whether a new capture took the name.
 */
#ifndef VIGIL_RINGTAP_H
#define VIGIL_RINGTAP_H

#include <stdint.h>

#include "queue.h"

#define RINGTAP_WAIT_MS 250 /* futex wait timeout: checks health and stop */
#define RINGTAP_PACE_MAX_MS 100 /* longest sleep between reads */
#define RINGTAP_RATE_WINDOW_MS 2000 /* the frame interval's memory */
#define RINGTAP_REOPEN_MS 250 /* no segment under the name: try again */

struct ringtap;

/* Starts the thread.  NULL with errno. */
struct ringtap *ringtap_start(const char *camera, struct queue *q);

/* Stops and joins the thread, closes the ring.  Accepts NULL. */
void ringtap_stop(struct ringtap *s);

/* 1 while attached to a live ring. */
int ringtap_online(struct ringtap *s);

/* Ring frames published that the thread did not see (it fell behind). */
uint64_t ringtap_missed(struct ringtap *s);

#endif
