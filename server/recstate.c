/* SPDX-License-Identifier: MIT */
/* recstate: the recorder's state.json, read and rendered. */
#include "recstate.h"

#include <errno.h>
#include <event2/buffer.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define RECSTATE_JSON_DEPTH 4
#define RECSTATE_TIME_MAX 253402300799.0

static struct json_object *get(struct json_object *o, const char *key,
			       enum json_type type)
{
	struct json_object *v = NULL;

	if (!json_object_object_get_ex(o, key, &v) || v == NULL)
		return NULL;
	if (json_object_get_type(v) == type ||
	    (type == json_type_double &&
	     json_object_get_type(v) == json_type_int))
		return v;
	return NULL;
}

static uint64_t get_u64(struct json_object *o, const char *key)
{
	struct json_object *v = get(o, key, json_type_int);
	int64_t i = v ? json_object_get_int64(v) : 0;

	return i > 0 ? (uint64_t)i : 0;
}

static int get_time(struct json_object *o, const char *key, int64_t *ms)
{
	struct json_object *v = get(o, key, json_type_double);
	double d = v ? json_object_get_double(v) : -1.0;

	if (!isfinite(d) || d < 0 || d > RECSTATE_TIME_MAX)
		return -1;
	*ms = (int64_t)llround(d * 1000.0);
	return 0;
}

/* Printable ASCII only, no quote or backslash: safe in JSON and in a
 * Prometheus label as it is. */
static void copy_clean(char *dst, size_t size, const char *src)
{
	size_t i;

	for (i = 0; i + 1 < size && src[i] != '\0'; i++)
		dst[i] = (src[i] >= ' ' && src[i] <= '~' && src[i] != '"' &&
			  src[i] != '\\')
				 ? src[i]
				 : '?';
	dst[i] = '\0';
}

static int parse(struct json_object *o, struct recstate *rs)
{
	struct json_object *v;

	if (json_object_get_type(o) != json_type_object ||
	    get_time(o, "updated", &rs->updated_ms) < 0)
		return -1;
	v = get(o, "recording", json_type_boolean);
	rs->recording = v ? json_object_get_boolean(v) : 0;
	v = get(o, "event", json_type_string);
	if (v != NULL && recdir_id_valid(json_object_get_string(v)))
		snprintf(rs->event, sizeof(rs->event), "%s",
			 json_object_get_string(v));
	rs->events = get_u64(o, "events");
	rs->bytes = get_u64(o, "bytes");
	rs->free_bytes = get_u64(o, "free_bytes");
	rs->total_bytes = get_u64(o, "total_bytes");
	rs->frames = get_u64(o, "frames");
	rs->frames_missed = get_u64(o, "frames_missed");
	v = get(o, "camera_online", json_type_boolean);
	rs->camera_online = v ? json_object_get_boolean(v) : 0;
	v = get(o, "notify", json_type_object);
	if (v != NULL) {
		struct json_object *m = get(v, "mqtt", json_type_string);

		rs->notify_present = 1;
		copy_clean(rs->mqtt, sizeof(rs->mqtt),
			   m ? json_object_get_string(m) : "off");
		rs->mqtt_sent = get_u64(v, "mqtt_sent");
		rs->mqtt_dropped = get_u64(v, "mqtt_dropped");
		rs->webhook_sent = get_u64(v, "webhook_sent");
		rs->webhook_failed = get_u64(v, "webhook_failed");
		rs->webhook_dropped = get_u64(v, "webhook_dropped");
		rs->hooks_run = get_u64(v, "hooks_run");
		rs->hooks_failed = get_u64(v, "hooks_failed");
		rs->hooks_killed = get_u64(v, "hooks_killed");
		rs->hooks_skipped = get_u64(v, "hooks_skipped");
	}
	v = get(o, "last_error", json_type_string);
	if (v != NULL) {
		copy_clean(rs->last_error, sizeof(rs->last_error),
			   json_object_get_string(v));
		if (get_time(o, "last_error_time", &rs->last_error_ms) < 0)
			rs->last_error_ms = 0;
	}
	return 0;
}

void recstate_read(int dirfd, int64_t now_ms, struct recstate *rs)
{
	char *buf = malloc(RECSTATE_JSON_MAX);
	struct json_tokener *tok = json_tokener_new_ex(RECSTATE_JSON_DEPTH);
	struct json_object *o = NULL;
	long len;

	memset(rs, 0, sizeof(*rs));
	if (buf == NULL || tok == NULL)
		goto done;
	len = recdir_read(dirfd, RECDIR_STATE_NAME, buf, RECSTATE_JSON_MAX);
	if (len < 0) {
		log_debug("cannot read '" RECDIR_STATE_NAME "': %s",
			  strerror(errno));
		goto done;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o == NULL || json_tokener_get_error(tok) != json_tokener_success ||
	    parse(o, rs) < 0) {
		log_debug("'" RECDIR_STATE_NAME "' is not valid");
		memset(rs, 0, sizeof(*rs));
		goto done;
	}
	rs->present = 1;
	rs->age_ms = now_ms - rs->updated_ms;
done:
	json_object_put(o);
	if (tok != NULL)
		json_tokener_free(tok);
	free(buf);
}

