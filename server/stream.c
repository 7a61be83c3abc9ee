/* SPDX-License-Identifier: MIT */
/* stream: MJPEG clients, zero-copy fan-out, slow-client skipping. */
#include "stream.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

#include "clock.h"
#include "log.h"

struct client {
	struct stream *s;
	LIST_ENTRY(client) link;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	uint64_t sent_id; /* frame id of the last part queued */
	int64_t interval_ns; /* ?fps cap: 0 for none */
	int64_t next_due_ns;
	int64_t idle_interval_ns; /* ?idle_fps cap without motion: 0 none */
	int64_t idle_due_ns;
	int closing; /* head sent, close once it is written */
};

struct stream {
	struct event_base *base;
	struct metrics *m;
	/* cppcheck-suppress unusedStructMember ; used by the queue.h macros */
	LIST_HEAD(, client) clients;
	unsigned count;
	struct frame *latest; /* a reference to the newest frame published */
};

/* No "Transfer-Encoding: chunked": the body ends when the connection does.
 * The boundary is unquoted (Safari) and the body opens with it (ffmpeg). */
static const char stream_head[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: multipart/x-mixed-replace;boundary=" FRAME_BOUNDARY
	"\r\n"
	"Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"
	"Pragma: no-cache\r\n"
	"Expires: 0\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Connection: close\r\n"
	"\r\n";
static const char stream_open[] = "--" FRAME_BOUNDARY "\r\n";

struct stream *stream_create(struct event_base *base, struct metrics *metrics)
{
	struct stream *s = calloc(1, sizeof(*s));

	if (s == NULL)
		return NULL;
	s->base = base;
	s->m = metrics;
	LIST_INIT(&s->clients);
	return s;
}

static void client_close(struct client *c)
{
	struct stream *s = c->s;

	LIST_REMOVE(c, link);
	s->count--;
	s->m->clients--;
	/* Frees the bufferevent: its output drops the frame references. */
	evhttp_connection_free(c->evcon);
	free(c);
}

void stream_close_all(struct stream *s)
{
	while (s != NULL && !LIST_EMPTY(&s->clients))
		client_close(LIST_FIRST(&s->clients));
}

void stream_destroy(struct stream *s)
{
	if (s == NULL)
		return;
	stream_close_all(s);
	frame_unref(s->latest);
	free(s);
}

unsigned stream_client_count(const struct stream *s)
{
	return s->count;
}

/*
 * Writes what the socket takes now.  The common case (the socket has room
 * for the part) costs one writev() and no event changes; only a client that
 * cannot take it all gets the bufferevent's write event (and its timeout)
 * until its output drains.  Errors surface through that event too, so a
 * client is never freed here, in the middle of a walk over the list.
 */
static void client_push(struct client *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);

	if (evbuffer_get_length(out) > 0)
		(void)evbuffer_write(out, bufferevent_getfd(c->bev));
	if (evbuffer_get_length(out) > 0 || c->closing)
		bufferevent_enable(c->bev, EV_WRITE);
}

/* Sends (or queues) f to c if the ?fps cap allows; 1 when done. */
static int client_send(struct client *c, struct frame *f, int64_t now)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t len = frame_part_len(f), off = 0;
	int tried = 0;

	/* ?idle_fps: a live frame without motion waits for its turn; the
	 * first frame with motion goes at once (the ?fps cap aside). */
	if (c->idle_interval_ns > 0 && !f->offline && !frame_motion(f)) {
		if (now + STREAM_FPS_SLACK_NS < c->idle_due_ns)
			return 0;
		c->idle_due_ns = now + c->idle_interval_ns;
	}
	if (c->interval_ns > 0) {
		if (now + STREAM_FPS_SLACK_NS < c->next_due_ns)
			return 0;
		/* Due times advance by the interval, not from the send time,
		 * so the cap is met on average; no credit builds up. */
		c->next_due_ns += c->interval_ns;
		if (c->next_due_ns < now)
			c->next_due_ns = now + c->interval_ns;
	}
	c->sent_id = f->id;
	if (evbuffer_get_length(out) == 0) {
		/* Nothing queued: hand the part to the socket straight from
		 * the shared buffer.  A viewer that keeps up costs one send()
		 * per frame, no allocation and no event change. */
		ssize_t n = send(bufferevent_getfd(c->bev), frame_part(f), len,
				 MSG_NOSIGNAL | MSG_DONTWAIT);

		off = n > 0 ? (size_t)n : 0;
		tried = 1;
	}
	if (off < len) {
		/* The rest (or all, after an error the write event will
		 * report) waits in the output buffer as a reference to the
		 * shared frame, dropped once written. */
		frame_ref(f);
		if (evbuffer_add_reference(out, frame_part(f) + off, len - off,
					   frame_evbuffer_cleanup, f) < 0) {
			frame_unref(f);
			return 0;
		}
		if (tried)
			bufferevent_enable(c->bev,
					   EV_WRITE); /* socket is full */
		else
			client_push(c);
	}
	c->s->m->bytes_sent += len;
	if (f->offline)
		c->s->m->offline_sent++;
	else
		c->s->m->frames_sent++;
	return 1;
}

