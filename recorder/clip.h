/* SPDX-License-Identifier: MIT */
/*
 * clip: one clip file, Matroska with the JPEGs as captured (codec MJPEG, no
 * decoding or re-encoding).  libavformat writes the header (EBML header, a
 * Segment of unknown size, Info, Tracks); the clusters are written here
 * (clip.c says why): a Cluster of unknown size with its Timecode, then one
 * SimpleBlock per JPEG.  Where the filesystem has direct I/O (O_DIRECT) a
 * JPEG lent with room around it is framed in place and written from there
 * (clip_write_room), others are copied once into a staging buffer and
 * written from it in whole blocks; without direct I/O they are gathered
 * with writev() from the caller's memory.
 * Nothing is ever gone back to, so a file cut at any byte still opens and
 * plays up to the last whole block before the cut.  A cluster spans at most
 * CLIP_CLUSTER_MS and the file is fdatasync'ed when one ends (about once a
 * second), never per frame.
 *
 * pts are milliseconds from the event's start (a frame's CLOCK_REALTIME
 * minus the event's start), so the parts of a split event continue one
 * timeline; the file's creation_time is its first frame's time.
 */
#ifndef VIGIL_CLIP_H
#define VIGIL_CLIP_H

#include <stddef.h>
#include <stdint.h>

#define CLIP_CLUSTER_MS 1000 /* longest cluster, and the sync interval */
#define CLIP_FILE_MODE 0640
#define CLIP_ROOM_HEAD 64 /* clip_write_room's room before a JPEG */
#define CLIP_ROOM_ALIGN 4096 /* where that room starts in memory */

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
	int buffered; /* through the page cache even where direct I/O is
			 possible (the tests compare the two) */
};

/*
 * Creates the file and writes the container header (synced with the
 * directory entry).  NULL with errno (EEXIST, ENOSPC, EIO...).
 */
struct clip *clip_open(const struct clip_config *cfg);

/*
 * Appends one JPEG captured at realtime_ns.  The bytes are not copied: jpeg
 * is borrowed until the next clip_flush or clip_close (any of
 * them may write it).  Frames are timestamped with their capture time; a
 * time at or before the previous one is moved 1 ms after it so that pts
 * only grow.  A frame CLIP_CLUSTER_MS or more after its cluster's start ends
 * the cluster: what is pending is written and fdatasync'ed first.
 * -1 with errno (ENOSPC...): the clip is then broken; close it.
 */
int clip_write(struct clip *c, const void *jpeg, size_t len,
	       int64_t realtime_ns);

/*
 * clip_write for a JPEG with room around it: CLIP_ROOM_HEAD bytes before
 * it, starting at a multiple of CLIP_ROOM_ALIGN in memory, and at least 2
 * bytes after it, up to the next multiple.  The clip may write there
 * (the block's headers, padding) and writes the block to the disk from
 * that memory with direct I/O, without copying the JPEG (clip.c says
 * when).  Borrowed like clip_write's.
 */
int clip_write_room(struct clip *c, void *jpeg, size_t len,
		    int64_t realtime_ns);

/* Writes what is pending (the borrowed JPEGs are then free), and ends the
 * cluster and fdatasyncs when the last sync is CLIP_CLUSTER_MS old.
 * -1 with errno. */
int clip_flush(struct clip *c);

/* 1 when c writes with direct I/O (O_DIRECT, clip.c says why), 0 when
 * through the page cache (asked for, or the filesystem has no direct I/O). */
int clip_direct(const struct clip *c);

/* Bytes of the file so far, pending ones included (container too). */
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
