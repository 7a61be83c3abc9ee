/* SPDX-License-Identifier: MIT */
/*
 * encode: raw I420 pictures to baseline JPEG with TurboJPEG
 * (tjCompressFromYUVPlanes: the planes go straight into the DCT, no colour
 * conversion), 4:2:0, written straight into the caller's buffer (a ring
 * slot) when that buffer can hold TurboJPEG's worst case, else through one
 * private buffer that is allocated on the first picture and then reused.
 */
#ifndef VIGIL_ENCODE_H
#define VIGIL_ENCODE_H

#include <stddef.h>
#include <stdint.h>

#include "source.h"

#define ENCODE_QUALITY_DEFAULT 85

struct encoder;

/* quality 1..100; fastdct 1: the fast integer DCT (TJFLAG_FASTDCT, what
 * TurboJPEG uses by default), 0: the accurate one (TJFLAG_ACCURATEDCT).
 * -1 with errno (EINVAL, ENOMEM). */
int encoder_create(struct encoder **out, int quality, int fastdct);

/* Accepts NULL. */
void encoder_destroy(struct encoder *e);

/* TurboJPEG's worst-case JPEG size for a 4:2:0 picture (tjBufSize): a
 * destination at least this large is written in place. */
size_t encoder_bound(int width, int height);

/*
 * Encodes pic (PICTURE_I420; the Y plane readable up to the even size
 * above width x height, as TurboJPEG reads whole 2x2 blocks) into dst (cap
 * bytes).  Returns the JPEG length, or -1 with errno EMSGSIZE (the JPEG does
 * not fit cap: skip the frame), EINVAL (not I420) or EIO (TurboJPEG failed:
 * encoder_error() says why).  No allocation after the first picture of a
 * size when cap < encoder_bound().
 */
long encoder_encode(struct encoder *e, const struct picture *pic, uint8_t *dst,
		    size_t cap);

/* The last TurboJPEG error message (borrowed). */
const char *encoder_error(const struct encoder *e);

/* Pictures encoded through the private buffer (cap was too small). */
uint64_t encoder_bounced(const struct encoder *e);

#endif
