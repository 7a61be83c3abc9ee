/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of recorder/notify*.c: the Home Assistant discovery messages
 * against the keys Home Assistant's documentation requires, the event JSON,
 * the webhook signature (RFC 4231 vectors), the broker URL, the options and
 * the bounded queue.
 */
#include "test.h"

#include <stdlib.h>
#include <string.h>

#include "notify.h"
#include "notify_hass.h"
#include "notify_mqtt.h"
#include "notify_queue.h"
#include "notify_webhook.h"

/* 1 when payload holds "key": at the top level or in the device object (a
 * flat check is enough: our keys are unique within a message). */
static int has_key(const char *payload, const char *key)
{
	char pat[64];

	snprintf(pat, sizeof(pat), "\"%s\":", key);
	return strstr(payload, pat) != NULL;
}

static int has_pair(const char *payload, const char *key, const char *value)
{
	char pat[256];

	snprintf(pat, sizeof(pat), "\"%s\":\"%s\"", key, value);
	return strstr(payload, pat) != NULL;
}

/*
 * What Home Assistant's documentation requires, per page:
 * - MQTT discovery (https://www.home-assistant.io/integrations/mqtt/
 *   #mqtt-discovery): topic <discovery_prefix>/<component>/[<node_id>/]
 *   <object_id>/config; a "device" needs at least one of "identifiers" or
 *   "connections"; "unique_id" is needed for the entity to join a device.
 * - MQTT binary sensor (https://www.home-assistant.io/integrations/
 *   binary_sensor.mqtt/): "state_topic" is required.
 * - MQTT image (https://www.home-assistant.io/integrations/image.mqtt/):
 *   one of "image_topic" or "url_topic" is required ("content_type" applies
 *   to image_topic).
 * - MQTT sensor (https://www.home-assistant.io/integrations/sensor.mqtt/):
 *   "state_topic" is required; a "timestamp" device class needs an ISO 8601
 *   state with a zone (our value_template makes it).
 * Availability (the "availability_topic" key, same pages) is ours to give.
 */
struct required {
	const char *component;
	const char *keys[6];
};

static const struct required required[NOTIFY_HASS_MESSAGES] = {
	{"binary_sensor", {"state_topic", "unique_id", "device", NULL}},
	{"image", {"image_topic", "content_type", "unique_id", "device", NULL}},
	{"sensor",
	 {"state_topic", "unique_id", "device", "value_template", NULL}},
};

static void test_hass_messages(void **state)
{
	struct notify_hass h = {"homeassistant", "vigil", "cam0", "1.2.3",
				"https://cam.example"};
	char topic[NOTIFY_HASS_TOPIC_MAX], payload[NOTIFY_HASS_PAYLOAD_MAX];
	char want[128];
	unsigned i, k;

	(void)state;
	for (i = 0; i < NOTIFY_HASS_MESSAGES; i++) {
		assert_int_equal(notify_hass_message(&h, i, topic,
						     sizeof(topic), payload,
						     sizeof(payload)),
				 0);
		snprintf(want, sizeof(want), "homeassistant/%s/vigil_cam0/",
			 required[i].component);
		assert_memory_equal(topic, want, strlen(want));
		assert_non_null(strstr(topic, "/config"));
		for (k = 0; required[i].keys[k] != NULL; k++)
			if (!has_key(payload, required[i].keys[k]))
				fail_msg("%s: no \"%s\" in %s",
					 required[i].component,
					 required[i].keys[k], payload);
		/* The device: identifiers (required), the rest we promise. */
		assert_non_null(
			strstr(payload, "\"identifiers\":[\"vigil_cam0\"]"));
		assert_true(has_pair(payload, "manufacturer", "vigil"));
		assert_true(has_pair(payload, "model", "vigil-record"));
		assert_true(has_pair(payload, "sw_version", "1.2.3"));
		assert_true(has_pair(payload, "name", "vigil cam0"));
		assert_true(has_pair(payload, "availability_topic",
				     "vigil/cam0/availability"));
		assert_true(has_pair(payload, "payload_available", "online"));
		assert_true(
			has_pair(payload, "payload_not_available", "offline"));
		assert_true(has_pair(payload, "configuration_url",
				     "https://cam.example"));
	}
	notify_hass_message(&h, 0, topic, sizeof(topic), payload,
			    sizeof(payload));
	assert_true(has_pair(payload, "device_class", "motion"));
	assert_true(has_pair(payload, "state_topic", "vigil/cam0/motion"));
	assert_true(has_pair(payload, "payload_on", "ON"));
	assert_true(has_pair(payload, "payload_off", "OFF"));
	notify_hass_message(&h, 1, topic, sizeof(topic), payload,
			    sizeof(payload));
	assert_true(has_pair(payload, "image_topic", "vigil/cam0/snapshot"));
	assert_true(has_pair(payload, "content_type", "image/jpeg"));
	notify_hass_message(&h, 2, topic, sizeof(topic), payload,
			    sizeof(payload));
	assert_true(has_pair(payload, "device_class", "timestamp"));
	assert_true(has_pair(payload, "state_topic", "vigil/cam0/event"));
	/* Too small a buffer is an error, not a cut message. */
	assert_int_equal(
		notify_hass_message(&h, 0, topic, sizeof(topic), payload, 100),
		-1);
	assert_int_equal(notify_hass_message(&h, NOTIFY_HASS_MESSAGES, topic,
					     sizeof(topic), payload,
					     sizeof(payload)),
			 -1);
}

