/* SPDX-License-Identifier: MIT */
/* overlay: strftime text in vigil's bitmap font (font.h), burned into I420. */
#include "overlay.h"

#include <errno.h>
#include <string.h>

#include "font.h"

#define OVERLAY_Y_TEXT 235 /* video white */
#define OVERLAY_CHROMA_NEUTRAL 128
#define OVERLAY_SCALE_LINES 240 /* one font pixel per this many lines */
#define OVERLAY_SCALE_MAX 16

int overlay_init(struct overlay *ov, const char *fmt)
{
	memset(ov, 0, sizeof(*ov));
	ov->text_sec = -1;
	if (fmt == NULL || fmt[0] == '\0')
		return 0;
	if (strlen(fmt) >= sizeof(ov->fmt)) {
		errno = EINVAL;
		return -1;
	}
	strcpy(ov->fmt, fmt);
	ov->enabled = 1;
	tzset();
	return 0;
}

const char *overlay_text(const struct overlay *ov)
{
	return ov->text;
}

int overlay_scale(int height)
{
	int s = height / OVERLAY_SCALE_LINES;
	if (s < 1)
		s = 1;
	if (s > OVERLAY_SCALE_MAX)
		s = OVERLAY_SCALE_MAX;
	return s;
}

static int clampi(int v, int lo, int hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

static void draw_box(struct picture *pic, int x0, int y0, int x1, int y1)
{
	/* Even edges so that the chroma samples under the box are whole. */
	x0 = clampi(x0 & ~1, 0, pic->width);
	y0 = clampi(y0 & ~1, 0, pic->height);
	x1 = clampi((x1 + 1) & ~1, 0, pic->width);
	y1 = clampi((y1 + 1) & ~1, 0, pic->height);
	if (x0 >= x1 || y0 >= y1)
		return;
	for (int y = y0; y < y1; y++) {
		uint8_t *row = pic->planes[0] + (long)y * pic->strides[0];
		for (int x = x0; x < x1; x++)
			row[x] = (uint8_t)(row[x] / 4 + 12);
	}
	for (int p = 1; p < 3; p++) {
		int cx1 = (x1 + 1) / 2, cy1 = (y1 + 1) / 2;
		for (int y = y0 / 2; y < cy1; y++)
			memset(pic->planes[p] + (long)y * pic->strides[p] +
				       x0 / 2,
			       OVERLAY_CHROMA_NEUTRAL, (size_t)(cx1 - x0 / 2));
	}
}

void overlay_box(const struct overlay *ov, int *x, int *y, int *w, int *h)
{
	*x = ov->box_x;
	*y = ov->box_y;
	*w = ov->box_w;
	*h = ov->box_h;
}

/* The box draw_box covers for text at (x, y): the text grown by 2*scale,
 * edges made even, clipped to the picture. */
static void text_box(const struct picture *pic, int x, int y, int scale,
		     const char *text, int *bx, int *by, int *bw, int *bh)
{
	int w, h, x0, y0, x1, y1;

	font_measure(text, scale, &w, &h);
	*bx = *by = *bw = *bh = 0;
	if (w == 0)
		return;
	x0 = clampi((x - 2 * scale) & ~1, 0, pic->width);
	y0 = clampi((y - 2 * scale) & ~1, 0, pic->height);
	x1 = clampi((x + w + 2 * scale + 1) & ~1, 0, pic->width);
	y1 = clampi((y + h + 2 * scale + 1) & ~1, 0, pic->height);
	if (x0 >= x1 || y0 >= y1)
		return;
	*bx = x0;
	*by = y0;
	*bw = x1 - x0;
	*bh = y1 - y0;
}

void overlay_draw_text(struct picture *pic, int x, int y, int scale,
		       const char *text, int box)
{
	int w, h;

	if (scale < 1)
		scale = 1;
	font_measure(text, scale, &w, &h);
	if (w == 0)
		return;
	if (box)
		draw_box(pic, x - 2 * scale, y - 2 * scale, x + w + 2 * scale,
			 y + h + 2 * scale);
	font_draw(pic->planes[0], pic->strides[0], pic->width, pic->height, x,
		  y, scale, text, OVERLAY_Y_TEXT);
}

void overlay_draw(struct overlay *ov, struct picture *pic, int64_t realtime_ns)
{
	time_t sec = (time_t)(realtime_ns / 1000000000);
	int scale;

	if (!ov->enabled)
		return;
	if (sec != ov->text_sec) {
		struct tm tm;
		ov->text_sec = sec;
		/* The format is the user's --overlay, by design. */
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-nonliteral"
		if (localtime_r(&sec, &tm) == NULL ||
		    strftime(ov->text, sizeof(ov->text), ov->fmt, &tm) == 0)
			ov->text[0] = '\0';
#pragma GCC diagnostic pop
	}
	scale = overlay_scale(pic->height);
	overlay_draw_text(pic, 4 * scale, 4 * scale, scale, ov->text, 1);
	text_box(pic, 4 * scale, 4 * scale, scale, ov->text, &ov->box_x,
		 &ov->box_y, &ov->box_w, &ov->box_h);
}
