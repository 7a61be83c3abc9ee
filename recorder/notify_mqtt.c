/* SPDX-License-Identifier: MIT */
/* notify_mqtt: events to an MQTT broker through libmosquitto. */
#include "notify_mqtt.h"

#include <errno.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "notify_hass.h"
#include "notify_queue.h"

#define TOPIC_MAX 256
#define QOS 1

struct job {
	int end;
	char *json;
	void *jpeg;
	size_t len;
	int step; /* publishes done: motion, event, snapshot */
};

struct notify_mqtt {
	const struct notify_config *c;
	char host[256];
	int port, tls;
	char password[NOTIFY_MQTT_PASSWORD_MAX];
	struct mosquitto *mosq;
	struct notify_queue *q;
	pthread_t thread, net_thread;
	int started, net_started;
	atomic_int stopping, net_done;
	atomic_int refused_logged; /* one warning per run of refusals */
	/* libmosquitto's last error line of a try (OpenSSL's reason for a
	 * failed handshake, for example), under net_error_lock: logged by the
	 * network thread, and by the sender's mosquitto_publish when that
	 * writes to the socket itself. */
	pthread_mutex_t net_error_lock;
	char net_error[160];

	atomic_int connected;
	atomic_uint generation; /* connections so far */
	atomic_uint_fast64_t sent;
	atomic_uint_fast64_t inflight; /* published, not yet acknowledged */

	/* The sender thread's own. */
	int motion; /* the state published last */
	void *snapshot; /* the last snapshot, sent again on reconnection */
	size_t snapshot_len;
	char t_motion[TOPIC_MAX], t_event[TOPIC_MAX], t_snapshot[TOPIC_MAX];
	char t_avail[TOPIC_MAX];
};

static int lib_ready;
static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
	lib_ready = mosquitto_lib_init() == MOSQ_ERR_SUCCESS;
}

static void job_free(void *p)
{
	struct job *j = p;

	if (j == NULL)
		return;
	free(j->json);
	free(j->jpeg);
	free(j);
}

int notify_mqtt_parse_url(const char *url, char *host, size_t size, int *port,
			  int *tls)
{
	const char *p, *end, *colon;
	size_t n;
	long v;

	if (strncmp(url, "mqtt://", 7) == 0) {
		*tls = 0;
		*port = 1883;
		p = url + 7;
	} else if (strncmp(url, "mqtts://", 8) == 0) {
		*tls = 1;
		*port = 8883;
		p = url + 8;
	} else {
		return -1;
	}
	if (*p == '[') {
		end = strchr(p, ']');
		if (end == NULL)
			return -1;
		n = (size_t)(end - p - 1);
		p++;
		colon = end[1] == ':' ? end + 1 : NULL;
		if (end[1] != '\0' && end[1] != ':' && strcmp(end + 1, "/"))
			return -1;
	} else {
		colon = strchr(p, ':');
		end = colon ? colon : p + strcspn(p, "/");
		n = (size_t)(end - p);
		if (colon == NULL && *end != '\0' && strcmp(end, "/"))
			return -1;
	}
	if (n == 0 || n >= size)
		return -1;
	memcpy(host, p, n);
	host[n] = '\0';
	if (strcspn(host, " \t\"\\/@?#") != n)
		return -1;
	if (colon != NULL) {
		char *e;

		errno = 0;
		v = strtol(colon + 1, &e, 10);
		if (errno || e == colon + 1 || v < 1 || v > 65535 ||
		    (*e != '\0' && strcmp(e, "/")))
			return -1;
		*port = (int)v;
	}
	return 0;
}

static int read_secret(const char *path, char *buf, size_t size)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, buf, size);
	close(fd);
	if (n < 0)
		return -1;
	if ((size_t)n == size) {
		errno = EFBIG;
		return -1;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r'))
		n--;
	buf[n] = '\0';
	return 0;
}