const char *recstate_problem(const struct recstate *rs, char *buf,
			     unsigned size)
{
	if (!rs->present) {
		snprintf(
			buf, size,
			"recorder: not recording: no valid " RECDIR_STATE_NAME);
		return buf;
	}
	if (rs->age_ms > RECSTATE_STALE_S * 1000) {
		snprintf(
			buf, size,
			"recorder: not recording: state not updated for %" PRId64
			" s",
			rs->age_ms / 1000);
		return buf;
	}
	if (strncmp(rs->last_error, "cannot write", 12) == 0 &&
	    rs->last_error_ms > 0 &&
	    rs->updated_ms - rs->last_error_ms <
		    RECSTATE_ERROR_RECENT_S * 1000) {
		snprintf(buf, size, "recorder: %s", rs->last_error);
		return buf;
	}
	return NULL;
}

static void put_ms(struct evbuffer *b, const char *key, int64_t ms, int has)
{
	if (has && ms >= 0)
		evbuffer_add_printf(b, ",\"%s\":%" PRId64 ".%03" PRId64, key,
				    ms / 1000, ms % 1000);
	else
		evbuffer_add_printf(b, ",\"%s\":null", key);
}

int recstate_render_json(struct evbuffer *b, const struct recstate *rs)
{
	char why[RECSTATE_ERROR_MAX + 64];
	const char *problem = recstate_problem(rs, why, sizeof(why));

	if (evbuffer_add_printf(b, "{\"ok\":%s,\"problem\":%s%s%s",
				problem ? "false" : "true", problem ? "\"" : "",
				problem ? problem : "null",
				problem ? "\"" : "") < 0)
		return -1;
	if (!rs->present)
		return evbuffer_add_printf(b, ",\"present\":false}") < 0 ? -1
									 : 0;
	evbuffer_add_printf(
		b,
		",\"present\":true,\"recording\":%s,\"event\":%s%s%s,"
		"\"events\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"free_bytes\":%" PRIu64 ",\"total_bytes\":%" PRIu64
		",\"frames\":%" PRIu64 ",\"frames_missed\":%" PRIu64
		",\"camera_online\":%s,\"last_error\":%s%s%s",
		rs->recording ? "true" : "false", rs->event[0] ? "\"" : "",
		rs->event[0] ? rs->event : "null", rs->event[0] ? "\"" : "",
		rs->events, rs->bytes, rs->free_bytes, rs->total_bytes,
		rs->frames, rs->frames_missed,
		rs->camera_online ? "true" : "false",
		rs->last_error[0] ? "\"" : "",
		rs->last_error[0] ? rs->last_error : "null",
		rs->last_error[0] ? "\"" : "");
	put_ms(b, "last_error_time", rs->last_error_ms, rs->last_error_ms > 0);
	put_ms(b, "updated", rs->updated_ms, 1);
	if (rs->notify_present)
		evbuffer_add_printf(
			b,
			",\"notify\":{\"mqtt\":\"%s\",\"mqtt_sent\":%" PRIu64
			",\"mqtt_dropped\":%" PRIu64
			",\"webhook_sent\":%" PRIu64
			",\"webhook_failed\":%" PRIu64
			",\"webhook_dropped\":%" PRIu64
			",\"hooks_run\":%" PRIu64 ",\"hooks_failed\":%" PRIu64
			",\"hooks_killed\":%" PRIu64
			",\"hooks_skipped\":%" PRIu64 "}",
			rs->mqtt, rs->mqtt_sent, rs->mqtt_dropped,
			rs->webhook_sent, rs->webhook_failed,
			rs->webhook_dropped, rs->hooks_run, rs->hooks_failed,
			rs->hooks_killed, rs->hooks_skipped);
	return evbuffer_add_printf(b, ",\"age_ms\":%" PRId64 "}", rs->age_ms) <
			       0
		       ? -1
		       : 0;
}

static int gauge(struct evbuffer *b, const char *name, const char *help,
		 const char *fmt_value)
{
	return evbuffer_add_printf(b, "# HELP %s %s\n# TYPE %s gauge\n%s %s\n",
				   name, help, name, name, fmt_value) < 0
		       ? -1
		       : 0;
}

