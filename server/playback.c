/* SPDX-License-Identifier: MIT */
/* playback: recorded events as paced MJPEG, one timer per client. */
#include "playback.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <inttypes.h>
#include <libavformat/avformat.h>
#include <math.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <unistd.h>

#include "clock.h"
#include "events.h"
#include "frame.h"
#include "log.h"
#include "recdir.h"
#include "reply.h"
#include "stream.h"

#define PLAYBACK_IO_BUF 65536
#define PLAYBACK_SLACK_NS 2000000 /* sent this early is on time */
#define PLAYBACK_T_MAX 86400.0 /* ?t= at most a day */

struct pbclient {
	struct playback *pb;
	LIST_ENTRY(pbclient) link;
	struct evhttp_connection *evcon;
	struct bufferevent *bev;
	struct event *timer;
	char id[RECDIR_ID_MAX];
	int64_t start_ms; /* the event's start: pts are ms from it */
	unsigned file; /* index in the event's files */
	int fd;
	AVFormatContext *fmt;
	AVPacket *pkt;
	int have_pkt;
	int64_t pkt_ms; /* pts of pkt, ms from the event's start */
	int64_t last_ms; /* pts of the last packet taken, -1: none */
	int64_t skip_ms; /* ?t: packets before this are skipped */
	double speed;
	int paced; /* wall0/pts0 set */
	int64_t wall0_ns, pts0_ms;
	int64_t idle_since_ns; /* following: no new packet since */
	uint64_t seq;
	int closing;
};

struct playback {
	struct event_base *base;
	int dirfd;
	/* cppcheck-suppress unusedStructMember ; used by the queue.h macros */
	LIST_HEAD(, pbclient) clients;
	unsigned count;
};

static const char playback_head[] =
	"HTTP/1.1 200 OK\r\n"
	"Content-Type: multipart/x-mixed-replace;boundary=" FRAME_BOUNDARY
	"\r\n"
	"Cache-Control: no-store, no-cache, must-revalidate, max-age=0\r\n"
	"Pragma: no-cache\r\n"
	"Expires: 0\r\n"
	"X-Content-Type-Options: nosniff\r\n"
	"Connection: close\r\n"
	"\r\n";
static const char playback_open[] = "--" FRAME_BOUNDARY "\r\n";

/* ------------------------------------------------------------ demuxing */

