/* SPDX-License-Identifier: MIT */
/*
 * transform: rotation by 0/90/180/270 degrees clockwise and horizontal /
 * vertical flips of a raw I420 picture, in one pass per plane.  The flips
 * apply to the picture as the camera delivers it (a mirror mounted in front
 * of the lens), the rotation after them (how the camera is mounted):
 * "--rotate 90 --hflip" mirrors, then turns a quarter clockwise.
 * Any size works, odd ones included (chroma planes are ceil(w/2) x ceil(h/2)).
 */
#ifndef VIGIL_TRANSFORM_H
#define VIGIL_TRANSFORM_H

#include "source.h"

/* 1 when rotate/hflip/vflip change nothing (the copy can be skipped). */
int transform_is_identity(int rotate, int hflip, int vflip);

/* The size of the output picture: w x h, or h x w for 90 and 270. */
void transform_size(int rotate, int width, int height, int *out_width,
		    int *out_height);

/*
 * Writes src (PICTURE_I420) transformed into dst, whose planes the caller
 * allocated for the size transform_size() gives (dst->width/height/strides
 * set).  rotate is 0, 90, 180 or 270; anything else is treated as 0.
 * No allocation.  src and dst must not overlap.
 */
void transform_i420(const struct picture *src, struct picture *dst, int rotate,
		    int hflip, int vflip);

#endif