static int gauge_u(struct evbuffer *b, const char *name, const char *help,
		   uint64_t v)
{
	char s[32];

	snprintf(s, sizeof(s), "%" PRIu64, v);
	return gauge(b, name, help, s);
}

static int counter(struct evbuffer *b, const char *name, const char *help,
		   uint64_t v)
{
	return evbuffer_add_printf(
		       b, "# HELP %s %s\n# TYPE %s counter\n%s %" PRIu64 "\n",
		       name, help, name, name, v) < 0
		       ? -1
		       : 0;
}

/* The notifications' gauges and counters (the recorder's own counts since
 * it started). */
static int render_notify(struct evbuffer *b, const struct recstate *rs)
{
	int rc = 0;

	rc |= gauge_u(b, "vigil_notify_mqtt_connected",
		      "1 while the recorder is connected to the MQTT broker.",
		      strcmp(rs->mqtt, "connected") == 0);
	rc |= counter(b, "vigil_notify_mqtt_sent_total",
		      "MQTT messages the broker took.", rs->mqtt_sent);
	rc |= counter(b, "vigil_notify_mqtt_dropped_total",
		      "MQTT messages dropped (queue full).", rs->mqtt_dropped);
	rc |= counter(b, "vigil_notify_webhook_sent_total",
		      "Webhook calls a receiver accepted.", rs->webhook_sent);
	rc |= counter(b, "vigil_notify_webhook_failed_total",
		      "Webhook calls that failed after their retries.",
		      rs->webhook_failed);
	rc |= counter(b, "vigil_notify_webhook_dropped_total",
		      "Webhook calls dropped (queue full).",
		      rs->webhook_dropped);
	rc |= counter(b, "vigil_notify_hooks_run_total", "Event hooks run.",
		      rs->hooks_run);
	rc |= counter(b, "vigil_notify_hooks_failed_total",
		      "Event hooks that exited with an error.",
		      rs->hooks_failed);
	rc |= counter(b, "vigil_notify_hooks_killed_total",
		      "Event hooks killed at their time limit.",
		      rs->hooks_killed);
	rc |= counter(b, "vigil_notify_hooks_skipped_total",
		      "Event hooks skipped while the previous one ran.",
		      rs->hooks_skipped);
	return rc;
}

int recstate_render_metrics(struct evbuffer *b, const struct recstate *rs)
{
	char why[RECSTATE_ERROR_MAX + 64], s[48];
	int rc = 0;

	rc |= gauge_u(b, "vigil_recorder_up",
		      "1 when the recorder updates its state and can write.",
		      recstate_problem(rs, why, sizeof(why)) == NULL);
	rc |= gauge_u(b, "vigil_recorder_state_present",
		      "1 when state.json was read and valid.", rs->present);
	snprintf(s, sizeof(s), "%.3f",
		 rs->present ? (double)rs->age_ms / 1000.0 : -1.0);
	rc |= gauge(b, "vigil_recorder_state_age_seconds",
		    "Age of the recorder's state.json (-1: none).", s);
	rc |= gauge_u(b, "vigil_recorder_recording",
		      "1 while an event is being recorded.", rs->recording);
	rc |= gauge_u(b, "vigil_recorder_events", "Events stored.", rs->events);
	rc |= gauge_u(b, "vigil_recorder_bytes", "Bytes of events stored.",
		      rs->bytes);
	rc |= gauge_u(b, "vigil_recorder_free_bytes",
		      "Free bytes on the recordings' filesystem.",
		      rs->free_bytes);
	rc |= gauge_u(b, "vigil_recorder_total_bytes",
		      "Size of the recordings' filesystem.", rs->total_bytes);
	rc |= gauge_u(b, "vigil_recorder_frames",
		      "Frames the recorder wrote since it started.",
		      rs->frames);
	rc |= gauge_u(b, "vigil_recorder_frames_missed",
		      "Ring frames the recorder did not see.",
		      rs->frames_missed);
	snprintf(s, sizeof(s), "%.3f",
		 rs->last_error_ms > 0 ? (double)rs->last_error_ms / 1000.0
				       : 0.0);
	rc |= gauge(b, "vigil_recorder_last_error_time_seconds",
		    "When the recorder's last error happened (0: none).", s);
	rc |= evbuffer_add_printf(
		      b,
		      "# HELP vigil_recorder_last_error The recorder's last error (1, in the label).\n"
		      "# TYPE vigil_recorder_last_error gauge\n"
		      "vigil_recorder_last_error{error=\"%s\"} %d\n",
		      rs->last_error, rs->last_error[0] ? 1 : 0) < 0;
	if (rs->notify_present)
		rc |= render_notify(b, rs);
	return rc ? -1 : 0;
}
