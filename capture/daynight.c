/* SPDX-License-Identifier: MIT */
/* daynight: the day/night profile decision, with hysteresis. */
#include "daynight.h"

void daynight_init(struct daynight *d, enum camera_profile profile)
{
	d->profile = profile;
	d->mode = profile == CAMERA_PROFILE_NIGHT ? DAYNIGHT_NIGHT
						  : DAYNIGHT_DAY;
	d->since_ns = 0;
}

enum daynight_mode daynight_update(struct daynight *d, int64_t exposure_us,
				   double gain, int64_t frame_us,
				   int64_t now_ns)
{
	enum daynight_mode want;

	if (d->profile != CAMERA_PROFILE_AUTO)
		return d->mode;
	if (d->mode == DAYNIGHT_DAY)
		want = exposure_us >= frame_us * 9 / 10 &&
				       gain >= DAYNIGHT_NIGHT_GAIN
			       ? DAYNIGHT_NIGHT
			       : DAYNIGHT_DAY;
	else
		want = exposure_us < frame_us / 2 &&
				       gain < DAYNIGHT_NIGHT_GAIN / 2
			       ? DAYNIGHT_DAY
			       : DAYNIGHT_NIGHT;
	if (want == d->mode) {
		d->since_ns = 0;
		return d->mode;
	}
	if (d->since_ns == 0) {
		d->since_ns = now_ns;
		return d->mode;
	}
	if (now_ns - d->since_ns < DAYNIGHT_SWITCH_NS)
		return d->mode;
	d->mode = want;
	d->since_ns = 0;
	return d->mode;
}

int64_t daynight_frame_us(int fps)
{
	return 1000000 / (fps > 0 ? fps : DAYNIGHT_DEFAULT_FPS);
}

int64_t daynight_max_exposure_us(enum daynight_mode mode, int64_t frame_us)
{
	if (mode == DAYNIGHT_NIGHT && frame_us < CAMERA_NIGHT_EXPOSURE_US)
		return CAMERA_NIGHT_EXPOSURE_US;
	return frame_us;
}

int daynight_fixed_rate(enum camera_profile profile)
{
	switch (profile) {
	case CAMERA_PROFILE_DAY:
		return 1;
	case CAMERA_PROFILE_NIGHT:
		return 0;
	case CAMERA_PROFILE_UNSET:
	case CAMERA_PROFILE_AUTO:
		break;
	}
	return -1;
}
