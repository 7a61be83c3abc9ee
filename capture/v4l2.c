/* SPDX-License-Identifier: MIT */
/* v4l2: USB webcams through V4L2 mmap streaming, MJPEG passed through. */
#include "v4l2.h"

#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <linux/videodev2.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include "camera.h"
#include "clock.h"
#include "convert.h"
#include "jpegfix.h"
#include "log.h"

#define V4L2_FORMATS_MAX 64
#define V4L2_SIZES_MAX 256

/* The formats vigil reads, best first: MJPEG costs no encode. */
static const struct v4l2_known_format {
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
#define V4L2_KNOWN_COUNT (sizeof(v4l2_known) / sizeof(v4l2_known[0]))

static const struct v4l2dev *v4l2_dev = &v4l2dev_system;

void v4l2_set_device(const struct v4l2dev *dev)
{
	v4l2_dev = dev != NULL ? dev : &v4l2dev_system;
}

struct v4l2_map {
	uint8_t *start;
	size_t length;
};

struct source {
	const struct v4l2dev *dev;
	char path[PATH_MAX];
	int want_width, want_height, want_fps;
	struct camera_controls ctl;
	int fd; /* the device; -1 while lost */
	int epfd; /* what capture polls: the device or the timer */
	int timerfd; /* re-open backoff, or the stall watchdog */
	int reconnecting; /* lost: the timer says when to try again */
	int backoff_ms;
	int opened_once; /* later opens log less */
	uint32_t fourcc;
	enum picture_kind kind;
	int width, height, stride;
	struct v4l2_map maps[V4L2_BUFFER_COUNT];
	unsigned nmaps;
	int held; /* buffer lent out in a picture, or -1 */
	uint8_t *fixbuf; /* a frame with the Huffman tables inserted */
	size_t fixcap;
	int64_t last_frame_ms;
	uint64_t skipped;
	uint64_t fixed;
	uint64_t losses;
};

static int64_t now_ms(clockid_t clock)
{
	struct timespec ts;

	clock_gettime(clock, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void fourcc_str(uint32_t f, char out[5])
{
	for (int i = 0; i < 4; i++) {
		char c = (char)((f >> (8 * i)) & 0xff);

		out[i] = c >= 32 && c < 127 ? c : '?';
	}
	out[4] = '\0';
}

static const struct v4l2_known_format *known_format(uint32_t fourcc)
{
	for (size_t i = 0; i < V4L2_KNOWN_COUNT; i++)
		if (v4l2_known[i].fourcc == fourcc)
			return &v4l2_known[i];
	return NULL;
}

static int xioctl(const struct v4l2dev *dev, int fd, unsigned long req,
		  void *arg)
{
	return dev->ioctl(dev->ctx, fd, req, arg);
}

/* ------------------------------------------------------------ capabilities */

/* 0 when fd is a streaming capture device, else -1 with a reason. */
static int check_caps(const struct v4l2dev *dev, int fd,
		      struct v4l2_capability *cap, const char **why)
{
	uint32_t caps;

	memset(cap, 0, sizeof(*cap));
	if (xioctl(dev, fd, VIDIOC_QUERYCAP, cap) < 0) {
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

/* The formats the device offers, in its order. */
static int enum_formats(const struct v4l2dev *dev, int fd, uint32_t *out,
			int max)
{
	int n = 0;

	for (uint32_t i = 0; n < max; i++) {
		struct v4l2_fmtdesc d = {.index = i,
					 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE};

		if (xioctl(dev, fd, VIDIOC_ENUM_FMT, &d) < 0)
			break;
		out[n++] = d.pixelformat;
	}
	return n;
}

/* The format --format asks for, or 0 for the best one offered. */
static uint32_t wanted_format(enum camera_format f)
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

/* The best format vigil reads among those offered (only want's, when
 * want is not 0; MJPEG also matches JPEG), or 0. */
static uint32_t choose_format(const uint32_t *offered, int n, uint32_t want)
{
	for (size_t k = 0; k < V4L2_KNOWN_COUNT; k++) {
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

struct size {
	int w, h;
};

/* Discrete sizes, or a stepwise range expanded to its bounds (and the
 * requested size clamped into it, when want is given). */
static int enum_sizes(const struct v4l2dev *dev, int fd, uint32_t fourcc,
		      struct size *out, int max, const struct size *want)
{
	int n = 0;

	for (uint32_t i = 0; n < max; i++) {
		struct v4l2_frmsizeenum s = {.index = i,
					     .pixel_format = fourcc};

		if (xioctl(dev, fd, VIDIOC_ENUM_FRAMESIZES, &s) < 0)
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

/* Nearest size: least total difference of width and height, ties to the
 * larger picture. */
static struct size nearest_size(const struct size *sizes, int n,
				struct size want)
{
	struct size best = sizes[0];
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

/* ------------------------------------------------------------ controls */

/* Queries a control; warns (on the first open only) when the camera
 * lacks it and flag names the option that wanted it. */
static int ctrl_query(struct source *s, uint32_t id, const char *flag,
		      struct v4l2_queryctrl *q)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	if (xioctl(s->dev, s->fd, VIDIOC_QUERYCTRL, q) < 0 ||
	    (q->flags & V4L2_CTRL_FLAG_DISABLED)) {
		if (flag != NULL && !s->opened_once)
			log_warnx("camera '%s' has no control for %s; "
				  "ignored",
				  s->path, flag);
		return -1;
	}
	return 0;
}

static int ctrl_set(struct source *s, const struct v4l2_queryctrl *q,
		    const char *flag, int64_t value)
{
	struct v4l2_control c = {.id = q->id};

	if (value < q->minimum)
		value = q->minimum;
	if (value > q->maximum)
		value = q->maximum;
	c.value = (int32_t)value;
	if (xioctl(s->dev, s->fd, VIDIOC_S_CTRL, &c) < 0) {
		if (!s->opened_once)
			log_warn("camera '%s': cannot set %s", s->path,
				 flag != NULL ? flag : (const char *)q->name);
		return -1;
	}
	log_debug("camera '%s': %.32s = %d", s->path, (const char *)q->name,
		  (int)c.value);
	return 0;
}

/* Sets a control to a raw value (clamped to its range). */
static int set_ctrl_raw(struct source *s, uint32_t id, const char *flag,
			int64_t value)
{
	struct v4l2_queryctrl q;

	if (ctrl_query(s, id, flag, &q) < 0)
		return -1;
	return ctrl_set(s, &q, flag, value);
}

/* Sets a control from a flag's value: low..neutral..high onto the
 * control's minimum..default..maximum. */
static int set_ctrl_mapped(struct source *s, uint32_t id, const char *flag,
			   double value, double low, double neutral,
			   double high)
{
	struct v4l2_queryctrl q;

	if (ctrl_query(s, id, flag, &q) < 0)
		return -1;
	return ctrl_set(s, &q, flag,
			camera_map_range(value, low, neutral, high, q.minimum,
					 q.default_value, q.maximum,
					 q.step > 0 ? q.step : 1));
}

/* Colour temperatures for the AWB presets on cameras (UVC) that only
 * have a white balance temperature control. */
static const int awb_kelvin[] = {
	[CAMERA_AWB_AUTO] = 0,	      [CAMERA_AWB_INCANDESCENT] = 2700,
	[CAMERA_AWB_TUNGSTEN] = 3000, [CAMERA_AWB_FLUORESCENT] = 4000,
	[CAMERA_AWB_INDOOR] = 3500,   [CAMERA_AWB_DAYLIGHT] = 5500,
	[CAMERA_AWB_CLOUDY] = 6500,
};

static const int awb_preset[] = {
	[CAMERA_AWB_AUTO] = V4L2_WHITE_BALANCE_AUTO,
	[CAMERA_AWB_INCANDESCENT] = V4L2_WHITE_BALANCE_INCANDESCENT,
	[CAMERA_AWB_TUNGSTEN] = V4L2_WHITE_BALANCE_INCANDESCENT,
	[CAMERA_AWB_FLUORESCENT] = V4L2_WHITE_BALANCE_FLUORESCENT,
	[CAMERA_AWB_INDOOR] = V4L2_WHITE_BALANCE_FLUORESCENT_H,
	[CAMERA_AWB_DAYLIGHT] = V4L2_WHITE_BALANCE_DAYLIGHT,
	[CAMERA_AWB_CLOUDY] = V4L2_WHITE_BALANCE_CLOUDY,
};

static void apply_controls(struct source *s)
{
	const struct camera_controls *c = &s->ctl;

	if (c->exposure_set && c->exposure_us == 0) {
		/* UVC cameras call their automatic mode "aperture priority". */
		if (set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO, NULL,
				 V4L2_EXPOSURE_APERTURE_PRIORITY) < 0)
			set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO, "--exposure",
				     V4L2_EXPOSURE_AUTO);
	} else if (c->exposure_set) {
		set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO, "--exposure",
			     V4L2_EXPOSURE_MANUAL);
		/* V4L2_CID_EXPOSURE_ABSOLUTE counts 100 us units. */
		set_ctrl_raw(s, V4L2_CID_EXPOSURE_ABSOLUTE, "--exposure",
			     (c->exposure_us + 50) / 100);
	}
	if (c->gain > 0) {
		/* Webcam gain has no unit: 1x is the minimum, 16x the top. */
		set_ctrl_raw(s, V4L2_CID_AUTOGAIN, NULL, 0);
		set_ctrl_mapped(s, V4L2_CID_GAIN, "--gain", c->gain, 1.0, 1.0,
				16.0);
	}
	if (c->awb == CAMERA_AWB_AUTO) {
		if (set_ctrl_raw(s, V4L2_CID_AUTO_N_PRESET_WHITE_BALANCE, NULL,
				 V4L2_WHITE_BALANCE_AUTO) < 0)
			set_ctrl_raw(s, V4L2_CID_AUTO_WHITE_BALANCE, "--awb",
				     1);
	} else if (c->awb > CAMERA_AWB_AUTO) {
		if (set_ctrl_raw(s, V4L2_CID_AUTO_N_PRESET_WHITE_BALANCE, NULL,
				 awb_preset[c->awb]) < 0) {
			set_ctrl_raw(s, V4L2_CID_AUTO_WHITE_BALANCE, "--awb",
				     0);
			set_ctrl_raw(s, V4L2_CID_WHITE_BALANCE_TEMPERATURE,
				     "--awb", awb_kelvin[c->awb]);
		}
	}
	if (c->brightness_set)
		set_ctrl_mapped(s, V4L2_CID_BRIGHTNESS, "--brightness",
				c->brightness, -1.0, 0.0, 1.0);
	/* Contrast and sharpness: 1.0 is the camera's default, 2.0 and
	 * above its maximum. */
	if (c->contrast_set)
		set_ctrl_mapped(s, V4L2_CID_CONTRAST, "--contrast", c->contrast,
				0.0, 1.0, 2.0);
	if (c->sharpness_set)
		set_ctrl_mapped(s, V4L2_CID_SHARPNESS, "--sharpness",
				c->sharpness, 0.0, 1.0, 2.0);
	/* Night: let auto exposure lengthen frames (the rate drops) rather
	 * than stay dark; day: hold the frame rate. */
	if (c->profile == CAMERA_PROFILE_NIGHT ||
	    c->profile == CAMERA_PROFILE_DAY)
		set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO_PRIORITY, "--profile",
			     c->profile == CAMERA_PROFILE_NIGHT);
}

/* ------------------------------------------------------------ device */

static void device_stop(struct source *s)
{
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	struct v4l2_requestbuffers rb = {.count = 0,
					 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					 .memory = V4L2_MEMORY_MMAP};

	if (s->fd < 0)
		return;
	epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->fd, NULL);
	/* On an unplugged camera these fail with ENODEV: nothing to do. */
	xioctl(s->dev, s->fd, VIDIOC_STREAMOFF, &type);
	for (unsigned i = 0; i < s->nmaps; i++)
		s->dev->munmap(s->dev->ctx, s->maps[i].start,
			       s->maps[i].length);
	s->nmaps = 0;
	s->held = -1;
	xioctl(s->dev, s->fd, VIDIOC_REQBUFS, &rb);
	s->dev->close(s->dev->ctx, s->fd);
	s->fd = -1;
}

static int arm_timer(struct source *s, int ms)
{
	struct itimerspec its = {0};

	its.it_value.tv_sec = ms / 1000;
	its.it_value.tv_nsec = (long)(ms % 1000) * 1000000L;
	if (ms <= 0)
		its.it_value.tv_nsec = 1; /* 0 would disarm it */
	return timerfd_settime(s->timerfd, 0, &its, NULL);
}

/* The frame interval nearest to the requested rate, or 0/0. */
static void nearest_interval(struct source *s, struct v4l2_fract *best)
{
	double want = s->want_fps, best_d = -1;

	best->numerator = 0;
	best->denominator = 0;
	for (uint32_t i = 0; i < V4L2_SIZES_MAX; i++) {
		struct v4l2_frmivalenum iv = {.index = i,
					      .pixel_format = s->fourcc,
					      .width = (uint32_t)s->width,
					      .height = (uint32_t)s->height};
		struct v4l2_fract f;
		double fps, d;

		if (xioctl(s->dev, s->fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) < 0)
			break;
		if (iv.type == V4L2_FRMIVAL_TYPE_DISCRETE) {
			f = iv.discrete;
		} else {
			/* A range: ask for the rate itself; the driver fits it. */
			f.numerator = 1;
			f.denominator = (uint32_t)s->want_fps;
			*best = f;
			return;
		}
		if (f.numerator == 0 || f.denominator == 0)
			continue;
		fps = (double)f.denominator / f.numerator;
		d = fps > want ? fps - want : want - fps;
		if (best_d < 0 || d < best_d) {
			*best = f;
			best_d = d;
		}
	}
}

static void set_rate(struct source *s)
{
	struct v4l2_streamparm p = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	struct v4l2_fract f;

	if (xioctl(s->dev, s->fd, VIDIOC_G_PARM, &p) < 0 ||
	    !(p.parm.capture.capability & V4L2_CAP_TIMEPERFRAME))
		return; /* the camera has one rate */
	nearest_interval(s, &f);
	if (f.denominator == 0) {
		f.numerator = 1;
		f.denominator = (uint32_t)s->want_fps;
	}
	p.parm.capture.timeperframe = f;
	if (xioctl(s->dev, s->fd, VIDIOC_S_PARM, &p) < 0) {
		log_warn("camera '%s': cannot set the frame rate", s->path);
		return;
	}
	f = p.parm.capture.timeperframe;
	if (!s->opened_once && f.numerator != 0 &&
	    (double)f.denominator / f.numerator + 0.01 < s->want_fps)
		log_info("camera '%s' runs at %.4g fps (asked for %d)", s->path,
			 (double)f.denominator / f.numerator, s->want_fps);
}

/* Picks format and size, then S_FMT. -1 with errno: ENOTSUP when nothing
 * offered is usable (permanent), else the failing call's. */
static int negotiate(struct source *s)
{
	uint32_t offered[V4L2_FORMATS_MAX];
	struct size sizes[V4L2_SIZES_MAX],
		want = {s->want_width, s->want_height}, got;
	struct v4l2_format f = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE};
	int nf, ns;
	char cc[5];

	nf = enum_formats(s->dev, s->fd, offered, V4L2_FORMATS_MAX);
	s->fourcc = choose_format(offered, nf, wanted_format(s->ctl.format));
	if (s->fourcc == 0) {
		char list[V4L2_FORMATS_MAX * 7 + 1] = "";
		size_t used = 0;

		for (int i = 0; i < nf; i++) {
			fourcc_str(offered[i], cc);
			used += (size_t)snprintf(list + used,
						 sizeof(list) - used, "%s%s",
						 i ? ", " : "", cc);
		}
		if (s->ctl.format != CAMERA_FORMAT_AUTO)
			fourcc_str(wanted_format(s->ctl.format), cc);
		log_warnx("camera '%s' offers no format vigil reads "
			  "(%s); it offers: %s",
			  s->path,
			  s->ctl.format != CAMERA_FORMAT_AUTO
				  ? cc
				  : "MJPG, YUYV, NV12, YU12",
			  nf ? list : "none");
		errno = ENOTSUP;
		return -1;
	}
	{
		const struct v4l2_known_format *k = known_format(s->fourcc);

		s->kind = k != NULL ? k->kind : PICTURE_JPEG;
	}
	fourcc_str(s->fourcc, cc);

	got = want;
	ns = enum_sizes(s->dev, s->fd, s->fourcc, sizes, V4L2_SIZES_MAX, &want);
	if (ns > 0) {
		got = nearest_size(sizes, ns, want);
		if ((got.w != want.w || got.h != want.h) && !s->opened_once)
			log_warnx("camera '%s' does not offer %dx%d in %s; "
				  "using the nearest size, %dx%d",
				  s->path, want.w, want.h, cc, got.w, got.h);
	}
	f.fmt.pix.width = (uint32_t)got.w;
	f.fmt.pix.height = (uint32_t)got.h;
	f.fmt.pix.pixelformat = s->fourcc;
	f.fmt.pix.field = V4L2_FIELD_ANY;
	if (xioctl(s->dev, s->fd, VIDIOC_S_FMT, &f) < 0) {
		log_warn("camera '%s': cannot set %s %dx%d", s->path, cc, got.w,
			 got.h);
		return -1;
	}
	if (f.fmt.pix.pixelformat != s->fourcc) {
		log_warnx("camera '%s' refused format %s", s->path, cc);
		errno = ENOTSUP;
		return -1;
	}
	if ((int)f.fmt.pix.width != got.w || (int)f.fmt.pix.height != got.h)
		log_warnx("camera '%s' adjusted %dx%d to %ux%u", s->path, got.w,
			  got.h, f.fmt.pix.width, f.fmt.pix.height);
	s->width = (int)f.fmt.pix.width;
	s->height = (int)f.fmt.pix.height;
	s->stride = (int)f.fmt.pix.bytesperline;
	if (s->width <= 0 || s->height <= 0 || s->width > 16384 ||
	    s->height > 16384) {
		log_warnx("camera '%s' gave a bad size %dx%d", s->path,
			  s->width, s->height);
		errno = EPROTO;
		return -1;
	}
	if (s->kind == PICTURE_YUYV && s->stride < 2 * s->width)
		s->stride = 2 * s->width;
	else if (s->kind != PICTURE_JPEG && s->stride < s->width)
		s->stride = s->width;
	return 0;
}

static int map_buffers(struct source *s)
{
	struct v4l2_requestbuffers rb = {.count = V4L2_BUFFER_COUNT,
					 .type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					 .memory = V4L2_MEMORY_MMAP};
	size_t maxlen = 0;

	if (xioctl(s->dev, s->fd, VIDIOC_REQBUFS, &rb) < 0) {
		log_warn("camera '%s': cannot get mmap buffers", s->path);
		return -1;
	}
	if (rb.count < 2) {
		log_warnx("camera '%s' gave %u buffer(s), 2 needed", s->path,
			  rb.count);
		errno = ENOMEM;
		return -1;
	}
	if (rb.count > V4L2_BUFFER_COUNT)
		rb.count = V4L2_BUFFER_COUNT;
	for (uint32_t i = 0; i < rb.count; i++) {
		struct v4l2_buffer b = {.index = i,
					.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
					.memory = V4L2_MEMORY_MMAP};
		void *p;

		if (xioctl(s->dev, s->fd, VIDIOC_QUERYBUF, &b) < 0) {
			log_warn("camera '%s': cannot query buffer %u", s->path,
				 i);
			return -1;
		}
		p = s->dev->mmap(s->dev->ctx, s->fd, b.length, b.m.offset);
		if (p == MAP_FAILED) {
			log_warn("camera '%s': cannot map buffer %u", s->path,
				 i);
			return -1;
		}
		s->maps[i].start = p;
		s->maps[i].length = b.length;
		s->nmaps = i + 1;
		if (b.length > maxlen)
			maxlen = b.length;
		if (xioctl(s->dev, s->fd, VIDIOC_QBUF, &b) < 0) {
			log_warn("camera '%s': cannot queue buffer %u", s->path,
				 i);
			return -1;
		}
	}
	if (s->kind == PICTURE_JPEG && s->fixcap < maxlen + JPEGFIX_DHT_SIZE) {
		uint8_t *p = realloc(s->fixbuf, maxlen + JPEGFIX_DHT_SIZE);

		if (p == NULL)
			return -1;
		s->fixbuf = p;
		s->fixcap = maxlen + JPEGFIX_DHT_SIZE;
	}
	return 0;
}

/* Opens and starts streaming.  -1 with errno; ENOTSUP is permanent. */
static int device_start(struct source *s)
{
	struct v4l2_capability cap;
	struct epoll_event ev = {.events = EPOLLIN};
	int type = V4L2_BUF_TYPE_VIDEO_CAPTURE;
	const char *why = NULL;
	char cc[5];

	s->fd = s->dev->open(s->dev->ctx, s->path);
	if (s->fd < 0) {
		if (!s->opened_once)
			log_warn("cannot open camera '%s'", s->path);
		return -1;
	}
	if (check_caps(s->dev, s->fd, &cap, &why) < 0) {
		log_warnx("cannot use '%s': %s", s->path, why);
		errno = ENOTSUP;
		goto fail;
	}
	if (negotiate(s) < 0)
		goto fail;
	set_rate(s);
	apply_controls(s);
	if (map_buffers(s) < 0)
		goto fail;
	if (xioctl(s->dev, s->fd, VIDIOC_STREAMON, &type) < 0) {
		log_warn("camera '%s': cannot start streaming", s->path);
		goto fail;
	}
	ev.data.fd = s->fd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0)
		goto fail;
	fourcc_str(s->fourcc, cc);
	if (!s->opened_once)
		log_info("camera '%s' (%.32s): %s %dx%d", s->path,
			 (const char *)cap.card, cc, s->width, s->height);
	s->opened_once = 1;
	s->last_frame_ms = now_ms(CLOCK_MONOTONIC);
	arm_timer(s, V4L2_STALL_MS);
	return 0;
fail : {
	int e = errno;

	device_stop(s);
	errno = e;
}
	return -1;
}

/* The camera went away or stalled: close it and try again later. */
static void device_lost(struct source *s)
{
	device_stop(s);
	s->reconnecting = 1;
	s->losses++;
	s->backoff_ms = V4L2_BACKOFF_MIN_MS;
	arm_timer(s, s->backoff_ms);
}

/* ------------------------------------------------------------ source ops */

static int v4l2_match(const char *spec)
{
	return strcmp(spec, "v4l2") == 0 || strncmp(spec, "v4l2:", 5) == 0;
}

/* "v4l2:/dev/video2", "v4l2:2", "v4l2" (the first capture device). */
static int resolve_path(const char *spec, char *path, size_t size)
{
	const char *arg = spec[4] == ':' ? spec + 5 : "";
	char *end;
	long n;

	if (*arg == '\0')
		return v4l2_first_device(path, size);
	n = strtol(arg, &end, 10);
	if (*end == '\0' && n >= 0 && n < 1000) {
		snprintf(path, size, "/dev/video%ld", n);
		return 0;
	}
	if ((size_t)snprintf(path, size, "%s", arg) >= size) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return 0;
}

static void v4l2_close(struct source *s)
{
	if (s == NULL)
		return;
	device_stop(s);
	if (s->timerfd >= 0)
		close(s->timerfd);
	if (s->epfd >= 0)
		close(s->epfd);
	free(s->fixbuf);
	free(s);
}

static int v4l2_open(struct source **out, const struct source_config *cfg)
{
	struct source *s = calloc(1, sizeof(*s));
	struct epoll_event ev = {.events = EPOLLIN};

	if (s == NULL)
		return -1;
	s->dev = v4l2_dev;
	s->fd = -1;
	s->timerfd = -1;
	s->held = -1;
	s->want_width = cfg->width > 0 ? cfg->width : 1280;
	s->want_height = cfg->height > 0 ? cfg->height : 720;
	s->want_fps = cfg->fps > 0 ? cfg->fps : 24;
	if (cfg->extra != NULL)
		s->ctl = *(const struct camera_controls *)cfg->extra;
	else
		camera_controls_init(&s->ctl);
	s->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (s->epfd < 0)
		goto fail;
	s->timerfd = timerfd_create(CLOCK_MONOTONIC,
				    TFD_NONBLOCK | TFD_CLOEXEC);
	if (s->timerfd < 0)
		goto fail;
	ev.data.fd = s->timerfd;
	if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->timerfd, &ev) < 0)
		goto fail;
	if (resolve_path(cfg->spec, s->path, sizeof(s->path)) < 0) {
		log_warnx("no V4L2 capture device found for '%s'", cfg->spec);
		errno = ENODEV;
		goto fail;
	}
	/* A camera that is absent at start is an error (systemd restarts
	 * capture); one that goes away later is waited for. */
	if (device_start(s) < 0)
		goto fail;
	*out = s;
	return 0;
fail : {
	int e = errno;

	v4l2_close(s);
	errno = e;
}
	return -1;
}

