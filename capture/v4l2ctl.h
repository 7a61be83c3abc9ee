/* SPDX-License-Identifier: MIT */
/*
 * v4l2ctl: the camera control flags (camctl.h) applied to a V4L2 device:
 * each flag's value mapped onto the control's own range, UVC quirks
 * (automatic exposure called "aperture priority", white balance presets as
 * colour temperatures) handled.  A control the camera lacks is skipped with
 * one warning.
 */
#ifndef VIGIL_V4L2CTL_H
#define VIGIL_V4L2CTL_H

#include "camctl.h"
#include "v4l2dev.h"

/* Sets the controls c asks for on the open device fd (path names it in
 * messages).  quiet: a re-open, whose warnings the first open gave. */
void v4l2ctl_apply(const struct v4l2dev *dev, int fd, const char *path,
		   const struct camera_controls *c, int quiet);

#endif
