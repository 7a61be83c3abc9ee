/* SPDX-License-Identifier: MIT */
/*
 * feed: the camera's ring as this server sees it.  Attaches read-only, runs
 * a waiter thread (waiter.h) that blocks in ring_reader_wait() (a futex, no
 * polling) and wakes the event loop through an eventfd; the event loop copies each
 * new frame out of the ring once into a pooled reference-counted buffer
 * (frame.h) and hands it to the frame callback.
 *
 * Without a live capture (ring absent, writer stopped or crashed, another
 * layout version) or while the camera is stalled, the callback gets the
 * "camera offline" picture once per FEED_OFFLINE_REPEAT_MS instead, and a
 * FEED_TICK_MS timer re-attaches to a capture that (re)starts: a new
 * generation is followed without the callback's users noticing more than a
 * change of frames.
 */
#ifndef VIGIL_FEED_H
#define VIGIL_FEED_H

#include <stdint.h>

#include "frame.h"
#include "metrics.h"

#define FEED_TICK_MS 250 /* health check / re-attach period */
#define FEED_STALL_MS 2000 /* no frame for this long: stalled... */
#define FEED_STALL_FRAMES 4 /* ...or for this many frame intervals */
#define FEED_OFFLINE_REPEAT_MS 1000
#define FEED_READ_RETRIES 4 /* torn reads in a row before giving up */
#define FEED_FPS_WINDOW 32 /* frames in the measured-fps window */
/* Motion detection counts as enabled while a frame with a result is among
 * the newest FEED_MOTION_GRACE (a JPEG that did not decode has none). */
#define FEED_MOTION_GRACE 32
#define FEED_SUFFIX_MAX 8 /* ring name suffixes: ".sub" */

struct event_base;
struct feed;

enum feed_status {
	FEED_ONLINE, /* fresh frames */
	FEED_STALLED, /* the writer is alive but no frame came for a while */
	FEED_OFFLINE, /* no ring, writer gone, or a ring we cannot read */
};

/* Called on the event loop thread with a frame borrowed for the call (take
 * a reference to keep it): live frames and "camera offline" pictures. */
typedef void feed_frame_fn(struct frame *f, void *arg);

/* Creates the feed of the ring "/vigil.<camera><suffix>" (suffix NULL for
 * the camera's main ring, ".sub" for its sub-stream) and tries to attach at
 * once.  NULL with errno on failure to set up (eventfd, memory, the
 * offline picture). */
struct feed *feed_create(struct event_base *base, const char *camera,
			 const char *suffix, struct metrics *metrics,
			 feed_frame_fn *cb, void *arg);

/* Stops the waiter thread (joins it: at most WAITER_WAIT_MS), detaches.
 * Frames still held elsewhere stay valid.  Accepts NULL. */
void feed_destroy(struct feed *feed);

/* Status and, when not online, a one-line reason (borrowed). */
enum feed_status feed_status(const struct feed *feed, const char **reason);

/* The newest live frame of the attached ring, borrowed (frame_ref to keep),
 * or NULL when offline or no frame came yet.  Offline pictures never. */
struct frame *feed_latest(const struct feed *feed);

/* What /metrics and /state show. */
void feed_describe(const struct feed *feed, struct metrics_feed *out);

const char *feed_status_name(enum feed_status status);

#endif