struct notify_mqtt *notify_mqtt_create(const struct notify_config *c, char *err,
				       size_t errsize)
{
	struct notify_mqtt *m = calloc(1, sizeof(*m));

	if (m == NULL) {
		snprintf(err, errsize, "out of memory");
		return NULL;
	}
	m->c = c;
	pthread_mutex_init(&m->net_error_lock, NULL);
	if (notify_mqtt_parse_url(c->mqtt_url, m->host, sizeof(m->host),
				  &m->port, &m->tls) < 0) {
		snprintf(err, errsize,
			 "bad --mqtt '%s': want mqtt://HOST[:PORT] or "
			 "mqtts://HOST[:PORT]",
			 c->mqtt_url);
		goto fail;
	}
	if (c->mqtt_password_file != NULL &&
	    read_secret(c->mqtt_password_file, m->password,
			sizeof(m->password)) < 0) {
		snprintf(err, errsize,
			 "cannot read --mqtt-password-file '%s': %s",
			 c->mqtt_password_file, strerror(errno));
		goto fail;
	}
	if (c->mqtt_password_file != NULL && c->mqtt_user == NULL) {
		snprintf(err, errsize,
			 "--mqtt-password-file needs --mqtt-user");
		goto fail;
	}
	snprintf(m->t_motion, TOPIC_MAX, "%s/%s/motion", c->mqtt_prefix,
		 c->camera);
	snprintf(m->t_event, TOPIC_MAX, "%s/%s/event", c->mqtt_prefix,
		 c->camera);
	snprintf(m->t_snapshot, TOPIC_MAX, "%s/%s/snapshot", c->mqtt_prefix,
		 c->camera);
	snprintf(m->t_avail, TOPIC_MAX, "%s/%s/availability", c->mqtt_prefix,
		 c->camera);
	m->q = notify_queue_create(NOTIFY_MQTT_QUEUE, job_free);
	if (m->q == NULL) {
		snprintf(err, errsize, "out of memory");
		goto fail;
	}
	return m;
fail:
	notify_mqtt_destroy(m);
	return NULL;
}

/* ------------------------------------------------ libmosquitto's thread */

static void on_connect(struct mosquitto *mosq, void *arg, int rc)
{
	struct notify_mqtt *m = arg;

	(void)mosq;
	if (rc != 0) {
		if (!atomic_exchange(&m->refused_logged, 1))
			log_warnx("mqtt: broker '%s' refused the connection: "
				  "%s; retrying",
				  m->host, mosquitto_connack_string(rc));
		return;
	}
	atomic_store(&m->refused_logged, 0);
	log_info("mqtt: connected to '%s' port %d", m->host, m->port);
	atomic_fetch_add(&m->generation, 1);
	atomic_store(&m->connected, 1);
	notify_queue_wake(m->q);
}

static void on_disconnect(struct mosquitto *mosq, void *arg, int rc)
{
	struct notify_mqtt *m = arg;

	(void)mosq;
	if (atomic_exchange(&m->connected, 0) && rc != 0)
		log_warnx("mqtt: connection to '%s' lost; reconnecting",
			  m->host);
}

/*
 * libmosquitto's log lines arrive on the thread that runs its loop (here the
 * network thread), or on the sender's when mosquitto_publish writes to the
 * socket itself.  Only its errors are kept: the last one says why a try
 * failed (a wrong CA: "certificate verify failed") where the return code
 * says no more than "protocol error".  They never hold the password.
 */
static void on_log(struct mosquitto *mosq, void *arg, int level,
		   const char *line)
{
	struct notify_mqtt *m = arg;

	(void)mosq;
	if (level != MOSQ_LOG_ERR || line == NULL)
		return;
	pthread_mutex_lock(&m->net_error_lock);
	snprintf(m->net_error, sizeof(m->net_error), "%s", line);
	pthread_mutex_unlock(&m->net_error_lock);
}

/* The last error line into buf (empty if none); clear: forget it. */
static void net_error_take(struct notify_mqtt *m, char *buf, size_t size,
			   int clear)
{
	pthread_mutex_lock(&m->net_error_lock);
	if (buf != NULL)
		snprintf(buf, size, "%s", m->net_error);
	if (clear)
		m->net_error[0] = '\0';
	pthread_mutex_unlock(&m->net_error_lock);
}

