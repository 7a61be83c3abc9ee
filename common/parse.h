/* SPDX-License-Identifier: MIT */
/*
 * parse: strict decimal numbers, for command-line flags and addresses.
 * Strict means: an optional '-' then digits, nothing else (no spaces, no
 * '+', no "0x", no trailing text), so "8O81" or " 5" is an error rather
 * than a surprise.
 */
#ifndef VIGIL_PARSE_H
#define VIGIL_PARSE_H

#include <stdint.h>

/*
 * Parses text as a decimal number from min to max into *out.  0, or -1 with
 * errno EINVAL (not a number) or ERANGE (outside min..max); *out is left
 * alone on error.  *end, when not NULL, is where parsing stopped; then the
 * number may be followed by other text (as in "1280x720").
 */
int parse_long(const char *text, long min, long max, long *out,
	       const char **end);

/*
 * Parses a byte count: decimal digits and an optional suffix k, M or G
 * (powers of 1024; K, m and g are accepted too), from min to max into *out.
 * 0, or -1 with errno EINVAL (not such a count) or ERANGE (outside
 * min..max, or too large for 64 bits); *out is left alone on error.  The
 * same on every platform: a 32-bit long never limits it.
 */
int parse_byte_count(const char *text, uint64_t min, uint64_t max,
		     uint64_t *out);

#endif
