/* SPDX-License-Identifier: MIT */
/*
 * lockfree: the compile-time half of the ring's promise that everything it
 * reads outside a slot's seqlock is a lock-free 32-bit atomic on every
 * Raspberry Pi.  tests/cross/lockfree.sh compiles this file for ARMv6 (Pi 1,
 * Zero), ARMv7 and AArch64; a failed assertion fails the compile.  The
 * link-time half (no call into libatomic) is that script's nm check of the
 * ring's objects.  Nothing here runs: it only has to compile.
 */
#include <stdatomic.h>
#include <stdint.h>

#include "ring.h"

#define RING_ATOMIC_OK(type, field)                                           \
	_Static_assert(sizeof(((struct type *)0)->field) == 4 &&              \
			       __atomic_always_lock_free(                     \
				       sizeof(((struct type *)0)->field), 0), \
		       #type "." #field " is not a lock-free 32-bit atomic")

_Static_assert(ATOMIC_INT_LOCK_FREE == 2, "atomic int is not lock-free");
_Static_assert(__atomic_always_lock_free(sizeof(uint32_t), 0),
	       "a 32-bit atomic is not always lock-free");
_Static_assert(sizeof(_Atomic uint32_t) == sizeof(uint32_t),
	       "_Atomic uint32_t is not 4 bytes");
_Static_assert(_Alignof(_Atomic uint32_t) == 4,
	       "_Atomic uint32_t is not 4-byte aligned");

/* The words the ring's readers load without the seqlock (see ring.h). */
RING_ATOMIC_OK(ring_header, generation);
RING_ATOMIC_OK(ring_header, state);
RING_ATOMIC_OK(ring_header, heartbeat_ms);
RING_ATOMIC_OK(ring_header, latest_slot);
RING_ATOMIC_OK(ring_header, seq);
RING_ATOMIC_OK(ring_header, frames_dropped);
RING_ATOMIC_OK(ring_slot_header, lock);

/* The shared structures' 64-bit fields sit on 8-byte boundaries on every
 * target, so the layout asserted in ring.h is the same on all of them. */
_Static_assert(_Alignof(uint64_t) == 8 && _Alignof(int64_t) == 8,
	       "64-bit fields are not 8-byte aligned");

int lockfree_probe(void);
int lockfree_probe(void)
{
	return 0;
}
