/* SPDX-License-Identifier: MIT */
/*
 * motion: motion detection on the small grey picture of each frame (see
 * luma.h), built against false alarms.  Per frame:
 *
 *  - a slowly adapting background (running average, 8.8 fixed point, time
 *    constants in seconds so the frame rate does not matter), and the
 *    difference of the frame to it after a brightness compensation: the
 *    median difference is measured per brightness band of the background
 *    and subtracted, so a global change of exposure or light (a dawn ramp,
 *    auto-exposure) does not count as change;
 *  - a threshold that follows the measured noise: a robust sigma (median
 *    absolute difference) of the compensated differences, smoothed (rises
 *    at once, falls over seconds), times MOTION_NOISE_K, never below
 *    MOTION_THRESHOLD_MIN; or the user's fixed threshold;
 *  - changed pixels grouped into connected regions (8-connected); regions
 *    smaller than half the minimum area are dropped as speckle (noise, a
 *    far bird), and a region only counts as moving while it also changes
 *    from the previous frame (so a step that then stays still, such as the
 *    digits of a clock burned into the picture, a parked car, or the ghost
 *    of a background still adapting, is not motion);
 *  - a frame is "active" when the moving regions cover at least the
 *    minimum area (rounded to whole small pixels), "entering" when they
 *    cover half of it; motion is declared at an active frame that ends a
 *    run of `frames` consecutive active or entering frames (one frame
 *    without movement inside a run, a repeated frame, does not break it)
 *    and cleared when no frame was active for `hold_ms`;
 *  - the light-switch rule: when more than `lightswitch` percent of the
 *    watched picture changes at once, the background is reset to the frame
 *    and the frame is not active;
 *  - masks (in hundredths of a percent of the picture, so they survive a
 *    size change) and one ignore box in source pixels (capture's own
 *    overlay) are ignored entirely.
 *
 * Score and grid describe the moving regions of the frame: the score is
 * their share of the picture in per mille, the grid has a bit set for each
 * of the 32x18 cells they touch, with the bit order of the ring (cell (c, r)
 * is bit c % 8 of byte r * 4 + c / 8).
 *
 * Defaults (what a security camera user wants; the flags of vigil-capture):
 *   --motion on               enabled
 *   --motion-threshold auto   noise-following threshold
 *   --motion-area 0.05        0.05 % of the picture: a person of 25x50 px
 *                             in 1280x720 is about 0.14 % (less of it
 *                             differs enough from the background), a bird
 *                             of 8x12 px 0.01 %
 *   --motion-frames 2         consecutive active frames
 *   --motion-hold 2           seconds
 *   --motion-lightswitch 40   percent; 0 turns the rule off
 *   --motion-mask none
 *
 * The medians (brightness, noise) are taken on every 2nd pixel of every
 * 2nd row; everything else on every pixel.
 *
 * Not thread-safe: one struct motion per capture loop.  No allocation per
 * frame except when the small picture's size changes.
 */
#ifndef VIGIL_MOTION_H
#define VIGIL_MOTION_H

#include <stddef.h>
#include <stdint.h>

#include "luma.h"

#define MOTION_COLS 32u
#define MOTION_ROWS 18u
#define MOTION_GRID_BYTES (MOTION_COLS * MOTION_ROWS / 8) /* 72 */
#define MOTION_SCORE_MAX 1000u
#define MOTION_MAX_MASKS 16
#define MOTION_THRESHOLD_MIN 6 /* luma levels, the floor of "auto" */
#define MOTION_NOISE_K 4.5 /* auto threshold = K x robust sigma */

/* A rectangle in hundredths of a percent of the picture (0..10000). */
struct motion_rect {
	int x, y, w, h;
};

struct motion_config {
	int enabled; /* 0 or 1 */
	int threshold; /* luma levels 1..255 over the background; 0 = auto */
	int area; /* minimum moving area, per 10000 of the picture */
	int frames; /* consecutive active frames to declare, 1..1000 */
	int hold_ms; /* inactive time to clear, 0..3600000 */
	int lightswitch; /* percent of the watched picture, 1..100; 0 = off */
	int nmasks;
	struct motion_rect masks[MOTION_MAX_MASKS];
};

struct motion_result {
	int declared; /* motion is declared at this frame */
	uint32_t score; /* moving share of the picture, per mille */
	int64_t since_ns; /* realtime ns of the declaration; 0 when not */
	uint8_t grid[MOTION_GRID_BYTES];
};

struct motion;

/* The defaults listed above. */
void motion_config_defaults(struct motion_config *c);

/*
 * Flag parsers for vigil-capture's options: each parses text into its
 * field of c and returns 0, or returns -1 with a short lowercase reason in
 * why (size bytes, e.g. "expected auto or a level 1..255") and c unchanged.
 *   motion_parse_enabled      "on" | "off"               --motion
 *   motion_parse_threshold    "auto" | 1..255            --motion-threshold
 *   motion_parse_area         percent 0.01..100          --motion-area
 *   motion_parse_frames       1..1000                    --motion-frames
 *   motion_parse_hold         seconds 0..3600 (ms exact) --motion-hold
 *   motion_parse_lightswitch  percent 0..100 (0 = off)   --motion-lightswitch
 *   motion_parse_masks        "X,Y,W,H[;X,Y,W,H...]" in percent (up to two
 *                             decimals), inside the picture, W and H > 0, at
 *                             most MOTION_MAX_MASKS; "none" or "" for none;
 *                             replaces the masks
 */
int motion_parse_enabled(const char *text, struct motion_config *c, char *why,
			 size_t size);
int motion_parse_threshold(const char *text, struct motion_config *c, char *why,
			   size_t size);
int motion_parse_area(const char *text, struct motion_config *c, char *why,
		      size_t size);
int motion_parse_frames(const char *text, struct motion_config *c, char *why,
			size_t size);
int motion_parse_hold(const char *text, struct motion_config *c, char *why,
		      size_t size);
int motion_parse_lightswitch(const char *text, struct motion_config *c,
			     char *why, size_t size);
int motion_parse_masks(const char *text, struct motion_config *c, char *why,
		       size_t size);

/* A detector with a copy of cfg, or NULL with errno (EINVAL, ENOMEM). */
struct motion *motion_create(const struct motion_config *cfg);

/* Accepts NULL. */
void motion_destroy(struct motion *m);

/*
 * The box (x, y, w, h) of a src_width x src_height source picture that the
 * detector ignores, e.g. where capture draws its timestamp; w or h 0 removes
 * it.  It is scaled to the small picture and grown to whole small pixels.
 */
void motion_set_ignore_box(struct motion *m, int x, int y, int w, int h,
			   int src_width, int src_height);

/*
 * Analyses one frame's small picture (borrowed for the call) taken at
 * monotonic mono_ns and realtime real_ns, and fills *out.  The first frame,
 * and the first after a change of the small picture's size, only sets the
 * background.  0, or -1 with errno ENOMEM (a size change that could not be
 * allocated; out then holds no motion) or EINVAL (empty picture).
 */
int motion_feed(struct motion *m, const struct luma *small, int64_t mono_ns,
		int64_t real_ns, struct motion_result *out);

/* Motion periods declared since motion_create. */
uint64_t motion_periods(const struct motion *m);

#endif
