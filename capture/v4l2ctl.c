/* SPDX-License-Identifier: MIT */
/* v4l2ctl: camera controls onto V4L2 controls. */
#include "v4l2ctl.h"

#include <linux/videodev2.h>
#include <string.h>

#include "daynight.h"
#include "log.h"

/* The device a set of controls goes to. */
struct ctl_target {
	const struct v4l2dev *dev;
	int fd;
	const char *path;
	int quiet; /* a re-open: the first open already warned */
};

/* Queries a control; warns (on the first open only) when the camera
 * lacks it and flag names the option that wanted it. */
static int ctrl_query(struct ctl_target *s, uint32_t id, const char *flag,
		      struct v4l2_queryctrl *q)
{
	memset(q, 0, sizeof(*q));
	q->id = id;
	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_QUERYCTRL, q) < 0 ||
	    (q->flags & V4L2_CTRL_FLAG_DISABLED)) {
		if (flag != NULL && !s->quiet)
			log_warnx("camera '%s' has no control for %s; "
				  "ignored",
				  s->path, flag);
		return -1;
	}
	return 0;
}

static int ctrl_set(struct ctl_target *s, const struct v4l2_queryctrl *q,
		    const char *flag, int64_t value)
{
	struct v4l2_control c = {.id = q->id};

	if (value < q->minimum)
		value = q->minimum;
	if (value > q->maximum)
		value = q->maximum;
	c.value = (int32_t)value;
	if (v4l2dev_ioctl(s->dev, s->fd, VIDIOC_S_CTRL, &c) < 0) {
		if (!s->quiet)
			log_warn("camera '%s': cannot set %s", s->path,
				 flag != NULL ? flag : (const char *)q->name);
		return -1;
	}
	log_debug("camera '%s': %.32s = %d", s->path, (const char *)q->name,
		  (int)c.value);
	return 0;
}

/* Sets a control to a raw value (clamped to its range). */
static int set_ctrl_raw(struct ctl_target *s, uint32_t id, const char *flag,
			int64_t value)
{
	struct v4l2_queryctrl q;

	if (ctrl_query(s, id, flag, &q) < 0)
		return -1;
	return ctrl_set(s, &q, flag, value);
}

/* Sets a control from a flag's value: low..neutral..high onto the
 * control's minimum..default..maximum. */
static int set_ctrl_mapped(struct ctl_target *s, uint32_t id, const char *flag,
			   double value, double low, double neutral,
			   double high)
{
	struct v4l2_queryctrl q;

	if (ctrl_query(s, id, flag, &q) < 0)
		return -1;
	return ctrl_set(s, &q, flag,
			camctl_map_range(value, low, neutral, high, q.minimum,
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

void v4l2ctl_apply(const struct v4l2dev *dev, int fd, const char *path,
		   const struct camera_controls *c, int quiet)
{
	struct ctl_target target = {dev, fd, path, quiet}, *s = &target;

	if (c->exposure_set && c->exposure_us == 0) {
		/* UVC cameras call their automatic mode "aperture priority". */
		if (set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO, NULL,
				 V4L2_EXPOSURE_APERTURE_PRIORITY) < 0)
			set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO,
				     camctl_flag(CAMCTL_EXPOSURE),
				     V4L2_EXPOSURE_AUTO);
	} else if (c->exposure_set) {
		set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO,
			     camctl_flag(CAMCTL_EXPOSURE),
			     V4L2_EXPOSURE_MANUAL);
		/* V4L2_CID_EXPOSURE_ABSOLUTE counts 100 us units. */
		set_ctrl_raw(s, V4L2_CID_EXPOSURE_ABSOLUTE,
			     camctl_flag(CAMCTL_EXPOSURE),
			     (c->exposure_us + 50) / 100);
	}
	if (c->gain > 0) {
		/* Webcam gain has no unit: 1x is the minimum, 16x the top. */
		set_ctrl_raw(s, V4L2_CID_AUTOGAIN, NULL, 0);
		set_ctrl_mapped(s, V4L2_CID_GAIN, camctl_flag(CAMCTL_GAIN),
				c->gain, 1.0, 1.0, 16.0);
	}
	if (c->awb == CAMERA_AWB_AUTO) {
		if (set_ctrl_raw(s, V4L2_CID_AUTO_N_PRESET_WHITE_BALANCE, NULL,
				 V4L2_WHITE_BALANCE_AUTO) < 0)
			set_ctrl_raw(s, V4L2_CID_AUTO_WHITE_BALANCE,
				     camctl_flag(CAMCTL_AWB), 1);
	} else if (c->awb > CAMERA_AWB_AUTO) {
		if (set_ctrl_raw(s, V4L2_CID_AUTO_N_PRESET_WHITE_BALANCE, NULL,
				 awb_preset[c->awb]) < 0) {
			set_ctrl_raw(s, V4L2_CID_AUTO_WHITE_BALANCE,
				     camctl_flag(CAMCTL_AWB), 0);
			set_ctrl_raw(s, V4L2_CID_WHITE_BALANCE_TEMPERATURE,
				     camctl_flag(CAMCTL_AWB),
				     awb_kelvin[c->awb]);
		}
	}
	if (c->brightness_set)
		set_ctrl_mapped(s, V4L2_CID_BRIGHTNESS,
				camctl_flag(CAMCTL_BRIGHTNESS), c->brightness,
				-1.0, 0.0, 1.0);
	/* Contrast and sharpness: 1.0 is the camera's default, 2.0 and
	 * above its maximum. */
	if (c->contrast_set)
		set_ctrl_mapped(s, V4L2_CID_CONTRAST,
				camctl_flag(CAMCTL_CONTRAST), c->contrast, 0.0,
				1.0, 2.0);
	if (c->sharpness_set)
		set_ctrl_mapped(s, V4L2_CID_SHARPNESS,
				camctl_flag(CAMCTL_SHARPNESS), c->sharpness,
				0.0, 1.0, 2.0);
	/* Night: let auto exposure lengthen frames (the rate drops) rather
	 * than stay dark; day: hold the frame rate. */
	if (daynight_fixed_rate(c->profile) >= 0)
		set_ctrl_raw(s, V4L2_CID_EXPOSURE_AUTO_PRIORITY,
			     camctl_flag(CAMCTL_PROFILE),
			     daynight_fixed_rate(c->profile) == 0);
}
