/* SPDX-License-Identifier: MIT */
/* clip: Matroska clips of JPEGs, the header from libavformat. */
#include "clip.h"

#include <errno.h>
#include <fcntl.h>
#include <libavformat/avformat.h>
#include <libavutil/dict.h>
#include <libavutil/log.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define CLIP_SCAN_BUFFER (64u << 10)
#define NS_PER_MS 1000000LL

/*
 * The clusters are written here, not by libavformat: its muxer copies every
 * packet through its AVIO buffer and costs more per packet than the whole
 * cluster format, which is fixed and short (Matroska, RFC 9559): a Cluster
 * of unknown size, its Timecode, then one SimpleBlock per JPEG.  A block's
 * JPEG is staged for a direct write (below) or goes to writev() from the
 * caller's memory.
 */
#define MKV_ID_CLUSTER 0x1F43B675u
#define MKV_ID_TIMECODE 0xE7u
#define MKV_ID_SIMPLEBLOCK 0xA3u
#define MKV_TRACK1 0x81u /* track number 1, as an EBML varint */
#define MKV_KEYFRAME 0x80u
#define CLIP_CLUSTER_HEAD 22 /* id 4, unknown size 8, timecode 1+1+8 */
#define CLIP_BLOCK_HEAD 13 /* id 1, size 8, track 1, timecode 2, flags 1 */
#define MKV_ID_VOID 0xECu
#define CLIP_IOV_MAX 256 /* under IOV_MAX (1024 on Linux) */

/*
 * Direct I/O (O_DIRECT), where the filesystem has it: the bytes are copied
 * once into a staging buffer and go to the device from there, not through
 * the page cache.  Measured: the kernel's copy into the page cache and its
 * writeback cost three times the copy into a buffer that stays in the CPU's
 * cache, and a camera's recordings are never read back soon enough for the
 * page cache to help (on an SD card it only delays the writes).  Direct
 * writes are whole blocks at aligned offsets from aligned memory: what is
 * past the last whole block stays in the buffer until more comes (at most
 * part of the last frame); when the file must be whole
 * on disk (at creation, at each sync about once a second, at close) that
 * block is written too, padded with an EBML Void element, which every
 * reader skips, and written again when more follows it.  At close the file
 * is cut back to its real length.  A filesystem without direct I/O (or
 * that refuses it for this file) is written through the page cache.
 */
enum clip_out {
	CLIP_WHOLE, /* the whole blocks */
	CLIP_PAD, /* and the last one padded, where a Void fits in it */
	CLIP_ALL, /* and the last one padded, into the next block if need be
		     (the file is cut to its length right after) */
};
#define CLIP_ALIGN 4096 /* offset, length and memory of a direct write */
#define CLIP_STAGE (1u << 20) /* the staging buffer, written when full */

/*
 * Framed in place (clip_write_room): a JPEG whose caller lends the room
 * around it (the recorder's queue does) is not copied at all.  Its block
 * is made where it lies: the headers just before the JPEG, an EBML Void
 * filling the rest of the room before them, and a Void after the JPEG up
 * to a multiple of the filesystem's direct-I/O alignment (`unit`, from
 * statx: 512 bytes on most block devices).  Each block then starts and
 * ends aligned, so a batch of them goes to the device in one pwritev()
 * straight from the caller's memory.  The padding costs unit / 2 bytes per
 * frame on average, so small frames (under CLIP_ROOM_MIN_UNITS units) are
 * staged instead; before a framed block, what is staged is written padded
 * to a unit boundary (seal).
 */
#define CLIP_ROOM_MIN_UNITS 32
_Static_assert(CLIP_ROOM_HEAD >= CLIP_CLUSTER_HEAD + CLIP_BLOCK_HEAD + 2,
	       "room for the headers and a Void before them");

