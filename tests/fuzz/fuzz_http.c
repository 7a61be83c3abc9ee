// fuzz-sources: server/routes.c server/reply.c server/snapshot.c server/static.c server/deadline.c server/stream.c server/frame.c server/metrics.c server/events.c server/recdir.c server/clipfile.c server/playback.c server/recstate.c common/log.c common/ring.c build/gen/www.c
// fuzz-libs: -levent -ljson-c -lavformat -lavcodec -lavutil -lm
/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness of vigil-server's request handling: the bytes of one
 * connection go through evhttp's parser (configured as server/main.c does)
 * into our dispatch (server/routes.c: routing, query parsing, methods, the
 * snapshot waiters) and the stream fan-out (server/stream.c), over a real
 * unix socket pair with the event loop driven by hand.  The feed (the ring)
 * is replaced by a stub that has a frame or not, per input.  Two cameras,
 * the second with a sub-stream (under /cam/cam1/), all sharing the stub.
 *
 * Input: byte 0 is a control byte (bit 0: a frame is available; bit 1: the
 * client half-closes after sending; bits 2-4: frames published while the
 * connection is served), the rest is what the client sends.
 * Checks, beyond ASan/UBSan: whatever comes back starts with "HTTP/" (evhttp
 * echoes the request's version: "HTTP/0.1" in, "HTTP/0.1 200" out);
 * once the client is gone, no stream client and no snapshot waiter is left
 * behind (a leaked connection would be a descriptor leak in the server).
 */
#include <errno.h>
#include <signal.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "feed.h"
#include "frame.h"
#include "metrics.h"
#include "routes.h"
#include "snapshot.h"
#include "stream.h"

#define FUZZ_LOOP_TURNS 64 /* event loop turns per input, at most */
#define FUZZ_IDLE_TURNS 4 /* turns with no progress before hanging up */
#define FUZZ_HEADERS_MAX 8192 /* as server/main.c */
#define FUZZ_BODY_MAX 1024

/* ASan's default 256 MB quarantine makes each input ten times slower here
 * (evhttp frees and reallocates a connection's buffers per input); 16 MB
 * still catches a use after free within a few inputs. */
const char *__asan_default_options(void);
const char *__asan_default_options(void)
{
	return "quarantine_size_mb=16";
}

/* ------------------------------------------------------------ feed stub */

static struct frame *stub_frame;
static int stub_have_frame;

struct frame *feed_latest(const struct feed *feed)
{
	(void)feed;
	return stub_have_frame ? stub_frame : NULL;
}

enum feed_status feed_status(const struct feed *feed, const char **reason)
{
	(void)feed;
	if (reason != NULL)
		*reason = stub_have_frame ? "" : "no ring";
	return stub_have_frame ? FEED_ONLINE : FEED_OFFLINE;
}

const char *feed_status_name(enum feed_status status)
{
	return status == FEED_ONLINE	? "online"
	       : status == FEED_STALLED ? "stalled"
					: "offline";
}

void feed_describe(const struct feed *feed, struct metrics_feed *out)
{
	(void)feed;
	memset(out, 0, sizeof(*out));
	out->camera = "fuzz";
	out->status = stub_have_frame ? "online" : "offline";
	out->reason = stub_have_frame ? "" : "no ring";
	out->width = 16;
	out->height = 16;
	out->source_fps = 24.0;
	out->frame_age_ms = stub_have_frame ? 5 : -1;
}

/* ------------------------------------------------------------ server */

static struct event_base *base;
static struct evhttp *http;
static struct metrics metrics;
static struct stream *stream;
static struct routes *routes;
static struct routes_camera cams[2], sub;
static int feed_dummy; /* a non-NULL feed pointer for the stub */

static unsigned all_clients(void)
{
	return stream_client_count(cams[0].stream) +
	       stream_client_count(cams[1].stream) +
	       stream_client_count(sub.stream);
}
static char sock_path[108];

static void setup(void)
{
	static const uint8_t jpeg[] = {
		0xff, 0xd8, 0xff, 0xe0, 0, 16, 'J', 'F', 'I', 'F',  0,
		1,    1,    0,	  0,	1, 0,  1,   0,	 0,   0xff, 0xd9};
	struct frame_pool *pool;
	struct routes_config rc;
	struct sockaddr_un sa;
	int fd;

	/* As vigil-server does: a peer that hangs up is an error, not a kill. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		abort();
	base = event_base_new();
	http = base ? evhttp_new(base) : NULL;
	if (http == NULL)
		abort();
	evhttp_set_max_headers_size(http, FUZZ_HEADERS_MAX);
	evhttp_set_max_body_size(http, FUZZ_BODY_MAX);
	evhttp_set_timeout(http, 10);
	evhttp_set_allowed_methods(
		http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
			      EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
			      EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
			      EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);

	/* An abstract unix socket: nothing on disk, no TIME_WAIT. */
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	snprintf(sa.sun_path + 1, sizeof(sa.sun_path) - 1,
		 "vigil-fuzz-http-%ld", (long)getpid());
	memcpy(sock_path, sa.sun_path, sizeof(sock_path));
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(fd, 64) < 0 || evhttp_accept_socket(http, fd) < 0)
		abort();

	stream = stream_create(base, &metrics);
	cams[0].name = "fuzz<&\"'>"; /* the page must escape it */
	cams[1].name = "cam1";
	sub.name = "cam1";
	cams[0].stream = stream;
	cams[1].stream = stream_create(base, &metrics);
	sub.stream = stream_create(base, &metrics);
	cams[1].sub = &sub;
	for (fd = 0; fd < 2; fd++) {
		cams[fd].metrics = &metrics;
		cams[fd].feed = (struct feed *)&feed_dummy;
		cams[fd].snapshot = snapshot_create(base, &metrics);
		if (cams[fd].stream == NULL || cams[fd].snapshot == NULL)
			abort();
	}
	sub.metrics = &metrics;
	sub.feed = (struct feed *)&feed_dummy;
	sub.snapshot = snapshot_create(base, &metrics);
	if (sub.stream == NULL || sub.snapshot == NULL)
		abort();
	memset(&rc, 0, sizeof(rc));
	rc.base = base;
	rc.metrics = &metrics;
	rc.cameras = cams;
	rc.ncameras = 2;
	rc.max_clients = 4;
	routes = routes_create(http, &rc);
	pool = frame_pool_create(4096);
	stub_frame = pool ? frame_get(pool) : NULL;
	if (routes == NULL || stub_frame == NULL)
		abort();
	memcpy(frame_jpeg(stub_frame), jpeg, sizeof(jpeg));
	stub_frame->jpeg_len = sizeof(jpeg);
	stub_frame->seq = 1;
	stub_frame->width = stub_frame->height = 16;
	frame_seal(stub_frame);
}

