/* SPDX-License-Identifier: MIT */
/*
 * listen: the server's listening sockets.  ADDR is "127.0.0.1:8081",
 * "[::1]:8081" or "unix:/path/to/socket".  Binding happens before the
 * privilege drop; the sockets are then handed to evhttp through
 * evconnlistener, with an error callback for accept() failures: out of
 * descriptors (EMFILE/ENFILE), a spare descriptor kept for the purpose is
 * used to answer the pending connections 503 and close them; without one
 * (or on ENOBUFS/ENOMEM) the listener is disabled for LISTEN_BACKOFF_MS
 * instead of spinning on a connection it cannot accept.
 */
#ifndef VIGIL_LISTEN_H
#define VIGIL_LISTEN_H

#include <sys/types.h>

#include "metrics.h"

#define LISTEN_MAX 8 /* --listen given at most this many times */
#define LISTEN_BACKLOG 4096 /* viewers reconnect all at once after a restart */
#define LISTEN_BACKOFF_MS 100
#define LISTEN_UNIX_MODE 0660 /* nginx's group connects */
#define LISTEN_SHED_MAX 256 /* 503s answered per accept error */
#define LISTEN_RETRY_AFTER_S "1"

struct evhttp;
struct event_base;
struct listener;

/*
 * Parses ADDR.  Returns 0, or -1 with a message in err (errsize bytes).
 * Sets *loopback to 1 for loopback addresses and unix sockets.
 */
int listen_check(const char *addr, int *loopback, char *err, size_t errsize);

/*
 * Binds and listens on ADDR.  A unix socket path holding a stale socket (no
 * one accepting) is replaced; a live one is EADDRINUSE.  The socket file is
 * chowned to uid/gid when they are not -1 (the --user), mode
 * LISTEN_UNIX_MODE.  Returns the fd, or -1 with errno.
 */
int listen_bind(const char *addr, uid_t uid, gid_t gid);

/* Serves fd through http.  NULL with errno on failure. */
struct listener *listen_start(struct event_base *base, struct evhttp *http,
			      int fd, const char *addr, struct metrics *m);

/* Stops accepting (shutdown). */
void listen_stop(struct listener *l);

/* Closes the socket (and unlinks a unix socket's path).  Accepts NULL. */
void listen_free(struct listener *l);

#endif
