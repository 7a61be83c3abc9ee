/* SPDX-License-Identifier: MIT */
/*
 * routes: the HTTP endpoints (one evhttp generic callback that dispatches on
 * the path); the request-head deadline (deadline.h) on every connection.
 *
 *   /            301 to /index.html
 *   /index.html  the live page ({{camera}} filled in), CSP, no-store
 *   /static/...  versioned page files, cached for a year (static.h)
 *   /stream.mjpg MJPEG (stream.h), ?fps=N
 *   /snapshot.jpg the newest frame; waits up to SNAPSHOT_WAIT_MS (snapshot.h)
 *   /healthz     200 "ok" or 503 with the reason
 *   /metrics     Prometheus text
 *   /state       JSON
 *   /events...   the recordings, with --recordings (events.h)
 * GET and HEAD only (405 with Allow otherwise), 404 elsewhere, 400 for a
 * query that does not parse.
 */
#ifndef VIGIL_ROUTES_H
#define VIGIL_ROUTES_H

#include "feed.h"
#include "metrics.h"
#include "stream.h"

struct events;
struct playback;

struct evhttp;
struct event_base;
struct routes;

struct routes_config {
	struct event_base *base;
	struct feed *feed; /* set after routes_create via routes_set_feed */
	struct stream *stream;
	struct metrics *metrics;
	const char *camera;
	unsigned max_clients;
	/* --recordings: /events, and the recorder's state in /state,
	 * /metrics and /healthz.  NULL without. */
	struct events *events;
	struct playback *playback;
};

/* Registers the generic callback and the connection hook (deadline.h) on
 * http.  One per process.  NULL on ENOMEM. */
struct routes *routes_create(struct evhttp *http,
			     const struct routes_config *cfg);
void routes_set_feed(struct routes *r, struct feed *feed);

/* A new live frame: answers the snapshot requests waiting for one. */
void routes_frame(struct routes *r, struct frame *f);

/* Answers waiting snapshot requests with 503 (shutdown), frees.  NULL ok. */
void routes_destroy(struct routes *r);

#endif
