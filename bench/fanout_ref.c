/* SPDX-License-Identifier: MIT */
/*
 * fanout_ref: the benchmark's lower bound, the simplest possible MJPEG
 * fan-out.  One process, one epoll loop, no HTTP parser: every accepted
 * connection gets a fixed response head, then each new frame of the ring
 * (one copy out of the ring per frame, like vigil-server) written with
 * write() to every client socket that has finished the previous one;
 * partial writes continue on EPOLLOUT and a client that is behind gets the
 * newest frame when it catches up.  Same bytes on the wire as vigil-server.
 * Usage: fanout_ref --camera NAME --port PORT
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ring.h"

#define REF_BOUNDARY "vigilframe"
#define REF_HEADROOM 256
#define REF_EVENTS 256

struct buf {
	unsigned refs;
	size_t len;
	uint64_t id;
	uint8_t data[];
};

struct client {
	int fd;
	struct buf *b; /* being written, or NULL */
	size_t off;
	uint64_t last_id;
};

static const char head[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: multipart/x-mixed-replace;boundary=" REF_BOUNDARY "\r\n"
	"Cache-Control: no-store\r\n"
	"Connection: close\r\n\r\n"
	"--" REF_BOUNDARY "\r\n";

static struct ring_reader *reader;
static int efd, ep;
static struct buf *latest;

static void buf_unref(struct buf *b)
{
	if (b != NULL && --b->refs == 0)
		free(b);
}

static void *waiter(void *arg)
{
	uint32_t last = ring_reader_seq(reader);
	uint64_t one = 1;

	(void)arg;
	for (;;) {
		enum ring_status st = ring_reader_wait(reader, last, 1000);

		if (st == RING_OK) {
			last = ring_reader_seq(reader);
			if (write(efd, &one, sizeof(one)) < 0 &&
			    errno != EAGAIN)
				break;
		} else if (st != RING_TIMEOUT) {
			break;
		}
	}
	return NULL;
}

static void client_close(struct client *c)
{
	close(c->fd);
	buf_unref(c->b);
	free(c);
}

/* Writes what the socket takes; 0 when done or would block, -1 on error. */
static int client_flush(struct client *c)
{
	while (c->b != NULL) {
		ssize_t n = write(c->fd, c->b->data + c->off,
				  c->b->len - c->off);

		if (n < 0) {
			if (errno == EAGAIN) {
				struct epoll_event ev = {.events = EPOLLIN |
								   EPOLLOUT,
							 .data.ptr = c};
				epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
				return 0;
			}
			return -1;
		}
		c->off += (size_t)n;
		if (c->off == c->b->len) {
			struct epoll_event ev = {.events = EPOLLIN,
						 .data.ptr = c};

			buf_unref(c->b);
			c->b = NULL;
			epoll_ctl(ep, EPOLL_CTL_MOD, c->fd, &ev);
			/* Behind: the newest frame right away. */
			if (latest != NULL && latest->id != c->last_id) {
				c->b = latest;
				latest->refs++;
				c->off = 0;
				c->last_id = latest->id;
			}
		}
	}
	return 0;
}

/* Clients in an array so a new frame walks them without a list. */
static struct client **clients;
static size_t nclients, capclients;

/* Doubles the client table; on failure the old one stays as it was. */
static int grow_clients(void)
{
	size_t cap = capclients ? capclients * 2 : 1024;
	struct client **grown = realloc(clients, cap * sizeof(*clients));

	if (!grown)
		return -1;
	clients = grown;
	capclients = cap;
	return 0;
}

static void pull_frame(void)
{
	static uint64_t last_seq, next_id;
	struct ring_frame rf;
	size_t cap = ring_reader_capacity(reader);
	struct buf *b = malloc(sizeof(*b) + REF_HEADROOM + cap + 32);
	char hdr[REF_HEADROOM];
	int n;
	size_t i;

	if (b == NULL ||
	    ring_reader_read(reader, &rf, b->data + REF_HEADROOM, cap) !=
		    RING_OK ||
	    rf.seq <= last_seq) {
		free(b);
		return;
	}
	last_seq = rf.seq;
	n = snprintf(hdr, sizeof(hdr),
		     "Content-Type: image/jpeg\r\nContent-Length: %" PRIu32
		     "\r\nX-Timestamp: %" PRId64 ".%06" PRId64
		     "\r\nX-Frame-Seq: %" PRIu64 "\r\n\r\n",
		     rf.length, rf.realtime_ns / 1000000000,
		     rf.realtime_ns % 1000000000 / 1000, rf.seq);
	/* Header right before the JPEG, boundary right after: one range. */
	memmove(b->data + REF_HEADROOM - n, hdr, (size_t)n);
	memcpy(b->data + REF_HEADROOM + rf.length, "\r\n--" REF_BOUNDARY "\r\n",
	       sizeof(REF_BOUNDARY) + 5);
	memmove(b->data, b->data + REF_HEADROOM - n,
		(size_t)n + rf.length + sizeof(REF_BOUNDARY) + 5);
	b->len = (size_t)n + rf.length + sizeof(REF_BOUNDARY) + 5;
	b->refs = 1;
	b->id = ++next_id;
	buf_unref(latest);
	latest = b;
	for (i = 0; i < nclients; i++) {
		struct client *c = clients[i];

		if (c->b != NULL)
			continue; /* still writing the previous one: skip */
		c->b = b;
		b->refs++;
		c->off = 0;
		c->last_id = b->id;
		/* On an error the frame stays queued (nothing more is sent) and
		 * the socket's EPOLLERR/EPOLLHUP closes the client: never free
		 * it here, its event may be later in the same epoll batch. */
		(void)client_flush(c);
	}
}

static void remove_client(struct client *c)
{
	size_t i;

	for (i = 0; i < nclients; i++)
		if (clients[i] == c) {
			clients[i] = clients[--nclients];
			break;
		}
	client_close(c);
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"camera", required_argument, NULL, 'c'},
		{"port", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *camera = NULL;
	int port = 0, ch, lfd, one = 1;
	struct sockaddr_in sa = {.sin_family = AF_INET};
	struct epoll_event ev, evs[REF_EVENTS];
	struct rlimit rl;
	pthread_t th;
	int lmark, emark;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'c')
			camera = optarg;
		else if (ch == 'p')
			port = atoi(optarg);
		else
			return 2;
	}
	if (camera == NULL || port <= 0) {
		fprintf(stderr,
			"usage: fanout_ref --camera NAME --port PORT\n");
		return 2;
	}
	signal(SIGPIPE, SIG_IGN);
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0) {
		rl.rlim_cur = rl.rlim_max;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (ring_reader_open(&reader, camera, NULL) != RING_OK) {
		fprintf(stderr, "fanout_ref: cannot open ring of '%s'\n",
			camera);
		return 1;
	}
	lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
	    listen(lfd, 4096) < 0) {
		perror("fanout_ref: listen");
		return 1;
	}
	efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
	ep = epoll_create1(EPOLL_CLOEXEC);
	ev.events = EPOLLIN;
	ev.data.ptr = &lmark;
	epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
	ev.data.ptr = &emark;
	epoll_ctl(ep, EPOLL_CTL_ADD, efd, &ev);
	pthread_create(&th, NULL, waiter, NULL);
	for (;;) {
		int n = epoll_wait(ep, evs, REF_EVENTS, -1), i;

		for (i = 0; i < n; i++) {
			void *p = evs[i].data.ptr;

			if (p == &emark) {
				uint64_t v;

				if (read(efd, &v, sizeof(v)) > 0)
					pull_frame();
			} else if (p == &lmark) {
				int fd;

				while ((fd = accept4(lfd, NULL, NULL,
						     SOCK_NONBLOCK |
							     SOCK_CLOEXEC)) >=
				       0) {
					struct client *c = calloc(1,
								  sizeof(*c));

					if (!c) {
						close(fd);
						continue;
					}
					setsockopt(fd, IPPROTO_TCP, TCP_NODELAY,
						   &one, sizeof(one));
					c->fd = fd;
					if (write(fd, head, sizeof(head) - 1) <
					    0) {
						close(fd);
						free(c);
						continue;
					}
					if (nclients == capclients &&
					    grow_clients() < 0) {
						close(fd);
						free(c);
						continue;
					}
					clients[nclients++] = c;
					ev.events = EPOLLIN;
					ev.data.ptr = c;
					epoll_ctl(ep, EPOLL_CTL_ADD, fd, &ev);
				}
			} else {
				struct client *c = p;
				char junk[4096];

				if (evs[i].events &
				    (EPOLLIN | EPOLLHUP | EPOLLERR)) {
					ssize_t r = read(c->fd, junk,
							 sizeof(junk));

					if (r == 0 ||
					    (r < 0 && errno != EAGAIN)) {
						remove_client(c);
						continue;
					}
				}
				if ((evs[i].events & EPOLLOUT) &&
				    client_flush(c) < 0) {
					remove_client(c);
					continue;
				}
			}
		}
	}
}
