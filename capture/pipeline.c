/* SPDX-License-Identifier: MIT */
/* pipeline: convert, transform, overlay, detect motion, encode, publish. */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "transform.h"

#define PIPELINE_ALIGN 32
/* An undecodable JPEG is logged at most once per this many ns. */
#define PIPELINE_UNDECODABLE_LOG_NS (60 * (int64_t)1000000000)

_Static_assert(MOTION_GRID_BYTES == RING_MOTION_GRID_BYTES,
	       "motion.h's grid is the ring's grid");
_Static_assert(MOTION_COLS == RING_MOTION_COLS &&
		       MOTION_ROWS == RING_MOTION_ROWS,
	       "motion.h's grid is the ring's grid");
_Static_assert(MOTION_SCORE_MAX == RING_MOTION_SCORE_MAX,
	       "motion.h's score is the ring's score");

static void job_work(void *arg, int j, int worker);
static void job_publish(void *arg, int j, int worker);

static void count_add(uint64_t *c, uint64_t n)
{
	__atomic_fetch_add(c, n, __ATOMIC_RELAXED);
}

void pipeline_counters(const struct pipeline *p, uint64_t *published,
		       uint64_t *dropped, int64_t *encode_ns)
{
	*published = __atomic_load_n(&p->published, __ATOMIC_RELAXED);
	*dropped = __atomic_load_n(&p->dropped, __ATOMIC_RELAXED);
	*encode_ns = __atomic_load_n(&p->encode_ns, __ATOMIC_RELAXED);
}

static int pool_init(struct pipeline *p, int threads)
{
	/* One job more than threads: the next frame is filled while every
	 * thread encodes, yet a frame waits behind at most threads others
	 * (one frame interval more than with as many jobs as threads). */
	p->njobs = threads + 1;
	p->jobs = calloc((size_t)p->njobs, sizeof(*p->jobs));
	if (p->jobs == NULL)
		return -1;
	for (int i = 0; i < threads; i++)
		if (encoder_create(&p->wenc[i], p->cfg.quality,
				   p->cfg.fastdct) < 0)
			return -1;
	return encpool_create(&p->pool, threads, p->njobs, job_work,
			      job_publish, p);
}

int pipeline_init(struct pipeline *p, const struct pipeline_config *cfg)
{
	memset(p, 0, sizeof(*p));
	if (cfg->threads < 0 || cfg->threads > ENCPOOL_THREADS_MAX) {
		errno = EINVAL;
		return -1;
	}
	p->cfg = *cfg;
	if (overlay_init(&p->overlay, cfg->overlay) < 0)
		return -1;
	p->cfg.overlay = NULL; /* copied into the overlay; not kept */
	luma_init(&p->luma);
	if (cfg->motion.enabled) {
		p->motion = motion_create(&cfg->motion);
		if (p->motion == NULL)
			return -1;
	}
	if (encoder_create(&p->enc, cfg->quality, cfg->fastdct) < 0)
		return -1;
	if (cfg->threads > 1)
		return pool_init(p, cfg->threads);
	return 0;
}

void pipeline_flush(struct pipeline *p)
{
	if (p->pool != NULL)
		encpool_drain(p->pool);
}

void pipeline_free(struct pipeline *p)
{
	encpool_destroy(p->pool);
	p->pool = NULL;
	if (p->jobs != NULL)
		for (int i = 0; i < p->njobs; i++) {
			free(p->jobs[i].buf);
			free(p->jobs[i].jpeg);
		}
	free(p->jobs);
	p->jobs = NULL;
	for (int i = 0; i < ENCPOOL_THREADS_MAX; i++) {
		encoder_destroy(p->wenc[i]);
		p->wenc[i] = NULL;
	}
	encoder_destroy(p->enc);
	p->enc = NULL;
	motion_destroy(p->motion);
	p->motion = NULL;
	luma_free(&p->luma);
	convert_free(&p->conv);
	free(p->tbuf);
	p->tbuf = NULL;
	p->tbuf_cap = 0;
}

