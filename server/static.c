/* SPDX-License-Identifier: MIT */
/* static: the live page and the versioned page files. */
#include "static.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <string.h>

#include "reply.h"
#include "www.h"

static const struct www_file *www_find(const char *name, int by_url)
{
	size_t i;

	for (i = 0; i < www_file_count; i++)
		if (strcmp(by_url ? www_files[i].url : www_files[i].name,
			   name) == 0)
			return &www_files[i];
	return NULL;
}

static void add_escaped(struct evbuffer *b, const char *s)
{
	for (; *s != '\0'; s++) {
		switch (*s) {
		case '&':
			evbuffer_add(b, "&amp;", 5);
			break;
		case '<':
			evbuffer_add(b, "&lt;", 4);
			break;
		case '>':
			evbuffer_add(b, "&gt;", 4);
			break;
		case '"':
			evbuffer_add(b, "&quot;", 6);
			break;
		case '\'':
			evbuffer_add(b, "&#39;", 5);
			break;
		default:
			evbuffer_add(b, s, 1);
			break;
		}
	}
}

static void static_page(struct evhttp_request *req, const char *camera,
			const char *cameras)
{
	static const char mark[] = "{{camera}}", marks[] = "{{cameras}}";
	const struct www_file *f = www_find("index.html", 0);
	struct evbuffer *b;
	const char *p, *end, *hit;
	int many;

	if (f == NULL) {
		reply_text(req, 404, "no page compiled in");
		return;
	}
	b = evbuffer_new();
	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	p = (const char *)f->data;
	end = p + f->len;
	/* "{{camera" opens both marks: which one is told by what follows. */
	while ((hit = memmem(p, (size_t)(end - p), mark, sizeof(mark) - 3)) !=
	       NULL) {
		many = (size_t)(end - hit) >= sizeof(marks) - 1 &&
		       memcmp(hit, marks, sizeof(marks) - 1) == 0;
		if (!many && ((size_t)(end - hit) < sizeof(mark) - 1 ||
			      memcmp(hit, mark, sizeof(mark) - 1) != 0)) {
			evbuffer_add(b, p, (size_t)(hit - p) + 1);
			p = hit + 1;
			continue;
		}
		evbuffer_add(b, p, (size_t)(hit - p));
		add_escaped(b, many ? cameras : camera);
		p = hit + (many ? sizeof(marks) : sizeof(mark)) - 1;
	}
	evbuffer_add(b, p, (size_t)(end - p));
	reply_header(req, "Content-Security-Policy", STATIC_PAGE_CSP);
	reply_header(req, "X-Frame-Options", "DENY");
	reply_header(req, "Referrer-Policy", "no-referrer");
	reply_send(req, 200, f->content_type, REPLY_NO_STORE, b);
	evbuffer_free(b);
}

static void static_file(struct evhttp_request *req, const struct www_file *f,
			const char *cache)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	/* Compiled-in data: referenced, never copied. */
	evbuffer_add_reference(b, f->data, f->len, NULL, NULL);
	reply_send(req, 200, f->content_type, cache, b);
	evbuffer_free(b);
}

int static_serve(struct evhttp_request *req, const char *path,
		 const char *camera, const char *cameras)
{
	const struct www_file *f;

	if (strcmp(path, "/index.html") == 0) {
		static_page(req, camera, cameras);
		return 1;
	}
	if (strncmp(path, "/static/", 8) == 0 &&
	    (f = www_find(path, 1)) != NULL) {
		static_file(req, f, STATIC_CACHE_IMMUTABLE);
		return 1;
	}
	if (strcmp(path, "/favicon.ico") == 0 &&
	    (f = www_find("favicon.ico", 0)) != NULL) {
		static_file(req, f, STATIC_CACHE_FAVICON);
		return 1;
	}
	return 0;
}
