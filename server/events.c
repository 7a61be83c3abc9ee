/* SPDX-License-Identifier: MIT */
/* events: listing and describing the recorded events (json-c parses). */
#include "events.h"

#include <dirent.h>
#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <json-c/json.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "clipfile.h"
#include "log.h"
#include "playback.h"
#include "reply.h"

#define EVENTS_JSON_DEPTH 8 /* nesting a metadata file may have */
#define EVENTS_TIME_MAX 253402300799.0 /* 9999-12-31T23:59:59Z */
#define EVENTS_PATH_MAX 160 /* longest /events/... path looked at */
#define EVENTS_SPARE 16 /* ids sorted beyond a page, for bad files */

struct events {
	int dirfd;
	struct playback *playback;
	char prefix
		[EVENTS_PREFIX_MAX]; /* of the URLs written: "" or /cam/NAME */
};

/* ------------------------------------------------------------ parsing */

static struct json_object *field(struct json_object *o, const char *key,
				 enum json_type type, int *isnull)
{
	struct json_object *v = NULL;

	if (isnull != NULL)
		*isnull = 0;
	if (!json_object_object_get_ex(o, key, &v))
		return NULL;
	if (v == NULL) {
		if (isnull != NULL)
			*isnull = 1;
		return NULL;
	}
	if (json_object_get_type(v) == type)
		return v;
	if (type == json_type_double &&
	    json_object_get_type(v) == json_type_int)
		return v;
	return NULL;
}

/* Seconds since the epoch (a number) into ms; -1 when absent or bad. */
static int get_time(struct json_object *o, const char *key, int64_t *ms,
		    int *isnull)
{
	struct json_object *v = field(o, key, json_type_double, isnull);
	double d;

	if (v == NULL)
		return -1;
	d = json_object_get_double(v);
	if (!isfinite(d) || d < 0 || d > EVENTS_TIME_MAX)
		return -1;
	*ms = (int64_t)llround(d * 1000.0);
	return 0;
}

static int get_u64(struct json_object *o, const char *key, uint64_t max,
		   uint64_t *out)
{
	struct json_object *v = field(o, key, json_type_int, NULL);
	int64_t i;

	if (v == NULL)
		return -1;
	errno = 0;
	i = json_object_get_int64(v);
	if (errno != 0 || i < 0 || (uint64_t)i > max)
		return -1;
	*out = (uint64_t)i;
	return 0;
}

static int get_str(struct json_object *o, const char *key, char *buf,
		   size_t size)
{
	struct json_object *v = field(o, key, json_type_string, NULL);
	const char *s;

	if (v == NULL || (size_t)json_object_get_string_len(v) >= size)
		return -1;
	s = json_object_get_string(v);
	/* An embedded NUL would make the checks below see a shorter name. */
	if (strlen(s) != (size_t)json_object_get_string_len(v))
		return -1;
	memcpy(buf, s, strlen(s) + 1);
	return 0;
}

