/* SPDX-License-Identifier: MIT */
/*
 * v4l2: the USB webcam source ("v4l2:/dev/videoN", "v4l2:N", or "v4l2" for
 * the first capture device).  MJPEG is negotiated first and published
 * byte-for-byte (the standard Huffman tables inserted into frames that lack
 * them); else YUYV, NV12 or YU12 pictures are handed to capture to encode.
 * mmap streaming I/O.  A camera that is unplugged (ENODEV) or stops sending
 * frames is closed and re-opened with backoff while capture keeps running;
 * corrupt or short buffers are skipped and counted.
 */
#ifndef VIGIL_V4L2_H
#define VIGIL_V4L2_H

#include <stddef.h>
#include <stdio.h>

#include "source.h"
#include "v4l2dev.h"

#define V4L2_BUFFER_COUNT 4 /* driver buffers requested */
#define V4L2_BACKOFF_MIN_MS 250 /* first re-open attempt after a loss */
#define V4L2_BACKOFF_MAX_MS 8000
#define V4L2_STALL_MS 5000 /* no frame this long: re-open */
#define V4L2_DEVICE_MAX 64 /* /dev/video0 .. /dev/video63 */

extern const struct source_ops v4l2_source_ops;

/* Replaces the kernel with another device layer (the tests' fake);
 * NULL restores the kernel.  Affects sources opened afterwards. */
void v4l2_set_device(const struct v4l2dev *dev);

/*
 * Prints one V4L2 capture device: its card name, driver and bus, then each
 * format vigil can read with its sizes and frame rates.  Returns 1 when it
 * is a capture device vigil can use, 0 when it is not (metadata nodes,
 * codecs, no usable format: nothing printed), -1 when it cannot be opened.
 */
int v4l2_describe(FILE *out, const char *path);

/* Every /dev/videoN that v4l2_describe() accepts; returns how many. */
int v4l2_list(FILE *out);

/* The first usable capture device (a USB webcam ahead of other drivers)
 * into path: 0, or -1 when there is none. */
int v4l2_first_device(char *path, size_t size);

#endif
