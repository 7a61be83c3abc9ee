/* SPDX-License-Identifier: MIT */
/*
 * testsrc: a synthetic picture that needs no camera.  Colour bars over two
 * thirds of the height and a luma ramp under them.  By default the scene is
 * still, as a camera's usually is, except for an object (a box) that
 * crosses it for DURATION every PERIOD (--testsrc-motion), so motion
 * detection is seen coming and going.  With "always" the ramp slides, a box
 * bounces and a frame counter runs: every frame differs from the last (what
 * tests of the stream's liveness want).  With "off" nothing moves.  Paced by a
 * timerfd with absolute periodic deadlines: no drift, and after a stall the
 * missed deadlines are counted and one frame is drawn, never a burst.
 * Unpaced (--fps max), its fd is always readable: a frame whenever the
 * capture loop asks, for measuring the encoders.  The picture is drawn into
 * the encoder's planes when the capture offers them (cfg->target).
 */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
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
	uint8_t *ramp; /* the ramp's levels, pw + 256 wide: row y of the ramp
			  starts at (y + slide) & 255 */
	struct picture pic;
	struct testsrc_motion motion;
	int fps;
	int unpaced; /* tfd is an eventfd that stays readable */
	int64_t start_ns; /* unpaced: the crossing's clock */
	int (*target)(void *arg, int width, int height, struct picture *dst);
	void *target_arg;
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

/* Seconds with up to three decimals, 0..3600, as ms; -1 when not. */
static long seconds_ms(const char *s, const char *end)
{
	long ms = 0, frac = 0, scale = 1000;
	int digits = 0;

	for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
		ms = ms * 10 + (*s - '0');
		if (ms > 3600)
			return -1;
	}
	ms *= 1000;
	if (s < end && *s == '.') {
		s++;
		for (; s < end && *s >= '0' && *s <= '9'; s++, digits++) {
			if (scale == 1)
				return -1;
			scale /= 10;
			frac += (*s - '0') * scale;
		}
	}
	if (s != end || digits == 0 || ms + frac > 3600000)
		return -1;
	return ms + frac;
}