static void on_publish(struct mosquitto *mosq, void *arg, int mid)
{
	struct notify_mqtt *m = arg;

	(void)mosq;
	(void)mid;
	atomic_fetch_add(&m->sent, 1);
	if (atomic_load(&m->inflight) > 0)
		atomic_fetch_sub(&m->inflight, 1);
}

/* ------------------------------------------------ our sender thread */

static int publish(struct notify_mqtt *m, const char *topic, const void *data,
		   size_t len, int retain)
{
	int rc;

	if (len > (size_t)INT32_MAX)
		return 0; /* never sendable: skip */
	rc = mosquitto_publish(m->mosq, NULL, topic, (int)len, data, QOS,
			       retain);
	if (rc != MOSQ_ERR_SUCCESS) {
		log_debug("mqtt: cannot publish to '%s': %s", topic,
			  mosquitto_strerror(rc));
		return -1;
	}
	atomic_fetch_add(&m->inflight, 1);
	return 0;
}

/* What a new connection (a restarted broker may have lost its retained
 * messages) publishes first. */
static int publish_state(struct notify_mqtt *m)
{
	const struct notify_config *c = m->c;
	char topic[NOTIFY_HASS_TOPIC_MAX], payload[NOTIFY_HASS_PAYLOAD_MAX];
	unsigned i;

	if (c->discovery_prefix != NULL) {
		struct notify_hass h = {
			.discovery_prefix = c->discovery_prefix,
			.prefix = c->mqtt_prefix,
			.camera = c->camera,
			.version = c->version,
			.public_url = c->public_url,
		};

		for (i = 0; i < NOTIFY_HASS_MESSAGES; i++) {
			if (notify_hass_message(&h, i, topic, sizeof(topic),
						payload, sizeof(payload)) < 0)
				continue;
			if (publish(m, topic, payload, strlen(payload), 1) < 0)
				return -1;
		}
	}
	if (publish(m, m->t_avail, "online", 6, 1) < 0 ||
	    publish(m, m->t_motion, m->motion ? "ON" : "OFF", m->motion ? 2 : 3,
		    1) < 0)
		return -1;
	if (m->snapshot != NULL &&
	    publish(m, m->t_snapshot, m->snapshot, m->snapshot_len, 1) < 0)
		return -1;
	return 0;
}

/* The rest of a job's publishes; -1 when the connection failed midway. */
static int publish_job(struct notify_mqtt *m, struct job *j)
{
	if (j->step == 0) {
		if (publish(m, m->t_motion, j->end ? "OFF" : "ON",
			    j->end ? 3 : 2, 1) < 0)
			return -1;
		m->motion = !j->end;
		j->step = 1;
	}
	if (j->step == 1) {
		if (publish(m, m->t_event, j->json, strlen(j->json), 0) < 0)
			return -1;
		j->step = 2;
	}
	if (j->step == 2 && j->jpeg != NULL) {
		if (publish(m, m->t_snapshot, j->jpeg, j->len, 1) < 0)
			return -1;
		free(m->snapshot);
		m->snapshot = j->jpeg;
		m->snapshot_len = j->len;
		j->jpeg = NULL;
	}
	j->step = 3;
	return 0;
}

static void pause_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000,
			      .tv_nsec = (ms % 1000) * 1000000L};

	nanosleep(&ts, NULL);
}

/*
 * Why a try failed, once per run of failures.  Over mqtts, libmosquitto
 * reports a failed handshake as MOSQ_ERR_TLS or (libmosquitto 2.0.21, in
 * Debian 13) as an errno of EPROTO: say TLS, with OpenSSL's reason.
 */
static void warn_failed(struct notify_mqtt *m, int rc, int err)
{
	const char *why = rc == MOSQ_ERR_ERRNO ? strerror(err)
					       : mosquitto_strerror(rc);
	char net_error[sizeof(m->net_error)];
	int tls;

	net_error_take(m, net_error, sizeof(net_error), 0);
	tls = m->tls &&
	      (rc == MOSQ_ERR_TLS || (rc == MOSQ_ERR_ERRNO && err == EPROTO) ||
	       strstr(net_error, "SSL") != NULL);

	if (tls)
		log_warnx("mqtt: no connection to '%s' port %d: TLS handshake "
			  "failed (%s; check --mqtt-ca and the broker's "
			  "certificate); retrying",
			  m->host, m->port,
			  net_error[0] != '\0' ? net_error : why);
	else
		log_warnx("mqtt: no connection to '%s' port %d: %s; retrying",
			  m->host, m->port, why);
}

