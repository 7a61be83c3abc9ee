/* SPDX-License-Identifier: MIT */
/* substream: the small picture, scaled, encoded and published at its rate. */
#include "substream.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "clock.h"

int substream_size(int main_w, int main_h, int req_w, int req_h, int *w, int *h)
{
	int mw = main_w & ~1, mh = main_h & ~1;
	long rw = req_w, rh = req_h;

	if (mw < SUBSTREAM_DIM_MIN || mh < SUBSTREAM_DIM_MIN || rw <= 0 ||
	    rh < 0) {
		errno = EINVAL;
		return -1;
	}
	if (rh == 0 && main_w >= main_h) {
		if (rw > mw)
			rw = mw;
		rh = (rw * main_h + main_w / 2) / main_w;
	} else if (rh == 0) { /* portrait: req_w is the height */
		rh = rw > mh ? mh : rw;
		rw = (rh * main_w + main_h / 2) / main_h;
	}
	if (rw > mw)
		rw = mw;
	if (rh > mh)
		rh = mh;
	rw &= ~1L;
	rh &= ~1L;
	if (rw < SUBSTREAM_DIM_MIN)
		rw = SUBSTREAM_DIM_MIN;
	if (rh < SUBSTREAM_DIM_MIN)
		rh = SUBSTREAM_DIM_MIN;
	*w = (int)rw;
	*h = (int)rh;
	return 0;
}

int substream_init(struct substream *s, const struct substream_config *cfg)
{
	size_t ysize, csize;

	memset(s, 0, sizeof(*s));
	if (cfg->width < SUBSTREAM_DIM_MIN || cfg->height < SUBSTREAM_DIM_MIN ||
	    (cfg->width & 1) || (cfg->height & 1) || cfg->fps < 1 ||
	    cfg->quality < 1 || cfg->quality > 100) {
		errno = EINVAL;
		return -1;
	}
	s->cfg = *cfg;
	s->interval_ns = 1000000000 / cfg->fps;
	ysize = (size_t)cfg->width * (size_t)cfg->height;
	csize = ysize / 4;
	s->yuv = malloc(ysize + 2 * csize);
	if (s->yuv == NULL)
		return -1;
	s->small.kind = PICTURE_I420;
	s->small.width = cfg->width;
	s->small.height = cfg->height;
	s->small.planes[0] = s->yuv;
	s->small.planes[1] = s->yuv + ysize;
	s->small.planes[2] = s->yuv + ysize + csize;
	s->small.strides[0] = cfg->width;
	s->small.strides[1] = cfg->width / 2;
	s->small.strides[2] = cfg->width / 2;
	s->rgb_small = malloc(ysize * 3);
	if (s->rgb_small == NULL)
		return -1;
	return encoder_create(&s->enc, cfg->quality, cfg->fastdct);
}

void substream_free(struct substream *s)
{
	encoder_destroy(s->enc);
	s->enc = NULL;
	if (s->dec != NULL)
		tjDestroy(s->dec);
	if (s->comp != NULL)
		tjDestroy(s->comp);
	s->dec = s->comp = NULL;
	free(s->yuv);
	free(s->rgb);
	free(s->rgb_small);
	s->yuv = s->rgb = s->rgb_small = NULL;
	s->rgb_cap = 0;
}

int substream_due(struct substream *s, int64_t monotonic_ns)
{
	/* A quarter interval early still counts: capture times jitter, and a
	 * frame a little early must not wait a whole main interval more. */
	if (s->next_ns != 0 && monotonic_ns < s->next_ns - s->interval_ns / 4)
		return 0;
	/* The first frame, or a gap of more than one interval (a stall, a
	 * clock step): restart the schedule from this frame. */
	if (s->next_ns == 0 || monotonic_ns - s->next_ns >= s->interval_ns)
		s->next_ns = monotonic_ns;
	s->next_ns += s->interval_ns;
	return 1;
}

/* One plane shrunk by a whole factor k in both directions (k a constant
 * in each caller below, so that the compiler unrolls and vectorises). */
