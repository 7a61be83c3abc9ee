/* SPDX-License-Identifier: MIT */
/*
 * parse: strict decimal numbers, for command-line flags and addresses.
 * Strict means: an optional '-' then digits, nothing else (no spaces, no
 * '+', no "0x", no trailing text), so "8O81" or " 5" is an error rather
 * than a surprise.
 */
#ifndef VIGIL_PARSE_H
#define VIGIL_PARSE_H

/*
 * Parses text as a decimal number from min to max into *out.  0, or -1 with
 * errno EINVAL (not a number) or ERANGE (outside min..max); *out is left
 * alone on error.  *end, when not NULL, is where parsing stopped; then the
 * number may be followed by other text (as in "1280x720").
 */
int parse_long(const char *text, long min, long max, long *out,
	       const char **end);

#endif
