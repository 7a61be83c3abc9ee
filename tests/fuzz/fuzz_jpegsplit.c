// fuzz-sources: capture/jpegsplit.c capture/jpegmark.c
/* SPDX-License-Identifier: MIT */
/*
 * libFuzzer harness of the JPEG splitter (capture/jpegsplit.c), the code
 * that parses whatever a pipe feeds vigil-capture.  Checks, on any input:
 * no out-of-bounds access (ASan), every frame returned is SOI..EOI and lies
 * within the buffer, every byte is consumed, the end of input is drained,
 * the work of scanning kept bytes again stays within its linear bound, and
 * the result does not depend on how the input is cut into reads (whole,
 * byte by byte, or in odd chunks).
 * The first input byte picks the buffer size, to reach the oversize path.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "jpegsplit.h"

#define FUZZ_CAP_MAX 4096
#define FUZZ_FRAMES_MAX 64

struct run {
	int frames;
	size_t total; /* bytes of all frames */
	uint32_t hash;
	struct jpegsplit_stats stats;
};

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ p[i]) * 16777619u;
	return h;
}

static uint8_t buf[FUZZ_CAP_MAX];

static void take_frame(const struct jpegsplit_frame *f, size_t cap,
		       struct run *r)
{
	if (f->len < 4 || f->data < buf || f->len > cap ||
	    (size_t)(f->data - buf) > cap - f->len || f->data[0] != 0xff ||
	    f->data[1] != 0xd8 || f->data[f->len - 2] != 0xff ||
	    f->data[f->len - 1] != 0xd9)
		abort();
	r->frames++;
	r->total += f->len;
	r->hash = fnv(r->hash, f->data, f->len);
}

static void split(const uint8_t *data, size_t size, size_t cap, size_t chunk,
		  struct run *r)
{
	struct jpegsplit js;
	struct jpegsplit_frame f;
	size_t pos = 0, used;
	uint32_t seed = 12345;
	int rounds = 0;

	memset(r, 0, sizeof(*r));
	r->hash = 2166136261u;
	jpegsplit_init(&js, buf, cap);
	while (pos < size) {
		size_t n = chunk;
		if (n == 0) {
			seed = seed * 1103515245u + 12345u;
			n = 1 + (seed >> 16) % 97;
		}
		if (n > size - pos)
			n = size - pos;
		while (n > 0 || jpegsplit_pending(&js)) {
			int got = jpegsplit_push(&js, data + pos, n, &used, &f);
			if (used > n)
				abort();
			pos += used;
			n -= used;
			if (!got) {
				/* all consumed, nothing left to scan again */
				if (n != 0 || jpegsplit_pending(&js))
					abort();
				continue;
			}
			take_frame(&f, cap, r);
		}
	}
	/* Each scan again at the end starts later in buf: it ends. */
	while (jpegsplit_finish(&js)) {
		if (++rounds > (int)cap)
			abort();
		while (jpegsplit_push(&js, NULL, 0, &used, &f))
			take_frame(&f, cap, r);
		if (used != 0 || jpegsplit_pending(&js))
			abort();
	}
	r->stats = js.stats;
	if ((uint64_t)r->frames != js.stats.frames)
		abort();
	/* The bound jpegsplit.h promises, whatever the input. */
	if (js.stats.rescanned > 4 * (uint64_t)size + 5 * (uint64_t)cap)
		abort();
}

static int same(const struct run *a, const struct run *b)
{
	return a->frames == b->frames && a->total == b->total &&
	       a->hash == b->hash &&
	       memcmp(&a->stats, &b->stats, sizeof(a->stats)) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct run whole, bytes, odd;
	size_t cap;

	if (size < 1)
		return 0;
	cap = 4 + (size_t)data[0] * 16; /* 4 .. 4084 */
	data++;
	size--;
	split(data, size, cap, size ? size : 1, &whole);
	split(data, size, cap, 1, &bytes);
	split(data, size, cap, 0, &odd);
	if (!same(&whole, &bytes) || !same(&whole, &odd))
		abort();
	return 0;
}
