/* SPDX-License-Identifier: MIT */
/*
 * retention: which events to delete, oldest first, so that the recordings
 * stay within an age (--keep-days), a total size (--max-size) and a free
 * space reserve (--min-free).  A pure decision over a list; the store does
 * the deleting.  The event being recorded is never chosen.
 */
#ifndef VIGIL_RETENTION_H
#define VIGIL_RETENTION_H

#include <stdint.h>

struct retention_item {
	int64_t start_ns; /* CLOCK_REALTIME */
	uint64_t bytes; /* on disk */
	int current; /* being recorded: never deleted */
};

struct retention_policy {
	int64_t keep_ns; /* older than now - keep_ns goes; 0: no age limit */
	uint64_t max_bytes; /* total above this goes; 0: no size limit */
};

/*
 * items[0..n-1] are oldest first.  need_free is how many bytes the free
 * space reserve still lacks (0 when there is enough).  Sets del[i] to 1 for
 * each event to delete (0 otherwise) and returns how many; the chosen ones
 * are always a prefix of the list minus current events.
 */
unsigned retention_plan(const struct retention_item *items, unsigned n,
			const struct retention_policy *p, int64_t now_ns,
			uint64_t need_free, unsigned char *del);

#endif
