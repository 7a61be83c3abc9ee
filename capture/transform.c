/* SPDX-License-Identifier: MIT */
/* transform: rotate and flip I420 planes, tile by tile. */
#include "transform.h"

#include <string.h>

/* Tiles keep both the rows read and the rows written in the cache when the
 * walk through the source is by columns (90 and 270 degrees). */
#define TRANSFORM_TILE 32

int transform_is_identity(int rotate, int hflip, int vflip)
{
	return (rotate != 90 && rotate != 180 && rotate != 270) && !hflip &&
	       !vflip;
}

void transform_size(int rotate, int width, int height, int *out_width,
		    int *out_height)
{
	if (rotate == 90 || rotate == 270) {
		*out_width = height;
		*out_height = width;
	} else {
		*out_width = width;
		*out_height = height;
	}
}

/* Where the destination pixel (x, y) comes from in a w x h source. */
static void map(int rotate, int hflip, int vflip, int w, int h, long x, long y,
		long *sx, long *sy)
{
	long fx, fy; /* coordinates in the flipped source */

	switch (rotate) {
	case 90:
		fx = y;
		fy = h - 1 - x;
		break;
	case 180:
		fx = w - 1 - x;
		fy = h - 1 - y;
		break;
	case 270:
		fx = w - 1 - y;
		fy = x;
		break;
	default:
		fx = x;
		fy = y;
		break;
	}
	*sx = hflip ? w - 1 - fx : fx;
	*sy = vflip ? h - 1 - fy : fy;
}

/* The mapping is affine: a source offset for (0,0) and a step in bytes per
 * destination column and per destination row. */
static void plane(const uint8_t *src, int sstride, int sw, int sh, uint8_t *dst,
		  int dstride, int dw, int dh, int rotate, int hflip, int vflip)
{
	long x0, y0, x1, y1, x2, y2;
	long base, xstep, ystep;

	map(rotate, hflip, vflip, sw, sh, 0, 0, &x0, &y0);
	map(rotate, hflip, vflip, sw, sh, 1, 0, &x1, &y1);
	map(rotate, hflip, vflip, sw, sh, 0, 1, &x2, &y2);
	base = y0 * sstride + x0;
	xstep = (y1 - y0) * sstride + (x1 - x0);
	ystep = (y2 - y0) * sstride + (x2 - x0);

	if (xstep == 1) { /* rows stay rows: 0 degrees, vflip */
		for (int y = 0; y < dh; y++)
			memcpy(dst + (long)y * dstride,
			       src + base + (long)y * ystep, (size_t)dw);
		return;
	}
	if (xstep == -1) { /* rows reversed: 180 degrees, hflip */
		for (int y = 0; y < dh; y++) {
			const uint8_t *s = src + base + (long)y * ystep;
			uint8_t *d = dst + (long)y * dstride;
			for (int x = 0; x < dw; x++)
				d[x] = *(s - x);
		}
		return;
	}
	for (int ty = 0; ty < dh; ty += TRANSFORM_TILE) {
		int ey = ty + TRANSFORM_TILE < dh ? ty + TRANSFORM_TILE : dh;
		for (int tx = 0; tx < dw; tx += TRANSFORM_TILE) {
			int ex = tx + TRANSFORM_TILE < dw ? tx + TRANSFORM_TILE
							  : dw;
			for (int y = ty; y < ey; y++) {
				const uint8_t *s = src + base + (long)y * ystep;
				uint8_t *d = dst + (long)y * dstride;
				for (int x = tx; x < ex; x++)
					d[x] = s[(long)x * xstep];
			}
		}
	}
}

void transform_i420(const struct picture *src, struct picture *dst, int rotate,
		    int hflip, int vflip)
{
	for (int i = 0; i < 3; i++) {
		int sw = i ? (src->width + 1) / 2 : src->width;
		int sh = i ? (src->height + 1) / 2 : src->height;
		int dw = i ? (dst->width + 1) / 2 : dst->width;
		int dh = i ? (dst->height + 1) / 2 : dst->height;
		plane(src->planes[i], src->strides[i], sw, sh, dst->planes[i],
		      dst->strides[i], dw, dh, rotate, hflip, vflip);
	}
}
