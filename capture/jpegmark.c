/* SPDX-License-Identifier: MIT */
/* jpegmark: a bounds-checked walk over a JPEG's marker segments. */
#include "jpegmark.h"

void jpegmark_init(struct jpegmark *w, const uint8_t *p, size_t len,
		   size_t start)
{
	w->p = p;
	w->len = len;
	w->pos = start;
	w->failed = 0;
}

int jpegmark_next(struct jpegmark *w, struct jpegmark_seg *seg)
{
	const uint8_t *p = w->p;
	size_t i = w->pos, n;

	if (w->failed)
		return -1;
	w->failed = 1; /* until a marker is read whole */
	if (i >= w->len)
		return i == w->len ? 0 : -1;
	if (p[i] != 0xff)
		return -1;
	/* Any number of 0xff fill bytes may precede a marker (B.1.1.2). */
	while (i + 1 < w->len && p[i + 1] == 0xff)
		i++;
	if (i + 1 >= w->len || p[i + 1] == 0x00)
		return -1;
	seg->marker = p[i + 1];
	seg->offset = i;
	seg->size = 0;
	if (jpegmark_standalone(seg->marker)) {
		seg->size = 2;
	} else if (w->len - i >= 4) {
		n = (size_t)p[i + 2] << 8 | p[i + 3];
		if (n >= 2 && n <= w->len - i - 2)
			seg->size = 2 + n;
	}
	/* A segment whose length does not fit is returned (its marker may be
	 * all the caller wants); stepping over it fails. */
	w->pos = seg->size ? i + seg->size : w->len + 1;
	w->failed = 0;
	return 1;
}

int jpegmark_is_rst(uint8_t marker)
{
	return marker >= 0xd0 && marker <= 0xd7;
}

int jpegmark_standalone(uint8_t marker)
{
	return jpegmark_is_rst(marker) || marker == JPEGMARK_TEM ||
	       marker == JPEGMARK_SOI || marker == JPEGMARK_EOI;
}

int jpegmark_is_sof(uint8_t marker)
{
	return marker >= 0xc0 && marker <= 0xcf && marker != JPEGMARK_DHT &&
	       marker != 0xc8 && marker != 0xcc;
}

size_t jpegmark_length(const uint8_t *p, size_t len)
{
	if (len < 4 || p[0] != 0xff || p[1] != JPEGMARK_SOI)
		return 0;
	for (size_t i = len; i >= 4; i--)
		if (p[i - 2] == 0xff && p[i - 1] == JPEGMARK_EOI)
			return i;
	return 0;
}
