/* SPDX-License-Identifier: MIT */
/* routes: HTTP endpoints on evhttp. */
#include "routes.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <sys/queue.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "www.h"

#define CACHE_NO_STORE "no-store"
#define CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define CACHE_FAVICON "public, max-age=86400"
#define ALLOWED "GET, HEAD"
#define PAGE_CSP                                                             \
	"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; " \
	"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "    \
	"base-uri 'none'; form-action 'self'"

struct routes;
/* The input hook's bufferevent argument is taken; it finds the routes here. */
static struct routes *routes_singleton;

struct snap_wait {
	struct routes *r;
	struct snap_wait *prev, *next;
	struct evhttp_request *req;
	struct evhttp_connection *evcon;
	struct event *timer;
};

/*
 * Request-head deadline (slowloris): evhttp's timeout is an inactivity
 * timeout, which a client dribbling a header line every few seconds never
 * trips.  Every connection's input buffer gets a callback; the first bytes
 * of a request start a ROUTES_HEAD_DEADLINE_S window, and bytes arriving
 * after it with no complete request shut the socket down (evhttp then sees
 * the end of the stream and frees the connection).  State is kept per
 * descriptor, identified by the socket's inode so that a reused descriptor
 * number starts afresh; nothing is allocated per connection.
 */
struct head_slot {
	uint64_t ino;
	int64_t deadline_ns; /* 0: none (stream clients) */
};

struct routes {
	struct routes_config cfg;
	struct head_slot *heads; /* indexed by descriptor */
	size_t nheads;
	struct snap_wait *waiting;
	const struct www_file *index;
	const struct www_file *favicon;
};

/* ------------------------------------------------------------ replies */

static void add_header(struct evhttp_request *req, const char *k, const char *v)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), k, v);
}

/*
 * Sends a complete reply.  body may be NULL (empty).  For HEAD the body is
 * dropped but its Content-Length kept, as a GET would have had it.
 */
static void reply(struct evhttp_request *req, int code, const char *ctype,
		  const char *cache, struct evbuffer *body)
{
	char len[32];

	add_header(req, "X-Content-Type-Options", "nosniff");
	if (ctype != NULL)
		add_header(req, "Content-Type", ctype);
	if (cache != NULL)
		add_header(req, "Cache-Control", cache);
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD &&
	    body != NULL) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		add_header(req, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, NULL, body);
}

static void reply_text(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	reply(req, code, "text/plain; charset=utf-8", CACHE_NO_STORE, b);
	evbuffer_free(b);
}

static void reply_busy(struct evhttp_request *req, const char *text)
{
	add_header(req, "Retry-After", ROUTES_RETRY_AFTER_S);
	reply_text(req, 503, text);
}

/* ------------------------------------------------------------ snapshot */

static void reply_snapshot(struct routes *r, struct evhttp_request *req,
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
	add_header(req, "X-Timestamp", ts);
	add_header(req, "X-Frame-Seq", seq);
	if (evhttp_request_get_command(req) != EVHTTP_REQ_HEAD) {
		r->cfg.metrics->snapshots++;
		r->cfg.metrics->bytes_sent += f->jpeg_len;
	}
	reply(req, 200, "image/jpeg", CACHE_NO_STORE, b);
	evbuffer_free(b);
}

static void snap_wait_free(struct snap_wait *w)
{
	struct routes *r = w->r;

	if (w->prev != NULL)
		w->prev->next = w->next;
	else
		r->waiting = w->next;
	if (w->next != NULL)
		w->next->prev = w->prev;
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

static void snapshot(struct routes *r, struct evhttp_request *req)
{
	struct frame *f = feed_latest(r->cfg.feed);
	struct timeval tv = {ROUTES_SNAPSHOT_WAIT_MS / 1000,
			     ROUTES_SNAPSHOT_WAIT_MS % 1000 * 1000};
	struct snap_wait *w;

	if (f != NULL) {
		reply_snapshot(r, req, f);
		return;
	}
	w = calloc(1, sizeof(*w));
	if (w == NULL ||
	    (w->timer = evtimer_new(r->cfg.base, on_snap_timeout, w)) == NULL) {
		free(w);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	w->r = r;
	w->req = req;
	w->evcon = evhttp_request_get_connection(req);
	evtimer_add(w->timer, &tv);
	evhttp_connection_set_closecb(w->evcon, on_snap_close, w);
	w->next = r->waiting;
	if (r->waiting != NULL)
		r->waiting->prev = w;
	r->waiting = w;
}

void routes_frame(struct routes *r, struct frame *f)
{
	while (r->waiting != NULL) {
		struct evhttp_request *req = r->waiting->req;

		snap_wait_free(r->waiting);
		reply_snapshot(r, req, f);
	}
}

/* ------------------------------------------------------------ pages */

static const struct www_file *www_find(const char *name, int by_url)
{
	size_t i;

	for (i = 0; i < www_file_count; i++)
		if (strcmp(by_url ? www_files[i].url : www_files[i].name,
			   name) == 0)
			return &www_files[i];
	return NULL;
}

static void add_escaped(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			evbuffer_add(b, s, 1);
			break;
		}
	}
}

