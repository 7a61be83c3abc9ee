/* SPDX-License-Identifier: MIT */
/*
 * jpegmark: walks the marker segments of a JPEG held whole in memory (ITU-T
 * T.81 B.1.1), never reading past its length: fill bytes (FF FF ...) before
 * a marker are skipped, standalone markers (SOI, EOI, RSTn, TEM) have no
 * length, every other segment's length is checked against the bytes there
 * are before the walk steps over it.  Entropy-coded data follows SOS: a walk
 * stops there (the caller does).  Also the marker codes and classes the
 * splitter (jpegsplit), the DHT fixer (jpegfix) and the V4L2 source share.
 * Pure: no I/O, no allocation.
 */
#ifndef VIGIL_JPEGMARK_H
#define VIGIL_JPEGMARK_H

#include <stddef.h>
#include <stdint.h>

#define JPEGMARK_TEM 0x01
#define JPEGMARK_DHT 0xc4
#define JPEGMARK_SOI 0xd8
#define JPEGMARK_EOI 0xd9
#define JPEGMARK_SOS 0xda
#define JPEGMARK_DQT 0xdb
#define JPEGMARK_DRI 0xdd

/* One marker and its segment. */
struct jpegmark_seg {
	uint8_t marker; /* the code after FF: 0xc4 (DHT), 0xda (SOS)... */
	size_t offset; /* of the FF right before the code (after fill) */
	/* Bytes of the whole segment from offset, marker included: 2 for a
	 * standalone marker, 4 + payload for the others; 0 when the length
	 * field is cut off, below 2, or runs past the end (the next
	 * jpegmark_next() then fails). */
	size_t size;
};

/* The state of a walk; fields are private. */
struct jpegmark {
	const uint8_t *p;
	size_t len;
	size_t pos; /* where the next marker must start */
	int failed;
};

/* A walk of p[0..len) (borrowed for the walk's life) from start, where a
 * marker must be (2: right after SOI). */
void jpegmark_init(struct jpegmark *w, const uint8_t *p, size_t len,
		   size_t start);

/*
 * Steps over the previous segment and reads the next marker into *seg.
 * Returns 1 with *seg filled; 0 when the walk ended exactly at len;
 * -1 when the structure breaks: a byte other than FF where a marker must
 * be, FF 00 (stuffing is not a marker), the data ending inside a marker
 * or its fill bytes, or the previous segment's length (seg->size 0) not
 * fitting.  After 0 or -1 it keeps returning -1.
 */
int jpegmark_next(struct jpegmark *w, struct jpegmark_seg *seg);

/* 1 for the markers without a length: SOI, EOI, RST0..7, TEM. */
int jpegmark_standalone(uint8_t marker);

/* 1 for RST0..RST7. */
int jpegmark_is_rst(uint8_t marker);

/* 1 for SOF0..SOF15, which carry the picture size (not C4 DHT, C8 JPG,
 * CC DAC, which share their range). */
int jpegmark_is_sof(uint8_t marker);

/* The length of the JPEG at the start of a buffer that a driver padded
 * after EOI: up to and including the last FF D9; 0 when the buffer does
 * not start with SOI or holds no EOI. */
size_t jpegmark_length(const uint8_t *p, size_t len);

#endif
