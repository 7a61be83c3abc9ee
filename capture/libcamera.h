/* SPDX-License-Identifier: MIT */
/*
 * libcamera: the Raspberry Pi camera modules (and any camera libcamera
 * drives) as a vigil source: "libcamera" (the first camera), "libcamera:N"
 * (the Nth, from 0) or "libcamera:<id>" (an id as --list-sources prints it).
 * The C++ lives in libcamera.cpp alone; this header is all the rest of
 * capture sees.  Built when pkg-config finds libcamera; otherwise
 * libcamera_none.c provides the same names, and opening the source says
 * that this vigil-capture was built without libcamera.
 *
 * The camera is configured for YUV420 at the requested size and rate
 * (FrameDurationLimits), its dmabufs are mapped once, and each completed
 * request's planes are handed to capture as a PICTURE_I420 (or NV12)
 * without a copy.  A camera that disappears or fails ends capture with an
 * error (systemd restarts it); the servers show "camera offline" meanwhile.
 */
#ifndef VIGIL_LIBCAMERA_H
#define VIGIL_LIBCAMERA_H

#include <stddef.h>
#include <stdio.h>

#include "source.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const struct source_ops libcamera_source_ops;

/* The libcamera version compiled in ("0.0.3"), or NULL when none. */
const char *libcamera_built_version(void);

/* Prints each camera with its YUV stream sizes; returns how many (0 when
 * none, or when libcamera is not built in: a line says which). */
int libcamera_list(FILE *out);

/* The spec of the first camera that is not a USB webcam (those are read
 * through V4L2) as "libcamera:<id>" into spec: 0, or -1 when there is none.
 * "libcamera" alone opens the same camera. */
int libcamera_first_camera(char *spec, size_t size);

#ifdef __cplusplus
}
#endif

#endif
