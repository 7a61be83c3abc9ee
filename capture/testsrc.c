/* SPDX-License-Identifier: MIT */
/*
 * testsrc: a synthetic moving picture that needs no camera.  Colour bars
 * over two thirds of the height, a luma ramp sliding under them, a bouncing
 * box and a frame counter, so a viewer sees at a glance that the stream is
 * live and that colour, motion and text survive the chain.  Paced by a
 * timerfd with absolute periodic deadlines: no drift, and after a stall the
 * missed deadlines are counted and one frame is drawn, never a burst.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "font.h"
#include "overlay.h"
#include "source.h"

#define TESTSRC_BARS 7
#define TESTSRC_ALIGN 32

/* struct source is each source's own; this one is a struct testsrc. */
#define TESTSRC(src) ((struct testsrc *)(void *)(src))
#define CTESTSRC(src) ((const struct testsrc *)(const void *)(src))

struct testsrc {
	int tfd;
	int width, height; /* picture size */
	int pw, ph; /* Y plane size, padded to even */
	uint8_t *mem; /* the three planes */
	uint8_t *bar_rows[3]; /* one prerendered row of bars per plane */
	struct picture pic;
	uint64_t ticks; /* periods elapsed since the start */
	uint64_t frames;
	uint64_t missed;
};

/* 75% colour bars, as R, G, B fractions. */
static const double bars_rgb[TESTSRC_BARS][3] = {
	{0.75, 0.75, 0.75}, {0.75, 0.75, 0}, {0, 0.75, 0.75}, {0, 0.75, 0},
	{0.75, 0, 0.75},    {0.75, 0, 0},    {0, 0, 0.75},
};

/* BT.601 limited range, what JPEG decoders assume for YCbCr (JFIF is full
 * range; the small mismatch does not matter for a test picture). */
static void rgb_to_yuv(const double rgb[3], uint8_t yuv[3])
{
	double r = rgb[0], g = rgb[1], b = rgb[2];
	yuv[0] = (uint8_t)(16 + 65.481 * r + 128.553 * g + 24.966 * b + 0.5);
	yuv[1] = (uint8_t)(128 - 37.797 * r - 74.203 * g + 112.0 * b + 0.5);
	yuv[2] = (uint8_t)(128 + 112.0 * r - 93.786 * g - 18.214 * b + 0.5);
}

static int testsrc_match(const char *spec)
{
	return strcmp(spec, "testsrc") == 0;
}

static void testsrc_free(struct testsrc *s)
{
	if (s == NULL)
		return;
	if (s->tfd >= 0)
		close(s->tfd);
	free(s->mem);
	free(s);
}

static int testsrc_open(struct source **out, const struct source_config *cfg)
{
	struct testsrc *s;
	int saved;
	size_t ysize, csize;
	int cw, ch, ystride, cstride;
	long period;
	struct itimerspec its;
	struct timespec now;

	*out = NULL;
	if (cfg->width < 2 || cfg->height < 2 || cfg->fps < 1) {
		errno = EINVAL;
		return -1;
	}
	s = calloc(1, sizeof(*s));
	if (s == NULL)
		return -1;
	s->tfd = -1;
	s->width = cfg->width;
	s->height = cfg->height;
	s->pw = (cfg->width + 1) & ~1;
	s->ph = (cfg->height + 1) & ~1;
	cw = s->pw / 2;
	ch = s->ph / 2;
	ystride = (s->pw + TESTSRC_ALIGN - 1) & ~(TESTSRC_ALIGN - 1);
	cstride = (cw + TESTSRC_ALIGN - 1) & ~(TESTSRC_ALIGN - 1);
	ysize = (size_t)ystride * (size_t)s->ph;
	csize = (size_t)cstride * (size_t)ch;
	/* Planes, then one row of bars per plane. */
	s->mem = aligned_alloc(TESTSRC_ALIGN, ysize + 2 * csize +
						      (size_t)ystride +
						      2 * (size_t)cstride);
	if (s->mem == NULL)
		goto fail;
	s->pic.kind = PICTURE_I420;
	s->pic.width = s->width;
	s->pic.height = s->height;
	s->pic.planes[0] = s->mem;
	s->pic.planes[1] = s->mem + ysize;
	s->pic.planes[2] = s->mem + ysize + csize;
	s->pic.strides[0] = ystride;
	s->pic.strides[1] = cstride;
	s->pic.strides[2] = cstride;
	s->bar_rows[0] = s->mem + ysize + 2 * csize;
	s->bar_rows[1] = s->bar_rows[0] + ystride;
	s->bar_rows[2] = s->bar_rows[1] + cstride;
	for (int x = 0; x < s->pw; x++) {
		uint8_t yuv[3];
		rgb_to_yuv(bars_rgb[x * TESTSRC_BARS / s->pw], yuv);
		s->bar_rows[0][x] = yuv[0];
		if ((x & 1) == 0) {
			s->bar_rows[1][x / 2] = yuv[1];
			s->bar_rows[2][x / 2] = yuv[2];
		}
	}

	s->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->tfd < 0)
		goto fail;
	/* Absolute periodic deadlines: the kernel keeps the cadence, so the
	 * time we take per frame never accumulates into drift. */
	period = 1000000000L / cfg->fps;
	clock_gettime(CLOCK_MONOTONIC, &now);
	its.it_interval.tv_sec = period / 1000000000L;
	its.it_interval.tv_nsec = period % 1000000000L;
	its.it_value = now;
	its.it_value.tv_nsec += period;
	while (its.it_value.tv_nsec >= 1000000000L) {
		its.it_value.tv_nsec -= 1000000000L;
		its.it_value.tv_sec++;
	}
	if (timerfd_settime(s->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0)
		goto fail;
	*out = (struct source *)(void *)s;
	return 0;
fail:
	saved = errno;
	testsrc_free(s);
	errno = saved;
	return -1;
}

