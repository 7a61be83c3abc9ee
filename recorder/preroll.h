/* SPDX-License-Identifier: MIT */
/*
 * preroll: the recorder's memory of the last --pre seconds of frames, so
 * that an event starts before the motion that declared it.  JPEG bytes live
 * in one circular byte arena; the arena grows (doubling) only while it is
 * too small to hold the span, up to a fixed ceiling, so once warmed a push
 * allocates nothing.  Oldest frames are dropped first.
 */
#ifndef VIGIL_PREROLL_H
#define VIGIL_PREROLL_H

#include <stddef.h>
#include <stdint.h>

#include "recframe.h"

#define PREROLL_FRAMES_MAX 4096u /* frames kept at most (60 s at 60 fps) */
#define PREROLL_ARENA_MIN (256u << 10)
#define PREROLL_ARENA_MAX (96u << 20) /* bytes of JPEG kept at most */

struct preroll;

/*
 * span_ns: how much time to keep (frames older than the newest minus span
 * are dropped); arena_max: the byte ceiling (0: PREROLL_ARENA_MAX).
 * NULL with errno on failure.  Free with preroll_destroy.
 */
struct preroll *preroll_create(int64_t span_ns, size_t arena_max);
void preroll_destroy(struct preroll *p);

/*
 * Copies a frame in.  Frames older than span before this one, and as many
 * more of the oldest as room needs, are dropped.  -1 with EMSGSIZE when the
 * JPEG is larger than the ceiling (nothing changes), ENOMEM when growing
 * failed (the oldest frames were dropped instead: the push still happened,
 * so ENOMEM is only reported, 0 is returned).
 */
int preroll_push(struct preroll *p, const struct recframe *f, const void *jpeg,
		 size_t len);

/* Frames held, oldest first: index 0 .. preroll_count()-1.  The pointers
 * are borrowed until the next push or clear. */
unsigned preroll_count(const struct preroll *p);
const struct recframe *preroll_frame(const struct preroll *p, unsigned i,
				     const void **jpeg, size_t *len);

/* Bytes of JPEG held, and the arena's current size. */
size_t preroll_bytes(const struct preroll *p);
size_t preroll_arena_size(const struct preroll *p);

/* Forgets every frame (the arena is kept). */
void preroll_clear(struct preroll *p);

#endif
