/* SPDX-License-Identifier: MIT */
/*
 * ring_shm: private to common/ring*.c, what the writer's side
 * (ring_writer.c) and the reader's side (ring_reader.c) both need below the
 * public API of ring.h.  Not for the daemons.
 */
#ifndef VIGIL_RING_SHM_H
#define VIGIL_RING_SHM_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include "ring.h"

/* 1 when camera is [A-Za-z0-9_-]{1,RING_CAMERA_MAX}. */
int ring_camera_valid(const char *camera);

/* A shared futex operation on a word of the segment (FUTEX_WAIT works on a
 * PROT_READ mapping: the kernel only reads the word). */
long ring_futex(const _Atomic uint32_t *word, int op, uint32_t val,
		const struct timespec *timeout);

/* The start of slot index in a segment of the given geometry; the caller
 * checks index. */
static inline uint8_t *ring_slot(const struct ring_header *hdr,
				 uint32_t header_size, uint32_t slot_size,
				 uint32_t index)
{
	return (uint8_t *)(uintptr_t)hdr + header_size +
	       (size_t)slot_size * index;
}

#endif
