/* SPDX-License-Identifier: MIT */
/*
 * luma: the small grey picture motion detection works on, about 160 px
 * wide, made either from a raw frame's Y plane (box average of b x b pixel
 * blocks) or from a JPEG (at 1/8 scale the DC coefficient of each 8x8
 * block, which is the block's mean: jpegdc.c, which skips the rest, for a
 * baseline JPEG; else libjpeg-turbo's scaled grayscale decode, also at 1/4
 * and 1/2 for b < 8).  For the same image both give the same small picture, up to
 * the JPEG's quantisation, so one detector serves raw and JPEG sources.
 *
 * The block size b is a power of two chosen from the source width so that
 * the small picture is 120..240 px wide when the source is at least 120 px
 * wide (1280 -> 8 -> 160x90, 1920 -> 8 -> 240x135, 640 -> 4 -> 160x120).
 * Edge blocks that are cut by the picture's border average the pixels they
 * have, so the small size is ceil(width / b) x ceil(height / b).
 *
 * No allocation per frame: the buffers are sized on the first frame and
 * again only when the source size changes.
 */
#ifndef VIGIL_LUMA_H
#define VIGIL_LUMA_H

#include <stddef.h>
#include <stdint.h>

struct jpegdc;

#define LUMA_MAX_WIDTH 240 /* small picture width the block size aims at */
#define LUMA_MAX_SOURCE 16384 /* largest source width or height accepted */

struct luma {
	int width, height; /* the small picture */
	int src_width, src_height; /* the frame it was made from */
	int block; /* b: source pixels per small pixel, per axis */
	uint8_t *pixels; /* width * height, row-major, stride == width; owned */
	/* private */
	size_t cap;
	uint32_t *acc;
	size_t acc_cap;
	uint8_t *tmp; /* JPEG decode at 1/8 when b > 8 */
	size_t tmp_cap;
	void *tj; /* tjhandle, made on the first JPEG */
	struct jpegdc *dc; /* DC-only decoder, made on the first JPEG */
};

/* An empty luma (all zero); equivalent to memset(l, 0, sizeof(*l)). */
void luma_init(struct luma *l);

/* Frees the buffers and the decoder; accepts NULL and an empty luma. */
void luma_free(struct luma *l);

/* The block size for a source width: see the top of this file. */
int luma_block(int width);

/*
 * Makes l the small picture of a Y plane of width x height pixels with rows
 * stride bytes apart.  0, or -1 with errno EINVAL (bad size or stride) or
 * ENOMEM; on error l->width and l->height are 0.
 */
int luma_from_plane(struct luma *l, const uint8_t *y, int width, int height,
		    int stride);

/*
 * Makes l the small picture of the JPEG in jpeg[0..len) (when jpegdc.c
 * refuses it or fails, libjpeg-turbo decodes it and decides).  0, or -1
 * with errno EBADMSG when the JPEG does not decode (any libjpeg-turbo error
 * or warning: a truncated picture must not look like motion), EINVAL (too
 * big) or ENOMEM; on error l->width and l->height are 0.
 */
int luma_from_jpeg(struct luma *l, const uint8_t *jpeg, size_t len);

#endif