struct clip {
	int fd;
	int64_t event_start_ns;
	int64_t last_pts;
	int64_t cluster_pts; /* -1: no cluster open */
	int64_t last_sync_ns; /* CLOCK_MONOTONIC */
	int unsynced; /* bytes written since the last fdatasync */
	uint64_t bytes;
	int err; /* first errno of a failed write */
	/* Direct I/O: stage[0, fill) is the file from the aligned offset
	 * base (the bytes from base + fill on are not written yet). */
	int direct;
	uint8_t *stage; /* CLIP_STAGE + 2 * CLIP_ALIGN (room for a Void) */
	size_t fill;
	uint64_t base;
	int tail_written; /* stage's partial block is on disk, padded */
	size_t unit; /* direct I/O's alignment (file offset and memory) */
	int rooms; /* the pending iovecs are framed blocks (clip_write_room) */
	/* Pending writes: headers live in head[], JPEGs are the callers'. */
	struct iovec iov[CLIP_IOV_MAX];
	int niov;
	uint8_t head[CLIP_IOV_MAX / 2][CLIP_CLUSTER_HEAD + CLIP_BLOCK_HEAD];
	unsigned nhead;
};

void clip_set_verbose(int verbose)
{
	av_log_set_level(verbose ? AV_LOG_WARNING : AV_LOG_QUIET);
}

static int av_errno(int averr)
{
	if (averr < 0 && AVUNERROR(averr) > 0 && AVUNERROR(averr) < 4096)
		return AVUNERROR(averr);
	return EIO;
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

/*
 * EBML header, Segment (unknown size: the file is never gone back to),
 * Info and Tracks, as the matroska muxer writes them in live mode, into a
 * buffer of libavformat's (*data, av_free it).  The muxer is freed before
 * it writes any cluster.  The length, or -1 with errno.
 */
static int make_header(const struct clip_config *cfg, uint8_t **data)
{
	AVFormatContext *oc = NULL;
	AVIOContext *pb = NULL;
	AVDictionary *opts = NULL;
	AVStream *st;
	char when[80];
	int rc, saved = ENOMEM;

	if (avio_open_dyn_buf(&pb) < 0)
		goto fail;
	/* Not seekable: an unknown-size Segment, nothing to patch later. */
	pb->seekable = 0;
	if (avformat_alloc_output_context2(&oc, NULL, "matroska", NULL) < 0)
		goto fail;
	oc->pb = pb;
	oc->flags |= AVFMT_FLAG_CUSTOM_IO;
	st = avformat_new_stream(oc, NULL);
	if (st == NULL)
		goto fail;
	st->time_base = (AVRational){1, 1000};
	st->codecpar->codec_type = AVMEDIA_TYPE_VIDEO;
	st->codecpar->codec_id = AV_CODEC_ID_MJPEG;
	st->codecpar->width = (int)cfg->width;
	st->codecpar->height = (int)cfg->height;
	iso_time(when, sizeof(when), cfg->file_start_ns);
	av_dict_set(&oc->metadata, "creation_time", when, 0);
	if (cfg->title != NULL)
		av_dict_set(&oc->metadata, "title", cfg->title, 0);
	av_dict_set(&opts, "live", "1", 0);
	av_dict_set(&opts, "write_crc32", "0", 0);
	rc = avformat_write_header(oc, &opts);
	av_dict_free(&opts);
	if (rc < 0) {
		saved = av_errno(rc);
		goto fail;
	}
	avio_flush(pb);
	if (pb->error < 0) {
		saved = av_errno(pb->error);
		goto fail;
	}
	avformat_free_context(oc);
	rc = avio_close_dyn_buf(pb, data);
	if (rc <= 0 || *data == NULL) {
		av_freep(data);
		errno = ENOMEM;
		return -1;
	}
	return rc;
fail:
	avformat_free_context(oc);
	if (pb != NULL) {
		avio_close_dyn_buf(pb, data);
		av_freep(data);
	}
	errno = saved;
	return -1;
}

static void put_be(uint8_t *p, uint64_t v, int n)
{
	while (n-- > 0) {
		p[n] = (uint8_t)v;
		v >>= 8;
	}
}

/* An EBML Void element of exactly n bytes (n >= 2) at p. */
static void put_void(uint8_t *p, size_t n)
{
	p[0] = MKV_ID_VOID;
	if (n - 2 < 0x7f) {
		p[1] = (uint8_t)(0x80 | (n - 2));
		memset(p + 2, 0, n - 2);
	} else {
		p[1] = 0x01; /* an 8-byte size */
		put_be(p + 2, n - 9, 7);
		memset(p + 9, 0, n - 9);
	}
}

/* pwrite of all of p[0, n) at off; -1 with errno (ENOSPC for a short
 * direct write: the next would not be aligned). */
static int pwrite_all(struct clip *c, const uint8_t *p, size_t n, uint64_t off)
{
	while (n > 0) {
		ssize_t w = pwrite(c->fd, p, n, (off_t)off);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0 || (c->direct && (size_t)w < n &&
			       (size_t)w % CLIP_ALIGN != 0)) {
			if (w >= 0)
				errno = w == 0 ? EIO : ENOSPC;
			return -1;
		}
		p += w;
		n -= (size_t)w;
		off += (uint64_t)w;
	}
	return 0;
}

