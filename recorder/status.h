/* SPDX-License-Identifier: MIT */
/*
 * status: the recorder's state for the server and for monitoring,
 * "state.json" in the recordings directory, replaced atomically about once
 * a second:
 *
 *   {"camera":"cam0","pid":1234,"recording":true,
 *    "event":"20261201T051234.125Z-cam0","events":12,"bytes":123456789,
 *    "free_bytes":987654321,"total_bytes":4000000000,
 *    "frames":5432,"frames_missed":0,"camera_online":true,
 *    "last_error":"no space left ...","last_error_time":1764565954.125,
 *    "updated":1764565960.500}
 *
 * "event" and "last_error"/"last_error_time" are null when there is none.
 * With notifications configured, "notify" holds their counters
 * (notify_stats_json in notify.h); the key is absent otherwise.
 * A reader tells a dead recorder by "updated" getting old.
 */
#ifndef VIGIL_STATUS_H
#define VIGIL_STATUS_H

#include <stdint.h>

#define STATUS_ERROR_MAX 200

struct status {
	const char *camera;
	int recording;
	const char *event; /* NULL when not recording */
	unsigned events;
	uint64_t bytes;
	uint64_t free_bytes, total_bytes;
	uint64_t frames; /* frames written since start */
	uint64_t frames_missed; /* ring frames the recorder did not see */
	int camera_online;
	char last_error[STATUS_ERROR_MAX]; /* "" when none */
	int64_t last_error_ns; /* CLOCK_REALTIME */
	const char *notify; /* a JSON object (notify.h), NULL: none */
};

/* Writes STORE_STATE_NAME in dirfd atomically (rename), stamped with now_ns;
 * not synced: it is rebuilt by every run.  -1 with errno. */
int status_write(int dirfd, const struct status *st, int64_t now_ns);

#endif
