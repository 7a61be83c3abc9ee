/* SPDX-License-Identifier: MIT */
/* source: the registry of picture sources and the default choice. */
#include "source.h"

#include <stdio.h>
#include <string.h>

#include "libcamera.h"
#include "autosrc.h"
#include "v4l2.h"

/* The default source, when --source is not given: the first camera found,
 * else testsrc (autosrc.c). */
#define SOURCE_DEFAULT "auto"

/* In the order they are asked to match; one line per source. */
static const struct source_ops *const sources[] = {
	&testsrc_source_ops,	   &jpegpipe_stdin_source_ops,
	&jpegpipe_fifo_source_ops, &autosrc_source_ops,
	&v4l2_source_ops,	   &libcamera_source_ops,
};

#define SOURCES_COUNT (sizeof(sources) / sizeof(sources[0]))

const char *source_default(void)
{
	return SOURCE_DEFAULT;
}

const struct source_ops *source_find(const char *spec, char *why, size_t size)
{
	size_t n = 0;
	int r;

	for (size_t i = 0; i < SOURCES_COUNT; i++)
		if (sources[i]->match(spec))
			return sources[i];
	if (why == NULL || size == 0)
		return NULL;
	r = snprintf(why, size, "unknown source '%s' (sources:", spec);
	n = r < 0 ? 0 : (size_t)r;
	for (size_t i = 0; i < SOURCES_COUNT && n < size; i++) {
		r = snprintf(why + n, size - n, " %s", sources[i]->name);
		n += r < 0 ? 0 : (size_t)r;
	}
	if (n < size)
		snprintf(why + n, size - n, ")");
	return NULL;
}