void stream_publish(struct stream *s, struct frame *f)
{
	int64_t now = clock_mono_ns();
	struct client *c;

	frame_ref(f);
	frame_unref(s->latest);
	s->latest = f;
	LIST_FOREACH(c, &s->clients, link)
	{
		if (c->closing)
			continue;
		if (evbuffer_get_length(bufferevent_get_output(c->bev)) > 0) {
			/* The previous part is still queued: skip; the write
			 * callback sends the newest when it has drained. */
			if (!f->offline)
				s->m->frames_skipped++;
			continue;
		}
		client_send(c, f, now);
	}
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct client *c = arg;
	struct frame *f = c->s->latest;

	if (c->closing) {
		client_close(c);
		return;
	}
	/* Drained: back to direct writes, and the newest frame if it was
	 * skipped meanwhile. */
	bufferevent_disable(bev, EV_WRITE);
	if (f != NULL && f->id != c->sent_id)
		client_send(c, f, clock_mono_ns());
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	/* A stream client has nothing more to say: discard what it sends. */
	evbuffer_drain(bufferevent_get_input(bev),
		       evbuffer_get_length(bufferevent_get_input(bev)));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	log_debug("stream client gone (%s%s%s)",
		  what & BEV_EVENT_EOF ? "eof" : "",
		  what & BEV_EVENT_ERROR ? "error" : "",
		  what & BEV_EVENT_TIMEOUT ? "timeout" : "");
	client_close(arg);
}

int stream_add_client(struct stream *s, struct evhttp_request *req,
		      unsigned fps, unsigned idle_fps, int head_only)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(
						  evcon)
					: NULL;
	struct timeval wto = {STREAM_WRITE_TIMEOUT_S, 0};
	struct client *c;
	int one = 1;

	if (bev == NULL || (c = calloc(1, sizeof(*c))) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return -1;
	}
	c->s = s;
	c->evcon = evcon;
	c->bev = bev;
	if (fps > 0) {
		c->interval_ns = 1000000000 / (int64_t)fps;
		c->next_due_ns = clock_mono_ns();
	}
	if (idle_fps > 0)
		c->idle_interval_ns = 1000000000 / (int64_t)idle_fps;
	c->closing = head_only;
	/* Fails on unix sockets, where there is no Nagle to turn off. */
	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
			 sizeof(one));
	/* From here on the connection is ours: evhttp sees no more events of
	 * it, and evhttp_connection_free() in client_close() ends it. */
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(bev, NULL, &wto);
	/* libevent 2.1 writes at most 16 KB per loop turn by default: a
	 * 110 KB frame would take seven turns. */
	bufferevent_set_max_single_write(bev, STREAM_WRITE_MAX);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
	LIST_INSERT_HEAD(&s->clients, c, link);
	s->count++;
	s->m->clients++;
	evbuffer_add(bufferevent_get_output(bev), stream_head,
		     sizeof(stream_head) - 1);
	if (head_only) {
		/* on_write closes once the head is out: never from here,
		 * inside evhttp's request callback. */
		bufferevent_enable(bev, EV_WRITE);
		return 0;
	}
	s->m->clients_total++;
	evbuffer_add(bufferevent_get_output(bev), stream_open,
		     sizeof(stream_open) - 1);
	if (s->latest == NULL || !client_send(c, s->latest, clock_mono_ns()))
		client_push(c);
	return 0;
}
