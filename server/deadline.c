/* SPDX-License-Identifier: MIT */
/*
 * deadline: the request-head deadline.  Every connection's input buffer gets
 * a callback; the first bytes of a request start a DEADLINE_HEAD_S window
 * and put the connection's slot at the tail of a queue.  Every window has
 * the same length, so the queue is in deadline order: one timer, set for
 * the head of the queue, shuts down the sockets whose window passed with no
 * complete request (evhttp then sees the end of the stream and frees the
 * connection).  A complete request takes its slot off the queue.
 *
 * State is kept per descriptor, identified by the socket's inode so that a
 * reused descriptor number starts afresh; nothing is allocated per
 * connection or per request.  A slot left on the queue by a connection that
 * went away is dropped when its time comes (the inode no longer matches).
 */
#include "deadline.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/queue.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "clock.h"
#include "log.h"

#define DEADLINE_HEAD_NS ((int64_t)DEADLINE_HEAD_S * 1000000000)

enum head_state {
	HEAD_IDLE = 0, /* between requests: the next bytes start a window */
	HEAD_OPEN, /* a request head is coming in; on the queue */
	HEAD_EXEMPT, /* a stream client: no more windows */
};

struct head_slot {
	uint64_t ino;
	int64_t deadline_ns;
	enum head_state state;
	TAILQ_ENTRY(head_slot) link; /* on the queue while HEAD_OPEN */
};

struct deadline {
	struct event_base *base;
	struct event *timer;
	struct head_slot *heads; /* indexed by descriptor */
	size_t nheads;
	/* cppcheck-suppress unusedStructMember ; used by the queue.h macros */
	TAILQ_HEAD(, head_slot) open; /* HEAD_OPEN slots, oldest first */
};

/* The input hook's argument is the bufferevent; it finds the state here. */
static struct deadline *deadline_singleton;

static int socket_ino(int fd, uint64_t *ino)
{
	struct stat st;

	if (fstat(fd, &st) < 0)
		return -1;
	*ino = (uint64_t)st.st_ino;
	return 0;
}

static struct head_slot *head_slot(struct deadline *d, int fd, uint64_t *ino)
{
	if (fd < 0 || (size_t)fd >= d->nheads || socket_ino(fd, ino) < 0)
		return NULL;
	return &d->heads[fd];
}

static void timer_schedule(struct deadline *d, int64_t now)
{
	struct head_slot *h = TAILQ_FIRST(&d->open);
	int64_t wait;
	struct timeval tv;

	if (h == NULL || evtimer_pending(d->timer, NULL))
		return;
	wait = h->deadline_ns - now;
	if (wait < 0)
		wait = 0;
	tv.tv_sec = (time_t)(wait / 1000000000);
	/* Rounded up: waking a little early would only re-arm the timer. */
	tv.tv_usec = (suseconds_t)((wait % 1000000000 + 999) / 1000);
	evtimer_add(d->timer, &tv);
}

static void head_close(struct deadline *d, struct head_slot *h)
{
	if (h->state == HEAD_OPEN)
		TAILQ_REMOVE(&d->open, h, link);
	h->state = HEAD_IDLE;
}

static void head_open(struct deadline *d, struct head_slot *h, int64_t now)
{
	head_close(d, h);
	h->state = HEAD_OPEN;
	h->deadline_ns = now + DEADLINE_HEAD_NS;
	TAILQ_INSERT_TAIL(&d->open, h, link);
	timer_schedule(d, now);
}

static void on_timer(evutil_socket_t unused, short what, void *arg)
{
	struct deadline *d = arg;
	int64_t now = clock_mono_ns();
	struct head_slot *h;

	(void)unused;
	(void)what;
	while ((h = TAILQ_FIRST(&d->open)) != NULL && h->deadline_ns <= now) {
		int fd = (int)(h - d->heads);
		uint64_t ino;

		head_close(d, h);
		/* Still the connection that opened the window? */
		if (socket_ino(fd, &ino) < 0 || ino != h->ino)
			continue;
		log_debug("request head not complete in %d s: closing",
			  DEADLINE_HEAD_S);
		shutdown(fd, SHUT_RDWR);
	}
	timer_schedule(d, now);
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		     void *arg)
{
	struct bufferevent *bev = arg;
	struct deadline *d = deadline_singleton;
	struct head_slot *h;
	uint64_t ino;

	(void)buf;
	if (info->n_added == 0 || d == NULL)
		return;
	h = head_slot(d, bufferevent_getfd(bev), &ino);
	if (h == NULL)
		return;
	if (h->ino != ino) {
		/* First bytes on a new connection. */
		h->ino = ino;
		head_open(d, h, clock_mono_ns());
	} else if (h->state == HEAD_IDLE) {
		/* The first bytes of the connection's next request. */
		head_open(d, h, clock_mono_ns());
	}
}

/* evhttp_set_bevcb: each connection's bufferevent, with the input hook. */
static struct bufferevent *new_bev(struct event_base *base, void *arg)
{
	struct bufferevent *bev = bufferevent_socket_new(base, -1,
							 BEV_OPT_CLOSE_ON_FREE);

	(void)arg;
	if (bev != NULL)
		evbuffer_add_cb(bufferevent_get_input(bev), on_input, bev);
	return bev;
}

void deadline_request(struct deadline *d, struct evhttp_request *req,
		      int exempt)
{
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev;
	struct head_slot *h;
	uint64_t ino;

	if (evcon == NULL)
		return;
	bev = evhttp_connection_get_bufferevent(evcon);
	if (bev == NULL)
		return;
	h = head_slot(d, bufferevent_getfd(bev), &ino);
	if (h == NULL)
		return;
	head_close(d, h);
	h->ino = ino;
	h->state = exempt ? HEAD_EXEMPT : HEAD_IDLE;
}

struct deadline *deadline_create(struct event_base *base, struct evhttp *http)
{
	struct deadline *d = calloc(1, sizeof(*d));
	struct rlimit rl;

	if (d == NULL)
		return NULL;
	d->base = base;
	TAILQ_INIT(&d->open);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= DEADLINE_FDS_MAX)
		d->nheads = (size_t)rl.rlim_cur;
	else
		d->nheads = DEADLINE_FDS_MAX;
	/* calloc: pages are touched only for descriptors in use. */
	d->heads = calloc(d->nheads, sizeof(*d->heads));
	d->timer = evtimer_new(base, on_timer, d);
	if (d->heads == NULL || d->timer == NULL) {
		deadline_destroy(d);
		return NULL;
	}
	deadline_singleton = d;
	evhttp_set_bevcb(http, new_bev, d);
	return d;
}

void deadline_destroy(struct deadline *d)
{
	if (d == NULL)
		return;
	if (deadline_singleton == d)
		deadline_singleton = NULL;
	if (d->timer != NULL)
		event_free(d->timer);
	free(d->heads);
	free(d);
}