static int v4l2_fd(const struct source *s)
{
	return s->epfd;
}

static void requeue(struct source *s, uint32_t index)
{
	struct v4l2_buffer b = {.index = index,
				.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP};

	if (s->fd >= 0 && xioctl(s->dev, s->fd, VIDIOC_QBUF, &b) < 0)
		log_debug("camera '%s': cannot requeue buffer %u: %s", s->path,
			  index, strerror(errno));
}

static void v4l2_release(struct source *s, struct picture *pic)
{
	(void)pic;
	if (s->held >= 0)
		requeue(s, (uint32_t)s->held);
	s->held = -1;
}

/* Timer expiry: a re-open attempt, or the stall watchdog.  Returns 1 when
 * the device is streaming afterwards. */
static int on_timer(struct source *s)
{
	uint64_t ticks;
	int64_t idle;

	if (read(s->timerfd, &ticks, sizeof(ticks)) != sizeof(ticks))
		return s->fd >= 0;
	if (s->reconnecting) {
		if (device_start(s) == 0) {
			log_info("camera '%s' is back", s->path);
			s->reconnecting = 0;
			return 1;
		}
		s->backoff_ms = s->backoff_ms * 2 > V4L2_BACKOFF_MAX_MS
					? V4L2_BACKOFF_MAX_MS
					: s->backoff_ms * 2;
		log_debug("camera '%s' still gone; next try in %d ms", s->path,
			  s->backoff_ms);
		arm_timer(s, s->backoff_ms);
		return 0;
	}
	if (s->fd < 0)
		return 0;
	idle = now_ms(CLOCK_MONOTONIC) - s->last_frame_ms;
	if (idle >= V4L2_STALL_MS) {
		log_warnx(
			"camera '%s' sent no frame for %lld ms; re-opening it",
			s->path, (long long)idle);
		device_lost(s);
		return 0;
	}
	arm_timer(s, (int)(V4L2_STALL_MS - idle));
	return 1;
}

