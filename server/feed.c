/* SPDX-License-Identifier: MIT */
/* feed: ring attachment, frame copies, offline picture (the thread that
 * waits on the ring is waiter.c). */
#include "feed.h"

#include <errno.h>
#include <event2/event.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "log.h"
#include "offline.h"
#include "ring.h"
#include "waiter.h"

struct feed {
	struct event_base *base;
	char camera[RING_CAMERA_MAX + 1];
	char suffix[FEED_SUFFIX_MAX]; /* of the ring name: "" or ".sub" */
	int ever_online;
	char ring_name[RING_NAME_MAX];
	struct metrics *m;
	feed_frame_fn *cb;
	void *arg;
	int efd;
	struct event *ev_wake;
	struct event *ev_tick;
	struct waiter *waiter; /* current attachment, or NULL */
	struct waiter_list retired; /* stopped, waiting to be joined */
	struct frame_pool *pool;
	struct frame *latest; /* newest live frame (a reference), or NULL */
	enum feed_status status;
	char reason[192];
	int have_generation;
	uint32_t generation;
	uint32_t width, height, fps_num, fps_den;
	uint64_t last_seq;
	uint8_t *offline_jpeg;
	size_t offline_len;
	uint32_t offline_w, offline_h;
	int64_t offline_last_ms;
	int64_t fps_ns[FEED_FPS_WINDOW];
	unsigned fps_count, fps_next;
	uint64_t analysed_seq; /* newest frame with a motion result, or 0 */
	int motion_was; /* motion declared at the previous frame read */
	int64_t motion_since_ns; /* ...since then (its period's start) */
};

const char *feed_status_name(enum feed_status status)
{
	switch (status) {
	case FEED_ONLINE:
		return "online";
	case FEED_STALLED:
		return "stalled";
	default:
		return "offline";
	}
}

/* ------------------------------------------------------------ attachment */

static void feed_detach(struct feed *feed)
{
	struct waiter *w = feed->waiter;

	if (w == NULL)
		return;
	waiter_retire(&feed->retired, w);
	feed->waiter = NULL;
	frame_unref(feed->latest);
	feed->latest = NULL;
	feed->fps_count = 0;
	feed->analysed_seq = 0;
}

/* ------------------------------------------------------------ status */

