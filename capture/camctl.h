/* SPDX-License-Identifier: MIT */
/*
 * camctl: the camera control flags (--exposure, --gain, --awb, --brightness,
 * --contrast, --sharpness, --profile) that the camera sources (v4l2,
 * libcamera) apply.  They reach a source through source_config.extra
 * (a const struct camera_controls *).
 */
#ifndef VIGIL_CAMCTL_H
#define VIGIL_CAMCTL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* White balance modes, in the order of libcamera's AwbModeEnum. */
enum camera_awb {
	CAMERA_AWB_UNSET = -1,
	CAMERA_AWB_AUTO = 0,
	CAMERA_AWB_INCANDESCENT,
	CAMERA_AWB_TUNGSTEN,
	CAMERA_AWB_FLUORESCENT,
	CAMERA_AWB_INDOOR,
	CAMERA_AWB_DAYLIGHT,
	CAMERA_AWB_CLOUDY,
};

/*
 * day:   exposure capped at one frame time: the frame rate holds, motion
 *        stays sharp.
 * night: long exposures allowed (up to CAMERA_NIGHT_EXPOSURE_US, the frame
 *        rate drops to match) and more gain: a dark scene stays visible.
 * auto:  libcamera switches between the two from the exposure and gain the
 *        AE picks (daynight.h decides, with hysteresis); V4L2 lets the
 *        camera's own auto exposure priority decide.
 */
enum camera_profile {
	CAMERA_PROFILE_UNSET = 0,
	CAMERA_PROFILE_DAY,
	CAMERA_PROFILE_NIGHT,
	CAMERA_PROFILE_AUTO,
};

#define CAMERA_NIGHT_EXPOSURE_US 250000 /* 4 fps at worst */
#define CAMERA_EXPOSURE_MAX_US 10000000
#define CAMERA_GAIN_MAX 64.0
#define CAMERA_CONTRAST_MAX 32 /* integers: --help and messages print them */
#define CAMERA_SHARPNESS_MAX 16

/* Pixel formats a V4L2 camera may be asked for (--format). */
enum camera_format {
	CAMERA_FORMAT_AUTO = 0, /* MJPEG when offered, else YUYV, NV12, YU12 */
	CAMERA_FORMAT_MJPEG,
	CAMERA_FORMAT_YUYV,
	CAMERA_FORMAT_NV12,
	CAMERA_FORMAT_YU12,
};

/* The control flags, in the order --help lists them. */
enum camctl_id {
	CAMCTL_EXPOSURE,
	CAMCTL_GAIN,
	CAMCTL_AWB,
	CAMCTL_BRIGHTNESS,
	CAMCTL_CONTRAST,
	CAMCTL_SHARPNESS,
	CAMCTL_PROFILE,
	CAMCTL_FORMAT,
	CAMCTL_COUNT,
};

/* Each field has an "unset" value: the camera's default then stays. */
struct camera_controls {
	int exposure_set; /* --exposure given */
	int64_t exposure_us; /* 0: automatic exposure, else fixed, in us */
	double gain; /* 0: unset/automatic; analogue gain, 1.0 up */
	enum camera_awb awb;
	int brightness_set;
	double brightness; /* -1.0 .. 1.0, 0 neutral */
	int contrast_set;
	double contrast; /* 0 .. 32, 1.0 neutral */
	int sharpness_set;
	double sharpness; /* 0 .. 16, 1.0 neutral, 0 none */
	enum camera_profile profile;
	enum camera_format format;
};

/* All unset. */
void camctl_init(struct camera_controls *c);

/*
 * Parses one control flag: name is "exposure", "gain", "awb", "brightness",
 * "contrast", "sharpness", "profile" or "format" (the long option without
 * "--").
 * Returns 1 when name is a control and value is good, 0 when name is not a
 * control flag, -1 with a message in why (size bytes) for a bad value.
 */
int camctl_parse(struct camera_controls *c, const char *name, const char *value,
		 char *why, size_t size);

/* The flag of a control, "--exposure" (for messages), or NULL past the
 * end; camctl_name() is the same without "--" (the long option's name). */
const char *camctl_flag(enum camctl_id id);
const char *camctl_name(enum camctl_id id);

/* Prints the camera controls' lines of --help. */
void camctl_print_help(FILE *out);

const char *camctl_awb_name(enum camera_awb awb);
const char *camctl_profile_name(enum camera_profile profile);

/*
 * Maps a control value onto an integer range the way V4L2 sources need:
 * a neutral value lands on def, the lowest on min, and values above neutral
 * spread up to max at "high".  Result clamped to [min, max] and rounded to
 * step from min.
 */
int64_t camctl_map_range(double value, double low, double neutral, double high,
			 int64_t min, int64_t def, int64_t max, int64_t step);

#endif