/* Lays out I420 planes for w x h in p->tbuf, the Y plane padded to even
 * dimensions (TurboJPEG reads whole 2x2 blocks). */
static int transform_target(struct pipeline *p, int w, int h,
			    struct picture *dst)
{
	int pw = (w + 1) & ~1, ph = (h + 1) & ~1;
	int ys = (pw + PIPELINE_ALIGN - 1) & ~(PIPELINE_ALIGN - 1);
	int cs = (pw / 2 + PIPELINE_ALIGN - 1) & ~(PIPELINE_ALIGN - 1);
	size_t ysize = (size_t)ys * (size_t)ph;
	size_t csize = (size_t)cs * (size_t)(ph / 2);
	size_t need = ysize + 2 * csize;

	if (need > p->tbuf_cap) {
		uint8_t *b = realloc(p->tbuf, need);
		if (b == NULL)
			return -1;
		p->tbuf = b;
		p->tbuf_cap = need;
	}
	memset(dst, 0, sizeof(*dst));
	dst->kind = PICTURE_I420;
	dst->width = w;
	dst->height = h;
	dst->planes[0] = p->tbuf;
	dst->planes[1] = p->tbuf + ysize;
	dst->planes[2] = p->tbuf + ysize + csize;
	dst->strides[0] = ys;
	dst->strides[1] = cs;
	dst->strides[2] = cs;
	return 0;
}

/* Repeats the last column and row into the even padding. */
static void pad_even(struct picture *pic)
{
	uint8_t *y = pic->planes[0];
	long s = pic->strides[0];

	if (pic->width & 1)
		for (int r = 0; r < pic->height; r++)
			y[r * s + pic->width] = y[r * s + pic->width - 1];
	if (pic->height & 1)
		memcpy(y + pic->height * s, y + (pic->height - 1) * s,
		       (size_t)((pic->width + 1) & ~1));
}

/* Feeds p->luma to the detector and fills *rm and the frame's flags;
 * returns rm, or NULL when the frame has no result. */
static const struct ring_motion *detect(struct pipeline *p,
					const struct picture *pic,
					struct ring_motion *rm, uint32_t *flags)
{
	struct motion_result res;
	int64_t mono = pic->monotonic_ns ? pic->monotonic_ns : clock_mono_ns();
	int64_t real = pic->realtime_ns ? pic->realtime_ns
					: (int64_t)time(NULL) * 1000000000;

	if (motion_feed(p->motion, &p->luma, mono, real, &res) < 0) {
		log_debug("motion detection skipped a frame: %s",
			  strerror(errno));
		return NULL;
	}
	rm->score = res.score > RING_MOTION_SCORE_MAX ? RING_MOTION_SCORE_MAX
						      : res.score;
	rm->since_ns = res.declared ? res.since_ns : 0;
	memcpy(rm->grid, res.grid, sizeof(rm->grid));
	if (res.declared)
		*flags |= RING_FRAME_MOTION;
	p->analysed++;
	return rm;
}

/* Motion on the Y plane about to be encoded, the overlay's box ignored. */
static const struct ring_motion *detect_raw(struct pipeline *p,
					    const struct picture *out,
					    struct ring_motion *rm,
					    uint32_t *flags)
{
	const struct ring_motion *r;
	int64_t t0;
	int bx, by, bw, bh;

	if (p->motion == NULL)
		return NULL;
	t0 = clock_mono_ns();
	overlay_box(&p->overlay, &bx, &by, &bw, &bh);
	if (bx != p->box_x || by != p->box_y || bw != p->box_w ||
	    bh != p->box_h || out->width != p->box_sw ||
	    out->height != p->box_sh) {
		motion_set_ignore_box(p->motion, bx, by, bw, bh, out->width,
				      out->height);
		p->box_x = bx;
		p->box_y = by;
		p->box_w = bw;
		p->box_h = bh;
		p->box_sw = out->width;
		p->box_sh = out->height;
	}
	if (luma_from_plane(&p->luma, out->planes[0], out->width, out->height,
			    out->strides[0]) < 0) {
		log_debug("motion detection skipped a %dx%d picture: %s",
			  out->width, out->height, strerror(errno));
		return NULL;
	}
	r = detect(p, out, rm, flags);
	p->motion_ns += clock_mono_ns() - t0;
	return r;
}

