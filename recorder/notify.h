/* SPDX-License-Identifier: MIT */
/*
 * notify: tells the owner about motion events, beside recording and never in
 * its way.  The recorder's thread calls notify_event_start/_end; each sender
 * (MQTT with Home Assistant discovery, signed webhooks, event hooks) has its
 * own thread and its own bounded queue, every network call has a timeout,
 * and a sender that is down loses old notifications, never a frame.
 * docs/notifications.md describes the topics, the JSON and the signature.
 */
#ifndef VIGIL_NOTIFY_H
#define VIGIL_NOTIFY_H

#include <getopt.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "meta.h"

#define NOTIFY_WEBHOOKS_MAX 8
#define NOTIFY_PATH_MAX 512
#define NOTIFY_URL_MAX 512
#define NOTIFY_JSON_MAX 2048 /* one event's JSON */
#define NOTIFY_STATS_MAX 512 /* the "notify" object of state.json */
#define NOTIFY_HOOK_TIMEOUT_DEFAULT 30
#define NOTIFY_HOOK_TIMEOUT_MAX 3600

struct notify_config {
	const char *camera;
	const char *dir; /* recordings directory, NULL when not recording */
	const char *version; /* sw_version in discovery */
	const char *mqtt_url; /* mqtt://host[:port] or mqtts://... */
	const char *mqtt_user;
	const char *mqtt_password_file;
	const char *mqtt_ca;
	const char *mqtt_prefix; /* default "vigil" */
	const char *discovery_prefix; /* default "homeassistant", NULL: off */
	const char *webhooks[NOTIFY_WEBHOOKS_MAX];
	unsigned nwebhooks;
	const char *webhook_secret_file;
	const char *webhook_ca;
	const char *on_start, *on_end;
	int hook_timeout_s;
	const char *public_url; /* base URL of the page, NULL when none */
};

/* An event as the senders see it: a copy that owns nothing. */
struct notify_event {
	int end; /* 0: it started; 1: it ended */
	char id[META_ID_MAX];
	char camera[META_CAMERA_MAX + 1];
	int64_t start_ns, end_ns; /* CLOCK_REALTIME; end_ns valid when end */
	uint32_t score; /* peak so far, per mille */
	char clip[NOTIFY_PATH_MAX]; /* first clip file, "" when none */
	char thumbnail[NOTIFY_PATH_MAX]; /* "" when none */
};

/* Options, for the daemon's getopt_long table: option values from
 * NOTIFY_OPT_BASE up, handled by notify_parse_option. */
#define NOTIFY_OPT_BASE 0x4e00
/* A table, one option a line (both clang-format versions leave it). */
/* clang-format off */
#define NOTIFY_LONGOPTS \
	{"mqtt", required_argument, NULL, NOTIFY_OPT_BASE + 0}, \
	{"mqtt-user", required_argument, NULL, NOTIFY_OPT_BASE + 1}, \
	{"mqtt-password-file", required_argument, NULL, NOTIFY_OPT_BASE + 2}, \
	{"mqtt-ca", required_argument, NULL, NOTIFY_OPT_BASE + 3}, \
	{"mqtt-prefix", required_argument, NULL, NOTIFY_OPT_BASE + 4}, \
	{"mqtt-discovery-prefix", required_argument, NULL, NOTIFY_OPT_BASE + 5}, \
	{"webhook", required_argument, NULL, NOTIFY_OPT_BASE + 6}, \
	{"webhook-secret-file", required_argument, NULL, NOTIFY_OPT_BASE + 7}, \
	{"webhook-ca", required_argument, NULL, NOTIFY_OPT_BASE + 8}, \
	{"on-event-start", required_argument, NULL, NOTIFY_OPT_BASE + 9}, \
	{"on-event-end", required_argument, NULL, NOTIFY_OPT_BASE + 10}, \
	{"hook-timeout", required_argument, NULL, NOTIFY_OPT_BASE + 11}, \
	{"public-url", required_argument, NULL, NOTIFY_OPT_BASE + 12}
/* clang-format on */
#define NOTIFY_OPT_END (NOTIFY_OPT_BASE + 13)

/* Sets the defaults (camera and dir are the caller's). */
void notify_config_init(struct notify_config *c);

/* One option (ch from NOTIFY_LONGOPTS) into c; -1 with a message in err
 * when arg is not valid.  arg is borrowed for the life of c. */
int notify_parse_option(struct notify_config *c, int ch, const char *arg,
			char *err, size_t errsize);

/* 1 when any notification is configured. */
int notify_wanted(const struct notify_config *c);

/* The options' help text. */
void notify_usage(FILE *f);

struct notify;

/*
 * Reads the secret files and checks the URLs; starts nothing, so that it
 * can run before the privilege drop.  NULL with a reason in err (the
 * secrets never appear in it).  c is borrowed for the life of the notify.
 */
struct notify *notify_create(const struct notify_config *c, char *err,
			     size_t errsize);

/* Starts the senders' threads and the broker connection.  -1 with errno. */
int notify_start(struct notify *n);

/*
 * An event started or ended: m is the event's metadata, jpeg (len bytes,
 * may be NULL) its snapshot (the first motion frame at the start, the peak
 * frame at the end).  Copies what it needs and returns at once; n may be
 * NULL (nothing configured).
 */
void notify_event_start(struct notify *n, const struct meta *m,
			const void *jpeg, size_t len);
void notify_event_end(struct notify *n, const struct meta *m, const void *jpeg,
		      size_t len);

/*
 * The "notify" object of state.json into buf (NUL-terminated):
 *   {"mqtt":"connected"|"disconnected"|"off","mqtt_sent":N,
 *    "mqtt_dropped":N,"webhook_sent":N,"webhook_failed":N,
 *    "webhook_dropped":N,"hooks_run":N,"hooks_failed":N,
 *    "hooks_killed":N,"hooks_skipped":N}
 * Its length, or -1 when it does not fit.
 */
int notify_stats_json(struct notify *n, char *buf, size_t size);

/* The event's JSON (without the webhooks' "timestamp"), see
 * docs/notifications.md.  Its length, or -1 when it does not fit. */
int notify_event_json(const struct notify_config *c,
		      const struct notify_event *e, char *buf, size_t size);

/* Sends what is queued for up to a second or two, says "offline", stops
 * the threads and frees; accepts NULL. */
void notify_destroy(struct notify *n);

#endif