/*
 * The network thread: libmosquitto's own loop (what mosquitto_loop_start
 * runs), which reconnects with backoff after a lost connection.  It gives
 * up on a first connection refused at once and on TLS errors (a wrong CA,
 * a broker's certificate not yet renewed), so here it is started again,
 * with the same backoff, until shutdown.
 */
static void *network(void *arg)
{
	struct notify_mqtt *m = arg;
	int delay = NOTIFY_MQTT_RECONNECT_MIN, warned = 0;

	while (!atomic_load(&m->stopping)) {
		unsigned gen = atomic_load(&m->generation);
		int rc, err;
		long waited;

		net_error_take(m, NULL, 0, 1);
		rc = mosquitto_connect_async(m->mosq, m->host, m->port,
					     NOTIFY_MQTT_KEEPALIVE);
		err = errno;

		if (rc == MOSQ_ERR_SUCCESS) {
			rc = mosquitto_loop_forever(m->mosq, 1000, 1);
			err = errno;
			atomic_store(&m->connected, 0);
		}
		if (atomic_load(&m->stopping))
			break;
		if (atomic_load(&m->generation) != gen) {
			/* It was up for a while: a new run of tries. */
			delay = NOTIFY_MQTT_RECONNECT_MIN;
			warned = 0;
		}
		if (!warned)
			warn_failed(m, rc, err);
		warned = 1;
		for (waited = 0;
		     waited < delay * 1000L && !atomic_load(&m->stopping);
		     waited += 50)
			pause_ms(50);
		if (delay < NOTIFY_MQTT_RECONNECT_MAX)
			delay *= 2;
		if (delay > NOTIFY_MQTT_RECONNECT_MAX)
			delay = NOTIFY_MQTT_RECONNECT_MAX;
	}
	atomic_store(&m->net_done, 1);
	return NULL;
}

static void *sender(void *arg)
{
	struct notify_mqtt *m = arg;
	unsigned seen = 0;

	for (;;) {
		struct job *j;
		unsigned gen;

		if (!atomic_load(&m->connected)) {
			if (notify_queue_wait(m->q, 1000))
				break;
			continue;
		}
		gen = atomic_load(&m->generation);
		if (gen != seen) {
			if (publish_state(m) < 0) {
				if (notify_queue_wait(m->q, 200))
					break;
				continue;
			}
			seen = gen;
		}
		j = notify_queue_pop(m->q, 1000);
		if (j == NULL) {
			if (notify_queue_stopped(m->q))
				break;
			continue;
		}
		if (publish_job(m, j) < 0) {
			notify_queue_requeue(m->q, j);
			if (notify_queue_wait(m->q, 200))
				break;
			continue;
		}
		job_free(j);
	}
	return NULL;
}

