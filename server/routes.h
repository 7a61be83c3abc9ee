/* SPDX-License-Identifier: MIT */
/*
 * routes: the HTTP endpoints (one evhttp generic callback that dispatches on
 * the path); the request-head deadline (deadline.h) on every connection.
 *
 *   /            301 to /index.html
 *   /index.html  the live page ({{camera}} filled in), CSP, no-store
 *   /static/...  versioned page files, cached for a year (static.h)
 *   /stream.mjpg MJPEG (stream.h), ?fps=N, ?idle_fps=N
 *   /snapshot.jpg the newest frame; waits up to SNAPSHOT_WAIT_MS (snapshot.h)
 *   /healthz     200 "ok" or 503 with the reason
 *   /metrics     Prometheus text
 *   /state       JSON
 *   /events...   the recordings, with --recordings (events.h)
 *   /cameras     JSON list of the cameras
 *   /cam/NAME/stream.mjpg, snapshot.jpg, state: camera NAME's (the paths
 *                without /cam/NAME are the first camera's); sub.mjpg and
 *                sub.jpg: the ring /vigil.NAME.sub's stream and snapshot,
 *                404 while that ring is absent (or its writer gone);
 *                events...: the camera's recordings (main.c's
 *                open_recordings), 404 without.  A NAME that is not a valid
 *                camera name is 400, an unknown one 404.
 * GET and HEAD only (405 with Allow otherwise), 404 elsewhere, 400 for a
 * query that does not parse.
 */
#ifndef VIGIL_ROUTES_H
#define VIGIL_ROUTES_H

#include "feed.h"
#include "metrics.h"
#include "snapshot.h"
#include "stream.h"

struct events;
struct playback;

struct evhttp;
struct event_base;
struct routes;

/* One camera, owned by the caller (main.c); feed may be set after
 * routes_create, before the event loop runs. */
#define ROUTES_CAMERAS_MAX 64 /* --camera given at most this often */

struct routes_camera {
	const char *name;
	struct feed *feed;
	struct stream *stream;
	struct snapshot *snapshot;
	struct metrics *metrics; /* its counters (the first: cfg.metrics) */
	/* Its sub-stream (the ring /vigil.NAME.sub) as a camera of its own:
	 * /cam/NAME/sub.mjpg and sub.jpg while that feed is not offline.
	 * NULL in the sub itself. */
	struct routes_camera *sub;
	/* --recordings: its events under /cam/NAME/events, or NULL. */
	struct events *events;
	struct playback *playback;
};

struct routes_config {
	struct event_base *base;
	struct metrics *metrics; /* the process's, also the first camera's */
	struct routes_camera *cameras; /* borrowed: [0] is the first */
	int ncameras; /* >= 1 */
	unsigned max_clients; /* stream viewers of all cameras together */
	/* --recordings: the first camera's (/events, and the recorder's
	 * state in /state, /metrics and /healthz).  NULL without. */
	struct events *events;
	struct playback *playback;
};

/* Registers the generic callback and the connection hook (deadline.h) on
 * http.  One per process.  NULL on ENOMEM. */
struct routes *routes_create(struct evhttp *http,
			     const struct routes_config *cfg);

/* Frees (the cameras' snapshots and streams are the caller's).  NULL ok. */
void routes_destroy(struct routes *r);

#endif
