/* SPDX-License-Identifier: MIT */
/*
 * clip: one clip file, Matroska written by libavformat with the JPEGs as
 * captured (codec MJPEG, no decoding or re-encoding).  "Live" muxing: the
 * output is not seekable to the muxer, so it never goes back to patch a
 * size or write cues; clusters are closed at least once a second and the
 * file is fdatasync'ed then, so a file cut at any byte still opens and
 * plays up to at most about a second before the cut.  Writes go out through
 * a CLIP_BUFFER_SIZE buffer, flushed when full or at the once-a-second sync,
 * never per frame (large writes for SD cards).
 *
 * pts are milliseconds from the event's start (a frame's CLOCK_REALTIME
 * minus the event's start), so the parts of a split event continue one
 * timeline; the file's creation_time is its first frame's time.
 */
#ifndef VIGIL_CLIP_H
#define VIGIL_CLIP_H

#include <stddef.h>
#include <stdint.h>

#define CLIP_BUFFER_SIZE (1u << 20)
#define CLIP_CLUSTER_MS 1000 /* longest cluster, and the sync interval */
#define CLIP_FILE_MODE 0640

struct clip;

/* libavformat's own messages: warnings when verbose, else none (a cut
 * clip read at recovery would otherwise fill the log). */
void clip_set_verbose(int verbose);

struct clip_config {
	int dirfd; /* the recordings directory */
	const char *name; /* file name in it (created, must not exist) */
	uint32_t width, height;
	int64_t event_start_ns; /* CLOCK_REALTIME, pts 0 */
	int64_t file_start_ns; /* CLOCK_REALTIME, the creation_time */
	const char *title; /* the event id, as the file's title */
};

/*
 * Creates the file and writes the container header (synced with the
 * directory entry).  NULL with errno (EEXIST, ENOSPC, EIO...).
 */
struct clip *clip_open(const struct clip_config *cfg);

/*
 * Appends one JPEG captured at realtime_ns.  Frames are timestamped with
 * their capture time; a time at or before the previous one is moved 1 ms
 * after it so that pts only grow.  Closes a cluster, flushes and
 * fdatasyncs when CLIP_CLUSTER_MS has passed since the last sync.
 * -1 with errno (ENOSPC...): the clip is then broken; close it.
 */
int clip_write(struct clip *c, const void *jpeg, size_t len,
	       int64_t realtime_ns);

/* Closes the current cluster, flushes, fdatasyncs.  -1 with errno. */
int clip_sync(struct clip *c);

/* Bytes handed to the file so far (container included). */
uint64_t clip_bytes(const struct clip *c);

/*
 * Finishes the file (trailer, sync) and frees c.  -1 with errno when the
 * finish failed (the file then ends at its last complete cluster).
 * Accepts NULL.
 */
int clip_close(struct clip *c);

/*
 * Reads an existing clip (a recovered one, cut anywhere): the frames it
 * holds, their JPEG bytes and the largest pts (ms).  0, or -1 with errno
 * when it does not open as a clip at all.
 */
int clip_scan(int dirfd, const char *name, uint64_t *frames, uint64_t *bytes,
	      int64_t *last_pts_ms);

#endif
