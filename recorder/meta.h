/* SPDX-License-Identifier: MIT */
/*
 * meta: an event's sidecar metadata (<id>.json next to its clip) and the
 * atomic replacement of small files in the recordings directory.  The JSON
 * is what the page and the server need without opening the clip:
 *
 *   {"id":"20261201T051234.125Z-cam0","camera":"cam0",
 *    "start":1764565954.125,"end":null,"last":1764565960.500,
 *    "frames":184,"bytes":20512345,"score":37,"grid":"<144 hex digits>",
 *    "interrupted":false,"width":640,"height":480,
 *    "thumbnail":"<id>.jpg","files":["<id>.mkv","<id>.1.mkv"]}
 *
 * Times are seconds since the epoch (UTC) with millisecond fractions; "end"
 * is null while the event is being recorded; "last" is the newest frame
 * written so far.  "grid" is the union of the frames' motion grids
 * (RING_MOTION_GRID_BYTES, in order, two lowercase hex digits a byte).
 * Ids are URL-safe and sort by time: YYYYMMDDTHHMMSS.mmmZ-<camera>.
 */
#ifndef VIGIL_META_H
#define VIGIL_META_H

#include <stddef.h>
#include <stdint.h>

#include "recframe.h"

#define META_CAMERA_MAX 32
#define META_ID_PREFIX 21 /* "YYYYMMDDTHHMMSS.mmmZ-": the camera follows */
#define META_ID_MAX 64 /* 20 + 1 + camera + NUL fits */
#define META_NAME_MAX 80 /* file names: id + ".NNN.mkv" fits */
#define META_FILES_MAX 64 /* clip files of one event */
#define META_JSON_MAX 8192 /* the longest metadata file */
#define META_FILE_MODE 0640

struct meta {
	char id[META_ID_MAX];
	char camera[META_CAMERA_MAX + 1];
	int64_t start_ns; /* CLOCK_REALTIME of the first frame */
	int64_t end_ns; /* valid when has_end */
	int has_end;
	int64_t last_ns; /* newest frame written */
	uint64_t frames, bytes;
	uint32_t score; /* peak motion score, per mille */
	uint8_t grid[RECFRAME_GRID_BYTES];
	int interrupted;
	uint32_t width, height;
	char thumbnail[META_NAME_MAX]; /* "" when none */
	unsigned nfiles;
	char files[META_FILES_MAX][META_NAME_MAX];
};

/* The id of an event starting at start_ns (CLOCK_REALTIME) on camera.
 * -1 with EINVAL for a bad camera name or a time outside years 1970..9999. */
int meta_id(char *buf, size_t size, int64_t start_ns, const char *camera);

/* The start time an id names (to the millisecond) into *ns; -1 with
 * EINVAL when id is not valid. */
int meta_id_time(const char *id, int64_t *ns);

/* 1 when id has the shape meta_id() gives (so it is safe in a path). */
int meta_id_valid(const char *id);

/* 1 when name is a file name an event may list: [A-Za-z0-9._-], no
 * leading dot, at most META_NAME_MAX - 1 bytes. */
int meta_name_valid(const char *name);

/* The JSON text (NUL-terminated) into buf; its length, or -1 with
 * ENAMETOOLONG when size is too small. */
int meta_format(const struct meta *m, char *buf, size_t size);

/* Parses text (len bytes) into *m.  -1 with EINVAL on anything that is not
 * what meta_format writes (unknown keys are ignored). */
int meta_parse(const char *text, size_t len, struct meta *m);

/* Writes "<id>.json" in dirfd atomically (see meta_replace). */
int meta_write(int dirfd, const struct meta *m);

/* The same with meta_replace_update, for a file already written. */
int meta_update(int dirfd, const struct meta *m);

/* Reads and parses a metadata file of dirfd.  -1 with errno. */
int meta_read(int dirfd, const char *name, struct meta *m);

/*
 * Replaces file name in dirfd with data, atomically: write ".<name>.tmp",
 * fsync it, rename over name, fsync the directory.  Readers see the old
 * content or the new one, never part of either.  Mode META_FILE_MODE.
 * -1 with errno (ENOSPC...); the temporary file is removed on failure.
 */
int meta_replace(int dirfd, const char *name, const void *data, size_t len);

/* The same, the new content synced but not the rename (no fsync of the
 * directory): after a power cut the file holds its old content or the new
 * one, whole.  For updates of a file already written with meta_replace,
 * when the old content will do (one sync instead of two); the directory's
 * next fsync makes the rename durable too. */
int meta_replace_update(int dirfd, const char *name, const void *data,
			size_t len);

/* The same, atomic but not durable (no fsync): after a power cut the file
 * may hold its old content, or none.  For files rebuilt at every start. */
int meta_replace_nosync(int dirfd, const char *name, const void *data,
			size_t len);

#endif
