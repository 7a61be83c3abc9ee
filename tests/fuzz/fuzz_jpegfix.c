/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness of capture/jpegfix.c: the marker walk reads camera
 * bytes (untrusted).  Whatever the input: no read out of bounds, and when
 * tables are inserted, the result is the input with exactly the standard
 * DHT segment spliced in before SOS, which then checks as complete.
 */
// fuzz-sources: capture/jpegfix.c capture/jpegmark.c
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jpegfix.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t sos = 0, sos2 = 0, n;
	uint8_t *in, *out;

	/* A private copy of exactly size bytes, so ASan sees any overread. */
	in = malloc(size ? size : 1);
	if (in == NULL)
		return 0;
	memcpy(in, data, size);
	if (jpegfix_check(in, size, &sos) != JPEGFIX_NEEDED) {
		free(in);
		return 0;
	}
	if (sos < 2 || sos + 1 >= size || in[sos] != 0xff ||
	    in[sos + 1] != 0xda)
		abort();
	out = malloc(size + JPEGFIX_DHT_SIZE);
	if (out == NULL) {
		free(in);
		return 0;
	}
	if (jpegfix_insert(in, size, sos, out, size + JPEGFIX_DHT_SIZE - 1) !=
	    0)
		abort(); /* one byte short must be refused */
	n = jpegfix_insert(in, size, sos, out, size + JPEGFIX_DHT_SIZE);
	if (n != size + JPEGFIX_DHT_SIZE || memcmp(out, in, sos) != 0 ||
	    memcmp(out + sos, jpegfix_dht(), JPEGFIX_DHT_SIZE) != 0 ||
	    memcmp(out + sos + JPEGFIX_DHT_SIZE, in + sos, size - sos) != 0 ||
	    jpegfix_check(out, n, &sos2) != JPEGFIX_OK)
		abort();
	free(out);
	free(in);
	return 0;
}
