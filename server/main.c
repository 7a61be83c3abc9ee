/* SPDX-License-Identifier: MIT */
/*
 * vigil-server: maps a camera's ring read-only and serves it over HTTP
 * (MJPEG stream, snapshot, page, health, metrics).  main.c holds the
 * options, start-up (bind, then drop privileges), the run and the shutdown.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <getopt.h>
#include <grp.h>
#include <limits.h>
#include <malloc.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "events.h"
#include "feed.h"
#include "listen.h"
#include "log.h"
#include "parse.h"
#include "privdrop.h"
#include "metrics.h"
#include "playback.h"
#include "recdir.h"
#include "ring.h"
#include "routes.h"
#include "snapshot.h"
#include "stream.h"
#include "usage.h"

#define SERVER_NAME "vigil-server"
#define SERVER_CAMERA_DEFAULT "cam0"
#define SERVER_LISTEN_DEFAULT "127.0.0.1:8081"
#define SERVER_MAX_CLIENTS_DEFAULT 1024u
#define SERVER_MAX_CLIENTS_MAX 100000u
#define SERVER_HEADERS_MAX 8192 /* request line + headers, bytes */
#define SERVER_BODY_MAX 1024 /* request bodies: we take none */
#define SERVER_TIMEOUT_S 10 /* non-stream requests: read/write/idle */
#define SERVER_MMAP_THRESHOLD (128 * 1024)
#define SERVER_TRIM_PAD (256 * 1024)
#define SERVER_HOUSEKEEPING_S 1
#define SERVER_SUB_SUFFIX ".sub" /* a camera's sub-stream: /vigil.NAME.sub */

struct options {
	const char *camera[ROUTES_CAMERAS_MAX];
	int ncameras;
	const char *listen[LISTEN_MAX];
	int nlisten;
	unsigned max_clients;
	const char *user;
	const char *recordings;
	int public;
	int verbose;
};

struct server {
	struct event_base *base;
	struct evhttp *http;
	struct metrics metrics; /* the process's and the first camera's */
	struct metrics cam_metrics[ROUTES_CAMERAS_MAX]; /* [1..]: the others' */
	struct routes_camera cams[ROUTES_CAMERAS_MAX];
	struct routes_camera subs[ROUTES_CAMERAS_MAX]; /* cams[i].sub */
	struct metrics sub_metrics[ROUTES_CAMERAS_MAX];
	int ncams;
	struct routes *routes;
	int recfd[ROUTES_CAMERAS_MAX]; /* --recordings of each camera, or -1 */
	struct listener *listeners[LISTEN_MAX];
	int nlisteners;
	struct event *sigterm, *sigint, *housekeeping;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: " SERVER_NAME " [options]\n"
		"Serves the cameras' rings /vigil.<camera> as MJPEG, snapshots and a\n"
		"live page over HTTP, behind nginx.\n"
		"\n"
		"  --camera NAME     camera whose ring to serve (default " SERVER_CAMERA_DEFAULT
		");\n"
		"                    repeatable: each under /cam/NAME/, the first also\n"
		"                    without the prefix (at most %d cameras)\n"
		"  --cameras A,B,..  the same as --camera A --camera B ...\n"
		"  --listen ADDR     127.0.0.1:PORT, [::1]:PORT or unix:/path; repeatable,\n"
		"                    up to %d (default " SERVER_LISTEN_DEFAULT
		")\n"
		"  --max-clients N   stream viewers at once; more get 503 (default %u)\n"
		"  --user USER       drop to USER after binding (start as root)\n"
		"  --recordings DIR  serve vigil-record's events of DIR (read-only):\n"
		"                    /events, playback, downloads, recorder state\n"
		"  --public          allow non-loopback addresses (nginx is the front door)\n"
		"  -v, --verbose     debug logging\n"
		"  -h, --help        this help\n"
		"  --version         print the version\n"
		"\n"
		"SIGTERM or SIGINT stop the server.\n"
		"Exit status: 0 stopped, 1 run-time error, 2 bad usage.\n",
		ROUTES_CAMERAS_MAX, LISTEN_MAX, SERVER_MAX_CLIENTS_DEFAULT);
}