/* Length of the JPEG in a driver buffer: drivers pad after EOI. */
static size_t jpeg_length(const uint8_t *p, size_t len)
{
	if (len < 4 || p[0] != 0xff || p[1] != 0xd8)
		return 0;
	for (size_t i = len; i >= 4; i--)
		if (p[i - 2] == 0xff && p[i - 1] == 0xd9)
			return i;
	return 0;
}

static int fill_jpeg(struct source *s, const struct v4l2_buffer *b,
		     struct picture *pic)
{
	const uint8_t *p = s->maps[b->index].start;
	size_t len = jpeg_length(p, b->bytesused), sos;

	switch (len ? jpegfix_check(p, len, &sos) : JPEGFIX_BAD) {
	case JPEGFIX_OK:
		pic->data = p;
		pic->len = len;
		return 1; /* lent out: requeued on release */
	case JPEGFIX_NEEDED:
		pic->len = jpegfix_insert(p, len, sos, s->fixbuf, s->fixcap);
		if (pic->len == 0)
			return -1;
		pic->data = s->fixbuf;
		if (s->fixed++ == 0)
			log_info("camera '%s' sends JPEGs without Huffman "
				 "tables; inserting the standard ones",
				 s->path);
		return 0;
	case JPEGFIX_BAD:
		break;
	}
	return -1;
}