static int io_read(void *opaque, uint8_t *buf, int size)
{
	struct pbclient *c = opaque;
	ssize_t n;

	do
		n = read(c->fd, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	if (n == 0)
		return AVERROR_EOF;
	return n < 0 ? AVERROR(errno) : (int)n;
}

static int64_t io_seek(void *opaque, int64_t off, int whence)
{
	struct pbclient *c = opaque;
	struct stat st;

	if (whence & AVSEEK_SIZE)
		return fstat(c->fd, &st) < 0 ? AVERROR(errno)
					     : (int64_t)st.st_size;
	whence &= ~AVSEEK_FORCE;
	off = lseek(c->fd, off, whence);
	return off < 0 ? AVERROR(errno) : off;
}

static void demux_close(struct pbclient *c)
{
	AVIOContext *pb = c->fmt ? c->fmt->pb : NULL;

	if (c->fmt != NULL)
		avformat_close_input(&c->fmt);
	if (pb != NULL) {
		av_freep(&pb->buffer);
		avio_context_free(&pb);
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

/*
 * Opens the file of the event's index file (recdir_openat: O_NOFOLLOW, a
 * regular file in DIR) through our own AVIOContext on that descriptor.
 * When old is given (the same file, reopened to see what was appended), its
 * index (the clusters read so far) is carried over and the reading resumes
 * at the last cluster at or before c->last_ms.  0 or -1.
 */
static int demux_open(struct pbclient *c, const char *name,
		      AVFormatContext *old)
{
	const AVInputFormat *mkv = av_find_input_format("matroska");
	AVIOContext *pb = NULL;
	uint8_t *buf = NULL;
	struct stat st;
	int i, n;

	c->fd = recdir_openat(c->pb->dirfd, name, &st);
	if (c->fd < 0 || mkv == NULL)
		goto fail;
	buf = av_malloc(PLAYBACK_IO_BUF);
	pb = buf ? avio_alloc_context(buf, PLAYBACK_IO_BUF, 0, c, io_read, NULL,
				      io_seek)
		 : NULL;
	c->fmt = pb ? avformat_alloc_context() : NULL;
	if (c->fmt == NULL)
		goto fail;
	c->fmt->pb = pb;
	c->fmt->flags |= AVFMT_FLAG_CUSTOM_IO;
	if (avformat_open_input(&c->fmt, NULL, mkv, NULL) < 0) {
		/* avformat_open_input freed the context, not our AVIO. */
		c->fmt = NULL;
		goto fail;
	}
	if (c->fmt->nb_streams < 1 ||
	    c->fmt->streams[0]->codecpar->codec_id != AV_CODEC_ID_MJPEG)
		goto fail;
	if (old != NULL && old->nb_streams >= 1 && c->last_ms >= 0) {
		n = avformat_index_get_entries_count(old->streams[0]);
		for (i = 0; i < n; i++) {
			const AVIndexEntry *e = avformat_index_get_entry(
				old->streams[0], i);

			if (e != NULL)
				av_add_index_entry(c->fmt->streams[0], e->pos,
						   e->timestamp, 0, 0,
						   AVINDEX_KEYFRAME);
		}
		/* Failure only costs reading from the start. */
		if (n > 0)
			(void)av_seek_frame(c->fmt, 0, c->last_ms,
					    AVSEEK_FLAG_BACKWARD);
	}
	return 0;
fail:
	/* Once in c->fmt, the AVIO is freed by demux_close. */
	if (c->fmt == NULL && pb != NULL) {
		av_freep(&pb->buffer);
		avio_context_free(&pb);
	} else if (c->fmt == NULL) {
		av_free(buf);
	}
	demux_close(c);
	return -1;
}

/* ------------------------------------------------------------ clients */

static void client_close(struct pbclient *c)
{
	struct playback *pb = c->pb;

	LIST_REMOVE(c, link);
	pb->count--;
	if (c->timer != NULL)
		event_free(c->timer);
	demux_close(c);
	av_packet_free(&c->pkt);
	evhttp_connection_free(c->evcon);
	free(c);
}

static void timer_in(struct pbclient *c, int64_t ns)
{
	struct timeval tv;

	if (ns < 0)
		ns = 0;
	tv.tv_sec = (time_t)(ns / 1000000000);
	tv.tv_usec = (suseconds_t)(ns % 1000000000 / 1000);
	evtimer_add(c->timer, &tv);
}

/* The part header as frame_seal writes it, then the JPEG and the
 * boundary, copied into the client's output. */
static void send_part(struct pbclient *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int64_t ms = c->start_ms + c->pkt_ms;

	evbuffer_add_printf(out,
			    "Content-Type: image/jpeg\r\n"
			    "Content-Length: %d\r\n"
			    "X-Timestamp: %" PRId64 ".%03" PRId64 "000\r\n"
			    "X-Frame-Seq: %" PRIu64 "\r\n"
			    "\r\n",
			    c->pkt->size, ms / 1000, ms % 1000, ++c->seq);
	evbuffer_add(out, c->pkt->data, (size_t)c->pkt->size);
	evbuffer_add(out, FRAME_TRAILER, FRAME_TRAILER_LEN);
	(void)evbuffer_write(out, bufferevent_getfd(c->bev));
	if (evbuffer_get_length(out) > 0)
		bufferevent_enable(c->bev, EV_WRITE);
}

enum next { NEXT_PACKET, NEXT_WAIT, NEXT_END };

/* The end of the current file: the next file, a wait for more, or the end. */
static enum next at_end_of_file(struct pbclient *c)
{
	struct events_meta *m = malloc(sizeof(*m));
	AVFormatContext *old;
	enum next r = NEXT_END;

	if (m == NULL || events_load(c->pb->dirfd, c->id, m) < 0)
		goto done; /* removed by retention: the end */
	if (c->file + 1 < m->nfiles) {
		demux_close(c);
		c->file++;
		c->idle_since_ns = 0;
		r = demux_open(c, m->files[c->file], NULL) == 0 ? NEXT_PACKET
								: NEXT_END;
		goto done;
	}
	if (m->has_end)
		goto done;
	if (c->idle_since_ns == 0)
		c->idle_since_ns = clock_mono_ns();
	else if (clock_mono_ns() - c->idle_since_ns >
		 (int64_t)PLAYBACK_IDLE_S * 1000000000)
		goto done;
	/* Still being recorded: reopen later, from the last cluster read. */
	old = c->fmt;
	c->fmt = NULL;
	if (old != NULL) {
		AVIOContext *pb = old->pb;

		close(c->fd);
		c->fd = -1;
		if (demux_open(c, m->files[c->file], old) < 0)
			c->fmt = NULL;
		avformat_close_input(&old);
		if (pb != NULL) {
			av_freep(&pb->buffer);
			avio_context_free(&pb);
		}
	} else if (demux_open(c, m->files[c->file], NULL) < 0) {
		c->fmt = NULL;
	}
	r = NEXT_WAIT;
done:
	free(m);
	return r;
}

/* Reads the next packet to show into c->pkt. */
static enum next read_next(struct pbclient *c, int *waited)
{
	AVStream *st;
	int64_t ms;
	enum next r;

	for (;;) {
		if (c->fmt == NULL || av_read_frame(c->fmt, c->pkt) < 0) {
			if (*waited)
				return NEXT_WAIT;
			r = at_end_of_file(c);
			if (r != NEXT_PACKET) {
				*waited = r == NEXT_WAIT;
				return r;
			}
			continue;
		}
		st = c->pkt->stream_index == 0 ? c->fmt->streams[0] : NULL;
		if (st == NULL || c->pkt->pts == AV_NOPTS_VALUE ||
		    c->pkt->size <= 0 ||
		    (unsigned)c->pkt->size > PLAYBACK_JPEG_MAX) {
			av_packet_unref(c->pkt);
			continue;
		}
		ms = av_rescale_q(c->pkt->pts, st->time_base,
				  (AVRational){1, 1000});
		if (ms <= c->last_ms || ms < c->skip_ms) {
			av_packet_unref(c->pkt);
			continue;
		}
		c->last_ms = ms;
		c->pkt_ms = ms;
		c->have_pkt = 1;
		c->idle_since_ns = 0;
		return NEXT_PACKET;
	}
}

/* Sends what is due, then sleeps until the next part is. */
static void step(struct pbclient *c)
{
	struct evbuffer *out = bufferevent_get_output(c->bev);
	int64_t now, due;
	int waited = 0;

	for (;;) {
		if (!c->have_pkt) {
			switch (read_next(c, &waited)) {
			case NEXT_PACKET:
				break;
			case NEXT_WAIT:
				timer_in(c,
					 (int64_t)PLAYBACK_FOLLOW_MS * 1000000);
				return;
			case NEXT_END:
				if (evbuffer_get_length(out) == 0) {
					client_close(c);
					return;
				}
				c->closing = 1;
				bufferevent_enable(c->bev, EV_WRITE);
				return;
			}
		}
		now = clock_mono_ns();
		if (!c->paced) {
			c->paced = 1;
			c->wall0_ns = now;
			c->pts0_ms = c->pkt_ms;
		}
		due = c->wall0_ns + (int64_t)((double)(c->pkt_ms - c->pts0_ms) *
					      1e6 / c->speed);
		if (due > now + PLAYBACK_SLACK_NS) {
			timer_in(c, due - now);
			return;
		}
		/* The previous part still queued: wait for it to drain
		 * (on_write steps on), unless this one is already late by
		 * PLAYBACK_LATE_MS, then skip it, as the live stream does,
		 * so a slow client keeps the pace and one part in memory. */
		if (evbuffer_get_length(out) == 0)
			send_part(c);
		else if (now - due < (int64_t)PLAYBACK_LATE_MS * 1000000)
			return;
		av_packet_unref(c->pkt);
		c->have_pkt = 0;
	}
}

static void on_timer(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	step(arg);
}

static void on_write(struct bufferevent *bev, void *arg)
{
	struct pbclient *c = arg;

	if (c->closing) {
		client_close(c);
		return;
	}
	bufferevent_disable(bev, EV_WRITE);
	if (c->have_pkt)
		step(c);
}

static void on_read(struct bufferevent *bev, void *arg)
{
	(void)arg;
	evbuffer_drain(bufferevent_get_input(bev),
		       evbuffer_get_length(bufferevent_get_input(bev)));
}

static void on_event(struct bufferevent *bev, short what, void *arg)
{
	(void)bev;
	(void)what;
	log_debug("playback client gone");
	client_close(arg);
}

/* ------------------------------------------------------------ requests */

static int parse_number(const char *s, double lo, double hi, double *out)
{
	char *end;
	double d;

	if (s == NULL || *s == '\0' || strlen(s) > 16 ||
	    strspn(s, "0123456789.") != strlen(s))
		return -1;
	errno = 0;
	d = strtod(s, &end);
	if (errno != 0 || *end != '\0' || !isfinite(d) || d < lo || d > hi)
		return -1;
	*out = d;
	return 0;
}

void playback_request(struct playback *pb, struct evhttp_request *req,
		      const char *id, struct evkeyvalq *q)
{
	const char *speed_arg = evhttp_find_header(q, "speed");
	const char *t_arg = evhttp_find_header(q, "t");
	struct evhttp_connection *evcon = evhttp_request_get_connection(req);
	struct bufferevent *bev = evcon ? evhttp_connection_get_bufferevent(
						  evcon)
					: NULL;
	struct timeval wto = {STREAM_WRITE_TIMEOUT_S, 0};
	struct events_meta *m = NULL;
	struct pbclient *c = NULL;
	double speed = 1.0, t = 0;
	int one = 1;

	if (speed_arg != NULL && parse_number(speed_arg, PLAYBACK_SPEED_MIN,
					      PLAYBACK_SPEED_MAX, &speed) < 0) {
		reply_text(req, 400, "bad speed: want 0.25..8");
		return;
	}
	if (t_arg != NULL && parse_number(t_arg, 0, PLAYBACK_T_MAX, &t) < 0) {
		reply_text(req, 400, "bad t: want seconds from the start");
		return;
	}
	if (pb->count >= PLAYBACK_CLIENTS_MAX) {
		reply_busy(req, "too many playbacks, try again later");
		return;
	}
	m = malloc(sizeof(*m));
	c = calloc(1, sizeof(*c));
	if (m == NULL || c == NULL || bev == NULL ||
	    (c->pkt = av_packet_alloc()) == NULL ||
	    (c->timer = evtimer_new(pb->base, on_timer, c)) == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		goto fail;
	}
	c->fd = -1;
	if (events_load(pb->dirfd, id, m) < 0) {
		reply_text(req, 404,
			   errno == ENOENT ? "no such event"
					   : "event not available");
		goto fail;
	}
	c->pb = pb;
	if (m->nfiles == 0 || demux_open(c, m->files[0], NULL) < 0) {
		reply_text(req, 404, "no playable clip");
		goto fail;
	}
	snprintf(c->id, sizeof(c->id), "%s", id);
	c->start_ms = m->start_ms;
	c->last_ms = -1;
	c->skip_ms = (int64_t)llround(t * 1000.0);
	c->speed = speed;
	c->evcon = evcon;
	c->bev = bev;
	c->closing = evhttp_request_get_command(req) == EVHTTP_REQ_HEAD;
	free(m);
	(void)setsockopt(bufferevent_getfd(bev), IPPROTO_TCP, TCP_NODELAY, &one,
			 sizeof(one));
	/* The connection is ours from here (as in stream.c). */
	bufferevent_setcb(bev, on_read, on_write, on_event, c);
	bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
	bufferevent_set_timeouts(bev, NULL, &wto);
	bufferevent_disable(bev, EV_WRITE);
	bufferevent_enable(bev, EV_READ);
	LIST_INSERT_HEAD(&pb->clients, c, link);
	pb->count++;
	evbuffer_add(bufferevent_get_output(bev), playback_head,
		     sizeof(playback_head) - 1);
	if (c->closing) {
		bufferevent_enable(bev, EV_WRITE);
		return;
	}
	evbuffer_add(bufferevent_get_output(bev), playback_open,
		     sizeof(playback_open) - 1);
	bufferevent_enable(bev, EV_WRITE);
	timer_in(c, 0);
	return;
fail:
	free(m);
	if (c != NULL) {
		if (c->timer != NULL)
			event_free(c->timer);
		demux_close(c);
		av_packet_free(&c->pkt);
		free(c);
	}
}

/* ------------------------------------------------------------ lifetime */

struct playback *playback_create(struct event_base *base, int dirfd)
{
	struct playback *pb = calloc(1, sizeof(*pb));

	if (pb == NULL)
		return NULL;
	pb->base = base;
	pb->dirfd = dirfd;
	LIST_INIT(&pb->clients);
	return pb;
}

void playback_close_all(struct playback *pb)
{
	while (pb != NULL && !LIST_EMPTY(&pb->clients))
		client_close(LIST_FIRST(&pb->clients));
}

void playback_destroy(struct playback *pb)
{
	playback_close_all(pb);
	free(pb);
}

unsigned playback_client_count(const struct playback *pb)
{
	return pb ? pb->count : 0;
}
