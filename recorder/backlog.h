/* SPDX-License-Identifier: MIT */
/*
 * backlog: reads a frame of the ring by its sequence number rather than
 * the newest one, so that a recorder that was not scheduled for a few frame
 * times (an fsync, a loaded machine) still gets every frame the ring still
 * holds.  common/ring.h's reader only offers the newest frame; this follows
 * the reader protocol that ring.h documents (seqlock per slot, read-only,
 * every index and length bounds-checked against the geometry the reader
 * validated at attach time).  It belongs in common/ring.c as
 * ring_reader_read_seq() once that can change; callers would not notice.
 */
#ifndef VIGIL_BACKLOG_H
#define VIGIL_BACKLOG_H

#include <stddef.h>
#include <stdint.h>

#include "ring.h"

/*
 * Copies the frame with sequence seq into buf (cap bytes) and *frame.
 * RING_OK; RING_NONE when no slot holds that sequence any more (it was
 * overwritten: the frame is lost); RING_TORN when it is being overwritten
 * right now; RING_CORRUPT for a length or motion field out of bounds;
 * RING_ERROR with ENOBUFS when cap is too small.
 */
enum ring_status backlog_read(const struct ring_reader *r, uint64_t seq,
			      struct ring_frame *frame, void *buf, size_t cap);

#endif
