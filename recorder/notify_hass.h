/* SPDX-License-Identifier: MIT */
/*
 * notify_hass: Home Assistant MQTT discovery messages, written from Home
 * Assistant's documentation of MQTT discovery
 * (https://www.home-assistant.io/integrations/mqtt/#mqtt-discovery) and of
 * the binary_sensor, image and sensor MQTT platforms.  One device per
 * camera with three entities: a motion binary_sensor, an image of the latest
 * event's snapshot and a timestamp sensor of the last event's start, all
 * tied to the availability topic.  Pure formatting, no I/O.
 */
#ifndef VIGIL_NOTIFY_HASS_H
#define VIGIL_NOTIFY_HASS_H

#include <stddef.h>

#define NOTIFY_HASS_MESSAGES 3
#define NOTIFY_HASS_TOPIC_MAX 256
#define NOTIFY_HASS_PAYLOAD_MAX 2048

struct notify_hass {
	const char *discovery_prefix; /* "homeassistant" */
	const char *prefix; /* the state topics' prefix, "vigil" */
	const char *camera;
	const char *version; /* sw_version */
	const char *public_url; /* configuration_url, NULL when none */
};

/*
 * Discovery message i (0 .. NOTIFY_HASS_MESSAGES - 1): its topic
 * "<discovery_prefix>/<component>/vigil_<camera>/<object_id>/config" and
 * its JSON payload.  0, or -1 when a buffer is too small.
 */
int notify_hass_message(const struct notify_hass *h, unsigned i, char *topic,
			size_t topic_size, char *payload, size_t payload_size);

#endif
