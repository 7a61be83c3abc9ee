/* SPDX-License-Identifier: MIT */
/*
 * routes: the HTTP endpoints (one evhttp generic callback that dispatches on
 * the path), the snapshot waiters and the static page files.
 *
 *   /            301 to /index.html
 *   /index.html  the live page ({{camera}} filled in), CSP, no-store
 *   /static/...  versioned page files, cached for a year (immutable)
 *   /stream.mjpg MJPEG (stream.h), ?fps=N
 *   /snapshot.jpg the newest frame; waits up to ROUTES_SNAPSHOT_WAIT_MS
 *   /healthz     200 "ok" or 503 with the reason
 *   /metrics     Prometheus text
 *   /state       JSON
 * GET and HEAD only (405 with Allow otherwise), 404 elsewhere, 400 for a
 * query that does not parse.
 */
#ifndef VIGIL_ROUTES_H
#define VIGIL_ROUTES_H

#include "feed.h"
#include "metrics.h"
#include "stream.h"

#define ROUTES_SNAPSHOT_WAIT_MS 1000
#define ROUTES_RETRY_AFTER_S "1"
#define ROUTES_HEAD_DEADLINE_S 10 /* a request head must be complete in this */
#define ROUTES_FDS_MAX 1048576u /* descriptors the head deadline tracks */

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
};

/* Registers the generic callback on http.  NULL on ENOMEM. */
struct routes *routes_create(struct evhttp *http,
			     const struct routes_config *cfg);
void routes_set_feed(struct routes *r, struct feed *feed);

/* A new live frame: answers the snapshot requests waiting for one. */
void routes_frame(struct routes *r, struct frame *f);

/* Answers waiting snapshot requests with 503 (shutdown), frees.  NULL ok. */
void routes_destroy(struct routes *r);

#endif