static void bad_usage(const char *fmt, ...)
	__attribute__((noreturn, format(printf, 1, 2)));

static void bad_usage(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	usage_vprint_error(stderr, SERVER_NAME, fmt, ap);
	va_end(ap);
	exit(USAGE_EXIT);
}

static void parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{"camera", required_argument, NULL, 'c'},
		{"cameras", required_argument, NULL, 'C'},
		{"listen", required_argument, NULL, 'l'},
		{"max-clients", required_argument, NULL, 'm'},
		{"user", required_argument, NULL, 'u'},
		{"recordings", required_argument, NULL, 'r'},
		{"public", no_argument, NULL, 'p'},
		{"verbose", no_argument, NULL, 'v'},
		{"help", no_argument, NULL, 'h'},
		{"version", no_argument, NULL, 'V'},
		{NULL, 0, NULL, 0},
	};
	char name[RING_NAME_MAX], err[256];
	long v;
	char *tok, *save;
	int ch, i, j, loopback;

	memset(o, 0, sizeof(*o));
	o->max_clients = SERVER_MAX_CLIENTS_DEFAULT;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, ":vh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			if (o->ncameras == ROUTES_CAMERAS_MAX)
				bad_usage("too many cameras (at most %d)",
					  ROUTES_CAMERAS_MAX);
			o->camera[o->ncameras++] = optarg;
			break;
		case 'C':
			for (tok = strtok_r(optarg, ",", &save); tok != NULL;
			     tok = strtok_r(NULL, ",", &save)) {
				if (o->ncameras == ROUTES_CAMERAS_MAX)
					bad_usage(
						"too many cameras (at most %d)",
						ROUTES_CAMERAS_MAX);
				o->camera[o->ncameras++] = tok;
			}
			break;
		case 'l':
			if (o->nlisten == LISTEN_MAX)
				bad_usage("too many --listen (at most %d)",
					  LISTEN_MAX);
			o->listen[o->nlisten++] = optarg;
			break;
		case 'm':
			if (parse_long(optarg, 1, SERVER_MAX_CLIENTS_MAX, &v,
				       NULL) < 0)
				bad_usage("bad --max-clients '%s': want 1..%u",
					  optarg, SERVER_MAX_CLIENTS_MAX);
			o->max_clients = (unsigned)v;
			break;
		case 'u':
			o->user = optarg;
			break;
		case 'r':
			if (optarg[0] == '\0')
				bad_usage("--recordings needs a directory");
			o->recordings = optarg;
			break;
		case 'p':
			o->public = 1;
			break;
		case 'v':
			o->verbose = 1;
			break;
		case 'h':
			usage(stdout);
			exit(0);
		case 'V':
			usage_print_version(stdout, SERVER_NAME);
			exit(0);
		case ':':
			bad_usage("option '%s' needs a value",
				  argv[optind - 1]);
		default:
			bad_usage("unknown option '%s'", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (o->ncameras == 0)
		o->camera[o->ncameras++] = SERVER_CAMERA_DEFAULT;
	for (i = 0; i < o->ncameras; i++) {
		if (ring_name(name, sizeof(name), o->camera[i], NULL) < 0)
			bad_usage(
				"bad camera name '%s': want [A-Za-z0-9_-]{1,%d}",
				o->camera[i], RING_CAMERA_MAX);
		for (j = 0; j < i; j++)
			if (strcmp(o->camera[i], o->camera[j]) == 0)
				bad_usage("camera '%s' given twice",
					  o->camera[i]);
	}
	if (o->nlisten == 0)
		o->listen[o->nlisten++] = SERVER_LISTEN_DEFAULT;
	for (i = 0; i < o->nlisten; i++) {
		if (listen_check(o->listen[i], &loopback, err, sizeof(err)) < 0)
			bad_usage("%s", err);
		if (!loopback && !o->public)
			bad_usage(
				"refusing to listen on non-loopback '%s' without "
				"--public (put nginx in front)",
				o->listen[i]);
	}
}