static void page(struct routes *r, struct evhttp_request *req)
{
	static const char mark[] = "{{camera}}";
	const struct www_file *f = r->index;
	struct evbuffer *b;
	const char *p, *end, *hit;

	if (f == NULL) {
		reply_text(req, 404, "no page compiled in");
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	p = (const char *)f->data;
	end = p + f->len;
	while ((hit = memmem(p, (size_t)(end - p), mark, sizeof(mark) - 1)) !=
	       NULL) {
		evbuffer_add(b, p, (size_t)(hit - p));
		add_escaped(b, r->cfg.camera);
		p = hit + sizeof(mark) - 1;
	}
	evbuffer_add(b, p, (size_t)(end - p));
	add_header(req, "Content-Security-Policy", PAGE_CSP);
	add_header(req, "X-Frame-Options", "DENY");
	add_header(req, "Referrer-Policy", "no-referrer");
	reply(req, 200, f->content_type, CACHE_NO_STORE, b);
	evbuffer_free(b);
}

static void static_file(struct evhttp_request *req, const struct www_file *f,
			const char *cache)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* Compiled-in data: referenced, never copied. */
	evbuffer_add_reference(b, f->data, f->len, NULL, NULL);
	reply(req, 200, f->content_type, cache, b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ status */

static void healthz(struct routes *r, struct evhttp_request *req)
{
	const char *reason;
	enum feed_status st = feed_status(r->cfg.feed, &reason);
	char line[256];

	if (st == FEED_ONLINE) {
		reply_text(req, 200, "ok");
		return;
	}
	snprintf(line, sizeof(line), "%s: %s", feed_status_name(st), reason);
	reply_text(req, 503, line);
}

static void metrics(struct routes *r, struct evhttp_request *req, int state)
{
	struct evbuffer *b = evbuffer_new();
	struct metrics_feed mf;
	int rc;

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	feed_describe(r->cfg.feed, &mf);
	r->cfg.metrics->clients = stream_client_count(r->cfg.stream);
	rc = state ? metrics_render_state(b, r->cfg.metrics, &mf)
		   : metrics_render(b, r->cfg.metrics, &mf);
	if (rc < 0)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else if (state)
		reply(req, 200, "application/json", CACHE_NO_STORE, b);
	else
		reply(req, 200, "text/plain; version=0.0.4; charset=utf-8",
		      CACHE_NO_STORE, b);
	evbuffer_free(b);
}

/* ------------------------------------------------------------ stream */

/* 1..STREAM_FPS_MAX in plain decimal, or -1. */
static long parse_fps(const char *s)
{
	long v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 4)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v >= 1 && v <= STREAM_FPS_MAX ? v : -1;
}

static void stream(struct routes *r, struct evhttp_request *req,
		   struct evkeyvalq *query)
{
	const char *fps_arg = evhttp_find_header(query, "fps");
	long fps = 0;

	if (fps_arg != NULL && (fps = parse_fps(fps_arg)) < 0) {
		reply_text(req, 400, "bad fps: want an integer 1..1000");
		return;
	}
	if (r->cfg.max_clients > 0 &&
	    stream_client_count(r->cfg.stream) >= r->cfg.max_clients) {
		r->cfg.metrics->clients_rejected++;
		log_debug("stream client refused: %u clients",
			  r->cfg.max_clients);
		reply_busy(req, "too many viewers, try again later");
		return;
	}
	stream_add_client(r->cfg.stream, req, (unsigned)fps,
			  evhttp_request_get_command(req) == EVHTTP_REQ_HEAD);
}

/* ------------------------------------------------------------ deadline */

static struct head_slot *head_slot(struct routes *r, int fd, uint64_t *ino)
{
	struct stat st;

	if (fd < 0 || (size_t)fd >= r->nheads || fstat(fd, &st) < 0)
		return NULL;
	*ino = (uint64_t)st.st_ino;
	return &r->heads[fd];
}

/* Starts the window of the next request (0: never expires). */
static void head_arm(struct routes *r, struct bufferevent *bev, int forever)
{
	uint64_t ino;
	struct head_slot *h = head_slot(r, bufferevent_getfd(bev), &ino);

	if (h == NULL)
		return;
	h->ino = ino;
	h->deadline_ns = forever ? 0
				 : clock_mono_ns() +
					   (int64_t)ROUTES_HEAD_DEADLINE_S *
						   1000000000;
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		     void *arg)
{
	struct bufferevent *bev = arg;
	struct routes *r = routes_singleton;
	struct head_slot *h;
	uint64_t ino;
	int fd;

	(void)buf;
	if (info->n_added == 0 || r == NULL)
		return;
	fd = bufferevent_getfd(bev);
	h = head_slot(r, fd, &ino);
	if (h == NULL)
		return;
	if (h->ino != ino) {
		/* First bytes on a new connection. */
		h->ino = ino;
		h->deadline_ns = clock_mono_ns() +
				 (int64_t)ROUTES_HEAD_DEADLINE_S * 1000000000;
		return;
	}
	if (h->deadline_ns != 0 && clock_mono_ns() > h->deadline_ns) {
		log_debug("request head not complete in %d s: closing",
			  ROUTES_HEAD_DEADLINE_S);
		h->deadline_ns = 0;
		shutdown(fd, SHUT_RDWR);
	}
}

/* evhttp_set_bevcb: each connection's bufferevent, with the input hook. */
static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1,
							 BEV_OPT_CLOSE_ON_FREE);

	(void)arg;
	if (bev != NULL)
		evbuffer_add_cb(bufferevent_get_input(bev), on_input, bev);
	return bev;
}

