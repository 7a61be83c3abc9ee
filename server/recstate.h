/* SPDX-License-Identifier: MIT */
/*
 * recstate: the recorder's state.json (vigil-record replaces it about once a
 * second) for /state, /metrics and /healthz.  Read on each request (a small
 * file, capped), checked like any untrusted input.  The recorder counts as
 * stopped when the file is missing, does not parse, or was updated more than
 * RECSTATE_STALE_S ago; as failing when its last error is a write error
 * ("cannot write ...") less than RECSTATE_ERROR_RECENT_S old.
 */
#ifndef VIGIL_RECSTATE_H
#define VIGIL_RECSTATE_H

#include <stdint.h>

#include "recdir.h"

#define RECSTATE_JSON_MAX 16384
#define RECSTATE_STALE_S 10
#define RECSTATE_ERROR_RECENT_S 60
#define RECSTATE_ERROR_MAX 256

struct evbuffer;

struct recstate {
	int present; /* state.json read and valid: the fields below are set */
	int recording;
	char event[RECDIR_ID_MAX]; /* "" when none */
	uint64_t events, bytes, free_bytes, total_bytes;
	uint64_t frames, frames_missed;
	int camera_online;
	char last_error[RECSTATE_ERROR_MAX]; /* "" when none */
	int64_t last_error_ms; /* 0 when none */
	int64_t updated_ms;
	int64_t age_ms; /* now - updated */
	/* The recorder's notifications (its "notify" object), when it has
	 * any configured: the broker connection and the counters. */
	int notify_present;
	char mqtt[16]; /* "connected", "disconnected" or "off" */
	uint64_t mqtt_sent, mqtt_dropped;
	uint64_t webhook_sent, webhook_failed, webhook_dropped;
	uint64_t hooks_run, hooks_failed, hooks_killed, hooks_skipped;
};

/* Reads state.json from dirfd into *rs (now_ms: CLOCK_REALTIME in ms).
 * Always fills *rs; rs->present says whether the file was usable. */
void recstate_read(int dirfd, int64_t now_ms, struct recstate *rs);

/* NULL when the recorder is healthy, else the reason (in buf). */
const char *recstate_problem(const struct recstate *rs, char *buf,
			     unsigned size);

/* Appends the "recorder" JSON object (no key) to out.  0, or -1 on ENOMEM. */
int recstate_render_json(struct evbuffer *out, const struct recstate *rs);

/* Appends the vigil_recorder_* Prometheus gauges.  0, or -1 on ENOMEM. */
int recstate_render_metrics(struct evbuffer *out, const struct recstate *rs);

#endif
