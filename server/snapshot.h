/* SPDX-License-Identifier: MIT */
/*
 * snapshot: /snapshot.jpg, the newest frame as one JPEG.  With no frame yet
 * the request waits (a timer and a close callback per waiting request, no
 * thread) for the next live frame, at most SNAPSHOT_WAIT_MS, then gets 503.
 */
#ifndef VIGIL_SNAPSHOT_H
#define VIGIL_SNAPSHOT_H

#include "frame.h"
#include "metrics.h"

#define SNAPSHOT_WAIT_MS 1000

struct event_base;
struct evhttp_request;
struct snapshot;

/* NULL on ENOMEM.  metrics is borrowed for the snapshot's life. */
struct snapshot *snapshot_create(struct event_base *base,
				 struct metrics *metrics);

/* Answers req with latest (borrowed; a reference is taken while it is
 * sent), or makes it wait for snapshot_frame when latest is NULL. */
void snapshot_request(struct snapshot *s, struct evhttp_request *req,
		      struct frame *latest);

/* A new live frame (borrowed): answers every waiting request with it. */
void snapshot_frame(struct snapshot *s, struct frame *f);

/* Answers the waiting requests with 503 (shutdown), frees.  NULL ok. */
void snapshot_destroy(struct snapshot *s);

#endif