static int testsrc_fd(const struct source *src)
{
	return CTESTSRC(src)->tfd;
}

/* 0..range..0: a position that bounces between two walls. */
static int bounce(uint64_t t, int range)
{
	uint64_t p;
	if (range <= 0)
		return 0;
	p = t % (uint64_t)(2 * range);
	return (int)(p < (uint64_t)range ? p : (uint64_t)(2 * range) - p);
}

static void render(struct testsrc *s)
{
	struct picture *pic = &s->pic;
	int bars_h = (s->ph * 2 / 3) & ~1;
	int box = (s->ph / 6) & ~1;
	int bx, by, scale;
	uint64_t t = s->ticks;
	char label[64];

	for (int y = 0; y < s->ph; y++) {
		uint8_t *row = pic->planes[0] + (long)y * pic->strides[0];
		if (y < bars_h) {
			memcpy(row, s->bar_rows[0], (size_t)s->pw);
		} else {
			/* A ramp sliding left by 4 luma steps per frame. */
			for (int x = 0; x < s->pw; x++)
				row[x] = (uint8_t)(16 +
						   ((unsigned)(x + y + t * 4) &
						    255) * 219 /
							   255);
		}
	}
	for (int p = 1; p < 3; p++)
		for (int y = 0; y < s->ph / 2; y++) {
			uint8_t *row = pic->planes[p] +
				       (long)y * pic->strides[p];
			if (y < bars_h / 2)
				memcpy(row, s->bar_rows[p], (size_t)s->pw / 2);
			else
				memset(row, 128, (size_t)s->pw / 2);
		}

	/* An orange box crossing the picture in about four seconds. */
	if (box >= 2) {
		bx = bounce(t * (uint64_t)(s->pw / 96 + 1), s->pw - box) & ~1;
		by = bounce(t * (uint64_t)(s->ph / 96 + 1), s->ph - box) & ~1;
		for (int y = by; y < by + box; y++)
			memset(pic->planes[0] + (long)y * pic->strides[0] + bx,
			       170, (size_t)box);
		for (int y = by / 2; y < (by + box) / 2; y++) {
			memset(pic->planes[1] + (long)y * pic->strides[1] +
				       bx / 2,
			       60, (size_t)box / 2);
			memset(pic->planes[2] + (long)y * pic->strides[2] +
				       bx / 2,
			       190, (size_t)box / 2);
		}
	}

	scale = overlay_scale(s->height);
	snprintf(label, sizeof(label), "vigil testsrc %dx%d #%llu", s->width,
		 s->height, (unsigned long long)s->frames);
	overlay_draw_text(pic, 4 * scale,
			  s->height - (FONT_GLYPH_H + 4) * scale, scale, label,
			  1);
}

static enum source_result testsrc_next(struct source *src, struct picture *pic)
{
	struct testsrc *s = TESTSRC(src);
	uint64_t expirations;
	struct timespec rt, mono;
	ssize_t n;

	n = read(s->tfd, &expirations, sizeof(expirations));
	if (n < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return SOURCE_AGAIN;
		return SOURCE_ERROR;
	}
	if (n != sizeof(expirations) || expirations == 0)
		return SOURCE_AGAIN;
	if (expirations > 1) {
		/* We were late (a stall): draw one frame, count the rest. */
		s->missed += expirations - 1;
		log_debug("testsrc: %llu deadlines missed",
			  (unsigned long long)(expirations - 1));
	}
	s->ticks += expirations;
	s->frames++;
	render(s);
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	*pic = s->pic;
	pic->realtime_ns = (int64_t)rt.tv_sec * 1000000000 + rt.tv_nsec;
	pic->monotonic_ns = (int64_t)mono.tv_sec * 1000000000 + mono.tv_nsec;
	return SOURCE_FRAME;
}

static uint64_t testsrc_skipped(const struct source *src)
{
	return CTESTSRC(src)->missed;
}

static void testsrc_close(struct source *src)
{
	testsrc_free(TESTSRC(src));
}

const struct source_ops testsrc_source_ops = {
	.name = "testsrc",
	.match = testsrc_match,
	.open = testsrc_open,
	.fd = testsrc_fd,
	.next = testsrc_next,
	.release = NULL,
	.skipped = testsrc_skipped,
	.close = testsrc_close,
};
