/* SPDX-License-Identifier: MIT */
/*
 * pipeline: what happens to one picture between the source and the ring.
 * JPEG pictures are published byte for byte.  Raw pictures are converted
 * to I420 (convert.c), rotated and flipped (transform.c), get the time
 * burned in (overlay.c) and are encoded (encode.c) straight into the next
 * ring slot.  Buffers are allocated on the first picture of a size and then
 * reused: no allocation per frame in the steady state.
 *
 * Motion detection (motion.c) runs on every published picture when
 * enabled: raw pictures on the Y plane being encoded (after rotation and
 * overlay, so the grid matches the published picture; the overlay's box is
 * ignored), JPEG pictures on a 1/8 scale grey decode of the JPEG being
 * published.  The result goes into the ring with the frame; a JPEG that
 * does not decode is published without one and counted.
 *
 * With a sub-stream (p->sub), the frames substream_due() picks are also
 * scaled, encoded and published into the sub ring with the main frame's
 * flags and motion result: raw pictures from the planes just encoded, JPEG
 * pictures from the JPEG just published.
 */
#ifndef VIGIL_PIPELINE_H
#define VIGIL_PIPELINE_H

#include <stdint.h>

#include "convert.h"
#include "encpool.h"
#include "encode.h"
#include "luma.h"
#include "motion.h"
#include "overlay.h"
#include "ring.h"
#include "source.h"
#include "substream.h"

struct pipeline_config {
	int rotate; /* 0, 90, 180, 270 (clockwise) */
	int hflip, vflip;
	int quality; /* 1..100 */
	int fastdct; /* TJFLAG_FASTDCT */
	const char *overlay; /* strftime format; NULL or "" for none */
	int overlay_set; /* the user asked for it (not the default): warn
			      * when a JPEG source makes it impossible */
	struct motion_config motion; /* motion.enabled 0: no detection */
	int threads; /* encode threads for raw pictures, 0 or 1: encode on
			the calling thread; 2..ENCPOOL_THREADS_MAX: encpool */
};

/* A raw picture on its way through the encode threads: a copy of the
 * planes to encode, and what goes into the ring with it. */
struct pipeline_job {
	struct picture pic; /* over buf */
	uint8_t *buf;
	size_t buf_cap;
	uint8_t *jpeg; /* the worker's output, encoder_bound() bytes */
	size_t jpeg_cap;
	long len; /* -1: the encoder failed, err says why */
	int err;
	uint32_t flags;
	struct ring_motion motion;
	int has_motion;
	int64_t realtime_ns, monotonic_ns;
	int64_t encode_ns; /* the worker's time */
	struct ring_writer *ring;
};

struct pipeline {
	struct pipeline_config cfg;
	struct convert conv;
	struct overlay overlay;
	struct encoder *enc;
	uint8_t *tbuf; /* transformed planes */
	size_t tbuf_cap;
	uint64_t published;
	uint64_t dropped; /* too big for a slot, or the encoder failed */
	int jpeg_raw_warned;
	int64_t encode_ns; /* time spent converting and encoding */
	struct motion *motion; /* NULL when detection is off */
	struct luma luma; /* the small picture of the current frame */
	int box_x, box_y, box_w, box_h; /* the ignore box motion was given */
	int box_sw, box_sh;
	uint64_t analysed; /* frames with a motion result */
	uint64_t undecodable; /* JPEGs that did not decode for motion */
	uint64_t undecodable_logged; /* the count at the last warning */
	int64_t undecodable_log_ns; /* monotonic time of that warning */
	int64_t motion_ns; /* time spent in detection (luma and motion) */
	/* The sub-stream (substream.h): NULL when off.  Borrowed: the caller
	 * sets both after pipeline_init and frees them after pipeline_free. */
	struct substream *sub;
	struct ring_writer *sub_ring;
	/* Encode threads (cfg.threads > 1): jobs published in capture order
	 * by encpool; published, dropped and encode_ns are then written by
	 * the publishing worker (atomically: read them with
	 * pipeline_counters). */
	struct encpool *pool;
	struct pipeline_job *jobs; /* njobs: threads + 1 */
	int njobs;
	struct encoder *wenc[ENCPOOL_THREADS_MAX];
};

/* -1 with errno (EINVAL: bad quality, overlay format or motion config;
 * ENOMEM). */
int pipeline_init(struct pipeline *p, const struct pipeline_config *cfg);

/* Accepts a zeroed or half-initialised pipeline. */
void pipeline_free(struct pipeline *p);

/* Waits until every frame handed to the encode threads is published (or
 * dropped).  Call before closing the rings.  Nothing to do without
 * threads. */
void pipeline_flush(struct pipeline *p);

/* The counters, safe to read while encode threads run. */
void pipeline_counters(const struct pipeline *p, uint64_t *published,
		       uint64_t *dropped, int64_t *encode_ns);

/*
 * Planes of width x height (I420, the Y plane padded to the even size) that
 * the next pipeline_publish encodes without copying them: a source that
 * draws its picture (testsrc) draws it there and publishes a picture over
 * these planes.  Waits while every job is in flight (the caller is then
 * paced by the encoders).  Valid until that publish; a picture over other
 * planes is copied as usual.  Only with encode threads and no rotation or
 * flip: -1 with errno ENOTSUP otherwise (draw into your own buffer), or
 * ENOMEM.
 */
int pipeline_target(struct pipeline *p, int width, int height,
		    struct picture *dst);

/*
 * Publishes pic into the ring as the next frame.  With encode threads, a
 * raw picture is copied (unless drawn into pipeline_target's planes),
 * handed to a worker and published later in capture order (0 is returned;
 * a frame the encoder then fails is counted as dropped); the call waits
 * while all threads + 1 jobs are in flight.  Returns 0, or -1 when the
 * frame was skipped (errno EMSGSIZE: larger than a slot; EIO: the encoder
 * failed; EINVAL: a picture the pipeline cannot take); a skipped frame is
 * counted in the ring's frames_dropped and in p->dropped.  Raw planes may be
 * drawn on (the overlay) when no transform copies them first.
 */
int pipeline_publish(struct pipeline *p, struct picture *pic,
		     struct ring_writer *w);

#endif
