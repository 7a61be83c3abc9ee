/* SPDX-License-Identifier: MIT */
/* convert: YUYV and NV12 pictures to I420 planes for the encoder. */
#include "convert.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define CONVERT_DIM_MAX 16384 /* larger than any sensor; keeps sizes sane */

size_t convert_frame_size(enum picture_kind kind, int width, int height)
{
	size_t w = (size_t)width, h = (size_t)height;
	size_t cw = (w + 1) / 2, ch = (h + 1) / 2;

	if (width <= 0 || height <= 0)
		return 0;
	switch (kind) {
	case PICTURE_I420:
		return w * h + 2 * cw * ch;
	case PICTURE_NV12:
		return w * h + 2 * cw * ch;
	case PICTURE_YUYV:
		return 4 * cw * h;
	case PICTURE_JPEG:
		break;
	}
	return 0;
}

static int convert_reserve(struct convert *c, size_t need)
{
	uint8_t *p;

	if (need <= c->cap)
		return 0;
	p = realloc(c->buf, need);
	if (p == NULL)
		return -1;
	c->buf = p;
	c->cap = need;
	return 0;
}

static void convert_nv12(const struct picture *src, struct picture *dst)
{
	int cw = (src->width + 1) / 2, ch = (src->height + 1) / 2;

	for (int y = 0; y < ch; y++) {
		const uint8_t *uv = src->planes[1] +
				    (size_t)y * src->strides[1];
		uint8_t *u = dst->planes[1] + (size_t)y * dst->strides[1];
		uint8_t *v = dst->planes[2] + (size_t)y * dst->strides[2];

		for (int x = 0; x < cw; x++) {
			u[x] = uv[2 * x];
			v[x] = uv[2 * x + 1];
		}
	}
}

/* One pair of YUYV rows (the second may be the first again, for an odd
 * last row) into two Y rows and one row of U and V. */
static void convert_yuyv_rows(const uint8_t *s0, const uint8_t *s1, uint8_t *y0,
			      uint8_t *y1, uint8_t *u, uint8_t *v, int width,
			      int two)
{
	int pairs = width / 2;

	for (int x = 0; x < pairs; x++) {
		const uint8_t *a = s0 + 4 * x, *b = s1 + 4 * x;

		y0[2 * x] = a[0];
		y0[2 * x + 1] = a[2];
		if (two) {
			y1[2 * x] = b[0];
			y1[2 * x + 1] = b[2];
		}
		u[x] = (uint8_t)((a[1] + b[1] + 1) >> 1);
		v[x] = (uint8_t)((a[3] + b[3] + 1) >> 1);
	}
	if (width & 1) { /* the last macropixel carries one visible pixel */
		const uint8_t *a = s0 + 4 * pairs, *b = s1 + 4 * pairs;

		y0[width - 1] = a[0];
		if (two)
			y1[width - 1] = b[0];
		u[pairs] = (uint8_t)((a[1] + b[1] + 1) >> 1);
		v[pairs] = (uint8_t)((a[3] + b[3] + 1) >> 1);
	}
}

static void convert_yuyv(const struct picture *src, struct picture *dst)
{
	int h = src->height;

	for (int y = 0; y < h; y += 2) {
		int two = y + 1 < h;
		const uint8_t *s0 = src->planes[0] +
				    (size_t)y * src->strides[0];
		const uint8_t *s1 = two ? s0 + src->strides[0] : s0;
		uint8_t *y0 = dst->planes[0] + (size_t)y * dst->strides[0];

		convert_yuyv_rows(
			s0, s1, y0, y0 + dst->strides[0],
			dst->planes[1] + (size_t)(y / 2) * dst->strides[1],
			dst->planes[2] + (size_t)(y / 2) * dst->strides[2],
			src->width, two);
	}
}

/* Copies the Y plane into c's buffer (odd NV12 sizes only). */
static void convert_copy_y(const struct picture *src, struct picture *dst)
{
	for (int y = 0; y < src->height; y++)
		memcpy(dst->planes[0] + (size_t)y * dst->strides[0],
		       src->planes[0] + (size_t)y * src->strides[0],
		       (size_t)src->width);
}

/* TurboJPEG's 4:2:0 plane compressor reads Y in whole 2x2 blocks: give
 * odd pictures a defined right column and bottom row (edge replicated). */
static void convert_pad_y(struct picture *dst)
{
	int w = dst->width, h = dst->height;

	if (w & 1)
		for (int y = 0; y < h; y++) {
			uint8_t *row = dst->planes[0] +
				       (size_t)y * dst->strides[0];

			row[w] = row[w - 1];
		}
	if (h & 1)
		memcpy(dst->planes[0] + (size_t)h * dst->strides[0],
		       dst->planes[0] + (size_t)(h - 1) * dst->strides[0],
		       (size_t)dst->strides[0]);
}

int convert_to_i420(struct convert *c, const struct picture *src,
		    struct picture *dst)
{
	int w = src->width, h = src->height;
	int cw = (w + 1) / 2, ch = (h + 1) / 2;
	int own_y;
	size_t ysize;

	if (w <= 0 || h <= 0 || w > CONVERT_DIM_MAX || h > CONVERT_DIM_MAX)
		goto inval;
	switch (src->kind) {
	case PICTURE_I420:
		*dst = *src;
		return 0;
	case PICTURE_NV12:
		if (src->planes[0] == NULL || src->planes[1] == NULL ||
		    src->strides[0] < w || src->strides[1] < 2 * cw)
			goto inval;
		own_y = (w | h) & 1; /* even sizes: borrow Y as it is */
		break;
	case PICTURE_YUYV:
		if (src->planes[0] == NULL || src->strides[0] < 4 * cw)
			goto inval;
		own_y = 1;
		break;
	case PICTURE_JPEG:
	default:
		goto inval;
	}
	ysize = own_y ? (size_t)(2 * cw) * (size_t)(2 * ch) : 0;
	if (convert_reserve(c, ysize + 2 * (size_t)cw * ch) < 0)
		return -1;

	*dst = *src;
	dst->kind = PICTURE_I420;
	if (own_y) {
		dst->planes[0] = c->buf;
		dst->strides[0] = 2 * cw;
	}
	dst->planes[1] = c->buf + ysize;
	dst->planes[2] = c->buf + ysize + (size_t)cw * ch;
	dst->strides[1] = cw;
	dst->strides[2] = cw;
	if (src->kind == PICTURE_NV12) {
		if (own_y)
			convert_copy_y(src, dst);
		convert_nv12(src, dst);
	} else {
		convert_yuyv(src, dst);
	}
	if (own_y)
		convert_pad_y(dst);
	return 0;
inval:
	errno = EINVAL;
	return -1;
}

void convert_free(struct convert *c)
{
	if (c == NULL)
		return;
	free(c->buf);
	c->buf = NULL;
	c->cap = 0;
}