static void feed_set_status(struct feed *feed, enum feed_status status,
			    const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void feed_set_status(struct feed *feed, enum feed_status status,
			    const char *fmt, ...)
{
	char reason[sizeof(feed->reason)];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(reason, sizeof(reason), fmt, ap);
	va_end(ap);
	if (status == feed->status && strcmp(reason, feed->reason) == 0)
		return;
	if (status == FEED_ONLINE)
		log_info("camera '%s'%s online: generation %" PRIu32
			 ", %" PRIu32 "x%" PRIu32,
			 feed->camera, feed->suffix, feed->generation,
			 feed->width, feed->height);
	else if (feed->suffix[0] != '\0' && !feed->ever_online)
		/* A sub-stream that never was: no warning (it is optional). */
		log_debug("camera '%s'%s %s: %s", feed->camera, feed->suffix,
			  feed_status_name(status), reason);
	else
		log_warnx("camera '%s'%s %s: %s", feed->camera, feed->suffix,
			  feed_status_name(status), reason);
	if (status == FEED_ONLINE)
		feed->ever_online = 1;
	if (status != FEED_ONLINE && feed->status == FEED_ONLINE)
		feed->offline_last_ms = 0; /* show the offline picture now */
	feed->status = status;
	snprintf(feed->reason, sizeof(feed->reason), "%s", reason);
}

static int64_t stall_ns(const struct feed *feed)
{
	int64_t ns = (int64_t)FEED_STALL_MS * 1000000;

	if (feed->fps_num > 0 && feed->fps_den > 0) {
		int64_t frames = (int64_t)FEED_STALL_FRAMES * 1000000000 *
				 feed->fps_den / feed->fps_num;
		if (frames > ns)
			ns = frames;
	}
	return ns;
}

static int frame_fresh(const struct feed *feed, const struct frame *f,
		       int64_t now)
{
	return f != NULL && now - f->monotonic_ns < stall_ns(feed);
}

/* ------------------------------------------------------------ frames */

static int render_offline(struct feed *feed, uint32_t w, uint32_t h)
{
	uint8_t *jpeg;
	size_t len;

	if (offline_render(w, h, &jpeg, &len) < 0)
		return -1;
	free(feed->offline_jpeg);
	feed->offline_jpeg = jpeg;
	feed->offline_len = len;
	feed->offline_w = w;
	feed->offline_h = h;
	if (frame_pool_capacity(feed->pool) < len)
		frame_pool_set_capacity(feed->pool, len);
	return 0;
}

static void send_offline(struct feed *feed, int64_t now_ms)
{
	struct frame *f = frame_get(feed->pool);

	feed->offline_last_ms = now_ms;
	if (f == NULL) {
		log_warn("cannot get a frame buffer");
		return;
	}
	memcpy(frame_jpeg(f), feed->offline_jpeg, feed->offline_len);
	f->jpeg_len = feed->offline_len;
	f->offline = 1;
	f->seq = 0;
	f->generation = feed->generation;
	f->width = feed->offline_w;
	f->height = feed->offline_h;
	f->realtime_ns = clock_real_ns();
	f->monotonic_ns = clock_mono_ns();
	frame_seal(f);
	feed->cb(f, feed->arg);
	frame_unref(f);
}

static void record_fps(struct feed *feed, int64_t t)
{
	feed->fps_ns[feed->fps_next] = t;
	feed->fps_next = (feed->fps_next + 1) % FEED_FPS_WINDOW;
	if (feed->fps_count < FEED_FPS_WINDOW)
		feed->fps_count++;
}

static double measured_fps(const struct feed *feed, int64_t now)
{
	unsigned newest, oldest;
	int64_t span;

	if (feed->fps_count < 2)
		return 0.0;
	newest = (feed->fps_next + FEED_FPS_WINDOW - 1) % FEED_FPS_WINDOW;
	oldest = (feed->fps_next + FEED_FPS_WINDOW - feed->fps_count) %
		 FEED_FPS_WINDOW;
	if (now - feed->fps_ns[newest] > stall_ns(feed))
		return 0.0;
	span = feed->fps_ns[newest] - feed->fps_ns[oldest];
	return span > 0 ? (double)(feed->fps_count - 1) * 1e9 / (double)span
			: 0.0;
}

/* Counts motion periods: a frame with motion declared opens a new one when
 * the previous frame read had none, or had one that began at another time
 * (the frames between, with no motion, were not read). */
static void feed_motion(struct feed *feed, const struct frame *f)
{
	int active = frame_motion(f);

	if (frame_analysed(f))
		feed->analysed_seq = f->seq;
	if (active &&
	    (!feed->motion_was || f->motion_since_ns != feed->motion_since_ns))
		feed->m->motion_periods++;
	feed->motion_was = active;
	feed->motion_since_ns = active ? f->motion_since_ns : 0;
}

/* Copies the newest frame out of the ring, once, and hands it on. */
static void feed_pull(struct feed *feed)
{
	struct ring_reader *r = waiter_reader(feed->waiter);
	unsigned i;

	for (i = 0; i < FEED_READ_RETRIES; i++) {
		struct ring_frame rf;
		struct frame *f = frame_get(feed->pool);
		enum ring_status st;
		int64_t now;

		if (f == NULL) {
			log_warn("cannot get a frame buffer");
			return;
		}
		st = ring_reader_read(r, &rf, frame_jpeg(f),
				      frame_pool_capacity(feed->pool));
		if (st == RING_TORN) {
			/* The writer lapped us: a newer frame is there. */
			feed->m->frames_torn++;
			frame_unref(f);
			continue;
		}
		if (st != RING_OK || rf.seq <= feed->last_seq) {
			if (st != RING_OK && st != RING_NONE)
				log_debug("ring '%s': %s", feed->ring_name,
					  ring_strerror(st));
			frame_unref(f);
			return;
		}
		f->jpeg_len = rf.length;
		f->seq = rf.seq;
		f->generation = rf.generation;
		f->width = rf.width;
		f->height = rf.height;
		f->realtime_ns = rf.realtime_ns;
		f->monotonic_ns = rf.monotonic_ns;
		/* The reader zeroes the result of a frame without one, and
		 * refuses a score over RING_MOTION_SCORE_MAX. */
		f->flags = rf.flags;
		f->motion_score = rf.motion_score;
		f->motion_since_ns = rf.motion_since_ns;
		memcpy(f->motion_grid, rf.motion_grid, sizeof(f->motion_grid));
		frame_seal(f);
		feed_motion(feed, f);
		feed->last_seq = rf.seq;
		feed->m->frames_received++;
		record_fps(feed, rf.monotonic_ns);
		frame_unref(feed->latest);
		feed->latest = f; /* takes our reference */
		now = clock_mono_ns();
		if (!frame_fresh(feed, f, now))
			return; /* an old frame found at attach: snapshot only */
		if (feed->status != FEED_ONLINE)
			feed_set_status(feed, FEED_ONLINE, "%s", "");
		feed->cb(f, feed->arg);
		return;
	}
}

/* ------------------------------------------------------------ attach */

static void feed_attach(struct feed *feed, struct ring_reader *r)
{
	struct waiter *w;
	uint32_t gen = ring_reader_generation(r);
	size_t cap = ring_reader_capacity(r);

	/* Any new segment is a capture (re)start, even when its generation
	 * number repeats (the old ring was removed by hand). */
	if (feed->have_generation)
		feed->m->generation_changes++;
	feed->have_generation = 1;
	feed->generation = gen;
	ring_reader_format(r, &feed->width, &feed->height, &feed->fps_num,
			   &feed->fps_den);
	if (feed->width >= OFFLINE_SIZE_MIN &&
	    feed->height >= OFFLINE_SIZE_MIN &&
	    feed->width <= OFFLINE_SIZE_MAX &&
	    feed->height <= OFFLINE_SIZE_MAX &&
	    (feed->width != feed->offline_w ||
	     feed->height != feed->offline_h) &&
	    render_offline(feed, feed->width, feed->height) < 0)
		log_warn("cannot render the offline picture");
	frame_pool_set_capacity(
		feed->pool, cap > feed->offline_len ? cap : feed->offline_len);
	feed->last_seq = 0;
	w = waiter_start(r, feed->efd);
	if (w == NULL) {
		log_warn("cannot start the ring waiter thread");
		ring_reader_close(r);
		feed_set_status(feed, FEED_OFFLINE, "cannot start a thread");
		return;
	}
	feed->waiter = w;
	log_info("attached to ring '%s': generation %" PRIu32 ", %" PRIu32
		 "x%" PRIu32 " at %" PRIu32 "/%" PRIu32
		 " fps, %zu bytes per frame",
		 feed->ring_name, gen, feed->width, feed->height, feed->fps_num,
		 feed->fps_den, cap);
	feed_pull(feed);
}

static void feed_try_open(struct feed *feed)
{
	struct ring_reader *r = NULL;
	uint32_t version = 0;
	enum ring_status st = ring_reader_open_suffix(
		&r, feed->camera, feed->suffix[0] ? feed->suffix : NULL,
		&version);

	switch (st) {
	case RING_OK:
		feed_attach(feed, r);
		return;
	case RING_ERROR:
		if (errno == ENOENT)
			feed_set_status(feed, FEED_OFFLINE,
					"no capture running (ring '%s' absent)",
					feed->ring_name);
		else
			feed_set_status(feed, FEED_OFFLINE,
					"cannot open ring '%s': %s",
					feed->ring_name, strerror(errno));
		return;
	case RING_BAD_VERSION:
		feed_set_status(feed, FEED_OFFLINE,
				"ring '%s' has layout version %" PRIu32
				", this server reads version %u",
				feed->ring_name, version, RING_VERSION);
		return;
	default:
		feed_set_status(feed, FEED_OFFLINE, "ring '%s': %s",
				feed->ring_name, ring_strerror(st));
		return;
	}
}

/* ------------------------------------------------------------ events */

static void feed_check(struct feed *feed)
{
	int64_t now = clock_mono_ns();
	struct waiter *w = feed->waiter;

	waiter_reap(&feed->retired, 0);
	if (w != NULL) {
		uint32_t age = 0;
		enum ring_status st = ring_reader_health(waiter_reader(w), 0,
							 &age);

		if (st == RING_OK && !waiter_done(w)) {
			if (frame_fresh(feed, feed->latest, now))
				feed_set_status(feed, FEED_ONLINE, "%s", "");
			else if (feed->latest == NULL)
				feed_set_status(
					feed, FEED_STALLED,
					"capture running, no frame yet");
			else
				feed_set_status(
					feed, FEED_STALLED,
					"no frame for %" PRId64 " ms",
					(now - feed->latest->monotonic_ns) /
						1000000);
		} else if (st == RING_OK ||
			   ring_reader_replaced(waiter_reader(w)) != 0) {
			/* A new capture (or none) under the name: re-attach.
			 * (A waiter that ended on a live ring hit an error.) */
			feed_detach(feed);
		} else if (st == RING_CLOSED) {
			feed_set_status(feed, FEED_OFFLINE, "capture stopped");
		} else {
			feed_set_status(
				feed, FEED_OFFLINE,
				"capture not responding (no heartbeat for %" PRIu32
				" ms)",
				age);
		}
	}
	if (feed->waiter == NULL)
		feed_try_open(feed);
	if (feed->status != FEED_ONLINE &&
	    now / 1000000 - feed->offline_last_ms >= FEED_OFFLINE_REPEAT_MS)
		send_offline(feed, now / 1000000);
}

static void on_wake(evutil_socket_t fd, short what, void *arg)
{
	struct feed *feed = arg;
	uint64_t n;

	(void)what;
	if (read(fd, &n, sizeof(n)) < 0 && errno != EAGAIN)
		log_warn("eventfd read");
	if (feed->waiter == NULL)
		return;
	feed_pull(feed);
	if (waiter_done(feed->waiter))
		feed_check(feed);
}

static void on_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	feed_check(arg);
}

