/* SPDX-License-Identifier: MIT */
/* metrics: Prometheus text exposition and the /state JSON. */
#include "metrics.h"

#include <event2/buffer.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "ring.h"

static int put_u64(struct evbuffer *out, const char *name, const char *type,
		   const char *help, uint64_t v)
{
	return evbuffer_add_printf(
		       out, "# HELP %s %s\n# TYPE %s %s\n%s %" PRIu64 "\n",
		       name, help, name, type, name, v) < 0
		       ? -1
		       : 0;
}

static int put_f(struct evbuffer *out, const char *name, const char *help,
		 double v)
{
	return evbuffer_add_printf(out,
				   "# HELP %s %s\n# TYPE %s gauge\n%s %.3f\n",
				   name, help, name, name, v) < 0
		       ? -1
		       : 0;
}

int metrics_render(struct evbuffer *out, const struct metrics *m,
		   const struct metrics_feed *f)
{
	static const char *const states[] = {"online", "stalled", "offline"};
	const char *c = "counter", *g = "gauge";
	int rc = 0;
	size_t i;

	rc |= evbuffer_add_printf(
		      out,
		      "# HELP vigil_camera_status Camera status as seen by this server (1 for the current one).\n"
		      "# TYPE vigil_camera_status gauge\n") < 0;
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		rc |= evbuffer_add_printf(
			      out,
			      "vigil_camera_status{camera=\"%s\",status=\"%s\"} %d\n",
			      f->camera, states[i],
			      strcmp(f->status, states[i]) == 0 ? 1 : 0) < 0;
	rc |= put_u64(out, "vigil_frames_received_total", c,
		      "Frames copied out of the ring.", m->frames_received);
	rc |= put_u64(
		out, "vigil_frames_torn_total", c,
		"Ring reads discarded because the writer overwrote the slot.",
		m->frames_torn);
	rc |= put_u64(out, "vigil_frames_sent_total", c,
		      "Frames queued to stream clients.", m->frames_sent);
	rc |= put_u64(
		out, "vigil_frames_skipped_total", c,
		"Frames a slow stream client skipped (it gets the newest when ready).",
		m->frames_skipped);
	rc |= put_u64(out, "vigil_offline_frames_sent_total", c,
		      "Camera offline pictures queued to stream clients.",
		      m->offline_sent);
	rc |= put_u64(out, "vigil_bytes_sent_total", c,
		      "Stream and snapshot bytes queued to clients.",
		      m->bytes_sent);
	rc |= put_u64(out, "vigil_stream_clients", g,
		      "Stream clients connected now.", m->clients);
	rc |= put_u64(out, "vigil_stream_clients_total", c,
		      "Stream clients accepted.", m->clients_total);
	rc |= put_u64(out, "vigil_stream_clients_rejected_total", c,
		      "Stream clients refused with 503 (--max-clients).",
		      m->clients_rejected);
	rc |= put_u64(out, "vigil_snapshots_total", c, "Snapshots served.",
		      m->snapshots);
	rc |= put_u64(out, "vigil_http_requests_total", c,
		      "HTTP requests handled.", m->requests);
	rc |= put_u64(out, "vigil_accept_errors_total", c,
		      "Failed accept() calls (out of descriptors...).",
		      m->accept_errors);
	rc |= put_u64(
		out, "vigil_ring_generation", g,
		"Generation of the ring (changes with each capture start).",
		f->generation);
	rc |= put_u64(
		out, "vigil_ring_generation_changes_total", c,
		"Capture restarts (new ring segments) this server followed.",
		m->generation_changes);
	rc |= put_u64(out, "vigil_ring_sequence", g,
		      "Sequence number of the newest frame.", f->seq);
	rc |= put_f(out, "vigil_ring_age_seconds",
		    "Age of the newest frame (-1: none).",
		    f->frame_age_ms < 0 ? -1.0
					: (double)f->frame_age_ms / 1000.0);
	rc |= put_f(out, "vigil_source_fps",
		    "Frame rate the capture is configured for.", f->source_fps);
	rc |= put_f(out, "vigil_measured_fps",
		    "Frame rate measured at this server.", f->measured_fps);
	rc |= put_u64(out, "vigil_frame_buffers", g,
		      "Frame buffers mapped (shared by all clients).",
		      f->buffers);
	rc |= put_u64(
		out, "vigil_motion_enabled", g,
		"Whether the newest frames carry a motion detection result.",
		(uint64_t)(f->motion_enabled != 0));
	rc |= put_u64(out, "vigil_motion_active", g,
		      "Whether motion is declared at the newest frame.",
		      (uint64_t)(f->motion_active != 0));
	rc |= put_u64(
		out, "vigil_motion_score_permille", g,
		"Changed share of the newest frame's picture, per mille (0 without a result).",
		f->motion_score);
	rc |= put_u64(out, "vigil_motion_periods_total", c,
		      "Motion periods this server has seen begin.",
		      m->motion_periods);
	return rc ? -1 : 0;
}

