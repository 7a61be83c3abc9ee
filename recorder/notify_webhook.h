/* SPDX-License-Identifier: MIT */
/*
 * notify_webhook: POSTs each event's JSON to every --webhook URL (libcurl,
 * HTTP or HTTPS) from a thread of its own.  The body is the event JSON with
 * a "timestamp" (seconds since the epoch when sent, against replays); the
 * header "X-Vigil-Signature: sha256=<hex>" is the HMAC-SHA256 of the exact
 * body bytes keyed with the --webhook-secret-file's content.  A failed POST
 * (no answer, or a status outside 2xx) is tried again after 1, 2 and 4 s,
 * then dropped and counted.
 */
#ifndef VIGIL_NOTIFY_WEBHOOK_H
#define VIGIL_NOTIFY_WEBHOOK_H

#include <stddef.h>
#include <stdint.h>

#include "notify.h"

#define NOTIFY_WEBHOOK_QUEUE 64
#define NOTIFY_WEBHOOK_TRIES 4 /* one try and three retries */
#define NOTIFY_WEBHOOK_BACKOFF_MS 1000 /* doubled after each retry */
#define NOTIFY_WEBHOOK_CONNECT_S 5
#define NOTIFY_WEBHOOK_TOTAL_S 10
#define NOTIFY_WEBHOOK_SECRET_MAX 1024
#define NOTIFY_WEBHOOK_SIG_MAX 80 /* "sha256=" + 64 hex digits + NUL */

struct notify_webhook;

/* Checks the URLs, reads the secret file.  NULL with a reason in err. */
struct notify_webhook *notify_webhook_create(const struct notify_config *c,
					     char *err, size_t errsize);
int notify_webhook_start(struct notify_webhook *w);

/* Queues an event's JSON (copied). */
void notify_webhook_event(struct notify_webhook *w, const char *json);

struct notify_webhook_stats {
	uint64_t sent; /* POSTs answered 2xx */
	uint64_t failed; /* POSTs given up after every try */
	uint64_t dropped; /* events dropped from a full queue */
};
void notify_webhook_stats(struct notify_webhook *w,
			  struct notify_webhook_stats *s);

/* "sha256=<64 lowercase hex digits>" of HMAC-SHA256(key, body) into sig
 * (NOTIFY_WEBHOOK_SIG_MAX bytes).  -1 on failure. */
int notify_webhook_sign(const void *key, size_t keylen, const void *body,
			size_t len, char *sig);

/* Stops (a POST under way ends at its timeout) and frees; accepts NULL. */
void notify_webhook_destroy(struct notify_webhook *w);

#endif