int testsrc_parse_motion(const char *text, struct testsrc_motion *m, char *why,
			 size_t size)
{
	const char *slash = strchr(text, '/');
	long period, duration;

	if (strcmp(text, "off") == 0) {
		memset(m, 0, sizeof(*m));
		m->mode = TESTSRC_MOTION_OFF;
		return 0;
	}
	if (strcmp(text, "always") == 0) {
		memset(m, 0, sizeof(*m));
		m->mode = TESTSRC_MOTION_ALWAYS;
		return 0;
	}
	if (slash == NULL || (period = seconds_ms(text, slash)) < 0 ||
	    (duration = seconds_ms(slash + 1, slash + strlen(slash))) < 0 ||
	    duration <= 0 || duration >= period) {
		snprintf(why, size,
			 "expected off, always or PERIOD/DURATION in seconds "
			 "with 0 < DURATION < PERIOD <= 3600, e.g. 30/5");
		return -1;
	}
	m->mode = TESTSRC_MOTION_CROSSING;
	m->period_ms = (int)period;
	m->duration_ms = (int)duration;
	return 0;
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
	s->fps = cfg->fps;
	s->unpaced = cfg->unpaced;
	s->target = cfg->target;
	s->target_arg = cfg->target_arg;
	s->motion = cfg->testsrc_motion;
	if (s->motion.mode == TESTSRC_MOTION_CROSSING &&
	    (s->motion.period_ms <= 0 || s->motion.duration_ms <= 0 ||
	     s->motion.duration_ms >= s->motion.period_ms)) {
		s->motion.period_ms = TESTSRC_MOTION_PERIOD_MS;
		s->motion.duration_ms = TESTSRC_MOTION_DURATION_MS;
	}
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
	/* Planes, then one row of bars per plane, then the ramp. */
	s->mem = aligned_alloc(
		TESTSRC_ALIGN,
		ysize + 2 * csize + (size_t)ystride + 2 * (size_t)cstride +
			(((size_t)s->pw + 256 + TESTSRC_ALIGN - 1) &
			 ~(size_t)(TESTSRC_ALIGN - 1)));
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
	s->ramp = s->bar_rows[2] + cstride;
	for (int x = 0; x < s->pw + 256; x++)
		s->ramp[x] = (uint8_t)(16 + (unsigned)(x & 255) * 219 / 255);
	for (int x = 0; x < s->pw; x++) {
		uint8_t yuv[3];
		rgb_to_yuv(bars_rgb[x * TESTSRC_BARS / s->pw], yuv);
		s->bar_rows[0][x] = yuv[0];
		if ((x & 1) == 0) {
			s->bar_rows[1][x / 2] = yuv[1];
			s->bar_rows[2][x / 2] = yuv[2];
		}
	}

	if (s->unpaced) {
		/* Never read: readable for good. */
		s->tfd = eventfd(1, EFD_NONBLOCK | EFD_CLOEXEC);
		if (s->tfd < 0)
			goto fail;
		s->start_ns = clock_mono_ns();
		*out = (struct source *)(void *)s;
		return 0;
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

/* Fills a box of Y level luma and chroma (u, v), clipped to the picture;
 * x, y and size even. */
static void fill_box(struct picture *pic, int pw, int ph, int x, int y,
		     int size, uint8_t luma, uint8_t u, uint8_t v)
{
	int x0 = x < 0 ? 0 : x, y0 = y < 0 ? 0 : y;
	int x1 = x + size > pw ? pw : x + size;
	int y1 = y + size > ph ? ph : y + size;

	if (x0 >= x1 || y0 >= y1)
		return;
	for (int r = y0; r < y1; r++)
		memset(pic->planes[0] + (long)r * pic->strides[0] + x0, luma,
		       (size_t)(x1 - x0));
	for (int r = y0 / 2; r < (y1 + 1) / 2; r++) {
		memset(pic->planes[1] + (long)r * pic->strides[1] + x0 / 2, u,
		       (size_t)((x1 + 1) / 2 - x0 / 2));
		memset(pic->planes[2] + (long)r * pic->strides[2] + x0 / 2, v,
		       (size_t)((x1 + 1) / 2 - x0 / 2));
	}
}

/* CROSSING: the object's left edge at ms since the start, or INT_MIN when
 * no crossing is under way.  It enters at the left edge and has left at
 * the right one when the crossing's DURATION ends. */
static int crossing_x(const struct testsrc *s, uint64_t ms, int box)
{
	uint64_t period = (uint64_t)s->motion.period_ms;
	uint64_t duration = (uint64_t)s->motion.duration_ms, in;

	if (ms < TESTSRC_MOTION_FIRST_MS)
		return INT_MIN;
	in = (ms - TESTSRC_MOTION_FIRST_MS) % period;
	if (in >= duration)
		return INT_MIN;
	return (int)(-box + (int64_t)((uint64_t)(s->pw + box) * in / duration));
}

/* Draws the frame into pic's planes (s->pic, or the encoder's). */
static void render(struct testsrc *s, struct picture *pic)
{
	int bars_h = (s->ph * 2 / 3) & ~1;
	int box = (s->ph / 6) & ~1;
	int always = s->motion.mode == TESTSRC_MOTION_ALWAYS;
	int scale;
	uint64_t t = always ? s->ticks : 0;
	char label[64];

	for (int y = 0; y < s->ph; y++) {
		uint8_t *row = pic->planes[0] + (long)y * pic->strides[0];
		if (y < bars_h) {
			memcpy(row, s->bar_rows[0], (size_t)s->pw);
		} else {
			/* A ramp, level 16 + ((x + y + 4t) & 255) * 219 / 255;
			 * with "always" sliding left by 4 luma steps per
			 * frame. */
			memcpy(row, s->ramp + ((y + t * 4) & 255),
			       (size_t)s->pw);
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

	if (box >= 2 && always) {
		/* An orange box bouncing across the picture in about four
		 * seconds. */
		int bx = bounce(t * (uint64_t)(s->pw / 96 + 1), s->pw - box) &
			 ~1;
		int by = bounce(t * (uint64_t)(s->ph / 96 + 1), s->ph - box) &
			 ~1;
		fill_box(pic, s->pw, s->ph, bx, by, box, 170, 60, 190);
	} else if (box >= 2 && s->motion.mode == TESTSRC_MOTION_CROSSING) {
		/* An orange box crossing at mid height now and then. */
		uint64_t ms = s->unpaced ? (uint64_t)(clock_mono_ns() -
						      s->start_ns) /
						   1000000
					 : s->ticks * 1000 / (uint64_t)s->fps;
		int bx = crossing_x(s, ms, box);
		if (bx != INT_MIN)
			fill_box(pic, s->pw, s->ph, bx & ~1,
				 (s->ph / 2 - box / 2) & ~1, box, 170, 60, 190);
	}

	scale = overlay_scale(s->height);
	if (always)
		snprintf(label, sizeof(label), "vigil testsrc %dx%d #%llu",
			 s->width, s->height, (unsigned long long)s->frames);
	else
		snprintf(label, sizeof(label), "vigil testsrc %dx%d", s->width,
			 s->height);
	overlay_draw_text(pic, 4 * scale,
			  s->height - (FONT_GLYPH_H + 4) * scale, scale, label,
			  1);
}

static enum source_result testsrc_next(struct source *src, struct picture *pic)
{
	struct testsrc *s = TESTSRC(src);
	uint64_t expirations;
	struct timespec rt, mono;
	struct picture target, *dst = &s->pic;
	ssize_t n;

	if (s->unpaced) {
		expirations = 1;
		goto draw;
	}
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
draw:
	s->ticks += expirations;
	s->frames++;
	/* The encoder's planes spare the pipeline a copy of the picture;
	 * when it offers none, our own. */
	if (s->target != NULL &&
	    s->target(s->target_arg, s->width, s->height, &target) == 0)
		dst = &target;
	render(s, dst);
	clock_gettime(CLOCK_REALTIME, &rt);
	clock_gettime(CLOCK_MONOTONIC, &mono);
	*pic = *dst;
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