static int hex_valid(const char *s, size_t n)
{
	size_t i;

	if (strlen(s) != n)
		return 0;
	for (i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* A clip or thumbnail name of event id: "<id>.<something>". */
static int own_name(const char *id, const char *name)
{
	size_t n = strlen(id);

	return recdir_name_valid(name) && strncmp(name, id, n) == 0 &&
	       name[n] == '.';
}

static int parse_meta(struct json_object *o, const char *id,
		      struct events_meta *m)
{
	struct json_object *files, *v;
	uint64_t u;
	size_t i, n;
	int isnull;

	if (json_object_get_type(o) != json_type_object)
		return -1;
	memset(m, 0, sizeof(*m));
	if (get_str(o, "id", m->id, sizeof(m->id)) < 0 ||
	    strcmp(m->id, id) != 0)
		return -1;
	if (get_str(o, "camera", m->camera, sizeof(m->camera)) < 0 ||
	    strcmp(m->camera, id + RECDIR_ID_STAMP + 1) != 0)
		return -1;
	if (get_time(o, "start", &m->start_ms, NULL) < 0)
		return -1;
	if (get_time(o, "end", &m->end_ms, &isnull) == 0)
		m->has_end = 1;
	else if (!isnull)
		return -1;
	if (get_time(o, "last", &m->last_ms, NULL) == 0)
		m->has_last = 1;
	if (get_u64(o, "frames", UINT64_MAX >> 1, &m->frames) < 0 ||
	    get_u64(o, "bytes", UINT64_MAX >> 1, &m->bytes) < 0 ||
	    get_u64(o, "score", 1000, &u) < 0)
		return -1;
	m->score = (uint32_t)u;
	if ((v = field(o, "interrupted", json_type_boolean, NULL)) == NULL)
		return -1;
	m->interrupted = json_object_get_boolean(v);
	if (get_u64(o, "width", 65535, &u) == 0)
		m->width = (uint32_t)u;
	if (get_u64(o, "height", 65535, &u) == 0)
		m->height = (uint32_t)u;
	if (get_str(o, "grid", m->grid, sizeof(m->grid)) == 0 &&
	    !hex_valid(m->grid, EVENTS_GRID_HEX))
		m->grid[0] = '\0';
	if (get_str(o, "thumbnail", m->thumbnail, sizeof(m->thumbnail)) < 0 ||
	    !own_name(id, m->thumbnail))
		m->thumbnail[0] = '\0';
	files = field(o, "files", json_type_array, NULL);
	n = files ? json_object_array_length(files) : 0;
	if (n > EVENTS_FILES_MAX)
		return -1;
	for (i = 0; i < n; i++) {
		v = json_object_array_get_idx(files, i);
		if (v == NULL || json_object_get_type(v) != json_type_string ||
		    (size_t)json_object_get_string_len(v) >= RECDIR_NAME_MAX ||
		    !own_name(id, json_object_get_string(v)))
			return -1;
		strcpy(m->files[i], json_object_get_string(v));
	}
	m->nfiles = (unsigned)n;
	return 0;
}

int events_load(int dirfd, const char *id, struct events_meta *m)
{
	char name[RECDIR_NAME_MAX];
	struct json_tokener *tok;
	struct json_object *o;
	char *buf;
	long len;
	int rc = -1, err = EINVAL;

	if (!recdir_id_valid(id)) {
		errno = EINVAL;
		return -1;
	}
	snprintf(name, sizeof(name), "%s.json", id);
	buf = malloc(EVENTS_JSON_MAX);
	if (buf == NULL)
		return -1;
	len = recdir_read(dirfd, name, buf, EVENTS_JSON_MAX);
	if (len < 0) {
		err = errno;
		free(buf);
		errno = err;
		return -1;
	}
	tok = json_tokener_new_ex(EVENTS_JSON_DEPTH);
	if (tok == NULL) {
		free(buf);
		errno = ENOMEM;
		return -1;
	}
	o = json_tokener_parse_ex(tok, buf, (int)len);
	if (o != NULL && json_tokener_get_error(tok) == json_tokener_success &&
	    parse_meta(o, id, m) == 0)
		rc = 0;
	json_object_put(o);
	json_tokener_free(tok);
	free(buf);
	if (rc < 0)
		errno = err;
	return rc;
}

/* ------------------------------------------------------------ output */

static void put_time(struct evbuffer *b, const char *key, int64_t ms, int has)
{
	if (has)
		evbuffer_add_printf(b, ",\"%s\":%" PRId64 ".%03" PRId64, key,
				    ms / 1000, ms % 1000);
	else
		evbuffer_add_printf(b, ",\"%s\":null", key);
}

/* Every string written was checked in parse_meta: no escaping needed. */
static void put_event(struct evbuffer *b, const struct events_meta *m,
		      const char *pre)
{
	unsigned i;

	evbuffer_add_printf(b, "{\"id\":\"%s\",\"camera\":\"%s\"", m->id,
			    m->camera);
	put_time(b, "start", m->start_ms, 1);
	put_time(b, "end", m->end_ms, m->has_end);
	put_time(b, "last", m->last_ms, m->has_last);
	evbuffer_add_printf(
		b,
		",\"frames\":%" PRIu64 ",\"bytes\":%" PRIu64
		",\"score\":%" PRIu32 ",\"interrupted\":%s,\"width\":%" PRIu32
		",\"height\":%" PRIu32 ",\"grid\":%s%s%s",
		m->frames, m->bytes, m->score,
		m->interrupted ? "true" : "false", m->width, m->height,
		m->grid[0] ? "\"" : "", m->grid[0] ? m->grid : "null",
		m->grid[0] ? "\"" : "");
	if (m->thumbnail[0])
		evbuffer_add_printf(b, ",\"thumbnail\":\"%s/events/%s.jpg\"",
				    pre, m->id);
	else
		evbuffer_add_printf(b, ",\"thumbnail\":null");
	evbuffer_add_printf(b,
			    ",\"play\":\"%s/events/%s.mjpg\","
			    "\"clip\":\"%s/events/%s/clip\",\"clips\":[",
			    pre, m->id, pre, m->id);
	for (i = 0; i < m->nfiles; i++) {
		if (i == 0)
			evbuffer_add_printf(b, "\"%s/events/%s/clip\"", pre,
					    m->id);
		else
			evbuffer_add_printf(b, ",\"%s/events/%s/clip?part=%u\"",
					    pre, m->id, i);
	}
	evbuffer_add_printf(b, "]}");
}

/* ------------------------------------------------------------ listing */

struct listing {
	char (*ids)[RECDIR_ID_MAX];
	size_t n, cap;
};

static int by_id_desc(const void *a, const void *b)
{
	return strcmp((const char *)b, (const char *)a);
}

static void swap_ids(char (*ids)[RECDIR_ID_MAX], size_t a, size_t b)
{
	char tmp[RECDIR_ID_MAX];

	memcpy(tmp, ids[a], sizeof(tmp));
	memcpy(ids[a], ids[b], sizeof(tmp));
	memcpy(ids[b], tmp, sizeof(tmp));
}

/*
 * Moves the k newest ids (largest) to ids[0..k), in no order, the rest
 * after them (quickselect, Lomuto partition around the middle element):
 * a page needs its few newest sorted, not all ten thousand.
 */
static void select_newest(char (*ids)[RECDIR_ID_MAX], size_t n, size_t k)
{
	size_t lo = 0, hi = n, i, store;

	while (k > lo && k < hi && hi - lo > 1) {
		swap_ids(ids, lo + (hi - lo) / 2, hi - 1);
		for (store = lo, i = lo; i < hi - 1; i++)
			if (strcmp(ids[i], ids[hi - 1]) > 0)
				swap_ids(ids, i, store++);
		swap_ids(ids, store, hi - 1);
		/* ids[lo..store) > pivot = ids[store] >= ids(store..hi) */
		if (store + 1 == k || store == k)
			return;
		if (store > k)
			hi = store;
		else
			lo = store + 1;
	}
}

/* ms since the epoch as an id's time stamp "YYYYMMDDTHHMMSS.mmmZ". */
static int stamp(int64_t ms, char *buf, size_t size)
{
	time_t sec = (time_t)(ms / 1000);
	struct tm tm;

	if (gmtime_r(&sec, &tm) == NULL ||
	    strftime(buf, size, "%Y%m%dT%H%M%S", &tm) != 15)
		return -1;
	snprintf(buf + 15, size - 15, ".%03dZ", (int)(ms % 1000));
	return 0;
}

/* A time argument: seconds since the epoch, decimal, optional fraction. */
static int parse_time_arg(const char *s, int64_t *ms)
{
	char *end;
	double d;

	if (s == NULL || *s == '\0' || strlen(s) > 32 ||
	    strspn(s, "0123456789.") != strlen(s))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < 0 ||
	    d > EVENTS_TIME_MAX)
		return -1;
	*ms = (int64_t)floor(d * 1000.0 + 0.5);
	return 0;
}

static int parse_limit(const char *s, long *out)
{
	long v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 4)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	if (v < 1 || v > EVENTS_LIMIT_MAX)
		return -1;
	*out = v;
	return 0;
}

