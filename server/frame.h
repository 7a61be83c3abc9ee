/* SPDX-License-Identifier: MIT */
/*
 * frame: one picture as the stream sends it, in a reference-counted buffer
 * that every client of the process sends from (evbuffer references), so a
 * frame is copied out of the ring once per process and never per client.
 *
 * Buffer layout (one mmap'd area per frame, reused through a pool):
 *
 *   [ unused | part header ][ JPEG ][ "\r\n--" FRAME_BOUNDARY "\r\n" ]
 *            ^head          ^FRAME_HEADROOM      ^jpeg_off+jpeg_len  ^end
 *
 * The part header is written right-aligned in front of the JPEG, so the
 * whole part (header, picture and the boundary that closes it) is one
 * contiguous range: one evbuffer_add_reference() per client per frame.
 * The stream's body opens with "--" FRAME_BOUNDARY "\r\n" once, then each
 * part is closed by the next boundary right after its JPEG (browsers draw a
 * part only when the boundary after it arrives).
 *
 * Single-threaded: only the event loop thread touches frames and pools.
 */
#ifndef VIGIL_FRAME_H
#define VIGIL_FRAME_H

#include <stddef.h>
#include <stdint.h>
#include <sys/queue.h>

#include "ring.h"

#define FRAME_BOUNDARY "vigilframe"
#define FRAME_HEADROOM 256u /* room for the part header */
#define FRAME_TRAILER "\r\n--" FRAME_BOUNDARY "\r\n"
#define FRAME_TRAILER_LEN (sizeof(FRAME_TRAILER) - 1)
#define FRAME_POOL_PREALLOC 4u /* buffers made at start (no page touched) */
#define FRAME_POOL_KEEP 8u /* free buffers kept for reuse, beyond: unmapped */

struct frame_pool;

struct frame {
	struct frame_pool *pool;
	LIST_ENTRY(frame) free_link; /* in the pool's free list */
	unsigned refs;
	uint8_t *mem; /* mmap'd, size bytes */
	size_t size;
	size_t head; /* offset of the part header (set by frame_seal) */
	size_t jpeg_len; /* JPEG at mem + FRAME_HEADROOM */
	size_t end; /* end of the trailer */
	uint64_t id; /* pool-wide counter: a later frame has a larger id */
	uint64_t seq; /* ring sequence; 0 for the "camera offline" picture */
	uint32_t generation;
	uint32_t width, height;
	int64_t realtime_ns;
	int64_t monotonic_ns;
	int offline; /* the "camera offline" picture */
	/* The motion result the ring gave with the frame (zero, and flags 0,
	 * for the offline picture and frames without a result). */
	uint32_t flags; /* RING_FRAME_*, as read */
	uint32_t motion_score; /* per mille, 0..RING_MOTION_SCORE_MAX */
	int64_t motion_since_ns; /* CLOCK_REALTIME; 0: no motion declared */
	uint8_t motion_grid[RING_MOTION_GRID_BYTES]; /* ring.h's layout */
};

/* Whether the frame carries a motion result (RING_FRAME_ANALYSED). */
static inline int frame_analysed(const struct frame *f)
{
	return (f->flags & RING_FRAME_ANALYSED) != 0;
}

/* Whether motion is declared at the frame (only with a result). */
static inline int frame_motion(const struct frame *f)
{
	return frame_analysed(f) && (f->flags & RING_FRAME_MOTION) != 0;
}

/* A pool of buffers holding JPEGs up to capacity bytes.  NULL on ENOMEM. */
struct frame_pool *frame_pool_create(size_t capacity);

/* Later frames hold up to capacity bytes; smaller free buffers are dropped. */
void frame_pool_set_capacity(struct frame_pool *p, size_t capacity);
size_t frame_pool_capacity(const struct frame_pool *p);

/* Buffers now mapped (in use + free), for the metrics. */
unsigned frame_pool_buffers(const struct frame_pool *p);

/* Marks the pool for destruction: it is freed once every frame it gave out
 * has been released.  Accepts NULL. */
void frame_pool_destroy(struct frame_pool *p);

/* A buffer with one reference, JPEG area at frame_jpeg() (capacity bytes).
 * NULL when no memory.  Reuses a free buffer; maps a new one only when every
 * buffer is held (by slow clients, each of which holds at most one). */
struct frame *frame_get(struct frame_pool *p);

static inline uint8_t *frame_jpeg(struct frame *f)
{
	return f->mem + FRAME_HEADROOM;
}

void frame_ref(struct frame *f);
void frame_unref(struct frame *f); /* accepts NULL */

/* Writes the part header in front of the JPEG (jpeg_len and the frame's
 * fields set) and the trailer after it.  The header's lines, in order:
 * Content-Type, Content-Length, X-Timestamp, X-Frame-Seq, X-Motion (0|1),
 * X-Motion-Score (per mille, 0 without a result), X-Motion-Analysed (0: the
 * frame has no motion result, its X-Motion and score are 0). */
void frame_seal(struct frame *f);

/* The part to send: header + JPEG + closing boundary. */
static inline const uint8_t *frame_part(const struct frame *f)
{
	return f->mem + f->head;
}

static inline size_t frame_part_len(const struct frame *f)
{
	return f->end - f->head;
}

/* evbuffer_add_reference() cleanup callback: extra is the frame. */
void frame_evbuffer_cleanup(const void *data, size_t len, void *extra);

#endif
