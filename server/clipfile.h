/* SPDX-License-Identifier: MIT */
/*
 * clipfile: one file of the recordings directory as an HTTP reply, with
 * single Range requests ("bytes=a-b", "bytes=a-", "bytes=-n": 206 with
 * Content-Range; 416 with "Content-Range: bytes * /SIZE" when the range
 * starts past the end).  A Range header that does not parse, or asks for
 * several ranges, is ignored (the whole file, 200), as RFC 9110 allows.
 * The bytes go out with evbuffer_add_file (sendfile), nothing is read into
 * memory; the size is the file's when the request came (a clip still being
 * recorded grows after).
 */
#ifndef VIGIL_CLIPFILE_H
#define VIGIL_CLIPFILE_H

#include <stdint.h>

struct evhttp_request;

/* Parses a Range header against a file of size bytes: 1 and [*first,
 * *last] for a satisfiable single range, 0 to serve the whole file (no
 * header or one to ignore), -1 when unsatisfiable (416). */
int clipfile_range(const char *header, uint64_t size, uint64_t *first,
		   uint64_t *last);

/* Answers req with name (recdir_openat in dirfd): ctype as Content-Type,
 * and when download is not NULL, "Content-Disposition: attachment" with
 * download as the file name (a recdir_name_valid name).  404 when the file
 * is missing or not a regular file. */
void clipfile_serve(struct evhttp_request *req, int dirfd, const char *name,
		    const char *ctype, const char *download);

#endif