/* The ids in DIR that pass the filters (before, from, to: NULL for none),
 * unsorted. */
static int scan(int dirfd, const char *before, const char *from, const char *to,
		struct listing *l)
{
	char id[RECDIR_ID_MAX];
	struct dirent *de;
	size_t scanned = 0, len;
	DIR *d;
	int fd = dup(dirfd);

	if (fd < 0)
		return -1;
	d = fdopendir(fd);
	if (d == NULL) {
		close(fd);
		return -1;
	}
	rewinddir(d);
	while ((de = readdir(d)) != NULL && scanned++ < EVENTS_SCAN_MAX) {
		len = strnlen(de->d_name, RECDIR_ID_MAX + 5);
		if (len < 6 || len >= RECDIR_ID_MAX + 5 ||
		    strcmp(de->d_name + len - 5, ".json") != 0)
			continue;
		memcpy(id, de->d_name, len - 5);
		id[len - 5] = '\0';
		if (!recdir_id_valid(id) ||
		    (before != NULL && strcmp(id, before) >= 0) ||
		    (from != NULL && strncmp(id, from, RECDIR_ID_STAMP) < 0) ||
		    (to != NULL && strncmp(id, to, RECDIR_ID_STAMP) > 0))
			continue;
		if (l->n == l->cap) {
			size_t cap = l->cap ? l->cap * 2 : 256;
			void *p = realloc(l->ids, cap * sizeof(*l->ids));

			if (p == NULL) {
				closedir(d);
				return -1;
			}
			l->ids = p;
			l->cap = cap;
		}
		memcpy(l->ids[l->n++], id, len - 4);
	}
	closedir(d);
	return 0;
}

