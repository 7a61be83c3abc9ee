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
