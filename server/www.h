/* SPDX-License-Identifier: MIT */
/*
 * www: the page files of www/, compiled in by server/embed.sh (the table is
 * generated into $(BUILD)/gen/www.c).  index.html has its {{static:NAME}}
 * references already replaced by versioned URLs; {{camera}} is left for the
 * server to fill in per request.
 */
#ifndef VIGIL_WWW_H
#define VIGIL_WWW_H

#include <stddef.h>

struct www_file {
	const char *name; /* file name in www/, e.g. "vigil.js" */
	const char *url; /* "/static/vigil.<hash>.js"; "/index.html" */
	const char *content_type;
	const char *hash; /* first 8 hex digits of the SHA-256 */
	const unsigned char *data;
	size_t len;
};

extern const struct www_file www_files[];
extern const size_t www_file_count;

#endif
