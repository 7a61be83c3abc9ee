/* SPDX-License-Identifier: MIT */
/*
 * routes: HTTP dispatch on evhttp.  The endpoints' work is elsewhere:
 * snapshot.c (waiting for a frame), static.c (page files), stream.c (MJPEG),
 * metrics.c (/metrics, /state), deadline.c (the request-head deadline).
 */
#include "routes.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/queue.h>

#include "clock.h"
#include "deadline.h"
#include "events.h"
#include "log.h"
#include "playback.h"
#include "recstate.h"
#include "reply.h"
#include "ring.h"
#include "static.h"

#define ALLOWED "GET, HEAD"

struct routes {
	struct routes_config cfg;
	struct deadline *deadline;
	char names[ROUTES_CAMERAS_MAX * (RING_CAMERA_MAX + 1)]; /* "a,b,c" */
};

#define CAM_PREFIX "/cam/"

static struct routes_camera *first(struct routes *r)
{
	return &r->cfg.cameras[0];
}

static unsigned all_clients(const struct routes *r)
{
	unsigned n = 0;
	int i;

	for (i = 0; i < r->cfg.ncameras; i++) {
		n += stream_client_count(r->cfg.cameras[i].stream);
		if (r->cfg.cameras[i].sub != NULL)
			n += stream_client_count(r->cfg.cameras[i].sub->stream);
	}
	return n;
}

/* ------------------------------------------------------------ status */

static void healthz(struct routes *r, struct evhttp_request *req)
{
	const char *reason;
	enum feed_status st = feed_status(first(r)->feed, &reason);
	char line[256 + RECSTATE_ERROR_MAX], rec[RECSTATE_ERROR_MAX + 64];
	const char *problem = NULL;
	struct recstate rs;

	if (r->cfg.events != NULL) {
		recstate_read(events_dirfd(r->cfg.events),
			      clock_real_ns() / 1000000, &rs);
		problem = recstate_problem(&rs, rec, sizeof(rec));
	}
	if (st == FEED_ONLINE && problem == NULL) {
		reply_text(req, 200, "ok");
		return;
	}
	if (st == FEED_ONLINE)
		snprintf(line, sizeof(line), "%s", problem);
	else
		snprintf(line, sizeof(line), "%s: %s%s%s", feed_status_name(st),
			 reason, problem ? "; " : "", problem ? problem : "");
	reply_text(req, 503, line);
}

/*
 * --recordings: the recorder's state.json, appended to /metrics as gauges and
 * to /state as a "recorder" member: the object metrics_render_state wrote is
 * reopened at its last '}' so that metrics.c need not know of it.
 */
static int recorder_state(const struct routes_camera *cam, struct evbuffer *b,
			  int state)
{
	struct recstate rs;
	size_t len = evbuffer_get_length(b);
	const char *json, *brace;
	struct evbuffer *head;

	recstate_read(events_dirfd(cam->events), clock_real_ns() / 1000000,
		      &rs);
	if (!state) {
		if (recstate_render_metrics(b, &rs) < 0)
			return -1;
		return evbuffer_add_printf(
			       b,
			       "# HELP vigil_playback_clients Event playbacks now.\n"
			       "# TYPE vigil_playback_clients gauge\n"
			       "vigil_playback_clients %u\n",
			       playback_client_count(cam->playback)) < 0
			       ? -1
			       : 0;
	}
	json = (const char *)evbuffer_pullup(b, -1);
	brace = json ? memrchr(json, '}', len) : NULL;
	if (brace == NULL || (head = evbuffer_new()) == NULL)
		return -1;
	/* Keep what precedes the closing brace; drop it and what follows. */
	evbuffer_remove_buffer(b, head, (size_t)(brace - json));
	evbuffer_drain(b, evbuffer_get_length(b));
	evbuffer_add_buffer(b, head);
	evbuffer_free(head);
	if (evbuffer_add_printf(b, ",\"recorder\":") < 0 ||
	    recstate_render_json(b, &rs) < 0)
		return -1;
	return evbuffer_add_printf(b, "}\n") < 0 ? -1 : 0;
}