static inline __attribute__((always_inline)) void scale_whole(
	const uint8_t *src, int sstride, uint8_t *dst, int dw, int dh,
	int dstride, int k)
{
	const uint32_t n = (uint32_t)(k * k);

	for (int dy = 0; dy < dh; dy++) {
		const uint8_t *row = src +
				     (size_t)dy * (size_t)k * (size_t)sstride;
		uint8_t *d = dst + (size_t)dy * (size_t)dstride;

		for (int dx = 0; dx < dw; dx++) {
			uint32_t sum = 0;

			for (int y = 0; y < k; y++)
				for (int x = 0; x < k; x++)
					sum += row[(size_t)y * (size_t)sstride +
						   (size_t)(dx * k + x)];
			d[dx] = (uint8_t)((sum + n / 2) / n);
		}
	}
}

void substream_scale_plane(const uint8_t *src, int sw, int sh, int sstride,
			   uint8_t *dst, int dw, int dh, int dstride, int bpp)
{
	int y0 = 0;

	if (bpp == 1 && dw > 0 && dh > 0 && sw % dw == 0 && sh % dh == 0 &&
	    sw / dw == sh / dh) {
		switch (sw / dw) {
		case 1:
			for (int y = 0; y < dh; y++)
				memcpy(dst + (size_t)y * (size_t)dstride,
				       src + (size_t)y * (size_t)sstride,
				       (size_t)dw);
			return;
		case 2:
			scale_whole(src, sstride, dst, dw, dh, dstride, 2);
			return;
		case 3:
			scale_whole(src, sstride, dst, dw, dh, dstride, 3);
			return;
		case 4:
			scale_whole(src, sstride, dst, dw, dh, dstride, 4);
			return;
		default:
			break;
		}
	}

	for (int dy = 0; dy < dh; dy++) {
		int y1 = (int)((int64_t)(dy + 1) * sh / dh);
		int x0 = 0;
		uint8_t *d = dst + (size_t)dy * (size_t)dstride;

		if (y1 <= y0) /* enlarging: the nearest row */
			y1 = y0 + 1;
		if (y1 > sh)
			y1 = sh, y0 = sh - 1;
		for (int dx = 0; dx < dw; dx++) {
			int x1 = (int)((int64_t)(dx + 1) * sw / dw);
			uint32_t n;

			if (x1 <= x0)
				x1 = x0 + 1;
			if (x1 > sw)
				x1 = sw, x0 = sw - 1;
			n = (uint32_t)(x1 - x0) * (uint32_t)(y1 - y0);
			for (int c = 0; c < bpp; c++) {
				uint32_t sum = 0;

				for (int y = y0; y < y1; y++) {
					const uint8_t *row =
						src +
						(size_t)y * (size_t)sstride;
					for (int x = x0; x < x1; x++)
						sum += row[x * bpp + c];
				}
				d[dx * bpp + c] = (uint8_t)((sum + n / 2) / n);
			}
			x0 = (int)((int64_t)(dx + 1) * sw / dw);
		}
		y0 = (int)((int64_t)(dy + 1) * sh / dh);
	}
}

/* The I420 picture scaled into s->small. */
static void scale_i420(struct substream *s, const struct picture *pic)
{
	int cw = (pic->width + 1) / 2, ch = (pic->height + 1) / 2;
	const struct picture *d = &s->small;

	substream_scale_plane(pic->planes[0], pic->width, pic->height,
			      pic->strides[0], d->planes[0], d->width,
			      d->height, d->strides[0], 1);
	for (int i = 1; i < 3; i++)
		substream_scale_plane(pic->planes[i], cw, ch, pic->strides[i],
				      d->planes[i], d->width / 2, d->height / 2,
				      d->strides[i], 1);
}

static int publish_raw(struct substream *s, const struct picture *pic,
		       uint32_t flags, const struct ring_motion *motion,
		       struct ring_writer *w)
{
	uint8_t *slot;
	long n;

	scale_i420(s, pic);
	slot = ring_writer_begin(w);
	n = encoder_encode(s->enc, &s->small, slot, ring_writer_capacity(w));
	if (n < 0) {
		int saved = errno;
		ring_writer_abort(w);
		errno = saved;
		return -1;
	}
	return ring_writer_commit(w, (size_t)n, flags, (uint32_t)s->small.width,
				  (uint32_t)s->small.height, pic->realtime_ns,
				  pic->monotonic_ns, motion);
}