/* Direct I/O refused here (EINVAL: the filesystem's alignment, or none):
 * the staged bytes through the page cache, and the rest after them. */
static int direct_off(struct clip *c)
{
	int fl = fcntl(c->fd, F_GETFL);

	c->direct = 0;
	if (fl < 0 || fcntl(c->fd, F_SETFL, fl & ~O_DIRECT) < 0 ||
	    pwrite_all(c, c->stage, c->fill, c->base) < 0 ||
	    lseek(c->fd, (off_t)(c->base + c->fill), SEEK_SET) < 0)
		return -1;
	c->unsynced = 1;
	c->base += c->fill;
	c->fill = 0;
	return 0;
}

/*
 * Writes the staged whole blocks and, as `out` says, the partial last one
 * padded with a Void to the block's end; the partial block stays staged
 * (it is written again with what follows it).  A Void is 2 bytes at
 * least: a block 1 byte short of full is padded into the next block only
 * for CLIP_ALL, else it waits (what the next block held would be left
 * after the data when a whole-block write covers only the first).
 */
static int direct_out(struct clip *c, enum clip_out out)
{
	size_t whole = c->fill & ~(size_t)(CLIP_ALIGN - 1), n = whole;
	int tail = 0;

	if (out != CLIP_WHOLE && whole < c->fill) {
		size_t v = CLIP_ALIGN - (c->fill - whole);

		if (v < 2 && out == CLIP_ALL)
			v += CLIP_ALIGN;
		if (v >= 2) {
			put_void(c->stage + c->fill, v);
			n = c->fill + v;
			tail = 1;
		}
	}
	if (n == 0)
		return 0;
	if (pwrite_all(c, c->stage, n, c->base) < 0)
		return errno == EINVAL ? direct_off(c) : -1;
	c->unsynced = 1;
	memmove(c->stage, c->stage + whole, c->fill - whole);
	c->base += whole;
	c->fill -= whole;
	c->tail_written = tail;
	return 0;
}

/* Copies the pending iovecs into the staging buffer, writing it as it
 * fills; the iovecs left when direct I/O is refused stay pending. */
static int stage_iov(struct clip *c)
{
	int i;

	for (i = 0; i < c->niov && c->direct; i++) {
		const uint8_t *p = c->iov[i].iov_base;
		size_t len = c->iov[i].iov_len;

		while (len > 0 && c->direct) {
			size_t k = CLIP_STAGE - c->fill;

			if (k == 0) {
				if (direct_out(c, CLIP_WHOLE) < 0)
					return -1;
				continue;
			}
			k = k < len ? k : len;
			memcpy(c->stage + c->fill, p, k);
			c->fill += k;
			c->tail_written = 0;
			c->bytes += k;
			p += k;
			len -= k;
		}
		c->iov[i].iov_base = (void *)(uintptr_t)p;
		c->iov[i].iov_len = len;
	}
	if (c->direct)
		return c->fill >= CLIP_ALIGN ? direct_out(c, CLIP_WHOLE) : 0;
	return 0;
}

/* Writes the pending framed blocks straight from the callers' memory (the
 * iovecs written are emptied); the ones left when direct I/O is refused
 * stay pending. */
