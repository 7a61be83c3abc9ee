/* SPDX-License-Identifier: MIT */
/*
 * source: the recorder's ring reader, on a thread of its own.  It maps the
 * camera's ring read-only, waits on it with a futex (no polling), copies
 * every new frame into the queue, and re-attaches when a capture restarts
 * (a new generation: the frames simply go on, so an event continues).
 */
#ifndef VIGIL_SOURCE_H
#define VIGIL_SOURCE_H

#include <stdint.h>

#include "queue.h"

#define SOURCE_WAIT_MS 250 /* futex wait timeout: checks health and stop */
#define SOURCE_REOPEN_MS 250 /* no ring: try to attach again after this */

struct source;

/* Starts the thread.  NULL with errno. */
struct source *source_start(const char *camera, struct queue *q);

/* Stops and joins the thread, closes the ring.  Accepts NULL. */
void source_stop(struct source *s);

/* 1 while attached to a live ring. */
int source_online(struct source *s);

/* Ring frames published that the thread did not see (it fell behind). */
uint64_t source_missed(struct source *s);

#endif
