/* SPDX-License-Identifier: MIT */
/*
 * jpegdc: the 1/8-scale grey picture of a baseline JPEG, read from the DC
 * coefficients alone: one pixel per 8x8 luma block, DC * quant / 8 + 128,
 * clamped, exactly what libjpeg-turbo's 1/8 scaled grayscale decode gives.
 * The AC coefficients are skipped (their Huffman codes decoded, their
 * magnitude bits jumped), with no dequantisation and no IDCT.
 *
 * Only what cameras send is handled: 8-bit baseline Huffman (SOF0), one
 * scan holding every component, grey or YCbCr with luma sampled 1x1, 2x1,
 * 1x2 or 2x2 and chroma 1x1 (4:4:4, 4:2:2, 4:4:0, 4:2:0), with or without
 * restart markers.  Anything else (progressive, arithmetic, 12-bit, other
 * sampling, missing tables, RGB or CMYK) fails with ENOTSUP, and a corrupt
 * or truncated JPEG fails with EBADMSG (where libjpeg-turbo would warn, so
 * would this): the caller then decodes with libjpeg-turbo.  The input is
 * untrusted: every read is bounds-checked.
 */
#ifndef VIGIL_JPEGDC_H
#define VIGIL_JPEGDC_H

#include <stddef.h>
#include <stdint.h>

struct jpegdc;

/* A decoder (its Huffman lookup tables, about 90 KiB), or NULL with errno. */
struct jpegdc *jpegdc_create(void);

/* Frees d; accepts NULL. */
void jpegdc_destroy(struct jpegdc *d);

/*
 * Reads the markers of jpeg[0..len) up to its scan.  0 with *width and
 * *height the picture's size, or -1 with errno ENOTSUP or EBADMSG.  The
 * JPEG is borrowed until jpegdc_decode returns.
 */
int jpegdc_header(struct jpegdc *d, const uint8_t *jpeg, size_t len, int *width,
		  int *height);

/*
 * Decodes the scan of the JPEG given to the last successful jpegdc_header
 * into dst: ceil(width / 8) x ceil(height / 8) bytes, rows stride bytes
 * apart.  0, or -1 with errno EBADMSG (dst then holds a partial picture)
 * or EINVAL (no header read, or stride too small).
 */
int jpegdc_decode(struct jpegdc *d, uint8_t *dst, int stride);

#endif