static int write_rooms(struct clip *c)
{
	struct iovec *v = c->iov;
	int n = c->niov;

	while (n > 0) {
		ssize_t w = pwritev(c->fd, v, n, (off_t)c->base);

		if (w < 0 && errno == EINTR)
			continue;
		if (w < 0 && errno == EINVAL)
			return direct_off(c);
		if (w <= 0 || (size_t)w % c->unit != 0) {
			/* A short write not aligned: the next would not be. */
			if (w >= 0)
				errno = w == 0 ? EIO : ENOSPC;
			return -1;
		}
		c->base += (uint64_t)w;
		c->bytes += (uint64_t)w;
		c->unsynced = 1;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v->iov_len = 0;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	return 0;
}

/* Writes the pending iovecs, all of them, or fails for good. */
static int flush_iov(struct clip *c)
{
	struct iovec *v = c->iov;
	int n = c->niov;

	if (c->err != 0)
		goto fail;
	if (c->direct && (c->rooms ? write_rooms(c) : stage_iov(c)) < 0) {
		c->err = errno;
		goto fail;
	}
	while (n > 0 && v->iov_len == 0) { /* staged */
		v++;
		n--;
	}
	while (n > 0) {
		ssize_t w = writev(c->fd, v, n);

		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			c->err = w < 0 ? errno : EIO;
			goto fail;
		}
		c->bytes += (uint64_t)w;
		c->unsynced = 1;
		while (n > 0 && (size_t)w >= v->iov_len) {
			w -= (ssize_t)v->iov_len;
			v++;
			n--;
		}
		if (n > 0) {
			v->iov_base = (uint8_t *)v->iov_base + w;
			v->iov_len -= (size_t)w;
		}
	}
	c->niov = 0;
	c->nhead = 0;
	c->rooms = 0;
	return 0;
fail:
	c->niov = 0;
	c->nhead = 0;
	c->rooms = 0;
	errno = c->err;
	return -1;
}

/* Ends the cluster (the next block starts one), writes, fdatasyncs. */
static int sync_now(struct clip *c)
{
	c->cluster_pts = -1;
	if (flush_iov(c) < 0)
		return -1;
	/* Direct: the frame that ends in the partial block too. */
	if (c->direct && c->fill > 0 && !c->tail_written &&
	    direct_out(c, CLIP_PAD) < 0) {
		c->err = errno;
		return -1;
	}
	c->last_sync_ns = clock_mono_ns();
	if (!c->unsynced)
		return 0;
	if (fdatasync(c->fd) < 0) {
		c->err = errno;
		return -1;
	}
	c->unsynced = 0;
	return 0;
}

/* The alignment of direct writes to fd (file offsets, lengths and memory):
 * what statx says when it is a power of two up to CLIP_ALIGN (the stage's
 * and the rooms' alignment), else CLIP_ALIGN. */
static size_t direct_unit(int fd)
{
#ifdef STATX_DIOALIGN
	struct statx sx;
	size_t unit;

	if (statx(fd, "", AT_EMPTY_PATH, STATX_DIOALIGN, &sx) < 0 ||
	    !(sx.stx_mask & STATX_DIOALIGN) || sx.stx_dio_offset_align == 0)
		return CLIP_ALIGN;
	unit = sx.stx_dio_offset_align;
	if (sx.stx_dio_mem_align > unit)
		unit = sx.stx_dio_mem_align;
	if (unit < 512)
		unit = 512;
	if (unit <= CLIP_ALIGN && (unit & (unit - 1)) == 0)
		return unit;
#else
	(void)fd;
#endif
	return CLIP_ALIGN;
}

struct clip *clip_open(const struct clip_config *cfg)
{
	struct clip *c = calloc(1, sizeof(*c));
	uint8_t *header = NULL;
	int len, saved;

