/* SPDX-License-Identifier: MIT */
/*
 * jpegfix (test tool): runs capture's jpegfix over one JPEG, so that the
 * integration tests can hand the result to libjpeg-turbo and ffmpeg.
 *   jpegfix < in.jpg > out.jpg
 * stderr says "has-tables" (copied as is) or "inserted" (standard tables put
 * in).  Exit: 0 done, 1 not a JPEG or corrupt headers, 2 I/O error.
 */
#include <stdio.h>
#include <stdlib.h>

#include "jpegfix.h"

#define JPEGFIX_TOOL_MAX (64u << 20)

int main(void)
{
	size_t len = 0, cap = 1 << 20, sos = 0, n;
	uint8_t *in = malloc(cap), *out;
	enum jpegfix_result r;

	if (in == NULL)
		return 2;
	while ((n = fread(in + len, 1, cap - len, stdin)) > 0) {
		len += n;
		if (len == cap) {
			uint8_t *p = cap < JPEGFIX_TOOL_MAX
					     ? realloc(in, cap * 2)
					     : NULL;

			if (p == NULL)
				return 2;
			in = p;
			cap *= 2;
		}
	}
	r = jpegfix_check(in, len, &sos);
	if (r == JPEGFIX_BAD) {
		fprintf(stderr, "bad\n");
		return 1;
	}
	if (r == JPEGFIX_OK) {
		fprintf(stderr, "has-tables\n");
		return fwrite(in, 1, len, stdout) == len ? 0 : 2;
	}
	out = malloc(len + JPEGFIX_DHT_SIZE);
	if (out == NULL)
		return 2;
	n = jpegfix_insert(in, len, sos, out, len + JPEGFIX_DHT_SIZE);
	if (n == 0)
		return 1;
	fprintf(stderr, "inserted\n");
	return fwrite(out, 1, n, stdout) == n ? 0 : 2;
}
