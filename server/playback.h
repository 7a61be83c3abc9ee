/* SPDX-License-Identifier: MIT */
/*
 * playback: /events/ID.mjpg, a recorded event played as MJPEG at its
 * recorded pace, in the wire format of /stream.mjpg (stream.h, frame.h):
 * each part carries its original capture time in X-Timestamp and a running
 * count in X-Frame-Seq.  The JPEGs are the clip's Matroska packets as they
 * are (libavformat demuxes, nothing is decoded or re-encoded), the event's
 * clip files in order.  ?speed=0.25..8 scales the pace, ?t=SEC starts SEC
 * seconds into the event.
 *
 * Each client has its own libevent timer: a part is sent when it is due,
 * never by blocking the loop.  A part that comes due while the previous one
 * is still queued waits for it to drain; once it is PLAYBACK_LATE_MS late
 * it is skipped, as the live stream skips, so memory per client is one part
 * and a slow client keeps the recorded pace.  An event still being recorded plays up to the
 * newest frame written and then follows the growing file (polled every
 * PLAYBACK_FOLLOW_MS, reopened at the last cluster read) until its metadata
 * says it ended.
 */
#ifndef VIGIL_PLAYBACK_H
#define VIGIL_PLAYBACK_H

#define PLAYBACK_FOLLOW_MS 250 /* polling of an event being recorded */
#define PLAYBACK_LATE_MS 500 /* a part this late behind a queued one: skip */
#define PLAYBACK_IDLE_S 30 /* an unended event with no new frame: stop */
#define PLAYBACK_SPEED_MIN 0.25
#define PLAYBACK_SPEED_MAX 8.0
#define PLAYBACK_JPEG_MAX (16u << 20) /* a larger packet is skipped */
#define PLAYBACK_CLIENTS_MAX 64 /* playback viewers at once; more: 503 */

struct event_base;
struct evhttp_request;
struct evkeyvalq;
struct playback;

/* dirfd (the recordings) is borrowed.  NULL on ENOMEM. */
struct playback *playback_create(struct event_base *base, int dirfd);

/* Closes every client, frees.  Accepts NULL. */
void playback_destroy(struct playback *pb);

/* Ends every playback (shutdown). */
void playback_close_all(struct playback *pb);

unsigned playback_client_count(const struct playback *pb);

/* Answers GET/HEAD /events/ID.mjpg: 400 for bad arguments, 404 for an
 * event or clip not there, else takes the connection over and plays. */
void playback_request(struct playback *pb, struct evhttp_request *req,
		      const char *id, struct evkeyvalq *query);

#endif