static void list(struct events *ev, struct evhttp_request *req,
		 struct evkeyvalq *q)
{
	const char *before = evhttp_find_header(q, "before");
	const char *from_arg = evhttp_find_header(q, "from");
	const char *to_arg = evhttp_find_header(q, "to");
	const char *limit_arg = evhttp_find_header(q, "limit");
	char from[32], to[32];
	struct listing l = {NULL, 0, 0};
	struct events_meta *m = malloc(sizeof(*m));
	struct evbuffer *b = evbuffer_new();
	long limit = EVENTS_LIMIT_DEFAULT, shown = 0;
	size_t i, last = 0, sorted;
	int64_t ms;

	if (m == NULL || b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto done;
	}
	if (limit_arg != NULL && parse_limit(limit_arg, &limit) < 0) {
		reply_text(req, 400, "bad limit: want 1..500");
		goto done;
	}
	if (before != NULL && !recdir_id_valid(before)) {
		reply_text(req, 400, "bad before: want an event id");
		goto done;
	}
	if (from_arg != NULL && (parse_time_arg(from_arg, &ms) < 0 ||
				 stamp(ms, from, sizeof(from)) < 0)) {
		reply_text(req, 400, "bad from: want seconds since the epoch");
		goto done;
	}
	if (to_arg != NULL && (parse_time_arg(to_arg, &ms) < 0 ||
			       stamp(ms, to, sizeof(to)) < 0)) {
		reply_text(req, 400, "bad to: want seconds since the epoch");
		goto done;
	}
	if (scan(ev->dirfd, before, from_arg ? from : NULL, to_arg ? to : NULL,
		 &l) < 0) {
		log_warn("cannot list the recordings");
		reply_text(req, 500, "cannot list the recordings");
		goto done;
	}
	/* The page and one more (for "next"), plus a few spare in case some
	 * metadata files are bad; all of them sorted if that runs out. */
	sorted = (size_t)limit + 1 + EVENTS_SPARE;
	if (sorted > l.n)
		sorted = l.n;
	if (l.n > 0) {
		select_newest(l.ids, l.n, sorted);
		qsort(l.ids, sorted, sizeof(*l.ids), by_id_desc);
	}
	evbuffer_add_printf(b, "{\"events\":[");
	for (i = 0; i < l.n && shown < limit; i++) {
		if (i == sorted) {
			qsort(l.ids + sorted, l.n - sorted, sizeof(*l.ids),
			      by_id_desc);
			sorted = l.n;
		}
		if (events_load(ev->dirfd, l.ids[i], m) < 0) {
			/* Removed by retention meanwhile, or not valid. */
			log_debug("event '%s' skipped: %s", l.ids[i],
				  strerror(errno));
			continue;
		}
		if (shown++ > 0)
			evbuffer_add(b, ",", 1);
		put_event(b, m, ev->prefix);
		last = i;
	}
	if (shown == limit && i < l.n)
		evbuffer_add_printf(b, "],\"next\":\"%s\"}\n", l.ids[last]);
	else
		evbuffer_add_printf(b, "],\"next\":null}\n");
	reply_send(req, 200, "application/json", REPLY_NO_STORE, b);
done:
	free(l.ids);
	free(m);
	if (b != NULL)
		evbuffer_free(b);
}

/* ------------------------------------------------------------ one event */

static int load_or_reply(struct events *ev, struct evhttp_request *req,
			 const char *id, struct events_meta *m)
{
	if (events_load(ev->dirfd, id, m) == 0)
		return 0;
	if (errno == ENOENT) {
		reply_text(req, 404, "no such event");
	} else {
		log_debug("event '%s' not served: %s", id, strerror(errno));
		reply_text(req, 404, "event not available");
	}
	return -1;
}

static void describe(struct events *ev, struct evhttp_request *req,
		     const char *id)
{
	struct events_meta *m = malloc(sizeof(*m));
	struct evbuffer *b = evbuffer_new();

	if (m == NULL || b == NULL)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else if (load_or_reply(ev, req, id, m) == 0) {
		put_event(b, m, ev->prefix);
		evbuffer_add(b, "\n", 1);
		reply_send(req, 200, "application/json", REPLY_NO_STORE, b);
	}
	free(m);
	if (b != NULL)
		evbuffer_free(b);
}