/* The smallest of TurboJPEG's scales that keeps w x h at least the sub
 * size (1/1 when none does). */
static void pick_scale(const struct substream *s, int w, int h, int *sw,
		       int *sh)
{
	int n = 0;
	tjscalingfactor *f = tjGetScalingFactors(&n);

	*sw = w;
	*sh = h;
	for (int i = 0; f != NULL && i < n; i++) {
		int tw = TJSCALED(w, f[i]), th = TJSCALED(h, f[i]);

		if (tw >= s->cfg.width && th >= s->cfg.height &&
		    (long)tw * th < (long)*sw * *sh) {
			*sw = tw;
			*sh = th;
		}
	}
}

static int publish_jpeg(struct substream *s, const struct picture *pic,
			uint32_t flags, const struct ring_motion *motion,
			struct ring_writer *w)
{
	int jw, jh, sub, cs, sw, sh, cw = s->cfg.width, chh = s->cfg.height;
	const uint8_t *rgb;
	unsigned char *out;
	unsigned long size = 0;
	uint8_t *slot;
	size_t need;

	if (s->dec == NULL && (s->dec = tjInitDecompress()) == NULL)
		goto nomem;
	if (s->comp == NULL && (s->comp = tjInitCompress()) == NULL)
		goto nomem;
	if (pic->len > (unsigned long)-1 ||
	    tjDecompressHeader3(s->dec, pic->data, (unsigned long)pic->len, &jw,
				&jh, &sub, &cs) != 0 ||
	    jw <= 0 || jh <= 0) {
		errno = EBADMSG;
		return -1;
	}
	pick_scale(s, jw, jh, &sw, &sh);
	need = (size_t)sw * (size_t)sh * 3;
	if (need > s->rgb_cap) {
		uint8_t *b = realloc(s->rgb, need);
		if (b == NULL)
			return -1;
		s->rgb = b;
		s->rgb_cap = need;
	}
	if (tjDecompress2(s->dec, pic->data, (unsigned long)pic->len, s->rgb,
			  sw, sw * 3, sh, TJPF_RGB, 0) != 0 &&
	    tjGetErrorCode(s->dec) == TJERR_FATAL) {
		errno = EBADMSG;
		return -1;
	}
	rgb = s->rgb;
	if (sw != cw || sh != chh) {
		substream_scale_plane(s->rgb, sw, sh, sw * 3, s->rgb_small, cw,
				      chh, cw * 3, 3);
		rgb = s->rgb_small;
	}
	if (ring_writer_capacity(w) < tjBufSize(cw, chh, TJSAMP_420)) {
		errno = EMSGSIZE;
		return -1;
	}
	slot = ring_writer_begin(w);
	out = slot;
	if (tjCompress2(s->comp, rgb, cw, cw * 3, chh, TJPF_RGB, &out, &size,
			TJSAMP_420, s->cfg.quality,
			TJFLAG_NOREALLOC |
				(s->cfg.fastdct ? TJFLAG_FASTDCT
						: TJFLAG_ACCURATEDCT)) != 0 ||
	    out != slot) {
		ring_writer_abort(w);
		errno = EIO;
		return -1;
	}
	return ring_writer_commit(w, (size_t)size, flags, (uint32_t)cw,
				  (uint32_t)chh, pic->realtime_ns,
				  pic->monotonic_ns, motion);
nomem:
	errno = ENOMEM;
	return -1;
}

int substream_publish(struct substream *s, const struct picture *pic,
		      uint32_t flags, const struct ring_motion *motion,
		      struct ring_writer *w)
{
	int64_t t0 = clock_mono_ns();
	int r;

	if (pic->kind == PICTURE_JPEG)
		r = publish_jpeg(s, pic, flags, motion, w);
	else if (pic->kind == PICTURE_I420 && pic->width > 0 && pic->height > 0)
		r = publish_raw(s, pic, flags, motion, w);
	else {
		errno = EINVAL;
		r = -1;
	}
	s->encode_ns += clock_mono_ns() - t0;
	if (r < 0) {
		int saved = errno;
		ring_writer_count_drop(w);
		s->dropped++;
		errno = saved;
		return -1;
	}
	s->published++;
	return 0;
}
