/* SPDX-License-Identifier: MIT */
/*
 * ringfake: a valid ring segment built in ordinary memory, for the tests and
 * the fuzzer that check the reader's validation: slot_count slots of
 * slot_size bytes, the last slot holding frame 1 of `length` bytes.
 */
#ifndef VIGIL_RINGFAKE_H
#define VIGIL_RINGFAKE_H

#include "ring.h"

#include <string.h>

static inline size_t ringfake_size(uint32_t slots, uint32_t slot_size)
{
	return RING_HEADER_SIZE + (size_t)slots * slot_size;
}

static inline struct ring_slot_header *ringfake_init(uint8_t *mem,
						     uint32_t slots,
						     uint32_t slot_size,
						     uint32_t length)
{
	struct ring_header *h = (struct ring_header *)mem;
	struct ring_slot_header *s;

	memset(mem, 0, ringfake_size(slots, slot_size));
	h->magic = RING_MAGIC;
	h->version = RING_VERSION;
	h->header_size = RING_HEADER_SIZE;
	h->slot_count = slots;
	h->slot_size = slot_size;
	h->segment_size = ringfake_size(slots, slot_size);
	atomic_store(&h->state, RING_STATE_LIVE);
	atomic_store(&h->heartbeat_ms, ring_now_ms());
	atomic_store(&h->latest_slot, slots - 1);
	atomic_store(&h->seq, 1);
	s = (struct ring_slot_header *)(mem + RING_HEADER_SIZE +
					(size_t)(slots - 1) * slot_size);
	atomic_store(&s->lock, 2);
	s->seq = 1;
	s->length = length;
	return s;
}

#endif