static int fill_raw(struct source *s, const struct v4l2_buffer *b,
		    struct picture *pic)
{
	uint8_t *p = s->maps[b->index].start;
	size_t need, plane = (size_t)s->stride * s->height;
	int cw = (s->width + 1) / 2, ch = (s->height + 1) / 2;

	switch (s->kind) {
	case PICTURE_YUYV:
		need = plane;
		break;
	case PICTURE_NV12:
		need = plane + (size_t)s->stride * ch;
		pic->planes[1] = p + plane;
		pic->strides[1] = s->stride;
		break;
	case PICTURE_I420:
		need = plane + 2 * (size_t)(s->stride / 2) * ch;
		pic->planes[1] = p + plane;
		pic->planes[2] = p + plane + (size_t)(s->stride / 2) * ch;
		pic->strides[1] = s->stride / 2;
		pic->strides[2] = s->stride / 2;
		if (s->stride / 2 < cw)
			return -1;
		break;
	case PICTURE_JPEG:
	default:
		return -1;
	}
	if (b->bytesused < need)
		return -1; /* short frame */
	pic->planes[0] = p;
	pic->strides[0] = s->stride;
	return 1;
}

static enum source_result v4l2_next(struct source *s, struct picture *pic)
{
	struct v4l2_buffer b = {.type = V4L2_BUF_TYPE_VIDEO_CAPTURE,
				.memory = V4L2_MEMORY_MMAP};
	int r;

