/* SPDX-License-Identifier: MIT */
/* offline: renders the "camera offline" picture in vigil's font (font.h). */
#include "offline.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "font.h"

#define OFFLINE_QUALITY 80

/* Draws text centred horizontally with its top at y; cell = glyph pixel. */
static void draw_text(uint8_t *gray, int w, int h, const char *text, int y,
		      int cell, uint8_t value)
{
	int tw, th;

	font_measure(text, cell, &tw, &th);
	font_draw(gray, w, w, h, (w - tw) / 2, y, cell, text, value);
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
	cell = w * 7 / 10 / (FONT_CELL_W * (int)(sizeof(title) - 1));
	if (cell < 1)
		cell = 1;
	if (cell * FONT_GLYPH_H * 3 > h)
		cell = h / (FONT_GLYPH_H * 3) > 0 ? h / (FONT_GLYPH_H * 3) : 1;
	small = cell / 3 > 0 ? cell / 3 : 1;
	y = (h - cell * FONT_GLYPH_H - small * FONT_GLYPH_H * 3) / 2;
	draw_text(gray, w, h, title, y, cell, 230);
	draw_text(gray, w, h, note,
		  y + cell * FONT_GLYPH_H + small * FONT_GLYPH_H * 2, small,
		  140);

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
