/* SPDX-License-Identifier: MIT */
/* pipeline: convert, transform, overlay, encode, publish. */
#include "pipeline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "log.h"
#include "transform.h"

#define PIPELINE_ALIGN 32

int pipeline_init(struct pipeline *p, const struct pipeline_config *cfg)
{
	memset(p, 0, sizeof(*p));
	p->cfg = *cfg;
	if (overlay_init(&p->overlay, cfg->overlay) < 0)
		return -1;
	p->cfg.overlay = NULL; /* copied into the overlay; not kept */
	return encoder_create(&p->enc, cfg->quality, cfg->fastdct);
}

void pipeline_free(struct pipeline *p)
{
	encoder_destroy(p->enc);
	p->enc = NULL;
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

static int publish_raw(struct pipeline *p, struct picture *pic,
		       struct ring_writer *w)
{
	struct picture i420, out;
	const struct pipeline_config *c = &p->cfg;
	int64_t t0 = clock_mono_ns();
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
	p->encode_ns += clock_mono_ns() - t0;
	return ring_writer_commit(w, (size_t)n, RING_FRAME_KEY,
				  (uint32_t)out.width, (uint32_t)out.height,
				  pic->realtime_ns, pic->monotonic_ns, NULL);
}

int pipeline_publish(struct pipeline *p, struct picture *pic,
		     struct ring_writer *w)
{
	int r;

	if (pic->kind == PICTURE_JPEG) {
		const struct pipeline_config *c = &p->cfg;
		if (!p->jpeg_raw_warned &&
		    (!transform_is_identity(c->rotate, c->hflip, c->vflip) ||
		     (p->overlay.enabled && c->overlay_set))) {
			p->jpeg_raw_warned = 1;
			log_warnx(
				"the source gives JPEG pictures, published as "
				"they are: rotation, flips and overlay do "
				"not apply");
		}
		r = ring_writer_publish(w, pic->data, pic->len, RING_FRAME_KEY,
					(uint32_t)pic->width,
					(uint32_t)pic->height, pic->realtime_ns,
					pic->monotonic_ns, NULL);
		if (r < 0)
			log_debug("skipped a JPEG of %zu bytes: %s", pic->len,
				  strerror(errno));
	} else {
		r = publish_raw(p, pic, w);
	}
	if (r < 0)
		p->dropped++;
	else
		p->published++;
	return r;
}