	v4l2_release(s, pic);
	on_timer(s);
	if (s->fd < 0)
		return SOURCE_AGAIN;
	if (xioctl(s->dev, s->fd, VIDIOC_DQBUF, &b) < 0) {
		if (errno == EAGAIN || errno == EINTR)
			return SOURCE_AGAIN;
		log_warn("camera '%s' lost; re-opening it", s->path);
		device_lost(s);
		return SOURCE_AGAIN;
	}
	if (b.index >= s->nmaps) {
		log_warnx("camera '%s' returned buffer %u of %u", s->path,
			  b.index, s->nmaps);
		s->skipped++;
		return SOURCE_AGAIN;
	}
	memset(pic, 0, sizeof(*pic));
	r = -1;
	if (!(b.flags & V4L2_BUF_FLAG_ERROR) && b.bytesused > 0 &&
	    b.bytesused <= s->maps[b.index].length) {
		pic->kind = s->kind;
		pic->width = s->width;
		pic->height = s->height;
		r = s->kind == PICTURE_JPEG ? fill_jpeg(s, &b, pic)
					    : fill_raw(s, &b, pic);
	}
	if (r < 0) {
		s->skipped++;
		log_debug("camera '%s': skipped a corrupt or short frame "
			  "(%u bytes, flags 0x%x)",
			  s->path, b.bytesused, b.flags);
		requeue(s, b.index);
		return SOURCE_AGAIN;
	}
	if (r == 1)
		s->held = (int)b.index;
	else
		requeue(s, b.index);
	s->last_frame_ms = now_ms(CLOCK_MONOTONIC);
	if ((b.flags & V4L2_BUF_FLAG_TIMESTAMP_MASK) ==
		    V4L2_BUF_FLAG_TIMESTAMP_MONOTONIC &&
	    (b.timestamp.tv_sec != 0 || b.timestamp.tv_usec != 0)) {
		int64_t mono = (int64_t)b.timestamp.tv_sec * 1000000000 +
			       (int64_t)b.timestamp.tv_usec * 1000;

		pic->monotonic_ns = mono;
		pic->realtime_ns = clock_ns(CLOCK_REALTIME) -
				   (clock_ns(CLOCK_MONOTONIC) - mono);
	}
	return SOURCE_FRAME;
}

