/* SPDX-License-Identifier: MIT */
/* notify: options, the event JSON and the fan-out to the senders. */
#include "notify.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "notify_hook.h"
#include "notify_mqtt.h"
#include "notify_webhook.h"
#include "parse.h"

struct notify {
	const struct notify_config *c;
	struct notify_mqtt *mqtt;
	struct notify_webhook *webhook;
	struct notify_hook *on_start, *on_end;
};

void notify_config_init(struct notify_config *c)
{
	memset(c, 0, sizeof(*c));
	c->mqtt_prefix = "vigil";
	c->discovery_prefix = "homeassistant";
	c->hook_timeout_s = NOTIFY_HOOK_TIMEOUT_DEFAULT;
}

/* Topic prefixes: levels of [A-Za-z0-9_-] separated by single slashes. */
static int prefix_ok(const char *p)
{
	size_t i, n = strlen(p);

	if (n == 0 || n > 64 || p[0] == '/' || p[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++) {
		char ch = p[i];

		if (ch == '/' && p[i + 1] == '/')
			return 0;
		if (!(ch == '/' || ch == '_' || ch == '-' ||
		      (ch >= '0' && ch <= '9') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= 'A' && ch <= 'Z')))
			return 0;
	}
	return 1;
}

/* A base URL goes into JSON and HTML as it is: no quotes, spaces or
 * control characters, no trailing slash. */
static int public_url_ok(const char *u)
{
	size_t i, n = strlen(u);

	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
		return 0;
	if (n >= NOTIFY_URL_MAX - 100 || u[n - 1] == '/')
		return 0;
	for (i = 0; i < n; i++)
		if ((unsigned char)u[i] <= ' ' || u[i] == '"' || u[i] == '\\' ||
		    u[i] == '<' || u[i] == '>' || (unsigned char)u[i] >= 0x7f)
			return 0;
	return 1;
}

int notify_parse_option(struct notify_config *c, int ch, const char *arg,
			char *err, size_t errsize)
{
	long v;

	switch (ch - NOTIFY_OPT_BASE) {
	case 0: {
		char host[256];
		int port, tls;

		if (notify_mqtt_parse_url(arg, host, sizeof(host), &port,
					  &tls) < 0) {
			snprintf(err, errsize,
				 "bad --mqtt '%s': want mqtt://HOST[:PORT] or "
				 "mqtts://HOST[:PORT]",
				 arg);
			return -1;
		}
		c->mqtt_url = arg;
		return 0;
	}
	case 1:
		c->mqtt_user = arg;
		return 0;
	case 2:
		c->mqtt_password_file = arg;
		return 0;
	case 3:
		c->mqtt_ca = arg;
		return 0;
	case 4:
		if (!prefix_ok(arg))
			break;
		c->mqtt_prefix = arg;
		return 0;
	case 5:
		if (strcmp(arg, "off") == 0) {
			c->discovery_prefix = NULL;
			return 0;
		}
		if (!prefix_ok(arg))
			break;
		c->discovery_prefix = arg;
		return 0;
	case 6:
		if (c->nwebhooks == NOTIFY_WEBHOOKS_MAX) {
			snprintf(err, errsize, "at most %d --webhook",
				 NOTIFY_WEBHOOKS_MAX);
			return -1;
		}
		c->webhooks[c->nwebhooks++] = arg;
		return 0;
	case 7:
		c->webhook_secret_file = arg;
		return 0;
	case 8:
		c->webhook_ca = arg;
		return 0;
	case 9:
		c->on_start = arg;
		return 0;
	case 10:
		c->on_end = arg;
		return 0;
	case 11:
		if (parse_long(arg, 1, NOTIFY_HOOK_TIMEOUT_MAX, &v, NULL) < 0) {
			snprintf(err, errsize,
				 "bad --hook-timeout '%s': want 1..%d", arg,
				 NOTIFY_HOOK_TIMEOUT_MAX);
			return -1;
		}
		c->hook_timeout_s = (int)v;
		return 0;
	case 12:
		if (!public_url_ok(arg)) {
			snprintf(err, errsize,
				 "bad --public-url '%s': want http(s)://HOST"
				 "[/PATH] without a trailing slash",
				 arg);
			return -1;
		}
		c->public_url = arg;
		return 0;
	default:
		snprintf(err, errsize, "unknown option");
		return -1;
	}
	snprintf(err, errsize,
		 "bad topic prefix '%s': want [A-Za-z0-9_-] levels "
		 "separated by '/'",
		 arg);
	return -1;
}