/* The per-camera series, labelled, when there are several cameras. */
static int camera_metrics(struct routes *r, struct evbuffer *b)
{
	struct metrics_feed mf[ROUTES_CAMERAS_MAX];
	const struct metrics *m[ROUTES_CAMERAS_MAX];
	int i;

	if (r->cfg.ncameras < 2)
		return 0;
	for (i = 0; i < r->cfg.ncameras; i++) {
		struct routes_camera *c = &r->cfg.cameras[i];

		feed_describe(c->feed, &mf[i]);
		c->metrics->clients = stream_client_count(c->stream);
		m[i] = c->metrics;
	}
	return metrics_render_cameras(b, m, mf, (size_t)r->cfg.ncameras);
}

static void metrics(struct routes *r, struct routes_camera *cam,
		    struct evhttp_request *req, int state)
{
	struct evbuffer *b = evbuffer_new();
	struct metrics_feed mf;
	int rc;

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	feed_describe(cam->feed, &mf);
	cam->metrics->clients = stream_client_count(cam->stream);
	rc = state ? metrics_render_state(b, cam->metrics, &mf)
		   : metrics_render(b, cam->metrics, &mf);
	if (rc == 0 && !state)
		rc = camera_metrics(r, b);
	/* The camera's recorder (/metrics: the first camera's). */
	if (rc == 0 && cam->events != NULL)
		rc = recorder_state(cam, b, state);
	if (rc < 0)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else if (state)
		reply_send(req, 200, "application/json", REPLY_NO_STORE, b);
	else
		reply_send(req, 200, "text/plain; version=0.0.4; charset=utf-8",
			   REPLY_NO_STORE, b);
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

static void stream(struct routes *r, struct routes_camera *cam,
		   struct evhttp_request *req, struct evkeyvalq *query)
{
	const char *fps_arg = evhttp_find_header(query, "fps");
	const char *idle_arg = evhttp_find_header(query, "idle_fps");
	long fps = 0, idle_fps = 0;

