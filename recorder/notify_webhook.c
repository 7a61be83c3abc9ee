/* SPDX-License-Identifier: MIT */
/* notify_webhook: signed POSTs of event JSON through libcurl. */
#include "notify_webhook.h"

#include <curl/curl.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify_queue.h"

struct notify_webhook {
	const struct notify_config *c;
	unsigned char secret[NOTIFY_WEBHOOK_SECRET_MAX];
	size_t secret_len;
	struct notify_queue *q;
	pthread_t thread;
	int started;
	atomic_int busy; /* an event is being posted */
	atomic_uint_fast64_t sent, failed;
};

int notify_webhook_sign(const void *key, size_t keylen, const void *body,
			size_t len, char *sig)
{
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int maclen = 0, i;

	if (HMAC(EVP_sha256(), key, (int)keylen, body, len, mac, &maclen) ==
		    NULL ||
	    maclen != 32)
		return -1;
	memcpy(sig, "sha256=", 7);
	for (i = 0; i < maclen; i++)
		snprintf(sig + 7 + 2 * i, 3, "%02x", mac[i]);
	return 0;
}

static int url_ok(const char *u)
{
	if (strncmp(u, "http://", 7) && strncmp(u, "https://", 8))
		return 0;
	return strlen(u) < NOTIFY_URL_MAX &&
	       strcspn(u, " \t\r\n\"") == strlen(u);
}

struct notify_webhook *notify_webhook_create(const struct notify_config *c,
					     char *err, size_t errsize)
{
	struct notify_webhook *w = calloc(1, sizeof(*w));
	unsigned i;
	ssize_t n;
	int fd;

	if (w == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	w->c = c;
	for (i = 0; i < c->nwebhooks; i++)
		if (!url_ok(c->webhooks[i])) {
			snprintf(err, errsize,
				 "bad --webhook '%s': want http:// or https:// "
				 "URL",
				 c->webhooks[i]);
			goto fail;
		}
	if (c->webhook_secret_file == NULL) {
		snprintf(err, errsize, "--webhook needs --webhook-secret-file");
		goto fail;
	}
	fd = open(c->webhook_secret_file, O_RDONLY | O_CLOEXEC);
	n = fd < 0 ? -1 : read(fd, w->secret, sizeof(w->secret));
	if (fd >= 0)
		close(fd);
	if (n < 0 || (size_t)n == sizeof(w->secret)) {
		snprintf(err, errsize,
			 "cannot read --webhook-secret-file '%s': %s",
			 c->webhook_secret_file,
			 n < 0 ? strerror(errno) : "longer than 1023 bytes");
		goto fail;
	}
	while (n > 0 && (w->secret[n - 1] == '\n' || w->secret[n - 1] == '\r'))
		n--;
	if (n == 0) {
		snprintf(err, errsize, "--webhook-secret-file '%s' is empty",
			 c->webhook_secret_file);
		goto fail;
	}
	w->secret_len = (size_t)n;
	w->q = notify_queue_create(NOTIFY_WEBHOOK_QUEUE, free);
	if (w->q == NULL) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	return w;
fail:
	notify_webhook_destroy(w);
	return NULL;
}

static size_t discard(char *p, size_t size, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return size * n;
}

/* One POST; 0 when answered 2xx. */
static int post(struct notify_webhook *w, CURL *curl, const char *url,
		const char *json)
{
	char body[NOTIFY_JSON_MAX + 64], sig[NOTIFY_WEBHOOK_SIG_MAX];
	char hsig[NOTIFY_WEBHOOK_SIG_MAX + 32];
	struct curl_slist *h = NULL, *h2;
	struct timespec ts;
	size_t jl = strlen(json);
	long status = 0;
	CURLcode rc;
	int n;

	if (jl < 2 || json[jl - 1] != '}')
		return -1;
	clock_gettime(CLOCK_REALTIME, &ts);
	n = snprintf(body, sizeof(body), "%.*s,\"timestamp\":%lld.%03ld}",
		     (int)(jl - 1), json, (long long)ts.tv_sec,
		     ts.tv_nsec / 1000000);
	if (n < 0 || (size_t)n >= sizeof(body))
		return -1;
	if (notify_webhook_sign(w->secret, w->secret_len, body, (size_t)n,
				sig) < 0)
		return -1;
	snprintf(hsig, sizeof(hsig), "X-Vigil-Signature: %s", sig);
	h = curl_slist_append(h, "Content-Type: application/json");
	h2 = h ? curl_slist_append(h, hsig) : NULL;
	if (h2 == NULL) {
		curl_slist_free_all(h);
		return -1;
	}
	h = h2;
	curl_easy_reset(curl);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE, (long)n);
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT,
			 (long)NOTIFY_WEBHOOK_CONNECT_S);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT, (long)NOTIFY_WEBHOOK_TOTAL_S);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "vigil-record");
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard);
	if (w->c->webhook_ca != NULL)
		curl_easy_setopt(curl, CURLOPT_CAINFO, w->c->webhook_ca);
	rc = curl_easy_perform(curl);
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(h);
	if (rc != CURLE_OK) {
		log_debug("webhook '%s': %s", url, curl_easy_strerror(rc));
		return -1;
	}
	if (status < 200 || status > 299) {
		log_debug("webhook '%s': HTTP status %ld", url, status);
		return -1;
	}
	return 0;
}

