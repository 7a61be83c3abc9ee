/* SPDX-License-Identifier: MIT */
/*
 * daynight: the day/night profile decision both camera sources share
 * (camctl.h says what each profile means).  Pure: no clock, no device, no
 * logging; the caller passes the readings and the time, and applies the
 * mode it gets back.
 *
 * --profile auto switches to night when auto exposure runs at the day cap
 * (90% of a frame time) with gain of DAYNIGHT_NIGHT_GAIN or more, and back
 * to day when half a frame time and half that gain would do; the new
 * reading must hold for DAYNIGHT_SWITCH_NS before the mode changes, so a
 * passing headlight does not flip it.
 */
#ifndef VIGIL_DAYNIGHT_H
#define VIGIL_DAYNIGHT_H

#include <stdint.h>

#include "camctl.h"

#define DAYNIGHT_SWITCH_NS (10 * (int64_t)1000000000) /* hysteresis */
#define DAYNIGHT_NIGHT_GAIN 6.0 /* auto exposure this far up: it is dark */
#define DAYNIGHT_DEFAULT_FPS 24 /* the frame time when fps is not given */

enum daynight_mode {
	DAYNIGHT_DAY,
	DAYNIGHT_NIGHT,
};

struct daynight {
	enum camera_profile profile;
	enum daynight_mode mode;
	int64_t since_ns; /* when readings started to disagree, or 0 */
};

/* The start: night for --profile night, day for every other profile. */
void daynight_init(struct daynight *d, enum camera_profile profile);

/*
 * One reading of the exposure (us) and analogue gain auto exposure chose
 * for a frame, at now_ns (a monotonic clock), frame_us being one frame
 * time.  Returns the mode from now on (d->mode); only --profile auto ever
 * changes it.
 */
enum daynight_mode daynight_update(struct daynight *d, int64_t exposure_us,
				   double gain, int64_t frame_us,
				   int64_t now_ns);

/* One frame time in us at fps (DAYNIGHT_DEFAULT_FPS when fps <= 0). */
int64_t daynight_frame_us(int fps);

/* The longest exposure a mode allows: one frame time by day, at least
 * CAMERA_NIGHT_EXPOSURE_US by night (the frame rate drops to match). */
int64_t daynight_max_exposure_us(enum daynight_mode mode, int64_t frame_us);

/* Whether a fixed profile (day or night) asks the camera to hold its frame
 * rate: 1 day, 0 night, -1 for unset and auto (the source decides). */
int daynight_fixed_rate(enum camera_profile profile);

#endif