int notify_mqtt_start(struct notify_mqtt *m)
{
	const struct notify_config *c = m->c;
	char id[64];
	int rc;

	pthread_once(&lib_once, lib_init);
	if (!lib_ready) {
		errno = ENOMEM;
		return -1;
	}
	snprintf(id, sizeof(id), "vigil-record-%s", c->camera);
	m->mosq = mosquitto_new(id, true, m);
	if (m->mosq == NULL)
		return -1;
	mosquitto_int_option(m->mosq, MOSQ_OPT_PROTOCOL_VERSION,
			     MQTT_PROTOCOL_V311);
	mosquitto_connect_callback_set(m->mosq, on_connect);
	mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
	mosquitto_publish_callback_set(m->mosq, on_publish);
	mosquitto_log_callback_set(m->mosq, on_log);
	if (c->mqtt_user != NULL &&
	    mosquitto_username_pw_set(m->mosq, c->mqtt_user,
				      c->mqtt_password_file
					      ? m->password
					      : NULL) != MOSQ_ERR_SUCCESS)
		goto fail;
	/* A crash (or a lost network) shows as offline. */
	if (mosquitto_will_set(m->mosq, m->t_avail, 7, "offline", QOS, true) !=
	    MOSQ_ERR_SUCCESS)
		goto fail;
	if (m->tls) {
		rc = mosquitto_tls_set(m->mosq, c->mqtt_ca,
				       c->mqtt_ca ? NULL : "/etc/ssl/certs",
				       NULL, NULL, NULL);
		if (rc != MOSQ_ERR_SUCCESS) {
			log_warnx("mqtt: cannot set up TLS with CA '%s': %s",
				  c->mqtt_ca ? c->mqtt_ca : "/etc/ssl/certs",
				  mosquitto_strerror(rc));
			errno = EINVAL;
			goto fail;
		}
	}
	mosquitto_reconnect_delay_set(m->mosq, NOTIFY_MQTT_RECONNECT_MIN,
				      NOTIFY_MQTT_RECONNECT_MAX, true);
	if (pthread_create(&m->thread, NULL, sender, m) != 0)
		goto fail;
	m->started = 1;
	/* A broker that is not there yet is fine: it keeps trying. */
	if (pthread_create(&m->net_thread, NULL, network, m) != 0)
		goto fail;
	m->net_started = 1;
	return 0;
fail:
	if (errno == 0)
		errno = EINVAL;
	return -1;
}

void notify_mqtt_event(struct notify_mqtt *m, const struct notify_event *e,
		       const char *json, const void *jpeg, size_t len)
{
	struct job *j = calloc(1, sizeof(*j));

	if (j == NULL)
		return;
	j->end = e->end;
	j->json = strdup(json);
	if (jpeg != NULL && len > 0) {
		j->jpeg = malloc(len);
		if (j->jpeg != NULL) {
			memcpy(j->jpeg, jpeg, len);
			j->len = len;
		}
	}
	if (j->json == NULL) {
		job_free(j);
		return;
	}
	notify_queue_push(m->q, j);
}

void notify_mqtt_stats(struct notify_mqtt *m, struct notify_mqtt_stats *s)
{
	s->connected = atomic_load(&m->connected);
	s->sent = atomic_load(&m->sent);
	s->dropped = notify_queue_dropped(m->q);
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void notify_mqtt_destroy(struct notify_mqtt *m)
{
	if (m == NULL)
		return;
	if (m->started) {
		int64_t until = mono_ms() + NOTIFY_MQTT_DRAIN_MS;

		/* Bounded: the final OFF and end message go out when the
		 * broker is there. */
		while (mono_ms() < until && atomic_load(&m->connected) &&
		       (notify_queue_length(m->q) > 0 ||
			atomic_load(&m->inflight) > 0))
			pause_ms(10);
		notify_queue_stop(m->q);
		pthread_join(m->thread, NULL);
		if (atomic_load(&m->connected)) {
			until = mono_ms() + 500;
			atomic_store(&m->inflight, 0);
			if (publish(m, m->t_avail, "offline", 7, 1) == 0)
				while (mono_ms() < until &&
				       atomic_load(&m->inflight) > 0)
					pause_ms(10);
		}
	}
	atomic_store(&m->stopping, 1);
	if (m->mosq != NULL)
		mosquitto_disconnect(m->mosq);
	if (m->net_started) {
		int64_t until = mono_ms() + NOTIFY_MQTT_STOP_MS;

		/* The loop notices the disconnection within its sleep; a
		 * connection attempt stuck in the kernel is cancelled, as
		 * mosquitto_loop_stop(force) would. */
		while (!atomic_load(&m->net_done) && mono_ms() < until)
			pause_ms(10);
		if (!atomic_load(&m->net_done))
			pthread_cancel(m->net_thread);
		pthread_join(m->net_thread, NULL);
	}
	if (m->mosq != NULL)
		mosquitto_destroy(m->mosq);
	notify_queue_destroy(m->q);
	free(m->snapshot);
	explicit_bzero(m->password, sizeof(m->password));
	pthread_mutex_destroy(&m->net_error_lock);
	free(m);
}
