/* SPDX-License-Identifier: MIT */
/* snapshot: /snapshot.jpg and the requests waiting for a first frame. */
#include "snapshot.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/queue.h>

#include "reply.h"

struct snap_wait {
	struct snapshot *s;
	LIST_ENTRY(snap_wait) link;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer;
};

struct snapshot {
	struct event_base *base;
	struct metrics *metrics;
	/* cppcheck-suppress unusedStructMember ; used by the queue.h macros */
	LIST_HEAD(, snap_wait) waiting;
};

static void reply_snapshot(struct snapshot *s, struct evhttp_request *req,
			   struct frame *f)
{
	struct evbuffer *b = evbuffer_new();
	char ts[48], seq[32];

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	frame_ref(f);
	if (evbuffer_add_reference(b, frame_jpeg(f), f->jpeg_len,
				   frame_evbuffer_cleanup, f) < 0)
		frame_unref(f);
	snprintf(ts, sizeof(ts), "%" PRId64 ".%06" PRId64,
		 f->realtime_ns / 1000000000,
		 f->realtime_ns % 1000000000 / 1000);
	snprintf(seq, sizeof(seq), "%" PRIu64, f->seq);
	reply_header(req, "X-Timestamp", ts);
	reply_header(req, "X-Frame-Seq", seq);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		s->metrics->snapshots++;
		s->metrics->bytes_sent += f->jpeg_len;
	}
	reply_send(req, 200, "image/jpeg", REPLY_NO_STORE, b);
	evbuffer_free(b);
}

static void snap_wait_free(struct snap_wait *w)
{
	LIST_REMOVE(w, link);
	evhttp_connection_set_closecb(w->evcon, NULL, NULL);
	event_free(w->timer);
	free(w);
}

static void on_snap_timeout(evutil_socket_t fd, short what, void *arg)
{
	struct snap_wait *w = arg;
	struct evhttp_request *req = w->req;

	(void)fd;
	(void)what;
	snap_wait_free(w);
	reply_busy(req, "no frame: the camera is offline");
}

/* The client went away while waiting: evhttp frees the request next. */
static void on_snap_close(struct evhttp_connection *evcon, void *arg)
{
	(void)evcon;
	snap_wait_free(arg);
}

struct snapshot *snapshot_create(struct event_base *base,
				 struct metrics *metrics)
{
	struct snapshot *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->metrics = metrics;
	LIST_INIT(&s->waiting);
	return s;
}

void snapshot_request(struct snapshot *s, struct evhttp_request *req,
		      struct frame *latest)
{
	struct timeval tv = {SNAPSHOT_WAIT_MS / 1000,
			     SNAPSHOT_WAIT_MS % 1000 * 1000};
	struct snap_wait *w;

	if (latest != NULL) {
		reply_snapshot(s, req, latest);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL ||
	    (w->timer = evtimer_new(s->base, on_snap_timeout, w)) == NULL) {
		free(w);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	w->s = s;
	w->req = req;
	w->evcon = evhttp_request_get_connection(req);
	evtimer_add(w->timer, &tv);
	evhttp_connection_set_closecb(w->evcon, on_snap_close, w);
	LIST_INSERT_HEAD(&s->waiting, w, link);
}

void snapshot_frame(struct snapshot *s, struct frame *f)
{
	struct snap_wait *w;

	while ((w = LIST_FIRST(&s->waiting)) != NULL) {
		struct evhttp_request *req = w->req;

		snap_wait_free(w);
		reply_snapshot(s, req, f);
	}
}

void snapshot_destroy(struct snapshot *s)
{
	struct snap_wait *w;

	if (s == NULL)
		return;
	while ((w = LIST_FIRST(&s->waiting)) != NULL) {
		struct evhttp_request *req = w->req;

		snap_wait_free(w);
		reply_busy(req, "shutting down");
	}
	free(s);
}