	if (c == NULL)
		return NULL;
	c->event_start_ns = cfg->event_start_ns;
	c->last_pts = -1;
	c->cluster_pts = -1;
	c->direct = !cfg->buffered;
	if (c->direct) {
		c->stage = aligned_alloc(CLIP_ALIGN,
					 CLIP_STAGE + 2 * CLIP_ALIGN);
		if (c->stage == NULL) {
			free(c);
			errno = ENOMEM;
			return NULL;
		}
	}
	c->fd = openat(cfg->dirfd, cfg->name,
		       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC |
			       (c->direct ? O_DIRECT : 0),
		       CLIP_FILE_MODE);
	if (c->fd < 0 && c->direct && errno == EINVAL) {
		/* A filesystem without direct I/O: the page cache. */
		c->direct = 0;
		c->fd = openat(cfg->dirfd, cfg->name,
			       O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
			       CLIP_FILE_MODE);
	}
	if (c->fd < 0) {
		saved = errno;
		free(c->stage);
		free(c);
		errno = saved;
		return NULL;
	}
	if (c->direct)
		c->unit = direct_unit(c->fd);
	len = make_header(cfg, &header);
	if (len < 0) {
		saved = errno;
		goto fail;
	}
	c->iov[0].iov_base = header;
	c->iov[0].iov_len = (size_t)len;
	c->niov = 1;
	/* A listed clip must exist after a power cut: sync it and its name
	 * (direct: the header padded to a block with a Void; the header is a
	 * few hundred bytes, so the Void fits in that block). */
	if (flush_iov(c) < 0 || (c->direct && direct_out(c, CLIP_PAD) < 0) ||
	    fdatasync(c->fd) < 0 || fsync(cfg->dirfd) < 0) {
		saved = errno;
		goto fail;
	}
	av_free(header);
	c->unsynced = 0;
	c->last_sync_ns = clock_mono_ns();
	return c;
fail:
	av_free(header);
	close(c->fd);
	unlinkat(cfg->dirfd, cfg->name, 0);
	free(c->stage);
	free(c);
	errno = saved;
	return NULL;
}

int clip_flush(struct clip *c)
{
	if (clock_mono_ns() - c->last_sync_ns >= CLIP_CLUSTER_MS * NS_PER_MS)
		return sync_now(c);
	return flush_iov(c);
}

/* The block's pts (ms from the event's start) for a frame captured at
 * realtime_ns, after the checks; a cluster that has lasted CLIP_CLUSTER_MS
 * is ended and synced first.  -1 with errno. */
static int block_pts(struct clip *c, size_t len, int64_t realtime_ns,
		     int64_t *pts)
{
	int64_t p = (realtime_ns - c->event_start_ns) / NS_PER_MS;

	if (len == 0 || len > INT32_MAX) {
		errno = EINVAL;
		return -1;
	}
	if (c->err != 0) {
		errno = c->err;
		return -1;
	}
	if (p <= c->last_pts)
		p = c->last_pts + 1;
	/* Block times are 16-bit offsets from the cluster's: a cluster spans
	 * CLIP_CLUSTER_MS at most, and is synced when it ends. */
	if (c->cluster_pts >= 0 && p - c->cluster_pts >= CLIP_CLUSTER_MS &&
	    sync_now(c) < 0)
		return -1;
	*pts = p;
	return 0;
}

/* At h: a Cluster's head when one starts here, and the SimpleBlock's head
 * for len bytes of JPEG at pts.  Their length. */
static size_t put_heads(struct clip *c, uint8_t *h, size_t len, int64_t pts)
{
	size_t n = 0;

	if (c->cluster_pts < 0) {
		c->cluster_pts = pts;
		put_be(h, MKV_ID_CLUSTER, 4);
		put_be(h + 4, 0x01FFFFFFFFFFFFFFull, 8); /* unknown size */
		h[12] = MKV_ID_TIMECODE;
		h[13] = 0x88; /* 8 bytes */
		put_be(h + 14, (uint64_t)pts, 8);
		n = CLIP_CLUSTER_HEAD;
	}
	h[n] = MKV_ID_SIMPLEBLOCK;
	put_be(h + n + 1, 0x0100000000000000ull | (len + 4), 8);
	h[n + 9] = MKV_TRACK1;
	put_be(h + n + 10, (uint64_t)(pts - c->cluster_pts), 2);
	h[n + 12] = MKV_KEYFRAME;
	c->last_pts = pts;
	return n + CLIP_BLOCK_HEAD;
}