/*
 * OpenBSD order: groups, gid, uid, then check none can be regained.  The
 * user keeps its supplementary groups (initgroups): the ring is readable
 * through one of them (the "vigil" group of deploy/sysusers.d/vigil.conf).
 */
static void drop_privileges(const struct passwd *pw)
{
	const char *why = NULL;

	if (privdrop(pw, &why) < 0) {
		if (errno != 0)
			fatal("%s, dropping to '%s'", why, pw->pw_name);
		fatalx("%s, dropping to '%s'", why, pw->pw_name);
	}
	if (chdir("/") < 0)
		fatal("cannot chdir to '/'");
	log_info("running as '%s' (uid %u, gid %u)", pw->pw_name,
		 (unsigned)pw->pw_uid, (unsigned)pw->pw_gid);
}

static void raise_fd_limit(unsigned max_clients)
{
	struct rlimit rl;

	if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
		return;
	if (rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
			log_warn("cannot raise the open file limit");
	}
	if (rl.rlim_cur != RLIM_INFINITY &&
	    rl.rlim_cur < (rlim_t)max_clients + 64)
		log_warnx("open file limit %llu is below --max-clients %u: "
			  "viewers beyond it wait in the backlog",
			  (unsigned long long)rl.rlim_cur, max_clients);
}

/*
 * Floods of connections leave the malloc heap fragmented; glibc gives the
 * free pages back only at the top of the heap.  A fixed mmap threshold
 * (no dynamic raise after large frees) and a periodic trim keep the RSS at
 * the level of the current load instead of the highest one.
 */
static void on_housekeeping(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	(void)arg;
	malloc_trim(SERVER_TRIM_PAD);
}

/*
 * --recordings DIR: with one camera, DIR is its recordings (as vigil-record
 * --dir DIR writes them).  With several, camera NAME's are DIR/NAME when that
 * directory exists; the first camera's are DIR itself otherwise (so a
 * single-camera setup that adds cameras keeps its recordings).  A camera
 * with neither has no events (404).
 */
static void open_recordings(struct server *srv, const struct options *o, int i)
{
	struct routes_camera *cam = &srv->cams[i];
	char path[PATH_MAX], prefix[EVENTS_PREFIX_MAX] = "";
	int fd = -1, n;

	if (o->ncameras > 1) {
		n = snprintf(path, sizeof(path), "%s/%s", o->recordings,
			     cam->name);
		if (n < 0 || (size_t)n >= sizeof(path))
			fatalx("recordings path too long: '%s'", o->recordings);
		fd = recdir_open(path);
		if (fd < 0 && errno != ENOENT)
			fatal("cannot open recordings '%s'", path);
	}
	if (fd < 0 && i == 0) {
		snprintf(path, sizeof(path), "%s", o->recordings);
		fd = recdir_open(path);
		if (fd < 0)
			fatal("cannot open recordings '%s'", path);
	}
	if (fd < 0) {
		log_info("camera '%s': no recordings ('%s/%s' absent)",
			 cam->name, o->recordings, cam->name);
		return;
	}
	srv->recfd[i] = fd;
	if (i > 0)
		snprintf(prefix, sizeof(prefix), "/cam/%s", cam->name);
	cam->playback = playback_create(srv->base, fd);
	cam->events = cam->playback ? events_create(fd, cam->playback, prefix)
				    : NULL;
	if (cam->events == NULL)
		fatalx("out of memory");
	log_info("camera '%s': serving the recordings of '%s'", cam->name,
		 path);
}

static void on_frame(struct frame *f, void *arg)
{
	struct routes_camera *cam = arg;

	stream_publish(cam->stream, f);
	if (!f->offline)
		snapshot_frame(cam->snapshot, f);
}

