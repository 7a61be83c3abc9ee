/* SPDX-License-Identifier: MIT */
/*
 * notify_mqtt: the MQTT sender: a network thread running libmosquitto's loop
 * (reconnection with backoff, started again after the errors it gives up
 * on) and a thread that publishes the queued events, in order, only while
 * connected.  Topics under <prefix>/<camera>/:
 * motion (ON/OFF, retained), event (JSON), snapshot (JPEG, retained) and
 * availability (online/offline, retained, offline also as the broker's last
 * will).  Each new connection publishes the discovery messages, "online",
 * the current motion state and the last snapshot again (retained), so that a
 * broker restarted without its store is whole again.
 */
#ifndef VIGIL_NOTIFY_MQTT_H
#define VIGIL_NOTIFY_MQTT_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

#define NOTIFY_MQTT_QUEUE 64 /* events waiting for the broker */
#define NOTIFY_MQTT_KEEPALIVE 30 /* seconds */
#define NOTIFY_MQTT_RECONNECT_MIN 1 /* backoff between tries, seconds */
#define NOTIFY_MQTT_RECONNECT_MAX 5
#define NOTIFY_MQTT_DRAIN_MS 2000 /* sending what is left at shutdown */
#define NOTIFY_MQTT_STOP_MS 7000 /* the network thread's last sleep */
#define NOTIFY_MQTT_PASSWORD_MAX 256

struct notify_mqtt;

/* Parses the URL, reads the password file; connects nothing.  NULL with a
 * reason in err. */
struct notify_mqtt *notify_mqtt_create(const struct notify_config *c, char *err,
				       size_t errsize);
int notify_mqtt_start(struct notify_mqtt *m);

/* Queues an event: json (NUL-terminated) and the snapshot are copied. */
void notify_mqtt_event(struct notify_mqtt *m, const struct notify_event *e,
		       const char *json, const void *jpeg, size_t len);

struct notify_mqtt_stats {
	int connected;
	uint64_t sent; /* acknowledged by the broker (QoS 1) */
	uint64_t dropped; /* events dropped from a full queue */
};
void notify_mqtt_stats(struct notify_mqtt *m, struct notify_mqtt_stats *s);

/* Parses "mqtt://host[:port]" or "mqtts://host[:port]" ([v6]:port too):
 * host into host (size bytes), *port, *tls.  -1 when not valid. */
int notify_mqtt_parse_url(const char *url, char *host, size_t size, int *port,
			  int *tls);

/* Drains for up to NOTIFY_MQTT_DRAIN_MS, publishes "offline", disconnects
 * and frees; accepts NULL. */
void notify_mqtt_destroy(struct notify_mqtt *m);

#endif
