/* SPDX-License-Identifier: MIT */
/*
 * v4l2list: the V4L2 capture devices vigil can read (for --list-sources and
 * `--source auto`), through the device layer in use (v4l2dev_current()).
 */
#ifndef VIGIL_V4L2LIST_H
#define VIGIL_V4L2LIST_H

#include <stddef.h>
#include <stdio.h>

#define V4L2LIST_DEVICE_MAX 64 /* /dev/video0 .. /dev/video63 */

/*
 * Prints one V4L2 capture device: its card name, driver and bus, then each
 * format vigil can read with its sizes and frame rates (nothing when out
 * is NULL).  Returns 1 when it is a capture device vigil can use, 0 when
 * it is not (metadata nodes, codecs, no usable format: nothing printed),
 * -1 when it cannot be opened.
 */
int v4l2list_describe(FILE *out, const char *path);

/* Every /dev/videoN that v4l2list_describe() accepts; returns how many. */
int v4l2list_all(FILE *out);

/* The first usable capture device (a USB webcam ahead of other drivers)
 * into path: 0, or -1 with errno ENODEV when there is none. */
int v4l2list_first(char *path, size_t size);

#endif
