/* SPDX-License-Identifier: MIT */
/*
 * recframe: what the recorder keeps of one ring frame besides its JPEG
 * bytes.  A plain description shared by preroll, event and clip; it owns
 * nothing.  The motion fields are zero when the ring carries no motion
 * result for the frame.
 */
#ifndef VIGIL_RECFRAME_H
#define VIGIL_RECFRAME_H

#include <stdint.h>

#define RECFRAME_GRID_BYTES 72 /* RING_MOTION_GRID_BYTES: 32 x 18 cells */

struct recframe {
	uint64_t seq;
	int64_t realtime_ns; /* capture time, CLOCK_REALTIME */
	int64_t monotonic_ns; /* capture time, CLOCK_MONOTONIC */
	uint32_t flags; /* enum ring_frame_flag */
	uint32_t width, height;
	uint32_t score; /* motion score, per mille */
	uint8_t grid[RECFRAME_GRID_BYTES];
};

#endif
