/* SPDX-License-Identifier: MIT */
/*
 * offline: the "camera offline" picture that stream clients get while the
 * camera is stalled or absent (rather than a frozen last frame).  Rendered
 * once per picture size with TurboJPEG: a dark picture with large text.
 */
#ifndef VIGIL_OFFLINE_H
#define VIGIL_OFFLINE_H

#include <stddef.h>
#include <stdint.h>

#define OFFLINE_WIDTH_DEFAULT 1280u
#define OFFLINE_HEIGHT_DEFAULT 720u
#define OFFLINE_SIZE_MIN 64u
#define OFFLINE_SIZE_MAX 8192u

/*
 * Renders a width x height JPEG (clamped to OFFLINE_SIZE_MIN..MAX) into a
 * malloc'd buffer: *jpeg (caller frees with free()), *len.  0, or -1 with
 * errno (ENOMEM, EIO when the encoder fails).
 */
int offline_render(uint32_t width, uint32_t height, uint8_t **jpeg,
		   size_t *len);

#endif
