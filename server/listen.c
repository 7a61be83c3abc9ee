/* SPDX-License-Identifier: MIT */
/* listen: address parsing, binding, and accept error back-off. */
#include "listen.h"

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/listener.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "log.h"
#include "parse.h"

struct listener {
	struct evconnlistener *lev;
	struct event *backoff;
	struct metrics *m;
	char addr[128];
	char unix_path[sizeof(((struct sockaddr_un *)0)->sun_path)];
	dev_t unix_dev;
	ino_t unix_ino;
};

/* evhttp keeps the evconnlistener's callback argument for itself, so the
 * error callback finds its listener here. */
static struct listener *listeners[LISTEN_MAX];
static int spare_fd = -1; /* kept open for shed_pending() */

union sa {
	struct sockaddr sa;
	struct sockaddr_in in;
	struct sockaddr_in6 in6;
	struct sockaddr_un un;
};

static int parse(const char *addr, union sa *out, socklen_t *len, char *err,
		 size_t errsize)
{
	char host[64];
	const char *colon, *port_s, *h;
	size_t hlen;
	long port;

	memset(out, 0, sizeof(*out));
	if (strncmp(addr, "unix:", 5) == 0) {
		const char *path = addr + 5;

		if (path[0] != '/' ||
		    strlen(path) >= sizeof(out->un.sun_path)) {
			snprintf(
				err, errsize,
				"bad unix socket address '%s': want unix:/absolute/path "
				"(under %zu bytes)",
				addr, sizeof(out->un.sun_path));
			return -1;
		}
		out->un.sun_family = AF_UNIX;
		memcpy(out->un.sun_path, path, strlen(path) + 1);
		*len = sizeof(out->un);
		return 0;
	}
	if (addr[0] == '[') {
		const char *close = strchr(addr, ']');

		if (close == NULL || close[1] != ':')
			goto bad;
		h = addr + 1;
		hlen = (size_t)(close - h);
		port_s = close + 2;
	} else {
		colon = strrchr(addr, ':');
		if (colon == NULL)
			goto bad;
		h = addr;
		hlen = (size_t)(colon - addr);
		port_s = colon + 1;
	}
	if (hlen == 0 || hlen >= sizeof(host))
		goto bad;
	memcpy(host, h, hlen);
	host[hlen] = '\0';
	if (parse_long(port_s, 1, 65535, &port, NULL) < 0)
		goto bad;
	if (inet_pton(AF_INET, host, &out->in.sin_addr) == 1 &&
	    addr[0] != '[') {
		out->in.sin_family = AF_INET;
		out->in.sin_port = htons((uint16_t)port);
		*len = sizeof(out->in);
		return 0;
	}
	if (inet_pton(AF_INET6, host, &out->in6.sin6_addr) == 1 &&
	    addr[0] == '[') {
		out->in6.sin6_family = AF_INET6;
		out->in6.sin6_port = htons((uint16_t)port);
		*len = sizeof(out->in6);
		return 0;
	}
bad:
	snprintf(err, errsize,
		 "bad listen address '%s': want 127.0.0.1:PORT, [::1]:PORT or "
		 "unix:/path (numeric addresses only)",
		 addr);
	return -1;
}

static int is_loopback(const union sa *a)
{
	switch (a->sa.sa_family) {
	case AF_UNIX:
		return 1;
	case AF_INET:
		return (ntohl(a->in.sin_addr.s_addr) >> 24) == 127;
	case AF_INET6:
		if (IN6_IS_ADDR_LOOPBACK(&a->in6.sin6_addr))
			return 1;
		return IN6_IS_ADDR_V4MAPPED(&a->in6.sin6_addr) &&
		       a->in6.sin6_addr.s6_addr[12] == 127;
	default:
		return 0;
	}
}

int listen_check(const char *addr, int *loopback, char *err, size_t errsize)
{
	union sa a;
	socklen_t len;

	if (parse(addr, &a, &len, err, errsize) < 0)
		return -1;
	*loopback = is_loopback(&a);
	return 0;
}

/* 1 when something accepts on the unix socket at path. */
static int unix_live(const struct sockaddr_un *un)
{
	int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	int live;

	if (fd < 0)
		return 0;
	live = connect(fd, (const struct sockaddr *)un, sizeof(*un)) == 0;
	close(fd);
	return live;
}

int listen_bind(const char *addr, uid_t uid, gid_t gid)
{
	char err[256];
	union sa a;
	socklen_t len;
	int fd, one = 1, saved;
	struct stat st;

	if (parse(addr, &a, &len, err, sizeof(err)) < 0) {
		errno = EINVAL;
		return -1;
	}
	fd = socket(a.sa.sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC,
		    0);
	if (fd < 0)
		return -1;
	if (a.sa.sa_family == AF_UNIX) {
		const char *path = a.un.sun_path;

		if (lstat(path, &st) == 0) {
			if (!S_ISSOCK(st.st_mode)) {
				errno = EEXIST; /* never remove a non-socket */
				goto fail;
			}
			if (unix_live(&a.un)) {
				errno = EADDRINUSE;
				goto fail;
			}
			if (unlink(path) < 0)
				goto fail;
		}
	} else {
		if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one,
			       sizeof(one)) < 0)
			goto fail;
		if (a.sa.sa_family == AF_INET6 &&
		    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one,
			       sizeof(one)) < 0)
			goto fail;
	}
	if (bind(fd, &a.sa, len) < 0)
		goto fail;
	if (a.sa.sa_family == AF_UNIX) {
		if (chmod(a.un.sun_path, LISTEN_UNIX_MODE) < 0)
			goto fail_unlink;
		if ((uid != (uid_t)-1 || gid != (gid_t)-1) &&
		    chown(a.un.sun_path, uid, gid) < 0)
			goto fail_unlink;
	}
	if (listen(fd, LISTEN_BACKLOG) < 0)
		goto fail_unlink;
	return fd;