static void on_signal(evutil_socket_t sig, short what, void *arg)
{
	struct server *srv = arg;
	int i;

	(void)what;
	log_info("shutting down (%s)", sig == SIGTERM ? "SIGTERM" : "SIGINT");
	for (i = 0; i < srv->nlisteners; i++)
		listen_stop(srv->listeners[i]);
	for (i = 0; i < srv->ncams; i++) {
		stream_close_all(srv->cams[i].stream);
		stream_close_all(srv->subs[i].stream);
	}
	for (i = 0; i < srv->ncams; i++)
		playback_close_all(srv->cams[i].playback);
	event_base_loopexit(srv->base, NULL);
}

int main(int argc, char **argv)
{
	struct options o;
	struct server srv;
	struct passwd *pw = NULL;
	struct routes_config rc;
	uid_t uid = (uid_t)-1;
	gid_t gid = (gid_t)-1;
	int fds[LISTEN_MAX];
	struct timeval hk = {SERVER_HOUSEKEEPING_S, 0};
	int i;

	parse_options(argc, argv, &o);
	log_init(SERVER_NAME, o.verbose ? LOG_LEVEL_DEBUG : LOG_LEVEL_INFO);
	mallopt(M_MMAP_THRESHOLD, SERVER_MMAP_THRESHOLD);
	memset(&srv, 0, sizeof(srv));
	for (i = 0; i < ROUTES_CAMERAS_MAX; i++)
		srv.recfd[i] = -1;
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		fatal("cannot ignore SIGPIPE");

	if (o.user != NULL) {
		errno = 0;
		pw = getpwnam(o.user);
		if (pw == NULL)
			fatalx("unknown user '%s'%s%s", o.user,
			       errno ? ": " : "", errno ? strerror(errno) : "");
		if (geteuid() != 0)
			fatalx("--user '%s' needs root to start", o.user);
		uid = pw->pw_uid;
		gid = pw->pw_gid;
	}
	raise_fd_limit(o.max_clients);
	for (i = 0; i < o.nlisten; i++) {
		fds[i] = listen_bind(o.listen[i], uid, gid);
		if (fds[i] < 0)
			fatal("cannot listen on '%s'", o.listen[i]);
	}
	if (pw != NULL)
		drop_privileges(pw);

	srv.base = event_base_new();
	srv.http = srv.base ? evhttp_new(srv.base) : NULL;
	if (srv.http == NULL)
		fatalx("cannot set up the event loop");
	evhttp_set_max_headers_size(srv.http, SERVER_HEADERS_MAX);
	evhttp_set_max_body_size(srv.http, SERVER_BODY_MAX);
	evhttp_set_timeout(srv.http, SERVER_TIMEOUT_S);
	/* Every method reaches our callback, which answers 405 with Allow
	 * (evhttp would answer 501 for the ones it does not let through). */
	evhttp_set_allowed_methods(
		srv.http, EVHTTP_REQ_GET | EVHTTP_REQ_POST | EVHTTP_REQ_HEAD |
				  EVHTTP_REQ_PUT | EVHTTP_REQ_DELETE |
				  EVHTTP_REQ_OPTIONS | EVHTTP_REQ_TRACE |
				  EVHTTP_REQ_CONNECT | EVHTTP_REQ_PATCH);
	for (i = 0; i < o.nlisten; i++) {
		srv.listeners[i] = listen_start(srv.base, srv.http, fds[i],
						o.listen[i], &srv.metrics);
		if (srv.listeners[i] == NULL)
			fatal("cannot serve '%s'", o.listen[i]);
		srv.nlisteners++;
		log_info("listening on '%s'", o.listen[i]);
	}

	for (i = 0; i < o.ncameras; i++) {
		struct routes_camera *cam = &srv.cams[i];

		cam->name = o.camera[i];
		cam->metrics = i == 0 ? &srv.metrics : &srv.cam_metrics[i];
		cam->stream = stream_create(srv.base, cam->metrics);
		cam->snapshot = snapshot_create(srv.base, cam->metrics);
		cam->sub = &srv.subs[i];
		cam->sub->name = cam->name;
		cam->sub->metrics = &srv.sub_metrics[i];
		cam->sub->stream = stream_create(srv.base, cam->sub->metrics);
		cam->sub->snapshot = snapshot_create(srv.base,
						     cam->sub->metrics);
		if (cam->stream == NULL || cam->snapshot == NULL ||
		    cam->sub->stream == NULL || cam->sub->snapshot == NULL)
			fatalx("out of memory");
		srv.ncams++;
		/* Opened as the server's user: what it cannot read fails here. */
		if (o.recordings != NULL)
			open_recordings(&srv, &o, i);
	}
	memset(&rc, 0, sizeof(rc));
	rc.events = srv.cams[0].events;
	rc.playback = srv.cams[0].playback;
	rc.base = srv.base;
	rc.metrics = &srv.metrics;
	rc.cameras = srv.cams;
	rc.ncameras = srv.ncams;
	rc.max_clients = o.max_clients;
	srv.routes = routes_create(srv.http, &rc);
	if (srv.routes == NULL)
		fatalx("out of memory");
	for (i = 0; i < srv.ncams; i++) {
		struct routes_camera *cam = &srv.cams[i];

		cam->feed = feed_create(srv.base, cam->name, NULL, cam->metrics,
					on_frame, cam);
		if (cam->feed == NULL)
			fatal("cannot set up the feed of camera '%s'",
			      cam->name);
		/* The sub-stream's ring is optional: the feed attaches when
		 * a capture creates it (its 250 ms tick), and until then the
		 * sub URLs answer 404. */
		cam->sub->feed = feed_create(
			srv.base, cam->name, SERVER_SUB_SUFFIX,
			cam->sub->metrics, on_frame, cam->sub);
		if (cam->sub->feed == NULL)
			fatal("cannot set up the sub-stream feed of camera '%s'",
			      cam->name);
	}

	srv.sigterm = evsignal_new(srv.base, SIGTERM, on_signal, &srv);
	srv.sigint = evsignal_new(srv.base, SIGINT, on_signal, &srv);
	if (srv.sigterm == NULL || srv.sigint == NULL ||
	    evsignal_add(srv.sigterm, NULL) < 0 ||
	    evsignal_add(srv.sigint, NULL) < 0)
		fatalx("cannot set up signal handling");
	srv.housekeeping = event_new(srv.base, -1, EV_PERSIST, on_housekeeping,
				     &srv);
	if (srv.housekeeping == NULL || event_add(srv.housekeeping, &hk) < 0)
		fatalx("cannot set up the housekeeping timer");

	for (i = 0; i < srv.ncams; i++)
		log_info("serving camera '%s'%s", srv.cams[i].name,
			 i == 0 && srv.ncams > 1 ? " (the first)" : "");
	log_info("at most %u viewers", o.max_clients);
	if (event_base_dispatch(srv.base) < 0)
		log_warnx("event loop failed");

	/* Streams end first: they free connections evhttp_free would free. */
	for (i = 0; i < srv.ncams; i++) {
		stream_destroy(srv.cams[i].stream);
		snapshot_destroy(srv.cams[i].snapshot);
		stream_destroy(srv.subs[i].stream);
		snapshot_destroy(srv.subs[i].snapshot);
	}
	for (i = 0; i < srv.ncams; i++)
		playback_destroy(srv.cams[i].playback);
	routes_destroy(srv.routes);
	evhttp_free(srv.http);
	for (i = 0; i < srv.ncams; i++) {
		feed_destroy(srv.cams[i].feed);
		feed_destroy(srv.subs[i].feed);
	}
	for (i = 0; i < srv.ncams; i++) {
		events_destroy(srv.cams[i].events);
		if (srv.recfd[i] >= 0)
			close(srv.recfd[i]);
	}
	for (i = 0; i < srv.nlisteners; i++)
		listen_free(srv.listeners[i]);
	event_free(srv.sigterm);
	event_free(srv.sigint);
	event_free(srv.housekeeping);
	event_base_free(srv.base);
	return 0;
}