static uint64_t v4l2_skipped(const struct source *s)
{
	return s->skipped;
}

const struct source_ops v4l2_source_ops = {
	.name = "v4l2",
	.match = v4l2_match,
	.open = v4l2_open,
	.fd = v4l2_fd,
	.next = v4l2_next,
	.release = v4l2_release,
	.skipped = v4l2_skipped,
	.close = v4l2_close,
};

/* ------------------------------------------------------------ listing */

static void describe_rates(FILE *out, const struct v4l2dev *dev, int fd,
			   uint32_t fourcc, struct size sz)
{
	const char *sep = "@";

	for (uint32_t i = 0; i < 32; i++) {
		struct v4l2_frmivalenum iv = {.index = i,
					      .pixel_format = fourcc,
					      .width = (uint32_t)sz.w,
					      .height = (uint32_t)sz.h};

		if (xioctl(dev, fd, VIDIOC_ENUM_FRAMEINTERVALS, &iv) < 0)
			break;
		if (iv.type != V4L2_FRMIVAL_TYPE_DISCRETE) {
			const struct v4l2_frmival_stepwise *sw = &iv.stepwise;

			if (sw->max.numerator && sw->min.numerator)
				fprintf(out, "@%.4g-%.4g",
					(double)sw->max.denominator /
						sw->max.numerator,
					(double)sw->min.denominator /
						sw->min.numerator);
			break;
		}
		if (iv.discrete.numerator == 0)
			continue;
		fprintf(out, "%s%.4g", sep,
			(double)iv.discrete.denominator /
				iv.discrete.numerator);
		sep = ",";
	}
}

