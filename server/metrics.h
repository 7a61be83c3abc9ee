/* SPDX-License-Identifier: MIT */
/*
 * metrics: the server's counters, and their Prometheus text exposition.
 * One struct, written by the modules of the event loop thread only.
 */
#ifndef VIGIL_METRICS_H
#define VIGIL_METRICS_H

#include <stddef.h>
#include <stdint.h>

struct evbuffer;

struct metrics {
	uint64_t frames_received; /* frames copied out of the ring */
	uint64_t frames_torn; /* reads discarded: overwritten mid-copy */
	uint64_t frames_sent; /* parts queued to stream clients */
	uint64_t frames_skipped; /* frames a slow client did not get */
	uint64_t offline_sent; /* "camera offline" parts queued */
	uint64_t bytes_sent; /* stream and snapshot bytes queued */
	uint64_t clients_total; /* stream clients accepted */
	uint64_t clients_rejected; /* stream clients refused (--max-clients) */
	uint64_t snapshots; /* snapshots served */
	uint64_t requests; /* HTTP requests handled */
	uint64_t accept_errors; /* accept() failures (EMFILE...) */
	uint64_t generation_changes; /* new capture generations followed */
	uint64_t motion_periods; /* motion periods seen begin (feed.c) */
	uint32_t clients; /* stream clients now */
};

/* What /metrics and /state need from the feed (filled by the caller). */
struct metrics_feed {
	const char *camera;
	const char *status; /* "online", "stalled", "offline" */
	const char *reason; /* why not online, or "" */
	uint32_t width, height;
	double source_fps;
	double measured_fps;
	uint32_t generation;
	uint64_t seq;
	int64_t frame_age_ms; /* -1: no frame */
	int64_t frame_realtime_ns; /* 0: no frame */
	uint32_t buffers; /* frame buffers mapped */
	/* The newest frame's motion result (zero without one, and while the
	 * camera is not online): */
	int motion_enabled; /* the newest frames carry results */
	int motion_active; /* motion declared */
	uint32_t motion_score; /* per mille */
	int64_t motion_since_ns; /* CLOCK_REALTIME, 0: no motion declared */
	const uint8_t *motion_grid; /* RING_MOTION_GRID_BYTES (borrowed), or
				       NULL: no frame */
};

/* Appends the Prometheus text format (version 0.0.4).  0, or -1 on ENOMEM. */
int metrics_render(struct evbuffer *out, const struct metrics *m,
		   const struct metrics_feed *feed);

/* Appends per-camera series labelled camera="NAME" (vigil_camera_*) for
 * the n cameras m[i] with their feeds f[i].  0, or -1 on ENOMEM. */
int metrics_render_cameras(struct evbuffer *out, const struct metrics *const *m,
			   const struct metrics_feed *f, size_t n);

/* Appends the /state JSON object.  0, or -1 on ENOMEM. */
int metrics_render_state(struct evbuffer *out, const struct metrics *m,
			 const struct metrics_feed *feed);

#endif