	if (fps_arg != NULL && (fps = parse_fps(fps_arg)) < 0) {
		reply_text(req, 400, "bad fps: want an integer 1..1000");
		return;
	}
	if (idle_arg != NULL && (idle_fps = parse_fps(idle_arg)) < 0) {
		reply_text(req, 400, "bad idle_fps: want an integer 1..1000");
		return;
	}
	if (r->cfg.max_clients > 0 && all_clients(r) >= r->cfg.max_clients) {
		r->cfg.metrics->clients_rejected++;
		log_debug("stream client refused: %u clients",
			  r->cfg.max_clients);
		reply_busy(req, "too many viewers, try again later");
		return;
	}
	stream_add_client(cam->stream, req, (unsigned)fps, (unsigned)idle_fps,
			  evhttp_request_get_command(req) == EVHTTP_REQ_HEAD);
}

/* ------------------------------------------------------------ cameras */

static int sub_live(const struct routes_camera *cam)
{
	return cam->sub != NULL && cam->sub->feed != NULL &&
	       feed_status(cam->sub->feed, NULL) != FEED_OFFLINE;
}

static void cameras(struct routes *r, struct evhttp_request *req)
{
	struct evbuffer *b = evbuffer_new();
	int i, rc = 0;

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	rc |= evbuffer_add_printf(b, "{\"cameras\":[") < 0;
	for (i = 0; i < r->cfg.ncameras; i++) {
		struct metrics_feed mf;

		feed_describe(r->cfg.cameras[i].feed, &mf);
		/* sub: whether its sub-stream can be watched now. */
		/* Names are [A-Za-z0-9_-]: no escaping. */
		rc |= evbuffer_add_printf(
			      b,
			      "%s{\"name\":\"%s\",\"width\":%u,\"height\":%u,"
			      "\"fps\":%.2f,\"status\":\"%s\",\"motion\":%s,"
			      "\"sub\":%s}",
			      i ? "," : "", r->cfg.cameras[i].name,
			      (unsigned)mf.width, (unsigned)mf.height,
			      mf.source_fps, mf.status,
			      mf.motion_active ? "true" : "false",
			      sub_live(&r->cfg.cameras[i]) ? "true" : "false") <
		      0;
	}
	rc |= evbuffer_add_printf(b, "]}\n") < 0;
	if (rc)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else
		reply_send(req, 200, "application/json", REPLY_NO_STORE, b);
	evbuffer_free(b);
}

/*
 * /cam/NAME/REST: the camera (NULL after answering 400 or 404) and REST
 * ("/stream.mjpg"...) in *rest.
 */
static struct routes_camera *camera_of(struct routes *r,
				       struct evhttp_request *req,
				       const char *path, const char **rest)
{
	const char *name = path + strlen(CAM_PREFIX);
	const char *slash = strchr(name, '/');
	size_t n = slash ? (size_t)(slash - name) : strlen(name);
	char buf[RING_CAMERA_MAX + 1], ring[RING_NAME_MAX];
	int i;

	if (n == 0 || n > RING_CAMERA_MAX) {
		reply_text(req, 400, "bad camera name");
		return NULL;
	}
	memcpy(buf, name, n);
	buf[n] = '\0';
	if (ring_name(ring, sizeof(ring), buf, NULL) < 0) {
		reply_text(req, 400, "bad camera name");
		return NULL;
	}
	for (i = 0; i < r->cfg.ncameras; i++)
		if (strcmp(r->cfg.cameras[i].name, buf) == 0) {
			*rest = slash ? slash : "";
			return &r->cfg.cameras[i];
		}
	reply_text(req, 404, "no such camera");
	return NULL;
}

static int playback_path(const char *path);

/* A path that is a stream (exempt from the next-request deadline). */
static int stream_path(const char *path)
{
	if (strncmp(path, CAM_PREFIX, strlen(CAM_PREFIX)) == 0) {
		path = strchr(path + strlen(CAM_PREFIX), '/');
		if (path == NULL)
			return 0;
		if (strcmp(path, "/sub.mjpg") == 0)
			return 1;
	}
	return strcmp(path, "/stream.mjpg") == 0 || playback_path(path);
}

/* The paths of one camera; 1 when answered. */
static int camera_route(struct routes *r, struct routes_camera *cam,
			struct evhttp_request *req, const char *path,
			struct evkeyvalq *query)
{
	if (strcmp(path, "/stream.mjpg") == 0)
		stream(r, cam, req, query);
	else if (strcmp(path, "/") == 0 || strcmp(path, "/index.html") == 0)
		/* The page of this camera: its relative URLs (stream.mjpg,
		 * state...) stay under /cam/NAME/. */
		static_serve(req, "/index.html", cam->name, r->names);
	else if (strcmp(path, "/snapshot.jpg") == 0)
		snapshot_request(cam->snapshot, req, feed_latest(cam->feed));
	else if (strcmp(path, "/state") == 0)
		metrics(r, cam, req, 1);
	else
		return 0;
	return 1;
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

/* /events/ID.mjpg: a stream, exempt from the next-request deadline. */
static int playback_path(const char *path)
{
	size_t n = strlen(path);

	return strncmp(path, "/events/", 8) == 0 && n > 13 &&
	       strcmp(path + n - 5, ".mjpg") == 0;
}

static void dispatch(struct evhttp_request *req, void *arg)
{
	struct routes *r = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	const char *path = uri ? evhttp_uri_get_path(uri) : NULL;
	const char *qs = uri ? evhttp_uri_get_query(uri) : NULL;
	enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
	struct evkeyvalq query;

	r->cfg.metrics->requests++;
	TAILQ_INIT(&query);
	deadline_request(r->deadline, req, path != NULL && stream_path(path));
	if (framing_suspect(req)) {
		/* Two lengths, or a length beside chunked: the body's end is
		 * ambiguous, so whatever follows cannot be trusted as the next
		 * request (smuggling).  Refuse and close. */
		reply_header(req, "Connection", "close");
		reply_text(req, 400, "ambiguous request body framing");
		return;
	}
	if (has_body(req))
		/* We take no bodies: do not keep a connection whose framing
		 * we did not need to follow. */
		reply_header(req, "Connection", "close");
	if (path == NULL || path[0] != '/') {
		reply_text(req, 400, "bad request target");
		return;
	}
	if (cmd != EVHTTP_REQ_GET && cmd != EVHTTP_REQ_HEAD) {
		reply_header(req, "Allow", ALLOWED);
		reply_text(req, 405, "method not allowed");
		return;
	}
	if (qs != NULL && evhttp_parse_query_str(qs, &query) < 0) {
		reply_text(req, 400, "bad query string");
		return;
	}
	if (strncmp(path, CAM_PREFIX, strlen(CAM_PREFIX)) == 0) {
		const char *rest = "";
		struct routes_camera *cam = camera_of(r, req, path, &rest);

		if (cam == NULL)
			;
		else if (camera_route(r, cam, req, rest, &query))
			;
		else if (cam->events != NULL &&
			 events_handle(cam->events, req, rest, &query))
			;
		else if (rest[0] == '\0') {
			char loc[sizeof(CAM_PREFIX) + RING_CAMERA_MAX + 2];

			snprintf(loc, sizeof(loc), CAM_PREFIX "%s/", cam->name);
			reply_header(req, "Location", loc);
			reply_text(req, 301, loc);
		} else if (strcmp(rest, "/sub.mjpg") == 0 ||
			   strcmp(rest, "/sub.jpg") == 0) {
			/* The sub-stream: the paths of its own "camera". */
			if (!sub_live(cam))
				reply_text(req, 404,
					   "no sub-stream for this camera");
			else
				camera_route(r, cam->sub, req,
					     strcmp(rest, "/sub.mjpg") == 0
						     ? "/stream.mjpg"
						     : "/snapshot.jpg",
					     &query);
		} else
			reply_text(req, 404, "not found");
	} else if (strcmp(path, "/") != 0 &&
		   camera_route(r, first(r), req, path, &query))
		;
	else if (strcmp(path, "/cameras") == 0)
		cameras(r, req);
	else if (strcmp(path, "/") == 0) {
		reply_header(req, "Location", "/index.html");
		reply_text(req, 301, "/index.html");
	} else if (strcmp(path, "/healthz") == 0)
		healthz(r, req);
	else if (strcmp(path, "/metrics") == 0)
		metrics(r, first(r), req, 0);
	else if (r->cfg.events != NULL &&
		 events_handle(r->cfg.events, req, path, &query))
		;
	else if (!static_serve(req, path, first(r)->name, r->names))
		reply_text(req, 404, "not found");
	evhttp_clear_headers(&query);
}

struct routes *routes_create(struct evhttp *http,
			     const struct routes_config *cfg)
{
	struct routes *r = calloc(1, sizeof(*r));
	int i;

	if (r == NULL)
		return NULL;
	r->cfg = *cfg;
	for (i = 0; i < cfg->ncameras; i++) {
		size_t n = strlen(r->names);

		snprintf(r->names + n, sizeof(r->names) - n, "%s%s",
			 i ? "," : "", cfg->cameras[i].name);
	}
	r->deadline = deadline_create(cfg->base, http);
	if (r->deadline == NULL) {
		routes_destroy(r);
		return NULL;
	}
	evhttp_set_gencb(http, dispatch, r);
	return r;
}

void routes_destroy(struct routes *r)
{
	if (r == NULL)
		return;
	deadline_destroy(r->deadline);
	free(r);
}
