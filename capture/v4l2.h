/* SPDX-License-Identifier: MIT */
/*
 * v4l2: the USB webcam source ("v4l2:/dev/videoN", "v4l2:N", or "v4l2" for
 * the first capture device).  MJPEG is negotiated first and published
 * byte-for-byte (the standard Huffman tables inserted into frames that lack
 * them); else YUYV, NV12 or YU12 pictures are handed to capture to encode.
 * mmap streaming I/O.  A camera that is unplugged (ENODEV) or stops sending
 * frames is closed and re-opened with backoff while capture keeps running;
 * corrupt or short buffers are skipped and counted.  The device layer is
 * v4l2dev_current() (v4l2dev.h) when the source is opened.
 */
#ifndef VIGIL_V4L2_H
#define VIGIL_V4L2_H

#include <stddef.h>

#include "source.h"

#define V4L2_BUFFER_COUNT 4 /* driver buffers requested */
#define V4L2_BACKOFF_MIN_MS 250 /* first re-open attempt after a loss */
#define V4L2_BACKOFF_MAX_MS 8000
#define V4L2_STALL_MS 5000 /* no frame this long: re-open */

extern const struct source_ops v4l2_source_ops;

#endif