int v4l2_describe(FILE *out, const char *path)
{
	const struct v4l2dev *dev = v4l2_dev;
	struct v4l2_capability cap;
	uint32_t offered[V4L2_FORMATS_MAX];
	struct size sizes[V4L2_SIZES_MAX];
	const char *why;
	int fd, nf, usable = 0;
	char cc[5];

	fd = dev->open(dev->ctx, path);
	if (fd < 0)
		return -1;
	if (check_caps(dev, fd, &cap, &why) < 0)
		goto done;
	nf = enum_formats(dev, fd, offered, V4L2_FORMATS_MAX);
	if (choose_format(offered, nf, 0) == 0)
		goto done;
	usable = 1;
	if (out == NULL)
		goto done;
	fprintf(out, "v4l2:%s  '%.32s' (%.16s, %.32s)\n", path,
		(const char *)cap.card, (const char *)cap.driver,
		(const char *)cap.bus_info);
	for (int i = 0; i < nf; i++) {
		int ns;

		if (known_format(offered[i]) == NULL)
			continue;
		fourcc_str(offered[i], cc);
		fprintf(out, "    %s:", cc);
		ns = enum_sizes(dev, fd, offered[i], sizes, V4L2_SIZES_MAX,
				NULL);
		for (int k = 0; k < ns; k++) {
			fprintf(out, " %dx%d", sizes[k].w, sizes[k].h);
			describe_rates(out, dev, fd, offered[i], sizes[k]);
		}
		fputc('\n', out);
	}
done:
	dev->close(dev->ctx, fd);
	return usable;
}

