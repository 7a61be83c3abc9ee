/* SPDX-License-Identifier: MIT */
/* retention: oldest-first deletion by age, size and free space. */
#include "retention.h"

unsigned retention_plan(const struct retention_item *items, unsigned n,
			const struct retention_policy *p, int64_t now_ns,
			uint64_t need_free, unsigned char *del)
{
	uint64_t total = 0, freed = 0;
	unsigned i, count = 0;

	for (i = 0; i < n; i++) {
		total += items[i].bytes;
		del[i] = 0;
	}
	for (i = 0; i < n; i++) {
		const struct retention_item *it = &items[i];
		int old = p->keep_ns > 0 && now_ns - it->start_ns > p->keep_ns;
		int big = p->max_bytes > 0 && total > p->max_bytes;
		int room = freed < need_free;

		if (it->current)
			continue;
		if (!old && !big && !room)
			break;
		del[i] = 1;
		count++;
		total -= it->bytes;
		freed += it->bytes;
	}
	return count;
}
