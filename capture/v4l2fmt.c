/* SPDX-License-Identifier: MIT */
/* v4l2fmt: capabilities, formats, sizes and rates of a V4L2 device. */
#include "v4l2fmt.h"

#include <stdlib.h>
#include <string.h>

/* The formats vigil reads, best first: MJPEG costs no encode. */
static const struct v4l2fmt_known {
	uint32_t fourcc;
	enum picture_kind kind;
} v4l2_known[] = {
	/* clang-format off */
	{V4L2_PIX_FMT_MJPEG, PICTURE_JPEG},
	{V4L2_PIX_FMT_JPEG, PICTURE_JPEG},
	{V4L2_PIX_FMT_YUYV, PICTURE_YUYV},
	{V4L2_PIX_FMT_NV12, PICTURE_NV12},
	{V4L2_PIX_FMT_YUV420, PICTURE_I420},
	/* clang-format on */
};
#define V4L2FMT_KNOWN_COUNT (sizeof(v4l2_known) / sizeof(v4l2_known[0]))

void v4l2fmt_fourcc_str(uint32_t f, char out[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);

		out[i] = c >= 32 && c < 127 ? c : '?';
	}
	out[4] = '\0';
}

int v4l2fmt_kind(uint32_t fourcc, enum picture_kind *kind)
{
	for (size_t i = 0; i < V4L2FMT_KNOWN_COUNT; i++)
		if (v4l2_known[i].fourcc == fourcc) {
			*kind = v4l2_known[i].kind;
			return 0;
		}
	return -1;
}

int v4l2fmt_check_caps(const struct v4l2dev *dev, int fd,
		       struct v4l2_capability *cap, const char **why)
{
	uint32_t caps;

	memset(cap, 0, sizeof(*cap));
	if (v4l2dev_ioctl(dev, fd, VIDIOC_QUERYCAP, cap) < 0) {
		*why = "not a V4L2 device";
		return -1;
	}
	caps = (cap->capabilities & V4L2_CAP_DEVICE_CAPS) ? cap->device_caps
							  : cap->capabilities;
	if (!(caps & V4L2_CAP_VIDEO_CAPTURE)) {
		*why = "not a video capture device";
		return -1;
	}
	if (!(caps & V4L2_CAP_STREAMING)) {
		*why = "no streaming I/O";
		return -1;
	}
	return 0;
}

int v4l2fmt_formats(const struct v4l2dev *dev, int fd, uint32_t *out, int max)
{
	int n = 0;

	for (uint32_t i = 0; n < max; i++) {
		struct v4l2_fmtdesc d = {.index = i,
					 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};

		if (v4l2dev_ioctl(dev, fd, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		out[n++] = d.pixelformat;
	}
	return n;
}

uint32_t v4l2fmt_wanted(enum camera_format f)
{
	switch (f) {
	case CAMERA_FORMAT_MJPEG:
		return V4L2_PIX_FMT_MJPEG;
	case CAMERA_FORMAT_YUYV:
		return V4L2_PIX_FMT_YUYV;
	case CAMERA_FORMAT_NV12:
		return V4L2_PIX_FMT_NV12;
	case CAMERA_FORMAT_YU12:
		return V4L2_PIX_FMT_YUV420;
	case CAMERA_FORMAT_AUTO:
		break;
	}
	return 0;
}

uint32_t v4l2fmt_choose(const uint32_t *offered, int n, uint32_t want)
{
	for (size_t k = 0; k < V4L2FMT_KNOWN_COUNT; k++) {
		uint32_t f = v4l2_known[k].fourcc;

		if (want != 0 && f != want &&
		    !(want == V4L2_PIX_FMT_MJPEG && f == V4L2_PIX_FMT_JPEG))
			continue;
		for (int i = 0; i < n; i++)
			if (offered[i] == f)
				return offered[i];
	}
	return 0;
}

int v4l2fmt_sizes(const struct v4l2dev *dev, int fd, uint32_t fourcc,
		  struct v4l2fmt_size *out, int max,
		  const struct v4l2fmt_size *want)
{
	int n = 0;

	for (uint32_t i = 0; n < max; i++) {
		struct v4l2_frmsizeenum s = {.index = i,
					     .pixel_format = fourcc};

		if (v4l2dev_ioctl(dev, fd, VIDIOC_ENUM_FRAMESIZES, &s) < 0)
			break;
		if (s.type == V4L2_FRMSIZE_TYPE_DISCRETE) {
			out[n].w = (int)s.discrete.width;
			out[n].h = (int)s.discrete.height;
			n++;
			continue;
		}
		/* Stepwise or continuous: one entry, the request fitted in. */
		if (want != NULL) {
			const struct v4l2_frmsize_stepwise *sw = &s.stepwise;
			uint32_t sx = sw->step_width ? sw->step_width : 1;
			uint32_t sy = sw->step_height ? sw->step_height : 1;
			uint32_t w = (uint32_t)want->w, h = (uint32_t)want->h;

			w = w < sw->min_width ? sw->min_width : w;
			w = w > sw->max_width ? sw->max_width : w;
			h = h < sw->min_height ? sw->min_height : h;
			h = h > sw->max_height ? sw->max_height : h;
			w = sw->min_width + (w - sw->min_width) / sx * sx;
			h = sw->min_height + (h - sw->min_height) / sy * sy;
			out[n].w = (int)w;
			out[n].h = (int)h;
		} else {
			out[n].w = (int)s.stepwise.max_width;
			out[n].h = (int)s.stepwise.max_height;
		}
		return n + 1;
	}
	return n;
}

struct v4l2fmt_size v4l2fmt_nearest_size(const struct v4l2fmt_size *sizes,
					 int n, struct v4l2fmt_size want)
{
	struct v4l2fmt_size best = sizes[0];
	long best_d = -1;

	for (int i = 0; i < n; i++) {
		long d = labs((long)sizes[i].w - want.w) +
			 labs((long)sizes[i].h - want.h);

		if (best_d < 0 || d < best_d ||
		    (d == best_d &&
		     (long)sizes[i].w * sizes[i].h > (long)best.w * best.h)) {
			best = sizes[i];
			best_d = d;
		}
	}
	return best;
}

struct v4l2_fract v4l2fmt_nearest_interval(const struct v4l2dev *dev, int fd,
					   uint32_t fourcc, int width,
					   int height, int fps)
{
	struct v4l2_fract best = {0, 0};
	double want = fps, best_d = -1;

	for (uint32_t i = 0; i < V4L2FMT_SIZES_MAX; i++) {
		struct v4l2_frmivalenum iv = {.index = i,
					      .pixel_format = fourcc,
					      .width = (uint32_t)width,
					      .height = (uint32_t)height};
		struct v4l2_fract f;
		double rate, d;

		if (v4l2dev_ioctl(dev, fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) < 0)
			break;
		if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
			/* A range: ask for the rate itself; the driver fits it. */
			best.numerator = 1;
			best.denominator = (uint32_t)fps;
			return best;
		}
		f = iv.discrete;
		if (f.numerator == 0 || f.denominator == 0)
			continue;
		rate = (double)f.denominator / f.numerator;
		d = rate > want ? rate - want : want - rate;
		if (best_d < 0 || d < best_d) {
			best = f;
			best_d = d;
		}
	}
	return best;
}