static void thumbnail(struct events *ev, struct evhttp_request *req,
		      const char *id)
{
	struct events_meta *m = malloc(sizeof(*m));

	if (m == NULL)
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
	else if (load_or_reply(ev, req, id, m) == 0) {
		if (m->thumbnail[0] == '\0')
			reply_text(req, 404, "no thumbnail");
		else
			clipfile_serve(req, ev->dirfd, m->thumbnail,
				       "image/jpeg", NULL);
	}
	free(m);
}

/* ?part=N: 0..EVENTS_FILES_MAX-1, or -1. */
static int parse_part(const char *s)
{
	int v = 0;

	if (s == NULL || *s == '\0' || strlen(s) > 2)
		return -1;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v < EVENTS_FILES_MAX ? v : -1;
}

static void clip(struct events *ev, struct evhttp_request *req, const char *id,
		 struct evkeyvalq *q)
{
	const char *part_arg = evhttp_find_header(q, "part");
	struct events_meta *m;
	int part = 0;

	if (part_arg != NULL && (part = parse_part(part_arg)) < 0) {
		reply_text(req, 400, "bad part: want 0..63");
		return;
	}
	if ((m = malloc(sizeof(*m))) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (load_or_reply(ev, req, id, m) == 0) {
		if ((unsigned)part >= m->nfiles)
			reply_text(req, 404, "no such clip part");
		else
			clipfile_serve(req, ev->dirfd, m->files[part],
				       "video/x-matroska", m->files[part]);
	}
	free(m);
}

/* ------------------------------------------------------------ dispatch */

static int suffix(const char *s, size_t n, const char *suf)
{
	size_t k = strlen(suf);

	return n > k && memcmp(s + n - k, suf, k) == 0;
}

/*
 * A reply larger than libevent's 16 KB per write goes out in several
 * writes; on a kept-alive connection Nagle then holds the last one until
 * the client's delayed ACK (40 ms).  The replies here are complete when
 * queued: send them at once.  (Fails on unix sockets: no Nagle there.)
 */
static void no_delay(struct evhttp_request *req)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(
						  evcon)
					: NULL;
	int one = 1;

	if (bev != NULL)
		(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP,
				 TCP_NODELAY, &one, sizeof(one));
}

int events_handle(struct events *ev, struct evhttp_request *req,
		  const char *path, struct evkeyvalq *query)
{
	char id[RECDIR_ID_MAX];
	const char *rest;
	size_t n, idlen;
	enum { ONE, JPG, MJPG, CLIP } what = ONE;

	if (strcmp(path, "/events") == 0 || strcmp(path, "/events/") == 0) {
		no_delay(req);
		list(ev, req, query);
		return 1;
	}
	if (strncmp(path, "/events/", 8) != 0)
		return 0;
	rest = path + 8;
	n = strnlen(rest, EVENTS_PATH_MAX);
	idlen = n;
	if (suffix(rest, n, ".mjpg")) {
		what = MJPG;
		idlen = n - 5;
	} else if (suffix(rest, n, ".jpg")) {
		what = JPG;
		idlen = n - 4;
	} else if (suffix(rest, n, "/clip")) {
		what = CLIP;
		idlen = n - 5;
	}
	if (n >= EVENTS_PATH_MAX || idlen >= sizeof(id)) {
		reply_text(req, 400, "bad event id");
		return 1;
	}
	memcpy(id, rest, idlen);
	id[idlen] = '\0';
	if (!recdir_id_valid(id)) {
		reply_text(req, 400, "bad event id");
		return 1;
	}
	no_delay(req);
	switch (what) {
	case ONE:
		describe(ev, req, id);
		break;
	case JPG:
		thumbnail(ev, req, id);
		break;
	case CLIP:
		clip(ev, req, id, query);
		break;
	case MJPG:
		playback_request(ev->playback, req, id, query);
		break;
	}
	return 1;
}

struct events *events_create(int dirfd, struct playback *playback,
			     const char *prefix)
{
	struct events *ev;

	if (strlen(prefix) >= EVENTS_PREFIX_MAX) {
		errno = ENAMETOOLONG;
		return NULL;
	}
	ev = calloc(1, sizeof(*ev));
	if (ev == NULL)
		return NULL;
	memcpy(ev->prefix, prefix, strlen(prefix) + 1);
	ev->dirfd = dirfd;
	ev->playback = playback;
	return ev;
}

int events_dirfd(const struct events *ev)
{
	return ev->dirfd;
}

void events_destroy(struct events *ev)
{
	free(ev);
}
