/* SPDX-License-Identifier: MIT */
/*
 * testimg: an I420 picture with its own zeroed buffer, for the unit tests of
 * capture's picture modules (transform, overlay, encode).  The buffer holds
 * `rows` luma rows of `ystride` bytes and (rows + 1) / 2 chroma rows of
 * `cstride` bytes per plane, so a test chooses padded planes (encode.h's
 * even Y plane) or strides wider than the rows (transform) with one call.
 * Free with free(im->mem).
 */
#ifndef VIGIL_TESTIMG_H
#define VIGIL_TESTIMG_H

#include <stdlib.h>
#include <string.h>

#include "source.h"

struct img {
	struct picture pic;
	uint8_t *mem;
};

static inline void img_alloc_i420(struct img *im, int w, int h, int rows,
				  int ystride, int cstride)
{
	size_t ys = (size_t)ystride * rows;
	size_t cs = (size_t)cstride * ((rows + 1) / 2);

	memset(im, 0, sizeof(*im));
	im->mem = calloc(1, ys + 2 * cs);
	assert_non_null(im->mem);
	im->pic.kind = PICTURE_I420;
	im->pic.width = w;
	im->pic.height = h;
	im->pic.planes[0] = im->mem;
	im->pic.planes[1] = im->mem + ys;
	im->pic.planes[2] = im->mem + ys + cs;
	im->pic.strides[0] = ystride;
	im->pic.strides[1] = cstride;
	im->pic.strides[2] = cstride;
}

#endif
