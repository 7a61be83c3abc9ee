/* SPDX-License-Identifier: MIT */
/*
 * events: the recorded motion events of --recordings DIR over HTTP.
 *
 *   /events[?limit=N&before=ID&from=T&to=T]  JSON listing, newest first
 *   /events/ID           one event (the same object as in the listing)
 *   /events/ID.jpg       its thumbnail
 *   /events/ID.mjpg      played back as MJPEG (playback.h)
 *   /events/ID/clip[?part=N]  a clip file as a download (clipfile.h)
 *
 * The listing reads the directory's names only (ids sort by time), selects
 * the page, and parses the page's metadata files alone, so a page costs
 * the same with ten or ten thousand events.  Every metadata file is
 * untrusted: capped in size, each field's type and shape checked; a bad
 * file is skipped (logged at debug).
 */
#ifndef VIGIL_EVENTS_H
#define VIGIL_EVENTS_H

#include <stdint.h>

#include "recdir.h"

#define EVENTS_FILES_MAX 64 /* clip files of one event */
#define EVENTS_JSON_MAX 65536 /* a metadata file larger is refused */
#define EVENTS_LIMIT_DEFAULT 50
#define EVENTS_LIMIT_MAX 500
#define EVENTS_SCAN_MAX 1000000 /* directory entries looked at */
#define EVENTS_GRID_HEX 144
#define EVENTS_PREFIX_MAX 48 /* "/cam/" + camera + NUL fits */

struct event_base;
struct evhttp_request;
struct evkeyvalq;
struct events;
struct playback;

/* One event's metadata, as parsed from <id>.json. */
struct events_meta {
	char id[RECDIR_ID_MAX];
	char camera[RECDIR_CAMERA_MAX + 1];
	int64_t start_ms, end_ms, last_ms; /* ms since the epoch */
	int has_end, has_last;
	uint64_t frames, bytes;
	uint32_t score;
	char grid[EVENTS_GRID_HEX + 1]; /* "" when absent */
	int interrupted;
	uint32_t width, height;
	char thumbnail[RECDIR_NAME_MAX]; /* "" when none */
	unsigned nfiles;
	char files[EVENTS_FILES_MAX][RECDIR_NAME_MAX];
};

/* Loads and checks <id>.json from dirfd.  0, or -1 with errno (EINVAL: a
 * bad id or a file that is not a valid event, ENOENT, EFBIG...). */
int events_load(int dirfd, const char *id, struct events_meta *m);

/* dirfd is borrowed (the caller keeps it open); playback serves .mjpg.
 * prefix goes in front of the URLs the JSON gives ("/events/ID.jpg"...):
 * "" for the first camera's, "/cam/NAME" for another's (paths given to
 * events_handle are without it).  NULL with errno (ENAMETOOLONG: a prefix
 * of EVENTS_PREFIX_MAX or more). */
struct events *events_create(int dirfd, struct playback *playback,
			     const char *prefix);
void events_destroy(struct events *ev); /* accepts NULL */

/* The recordings directory's descriptor (borrowed). */
int events_dirfd(const struct events *ev);

/* Answers req when path is /events or under /events/: 1, else 0. */
int events_handle(struct events *ev, struct evhttp_request *req,
		  const char *path, struct evkeyvalq *query);

#endif