/* Motion on a small grey decode of the JPEG being published; NULL (no
 * result) when it does not decode, counted and logged now and then. */
static const struct ring_motion *detect_jpeg(struct pipeline *p,
					     const struct picture *pic,
					     struct ring_motion *rm,
					     uint32_t *flags)
{
	const struct ring_motion *r;
	int64_t t0;

	if (p->motion == NULL)
		return NULL;
	t0 = clock_mono_ns();
	if (luma_from_jpeg(&p->luma, pic->data, pic->len) < 0) {
		int saved = errno;

		p->motion_ns += clock_mono_ns() - t0;
		if (saved != EBADMSG) {
			log_debug("motion detection skipped a JPEG of %zu "
				  "bytes: %s",
				  pic->len, strerror(saved));
			return NULL;
		}
		p->undecodable++;
		if (p->undecodable_logged == 0 ||
		    t0 - p->undecodable_log_ns >= PIPELINE_UNDECODABLE_LOG_NS) {
			log_warnx("a JPEG of %zu bytes does not decode: "
				  "published without motion detection "
				  "(%llu such so far)",
				  pic->len, (unsigned long long)p->undecodable);
			p->undecodable_logged = p->undecodable;
			p->undecodable_log_ns = t0;
		}
		return NULL;
	}
	r = detect(p, pic, rm, flags);
	p->motion_ns += clock_mono_ns() - t0;
	return r;
}

/* The sub-stream's frame made from this one, when one is due. */
static void publish_sub(struct pipeline *p, const struct picture *pic,
			uint32_t flags, const struct ring_motion *motion)
{
	int64_t mono = pic->monotonic_ns ? pic->monotonic_ns : clock_mono_ns();

	if (p->sub == NULL || p->sub_ring == NULL ||
	    !substream_due(p->sub, mono))
		return;
	if (substream_publish(p->sub, pic, flags, motion, p->sub_ring) < 0)
		log_debug("sub-stream skipped a frame: %s", strerror(errno));
}

/* Lays out I420 planes for w x h in the job's buffer (the Y plane to the
 * even size), growing it and the JPEG buffer as needed. */
static int job_layout(struct pipeline_job *job, int w, int h)
{
	int pw = (w + 1) & ~1, ph = (h + 1) & ~1;
	size_t ysize = (size_t)pw * (size_t)ph;
	size_t csize = (size_t)(pw / 2) * (size_t)(ph / 2);
	size_t bound = encoder_bound(w, h);

	if (ysize + 2 * csize > job->buf_cap) {
		uint8_t *b = realloc(job->buf, ysize + 2 * csize);
		if (b == NULL)
			return -1;
		job->buf = b;
		job->buf_cap = ysize + 2 * csize;
	}
	if (bound > job->jpeg_cap) {
		uint8_t *b = realloc(job->jpeg, bound);
		if (b == NULL)
			return -1;
		job->jpeg = b;
		job->jpeg_cap = bound;
	}
	memset(&job->pic, 0, sizeof(job->pic));
	job->pic.kind = PICTURE_I420;
	job->pic.width = w;
	job->pic.height = h;
	job->pic.planes[0] = job->buf;
	job->pic.planes[1] = job->buf + ysize;
	job->pic.planes[2] = job->buf + ysize + csize;
	job->pic.strides[0] = pw;
	job->pic.strides[1] = pw / 2;
	job->pic.strides[2] = pw / 2;
	return 0;
}

/* Copies pic's planes into the job, unless pic was drawn there already
 * (pipeline_target). */
