/* SPDX-License-Identifier: MIT */
/*
 * stream: the MJPEG fan-out.  Each /stream.mjpg client's connection is taken
 * over from evhttp (as µStreamer does) so that the response is a plain
 * "Connection: close" body with no chunked encoding.  Every part is sent
 * from the shared frame buffer (frame.h), nothing copied per client: to a
 * client with nothing queued, straight to its socket (one send(), no
 * allocation); whatever the socket does not take waits in the client's
 * output evbuffer as a reference to the frame (evbuffer_add_reference,
 * the reference dropped when it is written).
 *
 * Slow clients: a client gets a new frame only when its output buffer is
 * empty (the previous part went to the kernel).  Otherwise the frame is
 * skipped (counted) and the client gets the newest frame as soon as its
 * buffer drains, so per-client memory is one frame in flight and a stalled
 * client never delays another.
 */
#ifndef VIGIL_STREAM_H
#define VIGIL_STREAM_H

#include <stdint.h>

#include "frame.h"
#include "metrics.h"

#define STREAM_FPS_MAX 1000 /* ?fps=N accepts 1..STREAM_FPS_MAX */
#define STREAM_WRITE_TIMEOUT_S \
	30 /* a client that takes nothing for this long is closed */
#define STREAM_FPS_SLACK_NS 5000000 /* early tolerance of the ?fps pacing */
#define STREAM_WRITE_MAX \
	(64u << 20) /* bytes per write when the socket is slow */

struct event_base;
struct evhttp_request;
struct stream;

struct stream *stream_create(struct event_base *base, struct metrics *metrics);

/* Closes every client, frees.  Accepts NULL. */
void stream_destroy(struct stream *s);

/*
 * Takes the request's connection over as a stream client: writes the
 * response head and the newest frame (if any).  fps: 0 for no cap.
 * idle_fps: at most this many live frames per second while they declare no
 * motion (frame_motion), 0 for no cap; a frame with motion is sent at once
 * (within the fps cap).
 * head_only: a HEAD request (the head is sent and the connection closed).
 * 0, or -1 when the client could not be set up (the request then got a 500).
 */
int stream_add_client(struct stream *s, struct evhttp_request *req,
		      unsigned fps, unsigned idle_fps, int head_only);

/* Sends f (a live frame or the offline picture) to every client that is
 * ready for one; f is borrowed, references are taken as needed. */
void stream_publish(struct stream *s, struct frame *f);

unsigned stream_client_count(const struct stream *s);

/* Ends every stream (shutdown). */
void stream_close_all(struct stream *s);

#endif