static void test_event_json(void **state)
{
	struct notify_config c;
	struct notify_event e;
	char buf[NOTIFY_JSON_MAX];

	(void)state;
	notify_config_init(&c);
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "20261201T051234.125Z-cam0");
	snprintf(e.camera, sizeof(e.camera), "cam0");
	e.start_ns = 1764565954125000000LL;
	e.score = 37;
	assert_true(notify_event_json(&c, &e, buf, sizeof(buf)) > 0);
	assert_string_equal(buf, "{\"type\":\"start\",\"id\":"
				 "\"20261201T051234.125Z-cam0\",\"camera\":"
				 "\"cam0\",\"start\":1764565954.125,\"end\":"
				 "null,\"score\":37}");
	e.end = 1;
	e.end_ns = 1764565960500000000LL;
	c.public_url = "https://cam.example/vigil";
	assert_true(notify_event_json(&c, &e, buf, sizeof(buf)) > 0);
	assert_non_null(strstr(buf, "\"type\":\"end\""));
	assert_non_null(strstr(buf, "\"end\":1764565960.500"));
	assert_non_null(strstr(buf,
			       "\"page\":\"https://cam.example/vigil/#events/"
			       "20261201T051234.125Z-cam0\""));
	assert_non_null(
		strstr(buf, "\"thumbnail\":\"https://cam.example/vigil/events/"
			    "20261201T051234.125Z-cam0.jpg\""));
	assert_non_null(strstr(buf,
			       "\"clip\":\"https://cam.example/vigil/events/"
			       "20261201T051234.125Z-cam0/clip\""));
	assert_int_equal(notify_event_json(&c, &e, buf, 40), -1);
}

static void test_signature(void **state)
{
	char sig[NOTIFY_WEBHOOK_SIG_MAX];
	const char *d2 = "what do ya want for nothing?";

	(void)state;
	/* RFC 4231 test case 2. */
	assert_int_equal(notify_webhook_sign("Jefe", 4, d2, strlen(d2), sig),
			 0);
	assert_string_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a003f"
				 "089d2739839dec58b964ec3843");
	/* One changed byte of the body changes the signature. */
	assert_int_equal(notify_webhook_sign("Jefe", 4,
					     "What do ya want for "
					     "nothing?",
					     strlen(d2), sig),
			 0);
	assert_string_not_equal(sig, "sha256=5bdcc146bf60754e6a042426089575c75a"
				     "003f089d2739839dec58b964ec3843");
}

