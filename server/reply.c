/* SPDX-License-Identifier: MIT */
/* reply: complete HTTP replies on evhttp. */
#include "reply.h"

#include <event2/buffer.h>
#include <event2/http.h>
#include <stdio.h>

void reply_header(struct evhttp_request *req, const char *key,
		  const char *value)
{
	evhttp_add_header(evhttp_request_get_output_headers(req), key, value);
}

void reply_send(struct evhttp_request *req, int code, const char *ctype,
		const char *cache, struct evbuffer *body)
{
	char len[32];

	reply_header(req, "X-Content-Type-Options", "nosniff");
	if (ctype != NULL)
		reply_header(req, "Content-Type", ctype);
	if (cache != NULL)
		reply_header(req, "Cache-Control", cache);
	/* HEAD: the body is dropped but its length kept, as a GET had it. */
	if (evhttp_request_get_command(req) == EVHTTP_REQ_HEAD &&
	    body != NULL) {
		snprintf(len, sizeof(len), "%zu", evbuffer_get_length(body));
		reply_header(req, "Content-Length", len);
		evbuffer_drain(body, evbuffer_get_length(body));
	}
	evhttp_send_reply(req, code, NULL, body);
}

void reply_text(struct evhttp_request *req, int code, const char *text)
{
	struct evbuffer *b = evbuffer_new();

	if (b == NULL) {
		evhttp_send_error(req, HTTP_INTERNAL, NULL);
		return;
	}
	evbuffer_add_printf(b, "%s\n", text);
	reply_send(req, code, "text/plain; charset=utf-8", REPLY_NO_STORE, b);
	evbuffer_free(b);
}

void reply_busy(struct evhttp_request *req, const char *text)
{
	reply_header(req, "Retry-After", REPLY_RETRY_AFTER_S);
	reply_text(req, 503, text);
}