/* /dev/videoN numbers present, sorted. */
static int video_nodes(int *nums, int max)
{
	DIR *d = opendir("/dev");
	struct dirent *e;
	int n = 0;

	if (d == NULL)
		return 0;
	while ((e = readdir(d)) != NULL && n < max) {
		char *end;
		long v;

		if (strncmp(e->d_name, "video", 5) != 0 || e->d_name[5] == '\0')
			continue;
		v = strtol(e->d_name + 5, &end, 10);
		if (*end == '\0' && v >= 0 && v < INT_MAX)
			nums[n++] = (int)v;
	}
	closedir(d);
	for (int i = 1; i < n; i++) /* insertion sort: a handful of nodes */
		for (int k = i; k > 0 && nums[k - 1] > nums[k]; k--) {
			int t = nums[k];

			nums[k] = nums[k - 1];
			nums[k - 1] = t;
		}
	return n;
}

int v4l2_list(FILE *out)
{
	int nums[V4L2_DEVICE_MAX], n = video_nodes(nums, V4L2_DEVICE_MAX);
	int found = 0;

	for (int i = 0; i < n; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/dev/video%d", nums[i]);
		if (v4l2_describe(out, path) == 1)
			found++;
	}
	return found;
}

/* USB webcams first: on a Pi, the other capture nodes belong to the
 * camera pipeline that libcamera drives. */
int v4l2_first_device(char *path, size_t size)
{
	int nums[V4L2_DEVICE_MAX], n = video_nodes(nums, V4L2_DEVICE_MAX);
	const struct v4l2dev *dev = v4l2_dev;

	for (int pass = 0; pass < 2; pass++)
		for (int i = 0; i < n; i++) {
			struct v4l2_capability cap;
			const char *why;
			char p[32];
			int fd, usable;

			snprintf(p, sizeof(p), "/dev/video%d", nums[i]);
			fd = dev->open(dev->ctx, p);
			if (fd < 0)
				continue;
			usable = check_caps(dev, fd, &cap, &why) == 0 &&
				 (pass == 1 || strcmp((const char *)cap.driver,
						      "uvcvideo") == 0);
			dev->close(dev->ctx, fd);
			if (usable && v4l2_describe(NULL, p) == 1) {
				snprintf(path, size, "%s", p);
				return 0;
			}
		}
	errno = ENODEV;
	return -1;
}