int clip_write(struct clip *c, const void *jpeg, size_t len,
	       int64_t realtime_ns)
{
	int64_t pts;
	uint8_t *h;

	if (block_pts(c, len, realtime_ns, &pts) < 0)
		return -1;
	/* Framed blocks pending go first (this one is staged). */
	if ((c->rooms || c->niov + 2 > CLIP_IOV_MAX) && flush_iov(c) < 0)
		return -1;
	h = c->head[c->nhead++];
	c->iov[c->niov].iov_base = h;
	c->iov[c->niov].iov_len = put_heads(c, h, len, pts);
	c->iov[c->niov + 1].iov_base = (void *)(uintptr_t)jpeg;
	c->iov[c->niov + 1].iov_len = len;
	c->niov += 2;
	return 0;
}

/* Before the first framed block after staged ones: the staged bytes
 * written, padded with a Void to a unit boundary, where the framed
 * blocks go on.  May turn direct I/O off (refused). */
static int seal(struct clip *c)
{
	size_t v;

	if (flush_iov(c) < 0)
		return -1;
	if (!c->direct || c->fill == 0)
		return 0;
	v = (c->unit - c->fill % c->unit) % c->unit;
	if (v == 1)
		v += c->unit;
	if (v > 0)
		put_void(c->stage + c->fill, v);
	if (pwrite_all(c, c->stage, c->fill + v, c->base) < 0) {
		if (errno == EINVAL)
			return direct_off(c);
		c->err = errno;
		return -1;
	}
	c->unsynced = 1;
	c->bytes += v;
	c->base += c->fill + v;
	c->fill = 0;
	c->tail_written = 0;
	return 0;
}

int clip_write_room(struct clip *c, void *jpeg, size_t len, int64_t realtime_ns)
{
	uint8_t *room = (uint8_t *)jpeg - CLIP_ROOM_HEAD;
	uint8_t h[CLIP_CLUSTER_HEAD + CLIP_BLOCK_HEAD];
	size_t n, end, pad;
	int64_t pts;

	if (!c->direct || len < CLIP_ROOM_MIN_UNITS * c->unit ||
	    len > INT32_MAX)
		return clip_write(c, jpeg, len, realtime_ns);
	/* A broken clip fails here: in seal's flush, or in block_pts. */
	if (!c->rooms && seal(c) < 0)
		return -1;
	if (!c->direct) /* refused: through the page cache */
		return clip_write(c, jpeg, len, realtime_ns);
	if (block_pts(c, len, realtime_ns, &pts) < 0 ||
	    (c->niov + 1 > CLIP_IOV_MAX && flush_iov(c) < 0))
		return -1;
	n = put_heads(c, h, len, pts);
	put_void(room, CLIP_ROOM_HEAD - n);
	memcpy(room + CLIP_ROOM_HEAD - n, h, n);
	end = CLIP_ROOM_HEAD + len;
	pad = (c->unit - end % c->unit) % c->unit;
	if (pad == 1)
		pad += c->unit;
	if (pad > 0)
		put_void(room + end, pad);
	c->iov[c->niov].iov_base = room;
	c->iov[c->niov].iov_len = end + pad;
	c->niov++;
	c->rooms = 1;
	return 0;
}

uint64_t clip_bytes(const struct clip *c)
{
	uint64_t n = c->bytes;
	int i;

	for (i = 0; i < c->niov; i++)
		n += c->iov[i].iov_len;
	return n;
}

/* Direct: the last partial block written, padded, and the file cut back
 * to its length (which also drops what is left of the header's padding). */
static int finish_direct(struct clip *c)
{
	uint64_t end;

	if (flush_iov(c) < 0)
		return -1;
	end = c->base + c->fill;
	if ((c->fill > 0 && !c->tail_written && direct_out(c, CLIP_ALL) < 0) ||
	    (c->direct && ftruncate(c->fd, (off_t)end) < 0)) {
		c->err = errno;
		return -1;
	}
	return 0;
}

int clip_direct(const struct clip *c)
{
	return c->direct;
}

int clip_close(struct clip *c)
{
	int saved = 0;

	if (c == NULL)
		return 0;
	if (c->direct && finish_direct(c) < 0)
		saved = errno;
	if (sync_now(c) < 0 && saved == 0)
		saved = errno;
	close(c->fd);
	free(c->stage);
	free(c);
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
