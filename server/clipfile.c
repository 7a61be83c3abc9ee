/* SPDX-License-Identifier: MIT */
/* clipfile: files of the recordings as downloads, with Range. */
#include "clipfile.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/http.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "log.h"
#include "recdir.h"
#include "reply.h"

#define CLIPFILE_NUM_MAX 19 /* digits of a byte position */

/* A decimal number of up to CLIPFILE_NUM_MAX digits at *s; advances *s. */
static int number(const char **s, uint64_t *v)
{
	size_t n = 0;

	*v = 0;
	while (**s >= '0' && **s <= '9') {
		if (++n > CLIPFILE_NUM_MAX)
			return -1;
		*v = *v * 10 + (uint64_t)(**s - '0');
		(*s)++;
	}
	return n > 0 ? 0 : -1;
}

int clipfile_range(const char *h, uint64_t size, uint64_t *first,
		   uint64_t *last)
{
	uint64_t a, b;

	if (h == NULL || strncmp(h, "bytes=", 6) != 0)
		return 0;
	h += 6;
	if (*h == '-') {
		h++;
		if (number(&h, &b) < 0 || *h != '\0')
			return 0;
		if (b == 0 || size == 0)
			return -1;
		*first = b >= size ? 0 : size - b;
		*last = size - 1;
		return 1;
	}
	if (number(&h, &a) < 0 || *h++ != '-')
		return 0;
	if (*h == '\0') {
		b = UINT64_MAX;
	} else if (number(&h, &b) < 0 || *h != '\0' || b < a) {
		return 0;
	}
	if (a >= size)
		return -1;
	*first = a;
	*last = b >= size ? size - 1 : b;
	return 1;
}

void clipfile_serve(struct evhttp_request *req, int dirfd, const char *name,
		    const char *ctype, const char *download)
{
	struct evkeyvalq *in = evhttp_request_get_input_headers(req);
	struct evbuffer *b = NULL;
	struct stat st;
	uint64_t size, first = 0, last = 0;
	char hdr[128];
	int fd, r, code = 200;

	fd = recdir_openat(dirfd, name, &st);
	if (fd < 0) {
		log_debug("cannot open '%s': %s", name, strerror(errno));
		reply_text(req, 404, "not found");
		return;
	}
	size = (uint64_t)st.st_size;
	reply_header(req, "Accept-Ranges", "bytes");
	r = clipfile_range(evhttp_find_header(in, "Range"), size, &first,
			   &last);
	if (r < 0) {
		close(fd);
		snprintf(hdr, sizeof(hdr), "bytes */%" PRIu64, size);
		reply_header(req, "Content-Range", hdr);
		reply_text(req, 416, "range not satisfiable");
		return;
	}
	if (r == 0) {
		first = 0;
		last = size > 0 ? size - 1 : 0;
	} else {
		code = 206;
		snprintf(hdr, sizeof(hdr),
			 "bytes %" PRIu64 "-%" PRIu64 "/%" PRIu64, first, last,
			 size);
		reply_header(req, "Content-Range", hdr);
	}
	if (download != NULL) {
		/* recdir_name_valid: nothing to quote or escape. */
		snprintf(hdr, sizeof(hdr), "attachment; filename=\"%s\"",
			 download);
		reply_header(req, "Content-Disposition", hdr);
	}
	b = evbuffer_new();
	if (b == NULL) {
		close(fd);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	if (size == 0) {
		close(fd);
	} else if (evbuffer_add_file(b, fd, (ev_off_t)first,
				     (ev_off_t)(last - first + 1)) < 0) {
		evbuffer_free(b);
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	reply_send(req, code, ctype, "no-cache", b);
	evbuffer_free(b);
}
