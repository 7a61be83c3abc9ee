/* SPDX-License-Identifier: MIT */
/* backlog: read a ring frame by sequence, with ring.h's reader protocol. */
#include "backlog.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

static const struct ring_slot_header *slot_at(const struct ring_reader *r,
					      uint32_t index)
{
	/* Geometry validated by ring_reader_open: header_size is
	 * RING_HEADER_SIZE and slot_size is capacity + slot header, and the
	 * mapping holds slot_count slots of it. */
	size_t slot_size = ring_reader_capacity(r) + RING_SLOT_HEADER_SIZE;

	return (const struct ring_slot_header *)((const uint8_t *)
							 ring_reader_mem(r) +
						 RING_HEADER_SIZE +
						 slot_size * index);
}

static enum ring_status read_slot(const struct ring_reader *r, uint32_t index,
				  uint64_t seq, struct ring_frame *frame,
				  void *buf, size_t cap)
{
	const struct ring_slot_header *s = slot_at(r, index);
	uint32_t l1, l2, flags, length, width, height;
	int64_t realtime_ns, monotonic_ns;
	uint64_t got;
#if RING_VERSION >= 2
	uint32_t score;
	int64_t since;
	uint8_t grid[RING_MOTION_GRID_BYTES];
#endif

	l1 = atomic_load_explicit(&s->lock, memory_order_acquire);
	if (l1 == 0)
		return RING_NONE;
	if (l1 & 1u)
		return RING_TORN;
	got = s->seq;
	flags = s->flags;
	length = s->length;
	width = s->width;
	height = s->height;
	realtime_ns = s->realtime_ns;
	monotonic_ns = s->monotonic_ns;
#if RING_VERSION >= 2
	score = s->motion_score;
	since = s->motion_since_ns;
	memcpy(grid, s->motion_grid, sizeof(grid));
#endif
	if (got != seq) {
		atomic_thread_fence(memory_order_acquire);
		l2 = atomic_load_explicit(&s->lock, memory_order_relaxed);
		return l1 == l2 ? RING_NONE : RING_TORN;
	}
	if (length == 0 || length > ring_reader_capacity(r)
#if RING_VERSION >= 2
	    || score > RING_MOTION_SCORE_MAX
#endif
	) {
		atomic_thread_fence(memory_order_acquire);
		l2 = atomic_load_explicit(&s->lock, memory_order_relaxed);
		return l1 == l2 ? RING_CORRUPT : RING_TORN;
	}
	if (length > cap) {
		errno = ENOBUFS;
		return RING_ERROR;
	}
	memcpy(buf, (const uint8_t *)s + RING_SLOT_HEADER_SIZE, length);
	/* The copies above may not move below the re-check of the word. */
	atomic_thread_fence(memory_order_acquire);
	l2 = atomic_load_explicit(&s->lock, memory_order_relaxed);
	if (l1 != l2)
		return RING_TORN;
	memset(frame, 0, sizeof(*frame));
	frame->seq = got;
	frame->length = length;
	frame->flags = flags;
	frame->width = width;
	frame->height = height;
	frame->generation = ring_reader_generation(r);
	frame->realtime_ns = realtime_ns;
	frame->monotonic_ns = monotonic_ns;
#if RING_VERSION >= 2
	if (flags & RING_FRAME_ANALYSED) {
		frame->motion_score = score;
		frame->motion_since_ns = since;
		memcpy(frame->motion_grid, grid, sizeof(grid));
	}
#endif
	return RING_OK;
}

enum ring_status backlog_read(const struct ring_reader *r, uint64_t seq,
			      struct ring_frame *frame, void *buf, size_t cap)
{
	uint32_t n = ring_reader_slot_count(r), i, guess;
	enum ring_status st;

	if (seq == 0 || n == 0)
		return RING_NONE;
	/* The writer fills slots in turn from slot 0 with sequence 1. */
	guess = (uint32_t)((seq - 1) % n);
	st = read_slot(r, guess, seq, frame, buf, cap);
	if (st != RING_NONE)
		return st;
	for (i = 0; i < n; i++) {
		if (i == guess)
			continue;
		st = read_slot(r, i, seq, frame, buf, cap);
		if (st != RING_NONE)
			return st;
	}
	return RING_NONE;
}
