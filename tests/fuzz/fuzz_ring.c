// SPDX-License-Identifier: MIT
// fuzz-sources: common/ring.c common/ring_reader.c
/*
 * libFuzzer harness over the reader's validation of a segment: whatever
 * bytes the segment holds, attach/read/read_seq/health/wait must not crash,
 * hang or read out of bounds (ASan watches the exact allocation).  The input is an
 * XOR mask over a valid two-slot segment, so the fuzzer starts from a ring
 * that attaches and mutates from there; input past the segment's size
 * shortens the mapping instead.  A frame read successfully must keep the
 * layout-2 promises: score within 0..1000, motion fields zero unless the
 * frame is ANALYSED; read_seq gives only the sequence asked for.
 */
#include "ring.h"
#include "ringfake.h"

#include <stdlib.h>
#include <string.h>

static void check_frame(const struct ring_frame *f)
{
	static const uint8_t zero[RING_MOTION_GRID_BYTES];

	if (f->motion_score > RING_MOTION_SCORE_MAX)
		abort();
	if (!(f->flags & RING_FRAME_ANALYSED) &&
	    (f->motion_score != 0 || f->motion_since_ns != 0 ||
	     memcmp(f->motion_grid, zero, sizeof(zero)) != 0))
		abort();
}

#define FUZZ_SLOT 4096u
#define FUZZ_SLOTS 2u
#define FUZZ_SIZE (RING_HEADER_SIZE + FUZZ_SLOTS * FUZZ_SLOT)

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static uint8_t buf[FUZZ_SLOT];
	struct ring_reader *r = NULL;
	struct ring_frame f;
	size_t mapped = FUZZ_SIZE, i;
	uint8_t *mem;
	uint32_t version, w, h, n, d, age;

	if (size > FUZZ_SIZE)
		mapped = FUZZ_SIZE - ((size - FUZZ_SIZE) * 61u) % FUZZ_SIZE;
	/* Exactly the mapped size, so ASan flags any read past it. */
	mem = malloc(mapped);
	if (mem == NULL)
		return 0;
	{
		static uint8_t tmpl[FUZZ_SIZE];
		ringfake_init(tmpl, FUZZ_SLOTS, FUZZ_SLOT, 100);
		memcpy(mem, tmpl, mapped);
	}
	for (i = 0; i < size && i < mapped; i++)
		mem[i] ^= data[i];
	if (ring_reader_attach(&r, mem, mapped, &version) == RING_OK) {
		ring_reader_format(r, &w, &h, &n, &d);
		if (ring_reader_read(r, &f, buf, sizeof(buf)) == RING_OK)
			check_frame(&f);
		if (ring_reader_read(r, &f, buf, 16) == RING_OK)
			check_frame(&f);
		for (n = 0; n <= FUZZ_SLOTS + 1; n++)
			if (ring_reader_read_seq(r, n, &f, buf, sizeof(buf)) ==
			    RING_OK) {
				check_frame(&f);
				if (f.seq != n)
					abort();
			}
		(void)ring_reader_health(r, 0, &age);
		(void)ring_reader_wait(r, ring_reader_seq(r) + 1, 0);
		(void)ring_reader_replaced(r);
		ring_reader_close(r);
	}
	free(mem);
	return 0;
}
