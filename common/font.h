/* SPDX-License-Identifier: MIT */
/*
 * font: the one bitmap font of vigil, 5x7 pixels in a 6-pixel cell, for
 * printable ASCII; capture's overlay and the server's "camera offline"
 * picture draw with it.  Pure: no state, no allocation, no logging.
 */
#ifndef VIGIL_FONT_H
#define VIGIL_FONT_H

#include <stdint.h>

#define FONT_GLYPH_W 5
#define FONT_GLYPH_H 7
#define FONT_CELL_W 6 /* glyph + one column of spacing */
#define FONT_FIRST 32 /* ' ' */
#define FONT_LAST 126 /* '~' */

/* FONT_GLYPH_H row bitmaps of c, bit 4 the leftmost column; characters
 * outside FONT_FIRST..FONT_LAST get '?'.  Static storage. */
const uint8_t *font_glyph(unsigned char c);

/* Size in pixels of text drawn at scale: FONT_CELL_W * scale per
 * character less the last spacing column; 0 x 0 for "". */
void font_measure(const char *text, int scale, int *width, int *height);

/*
 * Draws text into an 8-bit plane of width x height pixels (rows stride
 * bytes apart) with its top-left corner at (x, y): each glyph pixel is a
 * scale x scale square of value (scale below 1 counts as 1).  Clipped to
 * the plane; the background is left as it is.
 */
void font_draw(uint8_t *plane, int stride, int width, int height, int x, int y,
	       int scale, const char *text, uint8_t value);

#endif
