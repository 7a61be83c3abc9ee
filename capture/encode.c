/* SPDX-License-Identifier: MIT */
/* encode: I420 planes to JPEG with TurboJPEG, into the ring slot. */
#include "encode.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

struct encoder {
	tjhandle tj;
	int quality;
	int flags;
	uint8_t *bounce; /* used when the destination is under the bound */
	size_t bounce_cap;
	uint64_t bounced;
	char error[128];
};

int encoder_create(struct encoder **out, int quality, int fastdct)
{
	struct encoder *e;

	*out = NULL;
	if (quality < 1 || quality > 100) {
		errno = EINVAL;
		return -1;
	}
	e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	e->tj = tjInitCompress();
	if (e->tj == NULL) {
		free(e);
		errno = ENOMEM;
		return -1;
	}
	e->quality = quality;
	/* NOREALLOC: TurboJPEG writes into our buffer and never swaps it.
	 * TurboJPEG compresses with the fast DCT unless told otherwise: say
	 * which one we want either way. */
	e->flags = TJFLAG_NOREALLOC |
		   (fastdct ? TJFLAG_FASTDCT : TJFLAG_ACCURATEDCT);
	*out = e;
	return 0;
}

void encoder_destroy(struct encoder *e)
{
	if (e == NULL)
		return;
	if (e->tj != NULL)
		tjDestroy(e->tj);
	free(e->bounce);
	free(e);
}

size_t encoder_bound(int width, int height)
{
	unsigned long n = tjBufSize(width, height, TJSAMP_420);
	return n == (unsigned long)-1 ? 0 : (size_t)n;
}

const char *encoder_error(const struct encoder *e)
{
	return e->error;
}

uint64_t encoder_bounced(const struct encoder *e)
{
	return e->bounced;
}

static long compress(struct encoder *e, const struct picture *pic, uint8_t *dst)
{
	const unsigned char *planes[3] = {pic->planes[0], pic->planes[1],
					  pic->planes[2]};
	unsigned char *out = dst;
	unsigned long size = 0;

	/* With TJFLAG_NOREALLOC, TurboJPEG assumes dst holds tjBufSize()
	 * bytes: the callers guarantee it. */
	if (tjCompressFromYUVPlanes(e->tj, planes, pic->width, pic->strides,
				    pic->height, TJSAMP_420, &out, &size,
				    e->quality, e->flags) != 0) {
		snprintf(e->error, sizeof(e->error), "%s",
			 tjGetErrorStr2(e->tj));
		errno = EIO;
		return -1;
	}
	if (out != dst) { /* cannot happen with NOREALLOC; never trust it */
		snprintf(e->error, sizeof(e->error), "buffer replaced");
		errno = EIO;
		return -1;
	}
	return (long)size;
}

long encoder_encode(struct encoder *e, const struct picture *pic, uint8_t *dst,
		    size_t cap)
{
	size_t bound;
	long n;

	if (pic->kind != PICTURE_I420 || pic->width <= 0 || pic->height <= 0) {
		errno = EINVAL;
		return -1;
	}
	bound = encoder_bound(pic->width, pic->height);
	if (bound == 0) {
		errno = EINVAL;
		return -1;
	}
	if (cap >= bound)
		return compress(e, pic, dst);

	if (e->bounce_cap < bound) {
		uint8_t *p = realloc(e->bounce, bound);
		if (p == NULL)
			return -1;
		e->bounce = p;
		e->bounce_cap = bound;
	}
	n = compress(e, pic, e->bounce);
	if (n < 0)
		return -1;
	e->bounced++;
	if ((size_t)n > cap) {
		errno = EMSGSIZE;
		return -1;
	}
	memcpy(dst, e->bounce, (size_t)n);
	return n;
}
