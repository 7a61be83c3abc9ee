/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness of capture/jpegdc.c: it parses camera bytes
 * (untrusted).  Whatever the input: no read or write out of bounds, and
 * when both jpegdc and TurboJPEG decode a JPEG, the same 1/8 grey picture.
 */
// fuzz-sources: capture/jpegdc.c capture/jpegmark.c
// fuzz-libs: -lturbojpeg
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <turbojpeg.h>

#include "jpegdc.h"

#define FUZZ_MAX_SIDE 2048 /* larger pictures only cost time */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct jpegdc *d;
	uint8_t *in, *out, *ref;
	int w, h, sw, sh;
	tjhandle tj;

	if (d == NULL && (d = jpegdc_create()) == NULL)
		abort();
	/* A private copy of exactly size bytes, so ASan sees any overread. */
	in = malloc(size ? size : 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	if (jpegdc_header(d, in, size, &w, &h) < 0 || w > FUZZ_MAX_SIDE ||
	    h > FUZZ_MAX_SIDE) {
		free(in);
		return 0;
	}
	if (w < 1 || h < 1)
		abort();
	sw = (w + 7) / 8;
	sh = (h + 7) / 8;
	out = malloc((size_t)sw * sh);
	ref = malloc((size_t)sw * sh);
	if (out == NULL || ref == NULL)
		abort();
	/* TurboJPEG decodes at 1/8 only when no larger scale fits. */
	if (jpegdc_decode(d, out, sw) == 0 && w >= 8 && h >= 8 &&
	    (tj = tjInitDecompress()) != NULL) {
		if (tjDecompress2(tj, in, (unsigned long)size, ref, sw, sw, sh,
				  TJPF_GRAY, TJFLAG_FASTDCT) == 0 &&
		    memcmp(out, ref, (size_t)sw * sh) != 0)
			abort();
		tjDestroy(tj);
	}
	free(ref);
	free(out);
	free(in);
	return 0;
}
