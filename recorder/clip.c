/* SPDX-License-Identifier: MIT */
/* clip: Matroska clips of JPEGs through libavformat, live-muxed. */
#include "clip.h"

#include <errno.h>
#include <fcntl.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define CLIP_SCAN_BUFFER (64u << 10)
#define NS_PER_MS 1000000LL

/* FFmpeg 6.1 made the write callback's buffer const. */
#if LIBAVFORMAT_VERSION_MAJOR >= 61
#define CLIP_WBUF const uint8_t
#else
#define CLIP_WBUF uint8_t
#endif

struct clip {
	int fd;
	AVFormatContext *oc;
	AVIOContext *pb;
	AVPacket *pkt;
	int64_t event_start_ns;
	int64_t last_pts;
	int64_t last_sync_ns; /* CLOCK_MONOTONIC */
	uint64_t bytes;
	int err; /* first errno of a failed write */
};

void clip_set_verbose(int verbose)
{
	av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
}

static int write_cb(void *opaque, CLIP_WBUF *buf, int size)
{
	struct clip *c = opaque;
	const uint8_t *p = buf;
	size_t left = (size_t)size;

	if (c->err != 0)
		return AVERROR(c->err);
	while (left > 0) {
		ssize_t n = write(c->fd, p, left);

		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			c->err = n < 0 ? errno : EIO;
			return AVERROR(c->err);
		}
		p += n;
		left -= (size_t)n;
		c->bytes += (uint64_t)n;
	}
	return size;
}

static int av_errno(const struct clip *c, int averr)
{
	if (c->err != 0)
		return c->err;
	if (averr < 0 && AVUNERROR(averr) > 0 && AVUNERROR(averr) < 4096)
		return AVUNERROR(averr);
	return EIO;
}

static void clip_free(struct clip *c)
{
	if (c->pb != NULL) {
		av_freep(&c->pb->buffer);
		avio_context_free(&c->pb);
	}
	avformat_free_context(c->oc);
	av_packet_free(&c->pkt);
	if (c->fd >= 0)
		close(c->fd);
	av_free(c);
}

