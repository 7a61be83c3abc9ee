/* SPDX-License-Identifier: MIT */
/*
 * deadline: the request-head deadline (slowloris).  evhttp's timeout is an
 * inactivity timeout, which a client dribbling a header line every few
 * seconds never trips; here a request head must be complete within
 * DEADLINE_HEAD_S of its first bytes, or the connection is shut down (evhttp
 * then sees the end of the stream and frees it).  /stream.mjpg clients are
 * exempt once their request is in: they send nothing more that matters.
 */
#ifndef VIGIL_DEADLINE_H
#define VIGIL_DEADLINE_H

#define DEADLINE_HEAD_S 10 /* a request head must be complete in this */
#define DEADLINE_FDS_MAX 1048576u /* descriptors the deadline tracks */

struct event_base;
struct evhttp;
struct evhttp_request;
struct deadline;

/* Hooks every new connection of http (evhttp_set_bevcb).  One per process.
 * NULL on ENOMEM. */
struct deadline *deadline_create(struct event_base *base, struct evhttp *http);

/* A complete request head came in on req's connection: the next request
 * gets a window of its own; exempt (a stream) means none ever again. */
void deadline_request(struct deadline *d, struct evhttp_request *req,
		      int exempt);

/* Accepts NULL. */
void deadline_destroy(struct deadline *d);

#endif