int notify_wanted(const struct notify_config *c)
{
	return c->mqtt_url != NULL || c->nwebhooks > 0 || c->on_start != NULL ||
	       c->on_end != NULL;
}

void notify_usage(FILE *f)
{
	fprintf(f,
		"Notifications (docs/notifications.md):\n"
		"  --mqtt URL         broker, mqtt://HOST[:PORT] or "
		"mqtts://HOST[:PORT]\n"
		"  --mqtt-user USER   user name at the broker\n"
		"  --mqtt-password-file PATH  the broker password (first line)\n"
		"  --mqtt-ca FILE     CA certificates for mqtts:// (default: "
		"the system's)\n"
		"  --mqtt-prefix P    topic prefix (default vigil)\n"
		"  --mqtt-discovery-prefix P  Home Assistant discovery prefix\n"
		"                     (default homeassistant; off: none)\n"
		"  --webhook URL      POST each event's JSON there "
		"(repeatable, at most %d)\n"
		"  --webhook-secret-file PATH  key of the X-Vigil-Signature "
		"HMAC-SHA256\n"
		"  --webhook-ca FILE  CA certificates for https:// webhooks\n"
		"  --on-event-start PROG, --on-event-end PROG  run PROG (an "
		"absolute path,\n"
		"                     no shell) with the event in VIGIL_* "
		"variables\n"
		"  --hook-timeout SEC time limit of a hook run, 1..%d "
		"(default %d)\n"
		"  --public-url URL   base URL of the page, for links in "
		"messages\n",
		NOTIFY_WEBHOOKS_MAX, NOTIFY_HOOK_TIMEOUT_MAX,
		NOTIFY_HOOK_TIMEOUT_DEFAULT);
}