static void test_url(void **state)
{
	char host[64];
	int port, tls;

	(void)state;
	assert_int_equal(notify_mqtt_parse_url("mqtt://broker", host,
					       sizeof(host), &port, &tls),
			 0);
	assert_string_equal(host, "broker");
	assert_int_equal(port, 1883);
	assert_int_equal(tls, 0);
	assert_int_equal(notify_mqtt_parse_url("mqtts://10.0.0.2:8884", host,
					       sizeof(host), &port, &tls),
			 0);
	assert_string_equal(host, "10.0.0.2");
	assert_int_equal(port, 8884);
	assert_int_equal(tls, 1);
	assert_int_equal(notify_mqtt_parse_url("mqtt://[::1]:1884/", host,
					       sizeof(host), &port, &tls),
			 0);
	assert_string_equal(host, "::1");
	assert_int_equal(port, 1884);
	assert_int_equal(notify_mqtt_parse_url("http://broker", host,
					       sizeof(host), &port, &tls),
			 -1);
	assert_int_equal(notify_mqtt_parse_url("mqtt://", host, sizeof(host),
					       &port, &tls),
			 -1);
	assert_int_equal(notify_mqtt_parse_url("mqtt://b:0", host, sizeof(host),
					       &port, &tls),
			 -1);
	assert_int_equal(notify_mqtt_parse_url("mqtt://b:99999", host,
					       sizeof(host), &port, &tls),
			 -1);
	assert_int_equal(notify_mqtt_parse_url("mqtt://u:p@b", host,
					       sizeof(host), &port, &tls),
			 -1);
}

static void test_options(void **state)
{
	struct notify_config c;
	char err[200];

	(void)state;
	notify_config_init(&c);
	assert_string_equal(c.mqtt_prefix, "vigil");
	assert_string_equal(c.discovery_prefix, "homeassistant");
	assert_false(notify_wanted(&c));
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 5, "off",
					     err, sizeof(err)),
			 0);
	assert_null(c.discovery_prefix);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 4, "a\"b",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 4, "home//x",
					     err, sizeof(err)),
			 -1);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 4,
					     "home/cams", err, sizeof(err)),
			 0);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 12,
					     "https://x/", err, sizeof(err)),
			 -1);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 12,
					     "https://x/\"", err, sizeof(err)),
			 -1);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 11, "0", err,
					     sizeof(err)),
			 -1);
	assert_int_equal(notify_parse_option(&c, NOTIFY_OPT_BASE + 6,
					     "https://h/x", err, sizeof(err)),
			 0);
	assert_true(notify_wanted(&c));
}

static int freed;

static void count_free(void *p)
{
	freed++;
	free(p);
}

static void test_queue(void **state)
{
	struct notify_queue *q = notify_queue_create(3, count_free);
	int i, *p;

	(void)state;
	assert_non_null(q);
	freed = 0;
	for (i = 0; i < 5; i++) {
		p = malloc(sizeof(*p));
		assert_non_null(p);
		*p = i;
		notify_queue_push(q, p);
	}
	/* Oldest dropped: 2, 3, 4 are left. */
	assert_int_equal(notify_queue_dropped(q), 2);
	assert_int_equal(freed, 2);
	assert_int_equal(notify_queue_length(q), 3);
	p = notify_queue_pop(q, 0);
	assert_int_equal(*p, 2);
	notify_queue_requeue(q, p);
	p = notify_queue_pop(q, 0);
	assert_int_equal(*p, 2);
	free(p);
	p = notify_queue_pop(q, 0);
	assert_int_equal(*p, 3);
	free(p);
	notify_queue_wake(q);
	assert_int_equal(notify_queue_wait(q, 1000), 0);
	notify_queue_stop(q);
	assert_int_equal(notify_queue_wait(q, 1000), 1);
	p = notify_queue_pop(q, 1000);
	assert_int_equal(*p, 4);
	free(p);
	assert_null(notify_queue_pop(q, 1000));
	notify_queue_destroy(q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hass_messages),
		cmocka_unit_test(test_event_json),
		cmocka_unit_test(test_signature),
		cmocka_unit_test(test_url),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_queue),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
