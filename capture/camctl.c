/* SPDX-License-Identifier: MIT */
/* camctl: the camera control flags and how they map onto controls. */
#include "camctl.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const awb_names[] = {
	[CAMERA_AWB_AUTO] = "auto",
	[CAMERA_AWB_INCANDESCENT] = "incandescent",
	[CAMERA_AWB_TUNGSTEN] = "tungsten",
	[CAMERA_AWB_FLUORESCENT] = "fluorescent",
	[CAMERA_AWB_INDOOR] = "indoor",
	[CAMERA_AWB_DAYLIGHT] = "daylight",
	[CAMERA_AWB_CLOUDY] = "cloudy",
};
#define AWB_COUNT (int)(sizeof(awb_names) / sizeof(awb_names[0]))

static const char *const format_names[] = {
	[CAMERA_FORMAT_AUTO] = "auto", [CAMERA_FORMAT_MJPEG] = "mjpeg",
	[CAMERA_FORMAT_YUYV] = "yuyv", [CAMERA_FORMAT_NV12] = "nv12",
	[CAMERA_FORMAT_YU12] = "yu12",
};

static const char *const profile_names[] = {
	[CAMERA_PROFILE_UNSET] = "unset",
	[CAMERA_PROFILE_DAY] = "day",
	[CAMERA_PROFILE_NIGHT] = "night",
	[CAMERA_PROFILE_AUTO] = "auto",
};

void camctl_init(struct camera_controls *c)
{
	memset(c, 0, sizeof(*c));
	c->awb = CAMERA_AWB_UNSET;
	c->contrast = 1.0;
	c->sharpness = 1.0;
	c->profile = CAMERA_PROFILE_UNSET;
}

const char *camctl_awb_name(enum camera_awb awb)
{
	return awb >= 0 && (int)awb < AWB_COUNT ? awb_names[awb] : "unset";
}

const char *camctl_profile_name(enum camera_profile profile)
{
	return (unsigned)profile <= CAMERA_PROFILE_AUTO ? profile_names[profile]
							: "unset";
}

