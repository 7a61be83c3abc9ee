/* SPDX-License-Identifier: MIT */
/*
 * overlay: burns a strftime(3) text (the capture time by default) into the
 * top-left corner of a raw I420 picture, in vigil's 5x7 bitmap font
 * (common/font.h) scaled to the picture height, light text on a darkened box, and
 * neutral chroma under the box so the text stays grey on any colour.
 * Draws in place; no allocation.
 */
#ifndef VIGIL_OVERLAY_H
#define VIGIL_OVERLAY_H

#include <stdint.h>
#include <time.h>

#include "source.h"

#define OVERLAY_FMT_MAX 128 /* bytes of a format, NUL included */
#define OVERLAY_TEXT_MAX 160 /* bytes of an expanded text, NUL included */

struct overlay {
	int enabled;
	char fmt[OVERLAY_FMT_MAX];
	char text[OVERLAY_TEXT_MAX];
	time_t text_sec; /* the second text was expanded for */
	/* The box last drawn by overlay_draw, in the picture's pixels (w, h
	 * 0 before the first draw or when nothing was drawn). */
	int box_x, box_y, box_w, box_h;
};

/* fmt NULL or "" disables the overlay.  -1 with EINVAL when fmt is longer
 * than OVERLAY_FMT_MAX - 1 bytes. */
int overlay_init(struct overlay *ov, const char *fmt);

/* Expands the format for realtime_ns (local time, cached per second) and
 * draws it on pic (PICTURE_I420).  Does nothing when disabled. */
void overlay_draw(struct overlay *ov, struct picture *pic, int64_t realtime_ns);

/*
 * The box (text and its darkened background) the last overlay_draw covered,
 * clipped to the picture; *w and *h are 0 when it drew nothing.  Motion
 * detection ignores it: the ticking clock is not motion.
 */
void overlay_box(const struct overlay *ov, int *x, int *y, int *w, int *h);

/* The text as last expanded ("" before the first draw). */
const char *overlay_text(const struct overlay *ov);

/* The font scale used for a picture height (1 below 480 lines, 3 at 720). */
int overlay_scale(int height);

/*
 * Draws text with its top-left corner at (x, y), clipped to the picture.
 * With box, a darkened box with neutral chroma is drawn behind it first,
 * extending 2*scale pixels around the text (aligned to even pixels for the
 * chroma planes).  Characters the font lacks are drawn as '?'.
 */
void overlay_draw_text(struct picture *pic, int x, int y, int scale,
		       const char *text, int box);

#endif
