/* SPDX-License-Identifier: MIT */
/*
 * convert: turns the packed and semi-planar pictures that cameras give
 * (YUYV 4:2:2, NV12 4:2:0) into the I420 planes that capture rotates,
 * overlays and encodes.  The capture loop calls convert_to_i420() for every
 * raw picture that is not PICTURE_I420 already.
 */
#ifndef VIGIL_CONVERT_H
#define VIGIL_CONVERT_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

/* Output buffer, grown on the first picture (and when the size grows), then
 * reused: no allocation in the steady state.  Zero-initialise it. */
struct convert {
	uint8_t *buf;
	size_t cap;
};

/*
 * Fills *dst with an I420 picture made from src:
 *   PICTURE_I420  *dst = *src (nothing copied);
 *   PICTURE_NV12  U and V are de-interleaved into c's buffer; Y is borrowed
 *                 from src (dst->planes[0] == src->planes[0]) when the
 *                 width and height are even, else copied;
 *   PICTURE_YUYV  Y, U and V are written into c's buffer; chroma rows are
 *                 averaged pairwise (4:2:2 -> 4:2:0).
 * Odd widths and heights are handled: chroma planes are (w+1)/2 x (h+1)/2,
 * and a Y plane in c's buffer is (w+1)&~1 x (h+1)&~1 with the edge pixels
 * repeated, because TurboJPEG's 4:2:0 plane compressor
 * (tjCompressFromYUVPlanes) reads Y in whole 2x2 blocks.
 * dst's planes are writable and stay valid until the next call, convert_free()
 * or, for planes borrowed from src, until src is released.
 * Returns -1 with EINVAL for PICTURE_JPEG, a bad size or stride, ENOMEM.
 */
int convert_to_i420(struct convert *c, const struct picture *src,
		    struct picture *dst);

/* Bytes a picture of this kind and size needs with tight strides (what a
 * source checks a driver's buffer against); 0 for PICTURE_JPEG. */
size_t convert_frame_size(enum picture_kind kind, int width, int height);

/* Frees the buffer; accepts a zeroed struct. */
void convert_free(struct convert *c);

#endif