static void *sender(void *arg)
{
	struct notify_webhook *w = arg;
	CURL *curl = curl_easy_init();

	if (curl == NULL) {
		log_warnx("webhook: cannot set up libcurl: webhooks are off");
		return NULL;
	}
	while (!notify_queue_stopped(w->q)) {
		char *json = notify_queue_pop(w->q, 1000);
		unsigned i;

		if (json == NULL)
			continue;
		atomic_store(&w->busy, 1);
		for (i = 0; i < w->c->nwebhooks; i++) {
			const char *url = w->c->webhooks[i];
			int k, delay = NOTIFY_WEBHOOK_BACKOFF_MS, ok = 0;

			for (k = 0; k < NOTIFY_WEBHOOK_TRIES; k++) {
				if (post(w, curl, url, json) == 0) {
					ok = 1;
					break;
				}
				if (k + 1 == NOTIFY_WEBHOOK_TRIES ||
				    notify_queue_wait(w->q, delay))
					break;
				delay *= 2;
			}
			if (ok) {
				atomic_fetch_add(&w->sent, 1);
			} else {
				atomic_fetch_add(&w->failed, 1);
				log_warnx("webhook '%s': no success after %d "
					  "tries; event dropped",
					  url, k + 1);
			}
		}
		free(json);
		atomic_store(&w->busy, 0);
	}
	curl_easy_cleanup(curl);
	return NULL;
}

int notify_webhook_start(struct notify_webhook *w)
{
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		errno = ENOMEM;
		return -1;
	}
	if (pthread_create(&w->thread, NULL, sender, w) != 0)
		return -1;
	w->started = 1;
	return 0;
}

void notify_webhook_event(struct notify_webhook *w, const char *json)
{
	char *j = strdup(json);

	if (j != NULL)
		notify_queue_push(w->q, j);
}

void notify_webhook_stats(struct notify_webhook *w,
			  struct notify_webhook_stats *s)
{
	s->sent = atomic_load(&w->sent);
	s->failed = atomic_load(&w->failed);
	s->dropped = notify_queue_dropped(w->q);
}

void notify_webhook_destroy(struct notify_webhook *w)
{
	if (w == NULL)
		return;
	if (w->started) {
		struct timespec t0, t, pause = {0, 10000000L};

		/* Up to a few seconds for the last event (a shutdown ends
		 * one); a POST under way may take its timeout longer. */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		do {
			if (notify_queue_length(w->q) == 0 &&
			    !atomic_load(&w->busy))
				break;
			nanosleep(&pause, NULL);
			clock_gettime(CLOCK_MONOTONIC, &t);
		} while (t.tv_sec - t0.tv_sec < 3);
		notify_queue_stop(w->q);
		pthread_join(w->thread, NULL);
	}
	notify_queue_destroy(w->q);
	explicit_bzero(w->secret, sizeof(w->secret));
	free(w);
}