static int job_copy(struct pipeline_job *job, const struct picture *pic)
{
	int pw = (pic->width + 1) & ~1, ph = (pic->height + 1) & ~1;

	if (pic->planes[0] == job->buf && job->buf != NULL &&
	    pic->width == job->pic.width && pic->height == job->pic.height &&
	    pic->strides[0] == job->pic.strides[0] &&
	    pic->planes[1] == job->pic.planes[1] &&
	    pic->planes[2] == job->pic.planes[2])
		return 0;
	if (job_layout(job, pic->width, pic->height) < 0)
		return -1;
	for (int i = 0; i < 3; i++) {
		int rows = i ? ph / 2 : ph, bytes = i ? pw / 2 : pw;
		for (int r = 0; r < rows; r++)
			memcpy(job->pic.planes[i] +
				       (size_t)r * (size_t)job->pic.strides[i],
			       pic->planes[i] +
				       (size_t)r * (size_t)pic->strides[i],
			       (size_t)bytes);
	}
	return 0;
}

int pipeline_target(struct pipeline *p, int width, int height,
		    struct picture *dst)
{
	const struct pipeline_config *c = &p->cfg;
	struct pipeline_job *job;

	if (p->pool == NULL ||
	    !transform_is_identity(c->rotate, c->hflip, c->vflip) ||
	    width < 1 || height < 1) {
		errno = ENOTSUP;
		return -1;
	}
	job = &p->jobs[encpool_acquire(p->pool)];
	if (job_layout(job, width, height) < 0)
		return -1;
	*dst = job->pic;
	return 0;
}

/* Hands the picture about to be encoded to the encode threads. */
static int submit_raw(struct pipeline *p, const struct picture *out,
		      const struct picture *pic, uint32_t flags,
		      const struct ring_motion *motion, struct ring_writer *w,
		      int64_t spent_ns)
{
	int j = encpool_acquire(p->pool);
	struct pipeline_job *job = &p->jobs[j];
	int64_t t0 = clock_mono_ns();

	if (job_copy(job, out) < 0) {
		/* The job stays free: the next acquire returns it again. */
		ring_writer_count_drop(w);
		return -1;
	}
	job->flags = flags;
	job->has_motion = motion != NULL;
	if (motion != NULL)
		job->motion = *motion;
	job->realtime_ns = pic->realtime_ns;
	job->monotonic_ns = pic->monotonic_ns;
	job->ring = w;
	job->encode_ns = spent_ns + clock_mono_ns() - t0;
	encpool_submit(p->pool, j);
	return 0;
}

static void job_work(void *arg, int j, int worker)
{
	struct pipeline *p = arg;
	struct pipeline_job *job = &p->jobs[j];
	int64_t t0 = clock_mono_ns();

	job->len = encoder_encode(p->wenc[worker], &job->pic, job->jpeg,
				  job->jpeg_cap);
	job->err = job->len < 0 ? errno : 0;
	if (job->len < 0 && job->err == EIO)
		log_warnx("cannot encode a %dx%d picture: %s", job->pic.width,
			  job->pic.height, encoder_error(p->wenc[worker]));
	job->encode_ns += clock_mono_ns() - t0;
}

/* In capture order, one at a time (encpool). */
static void job_publish(void *arg, int j, int worker)
{
	struct pipeline *p = arg;
	struct pipeline_job *job = &p->jobs[j];
	const struct ring_motion *m = job->has_motion ? &job->motion : NULL;
	int r = -1;

	(void)worker;
	if (job->len < 0)
		ring_writer_count_drop(job->ring);
	else
		r = ring_writer_publish(job->ring, job->jpeg, (size_t)job->len,
					job->flags, (uint32_t)job->pic.width,
					(uint32_t)job->pic.height,
					job->realtime_ns, job->monotonic_ns, m);
	__atomic_fetch_add(&p->encode_ns, job->encode_ns, __ATOMIC_RELAXED);
	if (r < 0) {
		count_add(&p->dropped, 1);
		return;
	}
	count_add(&p->published, 1);
	job->pic.realtime_ns = job->realtime_ns;
	job->pic.monotonic_ns = job->monotonic_ns;
	publish_sub(p, &job->pic, job->flags, m);
}