/* ------------------------------------------------------------ API */

struct feed *feed_create(struct event_base *base, const char *camera,
			 const char *suffix, struct metrics *metrics,
			 feed_frame_fn *cb, void *arg)
{
	struct feed *feed;
	struct timeval tick = {0, FEED_TICK_MS * 1000};

	if (suffix != NULL && strlen(suffix) >= FEED_SUFFIX_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	feed = calloc(1, sizeof(*feed));
	if (feed == NULL)
		return NULL;
	snprintf(feed->suffix, sizeof(feed->suffix), "%s",
		 suffix ? suffix : "");
	feed->efd = -1;
	LIST_INIT(&feed->retired);
	feed->base = base;
	feed->m = metrics;
	feed->cb = cb;
	feed->arg = arg;
	feed->status = FEED_OFFLINE;
	snprintf(feed->camera, sizeof(feed->camera), "%s", camera);
	if (ring_name(feed->ring_name, sizeof(feed->ring_name), camera,
		      suffix) < 0)
		goto fail;
	feed->pool = frame_pool_create(RING_SLOT_SIZE_DEFAULT);
	if (feed->pool == NULL)
		goto fail;
	if (render_offline(feed, OFFLINE_WIDTH_DEFAULT,
			   OFFLINE_HEIGHT_DEFAULT) < 0)
		goto fail;
	feed->efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	if (feed->efd < 0)
		goto fail;
	feed->ev_wake = event_new(base, feed->efd, EV_READ | EV_PERSIST,
				  on_wake, feed);
	feed->ev_tick = event_new(base, -1, EV_PERSIST, on_tick, feed);
	if (feed->ev_wake == NULL || feed->ev_tick == NULL ||
	    event_add(feed->ev_wake, NULL) < 0 ||
	    event_add(feed->ev_tick, &tick) < 0) {
		errno = ENOMEM;
		goto fail;
	}
	feed->offline_last_ms = -FEED_OFFLINE_REPEAT_MS;
	feed_try_open(feed);
	return feed;
fail:
	feed_destroy(feed);
	return NULL;
}

void feed_destroy(struct feed *feed)
{
	if (feed == NULL)
		return;
	feed_detach(feed);
	waiter_reap(&feed->retired, 1);
	if (feed->ev_wake != NULL)
		event_free(feed->ev_wake);
	if (feed->ev_tick != NULL)
		event_free(feed->ev_tick);
	if (feed->efd >= 0)
		close(feed->efd);
	frame_unref(feed->latest);
	frame_pool_destroy(feed->pool);
	free(feed->offline_jpeg);
	free(feed);
}

enum feed_status feed_status(const struct feed *feed, const char **reason)
{
	if (reason != NULL)
		*reason = feed->reason;
	return feed->status;
}

struct frame *feed_latest(const struct feed *feed)
{
	return feed->waiter != NULL ? feed->latest : NULL;
}

void feed_describe(const struct feed *feed, struct metrics_feed *out)
{
	int64_t now = clock_mono_ns();

	memset(out, 0, sizeof(*out));
	out->camera = feed->camera;
	out->status = feed_status_name(feed->status);
	out->reason = feed->status == FEED_ONLINE ? "" : feed->reason;
	out->width = feed->width;
	out->height = feed->height;
	out->source_fps = feed->fps_den > 0 ? (double)feed->fps_num /
						      (double)feed->fps_den
					    : 0.0;
	out->measured_fps = measured_fps(feed, now);
	out->generation = feed->generation;
	out->frame_age_ms = -1;
	if (feed->latest != NULL) {
		out->seq = feed->latest->seq;
		out->frame_age_ms = (now - feed->latest->monotonic_ns) /
				    1000000;
		out->frame_realtime_ns = feed->latest->realtime_ns;
	}
	/* A stalled or stopped camera's last frame declares nothing: its
	 * motion would otherwise stay "active" for as long as it is gone. */
	if (feed->latest != NULL && feed->status == FEED_ONLINE) {
		out->motion_enabled = feed->analysed_seq != 0 &&
				      feed->latest->seq - feed->analysed_seq <
					      FEED_MOTION_GRACE;
		out->motion_active = frame_motion(feed->latest);
		out->motion_score = feed->latest->motion_score;
		out->motion_since_ns = feed->latest->motion_since_ns;
		out->motion_grid = feed->latest->motion_grid;
	}
	out->buffers = frame_pool_buffers(feed->pool);
}
