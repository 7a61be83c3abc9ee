/* SPDX-License-Identifier: MIT */
/*
 * autosrc: finds the cameras for `--source auto` (the default) and
 * `--list-sources`: libcamera cameras first (the Pi camera modules), then
 * V4L2 capture devices (USB webcams), else the synthetic testsrc.
 */
#ifndef VIGIL_AUTOSRC_H
#define VIGIL_AUTOSRC_H

#include <stddef.h>
#include <stdio.h>

#include "source.h"

/*
 * Writes the spec of the first libcamera camera, else the first V4L2
 * capture device, else "testsrc" into spec, and the reason, for the one
 * log line, into why.
 */
void autosrc_spec(char *spec, size_t size, char *why, size_t whysize);

/*
 * Prints every camera found (libcamera cameras, V4L2 capture devices) with
 * their formats, sizes and rates, or a line saying there are none.
 * Returns the number of cameras.
 */
int autosrc_list(FILE *out);

/* The "auto" source: resolves with autosrc_spec() when opened (one log
 * line says which source and why), then behaves as the source it chose. */
extern const struct source_ops autosrc_source_ops;

#endif