static void iso_time(char *buf, size_t size, int64_t ns)
{
	time_t sec = (time_t)(ns / 1000000000);
	struct tm tm;

	gmtime_r(&sec, &tm);
	snprintf(buf, size, "%04d-%02d-%02dT%02d:%02d:%02d.%06dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ns % 1000000000 / 1000));
}

struct clip *clip_open(const struct clip_config *cfg)
{
	struct clip *c = av_mallocz(sizeof(*c));
	AVDictionary *opts = NULL;
	unsigned char *buffer = NULL;
	AVStream *st;
	char when[80];
	int rc, saved;

	if (c == NULL) {
		errno = ENOMEM;
		return NULL;
	}
	c->fd = -1;
	c->event_start_ns = cfg->event_start_ns;
	c->last_pts = -1;
	c->fd = openat(cfg->dirfd, cfg->name,
		       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, CLIP_FILE_MODE);
	if (c->fd < 0) {
		saved = errno;
		goto fail_errno;
	}
	c->pkt = av_packet_alloc();
	buffer = av_malloc(CLIP_BUFFER_SIZE);
	if (c->pkt == NULL || buffer == NULL)
		goto fail_nomem;
	c->pb = avio_alloc_context(buffer, CLIP_BUFFER_SIZE, 1, c, NULL,
				   write_cb, NULL);
	if (c->pb == NULL)
		goto fail_nomem;
	buffer = NULL;
	/* Not seekable: the muxer writes an unknown-size segment and never
	 * goes back, which is what makes a cut file readable. */
	c->pb->seekable = 0;
	/* Flush points (one per packet) flush only a full buffer. */
	c->pb->min_packet_size = CLIP_BUFFER_SIZE;
	if (avformat_alloc_output_context2(&c->oc, NULL, "matroska", NULL) < 0)
		goto fail_nomem;
	c->oc->pb = c->pb;
	c->oc->flags |= AVFMT_FLAG_CUSTOM_IO;
	/* libavformat flushes a non-seekable output at every packet (a flush
	 * point) by default: one write() per frame.  The clip flushes itself,
	 * once a second (clip_sync); in between the buffer goes out whole. */
	c->oc->flush_packets = 0;
	st = avformat_new_stream(c->oc, NULL);
	if (st == NULL)
		goto fail_nomem;
	st->time_base = (AVRational){1, 1000};
	st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
	st->codecpar->codec_id = AV_CODEC_ID_MJPEG;
	st->codecpar->width = (int)cfg->width;
	st->codecpar->height = (int)cfg->height;
	iso_time(when, sizeof(when), cfg->file_start_ns);
	av_dict_set(&c->oc->metadata, "creation_time", when, 0);
	if (cfg->title != NULL)
		av_dict_set(&c->oc->metadata, "title", cfg->title, 0);
	av_dict_set(&opts, "live", "1", 0);
	/* A CRC over every cluster would cost more CPU than all the rest. */
	av_dict_set(&opts, "write_crc32", "0", 0);
	av_dict_set(&opts, "cluster_time_limit", "1000", 0);
	av_dict_set(&opts, "cluster_size_limit", "8388608", 0);
	rc = avformat_write_header(c->oc, &opts);
	av_dict_free(&opts);
	if (rc < 0) {
		saved = av_errno(c, rc);
		goto fail_errno;
	}
	avio_flush(c->pb);
	if (c->err != 0 || c->pb->error < 0) {
		saved = av_errno(c, c->pb->error);
		goto fail_errno;
	}
	/* A listed clip must exist after a power cut: sync it and its name. */
	if (fdatasync(c->fd) < 0 || fsync(cfg->dirfd) < 0) {
		saved = errno;
		goto fail_errno;
	}
	c->last_sync_ns = clock_mono_ns();
	return c;
fail_nomem:
	saved = ENOMEM;
fail_errno:
	av_free(buffer);
	if (c->fd >= 0)
		unlinkat(cfg->dirfd, cfg->name, 0);
	clip_free(c);
	errno = saved;
	return NULL;
}

int clip_sync(struct clip *c)
{
	int rc;

	/* A NULL packet closes the current cluster (AVFMT_ALLOW_FLUSH). */
	rc = av_write_frame(c->oc, NULL);
	avio_flush(c->pb);
	if (rc < 0 || c->err != 0 || c->pb->error < 0) {
		errno = av_errno(c, rc < 0 ? rc : c->pb->error);
		return -1;
	}
	c->last_sync_ns = clock_mono_ns();
	return fdatasync(c->fd);
}

int clip_write(struct clip *c, const void *jpeg, size_t len,
	       int64_t realtime_ns)
{
	int64_t pts = (realtime_ns - c->event_start_ns) / NS_PER_MS;
	int rc;

	if (len == 0 || len > INT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (c->err != 0) {
		errno = c->err;
		return -1;
	}
	if (pts <= c->last_pts)
		pts = c->last_pts + 1;
	c->pkt->data = (uint8_t *)(uintptr_t)jpeg;
	c->pkt->size = (int)len;
	c->pkt->pts = pts;
	c->pkt->dts = pts;
	c->pkt->duration = 0;
	c->pkt->flags = AV_PKT_FLAG_KEY;
	c->pkt->stream_index = 0;
	rc = av_write_frame(c->oc, c->pkt);
	c->pkt->data = NULL;
	c->pkt->size = 0;
	if (rc < 0 || c->err != 0) {
		errno = av_errno(c, rc);
		return -1;
	}
	c->last_pts = pts;
	if (clock_mono_ns() - c->last_sync_ns >= CLIP_CLUSTER_MS * NS_PER_MS)
		return clip_sync(c);
	return 0;
}

uint64_t clip_bytes(const struct clip *c)
{
	return c->bytes;
}

int clip_close(struct clip *c)
{
	int rc, saved = 0;

	if (c == NULL)
		return 0;
	rc = av_write_trailer(c->oc);
	avio_flush(c->pb);
	if (rc < 0 || c->err != 0 || c->pb->error < 0)
		saved = av_errno(c, rc < 0 ? rc : c->pb->error);
	else if (fdatasync(c->fd) < 0)
		saved = errno;
	clip_free(c);
	if (saved != 0) {
		errno = saved;
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------ scan */

static int read_cb(void *opaque, uint8_t *buf, int size)
{
	int fd = *(int *)opaque;
	ssize_t n;

	do
		n = read(fd, buf, (size_t)size);
	while (n < 0 && errno == EINTR);
	if (n < 0)
		return AVERROR(errno);
	return n == 0 ? AVERROR_EOF : (int)n;
}

static int64_t seek_cb(void *opaque, int64_t offset, int whence)
{
	int fd = *(int *)opaque;
	struct stat sb;

	if (whence == AVSEEK_SIZE)
		return fstat(fd, &sb) < 0 ? AVERROR(errno) : sb.st_size;
	return lseek(fd, offset, whence & ~AVSEEK_FORCE);
}

int clip_scan(int dirfd, const char *name, uint64_t *frames, uint64_t *bytes,
	      int64_t *last_pts_ms)
{
	AVFormatContext *ic = NULL;
	AVIOContext *pb = NULL;
	AVPacket *pkt = NULL;
	unsigned char *buffer = NULL;
	int fd, rc = -1, saved = EINVAL;

	*frames = 0;
	*bytes = 0;
	*last_pts_ms = -1;
	fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	if (fd < 0)
		return -1;
	buffer = av_malloc(CLIP_SCAN_BUFFER);
	pkt = av_packet_alloc();
	ic = avformat_alloc_context();
	if (buffer == NULL || pkt == NULL || ic == NULL) {
		saved = ENOMEM;
		goto out;
	}
	pb = avio_alloc_context(buffer, CLIP_SCAN_BUFFER, 0, &fd, read_cb, NULL,
				seek_cb);
	if (pb == NULL) {
		saved = ENOMEM;
		goto out;
	}
	buffer = NULL;
	ic->pb = pb;
	ic->flags |= AVFMT_FLAG_CUSTOM_IO;
	if (avformat_open_input(&ic, NULL, av_find_input_format("matroska"),
				NULL) < 0) {
		ic = NULL; /* freed by avformat_open_input on failure */
		goto out;
	}
	while (av_read_frame(ic, pkt) >= 0) {
		if (pkt->stream_index == 0 && pkt->size > 0) {
			(*frames)++;
			*bytes += (uint64_t)pkt->size;
			if (pkt->pts != AV_NOPTS_VALUE &&
			    pkt->pts > *last_pts_ms)
				*last_pts_ms = pkt->pts;
		}
		av_packet_unref(pkt);
	}
	rc = 0;
out:
	if (ic != NULL)
		avformat_close_input(&ic);
	if (pb != NULL) {
		av_freep(&pb->buffer);
		avio_context_free(&pb);
	}
	av_free(buffer);
	av_packet_free(&pkt);
	close(fd);
	if (rc < 0)
		errno = saved;
	return rc;
}
