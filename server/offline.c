/* SPDX-License-Identifier: MIT */
/* offline: renders the "camera offline" picture with a built-in 5x7 font. */
#include "offline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#define GLYPH_W 5
#define GLYPH_H 7
#define OFFLINE_QUALITY 80

/* Upper-case letters, 5x7, one byte per row, bit 4 = leftmost column. */
/* clang-format off */
static const uint8_t font_upper[26][GLYPH_H] = {
	{0x0e, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* A */
	{0x1e, 0x11, 0x11, 0x1e, 0x11, 0x11, 0x1e}, /* B */
	{0x0e, 0x11, 0x10, 0x10, 0x10, 0x11, 0x0e}, /* C */
	{0x1e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x1e}, /* D */
	{0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x1f}, /* E */
	{0x1f, 0x10, 0x10, 0x1e, 0x10, 0x10, 0x10}, /* F */
	{0x0e, 0x11, 0x10, 0x17, 0x11, 0x11, 0x0f}, /* G */
	{0x11, 0x11, 0x11, 0x1f, 0x11, 0x11, 0x11}, /* H */
	{0x0e, 0x04, 0x04, 0x04, 0x04, 0x04, 0x0e}, /* I */
	{0x07, 0x02, 0x02, 0x02, 0x02, 0x12, 0x0c}, /* J */
	{0x11, 0x12, 0x14, 0x18, 0x14, 0x12, 0x11}, /* K */
	{0x10, 0x10, 0x10, 0x10, 0x10, 0x10, 0x1f}, /* L */
	{0x11, 0x1b, 0x15, 0x15, 0x11, 0x11, 0x11}, /* M */
	{0x11, 0x11, 0x19, 0x15, 0x13, 0x11, 0x11}, /* N */
	{0x0e, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* O */
	{0x1e, 0x11, 0x11, 0x1e, 0x10, 0x10, 0x10}, /* P */
	{0x0e, 0x11, 0x11, 0x11, 0x15, 0x12, 0x0d}, /* Q */
	{0x1e, 0x11, 0x11, 0x1e, 0x14, 0x12, 0x11}, /* R */
	{0x0f, 0x10, 0x10, 0x0e, 0x01, 0x01, 0x1e}, /* S */
	{0x1f, 0x04, 0x04, 0x04, 0x04, 0x04, 0x04}, /* T */
	{0x11, 0x11, 0x11, 0x11, 0x11, 0x11, 0x0e}, /* U */
	{0x11, 0x11, 0x11, 0x11, 0x11, 0x0a, 0x04}, /* V */
	{0x11, 0x11, 0x11, 0x15, 0x15, 0x15, 0x0a}, /* W */
	{0x11, 0x11, 0x0a, 0x04, 0x0a, 0x11, 0x11}, /* X */
	{0x11, 0x11, 0x0a, 0x04, 0x04, 0x04, 0x04}, /* Y */
	{0x1f, 0x01, 0x02, 0x04, 0x08, 0x10, 0x1f}, /* Z */
};
/* clang-format on */

/* Draws text centred horizontally with its top at y; cell = glyph pixel. */
static void draw_text(uint8_t *gray, int w, int h, const char *text, int y,
		      int cell, uint8_t value)
{
	int n = (int)strlen(text);
	int adv = (GLYPH_W + 1) * cell;
	int x0 = (w - (n * adv - cell)) / 2;
	int i, row, col, dy, dx;

	for (i = 0; i < n; i++) {
		const uint8_t *g;

		if (text[i] < 'A' || text[i] > 'Z')
			continue;
		g = font_upper[text[i] - 'A'];
		for (row = 0; row < GLYPH_H; row++)
			for (col = 0; col < GLYPH_W; col++) {
				if (!(g[row] & (0x10 >> col)))
					continue;
				for (dy = 0; dy < cell; dy++)
					for (dx = 0; dx < cell; dx++) {
						int x = x0 + i * adv +
							col * cell + dx;
						int yy = y + row * cell + dy;

						if (x >= 0 && x < w &&
						    yy >= 0 && yy < h)
							gray[(size_t)yy *
								     (size_t)w +
							     (size_t)x] = value;
					}
			}
	}
}

static uint32_t clamp_size(uint32_t v)
{
	if (v < OFFLINE_SIZE_MIN)
		return OFFLINE_SIZE_MIN;
	return v > OFFLINE_SIZE_MAX ? OFFLINE_SIZE_MAX : v;
}

int offline_render(uint32_t width, uint32_t height, uint8_t **jpeg, size_t *len)
{
	static const char title[] = "CAMERA OFFLINE";
	static const char note[] = "WAITING FOR CAPTURE";
	int w = (int)clamp_size(width), h = (int)clamp_size(height);
	uint8_t *gray = NULL, *out = NULL;
	unsigned long outlen = 0;
	tjhandle tj = NULL;
	int cell, small, y, rc = -1;

	gray = malloc((size_t)w * (size_t)h);
	if (gray == NULL)
		return -1;
	memset(gray, 24, (size_t)w * (size_t)h);
	/* The title spans about 70% of the width; the note is a third of it. */
	cell = w * 7 / 10 / ((GLYPH_W + 1) * (int)(sizeof(title) - 1));
	if (cell < 1)
		cell = 1;
	if (cell * GLYPH_H * 3 > h)
		cell = h / (GLYPH_H * 3) > 0 ? h / (GLYPH_H * 3) : 1;
	small = cell / 3 > 0 ? cell / 3 : 1;
	y = (h - cell * GLYPH_H - small * GLYPH_H * 3) / 2;
	draw_text(gray, w, h, title, y, cell, 230);
	draw_text(gray, w, h, note, y + cell * GLYPH_H + small * GLYPH_H * 2,
		  small, 140);

	tj = tjInitCompress();
	if (tj == NULL) {
		errno = ENOMEM;
		goto fail;
	}
	if (tjCompress2(tj, gray, w, 0, h, TJPF_GRAY, &out, &outlen,
			TJSAMP_GRAY, OFFLINE_QUALITY, 0) != 0) {
		errno = EIO;
		goto fail;
	}
	*jpeg = malloc(outlen);
	if (*jpeg == NULL)
		goto fail;
	memcpy(*jpeg, out, outlen);
	*len = outlen;
	rc = 0;
fail:
	tjFree(out);
	if (tj != NULL)
		tjDestroy(tj);
	free(gray);
	return rc;
}