static int publish_raw(struct pipeline *p, struct picture *pic,
		       struct ring_writer *w)
{
	struct ring_motion rm;
	const struct ring_motion *motion;
	uint32_t flags = RING_FRAME_KEY;
	struct picture i420, out;
	const struct pipeline_config *c = &p->cfg;
	int64_t t0 = clock_mono_ns(), m0;
	uint8_t *slot;
	long n;

	if (convert_to_i420(&p->conv, pic, &i420) < 0) {
		ring_writer_count_drop(w);
		return -1;
	}
	i420.realtime_ns = pic->realtime_ns;
	i420.monotonic_ns = pic->monotonic_ns;
	if (transform_is_identity(c->rotate, c->hflip, c->vflip)) {
		out = i420;
	} else {
		int ow, oh;
		transform_size(c->rotate, i420.width, i420.height, &ow, &oh);
		if (transform_target(p, ow, oh, &out) < 0) {
			ring_writer_count_drop(w);
			return -1;
		}
		transform_i420(&i420, &out, c->rotate, c->hflip, c->vflip);
		pad_even(&out);
	}
	overlay_draw(&p->overlay, &out,
		     pic->realtime_ns ? pic->realtime_ns
				      : (int64_t)time(NULL) * 1000000000);
	out.realtime_ns = pic->realtime_ns;
	out.monotonic_ns = pic->monotonic_ns;
	m0 = p->motion_ns;
	motion = detect_raw(p, &out, &rm, &flags);
	if (p->pool != NULL)
		return submit_raw(p, &out, pic, flags, motion, w,
				  clock_mono_ns() - t0 - (p->motion_ns - m0));

	slot = ring_writer_begin(w);
	n = encoder_encode(p->enc, &out, slot, ring_writer_capacity(w));
	if (n < 0) {
		int saved = errno;
		ring_writer_abort(w);
		ring_writer_count_drop(w);
		if (saved == EIO)
			log_warnx("cannot encode a %dx%d picture: %s",
				  out.width, out.height, encoder_error(p->enc));
		else
			log_debug("skipped a %dx%d picture: %s", out.width,
				  out.height, strerror(saved));
		errno = saved;
		return -1;
	}
	/* Detection is counted apart (motion_ns). */
	p->encode_ns += clock_mono_ns() - t0 - (p->motion_ns - m0);
	n = ring_writer_commit(w, (size_t)n, flags, (uint32_t)out.width,
			       (uint32_t)out.height, pic->realtime_ns,
			       pic->monotonic_ns, motion);
	publish_sub(p, &out, flags, motion);
	return (int)n;
}

int pipeline_publish(struct pipeline *p, struct picture *pic,
		     struct ring_writer *w)
{
	int r;

	if (pic->kind == PICTURE_JPEG) {
		const struct pipeline_config *c = &p->cfg;

		pipeline_flush(p); /* raw frames before, if any, go first */
		struct ring_motion rm;
		const struct ring_motion *motion;
		uint32_t flags = RING_FRAME_KEY;

		if (!p->jpeg_raw_warned &&
		    (!transform_is_identity(c->rotate, c->hflip, c->vflip) ||
		     (p->overlay.enabled && c->overlay_set))) {
			p->jpeg_raw_warned = 1;
			log_warnx(
				"the source gives JPEG pictures, published as "
				"they are: rotation, flips and overlay do "
				"not apply");
		}
		motion = detect_jpeg(p, pic, &rm, &flags);
		r = ring_writer_publish(w, pic->data, pic->len, flags,
					(uint32_t)pic->width,
					(uint32_t)pic->height, pic->realtime_ns,
					pic->monotonic_ns, motion);
		if (r < 0)
			log_debug("skipped a JPEG of %zu bytes: %s", pic->len,
				  strerror(errno));
		else
			publish_sub(p, pic, flags, motion);
	} else {
		r = publish_raw(p, pic, w);
		if (p->pool != NULL) { /* counted when published */
			if (r < 0)
				count_add(&p->dropped, 1);
			return r;
		}
	}
	if (r < 0)
		p->dropped++;
	else
		p->published++;
	return r;
}
