/* SPDX-License-Identifier: MIT */
/*
 * substream: the small picture published beside the main one, into the ring
 * "/vigil.<camera>.sub" (RING_SUB_SUFFIX), for phones and slow links.
 *
 * Raw sources: the I420 picture the main stream encodes (after rotation and
 * overlay, so both streams look alike) is box-filtered down to the sub size
 * (substream_scale_plane on each plane) and encoded.  JPEG sources: the JPEG
 * is decoded by libjpeg-turbo at the smallest of its scales (1/8 .. 1) that
 * is at least the sub size, box-filtered to the exact size when the scale
 * does not give it, and encoded.  Each sub frame carries the flags and the
 * motion result of the main frame it was made from.
 *
 * At most cfg.fps frames a second are published: substream_due() picks
 * main frames by their capture time.  Buffers are allocated by
 * substream_init (raw) or on the first JPEG of a size: no allocation per
 * frame in the steady state.
 */
#ifndef VIGIL_SUBSTREAM_H
#define VIGIL_SUBSTREAM_H

#include <stddef.h>
#include <stdint.h>

#include "encode.h"
#include "ring.h"
#include "source.h"

#define SUBSTREAM_WIDTH_DEFAULT 640
#define SUBSTREAM_HEIGHT_DEFAULT 360
#define SUBSTREAM_FPS_DEFAULT 10
#define SUBSTREAM_QUALITY_DEFAULT 70
#define SUBSTREAM_DIM_MIN 16

struct substream_config {
	int width, height; /* even; see substream_size */
	int fps; /* 1.. */
	int quality; /* 1..100 */
	int fastdct;
};

struct substream {
	struct substream_config cfg;
	struct encoder *enc;
	void *dec; /* tjhandle: JPEG sources */
	void *comp; /* tjhandle: JPEG sources */
	uint8_t *yuv; /* the scaled I420 planes */
	struct picture small; /* over yuv */
	uint8_t *rgb; /* the scaled decode of a JPEG */
	size_t rgb_cap;
	uint8_t *rgb_small; /* rgb box-filtered to the sub size */
	int64_t interval_ns;
	int64_t next_ns; /* capture time the next sub frame is due */
	uint64_t published;
	uint64_t dropped; /* too big for a slot, or a codec failed */
	int64_t encode_ns; /* time spent scaling and encoding */
};

/*
 * The sub picture's size for a main picture of main_w x main_h.  req_h 0:
 * the longer side req_w, the other from the main picture's aspect (640 gives
 * 640x360 for 16:9, 360x640 for a picture turned to 9:16).  Both rounded down
 * to even, at least SUBSTREAM_DIM_MIN, at most the main size (rounded down
 * to even).  -1 with EINVAL when the main size is under SUBSTREAM_DIM_MIN.
 */
int substream_size(int main_w, int main_h, int req_w, int req_h, int *w,
		   int *h);

/* -1 with errno (EINVAL: bad config; ENOMEM). */
int substream_init(struct substream *s, const struct substream_config *cfg);

/* Accepts a zeroed or half-initialised substream. */
void substream_free(struct substream *s);

/* 1 when a main frame captured at monotonic_ns should make a sub frame
 * (and counts it as made), else 0.  Keeps cfg.fps on average whatever the
 * main rate; a long gap restarts the schedule rather than bursting. */
int substream_due(struct substream *s, int64_t monotonic_ns);

/*
 * Scales pic (I420) or decodes and scales it (PICTURE_JPEG), encodes it and
 * publishes it into w with flags and motion (as ring_writer_commit; motion
 * may be NULL) and pic's times.  0, or -1 with errno (EMSGSIZE: the JPEG
 * does not fit, or for a JPEG source the slot is under encoder_bound() of
 * the sub size; EIO, EINVAL, EBADMSG: the JPEG does not decode); a failed frame is counted as dropped
 * in w and s.
 */
int substream_publish(struct substream *s, const struct picture *pic,
		      uint32_t flags, const struct ring_motion *motion,
		      struct ring_writer *w);

/*
 * Box-filters one plane of sw x sh pixels of bpp interleaved bytes each
 * (sstride bytes a row) to dw x dh (dstride): each destination pixel is the
 * rounded mean of the source pixels its area covers (the nearest one when
 * enlarging).  No allocation.
 */
void substream_scale_plane(const uint8_t *src, int sw, int sh, int sstride,
			   uint8_t *dst, int dw, int dh, int dstride, int bpp);

#endif