struct notify *notify_create(const struct notify_config *c, char *err,
			     size_t errsize)
{
	struct notify *n;

	if (!notify_wanted(c)) {
		snprintf(err, errsize, "no notification configured");
		return NULL;
	}
	n = calloc(1, sizeof(*n));
	if (n == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	n->c = c;
	if (c->mqtt_url != NULL) {
		n->mqtt = notify_mqtt_create(c, err, errsize);
		if (n->mqtt == NULL)
			goto fail;
	} else if (c->mqtt_user || c->mqtt_password_file || c->mqtt_ca) {
		snprintf(err, errsize,
			 "--mqtt-user, --mqtt-password-file and "
			 "--mqtt-ca need --mqtt");
		goto fail;
	}
	if (c->nwebhooks > 0) {
		n->webhook = notify_webhook_create(c, err, errsize);
		if (n->webhook == NULL)
			goto fail;
	}
	if (c->on_start != NULL) {
		n->on_start = notify_hook_create("on-event-start", c->on_start,
						 c->hook_timeout_s, err,
						 errsize);
		if (n->on_start == NULL)
			goto fail;
	}
	if (c->on_end != NULL) {
		n->on_end = notify_hook_create("on-event-end", c->on_end,
					       c->hook_timeout_s, err, errsize);
		if (n->on_end == NULL)
			goto fail;
	}
	return n;
fail:
	notify_destroy(n);
	return NULL;
}

int notify_start(struct notify *n)
{
	/* curl_global_init first, while this is the only thread. */
	if (n->webhook != NULL && notify_webhook_start(n->webhook) < 0)
		return -1;
	if (n->mqtt != NULL && notify_mqtt_start(n->mqtt) < 0)
		return -1;
	if (n->on_start != NULL && notify_hook_start(n->on_start) < 0)
		return -1;
	if (n->on_end != NULL && notify_hook_start(n->on_end) < 0)
		return -1;
	return 0;
}

static int fmt_time(char *buf, size_t size, int64_t ns)
{
	int64_t ms = ns / 1000000;

	return snprintf(buf, size, "%" PRId64 ".%03d", ms / 1000,
			(int)(ms % 1000));
}

int notify_event_json(const struct notify_config *c,
		      const struct notify_event *e, char *buf, size_t size)
{
	char start[32], end[32], urls[3 * NOTIFY_URL_MAX + 256] = "";
	int n;

	fmt_time(start, sizeof(start), e->start_ns);
	if (e->end)
		fmt_time(end, sizeof(end), e->end_ns);
	else
		snprintf(end, sizeof(end), "null");
	if (c->public_url != NULL) {
		const char *u = c->public_url;

		n = snprintf(urls, sizeof(urls),
			     ",\"page\":\"%s/#events/%s\","
			     "\"thumbnail\":\"%s/events/%s.jpg\","
			     "\"clip\":\"%s/events/%s/clip\"",
			     u, e->id, u, e->id, u, e->id);
		if (n < 0 || (size_t)n >= sizeof(urls))
			return -1;
	}
	n = snprintf(buf, size,
		     "{\"type\":\"%s\",\"id\":\"%s\",\"camera\":\"%s\","
		     "\"start\":%s,\"end\":%s,\"score\":%u%s}",
		     e->end ? "end" : "start", e->id, e->camera, start, end,
		     (unsigned)e->score, urls);
	if (n < 0 || (size_t)n >= size)
		return -1;
	return n;
}

static void fill(const struct notify *n, struct notify_event *e,
		 const struct meta *m, int end)
{
	const char *dir = n->c->dir;

	memset(e, 0, sizeof(*e));
	e->end = end;
	snprintf(e->id, sizeof(e->id), "%s", m->id);
	snprintf(e->camera, sizeof(e->camera), "%s", m->camera);
	e->start_ns = m->start_ns;
	e->end_ns = m->has_end ? m->end_ns : m->last_ns;
	e->score = m->score;
	if (dir != NULL && m->nfiles > 0)
		snprintf(e->clip, sizeof(e->clip), "%s/%s", dir, m->files[0]);
	if (dir != NULL && m->thumbnail[0] != '\0')
		snprintf(e->thumbnail, sizeof(e->thumbnail), "%s/%s", dir,
			 m->thumbnail);
}

static void dispatch(struct notify *n, const struct meta *m, int end,
		     const void *jpeg, size_t len)
{
	struct notify_event e;
	char json[NOTIFY_JSON_MAX];

	if (n == NULL)
		return;
	fill(n, &e, m, end);
	if (notify_event_json(n->c, &e, json, sizeof(json)) < 0)
		return;
	if (n->mqtt != NULL)
		notify_mqtt_event(n->mqtt, &e, json, jpeg, len);
	if (n->webhook != NULL)
		notify_webhook_event(n->webhook, json);
	if (!end && n->on_start != NULL)
		notify_hook_fire(n->on_start, &e);
	if (end && n->on_end != NULL)
		notify_hook_fire(n->on_end, &e);
}

void notify_event_start(struct notify *n, const struct meta *m,
			const void *jpeg, size_t len)
{
	dispatch(n, m, 0, jpeg, len);
}

void notify_event_end(struct notify *n, const struct meta *m, const void *jpeg,
		      size_t len)
{
	dispatch(n, m, 1, jpeg, len);
}

int notify_stats_json(struct notify *n, char *buf, size_t size)
{
	struct notify_mqtt_stats ms = {0};
	struct notify_webhook_stats ws = {0};
	struct notify_hook_stats hs = {0};
	int len;

	if (n->mqtt != NULL)
		notify_mqtt_stats(n->mqtt, &ms);
	if (n->webhook != NULL)
		notify_webhook_stats(n->webhook, &ws);
	if (n->on_start != NULL)
		notify_hook_stats(n->on_start, &hs);
	if (n->on_end != NULL)
		notify_hook_stats(n->on_end, &hs);
	len = snprintf(buf, size,
		       "{\"mqtt\":\"%s\",\"mqtt_sent\":%" PRIu64
		       ",\"mqtt_dropped\":%" PRIu64 ",\"webhook_sent\":%" PRIu64
		       ",\"webhook_failed\":%" PRIu64
		       ",\"webhook_dropped\":%" PRIu64 ",\"hooks_run\":%" PRIu64
		       ",\"hooks_failed\":%" PRIu64 ",\"hooks_killed\":%" PRIu64
		       ",\"hooks_skipped\":%" PRIu64 "}",
		       n->mqtt == NULL ? "off"
		       : ms.connected  ? "connected"
				       : "disconnected",
		       ms.sent, ms.dropped, ws.sent, ws.failed, ws.dropped,
		       hs.run, hs.failed, hs.killed, hs.skipped);
	if (len < 0 || (size_t)len >= size)
		return -1;
	return len;
}

void notify_destroy(struct notify *n)
{
	if (n == NULL)
		return;
	notify_hook_destroy(n->on_start);
	notify_hook_destroy(n->on_end);
	notify_webhook_destroy(n->webhook);
	notify_mqtt_destroy(n->mqtt);
	free(n);
}
