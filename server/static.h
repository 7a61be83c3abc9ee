/* SPDX-License-Identifier: MIT */
/*
 * static: the page files compiled in from www/ (www.h).
 *
 *   /index.html  the live page ({{camera}} filled in, HTML-escaped), CSP,
 *                no-store
 *   /static/...  versioned page files, cached for a year (immutable)
 *   /favicon.ico cached for a day
 */
#ifndef VIGIL_STATIC_H
#define VIGIL_STATIC_H

#define STATIC_CACHE_IMMUTABLE "public, max-age=31536000, immutable"
#define STATIC_CACHE_FAVICON "public, max-age=86400"
#define STATIC_PAGE_CSP                                                      \
	"default-src 'self'; img-src 'self' blob: data:; style-src 'self'; " \
	"script-src 'self'; connect-src 'self'; frame-ancestors 'none'; "    \
	"base-uri 'none'; form-action 'self'"

struct evhttp_request;

/* Answers req when path is one of the paths above (camera: the name shown
 * on the page, the page's {{camera}}; cameras: every camera, separated by
 * commas, its {{cameras}}) and returns 1; returns 0 without answering
 * otherwise. */
int static_serve(struct evhttp_request *req, const char *path,
		 const char *camera, const char *cameras);

#endif