int metrics_render_cameras(struct evbuffer *out, const struct metrics *const *m,
			   const struct metrics_feed *f, size_t n)
{
	static const struct {
		const char *name, *type, *help;
	} fam[] = {
		{"vigil_camera_online", "gauge",
		 "1 while the camera's frames are fresh."},
		{"vigil_camera_frames_received_total", "counter",
		 "Frames copied out of the camera's ring."},
		{"vigil_camera_frames_sent_total", "counter",
		 "Frames queued to the camera's stream clients."},
		{"vigil_camera_bytes_sent_total", "counter",
		 "Stream and snapshot bytes of the camera queued to clients."},
		{"vigil_camera_stream_clients", "gauge",
		 "The camera's stream clients now."},
		{"vigil_camera_measured_fps", "gauge",
		 "The camera's frame rate measured at this server."},
		{"vigil_camera_motion_active", "gauge",
		 "Whether motion is declared at the camera's newest frame."},
	};
	size_t i, k;
	int rc = 0;

	for (k = 0; k < sizeof(fam) / sizeof(fam[0]); k++) {
		rc |= evbuffer_add_printf(out, "# HELP %s %s\n# TYPE %s %s\n",
					  fam[k].name, fam[k].help, fam[k].name,
					  fam[k].type) < 0;
		for (i = 0; i < n; i++) {
			double v[] = {
				strcmp(f[i].status, "online") == 0,
				(double)m[i]->frames_received,
				(double)m[i]->frames_sent,
				(double)m[i]->bytes_sent,
				(double)m[i]->clients,
				f[i].measured_fps,
				f[i].motion_active != 0,
			};

			rc |= evbuffer_add_printf(
				      out, "%s{camera=\"%s\"} %.15g\n",
				      fam[k].name, f[i].camera, v[k]) < 0;
		}
	}
	return rc ? -1 : 0;
}

static void iso8601(char *buf, size_t size, int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;
	size_t n;

	if (ns <= 0 || gmtime_r(&sec, &tm) == NULL) {
		buf[0] = '\0';
		return;
	}
	n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf + n, size - n, ".%03dZ", (int)(ns / 1000000 % 1000));
}

/* The "motion" member of /state (after a comma). */
static int motion_state(struct evbuffer *out, const struct metrics *m,
			const struct metrics_feed *f)
{
	static const char hex[] = "0123456789abcdef";
	char bits[RING_MOTION_GRID_BYTES * 2 + 1];
	char since[32] = "null";
	size_t i;

	for (i = 0; i < RING_MOTION_GRID_BYTES; i++) {
		uint8_t b = f->motion_grid != NULL ? f->motion_grid[i] : 0;

		bits[2 * i] = hex[b >> 4];
		bits[2 * i + 1] = hex[b & 15];
	}
	bits[sizeof(bits) - 1] = '\0';
	if (f->motion_active && f->motion_since_ns > 0)
		snprintf(since, sizeof(since), "%" PRId64 ".%03d",
			 f->motion_since_ns / 1000000000,
			 (int)(f->motion_since_ns / 1000000 % 1000));
	return evbuffer_add_printf(
		       out,
		       "\"motion\":{\"enabled\":%s,\"active\":%s,"
		       "\"score\":%" PRIu32 ",\"since\":%s,"
		       "\"grid\":{\"cols\":%u,\"rows\":%u,\"bits\":\"%s\"},"
		       "\"periods\":%" PRIu64 "}",
		       f->motion_enabled ? "true" : "false",
		       f->motion_active ? "true" : "false", f->motion_score,
		       since, RING_MOTION_COLS, RING_MOTION_ROWS, bits,
		       m->motion_periods) < 0
		       ? -1
		       : 0;
}

int metrics_render_state(struct evbuffer *out, const struct metrics *m,
			 const struct metrics_feed *f)
{
	char when[48];

	iso8601(when, sizeof(when), f->frame_realtime_ns);
	/* The camera name is [A-Za-z0-9_-] and the reason is ours: no escaping. */
	return evbuffer_add_printf(
		       out,
		       "{\"camera\":\"%s\",\"status\":\"%s\",\"reason\":\"%s\","
		       "\"width\":%" PRIu32 ",\"height\":%" PRIu32
		       ",\"fps\":%.2f,"
		       "\"measured_fps\":%.2f,\"clients\":%" PRIu32
		       ",\"generation\":%" PRIu32 ",\"seq\":%" PRIu64
		       ",\"frame_age_ms\":%" PRId64 ",\"time\":%s%s%s,"
		       "\"frames_sent\":%" PRIu64 ",\"frames_skipped\":%" PRIu64
		       ",",
		       f->camera, f->status, f->reason, f->width, f->height,
		       f->source_fps, f->measured_fps, m->clients,
		       f->generation, f->seq, f->frame_age_ms,
		       f->frame_realtime_ns > 0 ? "\"" : "",
		       f->frame_realtime_ns > 0 ? when : "null",
		       f->frame_realtime_ns > 0 ? "\"" : "", m->frames_sent,
		       m->frames_skipped) < 0 ||
			       motion_state(out, m, f) < 0 ||
			       evbuffer_add(out, "}\n", 2) < 0
		       ? -1
		       : 0;
}
