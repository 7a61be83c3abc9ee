/* SPDX-License-Identifier: MIT */
/* parse: strict decimal numbers (see parse.h). */
#include "parse.h"

#include <errno.h>
#include <stdlib.h>

int parse_long(const char *text, long min, long max, long *out,
	       const char **end)
{
	const char *digits = text[0] == '-' ? text + 1 : text;
	char *stop;
	long v;

	if (*digits < '0' || *digits > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtol(text, &stop, 10);
	if (end != NULL)
		*end = stop;
	else if (*stop != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (errno == ERANGE || v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}

int parse_byte_count(const char *text, uint64_t min, uint64_t max,
		     uint64_t *out)
{
	unsigned shift = 0;
	char *stop;
	unsigned long long v;

	if (*text < '0' || *text > '9') {
		errno = EINVAL;
		return -1;
	}
	errno = 0;
	v = strtoull(text, &stop, 10);
	if (errno == ERANGE) {
		errno = ERANGE;
		return -1;
	}
	switch (*stop) {
	case '\0':
		break;
	case 'k':
	case 'K':
		shift = 10;
		break;
	case 'M':
	case 'm':
		shift = 20;
		break;
	case 'G':
	case 'g':
		shift = 30;
		break;
	default:
		errno = EINVAL;
		return -1;
	}
	if (shift != 0 && stop[1] != '\0') {
		errno = EINVAL;
		return -1;
	}
	if (v > (UINT64_MAX >> shift)) {
		errno = ERANGE;
		return -1;
	}
	v <<= shift;
	if (v < min || v > max) {
		errno = ERANGE;
		return -1;
	}
	*out = v;
	return 0;
}
