/* SPDX-License-Identifier: MIT */
/* notify_hass: Home Assistant MQTT discovery config messages. */
#include "notify_hass.h"

#include <stdio.h>

static const char *const components[NOTIFY_HASS_MESSAGES] = {"binary_sensor",
							     "image", "sensor"};
static const char *const object_ids[NOTIFY_HASS_MESSAGES] = {
	"motion", "snapshot", "last_event"};
static const char *const names[NOTIFY_HASS_MESSAGES] = {
	"Motion", "Last event snapshot", "Last event"};

/*
 * binary_sensor: state_topic is what the MQTT binary sensor reads; ON/OFF
 * are our payloads.  image: image_topic carries the JPEG bytes themselves.
 * sensor: a timestamp sensor needs an ISO 8601 time with a zone, made from
 * the event JSON's "start" (seconds since the epoch) in UTC.
 */
static int fields(char *buf, size_t size, unsigned i, const char *prefix,
		  const char *camera)
{
	switch (i) {
	case 0:
		return snprintf(buf, size,
				"\"device_class\":\"motion\","
				"\"state_topic\":\"%s/%s/motion\","
				"\"payload_on\":\"ON\",\"payload_off\":\"OFF\"",
				prefix, camera);
	case 1:
		return snprintf(buf, size,
				"\"image_topic\":\"%s/%s/snapshot\","
				"\"content_type\":\"image/jpeg\"",
				prefix, camera);
	default:
		return snprintf(
			buf, size,
			"\"device_class\":\"timestamp\","
			"\"state_topic\":\"%s/%s/event\","
			"\"value_template\":\"{{ value_json.start | "
			"timestamp_custom('%%Y-%%m-%%dT%%H:%%M:%%S+00:00', "
			"false) }}\",\"json_attributes_topic\":\"%s/%s/event\"",
			prefix, camera, prefix, camera);
	}
}

int notify_hass_message(const struct notify_hass *h, unsigned i, char *topic,
			size_t topic_size, char *payload, size_t payload_size)
{
	char f[1024], url[600] = "";
	int n;

	if (i >= NOTIFY_HASS_MESSAGES)
		return -1;
	n = snprintf(topic, topic_size, "%s/%s/vigil_%s/%s/config",
		     h->discovery_prefix, components[i], h->camera,
		     object_ids[i]);
	if (n < 0 || (size_t)n >= topic_size)
		return -1;
	n = fields(f, sizeof(f), i, h->prefix, h->camera);
	if (n < 0 || (size_t)n >= sizeof(f))
		return -1;
	if (h->public_url != NULL && h->public_url[0] != '\0') {
		n = snprintf(url, sizeof(url), ",\"configuration_url\":\"%s\"",
			     h->public_url);
		if (n < 0 || (size_t)n >= sizeof(url))
			return -1;
	}
	n = snprintf(payload, payload_size,
		     "{\"name\":\"%s\",\"unique_id\":\"vigil_%s_%s\",%s,"
		     "\"availability_topic\":\"%s/%s/availability\","
		     "\"payload_available\":\"online\","
		     "\"payload_not_available\":\"offline\","
		     "\"device\":{\"identifiers\":[\"vigil_%s\"],"
		     "\"name\":\"vigil %s\",\"manufacturer\":\"vigil\","
		     "\"model\":\"vigil-record\",\"sw_version\":\"%s\"%s}}",
		     names[i], h->camera, object_ids[i], f, h->prefix,
		     h->camera, h->camera, h->camera, h->version, url);
	if (n < 0 || (size_t)n >= payload_size)
		return -1;
	return 0;
}