/* A finite number within [lo, hi], the whole string. */
static int parse_number(const char *value, double lo, double hi, double *out)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(value, &end);
	if (errno != 0 || end == value || *end != '\0' || !isfinite(v) ||
	    v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_exposure(struct camera_controls *c, const char *value,
			  char *why, size_t size)
{
	double v;

	if (strcmp(value, "auto") == 0) {
		c->exposure_us = 0;
	} else if (parse_number(value, 1, CAMERA_EXPOSURE_MAX_US, &v) == 0 &&
		   v == floor(v)) {
		c->exposure_us = (int64_t)v;
	} else {
		snprintf(why, size,
			 "--exposure takes 'auto' or microseconds "
			 "1..%d, not '%s'",
			 CAMERA_EXPOSURE_MAX_US, value);
		return -1;
	}
	c->exposure_set = 1;
	return 1;
}

static int parse_gain(struct camera_controls *c, const char *value, char *why,
		      size_t size)
{
	double v;

	if (strcmp(value, "auto") == 0) {
		c->gain = 0;
	} else if (parse_number(value, 1.0, CAMERA_GAIN_MAX, &v) == 0) {
		c->gain = v;
	} else {
		snprintf(why, size, "--gain takes 'auto' or 1.0..%g, not '%s'",
			 CAMERA_GAIN_MAX, value);
		return -1;
	}
	return 1;
}

static int parse_awb(struct camera_controls *c, const char *value, char *why,
		     size_t size)
{
	for (int i = 0; i < AWB_COUNT; i++)
		if (strcmp(value, awb_names[i]) == 0) {
			c->awb = (enum camera_awb)i;
			return 1;
		}
	snprintf(why, size,
		 "--awb takes auto, incandescent, tungsten, fluorescent, "
		 "indoor, daylight or cloudy, not '%s'",
		 value);
	return -1;
}

#define CAMCTL_STR(x) #x
#define CAMCTL_XSTR(x) CAMCTL_STR(x)

/* A number within lo..hi (range: the same for messages) into *out, and
 * *set = 1. */
static int parse_bounded(enum camctl_id id, const char *range, double lo,
			 double hi, double *out, int *set, const char *value,
			 char *why, size_t size)
{
	if (parse_number(value, lo, hi, out) < 0) {
		snprintf(why, size, "%s takes %s, not '%s'", camctl_flag(id),
			 range, value);
		return -1;
	}
	*set = 1;
	return 1;
}

static int parse_brightness(struct camera_controls *c, const char *value,
			    char *why, size_t size)
{
	return parse_bounded(CAMCTL_BRIGHTNESS, "-1.0..1.0", -1.0, 1.0,
			     &c->brightness, &c->brightness_set, value, why,
			     size);
}

static int parse_contrast(struct camera_controls *c, const char *value,
			  char *why, size_t size)
{
	return parse_bounded(CAMCTL_CONTRAST,
			     "0.." CAMCTL_XSTR(CAMERA_CONTRAST_MAX), 0.0,
			     CAMERA_CONTRAST_MAX, &c->contrast,
			     &c->contrast_set, value, why, size);
}

static int parse_sharpness(struct camera_controls *c, const char *value,
			   char *why, size_t size)
{
	return parse_bounded(CAMCTL_SHARPNESS,
			     "0.." CAMCTL_XSTR(CAMERA_SHARPNESS_MAX), 0.0,
			     CAMERA_SHARPNESS_MAX, &c->sharpness,
			     &c->sharpness_set, value, why, size);
}

static int parse_profile(struct camera_controls *c, const char *value,
			 char *why, size_t size)
{
	for (int i = CAMERA_PROFILE_DAY; i <= CAMERA_PROFILE_AUTO; i++)
		if (strcmp(value, profile_names[i]) == 0) {
			c->profile = (enum camera_profile)i;
			return 1;
		}
	snprintf(why, size, "--profile takes day, night or auto, not '%s'",
		 value);
	return -1;
}

static int parse_format(struct camera_controls *c, const char *value, char *why,
			size_t size)
{
	for (int i = CAMERA_FORMAT_AUTO; i <= CAMERA_FORMAT_YU12; i++)
		if (strcmp(value, format_names[i]) == 0) {
			c->format = (enum camera_format)i;
			return 1;
		}
	snprintf(why, size,
		 "--format takes auto, mjpeg, yuyv, nv12 or yu12, not '%s'",
		 value);
	return -1;
}

/* The one table of camera controls: the option, its parser, its --help
 * lines.  main.c's options, the sources' warnings and --help read it. */
static const struct camctl_flag {
	const char *flag; /* the long option, "--" included */
	int (*parse)(struct camera_controls *c, const char *value, char *why,
		     size_t size);
	const char *help;
} camctl_flags[CAMCTL_COUNT] = {
	/* clang-format off */
	[CAMCTL_EXPOSURE] = {"--exposure", parse_exposure,
	"  --exposure auto|US     automatic exposure, or a fixed exposure\n"
	"                         time in microseconds\n"},
	[CAMCTL_GAIN] = {"--gain", parse_gain,
	"  --gain auto|G          analogue gain, 1.0 up to 64 (V4L2: 1..16\n"
	"                         spans the camera's gain range)\n"},
	[CAMCTL_AWB] = {"--awb", parse_awb,
	"  --awb MODE             white balance: auto, incandescent,\n"
	"                         tungsten, fluorescent, indoor, daylight,\n"
	"                         cloudy\n"},
	[CAMCTL_BRIGHTNESS] = {"--brightness", parse_brightness,
	"  --brightness B         -1.0..1.0, 0 neutral\n"},
	[CAMCTL_CONTRAST] = {"--contrast", parse_contrast,
	"  --contrast C           0..32, 1.0 neutral (V4L2: 2.0 = maximum)\n"},
	[CAMCTL_SHARPNESS] = {"--sharpness", parse_sharpness,
	"  --sharpness S          0..16, 1.0 neutral, 0 off (V4L2: 2.0 =\n"
	"                         maximum)\n"},
	[CAMCTL_PROFILE] = {"--profile", parse_profile,
	"  --profile day|night|auto\n"
	"                         day: exposure capped at one frame time\n"
	"                         (steady rate, sharp motion); night: long\n"
	"                         exposures (down to 4 fps) and more gain;\n"
	"                         auto: switch on the light level\n"},
	[CAMCTL_FORMAT] = {"--format", parse_format,
	"  --format FMT           V4L2 pixel format: auto (MJPEG when\n"
	"                         offered, published as sent), mjpeg,\n"
	"                         yuyv, nv12, yu12 (raw formats get\n"
	"                         rotation, flips and the overlay, and\n"
	"                         cost an encode)\n"},
	/* clang-format on */
};

const char *camctl_flag(enum camctl_id id)
{
	return (unsigned)id < CAMCTL_COUNT ? camctl_flags[id].flag : NULL;
}

const char *camctl_name(enum camctl_id id)
{
	return (unsigned)id < CAMCTL_COUNT ? camctl_flags[id].flag + 2 : NULL;
}

int camctl_parse(struct camera_controls *c, const char *name, const char *value,
		 char *why, size_t size)
{
	for (int i = 0; i < CAMCTL_COUNT; i++)
		if (strcmp(name, camctl_flags[i].flag + 2) == 0)
			return camctl_flags[i].parse(c, value, why, size);
	return 0;
}

void camctl_print_help(FILE *out)
{
	fputs("Camera controls (libcamera and V4L2 cameras; the camera's own\n"
	      "defaults stay for any not given):\n",
	      out);
	for (int i = 0; i < CAMCTL_COUNT; i++)
		fputs(camctl_flags[i].help, out);
	fputs("  --list-sources         print every camera found and exit\n",
	      out);
}

int64_t camctl_map_range(double value, double low, double neutral, double high,
			 int64_t min, int64_t def, int64_t max, int64_t step)
{
	double v;
	int64_t r;

	if (max < min)
		max = min;
	if (def < min)
		def = min;
	if (def > max)
		def = max;
	if (step < 1)
		step = 1;
	if (value <= neutral) {
		double f = neutral > low ? (value - low) / (neutral - low)
					 : 1.0;

		f = f < 0 ? 0 : f;
		v = (double)min + f * (double)(def - min);
	} else {
		double f = high > neutral ? (value - neutral) / (high - neutral)
					  : 1.0;

		f = f > 1 ? 1 : f;
		v = (double)def + f * (double)(max - def);
	}
	r = min + (int64_t)llround((v - (double)min) / (double)step) * step;
	if (r > max)
		r = max;
	if (r < min)
		r = min;
	return r;
}
