/* SPDX-License-Identifier: MIT */
/*
 * v4l2fmt: what a V4L2 device offers and what vigil picks from it: the
 * capability check, pixel formats (best first: MJPEG costs no encode),
 * frame sizes and frame intervals.  Queries only; the device's fd and
 * device layer are the caller's.
 */
#ifndef VIGIL_V4L2FMT_H
#define VIGIL_V4L2FMT_H

#include <linux/videodev2.h>
#include <stdint.h>

#include "camctl.h"
#include "source.h"
#include "v4l2dev.h"

#define V4L2FMT_FORMATS_MAX 64
#define V4L2FMT_SIZES_MAX 256

struct v4l2fmt_size {
	int w, h;
};

/* The fourcc as four printable characters ('?' for the others). */
void v4l2fmt_fourcc_str(uint32_t fourcc, char out[5]);

/* 0 and the picture kind when vigil reads fourcc, else -1. */
int v4l2fmt_kind(uint32_t fourcc, enum picture_kind *kind);

/* 0 when fd is a streaming capture device, else -1 with a reason in *why
 * (a static string).  *cap is filled either way. */
int v4l2fmt_check_caps(const struct v4l2dev *dev, int fd,
		       struct v4l2_capability *cap, const char **why);

/* The formats the device offers, in its order, at most max: how many. */
int v4l2fmt_formats(const struct v4l2dev *dev, int fd, uint32_t *out, int max);

/* The fourcc --format asks for, or 0 for "the best one offered". */
uint32_t v4l2fmt_wanted(enum camera_format f);

/* The best format vigil reads among those offered (only want's when want
 * is not 0; MJPEG also matches JPEG), or 0. */
uint32_t v4l2fmt_choose(const uint32_t *offered, int n, uint32_t want);

/* Discrete sizes of fourcc, or a stepwise range as one entry: its largest
 * size, or want fitted into it when want is not NULL.  How many. */
int v4l2fmt_sizes(const struct v4l2dev *dev, int fd, uint32_t fourcc,
		  struct v4l2fmt_size *out, int max,
		  const struct v4l2fmt_size *want);

/* The nearest size (least total difference of width and height, ties to
 * the larger picture); n >= 1. */
struct v4l2fmt_size v4l2fmt_nearest_size(const struct v4l2fmt_size *sizes,
					 int n, struct v4l2fmt_size want);

/* The frame interval of fourcc at width x height nearest to fps (a range:
 * 1/fps itself), or 0/0 when the device lists none. */
struct v4l2_fract v4l2fmt_nearest_interval(const struct v4l2dev *dev, int fd,
					   uint32_t fourcc, int width,
					   int height, int fps);

#endif
