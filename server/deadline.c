/* SPDX-License-Identifier: MIT */
/*
 * deadline: the request-head deadline.  Every connection's input buffer gets
 * a callback; the first bytes of a request start a DEADLINE_HEAD_S window,
 * and bytes arriving after it with no complete request shut the socket
 * down.  State is kept per descriptor, identified by the socket's inode so
 * that a reused descriptor number starts afresh; nothing is allocated per
 * connection.
 */
#include "deadline.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>

#include "clock.h"
#include "log.h"

struct head_slot {
	uint64_t ino;
	int64_t deadline_ns; /* 0: none (stream clients) */
};

struct deadline {
	struct event_base *base;
	struct head_slot *heads; /* indexed by descriptor */
	size_t nheads;
};

/* The input hook's argument is the bufferevent; it finds the state here. */
static struct deadline *deadline_singleton;

static struct head_slot *head_slot(struct deadline *d, int fd, uint64_t *ino)
{
	struct stat st;

	if (fd < 0 || (size_t)fd >= d->nheads || fstat(fd, &st) < 0)
		return NULL;
	*ino = (uint64_t)st.st_ino;
	return &d->heads[fd];
}

static void on_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
		     void *arg)
{
	struct bufferevent *bev = arg;
	struct deadline *d = deadline_singleton;
	struct head_slot *h;
	uint64_t ino;
	int fd;

	(void)buf;
	if (info->n_added == 0 || d == NULL)
		return;
	fd = bufferevent_getfd(bev);
	h = head_slot(d, fd, &ino);
	if (h == NULL)
		return;
	if (h->ino != ino) {
		/* First bytes on a new connection. */
		h->ino = ino;
		h->deadline_ns = clock_mono_ns() +
				 (int64_t)DEADLINE_HEAD_S * 1000000000;
		return;
	}
	if (h->deadline_ns != 0 && clock_mono_ns() > h->deadline_ns) {
		log_debug("request head not complete in %d s: closing",
			  DEADLINE_HEAD_S);
		h->deadline_ns = 0;
		shutdown(fd, SHUT_RDWR);
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
	h->ino = ino;
	h->deadline_ns = exempt ? 0
				: clock_mono_ns() +
					  (int64_t)DEADLINE_HEAD_S * 1000000000;
}

struct deadline *deadline_create(struct event_base *base, struct evhttp *http)
{
	struct deadline *d = calloc(1, sizeof(*d));
	struct rlimit rl;

	if (d == NULL)
		return NULL;
	d->base = base;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 &&
	    rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur <= DEADLINE_FDS_MAX)
		d->nheads = (size_t)rl.rlim_cur;
	else
		d->nheads = DEADLINE_FDS_MAX;
	/* calloc: pages are touched only for descriptors in use. */
	d->heads = calloc(d->nheads, sizeof(*d->heads));
	if (d->heads == NULL) {
		free(d);
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
	free(d->heads);
	free(d);
}
