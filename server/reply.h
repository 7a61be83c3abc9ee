/* SPDX-License-Identifier: MIT */
/*
 * reply: complete HTTP replies on evhttp, the same way for every endpoint
 * (nosniff on all, HEAD answered with the GET's Content-Length and no body).
 */
#ifndef VIGIL_REPLY_H
#define VIGIL_REPLY_H

#define REPLY_NO_STORE "no-store"
#define REPLY_RETRY_AFTER_S "1"

struct evbuffer;
struct evhttp_request;

/* Adds an output header. */
void reply_header(struct evhttp_request *req, const char *key,
		  const char *value);

/* Sends a complete reply.  body may be NULL (empty); it is drained, not
 * freed.  ctype and cache may be NULL (no header). */
void reply_send(struct evhttp_request *req, int code, const char *ctype,
		const char *cache, struct evbuffer *body);

/* A one-line text/plain reply, not cached. */
void reply_text(struct evhttp_request *req, int code, const char *text);

/* 503 with Retry-After: REPLY_RETRY_AFTER_S. */
void reply_busy(struct evhttp_request *req, const char *text);

#endif