fail_unlink:
	saved = errno;
	unlink(a.un.sun_path);
	errno = saved;
fail:
	saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

static void on_backoff(evutil_socket_t fd, short what, void *arg)
{
	struct listener *l = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(l->lev);
}

/*
 * Out of descriptors: a connection left in the backlog would hang with no
 * answer, so the spare descriptor kept for this is given up to accept each
 * pending connection, answer it 503 and close it; then the spare is taken
 * back.  Returns the number answered, or -1 when there was no spare.
 */
static int shed_pending(struct listener *l)
{
	static const char busy[] = "HTTP/1.1 503 Service Unavailable\r\n"
				   "Content-Type: text/plain; charset=utf-8\r\n"
				   "Retry-After: " LISTEN_RETRY_AFTER_S "\r\n"
				   "Content-Length: 29\r\n"
				   "Connection: close\r\n\r\n"
				   "server busy, try again later\n";
	char junk[4096];
	int n = 0, fd;

	if (spare_fd < 0)
		return -1;
	close(spare_fd);
	spare_fd = -1;
	while (n < LISTEN_SHED_MAX &&
	       (fd = accept4(evconnlistener_get_fd(l->lev), NULL, NULL,
			     SOCK_NONBLOCK | SOCK_CLOEXEC)) >= 0) {
		(void)send(fd, busy, sizeof(busy) - 1, MSG_NOSIGNAL);
		shutdown(fd, SHUT_WR);
		/* Unread request bytes at close() would turn the FIN into a
		 * reset that can destroy the 503 before it is read. */
		while (recv(fd, junk, sizeof(junk), MSG_DONTWAIT) > 0)
			;
		close(fd);
		n++;
	}
	spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	l->m->clients_rejected += (uint64_t)n;
	return n;
}

static void on_accept_error(struct evconnlistener *lev, void *arg)
{
	struct listener *l = NULL;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = {0, LISTEN_BACKOFF_MS * 1000};
	size_t i;

	(void)arg;
	for (i = 0; i < LISTEN_MAX && l == NULL; i++)
		if (listeners[i] != NULL && listeners[i]->lev == lev)
			l = listeners[i];
	if (l == NULL)
		return;
	l->m->accept_errors++;
	switch (err) {
	case EMFILE:
	case ENFILE:
		if (l->m->accept_errors % 100 == 1)
			log_warnx("cannot accept on '%s': %s (answering 503)",
				  l->addr, strerror(err));
		if (shed_pending(l) >= 0 && spare_fd >= 0)
			break;
		/* No spare descriptor: back off instead. */
		__attribute__((fallthrough));
	case ENOBUFS:
	case ENOMEM:
		/* The pending connection stays in the backlog and the socket
		 * stays readable: stop polling it for a while, no busy loop. */
		if (l->m->accept_errors % 100 == 1)
			log_warnx("cannot accept on '%s': %s (backing off)",
				  l->addr, strerror(err));
		evconnlistener_disable(lev);
		evtimer_add(l->backoff, &tv);
		break;
	default:
		log_debug("accept on '%s': %s", l->addr, strerror(err));
		break;
	}
}

struct listener *listen_start(struct event_base *base, struct evhttp *http,
			      int fd, const char *addr, struct metrics *m)
{
	struct listener *l = calloc(1, sizeof(*l));
	struct stat st;
	size_t slot;

	for (slot = 0; slot < LISTEN_MAX && listeners[slot] != NULL; slot++)
		;
	if (spare_fd < 0)
		spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (l == NULL || slot == LISTEN_MAX) {
		free(l);
		close(fd);
		errno = l == NULL ? ENOMEM : EMFILE;
		return NULL;
	}
	l->m = m;
	snprintf(l->addr, sizeof(l->addr), "%s", addr);
	if (strncmp(addr, "unix:", 5) == 0 && lstat(addr + 5, &st) == 0) {
		snprintf(l->unix_path, sizeof(l->unix_path), "%s", addr + 5);
		l->unix_dev = st.st_dev;
		l->unix_ino = st.st_ino;
	}
	l->backoff = evtimer_new(base, on_backoff, l);
	l->lev = evconnlistener_new(
		base, NULL, NULL, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC,
		-1, fd);
	if (l->lev == NULL)
		close(fd);
	if (l->backoff == NULL || l->lev == NULL ||
	    evhttp_bind_listener(http, l->lev) == NULL) {
		if (l->lev != NULL)
			evconnlistener_free(l->lev);
		l->lev = NULL;
		listen_free(l);
		errno = ENOMEM;
		return NULL;
	}
	evconnlistener_set_error_cb(l->lev, on_accept_error);
	listeners[slot] = l;
	/* evhttp owns the evconnlistener now (evhttp_free frees it). */
	return l;
}

void listen_stop(struct listener *l)
{
	if (l == NULL)
		return;
	evtimer_del(l->backoff);
	evconnlistener_disable(l->lev);
}

void listen_free(struct listener *l)
{
	struct stat st;
	size_t i;

	if (l == NULL)
		return;
	for (i = 0; i < LISTEN_MAX; i++)
		if (listeners[i] == l)
			listeners[i] = NULL;
	if (l->backoff != NULL)
		event_free(l->backoff);
	/* Remove the socket file only if it is still ours (a later server
	 * may have replaced it). */
	if (l->unix_path[0] != '\0' && lstat(l->unix_path, &st) == 0 &&
	    st.st_dev == l->unix_dev && st.st_ino == l->unix_ino)
		unlink(l->unix_path);
	free(l);
}