/* ------------------------------------------------------------ dispatch */

static int framing_suspect(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	struct evkeyval *kv;
	int lengths = 0, te = 0;

	TAILQ_FOREACH(kv, h, next)
	{
		if (strcasecmp(kv->key, "Content-Length") == 0)
			lengths++;
		else if (strcasecmp(kv->key, "Transfer-Encoding") == 0)
			te++;
	}
	return lengths > 1 || te > 1 || (lengths > 0 && te > 0);
}

static int has_body(struct evhttp_request *req)
{
	struct evkeyvalq *h = evhttp_request_get_input_headers(req);
	const char *cl = evhttp_find_header(h, "Content-Length");

	return evhttp_find_header(h, "Transfer-Encoding") != NULL ||
	       (cl != NULL && strcmp(cl, "0") != 0) ||
	       evbuffer_get_length(evhttp_request_get_input_buffer(req)) > 0;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct routes *r = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq query;
	const struct www_file *f;

	r->cfg.metrics->requests++;
	TAILQ_INIT(&query);
	if (evhttp_request_get_connection(req) != NULL) {
		struct bufferevent *bev = evhttp_connection_get_bufferevent(
			evhttp_request_get_connection(req));

		/* The next request on this connection gets a fresh window; a
		 * stream client sends nothing more that matters. */
		if (bev != NULL)
			head_arm(r, bev,
				 path != NULL &&
					 strcmp(path, "/stream.mjpg") == 0);
	}
	if (framing_suspect(req)) {
		/* Two lengths, or a length beside chunked: the body's end is
		 * ambiguous, so whatever follows cannot be trusted as the next
		 * request (smuggling).  Refuse and close. */
		add_header(req, "Connection", "close");
		reply_text(req, 400, "ambiguous request body framing");
		return;
	}
	if (has_body(req))
		/* We take no bodies: do not keep a connection whose framing
		 * we did not need to follow. */
		add_header(req, "Connection", "close");
	if (path == NULL || path[0] != '/') {
		reply_text(req, 400, "bad request target");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		add_header(req, "Allow", ALLOWED);
		reply_text(req, 405, "method not allowed");
		return;
	}
	if (qs != NULL && evhttp_parse_query_str(qs, &query) < 0) {
		reply_text(req, 400, "bad query string");
		return;
	}
	if (strcmp(path, "/stream.mjpg") == 0)
		stream(r, req, &query);
	else if (strcmp(path, "/snapshot.jpg") == 0)
		snapshot(r, req);
	else if (strcmp(path, "/") == 0) {
		add_header(req, "Location", "/index.html");
		reply_text(req, 301, "/index.html");
	} else if (strcmp(path, "/index.html") == 0)
		page(r, req);
	else if (strcmp(path, "/healthz") == 0)
		healthz(r, req);
	else if (strcmp(path, "/metrics") == 0)
		metrics(r, req, 0);
	else if (strcmp(path, "/state") == 0)
		metrics(r, req, 1);
	else if (strncmp(path, "/static/", 8) == 0 &&
		 (f = www_find(path, 1)) != NULL)
		static_file(req, f, CACHE_IMMUTABLE);
	else if (strcmp(path, "/favicon.ico") == 0 && r->favicon != NULL)
		static_file(req, r->favicon, CACHE_FAVICON);
	else
		reply_text(req, 404, "not found");
	evhttp_clear_headers(&query);
}

struct routes *routes_create(struct evhttp *http,
			     const struct routes_config *cfg)
{
	struct routes *r = calloc(1, sizeof(*r));
	struct rlimit rl;

	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	r->index = www_find("index.html", 0);
	r->favicon = www_find("favicon.ico", 0);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= ROUTES_FDS_MAX)
		r->nheads = (size_t)rl.rlim_cur;
	else
		r->nheads = ROUTES_FDS_MAX;
	/* calloc: pages are touched only for descriptors in use. */
	r->heads = calloc(r->nheads, sizeof(*r->heads));
	if (r->heads == NULL) {
		free(r);
		return NULL;
	}
	routes_singleton = r;
	evhttp_set_bevcb(http, new_bev, r);
	evhttp_set_gencb(http, dispatch, r);
	return r;
}

void routes_set_feed(struct routes *r, struct feed *feed)
{
	r->cfg.feed = feed;
}

void routes_destroy(struct routes *r)
{
	if (r == NULL)
		return;
	while (r->waiting != NULL) {
		struct evhttp_request *req = r->waiting->req;

		snap_wait_free(r->waiting);
		reply_busy(req, "shutting down");
	}
	if (routes_singleton == r)
		routes_singleton = NULL;
	free(r->heads);
	free(r);
}