static int client_connect(void)
{
	struct sockaddr_un sa;
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);

	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	memcpy(sa.sun_path, sock_path, sizeof(sa.sun_path));
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		abort();
	return fd;
}

/* Reads what the server sent; returns bytes read, -1 at EOF/error. */
static ssize_t client_drain(int fd, uint8_t *first, size_t *nfirst)
{
	uint8_t buf[65536];
	ssize_t total = 0, n;

	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n > 0) {
			if (*nfirst < 8) {
				size_t k = (size_t)n < 8 - *nfirst
						   ? (size_t)n
						   : 8 - *nfirst;
				memcpy(first + *nfirst, buf, k);
				*nfirst += k;
			}
			total += n;
			continue;
		}
		if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
			return total > 0 ? total : -1;
		return total;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t first[8] = {0};
	size_t nfirst = 0, off = 0;
	unsigned publish, turn, idle = 0, ctl;
	int fd, eof = 0;

	if (base == NULL)
		setup();
	if (size < 1)
		return 0;
	ctl = data[0];
	data++;
	size--;
	stub_have_frame = ctl & 1;
	publish = (ctl >> 2) & 7;

	fd = client_connect();
	for (turn = 0; turn < FUZZ_LOOP_TURNS && !eof; turn++) {
		ssize_t n, got;

		if (off < size) {
			n = send(fd, data + off, size - off, MSG_NOSIGNAL);
			if (n > 0)
				off += (size_t)n;
			else if (errno != EAGAIN)
				off = size; /* the server hung up */
			if (off == size && (ctl & 2))
				shutdown(fd, SHUT_WR);
		}
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (publish > 0 && turn % 2 == 1) {
			publish--;
			stream_publish(stream, stub_frame);
			stream_publish(cams[1].stream, stub_frame);
			stream_publish(sub.stream, stub_frame);
		}
		got = client_drain(fd, first, &nfirst);
		if (got < 0)
			eof = 1;
		if (got == 0 && off == size)
			idle++;
		else
			idle = 0;
		if (idle >= FUZZ_IDLE_TURNS && publish == 0)
			break;
	}
	if (nfirst >= 5 && memcmp(first, "HTTP/", 5) != 0) {
		fprintf(stderr, "response does not start with HTTP/: %.8s\n",
			(const char *)first);
		abort();
	}
	close(fd);
	/* The server sees the hang-up; everything of that client must go. */
	for (turn = 0; turn < FUZZ_LOOP_TURNS; turn++) {
		event_base_loop(base, EVLOOP_NONBLOCK);
		if (all_clients() == 0 && metrics.clients == 0)
			break;
	}
	if (all_clients() != 0 || metrics.clients != 0) {
		fprintf(stderr, "stream client left behind after hang-up\n");
		abort();
	}
	return 0;
}
